"""Checks that compare examples with each other: duplicates, conflicting labels, leakage."""

from __future__ import annotations

import difflib
import re
import unicodedata
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

from ..core.types import Example
from .findings import MAX_EXAMPLES, Finding, example_ref, excerpt, none_found, plural
from .near import THRESHOLD, NearIndex, exact_key

NEAR_RULE = f"character 5-gram Jaccard ≥ {THRESHOLD}"
NEAR_DUP_WARN_FRACTION = 0.05  # past this, near copies skew what a fine-tune learns
# Fewest clean test rows a verdict may rest on. At n = 20 the 95% CI of an accuracy near 0.5
# is ±0.22 (1.96 * sqrt(0.25 / 20)), so only strategies ~0.3 apart can be told apart; with
# fewer rows nearly every pair of intervals overlaps and a verdict would say nothing.
MIN_CLEAN_ROWS = 20


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
        f"{plural(len(refs), 'train row')} {_verb(len(refs), 'repeat')} an earlier row "
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
    Near pairs whose differing words are all numbers or names ("set unit 3 to 7" / "set unit
    4 to 7") are a template filled twice: different answers are expected there (contrastive).
    """
    found: list[tuple[int, int, float]] = []
    for group in groups:
        first = group[0]
        found.extend((first, i, 1.0) for i in group[1:] if not _same_output(train[i], train[first]))
    exact = len(found)
    templated = 0
    if label_like:
        for i, j, s in pairs:
            if _same_output(train[i], train[j]):
                continue
            if differs_only_in_slots(train[i].input, train[j].input):
                templated += 1
            else:
                found.append((i, j, s))
    found = sorted(set(found), key=lambda p: (-p[2], p[1]))
    data = {"exact": exact, "near": len(found) - exact, "templated": templated}
    aside = (
        f"; {plural(templated, 'near pair')} differing only in numbers or names not counted "
        "(a template filled with other values)"
        if templated
        else ""
    )
    if not found:
        return Finding(
            "conflicting_labels", "info", 0, f"no conflicting labels found{aside}", data=data
        )
    refs = [_conflict_ref(train[i], train[j], s) for i, j, s in found]
    rule = f"same or near-same ({NEAR_RULE})" if label_like else "the same"
    msg = f"{plural(len(found), 'train pair')} with {rule} input but different outputs{aside}"
    return Finding("conflicting_labels", "warning", len(found), msg, refs[:MAX_EXAMPLES], data)


_WORD = re.compile(r"\w+")
_NUMBERS = (
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
    "fifteen sixteen seventeen eighteen nineteen twenty thirty forty fifty sixty seventy "
    "eighty ninety hundred thousand million first second third fourth fifth"
)
NUMBER_WORDS = frozenset(_NUMBERS.split(" "))


def _words(text: str) -> list[tuple[str, bool]]:
    """(casefolded word, looks like a slot value) for each word of a text."""
    text = unicodedata.normalize("NFKC", text)
    words = []
    for m in _WORD.finditer(text):
        word = m.group()
        mid_sentence = _char_before(text, m.start()) not in ".!?:\"'“"
        name = word[0].isupper() and mid_sentence and word != "I"
        slot = name or any(c.isdigit() for c in word) or word.casefold() in NUMBER_WORDS
        words.append((word.casefold(), slot))
    return words


def differs_only_in_slots(a: str, b: str) -> bool:
    """True when b is a with some numbers or names (a capital letter mid-sentence) replaced
    by others, word for word: "set unit 3 to 7" / "set unit 4 to 7". A word added or dropped
    ("my card" / "my card PIN") changes the question, so it does not count."""
    wa, wb = _words(a), _words(b)
    matcher = difflib.SequenceMatcher(None, [w for w, _ in wa], [w for w, _ in wb], autojunk=False)
    changed = [op for op in matcher.get_opcodes() if op[0] != "equal"]
    return bool(changed) and all(
        tag == "replace" and all(slot for _, slot in wa[i1:i2] + wb[j1:j2])
        for tag, i1, i2, j1, j2 in changed
    )


def _conflict_ref(a: Example, b: Example, similarity: float) -> dict:
    return example_ref(
        b,
        conflicts_with=a.source,
        similarity=round(similarity, 3),
        outputs=[excerpt(b.output, 40), excerpt(a.output, 40)],
    )


@dataclass
class LeakSplit:
    """How each leaking test row matches train: test index -> (train index, similarity)."""

    exact: dict[int, tuple[int, float]] = field(default_factory=dict)  # input equal
    near: dict[int, tuple[int, float]] = field(default_factory=dict)  # near input, same answer
    contrastive: dict[int, tuple[int, float]] = field(default_factory=dict)  # another answer

    @property
    def seen(self) -> list[int]:
        return sorted(self.exact.keys() | self.near.keys())


def split_test(train: Sequence[Example], test: Sequence[Example], index: NearIndex) -> LeakSplit:
    """Sort test rows by what a model that memorised train would get from them.

    Exact input repeats are seen whatever their answer (the question itself was trained on);
    a near repeat is seen only when a near training row has the same answer. A near repeat
    whose answer differs is contrastive: memorising the training answer makes it wrong, so it
    cannot inflate a score and counts as clean.
    """
    split = LeakSplit()
    exact_train: dict[str, int] = {}
    for i, ex in enumerate(train):
        exact_train.setdefault(exact_key(ex.input), i)
    for q, ex in enumerate(test):
        if (i := exact_train.get(exact_key(ex.input))) is not None:
            split.exact[q] = (i, 1.0)
    for q, j, score in index.matches_for([ex.input for ex in test]):
        if q in split.exact:
            continue
        same = exact_key(train[j].output) == exact_key(test[q].output)
        bucket = split.near if same else split.contrastive
        if q not in bucket or score > bucket[q][1]:
            bucket[q] = (j, score)
    for q in split.near:
        split.contrastive.pop(q, None)  # one near row with the same answer is enough to leak
    return split


def _clean_floor(total: int) -> int:
    """Fewest clean rows that still carry a verdict (see MIN_CLEAN_ROWS). A test set smaller
    than that is a problem of its own, not leakage's: then block only when most rows leak."""
    return MIN_CLEAN_ROWS if total >= MIN_CLEAN_ROWS else (total + 1) // 2


def check_leakage(train: Sequence[Example], test: Sequence[Example], split: LeakSplit) -> Finding:
    """Seen test rows make every score look better than it is: they are scored apart, and
    the run stops only when too few clean rows are left to decide anything."""
    seen = split.seen
    clean = len(test) - len(seen)
    data = {
        "test": len(test),
        "seen": len(seen),
        "exact": len(split.exact),
        # exact repeats whose expected answer differs from train's: seen all the same (the
        # question was trained on), but recalling the training answer gets them wrong
        "exact_other_answer": sum(
            exact_key(test[q].output) != exact_key(train[i].output)
            for q, (i, _) in split.exact.items()
        ),
        "near": len(split.near),
        "clean": clean,
        "min_clean": MIN_CLEAN_ROWS,
    }
    if not seen:
        return none_found("leakage", f"test inputs in train (exact or {NEAR_RULE})", data)
    refs = [_leak_ref(test[q], train[i], "exact", s) for q, (i, s) in split.exact.items()]
    for q in sorted(split.near, key=lambda q: (-split.near[q][1], q)):
        i, score = split.near[q]
        refs.append(_leak_ref(test[q], train[i], "near, same answer", score))
    what = (
        f"{plural(len(seen), 'test row')} {_verb(len(seen), 'repeat')} a training input "
        f"({len(split.exact)} exact, "
        f"{len(split.near)} near with the same answer: {NEAR_RULE})"
    )
    if clean < _clean_floor(len(test)):
        why = (
            f"a verdict needs at least {MIN_CLEAN_ROWS}"
            if len(test) >= MIN_CLEAN_ROWS
            else "most of the test set repeats training inputs"
        )
        msg = f"{clean} of {len(test)} test rows are clean; {why}. {what}"
        return Finding("leakage", "blocking", len(seen), msg, refs[:MAX_EXAMPLES], data)
    msg = f"{what}; they are scored apart, the verdict uses the {clean} clean rows (of {len(test)})"
    return Finding("leakage", "warning", len(seen), msg, refs[:MAX_EXAMPLES], data)


def _leak_ref(test_ex: Example, train_ex: Example, match: str, similarity: float) -> dict:
    return example_ref(
        test_ex, in_train=train_ex.source, match=match, similarity=round(similarity, 3)
    )


def check_contrastive(
    train: Sequence[Example], test: Sequence[Example], split: LeakSplit
) -> Finding:
    """Near-copies with another answer test whether a model reads the input or recalls a
    neighbour: worth knowing, never leakage."""
    pairs = split.contrastive
    data = {"test": len(test), "contrastive": len(pairs)}
    if not pairs:
        return none_found(
            "contrastive_pairs",
            f"test inputs near a training input ({NEAR_RULE}) with another answer",
            data,
        )
    refs = [
        example_ref(
            test[q],
            near=train[i].source,
            similarity=round(s, 3),
            outputs=[excerpt(test[q].output, 40), excerpt(train[i].output, 40)],
        )
        for q, (i, s) in sorted(pairs.items(), key=lambda p: (-p[1][1], p[0]))
    ]
    msg = (
        f"{plural(len(pairs), 'test row')} nearly {_verb(len(pairs), 'repeat')} a training "
        f"input ({NEAR_RULE}) but {_verb(len(pairs), 'expect')} another answer: contrastive "
        "pairs, scored as clean (recalling the training answer gets them wrong)"
    )
    return Finding("contrastive_pairs", "info", len(pairs), msg, refs[:MAX_EXAMPLES], data)


def answers_in_train(train: Sequence[Example], test: Sequence[Example]) -> list[int]:
    """Test rows whose expected output is, up to case and spacing, a training output."""
    known = {exact_key(ex.output) for ex in train if ex.output.strip()}
    return [q for q, ex in enumerate(test) if ex.output.strip() and exact_key(ex.output) in known]


def check_answer_repetition(
    train: Sequence[Example], test: Sequence[Example], repeated: list[int], open_ended: bool
) -> Finding:
    """For free-text answers, a baseline that can only repeat a training answer can get at
    most these rows right: its score is a lookup, not understanding."""
    if not open_ended:
        return Finding("answer_repetition", "info", 0, "skipped: outputs are labels")
    share = len(repeated) / len(test) if test else 0.0
    data = {"test": len(test), "repeated": len(repeated), "share": round(share, 4)}
    first: dict[str, Example] = {}
    for ex in train:
        first.setdefault(exact_key(ex.output), ex)
    refs = [
        example_ref(
            test[q],
            answer=excerpt(test[q].output, 40),
            in_train=first[exact_key(test[q].output)].source,
        )
        for q in repeated[:MAX_EXAMPLES]
    ]
    msg = (
        f"{len(repeated)} of {len(test)} test answers ({share:.0%}) occur verbatim among the "
        "training answers; a method that can only repeat training answers (a lookup) can get "
        f"at most {share:.0%} right"
    )
    return Finding("answer_repetition", "info", len(repeated), msg, refs, data)


def _verb(n: int, verb: str) -> str:
    return verb + "s" if n == 1 else verb


def _line(source: str) -> int:
    tail = source.rsplit(":", 1)[-1]
    return int(tail) if tail.isdigit() else 0


def _char_before(text: str, pos: int) -> str:
    """The last non-space character before pos; "." at the start, where a sentence starts."""
    i = pos - 1
    while i >= 0 and text[i].isspace():
        i -= 1
    return text[i] if i >= 0 else "."
