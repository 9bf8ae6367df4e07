"""Fetching a paper's full text from arXiv, politely, once per paper version.

:func:`fetch_full_text` tries ``{web_url}/html/{id}v{n}`` (arXiv's HTML rendering, which exists for most
papers submitted since December 2023), then ``{web_url}/pdf/{id}v{n}``, and otherwise says why the abstract
must stand in. It never raises: a full-text failure never costs the deep dive.

Politeness: the same client as the export API, with arXiv's web host in the same spacing group
(:data:`..arxiv.HOST_GROUP`), so API and full-text requests together keep one request every
``delay_seconds`` and one connection at a time (arXiv's Terms of Use for automated access:
https://info.arxiv.org/help/api/tou.html). Retries are the client's.

Cache: one JSON file per paper version under ``<cache_dir>/fulltext/`` holding the extracted document (not the
PDF), or the final reason there is none (no HTML and no PDF, a PDF too large or unreadable). A failure that
may pass (a timeout, a 503 after retries) is not cached, so the next run asks again.
"""

from __future__ import annotations

import logging
import re
from enum import StrEnum
from pathlib import Path

from pydantic import BaseModel, ValidationError

from ...config import ArxivConfig
from ...errors import ParseError, SourceError, StoreError
from ...models import Paper
from ...store import atomic_write_text, read_json
from ..arxiv import HOST_GROUP
from ..parsed import Getter
from .document import Document
from .html import parse_html
from .pdf import parse_pdf

logger = logging.getLogger(__name__)

#: bump when the extractors change what they return: cached documents of an older extractor are fetched again
EXTRACTOR_VERSION = "1"
_UNSAFE = re.compile(r"[^A-Za-z0-9.]+")
_WITHDRAWN = re.compile(r"\b(this (paper|article|submission) (has been|is) withdrawn|withdrawn by)\b", re.I)


class Origin(StrEnum):
    HTML = "html"
    PDF = "pdf"
    #: no full text: the deep dive is written from the abstract
    ABSTRACT = "abstract"


class Reason(StrEnum):
    """Why the abstract stands in."""

    DISABLED = "disabled"
    WITHDRAWN = "withdrawn"
    NOT_FOUND = "not_found"  # neither HTML nor PDF (404)
    TOO_LARGE = "too_large"
    UNREADABLE = "unreadable"  # a PDF pypdf cannot read, or one without text
    FAILED = "failed"  # a fetch failed after retries (not cached: may pass)


#: reasons that are final for a paper version: cached, so a rerun does not ask again
FINAL = frozenset({Reason.NOT_FOUND, Reason.TOO_LARGE, Reason.UNREADABLE, Reason.WITHDRAWN})


class FullText(BaseModel):
    """A paper's full text, or why there is none."""

    paper: str  # versioned id
    origin: Origin
    document: Document | None = None
    reason: Reason | None = None
    extractor: str = EXTRACTOR_VERSION
    #: True when read from the cache (no request made)
    cached: bool = False


class FullTextCache:
    """``<cache_dir>/fulltext/<id>v<n>.json``; unreadable or stale entries are ignored, never fatal."""

    def __init__(self, cache_dir: Path) -> None:
        self.folder = cache_dir / "fulltext"

    def path(self, versioned_id: str) -> Path:
        return self.folder / f"{_UNSAFE.sub('_', versioned_id)}.json"

    def load(self, versioned_id: str) -> FullText | None:
        data = read_json(self.path(versioned_id))
        if data is None:
            return None
        try:
            entry = FullText.model_validate(data)
        except ValidationError:
            logger.warning("full-text cache entry for %s is unreadable; fetching again", versioned_id)
            return None
        if entry.extractor != EXTRACTOR_VERSION or entry.paper != versioned_id:
            return None
        return entry.model_copy(update={"cached": True})

    def save(self, entry: FullText) -> None:
        try:
            atomic_write_text(self.path(entry.paper), entry.model_dump_json(exclude={"cached"}))
        except StoreError as exc:
            logger.warning("full-text cache not written for %s: %s", entry.paper, exc)


