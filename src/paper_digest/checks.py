"""`paper-digest check`: validate what a run needs, and optionally reach each endpoint once.

Returns results; printing is the CLI's job. The API key is only ever reported as present or absent.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from . import __version__, store
from .clock import Clock
from .config import API_KEY_VARIABLES, Config
from .delivery import SMTP_PASSWORD_VARIABLE
from .errors import PaperDigestError

if TYPE_CHECKING:
    from .sources.http import HttpClient

logger = logging.getLogger(__name__)


def _call_hints() -> dict[str, str]:
    from .analysis import Kind

    return {
        Kind.KEY_REFUSED: "the API key was refused (check GEMINI_API_KEY)",
        Kind.LOCATION: "Gemini does not serve this region (use a proxy or GOOGLE_GEMINI_BASE_URL)",
        Kind.WEB_PAGE: "the Gemini address answered with a web page (check GOOGLE_GEMINI_BASE_URL / proxy)",
        Kind.UNAVAILABLE: "Gemini is unavailable right now",
    }


def counted(number: int, noun: str, plural: str | None = None) -> str:
    """``1 model``, ``0 models``, ``3 entries``: check's lines are English sentences."""
    return f"{number} {noun if number == 1 else plural or noun + 's'}"


@dataclass(frozen=True)
class CheckResult:
    name: str
    ok: bool
    message: str
    #: a problem that does not stop a run (e.g. no API key: the digest is written without deep dives)
    warning: bool = False


def run_checks(
    config: Config,
    *,
    api_key: str | None,
    online: bool,
    clock: Clock,
    env: Mapping[str, str] | None = None,
    notes: Sequence[str] = (),
) -> list[CheckResult]:
    """Every check in order; ``notes``: what the config file earned on loading (removed keys, retired
    models), listed after "config: valid"; ``clock``: the command's, which the online probes wait on."""
    results = [CheckResult("config", True, "valid")]
    results += [CheckResult("config", False, note, warning=True) for note in notes]
    try:
        store.check_writable(config.digest.output_dir)
        results.append(CheckResult("output_dir", True, f"{config.digest.output_dir} is writable"))
    except PaperDigestError as exc:
        results.append(CheckResult("output_dir", False, str(exc)))
    try:
        store.check_writable(config.cache.dir, "cache.dir")
        results.append(CheckResult("cache_dir", True, f"{config.cache.dir} is writable"))
    except PaperDigestError as exc:
        results.append(CheckResult("cache_dir", False, str(exc)))
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
    results.extend(_delivery(config, os.environ if env is None else env))
    results.append(_profile(config))
    results.append(_ratings(config))
    if online:
        results.extend(_online(config, api_key, clock))
    return results


def _profile(config: Config) -> CheckResult:
    """What the scorer reads from ``[profile]``: its keywords, the description's terms, and the sub-topics the
    field taxonomy adds (the largest first). A profile that gives the scorer nothing is a warning."""
    from collections import Counter

    from .scoring.profile import compile_profile

    compiled = compile_profile(config.profile)
    kinds = Counter(c.kind for c in compiled.concepts)
    if not kinds["keyword"] and not kinds["description"]:
        message = "no keywords and no description terms: every paper scores 0 (fill in [profile])"
        return CheckResult("profile", False, message, True)
    line = f"{counted(kinds['keyword'], 'keyword')}, {counted(kinds['description'], 'description term')}"
    parents = Counter(c.parent for c in compiled.concepts if c.kind == "related")
    if parents:
        top = ", ".join(f"{parent} +{n}" for parent, n in parents.most_common(3))
        more = "" if len(parents) <= 3 else ", ..."
        line += f"; related topics add {counted(kinds['related'], 'sub-topic')} ({top}{more})"
    elif config.profile.related_topics:
        line += "; no keyword names a topic of the field taxonomy, so no related topics"
    return CheckResult("profile", True, line)


def _ratings(config: Config) -> CheckResult:
    """The ratings file: readable, how many ratings, and whether the ranking learns from them yet. A broken
    file is a warning: a run ranks by the profile alone and says why."""
    from .ratings import load_ratings

    learning = config.learning
    try:
        ratings = load_ratings(learning.ratings)
    except PaperDigestError as exc:
        return CheckResult("ratings", False, f"{exc}; runs rank by the profile alone until it is fixed", True)
    likes = sum(1 for r in ratings if r.liked)
    line = f"{len(ratings)} in {learning.ratings} ({likes} liked)"
    if not learning.enabled:
        return CheckResult("ratings", True, f"{line}; learning is off (learning.enabled = false)")
    if len(ratings) < learning.min_ratings or not likes:
        line += f"; the profile alone ranks until {learning.min_ratings} ratings with a like"
    return CheckResult("ratings", True, line)


