"""run_audit: every check over a task's train and test examples, in one report."""

from __future__ import annotations

import time
from collections.abc import Sequence

from ..core.types import Document, Example
from . import content, labels, overlap
from .content import TokenCounter
from .docs import check_docs_support
from .findings import AuditReport, Finding
from .near import NearIndex


def run_audit(
    train: list[Example],
    test: list[Example],
    *,
    count_tokens: TokenCounter | None = None,
    context_length: int | None = None,
    min_per_class: int = 5,
    instruction: str = "",
    docs: Sequence[Document] = (),
) -> AuditReport:
    """Audit the data before any model runs. `instruction` is the task's prompt, counted
    toward the context length; without `count_tokens`, tokens are estimated as chars / 4.
    With `docs`, each training answer is checked against them."""
    start = time.perf_counter()
    if not train:
        missing = Finding("data_sufficiency", "blocking", 0, "no train examples to audit")
        return AuditReport([missing], time.perf_counter() - start)
    label_like = labels.is_label_like(train)
    findings, test_rows = _overlap_checks(train, test, label_like)
    findings.append(check_docs_support(train, docs))
    findings += _content_checks(train, test, label_like, instruction, count_tokens, context_length)
    if label_like:
        labelled = [ex for ex in train if ex.output.strip()]
        findings += _label_checks(labelled, test, min_per_class)
    findings.append(content.check_pii([*train, *test]))
    findings.append(labels.check_sufficiency(train, label_like, min_per_class))
    notes = [
        f"outputs look like {'labels' if label_like else 'free text'}",
        "token counts are estimates (characters / 4)" if count_tokens is None else "",
    ]
    return AuditReport(
        findings,
        time.perf_counter() - start,
        [n for n in notes if n],
        test_rows=test_rows,
        open_ended=not label_like,
    )


def _overlap_checks(
    train: Sequence[Example], test: Sequence[Example], label_like: bool
) -> tuple[list[Finding], dict[str, list[int]]]:
    index = NearIndex([ex.input for ex in train])
    groups = overlap.exact_groups(train)
    near = overlap.near_only(index.pairs_within(), groups)
    split = overlap.split_test(train, test, index) if test else overlap.LeakSplit()
    repeated = overlap.answers_in_train(train, test)
    if test:
        leakage = overlap.check_leakage(train, test, split)
        test_checks = [
            overlap.check_contrastive(train, test, split),
            overlap.check_answer_repetition(train, test, repeated, open_ended=not label_like),
        ]
    else:
        leakage = Finding("leakage", "info", 0, "skipped: no test examples")
        test_checks = []
    findings = [
        leakage,
        *test_checks,
        overlap.check_duplicates(train, groups),
        overlap.check_near_duplicates(train, near),
        overlap.check_conflicts(train, groups, near, label_like),
    ]
    rows = {
        "seen": split.seen,
        "contrastive": sorted(split.contrastive),
        "answer_in_train": repeated,
    }
    return findings, rows


def _content_checks(
    train: Sequence[Example],
    test: Sequence[Example],
    label_like: bool,
    instruction: str,
    count_tokens: TokenCounter | None,
    context_length: int | None,
) -> list[Finding]:
    rows = [*train, *test]
    return [
        content.check_empty(rows, "output"),
        content.check_empty(rows, "input"),
        content.check_truncated(rows, label_like),
        content.check_length_outliers(rows, label_like),
        content.check_context(rows, instruction, count_tokens, context_length),
    ]


def _label_checks(
    train: Sequence[Example], test: Sequence[Example], min_per_class: int
) -> list[Finding]:
    return [
        *labels.check_distribution(train),
        labels.check_rare_classes(train, min_per_class),
        labels.check_unseen_test_labels(train, test),
        labels.check_label_noise(train),
    ]
