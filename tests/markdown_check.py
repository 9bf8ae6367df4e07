"""Checks a rendered Markdown page the way a reader's viewer would see it (CommonMark + tables)."""

from __future__ import annotations

import re

from markdown_it import MarkdownIt

ANCHOR_HTML = re.compile(r'^(?:<a id="[a-z0-9-]+">(?:</a>)?|</a>)$')


def tokens(text: str) -> list:  # type: ignore[type-arg]
    md = MarkdownIt("commonmark").enable("table")
    flat = []
    for token in md.parse(text):
        flat.append(token)
        flat.extend(token.children or [])
    return flat


def check_page(text: str, *, relative_ok: bool = False) -> None:
    """Every internal link resolves, every external link is http(s), HTML is only our anchors."""
    toks = tokens(text)
    ids: set[str] = set()
    for tok in toks:
        if tok.type in ("html_inline", "html_block"):
            assert ANCHOR_HTML.match(tok.content.strip()), tok.content
            ids.update(re.findall(r'id="([a-z0-9-]+)"', tok.content))
    for tok in toks:
        if tok.type == "link_open":
            href = str(tok.attrs["href"])
            if href.startswith("#"):
                assert href[1:] in ids, f"dangling internal link {href}"
            elif relative_ok and re.fullmatch(r"\d{4}-\d{2}-\d{2}\.md(#[a-z0-9-]+)?|feed\.xml", href):
                continue
            else:
                assert re.match(r"https?://", href), href
    html = MarkdownIt("commonmark").enable("table").render(text)
    lowered = html.lower()
    assert "<script" not in lowered and "<img" not in lowered
    assert not re.search(r'(?:href|src)="\s*(?:javascript|data|vbscript):', lowered)
