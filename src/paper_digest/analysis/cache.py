"""The analysis cache: one JSON file per (paper version, model, prompt version, profile).

The key holds exactly what determines the answer, so a rerun, or a later day that meets the same paper, costs
no request; a new prompt version or a changed profile misses on purpose. Writes are atomic; an unreadable or
mismatching entry is ignored (and overwritten by the next successful analysis), never fatal.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
from pathlib import Path

from pydantic import BaseModel, ValidationError

from ..errors import StoreError
from ..models import DeepDive, Paper
from ..store import atomic_write_text, read_json
from .prompt import PROMPT_VERSION

logger = logging.getLogger(__name__)


class CacheEntry(BaseModel):
    key: str
    paper_id: str
    version: int | None = None
    model: str
    prompt_version: str
    profile: str
    created: dt.datetime
    deep_dive: DeepDive


def cache_key(paper: Paper, model: str, profile_hash: str, prompt_version: str = PROMPT_VERSION) -> str:
    parts = [paper.versioned_id, model, prompt_version, profile_hash]
    return hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()


class AnalysisCache:
    """Cache entries under ``<cache_dir>/analysis/<sha256>.json``."""

    def __init__(self, cache_dir: Path, profile_hash: str) -> None:
        self.folder = cache_dir / "analysis"
        self._profile = profile_hash

    def path(self, paper: Paper, model: str) -> Path:
        return self.folder / f"{cache_key(paper, model, self._profile)}.json"

    def get(self, paper: Paper, model: str) -> DeepDive | None:
        path = self.path(paper, model)
        data = read_json(path)
        if data is None:
            return None
        try:
            entry = CacheEntry.model_validate(data)
        except ValidationError:
            logger.warning("ignoring cache entry %s: does not match the schema", path.name)
            return None
        if entry.key != path.stem:
            logger.warning("ignoring cache entry %s: key mismatch", path.name)
            return None
        return entry.deep_dive

    def put(self, paper: Paper, model: str, deep_dive: DeepDive, *, now: dt.datetime) -> None:
        """Store one answer. A failed write is logged and otherwise ignored: the analysis itself succeeded."""
        path = self.path(paper, model)
        entry = CacheEntry(
            key=path.stem,
            paper_id=paper.id,
            version=paper.version,
            model=model,
            prompt_version=PROMPT_VERSION,
            profile=self._profile,
            created=now,
            deep_dive=deep_dive,
        )
        try:
            text = json.dumps(entry.model_dump(mode="json"), ensure_ascii=False, indent=1)
            atomic_write_text(path, text + "\n")
        except StoreError as exc:
            logger.warning("cannot write the analysis cache: %s", exc)
