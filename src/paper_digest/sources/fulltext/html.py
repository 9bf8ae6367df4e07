"""arXiv's HTML rendering (LaTeXML) -> :class:`Document`. A pure function of the page's bytes.

Handles the three layouts the corpus holds (tests/fixtures/fulltext/SOURCES.md): arxiv.org's 2026 layout,
its 2024-25 layout (``<base>``, alphabetised attributes, Content MathML beside every formula) and
ar5iv.labs.arxiv.org's. All three put the paper in ``article.ltx_document`` with top-level
``section.ltx_section`` / ``ltx_appendix`` / ``ltx_bibliography``; the site chrome around it (banners,
navigation, footers, scripts) is never read.

Formulas are read from ``<math alttext>`` (the TeX source): the MathML inside also carries Content MathML and
"llamapun" annotations that a plain text walk would turn into junk ("italic_z").
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import lxml.etree
import lxml.html
from lxml.html import HtmlElement

from ...errors import ParseError
from .document import Block, Document, Section, SectionKind, classify

#: elements whose text is never part of the paper
_SKIP_TAGS = frozenset({"script", "style", "noscript", "nav", "header", "footer", "button", "svg", "img"})
#: page chrome and LaTeXML machinery, by class token
_SKIP_CLASSES = frozenset(
    {
        "ltx_page_navbar",
        "ltx_page_footer",
        "ar5iv-footer",
        "ltx_TOC",
        "ltx_authors",
        "ltx_dates",
        "ltx_tag_bibitem",
        "ltx_bib_cited",
        "ltx_keywords",
        "ltx_classification",
    }
)
_SPACE = re.compile(r"\s+")
_SPACE_BEFORE_PUNCT = re.compile(r"\s+([,.;:!?)\]])")
#: a link is worth keeping when it points at code, weights, data or a project page outside arXiv
_LINK = re.compile(r"^https?://", re.IGNORECASE)
_ARXIV_HOST = re.compile(r"^https?://([a-z0-9-]+\.)*arxiv\.org(/|$)", re.IGNORECASE)


def _classes(element: HtmlElement) -> set[str]:
    return set((element.get("class") or "").split())


def _has(element: HtmlElement, name: str) -> bool:
    return name in _classes(element)


def _norm(text: str) -> str:
    return _SPACE_BEFORE_PUNCT.sub(r"\1", _SPACE.sub(" ", text)).strip()


def _skipped(element: HtmlElement) -> bool:
    tag = element.tag if isinstance(element.tag, str) else ""
    return tag in _SKIP_TAGS or bool(_classes(element) & _SKIP_CLASSES)


def _inline_parts(element: HtmlElement) -> Iterator[str]:
    """The text of ``element`` in reading order: formulas as their TeX, chrome and annotations left out."""
    tag = element.tag if isinstance(element.tag, str) else ""
    if tag == "math":
        alt = element.get("alttext")
        if alt:
            yield f" {alt} "
        return
    if tag in ("br",):
        yield " "
    if element.text and tag not in ("annotation", "annotation-xml"):
        yield element.text
    for child in element:
        if not isinstance(child.tag, str):  # comments, processing instructions
            if child.tail:
                yield child.tail
            continue
        if not _skipped(child):
            yield from _inline_parts(child)
        if child.tail:
            yield child.tail


def inline_text(element: HtmlElement) -> str:
    return _norm("".join(_inline_parts(element)))


def _table_text(figure: HtmlElement) -> str:
    """A table as its caption and one line per row, cells joined by " | "."""
    lines: list[str] = []
    caption = figure.find(".//figcaption")
    if caption is not None:
        lines.append(inline_text(caption))
    for row in figure.iter("tr"):
        cells = [inline_text(cell) for cell in row if isinstance(cell.tag, str) and cell.tag in ("td", "th")]
        if any(cells):
            lines.append(" | ".join(cells))
    return "\n".join(line for line in lines if line)


def _blocks(container: HtmlElement) -> Iterator[Block]:
    """The blocks under ``container`` in document order; nested sections give a heading then their blocks."""
    for child in container:
        if not isinstance(child.tag, str) or _skipped(child):
            continue
        classes = _classes(child)
        tag = child.tag
        if tag in ("h1", "h2", "h3", "h4", "h5", "h6") or "ltx_title" in classes:
            text = inline_text(child)
            if text:
                yield Block(kind="heading", text=text)
        elif tag == "figure" and ("ltx_table" in classes or child.find(".//table") is not None):
            text = _table_text(child)
            if text:
                yield Block(kind="table", text=text)
        elif tag == "figure":
            caption = child.find(".//figcaption")
            text = inline_text(caption) if caption is not None else ""
            if text:
                yield Block(kind="caption", text=text)
        elif tag == "table" and classes & {"ltx_equation", "ltx_equationgroup", "ltx_eqn_table"}:
            text = inline_text(child)
            if text:
                yield Block(kind="equation", text=text)
        elif tag == "table":
            text = _table_text(child)
            if text:
                yield Block(kind="table", text=text)
        elif (
            tag == "p"
            or classes & {"ltx_p", "ltx_quote"}
            or ("ltx_para" in classes and not child.xpath("./*[self::div or self::figure or self::table]"))
        ):
            text = inline_text(child)
            if text:
                yield Block(kind="text", text=text)
        elif tag in ("ul", "ol"):
            for item in child.iter("li"):
                text = inline_text(item)
                if text:
                    yield Block(kind="text", text=f"- {text}")
        else:
            yield from _blocks(child)


def _find_class(root: HtmlElement, tag: str, *names: str) -> HtmlElement | None:
    for element in root.iter(tag):
        if all(_has(element, name) for name in names):
            return element
    return None


def _links(article: HtmlElement) -> list[str]:
    seen: dict[str, None] = {}
    for anchor in article.iter("a"):
        href = (anchor.get("href") or "").strip()
        if not _LINK.match(href) or _ARXIV_HOST.match(href):
            continue
        if any(_has(parent, "ltx_bibliography") for parent in anchor.iterancestors("section")):
            continue
        seen.setdefault(href.rstrip("."), None)
    return list(seen)


def parse_html(data: bytes) -> Document:
    """The paper in an arXiv (or ar5iv) HTML page. Raises :class:`ParseError` when the page holds none."""
    if not data.strip():
        raise ParseError("empty HTML page", source="arXiv HTML")
    try:
        root = lxml.html.document_fromstring(data)
    except (lxml.etree.ParserError, ValueError) as exc:
        raise ParseError(f"unreadable HTML ({exc.__class__.__name__})", source="arXiv HTML") from None
    article = _find_class(root, "article", "ltx_document")
    if article is None:
        article = _find_class(root, "div", "ltx_document")
    if article is None:
        raise ParseError("no LaTeXML document in the page", source="arXiv HTML")
    title_el = _find_class(article, "h1", "ltx_title", "ltx_title_document")
    abstract_el = _find_class(article, "div", "ltx_abstract")
    abstract = ""
    if abstract_el is not None:
        abstract = "\n".join(b.text for b in _blocks(abstract_el) if b.kind != "heading")
    sections: list[Section] = []
    for element in article.iter("section"):
        if any(True for _ in element.iterancestors("section")):
            continue  # nested: read with its parent
        classes = _classes(element)
        blocks = list(_blocks(element))
        title = blocks[0].text if blocks and blocks[0].kind == "heading" else ""
        if blocks and blocks[0].kind == "heading":
            blocks = blocks[1:]
        if "ltx_bibliography" in classes:
            kind = SectionKind.REFERENCES
        else:
            kind = classify(title, appendix="ltx_appendix" in classes)
        if blocks or title:
            sections.append(Section(title=title or "(untitled)", kind=kind, blocks=blocks))
    if not sections and not abstract:
        raise ParseError("the LaTeXML document has no sections and no abstract", source="arXiv HTML")
    return Document(
        format="html",
        title=inline_text(title_el) if title_el is not None else None,
        abstract=abstract,
        sections=sections,
        links=_links(article),
    )
