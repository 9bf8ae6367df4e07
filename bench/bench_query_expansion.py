"""Query expansion of the profile's keywords, in-sample and held out (not what a run does; nothing adopted).

Usage::

    python bench/bench_query_expansion.py                   # every variant (~20 min of CPU on a busy machine)
    python bench/bench_query_expansion.py --only co-occ     # the variants whose label contains a word
    python bench/bench_query_expansion.py --days "co-occurrence, grid"   # per day beside the shipped default
    python bench/bench_query_expansion.py --terms plain-restoration 2026-06-12   # what each fixed one adds

A plain profile names a dozen keywords; a paper on a sub-task they do not name (dehazing, deraining,
underwater enhancement for an image-restoration profile) has no lexical hit. Query expansion adds *extra
lexical terms* at a reduced weight, reading no label; the default fusion (lexical + 200 x the word-vector
similarity of :mod:`paper_digest.scoring.semantic`) then runs on the expanded profile. Three families:

- **Embedding neighbours**: for each positive keyword (its variants joined) and, optionally, each description
  term (:func:`~paper_digest.scoring.text.description_phrases`), the candidates whose word-vector cosine with
  it is at least ``thr`` (at most ``k`` per query) are added with weight ``lam x query weight x cosine``
  (``above``: the cosine minus the background's). Candidates: (a) the 1-3-word phrases in at least two papers
  of the day (title + abstract), (b) the same over every corpus day (at least three papers), (c) the model's
  own vocabulary (whole-word tokens of the Llama-2 tokenizer).
- **Co-occurrence neighbours** (an association thesaurus, Qiu & Frei 1993): the corpus phrases that occur
  with a keyword in at least three corpus papers, by normalised PMI (Bouma 2009) at least ``thr``, weight
  ``lam x query weight x NPMI``; ``other_days`` counts only the other corpus days (what a run that kept its
  past days could know).
- **RM3 pseudo-relevance feedback** (Abdul-Jaleel et al. 2004): the default ranking's top ``k`` are taken as
  relevant; each 1-2-word phrase of their titles and abstracts gets ``P(t|R) = sum_D score(D) P(t|D) /
  sum_D score(D)``; the ``m`` phrases with the largest ``P(t|R) log(P(t|R) / P(t|day))`` (in at least two of
  the top papers) are added with ``lam`` of the expanded query's total weight (RM3's interpolation; ``lam =
  0.5`` is the textbook setting). Unlike the Rocchio rows of ``bench_semantic_variants.py`` (which move the
  query *vector*), these are *words* the lexical scorer matches and a reason could name.

A candidate that a profile phrase already covers (same stemmed words, or containing / contained in one) is
skipped. Reported as ``bench_semantic_variants.py`` does: in-sample / leave days out / leave a profile out.
The figures are in bench/labels/README.md ("Query expansion").
"""

from __future__ import annotations

import argparse
import collections
import importlib.util
import math
import re
from collections.abc import Sequence
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
from bench_ranking import corpus_days, load_day
from bench_semantic_variants import (
    BACKGROUND,
    DAYS,
    MODEL,
    PROFILE_DATA,
    Array,
    Day,
    Params,
    _describe,
    _first_pass_order,
    evaluate,
    held_out_days,
    shipped,
    soft_ceiling,
    stage_similarity,
    table,
)

from paper_digest.config import ProfileConfig
from paper_digest.models import Paper
from paper_digest.scoring import score_papers
from paper_digest.scoring.profile import DESCRIPTION_WEIGHT
from paper_digest.scoring.semantic import TOKENIZER_FILE
from paper_digest.scoring.text import _GENERIC, _STOPWORDS, description_phrases, tokens

_WORD = re.compile(r"[A-Za-z0-9]*[A-Za-z][A-Za-z0-9-]*")
_SENTENCE = re.compile(r"[.;:!?()\[\]]")
#: the default fusion's weight of the word-vector similarity (what a run uses)
SEMANTIC_POINTS = 200.0

# ------------------------------------------------------------------------------------------- phrases


