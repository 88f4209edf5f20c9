"""Writes train.jsonl and test.jsonl: shopping-list lines and the item they ask for as JSON,
{"item": ..., "quantity": ..., "unit": ...}. Seeded; rerunning writes the same files:

    .venv/bin/python examples/json-extract/generate.py
"""

from __future__ import annotations

import json
import random
from pathlib import Path

HERE = Path(__file__).resolve().parent
# (item, unit, plausible quantities): the unit is what the line counts the item in.
ITEMS = [
    ("potatoes", "kg", [1, 2, 3, 5]),
    ("flour", "kg", [1, 2]),
    ("apples", "kg", [1, 2, 3]),
    ("butter", "g", [250, 500]),
    ("cheddar", "g", [200, 300, 400]),
    ("ground coffee", "g", [250, 500]),
    ("milk", "l", [1, 2, 3, 4]),
    ("orange juice", "l", [1, 2]),
    ("olive oil", "ml", [500, 750]),
    ("cream", "ml", [200, 250, 500]),
    ("eggs", "piece", [6, 10, 12]),
    ("lemons", "piece", [2, 3, 4, 6]),
    ("avocados", "piece", [2, 3, 4]),
    ("cucumber", "piece", [1, 2]),
    ("coffee filters", "pack", [1, 2]),
    ("paper towels", "pack", [1, 2, 3]),
    ("spaghetti", "pack", [1, 2, 3, 4]),
    ("yoghurt", "pack", [1, 2]),
]
UNIT_WORDS = {
    "kg": ["kg", "kilos of", "kilograms of"],
    "g": ["g", "grams of", "g of"],
    "l": ["litres of", "l of", "liters of"],
    "ml": ["ml", "ml of", "millilitres of"],
    "piece": [""],
    "pack": ["packs of", "packets of"],
}
NUMBER_WORDS = {1: "one", 2: "two", 3: "three", 4: "four", 5: "five", 6: "six", 10: "ten"}
TEMPLATES = [
    "Please add {q} {u} {item} to the list.",
    "We need {q} {u} {item} for the weekend.",
    "Can you grab {q} {u} {item} on your way home?",
    "{Q} {u} {item}, thanks!",
    "Don't forget {q} {u} {item}.",
    "Buy {q} {u} {item} if they have it.",
    "shopping: {q} {u} {item}",
    "Out of {item} again, get {q} {u} please.",
    "For the cake I still need {q} {u} {item}.",
    "Pick up {q} {u} {item} from the market tomorrow morning.",
]


def line(rng: random.Random) -> dict[str, str]:
    item, unit, quantities = rng.choice(ITEMS)
    q = rng.choice(quantities)
    words = rng.choice(UNIT_WORDS[unit])
    if unit == "pack" and q == 1:
        words = rng.choice(["pack of", "packet of"])
    spoken = NUMBER_WORDS[q] if q in NUMBER_WORDS and rng.random() < 0.3 else str(q)
    template = rng.choice(TEMPLATES)
    if "{item}" in template.split("{u}")[0]:  # "Out of {item} again, get {q} {u}": no "of"
        words = words.removesuffix(" of")
    text = template.format(q=spoken, Q=spoken.capitalize(), u=words, item=item)
    answer = {"item": item, "quantity": q, "unit": unit}
    return {"input": " ".join(text.split()), "output": json.dumps(answer)}


def write(path: Path, rows: list[dict[str, str]]) -> None:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")


def main() -> None:
    rng = random.Random(29)
    seen: set[str] = set()
    rows: list[dict[str, str]] = []
    while len(rows) < 80:
        row = line(rng)
        if row["input"] not in seen:
            seen.add(row["input"])
            rows.append(row)
    write(HERE / "train.jsonl", rows[:50])
    write(HERE / "test.jsonl", rows[50:])


if __name__ == "__main__":
    main()
