"""The commands that look after the setup and the digests folder: ``check`` and ``index``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from .. import pipeline, store
from ..checks import run_checks
from ..config import api_key_from_env
from ..errors import PaperDigestError, UsageError
from ..markup import safe_url
from .app import EXIT_FAILED, ConfigOption, app, fail, load, read, run_clock


@app.command()
def check(
    config_path: ConfigOption = Path("config.toml"),
    online: Annotated[
        bool, typer.Option("--online", help="Also reach each configured endpoint once and report.")
    ] = False,
) -> None:
    """Validate the config (and name what an old file still says: removed keys, retired models), tell
    whether an API key is present (never printing it), and with --online reach each configured endpoint once.

    Exit 0 when all is well, 1 when an endpoint failed, 2 for a bad config."""
    loaded = read(config_path)
    results = run_checks(
        loaded.config, api_key=api_key_from_env(), online=online, clock=run_clock(), notes=loaded.notes
    )
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
    config = load(config_path)
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
        fail(str(exc), exc.exit_code)
    typer.echo(f"{files.readme} ({files.digests} digests)")
    typer.echo(f"{files.feed}")
