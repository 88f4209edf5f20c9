"""What a planned run will compute, counted before it runs: batches and tokens per strategy.

Only the tokenizer is needed: prompts are rendered and tokenised as the strategies will render
them, training samples are encoded and batched by the training loop's own code
(`finetune.data.bucketed_batches`), so counts are exact where the inputs are known ahead
(zero-shot, random few-shot, fine-tune data, probes, SliCK) and approximate where they depend
on the run (kNN and retrieved demonstrations: mean lengths; answer lengths: see `answer_steps`).
Every approximation is written into the workload's `assumptions`, which the plan prints.

This mirrors the run's control flow (strategies/finetuned.py's sweep, training and learning
curve; probes/session.py; eval/evaluate.py): when those change, `fine_tune` and `probes_work`
here must follow.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..contract import Strategy
from ..core.prompts import chat, few_shot
from ..core.types import Task

if TYPE_CHECKING:  # a type only: its module imports torch
    from ..strategies.finetuned import FineTuneStrategy

MIN_PREFIX_TOKENS = 16  # models/decode.py: a shorter shared prefix is not cached


@dataclass
class GenJob:
    """One call of LanguageModel.generate: prompts in length-sorted batches.

    `batches`: (rows, padded width of the prompt part after the shared prefix) per batch;
    `prefix`: shared prefix tokens computed once; `steps`: decode steps each batch runs;
    `single`: each prompt is its own call at batch 1 (single-request latency samples)."""

    label: str
    batches: list[tuple[int, int]]
    prefix: int
    steps: int
    single: bool = False
    scale: float = 1.0  # another model than the calibrated one: its cost relative to it
    cap_s: float | None = None  # a time budget the run keeps to (the prompt search's)

    @property
    def rows(self) -> int:
        return sum(r for r, _ in self.batches)

    @property
    def prompt_tokens(self) -> int:
        return sum(r * w for r, w in self.batches) + self.prefix

    @property
    def new_tokens(self) -> int:
        return self.rows * self.steps


@dataclass
class TrainJob:
    """One run of the training loop (`finetune.trainer.train`) for a fine-tune variant."""

    label: str
    method: str  # calibration key: the strategy's name
    batches: int
    padded_tokens: int  # token slots computed, padding included
    real_tokens: int
    dev_evals: int
    dev_padded_tokens: int  # per evaluation


@dataclass
class Workload:
    name: str
    kind: str
    train: list[TrainJob] = field(default_factory=list)
    gen: list[GenJob] = field(default_factory=list)
    embed_texts: int = 0  # texts embedded in batches (MiniLM)
    embed_calls: int = 0  # one-text embedding calls (a query per request)
    baseline_rows: int = 0  # rows the no-LLM baseline fits on (rule of thumb, not measured)
    assumptions: list[str] = field(default_factory=list)
    not_estimated: str | None = None  # why there is no estimate (a served model...)

    @property
    def train_tokens(self) -> int:
        return sum(j.real_tokens for j in self.train)

    @property
    def new_tokens(self) -> int:
        return sum(j.new_tokens for j in self.gen)


@dataclass
class Settings:
    """The run's knobs that decide the amount of work (run.py computes them from options)."""

    quick: bool = False
    seed: int = 0
    latency_samples: int = 20


class Tokens:
    """Render and count prompts the way LanguageModel does, with the tokenizer only."""

    def __init__(self, tokenizer: Any, name: str = "model"):
        from ..models.lm import LanguageModel

        self.lm = LanguageModel(name, None, tokenizer)  # type: ignore[arg-type]

    def prompt(self, messages: list[dict[str, str]]) -> list[int]:
        return self.lm.encode(self.lm.render(messages))

    def lengths(self, convos: Sequence[list[dict[str, str]]]) -> list[list[int]]:
        return [self.prompt(c) for c in convos]


# ---- generation ------------------------------------------------------------------------


