"""The offline semantic stage: the shipped WordLlama model (loaded once, well under a second), a tiny
model the tests build (the loader's contract for any table + tokenizer pair), the stage's points and
reasons, and its wiring in the pipeline (on by default, off by config, a model that cannot load leaves the
lexical ranking)."""

from __future__ import annotations

import datetime as dt
import importlib.util
import itertools
import logging
from pathlib import Path

import numpy as np
import pytest
from safetensors.numpy import save_file
from tokenizers import Tokenizer
from tokenizers.models import WordLevel

from paper_digest import stages as day_stages
from paper_digest.config import Config, ProfileConfig
from paper_digest.models import HFSignals, Paper, ScoredPaper
from paper_digest.scoring import score_papers, semantic
from paper_digest.scoring.semantic import (
    SemanticModelError,
    SemanticScorer,
    StaticModel,
    cosines,
    english_view,
    interests,
    load_scorer,
    paper_view,
    profile_queries,
    soft_ceiling,
)

PLAIN = ProfileConfig(
    description="我做图像复原（超分辨率、去噪、去模糊等底层视觉任务）。也关注扩散模型和视觉自监督预训练。",
    keywords={"image restoration": 3, "super-resolution": 3, "denoising": 2, "self-supervised": 2},
)


def paper(pid: str, title: str, abstract: str, keywords: list[str] | None = None) -> Paper:
    hf = HFSignals(ai_keywords=keywords) if keywords is not None else None
    return Paper(id=pid, title=title, abstract=abstract, hf=hf)


RESTORATION = paper(
    "2601.00001",
    "Blind Image Deraining and Dehazing with a Degradation-Aware Transformer",
    "Images captured in bad weather suffer from rain streaks and haze. We propose a transformer that removes "
    "rain and haze from a single photograph. Experiments on five benchmarks show gains.",
)
MUSIC = paper(
    "2601.00002",
    "Generating Piano Accompaniment from Lead Sheets",
    "Music generation models rarely follow chord symbols. We train a symbolic music model that writes piano "
    "accompaniment for a melody and its chords. Listeners prefer our pieces.",
)
ROBOT = paper(
    "2601.00003",
    "Language-Conditioned Robot Grasping in Cluttered Kitchens",
    "Robots must pick objects named in instructions. We combine a language model with a grasp planner for "
    "cluttered kitchen scenes. Real-robot trials show a higher success rate.",
)


@pytest.fixture(scope="module")
def model() -> StaticModel:
    return StaticModel.load()


# --------------------------------------------------------------------------------------- shipped model


def test_the_shipped_model_loads_offline_with_its_background(model: StaticModel) -> None:
    assert model.dim == 256 and model.table.shape[0] == 32000
    assert model.background.shape == (256,) and np.linalg.norm(model.background) > 0.1


def test_embed_gives_unit_vectors_and_zero_for_empty_text(model: StaticModel) -> None:
    vectors = model.embed(["image super-resolution", "", "   ", "denoising"])
    norms = np.linalg.norm(vectors, axis=1)
    assert norms[0] == pytest.approx(1.0, abs=1e-5) and norms[3] == pytest.approx(1.0, abs=1e-5)
    assert norms[1] == 0 and norms[2] == 0
    again = model.embed(["denoising"])  # the word cache gives the same vector
    assert np.allclose(again[0], vectors[3])


def test_word_tokens_match_the_tokenizer_on_running_text(model: StaticModel) -> None:
    """Each word is tokenised on its own ("▁" + word); the Llama tokenizer never merges across a space, so
    the tokens are those of the whole text."""
    tokenizer = Tokenizer.from_file(str(semantic._package_dir() / semantic.TOKENIZER_FILE))
    text = "Blind image super-resolution (SR) with 3D-aware diffusion priors, e.g. DDPM."
    whole = tokenizer.encode(text, add_special_tokens=False).ids
    assert [i for word in text.split() for i in model._word_ids(word)] == whole


def test_related_topics_are_closer_than_unrelated_ones(model: StaticModel) -> None:
    query = model.embed(["image restoration, denoising, deraining, super-resolution"])
    close, far = cosines(model.embed([paper_view(RESTORATION), paper_view(MUSIC)]), query)[:, 0]
    assert close > far + 0.05


# ---------------------------------------------------------------------------------------- profile side


