"""Delivery end to end through the CLI: a local SMTP server (aiosmtpd) and local webhook servers (Feishu,
Slack, generic JSON, one that refuses), all on 127.0.0.1 and started here."""

from __future__ import annotations

import email
import email.policy
import json
import socket
from collections.abc import Iterator
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, Envelope, LoginPassword, Session
from local_server import LocalServer
from world import World

DAY = "2026-06-12"
SITE = "https://github.com/me/papers/blob/main/digests/"
PASSWORD = "smtp-SECRET-pass"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


class Mailbox:
    """aiosmtpd handler: keeps every message it is handed."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.recipients: list[list[str]] = []

    async def handle_DATA(self, server: object, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or b""
        self.messages.append(email.message_from_bytes(raw, policy=email.policy.default))  # type: ignore[arg-type]
        self.recipients.append(list(envelope.rcpt_tos))
        return "250 OK"


def authenticator(
    server: object, session: Session, envelope: Envelope, mechanism: str, data: Any
) -> AuthResult:
    ok = isinstance(data, LoginPassword) and data.login == b"me" and data.password == PASSWORD.encode()
    return AuthResult(success=ok, handled=False)  # handled=False: aiosmtpd answers 535 itself


@pytest.fixture
def smtp() -> Iterator[tuple[Mailbox, int]]:
    box = Mailbox()
    port = free_port()
    controller = Controller(
        box, hostname="127.0.0.1", port=port, authenticator=authenticator, auth_require_tls=False
    )
    controller.start()
    yield box, port
    controller.stop()


class Hooks:
    """One local HTTP server answering POSTs by path: /feishu, /feishu-bad, /slack, /slack-gone, /json."""

    def __init__(self) -> None:
        self.posts: list[tuple[str, dict[str, Any]]] = []
        hooks = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                hooks.posts.append((self.path, body))
                status, answer = {
                    "/feishu/t0k3n": (200, b'{"code":0,"msg":"success"}'),
                    "/feishu-bad": (
                        200,
                        b'{"code":19021,"msg":"sign match fail or timestamp is not within one hour"}',
                    ),
                    "/slack/T0/B0/s3cr3t": (200, b"ok"),
                    "/slack-gone": (404, b"no_service"),
                    "/json": (204, b""),
                }[self.path]
                self.send_response(status)
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args: object) -> None:
                pass

        self.server = LocalServer(Handler, name="webhooks")
        self.url = self.server.url

    def paths(self) -> list[str]:
        return [path for path, _ in self.posts]


@pytest.fixture
def hooks() -> Iterator[Hooks]:
    server = Hooks()
    server.server.start()
    yield server
    server.server.stop()


def configure(world: World, delivery: str) -> None:
    text = world.config_path.read_text(encoding="utf-8")
    text = text.replace("[digest]\n", f'[digest]\nsite_url = "{SITE}"\n', 1)
    world.config_path.write_text(text + "\n" + delivery, encoding="utf-8")


def test_email_sends_markdown_and_html_once_a_day(
    world: World, smtp: tuple[Mailbox, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    box, port = smtp
    configure(
        world,
        f"""
[delivery.email]
enabled = true
host = "127.0.0.1"
port = {port}
security = "none"
username = "me"
sender = "digest@example.org"
recipients = ["reader@example.org", "second@example.org"]
timeout_seconds = 5
""",
    )
    monkeypatch.setenv("PAPER_DIGEST_SMTP_PASSWORD", PASSWORD)
    result = world.run("run", "--date", DAY)
    assert result.exit_code == 0, result.output
    assert "[paper-digest] delivery: sent by email\n" in result.stderr
    (mail,) = box.messages
    assert box.recipients == [["reader@example.org", "second@example.org"]]
    assert mail["Subject"] == f"CV 论文日报 | {DAY}" and mail["From"] == "digest@example.org"
    assert mail.get_content_type() == "multipart/alternative"
    text = mail.get_body(preferencelist=("plain",))
    html = mail.get_body(preferencelist=("html",))
    assert text is not None and html is not None
    assert text.get_content() == f"在线阅读：{SITE}{DAY}.md\n\n" + world.markdown(DAY)
    page = html.get_content()
    assert "<table>" in page and "<h2>🧠 深度解读</h2>" in page and f'href="{SITE}{DAY}.md"' in page
    assert "| ---" not in page  # the tables were rendered, not left as Markdown
    (record,) = world.sidecar(DAY)["deliveries"]
    assert record["channel"] == "email" and record["status"] == "sent" and record["detail"] is None
    assert PASSWORD not in result.output + world.markdown(DAY) + json.dumps(world.sidecar(DAY))
    assert "reader@example.org" not in json.dumps(world.sidecar(DAY))  # the sidecar is often public

    again = world.run("run", "--date", DAY)
    assert again.exit_code == 0 and len(box.messages) == 1  # the same day is not sent twice
    assert world.run("run", "--date", DAY, "--resend").exit_code == 0
    assert len(box.messages) == 2


def test_email_failures_are_one_line_and_never_fail_the_digest(
    world: World, smtp: tuple[Mailbox, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    box, port = smtp
    refused = free_port()
    base = """
