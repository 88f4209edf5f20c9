"""A served model behind an OpenAI-compatible chat API (a hosted model, vLLM, llama.cpp).

Same `generate` interface as LanguageModel, so every prompting strategy can use it. The API key
is read from an environment variable at start and kept only in memory: it never reaches
results.json, a report or an error message.

Failures: 429 and 5xx replies, timeouts, dropped connections and malformed replies are retried
with exponential backoff (Retry-After honoured); a request that still fails gives an empty
answer and is counted. Other 4xx replies (bad key, unknown model) and a server that stops
answering altogether end the run with one clear line.

Structured outputs: with a JSON shape (models.constrain) the request carries
`response_format` (`json_schema` with the schema; `json_object` when only "a JSON object" is
known). A regex shape is not sent: the OpenAI API has no regex format, so those answers are
unconstrained here and `constrains()` says so (the run still counts the invalid ones).
"""

from __future__ import annotations

import json
import os
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, replace
from typing import Any

from ..core.errors import InputError, ServiceError
from ..core.types import Generation

RETRY_STATUS = {408, 409, 425, 429, 500, 502, 503, 504}
MAX_CONSECUTIVE_FAILURES = 5


class BackendError(ServiceError):
    """The backend cannot be used at all (unreachable, refused, wrong model)."""


class _Retry(Exception):
    def __init__(self, kind: str, message: str, wait_s: float | None = None):
        super().__init__(message)
        self.kind = kind  # "rate_limited", "timeouts", "malformed" or "server"
        self.wait_s = wait_s


@dataclass
class BackendStats:
    requests: int = 0
    retries: int = 0
    rate_limited: int = 0
    timeouts: int = 0
    malformed: int = 0
    server_errors: int = 0
    failed: int = 0
    last_error: str = ""


def redact_url(url: str) -> str:
    """The URL without user info, query or fragment (they can carry secrets)."""
    parts = urllib.parse.urlsplit(url)
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urllib.parse.urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def parse_reply(body: bytes) -> Generation:
    """The answer in a chat completion reply; ValueError when the reply is malformed."""
    try:
        data = json.loads(body)
        message = data["choices"][0]["message"]
    except (ValueError, KeyError, IndexError, TypeError) as exc:
        raise ValueError(f"malformed reply ({type(exc).__name__}: {exc})"[:200]) from None
    content = message.get("content") if isinstance(message, dict) else None
    if content is not None and not isinstance(content, str):
        raise ValueError("malformed reply (message content is not a string)")
    usage = data.get("usage") if isinstance(data.get("usage"), dict) else {}
    prompt, new = usage.get("prompt_tokens", 0), usage.get("completion_tokens", 0)
    return Generation(
        (content or "").strip(),
        prompt if isinstance(prompt, int) else 0,
        new if isinstance(new, int) else 0,
    )