def full_text_urls(cfg: ArxivConfig, versioned_id: str) -> tuple[str, str]:
    base = cfg.web_url.rstrip("/")
    return f"{base}/html/{versioned_id}", f"{base}/pdf/{versioned_id}"


def _withdrawn(paper: Paper) -> bool:
    comment = paper.arxiv.comment if paper.arxiv else None
    return bool(_WITHDRAWN.search(paper.abstract) or (comment and _WITHDRAWN.search(comment)))


def _html(client: Getter, url: str) -> Document | None:
    """The HTML rendering, or None when there is none (404) or it cannot be read. Raises SourceError else."""
    try:
        body = client.get(url, None, label="arXiv HTML", archive=False)
    except SourceError as exc:
        if exc.status == 404:
            return None
        raise
    try:
        return parse_html(body)
    except ParseError as exc:
        logger.info("arXiv HTML %s unreadable (%s); trying the PDF", url, exc)
        return None


def fetch_full_text(
    client: Getter,
    cfg: ArxivConfig,
    paper: Paper,
    *,
    cache: FullTextCache | None = None,
    cached_only: bool = False,
) -> FullText:
    """The full text of ``paper`` (HTML, else PDF), or the reason the abstract stands in. Never raises.

    ``cached_only`` makes no request: what the cache holds, else the abstract (reason "failed", not cached),
    for a run that cannot ask the model anyway (no key) but may serve cached deep dives."""
    vid = paper.versioned_id
    if not cfg.full_text:
        return FullText(paper=vid, origin=Origin.ABSTRACT, reason=Reason.DISABLED)
    if cache is not None and (hit := cache.load(vid)) is not None:
        return hit
    if cached_only:
        return FullText(paper=vid, origin=Origin.ABSTRACT, reason=Reason.FAILED)
    result = _fetch(client, cfg, paper)
    if cache is not None and (result.reason is None or result.reason in FINAL):
        cache.save(result)
    return result


def _fetch(client: Getter, cfg: ArxivConfig, paper: Paper) -> FullText:
    vid = paper.versioned_id
    if _withdrawn(paper):
        return FullText(paper=vid, origin=Origin.ABSTRACT, reason=Reason.WITHDRAWN)
    html_url, pdf_url = full_text_urls(cfg, vid)
    client.space_host(cfg.web_url, cfg.delay_seconds, group=HOST_GROUP)
    try:
        document = _html(client, html_url)
    except SourceError as exc:
        logger.warning("arXiv HTML of %s could not be fetched (%s); trying the PDF", vid, exc)
        document = None
    if document is not None:
        return FullText(paper=vid, origin=Origin.HTML, document=document)
    limit = int(cfg.max_pdf_mb * 1024 * 1024)
    try:
        body = client.get(pdf_url, None, label="arXiv PDF", archive=False, max_bytes=limit)
    except SourceError as exc:
        if exc.kind == "too_large":
            logger.info("arXiv PDF of %s is larger than %.0f MB; the abstract stands in", vid, cfg.max_pdf_mb)
            return FullText(paper=vid, origin=Origin.ABSTRACT, reason=Reason.TOO_LARGE)
        if exc.status == 404:
            logger.info("arXiv has neither HTML nor PDF for %s; the abstract stands in", vid)
            return FullText(paper=vid, origin=Origin.ABSTRACT, reason=Reason.NOT_FOUND)
        logger.warning("arXiv PDF of %s could not be fetched (%s); the abstract stands in", vid, exc)
        return FullText(paper=vid, origin=Origin.ABSTRACT, reason=Reason.FAILED)
    try:
        if not body.lstrip()[:5].startswith(b"%PDF"):
            raise ParseError("not a PDF", source="arXiv PDF")
        document = parse_pdf(body)
    except ParseError as exc:
        logger.warning("arXiv PDF of %s unreadable (%s); the abstract stands in", vid, exc)
        return FullText(paper=vid, origin=Origin.ABSTRACT, reason=Reason.UNREADABLE)
    return FullText(paper=vid, origin=Origin.PDF, document=document)
