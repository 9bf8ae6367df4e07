"""Benchmark: fetch a full cs.CV arXiv day (2026-06-16, the corpus' largest) from a local export-API server.

Two runs, same data and paging:

* real: ``delay_seconds`` = 0.2 s really slept between pages (wall time measured);
* simulated: the default ``delay_seconds`` = 3 s (arXiv's terms of use) with an injected clock, reporting the
  time a real run would spend waiting, without sleeping.

Run: ``python bench/bench_fetch.py`` (results are logged to stderr).
"""

from __future__ import annotations

import datetime as dt
import logging
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from clocks import FakeClock
from sources_helpers import FakeExportApi, ScriptedServer, cs_cv_day

from paper_digest.config import ArxivConfig
from paper_digest.sources import arxiv
from paper_digest.sources.arxiv import fetch_arxiv
from paper_digest.sources.calendar import announcement_for
from paper_digest.sources.http import HttpClient

logger = logging.getLogger("bench_fetch")
DAY = dt.date(2026, 6, 16)


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    logging.getLogger("paper_digest").setLevel(logging.WARNING)
    ann = announcement_for(DAY)
    assert ann is not None
    server = ScriptedServer().start()
    try:
        server.route(
            "/api/query", FakeExportApi(cs_cv_day(DAY.isoformat(), (ann.window_start, ann.window_end)))
        )
        for page_size in (100, 200):
            arxiv.PAGE_SIZE = page_size  # a constant of the product; the benchmark compares two values
            cfg = ArxivConfig(api_url=server.url + "/api/query", delay_seconds=0.2)
            client = HttpClient(user_agent="paper-digest/bench", timeout=30)
            started = time.perf_counter()
            result = fetch_arxiv(client, cfg, DAY, today=DAY + dt.timedelta(days=30))
            wall = time.perf_counter() - started
            logger.info(
                "real      page_size=%d delay=0.2s: %d papers, %d requests, %.2f s wall",
                page_size,
                result.report.count,
                client.requests_made,
                wall,
            )
            clock = FakeClock(0.0)
            sim_cfg = cfg.model_copy(update={"delay_seconds": 3.0})
            sim = HttpClient(user_agent="paper-digest/bench", timeout=30, clock=clock, sleep=clock.sleep)
            started = time.perf_counter()
            result = fetch_arxiv(sim, sim_cfg, DAY, today=DAY + dt.timedelta(days=30))
            wall = time.perf_counter() - started
            logger.info(
                "simulated page_size=%d delay=3.0s: %d papers, %d requests, %.1f s simulated wait + %.2f s",
                page_size,
                result.report.count,
                sim.requests_made,
                sum(clock.sleeps),
                wall,
            )
    finally:
        server.stop()


if __name__ == "__main__":
    main()
