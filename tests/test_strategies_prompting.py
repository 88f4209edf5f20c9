"""Prompting and retrieval strategies with the tiny random model and the hashing embedder."""

from __future__ import annotations

import dataclasses

import pytest

from shouldtune import strategies
from shouldtune.core.errors import InputError
from shouldtune.core.taskio import load_task
from shouldtune.core.types import Example, Generation
from shouldtune.strategies.base import RunContext

TRAIN = [
    {"input": "What is the capital of France?", "output": "Paris"},
    {"input": "How many legs does a spider have?", "output": "8"},
    {"input": "Translate hello to Spanish.", "output": "hola"},
    {"input": "What colour is the sky on a clear day?", "output": "blue"},
    {"input": "Name the largest planet in the solar system.", "output": "Jupiter"},
    {"input": "Which metal is liquid at room temperature?", "output": "mercury"},
    {"input": "What is twelve divided by four?", "output": "3"},
    {"input": "Who wrote Romeo and Juliet?", "output": "Shakespeare"},
]
TEST = [
    {"input": "What is the capital of Peru?", "output": "Lima"},
    {"input": "How many days are in a week?", "output": "7"},
    {"input": "Translate cat to French.", "output": "chat"},
]
INSTRUCTION = "Answer with one word."
GEN = {"max_new_tokens": 4, "batch_size": 2}

DOCS = {
    "animals.md": (
        "Cats sleep for most of the day and hunt at night.\n\n"
        "Dogs were domesticated thousands of years ago and help people herd sheep.\n\n"
        "Owls can turn their heads almost all the way around."
    ),
    "space.txt": (
        "Jupiter is the largest planet and has dozens of moons.\n\n"
        "The zorblax engine was tested on the moon base in 2031 and reached orbit.\n\n"
        "Mars has the tallest volcano in the solar system, Olympus Mons."
    ),
    "cooking.md": "Bread rises because yeast produces gas.\n\nSalt slows the yeast down.",
}


class CountingProgress:
    def __init__(self) -> None:
        self.advanced = 0

    def stage(self, strategy, stage, total=None) -> None:
        pass

    def advance(self, n: int = 1) -> None:
        self.advanced += n

    def log(self, message) -> None:
        pass


@pytest.fixture
def task(make_task_dir):
    root = make_task_dir(
        TRAIN, test=TEST, config={"instruction": INSTRUCTION, "generation": GEN}, docs=DOCS
    )
    return load_task(root)


def make_ctx(task, tiny_lm, fake_embedder, seed: int = 0) -> RunContext:
    return RunContext(
        task=task,
        seed=seed,
        progress=CountingProgress(),
        lm_loader=lambda: tiny_lm,
        embedder_loader=lambda: fake_embedder,
    )


