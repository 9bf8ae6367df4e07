"""What a paper's full text becomes: sections of blocks (paragraphs, tables, captions, equations).

Both extractors (:mod:`.html`, :mod:`.pdf`) return a :class:`Document`; :mod:`.select` picks what the model
sees from it. The models are pydantic so a document round-trips through the cache as JSON.
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, Field

from ...tokens import estimate_tokens

__all__ = ["Block", "Document", "Section", "SectionKind", "bare_title", "classify", "estimate_tokens"]


class SectionKind(StrEnum):
    INTRODUCTION = "introduction"
    RELATED = "related"
    METHOD = "method"
    EXPERIMENTS = "experiments"
    CONCLUSION = "conclusion"
    #: a body section whose title names none of the above ("Out-of-context reasoning")
    BODY = "body"
    ACKNOWLEDGEMENTS = "acknowledgements"
    REFERENCES = "references"
    APPENDIX = "appendix"


BlockKind = Literal["heading", "text", "table", "caption", "equation"]


class Block(BaseModel):
    kind: BlockKind
    text: str


class Section(BaseModel):
    title: str
    kind: SectionKind
    blocks: list[Block] = Field(default_factory=list)

    @property
    def text(self) -> str:
        return "\n".join(block.text for block in self.blocks)


class Document(BaseModel):
    """A paper's full text, extracted. ``format`` says where it came from."""

    format: Literal["html", "pdf"]
    title: str | None = None
    abstract: str = ""
    sections: list[Section] = Field(default_factory=list)
    #: external links in the body (code, weights, project pages), in order of appearance
    links: list[str] = Field(default_factory=list)
    #: PDF only: pages in the file
    pages: int | None = None


# Title words, checked in this order (the first match wins). Sources: the section titles of the corpus papers
# (tests/fixtures/fulltext/SOURCES.md) and the usual NeurIPS/CVPR/ACL outlines.
_KINDS: tuple[tuple[SectionKind, re.Pattern[str]], ...] = (
    (SectionKind.REFERENCES, re.compile(r"^(references|bibliography|literature cited)$")),
    (SectionKind.ACKNOWLEDGEMENTS, re.compile(r"acknowledge?ments?|funding")),
    (SectionKind.APPENDIX, re.compile(r"^(appendix|appendices|supplementary)")),
    (SectionKind.INTRODUCTION, re.compile(r"introduction|motivation|^overview$")),
    (SectionKind.RELATED, re.compile(r"related work|prior work|background|literature|previous work")),
    (SectionKind.CONCLUSION, re.compile(r"conclu|discussion|limitation|future work|summary|broader impact")),
    (
        SectionKind.EXPERIMENTS,
        re.compile(
            r"experiment|evaluation|results|benchmark|ablation|comparison|empirical|performance|analysis"
        ),
    ),
    (
        SectionKind.METHOD,
        re.compile(
            r"method|approach|model|architecture|framework|proposed|design|algorithm|formulation|"
            r"preliminar|dataset|data|training|implementation|pipeline|system|setup|problem"
        ),
    ),
)

_NUMBERING = re.compile(r"^(?:appendix\s+)?(?:[IVXLC]+|[A-Z]|\d+)(?:[.\-]\d+)*[.:]?\s+", re.IGNORECASE)


def bare_title(title: str) -> str:
    """A section title without its number ("IV-A Model Architecture" -> "Model Architecture")."""
    text = " ".join(title.split())
    stripped = _NUMBERING.sub("", text, count=1)
    return stripped or text


def classify(title: str, *, appendix: bool = False) -> SectionKind:
    """The kind of a section from its title; ``appendix`` when the format marks it as one."""
    if appendix:
        return SectionKind.APPENDIX
    words = bare_title(title).lower()
    if title.strip().lower().startswith("appendix"):
        return SectionKind.APPENDIX
    for kind, pattern in _KINDS:
        if pattern.search(words):
            return kind
    return SectionKind.BODY
