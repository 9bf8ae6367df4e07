"""Token estimates for budgets (the full text a deep dive reads, the limiter's tokens per minute). Pure.

Gemini counts "about 4 characters" per token for English text (ai.google.dev/gemini-api/docs/tokens: "For
Gemini models, a token is equivalent to about 4 characters. 100 tokens is equal to about 60-80 English
words"); CJK characters are about one token each. An estimate, not the server's count: budgets keep a margin.
"""

from __future__ import annotations

import re

CHARS_PER_TOKEN = 4.0

_CJK = re.compile(r"[\u3000-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uff00-\uffef]")


def estimate_tokens(text: str) -> int:
    """Tokens ``text`` costs the model, estimated (4 characters per token, one per CJK character)."""
    cjk = len(_CJK.findall(text))
    return round(cjk + (len(text) - cjk) / CHARS_PER_TOKEN)
