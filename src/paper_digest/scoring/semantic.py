"""Offline semantic similarity: a static word-embedding model on the CPU, no key, no network.

The model is WordLlama's ``l2_supercat`` at 256 dimensions, shipped inside the ``wordllama`` wheel
(https://github.com/dleemiller/WordLlama): one vector per token of the Llama-2 tokenizer, a text's vector is
the mean of its token vectors. Only the two files are read (``safetensors`` + ``tokenizers``); the
``wordllama`` package itself is never imported (its ``__init__`` calls ``logging.basicConfig``, and its loader
looks for the tokenizer under ``tokenizer/`` while the wheel ships it under ``tokenizers/``, so it would try
to download it).

How a paper's semantic points are made
--------------------------------------
- The paper is read as its title and the first two sentences of its abstract (:func:`paper_view`): that is
  where an abstract says what the paper is about; the rest (datasets, results) looks alike across papers and
  dilutes the mean. Measured on the labelled days: title + two sentences beat the whole abstract on every
  profile.
- The profile is a set of weighted queries (:func:`profile_queries`): the description's English view
  (Chinese field terms through the scorer's glossary), each positive keyword at its weight, each liked paper.
- Liked papers are grouped into interests (:func:`interests`: papers that read alike on average, by
  agglomerative clustering with a fixed cosine threshold; no randomness), and a paper's liked similarity is
  its similarity to the *closest* interest (the mean vector of its papers), not to the mean of every liked
  paper: a researcher with five topics is not averaged into one. The liked part keeps the weight the liked
  papers have together (:data:`LIKED_WEIGHT` each).
- Similarity to a query is the cosine *above the background*: ``cos(paper, q) - cos(background, q)``, where
  the background is the mean vector of ordinary cs.CV papers (:data:`BACKGROUND_FILE`, fixed, shipped), so
  that "as close as any CV paper" is 0 and a paper's points never depend on the rest of the day.
- The paper's similarity is the weighted mean over the queries (the liked part counted once, at its closest
  interest); :data:`POINTS_PER_UNIT` turns it into points
  (10 points per 0.05 above the background; typical range -20..+30), added to the lexical score; the sum
  is kept in 0..100 by :func:`soft_ceiling` (bent above 80, so that two strong papers do not tie at 100).
  The reason names the query that contributed most (for the liked part: the closest liked paper of the
  closest interest).

Public interface (issue 17 builds on it):

- :class:`StaticModel` -- ``load()`` once, then ``embed(texts)`` -> unit vectors ``(n, dim)``;
- :func:`paper_view` / :func:`profile_queries` -- what is embedded for a paper and for a profile;
- :func:`cosines` -- the cosine matrix of papers against query vectors;
- :class:`SemanticScorer` -- the stage: ``adjust(scored)`` adds the semantic reason and re-sorts.
"""

from __future__ import annotations

import functools
import importlib.util
import json
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import chain
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from ..config import ProfileConfig
from ..errors import PaperDigestError
from ..models import Paper, ScoredPaper, ScoreReason
from .text import split_first_sentence, translate_terms
from .topics import glossary

if TYPE_CHECKING:
    from tokenizers import Tokenizer

Vectors = npt.NDArray[np.float32]

MODEL_PACKAGE = "wordllama"
MODEL_NAME = "wordllama l2_supercat 256-d"
WEIGHTS_FILE = "weights/l2_supercat_256.safetensors"
TOKENIZER_FILE = "tokenizers/l2_supercat_tokenizer_config.json"
TENSOR_KEY = "embedding.weight"
#: texts are cut to this many words (an abstract is 150-300): the opening carries the topic
MAX_WORDS = 250
#: words of the title / of each abstract sentence that are embedded
TITLE_WORDS = 30
SENTENCE_WORDS = 60
#: distinct words kept tokenised per model (a day has ~17k; cleared when full)
WORD_CACHE_MAX = 200_000


