from __future__ import annotations

import datetime as dt

from render_samples import DIVE

from paper_digest import assemble
from paper_digest.models import (
    Analysis,
    AnalysisStatus,
    Digest,
    LLMLedger,
    Notice,
    NoticeKind,
    Paper,
    ScoredPaper,
    Source,
    SourceReport,
    SourceStatus,
)
from paper_digest.notices import sentence

DAY = dt.date(2026, 6, 12)


def said(digest: Digest) -> list[str]:
    """The digest's notices as the reader reads them."""
    return [sentence(n) for n in digest.notices]


def scored(pid: str, score: float, version: int | None = 1) -> ScoredPaper:
    paper = Paper(id=pid, version=version, title=f"T {pid}", sources=[Source.ARXIV])
    return ScoredPaper(paper=paper, score=score)


def ok(source: Source, count: int) -> SourceReport:
    return SourceReport(source=source, status=SourceStatus.OK, count=count)


def build(ranked, selected, analyses, reports=None, history=None, llm_notice=None):  # type: ignore[no-untyped-def]
    return assemble.build_digest(
        day=DAY,
        title="T",
        ranked=ranked,
        selected=selected,
        analyses=analyses,
        reports=reports or [ok(Source.ARXIV, len(ranked))],
        ledger=LLMLedger(requests_by_model={"m": len(analyses)}),
        history=history or {},
        min_score=30,
        llm_notice=llm_notice,
    )


def test_selection_respects_count_threshold_and_history() -> None:
    ranked = [scored("1", 90), scored("2", 80), scored("3", 70), scored("4", 20)]
    history = {"2": assemble.FeaturedBefore(1, DAY - dt.timedelta(days=1))}
    chosen = assemble.select_deep_dives(ranked, count=5, min_score=30, history=history)
    assert [s.paper.id for s in chosen] == ["1", "3"]
    assert [s.paper.id for s in assemble.select_deep_dives(ranked, count=1, min_score=30, history={})] == [
        "1"
    ]


def test_finished_deep_dives_keep_their_seats_while_they_reach_the_threshold() -> None:
    ranked = [scored("1", 90), scored("2", 80), scored("3", 70), scored("4", 60), scored("5", 20)]
    pick = lambda count, finished: [  # noqa: E731
        s.paper.id
        for s in assemble.select_deep_dives(ranked, count=count, min_score=30, history={}, finished=finished)
    ]
    assert pick(2, {"4", "3"}) == ["3", "4"]  # both paid: neither is replaced by a higher new paper
    assert pick(3, {"4"}) == ["1", "2", "4"]  # the rest filled in rank order
    assert pick(1, {"4", "3"}) == ["3"]  # more finished than seats: the best of them
    assert pick(2, {"5"}) == ["1", "2"]  # below the threshold now: no seat


def test_digest_records_status_and_update_flag() -> None:
    ranked = [scored("1", 90), scored("2", 80, version=3)]
    history = {"2": assemble.FeaturedBefore(1, DAY - dt.timedelta(days=2))}
    done = Analysis(status=AnalysisStatus.DONE, deep_dive=DIVE, model="m")
    digest = build(ranked, ranked[:1], {"1": done}, history=history)
    first, second = digest.papers
    assert (first.rank, first.deep_dive, first.analysis_status, first.model) == (
        1,
        True,
        AnalysisStatus.DONE,
        "m",
    )
    assert (second.deep_dive, second.analysis_status, second.is_update) == (
        False,
        AnalysisStatus.SKIPPED,
        True,
    )
    assert digest.deep_dives_done == 1 and digest.stats.llm_requests == 1
    assert any("新版本" in n for n in said(digest))


def test_featured_history_only_counts_done_deep_dives_in_window() -> None:
    ranked = [scored("1", 90), scored("2", 80)]
    done = Analysis(status=AnalysisStatus.DONE, deep_dive=DIVE, model="m")
    pending = Analysis(status=AnalysisStatus.PENDING, reason="quota_daily", message="x")
    old = build(ranked, ranked, {"1": done, "2": pending}).model_copy(
        update={"date": DAY - dt.timedelta(days=3)}
    )
    ancient = old.model_copy(update={"date": DAY - dt.timedelta(days=30)})
    assert set(assemble.featured_history([old, ancient], DAY, 7)) == {"1"}
    assert assemble.featured_history([old], DAY, 0) == {}
    assert assemble.featured_history([old], DAY - dt.timedelta(days=3), 7) == {}


