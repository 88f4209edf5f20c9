"""Checks that compare examples with each other: duplicates, conflicting labels, leakage."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from ..core.types import Example
from .findings import MAX_EXAMPLES, Finding, example_ref, excerpt, none_found, plural
from .near import THRESHOLD, NearIndex, exact_key

NEAR_RULE = f"character 5-gram Jaccard ≥ {THRESHOLD}"
NEAR_DUP_WARN_FRACTION = 0.05  # past this, near copies skew what a fine-tune learns


def _same_output(a: Example, b: Example) -> bool:
    return a.output.strip() == b.output.strip()


def exact_groups(examples: Sequence[Example]) -> list[list[int]]:
    """Indices of examples whose inputs are equal up to case and spacing, in file order."""
    groups: dict[str, list[int]] = defaultdict(list)
    for i, ex in enumerate(examples):
        groups[exact_key(ex.input)].append(i)
    return [g for g in groups.values() if len(g) > 1]


def check_duplicates(train: Sequence[Example], groups: list[list[int]]) -> Finding:
    """Rows that repeat an earlier row (same input and output) add weight, not information."""
    refs = []
    for group in groups:
        seen: dict[str, Example] = {}  # output -> its first row within the group
        for i in group:
            first = seen.setdefault(train[i].output.strip(), train[i])
            if first is not train[i]:
                refs.append(example_ref(train[i], duplicate_of=first.source))
    if not refs:
        return none_found("duplicates", "exact duplicates in train")
    refs.sort(key=lambda r: _line(r["source"]))
    msg = (
        f"{plural(len(refs), 'train row')} repeat an earlier row "
        "(same output, same input up to case and spacing)"
    )
    return Finding("duplicates", "warning", len(refs), msg, refs[:MAX_EXAMPLES])


def near_only(
    pairs: list[tuple[int, int, float]], groups: list[list[int]]
) -> list[tuple[int, int, float]]:
    """Drop pairs whose inputs are exactly equal: the exact checks report those."""
    group_of = {i: g for g, members in enumerate(groups) for i in members}
    return [(i, j, s) for i, j, s in pairs if i not in group_of or group_of[i] != group_of.get(j)]


def check_near_duplicates(train: Sequence[Example], near: list[tuple[int, int, float]]) -> Finding:
    if not near:
        return none_found("near_duplicates", f"near-duplicate inputs in train ({NEAR_RULE})")
    rows = {i for i, _, _ in near} | {j for _, j, _ in near}
    share = len(rows) / max(1, len(train))
    severity = "warning" if share > NEAR_DUP_WARN_FRACTION else "info"
    msg = (
        f"{plural(len(near), 'pair')} of near-duplicate train inputs ({NEAR_RULE}), "
        f"touching {len(rows)} rows ({share:.1%})"
    )
    ranked = sorted(near, key=lambda p: (-p[2], p[0]))
    refs = [
        example_ref(train[j], near=train[i].source, similarity=round(s, 3)) for i, j, s in ranked
    ]
    return Finding("near_duplicates", severity, len(near), msg, refs[:MAX_EXAMPLES])


def check_conflicts(
    train: Sequence[Example],
    groups: list[list[int]],
    pairs: list[tuple[int, int, float]],
    label_like: bool,
) -> Finding:
    """Same input, different outputs: the model is taught two answers to one question.

    Near-same inputs count only for label-like outputs, where a different answer to an
    almost identical input is a contradiction; free-text answers may legitimately vary.
    """
    found: list[tuple[int, int, float]] = []
    for group in groups:
        first = group[0]
        found.extend((first, i, 1.0) for i in group[1:] if not _same_output(train[i], train[first]))
    if label_like:
        found.extend((i, j, s) for i, j, s in pairs if not _same_output(train[i], train[j]))
    found = sorted(set(found), key=lambda p: (-p[2], p[1]))
    if not found:
        return none_found("conflicting_labels", "conflicting labels")
    refs = [_conflict_ref(train[i], train[j], s) for i, j, s in found]
    rule = f"same or near-same ({NEAR_RULE})" if label_like else "the same"
    msg = f"{plural(len(found), 'train pair')} with {rule} input but different outputs"
    return Finding("conflicting_labels", "warning", len(found), msg, refs[:MAX_EXAMPLES])


def _conflict_ref(a: Example, b: Example, similarity: float) -> dict:
    return example_ref(
        b,
        conflicts_with=a.source,
        similarity=round(similarity, 3),
        outputs=[excerpt(b.output, 40), excerpt(a.output, 40)],
    )


def check_leakage(train: Sequence[Example], test: Sequence[Example], index: NearIndex) -> Finding:
    """Test inputs already seen in train make every score look better than it is."""
    exact_train: dict[str, int] = {}
    for i, ex in enumerate(train):
        exact_train.setdefault(exact_key(ex.input), i)
    exact: dict[int, int] = {}
    for q, ex in enumerate(test):
        if (i := exact_train.get(exact_key(ex.input))) is not None:
            exact[q] = i
    near: dict[int, tuple[int, float]] = {}
    for q, j, score in index.matches_for([ex.input for ex in test]):
        if q not in exact and (q not in near or score > near[q][1]):
            near[q] = (j, score)
    if not exact and not near:
        return none_found("leakage", f"test inputs in train (exact or {NEAR_RULE})")
    count = len(exact) + len(near)
    msg = (
        f"{plural(count, 'test input')} also in train ({len(exact)} exact, "
        f"{len(near)} near: {NEAR_RULE}); scores on them overstate quality"
    )
    refs = [example_ref(test[q], in_train=train[i].source, match="exact") for q, i in exact.items()]
    for q in sorted(near, key=lambda q: (-near[q][1], q)):
        j, score = near[q]
        refs.append(example_ref(test[q], in_train=train[j].source, similarity=round(score, 3)))
    return Finding("leakage", "blocking", count, msg, refs[:MAX_EXAMPLES])


def _line(source: str) -> int:
    tail = source.rsplit(":", 1)[-1]
    return int(tail) if tail.isdigit() else 0
