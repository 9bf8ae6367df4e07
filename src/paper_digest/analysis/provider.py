"""What the client needs from an LLM service, whatever the service: one module per provider implements it.

A provider sends one request and says what came back, in terms that do not depend on its SDK: a
:class:`Reply` (the text and how the answer finished), or a raised :class:`CallError` with the
:class:`~.outcome.Kind` of the failure. Retries, limits, fallback and the ledger are the client's, not the
provider's. :mod:`.gemini` is the Gemini API's; an OpenAI-compatible endpoint would be one more module.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol

from .outcome import Kind, Problem


class Finish(StrEnum):
    """How an answer ended, in provider-neutral terms."""

    STOP = "stop"
    MAX_TOKENS = "max_tokens"
    PROMPT_BLOCKED = "prompt_blocked"
    SAFETY = "safety"
    RECITATION = "recitation"
    EMPTY = "empty"
    #: a finish reason the provider module does not know (the text, if any, is still read)
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class Reply:
    """One answer that arrived (HTTP 200 with a readable body)."""

    text: str
    finish: Finish
    #: the provider's own name for the finish or block reason ("SAFETY", "PUP_LIMITED_DISABLED")
    finish_name: str = ""
    tokens_in: int = 0
    tokens_out: int = 0


def judge_reply(reply: Reply, model: str) -> Problem | None:
    """What an answer that arrived amounts to, whatever the provider; None: there is text to read (STOP, or
    a finish reason this code does not know that still carries text)."""
    finish = reply.finish
    if finish is Finish.MAX_TOKENS:
        return Problem(Kind.MAX_TOKENS, model=model)
    if finish is Finish.PROMPT_BLOCKED:
        return Problem(Kind.PROMPT_BLOCKED, model=model, detail=reply.finish_name)
    if finish is Finish.SAFETY:
        return Problem(Kind.SAFETY, model=model, detail=reply.finish_name)
    if finish is Finish.RECITATION:
        return Problem(Kind.RECITATION, model=model, detail=reply.finish_name)
    if reply.text:
        return None
    if finish is Finish.UNKNOWN:
        return Problem(Kind.UNKNOWN_FINISH, model=model, detail=reply.finish_name)
    return Problem(Kind.EMPTY, model=model)


class CallError(Exception):
    """One request that did not produce a :class:`Reply`. Carries no response body."""

    def __init__(self, kind: Kind, *, status: int = 0, delay: float | None = None, detail: str = "") -> None:
        super().__init__(f"{kind.value} (HTTP {status})" if status else kind.value)
        self.kind = kind
        self.status = status
        #: seconds the service asked us to wait (a per-minute 429's RetryInfo), when it said
        self.delay = delay
        #: the finer cause for the reason code: "503", "timeout", "connection"
        self.detail = detail or (str(status) if status else "")


@dataclass(frozen=True)
class Question:
    """What one request asks: the model, the instructions, the prompt, the response schema, the budget."""

    model: str
    system: str
    prompt: str
    schema: Any
    max_output_tokens: int


#: one prepared request: calling it sends it and returns the Reply (or raises :class:`CallError`)
Send = Callable[[], Reply]


class Provider(Protocol):
    """One service. Built once per client; thread-safe for concurrent sends."""

    def prepare(self, question: Question) -> Send:
        """Everything the request needs, built before the client takes a rate-limit slot (so the time between
        the slot and the request reaching the service stays short); the returned call sends it. Each call of
        it is one request. It raises :class:`CallError` for every failure it can name."""
        ...

    def list_models(self) -> list[str]:
        """The generate models this key can use (names without a ``models/`` prefix); [] when unknown."""
        ...

    def close(self) -> None: ...
