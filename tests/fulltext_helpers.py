"""Full texts as arXiv serves them, for tests: the real CC BY 4.0 HTML page, LaTeXML pages in the 2024-25
arxiv.org layout and ar5iv's built from the test's own text, PDFs generated with fpdf2 (the recipe is here,
no binary is committed), and a fake arxiv.org that answers /html/ and /pdf/ from them.

The layouts follow what the shared corpus' SOURCES.md records of the real pages (not copied: those papers
state no licence): 2024-25 has ``<base href="/html/ID/">``, alphabetised attributes, a ``nav.ltx_page_navbar``
TOC, a ``footer.ltx_page_footer``, and every ``<math>`` carries Content MathML and an
``application/x-llamapun`` annotation beside its ``alttext``; ar5iv has its own header, ``div.ar5iv-footer``
and a small-caps span in the title.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from html import escape
from pathlib import Path

from fpdf import FPDF
from sources_helpers import Reply, ScriptedServer, Seen

FULLTEXT = Path(__file__).parent / "fixtures" / "fulltext"
#: the real arxiv.org page (2026 layout), CC BY 4.0
HTML_2508 = FULLTEXT / "html_2508.08468v6.html"

#: a method paragraph the tests look for in prompts and selections
METHOD_SENTENCE = (
    "The restoration network stacks 12 residual flow blocks and predicts the velocity field with a "
    "U-Net of 38.6M parameters."
)
RESULT_ROW = "FlowIR (ours) 32.47 0.912 0.081"


@dataclass
class PaperText:
    """A small paper: title, abstract, and sections of paragraphs (a section may hold a table)."""

    title: str = "Flow Matching for Blind Image Restoration"
    abstract: str = (
        "We restore images with flow matching. On DIV2K our model reaches 32.47 dB PSNR at x4, "
        "3x faster than diffusion baselines."
    )
    sections: list[tuple[str, list[str]]] = field(
        default_factory=lambda: [
            ("Introduction", ["Image restoration recovers a clean image from a degraded one."]),
            ("Related Work", ["Diffusion models restore images with many sampling steps."]),
            ("Method", [METHOD_SENTENCE, "Training uses 800 DIV2K images for 300k iterations."]),
            (
                "Experiments",
                [
                    "We compare with SwinIR and DiffBIR on DIV2K and RealSR.",
                    "TABLE:Table 1: Results on DIV2K x4.|Method PSNR SSIM LPIPS|"
                    "SwinIR 31.90 0.901 0.102|" + RESULT_ROW,
                ],
            ),
            ("Conclusion", ["Flow matching restores images in 4 steps."]),
        ]
    )
    references: list[str] = field(
        default_factory=lambda: ["[1] J. Liang et al. SwinIR: Image restoration using Swin Transformer."]
    )
    appendix: list[tuple[str, list[str]]] = field(
        default_factory=lambda: [("Additional results", ["APPENDIX-ONLY sentence 77.7 dB."])]
    )


# --- LaTeXML pages ------------------------------------------------------------------------------------------


def _math(tex: str, layout: str) -> str:
    if layout == "2025":  # Content MathML and llamapun annotations, as the 2024-25 pages have
        return (
            f'<math alttext="{escape(tex)}" class="ltx_Math" display="inline"><semantics><mi>z</mi>'
            f'<annotation-xml encoding="MathML-Content"><ci>𝑧</ci></annotation-xml>'
            f'<annotation encoding="application/x-tex">{escape(tex)}</annotation>'
            f'<annotation encoding="application/x-llamapun">italic_z</annotation></semantics></math>'
        )
    return f'<math alttext="{escape(tex)}" class="ltx_Math" display="inline"><mi>z</mi></math>'


def _paragraph(text: str, layout: str) -> str:
    if text.startswith("TABLE:"):
        caption, *rows = text.removeprefix("TABLE:").split("|")
        body = "".join(
            "<tr>" + "".join(f'<td class="ltx_td">{escape(c)}</td>' for c in row.split(" ")) + "</tr>"
            for row in rows
        )
        return (
            f'<figure class="ltx_table"><figcaption class="ltx_caption">{escape(caption)}</figcaption>'
            f'<table class="ltx_tabular"><tbody>{body}</tbody></table></figure>'
        )
    html = escape(text).replace("x4", _math("\\times 4", layout))
    return f'<div class="ltx_para"><p class="ltx_p">{html}</p></div>'


def latexml_page(paper: PaperText, *, layout: str, arxiv_id: str = "2601.00001v1") -> bytes:
    """The paper as an arxiv.org HTML page in the 2024-25 layout (``"2025"``) or as ar5iv serves it."""
    sections = []
    for number, (title, paragraphs) in enumerate(paper.sections, start=1):
        body = "".join(_paragraph(p, layout) for p in paragraphs)
        sections.append(
            f'<section class="ltx_section" id="S{number}"><h2 class="ltx_title ltx_title_section">'
            f'<span class="ltx_tag ltx_tag_section">{number} </span>{escape(title)}</h2>{body}</section>'
        )
    refs = "".join(f'<li class="ltx_bibitem"><span class="ltx_bibblock">{escape(r)}</span></li>'
                   for r in paper.references)  # fmt: skip
    sections.append(
        f'<section class="ltx_bibliography" id="bib"><h2 class="ltx_title ltx_title_bibliography">References'
        f'</h2><ul class="ltx_biblist">{refs}</ul></section>'
    )
    for letter, (title, paragraphs) in zip("ABC", paper.appendix, strict=False):
        body = "".join(_paragraph(p, layout) for p in paragraphs)
        sections.append(
            f'<section class="ltx_appendix" id="A{letter}"><h2 class="ltx_title ltx_title_appendix">'
            f'<span class="ltx_tag ltx_tag_appendix">Appendix {letter} </span>{escape(title)}</h2>{body}'
            f"</section>"
        )
    head, tail = paper.title.split(" ", 1)
    if layout == "ar5iv":
        title_html = f'<span class="ltx_text ltx_font_smallcaps">{escape(head)}</span> {escape(tail)}'
        chrome_top = '<div class="ar5iv-header">ar5iv <a href="/">home</a></div>'
        chrome_bottom = (
            '<div class="ar5iv-footer"><a href="/html/2601.00000">◄</a> Feeling lucky? '
            '<a href="/log/2601.00001">Conversion report</a></div>'
            "<script>var bibPreview = 'Report Issue 99.9';</script>"
        )
        base = ""
    else:
        title_html = f'{escape(head)}<br class="ltx_break"/>{escape(tail)}'
        chrome_top = (
            '<nav class="ltx_page_navbar"><a href="https://arxiv.org/html/2601.00001v1#S1">1 Introduction</a>'
            " Report Issue 99.9</nav>"
        )
        chrome_bottom = '<footer class="ltx_page_footer">Generated by LaTeXML 0.8.8 on 2025-01-19</footer>'
        base = f'<base href="/html/{arxiv_id}/">'
    abstract = escape(paper.abstract).replace("x4", _math("\\times 4", layout))
    page = f"""<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"/>
