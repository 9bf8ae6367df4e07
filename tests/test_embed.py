"""The embedding similarity stage: the real google-genai client against the fake Gemini server, liked papers
from a local arXiv export API, and one run of the CLI end to end."""

from __future__ import annotations

import datetime as dt
import json
import logging
import math
import random
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from fake_gemini import VECTOR_SCALE, FakeClock, FakeGemini, bag_of_words_vector, cosine
from gemini_fixtures import KEY, WallClock
from sources_helpers import FakeExportApi, Reply, ScriptedServer, load_listing, with_times
from world import World

from paper_digest import pipeline
from paper_digest.analysis import Embedder
from paper_digest.analysis.embed import (
    BATCH_LIMIT,
    DESCRIPTION_ANCHORS,
    DOCUMENT_TASK,
    LIKED_ANCHORS,
    MAX_DROP,
    MAX_LIFT,
    QUERY_TASK,
    Anchors,
    document_text,
    unit,
)
from paper_digest.config import ArxivConfig, Config, LLMConfig, ProfileConfig, ScoringConfig
from paper_digest.models import Paper, ScoredPaper, ScoreReason
from paper_digest.sources.arxiv import fetch_arxiv_ids
from paper_digest.sources.http import HttpClient

EMBED_MODEL = "gemini-embedding-001"
DIMS = 768
DESCRIPTION = "real world image super resolution with diffusion models"
ON_TOPIC = "Diffusion models for real world image super resolution"
OFF_TOPIC = "Quarterly tariffs of Baltic shipping lanes"


def paper(i: int, title: str, abstract: str = "", version: int = 1) -> Paper:
    return Paper(id=f"2606.{i:05d}", version=version, title=title, abstract=abstract)


def rank(papers: Sequence[Paper], *, top: float = 60.0, step: float = 1.0) -> list[ScoredPaper]:
    """An offline ranking whose reasons add up to each score."""
    ranked = []
    for i, p in enumerate(papers):
        score = max(0.0, top - step * i)
        reasons = [ScoreReason(kind="keyword", detail="super-resolution in title", points=score)]
        ranked.append(ScoredPaper(paper=p, score=score, reasons=reasons))
    return ranked


def filler(n: int, start: int = 100) -> list[Paper]:
    """n papers on assorted words (seeded), so their cosines to anything are small but not all equal."""
    rng = random.Random(n * 7 + start)
    words = ["graph", "robot", "speech", "audio", "protein", "market", "weather", "traffic", "law", "soil"]
    return [
        paper(start + i, " ".join(rng.sample(words, 3)), " ".join(rng.sample(words, 6))) for i in range(n)
    ]


def ids(ranked: Sequence[ScoredPaper]) -> list[str]:
    return [s.paper.id for s in ranked]


def reason_of(scored: ScoredPaper) -> ScoreReason | None:
    found = [r for r in scored.reasons if r.kind in ("embedding", "liked")]
    assert len(found) <= 1
    return found[0] if found else None


def embed_requests(server: FakeGemini) -> list[Any]:
    return [r for r in server.requests if r.is_embed]


@pytest.fixture
def cache_dir(tmp_path: Path) -> Path:
    return tmp_path / "cache"


@pytest.fixture
def make_embedder(
    server: FakeGemini, clock: FakeClock, wall: WallClock, cache_dir: Path
) -> Callable[..., Embedder]:
    def build(
        api_key: str | None = KEY,
        *,
        description: str = DESCRIPTION,
        liked: Sequence[str] = (),
        fetch_liked: Callable[[Sequence[str]], list[Paper]] | None = None,
        llm: dict[str, Any] | None = None,
        **scoring: Any,
    ) -> Embedder:
        settings: dict[str, Any] = {"embeddings": True, "embed_top": 60}
        settings.update(scoring)
        llm_settings: dict[str, Any] = {"base_url": server.url, "max_attempts": 2}
        llm_settings.update(llm or {})
        return Embedder(
            LLMConfig(**llm_settings),
            ScoringConfig(**settings),
            api_key=api_key,
            cache_dir=cache_dir,
            profile=ProfileConfig(description=description, liked=list(liked)),
            clock=clock,
            sleep=clock.sleep,
            now=wall,
            fetch_liked=fetch_liked,
        )

    return build


def expected_points(text_a: str, text_b: str, anchors: Anchors) -> float:
    return anchors.points(cosine(bag_of_words_vector(text_a, DIMS), bag_of_words_vector(text_b, DIMS)))


