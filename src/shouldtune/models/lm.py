"""A causal LM with its tokenizer: chat prompts in, batched greedy generations out."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import torch

from ..core.prompts import Messages
from ..core.types import Generation


@dataclass
class LanguageModel:
    name: str
    model: torch.nn.Module
    tokenizer: object

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

    @torch.inference_mode()
    def generate(
        self,
        conversations: Sequence[Messages],
        max_new_tokens: int = 48,
        batch_size: int = 8,
        on_batch: Callable[[int], None] | None = None,
    ) -> list[Generation]:
        """Greedy decoding, length-sorted batches with left padding, stop at EOS."""
        encoded = [self.encode(self.render(c)) for c in conversations]
        order = sorted(range(len(encoded)), key=lambda i: len(encoded[i]))
        results: list[Generation | None] = [None] * len(encoded)
        for start in range(0, len(order), batch_size):
            batch = order[start : start + batch_size]
            outs = self._generate_batch([encoded[i] for i in batch], max_new_tokens)
            for i, gen in zip(batch, outs, strict=True):
                results[i] = gen
            if on_batch:
                on_batch(len(batch))
        return results  # type: ignore[return-value]

    def _generate_batch(self, prompts: list[list[int]], max_new_tokens: int) -> list[Generation]:
        pad = self.tokenizer.pad_token_id
        if pad is None:
            pad = self.tokenizer.eos_token_id
        width = max(len(p) for p in prompts)
        ids = torch.full((len(prompts), width), pad, dtype=torch.long)
        mask = torch.zeros((len(prompts), width), dtype=torch.long)
        for row, p in enumerate(prompts):
            ids[row, width - len(p) :] = torch.tensor(p)
            mask[row, width - len(p) :] = 1
        stops = self.stop_ids()
        out = self.model.generate(
            input_ids=ids,
            attention_mask=mask,
            max_new_tokens=max_new_tokens,
            do_sample=False,
            eos_token_id=stops,
            pad_token_id=pad,
        )
        gens = []
        for row, p in enumerate(prompts):
            new = out[row, width:].tolist()
            cut = next((k for k, t in enumerate(new) if t in stops), len(new))
            text = self.tokenizer.decode(new[:cut], skip_special_tokens=True)
            gens.append(Generation(text.strip(), len(p), cut + (cut < len(new))))
        return gens
