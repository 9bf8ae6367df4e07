"""A whole local world for end-to-end tests and benchmarks: HuggingFace and arXiv served from the corpus on
127.0.0.1, the fake Gemini server, a config file pointing at them, and the CLI run on a fake clock (passed
as the command's ``obj``).

    with World(tmp_path) as world:
        result = world.run("run", "--date", "2026-06-12")
"""

from __future__ import annotations

import datetime as dt
import json
import pickle
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import feedparser
import pytest
from clocks import FakeClock
from fake_gemini import FakeGemini
from sources_helpers import FIXTURES, FakeExportApi, Reply, ScriptedServer, Seen, cs_cv_day, with_times
from typer.testing import CliRunner, Result

from paper_digest import cli
from paper_digest.clock import Clock
from paper_digest.sources.calendar import announcement_for

API_KEY = "test-key-SECRET-0123456789"
MODEL = "gemini-3.8-flash"
#: the corpus day the shared ``world`` fixture serves: a Friday, HF's list of the day (35 papers) and arXiv's
#: Thursday-evening announcement (80)
DAY = "2026-06-12"


#: feedparser.parse as installed (World swaps in :func:`reused_parse` while it runs)
_FEEDPARSER_PARSE = feedparser.parse
#: (payload, options) -> its parse, pickled (None: a damaged payload, parsed every time); the latest 32
_PARSES: dict[tuple[bytes, tuple[tuple[str, Any], ...]], bytes | None] = {}


def reused_parse(data: Any, *args: Any, **options: Any) -> feedparser.FeedParserDict:
    """``feedparser.parse`` for the world's runs: a payload parsed before is not parsed again.

    The runs of a test session fetch the same few export-API pages hundreds of times, and feedparser reads
    a corpus day's page (250 entries) in ~0.1-0.3 s of CPU: a third of a run. Its result is a function of
    the bytes and options alone, so each run gets its own copy (unpickled) of the first parse of those bytes;
    damaged payloads are parsed every time. The parsers' own tests and the benchmarks call feedparser itself.
    """
    key = (data, tuple(sorted(options.items())))
    try:
        if args or not isinstance(data, bytes):
            raise TypeError("not a payload")
        pickled = _PARSES[key]
    except TypeError:  # a URL or file, or options that are not hashable: not reused
        return _FEEDPARSER_PARSE(data, *args, **options)
    except KeyError:
        parsed: feedparser.FeedParserDict = _FEEDPARSER_PARSE(data, **options)
        while len(_PARSES) >= 32:
            _PARSES.pop(next(iter(_PARSES)))
        _PARSES[key] = None if parsed.get("bozo") else pickle.dumps(parsed)
        return parsed
    if pickled is None:
        return _FEEDPARSER_PARSE(data, **options)
    copy: feedparser.FeedParserDict = pickle.loads(pickled)
    return copy


def hf_day_body(day: str) -> bytes:
    path = FIXTURES / "hf" / f"{day}.json"
    return path.read_bytes() if path.exists() else b"[]"


