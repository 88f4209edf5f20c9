"""--candidate: other models (a local folder or a cached hub model) as their own strategies;
`shouldtune models --search` against a fake Hub, offline, and a Hub that hangs."""

from __future__ import annotations

import shutil
import threading
import time
from types import SimpleNamespace

import pytest
from typer.testing import CliRunner

from shouldtune.cli.main import app
from shouldtune.core.errors import InputError
from shouldtune.core.metrics import load_scorer
from shouldtune.core.taskio import load_task
from shouldtune.eval.evaluate import evaluate_scored as evaluate
from shouldtune.models import hub_search
from shouldtune.resume import strategy_identity
from shouldtune.run import plan
from shouldtune.strategies.base import RunContext
from shouldtune.strategies.candidate import candidates, resolve_candidate

TRAIN = [{"input": f"question {i}", "output": f"answer {i}"} for i in range(6)]
TEST = [{"input": "question x", "output": "answer x"}, {"input": "question y", "output": "y"}]


def test_local_folder_candidate(tiny_model_dir, tmp_path):
    name, folder = resolve_candidate(str(tiny_model_dir))
    assert folder == tiny_model_dir and name == tiny_model_dir.name
    (tmp_path / "config.json").write_text("{}")
    with pytest.raises(InputError, match=r"needs config.json and \*.safetensors"):
        resolve_candidate(str(tmp_path))
    with pytest.raises(InputError, match="not a local model folder, nor a hub model"):
        resolve_candidate(str(tmp_path / "missing"))
    with pytest.raises(InputError, match="nothing is downloaded at run time"):
        resolve_candidate("nobody/no-such-model-in-the-cache")


def test_changed_candidate_files_change_its_cache_identity(tiny_model_dir, tmp_path):

    folder = tmp_path / "cand"
    shutil.copytree(tiny_model_dir, folder)
    (c,) = candidates([str(folder)], set())
    before = strategy_identity(c)
    assert strategy_identity(candidates([str(folder)], set())[0]) == before
    config = folder / "config.json"
    config.write_text(config.read_text().replace("{", '{"_note": "retrained",', 1))
    assert strategy_identity(candidates([str(folder)], set())[0]) != before


def test_cached_hub_model_candidate(tiny_model_dir, tmp_path, monkeypatch):
    from huggingface_hub import constants

    # The Hugging Face cache layout: models--ORG--NAME/{refs/main, snapshots/<commit>/}.
    repo = tmp_path / "hub" / "models--someone--tiny-tuned"
    snapshot = repo / "snapshots" / ("a" * 40)
    shutil.copytree(tiny_model_dir, snapshot)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text("a" * 40)
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hub"))
    name, folder = resolve_candidate("someone/tiny-tuned")
    assert name == "tiny-tuned" and folder.resolve() == snapshot.resolve()


def test_plan_adds_one_strategy_per_candidate(make_task_dir, tiny_model_dir, tiny_lm, tmp_path):
    task = load_task(make_task_dir(TRAIN, test=TEST, config={"generation": {"max_new_tokens": 3}}))
    the_plan = plan(task, ["zero_shot"], [str(tiny_model_dir), str(tiny_model_dir)])
    names = [n for n, _ in the_plan.run]
    short = tiny_model_dir.name
    assert names == ["zero_shot", f"candidate:{short}", f"candidate:{short}-2"]
    candidate = the_plan.run[1][1]
    assert candidate.kind == "prompting"

    def no_lm():
        raise AssertionError("a candidate uses its own model, not the run's")

    ctx = RunContext(task=task, lm_loader=no_lm, work_dir=tmp_path)
    result = evaluate(candidate, ctx, load_scorer("exact_match", task.root), tmp_path, 1, 200)
    assert result.name == f"candidate:{short}" and len(result.scores) == 2
    assert result.details["parameters"] == tiny_lm.parameters
    assert (tmp_path / "predictions" / f"candidate:{short}.jsonl").is_file()


def test_cli_bad_candidate_is_one_line_exit_2(make_task_dir, tmp_path):
    root = make_task_dir(TRAIN, test=TEST)
    result = CliRunner().invoke(
        app, ["run", str(root), "--candidate", str(tmp_path / "nope"), "--out", str(tmp_path / "o")]
    )
    assert result.exit_code == 2
    assert "not a local model folder" in result.output
    assert "Traceback" not in result.output


# --- Hub search -------------------------------------------------------------------------


class FakeApi:
    def __init__(self, models=None, error=None, delay=0.0):
        self.models, self.error, self.delay = models or [], error, delay
        self.kwargs: dict = {}

    def list_models(self, **kwargs):
        self.kwargs = kwargs
        if self.delay:
            time.sleep(self.delay)
        if self.error:
            raise self.error
        return iter(self.models)


MODELS = [
    SimpleNamespace(
        id="org/bert-banking77",
        pipeline_tag="text-classification",
        downloads=12345,
        likes=7,
        tags=["transformers", "license:apache-2.0"],
    ),
    SimpleNamespace(id="x/y", pipeline_tag=None, downloads=None, likes=0, tags=[], card_data=None),
]


def test_search_hub_maps_models_and_passes_the_query():
    api = FakeApi(MODELS)
    found = hub_search.search_hub("banking77", task="text-classification", limit=5, api=api)
    assert api.kwargs == {
        "search": "banking77",
        "pipeline_tag": "text-classification",
        "sort": "downloads",
        "limit": 5,
    }
    assert found[0] == hub_search.HubModel(
        "org/bert-banking77", "text-classification", 12345, 7, "apache-2.0"
    )
    assert found[1] == hub_search.HubModel("x/y", "", 0, 0, "unknown")


def test_search_hub_errors_and_hangs_are_offline():
    with pytest.raises(hub_search.HubUnreachable, match="ConnectError: no network"):
        hub_search.search_hub(
            "q", api=FakeApi(error=type("ConnectError", (Exception,), {})("no network"))
        )
    started = time.perf_counter()
    with pytest.raises(hub_search.HubUnreachable, match="no answer within 0.2 s"):
        hub_search.search_hub("q", timeout_s=0.2, api=FakeApi(delay=5))
    assert time.perf_counter() - started < 2


def test_probe_fails_fast_without_a_listener():
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(hub_search.HubUnreachable, match="127.0.0.1"):
        hub_search._probe(f"http://127.0.0.1:{port}", 1.0)


def test_cli_models_search_table_and_offline_line(monkeypatch):
    import shouldtune.cli.hub_cmd as hub_cmd

    runner = CliRunner()
    asked = []
    monkeypatch.setattr(
        hub_cmd,
        "search_hub",
        lambda *args: asked.append(args) or [hub_search.to_hub_model(MODELS[0])],
    )
    shown = runner.invoke(app, ["models", "--search", "banking77"])
    assert shown.exit_code == 0
    assert "org/bert-banking77" in shown.output and "12,345" in shown.output
    assert "apache-2.0" in shown.output and "--candidate" in shown.output
    assert asked == [("banking77", None, 10)]

    def offline(*args):
        raise hub_search.HubUnreachable("huggingface.co: [Errno -2] Name or service not known")

    monkeypatch.setattr(hub_cmd, "search_hub", offline)
    line = runner.invoke(app, ["models", "--search", "banking77"])
    assert line.exit_code == 0
    assert line.output.strip() == (
        "offline: could not reach the Hugging Face Hub "
        "(huggingface.co: [Errno -2] Name or service not known)"
    )


def test_hub_threads_do_not_pile_up():
    before = threading.active_count()
    for _ in range(3):
        hub_search.search_hub("q", api=FakeApi(MODELS))
    assert threading.active_count() <= before + 1
