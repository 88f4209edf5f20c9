"""The verdict on hand-made results: the decision procedure, its needs, its evidence rules.

Costs are set through measured seconds: with 30 test rows and the default 1 USD per machine
hour, `eval_seconds=30` is 1 s per request = 0.2778 USD per 1,000 requests, and 3,600 s of
training is 1 USD.
"""

from __future__ import annotations

import pytest

from shouldtune.core.evidence import Evidence
from shouldtune.core.needs import Needs
from shouldtune.core.stats import bootstrap_ci
from shouldtune.core.types import Quality, StrategyResult, Traits
from shouldtune.core.verdict import decide

pytestmark = pytest.mark.decision

N = 30


def result(
    name: str,
    scores: list[float],
    kind: str = "prompting",
    train_seconds: float = 0.0,
    p50: float = 100.0,
    p95: float | None = None,
    eval_seconds: float = 3.0,
    traits: Traits | None = None,
    details: dict | None = None,
) -> StrategyResult:
    mean, lo, hi = bootstrap_ci(scores)
    return StrategyResult(
        name=name,
        kind=kind,
        quality=Quality("exact_match", mean, lo, hi, len(scores)),
        latency_ms={"p50": p50, "p95": p95 if p95 is not None else p50 * 1.5},
        tokens_per_s=10.0,
        prompt_tokens_mean=50.0,
        train_seconds=train_seconds,
        eval_seconds=eval_seconds,
        peak_rss_mb=100.0,
        predictions_file=f"predictions/{name}.jsonl",
        scores=list(scores),
        details=details or {},
        traits=traits,
    )


def lora(scores: list[float], name: str = "lora", train_seconds: float = 120.0, **kw):
    return result(name, scores, kind="fine-tuning", train_seconds=train_seconds, **kw)


def ones(k: int, n: int = N) -> list[float]:
    """k correct answers followed by n - k wrong ones."""
    return [1.0] * k + [0.0] * (n - k)


def joined(verdict) -> str:
    return "\n".join(verdict.reasons)


HALF = [1.0, 0.0] * 15  # 0.500
HALF_PLUS = [1.0, 1.0] + [1.0, 0.0] * 14  # 0.533: one more right, not significant


def tied_pair(train_seconds: float = 3600.0):
    """few_shot and lora tied on quality; lora is 10x cheaper per request, trains for 1 USD."""
    return [
        result("zero_shot", ones(0)),
        result("few_shot", HALF, p50=300, eval_seconds=30.0),
        lora(HALF_PLUS, train_seconds=train_seconds, eval_seconds=3.0),
    ]


# --- the procedure without needs (today's questions) ---------------------------------------


def test_fine_tune_significantly_better_than_everything():
    v = decide(
        [result("zero_shot", ones(0)), result("few_shot", ones(10), p50=150), lora(ones(30))]
    )
    assert v.fine_tune is True and v.recommended == "lora" and v.best == "lora"
    assert v.drivers == ["quality"]
    assert v.headline == "Verdict: fine-tune — use lora (driver: quality)"
    assert v.not_worse_than_best == ["lora"]
    text = joined(v)
    assert "Best quality: lora scored 1.000 exact_match" in text and "on 30 held-out" in text
    assert "Ruled out zero_shot: not usable: it got no test example right." in text
    assert "Fine-tune (quality): it is significantly better than every alternative" in text
    assert "the strongest is few_shot (0.333; paired difference +0.667" in text
    assert "Significantly worse than lora: few_shot (0.333)." in text


def test_tie_without_volume_recommends_no_training_and_says_which_cost():
    v = decide(tied_pair(train_seconds=120.0))
    assert (v.fine_tune, v.recommended, v.best) == (False, "few_shot", "lora")
    assert v.drivers == ["no_training"]
    assert set(v.not_worse_than_best) == {"lora", "few_shot"}
    text = joined(v)
    assert "Recommended few_shot: 0.500 is not significantly below the leader lora" in text
    # Which cost: the training and the per-1,000-request price of both, with the numbers.
    assert "It needs no training: few_shot: no training, 0.278 USD per 1,000 requests" in text
    assert "lora: 120 s of training (0.0333 USD), 0.0278 USD per 1,000 requests" in text
    assert "pays off after 134 requests" in text  # 0.0333 / (0.000278 - 0.0000278)
    assert "Volume: up to" in text and "few_shot is chosen on cost" in text
    assert "above it lora" in text


