"""Task folders: the three JSONL formats, the seeded split, docs/, and every bad-input error."""

from __future__ import annotations

import json

import pytest

from shouldtune.core.errors import InputError
from shouldtune.core.taskio import load_task, split_train_test
from shouldtune.core.types import Example

IO_ROWS = [{"input": f"question {i}", "output": f"answer {i}"} for i in range(10)]


def _error(task_dir) -> InputError:
    with pytest.raises(InputError) as info:
        load_task(task_dir)
    return info.value


# --- formats ---------------------------------------------------------------------------------


def test_input_output_format(make_task_dir):
    root = make_task_dir(IO_ROWS[:3], test=IO_ROWS[3:5], config={"instruction": "Answer."})
    task = load_task(root)
    assert task.name == "task"
    assert task.instruction == "Answer."
    assert task.metric == "exact_match"
    assert task.train == [
        Example("question 0", "answer 0", None, "train.jsonl:1"),
        Example("question 1", "answer 1", None, "train.jsonl:2"),
        Example("question 2", "answer 2", None, "train.jsonl:3"),
    ]
    assert [ex.source for ex in task.test] == ["test.jsonl:1", "test.jsonl:2"]
    assert [ex.output for ex in task.test] == ["answer 3", "answer 4"]
    assert task.test_is_split is False
    assert task.docs == []


def test_prompt_completion_format(make_task_dir):
    rows = [{"prompt": "2+2=", "completion": "4"}, {"prompt": "3+3=", "completion": "6"}]
    task = load_task(make_task_dir(rows, test=rows[:1]))
    assert [(ex.input, ex.output, ex.system) for ex in task.train] == [
        ("2+2=", "4", None),
        ("3+3=", "6", None),
    ]


def test_chat_format_with_and_without_system(make_task_dir):
    rows = [
        {
            "messages": [
                {"role": "system", "content": "You translate."},
                {"role": "user", "content": "hello"},
                {"role": "assistant", "content": "bonjour"},
            ]
        },
        {"messages": [{"role": "user", "content": "cat"}, {"role": "assistant", "content": "ok"}]},
    ]
    task = load_task(make_task_dir(rows, test=rows))
    assert task.train[0] == Example("hello", "bonjour", "You translate.", "train.jsonl:1")
    assert task.train[1] == Example("cat", "ok", None, "train.jsonl:2")


def test_blank_lines_are_skipped_but_line_numbers_stay_true(make_task_dir):
    rows = [IO_ROWS[0], "", "   ", IO_ROWS[1]]
    task = load_task(make_task_dir(rows, test=rows))
    assert [ex.source for ex in task.train] == ["train.jsonl:1", "train.jsonl:4"]


def test_max_test_truncates_the_test_set(make_task_dir):
    root = make_task_dir(IO_ROWS[:2], test=IO_ROWS, config={"eval": {"max_test": 3}})
    assert [ex.input for ex in load_task(root).test] == ["question 0", "question 1", "question 2"]


# --- seeded split ----------------------------------------------------------------------------


def _split(make_task_dir, seed: int, fraction: float = 0.3):
    task = load_task(
        make_task_dir(IO_ROWS, config={"split": {"seed": seed, "test_fraction": fraction}})
    )
    return task, [ex.input for ex in task.train], [ex.input for ex in task.test]


def test_split_when_test_jsonl_is_absent(make_task_dir):
    task, train, test = _split(make_task_dir, seed=0)
    assert task.test_is_split is True
    assert len(test) == 3 and len(train) == 7
    assert set(train).isdisjoint(test)
    assert sorted(train + test) == sorted(row["input"] for row in IO_ROWS)


def test_split_is_deterministic_per_seed(make_task_dir):
    _, train_a, test_a = _split(make_task_dir, seed=7)
    _, train_b, test_b = _split(make_task_dir, seed=7)
    assert (train_a, test_a) == (train_b, test_b)


def test_different_seed_gives_a_different_split(make_task_dir):
    _, _, test_a = _split(make_task_dir, seed=0)
    _, _, test_b = _split(make_task_dir, seed=1)
    assert sorted(test_a) != sorted(test_b)


def test_split_keeps_at_least_one_test_example():
    examples = [Example(str(i), str(i)) for i in range(3)]
    train, test = split_train_test(examples, 0.01, seed=0)
    assert len(test) == 1 and len(train) == 2


def test_split_refuses_too_few_examples(make_task_dir):
    err = _error(make_task_dir(IO_ROWS[:1]))
    assert "too few" in str(err)


# --- bad input -------------------------------------------------------------------------------


def test_missing_task_folder(tmp_path):
    err = _error(tmp_path / "nowhere")
    assert "nowhere" in str(err)
    assert "not found" in str(err)


def test_missing_task_yaml(make_task_dir):
    root = make_task_dir(IO_ROWS)
    (root / "task.yaml").unlink()
    err = _error(root)
    assert err.file == str(root / "task.yaml")
    assert "missing task.yaml" in str(err)


def test_missing_train_jsonl(make_task_dir):
    err = _error(make_task_dir())
    assert err.file is not None and err.file.endswith("train.jsonl")
    assert "not found" in str(err)


def test_malformed_json_names_file_and_line(make_task_dir):
    root = make_task_dir([IO_ROWS[0], IO_ROWS[1], '{"input": "x", "output": '])
    err = _error(root)
    assert err.line == 3
    assert "train.jsonl:3" in str(err)
    assert "malformed JSON" in str(err)


