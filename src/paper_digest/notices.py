"""The one place for the digest's sentences about what is missing and why.

A :class:`~paper_digest.models.Notice` is data (a kind and its parameters) from the stage that knows the fact
(a source, the assembly of the day) until the view renders it here; the sidecar keeps the data. The sentence
of each LLM outcome of a single paper is :mod:`paper_digest.analysis.messages`; this module holds the day's
notices and a paper's fallback sentences. Never an error body: the English detail goes to the console and to
the sidecar's ``sources[].detail``.
"""

from __future__ import annotations

from collections.abc import Iterable

from .models import (
    AnalysisStatus,
    Notice,
    NoticeKind,
    Source,
    SourceReport,
    SourceStatus,
    format_local_time,
)

__all__ = [
    "DEFAULT_MESSAGES",
    "MSG_NOT_ANALYSED",
    "SOURCE_NAMES",
    "sentence",
    "source_failure_words",
    "source_notice",
    "unique",
]

SOURCE_NAMES = {Source.HUGGINGFACE: "HuggingFace", Source.ARXIV: "arXiv"}

#: why a source failed, in the reader's words, by ``SourceError.kind`` ("parse": a body that is not the
#: source's format)
_FAILURE_WORDS = {
    "timeout": "请求超时",
    "connection": "无法连接",
    "broken": "连接在传输中断开",
    "too_large": "返回的数据过大",
    "request": "请求无法发出",
    "offline": "离线运行，但没有保存这一天的原始响应",
}

#: for a selected paper the analyser returned nothing about (it should not happen; the next run retries)
MSG_NOT_ANALYSED = "本次运行未能生成这篇论文的深度解读，将在下次运行时补全。"
#: the calm sentence shown when an analysis did not finish and the pipeline gave none
DEFAULT_MESSAGES = {
    AnalysisStatus.PENDING: "深度解读尚未生成，下次运行时会自动补上；先附上摘要。",
    AnalysisStatus.FAILED: "这篇论文的深度解读没有成功生成，先附上摘要。",
    AnalysisStatus.BLOCKED: "模型没有给出这篇论文的解读，先附上摘要。",
    AnalysisStatus.SKIPPED: "未入选深度解读，先附上摘要。",
    AnalysisStatus.DONE: "深度解读内容缺失，先附上摘要。",
}


def source_failure_words(kind: str | None, status: int | None, attempts: int | None) -> str:
    """What went wrong with a source, in Chinese, for the digest's notice: never the English error text."""
    if kind == "http" and status is not None:
        words = f"服务器返回 HTTP {status}"
    else:
        words = _FAILURE_WORDS.get(kind or "", "返回的内容无法解析")
    if attempts is not None and attempts > 1:
        words += f"，共尝试 {attempts} 次"
    return words


def _name(source: Source | None) -> str:
    return SOURCE_NAMES.get(source, "") if source is not None else ""


def _count(notice: Notice) -> int:
    return notice.count or 0