[delivery.email]
enabled = true
host = "127.0.0.1"
port = {port}
security = "none"
username = "me"
sender = "digest@example.org"
recipients = ["reader@example.org"]
timeout_seconds = 5
"""
    configure(world, base.format(port=refused))
    monkeypatch.setenv("PAPER_DIGEST_SMTP_PASSWORD", PASSWORD)
    result = world.run("run", "--date", DAY, "--no-llm")
    assert result.exit_code == 0, result.output
    assert f"Warning: delivery failed: email: 127.0.0.1:{refused} refused the connection\n" in result.stderr
    assert (world.out / f"{DAY}.md").exists()
    (record,) = world.sidecar(DAY)["deliveries"]
    assert (
        record["status"] == "failed"
        and record["detail"] == f"email: 127.0.0.1:{refused} refused the connection"
    )

    # a wrong password: the server's refusal, in one line, without the password
    world.write_config()
    configure(world, base.format(port=port))
    monkeypatch.setenv("PAPER_DIGEST_SMTP_PASSWORD", "wrong")
    wrong = world.run("run", "--date", DAY, "--no-llm")
    assert wrong.exit_code == 0
    assert f"Warning: delivery failed: email: 127.0.0.1:{port} refused the login (SMTP 535)\n" in wrong.stderr
    # the failed channel is tried again by the next run, which succeeds
    monkeypatch.setenv("PAPER_DIGEST_SMTP_PASSWORD", PASSWORD)
    assert world.run("run", "--date", DAY, "--no-llm").exit_code == 0
    assert len(box.messages) == 1
    assert [d["status"] for d in world.sidecar(DAY)["deliveries"]] == ["sent"]


def test_webhooks_post_the_top_papers_in_each_format(
    world: World, hooks: Hooks, monkeypatch: pytest.MonkeyPatch
) -> None:
    configure(
        world,
        """
[delivery]
top = 3

[[delivery.webhooks]]
kind = "feishu"
url_env = "FEISHU_URL"

[[delivery.webhooks]]
kind = "slack"
url_env = "SLACK_URL"

[[delivery.webhooks]]
kind = "json"
url_env = "JSON_URL"

[[delivery.webhooks]]
kind = "slack"
url_env = "SLACK_GONE_URL"

[[delivery.webhooks]]
kind = "feishu"
url_env = "FEISHU_REFUSING_URL"

