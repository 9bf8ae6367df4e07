"""Raw responses kept on disk, so a day can be re-scored or re-rendered offline without fetching again.

A :class:`RawArchive` is one folder (the pipeline uses ``<cache_dir>/raw/<date>/``). Every successful response
of a run is stored there under a key derived from the URL and its query parameters; :class:`OfflineClient`
serves the same ``get(url, params)`` calls back from that folder and raises :class:`SourceError` for a request
that was never archived.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import urlsplit

from ..errors import SourceError
from ..store import atomic_write_bytes

logger = logging.getLogger(__name__)

_UNSAFE = re.compile(r"[^A-Za-z0-9.-]+")


def request_key(url: str, params: Mapping[str, str] | None = None) -> str:
    """A stable file-name-safe key for one request: ``<host>-<sha256 of url and sorted params>``."""
    canonical = json.dumps([url, sorted((params or {}).items())], ensure_ascii=False)
    digest = hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:24]
    host = _UNSAFE.sub("_", urlsplit(url).hostname or "local")
    return f"{host}-{digest}"


class RawArchive:
    """One folder of raw responses. Writes are atomic (:func:`store.atomic_write_bytes`)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def _body_path(self, key: str) -> Path:
        return self.folder / f"{key}.body"

    def save(self, url: str, params: Mapping[str, str] | None, body: bytes) -> Path:
        """Keep one successful response body (and a small JSON note of what was asked)."""
        key = request_key(url, params)
        path = self._body_path(key)
        atomic_write_bytes(path, body)
        meta = {"url": url, "params": dict(params or {}), "bytes": len(body)}
        atomic_write_bytes(self.folder / f"{key}.json", json.dumps(meta, ensure_ascii=False).encode("utf-8"))
        logger.debug("archived %s as %s", url, path.name)
        return path

    def load(self, url: str, params: Mapping[str, str] | None = None) -> bytes | None:
        """The archived body for this request, or None."""
        try:
            return self._body_path(request_key(url, params)).read_bytes()
        except FileNotFoundError:
            return None
        except OSError as exc:
            logger.warning("cannot read archived response for %s: %s", url, exc.__class__.__name__)
            return None

    def has(self, url: str, params: Mapping[str, str] | None = None) -> bool:
        return self._body_path(request_key(url, params)).is_file()


class OfflineClient:
    """Serves ``get()`` from a :class:`RawArchive`; never touches the network."""

    def __init__(self, archive: RawArchive) -> None:
        self.archive = archive
        #: always 0: an offline client makes no HTTP requests
        self.requests_made = 0
        #: responses served from the archive
        self.served = 0

    def has(self, url: str, params: Mapping[str, str] | None = None) -> bool:
        return self.archive.has(url, params)

    def get(
        self,
        url: str,
        params: Mapping[str, str] | None = None,
        *,
        label: str | None = None,
        archive: bool = True,
        max_bytes: int | None = None,
    ) -> bytes:
        """The archived body (``archive`` and ``max_bytes`` matter to the live client only)."""
        body = self.archive.load(url, params)
        if body is None:
            name = label or urlsplit(url).hostname or url
            raise SourceError(
                f"{name}: no archived response for this request in {self.archive.folder} (offline run)",
                url=url,
                kind="offline",
            )
        self.served += 1
        return body

    def space_host(self, url: str, seconds: float, *, group: str | None = None) -> None:
        """No-op: nothing to space out offline."""
