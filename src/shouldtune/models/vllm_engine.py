"""vLLM's offline engine as the generator for the local model, base and LoRA fine-tunes.

With the optional extra `shouldtune[vllm]` installed and a CUDA GPU, `--engine auto` (the
default) generates with `vllm.LLM` instead of shouldtune's decode loop: continuous batching and
paged attention for models where the loop would take hours. A LoRA fine-tune is served as an
adapter on the same engine (`LoRARequest`, no merge, no second copy of the weights).

What stays the same on either engine: the prompt (our rendering, chat template or the plain
fallback, handed to vLLM as token ids, so both see the very same tokens), greedy decoding
(temperature 0), the token budget, the stop tokens and stop strings (cut from the text), the
`Generation` records, and a structured-output constraint (models.constrain: the same JSON
schema or regex, as vLLM's `StructuredOutputsParams`, `GuidedDecodingParams` before vLLM
0.12; with neither, answers are unconstrained and `constrains()` says so). What stays on the
transformers model: anything that needs logits (the probes' likelihoods, sampled generation
through `pick`), training, and full or layer-wise fine-tunes (vLLM would need a second full
model loaded for each).
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..core.errors import InputError
from ..core.types import Generation
from .device import Hardware, dtype_name

ENGINES = ("auto", "vllm", "transformers")
# The share of GPU memory vLLM may take (weights + KV cache). The transformers copy of the
# model (probes, training) and the fine-tunes' training need the rest.
GPU_SHARE = float(os.environ.get("SHOULDTUNE_VLLM_GPU_SHARE", "0.45"))
# vLLM accepts these maximum adapter ranks.
LORA_RANKS = (8, 16, 32, 64, 128, 256, 320, 512)


def vllm_installed() -> bool:
    return importlib.util.find_spec("vllm") is not None


def resolve_engine(choice: str | None, hw: Hardware) -> str:
    """Which engine generates, for `--engine auto|vllm|transformers` on this hardware."""
    choice = (choice or "auto").strip().lower()
    if choice not in ENGINES:
        raise InputError(f"--engine {choice!r}: use one of {', '.join(ENGINES)}")
    usable = hw.device.type == "cuda" and vllm_installed()
    if choice == "vllm" and not usable:
        why = "needs a CUDA GPU (--device cuda)" if hw.device.type != "cuda" else "not installed"
        raise InputError(f"--engine vllm: {why}; pip install 'shouldtune[vllm]' on a GPU machine")
    if choice == "auto":
        return "vllm" if usable else "transformers"
    return choice


def lora_rank_limit(ranks: Sequence[int]) -> int | None:
    """vLLM's max_lora_rank for adapters of these ranks; None when none (or one too big)."""
    if not ranks:
        return None
    return next((r for r in LORA_RANKS if r >= max(ranks)), None)


@dataclass
class Adapter:
    name: str
    path: Path
    id: int


