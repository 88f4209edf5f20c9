"""Progress that tells the truth: plain lines off a terminal, time left from the estimate."""

from __future__ import annotations

import io
import re
import sys

import pytest
from rich.console import Console

from shouldtune.cli.progress import (
    PlainProgress,
    RichProgress,
    clock_text,
    is_interactive,
    make_progress,
    quiet_libraries,
)
from shouldtune.progress import Eta


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class FakeEstimate:
    """What the displays read of an estimate: its phases and its plan lines."""

    title = "demo on tiny"

    def __init__(self, phases):
        self._phases = phases

    def phases(self):
        return self._phases


@pytest.fixture
def plain_lines(monkeypatch):
    monkeypatch.setattr(
        "shouldtune.cli.progress._plan_lines", lambda est: [f"Plan for {est.title}: 2 strategies"]
    )


def test_plain_progress_one_line_per_stage_start_and_end(plain_lines):
    clock, out = Clock(), io.StringIO()
    with PlainProgress(out, clock) as progress:
        progress.stage("plan", "measuring speed")
        clock.now += 4
        progress.planned(FakeEstimate([("setup", 2), ("zero_shot", 20), ("verdict", 8)]))
        clock.now += 2
        progress.stage("zero_shot", "evaluating", total=40)
        progress.advance(40)
        clock.now += 40  # twice the estimate: the rest of the run is expected slower too
        progress.stage("verdict", "scoring")
        progress.log("warning: something worth knowing")
        clock.now += 3
    assert out.getvalue().splitlines() == [
        "[0:00] plan · measuring speed started",
        "[0:04] plan · measuring speed done in 4.0 s",
        "Plan for demo on tiny: 2 strategies",
        "[0:06] zero_shot · evaluating started · about 28 s left",
        "[0:46] zero_shot · evaluating done in 40 s · this stage 20 s past its estimate, then"
        " about 16 s left",
        "[0:46] verdict · scoring started · about 15 s left",
        "[0:46] warning: something worth knowing",
        "[0:49] verdict · scoring done in 3.0 s · about 12 s left",
    ]
    assert "\x1b" not in out.getvalue()


def test_plain_progress_without_estimate_has_no_eta():
    clock, out = Clock(), io.StringIO()
    with PlainProgress(out, clock) as progress:
        progress.stage("baseline", "preparing")
        clock.now += 0.5
    assert out.getvalue().splitlines() == [
        "[0:00] baseline · preparing started",
        "[0:00] baseline · preparing done in 0.5 s",
    ]


def test_long_stage_heartbeat_at_most_once_a_minute():
    clock, out = Clock(), io.StringIO()
    progress = PlainProgress(out, clock, heartbeat_s=60)
    progress.stage("lora", "training")
    for _ in range(150):  # one step a second for 150 s
        clock.now += 1
        progress.advance()
    lines = out.getvalue().splitlines()
    assert lines == [
        "[0:00] lora · training started",
        "[1:00] lora · training: 60 steps, 1 min 00 s in",
        "[2:00] lora · training: 120 steps, 2 min 00 s in",
    ]


def test_eta_corrects_with_finished_phases_and_skips_cached_ones():
    clock = Clock()
    eta = Eta([("setup", 2), ("knowledge", 10), ("lora", 100), ("rag", 50), ("verdict", 5)], clock)
    assert eta.remaining() == pytest.approx(167)
    clock.now += 2
    eta.enter("knowledge")
    assert eta.ratio() == 1.0  # 2 s of evidence is too little to correct anything
    clock.now += 20  # knowledge took twice its estimate
    eta.enter("lora")
    assert eta.ratio() == pytest.approx(22 / 12)
    eta.enter("probes")  # a fine-tune's probes stay in its phase
    assert eta.index == 2
    clock.now += 10
    assert eta.remaining() == pytest.approx(100 * 22 / 12 - 10 + 55 * 22 / 12)
    eta.enter("verdict")  # rag was cached: left out of the correction
    assert eta.done_estimated == pytest.approx(112)
    assert eta.done_actual == pytest.approx(32)
    eta.enter("lora")  # an earlier phase never moves the clock back
    assert eta.names[eta.index] == "verdict"


def test_eta_ratio_is_bounded():
    clock = Clock()
    eta = Eta([("setup", 10), ("a", 10)], clock)
    clock.now += 1000
    eta.enter("a")
    assert eta.ratio() == 5.0


def test_clock_text():
    assert clock_text(0) == "0:00"
    assert clock_text(75.9) == "1:15"
    assert clock_text(3725) == "1:02:05"


def test_pipes_and_files_get_plain_lines():
    tty = Console(file=sys.stderr, force_terminal=True)
    piped = Console(file=io.StringIO())
    assert not is_interactive(piped, tty)
    assert not is_interactive(tty, piped)
    assert is_interactive(tty, Console(file=sys.stdout, force_terminal=True))
    assert isinstance(make_progress(piped, tty), PlainProgress)
    dumb = Console(file=sys.stderr, force_terminal=True, _environ={"TERM": "dumb"})
    assert not is_interactive(dumb, tty)


def test_rich_progress_shows_the_plan_and_run_time_left(plain_lines):
    buf = io.StringIO()
    console = Console(file=buf, force_terminal=False, width=200)
    with RichProgress(console) as progress:
        progress.planned(FakeEstimate([("setup", 2), ("zero_shot", 20), ("verdict", 8)]))
        progress.stage("zero_shot", "evaluating", total=4)
        progress.advance(4)
    text = buf.getvalue()
    assert "Plan for demo on tiny" in text
    assert re.search(r"run: about \d+ s left", text)


def test_quiet_libraries_silences_loading_bars_and_restores_them():
    import huggingface_hub.utils as hub_utils
    from transformers.utils import logging as hf_logging

    assert hf_logging.is_progress_bar_enabled()
    with quiet_libraries():
        assert not hf_logging.is_progress_bar_enabled()
        assert hub_utils.are_progress_bars_disabled()
    assert hf_logging.is_progress_bar_enabled()
    assert not hub_utils.are_progress_bars_disabled()


def test_quiet_libraries_drops_only_the_known_warnings():
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with quiet_libraries():
            warnings.warn(
                "`is_gradient_checkpointing` is deprecated and will be removed in v6.",
                FutureWarning,
                stacklevel=1,
            )
            with pytest.raises(FutureWarning, match="something else"):
                warnings.warn("something else is deprecated", FutureWarning, stacklevel=1)


def test_an_overrunning_stage_says_so_and_re_estimates_the_rest_from_the_measured_rate():
    from shouldtune.progress import left_words

    clock = Clock()
    eta = Eta([("setup", 10), ("lora", 60), ("rag", 30), ("verdict", 10)], clock)
    clock.now += 10
    eta.enter("lora")  # setup on time: ratio 1
    clock.now += 30
    assert eta.overrun() == 0 and left_words(eta) == "about 1 min 10 s left"
    clock.now += 7 * 60 - 30  # the training runs 7 minutes, 6 past its 1-minute estimate
    assert eta.overrun() == pytest.approx(360)
    # The rest (40 s estimated) at this stage's measured rate, 7x, bounded at 5x: 200 s.
    assert eta.after_current() == pytest.approx(200)
    assert left_words(eta) == "this stage 6 min 00 s past its estimate, then about 3 min 20 s left"
    clock.now += 60
    assert left_words(eta).startswith("this stage 7 min 00 s past its estimate")
