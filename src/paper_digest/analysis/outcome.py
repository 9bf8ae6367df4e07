"""What one question to the LLM came to: an answer, pending (with a reason and when to retry) or failed.

Every kind of answer the service can give is one :class:`Kind`. The client classifies each answer once into
a :class:`Problem` (a kind and its parameters: the model, the models the key can use, when the quota resets);
the reader's sentence is made from it in one place (:mod:`.messages`) and the status a digest shows follows
from the kind (:func:`status_of`). Nothing here holds an error body.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum
from typing import Generic, TypeVar

from ..models import AnalysisStatus

T = TypeVar("T")


class Kind(StrEnum):
    """Every way a question can end without an answer. The value is the sidecar's reason code (or its
    prefix: ``blocked:SAFETY``, ``http_503``)."""

    NO_API_KEY = "no_api_key"
    LLM_DISABLED = "llm_disabled"
    #: ``run --offline``: the run replays kept responses and asks no service
    OFFLINE = "offline"
    #: the SDK client could not be built (a proxy setting the HTTP library cannot use, a missing extra)
    SETUP = "client_setup"
    QUOTA_MINUTE = "quota_minute"
    QUOTA_DAY = "quota_daily"
    #: a 429 whose message says ``limit: 0``: the model is not on this key's tier
    NOT_ON_TIER = "model_not_on_tier"
    #: 404 NOT_FOUND: the model is retired or misspelt
    MODEL_NOT_FOUND = "model_not_found"
    #: 400 FAILED_PRECONDITION "User location is not supported"
    LOCATION = "location_not_supported"
    #: 400 API_KEY_INVALID, 401, 403 (with Google's JSON error body)
    KEY_REFUSED = "key_refused"
    #: 5xx, timeouts, dropped connections, after the bounded retries
    UNAVAILABLE = "unavailable"
    #: a 200 that is not JSON, or an error page that is not Google's JSON: a portal, a proxy, a CDN
    WEB_PAGE = "web_page"
    #: another 4xx that another attempt will not fix
    REJECTED = "rejected"
    MAX_TOKENS = "max_tokens"
    #: the text is not what the schema asks for (after one repair)
    SCHEMA = "schema"
    #: the prompt itself was blocked (promptFeedback.blockReason)
    PROMPT_BLOCKED = "prompt_blocked"
    #: finishReason SAFETY (and the other safety filters: PROHIBITED_CONTENT, SPII, BLOCKLIST, ...)
    SAFETY = "blocked"
    RECITATION = "recitation"
    #: a candidate without any text
    EMPTY = "empty_candidate"
    #: a finish reason this code does not know, with no text to read
    UNKNOWN_FINISH = "finish"


#: kinds after which no further request is made in the run, to any model
STOP_ALL = frozenset({Kind.SETUP, Kind.LOCATION, Kind.KEY_REFUSED})
#: kinds that end one model's use (for the day or the run) and hand over to the next model
NEXT_MODEL = frozenset(
    {Kind.QUOTA_DAY, Kind.QUOTA_MINUTE, Kind.NOT_ON_TIER, Kind.MODEL_NOT_FOUND, Kind.UNAVAILABLE}
)
#: kinds whose question can be asked again later with a good chance (a rerun, a fixed config)
_PENDING = frozenset(
    {
        Kind.NO_API_KEY,
        Kind.LLM_DISABLED,
        Kind.OFFLINE,
        Kind.SETUP,
        Kind.QUOTA_MINUTE,
        Kind.QUOTA_DAY,
        Kind.NOT_ON_TIER,
        Kind.MODEL_NOT_FOUND,
        Kind.LOCATION,
        Kind.KEY_REFUSED,
    }
)
_BLOCKED = frozenset({Kind.PROMPT_BLOCKED, Kind.SAFETY, Kind.RECITATION, Kind.EMPTY})


@dataclass(frozen=True)
class Problem:
    """Why a question got no answer: the kind and what the reader's sentence needs."""

    kind: Kind
    #: the model concerned (not found, not on the tier, its quota)
    model: str | None = None
    #: the generate models this key can use (for a model that was not found), from models.list
    available: tuple[str, ...] = ()
    #: when asking again makes sense (a per-day quota resets at midnight Pacific)
    retry_at: dt.datetime | None = None
    #: the finer cause: an HTTP status ("503"), "timeout", a finish or block reason ("SAFETY")
    detail: str = ""

    @property
    def code(self) -> str:
        """The machine-readable reason for the sidecar: ``quota_daily``, ``http_503``, ``blocked:SAFETY``."""
        if self.kind is Kind.UNAVAILABLE:
            return f"http_{self.detail}" if self.detail.isdigit() else (self.detail or "unavailable")
        if self.kind in (Kind.SAFETY, Kind.PROMPT_BLOCKED, Kind.UNKNOWN_FINISH) and self.detail:
            return f"{self.kind.value}:{self.detail}"
        return self.kind.value


def status_of(problem: Problem) -> AnalysisStatus:
    if problem.kind in _PENDING:
        return AnalysisStatus.PENDING
    if problem.kind in _BLOCKED:
        return AnalysisStatus.BLOCKED
    return AnalysisStatus.FAILED


@dataclass(frozen=True)
class Answer(Generic[T]):
    value: T
    model: str


@dataclass(frozen=True)
class Pending:
    problem: Problem

    @property
    def retry_at(self) -> dt.datetime | None:
        return self.problem.retry_at


@dataclass(frozen=True)
class Failed:
    problem: Problem


Outcome = Answer[T] | Pending | Failed


def outcome_of(problem: Problem) -> Pending | Failed:
    return Pending(problem) if status_of(problem) is AnalysisStatus.PENDING else Failed(problem)