[[delivery.webhooks]]
kind = "json"
url_env = "UNSET_URL"
""",
    )
    monkeypatch.setenv("FEISHU_URL", hooks.url + "/feishu/t0k3n")
    monkeypatch.setenv("SLACK_URL", hooks.url + "/slack/T0/B0/s3cr3t")
    monkeypatch.setenv("JSON_URL", hooks.url + "/json")
    monkeypatch.setenv("SLACK_GONE_URL", hooks.url + "/slack-gone")
    monkeypatch.setenv("FEISHU_REFUSING_URL", f"http://127.0.0.1:{free_port()}/hook/t0k3n")
    result = world.run("run", "--date", DAY)
    assert result.exit_code == 0, result.output
    warnings = [line for line in result.stderr.splitlines() if line.startswith("Warning: delivery failed")]
    assert warnings == [
        "Warning: delivery failed: slack (SLACK_GONE_URL): HTTP 404",
        "Warning: delivery failed: feishu (FEISHU_REFUSING_URL): connection failed",
        "Warning: delivery failed: UNSET_URL is not set in the environment",
    ]
    assert "t0k3n" not in result.output and "s3cr3t" not in result.output
    assert "t0k3n" not in json.dumps(world.sidecar(DAY))
    assert hooks.paths() == ["/feishu/t0k3n", "/slack/T0/B0/s3cr3t", "/json", "/slack-gone"]
    sidecar = world.sidecar(DAY)
    featured = [p for p in sidecar["papers"] if p["deep_dive"]][:3]
    link = f"{SITE}{DAY}.md"

    feishu = hooks.posts[0][1]
    assert feishu["msg_type"] == "interactive"
    card = feishu["card"]
    assert card["header"]["title"] == {"tag": "plain_text", "content": f"CV 论文日报 | {DAY}"}
    texts = [e["text"]["content"] for e in card["elements"] if e["tag"] == "div"]
    assert texts[0].startswith("扫描 109 篇") and len(texts) == 4
    for paper, text in zip(featured, texts[1:], strict=True):
        assert f"(https://arxiv.org/abs/{paper['id']})" in text and paper["analysis"]["one_sentence"] in text
    assert card["elements"][-1]["actions"][0]["url"] == link

    slack = hooks.posts[1][1]
    assert slack["text"].startswith(f"CV 论文日报 | {DAY}：扫描 109 篇")
    sections = [b["text"]["text"] for b in slack["blocks"] if b["type"] == "section"]
    assert len(sections) == 4 and f"<https://arxiv.org/abs/{featured[0]['id']}|" in sections[1]
    assert slack["blocks"][-1]["elements"][0]["text"] == f"<{link}|阅读完整日报>"

    generic = hooks.posts[2][1]
    assert generic["link"] == link and [p["url"] for p in generic["papers"]] == [
        f"https://arxiv.org/abs/{p['id']}" for p in featured
    ]

    records = {d["channel"]: d["status"] for d in sidecar["deliveries"]}
    assert records == {
        "feishu (FEISHU_URL)": "sent",
        "slack (SLACK_URL)": "sent",
        "json (JSON_URL)": "sent",
        "slack (SLACK_GONE_URL)": "failed",
        "feishu (FEISHU_REFUSING_URL)": "failed",
        "json (UNSET_URL)": "failed",
    }
    # a rerun sends nothing twice; it tries the failed channels again
    assert world.run("run", "--date", DAY).exit_code == 0
    assert hooks.paths()[4:] == ["/slack-gone"]


def test_a_feishu_rejection_is_read_from_the_code_not_the_status(
    world: World, hooks: Hooks, monkeypatch: pytest.MonkeyPatch
) -> None:
    configure(world, '[[delivery.webhooks]]\nkind = "feishu"\nurl_env = "FEISHU_URL"\n')
    monkeypatch.setenv("FEISHU_URL", hooks.url + "/feishu-bad")
    result = world.run("run", "--date", DAY, "--no-llm")
    assert result.exit_code == 0
    assert "Warning: delivery failed: feishu (FEISHU_URL): rejected with code 19021\n" in result.stderr


def test_offline_runs_and_unconfigured_runs_send_nothing(
    world: World, hooks: Hooks, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert world.run("run", "--date", DAY, "--no-llm").exit_code == 0
    assert world.sidecar(DAY)["deliveries"] == []
    configure(world, '[[delivery.webhooks]]\nkind = "json"\nurl_env = "JSON_URL"\n')
    monkeypatch.setenv("JSON_URL", hooks.url + "/json")
    assert world.run("run", "--date", DAY, "--no-llm", "--offline").exit_code == 0
    assert hooks.posts == [] and world.sidecar(DAY)["deliveries"] == []


def test_email_config_is_complete_when_enabled(world: World) -> None:
    configure(world, '[delivery.email]\nenabled = true\nhost = "smtp.example.org"\n')
    result = world.run("run", "--date", DAY)
    assert result.exit_code == 2
    assert (
        result.stderr
        == f"Error: {world.config_path}: delivery.email: email delivery needs sender, recipients\n"
    )


def test_check_tells_whether_each_channel_has_its_secret(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    configure(
        world,
        """