def test_fine_tune_slightly_worse_than_prompting():
    tuned = ones(20)
    tuned[0] = 0.0
    v = decide([lora(tuned, p50=10), result("few_shot", ones(20), p50=90)])
    assert v.fine_tune is False and v.best == "few_shot" and v.recommended == "few_shot"


def test_exact_tie_goes_to_lower_latency_whatever_the_order():
    scores = [1.0, 0.0, 1.0] * 10
    slow, fast = result("zero_shot", scores, p50=200), result("few_shot", scores, p50=80)
    for order in ([slow, fast], [fast, slow]):
        v = decide(order)
        assert (v.recommended, v.best) == ("few_shot", "few_shot")
        assert v.fine_tune is False and v.drivers == ["not_run"]
        assert v.headline == "Verdict: use few_shot (no fine-tune was run)"
        assert sorted(v.not_worse_than_best) == ["few_shot", "zero_shot"]


def test_clearly_worse_strategy_is_listed_as_significantly_worse():
    v = decide([result("rag", ones(27), kind="retrieval"), result("zero_shot", ones(6))])
    assert v.recommended == "rag" and v.not_worse_than_best == ["rag"]
    assert v.reasons[-1] == "Significantly worse than rag: zero_shot (0.200)."


def test_only_fine_tunes_is_no_verdict_on_fine_tuning():
    v = decide([lora(ones(20))])
    assert v.fine_tune is None and v.recommended == "lora"
    assert v.headline.startswith("No verdict on fine-tuning: only fine-tunes were run")
    assert any("nothing to compare fine-tuning against" in r for r in v.reasons)


def test_reasons_cite_score_and_ci_to_three_decimals():
    r = result("few_shot", [1.0] * 22 + [0.0] * 8)
    v = decide([r, result("zero_shot", ones(0))])
    q = r.quality
    assert v.reasons[0] == (
        f"Best quality: few_shot scored 0.733 exact_match (95% CI {q.ci_low:.3f}-{q.ci_high:.3f})"
        " on 30 held-out examples."
    )


def test_two_winning_fine_tunes_pick_the_cheaper_training_not_the_first_name():
    # Bug (b): the tie-break ignored training time, so names decided ("a..." < "z...").
    dear = lora(ones(30), name="a_dear", train_seconds=600)
    cheap = lora(ones(29), name="z_cheap", train_seconds=60)
    v = decide([result("zero_shot", ones(0)), dear, cheap])
    assert v.fine_tune is True and v.best == "a_dear" and v.recommended == "z_cheap"


def test_a_recommended_fine_tune_below_the_leader_is_not_called_not_significantly_below():
    # Bug (a): with a quality margin the pick may be significantly below the leader; the
    # reason must say so instead of "not significantly below the best".
    v = decide(
        [result("zero_shot", ones(0)), lora(ones(30), name="big", train_seconds=900),
         lora(ones(24), name="small", train_seconds=60)],
        needs=Needs(quality_margin=0.3),
    )  # fmt: skip
    assert v.recommended == "small"
    text = joined(v)
    assert "is 0.200 below the leader big" in text and "within your quality margin of 0.300" in text
    assert "not significantly below" not in text


def test_only_fine_tunes_with_a_harm_is_not_recommended_because_nothing_else_reaches_it():
    # Bug (c): with only fine-tunes run there is nothing else to compare quality with.
    harm = {"probes": {"fabrication_rate": {"before": 0.2, "after": 0.8, "diff": 0.6,
                                            "ci_low": 0.4, "ci_high": 0.8}}}  # fmt: skip
    v = decide([lora(ones(25), details=harm)])
    text = joined(v)
    assert "only fine-tunes were run, nothing to weigh it against" in text
    assert "nothing as good is free of it" not in text