def pairs(messages) -> list[tuple[str, str]]:
    """The (user, assistant) demonstration pairs before the final user turn."""
    body = [m for m in messages if m["role"] != "system"][:-1]
    assert [m["role"] for m in body] == ["user", "assistant"] * (len(body) // 2)
    return [(body[i]["content"], body[i + 1]["content"]) for i in range(0, len(body), 2)]


@pytest.mark.parametrize(
    "name, options",
    [("zero_shot", {}), ("few_shot", {"k": 2}), ("few_shot_knn", {"k": 2}), ("rag", {})],
)
def test_one_generation_per_test_example(task, tiny_lm, fake_embedder, name, options):
    strategy = strategies.create(name, options)
    ctx = make_ctx(task, tiny_lm, fake_embedder)
    assert strategy.skip_reason(task) is None
    strategy.prepare(ctx)
    gens = strategy.predict(task.test, ctx)
    assert len(gens) == len(task.test)
    assert all(isinstance(g, Generation) for g in gens)
    assert all(g.prompt_tokens > 0 and 1 <= g.new_tokens <= GEN["max_new_tokens"] for g in gens)
    assert ctx.progress.advanced == len(task.test)
    # Results line up with the examples: each matches a generation of that prompt alone.
    alone = tiny_lm.generate(
        [strategy.messages(task.test[2], ctx)], GEN["max_new_tokens"], batch_size=1
    )
    assert gens[2] == alone[0]


def test_zero_shot_messages(task, tiny_lm, fake_embedder):
    strategy = strategies.create("zero_shot")
    ctx = make_ctx(task, tiny_lm, fake_embedder)
    assert strategy.kind == "prompting"
    assert strategy.messages(task.test[0], ctx) == [
        {"role": "system", "content": INSTRUCTION},
        {"role": "user", "content": "What is the capital of Peru?"},
    ]


def test_few_shot_k2_puts_exactly_two_demonstrations(task, tiny_lm, fake_embedder):
    strategy = strategies.create("few_shot", {"k": 2})
    ctx = make_ctx(task, tiny_lm, fake_embedder)
    details = strategy.prepare(ctx)
    assert (details["k"], details["selection"], details["instruction"]) == (2, "random", "task")
    assert details["search"]["note"] == "no metric to score dev rows with"
    msgs = strategy.messages(task.test[0], ctx)
    assert msgs[0] == {"role": "system", "content": INSTRUCTION}
    assert msgs[-1] == {"role": "user", "content": TEST[0]["input"]}
    shots = pairs(msgs)
    assert len(shots) == 2
    assert len(msgs) == 1 + 4 + 1
    train_pairs = {(ex["input"], ex["output"]) for ex in TRAIN}
    assert set(shots) <= train_pairs
    assert shots[0] != shots[1]
    # One fixed set for every request.
    assert pairs(strategy.messages(task.test[1], ctx)) == shots


def _random_shots(task, tiny_lm, fake_embedder, seed: int) -> list[tuple[str, str]]:
    strategy = strategies.create("few_shot", {"k": 2})
    ctx = make_ctx(task, tiny_lm, fake_embedder, seed=seed)
    strategy.prepare(ctx)
    return pairs(strategy.messages(task.test[0], ctx))


def test_few_shot_is_seeded(task, tiny_lm, fake_embedder):
    assert _random_shots(task, tiny_lm, fake_embedder, 0) == _random_shots(
        task, tiny_lm, fake_embedder, 0
    )
    by_seed = {tuple(_random_shots(task, tiny_lm, fake_embedder, s)) for s in range(6)}
    assert len(by_seed) > 1


def test_few_shot_k_larger_than_train_uses_all(task, tiny_lm, fake_embedder):
    strategy = strategies.create("few_shot", {"k": 50})
    ctx = make_ctx(task, tiny_lm, fake_embedder)
    assert strategy.prepare(ctx)["k"] == len(TRAIN)
    assert len(pairs(strategy.messages(task.test[0], ctx))) == len(TRAIN)


def test_few_shot_skips_without_train_examples(task):
    empty = dataclasses.replace(task, train=[])
    assert strategies.create("few_shot").skip_reason(empty)


def test_knn_picks_the_nearest_training_example(make_task_dir, tiny_lm, fake_embedder):
    planted = {"input": "Which river flows through the city of Cairo in Egypt?", "output": "Nile"}
    root = make_task_dir(
        TRAIN[:4] + [planted] + TRAIN[4:],
        test=[{"input": "Which river flows through Cairo, Egypt?", "output": "Nile"}] + TEST,
        config={"instruction": INSTRUCTION, "generation": GEN},
    )
    task = load_task(root)
    strategy = strategies.create("few_shot_knn", {"k": 3})
    ctx = make_ctx(task, tiny_lm, fake_embedder)
    details = strategy.prepare(ctx)
    assert (details["k"], details["selection"]) == (3, "nearest")
    shots = pairs(strategy.messages(task.test[0], ctx))
    assert len(shots) == 3
    assert shots[-1] == (planted["input"], planted["output"])  # most similar last
    # A different question gets different neighbours: the spider question for 'legs'.
    legs = pairs(strategy.messages(Example("How many legs?", ""), ctx))
    assert legs[-1] == (TRAIN[1]["input"], TRAIN[1]["output"])


def test_rag_messages_contain_the_chunk_with_the_keyword(task, tiny_lm, fake_embedder):
    strategy = strategies.create("rag", {"top_k": 2, "chunk_chars": 120})
    ctx = make_ctx(task, tiny_lm, fake_embedder)
    assert strategy.kind == "retrieval"
    details = strategy.prepare(ctx)
    assert details["documents"] == 3
    assert details["chunks"] > 3  # paragraphs were split into several chunks
    question = Example("When was the zorblax engine tested?", "2031")
    msgs = strategy.messages(question, ctx)
    assert msgs[0] == {"role": "system", "content": INSTRUCTION}
    user = msgs[-1]["content"]
    assert "[space.txt]\nThe zorblax engine was tested on the moon base in 2031" in user
    assert user.startswith("Context:\n")
    assert user.endswith("Question: When was the zorblax engine tested?")
    assert user.count("[") == 2  # top_k chunks


def test_rag_skips_without_docs(make_task_dir):
    task = load_task(make_task_dir(TRAIN, test=TEST))
    assert "docs" in strategies.create("rag").skip_reason(task)


def test_registry_unknown_name_lists_valid_names():
    with pytest.raises(InputError) as info:
        strategies.create("nope")
    message = str(info.value)
    assert "'nope'" in message
    for name in ("zero_shot", "few_shot", "few_shot_knn", "rag"):
        assert name in message
    assert set(strategies.names()) >= {"zero_shot", "few_shot", "few_shot_knn", "rag"}


@pytest.mark.parametrize(
    "name, options, fragments",
    [
        ("few_shot", {"k": 0}, ["options.few_shot", "'k'", "got 0"]),
        ("few_shot", {"kk": 2}, ["options.few_shot", "'kk'", "unknown key"]),
        ("few_shot", {"selection": "best"}, ["options.few_shot", "'selection'"]),
        ("few_shot_knn", {"k": 100}, ["options.few_shot_knn", "'k'"]),
        ("rag", {"top_k": 0}, ["options.rag", "'top_k'"]),
        ("zero_shot", {"k": 1}, ["options.zero_shot", "unknown key"]),
    ],
)
def test_bad_options_name_the_strategy(name, options, fragments):
    with pytest.raises(InputError) as info:
        strategies.create(name, options)
    assert info.value.file == "task.yaml"
    for fragment in fragments:
        assert fragment in str(info.value)


def test_knn_variant_forces_knn_selection():
    assert strategies.create("few_shot_knn", {"k": 2}).options.selection == "knn"
    assert strategies.create("few_shot", {"k": 2}).options.selection == "random"


def test_rag_records_its_context_so_scoring_can_tell_retrieval_from_reading(
    make_task_dir, tiny_lm, fake_embedder
):
    from shouldtune.core.scoring import retrieval_diagnosis

    test = [{"input": "When was the zorblax engine tested?", "output": "2031"},
            {"input": "What do owls turn?", "output": "heads"},
            {"input": "What sleeps most of the day?", "output": "unicorns"}]  # fmt: skip
    task = load_task(make_task_dir(TRAIN, test=test, config={"generation": GEN}, docs=DOCS))
    strategy = strategies.create("rag", {"top_k": 1, "chunk_chars": 120})
    ctx = make_ctx(task, tiny_lm, fake_embedder)
    strategy.prepare(ctx)
    gens = strategy.predict(task.test, ctx)
    contexts = [g.meta["context"] for g in gens]
    assert "2031" in contexts[0] and "heads" in contexts[1] and "unicorns" not in contexts[2]
    diag = retrieval_diagnosis(contexts, [t["output"] for t in test], [0.0, 1.0, 0.0], [0, 1, 2])
    assert diag["answer_in_context"] == round(2 / 3, 4)
    assert diag["score_when_in_context"] == 0.5 and diag["score_when_not_in_context"] == 0.0


def test_rag_worked_examples_are_the_nearest_training_rows_with_their_own_context(
    task, tiny_lm, fake_embedder
):
    strategy = strategies.create("rag", {"top_k": 1, "chunk_chars": 120, "examples": 2})
    ctx = make_ctx(task, tiny_lm, fake_embedder)
    assert strategy.prepare(ctx)["examples"] == 2
    question = Example("What is the capital of Chile?", "Santiago")
    shots = pairs(strategy.messages(question, ctx))
    assert len(shots) == 2
    # The nearest training question comes last, right before the real one, with its answer.
    assert shots[-1][0].endswith("Question: What is the capital of France?")
    assert shots[-1][0].startswith("Context:\n[") and shots[-1][1] == "Paris"
    none = strategies.create("rag", {"top_k": 1})
    none.prepare(ctx)
    assert pairs(none.messages(question, ctx)) == []
