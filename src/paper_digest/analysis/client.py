"""The one LLM client of a run: stages ask it a question and get an outcome value back.

    client = LLMClient(cfg, api_key=..., state_dir=cache_dir / "analysis", timezone="Asia/Shanghai")
    outcome = client.ask(Request(Purpose.DEEP_DIVE, system, prompt, DeepDive, read=read_deep_dive))
    match outcome:
        case Answer(value, model): ...
        case Pending(problem) | Failed(problem): ...   # messages.sentence(problem) for the reader

It owns, in one place: the provider (built once, on the first question; a construction failure is an outcome,
never a crash), the model order of each purpose and the fallback, one rate limiter for every model (each with
its own quota, shared by every stage and every backfill day of the process, persisted per Pacific day), the
retries (``paper_digest.retry``: tenacity, on the injected sleep; the SDK's own retries stay off), the
classification of every answer into a :class:`~.outcome.Problem` (:func:`~.provider.judge_reply`), and the
ledger. What each kind of answer leads to:

- per-minute 429: wait what RetryInfo says (the message's "Please retry in 58.2s" first), then go on;
- per-day 429: the model is done until midnight Pacific (persisted), the next model takes over, else pending
  with the reset time;
- ``limit: 0`` (not on the key's tier) and 404 (retired or unknown model): the model is not asked again in
  this run, the next model takes over, else pending with the reason;
- location not served, key refused, client setup failed: no further request at all in the run;
- 5xx, timeouts, dropped connections: exponential backoff with jitter, bounded by ``max_attempts`` and
  ``MAX_RETRY_SECONDS``; then the next model, else failed;
- a web page instead of the API's JSON: one more attempt, then failed;
- MAX_TOKENS, or text the stage cannot read: one repair with twice the output budget, then failed;
- safety, recitation, blocked prompt, empty candidate, an unknown finish reason without text: that status.

Thread-safe: the deep-dive stage asks from several workers at once.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import zoneinfo
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any, Generic, TypeVar

from ..clock import SYSTEM_CLOCK, stoppable
from ..config import LLMConfig
from ..models import LLMLedger
from ..retry import Try, backoff_seconds, retry_call
from .gemini import GeminiProvider
from .outcome import NEXT_MODEL, STOP_ALL, Answer, Kind, Outcome, Pending, Problem, outcome_of
from .progress import Progress, SilentProgress
from .provider import CallError, Provider, Question, Reply, Send, judge_reply
from .quota import DailyQuotaSpent, ModelQuota, RateLimiter, SlotGivenUp, next_reset

logger = logging.getLogger(__name__)

T = TypeVar("T")

#: the API caps max_output_tokens here; a repair attempt never asks for more
MAX_OUTPUT_TOKENS_CAP = 65536
#: a repair attempt gets this many times the configured output budget
REPAIR_TOKEN_FACTOR = 2
#: no request waits longer than this in total between its attempts (with ``llm.max_attempts``, the bound);
#: transient errors wait the project's backoff (``retry.backoff_seconds``: 2, 4, 8 ... s, at most 60 s)
MAX_RETRY_SECONDS = 300.0
#: attempts for a web page instead of the API's answer: one more, in case it was a passing portal page
WEB_PAGE_ATTEMPTS = 2
#: kinds of a failed request worth another attempt of the same request
_RETRIED = frozenset({Kind.QUOTA_MINUTE, Kind.UNAVAILABLE, Kind.WEB_PAGE})


class Purpose(StrEnum):
    """What a question is for: it decides the model order (``model`` or ``rerank_model`` and fallbacks)."""

    DEEP_DIVE = "deep_dive"
    RERANK = "rerank"


@dataclass(frozen=True)
class Request(Generic[T]):
    """One question. ``read`` turns the answer's text into the stage's value, or None when the text is not
    what ``schema`` asks for (then one repair is tried)."""

    purpose: Purpose
    system: str
    prompt: str
    schema: Any
    read: Callable[[str], T | None]
    #: what the request counts against the limiter (1, or the items of a batch counted one by one)
    cost: int = 1
    #: estimated input tokens (system + prompt), for the limiter's tokens per minute; 0: not counted
    tokens: int = 0


ProviderFactory = Callable[[LLMConfig, str], Provider]


class _Retry(Exception):
    """Internal to this module: one attempt's failure that another attempt may fix."""

    def __init__(self, error: CallError) -> None:
        super().__init__(error.kind.value)
        self.error = error


