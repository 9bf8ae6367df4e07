"""What the commands write on stderr besides results: the log handler, the one-line progress messages and
the LLM stage's progress (a rich bar on a terminal, plain lines in cron and CI logs)."""

from __future__ import annotations

import logging
import sys
import threading
from typing import Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, TaskID, TextColumn, TimeElapsedColumn
from rich.progress import Progress as RichProgress


def say(message: str) -> None:
    """One progress line on stderr (results go to stdout)."""
    typer.echo(f"[paper-digest] {message}", err=True)


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever ``sys.stderr`` is at the time of the record, not the stream it was created with
    (a caller that swaps stderr, like a test runner, never leaves a handler on a closed stream)."""

    @property
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, value: Any) -> None:
        pass


def setup_logging(verbose: bool) -> None:
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "_paper_digest", False):
            root.removeHandler(handler)
    handler = _StderrHandler()
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    handler._paper_digest = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(logging.WARNING)
    logging.getLogger("paper_digest").setLevel(logging.DEBUG if verbose else logging.WARNING)


class LLMProgress:
    """The LLM stage's progress on stderr: a rich bar (done/total, the wait for the next request slot) on a
    terminal; one plain line per step when stderr is not one (cron, CI logs). Thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._bar: RichProgress | None = None
        self._task: TaskID | None = None
        self._label = ""
        self._total = 0
        self._done = 0

    def begin(self, label: str, total: int) -> None:
        with self._lock:
            self._label, self._total, self._done = label, total, 0
            if sys.stderr.isatty():
                self._bar = RichProgress(
                    TextColumn("[paper-digest] {task.description}"),
                    BarColumn(),
                    MofNCompleteColumn(),
                    TimeElapsedColumn(),
                    TextColumn("{task.fields[wait]}"),
                    console=Console(stderr=True),
                    transient=True,
                )
                self._bar.start()
                self._task = self._bar.add_task(label, total=total, wait="")
                return
        say(f"{label}: 0/{total}")

    def advance(self, done: int = 1) -> None:
        with self._lock:
            self._done += done
            line = f"{self._label}: {self._done}/{self._total}"
            if self._bar is not None and self._task is not None:
                self._bar.update(self._task, advance=done, wait="")
                return
        say(line)

    def waiting(self, seconds: float) -> None:
        with self._lock:
            if self._bar is not None and self._task is not None:
                self._bar.update(self._task, wait=f"next request slot in {seconds:.0f}s")
                return
            line = (
                f"{self._label}: {self._done}/{self._total}, waiting {seconds:.0f}s for the next request slot"
            )
        say(line)

    def end(self) -> None:
        with self._lock:
            bar, self._bar, self._task = self._bar, None, None
        if bar is not None:
            bar.stop()
