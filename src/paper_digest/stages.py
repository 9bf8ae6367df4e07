"""The real stages of a run, built from a config: the polite HTTP clients (or the offline archive) and the
sources, the scorer (lexical, then the offline semantic stage), the learning stage, the day's LLM stages
(deep dives with the full text they read, the re-rank) on the run's one LLM client, the delivery channels.

:func:`build_stages` returns them as a :class:`Stages` for :func:`paper_digest.pipeline.run_day`; tests
may pass their own.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from . import __version__, delivery
from .analysis import (
    AnalysisCache,
    LLMClient,
    PaperText,
    RerankCache,
    analyse_papers,
    build_rerank_system_instruction,
    build_system_instruction,
    profile_fingerprint,
    rerank_profile_fingerprint,
)
from .analysis import Progress as LLMProgress
from .analysis import rerank as rerank_stage
from .clock import SYSTEM_CLOCK
from .config import ArxivConfig, Config, ProfileConfig
from .learning import LearnedDay, Learner
from .models import (
    Analysis,
    AnalysisStatus,
    Delivery,
    Digest,
    FetchResult,
    LLMLedger,
    Notice,
    NoticeKind,
    Paper,
    ScoredPaper,
    Source,
)
from .notices import sentence
from .scoring import score_papers
from .scoring.learn import Embed
from .scoring.semantic import SemanticModelError, SemanticScorer, load_scorer
from .sources.archive import OfflineClient, RawArchive
from .sources.arxiv import fetch_arxiv, fetch_arxiv_ids
from .sources.fulltext import FullTextCache, Origin, fetch_full_text, select_text
from .sources.http import HttpClient
from .sources.huggingface import fetch_huggingface
from .sources.parsed import Getter

logger = logging.getLogger(__name__)

USER_AGENT = (
    f"paper-digest/{__version__} (daily research digest; +https://github.com/paper-digest/paper-digest)"
)

Fetcher = Callable[[dt.date], FetchResult]
Scorer = Callable[[Sequence[Paper]], list[ScoredPaper]]
AnalyseFn = Callable[[Sequence[ScoredPaper]], tuple[dict[str, Analysis], LLMLedger]]
#: a stage that re-scores and re-sorts the ranking (the LLM re-rank) and says what it cost
RerankFn = Callable[[Sequence[ScoredPaper]], tuple[list[ScoredPaper], LLMLedger]]
Progress = Callable[[str], None]
#: the learning stage: the ranking and the earlier digests (where rated papers' text is found) in
LearnFn = Callable[[Sequence[ScoredPaper], Sequence[Digest]], LearnedDay]
#: (what to send, the day's earlier deliveries) -> the attempts made now
DeliverFn = Callable[[delivery.Message, Sequence[Delivery]], list[Delivery]]


@dataclass
class Stages:
    """The stages a run uses. ``fetchers`` holds the enabled sources only."""

    fetchers: Mapping[Source, Fetcher]
    score: Scorer
    analyse: AnalyseFn
    #: why deep dives are missing for everyone this run (no key, --no-llm), shown once in the digest while
    #: some deep dive is missing (those in the cache or an earlier digest of the day are shown)
    llm_notice: Notice | None = None
    disabled: Sequence[Source] = field(default_factory=tuple)
    #: the optional LLM re-rank of the top candidates (scoring.llm_rerank), through the same LLM client
    rerank: RerankFn | None = None
    #: learning from the researcher's ratings (learning.enabled), after the offline scoring
    learn: LearnFn | None = None
    #: sends a written digest by email / webhooks (delivery.*); None when none is configured or offline
    deliver: DeliverFn | None = None
    #: the wall clock (UTC): stamps a digest whose content changed (the feed entry's ``updated``) and the
    #: sidecar's LLM run log
    now: Callable[[], dt.datetime] = SYSTEM_CLOCK.now
    #: what to release when the run is over (the HTTP clients' connection pools)
    closers: Sequence[Callable[[], None]] = field(default_factory=tuple)

    def close(self) -> None:
        for close in self.closers:
            close()


def build_llm_client(
    config: Config,
    *,
    api_key: str | None,
    clock: Callable[[], float] = SYSTEM_CLOCK.monotonic,
    sleep: Callable[[float], None] = SYSTEM_CLOCK.sleep,
    now: Callable[[], dt.datetime] = SYSTEM_CLOCK.now,
    progress: LLMProgress | None = None,
    offline: bool = False,
) -> LLMClient:
    """The run's one LLM client (a backfill shares it across its days: one limiter per model, one ledger).
    ``offline`` (``run --offline``): it asks nothing; answers come from the caches only."""
    return LLMClient(
        config.llm,
        api_key=api_key,
        state_dir=config.cache.dir / "analysis",
        timezone=config.digest.timezone,
        clock=clock,
        sleep=sleep,
        now=now,
        progress=progress,
        offline=offline,
    )


def build_stages(
    config: Config,
    *,
    today: dt.date,
    use_llm: bool,
    offline: bool,
    api_key: str | None,
    raw_folder: Path,
    clock: Callable[[], float] = SYSTEM_CLOCK.monotonic,
    sleep: Callable[[float], None] = SYSTEM_CLOCK.sleep,
    now: Callable[[], dt.datetime] = SYSTEM_CLOCK.now,
    llm: LLMClient | None = None,
    resend: bool = False,
    env: Mapping[str, str] | None = None,
) -> Stages:
    """The real stages for a config: polite HTTP clients (or the offline archive), scorer, analyser.
    ``llm`` is the run's LLM client (built here when None). Delivery (email, webhooks) is set up when the
    config has a channel and the run is online; ``resend`` sends again on channels that already sent the day;
    ``env`` holds the delivery secrets (the process environment when None)."""
    archive = RawArchive(raw_folder)
    hf_cfg, ax_cfg = config.sources.huggingface, config.sources.arxiv
    closers: list[Callable[[], None]] = []

    def client(timeout: float) -> HttpClient | OfflineClient:
        if offline:
            return OfflineClient(archive)
        made = HttpClient(
            user_agent=USER_AGENT, timeout=timeout, clock=clock, sleep=sleep, now=now, archive=archive
        )
        closers.append(made.close)
        return made

    fetchers: dict[Source, Fetcher] = {}
    disabled: list[Source] = []
    if hf_cfg.enabled:
        hf_client = client(hf_cfg.timeout_seconds)
        fetchers[Source.HUGGINGFACE] = lambda day: fetch_huggingface(hf_client, hf_cfg, day)
    else:
        disabled.append(Source.HUGGINGFACE)
    # one arXiv client for the source and the liked papers of the semantic stage: one host spacing
    ax_client = client(ax_cfg.timeout_seconds)  # fetch_arxiv spaces its host by delay_seconds
    if ax_cfg.enabled:
        fetchers[Source.ARXIV] = lambda day: fetch_arxiv(ax_client, ax_cfg, day, today=today)
    else:
        disabled.append(Source.ARXIV)

    profile = config.profile
    llm_notice: Notice | None = None
    rerank: RerankFn | None = None
    if not (use_llm and config.llm.enabled):
        llm_notice = Notice(kind=NoticeKind.LLM_OFF)
        off = sentence(llm_notice)

        def analyse(papers: Sequence[ScoredPaper]) -> tuple[dict[str, Analysis], LLMLedger]:
            return {
                s.paper.id: Analysis(status=AnalysisStatus.PENDING, reason="llm_disabled", message=off)
                for s in papers
            }, LLMLedger()

    else:
        if api_key is None:
            llm_notice = Notice(kind=NoticeKind.NO_API_KEY)
        client_ = llm or build_llm_client(
            config, api_key=api_key, clock=clock, sleep=sleep, now=now, offline=offline
        )
        cache = AnalysisCache(config.cache.dir, profile_fingerprint(profile))
        system = build_system_instruction(profile)
        full_texts = FullTextCache(config.cache.dir)

        def analyse(papers: Sequence[ScoredPaper]) -> tuple[dict[str, Analysis], LLMLedger]:
            idle = client_.unavailable() is not None  # no key, LLM off: fetch nothing for deep dives not made
            texts = read_paper_texts(
                ax_client,
                ax_cfg,
                [s.paper for s in papers],
                cache=full_texts,
                cached_only=idle,
                progress=None if idle else client_.progress,
            )
            return analyse_papers(client_, cache, papers, system=system, texts=texts)

        if config.scoring.llm_rerank and api_key is not None:
            rerank_cache = RerankCache(config.cache.dir, rerank_profile_fingerprint(profile))
            rerank_system = build_rerank_system_instruction(profile)
            scoring = config.scoring

            def rerank(ranked: Sequence[ScoredPaper]) -> tuple[list[ScoredPaper], LLMLedger]:
                return rerank_stage(client_, rerank_cache, ranked, scoring=scoring, system=rerank_system)

    score = _scorer(config, fetch_liked=lambda ids: fetch_arxiv_ids(ax_client, ax_cfg, ids))
    learn: LearnFn | None = None
    if config.learning.enabled:
        learner = Learner(
            config.learning,
            profile,
            cache_dir=config.cache.dir,
            embed=_semantic_embedder(profile),
            fetch=None if offline else (lambda ids: fetch_arxiv_ids(ax_client, ax_cfg, ids)),
            min_score=config.digest.min_score,
            rescore=score,
            with_liked=_liked_scorer(config) if config.scoring.semantic else None,
        )
        learn = learner.apply

    return Stages(
        fetchers=fetchers,
        score=score,
        analyse=analyse,
        llm_notice=llm_notice,
        disabled=tuple(disabled),
        rerank=rerank,
        learn=learn,
        closers=tuple(closers),
        now=now,
        deliver=_deliverer(
            config, resend=resend, env=os.environ if env is None else env, now=now, offline=offline
        ),
    )


def _liked_scorer(config: Config) -> Callable[[Sequence[Paper]], Scorer]:
    """The day's scorer (lexical, then semantic) with these liked papers as the semantic stage's liked
    queries: what the learning stage ranks with once the ratings are trusted."""
    profile, scoring = config.profile, config.scoring

    def build(liked: Sequence[Paper]) -> Scorer:
        stage = load_scorer(profile, liked, scoring.semantic_weight)
        return lambda papers: stage.adjust(score_papers(papers, profile))

    return build


def _semantic_embedder(profile: ProfileConfig) -> Callable[[], Embed]:
    """The offline semantic model's ``embed`` (the one the semantic stage uses), loaded on first use: only
    when there are enough ratings. Raises :class:`SemanticModelError` when the model cannot be loaded."""

    def get() -> Embed:
        return load_scorer(profile).model.embed

    return get


def _deliverer(
    config: Config, *, resend: bool, env: Mapping[str, str], now: Callable[[], dt.datetime], offline: bool
) -> DeliverFn | None:
    if offline or not delivery.has_channels(config.delivery):
        return None
    settings = config.delivery

    def deliver(message: delivery.Message, earlier: Sequence[Delivery]) -> list[Delivery]:
        return delivery.deliver(settings, message, earlier=earlier, resend=resend, env=env, now=now)

    return deliver


def read_paper_texts(
    client: Getter,
    cfg: ArxivConfig,
    papers: Sequence[Paper],
    *,
    cache: FullTextCache,
    cached_only: bool = False,
    progress: LLMProgress | None = None,
) -> dict[str, PaperText]:
    """What each deep dive reads of its paper: the full text's selection within ``cfg.full_text_tokens``, or
    the abstract (``origin`` "abstract") when no full text could be had. One by one, on the arXiv client, so
    the full-text requests keep the API's spacing; cached per paper version, so a rerun fetches nothing.
    ``cached_only``: no request (the model cannot be asked in this run; cached deep dives get their text).
    ``progress`` shows "reading full text: 2/5" (a paper can take seconds: arXiv's spacing, a PDF)."""
    texts: dict[str, PaperText] = {}
    if progress is not None:
        progress.begin("reading full text", len(papers))
    for paper in papers:
        result = fetch_full_text(client, cfg, paper, cache=cache, cached_only=cached_only)
        if progress is not None:
            progress.advance()
        if result.document is None or result.origin is Origin.ABSTRACT:
            logger.info("deep dive %s: from the abstract (%s)", paper.versioned_id, result.reason)
            texts[paper.id] = PaperText()
            continue
        # the prompt carries the abstract already: the budget goes to the body
        chosen = select_text(result.document, cfg.full_text_tokens, include_abstract=False)
        logger.info(
            "deep dive %s: %s, %d tokens, cut %s, left out %s",
            paper.versioned_id,
            result.origin.value,
            chosen.tokens,
            chosen.truncated or "nothing",
            chosen.omitted or "nothing",
        )
        texts[paper.id] = PaperText(origin=result.origin.value, body=chosen.text, links=result.document.links)
    if progress is not None:
        progress.end()
    return texts


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
