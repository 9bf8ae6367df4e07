"""Pure text helpers for the renderers: Markdown/HTML escaping, safe URLs, clipping, number formats.

The rule the templates follow: every string that comes from outside (titles, abstracts, authors, comments,
LLM output, URLs) is raw text until one of these functions turns it into Markdown. The result is wrapped in
:class:`SafeMd` so the Jinja ``finalize`` hook knows it is already escaped; anything else a template prints
is escaped by default.
"""

from __future__ import annotations

import re
from urllib.parse import quote, urlsplit

__all__ = [
    "SafeMd",
    "anchor_id",
    "clip",
    "format_count",
    "format_score",
    "md_cell",
    "md_inline",
    "md_link",
    "plain_text",
    "plain_title",
    "safe_url",
    "strip_markup",
    "tex_to_plain",
]


class SafeMd(str):
    """A string that is already valid, inert Markdown: printed as is by the templates."""

    __slots__ = ()


#: Characters removed outright: C0/C1 controls (but tab and newlines, which become spaces), bidirectional
#: overrides, embeddings, isolates and marks (they could visually reorder the page), zero-width spaces
#: and BOMs.
_DROP = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x84\x86-\x9f\u061c\u200b\u200e\u200f\u202a-\u202e\u2060-\u2064"
    "\u2066-\u206f\ufeff\ufff9-\ufffb]"
)
#: Lone surrogates (from a badly decoded JSON) cannot be written as UTF-8: they become U+FFFD.
_SURROGATE = re.compile("[\ud800-\udfff]")
#: Every kind of line or paragraph break, and runs of whitespace: one space in inline text.
_SPACES = re.compile(r"[\s\u2028\u2029\x85]+")

#: Inline Markdown syntax escaped with a backslash (CommonMark allows escaping any ASCII punctuation).
#: ``|`` for GFM tables, ``~`` for strikethrough, ``$`` for GitHub math. Parentheses, dots and dashes
#: stay readable: without an unescaped ``[`` or ``<`` they cannot start a link or HTML.
_MD_ESCAPE = re.compile(r"([\\`*_\[\]|~$])")
_HTML_ESCAPE = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}
_HTML_CHARS = re.compile(r"[&<>]")
#: Text starting like a block (heading, quote, list item, setext underline, thematic break) when it is
#: printed at the start of a line, e.g. in a list item ``- {{ text }}``.
_BLOCK_START = re.compile(r"^(?:[#>+=-]|\d{1,9}(?=[.)]))")

#: Characters percent-encoded in URLs so that a URL cannot end a Markdown link destination, split a table
#: cell, open HTML or carry an invisible character.
_URL_UNSAFE = frozenset(" \t\n\r\"'()<>\\`|^{}")


def plain_text(value: object) -> str:
    """Normalise outside text to one clean line: controls and bidi overrides dropped, whitespace collapsed."""
    if value is None:
        return ""
    text = str(value)
    text = _SURROGATE.sub("\ufffd", text)
    text = _DROP.sub("", text)
    return _SPACES.sub(" ", text).strip()


def clip(value: object, limit: int | None) -> str:
    """Plain text cut to ``limit`` characters with an ellipsis (counted in code points)."""
    text = plain_text(value)
    if limit is not None and limit > 0 and len(text) > limit:
        text = text[: limit - 1].rstrip() + "…"
    return text


def clip_words(value: object, limit: int) -> str:
    """Like :func:`clip`, but a Latin-script text is cut at a word boundary, never mid-word (a text without a
    space in its last third is cut at ``limit`` as :func:`clip` does)."""
    text = plain_text(value)
    if limit <= 0 or len(text) <= limit:
        return text
    head = text[: limit - 1]
    space = head.rfind(" ")
    if space >= (limit * 2) // 3 and not text[limit - 1].isspace():
        head = head[:space]
    return head.rstrip(" ,;:-–—") + "…"


def _escape(text: str) -> str:
    text = _HTML_CHARS.sub(lambda m: _HTML_ESCAPE[m.group()], text)
    text = _MD_ESCAPE.sub(r"\\\1", text)
    return _BLOCK_START.sub(lambda m: m.group() + "\\" if m.group().isdigit() else "\\" + m.group(), text)


