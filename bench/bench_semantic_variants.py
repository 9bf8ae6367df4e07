"""Variants of the offline semantic stage, measured per profile, in-sample and held out (not what a run does).

Usage::

    python bench/bench_semantic_variants.py               # every variant (a few minutes of CPU)
    python bench/bench_semantic_variants.py --only rocchio  # the variants whose label contains a word
    python bench/bench_semantic_variants.py --days        # per day: lexical, the default, the best variant
    python bench/bench_semantic_variants.py --upper-bound # six signals fused, weights fitted per profile

Each variant turns a day's lexical scores and the shipped static word vectors (WordLlama 256-d, what
:mod:`paper_digest.scoring.semantic` loads) into a ranking; its free parameters have a small grid. Three
figures per profile, NDCG@10 mean/worst day:

- **in**: the setting with the best mean over the three profiles (each profile counts equally) -- the
  optimistic figure;
- **days**: leave days out -- each profile's labelled days split into alternate halves; the setting best on
  one half of every profile is scored on the other half, both ways, so every day is scored once by a setting
  that never saw it;
- **prof**: leave a profile out -- the setting best on the other two profiles, scored on this one.

Variants (see :data:`VARIANTS`): the text embedded for a paper, centring (subtracting a mean vector),
smooth-inverse-frequency token weights, several queries instead of their weighted mean, the description's
share of the query, the profile's negative keywords as vectors, score normalisation before fusion (z-score,
percentile, CombMNZ), a multiplicative gate, and pseudo-relevance feedback (centroid, k-nearest-neighbour
smoothing, Rocchio). The figures are in README.md and bench/labels/README.md.
"""

from __future__ import annotations

import argparse
import importlib.util
import itertools
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from bench_ranking import PROFILES, corpus_days, labelled_days, load_day, load_labels, load_profile

from paper_digest.config import ProfileConfig
from paper_digest.models import Paper
from paper_digest.scoring import score_papers, semantic

Array = npt.NDArray[np.float64]
Params = dict[str, Any]
K = 10


@dataclass
class Day:
    profile: str
    day: str
    papers: list[Paper]
    ids: list[str]
    lex: Array
    gains: Array
    ideal: float
    #: paper-view vectors per view name, computed on first use
    views: dict[str, Array] = field(default_factory=dict)


def ndcg(scores: Array, day: Day) -> float:
    """NDCG@10 (exponential gain, log2 discount) of the ranking by score, ties by id (as bench_ranking)."""
    order = sorted(range(len(scores)), key=lambda i: (-scores[i], day.ids[i]))[:K]
    dcg = sum(float(day.gains[i]) / math.log2(r + 2) for r, i in enumerate(order))
    return dcg / day.ideal if day.ideal else 1.0


# --------------------------------------------------------------------------------------------- the data

MODEL = semantic.StaticModel.load()
BACKGROUND = MODEL.background.astype(np.float64)
soft_ceiling = np.vectorize(semantic.soft_ceiling)


def _unit(x: Array) -> Array:
    norms = np.linalg.norm(x, axis=-1, keepdims=True)
    return np.divide(x, norms, out=np.zeros_like(x), where=norms > 0)


def _embed(texts: Sequence[str]) -> Array:
    return MODEL.embed(texts).astype(np.float64)


def _hf_keywords(paper: Paper) -> str:
    return " ".join(paper.hf.ai_keywords) if paper.hf and paper.hf.ai_keywords else ""


#: the text of a paper that each view embeds (``tf2`` is what the stage embeds)
VIEWS: dict[str, Callable[[Paper], str]] = {
    "tf2": semantic.paper_view,
    "abstract": lambda p: f"{p.title} {p.abstract}",
    "title": lambda p: p.title,
    "tf2+hf": lambda p: f"{semantic.paper_view(p)} {_hf_keywords(p)}",
    "lower": lambda p: semantic.paper_view(p).lower(),
}


def view(day: Day, name: str) -> Array:
    if name not in day.views:
        day.views[name] = _embed([VIEWS[name](p) for p in day.papers])
    return day.views[name]


