"""Every sentence of the verdict (core/reasons.py), second half: drivers named together,
control and hosted models, only-usable and no-LLM choices, still-learning and no-recommendation
next steps, metric and retrieval checks, data warnings, the needs table and break-even days.
Builders and prices: tests/test_mut_reasons.py.
"""

from __future__ import annotations

import dataclasses

import pytest
from test_mut_reasons import HALF, HALF_PLUS, HOSTED, LEARNING, line, ones, result, tune, verdict

from shouldtune.core.evidence import Evidence
from shouldtune.core.needs import Needs

pytestmark = pytest.mark.decision


def test_two_drivers_are_named_in_the_headline():
    """lora beats zero_shot (the only alternative within budget) and ties few_shot, which is over
    it.
    """
    rs = [
        result("zero_shot", ones(8)),
        result("few_shot", HALF, p95=450),
        tune("lora", HALF_PLUS, p95=90),
    ]
    v = verdict(rs, needs=Needs(latency_p95_ms=300))
    assert v.headline == "Verdict: fine-tune — use lora (drivers: quality, latency)"
    assert v.reasons == [
        (
            "Best quality: lora scored 0.533 exact_match (95% CI 0.367-0.700) on 30 held-out"
            " examples."
        ),
        "Ruled out few_shot: p95 latency 450 ms is over the 300 ms budget.",
        "Recommended lora: the most accurate strategy that meets your needs.",
        (
            "Fine-tune (quality): it is significantly better than every alternative that"
            " meets your needs; the strongest is zero_shot (0.267; paired difference +0.267,"
            " 95% CI +0.066 to +0.500)."
        ),
        ("Fine-tune (latency): the alternatives as good as it are over your latency budget."),
        (
            "Cost: lora costs 100.00 USD per 1,000 requests against 100.00 USD for zero_shot,"
            " so its one-off training (10 s, 10.00 USD) is never paid back by cheaper"
            " requests."
        ),
        "Latency: without your 300 ms budget, few_shot would be chosen.",
        ("Latency: with a p95 budget under 90 ms, nothing usable would be chosen instead of lora."),
        "Significantly worse than lora: zero_shot (0.267).",
    ]
    assert v.flips == [
        {
            "need": "latency_p95_ms",
            "now": 300,
            "at": None,
            "to": "few_shot",
            "sentence": "Latency: without your 300 ms budget, few_shot would be chosen.",
        },
        {
            "need": "latency_p95_ms",
            "now": 300,
            "at": 90.0,
            "to": None,
            "sentence": (
                "Latency: with a p95 budget under 90 ms, nothing usable would be chosen instead"
                " of lora."
            ),
        },
    ]


def test_control_drives_a_fine_tune_when_the_tied_prompt_is_hosted():
    """few_shot ties lora but runs on a hosted model; nothing may leave the machine."""
    rs = [result("few_shot", HALF, traits=HOSTED), tune("lora", HALF_PLUS)]
    v = verdict(rs, needs=Needs(self_hosted=True))
    assert v.headline == "Verdict: fine-tune — use lora (driver: control)"
    assert v.reasons == [
        (
            "Best quality: lora scored 0.533 exact_match (95% CI 0.367-0.700) on 30 held-out"
            " examples."
        ),
        (
            "Ruled out few_shot: runs on a hosted model, and nothing may leave this machine"
            " (self_hosted)."
        ),
        "Recommended lora: the most accurate strategy that meets your needs.",
        (
            "Fine-tune (control): the alternatives as good as it run on a hosted model, and"
            " nothing may leave this machine."
        ),
        (
            "Cost: lora costs 100.00 USD per 1,000 requests against 100.00 USD for few_shot,"
            " so its one-off training (10 s, 10.00 USD) is never paid back by cheaper"
            " requests."
        ),
        (
            "Latency: with a p95 budget under 150 ms, nothing usable would be chosen instead"
            " of lora."
        ),
        "Control: without self_hosted, few_shot would be chosen.",
    ]
    assert v.flips == [
        {
            "need": "latency_p95_ms",
            "now": None,
            "at": 150.0,
            "to": None,
            "sentence": (
                "Latency: with a p95 budget under 150 ms, nothing usable would be chosen instead"
                " of lora."
            ),
        },
        {
            "need": "self_hosted",
            "now": True,
            "at": False,
            "to": "few_shot",
            "sentence": "Control: without self_hosted, few_shot would be chosen.",
        },
    ]


