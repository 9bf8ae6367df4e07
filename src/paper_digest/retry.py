"""The project's one retry idiom: tenacity, on the injected sleep, with one backoff.

    body = retry_call(attempt, retry_on=_Attempt, wait=..., stop=..., sleep=clock.sleep, before_sleep=...)

``attempt`` is called until it returns; a ``retry_on`` exception is another try's business, anything else
propagates at once. What varies between callers is small and plain: how long to wait after a failure (the
server's Retry-After or RetryInfo, else :func:`backoff_seconds`), when to give up, and what to note before a
wait. Each sees a :class:`Try` (the failure, the attempts made, the seconds already waited); none of them
touches tenacity's state. When ``stop`` says so, the last failure is raised as it is.

The sources' HTTP client (``sources/http.py``) and the LLM client (``analysis/client.py``) both retry
through here, so both wait the same way: 2, 4, 8 ... s (at most 60 s), each stretched by up to 25 % of
jitter so that clients that failed together do not come back together.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

import tenacity

T = TypeVar("T")
E = TypeVar("E", bound=BaseException)

#: the first backoff wait; it doubles with every failed attempt
BACKOFF_INITIAL_SECONDS = 2.0
#: no backoff wait is longer than this (a server's own Retry-After may be)
BACKOFF_MAX_SECONDS = 60.0
#: each backoff wait is stretched by up to this fraction, at random
BACKOFF_JITTER = 0.25


def backoff_seconds(attempts: int, rng: random.Random | None = None) -> float:
    """The wait after ``attempts`` failed attempts: 2, 4, 8 ... s capped at 60 s, plus up to 25 % jitter."""
    base = min(BACKOFF_MAX_SECONDS, BACKOFF_INITIAL_SECONDS * 2.0 ** max(0, attempts - 1))
    return base * (1 + BACKOFF_JITTER * (rng or random).random())


@dataclass(frozen=True)
class Try(Generic[E]):
    """Where a retried call stands after a failed attempt."""

    failure: E
    #: attempts made so far, the failed one included
    attempts: int
    #: seconds already slept between attempts
    waited: float


def retry_call(
    attempt: Callable[[], T],
    *,
    retry_on: type[E],
    wait: Callable[[Try[E]], float],
    stop: Callable[[Try[E], float], bool],
    sleep: Callable[[float], None],
    before_sleep: Callable[[Try[E], float], None] | None = None,
) -> T:
    """``attempt()`` until it returns. After a ``retry_on`` failure: ``wait(try)`` seconds, unless
    ``stop(try, wait)`` gives up (then that failure is raised); ``before_sleep(try, wait)`` just before the
    wait, on the injected ``sleep``."""

    def current(state: tenacity.RetryCallState) -> Try[E]:
        failure = state.outcome.exception() if state.outcome is not None else None
        assert isinstance(failure, retry_on)  # tenacity retries only ``retry_on`` (see ``retry=`` below)
        return Try(failure, state.attempt_number, state.idle_for)

    def noted(state: tenacity.RetryCallState) -> None:
        if before_sleep is not None:
            before_sleep(current(state), state.upcoming_sleep)

    retrying = tenacity.Retrying(
        retry=tenacity.retry_if_exception_type(retry_on),
        wait=lambda state: wait(current(state)),
        stop=lambda state: stop(current(state), state.upcoming_sleep),
        sleep=sleep,
        before_sleep=noted,
        reraise=True,
    )
    result: T = retrying(attempt)
    return result
