"""Quota kinds and the client-side limiter.

Gemini answers both a per-minute and a per-day quota violation with 429 RESOURCE_EXHAUSTED; only the
``quotaId`` of the ``QuotaFailure`` detail tells them apart, and a per-day violation may carry a short
``retryDelay`` that retrying will not fix. :func:`classify_429` reads the error body; :class:`RateLimiter`
keeps a run inside the quota so that, with the limits configured right, no 429 happens at all.

The free tier resets daily quotas at midnight Pacific time, so the per-day request count is persisted in a
small JSON file named after the Pacific date: a second run the same day knows what is left.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
import threading
import zoneinfo
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from ..clock import stoppable
from ..errors import StoreError
from ..store import atomic_write_text, read_json

logger = logging.getLogger(__name__)

#: Gemini's daily quotas reset at midnight Pacific time (ai.google.dev/gemini-api/docs/rate-limits).
QUOTA_TIMEZONE = zoneinfo.ZoneInfo("America/Los_Angeles")

_RETRY_IN = re.compile(r"retry in ([0-9]+(?:\.[0-9]+)?)\s*(ms|s)\b", re.IGNORECASE)
_DURATION = re.compile(r"^\s*([0-9]+(?:\.[0-9]+)?)s\s*$")


class QuotaKind(StrEnum):
    MINUTE = "minute"  # a short window: wait and go on
    DAY = "day"  # the model is done for today, whatever retryDelay says
    ZERO = "zero"  # "limit: 0": the model is not on this key's tier at all, any day
    UNKNOWN = "unknown"  # a 429 without a QuotaFailure we understand: treated like a short window


_LIMIT_ZERO = re.compile(r"\blimit: 0(?![0-9.])")


@dataclass(frozen=True)
class QuotaInfo:
    kind: QuotaKind
    #: seconds the server asks us to wait, None when the body says nothing usable
    retry_delay: float | None


def _error_object(details: Any) -> Mapping[str, Any]:
    if isinstance(details, list) and len(details) == 1:
        details = details[0]
    if not isinstance(details, Mapping):
        return {}
    inner = details.get("error")
    return inner if isinstance(inner, Mapping) else details


def _parse_duration(value: Any) -> float | None:
    """A protobuf Duration in JSON form ("58s", "0.5s") or {"seconds": 3, "nanos": 0}."""
    if isinstance(value, str):
        match = _DURATION.match(value)
        return float(match.group(1)) if match else None
    if isinstance(value, Mapping):
        try:
            return float(value.get("seconds", 0)) + float(value.get("nanos", 0)) / 1e9
        except (TypeError, ValueError):
            return None
    return None


def classify_429(details: Any) -> QuotaInfo:
    """Read a 429 body (``APIError.details``): which quota was hit and how long to wait.

    Any violation whose ``quotaId`` names a per-day quota makes the whole error per-day (a real body lists the
    per-minute and the per-day violations together). The delay prefers the message's precise "Please retry in
    58.217843437s" over the rounded ``RetryInfo.retryDelay``.
    """
    error = _error_object(details)
    kind = QuotaKind.UNKNOWN
    retry_info: float | None = None
    entries = error.get("details")
    for entry in entries if isinstance(entries, list) else []:
        if not isinstance(entry, Mapping):
            continue
        type_url = str(entry.get("@type", ""))
        if type_url.endswith("google.rpc.QuotaFailure"):
            violations = entry.get("violations")
            for violation in violations if isinstance(violations, list) else []:
                quota_id = str(violation.get("quotaId", "")) if isinstance(violation, Mapping) else ""
                if "PerDay" in quota_id:
                    kind = QuotaKind.DAY
                elif "PerMinute" in quota_id and kind is QuotaKind.UNKNOWN:
                    kind = QuotaKind.MINUTE
        elif type_url.endswith("google.rpc.RetryInfo"):
            retry_info = _parse_duration(entry.get("retryDelay"))
    delay = retry_info
    message = error.get("message")
    if isinstance(message, str):
        match = _RETRY_IN.search(message)
        if match:
            value = float(match.group(1))
            delay = value / 1000 if match.group(2).lower() == "ms" else value
        # "Quota exceeded for metric: ..._requests, limit: 0, model: gemini-2.0-flash": a model the key's tier
        # does not include answers every request like this, every day (continuedev/continue #9693,
        # google-gemini/gemini-cli #22486); a spent day says its real limit ("limit: 20", OmniRoute #9504)
        if _LIMIT_ZERO.search(message):
            kind = QuotaKind.ZERO
    return QuotaInfo(kind=kind, retry_delay=delay)


def quota_day(now: dt.datetime) -> dt.date:
    """The Pacific-time date that a daily quota is counted against."""
    if now.tzinfo is None:
        now = now.replace(tzinfo=dt.UTC)
    return now.astimezone(QUOTA_TIMEZONE).date()


def next_reset(now: dt.datetime) -> dt.datetime:
    """The next midnight Pacific after ``now`` (aware, in Pacific time): when daily quotas reset."""
    day = quota_day(now) + dt.timedelta(days=1)
    return dt.datetime(day.year, day.month, day.day, tzinfo=QUOTA_TIMEZONE)


@dataclass(frozen=True)
class ModelQuota:
    """One model's free-tier limits: ``per_window`` requests in any ``window_seconds``, ``per_day`` a day,
    and at most ``tokens_per_window`` input tokens in any ``window_seconds`` (None: not limited here)."""

    per_window: int
    window_seconds: float
    per_day: int
    tokens_per_window: int | None = None


class SlotGivenUp(Exception):
    """Internal: the run stopped (Ctrl-C) while this request waited for its slot; it is not sent, and not
    counted against the day."""

    def __init__(self, model: str) -> None:
        super().__init__(model)
        self.model = model


class DailyQuotaSpent(Exception):
    """Internal: no request may be made to this model today (budget used up or a per-day 429 seen)."""

    def __init__(self, model: str) -> None:
        super().__init__(model)
        self.model = model


@dataclass
class _ModelState:
    #: start times (on the injected monotonic clock) of the requests in the current sliding window
    starts: deque[float]
    #: no request before this time (set after a per-minute 429, shared by every worker)
    blocked_until: float = 0.0
    #: (start, estimated input tokens) of the requests that carried tokens, for the tokens-per-minute quota
    tokens: deque[tuple[float, int]] = field(default_factory=deque)


class RateLimiter:
    """Per-model sliding-window limiter plus a persisted daily budget. Thread-safe.

    ``acquire(model)`` reserves the earliest slot that keeps at most ``per_window`` request starts within any
    ``window_seconds`` span, sleeps (with the injected sleep) until that slot, and counts the request against
    today's budget. The reservation is made under the lock but the sleep is not, so concurrent workers queue
    up for successive slots without holding each other up.

    ``stop`` (the run's, see :func:`paper_digest.clock.stoppable`) cuts every such wait short: once it is set,
    a waiting ``acquire`` gives its slot up (its request leaves the day's count) and raises
    :class:`SlotGivenUp`, and no new slot is handed out.
    """

    def __init__(
        self,
        *,
        quota_for: Callable[[str], ModelQuota],
        state_dir: Path,
        clock: Callable[[], float],
        sleep: Callable[[float], None],
        now: Callable[[], dt.datetime],
        on_wait: Callable[[str, float], None] | None = None,
        margin_seconds: float | None = None,
        stop: threading.Event | None = None,
    ) -> None:
        self._quota_for = quota_for
        self._fixed_margin = margin_seconds
        self._dir = state_dir
        self._clock = clock
        self._stop = stop or threading.Event()
        self._sleep = stoppable(sleep, self._stop)
        self._now = now
        self._on_wait = on_wait
        self._lock = threading.Lock()
        self._models: dict[str, _ModelState] = {}
        self._day: dt.date | None = None
        self._counts: dict[str, int] = {}
        self._exhausted: set[str] = set()
        #: wall-clock (epoch) start times of each model's latest requests, persisted so that the next run, or
        #: the next day of a backfill, starts with the window the server still sees
        self._recent: dict[str, list[float]] = {}

    # -- daily budget -------------------------------------------------------------------------------------

    def _path(self, day: dt.date) -> Path:
        return self._dir / f"quota-{day.isoformat()}.json"

    def _refresh_day(self) -> None:
        """Load the persisted counts when the Pacific date changes. Caller holds the lock."""
        today = quota_day(self._now())
        if today == self._day:
            return
        self._day = today
        self._counts = {}
        self._exhausted = set()
        self._recent = {}
        data = read_json(self._path(today))
        if isinstance(data, dict):
            counts = data.get("requests")
            if isinstance(counts, dict):
                self._counts = {str(k): int(v) for k, v in counts.items() if isinstance(v, int) and v >= 0}
            exhausted = data.get("exhausted")
            if isinstance(exhausted, list):
                self._exhausted = {str(m) for m in exhausted}
            recent = data.get("recent_starts")
            if isinstance(recent, dict):
                self._recent = {
                    str(model): [float(t) for t in times if isinstance(t, (int, float))]
                    for model, times in recent.items()
                    if isinstance(times, list)
                }

    def _save(self) -> None:
        """Persist today's counts. Caller holds the lock. A failed write is logged, never fatal."""
        if self._day is None:
            return
        payload = {
            "pacific_date": self._day.isoformat(),
            "requests": dict(sorted(self._counts.items())),
            "exhausted": sorted(self._exhausted),
            "recent_starts": {
                model: [round(t, 3) for t in times] for model, times in sorted(self._recent.items())
            },
        }
        try:
            atomic_write_text(self._path(self._day), json.dumps(payload, indent=1) + "\n")
        except StoreError as exc:
            logger.warning("cannot persist the daily quota count: %s", exc)

    def _margin(self, quota: ModelQuota) -> float:
        """Latency shifts arrival times (a new connection, thread scheduling): a small margin keeps the
        server's window from seeing N+1 requests. 1 s on a 60 s window; 50 ms on the scaled test windows."""
        if self._fixed_margin is not None:
            return self._fixed_margin
        return min(1.0, max(0.05, 0.02 * quota.window_seconds))

    def remaining_today(self, model: str) -> int:
        with self._lock:
            self._refresh_day()
            if model in self._exhausted:
                return 0
            return max(0, self._quota_for(model).per_day - self._counts.get(model, 0))

    def used_today(self, model: str) -> int:
        with self._lock:
            self._refresh_day()
            return self._counts.get(model, 0)

    def mark_exhausted(self, model: str) -> bool:
        """A per-day 429: no further request to this model until the Pacific date changes.
        Returns True the first time (so that concurrent workers report it once)."""
        with self._lock:
            self._refresh_day()
            if model in self._exhausted:
                return False
            self._exhausted.add(model)
            self._save()
            return True

    # -- window ---------------------------------------------------------------------------------------------

    def _state(self, model: str) -> _ModelState:
        """The window of ``model``, seeded on first use from the persisted starts. Caller holds the lock."""
        state = self._models.get(model)
        if state is None:
            quota = self._quota_for(model)
            horizon = quota.window_seconds + self._margin(quota)
            mono_now, wall_now = self._clock(), self._now().timestamp()
            starts = sorted(mono_now - (wall_now - t) for t in self._recent.get(model, []))
            state = _ModelState(starts=deque(s for s in starts if s > mono_now - horizon))
            self._models[model] = state
        return state

    def block(self, model: str, seconds: float) -> None:
        """After a per-minute 429: every worker waits ``seconds`` before its next request to ``model``."""
        with self._lock:
            state = self._state(model)
            state.blocked_until = max(state.blocked_until, self._clock() + seconds)

    def _token_slot(self, state: _ModelState, quota: ModelQuota, start: float, tokens: int) -> float:
        """The earliest time from ``start`` at which ``tokens`` more fit the model's tokens per window, and
        reserve them. Caller holds the lock. A request larger than the whole allowance waits for an empty
        window (and counts as the whole allowance)."""
        limit = quota.tokens_per_window
        if limit is None or tokens <= 0:
            return start
        need = min(tokens, limit)
        span = quota.window_seconds + self._margin(quota)
        while state.tokens and state.tokens[0][0] <= start - span:
            state.tokens.popleft()
        for index in range(len(state.tokens) + 1):
            in_window = sum(n for at, n in list(state.tokens)[index:] if at > start - span)
            if in_window + need <= limit:
                break
            start = max(start, state.tokens[index][0] + span)  # wait until this one leaves the window
        state.tokens.append((start, need))
        return start

    def acquire(self, model: str, cost: int = 1, tokens: int = 0) -> None:
        """Wait for a slot for one request to ``model`` and count it as ``cost`` requests (a batch whose
        items the server counts one by one costs its item count; ``cost`` is capped at ``per_window``).

        ``tokens`` (the request's estimated input tokens) also waits for room under the model's
        ``tokens_per_window``: the free tier counts input tokens per minute too (quota id
        GenerateContentInputTokensPerModelPerMinute-FreeTier, 250,000 for the Flash models:
        google-gemini/gemini-cli #13112; Pickle-Pixel/ApplyPilot #42 shows AI Studio's table).

        Raises DailyQuotaSpent when the day's budget has not ``cost`` requests left, SlotGivenUp when the
        run's ``stop`` is set before or during the wait.

        Every request counts, whatever it is answered with: Google's rate-limits page counts requests per
        project without exempting failed ones (ai.google.dev/gemini-api/docs/rate-limits), and users see
        their 503s and 429s in the AI Studio request count (discuss.ai.google.dev/t/144053, "503 retries are
        counted against the RPD/RPM quota"). So the local count is never below the server's."""
        quota = self._quota_for(model)
        per_window = quota.per_window
        cost = max(1, min(cost, per_window))
        with self._lock:
            if self._stop.is_set():
                raise SlotGivenUp(model)
            self._refresh_day()
            if model in self._exhausted or self._counts.get(model, 0) + cost > quota.per_day:
                raise DailyQuotaSpent(model)
            state = self._state(model)
            now = self._clock()
            start = max(now, state.blocked_until)
            keep = per_window - cost  # starts that may stay in the window alongside this request's
            if len(state.starts) > keep:
                # the slot frees when the (keep + 1)-th most recent start leaves the window
                oldest_in_window = state.starts[-(keep + 1)]
                start = max(start, oldest_in_window + quota.window_seconds + self._margin(quota))
            start = self._token_slot(state, quota, start, tokens)
            state.starts.extend([start] * cost)
            while len(state.starts) > per_window:
                state.starts.popleft()
            self._counts[model] = self._counts.get(model, 0) + cost
            wall_start = self._now().timestamp() + (start - now)
            self._recent[model] = [*self._recent.get(model, []), *[wall_start] * cost][-per_window:]
            self._save()
            day = self._day
        delay = start - now
        if delay > 0:
            logger.debug("limiter: waiting %.2fs for a %s slot", delay, model)
            if self._on_wait is not None:
                self._on_wait(model, delay)
            try:
                self._sleep(delay)
            except BaseException:  # Ctrl-C in the waiting thread itself (the main thread, one worker)
                self._give_back(model, cost, day)
                raise
            if self._stop.is_set():
                self._give_back(model, cost, day)
                raise SlotGivenUp(model)

    def _give_back(self, model: str, cost: int, day: dt.date | None) -> None:
        """A slot not used (the run stopped during its wait): its requests leave the day's count. Its start
        stays in the window, as if sent: the next requests then wait a little longer, never too little."""
        with self._lock:
            if day != self._day:  # the quota day turned during the wait: the old day's count is gone
                return
            self._counts[model] = max(0, self._counts.get(model, 0) - cost)
            self._save()
