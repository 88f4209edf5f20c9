"""Format or facts? Does the training data teach a way to write the input, or new facts?

Gekhman et al. (2024) warn about fine-tuning on facts the model does not know. That warning
is about outputs that *carry* facts absent from the input (product Q&A, trivia); on data whose
outputs are *derived* from the input (codes, commands, labels from a fixed set, formats) a
model "not knowing" the outputs before training means it does not know the format yet, which
is what fine-tuning is for. This module tells the two apart from the data alone (no model):

1. Labels from a fixed set: at least `MIN_LABEL_EXAMPLES` examples, on average at least
   `LABEL_REUSE` examples per distinct output, and short outputs (median <= `LABEL_WORDS`
   words): a label judges the input, it does not add a fact -> "format".
2. Otherwise every output is cut into pieces (runs of letters, numbers) and each piece is
   *explained* when it is copied from the input (whole word, or the same word stem), an
   abbreviation of an input word ("WHT" for "white": its letters in order, same first
   letter), a number computed from the input's numbers (one or two of + - x /, number words
   read as numbers), an English function word, recurring format vocabulary (in at least
   `TEMPLATE_SHARE` of all outputs), or predicted by a word of its input across the *other*
   examples (of the other examples whose input has that word, at least one and `ALIGN` of
   them have the piece in their output: "NXT" wherever "overnight" is asked for). A number
   that is not in the input and cannot be computed from it is never explained by recurrence
   or prediction: numbers are the typical fact.
3. An example carries facts when one of its output pieces is unexplained. "facts" when at least
   `FACTS_SHARE` of the examples do, else "format".

Limits, said in the reason where they matter: labels that are facts about an entity named in
the input (the country of a city) look like a fixed label set; a translation counts as
derived only where its words recur often enough in the data to be aligned.
"""

from __future__ import annotations

import itertools
import random
import re
import statistics
from collections import Counter
from collections.abc import Sequence
from typing import Any

MIN_LABEL_EXAMPLES = 8
LABEL_REUSE = 4.0
LABEL_WORDS = 4
TEMPLATE_SHARE = 0.3
ALIGN = 0.8
FACTS_SHARE = 0.3
MAX_NUMBERS = 4  # input numbers tried for computed outputs (pairs and triples)
SHOWN = 3
MAX_EXAMPLES = 1000

_PIECE = re.compile(r"[^\W\d_]+|\d+(?:[.,]\d+)*")
_NUMBERS = (
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen"
    " fifteen sixteen seventeen eighteen nineteen twenty"
)
NUMBER_WORDS = dict(zip(_NUMBERS.split(), range(21), strict=True)) | {
    "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "hundred": 100, "dozen": 12,
}  # fmt: skip
# A short list of English function words: they carry no fact in an output.
_FUNCTION = (
    "a an the of to in on at for by with from and or but not no is are was were be been am it"
    " its this that these those there here i you he she we they me my your our their his her"
    " them us do does did has have had will would can could should may might must shall as"
    " if so than then also just only very too up out into over about all any some each per"
)
FUNCTION_WORDS = frozenset(_FUNCTION.split())


def _pieces(text: str) -> list[str]:
    return [p.lower() for p in _PIECE.findall(text)]


def _number(piece: str) -> float | None:
    if piece in NUMBER_WORDS:
        return float(NUMBER_WORDS[piece])
    if piece[0].isdigit():
        try:
            return float(piece.replace(",", ""))
        except ValueError:
            return None
    return None


def _computed(numbers: Sequence[float]) -> set[float]:
    """The input's numbers and what one or two operations on them give."""
    nums = list(dict.fromkeys(numbers))[:MAX_NUMBERS]
    found = set(nums)
    pairs = set()
    for a, b in itertools.permutations(nums, 2):
        pairs |= _ops(a, b)
    found |= pairs
    for a, c in itertools.product(pairs, nums):
        found |= _ops(a, c)
    return {round(v, 6) for v in found}


def _ops(a: float, b: float) -> set[float]:
    out = {a + b, a - b, a * b}
    if b:
        out.add(a / b)
    return out


def _abbreviates(piece: str, word: str) -> bool:
    """'wht' abbreviates 'white': its letters in order, the same first letter, shorter."""
    if len(piece) > 5 or len(piece) >= len(word) or piece[0] != word[0]:
        return False
    rest = iter(word[1:])
    return all(ch in rest for ch in piece[1:])


def _same_stem(piece: str, word: str) -> bool:
    shorter = min(len(piece), len(word))
    common = len(_common_prefix(piece, word))
    return shorter >= 3 and common >= 3 and common >= 0.75 * shorter


def _common_prefix(a: str, b: str) -> str:
    n = 0
    while n < min(len(a), len(b)) and a[n] == b[n]:
        n += 1
    return a[:n]


class _Data:
    """Counts over the whole training set that an example's pieces are judged against."""

    def __init__(self, inputs: list[list[str]], outputs: list[list[str]]):
        self.inputs = [set(p) for p in inputs]
        self.outputs = [set(p) for p in outputs]
        self.n = len(outputs)
        self.with_word: dict[str, set[int]] = {}  # input word -> examples whose input has it
        self.with_piece: dict[str, set[int]] = {}  # output piece -> examples whose output has it
        for k, (ins, outs) in enumerate(zip(self.inputs, self.outputs, strict=True)):
            for w in ins:
                self.with_word.setdefault(w, set()).add(k)
            for p in outs:
                self.with_piece.setdefault(p, set()).add(k)

    def recurring(self, piece: str) -> bool:
        return len(self.with_piece.get(piece, ())) >= max(2, TEMPLATE_SHARE * self.n)

    def aligned(self, piece: str, index: int) -> bool:
        """A word of this input predicts `piece` in the output across the other examples:
        at least one other example has the word, and `ALIGN` of those have the piece."""
        having = self.with_piece.get(piece, set())
        for word in self.inputs[index] - FUNCTION_WORDS:
            others = len(self.with_word[word]) - 1
            hits = len(self.with_word[word] & having) - (index in having)
            if others and hits >= ALIGN * others:
                return True
        return False


