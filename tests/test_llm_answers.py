"""Every answer the live Gemini service gives, end to end through the CLI (issue 12): the real google-genai
client against the fake server answering with the real body shapes (see ``fake_gemini.py`` for the source of
each). Each row: the exit code, the requests made, what became of the three deep dives, and the one calm
sentence the reader gets in the digest and on the console (never the raw body)."""

from __future__ import annotations

import contextlib
import socket
import threading
from dataclasses import dataclass

import pytest
from typer.testing import Result
from world import API_KEY, MODEL, World

DAY = "2026-06-12"
FALLBACK = "gemini-3.6-flash"
#: what belongs to an error body or a traceback, never to a digest, a sidecar or the console
LEAKS = ("RESOURCE_EXHAUSTED", "quotaId", "FAILED_PRECONDITION", "<html", "BODY-MARKER", "Traceback", API_KEY)


@dataclass(frozen=True)
class Row:
    script: tuple[str, ...]
    requests: int
    statuses: tuple[str, ...]
    reason: str | None
    #: the reader's sentence (a part of it) in the digest and on the console
    says: str | None
    fallback: bool = False


#: Rows the fault suite (test_faults.py, test_gemini_fault) already proves through the CLI are not repeated
#: here: a JSON answer, 429 per-minute (waits RetryInfo's delay), 429 per-day (pending with the reset time;
#: the rerun test below too), 503 on every attempt, MAX_TOKENS twice, a schema mismatch twice, an empty
#: candidate, a blocked prompt, a dropped connection once, a wrong key (403).
ROWS = {
    "unknown-finish-with-text": Row(("finish_unknown_text",), 3, ("done",) * 3, None, None),
    "html-200-portal": Row(
        ("html_200", "html_200"), 4, ("failed", "done", "done"), "web_page", "返回的是一个网页而不是 API 应答"
    ),
    "html-403-proxy-page": Row(
        ("html_403", "html_403"), 4, ("failed", "done", "done"), "web_page", "Gemini 地址返回的是一个网页"
    ),
    "429-per-day-fallback": Row(("429_day",), 1 + 3, ("done",) * 3, None, None, fallback=True),
    "429-limit-0": Row(
        ("429_limit0",), 1, ("pending",) * 3, "model_not_on_tier", f"模型 {MODEL} 不在此 API 密钥的免费额度内"
    ),
    "429-limit-0-fallback": Row(("429_limit0",), 1 + 3, ("done",) * 3, None, None, fallback=True),
    "location-not-supported": Row(
        ("location",), 1, ("pending",) * 3, "location_not_supported", "Gemini 不为本次请求所在的地区提供服务"
    ),
    "api-key-invalid-400": Row(
        ("bad_key_400",), 1, ("pending",) * 3, "key_refused", "拒绝了所配置的 API 密钥"
    ),
    "unauthenticated-401": Row(("401",), 1, ("pending",) * 3, "key_refused", "拒绝了所配置的 API 密钥"),
    "permission-denied-403": Row(
        ("403",), 1, ("pending",) * 3, "key_refused", "Gemini 拒绝了所配置的 API 密钥"
    ),
    "connection-dropped-every-attempt": Row(
        ("drop",) * 3, 3 + 2, ("failed", "done", "done"), "connection", "Gemini 服务暂时不可用"
    ),
    "safety": Row(("safety",), 3, ("blocked", "done", "done"), "blocked:SAFETY", "模型因安全策略停止作答"),
    "recitation": Row(("recitation",), 3, ("blocked", "done", "done"), "recitation", "复述受版权保护的文本"),
    "blocked-prompt": Row(
        ("blocked",), 3, ("blocked", "done", "done"), "prompt_blocked:SAFETY", "安全过滤拦截了这篇论文的内容"
    ),
    "unknown-finish-no-text": Row(
        ("finish_unknown",),
        3,
        ("failed", "done", "done"),
        "finish:FUTURE_FINISH_REASON",
        "模型以未知原因结束作答",
    ),
}


