"""The Gemini API as a :class:`~.provider.Provider`: the google-genai SDK, its errors read once.

Every answer is classified here into a :class:`~.provider.Reply` or a :class:`~.provider.CallError` with its
:class:`~.outcome.Kind` (sources next to each rule):

- 429 RESOURCE_EXHAUSTED: per-minute or per-day by the QuotaFailure ``quotaId``; ``limit: 0`` in the message
  means the model is not on the key's tier (continuedev/continue #9693, google-gemini/gemini-cli #22486);
  see :func:`.quota.classify_429`.
- 500/502/503/504, timeouts, dropped connections: transient ("503 The model is overloaded", the REST docs'
  error table, ai.google.dev/gemini-api/docs/troubleshooting).
- 400 FAILED_PRECONDITION "User location is not supported for the API use.": a region Gemini does not serve
  (google-gemini/gemini-cli #24641; a proxy exit there: poenl/gemini-api #4).
- 400 INVALID_ARGUMENT with ErrorInfo reason API_KEY_INVALID, 401, 403 with Google's JSON body: the key.
- 404 NOT_FOUND "models/X is not found for API version v1beta, ...": a retired or unknown model
  (ai.google.dev/gemini-api/docs/deprecations: gemini-2.0-flash answers 404 since 2026-06-01).
- An error whose body is not Google's JSON (the SDK then puts the page's text in ``message``), or a 200 that
  is not JSON (the SDK raises ``JSONDecodeError``, a ``ValueError``): a web page from a portal, a proxy or a
  CDN, not the API. A proxy's own 403 page is not a refused key.
- Finish reasons: STOP; MAX_TOKENS; SAFETY and the other filters (PROHIBITED_CONTENT, SPII, BLOCKLIST,
  LANGUAGE, IMAGE_*); RECITATION; a blocked prompt (``promptFeedback.blockReason``); an empty candidate; and
  any other reason (OTHER, PUP_LIMITED_DISABLED, CONTINUATION, one the SDK does not know yet): its text is
  read.

Thinking (ai.google.dev/gemini-api/docs/thinking): Gemini 3 models take ``thinking_level`` and reject a level
together with a budget, and 3.7/3.8 Flash reject "minimal", so they get LOW; 2.5 Flash and Flash-Lite turn
thinking off with ``thinking_budget=0``; other models keep their default. Thinking tokens count against
``max_output_tokens`` (python-genai #2062), which is why the default budget leaves room for them.
"""

from __future__ import annotations

import importlib
import logging
import re
from collections.abc import Mapping
from typing import Any

from google import genai
from google.genai import errors as genai_errors
from google.genai import types

from ..config import LLMConfig
from .outcome import Kind
from .provider import CallError, Finish, Question, Reply, Send
from .quota import QuotaKind, classify_429

logger = logging.getLogger(__name__)

#: server errors worth retrying (transient on Gemini's side)
RETRYABLE_STATUS = frozenset({500, 502, 503, 504})

_SAFETY = frozenset(
    {
        types.FinishReason.SAFETY,
        types.FinishReason.BLOCKLIST,
        types.FinishReason.PROHIBITED_CONTENT,
        types.FinishReason.SPII,
        types.FinishReason.LANGUAGE,
        types.FinishReason.IMAGE_SAFETY,
        types.FinishReason.IMAGE_PROHIBITED_CONTENT,
        types.FinishReason.MODEL_ARMOR,
    }
)
_RECITATION = frozenset({types.FinishReason.RECITATION, types.FinishReason.IMAGE_RECITATION})
_GEMINI_3 = re.compile(r"^(models/)?gemini-3")


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


TRANSPORT_ERRORS = _transport_errors()


def thinking_config(model: str) -> types.ThinkingConfig | None:
    """The thinking settings of a model's family (see the module doc)."""
    name = model.removeprefix("models/")
    if _GEMINI_3.match(name):
        return types.ThinkingConfig(thinking_level=types.ThinkingLevel.LOW)
    if name.startswith("gemini-2.5-flash"):
        return types.ThinkingConfig(thinking_budget=0)
    return None


def http_options(cfg: LLMConfig) -> types.HttpOptions:
    """The SDK's HTTP options for a config: API version, timeout; the SDK's own retries off. The base URL is
    the SDK's: GOOGLE_GEMINI_BASE_URL in the environment, else Google's."""
    return types.HttpOptions(
        api_version=cfg.api_version,
        timeout=round(cfg.timeout_seconds * 1000),  # milliseconds
        retry_options=None,  # SDK retries off: the client is the one layer that retries
    )


def _is_google_error(details: Any) -> bool:
    """Google's JSON error body (``{"error": {"code", "message", "status", ...}}``), not a web page."""
    return isinstance(details, Mapping) and isinstance(details.get("error"), Mapping)


