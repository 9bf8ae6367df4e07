"""Related topics: the field taxonomy's sub-topics of a profile's broad keywords."""

from __future__ import annotations

import tomllib

import pytest

from paper_digest.config import ProfileConfig
from paper_digest.models import Paper, Source
from paper_digest.scoring import score_papers, topics
from paper_digest.scoring.profile import Compiled, add_related
from paper_digest.scoring.text import tokens
from paper_digest.scoring.topics import RELATED_SHARE, TOPICS_FILE, parse, shipped

TAXONOMY = parse(
    tomllib.loads(
        """
[[topic]]
name = "image restoration"
aliases = ["image recovery"]
zh = "图像复原"
[topic.children]
"demosaicing|demosaicking" = "去马赛克"
"super-resolution|SR" = "超分辨率"
"reflection removal|reflection separation|RR" = "去反射"

[[topic]]
name = "super-resolution"
zh = "超分辨率"
[topic.children]
"video super-resolution" = "视频超分辨率"
"image upscaling" = "图像放大"
"image restoration" = "图像复原"
"""
    )
)


def _paper(title: str, number: int = 1) -> Paper:
    return Paper(id=f"2606.{number:05d}", title=title, abstract="We study images.", source=Source.ARXIV)


def _compiled(keywords: dict[str, float]) -> Compiled:
    compiled = Compiled()
    for key, weight in keywords.items():
        compiled.add("keyword", key, weight)
    add_related(compiled, TAXONOMY)
    compiled.finish()
    return compiled


