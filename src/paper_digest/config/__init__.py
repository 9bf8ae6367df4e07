"""The config: pydantic models of the TOML file (:mod:`.schema`), reading it with flags and environment
merged by precedence (:mod:`.load`), explaining an invalid file one field a line (:mod:`.problems`), and
keeping old files loading with a note (:mod:`.upgrade`)."""

from __future__ import annotations

from .load import (
    API_KEY_VARIABLES,
    ENV_KEYS,
    Flags,
    LoadedConfig,
    anchor_paths,
    api_key_from_env,
    load_config,
    parse_config,
    read_config,
)
from .problems import MSG_KEY_IN_TOML, format_validation_error
from .schema import (
    FLASH_LITE_QUOTA,
    ArxivConfig,
    CacheConfig,
    Config,
    DeliveryConfig,
    DigestConfig,
    EmailConfig,
    HuggingFaceConfig,
    LearningConfig,
    LLMConfig,
    ModelQuotaConfig,
    ProfileConfig,
    ScoringConfig,
    SourcesConfig,
    WebhookConfig,
)
from .upgrade import REMOVED_KEYS, RETIRED_MODELS, retired_model_notes, upgrade_keys

__all__ = [
    "API_KEY_VARIABLES",
    "ENV_KEYS",
    "FLASH_LITE_QUOTA",
    "MSG_KEY_IN_TOML",
    "REMOVED_KEYS",
    "RETIRED_MODELS",
    "ArxivConfig",
    "CacheConfig",
    "Config",
    "DeliveryConfig",
    "DigestConfig",
    "EmailConfig",
    "Flags",
    "HuggingFaceConfig",
    "LLMConfig",
    "LearningConfig",
    "LoadedConfig",
    "ModelQuotaConfig",
    "ProfileConfig",
    "ScoringConfig",
    "SourcesConfig",
    "WebhookConfig",
    "anchor_paths",
    "api_key_from_env",
    "format_validation_error",
    "load_config",
    "parse_config",
    "read_config",
    "retired_model_notes",
    "upgrade_keys",
]
