"""The commands that record what the researcher thought of papers: ``like``, ``dislike``, ``unrate`` and
``ratings``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from .. import ratings, store
from ..config import Config
from ..errors import PaperDigestError
from .app import ConfigOption, app, fail, load, say, today

IdsArgument = Annotated[
    list[str], typer.Argument(help="arXiv ids, with or without version (2606.12575, 2606.12575v2).")
]

VERDICT_WORDS = {"like": "liked", "dislike": "disliked", None: "not rated"}


def _rate(config_path: Path, ids: list[str], verdict: ratings.Verdict | None) -> None:
    config = load(config_path)
    path = config.learning.ratings
    try:
        current = ratings.load_ratings(path)
        if verdict is None:
            updated, changes = ratings.unrate(current, ids)
        else:
            wanted = [ratings.normalise_id(raw) for raw in ids]
            titles = ratings.known_titles(store.list_digests(config.digest.output_dir), wanted)
            updated, changes = ratings.rate(current, verdict, ids, day=today(config), titles=titles)
        ratings.save_ratings(path, updated)
    except PaperDigestError as exc:
        fail(str(exc), exc.exit_code)
    for change in changes:
        if change.before == change.after:
            typer.echo(f"{change.id}: already {VERDICT_WORDS[change.after]}")
        else:
            typer.echo(f"{change.id}: {VERDICT_WORDS[change.before]} -> {VERDICT_WORDS[change.after]}")
    say(_ratings_summary(updated, config) + f" ({path})")


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
    config = load(config_path)
    if path:
        typer.echo(str(config.learning.ratings))
        return
    try:
        items = ratings.load_ratings(config.learning.ratings)
    except PaperDigestError as exc:
        fail(str(exc), exc.exit_code)
    for rating in items:
        day = rating.day.isoformat() if rating.day else "-"
        typer.echo(f"{rating.verdict:<8} {rating.id:<11} {day:<10}  {rating.title}".rstrip())
    say(_ratings_summary(items, config))
