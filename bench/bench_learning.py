"""Learning benchmark: does the ranking get better once the researcher has rated a few papers?

Usage::

    python bench/bench_learning.py                   # every labelled profile, 10 likes + 10 dislikes
    python bench/bench_learning.py --likes 15 --dislikes 15
    python bench/bench_learning.py --max-points 10   # another strength of the learned adjustment

A temporal split over each profile's labelled days (``bench/labels/DATE.json`` for config.example.toml's
profile, ``bench/labels/<name>/DATE.json`` for ``bench/profiles/<name>.toml``), as a researcher would rate:

- ratings come from the first days, in date order: grade 3 -> like, grade 0 among the day's top
  :data:`SEEN` of the profile-only ranking -> dislike (what the digest showed and the researcher skipped), at
  most ``--likes`` / ``--dislikes`` of each; the rating days stop when both are full or at half the days;
- every later day is ranked as a run ranks it by default (lexical scorer + offline semantic stage) without
  ratings (``profile``), with the liked papers as extra queries of the semantic stage (``+liked``), with the
  learned adjustment alone (``+learned``, :func:`paper_digest.scoring.learn.learn`) and as a run with these
  ratings ranks (``both``, :func:`paper_digest.scoring.learn.learn` with ``with_liked``, as the pipeline
  calls: liked queries and the model, used only when cross-validation on the ratings trusts them); NDCG@10
  is compared;
- balanced accuracy of the model's like/dislike call (p > 0.5) on the later days' papers under the same rule
  (grade 3 = like, grade 0 in the top :data:`SEEN` = dislike); Scholar Inbox reports 71.3-74.7% on its own
  temporal split (GlennAng/msc_thesis, code/logreg/README.md).
"""

from __future__ import annotations

import argparse
import json
import sys
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from bench_ranking import ROOT, corpus_days, load_day, ndcg_at_k

from paper_digest.config import ProfileConfig
from paper_digest.models import Paper, ScoredPaper
from paper_digest.pipeline import Scorer
from paper_digest.scoring import score_papers, semantic
from paper_digest.scoring.learn import Embed, Rated, learn

BENCH = Path(__file__).resolve().parent
#: the top of the profile-only ranking a researcher is taken to have seen on a rating day
SEEN = 20


@dataclass(frozen=True)
class LabelledProfile:
    name: str
    profile: ProfileConfig
    labels: dict[str, dict[str, int]]  # day -> {id: grade}


def _profile(path: Path) -> ProfileConfig:
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    return ProfileConfig.model_validate(data.get("profile", {}))


