"""The Atom feed as a reader sees it: through feedparser, across runs of the CLI against the local world."""

from __future__ import annotations

import datetime as dt
import uuid

import feedparser
import pytest
from world import World

from paper_digest.feed import ENTRY_NAMESPACE, default_feed_url, entry_id

DAY = "2026-06-12"
SITE = "https://github.com/me/papers/blob/main/digests/"
RAW_FEED = "https://raw.githubusercontent.com/me/papers/main/digests/feed.xml"


def set_digest_keys(world: World, lines: str) -> None:
    text = world.config_path.read_text(encoding="utf-8")
    world.config_path.write_text(text.replace("[digest]\n", f"[digest]\n{lines}\n", 1), encoding="utf-8")


def read_feed(world: World) -> feedparser.FeedParserDict:
    parsed = feedparser.parse((world.out / "feed.xml").read_bytes())
    assert not parsed.bozo, parsed.get("bozo_exception")
    return parsed


def test_feed_links_every_entry_and_keeps_its_id_across_runs(world: World) -> None:
    set_digest_keys(world, f'site_url = "{SITE}"')
    first = world.run("run", "--date", DAY, "--no-llm")
    assert first.exit_code == 0, first.output
    assert first.stdout.splitlines() == [
        str(world.out / f"{DAY}.md"),
        str(world.out / f"{DAY}.json"),
        str(world.out / "README.md"),
        str(world.out / "feed.xml"),
    ]
    feed = read_feed(world)
    assert [(link.rel, link.href) for link in feed.feed.links] == [
        ("self", RAW_FEED),
        ("alternate", SITE),
    ]
    (entry,) = feed.entries
    assert entry.id == entry_id(dt.date(2026, 6, 12))
    assert entry.link == SITE + f"{DAY}.md"
    assert entry.updated == "2026-11-23T12:00:00Z" == feed.feed.updated  # the run's wall clock

    # a rerun that writes the same digest keeps the sidecar and the feed byte-identical
    sidecar, feed_bytes = (world.out / f"{DAY}.json").read_bytes(), (world.out / "feed.xml").read_bytes()
    world.now += dt.timedelta(hours=1)
    assert world.run("run", "--date", DAY, "--no-llm").exit_code == 0
    assert (world.out / f"{DAY}.json").read_bytes() == sidecar
    assert (world.out / "feed.xml").read_bytes() == feed_bytes

    # a run that finishes the deep dives changes the day: the entry's updated moves, its id does not
    world.now += dt.timedelta(hours=1)
    assert world.run("run", "--date", DAY).exit_code == 0
    (entry_after,) = read_feed(world).entries
    assert entry_after.id == entry.id
    assert entry_after.updated == "2026-11-23T14:00:00Z"
    assert world.sidecar(DAY)["updated"] == "2026-11-23T14:00:00Z"

    # `index` with other URLs, and a config without any, keep the id; links follow the configuration
    index = world.run("index", "--site-url", "https://me.github.io/papers/")
    assert index.exit_code == 0, index.output
    assert index.stdout.splitlines() == [
        f"{world.out / 'README.md'} (1 digests)",
        str(world.out / "feed.xml"),
    ]
    (entry_pages,) = read_feed(world).entries
    assert entry_pages.id == entry.id and entry_pages.link == f"https://me.github.io/papers/{DAY}.md"
    assert read_feed(world).feed.links[0].href == "https://me.github.io/papers/feed.xml"
    world.write_config()
    assert world.run("index").exit_code == 0
    bare = feedparser.parse(
        (world.out / "feed.xml").read_bytes(), response_headers={"content-location": RAW_FEED}
    )
    (entry_bare,) = bare.entries
    assert entry_bare.id == entry.id
    # no site_url: the link is relative to the feed, so a reader resolves it beside feed.xml
    assert entry_bare.link == f"https://raw.githubusercontent.com/me/papers/main/digests/{DAY}.md"


def test_environment_sets_the_urls_as_the_action_does(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PAPER_DIGEST_SITE_URL", SITE)
    monkeypatch.setenv("PAPER_DIGEST_FEED_URL", "")  # an unset repository variable arrives empty
    assert world.run("run", "--date", DAY, "--no-llm").exit_code == 0
    feed = read_feed(world)
    assert feed.feed.links[0].href == RAW_FEED and feed.entries[0].link == SITE + f"{DAY}.md"
    monkeypatch.setenv("PAPER_DIGEST_FEED_URL", "ftp://nope")
    bad = world.run("index")
    assert bad.exit_code == 2
    assert bad.stderr == "Error: PAPER_DIGEST_FEED_URL: expected an http(s) URL, got 'ftp://nope'\n"


@pytest.mark.parametrize(
    ("site", "feed"),
    [
        (SITE, RAW_FEED),
        (
            "https://github.com/me/papers/tree/main/",
            "https://raw.githubusercontent.com/me/papers/main/feed.xml",
        ),
        ("https://me.github.io/papers", "https://me.github.io/papers/feed.xml"),
        ("javascript:alert(1)", None),
        (None, None),
    ],
)
def test_default_feed_url(site: str | None, feed: str | None) -> None:
    assert default_feed_url(site) == feed


def test_entry_ids_depend_on_the_date_only() -> None:
    assert entry_id(dt.date(2026, 6, 12)) == entry_id(dt.date(2026, 6, 12)) != entry_id(dt.date(2026, 6, 15))
    # the namespace is fixed forever: this value must never change
    assert entry_id(dt.date(2026, 6, 12)) == "urn:uuid:" + str(uuid.uuid5(ENTRY_NAMESPACE, "2026-06-12"))
    assert str(ENTRY_NAMESPACE) == "5f0c3a52-9d1e-5b8e-8d4e-7061706572dd"
