"""The view models of a digest: everything a template prints, computed once, in Python, deterministically.

Templates receive raw data (these plain view objects, and the Digest): every string here is raw text, the
template's escaping (see :mod:`paper_digest.render`) makes it inert. The templates read the view only: links,
the abstract URL, whether a paper was picked for a deep dive are all here.
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
from .models import (
    AnalysisStatus,
    DeepDive,
    Digest,
    DigestPaper,
    Source,
    SourceStatus,
)
from .notices import DEFAULT_MESSAGES, SOURCE_NAMES, sentence, source_notice, unique

__all__ = [
    "DigestView",
    "IndexRow",
    "Link",
    "PaperView",
    "digest_view",
    "index_row",
    "newest_first",
    "top_papers",
]

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
SENTENCE_LIMIT = 600
MESSAGE_LIMIT = 200
ABSTRACT_EXCERPT = 500
REASON_LIMIT = 140
ONE_LINE_LIMIT = 160
TOPICS_SHOWN = 3
#: the reasons whose topic the one-line column names: the paper's own words matched the profile
TOPIC_KINDS = frozenset({"keyword", "description"})
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
    learned: str | None = None


@dataclass(frozen=True)
class DigestView:
    digest: Digest
    scan_line: str
    notices: list[str]
    featured: list[PaperView]
    others: list[PaperView]
    #: papers scanned but not listed (below digest.list_min_score or beyond digest.max_listed)
    hidden: int
    #: the one line saying so, or None when every paper is listed
    hidden_line: str | None
    ledger_line: str | None
    score_line: str
    empty_reason: str | None
    all_papers: list[PaperView] = field(default_factory=list)
    #: the papers the learned model is least sure about, with their like / dislike commands
    to_rate: list[PaperView] = field(default_factory=list)


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
        one_line=summary or "；".join(part for part in (reason, learned) if part),
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


def _paper_views(papers: Sequence[DigestPaper]) -> list[PaperView]:
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


def _source_name(key: str) -> str:
    known = {source.value: name for source, name in SOURCE_NAMES.items()}
    return known.get(key, clip(key, 40))


def _scan_line(digest: Digest) -> str:
    stats = digest.stats
    by_source = dict(stats.candidates_by_source)
    if not by_source:
        by_source = {r.source.value: r.count for r in digest.sources if r.status is not SourceStatus.DISABLED}
    order = [Source.HUGGINGFACE.value, Source.ARXIV.value]
    keys = [k for k in order if k in by_source] + sorted(k for k in by_source if k not in order)
    total = stats.candidates or len(digest.papers)
    parts = [f"{_source_name(k)} {by_source[k]}" for k in keys]
    detail = " · ".join(parts)
    if parts and sum(by_source.values()) != total:
        detail += f"，去重后 {total}"
    line = f"扫描 {total} 篇"
    if detail:
        line += f"（{detail}）"
    featured = len(digest.featured)
    done = digest.deep_dives_done
    if total:
        line += f"，{stats.above_threshold} 篇达到推荐分数线（≥ {digest.min_score:g} 分）"
    if featured:
        line += f"，精选 {featured} 篇深度解读"
        if done != featured:
            line += f"（已完成 {done} 篇）"
    return line + "。"


def _notices(digest: Digest) -> list[str]:
    """The digest's notices, each once, plus the notice of any source that did not deliver when the digest
    has none about that source (a digest assembled elsewhere); as the reader's sentences."""
    notices = unique(digest.notices)
    for report in digest.sources:
        notice = source_notice(report)
        if notice is None or notice in notices:
            continue
        if report.notice is None and any(n.source is report.source for n in notices):
            continue  # the digest already says what happened to this source
        notices.append(notice)
    lines = [clip(sentence(n), 400) for n in notices]
    return [line for line in dict.fromkeys(lines) if line]


def _ledger_line(digest: Digest) -> str | None:
    ledger = digest.stats.llm
    requests = ledger.requests
    if not requests:
        return None
    # what the day's digest cost in all (stable across reruns); a run's cache hits are the console's
    models = "、".join(f"{clip(m, 60)} {n}" for m, n in sorted(ledger.requests_by_model.items()))
    line = f"LLM 请求 {requests} 次"
    if models:
        line += f"（{models}）"
    line += f" · tokens 输入 {ledger.tokens_in:,} / 输出 {ledger.tokens_out:,}"
    limited = ledger.rate_limited_minute + ledger.rate_limited_day
    if ledger.retries or limited:
        line += f" · 重试 {ledger.retries} · 限流 {limited}"
    return line


