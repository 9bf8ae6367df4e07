"""The optional semantic-similarity stage: Gemini embeddings of the top candidates against the profile.

Off unless ``scoring.embeddings`` is set. The offline ranking's top ``scoring.embed_top`` candidates are
embedded (title and the first :data:`ABSTRACT_CHARS` characters of the abstract) and compared with the
profile: its ``description`` and the papers the researcher ``liked``. One ``batchEmbedContents`` request
(``client.models.embed_content`` with a list) embeds up to :data:`BATCH_LIMIT` texts.

Task types. The description is a short statement of interest and the papers are documents, the asymmetric
pair ``RETRIEVAL_QUERY`` / ``RETRIEVAL_DOCUMENT`` is trained for ("which documents answer this query").
A liked paper is a document like any candidate, so it is embedded as ``RETRIEVAL_DOCUMENT`` too: liked and
candidate vectors live in the same space (a symmetric document-to-document cosine), and a liked paper that
shows up among the candidates, or a candidate liked later, shares one cached vector. The price is one extra
request for the description, once per profile change (the SDK sends one task type per call).

Vectors. ``output_dimensionality`` is ``scoring.embedding_dimensions`` (768 by default, one of the sizes
Google recommends); a truncated Matryoshka vector is not unit-length, so every vector is normalised
(non-finite, empty or zero vectors are dropped). Cosine is then a dot product.

Points. Similarity to the profile is the better of the two signals, each mapped through fixed anchors
(:class:`Anchors`): at or below ``far`` a paper loses :data:`MAX_DROP` points, at ``neutral`` it gets 0, at
or above ``close`` it gains :data:`MAX_LIFT`, linear in between. Query-to-document cosines run lower than
document-to-document ones, so the description and the liked papers have their own anchors, and the signal
that gives more points wins: a ``ScoreReason(kind="embedding")`` (the description) or ``kind="liked"`` (naming
the liked paper) whose points are exactly ``final - offline`` (the final score clamped to 0-100), so the
reasons still add up. The list is then re-sorted (score descending, then id). The bounds keep the stage a
nudge: +10 / -5 on a 0-100 scale cannot outweigh a core keyword match, but separates close calls.

Scores are absolute: the anchors are constants and a paper's vector does not depend on the batch it came in,
so the same paper against the same profile gets the same adjustment on any day. **The anchors are not
calibrated**: they are placed where cosines of ``gemini-embedding-001`` are commonly reported to fall
(unrelated texts around 0.5-0.6, a matching query/document pair around 0.7), but this project has had no
network access to measure them on its own corpus, and a Chinese description against English abstracts is a
cross-lingual comparison that typically scores lower still. Calibrate them on real vectors before relying on
the exact point values.

Spending. Every vector is cached: papers per (paper version, model, dimensionality, text recipe), the
description per (its text, model, dimensionality); liked papers that are not among the day's candidates are
fetched once from the arXiv export API (``fetch_liked``) and their title and abstract kept. A rerun costs no
request. Requests go through the shared retry layer (:class:`~.gemini.GeminiRequests`) with their own
:class:`~.quota.RateLimiter` (the embedding model has its own free-tier quota; state under
``<cache_dir>/embed/``), which counts every embedded text as one request (see :data:`FREE_TIER_NOTE`).

Nothing here raises for the model's or the network's trouble: no key, LLM disabled, a spent day, a 4xx or 5xx,
an answer that is not JSON, holds the wrong number of vectors or garbled values all leave the affected papers
at their offline score. Logs carry counts and status codes, never the key, a response body or a paper's text.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from google import genai
from google.genai import types
from pydantic import BaseModel, ValidationError

from ..config import LLMConfig, ProfileConfig, ScoringConfig
from ..errors import PaperDigestError, StoreError
from ..models import LLMLedger, Paper, ScoredPaper, ScoreReason, split_arxiv_id
from ..scoring import top_unique
from ..store import atomic_write_text, read_json
from .cache import PaperCache
from .gemini import (
    GeminiRequests,
    _AuthRejected,
    _RateLimited,
    _Rejected,
    _Stopped,
    _Transient,
    _utcnow,
    http_options,
)
from .prompt import _clean, excerpt
from .quota import DailyQuotaSpent, RateLimiter

logger = logging.getLogger(__name__)

#: Part of every vector cache key. Bump on any change to what text a paper is embedded from.
EMBED_TEXT_VERSION = "embed-2026.1"
#: batchEmbedContents takes at most 100 texts per call ("up to 100 at a time, the API limit",
#: lancedb/lancedb#3618); larger batches are refused with 400
BATCH_LIMIT = 100
#: characters of the abstract embedded after the title: ~250 tokens, so that a full batch of 100 stays near
#: 25k input tokens (gemini-embedding-001 reads at most 2,048 tokens per text anyway)
ABSTRACT_CHARS = 1000
QUERY_TASK = "RETRIEVAL_QUERY"
DOCUMENT_TASK = "RETRIEVAL_DOCUMENT"
#: the most a close match adds, and the most a distant one takes away, on the 0-100 scale
MAX_LIFT = 10.0
MAX_DROP = 5.0
#: Free-tier limits of gemini-embedding-001, as found with the search tool (no official rate-limit table came
#: back; check https://ai.google.dev/gemini-api/docs/rate-limits and AI Studio for your project):
#: - a Google AI forum thread (discuss.ai.google.dev/t/106517) refers to documented free-tier limits of
#:   100 requests a minute and 1,000 a day; its 429 names the metric ``embed_content_free_tier_requests``;
#: - garrytan/gbrain#1922 reports, from a 100-item probe answered with 429, that batchEmbedContents counts
#:   every item of a batch against the per-minute limit.
#: Hence the defaults 100 per 60 s and 1,000 per day, counted per embedded text (a full batch of 100 takes a
#: whole minute's allowance; if the server counts requests instead, this is merely cautious). A limit on
#: tokens per minute exists too; its free-tier figure was not found, and ABSTRACT_CHARS keeps a batch small.
FREE_TIER_NOTE = "100 texts a minute, 1,000 a day, counted per text"


@dataclass(frozen=True)
class Anchors:
    """Fixed cosine anchors: ``far`` or below gives -MAX_DROP, ``neutral`` 0, ``close`` or above +MAX_LIFT."""

    far: float
    neutral: float
    close: float

    def points(self, cosine: float) -> float:
        if cosine <= self.far:
            return -MAX_DROP
        if cosine >= self.close:
            return MAX_LIFT
        if cosine < self.neutral:
            return -MAX_DROP * (self.neutral - cosine) / (self.neutral - self.far)
        return MAX_LIFT * (cosine - self.neutral) / (self.close - self.neutral)


#: description (RETRIEVAL_QUERY) against a paper (RETRIEVAL_DOCUMENT). Not calibrated (see the module doc).
DESCRIPTION_ANCHORS = Anchors(far=0.50, neutral=0.60, close=0.72)
#: a liked paper against a candidate, both RETRIEVAL_DOCUMENT. Not calibrated (see the module doc).
LIKED_ANCHORS = Anchors(far=0.62, neutral=0.72, close=0.85)


class EmbeddingVector(BaseModel):
    """One cached unit vector."""

    values: list[float]


def unit(values: Sequence[float] | None, dimensions: int) -> list[float] | None:
    """``values`` scaled to length 1 (rounded to 6 decimals), or None when it is not a usable vector."""
    if not values or len(values) != dimensions:
        return None
    try:
        floats = [float(x) for x in values]
    except (TypeError, ValueError):
        return None
    if not all(math.isfinite(x) for x in floats):
        return None
    norm = math.sqrt(sum(x * x for x in floats))
    if norm == 0:
        return None
    return [round(x / norm, 6) for x in floats]


def dot(a: Sequence[float], b: Sequence[float]) -> float:
    return sum(x * y for x, y in zip(a, b, strict=True))


def document_text(paper: Paper) -> str:
    """What a paper is embedded from: its title, a blank line, the start of its abstract."""
    title = _clean(paper.title).replace("\n", " ")
    abstract = excerpt(paper.abstract, ABSTRACT_CHARS)
    return f"{title}\n\n{abstract}" if abstract else title


def adjust(
    scored: ScoredPaper,
    vector: Sequence[float],
    *,
    description: Sequence[float] | None,
    liked: Sequence[tuple[str, Sequence[float]]],
    model: str,
) -> ScoredPaper:
    """The paper with the embedding adjustment and its reason (see the module doc); liked papers other than
    the paper itself count."""
    best: tuple[float, float, str, str] | None = None  # points, cosine, kind, detail
    if description is not None:
        cosine = dot(vector, description)
        detail = f"与研究方向描述的语义相似度 {cosine:.2f}（{model}）"
        best = (DESCRIPTION_ANCHORS.points(cosine), cosine, "embedding", detail)
    others = [(paper_id, dot(vector, v)) for paper_id, v in liked if paper_id != scored.paper.id]
    if others:
        paper_id, cosine = max(others, key=lambda item: (item[1], item[0]))
        points = LIKED_ANCHORS.points(cosine)
        if best is None or points > best[0]:
            best = (points, cosine, "liked", f"与喜欢的论文 {paper_id} 的语义相似度 {cosine:.2f}（{model}）")
    if best is None:
        return scored
    final = min(100.0, max(0.0, round(scored.score + best[0], 2)))
    reason = ScoreReason(kind=best[2], detail=best[3], points=round(final - scored.score, 2))
    return scored.model_copy(update={"score": final, "reasons": [*scored.reasons, reason]})


# -- caches ---------------------------------------------------------------------------------------------


class _QueryCache:
    """The description's vector, one file per (text, model, dimensionality, task) under ``<dir>/``."""

    def __init__(self, folder: Path, dimensions: int) -> None:
        self._folder = folder
        self._dimensions = dimensions

    def _path(self, text: str, model: str) -> Path:
        parts = [EMBED_TEXT_VERSION, QUERY_TASK, model, str(self._dimensions), text]
        key = hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()
        return self._folder / f"query-{key}.json"

    def get(self, text: str, model: str) -> list[float] | None:
        data = read_json(self._path(text, model))
        values = data.get("values") if isinstance(data, dict) else None
        return unit(values, self._dimensions) if isinstance(values, list) else None

    def put(self, text: str, model: str, values: list[float], *, now: dt.datetime) -> None:
        payload = {"model": model, "task": QUERY_TASK, "created": now.isoformat(), "values": values}
        try:
            atomic_write_text(self._path(text, model), json.dumps(payload) + "\n")
        except StoreError as exc:
            logger.warning("cannot write the embedding cache: %s", exc)


