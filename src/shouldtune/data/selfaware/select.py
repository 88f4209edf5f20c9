"""Select the probe records shipped in selected.jsonl from SelfAware.json (Yin et al. 2023).

    python src/shouldtune/data/selfaware/select.py /path/to/SelfAware.json

Answerable questions come from TriviaQA and HotpotQA only: SelfAware's SQuAD questions were
written against a paragraph the model never sees ("What day did he die?"), so without it they
are not answerable. Unanswerable questions are SelfAware's own, minus "Would you rather ..."
(a preference, not a fact: answering it is not fabrication). Reference-answer aliases are
pruned to short, plain ones so that containment scoring is not fooled by odd aliases. The
output is shuffled with a fixed seed; shouldtune takes the first N of each kind.
"""

from __future__ import annotations

import argparse
import json
import random
import re
from pathlib import Path

HERE = Path(__file__).resolve().parent
N_PER_KIND = 200
MAX_QUESTION_CHARS = 200
MAX_ALIAS_WORDS = 4
MAX_ALIASES = 8
SEED = 0


def clean_aliases(answers: list[str]) -> list[str]:
    """Short aliases with letters or digits; no '... disambiguation' Wikipedia titles."""
    kept: list[str] = []
    for alias in answers:
        alias = " ".join(alias.split())
        if "disambiguation" in alias or len(alias) < 2 or not re.search(r"[a-z0-9]", alias):
            continue
        if len(alias.split()) <= MAX_ALIAS_WORDS and alias not in kept:
            kept.append(alias)
    return kept[:MAX_ALIASES]


def clean_question(text: str) -> str:
    """One line; undo CSV quoting ('"What is ""X""?"' -> 'What is "X"?')."""
    text = " ".join(text.split())
    if text.startswith('"') and text.endswith('"') and '""' in text:
        text = text[1:-1].replace('""', '"')
    return text


def select(records: list[dict]) -> list[dict]:
    answerable, unanswerable = [], []
    for r in records:
        q = clean_question(r["question"])
        if len(q) > MAX_QUESTION_CHARS:
            continue
        if r["answerable"] and r["source"].startswith(("triviaqa", "hotpot")):
            answers = clean_aliases(r["answer"] or [])
            if answers:
                answerable.append({"question": q, "answers": answers, "answerable": True})
        elif not r["answerable"] and not q.lower().startswith("would you rather"):
            unanswerable.append({"question": q, "answers": [], "answerable": False})
        else:
            continue
        (answerable if r["answerable"] else unanswerable)[-1] |= {
            "selfaware_id": r["question_id"],
            "source": r["source"],
        }
    rng = random.Random(SEED)
    rng.shuffle(answerable)
    rng.shuffle(unanswerable)
    return answerable[:N_PER_KIND] + unanswerable[:N_PER_KIND]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("selfaware_json", type=Path)
    parser.add_argument("--out", type=Path, default=HERE / "selected.jsonl")
    args = parser.parse_args()
    records = json.loads(args.selfaware_json.read_text(encoding="utf-8"))["example"]
    rows = select(records)
    with args.out.open("w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
    print(f"wrote {len(rows)} records to {args.out}")


if __name__ == "__main__":
    main()
