"""The one module that reads the real clock. Everything else is handed a :class:`Clock` (or one of its parts)
by the caller, so that tests can run a whole day in no real time and on a date of their choosing."""

from __future__ import annotations

import datetime as dt
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
