"""Read a task folder: task.yaml, train.jsonl, optional test.jsonl and docs/."""

from __future__ import annotations

import json
import os
import random
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from .config import TaskConfig, parse_task_config
from .errors import InputError
from .types import Document, Example, Task

DOC_SUFFIXES = (".md", ".txt")
MAX_LINE_BYTES = 1_000_000


def _text_field(record: dict[str, Any], key: str, path: Path, line: int) -> str:
    value = record[key]
    if not isinstance(value, str):
        raise InputError(f"'{key}' must be a string, got {type(value).__name__}", path, line)
    return value


def _from_messages(messages: Any, path: Path, line: int) -> tuple[str, str, str | None]:
    if not isinstance(messages, list) or not messages:
        raise InputError("'messages' must be a non-empty list", path, line)
    system, turns = None, []
    for msg in messages:
        if not isinstance(msg, dict) or not isinstance(msg.get("content"), str):
            raise InputError("each message needs a string 'content'", path, line)
        role = msg.get("role")
        if role == "system" and not turns:
            system = msg["content"]
        elif role in ("user", "assistant"):
            turns.append((role, msg["content"]))
        else:
            raise InputError(f"unexpected message role {role!r}", path, line)
    if [role for role, _ in turns] != ["user", "assistant"]:
        raise InputError("expected one user message then one assistant message", path, line)
    return turns[0][1], turns[1][1], system


def parse_record(record: Any, path: Path, line: int) -> Example:
    """Accept {input, output}, {prompt, completion} or chat {messages: [...]}."""
    if not isinstance(record, dict):
        raise InputError(f"expected a JSON object, got {type(record).__name__}", path, line)
    source = f"{path.name}:{line}"
    if "messages" in record:
        inp, out, system = _from_messages(record["messages"], path, line)
        return Example(inp, out, system, source)
    for a, b in (("input", "output"), ("prompt", "completion")):
        if a in record and b in record:
            inp = _text_field(record, a, path, line)
            return Example(inp, _text_field(record, b, path, line), None, source)
    keys = ", ".join(sorted(map(str, record))) or "none"
    raise InputError(
        f"needs 'input'+'output', 'prompt'+'completion' or 'messages'; found keys: {keys}",
        path,
        line,
    )


