"""Pure assembly of a day's Digest from the stages' outputs, and the rules that compare two digests.

Nothing here does I/O: the pipeline passes in what it fetched, scored, analysed and what earlier digests say.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass

from .models import (
    Analysis,
    AnalysisStatus,
    Digest,
    DigestPaper,
    LLMLedger,
    Notice,
    NoticeKind,
    Paper,
    RunStats,
    ScoredPaper,
    Source,
    SourceReport,
    SourceStatus,
)
from .notices import MSG_NOT_ANALYSED, SOURCE_NAMES, source_notice


@dataclass(frozen=True)
class FeaturedBefore:
    """A paper featured in an earlier digest: its version and the digest date."""

    version: int | None
    day: dt.date


def featured_history(digests: Sequence[Digest], day: dt.date, days: int) -> dict[str, FeaturedBefore]:
    """Papers that had a finished deep dive in a digest of the ``days`` days before ``day``."""
    if days <= 0:
        return {}
    start = day - dt.timedelta(days=days)
    seen: dict[str, FeaturedBefore] = {}
    for digest in sorted(digests, key=lambda d: d.date):
        if not start <= digest.date < day:
            continue
        for paper in digest.papers:
            if paper.finished:
                seen[paper.id] = FeaturedBefore(paper.version, digest.date)
    return seen


def is_update(paper: Paper, before: FeaturedBefore) -> bool:
    return paper.version is not None and before.version is not None and paper.version > before.version


def finished_dives(digest: Digest | None) -> set[str]:
    """The papers a digest shows with a finished deep dive."""
    if digest is None:
        return set()
    return {p.id for p in digest.papers if p.finished}


def select_deep_dives(
    ranked: Sequence[ScoredPaper],
    *,
    count: int,
    min_score: float,
    history: Mapping[str, FeaturedBefore],
    finished: Collection[str] = (),
) -> list[ScoredPaper]:
    """The top ``count`` papers at or above ``min_score`` that were not featured recently.

    ``finished`` names the papers an earlier run of the same day already analysed: they keep their seats
    (in rank order, while they still reach ``min_score``) before new papers fill the rest, so a rerun after a
    ranking change (an upgrade, new ratings, the re-rank) never drops a paid deep dive to pay for another.
    """
    eligible = [s for s in ranked if s.score >= min_score and s.paper.id not in history]
    seated = [s for s in eligible if s.paper.id in finished][:count]
    fresh = [s for s in eligible if s.paper.id not in finished][: count - len(seated)]
    chosen = {s.paper.id for s in seated + fresh}
    return [s for s in eligible if s.paper.id in chosen]  # in rank order


def paper_links(paper: Paper) -> dict[str, str]:
    links = {"abs": paper.abs_url, "pdf": paper.pdf_url}
    if paper.hf_url:
        links["hf"] = paper.hf_url
    if paper.hf is not None:
        if paper.hf.github_repo:
            links["code"] = paper.hf.github_repo
        if paper.hf.project_page:
            links["project"] = paper.hf.project_page
    return links


def build_digest(
    *,
    day: dt.date,
    title: str,
    ranked: Sequence[ScoredPaper],
    selected: Sequence[ScoredPaper],
    analyses: Mapping[str, Analysis],
    reports: Sequence[SourceReport],
    ledger: LLMLedger,
    history: Mapping[str, FeaturedBefore],
    min_score: float,
    llm_notice: Notice | None = None,
) -> Digest:
    """Assemble the Digest: ranked papers with their analyses, source reports and notices."""
    selected_ids = {s.paper.id for s in selected}
    papers: list[DigestPaper] = []
    for rank, scored in enumerate(ranked, start=1):
        paper = scored.paper
        chosen = paper.id in selected_ids
        analysis = analyses.get(paper.id) if chosen else None
        if chosen and analysis is None:
            analysis = Analysis(
                status=AnalysisStatus.PENDING, reason="not_analysed", message=MSG_NOT_ANALYSED
            )
        before = history.get(paper.id)
        dive = analysis if analysis is not None and analysis.deep_dive is not None else None
        papers.append(
            DigestPaper(
                rank=rank,
                id=paper.id,
                version=paper.version,
                title=paper.title,
                authors=list(paper.authors),
                abstract=paper.abstract,
                score=round(scored.score, 1),
                score_reasons=list(scored.reasons),
                sources=list(paper.sources),
                links=paper_links(paper),
                hf=paper.hf,
                arxiv=paper.arxiv,
                deep_dive=chosen,
                analysis_status=analysis.status if analysis else AnalysisStatus.SKIPPED,
                analysis=analysis.deep_dive if analysis else None,
                analysis_message=analysis.message if analysis else None,
                analysis_reason=analysis.reason if analysis else None,
                analysis_retry_at=analysis.retry_at if analysis else None,
                model=analysis.model if analysis else None,
                is_update=before is not None and is_update(paper, before),
                text_source=dive.text_source if dive else None,
                unverified_numbers=list(dive.unverified_numbers) if dive else [],
            )
        )
    counts = {r.source.value: r.count for r in reports}
    stats = RunStats(
        candidates_by_source=counts,
        candidates=len(papers),
        above_threshold=sum(1 for s in ranked if s.score >= min_score),
        llm=ledger,
    )
    digest = Digest(
        date=day,
        title=title,
        papers=papers,
        sources=list(reports),
        stats=stats,
        min_score=min_score,
    )
    return digest.model_copy(update={"notices": notices_for(digest, llm_notice=llm_notice)})


def notices_for(digest: Digest, *, llm_notice: Notice | None) -> list[Notice]:
    """What is missing and why. Three different empty-day causes (nothing announced, a source failed,
    everything below the threshold) get three different notices."""
    notices: list[Notice] = []
    for report in digest.sources:
        notice = source_notice(report)
        if notice is not None:
            notices.append(notice)
        elif report.skipped_items:
            notices.append(
                Notice(kind=NoticeKind.SKIPPED_ITEMS, source=report.source, count=report.skipped_items)
            )
    if not digest.papers:
        notices.append(Notice(kind=NoticeKind.NO_CANDIDATES))
        return notices
    if digest.stats.above_threshold == 0:
        notices.append(
            Notice(kind=NoticeKind.BELOW_THRESHOLD, count=len(digest.papers), min_score=digest.min_score)
        )
    pending = [p for p in digest.featured if p.analysis_status is AnalysisStatus.PENDING]
    # the reason deep dives are missing (no key, --no-llm) only while some are: a run without a key that
    # found every deep dive in the cache (or in an earlier digest of the day) says nothing about a key
    if pending:
        notices.append(llm_notice or pending_notice(pending))
    failed = [
        p for p in digest.featured if p.analysis_status in (AnalysisStatus.FAILED, AnalysisStatus.BLOCKED)
    ]
    if failed:
        notices.append(Notice(kind=NoticeKind.DIVES_FAILED, count=len(failed)))
    updates = [p for p in digest.papers if p.is_update]
    if updates:
        notices.append(Notice(kind=NoticeKind.UPDATES, count=len(updates)))
    return notices


def pending_notice(pending: Sequence[DigestPaper]) -> Notice:
    """The notice for the deep dives left pending, naming the cause when it is the quota."""
    quota = sum(1 for p in pending if p.analysis_reason in ("quota_daily", "quota_minute"))
    if quota == len(pending):
        resets = sorted(p.analysis_retry_at for p in pending if p.analysis_retry_at is not None)
        return Notice(kind=NoticeKind.QUOTA_SPENT, count=quota, retry_at=resets[0] if resets else None)
    return Notice(kind=NoticeKind.PENDING, count=len(pending))


def quality(digest: Digest) -> tuple[int, int, int]:
    """How good a digest is, for the rerun rule (higher is better): fewer failed sources first, then
    finished deep dives, then papers."""
    failed = sum(1 for r in digest.sources if r.status is SourceStatus.FAILED)
    return -failed, digest.deep_dives_done, len(digest.papers)


def carry_over(new: Digest, old: Digest, *, llm_notice: Notice | None = None) -> Digest:
    """Keep finished deep dives from an earlier digest of the same day where the new run has none.

    A rerun cut short by the quota, or made without a key, must not lose analyses that already exist.
    """
    done_before = {p.id: p for p in old.papers if p.finished}
    if not done_before:
        return new
    papers = []
    changed = False
    for paper in new.papers:
        earlier = done_before.get(paper.id)
        if paper.deep_dive and paper.analysis_status is not AnalysisStatus.DONE and earlier is not None:
            paper = paper.model_copy(
                update={
                    "analysis_status": AnalysisStatus.DONE,
                    "analysis": earlier.analysis,
                    "analysis_message": None,
                    "analysis_reason": None,
                    "analysis_retry_at": None,
                    "model": earlier.model,
                    "text_source": earlier.text_source,
                    "unverified_numbers": list(earlier.unverified_numbers),
                }
            )
            changed = True
        papers.append(paper)
    if not changed:
        return new
    merged = new.model_copy(update={"papers": papers})
    # the notices are the merged digest's: fewer pending (or none: the run's no-key / --no-llm notice goes)
    return merged.model_copy(update={"notices": notices_for(merged, llm_notice=llm_notice)})


def is_complete(
    digest: Digest,
    *,
    deep_dives: int | None = None,
    min_score: float = 0.0,
    history: Mapping[str, FeaturedBefore] | None = None,
) -> bool:
    """A day needs no rerun: every source answered, every selected deep dive is finished or final, and (given
    today's ``deep_dives`` setting) as many papers are featured as the setting asks for and the day has
    eligible papers (at or above ``min_score``, not featured in ``history``): raising ``deep_dives`` reopens
    a finished day."""
    if any(r.status is SourceStatus.FAILED for r in digest.sources):
        return False
    if any(r.notice is not None and r.notice.kind is NoticeKind.PARTIAL for r in digest.sources):
        return False  # a listing cut short: a later run may get all of it
    if any(p.analysis_status is AnalysisStatus.PENDING for p in digest.featured):
        return False
    if deep_dives is None:
        return True
    seen = history or {}
    eligible = sum(1 for p in digest.papers if p.score >= min_score and (p.deep_dive or p.id not in seen))
    return len(digest.featured) >= min(deep_dives, eligible)


def scan_summary(digest: Digest) -> str:
    """One line for the console: what was scanned and picked."""
    parts = [f"{SOURCE_NAMES[Source(k)]} {v}" for k, v in sorted(digest.stats.candidates_by_source.items())]
    done = digest.deep_dives_done
    picked = len(digest.featured)
    return f"{len(digest.papers)} candidates ({', '.join(parts) or 'none'}), {done}/{picked} deep dives"