# -- the happy path -------------------------------------------------------------------------------------


def test_lifts_the_close_and_lowers_the_distant(
    make_embedder: Callable[..., Embedder], server: FakeGemini
) -> None:
    ranked = rank([paper(1, OFF_TOPIC, "Ports and cargo."), paper(2, "Some paper", "x"), paper(3, ON_TOPIC)])
    result, ledger = make_embedder().embed(ranked)
    by_id = {s.paper.id: s for s in result}
    assert by_id["2606.00003"].score == 58.0 + MAX_LIFT  # the same words as the description
    assert by_id["2606.00001"].score == 60.0 - MAX_DROP  # no word in common
    assert ids(result)[0] == "2606.00003"
    reason = reason_of(by_id["2606.00003"])
    assert reason is not None and reason.kind == "embedding" and reason.points == MAX_LIFT
    assert "语义相似度" in reason.detail and EMBED_MODEL in reason.detail
    assert ledger.requests_by_model == {EMBED_MODEL: 2} and ledger.cache_hits == 0
    query, documents = embed_requests(server)
    assert query.embed_task_types == {QUERY_TASK} and query.embed_texts == [DESCRIPTION]
    assert documents.embed_task_types == {DOCUMENT_TASK}
    assert documents.embed_texts == [document_text(s.paper) for s in ranked]
    assert documents.embed_texts[0] == f"{OFF_TOPIC}\n\nPorts and cargo."
    assert {i["outputDimensionality"] for i in documents.embed_items} == {DIMS}
    assert documents.api_version == "v1beta" and documents.model == EMBED_MODEL


def test_reasons_add_up_and_scores_stay_in_range(
    make_embedder: Callable[..., Embedder], server: FakeGemini
) -> None:
    papers = [paper(1, ON_TOPIC), paper(2, "super resolution", "real world images"), *filler(20)]
    ranked = rank(papers, top=97.0, step=4.5)  # 97 down to 0: the clamp at both ends is exercised
    result, _ = make_embedder().embed(ranked)
    assert result[0].score == 100.0
    for scored in result:
        assert reason_of(scored) is not None
        assert sum(r.points for r in scored.reasons) == pytest.approx(scored.score, abs=1e-9)
        assert 0 <= scored.score <= 100
    scores = [(-s.score, s.paper.id) for s in result]
    assert scores == sorted(scores)  # score descending, ties by id


def test_intermediate_cosines_follow_the_anchors(make_embedder: Callable[..., Embedder]) -> None:
    papers = [
        paper(1, "image super resolution", "diffusion"),
        paper(2, "real world image", "models of weather"),
        paper(3, "super resolution for remote sensing", "with graph priors"),
    ]
    ranked = rank(papers, top=50.0, step=0.0)
    result, _ = make_embedder().embed(ranked)
    by_id = {s.paper.id: s for s in result}
    for p in papers:
        points = expected_points(DESCRIPTION, document_text(p), DESCRIPTION_ANCHORS)
        assert by_id[p.id].score == pytest.approx(round(50.0 + points, 2))
    assert len({by_id[p.id].score for p in papers}) == 3


def test_anchor_map_is_fixed_and_bounded() -> None:
    a = Anchors(far=0.5, neutral=0.6, close=0.7)
    assert [a.points(c) for c in (-1.0, 0.5, 0.55, 0.6, 0.65, 0.7, 1.0)] == pytest.approx(
        [-MAX_DROP, -MAX_DROP, -MAX_DROP / 2, 0.0, MAX_LIFT / 2, MAX_LIFT, MAX_LIFT]
    )
    assert DESCRIPTION_ANCHORS.far < DESCRIPTION_ANCHORS.neutral < DESCRIPTION_ANCHORS.close
    assert LIKED_ANCHORS.far < LIKED_ANCHORS.neutral < LIKED_ANCHORS.close


def test_scores_are_absolute(make_embedder: Callable[..., Embedder], tmp_path: Path, cache_dir: Path) -> None:
    """The same paper gets the same adjustment whatever else is in its batch, and from the cache."""
    target = paper(7, "image super resolution", "diffusion prior for old photos")
    alone, _ = make_embedder().embed(rank([target]))
    with_others, _ = make_embedder(embed_top=60).embed(rank([*filler(30), target], top=90))
    delta_alone = alone[0].score - 60.0
    scored = next(s for s in with_others if s.paper.id == target.id)
    assert scored.score - 60.0 == pytest.approx(delta_alone)  # 60 was its offline score there too
    for entry in (cache_dir / "embed").glob("query-*.json"):
        entry.unlink()
    again, _ = make_embedder().embed(rank([target]))
    assert again == alone