def _labels(folder: Path) -> dict[str, dict[str, int]]:
    out = {}
    for path in sorted(folder.glob("????-??-??.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        out[path.stem] = {pid: int(g) for pid, g in data["grades"].items()}
    return out


def labelled_profiles(bench: Path) -> list[LabelledProfile]:
    """config.example.toml's profile, then every ``profiles/<name>.toml`` with labels."""
    found = [LabelledProfile("example", _profile(ROOT / "config.example.toml"), _labels(bench / "labels"))]
    for path in sorted((bench / "profiles").glob("*.toml")):
        labels = _labels(bench / "labels" / path.stem)
        if labels:
            found.append(LabelledProfile(path.stem, _profile(path), labels))
    return found


def ratings_from_days(
    days: Sequence[str],
    data: dict[str, tuple[list[Paper], list[ScoredPaper]]],
    labels: dict[str, dict[str, int]],
    likes: int,
    dislikes: int,
) -> tuple[list[Rated], list[str]]:
    """The simulated ratings and the days they came from (see the module doc)."""
    rated: list[Rated] = []
    used: list[str] = []
    for day in days[: max(1, len(days) // 2)]:
        _, ranked = data[day]
        grades = labels[day]
        by_id = {s.paper.id: s.paper for s in ranked}
        n_like = sum(r.liked for r in rated)
        n_dislike = len(rated) - n_like
        for pid in sorted(pid for pid, g in grades.items() if g == 3 and pid in by_id):
            if n_like < likes:
                rated.append(Rated(by_id[pid], True))
                n_like += 1
        for scored in ranked[:SEEN]:
            if grades.get(scored.paper.id, 0) == 0 and n_dislike < dislikes:
                rated.append(Rated(scored.paper, False))
                n_dislike += 1
        used.append(day)
        if n_like >= likes and n_dislike >= dislikes:
            break
    return rated, used


def ranker(profile: ProfileConfig, liked: Sequence[Paper] = ()) -> Scorer:
    """What a run ranks by: the lexical scorer, then the offline semantic stage (with the liked papers)."""
    stage = semantic.load_scorer(profile, liked)
    return lambda papers: stage.adjust(score_papers(papers, profile))


#: like/dislike calls pooled over every profile's later days, for the overall balanced accuracy
POOLED = {"tp": 0, "pos": 0, "tn": 0, "neg": 0}


def run_profile(item: LabelledProfile, embed: Embed, args: argparse.Namespace) -> list[tuple[float, float]]:
    days = [d for d in corpus_days() if d in item.labels]
    plain = ranker(item.profile)
    data = {}
    for day in days:
        papers = load_day(day)
        data[day] = (papers, plain(papers))
    rated, used = ratings_from_days(days, data, item.labels, args.likes, args.dislikes)
    n_like = sum(r.liked for r in rated)
    with_liked = ranker(item.profile, [r.paper for r in rated if r.liked])
    print(
        f"\n## {item.name}: {n_like} likes + {len(rated) - n_like} dislikes from {', '.join(used)}; "
        f"ranking the {len(days) - len(used)} later days"
    )
    names = ("profile", "+liked", "+learned", "both", "delta", "bal.acc")
    print(f"{'day':<12}" + "".join(f"{n:>10}" for n in names))
    rows: list[tuple[float, float]] = []
    parts: list[tuple[float, float]] = []
    hits = {"tp": 0, "pos": 0, "tn": 0, "neg": 0}
    for day in days[len(used) :]:
        papers, ranked = data[day]
        grades = item.labels[day]
        liked_ranked = with_liked(papers)
        options = {"min_ratings": args.min_ratings, "max_points": args.max_points}
        alone = learn(ranked, rated, item.profile, embed, rescore=plain, **options)
        learned = learn(ranked, rated, item.profile, embed, rescore=plain, with_liked=with_liked, **options)
        before = ndcg_at_k([s.paper.id for s in ranked], grades)
        after = ndcg_at_k([s.paper.id for s in learned.ranked], grades)
        part = (
            ndcg_at_k([s.paper.id for s in liked_ranked], grades),
            ndcg_at_k([s.paper.id for s in alone.ranked], grades),
        )
        parts.append(part)
        day_hits = {"tp": 0, "pos": 0, "tn": 0, "neg": 0}
        for pid, grade in grades.items():
            p = learned.probability.get(pid)
            if p is None:
                continue
            if grade == 3:
                day_hits["pos"] += 1
                day_hits["tp"] += p > 0.5
            elif grade == 0 and any(s.paper.id == pid for s in ranked[:SEEN]):
                day_hits["neg"] += 1
                day_hits["tn"] += p <= 0.5
        for key, value in day_hits.items():
            hits[key] += value
            POOLED[key] += value
        acc = _balanced(day_hits)
        rows.append((before, after))
        print(
            f"{day:<12}{before:>10.3f}{part[0]:>10.3f}{part[1]:>10.3f}{after:>10.3f}{after - before:>+10.3f}"
            f"{_fmt(acc):>10}"
        )
    if rows:
        n = len(rows)
        mean_b, mean_a = sum(b for b, _ in rows) / n, sum(a for _, a in rows) / n
        mean_l, mean_m = sum(p[0] for p in parts) / n, sum(p[1] for p in parts) / n
        worst = min(a - b for b, a in rows)
        means = (mean_b, mean_l, mean_m, mean_a)
        print(
            f"{'mean':<12}" + "".join(f"{m:>10.3f}" for m in means) + f"{mean_a - mean_b:>+10.3f}"
            f"{_fmt(_balanced(hits)):>10}"
        )
        print(f"{'worst day':<12}{'':>40}{worst:>+10.3f}")
    return rows


def _balanced(hits: dict[str, int]) -> float | None:
    if not hits["pos"] or not hits["neg"]:
        return None
    return (hits["tp"] / hits["pos"] + hits["tn"] / hits["neg"]) / 2


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.1%}"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--likes", type=int, default=10, help="at most this many likes (grade 3)")
    parser.add_argument("--dislikes", type=int, default=10, help="at most this many dislikes")
    parser.add_argument("--max-points", type=float, default=20.0, help="learning.max_points")
    parser.add_argument("--min-ratings", type=int, default=10, help="learning.min_ratings")
    parser.add_argument("--bench-dir", type=Path, default=BENCH, help="folder with labels/ and profiles/")
    args = parser.parse_args(argv)
    model = semantic.StaticModel.load()
    everything: list[tuple[float, float]] = []
    per_profile: list[float] = []
    for item in labelled_profiles(args.bench_dir):
        rows = run_profile(item, model.embed, args)
        everything.extend(rows)
        if rows:
            per_profile.append(sum(a - b for b, a in rows) / len(rows))
    if not everything:
        print("no labelled days", file=sys.stderr)
        return 2
    mean_delta = sum(a - b for b, a in everything) / len(everything)
    worst = min(a - b for b, a in everything)
    print(
        f"\nall profiles: mean delta {sum(per_profile) / len(per_profile):+.3f} (mean of the profiles' "
        f"means), {mean_delta:+.3f} over all {len(everything)} later days; worst day {worst:+.3f}; "
        f"balanced accuracy {_fmt(_balanced(POOLED))}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
