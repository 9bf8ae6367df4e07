"""Learning from the researcher's likes and dislikes: a per-user logistic regression that adjusts the score.

Pure and deterministic: papers and ratings in, adjusted scores out; no I/O, no clock, no randomness.

The model (after Scholar Inbox, arXiv 2504.08385: a per-user logistic regression over text embeddings,
negatives = the user's downvotes plus random papers)
-------------------------------------------------------------------------------------------------------------
- Features of a paper: its semantic embedding (the offline static model of :mod:`.semantic`, unit vector),
  its lexical match with each profile concept (:func:`.score.concept_strengths`) and the profile's score.
  Each feature is standardised on the training papers.
- Each rated paper on its own: a paper's cosine with its closest liked paper and with its closest disliked
  one are features too (several interests are not averaged into one).
- Positives: the liked papers. Negatives: the disliked papers. With fewer than :data:`MIN_DISLIKES` of them,
  :data:`UNRATED_NEGATIVES` unrated candidates of the day picked by a hash of their id (a fixed-seed sample:
  the same day gives the same sample) stand in, as Scholar Inbox's random negatives do. With enough dislikes
  the unrated sample is left out (measured in ``bench/bench_learning.py``: the profile already tells a
  relevant paper from a random one; what ratings add is the order near the top). Classes are balanced.
- Fitted by Newton's method (IRLS) on the L2-regularised log loss (:data:`L2`): a unique optimum, found the
  same way every time.
- Cold start: below ``min_ratings`` ratings (or without a like) there is no model and the profile alone ranks.

How a score moves
-----------------
The model's probability ``p`` that the researcher likes a paper becomes ``max_points * (2p - 1)`` points
(+max for a sure like, -max for a sure dislike, 0 when unsure), added to the profile's score and clamped to
0-100. The reason names the rated paper the new one is closest to in the embedding space ("与你赞过的
2606.12575 相近"); its points are exactly what the model changed, so the reasons still add up.

Asking well: :func:`least_sure` picks the unrated papers near the top whose ``p`` is closest to 0.5, the
ratings that teach the model most (uncertainty sampling, as Scholar Inbox's active learning does).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from ..config import ProfileConfig
from ..models import Paper, ScoredPaper, ScoreReason
from .score import concept_strengths, score_papers

Matrix = npt.NDArray[np.float64]
#: texts -> unit vectors (n, dim); the semantic stage's model
Embed = Callable[[Sequence[str]], npt.NDArray[np.float32]]
#: papers -> their scores as the day ranks them (the day's scorer)
Rescore = Callable[[Sequence[Paper]], list[ScoredPaper]]

#: with fewer dislikes than this, unrated candidates of the day stand in as negatives (each weighing as one
#: rating); with enough, the model learns likes against dislikes only (UNRATED_WEIGHT): the profile already
#: tells a relevant paper from a random one, the ratings are for the mistakes it makes near the top
MIN_DISLIKES = 3
UNRATED_NEGATIVES = 100
UNRATED_WEIGHT = 0.0
#: L2 penalty on the standardised weights (in units of the total sample weight)
L2 = 1.0
NEWTON_STEPS = 25
#: the seed of the unrated sample; part of the hash, so a different seed picks a different sample
SEED = "paper-digest-learn-1"
#: cross-validation folds and the trust levels (shares of max_points) tried by :func:`choose_strength`
FOLDS = 5
#: up to this many training papers, leave-one-out instead of FOLDS folds (steadier with few ratings)
LEAVE_ONE_OUT_UP_TO = 60
STRENGTHS = (0.25, 0.5, 1.0)
#: the model is used only when it removes at least this share of the profile's ordering mistakes on the
#: held-out ratings: a profile that already orders them well is left alone
MIN_ERROR_CUT = 1 / 3
#: candidates near the top the "which would you rate" question looks at
ASK_WINDOW = 30


@dataclass(frozen=True)
class Rated:
    paper: Paper
    liked: bool


@dataclass(frozen=True)
class Preference:
    """A fitted per-user model: standardisation and the logistic weights."""

    mean: Matrix
    scale: Matrix
    weights: Matrix
    bias: float

    def probability(self, features: Matrix) -> Matrix:
        z = ((features - self.mean) / self.scale) @ self.weights + self.bias
        return 1.0 / (1.0 + np.exp(-np.clip(z, -30.0, 30.0)))


def unrated_sample(ids: Sequence[str], count: int, seed: str = SEED) -> list[str]:
    """``count`` ids picked by the hash of (seed, id): deterministic, independent of the input order."""
    keyed = sorted(set(ids), key=lambda pid: hashlib.sha256(f"{seed}:{pid}".encode()).hexdigest())
    return keyed[:count]


def fit(
    features: Matrix,
    labels: Matrix,
    sample_weight: Matrix,
    l2: float | None = None,
    population: Matrix | None = None,
) -> Preference:
    """L2-regularised logistic regression by Newton's method on standardised features (standardised on
    ``population``, the papers the model will be applied to, when given: a steadier scale than 20 ratings)."""
    l2 = L2 if l2 is None else l2
    reference = features if population is None else population
    mean = reference.mean(axis=0)
    scale = reference.std(axis=0)
    scale[scale < 1e-9] = 1.0
    x = (features - mean) / scale
    n, d = x.shape
    total = float(sample_weight.sum())
    design = np.hstack([x, np.ones((n, 1))])
    theta = np.zeros(d + 1)
    penalty = np.full(d + 1, l2)
    penalty[-1] = 0.0  # the bias is not shrunk
    for _ in range(NEWTON_STEPS):
        p = 1.0 / (1.0 + np.exp(-np.clip(design @ theta, -30.0, 30.0)))
        gradient = design.T @ (sample_weight * (p - labels)) / total + penalty * theta
        curvature = sample_weight * p * (1.0 - p) / total
        hessian = (design.T * curvature) @ design + np.diag(penalty + 1e-9)
        step = np.linalg.solve(hessian, gradient)
        theta -= step
        if float(np.abs(step).max()) < 1e-8:
            break
    return Preference(mean=mean, scale=scale, weights=theta[:-1], bias=float(theta[-1]))


def paper_text(paper: Paper) -> str:
    """What is embedded for a paper (title, HF keywords, abstract)."""
    keywords = ", ".join(paper.hf.ai_keywords) if paper.hf is not None and paper.hf.ai_keywords else ""
    return ". ".join(part for part in (paper.title, keywords, paper.abstract) if part)


@dataclass(frozen=True)
class Features:
    """Feature rows of a set of papers, and their unit embeddings (for the resemblance reason)."""

    rows: Matrix
    vectors: Matrix


def features(
    papers: Sequence[Paper], scores: Sequence[float], profile: ProfileConfig, embed: Embed
) -> Features:
    _, lexical = concept_strengths(papers, profile)
    vectors = np.asarray(embed([paper_text(p) for p in papers]), dtype=np.float64).reshape(len(papers), -1)
    lex = np.asarray(lexical, dtype=np.float64).reshape(len(papers), -1)
    score = np.asarray(scores, dtype=np.float64).reshape(-1, 1) / 100.0
    return Features(rows=np.hstack([vectors, lex, score]), vectors=vectors)


def neighbours(cosines: Matrix, liked: npt.NDArray[np.bool_]) -> Matrix:
    """Per paper, its cosine with the closest liked paper and with the closest disliked one (each rated
    paper on its own: several interests are not averaged into one); -1 when there is none."""
    out = np.full((cosines.shape[0], 2), -1.0)
    if liked.any():
        out[:, 0] = cosines[:, liked].max(axis=1)
    if (~liked).any():
        out[:, 1] = cosines[:, ~liked].max(axis=1)
    return out


@dataclass(frozen=True)
class Learned:
    """What learning did to a day's ranking."""

    ranked: list[ScoredPaper]
    #: paper id -> the model's probability of a like (empty in cold start)
    probability: dict[str, float]
    #: False in cold start (too few ratings): the ranking is the profile's
    active: bool
    #: the points a sure like adds (a sure dislike takes), chosen by :func:`choose_strength`
    strength: float = 0.0


