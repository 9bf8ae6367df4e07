"""A candidate paper as the sources see it, its arXiv id, and its score with the reasons. Pure data."""

from __future__ import annotations

import datetime as dt
import re
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

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
        description=(
            "keyword | description | related | author | liked | prior | exclude | semantic | embedding | llm"
        )
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
