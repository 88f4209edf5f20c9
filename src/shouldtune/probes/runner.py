"""The model calls: probe questions through a LanguageModel, and SliCK's few-shot answers."""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from ..core.prompts import Messages, chat, few_shot
from ..core.types import Example
from .items import ProbeItem
from .slick import Query

# One fixed, neutral instruction for every model probed: the task's own instruction would
# make the probe measure the task, and the same prompt before and after keeps the pair fair.
PROBE_INSTRUCTION = (
    'Answer the question in a few words. If the question has no known answer, say "I don\'t know".'
)
CORRECT_AT = 0.5  # a SliCK answer is right when the task's metric scores it at least this


@dataclass
class ProbeRun:
    answers: list[str]
    seconds: float


def answer_questions(
    lm: Any,
    questions: Sequence[str],
    max_new_tokens: int = 24,
    batch_size: int = 16,
    on_batch: Callable[[int], None] | None = None,
) -> list[str]:
    """Greedy answers to bare questions under the probe instruction."""
    convos = [chat(PROBE_INSTRUCTION, q) for q in questions]
    gens = lm.generate(convos, max_new_tokens, batch_size, on_batch=on_batch)
    return [g.text for g in gens]


def run_probes(
    lm: Any,
    items: Sequence[ProbeItem],
    max_new_tokens: int = 24,
    batch_size: int = 16,
    on_batch: Callable[[int], None] | None = None,
) -> ProbeRun:
    t0 = time.perf_counter()
    questions = [i.question for i in items]
    answers = answer_questions(lm, questions, max_new_tokens, batch_size, on_batch)
    return ProbeRun(answers, round(time.perf_counter() - t0, 2))


def sample_texts(
    lm: Any,
    conversations: Sequence[Messages],
    max_new_tokens: int,
    batch_size: int,
    temperature: float,
    seed: int,
    stop: Sequence[str] = (),
) -> list[str]:
    """Temperature samples (no top-k/top-p cut) through LanguageModel.generate. A private
    generator: the global torch RNG, which training and adapter initialisation use, is never
    touched."""
    import torch

    gen = torch.Generator().manual_seed(seed)

    def pick(logits: torch.Tensor) -> torch.Tensor:
        probs = torch.softmax(logits.float() / temperature, dim=-1)
        return torch.multinomial(probs, 1, generator=gen).squeeze(-1)

    outs = lm.generate(conversations, max_new_tokens, batch_size, stop=stop, pick=pick)
    return [g.text for g in outs]


@dataclass
class ModelOracle:
    """SliCK's oracle on a real model: is the answer to a few-shot prompt right?

    Prompt p shows the same `shots` training examples (seeded by p) before every question,
    never the question's own example; correctness is the task's own metric.
    """

    lm: Any
    instruction: str
    train: Sequence[Example]
    analysed: Sequence[int]  # indices into train; Query.example indexes this list
    scorer: Callable[[str, str], float]
    shots: int = 4
    seed: int = 0
    max_new_tokens: int = 24
    batch_size: int = 8
    temperature: float = 0.5
    on_batch: Callable[[int], None] | None = None
    stop: Sequence[str] = ()  # the task's stop strings: answers are cut as in evaluation

    def exemplar_ids(self, prompt: int, example_index: int) -> tuple[int, ...]:
        rng = random.Random(self.seed * 7919 + prompt)
        pool = rng.sample(range(len(self.train)), min(self.shots + 1, len(self.train)))
        return tuple(k for k in pool if k != example_index)[: self.shots]

    def exemplars(self, prompt: int, example_index: int) -> list[Example]:
        return [self.train[k] for k in self.exemplar_ids(prompt, example_index)]

    def messages(self, query: Query) -> Messages:
        index = self.analysed[query.example]
        shots = self.exemplars(query.prompt, index)
        return few_shot(self.instruction, shots, self.train[index])

    def texts(self, queries: Sequence[Query]) -> list[str]:
        """The answer text per query (SliCK's `Answerer`): no scoring here."""
        texts: dict[Query, str] = {}
        # One call per exemplar set and decoding mode: every prompt in a call shares the
        # few-shot prefix, whose KV cache is then computed once.
        groups: dict[tuple[bool, tuple[int, ...]], list[Query]] = {}
        for q in queries:
            key = self.exemplar_ids(q.prompt, self.analysed[q.example])
            groups.setdefault((q.sample is None, key), []).append(q)
        for (is_greedy, _), group in groups.items():
            texts.update(zip(group, self._answer(group, is_greedy), strict=True))
        return [texts[q] for q in queries]

    def __call__(self, queries: Sequence[Query]) -> list[bool]:
        """Correctness per query under the task's metric (SliCK's `Oracle`)."""
        return [self._right(q, t) for q, t in zip(queries, self.texts(queries), strict=True)]

    def _answer(self, group: list[Query], is_greedy: bool) -> list[str]:
        convos = [self.messages(q) for q in group]
        if not is_greedy:
            # Seeded per group, so a sample does not depend on which other queries came along.
            seed = self.seed * 1_000_003 + group[0].prompt * 101 + (group[0].sample or 0)
            return sample_texts(
                self.lm,
                convos,
                self.max_new_tokens,
                self.batch_size,
                self.temperature,
                seed,
                self.stop,
            )
        gens = self.lm.generate(
            convos, self.max_new_tokens, self.batch_size, on_batch=self.on_batch, stop=self.stop
        )
        return [g.text for g in gens]

    def _right(self, query: Query, text: str) -> bool:
        expected = self.train[self.analysed[query.example]].output
        return self.scorer(text, expected) >= CORRECT_AT
