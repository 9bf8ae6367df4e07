"""Full text for deep dives: extraction from real and generated pages, selection, fetching, politeness."""

from __future__ import annotations

import itertools
import random
from collections.abc import Iterator
from pathlib import Path

import pytest
from clocks import FakeClock
from fulltext_helpers import (
    HTML_2508,
    METHOD_SENTENCE,
    RESULT_ROW,
    FakeArxivWeb,
    PaperText,
    latexml_page,
    make_pdf,
)
from sources_helpers import Reply, ScriptedServer

from paper_digest.config import ArxivConfig
from paper_digest.errors import ParseError
from paper_digest.models import ArxivSignals, Paper
from paper_digest.sources.arxiv import fetch_arxiv_ids
from paper_digest.sources.fulltext import (
    FullTextCache,
    Origin,
    Reason,
    SectionKind,
    estimate_tokens,
    fetch_full_text,
    parse_html,
    parse_pdf,
    select_text,
)
from paper_digest.sources.http import HttpClient

VID = "2601.00001v1"


@pytest.fixture
def server() -> Iterator[ScriptedServer]:
    with ScriptedServer() as srv:
        yield srv


def make_client(clock: FakeClock) -> HttpClient:
    return HttpClient(
        user_agent="paper-digest/test", timeout=2.0, clock=clock, sleep=clock.sleep, rng=random.Random(3)
    )


def paper(vid: str = VID, **changes: object) -> Paper:
    base, version = vid.split("v")
    fields: dict[str, object] = {"id": base, "version": int(version), "title": "Flow Matching for IR"}
    fields.update(changes)
    return Paper.model_validate(fields)


# --- extraction ---------------------------------------------------------------------------------------------


def test_real_2026_layout_page() -> None:
    doc = parse_html(HTML_2508.read_bytes())
    assert doc.title == "Audio-Visual Speech Enhancement: Architectural Design and Deployment Strategies"
    assert doc.abstract.startswith("Real-time audio-visual speech enhancement (AVSE) is a key enabler")
    titles = [(s.title, s.kind) for s in doc.sections]
    assert titles[0] == ("I Introduction", SectionKind.INTRODUCTION)
    assert ("IV Proposed Solution", SectionKind.METHOD) in titles
    assert ("V Experimental Results", SectionKind.EXPERIMENTS) in titles
    assert titles[-1] == ("References", SectionKind.REFERENCES)
    method = next(s for s in doc.sections if s.title == "IV Proposed Solution")
    assert method.blocks[0].kind == "heading"
    assert method.blocks[0].text == "IV-A Model Architecture and Feature Fusion"
    assert method.blocks[1].text.startswith("The proposed AVSE architecture consists of parallel audio and")
    results = next(s for s in doc.sections if s.kind is SectionKind.EXPERIMENTS)
    tables = [b.text for b in results.blocks if b.kind == "table"]
    assert len(tables) == 3
    assert "Model 1 | 1,540,396 (5.88 MB) | 1200" in tables[2]
    assert "5G public network (Vodafone + AWS Wavelength, London) | 54.4–73" in tables[1]
    problem = next(s for s in doc.sections if s.title.startswith("III"))
    assert "y[n]=x[n]+d[n]," in problem.text  # formulas as their TeX (alttext)
    everything = doc.abstract + "".join(s.text for s in doc.sections)
    for chrome in ("independent nonprofit", "Report Issue", "Back to Abstract", "function("):
        assert chrome not in everything


@pytest.mark.parametrize("layout", ["2025", "ar5iv"])
def test_other_layouts(layout: str) -> None:
    doc = parse_html(latexml_page(PaperText(), layout=layout))
    assert doc.title == "Flow Matching for Blind Image Restoration"
    assert [s.kind for s in doc.sections] == [
        SectionKind.INTRODUCTION,
        SectionKind.RELATED,
        SectionKind.METHOD,
        SectionKind.EXPERIMENTS,
        SectionKind.CONCLUSION,
        SectionKind.REFERENCES,
        SectionKind.APPENDIX,
    ]
    text = doc.abstract + "".join(s.text for s in doc.sections)
    assert METHOD_SENTENCE in text
    assert "FlowIR | (ours) | 32.47 | 0.912 | 0.081" in text
    assert "\\times 4" in text and "italic_z" not in text and "𝑧" not in text
    assert "Report Issue" not in text and "Feeling lucky" not in text and "LaTeXML" not in text
    assert doc.links == ["https://github.com/example/flowir"]


