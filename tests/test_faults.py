"""The fault and abuse suite (issue 8): misbehaving services, hostile content, bad configuration and usage,
interrupted runs, end to end through the CLI against local servers. Each scenario asserts the exit code, what
the digest and the sidecar say, how many requests were made against how many were expected (also recorded
for the session's summary table, see ``fault_figures.py``), and that nothing was lost or leaked."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from fault_figures import Row
from markdown_check import check_page
from markdown_it import MarkdownIt
from sources_helpers import Reply, render_atom
from typer.testing import Result
from world import API_KEY, MODEL, World, hf_day_body

from paper_digest import cli

DAY = "2026-06-12"  # a Friday: HF list of the day (35 papers) + arXiv's Thursday-evening announcement (80)
HF_PATH, ARXIV_PATH = "/api/daily_papers", "/api/query"
HF_COUNT, ARXIV_COUNT = 35, 80
#: the HTTP client's attempts per request (sources/http.py HttpClient default)
SOURCE_ATTEMPTS = 5
#: things that belong to an error body, a traceback or an endpoint, never to a digest or the console
LEAKS = (
    "RESOURCE_EXHAUSTED",
    "quota_metric",
    "quotaMetric",
    "quotaId",
    "Traceback",
    "<html",
    "<!DOCTYPE",
    "googleapis",
    "PERMISSION_DENIED",
    "Please retry in",
    "BODY-MARKER",
)
#: an error page a proxy or a crashed backend might send, full of things that must not be echoed
HTML_ERROR = (
    b"<!DOCTYPE html><html><head><title>502 Bad Gateway</title></head><body><h1>Error</h1>"
    b"<pre>Traceback (most recent call last): BODY-MARKER generativelanguage.googleapis.com</pre>"
    b"</body></html>"
)
JSON_ERROR = b'{"error": "Too Many Requests", "detail": "BODY-MARKER Traceback"}'


# --- helpers ------------------------------------------------------------------------------------------------


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    with World(tmp_path, monkeypatch=monkeypatch) as w:
        w.serve_day(DAY)
        # one analysis at a time: a scripted fault then always meets the same paper, and counts are exact
        edit_config(w, "max_attempts = 3", "max_attempts = 3\nconcurrency = 1")
        yield w


def edit_config(world: World, old: str, new: str) -> None:
    text = world.config_path.read_text(encoding="utf-8")
    assert old in text, old
    world.config_path.write_text(text.replace(old, new), encoding="utf-8")


def console(result: Result) -> str:
    return result.stdout + result.stderr


def everything_written(world: World) -> str:
    """Every file the run left under the test's folder (digests, cache, raw responses), as text."""
    chunks = []
    for path in sorted(world.root.rglob("*")):
        if path.is_file() and path != world.config_path:
            chunks.append(path.read_bytes().decode("utf-8", errors="replace"))
    return "\n".join(chunks)


def assert_calm(world: World, result: Result, day: str = DAY) -> tuple[str, dict[str, Any]]:
    """The digest is well formed, and neither it, the sidecar nor the console carries an error body, a
    traceback or the key. Returns the Markdown and the sidecar."""
    md = world.markdown(day)
    raw_sidecar = (world.out / f"{day}.json").read_text(encoding="utf-8")
    check_page(md)
    for text, where in ((md, "digest"), (raw_sidecar, "sidecar"), (console(result), "console")):
        for leak in (*LEAKS, API_KEY):
            assert leak not in text, f"{leak!r} leaked into the {where}"
    return md, json.loads(raw_sidecar)


def featured(sidecar: dict[str, Any]) -> list[dict[str, Any]]:
    return [p for p in sidecar["papers"] if p["deep_dive"]]


def source(sidecar: dict[str, Any], name: str) -> dict[str, Any]:
    found = [s for s in sidecar["sources"] if s["source"] == name]
    assert len(found) == 1, sidecar["sources"]
    return found[0]


def lines_with(md: str, needle: str) -> list[str]:
    return [line for line in md.splitlines() if needle in line]


