"""The typer app: the only place that prints to the console or exits.

Exit codes: 0 a digest was written (or the day had nothing announced), 1 nothing could be written,
2 bad usage or config.
"""

from __future__ import annotations

import contextvars
import datetime as dt
import logging
import sys
import threading
import zoneinfo
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, TaskID, TextColumn, TimeElapsedColumn
from rich.progress import Progress as RichProgress

from . import __version__, pipeline, ratings, store
from .analysis import LLMClient
from .assemble import scan_summary
from .checks import run_checks
from .clock import SYSTEM_CLOCK, Clock
from .config import Config, Flags, api_key_from_env, load_config
from .errors import ConfigError, PaperDigestError, UsageError
from .markup import safe_url
from .models import DeliveryStatus, NoticeKind

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2

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

logger = logging.getLogger("paper_digest")


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
    _setup_logging(verbose)
    _COMMAND_CLOCK.set(ctx.obj if isinstance(ctx.obj, Clock) else SYSTEM_CLOCK)


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever ``sys.stderr`` is at the time of the record, not the stream it was created with
    (a caller that swaps stderr, like a test runner, never leaves a handler on a closed stream)."""

    @property
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, value: Any) -> None:
        pass


def _setup_logging(verbose: bool) -> None:
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


def _fail(message: str, code: int) -> NoReturn:
    typer.echo(f"Error: {message}", err=True)
    raise typer.Exit(code=code)


def _progress(message: str) -> None:
    typer.echo(f"[paper-digest] {message}", err=True)


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
        _progress(f"{label}: 0/{total}")

    def advance(self, done: int = 1) -> None:
        with self._lock:
            self._done += done
            line = f"{self._label}: {self._done}/{self._total}"
            if self._bar is not None and self._task is not None:
                self._bar.update(self._task, advance=done, wait="")
                return
        _progress(line)

    def waiting(self, seconds: float) -> None:
        with self._lock:
            if self._bar is not None and self._task is not None:
                self._bar.update(self._task, wait=f"next request slot in {seconds:.0f}s")
                return
            line = (
                f"{self._label}: {self._done}/{self._total}, waiting {seconds:.0f}s for the next request slot"
            )
        _progress(line)

    def end(self) -> None:
        with self._lock:
            bar, self._bar, self._task = self._bar, None, None
        if bar is not None:
            bar.stop()


def _llm_client(config: Config, *, offline: bool = False) -> LLMClient:
    """The command's one LLM client: every day of a backfill shares its limiter and ledger. ``offline``
    (``run --offline``): it makes no request; deep dives and judgements come from the caches."""
    time = run_clock()
    return pipeline.build_llm_client(
        config,
        api_key=api_key_from_env(),
        clock=time.monotonic,
        sleep=time.sleep,
        now=time.now,
        progress=LLMProgress(),
        offline=offline,
    )


def _load(config_path: Path, flags: Flags | None = None) -> Config:
    """The config file with the command's flags merged in, validated once."""
    try:
        return load_config(config_path, flags=flags)
    except ConfigError as exc:
        if len(exc.problems) > 1:
            typer.echo(f"Error: invalid config {config_path}:", err=True)
            for line in exc.problems:
                typer.echo(f"  {line}", err=True)
            raise typer.Exit(code=EXIT_USAGE) from None
        _fail(str(exc), EXIT_USAGE)


def _today(config: Config) -> dt.date:
    return run_clock().now().astimezone(zoneinfo.ZoneInfo(config.digest.timezone)).date()


def parse_date(text: str, *, option: str = "--date") -> dt.date:
    try:
        return dt.date.fromisoformat(text.strip())
    except ValueError:
        raise UsageError(f"invalid {option} {text!r}: expected a date like 2026-06-12") from None


#: the earliest digest date: arXiv's announcement calendar (sources/calendar.py) is kept from here on
FIRST_DAY = dt.date(2020, 1, 1)


