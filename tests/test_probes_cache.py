"""The base model's probe answers, likelihoods and SliCK answers are cached on disk per model
and probe set: a second run does not call the model; a damaged entry is recomputed."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from types import SimpleNamespace

import pytest

from shouldtune.core.taskio import load_task
from shouldtune.probes import cache
from shouldtune.probes import session as session_mod
from shouldtune.probes.session import ProbeSession
from shouldtune.strategies.base import RunContext


@pytest.fixture
def counted(monkeypatch, tmp_path):
    """Isolated cache root; counts of generate calls and likelihood passes."""
    monkeypatch.setenv("SHOULDTUNE_PROBE_CACHE", str(tmp_path / "cache" / "probes"))
    calls = {"generate": 0, "likelihood": 0}
    real = session_mod.option_logprobs

    def counting_logprobs(*args, **kwargs):
        calls["likelihood"] += 1
        return real(*args, **kwargs)

    monkeypatch.setattr(session_mod, "option_logprobs", counting_logprobs)
    return calls


class Counting:
    def __init__(self, lm, calls):
        self.lm, self.calls = lm, calls

    def generate(self, *args, **kwargs):
        self.calls["generate"] += 1
        return self.lm.generate(*args, **kwargs)

    def __getattr__(self, name):
        return getattr(self.lm, name)


def _task(make_task_dir, general: int = 2):
    train = [{"input": f"ship {i} mugs", "output": f"MUG x{i}"} for i in range(6)]
    config = {
        "generation": {"max_new_tokens": 3},
        "probes": {"answerable": 1, "unanswerable": 1, "general": general, "max_new_tokens": 3,
                   "slick": {"max_examples": 3, "prompts": 2, "samples": 1,
                             "on_format": True}},  # a format: SliCK only when asked
    }  # fmt: skip
    return load_task(make_task_dir(train, train[:2], config))


def _ctx(task, lm, calls):
    ctx = RunContext(task=task, lm_loader=lambda: Counting(lm, calls))
    ctx.progress = SimpleNamespace(stage=lambda *a, **k: None, advance=lambda n=1: None,
                                   log=lambda m: None)  # fmt: skip
    return ctx


def test_second_run_reuses_base_probes_and_slick(tiny_lm, make_task_dir, counted) -> None:
    task = _task(make_task_dir)
    first = ProbeSession(task, quick=False)
    base = first.before(_ctx(task, tiny_lm, counted))
    knowledge = first.knowledge(_ctx(task, tiny_lm, counted), lambda p, g: 0.0)
    assert counted["generate"] >= 3 and counted["likelihood"] == 1  # probes, SliCK
    assert not base.cached and not knowledge["cached"]
    files = sorted(p.name.split("-")[0] for p in cache.root().glob("*.json"))
    assert files == ["base", "slick"]

    spent = dict(counted)
    again = ProbeSession(task, quick=False)  # a new run of the same task
    base2 = again.before(_ctx(task, tiny_lm, counted))
    knowledge2 = again.knowledge(_ctx(task, tiny_lm, counted), lambda p, g: 0.0)
    assert counted == spent  # the model was not called again
    assert base2.cached and knowledge2["cached"]
    assert base2.answers == base.answers and base2.chosen == base.chosen
    assert [[s.logprob for s in o] for o in base2.options] == [
        [s.logprob for s in o] for o in base.options
    ]
    assert knowledge2["raw"] == knowledge["raw"]


def test_damaged_or_foreign_entries_are_recomputed(tiny_lm, make_task_dir, counted) -> None:
    task = _task(make_task_dir)
    ProbeSession(task, quick=False).before(_ctx(task, tiny_lm, counted))
    (entry,) = cache.root().glob("base-probes-*.json")
    good = json.loads(entry.read_text())
    for damage in ("{truncated", json.dumps({"format": 1, "data": {"answers": []}}),
                   json.dumps({**good, "format": 99}), "[]"):  # fmt: skip
        entry.write_text(damage)
        before = dict(counted)
        measured = ProbeSession(task, quick=False).before(_ctx(task, tiny_lm, counted))
        assert not measured.cached and counted["likelihood"] == before["likelihood"] + 1
        assert json.loads(entry.read_text())["data"]["answers"] == good["data"]["answers"]


def test_other_items_or_model_files_miss_the_cache(
    tiny_lm, tiny_model_dir, make_task_dir, counted, tmp_path
) -> None:
    task = _task(make_task_dir)
    ProbeSession(task, quick=False).before(_ctx(task, tiny_lm, counted))
    more = _task(make_task_dir, general=3)  # another probe set
    assert not ProbeSession(more, quick=False).before(_ctx(more, tiny_lm, counted)).cached
    # Another model folder (here: the same weights plus one changed file) is another model.
    other: Path = tmp_path / "other_model"
    shutil.copytree(tiny_model_dir, other)
    (other / "generation_config.json").write_text('{"changed": true}')
    fresh = ProbeSession(task, quick=False, model_dir=other)
    assert not fresh.before(_ctx(task, tiny_lm, counted)).cached
    assert len(list(cache.root().glob("base-probes-*.json"))) == 3


def test_no_model_folder_no_cache(tiny_lm, make_task_dir, counted) -> None:
    class Anonymous(Counting):  # a wrapper that does not say where its weights came from
        model = SimpleNamespace(name_or_path="")

    assert cache.model_dir_of(Anonymous(tiny_lm, counted)) is None
    assert cache.model_dir_of(tiny_lm) is not None


def test_cache_root_follows_the_environment(monkeypatch, tmp_path) -> None:
    monkeypatch.delenv("SHOULDTUNE_PROBE_CACHE", raising=False)
    monkeypatch.setenv("SHOULDTUNE_CACHE", str(tmp_path / "all"))
    assert cache.root() == tmp_path / "all" / "probes"  # beside the bundled models
    monkeypatch.setenv("SHOULDTUNE_PROBE_CACHE", str(tmp_path / "mine"))
    assert cache.root() == tmp_path / "mine"
