"""Export writes the base checkpoint's own dtype: a bfloat16 model comes back bfloat16."""

from __future__ import annotations

import copy
import json

import torch

from shouldtune.finetune import weights


def test_a_bfloat16_base_exports_bfloat16_with_the_trained_tensors(tiny_lm, tmp_path):
    base = tmp_path / "base"
    copy.deepcopy(tiny_lm.model).to(torch.bfloat16).save_pretrained(base)
    tiny_lm.tokenizer.save_pretrained(base)
    assert weights.saved_dtype(base) == "bfloat16"

    trained = copy.deepcopy(tiny_lm.model)  # float32, as training saves its tensors
    name = "model.layers.1.mlp.down_proj.weight"
    with torch.no_grad():
        dict(trained.named_parameters())[name].add_(0.5)
    folder = tmp_path / "run" / "trained" / "layerwise"
    weights.save_tensors(trained, [name], folder)
    weights.write_manifest(folder, "layerwise", "tensors", str(base))

    model, tokenizer = weights.load_tuned(folder)
    assert {p.dtype for p in model.parameters()} == {torch.bfloat16}
    assert next(model.parameters()).device.type == "cpu"
    got = dict(model.named_parameters())[name]
    want = dict(trained.named_parameters())[name].to(torch.bfloat16)
    assert torch.equal(got, want)  # the trained tensor, cast once
    untouched = "model.layers.0.mlp.down_proj.weight"
    assert torch.equal(
        dict(model.named_parameters())[untouched],
        dict(tiny_lm.model.named_parameters())[untouched].to(torch.bfloat16),
    )
    out = tmp_path / "exported"
    model.save_pretrained(out)
    assert json.loads((out / "config.json").read_text())["dtype"] == "bfloat16"
