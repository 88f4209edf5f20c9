"""Per-example scores in [0, 1]. A task names one metric in task.yaml.

A `python:FILE:FUNCTION` metric is user code: `Metric.score_rows` calls it row by row and turns
an exception, or a value that is not a real number in [0, 1], into an input error that names
the metric, the row (test.jsonl:17) and a short view of the texts — never a traceback.
"""

from __future__ import annotations

import math
import os
import re
import string
from collections import Counter
from collections.abc import Callable, Sequence
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path

from .errors import InputError
from .usercode import CtrlC, ctrl_c_noted, load_task_module

Scorer = Callable[[str, str], float]
# Lenient views every strategy is also scored with, to tell wrong answers from wordy ones.
LENIENT = ("contains", "token_f1")
PREFLIGHT_ROWS = 5
DEBUG_ENV = "SHOULDTUNE_DEBUG"  # set to 1: a failing metric raises with its traceback

_ARTICLES = re.compile(r"\b(a|an|the)\b")
_PUNCT = str.maketrans("", "", string.punctuation)


def normalize(text: str) -> str:
    """SQuAD-style normalisation: lower case, no punctuation, no articles, single spaces."""
    text = _ARTICLES.sub(" ", text.lower().translate(_PUNCT))
    return " ".join(text.split())


def exact_match(predicted: str, expected: str) -> float:
    return float(normalize(predicted) == normalize(expected))


def token_f1(predicted: str, expected: str) -> float:
    pred, gold = normalize(predicted).split(), normalize(expected).split()
    if not pred or not gold:
        return float(pred == gold)
    common = sum((Counter(pred) & Counter(gold)).values())
    if common == 0:
        return 0.0
    precision, recall = common / len(pred), common / len(gold)
    return 2 * precision * recall / (precision + recall)


_NON_WORD = re.compile(r"[^\w\s]")


def _words(text: str) -> str:
    """Lower case, every non-word character a space (so "1-year" holds the word "1"), no
    articles, single spaces."""
    spaced = _NON_WORD.sub(" ", text.lower())
    return " ".join(_ARTICLES.sub(" ", spaced).split())


def contains(predicted: str, expected: str) -> float:
    """The expected answer occurs in the answer as whole words, after normalisation (lower
    case, punctuation as spaces, no articles): "The X carries a 1-year warranty." contains
    "1"; "10" does not contain "1"."""
    ref = _words(expected)
    if not ref:
        return float(not _words(predicted))
    return float(f" {ref} " in f" {_words(predicted)} ")


def accuracy(predicted: str, expected: str) -> float:
    """Label match: the first non-empty line of the answer, case- and space-insensitive."""
    lines = [line for line in predicted.strip().splitlines() if line.strip()]
    first = lines[0] if lines else ""
    return float(" ".join(first.lower().split()) == " ".join(expected.lower().split()))


def chrf(predicted: str, expected: str) -> float:
    from sacrebleu.metrics import CHRF

    return CHRF().sentence_score(predicted, [expected]).score / 100.0


_BUILTINS: dict[str, Scorer] = {
    "exact_match": exact_match,
    "contains": contains,
    "token_f1": token_f1,
    "accuracy": accuracy,
    "chrf": chrf,
}


BUILTIN = tuple(_BUILTINS)
_BUILTIN_FUNCS = frozenset(_BUILTINS.values())


def check_metric_name(name: str) -> None:
    if name in _BUILTINS:
        return
    parts = name.split(":")
    if parts[0] == "python" and len(parts) == 3 and all(parts[1:]):
        return
    raise ValueError(f"unknown metric; use one of {', '.join(BUILTIN)} or python:FILE:FUNCTION")


def builtin(name: str) -> Scorer:
    return _BUILTINS[name]


def metric_file(name: str) -> str | None:
    """The task-folder file a `python:FILE:FUNCTION` metric lives in; None for built-ins."""
    parts = name.split(":")
    return parts[1] if parts[0] == "python" and len(parts) == 3 else None


def load_scorer(name: str, task_root: Path) -> Scorer:
    """The raw scoring function (user code unchecked): see `load_metric` for the checked one."""
    if name in _BUILTINS:
        return _BUILTINS[name]
    _, file_name, func_name = name.split(":")
    module = load_task_module(task_root, file_name, "metric")  # inside the task folder only
    func = getattr(module, func_name, None)
    if not callable(func):
        raise InputError(f"no function {func_name!r} in the metric file", module.__file__)
    return func


def _cut(text: str, limit: int) -> str:
    flat = " ".join(str(text).split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def _short(text: str, limit: int = 40) -> str:
    return repr(_cut(text, limit))


def _valid(value: object) -> float | None:
    """A real number in [0, 1] (bools count) as float; None for anything else."""
    if isinstance(value, bool):
        return float(value)
    if not isinstance(value, int | float) or isinstance(value, complex):
        return None
    v = float(value)
    return v if math.isfinite(v) and 0.0 <= v <= 1.0 else None


@dataclass(frozen=True)
class Metric:
    """A named scorer whose every value is checked; errors name the row."""

    name: str
    func: Scorer

    def score_row(self, predicted: str, expected: str, source: str = "") -> float:
        where = f" on {source}" if source else ""
        view = f" (expected {_short(expected)}, predicted {_short(predicted)})"
        user_code = self.func not in _BUILTIN_FUNCS
        try:
            with ctrl_c_noted() if user_code else nullcontext(CtrlC(hit=True)) as ctrl_c:
                value = self.func(predicted, expected)
        except (Exception, SystemExit, KeyboardInterrupt) as exc:
            # User code: any exception is the metric's, and so is a sys.exit() or a
            # KeyboardInterrupt it raises itself; only a real Ctrl-C stops the run as one.
            if os.environ.get(DEBUG_ENV) or (isinstance(exc, KeyboardInterrupt) and ctrl_c):
                raise
            text = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            raise MetricError(f"metric {self.name} raised {text}{where}{view}") from None
        score = _valid(value)
        if score is None:
            raise MetricError(
                f"metric {self.name} returned {_cut(repr(value), 30)}{where}{view}; a metric"
                " must return a real number between 0 and 1"
            )
        return score

    def score_rows(
        self, predicted: Sequence[str], expected: Sequence[str], sources: Sequence[str]
    ) -> list[float]:
        return [
            self.score_row(p, e, s) for p, e, s in zip(predicted, expected, sources, strict=True)
        ]

    def preflight(self, expected: Sequence[str], sources: Sequence[str]) -> None:
        """Score a few (expected, expected) pairs before any strategy runs: a metric that
        always raises or returns nonsense fails in the first second, not after training."""
        for e, s in list(zip(expected, sources, strict=True))[:PREFLIGHT_ROWS]:
            self.score_row(e, e, f"{s} (pre-flight check: the expected answer as prediction)")


class MetricError(InputError):
    """The task's metric failed on a row or returned an invalid score."""


def load_metric(name: str, task_root: Path) -> Metric:
    return Metric(name, load_scorer(name, task_root))