def _empty_reason(digest: Digest, notices: Sequence[str]) -> str | None:
    if digest.papers:
        return None
    if notices:
        return "今天没有可推荐的论文，原因见上方提示。"
    return "今天没有可推荐的论文：各来源都没有新论文。"


def _hidden_line(below: int, capped: int, floor: float, max_listed: int | None, scanned: int) -> str | None:
    """One line saying how many scanned papers the list leaves out, and why."""
    tail = "，完整列表见同名 JSON 文件。"
    if below and capped:
        return (
            f"另有 {below + capped} 篇论文未列出（{below} 篇低于 {floor:g} 分，{capped} 篇超出列表上限"
            f" {max_listed} 篇；共扫描 {scanned} 篇）{tail}"
        )
    if below:
        return f"另有 {below} 篇低于 {floor:g} 分的论文未列出（共扫描 {scanned} 篇）{tail}"
    if capped:
        return f"另有 {capped} 篇论文超出列表上限 {max_listed} 篇未列出（共扫描 {scanned} 篇）{tail}"
    return None


def top_papers(
    digest: Digest, count: int, *, list_min_score: float | None = None
) -> tuple[str, list[PaperView]]:
    """The day's summary line and its top papers (deep dives first, then the listed ones), for a message that
    is not the digest itself (email subject lines, chat webhooks)."""
    view = digest_view(digest, list_min_score=list_min_score)
    return view.scan_line, (view.featured + view.others)[: max(0, count)]


def digest_view(
    digest: Digest, *, max_listed: int | None = None, list_min_score: float | None = None
) -> DigestView:
    """Everything a digest template needs, computed once, in Python, deterministically. The list of other
    papers stops below ``list_min_score`` and after ``max_listed`` rows (None: no limit)."""
    papers = sorted(digest.papers, key=lambda p: (p.rank, p.id))
    views = _paper_views(papers)
    featured = [v for v in views if v.featured]
    others = [v for v in views if not v.featured]
    floor = list_min_score or 0.0
    below = sum(1 for v in others if v.paper.score < floor)
    others = [v for v in others if v.paper.score >= floor]
    capped = 0
    if max_listed is not None and len(others) > max_listed:
        capped = len(others) - max_listed
        others = others[:max_listed]
    hidden = below + capped
    notices = _notices(digest)
    by_id = {v.paper.id: v for v in reversed(views)}  # a duplicated id: its first (best-ranked) view
    return DigestView(
        digest=digest,
        scan_line=_scan_line(digest),
        notices=notices,
        featured=featured,
        others=others,
        hidden=hidden,
        hidden_line=_hidden_line(below, capped, floor, max_listed, len(digest.papers)),
        ledger_line=_ledger_line(digest),
        score_line=(
            f"评分为 0–100，依据研究画像中的关键词、研究描述、关注作者等计算；达到 {digest.min_score:g} 分"
            "的论文才会入选深度解读。每篇论文的评分依据见同名 JSON 文件。"
        ),
        empty_reason=_empty_reason(digest, notices),
        all_papers=featured + others,
        to_rate=[by_id[pid] for pid in digest.to_rate if pid in by_id],
    )


@dataclass(frozen=True)
class IndexRow:
    date: str
    file: str
    title: str
    papers: int
    deep_dives: int
    top_title: str | None
    top_score: str | None
    top_url: str | None
    problems: int


def index_row(digest: Digest) -> IndexRow:
    day = digest.date.isoformat()
    file = f"{day}.md"
    papers = sorted(digest.papers, key=lambda p: (p.rank, p.id))
    top = papers[0] if papers else None
    top_title = top_url = top_score = None
    if top is not None:
        zh = top.analysis.title_zh if top.analysis is not None else ""
        top_title = clip(zh, TITLE_LIMIT) or clip(plain_title(top.title), TITLE_LIMIT) or top.id
        top_score = format_score(top.score)
        top_url = f"{file}#{anchor_id(top.id)}" if top.deep_dive else safe_url(top.links.get("abs"))
    problems = sum(1 for r in digest.sources if r.status is SourceStatus.FAILED)
    return IndexRow(
        date=day,
        file=file,
        title=clip(digest.title, TITLE_LIMIT),
        papers=len(digest.papers),
        deep_dives=digest.deep_dives_done,
        top_title=top_title,
        top_score=top_score,
        top_url=top_url,
        problems=problems,
    )


def newest_first(digests: Sequence[Digest]) -> list[Digest]:
    """Digests newest first, one per date (the first one given wins)."""
    seen: set[str] = set()
    unique = []
    for digest in digests:
        key = digest.date.isoformat()
        if key not in seen:
            seen.add(key)
            unique.append(digest)
    return sorted(unique, key=lambda d: d.date, reverse=True)
