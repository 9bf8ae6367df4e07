"""One exception hierarchy for the whole package. Only the CLI (``cli/``) turns these into messages and exit
codes.

Messages are one line, safe to show: they never contain an API key or a raw response body.
"""

from __future__ import annotations


class PaperDigestError(Exception):
    """Base of every error this package raises on purpose."""

    exit_code = 1


class UsageError(PaperDigestError):
    """Bad command-line input (a malformed date, conflicting flags)."""

    exit_code = 2


class ConfigError(PaperDigestError):
    """The config file is missing, unreadable or invalid. ``problems`` holds one line per field."""

    exit_code = 2

    def __init__(self, message: str, problems: list[str] | None = None) -> None:
        super().__init__(message)
        self.problems = problems or []


class SourceError(PaperDigestError):
    """A source could not be fetched (after retries). ``kind`` says what went wrong as data, so a caller can
    word it for the reader: "http" (a status), "timeout", "connection" (refused, DNS, reset), "broken" (the
    body was cut), "too_large", "request" (a request that cannot be sent), "offline" (not in the archive)."""

    def __init__(
        self,
        message: str,
        *,
        url: str | None = None,
        status: int | None = None,
        kind: str | None = None,
        attempts: int | None = None,
    ) -> None:
        super().__init__(message)
        self.url = url
        self.status = status
        self.kind = kind
        self.attempts = attempts


class ParseError(PaperDigestError):
    """A payload could not be parsed at all (individual bad items are skipped, not raised)."""

    def __init__(self, message: str, *, source: str | None = None) -> None:
        super().__init__(message)
        self.source = source


class RenderError(PaperDigestError):
    """A template failed to load or render. Names the template and line when known."""

    def __init__(self, message: str, *, template: str | None = None, line: int | None = None) -> None:
        super().__init__(message)
        self.template = template
        self.line = line


class StoreError(PaperDigestError):
    """Writing outputs or cache failed (unwritable folder, disk full)."""


class LockedError(StoreError):
    """Another run holds the output folder's lock."""


class DeliveryError(PaperDigestError):
    """Sending the digest by email or webhook failed. Recorded in the sidecar and told on stderr in one line;
    never fails the run. The message never carries a password or a webhook URL (they hold secrets)."""
