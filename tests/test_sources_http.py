"""The polite HTTP client on a local server: retries, Retry-After, stalls, cut bodies, spacing, archive."""

from __future__ import annotations

import datetime as dt
import random
import socket
from collections.abc import Iterator
from email.utils import format_datetime
from pathlib import Path

import pytest
from clocks import FakeClock
from sources_helpers import Reply, ScriptedServer, break_dns

from paper_digest.errors import SourceError
from paper_digest.sources.archive import OfflineClient, RawArchive
from paper_digest.sources.http import HttpClient, parse_retry_after

UA = "paper-digest/0.1.0 (+https://github.com/example/paper-digest)"


@pytest.fixture
def server() -> Iterator[ScriptedServer]:
    with ScriptedServer() as srv:
        yield srv


def make_client(clock: FakeClock, **kwargs: object) -> HttpClient:
    options: dict[str, object] = {"user_agent": UA, "timeout": 2.0, "clock": clock, "sleep": clock.sleep}
    options.update(kwargs)
    return HttpClient(rng=random.Random(7), **options)  # type: ignore[arg-type]


def test_success_sends_user_agent_and_params(server: ScriptedServer, clock: FakeClock) -> None:
    server.script("/api/daily_papers", [Reply(200, b"[]")])
    client = make_client(clock)
    body = client.get(server.url + "/api/daily_papers", {"date": "2026-06-16", "limit": "100"})
    assert body == b"[]"
    assert client.requests_made == 1
    (seen,) = server.requests
    assert seen.headers["User-Agent"] == UA
    assert seen.query == {"date": "2026-06-16", "limit": "100"}
    assert clock.sleeps == []


def test_503_with_retry_after_seconds_then_success(server: ScriptedServer, clock: FakeClock) -> None:
    server.script(
        "/x",
        [
            Reply(503, b"<html>busy</html>", {"Retry-After": "7"}),
            Reply(429, b"", {"Retry-After": "3"}),
            Reply(200, b"ok"),
        ],
    )
    client = make_client(clock)
    assert client.get(server.url + "/x", label="arXiv") == b"ok"
    assert client.requests_made == 3
    assert clock.sleeps == [7.0, 3.0]


def test_retry_after_http_date_uses_server_clock(server: ScriptedServer, clock: FakeClock) -> None:
    now = dt.datetime(2026, 6, 16, 12, 0, tzinfo=dt.UTC)
    later = now + dt.timedelta(seconds=42)
    server.script(
        "/x",
        [
            Reply(
                503,
                b"",
                {
                    "Retry-After": format_datetime(later, usegmt=True),
                    "Date": format_datetime(now, usegmt=True),
                },
            ),
            Reply(200, b"ok"),
        ],
    )
    client = make_client(clock)
    assert client.get(server.url + "/x") == b"ok"
    # BaseHTTPRequestHandler sends its own Date header first; either way the wait is about 42 s or less
    assert len(clock.sleeps) == 1 and 0 <= clock.sleeps[0] <= 42


def test_parse_retry_after_forms() -> None:
    now = dt.datetime(2026, 6, 16, 12, 0, tzinfo=dt.UTC)
    assert parse_retry_after("120", now=now) == 120.0
    assert parse_retry_after("Tue, 16 Jun 2026 12:01:30 GMT", now=now) == 90.0
    assert parse_retry_after("Tue, 16 Jun 2026 11:00:00 GMT", now=now) == 0.0
    assert parse_retry_after("soon", now=now) is None
    assert parse_retry_after("", now=now) is None
    assert parse_retry_after(None, now=now) is None


