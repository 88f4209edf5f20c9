"""Multiple choice by likelihood, the way lm-evaluation-harness scores it.

Each option is scored as the continuation of the question's prompt: the chat template's
generation prompt, plus an optional answer *stem* the reply starts with ("The capital of
Australia is"), a cloze as lm-eval poses most multiple-choice tasks, so a chat model that
answers in sentences is scored on the words that carry the fact, not on how it opens a reply.
The score is the sum of the continuation tokens' log-probabilities. The chosen option is the
one with the highest *byte-length-normalised* log-likelihood, sum / len(continuation in UTF-8
bytes, the space after a stem included), which is lm-eval's `acc_norm`; the unnormalised
`acc` choice is available too. Tokenisation follows lm-eval: the continuation's tokens are
those of encode(context + continuation) after the first len(encode(context)) tokens.

Why likelihood: a generation probe asks the model to *write* the answer, so a fine-tune that
now answers everything in its task's format fails it while still ranking "Canberra" above
"Sydney" after "The capital of Australia is". The ranking measures what the model still knows
whatever format it now writes in.

Cost: the options of a question share its context, and every context shares the probe
instruction. The shared prefix is run once, each question's context once per batch, and only
the options' own tokens once per option (their keys and values read from a cache), instead of
one full forward per option.
"""

from __future__ import annotations

import copy
import inspect
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ..core.prompts import Messages

MIN_PREFIX = 8  # a shared prefix shorter than this is not worth a separate pass
# Option rows x context tokens held in one pass's cache copy (about 3 GB for a 135M model,
# 8.6 GB for Llama-3-8B in bfloat16).
MAX_CACHED_TOKENS = 65_536
# Option tokens packed into one row behind one copy of the context (a 77-label set is ~500).
PACK_TOKENS = 1024
# Attention implementations that take a custom 4D mask (flash-attention kernels do not).
PACKABLE = ("sdpa", "eager")


@dataclass(frozen=True)
class OptionScore:
    logprob: float  # sum over the continuation's tokens
    tokens: int
    bytes: int

    @property
    def per_byte(self) -> float:
        return self.logprob / max(self.bytes, 1)


def choose(scores: Sequence[OptionScore], norm: str = "bytes") -> int:
    """Index of the chosen option: highest log-likelihood per byte ("bytes", lm-eval's
    acc_norm) or in total ("none", lm-eval's acc). Ties go to the first option."""
    if not scores:
        raise ValueError("no options to choose from")
    values = [s.per_byte if norm == "bytes" else s.logprob for s in scores]
    return max(range(len(values)), key=lambda i: (values[i], -i))


def encode_pair(lm: Any, context: str, continuation: str) -> tuple[list[int], list[int]]:
    """(context ids, continuation ids) as lm-eval splits them."""
    ctx = lm.encode(context)
    whole = lm.encode(context + continuation)
    if whole[: len(ctx)] != ctx:  # the tokenizer merged across the boundary: encode apart
        return ctx, lm.encode(continuation)
    return ctx, whole[len(ctx) :]


def continuation(option: str, stem: str | None) -> str:
    return f" {option}" if stem else option


def option_logprobs(
    lm: Any,
    prompts: Sequence[Messages],
    options: Sequence[Sequence[str]],
    batch_size: int = 16,
    stems: Sequence[str | None] | None = None,
) -> list[list[OptionScore]]:
    """Per prompt, one OptionScore per option, on the model's own device. `stems`: per
    prompt, the start of the reply the options complete (None: the reply is the option)."""
    if len(prompts) != len(options) or (stems is not None and len(stems) != len(prompts)):
        raise ValueError("one list of options (and one stem) per prompt is needed")
    contexts, conts, sizes = _encode(lm, prompts, options, stems)
    sums = _score(lm, contexts, conts, batch_size)
    return [
        [OptionScore(v, t, b) for v, (t, b) in zip(row, size, strict=True)]
        for row, size in zip(sums, sizes, strict=True)
    ]


