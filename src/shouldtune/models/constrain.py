"""Structured outputs: when every answer has a shape the tool can state, decode under it.

A shape is known when the task declares one in task.yaml (`output_schema:`, a JSON Schema, or
`output_regex:`) or when every training output parses as a JSON object or array. Then every
generating strategy decodes under it (task.yaml `constrained: false` turns that off, to measure
the share of invalid answers without it): our decode loop masks each row's next-token logits
with an xgrammar `GrammarMatcher`, vLLM gets the same schema or regex as its structured-outputs
parameter, and an OpenAI-compatible server gets `response_format` (JSON only: that API has no
regex). Whether or not it was constrained, each answer is checked against the shape
(`OutputShape.valid`), so a run reports how many answers broke it.

This module imports xgrammar (and with it torch) only where a grammar is compiled: detecting
the shape, checking a schema and checking an answer are plain Python.
"""

from __future__ import annotations

import json
import math
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ..core.errors import InputError

JSON_TYPES = ("object", "array", "string", "integer", "number", "boolean", "null")
# Layouts json.dumps writes, tried in order against the training outputs: (indent, separators).
LAYOUTS: tuple[tuple[int | None, tuple[str, str]], ...] = (
    (None, (", ", ": ")),
    (None, (",", ":")),
    (2, (",", ": ")),
    (4, (",", ": ")),
)
MAX_SCHEMA_DEPTH = 32


@dataclass(frozen=True)
class OutputShape:
    """What every answer must look like.

    kind: "json_schema" (task.yaml output_schema), "regex" (output_regex), or "json" (every
    training output is a JSON object or array: `schema` then states only that top-level type).
    layout: (indent, separators) the training outputs are written in, so the constrained
    answer is written the same way; None lets the grammar take any whitespace.
    """

    kind: str
    schema_json: str | None = None  # the schema as JSON text (hashable, exact)
    regex: str | None = None
    layout: tuple[int | None, tuple[str, str]] | None = LAYOUTS[0]
    origin: str = "training outputs"  # the task.yaml key, or "training outputs"
    file: str | None = None  # task.yaml, to name in an error

    @property
    def schema(self) -> dict[str, Any] | None:
        return json.loads(self.schema_json) if self.schema_json is not None else None

    @property
    def key(self) -> str:
        """One string for caches: everything that changes the grammar."""
        return json.dumps([self.kind, self.schema_json, self.regex, self.layout])

    def valid(self, text: str) -> bool:
        """Does this answer have the shape? JSON kinds: it parses and conforms to the schema
        (the JSON Schema keywords `conforms` knows); regex: Python's `re.fullmatch`."""
        if self.kind == "regex":
            return re.fullmatch(self.regex or "", text) is not None
        try:
            value = json.loads(text)
        except ValueError:
            return False
        schema = self.schema
        return conforms(value, schema, schema) if schema is not None else True

    def describe(self) -> dict[str, Any]:
        return {"kind": self.kind, "from": self.origin}


def detect_shape(task: Any) -> OutputShape | None:
    """The task's output shape: task.yaml's output_regex or output_schema, else "json" when
    every training output is a JSON object or array; None when there is no shape to state."""
    config = getattr(task, "config", None)
    file = str(task.root / "task.yaml") if getattr(task, "root", None) is not None else None
    outputs = [ex.output.strip() for ex in task.train]
    regex = getattr(config, "output_regex", None)
    if regex:
        return OutputShape("regex", regex=regex, layout=None, origin="output_regex", file=file)
    schema = getattr(config, "output_schema", None)
    if schema is not None:
        parsed = [v for v in map(_parse, outputs) if v is not _NOT_JSON]
        return OutputShape(
            "json_schema",
            schema_json=json.dumps(schema, sort_keys=False),
            layout=_layout(outputs, parsed),
            origin="output_schema",
            file=file,
        )
    if not outputs:
        return None
    values = [_parse(text) for text in outputs]
    if any(not isinstance(v, dict | list) for v in values):
        return None
    types = sorted({"object" if isinstance(v, dict) else "array" for v in values})
    top: dict[str, Any] = {"type": types[0] if len(types) == 1 else types}
    return OutputShape("json", schema_json=json.dumps(top), layout=_layout(outputs, values))