def test_a_hosted_best_says_what_self_hosted_would_choose():
    """Without self_hosted the hosted few_shot wins; with it rag would; alone, nothing would."""
    rs = [
        result("few_shot", ones(27), traits=HOSTED),
        result("rag", ones(20), kind="retrieval"),
        result("zero_shot", ones(12)),
    ]
    v = verdict(rs)
    alone = verdict(rs[:1])
    behind = verdict(
        [result("few_shot", ones(10), traits=HOSTED), result("rag", ones(27), kind="retrieval")]
    )
    assert v.reasons == [
        (
            "Best quality: few_shot scored 0.900 exact_match (95% CI 0.767-1.000) on 30"
            " held-out examples."
        ),
        "Recommended few_shot: the most accurate strategy that meets your needs.",
        "No fine-tuned strategy was run, so this verdict says nothing about fine-tuning.",
        (
            "Latency: with a p95 budget under 150 ms, nothing usable would be chosen instead"
            " of few_shot."
        ),
        "Control: with self_hosted, rag would be chosen.",
        "Significantly worse than few_shot: rag (0.667), zero_shot (0.400).",
    ]
    assert v.flips == [
        {
            "need": "latency_p95_ms",
            "now": None,
            "at": 150.0,
            "to": None,
            "sentence": (
                "Latency: with a p95 budget under 150 ms, nothing usable would be chosen instead"
                " of few_shot."
            ),
        },
        {
            "need": "self_hosted",
            "now": False,
            "at": True,
            "to": "rag",
            "sentence": "Control: with self_hosted, rag would be chosen.",
        },
    ]
    assert alone.flips[-1] == {
        "need": "self_hosted",
        "now": False,
        "at": True,
        "to": None,
        "sentence": "Control: with self_hosted, nothing usable would be chosen.",
    }
    assert behind.flips == [
        {
            "need": "latency_p95_ms",
            "now": None,
            "at": 150.0,
            "to": None,
            "sentence": (
                "Latency: with a p95 budget under 150 ms, nothing usable would be chosen instead"
                " of rag."
            ),
        },
    ]


def test_only_usable_strategy_names_the_alternative_it_does_not_beat():
    """few_shot's CI top (0.567) is under the 0.6 floor; lora's is not, though lora is not
    significantly better.
    """
    v = verdict(
        [result("few_shot", ones(12)), tune("lora", ones(15))], needs=Needs(min_quality=0.6)
    )
    assert v.headline == "Verdict: fine-tune — use lora (driver: the only usable strategy)"
    assert v.reasons == [
        (
            "Best quality: lora scored 0.500 exact_match (95% CI 0.333-0.667) on 30 held-out"
            " examples."
        ),
        (
            "Ruled out few_shot: even the top of its 95% CI (0.567) is below your floor of"
            " 0.600 (min_quality)."
        ),
        "Recommended lora: the most accurate strategy that meets your needs.",
        (
            "Fine-tune (the only usable strategy): it is the only usable strategy, though not"
            " significantly better than few_shot (0.400; paired difference +0.100, 95% CI"
            " +0.000 to +0.200)."
        ),
        (
            "Cost: lora costs 100.00 USD per 1,000 requests against 100.00 USD for few_shot,"
            " so its one-off training (10 s, 10.00 USD) is never paid back by cheaper"
            " requests."
        ),
        (
            "Latency: with a p95 budget under 150 ms, nothing usable would be chosen instead"
            " of lora."
        ),
    ]


