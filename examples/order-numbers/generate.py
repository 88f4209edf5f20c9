"""Generate the order-numbers example: a customer message -> the order number in it.

Every message holds other numbers too (quantities, days, prices, a phone extension), so the
answer is not "the first number". The skill is reading, not knowledge: a few nearest examples
may teach it as well as fine-tuning does, and then the verdict turns on cost and volume.

Deterministic (seed 11): running it again rewrites the same files.
    python examples/order-numbers/generate.py
"""

from __future__ import annotations

import json
import random
from pathlib import Path

HERE = Path(__file__).resolve().parent
SEED = 11
N_TRAIN, N_TEST = 120, 40

ITEMS = ["lamps", "chairs", "mugs", "towels", "candles", "pillows", "plates", "frames"]
DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"]
TEMPLATES = [
    "Hi, I ordered {q} {item} on {day} (order {order}) but only {q2} arrived.",
    "Order {order}: the {item} cost {price} euros each and {q} of them are broken.",
    "Could you check order {order}? I was told it would ship within {n} days.",
    "I paid {price} euros for {q} {item}, order number {order}, still nothing after {n} days.",
    "Please cancel order {order}. I only wanted {q} {item}, not {q2}.",
    "My order {order} of {q} {item} was delivered to flat {flat} instead of {flat2}.",
    "Call me on extension {ext} about order {order}, the {item} are the wrong colour.",
    "{q} {item} from order {order} arrived on {day}, but the invoice says {q2}.",
    "Where is my parcel? Order {order}, placed {n} days ago, {q} {item}.",
    "Refund request for order {order}: {q} {item} at {price} euros, returned on {day}.",
]


def _message(rng: random.Random) -> tuple[str, str]:
    order = str(rng.randint(10_000, 999_999))
    fields = {
        "order": order,
        "item": rng.choice(ITEMS),
        "day": rng.choice(DAYS),
        "q": rng.randint(2, 9),
        "q2": rng.randint(1, 9),
        "n": rng.randint(3, 30),
        "price": rng.randint(5, 250),
        "flat": rng.randint(1, 120),
        "flat2": rng.randint(1, 120),
        "ext": rng.randint(100, 9999),
    }
    return rng.choice(TEMPLATES).format(**fields), order


def main() -> None:
    rng = random.Random(SEED)
    seen: set[str] = set()
    rows: list[dict[str, str]] = []
    while len(rows) < N_TRAIN + N_TEST:
        text, order = _message(rng)
        if text not in seen:
            seen.add(text)
            rows.append({"input": text, "output": order})
    for name, part in (("train", rows[:N_TRAIN]), ("test", rows[N_TRAIN:])):
        lines = "".join(json.dumps(r) + "\n" for r in part)
        (HERE / f"{name}.jsonl").write_text(lines, encoding="utf-8")


if __name__ == "__main__":
    main()
