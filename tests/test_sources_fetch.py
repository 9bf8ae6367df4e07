"""fetch_huggingface and fetch_arxiv end to end against local servers built from the corpus."""

from __future__ import annotations

import datetime as dt
import json
import random
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from clocks import FakeClock
from sources_helpers import (
    FIXTURES,
    FakeExportApi,
    Reply,
    ScriptedServer,
    Seen,
    cs_cv_day,
    render_atom,
    rss_from_listing,
)

from paper_digest import assemble
from paper_digest.config import ArxivConfig, HuggingFaceConfig
from paper_digest.errors import SourceError
from paper_digest.models import Digest, Source, SourceReport, SourceStatus
from paper_digest.notices import sentence, source_notice
from paper_digest.sources import arxiv, huggingface
from paper_digest.sources.archive import OfflineClient, RawArchive
from paper_digest.sources.arxiv import ID_LIST_CHUNK, fetch_arxiv, fetch_arxiv_ids
from paper_digest.sources.calendar import announcement_for
from paper_digest.sources.http import HttpClient
from paper_digest.sources.huggingface import fetch_huggingface

DAY = dt.date(2026, 6, 16)


def said(report: SourceReport) -> str | None:
    """What the digest tells the reader about a source (None: nothing)."""
    return sentence(report.notice) if report.notice is not None else None


@pytest.fixture
def server() -> Iterator[ScriptedServer]:
    with ScriptedServer() as srv:
        yield srv


def client_for(clock: FakeClock, archive: RawArchive | None = None) -> HttpClient:
    return HttpClient(
        user_agent="paper-digest/test",
        timeout=2.0,
        clock=clock,
        sleep=clock.sleep,
        archive=archive,
        rng=random.Random(1),
    )


def hf_cfg(server: ScriptedServer) -> HuggingFaceConfig:
    return HuggingFaceConfig(endpoint=server.url)


def arxiv_cfg(server: ScriptedServer, **kw: object) -> ArxivConfig:
    return ArxivConfig.model_validate(
        {"api_url": server.url + "/api/query", "rss_url": server.url + "/rss", "delay_seconds": 3.0, **kw}
    )


def serve_api(server: ScriptedServer, day: dt.date = DAY) -> FakeExportApi:
    ann = announcement_for(day)
    assert ann is not None
    api = FakeExportApi(cs_cv_day(day.isoformat(), (ann.window_start, ann.window_end)))
    server.route("/api/query", api)
    return api


# --- HuggingFace -----------------------------------------------------------------------------------------


def test_hf_day(server: ScriptedServer, clock: FakeClock) -> None:
    body = (FIXTURES / "hf" / "2026-06-16.json").read_bytes()
    server.script("/api/daily_papers", [Reply(200, body)])
    result = fetch_huggingface(client_for(clock), hf_cfg(server), DAY)
    assert result.report.status is SourceStatus.OK
    assert result.report.count == 34 == len(result.papers)
    assert result.report.requests == 1 and result.report.skipped_items == 0
    assert server.requests[0].query == {"date": "2026-06-16", "limit": "100"}