#: the background vector of the shipped model (see ``bench/bench_ranking.py --write-background``)
BACKGROUND_FILE = Path(__file__).with_name("semantic_background.json")
#: points per unit of weighted similarity above the background: 10 points per 0.05
POINTS_PER_UNIT = 200.0
#: query weights of the description and of each liked paper (keywords carry their own weight)
DESCRIPTION_WEIGHT = 1.0
LIKED_WEIGHT = 2.0
#: liked papers whose views are at least this close on average (cosine, average linkage) form one interest
INTEREST_SIMILARITY = 0.5
#: above this, lexical + semantic points bend towards 100 instead of being cut (see :func:`soft_ceiling`)
KNEE = 80.0
#: how the reason names the evidence (after the part that says what the paper is close to)
SIMILARITY_WORDS = "word vectors of the title and opening sentences"


class SemanticModelError(PaperDigestError):
    """The offline embedding model could not be loaded (package missing, files unreadable)."""


def _package_dir() -> Path:
    spec = importlib.util.find_spec(MODEL_PACKAGE)  # locates without importing (no side effects)
    if spec is None or not spec.submodule_search_locations:
        raise SemanticModelError(
            f"the semantic stage needs the '{MODEL_PACKAGE}' package (pip install {MODEL_PACKAGE}), "
            "or set scoring.semantic = false"
        )
    return Path(next(iter(spec.submodule_search_locations)))


def load_background(path: Path = BACKGROUND_FILE) -> Vectors | None:
    """The shipped model's background vector, or None when the file is missing or for another model."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("model") != MODEL_NAME:
        return None
    return np.asarray(data.get("vector", []), dtype=np.float32)


class StaticModel:
    """A static embedding model: a token table and its tokenizer.

    Texts are split on white space and each word is tokenised once (``"▁" + word`` through the BPE model,
    which is what the Llama tokenizer does to a word in running text) and kept in a per-model cache; a text's
    vector is the mean of its tokens' rows. A 500-paper day is ~17k distinct words."""

    def __init__(
        self,
        table: npt.NDArray[np.floating[Any]],
        tokenizer: Tokenizer,
        name: str = MODEL_NAME,
        background: Vectors | None = None,
    ) -> None:
        #: one row per token, float16 as shipped (half the memory; rows are widened per paper)
        self.table = table
        self.name = name
        #: the mean vector of ordinary papers (not unit); zeros when unknown (a model the tests build)
        dim = table.shape[1]
        self.background = np.zeros(dim, np.float32) if background is None else background.astype(np.float32)
        self._bpe = tokenizer.model
        self._words: dict[str, list[int]] = {}

    @property
    def dim(self) -> int:
        return int(self.table.shape[1])

    @classmethod
    def load(cls, weights: Path | None = None, tokenizer: Path | None = None) -> StaticModel:
        """The shipped WordLlama model, or any (weights, tokenizer) pair with the same layout (tests build a
        tiny one). Raises :class:`SemanticModelError` with one readable line."""
        from safetensors import safe_open
        from tokenizers import Tokenizer

        background = None
        if weights is None or tokenizer is None:
            root = _package_dir()
            weights = weights or root / WEIGHTS_FILE
            tokenizer = tokenizer or root / TOKENIZER_FILE
            background = load_background()
        try:
            with safe_open(str(weights), framework="np") as handle:
                table = handle.get_tensor(TENSOR_KEY)
            tok = Tokenizer.from_file(str(tokenizer))
        except Exception as exc:  # safetensors/tokenizers raise their own types; one line for the user
            raise SemanticModelError(
                f"cannot load the semantic model ({weights.name}, {tokenizer.name}): {exc.__class__.__name__}"
            ) from None
        if table.dtype not in (np.float16, np.float32):
            table = table.astype(np.float32)
        if table.ndim != 2 or table.shape[0] == 0:
            raise SemanticModelError(f"semantic model {weights.name}: not a token table {table.shape}")
        if background is not None and background.shape != (table.shape[1],):
            background = None
        return cls(np.ascontiguousarray(table), tok, background=background)

    def _word_ids(self, word: str) -> list[int]:
        ids = self._words.get(word)
        if ids is None:
            if len(self._words) >= WORD_CACHE_MAX:
                self._words.clear()
            vocab = self.table.shape[0]
            ids = self._words[word] = [t.id for t in self._bpe.tokenize("▁" + word) if 0 <= t.id < vocab]
        return ids

    def embed(self, texts: Sequence[str]) -> Vectors:
        """Unit vectors ``(len(texts), dim)``: the mean of each text's token rows (its first
        :data:`MAX_WORDS` words), normalised. A text without tokens gets the zero vector."""
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        word_ids = self._word_ids
        for row, text in enumerate(texts):
            ids = np.fromiter(chain.from_iterable(map(word_ids, text.split()[:MAX_WORDS])), dtype=np.int64)
            if not ids.size:
                continue
            unique, counts = np.unique(ids, return_counts=True)
            out[row] = counts.astype(np.float32) @ self.table[unique].astype(np.float32)
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        np.divide(out, norms, out=out, where=norms > 0)
        return out


