"""The learning stage: the ratings file and the rated papers' text in, the day's ranking adjusted out.

The model itself is pure (:mod:`.scoring.learn`); this module is its edge: it reads ``learning.ratings``,
finds the title and abstract of every rated paper (among the day's candidates, in earlier digests'
sidecars, in its own cache ``<cache.dir>/learning/rated-papers.json``, and, for the rest, from the arXiv
export API by id, once: a fetched paper is cached), and picks the papers worth asking about.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import TypeAdapter, ValidationError

from .config import LearningConfig, ProfileConfig
from .errors import PaperDigestError
from .models import Digest, Paper, ScoredPaper, split_arxiv_id
from .ratings import Rating, load_ratings
from .scoring.learn import Embed, Rated, learn, least_sure
from .store import atomic_write_text, read_json

logger = logging.getLogger(__name__)

#: papers of the ratings that are not among the day's candidates: ids -> papers (best effort, may be partial)
FetchPapers = Callable[[Sequence[str]], list[Paper]]
_PAPERS = TypeAdapter(list[Paper])


@dataclass(frozen=True)
class LearnedDay:
    """What the learning stage did to a day's ranking."""

    ranked: list[ScoredPaper]
    #: unrated papers whose rating would teach the model most, best first
    ask: list[str] = field(default_factory=list)
    ratings: int = 0
    likes: int = 0
    #: False in cold start (too few ratings) or when the model did not beat the profile on the ratings
    active: bool = False


class RatedPaperCache:
    """Title and abstract of rated papers found outside the day's candidates, in one JSON file."""

    def __init__(self, folder: Path) -> None:
        self.path = folder / "rated-papers.json"

    def load(self) -> dict[str, Paper]:
        data = read_json(self.path)
        if data is None:
            return {}
        try:
            return {p.id: p for p in _PAPERS.validate_python(data)}
        except ValidationError:
            logger.warning("%s is not a list of papers; it will be rewritten", self.path)
            return {}

    def save(self, papers: dict[str, Paper]) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            ordered = [papers[pid] for pid in sorted(papers)]
            atomic_write_text(self.path, _PAPERS.dump_json(ordered, indent=1).decode() + "\n")
        except (OSError, PaperDigestError) as exc:
            logger.warning("cannot write %s: %s", self.path, exc.__class__.__name__)


def _from_digests(digests: Sequence[Digest], wanted: set[str]) -> dict[str, Paper]:
    found: dict[str, Paper] = {}
    for digest in digests:
        for item in digest.papers:
            if item.id in wanted and item.id not in found and item.abstract:
                found[item.id] = Paper(
                    id=item.id,
                    version=item.version,
                    title=item.title,
                    abstract=item.abstract,
                    authors=item.authors,
                    sources=item.sources,
                    hf=item.hf,
                    arxiv=item.arxiv,
                )
    return found


def rated_papers(
    ratings: Sequence[Rating],
    candidates: Sequence[Paper],
    digests: Sequence[Digest],
    cache: RatedPaperCache,
    fetch: FetchPapers | None,
) -> list[Rated]:
    """Every rating whose paper's text is known, in the ratings' order. Papers found in no candidate list,
    no sidecar and not in the cache are fetched once (``fetch``) and cached; any still unknown are left out
    (logged)."""
    wanted = {r.id for r in ratings}
    known = {p.id: p for p in candidates if p.id in wanted}
    missing = wanted - set(known)
    if missing:
        known.update(_from_digests(digests, missing))
        missing = wanted - set(known)
    cached: dict[str, Paper] = {}
    if missing:
        cached = cache.load()
        known.update({pid: cached[pid] for pid in missing if pid in cached})
        missing = wanted - set(known)
    if missing and fetch is not None:
        try:
            fetched = {p.id: p for p in fetch(sorted(missing)) if p.id in missing}
        except PaperDigestError as exc:
            logger.warning("rated papers: fetching %d from arXiv failed (%s)", len(missing), exc)
            fetched = {}
        if fetched:
            known.update(fetched)
            cache.save({**cached, **fetched})
            missing -= set(fetched)
    if missing:
        logger.warning("rated papers with unknown text, left out: %s", ", ".join(sorted(missing)[:10]))
    return [Rated(known[r.id], r.liked) for r in ratings if r.id in known]


class Learner:
    """The pipeline's learning stage for one config: ``learner.apply(ranked, digests)``."""

    def __init__(
        self,
        config: LearningConfig,
        profile: ProfileConfig,
        *,
        cache_dir: Path,
        embed: Callable[[], Embed],
        fetch: FetchPapers | None,
        min_score: float,
        rescore: Callable[[Sequence[Paper]], list[ScoredPaper]] | None = None,
        with_liked: Callable[[Sequence[Paper]], Callable[[Sequence[Paper]], list[ScoredPaper]]] | None = None,
    ) -> None:
        self._config = config
        self._profile = profile
        self._cache = RatedPaperCache(cache_dir / "learning")
        self._embed = embed
        self._fetch = fetch
        self._min_score = min_score
        self._rescore = rescore
        self._with_liked = with_liked

    def load(self) -> list[Rating]:
        return load_ratings(self._config.ratings)

    def _profile_liked(self) -> list[str]:
        ids = []
        for raw in self._profile.liked:
            split = split_arxiv_id(raw)
            if split is not None:
                ids.append(split[0])
        return ids

    def apply(self, ranked: Sequence[ScoredPaper], digests: Sequence[Digest]) -> LearnedDay:
        ratings = self.load()
        rated_ids = {r.id for r in ratings}
        likes = sum(1 for r in ratings if r.liked)
        if not ratings or len(ratings) < self._config.min_ratings or not likes:
            ask = least_sure(ranked, {}, rated_ids, self._config.ask, min_score=self._min_score)
            return LearnedDay(ranked=list(ranked), ask=ask, ratings=len(ratings), likes=likes)
        candidates = [s.paper for s in ranked]
        rated = rated_papers(ratings, candidates, digests, self._cache, self._fetch)
        with_liked = None
        if self._with_liked is not None:
            # the semantic stage's liked queries: the profile's own and every liked rating, each on its own
            extra = [Rating(pid, "like") for pid in self._profile_liked() if pid not in rated_ids]
            known = rated_papers(extra, candidates, digests, self._cache, self._fetch)
            with_liked = self._with_liked([p.paper for p in known] + [r.paper for r in rated if r.liked])
        learned = learn(
            ranked,
            rated,
            self._profile,
            self._embed(),
            min_ratings=self._config.min_ratings,
            max_points=self._config.max_points,
            rescore=self._rescore,
            with_liked=with_liked,
        )
        ask = least_sure(
            learned.ranked, learned.probability, rated_ids, self._config.ask, min_score=self._min_score
        )
        return LearnedDay(
            ranked=learned.ranked,
            ask=ask,
            ratings=len(ratings),
            likes=likes,
            active=learned.active and learned.strength > 0,
        )