def test_no_llm_needed_compares_with_the_best_llm_strategy():
    """The baseline is cheaper and not significantly worse than few_shot, the best of two LLM
    strategies.
    """
    rs = [
        result("baseline", ones(20), kind="baseline", p50=2, eval_seconds=0.3),
        result("few_shot", ones(21), p50=50),
        result("zero_shot", ones(15), p50=20),
    ]
    v = verdict(rs)
    assert v.headline == "Verdict: use baseline — no LLM needed (no fine-tune was run)"
    assert v.reasons == [
        (
            "Best quality: few_shot scored 0.700 exact_match (95% CI 0.533-0.867) on 30"
            " held-out examples."
        ),
        (
            "Recommended baseline: 0.667 is not significantly below the leader few_shot"
            " (0.700; paired difference leader minus it +0.033, 95% CI +0.000 to +0.100). It"
            " is faster and cheaper to run: baseline: no training, 10.00 USD per 1,000"
            " requests, 2 ms p50; few_shot: no training, 100.00 USD per 1,000 requests, 50 ms p50."
        ),
        (
            "You don't need an LLM for this: baseline (0.667) needs no language model, and"
            " the best LLM strategy, few_shot (0.700), is not significantly better than it"
            " (paired difference +0.033, 95% CI +0.000 to +0.100)."
        ),
        "No fine-tuned strategy was run, so this verdict says nothing about fine-tuning.",
        (
            "Latency: with a p95 budget under 3 ms, nothing usable would be chosen instead of"
            " baseline."
        ),
        "Significantly worse than few_shot: zero_shot (0.500).",
    ]


def test_still_learning_fine_tunes_keep_it_undecided_and_say_what_to_do():
    """A --quick run: lora and full still learning, layers done but its learning curve still
    rising.
    """
    rs = [
        result("few_shot_knn", ones(12)),
        result("baseline", ones(0), kind="baseline"),
        tune("lora", ones(2), details={**LEARNING, "learning_curve_trend": "rising"}),
        tune("full", ones(3), details=LEARNING),
        tune(
            "layers",
            ones(4),
            details={
                "training": {"still_learning": False},
                "learning_curve_trend": "probably_rising",
            },
        ),
    ]
    v = verdict(rs, evidence=Evidence(quick=True))
    rising = verdict(
        [
            result("few_shot_knn", ones(12), details={"learning_curve_trend": "rising"}),
            tune("lora", ones(2), details={**LEARNING, "learning_curve_trend": "flat"}),
        ]
    )
    assert v.headline == (
        "Indicative (--quick): Use few_shot_knn for now — undecided on fine-tuning: full and"
        " lora were still learning"
    )
    assert v.reasons == [
        (
            "Best quality: few_shot_knn scored 0.400 exact_match (95% CI 0.233-0.567) on 30"
            " held-out examples."
        ),
        (
            "Indicative only: a --quick run (at most 30 test rows, one epoch, no"
            " learning-rate sweep) is a first look; run without --quick before you decide."
        ),
        "Ruled out baseline: not usable: it got no test example right.",
        (
            "Ruled out full: not usable: its 95% CI (0.000-0.200) reaches 0, so it cannot be"
            " told from getting nothing right."
        ),
        (
            "Ruled out lora: not usable: its 95% CI (0.000-0.167) reaches 0, so it cannot be"
            " told from getting nothing right."
        ),
        "Recommended few_shot_knn: the most accurate strategy that meets your needs.",
        (
            "Undecided on fine-tuning: full (0.100) was still learning when its training"
            " ended (dev loss still falling at its last evaluation), so its score is no"
            " evidence against fine-tuning, and at the best it could reach (1.000) it would be"
            " chosen; train it longer before deciding."
        ),
        (
            "Undecided on fine-tuning: lora (0.067) was still learning when its training"
            " ended (dev loss still falling at its last evaluation), so its score is no"
            " evidence against fine-tuning, and at the best it could reach (1.000) it would be"
            " chosen; train it longer before deciding."
        ),
        (
            "Cost: layers costs 100.00 USD per 1,000 requests against 100.00 USD for"
            " few_shot_knn, so its one-off training (10 s, 10.00 USD) is never paid back by"
            " cheaper requests."
        ),
        (
            "Latency: with a p95 budget under 150 ms, nothing usable would be chosen instead"
            " of few_shot_knn."
        ),
        "Significantly worse than few_shot_knn: layers (0.133).",
    ]
    assert v.next_steps == [
        "run without --quick (every test row, full training, learning-rate sweep)",
        "train full longer (raise options.full.epochs): its dev loss was still falling",
        "train lora longer (raise options.lora.epochs): its dev loss was still falling",
        "add training data: layers's learning curve is still rising",
        "add training data: lora's learning curve is still rising",
    ]
    assert (
        rising.headline
        == "Use few_shot_knn for now — undecided on fine-tuning: lora was still learning"
    )
    assert rising.next_steps == [
        "train lora longer (raise options.lora.epochs): its dev loss was still falling",
    ]