def _check_date(day: dt.date, today: dt.date, option: str = "--date", timezone: str = "") -> None:
    """A future date has nothing to fetch yet; before FIRST_DAY the announcement calendar is not kept.
    (Before HuggingFace Daily Papers began, a digest has arXiv papers only and says so.)"""
    where = f" in {timezone}" if timezone else ""
    if day > today:
        raise UsageError(f"{option} {day.isoformat()} is in the future (today is {today.isoformat()}{where})")
    if day < FIRST_DAY:
        raise UsageError(f"{option} {day.isoformat()} is too early: digests start on {FIRST_DAY.isoformat()}")


def _run_one(
    config: Config,
    day: dt.date,
    today: dt.date,
    *,
    no_llm: bool,
    offline: bool,
    llm: LLMClient,
    resend: bool = False,
) -> pipeline.RunResult:
    stages = pipeline.build_stages(
        config,
        today=today,
        use_llm=not no_llm,
        offline=offline,
        api_key=api_key_from_env(),
        raw_folder=config.cache.dir / "raw" / day.isoformat(),
        clock=run_clock().monotonic,
        sleep=run_clock().sleep,
        now=run_clock().now,
        llm=llm,
        resend=resend,
    )
    if stages.llm_notice is not None and stages.llm_notice.kind is NoticeKind.NO_API_KEY:
        _progress(
            "no GEMINI_API_KEY or GOOGLE_API_KEY in the environment: "
            "deep dives come from the cache only; the others wait for a key"
        )
    try:
        return pipeline.run_day(config, day, stages, progress=_progress)
    finally:
        stages.close()


@app.command()
def run(
    config_path: ConfigOption = Path("config.toml"),
    date: DateOption = None,
    no_llm: Annotated[bool, typer.Option("--no-llm", help="Skip the Gemini deep dives.")] = False,
    offline: Annotated[
        bool, typer.Option("--offline", help="Use the raw responses kept from an earlier run; no network.")
    ] = False,
    output_dir: Annotated[
        Path | None,
        typer.Option("--output-dir", "-o", help="Write digests here instead of digest.output_dir."),
    ] = None,
    deep_dives: Annotated[
        int | None,
        typer.Option("--deep-dives", "-n", min=0, max=50, help="How many top papers get a deep dive (0-50)."),
    ] = None,
    resend: Annotated[
        bool,
        typer.Option(
            "--resend", help="Send by email/webhook again, also on channels that already sent the day."
        ),
    ] = False,
) -> None:
    """Fetch, score, analyse and render one day's digest: writes DATE.md and DATE.json, and sends it by
    email / webhook when [delivery] is configured (once a day per channel).

    Exit codes: 0 digest written (also with parts missing, which the digest names), 1 nothing could be
    written (every source failed), 2 bad usage or config.
    """
    flags: dict[tuple[tuple[str, ...], str], object] = {}
    if output_dir is not None:
        flags[("digest",), "output_dir"] = str(output_dir.resolve())
    if deep_dives is not None:
        flags[("digest",), "deep_dives"] = deep_dives
    config = _load(config_path, flags)
    try:
        today = _today(config)
        day = parse_date(date) if date is not None else today
        _check_date(day, today, timezone=config.digest.timezone)
        llm = _llm_client(config, offline=offline)
        try:
            result = _run_one(config, day, today, no_llm=no_llm, offline=offline, llm=llm, resend=resend)
        finally:
            llm.close()
    except PaperDigestError as exc:
        _fail(str(exc), exc.exit_code)
    _report(result)


def _report(result: pipeline.RunResult) -> None:
    if result.written:
        for path in (result.markdown_path, result.json_path, *result.index_paths):
            typer.echo(f"{path}")
    else:
        typer.echo(f"{result.markdown_path} (kept: {result.note})")
    _progress(scan_summary(result.digest))
    for attempt in result.deliveries:  # a failed delivery is one line, never a failed run
        if attempt.status is DeliveryStatus.SENT:
            _progress(f"delivery: sent by {attempt.channel}")
        else:
            typer.echo(f"Warning: delivery failed: {attempt.detail}", err=True)