def gen_job(
    label: str,
    prompts: Sequence[Sequence[int]],
    batch_size: int,
    steps: int,
    prefix: int | None = None,
) -> GenJob:
    """Batches as LanguageModel.generate forms them: a shared prefix of at least
    MIN_PREFIX_TOKENS is computed once, the rest sorted by length and batched."""
    from ..models.decode import common_prefix_len

    if prefix is None:
        prefix = 0
        if len(prompts) > 1:
            shared = min(common_prefix_len(prompts), min(len(p) for p in prompts) - 1)
            prefix = shared if shared >= MIN_PREFIX_TOKENS else 0
    suffixes = sorted(max(len(p) - prefix, 1) for p in prompts)
    batches = [
        (len(chunk), max(chunk))
        for chunk in (suffixes[i : i + batch_size] for i in range(0, len(suffixes), batch_size))
    ]
    return GenJob(label, batches, prefix, steps)


def lengths_job(
    label: str, lengths: Sequence[int], prefix: int, batch_size: int, steps: int
) -> GenJob:
    """A job from prompt lengths alone (prompts only known at run time: kNN, retrieval)."""
    suffixes = sorted(max(n - prefix, 1) for n in lengths)
    batches = [
        (len(chunk), max(chunk))
        for chunk in (suffixes[i : i + batch_size] for i in range(0, len(suffixes), batch_size))
    ]
    return GenJob(label, batches, prefix, steps)


def singles(label: str, job: GenJob, lengths: Sequence[int], steps: int) -> GenJob:
    """Single-request latency samples: batch 1 each, reusing the test pass's kept prefix,
    after one untimed warm-up request (eval/evaluate.py)."""
    warm = list(lengths[:1])
    batches = [(1, max(n - job.prefix, 1)) for n in warm + list(lengths)]
    return GenJob(label, batches, 0, steps, single=True)


def answer_steps(outputs: Sequence[list[int]], max_new_tokens: int) -> tuple[int, int]:
    """(decode steps of a batch, of a single request) for a model trained on `outputs`: it
    answers in their format, so a batch runs as long as the longest training answer (its
    stop token included) and a single request as the mean one, both capped by the budget."""
    if not outputs:
        return max_new_tokens, max_new_tokens
    longest = max(len(o) for o in outputs)
    mean = math.ceil(sum(len(o) for o in outputs) / len(outputs))
    return min(longest, max_new_tokens), min(mean, max_new_tokens)


# ---- strategies ------------------------------------------------------------------------


def prompting(
    name: str,
    kind: str,
    convos: list[list[dict[str, str]]],
    task: Task,
    tok: Tokens,
    s: Settings,
    demonstrated: bool = False,
) -> Workload:
    """A prompting strategy whose prompts are known ahead (zero-shot, random few-shot)."""
    gen = task.config.generation
    prompts = tok.lengths(convos)
    steps, single, note = prompt_steps(task, tok, demonstrated)
    job = gen_job("test set", prompts, gen.batch_size, steps)
    n_lat = min(s.latency_samples, len(prompts))
    lat = singles("latency", job, [len(p) for p in prompts[:n_lat]], single)
    return Workload(name, kind, gen=[job, lat], assumptions=[note])


UNTUNED_STEPS = "answers without demonstrations run to max_new_tokens (rarely shorter)"
DEMONSTRATED_STEPS = "answers after demonstrations are as long as the training answers"


def prompt_steps(task: Task, tok: Tokens, demonstrated: bool) -> tuple[int, int, str]:
    """(decode steps a batch, a single request, the assumption): an untuned model without
    demonstrations tends to talk on to the token budget; shown worked examples, it answers in
    their format, which the training answers' lengths tell."""
    budget = task.config.generation.max_new_tokens
    if not demonstrated or not task.train:
        return budget, budget, UNTUNED_STEPS
    answers = [tok.lm.encode(ex.output) + [0] for ex in task.train]  # + the stop token
    steps, single = answer_steps(answers, budget)
    return steps, single, DEMONSTRATED_STEPS


