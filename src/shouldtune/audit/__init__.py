"""Data audit: find what is wrong with a task's examples before measuring anything."""

from .findings import AuditReport, Finding, Severity
from .run import run_audit

__all__ = ["AuditReport", "Finding", "Severity", "run_audit"]
