"""An arXiv PDF -> :class:`Document`, with pypdf. A pure function of the file's bytes.

pypdf (BSD-3, pure Python) was measured against pdfplumber and PyMuPDF on the corpus PDFs (see the commit
and ``bench/bench_fulltext.py``): it keeps a table row on one line ("Wav2Lip (ours) 6.512 7.490 ..."),
where PyMuPDF puts every cell on its own line and pdfplumber lost that row, and it needs no compiled code.
PyMuPDF is AGPL-3.0, which an MIT package cannot depend on without passing the AGPL on.

PDF text has no structure, so sections are found from their headings: a numbered line ("3 METHOD",
"4 Experiments") whose number follows the previous one, "Abstract", "References", "Acknowledgements", and
lettered appendices after the references ("A Multi-LexSum release"). arXiv's side stamp
("arXiv:2008.10010v1 [cs.CV] 23 Aug 2020") is dropped.
"""

from __future__ import annotations

import io
import logging
import re
import statistics

from ...errors import ParseError
from .document import Block, Document, Section, SectionKind, classify

logger = logging.getLogger(__name__)

_STAMP = re.compile(r"^arXiv:\d{4}\.\d{4,5}v\d+\s+\[[\w.\-]+\]\s+\d{1,2}\s+\w{3}\s+\d{4}$")
_TOP = re.compile(r"^(\d{1,2})\.?\s+([A-Z][^\n]{1,90})$")
_APPENDIX = re.compile(r"^(?:Appendix\s+)?([A-H])\.?\s+([A-Z][^\n]{1,90})$")
_ABSTRACT = re.compile(r"^(abstract)[.:]?$", re.IGNORECASE)
_REFERENCES = re.compile(r"^(references|bibliography)$", re.IGNORECASE)
_ACK = re.compile(r"^(acknowledge?ments?)$", re.IGNORECASE)
_TABLE_CAPTION = re.compile(r"^Table\s+\d+\s*[:.]")
_HYPHEN_END = re.compile(r"[a-z]-$")
_URL = re.compile(r"https?://[^\s)\]}>,]+")
_ARXIV_URL = re.compile(r"^https?://([a-z0-9-]+\.)*arxiv\.org", re.IGNORECASE)


def _title_like(text: str) -> bool:
    """A heading's words: short, not a sentence, mostly letters."""
    words = text.split()
    if not 1 <= len(words) <= 12 or text.endswith((".", ",", ";")):
        return False
    letters = sum(ch.isalpha() for ch in text)
    return letters >= 0.6 * len(text.replace(" ", ""))


def _lines(reader_pages: list[str]) -> list[str]:
    lines: list[str] = []
    for page in reader_pages:
        for raw in page.splitlines():
            line = " ".join(raw.split())
            if line and not _STAMP.match(line):
                lines.append(line)
    return lines


def _dehyphenate(lines: list[str]) -> list[str]:
    """Join words split across lines ("tech-" + "nology ...")."""
    out: list[str] = []
    for line in lines:
        if out and _HYPHEN_END.search(out[-1]) and line[:1].islower():
            head, _, rest = line.partition(" ")
            out[-1] = out[-1][:-1] + head
            if rest:
                out.append(rest)
            continue
        out.append(line)
    return out


def _blocks(lines: list[str]) -> list[Block]:
    """Paragraph-ish blocks: a short line ending a sentence closes one; a "Table N:" line opens a table."""
    if not lines:
        return []
    typical = statistics.median(len(line) for line in lines)
    blocks: list[Block] = []
    current: list[str] = []
    kind = "text"

    def close() -> None:
        nonlocal current, kind
        if current:
            blocks.append(Block(kind="table" if kind == "table" else "text", text="\n".join(current)))
        current, kind = [], "text"

    for line in lines:
        if _TABLE_CAPTION.match(line):
            close()
            kind = "table"
        current.append(line)
        if kind == "text" and line.endswith((".", ":")) and len(line) < 0.7 * typical:
            close()
    close()
    return blocks


