"""The verdict in words: headline, reasons, flips, next steps, the needs table.

Every sentence carries its numbers (scores with CIs, costs with what they are, volumes), and
every cost comparison says which cost: one-off training or per 1,000 requests.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .decision import (
    COST_TIE,
    Option,
    cost_tied,
    decide_steps,
    hard_reasons,
    latency_flip,
    learning_ceiling,
    no_volume_key,
    quality_reasons,
    volume_key,
    volume_segments,
    without_harms,
)
from .given import given_lines
from .stats import CONFIDENCE
from .types import Verdict
from .verdict import (
    METRIC_GAP,
    format_takeover,
    probe_harms,
    strongest_alternative,
    strongest_fine_tune,
)

if TYPE_CHECKING:
    from .verdict import _Case

LEVEL = f"{CONFIDENCE:.0%}"
# Past this share of the training rows, conflicting or likely mislabelled rows reach the
# verdict's reasons when a fine-tune is recommended or left undecided (it learns them).
DIRTY_SHARE = 0.05
DRIVER_WORDS = {
    "quality": "quality",
    "cost": "cost at your volume",
    "latency": "latency",
    "control": "control",
    "only_usable": "the only usable strategy",
    "not_run": "no fine-tune was run",
}


def _q(o: Option) -> str:
    return f"{o.score:.3f} ({LEVEL} CI {o.ci_low:.3f}-{o.ci_high:.3f})"


def _ci(o: Option) -> str:
    return f"({LEVEL} CI {o.ci_low:.3f}-{o.ci_high:.3f})"


def _per_day(v: float) -> str:
    return f"{v:,.0f}" if v >= 10 else f"{v:,.2g}"


# --- headline ---------------------------------------------------------------------------


def headline(c: _Case, v: Verdict) -> str:
    prefix = "Indicative (--quick): " if v.indicative else ""
    if v.recommended is None:
        blocked = needs_blocked(c)
        if blocked:
            return prefix + f"No recommendation: no usable strategy meets your {_needs_words(c)}"
        return prefix + "No recommendation yet: no strategy is usable"
    chosen = c.named[v.recommended]
    if v.fine_tune is True:
        words = ", ".join(DRIVER_WORDS.get(x, x) for x in v.drivers)
        label = "driver" if len(v.drivers) == 1 else "drivers"
        return f"{prefix}Verdict: fine-tune — use {chosen.name} ({label}: {words})"
    if v.fine_tune is False:
        no_llm = ", no LLM needed" if not chosen.uses_llm else ""
        if "not_run" in v.drivers:
            no_llm = no_llm.replace(",", " —")
            return f"{prefix}Verdict: use {chosen.name}{no_llm} (no fine-tune was run)"
        return f"{prefix}Verdict: don't fine-tune{no_llm} — use {chosen.name}"
    if "still_learning" in v.drivers:
        names = sorted(c.ceiling)
        learning = " and ".join([", ".join(names[:-1]), names[-1]] if len(names) > 1 else names)
        was = "were" if len(names) > 1 else "was"
        return (
            f"{prefix}Use {chosen.name} for now — undecided on fine-tuning: {learning} {was}"
            " still learning"
        )
    return (
        f"{prefix}No verdict on fine-tuning: only fine-tunes were run — the best is {chosen.name}"
    )


# --- reasons ----------------------------------------------------------------------------


def all_reasons(c: _Case, v: Verdict) -> list[str]:
    out = [_best_line(c)]
    if v.indicative:
        out.append(
            "Indicative only: a --quick run (at most 30 test rows, one epoch, no learning-rate"
            " sweep) is a first look; run without --quick before you decide."
        )
    out += _ruled_out_lines(c)
    if v.recommended is None and needs_blocked(c):
        out.append(
            "No recommendation: every usable strategy breaks a need — "
            + "; ".join(f"{o.name}: {', '.join(hard_reasons(o, c.needs))}"
                        for o in needs_blocked(c))  # fmt: skip
            + ". Next: "
            + "; ".join(v.next_steps)
            + "."
        )
    elif v.recommended is None:
        out.append(
            "No recommendation: no strategy clears the usability floor"
            + (f" (min_quality {c.needs.min_quality:.3f})" if c.needs.min_quality else "")
            + ". Next: "
            + "; ".join(v.next_steps)
            + "."
        )
    else:
        out += _choice_lines(c) + _near_budget_line(c)
        out += _no_llm_lines(c)
        out += _fine_tune_lines(c, v)
        out += [f["sentence"] for f in v.flips]
    out += given_lines(c.results)
    out += _probe_lines(c, v)
    out += _evidence_lines(c) + _dirty_data_line(c, v)
    out += _metric_gap_lines(c)
    out += _retrieval_lines(c)
    worse = _significantly_worse(c)
    if worse:
        out.append(worse)
    return out


def _best_line(c: _Case) -> str:
    best = min(c.options, key=lambda o: (-o.score, o.name))
    metric = c.result(best.name).quality.metric
    n = len(c.result(best.name).scores)
    rows = f"{n} held-out examples"
    if c.evidence.n_seen:
        rows = (
            f"{n} clean held-out examples ({c.evidence.n_seen} of {c.evidence.n_test} test rows"
            " repeat a training input with its answer and are scored apart)"
        )
    return f"Best quality: {best.name} scored {best.score:.3f} {metric} {_ci(best)} on {rows}."


def _ruled_out_lines(c: _Case) -> list[str]:
    return [f"Ruled out {name}: {'; '.join(why)}." for name, why in c.d.ruled_out.items()]


def _choice_lines(c: _Case) -> list[str]:
    d, named = c.d, c.named
    chosen, leader = named[d.chosen], named[d.leader]
    if chosen is leader:
        others = [n for n in d.acceptable if n != chosen.name]
        line = f"Recommended {chosen.name}: the most accurate strategy that meets your needs"
        if not others:
            return [line + "."]
        rival = _runner_up(c, [named[n] for n in others])
        return [
            f"{line}; not significantly worse: {', '.join(others)}. "
            + _cost_compare(c, chosen, rival)
        ]
    p = c.pairs.diff(leader.name, chosen.name)
    if p.significantly_above:
        standing = (
            f"is {p.diff:.3f} below the leader {leader.name} ({LEVEL} CI {p.ci_low:+.3f} to"
            f" {p.ci_high:+.3f}), within your quality margin of {c.needs.quality_margin:.3f}"
        )
    else:
        standing = (
            f"is not significantly below the leader {leader.name} ({leader.score:.3f}; "
            f"{p.sentence().replace('paired difference', 'paired difference leader minus it')})"
        )
    return [
        f"Recommended {chosen.name}: {chosen.score:.3f} {standing}. "
        + _cost_compare(c, chosen, leader)
    ]


def _near_budget_line(c: _Case) -> list[str]:
    """The chosen strategy kept on its p95 interval while its point estimate is over."""
    o, budget = c.named[c.d.chosen], c.needs.latency_p95_ms
    if budget is None or not o.near_budget(budget) or o.p95_ci is None:
        return []
    return [
        f"Latency: {o.name}'s p95 of {o.p95_ms:,.0f} ms is over your {budget:,.0f} ms budget,"
        f" but its {LEVEL} CI ({o.p95_ci[0]:,.0f}-{o.p95_ci[1]:,.0f} ms, {o.latency_n} requests)"
        " reaches under it: not clearly over, so it is kept; time more requests"
        " (eval.latency_samples) before you rely on it."
    ]


def _runner_up(c: _Case, pool: list[Option]) -> Option:
    """Of the options as good as the chosen one, the next by the order the choice used (the
    one a harm kept out is first by that order, so it is the one named)."""
    if c.d.totals is not None:
        totals = c.d.totals
        low = min(totals[o.name] for o in pool)
        return min(pool, key=lambda o: volume_key(o, totals, low))
    return min(pool, key=no_volume_key)


def _cost_compare(c: _Case, chosen: Option, other: Option) -> str:
    """Which cost makes `chosen` cheaper than `other`, with both numbers."""
    needs = c.needs
    parts = f"{_cost_parts(c, chosen)}; {_cost_parts(c, other)}"
    if other.name not in c.d.preferred and _chosen_without_harms(c) == other.name:  # step 4
        return (
            f"{other.name} is as good but the probes found a harm after its fine-tuning (below),"
            f" so the choice is among the strategies without one: {parts}."
        )
    if c.d.totals is not None:
        mine, theirs = c.d.totals[chosen.name], c.d.totals[other.name]
        if mine != theirs and cost_tied(max(mine, theirs), min(mine, theirs)):
            return _cost_tie(c, chosen, other, parts)
        if mine == theirs:  # decide_steps then goes by p50, then by name
            how = "is faster" if chosen.p50_ms != other.p50_ms else "comes first by name"
            return f"It costs the same in all and {how}: {parts}."
        return (
            f"It is cheaper over {needs.horizon_days:,.0f} days at"
            f" {_per_day(needs.requests_per_day or 0)} requests a day:"
            f" {c.money(mine)} in all against {c.money(theirs)} ({parts})."
        )
    # without a volume the order is no_volume_key: no training, cheaper training, latency
    if chosen.trains != other.trains:
        return f"It needs no training: {parts}."
    if chosen.training_cost != other.training_cost:
        return f"Its training costs less: {parts}."
    if chosen.p50_ms != other.p50_ms:
        also = " and cheaper to run" if chosen.cost_per_request < other.cost_per_request else ""
        return f"It is faster{also}: {parts}."
    if chosen.cost_per_request != other.cost_per_request:
        return f"It is cheaper to run: {parts}."
    return f"It ties on every count and comes first by name: {parts}."


def _cost_tie(c: _Case, chosen: Option, other: Option, parts: str) -> str:
    """Totals inside the timing noise: say so, and what broke the tie."""
    mine, theirs = (c.d.totals or {})[chosen.name], (c.d.totals or {})[other.name]
    if chosen.score != other.score:
        broken = f"the better score ({chosen.score:.3f} against {other.score:.3f})"
    elif chosen.training_cost != other.training_cost:
        broken = "the cheaper training"
    else:
        broken = "the lower total" if mine < theirs else "latency, then name"
    return (
        f"Over {c.needs.horizon_days:,.0f} days at {_per_day(c.needs.requests_per_day or 0)}"
        f" requests a day it costs {c.money(mine)} in all against {c.money(theirs)}: within"
        f" {COST_TIE:.0%}, inside the noise of the timings they come from, so a tie, broken by"
        f" {broken} ({parts})."
    )


def _cost_parts(c: _Case, o: Option) -> str:
    train = (
        f"{o.train_seconds:,.0f} s of training ({c.money(o.training_cost)})"
        if o.trains
        else "no training"
    )
    return f"{o.name}: {train}, {c.per_1k(o)} per 1,000 requests, {o.p50_ms:,.0f} ms p50"


def _no_llm_lines(c: _Case) -> list[str]:
    chosen = c.named[c.d.chosen]
    llms = [o for o in c.options if o.uses_llm]
    if chosen.uses_llm or not llms:
        return []
    top = min(llms, key=lambda o: (-o.score, o.p50_ms, o.name))
    p = c.pairs.diff(top.name, chosen.name)
    compared = "not significantly better than" if p.diff > 0 else "no better than"
    return [
        f"You don't need an LLM for this: {chosen.name} ({chosen.score:.3f}) needs no language"
        f" model, and the best LLM strategy, {top.name} ({top.score:.3f}), is {compared} it"
        f" ({p.sentence()})."
    ]


def _fine_tune_lines(c: _Case, v: Verdict) -> list[str]:
    tuned = strongest_fine_tune(c.options, c.d)
    rival = strongest_alternative(c.options, c.d)
    if tuned is None:
        return ["No fine-tuned strategy was run, so this verdict says nothing about fine-tuning."]
    if rival is None:
        return ["Only fine-tuned strategies were run: nothing to compare fine-tuning against."]
    lines = _for_lines(c, v, tuned) if v.fine_tune is True else []
    if v.fine_tune is None:
        flips = c.ceiling
        lines = [
            f"Undecided on fine-tuning: {o.name} ({o.score:.3f}) was still learning when its"
            " training ended (dev loss still falling at its last evaluation), so its score is"
            f" no evidence against fine-tuning, and at the best it could reach"
            f" ({flips[o.name]:.3f}) it would be chosen; train it longer before deciding."
            for o in c.options
            if o.name in flips
        ]
    if v.fine_tune is False:
        lines = _against_lines(c, v, tuned, rival) + _learning_cannot_change(c)
    return lines + _break_even(c, tuned, rival)


def _learning_cannot_change(c: _Case) -> list[str]:
    """Still-learning fine-tunes whose further training could not change the verdict."""
    flips = c.ceiling
    out = []
    for o in c.options:
        if not (o.trains and o.still_learning) or o.name in flips:
            continue
        ceiling = learning_ceiling(c.pairs.scores[o.name], c.evidence.unreachable)
        top = sum(ceiling) / max(len(ceiling), 1)
        bound = (
            f", the {len(c.evidence.unreachable)} clean test rows whose answer occurs in no"
            " training output left as they are: no training teaches an answer it never sees"
            if c.evidence.unreachable
            else ""
        )
        out.append(
            f"{o.name} ({o.score:.3f}) was still learning, but more training cannot change this"
            f" verdict: even at its ceiling ({top:.3f}{bound}) it would not be chosen."
        )
    return out


def _vs(c: _Case, tuned: Option, other: Option) -> str:
    return f"{other.name} ({other.score:.3f}; {c.pairs.diff(tuned.name, other.name).sentence()})"


def _for_lines(c: _Case, v: Verdict, tuned: Option) -> list[str]:
    meeting = [o for o in c.options if not o.trains and not hard_reasons(o, c.needs)]
    top = min(meeting, key=lambda o: (-o.score, o.name)) if meeting else None
    vs = _vs(c, tuned, top) if top else None
    why = {
        "quality": f"it is significantly better than every alternative that meets your needs;"
        f" the strongest is {vs}",
        "cost": "at your volume its total cost is the lowest of the strategies that are as good",
        "latency": "the alternatives as good as it are over your latency budget",
        "control": "the alternatives as good as it run on a hosted model, and nothing may leave"
        " this machine",
        "only_usable": f"it is the only usable strategy, though not significantly better than {vs}"
        if vs
        else "it is the only strategy that meets your needs",
    }
    lines = [f"Fine-tune ({DRIVER_WORDS.get(x, x)}): {why[x]}." for x in v.drivers if x in why]
    if c.needs.changes_per_year > 0:
        lines.append(_changes_line(c, tuned) + _stops_paying(c, tuned))
    return lines


def _stops_paying(c: _Case, tuned: Option) -> str:
    """The change rate above which retraining costs more than the requests it saves."""
    rival = strongest_alternative(c.options, c.d)
    n = c.needs
    if rival is None or n.requests is None or tuned.training_cost <= 0:
        return ""
    saved = (rival.cost_per_request - tuned.cost_per_request) * n.requests - tuned.training_cost
    k = saved / tuned.training_cost * 365.0 / n.horizon_days
    if k <= 0:
        return (
            f" Retraining never pays for itself in money against {rival.name}: its cheaper"
            " requests do not cover even one training run at your volume."
        )
    return (
        f" Retraining stops paying for itself above {k:,.1f} changes a year: beyond that"
        f" {rival.name} ({rival.score:.3f}) would cost less in all."
    )


def _against_lines(c: _Case, v: Verdict, tuned: Option, rival: Option) -> list[str]:
    lines = []
    chosen = c.named[v.recommended] if v.recommended else rival
    if "quality" in v.drivers:
        lines.append(
            f"Do not fine-tune: {tuned.name} ({tuned.score:.3f}, {tuned.train_seconds:,.0f} s of"
            f" training) is not significantly better than {_vs(c, tuned, rival)}."
        )
    if "changes" in v.drivers:
        lines.append(_changes_line(c, tuned))
    parts = f"{_cost_parts(c, chosen)}; {_cost_parts(c, tuned)}"
    if "cost" in v.drivers:
        lines.append(
            f"Do not fine-tune: {tuned.name} is as good as {chosen.name} here, and at your"
            f" volume {chosen.name} costs less in all ({parts})."
        )
    if "no_training" in v.drivers:
        lines.append(
            f"Do not fine-tune: {tuned.name} is as good as {chosen.name} here, and"
            f" {chosen.name} needs no training ({parts}); with no volume stated, needing no"
            " training comes first (set needs.requests_per_day to weigh the total costs)."
        )
    if "harms" in v.drivers:
        lines.append(
            f"Do not fine-tune: {tuned.name} is as good as {chosen.name} here and would otherwise"
            f" be chosen ({_cost_parts(c, tuned)}; {_cost_parts(c, chosen)}), but the probes"
            f" found a harm after fine-tuning that {chosen.name} does not have (below): weigh"
            " it, and if the tuned model would only ever serve this task, a forgetting harm"
            " may not matter to you."
        )
    if "needs" in v.drivers:
        lines.append("Do not fine-tune: every fine-tune breaks one of your needs (see above).")
    return lines


def _changes_line(c: _Case, t: Option) -> str:
    n = c.needs
    return (
        f"Your task changes {n.changes_per_year:g} times a year: each change trains {t.name} again"
        f" ({t.train_seconds:,.0f} s, {c.money(t.training_cost)} a time), {n.retrainings:,.1f}"
        f" more runs over {n.horizon_days:,.0f} days ({c.money(t.training_cost * n.retrainings)});"
        " few-shot and retrieval only change a prompt or an index."
    )


def _break_even(c: _Case, tuned: Option, rival: Option) -> list[str]:
    found = [b for b in c.costs.break_evens(c.results, rival.name) if b.strategy == tuned.name]
    if not found:
        return []
    b = found[0]
    head = (
        f"Cost: {tuned.name} costs {c.per_1k(tuned)} per 1,000 requests against"
        f" {c.per_1k(rival)} for {rival.name}"
    )
    if b.requests is None:
        return [
            f"{head}, so its one-off training ({tuned.train_seconds:,.0f} s,"
            f" {c.money(b.training_cost)}) is never paid back by cheaper requests."
        ]
    volume = c.needs.requests_per_day
    when = (
        f", {b.days_at_volume:,.1f} days at your stated volume of {_per_day(volume)} requests a day"
        if b.days_at_volume is not None and volume
        else " (set needs.requests_per_day to weigh this in the verdict)"
    )
    return [
        f"{head}; its one-off training ({tuned.train_seconds:,.0f} s, {c.money(b.training_cost)})"
        f" pays off after {b.requests:,} requests{when}."
    ]


# --- what would change the verdict ------------------------------------------------------


def flips(c: _Case) -> list[dict[str, Any]]:
    if c.d.chosen is None:
        return []
    out = []
    out += _volume_flips(c)
    out += _latency_flips(c)
    out += _control_flips(c)
    out += _change_flips(c)
    return out


def _volume_flips(c: _Case) -> list[dict[str, Any]]:
    segments = volume_segments(c.options, c.d, c.needs)
    if len(segments) < 2:
        return []
    now = c.needs.requests_per_day
    out = []
    for (_, name), (cut, after) in zip(segments, segments[1:], strict=False):
        where = ""
        if now is not None:
            where = " (you: " + _per_day(now) + ")"
        out.append(
            {
                "need": "requests_per_day",
                "now": now,
                "at": round(cut, 3),
                "below": name,
                "above": after,
                "sentence": (
                    f"Volume: up to {_per_day(cut)} requests a day {name} is chosen on cost over"
                    f" {c.needs.horizon_days:,.0f} days, above it {after}{where}; as good in"
                    f" quality: {', '.join(c.d.preferred)}."
                ),
            }
        )
    return out


def _latency_flips(c: _Case) -> list[dict[str, Any]]:
    out = []
    now = c.needs.latency_p95_ms
    if now is not None:
        free = decide_steps(c.options, c.needs.relaxed(latency_p95_ms=None), c.pairs).chosen
        if free != c.d.chosen:
            out.append(
                {
                    "need": "latency_p95_ms",
                    "now": now,
                    "at": None,
                    "to": free,
                    "sentence": f"Latency: without your {now:,.0f} ms budget, {free} would be"
                    " chosen.",
                }
            )
    flip = latency_flip(c.options, c.needs, c.pairs, c.d.chosen)
    if flip is not None:
        p95, other = flip
        to = other or "nothing usable"
        out.append(
            {
                "need": "latency_p95_ms",
                "now": now,
                "at": p95,
                "to": other or None,
                "sentence": f"Latency: with a p95 budget under {p95:,.0f} ms, {to} would be"
                f" chosen instead of {c.d.chosen}.",
            }
        )
    return out


def _control_flips(c: _Case) -> list[dict[str, Any]]:
    other = decide_steps(c.options, c.needs.relaxed(self_hosted=not c.needs.self_hosted), c.pairs)
    if other.chosen == c.d.chosen or not any(o.hosted for o in c.options):
        return []
    state = "without" if c.needs.self_hosted else "with"
    return [
        {
            "need": "self_hosted",
            "now": c.needs.self_hosted,
            "at": not c.needs.self_hosted,
            "to": other.chosen,
            "sentence": f"Control: {state} self_hosted,"
            f" {other.chosen or 'nothing usable'} would be chosen.",
        }
    ]


def _change_flips(c: _Case) -> list[dict[str, Any]]:
    n = c.needs
    if n.requests is None:
        return []
    if n.changes_per_year > 0:
        other = decide_steps(c.options, n.relaxed(changes_per_year=0.0), c.pairs).chosen
        if other != c.d.chosen:
            return [
                {
                    "need": "changes_per_year",
                    "now": n.changes_per_year,
                    "at": 0,
                    "to": other,
                    "sentence": f"Change: if the task never changed, {other} would be chosen;"
                    " retraining at every change is what tips it.",
                }
            ]
        return []
    chosen = c.named[c.d.chosen]
    if not chosen.trains or not c.d.totals:
        return []
    rivals = [c.named[x] for x in c.d.totals if not c.named[x].trains]
    if not rivals:
        return []
    rival = min(rivals, key=lambda o: (c.d.totals[o.name], o.name))
    gap = c.d.totals[rival.name] - c.d.totals[chosen.name]
    k = gap / chosen.training_cost * 365.0 / n.horizon_days if chosen.training_cost > 0 else None
    if k is None:
        return []
    return [
        {
            "need": "changes_per_year",
            "now": 0,
            "at": round(k, 2),
            "to": rival.name,
            "sentence": f"Change: if the task changed more than {k:,.1f} times a year (each"
            f" change retrains {chosen.name}), {rival.name} would cost less.",
        }
    ]


# --- evidence ---------------------------------------------------------------------------


def _probe_lines(c: _Case, v: Verdict) -> list[str]:
    out = []
    only_tunes = all(o.trains for o in c.options)
    for r in c.results:
        harms = probe_harms(r, c.needs.dedicated)
        forgot = [h for h in probe_harms(r) if h not in harms]
        if forgot:
            out.append(
                f"After fine-tuning, {r.name}'s {'; '.join(forgot)}: not held against it, since"
                " a tuned model would serve only this task (needs.dedicated)."
            )
        if harms:
            said = f"After fine-tuning, {r.name}'s {'; '.join(harms)}."
            if r.name == v.recommended:
                said += (
                    " It is recommended anyway: only fine-tunes were run, nothing to weigh it"
                    " against."
                    if only_tunes
                    else " It is recommended anyway because nothing as good is free of it: use it"
                    " only for this task, and keep retrieval or the base model for open questions."
                )
            elif r.name in c.d.acceptable and _chosen_without_harms(c) == r.name:
                said += f" That is why {v.recommended} is recommended instead."
            out.append(said)
        takeover = format_takeover(r)
        if takeover:
            out.append(
                f"Format takeover: {r.name}'s {'; '.join(takeover)} — it answers in the trained"
                " format instead: serve it only for this task."
            )
    return out


def _chosen_without_harms(c: _Case) -> str | None:
    """What the procedure would choose if no probe had found a harm."""
    return decide_steps(without_harms(c.options), c.needs, c.pairs).chosen


def _evidence_lines(c: _Case) -> list[str]:
    e, out = c.evidence, []
    tuned = any(o.trains for o in c.options)
    if e.docs_warning:
        share = f"{e.docs_share:.0%} of " if e.docs_share is not None else "some of "
        out.append(
            f"Training data: the documents do not support {share}your training answers"
            " (stale answers or incomplete documents) — a fine-tune would learn them as they"
            f" are; retrieval follows the documents. {e.docs_warning}"
        )
    if e.knowledge_warning and tuned:
        out.append(f"Training data: {e.knowledge_warning}")
    return out


def _dirty_data_line(c: _Case, v: Verdict) -> list[str]:
    """Contradicting training rows, where a fine-tune is recommended or left undecided: it
    would learn them as they are."""
    e = c.evidence
    if v.fine_tune is False or e.dirty_share < DIRTY_SHARE:
        return []
    found = [f"{e.conflicts} conflicting pairs" if e.conflicts else "",
             f"{e.mislabelled} rows that look mislabelled" if e.mislabelled else ""]  # fmt: skip
    where = f", e.g. {', '.join(e.dirty_sources[:4])}" if e.dirty_sources else ""
    return [
        f"Training data: {' and '.join(x for x in found if x)} ({e.dirty_share:.0%} of"
        f" {e.n_train} training rows{where}) — a fine-tune learns those contradictions as they"
        " are; fix these first (the audit lists them)."
    ]


def _metric_gap_lines(c: _Case) -> list[str]:
    """Right answers a strict metric hides: the answer *contains* the expected one. (Token
    F1's partial overlap is shown in the report, but a half-right code is not a right one.)"""
    out = []
    for r in c.results:
        value = r.lenient.get("contains")
        if r.quality.metric == "contains" or not isinstance(value, int | float):
            continue
        if value - r.quality.score >= METRIC_GAP:
            out.append(
                f"Metric check: {r.name} scores {r.quality.score:.2f} {r.quality.metric}, but"
                f" {value:.2f} of its answers contain the expected answer — right but worded"
                " differently? Consider metric: contains or a stop string (shouldtune rescore"
                " RUN --metric contains)."
            )
    return out


def _retrieval_lines(c: _Case) -> list[str]:
    out = []
    for r in c.results:
        diag = r.details.get("retrieval") if isinstance(r.details, dict) else None
        if not isinstance(diag, dict) or not isinstance(diag.get("answer_in_context"), float | int):
            continue
        share = diag["answer_in_context"]
        hit = diag.get("score_when_in_context")
        verdict = (
            "retrieval mostly failed: the answer was not in the context it read (or the"
            " answer is composed from the documents rather than written in them)"
            if share < 0.5
            else "retrieval found the answer; the model did not use it"
            if isinstance(hit, int | float) and hit < 0.5
            else "retrieval and reading both worked"
        )
        hit_text = f", scoring {hit:.2f} on those rows" if isinstance(hit, int | float) else ""
        out.append(
            f"Retrieval check: for {r.name} the expected answer was in the retrieved context for"
            f" {share:.0%} of the questions{hit_text}: {verdict}."
        )
    return out


def _significantly_worse(c: _Case) -> str:
    if c.d.leader is None:
        return ""
    leader = c.named[c.d.leader]
    worse = [
        o
        for o in sorted(c.options, key=lambda o: (-o.score, o.name))
        if o.name not in c.d.acceptable and o.name not in c.d.ruled_out
    ]
    if not worse:
        return ""
    listed = ", ".join(f"{o.name} ({o.score:.3f})" for o in worse)
    return f"Significantly worse than {leader.name}: {listed}."


# --- next steps and the needs table ---------------------------------------------------------


def needs_blocked(c: _Case) -> list[Option]:
    """Usable strategies a hard need (latency budget, self-hosting) rules out, when nothing is
    recommended: then the needs decided, not the quality."""
    return [o for o in c.options if not quality_reasons(o, c.needs) and hard_reasons(o, c.needs)]


def _needs_words(c: _Case) -> str:
    blocked = needs_blocked(c)
    words = []
    if any(o.over_budget(c.needs.latency_p95_ms) for o in blocked):
        words.append(f"latency budget (p95 {c.needs.latency_p95_ms:,.0f} ms)")
    if c.needs.self_hosted and any(o.hosted for o in blocked):
        words.append("self-hosting need")
    return " and ".join(words) or "needs"


def _need_steps(c: _Case) -> list[str]:
    """What would meet the need that ruled out every usable strategy."""
    blocked, steps = needs_blocked(c), []
    budget = c.needs.latency_p95_ms
    slow = [o for o in blocked if o.over_budget(budget)]
    if slow:
        fastest = min(slow, key=lambda o: (o.p95_floor, o.name))
        steps.append(
            f"raise the p95 budget to at least {fastest.p95_floor:,.0f} ms ({fastest.name}, the"
            " fastest usable strategy), or make it faster: a GPU, a serving engine"
            " (--engine vllm), or a shorter prompt"
        )
    if c.needs.self_hosted and any(o.hosted for o in blocked):
        steps.append("allow a hosted model (--hosted-ok), or serve that model on this machine")
    return steps


def next_steps(c: _Case, v: Verdict) -> list[str]:
    """Ranked from the run's own evidence; only when the verdict is not a decision."""
    dirty = bool(_dirty_data_line(c, v))
    fix = ["fix the training rows the audit finds contradicting each other or mislabelled"
           " first (shouldtune audit): a fine-tune learns them"] if dirty else []  # fmt: skip
    if v.recommended is not None and v.fine_tune is not None:
        return fix
    steps = fix + (_need_steps(c) if v.recommended is None else [])
    if c.evidence.quick:
        steps.append("run without --quick (every test row, full training, learning-rate sweep)")
    flippable = c.ceiling
    for o in c.options:
        if o.name in flippable:
            steps.append(
                f"train {o.name} longer (raise options.{o.name}.epochs): its dev loss was still"
                " falling"
            )
    for r in c.results:
        trend = r.details.get("learning_curve_trend") if isinstance(r.details, dict) else None
        if r.trains and trend in ("rising", "probably_rising"):
            steps.append(f"add training data: {r.name}'s learning curve is still rising")
    if v.recommended is None and not needs_blocked(c):
        steps.append(
            "try a larger model (--model PATH), somebody else's fine-tune (--candidate), or a"
            " served model (--backend-url)"
        )
        if any(r.lenient.get("contains", 0) - r.quality.score >= METRIC_GAP for r in c.results):
            steps.append(
                "check the metric: some answers contain the expected one"
                " (rescore --metric contains)"
            )
    return list(dict.fromkeys(steps))


def needs_table(c: _Case) -> list[dict[str, Any]]:
    """Strategy x need: met or not, with the measured number; total cost over the horizon."""
    n, rows = c.needs, []
    for o in sorted(c.options, key=lambda o: (-o.score, o.name)):
        rows.append(
            {
                "name": o.name,
                "trains": o.trains,
                "score": o.score,
                "ci_low": o.ci_low,
                "ci_high": o.ci_high,
                "quality_ok": not quality_reasons(o, n),
                "p95_ms": o.p95_ms,
                "p95_ci": list(o.p95_ci) if o.p95_ci else None,
                "latency_ok": not o.over_budget(n.latency_p95_ms),
                "hosted": o.hosted,
                "control_ok": not (n.self_hosted and o.hosted),
                "acceptable": o.name in c.d.acceptable,
                "cost_per_1k": o.cost_per_request * 1000,
                "training_cost": o.training_cost if o.trains else 0.0,
                "total_cost": (c.d.totals or {}).get(o.name, o.total_cost(n)),
                "ruled_out": c.d.ruled_out.get(o.name, []),
                "hard_needs": hard_reasons(o, n),
            }
        )
    return rows
