"""`paper-digest check`: validate what a run needs, and optionally reach each endpoint once.

Returns results; printing is the CLI's job. The API key is only ever reported as present or absent.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

from . import __version__, store
from .config import API_KEY_VARIABLES, Config
from .errors import PaperDigestError

if TYPE_CHECKING:
    from .sources.http import HttpClient

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class CheckResult:
    name: str
    ok: bool
    message: str
    #: a problem that does not stop a run (e.g. no API key: the digest is written without deep dives)
    warning: bool = False


def run_checks(config: Config, *, api_key: str | None, online: bool) -> list[CheckResult]:
    results = [CheckResult("config", True, "valid")]
    try:
        store.check_writable(config.digest.output_dir)
        results.append(CheckResult("output_dir", True, f"{config.digest.output_dir} is writable"))
    except PaperDigestError as exc:
        results.append(CheckResult("output_dir", False, str(exc)))
    if api_key:
        results.append(CheckResult("api_key", True, "present (from the environment; not shown)"))
    else:
        names = " or ".join(API_KEY_VARIABLES)
        results.append(
            CheckResult("api_key", False, f"absent: set {names}; runs write digests without deep dives", True)
        )
    enabled = [
        n
        for n, c in (("huggingface", config.sources.huggingface), ("arxiv", config.sources.arxiv))
        if c.enabled
    ]
    results.append(CheckResult("sources", bool(enabled), ", ".join(enabled) or "every source is disabled"))
    if online:
        results.extend(_online(config, api_key))
    return results


def _online(config: Config, api_key: str | None) -> list[CheckResult]:
    from .sources.arxiv import parse_atom
    from .sources.huggingface import parse_daily

    agent = f"paper-digest/{__version__} (check)"
    found: list[CheckResult] = []
    hf = config.sources.huggingface
    if hf.enabled:
        url = f"{hf.endpoint.rstrip('/')}/api/daily_papers"
        try:
            with _client(agent, hf.timeout_seconds) as client:
                batch = parse_daily(client.get(url, {"limit": "5"}))
            found.append(CheckResult("huggingface", True, f"{url} answered with {len(batch.papers)} papers"))
        except PaperDigestError as exc:
            found.append(CheckResult("huggingface", False, str(exc)))
    ax = config.sources.arxiv
    if ax.enabled:
        query = " OR ".join(f"cat:{c}" for c in ax.categories)
        try:
            with _client(agent, ax.timeout_seconds) as client:
                batch = parse_atom(client.get(ax.api_url, {"search_query": query, "max_results": "1"}))
            found.append(CheckResult("arxiv", True, f"{ax.api_url} answered ({len(batch.papers)} entry)"))
        except PaperDigestError as exc:
            found.append(CheckResult("arxiv", False, str(exc)))
    if config.llm.enabled and api_key:
        found.append(_check_gemini(config, api_key))
    return found


def _client(agent: str, timeout: float) -> HttpClient:
    """A client for one probe: two attempts within 30 s, so a check answers quickly."""
    from .sources.http import HttpClient

    return HttpClient(user_agent=agent, timeout=timeout, max_attempts=2, max_total_seconds=30)


def _check_gemini(config: Config, api_key: str) -> CheckResult:
    """Ask for the model's metadata: proves the key and the model without spending generate quota."""
    from google import genai
    from google.genai import errors as genai_errors

    from .analysis.gemini import http_options

    try:
        client = genai.Client(api_key=api_key, http_options=http_options(config.llm))
        model = client.models.get(model=config.llm.model)
    except genai_errors.APIError as exc:
        hint = " (the API key is wrong or lacks access)" if exc.code in (401, 403) else ""
        return CheckResult("gemini", False, f"{config.llm.model}: HTTP {exc.code}{hint}")
    except Exception as exc:  # network trouble of any kind: report the class, never the details
        return CheckResult("gemini", False, f"{config.llm.model}: unreachable ({exc.__class__.__name__})")
    limit = getattr(model, "output_token_limit", None)
    extra = f", output limit {limit} tokens" if limit else ""
    return CheckResult("gemini", True, f"{config.llm.model} reachable with this key{extra}")