def test_english_view_translates_chinese_field_terms() -> None:
    view = english_view(PLAIN.description)
    for term in ("image restoration", "super-resolution", "denoising", "deblurring", "diffusion model"):
        assert term in view
    assert not any("\u4e00" <= ch <= "\u9fff" for ch in view)
    assert english_view("I work on NeRF.") == "I work on NeRF."


def test_profile_queries_weigh_keywords_and_liked_papers() -> None:
    profile = PLAIN.model_copy(update={"keywords": {**PLAIN.keywords, "video generation": -2}})
    queries = profile_queries(profile, liked=[RESTORATION])
    kinds = [(q.kind, q.weight) for q in queries]
    assert kinds[0] == ("description", semantic.DESCRIPTION_WEIGHT)
    assert ("keyword", 3) in kinds and ("liked", semantic.LIKED_WEIGHT) in kinds
    assert not any("video generation" in q.text for q in queries)  # negative keywords are not queries


def topic_vectors(topics: int, per_topic: int) -> np.ndarray:
    """``per_topic`` unit vectors around each of ``topics`` orthogonal axes (fixed perturbations), listed
    topic after topic."""
    dim = topics + 2
    rows = []
    for topic, k in itertools.product(range(topics), range(per_topic)):
        row = np.zeros(dim, dtype=np.float32)
        row[topic] = 1.0
        row[topics + k % 2] = 0.3 + 0.1 * k  # a little of a shared direction, different for each paper
        rows.append(row / np.linalg.norm(row))
    return np.array(rows, dtype=np.float32)


def test_five_topics_stay_five_interests() -> None:
    vectors = topic_vectors(5, 3)
    assert interests(vectors) == [[0, 1, 2], [3, 4, 5], [6, 7, 8], [9, 10, 11], [12, 13, 14]]
    assert interests(vectors, threshold=-1.0) == [list(range(15))]  # at any cosine: one interest
    assert interests(vectors, threshold=1.1) == [[i] for i in range(15)]  # at none: each paper its own


def test_interests_are_deterministic_and_follow_the_papers_not_their_order() -> None:
    vectors = topic_vectors(3, 2)
    order = [5, 0, 3, 1, 4, 2]  # the same papers listed in another order
    shuffled = interests(vectors[order])
    assert shuffled == interests(vectors[order])
    assert sorted(sorted(order[i] for i in g) for g in shuffled) == interests(vectors)
    assert interests(vectors[:1]) == [[0]] and interests(vectors[:0]) == []  # one like, one interest


def test_a_paper_is_lifted_by_its_closest_interest_not_the_mean_of_all_likes(model: StaticModel) -> None:
    """Two liked restoration papers and two liked music papers: a new restoration paper gets the liked
    part of its restoration interest (as if music had never been liked), and its reason names the closest
    liked paper; a liked paper is not its own interest."""
    dehaze = paper(
        "2601.00011",
        "Single Image Dehazing with a Physics-Aware Network",
        "Haze lowers the contrast of outdoor photographs. We restore clear images from hazy ones.",
    )
    melody = paper(
        "2601.00012",
        "Melody Harmonisation with a Chord Language Model",
        "Composers harmonise melodies with chords. We train a music model that writes chord progressions.",
    )
    new = paper(
        "2601.00020",
        "Removing Rain Streaks and Haze from Photographs",
        "Bad weather degrades outdoor images with rain and haze. We restore clean photographs.",
    )
    profile = ProfileConfig(keywords={"robot": 1})
    both = SemanticScorer(model, profile, liked=[RESTORATION, dehaze, MUSIC, melody])
    found = [[both.queries[i].paper_id for i in group] for group in both.interests]
    assert found == [[RESTORATION.id, dehaze.id], [MUSIC.id, melody.id]]
    alone = SemanticScorer(model, profile, liked=[RESTORATION, dehaze])

    def liked_closeness(stage: SemanticScorer) -> float:
        """The paper's liked share, per unit of the liked papers' weight."""
        at = list(stage.liked_at.values())
        share = float(stage.similarity([new])[1][0, at].sum())
        return share * float(stage.weights.sum()) / float(stage.weights[at].sum())

    assert liked_closeness(both) == pytest.approx(liked_closeness(alone), abs=1e-5)
    assert liked_closeness(both) > 0.05
    total, shares = both.similarity([new])
    assert total[0] == pytest.approx(float(shares[0].sum()), abs=1e-6)
    (adjusted,) = both.adjust(ranked([new], profile))
    assert adjusted.reasons[-1].detail.startswith("meaning close to liked paper 2601.000")
    # the liked paper itself is scored against the others only
    solo = SemanticScorer(model, profile, liked=[RESTORATION])
    assert not solo.similarity([RESTORATION])[1][0, solo.liked_at[RESTORATION.id]]