def test_gives_up_after_max_attempts_with_one_line_message(server: ScriptedServer, clock: FakeClock) -> None:
    server.script("/x", [Reply(503, b"<html><body>secret internal trace</body></html>")])
    client = make_client(clock, max_attempts=4)
    with pytest.raises(SourceError) as info:
        client.get(server.url + "/x", label="HuggingFace")
    assert str(info.value) == "HuggingFace: HTTP 503 after 4 attempts"
    assert info.value.status == 503 and info.value.kind == "http" and info.value.attempts == 4
    assert info.value.url == server.url + "/x"
    assert client.requests_made == 4 and len(server.requests) == 4
    # exponential backoff with jitter: each wait about double the one before
    assert len(clock.sleeps) == 3
    assert 1.5 <= clock.sleeps[0] <= 2.5 and 3.0 <= clock.sleeps[1] <= 5.0 and 6.0 <= clock.sleeps[2] <= 10.0


def test_retry_after_beyond_budget_gives_up_at_once(server: ScriptedServer, clock: FakeClock) -> None:
    server.script("/x", [Reply(429, b"", {"Retry-After": "3600"})])
    client = make_client(clock, max_total_seconds=180)
    with pytest.raises(SourceError, match=r"arXiv: HTTP 429 after 1 attempt \(Retry-After 3600 s exceeds"):
        client.get(server.url + "/x", label="arXiv")
    assert client.requests_made == 1
    assert clock.sleeps == []


def test_total_budget_bounds_backoff(server: ScriptedServer, clock: FakeClock) -> None:
    server.script("/x", [Reply(502, b"")])
    client = make_client(clock, max_attempts=20, max_total_seconds=30)
    with pytest.raises(SourceError, match=r"HTTP 502 after \d+ attempts \(retry budget spent\)"):
        client.get(server.url + "/x")
    assert sum(clock.sleeps) <= 30
    assert client.requests_made < 20


@pytest.mark.parametrize("status", [400, 403, 404])
def test_other_4xx_is_not_retried(server: ScriptedServer, clock: FakeClock, status: int) -> None:
    server.script("/x", [Reply(status, b"nope")])
    client = make_client(clock)
    with pytest.raises(SourceError) as info:
        client.get(server.url + "/x", label="HuggingFace")
    assert str(info.value) == f"HuggingFace: HTTP {status}"
    assert info.value.status == status
    assert client.requests_made == 1 and clock.sleeps == []


def test_stall_past_timeout_is_retried(server: ScriptedServer, clock: FakeClock) -> None:
    server.script("/x", [Reply(200, b"late", delay=0.6), Reply(200, b"ok")])
    client = make_client(clock, timeout=0.2)
    assert client.get(server.url + "/x") == b"ok"
    assert client.requests_made == 2 and len(clock.sleeps) == 1


def test_stall_every_time_fails_as_timeout(server: ScriptedServer, clock: FakeClock) -> None:
    server.script("/x", [Reply(200, b"late", delay=0.4)])
    client = make_client(clock, timeout=0.1, max_attempts=2)
    with pytest.raises(SourceError, match=r"^arXiv: timed out after 2 attempts$"):
        client.get(server.url + "/x", label="arXiv")


def test_cut_body_is_retried(server: ScriptedServer, clock: FakeClock) -> None:
    server.script("/x", [Reply(200, b'[{"paper":', content_length=5000), Reply(200, b"[]")])
    client = make_client(clock)
    assert client.get(server.url + "/x") == b"[]"
    assert client.requests_made == 2


def test_connection_refused_is_retried_then_fails(clock: FakeClock) -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{sock.getsockname()[1]}/x"
    client = make_client(clock, max_attempts=3, timeout=0.2)
    failed = (
        r"^HuggingFace: (connection failed \(connection refused\)|timed out connecting) after 3 attempts$"
    )
    with pytest.raises(SourceError, match=failed) as info:
        client.get(url, label="HuggingFace")
    assert client.requests_made == 3
    assert info.value.kind in {"connection", "timeout"} and info.value.status is None


def test_min_interval_is_per_host(server: ScriptedServer, clock: FakeClock) -> None:
    server.script("/a", [Reply(200, b"a")])
    client = make_client(clock)
    client.space_host(server.url, 3.0)
    for _ in range(3):
        client.get(server.url + "/a")
    # first request free, then one wait of 3 s each (the fake clock does not move while requests run)
    assert clock.sleeps == [3.0, 3.0]
    other = server.url.replace("127.0.0.1", "localhost") + "/a"
    client.get(other)
    assert clock.sleeps == [3.0, 3.0], "another host is not held back"


