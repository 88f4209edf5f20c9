"""Generate the ticket-codes example: order messages -> a made-up order-code format.

Deterministic (seed 7): running it again rewrites the same files.
    python examples/ticket-codes/generate.py
"""

from __future__ import annotations

import json
import random
from pathlib import Path

HERE = Path(__file__).resolve().parent
SEED = 7
N_TRAIN, N_TEST = 160, 40

PRODUCTS = {
    "mug": "MUG",
    "t-shirt": "TSH",
    "hoodie": "HOD",
    "cap": "CAP",
    "poster": "PST",
    "notebook": "NBK",
    "water bottle": "BTL",
    "tote bag": "TOT",
}
PLURALS = {
    "mug": "mugs",
    "t-shirt": "t-shirts",
    "hoodie": "hoodies",
    "cap": "caps",
    "poster": "posters",
    "notebook": "notebooks",
    "water bottle": "water bottles",
    "tote bag": "tote bags",
}
COLOURS = {
    "black": "BLK",
    "white": "WHT",
    "red": "RED",
    "blue": "BLU",
    "green": "GRN",
    "grey": "GRY",
}
SIZES = {"small": "S", "medium": "M", "large": "L"}
CITIES = {
    "Berlin": "BER",
    "Paris": "PAR",
    "Madrid": "MAD",
    "Rome": "ROM",
    "Vienna": "VIE",
    "Lisbon": "LIS",
    "Oslo": "OSL",
    "Dublin": "DUB",
    "Prague": "PRG",
    "Warsaw": "WAW",
}
SHIPPING = {"standard": "STD", "express": "EXP", "overnight": "NXT"}
NUMBER_WORDS = ["one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]

TEMPLATES = [
    "Hi, could you send {qty} {size} {colour} {item} to {city}? {ship_cap} shipping please.",
    "I need {qty} {size} {colour} {item} shipped to {city}, {ship} delivery.",
    "Order: {qty} {colour} {item}, size {size}, deliver to {city} by {ship} post.",
    "Please ship {qty} {item} ({colour}, {size}) to our office in {city}. Use {ship}.",
    "{ship_cap} delivery to {city}: {qty} {size} {colour} {item}, thanks!",
    "Can I get {qty} {colour} {item} in {size} sent to {city}? {ship_cap} is fine.",
    "We'd like {qty} {size} {item} in {colour} for the {city} team, {ship} shipping.",
    "Send {qty} x {colour} {item} (size {size}) -> {city}, {ship}.",
]

INSTRUCTION = "Write the order code for this message."


def make_example(rng: random.Random) -> dict[str, str]:
    item = rng.choice(list(PRODUCTS))
    colour, size = rng.choice(list(COLOURS)), rng.choice(list(SIZES))
    city, ship = rng.choice(list(CITIES)), rng.choice(list(SHIPPING))
    qty = rng.randint(1, 9)
    qty_text = NUMBER_WORDS[qty - 1] if rng.random() < 0.5 else str(qty)
    message = rng.choice(TEMPLATES).format(
        qty=qty_text,
        size=size,
        colour=colour,
        item=item if qty == 1 else PLURALS[item],
        city=city,
        ship=ship,
        ship_cap=ship.capitalize(),
    )
    code = (
        f"{PRODUCTS[item]}-{COLOURS[colour]}-{SIZES[size]} x{qty} > {CITIES[city]} "
        f"({SHIPPING[ship]})"
    )
    return {"input": message, "output": code}


def code_sheet() -> str:
    def table(title: str, mapping: dict[str, str]) -> str:
        rows = "\n".join(f"- {name}: {code}" for name, code in mapping.items())
        return f"## {title}\n\n{rows}\n"

    return "\n".join(
        [
            "# Order code sheet\n",
            "Every order becomes one line: `PRODUCT-COLOUR-SIZE xQUANTITY > CITY (SHIPPING)`.",
            "Example: two large blue mugs to Berlin by express -> `MUG-BLU-L x2 > BER (EXP)`.\n",
            table("Product codes", PRODUCTS),
            table("Colour codes", COLOURS),
            table("Size codes", SIZES),
            table("City codes", CITIES),
            table("Shipping codes", SHIPPING),
        ]
    )


def main() -> None:
    rng = random.Random(SEED)
    seen: set[str] = set()
    rows = []
    while len(rows) < N_TRAIN + N_TEST:
        ex = make_example(rng)
        if ex["input"] not in seen:  # no duplicate messages, so no train/test leakage
            seen.add(ex["input"])
            rows.append(ex)
    for name, part in (("train", rows[:N_TRAIN]), ("test", rows[N_TRAIN:])):
        text = "".join(json.dumps(r) + "\n" for r in part)
        (HERE / f"{name}.jsonl").write_text(text, encoding="utf-8")
    (HERE / "docs").mkdir(exist_ok=True)
    (HERE / "docs" / "order-code-sheet.md").write_text(code_sheet(), encoding="utf-8")


if __name__ == "__main__":
    main()
