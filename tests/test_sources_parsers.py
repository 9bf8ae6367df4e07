"""Pure parsers over the recorded payloads and the ten corpus days, and over damaged input."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from sources_helpers import FIXTURES, iter_hf_days, load_listing, render_atom, rss_from_listing

from paper_digest.errors import ParseError
from paper_digest.models import Source
from paper_digest.sources.arxiv import parse_atom, parse_rss
from paper_digest.sources.huggingface import parse_daily

PAYLOADS = FIXTURES / "payloads"


def payload(name: str) -> bytes:
    (path,) = PAYLOADS.glob(name)
    return path.read_bytes()


# --- HuggingFace -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", list(iter_hf_days()), ids=lambda p: p.stem)
def test_every_hf_corpus_day_parses_completely(path: Path) -> None:
    raw = json.loads(path.read_text(encoding="utf-8"))
    batch = parse_daily(path.read_bytes())
    assert batch.skipped == 0 and not batch.truncated
    assert len(batch.papers) == len(raw)
    assert [p.id for p in batch.papers] == [item["paper"]["id"] for item in raw]
    for paper, item in zip(batch.papers, raw, strict=True):
        assert paper.sources == [Source.HUGGINGFACE]
        assert paper.hf is not None
        assert paper.hf.upvotes == item["paper"]["upvotes"]
        assert paper.hf.num_comments == item["numComments"]
        assert paper.hf.github_repo == item["paper"].get("githubRepo")
        # blank keywords (the corpus has [""]) are dropped
        assert paper.hf.ai_keywords == [k for k in item["paper"].get("ai_keywords", []) if k.strip()]
        assert paper.authors == [a["name"] for a in item["paper"]["authors"]]
        assert paper.version is None


def test_hf_signals_of_a_known_paper() -> None:
    batch = parse_daily((FIXTURES / "hf" / "2026-06-16.json").read_bytes())
    paper = batch.papers[0]
    assert paper.id == "2606.14777"
    assert paper.title == "JoyAI-VL-Interaction: Real-Time Vision-Language Interaction Intelligence"
    assert paper.hf is not None
    assert paper.hf.upvotes == 150
    assert paper.hf.num_comments == 1
    assert paper.hf.github_repo == "https://github.com/jd-opensource/JoyAI-VL-Interaction"
    assert paper.hf.github_stars == 100
    assert paper.hf.project_page and paper.hf.project_page.startswith("https://joyai-vl")
    assert paper.hf.organization == "JD.com Open Source"
    assert "real-time interaction" in paper.hf.ai_keywords
    assert paper.hf.submitted_on_daily_at is not None
    assert paper.hf.submitted_on_daily_at.date().isoformat() == "2026-06-16"
    assert paper.hf_url == "https://huggingface.co/papers/2606.14777"


def test_hf_compact_raw_payload() -> None:
    batch = parse_daily(payload("hf_daily_papers_raw_2026-06-12.json"))
    assert len(batch.papers) == 30 and batch.skipped == 0
    assert batch.papers[0].hf is not None
    assert batch.papers[0].hf.organization == "California institute of technology"


def test_hf_truncated_json_keeps_complete_items() -> None:
    data = (FIXTURES / "hf" / "2026-06-16.json").read_bytes()
    cut = data[: len(data) // 2]
    batch = parse_daily(cut)
    assert batch.truncated
    assert batch.skipped == 1
    full = json.loads(data)
    assert 5 < len(batch.papers) < len(full)
    assert [p.id for p in batch.papers] == [i["paper"]["id"] for i in full[: len(batch.papers)]]


def test_hf_bad_items_are_skipped_and_counted() -> None:
    good = json.loads((FIXTURES / "hf" / "2026-06-12.json").read_text(encoding="utf-8"))[0]
    items = [
        good,
        {"paper": {"id": "not-an-id", "title": "x"}},  # bad id
        {"paper": {"id": "2606.00001"}},  # no title anywhere
        "garbage",
        {"paper": {"id": "2606.00002", "title": "0", "summary": "tiny"}},  # title "0" is valid, rest optional
        {"paper": {"id": "astro-ph/0601001", "title": "Old style", "upvotes": "many", "authors": [{"x": 1}]}},
    ]
    batch = parse_daily(json.dumps(items).encode())
    assert batch.skipped == 3
    assert [p.id for p in batch.papers] == [good["paper"]["id"], "2606.00002", "astro-ph/0601001"]
    zero = batch.papers[1]
    assert zero.title == "0" and zero.abstract == "tiny" and zero.authors == []
    assert zero.hf is not None and zero.hf.upvotes == 0 and zero.hf.github_repo is None
    assert batch.papers[2].hf is not None and batch.papers[2].hf.upvotes == 0


@pytest.mark.parametrize(
    ("body", "what"),
    [
        (b"<!DOCTYPE html><html><body>502 Bad Gateway</body></html>", "HTML page"),
        (b'{"error": "Invalid date"}', "JSON object"),
        (b"", "not JSON"),
    ],
)
def test_hf_non_list_raises_parse_error(body: bytes, what: str) -> None:
    with pytest.raises(ParseError, match=what):
        parse_daily(body)


def test_hf_empty_list() -> None:
    batch = parse_daily(b"[]")
    assert batch.papers == [] and batch.skipped == 0 and not batch.truncated


# --- arXiv export API --------------------------------------------------------------------------------------


def test_atom_current_layout() -> None:
    batch = parse_atom(payload("arxiv_api_query_transformer_cs.LG.xml"))
    assert batch.total_results == 28946
    assert len(batch.papers) == 5 and batch.skipped == 0
    mana = batch.papers[0]
    assert (mana.id, mana.version) == ("2606.13677", 1)
    assert mana.title == "Mana: Dexterous Manipulation of Articulated Tools"
    assert mana.arxiv is not None
    assert mana.arxiv.primary_category == "cs.RO"
    assert mana.arxiv.categories[0] == "cs.RO" and "cs.CV" in mana.arxiv.categories
    assert mana.published is not None and mana.published.year == 2026
    assert mana.authors and all(mana.authors)


def test_atom_testing_query_with_comment() -> None:
    batch = parse_atom(payload("arxiv_api_2026_q_testing_*.xml"))
    assert batch.total_results == 214881
    assert len(batch.papers) == 10
    first = batch.papers[0]
    assert first.arxiv is not None
    assert first.arxiv.comment and first.arxiv.comment.startswith(
        "Artificial Intelligence in Software Testing"
    )
    assert any(p.version == 2 for p in batch.papers)


def test_atom_title_zero_is_kept() -> None:
    (paper,) = parse_atom(payload("arxiv_api_2026_id_2104.12255v1_*.xml")).papers
    assert paper.title == "0"
    assert paper.versioned_id == "2104.12255v1"
    assert paper.arxiv is not None and paper.arxiv.primary_category == "cs.CR"


def test_atom_old_style_id() -> None:
    (paper,) = parse_atom(payload("arxiv_api_2026_id_astro-ph_0601001_*.xml")).papers
    assert (paper.id, paper.version) == ("astro-ph/0601001", 1)
    assert paper.abs_url == "https://arxiv.org/abs/astro-ph/0601001"


def test_atom_no_results() -> None:
    batch = parse_atom(payload("arxiv_api_2026_id_0000.0000_*.xml"))
    assert batch.papers == [] and batch.total_results == 0 and batch.skipped == 0


def test_atom_error_feed_raises() -> None:
    with pytest.raises(ParseError, match="incorrect id format for abc"):
        parse_atom(payload("arxiv_api_2026_id_abc_*.xml"))


def test_atom_legacy_layout() -> None:
    (paper,) = parse_atom(payload("arxiv_api_legacy2016_*.xml")).papers
    assert paper.id == "cond-mat/0603029"
    assert paper.title == (
        "From stripe to checkerboard order on the square lattice in the presence of quenched disorder"
    )
    assert paper.authors == ["Adrian Del Maestro", "Bernd Rosenow", "Subir Sachdev"]
    assert paper.arxiv is not None
    assert paper.arxiv.primary_category == "cond-mat.str-el"
    assert paper.arxiv.doi == "10.1103/PhysRevB.74.024520"
    assert paper.arxiv.journal_ref == "Phys. Rev. B 74, 024520 (2006)"
    assert paper.arxiv.comment == "10 pages, 11 figures; added reference"
    assert paper.abstract.startswith("We discuss the effects of quenched disorder")


@pytest.mark.parametrize(
    ("body", "match"),
    [
        (b"<!DOCTYPE html>\n<html><head><title>503</title></head><body>down</body></html>", "HTML page"),
        (b"<html><body><p>Rate exceeded.<br></body></html>", "HTML page"),
        (b"Rate exceeded.", "not XML"),
        (b"", "not XML"),
        (b"<?xml version='1.0'?><error>busy</error>", "<error>"),
    ],
)
def test_atom_non_feed_raises(body: bytes, match: str) -> None:
    with pytest.raises(ParseError, match=match):
        parse_atom(body)


def test_atom_truncated_keeps_complete_entries() -> None:
    records = load_listing("2026-06-12")[:20]
    data = render_atom(records, total=20, start=0)
    cut = data[: int(len(data) * 0.55)]
    batch = parse_atom(cut)
    assert batch.truncated and batch.skipped == 1
    assert 5 < len(batch.papers) < 20
    assert [p.id for p in batch.papers] == [r["id"] for r in records[: len(batch.papers)]]


def test_atom_entry_without_id_or_title_is_skipped() -> None:
    records = load_listing("2026-06-12")[:3]
    data = render_atom(records, total=3, start=0).decode()
    data = data.replace(f"<id>http://arxiv.org/abs/{records[1]['id']}v1</id>", "<id>garbage</id>", 1)
    data = data.replace(f"<title>{records[2]['title']}</title>", "<title>  </title>", 1)
    batch = parse_atom(data.encode())
    assert [p.id for p in batch.papers] == [records[0]["id"]]
    assert batch.skipped == 2 and not batch.truncated


def test_atom_rendered_corpus_day_round_trips() -> None:
    records = load_listing("2026-06-16")
    batch = parse_atom(render_atom(records, total=len(records), start=0))
    assert len(batch.papers) == len(records) == 555
    assert batch.skipped == 0
    by_id = {p.id: p for p in batch.papers}
    for record in records:
        paper = by_id[record["id"]]
        assert paper.title == " ".join(record["title"].split())
        assert paper.arxiv is not None and paper.arxiv.categories == record["categories"]
        assert paper.arxiv.comment == (" ".join(record["comment"].split()) if record["comment"] else None)


# --- arXiv RSS ---------------------------------------------------------------------------------------------


def test_rss_payload_announce_types_versions_authors() -> None:
    batch = parse_rss(payload("arxiv_rss_*.xml"))
    assert batch.feed_date is not None and batch.feed_date.isoformat() == "2026-09-24"
    assert [(p.id, p.version, p.arxiv.announce_type if p.arxiv else None) for p in batch.papers] == [
        ("2609.26811", 1, "new"),
        ("2609.26820", 1, "new"),
        ("2205.06398", 2, "cross"),
        ("2009.13987", 3, "replace"),
    ]
    second = batch.papers[1]
    assert second.authors == ["Naser Mansour", "Sidahmed Benabderrahmane", "Ameer Rahwan"]
    assert second.abstract.startswith("Physiological time series")
    cross = batch.papers[2]
    assert cross.arxiv is not None
    assert cross.arxiv.primary_category == "stat.ME"
    assert cross.arxiv.doi == "10.1093/bioinformatics/btac431"


def test_rss_rendered_corpus_day() -> None:
    batch = parse_rss(rss_from_listing("2026-06-16", ["cs.CV"]))
    kinds = {p.arxiv.announce_type for p in batch.papers if p.arxiv}
    assert {"new", "cross"} <= kinds
    assert len(batch.papers) == 263 and batch.skipped == 0


def test_rss_html_raises() -> None:
    with pytest.raises(ParseError, match="HTML page"):
        parse_rss(b"<!DOCTYPE html><html><body>Service Unavailable</body></html>")


def test_rss_truncated_keeps_complete_items() -> None:
    data = rss_from_listing("2026-06-12", ["cs.CV"])
    batch = parse_rss(data[: len(data) // 2])
    assert batch.truncated and batch.skipped == 1
    assert batch.papers and batch.feed_date is not None


def test_unknown_xml_encoding_is_read_not_raised() -> None:
    """Found by the fuzz suite: a declaration naming an unknown encoding raised LookupError. feedparser falls
    back to another encoding and reads the feed; a feed of the other kind is still refused."""
    from paper_digest.errors import ParseError
    from paper_digest.sources.arxiv import parse_atom, parse_rss

    body = b"<?xml version='1.0' encoding='TTF-8'?>\n<feed xmlns='http://www.w3.org/2005/Atom'></feed>"
    batch = parse_atom(body)
    assert batch.papers == [] and batch.skipped == 0 and not batch.truncated
    with pytest.raises(ParseError, match="not an RSS feed"):
        parse_rss(body)


@pytest.mark.parametrize(
    "encode",
    [
        lambda text: text.encode("latin-1", "replace"),  # declared utf-8, sent as latin-1
        lambda text: text.encode("utf-16"),  # declared utf-8, sent as UTF-16 with a BOM
    ],
    ids=["latin-1-declared-utf-8", "utf-16-declared-utf-8"],
)
def test_wrongly_declared_encoding_keeps_the_papers(encode: Callable[[str], bytes]) -> None:
    """The ElementTree parser this replaced stopped at the first byte that was not UTF-8 (2 of 224 papers of
    a corpus day were kept, bench/bench_feed_parsers.py); feedparser detects the real encoding."""
    records = load_listing("2026-06-16")[:40]
    text = render_atom(records, total=40, start=0).decode("utf-8")
    batch = parse_atom(encode(text))
    assert [p.id for p in batch.papers] == [r["id"] for r in records]
    assert not batch.truncated
