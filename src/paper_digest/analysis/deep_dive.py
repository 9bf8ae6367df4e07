"""The deep-dive stage: one question per selected paper, through the run's :class:`~.client.LLMClient`.

A plain function of (client, cache, papers): cached answers cost nothing; the rest are asked, ``concurrency``
at a time, and every paper gets an :class:`~paper_digest.models.Analysis` whatever happened. What the model
reads about a paper is ``prompt_for(paper)``: by default its metadata, abstract and, from ``texts``, the full
text's selection (:class:`.prompt.PaperText`), so another presentation of the paper is one argument, not a
new stage.

Every finished deep dive, fresh or cached, is held to what the model was given (system instruction and
prompt): its markup made plain text, a code link the paper does not contain dropped, and the numbers the
source lacks listed in ``Analysis.unverified_numbers`` (:func:`paper_digest.verify.check_deep_dive`). A deep
dive written from the abstract alone is cached apart from one written from the full text, so a later run that
has the full text asks again once.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor

from pydantic import ValidationError

from ..models import Analysis, AnalysisStatus, DeepDive, LLMLedger, Paper, ScoredPaper
from ..tokens import estimate_tokens
from ..verify import check_deep_dive
from .cache import AnalysisCache
from .client import LLMClient, Purpose, Request
from .messages import sentence
from .outcome import Answer, Problem, status_of
from .prompt import RESPONSE_SCHEMA, PaperText, build_user_prompt

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


def _variant(text: PaperText | None) -> str:
    """The cache variant of a presentation: a deep dive from the abstract alone is kept apart."""
    return "abstract" if text is None or text.origin == "abstract" else ""


def ground(analysis: Analysis, source: str, text: PaperText | None) -> Analysis:
    """A finished deep dive held to its source (see the module doc); anything else as it is."""
    if analysis.status is not AnalysisStatus.DONE or analysis.deep_dive is None:
        return analysis
    dive, missing = check_deep_dive(analysis.deep_dive, source)
    if missing:
        logger.info("deep dive %s: %d numbers not in the source", analysis.model, len(missing))
    origin = text.origin if text is not None else "abstract"
    return analysis.model_copy(
        update={"deep_dive": dive, "unverified_numbers": missing, "text_source": origin}
    )


def analyse_papers(
    client: LLMClient,
    cache: AnalysisCache,
    papers: Sequence[ScoredPaper],
    *,
    system: str,
    texts: Mapping[str, PaperText] | None = None,
    prompt_for: Callable[[Paper], str] | None = None,
) -> tuple[dict[str, Analysis], LLMLedger]:
    """One Analysis per paper (keyed by Paper.id, in the order given) and what this call spent.

    ``system`` is the system instruction (:func:`.prompt.build_system_instruction` of the profile); ``texts``
    what each paper's full text gave (by Paper.id; a paper without one is read from its abstract);
    ``prompt_for`` replaces the whole presentation. The cache is keyed by the paper version, the model, the
    prompt version, the profile and whether the full text was read. Never raises for one paper's trouble."""
    given = texts or {}

    def prompt(paper: Paper) -> str:
        return prompt_for(paper) if prompt_for is not None else build_user_prompt(paper, given.get(paper.id))

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
            deep_dive = cache.get(paper, model, _variant(given.get(paper.id)))
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
        results.update(_ask_all(client, cache, todo, system=system, prompt_for=prompt, texts=given))
    ordered = {
        sp.paper.id: ground(results[sp.paper.id], f"{system}\n{prompt(sp.paper)}", given.get(sp.paper.id))
        for sp in papers
    }
    return ordered, client.ledger().minus(before)


def _ask_all(
    client: LLMClient,
    cache: AnalysisCache,
    papers: list[Paper],
    *,
    system: str,
    prompt_for: Callable[[Paper], str],
    texts: Mapping[str, PaperText],
) -> dict[str, Analysis]:
    progress = client.progress
    progress.begin("deep dives", len(papers))
    system_tokens = estimate_tokens(system)

    def one(paper: Paper) -> Analysis:
        prompt = prompt_for(paper)
        tokens = system_tokens + estimate_tokens(prompt)
        request = Request(
            Purpose.DEEP_DIVE, system, prompt, RESPONSE_SCHEMA, read=read_deep_dive, tokens=tokens
        )
        outcome = client.ask(request)
        progress.advance()
        if isinstance(outcome, Answer):
            variant = _variant(texts.get(paper.id))
            cache.put(paper, outcome.model, outcome.value, now=client.now(), variant=variant)
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
                try:
                    futures = {paper.id: pool.submit(one, paper) for paper in papers}
                    for paper_id, future in futures.items():
                        results[paper_id] = future.result()
                except BaseException:
                    # Ctrl-C (it reaches the main thread, here): the questions not yet asked are not asked,
                    # and a worker waiting for its slot or a backoff wakes and gives up at once, so that
                    # leaving the pool (which joins its workers) waits only for requests already sent
                    client.stop_asking()
                    pool.shutdown(wait=False, cancel_futures=True)
                    raise
    finally:
        progress.end()
    return results