@dataclass
class ProfileData:
    profile: ProfileConfig
    queries: list[semantic.Query]
    vectors: Array
    #: query weights, summing to 1
    weights: Array
    #: the weighted mean query direction (unit)
    mean_query: Array


def load_data() -> tuple[dict[str, ProfileData], list[Day]]:
    profiles: dict[str, ProfileData] = {}
    days: list[Day] = []
    loaded: dict[str, list[Paper]] = {}
    for name, (toml, folder) in PROFILES.items():
        profile = load_profile(toml)
        queries = semantic.profile_queries(profile)
        vectors = _embed([q.text for q in queries])
        weights = np.array([q.weight for q in queries], dtype=np.float64)
        weights /= weights.sum()
        profiles[name] = ProfileData(profile, queries, vectors, weights, _unit(weights @ vectors))
        for date in labelled_days(folder):
            papers = loaded.setdefault(date, load_day(date))
            by_id = {s.paper.id: s.score for s in score_papers(papers, profile)}
            grades = load_labels(date, folder)
            ids = [p.id for p in papers]
            ideal = sorted(grades.values(), reverse=True)[:K]
            days.append(
                Day(
                    profile=name,
                    day=date,
                    papers=papers,
                    ids=ids,
                    lex=np.array([by_id[i] for i in ids]),
                    gains=np.array([2 ** grades.get(i, 0) - 1 for i in ids], dtype=np.float64),
                    ideal=sum((2**g - 1) / math.log2(r + 2) for r, g in enumerate(ideal)),
                )
            )
    return profiles, days


PROFILE_DATA, DAYS = load_data()


def query_cosines(day: Day, vectors: Array, name: str = "tf2", background: Array = BACKGROUND) -> Array:
    """Cosine of each paper with each query, above the background's cosine with it ``(papers, queries)``."""
    return view(day, name) @ vectors.T - background @ vectors.T


def stage_similarity(day: Day, name: str = "tf2") -> Array:
    """What the shipped stage computes: the weighted mean of the cosines above the background."""
    data = PROFILE_DATA[day.profile]
    return query_cosines(day, data.vectors, name) @ data.weights


# ------------------------------------------------------------------------------------------- variants


def shipped(day: Day, p: Params) -> Array:
    return soft_ceiling(day.lex + p["w"] * stage_similarity(day, p.get("view", "tf2")))


def lower_case(day: Day, p: Params) -> Array:
    """Papers, queries and the background all lower-cased (``Image`` and ``image`` are different tokens)."""
    data = PROFILE_DATA[day.profile]
    queries = _embed([q.text.lower() for q in data.queries])
    if "lower" not in _CORPUS_MEANS:
        _corpus_mean("lower")
    cos = query_cosines(day, queries, "lower", _CORPUS_MEANS["lower"])
    return soft_ceiling(day.lex + p["w"] * (cos @ data.weights))


_LEXICAL: dict[tuple[str, float, str, str], Array] = {}
#: the lexical scorer's constants swept one at a time under the default fusion (committed value in each)
LEXICAL_GRID: dict[str, tuple[float, ...]] = {
    "DISCOUNT": (0.3, 0.5, 0.7),
    "TAU": (2.0, 3.0, 4.5),
    "TITLE_WEIGHT": (3.0, 5.0, 8.0),
    "profile.DESCRIPTION_WEIGHT": (0.5, 1.0, 2.0),
}


def lexical_constant(day: Day, p: Params) -> Array:
    """The default fusion over a lexical score made with one of the scorer's constants changed."""
    from paper_digest.scoring import profile as profile_module
    from paper_digest.scoring import score as score_module

    name, value = p["constant"], p["value"]
    key = (name, value, day.profile, day.day)
    if key not in _LEXICAL:
        module, attribute = (
            (profile_module, name.split(".")[1]) if name.startswith("profile.") else (score_module, name)
        )
        saved = getattr(module, attribute)
        try:
            setattr(module, attribute, value)
            ranked = score_papers(day.papers, PROFILE_DATA[day.profile].profile)
        finally:
            setattr(module, attribute, saved)
        by_id = {s.paper.id: s.score for s in ranked}
        _LEXICAL[key] = np.array([by_id[i] for i in day.ids])
    return soft_ceiling(_LEXICAL[key] + 200.0 * stage_similarity(day))


