"""The one protocol every strategy implements, and the context a run hands it.

The bottom of the house: it imports only `core` and `progress`, so everything above
(strategies, finetune, eval, probes, estimate, run) can name `Strategy` and `RunContext`
without importing a strategy. Strategies import it through `strategies.base`, which
re-exports it. Two properties derive from the task on first use and import plain-Python
helpers then (`models.constrain`, `audit.labels`): known exceptions in tests/test_layers.py."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from .core.config import StrategyOptions
from .core.splits import DEV_FRACTION, dev_split
from .core.types import Example, Generation, Kind, Task, Traits
from .progress import NullProgress, Progress

Options = StrategyOptions


@dataclass
class RunContext:
    """What a strategy may use: the task, the base model and embedder (loaded lazily)."""

    task: Task
    seed: int = 0
    quick: bool = False
    work_dir: Path = Path(".")
    progress: Progress = field(default_factory=NullProgress)
    lm_loader: Callable[[], Any] | None = None
    embedder_loader: Callable[[], Any] | None = None
    backend_loader: Callable[[], Any] | None = None  # a served model (OpenAI-compatible)
    checkpoint_dir: Path | None = None  # where training checkpoints go (resume after a kill)
    # The task metric on one row, (predicted, expected) -> [0, 1]: what tuning on dev scores
    # with. Only ever applied to dev rows (`dev_split`), never to the test set.
    score_row: Callable[[str, str], float] | None = None
    # True while the run times single requests: answer as served (no diagnostic views).
    serving: bool = False
    # Seconds spent on diagnostic views (a label task's free generation): not what serving
    # costs, so the run takes them out of the measured evaluation time.
    view_seconds: float = 0.0
    dev_fraction: float = DEV_FRACTION
    split_seed: int | None = None  # the dev split's seed when it differs from `seed` (seeds.py)
    _lm: Any = None
    _embedder: Any = None
    _backend: Any = None

    @property
    def lm(self) -> Any:
        """The base LanguageModel. Strategies must not modify it (copy before training)."""
        if self._lm is None:
            if self.lm_loader is None:
                raise RuntimeError("this run has no language model")
            self._lm = self.lm_loader()
        return self._lm

    @property
    def loaded_lm(self) -> Any:
        """The base model if something loaded it already, else None (never loads it)."""
        return self._lm

    @property
    def chat_lm(self) -> Any:
        """What prompting strategies generate with: the served backend when the run has one,
        else the local model (fine-tuning always trains the local one)."""
        if self.backend_loader is None:
            return self.lm
        if self._backend is None:
            self._backend = self.backend_loader()
        return self._backend

    @property
    def embedder(self) -> Any:
        if self._embedder is None:
            if self.embedder_loader is None:
                raise RuntimeError("this run has no embedder")
            self._embedder = self.embedder_loader()
        return self._embedder

    @property
    def generation(self) -> Any:
        return self.task.config.generation

    @property
    def output_shape(self) -> Any:
        """The shape every answer should have (models.constrain.OutputShape), or None."""
        if not hasattr(self, "_output_shape"):
            from .models.constrain import detect_shape  # plain Python (test_layers: KNOWN)

            self._output_shape = detect_shape(self.task)
        return self._output_shape

    @property
    def output_constraint(self) -> Any:
        """The shape answers are decoded under: `output_shape`, unless task.yaml says
        `constrained: false` (to measure how many answers break it without)."""
        constrained = getattr(self.task.config, "constrained", True)
        return self.output_shape if constrained else None

    @property
    def labels(self) -> list[str] | None:
        """The label set when the task's outputs are labels (answers are ranked), else None."""
        if not hasattr(self, "_labels"):
            self._labels = label_set(self.task) if self.task.config is not None else None
        return self._labels

    def dev_split(self) -> tuple[list[Example], list[Example]]:
        """(train, dev): the one seeded split of the training rows that every strategy tunes
        on — the fine-tunes' sweep and early stopping, the prompts' search. The test set is
        never used to choose."""
        seed = self.seed if self.split_seed is None else self.split_seed
        return dev_split(self.task.train, self.dev_fraction, seed)


