"""Gemini deep dives: one request per paper, spent well.

Exactly one layer retries: the SDK's own retries stay off (no ``HttpRetryOptions``) and :class:`Analyzer`
retries with tenacity, on the injected sleep, bounded by ``max_attempts`` and ``max_retry_seconds``:

- 429 per-minute: wait what the server says (the message's "Please retry in 58.2s" first), then go on;
- 429 per-day: that model is done for today (no further request), the next model in ``fallback_models`` takes
  over, and when none is left the paper stays ``pending`` for the next run;
- 500/502/503/504, timeouts, connection errors: exponential backoff with jitter;
- 400/404 and the rest: not retried. 401/403 (or a 400 saying the key is invalid): no further request at all.

Every paper gets an :class:`Analysis`; nothing raises for one paper's trouble. Messages are calm Chinese
sentences and reasons are short codes: no error body, traceback or key ever leaves this module, and logs carry
only status codes and quota kinds.
"""

from __future__ import annotations

import datetime as dt
import importlib
import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import tenacity
from google import genai
from google.genai import errors as genai_errors
from google.genai import types

from ..config import LLMConfig, ProfileConfig
from ..models import Analysis, AnalysisStatus, DeepDive, LLMLedger, Paper, ScoredPaper
from .cache import AnalysisCache
from .prompt import RESPONSE_SCHEMA, build_system_instruction, build_user_prompt, profile_fingerprint
from .quota import DailyQuotaSpent, QuotaKind, RateLimiter, classify_429

logger = logging.getLogger(__name__)

#: the API caps max_output_tokens here; a repair attempt never asks for more
MAX_OUTPUT_TOKENS_CAP = 65536
#: a repair attempt gets this many times the configured output budget
REPAIR_TOKEN_FACTOR = 2
#: server errors worth retrying (transient on Gemini's side)
RETRYABLE_STATUS = frozenset({500, 502, 503, 504})
#: backoff for transient errors: 2 s, 4 s, 8 s ... capped at 60 s, plus up to 1 s of jitter
BACKOFF_INITIAL_SECONDS = 2.0
BACKOFF_MAX_SECONDS = 60.0
BACKOFF_JITTER_SECONDS = 1.0
#: finish reasons meaning the model refused (the candidate carries no usable answer)
_REFUSALS = frozenset(
    {
        types.FinishReason.SAFETY,
        types.FinishReason.RECITATION,
        types.FinishReason.BLOCKLIST,
        types.FinishReason.PROHIBITED_CONTENT,
        types.FinishReason.SPII,
        types.FinishReason.LANGUAGE,
    }
)

MESSAGES: Mapping[str, str] = {
    "quota_daily": "今日配额已用尽，将在下次运行时补全",
    "quota_minute": "请求频率超出限制，将在下次运行时补全",
    "no_api_key": "未配置 API 密钥，深度解读将在配置后补全",
    "auth": "API 密钥无效或无权限，深度解读未完成",
    "auth_pending": "API 密钥无效或无权限，深度解读将在修正后补全",
    "llm_disabled": "未启用深度解读，启用后将补全",
    "max_tokens": "模型输出超出长度上限，深度解读未完成",
    "schema": "模型输出不符合约定格式，深度解读未完成",
    "blocked": "模型拒绝分析该论文摘要",
    "empty_candidate": "模型未返回内容，深度解读未完成",
    "unavailable": "模型服务暂时不可用，深度解读未完成",
    "not_found": "所配置的模型不可用，深度解读未完成",
    "rejected": "请求被模型服务拒绝，深度解读未完成",
}


def _transport_errors() -> tuple[type[BaseException], ...]:
    """Timeouts and connection errors of whichever HTTP library the SDK uses (httpx2 or httpx)."""
    found: list[type[BaseException]] = [TimeoutError, ConnectionError]
    for name in ("httpx2", "httpx"):
        try:
            module = importlib.import_module(name)
        except ImportError:
            continue
        found.append(module.TransportError)
    return tuple(found)


_TRANSPORT_ERRORS = _transport_errors()


# -- internal signals (never leave this module) -----------------------------------------------------------


