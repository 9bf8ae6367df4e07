"""Test helpers for the sources stage: a scripted local HTTP server, and renderers that turn the
corpus' arXiv listing records (tests/fixtures/arxiv/DATE.jsonl) into export-API Atom and rss.arxiv.org RSS."""

from __future__ import annotations

import datetime as dt
import json
import re
import socket
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit
from xml.sax.saxutils import escape, quoteattr

from local_server import LocalServer

FIXTURES = Path(__file__).parent / "fixtures"
#: rss.arxiv.org ends the "Announce Type" line with a space
TRAILING_SPACE = " "


@dataclass
class Reply:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    #: seconds to stall before answering (real time: keep it small)
    delay: float = 0.0
    #: Content-Length to announce (default: the real length); larger than the body simulates a cut connection
    content_length: int | None = None


@dataclass
class Seen:
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    at: float


Handler = Callable[[Seen], Reply]


class ScriptedServer:
    """A threaded HTTP server on 127.0.0.1. ``route(path, ...)`` sets a handler or a queue of replies."""

    def __init__(self) -> None:
        self.requests: list[Seen] = []
        self._routes: dict[str, Handler] = {}
        #: handlers for every path under a prefix (when no exact route matches)
        self._prefixes: list[tuple[str, Handler]] = []
        self._queues: dict[str, list[Reply]] = {}
        self._preludes: dict[str, list[Reply | Callable[[Reply], Reply]]] = {}
        outer = self

        class _Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                query = {k: v[0] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
                seen = Seen(parts.path, query, dict(self.headers.items()), time.monotonic())
                outer.requests.append(seen)
                reply = outer._reply_for(seen)
                if reply.delay:
                    time.sleep(reply.delay)
                try:
                    self.send_response(reply.status)
                    for name, value in reply.headers.items():
                        self.send_header(name, value)
                    length = len(reply.body) if reply.content_length is None else reply.content_length
                    self.send_header("Content-Length", str(length))
                    if reply.content_length is not None:
                        self.send_header("Connection", "close")
                        self.close_connection = True
                    self.end_headers()
                    self.wfile.write(reply.body)
                    self.wfile.flush()
                except (BrokenPipeError, ConnectionResetError):
                    pass

        self._server = LocalServer(_Handler, name="scripted-server")

    def _reply_for(self, seen: Seen) -> Reply:
        prelude = self._preludes.get(seen.path)
        if prelude:
            first = prelude.pop(0)
            if isinstance(first, Reply):
                return first
            handler = self._routes.get(seen.path)
            return first(handler(seen) if handler is not None else Reply(404, b"not found"))
        queue = self._queues.get(seen.path)
        if queue:
            reply = queue.pop(0) if len(queue) > 1 else queue[0]
            return reply
        handler = self._routes.get(seen.path)
        if handler is None:
            handler = next((h for prefix, h in self._prefixes if seen.path.startswith(prefix)), None)
        if handler is None:
            return Reply(404, b"not found")
        return handler(seen)

    @property
    def url(self) -> str:
        return self._server.url

    def route(self, path: str, handler: Handler) -> None:
        self._routes[path] = handler

    def route_prefix(self, prefix: str, handler: Handler) -> None:
        """Answer every path starting with ``prefix`` (that has no exact route) with ``handler``."""
        self._prefixes.append((prefix, handler))

    def script(self, path: str, replies: Sequence[Reply]) -> None:
        """Answer ``path`` with these replies in turn (the last one repeats)."""
        self._queues[path] = list(replies)

    def prelude(self, path: str, replies: Sequence[Reply | Callable[[Reply], Reply]]) -> None:
        """Answer the next requests to ``path`` with these, then go back to its route (nothing repeats).
        A callable gets the route's own reply and returns what to send instead (e.g. the body cut in half)."""
        self._preludes[path] = list(replies)

    def start(self) -> ScriptedServer:
        self._server.start()
        return self

    def stop(self) -> None:
        self._server.stop()

    def __enter__(self) -> ScriptedServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


# --- the corpus as arXiv would serve it --------------------------------------------------------------------


def load_listing(day: str) -> list[dict[str, Any]]:
    """The day's listing records, one per distinct id (the file repeats ids listed in several categories)."""
    records: dict[str, dict[str, Any]] = {}
    for line in (FIXTURES / "arxiv" / f"{day}.jsonl").read_text(encoding="utf-8").splitlines():
        if line.strip():
            record = json.loads(line)
            records.setdefault(record["id"], record)
    return list(records.values())


def with_times(
    records: Sequence[dict[str, Any]], start: dt.datetime, end: dt.datetime
) -> list[dict[str, Any]]:
    """Give each record a submission time spread evenly inside ``[start, end)`` (the listing has none)."""
    span = (end - start) / max(1, len(records))
    return [{**r, "submitted": start + span * i} for i, r in enumerate(records)]


def _iso(when: dt.datetime) -> str:
    return when.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def atom_entry(record: dict[str, Any], version: int = 1) -> str:
    when = record.get("submitted") or dt.datetime(2026, 6, 15, 12, tzinfo=dt.UTC)
    cats = "".join(
        f'\n    <category term="{c}" scheme="http://arxiv.org/schemas/atom"/>' for c in record["categories"]
    )
    authors = "".join(
        f"\n    <author>\n      <name>{escape(a)}</name>\n    </author>" for a in record["authors"]
    )
    comment = (
        f"\n    <arxiv:comment>{escape(record['comment'])}</arxiv:comment>" if record.get("comment") else ""
    )
    return f"""  <entry>
    <id>http://arxiv.org/abs/{record["id"]}v{version}</id>
    <title>{escape(record["title"])}</title>
    <updated>{_iso(when)}</updated>
    <link href="https://arxiv.org/abs/{record["id"]}v{version}" rel="alternate" type="text/html"/>
    <link href="https://arxiv.org/pdf/{record["id"]}v{version}" rel="related" \
type="application/pdf" title="pdf"/>
    <summary>{escape(record["summary"])}</summary>{cats}
    <published>{_iso(when)}</published>{comment}
    <arxiv:primary_category term="{record["categories"][0]}"/>{authors}
  </entry>
"""


def render_atom(entries: Sequence[dict[str, Any]], *, total: int, start: int, query: str = "") -> bytes:
    """An export-API Atom page in the current layout (as export.arxiv.org serves it in 2026)."""
    body = "".join(atom_entry(r) for r in entries)
    return f"""<?xml version='1.0' encoding='UTF-8'?>
<feed xmlns:opensearch="http://a9.com/-/spec/opensearch/1.1/" xmlns:arxiv="http://arxiv.org/schemas/atom" \
xmlns="http://www.w3.org/2005/Atom">
  <id>https://arxiv.org/api/test</id>
  <title>arXiv Query: search_query={escape(query)}&amp;id_list=&amp;start={start}\
&amp;max_results={len(entries)}</title>
  <updated>2026-06-16T00:00:00Z</updated>
  <opensearch:itemsPerPage>{len(entries)}</opensearch:itemsPerPage>
  <opensearch:totalResults>{total}</opensearch:totalResults>
  <opensearch:startIndex>{start}</opensearch:startIndex>
{body}</feed>
""".encode()


def rss_item(record: dict[str, Any], announce: str, version: int = 1) -> str:
    cats = "".join(f"\n      <category>{c}</category>" for c in record["categories"])
    return f"""    <item>
      <title>{escape(record["title"])}</title>
      <link>https://arxiv.org/abs/{record["id"]}</link>
      <description>arXiv:{record["id"]}v{version} Announce Type: {announce}{TRAILING_SPACE}
Abstract: {escape(record["summary"])}</description>
      <guid isPermaLink="false">oai:arXiv.org:{record["id"]}v{version}</guid>{cats}
      <pubDate>Tue, 16 Jun 2026 00:00:00 -0400</pubDate>
      <arxiv:announce_type>{announce}</arxiv:announce_type>
      <dc:rights>http://creativecommons.org/licenses/by/4.0/</dc:rights>
      <dc:creator>{escape(", ".join(record["authors"]))}</dc:creator>
    </item>
"""


def render_rss(items: Sequence[tuple[dict[str, Any], str, int]], *, day: dt.date, categories: str) -> bytes:
    """An rss.arxiv.org channel for the announcement read on ``day``: ``(record, announce type, version)``."""
    pub = format_datetime(dt.datetime.combine(day, dt.time(0), tzinfo=dt.timezone(dt.timedelta(hours=-4))))
    body = "".join(rss_item(r, a, v) for r, a, v in items)
    return f"""<?xml version='1.0' encoding='UTF-8'?>
<rss xmlns:arxiv="http://arxiv.org/schemas/atom" xmlns:dc="http://purl.org/dc/elements/1.1/" \
xmlns:atom="http://www.w3.org/2005/Atom" xmlns:content="http://purl.org/rss/1.0/modules/content/" \
version="2.0">
  <channel>
    <title>{escape(categories.replace("+", ", "))} updates on arXiv.org</title>
    <link>http://rss.arxiv.org/rss/{categories}</link>
    <description>{escape(categories)} updates on the arXiv.org e-print archive.</description>
    <atom:link href={quoteattr("http://rss.arxiv.org/rss/" + categories)} rel="self" \
type="application/rss+xml"/>
    <language>en-us</language>
    <pubDate>{pub}</pubDate>
{body}  </channel>
</rss>
""".encode()


def rss_from_listing(day: str, categories: Sequence[str]) -> bytes:
    """The day's listing as the RSS feed for ``categories``: new when the primary category is asked for,
    cross otherwise; ids from an older month are announced as replacements (v2)."""
    records = [r for r in load_listing(day) if set(r["categories"]) & set(categories)]
    month = max(r["id"][:4] for r in records)
    items = []
    for record in records:
        primary = record["categories"][0] in categories
        if record["id"][:4] < month:
            items.append((record, "replace" if primary else "replace-cross", 2))
        else:
            items.append((record, "new" if primary else "cross", 1))
    return render_rss(items, day=dt.date.fromisoformat(day), categories="+".join(categories))


_CAT = re.compile(r"cat:([\w.\-]+)")
_WINDOW = re.compile(r"submittedDate:\[(\d{12}) TO (\d{12})\]")


class FakeExportApi:
    """Answers ``/api/query`` like export.arxiv.org for one corpus day: category and submittedDate filters,
    sorting by submission time, ``start``/``max_results`` paging and ``totalResults``."""

    def __init__(self, records: Sequence[dict[str, Any]]) -> None:
        self.records = sorted(records, key=lambda r: r["submitted"])
        self.queries: list[dict[str, str]] = []

    def __call__(self, seen: Seen) -> Reply:
        self.queries.append(seen.query)
        if seen.query.get("id_list"):
            return self.by_ids(seen.query["id_list"].split(","))
        query = seen.query.get("search_query", "")
        cats = set(_CAT.findall(query))
        window = _WINDOW.search(query)
        hits = [r for r in self.records if not cats or cats & set(r["categories"])]
        if window:
            low, high = (
                dt.datetime.strptime(x, "%Y%m%d%H%M").replace(tzinfo=dt.UTC) for x in window.groups()
            )
            hits = [r for r in hits if low <= r["submitted"] <= high + dt.timedelta(seconds=59)]
        start = int(seen.query.get("start", "0"))
        size = int(seen.query.get("max_results", "10"))
        page = hits[start : start + size]
        body = render_atom(page, total=len(hits), start=start, query=query)
        return Reply(200, body, {"Content-Type": "application/atom+xml; charset=utf-8"})

    def by_ids(self, ids: Sequence[str]) -> Reply:
        """``id_list=a,b``: the records with those ids (a version suffix is ignored), in the order asked."""
        by_id = {r["id"]: r for r in self.records}
        hits = [by_id[i.split("v")[0]] for i in ids if i.split("v")[0] in by_id]
        body = render_atom(hits, total=len(hits), start=0)
        return Reply(200, body, {"Content-Type": "application/atom+xml; charset=utf-8"})


def cs_cv_day(day: str, window: tuple[dt.datetime, dt.datetime]) -> list[dict[str, Any]]:
    """The corpus day's records with submission times inside the announcement window."""
    return with_times(load_listing(day), *window)


def iter_hf_days() -> Iterator[Path]:
    yield from sorted((FIXTURES / "hf").glob("*.json"))


def break_dns(monkeypatch: Any, *names: str) -> list[str]:
    """Make these host names fail to resolve, as without DNS or network (``socket.gaierror`` EAI_NONAME, which
    urllib3 wraps in NameResolutionError); a name starting with "." covers its subdomains (``.invalid``, RFC
    2606). Injected: no real resolver is asked. Returns the hosts asked, in order."""
    real_getaddrinfo = socket.getaddrinfo
    asked: list[str] = []

    def resolve(host: str, *args: Any, **kwargs: Any) -> Any:
        if any(host == n or (n.startswith(".") and host.endswith(n)) for n in names):
            asked.append(host)
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return real_getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", resolve)
    return asked
