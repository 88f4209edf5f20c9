"""Generate the general-knowledge forgetting probe (general.jsonl) and filter it by the model.

    python src/shouldtune/data/general/generate.py  # candidates -> candidates.jsonl
    python src/shouldtune/data/general/generate.py --filter  # keep what the base model gets right

Simple factual items written here (capitals, one-digit arithmetic, opposites, the order of
days and months, everyday science). With --filter the bundled base model answers each
candidate once, greedily, with the same prompt the probe runner uses; only items it answers
correctly are kept. So before any fine-tune the base model scores (close to) 100% on the
shipped set and a drop after fine-tuning is forgetting, not noise from items it never knew.
"""

from __future__ import annotations

import argparse
import json
import random
from pathlib import Path

HERE = Path(__file__).resolve().parent

CAPITALS = {
    "France": "Paris",
    "Germany": "Berlin",
    "Italy": "Rome",
    "Spain": "Madrid",
    "Portugal": "Lisbon",
    "the United Kingdom": "London",
    "Ireland": "Dublin",
    "Japan": "Tokyo",
    "China": "Beijing",
    "Russia": "Moscow",
    "Egypt": "Cairo",
    "Greece": "Athens",
    "Austria": "Vienna",
    "Norway": "Oslo",
    "Sweden": "Stockholm",
    "Denmark": "Copenhagen",
    "Finland": "Helsinki",
    "Poland": "Warsaw",
    "Hungary": "Budapest",
    "the Czech Republic": "Prague",
    "Belgium": "Brussels",
    "the Netherlands": "Amsterdam",
    "Canada": "Ottawa",
    "Mexico": "Mexico City",
    "Argentina": "Buenos Aires",
    "Peru": "Lima",
    "Chile": "Santiago",
    "Cuba": "Havana",
    "Kenya": "Nairobi",
    "Thailand": "Bangkok",
    "South Korea": "Seoul",
    "India": "New Delhi",
    "Iran": "Tehran",
    "Iraq": "Baghdad",
    "Turkey": "Ankara",
    "Australia": "Canberra",
    "New Zealand": "Wellington",
    "the United States": "Washington",
    "Indonesia": "Jakarta",
    "the Philippines": "Manila",
    "Vietnam": "Hanoi",
    "Ukraine": "Kyiv|Kiev",
    "Romania": "Bucharest",
    "Switzerland": "Bern",
    "Brazil": "Brasilia",
    "Colombia": "Bogota",
    "Venezuela": "Caracas",
    "Saudi Arabia": "Riyadh",
    "Syria": "Damascus",
    "Lebanon": "Beirut",
    "Ethiopia": "Addis Ababa",
    "Nigeria": "Abuja",
    "Morocco": "Rabat",
    "Iceland": "Reykjavik",
    "Scotland": "Edinburgh",
}
OPPOSITES = {
    "hot": "cold",
    "big": "small",
    "up": "down",
    "day": "night",
    "fast": "slow",
    "happy": "sad",
    "light": "dark",
    "open": "closed",
    "old": "young",
    "wet": "dry",
    "hard": "soft",
    "full": "empty",
    "early": "late",
    "strong": "weak",
    "high": "low",
    "rich": "poor",
    "tall": "short",
    "thick": "thin",
    "win": "lose",
    "push": "pull",
    "good": "bad",
    "black": "white",
    "left": "right",
    "inside": "outside",
    "north": "south",
    "east": "west",
    "buy": "sell",
    "love": "hate",
    "true": "false",
    "heavy": "light",
    "clean": "dirty",
    "loud": "quiet",
    "first": "last",
    "begin": "end",
    "alive": "dead",
    "friend": "enemy",
    "give": "take",
    "question": "answer",
    "sweet": "sour",
    "cheap": "expensive",
}
SCIENCE = [
    ("How many legs does a spider have?", ["8", "eight"]),
    ("How many legs does an insect have?", ["6", "six"]),
    ("How many days are there in a week?", ["7", "seven"]),
    ("How many months are there in a year?", ["12", "twelve"]),
    ("How many hours are there in a day?", ["24", "twenty-four", "twenty four"]),
    ("How many minutes are there in an hour?", ["60", "sixty"]),
    ("How many seconds are there in a minute?", ["60", "sixty"]),
    ("How many continents are there?", ["7", "seven"]),
    ("What is the largest planet in our solar system?", ["jupiter"]),
    ("What planet do we live on?", ["earth"]),
    ("What is the closest star to the Earth?", ["sun"]),
    ("What do bees make?", ["honey"]),
    ("What gas do plants take in from the air?", ["carbon dioxide", "co2"]),
    ("What gas do humans need to breathe?", ["oxygen"]),
    ("What is frozen water called?", ["ice"]),
    ("At what temperature in Celsius does water freeze?", ["0", "zero"]),
    ("At what temperature in Celsius does water boil?", ["100"]),
    ("What colour is the sky on a clear day?", ["blue"]),
    ("What colour is grass?", ["green"]),
    ("What colour is snow?", ["white"]),
    ("What colour are ripe bananas?", ["yellow"]),
    ("What is the largest ocean on Earth?", ["pacific"]),
    ("What is the tallest mountain in the world?", ["everest"]),
    ("What is the longest river in Africa?", ["nile"]),
    ("Which animal is known as the king of the jungle?", ["lion"]),
    ("What is the largest mammal?", ["blue whale", "whale"]),
    ("What animal says moo?", ["cow"]),
    ("What animal barks?", ["dog"]),
    ("What do caterpillars turn into?", ["butterfly", "butterflies", "moth"]),
    ("What organ pumps blood around the body?", ["heart"]),
    ("What organ do we use to think?", ["brain"]),
    ("How many sides does a triangle have?", ["3", "three"]),
    ("How many sides does a square have?", ["4", "four"]),
    ("How many sides does a hexagon have?", ["6", "six"]),
    ("What is the chemical symbol for water?", ["h2o"]),
    ("What is the chemical symbol for gold?", ["au"]),
    ("Who wrote Romeo and Juliet?", ["shakespeare"]),
    ("Who painted the Mona Lisa?", ["leonardo", "da vinci"]),
    ("Who developed the theory of relativity?", ["einstein"]),
    ("What language is spoken in Brazil?", ["portuguese"]),
    ("What language is spoken in Mexico?", ["spanish"]),
    ("What is the currency of Japan?", ["yen"]),
    ("What is the currency of the United Kingdom?", ["pound"]),
    ("What is the opposite of plus?", ["minus"]),
    ("What do you call a baby dog?", ["puppy"]),
    ("What do you call a baby cat?", ["kitten"]),
]
DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
MONTHS = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
]
NUMBER_WORDS = [
    "zero",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
    "twenty",
]