def classify_error(code: int, details: Any) -> CallError:
    """One SDK error (status and ``APIError.details``) as a :class:`CallError`. Reads the body, keeps none."""
    google = _is_google_error(details)
    error: Mapping[str, Any] = details["error"] if google else {}
    if code == 429:
        if not google:  # a proxy's own rate limit page: wait a window and try again
            return CallError(Kind.QUOTA_MINUTE, status=429)
        info = classify_429(details)
        if info.kind is QuotaKind.ZERO:
            return CallError(Kind.NOT_ON_TIER, status=429)
        if info.kind is QuotaKind.DAY:
            return CallError(Kind.QUOTA_DAY, status=429)
        return CallError(Kind.QUOTA_MINUTE, status=429, delay=info.retry_delay)
    if code in RETRYABLE_STATUS:
        return CallError(Kind.UNAVAILABLE, status=code)
    if not google:
        return CallError(Kind.WEB_PAGE, status=code)
    status = str(error.get("status", ""))
    message = str(error.get("message", "")).lower()
    if code == 400 and status == "FAILED_PRECONDITION" and "location" in message:
        return CallError(Kind.LOCATION, status=code)
    if code in (401, 403) or (code == 400 and "API_KEY_INVALID" in repr(error.get("details"))):
        return CallError(Kind.KEY_REFUSED, status=code)
    if code == 404:
        return CallError(Kind.MODEL_NOT_FOUND, status=code)
    if 500 <= code < 600:
        return CallError(Kind.UNAVAILABLE, status=code)
    return CallError(Kind.REJECTED, status=code)


def _name(value: Any) -> str:
    return str(getattr(value, "value", value) or "")


def read_response(response: types.GenerateContentResponse) -> Reply:
    """What a 200 answer amounts to, in provider-neutral terms (see the module doc)."""
    usage = response.usage_metadata
    tokens_in = (usage.prompt_token_count or 0) if usage else 0
    tokens_out = ((usage.candidates_token_count or 0) + (usage.thoughts_token_count or 0)) if usage else 0

    def reply(text: str, finish: Finish, name: str = "") -> Reply:
        return Reply(text, finish, name, tokens_in=tokens_in, tokens_out=tokens_out)

    feedback = response.prompt_feedback
    if feedback is not None and feedback.block_reason is not None:
        return reply("", Finish.PROMPT_BLOCKED, _name(feedback.block_reason))
    if not response.candidates:
        return reply("", Finish.EMPTY)
    candidate = response.candidates[0]
    finish = candidate.finish_reason
    parts = candidate.content.parts if candidate.content is not None else None
    text = "".join(part.text for part in parts or [] if part.text and not part.thought)
    if finish == types.FinishReason.MAX_TOKENS:
        return reply(text, Finish.MAX_TOKENS, "MAX_TOKENS")
    if finish in _SAFETY:
        return reply("", Finish.SAFETY, _name(finish))
    if finish in _RECITATION:
        return reply("", Finish.RECITATION, _name(finish))
    if finish is None or finish == types.FinishReason.STOP:
        return reply(text, Finish.STOP if text else Finish.EMPTY, "STOP")
    return reply(text, Finish.UNKNOWN, _name(finish))


class GeminiProvider:
    """The google-genai client, built once. Construction errors propagate (the client turns them into an
    outcome); a prepared request raises only :class:`CallError`."""

    def __init__(self, cfg: LLMConfig, api_key: str) -> None:
        self._client = genai.Client(api_key=api_key, http_options=http_options(cfg))

    def prepare(self, question: Question) -> Send:
        try:
            config = types.GenerateContentConfig(
                system_instruction=question.system,
                response_mime_type="application/json",
                response_schema=question.schema,
                max_output_tokens=question.max_output_tokens,
                thinking_config=thinking_config(question.model),
                automatic_function_calling=types.AutomaticFunctionCallingConfig(disable=True),  # no tools
            )
        except ValueError:  # a settings combination the SDK refuses before sending: a rejected request
            raise CallError(Kind.REJECTED, detail="config") from None
        return lambda: self._send(question, config)

    def _send(self, question: Question, config: types.GenerateContentConfig) -> Reply:
        # the classification happens outside the except blocks: a log handler that fails while an SDK error
        # is being handled would print that error, body and all, as the failure's context
        failure: CallError | None = None
        try:
            response = self._client.models.generate_content(
                model=question.model, contents=question.prompt, config=config
            )
        except genai_errors.APIError as exc:
            failure = classify_error(int(exc.code or 0), exc.details)
        except TRANSPORT_ERRORS as exc:
            detail = "timeout" if "Timeout" in type(exc).__name__ else "connection"
            failure = CallError(Kind.UNAVAILABLE, detail=detail)
        except ValueError:  # a 200 whose body is not JSON (JSONDecodeError) or not an answer's shape
            failure = CallError(Kind.WEB_PAGE, status=200)
        except ImportError:  # the HTTP library lacks what the environment's proxy needs
            failure = CallError(Kind.SETUP)
        if failure is not None:
            raise failure
        return read_response(response)

    def list_models(self) -> list[str]:
        try:
            return self.generate_models()
        except Exception as exc:  # best effort, only for a sentence: never the details
            logger.info("models.list failed (%s)", exc.__class__.__name__)
        return []

    def generate_models(self) -> list[str]:
        """The models this key can call generateContent on (``models.list``). Raises :class:`CallError` for
        an API error, what the SDK raises for anything else."""
        names: list[str] = []
        failure: CallError | None = None
        try:
            for model in self._client.models.list():
                actions = model.supported_actions or []
                if model.name and (not actions or "generateContent" in actions):
                    names.append(model.name.removeprefix("models/"))
        except genai_errors.APIError as exc:
            failure = classify_error(int(exc.code or 0), exc.details)
        if failure is not None:
            raise failure
        return names

    def close(self) -> None:
        self._client.close()
