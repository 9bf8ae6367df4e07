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


class LockstepClock:
    """A fake monotonic clock for several threads that wait at once (a thread pool's workers).

    :class:`FakeClock` moves by every sleep as it comes, so the waits of concurrent threads add up instead of
    overlapping. Here a ``sleep`` waits (really, on a condition) until time reaches its end, and time moves
    only once all ``participants`` threads are asleep, to the earliest end among them. So concurrent waits
    overlap as on the real clock, and no time passes while any participant works: between taking a rate-limit
    slot and its request reaching a server that stamps it with this clock, the clock stands still, however
    the machine schedules the threads. A participant that never falls asleep while the others are (one that
    finished its work, or one blocked on a lock held by a sleeper) leaves them stuck: after ``timeout`` real
    seconds the sleep raises AssertionError instead of hanging the test.
    """

    def __init__(self, participants: int, start: float = 1000.0, timeout: float = 10.0) -> None:
        self.participants = participants
        self.now = start
        self.start = start
        self.sleeps: list[float] = []
        #: the most participants ever asleep at once
        self.most_asleep = 0
        self._timeout = timeout
        self._ends: list[float] = []  # the end of every sleep under way (one entry per sleeping thread)
        self._changed = threading.Condition()

    def __call__(self) -> float:
        with self._changed:
            return self.now

    def sleep(self, seconds: float) -> None:
        with self._changed:
            self.sleeps.append(seconds)
            if seconds <= 0:
                return
            end = self.now + seconds
            self._ends.append(end)
            try:
                asleep = [e for e in self._ends if e > self.now]
                self.most_asleep = max(self.most_asleep, len(asleep))
                if len(asleep) >= self.participants:  # everyone waits: on to the first end
                    self.now = min(asleep)
                    self._changed.notify_all()
                if not self._changed.wait_for(lambda: self.now >= end, timeout=self._timeout):
                    raise AssertionError(
                        f"{len(asleep)} of {self.participants} participants asleep for {self._timeout} s"
                    )
            finally:
                self._ends.remove(end)
