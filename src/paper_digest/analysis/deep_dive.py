"""The deep-dive stage: one question per selected paper, through the run's :class:`~.client.LLMClient`.

A plain function of (client, cache, papers): cached answers cost nothing; the rest are asked, ``concurrency``
at a time, and every paper gets an :class:`~paper_digest.models.Analysis` whatever happened. What the model
reads about a paper is ``prompt_for(paper)`` (title and abstract by default), so another presentation of the
paper is one argument, not a new stage.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor

from pydantic import ValidationError

from ..models import Analysis, AnalysisStatus, DeepDive, LLMLedger, Paper, ScoredPaper
from .cache import AnalysisCache
from .client import LLMClient, Purpose, Request
from .messages import sentence
from .outcome import Answer, Problem, status_of
from .prompt import RESPONSE_SCHEMA, build_user_prompt

logger = logging.getLogger(__name__)


def read_deep_dive(text: str) -> DeepDive | None:
    """The answer as a DeepDive, or None when it is not one (garbled JSON, missing fields, empty title)."""
    try:
        value = DeepDive.model_validate(json.loads(text))
    except (ValueError, ValidationError):
        return None
    if not value.title_zh.strip() or not value.one_sentence.strip():
        return None
    return value


def problem_analysis(problem: Problem) -> Analysis:
    """The Analysis of a paper that got no deep dive: status, reason code, the reader's sentence."""
    return Analysis(
        status=status_of(problem),
        reason=problem.code,
        message=sentence(problem),
        retry_at=problem.retry_at,
    )


def analyse_papers(
    client: LLMClient,
    cache: AnalysisCache,
    papers: Sequence[ScoredPaper],
    *,
    system: str,
    prompt_for: Callable[[Paper], str] = build_user_prompt,
) -> tuple[dict[str, Analysis], LLMLedger]:
    """One Analysis per paper (keyed by Paper.id, in the order given) and what this call spent.

    ``system`` is the system instruction (:func:`.prompt.build_system_instruction` of the profile); the cache
    is keyed by the paper version, the model, the prompt version and the profile. Never raises for one
    paper's trouble."""
    before = client.ledger()
    results: dict[str, Analysis] = {}
    todo: list[Paper] = []
    hits = 0
    models = client.models(Purpose.DEEP_DIVE)
    for scored in papers:
        paper = scored.paper
        if paper.id in results or any(p.id == paper.id for p in todo):
            continue
        for model in models:
            deep_dive = cache.get(paper, model)
            if deep_dive is not None:
                results[paper.id] = Analysis(
                    status=AnalysisStatus.DONE, deep_dive=deep_dive, model=model, cached=True
                )
                hits += 1
                break
        else:
            todo.append(paper)
    client.count_cache_hits(hits)
    blocked = client.unavailable()
    if todo and blocked is not None:
        for paper in todo:
            results[paper.id] = problem_analysis(blocked)
    elif todo:
        results.update(_ask_all(client, cache, todo, system=system, prompt_for=prompt_for))
    ordered = {sp.paper.id: results[sp.paper.id] for sp in papers}
    return ordered, client.ledger().minus(before)


def _ask_all(
    client: LLMClient,
    cache: AnalysisCache,
    papers: list[Paper],
    *,
    system: str,
    prompt_for: Callable[[Paper], str],
) -> dict[str, Analysis]:
    progress = client.progress
    progress.begin("deep dives", len(papers))

    def one(paper: Paper) -> Analysis:
        request = Request(Purpose.DEEP_DIVE, system, prompt_for(paper), RESPONSE_SCHEMA, read=read_deep_dive)
        outcome = client.ask(request)
        progress.advance()
        if isinstance(outcome, Answer):
            cache.put(paper, outcome.model, outcome.value, now=client.now())
            return Analysis(status=AnalysisStatus.DONE, deep_dive=outcome.value, model=outcome.model)
        return problem_analysis(outcome.problem)

    results: dict[str, Analysis] = {}
    workers = max(1, min(client.cfg.concurrency, len(papers)))
    try:
        if workers == 1:
            for paper in papers:
                results[paper.id] = one(paper)
        else:
            with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="llm") as pool:
                futures = {paper.id: pool.submit(one, paper) for paper in papers}
                for paper_id, future in futures.items():
                    results[paper_id] = future.result()
    finally:
        progress.end()
    return results
