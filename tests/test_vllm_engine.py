"""The vLLM path's plumbing with a stand-in engine (vLLM needs a GPU): requests, stop strings,
chat rendering, adapters, outputs back as Generations, and the fallbacks."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType, SimpleNamespace

import pytest
import torch

from shouldtune.core.errors import InputError
from shouldtune.core.types import Generation
from shouldtune.models import vllm_engine
from shouldtune.models.device import CPU_FLOAT32, Hardware
from shouldtune.models.lm import LanguageModel
from shouldtune.models.vllm_engine import VllmEngine

GPU = Hardware(torch.device("cuda", 0), torch.bfloat16)


@dataclass
class FakeSampling:
    temperature: float
    max_tokens: int
    stop: list[str] | None
    stop_token_ids: list[int] | None
    skip_special_tokens: bool


@dataclass
class FakeLora:
    lora_name: str
    lora_int_id: int
    lora_path: str


class FakeLLM:
    """vllm.LLM's generate: records each call; answers "<n> tokens" with n = prompt length
    (so a test can tell the answers apart and see they come back in order)."""

    def __init__(self, **kwargs):
        self.kwargs = kwargs
        self.calls: list[dict] = []

    def generate(self, prompts, params, use_tqdm=True, lora_request=None):
        self.calls.append({"prompts": prompts, "params": params, "lora": lora_request})
        return [
            SimpleNamespace(
                outputs=[
                    SimpleNamespace(
                        text=f" answer {len(p['prompt_token_ids'])} ",
                        token_ids=[7] * (len(p["prompt_token_ids"]) % 5 + 1),
                    )
                ]
            )
            for p in prompts
        ]


def engine(lora_rank: int | None = 16) -> VllmEngine:
    return VllmEngine(FakeLLM(), FakeSampling, FakeLora, lora_rank=lora_rank)


CONVOS = [
    [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}],
    [{"role": "user", "content": "What is the capital of France, please?"}],
]


def test_requests_are_our_rendered_token_ids_and_greedy_with_our_stops(tiny_lm):
    fake = engine()
    lm = LanguageModel("tiny", tiny_lm.model, tiny_lm.tokenizer, engine=fake)
    advanced = []
    gens = lm.generate(CONVOS, max_new_tokens=9, stop=["###"], on_batch=advanced.append)
    (call,) = fake.llm.calls
    want_ids = [tiny_lm.encode(tiny_lm.render(c)) for c in CONVOS]
    assert [p["prompt_token_ids"] for p in call["prompts"]] == want_ids  # chat template applied
    params = call["params"]
    assert (params.temperature, params.max_tokens, params.stop) == (0.0, 9, ["###"])
    assert params.stop_token_ids == tiny_lm.stop_ids() and params.skip_special_tokens
    assert call["lora"] is None  # the base model
    assert gens == [
        Generation(f"answer {len(ids)}", len(ids), len(ids) % 5 + 1) for ids in want_ids
    ]
    assert advanced == [2]
    assert lm.engine_name == "vllm" and tiny_lm.engine_name == "transformers"


def test_sampling_with_pick_stays_on_the_transformers_model(tiny_lm):
    fake = engine()
    lm = LanguageModel("tiny", tiny_lm.model, tiny_lm.tokenizer, engine=fake)
    gens = lm.generate(CONVOS, max_new_tokens=3, pick=lambda logits: logits.argmax(-1))
    assert fake.llm.calls == []  # probes sample through logits: our loop does that
    assert gens == tiny_lm.generate(CONVOS, max_new_tokens=3)


def test_lora_fine_tunes_are_served_as_adapters(tiny_lm, tmp_path):
    fake = engine()
    base = LanguageModel("tiny", tiny_lm.model, tiny_lm.tokenizer, engine=fake)
    lora = base.tuned("tiny+lora", tiny_lm.model, adapter=tmp_path / "trained" / "lora")
    other = base.tuned("tiny+lora2", tiny_lm.model, adapter=tmp_path / "trained" / "lora2")
    again = base.tuned("tiny+lora", tiny_lm.model, adapter=tmp_path / "trained" / "lora")
    for lm in (lora, other, again, base):
        lm.generate(CONVOS[:1], max_new_tokens=2)
    requests = [c["lora"] for c in fake.llm.calls]
    assert requests[0] == FakeLora("tiny+lora", 1, str(tmp_path / "trained" / "lora"))
    assert requests[1] == FakeLora("tiny+lora2", 2, str(tmp_path / "trained" / "lora2"))
    assert requests[2] == requests[0]  # one adapter, one id
    assert requests[3] is None  # the base is untouched
    assert lora.engine.llm is base.engine.llm  # one engine, no second copy of the weights


def test_what_vllm_cannot_serve_stays_on_our_loop(tiny_lm, tmp_path):
    no_lora = LanguageModel("tiny", tiny_lm.model, tiny_lm.tokenizer, engine=engine(None))
    tuned = no_lora.tuned("tiny+lora", tiny_lm.model, adapter=tmp_path)
    assert tuned.engine is None and tuned.engine_name == "transformers"
    full = no_lora.tuned("tiny+full", tiny_lm.model)  # merged weights, no adapter
    assert full.engine is None
    plain = tiny_lm.tuned("tiny+lora", tiny_lm.model, adapter=tmp_path)  # no engine at all
    assert plain.engine is None
    assert full.generate(CONVOS, max_new_tokens=3) == tiny_lm.generate(CONVOS, max_new_tokens=3)


def test_a_model_without_chat_template_sends_its_fallback_prompt_and_turn_stops(notemplate_lm):
    fake = engine()
    lm = LanguageModel("plain", notemplate_lm.model, notemplate_lm.tokenizer, engine=fake)
    lm.generate(CONVOS[:1], max_new_tokens=4, stop=["###"])
    (call,) = fake.llm.calls
    text = notemplate_lm.tokenizer.decode(call["prompts"][0]["prompt_token_ids"])
    assert text.startswith("System: Be brief.\nUser: Hi\nAssistant:")
    assert call["params"].stop == ["###", "\nUser:", "\nSystem:"]


def test_engine_choice(monkeypatch):
    monkeypatch.setattr(vllm_engine, "vllm_installed", lambda: True)
    assert vllm_engine.resolve_engine("auto", GPU) == "vllm"
    assert vllm_engine.resolve_engine("auto", CPU_FLOAT32) == "transformers"
    assert vllm_engine.resolve_engine("transformers", GPU) == "transformers"
    with pytest.raises(InputError, match="needs a CUDA GPU"):
        vllm_engine.resolve_engine("vllm", CPU_FLOAT32)
    monkeypatch.setattr(vllm_engine, "vllm_installed", lambda: False)
    assert vllm_engine.resolve_engine("auto", GPU) == "transformers"
    with pytest.raises(InputError, match="not installed"):
        vllm_engine.resolve_engine("vllm", GPU)
    with pytest.raises(InputError, match="--engine 'tgi'"):
        vllm_engine.resolve_engine("tgi", GPU)


def test_lora_rank_limit_rounds_up_to_what_vllm_accepts():
    assert vllm_engine.lora_rank_limit([]) is None
    assert vllm_engine.lora_rank_limit([4]) == 8
    assert vllm_engine.lora_rank_limit([8, 20]) == 32
    assert vllm_engine.lora_rank_limit([1024]) is None


def test_create_starts_vllm_in_the_runs_dtype_with_lora(monkeypatch, tmp_path):
    fake = ModuleType("vllm")
    fake.LLM, fake.SamplingParams = FakeLLM, FakeSampling
    lora_mod = ModuleType("vllm.lora.request")
    lora_mod.LoRARequest = FakeLora
    monkeypatch.setitem(sys.modules, "vllm", fake)
    monkeypatch.setitem(sys.modules, "vllm.lora", ModuleType("vllm.lora"))
    monkeypatch.setitem(sys.modules, "vllm.lora.request", lora_mod)
    made = VllmEngine.create(tmp_path, GPU, seed=3, lora_rank=16)
    assert made.llm.kwargs == {
        "model": str(tmp_path),
        "dtype": "bfloat16",
        "seed": 3,
        "gpu_memory_utilization": vllm_engine.GPU_SHARE,
        "trust_remote_code": False,
        "enable_lora": True,
        "max_lora_rank": 16,
    }
    assert "enable_lora" not in VllmEngine.create(tmp_path, GPU, lora_rank=None).llm.kwargs


def test_the_runs_loader_attaches_the_engine_only_for_vllm(tiny_model_dir, monkeypatch):
    started = []

    def fake_create(folder, hw, seed=0, lora_rank=None):
        started.append((Path(folder), hw, seed, lora_rank))
        return engine(lora_rank)

    monkeypatch.setattr(VllmEngine, "create", staticmethod(fake_create))
    lm = vllm_engine.loader("tiny", tiny_model_dir, "vllm", 5, 32)()
    assert isinstance(lm.engine, VllmEngine) and started[0][2:] == (5, 32)
    plain = vllm_engine.loader("tiny", tiny_model_dir, "transformers", 5, 32)()
    assert plain.engine is None and len(started) == 1