_NOT_JSON = object()


def _parse(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return _NOT_JSON


def _layout(
    texts: Sequence[str], values: Sequence[Any]
) -> tuple[int | None, tuple[str, str]] | None:
    """The json.dumps layout every parsed training output is written in; the one-line
    default when none parse; None (any whitespace) when they share no layout."""
    pairs = [(t, v) for t, v in zip(texts, values, strict=False) if v is not _NOT_JSON]
    if not pairs:
        return LAYOUTS[0]
    for indent, seps in LAYOUTS:
        if all(_dumps_as(v, indent, seps, t) for t, v in pairs):
            return indent, seps
    return None


def _dumps_as(value: Any, indent: int | None, seps: tuple[str, str], text: str) -> bool:
    return any(
        json.dumps(value, indent=indent, separators=seps, ensure_ascii=ascii_only) == text
        for ascii_only in (False, True)
    )


# ---- JSON Schema: a structural check of a declared schema, and validation of answers ----


def check_schema(schema: Any, where: str = "", depth: int = 0) -> None:
    """ValueError naming the place when `schema` is not a JSON Schema we can enforce: keyword
    values of the wrong kind, unknown types, patterns that do not compile. Plain Python (task
    loading must not import torch); the grammar compiler checks the rest when it compiles."""
    here = where or "the schema"
    if depth > MAX_SCHEMA_DEPTH:
        raise ValueError(f"{here}: nested more than {MAX_SCHEMA_DEPTH} levels")
    if isinstance(schema, bool):
        return
    if not isinstance(schema, dict):
        raise ValueError(f"{here}: a schema is a mapping, got {type(schema).__name__}")
    if depth == 0:
        try:
            json.dumps(schema, allow_nan=False)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"not JSON data ({exc})") from None
    _check_keywords(schema, where)
    sub = depth + 1
    for key in ("properties", "$defs", "definitions"):
        for name, part in (schema.get(key) or {}).items():
            check_schema(part, _join(where, f"{key}.{name}"), sub)
    for key in ("items", "additionalProperties", "not"):
        if isinstance(schema.get(key), dict):
            check_schema(schema[key], _join(where, key), sub)
    for key in ("anyOf", "oneOf", "allOf", "prefixItems"):
        for i, part in enumerate(schema.get(key) or []):
            check_schema(part, _join(where, f"{key}[{i}]"), sub)


def _check_keywords(schema: dict[str, Any], where: str) -> None:
    kinds = schema.get("type")
    for kind in kinds if isinstance(kinds, list) else [kinds] if kinds is not None else []:
        if kind not in JSON_TYPES:
            raise ValueError(
                f"{_join(where, 'type')}: unknown type {kind!r} (use {', '.join(JSON_TYPES)})"
            )
    for key in ("properties", "$defs", "definitions"):
        if key in schema and not isinstance(schema[key], dict):
            raise ValueError(f"{_join(where, key)}: must be a mapping of names to schemas")
    required = schema.get("required", [])
    if not isinstance(required, list) or not all(isinstance(r, str) for r in required):
        raise ValueError(f"{_join(where, 'required')}: must be a list of property names")
    for key in ("enum", "anyOf", "oneOf", "allOf", "prefixItems"):
        if key in schema and (not isinstance(schema[key], list) or not schema[key]):
            raise ValueError(f"{_join(where, key)}: must be a non-empty list")
    for key in ("items", "additionalProperties", "not"):
        if key in schema and not isinstance(schema[key], dict | bool):
            raise ValueError(f"{_join(where, key)}: must be a schema (mapping) or true/false")
    for key in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf"):
        if key in schema and (
            isinstance(schema[key], bool) or not isinstance(schema[key], int | float)
        ):
            raise ValueError(f"{_join(where, key)}: must be a number")
    for key in ("minLength", "maxLength", "minItems", "maxItems"):
        value = schema.get(key)
        if key in schema and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
            raise ValueError(f"{_join(where, key)}: must be a whole number >= 0")
    if "pattern" in schema:
        check_regex(schema["pattern"], _join(where, "pattern"))
    ref = schema.get("$ref")
    if ref is not None and not (isinstance(ref, str) and ref.startswith("#")):
        raise ValueError(f"{_join(where, '$ref')}: only references inside the schema ('#/...')")