def cold(ranked: Sequence[ScoredPaper], rated: Sequence[Rated], min_ratings: int) -> bool:
    return len(rated) < min_ratings or not any(r.liked for r in rated)


def learn(
    ranked: Sequence[ScoredPaper],
    rated: Sequence[Rated],
    profile: ProfileConfig,
    embed: Embed,
    *,
    min_ratings: int,
    max_points: float,
    rescore: Rescore | None = None,
    with_liked: Rescore | None = None,
) -> Learned:
    """The day's ranking adjusted by what the ratings teach (see the module doc); what a run does.

    ``rated`` carries the text of every rated paper; those not among the day's candidates are scored by
    ``rescore`` (the day's own scorer; the lexical scorer when not given), so that their score feature means
    what the candidates' does. ``with_liked`` is the day's scorer with the liked papers as extra queries of
    the semantic stage (each liked paper its own query): when given, the day is ranked again with it and the
    model is fitted on that ranking. The ratings move the ranking only as far as they are trusted: when
    cross-validation on them does not show the model beating that ranking, the liked queries are dropped too
    and the model is fitted on the day's own ranking (which may leave it unchanged)."""
    if cold(ranked, rated, min_ratings) or not ranked:
        return Learned(ranked=list(ranked), probability={}, active=False)
    if with_liked is not None:
        again = with_liked([s.paper for s in ranked])
        first = _adjust(again, rated, profile, embed, max_points=max_points, rescore=with_liked)
        if first.strength > 0:
            return first
    return _adjust(ranked, rated, profile, embed, max_points=max_points, rescore=rescore)


