"""One polite HTTP client for every source: retries with backoff, Retry-After, a per-host minimum interval.

Politeness follows the arXiv API Terms of Use ("make no more than one request every three seconds, and limit
requests to a single connection at a time"): requests to one host are serialised by a lock and spaced by the
interval set with :meth:`HttpClient.space_host`, measured from the end of the previous request to that host to
the start of the next. Hosts of one site can share that lock and spacing (``space_host(..., group=)``):
arXiv's export API and its web pages (full texts) count as one site, one request every ``delay_seconds``.

Retries go through :func:`paper_digest.retry.retry_call` (tenacity, the injected sleep), the project's one
retry idiom. Retried:

- 429 Too Many Requests, 503 Service Unavailable: the server asks us to come back (``Retry-After`` honoured);
- 500, 502, 504: a server or gateway hiccup, worth another try;
- connection errors, timeouts and bodies cut short: the network, not the request.

Not retried: a host name that does not resolve (``socket.gaierror`` under urllib3's ``NameResolutionError``):
no DNS or no network does not heal in the seconds a backoff waits, so the source fails after one attempt
with its sentence instead of waiting a minute for nothing.

The wait is the server's ``Retry-After`` (seconds or an HTTP date, read on the server's own ``Date``) or else
the project's backoff (2, 4, 8 ... s, at most 60 s, up to 25 % jitter: ``retry.backoff_seconds``). Retries
stop after ``max_attempts``, or when the next wait would end past ``max_total_seconds`` from the start of the
call. Any other 4xx is final at once. Error messages are one line and never contain a response body; the
failure's kind is on the error as data. Time is read only through the injected clock (see
``paper_digest.clock``).
"""

from __future__ import annotations

import email.utils
import errno
import logging
import random
import socket
import ssl
import threading
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from urllib.parse import urlsplit

import requests

from ..clock import SYSTEM_CLOCK
from ..errors import SourceError
from ..retry import Try, backoff_seconds, retry_call
from .archive import RawArchive

logger = logging.getLogger(__name__)

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
#: bodies larger than this are refused (a daily listing is a few MB at most)
MAX_BODY_BYTES = 64 * 1024 * 1024