def _corpus_mean(name: str) -> Array:
    cached = _CORPUS_MEANS.get(name)
    if cached is None:
        papers = [paper for date in corpus_days() for paper in load_day(date)]
        cached = _CORPUS_MEANS[name] = _embed([VIEWS[name](p) for p in papers]).mean(axis=0)
    return cached


_CORPUS_MEANS: dict[str, Array] = {}


def centred(day: Day, p: Params) -> Array:
    """Subtract a mean vector (``corpus``: every candidate of every corpus day; ``day``: the day's
    candidates) from papers and queries before the cosine."""
    data = PROFILE_DATA[day.profile]
    papers = view(day, "tf2")
    mean = _corpus_mean("tf2") if p["mean"] == "corpus" else papers.mean(axis=0)
    cos = _unit(papers - mean) @ _unit(data.vectors - mean).T
    return soft_ceiling(day.lex + p["w"] * (cos @ data.weights))


_SIF: dict[float, Array] = {}


def _token_ids() -> Callable[[str], list[int]]:
    from tokenizers import Tokenizer

    spec = importlib.util.find_spec(semantic.MODEL_PACKAGE)
    assert spec is not None and spec.submodule_search_locations
    root = Path(next(iter(spec.submodule_search_locations)))
    bpe = Tokenizer.from_file(str(root / semantic.TOKENIZER_FILE)).model
    words: dict[str, list[int]] = {}

    def ids(text: str) -> list[int]:
        out: list[int] = []
        for word in text.split()[: semantic.MAX_WORDS]:
            if word not in words:
                words[word] = [t.id for t in bpe.tokenize("▁" + word)]
            out.extend(words[word])
        return out

    return ids


_IDS = _token_ids()


def _sif_embed(texts: Sequence[str], weights: Array) -> Array:
    table = MODEL.table
    out = np.zeros((len(texts), table.shape[1]))
    for row, text in enumerate(texts):
        ids = np.array(_IDS(text), dtype=np.int64)
        if ids.size:
            out[row] = weights[ids] @ table[ids].astype(np.float64)
    return _unit(out)


def sif(day: Day, p: Params) -> Array:
    """Smooth inverse frequency (Arora et al. 2017): a token's vector weighs ``a / (a + p(token))``, with p
    its frequency in the paper views of every corpus candidate (no label read)."""
    a = p["a"]
    if a not in _SIF:
        counts = np.zeros(MODEL.table.shape[0])
        for date in corpus_days():
            for paper in load_day(date):
                np.add.at(counts, np.array(_IDS(semantic.paper_view(paper)), dtype=np.int64), 1.0)
        _SIF[a] = a / (a + counts / counts.sum())
    key = f"sif{a}"
    if key not in day.views:
        day.views[key] = _sif_embed([semantic.paper_view(x) for x in day.papers], _SIF[a])
    data = PROFILE_DATA[day.profile]
    queries = _sif_embed([q.text for q in data.queries], _SIF[a])
    if key not in _CORPUS_MEANS:
        papers = [x for date in corpus_days() for x in load_day(date)]
        _CORPUS_MEANS[key] = _sif_embed([semantic.paper_view(x) for x in papers], _SIF[a]).mean(axis=0)
    background = _CORPUS_MEANS[key]
    cos = day.views[key] @ queries.T - background @ queries.T
    return soft_ceiling(day.lex + p["w"] * (cos @ data.weights))


def multi_query(day: Day, p: Params) -> Array:
    """Each query on its own: the closest (max), the mean of the two closest, or a soft maximum
    ``t * log(sum w_i exp(cos_i / t))`` (t = 0.05) instead of the weighted mean."""
    data = PROFILE_DATA[day.profile]
    cos = query_cosines(day, data.vectors)
    if p["agg"] == "max":
        sim = cos.max(axis=1)
    elif p["agg"] == "top2":
        sim = np.sort(cos, axis=1)[:, -2:].mean(axis=1)
    else:
        t = 0.05
        sim = t * np.log((np.exp(cos / t) * data.weights).sum(axis=1))
    return soft_ceiling(day.lex + p["w"] * sim)