def demo_turn_tokens(task: Task, tok: Tokens, sample: int = 24) -> float:
    """Mean tokens one demonstration (user + assistant turn) adds to a prompt."""
    if not task.train or not task.test:
        return 0.0
    rows = random.Random(0).sample(list(task.train), min(sample, len(task.train)))
    probe = task.test[0]
    bare = len(tok.prompt(few_shot(task.instruction, [], probe)))
    added = [len(tok.prompt(few_shot(task.instruction, [ex], probe))) - bare for ex in rows]
    return sum(added) / len(added)


def system_prefix(task: Task, tok: Tokens) -> int:
    """Tokens every prompt of the task shares (the system turn): what the prefix cache keeps."""
    from ..models.decode import common_prefix_len

    prompts = [tok.prompt(chat(task.instruction, ex.input, ex.system)) for ex in task.test[:8]]
    if len(prompts) < 2:
        return 0
    shared = min(common_prefix_len(prompts), min(len(p) for p in prompts) - 1)
    return shared if shared >= MIN_PREFIX_TOKENS else 0


def knn_few_shot(name: str, kind: str, k: int, task: Task, tok: Tokens, s: Settings) -> Workload:
    """Demonstrations differ per request (nearest by embedding): mean lengths, one embedding
    of every training input, one query embedding per request."""
    gen = task.config.generation
    k = min(k, len(task.train))
    extra = k * demo_turn_tokens(task, tok)
    base = [len(tok.prompt(chat(task.instruction, ex.input, ex.system))) for ex in task.test]
    lengths = [round(n + extra) for n in base]
    prefix = system_prefix(task, tok)
    steps, single, note = prompt_steps(task, tok, k > 0)
    job = lengths_job("test set", lengths, prefix, gen.batch_size, steps)
    n_lat = min(s.latency_samples, len(lengths))
    lat = singles("latency", job, lengths[:n_lat], single)
    return Workload(
        name,
        kind,
        gen=[job, lat],
        embed_texts=len(task.train),
        embed_calls=len(task.test) + n_lat,
        assumptions=[
            note,
            f"each request's {k} nearest demonstrations as long as the mean training example",
        ],
    )


def retrieval(name: str, kind: str, options: Any, task: Task, tok: Tokens, s: Settings) -> Workload:
    """Retrieved chunks differ per request: top_k chunks of mean length per prompt."""
    from ..retrieval.index import chunk_documents

    gen = task.config.generation
    chunks = chunk_documents(task.docs, options.chunk_chars)
    chunk_tokens = sum(len(tok.lm.encode(f"[{c.source}]\n{c.text}\n\n")) for c in chunks) / max(
        len(chunks), 1
    )
    top = min(options.top_k, len(chunks))
    shots = min(options.examples, len(task.train))
    extra = top * chunk_tokens + shots * (demo_turn_tokens(task, tok) + top * chunk_tokens)
    base = [len(tok.prompt(chat(task.instruction, ex.input, ex.system))) for ex in task.test]
    lengths = [round(n + extra + 6) for n in base]  # + "Context:" / "Question:" labels
    prefix = system_prefix(task, tok)
    steps, single, note = prompt_steps(task, tok, shots > 0)
    job = lengths_job("test set", lengths, prefix, gen.batch_size, steps)
    n_lat = min(s.latency_samples, len(lengths))
    lat = singles("latency", job, lengths[:n_lat], single)
    per_request = 1 + shots * 2  # the question, then each worked example and its context
    return Workload(
        name,
        kind,
        gen=[job, lat],
        embed_texts=len(chunks) + (len(task.train) if shots else 0),
        embed_calls=(len(task.test) + n_lat) * per_request,
        assumptions=[note, f"{top} retrieved chunks of mean length per request"],
    )


def baseline(name: str, kind: str, task: Task) -> Workload:
    return Workload(
        name,
        kind,
        baseline_rows=len(task.train),
        assumptions=["the baseline's cost grows in proportion to its training rows"],
    )