class VllmEngine:
    """Generates with a `vllm.LLM`; `sampling` and `lora_request` are vLLM's SamplingParams
    and LoRARequest classes (a test hands in stand-ins)."""

    name = "vllm"

    def __init__(
        self,
        llm: Any,
        sampling: Callable[..., Any],
        lora_request: Callable[..., Any] | None = None,
        adapter: Adapter | None = None,
        lora_rank: int | None = None,
        structured: tuple[Callable[..., Any], str] | None = None,
    ):
        self.llm, self.sampling, self.lora_request = llm, sampling, lora_request
        self.adapter, self.lora_rank = adapter, lora_rank
        # vLLM's structured-outputs class and the SamplingParams keyword that takes it.
        self.structured = structured
        self._adapters: dict[str, int] = {} if adapter is None else {adapter.name: adapter.id}

    @classmethod
    def create(
        cls, folder: Path, hw: Hardware, seed: int = 0, lora_rank: int | None = None
    ) -> VllmEngine:
        """A vLLM engine on the model folder, in the run's dtype; LoRA enabled up to
        `lora_rank` (None: no adapters)."""
        from vllm import LLM, SamplingParams
        from vllm.lora.request import LoRARequest

        lora = {"enable_lora": True, "max_lora_rank": lora_rank} if lora_rank else {}
        llm = LLM(
            model=str(folder),
            dtype=dtype_name(hw.dtype),
            seed=seed,
            gpu_memory_utilization=GPU_SHARE,
            trust_remote_code=False,
            **lora,
        )
        return cls(
            llm, SamplingParams, LoRARequest, lora_rank=lora_rank, structured=_structured_api()
        )

    def with_adapter(self, name: str, path: Path) -> VllmEngine:
        """The same engine serving a peft LoRA adapter folder; raises ValueError when the
        engine was started without LoRA (the caller then keeps the transformers path)."""
        if self.lora_request is None or not self.lora_rank:
            raise ValueError("this vLLM engine was started without LoRA support")
        ids = self._adapters
        ids.setdefault(name, len(ids) + 1)  # vLLM wants a stable positive int per adapter
        view = VllmEngine(
            self.llm,
            self.sampling,
            self.lora_request,
            Adapter(name, Path(path), ids[name]),
            structured=self.structured,
        )
        view.lora_rank, view._adapters = self.lora_rank, ids
        return view

    def describe(self) -> dict[str, Any]:
        return {"engine": self.name, "adapter": self.adapter.name if self.adapter else None}

    def constrains(self, shape: Any) -> bool:
        """Whether this vLLM can decode under a shape (it has a structured-outputs API)."""
        return self.structured is not None

    def _structured_kwargs(self, shape: Any) -> dict[str, Any]:
        """SamplingParams keywords that decode under `shape` (models.constrain.OutputShape)."""
        if shape is None or self.structured is None:
            return {}
        make, keyword = self.structured
        spec = {"regex": shape.regex} if shape.kind == "regex" else {"json": shape.schema}
        try:  # one-line JSON as in the training outputs, when they are written so
            params = make(**spec, disable_any_whitespace=shape.layout is not None)
        except TypeError:  # a vLLM without the option
            params = make(**spec)
        return {keyword: params}

    def generate(
        self,
        prompts: Sequence[Sequence[int]],
        max_new_tokens: int,
        stop: Sequence[str],
        stop_ids: Sequence[int],
        on_batch: Callable[[int], None] | None = None,
        constraint: Any = None,
    ) -> list[Generation]:
        """Greedy continuations of token-id prompts, in order. vLLM batches them itself
        (continuous batching), so there is no batch size here. `constraint`: a
        models.constrain.OutputShape every answer is decoded under."""
        if not prompts:
            return []
        params = self.sampling(
            temperature=0.0,
            max_tokens=max_new_tokens,
            stop=list(stop) or None,
            stop_token_ids=list(stop_ids) or None,
            skip_special_tokens=True,
            **self._structured_kwargs(constraint),
        )
        request = None
        if self.adapter is not None and self.lora_request is not None:
            request = self.lora_request(self.adapter.name, self.adapter.id, str(self.adapter.path))
        outputs = self.llm.generate(
            [{"prompt_token_ids": list(p)} for p in prompts],
            params,
            use_tqdm=False,
            lora_request=request,
        )
        gens = [_generation(p, out) for p, out in zip(prompts, outputs, strict=True)]
        if on_batch:
            on_batch(len(prompts))
        return gens


def _structured_api() -> tuple[Callable[..., Any], str] | None:
    """vLLM's structured-outputs class and its SamplingParams keyword: StructuredOutputsParams
    (`structured_outputs`) from vLLM 0.10.2, GuidedDecodingParams (`guided_decoding`) before;
    None when neither exists."""
    try:
        from vllm.sampling_params import StructuredOutputsParams

        return StructuredOutputsParams, "structured_outputs"
    except ImportError:
        pass
    try:
        from vllm.sampling_params import GuidedDecodingParams

        return GuidedDecodingParams, "guided_decoding"
    except ImportError:
        return None


def _generation(prompt: Sequence[int], output: Any) -> Generation:
    """vLLM's RequestOutput as ours: its text already lacks the stop string (and special
    tokens); its token ids include a stop token, as our count does."""
    first = output.outputs[0]
    return Generation(first.text.strip(), len(prompt), len(first.token_ids))


def loader(
    name: str, folder: Path, engine: str, seed: int, lora_rank: int | None
) -> Callable[[], Any]:
    """The run's local-model loader: the transformers model on the run's device, with a vLLM
    engine attached when `engine` is "vllm" (`lora_rank`: the largest adapter to serve)."""

    def load() -> Any:
        from .device import current
        from .lm import LanguageModel

        lm = LanguageModel.load(name, folder)
        if engine == "vllm":
            lm.engine = VllmEngine.create(folder, current(), seed, lora_rank)
        return lm

    return load
