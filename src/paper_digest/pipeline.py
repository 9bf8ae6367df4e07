"""Wiring only: fetch -> score -> analyse -> assemble -> render -> write. Dependencies are passed in.

:func:`build_stages` makes the real stages from a config; tests may pass their own :class:`Stages`.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypedDict

from . import __version__, assemble, store
from .analysis import Analyzer, Embedder, Reranker
from .config import Config, ProfileConfig
from .errors import SourceError
from .models import (
    Analysis,
    AnalysisStatus,
    Digest,
    FetchResult,
    LLMLedger,
    Paper,
    ScoredPaper,
    Source,
    SourceReport,
    SourceStatus,
)
from .render import render_digest, render_feed, render_index, render_sidecar
from .scoring import score_papers
from .scoring.semantic import SemanticModelError, SemanticScorer, load_scorer
from .sources.archive import OfflineClient, RawArchive
from .sources.arxiv import fetch_arxiv, fetch_arxiv_ids
from .sources.http import HttpClient
from .sources.huggingface import fetch_huggingface
from .sources.merge import merge_candidates

logger = logging.getLogger(__name__)

USER_AGENT = (
    f"paper-digest/{__version__} (daily research digest; +https://github.com/paper-digest/paper-digest)"
)

Fetcher = Callable[[dt.date], FetchResult]
Scorer = Callable[[Sequence[Paper]], list[ScoredPaper]]
AnalyseFn = Callable[[Sequence[ScoredPaper]], tuple[dict[str, Analysis], LLMLedger]]
#: a stage that re-scores and re-sorts the ranking (embeddings, re-rank) and says what it cost
RerankFn = Callable[[Sequence[ScoredPaper]], tuple[list[ScoredPaper], LLMLedger]]
Progress = Callable[[str], None]

MSG_NO_KEY = "未检测到 Gemini API 密钥（GEMINI_API_KEY），本期只有排序列表，深度解读将在配置密钥后补全。"
MSG_NO_LLM = "本次运行未启用 LLM（--no-llm），深度解读从略。"


@dataclass
class Stages:
    """The stages a run uses. ``fetchers`` holds the enabled sources only."""

    fetchers: Mapping[Source, Fetcher]
    score: Scorer
    analyse: AnalyseFn
    #: why deep dives are missing for everyone this run (no key, --no-llm), shown once in the digest
    llm_notice: str | None = None
    disabled: Sequence[Source] = field(default_factory=tuple)
    #: the optional LLM re-rank of the top candidates (scoring.llm_rerank), sharing the analyser's limiter
    rerank: RerankFn | None = None
    #: the optional embedding similarity of the top candidates (scoring.embeddings), before the re-rank
    embed: RerankFn | None = None


@dataclass(frozen=True)
class RunResult:
    digest: Digest
    markdown_path: Path
    json_path: Path
    #: False when an earlier, better digest of the day was kept instead
    written: bool
    note: str | None = None


def build_stages(
    config: Config,
    *,
    today: dt.date,
    use_llm: bool,
    offline: bool,
    api_key: str | None,
    raw_folder: Path,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
    now: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
) -> Stages:
    """The real stages for a config: polite HTTP clients (or the offline archive), scorer, analyser."""
    archive = RawArchive(raw_folder)
    hf_cfg, ax_cfg = config.sources.huggingface, config.sources.arxiv

    def client(timeout: float) -> HttpClient | OfflineClient:
        if offline:
            return OfflineClient(archive)
        return HttpClient(
            user_agent=USER_AGENT,
            timeout=timeout,
            clock=clock,
            sleep=sleep,
            archive=archive,
        )

    fetchers: dict[Source, Fetcher] = {}
    disabled: list[Source] = []
    if hf_cfg.enabled:
        hf_client = client(hf_cfg.timeout_seconds)
        fetchers[Source.HUGGINGFACE] = lambda day: fetch_huggingface(hf_client, hf_cfg, day)
    else:
        disabled.append(Source.HUGGINGFACE)
    # one arXiv client for the source and the liked papers of the embedding stage: one host spacing
    ax_client = client(ax_cfg.timeout_seconds)  # fetch_arxiv spaces its host by delay_seconds
    if ax_cfg.enabled:
        fetchers[Source.ARXIV] = lambda day: fetch_arxiv(ax_client, ax_cfg, day, today=today)
    else:
        disabled.append(Source.ARXIV)

    profile = config.profile
    llm_notice: str | None = None
    rerank: RerankFn | None = None
    embed: RerankFn | None = None
    if not (use_llm and config.llm.enabled):
        llm_notice = MSG_NO_LLM

        def analyse(papers: Sequence[ScoredPaper]) -> tuple[dict[str, Analysis], LLMLedger]:
            return {
                s.paper.id: Analysis(status=AnalysisStatus.PENDING, reason="llm_disabled", message=MSG_NO_LLM)
                for s in papers
            }, LLMLedger()

    else:
        if api_key is None:
            llm_notice = MSG_NO_KEY
        shared = _StageArgs(
            api_key=api_key, cache_dir=config.cache.dir, profile=profile, clock=clock, sleep=sleep, now=now
        )
        analyzer = Analyzer(config.llm, **shared)
        analyse = analyzer.analyse
        if config.scoring.embeddings:
            embedder = Embedder(
                config.llm,
                config.scoring,
                fetch_liked=lambda ids: fetch_arxiv_ids(ax_client, ax_cfg, ids),
                **shared,
            )
            embed = embedder.embed
        if config.scoring.llm_rerank:
            reranker = Reranker(config.llm, config.scoring, limiter=analyzer.limiter, **shared)
            rerank = reranker.rerank

    return Stages(
        fetchers=fetchers,
        score=_scorer(config, fetch_liked=lambda ids: fetch_arxiv_ids(ax_client, ax_cfg, ids)),
        analyse=analyse,
        llm_notice=llm_notice,
        disabled=tuple(disabled),
        rerank=rerank,
        embed=embed,
    )


def _scorer(config: Config, *, fetch_liked: Callable[[Sequence[str]], list[Paper]]) -> Scorer:
    """The lexical scorer, then the offline semantic stage (``scoring.semantic``). The model is loaded and the
    liked papers fetched on the first call; a model that cannot be loaded leaves the lexical ranking with a
    warning (the digest is still made)."""
    profile, scoring = config.profile, config.scoring
    state: dict[str, SemanticScorer | None] = {}

    def semantic_stage() -> SemanticScorer | None:
        if "stage" not in state:
            state["stage"] = None
            try:
                liked = fetch_liked(profile.liked) if profile.liked else []
                state["stage"] = load_scorer(profile, liked, scoring.semantic_weight)
            except SemanticModelError as exc:
                logger.warning("semantic stage off: %s", exc)
        return state["stage"]

    def score(papers: Sequence[Paper]) -> list[ScoredPaper]:
        ranked = score_papers(papers, profile)
        stage = semantic_stage() if scoring.semantic and ranked else None
        return stage.adjust(ranked) if stage is not None else ranked

    return score


class _StageArgs(TypedDict):
    """What every Gemini stage is built with (the analyser, the embeddings, the re-rank)."""

    api_key: str | None
    cache_dir: Path
    profile: ProfileConfig
    clock: Callable[[], float]
    sleep: Callable[[float], None]
    now: Callable[[], dt.datetime]


def fetch_all(
    stages: Stages, day: dt.date, progress: Progress
) -> tuple[list[FetchResult], list[SourceReport]]:
    """Run every enabled source; a failing source becomes a FAILED report, the others go on.
    Raises SourceError only when every enabled source failed."""
    results: list[FetchResult] = []
    reports: list[SourceReport] = []
    for source, fetch in stages.fetchers.items():
        name = assemble.SOURCE_NAMES[source]
        progress(f"fetch: {name} ...")
        try:
            result = fetch(day)
        except SourceError as exc:
            logger.info("%s failed: %s", name, exc)  # the progress line below tells the user
            reports.append(
                SourceReport(
                    source=source,
                    status=SourceStatus.FAILED,
                    message=f"{name} 今日数据获取失败（{_short(exc)}），本期不含该来源的论文。",
                    detail=_short(exc),
                )
            )
            progress(f"fetch: {name} failed: {exc}")
            continue
        results.append(result)
        reports.append(result.report)
        progress(f"fetch: {name} {result.report.status.value}, {result.report.count} papers")
    for source in stages.disabled:
        reports.append(SourceReport(source=source, status=SourceStatus.DISABLED))
    if stages.fetchers and not results:
        raise SourceError("every source failed; nothing written (an earlier digest of this day is untouched)")
    return results, reports


def _short(exc: Exception) -> str:
    """The error's one-line message without the source-name prefix; never a response body."""
    text = str(exc).splitlines()[0] if str(exc) else exc.__class__.__name__
    for name in assemble.SOURCE_NAMES.values():
        text = text.removeprefix(f"{name}: ").removeprefix(f"{name} ")
    return text[:160]