def test_vectors_are_normalised_before_use(make_embedder: Callable[..., Embedder], cache_dir: Path) -> None:
    make_embedder().embed(rank([paper(1, ON_TOPIC, "abstract words here")]))
    entries = [p for p in (cache_dir / "embed").glob("*.json") if not p.name.startswith(("query-", "quota-"))]
    assert len(entries) == 1
    values = json.loads(entries[0].read_text(encoding="utf-8"))["value"]["values"]
    assert len(values) == DIMS and math.sqrt(sum(v * v for v in values)) == pytest.approx(1.0, abs=1e-4)
    raw = bag_of_words_vector("anything at all", DIMS)
    assert math.sqrt(sum(v * v for v in raw)) != pytest.approx(1.0)  # the fake's vectors are not unit-length
    assert VECTOR_SCALE != 1.0
    assert (
        unit([0.0] * DIMS, DIMS) is None and unit([1.0, float("nan")], 2) is None and unit([1.0], 2) is None
    )


def test_off_by_default(make_embedder: Callable[..., Embedder], server: FakeGemini) -> None:
    assert ScoringConfig().embeddings is False and Config().scoring.embeddings is False
    ranked = rank([paper(1, ON_TOPIC)])
    result, ledger = make_embedder(embeddings=False).embed(ranked)
    assert result == ranked and ledger.requests == 0 and server.count() == 0
    stages = pipeline.build_stages(
        Config(),
        today=dt.date(2026, 6, 12),
        use_llm=True,
        offline=False,
        api_key=KEY,
        raw_folder=Path("/nonexistent"),
    )
    assert stages.embed is None


def test_only_the_top_candidates_are_embedded(
    make_embedder: Callable[..., Embedder], server: FakeGemini
) -> None:
    ranked = rank([paper(1, OFF_TOPIC), paper(2, OFF_TOPIC), paper(3, ON_TOPIC), paper(4, ON_TOPIC)])
    result, _ = make_embedder(embed_top=2).embed(ranked)
    by_id = {s.paper.id: s for s in result}
    assert embed_requests(server)[1].embed_texts == [document_text(p.paper) for p in ranked[:2]]
    assert by_id["2606.00003"] == ranked[2] and by_id["2606.00004"] == ranked[3]  # untouched
    assert ids(result) == ["2606.00003", "2606.00004", "2606.00001", "2606.00002"]


# -- batching, the limiter and the cache -------------------------------------------------------------


@pytest.mark.parametrize("n", [1, 99, 100, 101, 250])
def test_batches_of_at_most_100(
    make_embedder: Callable[..., Embedder], server: FakeGemini, clock: FakeClock, n: int
) -> None:
    ranked = rank(filler(n), top=100.0, step=0.3)
    result, ledger = make_embedder(embed_top=n).embed(ranked)
    documents = [r for r in embed_requests(server) if r.embed_task_types == {DOCUMENT_TASK}]
    assert len(documents) == math.ceil(n / BATCH_LIMIT)
    assert ledger.requests == 1 + math.ceil(n / BATCH_LIMIT)  # and the description, once
    assert all(len(r.embed_items) <= BATCH_LIMIT for r in documents)
    assert sorted(t for r in documents for t in r.embed_texts) == sorted(document_text(p) for p in filler(n))
    assert all(reason_of(s) is not None for s in result)
    # the limiter counts texts: never more than 100 texts start within any 60 s (on the fake clock)
    requests = embed_requests(server)
    for r in requests:
        assert sum(len(o.embed_items) for o in requests if r.at - 60 < o.at <= r.at) <= 100
    assert (clock.elapsed > 60) == (n + 1 > 100)


def test_a_per_text_limit_on_the_server_is_never_hit(
    clock: FakeClock, wall: WallClock, cache_dir: Path
) -> None:
    with FakeGemini(clock=clock, api_key=KEY, per_window=100, window_seconds=60, per_day=1000) as fake:
        embedder = Embedder(
            LLMConfig(base_url=fake.url),
            ScoringConfig(embeddings=True, embed_top=250),
            api_key=KEY,
            cache_dir=cache_dir,
            profile=ProfileConfig(description=DESCRIPTION),
            clock=clock,
            sleep=clock.sleep,
            now=wall,
        )
        result, ledger = embedder.embed(rank(filler(250), top=100, step=0.3))
        assert fake.rate_limited == 0 and ledger.requests == 4 == fake.count()
        assert all(reason_of(s) is not None for s in result)