@pytest.fixture
def world(world: World) -> World:
    """conftest's world, one deep dive at a time: a scripted answer always meets the same paper."""
    world.concurrency = 1
    world.write_config()
    return world


def use_fallback(world: World) -> None:
    text = world.config_path.read_text(encoding="utf-8")
    world.config_path.write_text(
        text.replace(f'model = "{MODEL}"', f'model = "{MODEL}"\nfallback_models = ["{FALLBACK}"]'),
        encoding="utf-8",
    )


def featured(world: World) -> list[dict[str, object]]:
    return [p for p in world.sidecar(DAY)["papers"] if p["deep_dive"]]


def assert_calm(world: World, result: Result) -> str:
    md = world.markdown(DAY)
    sidecar = (world.out / f"{DAY}.json").read_text(encoding="utf-8")
    for text in (md, sidecar, result.stdout + result.stderr):
        for leak in LEAKS:
            assert leak not in text, leak
    return md


@pytest.mark.parametrize("name", list(ROWS))
def test_answer_kind(world: World, name: str) -> None:
    row = ROWS[name]
    if row.fallback:
        use_fallback(world)
    world.gemini.script(*row.script, model=MODEL)
    result = world.run("run", "--date", DAY)
    assert result.exit_code == 0, result.output
    md = assert_calm(world, result)
    assert world.gemini.count() == row.requests, [(r.model, r.behaviour) for r in world.gemini.requests]
    papers = featured(world)
    assert tuple(p["analysis_status"] for p in papers) == row.statuses
    assert papers[0]["analysis_reason"] == row.reason
    if row.says is not None:
        assert row.says in str(papers[0]["analysis_message"])
        lines = [line for line in md.splitlines() if row.says in line]
        assert lines and all(len(line) < 300 for line in lines), lines
        assert row.says in result.stderr  # the console says the same sentence
    if row.fallback:
        assert {p["model"] for p in papers} == {FALLBACK}


def test_a_rerun_before_the_reset_waits_and_the_first_after_completes_only_the_pending(world: World) -> None:
    world.gemini.script("ok", "429_day", model=MODEL)
    assert world.run("run", "--date", DAY).exit_code == 0
    assert world.gemini.count() == 2
    waiting = world.run("run", "--date", DAY)
    assert waiting.exit_code == 0
    assert world.gemini.count() == 2  # no request into a spent day
    assert "配额将于 11月24日 16:00（UTC+08:00）重置" in waiting.stderr
    assert (
        "no request made: waiting for the Gemini quota to reset at 2026-11-24T16:00+08:00" in waiting.stderr
    )
    notice = "配额将于 11月24日 16:00（UTC+08:00）重置，2 篇深度解读将在此后的首次运行中补全"
    assert notice in world.markdown(DAY)
    world.next_quota_day()
    done = world.run("run", "--date", DAY)
    assert done.exit_code == 0
    assert world.gemini.count() == 4  # exactly the two pending deep dives
    assert [p["analysis_status"] for p in featured(world)] == ["done"] * 3
    assert "配额" not in world.markdown(DAY)


def test_a_retired_model_is_asked_once_and_named_with_the_keys_models(world: World) -> None:
    world.gemini.served_models = [FALLBACK, "gemini-3.5-flash-lite", "gemini-3.1-flash-lite"]
    result = world.run("run", "--date", DAY)
    assert result.exit_code == 0, result.output
    assert_calm(world, result)
    assert world.gemini.count() == 1  # one 404, then the model is not asked again: no request storm
    assert world.gemini.model_lists == 1
    papers = featured(world)
    assert [p["analysis_reason"] for p in papers] == ["model_not_found"] * 3
    message = str(papers[0]["analysis_message"])
    assert f"模型 {MODEL} 已下线或名称有误" in message and FALLBACK in message and "[llm]" in message
    use_fallback(world)
    again = world.run("run", "--date", DAY)
    assert again.exit_code == 0
    assert world.gemini.count() == 1 + 1 + 3  # one 404 again, then the fallback does the three
    assert {p["model"] for p in featured(world)} == {FALLBACK}