def _phrases(paper: Paper, longest: int) -> list[str]:
    """1..``longest``-word phrases of a paper's title and abstract (lower case, not across punctuation, not
    starting or ending with a stop word)."""
    out: list[str] = []
    for chunk in _SENTENCE.split(f"{paper.title}. {paper.abstract}"):
        words = [w.lower().strip("-") for w in _WORD.findall(chunk)]
        for n in range(1, longest + 1):
            for i in range(len(words) - n + 1):
                gram = words[i : i + n]
                if gram[0] in _STOPWORDS or gram[-1] in _STOPWORDS or not all(gram):
                    continue
                if n == 1 and (gram[0] in _GENERIC or len(gram[0]) < 4):
                    continue
                out.append(" ".join(gram))
    return out


def _profile_phrases(profile: ProfileConfig) -> list[tuple[str, ...]]:
    """Every stemmed phrase the profile already matches (keywords' variants and description terms)."""
    found = [tuple(tokens(v)) for key in profile.keywords for v in key.split("|") if v.strip()]
    found += [tuple(tokens(p)) for p in description_phrases(profile.description)]
    return [p for p in found if p]


def _covered(candidate: str, known: Sequence[tuple[str, ...]]) -> bool:
    """Already matched by the profile: same stemmed words, or one contains the other as a phrase."""
    c = tuple(tokens(candidate))
    if not c:
        return True
    for p in known:
        short, long_ = (c, p) if len(c) <= len(p) else (p, c)
        n = len(short)
        if any(long_[i : i + n] == short for i in range(len(long_) - n + 1)):
            return True
    return False


# ---------------------------------------------------------------------------------- candidate pools

Pool = tuple[list[str], Array]


def _embed(texts: Sequence[str]) -> Array:
    vectors = MODEL.embed(texts).astype(np.float64)
    return vectors


def _pool_of(papers: Sequence[Paper], min_papers: int) -> Pool:
    counts: collections.Counter[str] = collections.Counter()
    for paper in papers:
        counts.update(set(_phrases(paper, 3)))
    names = sorted(g for g, c in counts.items() if c >= min_papers)
    return names, _embed(names)


_DAY_POOLS: dict[str, Pool] = {}


def day_pool(day: Day) -> Pool:
    if day.day not in _DAY_POOLS:
        _DAY_POOLS[day.day] = _pool_of(day.papers, 2)
    return _DAY_POOLS[day.day]


@cache
def corpus_pool() -> Pool:
    return _pool_of([p for date in corpus_days() for p in load_day(date)], 3)


@cache
def vocab_pool() -> Pool:
    """Whole-word lower-case tokens of the model's tokenizer (``▁word``, letters only, 5+ letters)."""
    from tokenizers import Tokenizer

    spec = importlib.util.find_spec("wordllama")
    assert spec is not None and spec.submodule_search_locations
    root = Path(next(iter(spec.submodule_search_locations)))
    vocab = Tokenizer.from_file(str(root / TOKENIZER_FILE)).get_vocab()
    size = MODEL.table.shape[0]
    ids, names = [], []
    for token, index in sorted(vocab.items(), key=lambda item: item[1]):
        word = token[1:]
        whole_word = token.startswith("▁") and word.isalpha() and word.islower() and len(word) >= 5
        if whole_word and index < size and word not in _STOPWORDS and word not in _GENERIC:
            ids.append(index)
            names.append(word)
    table = MODEL.table[ids].astype(np.float64)
    return names, table / np.linalg.norm(table, axis=1, keepdims=True)


# ------------------------------------------------------------------------------ expansion: neighbours


def _queries(profile: ProfileConfig, description: bool) -> list[tuple[str, str, float]]:
    """(label, text, weight) per positive keyword and, optionally, per description term."""
    out = [
        (key.split("|")[0].strip(), ", ".join(v.strip() for v in key.split("|") if v.strip()), weight)
        for key, weight in sorted(profile.keywords.items())
        if weight > 0
    ]
    if description:
        weight = DESCRIPTION_WEIGHT if profile.keywords else 3.0
        out += [(p, p, weight) for p in description_phrases(profile.description)]
    return out


