"""Learning from ratings: the pure model (scoring.learn) and its edge (learning.py: the ratings file, the
rated papers' text from candidates / sidecars / cache / the arXiv export API on 127.0.0.1)."""

from __future__ import annotations

import datetime as dt
import hashlib
import random
import re
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import pytest
from clocks import FakeClock
from sources_helpers import FakeExportApi, ScriptedServer, load_listing, with_times

from paper_digest.config import ArxivConfig, LearningConfig, ProfileConfig
from paper_digest.learning import Learner, RatedPaperCache, rated_papers
from paper_digest.models import Digest, DigestPaper, Paper, ScoredPaper, Source
from paper_digest.ratings import Rating, format_ratings
from paper_digest.scoring import score_papers
from paper_digest.scoring.learn import (
    Rated,
    choose_strength,
    learn,
    least_sure,
    unrated_sample,
)
from paper_digest.sources.arxiv import fetch_arxiv_ids
from paper_digest.sources.http import HttpClient

DIM = 64
WORD = re.compile(r"[a-z]+")


def embed(texts: Sequence[str]) -> np.ndarray:
    """A tiny deterministic bag-of-words embedder: each word hashed to one of DIM axes, unit length."""
    out = np.zeros((len(texts), DIM), dtype=np.float32)
    for row, text in enumerate(texts):
        for word in WORD.findall(text.lower()):
            out[row, int(hashlib.sha256(word.encode()).hexdigest(), 16) % DIM] += 1.0
    norms = np.linalg.norm(out, axis=1, keepdims=True)
    np.divide(out, norms, out=out, where=norms > 0)
    return out


PROFILE = ProfileConfig(keywords={"reconstruction": 2.0, "image": 1.0})
TOPIC_A = "gaussian splatting radiance scene reconstruction multi view"
TOPIC_B = "medical image segmentation tumour organ reconstruction"
FILLER = ["language", "agents", "robot", "speech", "graph", "audio", "tabular", "finance", "weather", "music"]


def paper(n: int, words: str) -> Paper:
    return Paper(id=f"2606.{n:05d}", title=words.split()[0].title() + " paper", abstract=words)


def day_papers() -> list[Paper]:
    """A day: 6 papers on topic A, 6 on topic B, 40 on neither, all sharing some profile words."""
    rng = random.Random(7)
    papers = []
    for i in range(6):
        papers.append(paper(100 + i, f"{TOPIC_A} {' '.join(rng.sample(FILLER, 2))}"))
        papers.append(paper(200 + i, f"{TOPIC_B} {' '.join(rng.sample(FILLER, 2))}"))
    for i in range(40):
        papers.append(paper(300 + i, f"image {' '.join(rng.sample(FILLER, 4))}"))
    return papers


def ratings_for_a() -> list[Rated]:
    """Earlier papers: A liked, B disliked."""
    rng = random.Random(3)
    likes = [Rated(paper(10 + i, f"{TOPIC_A} {rng.choice(FILLER)}"), True) for i in range(6)]
    dislikes = [Rated(paper(30 + i, f"{TOPIC_B} {rng.choice(FILLER)}"), False) for i in range(6)]
    return likes + dislikes


def learned_reason(scored: ScoredPaper) -> tuple[str, float] | None:
    for reason in scored.reasons:
        if reason.kind in ("liked", "learned"):
            return reason.detail, reason.points
    return None


def test_cold_start_leaves_the_ranking_alone() -> None:
    ranked = score_papers(day_papers(), PROFILE)
    learned = learn(ranked, ratings_for_a()[:5], PROFILE, embed, min_ratings=10, max_points=20)
    assert not learned.active and learned.ranked == ranked and learned.probability == {}
    only_dislikes = [r for r in ratings_for_a() if not r.liked] * 2
    assert not learn(ranked, only_dislikes, PROFILE, embed, min_ratings=10, max_points=20).active