class Socks5Relay:
    """A minimal SOCKS5 proxy on 127.0.0.1 (RFC 1928: no authentication, CONNECT only) that relays bytes and
    records where each connection went, so a test can prove the traffic went through it."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(32)
        self.targets: list[tuple[str, int]] = []
        self._lock = threading.Lock()
        threading.Thread(target=self._serve, daemon=True).start()

    @property
    def url(self) -> str:
        return f"socks5://127.0.0.1:{self.sock.getsockname()[1]}"

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    @staticmethod
    def _read(conn: socket.socket, n: int) -> bytes:
        data = b""
        while len(data) < n:
            chunk = conn.recv(n - len(data))
            if not chunk:
                raise ConnectionError("closed")
            data += chunk
        return data

    def _handle(self, conn: socket.socket) -> None:
        try:
            _, methods = self._read(conn, 2)
            self._read(conn, methods)
            conn.sendall(b"\x05\x00")  # no authentication
            _, command, _, kind = self._read(conn, 4)
            if kind == 1:
                host = socket.inet_ntoa(self._read(conn, 4))
            elif kind == 3:
                host = self._read(conn, self._read(conn, 1)[0]).decode()
            else:
                raise ConnectionError("unsupported address type")
            port = int.from_bytes(self._read(conn, 2), "big")
            if command != 1:
                raise ConnectionError("only CONNECT")
            upstream = socket.create_connection((host, port), timeout=10)
            with self._lock:
                self.targets.append((host, port))
            conn.sendall(b"\x05\x00\x00\x01" + socket.inet_aton("127.0.0.1") + b"\x00\x00")
        except (OSError, ConnectionError):
            conn.close()
            return
        for src, dst in ((conn, upstream), (upstream, conn)):
            threading.Thread(target=self._pipe, args=(src, dst), daemon=True).start()

    @staticmethod
    def _pipe(src: socket.socket, dst: socket.socket) -> None:
        try:
            while chunk := src.recv(65536):
                dst.sendall(chunk)
        except OSError:
            pass
        finally:
            for end in (src, dst):
                with contextlib.suppress(OSError):
                    end.shutdown(socket.SHUT_RDWR)

    def close(self) -> None:
        self.sock.close()


def test_a_socks_proxy_in_the_environment_carries_gemini_and_the_sources(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Proxy tools used in China set all_proxy=socks5://127.0.0.1:7890 next to https_proxy. Building the SDK
    client must not raise (socksio is a dependency), and the run's traffic, Gemini's and the sources', goes
    through the proxy (requests[socks] for the sources)."""
    proxy = Socks5Relay()
    try:
        for name in ("all_proxy", "ALL_PROXY", "http_proxy", "https_proxy"):
            monkeypatch.setenv(name, proxy.url)
        for name in ("no_proxy", "NO_PROXY"):
            monkeypatch.delenv(name, raising=False)
        result = world.run("run", "--date", DAY)
        assert result.exit_code == 0, result.output
        assert_calm(world, result)
        assert [p["analysis_status"] for p in featured(world)] == ["done"] * 3
        assert world.gemini.count() == 3
        ports = {port for _, port in proxy.targets}
        gemini_port = int(world.gemini.url.rstrip("/").rsplit(":", 1)[1])
        sources_port = int(world.server.url.rstrip("/").rsplit(":", 1)[1])
        assert {gemini_port, sources_port} <= ports, (ports, gemini_port, sources_port)
    finally:
        proxy.close()


