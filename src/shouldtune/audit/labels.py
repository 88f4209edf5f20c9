"""Checks for label-like outputs: distribution, rare and unseen classes, label noise,
and whether there is enough data to fine-tune on at all."""

from __future__ import annotations

import statistics
import warnings
from collections import Counter
from collections.abc import Sequence

import numpy as np

from ..core.evidence import NOISE_TRUSTED_ACCURACY
from ..core.types import Example
from .findings import MAX_EXAMPLES, Finding, example_ref, excerpt, none_found, plural

LABEL_MAX_CHARS = 64
LABEL_MAX_WORDS = 6
LABEL_MAX_CLASSES = 200
IMBALANCE_RATIO = 10.0  # largest / smallest class
NOISE_MIN_ROWS = 50  # cross-validated probabilities mean little below this
NOISE_MIN_CLASS = 3  # a class needs a few rows to appear in every fold split
NOISE_FOLDS = 5
TOO_SMALL_ROWS = 50


def label_of(ex: Example) -> str:
    return ex.output.strip()


def is_label_like(train: Sequence[Example]) -> bool:
    """Few distinct, short outputs: a classification task rather than free text."""
    labels = [label for ex in train if (label := label_of(ex))]  # empties reported elsewhere
    if len(labels) < 4:
        return False
    distinct = len(set(labels))
    short = all(len(x) <= LABEL_MAX_CHARS and len(x.split()) <= LABEL_MAX_WORDS for x in labels)
    return short and distinct <= min(LABEL_MAX_CLASSES, max(2, len(labels) // 5))


def _first_source(train: Sequence[Example]) -> dict[str, Example]:
    first: dict[str, Example] = {}
    for ex in train:
        first.setdefault(label_of(ex), ex)
    return first


def check_distribution(train: Sequence[Example]) -> list[Finding]:
    counts = Counter(label_of(ex) for ex in train)
    first = _first_source(train)
    ranked = counts.most_common()
    (top, top_n), (low, low_n) = ranked[0], ranked[-1]
    ratio = top_n / low_n
    summary = (
        f"{len(counts)} classes over {len(train)} train rows; largest '{excerpt(top, 40)}' "
        f"{top_n}, smallest '{excerpt(low, 40)}' {low_n}"
    )
    refs = [{"source": first[k].source, "label": excerpt(k, 40), "count": n} for k, n in ranked]
    if len(counts) == 1:
        msg = f"every train output is '{excerpt(top, 40)}': there is nothing to learn"
        return [Finding("label_distribution", "warning", 1, msg, refs)]
    dist = Finding("label_distribution", "info", len(counts), summary, refs[:MAX_EXAMPLES])
    if ratio < IMBALANCE_RATIO:
        return [dist, none_found("class_imbalance", f"imbalance ≥ {IMBALANCE_RATIO:g}:1")]
    msg = f"largest class is {ratio:.1f}× the smallest; accuracy will favour the big classes"
    rare_first = [refs[-1], refs[0]]
    return [dist, Finding("class_imbalance", "warning", 1, msg, rare_first)]


def check_rare_classes(train: Sequence[Example], min_per_class: int) -> Finding:
    counts = Counter(label_of(ex) for ex in train)
    rare = sorted((n, k) for k, n in counts.items() if n < min_per_class)
    if not rare:
        return none_found("rare_classes", f"classes with fewer than {min_per_class} examples")
    first = _first_source(train)
    refs = [example_ref(first[k], label=excerpt(k, 40), count=n) for n, k in rare]
    msg = f"{plural(len(rare), 'class', 'classes')} with fewer than {min_per_class} train examples"
    return Finding("rare_classes", "warning", len(rare), msg, refs[:MAX_EXAMPLES])


def check_unseen_test_labels(train: Sequence[Example], test: Sequence[Example]) -> Finding:
    known = {label_of(ex) for ex in train}
    unseen = [ex for ex in test if label_of(ex) not in known]
    if not unseen:
        return none_found("unseen_test_labels", "test labels missing from train")
    kinds = len({label_of(ex) for ex in unseen})
    msg = (
        f"{plural(len(unseen), 'test row')} ({plural(kinds, 'label')}) whose label never "
        "appears in train: a fine-tuned model cannot learn them"
    )
    refs = [example_ref(ex, label=excerpt(label_of(ex), 40)) for ex in unseen]
    return Finding("unseen_test_labels", "warning", len(unseen), msg, refs[:MAX_EXAMPLES])


def out_of_fold_probs(texts: list[str], labels: np.ndarray, folds: int) -> np.ndarray:
    """TF-IDF + logistic regression, each row scored by a model that never saw it."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    features = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True).fit_transform(texts)
    # saga with a loose tolerance: ~5 s on banking77 where lbfgs takes minutes on 2 cores.
    model = LogisticRegression(C=10.0, solver="saga", tol=1e-3, max_iter=200, random_state=0)
    cv = StratifiedKFold(n_splits=folds, shuffle=True, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # convergence chatter; the ranking is what matters
        return cross_val_predict(model, features, labels, cv=cv, method="predict_proba")


def check_label_noise(train: Sequence[Example]) -> Finding:
    """Rows whose given label the out-of-fold model finds unlikely, ranked by cleanlab."""
    counts = Counter(label_of(ex) for ex in train)
    kept = [i for i, ex in enumerate(train) if counts[label_of(ex)] >= NOISE_MIN_CLASS]
    classes = sorted({label_of(train[i]) for i in kept})
    if len(kept) < NOISE_MIN_ROWS or len(classes) < 2:
        return Finding("label_noise", "info", 0, "skipped: too few examples per class")
    from cleanlab.filter import find_label_issues

    index = {c: k for k, c in enumerate(classes)}
    labels = np.array([index[label_of(train[i])] for i in kept])
    folds = min(NOISE_FOLDS, min(counts[c] for c in classes))
    probs = out_of_fold_probs([train[i].input for i in kept], labels, folds)
    ranked = find_label_issues(labels, probs, return_indices_ranked_by="self_confidence")
    if len(ranked) == 0:
        return none_found("label_noise", "likely label errors (cross-validated, cleanlab)")
    refs = [
        example_ref(
            train[kept[r]],
            label=excerpt(classes[labels[r]], 40),
            suggested=excerpt(classes[int(probs[r].argmax())], 40),
            confidence=round(float(probs[r, labels[r]]), 3),
        )
        for r in ranked[:MAX_EXAMPLES]
    ]
    accuracy = round(float((probs.argmax(axis=1) == labels).mean()), 3)
    kept_accuracy = _accuracy_without(train, kept, labels, set(ranked.tolist()))
    msg = (
        f"{plural(len(ranked), 'train row')} whose label looks wrong to a cross-validated "
        f"TF-IDF model (cleanlab; right on {kept_accuracy:.0%} of the rows it keeps); review"
        " the top ones"
    )
    if kept_accuracy < NOISE_TRUSTED_ACCURACY:
        msg += ": a model this often wrong flags many right labels too"
    data = {"oof_accuracy": accuracy, "kept_accuracy": kept_accuracy, "folds": folds}
    return Finding("label_noise", "warning", len(ranked), msg, refs, data)


def _accuracy_without(
    train: Sequence[Example], kept: list[int], labels: np.ndarray, flagged: set[int]
) -> float:
    """Cross-validated accuracy on the rows the detector does not flag: high when it reads
    the task well and the flags are the contradictions; low when the task is too hard for
    it and the flags are its own mistakes. (Accuracy on every row cannot tell the two apart:
    the wrong labels themselves pull it down.)"""
    rest = [k for k in range(len(kept)) if k not in flagged]
    counts = Counter(labels[k] for k in rest)
    rest = [k for k in rest if counts[labels[k]] >= 2]
    classes = sorted({int(labels[k]) for k in rest})
    if len(classes) < 2:
        return 0.0
    index = {c: i for i, c in enumerate(classes)}
    y = np.array([index[int(labels[k])] for k in rest])
    folds = min(NOISE_FOLDS, min(Counter(y.tolist()).values()))
    probs = out_of_fold_probs([train[kept[k]].input for k in rest], y, folds)
    return round(float((probs.argmax(axis=1) == y).mean()), 3)


def check_sufficiency(train: Sequence[Example], label_like: bool, min_per_class: int) -> Finding:
    """A plain statement of whether there is enough to fine-tune on."""
    n = len(train)
    if not label_like:
        if n < TOO_SMALL_ROWS:
            msg = f"only {n} train examples: too small to fine-tune on (aim for {TOO_SMALL_ROWS}+)"
            return Finding("data_sufficiency", "warning", n, msg)
        return Finding("data_sufficiency", "info", n, f"{n} train examples")
    per_class = Counter(label_of(ex) for ex in train).values()
    median = statistics.median(per_class)
    spread = f"{min(per_class)}–{max(per_class)}, median {median:g} per class"
    if n < TOO_SMALL_ROWS or median < min_per_class:
        msg = (
            f"{n} train examples ({spread}): too small to fine-tune on; "
            f"aim for {min_per_class}+ per class and {TOO_SMALL_ROWS}+ in all"
        )
        return Finding("data_sufficiency", "warning", n, msg)
    return Finding("data_sufficiency", "info", n, f"{n} train examples ({spread})")