@app.command()
def backfill(
    date_from: Annotated[str, typer.Option("--from", help="First day, YYYY-MM-DD.")],
    date_to: Annotated[str | None, typer.Option("--to", help="Last day, YYYY-MM-DD; default: today.")] = None,
    config_path: ConfigOption = Path("config.toml"),
    no_llm: Annotated[bool, typer.Option("--no-llm", help="Skip the Gemini deep dives.")] = False,
    force: Annotated[bool, typer.Option("--force", help="Rerun days that are already complete.")] = False,
) -> None:
    """Write the digests of a range of days in turn, sharing the cache.

    Days already complete are skipped. When the Gemini quota for today is spent, backfill stops cleanly
    (exit 0): the next run continues where it stopped. Exit 1 if some day could not be written.
    """
    config = _load(config_path)
    try:
        today = _today(config)
        first = parse_date(date_from, option="--from")
        last = parse_date(date_to, option="--to") if date_to is not None else today
        _check_date(last, today, "--to", timezone=config.digest.timezone)
        _check_date(first, today, "--from", timezone=config.digest.timezone)
        if first > last:
            raise UsageError(f"--from {first} is after --to {last}")
        if (last - first).days > 366:
            raise UsageError("a backfill covers at most 366 days at once")
    except PaperDigestError as exc:
        _fail(str(exc), exc.exit_code)
    failed: list[str] = []
    llm = _llm_client(config)
    try:
        failed = _backfill_days(config, first, last, today, no_llm=no_llm, force=force, llm=llm)
    finally:
        llm.close()
    if failed:
        _fail(f"{len(failed)} day(s) could not be written: {', '.join(failed)}", EXIT_FAILED)


def _backfill_days(
    config: Config,
    first: dt.date,
    last: dt.date,
    today: dt.date,
    *,
    no_llm: bool,
    force: bool,
    llm: LLMClient,
) -> list[str]:
    failed: list[str] = []
    day = first
    while day <= last:
        if pipeline.nothing_announced(day):
            _progress(f"{day}: nothing announced (weekend), skipped")
            day += dt.timedelta(days=1)
            continue
        if not force and pipeline.day_is_complete(config, day):
            _progress(f"{day}: complete, skipped")
            day += dt.timedelta(days=1)
            continue
        _progress(f"{day}: running")
        try:
            result = _run_one(config, day, today, no_llm=no_llm, offline=False, llm=llm)
        except PaperDigestError as exc:
            if exc.exit_code == EXIT_USAGE:
                _fail(str(exc), exc.exit_code)
            typer.echo(f"{day}: not written: {exc}", err=True)
            failed.append(day.isoformat())
            day += dt.timedelta(days=1)
            continue
        _report(result)
        if pipeline.quota_spent(result.digest):
            reset = pipeline.quota_reset(result.digest)
            when = f" (it resets at {reset.isoformat(timespec='minutes')})" if reset else ""
            _progress(
                f"{day}: Gemini daily quota spent{when}; stopping here, the next run continues from {day}"
            )
            break
        day += dt.timedelta(days=1)
    return failed


@app.command()
def check(
    config_path: ConfigOption = Path("config.toml"),
    online: Annotated[
        bool, typer.Option("--online", help="Also reach each configured endpoint once and report.")
    ] = False,
) -> None:
    """Validate the config, tell whether an API key is present (never printing it), and with --online
    reach each configured endpoint once.

    Exit 0 when all is well, 1 when an endpoint failed, 2 for a bad config."""
    config = _load(config_path)
    results = run_checks(config, api_key=api_key_from_env(), online=online)
    for item in results:
        mark = "ok  " if item.ok else ("warn" if item.warning else "FAIL")
        typer.echo(f"{mark} {item.name}: {item.message}")
    if any(not r.ok and not r.warning for r in results):
        raise typer.Exit(code=EXIT_FAILED)


