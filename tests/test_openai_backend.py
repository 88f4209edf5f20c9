"""The OpenAI-compatible backend against an in-process fake server on 127.0.0.1 (good replies,
a 429 then success, a timeout, malformed JSON, refusals), a whole run through it, and a real
llama.cpp server when llama-cpp-python[server] is installed."""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from shouldtune import strategies
from shouldtune.core.errors import InputError
from shouldtune.core.taskio import load_task
from shouldtune.models.openai_backend import (
    BackendError,
    OpenAIBackend,
    backend_for,
    parse_reply,
    redact_url,
)
from shouldtune.run import RunOptions, run_task
from shouldtune.strategies.base import RunContext

KEY = "sk-test-0123456789-secret"


class FakeOpenAI(BaseHTTPRequestHandler):
    """Behaviour picked by the request's model name; counts requests per model."""

    counts: Counter = Counter()
    seen: list[dict] = []

    def log_message(self, *args) -> None:  # keep pytest output clean
        pass

    def _send(self, code: int, body: bytes, headers: dict[str, str] | None = None) -> None:
        try:
            self.send_response(code)
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except OSError:  # the client gave up (timeout test): nothing to answer
            pass

    def do_GET(self) -> None:
        if self.headers.get("Authorization") == "Bearer wrong":
            return self._send(401, b'{"error": "bad key"}')
        self._send(200, b'{"object": "list", "data": []}')

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        model = body["model"]
        n = self.counts[model]
        self.counts[model] += 1
        self.seen.append({"auth": self.headers.get("Authorization"), **body})
        if model == "rate-limit-once" and n == 0:
            return self._send(429, b'{"error": "slow down"}', {"Retry-After": "2"})
        if (model == "slow-once" and n == 0) or model == "always-slow":
            time.sleep(1.0)
        if model == "malformed" or (model == "malformed-once" and n == 0):
            return self._send(200, b'{"choices": [{"message": {"content": "cut off')
        if model == "server-error":
            return self._send(500, b"internal error")
        if model == "unauthorized":
            return self._send(401, f'{{"error": "bad key {KEY}"}}'.encode())
        user = body["messages"][-1]["content"]
        reply = {
            "choices": [{"message": {"role": "assistant", "content": f" echo: {user} "}}],
            "usage": {"prompt_tokens": len(user), "completion_tokens": 3},
        }
        self._send(200, json.dumps(reply).encode())


@pytest.fixture
def server():
    FakeOpenAI.counts = Counter()
    FakeOpenAI.seen = []
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), FakeOpenAI)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/v1"
    httpd.shutdown()
    httpd.server_close()


def backend(url: str, model: str, **kw) -> tuple[OpenAIBackend, list[float]]:
    waits: list[float] = []
    kw = {"timeout_s": 5.0, "max_retries": 2, "backoff_s": 0.5, "sleep": waits.append, **kw}
    return OpenAIBackend(url, model, **kw), waits


def convos(*texts: str) -> list[list[dict]]:
    return [
        [{"role": "system", "content": "Be brief."}, {"role": "user", "content": t}] for t in texts
    ]


def test_good_replies_in_order_with_usage_and_the_key_header(server, monkeypatch):
    monkeypatch.setenv("ST_TEST_KEY", KEY)
    be, _ = backend(server, "good", api_key_env="ST_TEST_KEY")
    batches: list[int] = []
    gens = be.generate(
        convos("a", "bb", "ccc", "dddd", "e"), 7, batch_size=2, on_batch=batches.append
    )
    assert [g.text for g in gens] == ["echo: a", "echo: bb", "echo: ccc", "echo: dddd", "echo: e"]
    assert [g.prompt_tokens for g in gens] == [1, 2, 3, 4, 1] and gens[0].new_tokens == 3
    assert batches == [2, 2, 1]
    first = FakeOpenAI.seen[0]
    assert first["auth"] == f"Bearer {KEY}"
    assert first["max_tokens"] == 7 and first["temperature"] == 0 and first["model"] == "good"
    assert first["messages"][0] == {"role": "system", "content": "Be brief."}
    assert KEY not in json.dumps(be.describe()) and be.describe()["api_key_env"] == "ST_TEST_KEY"
    assert be.stats.requests == 5 and be.stats.retries == 0


def test_rate_limit_is_retried_after_the_servers_wait(server):
    be, waits = backend(server, "rate-limit-once")
    (gen,) = be.generate(convos("x"))
    assert gen.text == "echo: x"
    assert waits == [2.0]  # Retry-After honoured
    assert be.stats.rate_limited == 1 and be.stats.retries == 1 and be.stats.failed == 0


def test_timeout_is_retried(server):
    be, waits = backend(server, "slow-once", timeout_s=0.3)
    (gen,) = be.generate(convos("x"))
    assert gen.text == "echo: x"
    assert be.stats.timeouts == 1 and waits == [0.5]