def _arithmetic(rng: random.Random, n: int) -> list[dict]:
    items = []
    while len(items) < n:
        a, b = rng.randint(1, 9), rng.randint(1, 9)
        op = rng.choice("+-x")
        if op == "-" and a < b:
            a, b = b, a
        value = a + b if op == "+" else a - b if op == "-" else a * b
        answers = [str(value)] + ([NUMBER_WORDS[value]] if value <= 20 else [])
        item = {"question": f"What is {a} {op} {b}?", "answers": answers, "group": "arithmetic"}
        if item not in items:
            items.append(item)
    return items


def candidates(seed: int = 0) -> list[dict]:
    rng = random.Random(seed)
    items = [
        {
            "question": f"What is the capital of {c}?",
            "answers": city.split("|"),
            "group": "capitals",
        }
        for c, city in CAPITALS.items()
    ]
    items += [
        {"question": f"What is the opposite of {w}?", "answers": [o], "group": "opposites"}
        for w, o in OPPOSITES.items()
    ]
    for seq, group in ((DAYS, "days"), (MONTHS, "months")):
        items += [
            {"question": f"What comes after {a}?", "answers": [b], "group": group}
            for a, b in zip(seq, seq[1:] + seq[:1], strict=True)
        ]
    items += [{"question": q, "answers": a, "group": "science"} for q, a in SCIENCE]
    items += _arithmetic(rng, 60)
    rng.shuffle(items)
    return [{"kind": "general", **item} for item in items]


def keep_known(items: list[dict]) -> list[dict]:
    """The items the bundled base model answers correctly with the probe prompt."""
    from shouldtune.models.bundled import resolve_model
    from shouldtune.models.lm import LanguageModel
    from shouldtune.probes.abstention import contains_answer
    from shouldtune.probes.runner import answer_questions

    lm = LanguageModel.load(*resolve_model(None))
    texts = answer_questions(lm, [i["question"] for i in items], max_new_tokens=24)
    return [i for i, t in zip(items, texts, strict=True) if contains_answer(t, i["answers"])]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--filter", action="store_true", help="keep items the model knows")
    args = parser.parse_args()
    items = candidates()
    name = "candidates.jsonl"
    if args.filter:
        items, name = keep_known(items), "general.jsonl"
    with (HERE / name).open("w", encoding="utf-8") as f:
        for item in items:
            f.write(json.dumps(item, ensure_ascii=False) + "\n")
    print(f"wrote {len(items)} items to {HERE / name}")


if __name__ == "__main__":
    main()
