"""arXiv: the export API (Atom) for any announcement, and the RSS feed for today's.

:func:`parse_atom` and :func:`parse_rss` are pure functions of the response bytes, read with feedparser
(tolerant of wrongly declared encodings and of damage; see ``bench/bench_feed_parsers.py`` for how it compares
with the ElementTree parser it replaced). A body cut off halfway yields every complete entry before the cut. A
payload that is not a feed at all (an HTML error page) or is an export-API ``Error`` feed raises
:class:`ParseError`.

:func:`fetch_arxiv` decides which to use (see :mod:`.calendar` for what a digest date means): the RSS feed
when the digest date is today's, and the export API, paged by ``PAGE_SIZE`` with ``delay_seconds`` between
requests, for any other date.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import html
import logging
import re
import xml.sax
from collections.abc import Mapping, Sequence
from typing import Any

import feedparser

from ..config import ArxivConfig
from ..errors import ParseError, SourceError
from ..models import (
    ArxivSignals,
    FetchResult,
    Notice,
    NoticeKind,
    Paper,
    Source,
    SourceReport,
    SourceStatus,
    split_arxiv_id,
)
from .archive import OfflineClient
from .calendar import EASTERN, Announcement, announcement_for, no_announcement_notice
from .parsed import Getter, ParsedBatch, collect

logger = logging.getLogger(__name__)

LABEL = "arXiv"
#: the politeness group of every arXiv host (API, RSS, web pages): one request every ``delay_seconds`` to all
HOST_GROUP = "arxiv"
#: one feed entry as feedparser gives it (a dict with attribute access; namespaced elements as ``arxiv_*``)
Entry = Mapping[str, Any]
#: entries per export-API page (a cs.CV day is 200-600 entries: one to three pages; the API allows 2000)
PAGE_SIZE = 200
#: never page further than this many pages for one announcement
MAX_PAGES = 50
#: a page that comes back empty although totalResults says more is asked again this many times
EMPTY_PAGE_RETRIES = 2
#: ids asked for in one ``id_list`` request (a URL of ~1.5 kB; the export API pages by ``max_results``)
ID_LIST_CHUNK = 100

_ANNOUNCE = re.compile(r"arXiv:(?P<id>\S+)\s+Announce Type:\s*(?P<type>[\w-]+)", re.IGNORECASE)
#: what feedparser reports as the version of each kind of feed
_VERSIONS = {"an Atom feed": "atom", "an RSS feed": "rss"}


def _text(value: object) -> str | None:
    """Whitespace-normalised text, or None when missing or blank ("0" is a real value and is kept)."""
    if not isinstance(value, str):
        return None
    return " ".join(value.split()) or None


def _when(value: str | None) -> dt.datetime | None:
    if not value:
        return None
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def _read_feed(data: bytes, what: str, closing: str) -> tuple[feedparser.FeedParserDict, list[Entry], bool]:
    """feedparser's reading of a feed, its entries, and whether the body broke off before ``closing`` (the
    root's end tag). feedparser is tolerant: it decodes odd and wrongly declared encodings and reads on past
    garbage; what it cannot know is that a body cut short ends in a half entry, so that entry is dropped
    here (a cut export-API page asks for it again on the next page).

    Raises ParseError when the payload is not a feed of that kind (e.g. an HTML error page)."""
    try:
        parsed = feedparser.parse(data, sanitize_html=False, resolve_relative_uris=False)
    except Exception as exc:  # feedparser promises never to raise (bozo); a bug in it must not end the run
        what_failed = exc.__class__.__name__
        raise ParseError(f"arXiv response could not be read ({what_failed})", source=LABEL) from None
    version = str(parsed.get("version") or "")
    if not version.startswith(_VERSIONS[what]):
        start = data.lstrip()[:15].lower()
        if start.startswith((b"<!doctype html", b"<html")) or version.startswith("html"):
            kind = "an HTML page"
        elif version:
            kind = f"{version}"
        else:
            root = re.match(rb"\s*(?:<\?xml[^>]*>\s*)?<([A-Za-z][\w:.-]*)", data)
            kind = f"<{root.group(1).decode('ascii').split(':')[-1].lower()}>" if root else "not XML"
        raise ParseError(f"arXiv response is {kind}, not {what}", source=LABEL)
    entries: list[Entry] = list(parsed.entries)
    if isinstance(parsed.get("bozo_exception"), xml.sax.SAXParseException):
        # not well-formed XML: feedparser read it with its loose parser, which leaves entities in elements it
        # does not know (arxiv:comment "a&amp;b") as they are
        entries = [_unescape_extensions(entry) for entry in entries]
    encoding = str(parsed.get("encoding") or "utf-8")
    try:
        tail = data[-256:].decode(encoding, "ignore") if data[-256:] else ""
    except LookupError:
        tail = data[-256:].decode("utf-8", "ignore")
    cut = not tail.rstrip().lower().endswith(closing)
    if cut and entries:
        entries.pop()  # the entry the cut went through
    return parsed, entries, cut


def _unescape_extensions(entry: Entry) -> Entry:
    return {
        key: html.unescape(value) if key.startswith("arxiv_") and isinstance(value, str) else value
        for key, value in entry.items()
    }


def _atom_entry(entry: Entry) -> Paper | None:
    split = split_arxiv_id(_text(entry.get("id")) or "")
    title = _text(entry.get("title"))
    if split is None or title is None:
        return None
    categories = [t for tag in entry.get("tags", []) if (t := _text(tag.get("term")))]
    primary = _text((entry.get("arxiv_primary_category") or {}).get("term"))
    primary = primary or (categories[0] if categories else None)
    if primary:
        if primary in categories:
            categories.remove(primary)
        categories.insert(0, primary)
    authors = [name for a in entry.get("authors", []) if (name := _text(a.get("name")))]
    identifier, version = split
    return Paper(
        id=identifier,
        version=version,
        title=title,
        abstract=_text(entry.get("summary")) or "",
        authors=authors,
        published=_when(_text(entry.get("published"))),
        updated=_when(_text(entry.get("updated"))),
        sources=[Source.ARXIV],
        arxiv=ArxivSignals(
            primary_category=primary,
            categories=categories,
            comment=_text(entry.get("arxiv_comment")),
            journal_ref=_text(entry.get("arxiv_journal_ref")),
            doi=_text(entry.get("arxiv_doi")),
        ),
    )


def _is_error_entry(entry: Entry) -> bool:
    entry_id = _text(entry.get("id")) or ""
    title = _text(entry.get("title"))
    return "/api/errors" in entry_id or (title == "Error" and split_arxiv_id(entry_id) is None)


def parse_atom(data: bytes) -> ParsedBatch:
    """Parse an export API Atom feed (current and legacy layouts)."""
    feed, entries, truncated = _read_feed(data, "an Atom feed", "</feed>")
    for entry in entries:
        if _is_error_entry(entry):
            reason = (_text(entry.get("summary")) or "unknown error")[:120]
            raise ParseError(f"arXiv API error: {reason}", source=LABEL)
    total_text = _text(feed.feed.get("opensearch_totalresults"))
    total = int(total_text) if total_text is not None and total_text.isdigit() else None
    return collect(entries, _atom_entry, truncated=truncated, label="arXiv Atom", total_results=total)


def _rss_item(item: Entry) -> Paper | None:
    description = str(item.get("summary") or "")
    match = _ANNOUNCE.search(description)
    split = split_arxiv_id(match.group("id")) if match else None
    if split is None:
        guid = (_text(item.get("id")) or "").removeprefix("oai:arXiv.org:")
        split = split_arxiv_id(guid) or split_arxiv_id(_text(item.get("link")) or "")
    title = _text(item.get("title"))
    if split is None or title is None:
        return None
    announce = _text(item.get("arxiv_announce_type")) or (match.group("type") if match else None)
    _, sep, abstract = description.partition("Abstract:")
    categories = [c for tag in item.get("tags", []) if (c := _text(tag.get("term")))]
    creators = " ".join(_text(a.get("name")) or "" for a in item.get("authors", []))
    authors = [a.strip() for a in re.split(r",|\band\b", creators) if a.strip()]
    identifier, version = split
    return Paper(
        id=identifier,
        version=version,
        title=title,
        abstract=" ".join(abstract.split()) if sep else "",
        authors=authors,
        sources=[Source.ARXIV],
        arxiv=ArxivSignals(
            primary_category=categories[0] if categories else None,
            categories=categories,
            announce_type=announce.lower() if announce else None,
            comment=_text(item.get("arxiv_comments")) or _text(item.get("arxiv_comment")),
            journal_ref=_text(item.get("arxiv_journal_reference")) or _text(item.get("arxiv_journal_ref")),
            doi=_text(item.get("arxiv_doi")),
        ),
    )


def _feed_date(value: str | None) -> dt.date | None:
    if not value:
        return None
    try:
        when = email.utils.parsedate_to_datetime(value.strip())
    except (TypeError, ValueError, IndexError):
        return None
    return when.astimezone(EASTERN).date() if when.tzinfo else when.date()


def parse_rss(data: bytes) -> ParsedBatch:
    """Parse an rss.arxiv.org feed (announce types new / cross / replace / replace-cross)."""
    feed, items, truncated = _read_feed(data, "an RSS feed", "</rss>")
    feed_date = _feed_date(_text(feed.feed.get("published")))
    return collect(items, _rss_item, truncated=truncated, label="arXiv RSS", feed_date=feed_date)


# --- fetching -------------------------------------------------------------------------------------------


def _classify(paper: Paper, categories: list[str]) -> Paper:
    """Set the announce type the export API does not give: new when the primary category is one asked for."""
    signals = paper.arxiv or ArxivSignals()
    if signals.announce_type is not None:
        return paper
    kind = "new" if signals.primary_category in categories else "cross"
    return paper.model_copy(update={"arxiv": signals.model_copy(update={"announce_type": kind})})


def _wanted(paper: Paper, cfg: ArxivConfig) -> bool:
    kind = paper.arxiv.announce_type if paper.arxiv else None
    if kind in ("replace", "replace-cross") and not cfg.include_replacements:
        return False
    return not (kind in ("cross", "replace-cross") and not cfg.include_cross_lists)


def search_query(categories: list[str], announcement: Announcement) -> str:
    cats = " OR ".join(f"cat:{c}" for c in categories)
    return f"({cats}) AND {announcement.submitted_date_filter()}"


def _parse(parser_name: str, data: bytes) -> ParsedBatch:
    try:
        return parse_atom(data) if parser_name == "atom" else parse_rss(data)
    except ParseError as exc:
        raise SourceError(f"{LABEL}: {exc}") from None


def _fetch_api(
    client: Getter, cfg: ArxivConfig, announcement: Announcement
) -> tuple[list[Paper], int, tuple[int, int] | None]:
    """The announcement's papers, the items skipped, and (received, totalResults) when the API stopped
    answering before the end (empty pages although totalResults says more: a known arXiv API behaviour,
    which arxiv.py names ``UnexpectedEmptyPageError``, github.com/lukasschwab/arxiv.py)."""
    client.space_host(cfg.api_url, cfg.delay_seconds, group=HOST_GROUP)
    query = search_query(cfg.categories, announcement)
    papers: list[Paper] = []
    skipped = 0
    start = 0
    total: int | None = None
    shortfall: tuple[int, int] | None = None
    for _ in range(MAX_PAGES):
        params = {
            "search_query": query,
            "start": str(start),
            "max_results": str(PAGE_SIZE),
            "sortBy": "submittedDate",
            "sortOrder": "ascending",
        }
        batch = ParsedBatch()
        for retry in range(EMPTY_PAGE_RETRIES + 1):
            batch = _parse("atom", client.get(cfg.api_url, params, label=LABEL))
            total = batch.total_results if batch.total_results is not None else total
            if batch.papers or batch.skipped or total is None or start >= total:
                break
            logger.warning(
                "arXiv API returned an empty page at start=%d of %d (try %d)", start, total, retry + 1
            )
        # a page cut mid-entry counts its cut entry as skipped; it is not consumed: the next page starts at it
        cut = 1 if batch.truncated and batch.skipped else 0
        skipped += batch.skipped - cut
        papers.extend(batch.papers)
        got = len(batch.papers) + batch.skipped - cut
        start += got
        if total is None or start >= total:
            break
        if got == 0:
            shortfall = (start, total)
            logger.warning("arXiv: API returned %d of %d results; keeping what came", start, total)
            break
    return papers, skipped, shortfall


def _fetch_rss(client: Getter, cfg: ArxivConfig, day: dt.date) -> tuple[list[Paper], int] | None:
    """Today's announcement from RSS; None when the feed already shows a later announcement."""
    url = _rss_url(cfg)
    batch = _parse("rss", client.get(url, None, label=LABEL))
    if batch.feed_date is not None and batch.feed_date < day:
        raise SourceError(
            f"{LABEL}: the RSS feed still shows the announcement of {batch.feed_date}; "
            f"the one for {day} is not out yet (arXiv announces at 20:00 US Eastern)",
            url=url,
        )
    if batch.feed_date is not None and batch.feed_date > day:
        return None
    return batch.papers, batch.skipped