def test_malformed_replies_are_retried_then_counted_not_raised(server):
    be, waits = backend(server, "malformed-once")
    assert be.generate(convos("x"))[0].text == "echo: x"
    assert be.stats.malformed == 1
    be, waits = backend(server, "malformed")
    (gen,) = be.generate(convos("x"))
    assert gen.text == "" and gen.new_tokens == 0
    assert be.stats.malformed == 3 and be.stats.failed == 1
    assert waits == [0.5, 1.0]  # exponential backoff
    assert "malformed reply" in be.stats.last_error


def test_a_hung_server_costs_bounded_time(server):
    be, _ = backend(server, "always-slow", timeout_s=0.2, max_retries=1)
    started = time.perf_counter()
    (gen,) = be.generate(convos("x"))
    assert gen.text == "" and be.stats.timeouts == 2
    assert time.perf_counter() - started < 3


def test_persistent_failures_end_the_run(server):
    be, _ = backend(server, "server-error", max_retries=0)
    with pytest.raises(BackendError, match="failed 5 requests in a row"):
        be.generate(convos(*"abcdefg"), batch_size=1)


def test_refusals_are_fatal_and_never_echo_the_key(server, monkeypatch):
    monkeypatch.setenv("ST_TEST_KEY", KEY)
    be, _ = backend(server, "unauthorized", api_key_env="ST_TEST_KEY")
    with pytest.raises(BackendError) as err:
        be.generate(convos("x"))
    assert "HTTP 401" in str(err.value) and KEY not in str(err.value)
    monkeypatch.setenv("ST_TEST_KEY", "wrong")
    with pytest.raises(BackendError, match="check the API key"):
        backend(server, "good", api_key_env="ST_TEST_KEY")[0].check()


def test_check_fails_fast_when_nothing_listens():
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: nothing listens there
    with pytest.raises(BackendError, match="is not reachable"):
        OpenAIBackend(f"http://127.0.0.1:{port}/v1", "m", timeout_s=2).check()


def test_parse_reply_and_redaction():
    assert parse_reply(b'{"choices": [{"message": {"content": null}}]}').text == ""
    for bad in [b"[]", b'{"choices": []}', b'{"choices": [{"message": {"content": 3}}]}']:
        with pytest.raises(ValueError, match="malformed reply"):
            parse_reply(bad)
    assert redact_url("https://u:pw@host:8443/v1?key=abc#x") == "https://host:8443/v1"


def test_backend_settings_from_task_yaml_and_cli(make_task_dir, monkeypatch):
    assert backend_for(None) is None
    with pytest.raises(InputError, match="both a base URL and a model"):
        backend_for(None, url="http://127.0.0.1:1/v1")
    with pytest.raises(InputError, match="environment variable ST_MISSING is not set"):
        backend_for(None, "http://127.0.0.1:1/v1", "m", "ST_MISSING")
    root = make_task_dir(
        [{"input": "a", "output": "b"}],
        test=[{"input": "a", "output": "b"}],
        config={"backend": {"base_url": "http://127.0.0.1:1/v1", "model": "m", "timeout_s": 9}},
    )
    cfg = load_task(root).config.backend
    be = backend_for(cfg, model="other")
    assert (be.model, be.timeout_s, be.base_url) == ("other", 9, "http://127.0.0.1:1/v1")
    bad = make_task_dir(
        [{"input": "a", "output": "b"}],
        test=[{"input": "a", "output": "b"}],
        config={"backend": {"base_url": "http://h/v1", "model": "m", "api_key": KEY}},
    )
    with pytest.raises(InputError, match="key 'backend.api_key': unknown key"):
        load_task(bad)


def test_a_task_file_cannot_route_a_key_to_its_own_url(make_task_dir, monkeypatch):
    monkeypatch.setenv("ST_TEST_KEY", KEY)
    rows = [{"input": "a", "output": "b"}]
    named = make_task_dir(
        rows,
        test=rows,
        config={"backend": {"base_url": "http://evil/v1", "model": "m", "api_key_env": "HOME"}},
    )
    with pytest.raises(InputError, match="key 'backend.api_key_env': unknown key"):
        load_task(named)
    plain = make_task_dir(
        rows, test=rows, config={"backend": {"base_url": "http://evil/v1", "model": "m"}}
    )
    cfg = load_task(plain).config.backend
    with pytest.raises(InputError, match="needs --backend-url"):
        backend_for(cfg, key_env="ST_TEST_KEY")
    be = backend_for(cfg, url="http://127.0.0.1:1/v1", key_env="ST_TEST_KEY")
    assert be.base_url == "http://127.0.0.1:1/v1" and be.api_key_env == "ST_TEST_KEY"


