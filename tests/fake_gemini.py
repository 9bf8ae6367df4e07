"""A fake Gemini API on 127.0.0.1 for tests and benchmarks: the real google-genai client talks to it.

It serves ``POST /{api_version}/models/{model}:generateContent`` with realistic generateContent JSON,
enforces a per-window and a per-day request limit per model with the real 429 bodies
(``fixtures/payloads/gemini_429_*``, model name and delay rewritten), and plays scripted faults in order.
Time comes from an injectable clock, so a test can share its :class:`clocks.FakeClock` with the server and
never sleep real seconds.

    with FakeGemini(clock=clock, per_window=5, window_seconds=60) as server:
        server.script("503", "ok", model="gemini-2.5-flash")
        ... HttpOptions(base_url=server.url) ...
        assert server.count("gemini-2.5-flash") == 2

Behaviours for :meth:`FakeGemini.script`: ``ok``, ``429_minute`` (the real per-minute body, "retry in
58.217843437s"), ``429_day`` (the real per-day body; the model then stays exhausted until :meth:`new_day`),
``500``, ``503``, ``400``, ``403``, ``404``, ``max_tokens`` (finishReason MAX_TOKENS, JSON cut in half),
``blocked`` (promptFeedback.blockReason SAFETY, no candidates), ``safety`` (candidate finishReason SAFETY),
``empty`` (a candidate without content), ``invalid_json``, ``drop`` (close the connection, no response),
``bad_key_400`` (the real answer to an unknown key: 400 INVALID_ARGUMENT, reason API_KEY_INVALID), ``slow``
(answer ``ok`` after ``slow_seconds`` real seconds, to provoke a client timeout), and the answers of the live
service the client must tell apart (the sources are next to each body below): ``429_limit0`` (the real per-day
body as it came, "limit: 0": a model not on the key's tier), ``location`` (400 FAILED_PRECONDITION "User
location is not supported for the API use."), ``401``, ``html_200`` (a captive portal's page with status 200),
``html_403`` (a proxy's own error page), ``recitation`` (finishReason RECITATION), ``finish_unknown`` (a
finish reason the SDK does not know, no text) and ``finish_unknown_text`` (the same reason with a whole
answer).

``GET /{api_version}/models`` (``client.models.list``) lists :attr:`FakeGemini.served_models`; a model not in
that list answers every generate request with the real 404 ("models/X is not found for API version v1beta, or
is not supported for generateContent. Call ListModels ...").

Re-rank batches (a request whose response schema is an array of objects with a ``relevance`` field) are
answered with a JSON array judging every ``<paper id="...">`` block of the request: relevance from
:attr:`FakeGemini.relevance` (id -> 0..10), else :attr:`FakeGemini.default_relevance`. For them ``ok``,
``max_tokens`` and ``invalid_json`` mean the same as above, and ``partial`` judges only the first half of
the ids (every other behaviour is shared with deep dives).

"""

from __future__ import annotations

import copy
import json
import re
import threading
import time
from collections import Counter, defaultdict, deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

from local_server import LocalServer

PAYLOADS = Path(__file__).parent / "fixtures" / "payloads"
PER_MINUTE_BODY = PAYLOADS / "gemini_429_perminute_gemini-3-flash.json"
PER_DAY_BODY = PAYLOADS / "gemini_429_perday_gemini-2.0-flash.json"

_PATH = re.compile(r"^/(?P<version>[^/]+)/models/(?P<model>[^/:]+):(?P<method>generateContent)$")
_MODEL_PATH = re.compile(r"^/(?P<version>[^/]+)/models/(?P<model>[^/:]+)$")
_LIST_PATH = re.compile(r"^/(?P<version>[^/]+)/models/?$")
_TITLE = re.compile(r"标题：(?P<title>[^\n]*)")
_RERANK_ID = re.compile(r'<paper id="(?P<id>[^"]+)">')

