"""Generate the support-routing example: a customer message -> the team that handles it, with
training data that contradicts itself the way real ticket exports do.

Six teams, eight message templates each. The training file then gets what a hurried triage
leaves behind: 12 messages filed twice under two different teams (conflicting pairs) and 14
messages filed under a wrong team (likely mislabelled): 38 of the 202 training rows are
contradictory (each conflicting pair's two rows, and the 14). The test labels are right. A
fine-tune learns the contradictions as they are; the verdict should say so and send you to
fix them first.

Deterministic (seed 5): running it again rewrites the same files.
    python examples/support-routing/generate.py
"""

from __future__ import annotations

import json
import random
from pathlib import Path

HERE = Path(__file__).resolve().parent
SEED = 5
N_TRAIN, N_TEST = 190, 40
N_CONFLICTS, N_MISLABELLED = 12, 14

ITEMS = ["desk lamp", "office chair", "kettle", "wall poster", "wool blanket", "coffee grinder"]
CITIES = ["Oslo", "Rome", "Lisbon", "Vienna", "Dublin", "Madrid", "Warsaw", "Athens"]
TEAMS = {
    "billing": [
        "I was charged twice for my {item}, please refund one of the payments.",
        "My invoice for order {n} shows {p} euros but the shop said {q} euros.",
        "Why did my card get billed {p} euros this morning? I bought nothing.",
        "Can I get a VAT invoice for the {item} I paid last week?",
        "The discount code was not applied to my {item}, I paid full price.",
        "Please change the billing address on invoice {n} to my office in {city}.",
        "I cancelled order {n} but the {p} euros were still taken from my account.",
        "Do you accept payment in instalments for the {item}?",
    ],
    "shipping": [
        "My {item} has not arrived yet, order {n} was sent {d} days ago.",
        "The tracking for order {n} has not moved since it left {city}.",
        "Can you deliver the {item} to my neighbour in {city} instead?",
        "The courier left my {item} outside in the rain, order {n}.",
        "How long does shipping to {city} take for a {item}?",
        "Order {n} says delivered but there is no parcel at my door.",
        "Can I change the delivery date of my {item} to next week?",
        "The parcel for order {n} went to {city} by mistake.",
    ],
    "returns": [
        "I want to return the {item}, it is not what I expected.",
        "How do I send back order {n}? The {item} is the wrong size.",
        "The {item} arrived broken, I would like to return it for a new one.",
        "Is it too late to return a {item} I bought {d} days ago?",
        "I sent the {item} back {d} days ago, when do I get my return confirmed?",
        "Do I need the original box to return the {item}?",
        "Please send me a return label for order {n}.",
        "Can I exchange the {item} for another colour instead of returning it?",
    ],
    "technical": [
        "The {item} stopped working after {d} days, it will not switch on.",
        "The app crashes every time I try to pair the {item}.",
        "How do I reset the {item} to factory settings?",
        "The {item} makes a loud noise when I turn it on.",
        "The firmware update for the {item} failed halfway.",
        "My {item} gets very hot after a few minutes of use.",
        "The manual for the {item} does not explain the timer button.",
        "The {item} keeps disconnecting from my wifi.",
    ],
    "account": [
        "I cannot log in to my account, the password reset email never comes.",
        "Please delete my account and all my data.",
        "How do I change the email address on my account?",
        "Someone else placed order {n} from my account, I did not do this.",
        "My account was locked after {d} failed login attempts.",
        "Can I merge my two accounts? One was made in {city}.",
        "I want to stop getting newsletters from you.",
        "The two-factor code on my account never arrives on my phone.",
    ],
    "sales": [
        "Do you have the {item} in stock in another colour?",
        "Can I get a discount if I buy {q} of the {item} for our office?",
        "Will the {item} be on sale again soon?",
        "Do you sell spare parts for the {item}?",
        "Is there a shop in {city} where I can see the {item}?",
        "What is the difference between the two models of the {item}?",
        "Can you reserve {q} of the {item} for me until Friday?",
        "Do you offer gift wrapping for the {item}?",
    ],
}


def _message(rng: random.Random, team: str) -> str:
    return rng.choice(TEAMS[team]).format(
        item=rng.choice(ITEMS), city=rng.choice(CITIES), n=rng.randint(10_000, 99_999),
        p=rng.randint(10, 400), q=rng.randint(2, 40), d=rng.randint(2, 30),
    )  # fmt: skip


def main() -> None:
    rng = random.Random(SEED)
    seen: set[str] = set()
    rows: list[dict[str, str]] = []
    teams = list(TEAMS)
    while len(rows) < N_TRAIN + N_TEST:
        team = teams[len(rows) % len(teams)]
        text = _message(rng, team)
        if text not in seen:
            seen.add(text)
            rows.append({"input": text, "output": team})
    rng.shuffle(rows)
    train, test = rows[:N_TRAIN], rows[N_TRAIN:]
    # A hurried triage: some messages filed a second time under another team ...
    for row in rng.sample(train, N_CONFLICTS):
        other = rng.choice([t for t in teams if t != row["output"]])
        train.insert(rng.randrange(len(train)), {"input": row["input"], "output": other})
    # ... and some filed under a wrong team only.
    for row in rng.sample([r for r in train if sum(x["input"] == r["input"] for x in train) == 1],
                          N_MISLABELLED):  # fmt: skip
        row["output"] = rng.choice([t for t in teams if t != row["output"]])
    for name, part in (("train", train), ("test", test)):
        lines = "".join(json.dumps(r) + "\n" for r in part)
        (HERE / f"{name}.jsonl").write_text(lines, encoding="utf-8")


if __name__ == "__main__":
    main()
