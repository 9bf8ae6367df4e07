"""The outcome of analysing a paper (the deep dive, its status and why) and what the LLM stages spent. Pure
data."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

from pydantic import BaseModel, Field


class AnalysisStatus(StrEnum):
    DONE = "done"
    PENDING = "pending"  # not attempted or cut short (quota, no key); the next run completes it
    FAILED = "failed"  # attempted, no usable answer (truncated, schema mismatch, error)
    BLOCKED = "blocked"  # refused by the model's safety filters or an empty candidate
    SKIPPED = "skipped"  # not selected for a deep dive


class FactItem(BaseModel):
    """One extra fact a profile asks for (``profile.fact_fields``), e.g. 退化类型: 真实噪声."""

    label: str = Field(description="字段名（与要求的字段名一致）")
    value: str = Field(description="论文中的对应信息；原文未给出写“未说明”")


class PaperFacts(BaseModel):
    """A compact facts block: fields that suit a paper of any field, plus the profile's own."""

    task: str = Field(default="", description="任务：论文解决的具体问题")
    data: str = Field(default="", description="数据：训练与评测所用数据集或数据来源")
    results: list[str] = Field(
        default_factory=list, description="主要结果：每条一个指标及原文数字和对比对象，数字照抄原文"
    )
    code: str = Field(default="", description="代码或权重链接：只写原文给出的完整 URL，没有则留空")
    venue: str = Field(
        default="", description="发表会议或期刊：仅当 arXiv 备注或期刊信息写明时填写，否则留空"
    )
    extra: list[FactItem] = Field(default_factory=list, description="研究者要求的额外字段，逐项填写")


class DeepDive(BaseModel):
    """The structured Chinese analysis of one paper. Also the LLM response schema (see analysis.prompt)."""

    title_zh: str = Field(description="论文标题的中文翻译")
    one_sentence: str = Field(description="一句话总结（中文）")
    innovations: list[str] = Field(description="核心创新点")
    technical_details: list[str] = Field(description="技术细节")
    inspiration: list[str] = Field(description="对我的启发：与研究者方向的具体联系")
    limitations: list[str] = Field(description="潜在缺陷：针对该方法的具体问题")
    #: absent in deep dives written before the facts block existed (sidecars and caches keep loading)
    facts: PaperFacts | None = Field(default=None, description="论文要点速览")


class Analysis(BaseModel):
    """The outcome of analysing one paper, whatever it was."""

    status: AnalysisStatus
    deep_dive: DeepDive | None = None
    model: str | None = None
    #: machine-readable reason code (analysis.outcome.Kind), e.g. "quota_daily", "model_not_found",
    #: "key_refused", "web_page", "http_503", "max_tokens", "schema", "blocked:SAFETY"
    reason: str | None = None
    #: one calm Chinese sentence for the reader; never an error body
    message: str | None = None
    cached: bool = False
    #: when a pending analysis can be completed (the daily quota's reset, in the reader's timezone)
    retry_at: dt.datetime | None = None
    #: what the model read: "html" / "pdf" (the full text) or "abstract" (the fallback); None: not known
    text_source: str | None = None
    #: numbers of the deep dive that the text the model was given lacks (checked on cached ones too)
    unverified_numbers: list[str] = Field(default_factory=list)


class LLMLedger(BaseModel):
    """What the analysis stage spent."""

    requests_by_model: dict[str, int] = Field(default_factory=dict)
    retries: int = 0
    rate_limited_minute: int = 0
    rate_limited_day: int = 0
    server_errors: int = 0
    tokens_in: int = 0
    tokens_out: int = 0
    cache_hits: int = 0

    @property
    def requests(self) -> int:
        return sum(self.requests_by_model.values())

    def minus(self, earlier: LLMLedger) -> LLMLedger:
        """What was spent since ``earlier``, a snapshot of the same running ledger."""
        models = {
            model: count - earlier.requests_by_model.get(model, 0)
            for model, count in self.requests_by_model.items()
            if count != earlier.requests_by_model.get(model, 0)
        }
        return LLMLedger(
            requests_by_model=models,
            retries=self.retries - earlier.retries,
            rate_limited_minute=self.rate_limited_minute - earlier.rate_limited_minute,
            rate_limited_day=self.rate_limited_day - earlier.rate_limited_day,
            server_errors=self.server_errors - earlier.server_errors,
            tokens_in=self.tokens_in - earlier.tokens_in,
            tokens_out=self.tokens_out - earlier.tokens_out,
            cache_hits=self.cache_hits - earlier.cache_hits,
        )

    def plus(self, other: LLMLedger) -> LLMLedger:
        """The two ledgers added up (e.g. the re-rank stage's and the deep dives')."""
        models = dict(self.requests_by_model)
        for model, count in other.requests_by_model.items():
            models[model] = models.get(model, 0) + count
        return LLMLedger(
            requests_by_model=models,
            retries=self.retries + other.retries,
            rate_limited_minute=self.rate_limited_minute + other.rate_limited_minute,
            rate_limited_day=self.rate_limited_day + other.rate_limited_day,
            server_errors=self.server_errors + other.server_errors,
            tokens_in=self.tokens_in + other.tokens_in,
            tokens_out=self.tokens_out + other.tokens_out,
            cache_hits=self.cache_hits + other.cache_hits,
        )