class OpenAIBackend:
    def __init__(
        self,
        base_url: str,
        model: str,
        api_key_env: str | None = None,
        timeout_s: float = 60.0,
        max_retries: int = 4,
        backoff_s: float = 1.0,
        max_backoff_s: float = 30.0,
        sleep: Callable[[float], None] = time.sleep,
    ):
        if not base_url.startswith(("http://", "https://")):
            raise InputError(f"backend base URL must start with http:// or https://: {base_url!r}")
        self.base_url = base_url.rstrip("/")
        self.model = model
        self.api_key_env = api_key_env
        self._api_key = self._read_key(api_key_env)
        self.timeout_s, self.max_retries = timeout_s, max_retries
        self.backoff_s, self.max_backoff_s = backoff_s, max_backoff_s
        self._sleep = sleep
        self.stats = BackendStats()
        self._lock = threading.Lock()
        self._consecutive_failures = 0

    @staticmethod
    def _read_key(env: str | None) -> str | None:
        if not env:
            return None
        key = os.environ.get(env)
        if not key:
            raise InputError(f"backend API key: environment variable {env} is not set")
        return key

    @property
    def name(self) -> str:
        return f"{self.model} @ {redact_url(self.base_url)}"

    def describe(self) -> dict[str, Any]:
        """For results.json: where and what, never the key itself."""
        return {
            "base_url": redact_url(self.base_url),
            "model": self.model,
            "api_key_env": self.api_key_env,
            "stats": asdict(self.stats),
        }

    def _request(self, path: str, payload: dict[str, Any] | None = None) -> Any:
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if self._api_key:
            headers["Authorization"] = f"Bearer {self._api_key}"
        data = json.dumps(payload).encode("utf-8") if payload is not None else None
        return urllib.request.Request(self.base_url + path, data=data, headers=headers)

    def check(self) -> None:
        """Fail early, before any work, when the server is unreachable or refuses the key."""
        try:
            with urllib.request.urlopen(self._request("/models"), timeout=self.timeout_s):
                pass
        except urllib.error.HTTPError as exc:
            if exc.code in (401, 403):
                message = f"backend {self.name}: HTTP {exc.code} (check the API key)"
                raise BackendError(message) from None
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise BackendError(f"backend {self.name} is not reachable: {reason}") from None

    def generate(
        self,
        conversations: Sequence[list[dict[str, Any]]],
        max_new_tokens: int = 48,
        batch_size: int = 8,
        on_batch: Callable[[int], None] | None = None,
        stop: Sequence[str] = (),
        constraint: Any = None,
    ) -> list[Generation]:
        """batch_size requests in flight at a time; results in input order. `stop` strings end
        an answer as they do on the local model (cut from the text). `constraint`: a
        models.constrain.OutputShape, sent as `response_format` when it is JSON."""
        results: list[Generation] = []
        with ThreadPoolExecutor(max_workers=max(1, batch_size)) as pool:
            for start in range(0, len(conversations), batch_size):
                chunk = conversations[start : start + batch_size]
                results += pool.map(
                    lambda c: self.complete(c, max_new_tokens, stop, constraint), chunk
                )
                if on_batch:
                    on_batch(len(chunk))
        return results

    def constrains(self, shape: Any) -> bool:
        """JSON shapes go as `response_format`; the API has no regex format."""
        return shape.kind != "regex"

    def complete(
        self,
        messages: list[dict[str, Any]],
        max_new_tokens: int,
        stop: Sequence[str] = (),
        constraint: Any = None,
    ) -> Generation:
        payload: dict[str, Any] = {
            "model": self.model,
            "messages": messages,
            "max_tokens": max_new_tokens,
            "temperature": 0,
        }
        if constraint is not None and self.constrains(constraint):
            payload["response_format"] = response_format(constraint)
        if stop:  # the API takes at most 4; the rest are cut here, after the reply
            payload["stop"] = list(stop)[:4]
        return _cut(self._complete(payload), stop)

    def _complete(self, payload: dict[str, Any]) -> Generation:
        last = ""
        for attempt in range(self.max_retries + 1):
            try:
                gen = self._attempt(payload)
            except _Retry as exc:
                last = f"{exc.kind}: {exc}"
                self._count(exc.kind, last, retry=attempt < self.max_retries)
                if attempt < self.max_retries:
                    self._sleep(self._wait(attempt, exc.wait_s))
                continue
            with self._lock:
                self._consecutive_failures = 0
            return gen
        self._failed(last)
        return Generation("", 0, 0)

    def _attempt(self, payload: dict[str, Any]) -> Generation:
        with self._lock:
            self.stats.requests += 1
        try:
            with urllib.request.urlopen(
                self._request("/chat/completions", payload), timeout=self.timeout_s
            ) as resp:
                body = resp.read()
        except urllib.error.HTTPError as exc:
            raise self._http_error(exc) from None
        except TimeoutError:
            raise _Retry("timeouts", f"no reply within {self.timeout_s:g} s") from None
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            if isinstance(reason, TimeoutError):
                raise _Retry("timeouts", f"no reply within {self.timeout_s:g} s") from None
            raise _Retry("server_errors", f"connection failed: {reason}") from None
        try:
            return parse_reply(body)
        except ValueError as exc:
            raise _Retry("malformed", str(exc)) from None

    def _http_error(self, exc: urllib.error.HTTPError) -> Exception:
        detail = exc.read()[:200].decode("utf-8", "replace") if exc.fp else ""
        if self._api_key:  # a server may echo what it was sent
            detail = detail.replace(self._api_key, "***")
        if exc.code in RETRY_STATUS:
            kind = "rate_limited" if exc.code == 429 else "server_errors"
            return _Retry(kind, f"HTTP {exc.code}", _retry_after(exc.headers.get("Retry-After")))
        return BackendError(f"backend {self.name}: HTTP {exc.code} {exc.reason}: {detail}".strip())

    def _wait(self, attempt: int, hint: float | None) -> float:
        wait = hint if hint is not None else self.backoff_s * 2**attempt
        return min(max(wait, 0.0), self.max_backoff_s)

    def _count(self, kind: str, message: str, retry: bool) -> None:
        with self._lock:
            setattr(self.stats, kind, getattr(self.stats, kind) + 1)
            self.stats.retries += retry
            self.stats.last_error = message

    def _failed(self, message: str) -> None:
        with self._lock:
            self.stats.failed += 1
            self._consecutive_failures += 1
            stop = self._consecutive_failures >= MAX_CONSECUTIVE_FAILURES
        if stop:
            raise BackendError(
                f"backend {self.name} failed {MAX_CONSECUTIVE_FAILURES} requests in a row"
                f" after retries; last: {message}"
            )