def neighbour_terms(profile: ProfileConfig, pool: Pool, p: Params) -> dict[str, tuple[float, str]]:
    """Expansion term -> (weight, the profile term it was expanded from)."""
    names, vectors = pool
    queries = _queries(profile, p["desc"])
    known = _profile_phrases(profile)
    qv = _embed([q[1] for q in queries])
    cos = vectors @ qv.T  # (pool, queries)
    if p.get("above"):  # the cosine above the background's (an ordinary CV paper), as the stage measures it
        cos = cos - (BACKGROUND / np.linalg.norm(BACKGROUND)) @ qv.T
    terms: dict[str, tuple[float, str]] = {}
    for j, (label, _text, weight) in enumerate(queries):
        column = cos[:, j]
        taken = 0
        for i in np.argsort(-column):
            if column[i] < p["thr"] or taken >= p["k"]:
                break
            name = names[i]
            if _covered(name, known):
                continue
            taken += 1
            value = p["lam"] * weight * float(column[i])
            if value > terms.get(name, (0.0, ""))[0]:
                terms[name] = (value, label)
    return terms


# ------------------------------------------------------------------------ expansion: co-occurrence


@cache
def _corpus_docs() -> tuple[
    tuple[str, ...], tuple[frozenset[tuple[str, ...]], ...], dict[tuple[str, ...], str]
]:
    """Per corpus paper: its day and the set of its stemmed 1-3-word phrases; and each stemmed phrase's most
    common spelling."""
    days: list[str] = []
    docs: list[frozenset[tuple[str, ...]]] = []
    spellings: dict[tuple[str, ...], collections.Counter[str]] = collections.defaultdict(collections.Counter)
    for date in corpus_days():
        for paper in load_day(date):
            stemmed = set()
            for gram in _phrases(paper, 3):
                key = tuple(tokens(gram))
                stemmed.add(key)
                spellings[key][gram] += 1
            days.append(date)
            docs.append(frozenset(stemmed))
    return tuple(days), tuple(docs), {k: c.most_common(1)[0][0] for k, c in spellings.items()}


_COOC: dict[tuple[str, str, bool], list[tuple[float, str]]] = {}


def _associates(query: str, day: str, other_days: bool) -> list[tuple[float, str]]:
    """Phrases that co-occur with any variant of ``query`` in at least 3 corpus papers, by normalised PMI
    (Bouma 2009), best first; with ``other_days`` the papers of ``day`` are left out of the counts."""
    key = (query, day if other_days else "", other_days)
    if key not in _COOC:
        days, docs, spelling = _corpus_docs()
        variants = {tuple(tokens(v)) for v in query.split(",") if v.strip()}
        kept = [d for date, d in zip(days, docs, strict=True) if not (other_days and date == day)]
        n = len(kept)
        df: collections.Counter[tuple[str, ...]] = collections.Counter(t for d in kept for t in d)
        with_q = [d for d in kept if variants & d]
        co: collections.Counter[tuple[str, ...]] = collections.Counter(t for d in with_q for t in d)
        out = []
        for t, c in co.items():
            if c < 3 or t in variants or c == n:
                continue
            pmi = math.log(n * c / (len(with_q) * df[t]))
            out.append((pmi / -math.log(c / n), spelling[t]))
        out.sort(reverse=True)
        _COOC[key] = out
    return _COOC[key]


def cooccurrence_terms(day: Day, profile: ProfileConfig, p: Params) -> dict[str, tuple[float, str]]:
    known = _profile_phrases(profile)
    terms: dict[str, tuple[float, str]] = {}
    for label, text, weight in _queries(profile, p["desc"]):
        taken = 0
        for npmi, name in _associates(text, day.day, p["other_days"]):
            if npmi < p["thr"] or taken >= p["k"]:
                break
            if _covered(name, known):
                continue
            taken += 1
            value = p["lam"] * weight * npmi
            if value > terms.get(name, (0.0, ""))[0]:
                terms[name] = (value, label)
    return terms


# ----------------------------------------------------------------------------------- expansion: RM3


