"""The source parsers under fuzzing: generated and mutated payloads (truncations, byte flips, inserted junk)
never crash ``parse_daily``, ``parse_atom`` or ``parse_rss`` with anything but the package's own errors, and
what they do return is well formed."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sources_helpers import FIXTURES, atom_entry, render_atom, rss_from_listing

from paper_digest.errors import PaperDigestError
from paper_digest.sources.arxiv import parse_atom, parse_rss
from paper_digest.sources.huggingface import parse_daily
from paper_digest.sources.parsed import ParsedBatch

Parser = Callable[[bytes], ParsedBatch]
#: Deterministic by default, so CI is reproducible; PAPER_DIGEST_FUZZ=explore draws new random examples
#: (and more of them) when you go looking for bugs.
EXPLORE = os.environ.get("PAPER_DIGEST_FUZZ") == "explore"
FUZZ = settings(
    max_examples=600 if EXPLORE else 60,
    deadline=None,
    derandomize=not EXPLORE,
    database=None if not EXPLORE else settings.default.database,
    suppress_health_check=[HealthCheck.too_slow],
)

PAYLOADS = FIXTURES / "payloads"
HF_SEEDS = [
    (FIXTURES / "hf" / "2026-06-12.json").read_bytes()[:60_000],  # a slice: the parser reads item by item
    (PAYLOADS / "hf_daily_papers_raw_2026-06-12.json").read_bytes()[:60_000],
]
ATOM_SEEDS = [p.read_bytes() for p in sorted(PAYLOADS.glob("arxiv_api_*.xml"))]
RSS_SEEDS = [
    (PAYLOADS / "arxiv_rss_cs.LG+cs.AI+cs.CL+stat.ML_2026-09-24.xml").read_bytes()[:60_000],
    rss_from_listing("2026-06-12", ["cs.CV"])[:40_000],
]
JUNK = [b"<", b">", b"]]>", b"\x00", b'"', b"{", b"}", b"[", b"]", b",", b"&", b"&#0;", b"\xff\xfe", b"<!--"]
JUNK += [b"<entry>", b"</entry>", b"<item>", b"</feed>", b'{"paper": {"id": "2606.00001"}}', "é😀".encode()]


@st.composite
def mutated(draw: st.DrawFn, seeds: list[bytes]) -> bytes:
    """A seed payload, cut short, with bytes flipped, and with junk inserted: in any combination."""
    data = bytearray(draw(st.sampled_from(seeds)))
    for _ in range(draw(st.integers(0, 3))):
        if not data:
            break
        kind = draw(st.sampled_from(["flip", "insert", "delete"]))
        at = draw(st.integers(0, len(data) - 1))
        if kind == "flip":
            data[at] ^= draw(st.integers(1, 255))
        elif kind == "insert":
            junk = draw(st.one_of(st.sampled_from(JUNK), st.binary(min_size=1, max_size=16)))
            data[at:at] = junk
        else:
            del data[at : at + draw(st.integers(1, 64))]
    if draw(st.booleans()):
        data = data[: draw(st.integers(0, len(data)))]
    return bytes(data)


def survives(parser: Parser, payload: bytes) -> ParsedBatch | None:
    """Parse; only the package's own errors may come out. Whatever comes back is well formed."""
    try:
        batch = parser(payload)
    except PaperDigestError:
        return None
    assert isinstance(batch, ParsedBatch)
    assert batch.skipped >= 0
    ids = [p.id for p in batch.papers]
    assert all(ids) and all(p.title.strip() for p in batch.papers)
    return batch


@pytest.mark.parametrize(
    ("parser", "seeds"),
    [(parse_daily, HF_SEEDS), (parse_atom, ATOM_SEEDS), (parse_rss, RSS_SEEDS)],
    ids=["parse_daily", "parse_atom", "parse_rss"],
)
def test_mutated_payloads(parser: Parser, seeds: list[bytes]) -> None:
    @FUZZ
    @given(mutated(seeds))
    def check(payload: bytes) -> None:
        survives(parser, payload)

    check()


