"""`shouldtune export RUN_DIR STRATEGY --out DIR`: a run's fine-tune as a plain model folder.

InputError (not a run folder, unknown strategy, weights gone) propagates: the CLI wrapper
prints it as one line and exits 2.
"""

from __future__ import annotations

from pathlib import Path

from rich.console import Console
from rich.markup import escape


def export_command(run_dir: Path, strategy: str, out: Path, console: Console | None = None) -> Path:
    """Merge and write the model; print where it is and how to load it."""
    from ..finetune.weights import export_model, saved_dtype

    console = console or Console()
    folder = export_model(run_dir, strategy, out)
    dtype = escape(saved_dtype(folder))
    console.print(f"wrote {escape(str(folder))} (merged, {dtype} safetensors, with tokenizer)")
    console.print(
        "load it with: transformers.AutoModelForCausalLM.from_pretrained("
        f"{escape(repr(str(folder)))})",
        highlight=False,
    )
    return folder
