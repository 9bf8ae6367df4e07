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
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ValidationError

from ..errors import StoreError
from ..models import DeepDive, Paper
from ..store import atomic_write_text, read_json
from .prompt import PROMPT_VERSION

logger = logging.getLogger(__name__)

T = TypeVar("T", bound=BaseModel)


class CacheEntry(BaseModel):
    """What one cache file holds: the key's parts (for people reading the folder) and the cached value."""

    key: str
    paper_id: str
    version: int | None = None
    model: str
    prompt_version: str
    profile: str
    created: dt.datetime
    value: dict[str, Any]


def cache_key(
    paper: Paper, model: str, profile_hash: str, prompt_version: str = PROMPT_VERSION, variant: str = ""
) -> str:
    """``variant`` tells apart answers to different presentations of one paper version (a deep dive written
    from the abstract alone is "abstract": a later run that has the full text asks again)."""
    parts = [paper.versioned_id, model, prompt_version, profile_hash, *([variant] if variant else [])]
    return hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()


class PaperCache(Generic[T]):
    """One JSON file per (paper version, model, prompt version, profile) under ``<cache_dir>/<kind>/``."""

    def __init__(
        self, cache_dir: Path, kind: str, value_type: type[T], *, prompt_version: str, profile_hash: str
    ) -> None:
        self.folder = cache_dir / kind
        self._kind = kind
        self._type = value_type
        self._prompt_version = prompt_version
        self._profile = profile_hash

    def path(self, paper: Paper, model: str, variant: str = "") -> Path:
        key = cache_key(paper, model, self._profile, prompt_version=self._prompt_version, variant=variant)
        return self.folder / f"{key}.json"

    def get(self, paper: Paper, model: str, variant: str = "") -> T | None:
        path = self.path(paper, model, variant)
        data = read_json(path)
        if data is None:
            return None
        try:
            entry = CacheEntry.model_validate(data)
            value = self._type.model_validate(entry.value)
        except ValidationError:
            logger.warning("ignoring %s cache entry %s: does not match the schema", self._kind, path.name)
            return None
        if entry.key != path.stem:
            logger.warning("ignoring %s cache entry %s: key mismatch", self._kind, path.name)
            return None
        return value

    def put(self, paper: Paper, model: str, value: T, *, now: dt.datetime, variant: str = "") -> None:
        """Store one answer. A failed write is logged and otherwise ignored: the answer itself was good."""
        path = self.path(paper, model, variant)
        entry = CacheEntry(
            key=path.stem,
            paper_id=paper.id,
            version=paper.version,
            model=model,
            prompt_version=self._prompt_version,
            profile=self._profile,
            created=now,
            value=value.model_dump(mode="json"),
        )
        try:
            text = json.dumps(entry.model_dump(mode="json"), ensure_ascii=False, indent=1)
            atomic_write_text(path, text + "\n")
        except StoreError as exc:
            logger.warning("cannot write the %s cache: %s", self._kind, exc)


class AnalysisCache(PaperCache[DeepDive]):
    """Deep dives under ``<cache_dir>/analysis/<sha256>.json``."""

    def __init__(self, cache_dir: Path, profile_hash: str) -> None:
        super().__init__(
            cache_dir, "analysis", DeepDive, prompt_version=PROMPT_VERSION, profile_hash=profile_hash
        )
