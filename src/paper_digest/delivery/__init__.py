"""Delivery: after a run, send the day's digest to where the researcher reads it. Optional, off by default.

Email over SMTP (:mod:`.email`) and webhooks for Feishu/Lark, Slack or any JSON endpoint (:mod:`.webhook`).
Secrets (the SMTP password, webhook URLs, which carry their token) come from the environment only. A failed
delivery is a :class:`~paper_digest.models.Delivery` record with status "failed" and one line of detail: it
never fails the digest. A channel that already sent a day's digest is skipped by later runs of that day
unless the run asks to resend.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from ..config import DeliveryConfig, WebhookConfig
from ..errors import DeliveryError
from ..models import Delivery, DeliveryStatus
from .email import send_email
from .webhook import post_webhook

__all__ = ["Headline", "Message", "deliver", "has_channels"]

logger = logging.getLogger(__name__)

#: where the SMTP password is read from (never from the TOML)
SMTP_PASSWORD_VARIABLE = "PAPER_DIGEST_SMTP_PASSWORD"


@dataclass(frozen=True)
class Headline:
    """One top paper as a chat message shows it: already plain text, cut to length."""

    title: str
    score: str
    line: str
    url: str | None


@dataclass(frozen=True)
class Message:
    """What every channel sends: the day's title, one summary line, the top papers, the digest's Markdown and,
    when the digests are published somewhere, the link to this one."""

    subject: str
    summary: str
    headlines: Sequence[Headline]
    markdown: str
    link: str | None


def has_channels(config: DeliveryConfig) -> bool:
    return config.email.enabled or bool(config.webhooks)


def deliver(
    config: DeliveryConfig,
    message: Message,
    *,
    earlier: Sequence[Delivery],
    resend: bool,
    env: Mapping[str, str],
    now: Callable[[], dt.datetime],
) -> list[Delivery]:
    """Send ``message`` on every configured channel that has not sent it yet (all of them with ``resend``).
    Returns the attempts made, one record each; never raises for a failed channel."""
    sent = {d.channel for d in earlier if d.status is DeliveryStatus.SENT}
    made: list[Delivery] = []
    channels: list[tuple[str, Callable[[], None]]] = []
    if config.email.enabled:
        email = config.email
        channels.append(
            ("email", lambda: send_email(email, message, password=env.get(SMTP_PASSWORD_VARIABLE)))
        )
    for hook in config.webhooks:
        url = env.get(hook.url_env, "").strip()
        channel = f"{hook.kind} ({hook.url_env})"

        def post(hook: WebhookConfig = hook, url: str = url) -> None:
            if not url:
                raise DeliveryError(f"{hook.url_env} is not set in the environment")
            post_webhook(hook, url, message)

        channels.append((channel, post))
    for channel, send in channels:
        if channel in sent and not resend:
            logger.info("delivery: %s already sent this day; skipped", channel)
            continue
        stamp = now().astimezone(dt.UTC).replace(microsecond=0)
        try:
            send()
        except DeliveryError as exc:
            made.append(
                Delivery(channel=channel, status=DeliveryStatus.FAILED, detail=str(exc)[:200], at=stamp)
            )
            continue
        made.append(Delivery(channel=channel, status=DeliveryStatus.SENT, at=stamp))
    return made