def test_no_recommendation_says_the_floor_and_the_next_steps():
    """Nothing reaches min_quality 0.9; with no floor, nothing got a single answer right."""
    v = verdict(
        [result("few_shot", ones(12)), result("zero_shot", ones(9))], needs=Needs(min_quality=0.9)
    )
    nothing = verdict([result("baseline", ones(0), kind="baseline"), result("zero_shot", ones(0))])
    assert v.headline == "No recommendation yet: no strategy is usable"
    assert v.reasons == [
        (
            "Best quality: few_shot scored 0.400 exact_match (95% CI 0.233-0.567) on 30"
            " held-out examples."
        ),
        (
            "Ruled out few_shot: even the top of its 95% CI (0.567) is below your floor of"
            " 0.900 (min_quality)."
        ),
        (
            "Ruled out zero_shot: even the top of its 95% CI (0.467) is below your floor of"
            " 0.900 (min_quality)."
        ),
        (
            "No recommendation: no strategy clears the usability floor (min_quality 0.900)."
            " Next: try a larger model (--model PATH), somebody else's fine-tune"
            " (--candidate), or a served model (--backend-url)."
        ),
    ]
    assert v.flips == []
    assert v.next_steps == [
        (
            "try a larger model (--model PATH), somebody else's fine-tune (--candidate), or a"
            " served model (--backend-url)"
        ),
    ]
    assert nothing.reasons == [
        (
            "Best quality: baseline scored 0.000 exact_match (95% CI 0.000-0.000) on 30"
            " held-out examples."
        ),
        "Ruled out baseline: not usable: it got no test example right.",
        "Ruled out zero_shot: not usable: it got no test example right.",
        (
            "No recommendation: no strategy clears the usability floor. Next: try a larger"
            " model (--model PATH), somebody else's fine-tune (--candidate), or a served"
            " model (--backend-url)."
        ),
    ]


def test_a_metric_gap_of_exactly_0_25_is_a_next_step():
    """rag 2/8 right by exact match, 4/8 contain the answer: a gap of exactly METRIC_GAP."""
    rag = result("rag", [1.0, 1.0] + [0.0] * 6)
    rag.lenient = {"contains": 0.5}
    v = verdict([rag, result("zero_shot", [0.0] * 8)], needs=Needs(min_quality=0.9))
    assert v.reasons == [
        ("Best quality: rag scored 0.250 exact_match (95% CI 0.000-0.625) on 8 held-out examples."),
        (
            "Ruled out rag: even the top of its 95% CI (0.625) is below your floor of 0.900"
            " (min_quality)."
        ),
        (
            "Ruled out zero_shot: even the top of its 95% CI (0.000) is below your floor of"
            " 0.900 (min_quality)."
        ),
        (
            "No recommendation: no strategy clears the usability floor (min_quality 0.900)."
            " Next: try a larger model (--model PATH), somebody else's fine-tune"
            " (--candidate), or a served model (--backend-url); check the metric: some"
            " answers contain the expected one (rescore --metric contains)."
        ),
        (
            "Metric check: rag scores 0.25 exact_match, but 0.50 of its answers contain the"
            " expected answer — right but worded differently? Consider metric: contains or a"
            " stop string (shouldtune rescore RUN --metric contains)."
        ),
    ]
    assert v.next_steps == [
        (
            "try a larger model (--model PATH), somebody else's fine-tune (--candidate), or a"
            " served model (--backend-url)"
        ),
        ("check the metric: some answers contain the expected one (rescore --metric contains)"),
    ]