def description_share(day: Day, p: Params) -> Array:
    """The description's share of the query weights (shipped: weight 1 against the keywords' sum)."""
    data = PROFILE_DATA[day.profile]
    kinds = np.array([q.kind == "description" for q in data.queries])
    weights = np.array([q.weight for q in data.queries], dtype=np.float64)
    if kinds.any():
        weights[kinds] = p["share"] / (1 - p["share"]) * weights[~kinds].sum()
    sim = query_cosines(day, data.vectors) @ (weights / weights.sum())
    return soft_ceiling(day.lex + p["w"] * sim)


_NEGATIVE: dict[str, Array] = {}


def negative_keywords(day: Day, p: Params) -> Array:
    """Minus ``v`` points per unit of similarity to the profile's negative keywords (mean of them, above the
    background, only when positive). Only the example profile has negative keywords."""
    data = PROFILE_DATA[day.profile]
    base = day.lex + 200.0 * stage_similarity(day)
    negatives = [k for k, w in data.profile.keywords.items() if w < 0]
    if not negatives:
        return soft_ceiling(base)
    if day.profile not in _NEGATIVE:
        _NEGATIVE[day.profile] = _embed([", ".join(v.strip() for v in k.split("|")) for k in negatives])
    sim = query_cosines(day, _NEGATIVE[day.profile]).mean(axis=1)
    return soft_ceiling(base - p["v"] * np.maximum(sim, 0.0))


def _z(x: Array) -> Array:
    return (x - x.mean()) / (x.std() + 1e-9)


def _percentile(x: Array) -> Array:
    return np.argsort(np.argsort(x)) / max(len(x) - 1, 1)


def normalised(day: Day, p: Params) -> Array:
    """Lexical and semantic scores normalised per day (z-score or rank percentile), then a convex blend
    (``a`` for the lexical side)."""
    sim = stage_similarity(day)
    norm = _z if p["norm"] == "z" else _percentile
    return p["a"] * norm(day.lex) + (1 - p["a"]) * norm(sim)


def comb_mnz(day: Day, p: Params) -> Array:
    """CombMNZ (Fox & Shaw 1994): the sum of the min-max normalised scores times the number of rankers that
    retrieved the paper (lexical: score > 0; semantic: normalised similarity above ``t``)."""
    sim = stage_similarity(day)
    sem = (sim - sim.min()) / (sim.max() - sim.min())
    sem = np.where(sem > p["t"], sem, 0.0)
    lex = day.lex / 100.0
    return (p["a"] * lex + (1 - p["a"]) * sem) * ((lex > 0).astype(float) + (sem > 0))


def gated(day: Day, p: Params) -> Array:
    """A multiplicative gate: ``lexical * (1 + m * similarity) + w * similarity``."""
    sim = stage_similarity(day)
    return soft_ceiling(day.lex * np.clip(1 + p["m"] * sim, 0, None) + p["w"] * sim)


def _first_pass_order(day: Day) -> npt.NDArray[np.intp]:
    first = soft_ceiling(day.lex + 200.0 * stage_similarity(day))
    return np.array(sorted(range(len(first)), key=lambda i: (-first[i], day.ids[i])))


def prf_centroid(day: Day, p: Params) -> Array:
    """Pseudo-relevance feedback: ``b`` points per unit of cosine with the centroid of the default ranking's
    top ``k`` (above the background), on top of the default."""
    papers = view(day, "tf2")
    centroid = _unit(papers[_first_pass_order(day)[: p["k"]]].mean(axis=0))
    sim = papers @ centroid - BACKGROUND @ centroid
    return soft_ceiling(day.lex + 200.0 * stage_similarity(day) + p["b"] * sim)


def knn_smoothing(day: Day, p: Params) -> Array:
    """Score regularisation (Diaz 2005): the default score blended with the mean default score of the
    paper's ``k`` nearest papers of the day (by cosine), ``a`` for the neighbours."""
    first = soft_ceiling(day.lex + 200.0 * stage_similarity(day))
    papers = view(day, "tf2")
    gram = papers @ papers.T
    np.fill_diagonal(gram, -np.inf)
    neighbours = np.argsort(-gram, axis=1)[:, : p["k"]]
    return (1 - p["a"]) * first + p["a"] * first[neighbours].mean(axis=1)