def test_prompting_strategies_use_the_backend(server, make_task_dir):
    task = load_task(
        make_task_dir(
            [{"input": "q1", "output": "a1"}, {"input": "q2", "output": "a2"}],
            test=[{"input": "q3", "output": "echo: q3"}],
        )
    )

    def no_lm():
        raise AssertionError("the local model must not load when a backend serves prompts")

    be, _ = backend(server, "good")
    ctx = RunContext(task=task, lm_loader=no_lm, backend_loader=lambda: be)
    strategy = strategies.create("few_shot", {"k": 1})
    strategy.prepare(ctx)
    assert strategy.predict(task.test, ctx)[0].text == "echo: q3"
    sent = FakeOpenAI.seen[-1]["messages"]
    assert [m["role"] for m in sent] == ["user", "assistant", "user"]  # the demonstration too


def test_stop_strings_reach_the_server_and_cut_the_reply(server, make_task_dir):
    task = load_task(
        make_task_dir(
            [{"input": "q1", "output": "a1"}],
            test=[{"input": "q3 and more", "output": "echo: q3"}],
            config={"generation": {"stop": ["#1", "#2", "#3", "#4", " and"]}},
        )
    )
    be, _ = backend(server, "good")
    ctx = RunContext(task=task, lm_loader=lambda: 1 / 0, backend_loader=lambda: be)
    strategy = strategies.create("zero_shot")
    strategy.prepare(ctx)
    assert strategy.predict(task.test, ctx)[0].text == "echo: q3"
    # The API takes 4 stop strings; the fifth is cut here (this fake server honours none).
    assert FakeOpenAI.seen[-1]["stop"] == ["#1", "#2", "#3", "#4"]


def test_whole_run_through_the_backend_keeps_the_key_out(
    server, make_task_dir, tiny_model_dir, tmp_path, monkeypatch
):
    from shouldtune.models import lm

    monkeypatch.setattr(lm.LanguageModel, "load", classmethod(lambda *a, **k: 1 / 0))
    monkeypatch.setenv("ST_TEST_KEY", KEY)
    train = [{"input": f"question {i}", "output": f"echo: question {i}"} for i in range(6)]
    test = [{"input": "what now", "output": "echo: what now"}, {"input": "ok?", "output": "no"}]
    root = make_task_dir(train, test=test)
    out = tmp_path / "run"
    results = run_task(
        root,
        RunOptions(
            out_dir=out,
            only=["zero_shot"],
            model=str(tiny_model_dir),
            backend_url=server,
            backend_model="good",
            backend_key_env="ST_TEST_KEY",
        ),
    )
    assert results["strategies"][0]["quality"]["score"] == 0.5
    assert results["backend"]["model"] == "good" and results["backend"]["stats"]["requests"] >= 2
    for name in ("results.json", "report.md", "report.html"):
        assert KEY not in (out / name).read_text()


def _llama_server_reason() -> str | None:
    try:
        import llama_cpp.server.app  # noqa: F401
    except Exception as exc:  # ImportError, or a build without the server extras
        return (
            "llama-cpp-python[server] is not installed (pip install 'llama-cpp-python[server]'"
            f" to test against a real llama.cpp server): {type(exc).__name__}: {exc}"
        )
    return None


@pytest.mark.integration
def test_real_llama_cpp_server_serving_the_bundled_gguf(tmp_path):
    reason = _llama_server_reason()
    if reason:
        pytest.skip(reason)
    import socket
    import subprocess
    import sys

    from shouldtune.models.bundled import BUNDLED, DEFAULT_MODEL, package_folder

    model = BUNDLED[DEFAULT_MODEL]
    folder = package_folder(model.package)
    if folder is None:
        pytest.skip(f"the bundled model package {model.package} is not installed")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    cmd = [
        sys.executable,
        "-m",
        "llama_cpp.server",
        "--model",
        str(folder / model.gguf_file),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--n_ctx",
        "1024",
        "--n_threads",
        "2",
        # Some llama.cpp CPU builds crash on multi-token batches on AVX-512/AMX machines
        # (seen with llama-cpp-python 0.3.36 here); a token at a time is safe and quick enough.
        "--n_batch",
        "1",
    ]
    log = (tmp_path / "server.log").open("w")
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
    try:
        be = OpenAIBackend(f"http://127.0.0.1:{port}/v1", "smollm2", timeout_s=60, max_retries=1)
        deadline = time.monotonic() + 60
        while True:
            try:
                be.check()
                break
            except BackendError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    tail = (tmp_path / "server.log").read_text()[-2000:]
                    pytest.fail(f"llama.cpp server did not start: {tail}")
                time.sleep(0.5)
        gens = be.generate(convos("What is the capital of France?", "Say hello."), 8, 2)
        if proc.poll() is not None:
            pytest.fail(f"llama.cpp server died: {(tmp_path / 'server.log').read_text()[-2000:]}")
        assert len(gens) == 2 and all(g.text for g in gens)
        assert all(g.new_tokens > 0 and g.prompt_tokens > 0 for g in gens)
        assert be.stats.failed == 0 and be.stats.malformed == 0
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()
