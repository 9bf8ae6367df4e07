"""The ratings file (pure parse/format) and the like / dislike / unrate / ratings commands on real files."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from typer.testing import CliRunner

from paper_digest import cli
from paper_digest.clock import Clock
from paper_digest.models import Digest, DigestPaper, Source
from paper_digest.ratings import (
    HEADER,
    Rating,
    RatingsError,
    format_ratings,
    known_titles,
    parse_ratings,
    rate,
    unrate,
)

DAY = dt.date(2026, 6, 12)


def test_parse_accepts_versions_urls_comments_and_the_later_line_wins() -> None:
    text = (
        "# a comment\n\n"
        "like 2606.12575v2 2026-06-10  # PixelFlow # with a hash\n"
        "DISLIKE https://arxiv.org/abs/2606.13001\n"
        "like arXiv:2606.13001 2026-06-12\n"
        "dislike astro-ph/0601001v1\n"
    )
    assert parse_ratings(text) == [
        Rating("2606.12575", "like", dt.date(2026, 6, 10), "PixelFlow # with a hash"),
        Rating("2606.13001", "like", DAY, ""),
        Rating("astro-ph/0601001", "dislike", None, ""),
    ]


SHAPE = "expected 'like ID [YYYY-MM-DD]' or 'dislike ID [YYYY-MM-DD]'"


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("love 2606.12575", SHAPE),
        ("like", SHAPE),
        ("like 2606.12575 x y", SHAPE),
        ("like 12345", "'12345' is not an arXiv id (expected e.g. 2606.12575 or 2606.12575v2)"),
        ("like 2606.12575 06/12", "'06/12' is not a date like 2026-06-12"),
    ],
)
def test_a_bad_line_is_named(line: str, message: str) -> None:
    with pytest.raises(RatingsError) as info:
        parse_ratings(f"# header\n{line}\n", origin="ratings.txt")
    assert str(info.value) == f"ratings.txt:2: {message}"


def test_format_is_sorted_aligned_and_round_trips() -> None:
    items = [
        Rating("2606.13001", "dislike", None, "  Spaced\n  title "),
        Rating("2606.12575", "like", DAY, "x" * 150),
    ]
    text = format_ratings(items)
    lines = text[len(HEADER) :].splitlines()
    assert lines[0].startswith("like     2606.12575  2026-06-12  # xxx") and lines[0].endswith("…")
    assert lines[1] == "dislike  2606.13001  # Spaced title"
    assert parse_ratings(text) == [
        Rating("2606.12575", "like", DAY, "x" * 99 + "…"),
        Rating("2606.13001", "dislike", None, "Spaced title"),
    ]
    assert format_ratings(parse_ratings(text)) == text


def test_rate_and_unrate_report_changes_and_check_every_id_first() -> None:
    items, changes = rate([], "like", ["2606.12575v1", "2606.12575"], day=DAY, titles={"2606.12575": "T"})
    assert items == [Rating("2606.12575", "like", DAY, "T")]
    assert [(c.id, c.before, c.after) for c in changes] == [("2606.12575", None, "like")]
    later = DAY + dt.timedelta(days=3)
    items, changes = rate(items, "dislike", ["2606.12575"], day=later)
    assert items == [Rating("2606.12575", "dislike", later, "T")]
    assert (changes[0].before, changes[0].after) == ("like", "dislike")
    with pytest.raises(RatingsError):
        rate(items, "like", ["2606.13001", "nonsense"], day=DAY)
    items, changes = unrate(items, ["2606.12575", "2606.99999"])
    assert items == []
    assert [(c.before, c.after) for c in changes] == [("dislike", None), (None, None)]


def test_known_titles_prefers_the_newest_digest() -> None:
    def digest(day: dt.date, title: str) -> Digest:
        paper = DigestPaper(
            rank=1,
            id="2606.12575",
            title=title,
            score=50,
            sources=[Source.ARXIV],
            deep_dive=False,
            analysis_status="skipped",
        )
        return Digest(date=day, title="t", papers=[paper])

    found = known_titles([digest(DAY, "new"), digest(DAY - dt.timedelta(days=1), "old")], ["2606.12575"])
    assert found == {"2606.12575": "new"}


# -- the commands --------------------------------------------------------------------------------------------


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "config.toml"
    path.write_text('[digest]\noutput_dir = "out"\n[learning]\nmin_ratings = 3\n', encoding="utf-8")
    return path


#: the command's clock: 2026-06-12, 09:00 in Shanghai
TIME = Clock(now=lambda: dt.datetime(2026, 6, 12, 1, 0, tzinfo=dt.UTC))


def invoke(config: Path, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli.app, [*args, "--config", str(config)], obj=TIME)
    return result.exit_code, result.stdout, result.stderr


def test_like_dislike_unrate_and_list(config: Path) -> None:
    ratings_file = config.parent / "ratings.txt"
    code, out, err = invoke(config, "like", "2606.12575v2", "2606.13001")
    assert code == 0
    assert out == "2606.12575: not rated -> liked\n2606.13001: not rated -> liked\n"
    assert "2 liked, 0 disliked; the profile alone ranks until there are 3 ratings" in err
    code, out, err = invoke(config, "dislike", "2606.13001", "2606.14002")
    assert code == 0 and "2606.13001: liked -> disliked" in out
    assert "1 liked, 2 disliked; the ranking learns from them" in err
    code, out, _ = invoke(config, "like", "2606.12575")
    assert out == "2606.12575: already liked\n"
    code, out, _ = invoke(config, "unrate", "2606.14002")
    assert code == 0 and out == "2606.14002: disliked -> not rated\n"
    assert ratings_file.read_text(encoding="utf-8") == (
        HEADER + "like     2606.12575  2026-06-12\ndislike  2606.13001  2026-06-12\n"
    )
    code, out, _ = invoke(config, "ratings")
    assert code == 0
    assert out.splitlines() == ["like     2606.12575  2026-06-12", "dislike  2606.13001  2026-06-12"]
    code, out, _ = invoke(config, "ratings", "--path")
    assert out.strip() == str(ratings_file)


def test_a_bad_id_is_one_line_and_writes_nothing(config: Path) -> None:
    code, _, err = invoke(config, "like", "2606.12575", "not-an-id")
    assert code == 2
    assert err.strip() == ("Error: 'not-an-id' is not an arXiv id (expected e.g. 2606.12575 or 2606.12575v2)")
    assert not (config.parent / "ratings.txt").exists()


def test_a_broken_ratings_file_is_one_line(config: Path) -> None:
    (config.parent / "ratings.txt").write_text("like 2606.12575\nmaybe 2606.1\n", encoding="utf-8")
    code, _, err = invoke(config, "ratings")
    assert code == 2
    assert err.strip() == f"Error: {config.parent / 'ratings.txt'}:2: {SHAPE}"
    assert "Traceback" not in err


def test_check_reports_the_ratings_file(config: Path) -> None:
    code, out, _ = invoke(config, "check")
    assert "ok   ratings: 0 in" in out and "the profile alone ranks until 3 ratings with a like" in out
    (config.parent / "ratings.txt").write_text("like 2606.12575\nmaybe\n", encoding="utf-8")
    code, out, _ = invoke(config, "check")
    assert code == 0 and "warn ratings: " in out and ":2: expected 'like ID" in out