class Strategy(ABC):
    """The one contract every alternative implements. The run calls, in this order:

    1. `skip_reason(task)` while planning, before any work: does the strategy apply?
    2. `check(ctx)` for every planned strategy once the model is loaded, before any runs:
       input errors that need the model (e.g. a forced tool protocol it cannot render).
    3. `prepare(ctx)`: one-off work (indexing, training); returns details for results.json.
    4. `predict(test, ctx)` on the whole test set, then `measured()` for the counts gathered in
       that pass, then `predict([example], ctx)` a few times for single-request latency.
    5. `tuned_model()` (strategies that train): the trained model the probes ask questions.
    Results are cached before scoring (resume, `shouldtune rescore`); afterwards
    `score_details(details, score)` turns details that need the task metric into numbers —
    on a fresh, unprepared instance, so it may read `details` only.

    Traits (class attributes) tell cost, verdict, probes and report what the strategy is;
    nothing outside the strategy reads its `kind` to decide anything.
    """

    name: ClassVar[str]
    kind: ClassVar[str] = Kind.PROMPTING  # a label for people (core.types.Kind)
    Options: ClassVar[type[StrategyOptions]] = StrategyOptions
    trains: ClassVar[bool] = False  # a one-off training run (cost, break-even, probes)
    uses_llm: ClassVar[bool] = True  # runs a language model per request
    # Generates through `ctx.chat_lm`: the served backend when the run has one, so its
    # requests are hosted when that backend is another machine.
    uses_run_model: ClassVar[bool] = False

    def __init__(self, options: StrategyOptions):
        self.options = options

    def skip_reason(self, task: Task) -> str | None:
        """Why this strategy does not apply to the task, or None when it does."""
        return None

    def check(self, ctx: RunContext) -> None:  # noqa: B027 - optional hook, no-op by default
        """Raise core.errors.InputError for bad input that only the loaded model reveals."""

    @abstractmethod
    def prepare(self, ctx: RunContext) -> dict[str, Any]:
        """One-off work (training, indexing). Returns JSON-safe details for results.json."""

    @abstractmethod
    def predict(self, examples: Sequence[Example], ctx: RunContext) -> list[Generation]:
        """One answer per example, in order, batched as the strategy sees fit."""

    def measured(self) -> dict[str, Any]:
        """Counts gathered during the last `predict` (tool calls, step times): merged into
        details after the test-set pass."""
        return {}

    def cache_identity(self) -> dict[str, Any] | None:
        """What decides the result beyond name, class and options (a model folder's files):
        part of the resume cache key."""
        return None

    def tuned_model(self) -> Any:
        """The trained LanguageModel after `prepare` (strategies that train), else None."""
        return None

    def restore(self, ctx: RunContext) -> bool:
        """Ready to serve again from what an earlier, killed attempt of this run saved in
        `ctx.work_dir`, without redoing `prepare`'s work; False when it cannot (the run
        then calls `prepare` again). Used only to time the requests of a resumed strategy."""
        return False

    @classmethod
    def score_details(
        cls,
        details: dict[str, Any],
        score: Callable[[Sequence[str]], list[float]],
        scores: Sequence[float] = (),
        n_resamples: int = 2000,
        seed: int = 0,
    ) -> dict[str, Any]:
        """Details that need the task metric, computed at scoring time from cached details:
        `score(texts)` scores one answer per test row (test order) on the scored (clean) rows;
        `scores` are this strategy's own scores on those rows."""
        return details

    def traits(self, hosted_backend: bool = False) -> Traits:
        """This strategy's traits in a run; `hosted_backend`: the run's served model is on
        another machine."""
        return Traits(
            trains=self.trains,
            uses_llm=self.uses_llm,
            hosted=self.uses_run_model and hosted_backend,
        )


def label_set(task: Task) -> list[str] | None:
    """The task's labels when its training outputs are labels (the audit's test), else None."""
    from .audit.labels import is_label_like, label_of  # the audit's test (test_layers: KNOWN)

    eval_cfg = getattr(task.config, "eval", None)
    if eval_cfg is not None and not getattr(eval_cfg, "label_ranking", True):
        return None
    if not task.train or not is_label_like(task.train):
        return None
    return sorted({label_of(ex) for ex in task.train if label_of(ex)})
