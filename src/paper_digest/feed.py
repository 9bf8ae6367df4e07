"""The Atom 1.0 feed of the digests (``digests/feed.xml``).

Built with ElementTree rather than a text template: the serializer guarantees well-formed, escaped XML,
and every outside string is first cleaned of characters XML 1.0 cannot carry. Nothing here reads the clock:
an entry's ``updated`` is the digest's own ``updated`` (set by the pipeline when the day's content changed),
so the same digests give a byte-identical feed.

Identity (RFC 4287 §4.2.6: an entry's id must never change): the entry id is a name-based UUID of the digest
date alone, so neither a new ``site_url``, a new title nor ``index`` versus ``run`` changes it; feed readers
never see an old day again as new. Links (§4.2.7) point at each ``DATE.md``: absolute under ``site_url`` when
it is configured, else relative to the feed's own location (RFC 4287 §4.2.7.1 allows relative IRIs; readers
resolve them against the feed URL).
"""

from __future__ import annotations

import datetime as dt
import html
import re
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Sequence

from .markup import clip, format_score, plain_title, safe_url
from .models import AnalysisStatus, Digest
from .notices import sentence

__all__ = ["ATOM_NS", "default_feed_url", "entry_id", "render_feed"]

ATOM_NS = "http://www.w3.org/2005/Atom"
MAX_ENTRIES = 60
GENERATOR = "paper-digest"

#: The namespace of the entry ids. Fixed forever: changing it would show every past digest again as new.
ENTRY_NAMESPACE = uuid.UUID("5f0c3a52-9d1e-5b8e-8d4e-7061706572dd")
#: https://github.com/OWNER/REPO/blob/BRANCH/some/folder/ (a repository page of the digests folder)
_GITHUB_BLOB = re.compile(r"^https://github\.com/([^/]+)/([^/]+)/(?:blob|tree)/([^/]+)/?(.*)$")

#: Characters XML 1.0 forbids (after markup.plain_text has removed most controls, a safety net).
_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _text(value: object, limit: int | None = None) -> str:
    return _XML_INVALID.sub("", clip(value, limit))


def _midnight(digest: Digest) -> str:
    return f"{digest.date.isoformat()}T00:00:00Z"


def _stamp(digest: Digest) -> str:
    """When the day's digest last changed; midnight UTC of its date for a sidecar written before this was
    recorded."""
    if digest.updated is None:
        return _midnight(digest)
    moment = digest.updated.astimezone(dt.UTC) if digest.updated.tzinfo else digest.updated
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def entry_id(day: dt.date) -> str:
    """The entry id of a day's digest: derived from the date alone, stable forever."""
    return f"urn:uuid:{uuid.uuid5(ENTRY_NAMESPACE, day.isoformat())}"


def default_feed_url(site_url: str | None) -> str | None:
    """Where ``feed.xml`` is served when only the digests' address is configured: beside the digests, and for
    a GitHub repository page (``https://github.com/O/R/blob/B/digests/``) the raw file, since the blob page is
    HTML, not the feed (a feed reader subscribing to it would get a web page)."""
    home = safe_url(site_url)
    if home is None:
        return None
    match = _GITHUB_BLOB.match(home)
    if match:
        owner, repo, branch, folder = match.groups()
        folder = folder.strip("/")
        base = f"https://raw.githubusercontent.com/{owner}/{repo}/{branch}/"
        return base + (f"{folder}/" if folder else "") + "feed.xml"
    return _join(home, "feed.xml")


def _join(base: str, name: str) -> str:
    return base if base.endswith("/") and not name else base.rstrip("/") + "/" + name


def _entry_html(digest: Digest) -> str:
    """A short HTML summary of the day: escaped here, then escaped again by the XML serializer."""
    papers = sorted(digest.papers, key=lambda p: (p.rank, p.id))
    featured = [p for p in papers if p.deep_dive] or papers[:5]
    items = []
    for paper in featured:
        zh = paper.analysis.title_zh if paper.analysis is not None else ""
        title = html.escape(_text(zh, 300) or _text(plain_title(paper.title), 300) or paper.id)
        url = safe_url(paper.links.get("abs"))
        label = f'<a href="{html.escape(url, quote=True)}">{title}</a>' if url else title
        note = ""
        if paper.analysis is not None and paper.analysis_status is AnalysisStatus.DONE:
            note = f"<br/>{html.escape(_text(paper.analysis.one_sentence, 300))}"
        items.append(f"<li>{label}（{format_score(paper.score)} 分）{note}</li>")
    notices = "".join(f"<p>{html.escape(_text(sentence(n), 400))}</p>" for n in digest.notices)
    head = (
        f"<p>候选 {len(digest.papers)} 篇，深度解读 {sum(1 for p in digest.papers if p.deep_dive)} 篇。</p>"
    )
    body = f"<ul>{''.join(items)}</ul>" if items else "<p>今天没有可推荐的论文。</p>"
    return head + notices + body


def render_feed(
    digests: Sequence[Digest],
    *,
    feed_url: str | None = None,
    site_url: str | None = None,
    max_entries: int = MAX_ENTRIES,
) -> str:
    """An Atom 1.0 feed with one entry per digest, newest first. ``feed_url`` is where the feed itself is
    served (rel="self"; derived from ``site_url`` when not given), ``site_url`` the folder holding the
    ``DATE.md`` files (rel="alternate")."""
    seen: set[str] = set()
    ordered: list[Digest] = []
    for digest in sorted(digests, key=lambda d: d.date, reverse=True):
        if digest.date.isoformat() not in seen:
            seen.add(digest.date.isoformat())
            ordered.append(digest)
    ordered = ordered[: max(0, max_entries)]
    home = safe_url(site_url)
    self_url = safe_url(feed_url) if feed_url else default_feed_url(home)
    title = _text(ordered[0].title, 200) if ordered else "论文日报"

    ET.register_namespace("", ATOM_NS)

    def sub(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
        element = ET.SubElement(parent, f"{{{ATOM_NS}}}{tag}", attrs)
        if text is not None:
            element.text = text
        return element

    root = ET.Element(f"{{{ATOM_NS}}}feed")
    sub(root, "id", f"urn:uuid:{uuid.uuid5(ENTRY_NAMESPACE, 'feed')}")  # stable like the entry ids
    sub(root, "title", title)
    sub(root, "subtitle", "每日论文精选与中文深度解读")
    sub(root, "updated", max(_stamp(d) for d in ordered) if ordered else "1970-01-01T00:00:00Z")
    author = sub(root, "author")
    sub(author, "name", GENERATOR)
    sub(root, "generator", GENERATOR)
    if self_url:
        sub(root, "link", rel="self", type="application/atom+xml", href=self_url)
    if home:
        sub(root, "link", rel="alternate", type="text/html", href=home)

    for digest in ordered:
        day = digest.date.isoformat()
        entry = sub(root, "entry")
        page = _join(home, f"{day}.md") if home else f"{day}.md"
        sub(entry, "id", entry_id(digest.date))
        sub(entry, "title", f"{_text(digest.title, 200)} | {day}")
        sub(entry, "updated", _stamp(digest))
        sub(entry, "link", rel="alternate", href=page)
        top = [p for p in sorted(digest.papers, key=lambda p: (p.rank, p.id))][:3]
        summary = "；".join(_text(plain_title(p.title), 120) for p in top) or "今天没有可推荐的论文。"
        sub(entry, "summary", summary, type="text")
        sub(entry, "content", _entry_html(digest), type="html")

    ET.indent(root, space="  ")
    body = ET.tostring(root, encoding="unicode", short_empty_elements=True)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + body + "\n"
