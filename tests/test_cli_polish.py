"""What a user reads from the CLI around the edges: an old config's notes, ids that are not arXiv ids,
Ctrl-C, a network without DNS, and what the full-text phase says while it works."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from typer.testing import CliRunner
from world import World

from paper_digest import cli

DAY = "2026-06-12"


def invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli.app, list(args))
    return result.exit_code, result.stdout, result.stderr


def write_config(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(f'[digest]\noutput_dir = "digests"\n[cache]\ndir = "cache"\n{text}', encoding="utf-8")
    return path


OLD_CONFIG = """
[llm]
model = "gemini-2.5-flash"
base_url = "https://proxy.example.com"
fallback_models = ["gemini-2.0-flash", "gemini-3.6-flash"]
"""


def test_an_old_config_gets_plain_notes_not_log_lines(tmp_path: Path) -> None:
    path = write_config(tmp_path, OLD_CONFIG)
    code, stdout, stderr = invoke("ratings", "--path", "--config", str(path))
    assert code == 0 and stdout == f"{tmp_path / 'ratings.txt'}\n"
    assert stderr.splitlines() == [
        f"Note: {path}: llm.base_url: set GOOGLE_GEMINI_BASE_URL in the environment instead (the SDK reads "
        "it); the key is ignored",
        f'Note: {path}: llm.model: gemini-2.5-flash is retired by Google; set llm.model = "gemini-3.8-flash" '
        "(the current default) or delete the line",
        f"Note: {path}: llm.fallback_models: gemini-2.0-flash is retired by Google; remove it from the list",
    ]
    assert "WARNING" not in stderr and "paper_digest.config" not in stderr


def test_check_lists_the_notes_of_an_old_config(tmp_path: Path) -> None:
    path = write_config(tmp_path, OLD_CONFIG)
    code, stdout, stderr = invoke("check", "--config", str(path))
    assert code == 0, stdout
    assert stderr == ""  # listed once, on stdout with the other checks
    lines = stdout.splitlines()
    assert lines[:4] == [
        "ok   config: valid",
        "warn config: llm.base_url: set GOOGLE_GEMINI_BASE_URL in the environment instead (the SDK reads "
        "it); the key is ignored",
        'warn config: llm.model: gemini-2.5-flash is retired by Google; set llm.model = "gemini-3.8-flash" '
        "(the current default) or delete the line",
        "warn config: llm.fallback_models: gemini-2.0-flash is retired by Google; remove it from the list",
    ]


def test_a_current_config_has_no_notes(tmp_path: Path) -> None:
    path = write_config(tmp_path, '[llm]\nmodel = "gemini-3.8-flash"\n')
    code, stdout, stderr = invoke("check", "--config", str(path))
    assert code == 0 and stderr == ""
    assert "warn config" not in stdout


def no_dns_for_invalid(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Host names under ``.invalid`` (RFC 2606) fail to resolve, injected: no real resolver is asked."""
    real_getaddrinfo = socket.getaddrinfo
    asked: list[str] = []

    def no_dns(host: str, *args: object, **kwargs: object) -> object:
        if host.endswith(".invalid"):
            asked.append(host)
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return real_getaddrinfo(host, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(socket, "getaddrinfo", no_dns)
    return asked


def test_without_dns_a_run_fails_each_source_after_one_attempt(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    asked = no_dns_for_invalid(monkeypatch)
    with World(tmp_path, monkeypatch=monkeypatch) as world:
        world.serve_day(DAY)
        text = world.config_path.read_text(encoding="utf-8").replace(
            world.server.url, "http://mirror.invalid"
        )
        world.config_path.write_text(text, encoding="utf-8")
        result = world.run("run", "--date", DAY, "--no-llm")
    assert result.exit_code == 1
    assert world.clock.sleeps == []  # no backoff: nothing to wait for
    assert sorted(set(asked)) == ["mirror.invalid"] and len(asked) == 2  # one attempt per source
    lines = result.stderr.splitlines()
    for source in ("HuggingFace", "arXiv"):
        assert (
            f"[paper-digest] fetch: {source} failed: {source}: connection failed "
            "(name resolution failed: no network or no DNS) after 1 attempt"
        ) in lines
    assert lines[-1] == (
        "Error: every source failed; nothing written (an earlier digest of this day is untouched)"
    )