def test_bootstrap_samples_are_the_tasks(monkeypatch):
    seen = []
    import shouldtune.core.decision as decision

    real = decision.paired

    def spy(a, b, n_resamples, seed):
        seen.append(n_resamples)
        return real(a, b, n_resamples, seed)

    monkeypatch.setattr(decision, "paired", spy)
    decide(tied_pair(), n_resamples=777)
    assert seen and set(seen) == {777}


def test_no_results_is_an_error():
    with pytest.raises(ValueError):
        decide([])


# --- needs: volume, latency, control, change (issue 12) ------------------------------------


def test_tied_quality_at_high_volume_fine_tunes_on_cost_and_not_at_low_volume():
    # Flip at 1 USD / (0.000278 - 0.0000278 USD per request x 365 days) = 10.96 a day.
    high = decide(tied_pair(), needs=Needs(requests_per_day=50_000))
    assert high.fine_tune is True and high.recommended == "lora" and high.drivers == ["cost"]
    assert high.headline == "Verdict: fine-tune — use lora (driver: cost at your volume)"
    low = decide(tied_pair(), needs=Needs(requests_per_day=5))
    assert low.fine_tune is False and low.recommended == "few_shot" and low.drivers == ["cost"]
    (flip,) = [f for f in low.flips if f["need"] == "requests_per_day"]
    # The totals cross at 1 USD / ((0.000278 - 0.0000278) x 365) = 10.96 a day, but lora
    # scores higher, so it is chosen once its total is within 10% of few_shot's (a tie in
    # the timing noise): 1 + 0.0000278 v 365 = 1.1 x 0.000278 v 365, v = 9.95 a day.
    per = (0.30 / 1080, 0.03 / 1080)
    assert flip["at"] == pytest.approx(1 / ((1.1 * per[0] - per[1]) * 365), rel=1e-3)
    assert (flip["below"], flip["above"]) == ("few_shot", "lora")
    assert "up to 9.9 requests a day few_shot is chosen on cost" in flip["sentence"]
    assert "(you: 5)" in flip["sentence"]
    at10 = decide(tied_pair(), needs=Needs(requests_per_day=10))
    assert at10.recommended == "lora"
    assert "within 10%, inside the noise of the timings they come from, so a tie, broken by" \
        " the better score" in " ".join(at10.reasons)


LOST = {"before": 1.0, "after": 0.83, "diff": -0.17, "ci_low": -0.27, "ci_high": -0.08, "n": 60}
FORGOT = {"probes": {"knowledge_retained": LOST}}


def test_a_harm_keeps_a_cheaper_fine_tune_out_and_the_reasons_say_so_not_cost():
    # Seen on order-numbers: tied, lora far cheaper at 50,000 a day, but it lost general
    # knowledge. The verdict must not claim the prompt "costs less".
    rs = tied_pair()
    rs[2] = lora(HALF_PLUS, train_seconds=3600.0, eval_seconds=3.0, details=FORGOT)
    v = decide(rs, needs=Needs(requests_per_day=50_000))
    assert (v.fine_tune, v.recommended, v.drivers) == (False, "few_shot", ["harms"])
    text = joined(v)
    assert "and would otherwise be chosen" in text and "costs less" not in text
    # Without the harm the same needs fine-tune on cost; without volume the harm is moot.
    assert decide(tied_pair(), needs=Needs(requests_per_day=50_000)).drivers == ["cost"]
    assert decide(rs).drivers == ["no_training"]
    # A model that will only ever serve this task may forget: the volume decides again.
    mine = decide(rs, needs=Needs(requests_per_day=50_000, dedicated=True))
    assert (mine.fine_tune, mine.recommended, mine.drivers) == (True, "lora", ["cost"])
    assert "not held against it, since a tuned model would serve only this task" in joined(mine)