def test_malformed_json_in_test_jsonl(make_task_dir):
    root = make_task_dir(IO_ROWS[:2], test=[IO_ROWS[0], "{not json"])
    err = _error(root)
    assert "test.jsonl:2" in str(err)


def test_output_of_wrong_type(make_task_dir):
    err = _error(make_task_dir([IO_ROWS[0], {"input": "2+2", "output": 4}]))
    assert "train.jsonl:2" in str(err)
    assert "'output' must be a string, got int" in str(err)


def test_record_with_unknown_shape_lists_its_keys(make_task_dir):
    err = _error(make_task_dir([{"question": "q", "answer": "a"}]))
    assert "train.jsonl:1" in str(err)
    assert "found keys: answer, question" in str(err)


def test_unknown_key_in_task_yaml_names_key_and_value(make_task_dir):
    err = _error(make_task_dir(IO_ROWS, config={"modle": "tiny-llama"}))
    assert err.file is not None and err.file.endswith("task.yaml")
    assert "task.yaml" in str(err)
    assert "'modle'" in str(err)
    assert "unknown key" in str(err)
    assert "'tiny-llama'" in str(err)


def test_unknown_nested_key_in_task_yaml(make_task_dir):
    err = _error(make_task_dir(IO_ROWS, config={"split": {"sed": 3}}))
    assert "split.sed" in str(err)


def test_bad_metric_name(make_task_dir):
    err = _error(make_task_dir(IO_ROWS, config={"metric": "bleu4"}))
    assert "task.yaml" in str(err)
    assert "metric" in str(err)
    assert "'bleu4'" in str(err)
    assert "exact_match" in str(err)  # lists the valid choices


def test_invalid_yaml_names_the_line(make_task_dir):
    err = _error(make_task_dir(IO_ROWS, config="name: t\nmetric: [unclosed\n"))
    assert "task.yaml" in str(err)
    assert err.line is not None and err.line >= 2


def test_task_yaml_that_is_not_a_mapping(make_task_dir):
    err = _error(make_task_dir(IO_ROWS, config="- just\n- a list\n"))
    assert "expected a mapping" in str(err)


def test_empty_train_jsonl(make_task_dir):
    root = make_task_dir(IO_ROWS)
    (root / "train.jsonl").write_bytes(b"\n  \n")
    err = _error(root)
    assert err.file is not None and err.file.endswith("train.jsonl")
    assert "empty" in str(err)


def test_non_utf8_bytes(make_task_dir):
    root = make_task_dir(IO_ROWS)
    good = json.dumps(IO_ROWS[0]).encode()
    (root / "train.jsonl").write_bytes(good + b"\n" + b'{"input": "caf\xe9", "output": "x"}\n')
    err = _error(root)
    assert err.line == 2
    assert "train.jsonl:2" in str(err)
    assert "UTF-8" in str(err)


def test_nul_byte(make_task_dir):
    root = make_task_dir(IO_ROWS)
    good = json.dumps(IO_ROWS[0]).encode()
    bad = b'{"input": "a\x00b", "output": "x"}'
    (root / "train.jsonl").write_bytes(b"\n".join([good, good, bad, good]) + b"\n")
    err = _error(root)
    assert "train.jsonl:3" in str(err)
    assert "NUL" in str(err)


def test_line_of_only_an_array(make_task_dir):
    err = _error(make_task_dir([IO_ROWS[0], "[]"]))
    assert "train.jsonl:2" in str(err)
    assert "expected a JSON object, got list" in str(err)


@pytest.mark.parametrize(
    "messages, fragment",
    [
        (
            [{"role": "assistant", "content": "a"}, {"role": "user", "content": "q"}],
            "one user message then one assistant message",
        ),
        (
            [{"role": "user", "content": "q"}, {"role": "bot", "content": "a"}],
            "unexpected message role 'bot'",
        ),
        (
            [
                {"role": "user", "content": "q"},
                {"role": "system", "content": "late system"},
                {"role": "assistant", "content": "a"},
            ],
            "unexpected message role 'system'",
        ),
        ([{"role": "user", "content": "q"}], "one user message then one assistant message"),
        ([], "non-empty list"),
        ([{"role": "user", "content": 3}, {"role": "assistant", "content": "a"}], "content"),
    ],
)
def test_chat_with_wrong_roles(make_task_dir, messages, fragment):
    err = _error(make_task_dir([IO_ROWS[0], {"messages": messages}]))
    assert "train.jsonl:2" in str(err)
    assert fragment in str(err)


# --- docs/ -----------------------------------------------------------------------------------


def test_docs_are_read_sorted_recursively_and_filtered(make_task_dir):
    root = make_task_dir(
        IO_ROWS,
        test=IO_ROWS[:1],
        docs={
            "b.md": "# Beta\nsecond",
            "a.txt": "alpha text",
            "sub/c.MD": "nested doc",
            "notes.pdf": "not a doc suffix",
            "blank.md": "   \n\n",
        },
    )
    task = load_task(root)
    assert [(d.path, d.text) for d in task.docs] == [
        ("a.txt", "alpha text"),
        ("b.md", "# Beta\nsecond"),
        ("sub/c.MD", "nested doc"),
    ]


def test_doc_that_is_not_utf8(make_task_dir):
    root = make_task_dir(IO_ROWS, docs={"ok.md": "fine"})
    (root / "docs" / "bad.txt").write_bytes(b"caf\xe9\n")
    err = _error(root)
    assert "bad.txt" in str(err)
    assert "UTF-8" in str(err)
