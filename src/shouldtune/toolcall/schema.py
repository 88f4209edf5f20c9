"""Tools from a task's tools.py: plain typed Python functions and their JSON schemas.

The schema has the shape chat templates and OpenAI-compatible APIs expect:
{"type": "function", "function": {"name", "description", "parameters": {JSON schema}}}.
"""

from __future__ import annotations

import inspect
import re
import types
import typing
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Union, get_args, get_origin

from ..core.errors import InputError
from ..core.usercode import load_task_module

_SIMPLE = {str: "string", int: "integer", float: "number", bool: "boolean"}
_ARG_LINE = re.compile(r"^\s*(\w+)\s*(?:\([^)]*\))?\s*:\s*(.+)$")


@dataclass(frozen=True)
class Tool:
    name: str
    func: Callable[..., Any]
    schema: dict[str, Any]

    def bind_error(self, arguments: dict[str, Any]) -> str | None:
        """Why these arguments do not fit the function's signature, or None when they do."""
        try:
            inspect.signature(self.func).bind(**arguments)
        except TypeError as exc:
            return str(exc)
        return None


def json_type(hint: Any, where: str) -> dict[str, Any]:
    """The JSON schema of a Python type hint (the common, plain ones only)."""
    if hint in _SIMPLE:
        return {"type": _SIMPLE[hint]}
    origin, args = get_origin(hint), get_args(hint)
    if origin is Literal:
        kinds = {type(a) for a in args}
        schema: dict[str, Any] = {"enum": list(args)}
        if len(kinds) == 1 and next(iter(kinds)) in _SIMPLE:
            schema["type"] = _SIMPLE[next(iter(kinds))]
        return schema
    if origin in (Union, types.UnionType):
        rest = [a for a in args if a is not type(None)]
        if len(rest) == 1:  # Optional[X]: X, and the default says it may be left out
            return json_type(rest[0], where)
    if hint is list or origin is list:
        return {"type": "array", **({"items": json_type(args[0], where)} if args else {})}
    if hint is dict or origin is dict:
        return {"type": "object"}
    raise InputError(f"{where}: unsupported type {hint!r}; use str, int, float, bool, list, dict")


def _docs(func: Callable[..., Any]) -> tuple[str, dict[str, str]]:
    """(description, {argument: description}) from a Google-style docstring."""
    doc = inspect.getdoc(func) or ""
    head, _, tail = doc.partition("\nArgs:")
    args: dict[str, str] = {}
    for line in tail.splitlines():
        match = _ARG_LINE.match(line)
        if match:
            args[match[1]] = match[2].strip()
        elif line and not line.startswith((" ", "\t")):
            break  # the next section (Returns:, Raises:) ends the arguments
    return " ".join(head.split("\n\n")[0].split()), args


def function_schema(func: Callable[..., Any]) -> dict[str, Any]:
    name = func.__name__
    try:
        hints = typing.get_type_hints(func)
    except Exception as exc:  # a hint naming something undefined
        raise InputError(f"tool {name}: cannot read type hints ({exc})") from None
    description, arg_docs = _docs(func)
    properties: dict[str, Any] = {}
    required: list[str] = []
    for param in inspect.signature(func).parameters.values():
        where = f"tool {name}, parameter {param.name}"
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            raise InputError(f"{where}: *args and **kwargs cannot be described to a model")
        if param.name not in hints:
            raise InputError(f"{where}: needs a type annotation")
        prop = json_type(hints[param.name], where)
        if param.name in arg_docs:
            prop["description"] = arg_docs[param.name]
        properties[param.name] = prop
        if param.default is param.empty:
            required.append(param.name)
    parameters = {"type": "object", "properties": properties, "required": required}
    return {
        "type": "function",
        "function": {"name": name, "description": description, "parameters": parameters},
    }


def load_tools(task_root: Path, file_name: str = "tools.py") -> list[Tool]:
    """The public functions defined in the task's tools file, in source order."""
    module = load_task_module(task_root, file_name, "tools")
    funcs = [
        obj
        for name, obj in vars(module).items()
        # Only functions defined here: imported helpers are not tools.
        if inspect.isfunction(obj) and obj.__module__ == module.__name__ and name[0] != "_"
    ]
    if not funcs:
        raise InputError("no public functions in the tools file", task_root / file_name)
    return [Tool(f.__name__, f, function_schema(f)) for f in funcs]
