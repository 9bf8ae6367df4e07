"""A day's digest as it is rendered and written to the JSON sidecar: the papers, the sources' reports, the
notices (as data), the run's figures and deliveries. Pure data; 1.x sidecars load through validators."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, computed_field, field_validator, model_validator

from .analysis import AnalysisStatus, DeepDive, LLMLedger
from .paper import ArxivSignals, HFSignals, Paper, ScoreReason, Source

#: Version of the JSON sidecar layout. Bump the major part on breaking changes. 2.0: notices are data (a kind
#: and its parameters), the finished deep dives are counted once (``deep_dives_done`` beside ``papers``);
#: 1.x sidecars (notices as sentences, ``sources[].message``, ``stats.deep_dives_done``) still load.
SIDECAR_SCHEMA_VERSION = "2.0"


class SourceStatus(StrEnum):
    OK = "ok"
    EMPTY = "empty"  # the source answered with no papers for that day
    NO_ANNOUNCEMENT = "no_announcement"  # nothing is announced that day (weekend, holiday)
    FAILED = "failed"
    DISABLED = "disabled"


class NoticeKind(StrEnum):
    """Every thing a digest can tell its reader about what is missing and why. The sentence of each is
    written in one place, :mod:`paper_digest.notices`."""

    #: a source could not be fetched: ``source``, ``error`` (``SourceError.kind``, "parse" for a body that is
    #: not the source's format; None: not known), ``status`` (HTTP), ``attempts``
    SOURCE_FAILED = "source_failed"
    #: nothing announced (``source``); ``HOLIDAY``: an arXiv holiday on the US Eastern evening ``day``;
    #: ``WEEKEND``: the source does not publish on that day; ``BEFORE_FIRST_DAY``: before ``day``, its first
    NO_ANNOUNCEMENT = "no_announcement"
    HOLIDAY = "holiday"
    WEEKEND = "weekend"
    BEFORE_FIRST_DAY = "before_first_day"
    #: the source answered with no paper (``source``); ``LIST_EMPTY``: HF's list was empty (not out yet?);
    #: ``NONE_IN_CATEGORIES``: arXiv announced nothing in ``categories``; ``UNPARSABLE``: ``count`` items,
    #: none readable
    SOURCE_EMPTY = "source_empty"
    LIST_EMPTY = "list_empty"
    NONE_IN_CATEGORIES = "none_in_categories"
    UNPARSABLE = "unparsable"
    #: only part of the results came: ``count`` of ``total`` (``source``; sidecars before 2.0: ``detail``)
    PARTIAL = "partial"
    #: ``count`` malformed items of ``source`` were skipped
    SKIPPED_ITEMS = "skipped_items"
    #: no candidate at all
    NO_CANDIDATES = "no_candidates"
    #: ``count`` candidates, none at or above ``min_score``
    BELOW_THRESHOLD = "below_threshold"
    #: why every missing deep dive is missing this run: no API key / ``--no-llm``
    NO_API_KEY = "no_api_key"
    LLM_OFF = "llm_off"
    #: ``count`` deep dives wait for the daily quota (reset at ``retry_at`` when known)
    QUOTA_SPENT = "quota_spent"
    #: ``count`` deep dives pending for another reason
    PENDING = "pending"
    #: ``count`` deep dives failed or were refused
    DIVES_FAILED = "dives_failed"
    #: ``count`` papers are new versions of recently featured ones
    UPDATES = "updates"
    #: a sentence as written by an earlier version (a 1.x sidecar's notice), carried as ``text``
    TEXT = "text"


class Notice(BaseModel):
    """One notice: a kind and its parameters (only those its kind uses are set). Equal notices are one
    notice: a digest lists each once."""

    model_config = ConfigDict(frozen=True)

    kind: NoticeKind
    source: Source | None = None
    count: int | None = None
    #: of how many (``PARTIAL``: the results the API said it had)
    total: int | None = None
    error: str | None = None
    status: int | None = None
    attempts: int | None = None
    day: dt.date | None = None
    categories: tuple[str, ...] = ()
    detail: str | None = None
    min_score: float | None = None
    retry_at: dt.datetime | None = None
    text: str | None = None


def _legacy_notice(value: object) -> object:
    """A 1.x sidecar's notice (a sentence) as a TEXT notice; anything else as it is."""
    return Notice(kind=NoticeKind.TEXT, text=value) if isinstance(value, str) else value


class SourceReport(BaseModel):
    source: Source
    status: SourceStatus
    count: int = 0
    skipped_items: int = 0
    requests: int = 0
    #: what the digest tells the reader about this source when status is not ok (and a partial result)
    notice: Notice | None = None
    #: short machine-readable detail (e.g. "HTTP 503 after 4 attempts"); never a response body
    detail: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _from_1x(cls, data: Any) -> Any:
        """1.x sidecars carry the sentence as ``message``: it becomes the report's notice."""
        if isinstance(data, dict) and "message" in data:
            data = dict(data)
            message = data.pop("message")
            if message and data.get("notice") is None:
                data["notice"] = _legacy_notice(message)
        return data


