"""The console entry point, as cron and the GitHub Action run it: real exit codes, one-line errors.

One whole run goes through the installed script in a real process (the script exists, imports and exits
with the right code); the quick checks call the same entry point, ``cli.main``, in this process (a new
interpreter costs ~1.5 s of imports each and proves nothing more about them)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from world import API_KEY, World

from paper_digest import __version__, cli

SCRIPT = Path(sys.executable).parent / "paper-digest"


def run(*args: str) -> subprocess.CompletedProcess[str]:
    """``paper-digest ARGS`` as a real process (the installed console script)."""
    return subprocess.run(
        [str(SCRIPT), *args], capture_output=True, text=True, timeout=120, env=dict(os.environ)
    )


def run_main(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *args: str
) -> subprocess.CompletedProcess[str]:
    """``paper-digest ARGS`` through the console entry point in this process: its exit code and output."""
    monkeypatch.setattr(sys, "argv", [str(SCRIPT), *args])
    with pytest.raises(SystemExit) as exited:
        cli.main()
    out, err = capsys.readouterr()
    code = exited.value.code
    return subprocess.CompletedProcess(sys.argv, code if isinstance(code, int) else 1, out, err)


def test_version(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    result = run_main(monkeypatch, capsys, "--version")
    assert result.returncode == 0 and result.stdout.strip() == f"paper-digest {__version__}"


def test_bad_date_is_one_line_exit_2(
    world: World, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    result = run_main(monkeypatch, capsys, "run", "--date", "2026-02-30", "--config", str(world.config_path))
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "Error: invalid --date '2026-02-30': expected a date like 2026-06-12"
    ]
    assert result.stdout == ""


def test_default_config_path_missing_is_exit_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    result = run_main(monkeypatch, capsys, "run", "--date", "2026-06-12")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "Error: config file not found: config.toml (copy config.example.toml to start)"
    ]


@pytest.mark.slow
@pytest.mark.skipif(not SCRIPT.exists(), reason="the console script is not installed next to python")
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