def test_a_topic_keyword_brings_its_children_at_its_share(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(topics, "DEPTH", 2)
    compiled = _compiled({"image restoration": 3.0})
    related = {c.label: c for c in compiled.concepts if c.kind == "related"}
    assert related["demosaicing"].weight == pytest.approx(3.0 * RELATED_SHARE)
    assert related["demosaicing"].topic == "去马赛克"
    assert related["demosaicing"].parent == "image restoration"
    # a child that is a topic itself brings its own children one level further, at the share again
    assert related["video super-resolution"].weight == pytest.approx(3.0 * RELATED_SHARE**2)
    # the cycle back to the keyword itself adds nothing
    assert "image restoration" not in related


def test_an_alias_names_the_topic_and_a_variant_of_the_keyword_does_too() -> None:
    assert {c.label for c in _compiled({"image recovery": 2.0}).concepts} >= {"demosaicing"}
    assert {c.label for c in _compiled({"SR|super-resolution": 2.0}).concepts} >= {"image upscaling"}


def test_a_sub_topic_that_contains_the_profile_phrase_is_left_to_it() -> None:
    """ "video super-resolution" would take the hits of the keyword "super-resolution" at half its weight (the
    longest phrase at a position counts); the keyword already matches there. A negative phrase keeps its hits
    the same way."""
    labels = {c.label for c in _compiled({"super-resolution": 2.0}).concepts}
    assert "video super-resolution" not in labels and "image upscaling" in labels
    negative = _compiled({"image restoration": 2.0, "super-resolution|SR": -1.0})
    assert all(c.weight < 0 for c in negative.concepts if c.label == "super-resolution")
    assert "SR" not in {v for (i, _), v in negative.spelling.items() if negative.concepts[i].weight > 0}


def test_the_profile_own_words_keep_their_weight() -> None:
    compiled = _compiled({"image restoration": 3.0, "reflection removal": 0.5, "video super-resolution": 2.0})
    labels = [(c.kind, c.label) for c in compiled.concepts]
    assert labels.count(("keyword", "reflection removal")) == 1
    assert ("related", "reflection removal") not in labels
    assert ("related", "video super-resolution") not in labels
    # the taxonomy's other spellings of a sub-topic the profile names are synonyms, at the profile's weight
    (own,) = [i for i, c in enumerate(compiled.concepts) if c.label == "reflection removal"]
    assert compiled.acronyms["RR"] == [own]
    assert compiled.spelling[(own, tuple(tokens("reflection separation")))] == "reflection separation"


def test_a_synonym_matches_at_the_keyword_weight() -> None:
    profile = ProfileConfig(keywords={"image restoration": 3.0, "reflection removal": 2.0})
    plain = score_papers([_paper("Reflection Removal in the Wild")], profile)[0]
    synonym = score_papers([_paper("Reflection Separation in the Wild")], profile)[0]
    assert synonym.score == plain.score > 0  # the same concept at the same weight
    (reason,) = synonym.reasons
    assert reason.kind == "keyword" and "'reflection separation' in title" in reason.detail


def test_negative_keywords_bring_no_children() -> None:
    assert all(c.kind != "related" for c in _compiled({"image restoration": -2.0}).concepts)


def test_a_sub_topic_paper_ranks_with_its_reason_and_chinese_name() -> None:
    profile = ProfileConfig(keywords={"image restoration": 3.0})
    demosaic = _paper("Single-Image Reflection Removal with Latent Composition")
    segmentation = _paper("Open-Vocabulary Image Segmentation", 2)
    ranked = score_papers([segmentation, demosaic], profile)
    assert ranked[0].paper.id == demosaic.id and ranked[0].score > 0 and ranked[1].score == 0
    (reason,) = [r for r in ranked[0].reasons if r.kind == "related"]
    assert "part of image restoration" in reason.detail and "'reflection removal' in title" in reason.detail
    assert reason.topic == "反射去除"  # the taxonomy's Chinese name
    assert sum(r.points for r in ranked[0].reasons) == pytest.approx(ranked[0].score, abs=0.05)
    # the profile's own phrase still counts more than its sub-topic
    own = score_papers([_paper("Image Restoration with Latent Composition")], profile)[0]
    assert own.score > ranked[0].score
    off = score_papers([demosaic], profile.model_copy(update={"related_topics": False}))[0]
    assert off.score == 0


def test_the_shipped_taxonomy_is_broad_and_well_formed() -> None:
    with TOPICS_FILE.open("rb") as handle:
        data = tomllib.load(handle)
    entries = data["topic"]
    names = [e["name"].lower() for e in entries]
    assert len(names) == len(set(names)) >= 60
    assert len({e["area"] for e in entries}) >= 10  # many fields, not one
    for entry in entries:
        assert entry["zh"] and entry["sources"], entry["name"]
        assert 3 <= len(entry["children"]) <= 40, entry["name"]
        for key, zh in entry["children"].items():
            assert all(v.strip() for v in key.split("|")) and zh, (entry["name"], key)
    taxonomy = shipped()
    assert taxonomy.topic("Image Restoration") is not None
    assert taxonomy.related("3D reconstruction")


def test_a_chinese_description_works_in_any_field() -> None:
    """The taxonomy's Chinese names read a Chinese description outside image restoration (the hand-written
    glossary knows only that field)."""
    profile = ProfileConfig(description="我做三维重建和新视角合成，也关注思维链推理。")
    nerf = _paper("Sparse-View Novel View Synthesis with Neural Radiance Fields")
    chain = _paper("Faithful Chain-of-Thought for Small Language Models", 2)
    music = _paper("Symbolic Music Generation with Lead Sheets", 3)
    scored = {s.paper.id: s for s in score_papers([nerf, chain, music], profile)}
    assert scored[nerf.id].score > 40 and scored[chain.id].score > 20 and scored[music.id].score == 0
    assert {r.topic for r in scored[nerf.id].reasons} >= {"新视角合成"}


def test_the_learner_sees_a_sub_topic_match_in_its_parent_column() -> None:
    """concept_strengths (the learner's lexical features) has one column per concept of the profile itself:
    twenty ratings cannot fit a hundred sub-topic columns."""
    from paper_digest.scoring.score import concept_strengths

    profile = ProfileConfig(keywords={"image restoration": 3.0, "diffusion model": 1.0})
    paper = _paper("Single-Image Reflection Removal with Latent Composition")
    labels, rows = concept_strengths([paper], profile)
    assert labels == ["keyword:diffusion model", "keyword:image restoration"]
    assert rows[0][0] == 0 and rows[0][1] > 0


def test_a_keyword_is_named_in_chinese_from_the_taxonomy() -> None:
    """The digest's 涉及 column names a keyword in Chinese when the hand-written glossary does not know it
    but the field taxonomy does, by any of its spellings; an unknown phrase keeps its own spelling."""
    from paper_digest.scoring.profile import compile_profile

    profile = ProfileConfig(keywords={"multi-view stereo|MVS": 2, "NeRF": 3, "zebra counting": 1})
    names = {c.label: c.topic for c in compile_profile(profile).concepts if c.kind == "keyword"}
    assert names["multi-view stereo"] == "多视图立体" and names["NeRF"] == "神经辐射场"
    assert names["zebra counting"] == "zebra counting"