def test_likes_lift_their_topic_and_dislikes_push_theirs_down_with_reasons() -> None:
    ranked = score_papers(day_papers(), PROFILE)
    before = {s.paper.id: s.score for s in ranked}
    learned = learn(ranked, ratings_for_a(), PROFILE, embed, min_ratings=10, max_points=20)
    assert learned.active and learned.strength > 0
    by_id = {s.paper.id: s for s in learned.ranked}
    for i in range(6):
        lifted, dropped = by_id[f"2606.{100 + i:05d}"], by_id[f"2606.{200 + i:05d}"]
        reason = learned_reason(lifted)
        assert reason is not None and reason[1] > 0
        assert re.fullmatch(
            r"与你赞过的 2606\.000(1[0-5]) 相近（相似度 0\.\d\d，喜欢的把握 \d+%）", reason[0]
        )
        assert lifted.score == pytest.approx(before[lifted.paper.id] + reason[1], abs=0.011)
        down = learned_reason(dropped)
        assert down is not None and down[1] < 0 and down[0].startswith("与你不感兴趣的 2606.000")
        assert learned.probability[lifted.paper.id] > 0.5 > learned.probability[dropped.paper.id]
    # the reasons still add up to the score
    for scored in learned.ranked:
        assert sum(r.points for r in scored.reasons) == pytest.approx(scored.score, abs=0.05)
    top = [s.paper.id for s in learned.ranked[:6]]
    assert all(pid.startswith("2606.001") for pid in top)


def test_same_ratings_same_day_same_ranking_whatever_the_order() -> None:
    ranked = score_papers(day_papers(), PROFILE)
    rated = ratings_for_a()
    first = learn(ranked, rated, PROFILE, embed, min_ratings=10, max_points=20)
    shuffled = list(ranked)
    random.Random(5).shuffle(shuffled)
    again = learn(shuffled, list(reversed(rated)), PROFILE, embed, min_ratings=10, max_points=20)
    assert [(s.paper.id, s.score) for s in again.ranked] == [(s.paper.id, s.score) for s in first.ranked]


def test_unrated_sample_is_a_fixed_seed_sample() -> None:
    ids = [f"2606.{i:05d}" for i in range(300)]
    sample = unrated_sample(ids, 50)
    assert len(sample) == 50 == len(set(sample))
    assert unrated_sample(list(reversed(ids)), 50) == sample
    assert unrated_sample(ids, 50, seed="other") != sample


def test_no_trust_when_the_profile_already_orders_the_ratings() -> None:
    rng = np.random.default_rng(0)
    rows = rng.normal(size=(40, 8))
    labels = np.array([1.0] * 10 + [0.0] * 30)
    weight = np.where(labels == 1, 0.1, 1 / 30)
    perfect = np.where(labels == 1, 90.0, 10.0)  # the profile alone separates likes from the rest
    assert choose_strength(rows, labels, weight, perfect, 20.0) == 0.0
    rows[:, 0] = labels * 3  # a feature that knows, a profile that does not
    assert choose_strength(rows, labels, weight, np.full(40, 50.0), 20.0) > 0


def test_least_sure_asks_about_the_papers_nearest_half() -> None:
    ranked = score_papers(day_papers(), PROFILE)
    ids = [s.paper.id for s in ranked]
    probability = {pid: 0.9 for pid in ids} | {ids[3]: 0.45, ids[7]: 0.6, ids[1]: 0.52}
    assert least_sure(ranked, probability, {ids[1]}, 2) == [ids[3], ids[7]]
    # cold start: the papers nearest the deep-dive threshold
    threshold = ranked[5].score
    assert least_sure(ranked, {}, set(), 1, min_score=threshold)[0] in {
        s.paper.id for s in ranked if s.score == threshold
    }
    assert least_sure(ranked, probability, set(), 0) == []


# -- the edge: rated papers' text --------------------------------------------------------------------------


@pytest.fixture
def arxiv() -> Iterator[tuple[ScriptedServer, FakeExportApi]]:
    records = with_times(
        load_listing("2026-06-16"),
        dt.datetime(2026, 6, 12, tzinfo=dt.UTC),
        dt.datetime(2026, 6, 13, tzinfo=dt.UTC),
    )
    api = FakeExportApi(records)
    srv = ScriptedServer()
    srv.route("/api/query", api)
    srv.start()
    yield srv, api
    srv.stop()


def fetcher(srv: ScriptedServer) -> object:
    clock = FakeClock()
    client = HttpClient(
        user_agent="paper-digest/test", timeout=2.0, clock=clock, sleep=clock.sleep, max_attempts=2
    )
    cfg = ArxivConfig(api_url=srv.url + "/api/query", delay_seconds=3.0)
    return lambda wanted: fetch_arxiv_ids(client, cfg, wanted)


