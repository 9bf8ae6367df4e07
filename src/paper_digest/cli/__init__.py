"""The command line (typer): the only package that prints to the console or exits.

Exit codes: 0 a digest was written (or the day had nothing announced), 1 nothing could be written,
2 bad usage or config.

Modules: :mod:`.app` (the app, its callback, what every command shares), :mod:`.console` (stderr: log
handler, progress), and the commands by job: :mod:`.digest` (``run``, ``backfill``), :mod:`.folder`
(``check``, ``index``), :mod:`.rating` (``like``, ``dislike``, ``unrate``, ``ratings``).
"""

from __future__ import annotations

import sys

import typer

# the command modules register their commands on ``app`` as they are imported, in the order help lists them
from . import digest, folder, rating
from .app import EXIT_FAILED, app, run_clock
from .console import LLMProgress

__all__ = ["LLMProgress", "app", "digest", "folder", "main", "rating", "run_clock"]


def main() -> None:
    """Console entry point: user errors are one line; an unexpected bug is one line too unless --verbose."""
    try:
        app()
    except Exception as exc:  # a bug: no traceback (locals may hold the key), one line, exit 1
        if "--verbose" in sys.argv or "-v" in sys.argv:
            raise
        typer.echo(
            f"Error: internal error ({exc.__class__.__name__}); rerun with --verbose for details", err=True
        )
        sys.exit(EXIT_FAILED)