def test_a_quick_run_that_decides_is_indicative_with_no_next_steps():
    """--quick and lora clearly better: a decision, flagged as indicative."""
    v = verdict(
        [result("few_shot", ones(10)), tune("lora", ones(29))], evidence=Evidence(quick=True)
    )
    assert v.headline == "Indicative (--quick): Verdict: fine-tune — use lora (driver: quality)"
    assert v.reasons == [
        (
            "Best quality: lora scored 0.967 exact_match (95% CI 0.900-1.000) on 30 held-out"
            " examples."
        ),
        (
            "Indicative only: a --quick run (at most 30 test rows, one epoch, no"
            " learning-rate sweep) is a first look; run without --quick before you decide."
        ),
        "Recommended lora: the most accurate strategy that meets your needs.",
        (
            "Fine-tune (quality): it is significantly better than every alternative that"
            " meets your needs; the strongest is few_shot (0.333; paired difference +0.633,"
            " 95% CI +0.433 to +0.800)."
        ),
        (
            "Cost: lora costs 100.00 USD per 1,000 requests against 100.00 USD for few_shot,"
            " so its one-off training (10 s, 10.00 USD) is never paid back by cheaper"
            " requests."
        ),
        (
            "Latency: with a p95 budget under 150 ms, nothing usable would be chosen instead"
            " of lora."
        ),
        "Significantly worse than lora: few_shot (0.333).",
    ]
    assert v.next_steps == []


def test_retrieval_check_per_share_and_score():
    """Under half the answers retrieved: retrieval failed; half or more and reading at least half
    right: both worked; else the model did not use it.
    """

    def rag(name, share, hit=None):
        diag = {"answer_in_context": share}
        if hit is not None:
            diag["score_when_in_context"] = hit
        return result(name, ones(20), kind="retrieval", details={"retrieval": diag})

    rs = [
        rag("rag_0", "n/a"),
        rag("rag_a", 0.3, 0.8),
        rag("rag_b", 0.5, 0.5),
        rag("rag_c", 1.0, 0.9),
        rag("rag_d", 0.7),
        rag("rag_e", 0.8, 0.2),
        result("few_shot", ones(20)),
    ]
    v = verdict(rs)
    assert [r for r in v.reasons if r.startswith("Retrieval check")] == [
        (
            "Retrieval check: for rag_a the expected answer was in the retrieved context for"
            " 30% of the questions, scoring 0.80 on those rows: retrieval mostly failed: the"
            " answer was not in the context it read (or the answer is composed from the"
            " documents rather than written in them)."
        ),
        (
            "Retrieval check: for rag_b the expected answer was in the retrieved context for"
            " 50% of the questions, scoring 0.50 on those rows: retrieval and reading both"
            " worked."
        ),
        (
            "Retrieval check: for rag_c the expected answer was in the retrieved context for"
            " 100% of the questions, scoring 0.90 on those rows: retrieval and reading both"
            " worked."
        ),
        (
            "Retrieval check: for rag_d the expected answer was in the retrieved context for"
            " 70% of the questions: retrieval and reading both worked."
        ),
        (
            "Retrieval check: for rag_e the expected answer was in the retrieved context for"
            " 80% of the questions, scoring 0.20 on those rows: retrieval found the answer;"
            " the model did not use it."
        ),
    ]
    assert v.reasons[1] == (
        "Recommended few_shot: the most accurate strategy that meets your needs; not "
        "significantly worse: rag_0, rag_a, rag_b, rag_c, rag_d, rag_e. It ties on every count "
        "and comes first by name: few_shot: no training, 100.00 USD per 1,000 requests, 100 ms "
        "p50; rag_0: no training, 100.00 USD per 1,000 requests, 100 ms p50."
    )


def test_the_metric_check_skips_a_contains_metric_and_goes_on():
    """a_contains is scored by contains already: no note for it, but one for b_gap after it."""
    a = result("a_contains", ones(20))
    a.quality = dataclasses.replace(a.quality, metric="contains")
    a.lenient = {"contains": 0.99}
    b = result("b_gap", ones(15))
    b.lenient = {"contains": 0.9}
    v = verdict([a, b])
    assert [r for r in v.reasons if r.startswith("Metric check")] == [
        (
            "Metric check: b_gap scores 0.50 exact_match, but 0.90 of its answers contain the"
            " expected answer — right but worded differently? Consider metric: contains or a"
            " stop string (shouldtune rescore RUN --metric contains)."
        ),
    ]


