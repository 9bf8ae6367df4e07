"""Data models shared by every stage. Pure data: nothing here touches the network or the disk."""

from __future__ import annotations

import datetime as dt
import re
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, computed_field, field_validator, model_validator

#: Version of the JSON sidecar layout. Bump the major part on breaking changes. 2.0: notices are data (a kind
#: and its parameters), the finished deep dives are counted once (``deep_dives_done`` beside ``papers``);
#: 1.x sidecars (notices as sentences, ``sources[].message``, ``stats.deep_dives_done``) still load.
SIDECAR_SCHEMA_VERSION = "2.0"

#: arXiv identifiers (https://info.arxiv.org/help/arxiv_identifier.html): since April 2007 ``YYMM.NNNN``, from
#: January 2015 ``YYMM.NNNNN`` (month 01-12), with an optional ``vN``; before that ``archive(.XX)/YYMMNNN``
_NEW_ID = re.compile(
    r"^(?P<base>(?P<yymm>\d{2}(?:0[1-9]|1[0-2]))\.(?P<number>\d{4,5}))(?:v(?P<v>[1-9]\d*))?$"
)
_OLD_ID = re.compile(
    r"^(?P<base>[a-z][a-z\-]*(?:\.[A-Z]{2})?/\d{2}(?:0[1-9]|1[0-2])\d{3})(?:v(?P<v>[1-9]\d*))?$"
)
#: the first month of the new scheme, and the first with five-digit numbers
_NEW_SCHEME_FROM, _FIVE_DIGITS_FROM = "0704", "1501"


def _plausible_new_id(match: re.Match[str]) -> bool:
    """A new-style id's number has the width of its month: four digits 0704-1412, five from 1501."""
    yymm, width = match.group("yymm"), len(match.group("number"))
    if yymm < _NEW_SCHEME_FROM:
        return False
    return width == (5 if yymm >= _FIVE_DIGITS_FROM else 4)


def split_arxiv_id(raw: str) -> tuple[str, int | None] | None:
    """Split an arXiv id (new style ``2606.13681v2`` or old style ``astro-ph/0601001v1``)
    into ``(id without version, version or None)``. Accepts abs/pdf URLs too.
    Returns None for anything that is not an arXiv id."""
    text = raw.strip()
    for prefix in ("arxiv.org/abs/", "arxiv.org/pdf/"):
        pos = text.find(prefix)
        if pos != -1:
            text = text[pos + len(prefix) :]
    if text.lower().startswith("arxiv:"):
        text = text[6:]
    text = text.removesuffix(".pdf").strip("/")
    match = _NEW_ID.match(text)
    if match is not None and not _plausible_new_id(match):
        return None
    match = match or _OLD_ID.match(text)
    if match is None:
        return None
    version = match.group("v")
    return match.group("base"), int(version) if version else None