def test_three_empty_day_causes_have_three_messages() -> None:
    nothing = build(
        [],
        [],
        {},
        reports=[
            SourceReport(
                source=Source.ARXIV,
                status=SourceStatus.NO_ANNOUNCEMENT,
                notice=Notice(kind=NoticeKind.TEXT, text="arXiv 周末不公告"),
            )
        ],
    )
    failed = build(
        [scored("1", 10)],
        [],
        {},
        reports=[
            SourceReport(
                source=Source.HUGGINGFACE,
                status=SourceStatus.FAILED,
                notice=Notice(kind=NoticeKind.TEXT, text="HuggingFace 今日数据获取失败"),
            ),
            ok(Source.ARXIV, 1),
        ],
    )
    below = build([scored("1", 10)], [], {})
    assert "arXiv 周末不公告" in said(nothing)
    assert any("HuggingFace 今日数据获取失败" in n for n in said(failed))
    assert any("相关度阈值" in n for n in said(below))
    assert not any("相关度阈值" in n for n in said(nothing))
    assert not any("获取失败" in n for n in said(below))


def test_carry_over_keeps_finished_analyses_and_quality_orders_runs() -> None:
    ranked = [scored("1", 90), scored("2", 80)]
    done = Analysis(status=AnalysisStatus.DONE, deep_dive=DIVE, model="m")
    pending = Analysis(status=AnalysisStatus.PENDING, reason="quota_daily", message="今日配额已用尽")
    old = build(ranked, ranked, {"1": done, "2": pending})
    new = build(ranked, ranked, {"1": pending, "2": done})
    merged = assemble.carry_over(new, old)
    assert [p.analysis_status for p in merged.papers] == [AnalysisStatus.DONE, AnalysisStatus.DONE]
    assert merged.deep_dives_done == 2
    assert not any("尚未完成" in n for n in said(merged))
    assert assemble.is_complete(merged) and not assemble.is_complete(old)
    partial = build(
        ranked,
        ranked,
        {"1": done, "2": done},
        reports=[SourceReport(source=Source.HUGGINGFACE, status=SourceStatus.FAILED), ok(Source.ARXIV, 2)],
    )
    assert assemble.quality(partial) < assemble.quality(merged)
    assert not assemble.is_complete(partial)


def test_raising_deep_dives_reopens_a_finished_day() -> None:
    ranked = [scored("1", 90), scored("2", 80), scored("3", 70), scored("4", 10)]
    done = Analysis(status=AnalysisStatus.DONE, deep_dive=DIVE, model="m")
    day = build(ranked, ranked[:2], {"1": done, "2": done})
    assert assemble.is_complete(day) and assemble.is_complete(day, deep_dives=2, min_score=30)
    assert not assemble.is_complete(day, deep_dives=3, min_score=30)  # paper 3 is eligible: run again
    assert assemble.is_complete(day, deep_dives=5, min_score=75)  # nothing more above the threshold
    recent = {"3": assemble.FeaturedBefore(1, day.date)}
    assert assemble.is_complete(day, deep_dives=3, min_score=30, history=recent)  # 3 was featured lately


def test_pending_notice_names_the_quota() -> None:
    ranked = [scored("1", 90), scored("2", 80)]
    quota = Analysis(status=AnalysisStatus.PENDING, reason="quota_daily", message="今日配额已用尽")
    other = Analysis(status=AnalysisStatus.PENDING, reason="not_analysed", message="x")
    assert "今日 Gemini 配额已用尽，2 篇深度解读将在下次运行时补全。" in said(
        build(ranked, ranked, {"1": quota, "2": quota})
    )
    mixed = said(build(ranked, ranked, {"1": quota, "2": other}))
    assert "2 篇深度解读尚未完成，将在下次运行时补全。" in mixed


def test_carry_over_recounts_every_notice_of_the_merged_digest() -> None:
    ranked = [scored("1", 90), scored("2", 80)]
    done = Analysis(status=AnalysisStatus.DONE, deep_dive=DIVE, model="m")
    failed = Analysis(status=AnalysisStatus.FAILED, reason="schema", message="x")
    old = build(ranked, ranked, {"1": done, "2": done})
    new = build(ranked, ranked, {"1": done, "2": failed})
    assert Notice(kind=NoticeKind.DIVES_FAILED, count=1) in new.notices
    merged = assemble.carry_over(new, old)
    # the deep dive that failed now was finished before: nothing failed in the digest written
    assert merged.deep_dives_done == 2 and merged.notices == []
    off = Notice(kind=NoticeKind.LLM_OFF)
    pending = Analysis(status=AnalysisStatus.PENDING, reason="llm_disabled", message="x")
    without = build(ranked, ranked, {"1": pending, "2": pending}, llm_notice=off)
    assert without.notices == [off]
    assert assemble.carry_over(without, old, llm_notice=off).notices == []  # nothing missing any more