def ridge(day: Day, p: Params) -> Array:
    """The default score plus ``a`` times its ridge-regression fit on the day's paper vectors (penalty
    ``lam``): the default score smoothed over the embedding space."""
    first = soft_ceiling(day.lex + 200.0 * stage_similarity(day))
    x = view(day, "tf2") - view(day, "tf2").mean(axis=0)
    y = first - first.mean()
    beta = np.linalg.solve(x.T @ x + p["lam"] * np.eye(x.shape[1]), x.T @ y)
    return first + p["a"] * (x @ beta)


def rocchio(day: Day, p: Params) -> Array:
    """Rocchio feedback on the query vector: the weighted mean query moved ``beta`` towards the centroid of
    the default ranking's top ``k`` and ``gamma`` away from the day's mean paper, then lexical + ``w`` points
    per unit of cosine above the background with the moved query."""
    data = PROFILE_DATA[day.profile]
    papers = view(day, "tf2")
    top = _unit(papers[_first_pass_order(day)[: p["k"]]].mean(axis=0))
    query = _unit(data.mean_query + p["beta"] * top - p["gamma"] * _unit(papers.mean(axis=0)))
    return soft_ceiling(day.lex + p["w"] * (papers @ query - BACKGROUND @ query))


W = [0.0, 50.0, 100.0, 150.0, 200.0, 250.0, 300.0, 400.0]
#: label -> (ranker, grid); every grid's first value set is a plain choice, not a tuned one
VARIANTS: dict[str, tuple[Callable[[Day, Params], Array], dict[str, list[Any]]]] = {
    "lexical alone": (shipped, {"w": [0.0]}),
    "shipped (w 200)": (shipped, {"w": [200.0]}),
    "shipped, weight from the grid": (shipped, {"w": W}),
    "view: title + whole abstract": (shipped, {"view": ["abstract"], "w": W}),
    "view: title only": (shipped, {"view": ["title"], "w": W}),
    "view: + HF keywords": (shipped, {"view": ["tf2+hf"], "w": W}),
    "view: lower-cased": (lower_case, {"w": W}),
    "centred on the corpus mean": (centred, {"mean": ["corpus"], "w": [20.0, 40.0, 80.0, 120.0, 160.0]}),
    "centred on the day's mean": (centred, {"mean": ["day"], "w": [20.0, 40.0, 80.0, 120.0, 160.0]}),
    "SIF token weights a=1e-3": (sif, {"a": [1e-3], "w": W}),
    "SIF token weights a=3e-4": (sif, {"a": [3e-4], "w": W}),
    "multi-query: closest": (multi_query, {"agg": ["max"], "w": W}),
    "multi-query: two closest": (multi_query, {"agg": ["top2"], "w": W}),
    "multi-query: soft maximum": (multi_query, {"agg": ["lse"], "w": W}),
    "description share 1/3": (description_share, {"share": [1 / 3], "w": W}),
    "description share 1/2": (description_share, {"share": [0.5], "w": W}),
    "negative keywords as vectors": (negative_keywords, {"v": [0.0, 50.0, 100.0, 200.0, 400.0]}),
    "z-score blend": (normalised, {"norm": ["z"], "a": [0.3, 0.4, 0.5, 0.6, 0.7, 0.8]}),
    "percentile blend": (normalised, {"norm": ["pct"], "a": [0.3, 0.4, 0.5, 0.6, 0.7, 0.8]}),
    "CombMNZ": (comb_mnz, {"a": [0.3, 0.5, 0.7], "t": [0.3, 0.5, 0.7]}),
    "multiplicative gate": (gated, {"m": [0.0, 2.0, 4.0, 8.0], "w": [0.0, 100.0, 150.0, 200.0]}),
    "PRF: top-k centroid": (prf_centroid, {"k": [5, 10, 20], "b": [0.0, 100.0, 200.0, 400.0]}),
    "PRF: k-NN score smoothing": (knn_smoothing, {"k": [3, 5, 10, 20], "a": [0.1, 0.2, 0.3, 0.5]}),
    "PRF: ridge fit of the default": (ridge, {"lam": [1.0, 3.0, 10.0, 30.0, 100.0], "a": [0.25, 0.5, 1.0]}),
    "Rocchio k10 b.5 g.5 (fixed)": (rocchio, {"k": [10], "beta": [0.5], "gamma": [0.5], "w": [100.0]}),
    "Rocchio k10 b.5 g.5, w grid": (
        rocchio,
        {"k": [10], "beta": [0.5], "gamma": [0.5], "w": [50.0, 75.0, 100.0, 150.0, 200.0]},
    ),
    "Rocchio textbook b.75 g.15": (
        rocchio,
        {"k": [10], "beta": [0.75], "gamma": [0.15], "w": [50.0, 75.0, 100.0, 150.0, 200.0]},
    ),
    "Rocchio, full grid": (
        rocchio,
        {"k": [5, 10, 20], "beta": [0.25, 0.5, 1.0], "gamma": [0.25, 0.5, 1.0], "w": [50.0, 100.0, 150.0]},
    ),
}
for _name, _values in LEXICAL_GRID.items():
    VARIANTS[f"lexical {_name.split('.')[-1]}"] = (
        lexical_constant,
        {"constant": [_name], "value": list(_values)},
    )