class LLMClient:
    """See the module doc. ``clock``/``sleep`` drive the limiter and every wait; ``now`` gives the wall time
    (the Pacific quota day, the reset time shown in ``timezone``). Every wait (a rate-limit slot, a retry's
    backoff) ends the moment :meth:`stop_asking` is called: the stop is this client's own."""

    def __init__(
        self,
        cfg: LLMConfig,
        *,
        api_key: str | None,
        state_dir: Path,
        timezone: str = "UTC",
        provider_factory: ProviderFactory = GeminiProvider,
        clock: Callable[[], float] = SYSTEM_CLOCK.monotonic,
        sleep: Callable[[float], None] = SYSTEM_CLOCK.sleep,
        now: Callable[[], dt.datetime] = SYSTEM_CLOCK.now,
        progress: Progress | None = None,
        offline: bool = False,
    ) -> None:
        self.cfg = cfg
        #: ``run --offline``: no request at all; cached answers still serve
        self._offline = offline
        self.progress: Progress = progress or SilentProgress()
        self._api_key = api_key
        self._factory = provider_factory
        #: set by :meth:`stop_asking` (Ctrl-C): it wakes every wait of this client at once
        self._stopping = threading.Event()
        self._sleep = stoppable(sleep, self._stopping)
        self._now = now
        self._zone = zoneinfo.ZoneInfo(timezone)
        self._limiter = RateLimiter(
            quota_for=self._quota,
            state_dir=state_dir,
            clock=clock,
            sleep=sleep,
            now=now,
            on_wait=lambda model, seconds: self.progress.waiting(seconds),
            stop=self._stopping,
        )
        self._lock = threading.Lock()
        self._ledger = LLMLedger()
        self._provider: Provider | None = None
        #: set once no further request may be made in this run (key refused, location, setup)
        self._stopped: Problem | None = None
        #: models not asked again in this run (not on the tier, not found), with why
        self._dropped: dict[str, Problem] = {}
        self._available: tuple[str, ...] | None = None

    # -- public --------------------------------------------------------------------------------------------

    @property
    def limiter(self) -> RateLimiter:
        return self._limiter

    def models(self, purpose: Purpose) -> list[str]:
        """The models a purpose asks, in order (its model, then its fallbacks)."""
        if purpose is Purpose.RERANK:
            order = [self.cfg.rerank_model, *self.cfg.rerank_fallback_models]
        else:
            order = [self.cfg.model, *self.cfg.fallback_models]
        return list(dict.fromkeys(order))

    def ledger(self) -> LLMLedger:
        """A copy of everything spent so far through this client."""
        with self._lock:
            return self._ledger.model_copy(deep=True)

    def now(self) -> dt.datetime:
        """The wall time on the injected clock (cache entries are stamped with it)."""
        return self._now()

    def count_cache_hits(self, hits: int) -> None:
        with self._lock:
            self._ledger.cache_hits += hits

    def unavailable(self) -> Problem | None:
        """Why no question can be asked at all (no key, LLM off, a stop earlier in the run), else None."""
        if not self.cfg.enabled:
            return Problem(Kind.LLM_DISABLED)
        if self._api_key is None:
            return Problem(Kind.NO_API_KEY)
        if self._offline:
            return Problem(Kind.OFFLINE)
        return self._stopped

    def ask(self, request: Request[T]) -> Outcome[T]:
        """Ask the purpose's models in order until one answers. Never raises for the service's trouble."""
        blocked = self.unavailable()
        if blocked is not None:
            return Pending(blocked)
        provider = self._get_provider()
        if provider is None:
            assert self._stopped is not None
            return Pending(self._stopped)
        problems: list[Problem] = []
        for model in self.models(request.purpose):
            dropped = self._dropped.get(model)
            if dropped is not None:
                problems.append(dropped)
                continue
            result = self._ask_model(provider, model, request)
            if isinstance(result, Answer):
                return result
            if result.kind in STOP_ALL:
                self._stop(result)
                return Pending(result)
            problems.append(result)
            if result.kind not in NEXT_MODEL:
                return outcome_of(result)
        return outcome_of(_worst(problems))

    def stop_asking(self) -> None:
        """Ctrl-C: no further request in this run, as with ``run --offline`` (cached answers still serve).
        Thread-safe. A question waiting for its request slot or a retry's backoff wakes at once and gives up
        without sending (its slot leaves the day's count); a request already sent runs to its answer or its
        timeout (``llm.timeout_seconds``), and an answer that arrives is cached."""
        self._offline = True
        self._stopping.set()

    def close(self) -> None:
        """The provider's connections closed, and its progress display ended (a stage stopped halfway, by
        Ctrl-C, leaves no bar running)."""
        self.progress.end()
        with self._lock:
            provider, self._provider = self._provider, None
        if provider is not None:
            try:
                provider.close()
            except Exception as exc:  # closing must never end a run
                logger.debug("closing the LLM provider failed (%s)", exc.__class__.__name__)

    # -- one model -------------------------------------------------------------------------------------------

    def _ask_model(self, provider: Provider, model: str, request: Request[T]) -> Answer[T] | Problem:
        """One model: a request, and one repair with a larger budget for a cut or unreadable answer."""
        budget = self.cfg.max_output_tokens
        problem = Problem(Kind.SCHEMA, model=model)
        for attempt in range(2):
            if attempt:
                budget = min(budget * REPAIR_TOKEN_FACTOR, MAX_OUTPUT_TOKENS_CAP)
                logger.info("%s: repair attempt (%s)", model, problem.kind.value)
                with self._lock:
                    self._ledger.retries += 1
            question = Question(model, request.system, request.prompt, request.schema, budget)
            try:
                reply = self._call(provider, question, request.cost, request.tokens)
            except CallError as exc:
                return self._problem(model, exc)
            with self._lock:
                self._ledger.tokens_in += reply.tokens_in
                self._ledger.tokens_out += reply.tokens_out
            judged = judge_reply(reply, model)
            if judged is None:
                value = request.read(reply.text)
                if value is not None:
                    return Answer(value, model)
                judged = Problem(Kind.SCHEMA, model=model)
            problem = judged
            if problem.kind not in (Kind.MAX_TOKENS, Kind.SCHEMA):
                return problem
        return problem

    def _problem(self, model: str, exc: CallError) -> Problem:
        """A request that failed for good, as a Problem; drops or stops what it has to."""
        kind = exc.kind
        if kind is Kind.QUOTA_DAY:
            return Problem(kind, model=model, retry_at=self._reset_time())
        if kind is Kind.NOT_ON_TIER:
            problem = Problem(kind, model=model)
            self._drop(model, problem)
            return problem
        if kind is Kind.MODEL_NOT_FOUND:
            problem = Problem(kind, model=model, available=self._available_models())
            self._drop(model, problem)
            return problem
        if kind in (Kind.KEY_REFUSED, Kind.LOCATION, Kind.SETUP):
            return self._stopped or Problem(kind, detail=exc.detail)
        return Problem(kind, model=model, detail=exc.detail)

    def _call(self, provider: Provider, question: Question, cost: int, tokens: int = 0) -> Reply:
        """One logical request, retried on per-minute 429s, transient errors and web pages."""

        def wait(step: Try[_Retry]) -> float:
            failed = step.failure.error
            if failed.kind is Kind.QUOTA_MINUTE:
                window = self._quota(question.model).window_seconds
                return failed.delay if failed.delay is not None else window
            return backoff_seconds(step.attempts)

        def stop(step: Try[_Retry], upcoming: float) -> bool:
            if step.failure.error.kind is Kind.WEB_PAGE:
                return step.attempts >= WEB_PAGE_ATTEMPTS
            if step.attempts >= self.cfg.max_attempts:
                return True
            return step.waited + upcoming > MAX_RETRY_SECONDS

        def before_sleep(step: Try[_Retry], upcoming: float) -> None:
            with self._lock:
                self._ledger.retries += 1
            if upcoming >= 1:
                self.progress.waiting(upcoming)

        send = provider.prepare(question)  # built before a slot is taken: the slot's time goes to the request
        try:
            return retry_call(
                lambda: self._attempt(send, question, cost, tokens),
                retry_on=_Retry,
                wait=wait,
                stop=stop,
                sleep=self._sleep,
                before_sleep=before_sleep,
            )
        except _Retry as exc:
            raise exc.error from None

    def _attempt(self, send: Send, question: Question, cost: int, tokens: int = 0) -> Reply:
        model = question.model
        if self._stopped is not None:
            raise CallError(self._stopped.kind)
        if self._offline:  # stopped (Ctrl-C) during a retry's backoff
            raise CallError(Kind.OFFLINE)
        try:
            # waits for a slot (requests and tokens per window); raises when the day's budget is spent
            self._limiter.acquire(model, cost, tokens)
        except DailyQuotaSpent:
            raise CallError(Kind.QUOTA_DAY) from None
        except SlotGivenUp:  # stopped (Ctrl-C) while this question waited for its slot
            raise CallError(Kind.OFFLINE) from None
        if self._stopped is not None:
            raise CallError(self._stopped.kind)
        if self._offline:  # stopped between the slot and the send
            raise CallError(Kind.OFFLINE)
        with self._lock:
            self._ledger.requests_by_model[model] = self._ledger.requests_by_model.get(model, 0) + 1
        try:
            return send()
        except CallError as exc:
            failure = exc
        self._note(model, failure)
        if failure.kind in _RETRIED:
            raise _Retry(failure)
        raise failure

    def _note(self, model: str, failure: CallError) -> None:
        """Ledger, limiter and log for one failed request. Logs kinds and status codes, nothing else."""
        kind = failure.kind
        if kind is Kind.QUOTA_DAY:
            with self._lock:
                self._ledger.rate_limited_day += 1
            if self._limiter.mark_exhausted(model):
                logger.warning("%s: daily quota spent (429 per-day); no further requests to it today", model)
        elif kind is Kind.QUOTA_MINUTE:
            delay = failure.delay if failure.delay is not None else self._quota(model).window_seconds
            with self._lock:
                self._ledger.rate_limited_minute += 1
            self._limiter.block(model, delay)
            logger.info("%s: 429 per-minute quota, waiting %.1fs", model, delay)
        elif kind is Kind.UNAVAILABLE:
            with self._lock:
                self._ledger.server_errors += 1
            logger.info("%s: %s, will retry if attempts remain", model, failure.detail or "unavailable")
        elif kind in STOP_ALL:
            self._stop(Problem(kind, detail=failure.detail))
        else:
            logger.warning("%s: %s (HTTP %s)", model, kind.value, failure.status or "-")

    # -- run-wide state --------------------------------------------------------------------------------------

    def _quota(self, model: str) -> ModelQuota:
        cfg = self.cfg.quota_for(model)
        return ModelQuota(
            cfg.requests_per_window, cfg.window_seconds, cfg.requests_per_day, cfg.tokens_per_window
        )

    def _reset_time(self) -> dt.datetime:
        return next_reset(self._now()).astimezone(self._zone)

    def _stop(self, problem: Problem) -> None:
        with self._lock:
            if self._stopped is not None:
                return
            self._stopped = problem
        logger.warning("Gemini: %s; no further requests in this run", problem.kind.value)

    def _drop(self, model: str, problem: Problem) -> None:
        with self._lock:
            first = model not in self._dropped
            self._dropped[model] = problem
        if first:
            logger.warning("%s: %s; not asked again in this run", model, problem.kind.value)

    def _available_models(self) -> tuple[str, ...]:
        """The key's generate models (models.list), asked once per run and only when a model was not found."""
        with self._lock:
            if self._available is not None:
                return self._available
            provider = self._provider
        names = tuple(provider.list_models()) if provider is not None else ()
        with self._lock:
            self._available = names
        return names

    def _get_provider(self) -> Provider | None:
        with self._lock:
            if self._provider is not None or self._stopped is not None:
                return self._provider
            try:
                self._provider = self._factory(self.cfg, self._api_key or "")
            except Exception as exc:  # e.g. ImportError: a SOCKS proxy without SOCKS support installed
                logger.warning("cannot build the Gemini client (%s)", exc.__class__.__name__)
                self._stopped = Problem(Kind.SETUP, detail=exc.__class__.__name__)
            return self._provider


def _worst(problems: Sequence[Problem]) -> Problem:
    """The problem a question ends with when every model failed: a spent day (it will pass) first, else the
    first model's."""
    for problem in problems:
        if problem.kind is Kind.QUOTA_DAY:
            return problem
    return problems[0] if problems else Problem(Kind.EMPTY)
