"""The offline profile scorer: matching, calibration, explanations, and a ranking regression on real data."""

from __future__ import annotations

import importlib.util
import math
import re
import sys
from pathlib import Path
from types import ModuleType

import pytest
from fake_gemini import FakeGemini
from gemini_fixtures import KEY

from paper_digest.config import ModelQuotaConfig, ProfileConfig, load_config
from paper_digest.models import HFSignals, Paper, Source
from paper_digest.scoring import score_papers
from paper_digest.scoring.text import topic_name

ROOT = Path(__file__).resolve().parents[1]

PROFILE = ProfileConfig(
    description="",
    keywords={
        "super-resolution|super resolution|SR": 3.0,
        "dehaze|haze removal": 3.0,
        "denoising": 2.5,
        "diffusion model|diffusion": 1.5,
        "large language model|LLM|agent": -1.5,
    },
    exclude=["jailbreak"],
    authors=["Chao Dong"],
)

RESTORATION = Paper(
    id="2606.00001",
    title="Real-World Image Super-Resolution with Degradation-Aware Diffusion Priors",
    abstract=(
        "We study real-world image super-resolution (SR). Our diffusion model learns degradations and "
        "restores fine textures; super-resolution results on RealSR and DRealSR beat prior SR methods."
    ),
    sources=[Source.ARXIV],
)
AGENT = Paper(
    id="2606.00002",
    title="AgentBench-Pro: Tool-Using LLM Agents for Long-Horizon Web Tasks",
    abstract="Large language model agents plan, browse and call tools. We benchmark LLM agents on web tasks.",
    sources=[Source.HUGGINGFACE],
    hf=HFSignals(upvotes=950, github_repo="https://github.com/x/y", ai_keywords=["LLM agents", "tool use"]),
)


def _paper(pid: str, title: str, abstract: str = "", **kwargs: object) -> Paper:
    return Paper.model_validate({"id": pid, "title": title, "abstract": abstract, **kwargs})


def _score(paper: Paper, profile: ProfileConfig = PROFILE) -> float:
    return score_papers([paper], profile)[0].score


def _bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_ranking", ROOT / "bench" / "bench_ranking.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("bench_ranking", module)
    spec.loader.exec_module(module)
    return module


# ------------------------------------------------------------------------------------------- matching


@pytest.mark.parametrize(
    "title",
    [
        "Fast Super-Resolution of Satellite Images",
        "Fast super resolution of satellite images",
        "FAST SUPER-RESOLUTION OF SATELLITE IMAGES",
        "Fast SR of Satellite Images",
        "Fast SRs for satellite images",
    ],
)
def test_variants_hyphenation_and_case_match(title: str) -> None:
    assert _score(_paper("1", title)) >= 40


@pytest.mark.parametrize("word", ["Dehazing", "Dehazed", "De-Hazing", "dehaze", "Haze Removal"])
def test_word_endings_match(word: str) -> None:
    scored = score_papers([_paper("1", f"{word} for Outdoor Photos")], PROFILE)[0]
    assert scored.score >= 40
    assert any(r.kind == "keyword" and "title" in r.detail for r in scored.reasons)


def test_acronym_matches_only_as_a_word() -> None:
    assert _score(_paper("1", "Srinagar street scenes and SRAM chips")) == 0
    assert _score(_paper("1", "A sr model")) == 0  # acronyms are case-sensitive


def test_diffusion_sampling_vocabulary_is_not_image_denoising() -> None:
    profile = ProfileConfig(keywords={"denoising": 3.0, "diffusion|denoising step": 1.0})
    scored = score_papers([_paper("1", "Fewer denoising steps for faster diffusion")], profile)[0]
    details = " ".join(r.detail for r in scored.reasons)
    assert "denoising step" in details
    assert len(scored.reasons) == 1  # one concept (diffusion), not the image-denoising one


SENSES = ProfileConfig(
    keywords={
        "denoising|denoise": 2.5,
        "image denoising|noise removal": 2.5,
        "diffusion|denoising step|denoising process": 1.5,
        "super-resolution": 3.0,
        "video super-resolution": 2.0,
    }
)