def tools_or_pipeline(name: str, kind: str, task: Task, tok: Tokens, s: Settings) -> Workload:
    """One generation pass over the test set, zero-shot sized: a lower bound (every tool round
    or further LLM step is another pass, and tool schemas lengthen the prompt)."""
    convos = [chat(task.instruction, ex.input, ex.system) for ex in task.test]
    work = prompting(name, kind, convos, task, tok, s)
    work.assumptions.append(
        "one LLM pass per request (a lower bound: each tool round or pipeline LLM step adds one)"
    )
    return work


def candidate(
    strategy: Strategy, run_model_bytes: int, task: Task, tok: Tokens, s: Settings
) -> Workload:
    """Another model, zero-shot: the run model's prompts, its cost scaled by weight size."""
    convos = [chat(task.instruction, ex.input, ex.system) for ex in task.test]
    work = prompting(strategy.name, str(strategy.kind), convos, task, tok, s)
    size = sum(p.stat().st_size for p in strategy.folder.glob("*.safetensors"))
    scale = size / run_model_bytes if run_model_bytes else 1.0
    for job in work.gen:
        job.scale = scale
    work.assumptions.append(
        f"another model: not measured, cost scaled by its weight files ({scale:.2f}x the run"
        " model's)"
    )
    return work


# ---- fine-tunes ------------------------------------------------------------------------


@dataclass
class FineTuneWork:
    """A fine-tune's work; the learning curve's is separate because the run decides on it
    from the measured training time (`auto_budget_s`, None: it always runs)."""

    workload: Workload
    curve_train: list[TrainJob] = field(default_factory=list)
    curve_gen: list[GenJob] = field(default_factory=list)
    curve_fractions: float = 0.0  # sum of the fractions: the run's projection factor
    auto_budget_s: float | None = None
    calibration_batch: list[Any] = field(default_factory=list)  # samples to time a step on


def _batches(samples: Sequence[Any], batch_size: int, seed: int, epoch: int) -> list[list[int]]:
    from ..finetune.data import bucketed_batches

    return bucketed_batches(samples, batch_size, seed, epoch)


def _tokens(samples: Sequence[Any], batches: Sequence[Sequence[int]]) -> tuple[int, int]:
    """(padded token slots, real tokens) of these batches."""
    padded = sum(len(b) * max(len(samples[i].input_ids) for i in b) for b in batches)
    real = sum(len(samples[i].input_ids) for b in batches for i in b)
    return padded, real


def _dev_tokens(dev: Sequence[Any], batch_size: int) -> int:
    """Padded tokens of one dev-loss pass (finetune.trainer.dev_loss: sorted, batched)."""
    lengths = sorted(len(s.input_ids) for s in dev)
    chunks = (lengths[i : i + batch_size] for i in range(0, len(lengths), batch_size))
    return sum(len(c) * max(c) for c in chunks)


