"""Structured outputs (models/constrain.py): the shape a task's answers have, decoding under
it with xgrammar in our loop (the tiny random model writes valid JSON or regex matches only
under the constraint), the validity count, task.yaml errors, and what vLLM and an
OpenAI-compatible server are sent."""

from __future__ import annotations

import json
from dataclasses import dataclass
from types import SimpleNamespace

import pytest

from shouldtune.core.config import parse_task_config
from shouldtune.core.errors import InputError
from shouldtune.core.taskio import load_task
from shouldtune.core.types import Example, Generation, Task
from shouldtune.models.constrain import (
    OutputShape,
    conforms,
    detect_shape,
    shape_details,
)
from shouldtune.models.decode import StopRule, greedy
from shouldtune.models.lm import LanguageModel
from shouldtune.models.openai_backend import OpenAIBackend, response_format
from shouldtune.models.vllm_engine import VllmEngine
from shouldtune.strategies.base import RunContext, generate_answers

# A finite language: a random model can only finish it through the grammar.
SCHEMA = {
    "type": "object",
    "properties": {
        "unit": {"enum": ["kg", "g", "piece"]},
        "n": {"type": "integer", "minimum": 0, "maximum": 99},
        "ok": {"type": "boolean"},
    },
    "required": ["unit", "n", "ok"],
}
SCHEMA_SHAPE = OutputShape("json_schema", json.dumps(SCHEMA), origin="output_schema")
REGEX_SHAPE = OutputShape("regex", regex=r"[A-Z]{3}-\d{4}", layout=None, origin="output_regex")
CONVOS = [
    [
        {"role": "system", "content": "Extract the item from the shopping line as JSON."},
        {"role": "user", "content": f"buy {i} {item} please"},
    ]
    for i, item in enumerate(["apples", "milk", "bread", "eggs", "tea"])
]
TRAIN_JSON = [
    {"input": f"buy {n} {unit} of flour", "output": json.dumps({"unit": unit, "n": n, "ok": True})}
    for n, unit in [(1, "kg"), (5, "g"), (3, "piece"), (2, "kg")]
]


def task_of(outputs: list[str], config: object = None) -> Task:
    train = [Example(f"q{i}", o) for i, o in enumerate(outputs)]
    return Task("t", "", "exact_match", train, [], root=None, config=config)  # type: ignore[arg-type]


# ---- shape detection and validity ----


def test_every_training_output_a_json_object_gives_a_json_shape():
    shape = detect_shape(task_of(['{"a": 1}', ' {"b": [1, 2]} ']))
    assert shape is not None and shape.kind == "json"
    assert shape.schema == {"type": "object"}
    assert shape.layout == (None, (", ", ": "))  # json.dumps' one-line layout
    assert shape.valid('{"z": null}') and not shape.valid("[1]") and not shape.valid("{oops")


def test_one_output_that_is_not_json_means_no_shape():
    assert detect_shape(task_of(['{"a": 1}', "Paris"])) is None
    assert detect_shape(task_of(["42", '"quoted"'])) is None  # JSON, but not object/array
    assert detect_shape(task_of([])) is None


def test_mixed_objects_and_arrays_and_their_layout():
    shape = detect_shape(task_of(['{"a":1}', "[1,2]"]))
    assert shape.schema == {"type": ["array", "object"]}
    assert shape.layout == (None, (",", ":"))
    assert detect_shape(task_of(['{"a": 1}', '{"b":2}'])).layout is None  # no shared layout


def test_declared_schema_and_regex_come_from_task_yaml(make_task_dir):
    root = make_task_dir(TRAIN_JSON, test=TRAIN_JSON[:1], config={"output_schema": SCHEMA})
    shape = detect_shape(load_task(root))
    assert (shape.kind, shape.schema, shape.origin) == ("json_schema", SCHEMA, "output_schema")
    assert shape.file.endswith("task.yaml")
    root = make_task_dir(TRAIN_JSON, test=TRAIN_JSON[:1], config={"output_regex": "[a-z]+"})
    shape = detect_shape(load_task(root))
    assert shape.kind == "regex" and shape.valid("abc") and not shape.valid("abc1")


