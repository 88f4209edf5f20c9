"""Saving what a fine-tune trained, and exporting it as a plain merged model.

A run folder keeps only what training changed: a peft adapter (LoRA) or the trained tensors
(full, layerwise) as safetensors (float32, whatever dtype training ran in), plus a manifest
naming the base model folder. Export loads the base on the CPU in the dtype its checkpoint is
stored in, applies them (LoRA merged), and writes safetensors in that same dtype with the
tokenizer: a bfloat16 model comes back bfloat16 at its own size, the bundled float32 copy float32.
Export needs no GPU and never writes a dtype the user's model did not have.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import torch

from ..core import outdir
from ..core.errors import InputError
from ..core.fileio import load_results

MANIFEST = "shouldtune-weights.json"
TENSORS = "trained.safetensors"
FORMATS = ("peft-lora", "tensors")


def write_manifest(folder: Path, strategy: str, fmt: str, base_model: str) -> None:
    meta = {"strategy": strategy, "format": fmt, "base_model": base_model}
    (folder / MANIFEST).write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")


def save_tensors(model: torch.nn.Module, names: Iterable[str], folder: Path) -> int:
    """Write the named parameters (the ones training may have changed); returns the count."""
    from safetensors.torch import save_file

    wanted = set(names)
    tensors = {
        n: p.detach().to("cpu", torch.float32).contiguous().clone()
        for n, p in model.named_parameters()
        if n in wanted
    }
    folder.mkdir(parents=True, exist_ok=True)
    save_file(tensors, str(folder / TENSORS))
    return len(tensors)


def _weights_folder(run_dir: Path, strategy: str) -> Path:
    """Where a run (results.json) or a distributed training (no results.json) saved it."""
    path = run_dir / "results.json"
    if not path.is_file():
        direct = run_dir / "trained" / strategy
        if (direct / MANIFEST).is_file():
            return direct
        raise InputError("no results.json: not a finished shouldtune run folder", run_dir)
    results = load_results(run_dir)
    tuned = [
        s
        for s in results["strategies"]
        if isinstance(s, dict)
        and isinstance(s.get("details"), dict)
        and s["details"].get("saved_to")
    ]
    entry = next((s for s in tuned if s.get("name") == strategy), None)
    if entry is None:
        names = ", ".join(str(s.get("name")) for s in tuned) or "none"
        raise InputError(f"no saved fine-tune {strategy!r} in this run; exportable: {names}", path)
    folder = (run_dir / str(entry["details"]["saved_to"])).resolve()
    if run_dir.resolve() not in folder.parents:  # results.json is data: stay in the run
        raise InputError("saved_to must lie inside the run folder", path)
    return folder


def _manifest(weights: Path) -> dict[str, Any]:
    path = weights / MANIFEST
    if not path.is_file():
        raise InputError("saved weights are missing (no manifest)", weights)
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise InputError(f"unreadable manifest ({type(exc).__name__})", path) from None
    if not isinstance(meta, dict) or meta.get("format") not in FORMATS:
        raise InputError("unknown weights format", path)
    if not (Path(str(meta.get("base_model", ""))) / "config.json").is_file():
        raise InputError(f"the base model folder {meta['base_model']!r} is gone", path)
    return meta


def load_tuned(weights: Path) -> tuple[torch.nn.Module, Any]:
    """The base model (on the CPU, in its checkpoint's dtype) with the saved training applied
    (LoRA merged), and its tokenizer."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    meta = _manifest(weights)
    base = meta["base_model"]
    model = AutoModelForCausalLM.from_pretrained(
        base, dtype="auto", use_safetensors=True, trust_remote_code=False, device_map="cpu"
    )
    if meta["format"] == "peft-lora":
        from peft import PeftModel

        model = PeftModel.from_pretrained(model, weights).merge_and_unload()
    else:
        from safetensors.torch import load_file

        result = model.load_state_dict(load_file(str(weights / TENSORS)), strict=False)
        if result.unexpected_keys:
            extra = ", ".join(result.unexpected_keys[:3])
            raise InputError(f"saved tensors do not fit the base model: {extra}", weights)
    model.eval()
    return model, AutoTokenizer.from_pretrained(base, trust_remote_code=False)


def export_model(run_dir: Path, strategy: str, out: Path) -> Path:
    """Write RUN_DIR's fine-tune STRATEGY as a merged model folder at `out`, in the base
    checkpoint's dtype."""
    run_dir, out = Path(run_dir), Path(out)
    # Before the model loads: a new or empty folder, or an earlier export (its marker).
    outdir.check_output(out, "export")
    model, tokenizer = load_tuned(_weights_folder(run_dir, strategy))
    tmp = outdir.work_folder(out, "export")
    model.save_pretrained(tmp)  # safetensors: the only format transformers v5 writes
    tokenizer.save_pretrained(tmp)
    outdir.replace(tmp, out, "export")
    return out


def saved_dtype(folder: Path) -> str:
    """The dtype a model folder's config says its weights are stored in."""
    try:
        config = json.loads((Path(folder) / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return "unknown"
    return str(config.get("dtype") or config.get("torch_dtype") or "unknown")