def check_regex(pattern: Any, where: str = "the pattern") -> None:
    if not isinstance(pattern, str) or not pattern:
        raise ValueError(f"{where}: must be a non-empty string")
    try:
        re.compile(pattern)
    except re.error as exc:
        raise ValueError(f"{where}: not a regular expression ({exc})") from None


def _join(where: str, key: str) -> str:
    return f"{where}.{key}" if where else key


def conforms(value: Any, schema: Any, root: Any = None) -> bool:
    """Does `value` satisfy `schema`? The JSON Schema keywords a generated answer meets or
    breaks: type, enum, const, properties, required, additionalProperties, items,
    prefixItems, lengths, bounds, pattern, anyOf/oneOf/allOf/not and local $ref. Other
    keywords are not checked."""
    if isinstance(schema, bool):
        return schema
    if not isinstance(schema, dict):
        return True
    root = schema if root is None else root
    if "$ref" in schema:
        target = _resolve(root, schema["$ref"])
        if target is not None and not conforms(value, target, root):
            return False
    if "const" in schema and not _same(value, schema["const"]):
        return False
    if "enum" in schema and not any(_same(value, e) for e in schema["enum"]):
        return False
    kinds = schema.get("type")
    if kinds is not None:
        kinds = kinds if isinstance(kinds, list) else [kinds]
        if not any(_is_type(value, k) for k in kinds):
            return False
    return (
        _object_ok(value, schema, root)
        and _array_ok(value, schema, root)
        and _scalar_ok(value, schema)
        and _combinators_ok(value, schema, root)
    )


def _resolve(root: Any, ref: str) -> Any:
    node = root
    for part in ref.lstrip("#").strip("/").split("/") if ref not in ("#", "#/") else []:
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def _is_type(value: Any, kind: str) -> bool:
    if kind == "integer":
        number = isinstance(value, int | float) and not isinstance(value, bool)
        return number and float(value).is_integer()
    return {
        "object": isinstance(value, dict),
        "array": isinstance(value, list),
        "string": isinstance(value, str),
        "number": isinstance(value, int | float) and not isinstance(value, bool),
        "boolean": isinstance(value, bool),
        "null": value is None,
    }.get(kind, False)


def _same(a: Any, b: Any) -> bool:
    """JSON equality: true is not 1, 1 is 1.0."""
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    return a == b


def _object_ok(value: Any, schema: dict[str, Any], root: Any) -> bool:
    if not isinstance(value, dict):
        return True
    props = schema.get("properties") or {}
    if any(name not in value for name in schema.get("required", [])):
        return False
    extra = schema.get("additionalProperties", True)
    for name, item in value.items():
        if name in props:
            if not conforms(item, props[name], root):
                return False
        elif not conforms(item, extra, root):
            return False
    return _within(len(value), schema, "minProperties", "maxProperties")


def _array_ok(value: Any, schema: dict[str, Any], root: Any) -> bool:
    if not isinstance(value, list):
        return True
    prefix = schema.get("prefixItems") or []
    if any(not conforms(v, s, root) for v, s in zip(value, prefix, strict=False)):
        return False
    rest = value[len(prefix) :]
    if "items" in schema and any(not conforms(v, schema["items"], root) for v in rest):
        return False
    return _within(len(value), schema, "minItems", "maxItems")


