"""One candidate per paper across sources.

Papers are matched on their arXiv id without the version (``2606.13681v1`` and ``2606.13681v2`` are one
paper).
A paper seen by several sources keeps every source in ``Paper.sources`` and both sets of signals (``hf`` and
``arxiv``). Order is deterministic: first appearance, taking the results in the order given and each result's
papers in their own order.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from ..models import ArxivSignals, FetchResult, HFSignals, Paper, Source

logger = logging.getLogger(__name__)

_SOURCE_ORDER = {source: index for index, source in enumerate(Source)}


def _max_version(a: int | None, b: int | None) -> int | None:
    if a is None:
        return b
    if b is None:
        return a
    return max(a, b)


def _merge_arxiv(a: ArxivSignals | None, b: ArxivSignals | None) -> ArxivSignals | None:
    if a is None or b is None:
        return a or b
    categories = list(dict.fromkeys([*a.categories, *b.categories]))
    return ArxivSignals(
        primary_category=a.primary_category or b.primary_category,
        categories=categories,
        announce_type=a.announce_type or b.announce_type,
        comment=a.comment or b.comment,
        journal_ref=a.journal_ref or b.journal_ref,
        doi=a.doi or b.doi,
    )


def _merge_hf(a: HFSignals | None, b: HFSignals | None) -> HFSignals | None:
    if a is None or b is None:
        return a or b
    return HFSignals(
        upvotes=max(a.upvotes, b.upvotes),
        num_comments=a.num_comments if a.num_comments is not None else b.num_comments,
        github_repo=a.github_repo or b.github_repo,
        github_stars=a.github_stars if a.github_stars is not None else b.github_stars,
        project_page=a.project_page or b.project_page,
        organization=a.organization or b.organization,
        ai_summary=a.ai_summary or b.ai_summary,
        ai_keywords=list(dict.fromkeys([*a.ai_keywords, *b.ai_keywords])),
        submitted_on_daily_at=a.submitted_on_daily_at or b.submitted_on_daily_at,
    )


def merge_pair(first: Paper, second: Paper) -> Paper:
    """Combine two records of the same paper.

    arXiv's bibliographic data (title, abstract, authors, dates) wins over HuggingFace's copy of it; the
    highest version seen wins; every signal is kept."""
    from_arxiv = Source.ARXIV in second.sources and Source.ARXIV not in first.sources
    main, other = (second, first) if from_arxiv else (first, second)
    sources = sorted(set(first.sources) | set(second.sources), key=lambda s: _SOURCE_ORDER[s])
    return Paper(
        id=first.id,
        version=_max_version(first.version, second.version),
        title=main.title,
        abstract=main.abstract or other.abstract,
        authors=main.authors or other.authors,
        published=main.published or other.published,
        updated=main.updated or other.updated,
        sources=sources,
        hf=_merge_hf(first.hf, second.hf),
        arxiv=_merge_arxiv(first.arxiv, second.arxiv),
    )


def merge_candidates(results: Sequence[FetchResult]) -> list[Paper]:
    """One Paper per arXiv id (version ignored) across every result, in first-seen order."""
    merged: dict[str, Paper] = {}
    total = 0
    for result in results:
        for paper in result.papers:
            total += 1
            known = merged.get(paper.id)
            merged[paper.id] = paper if known is None else merge_pair(known, paper)
    logger.info("merged %d records into %d candidates", total, len(merged))
    return list(merged.values())
