"""Consensus labels and inter-annotator agreement for the profiles graded by two annotators.

Usage::

    python bench/bench_labels.py           # agreement per profile (and per day); checks the consensus files
    python bench/bench_labels.py --write   # (re)write bench/labels/<profile>/DATE.json from A and B

Each profile folder ``bench/labels/<profile>/`` holds ``annotator-A/DATE.json`` and ``annotator-B/DATE.json``
(``{"date", "profile", "annotator", "grades": {arXiv id: 0-3}}``), graded independently over the same pool,
and the consensus ``DATE.json`` the benchmark reads. Consensus rule: the mean of the two grades rounded down
(a paper is as relevant as the *less* enthusiastic annotator's average allows: 3+2 -> 2, 1+0 -> 0).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

LABELS = Path(__file__).resolve().parent / "labels"
ANNOTATORS = ("A", "B")
GRADES = (0, 1, 2, 3)


def annotated_profiles() -> list[str]:
    return sorted(p.name for p in LABELS.iterdir() if (p / "annotator-A").is_dir())


def load_annotator(profile: str, annotator: str) -> dict[str, dict[str, int]]:
    """day -> {id: grade} for one annotator of one profile."""
    out: dict[str, dict[str, int]] = {}
    for path in sorted((LABELS / profile / f"annotator-{annotator}").glob("*.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        out[data["date"]] = {pid: int(g) for pid, g in data["grades"].items()}
    return out


def consensus(a: int, b: int) -> int:
    return (a + b) // 2


def weighted_kappa(pairs: Sequence[tuple[int, int]]) -> float:
    """Cohen's kappa with quadratic weights over grades 0-3 (Cohen 1968)."""
    n = len(pairs)
    if n == 0:
        return float("nan")
    k = len(GRADES)
    observed = [[0.0] * k for _ in range(k)]
    for a, b in pairs:
        observed[a][b] += 1 / n
    row = [sum(observed[i]) for i in range(k)]
    col = [sum(observed[i][j] for i in range(k)) for j in range(k)]
    weight = [[(i - j) ** 2 / (k - 1) ** 2 for j in range(k)] for i in range(k)]
    disagreement = sum(weight[i][j] * observed[i][j] for i in range(k) for j in range(k))
    expected = sum(weight[i][j] * row[i] * col[j] for i in range(k) for j in range(k))
    return 1.0 - disagreement / expected if expected else 1.0


def agreement(profile: str) -> tuple[list[tuple[str, int, float, float]], list[tuple[int, int]]]:
    a, b = (load_annotator(profile, x) for x in ANNOTATORS)
    rows: list[tuple[str, int, float, float]] = []
    every: list[tuple[int, int]] = []
    for day in sorted(a):
        if set(a[day]) != set(b.get(day, {})):
            raise SystemExit(f"{profile} {day}: the two annotators graded different pools")
        pairs = [(a[day][pid], b[day][pid]) for pid in sorted(a[day])]
        exact = sum(x == y for x, y in pairs) / len(pairs)
        rows.append((day, len(pairs), exact, weighted_kappa(pairs)))
        every.extend(pairs)
    return rows, every


def write_consensus(profile: str) -> None:
    a, b = (load_annotator(profile, x) for x in ANNOTATORS)
    for day in sorted(a):
        grades = {pid: consensus(a[day][pid], b[day][pid]) for pid in sorted(a[day])}
        data = {
            "date": day,
            "profile": profile,
            "rule": "floor of the mean of annotators A and B",
            "grades": grades,
        }
        (LABELS / profile / f"{day}.json").write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--write", action="store_true", help="rewrite the consensus files")
    args = parser.parse_args(argv)
    stale = 0
    for profile in annotated_profiles():
        if args.write:
            write_consensus(profile)
        rows, every = agreement(profile)
        print(f"{profile}: {len(every)} papers over {len(rows)} days")
        print(f"  {'day':<12}{'papers':>8}{'exact':>8}{'kappa_w':>9}")
        for day, n, exact, kappa in rows:
            print(f"  {day:<12}{n:>8}{exact:>8.3f}{kappa:>9.3f}")
        exact = sum(x == y for x, y in every) / len(every)
        within = sum(abs(x - y) <= 1 for x, y in every) / len(every)
        kappa = weighted_kappa(every)
        print(f"  {'all':<12}{len(every):>8}{exact:>8.3f}{kappa:>9.3f}   within one grade {within:.3f}")
        for name, grades in zip(ANNOTATORS, zip(*every, strict=True), strict=True):
            counts = " ".join(f"{g}:{grades.count(g)}" for g in GRADES)
            print(f"  annotator {name} grade counts {counts}")
        a, b = (load_annotator(profile, x) for x in ANNOTATORS)
        for day in sorted(a):
            path = LABELS / profile / f"{day}.json"
            want = {pid: consensus(a[day][pid], b[day][pid]) for pid in a[day]}
            if not path.exists() or json.loads(path.read_text(encoding="utf-8"))["grades"] != want:
                stale += 1
    if stale:
        print(f"{stale} consensus files missing or stale: run with --write", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