def response_format(shape: Any) -> dict[str, Any]:
    """The chat API's `response_format` for a JSON shape. `strict` (OpenAI's guarantee) only
    when the schema meets its rules (every object closed, every property required): OpenAI
    refuses other schemas in strict mode, while vLLM and llama.cpp servers enforce any."""
    schema = shape.schema
    if shape.kind == "json" and schema == {"type": "object"}:
        return {"type": "json_object"}
    return {
        "type": "json_schema",
        "json_schema": {"name": "answer", "schema": schema, "strict": _strict_ok(schema)},
    }


def _strict_ok(schema: Any) -> bool:
    if not isinstance(schema, dict) or schema.get("type") != "object":
        return False
    return _closed(schema)


def _closed(schema: Any) -> bool:
    if isinstance(schema, list):
        return all(_closed(s) for s in schema)
    if not isinstance(schema, dict):
        return True
    props = schema.get("properties")
    if schema.get("type") == "object" and (
        schema.get("additionalProperties") is not False
        or set(schema.get("required", [])) != set(props or {})
    ):
        return False
    parts = [*(props or {}).values(), schema.get("items")]
    parts += [*schema.get("anyOf", []), *(schema.get("$defs") or {}).values()]
    return all(_closed(p) for p in parts)


def _cut(gen: Generation, stop: Sequence[str]) -> Generation:
    ends = [i for i in (gen.text.find(s) for s in stop if s) if i >= 0]
    return replace(gen, text=gen.text[: min(ends)]) if ends else gen


def _retry_after(value: str | None) -> float | None:
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None  # an HTTP date: fall back to exponential backoff


def backend_for(
    config: Any, url: str | None = None, model: str | None = None, key_env: str | None = None
) -> OpenAIBackend | None:
    """The run's backend: task.yaml `backend:` with the CLI's --backend-* options on top.

    A key is sent only to a URL named on the same command line: a task folder is data, and a
    task.yaml that chose the URL could otherwise collect whatever key the user names."""
    if key_env and not url:
        raise InputError(
            "--backend-key-env needs --backend-url: the key is only sent to a URL named on the"
            " command line, never to one a task.yaml chose"
        )
    url = url or (config.base_url if config else None)
    model = model or (config.model if config else None)
    if not url and not model:
        return None
    if not url or not model:
        raise InputError("a backend needs both a base URL and a model name (--backend-url/-model)")
    return OpenAIBackend(
        url,
        model,
        api_key_env=key_env,
        timeout_s=config.timeout_s if config else 60.0,
        max_retries=config.max_retries if config else 4,
    )
