"""The installed console script, as cron and the GitHub Action run it: a real process, real exit codes."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from world import API_KEY, World

from paper_digest import __version__

SCRIPT = Path(sys.executable).parent / "paper-digest"
pytestmark = pytest.mark.skipif(
    not SCRIPT.exists(), reason="the console script is not installed next to python"
)


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    with World(tmp_path, monkeypatch=monkeypatch) as w:
        w.serve_day("2026-06-12")
        yield w


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(SCRIPT), *args], capture_output=True, text=True, timeout=120, env=dict(os.environ), cwd=cwd
    )


def test_version() -> None:
    result = run("--version")
    assert result.returncode == 0 and result.stdout.strip() == f"paper-digest {__version__}"


def test_bad_date_is_one_line_exit_2(world: World) -> None:
    result = run("run", "--date", "2026-02-30", "--config", str(world.config_path))
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "Error: invalid --date '2026-02-30': expected a date like 2026-06-12"
    ]
    assert result.stdout == ""


def test_default_config_path_missing_is_exit_2(tmp_path: Path) -> None:
    result = run("run", "--date", "2026-06-12", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "Error: config file not found: config.toml (copy config.example.toml to start)"
    ]


def test_full_run_in_a_real_process(world: World) -> None:
    result = run("run", "--date", "2026-06-12", "--config", str(world.config_path))
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        str(world.out / "2026-06-12.md"),
        str(world.out / "2026-06-12.json"),
        str(world.out / "README.md"),
        str(world.out / "feed.xml"),
    ]
    assert world.gemini.count() == 3
    assert API_KEY not in result.stdout + result.stderr
    assert "Traceback" not in result.stderr
