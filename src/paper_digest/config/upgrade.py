"""Old configs keep loading: a removed key is dropped, and a model Google retired is named, each with one
note for the user (a line the CLI prints, and ``paper-digest check`` lists), never an error."""

from __future__ import annotations

from collections.abc import Mapping

from .schema import Config, LLMConfig

#: keys that were removed, with the one line an old config gets instead of an error
REMOVED_KEYS: dict[tuple[str, str], str] = {
    ("scoring", key): "the Gemini embedding stage was removed; the key is ignored"
    for key in (
        "embeddings",
        "embedding_model",
        "embed_top",
        "embedding_dimensions",
        "embedding_requests_per_window",
        "embedding_window_seconds",
        "embedding_requests_per_day",
    )
}
REMOVED_KEYS |= {
    ("sources.huggingface", "limit"): "the page size is fixed (100, the API's default); the key is ignored",
    ("sources.arxiv", "mode"): "RSS is read for today's announcement and the export API for other days; "
    "the key is ignored",
    ("sources.arxiv", "page_size"): "the export API is paged by 200 entries; the key is ignored",
    ("llm", "base_url"): "set GOOGLE_GEMINI_BASE_URL in the environment instead (the SDK reads it); "
    "the key is ignored",
    ("llm", "max_retry_seconds"): "retries are bounded by llm.max_attempts (and 300 s per request); "
    "the key is ignored",
}


#: models the Gemini API has shut down or deprecated, that an old config may still name. Sources: the
#: deprecations page, https://ai.google.dev/gemini-api/docs/deprecations (the 2.0 Flash models shut down on
#: June 1, 2026; gemini-2.5-flash and gemini-2.5-pro deprecated with 2026 shutdowns, gemini-2.5-flash the
#: project's default before gemini-3.8-flash), and aideprecations.com's summary of it read Nov 10, 2026
#: (gemini-2.5-flash-lite "remains available through the API until further notice": not listed here).
RETIRED_MODELS = frozenset(
    {
        "gemini-1.5-flash",
        "gemini-1.5-flash-8b",
        "gemini-1.5-pro",
        "gemini-2.0-flash",
        "gemini-2.0-flash-001",
        "gemini-2.0-flash-lite",
        "gemini-2.0-flash-lite-001",
        "gemini-2.5-flash",
        "gemini-2.5-pro",
    }
)


def _table(data: Mapping[str, object], path: tuple[str, ...]) -> Mapping[str, object] | None:
    """The table at ``path`` (e.g. ``("sources", "arxiv")``), or None."""
    found: object = data
    for part in path:
        if not isinstance(found, Mapping):
            return None
        found = found.get(part)
    return found if isinstance(found, Mapping) else None


def set_value(data: dict[str, object], tables: tuple[str, ...], key: str, value: object) -> None:
    """``data[tables...][key] = value``, copying each table on the way (the caller's dicts stay as given)."""
    if not tables:
        data[key] = value
        return
    inner = data.get(tables[0])
    copied = dict(inner) if isinstance(inner, Mapping) else {}
    set_value(copied, tables[1:], key, value)
    data[tables[0]] = copied


def upgrade_keys(data: Mapping[str, object]) -> tuple[dict[str, object], list[str]]:
    """An old config's removed keys dropped, and one note per key (``llm.base_url: set ...``)."""
    upgraded = dict(data)
    notes: list[str] = []
    for (table, key), why in REMOVED_KEYS.items():
        path = tuple(table.split("."))
        section = _table(upgraded, path)
        if section is not None and key in section:
            set_value(upgraded, path[:-1], path[-1], {k: v for k, v in section.items() if k != key})
            notes.append(f"{table}.{key}: {why}")
    return upgraded, notes


def retired_model_notes(config: Config) -> list[str]:
    """One note per retired model the config names, with the current default to set instead. (A run still
    asks it: the LLM client's answer to a 404 is its own, in the digest.)"""
    llm, defaults = config.llm, LLMConfig()
    notes: list[str] = []
    for key, model, default in (
        ("llm.model", llm.model, defaults.model),
        ("llm.rerank_model", llm.rerank_model, defaults.rerank_model),
    ):
        if model in RETIRED_MODELS:
            notes.append(
                f'{key}: {model} is retired by Google; set {key} = "{default}" (the current default) '
                "or delete the line"
            )
    for key in ("fallback_models", "rerank_fallback_models"):
        for model in getattr(llm, key):
            if model in RETIRED_MODELS:
                notes.append(f"llm.{key}: {model} is retired by Google; remove it from the list")
    return notes
