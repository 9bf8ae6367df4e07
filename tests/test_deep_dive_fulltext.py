"""Deep dives that read the paper, end to end: the CLI against a local arXiv (API + HTML + PDF), the fake
Gemini server and the real google-genai client. Also the limiter's tokens per minute."""

from __future__ import annotations

import datetime as dt
import itertools
import json
from pathlib import Path

import pytest
from clocks import FakeClock
from fake_gemini import deep_dive_json
from fulltext_helpers import METHOD_SENTENCE, PaperText, latexml_page, make_pdf
from sources_helpers import Reply, Seen
from world import World

from paper_digest.analysis.quota import ModelQuota, RateLimiter

DAY = "2026-06-12"
PLANTED = "9.87"  # a number no paper text of the test contains


class OrderedArxivWeb:
    """arxiv.org for the run's picks, by the order their full texts are first asked for: the first paper has
    HTML, the second only a PDF, the third neither (a 2020-style paper whose PDF is gone too)."""

    def __init__(self) -> None:
        self.order: list[str] = []
        self.requests: list[str] = []

    def __call__(self, seen: Seen) -> Reply:
        self.requests.append(seen.path)
        kind, _, vid = seen.path.strip("/").partition("/")
        if vid not in self.order:
            self.order.append(vid)
        position = self.order.index(vid)
        paper = PaperText(title=f"Paper {vid} about restoration")
        if kind == "html" and position == 0:
            return Reply(200, latexml_page(paper, layout="2025", arxiv_id=vid), {"Content-Type": "text/html"})
        if kind == "pdf" and position == 1:
            return Reply(200, make_pdf(paper, arxiv_id=vid), {"Content-Type": "application/pdf"})
        return Reply(404, b"<html>Not found</html>", {"Content-Type": "text/html"})


def vid(paper: dict[str, object]) -> str:
    """The versioned id a sidecar paper was fetched as (HF papers may carry no version)."""
    return f"{paper['id']}v{paper['version']}" if paper.get("version") else str(paper["id"])


def planted_answer(title: str) -> dict[str, object]:
    """A deep dive quoting the paper's own 32.47 dB and 38.6M, and one planted number it does not contain."""
    answer = deep_dive_json(title)
    answer["one_sentence"] = "**流匹配**复原：DIV2K 上 PSNR 32.47 dB，模型 38.6M 参数。"
    answer["technical_details"] = [
        "速度场由 U-Net 预测（$x_0$ 为干净图像）。",
        f"相比 SwinIR 提升 {PLANTED} dB。",
    ]
    answer["facts"] = {
        "task": "盲图像复原",
        "data": "DIV2K、RealSR",
        "results": ["DIV2K ×4 PSNR 32.47 dB"],
        "code": "https://github.com/example/flowir",
        "venue": "",
        "extra": [],
    }
    return answer


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> World:
    w = World(tmp_path, monkeypatch=monkeypatch, deep_dives=3)
    w.gemini.deep_dive = planted_answer
    return w


