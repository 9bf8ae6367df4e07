"""The LLM stage: one client for the run, and plain stage functions that ask it.

    client = LLMClient(cfg.llm, api_key=..., state_dir=cache_dir / "analysis", timezone=...)
    analyses, spent = analyse_papers(client, AnalysisCache(cache_dir, profile_fingerprint(profile)), selected,
                                     system=build_system_instruction(profile), texts=...)
    ranked, spent = rerank(client, RerankCache(cache_dir, ...), ranked, scoring=..., system=...)

Modules: :mod:`.client` (the client: models, fallback, limiter, retries, ledger), :mod:`.progress` (how far
a stage is), :mod:`.provider` (what a service must offer, and how a reply is judged) and :mod:`.gemini` (the
Gemini API), :mod:`.outcome` (answer / pending / failed and the kinds of problem), :mod:`.messages` (the
reader's sentences), :mod:`.quota` (429 kinds, the limiter), :mod:`.prompt` and :mod:`.cache`, and the stages
:mod:`.deep_dive` and :mod:`.rerank`.
"""

from __future__ import annotations

from .cache import AnalysisCache
from .client import LLMClient, Purpose, Request
from .deep_dive import analyse_papers, problem_analysis, read_deep_dive
from .gemini import GeminiProvider
from .messages import sentence
from .outcome import Answer, Failed, Kind, Outcome, Pending, Problem
from .progress import Progress, SilentProgress
from .prompt import PROMPT_VERSION, PaperText, build_system_instruction, profile_fingerprint
from .provider import CallError
from .quota import QuotaKind, classify_429
from .rerank import RerankCache, build_rerank_system_instruction, rerank, rerank_profile_fingerprint

__all__ = [
    "PROMPT_VERSION",
    "AnalysisCache",
    "Answer",
    "CallError",
    "Failed",
    "GeminiProvider",
    "Kind",
    "LLMClient",
    "Outcome",
    "PaperText",
    "Pending",
    "Problem",
    "Progress",
    "Purpose",
    "QuotaKind",
    "Request",
    "RerankCache",
    "SilentProgress",
    "analyse_papers",
    "build_rerank_system_instruction",
    "build_system_instruction",
    "classify_429",
    "problem_analysis",
    "profile_fingerprint",
    "read_deep_dive",
    "rerank",
    "rerank_profile_fingerprint",
    "sentence",
]
