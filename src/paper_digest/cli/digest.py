"""The commands that write digests: ``run`` (one day) and ``backfill`` (a range of days)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated

import typer

from .. import pipeline
from ..analysis import LLMClient
from ..assemble import scan_summary
from ..checks import counted
from ..config import Config, api_key_from_env
from ..errors import PaperDigestError, UsageError
from ..models import DeliveryStatus, NoticeKind
from .app import (
    EXIT_FAILED,
    EXIT_USAGE,
    ConfigOption,
    DateOption,
    app,
    check_date,
    fail,
    interruptible,
    load,
    parse_date,
    run_clock,
    say,
    today,
)
from .console import LLMProgress


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
        say(
            "no GEMINI_API_KEY or GOOGLE_API_KEY in the environment: "
            "deep dives come from the cache only; the others wait for a key"
        )
    try:
        return pipeline.run_day(config, day, stages, progress=say)
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
    config = load(config_path, flags)
    with interruptible():
        try:
            now = today(config)
            day = parse_date(date) if date is not None else now
            check_date(day, now, timezone=config.digest.timezone)
            llm = _llm_client(config, offline=offline)
            try:
                result = _run_one(config, day, now, no_llm=no_llm, offline=offline, llm=llm, resend=resend)
            finally:
                llm.close()
        except PaperDigestError as exc:
            fail(str(exc), exc.exit_code)
        _report(result)


def _report(result: pipeline.RunResult) -> None:
    if result.written:
        for path in (result.markdown_path, result.json_path, *result.index_paths):
            typer.echo(f"{path}")
    else:
        typer.echo(f"{result.markdown_path} (kept: {result.note})")
    say(scan_summary(result.digest))
    for attempt in result.deliveries:  # a failed delivery is one line, never a failed run
        if attempt.status is DeliveryStatus.SENT:
            say(f"delivery: sent by {attempt.channel}")
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
    config = load(config_path)
    try:
        now = today(config)
        first = parse_date(date_from, option="--from")
        last = parse_date(date_to, option="--to") if date_to is not None else now
        check_date(last, now, "--to", timezone=config.digest.timezone)
        check_date(first, now, "--from", timezone=config.digest.timezone)
        if first > last:
            raise UsageError(f"--from {first} is after --to {last}")
        if (last - first).days > 366:
            raise UsageError("a backfill covers at most 366 days at once")
    except PaperDigestError as exc:
        fail(str(exc), exc.exit_code)
    failed: list[str] = []
    llm = _llm_client(config)
    with interruptible():
        try:
            failed = _backfill_days(config, first, last, now, no_llm=no_llm, force=force, llm=llm)
        finally:
            llm.close()
    if failed:
        fail(f"{counted(len(failed), 'day')} could not be written: {', '.join(failed)}", EXIT_FAILED)


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
            say(f"{day}: nothing announced (weekend), skipped")
            day += dt.timedelta(days=1)
            continue
        if not force and pipeline.day_is_complete(config, day):
            say(f"{day}: complete, skipped")
            day += dt.timedelta(days=1)
            continue
        say(f"{day}: running")
        try:
            result = _run_one(config, day, today, no_llm=no_llm, offline=False, llm=llm)
        except PaperDigestError as exc:
            if exc.exit_code == EXIT_USAGE:
                fail(str(exc), exc.exit_code)
            typer.echo(f"{day}: not written: {exc}", err=True)
            failed.append(day.isoformat())
            day += dt.timedelta(days=1)
            continue
        _report(result)
        if pipeline.quota_spent(result.digest):
            reset = pipeline.quota_reset(result.digest)
            when = f" (it resets at {reset.isoformat(timespec='minutes')})" if reset else ""
            say(f"{day}: Gemini daily quota spent{when}; stopping here, the next run continues from {day}")
            break
        day += dt.timedelta(days=1)
    return failed