def _adjust(
    ranked: Sequence[ScoredPaper],
    rated: Sequence[Rated],
    profile: ProfileConfig,
    embed: Embed,
    *,
    max_points: float,
    rescore: Rescore | None,
) -> Learned:
    """The model fitted on the ratings against ``ranked`` and applied to it (not in cold start)."""
    rated = sorted(rated, key=lambda r: r.paper.id)  # the folds of choose_strength follow this order
    rated_ids = {r.paper.id for r in rated}
    known = {s.paper.id: s.score for s in ranked}
    missing = [r.paper for r in rated if r.paper.id not in known]
    if missing:
        rescored = rescore(missing) if rescore is not None else score_papers(missing, profile)
        known.update({s.paper.id: s.score for s in rescored})
    pool = {s.paper.id: s for s in ranked if s.paper.id not in rated_ids}
    dislikes = sum(1 for r in rated if not r.liked)
    count = UNRATED_NEGATIVES if dislikes < MIN_DISLIKES or UNRATED_WEIGHT > 0 else 0
    negatives = [pool[pid] for pid in unrated_sample(list(pool), count)]
    unrated_weight = UNRATED_WEIGHT if dislikes >= MIN_DISLIKES else 1.0
    train_papers = [r.paper for r in rated] + [s.paper for s in negatives]
    train_scores = [known[r.paper.id] for r in rated] + [s.score for s in negatives]
    labels = np.array([1.0 if r.liked else 0.0 for r in rated] + [0.0] * len(negatives))
    weight = np.array([1.0] * len(rated) + [unrated_weight] * len(negatives))
    positives = float(weight[labels == 1].sum())
    negative_total = float(weight[labels == 0].sum())
    weight = np.where(labels == 1, weight / positives, weight / negative_total)  # balanced classes
    train = features(train_papers, train_scores, profile, embed)
    today = features([s.paper for s in ranked], [s.score for s in ranked], profile, embed)
    liked_mask = np.array([r.liked for r in rated])
    rated_vectors = train.vectors[: len(rated)]
    nearest = today.vectors @ rated_vectors.T
    train_nearest = train.vectors @ rated_vectors.T
    train_nearest[
        np.arange(len(rated)), np.arange(len(rated))
    ] = -1.0  # a rated paper is not its own neighbour
    train_rows = np.hstack([train.rows, neighbours(train_nearest, liked_mask)])
    today_rows = np.hstack([today.rows, neighbours(nearest, liked_mask)])
    model = fit(train_rows, labels, weight, population=today_rows)
    strength = choose_strength(
        train_rows, labels, weight, np.array(train_scores), max_points, population=today_rows
    )
    probability = model.probability(today_rows)
    adjusted: list[ScoredPaper] = []
    for i, scored in enumerate(ranked):
        p = float(probability[i])
        new_score = round(min(100.0, max(0.0, scored.score + strength * (2.0 * p - 1.0))), 2)
        points = round(new_score - scored.score, 2)
        if points == 0 or scored.paper.id in rated_ids:
            adjusted.append(scored)
            continue
        reason = _resemblance(points, nearest[i], rated, p)
        adjusted.append(
            ScoredPaper.model_construct(
                paper=scored.paper, score=new_score, reasons=[*scored.reasons, reason]
            )
        )
    adjusted.sort(key=lambda s: (-s.score, s.paper.id))
    return Learned(
        ranked=adjusted,
        probability={s.paper.id: float(probability[i]) for i, s in enumerate(ranked)},
        active=True,
        strength=strength,
    )


