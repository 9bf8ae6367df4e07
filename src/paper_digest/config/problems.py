"""How an invalid config file is explained: one line per field, an unknown key with the key it is most
likely a typo of, and a secret put in the file pointed back to the environment."""

from __future__ import annotations

import difflib

from pydantic import BaseModel, ValidationError

from .schema import Config


def _field_path(loc: tuple[int | str, ...]) -> str:
    return ".".join(str(part) for part in loc) or "(top level)"


#: what a key in the TOML that looks like the API key gets told (the key lives in the environment only)
_KEY_LIKE = frozenset({"api_key", "apikey", "key", "gemini_api_key", "google_api_key", "gemini_key", "token"})
MSG_KEY_IN_TOML = (
    "unknown key: the Gemini API key is read from the environment only "
    "(export GEMINI_API_KEY=...); remove it from the file"
)


def _known_keys(loc: tuple[int | str, ...]) -> list[str]:
    """The keys the table at ``loc`` (the unknown key's parent) accepts."""
    model: type[BaseModel] = Config
    for part in loc:
        field = model.model_fields.get(str(part))
        annotation = field.annotation if field is not None else None
        if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
            return []
        model = annotation
    return list(model.model_fields)


def _unknown_key(loc: tuple[int | str, ...]) -> str:
    """``digest.min_scroe: unknown key (did you mean min_score?)``; a key-like name points at the
    environment."""
    where = _field_path(loc)
    name = str(loc[-1]) if loc else ""
    key = name.lower().replace("-", "_")
    if loc[:1] == ("delivery",) and key in ("password", "smtp_password"):
        return f"{where}: unknown key: the SMTP password is read from PAPER_DIGEST_SMTP_PASSWORD only"
    if loc[:2] == ("delivery", "webhooks") and key in ("url", "webhook", "webhook_url"):
        return (
            f"{where}: unknown key: a webhook URL carries its token; put it in an environment variable "
            "and name that variable in url_env"
        )
    if key in _KEY_LIKE:
        return f"{where}: {MSG_KEY_IN_TOML}"
    close = difflib.get_close_matches(name, _known_keys(loc[:-1]), n=1, cutoff=0.6)
    return f"{where}: unknown key (did you mean {close[0]}?)" if close else f"{where}: unknown key"


def format_validation_error(error: ValidationError) -> list[str]:
    """One line per invalid field, e.g.
    ``llm.requests_per_day: Input should be greater than or equal to 1 (got 0)``."""
    lines = []
    for item in error.errors():
        where = _field_path(tuple(item["loc"]))
        if item["type"] == "extra_forbidden":
            lines.append(_unknown_key(tuple(item["loc"])))
            continue
        message = item["msg"].removeprefix("Value error, ")
        got = item.get("input")
        shown = "" if isinstance(got, (dict, list)) or got is None else f" (got {got!r})"
        if shown and repr(got) in message:  # the validator already quoted the value
            shown = ""
        lines.append(f"{where}: {message}{shown}")
    return lines
