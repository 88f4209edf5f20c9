"""The house's layers as written-down contracts over the import graph (CONTRIBUTING.md).

The graph is read from the sources with `ast`, nothing is imported. Every import counts: at
module level, inside a function (a lazy import is a dependency, only deferred) and under
`if TYPE_CHECKING:` (an annotation ties a module to another as much as a call does). The
rules, bottom up:

(a) `core`, `contract` and `progress` (which the contract imports) import nothing of the
    project but `core`; the contract may also import `progress`. The package root
    (`shouldtune/__init__.py`, `__version__`) imports nothing, so anyone may read it.
(b) Nothing outside `cli` imports `cli`.
(c) `finetune` (the training components) imports nothing from `strategies`; `eval` measures
    a strategy through the contract and uses from `strategies` only `answering` (how a
    ranked label answer is summarised), never the registry, `base` or a strategy.
(d) No cycle between top-level packages and modules (core, strategies, run, ...).
(e) No cycle between modules.
(f) A strategy never imports another strategy: in strategies/, modules that are not
    strategies (the bases and helpers in SHARED) are all a strategy may import there.

KNOWN lists the climbs that exist today and are out of this change's reach, each by edge and
why; the rules skip exactly those edges, so any new climb fails, and an edge that is gone
fails too (take it off the list).
"""

from __future__ import annotations

import ast
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import pytest

pytestmark = pytest.mark.decision

SRC = Path(__file__).resolve().parent.parent / "src"
ROOT = "shouldtune"

# strategies/ modules that are not strategies: the contract's re-export and shared helpers
# (base), how answers are produced (answering), the prompt search (search), and the base
# every fine-tune variant extends (finetuned, as base.py is to the prompting ones).
SHARED = {"__init__", "base", "answering", "search", "finetuned"}

# (importer, imported): why it is there. Each should go; none may be added.
KNOWN: dict[tuple[str, str], str] = {
    ("core.config", "models.constrain"): (
        "task.yaml's output_schema/output_regex validators check with models/constrain.py's "
        "plain-Python checks; moving those checks into core would end it"
    ),
    ("core.outdir", ROOT): "the run marker records __version__ (the root imports nothing)",
    ("contract", "models.constrain"): (
        "RunContext.output_shape detects the task's answer shape on first use (plain Python)"
    ),
    ("contract", "audit.labels"): (
        "label_set (RunContext.labels) asks the audit's test whether outputs are labels"
    ),
    ("progress", "estimate"): (
        "progress.left_words formats with estimate.duration; duration belongs below progress"
    ),
    ("finetune.distributed", "strategies"): (
        "the `-m shouldtune.finetune.distributed` command creates a registered fine-tune: a "
        "top of the house like run.py, living in finetune/ under its documented name"
    ),
    ("finetune.distributed", "strategies.finetuned"): "the same command checks it is one",
    ("finetune.trainer", "eval.measure"): (
        "the training loop records its peak RSS with eval/measure.py's PeakRss, a leaf (numpy, "
        "psutil) that belongs below both; with eval -> strategies -> finetune it closes a cycle"
    ),
    ("core.verdict", "core.reasons"): (
        "the verdict words its reasons with core/reasons.py, which imports the verdict's "
        "constants back (a function-local import keeps it importable)"
    ),
}


@dataclass(frozen=True)
class Edge:
    importer: str  # module names without the "shouldtune." prefix; ROOT for the root
    imported: str
    line: int
    kind: str  # "module", "local" (inside a function) or "typing" (under TYPE_CHECKING)

    def __str__(self) -> str:
        return f"{self.importer} -> {self.imported} (line {self.line}, {self.kind})"