class _Numbers:
    """An input's numbers, and (only when asked) what arithmetic on them gives."""

    def __init__(self, words: Sequence[str]):
        self.given = [v for p in words if (v := _number(p)) is not None]
        self.rounded = {round(v, 6) for v in self.given}
        self._computed: set[float] | None = None

    def computed(self) -> set[float]:
        if self._computed is None:
            self._computed = _computed(self.given)
        return self._computed


def _explain(piece: str, index: int, inputs: set[str], numbers: _Numbers, data: _Data) -> str:
    """How an output piece follows from its input or the data's format, or 'new'."""
    value = _number(piece)
    if value is not None and piece not in FUNCTION_WORDS:
        if piece in inputs or round(value, 6) in numbers.rounded:  # "9" for "nine": a copy
            return "copied"
        return "computed" if round(value, 6) in numbers.computed() else "new"
    if piece in inputs:
        return "copied"
    if piece in FUNCTION_WORDS:
        return "function word"
    if any(_same_stem(piece, w) for w in inputs):
        return "copied"
    if any(_abbreviates(piece, w) for w in inputs):
        return "abbreviated"
    if data.recurring(piece):
        return "format vocabulary"
    if data.aligned(piece, index):
        return "aligned"
    return "new"


def data_kind(examples: Sequence[Any]) -> dict[str, Any]:
    """{"data_kind": "format" | "facts", "reason": one or two sentences, "evidence": counts}
    for examples with `.input` and `.output` (core.types.Example)."""
    rows = [(str(e.input), str(e.output)) for e in examples]
    if len(rows) > MAX_EXAMPLES:  # a seeded sample: the judgement needs no more
        rows = random.Random(0).sample(rows, MAX_EXAMPLES)
    if not rows:
        return {"data_kind": "facts", "reason": "no training examples to judge", "evidence": {}}
    labels = _labels(rows)
    if labels is not None:
        return labels
    inputs = [_pieces(i) for i, _ in rows]
    outputs = [_pieces(o) for _, o in rows]
    data = _Data(inputs, outputs)
    how: Counter[str] = Counter()
    carrying: list[tuple[int, list[str]]] = []
    for k, (ins, outs) in enumerate(zip(inputs, outputs, strict=True)):
        words = set(ins)
        numbers = _Numbers(ins)
        new = []
        for piece in outs:
            kind = _explain(piece, k, words, numbers, data)
            how[kind] += 1
            if kind == "new":
                new.append(piece)
        if new:
            carrying.append((k, new))
    share = len(carrying) / len(rows)
    evidence = {
        "examples": len(rows),
        "examples_with_new_pieces": len(carrying),
        "share": round(share, 4),
        "pieces": dict(how.most_common()),
    }
    kind = "facts" if share >= FACTS_SHARE else "format"
    return {
        "data_kind": kind,
        "reason": _reason(kind, share, how, carrying, rows),
        "evidence": evidence,
    }


def _labels(rows: list[tuple[str, str]]) -> dict[str, Any] | None:
    outputs = [" ".join(o.split()).lower() for _, o in rows]
    distinct = Counter(outputs)
    words = statistics.median(len(o.split()) for o in outputs)
    if len(rows) < MIN_LABEL_EXAMPLES or len(rows) < LABEL_REUSE * len(distinct):
        return None
    if words > LABEL_WORDS:
        return None
    top = ", ".join(repr(o) for o, _ in distinct.most_common(SHOWN))
    reason = (
        f"labels from a fixed set: {len(distinct)} distinct outputs over {len(rows)} examples"
        f" (most used: {top}); a label judges the input, it adds no fact. If the labels are"
        " facts about something the input names (the country of a city), the SliCK warning"
        " applies anyway."
    )
    evidence = {"examples": len(rows), "distinct_outputs": len(distinct)}
    return {"data_kind": "format", "reason": reason, "evidence": evidence}


def _reason(
    kind: str,
    share: float,
    how: Counter[str],
    carrying: list[tuple[int, list[str]]],
    rows: list[tuple[str, str]],
) -> str:
    total = sum(how.values()) or 1
    parts = [
        f"{how[k] / total:.0%} {label}"
        for k, label in (
            ("copied", "copied from the input"),
            ("abbreviated", "abbreviated from it"),
            ("computed", "computed from its numbers"),
            ("format vocabulary", "recurring format vocabulary"),
            ("aligned", "consistently paired with an input word"),
            ("function word", "function words"),
        )
        if how[k]
    ]
    examples = "; ".join(
        f"{', '.join(repr(p) for p in new[:3])} in {rows[k][1][:80]!r}"
        for k, new in carrying[:SHOWN]
    )
    if kind == "format":
        said = (
            "outputs derivable from the input: of the output pieces (words, numbers, codes), "
            + ", ".join(parts)
            + (
                f"; only {share:.0%} of the examples carry a piece found neither in their input"
                if carrying
                else "; no example carries a piece found neither in its input"
            )
            + " nor in the data's recurring format"
        )
        return said + (f" (e.g. {examples})." if examples else ".")
    return (
        f"outputs carry facts not in the input: {share:.0%} of the examples have words or"
        f" numbers in their output that their input does not give and that are not part of a"
        f" recurring format, e.g. {examples}."
    )
