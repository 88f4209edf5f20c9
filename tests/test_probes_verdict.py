"""Probes in a run: the session (base cached, tuned after), and the verdict's probe rule."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from shouldtune.core.evidence import Evidence
from shouldtune.core.stats import bootstrap_ci
from shouldtune.core.taskio import load_task
from shouldtune.core.types import Example, Quality, StrategyResult
from shouldtune.core.verdict import decide, format_takeover, probe_harms
from shouldtune.probes.session import ProbeSession, tuned_model
from shouldtune.strategies.base import RunContext

N = 30


@pytest.fixture(autouse=True)
def _own_probe_cache(monkeypatch, tmp_path) -> None:
    """The base-probe cache of the tiny model goes to a temporary folder, not the home one."""
    monkeypatch.setenv("SHOULDTUNE_PROBE_CACHE", str(tmp_path / "probe-cache"))


def result(name: str, scores: list[float], kind: str = "prompting", probes=None):
    mean, lo, hi = bootstrap_ci(scores)
    return StrategyResult(
        name=name,
        kind=kind,
        quality=Quality("exact_match", mean, lo, hi),
        latency_ms={"p50": 100.0, "p95": 150.0},
        tokens_per_s=10.0,
        prompt_tokens_mean=50.0,
        train_seconds=100.0 if kind == "fine-tuning" else 0.0,
        eval_seconds=1.0,
        peak_rss_mb=100.0,
        predictions_file=f"predictions/{name}.jsonl",
        scores=list(scores),
        details={"probes": probes} if probes else {},
    )


def ones(k: int, n: int = N) -> list[float]:
    return [1.0] * k + [0.0] * (n - k)


def change(before: float, after: float, lo: float, hi: float) -> dict[str, float]:
    return {"before": before, "after": after, "diff": after - before, "ci_low": lo, "ci_high": hi}


HARMFUL = {
    "fabrication_rate": change(0.5, 0.9, 0.25, 0.55),  # CI above 0: more fabrication
    "knowledge_retained": change(1.0, 0.6, -0.55, -0.25),  # CI below 0: forgot
    "answerable_accuracy": change(0.1, 0.0, -0.2, 0.0),
}
CLEAN = {
    "fabrication_rate": change(0.5, 0.55, -0.05, 0.15),
    "knowledge_retained": change(1.0, 0.95, -0.1, 0.0),
}


def test_probe_harms_only_when_ci_excludes_zero_on_the_bad_side() -> None:
    assert probe_harms(result("x", ones(5), "fine-tuning", CLEAN)) == []
    harms = probe_harms(result("x", ones(5), "fine-tuning", HARMFUL))
    assert len(harms) == 2
    assert "fabrication" in harms[0] and "+0.40" in harms[0]
    assert "general knowledge (likelihood of the right answer) went from 1.00 to 0.60" in harms[1]
    better = {
        "fabrication_rate": change(0.9, 0.5, -0.5, -0.3),
        "knowledge_retained": change(0.5, 1, 1, 1),
    }
    assert probe_harms(result("x", ones(5), "fine-tuning", better)) == []
    assert probe_harms(result("x", ones(5))) == []


def test_open_questions_drop_is_format_takeover_not_a_harm() -> None:
    takeover = {"open_questions": change(1.0, 0.0, -1.0, -1.0)}
    r = result("lora", ones(28), "fine-tuning", takeover)
    assert probe_harms(r) == [] and format_takeover(r)
    v = decide([result("zero_shot", ones(3)), r])
    assert v.recommended == "lora"
    (line,) = [x for x in v.reasons if x.startswith("Format takeover: lora's")]
    assert "serve it only for this task" in line


def test_harmful_winner_is_recommended_with_the_cost_said() -> None:
    results = [result("zero_shot", ones(3)), result("lora", ones(28), "fine-tuning", HARMFUL)]
    verdict = decide(results)
    assert verdict.fine_tune and verdict.recommended == "lora"
    said = [r for r in verdict.reasons if "After fine-tuning, lora's" in r]
    assert len(said) == 1 and "recommended anyway" in said[0] and "fabrication" in said[0]


def test_clean_winner_preferred_over_cheaper_harmful_one() -> None:
    def lora(probes):  # faster per request than full: cost alone would pick it
        r = result("lora", ones(28), "fine-tuning", probes)
        r.latency_ms = {"p50": 50.0, "p95": 75.0}
        return r

    clean_full = result("full", ones(28), "fine-tuning", CLEAN)
    unprobed = decide([result("zero_shot", ones(3)), lora(None), clean_full])
    assert unprobed.recommended == "lora"  # no harm measured: the cheaper fine-tune wins
    verdict = decide([result("zero_shot", ones(3)), lora(HARMFUL), clean_full])
    assert verdict.fine_tune and verdict.recommended == "full"  # the probe rule decides
    assert any("lora's" in r and "full is recommended instead" in r for r in verdict.reasons)


def test_harmful_loser_is_still_named() -> None:
    results = [result("zero_shot", ones(25)), result("lora", ones(24), "fine-tuning", HARMFUL)]
    verdict = decide(results)
    assert verdict.fine_tune is False and verdict.recommended == "zero_shot"
    (said,) = [r for r in verdict.reasons if r.startswith("After fine-tuning, lora's fabrication")]
    assert "That is why" not in said  # zero_shot wins anyway: it needs no training


class FakeTuned:
    kind = "fine-tuning"
    name = "fake_tune"
    trains = True

    def __init__(self, lm):
        self.tuned = lm

    def tuned_model(self):
        return self.tuned


def _task(make_task_dir, probes: dict) -> object:
    train = [{"input": f"q{i}", "output": f"a{i}"} for i in range(8)]
    config = {"probes": probes, "generation": {"max_new_tokens": 4}}
    root = make_task_dir(train, train[:3], config)
    (Path(root) / "probes.jsonl").write_text(
        '{"question": "What is our code?", "answers": ["XJ9"]}\n'
        '{"question": "What will sales be next year?", "answerable": false}\n'
        '{"question": "2+2?", "answers": ["4"], "kind": "general"}\n'
    )
    return load_task(root)


class CountingLM:
    """A LanguageModel that records each generate call (and passes everything else on)."""

    def __init__(self, lm, calls: list[int]):
        self.lm, self.calls = lm, calls

    def generate(self, *args, **kwargs):
        self.calls.append(len(args[0]))
        return self.lm.generate(*args, **kwargs)

    def __getattr__(self, name):
        return getattr(self.lm, name)


def test_session_probes_base_once_and_each_tuned_model(
    tiny_lm, make_task_dir, monkeypatch, tmp_path
) -> None:
    task = _task(
        make_task_dir, {"answerable": 2, "unanswerable": 2, "general": 2, "max_new_tokens": 4}
    )
    session = ProbeSession.for_plan(task, [False, True], False, 0, 200)
    assert session is not None and len(session.items) == 9
    assert len(session.choice_items) == 2  # the shipped general items; the custom one has none
    calls: list[int] = []
    ctx = RunContext(task=task, lm_loader=lambda: CountingLM(tiny_lm, calls))
    first = session.after(FakeTuned(tiny_lm), ctx)
    second = session.after(FakeTuned(tiny_lm), ctx)
    assert calls == [9]  # the base model is probed once and reused
    for out in (first, second):
        assert out["open_questions"]["diff"] == 0 and out["open_questions"]["n"] == 3
        assert out["knowledge_retained"]["diff"] == 0 and out["knowledge_retained"]["n"] == 2
        assert set(out) >= {"answerable_accuracy", "fabrication_rate", "abstention_rate"}
        assert "forgetting" not in out
    assert first["seconds"]["before_cached"] is False and second["seconds"]["before_cached"]
    described = session.describe()
    assert described["items"] == {"answerable": 3, "unanswerable": 3, "general": 3}
    assert described["custom_items"] == 3 and described["base"]["open_questions"] is not None
    assert described["choice_items"] == 2 and described["base"]["knowledge_retained"] is not None


def test_session_wrap_only_touches_fine_tunes(tiny_lm, make_task_dir) -> None:
    task = _task(make_task_dir, {"answerable": 0, "unanswerable": 0, "general": 0})
    session = ProbeSession(task, quick=True)
    ctx = RunContext(task=task, lm_loader=lambda: tiny_lm)
    prompting = SimpleNamespace(kind="prompting", name="zero_shot", trains=False)

    def compute():
        return result("x", ones(3))

    assert session.wrap(compute, prompting, ctx) is compute
    probed = session.wrap(compute, FakeTuned(tiny_lm), ctx)()
    assert probed.details["probes"]["open_questions"]["n"] == 1
    # The `trains` trait decides, not the kind string.
    trained = SimpleNamespace(kind="prompting", name="t2", trains=True, tuned_model=lambda: tiny_lm)
    assert session.wrap(compute, trained, ctx) is not compute
    not_trained = SimpleNamespace(kind="fine-tuning", name="t3", trains=False)
    assert session.wrap(compute, not_trained, ctx) is compute
    untrained = SimpleNamespace(kind="fine-tuning", name="t", trains=True, tuned_model=lambda: None)
    assert session.after(untrained, ctx) == {"skipped": "no tuned model to probe"}


def test_session_only_when_enabled_and_fine_tune_planned(make_task_dir) -> None:
    task = _task(make_task_dir, {"enabled": True})
    assert ProbeSession.for_plan(task, [False], False, 0, 200) is None
    assert ProbeSession.for_plan(task, [False, True], False, 0, 200) is not None
    off = _task(make_task_dir, {"enabled": False})
    assert ProbeSession.for_plan(off, [True], False, 0, 200) is None
    quick = ProbeSession.for_plan(task, [True], True, 0, 200)
    assert quick.slick_settings() == {"max_examples": 8, "prompts": 2, "samples": 0}
    assert sum(i.kind == "answerable" for i in quick.items) == 5 + 1


def test_knowledge_on_tiny_model_and_warning(tiny_lm, make_task_dir, monkeypatch, tmp_path) -> None:
    task = _task(make_task_dir, {"slick": {"max_examples": 4, "prompts": 2, "samples": 1}})
    # Each output is a fact its input does not give: the new-facts warning applies.
    founders = [("Q", "Ada Lind"), ("R", "Bo Marsh"), ("S", "Cy Oakes"), ("T", "Di Frey"),
                ("U", "Ed Grove"), ("V", "Flo Hart")]  # fmt: skip
    facts = [
        Example(f"Who founded company {c}?", name, source=f"train.jsonl:{k + 1}")
        for k, (c, name) in enumerate(founders)
    ]
    task.train = facts
    session = ProbeSession(task, quick=False)
    logged = []
    ctx = RunContext(task=task, lm_loader=lambda: tiny_lm)
    ctx.progress = SimpleNamespace(stage=lambda *a, **k: None, advance=lambda n=1: None,
                                   log=logged.append)  # fmt: skip
    out = session.knowledge(ctx, lambda pred, gold: 0.0)  # nothing is ever right
    assert out["categories"]["Unknown"] == 4 and out["unknown_share"] == 1.0
    assert out["generations"] == 4 * 2 + 4 * 1
    assert out["data_kind"] == "facts" and "not in the input" in out["data_kind_reason"]
    assert len(out["raw"]) == 4 and all(len(r["greedy"]) == 2 for r in out["raw"])
    assert len(out["examples"]) == 4 and out["examples"][0]["source"].startswith("train.jsonl:")
    assert logged and "Unknown" in logged[0] and "looks like facts" in logged[0]
    evidence = Evidence(knowledge_warning=out["warning"])
    tuned = decide([result("zero_shot", ones(9)), result("lora", ones(3), "fine-tuning")],
                   evidence=evidence)  # fmt: skip
    assert any(r == f"Training data: {out['warning']}" for r in tuned.reasons)
    untuned = decide([result("zero_shot", ones(9))], evidence=evidence)
    assert not any(r.startswith("Training data:") for r in untuned.reasons)
    known = session.knowledge(ctx, lambda pred, gold: 1.0)
    assert known["categories"]["HighlyKnown"] == 4 and known["warning"] is None
    assert known["cached"] and known["raw"] == out["raw"]  # the same answers, re-scored


def test_knowledge_on_format_data_has_no_new_facts_warning(
    tiny_lm, make_task_dir, monkeypatch, tmp_path
) -> None:
    slick = {"max_examples": 4, "prompts": 1, "samples": 0, "on_format": True}
    task = _task(make_task_dir, {"slick": slick})
    session = ProbeSession(task, quick=False)  # train: "q3" -> "a3", a format of the input
    ctx = RunContext(task=task, lm_loader=lambda: tiny_lm)
    out = session.knowledge(ctx, lambda pred, gold: 0.0)
    assert out["unknown_share"] == 1.0 and out["data_kind"] == "format"
    assert out["warning"] is None and "expected here" in out["note"]
    evidence = Evidence.from_run(False, None, out, 3, 0)
    assert evidence.knowledge_warning is None


def test_slick_is_skipped_on_format_data_without_loading_the_model(make_task_dir) -> None:
    # issue 32: SliCK looks for unknown facts; a format has none, so it is not run at all.
    task = _task(make_task_dir, {"slick": {"max_examples": 4, "prompts": 1, "samples": 0}})
    ctx = RunContext(task=task)  # no model: generating anything would raise
    out = ProbeSession(task, quick=False).knowledge(ctx, lambda pred, gold: 0.0)
    assert out["data_kind"] == "format" and out["warning"] is None
    assert out["skipped"].startswith("SliCK skipped: it looks for facts the base model")
    assert "raw" not in out and "categories" not in out
    assert Evidence.from_run(False, None, out, 3, 0).knowledge_warning is None
    from shouldtune.report.sections import hallucination_section

    section = hallucination_section({"knowledge": out})
    assert section is not None and section["knowledge"]["skipped"] == out["skipped"]


def test_tuned_model_is_the_contracts_hook() -> None:
    from shouldtune.strategies import create

    assert tuned_model(create("zero_shot")) is None  # the contract's default
    lora = create("lora")
    lora.tuned = "the tuned model"
    assert tuned_model(lora) == "the tuned model"


def _shipping_task(make_task_dir, **probes):
    """"ship 5 boxes" -> "T2 x5" (facts: the 2 is in no input), a tiny lora, small probes."""
    train = [{"input": f"ship {i} boxes", "output": f"T{i % 3} x{i}"} for i in range(12)]
    test = [{"input": f"ship {i} crates", "output": f"T{i % 3} x{i}"} for i in range(40, 44)]
    options = {"epochs": 1, "batch_size": 4, "lr_sweep": False, "learning_curve": False}
    config = {
        "generation": {"max_new_tokens": 4},
        "eval": {"latency_samples": 1, "bootstrap_samples": 200},
        "options": {"lora": options},
        "probes": {"answerable": 3, "unanswerable": 3, "general": 3, "max_new_tokens": 4,
                   **probes},
    }  # fmt: skip
    return make_task_dir(train, test, config)


def test_run_writes_knowledge_and_probes(
    tiny_model_dir, make_task_dir, tmp_path, monkeypatch
) -> None:
    from shouldtune.run import RunOptions, run_task

    root = _shipping_task(make_task_dir)
    opts = RunOptions(
        out_dir=tmp_path / "run",
        only=["zero_shot", "lora"],
        model=str(tiny_model_dir),
        allow_audit_failures=True,
    )
    # The random model's lora gets nothing right, so the run would skip its probes (test
    # below); here the probes' plumbing is under test, so they run.
    monkeypatch.setattr("shouldtune.run._decided_out", lambda *args: None)
    results = run_task(root, opts)
    knowledge = results["knowledge"]
    assert sum(knowledge["categories"].values()) == 12 and knowledge["seconds"] >= 0
    assert knowledge["unknown_share"] == 1.0  # a random model knows none of it
    assert knowledge["data_kind"] == "facts"  # "T2 x5": the 2 is in no input
    assert any(r.startswith("Training data:") for r in results["verdict"]["reasons"])
    by_name = {s["name"]: s for s in results["strategies"]}
    assert "probes" not in by_name["zero_shot"]["details"]
    probes = by_name["lora"]["details"]["probes"]
    for key in ("answerable_accuracy", "fabrication_rate", "abstention_rate", "open_questions",
                "knowledge_retained"):  # fmt: skip
        assert probes[key].keys() >= {"before", "after", "diff", "ci_low", "ci_high"}
    assert results["probes"]["items"] == {"answerable": 3, "unanswerable": 3, "general": 3}
    # In-domain hallucination is computed at scoring time: lora's answers on the clean test rows
    # against zero_shot's. The random model's answers are all wrong and none abstains.
    in_domain = probes["in_domain_fabrication"]
    assert in_domain.keys() >= {"before", "after", "diff", "ci_low", "ci_high", "n"}
    assert in_domain["n"] == 4 and in_domain["before"] == 1.0 and in_domain["after"] == 1.0
    assert "room" in in_domain  # the base model already fabricates on every row
    assert probes["in_domain_abstention"]["n"] == 4

    # Re-scored under a metric that accepts everything: no confident wrong answers any more,
    # and SliCK's raw answers re-categorised (all HighlyKnown, no warning), without a model.
    from shouldtune.rescore import RescoreOptions, rescore

    (Path(root) / "yes.py").write_text("def score(p, e):\n    return 1.0\n", encoding="utf-8")

    def no_model(*args, **kwargs):
        raise AssertionError("rescore loaded a model")

    monkeypatch.setattr("shouldtune.models.lm.LanguageModel.load", no_model)
    new, _ = rescore(tmp_path / "run", RescoreOptions(metric="python:yes.py:score"))
    again = {s["name"]: s for s in new["strategies"]}["lora"]["details"]["probes"]
    assert again["in_domain_fabrication"]["before"] == 0.0
    assert (
        again["in_domain_fabrication"]["after"] == 0.0
        and "room" not in again["in_domain_fabrication"]
    )
    assert again["knowledge_retained"] == probes["knowledge_retained"]  # generation-time: kept
    assert (
        new["knowledge"]["categories"]["HighlyKnown"] == 12 and new["knowledge"]["warning"] is None
    )
    assert new["knowledge"]["raw"] == knowledge["raw"]
    assert not any(r.startswith("Training data:") for r in new["verdict"]["reasons"])


def test_probes_are_skipped_for_a_fine_tune_its_answers_rule_out(
    tiny_model_dir, make_task_dir, tmp_path
) -> None:
    # issue 32: the probes can only weigh against a fine-tune the verdict might choose; one
    # that got no clean test row right is out under any needs, so they are not run.
    from shouldtune.run import RunOptions, run_task

    root = _shipping_task(make_task_dir, slick={"enabled": False})
    opts = RunOptions(out_dir=tmp_path / "run", only=["zero_shot", "lora"],
                      model=str(tiny_model_dir), allow_audit_failures=True)  # fmt: skip
    results = run_task(root, opts)
    lora = {s["name"]: s for s in results["strategies"]}["lora"]
    assert lora["quality"]["score"] == 0.0
    probes = lora["details"]["probes"]
    assert probes["skipped"] == "not run: not usable: it got no test example right"
    assert not {"answerable_accuracy", "fabrication_rate", "knowledge_retained"} & set(probes)
    assert results["verdict"]["steps"]["ruled_out"]["lora"] == [
        "not usable: it got no test example right"
    ]
    report = (tmp_path / "run" / "report.md").read_text(encoding="utf-8")
    assert "not run: not usable: it got no test example right" in report