def cosines(vectors: Vectors, queries: Vectors) -> Vectors:
    """Cosine matrix ``(len(vectors), len(queries))`` of unit vectors (zero rows give 0)."""
    if queries.shape[0] == 0 or vectors.shape[0] == 0:
        return np.zeros((vectors.shape[0], queries.shape[0]), dtype=np.float32)
    return np.asarray(vectors @ queries.T, dtype=np.float32)


_WORD = re.compile(r"[A-Za-z0-9][A-Za-z0-9'-]*")
_NON_LATIN = re.compile(r"[^\x00-\x7f]+")


def english_view(description: str) -> str:
    """The description as an English model can read it: Latin-script text kept, Chinese field terms
    translated (the scorer's glossary and the field taxonomy's Chinese names, longest first), other non-Latin
    text dropped."""
    if description.isascii():
        return description
    found, remaining = translate_terms(description, glossary())
    latin = " ".join(_NON_LATIN.sub(" ", remaining).replace(" , ", " ").split())
    return ", ".join([*found, latin] if latin else found)


def paper_view(paper: Paper) -> str:
    """What is embedded for a paper: the words of its title and of the first two sentences of its abstract
    (markup and punctuation dropped; at most :data:`TITLE_WORDS` and :data:`SENTENCE_WORDS` words each, so
    a pathological field cannot drown the rest)."""
    first, rest = split_first_sentence(" ".join(paper.abstract.split()))
    second = split_first_sentence(rest)[0] if rest else ""
    parts = (
        _WORD.findall(paper.title)[:TITLE_WORDS],
        _WORD.findall(first)[:SENTENCE_WORDS],
        _WORD.findall(second)[:SENTENCE_WORDS],
    )
    return " ".join(word for part in parts for word in part)


@dataclass(frozen=True)
class Query:
    """One thing the profile says it wants, as text for the model, with its weight."""

    kind: str  # description | keyword | liked
    label: str  # how a reader is told about it
    text: str
    weight: float
    #: the liked paper's id (liked queries only)
    paper_id: str = ""


def profile_queries(profile: ProfileConfig, liked: Sequence[Paper] = ()) -> list[Query]:
    """The profile as weighted queries: the description's English view, each positive keyword (its variants
    joined) at its weight, each liked paper."""
    queries: list[Query] = []
    view = english_view(profile.description)
    if view.strip():
        queries.append(Query("description", "the description", view, DESCRIPTION_WEIGHT))
    for key, weight in sorted(profile.keywords.items()):
        variants = [v.strip() for v in key.split("|") if v.strip()]
        if weight > 0 and variants:
            queries.append(Query("keyword", f"'{variants[0]}'", ", ".join(variants), weight))
    seen: set[str] = set()
    for paper in sorted(liked, key=lambda p: p.id):  # the interests do not depend on the ratings' order
        if paper.id not in seen:
            seen.add(paper.id)
            label = f"liked paper {paper.id}"
            queries.append(Query("liked", label, paper_view(paper), LIKED_WEIGHT, paper_id=paper.id))
    return queries


