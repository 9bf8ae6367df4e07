"""The Atom 1.0 feed of the digests (``digests/feed.xml``).

Built with ElementTree rather than a text template: the serializer guarantees well-formed, escaped XML,
and every outside string is first cleaned of characters XML 1.0 cannot carry. Timestamps come from the
digest dates (midnight UTC), never from the clock, so the same digests give a byte-identical feed.
"""

from __future__ import annotations

import html
import re
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Sequence

from .markup import clip, format_score, safe_url
from .models import AnalysisStatus, Digest

__all__ = ["ATOM_NS", "render_feed"]

ATOM_NS = "http://www.w3.org/2005/Atom"
MAX_ENTRIES = 60
GENERATOR = "paper-digest"

#: Characters XML 1.0 forbids (after markup.plain_text has removed most controls, a safety net).
_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _text(value: object, limit: int | None = None) -> str:
    return _XML_INVALID.sub("", clip(value, limit))


def _stamp(digest: Digest) -> str:
    return f"{digest.date.isoformat()}T00:00:00Z"


def _join(base: str, name: str) -> str:
    return base if base.endswith("/") and not name else base.rstrip("/") + "/" + name


def _entry_html(digest: Digest) -> str:
    """A short HTML summary of the day: escaped here, then escaped again by the XML serializer."""
    papers = sorted(digest.papers, key=lambda p: (p.rank, p.id))
    featured = [p for p in papers if p.deep_dive] or papers[:5]
    items = []
    for paper in featured:
        zh = paper.analysis.title_zh if paper.analysis is not None else ""
        title = html.escape(_text(zh, 300) or _text(paper.title, 300) or paper.id)
        url = safe_url(paper.links.get("abs"))
        label = f'<a href="{html.escape(url, quote=True)}">{title}</a>' if url else title
        note = ""
        if paper.analysis is not None and paper.analysis_status is AnalysisStatus.DONE:
            note = f"<br/>{html.escape(_text(paper.analysis.one_sentence, 300))}"
        items.append(f"<li>{label}（{format_score(paper.score)} 分）{note}</li>")
    notices = "".join(f"<p>{html.escape(_text(n, 400))}</p>" for n in digest.notices)
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
    served (rel="self"), ``site_url`` the folder holding the ``DATE.md`` files (rel="alternate")."""
    seen: set[str] = set()
    ordered: list[Digest] = []
    for digest in sorted(digests, key=lambda d: d.date, reverse=True):
        if digest.date.isoformat() not in seen:
            seen.add(digest.date.isoformat())
            ordered.append(digest)
    ordered = ordered[: max(0, max_entries)]
    self_url = safe_url(feed_url)
    home = safe_url(site_url)
    title = _text(ordered[0].title, 200) if ordered else "论文日报"
    identity = self_url or home or f"paper-digest:{title}"

    ET.register_namespace("", ATOM_NS)

    def sub(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
        element = ET.SubElement(parent, f"{{{ATOM_NS}}}{tag}", attrs)
        if text is not None:
            element.text = text
        return element

    root = ET.Element(f"{{{ATOM_NS}}}feed")
    sub(root, "id", self_url or home or f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, identity)}")
    sub(root, "title", title)
    sub(root, "subtitle", "每日论文精选与中文深度解读")
    sub(root, "updated", _stamp(ordered[0]) if ordered else "1970-01-01T00:00:00Z")
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
        page = _join(home, f"{day}.md") if home else None
        sub(entry, "id", page or f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, f'{identity}/{day}')}")
        sub(entry, "title", f"{_text(digest.title, 200)} | {day}")
        sub(entry, "updated", _stamp(digest))
        sub(entry, "published", _stamp(digest))
        if page:
            sub(entry, "link", rel="alternate", href=page)
        top = [p for p in sorted(digest.papers, key=lambda p: (p.rank, p.id))][:3]
        summary = "；".join(_text(p.title, 120) for p in top) or "今天没有可推荐的论文。"
        sub(entry, "summary", summary, type="text")
        sub(entry, "content", _entry_html(digest), type="html")

    ET.indent(root, space="  ")
    body = ET.tostring(root, encoding="unicode", short_empty_elements=True)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + body + "\n"