def _shortfall_notice(shortfall: tuple[int, int] | None) -> Notice | None:
    if shortfall is None:
        return None
    received, total = shortfall
    return Notice(kind=NoticeKind.PARTIAL, source=Source.ARXIV, count=received, total=total)


def _rss_url(cfg: ArxivConfig) -> str:
    return f"{cfg.rss_url.rstrip('/')}/{'+'.join(cfg.categories)}"


def _use_rss(client: Getter, cfg: ArxivConfig, day: dt.date, today: dt.date) -> bool:
    """RSS for today's announcement (it only ever shows the latest), the export API for any other day."""
    if isinstance(client, OfflineClient):
        # an offline re-run serves whatever the original run fetched
        return client.has(_rss_url(cfg))
    return day == today


def fetch_arxiv(client: Getter, cfg: ArxivConfig, day: dt.date, *, today: dt.date) -> FetchResult:
    """The arXiv announcement read on digest date ``day``.

    Raises :class:`SourceError` when it cannot be fetched."""
    announcement = announcement_for(day)
    if announcement is None:
        return FetchResult(
            report=SourceReport(
                source=Source.ARXIV,
                status=SourceStatus.NO_ANNOUNCEMENT,
                notice=no_announcement_notice(day)
                or Notice(kind=NoticeKind.NO_ANNOUNCEMENT, source=Source.ARXIV),
            )
        )
    before = client.requests_made
    shortfall: tuple[int, int] | None = None
    rss = _fetch_rss(client, cfg, day) if _use_rss(client, cfg, day, today) else None
    if rss is not None:
        raw, skipped = rss
        via = "rss"
    else:
        raw, skipped, shortfall = _fetch_api(client, cfg, announcement)
        via = "api"
    papers: list[Paper] = []
    seen: set[str] = set()
    excluded = 0
    for paper in raw:
        paper = _classify(paper, cfg.categories)
        if paper.id in seen:
            continue
        if not _wanted(paper, cfg):
            excluded += 1
            continue
        seen.add(paper.id)
        papers.append(paper)
    requests = client.requests_made - before
    note = f"API returned {shortfall[0]} of {shortfall[1]} results" if shortfall else None
    logger.info(
        "arXiv %s via %s: %d papers, %d skipped, %d left out (cross/replace), %d requests",
        day,
        via,
        len(papers),
        skipped,
        excluded,
        requests,
    )
    if papers:
        report = SourceReport(
            source=Source.ARXIV,
            status=SourceStatus.OK,
            count=len(papers),
            skipped_items=skipped,
            requests=requests,
            detail=note,
            notice=_shortfall_notice(shortfall),
        )
    else:
        report = SourceReport(
            source=Source.ARXIV,
            status=SourceStatus.EMPTY,
            skipped_items=skipped,
            requests=requests,
            detail=note,
            notice=Notice(
                kind=NoticeKind.NONE_IN_CATEGORIES, source=Source.ARXIV, categories=tuple(cfg.categories)
            ),
        )
    return FetchResult(papers=papers, report=report)


