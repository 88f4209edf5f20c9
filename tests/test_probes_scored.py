"""Probe measures made at scoring time from saved answers: in-domain hallucination against
zero_shot, SliCK re-categorised under the run's metric, the data kind gating the warning."""

from __future__ import annotations

from shouldtune.core.evidence import Evidence
from shouldtune.core.types import Generation, Quality, StrategyResult, StrategyRun, Traits
from shouldtune.probes import slick
from shouldtune.probes.scored import attach_in_domain, rescore_knowledge


def _run(name: str, texts: list[str], trains: bool = False) -> StrategyRun:
    kind = "fine-tuning" if trains else "prompting"
    return StrategyRun(name, kind, Traits(trains=trains), [Generation(t) for t in texts],
                       {}, 1.0, 1.0, 0.0, 1.0, 1.0)  # fmt: skip


def _result(run: StrategyRun, scores: list[float], probes=None) -> StrategyResult:
    return StrategyResult(
        run.name, run.kind, Quality("exact_match", 0.0, 0.0, 0.0), {}, 1.0, 1.0, 0.0, 1.0, 1.0,
        f"predictions/{run.name}.jsonl", scores, {"probes": probes} if probes else {},
        traits=run.traits,
    )  # fmt: skip


def test_in_domain_compares_each_fine_tune_with_zero_shot_on_clean_rows() -> None:
    # Row 2 is a seen (leaked) row: left out. zero_shot hedges on rows 0 and 1, is right on 3.
    base = _run("zero_shot", ["I think maybe B", "I don't know", "X", "A", "C"])
    tuned = _run("lora", ["B", "Q", "X", "A", "Z"], trains=True)
    clean = [0, 1, 3, 4]
    results = [_result(base, [0.0, 0.0, 1.0, 0.0]),
               _result(tuned, [0.0, 0.0, 1.0, 0.0], {"knowledge_retained": {"n": 3}})]  # fmt: skip
    attach_in_domain(results, [base, tuned], clean, 200, 0)
    probes = results[1].details["probes"]
    fab = probes["in_domain_fabrication"]
    assert (fab["before"], fab["after"], fab["n"]) == (0.25, 0.75, 4)
    assert probes["in_domain_abstention"]["before"] == 0.5
    assert probes["in_domain_abstention"]["after"] == 0.0
    assert probes["knowledge_retained"] == {"n": 3}  # the generation-time probes stay
    assert "probes" not in results[0].details  # zero_shot trains nothing


def test_in_domain_without_zero_shot_says_why() -> None:
    tuned = _run("lora", ["B"], trains=True)
    results = [_result(tuned, [0.0])]
    attach_in_domain(results, [tuned], [0], 200, 0)
    probes = results[0].details["probes"]
    assert (
        "in_domain_fabrication" not in probes
        and "zero_shot was not run" in probes["in_domain_note"]
    )


def _knowledge(kind: str) -> dict:
    raw = [{"greedy": ["Paris", "paris!"], "samples": ["Lyon"]},
           {"greedy": ["Rome", "Rome"], "samples": ["Milan"]}]  # fmt: skip
    return {"raw": raw, "expected": ["Paris", "Milan"], "sources": ["t:1", "t:2"],
            "warn_unknown_share": 0.5, "correct_at": 0.5, "data_kind": kind,
            "data_kind_reason": "why", "seconds": 3.0}  # fmt: skip


def test_knowledge_is_recategorised_with_the_metric() -> None:
    exact = rescore_knowledge(_knowledge("facts"), lambda p, e: float(p == e))
    assert exact["categories"] == {"HighlyKnown": 0, "MaybeKnown": 1, "WeaklyKnown": 1,
                                   "Unknown": 0}  # fmt: skip
    lenient = rescore_knowledge(_knowledge("facts"), lambda p, e: float(e.lower() in p.lower()))
    assert lenient["categories"]["HighlyKnown"] == 1 and lenient["seconds"] == 3.0
    never = rescore_knowledge(_knowledge("facts"), lambda p, e: 0.0)
    assert never["unknown_share"] == 1.0 and "looks like facts: why" in never["warning"]
    assert [e["source"] for e in never["examples"]] == ["t:1", "t:2"]
    fmt = rescore_knowledge(_knowledge("format"), lambda p, e: 0.0)
    assert fmt["warning"] is None and "teaches a format" in fmt["note"]
    old = {"categories": {"Unknown": 2}, "warning": "w"}  # no raw answers: kept as it was
    assert rescore_knowledge(old, lambda p, e: 1.0) is old
    assert slick.recategorize(old, lambda p, e: 1.0) is old


def test_evidence_drops_the_new_facts_warning_for_format_data() -> None:
    assert Evidence.from_run(False, None, {"warning": "w", "data_kind": "format"}, 3, 0)\
        .knowledge_warning is None  # fmt: skip
    assert Evidence.from_run(False, None, {"warning": "w", "data_kind": "facts"}, 3, 0)\
        .knowledge_warning == "w"  # fmt: skip
    assert Evidence.from_run(False, None, {"warning": "w"}, 3, 0).knowledge_warning == "w"
