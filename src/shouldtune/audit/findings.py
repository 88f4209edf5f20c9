"""What the audit reports: one Finding per check, gathered in an AuditReport."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from ..core.types import Example
from .pii import mask_pii

Severity = Literal["info", "warning", "blocking"]
SEVERITIES: tuple[Severity, ...] = ("info", "warning", "blocking")
MAX_EXAMPLES = 5
EXCERPT_CHARS = 80


@dataclass
class Finding:
    """One check's result. `examples` are JSON-safe dicts that name a `source` (file:line);
    `data` holds the check's numbers for whatever reads results.json (verdict, report)."""

    check: str
    severity: Severity
    count: int
    message: str
    examples: list[dict[str, Any]] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "check": self.check,
            "severity": self.severity,
            "count": self.count,
            "message": self.message,
            "examples": self.examples[:MAX_EXAMPLES],
            "data": dict(self.data),
        }


@dataclass
class AuditReport:
    """All findings, plus which test rows the scores must keep apart.

    `test_rows` holds 0-based indices into the test list: "seen" (the input is in train
    exactly, or nearly with the same answer: a memorising model gets them right),
    "contrastive" (nearly the same input with another answer: scored as clean) and
    "answer_in_train" (the expected output is among the training outputs). `open_ended` is
    True when the outputs are free text rather than labels.
    """

    findings: list[Finding]
    seconds: float
    notes: list[str] = field(default_factory=list)
    test_rows: dict[str, list[int]] = field(default_factory=dict)
    open_ended: bool = False

    @property
    def blocking(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "blocking"]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "warning"]

    def exit_code(self, strict: bool = False) -> int:
        """1 when something blocks (or, with strict, when anything warns); else 0."""
        if self.blocking or (strict and self.warnings):
            return 1
        return 0

    def get(self, check: str) -> Finding | None:
        return next((f for f in self.findings if f.check == check), None)

    def to_json(self) -> dict[str, Any]:
        return {
            "seconds": round(self.seconds, 3),
            "summary": {s: sum(f.severity == s for f in self.findings) for s in SEVERITIES},
            "notes": list(self.notes),
            "open_ended": self.open_ended,
            "test_rows": {k: list(v) for k, v in self.test_rows.items()},
            "findings": [f.to_json() for f in self.findings],
        }


def excerpt(text: str, limit: int = EXCERPT_CHARS) -> str:
    """A one-line, PII-masked, shortened view of a text, safe to print or store."""
    flat = " ".join(mask_pii(text).split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def tail_excerpt(text: str, limit: int = 60) -> str:
    """The end of a text (where truncation shows), masked before it is cut."""
    flat = " ".join(mask_pii(text).split())
    return flat if len(flat) <= limit else "…" + flat[-(limit - 1) :]


def example_ref(ex: Example, **extra: Any) -> dict[str, Any]:
    """The usual example entry: where it is, a masked excerpt of its input, and extras."""
    return {"source": ex.source, "excerpt": excerpt(ex.input), **extra}


def none_found(check: str, what: str, data: dict[str, Any] | None = None) -> Finding:
    return Finding(check, "info", 0, f"no {what} found", data=dict(data or {}))


def plural(n: int, word: str, many: str | None = None) -> str:
    return f"{n} {word if n == 1 else (many or word + 's')}"
