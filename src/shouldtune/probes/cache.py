"""On-disk cache of what the *base* model answers to the probes and to SliCK.

The base model's probe answers and likelihoods, and SliCK's raw answers, depend only on the
model files, the items and settings, and the code that asks them: the same in every run of
every task on that model. They are kept as JSON under the bundled-model cache root
(`~/.cache/shouldtune/probes/`; `SHOULDTUNE_CACHE` moves it, `SHOULDTUNE_PROBE_CACHE` moves only
this cache), one file per key:

    key = sha256(model folder fingerprint, the probe code's source, kind, items and settings)

Written atomically. An entry is trusted only when it parses and passes the caller's shape
check; a damaged one is recomputed and overwritten, never used.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..core.fileio import atomic_write_json, folder_fingerprint

FORMAT = 1
# The code whose change can change what the base model answers: prompts, the probe runner,
# the likelihood scorer, and the generation loop.
PACKAGE = Path(__file__).resolve().parents[1]
CODE_FILES = (
    "probes/runner.py",
    "models/likelihood.py",
    "core/prompts.py",
    "models/lm.py",
    "models/decode.py",
    "models/kvcache.py",
)


def root() -> Path:
    """`SHOULDTUNE_PROBE_CACHE` if set (tests point it at a temporary folder while the model
    cache stays where it is), else `probes/` under the bundled-model cache root."""
    own = os.environ.get("SHOULDTUNE_PROBE_CACHE")
    if own:
        return Path(own)
    from ..models.bundled import cache_dir

    return cache_dir() / "probes"


@functools.cache
def code_version() -> str:
    h = hashlib.sha256(str(FORMAT).encode())
    for rel in CODE_FILES:
        path = PACKAGE / rel
        h.update(rel.encode())
        h.update(path.read_bytes() if path.is_file() else b"missing")
    return h.hexdigest()[:16]


def key(model_dir: Path, kind: str, payload: Any) -> str:
    text = json.dumps(
        {"model": folder_fingerprint(model_dir), "code": code_version(), "kind": kind,
         "payload": payload},
        sort_keys=True, ensure_ascii=False, default=str,
    )  # fmt: skip
    return f"{kind}-{hashlib.sha256(text.encode('utf-8')).hexdigest()[:32]}"


def load(name: str, valid: Callable[[Any], bool]) -> Any | None:
    """The cached data for `name`, or None when absent, unreadable or failing `valid`."""
    path = root() / f"{name}.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError, RecursionError):
        return None
    try:
        ok = isinstance(data, dict) and data.get("format") == FORMAT and valid(data.get("data"))
    except (KeyError, TypeError, ValueError, AttributeError, IndexError):
        ok = False
    return data["data"] if ok else None


def store(name: str, data: Any) -> None:
    """Atomically; a cache that cannot be written (read-only home) is skipped, not fatal."""
    with contextlib.suppress(OSError):
        atomic_write_json(root() / f"{name}.json", {"format": FORMAT, "data": data})


def cached(
    model_dir: Path | None,
    kind: str,
    payload: Any,
    compute: Callable[[], Any],
    valid: Callable[[Any], bool],
) -> tuple[Any, bool]:
    """(data, True) from the cache, else (compute(), False) and stored. No `model_dir`: no
    cache (the model's files are what the key is about)."""
    if model_dir is None:
        return compute(), False
    name = key(model_dir, kind, payload)
    hit = load(name, valid)
    if hit is not None:
        return hit, True
    data = compute()
    store(name, data)
    return data, False


def model_dir_of(lm: Any) -> Path | None:
    """The local folder a LanguageModel was loaded from, when it says (transformers keeps it
    as `name_or_path`); None for anything else (a wrapper, a served model)."""
    model = getattr(lm, "model", None)
    where = getattr(model, "name_or_path", None)
    if not where:
        return None
    folder = Path(str(where))
    return folder if (folder / "config.json").is_file() else None