def test_paper_view_is_title_and_two_sentences_without_markup() -> None:
    view = paper_view(
        paper("1", "A <b>bold</b> title | x", "First sentence here. Second one. Third is left out.")
    )
    assert view == "A b bold b title x First sentence here Second one"
    long_title = paper("2", "long " * 300, "Short abstract.")
    assert paper_view(long_title).split().count("long") == semantic.TITLE_WORDS


# ----------------------------------------------------------------------------------------------- stage


#: the lexical scorer on the profile's own words only: the taxonomy's related topics would find the deraining
#: paper by its words (tests/test_topics.py); here the semantic stage must find it by meaning
OWN_WORDS = PLAIN.model_copy(update={"related_topics": False})


def ranked(papers: list[Paper], profile: ProfileConfig = OWN_WORDS) -> list[ScoredPaper]:
    return score_papers(papers, profile)


def test_the_stage_lifts_a_paper_the_keywords_miss_and_explains_it() -> None:
    stage = load_scorer(PLAIN)
    lexical = ranked([RESTORATION, MUSIC, ROBOT])
    assert {s.paper.id: s.score for s in lexical}[RESTORATION.id] == 0  # no profile keyword in it
    adjusted = stage.adjust(lexical)
    assert adjusted[0].paper.id == RESTORATION.id and adjusted[0].score > 5
    reason = adjusted[0].reasons[-1]
    assert reason.kind == "semantic" and reason.points == adjusted[0].score
    assert reason.detail.startswith("meaning close to ") and "word vectors" in reason.detail
    music = next(s for s in adjusted if s.paper.id == MUSIC.id)
    assert music.score == 0 and music.reasons == []  # far from the profile: never below 0, no 0-point reason
    lifted = ScoredPaper(paper=MUSIC, score=50.0, reasons=[])  # as if a keyword had matched in passing
    (pushed,) = stage.adjust([lifted])
    assert pushed.score < 50 and pushed.reasons[-1].points == pushed.score - 50
    assert pushed.reasons[-1].detail.startswith("meaning further from the profile than an ordinary CV paper")


def test_points_add_up_and_do_not_depend_on_the_batch() -> None:
    stage = load_scorer(PLAIN)
    strong = paper(
        "2601.00009",
        "Diffusion-Based Image Super-Resolution and Denoising",
        "We study image restoration: super-resolution and denoising with diffusion models. It works.",
    )
    alone = stage.adjust(ranked([strong]))[0]
    together = {s.paper.id: s for s in stage.adjust(ranked([strong, MUSIC, ROBOT, RESTORATION]))}
    assert together[strong.id].score == alone.score
    assert sum(r.points for r in alone.reasons) == pytest.approx(alone.score, abs=0.05)


def test_weight_zero_changes_nothing_and_weight_scales_points() -> None:
    lexical = ranked([RESTORATION, ROBOT])
    assert load_scorer(PLAIN, weight=0.0).adjust(lexical) == lexical
    one = {s.paper.id: s.score for s in load_scorer(PLAIN).adjust(lexical)}
    two = {s.paper.id: s.score for s in load_scorer(PLAIN, weight=2.0).adjust(lexical)}
    assert two[RESTORATION.id] == pytest.approx(2 * one[RESTORATION.id], abs=0.05)


def test_an_empty_profile_leaves_the_ranking_alone() -> None:
    lexical = ranked([RESTORATION, MUSIC], ProfileConfig())
    assert load_scorer(ProfileConfig()).adjust(lexical) == lexical


def test_soft_ceiling_keeps_order_without_ties_at_100() -> None:
    values = [soft_ceiling(t) for t in (-5, 0, 50, 80, 90, 110, 130, 200)]
    assert values[:4] == [0, 0, 50, 80]
    assert all(a < b for a, b in itertools.pairwise(values[3:])) and values[-1] < 100


# ------------------------------------------------------------------------------------ a tiny test model