def test_deep_dives_read_html_pdf_or_abstract_and_numbers_are_checked(world: World) -> None:
    web = OrderedArxivWeb()
    with world:
        world.server.route_prefix("/html/", web)
        world.server.route_prefix("/pdf/", web)
        world.serve_day(DAY)
        result = world.run("run", "--date", DAY)
        assert result.exit_code == 0, result.output
        featured = [p for p in world.sidecar(DAY)["papers"] if p["deep_dive"]]
        assert [p["analysis_status"] for p in featured] == ["done"] * 3
        by_vid = {vid(p): p for p in featured}
        html_vid, pdf_vid, none_vid = web.order
        assert [by_vid[v]["text_source"] for v in web.order] == ["html", "pdf", "abstract"]

        # the method section's text reaches the prompt (from the HTML and from the PDF), not from the abstract
        prompts = {r.text.split("arXiv：")[1].split("\n")[0]: r.text for r in world.gemini.requests}
        assert METHOD_SENTENCE in prompts[html_vid] and "arXiv HTML 全文" in prompts[html_vid]
        assert METHOD_SENTENCE in prompts[pdf_vid] and "PDF 全文" in prompts[pdf_vid]
        assert METHOD_SENTENCE not in prompts[none_vid] and "正文：未能获取" in prompts[none_vid]
        assert "APPENDIX-ONLY" not in prompts[html_vid] and "Swin Transformer" not in prompts[html_vid]

        # numbers: the planted one is listed everywhere; the paper's own are proven where the text was read
        assert by_vid[html_vid]["unverified_numbers"] == [PLANTED]
        assert by_vid[pdf_vid]["unverified_numbers"] == [PLANTED]
        # (DIV2K too: the abstract of that paper does not name it)
        assert set(by_vid[none_vid]["unverified_numbers"]) == {"32.47", "38.6M", "DIV2K", PLANTED}
        # the code link survives only where the paper (its HTML) gives it
        assert by_vid[html_vid]["analysis"]["facts"]["code"] == "https://github.com/example/flowir"
        assert by_vid[none_vid]["analysis"]["facts"]["code"] == ""
        # the model's markup became plain text
        assert by_vid[html_vid]["analysis"]["one_sentence"].startswith("流匹配复原")
        assert "x₀" in by_vid[html_vid]["analysis"]["technical_details"][0]

        markdown = world.markdown(DAY)
        headers = [line for line in markdown.splitlines() if line.startswith("### ")]
        assert sum("📄 基于摘要" in h for h in headers) == 1
        escaped = PLANTED.replace(".", "\\.")  # "9." at the start of an inline text would read as a list
        assert markdown.count(f"⚠️ 以下数字或含数字的名称未能在模型读到的原文中找到，请核对：{escaped}") == 2
        assert "#### 📌 要点速览" in markdown and "**" not in by_vid[html_vid]["analysis"]["one_sentence"]

        # a rerun fetches nothing and asks nothing; the check runs again on the cached deep dives
        asked, fetched = len(world.gemini.requests), len(web.requests)
        (world.out / f"{DAY}.json").unlink()
        (world.out / f"{DAY}.md").unlink()
        again = world.run("run", "--date", DAY)
        assert again.exit_code == 0, again.output
        assert len(web.requests) == fetched, "full texts come from the cache"
        assert len(world.gemini.requests) == asked, "deep dives come from the cache"
        rerun = {vid(p): p for p in world.sidecar(DAY)["papers"] if p["deep_dive"]}
        assert rerun[html_vid]["unverified_numbers"] == [PLANTED]
        assert rerun[none_vid]["text_source"] == "abstract"


def test_no_key_fetches_no_full_text(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Without a key no deep dive is written: the picks' full texts are not fetched either."""
    web = OrderedArxivWeb()
    with World(tmp_path, monkeypatch=monkeypatch, api_key=None) as world:
        world.server.route_prefix("/html/", web)
        world.server.route_prefix("/pdf/", web)
        world.serve_day(DAY)
        result = world.run("run", "--date", DAY)
        assert result.exit_code == 0, result.output
        assert web.requests == []


def test_full_text_requests_keep_the_arxiv_spacing(world: World) -> None:
    """API pages and full-text requests of one run, all to arXiv: at least delay_seconds apart."""
    web = OrderedArxivWeb()
    with world:
        world.server.route_prefix("/html/", web)
        world.server.route_prefix("/pdf/", web)
        world.serve_day(DAY)
        world.write_config("")
        text = world.config_path.read_text(encoding="utf-8").replace("delay_seconds = 0", "delay_seconds = 3")
        world.config_path.write_text(text, encoding="utf-8")
        times: list[float] = []
        api = world._arxiv
        world.server.route("/api/query", lambda seen: (times.append(world.clock.now), api(seen))[1])

        def timed(seen: Seen) -> Reply:
            times.append(world.clock.now)
            return web(seen)

        world.server._prefixes.clear()
        world.server.route_prefix("/html/", timed)
        world.server.route_prefix("/pdf/", timed)
        result = world.run("run", "--date", DAY)
        assert result.exit_code == 0, result.output
        assert len(times) >= 5  # API page(s) + 3 HTML + PDF requests
        gaps = [b - a for a, b in itertools.pairwise(times)]
        assert min(gaps) >= 3.0, gaps


def test_limiter_budgets_tokens_per_minute(tmp_path: Path) -> None:
    clock = FakeClock()
    now = dt.datetime(2026, 11, 23, 12, tzinfo=dt.UTC)
    quota = ModelQuota(per_window=100, window_seconds=60.0, per_day=1000, tokens_per_window=250_000)
    limiter = RateLimiter(
        quota_for=lambda model: quota,
        state_dir=tmp_path,
        clock=clock,
        sleep=clock.sleep,
        now=lambda: now,
        margin_seconds=0.0,
    )
    for _ in range(4):
        limiter.acquire("m", tokens=60_000)  # 240k: fits one minute
    assert clock.sleeps == []
    limiter.acquire("m", tokens=60_000)  # 300k would exceed 250k: wait for the first to leave the window
    assert clock.sleeps == [pytest.approx(60.0)]
    limiter.acquire("m", tokens=1_000_000)  # larger than the allowance: waits for an empty window
    assert sum(clock.sleeps) == pytest.approx(120.0)
    state = json.loads(next(tmp_path.glob("quota-*.json")).read_text(encoding="utf-8"))
    assert state["requests"] == {"m": 6}
