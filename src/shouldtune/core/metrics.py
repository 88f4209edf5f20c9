"""Per-example scores in [0, 1]. A task names one metric in task.yaml."""

from __future__ import annotations

import re
import string
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from .errors import InputError
from .usercode import load_task_module

Scorer = Callable[[str, str], float]
BUILTIN = ("exact_match", "token_f1", "accuracy", "chrf")

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
    "token_f1": token_f1,
    "accuracy": accuracy,
    "chrf": chrf,
}


def check_metric_name(name: str) -> None:
    if name in _BUILTINS:
        return
    parts = name.split(":")
    if parts[0] == "python" and len(parts) == 3 and all(parts[1:]):
        return
    raise ValueError(f"unknown metric; use one of {', '.join(BUILTIN)} or python:FILE:FUNCTION")


def load_scorer(name: str, task_root: Path) -> Scorer:
    if name in _BUILTINS:
        return _BUILTINS[name]
    _, file_name, func_name = name.split(":")
    module = load_task_module(task_root, file_name, "metric")  # inside the task folder only
    func = getattr(module, func_name, None)
    if not callable(func):
        raise InputError(f"no function {func_name!r} in the metric file", module.__file__)
    return lambda predicted, expected: float(func(predicted, expected))