class _Transient(Exception):
    """A 5xx, a timeout or a dropped connection: worth another attempt."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class _RateLimited(Exception):
    """A per-minute (or unidentified) 429: wait ``delay`` seconds, then try again."""

    def __init__(self, delay: float) -> None:
        super().__init__(f"retry in {delay:.1f}s")
        self.delay = delay


class _AuthRejected(Exception):
    def __init__(self, status: int) -> None:
        super().__init__(f"http_{status}")
        self.status = status


class _Rejected(Exception):
    """A client error that another attempt will not fix (400, 404, ...)."""

    def __init__(self, status: int) -> None:
        super().__init__(f"http_{status}")
        self.status = status


class _Stopped(Exception):
    """The key was rejected earlier in this run: no further request."""


@dataclass(frozen=True)
class _Verdict:
    """What one response amounts to: a deep dive, or a status with a reason (and whether to try a repair)."""

    deep_dive: DeepDive | None = None
    status: AnalysisStatus = AnalysisStatus.FAILED
    reason: str = ""
    repairable: bool = False


def _is_auth_error(exc: genai_errors.APIError) -> bool:
    if exc.code in (401, 403):
        return True
    if exc.code == 400:
        # the real API answers an unknown key with 400 INVALID_ARGUMENT, reason API_KEY_INVALID
        return "API_KEY_INVALID" in repr(exc.details)
    return False


def _thinking_config(model: str) -> types.ThinkingConfig | None:
    """Thinking tokens count against max_output_tokens. 2.5 Flash models can switch thinking off, which
    leaves the whole budget to the answer; other models keep their default."""
    if model.startswith("gemini-2.5-flash"):
        return types.ThinkingConfig(thinking_budget=0)
    return None


def _message(reason: str) -> str:
    if reason.startswith("blocked:"):
        return MESSAGES["blocked"]
    if reason in MESSAGES:
        return MESSAGES[reason]
    if reason in ("http_401", "http_403"):
        return MESSAGES["auth"]
    if reason == "http_404":
        return MESSAGES["not_found"]
    if reason in ("timeout", "connection") or reason.startswith("http_5"):
        return MESSAGES["unavailable"]
    return MESSAGES["rejected"]


def _analysis(status: AnalysisStatus, reason: str, *, message: str | None = None) -> Analysis:
    return Analysis(status=status, reason=reason, message=message or _message(reason))


def http_options(cfg: LLMConfig) -> types.HttpOptions:
    """The SDK's HTTP options for a config: base URL, API version, timeout; the SDK's own retries off."""
    return types.HttpOptions(
        base_url=cfg.base_url or None,  # None: the SDK honours GOOGLE_GEMINI_BASE_URL
        api_version=cfg.api_version,
        timeout=round(cfg.timeout_seconds * 1000),  # milliseconds
        retry_options=None,  # SDK retries off: this module is the one layer that retries
    )


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


R = TypeVar("R")


class GeminiRequests:
    """The one retry layer every Gemini stage shares: the limiter (per-model window and daily budget), 429
    classification, tenacity retries on the injected sleep, the ledger, and the stop after a rejected key.

    :meth:`call` makes one logical request, ``request()`` being the SDK call (generate or embed). It raises
    the internal signals (:class:`DailyQuotaSpent`, ``_RateLimited``, ``_Transient``, ``_Rejected``,
    ``_AuthRejected``, ``_Stopped``) for the stage to route; an SDK that cannot read the answer raises what it
    raises (``ValueError`` for a body that is not the expected JSON)."""

    def __init__(
        self,
        cfg: LLMConfig,
        *,
        limiter: RateLimiter,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        now: Callable[[], dt.datetime] = _utcnow,
    ) -> None:
        self._cfg = cfg
        self._clock = clock
        self._sleep = sleep
        self._now = now
        self._limiter = limiter
        self._lock = threading.Lock()
        self._ledger = LLMLedger()
        self._stop = threading.Event()
        self._stop_reason = ""

    @property
    def limiter(self) -> RateLimiter:
        return self._limiter

    @property
    def ledger(self) -> LLMLedger:
        """A copy of what was spent since the last :meth:`reset`."""
        with self._lock:
            return self._ledger.model_copy(deep=True)

    def reset(self) -> None:
        """A fresh ledger, and requests allowed again (a stage calls this at the start of each run)."""
        with self._lock:
            self._ledger = LLMLedger()
        self._stop.clear()

    def reject_key(self, status: int) -> None:
        """The key was refused (401/403): no further request until the next :meth:`reset`."""
        self._stop_all(status)

    def _stop_all(self, status: int) -> None:
        with self._lock:
            if self._stop.is_set():
                return
            self._stop_reason = f"http_{status}"
            self._stop.set()
        logger.warning(
            "Gemini rejected the API key (HTTP %s): no further requests to it in this run; "
            "check GEMINI_API_KEY",
            status,
        )

    def call(self, model: str, request: Callable[[], R], *, cost: int = 1) -> R:
        """One logical request, retried on per-minute 429s and transient errors. ``cost`` is what the request
        counts against the limiter (1, or the number of items of a batch the quota counts one by one)."""
        backoff = tenacity.wait_exponential_jitter(
            initial=BACKOFF_INITIAL_SECONDS, max=BACKOFF_MAX_SECONDS, jitter=BACKOFF_JITTER_SECONDS
        )

        def wait(state: tenacity.RetryCallState) -> float:
            exc = state.outcome.exception() if state.outcome else None
            if isinstance(exc, _RateLimited):
                return exc.delay
            return float(backoff(state))

        def stop(state: tenacity.RetryCallState) -> bool:
            if state.attempt_number >= self._cfg.max_attempts:
                return True
            return state.idle_for + state.upcoming_sleep > self._cfg.max_retry_seconds

        def before_sleep(state: tenacity.RetryCallState) -> None:
            with self._lock:
                self._ledger.retries += 1

        retrying = tenacity.Retrying(
            retry=tenacity.retry_if_exception_type((_Transient, _RateLimited)),
            wait=wait,
            stop=stop,
            sleep=self._sleep,
            before_sleep=before_sleep,
            reraise=True,
        )
        result: R = retrying(self._attempt, model, request, cost)
        return result

    def _attempt(self, model: str, request: Callable[[], R], cost: int) -> R:
        if self._stop.is_set():
            raise _Stopped
        self._limiter.acquire(model, cost)  # waits for a slot; raises DailyQuotaSpent when the day is spent
        if self._stop.is_set():
            raise _Stopped
        with self._lock:
            self._ledger.requests_by_model[model] = self._ledger.requests_by_model.get(model, 0) + 1
        # Translation and logging happen outside the except blocks: a log handler that fails while an SDK
        # error is being handled would print that error, body and all, as the failure's context.
        failure: genai_errors.APIError | None = None
        transport: str | None = None
        try:
            return request()
        except genai_errors.APIError as exc:
            failure = exc
        except _TRANSPORT_ERRORS as exc:
            transport = "timeout" if "Timeout" in type(exc).__name__ else "connection"
        if failure is not None:
            raise self._translate(model, failure)
        with self._lock:
            self._ledger.server_errors += 1
        logger.info("%s: %s, will retry if attempts remain", model, transport)
        raise _Transient(transport or "connection")

    def _translate(self, model: str, exc: genai_errors.APIError) -> Exception:
        """Turn an SDK error into an internal signal. Logs the status code and quota kind, nothing else."""
        code = int(exc.code or 0)
        if code == 429:
            info = classify_429(exc.details)
            if info.kind is QuotaKind.DAY:
                with self._lock:
                    self._ledger.rate_limited_day += 1
                if self._limiter.mark_exhausted(model):
                    logger.warning(
                        "%s: daily quota spent (429 per-day); no further requests to it today", model
                    )
                return DailyQuotaSpent(model)
            delay = info.retry_delay if info.retry_delay is not None else self._cfg.window_seconds
            with self._lock:
                self._ledger.rate_limited_minute += 1
            self._limiter.block(model, delay)
            logger.info("%s: 429 %s quota, waiting %.1fs", model, info.kind.value, delay)
            return _RateLimited(delay)
        if code in RETRYABLE_STATUS:
            with self._lock:
                self._ledger.server_errors += 1
            logger.info("%s: HTTP %s, will retry if attempts remain", model, code)
            return _Transient(f"http_{code}")
        if _is_auth_error(exc):
            return _AuthRejected(code)
        logger.warning("%s: HTTP %s, not retried", model, code)
        return _Rejected(code)

    def add_tokens(self, tokens_in: int, tokens_out: int = 0) -> None:
        with self._lock:
            self._ledger.tokens_in += tokens_in
            self._ledger.tokens_out += tokens_out


class Analyzer(GeminiRequests):
    """Deep dives for the selected papers, within the quota, from the cache when possible.

    ``clock`` and ``sleep`` drive the limiter and every retry wait (tests inject fakes); ``now`` gives the
    wall time that decides the Pacific quota day and stamps cache entries. ``limiter`` shares another stage's
    limiter (same window, same daily count); by default the Analyzer makes its own.
    """

    def __init__(
        self,
        cfg: LLMConfig,
        *,
        api_key: str | None,
        cache_dir: Path,
        profile: ProfileConfig,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        now: Callable[[], dt.datetime] = _utcnow,
        limiter: RateLimiter | None = None,
    ) -> None:
        # a limiter passed in is shared (e.g. with the re-rank stage): one window, one daily count per model
        super().__init__(
            cfg,
            limiter=limiter
            or RateLimiter(
                per_window=cfg.requests_per_window,
                window_seconds=cfg.window_seconds,
                per_day=cfg.requests_per_day,
                state_dir=cache_dir / "analysis",
                clock=clock,
                sleep=sleep,
                now=now,
            ),
            clock=clock,
            sleep=sleep,
            now=now,
        )
        self._api_key = api_key
        self._models = list(dict.fromkeys([cfg.model, *cfg.fallback_models]))
        self._system = build_system_instruction(profile)
        self._cache = AnalysisCache(cache_dir, profile_fingerprint(profile))

    # -- public --------------------------------------------------------------------------------------------

    def analyse(self, papers: Sequence[ScoredPaper]) -> tuple[dict[str, Analysis], LLMLedger]:
        """One Analysis per paper (keyed by Paper.id) and what it cost.

        Never raises for one paper's trouble."""
        self.reset()
        results: dict[str, Analysis] = {}
        todo: list[Paper] = []
        for scored in papers:
            paper = scored.paper
            if paper.id in results or any(p.id == paper.id for p in todo):
                continue
            hit = self._cached(paper)
            if hit is not None:
                results[paper.id] = hit
            else:
                todo.append(paper)
        if todo and not self._cfg.enabled:
            for paper in todo:
                results[paper.id] = _analysis(AnalysisStatus.PENDING, "llm_disabled")
        elif todo and self._api_key is None:
            for paper in todo:
                results[paper.id] = _analysis(AnalysisStatus.PENDING, "no_api_key")
        elif todo:
            results.update(self._analyse_online(todo, self._api_key or ""))
        ordered = {sp.paper.id: results[sp.paper.id] for sp in papers}
        return ordered, self.ledger

    # -- cache ---------------------------------------------------------------------------------------------

    def _cached(self, paper: Paper) -> Analysis | None:
        for model in self._models:
            deep_dive = self._cache.get(paper, model)
            if deep_dive is not None:
                with self._lock:
                    self._ledger.cache_hits += 1
                return Analysis(status=AnalysisStatus.DONE, deep_dive=deep_dive, model=model, cached=True)
        return None

    # -- online --------------------------------------------------------------------------------------------

    def _analyse_online(self, papers: list[Paper], api_key: str) -> dict[str, Analysis]:
        options = http_options(self._cfg)
        results: dict[str, Analysis] = {}
        with genai.Client(api_key=api_key, http_options=options) as client:
            workers = max(1, min(self._cfg.concurrency, len(papers)))
            if workers == 1:
                for paper in papers:
                    results[paper.id] = self._analyse_paper(client, paper)
            else:
                with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="gemini") as pool:
                    futures = {paper.id: pool.submit(self._analyse_paper, client, paper) for paper in papers}
                    for paper_id, future in futures.items():
                        results[paper_id] = future.result()
        return results

    def _analyse_paper(self, client: genai.Client, paper: Paper) -> Analysis:
        """Try the models in order until one gives an answer; the outcome is always an Analysis."""
        failure: Analysis | None = None
        for model in self._models:
            if self._stop.is_set():
                return _analysis(AnalysisStatus.PENDING, self._stop_reason, message=MESSAGES["auth_pending"])
            try:
                return self._analyse_with(client, model, paper)
            except DailyQuotaSpent:
                continue
            except _Stopped:
                return _analysis(AnalysisStatus.PENDING, self._stop_reason, message=MESSAGES["auth_pending"])
            except _AuthRejected as exc:
                self._stop_all(exc.status)
                return _analysis(AnalysisStatus.FAILED, f"http_{exc.status}")
            except _RateLimited:
                failure = failure or _analysis(AnalysisStatus.PENDING, "quota_minute")
            except _Transient as exc:
                failure = _analysis(AnalysisStatus.FAILED, exc.reason)
            except _Rejected as exc:
                if exc.status == 404:  # this model does not exist (for this key): the next one may
                    failure = _analysis(AnalysisStatus.FAILED, "http_404")
                    continue
                return _analysis(AnalysisStatus.FAILED, f"http_{exc.status}")
        return failure or _analysis(AnalysisStatus.PENDING, "quota_daily")

    def _analyse_with(self, client: genai.Client, model: str, paper: Paper) -> Analysis:
        """One model: a request, and one repair attempt with a larger output budget when the answer is cut
        short or does not match the schema. Raises the internal signals for the caller to route."""
        budget = self._cfg.max_output_tokens
        contents = build_user_prompt(paper)
        verdict = _Verdict()
        for attempt in range(2):
            if attempt:
                budget = min(budget * REPAIR_TOKEN_FACTOR, MAX_OUTPUT_TOKENS_CAP)
                logger.info("%s: repair attempt for %s (%s)", model, paper.id, verdict.reason)
                with self._lock:
                    self._ledger.retries += 1
            response = self._generate(client, model, contents, budget)
            verdict = self._judge(response)
            if verdict.deep_dive is not None:
                self._cache.put(paper, model, verdict.deep_dive, now=self._now())
                return Analysis(status=AnalysisStatus.DONE, deep_dive=verdict.deep_dive, model=model)
            if not verdict.repairable:
                break
        return _analysis(verdict.status, verdict.reason)

    def _config(self, model: str, max_output_tokens: int) -> types.GenerateContentConfig:
        return types.GenerateContentConfig(
            system_instruction=self._system,
            response_mime_type="application/json",
            response_schema=RESPONSE_SCHEMA,
            max_output_tokens=max_output_tokens,
            thinking_config=_thinking_config(model),
            automatic_function_calling=types.AutomaticFunctionCallingConfig(disable=True),  # no tools here
        )

    def _generate(
        self, client: genai.Client, model: str, contents: str, max_output_tokens: int
    ) -> types.GenerateContentResponse:
        """One logical generate request through the shared retry layer; counts the answer's tokens."""
        config = self._config(model, max_output_tokens)
        response = self.call(
            model, lambda: client.models.generate_content(model=model, contents=contents, config=config)
        )
        self._count_tokens(response)
        return response

    def _count_tokens(self, response: types.GenerateContentResponse) -> None:
        usage = response.usage_metadata
        if usage is None:
            return
        out = (usage.candidates_token_count or 0) + (usage.thoughts_token_count or 0)
        self.add_tokens(usage.prompt_token_count or 0, out)

    @staticmethod
    def _judge(response: types.GenerateContentResponse) -> _Verdict:
        feedback = response.prompt_feedback
        if feedback is not None and feedback.block_reason is not None:
            reason = f"blocked:{_enum_name(feedback.block_reason)}"
            return _Verdict(status=AnalysisStatus.BLOCKED, reason=reason)
        if not response.candidates:
            return _Verdict(status=AnalysisStatus.BLOCKED, reason="empty_candidate")
        candidate = response.candidates[0]
        finish = candidate.finish_reason
        if finish == types.FinishReason.MAX_TOKENS:
            return _Verdict(reason="max_tokens", repairable=True)
        parts = candidate.content.parts if candidate.content is not None else None
        has_text = any(part.text and not part.thought for part in parts or [])
        if finish in _REFUSALS:
            return _Verdict(status=AnalysisStatus.BLOCKED, reason=f"blocked:{_enum_name(finish)}")
        if not has_text:
            return _Verdict(status=AnalysisStatus.BLOCKED, reason="empty_candidate")
        parsed = response.parsed
        if not isinstance(parsed, DeepDive) or not parsed.title_zh.strip() or not parsed.one_sentence.strip():
            return _Verdict(reason="schema", repairable=True)
        return _Verdict(deep_dive=parsed, status=AnalysisStatus.DONE)


def _enum_name(value: Any) -> str:
    name = getattr(value, "value", value)
    return str(name)