def test_alternatives_over_the_latency_budget_make_the_fine_tune_win_on_latency():
    rs = [result("few_shot", HALF, p50=300, p95=450), lora(HALF_PLUS, p50=60, p95=90)]
    v = decide(rs, needs=Needs(latency_p95_ms=300))
    assert v.fine_tune is True and v.recommended == "lora" and "latency" in v.drivers
    assert "Ruled out few_shot: p95 latency 450 ms is over the 300 ms budget." in v.reasons
    assert any(f["sentence"] == "Latency: without your 300 ms budget, few_shot would be chosen."
               for f in v.flips)  # fmt: skip
    free = decide(rs)
    assert free.recommended == "few_shot"  # the same results without a budget
    (flip,) = [f for f in free.flips if f["need"] == "latency_p95_ms"]
    assert flip["at"] == 450 and flip["to"] == "lora"


def test_self_hosted_rules_out_the_hosted_best_and_picks_the_best_local():
    hosted = Traits(hosted=True)
    rs = [
        result("few_shot", ones(27), traits=hosted),
        result("rag", ones(20), kind="retrieval"),
        result("zero_shot", ones(12)),
    ]
    assert decide(rs).recommended == "few_shot"
    v = decide(rs, needs=Needs(self_hosted=True))
    assert v.recommended == "rag"
    assert v.steps["ruled_out"]["few_shot"] == [
        "runs on a hosted model, and nothing may leave this machine (self_hosted)"
    ]
    assert any(f["need"] == "self_hosted" and f["to"] == "few_shot" for f in v.flips)


def test_self_hosted_makes_control_the_driver_of_a_fine_tune():
    rs = [result("few_shot", HALF, traits=Traits(hosted=True)), lora(HALF_PLUS)]
    v = decide(rs, needs=Needs(self_hosted=True))
    assert v.fine_tune is True and "control" in v.drivers


def test_frequent_changes_say_what_retraining_costs_and_when_it_stops_paying():
    rs = [result("few_shot", ones(12), eval_seconds=30.0), lora(ones(28), train_seconds=36_000)]
    v = decide(rs, needs=Needs(requests_per_day=1000, changes_per_year=52))
    assert v.fine_tune is True and v.drivers == ["quality"]
    text = joined(v)
    assert "Your task changes 52 times a year: each change trains lora again" in text
    assert "(36,000 s, 10.00 USD a time), 52.0 more runs over 365 days (520.00 USD)" in text
    # lora saves (0.000278 - 0.0000278) x 1,000 x 365 = 91.25 USD a year in requests: its
    # 10 USD trainings pay for themselves up to (91.25 - 10) / 10 = 8.1 changes a year.
    assert "Retraining stops paying for itself above 8.1 changes a year" in text


def test_tied_fine_tune_loses_when_the_task_changes_often():
    v = decide(tied_pair(), needs=Needs(requests_per_day=20, changes_per_year=52))
    assert v.fine_tune is False and v.drivers == ["changes", "cost"]
    assert any(f["need"] == "changes_per_year" and f["to"] == "lora" for f in v.flips)


def test_min_quality_rules_out_by_the_top_of_the_interval():
    rs = [result("few_shot", ones(12)), lora(ones(20))]
    v = decide(rs, needs=Needs(min_quality=0.8))
    # lora's CI (0.667, top ~0.83) reaches past 0.8; few_shot's top (~0.57) does not.
    assert v.recommended == "lora" and "few_shot" in v.steps["ruled_out"]
    assert v.steps["ruled_out"]["few_shot"][0].startswith("even the top of its 95% CI (0.5")
    none = decide(rs, needs=Needs(min_quality=0.9))
    assert none.status == "no_recommendation" and none.recommended is None


# --- evidence (issue 19) ---------------------------------------------------------------


def test_nothing_right_is_no_recommendation_with_next_steps():
    zeros = [0.0] * N
    v = decide([result("baseline", zeros, kind="baseline"), result("zero_shot", zeros)])
    assert v.recommended is None and v.fine_tune is None and v.status == "no_recommendation"
    assert v.headline == "No recommendation yet: no strategy is usable"
    assert any("larger model" in s for s in v.next_steps)
    assert not any("don't need an LLM" in r for r in v.reasons)