def _join_wrapped(lines: list[str], index: int, title: str) -> tuple[str, int]:
    """An upper-case heading wrapped over two lines ("2 CHARACTERIZING EXPOSITORY" / "WRITING")."""
    nxt = lines[index + 1] if index + 1 < len(lines) else ""
    if title.isupper() and nxt.isupper() and len(nxt.split()) <= 6 and _title_like(nxt):
        return f"{title} {nxt}", index + 2
    return title, index + 1


def _sections(lines: list[str]) -> tuple[str, list[tuple[str, SectionKind, list[str]]]]:
    """The abstract text and the sections as (title, kind, lines)."""
    abstract: list[str] | None = None
    sections: list[tuple[str, SectionKind, list[str]]] = []
    current: list[str] | None = None  # lines of the open section (None: front matter)
    expected = 1
    in_references = False
    next_letter = "A"
    i = 0
    while i < len(lines):
        line = lines[i]
        top = _TOP.match(line)
        appendix = _APPENDIX.match(line) if in_references else None
        if abstract is None and not sections and _ABSTRACT.match(line):
            abstract = []
            current = abstract
            i += 1
            continue
        if not in_references and top and int(top.group(1)) == expected and _title_like(top.group(2)):
            title, i = _join_wrapped(lines, i, line)
            current = []
            sections.append((title, classify(title), current))
            expected += 1
            continue
        if sections and _REFERENCES.match(line):
            current = []
            sections.append((line, SectionKind.REFERENCES, current))
            in_references = True
            i += 1
            continue
        if sections and not in_references and _ACK.match(line):
            current = []
            sections.append((line, SectionKind.ACKNOWLEDGEMENTS, current))
            i += 1
            continue
        if appendix and appendix.group(1) == next_letter and _title_like(appendix.group(2)):
            current = []
            sections.append((line, SectionKind.APPENDIX, current))
            next_letter = chr(ord(next_letter) + 1)
            i += 1
            continue
        if current is not None:
            current.append(line)
        i += 1
    return " ".join(abstract or []), sections


def _references_start(page_text: str) -> bool:
    return any(_REFERENCES.match(" ".join(line.split())) for line in page_text.splitlines())


def parse_pdf(data: bytes, *, max_pages: int = 60) -> Document:
    """The paper in a PDF, read up to the page where its references start (at most ``max_pages`` pages).

    Raises :class:`ParseError` when unreadable."""
    try:
        from pypdf import PdfReader
        from pypdf.errors import PyPdfError

        reader = PdfReader(io.BytesIO(data))
        pages = len(reader.pages)
        texts: list[str] = []
        for page in reader.pages[:max_pages]:
            texts.append(page.extract_text() or "")
            if _references_start(texts[-1]):
                break  # the references and what follows them (appendices) are never shown to the model
        title = (reader.metadata.title if reader.metadata else None) or None
    except PyPdfError as exc:
        raise ParseError(f"unreadable PDF ({exc.__class__.__name__})", source="arXiv PDF") from None
    except (ValueError, KeyError, TypeError, OSError, RecursionError) as exc:  # malformed files
        raise ParseError(f"unreadable PDF ({exc.__class__.__name__})", source="arXiv PDF") from None
    lines = _dehyphenate(_lines(texts))
    if not lines:
        raise ParseError("the PDF has no extractable text (a scan?)", source="arXiv PDF")
    abstract, found = _sections(lines)
    sections = [Section(title=t, kind=k, blocks=_blocks(body)) for t, k, body in found]
    if not sections:
        # no numbered headings: one body section, so the text is still there for the model
        sections = [Section(title="(全文)", kind=SectionKind.BODY, blocks=_blocks(lines))]
    links: dict[str, None] = {}
    for section in sections:
        if section.kind in (SectionKind.REFERENCES, SectionKind.APPENDIX):
            continue
        for url in _URL.findall(section.text):
            if not _ARXIV_URL.match(url):
                links.setdefault(url.rstrip("."), None)
    return Document(
        format="pdf",
        title=title.strip() if isinstance(title, str) and title.strip() else None,
        abstract=abstract,
        sections=sections,
        links=list(links),
        pages=pages,
    )
