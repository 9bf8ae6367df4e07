"""Where a stage reports how far it is, and the client how long it waits for a request slot: the CLI draws
it (a bar on a terminal, plain lines in logs); a library caller may pass nothing."""

from __future__ import annotations

from typing import Protocol


class Progress(Protocol):
    """Where a stage reports how far it is, and the client how long it waits (the CLI draws it)."""

    def begin(self, label: str, total: int) -> None: ...

    def advance(self, done: int = 1) -> None: ...

    def waiting(self, seconds: float) -> None: ...

    def end(self) -> None: ...


class SilentProgress:
    def begin(self, label: str, total: int) -> None:
        pass

    def advance(self, done: int = 1) -> None:
        pass

    def waiting(self, seconds: float) -> None:
        pass

    def end(self) -> None:
        pass
