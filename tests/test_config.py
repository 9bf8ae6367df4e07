from __future__ import annotations

from pathlib import Path

import pytest

from paper_digest.config import api_key_from_env, load_config, read_config
from paper_digest.errors import ConfigError

ROOT = Path(__file__).resolve().parents[1]


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_example_config_loads_and_is_a_real_profile() -> None:
    config = load_config(ROOT / "config.example.toml", env={})
    assert config.digest.title == "CV 论文日报"
    assert config.digest.output_dir == ROOT / "digests"
    assert config.sources.arxiv.categories == ["cs.CV"]
    assert config.llm.requests_per_window == 5 and config.llm.requests_per_day == 20
    phrases = " ".join(config.profile.keywords).lower()
    for topic in (
        "super-resolution",
        "denois",
        "deblur",
        "diffusion",
        "flow matching",
        "masked",
        "self-supervised",
    ):
        assert topic in phrases
    assert "图像复原" in config.profile.description or "image restoration" in config.profile.description


def test_issue_contract_keys_work_as_written(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
[digest]
title = "CV 论文日报"
output_dir = "out"
deep_dives = 5
timezone = "Asia/Shanghai"

[profile]
description = "image restoration"
keywords = { "image restoration" = 3.0, "super-resolution" = 3.0, "diffusion" = 1.5 }
exclude = ["medical"]

[sources.huggingface]
enabled = true
endpoint = "https://huggingface.co"

[sources.arxiv]
enabled = true
categories = ["cs.CV"]
api_url = "https://export.arxiv.org/api/query"
rss_url = "https://rss.arxiv.org/rss"
delay_seconds = 3.0

[llm]
model = "gemini-2.5-flash"
fallback_models = []
requests_per_window = 5
window_seconds = 60
requests_per_day = 20
""",
    )
    config = load_config(path, env={})
    assert config.digest.output_dir == tmp_path / "out"
    assert config.profile.keywords["diffusion"] == 1.5
    assert config.cache.dir == tmp_path / ".paper-digest-cache"


def test_environment_overrides_file(tmp_path: Path) -> None:
    path = write(tmp_path, '[sources.huggingface]\nendpoint = "https://huggingface.co"\n')
    env = {"HF_ENDPOINT": "http://127.0.0.1:9"}
    config = load_config(path, env=env)
    assert config.sources.huggingface.endpoint == "http://127.0.0.1:9"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[digest]\ntitel = 'x'\n", "digest.titel: unknown key"),
        (
            "[llm]\nrequests_per_day = 0\n",
            "llm.requests_per_day: Input should be greater than or equal to 1 (got 0)",
        ),
        ("[digest]\ndeep_dives = 'five'\n", "digest.deep_dives: Input should be a valid integer"),
        ("[digest]\ntimezone = 'Mars/Olympus'\n", "digest.timezone: unknown timezone 'Mars/Olympus'"),
        ("[sources.arxiv]\ncategories = []\n", "sources.arxiv.categories: list at least one arXiv category"),
        ("[llm]\napi_key = 'secret'\n", "llm.api_key: unknown key"),
    ],
)
def test_invalid_values_name_the_field(tmp_path: Path, text: str, expected: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, text), env={})
    assert expected in str(info.value)
    assert "\n" not in str(info.value)


def test_every_problem_is_reported(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, "[digest]\ndeep_dives = -1\nmin_score = 200\n"), env={})
    assert len(info.value.problems) == 2


def test_broken_toml_and_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="invalid TOML"):
        load_config(write(tmp_path, "[digest\ntitle = 1"), env={})
    with pytest.raises(ConfigError, match="config file not found"):
        load_config(tmp_path / "nope.toml", env={})


def test_api_key_comes_from_the_environment_only() -> None:
    assert api_key_from_env({}) is None
    assert api_key_from_env({"GOOGLE_API_KEY": "g"}) == "g"
    assert api_key_from_env({"GEMINI_API_KEY": "a", "GOOGLE_API_KEY": "g"}) == "a"
    assert api_key_from_env({"GEMINI_API_KEY": "  "}) is None


def test_removed_keys_load_with_one_line_each(tmp_path: Path) -> None:
    """An existing config with keys issue 16 removed still loads; each removed key is named once."""
    text = """
[sources.huggingface]
limit = 50
[sources.arxiv]
mode = "api"
page_size = 100
[llm]
max_retry_seconds = 60
base_url = "https://proxy.example.com"
max_attempts = 3
"""
    config, lines = read_config(write(tmp_path, text), env={})
    assert config.llm.max_attempts == 3
    for key in ("sources.huggingface.limit", "sources.arxiv.mode", "sources.arxiv.page_size"):
        assert sum(key in line and "the key is ignored" in line for line in lines) == 1, lines
    assert sum("llm.max_retry_seconds" in line for line in lines) == 1
    assert sum("llm.base_url" in line and "GOOGLE_GEMINI_BASE_URL" in line for line in lines) == 1


def test_flags_are_validated_with_the_file_and_win_over_it(tmp_path: Path) -> None:
    path = write(tmp_path, "[digest]\ndeep_dives = 3\n")
    config = load_config(path, env={}, flags={(("digest",), "deep_dives"): 7})
    assert config.digest.deep_dives == 7
    with pytest.raises(ConfigError, match=r"digest\.deep_dives"):
        load_config(path, env={}, flags={(("digest",), "deep_dives"): 99})
    hf = load_config(path, env={"HF_ENDPOINT": "http://127.0.0.1:9"})
    assert hf.sources.huggingface.endpoint == "http://127.0.0.1:9"


def test_an_old_config_with_the_removed_embedding_keys_still_loads_with_one_note_each(tmp_path: Path) -> None:
    text = "[scoring]\nllm_rerank = true\nembeddings = true\nembedding_model = 'gemini-embedding-001'\n"
    config, notes = read_config(write(tmp_path, text), env={})
    assert config.scoring.llm_rerank
    assert len(notes) == 2 and all("the Gemini embedding stage was removed" in n for n in notes)
    assert all("\n" not in n for n in notes)


def test_each_model_has_its_quota() -> None:
    from paper_digest.config import LLMConfig, ModelQuotaConfig

    llm = LLMConfig(quota={"gemini-3.6-flash": ModelQuotaConfig(requests_per_window=3, requests_per_day=7)})
    assert llm.model == "gemini-3.8-flash" and llm.rerank_model == "gemini-3.5-flash-lite"
    assert (
        llm.quota_for("gemini-3.8-flash").requests_per_day,
        llm.quota_for("gemini-3.8-flash").requests_per_window,
    ) == (20, 5)
    assert llm.quota_for("gemini-3.5-flash-lite").requests_per_day == 500  # the Flash-Lite figures
    assert llm.quota_for("gemini-3.6-flash").requests_per_day == 7
