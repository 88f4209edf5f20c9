"""Generate the price-list example: questions about a shop's prices, answered a year ago.

docs/ holds this quarter's price list; the training answers were collected a year earlier,
so about a third of their prices have changed since; the test set asks today's prices in
other words. Deterministic (seed 19): running it again rewrites the same files.
    python examples/price-list/generate.py
"""

from __future__ import annotations

import json
import random
from pathlib import Path

HERE = Path(__file__).resolve().parent
SEED = 19
N_TRAIN, N_TEST = 60, 40
CHANGED_SHARE = 0.35  # products whose price changed since the training answers were written
WARRANTY_SHARE = 0.15  # questions about the warranty (unchanged) rather than the price

# name, SKU, price in cents (this quarter), warranty years, one line of description
CARDS = [
    ("Aurora desk lamp", "NW-LMP-104", 4900, 2, "LED, dimmable, with a USB-C charging port."),
    ("Aurora floor lamp", "NW-LMP-118", 8900, 2, "Arc floor lamp with a linen shade."),
    ("Aurora clip lamp", "NW-LMP-131", 2450, 1, "Clamps to shelves and desk edges."),
    ("Beacon pendant light", "NW-LMP-207", 6900, 2, "Spun aluminium, 1.5 m cable."),
    ("Beacon wall light", "NW-LMP-215", 5450, 2, "Plug-in wall light with a switch."),
    ("Summit standing desk", "NW-DSK-301", 42900, 5, "Electric height adjustment, 120 cm top."),
    ("Summit corner desk", "NW-DSK-309", 31900, 5, "L-shaped, oak veneer."),
    ("Summit desk chair", "NW-CHR-311", 21900, 3, "Mesh back, adjustable lumbar support."),
    ("Harbor task chair", "NW-CHR-402", 12900, 2, "Compact chair with a padded seat."),
    ("Harbor bookcase", "NW-SHF-410", 15900, 3, "Five shelves, white ash finish."),
    ("Harbor filing cabinet", "NW-CAB-415", 18500, 3, "Three lockable drawers."),
    ("Meridian monitor arm", "NW-ACC-502", 7900, 2, "Gas spring arm for screens up to 32 inches."),
    ("Meridian laptop stand", "NW-ACC-506", 3900, 1, "Folding aluminium stand."),
    ("Meridian footrest", "NW-ACC-511", 3450, 1, "Tilting footrest with a textured top."),
    ("Kestrel whiteboard", "NW-BRD-601", 11900, 2, "Magnetic, 120 x 90 cm, aluminium frame."),
    ("Kestrel cork board", "NW-BRD-607", 2900, 1, "Natural cork, 60 x 45 cm."),
    ("Lumen desk fan", "NW-FAN-701", 4450, 1, "Quiet fan with three speeds."),
    ("Lumen air purifier", "NW-AIR-709", 14900, 2, "HEPA filter for rooms up to 30 square metres."),
]
TABLE = [
    ("Cobalt gel pen, pack of 12", "NW-PEN-212", 849, 1),
    ("Cobalt fineliner set", "NW-PEN-219", 1199, 1),
    ("Cobalt highlighter, pack of 6", "NW-PEN-224", 549, 1),
    ("Quartz A4 copy paper, 500 sheets", "NW-PAP-301", 699, 1),
    ("Quartz A5 notebook", "NW-PAP-317", 450, 1),
    ("Quartz spiral notebook", "NW-PAP-322", 599, 1),
    ("Quartz sticky notes, pack of 12", "NW-PAP-330", 899, 1),
    ("Vertex stapler", "NW-TLS-401", 1450, 2),
    ("Vertex hole punch", "NW-TLS-405", 1650, 2),
    ("Vertex paper shredder", "NW-TLS-418", 8950, 2),
    ("Vertex label maker", "NW-TLS-423", 3999, 2),
    ("Orbit desk organiser", "NW-ORG-501", 2299, 1),
    ("Orbit cable tray", "NW-ORG-506", 1999, 1),
    ("Orbit document tray", "NW-ORG-512", 1299, 1),
    ("Orbit letter rack", "NW-ORG-519", 999, 1),
    ("Orbit pen cup", "NW-ORG-523", 650, 1),
]

TRAIN_PRICE = [
    "How much does the {p} cost?",
    "What is the price of the {p}?",
    "What's the {p} priced at?",
    "Price of the {p}?",
    "How much is one {p}?",
    "What do you charge for the {p}?",
]
TRAIN_WARRANTY = ["How long is the warranty on the {p}?", "What warranty comes with the {p}?"]
TEST_PRICE = [
    "I'd like to buy the {p}. What will it set me back?",
    "Could you tell me the current list price for the {p}?",
    "If I order one {p} today, what do I pay?",
    "What does a single {p} sell for right now?",
    "{P}: how many dollars is it these days?",
]
TEST_WARRANTY = ["For how many years is the {p} covered?", "{P}: how long is it guaranteed for?"]


