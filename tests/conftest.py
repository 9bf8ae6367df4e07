"""Shared fixtures. Every test runs with an isolated environment and home directory."""

from __future__ import annotations

import os
import tempfile

# numpy's OpenBLAS starts one thread per core and lets idle ones spin: the learner's small solves and the
# semantic stage's products then cost several times their CPU, with two pytest-xdist workers on two cores
# spinning against each other (the two learning tests of test_cli: 13.8 -> 5.6 s of CPU). Set before
# numpy is first imported (the imports below bring it), in the controller too, so the workers inherit it.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

# A session writes ~3,000 files through store.atomic_write_bytes, each fsync'd: ~3 ms apiece on a disk, ~6 s
# of the session's wall. On Linux the tests' temporary folders (tmp_path) go to the RAM-backed /dev/shm,
# where fsync returns at once. A TMPDIR of your own wins. Set before pytest picks its base folder, in the
# controller too (xdist hands its workers folders under the controller's). Only where /dev/shm has room: a
# container's default is 64 MB, and a session (pytest keeps the last three) writes ~80 MB.
if (
    "TMPDIR" not in os.environ
    and os.path.isdir("/dev/shm")
    and os.access("/dev/shm", os.W_OK | os.X_OK)
    and (shm := os.statvfs("/dev/shm")).f_bavail * shm.f_frsize >= 1 << 30
):
    os.environ["TMPDIR"] = "/dev/shm"
    tempfile.tempdir = "/dev/shm"

import re
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import certifi
import pytest
from clocks import FakeClock
from fake_gemini import FakeGemini
from gemini_fixtures import DAY1, KEY, WallClock

if TYPE_CHECKING:  # world imports the whole package: the xdist controller, which runs no test, need not
    from world import World

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture(scope="session")
def one_ca_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A CA file with one certificate (the first of certifi's bundle): what SSL_CERT_FILE names in tests.

    The google-genai SDK builds its TLS context when a client is made, even for an http:// base URL, from
    SSL_CERT_FILE or else certifi's ~150 roots: ~60 ms of CPU per client, and the suite makes hundreds (one
    per run). No test reaches a real host, so none needs those roots; the TLS tests name their own file."""
    bundle = Path(certifi.where()).read_text(encoding="ascii")
    first = re.search(r"-----BEGIN CERTIFICATE-----.+?-----END CERTIFICATE-----\n", bundle, re.DOTALL)
    assert first is not None, certifi.where()
    path = tmp_path_factory.mktemp("tls") / "one-ca.pem"
    path.write_text(first.group(0), encoding="ascii")
    return path


@pytest.fixture(autouse=True)
def isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, one_ca_file: Path) -> Path:
    """No test sees the developer's keys, endpoints, trusted certificates or home directory."""
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
        "SSL_CERT_DIR",
        "REQUESTS_CA_BUNDLE",
        "CURL_CA_BUNDLE",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("SSL_CERT_FILE", str(one_ca_file))
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    return home


@pytest.fixture
def fixtures_dir() -> Path:
    return FIXTURES


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "slow: takes seconds (another process, a benchmark); such tests are started first"
    )


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The ``slow`` tests first (in their order), then the rest as collected: with ``-n 2`` a test of several
    seconds that comes last keeps one worker busy while the other has finished."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-golden",
        action="store_true",
        default=False,
        help="rewrite tests/golden/ and schema/digest.schema.json from the current output",
    )


# -- the fake clock, and the fake Gemini server (the sources' test modules override `server` with theirs) ----


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


# -- the whole local world (sources, Gemini, config, the CLI on a fake clock) -------------------------------


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    """Everything a run needs on 127.0.0.1, serving the corpus day :data:`world.DAY`. A module that needs
    more overrides it (``def world(world: World) -> World``)."""
    from world import DAY, World

    with World(tmp_path, monkeypatch=monkeypatch) as w:
        w.serve_day(DAY)
        yield w
