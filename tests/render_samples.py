"""Sample digests for the render tests: a rich day, an empty day and a hostile day."""

from __future__ import annotations

import datetime as dt

from paper_digest.models import (
    AnalysisStatus,
    ArxivSignals,
    DeepDive,
    Digest,
    DigestPaper,
    HFSignals,
    LLMLedger,
    Notice,
    NoticeKind,
    RunStats,
    ScoreReason,
    Source,
    SourceReport,
    SourceStatus,
)

DAY = dt.date(2026, 6, 12)
ARXIV_FAILED = "arXiv 今日数据获取失败（服务器多次返回 503），本期只含 HuggingFace 的论文。"


def _links(
    pid: str, *, hf: bool = False, code: str | None = None, project: str | None = None
) -> dict[str, str]:
    links = {"abs": f"https://arxiv.org/abs/{pid}", "pdf": f"https://arxiv.org/pdf/{pid}"}
    if hf:
        links["hf"] = f"https://huggingface.co/papers/{pid}"
    if code:
        links["code"] = code
    if project:
        links["project"] = project
    return links


#: the smallest complete deep dive, for tests that need one and do not read it
DIVE = DeepDive(
    title_zh="标题",
    one_sentence="一句话",
    innovations=["a"],
    technical_details=["b"],
    inspiration=["c"],
    limitations=["d"],
)


def _dive(title_zh: str, topic: str) -> DeepDive:
    return DeepDive(
        title_zh=title_zh,
        one_sentence=f"提出一种用于{topic}的新方法，在多个基准上取得领先结果。",
        innovations=[f"把{topic}建模为流匹配问题。", "引入退化感知的条件编码器。"],
        technical_details=["骨干为 DiT，条件通过交叉注意力注入。", "训练目标为速度场回归，采样 8 步。"],
        inspiration=["可直接迁移到真实世界超分辨率的退化建模中。"],
        limitations=["只在合成退化上评测，真实场景泛化未验证。", "推理显存开销较大。"],
    )


def rich_digest() -> Digest:
    reasons = [
        ScoreReason(kind="keyword", detail="super-resolution in title", points=30),
        ScoreReason(kind="keyword", detail="diffusion in abstract", points=12),
        ScoreReason(kind="exclude", detail="medical in abstract", points=-5),
    ]
    papers = [
        DigestPaper(
            rank=1,
            id="2606.13681",
            version=1,
            title="FlowSR: Flow Matching for Real-World Image Super-Resolution",
            authors=["Alice Zhang", "Bo Li", "Chen Wang", "Dan Xu", "Eve Liu", "Fan Yang"],
            abstract="We propose FlowSR, a flow matching approach to real-world super-resolution.",
            score=91.6,
            score_reasons=reasons,
            sources=[Source.HUGGINGFACE, Source.ARXIV],
            links=_links(
                "2606.13681",
                hf=True,
                code="https://github.com/alice/flowsr",
                project="https://flowsr.github.io",
            ),
            hf=HFSignals(
                upvotes=123,
                github_repo="https://github.com/alice/flowsr",
                github_stars=1520,
                organization="Example Lab",
                ai_summary="Flow matching makes SR fast.",
            ),
            arxiv=ArxivSignals(
                primary_category="cs.CV",
                categories=["cs.CV"],
                announce_type="new",
                comment="Accepted to CVPR 2026",
            ),
            deep_dive=True,
            analysis_status=AnalysisStatus.DONE,
            analysis=_dive("FlowSR：面向真实世界图像超分辨率的流匹配", "超分辨率"),
            model="gemini-2.5-flash",
        ),
        DigestPaper(
            rank=2,
            id="2606.14002",
            version=2,
            title="Masked Autoregressive Denoisers",
            authors=["Grace Hopper", "Alan Turing"],
            abstract="Masked autoregressive models as image denoisers.",
            score=84.0,
            score_reasons=[
                *reasons[1:2],
                ScoreReason(
                    kind="liked",
                    detail="与你赞过的 2606.12575 相近（相似度 0.83，喜欢的把握 91%）",
                    points=8.25,
                ),
            ],
            sources=[Source.ARXIV],
            links=_links("2606.14002"),
            arxiv=ArxivSignals(
                primary_category="eess.IV", categories=["eess.IV", "cs.CV"], announce_type="cross"
            ),
            deep_dive=True,
            analysis_status=AnalysisStatus.DONE,
            analysis=_dive("掩码自回归去噪器", "图像去噪"),
            model="gemini-2.5-flash",
            is_update=True,
        ),
        DigestPaper(
            rank=3,
            id="2606.15000",
            title="Self-Supervised Pre-Training for Restoration",
            authors=["Ada Lovelace"],
            abstract="A long abstract about self-supervised pre-training. " * 20,
            score=72.4,
            sources=[Source.HUGGINGFACE],
            links=_links("2606.15000", hf=True),
            hf=HFSignals(upvotes=40),
            deep_dive=True,
            analysis_status=AnalysisStatus.PENDING,
            analysis_message="今日 LLM 配额已用完，深度解读将在下次运行时补上。",
            analysis_reason="quota_daily",
        ),
        DigestPaper(
            rank=4,
            id="2606.15111",
            title="Blocked Paper on Deblurring",
            authors=["Linus Torvalds"],
            abstract="Deblurring with transformers.",
            score=65.0,
            sources=[Source.ARXIV],
            links=_links("2606.15111"),
            arxiv=ArxivSignals(primary_category="cs.CV", announce_type="new"),
            deep_dive=True,
            analysis_status=AnalysisStatus.FAILED,
            analysis_message="这篇论文的解读没有成功生成，下面先附上摘要。",
            analysis_reason="max_tokens",
        ),
        DigestPaper(
            rank=5,
            id="2606.16000",
            title="Video Diffusion Transformers at Scale",
            authors=["Someone Else"],
            abstract="Scaling video diffusion.",
            score=41.0,
            score_reasons=reasons[1:2],
            sources=[Source.HUGGINGFACE],
            links=_links("2606.16000", hf=True),
            hf=HFSignals(upvotes=310, ai_summary="Scaling laws for video diffusion transformers."),
            deep_dive=False,
            analysis_status=AnalysisStatus.SKIPPED,
        ),
        DigestPaper(
            rank=6,
            id="astro-ph/0601001",
            title="An Old-Style Identifier Paper",
            authors=[],
            abstract="Old ids still work.",
            score=12.0,
            score_reasons=[
                ScoreReason(kind="keyword", detail="'restoration' in title", points=8, topic="图像复原"),
                ScoreReason(kind="description", detail="'diffusion' in abstract", points=3, topic="扩散"),
                ScoreReason(
                    kind="description", detail="'diffusion model' in abstract", points=1, topic="扩散模型"
                ),
            ],
            sources=[Source.ARXIV],
            links=_links("astro-ph/0601001"),
            deep_dive=False,
            analysis_status=AnalysisStatus.SKIPPED,
        ),
    ]
    ledger = LLMLedger(
        requests_by_model={"gemini-2.5-flash": 3},
        retries=1,
        rate_limited_day=1,
        tokens_in=12345,
        tokens_out=6789,
        cache_hits=1,
    )
    return Digest(
        date=DAY,
        title="CV 论文日报",
        papers=papers,
        sources=[
            SourceReport(source=Source.HUGGINGFACE, status=SourceStatus.OK, count=35),
            SourceReport(
                source=Source.ARXIV,
                status=SourceStatus.FAILED,
                count=0,
                notice=Notice(kind=NoticeKind.TEXT, text=ARXIV_FAILED),
                detail="HTTP 503 after 4 attempts",
            ),
        ],
        notices=[
            Notice(kind=NoticeKind.TEXT, text=ARXIV_FAILED),
            Notice(kind=NoticeKind.PENDING, count=1),
        ],
        stats=RunStats(
            candidates_by_source={"huggingface": 35, "arxiv": 182},
            candidates=201,
            above_threshold=5,
            llm=ledger,
        ),
        min_score=30.0,
        to_rate=["2606.16000", "2606.99999"],
    )