def tiny_model(folder: Path) -> tuple[Path, Path]:
    """A 4-word model: restoration and denoising point one way, music the other."""
    vocab = {"[UNK]": 0, "▁restoration": 1, "▁denoising": 2, "▁music": 3}
    tokenizer = Tokenizer(WordLevel(vocab, unk_token="[UNK]"))
    tokenizer_path = folder / "tokenizer.json"
    tokenizer.save(str(tokenizer_path))
    table = np.array([[0, 0, 0], [1, 0.1, 0], [0.9, 0.2, 0], [0, 0, 1]], dtype=np.float32)
    weights_path = folder / "weights.safetensors"
    save_file({semantic.TENSOR_KEY: table}, str(weights_path))
    return weights_path, tokenizer_path


def test_any_table_and_tokenizer_pair_loads(tmp_path: Path) -> None:
    model = StaticModel.load(*tiny_model(tmp_path))
    assert model.dim == 3 and not model.background.any()  # no background for a model that is not shipped
    vectors = model.embed(["restoration denoising", "music", "unknown"])
    assert cosines(vectors[:1], vectors[1:2])[0, 0] == pytest.approx(0.0, abs=1e-6)
    stage = SemanticScorer(model, ProfileConfig(keywords={"denoising": 1}))
    papers = [paper("a", "music", "music."), paper("b", "restoration", "denoising.")]
    assert stage.adjust(ranked(papers))[0].paper.id == "b"


def test_unreadable_model_files_give_one_line(tmp_path: Path) -> None:
    weights, tokenizer = tiny_model(tmp_path)
    weights.write_bytes(b"not a safetensors file")
    with pytest.raises(SemanticModelError, match=r"cannot load the semantic model \(weights.safetensors"):
        StaticModel.load(weights, tokenizer)


def test_a_missing_model_package_says_how_to_fix_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    with pytest.raises(SemanticModelError, match=r"pip install wordllama.*scoring.semantic = false"):
        StaticModel.load()


# ------------------------------------------------------------------------------------------- pipeline


def scorer(config: Config) -> day_stages.Scorer:
    return day_stages._scorer(config, fetch_liked=lambda ids: [])


def test_the_pipeline_scores_with_the_semantic_stage_by_default() -> None:
    config = Config(profile=PLAIN)
    result = scorer(config)([MUSIC, RESTORATION])
    assert result[0].paper.id == RESTORATION.id
    assert any(r.kind == "semantic" for r in result[0].reasons)
    off = Config(profile=PLAIN, scoring=config.scoring.model_copy(update={"semantic": False}))
    assert scorer(off)([MUSIC, RESTORATION]) == score_papers([MUSIC, RESTORATION], PLAIN)


def test_liked_papers_are_fetched_once_and_become_queries() -> None:
    fetched: list[list[str]] = []

    def fetch(ids: object) -> list[Paper]:
        fetched.append(list(ids))  # type: ignore[call-overload]
        return [RESTORATION]

    config = Config(profile=ProfileConfig(liked=["2601.00001"]))
    score = day_stages._scorer(config, fetch_liked=fetch)
    first = score([MUSIC, ROBOT, RESTORATION.model_copy(update={"id": "2601.00077"})])
    score([MUSIC])
    assert fetched == [["2601.00001"]]
    assert first[0].paper.id == "2601.00077"
    assert "liked paper 2601.00001" in first[0].reasons[-1].detail


def test_a_model_that_cannot_load_leaves_the_lexical_ranking_with_a_warning(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(*args: object, **kwargs: object) -> SemanticScorer:
        raise SemanticModelError("the semantic stage needs the 'wordllama' package")

    monkeypatch.setattr(day_stages, "load_scorer", broken)
    with caplog.at_level(logging.WARNING):
        result = scorer(Config(profile=PLAIN))([MUSIC, RESTORATION])
    assert result == score_papers([MUSIC, RESTORATION], PLAIN)
    assert "semantic stage off: the semantic stage needs the 'wordllama' package" in caplog.text


def test_build_stages_wires_the_semantic_scorer(tmp_path: Path) -> None:
    stages = day_stages.build_stages(
        Config(profile=PLAIN),
        today=dt.date(2026, 6, 12),
        use_llm=False,
        offline=True,
        api_key=None,
        raw_folder=tmp_path,
    )
    assert any(r.kind == "semantic" for r in stages.score([RESTORATION])[0].reasons)