def test_min_interval_counts_from_end_of_previous(server: ScriptedServer, clock: FakeClock) -> None:
    server.script("/a", [Reply(200, b"a")])
    client = make_client(clock)
    client.space_host(server.url, 3.0)
    client.get(server.url + "/a")
    clock.advance(2.0)
    client.get(server.url + "/a")
    assert clock.sleeps == [pytest.approx(1.0)]


def test_archive_and_offline_replay(server: ScriptedServer, clock: FakeClock, tmp_path: Path) -> None:
    server.script("/api/daily_papers", [Reply(503, b""), Reply(200, b'[{"x": 1}]')])
    archive = RawArchive(tmp_path / "raw" / "2026-06-16")
    client = make_client(clock, archive=archive)
    params = {"date": "2026-06-16", "limit": "100"}
    body = client.get(server.url + "/api/daily_papers", params)
    assert body == b'[{"x": 1}]'
    stored = sorted(p.name for p in archive.folder.iterdir())
    assert len(stored) == 2 and stored[0].endswith(".body") and stored[1].endswith(".json")
    offline = OfflineClient(archive)
    assert offline.get(server.url + "/api/daily_papers", dict(reversed(list(params.items())))) == body
    assert offline.requests_made == 0 and offline.served == 1
    with pytest.raises(SourceError, match="HuggingFace: no archived response"):
        offline.get(server.url + "/api/daily_papers", {"date": "2026-06-17"}, label="HuggingFace")


def test_failed_responses_are_not_archived(server: ScriptedServer, clock: FakeClock, tmp_path: Path) -> None:
    server.script("/x", [Reply(404, b"")])
    archive = RawArchive(tmp_path / "raw")
    client = make_client(clock, archive=archive)
    with pytest.raises(SourceError):
        client.get(server.url + "/x")
    assert not archive.folder.exists() or not any(archive.folder.iterdir())


def test_body_deadline_is_read_on_the_injected_clock(server: ScriptedServer) -> None:
    """A server that trickles its body past ``timeout`` is a timeout, measured on the injected clock."""

    class Ticking(FakeClock):
        def __call__(self) -> float:
            self.now += 5.0  # every reading of the clock is 5 s later: the body takes "forever"
            return self.now

    ticking = Ticking()
    server.script("/x", [Reply(200, b"slow body")])
    client = make_client(ticking, max_attempts=1)
    with pytest.raises(SourceError, match=r"^arXiv: timed out reading the response after 1 attempt$") as info:
        client.get(server.url + "/x", label="arXiv")
    assert info.value.kind == "timeout"


def test_a_name_that_does_not_resolve_fails_at_once(
    clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No DNS or no network does not heal in a backoff's seconds: one attempt, no wait, the plain sentence.
    The resolver failure is injected (``.invalid``, RFC 2606, never reaches a real resolver here)."""
    asked = break_dns(monkeypatch, ".invalid")
    client = make_client(clock, max_attempts=5)
    with pytest.raises(SourceError) as info:
        client.get("http://papers.invalid/api/daily_papers", label="HuggingFace")
    assert str(info.value) == (
        "HuggingFace: connection failed (name resolution failed: no network or no DNS) after 1 attempt"
    )
    assert info.value.kind == "connection" and info.value.attempts == 1
    assert asked == ["papers.invalid"] and client.requests_made == 1
    assert clock.sleeps == []


def test_a_refused_connection_is_still_retried(clock: FakeClock) -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    client = make_client(clock, max_attempts=3)
    with pytest.raises(SourceError, match=r"connection refused\) after 3 attempts"):
        client.get(f"http://127.0.0.1:{port}/x")
    assert len(clock.sleeps) == 2