# ------------------------------------------------------------------------------------------ evaluation

Key = tuple[str, str]


@dataclass
class Result:
    settings: list[Params]
    values: list[dict[Key, float]]

    def mean(self, i: int, keys: Sequence[Key]) -> float:
        """Mean over profiles of each profile's mean over its keys (each profile counts equally)."""
        names = sorted({k[0] for k in keys})
        return sum(np.mean([self.values[i][k] for k in keys if k[0] == n]).item() for n in names) / len(names)

    def best(self, keys: Sequence[Key]) -> int:
        return max(range(len(self.settings)), key=lambda i: self.mean(i, keys))


def evaluate(ranker: Callable[[Day, Params], Array], grid: dict[str, list[Any]]) -> Result:
    settings = [dict(zip(grid, values, strict=True)) for values in itertools.product(*grid.values())]
    values = [{(d.profile, d.day): ndcg(ranker(d, s), d) for d in DAYS} for s in settings]
    return Result(settings, values)


def halves() -> tuple[list[Key], list[Key]]:
    first: list[Key] = []
    second: list[Key] = []
    for name in PROFILES:
        for i, day in enumerate(d.day for d in DAYS if d.profile == name):
            (first if i % 2 == 0 else second).append((name, day))
    return first, second


def held_out_days(result: Result) -> dict[Key, float]:
    """Every day scored by the setting chosen on the other half of every profile's days."""
    first, second = halves()
    out: dict[Key, float] = {}
    for tune, held in ((first, second), (second, first)):
        best = result.best(tune)
        out.update({k: result.values[best][k] for k in held})
    return out


def row(label: str, result: Result) -> str:
    keys = [(d.profile, d.day) for d in DAYS]
    best = result.best(keys)
    held = held_out_days(result)
    line = f"{label:<31}"
    for name in PROFILES:
        mine = [k for k in keys if k[0] == name]
        inside = [result.values[best][k] for k in mine]
        days = [held[k] for k in mine]
        other = result.best([k for k in keys if k[0] != name])
        prof = np.mean([result.values[other][k] for k in mine])
        line += f"  {np.mean(inside):.3f}/{min(inside):.3f} {np.mean(days):.3f}/{min(days):.3f} {prof:.3f}"
    return line + f"  {_describe(result.settings[best])}"


def _describe(setting: Params) -> str:
    return " ".join(f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}" for k, v in setting.items())


def table(only: str | None, variants: Mapping[str, tuple[Any, dict[str, list[Any]]]] | None = None) -> None:
    """One row per variant (this script's, or another script's ``variants``)."""
    print("NDCG@10 mean/worst day per profile: in = best setting on all days; days = leave days out;")
    print("prof = setting chosen on the other two profiles (mean). Last column: the in-sample setting.")
    print(f"{'':<31}" + "".join(f"  {name:<30}" for name in PROFILES))
    print(f"{'variant':<31}" + "  in          days        prof " * len(PROFILES))
    for label, (ranker, grid) in (VARIANTS if variants is None else variants).items():
        if only and only.lower() not in label.lower():
            continue
        print(row(label, evaluate(ranker, grid)), flush=True)