def format_local_time(at: dt.datetime) -> str:
    """A moment as the reader reads it, in the zone it carries: ``11月24日 16:00（UTC+08:00）``."""
    offset = at.utcoffset() or dt.timedelta(0)
    minutes = int(offset.total_seconds() // 60)
    sign = "+" if minutes >= 0 else "-"
    zone = f"UTC{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"
    return f"{at.month}月{at.day}日 {at:%H:%M}（{zone}）"


class Source(StrEnum):
    HUGGINGFACE = "huggingface"
    ARXIV = "arxiv"


class HFSignals(BaseModel):
    """What HuggingFace Daily Papers knows about a paper."""

    model_config = ConfigDict(frozen=True)

    upvotes: int = 0
    num_comments: int | None = None
    github_repo: str | None = None
    github_stars: int | None = None
    project_page: str | None = None
    organization: str | None = None
    ai_summary: str | None = None
    ai_keywords: list[str] = Field(default_factory=list)
    submitted_on_daily_at: dt.datetime | None = None


class ArxivSignals(BaseModel):
    """What the arXiv listing knows about a paper."""

    model_config = ConfigDict(frozen=True)

    primary_category: str | None = None
    categories: list[str] = Field(default_factory=list)
    #: "new", "cross", "replace", "replace-cross" as arXiv announces it, or None if unknown
    announce_type: str | None = None
    comment: str | None = None
    journal_ref: str | None = None
    doi: str | None = None


class Paper(BaseModel):
    """One candidate paper, possibly seen by several sources."""

    model_config = ConfigDict(frozen=True)

    id: str = Field(description="arXiv id without version, e.g. 2606.13681 or astro-ph/0601001")
    version: int | None = Field(default=None, description="arXiv version number if known")
    title: str
    abstract: str = ""
    authors: list[str] = Field(default_factory=list)
    published: dt.datetime | None = None
    updated: dt.datetime | None = None
    sources: list[Source] = Field(default_factory=list)
    hf: HFSignals | None = None
    arxiv: ArxivSignals | None = None

    @property
    def versioned_id(self) -> str:
        return f"{self.id}v{self.version}" if self.version else self.id

    @property
    def abs_url(self) -> str:
        return f"https://arxiv.org/abs/{self.id}"

    @property
    def pdf_url(self) -> str:
        return f"https://arxiv.org/pdf/{self.id}"

    @property
    def hf_url(self) -> str | None:
        return f"https://huggingface.co/papers/{self.id}" if self.hf is not None else None


class ScoreReason(BaseModel):
    """One contribution to a score, so that every score explains itself."""

    model_config = ConfigDict(frozen=True)

    kind: str = Field(
        description="keyword | description | author | liked | prior | exclude | semantic | embedding | llm"
    )
    detail: str = Field(description="what matched and where, e.g. 'super-resolution in title'")
    points: float = Field(description="signed contribution on the 0-100 scale (approximate)")
    topic: str | None = Field(
        default=None,
        description="the matched profile topic as a reader names it (Chinese where known), e.g. '去噪'",
    )


class ScoredPaper(BaseModel):
    model_config = ConfigDict(frozen=True)

    paper: Paper
    score: float = Field(ge=0, le=100)
    reasons: list[ScoreReason] = Field(default_factory=list)


class AnalysisStatus(StrEnum):
    DONE = "done"
    PENDING = "pending"  # not attempted or cut short (quota, no key); the next run completes it
    FAILED = "failed"  # attempted, no usable answer (truncated, schema mismatch, error)
    BLOCKED = "blocked"  # refused by the model's safety filters or an empty candidate
    SKIPPED = "skipped"  # not selected for a deep dive


class FactItem(BaseModel):
    """One extra fact a profile asks for (``profile.fact_fields``), e.g. 退化类型: 真实噪声."""

    label: str = Field(description="字段名（与要求的字段名一致）")
    value: str = Field(description="论文中的对应信息；原文未给出写“未说明”")


class PaperFacts(BaseModel):
    """A compact facts block: fields that suit a paper of any field, plus the profile's own."""

    task: str = Field(default="", description="任务：论文解决的具体问题")
    data: str = Field(default="", description="数据：训练与评测所用数据集或数据来源")
    results: list[str] = Field(
        default_factory=list, description="主要结果：每条一个指标及原文数字和对比对象，数字照抄原文"
    )
    code: str = Field(default="", description="代码或权重链接：只写原文给出的完整 URL，没有则留空")
    venue: str = Field(
        default="", description="发表会议或期刊：仅当 arXiv 备注或期刊信息写明时填写，否则留空"
    )
    extra: list[FactItem] = Field(default_factory=list, description="研究者要求的额外字段，逐项填写")


class DeepDive(BaseModel):
    """The structured Chinese analysis of one paper. Also the LLM response schema (see analysis.prompt)."""

    title_zh: str = Field(description="论文标题的中文翻译")
    one_sentence: str = Field(description="一句话总结（中文）")
    innovations: list[str] = Field(description="核心创新点")
    technical_details: list[str] = Field(description="技术细节")
    inspiration: list[str] = Field(description="对我的启发：与研究者方向的具体联系")
    limitations: list[str] = Field(description="潜在缺陷：针对该方法的具体问题")
    #: absent in deep dives written before the facts block existed (sidecars and caches keep loading)
    facts: PaperFacts | None = Field(default=None, description="论文要点速览")


class Analysis(BaseModel):
    """The outcome of analysing one paper, whatever it was."""

    status: AnalysisStatus
    deep_dive: DeepDive | None = None
    model: str | None = None
    #: machine-readable reason code (analysis.outcome.Kind), e.g. "quota_daily", "model_not_found",
    #: "key_refused", "web_page", "http_503", "max_tokens", "schema", "blocked:SAFETY"
    reason: str | None = None
    #: one calm Chinese sentence for the reader; never an error body
    message: str | None = None
    cached: bool = False
    #: when a pending analysis can be completed (the daily quota's reset, in the reader's timezone)
    retry_at: dt.datetime | None = None
    #: what the model read: "html" / "pdf" (the full text) or "abstract" (the fallback); None: not known
    text_source: str | None = None
    #: numbers of the deep dive that the text the model was given lacks (checked on cached ones too)
    unverified_numbers: list[str] = Field(default_factory=list)


class LLMLedger(BaseModel):
    """What the analysis stage spent."""

    requests_by_model: dict[str, int] = Field(default_factory=dict)
    retries: int = 0
    rate_limited_minute: int = 0
    rate_limited_day: int = 0
    server_errors: int = 0
    tokens_in: int = 0
    tokens_out: int = 0
    cache_hits: int = 0

    @property
    def requests(self) -> int:
        return sum(self.requests_by_model.values())

    def minus(self, earlier: LLMLedger) -> LLMLedger:
        """What was spent since ``earlier``, a snapshot of the same running ledger."""
        models = {
            model: count - earlier.requests_by_model.get(model, 0)
            for model, count in self.requests_by_model.items()
            if count != earlier.requests_by_model.get(model, 0)
        }
        return LLMLedger(
            requests_by_model=models,
            retries=self.retries - earlier.retries,
            rate_limited_minute=self.rate_limited_minute - earlier.rate_limited_minute,
            rate_limited_day=self.rate_limited_day - earlier.rate_limited_day,
            server_errors=self.server_errors - earlier.server_errors,
            tokens_in=self.tokens_in - earlier.tokens_in,
            tokens_out=self.tokens_out - earlier.tokens_out,
            cache_hits=self.cache_hits - earlier.cache_hits,
        )

    def plus(self, other: LLMLedger) -> LLMLedger:
        """The two ledgers added up (e.g. the re-rank stage's and the deep dives')."""
        models = dict(self.requests_by_model)
        for model, count in other.requests_by_model.items():
            models[model] = models.get(model, 0) + count
        return LLMLedger(
            requests_by_model=models,
            retries=self.retries + other.retries,
            rate_limited_minute=self.rate_limited_minute + other.rate_limited_minute,
            rate_limited_day=self.rate_limited_day + other.rate_limited_day,
            server_errors=self.server_errors + other.server_errors,
            tokens_in=self.tokens_in + other.tokens_in,
            tokens_out=self.tokens_out + other.tokens_out,
            cache_hits=self.cache_hits + other.cache_hits,
        )


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
    #: only part of the results came (``source``, ``detail``: what the API said)
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
        return sum(
            1 for p in self.papers if p.deep_dive and p.analysis_status is AnalysisStatus.DONE and p.analysis
        )

    @property
    def featured(self) -> list[DigestPaper]:
        return [p for p in self.papers if p.deep_dive]

    @property
    def others(self) -> list[DigestPaper]:
        return [p for p in self.papers if not p.deep_dive]