BEHAVIOURS = frozenset(
    {
        "ok",
        "429_minute",
        "429_day",
        "429_limit0",
        "500",
        "503",
        "400",
        "403",
        "404",
        "max_tokens",
        "blocked",
        "safety",
        "empty",
        "invalid_json",
        "drop",
        "bad_key_400",
        "slow",
        "partial",
        "location",
        "401",
        "html_200",
        "html_403",
        "recitation",
        "finish_unknown",
        "finish_unknown_text",
    }
)


@dataclass
class RecordedRequest:
    model: str
    api_version: str
    body: dict[str, Any]
    raw: bytes
    headers: dict[str, str]
    at: float
    status: int = 0
    behaviour: str = ""

    @property
    def max_output_tokens(self) -> int | None:
        value = self.body.get("generationConfig", {}).get("maxOutputTokens")
        return int(value) if value is not None else None

    @property
    def text(self) -> str:
        """All the text of the request's contents (the user turn)."""
        parts = [
            part.get("text", "")
            for content in self.body.get("contents", [])
            for part in content.get("parts", [])
        ]
        return "\n".join(parts)

    @property
    def is_rerank(self) -> bool:
        """A re-rank batch: the response schema is an array of objects with a relevance field."""
        schema = self.body.get("generationConfig", {}).get("responseSchema") or {}
        items = schema.get("items") or {}
        properties = items.get("properties") or {}
        return str(schema.get("type", "")).upper() == "ARRAY" and "relevance" in properties

    @property
    def rerank_ids(self) -> list[str]:
        """The paper ids of a re-rank batch, in prompt order."""
        return [m.group("id") for m in _RERANK_ID.finditer(self.text)]

    @property
    def system_text(self) -> str:
        system = self.body.get("systemInstruction") or self.body.get("system_instruction") or {}
        return "\n".join(part.get("text", "") for part in system.get("parts", []))


def deep_dive_json(title: str) -> dict[str, Any]:
    """A plausible DeepDive answer."""
    return {
        "title_zh": f"{title}（中文标题）",
        "one_sentence": "提出一种新的方法，摘要未说明具体数值。",
        "innovations": ["用统一框架处理退化建模与重建。"],
        "technical_details": ["采用两阶段训练，摘要未说明数据集。"],
        "inspiration": ["可借鉴其退化建模思路改进真实场景超分辨率。"],
        "limitations": ["依赖合成退化，真实分布偏移下的表现摘要未说明。"],
    }


def _usage(prompt_tokens: int, out_tokens: int) -> dict[str, Any]:
    return {
        "promptTokenCount": prompt_tokens,
        "candidatesTokenCount": out_tokens,
        "totalTokenCount": prompt_tokens + out_tokens,
        "promptTokensDetails": [{"modality": "TEXT", "tokenCount": prompt_tokens}],
    }


@dataclass
class _ModelState:
    window: deque[float] = field(default_factory=deque)
    day_count: int = 0
    day_exhausted: bool = False