def rm3_terms(day: Day, profile: ProfileConfig, p: Params) -> dict[str, tuple[float, str]]:
    order = _first_pass_order(day)[: p["k"]]
    first = soft_ceiling(day.lex + SEMANTIC_POINTS * stage_similarity(day))
    known = _profile_phrases(profile)
    background: collections.Counter[tuple[str, ...]] = collections.Counter()
    surface: dict[tuple[str, ...], collections.Counter[str]] = collections.defaultdict(collections.Counter)
    docs: dict[int, collections.Counter[tuple[str, ...]]] = {}
    top = set(order.tolist())
    for i, paper in enumerate(day.papers):
        grams = _phrases(paper, 2)
        stemmed = [tuple(tokens(g)) for g in grams]
        background.update(stemmed)
        if i in top:
            docs[i] = collections.Counter(stemmed)
            for g, s in zip(grams, stemmed, strict=True):
                surface[s][g] += 1
    total_bg = sum(background.values())
    relevance: collections.Counter[tuple[str, ...]] = collections.Counter()
    seen_in: collections.Counter[tuple[str, ...]] = collections.Counter()
    mass = sum(first[i] for i in docs) or 1.0
    for i, counts in docs.items():
        length = sum(counts.values()) or 1
        for t, c in counts.items():
            relevance[t] += first[i] / mass * c / length
            seen_in[t] += 1
    scored = []
    for t, p_r in relevance.items():
        if seen_in[t] < 2 or not t:
            continue
        name = surface[t].most_common(1)[0][0]
        if _covered(name, known):
            continue
        scored.append((p_r * math.log(p_r / (background[t] / total_bg)), p_r, name))
    scored.sort(reverse=True)
    chosen = [s for s in scored[: p["m"]] if s[0] > 0]
    if not chosen:
        return {}
    original = sum(w for w in profile.keywords.values() if w > 0) or 1.0
    norm = sum(s[1] for s in chosen)
    cap = max(profile.keywords.values(), default=1.0)
    lam = p["lam"]
    return {
        name: (min(cap, lam / (1 - lam) * original * p_r / norm), "the day's top papers")
        for _score, p_r, name in chosen
    }


# -------------------------------------------------------------------------------------------- ranker

_LEX: dict[tuple[str, str, tuple[tuple[str, float], ...]], Array] = {}


def expanded_lexical(day: Day, profile: ProfileConfig, terms: dict[str, tuple[float, str]]) -> Array:
    extra = tuple(sorted((t, round(w, 3)) for t, (w, _src) in terms.items() if round(w, 3) > 0))
    key = (day.profile, day.day, extra)
    if key not in _LEX:
        keywords = dict(profile.keywords)
        for term, weight in extra:
            keywords.setdefault(term, weight)
        expanded = profile.model_copy(update={"keywords": keywords})
        by_id = {s.paper.id: s.score for s in score_papers(day.papers, expanded)}
        _LEX[key] = np.array([by_id[i] for i in day.ids])
    return _LEX[key]


def terms_for(day: Day, p: Params) -> dict[str, tuple[float, str]]:
    profile = PROFILE_DATA[day.profile].profile
    how = p["how"]
    if how == "rm3":
        return rm3_terms(day, profile, p)
    if how == "cooc":
        return cooccurrence_terms(day, profile, p)
    pool = {"day": day_pool, "corpus": lambda _d: corpus_pool(), "vocab": lambda _d: vocab_pool()}[how](day)
    return neighbour_terms(profile, pool, p)


def expansion(day: Day, p: Params) -> Array:
    lex = expanded_lexical(day, PROFILE_DATA[day.profile].profile, terms_for(day, p))
    return soft_ceiling(lex + SEMANTIC_POINTS * stage_similarity(day))