@app.command()
def index(
    config_path: ConfigOption = Path("config.toml"),
    feed_url: Annotated[
        str | None, typer.Option("--feed-url", help="Public URL of feed.xml; default: digest.feed_url.")
    ] = None,
    site_url: Annotated[
        str | None,
        typer.Option("--site-url", help="Public URL of the digests folder; default: digest.site_url."),
    ] = None,
) -> None:
    """Regenerate the digests folder's README.md (index, newest first) and feed.xml (Atom), with the
    digest.site_url and digest.feed_url of the config unless given here."""
    config = _load(config_path)
    folder = config.digest.output_dir
    try:
        for option, value in (("--feed-url", feed_url), ("--site-url", site_url)):
            if value is not None and safe_url(value) is None:
                raise UsageError(f"{option} {value!r}: expected an http(s) URL")
        store.check_writable(folder)
        files = pipeline.write_index(
            folder,
            feed_url=feed_url or config.digest.feed_url,
            site_url=site_url or config.digest.site_url,
        )
    except PaperDigestError as exc:
        _fail(str(exc), exc.exit_code)
    typer.echo(f"{files.readme} ({files.digests} digests)")
    typer.echo(f"{files.feed}")


IdsArgument = Annotated[
    list[str], typer.Argument(help="arXiv ids, with or without version (2606.12575, 2606.12575v2).")
]

VERDICT_WORDS = {"like": "liked", "dislike": "disliked", None: "not rated"}


def _rate(config_path: Path, ids: list[str], verdict: ratings.Verdict | None) -> None:
    config = _load(config_path)
    path = config.learning.ratings
    try:
        current = ratings.load_ratings(path)
        if verdict is None:
            updated, changes = ratings.unrate(current, ids)
        else:
            wanted = [ratings.normalise_id(raw) for raw in ids]
            titles = ratings.known_titles(store.list_digests(config.digest.output_dir), wanted)
            updated, changes = ratings.rate(current, verdict, ids, day=_today(config), titles=titles)
        ratings.save_ratings(path, updated)
    except PaperDigestError as exc:
        _fail(str(exc), exc.exit_code)
    for change in changes:
        if change.before == change.after:
            typer.echo(f"{change.id}: already {VERDICT_WORDS[change.after]}")
        else:
            typer.echo(f"{change.id}: {VERDICT_WORDS[change.before]} -> {VERDICT_WORDS[change.after]}")
    _progress(_ratings_summary(updated, config) + f" ({path})")


def _ratings_summary(items: list[ratings.Rating], config: Config) -> str:
    likes = sum(1 for r in items if r.liked)
    dislikes = len(items) - likes
    line = f"{likes} liked, {dislikes} disliked"
    if not config.learning.enabled:
        return line + "; learning is off (learning.enabled = false)"
    if len(items) < config.learning.min_ratings or not likes:
        return line + (
            f"; the profile alone ranks until there are {config.learning.min_ratings} ratings"
            " (at least one like)"
        )
    return line + "; the ranking learns from them"


@app.command()
def like(ids: IdsArgument, config_path: ConfigOption = Path("config.toml")) -> None:
    """Record that you liked these papers (in learning.ratings, next to the config).

    Liked papers lift similar new papers, and each acts as an extra query of the semantic stage."""
    _rate(config_path, ids, "like")


@app.command()
def dislike(ids: IdsArgument, config_path: ConfigOption = Path("config.toml")) -> None:
    """Record that these papers were not for you (in learning.ratings, next to the config)."""
    _rate(config_path, ids, "dislike")


@app.command()
def unrate(ids: IdsArgument, config_path: ConfigOption = Path("config.toml")) -> None:
    """Take back the ratings of these papers."""
    _rate(config_path, ids, None)


@app.command(name="ratings")
def list_ratings(
    config_path: ConfigOption = Path("config.toml"),
    path: Annotated[bool, typer.Option("--path", help="Print only the ratings file's path.")] = False,
) -> None:
    """List your ratings (one a line: like/dislike, id, day, title), then a summary on stderr."""
    config = _load(config_path)
    if path:
        typer.echo(str(config.learning.ratings))
        return
    try:
        items = ratings.load_ratings(config.learning.ratings)
    except PaperDigestError as exc:
        _fail(str(exc), exc.exit_code)
    for rating in items:
        day = rating.day.isoformat() if rating.day else "-"
        typer.echo(f"{rating.verdict:<8} {rating.id:<11} {day:<10}  {rating.title}".rstrip())
    _progress(_ratings_summary(items, config))


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