class _LikedStore:
    """Title and abstract of the liked papers fetched from arXiv, in ``<dir>/liked-papers.json``."""

    def __init__(self, folder: Path) -> None:
        self._path = folder / "liked-papers.json"

    def load(self) -> dict[str, Paper]:
        data = read_json(self._path)
        items = data.get("papers") if isinstance(data, dict) else None
        papers: dict[str, Paper] = {}
        for item in items if isinstance(items, list) else []:
            try:
                paper = Paper.model_validate(item)
            except ValidationError:
                continue
            papers[paper.id] = paper
        return papers

    def add(self, papers: Sequence[Paper]) -> None:
        if not papers:
            return
        known = self.load()
        known.update({p.id: p for p in papers})
        payload = {"papers": [p.model_dump(mode="json") for p in known.values()]}
        try:
            atomic_write_text(self._path, json.dumps(payload, ensure_ascii=False, indent=1) + "\n")
        except StoreError as exc:
            logger.warning("cannot write the liked papers: %s", exc)


class _Halt(Exception):
    """Internal: no further embedding request in this call (day spent, key rejected)."""


# -- the stage ------------------------------------------------------------------------------------------


class Embedder:
    """Blend embedding similarity to the profile into the top candidates' scores (see the module doc).

    ``embed(ranked)`` returns the re-scored, re-sorted list and what it cost. ``fetch_liked(ids)`` gives the
    papers of liked ids that are not among the candidates (best effort; the pipeline passes the arXiv export
    API); without it such ids are skipped."""

    def __init__(
        self,
        cfg: LLMConfig,
        scoring: ScoringConfig,
        *,
        api_key: str | None,
        cache_dir: Path,
        profile: ProfileConfig,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        now: Callable[[], dt.datetime] = _utcnow,
        fetch_liked: Callable[[Sequence[str]], list[Paper]] | None = None,
        batch_size: int = BATCH_LIMIT,
    ) -> None:
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        self._cfg = cfg
        self._scoring = scoring
        self._api_key = api_key
        self._profile = profile
        self._now = now
        self._fetch_liked = fetch_liked
        self._model = scoring.embedding_model
        self._dimensions = scoring.embedding_dimensions
        # a batch never costs more than the window allows (the limiter counts every text)
        self._batch_size = min(batch_size, BATCH_LIMIT, scoring.embedding_requests_per_window)
        folder = cache_dir / "embed"
        self._vectors = PaperCache(
            cache_dir,
            "embed",
            EmbeddingVector,
            prompt_version=f"{EMBED_TEXT_VERSION}/{DOCUMENT_TASK}/{self._dimensions}",
            profile_hash="none",  # a paper's vector does not depend on the profile
        )
        self._queries = _QueryCache(folder, self._dimensions)
        self._liked = _LikedStore(folder)
        limiter = RateLimiter(
            per_window=scoring.embedding_requests_per_window,
            window_seconds=scoring.embedding_window_seconds,
            per_day=scoring.embedding_requests_per_day,
            state_dir=folder,
            clock=clock,
            sleep=sleep,
            now=now,
        )
        self._requests = GeminiRequests(cfg, limiter=limiter, clock=clock, sleep=sleep, now=now)

    @property
    def limiter(self) -> RateLimiter:
        return self._requests.limiter

    def embed(self, ranked: Sequence[ScoredPaper]) -> tuple[list[ScoredPaper], LLMLedger]:
        """The papers re-scored and re-sorted (score descending, then id), and the ledger of this call.

        Never raises for the model's or the network's trouble: affected papers keep their offline score."""
        self._requests.reset()
        if not self._scoring.embeddings or not ranked:
            return list(ranked), LLMLedger()
        top = top_unique(ranked, self._scoring.embed_top)
        online = self._cfg.enabled and self._api_key is not None
        description = _clean(self._profile.description)
        query = self._queries.get(description, self._model) if description else None
        hits = 1 if query is not None else 0
        liked = self._liked_papers({s.paper.id: s.paper for s in ranked}, online=online)
        if not description and not liked:
            logger.info(
                "embeddings: no profile.description and no liked paper to compare with; scores unchanged"
            )
            return list(ranked), LLMLedger()

        vectors: dict[str, list[float]] = {}  # versioned id -> unit vector
        todo: dict[str, Paper] = {}
        for paper in [*liked, *(s.paper for s in top.values())]:
            key = paper.versioned_id
            if key in vectors or key in todo:
                continue
            cached = self._vectors.get(paper, self._model)
            values = unit(cached.values, self._dimensions) if cached is not None else None
            if values is not None:
                vectors[key] = values
                hits += 1
            else:
                todo[key] = paper
        missing = len(todo) + (1 if description and query is None else 0)
        if missing and online:
            fresh_query, fresh = self._embed_online(description if query is None else "", list(todo.values()))
            query = query if query is not None else fresh_query
            vectors.update(fresh)
        elif missing:
            why = "no API key" if self._api_key is None else "LLM disabled"
            logger.info("embeddings: %d texts not embedded (%s); those papers keep their score", missing, why)

        ledger = self._requests.ledger
        ledger.cache_hits += hits
        liked_vectors = [(p.id, vectors[p.versioned_id]) for p in liked if p.versioned_id in vectors]
        if query is None and not liked_vectors:
            logger.info(
                "embeddings: no profile vector (description or liked paper) embedded; scores unchanged"
            )
            return list(ranked), ledger
        result: list[ScoredPaper] = []
        for scored in ranked:
            vector = vectors.get(scored.paper.versioned_id)
            if vector is not None and top.get(scored.paper.id) is scored:
                result.append(
                    adjust(scored, vector, description=query, liked=liked_vectors, model=self._model)
                )
            else:
                result.append(scored)
        result.sort(key=lambda s: (-s.score, s.paper.id))
        return result, ledger

    # -- the profile side -----------------------------------------------------------------------------------

    def _liked_papers(self, candidates: dict[str, Paper], *, online: bool) -> list[Paper]:
        """The liked papers whose title and abstract are known: from the day's candidates, the store, or
        (online only) fetched once. An id that cannot be had is logged and skipped."""
        wanted: list[str] = []
        for raw in self._profile.liked:
            split = split_arxiv_id(raw)
            if split is None:
                logger.warning("profile.liked: %r is not an arXiv id; skipped", raw[:40])
                continue
            if split[0] not in wanted:
                wanted.append(split[0])
        if not wanted:
            return []
        stored = self._liked.load()
        absent = [i for i in wanted if i not in candidates and i not in stored]
        if absent and online and self._fetch_liked is not None:
            try:
                fetched = [p for p in self._fetch_liked(absent) if p.id in absent]
            except PaperDigestError as exc:
                logger.warning(
                    "profile.liked: fetching %d papers failed (%s)", len(absent), type(exc).__name__
                )
                fetched = []
            self._liked.add(fetched)
            stored.update({p.id: p for p in fetched})
        papers = [candidates.get(i) or stored.get(i) for i in wanted]
        found = [p for p in papers if p is not None]
        if len(found) < len(wanted):
            skipped = [i for i in wanted if i not in candidates and i not in stored]
            logger.warning("profile.liked: skipped %s (title and abstract unknown)", ", ".join(skipped[:10]))
        return found

    # -- requests -------------------------------------------------------------------------------------------

    def _embed_online(
        self, description: str, papers: list[Paper]
    ) -> tuple[list[float] | None, dict[str, list[float]]]:
        """The description's vector (when asked for) and the papers' vectors, cached as they come."""
        query: list[float] | None = None
        found: dict[str, list[float]] = {}
        now = self._now()
        options = http_options(self._cfg)  # the SDK's retries off: one retry layer, the shared one
        halted = False
        with genai.Client(api_key=self._api_key, http_options=options) as client:
            if description:
                vectors, halted = self._embed_texts(client, [description], QUERY_TASK)
                query = vectors[0]
                if query is not None:
                    self._queries.put(description, self._model, query, now=now)
            if papers and not halted:
                texts = [document_text(p) for p in papers]
                vectors, halted = self._embed_texts(client, texts, DOCUMENT_TASK)
                for paper, vector in zip(papers, vectors, strict=True):
                    if vector is not None:
                        self._vectors.put(paper, self._model, EmbeddingVector(values=vector), now=now)
                        found[paper.versioned_id] = vector
        missing = len(papers) - len(found)
        if missing:
            logger.info("embeddings: %d of %d papers keep their score (not embedded)", missing, len(papers))
        return query, found

    def _embed_texts(
        self, client: genai.Client, texts: list[str], task: str
    ) -> tuple[list[list[float] | None], bool]:
        """One vector (or None) per text, in batches the window and the day's budget allow, and whether the
        requests stopped early (no further request may be made in this call: day spent, key rejected)."""
        vectors: list[list[float] | None] = []
        while len(vectors) < len(texts):
            left = self.limiter.remaining_today(self._model)
            size = min(self._batch_size, len(texts) - len(vectors), left)
            try:
                if size == 0:
                    logger.warning("%s: daily budget spent; no further embedding requests today", self._model)
                    raise _Halt
                batch = texts[len(vectors) : len(vectors) + size]
                vectors.extend(self._embed_batch(client, batch, task))
            except _Halt:
                return vectors + [None] * (len(texts) - len(vectors)), True
        return vectors, False

    def _embed_batch(self, client: genai.Client, batch: list[str], task: str) -> list[list[float] | None]:
        """One request. A failure leaves the whole batch without vectors; raises _Halt when no further request
        may follow (the day is spent, the key was rejected)."""
        model = self._model
        none: list[list[float] | None] = [None] * len(batch)
        config = types.EmbedContentConfig(task_type=task, output_dimensionality=self._dimensions)
        # typed as the SDK's part list: with Pillow installed (fpdf2 brings it) a list[str] no longer matches
        contents: list[types.ContentUnion] = list(batch)
        unreadable = ""
        response: types.EmbedContentResponse | None
        try:
            response = self._requests.call(
                model,
                lambda: client.models.embed_content(model=model, contents=contents, config=config),
                cost=len(batch),
            )
        except DailyQuotaSpent:
            raise _Halt from None
        except _AuthRejected as exc:
            self._requests.reject_key(exc.status)
            raise _Halt from None
        except _Stopped:
            raise _Halt from None
        except (_Rejected, _RateLimited, _Transient):
            return none
        except ValueError as exc:  # the SDK could not read the answer (not JSON, wrong types)
            # its message quotes the answer: only the type is kept, and logged below, outside the handler
            unreadable = type(exc).__name__
            response = None
        if response is None:
            logger.warning("%s: unreadable embedding answer (%s) for %d texts", model, unreadable, len(batch))
            return none
        if response.usage_metadata is not None and response.usage_metadata.prompt_token_count:
            self._requests.add_tokens(response.usage_metadata.prompt_token_count)
        embeddings = response.embeddings or []
        if len(embeddings) != len(batch):
            logger.warning("%s: %d vectors for %d texts; batch not used", model, len(embeddings), len(batch))
            return none
        vectors = [unit(e.values, self._dimensions) for e in embeddings]
        bad = sum(1 for v in vectors if v is None)
        if bad:
            logger.warning("%s: %d unusable vectors in a batch of %d", model, bad, len(batch))
        return vectors