def test_training_data_warnings():
    """The documents contradict 30% of the training answers and SliCK warns; the SliCK warning is
    about fine-tuning, so only when one ran.
    """
    ev = Evidence(
        docs_warning="3 of 10 training answers are not in the documents.",
        docs_share=0.3,
        knowledge_warning="Most training facts are new to the model.",
        n_test=34,
        n_seen=4,
    )
    v = verdict([result("few_shot", ones(20)), tune("lora", ones(20))], evidence=ev)
    plain = verdict(
        [result("few_shot", ones(20))],
        evidence=Evidence(docs_warning="Docs are thin.", knowledge_warning="New facts."),
    )
    assert v.reasons[0] == (
        "Best quality: few_shot scored 0.667 exact_match (95% CI 0.500-0.833) on 30 clean"
        " held-out examples (4 of 34 test rows repeat a training input with its answer"
        " and are scored apart)."
    )
    assert v.reasons[-2:] == [
        (
            "Training data: the documents do not support 30% of your training answers (stale"
            " answers or incomplete documents) — a fine-tune would learn them as they are;"
            " retrieval follows the documents. 3 of 10 training answers are not in the"
            " documents."
        ),
        "Training data: Most training facts are new to the model.",
    ]
    assert plain.reasons[-1] == (
        "Training data: the documents do not support some of your training answers (stale"
        " answers or incomplete documents) — a fine-tune would learn them as they are;"
        " retrieval follows the documents. Docs are thin."
    )
    assert len(plain.reasons) == 5


