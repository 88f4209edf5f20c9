"""Data audit: each planted defect is found at the right file:line; clean data stays quiet."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

from shouldtune.audit import AuditReport, run_audit
from shouldtune.audit.pii import find_pii, iban_ok, luhn_ok, mask_pii
from shouldtune.cli.audit_cmd import audit_command
from shouldtune.core.errors import InputError
from shouldtune.core.taskio import load_task

pytestmark = pytest.mark.decision

Row = tuple[str, str]
ROOT = Path(__file__).resolve().parents[1]

TEMPLATES = {
    "billing": [
        "Why was I charged twice for the {x} order last week?",
        "I need a refund for the {x} that appears on my invoice.",
        "The invoice for my {x} shows the wrong price, please fix it.",
        "Can you explain this extra charge for the {x} on my card?",
    ],
    "shipping": [
        "Where is the parcel with my {x} right now, is it lost?",
        "The courier still has not delivered my {x} to my door.",
        "How long does delivery of a {x} usually take to arrive?",
        "Can I change the shipping address for the {x} I ordered?",
    ],
    "account": [
        "I forgot the password I use when I order {x} items.",
        "My account got locked while I was browsing {x} deals.",
        "How do I sign in again to save a {x} on my wishlist?",
        "Please reset my login so I can review my {x} purchase.",
    ],
}
ITEMS = ["lamp", "sofa", "kettle", "bicycle", "guitar", "camera", "blender", "jacket"]
ITEMS += ["printer", "tent"]
TEST_ITEMS = ["piano", "scooter", "drone", "clock"]
VERBS = ["reset", "update", "clean", "charge", "pair", "mute"]
DEVICES = ["router", "printer", "headphones", "thermostat", "doorbell", "television"]
DEVICES += ["keyboard", "speaker", "tablet", "projector", "smartwatch", "scanner"]


def label_rows(items: list[str] = ITEMS, per_template: int = 5) -> list[Row]:
    """Three well-separated intents, 20 rows each, no two inputs near-identical."""
    rows = []
    for label, templates in TEMPLATES.items():
        for t, template in enumerate(templates):
            for k in range(per_template):
                rows.append((template.format(x=items[(t * 2 + k) % len(items)]), label))
    return rows


def label_test_rows() -> list[Row]:
    return [
        (t.format(x=x), label)
        for label, ts in TEMPLATES.items()
        for t, x in zip(ts, TEST_ITEMS, strict=True)
    ]


def text_rows() -> list[Row]:
    """Free-text answers that all end in a full stop."""
    return [
        (
            f"How do I {verb} my {device}?",
            f"To {verb} your {device}, open its settings, choose {verb.title()} and follow "
            "the steps on the screen.",
        )
        for verb in VERBS
        for device in DEVICES
    ]


def write_jsonl(path: Path, rows: list[Row], blank_first: bool = False) -> None:
    lines = [json.dumps({"input": i, "output": o}) for i, o in rows]
    path.write_text(("\n" if blank_first else "") + "\n".join(lines) + "\n", encoding="utf-8")


def make_task(root: Path, train: list[Row], test: list[Row], blank_first: bool = False) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "task.yaml").write_text("name: t\ninstruction: Answer.\n", encoding="utf-8")
    write_jsonl(root / "train.jsonl", train, blank_first)
    write_jsonl(root / "test.jsonl", test)
    return root


def audit(tmp_path: Path, train: list[Row], test: list[Row], **kwargs) -> AuditReport:
    task = load_task(make_task(tmp_path / "task", train, test, kwargs.pop("blank_first", False)))
    return run_audit(task.train, task.test, instruction=task.instruction, **kwargs)


def sources(report: AuditReport, check: str, key: str = "source") -> list[str]:
    finding = report.get(check)
    assert finding is not None, check
    return [e[key] for e in finding.examples]


def severity(report: AuditReport, check: str) -> str:
    finding = report.get(check)
    assert finding is not None, check
    return finding.severity


def loud(report: AuditReport) -> list[str]:
    return [f"{f.check}: {f.message}" for f in report.blocking + report.warnings]


# --- clean data ---------------------------------------------------------------------------


def test_clean_label_dataset_has_no_warnings(tmp_path):
    report = audit(tmp_path, label_rows(), label_test_rows())
    assert loud(report) == []
    assert report.exit_code(strict=False) == 0
    assert report.exit_code(strict=True) == 0
    assert "outputs look like labels" in report.notes
    assert report.get("label_distribution").count == 3


def test_clean_free_text_dataset_has_no_warnings(tmp_path):
    rows = text_rows()
    report = audit(tmp_path, rows[:60], rows[60:])
    assert loud(report) == []
    assert report.exit_code(strict=True) == 0


# --- overlap ------------------------------------------------------------------------------


def test_exact_duplicate_found_at_its_line(tmp_path):
    rows = label_rows()
    rows.append((rows[2][0].upper() + "  ", rows[2][1]))  # same text up to case and spacing
    report = audit(tmp_path, rows, label_test_rows(), blank_first=True)  # lines shift by one
    assert severity(report, "duplicates") == "warning"
    assert sources(report, "duplicates") == [f"train.jsonl:{len(rows) + 1}"]
    assert sources(report, "duplicates", "duplicate_of") == ["train.jsonl:4"]


def test_near_duplicate_found(tmp_path):
    rows = label_rows()
    rows.append((rows[4][0].replace("last week", "last weeks"), rows[4][1]))
    report = audit(tmp_path, rows, label_test_rows())
    assert report.get("near_duplicates").count == 1
    assert sources(report, "near_duplicates") == [f"train.jsonl:{len(rows)}"]
    assert sources(report, "near_duplicates", "near") == ["train.jsonl:5"]
    assert report.get("duplicates").count == 0


def test_conflicting_labels_exact_and_near(tmp_path):
    rows = label_rows()
    rows.append((rows[6][0], "shipping"))  # exact input of line 7, other label
    rows.append((rows[30][0] + "!", "billing"))  # near input of line 31 (a shipping row)
    report = audit(tmp_path, rows, label_test_rows())
    assert severity(report, "conflicting_labels") == "warning"
    found = dict(
        zip(
            sources(report, "conflicting_labels"),
            sources(report, "conflicting_labels", "conflicts_with"),
            strict=True,
        )
    )
    assert found == {
        f"train.jsonl:{len(rows) - 1}": "train.jsonl:7",
        f"train.jsonl:{len(rows)}": "train.jsonl:31",
    }


def test_leakage_is_scored_apart(tmp_path):
    rows = label_rows()
    test = label_test_rows()
    test.append((rows[9][0], rows[9][1]))  # exact copy of train line 10
    test.append((rows[45][0].replace("?", " now?"), rows[45][1]))  # near copy of line 46
    report = audit(tmp_path, rows, test)
    finding = report.get("leakage")
    assert finding.severity == "warning" and finding.count == 2
    assert sources(report, "leakage") == [f"test.jsonl:{len(test) - 1}", f"test.jsonl:{len(test)}"]
    assert sources(report, "leakage", "in_train") == ["train.jsonl:10", "train.jsonl:46"]
    assert report.test_rows["seen"] == [len(test) - 2, len(test) - 1]
    assert report.exit_code(strict=False) == 0


# --- single examples ----------------------------------------------------------------------


def test_empty_output_and_input(tmp_path):
    rows = label_rows()
    rows[11] = (rows[11][0], "   ")
    rows[20] = ("\t", rows[20][1])
    report = audit(tmp_path, rows, label_test_rows())
    assert sources(report, "empty_outputs") == ["train.jsonl:12"]
    assert sources(report, "empty_inputs") == ["train.jsonl:21"]
    assert "outputs look like labels" in report.notes  # one empty output does not change that
    assert report.get("rare_classes").count == 0  # the empty output is not a class


def test_truncated_outputs(tmp_path):
    rows = text_rows()[:60]
    rows[4] = (rows[4][0], "To reset your router, open its settings and")  # dangling word
    rows[9] = (rows[9][0], "To update your printer, open its settings, choose Update then wait")
    report = audit(tmp_path, rows, text_rows()[60:])
    assert severity(report, "truncated_outputs") == "warning"
    assert sources(report, "truncated_outputs") == ["train.jsonl:5", "train.jsonl:10"]


def test_length_outliers(tmp_path):
    rows = label_rows()
    rows[7] = ("My invoice is wrong. " * 100, rows[7][1])
    rows[50] = ("hi", rows[50][1])
    report = audit(tmp_path, rows, label_test_rows())
    assert set(sources(report, "length_outliers")) == {"train.jsonl:8", "train.jsonl:51"}


def test_context_length_with_tokenizer(tmp_path):
    rows = label_rows()
    rows[3] = (rows[3][0] + " really" * 60, rows[3][1])
    report = audit(
        tmp_path, rows, label_test_rows(), count_tokens=lambda s: len(s.split()), context_length=64
    )
    finding = report.get("context_length")
    assert finding.severity == "warning" and finding.count == 1
    assert sources(report, "context_length") == ["train.jsonl:4"]
    assert "estimate" not in finding.message


def test_context_length_estimate_says_so(tmp_path):
    report = audit(tmp_path, label_rows(), label_test_rows(), context_length=8)
    finding = report.get("context_length")
    assert finding.severity == "warning" and "estimated as characters / 4" in finding.message
    assert "token counts are estimates (characters / 4)" in report.notes


# --- labels -------------------------------------------------------------------------------


def test_imbalance_rare_and_unseen_labels(tmp_path):
    rows = [r for r in label_rows() if r[1] != "account"]
    rows.append(("I forgot the password I use when I order tent items.", "account"))
    test = label_test_rows() + [("Can I get my money back for a broken lamp?", "refunds")]
    report = audit(tmp_path, rows, test)
    assert severity(report, "class_imbalance") == "warning"
    assert sources(report, "rare_classes") == [f"train.jsonl:{len(rows)}"]
    assert report.get("rare_classes").examples[0]["label"] == "account"
    assert sources(report, "unseen_test_labels") == [f"test.jsonl:{len(test)}"]


def test_label_noise_ranked_by_cleanlab(tmp_path):
    rows = label_rows()
    rows[2] = (rows[2][0], "account")  # a billing question labelled account
    rows[25] = (rows[25][0], "billing")  # a shipping question labelled billing
    report = audit(tmp_path, rows, label_test_rows())
    assert severity(report, "label_noise") == "warning"
    found = sources(report, "label_noise")
    assert {"train.jsonl:3", "train.jsonl:26"} <= set(found)
    by_source = {e["source"]: e for e in report.get("label_noise").examples}
    assert by_source["train.jsonl:3"]["suggested"] == "billing"
    # How often the detector is right on the rows it keeps: what its flags are worth
    # (core/evidence.py). These templates it reads perfectly once the two are set aside.
    data = report.get("label_noise").data
    assert data["kept_accuracy"] == 1.0 and data["oof_accuracy"] < 1.0
    assert "right on 100% of the rows it keeps" in report.get("label_noise").message


def test_too_small_to_fine_tune(tmp_path):
    rows = label_rows(per_template=1)  # 12 rows
    report = audit(tmp_path, rows, label_test_rows())
    finding = report.get("data_sufficiency")
    assert finding.severity == "warning" and "too small to fine-tune" in finding.message


# --- personal data ------------------------------------------------------------------------

SECRETS = {
    "email": "jane.doe@example.com",
    "phone": "+44 20 7946 0958",
    "card": "4111 1111 1111 1111",
    "iban": "GB82 WEST 1234 5698 7654 32",
}


def test_personal_data_found_and_masked(tmp_path, capsys):
    rows = label_rows()
    rows[0] = (f"Please email me at {SECRETS['email']} about the lamp order.", rows[0][1])
    rows[21] = (f"Call me on {SECRETS['phone']} when the sofa ships.", rows[21][1])
    rows[42] = (f"My card {SECRETS['card']} is locked out of my account.", rows[42][1])
    test = label_test_rows()
    test[1] = (f"Refund to {SECRETS['iban']} please, the piano was wrong.", test[1][1])
    root = make_task(tmp_path / "pii", rows, test)
    code = audit_command(root, json_out=tmp_path / "audit.json")
    printed = capsys.readouterr().out
    saved = (tmp_path / "audit.json").read_text(encoding="utf-8")
    finding = next(f for f in json.loads(saved)["findings"] if f["check"] == "personal_data")
    assert finding["severity"] == "warning" and finding["count"] == 4
    kinds = {e["source"]: e["kinds"] for e in finding["examples"]}
    assert kinds == {
        "train.jsonl:1": ["email"],
        "train.jsonl:22": ["phone"],
        "train.jsonl:43": ["card"],
        "test.jsonl:2": ["iban"],
    }
    for value in SECRETS.values():
        assert value not in saved and value not in printed
        assert value.replace(" ", "") not in saved.replace(" ", "")
    assert "****1111" in saved
    assert code == 0


def test_pii_detectors_skip_ordinary_numbers():
    assert luhn_ok("4111111111111111") and not luhn_ok("4111111111111112")
    assert iban_ok("GB82WEST12345698765432") and not iban_ok("GB82WEST12345698765433")
    for text in ["I paid 100.00 on 2020-01-02", "order 123456789", "card ending 1111", "in 2019"]:
        assert find_pii(text) == [], text
    assert mask_pii("call 555-123-4567") == "call [phone ***67]"


# --- exit codes and the CLI ---------------------------------------------------------------


def test_exit_codes_warning_only(tmp_path):
    rows = label_rows()
    rows.append(rows[0])  # an exact duplicate: a warning, nothing blocking
    report = audit(tmp_path, rows, label_test_rows())
    assert report.warnings and not report.blocking
    assert report.exit_code(strict=False) == 0
    assert report.exit_code(strict=True) == 1


def test_cli_exit_codes_and_json(tmp_path, capsys):
    clean = make_task(tmp_path / "clean", label_rows(), label_test_rows())
    assert audit_command(clean, strict=True) == 0
    leaky_test = label_test_rows() + label_rows()[:30]  # 12 clean rows of 42
    leaky = make_task(tmp_path / "leaky", label_rows(), leaky_test)
    out = tmp_path / "out" / "audit.json"
    assert audit_command(leaky, json_out=out) == 1
    data = json.loads(out.read_text(encoding="utf-8"))
    assert data["summary"]["blocking"] == 1 and data["seconds"] >= 0
    assert "leakage" in capsys.readouterr().out


def test_cli_unreadable_input_raises(tmp_path):
    root = make_task(tmp_path / "bad", label_rows(), label_test_rows())
    (root / "train.jsonl").write_text(
        '{"input": "a", "output": "b"}\n{not json\n', encoding="utf-8"
    )
    with pytest.raises(InputError) as err:
        audit_command(root)
    assert err.value.line == 2


def test_report_json_is_json_safe(tmp_path):
    report = audit(tmp_path, label_rows(), label_test_rows())
    data = json.loads(json.dumps(report.to_json()))
    assert {f["check"] for f in data["findings"]} >= {"leakage", "duplicates", "label_noise"}
    assert all(len(f["examples"]) <= 5 for f in data["findings"])


# --- banking77 ----------------------------------------------------------------------------


def _to_task_module():
    spec = importlib.util.spec_from_file_location("to_task", ROOT / "data/banking77/to_task.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_banking77_subset_converter(tmp_path):
    out = _to_task_module().write_task(tmp_path / "b77", train_per_class=2, seed=1, max_test=10)
    task = load_task(out)
    assert len(task.train) == 154 and len(task.test) == 10
    assert task.metric == "accuracy"


def test_single_label_warns(tmp_path):
    rows = [(text, "billing") for text, _ in label_rows()]
    report = audit(tmp_path, rows, [("Where is my parcel?", "billing")])
    assert severity(report, "label_distribution") == "warning"
    assert sources(report, "label_distribution") == ["train.jsonl:1"]


def test_duplicates_of_the_second_answer_point_at_it(tmp_path):
    rows = label_rows()
    rows.append((rows[0][0], "shipping"))  # conflicts with line 1
    rows.append((rows[0][0], "shipping"))  # duplicates the line above, not line 1
    report = audit(tmp_path, rows, label_test_rows())
    assert sources(report, "duplicates") == [f"train.jsonl:{len(rows)}"]
    assert sources(report, "duplicates", "duplicate_of") == [f"train.jsonl:{len(rows) - 1}"]
    assert report.get("conflicting_labels").count == 2