def run_day(config: Config, day: dt.date, stages: Stages, *, progress: Progress) -> RunResult:
    """One day's digest, end to end. Holds the output folder's lock while it works."""
    folder = config.digest.output_dir
    store.check_writable(folder)
    with store.output_lock(folder):
        return _run_locked(config, day, stages, progress)


def _run_locked(config: Config, day: dt.date, stages: Stages, progress: Progress) -> RunResult:
    folder = config.digest.output_dir
    md_path, json_path = store.digest_paths(folder, day)
    results, reports = fetch_all(stages, day, progress)
    papers = merge_candidates(results)
    progress(f"merge: {len(papers)} unique candidates")

    earlier = store.list_digests(folder)
    history = assemble.featured_history(earlier, day, config.digest.dedup_days)
    ranked = stages.score(papers)
    ledger = LLMLedger()
    if stages.embed is not None and ranked:
        ranked, spent = stages.embed(ranked)
        progress(f"embed: {spent.requests} requests, {spent.cache_hits} cached")
        ledger = ledger.plus(spent)
    if stages.rerank is not None and ranked:
        ranked, spent = stages.rerank(ranked)
        progress(f"rerank: {spent.requests} requests, {spent.cache_hits} cached")
        ledger = ledger.plus(spent)
    selected = assemble.select_deep_dives(
        ranked, count=config.digest.deep_dives, min_score=config.digest.min_score, history=history
    )
    progress(
        f"score: {sum(1 for s in ranked if s.score >= config.digest.min_score)} above threshold, "
        f"{len(selected)} selected for deep dives"
    )

    analyses: dict[str, Analysis] = {}
    if selected:
        progress(f"analyse: {len(selected)} papers ...")
        analyses, spent = stages.analyse(selected)
        done = sum(1 for a in analyses.values() if a.status is AnalysisStatus.DONE)
        progress(
            f"analyse: {done}/{len(selected)} done, {spent.requests} requests, {spent.cache_hits} cached"
        )
        ledger = ledger.plus(spent)

    digest = assemble.build_digest(
        day=day,
        title=config.digest.title,
        ranked=ranked,
        selected=selected,
        analyses=analyses,
        reports=reports,
        ledger=ledger,
        history=history,
        min_score=config.digest.min_score,
        llm_notice=stages.llm_notice if selected else None,
    )

    previous = store.load_digest(json_path)
    if previous is not None:
        digest = assemble.carry_over(digest, previous)
        if assemble.quality(previous) > assemble.quality(digest):
            note = "kept the earlier digest of this day: it has more sources or finished deep dives"
            progress(note)
            return RunResult(previous, md_path, json_path, written=False, note=note)

    markdown = render_digest(
        digest,
        template=config.digest.template,
        template_dir=config.digest.template_dir,
        max_listed=config.digest.max_listed,
    )
    sidecar = render_sidecar(digest)
    # the sidecar last: a digest whose sidecar exists is complete (the sidecar is what reruns compare with)
    store.atomic_write_text(md_path, markdown)
    store.atomic_write_text(json_path, sidecar)
    write_index(folder)
    progress(f"render: wrote {md_path.name} and {json_path.name}")
    return RunResult(digest, md_path, json_path, written=True)


def write_index(folder: Path, *, feed_url: str | None = None, site_url: str | None = None) -> int:
    """Regenerate ``README.md`` (the index) and ``feed.xml`` of a digests folder. Returns the digest count."""
    digests = store.list_digests(folder)
    store.atomic_write_text(folder / "README.md", render_index(digests))
    store.atomic_write_text(folder / "feed.xml", render_feed(digests, feed_url=feed_url, site_url=site_url))
    return len(digests)


def digest_status(config: Config, day: dt.date) -> Digest | None:
    """The digest already on disk for a day, if any."""
    return store.load_digest(store.digest_paths(config.digest.output_dir, day)[1])


def quota_spent(digest: Digest) -> bool:
    """True when deep dives were left pending because the daily quota ran out."""
    return any(
        p.analysis_status is AnalysisStatus.PENDING and p.analysis_reason == "quota_daily"
        for p in digest.featured
    )
