"""Shared fixtures. Every test runs with an isolated environment and home directory."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fake_gemini import FakeClock, FakeGemini
from gemini_fixtures import DAY1, KEY, WallClock

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture(autouse=True)
def isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No test sees the developer's keys, endpoints or home directory."""
    for name in (
        "GEMINI_API_KEY",
        "GOOGLE_API_KEY",
        "GOOGLE_GEMINI_BASE_URL",
        "GOOGLE_GENAI_API_VERSION",
        "GOOGLE_GENAI_USE_VERTEXAI",
        "GOOGLE_CLOUD_PROJECT",
        "HF_ENDPOINT",
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "http_proxy",
        "https_proxy",
        "ALL_PROXY",
        "all_proxy",
        "no_proxy",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    return home


@pytest.fixture
def fixtures_dir() -> Path:
    return FIXTURES


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-golden",
        action="store_true",
        default=False,
        help="rewrite tests/golden/ and schema/digest.schema.json from the current output",
    )


@pytest.fixture
def figures(request: pytest.FixtureRequest) -> object:
    """A row of the fault suite's summary table (tests/fault_figures.py) for this test."""
    import fault_figures

    return fault_figures.row(request.node.nodeid)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Print the fault suite's figures (scenarios run, held, requests made against expected)."""
    import fault_figures

    outcomes: dict[str, str] = {}
    for outcome in ("passed", "failed", "error", "xfailed", "xpassed", "skipped"):
        for report in terminalreporter.stats.get(outcome, []):
            nodeid = getattr(report, "nodeid", "")
            if outcome == "passed" and getattr(report, "when", "call") != "call":
                continue  # a passing setup or teardown says nothing about the test itself
            if outcomes.get(nodeid) not in ("failed", "error"):
                outcomes[nodeid] = outcome
    lines = fault_figures.summary_lines(outcomes)
    if lines:
        terminalreporter.section("fault suite figures")
        for line in lines:
            terminalreporter.write_line(line)


# -- the fake Gemini server (test modules that need other `clock`/`server` fixtures define their own) ----


@pytest.fixture
def clock() -> FakeClock:
    """A monotonic clock that moves only when something sleeps on it."""
    return FakeClock()


@pytest.fixture
def wall() -> WallClock:
    return WallClock(DAY1)


@pytest.fixture
def server(clock: FakeClock) -> Iterator[FakeGemini]:
    with FakeGemini(clock=clock, api_key=KEY) as fake:
        yield fake