def test_hf_pages_when_a_page_is_full(
    server: ScriptedServer, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    items = json.loads((FIXTURES / "hf" / "2026-06-01.json").read_text(encoding="utf-8"))  # 49 items

    def page(seen: Seen) -> Reply:
        p = int(seen.query.get("p", "0"))
        return Reply(200, json.dumps(items[p * 20 : (p + 1) * 20]).encode())

    server.route("/api/daily_papers", page)
    monkeypatch.setattr(huggingface, "PAGE_SIZE", 20)
    result = fetch_huggingface(client_for(clock), hf_cfg(server), dt.date(2026, 6, 1))
    assert [p.id for p in result.papers] == [i["paper"]["id"] for i in items]
    assert [r.query.get("p") for r in server.requests] == [None, "1", "2"]
    assert result.report.requests == 3


def test_hf_weekend_is_no_announcement(server: ScriptedServer, clock: FakeClock) -> None:
    server.script("/api/daily_papers", [Reply(200, b"[]")])
    result = fetch_huggingface(client_for(clock), hf_cfg(server), dt.date(2026, 6, 13))
    assert result.report.status is SourceStatus.NO_ANNOUNCEMENT
    assert said(result.report) == "HuggingFace Daily Papers 周末不更新"


def test_hf_empty_weekday(server: ScriptedServer, clock: FakeClock) -> None:
    server.script("/api/daily_papers", [Reply(200, b"[]")])
    result = fetch_huggingface(client_for(clock), hf_cfg(server), DAY)
    assert result.report.status is SourceStatus.EMPTY and result.papers == []
    assert said(result.report) and "列表为空" in said(result.report)


def test_hf_html_error_page_is_a_source_error(server: ScriptedServer, clock: FakeClock) -> None:
    server.script("/api/daily_papers", [Reply(200, b"<!DOCTYPE html><html><body>Maintenance</body></html>")])
    with pytest.raises(SourceError, match=r"^HuggingFace: HuggingFace response is an HTML page"):
        fetch_huggingface(client_for(clock), hf_cfg(server), DAY)


def test_hf_503_then_ok(server: ScriptedServer, clock: FakeClock) -> None:
    body = (FIXTURES / "hf" / "2026-06-12.json").read_bytes()
    server.script("/api/daily_papers", [Reply(503, b"", {"Retry-After": "5"}), Reply(200, body)])
    result = fetch_huggingface(client_for(clock), hf_cfg(server), dt.date(2026, 6, 12))
    assert result.report.count == 35 and result.report.requests == 2
    assert clock.sleeps == [5.0]


def test_hf_fails_after_retries(server: ScriptedServer, clock: FakeClock) -> None:
    server.script("/api/daily_papers", [Reply(503, b"<html>oops</html>")])
    with pytest.raises(SourceError) as info:
        fetch_huggingface(client_for(clock), hf_cfg(server), DAY)
    assert str(info.value) == "HuggingFace: HTTP 503 after 5 attempts"


# --- arXiv export API --------------------------------------------------------------------------------------


def test_arxiv_past_day_via_api_pages_with_delay(
    server: ScriptedServer, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    api = serve_api(server)
    monkeypatch.setattr(arxiv, "PAGE_SIZE", 100)
    cfg = arxiv_cfg(server)
    result = fetch_arxiv(client_for(clock), cfg, DAY, today=dt.date(2026, 7, 1))
    assert result.report.status is SourceStatus.OK
    assert result.report.count == 263 == len(result.papers)
    assert result.report.requests == 3
    assert [q["start"] for q in api.queries] == ["0", "100", "200"]
    assert all(q["max_results"] == "100" and q["sortBy"] == "submittedDate" for q in api.queries)
    assert api.queries[0]["search_query"] == "(cat:cs.CV) AND submittedDate:[202606121800 TO 202606151759]"
    assert clock.sleeps == [3.0, 3.0], "delay_seconds between pages"
    kinds = {p.arxiv.announce_type for p in result.papers if p.arxiv}
    assert kinds == {"new", "cross"}
    cross = next(p for p in result.papers if p.arxiv and p.arxiv.announce_type == "cross")
    assert cross.arxiv is not None and cross.arxiv.primary_category != "cs.CV"
    assert "cs.CV" in cross.arxiv.categories


def test_arxiv_api_without_cross_lists(server: ScriptedServer, clock: FakeClock) -> None:
    serve_api(server)
    cfg = arxiv_cfg(server, include_cross_lists=False)
    result = fetch_arxiv(client_for(clock), cfg, DAY, today=dt.date(2026, 7, 1))
    assert result.report.count == len(result.papers) > 0
    assert all(p.arxiv and p.arxiv.primary_category == "cs.CV" for p in result.papers)
    assert result.report.count < 263


def test_arxiv_same_papers_on_backfill(server: ScriptedServer, clock: FakeClock) -> None:
    serve_api(server)
    cfg = arxiv_cfg(server)
    first = fetch_arxiv(client_for(clock), cfg, DAY, today=dt.date(2026, 7, 1))
    second = fetch_arxiv(client_for(clock), cfg, DAY, today=dt.date(2026, 12, 1))
    assert [p.id for p in first.papers] == [p.id for p in second.papers]


def test_arxiv_weekend_makes_no_request(server: ScriptedServer, clock: FakeClock) -> None:
    api = serve_api(server)
    client = client_for(clock)
    result = fetch_arxiv(client, arxiv_cfg(server), dt.date(2026, 6, 14), today=dt.date(2026, 6, 14))
    assert result.report.status is SourceStatus.NO_ANNOUNCEMENT
    assert result.report.source is Source.ARXIV
    assert said(result.report) == "今日 arXiv 无新论文公告（周末：arXiv 周五、周六晚不发布）"
    assert client.requests_made == 0 and api.queries == []


def test_arxiv_holiday_makes_no_request(server: ScriptedServer, clock: FakeClock) -> None:
    client = client_for(clock)
    result = fetch_arxiv(client, arxiv_cfg(server), dt.date(2026, 11, 27), today=dt.date(2026, 11, 27))
    assert result.report.status is SourceStatus.NO_ANNOUNCEMENT
    assert said(result.report) == "arXiv 假日（美东 11 月 26 日），无新论文公告"
    assert client.requests_made == 0


def test_arxiv_empty_window(server: ScriptedServer, clock: FakeClock) -> None:
    serve_api(server)  # records are all in 2026-06-16's window
    result = fetch_arxiv(
        client_for(clock), arxiv_cfg(server), dt.date(2026, 6, 18), today=dt.date(2026, 7, 1)
    )
    assert result.report.status is SourceStatus.EMPTY
    assert said(result.report) == "arXiv 本次公告中没有 cs.CV 的新论文"
    assert result.report.requests == 1


def test_arxiv_api_html_page_is_source_error(server: ScriptedServer, clock: FakeClock) -> None:
    server.script("/api/query", [Reply(200, b"<!DOCTYPE html><html><body>Rate exceeded</body></html>")])
    with pytest.raises(SourceError, match=r"^arXiv: arXiv response is an HTML page, not an Atom feed$"):
        fetch_arxiv(client_for(clock), arxiv_cfg(server), DAY, today=dt.date(2026, 7, 1))


def test_arxiv_api_429_retry_after_then_pages(server: ScriptedServer, clock: FakeClock) -> None:
    api = serve_api(server)
    real = server._routes["/api/query"]
    calls = {"n": 0}

    def flaky(seen: object) -> Reply:
        calls["n"] += 1
        if calls["n"] == 2:
            return Reply(429, b"", {"Retry-After": "10"})
        return real(seen)  # type: ignore[arg-type]

    server.route("/api/query", flaky)
    result = fetch_arxiv(client_for(clock), arxiv_cfg(server), DAY, today=dt.date(2026, 7, 1))
    assert result.report.count == 263
    assert result.report.requests == 3
    assert 10.0 in clock.sleeps
    assert len(api.queries) == 2


# --- arXiv RSS ----------------------------------------------------------------------------------------------


def test_arxiv_today_via_rss(server: ScriptedServer, clock: FakeClock) -> None:
    server.script("/rss/cs.CV", [Reply(200, rss_from_listing("2026-06-16", ["cs.CV"]))])
    result = fetch_arxiv(client_for(clock), arxiv_cfg(server), DAY, today=DAY)
    assert result.report.status is SourceStatus.OK and result.report.requests == 1
    # the one replacement (an older id, replace-cross) is left out by default
    assert result.report.count == 262
    assert "2603.04592" not in {p.id for p in result.papers}
    assert all(p.version == 1 for p in result.papers)


def test_arxiv_rss_with_replacements(server: ScriptedServer, clock: FakeClock) -> None:
    server.script("/rss/cs.CV+cs.GR", [Reply(200, rss_from_listing("2026-06-16", ["cs.CV", "cs.GR"]))])
    cfg = arxiv_cfg(server, categories=["cs.CV", "cs.GR"], include_replacements=True)
    result = fetch_arxiv(client_for(clock), cfg, DAY, today=DAY)  # today's announcement: the RSS feed
    replaced = next(p for p in result.papers if p.id == "2603.04592")
    assert replaced.version == 2 and replaced.arxiv is not None
    assert replaced.arxiv.announce_type == "replace-cross"
    assert server.requests[0].path == "/rss/cs.CV+cs.GR"


def test_arxiv_rss_not_out_yet(server: ScriptedServer, clock: FakeClock) -> None:
    server.script("/rss/cs.CV", [Reply(200, rss_from_listing("2026-06-16", ["cs.CV"]))])
    with pytest.raises(SourceError, match="still shows the announcement of 2026-06-16"):
        fetch_arxiv(client_for(clock), arxiv_cfg(server), dt.date(2026, 6, 17), today=dt.date(2026, 6, 17))


def test_arxiv_rss_feed_moved_on_falls_back_to_api(server: ScriptedServer, clock: FakeClock) -> None:
    server.script("/rss/cs.CV", [Reply(200, rss_from_listing("2026-06-30", ["cs.CV"]))])
    api = serve_api(server)
    result = fetch_arxiv(client_for(clock), arxiv_cfg(server), DAY, today=DAY)
    assert result.report.count == 263 and api.queries


# --- offline re-run --------------------------------------------------------------------------------


def test_offline_rerun_gives_the_same_papers(
    server: ScriptedServer, clock: FakeClock, tmp_path: Path
) -> None:
    server.script("/rss/cs.CV", [Reply(200, rss_from_listing("2026-06-16", ["cs.CV"]))])
    server.script("/api/daily_papers", [Reply(200, (FIXTURES / "hf" / "2026-06-16.json").read_bytes())])
    archive = RawArchive(tmp_path / "raw" / DAY.isoformat())
    online = client_for(clock, archive)
    ax = fetch_arxiv(online, arxiv_cfg(server), DAY, today=DAY)
    hf = fetch_huggingface(online, hf_cfg(server), DAY)
    served = len(server.requests)
    offline = OfflineClient(archive)
    ax2 = fetch_arxiv(
        offline, arxiv_cfg(server), DAY, today=dt.date(2026, 7, 1)
    )  # a later day: RSS still used
    hf2 = fetch_huggingface(offline, hf_cfg(server), DAY)
    assert ax2.papers == ax.papers and hf2.papers == hf.papers
    assert ax2.report.requests == 0 and hf2.report.requests == 0
    assert len(server.requests) == served


def test_offline_missing_response_is_source_error(tmp_path: Path) -> None:
    offline = OfflineClient(RawArchive(tmp_path / "raw" / "2026-06-16"))
    cfg = ArxivConfig(api_url="http://127.0.0.1:9/api/query")
    with pytest.raises(SourceError, match="arXiv: no archived response"):
        fetch_arxiv(offline, cfg, DAY, today=dt.date(2026, 7, 1))


# -- papers by id (the liked papers of the similarity stage) -------------------------------------------------


def test_fetch_by_ids_one_request_in_the_order_asked(server: ScriptedServer, clock: FakeClock) -> None:
    records = cs_cv_day(
        "2026-06-16", (dt.datetime(2026, 6, 12, tzinfo=dt.UTC), dt.datetime(2026, 6, 13, tzinfo=dt.UTC))
    )
    api = FakeExportApi(records)
    server.route("/api/query", api)
    wanted = [records[5]["id"], f"{records[2]['id']}v1", "not-an-id", "2606.99999", records[5]["id"]]
    papers = fetch_arxiv_ids(client_for(clock), arxiv_cfg(server), wanted)
    assert [p.id for p in papers] == [records[5]["id"], records[2]["id"]]
    assert papers[1].title == records[2]["title"] and papers[1].abstract
    assert len(api.queries) == 1
    query = api.queries[0]
    assert query["id_list"] == f"{records[5]['id']},{records[2]['id']}v1,2606.99999"
    assert query["max_results"] == "3"


def test_fetch_by_ids_chunks_and_survives_a_failing_request(server: ScriptedServer, clock: FakeClock) -> None:
    records = cs_cv_day(
        "2026-06-16", (dt.datetime(2026, 6, 12, tzinfo=dt.UTC), dt.datetime(2026, 6, 13, tzinfo=dt.UTC))
    )
    assert len(records) > ID_LIST_CHUNK
    api = FakeExportApi(records)
    server.route("/api/query", api)
    server.prelude("/api/query", [Reply(400, b"<html>bad request</html>")])
    ids = [r["id"] for r in records[: ID_LIST_CHUNK + 3]]
    papers = fetch_arxiv_ids(client_for(clock), arxiv_cfg(server), ids)
    assert [p.id for p in papers] == ids[ID_LIST_CHUNK:]  # the first chunk failed, the second came
    assert len(api.queries) == 1 and server.requests[-1].path == "/api/query"
    assert sum(1 for r in server.requests if r.path == "/api/query") == 2
    assert any(s >= 3.0 for s in clock.sleeps)  # arXiv's delay between the two requests


def test_fetch_by_ids_nothing_to_ask(server: ScriptedServer, clock: FakeClock) -> None:
    assert fetch_arxiv_ids(client_for(clock), arxiv_cfg(server), ["junk", ""]) == []
    assert server.requests == []


def test_arxiv_listing_cut_short_by_empty_pages_is_said_and_reopens_the_day(
    server: ScriptedServer, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The export API sometimes answers empty pages although totalResults says more (arxiv.py raises
    UnexpectedEmptyPageError for it): the papers that came are kept, the reader is told the list may be
    incomplete (in Chinese, with the figures), and the day is not complete, so backfill runs it again."""
    api = serve_api(server)
    monkeypatch.setattr(arxiv, "PAGE_SIZE", 100)

    def cut_after_first_page(seen: Seen) -> Reply:
        reply = api(seen)
        if int(seen.query.get("start", "0")) < 100:
            return reply
        found = re.search(rb"<opensearch:totalResults[^>]*>(\d+)<", reply.body)
        assert found is not None
        total = int(found.group(1))
        return Reply(200, render_atom([], total=total, start=int(seen.query["start"])), reply.headers)

    server.route("/api/query", cut_after_first_page)
    result = fetch_arxiv(client_for(clock), arxiv_cfg(server), DAY, today=dt.date(2026, 7, 1))
    assert result.report.status is SourceStatus.OK and len(result.papers) == 100
    assert [q["start"] for q in api.queries] == ["0", "100", "100", "100"]  # the empty page asked 3 times
    text = said(result.report)
    assert text == (
        "arXiv 只取到 100/263 篇（arXiv API 中途返回空页），"
        "今日列表可能不全；稍后重跑本日（或 backfill）可补全。"
    )
    notice = source_notice(result.report)
    assert notice is not None and sentence(notice) == text
    digest = Digest(date=DAY, title="t", sources=[result.report], papers=[])
    assert not assemble.is_complete(digest)
    whole = result.report.model_copy(update={"notice": None})
    assert assemble.is_complete(digest.model_copy(update={"sources": [whole]}))
