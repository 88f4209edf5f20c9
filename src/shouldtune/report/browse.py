"""The predictions browser: every test example with each strategy's answer side by side.

Rows are joined on the test-set index. An example is a *disagreement* when the strategies'
scores for it differ: that is where choosing one strategy over another changes the outcome.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..core.taskio import jsonl_records

BROWSE_LIMIT = 1000  # examples shown in the HTML browser; disagreements are kept first
CELL_LIMIT = 300  # characters of dataset text per cell


def truncate(value: Any, limit: int = CELL_LIMIT) -> str:
    text = "" if value is None else str(value)
    if len(text) <= limit:
        return text
    return f"{text[:limit]}… (+{len(text) - limit} chars)"


def read_jsonl(path: Path) -> list[dict]:
    """Rows of a predictions file; unreadable lines are skipped (a report never crashes)."""
    return [row for _, row in jsonl_records(path, strict=False) if isinstance(row, dict)]


def load_predictions(results: dict, run_dir: Path) -> dict[str, list[dict]]:
    """{strategy name: every prediction row}, for the strategies of results.json."""
    preds: dict[str, list[dict]] = {}
    for s in results.get("strategies") or []:
        name, rel = s.get("name"), s.get("predictions_file")
        if not name or not rel:
            continue
        path = (Path(run_dir) / str(rel)).resolve()
        # results.json may come from elsewhere (compare): never read outside the run folder.
        if Path(run_dir).resolve() not in path.parents:
            continue
        preds[str(name)] = read_jsonl(path)
    return preds


def is_correct(score: Any) -> bool:
    return isinstance(score, int | float) and not isinstance(score, bool) and score >= 1.0


def _score(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


@dataclass
class Cell:
    strategy: str
    predicted: str
    score: str
    correct: bool


@dataclass
class ExampleRow:
    index: int
    source: str
    input: str
    expected: str
    cells: list[Cell] = field(default_factory=list)
    disagree: bool = False
    wrong: list[str] = field(default_factory=list)


@dataclass
class Browser:
    names: list[str]
    rows: list[ExampleRow]
    n_examples: int
    n_disagree: int

    @property
    def truncated(self) -> bool:
        return len(self.rows) < self.n_examples


def _by_index(rows: list[dict]) -> dict[int, dict]:
    out = {}
    for i, row in enumerate(rows):
        index = row.get("index", i)
        if isinstance(index, int) and not isinstance(index, bool):
            out.setdefault(index, row)
    return out


def _example(index: int, by_name: dict[str, dict[int, dict]], names: list[str]) -> ExampleRow:
    first = next(by_name[n][index] for n in names if index in by_name[n])
    row = ExampleRow(
        index=index,
        source=str(first.get("source", "")),
        input=truncate(first.get("input")),
        expected=truncate(first.get("expected")),
    )
    scores = set()
    for name in names:
        pred = by_name[name].get(index)
        if pred is None:
            row.cells.append(Cell(name, "", "–", False))
            continue
        score = _score(pred.get("score"))
        scores.add(None if score is None else round(score, 6))
        correct = is_correct(score)
        row.cells.append(Cell(name, truncate(pred.get("predicted")), _fmt(score), correct))
        if not correct:
            row.wrong.append(name)
    row.disagree = len(scores) > 1
    return row


def _fmt(score: float | None) -> str:
    return "–" if score is None else f"{score:.3f}"


def build_browser(preds: dict[str, list[dict]], limit: int = BROWSE_LIMIT) -> Browser:
    """All examples joined across strategies; over `limit`, disagreements are kept first."""
    names = [n for n, rows in preds.items() if rows]
    by_name = {n: _by_index(preds[n]) for n in names}
    indices = sorted({i for n in names for i in by_name[n]})
    rows = [_example(i, by_name, names) for i in indices]
    n_disagree = sum(r.disagree for r in rows)
    if len(rows) > limit:
        chosen = [r for r in rows if r.disagree][:limit]
        chosen += [r for r in rows if not r.disagree][: limit - len(chosen)]
        rows = sorted(chosen, key=lambda r: r.index)
    return Browser(names, rows, len(indices), n_disagree)


def disagreements(browser: Browser, n: int) -> list[ExampleRow]:
    return [r for r in browser.rows if r.disagree][:n]