def test_a_strategy_that_cannot_be_told_from_nothing_is_not_usable_but_one_that_can_is():
    # 2/30 right: the bootstrap CI reaches 0; 5/30: it does not.
    weak = decide([result("few_shot_knn", ones(2)), result("zero_shot", ones(0))])
    assert weak.recommended is None
    usable = decide([result("few_shot_knn", ones(5)), result("zero_shot", ones(0))])
    assert usable.recommended == "few_shot_knn"


def test_quick_run_is_indicative_and_a_still_learning_fine_tune_keeps_it_undecided():
    learning = {"training": {"still_learning": True}}
    rs = [
        result("few_shot_knn", ones(6)),
        result("baseline", ones(0), kind="baseline"),
        lora(ones(1), details=learning),
    ]
    v = decide(rs, evidence=Evidence(quick=True))
    assert v.indicative is True and v.fine_tune is None and v.recommended == "few_shot_knn"
    assert v.headline == (
        "Indicative (--quick): Use few_shot_knn for now — undecided on fine-tuning: lora was"
        " still learning"
    )
    assert any("run without --quick" in s for s in v.next_steps)
    assert any(s.startswith("train lora longer") for s in v.next_steps)
    done = decide(rs[:2] + [lora(ones(1), details={"training": {"still_learning": False}})])
    assert done.fine_tune is False


def test_a_still_learning_fine_tune_that_already_wins_is_still_a_fine_tune():
    v = decide(
        [
            result("few_shot", ones(5)),
            lora(ones(29), details={"training": {"still_learning": True}}),
        ]
    )
    assert v.fine_tune is True and v.recommended == "lora"


def test_still_learning_is_read_from_the_dev_loss_history():
    from shouldtune.core.evidence import still_learning

    falling = {"stopped_early": False, "history": [{"dev_loss": 2.0}, {"dev_loss": 1.5}]}
    flat = {"stopped_early": False, "history": [{"dev_loss": 1.50}, {"dev_loss": 1.495}]}
    assert still_learning(falling) is True and still_learning(flat) is False
    assert still_learning({"stopped_early": True, "history": [{"dev_loss": 1.0}]}) is False
    assert still_learning({"history": [{"dev_loss": 1.0}]}) is True  # one look: no plateau seen


def test_a_lookup_baseline_that_never_scores_on_unseen_answers_is_not_recommended():
    lookup = {"mode": "nearest", "unseen_answer_rows": {"rows": 12, "score": 0.0}}
    rs = [
        result("baseline", ones(18), kind="baseline", p50=2, details=lookup),
        result("rag", ones(9), kind="retrieval"),
    ]
    v = decide(rs)
    assert v.recommended == "rag"
    (why,) = v.steps["ruled_out"]["baseline"]
    assert why.startswith("a lookup: it can only repeat training answers")
    honest = {"mode": "nearest", "unseen_answer_rows": {"rows": 12, "score": 0.5}}
    rs[0] = result("baseline", ones(18), kind="baseline", p50=2, details=honest)
    assert decide(rs).recommended == "baseline"


def test_no_llm_needed_only_for_a_usable_non_llm_strategy():
    rs = [result("baseline", ones(20), kind="baseline", p50=2), result("few_shot", ones(21))]
    v = decide(rs)
    assert v.recommended == "baseline"
    assert v.headline == "Verdict: use baseline — no LLM needed (no fine-tune was run)"
    with_tune = decide([*rs, lora(ones(19))])
    assert with_tune.headline == "Verdict: don't fine-tune, no LLM needed — use baseline"
    assert any(r.startswith("You don't need an LLM for this: baseline (0.667)") for r in v.reasons)


def test_changes_are_a_driver_only_when_a_stable_task_would_have_been_fine_tuned():
    # Tied, and no stated volume: even a task that never changed would not pay for training,
    # so "changes" is not why (it was once accepted as an equivalent mutant: `and` -> `or`).
    v = decide(tied_pair(), needs=Needs(changes_per_year=52))
    assert v.fine_tune is False and v.drivers == ["no_training"]
    assert not any(f["need"] == "changes_per_year" for f in v.flips)
