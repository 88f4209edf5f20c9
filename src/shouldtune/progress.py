"""Progress reporting seam: the library calls it, the CLI draws it (rich on a terminal, plain
lines elsewhere). `Eta` turns the plan's estimate into time left, corrected as phases finish."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Protocol


class Progress(Protocol):
    def stage(self, strategy: str, stage: str, total: int | None = None) -> None: ...

    def advance(self, n: int = 1) -> None: ...

    def log(self, message: str) -> None: ...


class NullProgress:
    def stage(self, strategy: str, stage: str, total: int | None = None) -> None:
        pass

    def advance(self, n: int = 1) -> None:
        pass

    def log(self, message: str) -> None:
        pass


# Stages that belong to whatever phase is running: the probes of a fine-tune run inside it.
SHARED_STAGES = frozenset({"probes"})
# Below this much estimated work done, the measured/estimated ratio is too noisy to apply.
MIN_EVIDENCE_S = 5.0
RATIO_BOUNDS = (0.2, 5.0)


class Eta:
    """Time left in a run from its estimate, in phases ('setup', 'knowledge', each strategy,
    'verdict': the names progress stages carry), corrected by how fast the finished phases
    went against their estimate. A phase passed over without running (a cached strategy) is
    left out of the correction."""

    def __init__(
        self, phases: Sequence[tuple[str, float]], clock: Callable[[], float] = time.monotonic
    ):
        self.names = [name for name, _ in phases]
        self.estimates = [max(seconds, 0.0) for _, seconds in phases]
        self.clock = clock
        self.index = 0
        self.phase_started = clock()
        self.done_estimated = 0.0
        self.done_actual = 0.0

    def enter(self, name: str) -> None:
        """A stage of phase `name` began; later phases in the plan move the clock on."""
        if name in SHARED_STAGES:
            return
        later = [i for i in range(self.index + 1, len(self.names)) if self.names[i] == name]
        if not later:
            return
        target = later[0]
        now = self.clock()
        self.done_estimated += self.estimates[self.index]
        self.done_actual += now - self.phase_started
        self.index, self.phase_started = target, now  # phases in between: not run (cached)

    def ratio(self) -> float:
        """Measured over estimated seconds of the finished phases (1 before enough evidence)."""
        if self.done_estimated < MIN_EVIDENCE_S:
            return 1.0
        low, high = RATIO_BOUNDS
        return min(max(self.done_actual / self.done_estimated, low), high)

    def remaining(self) -> float:
        r = self.ratio()
        current = max(self.estimates[self.index] * r - (self.clock() - self.phase_started), 0.0)
        return current + r * sum(self.estimates[self.index + 1 :])

    def overrun(self) -> float:
        """Seconds the running phase is past its corrected estimate (0 while it is not)."""
        elapsed = self.clock() - self.phase_started
        return max(elapsed - self.estimates[self.index] * self.ratio(), 0.0)

    def after_current(self) -> float:
        """The phases after the running one, at the rate measured so far, this phase's own
        overrun included: a machine slower than the plan said is slower for the rest too."""
        r, est = self.ratio(), self.estimates[self.index]
        if est > 0 and self.overrun() > 0:
            r = min(max(r, (self.clock() - self.phase_started) / est), RATIO_BOUNDS[1])
        return r * sum(self.estimates[self.index + 1 :])


def left_words(eta: Eta) -> str:
    """'about 3 min left', or, past the stage's estimate, how far past and what follows it
    (a fixed 'about 1.3 s left' for ten minutes of an overrunning training said nothing)."""
    from .estimate import duration

    over = eta.overrun()
    if over <= 0:
        return f"about {duration(eta.remaining())} left"
    return (
        f"this stage {duration(over)} past its estimate, then about"
        f" {duration(eta.after_current())} left"
    )