def test_generated_pdf() -> None:
    doc = parse_pdf(make_pdf(PaperText()))
    assert doc.format == "pdf" and doc.pages == 1
    assert doc.abstract.startswith("We restore images with flow matching.")
    kinds = [(s.title, s.kind) for s in doc.sections]
    assert kinds[:5] == [
        ("1 INTRODUCTION", SectionKind.INTRODUCTION),
        ("2 RELATED WORK", SectionKind.RELATED),
        ("3 METHOD", SectionKind.METHOD),
        ("4 EXPERIMENTS", SectionKind.EXPERIMENTS),
        ("5 CONCLUSION", SectionKind.CONCLUSION),
    ]
    assert kinds[5:] == [
        ("REFERENCES", SectionKind.REFERENCES),
        ("A Additional results", SectionKind.APPENDIX),  # on the same page as the references
    ]
    experiments = doc.sections[3]
    assert any(b.kind == "table" and RESULT_ROW in b.text for b in experiments.blocks)
    assert "arXiv:2601.00001v1" not in "".join(s.text for s in doc.sections)  # the stamp is dropped


def test_pdf_reading_stops_at_the_references() -> None:
    doc = parse_pdf(make_pdf(PaperText(), pages_of_filler=3))
    assert doc.pages == 4
    assert "[50] A. Author" not in "".join(s.text for s in doc.sections)  # page 3 was never read


@pytest.mark.parametrize("data", [b"", b"%PDF-1.4 garbage", b"<html>not a paper</html>"])
def test_unreadable_inputs_raise_parse_error(data: bytes) -> None:
    with pytest.raises(ParseError):
        parse_pdf(data) if data.startswith(b"%PDF") else parse_html(data)


# --- selection ----------------------------------------------------------------------------------------------


def test_selection_keeps_method_and_tables_drops_references_and_appendix() -> None:
    doc = parse_html(latexml_page(PaperText(), layout="2025"))
    chosen = select_text(doc, 12000)
    assert METHOD_SENTENCE in chosen.text and "32.47" in chosen.text
    assert "SwinIR: Image restoration using Swin Transformer" not in chosen.text
    assert "APPENDIX-ONLY" not in chosen.text
    assert chosen.omitted == ["References", "Appendix A Additional results"]


def test_selection_within_budget_keeps_tables_first() -> None:
    doc = parse_html(HTML_2508.read_bytes())
    whole = select_text(doc, 100_000)
    small = select_text(doc, 3000)
    assert whole.truncated == [] and whole.tokens > 9000
    assert small.tokens <= 3000
    assert "V Experimental Results" in small.truncated
    assert "Model 3 | 202,564 (791.27 KB) | 350" in small.text  # a cut section keeps its tables
    assert small.text.startswith("## Abstract\nReal-time audio-visual speech enhancement")


def test_token_estimate() -> None:
    assert estimate_tokens("a" * 400) == 100
    assert estimate_tokens("图像复原") == 4


# --- fetching -----------------------------------------------------------------------------------------------


def config(server: ScriptedServer, **changes: object) -> ArxivConfig:
    values: dict[str, object] = {
        "api_url": server.url + "/api/query",
        "web_url": server.url.replace("127.0.0.1", "localhost"),
        "delay_seconds": 3.0,
    }
    values.update(changes)
    return ArxivConfig.model_validate(values)


def test_html_first_then_cached(server: ScriptedServer, clock: FakeClock, tmp_path: Path) -> None:
    web = FakeArxivWeb(server)
    web.serve(VID, html=latexml_page(PaperText(), layout="2025"), pdf=make_pdf(PaperText()))
    cache = FullTextCache(tmp_path)
    result = fetch_full_text(make_client(clock), config(server), paper(), cache=cache)
    assert result.origin is Origin.HTML and result.document is not None
    assert [r.path for r in server.requests] == [f"/html/{VID}"]
    again = fetch_full_text(make_client(clock), config(server), paper(), cache=cache)
    assert again.cached and again.document == result.document
    assert len(server.requests) == 1, "a rerun fetches nothing"


def test_no_html_reads_the_pdf(server: ScriptedServer, clock: FakeClock, tmp_path: Path) -> None:
    web = FakeArxivWeb(server)
    web.serve(VID, pdf=make_pdf(PaperText()))
    result = fetch_full_text(make_client(clock), config(server), paper(), cache=FullTextCache(tmp_path))
    assert result.origin is Origin.PDF and result.document is not None
    assert METHOD_SENTENCE in select_text(result.document, 12000).text
    assert [r.path for r in server.requests] == [f"/html/{VID}", f"/pdf/{VID}"]