class World:
    """Local servers + config for one test. ``hf_replies`` / ``arxiv_replies`` script faults."""

    def __init__(
        self,
        tmp_path: Path,
        *,
        monkeypatch: pytest.MonkeyPatch | None = None,
        api_key: str | None = API_KEY,
        per_window: int | None = 5,
        per_day: int | None = 20,
        extra_config: str = "",
        deep_dives: int = 3,
        profile_extra: str = "",
        rerank: bool = False,
        reuse_parses: bool = True,
    ) -> None:
        self.root = tmp_path
        self.clock = FakeClock()
        self.server = ScriptedServer()
        self.gemini = FakeGemini(
            clock=self.clock, api_key=API_KEY, per_window=per_window, window_seconds=60, per_day=per_day
        )
        self.api_key = api_key
        self.monkeypatch = monkeypatch or pytest.MonkeyPatch()
        self._own_monkeypatch = monkeypatch is None
        self.extra_config = extra_config
        #: lines added to the [profile] table (e.g. ``liked = [...]``)
        self.profile_extra = profile_extra
        #: the LLM re-rank is on by default whenever a key is present; the scenarios here count the deep
        #: dives' requests, so their config turns it off unless a test asks for the default
        self.rerank = rerank
        #: feedparser.parse is :func:`reused_parse` while the world runs (off for a benchmark of the runs)
        self.reuse_parses = reuse_parses
        #: what the export API answers to ``id_list=`` (records as in tests/fixtures/arxiv/DATE.jsonl)
        self.id_records: list[dict[str, Any]] = []
        self.deep_dives = deep_dives
        #: ``llm.concurrency`` when set (1: one analysis at a time, so a scripted answer meets a known paper)
        self.concurrency: int | None = None
        self.apis: dict[str, FakeExportApi] = {}
        self.out = tmp_path / "digests"
        #: the wall clock the CLI sees (the Gemini quota day is its Pacific date)
        self.now = dt.datetime(2026, 11, 23, 12, 0, tzinfo=dt.UTC)
        #: every wait of a run (a test may swap in one that raises, to kill the run mid-wait)
        self.sleep: Callable[[float], None] = self.clock.sleep
        self.config_path = tmp_path / "config.toml"

    # -- servers ------------------------------------------------------------------------------------------

    def _hf(self, seen: Seen) -> Reply:
        return Reply(200, hf_day_body(seen.query.get("date", "")), {"Content-Type": "application/json"})

    def _arxiv(self, seen: Seen) -> Reply:
        if seen.query.get("id_list"):
            start = dt.datetime(2026, 1, 5, tzinfo=dt.UTC)
            return FakeExportApi(with_times(self.id_records, start, start + dt.timedelta(days=1)))(seen)
        query = seen.query.get("search_query", "")
        for day, api in self.apis.items():
            ann = announcement_for(dt.date.fromisoformat(day))
            if ann is not None and ann.submitted_date_filter() in query:
                return api(seen)
        empty = FakeExportApi([])
        return empty(seen)

    def serve_day(self, day: str) -> None:
        """Serve a corpus day from the export API (for the announcement that digest date covers)."""
        ann = announcement_for(dt.date.fromisoformat(day))
        assert ann is not None, f"{day} has no arXiv announcement"
        self.apis[day] = FakeExportApi(cs_cv_day(day, (ann.window_start, ann.window_end)))

    def hf_replies(self, replies: Sequence[Reply]) -> None:
        self.server.script("/api/daily_papers", replies)

    def arxiv_replies(self, replies: Sequence[Reply]) -> None:
        self.server.script("/api/query", replies)

    def next_quota_day(self) -> None:
        """Midnight Pacific has passed: the real quota resets, and so does the fake server's."""
        self.now += dt.timedelta(days=1)
        self.clock.advance(86400.0)  # the monotonic clock moves on too: the per-minute windows are long gone
        self.gemini.new_day()

    def requests_to(self, path: str) -> int:
        return sum(1 for r in self.server.requests if r.path == path)

    # -- config -------------------------------------------------------------------------------------------

    def write_config(self, extra: str = "") -> Path:
        text = f"""
[digest]
title = "CV 论文日报"
output_dir = "digests"
deep_dives = {self.deep_dives}
min_score = 30

[profile]
description = "图像复原：超分辨率、去噪、去模糊；扩散模型、流匹配、掩码自回归生成、视觉自监督预训练"
exclude = ["jailbreak"]
{self.profile_extra}

[profile.keywords]
"image restoration|restoration" = 3.0
"super-resolution|super resolution" = 3.0
"denoising" = 2.5
"deblurring|deblur" = 3.0
"diffusion" = 1.5
"flow matching" = 2.0
"masked autoregressive" = 2.0
"self-supervised" = 2.0
"video generation" = 1.0
"image generation" = 1.0

[sources.huggingface]
endpoint = "{self.server.url}"
timeout_seconds = 2

[sources.arxiv]
categories = ["cs.CV"]
api_url = "{self.server.url}/api/query"
rss_url = "{self.server.url}/rss"
web_url = "{self.server.url}"
delay_seconds = 0
timeout_seconds = 2

[llm]
model = "{MODEL}"
timeout_seconds = 5
max_attempts = 3
{"" if self.concurrency is None else f"concurrency = {self.concurrency}"}

[scoring]
{"" if self.rerank else "llm_rerank = false"}

[cache]
dir = "cache"
{self.extra_config}
{extra}
"""
        self.config_path.write_text(text, encoding="utf-8")
        return self.config_path

    # -- lifecycle ----------------------------------------------------------------------------------------

    def __enter__(self) -> World:
        self.server.route("/api/daily_papers", self._hf)
        self.server.route("/api/query", self._arxiv)
        self.server.start()
        self.gemini.start()
        mp = self.monkeypatch
        if self.api_key:
            mp.setenv("GEMINI_API_KEY", self.api_key)
        mp.setenv("GOOGLE_GEMINI_BASE_URL", self.gemini.url)
        if self.reuse_parses:
            mp.setattr(feedparser, "parse", reused_parse)
        self.write_config()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.stop()
        self.gemini.stop()
        if self._own_monkeypatch:
            self.monkeypatch.undo()

    # -- running ------------------------------------------------------------------------------------------

    def run(self, *args: str) -> Result:
        argv = list(args)
        if "--config" not in argv and "-c" not in argv:
            argv += ["--config", str(self.config_path)]
        time = Clock(monotonic=self.clock, sleep=self.sleep, now=lambda: self.now)
        return CliRunner().invoke(cli.app, argv, obj=time)

    def sidecar(self, day: str) -> dict[str, Any]:
        data = json.loads((self.out / f"{day}.json").read_text(encoding="utf-8"))
        assert isinstance(data, dict)
        return data

    def markdown(self, day: str) -> str:
        return (self.out / f"{day}.md").read_text(encoding="utf-8")