#: a sentence of the digest's own (as an earlier version wrote it)
SATURDAY = Notice(kind=NoticeKind.TEXT, text="arXiv 周六不发布新论文。")


def empty_digest(day: dt.date = dt.date(2026, 6, 13)) -> Digest:
    return Digest(
        date=day,
        title="CV 论文日报",
        sources=[
            SourceReport(source=Source.HUGGINGFACE, status=SourceStatus.EMPTY),
            SourceReport(source=Source.ARXIV, status=SourceStatus.NO_ANNOUNCEMENT, notice=SATURDAY),
        ],
        notices=[SATURDAY, Notice(kind=NoticeKind.NO_CANDIDATES)],
        min_score=30.0,
    )


HOSTILE = (
    "Evil | title ] [click](javascript:alert(1)) `tick` *bold* _it_ ~~s~~ $x$ <script>alert(1)</script> "
    "<img src=x onerror=alert(1)> &lt;b&gt; \\ \n# injected heading\n| a | b |\n"
    "\u202eevil-rtl\u202c 𝕏😀 \x00\x1b \ud800 <!-- c --> [x]: javascript:alert(2)"
)
HOSTILE_LINKS = {
    "abs": "javascript:alert(1)",
    "pdf": "https://arxiv.org/pdf/x) [y](javascript:alert(1)",
    "hf": "data:text/html,<script>alert(1)</script>",
    "code": "  https://github.com/a/b c<d>|e\n  ",
    "project": "//evil.example/x",
}


def hostile_digest() -> Digest:
    base = rich_digest()
    long = HOSTILE + "A" * 5000
    papers = []
    for paper in base.papers:
        update: dict[str, object] = {
            "title": long,
            "authors": [HOSTILE, "- list", "# head", "1. numbered", "> quote", "ok"],
            "abstract": long,
            "links": HOSTILE_LINKS,
        }
        if paper.hf is not None:
            update["hf"] = paper.hf.model_copy(update={"organization": HOSTILE, "ai_summary": HOSTILE})
        if paper.arxiv is not None:
            update["arxiv"] = paper.arxiv.model_copy(update={"comment": HOSTILE, "primary_category": HOSTILE})
        if paper.analysis is not None:
            update["analysis"] = DeepDive(
                title_zh=HOSTILE,
                one_sentence=HOSTILE,
                innovations=[HOSTILE, "- nested", "```", "    indented"],
                technical_details=[HOSTILE],
                inspiration=["[a](javascript:alert(3))"],
                limitations=["<script>alert(4)</script>"],
            )
        if paper.analysis_message:
            update["analysis_message"] = HOSTILE + "\n429 You exceeded your current quota\n" * 20
        update["score_reasons"] = [ScoreReason(kind="keyword", detail=HOSTILE, points=5)]
        papers.append(paper.model_copy(update=update))
    return base.model_copy(
        update={
            "papers": papers,
            "title": HOSTILE,
            "notices": [Notice(kind=NoticeKind.TEXT, text=HOSTILE), *base.notices],
        }
    )