def sentence(notice: Notice) -> str:
    """The reader's sentence for a notice (one line, no error body)."""
    kind, name = notice.kind, _name(notice.source)
    if kind is NoticeKind.SOURCE_FAILED:
        if notice.error is None:  # the cause is not known
            return f"{name} 今日数据获取失败，本期不含该来源的论文。"
        why = source_failure_words(notice.error, notice.status, notice.attempts)
        return f"{name} 今日数据获取失败（{why}），本期不含该来源的论文。"
    if kind is NoticeKind.HOLIDAY and notice.day is not None:
        return f"arXiv 假日（美东 {notice.day.month} 月 {notice.day.day} 日），无新论文公告"
    if kind is NoticeKind.WEEKEND:
        if notice.source is Source.HUGGINGFACE:
            return "HuggingFace Daily Papers 周末不更新"
        return f"今日 {name} 无新论文公告（周末：arXiv 周五、周六晚不发布）"
    if kind is NoticeKind.BEFORE_FIRST_DAY and notice.day is not None:
        return f"HuggingFace Daily Papers 始于 {notice.day.isoformat()}，此前的日期只有 arXiv 的论文。"
    if kind in (NoticeKind.NO_ANNOUNCEMENT, NoticeKind.HOLIDAY, NoticeKind.BEFORE_FIRST_DAY):
        return f"{name} 今日没有新论文公告。"
    if kind is NoticeKind.SOURCE_EMPTY:
        return f"{name} 今日没有新论文。"
    if kind is NoticeKind.LIST_EMPTY:
        return f"{name} 当日 Daily Papers 列表为空（可能尚未更新）"
    if kind is NoticeKind.NONE_IN_CATEGORIES:
        return f"{name} 本次公告中没有 {'、'.join(notice.categories)} 的新论文"
    if kind is NoticeKind.UNPARSABLE:
        return f"{name} 当日返回的 {_count(notice)} 条论文均无法解析"
    if kind is NoticeKind.PARTIAL:
        if notice.count is not None and notice.total is not None:
            return (
                f"{name} 只取到 {notice.count}/{notice.total} 篇（arXiv API 中途返回空页），"
                "今日列表可能不全；稍后重跑本日（或 backfill）可补全。"
            )
        return f"{name} 仅获取到部分结果（{notice.detail or ''}）"
    if kind is NoticeKind.SKIPPED_ITEMS:
        return f"{name} 有 {_count(notice)} 条记录格式异常，已跳过。"
    if kind is NoticeKind.BELOW_THRESHOLD:
        return (
            f"今日共 {_count(notice)} 篇候选论文，但没有一篇达到相关度阈值（{notice.min_score or 0:g} 分），"
            "因此没有深度解读；排序列表仍在下方。"
        )
    if kind is NoticeKind.QUOTA_SPENT:
        if notice.retry_at is not None:
            when = format_local_time(notice.retry_at)
            return (
                f"今日 Gemini 配额已用尽，配额将于 {when}重置，"
                f"{_count(notice)} 篇深度解读将在此后的首次运行中补全。"
            )
        return f"今日 Gemini 配额已用尽，{_count(notice)} 篇深度解读将在下次运行时补全。"
    if kind is NoticeKind.PENDING:
        return f"{_count(notice)} 篇深度解读尚未完成，将在下次运行时补全。"
    if kind is NoticeKind.DIVES_FAILED:
        return f"{_count(notice)} 篇论文的深度解读未能生成，详见各条目说明。"
    if kind is NoticeKind.UPDATES:
        return f"{_count(notice)} 篇论文是近期已解读论文的新版本，已标注为更新。"
    if kind is NoticeKind.TEXT:
        return notice.text or ""
    return _FIXED[kind]


_FIXED: dict[NoticeKind, str] = {
    NoticeKind.NO_CANDIDATES: "今日没有可排序的候选论文。",
    NoticeKind.NO_API_KEY: (
        "未检测到 Gemini API 密钥（GEMINI_API_KEY），尚未完成的深度解读将在配置密钥后的下次运行中补全。"
    ),
    NoticeKind.LLM_OFF: "本次运行未启用 LLM（--no-llm），尚未完成的深度解读从略。",
}

#: a report of one of these statuses tells the reader something; its kind when the report has no notice
_STATUS_KINDS = {
    SourceStatus.FAILED: NoticeKind.SOURCE_FAILED,
    SourceStatus.NO_ANNOUNCEMENT: NoticeKind.NO_ANNOUNCEMENT,
    SourceStatus.EMPTY: NoticeKind.SOURCE_EMPTY,
}


def source_notice(report: SourceReport) -> Notice | None:
    """What the digest says about a source that did not deliver (failed, nothing announced, empty): the
    report's own notice, else the plain one of its status. For a source that delivered, only a shortfall."""
    kind = _STATUS_KINDS.get(report.status)
    if kind is None:  # delivered: only a shortfall it reported itself (an arXiv listing cut short) is said
        return report.notice if report.notice and report.notice.kind is NoticeKind.PARTIAL else None
    return report.notice or Notice(kind=kind, source=report.source)


def unique(notices: Iterable[Notice]) -> list[Notice]:
    """Each notice once (equal kind and parameters), in order."""
    seen: list[Notice] = []
    for notice in notices:
        if notice not in seen:
            seen.append(notice)
    return seen
