"""A causal LM with its tokenizer: chat prompts in, batched greedy generations out."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import torch

from ..core.prompts import Messages
from ..core.types import Generation
from .decode import MIN_PREFIX_TOKENS, PrefixCache, StopRule, common_prefix_len, greedy


@dataclass
class LanguageModel:
    name: str
    model: torch.nn.Module
    tokenizer: object
    # The last shared-prompt prefix's KV cache; checked against the weights before reuse.
    _prefix: PrefixCache | None = field(default=None, repr=False, compare=False)

    @classmethod
    def load(cls, name: str, folder: Path) -> LanguageModel:
        from transformers import AutoModelForCausalLM, AutoTokenizer

        tok = AutoTokenizer.from_pretrained(folder, trust_remote_code=False)
        model = AutoModelForCausalLM.from_pretrained(
            folder, dtype=torch.float32, use_safetensors=True, trust_remote_code=False
        )
        model.eval()
        return cls(name, model, tok)

    @property
    def parameters(self) -> int:
        return sum(p.numel() for p in self.model.parameters())

    def stop_ids(self) -> list[int]:
        ids = {self.tokenizer.eos_token_id}
        im_end = self.tokenizer.convert_tokens_to_ids("<|im_end|>")
        if isinstance(im_end, int) and im_end != self.tokenizer.unk_token_id:
            ids.add(im_end)
        return sorted(i for i in ids if i is not None)

    def render(self, messages: Messages, answer: str | None = None) -> str:
        """The prompt text; with `answer`, the whole conversation including the reply."""
        convo = messages + (
            [{"role": "assistant", "content": answer}] if answer is not None else []
        )
        if getattr(self.tokenizer, "chat_template", None):
            return self.tokenizer.apply_chat_template(
                convo, tokenize=False, add_generation_prompt=answer is None
            )
        text = "".join(f"{m['role'].capitalize()}: {m['content']}\n" for m in messages)
        text += "Assistant:"
        return text + (f" {answer}{self.tokenizer.eos_token}" if answer is not None else "")

    def encode(self, text: str) -> list[int]:
        return self.tokenizer(text, add_special_tokens=False)["input_ids"]

    def encode_for_training(self, messages: Messages, answer: str) -> tuple[list[int], list[int]]:
        """(prompt ids, completion ids): the completion is what the loss is computed on."""
        prompt = self.render(messages)
        full = self.render(messages, answer)
        if not full.startswith(prompt):  # template re-renders the prompt: fall back to concat
            return self.encode(prompt), self.encode(answer + (self.tokenizer.eos_token or ""))
        # Chat templates end a turn with "<|im_end|>\n": the stop token is the last target.
        return self.encode(prompt), self.encode(full[len(prompt) :].rstrip())

    def generate(
        self,
        conversations: Sequence[Messages],
        max_new_tokens: int = 48,
        batch_size: int = 8,
        on_batch: Callable[[int], None] | None = None,
        stop: Sequence[str] = (),
        reuse_prefix: bool = True,
        pick: Callable[[torch.Tensor], torch.Tensor] | None = None,
    ) -> list[Generation]:
        """Greedy decoding, length-sorted batches with left padding, stop at EOS, <|im_end|> or
        any of `stop` (cut from the text). The token prefix shared by every prompt is computed
        once and its KV cache reused across batches (and by later calls that share it).
        `pick` maps logits to next tokens instead of argmax (the probes sample with it)."""
        encoded = [self.encode(self.render(c)) for c in conversations]
        prefix = self.prefix_for(encoded) if reuse_prefix else None
        order = sorted(range(len(encoded)), key=lambda i: len(encoded[i]))
        results: list[Generation | None] = [None] * len(encoded)
        for start in range(0, len(order), batch_size):
            batch = order[start : start + batch_size]
            prompts = [encoded[i] for i in batch]
            outs = self._generate_batch(prompts, max_new_tokens, stop, prefix, pick)
            for i, gen in zip(batch, outs, strict=True):
                results[i] = gen
            if on_batch:
                on_batch(len(batch))
        return results  # type: ignore[return-value]

    def prefix_for(self, prompts: Sequence[Sequence[int]]) -> PrefixCache | None:
        """The cached prefix to reuse for these prompts: the longest one they all share,
        built now when long enough, else the one kept from an earlier call if it applies."""
        if not prompts:
            return None
        # One token stays out of the prefix: the last prompt position must run to give logits.
        limit = min(len(p) for p in prompts) - 1
        shared = min(common_prefix_len(prompts), limit) if len(prompts) > 1 else 0
        kept = self._prefix
        if kept is not None and not kept.valid_for(self.model):
            kept = self._prefix = None  # computed with other weights: never again
        if kept is not None and not kept.covers(prompts):
            kept = None
        if shared >= MIN_PREFIX_TOKENS and (kept is None or shared > len(kept.ids)):
            self._prefix = kept = PrefixCache.build(self.model, prompts[0][:shared])
        return kept

    def _generate_batch(
        self,
        prompts: list[list[int]],
        max_new_tokens: int,
        stop: Sequence[str] = (),
        prefix: PrefixCache | None = None,
        pick: Callable[[torch.Tensor], torch.Tensor] | None = None,
    ) -> list[Generation]:
        pad = self.tokenizer.pad_token_id
        if pad is None:
            pad = self.tokenizer.eos_token_id
        rule = StopRule(frozenset(self.stop_ids()), tuple(s for s in stop if s))
        rows = greedy(
            self.model, prompts, pad, max_new_tokens, rule, self._decode, prefix, pick=pick
        )
        gens = []
        for p, row in zip(prompts, rows, strict=True):
            text = row.text
            if text is None:
                kept = row.ids[:-1] if row.stopped else row.ids
                text = self._decode(kept)
            gens.append(Generation(text.strip(), len(p), len(row.ids)))
        return gens

    def _decode(self, ids: list[int]) -> str:
        return self.tokenizer.decode(ids, skip_special_tokens=True)