def test_second_run_is_served_from_the_cache(
    make_embedder: Callable[..., Embedder], server: FakeGemini
) -> None:
    ranked = rank(filler(150), top=90, step=0.5)
    first, spent = make_embedder(embed_top=150).embed(ranked)
    assert spent.requests == server.count() == 3
    second, ledger = make_embedder(embed_top=150).embed(ranked)
    assert server.count() == 3  # no new request
    assert ledger.requests == 0 and ledger.cache_hits == 151  # 150 papers and the description
    assert second == first


def test_new_version_model_or_size_misses_the_cache(
    make_embedder: Callable[..., Embedder], server: FakeGemini
) -> None:
    ranked = rank([paper(1, ON_TOPIC)])
    make_embedder().embed(ranked)
    make_embedder().embed(rank([paper(1, ON_TOPIC, version=2)]))
    assert server.count() == 3  # the description is cached, the new version is not
    make_embedder(embedding_dimensions=256).embed(ranked)
    assert server.count() == 5 and embed_requests(server)[-1].embed_items[0]["outputDimensionality"] == 256


def test_corrupt_cache_entries_are_ignored(
    make_embedder: Callable[..., Embedder], server: FakeGemini, cache_dir: Path
) -> None:
    ranked = rank([paper(1, ON_TOPIC), paper(2, OFF_TOPIC)])
    first, _ = make_embedder().embed(ranked)
    for entry in (cache_dir / "embed").glob("*.json"):
        if not entry.name.startswith("quota-"):
            entry.write_text("{oops", encoding="utf-8")
    again, ledger = make_embedder().embed(ranked)
    assert ledger.cache_hits == 0 and ledger.requests == 2 and again == first


def test_the_daily_budget_is_kept_and_finished_the_next_day(
    make_embedder: Callable[..., Embedder], server: FakeGemini, wall: WallClock
) -> None:
    ranked = rank(filler(120), top=90, step=0.5)
    result, ledger = make_embedder(embed_top=120, embedding_requests_per_day=50).embed(ranked)
    assert server.rate_limited == 0 and ledger.requests == 2  # the description, then 49 papers
    adjusted = [s for s in result if reason_of(s) is not None]
    assert len(adjusted) == 49
    wall.now += dt.timedelta(days=1)
    _, later = make_embedder(embed_top=120, embedding_requests_per_day=100).embed(ranked)
    assert later.cache_hits == 50 and later.requests == 1  # the 71 missing in one batch


# -- liked papers ------------------------------------------------------------------------------------------


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


def fetcher(srv: ScriptedServer, clock: FakeClock) -> Callable[[Sequence[str]], list[Paper]]:
    client = HttpClient(
        user_agent="paper-digest/test",
        timeout=2.0,
        clock=clock,
        sleep=clock.sleep,
        max_attempts=2,
        rng=random.Random(1),
    )
    cfg = ArxivConfig(api_url=srv.url + "/api/query", delay_seconds=3.0)
    return lambda wanted: fetch_arxiv_ids(client, cfg, wanted)


def test_liked_paper_from_the_candidates(make_embedder: Callable[..., Embedder], server: FakeGemini) -> None:
    loved = paper(1, "Masked autoregressive flow for video", "we model frames")
    twin = paper(2, "Masked autoregressive flow for video frames", "we model frames")
    ranked = rank([loved, twin, paper(3, OFF_TOPIC)])
    result, _ = make_embedder(description="", liked=["2606.00001v1"]).embed(ranked)
    by_id = {s.paper.id: s for s in result}
    reason = reason_of(by_id["2606.00002"])
    assert reason is not None and reason.kind == "liked" and "2606.00001" in reason.detail
    assert reason.points == pytest.approx(
        expected_points(document_text(loved), document_text(twin), LIKED_ANCHORS), abs=0.01
    )
    assert reason_of(by_id["2606.00001"]) is None  # a liked paper is not compared with itself
    assert [r.embed_task_types for r in embed_requests(server)] == [{DOCUMENT_TASK}]  # no description
    assert len(embed_requests(server)[0].embed_texts) == 3  # the liked paper's vector is the candidate's


