"""Leakage scored apart: seen / contrastive / clean test rows, the clean-row floor, templated
near pairs that are not label conflicts, and answer repetition for open-ended outputs."""

from __future__ import annotations

import json

import pytest

from shouldtune.audit import AuditReport, run_audit
from shouldtune.audit.overlap import MIN_CLEAN_ROWS, differs_only_in_slots
from shouldtune.cli.audit_cmd import audit_command
from shouldtune.core.taskio import load_task

pytestmark = pytest.mark.decision

CITIES = ["Lisbon", "Oslo", "Prague", "Vienna", "Dublin", "Madrid", "Warsaw", "Athens"]
CITIES += ["Helsinki", "Budapest", "Zagreb", "Riga", "Tallinn", "Sofia", "Bern", "Vilnius"]
THINGS = ["museum", "cathedral", "bridge", "harbour", "castle", "market"]


def facts() -> list[dict]:
    """96 open-ended questions with distinct answers, no two inputs near-identical."""
    rows = []
    for c, city in enumerate(CITIES):
        for t, thing in enumerate(THINGS):
            rows.append(
                {
                    "input": f"In which year was the oldest {thing} of {city} first opened?",
                    "output": str(1200 + 37 * c + 5 * t),
                }
            )
    return rows


def audit_rows(make_task_dir, train: list[dict], test: list[dict], **kwargs) -> AuditReport:
    task = load_task(make_task_dir(train=train, test=test))
    return run_audit(task.train, task.test, instruction=task.instruction, **kwargs)


def test_repeated_questions_are_seen_and_scored_apart(make_task_dir):
    rows = facts()
    train, fresh = rows[:60], rows[60:]
    test = fresh[:30] + train[:12]  # 12 training questions asked again
    report = audit_rows(make_task_dir, train, test)
    leakage = report.get("leakage")
    assert leakage.severity == "warning" and not report.blocking
    assert report.test_rows["seen"] == list(range(30, 42))
    assert report.test_rows["contrastive"] == []
    assert leakage.data == {
        "test": 42,
        "seen": 12,
        "exact": 12,
        "exact_other_answer": 0,
        "near": 0,
        "clean": 30,
        "min_clean": MIN_CLEAN_ROWS,
    }
    assert "30 clean rows" in leakage.message
    assert report.exit_code() == 0


def test_near_copy_with_the_same_answer_is_seen(make_task_dir):
    rows = facts()
    copy = dict(rows[3], input=rows[3]["input"].replace("first opened", "first opened?!"))
    report = audit_rows(make_task_dir, rows[:60], rows[60:90] + [copy])
    assert report.test_rows["seen"] == [30]
    assert report.get("leakage").data["near"] == 1
    assert report.get("leakage").examples[0]["in_train"] == "train.jsonl:4"


def test_near_copy_with_another_answer_is_contrastive_not_leakage(make_task_dir):
    train = facts()[:60]
    command = "Please set the thermostat in unit {} of the north building to seven degrees"
    train.append({"input": command.format(3), "output": "SET U3 7"})
    test = facts()[60:90] + [{"input": command.format(4), "output": "SET U4 7"}]
    report = audit_rows(make_task_dir, train, test)
    assert report.get("leakage").severity == "info" and not report.blocking
    assert report.test_rows == {"seen": [], "contrastive": [30], "answer_in_train": []}
    pairs = report.get("contrastive_pairs")
    assert pairs.severity == "info" and pairs.count == 1
    assert pairs.examples[0]["source"] == "test.jsonl:31"
    assert pairs.examples[0]["near"] == "train.jsonl:61"
    assert pairs.examples[0]["outputs"] == ["SET U4 7", "SET U3 7"]


def test_exact_repeat_with_another_answer_is_still_seen(make_task_dir):
    rows = facts()
    changed = dict(rows[5], output="1999")
    report = audit_rows(make_task_dir, rows[:60], rows[60:90] + [changed])
    assert report.test_rows["seen"] == [30]
    assert report.get("leakage").data["exact_other_answer"] == 1


@pytest.mark.parametrize(
    ("fresh", "severity"),
    [(MIN_CLEAN_ROWS, "warning"), (MIN_CLEAN_ROWS - 1, "blocking")],
)
def test_clean_row_floor(make_task_dir, fresh, severity):
    rows = facts()
    test = rows[60 : 60 + fresh] + rows[:30]  # 30 seen rows, `fresh` clean ones
    report = audit_rows(make_task_dir, rows[:60], test)
    leakage = report.get("leakage")
    assert leakage.severity == severity and leakage.data["clean"] == fresh
    if severity == "blocking":
        assert leakage.message.startswith(
            f"{fresh} of {fresh + 30} test rows are clean; a verdict needs at least "
            f"{MIN_CLEAN_ROWS}"
        )
        assert report.exit_code() == 1


def test_mostly_leaking_test_blocks_with_the_clean_count(make_task_dir):
    rows = facts()
    report = audit_rows(make_task_dir, rows[:60], rows[:48] + rows[60:72])
    leakage = report.get("leakage")
    assert leakage.severity == "blocking"
    assert "12 of 60 test rows are clean; a verdict needs at least 20" in leakage.message