def _evals_per_epoch(batches: int, evals_per_epoch: int) -> int:
    """Dev evaluations in one epoch of `batches` batches (the loop's `due` rule)."""
    every = max(1, batches // max(evals_per_epoch, 1))
    return sum(1 for i in range(batches) if (i + 1) % every == 0 or i + 1 == batches)


def train_job(
    label: str, method: str, samples: Sequence[Any], dev: Sequence[Any], cfg: Any
) -> TrainJob:
    """The training loop's work for `cfg` (a finetune.trainer.TrainConfig) on `samples`:
    every epoch (early stopping not assumed), capped by cfg.max_steps."""
    per_epoch = math.ceil(len(samples) / cfg.batch_size)
    limit = per_epoch * cfg.epochs
    if cfg.max_steps:
        limit = min(limit, cfg.max_steps)
    padded = real = done = evals = 0
    for epoch in range(cfg.epochs):
        batches = _batches(samples, cfg.batch_size, cfg.seed, epoch)[: limit - done]
        p, r = _tokens(samples, batches)
        padded, real, done = padded + p, real + r, done + len(batches)
        capped = done >= limit
        run = len(batches)
        due = _evals_per_epoch(per_epoch, cfg.evals_per_epoch)
        if capped and run < per_epoch:  # cut mid-epoch: the evaluations before, plus one
            every = max(1, per_epoch // max(cfg.evals_per_epoch, 1))
            due = run // every + (0 if run % every == 0 else 1)
        evals += due if dev else 0
        if capped:
            break
    dev_tokens = _dev_tokens(dev, cfg.batch_size) if dev else 0
    return TrainJob(label, method, done, padded, real, evals, dev_tokens)


def fine_tune(strategy: FineTuneStrategy, task: Task, tok: Tokens, s: Settings) -> FineTuneWork:
    """Mirrors FineTuneStrategy.prepare: dev split, learning-rate sweep, training, learning
    curve; then the tuned model answers the test set and the latency samples."""
    from ..finetune import common

    opts, gen = strategy.options, task.config.generation
    train_ex, dev_ex = common.dev_split(task.train, opts.dev_fraction, s.seed)
    train_s = common.encode_examples(tok.lm, task, train_ex, opts.max_length)
    dev_s = common.encode_examples(tok.lm, task, dev_ex, opts.max_length)
    name = strategy.name
    work = Workload(name, str(strategy.kind))
    if not s.quick and opts.lr_sweep and dev_s:
        from ..finetune.sweep import rung_steps

        rates = len(opts.candidates()) + (0 if opts.lr_candidates else opts.sweep_extend)
        cfg = opts.train_config(s.seed, False, opts.learning_rate)  # the real run, paused
        cfg.max_steps = rung = rung_steps(opts, len(train_s))
        point = train_job("lr sweep", name, train_s, dev_s, cfg)
        # The winner resumes from its pause: its batches belong to its training below.
        work.train += [point] * (rates - 1)
        work.assumptions.append(
            f"learning-rate sweep: {rates} rates x {rung} batches, the winner's continued by"
            f" its training; a close call adds a second round ({2 * rung} more batches for"
            " the best two)"
            + (
                f"; the {opts.sweep_extend} beyond the grid's edge included (tried only when"
                " the best rate is at the edge)"
                if not opts.lr_candidates and opts.sweep_extend
                else ""
            )
        )
    cfg = opts.train_config(s.seed, s.quick, opts.learning_rate)
    work.train.append(train_job("training", name, train_s, dev_s, cfg))
    work.assumptions.append(f"all {cfg.epochs} epoch(s) run (early stopping may end sooner)")
    prompts = tok.lengths([chat(task.instruction, ex.input, ex.system) for ex in task.test])
    steps, single_steps = answer_steps([_completion(x) for x in train_s], gen.max_new_tokens)
    job = gen_job("test set", prompts, gen.batch_size, steps)
    n_lat = min(s.latency_samples, len(prompts))
    work.gen += [job, singles("latency", job, [len(p) for p in prompts[:n_lat]], single_steps)]
    work.assumptions.append(
        f"the tuned model answers like its training data: {steps} decode steps a batch"
    )
    ft = FineTuneWork(work, calibration_batch=typical_batch(train_s, cfg.batch_size, s.seed))
    return _with_curve(ft, strategy, train_s, dev_s, cfg, job, s)


def typical_batch(samples: Sequence[Any], batch_size: int, seed: int) -> list[Any]:
    """A full batch of the loop's own first epoch whose width is nearest the epoch's mean
    padded width: time per token measured on it holds for the epoch."""
    batches = _batches(samples, batch_size, seed, 0)
    if not batches:
        return []
    padded, _ = _tokens(samples, batches)
    mean = padded / len(samples)
    full = [b for b in batches if len(b) == max(len(x) for x in batches)]
    best = min(full, key=lambda b: abs(max(len(samples[i].input_ids) for i in b) - mean))
    return [samples[i] for i in best]


def _completion(sample: Any) -> list[int]:
    from ..finetune.data import IGNORE

    return [t for t in sample.labels if t != IGNORE]


def _with_curve(
    ft: FineTuneWork,
    strategy: FineTuneStrategy,
    train_s: Sequence[Any],
    dev_s: Sequence[Any],
    cfg: Any,
    test_job: GenJob,
    s: Settings,
) -> FineTuneWork:
    opts = strategy.options
    if s.quick or opts.learning_curve is False:
        return ft
    for fraction in opts.learning_curve_fractions:
        n = max(2, round(fraction * len(train_s)))
        label = f"curve {fraction:.0%}"
        ft.curve_train.append(train_job(label, strategy.name, train_s[:n], dev_s, cfg))
        ft.curve_gen.append(GenJob(label, list(test_job.batches), test_job.prefix, test_job.steps))
    ft.curve_fractions = sum(opts.learning_curve_fractions)
    ft.auto_budget_s = opts.learning_curve_budget_s if opts.learning_curve is None else None
    return ft


# ---- probes and SliCK --------------------------------------------------------------------


@dataclass
class ProbeWork:
    """The probe passes (base model once, each tuned model once) and SliCK."""

    base: GenJob | None = None
    tuned: GenJob | None = None
    slick: list[GenJob] = field(default_factory=list)
    assumptions: list[str] = field(default_factory=list)


def probes_work(task: Task, trains: Sequence[bool], tok: Tokens, s: Settings) -> ProbeWork:
    """probes/session.py's passes with its own item selection and SliCK prompts."""
    from ..probes.runner import PROBE_INSTRUCTION
    from ..probes.session import ProbeSession

    session = ProbeSession.for_plan(task, trains, s.quick, s.seed, 100)
    work = ProbeWork()
    if session is None:
        return work
    cfg = session.cfg
    if session.items:
        prompts = tok.lengths([chat(PROBE_INSTRUCTION, i.question) for i in session.items])
        work.base = gen_job("probes: base model", prompts, cfg.batch_size, cfg.max_new_tokens)
        work.tuned = gen_job("probes", prompts, cfg.batch_size, cfg.max_new_tokens)
        work.assumptions.append("probe answers run to the probes' max_new_tokens")
    if cfg.slick.enabled and task.train:
        from ..probes.datakind import data_kind
        from ..probes.session import skips_slick

        kind = data_kind(task.train)
        if skips_slick(task, kind):
            work.assumptions.append(
                f"SliCK skipped: the data teaches a format ({kind['reason']})"
            )
        else:
            work.slick = slick_jobs(session, task, tok, s)
            work.assumptions.append(
                "SliCK: every analysed example Unknown, so each is also sampled (an upper bound)"
            )
    return work


def slick_jobs(session: Any, task: Task, tok: Tokens, s: Settings) -> list[GenJob]:
    """ModelOracle's calls: one per exemplar set and decoding mode (probes/runner.py)."""
    from ..probes.runner import ModelOracle
    from ..probes.slick import Query

    settings, train, gen = session.slick_settings(), task.train, task.config.generation
    n = min(settings["max_examples"], len(train))
    analysed = sorted(random.Random(session.seed).sample(range(len(train)), n))
    oracle = ModelOracle(
        None, task.instruction, train, analysed, None, session.cfg.slick.shots, session.seed
    )
    prompts, samples = settings["prompts"], settings["samples"]
    queries = [Query(i, p) for i in range(n) for p in range(prompts)]
    queries += [Query(i, k % prompts, k) for i in range(n) for k in range(samples)]
    groups: dict[tuple[bool, tuple[int, ...]], list[Any]] = {}
    for q in queries:
        key = oracle.exemplar_ids(q.prompt, analysed[q.example])
        groups.setdefault((q.sample is None, key), []).append(q)
    return [
        gen_job(
            "SliCK",
            tok.lengths([oracle.messages(q) for q in group]),
            gen.batch_size,
            gen.max_new_tokens,
        )
        for group in groups.values()
    ]
