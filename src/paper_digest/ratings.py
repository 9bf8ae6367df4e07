"""The researcher's ratings: a small text file of likes and dislikes, next to the config.

One paper a line, sorted by arXiv id so that a diff shows exactly the ratings that changed::

    # paper-digest ratings: like / dislike, arXiv id, the day of the rating, then the title after '#'.
    like     2606.12575  2026-06-12  # PixelFlow: ...
    dislike  2606.13001  2026-06-12  # ...

Ids are kept without their version (a rating is about the paper, not one upload of it); an id given with a
version, an abs/pdf URL or an ``arXiv:`` prefix is accepted. The date and the title are optional (a
hand-written ``like 2606.12575`` is a valid line). A second line for the same id replaces the first (the
later one wins).

Parsing and formatting are pure functions of text; :func:`load_ratings` and :func:`save_ratings` are the only
I/O here. Errors name the file and the line.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal

from .errors import UsageError
from .models import Digest, split_arxiv_id
from .store import atomic_write_text

Verdict = Literal["like", "dislike"]
VERDICTS: tuple[Verdict, ...] = ("like", "dislike")

HEADER = (
    "# paper-digest ratings: like / dislike, arXiv id, the day of the rating, then the title after '#'.\n"
    "# `paper-digest like ID`, `dislike ID` and `unrate ID` edit this file; editing it by hand works too.\n"
)
#: titles longer than this are cut in the file (the file is for reading, the title is a reminder)
TITLE_CHARS = 100


class RatingsError(UsageError):
    """The ratings file or a rating command's input is not valid (exit code 2)."""


@dataclass(frozen=True)
class Rating:
    id: str
    verdict: Verdict
    day: dt.date | None = None
    title: str = ""

    @property
    def liked(self) -> bool:
        return self.verdict == "like"


#: what ``like`` recorded before ids were checked against the arXiv scheme (any ``NNNN.NNNN(N)``, e.g. the
#: impossible ``9999.99999``): a file holding one still loads, and ``unrate`` takes it out
_LEGACY_ID = re.compile(r"^\d{4}\.\d{4,5}$")


def normalise_id(raw: str, *, legacy: bool = False) -> str:
    """An arXiv id without its version; raises :class:`RatingsError` for anything else. ``legacy``: also an
    id an earlier version let in (reading the file, ``unrate``), never for a new rating."""
    split = split_arxiv_id(raw)
    if split is None:
        shown = raw.strip()[:40]
        base = shown.split("v", 1)[0]
        if legacy and _LEGACY_ID.match(base):
            return base
        raise RatingsError(f"{shown!r} is not an arXiv id (expected e.g. 2606.12575 or 2606.12575v2)")
    return split[0]


def parse_ratings(text: str, *, origin: str = "ratings") -> list[Rating]:
    """The ratings of a file's text, sorted by id; raises :class:`RatingsError` naming the first bad line."""
    found: dict[str, Rating] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        body, _, comment = line.partition("#")
        words = body.split()
        if not words:
            continue
        where = f"{origin}:{number}"
        verdict = words[0].lower()
        if verdict not in VERDICTS or len(words) not in (2, 3):
            raise RatingsError(f"{where}: expected 'like ID [YYYY-MM-DD]' or 'dislike ID [YYYY-MM-DD]'")
        try:
            paper_id = normalise_id(words[1], legacy=True)
        except RatingsError as exc:
            raise RatingsError(f"{where}: {exc}") from None
        day = None
        if len(words) == 3:
            try:
                day = dt.date.fromisoformat(words[2])
            except ValueError:
                raise RatingsError(f"{where}: {words[2]!r} is not a date like 2026-06-12") from None
        found[paper_id] = Rating(
            id=paper_id,
            verdict="like" if verdict == "like" else "dislike",
            day=day,
            title=" ".join(comment.split()),
        )
    return sorted(found.values(), key=lambda r: r.id)


def format_ratings(ratings: Iterable[Rating]) -> str:
    """The file's text: the header, then one aligned line per rating, sorted by id."""
    lines = [HEADER]
    for rating in sorted(ratings, key=lambda r: r.id):
        line = f"{rating.verdict:<8} {rating.id:<11}"
        if rating.day is not None:
            line += f" {rating.day.isoformat()}"
        title = " ".join(rating.title.split())
        if title:
            if len(title) > TITLE_CHARS:
                title = title[: TITLE_CHARS - 1].rstrip() + "…"
            line = f"{line.rstrip()}  # {title}"
        lines.append(line.rstrip() + "\n")
    return "".join(lines)


@dataclass(frozen=True)
class Change:
    """What one rating command did to one paper, for the command's report."""

    id: str
    before: Verdict | None
    after: Verdict | None


def rate(
    ratings: Sequence[Rating],
    verdict: Verdict,
    ids: Sequence[str],
    *,
    day: dt.date | None,
    titles: Mapping[str, str] | None = None,
) -> tuple[list[Rating], list[Change]]:
    """The ratings with ``ids`` set to ``verdict`` (every id is checked before anything changes)."""
    wanted = list(dict.fromkeys(normalise_id(raw) for raw in ids))
    by_id = {r.id: r for r in ratings}
    changes = []
    for paper_id in wanted:
        old = by_id.get(paper_id)
        title = (titles or {}).get(paper_id) or (old.title if old else "")
        if old is not None and old.verdict == verdict:
            by_id[paper_id] = replace(old, title=title)
        else:
            by_id[paper_id] = Rating(id=paper_id, verdict=verdict, day=day, title=title)
        changes.append(Change(paper_id, old.verdict if old else None, verdict))
    return sorted(by_id.values(), key=lambda r: r.id), changes


def unrate(ratings: Sequence[Rating], ids: Sequence[str]) -> tuple[list[Rating], list[Change]]:
    """The ratings without ``ids`` (an id that was not rated is reported as unchanged)."""
    wanted = list(dict.fromkeys(normalise_id(raw, legacy=True) for raw in ids))
    by_id = {r.id: r for r in ratings}
    changes = [Change(pid, by_id.pop(pid).verdict if pid in by_id else None, None) for pid in wanted]
    return sorted(by_id.values(), key=lambda r: r.id), changes


def known_titles(digests: Iterable[Digest], ids: Iterable[str]) -> dict[str, str]:
    """Titles of ``ids`` as the digests list them (the newest digest first wins), for the file's comments."""
    wanted = set(ids)
    titles: dict[str, str] = {}
    for digest in digests:
        for paper in digest.papers:
            if paper.id in wanted and paper.id not in titles:
                titles[paper.id] = paper.title
        if len(titles) == len(wanted):
            break
    return titles


def load_ratings(path: Path) -> list[Rating]:
    """The ratings in ``path``; no file means no ratings yet."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return []
    except (OSError, UnicodeDecodeError) as exc:
        raise RatingsError(f"{path}: cannot read: {exc.__class__.__name__}") from None
    return parse_ratings(text, origin=str(path))


def save_ratings(path: Path, ratings: Iterable[Rating]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, format_ratings(ratings))
