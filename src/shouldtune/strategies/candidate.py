"""candidate:<name>: somebody else's model, zero-shot. `--candidate PATH` adds one per model:
a local model folder, or a hub model id already in the local Hugging Face cache.

Dynamic (one per model), so it is not in the registry: run.plan() adds them.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from ..core.errors import InputError
from ..core.fileio import folder_fingerprint
from ..core.prompts import chat
from ..core.types import Example, Kind, Task
from .base import ChatStrategy, Options, RunContext

PREFIX = "candidate:"


def _has_weights(folder: Path) -> bool:
    return (folder / "config.json").is_file() and any(folder.glob("*.safetensors"))


def _from_hub_cache(repo_id: str) -> Path | None:
    """The local snapshot of an already-downloaded hub model; never downloads."""
    if not re.fullmatch(r"[\w.-]+/[\w.-]+", repo_id):
        return None
    try:
        from huggingface_hub import snapshot_download

        return Path(snapshot_download(repo_id, local_files_only=True))
    except Exception:  # not in the cache (or a broken cache entry): not usable offline
        return None


def resolve_candidate(spec: str) -> tuple[str, Path]:
    """(short name, local folder) for --candidate SPEC; InputError when it cannot be used."""
    path = Path(spec).expanduser()
    folder = path if path.is_dir() else _from_hub_cache(spec)
    if folder is None:
        raise InputError(
            f"--candidate {spec!r}: not a local model folder, nor a hub model in the local"
            " Hugging Face cache (nothing is downloaded at run time)"
        )
    if not _has_weights(folder):
        raise InputError(f"--candidate {spec!r}: needs config.json and *.safetensors weights")
    short = path.name if path.is_dir() else spec.split("/")[-1]
    return re.sub(r"[^\w.-]+", "-", short).strip("-") or "model", folder


class Candidate(ChatStrategy):
    kind = Kind.PROMPTING
    Options = Options
    uses_run_model = False  # always its own local model, never the served backend

    def __init__(self, name: str, folder: Path, spec: str):
        super().__init__(Options())
        self.name = name
        self.folder = folder
        self.spec = spec
        self.lm: Any = None

    def skip_reason(self, task: Task) -> str | None:
        return None

    def cache_identity(self) -> dict[str, str]:
        """A resumed run reuses a cached result only for the same model files."""
        return {"folder": str(self.folder.resolve()), "files": folder_fingerprint(self.folder)}

    def prepare(self, ctx: RunContext) -> dict[str, Any]:
        from ..models.lm import LanguageModel

        self.lm = LanguageModel.load(self.name, self.folder)
        return {"model": self.spec, "parameters": self.lm.parameters}

    def model(self, ctx: RunContext) -> Any:
        return self.lm

    def messages(self, example: Example, ctx: RunContext) -> list[dict[str, str]]:
        return chat(ctx.task.instruction, example.input, example.system)


def candidates(specs: list[str], taken: set[str]) -> list[Candidate]:
    """One strategy per --candidate, with unique names (a suffix when folder names clash)."""
    made: list[Candidate] = []
    for spec in specs:
        short, folder = resolve_candidate(spec)
        name, n = f"{PREFIX}{short}", 2
        while name in taken:
            name, n = f"{PREFIX}{short}-{n}", n + 1
        taken.add(name)
        made.append(Candidate(name, folder, spec))
    return made
