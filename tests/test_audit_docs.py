"""Training answers checked against docs/: stale answers are named with the document's value,
current answers in other formats pass, short answers match whole words only."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from shouldtune.audit import run_audit
from shouldtune.audit.docs import UNSUPPORTED_WARN_SHARE, check_docs_support, values_in
from shouldtune.cli.audit_cmd import audit_command
from shouldtune.core.taskio import load_task
from shouldtune.core.types import Document, Example

pytestmark = pytest.mark.decision

ROOT = Path(__file__).resolve().parents[1]
PRODUCTS = {  # name -> (price, warranty years)
    "Aurora desk lamp": ("$49.00", 2),
    "Aurora floor lamp": ("$89.00", 2),
    "Beacon wall light": ("$54.50", 1),
    "Summit desk chair": ("$219.00", 3),
    "Harbor bookcase": ("$159.00", 3),
    "Kestrel whiteboard": ("$119.00", 2),
}
TABLE = {"Cobalt gel pen": "$8.49", "Orbit letter rack": "$9.99", "Vertex stapler": "$14.50"}


def docs() -> list[Document]:
    cards = ["# Price list, third quarter 2026\n", "Valid 1 July to 30 September 2026.\n"]
    for name, (price, years) in PRODUCTS.items():
        cards.append(f"## {name}\n\n- SKU: NW-{len(cards)}04\n- Price: {price}\n")
        cards.append(f"- Warranty: {years} years\n")
    table = ["# Stationery\n", "| Product | Price |", "|---|---|"]
    table += [f"| {name} | {price} |" for name, price in TABLE.items()]
    return [Document("cards.md", "\n".join(cards)), Document("table.md", "\n".join(table))]


def rows(pairs: list[tuple[str, str]]) -> list[Example]:
    return [Example(q, a, source=f"train.jsonl:{i}") for i, (q, a) in enumerate(pairs, 1)]


def current() -> list[tuple[str, str]]:
    pairs = [(f"How much does the {n} cost?", p) for n, (p, _) in PRODUCTS.items()]
    pairs += [(f"What is the price of the {n}?", p) for n, p in TABLE.items()]
    return pairs


def test_stale_answers_are_named_with_the_documents_value():
    pairs = current()
    pairs[3] = (pairs[3][0], "$197.00")  # Summit desk chair, last year's price
    pairs[7] = (pairs[7][0], "$8.99")  # Orbit letter rack (a table row)
    finding = check_docs_support(rows(pairs), docs())
    assert finding.severity == "warning"  # 2 of 9 = 22% > 10%
    assert finding.data["checked"] == 9
    assert finding.data["unsupported"] == 2 and finding.data["contradicted"] == 2
    assert finding.data["contradicted_rows"] == ["train.jsonl:4", "train.jsonl:8"]
    by_row = {e["source"]: e for e in finding.examples}
    assert by_row["train.jsonl:4"]["doc_value"] == "$219.00"
    assert by_row["train.jsonl:4"]["doc"] == f"docs/cards.md:{_line('$219.00')}"
    assert by_row["train.jsonl:8"]["doc_value"] == "$9.99"
    assert by_row["train.jsonl:8"]["doc"] == "docs/table.md:6"  # title, blank, head, rule, pen
    assert "do not support 2 of 9 checked training answers (22%)" in finding.message
    assert "a fine-tune would learn them" in finding.message


def _line(text: str) -> int:
    cards = docs()[0].text.split("\n")
    return next(i for i, line in enumerate(cards, 1) if text in line)


def test_current_answers_in_other_formats_are_supported():
    pairs = [
        ("How much does the Aurora desk lamp cost?", "$49"),
        ("aurora floor lamp price please", "It costs $89.00."),
        ("What do you charge for the Beacon wall light?", "54.50 dollars"),
        ("How long is the warranty on the Summit desk chair?", "3 years"),
        ("Warranty of the Aurora desk lamp, in years?", "2"),
        ("Do you know what the Aurora lamp costs?", "$89.00"),  # ambiguous: either lamp
    ]
    finding = check_docs_support(rows(pairs), docs())
    assert finding.severity == "info" and finding.count == 0
    assert finding.data["unsupported"] == 0 and finding.data["checked"] == 6


def test_short_answers_match_whole_words_only():
    extra = Document("colours.md", "# Colours\n\nThe Kestrel whiteboard frame is reddish grey.\n")
    pairs = [
        ("How many years of warranty does the Beacon wall light have?", "1"),  # right
        ("How many years of warranty does the Harbor bookcase have?", "1"),  # doc says 3
        ("What colour is the Kestrel whiteboard frame?", "red"),  # "reddish" is not "red"
        ("What colour is the Kestrel whiteboard frame?", "reddish grey"),
    ]
    finding = check_docs_support(rows(pairs), [*docs(), extra])
    assert finding.data["unsupported_rows"] == ["train.jsonl:2", "train.jsonl:3"]
    assert finding.data["contradicted_rows"] == ["train.jsonl:2"]
    assert {e["source"]: e.get("doc_value") for e in finding.examples}["train.jsonl:2"] == (
        "3 years"
    )


def test_answer_about_an_unlisted_product_is_unsupported_not_contradicted():
    fans = Document("fans.md", "# Fans\n\n## Lumen desk fan\n\n- Price: $39.00\n")
    pairs = [
        *current(),
        ("How much does the Zephyr desk fan cost?", "$44.50"),
        ("how much does the aurora desk chair cost?", "$55.00"),  # a lamp and a chair exist
    ]
    finding = check_docs_support(rows(pairs), [*docs(), fans])
    assert finding.data["unsupported_rows"] == ["train.jsonl:10", "train.jsonl:11"]
    assert finding.data["contradicted_rows"] == []  # neighbours' prices are not theirs
    assert finding.examples[0]["retrieved"].startswith("docs/")


def test_wording_the_documents_do_not_use_does_not_hide_the_subject():
    question = "I'd like to buy the Summit desk chair. What will it set me back?"
    finding = check_docs_support(rows([(question, "$197.00")]), docs())
    assert finding.data["contradicted_rows"] == ["train.jsonl:1"]
    assert finding.examples[0]["doc_value"] == "$219.00"
    # a name the documents do not hold is what the question is about: no claim then
    other = "I'd like to buy the Summit Pro desk chair. What will it set me back?"
    finding = check_docs_support(rows([(other, "$197.00")]), docs())
    assert finding.data["contradicted_rows"] == [] and finding.data["unsupported"] == 1


@pytest.mark.parametrize(("stale", "severity"), [(2, "info"), (3, "warning")])
def test_warning_threshold(stale, severity):
    pairs = (current() * 3)[:20]  # 20 rows
    for i in range(stale):  # the first rows are the cards' prices: make them stale
        pairs[i] = (pairs[i][0], "$1.00")
    finding = check_docs_support(rows(pairs), docs())
    assert finding.data["share"] == stale / 20
    assert (finding.data["share"] > UNSUPPORTED_WARN_SHARE) == (severity == "warning")
    assert finding.severity == severity


def test_long_prose_answers_are_not_checked():
    prose = "You can adjust it by loosening the knob under the shade and tilting the arm slowly."
    pairs = [*current(), ("How do I tilt the Aurora desk lamp?", prose)]
    finding = check_docs_support(rows(pairs), docs())
    assert finding.data["checked"] == 9 and finding.data["answers"] == 10


def test_documents_that_do_not_hold_the_answers_are_skipped():
    sheet = Document("codes.md", "# Codes\n\n- mug: MUG\n- red: RED\n- Berlin: BER\n")
    pairs = [(f"Send {n} red mugs to Berlin", f"MUG-RED x{n} > BER") for n in range(2, 9)]
    finding = check_docs_support(rows(pairs), [sheet])
    assert finding.severity == "info" and finding.count == 0
    assert finding.message.startswith("skipped: only 0% of 7 checkable training answers")
    assert finding.data["skipped"] is True


def test_no_docs_is_skipped():
    finding = check_docs_support(rows(current()), [])
    assert finding.message == "skipped: the task has no docs/"


def test_values_compare_as_numbers_of_one_kind():
    [a] = values_in("$1,299.00")
    [b] = values_in("1299 dollars")
    assert a.canon == b.canon == "$1299"
    assert values_in("SKU NW-LMP-104, size x4, v1.2.3") == []
    assert [v.unit for v in values_in("2 years, 15%")] == ["year", ""]


# --- the price-list example -------------------------------------------------------------------


def _generator():
    path = ROOT / "examples" / "price-list" / "generate.py"
    spec = importlib.util.spec_from_file_location("price_list_generate", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_price_list_example_is_reproducible(tmp_path, monkeypatch):
    gen = _generator()
    monkeypatch.setattr(gen, "HERE", tmp_path)
    gen.main()
    for name in (
        "train.jsonl",
        "test.jsonl",
        "docs/furniture-and-lighting.md",
        "docs/stationery.md",
    ):
        committed = (ROOT / "examples" / "price-list" / name).read_text(encoding="utf-8")
        assert (tmp_path / name).read_text(encoding="utf-8") == committed, name


def test_price_list_audit_names_every_stale_row(capsys):
    gen = _generator()
    task = load_task(ROOT / "examples" / "price-list")
    items = {item["name"]: gen.money(item["price"]) for item in gen.products()}
    stale = [
        ex.source
        for ex in task.train
        if ex.output.startswith("$")
        and ex.output != next(p for n, p in items.items() if n in ex.input)
    ]
    assert len(stale) >= 15  # the example is about them
    report = run_audit(task.train, task.test, docs=task.docs)
    finding = report.get("docs_support")
    assert finding.severity == "warning"
    assert finding.data["contradicted_rows"] == stale
    assert finding.data["unsupported_rows"] == stale
    assert report.get("leakage").count == 0
    assert audit_command(ROOT / "examples" / "price-list") == 0
    printed = " ".join(capsys.readouterr().out.split())
    lines = ", ".join(s.split(":")[1] for s in stale)
    assert f"training answers the documents contradict: train.jsonl lines {lines}" in printed


def test_bm25_scores_equal_rank_bm25s():
    from shouldtune.audit.docs import DocIndex
    from shouldtune.retrieval.index import tokenize

    index = DocIndex(docs())
    queries = ["How much does the Aurora desk lamp cost?", "price price lamp", "zzz", ""]
    for query, row in zip(queries, index.scores(queries), strict=True):
        assert row == pytest.approx(index.bm25.get_scores(tokenize(query)), abs=1e-12)
    assert index.top_chunks(["Orbit letter rack price"]) == [[1, 0]]  # the table first
