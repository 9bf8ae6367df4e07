"""The tests' fake monotonic clock: time moves only when something sleeps on it (or a test advances it), so
a run that waits minutes takes no real time and every wait is recorded."""

from __future__ import annotations

import threading


class FakeClock:
    """A monotonic clock (call it) and a ``sleep`` that advances it at once. Thread-safe; records every sleep
    as asked (a negative wait is recorded but does not move the clock)."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start
        self.start = start
        self.sleeps: list[float] = []
        self._lock = threading.Lock()

    def __call__(self) -> float:
        with self._lock:
            return self.now

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.sleeps.append(seconds)
            if seconds > 0:
                self.now += seconds

    def advance(self, seconds: float) -> None:
        with self._lock:
            self.now += seconds

    @property
    def elapsed(self) -> float:
        return self.now - self.start
