"""The view of one paper: what a template prints about it (titles, authors, badges, links in a fixed order,
the one-line summary, the status line of a deep dive that is missing), computed once from a
:class:`~paper_digest.models.DigestPaper`. Every string is raw text: the template escapes it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from .markup import (
    SafeMd,
    anchor_id,
    clip,
    clip_words,
    format_count,
    format_score,
    plain_text,
    plain_title,
    safe_url,
)
from .models import AnalysisStatus, DeepDive, DigestPaper, Source
from .notices import DEFAULT_MESSAGES

__all__ = ["TITLE_LIMIT", "Link", "PaperView", "paper_views", "rate_line"]

ANNOUNCE_LABELS = {
    "new": "新论文",
    "cross": "交叉列表",
    "replace": "版本更新",
    "replace-cross": "版本更新（交叉列表）",
}
STATUS_ICONS = {
    AnalysisStatus.PENDING: "⏳",
    AnalysisStatus.FAILED: "⚠️",
    AnalysisStatus.BLOCKED: "🚫",
    AnalysisStatus.SKIPPED: "ℹ️",
    AnalysisStatus.DONE: "⚠️",
}
#: Lengths that keep one bad input from swamping the page (in characters).
TITLE_LIMIT = 300
AUTHOR_LIMIT = 80
MESSAGE_LIMIT = 200
ABSTRACT_EXCERPT = 500
REASON_LIMIT = 140
ONE_LINE_LIMIT = 160
TOPICS_SHOWN = 3
#: the reasons whose topic the one-line column names: the paper's own words matched the profile
TOPIC_KINDS = frozenset({"keyword", "description", "related"})
AUTHORS_SHOWN = 3


# --------------------------------------------------------------------------------------------- view objects


@dataclass(frozen=True)
class Link:
    label: str
    url: str


@dataclass(frozen=True)
class PaperView:
    """One paper as the templates see it. Every string is raw text: the template escapes it."""

    paper: DigestPaper
    anchor: str
    rank: int
    score: str
    title: str
    title_zh: str | None
    authors: str
    badges: list[str]
    comment: str | None
    #: the paper's links in a fixed order (abs, PDF, HF, code, project), http(s) only
    links: list[Link]
    #: the arXiv abstract page (the link of the paper's title), or None when its URL is not http(s)
    abs_url: str | None
    #: picked for a deep dive (finished or not)
    featured: bool
    #: what the paper is about, one short line (the 看点 / 一句话 column): the deep dive's one-sentence
    #: summary, else the matched topics in Chinese, else HF's AI summary; never the score's internals (the
    #: sidecar keeps those). ``reason`` is the same line without the deep dive (the name user templates know).
    one_line: str
    reason: str
    analysis: DeepDive | None
    status: str
    status_icon: str
    message: str
    abstract: str
    #: the deep dive was written from the abstract only (the full text could not be had): 📄 基于摘要
    from_abstract: bool = False
    #: numbers of the deep dive not found in the text the model read (⚠️)
    unverified: list[str] = field(default_factory=list)
    #: the copyable like / dislike commands (trusted Markdown built from a validated id), or None
    rate_line: SafeMd | None = None
    #: what the ratings changed: "与你赞过的 2606.12575 相近 +8.2 分", or None
    #: shown beside the score in the paper's details (🧭), never in the 看点 column (issue 15)
    learned: str | None = None


def _authors(names: Sequence[str]) -> str:
    cleaned = [clip(n, AUTHOR_LIMIT) for n in names]
    cleaned = [n for n in cleaned if n]
    if len(cleaned) <= AUTHORS_SHOWN + 1:
        return ", ".join(cleaned)
    return ", ".join(cleaned[:AUTHORS_SHOWN]) + f" 等 {len(cleaned)} 人"


def _badges(paper: DigestPaper) -> list[str]:
    badges: list[str] = []
    if paper.hf is not None:
        badges.append(f"🔥 HF {paper.hf.upvotes} 赞")
        if paper.hf.organization:
            badges.append(f"🏢 {clip(paper.hf.organization, 60)}")
    elif Source.HUGGINGFACE in paper.sources:
        badges.append("🔥 HF")
    if paper.arxiv is not None:
        parts = ["arXiv"]
        if paper.arxiv.primary_category:
            parts.append(clip(paper.arxiv.primary_category, 30))
        badges.append("🗂️ " + " ".join(parts))
        kind = ANNOUNCE_LABELS.get(paper.arxiv.announce_type or "")
        if kind:
            badges.append(kind)
    elif Source.ARXIV in paper.sources:
        badges.append("🗂️ arXiv")
    if paper.is_update:
        version = f" v{paper.version}" if paper.version else ""
        badges.append(f"🔁 新版本{version}")
    return badges


def _links(paper: DigestPaper) -> list[Link]:
    """Links in a fixed order; only http(s) URLs survive."""
    labels = [("abs", "摘要"), ("pdf", "PDF"), ("hf", "HF"), ("code", "代码"), ("project", "项目主页")]
    found: list[Link] = []
    for key, label in labels:
        url = safe_url(paper.links.get(key))
        if url is None:
            continue
        if key == "code" and paper.hf is not None and paper.hf.github_stars:
            label = f"代码 ⭐ {format_count(paper.hf.github_stars)}"
        found.append(Link(label, url))
    return found


def _topics(paper: DigestPaper) -> list[str]:
    """The profile topics a paper matched, strongest first, as a reader names them (the scorer's
    ``topic``)."""
    # only what the paper's text matched (keyword, description): a semantic closeness is no "涉及"
    matched = (r for r in paper.score_reasons if r.points > 0 and r.kind in TOPIC_KINDS)
    positive = sorted(matched, key=lambda r: (-r.points, r.detail))
    topics: list[str] = []
    for reason in positive:
        topic = clip(reason.topic, 30)
        if topic and topic not in topics:
            topics.append(topic)
    # "扩散" says nothing "扩散模型" does not: keep the more specific of two nested topics
    specific = [t for t in topics if not any(t != other and t in other for other in topics)]
    return specific[:TOPICS_SHOWN]


def _reason(paper: DigestPaper) -> str:
    """What a paper is about without a deep dive: its matched topics in Chinese, else the HF AI summary cut at
    a word, else nothing (the table shows a dash). Never the score's explanation: that is in the sidecar."""
    topics = _topics(paper)
    if topics:
        return "涉及：" + "、".join(topics)
    if paper.hf is not None and plain_text(paper.hf.ai_summary):
        return clip_words(paper.hf.ai_summary, REASON_LIMIT)
    return ""


