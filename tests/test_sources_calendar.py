"""What a digest date means for arXiv: announcement days, weekends, holidays, DST and submission windows."""

from __future__ import annotations

import datetime as dt

import pytest

from paper_digest.notices import sentence
from paper_digest.sources.calendar import (
    ARXIV_HOLIDAYS,
    EASTERN,
    announcement_for,
    no_announcement_notice,
)

UTC = dt.UTC


def no_announcement_message(day: dt.date) -> str | None:
    """The reader's sentence saying why there is no arXiv announcement for ``day`` (None if there is)."""
    notice = no_announcement_notice(day)
    return sentence(notice) if notice is not None else None


def d(text: str) -> dt.date:
    return dt.date.fromisoformat(text)


def utc(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=UTC)


def test_tuesday_digest_is_monday_evening_announcement_covering_the_weekend() -> None:
    ann = announcement_for(d("2026-06-16"))
    assert ann is not None
    assert ann.announced_at == dt.datetime(2026, 6, 15, 20, 0, tzinfo=EASTERN)
    # Friday 14:00 EDT -> Monday 14:00 EDT
    assert ann.window_start == utc("2026-06-12T18:00")
    assert ann.window_end == utc("2026-06-15T18:00")
    assert ann.window_end - ann.window_start > dt.timedelta(days=1, hours=2)  # the weekend
    assert ann.submitted_date_filter() == "submittedDate:[202606121800 TO 202606151759]"


def test_wednesday_digest_covers_one_day() -> None:
    ann = announcement_for(d("2026-06-17"))
    assert ann is not None and ann.window_end - ann.window_start <= dt.timedelta(days=1, hours=2)
    assert (ann.window_start, ann.window_end) == (utc("2026-06-15T18:00"), utc("2026-06-16T18:00"))


def test_monday_digest_is_sunday_announcement_of_thursday_to_friday() -> None:
    ann = announcement_for(d("2026-06-15"))
    assert ann is not None
    assert ann.announced_at.weekday() == 6
    assert (ann.window_start, ann.window_end) == (utc("2026-06-11T18:00"), utc("2026-06-12T18:00"))


@pytest.mark.parametrize("day", ["2026-06-13", "2026-06-14", "2026-01-03", "2026-01-04"])
def test_weekend_digest_dates_have_no_announcement(day: str) -> None:
    assert announcement_for(d(day)) is None
    message = no_announcement_message(d(day))
    assert message is not None and "周末" in message and "arXiv" in message


def test_consecutive_windows_tile_without_gaps() -> None:
    day = d("2026-01-05")
    previous = None
    for _ in range(120):
        ann = announcement_for(day)
        if ann is not None:
            if previous is not None:
                assert ann.window_start == previous.window_end
            assert ann.window_start < ann.window_end
            previous = ann
        day += dt.timedelta(days=1)


def test_thanksgiving_2026() -> None:
    # no announcement Thursday 26 Nov evening: nothing on Friday 27 Nov's digest
    assert announcement_for(d("2026-11-27")) is None
    assert no_announcement_message(d("2026-11-27")) == "arXiv 假日（美东 11 月 26 日），无新论文公告"
    # Sunday 29 Nov covers Wednesday 14:00 EST to Friday 14:00 EST
    ann = announcement_for(d("2026-11-30"))
    assert ann is not None
    assert (ann.window_start, ann.window_end) == (utc("2026-11-25T19:00"), utc("2026-11-27T19:00"))


@pytest.mark.parametrize("holiday", ["2026-12-29", "2026-12-31"])
def test_december_2026_holidays(holiday: str) -> None:
    digest = d(holiday) + dt.timedelta(days=1)
    assert announcement_for(digest) is None
    message = no_announcement_message(digest)
    assert message is not None and message.startswith("arXiv 假日")


def test_holiday_constant_lists_2026() -> None:
    assert {d("2026-11-26"), d("2026-12-25"), d("2026-12-29"), d("2026-12-31")} <= ARXIV_HOLIDAYS


def test_after_new_year_holidays_window_reaches_back() -> None:
    # 2026-12-31 (Thu) is a holiday: Sunday 3 Jan 2027 covers Wed 30 Dec 14:00 -> Fri 1 Jan 14:00
    ann = announcement_for(d("2027-01-04"))
    assert ann is not None
    assert (ann.window_start, ann.window_end) == (utc("2026-12-30T19:00"), utc("2027-01-01T19:00"))


def test_dst_spring_forward_2026() -> None:
    # DST starts Sunday 8 Mar 2026: Friday's cutoff is 14:00 EST (19:00 UTC), Monday's 14:00 EDT (18:00 UTC)
    ann = announcement_for(d("2026-03-10"))
    assert ann is not None
    assert (ann.window_start, ann.window_end) == (utc("2026-03-06T19:00"), utc("2026-03-09T18:00"))
    assert ann.window_end - ann.window_start == dt.timedelta(days=2, hours=23)


def test_dst_fall_back_2026() -> None:
    # DST ends Sunday 1 Nov 2026
    ann = announcement_for(d("2026-11-03"))
    assert ann is not None
    assert (ann.window_start, ann.window_end) == (utc("2026-10-30T18:00"), utc("2026-11-02T19:00"))
    assert ann.announced_at.utcoffset() == dt.timedelta(hours=-5)


def test_weekday_digest_has_no_no_announcement_message() -> None:
    assert no_announcement_message(d("2026-06-16")) is None