def _encode(
    lm: Any,
    prompts: Sequence[Messages],
    options: Sequence[Sequence[str]],
    stems: Sequence[str | None] | None,
) -> tuple[list[list[int]], list[list[list[int]]], list[list[tuple[int, int]]]]:
    """Per prompt: its context's ids, each option's continuation ids, and (tokens, bytes)."""
    stems = stems if stems is not None else [None] * len(prompts)
    contexts: list[list[int]] = []
    conts: list[list[list[int]]] = []
    sizes: list[list[tuple[int, int]]] = []
    for messages, opts, stem in zip(prompts, options, stems, strict=True):
        context = lm.render(messages) + (stem or "")
        pairs = [encode_pair(lm, context, continuation(o, stem)) for o in opts]
        if not opts or any(not cont for _, cont in pairs):
            raise ValueError(f"every option must encode to tokens: {list(opts)!r}")
        contexts.append(pairs[0][0])
        conts.append([cont for _, cont in pairs])
        sizes.append([(len(c), len(continuation(o, stem).encode("utf-8")))
                      for (_, c), o in zip(pairs, opts, strict=True)])  # fmt: skip
    return contexts, conts, sizes


def _score(
    lm: Any, contexts: list[list[int]], conts: list[list[list[int]]], batch_size: int
) -> list[list[float]]:
    """Sum of each continuation's log-probs: prefix once, contexts per batch, options last."""
    import torch

    model = lm.model
    call = _Call(model)
    shared = _shared_prefix(contexts)
    prefix = call.prefix(contexts[0][:shared]) if shared else None
    result = [[math.nan] * len(c) for c in conts]
    order = sorted(range(len(contexts)), key=lambda q: len(contexts[q]))
    with torch.inference_mode():
        for start in range(0, len(order), batch_size):
            batch = order[start : start + batch_size]
            cache, mask, first = call.contexts([contexts[q][shared:] for q in batch], shared,
                                               prefix)  # fmt: skip
            rows = [(b, q, pack) for b, q in enumerate(batch)
                    for pack in _packs(conts[q], call.packed)]  # fmt: skip
            # Each row holds a copy of its context's cache: with many rows (a 77-label set
            # without packing) they go in chunks that keep that copy's size bounded.
            size = max(1, MAX_CACHED_TOKENS // max(mask.shape[1], 1))
            chunks = [rows[i : i + size] for i in range(0, len(rows), size)]
            for chunk in chunks:
                packs = [[conts[q][j] for j in pack] for _, q, pack in chunk]
                own = cache if len(chunks) == 1 else copy.deepcopy(cache)
                rest = call.tails(own, mask, [b for b, _, _ in chunk], packs)
                for (b, q, pack), sums in zip(chunk, rest, strict=True):
                    for j, tail in zip(pack, sums, strict=True):
                        result[q][j] = float(first[b, conts[q][j][0]]) + tail
    return result


def _packs(conts: list[list[int]], packed: bool) -> list[list[int]]:
    """Option indices per row: one option per row, or (when the attention takes a custom
    mask) as many as fit PACK_TOKENS in one row, each seeing the context and itself only."""
    if not packed:
        return [[j] for j in range(len(conts))]
    packs: list[list[int]] = [[]]
    used = 0
    for j, c in enumerate(conts):
        if packs[-1] and used + len(c) - 1 > PACK_TOKENS:
            packs.append([])
            used = 0
        packs[-1].append(j)
        used += len(c) - 1
    return packs


def _shared_prefix(contexts: list[list[int]]) -> int:
    """Tokens every context starts with, leaving each at least one token of its own (its last
    position's logits score the first option token)."""
    if len(contexts) < 2:
        return 0
    first, n = contexts[0], min(len(c) for c in contexts) - 1
    for c in contexts[1:]:
        k = 0
        while k < n and c[k] == first[k]:
            k += 1
        n = k
    return n if n >= MIN_PREFIX else 0


class _Call:
    """Forward passes with a KV cache, whatever this transformers version calls the cache
    argument (`cache` from 5.2x, `past_key_values` before)."""

    def __init__(self, model: Any):
        import torch

        self.model = model
        self.device = next(model.parameters()).device
        inner = model.get_base_model() if hasattr(model, "get_base_model") else model
        params = inspect.signature(inner.forward).parameters
        self.cache_kw = "cache" if "cache" in params else "past_key_values"
        self.trim = "logits_to_keep" in params
        pad = getattr(model.config, "pad_token_id", None)
        self.pad = pad if isinstance(pad, int) else 0
        self.torch = torch
        self.packed = getattr(model.config, "_attn_implementation", None) in PACKABLE

    def _run(self, ids: Any, mask: Any, positions: Any, cache: Any, last_only: bool) -> Any:
        extra = {"logits_to_keep": 1} if last_only and self.trim else {}
        out = self.model(
            input_ids=ids.to(self.device),
            attention_mask=mask.to(self.device),
            position_ids=positions.to(self.device),
            use_cache=True,
            **{self.cache_kw: cache},
            **extra,
        )
        return out.logits[:, -1:, :] if last_only else out.logits

    def new_cache(self) -> Any:
        from transformers import DynamicCache

        return DynamicCache(config=self.model.config)

    def prefix(self, ids: list[int]) -> Any:
        torch = self.torch
        cache = self.new_cache()
        tokens = torch.tensor([ids], dtype=torch.long)
        with torch.inference_mode():
            self._run(tokens, torch.ones_like(tokens), torch.arange(len(ids))[None], cache, True)
        return cache

    def contexts(self, suffixes: list[list[int]], shared: int, prefix: Any) -> tuple:
        """Each context after the shared prefix, left-padded: ([prefix][pad][suffix]). Returns
        the cache, the mask and the log-probs of the next token per row."""
        torch = self.torch
        width = max(len(s) for s in suffixes)
        ids = torch.full((len(suffixes), width), self.pad, dtype=torch.long)
        mask = torch.zeros((len(suffixes), shared + width), dtype=torch.long)
        mask[:, :shared] = 1
        for row, s in enumerate(suffixes):
            ids[row, width - len(s) :] = torch.tensor(s, dtype=torch.long)
            mask[row, shared + width - len(s) :] = 1
        if prefix is not None:
            cache = copy.deepcopy(prefix)
            cache.batch_repeat_interleave(len(suffixes))
        else:
            cache = self.new_cache()
        positions = (mask.cumsum(-1) - 1).clamp(min=0)[:, shared:]
        logits = self._run(ids, mask, positions, cache, True)[:, -1, :]
        return cache, mask, torch.log_softmax(logits.float(), dim=-1).cpu()

    def tails(
        self, cache: Any, mask: Any, rows: list[int], packs: list[list[list[int]]]
    ) -> list[list[float]]:
        """Log-probs of every continuation token after its first. Per row, one context's
        cache and its options' tokens side by side: with a packed row, a 4D mask lets each
        option see the context and its own earlier tokens, and its positions restart where
        the context ends, so every option is scored as if it were alone (a tree over the
        shared context), at one cache copy per row instead of one per option."""
        torch = self.torch
        width = max(sum(len(c) - 1 for c in pack) for pack in packs)
        if width <= 0:
            return [[0.0] * len(pack) for pack in packs]
        index = torch.tensor(rows, dtype=torch.long)
        cache.batch_select_indices(index.to(self.device))
        mask = mask[index]
        ids = torch.full((len(packs), width), self.pad, dtype=torch.long)
        positions = torch.zeros((len(packs), width), dtype=torch.long)
        seen = torch.zeros((len(packs), width, width), dtype=torch.bool)
        valid = torch.zeros((len(packs), width), dtype=torch.long)
        starts = mask.sum(-1)
        spans: list[list[tuple[int, int]]] = []
        for row, pack in enumerate(packs):
            at, own = 0, []
            for c in pack:
                k = len(c) - 1
                ids[row, at : at + k] = torch.tensor(c[:-1], dtype=torch.long)
                positions[row, at : at + k] = starts[row] + torch.arange(k)
                seen[row, at : at + k, at : at + k] = torch.ones(k, k, dtype=torch.bool).tril()
                own.append((at, k))
                at += k
            valid[row, :at] = 1
            seen[row, range(at, width), range(at, width)] = True  # padding sees itself
            spans.append(own)
        logits = self._run(ids, self._mask(mask, seen, valid), positions, cache, False)
        out = []
        for row, pack in enumerate(packs):
            lse = torch.logsumexp(logits[row].float(), dim=-1)
            sums = []
            for (at, k), c in zip(spans[row], pack, strict=True):
                targets = torch.tensor(c[1:], dtype=torch.long, device=logits.device)
                picked = logits[row, at : at + k].float().gather(-1, targets[:, None])[:, 0]
                sums.append(float((picked - lse[at : at + k]).sum()))
            out.append(sums)
        return out

    def _mask(self, past: Any, seen: Any, valid: Any) -> Any:
        """The 2D mask of context + tail when every row holds one option (the model builds
        the causal part), else the 4D additive mask: the context's keys as its 2D mask says,
        the tail's keys as `seen` says."""
        torch = self.torch
        if not self.packed:
            return torch.cat([past, valid], 1)
        rows, width = seen.shape[0], seen.shape[1]
        allowed = torch.cat([past.bool()[:, None, :].expand(rows, width, -1), seen], 2)
        dtype = next(self.model.parameters()).dtype
        full = torch.zeros(allowed.shape, dtype=dtype)
        return full.masked_fill(~allowed, torch.finfo(dtype).min)[:, None]