def _name(path: Path) -> str:
    parts = list(path.relative_to(SRC / ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts) or ROOT


def _modules() -> dict[str, Path]:
    return {_name(p): p for p in sorted((SRC / ROOT).rglob("*.py"))}


def _short(full: str) -> str:
    return full.removeprefix(ROOT + ".") if full != ROOT else ROOT


def _type_checking(test: ast.expr) -> bool:
    return getattr(test, "id", getattr(test, "attr", None)) == "TYPE_CHECKING"


class _Imports(ast.NodeVisitor):
    def __init__(self, name: str, is_package: bool, modules: set[str]):
        self.name, self.modules, self.kind = name, modules, "module"
        here = [] if name == ROOT else name.split(".")
        self.package = [ROOT, *here] if is_package else [ROOT, *here[:-1]]
        self.edges: list[Edge] = []

    def _within(self, node: ast.AST, kind: str) -> None:
        outer, self.kind = self.kind, kind if self.kind == "module" else self.kind
        self.generic_visit(node)
        self.kind = outer

    def visit_FunctionDef(self, node: ast.FunctionDef) -> None:
        self._within(node, "local")

    visit_AsyncFunctionDef = visit_FunctionDef  # type: ignore[assignment]

    def visit_If(self, node: ast.If) -> None:
        if not _type_checking(node.test):
            self.generic_visit(node)
            return
        outer, self.kind = self.kind, "typing"
        for child in node.body:
            self.visit(child)
        self.kind = outer
        for child in node.orelse:
            self.visit(child)

    def _add(self, target: str, line: int) -> None:
        if target == ROOT or target.startswith(ROOT + "."):
            self.edges.append(Edge(self.name, _short(target), line, self.kind))

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            self._add(alias.name, node.lineno)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        if node.level:
            base = self.package[: len(self.package) - node.level + 1]
            target = ".".join(base + ([node.module] if node.module else []))
        else:
            target = node.module or ""
        for alias in node.names:  # `from . import search` imports the module search
            sub = f"{target}.{alias.name}"
            self._add(sub if _short(sub) in self.modules else target, node.lineno)


def _edges() -> list[Edge]:
    modules = _modules()
    edges = []
    for name, path in modules.items():
        visitor = _Imports(name, path.name == "__init__.py", set(modules))
        visitor.visit(ast.parse(path.read_text(encoding="utf-8"), str(path)))
        edges += [e for e in visitor.edges if e.imported != name]
    return edges


EDGES = _edges()
NEW = [e for e in EDGES if (e.importer, e.imported) not in KNOWN]


def top(module: str) -> str:
    """The top-level package or module a module belongs to ("core", "run", "contract")."""
    return module.split(".")[0]


def _in(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle in the graph (its nodes, the first repeated at the end), or None."""
    state: dict[str, int] = {}  # 1: on the path, 2: done
    path: list[str] = []

    def walk(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return path[path.index(nxt) :] + [nxt]
            if nxt not in state and (found := walk(nxt)):
                return found
        state[node] = 2
        path.pop()
        return None

    for node in sorted(graph):
        if node not in state and (found := walk(node)):
            return found
    return None


def _fail(rule: str, edges: list[Edge]) -> None:
    assert not edges, f"{rule}:\n  " + "\n  ".join(map(str, edges))


def test_the_graph_is_read():
    # A parser that found nothing would pass every rule: it finds what we know is there.
    pairs = {(e.importer, e.imported, e.kind) for e in EDGES}
    assert ("strategies.base", "contract", "module") in pairs
    assert ("strategies.lora", "strategies.finetuned", "module") in pairs
    assert ("strategies.zero_shot", "strategies.search", "module") in pairs  # from . import
    assert ("core.verdict", "core.reasons", "local") in pairs
    assert ("estimate.speed", "strategies.finetuned", "typing") in pairs


def test_the_known_exceptions_still_exist():
    """A fixed exception comes off KNOWN, so it can never come back unnoticed."""
    gone = set(KNOWN) - {(e.importer, e.imported) for e in EDGES}
    assert not gone, f"no longer imported, remove from KNOWN: {sorted(gone)}"


def test_a_the_bottom_imports_only_core():
    allowed = {"core": {"core"}, "contract": {"core", "progress"}, "progress": {"core"}}
    climbs = [
        e
        for e in NEW
        if top(e.importer) in allowed and top(e.imported) not in allowed[top(e.importer)]
    ]
    _fail("core, contract and progress import only core (the contract: and progress)", climbs)
    _fail("the package root imports nothing", [e for e in EDGES if e.importer == ROOT])


def test_b_nothing_imports_the_cli():
    up = [e for e in NEW if top(e.imported) == "cli" != top(e.importer)]
    _fail("the library imports cli/", up)


def test_c_finetune_and_eval_do_not_reach_the_strategies():
    up = [e for e in NEW if top(e.importer) == "finetune" and top(e.imported) == "strategies"]
    _fail("finetune/ imports strategies/", up)
    eval_ok = {"strategies.answering"}
    up = [
        e
        for e in NEW
        if top(e.importer) == "eval"
        and top(e.imported) == "strategies"
        and e.imported not in eval_ok
    ]
    _fail(f"eval/ imports strategies/ beyond {sorted(eval_ok)}", up)


def test_d_no_cycle_between_top_level_packages():
    graph: dict[str, set[str]] = defaultdict(set)
    for e in NEW:
        if top(e.importer) != top(e.imported):
            graph[top(e.importer)].add(top(e.imported))
    cycle = _cycle(graph)
    assert cycle is None, "packages import each other: " + " -> ".join(cycle or [])


def test_e_no_cycle_between_modules():
    graph: dict[str, set[str]] = defaultdict(set)
    for e in NEW:
        graph[e.importer].add(e.imported)
    cycle = _cycle(graph)
    assert cycle is None, "modules import each other: " + " -> ".join(cycle or [])


def test_f_a_strategy_never_imports_another_strategy():
    registry = ast.parse((SRC / ROOT / "strategies" / "__init__.py").read_text("utf-8"))
    targets = next(
        ast.literal_eval(node.value)
        for node in ast.walk(registry)
        if isinstance(node, ast.AnnAssign) and getattr(node.target, "id", "") == "REGISTRY"
    )
    registered = {t.split(":")[0].removeprefix(ROOT + ".strategies.") for t in targets.values()}
    assert not registered & SHARED, "a registered strategy is listed as shared"
    found = {n.split(".")[1] for n in _modules() if top(n) == "strategies" and "." in n}
    assert registered <= found, "the registry names a module that is not in strategies/"
    strategy_modules = {f"strategies.{n}" for n in found - SHARED}
    crossing = [
        e
        for e in NEW
        if e.importer in strategy_modules
        and e.imported != e.importer
        and (e.imported in strategy_modules or e.imported == "strategies")
    ]
    _fail("a strategy imports another strategy (or the registry)", crossing)