def test_conforms_follows_json_schema():
    ok = {"unit": "kg", "n": 3, "ok": False}
    assert conforms(ok, SCHEMA)
    assert not conforms({**ok, "n": True}, SCHEMA)  # true is not an integer
    assert not conforms({**ok, "n": 100}, SCHEMA)
    assert not conforms({"unit": "kg", "n": 3}, SCHEMA)  # required
    assert not conforms({**ok, "unit": "lb"}, SCHEMA)
    assert conforms({**ok, "extra": 1}, SCHEMA)  # additional properties allowed by default
    assert not conforms({**ok, "extra": 1}, {**SCHEMA, "additionalProperties": False})
    refs = {"$defs": {"q": {"type": "integer"}}, "type": "array", "items": {"$ref": "#/$defs/q"}}
    assert conforms([1, 2.0], refs) and not conforms([1, "2"], refs)


# ---- task.yaml ----


@pytest.mark.parametrize(
    "key, value, words",
    [
        ("output_schema", {"type": "object", "properties": {"n": {"type": "int"}}}, "'int'"),
        ("output_schema", {"type": "object", "required": "n"}, "required"),
        ("output_schema", ["not", "a", "mapping"], "dict"),
        ("output_regex", "[a-", "regular expression"),
    ],
)
def test_bad_shape_in_task_yaml_names_the_file_and_key(make_task_dir, key, value, words):
    root = make_task_dir(TRAIN_JSON, config={key: value})
    with pytest.raises(InputError) as err:
        parse_task_config(root / "task.yaml")
    assert err.value.file.endswith("task.yaml")
    assert f"'{key}" in err.value.message and words in err.value.message


def test_both_shapes_at_once_is_an_input_error(make_task_dir):
    root = make_task_dir(TRAIN_JSON, config={"output_schema": SCHEMA, "output_regex": "x"})
    with pytest.raises(InputError, match="give one shape"):
        parse_task_config(root / "task.yaml")


def test_a_regex_python_takes_but_the_grammar_compiler_does_not_is_an_input_error(tiny_lm):
    shape = OutputShape("regex", regex=r"(?<=a)b", layout=None, origin="output_regex", file="t")
    with pytest.raises(InputError) as err:
        tiny_lm.generate(CONVOS[:1], 4, constraint=shape)
    assert err.value.file == "t" and err.value.message.startswith("output_regex:")


# ---- decoding under the constraint (tiny random model) ----


def test_schema_constraint_makes_every_row_valid_and_rows_stop_when_done(tiny_lm):
    free = tiny_lm.generate(CONVOS, 40, batch_size=4)
    assert not any(SCHEMA_SHAPE.valid(g.text) for g in free)  # random text: never this JSON
    gens = tiny_lm.generate(CONVOS, 40, batch_size=4, constraint=SCHEMA_SHAPE)
    for g in gens:
        value = json.loads(g.text)
        assert set(value) == {"unit", "n", "ok"} and value["unit"] in ("kg", "g", "piece")
        assert isinstance(value["n"], int) and 0 <= value["n"] <= 99
        assert isinstance(value["ok"], bool)


def test_a_row_stops_as_soon_as_its_grammar_is_done(tiny_lm):
    """The closing brace, then the stop token (counted), and nothing after it."""
    stops = tiny_lm.stop_ids()
    grammar = tiny_lm.grammar_for(SCHEMA_SHAPE)
    prompts = [tiny_lm.encode(tiny_lm.render(c)) for c in CONVOS]
    rule = StopRule(frozenset(stops))
    pad = tiny_lm.tokenizer.pad_token_id
    rows = greedy(tiny_lm.model, prompts, pad, 40, rule, tiny_lm._decode, grammar=grammar)
    for row in rows:
        assert row.stopped and row.ids[-1] in stops and len(row.ids) < 40
        assert tiny_lm._decode(row.ids[:-1]).endswith("}")


def test_constrained_rows_are_the_same_at_any_batch_size(tiny_lm):
    """One matcher per row, kept right as finished rows leave the batch."""
    batched = tiny_lm.generate(CONVOS, 40, batch_size=5, constraint=SCHEMA_SHAPE)
    single = tiny_lm.generate(CONVOS, 40, batch_size=1, constraint=SCHEMA_SHAPE)
    assert [g.text for g in batched] == [g.text for g in single]


def test_regex_constraint(tiny_lm):
    assert not any(REGEX_SHAPE.valid(g.text) for g in tiny_lm.generate(CONVOS, 12))
    gens = tiny_lm.generate(CONVOS, 12, batch_size=3, constraint=REGEX_SHAPE)
    assert all(REGEX_SHAPE.valid(g.text) for g in gens), [g.text for g in gens]


def test_json_shape_without_schema_gives_json_objects(tiny_lm):
    shape = detect_shape(task_of(['{"a": 1}']))
    gens = tiny_lm.generate(CONVOS, 24, batch_size=4, constraint=shape)
    assert all(isinstance(json.loads(g.text), dict) for g in gens)