THR = [0.5, 0.6, 0.7, 0.8]
LAM = [0.25, 0.5, 1.0]
VARIANTS: dict[str, tuple[Any, dict[str, list[Any]]]] = {
    "shipped (w 200)": (shipped, {"w": [200.0]}),
    "neighbours, day pool (fixed)": (
        expansion,
        {"how": ["day"], "desc": [False], "thr": [0.7], "k": [3], "lam": [0.5]},
    ),
    "neighbours, day pool, grid": (
        expansion,
        {"how": ["day"], "desc": [False, True], "thr": THR, "k": [3], "lam": LAM},
    ),
    "neighbours, day pool, above bg": (
        expansion,
        {"how": ["day"], "desc": [False], "above": [True], "thr": [0.2, 0.3, 0.4, 0.5], "k": [3], "lam": LAM},
    ),
    "neighbours, corpus pool (fixed)": (
        expansion,
        {"how": ["corpus"], "desc": [False], "thr": [0.7], "k": [3], "lam": [0.5]},
    ),
    "neighbours, corpus pool, grid": (
        expansion,
        {"how": ["corpus"], "desc": [False, True], "thr": THR, "k": [3, 10], "lam": LAM},
    ),
    "neighbours, model vocabulary": (
        expansion,
        {"how": ["vocab"], "desc": [False], "thr": [0.4, 0.5, 0.6], "k": [3], "lam": LAM},
    ),
    "co-occurrence (fixed)": (
        expansion,
        {"how": ["cooc"], "desc": [False], "other_days": [True], "thr": [0.5], "k": [5], "lam": [0.5]},
    ),
    "co-occurrence, grid": (
        expansion,
        {
            "how": ["cooc"],
            "desc": [False, True],
            "other_days": [True],
            "thr": [0.3, 0.4, 0.5, 0.6],
            "k": [3, 10],
            "lam": LAM,
        },
    ),
    "co-occurrence, all days counted": (
        expansion,
        {
            "how": ["cooc"],
            "desc": [False],
            "other_days": [False],
            "thr": [0.3, 0.4, 0.5, 0.6],
            "k": [3, 10],
            "lam": LAM,
        },
    ),
    "RM3 (fixed k10 m10 lam.5)": (expansion, {"how": ["rm3"], "k": [10], "m": [10], "lam": [0.5]}),
    "RM3, grid": (
        expansion,
        {"how": ["rm3"], "k": [5, 10, 20], "m": [5, 10, 20], "lam": [0.1, 0.2, 0.3, 0.5]},
    ),
}


# ---------------------------------------------------------------------------------------- reporting


def per_day(label: str) -> None:
    ranker, grid = VARIANTS[label]
    result = evaluate(ranker, grid)
    keys = [(d.profile, d.day) for d in DAYS]
    best = result.best(keys)
    held = held_out_days(result)
    default = evaluate(shipped, {"w": [200.0]})
    print(f"'{label}' ({_describe(result.settings[best])} in-sample) against the shipped default (w 200)")
    for name in sorted({k[0] for k in keys}, key=[k[0] for k in keys].index):
        print(f"\nprofile {name}")
        print(f"{'day':<12}{'default':>9}{'variant':>9}{'held out':>9}")
        rows = []
        for key in (k for k in keys if k[0] == name):
            values = (default.values[0][key], result.values[best][key], held[key])
            rows.append(values)
            print(f"{key[1]:<12}" + "".join(f"{v:>9.3f}" for v in values))
        columns = list(zip(*rows, strict=True))
        print(f"{'mean':<12}" + "".join(f"{np.mean(c):>9.3f}" for c in columns))
        print(f"{'min':<12}" + "".join(f"{min(c):>9.3f}" for c in columns))


def show_terms(profile: str, date: str, label: str) -> None:
    _ranker, grid = VARIANTS[label]
    setting = {k: v[0] for k, v in grid.items()}
    day = next(d for d in DAYS if d.profile == profile and d.day == date)
    terms = terms_for(day, setting)
    print(f"{label} ({_describe(setting)}), {profile} {date}: {len(terms)} terms")
    for term, (weight, source) in sorted(terms.items(), key=lambda item: -item[1][0]):
        print(f"  {weight:5.2f}  {term}  (from {source})")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--only", help="only the variants whose label contains this text")
    parser.add_argument("--days", metavar="VARIANT", help="per-day figures of one variant")
    parser.add_argument("--terms", nargs=2, metavar=("PROFILE", "DAY"), help="the terms each variant adds")
    args = parser.parse_args(argv)
    if args.terms:
        for label in VARIANTS:
            if "fixed" in label and (not args.only or args.only.lower() in label.lower()):
                show_terms(*args.terms, label)
    elif args.days:
        per_day(args.days)
    else:
        table(args.only, VARIANTS)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
