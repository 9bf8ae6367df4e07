"""Gemini deep dives: prompt, limiter, quota kinds, retries and cache.

The pipeline uses :class:`Analyzer`:
``Analyzer(cfg, api_key=..., cache_dir=..., profile=...).analyse(scored)``; when ``scoring.embeddings`` is on,
:class:`Embedder` before it (its own limiter: the embedding model has its own quota):
``Embedder(cfg, scoring, api_key=..., cache_dir=..., profile=..., fetch_liked=...).embed(scored)``; and, when
``scoring.llm_rerank`` is on, :class:`Reranker` after that:
``Reranker(cfg, scoring, api_key=..., cache_dir=..., profile=..., limiter=analyzer.limiter).rerank(scored)``.
"""

from __future__ import annotations

from .embed import Embedder
from .gemini import Analyzer
from .prompt import PROMPT_VERSION
from .quota import QuotaKind, classify_429
from .rerank import Reranker

__all__ = ["PROMPT_VERSION", "Analyzer", "Embedder", "QuotaKind", "Reranker", "classify_429"]
