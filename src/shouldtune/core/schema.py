"""The base of every task.yaml schema and its one-line error message.

Below both core/config.py (the task.yaml schema) and core/needs.py (the needs, whose schema
is generated from their declaration there), so that neither imports the other's module back.
"""

from __future__ import annotations

import reprlib

from pydantic import BaseModel, ConfigDict, ValidationError

# Received values are quoted cut short: a hostile task.yaml may hold huge or aliased data.
_SHORT = reprlib.Repr()
_SHORT.maxlevel, _SHORT.maxdict, _SHORT.maxlist, _SHORT.maxstring, _SHORT.maxother = 2, 4, 4, 60, 60


class Strict(BaseModel):
    # Unknown keys and non-finite numbers (.inf, .nan) are refused everywhere in task.yaml.
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


def describe_validation_error(err: ValidationError) -> str:
    """One line: the first failing key, what is wrong, and the value received."""
    first = err.errors()[0]
    key = ".".join(str(part) for part in first["loc"]) or "(top level)"
    msg = first["msg"]
    if first["type"] == "extra_forbidden":
        msg = "unknown key"
    received = first.get("input")
    more = len(err.errors()) - 1
    tail = f" ({more} more problem{'s' if more > 1 else ''})" if more else ""
    got = _SHORT.repr(received)
    got = got if len(got) <= 120 else got[:117] + "..."
    return f"key '{key}': {msg}; got {got}{tail}"
