"""The deep-dive block: facts, the 📄 基于摘要 marker, ⚠️ unverified numbers, model markup made plain."""

from __future__ import annotations

import pytest
from markdown_check import check_page
from render_samples import rich_digest

from paper_digest.markup import strip_markup, tex_to_plain
from paper_digest.models import AnalysisStatus, DeepDive, Digest, FactItem, PaperFacts
from paper_digest.render import render_digest


def _with(digest: Digest, **changes: object) -> Digest:
    """The first finished deep dive of the sample digest with ``changes`` applied."""
    papers = list(digest.papers)
    index = next(i for i, p in enumerate(papers) if p.analysis_status is AnalysisStatus.DONE)
    papers[index] = papers[index].model_copy(update=changes)
    return digest.model_copy(update={"papers": papers})


def _facts_dive(dive: DeepDive) -> DeepDive:
    facts = PaperFacts(
        task="真实世界图像超分辨率",
        data="DIV2K 训练，RealSR 评测",
        results=["RealSR 上 PSNR 28.4 dB（SwinIR 27.9）"],
        code="https://github.com/example/flowsr",
        venue="CVPR 2026",
        extra=[FactItem(label="退化类型", value="真实相机噪声与模糊")],
    )
    return dive.model_copy(update={"facts": facts})


@pytest.mark.parametrize("template", ["classic", "footnotes"])
def test_facts_marker_and_unverified_numbers(template: str) -> None:
    sample = rich_digest()
    first = next(p for p in sample.papers if p.analysis is not None)
    assert first.analysis is not None
    digest = _with(
        sample,
        analysis=_facts_dive(first.analysis),
        text_source="abstract",
        unverified_numbers=["45.2%", "4×"],
    )
    text = render_digest(digest, template=template)
    check_page(text)
    if template == "classic":
        header = next(line for line in text.splitlines() if line.startswith("### ") and "📄" in line)
        assert header.endswith(" · 📄 基于摘要")
        assert "#### 📌 要点速览" in text
        assert "- **任务**：真实世界图像超分辨率" in text
        assert (
            "- **代码/权重**：[https://github.com/example/flowsr](https://github.com/example/flowsr)" in text
        )
        assert "- **发表**：CVPR 2026" in text and "- **退化类型**：真实相机噪声与模糊" in text
        assert (
            "⚠️ 以下数字或含数字的名称未能在模型读到的原文中找到，请核对：45\\.2%、4×" in text
        )  # "45." escaped: not a list


def test_full_text_dive_has_no_marker_and_old_dives_render_as_before() -> None:
    digest = _with(rich_digest(), text_source="html")
    text = render_digest(digest)
    assert "📄 基于摘要" not in text and "⚠️ 以下数字" not in text
    assert "📌 要点速览" not in text  # no facts: a deep dive cached before the facts block existed


def test_unsafe_code_link_is_not_a_link() -> None:
    sample = rich_digest()
    first = next(p for p in sample.papers if p.analysis is not None)
    assert first.analysis is not None
    dive = first.analysis.model_copy(update={"facts": PaperFacts(task="x", code="javascript:alert(1)")})
    text = render_digest(_with(sample, analysis=dive))
    assert "javascript" not in text and "代码/权重" not in text


@pytest.mark.parametrize(
    ("written", "plain"),
    [
        ("**核心**：在 $x_0$ 上预测 $\\mathbf{v}_t$", "核心：在 x₀ 上预测 vₜ"),
        ("复杂度 $O(n^2)$，提速 $3\\times$", "复杂度 O(n²)，提速 3×"),
        ("用 `torch.compile` 与 *轻量* 解码器", "用 torch.compile 与 轻量 解码器"),
        ("$\\frac{1}{2}$ 与 $\\alpha=0.5$，$L_{rec}$", "1/2 与 α=0.5，L_rec"),
        ("a*b*c 与 2*3 不变", "a*b*c 与 2*3 不变"),
    ],
)
def test_model_markup_becomes_plain_text(written: str, plain: str) -> None:
    assert strip_markup(written) == plain


def test_tex_to_plain_keeps_unknown_commands_readable() -> None:
    assert tex_to_plain("\\mathcal{L}_{\\text{total}} \\leq \\lambda") == "L_total ≤ λ"
