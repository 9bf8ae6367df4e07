"""The typer app, its callback, and what every command shares: the command's clock, loading the config,
dates, and the one-line messages on stderr."""

from __future__ import annotations

import contextlib
import contextvars
import datetime as dt
import zoneinfo
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, NoReturn

import typer

from .. import __version__
from ..clock import SYSTEM_CLOCK, Clock
from ..config import Config, Flags, LoadedConfig, read_config
from ..errors import ConfigError, UsageError
from .console import say, setup_logging

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
#: the shell's code for a run ended by Ctrl-C (128 + SIGINT)
EXIT_INTERRUPTED = 130

EXIT_CODES_HELP = (
    "Exit codes: 0 digest written (or nothing announced), 1 nothing could be written, 2 bad usage or config."
)

app = typer.Typer(
    name="paper-digest",
    help=f"Daily Chinese digest of new papers, ranked for one researcher.\n\n{EXIT_CODES_HELP}",
    context_settings={"help_option_names": ["-h", "--help"]},
    pretty_exceptions_show_locals=False,
    pretty_exceptions_enable=False,
    no_args_is_help=True,
    add_completion=False,
    # click's own help formatter: it re-flows docstring paragraphs (rich mode keeps their hard line breaks,
    # leaving "1 nothing could be / written") and shows a flag without a type (rich mode prints "<bool>")
    rich_markup_mode=None,
)

#: the running command's clock, set by :func:`main_callback` from the command's ``obj``
_COMMAND_CLOCK: contextvars.ContextVar[Clock] = contextvars.ContextVar("clock", default=SYSTEM_CLOCK)


def run_clock() -> Clock:
    """Time as this command sees it: the real clock, unless the caller passed a :class:`Clock` as the
    command's ``obj`` (``CliRunner().invoke(app, args, obj=clock)``: tests run whole days in no time so)."""
    return _COMMAND_CLOCK.get()


ConfigOption = Annotated[
    Path, typer.Option("--config", "-c", help="TOML config file (start from config.example.toml).")
]
DateOption = Annotated[
    str | None,
    typer.Option("--date", "-d", help="Digest date YYYY-MM-DD; default: today in the configured timezone."),
]


def _version(value: bool) -> None:
    if value:
        typer.echo(f"paper-digest {__version__}")
        raise typer.Exit()


@app.callback()
def main_callback(
    ctx: typer.Context,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log details to stderr.")] = False,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version and exit.")
    ] = False,
) -> None:
    """Daily Chinese digest of new papers (HuggingFace Daily Papers + arXiv), ranked for one researcher."""
    setup_logging(verbose)
    _COMMAND_CLOCK.set(ctx.obj if isinstance(ctx.obj, Clock) else SYSTEM_CLOCK)


#: what Ctrl-C during ``run`` / ``backfill`` prints: every file is written atomically (a stopped run leaves
#: the previous one), the folder lock goes with the process, finished deep dives are in the cache already
MSG_INTERRUPTED = (
    "Interrupted: stopped before the end; nothing is half-written, finished deep dives are cached "
    "and a rerun continues"
)


@contextlib.contextmanager
def interruptible() -> Iterator[None]:
    """Ctrl-C inside: one line and exit 130 (the shell's code for SIGINT), no traceback. Cleanup has run by
    then: ``finally`` blocks and context managers (the lock, temp files, clients) unwind before this."""
    try:
        yield
    except KeyboardInterrupt:
        typer.echo(MSG_INTERRUPTED, err=True)
        raise typer.Exit(code=EXIT_INTERRUPTED) from None


def fail(message: str, code: int) -> NoReturn:
    """One line on stderr, then the exit code."""
    typer.echo(f"Error: {message}", err=True)
    raise typer.Exit(code=code)


def read(config_path: Path, flags: Flags | None = None) -> LoadedConfig:
    """The config file with the command's flags merged in, validated once, and the notes it earned; an
    invalid file is one line per field and exit 2."""
    try:
        return read_config(config_path, flags=flags)
    except ConfigError as exc:
        if len(exc.problems) > 1:
            typer.echo(f"Error: invalid config {config_path}:", err=True)
            for line in exc.problems:
                typer.echo(f"  {line}", err=True)
            raise typer.Exit(code=EXIT_USAGE) from None
        fail(str(exc), EXIT_USAGE)


def load(config_path: Path, flags: Flags | None = None) -> Config:
    """:func:`read`, with each note of an old file (a removed key, a retired model) as one line on stderr:
    ``Note: config.toml: llm.base_url: ...``."""
    loaded = read(config_path, flags)
    for note in loaded.notes:
        typer.echo(f"Note: {config_path}: {note}", err=True)
    return loaded.config


def today(config: Config) -> dt.date:
    """Today in the configured timezone, on the command's clock."""
    return run_clock().now().astimezone(zoneinfo.ZoneInfo(config.digest.timezone)).date()


def parse_date(text: str, *, option: str = "--date") -> dt.date:
    try:
        return dt.date.fromisoformat(text.strip())
    except ValueError:
        raise UsageError(f"invalid {option} {text!r}: expected a date like 2026-06-12") from None


#: the earliest digest date: arXiv's announcement calendar (sources/calendar.py) is kept from here on
FIRST_DAY = dt.date(2020, 1, 1)


def check_date(day: dt.date, today: dt.date, option: str = "--date", timezone: str = "") -> None:
    """A future date has nothing to fetch yet; before FIRST_DAY the announcement calendar is not kept.
    (Before HuggingFace Daily Papers began, a digest has arXiv papers only and says so.)"""
    where = f" in {timezone}" if timezone else ""
    if day > today:
        raise UsageError(f"{option} {day.isoformat()} is in the future (today is {today.isoformat()}{where})")
    if day < FIRST_DAY:
        raise UsageError(f"{option} {day.isoformat()} is too early: digests start on {FIRST_DAY.isoformat()}")


__all__ = [
    "EXIT_FAILED",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "EXIT_USAGE",
    "ConfigOption",
    "DateOption",
    "app",
    "check_date",
    "fail",
    "interruptible",
    "load",
    "parse_date",
    "read",
    "run_clock",
    "say",
    "today",
]
