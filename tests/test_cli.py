"""`paper-digest` end to end through typer's CliRunner: local HF and arXiv servers fed with the corpus,
the real google-genai client against the fake Gemini server, real files in tmp_path."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from markdown_check import check_page
from sources_helpers import Reply
from typer.testing import CliRunner
from world import API_KEY, MODEL, World

from paper_digest import __version__, cli, notices, store
from paper_digest.config import Config

DAY = "2026-06-12"  # a Friday: HF list of the day + arXiv's Thursday-evening announcement
SECTIONS = ("核心创新点", "技术细节", "对我的启发", "潜在缺陷")


def first_line_error(output: str) -> str:
    lines = [line for line in output.splitlines() if line.startswith("Error:")]
    assert len(lines) == 1, output
    assert "Traceback" not in output
    return lines[0]


def test_run_writes_digest_and_sidecar(world: World) -> None:
    result = world.run("run", "--date", DAY)
    assert result.exit_code == 0, result.output
    md, sidecar = world.markdown(DAY), world.sidecar(DAY)
    check_page(md)
    for section in SECTIONS:
        assert md.count(section) == 3  # deep_dives = 3, all done
    assert sidecar["date"] == DAY
    assert sidecar["stats"]["candidates_by_source"] == {"huggingface": 35, "arxiv": 80}
    assert sidecar["stats"]["llm_requests"] == 3 == world.gemini.count(MODEL)
    assert {r.api_version for r in world.gemini.requests} == {"v1beta"}
    papers = sidecar["papers"]
    assert len(papers) == 109 == len({p["id"] for p in papers})
    scores = [p["score"] for p in papers]
    assert scores == sorted(scores, reverse=True) and all(0 <= s <= 100 for s in scores)
    featured = [p for p in papers if p["deep_dive"]]
    assert len(featured) == 3 and all(
        p["analysis_status"] == "done" and p["model"] == MODEL for p in featured
    )
    assert all(set(p["analysis"]) >= {"title_zh", "innovations", "limitations"} for p in featured)
    rest = [p for p in papers if not p["deep_dive"]]
    assert all(p["analysis_status"] == "skipped" and p["analysis"] is None for p in rest)
    both = [p for p in papers if set(p["sources"]) == {"huggingface", "arxiv"}]
    assert both, "papers listed by both sources are merged with both sources recorded"
    # results on stdout, progress on stderr
    assert str(world.out / f"{DAY}.md") in result.stdout
    assert "[paper-digest]" not in result.stdout and "[paper-digest] fetch" in result.stderr
    assert (world.out / "README.md").exists() and (world.out / "feed.xml").exists()
    assert API_KEY not in md + result.output + (world.out / f"{DAY}.json").read_text(encoding="utf-8")


def test_rerun_of_a_finished_day_costs_nothing_and_changes_no_byte(world: World) -> None:
    """The digest shows what its deep dives cost in all; a rerun served from the cache leaves every file of
    the digests folder as it was (nothing for a GitHub Action to commit), and says what it spent on the
    console."""
    assert world.run("run", "--date", DAY).exit_code == 0
    before = {p.name: p.read_bytes() for p in sorted(world.out.iterdir()) if p.is_file()}
    assert "LLM 请求 3 次" in world.markdown(DAY) and "缓存命中" not in world.markdown(DAY)
    again = world.run("run", "--date", DAY)
    assert again.exit_code == 0, again.output
    assert world.gemini.count() == 3
    after = {p.name: p.read_bytes() for p in sorted(world.out.iterdir()) if p.is_file()}
    assert after == before
    assert "analyse: 3/3 done, 0 requests, 3 cached" in again.stderr
    runs = world.sidecar(DAY)["stats"]["llm_runs"]
    assert len(runs) == 1 and runs[0]["ledger"]["requests_by_model"] == {MODEL: 3}


def test_no_llm_and_no_key_still_write_the_ranked_digest(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    result = world.run("run", "--date", DAY, "--no-llm")
    assert result.exit_code == 0, result.output
    assert world.gemini.count() == 0
    assert "--no-llm" in world.markdown(DAY)
    (world.out / f"{DAY}.json").unlink()
    monkeypatch.delenv("GEMINI_API_KEY")
    result = world.run("run", "--date", DAY)
    assert result.exit_code == 0, result.output
    assert world.gemini.count() == 0
    assert "no GEMINI_API_KEY" in result.stderr
    assert "未检测到 Gemini API 密钥" in world.markdown(DAY)
    statuses = {p["analysis_status"] for p in world.sidecar(DAY)["papers"] if p["deep_dive"]}
    assert statuses == {"pending"}


def test_rerun_without_key_keeps_finished_deep_dives(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    assert world.run("run", "--date", DAY).exit_code == 0
    monkeypatch.delenv("GEMINI_API_KEY")
    monkeypatch.setenv("GEMINI_API_KEY", "")
    result = world.run("run", "--date", DAY, "--no-llm")
    assert result.exit_code == 0
    featured = [p for p in world.sidecar(DAY)["papers"] if p["deep_dive"]]
    assert [p["analysis_status"] for p in featured] == ["done"] * 3
    for section in SECTIONS:
        assert section in world.markdown(DAY)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--date", "2026-13-01"], "Error: invalid --date '2026-13-01': expected a date like 2026-06-12"),
        (["--date", "yesterday"], "Error: invalid --date 'yesterday': expected a date like 2026-06-12"),
        (["--date", "2999-01-01"], "Error: --date 2999-01-01 is in the future"),
        (
            ["--deep-dives", "99", "--date", DAY],
            "Error: Invalid value for '--deep-dives' / '-n': Input should be less than or equal to 50",
        ),
    ],
)
def test_bad_usage_exits_2_with_one_line(world: World, args: list[str], message: str) -> None:
    result = world.run("run", *args)
    assert result.exit_code == 2
    assert first_line_error(result.stderr).startswith(message)
    assert not world.out.exists() or not list(world.out.glob("*.md"))
    assert world.requests_to("/api/daily_papers") == 0


def test_bad_config_exits_2_one_line_per_field(world: World) -> None:
    world.config_path.write_text('[digest]\ndeep_dives = "x"\ncolour = 1\n', encoding="utf-8")
    result = world.run("run", "--date", DAY)
    assert result.exit_code == 2
    assert "Traceback" not in result.output
    assert "digest.deep_dives: Input should be a valid integer" in result.stderr
    assert "digest.colour: unknown key" in result.stderr
    missing = world.run("run", "--date", DAY, "--config", str(world.root / "nope.toml"))
    assert missing.exit_code == 2
    assert first_line_error(missing.stderr).startswith("Error: config file not found")


def test_version_and_help() -> None:
    runner = CliRunner()
    assert runner.invoke(cli.app, ["--version"]).stdout.strip() == f"paper-digest {__version__}"
    for flag in ("-h", "--help"):
        result = runner.invoke(cli.app, ["run", flag])
        assert result.exit_code == 0 and "--no-llm" in result.stdout and "Exit codes" in result.stdout


def test_source_failure_words_are_chinese() -> None:
    words = notices.source_failure_words
    assert words("connection", None, 5) == "无法连接，共尝试 5 次"
    assert words("timeout", None, 1) == "请求超时"
    assert words("http", 404, 1) == "服务器返回 HTTP 404"
    assert words("offline", None, None) == "离线运行，但没有保存这一天的原始响应"
    assert words(None, None, None) == "返回的内容无法解析"  # a body that is not the source's format


def test_one_source_failing_is_said_plainly(world: World) -> None:
    world.hf_replies([Reply(500, b"<html>Internal error</html>")])
    result = world.run("run", "--date", DAY)
    assert result.exit_code == 0, result.output
    md = world.markdown(DAY)
    assert "HuggingFace 今日数据获取失败" in md and "Internal error" not in md
    # the reader's sentence is Chinese; the English detail stays in the sidecar (and on the console)
    assert "HuggingFace 今日数据获取失败（服务器返回 HTTP 500，共尝试 5 次）" in md and "attempts" not in md
    sidecar = world.sidecar(DAY)
    assert [s["status"] for s in sidecar["sources"]] == ["failed", "ok"]
    assert sidecar["sources"][0]["detail"] == "HTTP 500 after 5 attempts"
    assert sidecar["stats"]["candidates_by_source"]["arxiv"] == 80


def test_every_source_failing_exits_1_and_keeps_the_earlier_digest(world: World) -> None:
    assert world.run("run", "--date", DAY).exit_code == 0
    before = (world.out / f"{DAY}.md").read_bytes(), (world.out / f"{DAY}.json").read_bytes()
    world.hf_replies([Reply(503, b"busy", {"Retry-After": "1"})])
    world.arxiv_replies([Reply(503, b"busy", {"Retry-After": "1"})])
    result = world.run("run", "--date", DAY)
    assert result.exit_code == 1
    assert first_line_error(result.stderr).startswith("Error: every source failed")
    assert ((world.out / f"{DAY}.md").read_bytes(), (world.out / f"{DAY}.json").read_bytes()) == before


def test_partial_rerun_never_replaces_a_better_digest(world: World) -> None:
    assert world.run("run", "--date", DAY).exit_code == 0
    before = world.markdown(DAY)
    world.hf_replies([Reply(500, b"down")])
    result = world.run("run", "--date", DAY)
    assert result.exit_code == 0
    assert "kept" in result.stdout
    assert world.markdown(DAY) == before


def test_weekend_is_a_normal_day(world: World) -> None:
    result = world.run("run", "--date", "2026-06-13")  # Saturday: no HF list, no arXiv announcement
    assert result.exit_code == 0, result.output
    assert world.gemini.count() == 0
    assert world.requests_to("/api/query") == 0
    md = world.markdown("2026-06-13")
    assert "arXiv" in md and "今日没有可排序的候选论文" in md
    check_page(md)


def test_second_run_on_a_locked_folder_is_refused(world: World) -> None:
    world.out.mkdir(parents=True)
    with store.output_lock(world.out):
        result = world.run("run", "--date", DAY)
    assert result.exit_code == 1
    assert "another paper-digest run is using" in first_line_error(result.stderr)
    assert not (world.out / f"{DAY}.md").exists()


def test_killed_while_writing_leaves_the_previous_digest(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert world.run("run", "--date", DAY).exit_code == 0
    before = (world.out / f"{DAY}.md").read_bytes()
    (world.out / f"{DAY}.json").unlink()  # make the rerun want to write

    def killed(src: object, dst: object) -> None:
        raise KeyboardInterrupt  # the process dies between writing the temp file and the rename

    monkeypatch.setattr(os, "replace", killed)
    result = world.run("run", "--date", DAY)
    assert result.exit_code != 0  # the run died
    assert (world.out / f"{DAY}.md").read_bytes() == before
    assert not [p for p in world.out.iterdir() if p.name.endswith(".tmp")]


def test_offline_rerun_uses_the_kept_raw_responses(world: World) -> None:
    assert world.run("run", "--date", DAY, "--no-llm").exit_code == 0
    ids = [p["id"] for p in world.sidecar(DAY)["papers"]]
    fetched = len(world.server.requests)
    (world.out / f"{DAY}.json").unlink()
    result = world.run("run", "--date", DAY, "--no-llm", "--offline")
    assert result.exit_code == 0, result.output
    assert len(world.server.requests) == fetched
    assert [p["id"] for p in world.sidecar(DAY)["papers"]] == ids


def test_offline_rerun_of_a_finished_day_changes_no_byte(world: World) -> None:
    """An --offline rerun makes no request: the sources' request counts (0) used to count as a change, so the
    sidecar and the feed entry got a new ``updated`` and feed readers showed the same day again."""
    assert world.run("run", "--date", DAY).exit_code == 0
    before = {p.name: p.read_bytes() for p in sorted(world.out.iterdir()) if p.is_file()}
    result = world.run("run", "--date", DAY, "--offline")
    assert result.exit_code == 0, result.output
    assert {p.name: p.read_bytes() for p in sorted(world.out.iterdir()) if p.is_file()} == before
    assert [s["requests"] for s in world.sidecar(DAY)["sources"]] == [1, 1]


def test_backfill_across_a_weekend_skips_complete_days(world: World) -> None:
    world.serve_day("2026-06-15")
    world.serve_day("2026-06-16")
    result = world.run("backfill", "--from", "2026-06-12", "--to", "2026-06-16")
    assert result.exit_code == 0, result.output
    for day in ("2026-06-12", "2026-06-15", "2026-06-16"):
        assert (world.out / f"{day}.md").exists()
    # nothing is announced on a weekend (no arXiv announcement, no HF list): no empty digest, no feed entry
    for day in ("2026-06-13", "2026-06-14"):
        assert not (world.out / f"{day}.md").exists()
        assert f"{day}: nothing announced (weekend), skipped" in result.stderr
    requests = world.gemini.count()
    assert requests == 9  # three deep dives on each of the three weekdays, none on the weekend
    again = world.run("backfill", "--from", "2026-06-12", "--to", "2026-06-16")
    assert again.exit_code == 0
    assert again.stderr.count("complete, skipped") == 3
    assert world.gemini.count() == requests
    index = (world.out / "README.md").read_text(encoding="utf-8")
    assert index.index("2026-06-16") < index.index("2026-06-12")


def test_backfill_stops_cleanly_when_the_daily_quota_is_spent(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with World(tmp_path, monkeypatch=monkeypatch, per_day=4) as world:
        world.serve_day("2026-06-12")
        world.serve_day("2026-06-15")
        world.serve_day("2026-06-16")
        result = world.run("backfill", "--from", "2026-06-12", "--to", "2026-06-16")
        assert result.exit_code == 0, result.output
        assert "quota spent" in result.stderr
        assert not (world.out / "2026-06-16.md").exists()
        statuses = [p["analysis_status"] for p in world.sidecar("2026-06-15")["papers"] if p["deep_dive"]]
        assert statuses.count("pending") == 2 and statuses.count("done") == 1
        assert "今日配额已用尽" in world.markdown("2026-06-15") or "配额" in world.markdown("2026-06-15")
        # the next day, the quota is back: only the missing requests are made
        world.next_quota_day()
        spent = world.gemini.count()
        again = world.run("backfill", "--from", "2026-06-12", "--to", "2026-06-16")
        assert again.exit_code == 0, again.output
        assert world.gemini.count() - spent == 2 + 3
        assert all(
            p["analysis_status"] == "done" for p in world.sidecar("2026-06-15")["papers"] if p["deep_dive"]
        )


def test_check_reports_without_printing_the_key(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    result = world.run("check")
    assert result.exit_code == 0, result.output
    assert "api_key: present" in result.stdout and API_KEY not in result.output
    online = world.run("check", "--online")
    assert online.exit_code == 0, online.output
    assert "ok   huggingface" in online.stdout and "ok   arxiv" in online.stdout
    monkeypatch.delenv("GEMINI_API_KEY")
    nokey = world.run("check")
    assert nokey.exit_code == 0 and "warn api_key: absent" in nokey.stdout
    world.hf_replies([Reply(404, b"nope")])
    broken = world.run("check", "--online")
    assert broken.exit_code == 1 and "FAIL huggingface" in broken.stdout


def test_index_command(world: World) -> None:
    assert world.run("run", "--date", DAY, "--no-llm").exit_code == 0
    (world.out / "README.md").unlink()
    result = world.run("index")
    assert result.exit_code == 0 and "(1 digests)" in result.stdout
    assert DAY in (world.out / "README.md").read_text(encoding="utf-8")


def test_unwritable_output_folder_exits_2_before_fetching(world: World) -> None:
    world.out.write_text("a file where the folder should be", encoding="utf-8")
    result = world.run("run", "--date", DAY)
    assert result.exit_code == 2
    assert first_line_error(result.stderr).startswith("Error: digest.output_dir:")
    assert world.requests_to("/api/daily_papers") == 0


def test_unwritable_cache_folder_exits_2_before_fetching_and_check_says_so(world: World) -> None:
    """It used to fetch first and then fail with exit 1 on the raw archive ("cannot write to .../raw/DATE"),
    while `check` said everything was fine."""
    (world.root / "cache").write_text("a file where the cache folder should be", encoding="utf-8")
    result = world.run("run", "--date", DAY)
    assert result.exit_code == 2
    assert first_line_error(result.stderr).startswith("Error: cache.dir:")
    assert world.requests_to("/api/daily_papers") == 0 and not world.out.exists()
    check = world.run("check")
    assert check.exit_code == 1 and "FAIL cache_dir: cache.dir:" in check.stdout


def test_llm_rerank_blends_into_the_ranking_and_shares_the_budget(world: World) -> None:
    text = world.config_path.read_text(encoding="utf-8").replace("llm_rerank = false", "rerank_top = 20")
    world.config_path.write_text(text, encoding="utf-8")
    result = world.run("run", "--date", DAY)
    assert result.exit_code == 0, result.output
    reranks = [r for r in world.gemini.requests if r.is_rerank]
    assert len(reranks) == 2  # 20 candidates in batches of 15
    sidecar = world.sidecar(DAY)
    assert sidecar["stats"]["llm_requests"] == 2 + 3 == world.gemini.count()
    top = sidecar["papers"][:20]
    assert all(any(r["kind"] == "llm" for r in p["score_reasons"]) for p in top)
    assert all(
        abs(sum(r["points"] for r in p["score_reasons"]) - p["score"]) < 0.2 for p in sidecar["papers"][:25]
    )
    assert world.run("run", "--date", DAY).exit_code == 0
    assert world.gemini.count() == 5  # the rerun judges nothing again


def test_offline_without_key_shows_cached_deep_dives_without_a_no_key_notice(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert world.run("run", "--date", DAY).exit_code == 0
    for name in (f"{DAY}.md", f"{DAY}.json"):
        (world.out / name).unlink()  # no earlier digest to carry over: the deep dives come from the cache
    monkeypatch.delenv("GEMINI_API_KEY")
    result = world.run("run", "--date", DAY, "--offline")
    assert result.exit_code == 0, result.output
    md = world.markdown(DAY)
    assert md.count("核心创新点") == 3 and "API 密钥" not in md and "只有排序列表" not in md
    assert (
        "[paper-digest] no GEMINI_API_KEY or GOOGLE_API_KEY in the environment: "
        "deep dives come from the cache only; the others wait for a key\n"
    ) in result.stderr
    # two more deep dives than the cache holds: the notice names what is missing, not "only a ranked list"
    (world.out / f"{DAY}.json").unlink()
    more = world.run("run", "--date", DAY, "--offline", "--deep-dives", "5")
    assert more.exit_code == 0, more.output
    md = world.markdown(DAY)
    assert md.count("核心创新点") == 3
    notice = (
        "- 未检测到 Gemini API 密钥（GEMINI\\_API\\_KEY），"
        "尚未完成的深度解读将在配置密钥后的下次运行中补全。\n"
    )
    assert notice in md and md.count("· ⏳") == 2
    assert world.gemini.count() == 3


def test_no_llm_rerun_keeps_earlier_deep_dives_without_the_no_llm_notice(world: World) -> None:
    assert world.run("run", "--date", DAY).exit_code == 0
    assert world.run("run", "--date", DAY, "--no-llm").exit_code == 0
    md = world.markdown(DAY)
    assert md.count("核心创新点") == 3 and "--no-llm" not in md


def test_list_stops_at_list_min_score_and_the_sidecar_keeps_all(world: World) -> None:
    assert world.run("run", "--date", DAY, "--no-llm").exit_code == 0
    md, sidecar = world.markdown(DAY), world.sidecar(DAY)
    rows = [line for line in md.splitlines() if line.startswith("| ") and "paper-" in line]
    scores = [float(row.split(" | ")[2]) for row in rows]
    assert scores and min(scores) >= 20  # digest.list_min_score's default
    below = sum(1 for p in sidecar["papers"] if not p["deep_dive"] and p["score"] < 20)
    assert below > 0 and len(sidecar["papers"]) == 109
    assert f"另有 {below} 篇低于 20 分的论文未列出（共扫描 109 篇），完整列表见同名 JSON 文件。" in md
    assert "' in " not in md and "half read" not in md  # the score's internals stay in the sidecar


def test_the_semantic_reason_is_in_the_sidecar_and_the_digest(world: World) -> None:
    """The offline semantic stage runs by default: its points are a reason in the sidecar (with its wording);
    the digest's one-line column never shows the reason's wording (a closeness is not a matched topic)."""
    result = world.run("run", "--date", DAY, "--no-llm")
    assert result.exit_code == 0, result.output
    papers = world.sidecar(DAY)["papers"]
    semantic = [r for p in papers for r in p["score_reasons"] if r["kind"] == "semantic"]
    assert len(semantic) > len(papers) / 2
    assert any(r["detail"].startswith("meaning close to ") and r["points"] > 0 for r in semantic)
    assert not any(r.get("topic") for r in semantic)
    assert "meaning close to " not in world.markdown(DAY)


@pytest.mark.parametrize("key", [True, False], ids=["with-key", "no-key"])
def test_the_rerank_is_on_by_default_whenever_a_key_is_present(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, key: bool
) -> None:
    """A config without a [scoring] re-rank line: with a key the offline top 30 is judged (2 requests, on the
    re-rank model, never the deep dives' model); without a key nothing is asked."""
    with World(tmp_path, monkeypatch=monkeypatch, rerank=True, api_key=API_KEY if key else None) as world:
        world.serve_day(DAY)
        world.write_config()
        assert "llm_rerank" not in world.config_path.read_text(encoding="utf-8")
        result = world.run("run", "--date", DAY)
        assert result.exit_code == 0, result.output
        reranks = [r for r in world.gemini.requests if r.is_rerank]
        if not key:
            assert world.gemini.count() == 0
            return
        assert len(reranks) == 2  # 30 candidates in batches of 15
        assert {r.model for r in reranks} == {Config().llm.rerank_model} != {MODEL}
        top = world.sidecar(DAY)["papers"][:30]
        assert sum(any(r["kind"] == "llm" for r in p["score_reasons"]) for p in top) >= 25


def test_ratings_teach_the_ranking_and_the_digest_asks(world: World) -> None:
    """Cold start: the digest asks about a few papers. After rating (the researcher prefers what the profile
    ranks 9th-15th to its top 8), unrated papers resembling the liked ones say so, with their points."""
    assert world.run("run", "--date", DAY, "--no-llm").exit_code == 0
    cold = world.sidecar(DAY)
    assert len(cold["to_rate"]) == 3
    assert "## 🤔 这几篇你怎么看？" in world.markdown(DAY)
    assert f"`paper-digest like {cold['to_rate'][0]}`" in world.markdown(DAY)
    assert not any(r["kind"] == "liked" for p in cold["papers"] for r in p["score_reasons"])
    ranked = [p["id"] for p in cold["papers"]]
    liked, disliked = ranked[8:15], ranked[:8]
    assert world.run("like", *liked).exit_code == 0
    assert world.run("dislike", *disliked).exit_code == 0
    result = world.run("run", "--date", DAY, "--no-llm")
    assert result.exit_code == 0, result.output
    assert "learn: 15 ratings (7 liked), applied" in result.stderr, result.stderr
    papers = world.sidecar(DAY)["papers"]
    reasons = {p["id"]: [r for r in p["score_reasons"] if r["kind"] == "liked"] for p in papers}
    lifted = [pid for pid, found in reasons.items() if found]
    assert lifted and not set(lifted) & set(liked + disliked)  # rated papers are not adjusted
    detail = reasons[lifted[0]][0]["detail"]
    assert any(detail.startswith(f"与你赞过的 {pid} 相近（相似度 ") for pid in liked), detail
    # the sidecar carries the resemblance with its points; the table's 看点 says what the paper is about
    # (a featured paper shows it beside its score: tests/test_render.py)
    anchor = "paper-" + lifted[0].replace(".", "-")
    row = next(line for line in world.markdown(DAY).splitlines() if f'id="{anchor}"' in line)
    assert row.startswith("| ") and "相近" not in row and " 分" not in row
    assert not set(world.sidecar(DAY)["to_rate"]) & set(liked + disliked)


def test_offline_with_a_key_asks_gemini_nothing(world: World) -> None:
    """--offline means no network: cached deep dives are served, the others wait for an online run."""
    assert world.run("run", "--date", DAY).exit_code == 0
    asked = world.gemini.count()
    for name in (f"{DAY}.md", f"{DAY}.json"):
        (world.out / name).unlink()
    result = world.run("run", "--date", DAY, "--offline", "--deep-dives", "5")
    assert result.exit_code == 0, result.output
    assert world.gemini.count() == asked
    md = world.markdown(DAY)
    assert md.count("核心创新点") == 3 and md.count("· ⏳") == 2
    papers = world.sidecar(DAY)["papers"]
    reasons = [p["analysis_reason"] for p in papers if p["analysis_status"] == "pending"]
    assert reasons == ["offline", "offline"]
    assert "离线运行（--offline）不请求 Gemini" in md


def test_a_ranking_change_keeps_the_paid_deep_dives_in_their_seats(world: World) -> None:
    """After new ratings (or an upgrade) reorder the day, a rerun keeps the papers it already analysed
    featured, served from the cache (no request spent replacing them); raising --deep-dives adds the new top
    paper beside them."""
    assert world.run("run", "--date", DAY).exit_code == 0
    papers = world.sidecar(DAY)["papers"]
    first = [p["id"] for p in papers if p["deep_dive"]]
    assert world.run("like", *[p["id"] for p in papers[8:15]]).exit_code == 0
    assert world.run("dislike", *[p["id"] for p in papers[:8]]).exit_code == 0
    again = world.run("run", "--date", DAY)
    assert again.exit_code == 0, again.output
    assert "applied" in again.stderr, again.stderr
    papers = world.sidecar(DAY)["papers"]
    assert [p["id"] for p in papers[:3]] != first  # the ranking did change
    assert [p["id"] for p in papers if p["deep_dive"]] == [p["id"] for p in papers if p["id"] in first]
    assert world.gemini.count() == 3
    more = world.run("run", "--date", DAY, "--deep-dives", "4")
    assert more.exit_code == 0, more.output
    featured = [p["id"] for p in world.sidecar(DAY)["papers"] if p["deep_dive"]]
    assert set(first) < set(featured) and len(featured) == 4
    assert world.gemini.count() == 4