def _scalar_ok(value: Any, schema: dict[str, Any]) -> bool:
    if isinstance(value, str):
        pattern = schema.get("pattern")
        if pattern is not None and re.search(pattern, value) is None:
            return False
        return _within(len(value), schema, "minLength", "maxLength")
    if isinstance(value, bool) or not isinstance(value, int | float):
        return True
    low, high = schema.get("minimum"), schema.get("maximum")
    xlow, xhigh = schema.get("exclusiveMinimum"), schema.get("exclusiveMaximum")
    step = schema.get("multipleOf")
    return not (
        (low is not None and value < low)
        or (high is not None and value > high)
        or (xlow is not None and value <= xlow)
        or (xhigh is not None and value >= xhigh)
        or (step and not math.isclose(value / step, round(value / step)))
    )


def _within(n: int, schema: dict[str, Any], low: str, high: str) -> bool:
    return not (
        (low in schema and n < schema[low]) or (high in schema and n > schema[high])
    )


def _combinators_ok(value: Any, schema: dict[str, Any], root: Any) -> bool:
    if "allOf" in schema and not all(conforms(value, s, root) for s in schema["allOf"]):
        return False
    if "anyOf" in schema and not any(conforms(value, s, root) for s in schema["anyOf"]):
        return False
    if "oneOf" in schema and sum(conforms(value, s, root) for s in schema["oneOf"]) != 1:
        return False
    return not ("not" in schema and conforms(value, schema["not"], root))


# ---- What a run reports ----


def shape_details(shape: OutputShape | None, generations: Sequence[Any]) -> dict[str, Any] | None:
    """A strategy's `details["output_shape"]`: the shape, whether its answers were decoded
    under it, and how many of them break it (from each Generation's meta, set by
    strategies.base.generate_answers); None when the task has no shape."""
    if shape is None:
        return None
    valid = [g.meta.get("valid_output") for g in generations]
    constrained = [bool(g.meta.get("constrained")) for g in generations]
    return {
        **shape.describe(),
        "constrained": bool(constrained) and all(constrained),
        "invalid": sum(v is False for v in valid),
        "of": sum(v is not None for v in valid),
    }


# ---- xgrammar: one compiled grammar per shape and tokenizer, one matcher per row ----

_COMPILERS: dict[tuple[int, int, tuple[int, ...]], tuple[Any, Any]] = {}
_GRAMMARS: dict[tuple[tuple[int, int, tuple[int, ...]], str], Grammar] = {}


def grammar_for(
    shape: OutputShape, tokenizer: Any, vocab_size: int, stop_ids: Sequence[int]
) -> Grammar:
    """The shape compiled for this tokenizer (cached: the same tokenizer object, model vocab
    size and stop tokens reuse it). InputError naming task.yaml and the key when xgrammar
    cannot compile what the task declared."""
    try:
        import xgrammar as xgr
    except ImportError:
        raise InputError(
            f"{shape.origin}: answers of this shape are decoded under it with xgrammar, which"
            " is not installed: pip install 'shouldtune[structured]' (or set constrained: false"
            " in task.yaml)",
            shape.file,
        ) from None

    tok_key = (id(tokenizer), int(vocab_size), tuple(sorted(stop_ids)))
    if tok_key not in _COMPILERS:
        info = xgr.TokenizerInfo.from_huggingface(
            tokenizer, vocab_size=int(vocab_size), stop_token_ids=list(tok_key[2])
        )
        threads = max(1, min(8, os.cpu_count() or 1))
        # The tokenizer is kept with its compiler: its id is never reused while cached.
        _COMPILERS[tok_key] = (tokenizer, xgr.GrammarCompiler(info, max_threads=threads))
    key = (tok_key, shape.key)
    if key not in _GRAMMARS:
        compiler = _COMPILERS[tok_key][1]
        try:
            compiled = _compile(compiler, shape)
        except (RuntimeError, ValueError) as exc:
            first = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
            raise InputError(
                f"{shape.origin}: the grammar compiler cannot use it: {first}", shape.file
            ) from None
        _GRAMMARS[key] = Grammar(compiled, int(vocab_size), tok_key[2])
    return _GRAMMARS[key]


