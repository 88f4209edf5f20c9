"""Progress reporting seam: the library calls it, the CLI draws it (rich)."""

from __future__ import annotations

from typing import Protocol


class Progress(Protocol):
    def stage(self, strategy: str, stage: str, total: int | None = None) -> None: ...

    def advance(self, n: int = 1) -> None: ...

    def log(self, message: str) -> None: ...


class NullProgress:
    def stage(self, strategy: str, stage: str, total: int | None = None) -> None:
        pass

    def advance(self, n: int = 1) -> None:
        pass

    def log(self, message: str) -> None:
        pass