def test_a_word_another_concept_uses_as_a_modifier_is_ambiguous_but_a_head_word_is_not() -> None:
    from paper_digest.scoring.profile import compile_profile

    compiled = compile_profile(SENSES)
    labels = {i: c.label for i, c in enumerate(compiled.concepts)}
    ambiguous = {
        labels[a]: ({*spellings}, [labels[b] for b in senses])
        for a, (spellings, senses) in compiled.ambiguous.items()
    }
    # "denoising step" uses "denoising" as a modifier: a second sense; "video super-resolution" is a kind of
    # super-resolution (English compounds are head-final), and "image denoising" ends with the word
    assert ambiguous == {"denoising": ({"denoising"}, ["diffusion"])}


def test_one_sense_per_discourse_moves_half_of_an_ambiguous_word_to_the_sense_the_paper_uses(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sampling = _paper(
        "1",
        "Tiled Denoising for Arbitrary-Resolution Photomosaics",
        "We run denoising on overlapping tiles with a pretrained diffusion model. "
        "Fewer denoising steps suffice.",
    )
    restoration = _paper(
        "2",
        "Tiled Denoising for Arbitrary-Resolution Photographs",
        "We run denoising on overlapping tiles of noisy photographs. A small network suffices.",
    )
    scored = {s.paper.id: s for s in score_papers([sampling, restoration], SENSES)}
    details = [r.detail for r in scored["1"].reasons]
    assert any(
        "half read in the sense of 'diffusion'" in d and d.startswith("'denoising' in title") for d in details
    )
    assert not any("half read" in r.detail for r in scored["2"].reasons)
    # the weaker sense (diffusion, 1.5) took half the hits of the stronger one (denoising, 2.5)
    from paper_digest.scoring import score as scoring

    monkeypatch.setattr(scoring, "SENSE_SHARE", 0.0)
    assert scored["1"].score < score_papers([sampling], SENSES)[0].score
    # reasons still add up to the score
    for s in scored.values():
        assert math.isclose(sum(r.points for r in s.reasons), s.score, abs_tol=0.1)


def test_an_unambiguous_variant_keeps_the_word_in_its_own_sense() -> None:
    paper = _paper(
        "1",
        "Real Image Denoising with a Diffusion Prior",
        "Image denoising removes sensor noise. Our diffusion prior needs few denoising steps.",
    )
    scored = score_papers([paper], SENSES)[0]
    assert not any("half read" in r.detail for r in scored.reasons)


def test_chinese_description_works_without_keywords() -> None:
    profile = ProfileConfig(description="我关注图像复原：超分辨率、去雾、去噪，以及扩散模型和流匹配。")
    on_topic = _paper("1", "Single Image Dehazing with Flow Matching", "We remove haze with rectified flows.")
    off_topic = _paper("2", "Tool-Using Agents for Spreadsheets", "An agent edits spreadsheets.")
    scored = {s.paper.id: s for s in score_papers([on_topic, off_topic], profile)}
    assert scored["1"].score >= 60
    assert scored["2"].score == 0
    kinds = {r.kind for r in scored["1"].reasons}
    assert "description" in kinds and kinds <= {"description", "related"}  # related: sub-topics of 图像复原


def test_english_description_works_without_keywords() -> None:
    profile = ProfileConfig(description="I work on image super-resolution and low-light enhancement.")
    assert _score(_paper("1", "Low-Light Enhancement via Retinex Priors"), profile) >= 40
    assert _score(_paper("2", "Scaling Laws for Language Models"), profile) == 0


# ---------------------------------------------------------------------------------- score semantics


def test_calibration_on_topic_high_agent_low() -> None:
    assert _score(RESTORATION) >= 60
    assert _score(AGENT) < 15


def test_exclusion_pushes_down() -> None:
    clean = _paper("1", "Super-Resolution for Faces", "A super-resolution network.")
    bad = _paper(
        "2", "Super-Resolution for Faces", "A super-resolution network, robust to jailbreak prompts."
    )
    scored = {s.paper.id: s for s in score_papers([clean, bad], PROFILE)}
    assert scored["2"].score < scored["1"].score * 0.5
    assert any(r.kind == "exclude" and "jailbreak" in r.detail and r.points < 0 for r in scored["2"].reasons)


def test_author_lifts() -> None:
    plain = _paper("1", "Diffusion for Images", authors=["A. Person"])
    followed = _paper("2", "Diffusion for Images", authors=["A. Person", "Chao Dong"])
    scored = {s.paper.id: s for s in score_papers([plain, followed], PROFILE)}
    assert scored["2"].score > scored["1"].score
    assert any(r.kind == "author" and "Chao Dong" in r.detail for r in scored["2"].reasons)


def test_priors_cannot_lift_off_topic_above_on_topic() -> None:
    weak_on_topic = _paper("1", "A Study of Image Statistics", "We also touch on super-resolution briefly.")
    famous_off_topic = AGENT.model_copy(
        update={"hf": HFSignals(upvotes=100_000, github_repo="https://github.com/a/b", github_stars=90_000)}
    )
    ranked = score_papers([famous_off_topic, weak_on_topic], PROFILE)
    assert [s.paper.id for s in ranked] == ["1", AGENT.id]
    assert not any(r.kind == "prior" for r in ranked[1].reasons)


def test_priors_lift_among_relevant_papers_but_only_a_little() -> None:
    bare = RESTORATION
    popular = RESTORATION.model_copy(
        update={"id": "2606.00003", "hf": HFSignals(upvotes=500, github_repo="https://github.com/a/b")}
    )
    scores = {s.paper.id: s.score for s in score_papers([bare, popular], PROFILE)}
    assert 0 < scores["2606.00003"] - scores[bare.id] <= 10


def test_score_does_not_depend_on_the_batch() -> None:
    alone = _score(RESTORATION)
    crowd = [_paper(f"x{i}", f"Unrelated paper {i} on graphs") for i in range(50)] + [RESTORATION, AGENT]
    in_crowd = next(s.score for s in score_papers(crowd, PROFILE) if s.paper.id == RESTORATION.id)
    assert in_crowd == alone


def test_reasons_explain_the_score() -> None:
    scored = score_papers([RESTORATION], PROFILE)[0]
    details = " ".join(r.detail for r in scored.reasons)
    assert "'super-resolution/SR' in title" in details
    assert "abstract" in details
    assert math.isclose(sum(r.points for r in scored.reasons), scored.score, abs_tol=0.1)


def test_reasons_sum_with_negatives_and_exclusion() -> None:
    paper = _paper("1", "LLM agents for super-resolution", "An LLM agent picks SR models; no jailbreak.")
    scored = score_papers([paper], PROFILE)[0]
    assert any(r.points < 0 for r in scored.reasons)
    assert math.isclose(sum(r.points for r in scored.reasons), scored.score, abs_tol=0.1)


def test_every_paper_returned_sorted_with_ties_by_id() -> None:
    papers = [_paper(pid, "Graph theory") for pid in ("2606.3", "2606.1", "2606.2")] + [RESTORATION]
    ranked = score_papers(papers, PROFILE)
    assert [s.paper.id for s in ranked] == [RESTORATION.id, "2606.1", "2606.2", "2606.3"]
    assert all(0 <= s.score <= 100 for s in ranked)


def test_deterministic() -> None:
    papers = [RESTORATION, AGENT, _paper("9", "Dehazing with diffusion")]
    first = score_papers(papers, PROFILE)
    second = score_papers(list(reversed(papers)), PROFILE)
    assert [s.model_dump() for s in first] == [s.model_dump() for s in second]


def test_empty_profile_scores_everything_zero() -> None:
    ranked = score_papers([RESTORATION, AGENT], ProfileConfig())
    assert [s.score for s in ranked] == [0, 0]
    assert [s.paper.id for s in ranked] == sorted([RESTORATION.id, AGENT.id])
    assert score_papers([], PROFILE) == []


# ------------------------------------------------------------------------------------ real ranking


def test_example_profile_ranks_a_labelled_day_well() -> None:
    """Regression on real data: NDCG@10 on a hand-labelled corpus day (see bench/labels/README.md)."""
    bench = _bench()
    profile = bench.load_profile()
    day = "2026-06-16"
    papers = bench.load_day(day)
    ndcg = bench.ndcg_at_k(bench.rank_scorer(papers, profile), bench.load_labels(day))
    naive = bench.ndcg_at_k(bench.rank_naive(papers, profile), bench.load_labels(day))
    assert ndcg >= 0.8
    assert ndcg > naive


# ------------------------------------------------------------------------------ newer mechanisms


def test_first_sentence_counts_more_than_a_later_passing_mention() -> None:
    profile = ProfileConfig(keywords={"deraining": 3.0})
    lead = _paper("1", "A new network", "Image deraining removes rain. We propose a network. It is fast.")
    later = _paper("2", "A new network", "We propose a network. It is fast. It could help deraining.")
    scored = {s.paper.id: s for s in score_papers([lead, later], profile)}
    assert scored["1"].score > scored["2"].score
    assert "first sentence" in scored["1"].reasons[0].detail
    assert "first sentence" not in scored["2"].reasons[0].detail


def test_abbreviations_do_not_end_the_first_sentence() -> None:
    from paper_digest.scoring.text import split_first_sentence

    first, rest = split_first_sentence("Restoration, e.g. Deraining, is hard. We solve it.")
    assert first == "Restoration, e.g. Deraining, is hard"
    assert rest == "We solve it."
    assert split_first_sentence("One sentence only") == ("One sentence only", "")


@pytest.mark.parametrize(
    ("title", "matches"),
    [
        ("SR for phones", True),
        ("SRs for phones", True),
        ("SR3 for phones", True),
        ("(SR) phones", True),
        ("SRAM phones", False),
        ("uSR phones", False),
        ("SRx phones", False),
    ],
)
def test_acronym_word_boundaries(title: str, matches: bool) -> None:
    assert (_score(_paper("1", title)) > 0) is matches


def test_negative_context_keyword_pushes_off_profile_generative_work_down() -> None:
    """Off-profile context (video generation) outweighs a passing diffusion match; reasons still add up."""
    profile = ProfileConfig(keywords={"diffusion": 1.5, "video generation|text-to-video": -1.5})
    still = _paper("1", "Faster Diffusion Sampling", "A diffusion sampler for images.")
    video = _paper("2", "Faster Diffusion Sampling", "A diffusion sampler for text-to-video generation.")
    scored = {s.paper.id: s for s in score_papers([still, video], profile)}
    assert scored["2"].score < scored["1"].score * 0.5
    assert math.isclose(sum(r.points for r in scored["2"].reasons), scored["2"].score, abs_tol=0.1)


def test_example_profile_calibration() -> None:
    """With the shipped profile: on-topic restoration >= 60, an LLM agent paper < 15, min_score 30 splits."""
    profile = _bench().load_profile()
    restoration = _paper(
        "1",
        "Blind Image Deblurring with Frequency Routing",
        "Image deblurring recovers sharp images from blurry inputs. We propose a deblurring network that "
        "handles unknown degradation and beats prior restoration methods.",
    )
    assert _score(restoration, profile) >= 60
    assert _score(AGENT, profile) < 15
    assert _score(_paper("3", "Scaling Laws for Mixture-of-Experts Language Models"), profile) < 30


def test_package_layout_keeps_the_public_import() -> None:
    import paper_digest.scoring as scoring

    assert scoring.score_papers is score_papers
    assert scoring.__all__ == ["score_papers", "top_unique"]


def test_mean_ndcg_over_labelled_days_beats_naive() -> None:
    bench = _bench()
    profile = bench.load_profile()
    ours, naive = [], []
    for day in bench.corpus_days():
        papers, grades = bench.load_day(day), bench.load_labels(day)
        ours.append(bench.ndcg_at_k(bench.rank_scorer(papers, profile), grades))
        naive.append(bench.ndcg_at_k(bench.rank_naive(papers, profile), grades))
    assert sum(ours) / len(ours) >= 0.85  # 0.856 measured (bench/bench_ranking.py, lexical column)
    assert min(ours) >= 0.75
    assert sum(ours) / len(ours) > sum(naive) / len(naive) + 0.2


@pytest.mark.slow
def test_the_llm_stage_benchmark_measures_the_rerank_and_pays_each_request_once(
    server: FakeGemini, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """`bench_ranking.py --llm` against the fake Gemini server with an oracle judge (relevance = 3 x the
    label): the harness must show the re-rank's effect, count requests, and cost nothing when run again."""
    bench = _bench()
    monkeypatch.setenv("GOOGLE_GEMINI_BASE_URL", server.url)  # the SDK reads it
    config = load_config(ROOT / "config.example.toml", env={})
    # no real waiting in a test: the fake server has no limits, so neither does the client
    quota = {"requests_per_window": 1000, "requests_per_day": 1000}
    llm = config.llm.model_copy(update={"quota": {config.llm.rerank_model: ModelQuotaConfig(**quota)}})
    config = config.model_copy(update={"llm": llm})
    days = [d for d in bench.corpus_days() if (bench.LABELS / f"{d}.json").exists()]
    for day in days:
        server.relevance.update({pid: 3 * grade for pid, grade in bench.load_labels(day).items()})
    server.default_relevance = 0

    assert bench.llm_stages(config, KEY, tmp_path / "cache") == 0
    first = capsys.readouterr().out
    judge_requests = server.count(config.llm.rerank_model)
    assert judge_requests == server.count()  # the re-rank asks its own model only
    # the top 30 in batches of 15
    assert judge_requests == 2 * len(days)
    mean = next(line for line in first.splitlines() if line.startswith("mean")).split()
    scorer, rerank = (float(v) for v in mean[1:3])
    assert rerank > scorer + 0.05  # an oracle judge lifts NDCG@10 well above the scorer
    assert f"{len(days)} days fully covered; requests: {judge_requests} rerank" in first

    assert bench.llm_stages(config, KEY, tmp_path / "cache") == 0
    again = capsys.readouterr().out
    assert server.count() == judge_requests  # everything came from the cache
    assert "requests: 0 rerank" in again
    assert KEY not in first + again


def test_top_unique_keeps_ranking_order_and_counts_an_id_once() -> None:
    from paper_digest.scoring import top_unique

    ranked = score_papers([RESTORATION, AGENT], PROFILE)
    doubled = [ranked[0], ranked[0], ranked[1]]
    assert list(top_unique(doubled, 2)) == [RESTORATION.id, AGENT.id]
    assert list(top_unique(doubled, 1)) == [RESTORATION.id]
    assert top_unique([], 5) == {}


def test_judgements_from_files_go_through_the_rerank_blend(capsys: pytest.CaptureFixture[str]) -> None:
    """The committed blind-judge figures stay reproducible (bench/judgements/README.md)."""
    bench = _bench()
    config = load_config(ROOT / "config.example.toml", env={})
    assert bench.judged_table(config, ROOT / "bench" / "judgements" / "blind-llm") == 0
    out = capsys.readouterr().out
    mean = next(line for line in out.splitlines() if line.startswith("mean")).split()
    assert float(mean[1]) < 0.9 <= float(mean[2])
    # the judge saw an earlier lexical top 30: today's rankings hold a few papers it never judged
    judged = [int(n) for n in re.findall(r"\b(\d+)/30\b", out)]
    assert len(judged) == 20 and min(judged) >= 24


def test_every_labelled_profile_loads_and_its_consensus_matches_the_annotators(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The benchmark's profiles (bench/labels/README.md): each TOML parses, each has labelled days, and the
    consensus files are what bench_labels.py computes from the two annotators' grades."""
    bench = _bench()
    for name, (toml, folder) in bench.PROFILES.items():
        profile = bench.load_profile(toml)
        assert profile.keywords, name
        days = bench.labelled_days(folder)
        assert len(days) >= 4 and all(bench.load_labels(d, folder) for d in days), name
    spec = importlib.util.spec_from_file_location("bench_labels", ROOT / "bench" / "bench_labels.py")
    assert spec is not None and spec.loader is not None
    labels = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(labels)
    assert labels.main([]) == 0  # no consensus file missing or stale
    assert labels.weighted_kappa([(0, 0), (1, 1), (3, 3)]) == 1.0
    assert labels.weighted_kappa([(0, 3), (3, 0)]) < 0
    out = capsys.readouterr().out
    assert "plain-restoration: 997 papers over 10 days" in out and "3d-vision: 307 papers over 4 days" in out


def test_every_topic_of_the_example_profile_has_a_chinese_name() -> None:
    """The digest's 看点 column names a paper's matched topics (涉及：...): with the example profile
    none may read as the English keyword (it said 涉及：扩散模型、demosaicing)."""
    example = load_config(ROOT / "config.example.toml", env={})
    for phrase, weight in example.profile.keywords.items():
        if weight <= 0:
            continue  # a push-down is never named as a topic of the paper
        name = topic_name(phrase.split("|")[0])
        assert any("\u4e00" <= ch <= "\u9fff" for ch in name), (phrase, name)
