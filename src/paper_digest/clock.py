"""The one module that reads the real clock. Everything else is handed a :class:`Clock` (or one of its parts)
by the caller, so that tests can run a whole day in no real time and on a date of their choosing."""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass(frozen=True)
class Clock:
    """Time as a run sees it: a monotonic clock for intervals and deadlines, the sleeper for every wait, and
    the wall clock (UTC) for the default date and the Gemini quota day."""

    monotonic: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
    now: Callable[[], dt.datetime] = _utc_now


#: the real clock; only the CLI (``cli/``) hands it out, as the default of a run
SYSTEM_CLOCK = Clock()


def stoppable(sleep: Callable[[float], None], stop: threading.Event) -> Callable[[float], None]:
    """``sleep`` as a wait that ``stop`` cuts short: it returns at once once ``stop`` is set, before or
    during the wait (the caller then looks at ``stop``).

    The stop belongs to whoever makes the waits (the LLM client makes one per run), never to the module, so
    nothing leaks from one run, or one test, to the next. The real sleeper (``time.sleep``) becomes a wait on
    the event itself (``Event.wait``: the waiting thread wakes the moment the event is set, where a worker
    thread in ``time.sleep`` would sleep on through Ctrl-C); any other sleeper (a test's fake clock, which
    takes no real time) is called unless ``stop`` is set already."""
    if sleep is time.sleep:

        def wait(seconds: float) -> None:
            stop.wait(max(0.0, seconds))

        return wait

    def fake(seconds: float) -> None:
        if not stop.is_set():
            sleep(seconds)

    return fake