@pytest.mark.parametrize(("seen", "severity"), [(1, "warning"), (6, "blocking")])
def test_small_test_sets_block_only_when_most_rows_leak(make_task_dir, seen, severity):
    rows = facts()
    test = rows[:seen] + rows[60 : 60 + 10 - seen]  # 10 rows: small on its own
    leakage = audit_rows(make_task_dir, rows[:60], test).get("leakage")
    assert leakage.severity == severity
    if severity == "blocking":
        assert "most of the test set repeats training inputs" in leakage.message


# --- conflicting labels: templated near pairs -----------------------------------------------


@pytest.mark.parametrize(
    ("a", "b", "templated"),
    [
        ("set unit 3 to 7", "set unit 4 to 7", True),
        ("Send two boxes to Paris by Friday", "Send five boxes to Berlin by Friday", True),
        ("Refund order 1234 please", "Refund order 1243 please", True),
        ("set unit 3 to 7", "set unit 3 to 7", False),  # nothing differs: a real conflict
        ("How do I get my card?", "How do I get my card PIN?", False),  # a word added
        ("My top-up was rejected", "My top-up was reverted", False),  # a real word differs
        ("Cancel unit 3 now", "Restart unit 4 now", False),  # a verb changed with the number
        ("Paris is lovely in spring", "Berlin is lovely in spring", False),  # not mid-sentence
    ],
)
def test_differs_only_in_slots(a, b, templated):
    assert differs_only_in_slots(a, b) is templated


def label_rows() -> list[dict]:
    rows = []
    for label, phrase in [
        ("heating", "Turn the heating in room {n} of the east wing up to twenty degrees"),
        ("lights", "Switch off every light in room {n} of the east wing after the meeting"),
        ("blinds", "Lower all the window blinds in room {n} of the east wing at sunset"),
    ]:
        rows += [{"input": phrase.format(n=100 + 7 * k), "output": label} for k in range(20)]
    return rows


def test_templated_near_pairs_are_not_label_conflicts(make_task_dir):
    rows = label_rows()
    # differs from line 1 only in the room number: another answer is legitimate
    rows.append({"input": rows[0]["input"].replace("100", "101"), "output": "lights"})
    # differs from line 21 in a real word: a conflict
    rows.append({"input": rows[20]["input"].replace("Switch off", "Switch on"), "output": "blinds"})
    rows.append({"input": rows[40]["input"], "output": "heating"})  # same input, other label
    report = audit_rows(make_task_dir, rows, [{"input": "Open the door", "output": "lights"}])
    finding = report.get("conflicting_labels")
    assert finding.severity == "warning"
    assert finding.data["exact"] == 1 and finding.data["near"] == 1
    assert finding.data["templated"] >= 1
    assert {e["source"] for e in finding.examples} == {"train.jsonl:62", "train.jsonl:63"}
    assert "differing only in numbers or names not counted" in finding.message


# --- open-ended answers -----------------------------------------------------------------------


def test_answer_repetition_for_open_ended_outputs(make_task_dir):
    rows = facts()
    test = [dict(r, input=r["input"].replace("In which year", "When")) for r in rows[60:70]]
    test[2]["output"] = rows[0]["output"]  # an answer a lookup could return
    test[7]["output"] = rows[1]["output"]
    report = audit_rows(make_task_dir, rows[:60], test)
    assert report.open_ended is True
    assert report.test_rows["answer_in_train"] == [2, 7]
    finding = report.get("answer_repetition")
    assert finding.severity == "info" and finding.count == 2
    assert finding.data == {"test": 10, "repeated": 2, "share": 0.2}
    assert finding.examples[0]["in_train"] == "train.jsonl:1"
    assert "2 of 10 test answers (20%)" in finding.message


def test_answer_repetition_skipped_for_labels(make_task_dir):
    report = audit_rows(make_task_dir, label_rows(), [{"input": "Dim room 9", "output": "lights"}])
    assert report.open_ended is False
    assert report.get("answer_repetition").message == "skipped: outputs are labels"
    assert report.test_rows["answer_in_train"] == [0]  # still exposed for the scores


# --- the report and the CLI -----------------------------------------------------------------


def test_json_carries_rows_flags_and_data(make_task_dir, tmp_path, capsys):
    rows = facts()
    root = make_task_dir(train=rows[:60], test=rows[60:90] + rows[:5])
    out = tmp_path / "audit.json"
    assert audit_command(root, json_out=out) == 0
    data = json.loads(out.read_text(encoding="utf-8"))
    assert data["open_ended"] is True
    assert data["test_rows"]["seen"] == [30, 31, 32, 33, 34]
    leakage = next(f for f in data["findings"] if f["check"] == "leakage")
    assert leakage["severity"] == "warning" and leakage["data"]["clean"] == 30
    printed = " ".join(capsys.readouterr().out.split())
    assert "test rows: 35; clean 30" in printed and "seen 5 (5 exact" in printed
