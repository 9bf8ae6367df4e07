"""A paper's full text for its deep dive: fetch (HTML, else PDF), extract, select within a token budget."""

from .document import Block, Document, Section, SectionKind, classify, estimate_tokens
from .fetch import FullText, FullTextCache, Origin, Reason, fetch_full_text, full_text_urls
from .html import parse_html
from .pdf import parse_pdf
from .select import Selection, select_text

__all__ = [
    "Block",
    "Document",
    "FullText",
    "FullTextCache",
    "Origin",
    "Reason",
    "Section",
    "SectionKind",
    "Selection",
    "classify",
    "estimate_tokens",
    "fetch_full_text",
    "full_text_urls",
    "parse_html",
    "parse_pdf",
    "select_text",
]