def test_neither_gives_the_abstract_and_is_remembered(
    server: ScriptedServer, clock: FakeClock, tmp_path: Path
) -> None:
    FakeArxivWeb(server).serve(VID)
    cache = FullTextCache(tmp_path)
    result = fetch_full_text(make_client(clock), config(server), paper(), cache=cache)
    assert (result.origin, result.reason) == (Origin.ABSTRACT, Reason.NOT_FOUND)
    fetch_full_text(make_client(clock), config(server), paper(), cache=cache)
    assert len(server.requests) == 2, "the 404s are final: a rerun asks nothing"


def test_pdf_too_large(server: ScriptedServer, clock: FakeClock, tmp_path: Path) -> None:
    FakeArxivWeb(server).serve(VID, pdf=make_pdf(PaperText(), pages_of_filler=2))
    cfg = config(server, max_pdf_mb=0.001)  # ~1 kB
    result = fetch_full_text(make_client(clock), cfg, paper(), cache=FullTextCache(tmp_path))
    assert (result.origin, result.reason) == (Origin.ABSTRACT, Reason.TOO_LARGE)


def test_transient_failure_is_not_cached(server: ScriptedServer, clock: FakeClock, tmp_path: Path) -> None:
    server.script(f"/html/{VID}", [Reply(404, b"")])
    server.script(f"/pdf/{VID}", [Reply(503, b"busy")])
    client = make_client(clock)
    client.max_attempts = 2
    cache = FullTextCache(tmp_path)
    result = fetch_full_text(client, config(server), paper(), cache=cache)
    assert (result.origin, result.reason) == (Origin.ABSTRACT, Reason.FAILED)
    assert cache.load(VID) is None


def test_withdrawn_paper_is_not_fetched(server: ScriptedServer, clock: FakeClock) -> None:
    withdrawn = paper(arxiv=ArxivSignals(comment="This paper has been withdrawn by the author"))
    result = fetch_full_text(make_client(clock), config(server), withdrawn)
    assert (result.origin, result.reason) == (Origin.ABSTRACT, Reason.WITHDRAWN)
    assert server.requests == []


def test_full_text_off(server: ScriptedServer, clock: FakeClock) -> None:
    result = fetch_full_text(make_client(clock), config(server, full_text=False), paper())
    assert result.reason is Reason.DISABLED and server.requests == []


def test_one_interval_across_api_and_full_text(server: ScriptedServer, clock: FakeClock) -> None:
    """The export API (127.0.0.1) and the web pages (localhost) are two hosts but one site to arXiv."""
    times: list[tuple[str, float]] = []
    api_body = (Path(__file__).parent / "fixtures" / "payloads").glob("arxiv_api_2026_id_2104*.xml")
    body = next(iter(api_body)).read_bytes()

    def api(seen: object) -> Reply:
        times.append(("api", clock.now))
        return Reply(200, body, {"Content-Type": "application/atom+xml"})

    web = FakeArxivWeb(server)
    web.serve(VID, pdf=make_pdf(PaperText()))
    server.route("/api/query", api)
    original = web._answer

    def timed(seen: object) -> Reply:
        times.append(("web", clock.now))
        return original(seen)  # type: ignore[arg-type]

    server.route(f"/html/{VID}", timed)
    server.route(f"/pdf/{VID}", timed)
    client = make_client(clock)
    cfg = config(server)
    fetch_arxiv_ids(client, cfg, ["2104.12255v1"])
    fetch_full_text(client, cfg, paper())
    fetch_arxiv_ids(client, cfg, ["2104.12255v1"])
    assert [kind for kind, _ in times] == ["api", "web", "web", "api"]
    gaps = [later - earlier for (_, earlier), (_, later) in itertools.pairwise(times)]
    assert all(gap >= 3.0 for gap in gaps), gaps


def test_selection_keeps_the_conclusion_before_discussion() -> None:
    from paper_digest.sources.fulltext import Block, Document, Section

    long = " ".join(f"Discussion sentence number {i} about limits." for i in range(400))
    doc = Document(
        format="html",
        sections=[
            Section(title="3 Method", kind=SectionKind.METHOD, blocks=[Block(kind="text", text="M " * 4000)]),
            Section(
                title="7 Discussion", kind=SectionKind.CONCLUSION, blocks=[Block(kind="text", text=long)]
            ),
            Section(
                title="8 Conclusion", kind=SectionKind.CONCLUSION, blocks=[Block(kind="text", text="We won.")]
            ),
        ],
    )
    chosen = select_text(doc, 2000)
    assert "## 8 Conclusion\nWe won." in chosen.text
    assert "7 Discussion" in chosen.truncated and "8 Conclusion" not in chosen.truncated
