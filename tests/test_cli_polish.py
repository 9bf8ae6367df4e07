"""What a user reads from the CLI around the edges: an old config's notes, ids that are not arXiv ids,
Ctrl-C, a network without DNS, and what the full-text phase says while it works."""

from __future__ import annotations

import json
import signal
import threading
import time
from pathlib import Path

import pytest
from sources_helpers import Reply, break_dns
from typer.testing import CliRunner
from world import MODEL, World

from paper_digest import cli
from paper_digest.cli.app import MSG_INTERRUPTED
from paper_digest.cli.console import LLMProgress

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


def test_without_dns_a_run_fails_each_source_after_one_attempt(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    asked = break_dns(monkeypatch, ".invalid")  # injected: no real resolver is asked
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


def test_check_online_counts_in_words(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """'1 model', '2 models', '0 entries': not '1 models usable' or '0 entry'."""
    with World(tmp_path, monkeypatch=monkeypatch) as world:
        world.serve_day(DAY)
        one = world.run("check", "--online")
        world.gemini.served_models = ["gemini-3.8-flash", "gemini-3.5-flash-lite"]
        two = world.run("check", "--online")
    url = world.server.url
    assert one.exit_code == 0 and two.exit_code == 0
    lines = one.stdout.splitlines()
    assert f"ok   huggingface: {url}/api/daily_papers answered with 0 papers" in lines
    assert f"ok   arxiv: {url}/api/query answered (0 entries)" in lines
    assert "ok   gemini: 1 model usable with this key: gemini-3.8-flash" in lines
    assert "ok   gemini: 2 models usable with this key: gemini-3.5-flash-lite, gemini-3.8-flash" in (
        two.stdout.splitlines()
    )


def test_like_rejects_what_is_not_an_arxiv_id(tmp_path: Path) -> None:
    """Month 01-12, four digits 0704-1412 and five from 1501 (info.arxiv.org/help/arxiv_identifier.html)."""
    path = write_config(tmp_path, "")
    for bad in ("9999.99999", "2613.00001", "2606.1257", "1412.12345", "hep-th/9913001", "2606.12575v0"):
        code, stdout, stderr = invoke("like", bad, "--config", str(path))
        assert code == 2, bad
        assert stdout == ""
        assert stderr == f"Error: {bad!r} is not an arXiv id (expected e.g. 2606.12575 or 2606.12575v2)\n"
    assert not (tmp_path / "ratings.txt").exists()  # nothing recorded
    # one bad id among good ones: nothing is recorded either
    code, _, _ = invoke("like", "2606.12575", "9999.99999", "--config", str(path))
    assert code == 2 and not (tmp_path / "ratings.txt").exists()


def test_like_accepts_ids_with_or_without_version(tmp_path: Path) -> None:
    path = write_config(tmp_path, "")
    code, stdout, _ = invoke(
        "like", "2606.12575", "2606.13001v2", "0704.0001", "hep-th/9901001v1", "--config", str(path)
    )
    assert code == 0
    assert stdout.splitlines() == [
        "2606.12575: not rated -> liked",
        "2606.13001: not rated -> liked",
        "0704.0001: not rated -> liked",
        "hep-th/9901001: not rated -> liked",
    ]


ONE_A_MINUTE = '\n[llm.quota."gemini-3.8-flash"]\nrequests_per_window = 1\nrequests_per_day = 20\n'


def test_ctrl_c_during_the_deep_dives_is_one_line_and_exit_130(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ctrl-C as it really comes: SIGINT to the main thread, while a worker thread waits, on the real
    sleeper, a minute for its next request slot. The worker wakes at once and sends nothing; the run prints
    its one line and exits 130 in well under the minute (the slot wait is cut short, not slept out)."""
    with World(tmp_path, monkeypatch=monkeypatch, extra_config=ONE_A_MINUTE) as world:
        world.serve_day(DAY)
        world.sleep = time.sleep  # the real sleeper (the monotonic clock stays the world's fake one)
        interrupted: list[float] = []
        waiting = LLMProgress.waiting

        def ctrl_c_while_waiting(progress: LLMProgress, seconds: float) -> None:
            """The limiter announces a wait for the next slot (then waits): the user presses Ctrl-C."""
            waiting(progress, seconds)
            if not interrupted and seconds >= 30:
                interrupted.append(time.monotonic())
                signal.pthread_kill(threading.main_thread().ident or 0, signal.SIGINT)

        monkeypatch.setattr(LLMProgress, "waiting", ctrl_c_while_waiting)
        previous = signal.signal(signal.SIGINT, signal.default_int_handler)  # Python's own: KeyboardInterrupt
        try:
            result = world.run("run", "--date", DAY)
        finally:
            signal.signal(signal.SIGINT, previous)
        took = time.monotonic() - interrupted[0]
        assert result.exit_code == 130, result.output
        assert result.stderr.splitlines()[-1] == MSG_INTERRUPTED
        assert took < 10, took  # the slot was ~61 s away: the wait was cut short (~0.1 s here)
        assert "Traceback" not in result.output and "Aborted" not in result.output
        assert not (world.out / ".paper-digest.lock").exists()  # the lock went with the run
        assert not [p for p in tmp_path.rglob("*.tmp")]  # no half-written file anywhere
        assert not (world.out / f"{DAY}.md").exists()  # nothing written for the day
        assert len(world.gemini.requests) == 1  # the first deep dive; nothing was sent after Ctrl-C
        # the slot given up left the day's count: only the request sent is counted
        quota = json.loads((tmp_path / "cache" / "analysis" / "quota-2026-11-23.json").read_text())
        assert quota["requests"] == {MODEL: 1}
        # the rerun continues: the deep dive that was answered is not asked again
        world.sleep = world.clock.sleep
        again = world.run("run", "--date", DAY)
        assert again.exit_code == 0, again.output
        assert len(world.gemini.requests) == 3
        featured = [p for p in world.sidecar(DAY)["papers"] if p["deep_dive"]]
        assert [p["analysis_status"] for p in featured] == ["done"] * 3


def test_ctrl_c_during_a_backfill_is_one_line_and_exit_130(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with World(tmp_path, monkeypatch=monkeypatch) as world:
        world.serve_day(DAY)
        world.hf_replies([Reply(503, b"{}", {"Retry-After": "5"})])  # the fetch waits 5 s: Ctrl-C there

        def ctrl_c(seconds: float) -> None:
            raise KeyboardInterrupt

        world.sleep = ctrl_c
        result = world.run("backfill", "--from", DAY, "--to", DAY, "--no-llm")
    assert result.exit_code == 130
    assert result.stderr.splitlines()[-1] == MSG_INTERRUPTED
    assert "Traceback" not in result.output
    assert not (world.out / ".paper-digest.lock").exists()
    assert not (world.out / f"{DAY}.md").exists()


def test_the_full_text_phase_says_what_it_reads(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with World(tmp_path, monkeypatch=monkeypatch) as world:
        world.serve_day(DAY)
        result = world.run("run", "--date", DAY)
        assert result.exit_code == 0, result.output
        lines = result.stderr.splitlines()
        reading = [line for line in lines if "reading full text" in line]
        assert reading == [f"[paper-digest] reading full text: {n}/3" for n in range(4)]
        # between "analyse: 3 papers ..." and the deep dives' own progress
        start = lines.index("[paper-digest] analyse: 3 papers ...")
        assert lines[start + 1 : start + 5] == reading
        assert lines[start + 5] == "[paper-digest] deep dives: 0/3"
        # a run without a key reads no full text (nothing to analyse with it), and says nothing of it
        monkeypatch.delenv("GEMINI_API_KEY")
        (world.out / f"{DAY}.json").unlink()
        quiet = world.run("run", "--date", DAY)
    assert quiet.exit_code == 0
    assert "reading full text" not in quiet.stderr


def test_closing_the_llm_client_ends_a_progress_display_left_open(tmp_path: Path) -> None:
    """Ctrl-C in the full-text phase skips its ``end()``: the command's ``llm.close()`` ends the bar."""
    from paper_digest.analysis import LLMClient
    from paper_digest.config import LLMConfig

    calls: list[str] = []

    class Recorder:
        def begin(self, label: str, total: int) -> None:
            calls.append(f"begin {label} {total}")

        def advance(self, done: int = 1) -> None:
            calls.append("advance")

        def waiting(self, seconds: float) -> None:
            calls.append("waiting")

        def end(self) -> None:
            calls.append("end")

    client = LLMClient(LLMConfig(), api_key=None, state_dir=tmp_path, progress=Recorder())
    client.progress.begin("reading full text", 3)
    client.progress.advance()
    client.close()
    assert calls == ["begin reading full text 3", "advance", "end"]


def test_a_ratings_file_with_an_id_let_in_earlier_still_loads_and_unrate_removes_it(tmp_path: Path) -> None:
    """Before ids were checked, ``like 9999.99999`` was recorded: that file keeps loading (no new rating of
    such an id is accepted), and ``unrate`` takes it out."""
    path = write_config(tmp_path, "")
    (tmp_path / "ratings.txt").write_text("like 9999.99999 2026-06-12\nlike 2606.12575\n", encoding="utf-8")
    code, stdout, _ = invoke("ratings", "--config", str(path))
    assert code == 0
    listed = [line.split()[:2] for line in stdout.splitlines()]
    assert listed == [["like", "2606.12575"], ["like", "9999.99999"]]
    code, _, stderr = invoke("like", "9999.99999", "--config", str(path))
    assert code == 2 and "is not an arXiv id" in stderr
    code, stdout, _ = invoke("unrate", "9999.99999", "--config", str(path))
    assert code == 0 and stdout == "9999.99999: liked -> not rated\n"
    code, stdout, _ = invoke("ratings", "--config", str(path))
    assert [line.split()[:2] for line in stdout.splitlines()] == [["like", "2606.12575"]]


def test_after_ctrl_c_a_question_waiting_for_its_slot_sends_nothing(tmp_path: Path) -> None:
    """Ctrl-C during the deep dives: a worker already waiting for a request slot gives up when it gets it,
    so no request is spent after the user asked the run to stop."""
    import datetime as dt

    from clocks import FakeClock

    from paper_digest.analysis import Kind, LLMClient, Pending, Purpose, Request
    from paper_digest.analysis.provider import Finish, Question, Reply, Send
    from paper_digest.config import LLMConfig

    sent: list[str] = []

    class CountingProvider:
        def __init__(self, cfg: LLMConfig, key: str) -> None:
            pass

        def prepare(self, question: Question) -> Send:
            def send() -> Reply:
                sent.append(question.model)
                return Reply('{"ok": true}', Finish.STOP)

            return send

        def list_models(self) -> list[str]:
            return []

        def close(self) -> None:
            pass

    clock = FakeClock()
    client: LLMClient

    def sleep(seconds: float) -> None:
        client.stop_asking()  # Ctrl-C arrives while this question waits for the next slot
        clock.sleep(seconds)

    client = LLMClient(
        LLMConfig(requests_per_window=1),
        api_key="k",
        state_dir=tmp_path,
        provider_factory=CountingProvider,
        clock=clock,
        sleep=sleep,
        now=lambda: dt.datetime(2026, 6, 12, 12, 0, tzinfo=dt.UTC),
    )
    request = Request(Purpose.DEEP_DIVE, "system", "prompt", None, read=lambda text: text)
    assert client.ask(request).value == '{"ok": true}'  # type: ignore[union-attr]
    waited = client.ask(request)  # the minute's one slot is taken: it waits, and Ctrl-C comes meanwhile
    assert isinstance(waited, Pending) and waited.problem.kind is Kind.OFFLINE
    assert len(sent) == 1 and clock.sleeps  # it did wait, and sent nothing after
    assert client.limiter.used_today("gemini-3.8-flash") == 1  # the slot it gave up is not counted
    later = client.ask(request)
    assert isinstance(later, Pending) and len(sent) == 1


def test_check_says_what_the_scorer_reads_from_the_profile(tmp_path: Path) -> None:
    profile = '[profile]\ndescription = "我做图像复原。"\n[profile.keywords]\n'
    profile += '"3D reconstruction" = 3\n"NeRF" = 2\n'
    path = write_config(tmp_path, profile)
    code, stdout, _ = invoke("check", "--config", str(path))
    (line,) = [x for x in stdout.splitlines() if x.startswith(("ok   profile", "warn profile"))]
    assert code == 0 and line.startswith("ok   profile: 2 keywords, 1 description term; related topics add ")
    assert "3D reconstruction +" in line and "image restoration +" in line
    empty = write_config(tmp_path, '[llm]\nmodel = "gemini-3.8-flash"\n')
    code, stdout, _ = invoke("check", "--config", str(empty))
    assert code == 0
    assert "warn profile: no keywords and no description terms: every paper scores 0" in stdout