def test_needs_table_with_every_need():
    """self_hosted, a 300 ms budget (rag's p95 is exactly 300: met) and 10 requests a day."""
    rs = [
        result("few_shot", ones(27), traits=HOSTED, p95=400),
        result("rag", ones(25), kind="retrieval", p95=300, eval_seconds=30.0),
        tune("lora", ones(26), p95=200, eval_seconds=6.0),
        result("zero_shot", ones(10), p95=500, traits=HOSTED),
    ]
    v = verdict(rs, needs=Needs(requests_per_day=10, latency_p95_ms=300, self_hosted=True))
    assert v.headline == "Verdict: fine-tune — use lora (driver: cost at your volume)"
    assert v.reasons == [
        (
            "Best quality: few_shot scored 0.900 exact_match (95% CI 0.767-1.000) on 30"
            " held-out examples."
        ),
        (
            "Ruled out few_shot: runs on a hosted model, and nothing may leave this machine"
            " (self_hosted); p95 latency 400 ms is over the 300 ms budget."
        ),
        (
            "Ruled out zero_shot: runs on a hosted model, and nothing may leave this machine"
            " (self_hosted); p95 latency 500 ms is over the 300 ms budget."
        ),
        (
            "Recommended lora: the most accurate strategy that meets your needs; not "
            "significantly worse: rag. It is cheaper over 365 days at 10 requests a day: 740.00 "
            "USD in all against 3650.00 USD (lora: 10 s of training (10.00 USD), 200.00 USD per "
            "1,000 requests, 100 ms p50; rag: no training, 1000.00 USD per 1,000 requests, 100 ms "
            "p50)."
        ),
        (
            "Fine-tune (cost at your volume): at your volume its total cost is the lowest of"
            " the strategies that are as good."
        ),
        (
            "Cost: lora costs 200.00 USD per 1,000 requests against 1000.00 USD for rag; its"
            " one-off training (10 s, 10.00 USD) pays off after 13 requests, 1.3 days at your"
            " stated volume of 10 requests a day."
        ),
        (
            "Volume: up to 0.03 requests a day rag is chosen on cost over 365 days, above it lora"
            " (you: 10); as good in quality: lora, rag."
        ),
        (
            "Latency: with a p95 budget under 200 ms, nothing usable would be chosen instead"
            " of lora."
        ),
        (
            "Change: if the task changed more than 291.0 times a year (each change retrains"
            " lora), rag would cost less."
        ),
    ]
    assert v.flips == [
        {
            "need": "requests_per_day",
            "now": 10,
            "at": 0.03,
            "below": "rag",
            "above": "lora",
            "sentence": (
                "Volume: up to 0.03 requests a day rag is chosen on cost"
                " over 365 days, above it lora"
                " (you: 10); as good in quality: lora, rag."
            ),
        },
        {
            "need": "latency_p95_ms",
            "now": 300,
            "at": 200.0,
            "to": None,
            "sentence": (
                "Latency: with a p95 budget under 200 ms, nothing usable would be chosen instead"
                " of lora."
            ),
        },
        {
            "need": "changes_per_year",
            "now": 0,
            "at": 291.0,
            "to": "rag",
            "sentence": (
                "Change: if the task changed more than 291.0 times a year (each change retrains"
                " lora), rag would cost less."
            ),
        },
    ]
    assert v.steps["table"] == [
        {
            "name": "few_shot",
            "trains": False,
            "score": 0.9,
            "ci_low": 0.7666666666666667,
            "ci_high": 1.0,
            "quality_ok": True,
            "p95_ms": 400.0,
            "p95_ci": None,
            "latency_ok": False,
            "hosted": True,
            "control_ok": False,
            "acceptable": False,
            "cost_per_1k": 100.0,
            "training_cost": 0.0,
            "total_cost": 365.0,
            "ruled_out": [
                "runs on a hosted model, and nothing may leave this machine (self_hosted)",
                "p95 latency 400 ms is over the 300 ms budget",
            ],
            "hard_needs": [
                "runs on a hosted model, and nothing may leave this machine (self_hosted)",
                "p95 latency 400 ms is over the 300 ms budget",
            ],
        },
        {
            "name": "lora",
            "trains": True,
            "score": 0.8666666666666667,
            "ci_low": 0.7333333333333333,
            "ci_high": 0.9666666666666667,
            "quality_ok": True,
            "p95_ms": 200.0,
            "p95_ci": None,
            "latency_ok": True,
            "hosted": False,
            "control_ok": True,
            "acceptable": True,
            "cost_per_1k": 200.0,
            "training_cost": 10.0,
            "total_cost": 740.0,
            "ruled_out": [],
            "hard_needs": [],
        },
        {
            "name": "rag",
            "trains": False,
            "score": 0.8333333333333334,
            "ci_low": 0.7,
            "ci_high": 0.9666666666666667,
            "quality_ok": True,
            "p95_ms": 300.0,
            "p95_ci": None,
            "latency_ok": True,
            "hosted": False,
            "control_ok": True,
            "acceptable": True,
            "cost_per_1k": 1000.0,
            "training_cost": 0.0,
            "total_cost": 3650.0,
            "ruled_out": [],
            "hard_needs": [],
        },
        {
            "name": "zero_shot",
            "trains": False,
            "score": 0.3333333333333333,
            "ci_low": 0.16666666666666666,
            "ci_high": 0.5,
            "quality_ok": True,
            "p95_ms": 500.0,
            "p95_ci": None,
            "latency_ok": False,
            "hosted": True,
            "control_ok": False,
            "acceptable": False,
            "cost_per_1k": 100.0,
            "training_cost": 0.0,
            "total_cost": 365.0,
            "ruled_out": [
                "runs on a hosted model, and nothing may leave this machine (self_hosted)",
                "p95 latency 500 ms is over the 300 ms budget",
            ],
            "hard_needs": [
                "runs on a hosted model, and nothing may leave this machine (self_hosted)",
                "p95 latency 500 ms is over the 300 ms budget",
            ],
        },
    ]


def test_break_even_days_need_a_stated_volume_in_the_needs():
    """The price sheet has a volume but the needs do not: the verdict asks for
    needs.requests_per_day.
    """
    rs = [
        result("few_shot", ones(12), eval_seconds=30.0),
        tune("lora", ones(28), train_seconds=1.0, eval_seconds=15.0),
    ]
    v = verdict(rs, requests_per_day=100.0)
    assert line(v, "Cost:") == (
        "Cost: lora costs 500.00 USD per 1,000 requests against 1000.00 USD for few_shot;"
        " its one-off training (1 s, 1.00 USD) pays off after 2 requests (set"
        " needs.requests_per_day to weigh this in the verdict)."
    )