def half(reply: Reply) -> Reply:
    """The route's own answer, cut in half (a truncated body that arrives whole)."""
    return Reply(reply.status, reply.body[: len(reply.body) // 2], reply.headers)


def cut_connection(reply: Reply) -> Reply:
    """Half the body, with the full Content-Length announced: the connection breaks mid-body."""
    return Reply(
        reply.status, reply.body[: len(reply.body) // 2], reply.headers, content_length=len(reply.body)
    )


def stalled(reply: Reply) -> Reply:
    """The right answer, but only after the client's (lowered) timeout has passed."""
    return Reply(reply.status, reply.body, reply.headers, delay=0.6)


# --- services misbehaving: HuggingFace and arXiv -------------------------------------------------------------


@dataclass
class SourceFault:
    path: str
    replies: list[Reply | Callable[[Reply], Reply]]
    status: str  # the source's status in the sidecar
    requests: int  # requests the source should get
    says: str = ""  # a phrase the digest carries
    count: int | None = None  # papers the source contributes (None: the full day)
    sleeps: list[float] = field(default_factory=list)  # waits the run must have made (Retry-After)
    low_timeout: bool = False


SOURCE_FAULTS = {
    "hf-500": SourceFault(
        HF_PATH,
        [Reply(500, HTML_ERROR, {"Content-Type": "text/html"})] * SOURCE_ATTEMPTS,
        "failed",
        SOURCE_ATTEMPTS,
        "HuggingFace 今日数据获取失败（HTTP 500 after 5 attempts）",
        0,
    ),
    "hf-503-retry-after": SourceFault(
        HF_PATH, [Reply(503, JSON_ERROR, {"Retry-After": "7"})], "ok", 2, sleeps=[7.0]
    ),
    "hf-429": SourceFault(HF_PATH, [Reply(429, JSON_ERROR, {"Retry-After": "3"})], "ok", 2, sleeps=[3.0]),
    "hf-html-200": SourceFault(
        HF_PATH,
        [Reply(200, HTML_ERROR, {"Content-Type": "text/html"})],
        "failed",
        1,
        "HuggingFace 今日数据获取失败（response is an HTML page, not a Daily Papers list）",
        0,
    ),
    "hf-truncated-json": SourceFault(HF_PATH, [half], "ok", 1),
    "hf-cut-connection": SourceFault(HF_PATH, [cut_connection], "ok", 2),
    "hf-empty-day": SourceFault(
        HF_PATH, [Reply(200, b"[]")], "empty", 1, "HuggingFace 当日 Daily Papers 列表为空", 0
    ),
    "hf-stalled": SourceFault(HF_PATH, [stalled], "ok", 2, low_timeout=True),
    "arxiv-500": SourceFault(
        ARXIV_PATH,
        [Reply(500, HTML_ERROR)] * SOURCE_ATTEMPTS,
        "failed",
        SOURCE_ATTEMPTS,
        "arXiv 今日数据获取失败（HTTP 500 after 5 attempts）",
        0,
    ),
    "arxiv-503-retry-after": SourceFault(
        ARXIV_PATH, [Reply(503, HTML_ERROR, {"Retry-After": "5"})], "ok", 2, sleeps=[5.0]
    ),
    "arxiv-429": SourceFault(
        ARXIV_PATH, [Reply(429, JSON_ERROR, {"Retry-After": "4"})], "ok", 2, sleeps=[4.0]
    ),
    "arxiv-html-200": SourceFault(
        ARXIV_PATH,
        [Reply(200, HTML_ERROR, {"Content-Type": "text/html"})],
        "failed",
        1,
        "arXiv 今日数据获取失败（response is an HTML page, not an Atom feed）",
        0,
    ),
    # the cut page yields the entries before the cut; paging by totalResults asks for the rest
    "arxiv-truncated-xml": SourceFault(ARXIV_PATH, [half], "ok", 2),
    "arxiv-cut-connection": SourceFault(ARXIV_PATH, [cut_connection], "ok", 2),
    "arxiv-empty-day": SourceFault(
        ARXIV_PATH,
        [Reply(200, render_atom([], total=0, start=0))],
        "empty",
        1,
        "arXiv 本次公告中没有 cs.CV 的新论文",
        0,
    ),
    "arxiv-stalled": SourceFault(ARXIV_PATH, [stalled], "ok", 2, low_timeout=True),
}


TRUNCATED_ATOM_BUG = (
    "sources/arxiv.py _fetch_api advances `start` by len(papers) + skipped, and parse_atom counts the entry cut "
    "off by a truncated page as skipped: the next page starts one entry too far, so that paper is lost"
)


@pytest.mark.parametrize(
    "name",
    [
        pytest.param(n, marks=pytest.mark.xfail(strict=True, reason=TRUNCATED_ATOM_BUG))
        if n == "arxiv-truncated-xml"
        else n
        for n in SOURCE_FAULTS
    ],
)
def test_source_fault(world: World, figures: Row, name: str) -> None:
    fault = SOURCE_FAULTS[name]
    if fault.low_timeout:
        edit_config(world, "timeout_seconds = 2", "timeout_seconds = 0.3")
    world.server.prelude(fault.path, fault.replies)
    result = world.run("run", "--date", DAY)
    assert result.exit_code == 0, result.output  # the other source still gives a digest
    md, sidecar = assert_calm(world, result)

    faulty = "huggingface" if fault.path == HF_PATH else "arxiv"
    other, other_path = ("arxiv", ARXIV_PATH) if faulty == "huggingface" else ("huggingface", HF_PATH)
    full = {"huggingface": HF_COUNT, "arxiv": ARXIV_COUNT}
    report = source(sidecar, faulty)
    assert report["status"] == fault.status, report
    assert source(sidecar, other)["status"] == "ok"
    got = sidecar["stats"]["candidates_by_source"]
    assert got.get(other) == full[other]
    if fault.count is not None:
        assert got.get(faulty, 0) == fault.count
    elif name == "hf-truncated-json":  # the items before the cut, the cut one counted as skipped
        assert 0 < got[faulty] < HF_COUNT and report["skipped_items"] >= 1
    else:
        assert got[faulty] == full[faulty]
    if fault.says:
        said = lines_with(md, fault.says)
        assert len(said) == 1, md[:2000]  # one calm line, in the notices
    # deep dives go on whatever the sources did
    assert [p["analysis_status"] for p in featured(sidecar)] == ["done"] * 3
    for wait in fault.sleeps:
        assert wait in world.clock.sleeps, world.clock.sleeps  # Retry-After honoured exactly
    made = world.requests_to(fault.path)
    figures.add(made + world.requests_to(other_path) + world.gemini.count(), fault.requests + 1 + 3)
    assert made == fault.requests
    assert world.requests_to(other_path) == 1
    assert world.gemini.count() == 3


def test_both_sources_empty_is_a_quiet_day(world: World, figures: Row) -> None:
    world.hf_replies([Reply(200, b"[]")])
    world.arxiv_replies([Reply(200, render_atom([], total=0, start=0))])
    result = world.run("run", "--date", DAY)
    assert result.exit_code == 0, result.output
    md, sidecar = assert_calm(world, result)
    assert [s["status"] for s in sidecar["sources"]] == ["empty", "empty"]
    assert sidecar["papers"] == []
    assert "列表为空" in md and "没有 cs.CV 的新论文" in md
    figures.add(len(world.server.requests) + world.gemini.count(), 2)
    assert world.gemini.count() == 0  # nothing to analyse, no quota spent


@pytest.mark.parametrize(
    "fault",
    [
        pytest.param({HF_PATH: [Reply(200, HTML_ERROR)]}, id="hf-html"),
        pytest.param({ARXIV_PATH: [half]}, id="arxiv-truncated"),
        pytest.param(
            {HF_PATH: [Reply(500, HTML_ERROR)] * 5, ARXIV_PATH: [Reply(200, HTML_ERROR)]}, id="both"
        ),
    ],
)
def test_an_earlier_good_digest_survives_a_faulty_rerun(
    world: World, figures: Row, fault: dict[str, list[Reply | Callable[[Reply], Reply]]]
) -> None:
    assert world.run("run", "--date", DAY).exit_code == 0
    before = {p.name: p.read_bytes() for p in world.out.glob(f"{DAY}.*")}
    requests_before = len(world.server.requests)
    for path, replies in fault.items():
        world.server.prelude(path, replies)
    result = world.run("run", "--date", DAY)
    assert result.exit_code in (0, 1), result.output
    assert "Traceback" not in console(result) and "BODY-MARKER" not in console(result)
    after = {p.name: p.read_bytes() for p in world.out.glob(f"{DAY}.*")}
    if "arxiv-truncated" in figures.nodeid:
        # the cut page is completed by paging: the rerun is as good, and may be rewritten
        assert json.loads(after[f"{DAY}.json"])["stats"]["candidates_by_source"] == {
            "huggingface": HF_COUNT,
            "arxiv": ARXIV_COUNT,
        }
    else:
        assert after == before
    # no deep dive is paid twice (without HuggingFace's upvotes the top three may differ: a new one is paid once)
    titles = [r.text.split("标题：")[1].split("\n")[0] for r in world.gemini.requests]
    assert len(titles) == len(set(titles)) and len(titles) <= 6
    made = len(world.server.requests) - requests_before
    expected = {"hf-html": 2, "arxiv-truncated": 3, "both": 6}[figures.nodeid.split("[")[-1].rstrip("]")]
    figures.add(made, expected)
    assert made == expected


# --- services misbehaving: Gemini ----------------------------------------------------------------------------


@dataclass
class GeminiFault:
    script: tuple[str, ...]
    statuses: list[str]  # featured papers' analysis_status, in rank order
    reasons: list[str | None]
    requests: int
    says: str = ""  # the calm line the digest carries for the first paper
    key: str = API_KEY


GEMINI_FAULTS = {
    "429-minute-retryinfo": GeminiFault(("429_minute",), ["done"] * 3, [None] * 3, 4),
    "429-day-short-retrydelay": GeminiFault(
        ("429_day",), ["pending"] * 3, ["quota_daily"] * 3, 1, "今日配额已用尽，将在下次运行时补全"
    ),
    "503-every-attempt": GeminiFault(
        ("503", "503", "503"), ["failed", "done", "done"], ["http_503", None, None], 5, "模型服务暂时不可用"
    ),
    "503-then-ok": GeminiFault(("503",), ["done"] * 3, [None] * 3, 4),
    "max-tokens-twice": GeminiFault(
        ("max_tokens", "max_tokens"),
        ["failed", "done", "done"],
        ["max_tokens", None, None],
        4,
        "超出长度上限",
    ),
    "max-tokens-repaired": GeminiFault(("max_tokens",), ["done"] * 3, [None] * 3, 4),
    "blocked-prompt": GeminiFault(
        ("blocked",), ["blocked", "done", "done"], ["blocked:SAFETY", None, None], 3, "模型拒绝分析该论文摘要"
    ),
    "empty-candidate": GeminiFault(
        ("empty",), ["blocked", "done", "done"], ["empty_candidate", None, None], 3, "模型未返回内容"
    ),
    "invalid-json-twice": GeminiFault(
        ("invalid_json", "invalid_json"),
        ["failed", "done", "done"],
        ["schema", None, None],
        4,
        "不符合约定格式",
    ),
    "connection-dropped": GeminiFault(("drop",), ["done"] * 3, [None] * 3, 4),
    "403-wrong-key": GeminiFault(
        (),
        ["failed", "pending", "pending"],
        ["http_403"] * 3,
        1,
        "API 密钥无效或无权限",
        key="wrong-key-0000",
    ),
}


@pytest.mark.parametrize("name", list(GEMINI_FAULTS))
def test_gemini_fault(world: World, figures: Row, monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    fault = GEMINI_FAULTS[name]
    monkeypatch.setenv("GEMINI_API_KEY", fault.key)
    world.gemini.script(*fault.script)
    result = world.run("run", "--date", DAY)
    assert result.exit_code == 0, result.output  # the digest is written, with what could be done
    md, sidecar = assert_calm(world, result)
    assert fault.key not in md + console(result) + everything_written(world)
    papers = featured(sidecar)
    assert [p["analysis_status"] for p in papers] == fault.statuses
    assert [p["analysis_reason"] for p in papers] == fault.reasons
    assert len(sidecar["papers"]) == 109  # the ranked list is all there whatever the LLM did
    if fault.says:
        assert fault.says in (papers[0]["analysis_message"] or "")
        said = lines_with(md, fault.says)
        assert said and all(len(line) < 200 for line in said), said
    for paper in papers:
        if paper["analysis_status"] != "done":  # the reader still gets the abstract
            assert paper["analysis"] is None
    made = world.gemini.count()
    assert sidecar["stats"]["llm"]["requests_by_model"].get(MODEL, 0) == made

    if name == "429-minute-retryinfo":
        # waited exactly what RetryInfo said ("Please retry in 58.217843437s"), once
        assert any(abs(s - 58.2) < 1 for s in world.clock.sleeps), world.clock.sleeps
        assert sidecar["stats"]["llm"]["rate_limited_minute"] == 1
    if name == "429-day-short-retrydelay":
        # the short retryDelay (34 s) is not a reason to try again today
        assert not any(s >= 30 for s in world.clock.sleeps), world.clock.sleeps
        assert sidecar["stats"]["llm"]["rate_limited_day"] == 1
    if name.startswith("max-tokens"):
        first, repair = world.gemini.requests[0], world.gemini.requests[1]
        assert first.max_output_tokens and repair.max_output_tokens == 2 * first.max_output_tokens

    # nothing lost, nothing wasted: once the fault has passed, a rerun makes only the missing requests
    missing = sum(1 for p in papers if p["analysis_status"] != "done")
    monkeypatch.setenv("GEMINI_API_KEY", API_KEY)
    if name.startswith("429-day"):
        same_day = world.run("run", "--date", DAY)
        assert same_day.exit_code == 0 and world.gemini.count() == made  # no request into a spent day
        world.next_quota_day()
    again = world.run("run", "--date", DAY)
    assert again.exit_code == 0, again.output
    _, sidecar = assert_calm(world, again)
    assert [p["analysis_status"] for p in featured(sidecar)] == ["done"] * 3
    figures.add(world.gemini.count(), fault.requests + missing)
    assert made == fault.requests, [r.behaviour for r in world.gemini.requests]
    assert world.gemini.count() - made == missing
