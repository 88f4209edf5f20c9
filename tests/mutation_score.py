"""The score of a `mutmut run` (make mutate): mutants per module, every survivor that is not
accepted as equivalent in tests/mutants-accepted.md, and last one line:

    mutation score: K/N killed (P%)

K counts mutants a test killed (a timeout is a kill: the mutant made the tests hang); N is
every mutant generated. A survivor is either killed by a new test or listed in
tests/mutants-accepted.md with why it behaves identically; the exit status is 1 while one is
neither, or the score is under TARGET.
"""

from __future__ import annotations

import json
import re
import sys
from collections import Counter
from pathlib import Path

TARGET = 0.90
ROOT = Path(__file__).resolve().parents[1]
ACCEPTED = ROOT / "tests" / "mutants-accepted.md"
# mutmut's exit codes (mutmut.stats.status_by_exit_code), as this script reads them.
KILLED = {1, 3, 36, 24, -24, 152, 255}
SURVIVED = {0}
NO_TESTS = {5, 33}
MUTANT = re.compile(r"`([\w.]+__mutmut_\d+)`")


def results(mutants: Path) -> dict[str, dict[str, int | None]]:
    """module path -> {mutant name: exit code} from mutmut's .meta files."""
    found = {}
    for meta in sorted(mutants.rglob("*.py.meta")):
        module = str(meta.relative_to(mutants)).removesuffix(".meta")
        found[module] = json.loads(meta.read_text())["exit_code_by_key"]
    return found


def status(code: int | None) -> str:
    if code in KILLED:
        return "killed"
    if code in SURVIVED:
        return "survived"
    if code in NO_TESTS:
        return "no tests"
    return "not checked" if code is None else f"other ({code})"


def main(mutants: Path = ROOT / "mutants") -> int:
    by_module = results(mutants)
    if not by_module:
        print(f"no mutmut results under {mutants}: run `make mutate`")
        return 1
    accepted = set(MUTANT.findall(ACCEPTED.read_text())) if ACCEPTED.exists() else set()
    killed = total = 0
    unexplained, equivalent = [], []
    print(f"{'module':<40} {'mutants':>8} {'killed':>8} {'survived':>9} {'no tests':>9}")
    for module, codes in by_module.items():
        counts = Counter(status(c) for c in codes.values())
        killed += counts["killed"]
        total += len(codes)
        print(
            f"{module:<40} {len(codes):>8} {counts['killed']:>8} {counts['survived']:>9}"
            f" {counts['no tests']:>9}"
        )
        for name, code in sorted(codes.items()):
            if status(code) != "killed":
                (equivalent if name in accepted else unexplained).append((name, status(code)))
    stale = sorted(accepted - {name for name, _ in equivalent})
    if stale:
        print(f"\n{len(stale)} accepted mutants no longer survive (drop them from the list):")
        print("\n".join(f"  {name}" for name in stale))
    if unexplained:
        print(
            f"\n{len(unexplained)} mutants neither killed nor accepted in {ACCEPTED.name}"
            " (`mutmut show NAME` shows one):"
        )
        print("\n".join(f"  {name}: {what}" for name, what in unexplained))
    print(f"\naccepted as equivalent: {len(equivalent)}")
    share = killed / total if total else 0.0
    print(f"mutation score: {killed}/{total} killed ({share:.1%})")
    return 1 if unexplained or share < TARGET else 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "mutants"))
