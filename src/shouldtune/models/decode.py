"""Greedy batched decoding with a reusable prompt-prefix KV cache and per-row early stop.

Why a loop of our own rather than `model.generate`: a row that has finished (stop token or stop
string) leaves the batch, so its compute is saved instead of padded; stop strings are checked per
row on the decoded text; and a prefix shared by every prompt (the instruction, the fixed few-shot
demonstrations) is computed once and attended to from its cache instead of being recomputed for
every batch. Outputs match `generate(do_sample=False)` on the same prompts.

Layout of a batch with a cached prefix of P tokens: [prefix (cache)][pad ...][suffix]. Padding
sits between the prefix and each row's own suffix; the attention mask hides it and position ids
come from the mask's running count, so every real token keeps the position it has unpadded.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch

from .device import model_device

MIN_PREFIX_TOKENS = 16  # below this, caching the shared prefix saves less than it costs


def common_prefix_len(seqs: Sequence[Sequence[int]]) -> int:
    """Length of the longest token prefix that every sequence starts with."""
    if not seqs:
        return 0
    first, n = seqs[0], min(len(s) for s in seqs)
    for s in seqs[1:]:
        k = 0
        while k < n and s[k] == first[k]:
            k += 1
        n = k
    return n


def weights_version(model: torch.nn.Module) -> int:
    """Changes whenever a parameter is modified in place (training, merging, loading):
    a cached prefix computed with other weights must not be reused."""
    return sum(p._version for p in model.parameters())


@dataclass(frozen=True)
class StopRule:
    """When a row is done: one of `ids` generated, or one of `strings` in its decoded text."""

    ids: frozenset[int]
    strings: tuple[str, ...] = ()

    def cut(self, text: str) -> int | None:
        """Where the first stop string starts in `text`, or None."""
        hits = [i for i in (text.find(s) for s in self.strings) if i >= 0]
        return min(hits) if hits else None


@dataclass
class Decoded:
    """One row's generated ids (the stop token included) and its text before any stop."""

    ids: list[int] = field(default_factory=list)
    text: str | None = None  # set when a stop string cut it; else decode ids without the stop
    stopped: bool = False


class _Forward:
    """Calls a causal LM one step at a time, whatever name this transformers version gives
    the cache argument (`cache` from 5.2x, `past_key_values` before)."""

    def __init__(self, model: torch.nn.Module):
        self.model = model
        # A peft wrapper takes **kwargs and hands them on: read the wrapped model's signature.
        inner = model.get_base_model() if hasattr(model, "get_base_model") else model
        params = inspect.signature(inner.forward).parameters
        self.cache_kw = "cache" if "cache" in params else "past_key_values"
        self.keep_last = "logits_to_keep" in params
        self.device = model_device(model)  # every tensor we make goes here

    def new_cache(self, reserve: int = 0) -> Any:
        """An empty cache; `reserve`: positions to leave room for (appends stay in place)."""
        from .kvcache import new_cache

        return new_cache(self.model.config, reserve)

    def __call__(
        self, ids: torch.Tensor, mask: torch.Tensor | None, positions: torch.Tensor, cache: Any
    ) -> torch.Tensor:
        """Logits of the last position of each row. `mask` None: no row is padded, so the
        model builds no padding mask (transformers then skips it for one-token steps)."""
        extra = {"logits_to_keep": 1} if self.keep_last else {}
        out = self.model(
            input_ids=ids,
            attention_mask=mask,
            position_ids=positions,
            use_cache=True,
            **{self.cache_kw: cache},
            **extra,
        )
        return out.logits[:, -1, :]


@dataclass
class PrefixCache:
    """The keys and values of a token prefix, batch 1, computed once and copied per batch."""

    ids: tuple[int, ...]
    cache: Any
    model_id: int
    version: int
    device: torch.device | None = None  # where the keys and values live

    @classmethod
    @torch.inference_mode()
    def build(cls, model: torch.nn.Module, ids: Sequence[int]) -> PrefixCache:
        fwd = _Forward(model)
        cache = fwd.new_cache()
        tokens = torch.tensor([list(ids)], dtype=torch.long, device=fwd.device)
        positions = torch.arange(len(ids), device=fwd.device).unsqueeze(0)
        fwd(tokens, torch.ones_like(tokens), positions, cache)
        return cls(tuple(ids), cache, id(model), weights_version(model), fwd.device)

    def valid_for(self, model: torch.nn.Module) -> bool:
        """Same module, same weights, same device (`.to()` moves without a version bump)."""
        return (
            self.model_id == id(model)
            and self.version == weights_version(model)
            and self.device == model_device(model)
        )

    def covers(self, prompts: Sequence[Sequence[int]]) -> bool:
        """True when every prompt starts with the prefix and has a token after it."""
        n = len(self.ids)
        return all(len(p) > n and tuple(p[:n]) == self.ids for p in prompts)

    def expanded(self, batch: int, reserve: int = 0) -> Any:
        """A fresh cache for `batch` rows, room for `reserve` more positions; the stored one is
        never written to."""
        from .kvcache import repeated

        return repeated(self.cache, batch, reserve)