@pytest.mark.parametrize("parser", [parse_daily, parse_atom, parse_rss], ids=["hf", "atom", "rss"])
@FUZZ
@given(payload=st.binary(max_size=512))
def test_random_bytes(parser: Parser, payload: bytes) -> None:
    survives(parser, payload)


@pytest.mark.parametrize("cut", [0.1, 0.25, 0.5, 0.75, 0.99])
def test_every_seed_cut_short_keeps_what_came_before(cut: float) -> None:
    """A body cut anywhere keeps the items before the cut and never raises for a real list or feed."""
    for parser, seeds in ((parse_daily, HF_SEEDS), (parse_atom, ATOM_SEEDS), (parse_rss, RSS_SEEDS)):
        for seed in seeds:
            whole = survives(parser, seed)
            if whole is None:  # an export-API error feed is refused whole, as it should be
                assert b"/api/errors" in seed
                continue
            part = survives(parser, seed[: int(len(seed) * cut)])
            if part is not None:
                assert len(part.papers) <= len(whole.papers)
                assert [p.id for p in part.papers] == [p.id for p in whole.papers][: len(part.papers)]


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)
ITEM = st.fixed_dictionaries(
    {},
    optional={
        "paper": st.fixed_dictionaries(
            {},
            optional={
                "id": st.one_of(
                    st.sampled_from(["2606.13681", "2606.13681v2", "hep-th/9901001"]), JSON_VALUES
                ),
                "title": st.one_of(st.text(max_size=40), JSON_VALUES),
                "summary": st.one_of(st.text(max_size=40), JSON_VALUES),
                "authors": st.one_of(st.lists(st.dictionaries(st.just("name"), JSON_VALUES)), JSON_VALUES),
                "upvotes": JSON_VALUES,
                "publishedAt": st.one_of(st.sampled_from(["2026-06-12T00:00:00Z", "yesterday"]), JSON_VALUES),
                "ai_keywords": JSON_VALUES,
            },
        ),
        "numComments": JSON_VALUES,
        "organization": JSON_VALUES,
    },
)


@FUZZ
@given(items=st.lists(st.one_of(ITEM, JSON_VALUES), max_size=6))
def test_hf_items_of_any_shape(items: list[object]) -> None:
    """Daily Papers items of any JSON shape: each is a paper or a skipped item, never a crash."""
    batch = survives(parse_daily, json.dumps(items).encode())
    assert batch is not None  # a JSON list is always a Daily Papers list
    assert len(batch.papers) + batch.skipped == len(items)


XML_TEXT = st.text(
    st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="\ufffe\uffff"), max_size=60
)


@FUZZ
@given(title=XML_TEXT, summary=XML_TEXT, authors=st.lists(XML_TEXT, max_size=3), comment=XML_TEXT)
def test_atom_round_trips_any_text(title: str, summary: str, authors: list[str], comment: str) -> None:
    """Whatever text arXiv's fields carry, parse_atom gives it back (whitespace normalised) or skips the
    entry when the title is blank."""
    record = {
        "id": "2606.12345",
        "title": title,
        "summary": summary,
        "authors": authors,
        "categories": ["cs.CV"],
        "comment": comment,
    }
    batch = survives(parse_atom, render_atom([record], total=1, start=0))
    assert batch is not None and batch.total_results == 1
    if " ".join(title.split()):
        [paper] = batch.papers
        assert paper.title == " ".join(title.split())
        assert paper.abstract == " ".join(summary.split())
        assert paper.authors == [" ".join(a.split()) for a in authors if a.split()]
    else:
        assert batch.papers == [] and batch.skipped == 1
    assert atom_entry(record)  # the renderer itself accepts every generated record


def test_seed_files_exist() -> None:
    assert all(isinstance(s, bytes) and s for s in HF_SEEDS + ATOM_SEEDS + RSS_SEEDS)
    assert Path(PAYLOADS).is_dir() and len(ATOM_SEEDS) >= 5