_RATE_ID = re.compile(r"^(?:\d{4}\.\d{4,5}|[a-z][a-z.-]*(?:\.[A-Z]{2})?/\d{7})$")


def rate_line(paper_id: str) -> SafeMd | None:
    """The like / dislike commands for a paper, as code spans to copy (only for a well-formed arXiv id)."""
    if not _RATE_ID.match(paper_id):
        return None
    return SafeMd(f"👍 `paper-digest like {paper_id}` · 👎 `paper-digest dislike {paper_id}`")


def _learned(paper: DigestPaper) -> str | None:
    """The learned adjustment's reason in short: its sentence up to the bracket, and its points."""
    for reason in paper.score_reasons:
        if reason.kind in ("liked", "learned") and reason.points:
            sentence = clip(reason.detail.split("（", 1)[0], 80)
            return f"{sentence} {reason.points:+.1f} 分"
    return None


def _paper_view(paper: DigestPaper, anchor: str) -> PaperView:
    analysis = paper.analysis if paper.analysis_status is AnalysisStatus.DONE else None
    status = paper.analysis_status
    if status is AnalysisStatus.DONE and analysis is None:
        status = AnalysisStatus.FAILED  # "done" without content: say so calmly
    message = clip(paper.analysis_message, MESSAGE_LIMIT) or DEFAULT_MESSAGES[status]
    title_zh = clip(analysis.title_zh, TITLE_LIMIT) if analysis is not None else ""
    comment = clip(paper.arxiv.comment, 200) if paper.arxiv is not None else ""
    reason = _reason(paper)
    learned = _learned(paper)
    summary = clip(analysis.one_sentence, ONE_LINE_LIMIT) if analysis is not None else ""
    return PaperView(
        paper=paper,
        anchor=anchor,
        rank=paper.rank,
        score=format_score(paper.score),
        title=clip(plain_title(paper.title), TITLE_LIMIT) or paper.id,
        title_zh=title_zh or None,
        authors=_authors(paper.authors),
        badges=_badges(paper),
        comment=comment or None,
        links=_links(paper),
        abs_url=safe_url(paper.links.get("abs")),
        featured=paper.deep_dive,
        one_line=summary or reason,
        reason=reason,
        analysis=analysis,
        status=status.value,
        status_icon=STATUS_ICONS[status],
        message=message,
        abstract=clip(paper.abstract, ABSTRACT_EXCERPT),
        from_abstract=analysis is not None and paper.text_source == "abstract",
        unverified=[clip(n, 24) for n in paper.unverified_numbers[:20]] if analysis is not None else [],
        rate_line=rate_line(paper.id),
        learned=learned,
    )


def paper_views(papers: Sequence[DigestPaper]) -> list[PaperView]:
    """Views with unique anchors (``paper-<arxiv id>``; a clash gets the rank appended)."""
    seen: set[str] = set()
    views = []
    for paper in papers:
        anchor = anchor_id(paper.id)
        if anchor in seen:
            anchor = f"{anchor}-r{paper.rank}"
        while anchor in seen:
            anchor += "-x"
        seen.add(anchor)
        views.append(_paper_view(paper, anchor))
    return views
