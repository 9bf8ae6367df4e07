"""What the model reads of a paper: the sections that carry the method and the evidence, within a budget.

:func:`select_text` is pure. It always keeps the abstract; shares the rest of the token budget between the
method (and body sections the titles do not name), the experiments with their tables, the conclusion, the
introduction and, last, related work; and never reads references, acknowledgements or appendices. A group
that needs less than its share leaves the rest to the others, in that order. Inside a section that must be
cut, tables are kept first (they hold the paper's numbers), then paragraphs in order; a cut is marked "[…]".
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from .document import Block, Document, Section, SectionKind, estimate_tokens

#: the share of the budget (after the abstract) each group may take before the leftovers are shared out
SHARES: tuple[tuple[frozenset[SectionKind], float], ...] = (
    (frozenset({SectionKind.METHOD, SectionKind.BODY}), 0.40),
    (frozenset({SectionKind.EXPERIMENTS}), 0.32),
    (frozenset({SectionKind.CONCLUSION}), 0.10),
    (frozenset({SectionKind.INTRODUCTION}), 0.13),
    (frozenset({SectionKind.RELATED}), 0.05),
)
#: never shown to the model
LEFT_OUT = frozenset({SectionKind.REFERENCES, SectionKind.ACKNOWLEDGEMENTS, SectionKind.APPENDIX})
#: tables may take at most this share of a section's allowance before paragraphs get the rest
TABLE_SHARE = 0.6
CUT = "[…]"
_PREFERRED = re.compile(r"conclu", re.IGNORECASE)
_SENTENCE_END = re.compile(r"(?<=[.!?。；;])\s+")


@dataclass(frozen=True)
class Selection:
    """The text the model gets, its estimated tokens, and what was cut or left out (for logs, bench)."""

    text: str
    tokens: int
    included: list[str] = field(default_factory=list)
    truncated: list[str] = field(default_factory=list)
    omitted: list[str] = field(default_factory=list)


def _cut_block(block: Block, allowance: int) -> Block | None:
    """The head of ``block`` within ``allowance`` tokens, cut at a line or sentence end, or None."""
    if allowance <= 0:
        return None
    pieces = [p for line in block.text.split("\n") for p in _SENTENCE_END.split(line)]
    kept: list[str] = []
    used = 0
    for piece in pieces:
        cost = estimate_tokens(piece) + 1
        if used + cost > allowance:
            break
        kept.append(piece)
        used += cost
    if not kept:
        return None
    joiner = "\n" if block.kind == "table" else " "
    return Block(kind=block.kind, text=joiner.join(kept) + f" {CUT}")


def fit_section(section: Section, allowance: int) -> tuple[list[Block], bool]:
    """The blocks of ``section`` kept within ``allowance`` tokens (document order), and whether cut."""
    costs = [estimate_tokens(b.text) + 1 for b in section.blocks]
    if sum(costs) <= allowance:
        return list(section.blocks), False
    keep: dict[int, Block] = {}
    left = allowance
    table_left = int(allowance * TABLE_SHARE)
    for index, block in enumerate(section.blocks):
        if block.kind == "table" and costs[index] <= min(table_left, left):
            keep[index] = block
            table_left -= costs[index]
            left -= costs[index]
    for index, block in enumerate(section.blocks):
        if index in keep or block.kind == "table":
            continue
        if costs[index] <= left:
            keep[index] = block
            left -= costs[index]
            continue
        head = _cut_block(block, left)
        if head is not None:
            keep[index] = head
        break
    return [keep[i] for i in sorted(keep)], True


def _allowances(sections: list[Section], budget: int) -> dict[int, int]:
    """Tokens each section (by index) may use: group shares first, leftovers to the groups in order."""
    needs = {i: sum(estimate_tokens(b.text) + 1 for b in s.blocks) + 4 for i, s in enumerate(sections)}
    groups = [([i for i, s in enumerate(sections) if s.kind in kinds], share) for kinds, share in SHARES]
    given = {i: 0 for i in needs}
    spent = 0
    for members, share in groups:
        quota = int(budget * share)
        # the conclusion proper before "Discussion", "Limitations", "Ethics": it states the claims
        first = [i for i in members if _PREFERRED.search(sections[i].title)]
        for i in first:
            given[i] = min(needs[i], quota)
            quota -= given[i]
        rest = [i for i in members if i not in first]
        need = sum(needs[i] for i in rest)
        grant = min(need, quota)
        for i in rest:  # inside a group, in proportion to each section's length
            given[i] = int(grant * needs[i] / need) if need else 0
        spent += sum(given[i] for i in members)
    leftover = budget - spent
    for members, _ in groups:
        for i in members:
            extra = min(leftover, needs[i] - given[i])
            if extra > 0:
                given[i] += extra
                leftover -= extra
    return given


def select_text(
    document: Document, budget_tokens: int, *, abstract: str = "", include_abstract: bool = True
) -> Selection:
    """The parts of ``document`` the model reads, within ``budget_tokens`` (estimated).

    ``abstract`` (the API's) stands in when the document's own is missing; ``include_abstract=False``
    leaves it out (the caller shows it already) and gives the whole budget to the body."""
    parts: list[str] = []
    summary = (document.abstract.strip() or abstract.strip()) if include_abstract else ""
    if summary:
        parts.append(f"## Abstract\n{summary}")
    budget = budget_tokens - estimate_tokens(summary)
    readable = [s for s in document.sections if s.kind not in LEFT_OUT]
    omitted = [s.title for s in document.sections if s.kind in LEFT_OUT]
    allowances = _allowances(readable, max(0, budget))
    included: list[str] = []
    truncated: list[str] = []
    for index, section in enumerate(readable):
        blocks, cut = fit_section(section, allowances[index] - 4)
        if not blocks:
            omitted.append(section.title)
            continue
        body = "\n".join(("### " + b.text) if b.kind == "heading" else b.text for b in blocks)
        parts.append(f"## {section.title}\n{body}")
        included.append(section.title)
        if cut:
            truncated.append(section.title)
    text = "\n\n".join(parts)
    return Selection(
        text=text, tokens=estimate_tokens(text), included=included, truncated=truncated, omitted=omitted
    )
