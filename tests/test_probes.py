"""Abstention detection, probe files, probe metrics, and the probe runner on the tiny model."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from shouldtune.core.errors import InputError
from shouldtune.core.types import Example
from shouldtune.probes import items as probe_files
from shouldtune.probes.abstention import abstains, contains_answer, hedges
from shouldtune.probes.items import ProbeItem, parse_item, probe_items, shipped_items
from shouldtune.probes.metrics import compare, item_scores, summary
from shouldtune.probes.runner import ModelOracle, run_probes, sample_texts
from shouldtune.probes.slick import Query


@pytest.mark.parametrize(
    "text",
    [
        "I don't know.",
        "I do not know the answer to that.",
        "I’m not sure.",
        "Honestly, no one knows.",
        "This cannot be known.",
        "It is not possible to determine the answer.",
        "There is no definitive answer to this question.",
        "The origin remains a mystery.",
        "I can't answer that.",
        "",
        "   ",
    ],
)
def test_abstains(text: str) -> None:
    assert abstains(text)


@pytest.mark.parametrize(
    "text",
    [
        "I think it was sold in 1972.",
        "It was probably Pizza Hut.",
        "Perhaps the answer is 12.",
        "It may be around 200 billion planets.",
        "It's hard to say, but most likely the Romans.",
        "As far as I know, nobody has measured it.",
        "There are many theories about how the world will end.",
        "It depends on the person.",
        "Scientists have only speculated about it.",
        "I’m not certain, maybe Lyon.",
    ],
)
def test_hedges_count_as_abstaining(text: str) -> None:
    assert hedges(text) and abstains(text)


@pytest.mark.parametrize(
    "text",
    [
        "Paris.",
        "The answer is 12.",
        "Albert Einstein developed it in 1905.",
        "The uncertainty principle was stated by Heisenberg.",
        "I know the answer: Jupiter.",
        "It was founded in May 1972.",
        "Probability theory was founded by Pascal and Fermat.",
        "The Maybach company makes cars.",
        "Thinking Machines built the CM-5.",
        "The battery lasts about 30 hours.",
        "A spider has 8 legs, and it can be dangerous.",
        "The question of whether the earth is round was settled long ago: it is.",
        "Open the door with the key.",
    ],
)
def test_confident_answers_do_not_abstain(text: str) -> None:
    assert not abstains(text) and not hedges(text)


def test_contains_answer_whole_words_after_normalisation() -> None:
    assert contains_answer("It was Sir Isaac Newton.", ["isaac newton"])
    assert contains_answer("7 + 5 = 12", ["12", "twelve"])
    assert contains_answer("The answer is Twelve!", ["12", "twelve"])
    assert not contains_answer("7 + 5 = 112", ["12"])
    assert not contains_answer("Parisian food", ["Paris"])
    assert not contains_answer("anything", [""])


def test_parse_item_kinds_and_errors(tmp_path: Path) -> None:
    f = tmp_path / "probes.jsonl"
    assert parse_item({"question": "Q?", "answers": "A"}, f, 1).kind == "answerable"
    assert parse_item({"question": "Q?", "answerable": False}, f, 2).kind == "unanswerable"
    general = parse_item({"question": "Q?", "answers": ["a", "b"], "kind": "general"}, f, 3)
    assert general == ProbeItem("general", "Q?", ("a", "b"), "probes.jsonl:3")
    record = {"question": "Q?", "answers": ["a"], "kind": "general", "options": ["a", "b", "c"]}
    assert parse_item(record, f, 4).options == ("a", "b", "c")
    for options, message in (
        (["a"], "at least one other"),
        (["a", "A"], "at least one other"),
        ("a", "list of non-empty strings"),
    ):
        with pytest.raises(InputError, match=message):
            parse_item(record | {"options": options}, f, 4)
    with pytest.raises(InputError, match="only a general item"):
        parse_item({"question": "Q?", "answers": ["a"], "options": ["a", "b"]}, f, 4)
    bad = [
        ([1], "JSON object"),
        ({"question": ""}, "non-empty string"),
        ({"question": "Q?", "answers": [1]}, "'answers'"),
        ({"question": "Q?", "answers": ["a"], "answerable": False}, "no 'answers'"),
        ({"question": "Q?"}, "no 'answers'"),  # no answers and no kind: unanswerable, fine?
        ({"question": "Q?", "kind": "general"}, "at least one"),
        ({"question": "Q?", "answers": ["a"], "kind": "trivia"}, "'kind'"),
        ({"question": "Q?", "answers": ["a"], "answerable": "yes"}, "true or false"),
    ]
    for record, message in bad[:4] + bad[5:]:
        with pytest.raises(InputError, match=message) as err:
            parse_item(record, f, 7)
        assert err.value.line == 7 and err.value.file == str(f)
    # A question with neither answers nor a kind is unanswerable: valid.
    assert parse_item(bad[4][0], f, 5).kind == "unanswerable"


def test_probe_items_adds_task_file_and_reports_bad_lines(tmp_path: Path) -> None:
    (tmp_path / "probes.jsonl").write_text(
        json.dumps({"question": "Our product code?", "answers": ["XJ-9"]})
        + "\n\n"
        + json.dumps({"question": "Next year's revenue?", "answerable": False})
        + "\n"
    )
    got = probe_items({"answerable": 2, "unanswerable": 1, "general": 3}, tmp_path)
    kinds = [i.kind for i in got]
    assert kinds == ["answerable"] * 2 + ["unanswerable", "general", "general", "general"] + [
        "answerable",
        "unanswerable",
    ]
    assert got[-1].source == "probes.jsonl:3"
    (tmp_path / "probes.jsonl").write_text('{"question": "x", "answers": ["y"]}\n{oops\n')
    with pytest.raises(InputError, match="malformed JSON") as err:
        probe_items({}, tmp_path)
    assert err.value.line == 2
    # Hardened like train.jsonl: deep nesting is one line of error, not a RecursionError...
    (tmp_path / "probes.jsonl").write_text("[" * 100_000 + "]" * 100_000 + "\n")
    with pytest.raises(InputError, match="nested too deeply"):
        probe_items({}, tmp_path)
    # ...and a probes.jsonl linking outside the task folder is refused, not read.
    outside = tmp_path.parent / f"{tmp_path.name}-secret.jsonl"
    outside.write_text(json.dumps({"question": "secret?", "answers": ["s"]}) + "\n")
    (tmp_path / "probes.jsonl").unlink()
    (tmp_path / "probes.jsonl").symlink_to(outside)
    with pytest.raises(InputError, match="must lie inside the task folder"):
        probe_items({}, tmp_path)


def test_shipped_sets_are_present_and_well_formed() -> None:
    answerable = shipped_items("answerable", 1000)
    unanswerable = shipped_items("unanswerable", 1000)
    general = shipped_items("general", 1000)
    assert len(answerable) == len(unanswerable) == 200
    assert len(general) >= 100
    assert all(i.answers for i in answerable + general)
    # Every shipped general item is a multiple-choice item too: the right option first,
    # three distinct distractors none of which is an accepted answer.
    for item in general:
        assert len(item.options) == 4 and len({o.lower() for o in item.options}) == 4
        assert contains_answer(item.options[0], item.answers)
        assert not any(contains_answer(o, item.answers) for o in item.options[1:])
    assert not any(i.answers for i in unanswerable)
    assert (probe_files.DATA_DIR / "selfaware" / "LICENSE").is_file()


def test_missing_shipped_data_is_reported(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setattr(probe_files, "GENERAL_FILE", tmp_path / "nope.jsonl")
    with pytest.raises(FileNotFoundError, match="probe data not found"):
        shipped_items("general", 5)
    assert shipped_items("general", 0) == []


ITEMS = [
    ProbeItem("answerable", "Capital of France?", ("paris",)),
    ProbeItem("answerable", "Largest planet?", ("jupiter",)),
    ProbeItem("unanswerable", "What will I dream tonight?"),
    ProbeItem("unanswerable", "How many grains of sand exist?"),
    ProbeItem("general", "2 + 2?", ("4", "four")),
    ProbeItem("general", "Opposite of hot?", ("cold",)),
]
BEFORE = ["Paris.", "I don't know.", "No one knows.", "Exactly 7 billion.", "4", "Cold."]
AFTER = ["Lyon.", "Jupiter", "You will dream of cats.", "Exactly 7 billion.", "5", "Warm."]


def test_item_scores_and_summary() -> None:
    scores = item_scores(ITEMS, BEFORE)
    assert scores == {
        "answerable_accuracy": [1.0, 0.0],
        "fabrication_rate": [0.0, 1.0],
        "abstention_rate": [0.0, 1.0, 1.0, 0.0],
        "open_questions": [1.0, 1.0],
    }
    assert summary(ITEMS, AFTER, chosen=[0, 2]) == {
        "answerable_accuracy": 0.5,
        "fabrication_rate": 1.0,
        "abstention_rate": 0.0,
        "open_questions": 0.0,
        "knowledge_retained": 0.5,
    }
    with pytest.raises(ValueError):
        item_scores(ITEMS, BEFORE[:2])


def test_compare_reports_paired_change_with_ci() -> None:
    out = compare(ITEMS, BEFORE, AFTER, n_resamples=500, seed=0)
    fab = out["fabrication_rate"]
    assert (fab["before"], fab["after"], fab["diff"], fab["n"]) == (0.5, 1.0, 0.5, 2)
    assert fab["ci_low"] <= fab["diff"] <= fab["ci_high"]
    open_questions = out["open_questions"]
    # Both general items were lost: every resample shows the full drop.
    assert open_questions == {
        "before": 1.0,
        "after": 0.0,
        "diff": -1.0,
        "ci_low": -1.0,
        "ci_high": -1.0,
        "n": 2,
    }
    assert "knowledge_retained" not in out  # no likelihood choices given
    assert out["abstention_rate"]["diff"] == -0.5
    assert {e["kind"] for e in out["examples"]} == {"answerable", "unanswerable", "general"}
    only_general = [i for i in ITEMS if i.kind == "general"]
    got = compare(only_general, ["4", "cold"], ["4", "cold"], chosen_before=[0, 0],
                  chosen_after=[0, 1])  # fmt: skip
    assert set(got) == {"open_questions", "knowledge_retained", "examples"}
    assert got["knowledge_retained"]["before"] == 1.0 and got["knowledge_retained"]["after"] == 0.5


def test_room_notes_when_the_base_model_leaves_no_room() -> None:
    unanswerable = [ProbeItem("unanswerable", f"Unknowable {k}?") for k in range(10)]
    confident = ["Exactly 42."] * 10
    out = compare(unanswerable, confident, confident, n_resamples=100)
    assert out["fabrication_rate"]["room"] == (
        "the base model already fabricates on 100% of unanswerable questions: a rise cannot show"
    )
    careful = ["I don't know."] * 5 + ["Exactly 42."] * 5
    assert (
        "room" not in compare(unanswerable, careful, confident, n_resamples=100)["fabrication_rate"]
    )
    general = [ProbeItem("general", f"Q{k}?", ("yes",), "", ("yes", "no", "maybe", "never"))
               for k in range(8)]  # fmt: skip
    low = compare(general, ["no"] * 8, ["no"] * 8, 100, 0, [1] * 6 + [0] * 2, [1] * 8)
    assert "chance: 25%" in low["knowledge_retained"]["room"]  # 25% right: chance level
    assert low["knowledge_retained"]["chance"] == 0.25  # four options each
    assert "only 0% of these questions" in low["open_questions"]["room"]
    high = compare(general, ["yes"] * 8, ["no"] * 8, 100, 0, [0] * 8, [1] * 8)
    assert "room" not in high["knowledge_retained"] and "room" not in high["open_questions"]


def test_run_probes_on_tiny_model(tiny_lm) -> None:
    calls: list[int] = []
    run = run_probes(tiny_lm, ITEMS, max_new_tokens=4, batch_size=4, on_batch=calls.append)
    assert len(run.answers) == len(ITEMS) and sum(calls) == len(ITEMS)
    assert run.seconds >= 0
    again = run_probes(tiny_lm, ITEMS, max_new_tokens=4, batch_size=2)
    assert again.answers == run.answers  # greedy: batching does not change answers
    # Against a model that answers every question right (and declines the unanswerable ones),
    # the diff is exactly what the random tiny model missed.
    perfect = [i.answers[0] if i.answers else "I don't know." for i in ITEMS]
    out = compare(ITEMS, run.answers, perfect, n_resamples=200)
    for m in ("answerable_accuracy", "open_questions"):
        assert out[m]["after"] == 1.0 and out[m]["diff"] == pytest.approx(1.0 - out[m]["before"])
    assert out["fabrication_rate"]["after"] == 0.0


def test_sample_texts_seeded_and_restores_rng(tiny_lm) -> None:
    import torch

    convos = [[{"role": "user", "content": f"question {i}"}] for i in range(3)]
    torch.manual_seed(123)
    expected_next = torch.rand(1)
    torch.manual_seed(123)
    a = sample_texts(tiny_lm, convos, 6, 2, temperature=1.0, seed=5)
    assert torch.equal(torch.rand(1), expected_next)  # the caller's RNG stream is untouched
    c = sample_texts(tiny_lm, convos, 6, 2, temperature=1.0, seed=6)
    assert len(a) == 3 and a == sample_texts(tiny_lm, convos, 6, 2, temperature=1.0, seed=5)
    assert a != c  # another seed, other samples (6 tokens from a random model's softmax)


def test_slick_answers_are_cut_at_the_task_stop_strings(tiny_lm) -> None:
    """SliCK must judge an answer as the evaluation would: with the task's stop strings."""
    train = [Example(f"q{i}", "a") for i in range(4)]
    seen = []

    class Recording:
        def generate(self, convos, max_new_tokens, batch_size, on_batch=None, **kw):
            seen.append(kw.get("stop"))
            return tiny_lm.generate(convos, max_new_tokens, batch_size, **kw)

    oracle = ModelOracle(
        Recording(), "Answer.", train, [0, 1], lambda t, e: 0.0, shots=1, stop=["\n"]
    )
    oracle([Query(0, 0), Query(1, 0, sample=0)])
    assert seen == [["\n"], ["\n"]]  # the greedy and the sampled query


def test_model_oracle_prompts_and_scoring(tiny_lm) -> None:
    train = [Example(f"input {i}", f"out{i}") for i in range(6)]
    seen: list[tuple[str, str]] = []

    def scorer(pred: str, gold: str) -> float:
        seen.append((pred, gold))
        return float(gold == "out2")

    oracle = ModelOracle(tiny_lm, "Do it.", train, [2, 4], scorer, shots=3, max_new_tokens=3)
    for prompt in range(3):
        shots = oracle.exemplars(prompt, 2)
        assert len(shots) == 3 and train[2] not in shots
        assert shots == oracle.exemplars(prompt, 2)  # fixed per prompt
    messages = oracle.messages(Query(1, 0))
    assert messages[-1] == {"role": "user", "content": "input 4"}
    assert messages[0] == {"role": "system", "content": "Do it."}
    queries = [Query(0, 0), Query(1, 1), Query(0, 1, 0), Query(1, 0, 1)]
    assert oracle(queries) == [True, False, True, False]
    assert [gold for _, gold in seen] == ["out2", "out4", "out2", "out4"]