def fetch_arxiv_ids(client: Getter, cfg: ArxivConfig, ids: Sequence[str]) -> list[Paper]:
    """The papers with these arXiv ids (``2606.13681`` or ``2606.13681v2``) from the export API's ``id_list``.

    Best effort, never raises: a malformed id, an id the API does not return, or a request that fails is
    logged (the id, never a response body) and left out; the caller gets the papers that came."""
    wanted: dict[str, str] = {}  # query id -> id without version
    for raw in ids:
        split = split_arxiv_id(raw)
        if split is None:
            logger.warning("arXiv: %r is not an arXiv id; skipped", raw[:40])
            continue
        base, version = split
        wanted.setdefault(f"{base}v{version}" if version else base, base)
    if not wanted:
        return []
    client.space_host(cfg.api_url, cfg.delay_seconds, group=HOST_GROUP)
    queries = list(wanted)
    found: dict[str, Paper] = {}
    for start in range(0, len(queries), ID_LIST_CHUNK):
        chunk = queries[start : start + ID_LIST_CHUNK]
        params = {"id_list": ",".join(chunk), "max_results": str(len(chunk))}
        try:
            batch = _parse("atom", client.get(cfg.api_url, params, label=LABEL))
        except SourceError as exc:
            logger.warning("arXiv: %d papers by id could not be fetched (%s)", len(chunk), exc)
            continue
        for paper in batch.papers:
            found.setdefault(paper.id, paper)
    missing = sorted({base for base in wanted.values() if base not in found})
    if missing:
        logger.warning("arXiv: no entry for %s", ", ".join(missing[:10]))
    return [found[base] for base in dict.fromkeys(wanted.values()) if base in found]
