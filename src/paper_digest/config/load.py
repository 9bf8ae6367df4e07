"""Reading the config: TOML, then everything that sets a value merged in by precedence (CLI flag >
environment > config file > defaults) and validated once; relative paths anchored to the file's folder.

The API key is never part of the config: :func:`api_key_from_env` reads it from the environment.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import NamedTuple

from pydantic import ValidationError

from ..errors import ConfigError
from ..markup import safe_url
from .problems import format_validation_error
from .schema import Config
from .upgrade import retired_model_notes, set_value, upgrade_keys

API_KEY_VARIABLES = ("GEMINI_API_KEY", "GOOGLE_API_KEY")


#: environment variables that set a config value: variable -> (table path, key)
ENV_KEYS: dict[str, tuple[tuple[str, ...], str]] = {
    "HF_ENDPOINT": (("sources", "huggingface"), "endpoint"),
    "GOOGLE_GENAI_API_VERSION": (("llm",), "api_version"),
    "PAPER_DIGEST_SITE_URL": (("digest",), "site_url"),
    "PAPER_DIGEST_FEED_URL": (("digest",), "feed_url"),
}

#: what a command-line flag sets: (table path, key) -> value
Flags = Mapping[tuple[tuple[str, ...], str], object]


class LoadedConfig(NamedTuple):
    """A validated config and the notes its file earned: a removed key, a retired model (one line each,
    without the file's name; the CLI prints them, ``check`` lists them)."""

    config: Config
    notes: tuple[str, ...] = ()


def parse_config(
    data: Mapping[str, object],
    *,
    origin: str = "config",
    env: Mapping[str, str] | None = None,
    flags: Flags | None = None,
) -> LoadedConfig:
    """Validate a config's data once, with everything that sets a value merged in first by precedence:
    command-line flags > environment > the file > defaults (fastapi-cli's ``resolve``); with its notes."""
    merged, notes = upgrade_keys(data)
    for name, (tables, key) in ENV_KEYS.items():
        # an empty variable counts as unset (the Action passes an unset repository variable as "")
        value = (env or {}).get(name, "").strip()
        if not value:
            continue
        if key.endswith("_url") and tables == ("digest",) and safe_url(value) is None:
            raise ConfigError(f"{name}: expected an http(s) URL, got {value!r}")
        set_value(merged, tables, key, value)
    for (tables, key), flag in (flags or {}).items():
        set_value(merged, tables, key, flag)
    try:
        config = Config.model_validate(merged)
    except ValidationError as exc:
        problems = format_validation_error(exc)
        raise ConfigError(f"{origin}: {problems[0]}", problems=problems) from None
    return LoadedConfig(config, (*notes, *retired_model_notes(config)))


def read_config(path: Path, env: Mapping[str, str] | None = None, flags: Flags | None = None) -> LoadedConfig:
    """Read, merge (flags > environment > file > defaults), validate once, and anchor relative paths to the
    file's folder; with the notes an old file earned."""
    if not path.is_file():
        raise ConfigError(f"config file not found: {path} (copy config.example.toml to start)")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read: {exc.__class__.__name__}") from None
    loaded = parse_config(data, origin=str(path), env=os.environ if env is None else env, flags=flags)
    return LoadedConfig(anchor_paths(loaded.config, base_dir=path.resolve().parent), loaded.notes)


def load_config(path: Path, env: Mapping[str, str] | None = None, flags: Flags | None = None) -> Config:
    """:func:`read_config` without the notes (the CLI reads them and prints them)."""
    return read_config(path, env, flags).config


def anchor_paths(config: Config, *, base_dir: Path) -> Config:
    """Relative paths of a config are relative to its file's folder (a flag's path is made absolute by the
    CLI, relative to the working directory)."""

    def anchored(path: Path) -> Path:
        return path if path.is_absolute() else base_dir / path

    digest = config.digest
    tdir = anchored(digest.template_dir) if digest.template_dir is not None else None
    out = anchored(digest.output_dir)
    return config.model_copy(
        update={
            "digest": digest.model_copy(update={"output_dir": out, "template_dir": tdir}),
            "cache": config.cache.model_copy(update={"dir": anchored(config.cache.dir)}),
            "learning": config.learning.model_copy(update={"ratings": anchored(config.learning.ratings)}),
        }
    )


def api_key_from_env(env: Mapping[str, str] | None = None) -> str | None:
    """The Gemini API key from the environment (GEMINI_API_KEY first, then GOOGLE_API_KEY), or None."""
    source = os.environ if env is None else env
    for name in API_KEY_VARIABLES:
        value = source.get(name, "").strip()
        if value:
            return value
    return None
