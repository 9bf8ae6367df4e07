"""Constants shared by the tests that drive the real google-genai client against the fake Gemini server,
and a settable wall clock (the Pacific quota day comes from it). The fixtures live in conftest.py."""

from __future__ import annotations

import datetime as dt

KEY = "AIzaSy-test-secret-key-0123456789"
DAY1 = dt.datetime(2026, 6, 12, 15, 0, tzinfo=dt.UTC)


class WallClock:
    def __init__(self, now: dt.datetime) -> None:
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now
