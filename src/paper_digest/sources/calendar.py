"""arXiv announcement days and the submission windows they cover: what ``--date D`` means.

``D`` is the *digest date*: the morning on which the researcher (e.g. in Asia/Shanghai) reads the digest.

HuggingFace
    The Daily Papers list of ``D``: ``GET {endpoint}/api/daily_papers?date=D``. HF's ``date=`` filters on
    the day a paper was added to Daily Papers (UTC), not on its arXiv date. Lists are weekday-only; a weekend
    date gives ``[]``. Note that the list of ``D`` fills up during ``D`` (US daytime), so a run early on
    ``D``'s morning in Asia sees a short list; re-running later, or a backfill, sees the full one.

arXiv
    The announcement made at 20:00 US Eastern on the evening *before* ``D`` (US Eastern date ``D - 1``),
    which is 08:00 (EDT) or 09:00 (EST) on ``D`` in Shanghai. arXiv's own listing is dated ``D``
    ("New submissions for Tue, 16 Jun 26" appears Monday 20:00 ET). arXiv announces Sunday to Thursday
    evenings only, so there is no arXiv announcement for a Saturday or Sunday ``D``, nor for the day after
    an arXiv holiday (:data:`ARXIV_HOLIDAYS`, the US Eastern evenings on which no announcement is made).

    Each announcement covers the submissions received between the previous announcement's cutoff and its own
    (arXiv's schedule, https://info.arxiv.org/help/availability.html; cutoff 14:00 US Eastern):

    ==================================  =================
    submissions received (US Eastern)   announced
    ==================================  =================
    Monday 14:00 - Tuesday 14:00        Tuesday 20:00
    Tuesday 14:00 - Wednesday 14:00     Wednesday 20:00
    Wednesday 14:00 - Thursday 14:00    Thursday 20:00
    Thursday 14:00 - Friday 14:00       Sunday 20:00
    Friday 14:00 - Monday 14:00         Monday 20:00 (covers the weekend)
    ==================================  =================

    After a holiday the next announcement's window starts at the cutoff of the last announcement actually made
    (e.g. no announcement on Thursday 26 Nov 2026: Sunday 29 Nov covers Wednesday 14:00 to Friday 14:00).
    The window is converted to UTC with ``zoneinfo("America/New_York")`` (so DST switches are right) and
    used as the export API's ``submittedDate:[YYYYMMDDHHMM TO YYYYMMDDHHMM]`` filter, so a past date can be
    fetched again and gives the same papers. Limits: ``submittedDate`` is the first version's submission
    time, so papers held in moderation past their window, and papers cross-listed into a category later,
    are not found by a backfill; the RSS feed (used for today's announcement) has them.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from ..models import Notice, NoticeKind, Source

EASTERN = ZoneInfo("America/New_York")
UTC = dt.UTC

#: arXiv's daily submission cutoff, US Eastern
CUTOFF = dt.time(14, 0)
#: arXiv's announcement time, US Eastern
ANNOUNCE_TIME = dt.time(20, 0)

#: US Eastern dates of the evenings on which arXiv makes no announcement ("deferred mailings"), from
#: https://info.arxiv.org/help/availability.html (arXiv/arxiv-docs ``source/help/availability.md``).
#: Incomplete for years arXiv did not publish here (2024, December 2025): an unlisted holiday shows up as an
#: ordinary announcement whose backfill window is simply merged into the next one's listing by arXiv.
#: A holiday on a Friday or Saturday changes nothing here (there is no announcement on those evenings anyway).
ARXIV_HOLIDAYS: frozenset[dt.date] = frozenset(
    {
        # 2023
        dt.date(2023, 1, 16),
        dt.date(2023, 6, 14),
        dt.date(2023, 6, 19),
        dt.date(2023, 7, 4),
        dt.date(2023, 9, 4),
        dt.date(2023, 11, 23),
        dt.date(2023, 12, 25),
        dt.date(2023, 12, 27),
        # 2025
        dt.date(2025, 1, 1),
        dt.date(2025, 1, 20),
        dt.date(2025, 6, 19),
        dt.date(2025, 7, 6),
        dt.date(2025, 9, 1),
        dt.date(2025, 11, 27),
        # 2026
        dt.date(2026, 11, 26),
        dt.date(2026, 12, 25),
        dt.date(2026, 12, 29),
        dt.date(2026, 12, 31),
    }
)

_SUNDAY = 6
_FRIDAY = 4
_SATURDAY = 5


@dataclass(frozen=True)
class Announcement:
    """One arXiv announcement and the submission window it covers (``window_start`` < t <= ``window_end``)."""

    digest_date: dt.date
    #: 20:00 US Eastern on the evening before ``digest_date`` (aware, America/New_York)
    announced_at: dt.datetime
    #: previous announcement's cutoff (aware, UTC)
    window_start: dt.datetime
    #: this announcement's cutoff (aware, UTC)
    window_end: dt.datetime

    def submitted_date_filter(self) -> str:
        """``submittedDate:[start TO end]`` in GMT minutes.

        The end minute is excluded, so consecutive windows never overlap."""
        last = self.window_end - dt.timedelta(minutes=1)
        return f"submittedDate:[{self.window_start:%Y%m%d%H%M} TO {last:%Y%m%d%H%M}]"


def is_announcement_evening(eastern_day: dt.date) -> bool:
    """True when arXiv announces on the evening of this US Eastern date."""
    return eastern_day.weekday() not in (_FRIDAY, _SATURDAY) and eastern_day not in ARXIV_HOLIDAYS


def _cutoff_of(eastern_day: dt.date) -> dt.datetime:
    """The cutoff an announcement on this US Eastern evening closes: the same day, or Friday's for Sunday."""
    deadline_day = eastern_day - dt.timedelta(days=2) if eastern_day.weekday() == _SUNDAY else eastern_day
    return dt.datetime.combine(deadline_day, CUTOFF, tzinfo=EASTERN).astimezone(UTC)


def _previous_announcement(eastern_day: dt.date) -> dt.date:
    candidate = eastern_day - dt.timedelta(days=1)
    for _ in range(60):
        if is_announcement_evening(candidate):
            return candidate
        candidate -= dt.timedelta(days=1)
    raise ValueError(f"no arXiv announcement in the 60 days before {eastern_day}")  # pragma: no cover


def announcement_for(day: dt.date) -> Announcement | None:
    """The arXiv announcement read on the morning of digest date ``day``, or None when there is none."""
    evening = day - dt.timedelta(days=1)
    if not is_announcement_evening(evening):
        return None
    start = _cutoff_of(_previous_announcement(evening))
    end = _cutoff_of(evening)
    return Announcement(
        digest_date=day,
        announced_at=dt.datetime.combine(evening, ANNOUNCE_TIME, tzinfo=EASTERN),
        window_start=start,
        window_end=end,
    )


def no_announcement_notice(day: dt.date) -> Notice | None:
    """Why there is no arXiv announcement for ``day``, as a notice (None if there is one)."""
    evening = day - dt.timedelta(days=1)
    if evening in ARXIV_HOLIDAYS and evening.weekday() not in (_FRIDAY, _SATURDAY):
        return Notice(kind=NoticeKind.HOLIDAY, source=Source.ARXIV, day=evening)
    if evening.weekday() in (_FRIDAY, _SATURDAY):
        return Notice(kind=NoticeKind.WEEKEND, source=Source.ARXIV)
    return None
