"""The view models of a digest: everything a template prints, computed once, in Python, deterministically
(one paper's view is :mod:`paper_digest.paper_view`).

Templates receive raw data (these plain view objects, and the Digest): every string here is raw text, the
template's escaping (see :mod:`paper_digest.render`) makes it inert. The templates read the view only: links,
the abstract URL, whether a paper was picked for a deep dive are all here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from .markup import (
    anchor_id,
    clip,
    format_score,
    plain_title,
    safe_url,
)
from .models import (
    Digest,
    Source,
    SourceStatus,
)
from .notices import SOURCE_NAMES, sentence, source_notice, unique
from .paper_view import TITLE_LIMIT, PaperView, paper_views

__all__ = [
    "DigestView",
    "IndexRow",
    "digest_view",
    "index_row",
    "newest_first",
    "top_papers",
]


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
    views = paper_views(papers)
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
