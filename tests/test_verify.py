"""Every number in a deep dive must be in the text the model was given."""

from __future__ import annotations

import pytest

from paper_digest.verify import numbers_in, unverified_numbers

SOURCE = (
    "arXiv:2508.08468v6. Our model reaches 32.5 dB PSNR with 1,540,396 parameters (5.88 MB), trained on 1.2M "
    "images, a 3\\times speedup over SwinIR, accuracy 0.88 and latency 54.4–73 ms on A100 GPUs; GPT-4o "
    "and ResNet-50 serve as baselines. Three stages. 12.3% fewer FLOPs. Published in 2026. "
    "2.5 billion tokens."
)


@pytest.mark.parametrize(
    "written",
    [
        "PSNR 达到32.5dB",
        "参数量 1540396",
        "参数量 1,540,396（5.88 MB）",
        "训练用了 1.2M 张图像",
        "120万张图像",
        "提速 3×",
        "提速 3x",
        "准确率 88%",
        "延迟 54.4-73 ms",
        "分 3 个阶段",
        "FLOPs 减少 12.3%",
        "2026 年发表",
        "在 A100 上训练",
        "以 GPT-4o、ResNet50 为基线",
        "arXiv 2508.08468",
        "25亿 tokens",
        "32.50 dB",
    ],
)
def test_numbers_the_source_states_pass(written: str) -> None:
    assert unverified_numbers([written], SOURCE) == []


@pytest.mark.parametrize(
    ("written", "flagged"),
    [
        ("PSNR 提升 0.7 dB", ["0.7"]),
        ("在 H100 上训练", ["H100"]),
        ("准确率 45.2%，提速 4×", ["45.2%", "4×"]),
        ("参数 1.5M", ["1.5M"]),
        ("延迟 54.4–80 ms", ["80"]),
        ("对比 Llama-3", ["Llama-3"]),
    ],
)
def test_numbers_the_source_lacks_are_listed(written: str, flagged: list[str]) -> None:
    assert unverified_numbers([written], SOURCE) == flagged


def test_each_missing_number_once_in_order() -> None:
    texts = ["提升 0.7 dB，又提升 0.7 dB", "H100 与 0.7"]
    assert unverified_numbers(texts, SOURCE) == ["0.7", "H100"]


def test_numbers_in_reads_scales_and_names() -> None:
    assert numbers_in("1.2M 张，A100，3×") == [
        ("1.2M", None, "1200000"),
        ("A100", "a100", "100"),
        ("3×", None, "3"),
    ]


def test_check_deep_dive_plain_text_links_and_numbers() -> None:
    from paper_digest.models import DeepDive, PaperFacts
    from paper_digest.verify import check_deep_dive

    source = "PSNR 32.5 dB on DIV2K. Code: https://github.com/a/b. We train with **bold** claims."
    dive = DeepDive(
        title_zh="标题",
        one_sentence="**PSNR** 达到 $32.5$ dB",
        innovations=["提升 0.7 dB"],
        technical_details=[],
        inspiration=[],
        limitations=[],
        facts=PaperFacts(task="超分", code="https://github.com/a/b", results=["PSNR 33.1 dB"]),
    )
    checked, missing = check_deep_dive(dive, source)
    assert checked.one_sentence == "PSNR 达到 32.5 dB"
    assert checked.facts is not None and checked.facts.code == "https://github.com/a/b"
    assert missing == ["33.1", "0.7"]  # facts come before the sections in reading order
    invented = dive.model_copy(update={"facts": PaperFacts(code="https://github.com/evil/x")})
    assert check_deep_dive(invented, source)[0].facts == PaperFacts(code="")