def _delivery(config: Config, env: Mapping[str, str]) -> list[CheckResult]:
    """Whether each configured delivery channel has its secret in the environment (never showing it). A
    missing one is a warning: the digest is written all the same, and the delivery fails in one line."""
    found: list[CheckResult] = []
    email = config.delivery.email
    if email.enabled:
        where = f"{email.host}:{email.port} ({email.security}), {counted(len(email.recipients), 'recipient')}"
        if email.username and not env.get(SMTP_PASSWORD_VARIABLE, "").strip():
            found.append(CheckResult("email", False, f"{where}: {SMTP_PASSWORD_VARIABLE} is not set", True))
        else:
            found.append(CheckResult("email", True, where))
    for hook in config.delivery.webhooks:
        name = f"{hook.kind} webhook"
        if env.get(hook.url_env, "").strip():
            found.append(CheckResult(name, True, f"{hook.url_env} is set (not shown)"))
        else:
            found.append(CheckResult(name, False, f"{hook.url_env} is not set", True))
    return found


def _online(config: Config, api_key: str | None, clock: Clock) -> list[CheckResult]:
    from .sources.arxiv import parse_atom
    from .sources.huggingface import parse_daily

    agent = f"paper-digest/{__version__} (check)"
    found: list[CheckResult] = []
    hf = config.sources.huggingface
    if hf.enabled:
        url = f"{hf.endpoint.rstrip('/')}/api/daily_papers"
        try:
            with _client(agent, hf.timeout_seconds, clock) as client:
                batch = parse_daily(client.get(url, {"limit": "5"}))
            found.append(
                CheckResult("huggingface", True, f"{url} answered with {counted(len(batch.papers), 'paper')}")
            )
        except PaperDigestError as exc:
            found.append(CheckResult("huggingface", False, str(exc)))
    ax = config.sources.arxiv
    if ax.enabled:
        query = " OR ".join(f"cat:{c}" for c in ax.categories)
        try:
            with _client(agent, ax.timeout_seconds, clock) as client:
                batch = parse_atom(client.get(ax.api_url, {"search_query": query, "max_results": "1"}))
            found.append(
                CheckResult(
                    "arxiv", True, f"{ax.api_url} answered ({counted(len(batch.papers), 'entry', 'entries')})"
                )
            )
        except PaperDigestError as exc:
            found.append(CheckResult("arxiv", False, str(exc)))
    if config.llm.enabled and api_key:
        found.extend(_check_gemini(config, api_key))
    return found


def _client(agent: str, timeout: float, clock: Clock) -> HttpClient:
    """A client for one probe: two attempts within 30 s, so a check answers quickly. Its backoff waits on
    the command's clock (a test's fake clock waits in no time)."""
    from .sources.http import HttpClient

    return HttpClient(
        user_agent=agent,
        timeout=timeout,
        max_attempts=2,
        max_total_seconds=30,
        clock=clock.monotonic,
        sleep=clock.sleep,
    )


def _check_gemini(config: Config, api_key: str) -> list[CheckResult]:
    """List the models this key can use (``models.list``: proves the key without spending generate quota)
    and flag a configured model that is not among them."""
    from .analysis import CallError, GeminiProvider

    llm = config.llm
    try:
        provider = GeminiProvider(llm, api_key)
        try:
            names = provider.generate_models()
        finally:
            provider.close()
    except CallError as exc:
        status = f" (HTTP {exc.status})" if exc.status else ""
        return [
            CheckResult(
                "gemini", False, f"models.list: {_call_hints().get(exc.kind, exc.kind.value)}{status}"
            )
        ]
    except Exception as exc:  # network trouble of any kind: report the class, never the details
        return [CheckResult("gemini", False, f"unreachable ({exc.__class__.__name__})")]
    shown = ", ".join(sorted(names)[:12]) + (", ..." if len(names) > 12 else "")
    found = [CheckResult("gemini", True, f"{counted(len(names), 'model')} usable with this key: {shown}")]
    wanted = [("llm.model", llm.model, True)]
    wanted += [("llm.fallback_models", m, False) for m in llm.fallback_models]
    wanted += [("llm.rerank_model", llm.rerank_model, config.scoring.llm_rerank)]
    wanted += [("llm.rerank_fallback_models", m, False) for m in llm.rerank_fallback_models]
    for key, model, needed in wanted:
        if model in names:
            found.append(CheckResult(f"gemini {key}", True, f"{model} is served to this key"))
        else:
            message = f"{model} is not among the models this key can use: set {key} to one that is"
            found.append(CheckResult(f"gemini {key}", False, message, warning=not needed))
    return found
