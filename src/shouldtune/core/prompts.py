"""Chat message builders shared by prompting strategies (plain dicts, no torch)."""

from __future__ import annotations

from collections.abc import Sequence

from .types import Example

Messages = list[dict[str, str]]


def chat(instruction: str, user: str, system: str | None = None) -> Messages:
    msgs = []
    if system or instruction:
        msgs.append({"role": "system", "content": system or instruction})
    msgs.append({"role": "user", "content": user})
    return msgs


def few_shot(instruction: str, shots: Sequence[Example], example: Example) -> Messages:
    """Demonstrations as earlier user/assistant turns, then the real input."""
    msgs = chat(instruction, "", example.system)[:-1]
    for shot in shots:
        msgs.append({"role": "user", "content": shot.input})
        msgs.append({"role": "assistant", "content": shot.output})
    msgs.append({"role": "user", "content": example.input})
    return msgs
