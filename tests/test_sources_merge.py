"""One candidate per paper across sources, both signals kept, deterministic order."""

from __future__ import annotations

from sources_helpers import FIXTURES, load_listing, render_atom

from paper_digest.models import (
    ArxivSignals,
    FetchResult,
    HFSignals,
    Paper,
    Source,
    SourceReport,
    SourceStatus,
)
from paper_digest.sources.arxiv import parse_atom
from paper_digest.sources.huggingface import parse_daily
from paper_digest.sources.merge import merge_candidates


def result(source: Source, papers: list[Paper]) -> FetchResult:
    return FetchResult(
        papers=papers, report=SourceReport(source=source, status=SourceStatus.OK, count=len(papers))
    )


def hf_paper(pid: str, title: str = "HF title", upvotes: int = 10) -> Paper:
    return Paper(
        id=pid,
        title=title,
        abstract="hf abstract",
        authors=["A"],
        sources=[Source.HUGGINGFACE],
        hf=HFSignals(upvotes=upvotes, github_repo="https://github.com/x/y", ai_keywords=["sr"]),
    )


def arxiv_paper(pid: str, version: int, title: str = "arXiv title") -> Paper:
    return Paper(
        id=pid,
        version=version,
        title=title,
        abstract="arxiv abstract",
        authors=["A", "B"],
        sources=[Source.ARXIV],
        arxiv=ArxivSignals(
            primary_category="cs.CV", categories=["cs.CV"], announce_type="new", comment="8 pages"
        ),
    )


def test_same_paper_v1_and_v2_across_sources_keeps_both_signals() -> None:
    hf = result(Source.HUGGINGFACE, [hf_paper("2606.00001"), hf_paper("2606.00002")])
    ax = result(Source.ARXIV, [arxiv_paper("2606.00003", 1), arxiv_paper("2606.00001", 2)])
    merged = merge_candidates([hf, ax])
    assert [p.id for p in merged] == ["2606.00001", "2606.00002", "2606.00003"]
    both = merged[0]
    assert both.sources == [Source.HUGGINGFACE, Source.ARXIV]
    assert both.version == 2
    assert both.hf is not None and both.hf.upvotes == 10 and both.hf.github_repo == "https://github.com/x/y"
    assert both.arxiv is not None and both.arxiv.comment == "8 pages" and both.arxiv.announce_type == "new"
    assert both.title == "arXiv title" and both.authors == ["A", "B"]
    assert merged[1].sources == [Source.HUGGINGFACE] and merged[1].arxiv is None
    assert merged[2].sources == [Source.ARXIV] and merged[2].hf is None


def test_order_is_deterministic_and_independent_of_duplicates() -> None:
    ax = result(Source.ARXIV, [arxiv_paper("2606.00005", 1), arxiv_paper("2606.00004", 1)])
    hf = result(Source.HUGGINGFACE, [hf_paper("2606.00004")])
    first = merge_candidates([hf, ax])
    again = merge_candidates([hf, ax])
    assert first == again
    assert [p.id for p in first] == ["2606.00004", "2606.00005"]


def test_duplicates_within_one_source_collapse() -> None:
    ax = result(Source.ARXIV, [arxiv_paper("2606.00001", 1), arxiv_paper("2606.00001", 3)])
    (paper,) = merge_candidates([ax])
    assert paper.version == 3 and paper.sources == [Source.ARXIV]


def test_corpus_day_overlap_hf_and_arxiv() -> None:
    hf = parse_daily((FIXTURES / "hf" / "2026-06-16.json").read_bytes()).papers
    records = load_listing("2026-06-16")
    ax = parse_atom(render_atom(records, total=len(records), start=0)).papers
    merged = merge_candidates([result(Source.HUGGINGFACE, hf), result(Source.ARXIV, ax)])
    ids = {p.id for p in hf} | {p.id for p in ax}
    assert len(merged) == len(ids)
    overlap = {p.id for p in hf} & {p.id for p in ax}
    assert overlap, "the corpus day has papers on both lists"
    for paper in merged:
        if paper.id in overlap:
            assert paper.sources == [Source.HUGGINGFACE, Source.ARXIV]
            assert paper.hf is not None and paper.arxiv is not None
            assert paper.version == 1