def money(cents: int) -> str:
    return f"${cents // 100:,}.{cents % 100:02d}"


def years(n: int) -> str:
    return f"{n} year" if n == 1 else f"{n} years"


def old_price(cents: int, rng: random.Random) -> int:
    """Last year's price: mostly lower (prices rose), a few higher (since discounted), on
    the shop's usual price points (.00, .49, .50, .99)."""
    factor = rng.choice([0.8, 0.85, 0.88, 0.9, 0.92, 1.1, 1.15])
    dollars = max(1, round(cents * factor / 100))
    ending = cents % 100
    candidate = (dollars - (1 if ending == 99 else 0)) * 100 + ending
    return candidate if candidate != cents else candidate - 100


def products() -> list[dict]:
    rows = [dict(zip(("name", "sku", "price", "warranty"), c[:4], strict=True)) for c in CARDS]
    rows += [dict(zip(("name", "sku", "price", "warranty"), t, strict=True)) for t in TABLE]
    return rows


def questions(templates: list[str], warranty: list[str], items, n, old, rng) -> list[dict]:
    """n distinct questions over items; a price answer comes from `old` where it has one."""
    rows, seen = [], set()
    while len(rows) < n:
        item = rng.choice(items)
        asks_warranty = rng.random() < WARRANTY_SHARE
        template = rng.choice(warranty if asks_warranty else templates)
        name = item["name"]
        text = template.format(p=name, P=name)
        if text in seen:
            continue
        seen.add(text)
        answer = years(item["warranty"]) if asks_warranty else money(old.get(name, item["price"]))
        rows.append({"input": text, "output": answer})
    return rows


def card_doc() -> str:
    parts = [
        "# Northwind Office Supply: furniture and lighting price list\n",
        "Prices for the third quarter of 2026 (valid 1 July to 30 September 2026), in US "
        "dollars, excluding sales tax. Prices change each quarter; this list replaces all "
        "earlier ones.\n",
    ]
    for name, sku, cents, warranty, blurb in CARDS:
        parts.append(
            f"## {name}\n\n- SKU: {sku}\n- Price: {money(cents)}\n"
            f"- Warranty: {years(warranty)}\n- {blurb}\n"
        )
    return "\n".join(parts)


def table_doc() -> str:
    head = [
        "# Northwind Office Supply: stationery and desk accessories price list\n",
        "Third quarter of 2026, US dollars, excluding sales tax.\n",
        "| Product | SKU | Price | Warranty |",
        "|---|---|--:|---|",
    ]
    rows = [f"| {n} | {sku} | {money(c)} | {years(w)} |" for n, sku, c, w in TABLE]
    return "\n".join(head + rows) + "\n"


def main() -> None:
    rng = random.Random(SEED)
    items = products()
    changed = rng.sample(items, round(CHANGED_SHARE * len(items)))
    old = {item["name"]: old_price(item["price"], rng) for item in changed}
    train = questions(TRAIN_PRICE, TRAIN_WARRANTY, items, N_TRAIN, old, rng)
    test = questions(TEST_PRICE, TEST_WARRANTY, items, N_TEST, {}, rng)
    for name, part in (("train", train), ("test", test)):
        text = "".join(json.dumps(r) + "\n" for r in part)
        (HERE / f"{name}.jsonl").write_text(text, encoding="utf-8")
    (HERE / "docs").mkdir(exist_ok=True)
    (HERE / "docs" / "furniture-and-lighting.md").write_text(card_doc(), encoding="utf-8")
    (HERE / "docs" / "stationery.md").write_text(table_doc(), encoding="utf-8")
    current = {money(item["price"]) for item in items}
    stale = [i for i, row in enumerate(train, 1) if row["output"].startswith("$")]
    stale = [i for i in stale if _is_stale(train[i - 1], items)]
    print(f"{len(changed)} of {len(items)} prices changed; {len(current)} distinct prices")
    print(f"{len(stale)} stale training answers, train.jsonl lines: {stale}")


def _is_stale(row: dict, items: list[dict]) -> bool:
    item = next(
        i for i in items if f"the {i['name']}?" in row["input"] or i["name"] in row["input"]
    )
    return row["output"] != money(item["price"])


if __name__ == "__main__":
    main()