def interests(vectors: Vectors, threshold: float | None = None) -> list[list[int]]:
    """Group unit vectors (the liked papers' views) into interests: agglomerative clustering with average
    linkage on the cosine, merging the two closest groups while their papers' mean pairwise cosine is at
    least ``threshold`` (:data:`INTEREST_SIMILARITY`). Deterministic: ties go to the lowest indexes; each
    group lists its row indexes in order, the groups in the order of their first row. One vector, one
    interest."""
    threshold = INTEREST_SIMILARITY if threshold is None else threshold
    groups = [[i] for i in range(vectors.shape[0])]
    if len(groups) < 2:
        return groups
    # sums of pairwise cosines between groups; a group's linkage with another is the sum over the pairs
    sums = np.asarray(vectors @ vectors.T, dtype=np.float64)
    sizes = np.ones(len(groups))
    alive = np.ones(len(groups), dtype=bool)
    while alive.sum() > 1:
        linkage = sums / np.outer(sizes, sizes)
        linkage[~alive, :] = -np.inf
        linkage[:, ~alive] = -np.inf
        linkage[np.tril_indices(len(groups))] = -np.inf  # each pair once, never a group with itself
        a, b = np.unravel_index(int(linkage.argmax()), linkage.shape)
        if linkage[a, b] < threshold:
            break
        groups[a] = sorted(groups[a] + groups[b])
        sums[a, :] += sums[b, :]
        sums[:, a] += sums[:, b]
        sizes[a] += sizes[b]
        alive[b] = False
    return sorted((groups[i] for i in np.flatnonzero(alive)), key=lambda g: g[0])


