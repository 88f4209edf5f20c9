"""A causal LM with its tokenizer: chat prompts in, batched greedy generations out."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from ..core.prompts import Messages
from ..core.types import Generation
from . import memory
from .decode import MIN_PREFIX_TOKENS, PrefixCache, StopRule, common_prefix_len, greedy
from .device import Hardware, current, free_memory, model_device

if TYPE_CHECKING:
    from .constrain import OutputShape

# Without a chat template the prompt is "Role: text" lines ending in "Assistant:"; a base model
# goes on to write the next turn itself, so a new turn ends the answer.
FALLBACK_STOPS = ("\nUser:", "\nSystem:")


@dataclass
class LanguageModel:
    name: str
    model: torch.nn.Module
    tokenizer: object
    # A serving engine (vLLM) that generates for this model instead of the decode loop.
    engine: object | None = field(default=None, repr=False, compare=False)
    # The last shared-prompt prefix's KV cache; checked against the weights before reuse.
    _prefix: PrefixCache | None = field(default=None, repr=False, compare=False)
    # The largest batch that fitted after an out-of-memory error (None: never ran out).
    _max_batch: int | None = field(default=None, repr=False, compare=False)

    @classmethod
    def load(cls, name: str, folder: Path, hardware: Hardware | None = None) -> LanguageModel:
        """Weights in the run's dtype, placed on the run's device (`models.device.current()`
        unless `hardware` says otherwise): straight to the GPU, not through a CPU copy."""
        from transformers import AutoModelForCausalLM, AutoTokenizer

        hw = hardware or current()
        tok = AutoTokenizer.from_pretrained(folder, trust_remote_code=False)
        placement = {} if hw.device.type == "cpu" else {"device_map": str(hw.device)}
        model = AutoModelForCausalLM.from_pretrained(
            folder, dtype=hw.dtype, use_safetensors=True, trust_remote_code=False, **placement
        )
        model.eval()
        return cls(name, model, tok)

    @property
    def parameters(self) -> int:
        return sum(p.numel() for p in self.model.parameters())

    @property
    def device(self) -> torch.device:
        return model_device(self.model)

    @property
    def engine_name(self) -> str:
        """What generates: "vllm" with a serving engine, else "transformers" (our loop)."""
        return getattr(self.engine, "name", "engine") if self.engine is not None else "transformers"

    def tuned(self, name: str, model: torch.nn.Module, adapter: Path | None = None):
        """A fine-tune of this model for serving, on this model's device (training may have
        left it elsewhere): `model` holds its weights (the probes and the transformers path use
        them); with a serving engine and a peft LoRA `adapter` folder, the engine generates
        with the adapter instead of the merged copy."""
        if model_device(model) != self.device:
            model = model.to(self.device)
        engine = None
        if self.engine is not None and adapter is not None:
            try:
                engine = self.engine.with_adapter(name, adapter)  # type: ignore[attr-defined]
            except ValueError:  # started without LoRA support: our loop serves it
                engine = None
        return LanguageModel(name, model, self.tokenizer, engine=engine)

    def has_chat_template(self) -> bool:
        return bool(getattr(self.tokenizer, "chat_template", None))

    def stop_strings(self, stop: Sequence[str] = ()) -> tuple[str, ...]:
        """`stop` plus, for a model without a chat template, the start of a new turn."""
        extra = () if self.has_chat_template() else FALLBACK_STOPS
        return tuple(dict.fromkeys(s for s in (*stop, *extra) if s))

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
        if self.has_chat_template():
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
        constraint: OutputShape | None = None,
    ) -> list[Generation]:
        """Greedy decoding, length-sorted batches with left padding, stop at EOS, <|im_end|> or
        any of `stop` (cut from the text). The token prefix shared by every prompt is computed
        once and its KV cache reused across batches (and by later calls that share it).
        `pick` maps logits to next tokens instead of argmax (the probes sample with it).
        `constraint`: every answer is decoded under this shape (models.constrain: a JSON
        schema or regex compiled by xgrammar for this tokenizer, one matcher per row).
        On out-of-memory the batch is halved and retried, and stays halved for later calls
        (`models.memory` records it). With a serving engine (and no `pick`) the engine
        generates the same prompts instead."""
        encoded = [self.encode(self.render(c)) for c in conversations]
        stop = self.stop_strings(stop)
        if self.engine is not None and pick is None:
            extra = {"constraint": constraint} if constraint is not None else {}
            return self.engine.generate(  # type: ignore[attr-defined]
                encoded, max_new_tokens, stop, self.stop_ids(), on_batch=on_batch, **extra
            )
        grammar = self.grammar_for(constraint) if constraint is not None else None
        prefix = self.prefix_for(encoded) if reuse_prefix else None
        order = sorted(range(len(encoded)), key=lambda i: len(encoded[i]))
        results: list[Generation | None] = [None] * len(encoded)
        size, start = min(batch_size, self._max_batch or batch_size), 0
        while start < len(order):
            batch = order[start : start + size]
            outs = self._try_batch(
                [encoded[i] for i in batch], max_new_tokens, stop, prefix, pick, grammar
            )
            if outs is None:  # out of memory: half the rows per batch from here on
                half = (len(batch) + 1) // 2
                memory.record("generation batch", self.name, len(batch), half)
                size = self._max_batch = half
                continue
            for i, gen in zip(batch, outs, strict=True):
                results[i] = gen
            start += len(batch)
            if on_batch:
                on_batch(len(batch))
        return results  # type: ignore[return-value]

    def constrains(self, shape: OutputShape) -> bool:
        """Whether `generate(constraint=shape)` decodes under it: our loop always does; a
        serving engine says for itself."""
        engine = self.engine
        return engine.constrains(shape) if engine is not None else True  # type: ignore[attr-defined]

    def grammar_for(self, shape: OutputShape) -> Any:
        """The shape compiled for this tokenizer and the model's vocabulary (cached)."""
        from .constrain import grammar_for

        vocab = getattr(self.model.config, "vocab_size", None) or len(self.tokenizer)
        return grammar_for(shape, self.tokenizer, vocab, self.stop_ids())

    def _try_batch(self, prompts: list[list[int]], *args: Any) -> list[Generation] | None:
        """One batch; None when it ran out of memory and a smaller batch could be tried."""
        try:
            return self._generate_batch(prompts, *args)
        except Exception as exc:
            if len(prompts) <= 1 or not memory.is_oom(exc):
                raise
        free_memory(self.device)  # out of the except block: the failed step's tensors are gone
        return None

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
        grammar: Any = None,
    ) -> list[Generation]:
        pad = self.tokenizer.pad_token_id
        if pad is None:
            pad = self.tokenizer.eos_token_id
        rule = StopRule(frozenset(self.stop_ids()), tuple(s for s in stop if s))
        rows = greedy(
            self.model,
            prompts,
            pad,
            max_new_tokens,
            rule,
            self._decode,
            prefix,
            pick=pick,
            grammar=grammar,
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
