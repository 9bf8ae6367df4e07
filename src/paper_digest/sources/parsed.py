"""What a source parser returns: the good papers, and how many items were skipped."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol

from ..models import Paper


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
    #: items left out on purpose (e.g. replacements), not counted as skipped
    excluded: int = 0


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
