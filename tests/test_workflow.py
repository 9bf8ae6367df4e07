"""The scheduled GitHub Action: valid YAML, the documented schedule, least privilege, pinned actions."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from paper_digest import cli

WORKFLOW = Path(__file__).resolve().parents[1] / ".github" / "workflows" / "daily-digest.yml"


def load() -> dict[Any, Any]:
    data = yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def test_schedule_is_weekdays_after_both_sources_published() -> None:
    triggers = load()[True]  # YAML 1.1 reads the key `on` as True
    assert triggers["schedule"] == [{"cron": "0 23 * * 1-5"}]
    date_input = triggers["workflow_dispatch"]["inputs"]["date"]
    assert date_input["required"] is False and date_input["type"] == "string"


def test_least_privilege_one_run_at_a_time_and_a_timeout() -> None:
    data = load()
    assert data["permissions"] == {"contents": "read"}
    assert data["concurrency"]["cancel-in-progress"] is False
    (job,) = data["jobs"].values()
    assert job["permissions"] == {"contents": "write"}
    assert 0 < job["timeout-minutes"] <= 60


def test_actions_are_pinned_to_commit_shas() -> None:
    (job,) = load()["jobs"].values()
    uses = [step["uses"] for step in job["steps"] if "uses" in step]
    assert uses, "the workflow uses actions"
    for ref in uses:
        assert re.fullmatch(r"[\w.-]+/[\w./-]+@[0-9a-f]{40}", ref), ref


def test_runs_the_digest_with_the_secret_and_commits_only_digests() -> None:
    (job,) = load()["jobs"].values()
    steps = {step.get("name", step.get("uses")): step for step in job["steps"]}
    run_step = steps["Write the digest"]
    assert run_step["env"]["GEMINI_API_KEY"] == "${{ secrets.GEMINI_API_KEY }}"
    assert "paper-digest run" in run_step["run"]
    # user input reaches the shell through the environment only (no script injection)
    for step in job["steps"]:
        assert "${{ inputs." not in step.get("run", "")
    commit = steps["Commit digests/"]["run"]
    assert "git add digests/" in commit and "git add -A" not in commit and "git add ." not in commit
    assert "git pull --rebase" in commit
    cache_steps = [s["uses"] for s in job["steps"] if "cache" in s.get("uses", "")]
    assert any("cache/restore" in u for u in cache_steps) and any("cache/save" in u for u in cache_steps)


def test_delivery_secrets_reach_the_run_step_only() -> None:
    (job,) = load()["jobs"].values()
    steps = {step.get("name", step.get("uses")): step for step in job["steps"]}
    env = steps["Write the digest"]["env"]
    for name in ("PAPER_DIGEST_SMTP_PASSWORD", "PAPER_DIGEST_FEISHU_WEBHOOK", "PAPER_DIGEST_SLACK_WEBHOOK"):
        assert env[name] == "${{ secrets." + name + " }}"
        assert name not in job["env"]  # not job-wide: only the step that sends sees them


def test_feed_links_derived_from_the_repository() -> None:
    (job,) = load()["jobs"].values()
    site = job["env"]["PAPER_DIGEST_SITE_URL"]
    assert site.startswith("${{ vars.PAPER_DIGEST_SITE_URL || format(")
    assert "github.server_url, github.repository, github.ref_name" in site and "/blob/{2}/digests/" in site
    assert job["env"]["PAPER_DIGEST_FEED_URL"] == "${{ vars.PAPER_DIGEST_FEED_URL }}"


@pytest.mark.slow
def test_manual_run_records_likes_and_dislikes_and_commits_the_ratings_file(tmp_path: Path) -> None:
    triggers = load()[True]
    for name in ("like", "dislike"):
        spec = triggers["workflow_dispatch"]["inputs"][name]
        assert spec["required"] is False and spec["type"] == "string"
    (job,) = load()["jobs"].values()
    steps = {step.get("name", step.get("uses")): step for step in job["steps"]}
    names = list(steps)
    assert names.index("Record ratings") < names.index("Write the digest")
    record = steps["Record ratings"]
    assert record["env"]["LIKE_IDS"] == "${{ inputs.like }}"
    assert record["env"]["DISLIKE_IDS"] == "${{ inputs.dislike }}"
    commit = steps["Commit digests/"]["run"]
    assert 'git add "$ratings_file"' in commit

    # the step's own script, run by bash with the installed command: spaces and commas both separate ids
    config = tmp_path / "config.toml"
    config.write_text('[learning]\nratings = "my-ratings.txt"\n', encoding="utf-8")
    bin_dir = Path(sys.executable).parent
    env = {
        "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",
        "HOME": str(tmp_path),
        "LIKE_IDS": " 2606.12575v2, 2606.13001 ",
        "DISLIKE_IDS": "*",  # not a file pattern: rejected as an id
        "DIGEST_CONFIG": str(config),
    }
    script = ["bash", "-e", "-c", record["run"]]
    done = subprocess.run(script, env=env, cwd=tmp_path, capture_output=True, text=True, check=False)
    assert done.returncode == 2, done.stderr
    assert "Error: '*' is not an arXiv id" in done.stderr
    lines = (tmp_path / "my-ratings.txt").read_text(encoding="utf-8").splitlines()
    assert [line.split()[:2] for line in lines if not line.startswith("#")] == [
        ["like", "2606.12575"],
        ["like", "2606.13001"],
    ]
    # the commit step's `paper-digest ratings --config "$DIGEST_CONFIG" --path` names that file (in this
    # process: the installed command has just been run above)
    path = CliRunner().invoke(cli.app, ["ratings", "--config", str(config), "--path"])
    assert path.exit_code == 0, path.output
    assert path.stdout.strip() == str(tmp_path / "my-ratings.txt")
