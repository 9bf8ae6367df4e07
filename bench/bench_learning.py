"""Learning benchmark: does the ranking get better once the researcher has rated a few papers?

Usage::

    python bench/bench_learning.py                   # every labelled profile, 10 likes + 10 dislikes
    python bench/bench_learning.py --likes 15 --dislikes 15
    python bench/bench_learning.py --max-points 10   # another strength of the learned adjustment
    python bench/bench_learning.py --ratings-from other-days   # upper bound: every other day's ratings

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
  is compared; ``top20*`` is the ceiling of any reordering of the profile's top :data:`SEEN` (sorted by
  grade), and ``trust`` what the cross-validation on the ratings said (``learn.Trust``:
  the share of (like, not liked) pairs the ranking alone / the held-out model alone / both order right, the
  strength chosen, ``q`` when the liked queries were used): strength 0 means the model was switched off;
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
from paper_digest.scoring.learn import Embed, Learned, Rated, learn

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


def other_days_ratings(
    day: str,
    days: Sequence[str],
    data: dict[str, tuple[list[Paper], list[ScoredPaper]]],
    labels: dict[str, dict[str, int]],
) -> list[Rated]:
    """``--ratings-from other-days``: every grade 3 (like) and every grade 0 in the top :data:`SEEN`
    (dislike) of every labelled day but ``day``, with no cap: hundreds of ratings, including later days'.
    Not a researcher's situation: how far these features and this model could go with far more ratings."""
    rated: list[Rated] = []
    for other in days:
        if other == day:
            continue
        grades = labels[other]
        for rank, scored in enumerate(data[other][1]):
            grade = grades.get(scored.paper.id, 0)
            if grade == 3 or (grade == 0 and rank < SEEN):
                rated.append(Rated(scored.paper, grade == 3))
    return rated


def top_reordered(ranked: Sequence[ScoredPaper], grades: dict[str, int], depth: int = SEEN) -> list[str]:
    """The ranking with its top ``depth`` sorted by grade: what any reordering of what the profile put on
    top could reach (the ceiling of a learned adjustment that moves papers within the top ``depth``)."""
    ids = [s.paper.id for s in ranked]
    return sorted(ids[:depth], key=lambda pid: -grades.get(pid, 0)) + ids[depth:]


def _trust(learned: Learned) -> str:
    """The trust check of a learned day in short: AUC on the ratings of the ranking alone / of the held-out
    model alone -> of both, the strength, and 'q' when the liked papers ranked the day as queries."""
    trust = learned.trust
    if trust is None:
        return "cold"
    queries = " q" if learned.with_liked else ""
    return f"{trust.base:.2f}/{trust.model:.2f}>{trust.combined:.2f} s{trust.strength:.0f}{queries}"


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
    per_day = []
    for day in used:
        on_day = {s.paper.id for s in data[day][1]}
        likes = sum(r.liked for r in rated if r.paper.id in on_day)
        dislikes = sum(not r.liked for r in rated if r.paper.id in on_day)
        per_day.append(f"{day} {likes}+{dislikes}")
    print("ratings per day (likes+dislikes): " + ", ".join(per_day))
    if args.ratings_from == "other-days":
        print("ratings: every other labelled day's, uncapped (an upper bound, not a researcher's situation)")
    names = ("profile", "+liked", "+learned", "both", "delta", "top20*", "bal.acc")
    print(f"{'day':<12}" + "".join(f"{n:>10}" for n in names) + "  trust (AUC base/model>both, strength)")
    rows: list[tuple[float, float]] = []
    parts: list[tuple[float, float, float]] = []
    hits = {"tp": 0, "pos": 0, "tn": 0, "neg": 0}
    for day in days[len(used) :]:
        papers, ranked = data[day]
        grades = item.labels[day]
        day_rated = rated
        day_liked = with_liked
        if args.ratings_from == "other-days":
            day_rated = other_days_ratings(day, days, data, item.labels)
            day_liked = ranker(item.profile, [r.paper for r in day_rated if r.liked])
        liked_ranked = day_liked(papers)
        options = {"min_ratings": args.min_ratings, "max_points": args.max_points}
        alone = learn(ranked, day_rated, item.profile, embed, rescore=plain, **options)
        learned = learn(
            ranked, day_rated, item.profile, embed, rescore=plain, with_liked=day_liked, **options
        )
        before = ndcg_at_k([s.paper.id for s in ranked], grades)
        after = ndcg_at_k([s.paper.id for s in learned.ranked], grades)
        part = (
            ndcg_at_k([s.paper.id for s in liked_ranked], grades),
            ndcg_at_k([s.paper.id for s in alone.ranked], grades),
            ndcg_at_k(top_reordered(ranked, grades), grades),
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
            f"{part[2]:>10.3f}{_fmt(acc):>10}  {_trust(learned)}"
        )
    if rows:
        n = len(rows)
        mean_b, mean_a = sum(b for b, _ in rows) / n, sum(a for _, a in rows) / n
        mean_l, mean_m = sum(p[0] for p in parts) / n, sum(p[1] for p in parts) / n
        mean_top = sum(p[2] for p in parts) / n
        worst = min(a - b for b, a in rows)
        means = (mean_b, mean_l, mean_m, mean_a)
        print(
            f"{'mean':<12}" + "".join(f"{m:>10.3f}" for m in means) + f"{mean_a - mean_b:>+10.3f}"
            f"{mean_top:>10.3f}{_fmt(_balanced(hits)):>10}"
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
    parser.add_argument(
        "--ratings-from",
        choices=("first-days", "other-days"),
        default="first-days",
        help="first-days: the temporal split (the benchmark); other-days: an upper bound, every other "
        "labelled day's ratings, uncapped",
    )
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
