"""Sidecars written by earlier versions keep loading, rendering and carrying over.

``fixtures/sidecars/2026-06-12.json`` and ``.md`` are what the 1.0 layout (before notices were data) wrote for
the corpus day 2026-06-12 with HuggingFace answering 503 and a Gemini quota of one request: notices as Chinese
sentences, ``sources[].message``, ``stats.deep_dives_done`` and ``stats.llm_requests`` stored. They were
written by the code of commit 4f92825 through ``tests/world.py`` (``World(per_day=1)``, HF replies 503)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from world import World

from paper_digest import store
from paper_digest.config import DigestConfig
from paper_digest.models import SIDECAR_SCHEMA_VERSION, Notice, NoticeKind, Source
from paper_digest.notices import sentence
from paper_digest.render import render_digest
from paper_digest.sidecar import render_sidecar

OLD = Path(__file__).parent / "fixtures" / "sidecars"
DAY = "2026-06-12"
HF_FAILED = "HuggingFace 今日数据获取失败（服务器返回 HTTP 503，共尝试 5 次），本期不含该来源的论文。"
QUOTA = (
    "今日 Gemini 配额已用尽，配额将于 11月24日 16:00（UTC+08:00）重置，2 篇深度解读将在此后的首次运行中补全。"
)


def test_a_1_0_sidecar_loads_with_its_notices_and_counts() -> None:
    raw = json.loads((OLD / f"{DAY}.json").read_text(encoding="utf-8"))
    assert raw["schema_version"] == "1.0" and raw["notices"] == [HF_FAILED, QUOTA]
    digest = store.load_digest(OLD / f"{DAY}.json")
    assert digest is not None
    assert [sentence(n) for n in digest.notices] == [HF_FAILED, QUOTA]
    hf = digest.sources[0]
    assert hf.source is Source.HUGGINGFACE and hf.notice == Notice(kind=NoticeKind.TEXT, text=HF_FAILED)
    # the counts it stored are the ones now derived from its papers
    assert digest.deep_dives_done == raw["stats"]["deep_dives_done"] == 1
    assert digest.stats.llm_requests == raw["stats"]["llm_requests"] == 2


def test_a_1_0_sidecar_renders_as_it_did_and_round_trips(tmp_path: Path) -> None:
    digest = store.load_digest(OLD / f"{DAY}.json")
    assert digest is not None
    defaults = DigestConfig()
    markdown = render_digest(digest, max_listed=defaults.max_listed, list_min_score=defaults.list_min_score)
    assert markdown == (OLD / f"{DAY}.md").read_text(encoding="utf-8")
    # written again in today's layout, it says the same
    path = tmp_path / f"{DAY}.json"
    store.atomic_write_text(path, render_sidecar(digest))
    rewritten = json.loads(path.read_text(encoding="utf-8"))
    assert [(n["kind"], n["text"]) for n in rewritten["notices"]] == [("text", HF_FAILED), ("text", QUOTA)]
    assert "message" not in rewritten["sources"][0]
    assert rewritten["deep_dives_done"] == 1 and rewritten["stats"]["llm_requests"] == 2
    again = store.load_digest(path)
    assert again is not None and again.notices == digest.notices and again.sources == digest.sources


def test_a_rerun_over_a_1_0_sidecar_carries_its_deep_dive_over(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with World(tmp_path, monkeypatch=monkeypatch, api_key=None) as world:
        world.serve_day(DAY)
        world.out.mkdir()
        for suffix in (".json", ".md"):
            shutil.copy(OLD / f"{DAY}{suffix}", world.out / f"{DAY}{suffix}")
        old = json.loads((OLD / f"{DAY}.json").read_text(encoding="utf-8"))
        finished = next(p for p in old["papers"] if p["analysis_status"] == "done")

        result = world.run("run", "--date", DAY)
        assert result.exit_code == 0, result.output
        sidecar, md = world.sidecar(DAY), world.markdown(DAY)
        assert sidecar["schema_version"] == SIDECAR_SCHEMA_VERSION
        carried = next(p for p in sidecar["papers"] if p["id"] == finished["id"])
        assert carried["deep_dive"] and carried["analysis"] == finished["analysis"]
        assert sidecar["deep_dives_done"] == 1
        # HuggingFace answered this time and no key is set: the notices are this run's, as data
        assert [n["kind"] for n in sidecar["notices"]] == ["no_api_key"]
        assert HF_FAILED not in md and finished["analysis"]["title_zh"] in md
        assert sentence(Notice(kind=NoticeKind.NO_API_KEY)).startswith("未检测到 Gemini API 密钥")
        assert "未检测到 Gemini API 密钥" in md
