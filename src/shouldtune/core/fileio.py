"""Atomic writes: a crash never leaves a truncated file that a later run trusts."""

from __future__ import annotations

import hashlib
import json
import math
import os
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from .errors import InputError


def atomic_write_text(path: Path, text: str, errors: str = "strict") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", errors=errors) as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def finite_only(data: Any) -> Any:
    """`data` with every NaN or infinity replaced by None (JSON null)."""
    if isinstance(data, float):
        return data if math.isfinite(data) else None
    if isinstance(data, dict):
        return {k: finite_only(v) for k, v in data.items()}
    if isinstance(data, list | tuple):
        return [finite_only(v) for v in data]
    return data


def to_json(data: Any, indent: int | None = None) -> str:
    """Strict JSON: never the bare NaN/Infinity other readers reject (written as null, which
    the report's readers already take as "no number"). Unicode stays readable."""
    try:
        return json.dumps(data, indent=indent, ensure_ascii=False, allow_nan=False)
    except ValueError:
        return json.dumps(finite_only(data), indent=indent, ensure_ascii=False, allow_nan=False)


# A lone surrogate cannot be UTF-8: written as its JSON escape (\ud800), which reads back.
_JSON_ERRORS = "backslashreplace"


def atomic_write_json(path: Path, data: Any) -> None:
    atomic_write_text(path, to_json(data, indent=2) + "\n", _JSON_ERRORS)


def atomic_write_jsonl(path: Path, rows: Iterable[dict[str, Any]]) -> None:
    atomic_write_text(path, "".join(to_json(r) + "\n" for r in rows), _JSON_ERRORS)


SMALL_FILE = 16 * 2**20  # files up to this size are hashed; bigger ones by size + mtime


def folder_fingerprint(folder: Path, exclude: set[str] | frozenset[str] = frozenset()) -> str:
    """Small files (configs, tokenizers, task data and code) by content; big ones (weights)
    by name, size and mtime. `exclude`: relative paths left out (a task's metric file)."""
    h = hashlib.sha256()
    for path in sorted(Path(folder).rglob("*")):
        rel = path.relative_to(folder).parts
        # Hidden entries (a run's .partial/.cache folders if --out points inside) and
        # bytecode caches change between attempts without changing the task.
        if not path.is_file() or any(p.startswith(".") or p == "__pycache__" for p in rel):
            continue
        if path.relative_to(folder).as_posix() in exclude:
            continue
        st = path.stat()
        h.update(str(path.relative_to(folder)).encode())
        if st.st_size <= SMALL_FILE:
            h.update(path.read_bytes())
        else:
            h.update(f"{st.st_size}:{st.st_mtime_ns}".encode())
    return h.hexdigest()


def load_results(run_dir: Path) -> dict:
    """A finished run's results.json, read defensively: it may come from anywhere."""
    path = Path(run_dir) / "results.json"
    if not Path(run_dir).is_dir():
        raise InputError("run folder not found", run_dir)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError("no results.json: not a finished shouldtune run", run_dir) from None
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise InputError(f"unreadable results.json ({type(exc).__name__})", path) from None
    if not isinstance(data, dict) or not isinstance(data.get("strategies"), list):
        raise InputError("results.json has no strategy list", path)
    return data
