"""Benchmark: what a deep dive reads of a paper, in tokens and fetch time, and how many picks have HTML.

Figures printed (stdout):

1. Tokens in per deep dive on the shared corpus' real full texts (``../shared/corpus/fulltext``: three
   arXiv HTML pages in three layouts, three PDFs as arXiv served them): the whole extracted text, the
   selection the model gets at the default budget (``sources.arxiv.full_text_tokens``), and for the PDFs
   the PDF-as-document cost at Gemini's 258 tokens per page ("Each document page is equivalent to 258
   tokens", https://ai.google.dev/gemini-api/docs/document-processing, Technical details). Text tokens
   are estimated at 4 characters per token (https://ai.google.dev/gemini-api/docs/tokens); no key is
   needed. The corpus holds no paper in both formats, so HTML and PDF rows are different papers;
   PDF-as-text and PDF-as-document are the same papers.
2. Fetch time per paper from a local arxiv.org serving those real bytes (wall time: request + extraction),
   and the politeness wait a real run adds (``delay_seconds`` = 3 s per request, simulated with a fake
   clock).
3. How many of a real day's picks can have HTML: the corpus days ranked with ``config.example.toml``'s
   profile, top ``digest.deep_dives`` above ``min_score``. arXiv renders HTML for every TeX/LaTeX
   submission since December 2023 (Ginev et al., "Scaling Accessible Mathematics on arXiv",
   arXiv:2605.16562, 2026) and about 90% of submissions are TeX
   (https://info.arxiv.org/about/accessible_HTML.html), so a pick submitted since 2023-12 has HTML with
   probability ~0.9, one before that has none (ar5iv aside).

Run: ``python bench/bench_fulltext.py [--corpus PATH]``.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
import tomllib
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_ranking import corpus_days, load_day, load_profile
from clocks import FakeClock
from fulltext_helpers import FakeArxivWeb
from sources_helpers import Reply, ScriptedServer

from paper_digest.analysis.prompt import PaperText, build_system_instruction, build_user_prompt
from paper_digest.config import ArxivConfig, DigestConfig
from paper_digest.models import Paper
from paper_digest.scoring import score_papers
from paper_digest.sources.fulltext import (
    Document,
    estimate_tokens,
    fetch_full_text,
    parse_html,
    parse_pdf,
    select_text,
)
from paper_digest.sources.http import HttpClient

ROOT = Path(__file__).resolve().parents[1]
#: Gemini's cost of one PDF page given as a document part (ai.google.dev/gemini-api/docs/document-processing)
TOKENS_PER_PDF_PAGE = 258
#: share of arXiv submissions in TeX/LaTeX, the ones arXiv renders as HTML (info.arxiv.org accessible_HTML)
TEX_SHARE = 0.9
HTML_SINCE = "2312"  # arXiv HTML papers started in December 2023


def default_corpus() -> Path:
    for candidate in (ROOT.parent / "shared", ROOT.parents[1] / "shared"):
        if (candidate / "corpus" / "fulltext").is_dir():
            return candidate / "corpus" / "fulltext"
    return ROOT.parent / "shared" / "corpus" / "fulltext"


def whole_tokens(document: Document) -> int:
    return estimate_tokens(document.abstract + "\n".join(s.text for s in document.sections))


def tokens_table(corpus: Path, budget: int) -> None:
    print(f"## 1. Tokens in per deep dive (budget {budget}; estimated, 4 chars/token)\n")
    system = build_system_instruction(load_profile())
    header = "| file | format | pages | whole text | selected | whole prompt | PDF as document (258/page) |"
    print(header + " parse s |")
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    rows: dict[str, list[int]] = {"html": [], "pdf_text": [], "pdf_doc": []}
    for path in sorted(corpus.glob("*.html")) + sorted(corpus.glob("*.pdf")):
        data = path.read_bytes()
        started = time.perf_counter()
        document = parse_html(data) if path.suffix == ".html" else parse_pdf(data)
        parse = time.perf_counter() - started
        chosen = select_text(document, budget)
        body = select_text(document, budget, include_abstract=False)  # what the pipeline sends
        paper = Paper(
            id="2601.00001", version=1, title=document.title or path.stem, abstract=document.abstract
        )
        text = PaperText(origin=document.format, body=body.text, links=document.links)
        prompt_tokens = estimate_tokens(system) + estimate_tokens(build_user_prompt(paper, text))
        doc_tokens = (document.pages or 0) * TOKENS_PER_PDF_PAGE
        if path.suffix == ".html":
            rows["html"].append(chosen.tokens)
            doc_cell = "-"
        else:
            rows["pdf_text"].append(chosen.tokens)
            rows["pdf_doc"].append(doc_tokens)
            doc_cell = str(doc_tokens)
        pages = str(document.pages) if document.pages else "-"
        print(
            f"| {path.name} | {document.format} | {pages} | {whole_tokens(document)} | {chosen.tokens} "
            f"| {prompt_tokens} | {doc_cell} | {parse:.2f} |"
        )
    print("\n| input | papers | median | max |")
    print("|---|---:|---:|---:|")
    for name, values in rows.items():
        if values:
            print(f"| {name} | {len(values)} | {statistics.median(values):.0f} | {max(values)} |")
    print()


def fetch_table(corpus: Path) -> None:
    print("## 2. Fetch time per paper (local arxiv.org serving the real bytes)\n")
    server = ScriptedServer().start()
    try:
        web = FakeArxivWeb(server)
        server.route("/warm", lambda seen: Reply(200, b"ok"))
        papers: list[tuple[str, str]] = []
        for index, path in enumerate(sorted(corpus.glob("*.html")) + sorted(corpus.glob("*.pdf"))):
            vid = f"2601.{index:05d}v1"
            if path.suffix == ".html":
                web.serve(vid, html=path.read_bytes())
            else:
                web.serve(vid, pdf=path.read_bytes())
            papers.append((vid, path.name))
        print("| file | origin | requests | bytes | wall s (fetch + extract) | politeness wait at 3 s |")
        print("|---|---|---:|---:|---:|---:|")
        for vid, name in papers:
            clock = FakeClock()
            client = HttpClient(
                user_agent="paper-digest/bench",
                timeout=30,
                clock=clock,
                sleep=clock.sleep,
                rng=random.Random(1),
            )
            cfg = ArxivConfig(web_url=server.url, delay_seconds=3.0)
            client.space_host(cfg.web_url, cfg.delay_seconds, group="arxiv")
            client.get(server.url + "/warm", None)  # an earlier arXiv request: each fetch waits as in a run
            before = len(server.requests)
            base, version = vid.split("v")
            started = time.perf_counter()
            result = fetch_full_text(client, cfg, Paper(id=base, version=int(version), title=name))
            wall = time.perf_counter() - started
            made = len(server.requests) - before
            size = sum(len(b) for k, b in {**web.html, **web.pdf}.items() if k == vid)
            wait = sum(clock.sleeps)
            print(f"| {name} | {result.origin.value} | {made} | {size} | {wall:.2f} | {wait:.0f} s |")
    finally:
        server.stop()
    print()


def html_share() -> None:
    print("## 3. Picks that can have arXiv HTML (corpus days, config.example.toml profile)\n")
    data = tomllib.loads((ROOT / "config.example.toml").read_text(encoding="utf-8"))
    digest = DigestConfig.model_validate(data.get("digest", {}))
    profile = load_profile()
    total = eligible = 0
    print("| day | picks | submitted since 2023-12 | expected with HTML (x0.9) |")
    print("|---|---:|---:|---:|")
    for day in corpus_days():
        ranked = score_papers(load_day(day), profile)
        picks = [s.paper for s in ranked if s.score >= digest.min_score][: digest.deep_dives]
        recent = [p for p in picks if p.id[:4].isdigit() and p.id[:4] >= HTML_SINCE]
        total += len(picks)
        eligible += len(recent)
        print(f"| {day} | {len(picks)} | {len(recent)} | {len(recent) * TEX_SHARE:.1f} |")
    share = eligible / total if total else 0.0
    print(f"\nAll days: {eligible}/{total} picks submitted since 2023-12 ({share:.0%}); "
          f"expected with HTML: {share * TEX_SHARE:.0%} (the rest fall back to the PDF).")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=default_corpus(), help="folder of full texts")
    parser.add_argument("--budget", type=int, default=ArxivConfig().full_text_tokens, help="tokens per dive")
    args = parser.parse_args()
    if not args.corpus.is_dir():
        sys.exit(f"no corpus at {args.corpus} (pass --corpus PATH)")
    tokens_table(args.corpus, args.budget)
    fetch_table(args.corpus)
    html_share()


if __name__ == "__main__":
    main()