def _compile(compiler: Any, shape: OutputShape) -> Any:
    if shape.kind == "regex":
        return compiler.compile_regex(shape.regex)
    layout = shape.layout
    return compiler.compile_json_schema(
        shape.schema_json,
        any_whitespace=layout is None,
        indent=layout[0] if layout else None,
        separators=layout[1] if layout else None,
        # A declared schema's listed properties only (as OpenAI's strict mode); "json" states
        # only the top-level type, so any keys and items go.
        strict_mode=shape.kind == "json_schema",
    )


class Grammar:
    """A compiled grammar for one tokenizer; `start(rows)` gives a batch its matchers."""

    def __init__(self, compiled: Any, vocab_size: int, stop_ids: Sequence[int]):
        import torch
        import xgrammar as xgr

        self.compiled, self.vocab_size = compiled, vocab_size
        self.stop_ids = tuple(stop_ids)
        # Bits of the stop tokens: a row whose allowed set has nothing else is finished.
        words = [0] * xgr.allocate_token_bitmask(1, vocab_size).shape[1]
        for t in self.stop_ids:
            words[t // 32] |= 1 << (t % 32)
        signed = [w - (1 << 32) if w >= 1 << 31 else w for w in words]  # int32 bit patterns
        self.not_stop = ~torch.tensor(signed, dtype=torch.int32)

    def start(self, rows: int) -> Guide:
        return Guide(self, rows)


class Guide:
    """One GrammarMatcher per row of a batch. The decode loop calls `mask(logits, rows)` before
    choosing tokens and `accept(row, token)` after; `accept` says when a row's grammar is
    done (its stop token accepted, or nothing but a stop token can follow)."""

    def __init__(self, grammar: Grammar, rows: int):
        import xgrammar as xgr

        self.grammar = grammar
        self.matchers = [xgr.GrammarMatcher(grammar.compiled) for _ in range(rows)]
        self.bitmask = xgr.allocate_token_bitmask(rows, grammar.vocab_size)
        self._scratch = xgr.allocate_token_bitmask(1, grammar.vocab_size)

    @property
    def stop_id(self) -> int:
        """The stop token a finished row ends with (what the mask would force next)."""
        return self.grammar.stop_ids[0]

    def mask(self, logits: Any, rows: Sequence[int]) -> Any:
        """Logits (live batch rows; `rows[i]` is row i's prompt) with every token its grammar
        forbids at -inf. Rows whose matcher has terminated are left as they are."""
        import xgrammar as xgr

        bits = self.bitmask[: len(rows)]
        bits.fill_(-1)  # all allowed
        for i, row in enumerate(rows):
            matcher = self.matchers[row]
            if not matcher.is_terminated():
                matcher.fill_next_token_bitmask(bits, i)
        logits = logits.contiguous()
        xgr.apply_token_bitmask_inplace(
            logits, bits.to(logits.device, non_blocking=True), vocab_size=self.grammar.vocab_size
        )
        return logits

    def accept(self, row: int, token: int) -> bool:
        """Advance the row's matcher by its chosen token; True when the row is finished."""
        matcher = self.matchers[row]
        if matcher.is_terminated():
            return True
        if not matcher.accept_token(token):  # only when a sampler ignored the mask
            return True
        if matcher.is_terminated():
            return True
        if not matcher.is_completed():
            return False
        matcher.fill_next_token_bitmask(self._scratch, 0)
        return not bool((self._scratch[0] & self.grammar.not_stop).any())
