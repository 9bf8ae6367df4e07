"""The config file's tables as pydantic models (``extra="forbid"``: a typo is an error, not a silent
default), with their defaults and the reasons for them.

Secrets never live here: the API key is read from the environment (:func:`.load.api_key_from_env`).
"""

from __future__ import annotations

import zoneinfo
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from ..markup import safe_url


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class DigestConfig(_Strict):
    title: str = "CV 论文日报"
    output_dir: Path = Path("digests")
    deep_dives: Annotated[int, Field(ge=0, le=50)] = 5
    timezone: str = "Asia/Shanghai"
    #: papers scoring below this get no deep dive (they are still listed)
    min_score: Annotated[float, Field(ge=0, le=100)] = 30.0
    #: how many ranked papers the digest lists after the deep dives (the sidecar keeps all)
    max_listed: Annotated[int, Field(ge=0, le=10000)] = 30
    #: the list of other papers stops below this score; one line says how many more were scanned
    #: (the sidecar keeps all). 0 lists every paper up to max_listed.
    list_min_score: Annotated[float, Field(ge=0, le=100)] = 20.0
    #: built-in template: "classic" (deep dives first) or "footnotes" (summary table with footnotes)
    template: str = "classic"
    #: a folder with the user's own templates; a file there overrides the built-in one of the same name
    template_dir: Path | None = None
    #: papers featured in a digest of the last N days are not featured again (0 turns this off)
    dedup_days: Annotated[int, Field(ge=0, le=365)] = 7
    #: where the DATE.md files are published (the feed links each entry there), e.g.
    #: "https://github.com/OWNER/REPO/blob/main/digests/"; PAPER_DIGEST_SITE_URL overrides it
    site_url: str | None = None
    #: where feed.xml itself is served (its rel="self" link); default: derived from site_url (for a GitHub
    #: repository page, the raw.githubusercontent.com file); PAPER_DIGEST_FEED_URL overrides it
    feed_url: str | None = None

    @field_validator("site_url", "feed_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        if safe_url(value.strip()) is None:
            raise ValueError(f"expected an http(s) URL, got {value!r}")
        return value.strip()

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            zoneinfo.ZoneInfo(value)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown timezone {value!r}") from None
        return value


class ProfileConfig(_Strict):
    description: str = ""
    #: phrase -> weight; a phrase may list variants separated by "|",
    #: e.g. "super-resolution|super resolution|SR"
    keywords: dict[str, Annotated[float, Field(ge=-10, le=10)]] = Field(default_factory=dict)
    exclude: list[str] = Field(default_factory=list)
    #: author names whose papers get a boost
    authors: list[str] = Field(default_factory=list)
    #: arXiv ids of papers the researcher loved (used by the similarity stage)
    liked: list[str] = Field(default_factory=list)
    #: a keyword that names a broad topic ("image restoration", "3D reconstruction") also matches the topic's
    #: standard sub-topics (reflection removal, multi-view stereo, ...) at half its weight, from the taxonomy
    #: shipped with the package (scoring/topics.toml)
    related_topics: bool = True
    #: extra fields every deep dive's facts block fills in, besides task, data, results, code and venue,
    #: e.g. ["退化类型", "推理速度"]
    fact_fields: list[Annotated[str, Field(min_length=1, max_length=40)]] = Field(
        default_factory=list, max_length=8
    )


class HuggingFaceConfig(_Strict):
    enabled: bool = True
    endpoint: str = "https://huggingface.co"
    timeout_seconds: Annotated[float, Field(gt=0, le=600)] = 30.0


class ArxivConfig(_Strict):
    enabled: bool = True
    categories: list[str] = Field(default_factory=lambda: ["cs.CV"])
    api_url: str = "https://export.arxiv.org/api/query"
    rss_url: str = "https://rss.arxiv.org/rss"
    #: arXiv terms of use: "make no more than one request every three seconds"
    delay_seconds: Annotated[float, Field(ge=0, le=120)] = 3.0
    include_cross_lists: bool = True
    include_replacements: bool = False
    timeout_seconds: Annotated[float, Field(gt=0, le=600)] = 60.0
    #: arXiv's web pages: full texts are read from {web_url}/html/{id}v{n}, else {web_url}/pdf/{id}v{n}
    web_url: str = "https://arxiv.org"
    #: read the full text of the papers picked for deep dives (HTML, else PDF, else the abstract)
    full_text: bool = True
    #: the full text the model reads per deep dive, in tokens (estimated); abstract, method, experiments with
    #: their tables, conclusion and introduction share it, references and appendices never count
    full_text_tokens: Annotated[int, Field(ge=1000, le=1_000_000)] = 12000
    #: a PDF larger than this is not fetched (its deep dive is written from the abstract)
    max_pdf_mb: Annotated[float, Field(gt=0, le=64)] = 20.0

    @field_validator("categories")
    @classmethod
    def _non_empty(cls, value: list[str]) -> list[str]:
        if not value:
            raise ValueError("list at least one arXiv category, e.g. ['cs.CV']")
        return value


class SourcesConfig(_Strict):
    huggingface: HuggingFaceConfig = Field(default_factory=HuggingFaceConfig)
    arxiv: ArxivConfig = Field(default_factory=ArxivConfig)


class ModelQuotaConfig(_Strict):
    """One model's free-tier limits (``[llm.quota."MODEL"]``)."""

    requests_per_window: Annotated[int, Field(ge=1, le=10000)]
    window_seconds: Annotated[float, Field(gt=0, le=86400)] = 60.0
    requests_per_day: Annotated[int, Field(ge=1, le=1_000_000)]
    #: input tokens in any window (the free tier's tokens per minute): 250,000 for the Flash and Flash-Lite
    #: models in AI Studio's free-tier table (Pickle-Pixel/ApplyPilot #42, 2026; the 429 quota id
    #: GenerateContentInputTokensPerModelPerMinute-FreeTier, "limit: 250000": google-gemini/gemini-cli #13112)
    tokens_per_window: Annotated[int, Field(ge=1000, le=100_000_000)] = 250_000


#: Free-tier limits reported for the Flash-Lite models (fecarrico/A11Y.md PR #36: gemini-3.5-flash-lite at 15
#: a minute and 500 a day; MaKTaiL/gemini-srt-translator #137: every 3.x Flash-Lite about 500 a day). Google
#: no longer publishes the figures (ai.google.dev/gemini-api/docs/rate-limits: "view your active rate limits
#: in AI Studio"); a ``[llm.quota."MODEL"]`` table overrides them.
FLASH_LITE_QUOTA = ModelQuotaConfig(requests_per_window=15, window_seconds=60.0, requests_per_day=500)


class LLMConfig(_Strict):
    enabled: bool = True
    #: the deep dives' model: Gemini 3.8 Flash, the newest stable Flash
    #: (ai.google.dev/gemini-api/docs/models);
    #: the 2.5 family is on the deprecations page with 2026 shutdowns
    model: str = "gemini-3.8-flash"
    #: tried in order when a model's daily quota is spent, or it is retired / not on the key's tier
    fallback_models: list[str] = Field(default_factory=list)
    #: the re-rank's model: Gemini 3.5 Flash-Lite, GA (ai.google.dev/gemini-api/docs/latest-model), with its
    #: own daily quota, so the re-rank never spends the deep dives' requests
    rerank_model: str = "gemini-3.5-flash-lite"
    rerank_fallback_models: list[str] = Field(default_factory=list)
    #: the limits of any model without its own ``[llm.quota."MODEL"]`` table (or built-in Flash-Lite figures):
    #: the Flash models' free tier, 5 a minute (continuedev/continue #11439) and 20 a day (continue #11675)
    requests_per_window: Annotated[int, Field(ge=1, le=10000)] = 5
    window_seconds: Annotated[float, Field(gt=0, le=86400)] = 60.0
    requests_per_day: Annotated[int, Field(ge=1, le=1_000_000)] = 20
    #: input tokens per window of any model without its own table (see ModelQuotaConfig.tokens_per_window)
    tokens_per_window: Annotated[int, Field(ge=1000, le=100_000_000)] = 250_000
    #: per-model limits, e.g. ``[llm.quota."gemini-3.6-flash"]`` requests_per_window = 5,
    #: requests_per_day = 20
    quota: dict[str, ModelQuotaConfig] = Field(default_factory=dict)
    #: thinking and the answer share this budget (Gemini 3 thinks at a LOW level here): a response cut at this
    #: length is retried once with twice the budget
    max_output_tokens: Annotated[int, Field(ge=256, le=65536)] = 8192
    timeout_seconds: Annotated[float, Field(gt=0, le=600)] = 120.0
    #: attempts for transient errors (5xx, timeouts), including the first
    max_attempts: Annotated[int, Field(ge=1, le=20)] = 4
    #: requests in flight at once, never beyond the limiter's allowance
    concurrency: Annotated[int, Field(ge=1, le=32)] = 2
    #: API version. google-genai 3.x defaults to "v1"; structured output, system instructions and thinking
    #: settings have always been served by "v1beta". GOOGLE_GENAI_API_VERSION in the environment overrides it.
    api_version: str = "v1beta"

    def quota_for(self, model: str) -> ModelQuotaConfig:
        """A model's limits: its own table, else the built-in Flash-Lite figures, else the general ones."""
        if model in self.quota:
            return self.quota[model]
        if "flash-lite" in model:
            return FLASH_LITE_QUOTA
        return ModelQuotaConfig(
            requests_per_window=self.requests_per_window,
            window_seconds=self.window_seconds,
            requests_per_day=self.requests_per_day,
            tokens_per_window=self.tokens_per_window,
        )


class ScoringConfig(_Strict):
    #: the offline semantic stage (a word-vector model shipped with the package: no key, no network): adds
    #: points for how close a paper's title and opening sentences read to the profile
    semantic: bool = True
    #: multiplies the semantic points (1.0: 10 points per 0.05 cosine above an ordinary CV paper)
    semantic_weight: Annotated[float, Field(ge=0, le=5)] = 1.0
    #: re-rank the top candidates with batched LLM judgements, on by default whenever a key is present: 2
    #: requests for 30 papers on the re-rank model (``llm.rerank_model``, its own daily quota, so the deep
    #: dives keep theirs); without a key nothing is asked and the offline ranking stands
    llm_rerank: bool = True
    rerank_top: Annotated[int, Field(ge=1, le=200)] = 30


class LearningConfig(_Strict):
    """Learning from the researcher's likes and dislikes (``paper-digest like/dislike``)."""

    #: learn from the ratings file at all (off: the profile alone ranks, ratings are still recorded)
    enabled: bool = True
    #: the ratings file, a readable text file to commit with the digests; relative to the config file
    ratings: Path = Path("ratings.txt")
    #: cold start: below this many ratings (likes + dislikes, at least one like) the profile alone ranks
    min_ratings: Annotated[int, Field(ge=2, le=10000)] = 10
    #: the most the learned preference moves a score, up or down, on the 0-100 scale
    max_points: Annotated[float, Field(ge=0, le=100)] = 20.0
    #: papers in the digest's "which would you rate" section, those the model is least sure about (0: none)
    ask: Annotated[int, Field(ge=0, le=10)] = 3


class EmailConfig(_Strict):
    """SMTP delivery; the password comes from PAPER_DIGEST_SMTP_PASSWORD in the environment only."""

    enabled: bool = False
    host: str = ""
    #: 587 for STARTTLS (RFC 3207), 465 for implicit TLS (RFC 8314), 25 for plain SMTP
    port: Annotated[int, Field(ge=1, le=65535)] = 587
    security: Literal["starttls", "ssl", "none"] = "starttls"
    #: login name; empty: no login
    username: str = ""
    sender: str = ""
    recipients: list[str] = Field(default_factory=list)
    timeout_seconds: Annotated[float, Field(gt=0, le=600)] = 30.0

    @model_validator(mode="after")
    def _complete_when_enabled(self) -> EmailConfig:
        if self.enabled:
            missing = [name for name in ("host", "sender") if not getattr(self, name).strip()]
            if not self.recipients:
                missing.append("recipients")
            if missing:
                raise ValueError(f"email delivery needs {', '.join(missing)}")
        return self


class WebhookConfig(_Strict):
    """A webhook: its URL (which carries the token) is read from the environment variable ``url_env``."""

    kind: Literal["feishu", "slack", "json"]
    url_env: Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")]
    timeout_seconds: Annotated[float, Field(gt=0, le=120)] = 15.0


class DeliveryConfig(_Strict):
    #: how many top papers a chat message lists
    top: Annotated[int, Field(ge=1, le=20)] = 5
    email: EmailConfig = Field(default_factory=EmailConfig)
    webhooks: list[WebhookConfig] = Field(default_factory=list)


class CacheConfig(_Strict):
    #: analysis cache and raw responses; relative paths are relative to the config file
    dir: Path = Path(".paper-digest-cache")


class Config(_Strict):
    digest: DigestConfig = Field(default_factory=DigestConfig)
    profile: ProfileConfig = Field(default_factory=ProfileConfig)
    sources: SourcesConfig = Field(default_factory=SourcesConfig)
    llm: LLMConfig = Field(default_factory=LLMConfig)
    scoring: ScoringConfig = Field(default_factory=ScoringConfig)
    cache: CacheConfig = Field(default_factory=CacheConfig)
    delivery: DeliveryConfig = Field(default_factory=DeliveryConfig)
    learning: LearningConfig = Field(default_factory=LearningConfig)
