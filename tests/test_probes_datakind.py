"""Format or facts: the training-data classifier behind the SliCK warning (no model)."""

from __future__ import annotations

import json
from pathlib import Path

from shouldtune.core.types import Example
from shouldtune.probes.datakind import data_kind

ROOT = Path(__file__).resolve().parents[1]

# A made-up smart-home command language: every output is a command whose words come from the
# request (copied, abbreviated) or from the language's own small vocabulary.
COMMANDS = [
    ("Please turn off the lights in the kitchen", "LIGHTS OFF room=kitchen"),
    ("Switch on the lights in the hallway", "LIGHTS ON room=hallway"),
    ("Turn the bedroom lights on", "LIGHTS ON room=bedroom"),
    ("Dim the bedroom lamp to 30 percent", "LAMP DIM room=bedroom level=30"),
    ("Dim the office lamp to 70 percent please", "LAMP DIM room=office level=70"),
    ("Set the living room thermostat to 21 degrees", "THERMO SET room=living_room temp=21"),
    ("Make the bathroom thermostat 19 degrees", "THERMO SET room=bathroom temp=19"),
    ("Play some jazz in the bathroom", "MUSIC PLAY room=bathroom genre=jazz"),
    ("Play rock music in the garage", "MUSIC PLAY room=garage genre=rock"),
    ("Could you play classical in the study", "MUSIC PLAY room=study genre=classical"),
    ("Stop the music in the kitchen", "MUSIC STOP room=kitchen"),
    ("Lock the front door", "DOOR LOCK name=front"),
    ("Unlock the back door for me", "DOOR UNLOCK name=back"),
    ("Open the garage door", "DOOR OPEN name=garage"),
]

# Made-up product Q&A: the answers state facts about the products that no question contains.
PRODUCT_QA = [
    ("How long does the battery of the Aero X2 headphones last?",
     "About 30 hours on a full charge."),
    ("Are the Aero X2 headphones waterproof?", "They are rated IPX4: splash resistant only."),
    ("What colours does the Nimbus kettle come in?", "Matte black, cream and sage green."),
    ("How long is the warranty on the Nimbus kettle?", "Two years from the date of purchase."),
    ("How much water does the Nimbus kettle hold?", "1.7 litres."),
    ("Does the Aero X2 support multipoint pairing?", "Yes, with two devices at once."),
    ("What is the Aero X2 charged with?", "A USB-C cable, included in the box."),
    ("How heavy is the Trek 40 backpack?", "It weighs 1.2 kg empty."),
    ("Which laptop sizes fit in the Trek 40 backpack?", "Laptops up to 16 inches."),
    ("Is the Trek 40 backpack allowed as cabin luggage?", "Yes, on most European airlines."),
    ("Where is the Nimbus kettle made?", "It is assembled in Portugal."),
    ("What material is the Trek 40 made of?", "Recycled ripstop nylon with a PU coating."),
]  # fmt: skip


def examples(pairs) -> list[Example]:
    return [Example(i, o) for i, o in pairs]


def test_command_language_is_format() -> None:
    got = data_kind(examples(COMMANDS))
    assert got["data_kind"] == "format", got
    assert got["reason"].startswith("outputs derivable from the input")
    assert got["evidence"]["examples_with_new_pieces"] <= 1


def test_product_qa_is_facts() -> None:
    got = data_kind(examples(PRODUCT_QA))
    assert got["data_kind"] == "facts", got
    assert got["evidence"]["share"] >= 0.8
    assert "not in the input" in got["reason"] and "'30'" in got["reason"]


def test_ticket_codes_example_is_format() -> None:
    rows = [json.loads(line) for line in (ROOT / "examples/ticket-codes/train.jsonl").open()]
    got = data_kind([Example(r["input"], r["output"]) for r in rows])
    assert got["data_kind"] == "format", got
    assert got["evidence"]["pieces"]["abbreviated"] > 0


def test_labels_from_a_fixed_set_are_format() -> None:
    labels = ["refund", "card_lost", "pin_change"]
    rows = [(f"customer message {i} about {labels[i % 3]}", labels[i % 3]) for i in range(12)]
    got = data_kind(examples(rows))
    assert got["data_kind"] == "format" and got["reason"].startswith("labels from a fixed set")
    # Too few examples per label to call it a label set: judged piece by piece instead.
    assert data_kind(examples(rows[:6]))["reason"].startswith("outputs")


def test_numbers_computed_from_the_input_are_derived_but_new_numbers_are_facts() -> None:
    sums = [(f"What is {a} plus {b} minus {c}?", str(a + b - c)) for a, b, c in
            [(574, 706, 78), (12, 30, 5), (8, 9, 1), (300, 21, 7)]]  # fmt: skip
    assert data_kind(examples(sums))["data_kind"] == "format"
    heights = [(f"How tall is tower {n}?", f"{n * 37 + 11} metres") for n in range(1, 6)]
    got = data_kind(examples(heights))
    assert got["data_kind"] == "facts", got


def test_recurring_words_explain_format_but_not_a_number() -> None:
    # The same code in every output is format vocabulary; the same unexplained number is not.
    coded = [(f"item {w}", f"OK-{w[:3].upper()}") for w in ["apple", "banana", "cherry", "grape"]]
    assert data_kind(examples(coded))["data_kind"] == "format"
    priced = [(f"price of {w}?", "42") for w in ["apple", "banana", "cherry", "grape"]]
    assert data_kind(examples(priced))["data_kind"] == "facts"


def test_empty_data_keeps_the_warning() -> None:
    assert data_kind([])["data_kind"] == "facts"