# ---- what a run records ----


class Quiet:
    def stage(self, *args, **kwargs) -> None:
        pass

    def advance(self, n: int = 1) -> None:
        pass


@pytest.mark.parametrize("constrained", [True, False])
def test_answers_record_validity_and_the_run_counts_invalid_ones(
    make_task_dir, tiny_lm, constrained
):
    config = {"output_schema": SCHEMA, "constrained": constrained}
    config["generation"] = {"max_new_tokens": 40, "batch_size": 4}
    task = load_task(make_task_dir(TRAIN_JSON, test=TRAIN_JSON[:2], config=config))
    ctx = RunContext(task=task, progress=Quiet(), lm_loader=lambda: tiny_lm)
    assert (ctx.output_constraint is not None) is constrained
    gens = generate_answers(tiny_lm, CONVOS, ctx)
    assert all(g.meta["constrained"] is constrained for g in gens)
    assert all(g.meta["valid_output"] is constrained for g in gens)
    details = shape_details(ctx.output_shape, gens)
    assert details == {
        "kind": "json_schema",
        "from": "output_schema",
        "constrained": constrained,
        "invalid": 0 if constrained else len(CONVOS),
        "of": len(CONVOS),
    }


def test_a_task_without_a_shape_is_left_alone(make_task_dir, tiny_lm):
    train = [{"input": "capital of France?", "output": "Paris"}]
    task = load_task(make_task_dir(train, test=train, config={"generation": {"max_new_tokens": 3}}))
    ctx = RunContext(task=task, progress=Quiet())
    gens = generate_answers(tiny_lm, CONVOS[:2], ctx)
    assert ctx.output_shape is None and all("valid_output" not in g.meta for g in gens)
    assert shape_details(None, gens) is None


# ---- vLLM and OpenAI-compatible servers ----


@dataclass
class FakeStructured:
    json: object = None
    regex: str | None = None
    disable_any_whitespace: bool = False


def test_vllm_gets_the_schema_or_regex_as_structured_outputs(tiny_lm):
    calls = []

    class LLM:
        def generate(self, prompts, params, use_tqdm=True, lora_request=None):
            calls.append(params)
            out = SimpleNamespace(text="{}", token_ids=[1])
            return [SimpleNamespace(outputs=[out]) for _ in prompts]

    engine = VllmEngine(LLM(), dict, structured=(FakeStructured, "structured_outputs"))
    lm = LanguageModel("tiny", tiny_lm.model, tiny_lm.tokenizer, engine=engine)
    assert lm.constrains(SCHEMA_SHAPE)
    lm.generate(CONVOS[:2], 8, constraint=SCHEMA_SHAPE)
    lm.generate(CONVOS[:2], 8, constraint=REGEX_SHAPE)
    lm.generate(CONVOS[:2], 8)
    want = FakeStructured(json=SCHEMA, disable_any_whitespace=True)
    assert calls[0]["structured_outputs"] == want
    assert calls[1]["structured_outputs"] == FakeStructured(regex=REGEX_SHAPE.regex)
    assert "structured_outputs" not in calls[2]
    bare = VllmEngine(LLM(), dict)  # a vLLM without a structured-outputs API
    assert not LanguageModel("t", tiny_lm.model, tiny_lm.tokenizer, engine=bare).constrains(
        SCHEMA_SHAPE
    )


def test_openai_backend_sends_json_shapes_as_response_format_and_never_a_regex():
    backend = OpenAIBackend("http://127.0.0.1:9/v1", "m")
    sent = []
    backend._complete = lambda payload: sent.append(payload) or Generation("{}")  # type: ignore[method-assign]
    backend.generate([CONVOS[0]], 8, constraint=SCHEMA_SHAPE)
    backend.generate([CONVOS[0]], 8, constraint=REGEX_SHAPE)
    fmt = sent[0]["response_format"]
    assert fmt["type"] == "json_schema" and fmt["json_schema"]["schema"] == SCHEMA
    assert fmt["json_schema"]["strict"] is False  # open object: OpenAI's strict mode refuses it
    assert "response_format" not in sent[1] and not backend.constrains(REGEX_SHAPE)
    closed = {**SCHEMA, "additionalProperties": False}
    strict = OutputShape("json_schema", json.dumps(closed))
    assert response_format(strict)["json_schema"]["strict"] is True
    assert response_format(detect_shape(task_of(['{"a": 1}']))) == {"type": "json_object"}