def jsonl_records(path: Path, strict: bool = True) -> Iterator[tuple[int, Any]]:
    """(line number, parsed JSON) for each non-blank line of an untrusted JSONL file.

    strict (task data): every problem (encoding, NUL bytes, huge or deeply nested lines) is one
    InputError naming the file and the line. Lenient (a report reading its own predictions):
    an unreadable file yields nothing and a bad line is skipped, so a report never crashes."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        if not strict:
            return
        raise InputError("file not found", path) from None
    except IsADirectoryError:
        if not strict:
            return
        raise InputError("is a folder, not a file", path) from None
    except OSError as exc:
        if not strict:
            return
        raise InputError(f"cannot read ({exc.strerror or type(exc).__name__})", path) from None
    data = data.removeprefix(b"\xef\xbb\xbf")  # a UTF-8 BOM from Windows editors
    for number, raw in enumerate(data.split(b"\n"), start=1):
        if not raw.strip():
            continue
        try:
            yield number, _parse_line(raw, path, number)
        except InputError:
            if strict:
                raise


class DuplicateKey(ValueError):
    """A JSON object names a key twice: json keeps the last silently, we refuse."""

    def __init__(self, key: str):
        self.key = key
        super().__init__(f"duplicate key {key!r}")


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise DuplicateKey(key)
        result[key] = value
    return result


def _parse_line(raw: bytes, path: Path, number: int) -> Any:
    if len(raw) > MAX_LINE_BYTES:
        raise InputError(f"line longer than {MAX_LINE_BYTES} bytes", path, number)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(f"not UTF-8 ({exc.reason})", path, number) from None
    if "\x00" in text:
        raise InputError("NUL byte in line", path, number)
    try:
        return json.loads(text, object_pairs_hook=_unique_keys)
    except DuplicateKey as exc:
        raise InputError(f"duplicate key {exc.key!r} in one JSON object", path, number) from None
    except json.JSONDecodeError as exc:
        raise InputError(f"malformed JSON: {exc.msg} (column {exc.colno})", path, number) from None
    except RecursionError:
        raise InputError("JSON nested too deeply", path, number) from None
    except ValueError as exc:  # e.g. an integer over Python's 4300-digit limit
        raise InputError(f"malformed JSON: {exc}", path, number) from None


def read_jsonl(path: Path) -> list[Example]:
    examples = [parse_record(record, path, number) for number, record in jsonl_records(path)]
    if not examples:
        raise InputError("no examples (the file is empty)", path)
    return examples


def read_docs(folder: Path, root: Path | None = None) -> list[Document]:
    """Every .md/.txt under folder; one that links outside `root` is an error, not data."""
    inside = (root or folder).resolve()
    docs = []
    for path in sorted(folder.rglob("*")):
        if not path.is_file() or path.suffix.lower() not in DOC_SUFFIXES:
            continue
        if inside not in path.resolve().parents:
            raise InputError("links to a file outside the task folder", path)
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError as exc:
            raise InputError(f"not UTF-8 text ({exc.reason})", path) from None
        if "\x00" in text:
            line = text.count("\n", 0, text.index("\x00")) + 1
            raise InputError("NUL byte: not a text file", path, line)
        if text.strip():
            docs.append(Document(str(path.relative_to(folder)), text))
    return docs


_SURROGATE = re.compile("[\ud800-\udfff]")


def _lone_surrogate(text: str) -> str | None:
    found = _SURROGATE.search(text)
    return None if found is None else f"\\u{ord(found.group()):04x}"


def check_text(task: Task) -> None:
    """Every example's text is Unicode a tokenizer and a UTF-8 file can take: a lone
    surrogate ("\\ud800" in JSON) is legal JSON but not text, and is refused with its row."""
    for ex in (*task.train, *task.test):
        for field in (ex.input, ex.output, ex.system or ""):
            bad = _lone_surrogate(field)
            if bad is not None:
                name, _, line = ex.source.rpartition(":")
                raise InputError(
                    f"lone surrogate {bad} in a string: not valid Unicode text",
                    task.root / name if name else task.root,
                    int(line) if line.isdigit() else None,
                )
    for what, text in (("instruction", task.instruction), ("description", task.description)):
        bad = _lone_surrogate(text or "")
        if bad is not None:
            raise InputError(f"lone surrogate {bad} in {what}: not valid Unicode text",
                             task.root / "task.yaml")  # fmt: skip


def split_train_test(
    examples: list[Example], fraction: float, seed: int
) -> tuple[list[Example], list[Example]]:
    shuffled = examples[:]
    random.Random(seed).shuffle(shuffled)
    n_test = max(1, round(len(shuffled) * fraction))
    if n_test >= len(shuffled):
        raise InputError(
            f"only {len(examples)} examples: too few to hold out a test set", "train.jsonl"
        )
    return shuffled[n_test:], shuffled[:n_test]


def _input_file(path: Path, required: bool) -> bool:
    """Does the input file exist (a folder or other non-file in its place is refused)?"""
    if not os.path.lexists(path):
        if required:
            raise InputError("file not found", path)
        return False
    if path.is_dir():
        raise InputError("is a folder, not a file", path)
    if not path.is_file():
        raise InputError("is not a regular file", path)
    return True


def load_task(task_dir: str | Path) -> Task:
    root = Path(task_dir)
    if not root.is_dir():
        raise InputError("task folder not found", root)
    if (root / "task.yaml").is_dir():
        raise InputError("is a folder, not a file", root / "task.yaml")
    config: TaskConfig = parse_task_config(root / "task.yaml")
    _input_file(root / "train.jsonl", required=True)
    train = read_jsonl(root / "train.jsonl")
    test_path = root / "test.jsonl"
    split = not _input_file(test_path, required=False)
    if split:
        train, test = split_train_test(train, config.split.test_fraction, config.split.seed)
    else:
        test = read_jsonl(test_path)
    if config.eval.max_test is not None:
        test = test[: config.eval.max_test]
    docs_dir = root / "docs"
    docs = read_docs(docs_dir, root) if docs_dir.is_dir() else []
    return Task(
        name=config.name,
        instruction=config.instruction,
        metric=config.metric,
        train=train,
        test=test,
        root=root,
        description=config.description,
        docs=docs,
        test_is_split=split,
        config=config,
    )