class FakeGemini:
    """The fake server. Start with :meth:`start` (or ``with``), stop with :meth:`stop`."""

    def __init__(
        self,
        *,
        clock: Callable[[], float] = time.monotonic,
        api_key: str = "test-key",
        per_window: int | None = None,
        window_seconds: float = 60.0,
        per_day: int | None = None,
        min_output_tokens: int | None = None,
        latency: float = 0.0,
        slow_seconds: float = 0.5,
    ) -> None:
        self.clock = clock
        self.api_key = api_key
        self.per_window = per_window
        self.window_seconds = window_seconds
        self.per_day = per_day
        #: answers MAX_TOKENS when the request allows fewer output tokens than this
        self.min_output_tokens = min_output_tokens
        #: real seconds each answer takes (for concurrency tests; keep it small)
        self.latency = latency
        #: the first ``gather`` requests are answered only once that many are in flight together: a
        #: concurrency test's proof that the client sends them at once (and, on a thread pool, that it has
        #: started that many workers before any is done); 0: off
        self.gather = 0
        self._gathering: threading.Barrier | None = None
        self.slow_seconds = slow_seconds
        #: re-rank answers: paper id -> relevance 0..10 (ids not listed get default_relevance)
        self.relevance: dict[str, int] = {}
        self.default_relevance = 5
        #: builds the answer's JSON from the paper title in the prompt (replace it to serve other content)
        self.deep_dive: Callable[[str], dict[str, Any]] = deep_dive_json
        #: model -> (per_window, per_day) for a model with its own quota (e.g. a Flash-Lite)
        self.model_limits: dict[str, tuple[int | None, int | None]] = {}
        #: what models.list answers; a generate request to a model not listed gets the real 404 (None: any)
        self.served_models: list[str] | None = None
        self.model_lists = 0
        self.requests: list[RecordedRequest] = []
        self.statuses: Counter[int] = Counter()
        self.max_in_flight = 0
        #: GET /{version}/models/{model} requests (client.models.get, e.g. a config check), by model
        self.model_gets: Counter[str] = Counter()
        self._in_flight = 0
        self._scripts: dict[str | None, deque[str]] = defaultdict(deque)
        self._models: dict[str, _ModelState] = defaultdict(_ModelState)
        self._lock = threading.Lock()
        self._server: LocalServer | None = None
        self._per_minute = json.loads(PER_MINUTE_BODY.read_text(encoding="utf-8"))
        self._per_day = json.loads(PER_DAY_BODY.read_text(encoding="utf-8"))

    # -- lifecycle -----------------------------------------------------------------------------------------

    def start(self) -> FakeGemini:
        self._server = LocalServer(_make_handler(self), name="fake-gemini").start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None

    def __enter__(self) -> FakeGemini:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        assert self._server is not None, "start the server first"
        return f"{self._server.url}/"

    # -- scripting and inspection ---------------------------------------------------------------------------

    def script(self, *behaviours: str, model: str | None = None) -> None:
        """Queue behaviours for the next requests (to ``model``, or to any model when None). Then ``ok``."""
        for behaviour in behaviours:
            if behaviour not in BEHAVIOURS:
                raise ValueError(f"unknown behaviour {behaviour!r}")
        with self._lock:
            self._scripts[model].extend(behaviours)

    def count(self, model: str | None = None, *, status: int | None = None) -> int:
        """Requests received, for one model or all, optionally only those answered with ``status``."""
        with self._lock:
            return sum(
                1
                for r in self.requests
                if (model is None or r.model == model) and (status is None or r.status == status)
            )

    def new_day(self) -> None:
        """Midnight Pacific: daily counts and exhausted flags reset."""
        with self._lock:
            for state in self._models.values():
                state.day_count = 0
                state.day_exhausted = False

    def exhaust_day(self, model: str) -> None:
        with self._lock:
            self._models[model].day_exhausted = True

    @property
    def rate_limited(self) -> int:
        return self.statuses[429]

    def iter_bodies(self) -> Iterator[bytes]:
        with self._lock:
            yield from (r.raw for r in list(self.requests))

    def _gather_barrier(self) -> threading.Barrier:
        with self._lock:
            if self._gathering is None:
                self._gathering = threading.Barrier(self.gather)
            return self._gathering

    # -- answers -------------------------------------------------------------------------------------------

    def _quota_body(
        self, template: dict[str, Any], model: str, delay: float | None, limit: int | None = None
    ) -> dict[str, Any]:
        body = copy.deepcopy(template)
        error = body["error"]
        error["message"] = re.sub(r"model: [\w.\-]+", f"model: {model}", error["message"])
        for detail in error["details"]:
            for violation in detail.get("violations", []):
                violation.get("quotaDimensions", {})["model"] = model
            if delay is not None and detail.get("@type", "").endswith("RetryInfo"):
                detail["retryDelay"] = f"{int(delay)}s"
        if delay is not None:
            error["message"] = re.sub(
                r"Please retry in [0-9.]+s", f"Please retry in {delay:.9f}s", error["message"]
            )
        if limit is not None:
            # the real per-day body is from a key whose tier had no quota for the model ("limit: 0"); a spent
            # day says the model's real limit ("limit: 20, model: gemini-3.6-flash", OmniRoute #9504)
            error["message"] = error["message"].replace("limit: 0,", f"limit: {limit},")
            for detail in error["details"]:
                for violation in detail.get("violations", []):
                    violation["quotaValue"] = str(limit)
        return body

    def _decide(self, model: str, request: RecordedRequest) -> tuple[int, Any]:
        """Limits first, then the script. Called under the lock."""
        state = self._models[model]
        now = self.clock()
        cost = 1
        per_window, per_day = self.model_limits.get(model, (self.per_window, self.per_day))
        if state.day_exhausted or (per_day is not None and state.day_count + cost > per_day):
            if per_day is not None and state.day_count >= per_day:
                state.day_exhausted = True
            request.behaviour = "limit_day"
            return 429, self._quota_body(self._per_day, model, None, limit=per_day or 20)
        if per_window is not None:
            while state.window and state.window[0] <= now - self.window_seconds:
                state.window.popleft()
            if len(state.window) + cost > per_window:
                index = min(len(state.window) + cost - per_window, len(state.window)) - 1
                delay = state.window[max(index, 0)] + self.window_seconds - now if state.window else 0.0
                request.behaviour = "limit_window"
                return 429, self._quota_body(self._per_minute, model, max(delay, 0.0))
        if self.served_models is not None and model not in self.served_models:
            request.behaviour = "404"
            return self._answer(model, request, "404")
        queue = self._scripts[model] if self._scripts.get(model) else self._scripts[None]
        behaviour = queue.popleft() if queue else "ok"
        request.behaviour = behaviour
        if behaviour == "429_minute":
            return 429, self._quota_body(self._per_minute, model, None)
        if behaviour == "429_day":
            state.day_exhausted = True
            return 429, self._quota_body(self._per_day, model, None, limit=per_day or 20)
        if behaviour == "429_limit0":  # the real body as it came: a model not on the key's tier
            return 429, self._quota_body(self._per_day, model, None)
        if behaviour == "location":
            # google-gemini/gemini-cli #24641, poenl/gemini-api #4 (a proxy exit in an unserved region)
            message = "User location is not supported for the API use."
            return 400, {"error": {"code": 400, "message": message, "status": "FAILED_PRECONDITION"}}
        state.window.extend([now] * cost)
        state.day_count += cost
        return self._answer(model, request, behaviour)

    def _answer(
        self, model: str, request: RecordedRequest, behaviour: str
    ) -> tuple[int, dict[str, Any] | None]:
        if behaviour in ("500", "503"):
            status = {"500": "INTERNAL", "503": "UNAVAILABLE"}[behaviour]
            message = (
                "The model is overloaded. Please try again later." if behaviour == "503" else "Internal error"
            )
            return int(behaviour), {"error": {"code": int(behaviour), "message": message, "status": status}}
        if behaviour == "400":
            return 400, {"error": {"code": 400, "message": "Invalid request.", "status": "INVALID_ARGUMENT"}}
        if behaviour == "403":
            return 403, _permission_denied()
        if behaviour == "404":
            # the live answer for a retired model (gemini-2.0-flash since 2026-06-01; deprecations page)
            message = (
                f"models/{model} is not found for API version {request.api_version}, or is not supported for "
                "generateContent. Call ListModels to see the list of available models and their supported "
                "methods."
            )
            return 404, {"error": {"code": 404, "message": message, "status": "NOT_FOUND"}}
        if behaviour == "401":
            message = (
                "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie "
                "or other valid authentication credential."
            )
            return 401, {"error": {"code": 401, "message": message, "status": "UNAUTHENTICATED"}}
        if behaviour == "html_200":
            return 200, HTML_PORTAL
        if behaviour == "html_403":
            return 403, HTML_PROXY_403
        if behaviour == "drop":
            return 0, None
        if behaviour == "bad_key_400":
            return 400, _api_key_invalid()
        match = _TITLE.search(request.text)
        title = match.group("title").strip() if match else "Untitled"
        prompt_tokens = max(1, (len(request.text) + len(request.system_text)) // 3)
        base: dict[str, Any] = {"modelVersion": model, "responseId": f"fake-{len(self.requests)}"}
        if behaviour == "blocked":
            feedback = {
                "blockReason": "SAFETY",
                "safetyRatings": [{"category": "HARM_CATEGORY_DANGEROUS_CONTENT", "probability": "HIGH"}],
            }
            return 200, {**base, "promptFeedback": feedback, "usageMetadata": _usage(prompt_tokens, 0)}
        if behaviour == "empty":
            candidate = {"content": {"role": "model"}, "finishReason": "STOP", "index": 0}
            return 200, {**base, "candidates": [candidate], "usageMetadata": _usage(prompt_tokens, 0)}
        if behaviour in ("safety", "recitation", "finish_unknown"):
            reason = {"safety": "SAFETY", "recitation": "RECITATION", "finish_unknown": UNKNOWN_FINISH}[
                behaviour
            ]
            candidate = {"finishReason": reason, "index": 0}
            return 200, {**base, "candidates": [candidate], "usageMetadata": _usage(prompt_tokens, 0)}
        if request.is_rerank:
            text = json.dumps(self._rerank_answer(request, behaviour), ensure_ascii=False)
        else:
            text = json.dumps(self.deep_dive(title), ensure_ascii=False)
        finish = "STOP"
        limit = request.max_output_tokens
        if behaviour == "max_tokens" or (
            self.min_output_tokens is not None and limit is not None and limit < self.min_output_tokens
        ):
            text, finish = text[: len(text) // 2], "MAX_TOKENS"
        elif behaviour == "invalid_json" and request.is_rerank:
            text = text.replace('"relevance"', "relevance")
        elif behaviour == "invalid_json":
            text = text.replace('"one_sentence"', "one_sentence")
        if behaviour == "finish_unknown_text":
            finish = UNKNOWN_FINISH
        candidate = {
            "content": {"parts": [{"text": text}], "role": "model"},
            "finishReason": finish,
            "index": 0,
        }
        out_tokens = max(1, len(text) // 2)
        return 200, {**base, "candidates": [candidate], "usageMetadata": _usage(prompt_tokens, out_tokens)}

    def _rerank_answer(self, request: RecordedRequest, behaviour: str) -> list[dict[str, Any]]:
        ids = request.rerank_ids
        if behaviour == "partial":
            ids = ids[: len(ids) // 2]
        return [
            {
                "id": paper_id,
                "relevance": self.relevance.get(paper_id, self.default_relevance),
                "reason": "与真实场景超分辨率直接相关。",
            }
            for paper_id in ids
        ]


#: a finish reason newer than the SDK (the live service adds them: PUP_LIMITED_DISABLED, CONTINUATION, ...)
UNKNOWN_FINISH = "FUTURE_FINISH_REASON"
#: a captive portal's sign-in page, answered with 200 instead of the API's JSON
HTML_PORTAL = (
    b"<!DOCTYPE html><html><head><title>Sign in to the network</title></head><body>"
    b"<form action='/login'>Accept the terms to continue BODY-MARKER</form></body></html>"
)
#: a proxy's own refusal page (not Google's JSON: not a refused key)
HTML_PROXY_403 = (
    b"<html><head><title>403 Forbidden</title></head><body><h1>Forbidden</h1>"
    b"<p>Access denied by proxy policy BODY-MARKER</p></body></html>"
)


def _api_key_invalid() -> dict[str, Any]:
    return {
        "error": {
            "code": 400,
            "message": "API key not valid. Please pass a valid API key.",
            "status": "INVALID_ARGUMENT",
            "details": [
                {
                    "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                    "reason": "API_KEY_INVALID",
                    "domain": "googleapis.com",
                    "metadata": {"service": "generativelanguage.googleapis.com"},
                }
            ],
        }
    }


def _permission_denied() -> dict[str, Any]:
    return {
        "error": {
            "code": 403,
            "message": "Method doesn't allow unregistered callers (callers without established identity). "
            "Please use API Key or other form of API consumer identity to call this API.",
            "status": "PERMISSION_DENIED",
        }
    }


def _make_handler(fake: FakeGemini) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:  # quiet
            return

        def _send(self, status: int, payload: dict[str, Any] | bytes) -> None:
            data = payload if isinstance(payload, bytes) else json.dumps(payload, ensure_ascii=False).encode()
            html = data.lstrip().startswith(b"<")
            self.send_response(status)
            content_type = "text/html; charset=UTF-8" if html else "application/json; charset=UTF-8"
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            try:
                self.end_headers()
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):  # the client gave up (a timeout test)
                self.close_connection = True

        def do_GET(self) -> None:
            """``client.models.get``: the model's metadata; ``client.models.list``: the served models."""
            if _LIST_PATH.match(self.path.split("?")[0]):
                with fake._lock:
                    fake.model_lists += 1
                if self.headers.get("x-goog-api-key") != fake.api_key:
                    self._send(403, _permission_denied())
                    return
                names = fake.served_models if fake.served_models is not None else ["gemini-3.8-flash"]
                models = [
                    {
                        "name": f"models/{name}",
                        "version": "001",
                        "displayName": name,
                        "supportedGenerationMethods": ["generateContent", "countTokens"],
                    }
                    for name in names
                ]
                self._send(200, {"models": models})
                return
            match = _MODEL_PATH.match(self.path.split("?")[0])
            if match is None:
                self._send(404, {"error": {"code": 404, "message": "Not found", "status": "NOT_FOUND"}})
                return
            model = match.group("model")
            with fake._lock:
                fake.model_gets[model] += 1
            if self.headers.get("x-goog-api-key") != fake.api_key:
                self._send(403, _permission_denied())
                return
            self._send(
                200,
                {
                    "name": f"models/{model}",
                    "version": "001",
                    "displayName": model,
                    "inputTokenLimit": 1048576,
                    "outputTokenLimit": 65536,
                    "supportedGenerationMethods": ["generateContent", "countTokens"],
                },
            )

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            match = _PATH.match(self.path.split("?")[0])
            if match is None:
                self._send(404, {"error": {"code": 404, "message": "Not found", "status": "NOT_FOUND"}})
                return
            headers = {k.lower(): v for k, v in self.headers.items()}
            try:
                body = json.loads(raw or b"{}")
            except ValueError:
                self._send(
                    400, {"error": {"code": 400, "message": "Invalid JSON", "status": "INVALID_ARGUMENT"}}
                )
                return
            model = match.group("model")
            request = RecordedRequest(
                model=model,
                api_version=match.group("version"),
                body=body,
                raw=raw,
                headers=headers,
                at=fake.clock(),
            )
            with fake._lock:
                index = len(fake.requests)
                fake.requests.append(request)
                fake._in_flight += 1
                fake.max_in_flight = max(fake.max_in_flight, fake._in_flight)
                if headers.get("x-goog-api-key") != fake.api_key:
                    request.behaviour = "wrong_key"
                    status, payload = 403, _permission_denied()
                else:
                    status, payload = fake._decide(model, request)
                request.status = status
                fake.statuses[status] += 1
            try:
                if index < fake.gather:
                    fake._gather_barrier().wait(timeout=10)
                if fake.latency:
                    time.sleep(fake.latency)
                if request.behaviour == "slow":
                    time.sleep(fake.slow_seconds)
                if payload is None:  # "drop": hang up without an answer
                    self.close_connection = True
                    return
                self._send(status, payload)
            finally:
                with fake._lock:
                    fake._in_flight -= 1

    return Handler