<title>{escape(paper.title)}</title>{base}<style>.ltx_title {{ font-size: 99.9px }}</style></head><body>
<div class="ltx_page_main">{chrome_top}<div class="ltx_page_content">
<article class="ltx_document ltx_authors_1line"><h1 class="ltx_title ltx_title_document">{title_html}</h1>
<div class="ltx_authors"><span class="ltx_creator ltx_role_author">A. Author 2026</span></div>
<div class="ltx_abstract"><h6 class="ltx_title ltx_title_abstract">Abstract</h6>
<p class="ltx_p">{abstract} Code: <a href="https://github.com/example/flowir">github.com/example/flowir</a>.</p></div>
{"".join(sections)}</article></div>{chrome_bottom}</div></body></html>"""
    return page.encode("utf-8")


# --- PDFs ---------------------------------------------------------------------------------------------------


def _line(pdf: FPDF, height: int, text: str) -> None:
    pdf.multi_cell(0, height, text, new_x="LMARGIN", new_y="NEXT")


def make_pdf(paper: PaperText, *, arxiv_id: str = "2601.00001v1", pages_of_filler: int = 0) -> bytes:
    """The paper as a PDF written with fpdf2: numbered upper-case headings like acmart, arXiv's stamp,
    references, then lettered appendices. ``pages_of_filler`` adds pages of references (a larger file)."""
    pdf = FPDF()
    pdf.set_auto_page_break(auto=True, margin=15)
    pdf.add_page()
    pdf.set_font("Helvetica", size=14)
    _line(pdf, 7, paper.title)
    pdf.set_font("Helvetica", size=10)
    _line(pdf, 5, f"arXiv:{arxiv_id}  [cs.CV]  5 Jan 2026")
    _line(pdf, 5, "ABSTRACT")
    _line(pdf, 5, paper.abstract)
    for number, (title, paragraphs) in enumerate(paper.sections, start=1):
        _line(pdf, 6, f"{number} {title.upper()}")
        for text in paragraphs:
            if text.startswith("TABLE:"):
                for line in text.removeprefix("TABLE:").split("|"):
                    _line(pdf, 5, line)
            else:
                _line(pdf, 5, text)
    _line(pdf, 6, "REFERENCES")
    for reference in paper.references:
        _line(pdf, 5, reference)
    for page in range(pages_of_filler):
        pdf.add_page()
        for line in range(40):
            _line(pdf, 5, f"[{page * 40 + line + 2}] A. Author. A cited paper, {2000 + line}.")
    for letter, (title, paragraphs) in zip("ABC", paper.appendix, strict=False):
        _line(pdf, 6, f"{letter} {title}")
        for text in paragraphs:
            _line(pdf, 5, text)
    return bytes(pdf.output())


# --- a fake arxiv.org ---------------------------------------------------------------------------------------


class FakeArxivWeb:
    """Answers ``/html/<id>`` and ``/pdf/<id>`` like arxiv.org: the page when it has one, else 404."""

    def __init__(self, server: ScriptedServer) -> None:
        self.server = server
        self.html: dict[str, bytes] = {}
        self.pdf: dict[str, bytes] = {}

    def serve(self, versioned_id: str, *, html: bytes | None = None, pdf: bytes | None = None) -> None:
        if html is not None:
            self.html[versioned_id] = html
        if pdf is not None:
            self.pdf[versioned_id] = pdf
        self.server.route(f"/html/{versioned_id}", self._answer)
        self.server.route(f"/pdf/{versioned_id}", self._answer)

    def _answer(self, seen: Seen) -> Reply:
        kind, _, vid = seen.path.strip("/").partition("/")
        if kind == "html" and vid in self.html:
            return Reply(200, self.html[vid], {"Content-Type": "text/html; charset=utf-8"})
        if kind == "pdf" and vid in self.pdf:
            return Reply(200, self.pdf[vid], {"Content-Type": "application/pdf"})
        return Reply(404, b"<html><body>No HTML for this paper</body></html>", {"Content-Type": "text/html"})

    def requests(self, paths: Sequence[str] = ("/html/", "/pdf/")) -> int:
        return sum(1 for r in self.server.requests if r.path.startswith(tuple(paths)))