class FetchResult(BaseModel):
    """What one source produced for a day."""

    papers: list[Paper] = Field(default_factory=list)
    report: SourceReport


class DeliveryStatus(StrEnum):
    SENT = "sent"
    FAILED = "failed"


class Delivery(BaseModel):
    """One attempt to send a day's digest on one channel (never a secret: the webhook is named by the
    environment variable holding its URL)."""

    channel: str = Field(
        description="'email', or a webhook as 'KIND (ENV_VARIABLE)', e.g. 'feishu (FEISHU_URL)'"
    )
    status: DeliveryStatus
    #: why it failed, one line; never a password, a webhook URL or a response body
    detail: str | None = None
    at: dt.datetime | None = None


class DigestPaper(BaseModel):
    """One ranked candidate as it appears in the digest and the JSON sidecar."""

    rank: int
    id: str
    version: int | None = None
    title: str
    authors: list[str] = Field(default_factory=list)
    abstract: str = ""
    score: float
    score_reasons: list[ScoreReason] = Field(default_factory=list)
    sources: list[Source]
    links: dict[str, str] = Field(default_factory=dict)
    hf: HFSignals | None = None
    arxiv: ArxivSignals | None = None
    deep_dive: bool
    analysis_status: AnalysisStatus
    analysis: DeepDive | None = None
    analysis_message: str | None = None
    #: precise machine-readable reason when not done, e.g. "quota_daily", "no_api_key", "max_tokens"
    analysis_reason: str | None = None
    #: when a pending deep dive can be completed (the Gemini daily quota's reset, in the digest's timezone)
    analysis_retry_at: dt.datetime | None = None
    model: str | None = None
    #: True when an earlier version of this paper was featured recently
    is_update: bool = False
    #: what the deep dive was written from: "html" / "pdf" (full text) or "abstract" (📄 基于摘要)
    text_source: str | None = None
    #: numbers in the deep dive that the text the model was given does not contain (marked ⚠️)
    unverified_numbers: list[str] = Field(default_factory=list)

    @property
    def finished(self) -> bool:
        """Picked for a deep dive, and the deep dive is done and there: what "a finished deep dive" means for
        the count, the carry-over and the recent-history rule."""
        return self.deep_dive and self.analysis_status is AnalysisStatus.DONE and self.analysis is not None


class LLMRun(BaseModel):
    """What one run that made LLM requests spent (the sidecar's run log)."""

    at: dt.datetime
    ledger: LLMLedger


class RunStats(BaseModel):
    candidates_by_source: dict[str, int] = Field(default_factory=dict)
    candidates: int = 0
    above_threshold: int = 0
    #: what the day's digest cost in all, over its runs (cache hits not counted: they are a run's)
    llm: LLMLedger = Field(default_factory=LLMLedger)
    #: each run that made LLM requests, with what it spent
    llm_runs: list[LLMRun] = Field(default_factory=list)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def llm_requests(self) -> int:
        """LLM requests of every run that wrote this day's digest (the digest's cost in all)."""
        return self.llm.requests


class Digest(BaseModel):
    """Everything a day's digest says. Rendered to Markdown and dumped as the JSON sidecar."""

    schema_version: str = SIDECAR_SCHEMA_VERSION
    date: dt.date
    title: str
    papers: list[DigestPaper] = Field(default_factory=list)
    sources: list[SourceReport] = Field(default_factory=list)
    #: what is missing and why, as data (the sentences: :mod:`paper_digest.notices`)
    notices: list[Notice] = Field(default_factory=list)
    stats: RunStats = Field(default_factory=RunStats)
    min_score: float = 0.0
    #: when this day's digest last changed (UTC): kept by a rerun that writes the same digest, so reruns stay
    #: byte-identical; the feed entry's ``updated``. None in sidecars written before it was recorded.
    updated: dt.datetime | None = None
    #: the channels the digest was sent on (email, webhooks): one that sent it is not used again that day
    deliveries: list[Delivery] = Field(default_factory=list)
    #: ids of unrated papers whose like / dislike would teach the ranking most (the model is least sure)
    to_rate: list[str] = Field(default_factory=list)

    @field_validator("notices", mode="before")
    @classmethod
    def _notices_from_1x(cls, value: Any) -> Any:
        """1.x sidecars carry their notices as sentences: each becomes a TEXT notice."""
        return [_legacy_notice(v) for v in value] if isinstance(value, list) else value

    @computed_field  # type: ignore[prop-decorator]
    @property
    def deep_dives_done(self) -> int:
        """The finished deep dives: picked papers whose deep dive is done and there."""
        return sum(1 for p in self.papers if p.finished)

    @property
    def featured(self) -> list[DigestPaper]:
        return [p for p in self.papers if p.deep_dive]

    @property
    def others(self) -> list[DigestPaper]:
        return [p for p in self.papers if not p.deep_dive]