def md_inline(value: object, limit: int | None = None) -> SafeMd:
    """Outside text as inert inline Markdown on one line: no emphasis, link, HTML, heading or list."""
    if isinstance(value, SafeMd):
        return value
    return SafeMd(_escape(clip(value, limit)))


def md_cell(value: object, limit: int | None = None) -> SafeMd:
    """Outside text for a GFM table cell: inline-escaped (``|`` included), never empty."""
    escaped = md_inline(value, limit)
    return escaped if escaped else SafeMd("—")


def safe_url(value: object) -> str | None:
    """An absolute http(s) URL made safe for a Markdown link destination, or None for anything else
    (``javascript:``, ``data:``, relative paths, malformed URLs)."""
    if not isinstance(value, str):
        return None
    url = value.strip()
    if not url or len(url) > 2000 or _SURROGATE.search(url):
        return None
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return None
    out = []
    for char in url:
        if char in _URL_UNSAFE or ord(char) < 0x20 or ord(char) >= 0x7F:
            out.append(quote(char, safe=""))
        else:
            out.append(char)
    return "".join(out)


def md_link(label: object, url: object, *, limit: int | None = None) -> SafeMd:
    """``[label](url)`` when the URL is a safe http(s) URL, otherwise the escaped label alone."""
    text = md_inline(label, limit)
    target = safe_url(url)
    if target is None or not text:
        return text
    return SafeMd(f"[{text}]({target})")


_ANCHOR_CHARS = re.compile(r"[^a-z0-9]+")


def anchor_id(paper_id: object, prefix: str = "paper") -> str:
    """A stable HTML id for a paper from its arXiv id, using only ``[a-z0-9-]``: ``paper-2606-13681``."""
    slug = _ANCHOR_CHARS.sub("-", plain_text(paper_id).lower()).strip("-")[:80]
    return f"{prefix}-{slug}" if slug else prefix


def format_count(value: int | None) -> str:
    """Compact counts for badges: 999, 1.2k, 12.3k, 1.5M."""
    if value is None:
        return ""
    if value < 1000:
        return str(value)
    if value < 1_000_000:
        return f"{value / 1000:.1f}".removesuffix(".0") + "k"
    return f"{value / 1_000_000:.1f}".removesuffix(".0") + "M"


def format_score(value: float) -> str:
    """A 0-100 score as a whole number (deterministic rounding: half up)."""
    if value != value:  # NaN
        return "?"
    return str(int(max(0.0, min(100.0, value)) + 0.5))


# --- model output as plain text -----------------------------------------------------------------------------