def test_liked_papers_fetched_once_from_arxiv(
    make_embedder: Callable[..., Embedder],
    server: FakeGemini,
    clock: FakeClock,
    arxiv: tuple[ScriptedServer, FakeExportApi],
) -> None:
    srv, api = arxiv
    record = api.records[3]
    twin = paper(1, record["title"], record["summary"])
    ranked = rank([paper(2, OFF_TOPIC), twin])
    embedder = make_embedder(liked=[record["id"], "2699.99999", "garbage"], fetch_liked=fetcher(srv, clock))
    result, _ = embedder.embed(ranked)
    assert api.queries == [{"id_list": f"{record['id']},2699.99999", "max_results": "2"}]
    reason = reason_of(next(s for s in result if s.paper.id == twin.id))
    assert reason is not None and reason.kind == "liked" and record["id"] in reason.detail
    assert reason.points == MAX_LIFT  # the same title and abstract as the liked paper
    # the next run asks arXiv only for the id it could not get, and Gemini for nothing
    requests = server.count()
    make_embedder(liked=[record["id"], "2699.99999"], fetch_liked=fetcher(srv, clock)).embed(ranked)
    assert api.queries[-1]["id_list"] == "2699.99999" and server.count() == requests


def test_liked_fetch_failure_is_skipped(
    make_embedder: Callable[..., Embedder],
    server: FakeGemini,
    clock: FakeClock,
    arxiv: tuple[ScriptedServer, FakeExportApi],
    caplog: pytest.LogCaptureFixture,
) -> None:
    srv, _ = arxiv
    srv.script("/api/query", [Reply(503, b"down")])
    ranked = rank([paper(1, ON_TOPIC), paper(2, OFF_TOPIC)])
    result, ledger = make_embedder(liked=["2606.11111"], fetch_liked=fetcher(srv, clock)).embed(ranked)
    assert "2606.11111" in caplog.text
    assert all(reason_of(s) is not None and reason_of(s).kind == "embedding" for s in result)  # type: ignore[union-attr]
    assert ledger.requests == 2


def test_no_profile_to_compare_with_makes_no_request(
    make_embedder: Callable[..., Embedder], server: FakeGemini
) -> None:
    ranked = rank([paper(1, ON_TOPIC)])
    result, ledger = make_embedder(description="   ", liked=["junk"]).embed(ranked)
    assert result == ranked and ledger.requests == 0 and server.count() == 0


# -- fallbacks --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "api_key,llm", [(None, {}), (KEY, {"enabled": False})], ids=["no-key", "llm-disabled"]
)
def test_offline_uses_only_the_cache(
    make_embedder: Callable[..., Embedder], server: FakeGemini, api_key: str | None, llm: dict[str, Any]
) -> None:
    ranked = rank([paper(1, OFF_TOPIC), paper(2, ON_TOPIC)])
    result, ledger = make_embedder(api_key, llm=llm).embed(ranked)
    assert result == ranked and ledger.requests == 0 and server.count() == 0
    online, _ = make_embedder().embed(ranked[:1])  # an earlier run embedded paper 1 and the description
    again, ledger = make_embedder(api_key, llm=llm).embed(ranked)
    assert server.count() == 2 and ledger.cache_hits == 2
    by_id = {s.paper.id: s for s in again}
    assert by_id["2606.00001"] == online[0] and by_id["2606.00002"] == ranked[1]


FAULTS = [
    "400",
    "403",
    "404",
    "bad_key_400",
    "429_day",
    "500",
    "503",
    "drop",
    "invalid_json",
    "wrong_count",
    "bad_values",
]


@pytest.mark.parametrize("behaviour", FAULTS)
def test_every_fault_keeps_the_offline_score(
    make_embedder: Callable[..., Embedder],
    server: FakeGemini,
    cache_dir: Path,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
    behaviour: str,
) -> None:
    caplog.set_level(logging.DEBUG)
    server.script(*[behaviour] * 6)  # every attempt of every request
    ranked = rank([paper(1, OFF_TOPIC, "Secret abstract words"), paper(2, ON_TOPIC)])
    result, ledger = make_embedder(llm={"max_attempts": 2}).embed(ranked)
    assert result == ranked
    assert ledger.requests >= 1
    vectors = [p for p in (cache_dir / "embed").glob("*.json") if not p.name.startswith("quota-")]
    assert vectors == []
    logs = caplog.text + capsys.readouterr().err
    assert KEY not in logs
    for leak in ("Secret abstract", "unregistered callers", "high", "overloaded", DESCRIPTION):
        assert leak not in logs


