"""Has somebody else done it? Search the Hugging Face Hub for fine-tuned candidate models.

Only `shouldtune models --search` talks to the Hub, with a short overall time limit; runs
never do. Offline is a normal answer (HubUnreachable), not a crash.
"""

from __future__ import annotations

import logging
import socket
import threading
import urllib.parse
from dataclasses import dataclass
from typing import Any


class HubUnreachable(Exception):
    """The Hub did not answer in time (offline, DNS, firewall, outage)."""


@dataclass(frozen=True)
class HubModel:
    id: str
    pipeline_tag: str
    downloads: int
    likes: int
    licence: str


def _licence(info: Any) -> str:
    for tag in getattr(info, "tags", None) or []:
        if isinstance(tag, str) and tag.startswith("license:"):
            return tag.removeprefix("license:")
    card = getattr(info, "card_data", None) or {}
    value = card.get("license") if isinstance(card, dict) else getattr(card, "license", None)
    return str(value) if value else "unknown"


def to_hub_model(info: Any) -> HubModel:
    return HubModel(
        id=str(info.id),
        pipeline_tag=str(getattr(info, "pipeline_tag", None) or ""),
        downloads=int(getattr(info, "downloads", None) or 0),
        likes=int(getattr(info, "likes", None) or 0),
        licence=_licence(info),
    )


def _probe(endpoint: str, timeout_s: float) -> None:
    """Fail fast when the Hub's host cannot even be reached (the client would retry ~25 s)."""
    parts = urllib.parse.urlsplit(endpoint)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        socket.create_connection((parts.hostname or "", port), timeout=timeout_s).close()
    except OSError as exc:
        raise HubUnreachable(f"{parts.hostname}: {exc}") from None


def search_hub(
    query: str,
    task: str | None = None,
    limit: int = 10,
    timeout_s: float = 10.0,
    api: Any = None,
) -> list[HubModel]:
    """Models matching the keywords (and pipeline task), most downloaded first."""
    if api is None:
        from huggingface_hub import HfApi, constants

        _probe(constants.ENDPOINT, min(timeout_s, 3.0))
        api = HfApi()
    box: dict[str, Any] = {}

    def fetch() -> None:
        try:
            found = api.list_models(
                search=query or None, pipeline_tag=task, sort="downloads", limit=limit
            )
            box["models"] = [to_hub_model(m) for m in found]
        except Exception as exc:  # any client or network error means: no answer
            box["error"] = exc

    hub_log = logging.getLogger("huggingface_hub")
    level = hub_log.level
    hub_log.setLevel(logging.ERROR)  # its retry warnings would bury the one-line answer
    try:
        thread = threading.Thread(target=fetch, daemon=True, name="shouldtune-hub-search")
        thread.start()
        thread.join(timeout_s)
    finally:
        hub_log.setLevel(level)
    if thread.is_alive():
        raise HubUnreachable(f"no answer within {timeout_s:g} s")
    if "error" in box:
        exc = box["error"]
        raise HubUnreachable(f"{type(exc).__name__}: {exc}"[:200])
    return box["models"]
