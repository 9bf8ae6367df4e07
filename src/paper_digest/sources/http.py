"""One polite HTTP client for every source: retries with backoff, Retry-After, a per-host minimum interval.

Politeness follows the arXiv API Terms of Use ("make no more than one request every three seconds, and limit
requests to a single connection at a time"): requests to one host are serialised by a lock and spaced by
``min_interval`` seconds, measured from the end of the previous request to that host to the start of the next.
Hosts of one site can share that lock and spacing (:meth:`HttpClient.space_host` with ``group``): arXiv's
export API and its web pages (full text) count as one site, one request every ``delay_seconds``.

Retries: HTTP 429/500/502/503/504, connection errors and timeouts are retried with exponential backoff and
jitter, honouring ``Retry-After`` (seconds or an HTTP date), bounded by ``max_attempts`` and by
``max_total_seconds`` for the whole call (a wait that would end past that budget is not started). Any other
4xx is final at once. Error messages are one line and never contain a response body.
"""

from __future__ import annotations

import email.utils
import logging
import random
import threading
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from urllib.parse import urlsplit

import requests

from ..errors import ResponseTooLarge, SourceError
from .archive import RawArchive

logger = logging.getLogger(__name__)

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
#: first backoff wait; doubles with every attempt, with jitter of up to +/-25 %
BACKOFF_BASE_SECONDS = 2.0
#: no single backoff wait (without Retry-After) is longer than this
BACKOFF_CAP_SECONDS = 60.0
#: bodies larger than this are refused (a daily listing is a few MB at most)
MAX_BODY_BYTES = 64 * 1024 * 1024


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or an HTTP date); None if invalid."""
    if value is None:
        return None
    text = value.strip()
    if not text:
        return None
    if text.isdigit():
        return float(text)
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    reference = now or datetime.now(UTC)
    return max(0.0, (when - reference).total_seconds())


class _Attempt(Exception):
    """A retryable failure of one attempt (internal)."""

    def __init__(self, what: str, *, status: int | None = None, retry_after: float | None = None) -> None:
        super().__init__(what)
        self.what = what
        self.status = status
        self.retry_after = retry_after


class HttpClient:
    """``get(url, params) -> bytes`` with retries and politeness. ``requests_made`` counts real requests."""

    def __init__(
        self,
        *,
        user_agent: str,
        timeout: float,
        min_interval: float = 0.0,
        max_attempts: int = 5,
        max_total_seconds: float = 180.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        archive: RawArchive | None = None,
        rng: random.Random | None = None,
    ) -> None:
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        self.user_agent = user_agent
        self.timeout = timeout
        self.min_interval = min_interval
        self.max_attempts = max_attempts
        self.max_total_seconds = max_total_seconds
        self.clock = clock
        self.sleep = sleep
        self.archive = archive
        self.requests_made = 0
        #: attempts that were retried (for logs and stats)
        self.retries = 0
        self._rng = rng or random.Random()
        self._session = requests.Session()
        self._session.headers["User-Agent"] = user_agent
        self._session.trust_env = True
        self._last_done: dict[str, float] = {}
        #: per-host (or per-group) minimum intervals set by :meth:`space_host` (the larger of this and
        #: ``min_interval`` wins)
        self.host_intervals: dict[str, float] = {}
        #: host -> the group it is spaced with (:meth:`space_host`); a host without one is its own group
        self._groups: dict[str, str] = {}
        self._host_locks: dict[str, threading.Lock] = {}
        self._locks_guard = threading.Lock()

    def close(self) -> None:
        self._session.close()

    def __enter__(self) -> HttpClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _host_lock(self, host: str) -> threading.Lock:
        with self._locks_guard:
            return self._host_locks.setdefault(host, threading.Lock())

    def _key(self, host: str) -> str:
        return self._groups.get(host, host)

    def space_host(self, url: str, seconds: float, *, group: str | None = None) -> None:
        """Keep at least ``seconds`` between requests to ``url``'s host (e.g. arXiv's ``delay_seconds``).

        Hosts given the same ``group`` share one lock and one interval: a request to any of them waits for
        the previous request to all of them (arXiv's API and web pages are one site to its Terms of Use)."""
        host = urlsplit(url).netloc or url
        if group is not None:
            key = f"group:{group}"
            if host not in self._groups and host in self.host_intervals:
                own = self.host_intervals.pop(host)  # an interval set before the host joined the group
                self.host_intervals[key] = max(own, self.host_intervals.get(key, 0.0))
            self._groups[host] = key
        key = self._key(host)
        self.host_intervals[key] = max(seconds, self.host_intervals.get(key, 0.0))

    def _wait_for_host(self, host: str) -> None:
        last = self._last_done.get(host)
        interval = max(self.min_interval, self.host_intervals.get(host, 0.0))
        if last is None or interval <= 0:
            return
        wait = last + interval - self.clock()
        if wait > 0:
            logger.debug("waiting %.2f s before the next request to %s", wait, host)
            self.sleep(wait)

    def _backoff(self, attempt: int) -> float:
        base = min(BACKOFF_CAP_SECONDS, BACKOFF_BASE_SECONDS * 2 ** (attempt - 1))
        jitter: float = 0.75 + 0.5 * self._rng.random()
        return float(base) * jitter

    def get(
        self,
        url: str,
        params: Mapping[str, str] | None = None,
        *,
        label: str | None = None,
        archive: bool = True,
        max_bytes: int | None = None,
    ) -> bytes:
        """GET ``url`` and return the body. Raises :class:`SourceError` (with ``url`` and ``status``).

        ``archive=False`` keeps the body out of the raw archive (full texts have their own cache);
        ``max_bytes`` refuses a larger body (at most :data:`MAX_BODY_BYTES`)."""
        netloc = urlsplit(url).netloc or url
        host = self._key(netloc)
        name = label or netloc
        limit = min(MAX_BODY_BYTES, max_bytes) if max_bytes is not None else MAX_BODY_BYTES
        with self._host_lock(host):
            body = self._get_locked(url, params, host=host, name=name, limit=limit)
        if self.archive is not None and archive:
            self.archive.save(url, params, body)
        return body

    def _get_locked(
        self, url: str, params: Mapping[str, str] | None, *, host: str, name: str, limit: int
    ) -> bytes:
        started = self.clock()
        attempt = 0
        while True:
            attempt += 1
            self._wait_for_host(host)
            try:
                return self._attempt(url, params, host=host, name=name, limit=limit)
            except _Attempt as failure:
                plural = "attempt" if attempt == 1 else "attempts"
                final = f"{name}: {failure.what} after {attempt} {plural}"
                if attempt >= self.max_attempts:
                    raise SourceError(final, url=url, status=failure.status) from None
                wait = failure.retry_after if failure.retry_after is not None else self._backoff(attempt)
                elapsed = self.clock() - started
                if elapsed + wait > self.max_total_seconds:
                    why = (
                        f"Retry-After {wait:.0f} s exceeds the retry budget"
                        if failure.retry_after is not None
                        else "retry budget spent"
                    )
                    raise SourceError(f"{final} ({why})", url=url, status=failure.status) from None
                self.retries += 1
                logger.warning(
                    "%s: %s; retrying in %.1f s (attempt %d)", name, failure.what, wait, attempt + 1
                )
                self.sleep(wait)

    def _attempt(
        self, url: str, params: Mapping[str, str] | None, *, host: str, name: str, limit: int
    ) -> bytes:
        self.requests_made += 1
        logger.debug("GET %s %s", url, dict(params or {}))
        try:
            response = self._session.get(url, params=dict(params or {}), timeout=self.timeout, stream=True)
        except requests.Timeout:
            self._last_done[host] = self.clock()
            raise _Attempt("timed out") from None
        except requests.ConnectionError:
            self._last_done[host] = self.clock()
            raise _Attempt("connection failed") from None
        except requests.RequestException as exc:
            self._last_done[host] = self.clock()
            raise SourceError(f"{name}: request failed ({exc.__class__.__name__})", url=url) from None
        try:
            status = response.status_code
            if status in RETRY_STATUSES:
                retry_after = parse_retry_after(
                    response.headers.get("Retry-After"), now=_response_date(response.headers.get("Date"))
                )
                raise _Attempt(f"HTTP {status}", status=status, retry_after=retry_after)
            if status >= 400:
                raise SourceError(f"{name}: HTTP {status}", url=url, status=status)
            return self._read_body(response, name=name, url=url, limit=limit)
        finally:
            response.close()
            self._last_done[host] = self.clock()

    def _read_body(self, response: requests.Response, *, name: str, url: str, limit: int) -> bytes:
        """Read the body within ``timeout`` seconds of wall time (a trickling server counts as a timeout)."""
        deadline = time.monotonic() + self.timeout
        chunks: list[bytes] = []
        size = 0
        try:
            for chunk in response.iter_content(chunk_size=65536):
                chunks.append(chunk)
                size += len(chunk)
                if size > limit:
                    raise ResponseTooLarge(f"{name}: response larger than {limit} bytes", url=url)
                if time.monotonic() > deadline:
                    raise _Attempt("timed out reading the response")
        except requests.Timeout:
            raise _Attempt("timed out reading the response") from None
        except requests.RequestException:
            # urllib3 raises when the body is shorter than Content-Length (a cut connection)
            raise _Attempt("connection broken while reading the response") from None
        return b"".join(chunks)


def _response_date(value: str | None) -> datetime | None:
    """The server's ``Date`` header, so an HTTP-date Retry-After is measured on the server's clock."""
    if not value:
        return None
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return when if when.tzinfo else when.replace(tzinfo=UTC)