def parse_retry_after(value: str | None, *, now: datetime) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds, or an HTTP date measured from ``now``);
    None if absent or invalid."""
    if value is None:
        return None
    text = value.strip()
    if not text:
        return None
    if text.isdigit():
        return float(text)
    when = _http_date(text)
    if when is None:
        return None
    return max(0.0, (when - now).total_seconds())


def _http_date(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def _chain(exc: BaseException) -> list[BaseException]:
    """The exception and everything it wraps (requests wraps urllib3, which wraps the socket error)."""
    seen: list[BaseException] = []
    todo: list[BaseException | None] = [exc]
    while todo:
        current = todo.pop(0)
        if current is None or any(current is s for s in seen) or len(seen) > 10:
            continue
        seen.append(current)
        todo += [current.__cause__, current.__context__, getattr(current, "reason", None)]
        todo += [arg for arg in getattr(current, "args", ()) if isinstance(arg, BaseException)]
    return seen


#: why a connection failed when the host name did not resolve: not retried (see the module doc)
NAME_NOT_RESOLVED = "name resolution failed: no network or no DNS"


def connection_cause(exc: BaseException) -> str:
    """Why a connection failed, in words a user can act on: the name did not resolve (DNS, no network), the
    host refused, the proxy failed, TLS failed, or the connection was reset. Only exception classes are read,
    never a message that could carry a URL with credentials."""
    chain = _chain(exc)
    if any(isinstance(e, requests.exceptions.ProxyError) for e in chain):
        return "proxy error: check HTTPS_PROXY / HTTP_PROXY"
    if any(isinstance(e, requests.exceptions.SSLError | ssl.SSLError) for e in chain):
        return "TLS error"
    if any(isinstance(e, socket.gaierror) for e in chain) or any(
        type(e).__name__ == "NameResolutionError" for e in chain
    ):
        return NAME_NOT_RESOLVED
    if any(isinstance(e, ConnectionRefusedError) for e in chain):
        return "connection refused"
    if any(isinstance(e, ConnectionResetError) for e in chain):
        return "connection reset"
    if any(isinstance(e, OSError) and e.errno in (errno.ENETUNREACH, errno.EHOSTUNREACH) for e in chain):
        return "network unreachable"
    return exc.__class__.__name__


class _Attempt(Exception):
    """A failure of one attempt (internal): retried unless ``final`` (a name that does not resolve)."""

    def __init__(
        self,
        kind: str,
        what: str,
        *,
        status: int | None = None,
        retry_after: float | None = None,
        final: bool = False,
    ) -> None:
        super().__init__(what)
        self.kind = kind
        self.what = what
        self.status = status
        self.retry_after = retry_after
        self.final = final


class HttpClient:
    """``get(url, params) -> bytes`` with retries and politeness. ``requests_made`` counts real requests."""

    def __init__(
        self,
        *,
        user_agent: str,
        timeout: float,
        max_attempts: int = 5,
        max_total_seconds: float = 180.0,
        clock: Callable[[], float] = SYSTEM_CLOCK.monotonic,
        sleep: Callable[[float], None] = SYSTEM_CLOCK.sleep,
        now: Callable[[], datetime] = SYSTEM_CLOCK.now,
        archive: RawArchive | None = None,
        rng: random.Random | None = None,
    ) -> None:
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        self.timeout = timeout
        self.max_attempts = max_attempts
        self.max_total_seconds = max_total_seconds
        self.clock = clock
        self.sleep = sleep
        self.now = now
        self.archive = archive
        self.requests_made = 0
        self._rng = rng or random.Random()
        self._session = requests.Session()
        self._session.headers["User-Agent"] = user_agent
        self._session.trust_env = True
        self._last_done: dict[str, float] = {}
        self._host_intervals: dict[str, float] = {}
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
            if host not in self._groups and host in self._host_intervals:
                own = self._host_intervals.pop(host)  # an interval set before the host joined the group
                self._host_intervals[key] = max(own, self._host_intervals.get(key, 0.0))
            self._groups[host] = key
        key = self._key(host)
        self._host_intervals[key] = max(seconds, self._host_intervals.get(key, 0.0))

    def _wait_for_host(self, host: str) -> None:
        last = self._last_done.get(host)
        interval = self._host_intervals.get(host, 0.0)
        if last is None or interval <= 0:
            return
        wait = last + interval - self.clock()
        if wait > 0:
            logger.debug("waiting %.2f s before the next request to %s", wait, host)
            self.sleep(wait)

    def get(
        self,
        url: str,
        params: Mapping[str, str] | None = None,
        *,
        label: str | None = None,
        archive: bool = True,
        max_bytes: int | None = None,
    ) -> bytes:
        """GET ``url`` and return the body. Raises :class:`SourceError` (``url``, ``status``, ``kind``).

        ``archive=False`` keeps the body out of the raw archive (full texts have their own cache);
        ``max_bytes`` refuses a larger body (kind "too_large"; never more than :data:`MAX_BODY_BYTES`)."""
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
        ahead = {"wait": 0.0}

        def wait(step: Try[_Attempt]) -> float:
            if step.failure.retry_after is not None:
                return step.failure.retry_after
            return backoff_seconds(step.attempts, self._rng)

        def stop(step: Try[_Attempt], upcoming: float) -> bool:
            ahead["wait"] = upcoming
            if step.failure.final or step.attempts >= self.max_attempts:
                return True
            return self.clock() - started + upcoming > self.max_total_seconds

        def before_sleep(step: Try[_Attempt], upcoming: float) -> None:
            logger.warning(
                "%s: %s; retrying in %.1f s (attempt %d)", name, step.failure, upcoming, step.attempts + 1
            )

        attempts = 0

        def attempt() -> bytes:
            nonlocal attempts
            attempts += 1
            return self._attempt(url, params, host=host, name=name, limit=limit)

        try:
            return retry_call(
                attempt, retry_on=_Attempt, wait=wait, stop=stop, sleep=self.sleep, before_sleep=before_sleep
            )
        except _Attempt as failure:
            plural = "attempt" if attempts == 1 else "attempts"
            message = f"{name}: {failure.what} after {attempts} {plural}"
            if attempts < self.max_attempts and not failure.final:  # stopped by the time budget
                message += (
                    f" (Retry-After {ahead['wait']:.0f} s exceeds the retry budget)"
                    if failure.retry_after is not None
                    else " (retry budget spent)"
                )
            raise SourceError(
                message, url=url, status=failure.status, kind=failure.kind, attempts=attempts
            ) from None

    def _attempt(
        self, url: str, params: Mapping[str, str] | None, *, host: str, name: str, limit: int
    ) -> bytes:
        self._wait_for_host(host)
        self.requests_made += 1
        logger.debug("GET %s %s", url, dict(params or {}))
        try:
            response = self._session.get(url, params=dict(params or {}), timeout=self.timeout, stream=True)
        except requests.Timeout as exc:
            self._last_done[host] = self.clock()
            logger.debug("%s: %s", name, " <- ".join(type(e).__name__ for e in _chain(exc)))
            what = "timed out connecting" if isinstance(exc, requests.ConnectTimeout) else "timed out"
            raise _Attempt("timeout", what) from None
        except requests.ConnectionError as exc:
            self._last_done[host] = self.clock()
            logger.debug("%s: %s", name, " <- ".join(type(e).__name__ for e in _chain(exc)))
            cause = connection_cause(exc)
            raise _Attempt(
                "connection", f"connection failed ({cause})", final=cause == NAME_NOT_RESOLVED
            ) from None
        except requests.RequestException as exc:
            self._last_done[host] = self.clock()
            raise SourceError(
                f"{name}: request failed ({exc.__class__.__name__})", url=url, kind="request", attempts=1
            ) from None
        try:
            status = response.status_code
            if status in RETRY_STATUSES:
                server_now = _http_date(response.headers.get("Date")) or self.now()
                retry_after = parse_retry_after(response.headers.get("Retry-After"), now=server_now)
                raise _Attempt("http", f"HTTP {status}", status=status, retry_after=retry_after)
            if status >= 400:
                raise SourceError(f"{name}: HTTP {status}", url=url, status=status, kind="http", attempts=1)
            return self._read_body(response, name=name, url=url, limit=limit)
        finally:
            response.close()
            self._last_done[host] = self.clock()

    def _read_body(self, response: requests.Response, *, name: str, url: str, limit: int) -> bytes:
        """Read the body within ``timeout`` seconds (a trickling server counts as a timeout)."""
        deadline = self.clock() + self.timeout
        chunks: list[bytes] = []
        size = 0
        try:
            for chunk in response.iter_content(chunk_size=65536):
                chunks.append(chunk)
                size += len(chunk)
                if size > limit:
                    raise SourceError(
                        f"{name}: response larger than {limit} bytes", url=url, kind="too_large"
                    )
                if self.clock() > deadline:
                    raise _Attempt("timeout", "timed out reading the response")
        except requests.Timeout:
            raise _Attempt("timeout", "timed out reading the response") from None
        except requests.RequestException:
            # urllib3 raises when the body is shorter than Content-Length (a cut connection)
            raise _Attempt("broken", "connection broken while reading the response") from None
        return b"".join(chunks)