def _pairwise_accuracy(values: Matrix, labels: Matrix, weight: Matrix) -> float:
    """Weighted share of (liked, not liked) pairs that ``values`` order correctly (ties count half): AUC."""
    pos = np.flatnonzero(labels == 1)
    neg = np.flatnonzero(labels == 0)
    if not pos.size or not neg.size:
        return 0.5
    diff = values[pos][:, None] - values[neg][None, :]
    pair_weight = weight[pos][:, None] * weight[neg][None, :]
    correct = (diff > 0) + 0.5 * (diff == 0)
    return float((correct * pair_weight).sum() / pair_weight.sum())


def fold_of(index: int, folds: int) -> int:
    return index % folds


def choose_strength(
    rows: Matrix,
    labels: Matrix,
    weight: Matrix,
    scores: Matrix,
    max_points: float,
    population: Matrix | None = None,
) -> float:
    """How far to trust the model, from the ratings alone: each training paper's probability comes from a
    model fitted without its fold (leave-one-out up to :data:`LEAVE_ONE_OUT_UP_TO` papers, else
    :data:`FOLDS`-fold cross-validation), and the strength among
    :data:`STRENGTHS` (times ``max_points``) whose adjusted scores order the held-out likes above the rest
    best wins (ties: the smaller); it is used only if it removes :data:`MIN_ERROR_CUT` of the mistakes the
    profile alone makes in that order."""
    n = len(labels)
    folds = n if n <= LEAVE_ONE_OUT_UP_TO else FOLDS
    held_out = np.zeros(n)
    for fold in range(folds):
        test = np.array([fold_of(i, folds) == fold for i in range(n)])
        train = ~test
        if not test.any() or len(set(labels[train].tolist())) < 2:
            return 0.0
        w = weight[train]
        y = labels[train]
        w = np.where(y == 1, w / w[y == 1].sum(), w / w[y == 0].sum())
        held_out[test] = fit(rows[train], y, w, population=population).probability(rows[test])
    base = _pairwise_accuracy(scores, labels, weight)
    best, best_value = 0.0, base
    for share in STRENGTHS:
        value = _pairwise_accuracy(scores + share * max_points * (2.0 * held_out - 1.0), labels, weight)
        if value > best_value + 1e-12:
            best, best_value = share * max_points, value
    if (best_value - base) < MIN_ERROR_CUT * (1.0 - base):
        return 0.0
    return best


def _resemblance(points: float, cosines: Matrix, rated: Sequence[Rated], p: float) -> ScoreReason:
    """The reason for a learned adjustment: the closest liked paper for a lift, the closest disliked one
    for a drop (or the closest liked one, far, when nothing disliked is near)."""
    order = sorted(range(len(rated)), key=lambda j: (-float(cosines[j]), rated[j].paper.id))
    want_liked = points > 0
    match = next((j for j in order if rated[j].liked == want_liked), None)
    if match is None:
        match = order[0]
    similar = float(cosines[match])
    paper_id = rated[match].paper.id
    if rated[match].liked:
        verb = "相近" if points > 0 else "相距较远"
        detail = f"与你赞过的 {paper_id} {verb}（相似度 {similar:.2f}，喜欢的把握 {p:.0%}）"
    else:
        detail = f"与你不感兴趣的 {paper_id} 相近（相似度 {similar:.2f}，喜欢的把握 {p:.0%}）"
    kind = "liked" if points > 0 else "learned"
    return ScoreReason.model_construct(kind=kind, detail=detail, points=points)


def least_sure(
    ranked: Sequence[ScoredPaper],
    probability: dict[str, float],
    rated_ids: set[str],
    count: int,
    *,
    window: int = ASK_WINDOW,
    min_score: float = 0.0,
) -> list[str]:
    """Up to ``count`` unrated papers among the top ``window`` whose rating would teach the most: those the
    model is least sure about (``p`` nearest 0.5). In cold start (no probabilities), the papers nearest the
    deep-dive threshold ``min_score``, where the profile is least sure."""
    top = [s for s in ranked[:window] if s.paper.id not in rated_ids]
    if probability:
        top.sort(key=lambda s: (abs(probability.get(s.paper.id, 0.0) - 0.5), s.paper.id))
    else:
        top.sort(key=lambda s: (abs(s.score - min_score), s.paper.id))
    return [s.paper.id for s in top[:count]]