@torch.inference_mode()
def greedy(
    model: torch.nn.Module,
    prompts: Sequence[Sequence[int]],
    pad_id: int,
    max_new_tokens: int,
    stop: StopRule,
    decode: Callable[[list[int]], str],
    prefix: PrefixCache | None = None,
    compact: bool = True,
    pick: Callable[[torch.Tensor], torch.Tensor] | None = None,
    grammar: Any = None,
) -> list[Decoded]:
    """Greedy continuation of each prompt; rows leave the batch as soon as they stop
    (`compact=False` keeps them in it, finished or not: the benchmarks' ablation).
    `pick` maps last-position logits to next tokens instead of argmax (probes sample with it).
    `grammar` (models.constrain.Grammar): each row decodes under it, one matcher per row; a
    row whose grammar is complete with nothing but a stop token left to write stops there,
    that stop token counted as generated."""
    fwd = _Forward(model)
    start = len(prefix.ids) if prefix is not None else 0
    ids, mask = _pack([p[start:] for p in prompts], start, pad_id, fwd.device)
    room = ids.shape[1] + max_new_tokens
    cache = prefix.expanded(len(prompts), room) if prefix is not None else fwd.new_cache(room)
    positions = (mask.cumsum(-1) - 1).clamp(min=0)[:, start:]
    # Unpadded (always so at batch 1): the mask is all ones, and building it per step per
    # layer is pure overhead for a single request. Rows only ever gain ones after this.
    suffixes = [len(p) - start for p in prompts]
    padded = min(suffixes) != max(suffixes)  # from lengths: no device sync
    logits = fwd(ids, mask if padded else None, positions, cache)
    rows = list(range(len(prompts)))  # which prompt each live batch row belongs to
    done = [Decoded() for _ in prompts]
    guide = grammar.start(len(prompts)) if grammar is not None else None
    for step in range(max_new_tokens):
        if guide is not None:
            logits = guide.mask(logits, rows)
        nxt = logits.argmax(-1) if pick is None else pick(logits)
        tokens = nxt.tolist()
        keep = [
            i
            for i, row in enumerate(rows)
            if not (
                done[row].stopped
                or _append(done[row], tokens[i], stop, decode)
                or (guide is not None and _grammar_done(done[row], guide, row, tokens[i]))
            )
        ]
        if not keep or step + 1 == max_new_tokens:
            break
        if compact and len(keep) < len(rows):  # drop finished rows: no compute spent on them
            index = torch.tensor(keep, device=fwd.device)
            cache.batch_select_indices(index)
            mask, nxt = mask[index], nxt[index]
            rows = [rows[i] for i in keep]
        mask = torch.cat([mask, mask.new_ones((len(rows), 1))], dim=1)
        step_mask = mask if padded else None
        logits = fwd(nxt.unsqueeze(1), step_mask, mask.sum(-1, keepdim=True) - 1, cache)
    return done


def _pack(
    suffixes: Sequence[Sequence[int]], start: int, pad_id: int, device: torch.device
) -> tuple[torch.Tensor, ...]:
    """Ids (padded on the left of each suffix) and the mask over prefix + padded suffixes,
    built on the host in one go and moved to `device` once (not one copy per row)."""
    width = max(len(s) for s in suffixes)
    ids = torch.full((len(suffixes), width), pad_id, dtype=torch.long, device="cpu")
    mask = torch.zeros((len(suffixes), start + width), dtype=torch.long, device="cpu")
    mask[:, :start] = 1
    for row, s in enumerate(suffixes):
        ids[row, width - len(s) :] = torch.tensor(list(s), dtype=torch.long, device="cpu")
        mask[row, start + width - len(s) :] = 1
    return ids.to(device), mask.to(device)


def _append(row: Decoded, token: int, stop: StopRule, decode: Callable[[list[int]], str]) -> bool:
    """Add a generated token; True when the row is finished."""
    row.ids.append(token)
    if token in stop.ids:
        row.stopped = True
        return True
    if stop.strings:
        text = decode(row.ids)
        cut = stop.cut(text)
        if cut is not None:
            row.text, row.stopped = text[:cut], True
            return True
    return False


def _grammar_done(row: Decoded, guide: Any, index: int, token: int) -> bool:
    """Feed the token to the row's matcher; True (the row stopped) when its grammar allows
    nothing but a stop token now: that token is what the next step would be forced to write."""
    if not guide.accept(index, token):
        return False
    row.ids.append(guide.stop_id)
    row.stopped = True
    return True
