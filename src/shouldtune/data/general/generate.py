"""Generate the general-knowledge forgetting probe (general.jsonl) and filter it by the model.

    python src/shouldtune/data/general/generate.py  # candidates -> candidates.jsonl
    python src/shouldtune/data/general/generate.py --filter  # keep what the base model gets right

Simple factual items written here (capitals, one-digit arithmetic, opposites, the order of
days and months, everyday science), each with an answer stem and three same-group
distractors for the likelihood probe. With --filter the bundled base model answers each
candidate once, greedily, with the same prompt the probe runner uses, and ranks its options
by likelihood; only items it gets right both ways are kept. So before any fine-tune the base
model scores (close to) 100% on both measures and a drop after fine-tuning is what the
fine-tune changed, not noise from items it never knew.
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
# (question, accepted answers, answer stem, the right option, three distractors of its kind).
# The likelihood probe scores "<stem> <option>" as the assistant's reply: a cloze, so a chat
# model that answers in sentences is scored on the words that carry the fact.
SCIENCE = [
    ("How many legs does a spider have?", ["8", "eight"], "A spider has", "8", ["6", "4", "10"]),
    ("How many legs does an insect have?", ["6", "six"], "An insect has", "6", ["8", "4", "10"]),
    ("How many days are there in a week?", ["7", "seven"], "There are", "7", ["5", "6", "10"]),
    ("How many months are there in a year?", ["12", "twelve"], "There are", "12",
     ["10", "11", "14"]),
    ("How many hours are there in a day?", ["24", "twenty-four", "twenty four"], "There are",
     "24", ["12", "20", "48"]),
    ("How many minutes are there in an hour?", ["60", "sixty"], "There are", "60",
     ["30", "100", "24"]),
    ("How many seconds are there in a minute?", ["60", "sixty"], "There are", "60",
     ["100", "30", "12"]),
    ("How many continents are there?", ["7", "seven"], "There are", "7", ["5", "6", "9"]),
    ("What is the largest planet in our solar system?", ["jupiter"],
     "The largest planet in our solar system is", "Jupiter", ["Saturn", "Mars", "Neptune"]),
    ("What planet do we live on?", ["earth"], "We live on", "Earth", ["Mars", "Venus", "Jupiter"]),
    ("What is the closest star to the Earth?", ["sun"], "The closest star to the Earth is",
     "the Sun", ["Sirius", "Polaris", "Alpha Centauri"]),
    ("What do bees make?", ["honey"], "Bees make", "honey", ["milk", "silk", "paper"]),
    ("What gas do plants take in from the air?", ["carbon dioxide", "co2"],
     "Plants take in", "carbon dioxide", ["oxygen", "nitrogen", "helium"]),
    ("What gas do humans need to breathe?", ["oxygen"], "Humans need to breathe",
     "oxygen", ["carbon dioxide", "nitrogen", "helium"]),
    ("What is frozen water called?", ["ice"], "Frozen water is called", "ice",
     ["steam", "fog", "salt"]),
    ("At what temperature in Celsius does water freeze?", ["0", "zero"],
     "Water freezes at", "0 degrees Celsius",
     ["10 degrees Celsius", "32 degrees Celsius", "100 degrees Celsius"]),
    ("At what temperature in Celsius does water boil?", ["100"], "Water boils at",
     "100 degrees Celsius", ["50 degrees Celsius", "90 degrees Celsius", "212 degrees Celsius"]),
    ("What colour is the sky on a clear day?", ["blue"], "On a clear day the sky is", "blue",
     ["green", "red", "yellow"]),
    ("What colour is grass?", ["green"], "Grass is", "green", ["blue", "red", "purple"]),
    ("What colour is snow?", ["white"], "Snow is", "white", ["black", "blue", "green"]),
    ("What colour are ripe bananas?", ["yellow"], "Ripe bananas are", "yellow",
     ["blue", "red", "purple"]),
    ("What is the largest ocean on Earth?", ["pacific"], "The largest ocean on Earth is",
     "the Pacific Ocean", ["the Atlantic Ocean", "the Indian Ocean", "the Arctic Ocean"]),
    ("What is the tallest mountain in the world?", ["everest"],
     "The tallest mountain in the world is", "Mount Everest",
     ["Mont Blanc", "Mount Kilimanjaro", "Mount Fuji"]),
    ("What is the longest river in Africa?", ["nile"], "The longest river in Africa is",
     "the Nile", ["the Congo", "the Niger", "the Zambezi"]),
    ("Which animal is known as the king of the jungle?", ["lion"],
     "The king of the jungle is", "the lion", ["the tiger", "the elephant", "the gorilla"]),
    ("What is the largest mammal?", ["blue whale", "whale"], "The largest mammal is",
     "the blue whale", ["the elephant", "the giraffe", "the hippopotamus"]),
    ("What animal says moo?", ["cow"], "The animal that says moo is", "the cow",
     ["the dog", "the sheep", "the cat"]),
    ("What animal barks?", ["dog"], "The animal that barks is", "the dog",
     ["the cat", "the cow", "the horse"]),
    ("What do caterpillars turn into?", ["butterfly", "butterflies", "moth"],
     "Caterpillars turn into", "butterflies", ["beetles", "spiders", "frogs"]),
    ("What organ pumps blood around the body?", ["heart"],
     "The organ that pumps blood around the body is", "the heart",
     ["the liver", "the lungs", "the brain"]),
    ("What organ do we use to think?", ["brain"], "We think with", "the brain",
     ["the heart", "the liver", "the stomach"]),
    ("How many sides does a triangle have?", ["3", "three"], "A triangle has", "3",
     ["4", "5", "6"]),
    ("How many sides does a square have?", ["4", "four"], "A square has", "4", ["3", "5", "6"]),
    ("How many sides does a hexagon have?", ["6", "six"], "A hexagon has", "6", ["5", "7", "8"]),
    ("What is the chemical symbol for water?", ["h2o"], "The chemical symbol for water is",
     "H2O", ["CO2", "O2", "NaCl"]),
    ("What is the chemical symbol for gold?", ["au"], "The chemical symbol for gold is", "Au",
     ["Ag", "Go", "Gd"]),
    ("Who wrote Romeo and Juliet?", ["shakespeare"], "Romeo and Juliet was written by",
     "William Shakespeare", ["Charles Dickens", "Jane Austen", "Mark Twain"]),
    ("Who painted the Mona Lisa?", ["leonardo", "da vinci"], "The Mona Lisa was painted by",
     "Leonardo da Vinci", ["Pablo Picasso", "Vincent van Gogh", "Michelangelo"]),
    ("Who developed the theory of relativity?", ["einstein"],
     "The theory of relativity was developed by", "Albert Einstein",
     ["Isaac Newton", "Nikola Tesla", "Charles Darwin"]),
    ("What language is spoken in Brazil?", ["portuguese"], "In Brazil people speak",
     "Portuguese", ["Spanish", "French", "Italian"]),
    ("What language is spoken in Mexico?", ["spanish"], "In Mexico people speak", "Spanish",
     ["Portuguese", "English", "French"]),
    ("What is the currency of Japan?", ["yen"], "The currency of Japan is", "the yen",
     ["the yuan", "the won", "the dollar"]),
    ("What is the currency of the United Kingdom?", ["pound"],
     "The currency of the United Kingdom is", "the pound", ["the euro", "the dollar", "the franc"]),
    ("What is the opposite of plus?", ["minus"], "The opposite of plus is", "minus",
     ["times", "equals", "divided"]),
    ("What do you call a baby dog?", ["puppy"], "A baby dog is called", "a puppy",
     ["a kitten", "a calf", "a cub"]),
    ("What do you call a baby cat?", ["kitten"], "A baby cat is called", "a kitten",
     ["a puppy", "a foal", "a lamb"]),
]  # fmt: skip
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


N_DISTRACTORS = 3
BATCH = 16  # the probe's default batch size (probes.batch_size): the same numerics as a run


def _arithmetic(rng: random.Random, n: int) -> list[dict]:
    items: list[dict] = []
    while len(items) < n:
        a, b = rng.randint(1, 9), rng.randint(1, 9)
        op = rng.choice("+-x")
        if op == "-" and a < b:
            a, b = b, a
        value = a + b if op == "+" else a - b if op == "-" else a * b
        answers = [str(value)] + ([NUMBER_WORDS[value]] if value <= 20 else [])
        item = {"question": f"What is {a} {op} {b}?", "answers": answers, "group": "arithmetic"}
        if all(item["question"] != i["question"] for i in items):
            items.append(item | {"operands": (a, b)})
    return items


def _number_distractors(rng: random.Random, a: int, b: int, value: int) -> list[str]:
    """The other operations on the same numbers first (the plausible slips), then neighbours."""
    slips = [a + b, abs(a - b), a * b]
    near = [value - 2, value - 1, value + 1, value + 2]
    rng.shuffle(slips)
    rng.shuffle(near)
    out: list[str] = []
    for v in slips + near:
        if v >= 0 and v != value and str(v) not in out:
            out.append(str(v))
    return out[:N_DISTRACTORS]


def _others(rng: random.Random, pool: list[str], *exclude: str) -> list[str]:
    """N_DISTRACTORS others of the same group, never an accepted answer."""
    banned = {e.lower() for e in exclude}
    return rng.sample(sorted({p for p in pool if p.lower() not in banned}), N_DISTRACTORS)


def _with_options(item: dict, rng: random.Random) -> dict:
    """The likelihood probe's stem and options: the right one first, then same-group
    distractors."""
    group, answers, question = item["group"], item["answers"], item["question"]
    if group == "arithmetic":
        a, b = item.pop("operands")
        distractors = _number_distractors(rng, a, b, int(answers[0]))
        stem = question.removeprefix("What is ").rstrip("?") + " ="
    elif group == "capitals":
        cities = [c.split("|")[0] for c in CAPITALS.values()]
        distractors = _others(rng, cities, *answers)
        stem = question.removeprefix("What is t").rstrip("?").join(("T", " is"))
    elif group == "opposites":
        word = question.removeprefix("What is the opposite of ").rstrip("?")
        distractors = _others(rng, list(OPPOSITES.values()), *answers, word)
        stem = f"The opposite of {word} is"
    else:
        before = question.removeprefix("What comes after ").rstrip("?")
        distractors = _others(rng, DAYS if group == "days" else MONTHS, *answers, before)
        stem = f"After {before} comes"
    return item | {"stem": stem, "options": [answers[0], *distractors]}


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
    science = [
        {"question": q, "answers": a, "group": "science", "stem": stem, "options": [o, *d]}
        for q, a, stem, o, d in SCIENCE
    ]
    items += science + _arithmetic(rng, 60)
    rng.shuffle(items)  # the order drawn before options existed: same shuffle as before
    pick = random.Random(seed + 1)  # distractors from their own stream
    items = [i if "options" in i else _with_options(i, pick) for i in items]
    return [{"kind": "general", **item} for item in items]


def keep_known(items: list[dict]) -> list[dict]:
    """The items the bundled base model gets right both ways with the probe prompt: its
    generated answer contains an accepted answer, and the right option has the highest
    log-likelihood per byte (shouldtune.probes.likelihood, the probe's own settings)."""
    from shouldtune.core.prompts import chat
    from shouldtune.models.bundled import resolve_model
    from shouldtune.models.lm import LanguageModel
    from shouldtune.probes.abstention import contains_answer
    from shouldtune.probes.likelihood import choose, option_logprobs
    from shouldtune.probes.runner import PROBE_INSTRUCTION, answer_questions

    lm = LanguageModel.load(*resolve_model(None))
    questions = [i["question"] for i in items]
    texts = answer_questions(lm, questions, max_new_tokens=24, batch_size=BATCH)
    scores = option_logprobs(
        lm,
        [chat(PROBE_INSTRUCTION, q) for q in questions],
        [i["options"] for i in items],
        BATCH,
        [i["stem"] for i in items],
    )
    kept = []
    for item, text, score in zip(items, texts, scores, strict=True):
        if contains_answer(text, item["answers"]) and choose(score) == 0:
            kept.append(item)
    by_way = sum(contains_answer(t, i["answers"]) for t, i in zip(texts, items, strict=True))
    print(f"generation right: {by_way}; likelihood right: {sum(choose(s) == 0 for s in scores)}")
    return kept


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