def per_day(label: str) -> None:
    """Per profile and day: lexical, the shipped default, and one variant in-sample and held out."""
    ranker, grid = VARIANTS[label]
    result = evaluate(ranker, grid)
    keys = [(d.profile, d.day) for d in DAYS]
    best = result.best(keys)
    held = held_out_days(result)
    default = evaluate(shipped, {"w": W})
    default_held = held_out_days(default)
    shipped_index = default.settings.index({"w": 200.0})
    lexical_index = default.settings.index({"w": 0.0})
    print(f"'{label}' ({_describe(result.settings[best])} in-sample) against the shipped default (w 200)")
    for name in PROFILES:
        print(f"\nprofile {name}")
        print(f"{'day':<12}{'lexical':>9}{'default':>9}{'held out':>9}{'variant':>9}{'held out':>9}")
        rows = []
        for key in (k for k in keys if k[0] == name):
            values = (
                default.values[lexical_index][key],
                default.values[shipped_index][key],
                default_held[key],
                result.values[best][key],
                held[key],
            )
            rows.append(values)
            print(f"{key[1]:<12}" + "".join(f"{v:>9.3f}" for v in values))
        columns = list(zip(*rows, strict=True))
        print(f"{'mean':<12}" + "".join(f"{np.mean(c):>9.3f}" for c in columns))
        print(f"{'min':<12}" + "".join(f"{min(c):>9.3f}" for c in columns))


def upper_bound(samples: int = 1000) -> None:
    """An optimistic ceiling: per profile, a linear fusion of six signals (lexical, the stage's similarity,
    the soft maximum over the queries, Rocchio's, the similarity with HF keywords in the view, and "has a
    lexical hit") with weights fitted on the profile's own days by random search. No held-out figure: it
    says how far any fusion of these signals could go, not what it would do on new days."""
    rng = np.random.default_rng(0)
    features: dict[Key, Array] = {}
    for day in DAYS:
        data = PROFILE_DATA[day.profile]
        t = 0.05
        soft = t * np.log((np.exp(query_cosines(day, data.vectors) / t) * data.weights).sum(axis=1))
        moved = rocchio(day, {"k": 10, "beta": 0.5, "gamma": 0.5, "w": 100.0}) - day.lex
        features[(day.profile, day.day)] = np.stack(
            [
                day.lex / 100,
                2 * stage_similarity(day),
                2 * soft,
                moved / 50,
                2 * stage_similarity(day, "tf2+hf"),
                (day.lex > 0).astype(float),
            ],
            axis=1,
        )
    print(f"per profile, six signals fused with weights fitted on its own days ({samples} random draws):")
    for name in PROFILES:
        days = [d for d in DAYS if d.profile == name]
        best = (-1.0, 0.0)
        for draw in range(samples):
            # the first draw is the shipped fusion (lexical + 200 x similarity, without the soft ceiling)
            weights = np.array([1.0, 1, 0, 0, 0, 0]) if draw == 0 else np.r_[1.0, rng.uniform(-1, 3, 5)]
            values = [ndcg(features[(d.profile, d.day)] @ weights, d) for d in days]
            best = max(best, (float(np.mean(values)), min(values)))
        print(f"  {name:<20} {best[0]:.3f} (worst day {best[1]:.3f})")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--only", help="only the variants whose label contains this text")
    parser.add_argument(
        "--days",
        nargs="?",
        const="Rocchio k10 b.5 g.5 (fixed)",
        metavar="VARIANT",
        help="per-day figures of one variant (default: the fixed Rocchio) beside the shipped default",
    )
    parser.add_argument(
        "--upper-bound", action="store_true", help="six signals fused with weights fitted per profile"
    )
    args = parser.parse_args(argv)
    if args.upper_bound:
        upper_bound()
    elif args.days:
        per_day(args.days)
    else:
        table(args.only)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
