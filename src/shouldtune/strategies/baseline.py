"""baseline: no LLM at all. TF-IDF + logistic regression for label-like tasks, otherwise the
answer of the most similar training input (TF-IDF cosine nearest neighbour).

Often the cheapest good answer; when it is not significantly worse than the best LLM
strategy, the verdict says you don't need an LLM for this.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
from pydantic import Field

from ..core.types import Example, Generation, Kind, Task
from .base import Options as BaseOptions
from .base import RunContext, Strategy

MAX_LABEL_CHARS = 64


class BaselineOptions(BaseOptions):
    mode: Literal["auto", "classifier", "nearest"] = "auto"
    C: float = Field(10.0, gt=0, description="inverse regularisation of the classifier")
    max_label_share: float = Field(
        0.5, gt=0, le=1, description="auto: label-like when distinct outputs <= this x train"
    )


def is_label_like(outputs: Sequence[str], max_share: float = 0.5) -> bool:
    """Short one-line outputs that repeat: a closed set of labels, not free text."""
    distinct = set(outputs)
    short = all(len(o) <= MAX_LABEL_CHARS and "\n" not in o.strip() for o in distinct)
    return short and 2 <= len(distinct) <= max_share * len(outputs)


def _features() -> Any:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.pipeline import FeatureUnion

    # Words catch the vocabulary, character n-grams catch typos and inflections.
    return FeatureUnion(
        [
            ("word", TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, lowercase=True)),
            (
                "char",
                TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True),
            ),
        ]
    )


class Baseline(Strategy):
    name = "baseline"
    kind = Kind.BASELINE
    Options = BaselineOptions
    uses_llm = False

    def __init__(self, options: BaselineOptions):
        super().__init__(options)
        self.options: BaselineOptions = options
        self.mode = options.mode
        self._model: Any = None
        self._vectors: Any = None
        self._outputs: list[str] = []

    def skip_reason(self, task: Task) -> str | None:
        if not task.train:
            return "no training examples to learn from"
        if self.options.mode == "classifier" and len({ex.output for ex in task.train}) < 2:
            return "classifier mode needs at least two distinct labels in train"
        return None

    def prepare(self, ctx: RunContext) -> dict[str, Any]:
        train = ctx.task.train
        outputs = [ex.output for ex in train]
        if self.mode == "auto":
            label_like = is_label_like(outputs, self.options.max_label_share)
            self.mode = "classifier" if label_like else "nearest"
        inputs = [ex.input for ex in train]
        if self.mode == "classifier":
            return self._fit_classifier(inputs, outputs, ctx.seed)
        self._model = _features().fit(inputs)
        self._vectors = self._model.transform(inputs)
        self._outputs = outputs
        return {"mode": "nearest", "features": "tf-idf words 1-2 + chars 2-5"}

    def _fit_classifier(self, inputs: list[str], outputs: list[str], seed: int) -> dict[str, Any]:
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import make_pipeline

        classifier = LogisticRegression(C=self.options.C, max_iter=2000, random_state=seed)
        self._model = make_pipeline(_features(), classifier).fit(inputs, outputs)
        return {
            "mode": "classifier",
            "classes": len(set(outputs)),
            "majority_share": round(Counter(outputs).most_common(1)[0][1] / len(outputs), 3),
            "features": "tf-idf words 1-2 + chars 2-5, logistic regression",
        }

    def predict(self, examples: Sequence[Example], ctx: RunContext) -> list[Generation]:
        inputs = [ex.input for ex in examples]
        if self.mode == "classifier":
            answers = [str(label) for label in self._model.predict(inputs)]
        else:
            answers = [self._outputs[i] for i in self._nearest(inputs)]
        ctx.progress.advance(len(examples))
        return [Generation(a, 0, 0) for a in answers]

    def _nearest(self, inputs: list[str], chunk: int = 256) -> list[int]:
        """Index of the most similar training input; chunked so memory stays small."""
        found: list[int] = []
        for start in range(0, len(inputs), chunk):
            query = self._model.transform(inputs[start : start + chunk])
            sims = (query @ self._vectors.T).toarray()
            # Ties go to the earliest training example: deterministic.
            found.extend(int(i) for i in np.argmax(sims, axis=1))
        return found
