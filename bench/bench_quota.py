"""How long do N deep dives take under a 5-per-window quota, and how many 429s do they provoke?

Runs the real google-genai client against the fake Gemini server of the tests (tests/fake_gemini.py), which
enforces the limits with the real 429 bodies, twice for each N: once through paper_digest's LLM client and
deep-dive stage, once through a naive sequential loop that retries every 429 after a fixed sleep (what most
tools in this field do).

Two clocks:

- ``--clock simulated`` (default): a fake clock shared by server and client, 60 s windows as on the free tier;
  nothing sleeps for real, so the figures are exact and the run takes a second or two. Concurrency 1 (fake
  sleeps from several threads would add up instead of overlapping).
- ``--clock real --window 1``: the real monotonic clock with the window scaled down to 1 s, concurrency 2;
  wall time includes real HTTP and thread scheduling.

"ideal" is ceil(N / per_window) windows, the issue's yardstick for the whole phase (N capped by the daily
quota). With instant answers the last window's requests finish at once, so the best possible ("floor") is
(ceil(N/5) - 1) windows; the limiter adds a small safety margin per window (1 s on 60 s, 50 ms on 1 s).

    python bench/bench_quota.py
    python bench/bench_quota.py --clock real --window 1 --sizes 5 12 20
"""

from __future__ import annotations

import argparse
import logging
import math
import os
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from clocks import FakeClock
from fake_gemini import FakeGemini
from google import genai
from google.genai import errors, types

from paper_digest.analysis import AnalysisCache, LLMClient, analyse_papers, profile_fingerprint
from paper_digest.analysis.prompt import build_system_instruction, build_user_prompt
from paper_digest.config import LLMConfig, ProfileConfig
from paper_digest.models import AnalysisStatus, DeepDive, Paper, ScoredPaper

KEY = "bench-key"
MODEL = "gemini-3.8-flash"
PER_WINDOW = 5
PER_DAY = 20
PROFILE = ProfileConfig(description="真实场景图像超分辨率", keywords={"super-resolution": 3.0})


@dataclass
class Row:
    who: str
    n: int
    elapsed: float
    requests: int
    rate_limited: int
    done: int


def papers(n: int) -> list[ScoredPaper]:
    return [
        ScoredPaper(
            paper=Paper(id=f"2606.{i:05d}", version=1, title=f"Paper {i}", abstract="Real-world SR."),
            score=90,
        )
        for i in range(n)
    ]


def run_analyzer(n: int, window: float, clock: Callable[[], float], sleep: Callable[[float], None]) -> Row:
    concurrency = 1 if isinstance(clock, FakeClock) else 2
    with FakeGemini(
        clock=clock, api_key=KEY, per_window=PER_WINDOW, window_seconds=window, per_day=PER_DAY
    ) as srv:
        os.environ["GOOGLE_GEMINI_BASE_URL"] = srv.url  # the SDK reads it
        cfg = LLMConfig(
            model=MODEL,
            requests_per_window=PER_WINDOW,
            window_seconds=window,
            requests_per_day=PER_DAY,
            concurrency=concurrency,
        )
        with tempfile.TemporaryDirectory() as folder:
            cache_dir = Path(folder)
            client = LLMClient(cfg, api_key=KEY, state_dir=cache_dir / "analysis", clock=clock, sleep=sleep)
            cache = AnalysisCache(cache_dir, profile_fingerprint(PROFILE))
            start = clock()
            results, _ = analyse_papers(client, cache, papers(n), system=build_system_instruction(PROFILE))
            elapsed = clock() - start
            client.close()
        done = sum(a.status is AnalysisStatus.DONE for a in results.values())
        return Row("LLMClient", n, elapsed, srv.count(), srv.rate_limited, done)


def run_naive(
    n: int, window: float, clock: Callable[[], float], sleep: Callable[[float], None], retry_sleep: float
) -> Row:
    """Sequential, and on any 429 sleep a fixed time and try again (at most 10 tries per paper)."""
    with FakeGemini(
        clock=clock, api_key=KEY, per_window=PER_WINDOW, window_seconds=window, per_day=PER_DAY
    ) as srv:
        client = genai.Client(api_key=KEY, http_options=types.HttpOptions(base_url=srv.url))
        config = types.GenerateContentConfig(
            system_instruction=build_system_instruction(PROFILE),
            response_mime_type="application/json",
            response_schema=DeepDive,
        )
        start = clock()
        done = 0
        for scored in papers(n):
            for _ in range(10):
                try:
                    client.models.generate_content(
                        model=MODEL, contents=build_user_prompt(scored.paper), config=config
                    )
                    done += 1
                    break
                except errors.APIError as exc:
                    if exc.code != 429:
                        break
                    sleep(retry_sleep)
        elapsed = clock() - start
        client.close()
        return Row("naive loop", n, elapsed, srv.count(), srv.rate_limited, done)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clock", choices=("simulated", "real"), default="simulated")
    parser.add_argument("--window", type=float, default=None, help="window seconds (60 simulated, 1 real)")
    parser.add_argument("--sizes", type=int, nargs="+", default=[5, 12, 20, 25])
    args = parser.parse_args()
    logging.disable(logging.WARNING)
    window = args.window or (60.0 if args.clock == "simulated" else 1.0)
    naive_sleep = window / 6  # "sleep 10 s and retry" on a 60 s window
    print(
        f"clock={args.clock}  limit={PER_WINDOW}/{window:g}s and {PER_DAY}/day  "
        f"naive loop sleeps {naive_sleep:g}s after a 429"
    )
    header = (
        f"{'N':>3}  {'who':<10} {'elapsed s':>10} {'ideal s':>8} {'/ideal':>7} {'floor s':>8} "
        f"{'requests':>8} {'429s':>5} {'done':>5}"
    )
    print(header)
    print("-" * len(header))
    for n in args.sizes:
        windows = math.ceil(min(n, PER_DAY) / PER_WINDOW)
        ideal = windows * window
        floor = (windows - 1) * window  # the best possible when answers are instant
        for who in ("analyzer", "naive"):
            if args.clock == "simulated":
                fake = FakeClock()
                clock: Callable[[], float] = fake
                sleep: Callable[[float], None] = fake.sleep
            else:
                clock, sleep = time.monotonic, time.sleep
            row = (
                run_analyzer(n, window, clock, sleep)
                if who == "analyzer"
                else run_naive(n, window, clock, sleep, naive_sleep)
            )
            print(
                f"{row.n:>3}  {row.who:<10} {row.elapsed:>10.2f} {ideal:>8.2f} {row.elapsed / ideal:>7.2f} "
                f"{floor:>8.2f} {row.requests:>8} {row.rate_limited:>5} {row.done:>5}"
            )


if __name__ == "__main__":
    main()
