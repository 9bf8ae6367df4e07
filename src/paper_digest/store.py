"""Disk I/O at the edge: atomic writes, the output folder lock, reading earlier digests.

Every file this package writes goes through :func:`atomic_write_bytes`: a temporary file in the same folder,
fsync, then ``os.replace``. A run killed halfway leaves the previous file intact.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import json
import logging
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

from pydantic import ValidationError

from .errors import ConfigError, LockedError, StoreError
from .models import Digest

logger = logging.getLogger(__name__)

LOCK_NAME = ".paper-digest.lock"


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically (temp file + fsync + rename)."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as exc:
        raise StoreError(f"cannot write to {path.parent}: {exc.strerror or exc.__class__.__name__}") from None
    tmp = Path(tmp_name)
    try:
        os.fchmod(fd, _file_mode(path))
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise StoreError(f"cannot write {path}: {exc.strerror or exc.__class__.__name__}") from None
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise


def _file_mode(path: Path) -> int:
    """Keep an existing file's permissions; a new file gets what open() would give it (0666 minus umask),
    not mkstemp's private 0600."""
    try:
        return path.stat().st_mode & 0o777
    except OSError:
        umask = os.umask(0o022)
        os.umask(umask)
        return 0o666 & ~umask


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def read_json(path: Path) -> object | None:
    """Read a JSON file; None when missing or corrupt (a corrupt file is logged, never fatal)."""
    try:
        data: object = json.loads(path.read_bytes())
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        logger.warning("ignoring unreadable %s: %s", path, exc.__class__.__name__)
        return None
    return data


def check_writable(folder: Path, setting: str = "digest.output_dir") -> None:
    """Fail early, before any network work, when a folder the run writes (the output folder, or the cache:
    ``setting`` names it) cannot be written.

    This is a setup problem (exit 2, like a bad config), unlike a write failing mid-run (exit 1). A folder
    created for the probe is removed again: a check or a run that fails leaves no empty folder behind."""
    created = _missing_dirs(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(prefix=".probe.", dir=folder)
        os.close(fd)
        os.unlink(name)
    except OSError as exc:
        raise ConfigError(
            f"{setting}: {folder} is not writable: {exc.strerror or exc.__class__.__name__}"
        ) from None
    finally:
        remove_empty_dirs(created)


def _missing_dirs(folder: Path) -> list[Path]:
    """The folders, deepest first, that ``folder.mkdir(parents=True)`` would create."""
    missing: list[Path] = []
    path = folder
    while not path.exists() and path != path.parent:
        missing.append(path)
        path = path.parent
    return missing


def remove_empty_dirs(folders: list[Path]) -> None:
    """Remove these folders, deepest first, where empty (a folder holding anything is left alone)."""
    for path in folders:
        try:
            path.rmdir()
        except OSError:
            return


@contextlib.contextmanager
def created_folder(folder: Path) -> Iterator[None]:
    """Create ``folder`` (and missing parents) for a block; if the block fails, remove the ones it created
    that are still empty, so a failed run leaves no empty output folder behind."""
    created = _missing_dirs(folder)
    try:
        yield
    except BaseException:
        remove_empty_dirs(created)
        raise


@contextlib.contextmanager
def output_lock(folder: Path) -> Iterator[None]:
    """Hold an exclusive lock on the output folder for the duration of a run.

    An OS lock (``flock``) on ``.paper-digest.lock``: the kernel releases it when the process ends, however it
    ends, so a crashed run never blocks the next one and two runs can never both hold it. The file holds the
    owner's pid (for people); it is removed while still locked at the end, and a lock taken on a file that was
    removed meanwhile is taken again on the new one.
    """
    folder.mkdir(parents=True, exist_ok=True)
    lock = folder / LOCK_NAME
    fd = _take_lock(lock, folder)
    try:
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        yield
    finally:
        with contextlib.suppress(FileNotFoundError):
            lock.unlink()
        os.close(fd)  # releases the flock


def _take_lock(lock: Path, folder: Path) -> int:
    for _ in range(3):
        try:
            fd = os.open(lock, os.O_CREAT | os.O_RDWR, 0o644)
        except OSError as exc:
            raise StoreError(f"cannot lock {folder}: {exc.strerror or exc.__class__.__name__}") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise LockedError(
                f"another paper-digest run is using {folder} (lock file {lock}); wait for it to finish"
            ) from None
        except OSError as exc:
            os.close(fd)
            raise StoreError(f"cannot lock {folder}: {exc.strerror or exc.__class__.__name__}") from None
        try:
            same = os.stat(lock).st_ino == os.fstat(fd).st_ino
        except FileNotFoundError:
            same = False
        if same:
            return fd
        os.close(fd)  # the holder before us removed the file we locked: lock the new one
    raise LockedError(f"cannot take the lock {lock}")


def digest_paths(folder: Path, day: dt.date) -> tuple[Path, Path]:
    """The Markdown digest and its JSON sidecar for a day."""
    return folder / f"{day.isoformat()}.md", folder / f"{day.isoformat()}.json"


def load_digest(path: Path) -> Digest | None:
    """Load a JSON sidecar back into a Digest; None when missing, corrupt or of another schema."""
    data = read_json(path)
    if data is None:
        return None
    try:
        return Digest.model_validate(data)
    except ValidationError:
        logger.warning("ignoring sidecar %s: does not match the current schema", path)
        return None


def list_digests(folder: Path) -> list[Digest]:
    """All digests in a folder (from their sidecars), newest first."""
    found = []
    for path in sorted(folder.glob("????-??-??.json"), reverse=True):
        digest = load_digest(path)
        if digest is not None:
            found.append(digest)
    return found