def sidecar_with(p: Paper) -> Digest:
    item = DigestPaper(
        rank=1,
        id=p.id,
        title=p.title,
        abstract=p.abstract,
        score=50,
        sources=[Source.ARXIV],
        deep_dive=False,
        analysis_status="skipped",
    )
    return Digest(date=dt.date(2026, 6, 1), title="t", papers=[item])


def test_rated_papers_come_from_candidates_sidecars_cache_then_arxiv_once(
    tmp_path: Path, arxiv: tuple[ScriptedServer, FakeExportApi]
) -> None:
    srv, api = arxiv
    remote = api.records[2]
    candidate, in_sidecar = paper(1, TOPIC_A), paper(2, TOPIC_B)
    ratings = [
        Rating(candidate.id, "like"),
        Rating(in_sidecar.id, "dislike"),
        Rating(remote["id"], "like"),
        Rating("2606.99999", "like"),  # nowhere: left out
    ]
    cache = RatedPaperCache(tmp_path / "learning")
    found = rated_papers(ratings, [candidate], [sidecar_with(in_sidecar)], cache, fetcher(srv))  # type: ignore[arg-type]
    assert [(r.paper.id, r.liked) for r in found] == [
        (candidate.id, True),
        (in_sidecar.id, False),
        (remote["id"], True),
    ]
    assert found[2].paper.title == " ".join(remote["title"].split())
    assert api.queries == [{"id_list": f"{remote['id']},2606.99999", "max_results": "2"}]
    # the next run finds the fetched paper in the cache and asks arXiv only for the unknown id
    again = rated_papers(ratings, [candidate], [sidecar_with(in_sidecar)], cache, fetcher(srv))  # type: ignore[arg-type]
    assert [r.paper.id for r in again] == [r.paper.id for r in found]
    assert api.queries[-1]["id_list"] == "2606.99999" and len(api.queries) == 2
    # offline (no fetcher): what is known still counts
    assert len(rated_papers(ratings, [], [], cache, None)) == 1


def test_learner_reads_the_ratings_file_and_asks(tmp_path: Path) -> None:
    papers = day_papers()
    rated = ratings_for_a()
    path = tmp_path / "ratings.txt"
    path.write_text(
        format_ratings(Rating(r.paper.id, "like" if r.liked else "dislike") for r in rated), encoding="utf-8"
    )
    digests = [sidecar_with(r.paper) for r in rated]
    config = LearningConfig(ratings=path, min_ratings=10, ask=2)
    learner = Learner(config, PROFILE, cache_dir=tmp_path, embed=lambda: embed, fetch=None, min_score=30)
    ranked = score_papers(papers, PROFILE)
    day = learner.apply(ranked, digests)
    assert day.active and day.ratings == 12 and day.likes == 6 and len(day.ask) == 2
    assert day.ranked[0].paper.id.startswith("2606.001")
    assert not set(day.ask) & {r.paper.id for r in rated}
    # cold start: the same file with a higher threshold leaves the ranking alone but still asks
    cold = Learner(
        config.model_copy(update={"min_ratings": 50}),
        PROFILE,
        cache_dir=tmp_path,
        embed=lambda: embed,
        fetch=None,
        min_score=30,
    ).apply(ranked, digests)
    assert not cold.active and cold.ranked == ranked and len(cold.ask) == 2


def test_liked_queries_count_only_when_the_ratings_are_trusted() -> None:
    """learn ranks with the liked papers as extra queries only when the model is trusted."""
    from paper_digest.models import ScoreReason

    def with_liked(papers: Sequence[Paper]) -> list[ScoredPaper]:
        marked = ScoreReason(kind="semantic", detail="liked query", points=0.0)
        ranked = score_papers(papers, PROFILE)
        return [s.model_copy(update={"reasons": [*s.reasons, marked]}) for s in ranked]

    ranked = score_papers(day_papers(), PROFILE)
    trusted = learn(
        ranked, ratings_for_a(), PROFILE, embed, min_ratings=10, max_points=20, with_liked=with_liked
    )
    assert trusted.strength > 0
    assert all(any(r.detail == "liked query" for r in s.reasons) for s in trusted.ranked)
    # ratings the profile already orders perfectly: neither the model nor the liked queries are used
    top, bottom = ranked[:6], ranked[-6:]
    agreeing = [Rated(s.paper, True) for s in top] + [Rated(s.paper, False) for s in bottom]
    kept = learn(ranked, agreeing, PROFILE, embed, min_ratings=10, max_points=20, with_liked=with_liked)
    assert kept.strength == 0 and kept.ranked == ranked
