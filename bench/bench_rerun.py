"""Wall time of a rerun of a finished day (all from cache) and of a 5-day backfill, against local servers.

The servers are the test suite's: HF and arXiv served from the corpus on 127.0.0.1, the fake Gemini server,
the real google-genai client. The Gemini limiter runs on a simulated clock (the 5/min waits are counted, not
slept), so the wall time is paper-digest's own work: HTTP, parsing, scoring, cache, rendering, writing.

    python bench/bench_rerun.py
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

import pytest
from world import World

DAYS = ("2026-06-12", "2026-06-15", "2026-06-16")


def timed(world: World, *args: str) -> tuple[float, int]:
    start = time.perf_counter()
    result = world.run(*args)
    elapsed = time.perf_counter() - start
    assert result.exit_code == 0, result.output
    return elapsed, result.exit_code


def main() -> None:
    rows: list[tuple[str, float, int, int]] = []
    with tempfile.TemporaryDirectory() as tmp:
        mp = pytest.MonkeyPatch()
        with World(Path(tmp), monkeypatch=mp, deep_dives=5, per_day=None, reuse_parses=False) as world:
            for day in DAYS:
                world.serve_day(day)

            def phase(label: str, *args: str) -> None:
                requests, limited = world.gemini.count(), world.gemini.statuses[429]
                wall, _ = timed(world, *args)
                rows.append(
                    (label, wall, world.gemini.count() - requests, world.gemini.statuses[429] - limited)
                )

            phase("first run 2026-06-16 (705 listings, 5 deep dives)", "run", "--date", "2026-06-16")
            (world.out / "2026-06-16.json").unlink()  # force a full rerun (otherwise the day is "complete")
            phase("rerun of the finished day (all from cache)", "run", "--date", "2026-06-16")
            phase(
                "backfill 06-12..06-16 --force (5 days, 2 weekend)",
                *("backfill", "--from", "2026-06-12", "--to", "2026-06-16", "--force"),
            )
            phase(
                "backfill again: every day complete, skipped",
                "backfill",
                "--from",
                "2026-06-12",
                "--to",
                "2026-06-16",
            )
        mp.undo()
    print("paper-digest rerun and backfill benchmark (local servers, corpus days, real google-genai client)")
    print(f"{'scenario':<52}{'wall s':>8}{'LLM requests':>14}{'429s provoked':>15}")
    for label, wall, requests, limited in rows:
        print(f"{label:<52}{wall:>8.2f}{requests:>14}{limited:>15}")


if __name__ == "__main__":
    main()
