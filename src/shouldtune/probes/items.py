"""Probe items: the shipped SelfAware and general-knowledge sets, and a task's probes.jsonl.

Three kinds: `answerable` (a question with reference answers), `unanswerable` (nobody knows
the answer; the model should say so) and `general` (simple facts the base model gets right:
the forgetting probe). A task may add its own items in `probes.jsonl`, one JSON object a
line: {"question": ..., "answers": [...]} is answerable, {"question": ..., "answerable":
false} is unanswerable, and "kind": "general" puts an item with answers in the general-knowledge
set. A general item may add "options": the right answer first, then at least one plausible wrong
one of the same kind ("options": ["Canberra", "Sydney", "Melbourne", "Perth"]), and a "stem",
the start of a reply the options complete ("stem": "The capital of Australia is"); with
options it is also scored by likelihood (knowledge_retained), without only by generation
(open_questions).
They are probed in addition to the shipped items (set a shipped count to 0 to use only yours).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..core.errors import InputError
from ..core.taskio import jsonl_records
from ..core.usercode import task_file

KINDS = ("answerable", "unanswerable", "general")
USER_FILE = "probes.jsonl"
# Package data (src/shouldtune/data/): the shipped probe sets with their licences, in the wheel.
DATA_DIR = Path(__file__).resolve().parents[1] / "data"
SELFAWARE_FILE = DATA_DIR / "selfaware" / "selected.jsonl"
GENERAL_FILE = DATA_DIR / "general" / "general.jsonl"


@dataclass(frozen=True)
class ProbeItem:
    kind: str
    question: str
    answers: tuple[str, ...] = ()
    source: str = ""
    options: tuple[str, ...] = ()  # general items: the right option first, then distractors
    stem: str | None = None  # the start of the reply the options complete (a cloze)


def parse_item(record: Any, path: Path, line: int) -> ProbeItem:
    """One probes.jsonl line; every problem names the file and the line."""
    if not isinstance(record, dict):
        raise InputError(f"expected a JSON object, got {type(record).__name__}", path, line)
    question = record.get("question")
    if not isinstance(question, str) or not question.strip():
        raise InputError("'question' must be a non-empty string", path, line)
    answers = record.get("answers", [])
    answers = [answers] if isinstance(answers, str) else answers
    if not isinstance(answers, list) or not all(isinstance(a, str) and a for a in answers):
        raise InputError("'answers' must be a string or a list of non-empty strings", path, line)
    answerable = record.get("answerable", bool(answers))
    if not isinstance(answerable, bool):
        raise InputError("'answerable' must be true or false", path, line)
    kind = record.get("kind", "answerable" if answerable else "unanswerable")
    if kind not in KINDS:
        raise InputError(f"'kind' must be one of {', '.join(KINDS)}; got {kind!r}", path, line)
    if (kind == "unanswerable") == bool(answers):
        need = "no 'answers'" if kind == "unanswerable" else "at least one of 'answers'"
        raise InputError(f"a {kind} probe needs {need}", path, line)
    options = _options(record.get("options"), kind, path, line)
    stem = record.get("stem")
    if stem is not None and (not isinstance(stem, str) or not stem.strip() or not options):
        raise InputError("'stem' must be a non-empty string, with 'options'", path, line)
    question = " ".join(question.split())
    stem = " ".join(stem.split()) if stem else None
    return ProbeItem(kind, question, tuple(answers), f"{path.name}:{line}", options, stem)


def _options(value: Any, kind: str, path: Path, line: int) -> tuple[str, ...]:
    if value is None:
        return ()
    if kind != "general":
        raise InputError("only a general item takes 'options'", path, line)
    if not isinstance(value, list) or not all(isinstance(o, str) and o.strip() for o in value):
        raise InputError("'options' must be a list of non-empty strings", path, line)
    if len(value) < 2 or len({o.strip().lower() for o in value}) < len(value):
        raise InputError("'options' needs the right answer and at least one other", path, line)
    return tuple(value)


def read_probe_file(path: Path) -> list[ProbeItem]:
    return [parse_item(record, path, line) for line, record in jsonl_records(path)]


def shipped_items(kind: str, n: int) -> list[ProbeItem]:
    """The first n shipped items of a kind (the files are shuffled once, when built)."""
    if n <= 0:
        return []
    path = GENERAL_FILE if kind == "general" else SELFAWARE_FILE
    if not path.is_file():
        raise FileNotFoundError(f"probe data not found at {path} (install from a checkout)")
    items = [i for i in read_probe_file(path) if i.kind == kind]
    return items[:n]


def probe_items(counts: dict[str, int], task_root: Path | None = None) -> list[ProbeItem]:
    """The shipped items (n per kind) followed by the task's own probes.jsonl, if any."""
    items = [item for kind in KINDS for item in shipped_items(kind, counts.get(kind, 0))]
    user = task_root / USER_FILE if task_root is not None else None
    if user is not None and user.exists():  # task data: it must not link outside the folder
        items += read_probe_file(task_file(task_root, USER_FILE, "probes"))
    return items