class SemanticScorer:
    """The semantic stage for one profile: built once per run, then :meth:`adjust` on the day's ranking."""

    def __init__(
        self, model: StaticModel, profile: ProfileConfig, liked: Sequence[Paper] = (), weight: float = 1.0
    ) -> None:
        self.model = model
        #: multiplies :data:`POINTS_PER_UNIT` (``scoring.semantic_weight``)
        self.weight = weight
        self.queries = profile_queries(profile, liked)
        self.query_vectors = model.embed([q.text for q in self.queries])
        self.weights = np.array([q.weight for q in self.queries], dtype=np.float32)
        #: each query's cosine with the background: what "as close as any CV paper" means for it
        self.baseline = cosines(model.background[None, :], self.query_vectors)[0]
        kinds = np.array([q.kind for q in self.queries], dtype=object)
        liked_at = np.flatnonzero(kinds == "liked")
        #: the queries the profile writes (description, keywords), counted as a weighted mean
        self.profile_at = np.flatnonzero(kinds != "liked")
        #: liked paper id -> its query's index
        self.liked_at = {q.paper_id: i for i, q in enumerate(self.queries) if q.kind == "liked"}
        #: the liked papers grouped into interests (query indexes), each interest its mean vector
        self.interests = [liked_at[group] for group in interests(self.query_vectors[liked_at])]
        self.interest_vectors = _unit_means(self.query_vectors, self.interests, model.dim)
        self.interest_baseline = cosines(model.background[None, :], self.interest_vectors)[0]

    def similarity(self, papers: Sequence[Paper]) -> tuple[Vectors, Vectors]:
        """Per paper: the weighted mean similarity above the background, and each query's share of it
        ``(n, queries)`` (the shares add up to the similarity). The liked part is the similarity to the
        closest interest at the liked papers' weight together; its share sits on the closest liked paper of
        that interest."""
        if not self.queries:
            zeros = np.zeros(len(papers), dtype=np.float32)
            return zeros, np.zeros((len(papers), 0), dtype=np.float32)
        views = self.model.embed([paper_view(p) for p in papers])
        above = cosines(views, self.query_vectors) - self.baseline
        total_weight = self.weights.sum()
        shares = np.zeros_like(above)
        at = self.profile_at
        shares[:, at] = above[:, at] * (self.weights[at] / total_weight)
        if self.interests:
            liked_weight = total_weight - self.weights[at].sum()
            to_interest = cosines(views, self.interest_vectors) - self.interest_baseline
            for row, paper in enumerate(papers):
                groups, closeness = self.interests, to_interest[row]
                if paper.id in self.liked_at:  # a liked paper is not its own interest
                    groups, vectors = self._interests_without(paper.id)
                    closeness = cosines(views[row : row + 1], vectors)[0]
                    closeness -= cosines(self.model.background[None, :], vectors)[0]
                if not groups:
                    continue
                group = int(closeness.argmax())
                members = groups[group]
                paper_at = members[int(above[row, members].argmax())]
                shares[row, paper_at] = closeness[group] * liked_weight / total_weight
        return shares.sum(axis=1), shares

    def _interests_without(self, paper_id: str) -> tuple[list[npt.NDArray[np.int64]], Vectors]:
        """The interests (and their vectors) as a liked paper itself is scored: without it. A liked paper
        does not lift itself, so a score says the same for a rated paper as for a new one (the learning
        stage's trust check compares the two)."""
        at = self.liked_at[paper_id]
        groups = [g[g != at] for g in self.interests]
        groups = [g for g in groups if g.size]
        return groups, _unit_means(self.query_vectors, groups, self.model.dim)

    def adjust(self, ranked: Sequence[ScoredPaper]) -> list[ScoredPaper]:
        """Each paper's score plus its semantic points (capped to 0..100), with a ``semantic`` reason;
        re-sorted best first (ties by id). Papers are independent: the result does not depend on the batch."""
        if not ranked or not self.queries:
            return list(ranked)
        total, shares = self.similarity([s.paper for s in ranked])
        out: list[ScoredPaper] = []
        for scored, value, row in zip(ranked, total.tolist(), shares, strict=True):
            new = soft_ceiling(scored.score + POINTS_PER_UNIT * self.weight * value)
            points = round(new - scored.score, 2)
            if points == 0:
                out.append(scored)
                continue
            reason = ScoreReason.model_construct(
                kind="semantic", detail=self._detail(value, row), points=points
            )
            out.append(
                ScoredPaper.model_construct(
                    paper=scored.paper, score=round(new, 2), reasons=[*scored.reasons, reason]
                )
            )
        out.sort(key=lambda s: (-s.score, s.paper.id))
        return out

    def _detail(self, value: float, row: Vectors) -> str:
        """In words: how close the paper reads to the profile, and to which part most."""
        if value >= 0:
            best = self.queries[int(row.argmax())]
            return f"meaning close to {best.label} ({SIMILARITY_WORDS})"
        return f"meaning further from the profile than an ordinary CV paper ({SIMILARITY_WORDS})"


def _unit_means(vectors: Vectors, groups: Sequence[npt.NDArray[np.int64]], dim: int) -> Vectors:
    """Each group's mean vector, normalised (zero for a group of zero vectors)."""
    out = np.zeros((len(groups), dim), dtype=np.float32)
    for row, members in enumerate(groups):
        out[row] = vectors[members].mean(axis=0)
    norms = np.linalg.norm(out, axis=1, keepdims=True)
    np.divide(out, norms, out=out, where=norms > 0)
    return out


def soft_ceiling(total: float) -> float:
    """Lexical score + semantic points -> 0..100 without ties at the top: unchanged up to :data:`KNEE`, then
    bent smoothly towards 100 (strictly increasing, slope 1 at the knee), below 0 -> 0."""
    if total <= KNEE:
        return max(0.0, total)
    room = 100.0 - KNEE
    return KNEE + room * (1.0 - math.exp(-(total - KNEE) / room))


def load_scorer(profile: ProfileConfig, liked: Sequence[Paper] = (), weight: float = 1.0) -> SemanticScorer:
    """The stage with the shipped model (loaded once per process); raises :class:`SemanticModelError`."""
    return SemanticScorer(_shipped_model(), profile, liked, weight)


@functools.cache
def _shipped_model() -> StaticModel:
    return StaticModel.load()
