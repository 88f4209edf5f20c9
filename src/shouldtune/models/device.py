"""Where the models run and in which precision: `--device` and `--dtype`, resolved once per run.

Hardware is the runner's choice, not the task's, so it is not in task.yaml. The run calls
`select()` once; every loader (the language model, candidates, MiniLM embeddings, the training
accelerator) reads `current()`. Without a `select()` (library use, tests) it is the CPU in
float32, as before this option existed.

auto device: CUDA when torch sees a GPU, else Apple's MPS, else the CPU.
auto dtype: bfloat16 on a CUDA GPU that supports it (Ampere and newer), float16 on older CUDA
GPUs and on MPS, float32 on the CPU. float16 on the CPU is refused: most CPU kernels lack it
and it overflows where bfloat16 does not.
"""

from __future__ import annotations

import gc
import os
import platform
from dataclasses import dataclass
from typing import Any

import torch

from ..core.errors import InputError

DEVICES = ("auto", "cpu", "cuda", "mps")
DTYPES = ("auto", "float32", "bfloat16", "float16")


@dataclass(frozen=True)
class Hardware:
    """The resolved choice: a concrete torch device and dtype."""

    device: torch.device
    dtype: torch.dtype

    @property
    def is_gpu(self) -> bool:
        return self.device.type in ("cuda", "mps")


CPU_FLOAT32 = Hardware(torch.device("cpu"), torch.float32)
_current = CPU_FLOAT32
_selected = False  # whether a run chose (an `accelerate launch` worker leaves it to accelerate)


def _mps_available() -> bool:
    mps = getattr(torch.backends, "mps", None)
    return bool(mps and mps.is_available())


def resolve_device(name: str | None) -> torch.device:
    """`auto|cpu|cuda|cuda:N|mps` -> a device torch can use here; InputError otherwise."""
    name = (name or "auto").strip().lower()
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda", torch.cuda.current_device())
        return torch.device("mps") if _mps_available() else torch.device("cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        raise InputError(f"--device {name!r}: use one of {', '.join(DEVICES)}") from None
    if device.type == "cpu":
        return device
    if device.type == "cuda":
        if not torch.cuda.is_available():
            built = "built without CUDA" if torch.version.cuda is None else "sees no GPU"
            raise InputError(f"--device cuda: this torch ({torch.__version__}) {built}")
        index = device.index if device.index is not None else torch.cuda.current_device()
        if index >= torch.cuda.device_count():
            raise InputError(f"--device {name}: only {torch.cuda.device_count()} GPU(s) visible")
        return torch.device("cuda", index)
    if device.type == "mps":
        if not _mps_available():
            raise InputError("--device mps: Apple's MPS backend is not available here")
        return device
    raise InputError(f"--device {name!r}: use one of {', '.join(DEVICES)}")


def resolve_dtype(name: str | None, device: torch.device) -> torch.dtype:
    """`auto|float32|bfloat16|float16` for `device`; InputError for float16 on the CPU."""
    name = (name or "auto").strip().lower()
    if name == "auto":
        if device.type == "cuda":
            return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        return torch.float16 if device.type == "mps" else torch.float32
    dtype = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}.get(
        name
    )
    if dtype is None:
        raise InputError(f"--dtype {name!r}: use one of {', '.join(DTYPES)}")
    if dtype == torch.float16 and device.type == "cpu":
        raise InputError("--dtype float16 is not supported on the CPU: use float32 or bfloat16")
    return dtype


def select(device: str | None = "auto", dtype: str | None = "auto") -> Hardware:
    """Resolve the run's choice and make it what `current()` returns from now on."""
    global _current, _selected
    resolved = resolve_device(device)
    _current = Hardware(resolved, resolve_dtype(dtype, resolved))
    _selected = True
    if resolved.type == "cuda":  # accelerate and libraries that say plain "cuda" use this one
        torch.cuda.set_device(resolved)
    return _current


def current() -> Hardware:
    """The run's hardware (CPU float32 until a run selects otherwise)."""
    return _current


def selected() -> Hardware | None:
    """The run's explicit choice, or None when nothing was selected in this process."""
    return _current if _selected else None


def reset() -> None:
    """Back to the CPU in float32, nothing selected (tests; a library caller between runs)."""
    global _current, _selected
    _current, _selected = CPU_FLOAT32, False


def dtype_name(dtype: torch.dtype) -> str:
    return str(dtype).removeprefix("torch.")


def describe(hw: Hardware | None = None) -> dict[str, Any]:
    """What results.json records under model.hardware: device, dtype, the GPU's name and
    memory (None on the CPU), the CPU and torch's thread count."""
    hw = hw or _current
    gpu = None
    if hw.device.type == "cuda":
        props = torch.cuda.get_device_properties(hw.device)
        gpu = {
            "name": props.name,
            "memory_gb": round(props.total_memory / 2**30, 1),
            "compute_capability": f"{props.major}.{props.minor}",
            "count": torch.cuda.device_count(),
        }
    elif hw.device.type == "mps":
        gpu = {"name": "Apple MPS", "memory_gb": None}
    return {
        "device": str(hw.device),
        "dtype": dtype_name(hw.dtype),
        "gpu": gpu,
        "cpu": _cpu_name(),
        "cpu_cores": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "torch": torch.__version__,
    }


def _cpu_name() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def model_device(model: torch.nn.Module) -> torch.device:
    """Where a model's weights are (the first parameter's device; CPU for a weightless stub)."""
    param = next(iter(model.parameters()), None)
    return param.device if param is not None else torch.device("cpu")


def free_memory(device: torch.device | None = None) -> None:
    """After an out-of-memory error: drop garbage and the allocator's cached blocks."""
    gc.collect()
    if torch.cuda.is_available() and (device is None or device.type == "cuda"):
        torch.cuda.empty_cache()
    if device is not None and device.type == "mps" and _mps_available():
        torch.mps.empty_cache()
