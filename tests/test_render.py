"""Render tests: golden files, CommonMark link checks, hostile input, index, feed, schema, errors."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from markdown_check import check_page, tokens
from markdown_it import MarkdownIt
from render_samples import DAY, empty_digest, hostile_digest, rich_digest

from paper_digest.errors import RenderError
from paper_digest.feed import ATOM_NS, entry_id
from paper_digest.markup import plain_title
from paper_digest.models import Digest, Notice, NoticeKind, Source, SourceReport, SourceStatus
from paper_digest.render import (
    render_digest,
    render_feed,
    render_index,
    render_sidecar,
    sidecar_schema_text,
)

GOLDEN = Path(__file__).parent / "golden"
SCHEMA = Path(__file__).resolve().parents[1] / "schema" / "digest.schema.json"
A = f"{{{ATOM_NS}}}"


@pytest.fixture
def update_golden(request: pytest.FixtureRequest) -> bool:
    return bool(request.config.getoption("--update-golden"))


def check_golden(path: Path, text: str, update: bool) -> None:
    if update:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    assert path.exists(), f"{path} missing: run pytest --update-golden"
    assert text == path.read_text(encoding="utf-8"), (
        f"{path.name} changed: review, then pytest --update-golden"
    )


@pytest.mark.parametrize("template", ["classic", "footnotes"])
def test_golden(template: str, update_golden: bool) -> None:
    text = render_digest(rich_digest(), template=template)
    check_golden(GOLDEN / f"{template}.md", text, update_golden)
    check_page(text)


def test_golden_empty_day(update_golden: bool) -> None:
    text = render_digest(empty_digest())
    check_golden(GOLDEN / "empty.md", text, update_golden)
    assert "arXiv 周六不发布新论文" in text and "今天没有可推荐的论文" in text
    check_page(text)


def test_classic_content() -> None:
    text = render_digest(rich_digest())
    assert text.startswith("# 🚀 CV 论文日报 | 2026-06-12\n")
    assert "HuggingFace 35 · arXiv 182，去重后 201" in text and "精选 4 篇深度解读" in text
    for section in ("核心创新点", "技术细节", "对我的启发", "潜在缺陷"):
        assert text.count(section) == 2  # the two finished deep dives
    assert "等 6 人" in text and "🔥 HF 123 赞" in text and "代码 ⭐ 1.5k" in text
    assert "今日 LLM 配额已用完" in text and "429" not in text
    # the digest's cost in all, stable across reruns: a run's cache hits are for the console and the run log
    assert "LLM 请求 3 次" in text and "缓存命中" not in text


@pytest.mark.parametrize("template", ["classic", "footnotes"])
def test_deterministic_and_roundtrip(template: str) -> None:
    digest = rich_digest()
    first = render_digest(digest, template=template)
    assert first == render_digest(digest, template=template)
    again = Digest.model_validate(json.loads(render_sidecar(digest)))
    assert render_digest(again, template=template) == first


def test_list_floor_and_one_line_column() -> None:
    text = render_digest(rich_digest(), list_min_score=20)
    assert "An Old-Style Identifier Paper" not in text
    assert "另有 1 篇低于 20 分的论文未列出（共扫描 6 篇），完整列表见同名 JSON 文件。\n" in text
    both = render_digest(rich_digest(), list_min_score=20, max_listed=0)
    assert (
        "另有 2 篇论文未列出（1 篇低于 20 分，1 篇超出列表上限 0 篇；共扫描 6 篇），"
        "完整列表见同名 JSON 文件。\n" in both
    )
    assert "other-papers" not in both  # no empty table, no TOC entry pointing at one
    listed = render_digest(rich_digest())
    assert "另有" not in listed
    # topics in Chinese, the more specific of two nested ones; the HF summary where no topic matched
    assert "| 12 | 涉及：图像复原、扩散模型 |" in listed
    assert "| 41 | Scaling laws for video diffusion transformers. |" in listed
    assert "' in " not in listed and "in abstract" not in listed  # no score internals


def test_the_learned_reason_stays_out_of_the_one_line_column() -> None:
    """看点 says what a paper is about (issue 15); the ratings' resemblance and its points are score
    arithmetic: in the paper's details (🧭) and the sidecar, never in the table's 看点 cell."""
    from paper_digest.models import ScoreReason

    digest = rich_digest()
    papers = list(digest.papers)
    row = next(i for i, p in enumerate(papers) if not p.deep_dive and p.score == 12)
    detail = "与你赞过的 2606.12575 相近（相似度 0.80，喜欢的把握 90%）"
    liked = ScoreReason(kind="liked", detail=detail, points=6.5)
    papers[row] = papers[row].model_copy(update={"score_reasons": [*papers[row].score_reasons, liked]})
    changed = digest.model_copy(update={"papers": papers})
    text = render_digest(changed)
    assert "| 12 | 涉及：图像复原、扩散模型 |" in text
    table = text.split('## <a id="other-papers"></a>', 1)[1]
    assert "相近" not in table and "+6.5 分" not in table
    assert "🧭 与你赞过的 2606.12575 相近 +8.2 分" in text  # the featured paper's details keep theirs
    assert detail in json.loads(render_sidecar(changed))["papers"][row]["score_reasons"][-1]["detail"]


def test_one_line_cuts_english_at_a_word() -> None:
    from paper_digest.markup import clip_words

    text = "VideoMDM trains 3D human motion priors from 2D poses using a diffusion framework"
    assert clip_words(text, 40) == "VideoMDM trains 3D human motion priors…"
    assert clip_words("一二三四五六七八九十", 5) == "一二三四…"
    assert clip_words("short", 40) == "short"


def test_max_listed() -> None:
    text = render_digest(rich_digest().model_copy(update={"to_rate": []}), max_listed=1)
    assert "另有 1 篇" in text and "An Old-Style" not in text


@pytest.mark.parametrize("template", ["classic", "footnotes"])
def test_hostile_input_stays_inert(template: str) -> None:
    text = render_digest(hostile_digest(), template=template)
    check_page(text)
    toks = tokens(text)
    assert sum(1 for t in toks if t.type == "heading_open" and t.tag == "h1") == 1
    assert "\u202e" not in text and "\x00" not in text and "\ud800" not in text
    assert "You exceeded your current quota\n" not in text
    text.encode("utf-8")  # no lone surrogates
    # tables keep their shape: every row has the header's cell count and the score column holds a score
    md = MarkdownIt("commonmark").enable("table")
    rows: list[list[str]] = []
    block = md.parse(text)
    for i, tok in enumerate(block):
        if tok.type == "tr_open":
            cells = []
            j = i + 1
            while block[j].type != "tr_close":
                if block[j].type == "inline":
                    cells.append(block[j].content)
                j += 1
            rows.append(cells)
    assert rows
    width = len(rows[0])
    for row in rows[1:]:
        assert len(row) == width
        assert re.fullmatch(r"\d{1,3}", row[2]), row
    for line in text.splitlines():
        if line.startswith("| "):
            assert len(re.findall(r"(?<!\\)\|", line)) == width + 1, line


def test_hostile_long_title_is_clipped() -> None:
    text = render_digest(hostile_digest())
    assert "A" * 400 not in text.replace("AAAA", "AAAA")  # clipped, not 5000 As in a heading
    assert max(len(line) for line in text.splitlines()) < 4000


def test_sidecar() -> None:
    text = render_sidecar(rich_digest())
    assert text.endswith("}\n") and "CV 论文日报" in text
    data = json.loads(text)
    assert data["date"] == "2026-06-12" and data["papers"][0]["analysis_status"] == "done"
    assert render_sidecar(rich_digest()) == text


def test_schema_file_up_to_date(update_golden: bool) -> None:
    text = sidecar_schema_text()
    if update_golden:
        SCHEMA.parent.mkdir(exist_ok=True)
        SCHEMA.write_text(text, encoding="utf-8")
    assert SCHEMA.read_text(encoding="utf-8") == text, "schema stale: run pytest --update-golden"
    schema = json.loads(text)
    assert {"date", "papers", "stats"} <= set(schema["properties"])


def test_index(update_golden: bool) -> None:
    digests = [empty_digest(), rich_digest(), empty_digest(DAY.replace(day=1))]
    text = render_index(digests)
    check_golden(GOLDEN / "index.md", text, update_golden)
    check_page(text, relative_ok=True)
    dates = re.findall(r"\[(\d{4}-\d{2}-\d{2})\]\(\1\.md\)", text)
    assert dates == ["2026-06-13", "2026-06-12", "2026-06-01"]
    assert "(2026-06-12.md#paper-2606-13681)" in text and "（92 分）" in text
    assert render_index([]).count("还没有任何日报") == 1


def test_index_hostile() -> None:
    text = render_index([hostile_digest()])
    check_page(text, relative_ok=True)


def parse_feed(text: str) -> ET.Element:
    assert text.startswith('<?xml version="1.0" encoding="utf-8"?>\n')
    return ET.fromstring(text.encode("utf-8"))


def test_feed(update_golden: bool) -> None:
    digests = [rich_digest(), empty_digest(), empty_digest(DAY.replace(day=1))]
    text = render_feed(digests, feed_url="https://example.org/d/feed.xml", site_url="https://example.org/d/")
    check_golden(GOLDEN / "feed.xml", text, update_golden)
    root = parse_feed(text)
    assert root.tag == f"{A}feed"
    for name in ("id", "title", "updated", "author"):
        assert root.find(f"{A}{name}") is not None
    assert root.findtext(f"{A}updated") == "2026-06-13T00:00:00Z"
    entries = root.findall(f"{A}entry")
    assert [e.findtext(f"{A}updated") for e in entries] == [
        "2026-06-13T00:00:00Z",
        "2026-06-12T00:00:00Z",
        "2026-06-01T00:00:00Z",
    ]
    for entry in entries:
        for name in ("id", "title", "updated", "content"):
            assert entry.find(f"{A}{name}") is not None
    assert entries[1].findtext(f"{A}id") == entry_id(DAY)
    links = [e.find(f"{A}link") for e in entries]
    assert [link.get("href") if link is not None else None for link in links] == [
        "https://example.org/d/2026-06-13.md",
        "https://example.org/d/2026-06-12.md",
        "https://example.org/d/2026-06-01.md",
    ]
    assert (
        render_feed(
            list(reversed(digests)),
            feed_url="https://example.org/d/feed.xml",
            site_url="https://example.org/d/",
        )
        == text
    )


def test_feed_hostile_and_without_urls() -> None:
    text = render_feed([hostile_digest()], feed_url="javascript:alert(1)")
    root = parse_feed(text)
    assert root.findtext(f"{A}id", "").startswith("urn:uuid:")
    hrefs = [link.get("href", "") for link in root.iter(f"{A}link")]
    # no site_url: the entry links relative to the feed; the rejected feed_url gives no self link
    assert hrefs == ["2026-06-12.md"]
    content = root.find(f"{A}entry/{A}content")
    assert content is not None and "<script" not in (content.text or "")
    assert render_feed([]).count("<entry>") == 0


def test_user_template_override_and_errors(tmp_path: Path) -> None:
    (tmp_path / "mine.md.j2").write_text("# {{ view.digest.title }} {{ view.digest.title | md_inline }}\n")
    assert (
        render_digest(rich_digest(), template="mine", template_dir=tmp_path) == "# CV 论文日报 CV 论文日报\n"
    )
    hostile = render_digest(hostile_digest(), template="mine", template_dir=tmp_path)
    assert "<script" not in hostile  # escaped by default even without a filter
    (tmp_path / "classic.md.j2").write_text("override {{ view.digest.date }}\n")
    assert render_digest(rich_digest(), template_dir=tmp_path) == "override 2026-06-12\n"

    (tmp_path / "broken.md.j2").write_text("line 1\n\n{{ view.nope }}\n")
    with pytest.raises(RenderError) as info:
        render_digest(rich_digest(), template="broken", template_dir=tmp_path)
    assert str(info.value).startswith("template broken.md.j2, line 3:") and "nope" in str(info.value)
    assert info.value.line == 3

    (tmp_path / "syntax.md.j2").write_text("ok\n{% if %}\n")
    with pytest.raises(RenderError, match=r"^template syntax\.md\.j2, line 2: "):
        render_digest(rich_digest(), template="syntax", template_dir=tmp_path)
    with pytest.raises(RenderError, match="not found"):
        render_digest(rich_digest(), template="missing", template_dir=tmp_path)
    with pytest.raises(RenderError):
        render_digest(rich_digest(), template="../etc/passwd")


TEX_TITLES = {
    "D$^{2}$R$^{2}$OSR: Degradation-Disentangled Representation for Super-Resolution": "D²R²OSR:",
    "SP$^3$: Spherical Priors for Plug-and-Play Restoration": "SP³: Spherical Priors",
    "$\\rho$-$\\texttt{EOS}$: Variable-Length Control for Masked Diffusion": "ρ-EOS: Variable-Length",
    "Beyond 1$\\to$N Decoding for $\\mathbb{F}_{q}$ codes": "Beyond 1→N Decoding for F_q codes",
    "Under \\$5 a Day: Costs $5 and $10 Stay": "Under $5 a Day: Costs $5 and $10 Stay",
}


def test_plain_title_reads_tex_as_text() -> None:
    for title, shown in TEX_TITLES.items():
        assert plain_title(title).startswith(shown), (title, plain_title(title))


@pytest.mark.parametrize("template", ["classic", "footnotes"])
def test_tex_in_paper_titles_is_not_shown_raw(template: str) -> None:
    """arXiv titles carry TeX (SP$^3$, D$^{2}$R$^{2}$OSR): escaped as typed a reader sees the dollars."""
    base = rich_digest()
    titles = list(TEX_TITLES)
    papers = [
        p.model_copy(update={"title": titles[i % len(titles)], "analysis": None})
        for i, p in enumerate(base.papers)
    ]
    digest = base.model_copy(update={"papers": papers})
    text = render_digest(digest, template=template)
    check_page(text)
    shown = text.replace("\\$", "$").replace("\\\\", "\\")  # as a reader sees the escapes
    assert "$^" not in shown and "$\\" not in shown and "^{2}" not in shown and "texttt" not in shown
    assert "Costs \\$5 and \\$10 Stay" in text  # a real dollar sign stays one (escaped for Markdown)
    assert "D²R²OSR: Degradation" in text and "SP³: Spherical Priors" in text
    index = render_index([digest])
    assert "$^" not in index.replace("\\$", "$") and "D²R²OSR" in index
    feed = render_feed([digest])
    assert "$^" not in feed and "D²R²OSR" in feed and "SP³" in feed


def test_notices_once_by_value_and_a_silent_source_said_once() -> None:
    pending = Notice(kind=NoticeKind.PENDING, count=1)
    failed = Notice(kind=NoticeKind.SOURCE_FAILED, source=Source.ARXIV, error="http", status=503, attempts=4)
    arxiv = SourceReport(source=Source.ARXIV, status=SourceStatus.FAILED, notice=failed)
    hf = SourceReport(source=Source.HUGGINGFACE, status=SourceStatus.EMPTY)
    digest = rich_digest().model_copy(update={"notices": [failed, pending, pending], "sources": [arxiv, hf]})
    md = render_digest(digest)
    said = "arXiv 今日数据获取失败（服务器返回 HTTP 503，共尝试 4 次），本期不含该来源的论文。"
    assert md.count(said) == 1 and md.count("1 篇深度解读尚未完成") == 1
    assert md.count("HuggingFace 今日没有新论文。") == 1  # its report has no notice of its own: the plain one
    # a report without a notice of its own adds nothing when the digest already speaks of that source
    quiet = SourceReport(source=Source.ARXIV, status=SourceStatus.FAILED)
    other = digest.model_copy(update={"sources": [quiet, hf]})
    assert render_digest(other).count("arXiv 今日数据获取失败") == 1
