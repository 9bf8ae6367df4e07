"""The digest by email: one multipart/alternative message, the Markdown itself as the text part and HTML
rendered from the same Markdown (markdown-it-py, CommonMark + GFM tables) as the HTML part.

SMTP with STARTTLS (RFC 3207, usually port 587), implicit TLS (RFC 8314, port 465) or plain (a local relay).
The password is read from the environment by the caller; nothing here logs it, and an error is reported by
its kind (refused, timeout, authentication, recipients refused), never with the server's text.
"""

from __future__ import annotations

import html
import smtplib
import socket
import ssl
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import TYPE_CHECKING

from markdown_it import MarkdownIt

from ..config import EmailConfig
from ..errors import DeliveryError

if TYPE_CHECKING:
    from . import Message

#: minimal styling so the tables read in mail clients that ignore <style> blocks less than inline CSS
_CSS = (
    "body{font-family:-apple-system,'PingFang SC','Microsoft YaHei',sans-serif;line-height:1.6;"
    "max-width:900px}"
    "table{border-collapse:collapse}th,td{border:1px solid #d0d7de;padding:4px 8px;vertical-align:top}"
    "blockquote{margin:0;padding:0 1em;color:#57606a;border-left:4px solid #d0d7de}"
)


def render_html(markdown: str, *, title: str, link: str | None) -> str:
    """HTML for the email from the digest's Markdown. Raw HTML in it is the templates' own anchors: every
    outside string was escaped when the Markdown was rendered, so it passes through inert."""
    parser = MarkdownIt("commonmark", {"html": True}).enable("table")
    body = parser.render(markdown)
    online = (
        f'<p><a href="{html.escape(link, quote=True)}">在线阅读本期日报</a></p>\n' if link is not None else ""
    )
    return (
        '<!DOCTYPE html>\n<html lang="zh-CN"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title><style>{_CSS}</style></head>\n<body>\n{online}{body}</body></html>\n"
    )


def build_email(config: EmailConfig, message: Message) -> EmailMessage:
    mail = EmailMessage()
    mail["Subject"] = message.subject
    mail["From"] = config.sender
    mail["To"] = ", ".join(config.recipients)
    mail["Date"] = formatdate(localtime=False)
    mail["Message-ID"] = make_msgid(domain=config.sender.rpartition("@")[2] or None)
    text = message.markdown if message.link is None else f"在线阅读：{message.link}\n\n{message.markdown}"
    mail.set_content(text, subtype="plain", charset="utf-8")
    mail.add_alternative(
        render_html(message.markdown, title=message.subject, link=message.link), subtype="html"
    )
    return mail


def send_email(config: EmailConfig, message: Message, *, password: str | None) -> None:
    """Send the digest; raises DeliveryError with one line saying what went wrong."""
    mail = build_email(config, message)
    where = f"{config.host}:{config.port}"
    context = ssl.create_default_context()
    step = "connect"  # what the server was asked when it failed
    try:
        if config.security == "ssl":
            client: smtplib.SMTP = smtplib.SMTP_SSL(
                config.host, config.port, timeout=config.timeout_seconds, context=context
            )
        else:
            client = smtplib.SMTP(config.host, config.port, timeout=config.timeout_seconds)
        with client:
            if config.security == "starttls":
                step = "starttls"
                client.starttls(context=context)
            if config.username:
                if not password:
                    raise DeliveryError("email: PAPER_DIGEST_SMTP_PASSWORD is not set in the environment")
                step = "login"
                client.login(config.username, password)
            client.send_message(mail)
    except DeliveryError:
        raise
    except smtplib.SMTPAuthenticationError as exc:
        raise DeliveryError(f"email: {where} refused the login (SMTP {exc.smtp_code})") from None
    except smtplib.SMTPRecipientsRefused:
        raise DeliveryError(f"email: {where} refused the recipients") from None
    except smtplib.SMTPNotSupportedError:
        if step == "starttls":
            hint = ' (set security = "ssl" or "none")'
            raise DeliveryError(f"email: {where} does not offer STARTTLS{hint}") from None
        raise DeliveryError(f"email: {where} does not offer {step} (SMTP AUTH)") from None
    except smtplib.SMTPResponseException as exc:
        raise DeliveryError(f"email: {where} answered SMTP {exc.smtp_code}") from None
    except TimeoutError:
        raise DeliveryError(f"email: {where} timed out") from None
    except ConnectionRefusedError:
        raise DeliveryError(f"email: {where} refused the connection") from None
    except socket.gaierror:
        raise DeliveryError(f"email: {config.host}: name resolution failed") from None
    except ssl.SSLError:
        raise DeliveryError(f"email: {where}: TLS error") from None
    except (smtplib.SMTPException, OSError) as exc:
        raise DeliveryError(f"email: {where}: {exc.__class__.__name__}") from None
