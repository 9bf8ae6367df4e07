"""Rendering: the Jinja2 environment and its escaping filters, the digest and the index. What the
templates print is computed in :mod:`paper_digest.view`; the JSON sidecar and its schema are
:mod:`paper_digest.sidecar`, the Atom feed :mod:`paper_digest.feed` (both re-exported here).

Escaping design: templates receive raw data (the Digest and the plain view objects). The Jinja
``finalize`` hook escapes every printed value for Markdown and HTML unless it is :class:`SafeMd` (what the
filters ``md_inline``, ``md_cell``, ``md_link`` return). Built-in templates still name the filter for each
context explicitly; a user template that forgets one is escaped anyway.

Everything here is deterministic: no clock, no randomness, stable ordering.
"""

from __future__ import annotations

import functools
import logging
import traceback
from collections.abc import Sequence
from pathlib import Path

import jinja2

from .errors import RenderError
from .feed import render_feed
from .markup import (
    SafeMd,
    anchor_id,
    clip,
    format_count,
    format_score,
    md_cell,
    md_inline,
    md_link,
    plain_text,
    safe_url,
)
from .models import Digest
from .paper_view import TITLE_LIMIT
from .sidecar import render_sidecar, sidecar_json_schema, sidecar_schema_text
from .view import digest_view, index_row, newest_first, top_papers

__all__ = [
    "BUILTIN_TEMPLATES",
    "render_digest",
    "render_feed",
    "render_index",
    "render_sidecar",
    "sidecar_json_schema",
    "sidecar_schema_text",
    "template_dirs",
    "top_papers",
]

logger = logging.getLogger(__name__)

BUILTIN_TEMPLATES = ("classic", "footnotes")
INDEX_TEMPLATE = "index.md.j2"


def template_dirs() -> list[Path]:
    """Folders holding the built-in templates: inside the installed package (wheel), then the source
    checkout's top-level ``templates/``."""
    here = Path(__file__).resolve()
    candidates = [here.parent / "templates", here.parents[2] / "templates"]
    return [path for path in candidates if path.is_dir()]


def _finalize(value: object) -> object:
    """Escape by default: whatever a template prints is inert Markdown unless already SafeMd."""
    if isinstance(value, SafeMd):
        return value
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, int | float):
        return str(value)
    return md_inline(value)


def _raw_md(value: object) -> SafeMd:
    """Opt out of escaping (for trusted text a template composes itself)."""
    return SafeMd("" if value is None else str(value))


def _environment(template_dir: Path | None) -> jinja2.Environment:
    """The environment for a user's template folder (new each time: the user may edit it), or the built-in
    templates' one, kept for the process: Jinja compiles a template on first use and keeps it, and a
    backfill renders every day with the same built-in templates."""
    return _new_environment(template_dir) if template_dir is not None else _builtin_environment()


@functools.cache
def _builtin_environment() -> jinja2.Environment:
    return _new_environment(None)


def _new_environment(template_dir: Path | None) -> jinja2.Environment:
    loaders: list[jinja2.BaseLoader] = []
    if template_dir is not None:
        loaders.append(jinja2.FileSystemLoader(str(template_dir)))
    loaders.append(jinja2.FileSystemLoader([str(p) for p in template_dirs()]))
    env = jinja2.Environment(
        loader=jinja2.ChoiceLoader(loaders),
        autoescape=False,
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        finalize=_finalize,
        auto_reload=False,
    )
    env.filters.update(
        md_inline=md_inline,
        md_cell=md_cell,
        md_url=lambda url: SafeMd(safe_url(url) or ""),
        md_link=md_link,
        raw_md=_raw_md,
        clip=clip,
        count=format_count,
        score=format_score,
        anchor=anchor_id,
    )
    env.globals.update(link=md_link)
    return env


def _template_file(name: str) -> str:
    return name if name.endswith(".j2") else f"{name}.md.j2"


def _location(exc: BaseException, fallback: str) -> tuple[str, int | None]:
    """The template file and line where a render error happened (Jinja rewrites tracebacks so that
    template frames carry the template's file name and line)."""
    for frame in reversed(traceback.extract_tb(exc.__traceback__)):
        if frame.filename and not frame.filename.endswith(".py") and frame.lineno:
            return Path(frame.filename).name, frame.lineno
    return fallback, None


def _render_error(exc: BaseException, name: str) -> RenderError:
    if isinstance(exc, jinja2.TemplateSyntaxError):
        where = Path(exc.filename).name if exc.filename else (exc.name or name)
        line: int | None = exc.lineno
        detail = exc.message or str(exc)
    else:
        where, line = _location(exc, name)
        detail = str(exc) or exc.__class__.__name__
    detail = plain_text(detail)[:300]
    position = f", line {line}" if line else ""
    return RenderError(f"template {where}{position}: {detail}", template=where, line=line)


def _render(env: jinja2.Environment, name: str, context: dict[str, object]) -> str:
    try:
        template = env.get_template(name)
    except jinja2.TemplateNotFound as exc:
        missing = exc.name if exc.name else name
        raise RenderError(
            f"template {missing} not found (built-in templates: {', '.join(BUILTIN_TEMPLATES)})",
            template=name,
        ) from None
    except jinja2.TemplateSyntaxError as exc:
        raise _render_error(exc, name) from None
    try:
        text = template.render(context)
    except RenderError:
        raise
    except Exception as exc:  # a user template can fail in any way; report where
        raise _render_error(exc, name) from None
    return text if text.endswith("\n") else text + "\n"


# --------------------------------------------------------------------------------------------- public API


def render_digest(
    digest: Digest,
    *,
    template: str = "classic",
    template_dir: Path | None = None,
    max_listed: int | None = None,
    list_min_score: float | None = None,
) -> str:
    """The day's Markdown digest. ``template`` is a built-in name ("classic", "footnotes") or the name of a
    template in ``template_dir`` (``name`` finds ``name.md.j2``; a name ending in ``.j2`` is used as is).
    ``max_listed`` caps the table of other papers (None lists all), ``list_min_score`` is its score floor.
    Raises RenderError naming the template and line when a template fails."""
    if not template or "/" in template or "\\" in template or template.startswith("."):
        raise RenderError(f"template name {template!r} is not a plain file name", template=template)
    view = digest_view(digest, max_listed=max_listed, list_min_score=list_min_score)
    env = _environment(template_dir)
    return _render(env, _template_file(template), {"digest": digest, "view": view})


def render_index(digests: Sequence[Digest]) -> str:
    """``digests/README.md``: every digest, newest first, with its count and top paper."""
    ordered = newest_first(digests)
    rows = [index_row(d) for d in ordered]
    title = clip(ordered[0].title, TITLE_LIMIT) if ordered else "论文日报"
    env = _environment(None)
    return _render(env, INDEX_TEMPLATE, {"rows": rows, "title": title, "digests": ordered})
