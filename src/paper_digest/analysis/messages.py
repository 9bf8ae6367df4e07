"""The one place for the sentences a reader sees about the LLM stage (in the digest and on the console).

Each :class:`~.outcome.Kind` has one calm Chinese sentence, filled from the :class:`~.outcome.Problem`'s
parameters (model names, the models the key can use, the local time the quota resets). Never an error body.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..models import format_local_time
from .outcome import Kind, Problem

#: how many of the key's models a sentence names (the list can be long; Flash models first)
MODELS_NAMED = 6


def _models(names: Sequence[str]) -> str:
    flash = [n for n in names if "flash" in n]
    rest = [n for n in names if "flash" not in n]
    shown = [*flash, *rest][:MODELS_NAMED]
    more = "等" if len(names) > len(shown) else ""
    return "、".join(shown) + more


def sentence(problem: Problem) -> str:
    """The reader's sentence for one problem (one line, no error body)."""
    kind, model = problem.kind, problem.model or "所配置的模型"
    if kind is Kind.QUOTA_DAY:
        if problem.retry_at is not None:
            when = format_local_time(problem.retry_at)
            return f"Gemini 今日配额已用尽，配额将于 {when}重置，之后的首次运行会补全这篇深度解读。"
        return "Gemini 今日配额已用尽，将在配额重置后的首次运行中补全。"
    if kind is Kind.NOT_ON_TIER:
        return (
            f"模型 {model} 不在此 API 密钥的免费额度内（配额为 0），本次不再使用；"
            "请在配置 [llm] 中改用此密钥可用的模型（model 或 fallback_models），深度解读将在修改后补全。"
        )
    if kind is Kind.MODEL_NOT_FOUND:
        text = f"模型 {model} 已下线或名称有误，本次不再使用；请在配置 [llm] 中改用此密钥可用的模型"
        if problem.available:
            text += f"（如 {_models(problem.available)}）"
        return text + "，深度解读将在修改后补全。"
    if kind is Kind.LOCATION:
        return (
            "Gemini 不为本次请求所在的地区提供服务（User location is not supported），本次不再发送请求；"
            "通过位于受支持地区的代理或 GOOGLE_GEMINI_BASE_URL 访问即可解决，深度解读将在修正后补全。"
        )
    if kind is Kind.KEY_REFUSED:
        return (
            "Gemini 拒绝了所配置的 API 密钥（无效或无权限），本次不再发送请求；"
            "请检查 GEMINI_API_KEY，深度解读将在修正后补全。"
        )
    if kind is Kind.WEB_PAGE:
        return (
            "Gemini 地址返回的是一个网页而不是 API 应答，请检查 GOOGLE_GEMINI_BASE_URL 或代理设置；"
            "这篇深度解读未完成。"
        )
    if kind is Kind.SETUP:
        return (
            "无法建立到 Gemini 的连接客户端（请检查代理环境变量与 GOOGLE_GEMINI_BASE_URL），"
            "深度解读将在修正后补全。"
        )
    return _SIMPLE[kind]


_SIMPLE: dict[Kind, str] = {
    Kind.NO_API_KEY: "未配置 API 密钥，深度解读将在配置后补全。",
    Kind.LLM_DISABLED: "未启用深度解读，启用后将补全。",
    Kind.OFFLINE: "离线运行（--offline）不请求 Gemini，这篇深度解读将在联网运行时补全。",
    Kind.QUOTA_MINUTE: "Gemini 请求频率持续超限，这篇深度解读将在下次运行时补全。",
    Kind.UNAVAILABLE: "Gemini 服务暂时不可用（已按退避重试），这篇深度解读未完成。",
    Kind.REJECTED: "请求被 Gemini 拒绝，这篇深度解读未完成。",
    Kind.MAX_TOKENS: "模型输出超出长度上限（已放宽上限重试一次），这篇深度解读未完成。",
    Kind.SCHEMA: "模型输出不符合约定格式（已重试一次），这篇深度解读未完成。",
    Kind.PROMPT_BLOCKED: "Gemini 的安全过滤拦截了这篇论文的内容，模型拒绝分析该论文摘要。",
    Kind.SAFETY: "模型因安全策略停止作答，模型拒绝分析该论文摘要。",
    Kind.RECITATION: "模型因可能复述受版权保护的文本而停止作答，这篇深度解读未完成。",
    Kind.EMPTY: "模型未返回内容，这篇深度解读未完成。",
    Kind.UNKNOWN_FINISH: "模型以未知原因结束作答且未给出内容，这篇深度解读未完成。",
}
