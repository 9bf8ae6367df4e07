"""The day's top papers as a chat message: Feishu/Lark, Slack, or a generic JSON POST.

Payload formats, as the services document them:

- Feishu/Lark custom bot ("自定义机器人"): POST ``{"msg_type": "interactive", "card": {...}}`` to
  ``https://open.feishu.cn/open-apis/bot/v2/hook/<token>`` (Lark: open.larksuite.com). The card uses the
  message-card JSON of ``config`` / ``header`` / ``elements`` with ``div`` + ``lark_md`` text, ``hr`` and
  an ``action`` holding a ``button`` with a ``url``. The answer is HTTP 200 with
  ``{"code": 0, "msg": "success"}``; a rejected message is also HTTP 200 with another ``code`` (e.g. 19021
  when the signature check fails), so the code is what counts.
  https://open.feishu.cn/document/client-docs/bot-v3/add-custom-bot ,
  https://open.feishu.cn/document/common-capabilities/message-card/getting-started/send-message-cards-with-a-custom-bot
- Slack incoming webhook: POST ``{"text": ..., "blocks": [...]}`` (``text`` is the notification fallback when
  ``blocks`` are given; a ``section`` block's mrkdwn text holds at most 3000 characters). The answer is
  HTTP 200 with the body ``ok``; errors are 400 ``invalid_payload``, 403 ``action_prohibited``,
  404 ``no_service`` / ``channel_not_found``, 410 ``channel_is_archived``.
  https://api.slack.com/messaging/webhooks , https://api.slack.com/reference/block-kit/blocks#section
- ``json``: our own small document (subject, summary, link, papers) for any endpoint; any 2xx
  answer counts as delivered.

The URL carries the webhook's token: it is never logged or put in an error message.
"""

from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING, Any

import requests

from ..config import WebhookConfig
from ..errors import DeliveryError

if TYPE_CHECKING:
    from . import Headline, Message

logger = logging.getLogger(__name__)

SLACK_SECTION_LIMIT = 3000


def _lark_escape(text: str) -> str:
    """lark_md is Markdown-like and reads tags (``<at id=all></at>`` mentions everyone, ``<font>``): keep a
    title's own * _ ~ [ ] ` from turning into markup and its < > & into tags (HTML entities, which lark_md
    shows as the characters)."""
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return "".join("\\" + c if c in "*_~[]`" else c for c in text)


def _slack_escape(text: str) -> str:
    """Slack mrkdwn: & < > are the characters to escape (https://api.slack.com/reference/surfaces/formatting)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _line(index: int, item: Headline, *, link: str, line: str) -> str:
    return f"**{index}. {link}**（{item.score} 分）" + (f"\n{line}" if line else "")


def feishu_payload(message: Message) -> dict[str, Any]:
    summary = _lark_escape(message.summary)
    elements: list[dict[str, Any]] = [{"tag": "div", "text": {"tag": "lark_md", "content": summary}}]
    for index, item in enumerate(message.headlines, start=1):
        title = _lark_escape(item.title)
        shown = f"[{title}]({item.url})" if item.url else title
        text = _line(index, item, link=shown, line=_lark_escape(item.line))
        elements += [{"tag": "hr"}, {"tag": "div", "text": {"tag": "lark_md", "content": text}}]
    if message.link:
        button = {
            "tag": "button",
            "text": {"tag": "plain_text", "content": "阅读完整日报"},
            "type": "primary",
            "url": message.link,
        }
        elements += [{"tag": "hr"}, {"tag": "action", "actions": [button]}]
    return {
        "msg_type": "interactive",
        "card": {
            "config": {"wide_screen_mode": True},
            "header": {"title": {"tag": "plain_text", "content": message.subject}, "template": "blue"},
            "elements": elements,
        },
    }


def slack_payload(message: Message) -> dict[str, Any]:
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": message.subject[:150]}},
        {"type": "section", "text": {"type": "mrkdwn", "text": _slack_escape(message.summary)}},
    ]
    for index, item in enumerate(message.headlines, start=1):
        title = _slack_escape(item.title)
        shown = f"<{item.url}|{title}>" if item.url else title
        text = f"*{index}. {shown}*（{item.score} 分）" + (
            f"\n{_slack_escape(item.line)}" if item.line else ""
        )
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": text[:SLACK_SECTION_LIMIT]}})
    if message.link:
        link = f"<{message.link}|阅读完整日报>"
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": link}]})
    return {"text": f"{message.subject}：{message.summary}", "blocks": blocks}


def json_payload(message: Message) -> dict[str, Any]:
    return {
        "subject": message.subject,
        "summary": message.summary,
        "link": message.link,
        "papers": [
            {"title": h.title, "score": h.score, "line": h.line, "url": h.url} for h in message.headlines
        ],
    }


PAYLOADS = {"feishu": feishu_payload, "slack": slack_payload, "json": json_payload}


def post_webhook(hook: WebhookConfig, url: str, message: Message) -> None:
    """POST the message; raises DeliveryError naming the webhook by its variable, never by its URL."""
    name = f"{hook.kind} ({hook.url_env})"
    body = json.dumps(PAYLOADS[hook.kind](message), ensure_ascii=False).encode("utf-8")
    headers = {"Content-Type": "application/json; charset=utf-8"}
    try:
        response = requests.post(url, data=body, headers=headers, timeout=hook.timeout_seconds)
    except requests.Timeout:
        raise DeliveryError(f"{name}: timed out") from None
    except requests.ConnectionError:
        raise DeliveryError(f"{name}: connection failed") from None
    except requests.RequestException as exc:
        raise DeliveryError(f"{name}: request failed ({exc.__class__.__name__})") from None
    if not 200 <= response.status_code < 300:
        raise DeliveryError(f"{name}: HTTP {response.status_code}")
    if hook.kind == "feishu":
        try:
            answer = response.json()
        except ValueError:
            raise DeliveryError(f"{name}: the answer is not JSON") from None
        code = answer.get("code", answer.get("StatusCode")) if isinstance(answer, dict) else None
        if code != 0:
            raise DeliveryError(f"{name}: rejected with code {code}")
    logger.info("%s: delivered", name)