def test_a_rejected_key_or_a_spent_day_stops_every_request(
    make_embedder: Callable[..., Embedder], server: FakeGemini, cache_dir: Path
) -> None:
    ranked = rank(filler(250))
    server.script("403")
    make_embedder(embed_top=250).embed(ranked)
    assert server.count() == 1
    server.script("ok", "429_day")
    result, ledger = make_embedder(embed_top=250).embed(ranked)
    assert server.count() == 3 and ledger.rate_limited_day == 1
    quota = json.loads((cache_dir / "embed" / "quota-2026-06-12.json").read_text(encoding="utf-8"))
    assert quota["exhausted"] == [EMBED_MODEL]
    assert result == ranked
    assert not (cache_dir / "analysis").exists()  # the deep dives' quota is another file


def test_a_failed_batch_is_asked_again_next_run(
    make_embedder: Callable[..., Embedder], server: FakeGemini
) -> None:
    ranked = rank(filler(150), top=90, step=0.5)
    server.script("ok", "wrong_count")  # the description, then the first batch of papers
    result, _ = make_embedder(embed_top=150).embed(ranked)
    assert sum(1 for s in result if reason_of(s) is not None) == 50
    make_embedder(embed_top=150).embed(ranked)
    assert [len(r.embed_items) for r in embed_requests(server)] == [1, 100, 50, 100]


def test_per_minute_429_is_waited_out(
    make_embedder: Callable[..., Embedder], server: FakeGemini, clock: FakeClock
) -> None:
    server.script("ok", "429_minute")
    result, ledger = make_embedder().embed(rank([paper(1, ON_TOPIC)]))
    assert ledger.rate_limited_minute == 1 and ledger.requests == 3
    assert any(s >= 58 for s in clock.sleeps)
    assert reason_of(result[0]) is not None


def test_unusable_single_vector_drops_only_that_paper(
    make_embedder: Callable[..., Embedder], server: FakeGemini
) -> None:
    server.embed_vector = lambda text, dims: (
        [0.0] * dims if "Empty" in text else bag_of_words_vector(text, dims)
    )
    ranked = rank([paper(1, "Empty"), paper(2, ON_TOPIC)])
    result, _ = make_embedder().embed(ranked)
    by_id = {s.paper.id: s for s in result}
    assert by_id["2606.00001"] == ranked[0] and reason_of(by_id["2606.00002"]) is not None


# -- end to end -----------------------------------------------------------------------------------------


def test_cli_run_with_embeddings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    day = "2026-06-16"
    liked = load_listing("2026-06-01")[0]
    with World(tmp_path, monkeypatch=monkeypatch, profile_extra=f'liked = ["{liked["id"]}"]') as world:
        world.id_records = [liked]
        world.gemini.model_limits[EMBED_MODEL] = (100, 1000)  # its own free-tier quota, counted per text
        world.serve_day(day)
        text = (
            world.config_path.read_text(encoding="utf-8") + "\n[scoring]\nembeddings = true\nembed_top = 40\n"
        )
        world.config_path.write_text(text, encoding="utf-8")
        result = world.run("run", "--date", day)
        assert result.exit_code == 0, result.output
        assert "embed: 2 requests, 0 cached" in result.stderr
        embeds = [r for r in world.gemini.requests if r.is_embed]
        assert [len(r.embed_items) for r in embeds] == [1, 41]  # the description; 40 candidates and the liked
        assert world.requests_to("/api/query") >= 2  # the day, and the liked paper by id
        sidecar = world.sidecar(day)
        assert sidecar["stats"]["llm"]["requests_by_model"] == {EMBED_MODEL: 2, "gemini-2.5-flash": 3}
        kinds = [{r["kind"] for r in p["score_reasons"]} & {"embedding", "liked"} for p in sidecar["papers"]]
        assert sum(1 for k in kinds if k) == 40
        assert KEY not in result.output and world.api_key not in result.output
        again = world.run("run", "--date", day)
        assert again.exit_code == 0 and "embed: 0 requests, 42 cached" in again.stderr
        assert len([r for r in world.gemini.requests if r.is_embed]) == 2