#: TeX commands the model writes inside ``$...$`` and what a reader should see instead
_TEX_SYMBOLS = {
    "times": "×", "cdot": "·", "leq": "≤", "le": "≤", "geq": "≥", "ge": "≥", "neq": "≠", "ne": "≠",
    "approx": "≈", "sim": "∼", "pm": "±", "to": "→", "rightarrow": "→", "leftarrow": "←", "infty": "∞",
    "in": "∈", "sum": "∑", "prod": "∏", "partial": "∂", "nabla": "∇", "alpha": "α", "beta": "β",
    "gamma": "γ", "delta": "δ", "Delta": "Δ", "epsilon": "ε", "varepsilon": "ε", "eta": "η", "theta": "θ",
    "lambda": "λ", "mu": "μ", "pi": "π", "rho": "ρ", "sigma": "σ", "Sigma": "Σ", "tau": "τ", "phi": "φ",
    "varphi": "φ", "psi": "ψ", "omega": "ω", "Omega": "Ω", "ell": "ℓ", "circ": "∘", "odot": "⊙",
    "oplus": "⊕", "otimes": "⊗", "mid": "|", "ldots": "…", "cdots": "⋯", "dots": "…", "%": "%",
}  # fmt: skip
_SUB = str.maketrans("0123456789+-=()aeijkmnoprstuvx", "₀₁₂₃₄₅₆₇₈₉₊₋₌₍₎ₐₑᵢⱼₖₘₙₒₚᵣₛₜᵤᵥₓ")
_SUP = str.maketrans("0123456789+-=()n", "⁰¹²³⁴⁵⁶⁷⁸⁹⁺⁻⁼⁽⁾ⁿ")
_MATH = re.compile(r"\$\$(.+?)\$\$|\$(.+?)\$|\\\((.+?)\\\)|\\\[(.+?)\\\]", re.DOTALL)
_TEX_WRAPPER = re.compile(
    r"\\(?:mathbf|mathrm|mathit|mathcal|mathbb|boldsymbol|text|textbf|textit|operatorname|hat|tilde|bar|"
    r"widehat|widetilde|overline|vec|mathsf|mathtt|texttt|textsc|textrm|textsf|emph|underline|mathscr|"
    r"mathfrak)\s*\{([^{}]*)\}"
)
_TEX_FRAC = re.compile(r"\\[dt]?frac\s*\{([^{}]*)\}\s*\{([^{}]*)\}")
_TEX_COMMAND = re.compile(r"\\([A-Za-z]+|%)")
_TEX_SCRIPT = re.compile(r"([_^])\{([^{}]*)\}|([_^])([A-Za-z0-9])")
_EMPHASIS = re.compile(r"\*\*(.+?)\*\*|__(.+?)__|(?<![\w*])\*(?!\s)([^*\n]+?)(?<!\s)\*(?![\w*])")
_CODE = re.compile(r"`([^`\n]+)`")


def _script(match: re.Match[str]) -> str:
    mark = match.group(1) or match.group(3)
    body = match.group(2) if match.group(1) else match.group(4)
    table = _SUB if mark == "_" else _SUP
    converted = body.translate(table)
    if all(ch != orig or not ch.strip() for ch, orig in zip(converted, body, strict=True)):
        return converted  # every character has a sub/superscript form
    return f"{mark}{body}"


def _atom(part: str) -> str:
    part = part.strip()
    return part if re.fullmatch(r"[\w.\\]+", part) else f"({part})"


def tex_to_plain(tex: str) -> str:
    """A TeX formula as readable text: ``x_0`` -> x₀, ``\\times`` -> ×, ``\\mathbf{z}`` -> z, a/b."""
    text = tex.strip()
    for _ in range(3):  # nested wrappers, innermost first
        text = _TEX_WRAPPER.sub(r"\1", text)
        text = _TEX_FRAC.sub(lambda m: f"{_atom(m.group(1))}/{_atom(m.group(2))}", text)
    text = _TEX_COMMAND.sub(lambda m: _TEX_SYMBOLS.get(m.group(1), m.group(1)), text)
    text = _TEX_SCRIPT.sub(_script, text)
    text = text.replace("{", "").replace("}", "").replace("\\", "")
    return re.sub(r"\s+", " ", text).strip()


#: inline math in a paper title: ``$...$`` not escaped as ``\$`` (a title has no display math)
_TITLE_MATH = re.compile(r"(?<!\\)\$(?!\s)([^$]+?)(?<![\s\\])\$")


def plain_title(value: object) -> str:
    """A paper title as a reader sees it: its TeX made readable (``D$^{2}$R$^{2}$OSR`` -> D²R²OSR,
    ``$\\rho$-Flow`` -> ρ-Flow). arXiv titles carry TeX that arXiv renders with MathJax; escaped for Markdown
    it would show as typed."""
    return _TITLE_MATH.sub(lambda m: tex_to_plain(m.group(1)), plain_text(value)).replace("\\$", "$")


def strip_markup(value: str) -> str:
    """Model output as plain text: Markdown emphasis and code marks dropped, ``$...$`` math made readable.

    Applied to what the model wrote before it is stored, so the escaping in :func:`md_inline` stays as strict
    as it is (a literal ``**`` or ``$`` would otherwise show as typed)."""
    text = _MATH.sub(lambda m: tex_to_plain(next(g for g in m.groups() if g is not None)), value)
    for _ in range(2):
        text = _EMPHASIS.sub(lambda m: next(g for g in m.groups() if g is not None), text)
    return _CODE.sub(r"\1", text)
