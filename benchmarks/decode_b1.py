"""Where batch-1 decoding's time goes on this CPU (issue 15), side by side in one run:

(a) memory streaming: a reduction over 540 MB (the model's float32 weights) against torch's
    one-row matrix-vector product over weights shaped like the model's, with `F.linear` and
    with each weight split into two row halves (one `bmm`: MKL then gives each thread a half);
(b) the bundled model's decode step (one token after a 40-token prompt, transformers' cache) at
    batch 1, 8 and 32, with its linear layers as they are and with the split, and the largest
    logit difference the split makes.

    .venv/bin/python benchmarks/decode_b1.py

Prints a table and writes benchmarks/results/decode_b1.json.
"""

from __future__ import annotations

import time
import types
from collections.abc import Callable

import torch
from benchutil import load_bundled_lm, machine, table, write_json

# One layer's linear shapes in SmolLM2-135M (q, k, v, o, gate, up, down), 30 layers, tied head.
SHAPES = [(576, 576), (192, 576), (192, 576), (576, 576), (1536, 576), (1536, 576), (576, 1536)]
LAYERS, VOCAB, WIDTH = 30, 49152, 576


def seconds(fn: Callable[[], object], repeats: int = 5) -> float:
    fn()
    start = time.perf_counter()
    for _ in range(repeats):
        fn()
    return (time.perf_counter() - start) / repeats


def split_linear(x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    """x @ w.T as two half-row products in one bmm; falls back when rows are many or odd."""
    rows = x.numel() // x.shape[-1]
    if rows > 64 or w.shape[0] % 2 or torch.is_grad_enabled():
        return torch.nn.functional.linear(x, w)
    flat = x.reshape(rows, x.shape[-1]).T.unsqueeze(0).expand(2, -1, -1)
    out = torch.bmm(w.view(2, -1, w.shape[1]), flat)  # (2, out/2, rows)
    return out.permute(2, 0, 1).reshape(*x.shape[:-1], w.shape[0])


def streaming() -> list[list[object]]:
    weights = [torch.randn(o, i) for _ in range(LAYERS) for o, i in SHAPES]
    weights.append(torch.randn(VOCAB, WIDTH))
    nbytes = sum(w.numel() for w in weights) * 4
    flat = torch.randn(nbytes // 4)
    xs = {i: torch.randn(1, i) for i in (576, 1536)}

    def all_linears(op: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]) -> None:
        for w in weights:
            op(xs[w.shape[1]], w)

    rows = []
    with torch.inference_mode():
        for name, fn in (
            ("sum over the weights' bytes", lambda: flat.sum()),
            ("F.linear, one row, every weight", lambda: all_linears(torch.nn.functional.linear)),
            ("split bmm, one row, every weight", lambda: all_linears(split_linear)),
        ):
            s = seconds(fn)
            rows.append([name, round(s * 1000, 1), round(nbytes / s / 1e9, 1)])
    return rows


def decode_steps(lm: object) -> list[list[object]]:
    from transformers import DynamicCache

    model = lm.model.eval()  # type: ignore[attr-defined]
    linears = [m for m in model.modules() if isinstance(m, torch.nn.Linear)]

    def use_split(on: bool) -> None:
        for m in linears:
            if on:
                m.forward = types.MethodType(lambda self, x: split_linear(x, self.weight), m)
            else:
                m.__dict__.pop("forward", None)

    def step_ms(batch: int) -> tuple[float, torch.Tensor]:
        gen = torch.Generator().manual_seed(batch)
        ids = torch.randint(100, 2000, (batch, 40), generator=gen)
        with torch.inference_mode():
            cache = DynamicCache()
            out = model(input_ids=ids, past_key_values=cache, use_cache=True, logits_to_keep=1)
            nxt = out.logits[:, -1].argmax(-1, keepdim=True)
            start, steps = time.perf_counter(), 8
            for _ in range(steps):
                out = model(input_ids=nxt, past_key_values=cache, use_cache=True, logits_to_keep=1)
                nxt = out.logits[:, -1].argmax(-1, keepdim=True)
        return (time.perf_counter() - start) / steps * 1000, out.logits

    rows = []
    for batch in (1, 8, 32):
        use_split(False)
        step_ms(batch)  # warm-up
        plain, ref = step_ms(batch)
        use_split(True)
        split, got = step_ms(batch)
        use_split(False)
        diff = f"{float((ref - got).abs().max()):.1e}"
        rows.append([batch, round(plain, 1), round(split, 1), round(plain / split, 2), diff])
    return rows


def main() -> None:
    stream = streaming()
    print(table(["weights streamed (540 MB)", "ms", "GB/s"], stream))
    steps = decode_steps(load_bundled_lm())
    heads = ["batch", "ms a step", "ms, split", "speed-up", "max |logit diff|"]
    print(table(heads, steps))
    info = machine()
    print(f"machine: {info}")
    path = write_json(
        "decode_b1",
        {
            "machine": info,
            "streaming": [dict(zip(["system", "ms", "gb_per_s"], r, strict=True)) for r in stream],
            "decode_steps": [dict(zip(heads, r, strict=True)) for r in steps],
        },
    )
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
