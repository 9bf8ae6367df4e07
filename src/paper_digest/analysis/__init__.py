"""Gemini deep dives: prompt, limiter, quota kinds, retries and cache.

The pipeline uses :class:`Analyzer` only:
``Analyzer(cfg, api_key=..., cache_dir=..., profile=...).analyse(scored)``.
"""

from __future__ import annotations

from .gemini import Analyzer
from .prompt import PROMPT_VERSION
from .quota import QuotaKind, classify_429

__all__ = ["PROMPT_VERSION", "Analyzer", "QuotaKind", "classify_429"]
