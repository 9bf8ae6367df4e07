"""HuggingFace Daily Papers: ``GET {endpoint}/api/daily_papers?date=D&limit=N`` (``p`` pages when full).

:func:`parse_daily` is a pure function of the response bytes. It reads the JSON array item by item, so a body
cut off halfway still yields every complete item before the cut (the cut one is counted as skipped). Every
field except the paper's id and title is optional.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Mapping
from typing import Any

from ..config import HuggingFaceConfig
from ..errors import ParseError, SourceError
from ..models import (
    FetchResult,
    HFSignals,
    Notice,
    NoticeKind,
    Paper,
    Source,
    SourceReport,
    SourceStatus,
    split_arxiv_id,
)
from .parsed import Getter, ParsedBatch, collect

logger = logging.getLogger(__name__)

#: papers per Daily Papers page (the API's own default; a day has 10-60, so one page)
PAGE_SIZE = 100
LABEL = "HuggingFace"
#: never page further than this (limit x pages papers in one day is far beyond any real list)
MAX_PAGES = 20

_decoder = json.JSONDecoder()
_WHITESPACE = " \t\r\n"


def _skip_ws(text: str, pos: int) -> int:
    while pos < len(text) and text[pos] in _WHITESPACE:
        pos += 1
    return pos


def iter_json_array(text: str) -> tuple[list[object], bool]:
    """Decode a JSON array element by element. Returns ``(elements, truncated)``; raises ValueError when the
    text is not a JSON array at all."""
    pos = _skip_ws(text, 0)
    if pos >= len(text) or text[pos] != "[":
        raise ValueError("not a JSON array")
    pos = _skip_ws(text, pos + 1)
    items: list[object] = []
    if pos < len(text) and text[pos] == "]":
        return items, False
    while pos < len(text):
        try:
            item, pos = _decoder.raw_decode(text, pos)
        except json.JSONDecodeError:
            return items, True
        items.append(item)
        pos = _skip_ws(text, pos)
        if pos >= len(text):
            break
        if text[pos] == "]":
            return items, False
        if text[pos] != ",":
            return items, True
        pos = _skip_ws(text, pos + 1)
    return items, True


def _str(value: object) -> str | None:
    if isinstance(value, str):
        stripped = " ".join(value.split())
        return stripped or None
    return None


def _int(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return None


def _when(value: object) -> dt.datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def _organization(value: object) -> str | None:
    if isinstance(value, Mapping):
        return _str(value.get("fullname")) or _str(value.get("name"))
    return _str(value)


def parse_item(item: object) -> Paper | None:
    """One Daily Papers item (``{"paper": {...}, "numComments": ...}``) as a Paper; None if unusable."""
    if not isinstance(item, Mapping):
        return None
    inner = item.get("paper")
    paper: Mapping[str, Any] = inner if isinstance(inner, Mapping) else item
    raw_id = paper.get("id")
    split = split_arxiv_id(raw_id) if isinstance(raw_id, str) else None
    if split is None:
        return None
    # a title is kept whatever it says ("0" is a real title); only a missing or blank one is unusable
    title = _str(paper.get("title")) or _str(item.get("title"))
    if title is None:
        return None
    authors = []
    raw_authors = paper.get("authors")
    if isinstance(raw_authors, list):
        for author in raw_authors:
            name = _str(author.get("name")) if isinstance(author, Mapping) else _str(author)
            if name:
                authors.append(name)
    keywords = paper.get("ai_keywords")
    signals = HFSignals(
        upvotes=_int(paper.get("upvotes")) or 0,
        num_comments=_int(item.get("numComments")),
        github_repo=_str(paper.get("githubRepo")),
        github_stars=_int(paper.get("githubStars")),
        project_page=_str(paper.get("projectPage")),
        organization=_organization(item.get("organization") or paper.get("organization")),
        ai_summary=_str(paper.get("ai_summary")),
        ai_keywords=[k for k in (_str(x) for x in keywords) if k] if isinstance(keywords, list) else [],
        submitted_on_daily_at=_when(paper.get("submittedOnDailyAt")),
    )
    identifier, version = split
    return Paper(
        id=identifier,
        version=version,
        title=title,
        abstract=_str(paper.get("summary")) or _str(item.get("summary")) or "",
        authors=authors,
        published=_when(paper.get("publishedAt")) or _when(item.get("publishedAt")),
        sources=[Source.HUGGINGFACE],
        hf=signals,
    )


def parse_daily(data: bytes) -> ParsedBatch:
    """Parse a ``/api/daily_papers`` body. Raises :class:`ParseError` only when it is not a JSON list at all
    (an HTML error page, an ``{"error": ...}`` object); bad items are skipped and counted."""
    text = data.decode("utf-8", errors="replace")
    try:
        items, truncated = iter_json_array(text)
    except ValueError:
        stripped = text.lstrip()[:1]
        what = "an HTML page" if stripped == "<" else "a JSON object" if stripped == "{" else "not JSON"
        raise ParseError(f"HuggingFace response is {what}, not a Daily Papers list", source=LABEL) from None
    return collect(items, parse_item, truncated=truncated, label=LABEL)


def fetch_huggingface(client: Getter, cfg: HuggingFaceConfig, day: dt.date) -> FetchResult:
    """The Daily Papers list of ``day``. Raises :class:`SourceError` when it cannot be fetched."""
    url = cfg.endpoint.rstrip("/") + "/api/daily_papers"
    before = client.requests_made
    papers: list[Paper] = []
    seen: set[str] = set()
    skipped = 0
    for page in range(MAX_PAGES):
        params = {"date": day.isoformat(), "limit": str(PAGE_SIZE)}
        if page:
            params["p"] = str(page)
        body = client.get(url, params, label=LABEL)
        try:
            batch = parse_daily(body)
        except ParseError as exc:
            raise SourceError(f"{LABEL}: {exc}", url=url) from None
        skipped += batch.skipped
        fresh = [p for p in batch.papers if p.id not in seen]
        seen.update(p.id for p in fresh)
        papers.extend(fresh)
        full = len(batch.papers) + batch.skipped >= PAGE_SIZE
        if not full or not fresh or batch.truncated:
            break
    requests = client.requests_made - before
    if papers:
        report = SourceReport(
            source=Source.HUGGINGFACE,
            status=SourceStatus.OK,
            count=len(papers),
            skipped_items=skipped,
            requests=requests,
        )
    elif day.weekday() >= 5:
        report = SourceReport(
            source=Source.HUGGINGFACE,
            status=SourceStatus.NO_ANNOUNCEMENT,
            skipped_items=skipped,
            requests=requests,
            notice=Notice(kind=NoticeKind.WEEKEND, source=Source.HUGGINGFACE),
        )
    else:
        report = SourceReport(
            source=Source.HUGGINGFACE,
            status=SourceStatus.EMPTY,
            skipped_items=skipped,
            requests=requests,
            notice=(
                Notice(kind=NoticeKind.UNPARSABLE, source=Source.HUGGINGFACE, count=skipped)
                if skipped
                else Notice(kind=NoticeKind.LIST_EMPTY, source=Source.HUGGINGFACE)
            ),
        )
    logger.info("HuggingFace %s: %d papers, %d skipped, %d requests", day, len(papers), skipped, requests)
    return FetchResult(papers=papers, report=report)
