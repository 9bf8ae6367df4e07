"""Figures of the fault and abuse suite: each scenario records the requests it made against those expected,
and ``conftest.pytest_terminal_summary`` prints them as one table at the end of the session."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Row:
    nodeid: str
    made: int = 0
    expected: int = 0
    notes: list[str] = field(default_factory=list)

    def add(self, made: int, expected: int) -> None:
        """Count requests (to any service) made by the product, and how many the scenario expects."""
        self.made += made
        self.expected += expected


ROWS: dict[str, Row] = {}


def row(nodeid: str) -> Row:
    return ROWS.setdefault(nodeid, Row(nodeid))


def summary_lines(outcomes: dict[str, str]) -> list[str]:
    """The table: one line per scenario, then the totals. ``outcomes`` maps nodeid to passed/failed/..."""
    if not ROWS:
        return []
    width = max(len(_short(r.nodeid)) for r in ROWS.values())
    lines = [f"{'scenario':<{width}}  {'result':<8} {'made':>5} {'expected':>8}"]
    held = made = expected = skipped = known_bugs = 0
    for item in ROWS.values():
        outcome = outcomes.get(item.nodeid, "not run")
        lines.append(f"{_short(item.nodeid):<{width}}  {outcome:<8} {item.made:>5} {item.expected:>8}")
        if outcome == "skipped":
            skipped += 1
        elif outcome == "xfailed":
            known_bugs += 1
        elif outcome == "passed":
            held += 1
            made += item.made
            expected += item.expected
    run = len(ROWS) - skipped
    lines.append(
        f"{run} scenarios run, {held} held, {known_bugs} known bugs (xfail), {skipped} skipped; "
        f"requests made {made} against {expected} expected in the scenarios that held"
    )
    return lines


def _short(nodeid: str) -> str:
    return nodeid.split("::", 1)[-1]
