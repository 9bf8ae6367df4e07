"""What a user reads from the CLI, word for word: help pages, config mistakes, dates, endpoints."""

from __future__ import annotations

import socket

import pytest
from sources_helpers import Reply, break_dns
from typer.testing import CliRunner
from world import World

from paper_digest import cli

DAY = "2026-06-12"


def help_page(*args: str) -> str:
    result = CliRunner().invoke(cli.app, [*args, "--help"], terminal_width=100)
    assert result.exit_code == 0, result.output
    return result.stdout


@pytest.mark.parametrize("command", [[], ["run"], ["backfill"], ["check"], ["index"]])
def test_help_pages_keep_sentences_whole_and_flags_without_a_type(command: list[str]) -> None:
    page = help_page(*command)
    assert "<bool>" not in page
    # paragraphs are re-flowed to the terminal width: every line of a paragraph but its last fills the line
    # (the docstrings' own line breaks used to show: "1 nothing could be" / "written (every source failed)")
    description = page.split("\nOptions:")[0]
    for paragraph in description.split("\n\n")[1:]:
        lines = paragraph.strip("\n").splitlines()
        assert all(len(line) > 60 for line in lines[:-1]), paragraph
    if command == ["run"]:
        assert "1 nothing could be written (every source failed)" in " ".join(page.split())
        assert "  --no-llm  " in page and "  --offline  " in page


@pytest.mark.parametrize(
    ("toml", "line"),
    [
        ("[digest]\nmin_scroe = 3\n", "digest.min_scroe: unknown key (did you mean min_score?)"),
        ("[llm]\nmodle = 'x'\n", "llm.modle: unknown key (did you mean model?)"),
        ("[sourcs]\n", "sourcs: unknown key (did you mean sources?)"),
        ("[digest]\ncolour = 1\n", "digest.colour: unknown key"),
        (
            "[llm]\napi_key = 'AIza-secret'\n",
            "llm.api_key: unknown key: the Gemini API key is read from the environment only "
            "(export GEMINI_API_KEY=...); remove it from the file",
        ),
        ("[digest]\ntimezone = 'Mars/Olympus'\n", "digest.timezone: unknown timezone 'Mars/Olympus'"),
        (
            "[delivery.email]\npassword = 'AIza-secret'\n",
            "delivery.email.password: unknown key: "
            "the SMTP password is read from PAPER_DIGEST_SMTP_PASSWORD only",
        ),
        (
            "[[delivery.webhooks]]\nkind = 'slack'\nurl_env = 'SLACK'\n"
            "url = 'https://hooks.slack.com/services/AIza-secret'\n",
            "delivery.webhooks.0.url: unknown key: a webhook URL carries its token; put it in an environment "
            "variable and name that variable in url_env",
        ),
    ],
)
def test_config_mistakes_are_one_exact_line(world: World, toml: str, line: str) -> None:
    world.config_path.write_text(toml, encoding="utf-8")
    result = world.run("run", "--date", DAY)
    assert result.exit_code == 2
    assert result.stderr == f"Error: {world.config_path}: {line}\n"
    assert "AIza-secret" not in result.output


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (
            ["run", "--date", "2026-11-24"],
            "Error: --date 2026-11-24 is in the future (today is 2026-11-23 in Asia/Shanghai)",
        ),
        (
            ["run", "--date", "2019-12-31"],
            "Error: --date 2019-12-31 is too early: digests start on 2020-01-01",
        ),
        (
            ["backfill", "--from", "2019-12-01", "--to", "2019-12-31"],
            "Error: --to 2019-12-31 is too early: digests start on 2020-01-01",
        ),
        (
            ["backfill", "--from", "2019-12-31", "--to", "2020-01-02"],
            "Error: --from 2019-12-31 is too early: digests start on 2020-01-01",
        ),
    ],
)
def test_dates_outside_what_can_be_fetched_are_one_line(world: World, args: list[str], line: str) -> None:
    result = world.run(*args)
    assert result.exit_code == 2
    assert result.stderr == line + "\n"
    assert world.server.requests == [] and not world.out.exists()


def test_a_day_before_hf_daily_papers_has_arxiv_only_and_says_so(world: World) -> None:
    world.serve_day("2026-02-03")
    world.apis["2023-05-03"] = world.apis.pop("2026-02-03")  # that announcement's papers, served for 2023
    result = world.run("run", "--date", "2023-05-03", "--no-llm")
    assert result.exit_code == 0, result.output
    assert world.requests_to("/api/daily_papers") == 0
    (report,) = [r for r in world.sidecar("2023-05-03")["sources"] if r["source"] == "huggingface"]
    assert report["status"] == "no_announcement" and report["requests"] == 0
    assert "HuggingFace Daily Papers 始于 2023-05-04，此前的日期只有 arXiv 的论文。" in world.markdown(
        "2023-05-03"
    )


def test_check_online_names_why_a_connection_failed(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as probe:  # a port nobody listens on: the connection is refused
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    break_dns(monkeypatch, "papers.example")
    text = world.config_path.read_text(encoding="utf-8")
    text = text.replace(f'endpoint = "{world.server.url}"', 'endpoint = "http://papers.example"')
    text = text.replace(f'api_url = "{world.server.url}/api/query"', f'api_url = "http://127.0.0.1:{port}/q"')
    world.config_path.write_text(text + "\n", encoding="utf-8")
    result = world.run("check", "--online")
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert (
        "FAIL huggingface: papers.example: connection failed (name resolution failed: no network or no DNS) "
        "after 1 attempt"
    ) in lines  # a name that does not resolve is not retried
    assert f"FAIL arxiv: 127.0.0.1:{port}: connection failed (connection refused) after 2 attempts" in lines
    # the refused connection's one backoff, waited on the command's clock (a check never sleeps for real here)
    assert len(world.clock.sleeps) == 1
    verbose = world.run("-v", "check", "--online")
    assert "NameResolutionError <- gaierror" in verbose.stderr
    assert "NewConnectionError <- ConnectionRefusedError" in verbose.stderr


def test_a_failed_run_leaves_no_empty_output_folder_and_counts_attempts(world: World) -> None:
    world.server.prelude("/api/daily_papers", [Reply(503, b"{}")] * 5)
    world.server.prelude("/api/query", [Reply(503, b"{}")] * 5)
    result = world.run("run", "--date", DAY, "--no-llm")
    assert result.exit_code == 1
    assert not world.out.exists()
    check = world.run("check")
    assert check.exit_code == 0 and not world.out.exists()  # the writability probe cleans up after itself
    # one source failing: its report counts the attempts made
    world.server.prelude("/api/daily_papers", [Reply(503, b"{}")] * 5)
    assert world.run("run", "--date", DAY, "--no-llm").exit_code == 0
    (report,) = [r for r in world.sidecar(DAY)["sources"] if r["source"] == "huggingface"]
    assert (
        report["status"] == "failed" and report["requests"] == 5 == world.requests_to("/api/daily_papers") - 5
    )
