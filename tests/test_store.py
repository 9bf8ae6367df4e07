from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from paper_digest import store
from paper_digest.errors import ConfigError, LockedError


def test_atomic_write_replaces_and_keeps_permissions(tmp_path: Path) -> None:
    target = tmp_path / "sub" / "a.md"
    store.atomic_write_text(target, "one")
    assert target.read_text() == "one"
    old = os.umask(0o022)
    os.umask(old)
    assert stat.S_IMODE(target.stat().st_mode) == 0o666 & ~old  # not mkstemp's private 0600
    target.chmod(0o640)
    store.atomic_write_text(target, "two")
    assert target.read_text() == "two" and stat.S_IMODE(target.stat().st_mode) == 0o640
    assert [p.name for p in target.parent.iterdir()] == ["a.md"]


def test_lock_refuses_a_second_holder_and_takes_over_a_stale_one(tmp_path: Path) -> None:
    with store.output_lock(tmp_path):
        second = store.output_lock(tmp_path)
        with pytest.raises(LockedError, match="another paper-digest run"):
            second.__enter__()
    assert not (tmp_path / store.LOCK_NAME).exists()
    (tmp_path / store.LOCK_NAME).write_text("999999999")  # left by a run that was killed
    with store.output_lock(tmp_path):
        assert (tmp_path / store.LOCK_NAME).read_text() == str(os.getpid())


HOLD_THE_LOCK = """
import sys
from pathlib import Path
from paper_digest import store
with store.output_lock(Path(sys.argv[1])):
    print("locked", flush=True)
    sys.stdin.read()  # hold it until killed
"""


def test_lock_held_by_a_live_process_blocks_and_dies_with_it(tmp_path: Path) -> None:
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_THE_LOCK, str(tmp_path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        with pytest.raises(LockedError, match="another paper-digest run"), store.output_lock(tmp_path):
            pass
    finally:
        holder.kill()  # SIGKILL: no finally block runs in the holder, the lock file stays behind
        holder.wait()
    assert (tmp_path / store.LOCK_NAME).read_text() == str(holder.pid)
    with store.output_lock(tmp_path):  # the kernel released the lock with the process
        assert (tmp_path / store.LOCK_NAME).read_text() == str(os.getpid())


def test_corrupt_sidecar_is_ignored(tmp_path: Path) -> None:
    (tmp_path / "2026-06-12.json").write_text("{not json")
    (tmp_path / "2026-06-13.json").write_text('{"date": "2026-06-13"}')  # another schema
    assert store.load_digest(tmp_path / "2026-06-12.json") is None
    assert store.list_digests(tmp_path) == []


def test_check_writable_names_the_folder(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(ConfigError, match=r"digest\.output_dir"):
        store.check_writable(blocker / "digests")
