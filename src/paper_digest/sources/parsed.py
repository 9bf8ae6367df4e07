"""What a source parser returns: the good papers, and how many items were skipped."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Protocol, TypeVar

from ..models import Paper

logger = logging.getLogger(__name__)
Item = TypeVar("Item")


@dataclass(frozen=True)
class ParsedBatch:
    """The result of parsing one response. Bad items are skipped and counted, never raised."""

    papers: list[Paper] = field(default_factory=list)
    #: items present in the payload but unusable (missing id or title, malformed, cut off)
    skipped: int = 0
    #: the payload ended early; ``papers`` holds what came before the cut
    truncated: bool = False
    #: export API only: ``opensearch:totalResults`` (for paging)
    total_results: int | None = None
    #: RSS only: the date of the announcement the feed shows (from the channel ``pubDate``, US Eastern)
    feed_date: dt.date | None = None


def collect(
    items: Iterable[Item],
    parse_item: Callable[[Item], Paper | None],
    *,
    truncated: bool,
    label: str,
    total_results: int | None = None,
    feed_date: dt.date | None = None,
) -> ParsedBatch:
    """The papers of every item ``parse_item`` can read; the others, and an item a cut went through, counted
    as skipped."""
    papers: list[Paper] = []
    skipped = 1 if truncated else 0
    for item in items:
        paper = parse_item(item)
        if paper is None:
            skipped += 1
        else:
            papers.append(paper)
    if truncated:
        logger.warning("%s response was cut off after %d papers", label, len(papers))
    return ParsedBatch(
        papers=papers, skipped=skipped, truncated=truncated, total_results=total_results, feed_date=feed_date
    )


class Getter(Protocol):
    """What a fetch function needs: :class:`~.http.HttpClient` or :class:`~.archive.OfflineClient`."""

    requests_made: int

    def get(
        self,
        url: str,
        params: Mapping[str, str] | None = None,
        *,
        label: str | None = None,
        archive: bool = True,
        max_bytes: int | None = None,
    ) -> bytes: ...

    def space_host(self, url: str, seconds: float, *, group: str | None = None) -> None: ...
