"""The JSON sidecar written beside each digest (``DATE.json``), and its JSON Schema
(``schema/digest.schema.json``). Reading sidecars back is :func:`paper_digest.store.load_digest`."""

from __future__ import annotations

import json

from .errors import RenderError
from .models import SIDECAR_SCHEMA_VERSION, Digest

__all__ = ["SCHEMA_ID", "render_sidecar", "sidecar_json_schema", "sidecar_schema_text"]

SCHEMA_ID = "https://github.com/paper-digest/paper-digest/schema/digest.schema.json"


def render_sidecar(digest: Digest) -> str:
    """The JSON sidecar: the whole Digest, keys sorted, UTF-8 text (not \\u escapes), trailing newline."""
    data = digest.model_dump(mode="json")
    try:
        text = json.dumps(data, ensure_ascii=False, sort_keys=True, indent=2, allow_nan=False)
    except ValueError as exc:
        raise RenderError(f"sidecar for {digest.date}: {exc}") from None
    return text + "\n"


def sidecar_json_schema() -> dict[str, object]:
    """The JSON Schema of the sidecar, generated from :class:`models.Digest`."""
    schema = Digest.model_json_schema(mode="serialization")
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": "paper-digest daily digest sidecar",
        "description": (
            "The <date>.json file written beside each <date>.md digest. "
            f"Layout version {SIDECAR_SCHEMA_VERSION}"
            " (field schema_version); the major part changes on breaking changes. Generated from"
            " paper_digest.models.Digest; do not edit by hand."
        ),
        **{k: v for k, v in schema.items() if k not in ("title", "description")},
    }


def sidecar_schema_text() -> str:
    """The exact text of the committed ``schema/digest.schema.json``."""
    return json.dumps(sidecar_json_schema(), ensure_ascii=False, indent=2) + "\n"