def test_no_proxy_keeps_local_servers_direct_whatever_the_proxy_says(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """all_proxy=socks5://... with no_proxy for 127.0.0.1: nothing crashes and nothing goes through it."""
    proxy = Socks5Relay()
    try:
        monkeypatch.setenv("all_proxy", proxy.url)
        monkeypatch.setenv("https_proxy", proxy.url.replace("socks5", "socks5h"))
        monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
        monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
        result = world.run("run", "--date", DAY)
        assert result.exit_code == 0, result.output
        assert [p["analysis_status"] for p in featured(world)] == ["done"] * 3
        assert proxy.targets == []
    finally:
        proxy.close()


def test_a_client_that_cannot_be_built_is_an_outcome_not_a_crash(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Whatever makes the SDK client fail to build (here: the SOCKS support missing, as before socksio was a
    dependency) ends as pending deep dives with one sentence, and the digest is written."""
    import google.genai

    def no_socks(*args: object, **kwargs: object) -> None:
        raise ImportError("Using SOCKS proxy, but the 'socksio' package is not installed.")

    monkeypatch.setattr(google.genai, "Client", no_socks)
    result = world.run("run", "--date", DAY)
    assert result.exit_code == 0, result.output
    assert "internal error" not in result.output
    assert_calm(world, result)
    assert world.gemini.count() == 0
    papers = featured(world)
    assert [p["analysis_reason"] for p in papers] == ["client_setup"] * 3
    assert "请检查代理环境变量" in str(papers[0]["analysis_message"])


def test_progress_is_plain_lines_when_stderr_is_not_a_terminal(world: World) -> None:
    world.gemini.per_window = 2  # the limiter waits for the third slot: the wait is announced
    text = world.config_path.read_text(encoding="utf-8")
    world.config_path.write_text(text.replace("[llm]", "[llm]\nrequests_per_window = 2"), encoding="utf-8")
    result = world.run("run", "--date", DAY)
    assert result.exit_code == 0, result.output
    lines = result.stderr.splitlines()
    assert "[paper-digest] deep dives: 0/3" in lines
    assert "[paper-digest] deep dives: 3/3" in lines
    assert any("waiting 61s for the next request slot" in line for line in lines), lines


def test_check_online_lists_the_keys_models_and_flags_a_configured_one_missing(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    world.gemini.served_models = [MODEL, FALLBACK, "gemini-3.5-flash-lite"]
    ok = world.run("check", "--online")
    assert ok.exit_code == 0, ok.output
    assert "ok   gemini: 3 models usable with this key: gemini-3.5-flash-lite, gemini-3.6-flash," in ok.stdout
    assert f"ok   gemini llm.model: {MODEL} is served to this key" in ok.stdout
    assert world.gemini.count() == 0  # no generate quota spent
    world.gemini.served_models = [FALLBACK]
    missing = world.run("check", "--online")
    assert missing.exit_code == 1
    assert f"FAIL gemini llm.model: {MODEL} is not among the models this key can use" in missing.stdout
    # the re-rank is off: its model missing is a warning, not a failure
    assert "warn gemini llm.rerank_model: gemini-3.5-flash-lite is not among" in missing.stdout
    monkeypatch.setenv("GEMINI_API_KEY", "wrong-key-0000")
    refused = world.run("check", "--online")
    assert refused.exit_code == 1
    assert (
        "FAIL gemini: models.list: the API key was refused (check GEMINI_API_KEY) (HTTP 403)"
        in refused.stdout
    )
    assert "wrong-key-0000" not in refused.output


def test_progress_is_a_rich_bar_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    import io

    from paper_digest import cli

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    screen = Terminal()
    monkeypatch.setattr("sys.stderr", screen)
    progress = cli.LLMProgress()
    progress.begin("deep dives", 3)
    progress.advance()
    progress.waiting(58.2)
    progress.advance(2)
    progress.end()
    drawn = screen.getvalue()
    assert "deep dives" in drawn and "3/3" in drawn
    assert "[paper-digest] deep dives: 1/3" not in drawn  # a bar, not the plain lines