[delivery.email]
enabled = true
host = "smtp.example.org"
port = 465
security = "ssl"
username = "me"
sender = "digest@example.org"
recipients = ["reader@example.org"]

[[delivery.webhooks]]
kind = "feishu"
url_env = "FEISHU_URL"

[[delivery.webhooks]]
kind = "slack"
url_env = "SLACK_URL"
""",
    )
    monkeypatch.setenv("FEISHU_URL", "https://open.feishu.cn/open-apis/bot/v2/hook/t0k3n")
    result = world.run("check")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert (
        "warn email: smtp.example.org:465 (ssl), 1 recipient: PAPER_DIGEST_SMTP_PASSWORD is not set" in lines
    )
    assert "ok   feishu webhook: FEISHU_URL is set (not shown)" in lines
    assert "warn slack webhook: SLACK_URL is not set" in lines
    assert "t0k3n" not in result.output


def self_signed(tmp_path: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and its key; the test's client trusts it through SSL_CERT_FILE."""
    import datetime as dt
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    start = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(start)
        .not_valid_after(start + dt.timedelta(days=365 * 30))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return cert_path, key_path


@pytest.mark.parametrize("security", ["starttls", "ssl"])
def test_email_over_tls(world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, security: str) -> None:
    import ssl

    cert, key = self_signed(tmp_path)
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_tls.load_cert_chain(cert, key)
    box, port = Mailbox(), free_port()
    if security == "starttls":
        controller = Controller(
            box,
            hostname="127.0.0.1",
            port=port,
            authenticator=authenticator,
            tls_context=server_tls,
            require_starttls=True,
        )
    else:
        # aiosmtpd does not count implicit TLS as TLS for AUTH (auth_require_tls): allow it explicitly
        controller = Controller(
            box,
            hostname="127.0.0.1",
            port=port,
            authenticator=authenticator,
            ssl_context=server_tls,
            auth_require_tls=False,
        )
    controller.start()
    try:
        monkeypatch.setenv("SSL_CERT_FILE", str(cert))  # the client trusts this one certificate
        monkeypatch.setenv("PAPER_DIGEST_SMTP_PASSWORD", PASSWORD)
        configure(
            world,
            f"""
[delivery.email]
enabled = true
host = "127.0.0.1"
port = {port}
security = "{security}"
username = "me"
sender = "digest@example.org"
recipients = ["reader@example.org"]
timeout_seconds = 5
""",
        )
        result = world.run("run", "--date", DAY, "--no-llm")
        assert result.exit_code == 0, result.output
        assert "Warning" not in result.stderr, result.stderr
        assert len(box.messages) == 1
    finally:
        controller.stop()


def test_chat_payloads_keep_outside_text_inert() -> None:
    from paper_digest.delivery import Headline, Message
    from paper_digest.delivery.webhook import feishu_payload, slack_payload

    title = "A *bold* <script>&_claim_ [link](https://evil.example)"
    message = Message(
        subject="CV 论文日报 | 2026-06-12",
        summary="扫描 3 篇。",
        headlines=[
            Headline(title=title, score="80", line="一句话 <b>", url="https://arxiv.org/abs/2606.00001")
        ],
        markdown="",
        link=None,
    )
    card = feishu_payload(message)["card"]
    text = card["elements"][2]["text"]["content"]
    assert text.startswith(
        "**1. [A \\*bold\\* &lt;script&gt;&amp;\\_claim\\_ \\[link\\](https://evil.example)]"
    )
    assert "(https://arxiv.org/abs/2606.00001)**（80 分）\n一句话 &lt;b&gt;" in text
    assert not any(e["tag"] == "action" for e in card["elements"])  # no site_url: no button
    slack = slack_payload(message)
    section = slack["blocks"][2]["text"]["text"]
    assert "&lt;script&gt;&amp;" in section and "<script>" not in section
    assert section.startswith("*1. <https://arxiv.org/abs/2606.00001|A *bold* &lt;script&gt;")
    assert slack["blocks"][-1]["type"] == "section"  # no link block without a site_url
