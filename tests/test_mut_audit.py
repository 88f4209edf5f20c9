"""The audit's overlap checks pinned by value: duplicates, near-duplicates, conflicting labels,
leakage, contrastive pairs and repeated answers, each with its severity, its sentence, the
file:line of every row it names and its numbers; and the near-duplicate search under them
(audit/overlap.py, audit/near.py). The checks are called on Examples built here, with the
MinHash index and no model, so each test takes milliseconds."""

from __future__ import annotations

import pytest

from shouldtune.audit import overlap
from shouldtune.audit.near import NearIndex, _minhashes, jaccard, shingles
from shouldtune.audit.overlap import LeakSplit, differs_only_in_slots
from shouldtune.core.types import Example

pytestmark = pytest.mark.decision

RULE = "character 5-gram Jaccard ≥ 0.8"


def rows(pairs: list[tuple[str, str]], file: str = "train.jsonl") -> list[Example]:
    return [Example(i, o, source=f"{file}:{n}") for n, (i, o) in enumerate(pairs, start=1)]


def near_pairs(train: list[Example]) -> tuple[list[list[int]], list[tuple[int, int, float]]]:
    """What the audit computes before its train checks: exact groups and the near pairs
    that are not exact."""
    groups = overlap.exact_groups(train)
    index = NearIndex([ex.input for ex in train])
    return groups, overlap.near_only(index.pairs_within(), groups)


# A labelled train set with one of each defect; line n is MESSY[n - 1].
MESSY = [
    ("How do I change the PIN of my debit card?", "pin"),
    ("Please cancel the subscription on my account today", "cancel"),
    ("Please cancel the subscriptions on my account today", "refund"),  # near 2, other label
    ("Where is the parcel I ordered from your shop last week?", "shipping"),
    ("Where is the parcel I ordered from your shop last weekend?", "refund"),  # near 4, other
    ("I want to block my card because it was stolen", "card"),
    ("I want to block my card because it was stolen", "account"),  # exact 6, other label
    ("i want to block my card  because it was stolen", "card"),  # duplicate of 6
    ("I WANT to block my card because it was stolen", "fraud"),  # exact 6, other label
    ("Move my meeting with the finance team from room 12 to room 14", "meeting"),
    ("Move my meeting with the finance team from room 13 to room 14", "calendar"),  # template
    ("Please send the monthly invoice for the office rent to Anna in accounts", "invoice"),
    ("Please send the monthly invoice for the office rent to Anne in accounts", "billing"),
    ("How do I change the PIN of my debit card!", "pin"),  # near 1, same label
]


# --- exact groups, near pairs ---------------------------------------------------------------


def test_exact_groups_and_near_pairs_of_the_messy_set():
    groups, near = near_pairs(rows(MESSY))
    assert groups == [[5, 6, 7, 8]]  # only inputs that repeat, in file order
    assert [(i, j, round(s, 4)) for i, j, s in near] == [
        (0, 13, 1.0),
        (1, 2, 0.8235),
        (3, 4, 0.9434),
        (9, 10, 0.8305),
        (11, 12, 0.8592),
    ]


def test_near_only_drops_pairs_within_one_exact_group_only():
    groups = [[0, 2], [1, 3]]
    pairs = [(0, 2, 1.0), (0, 1, 0.9), (1, 3, 1.0), (2, 3, 0.85), (4, 5, 0.8)]
    assert overlap.near_only(pairs, groups) == [(0, 1, 0.9), (2, 3, 0.85), (4, 5, 0.8)]


# --- duplicates -----------------------------------------------------------------------------


def test_one_duplicate_names_its_first_row():
    train = rows(MESSY)
    found = overlap.check_duplicates(train, overlap.exact_groups(train))
    assert found.to_json() == {
        "check": "duplicates",
        "severity": "warning",
        "count": 1,
        "message": "1 train row repeats an earlier row "
        "(same output, same input up to case and spacing)",
        "examples": [
            {
                "source": "train.jsonl:8",
                "excerpt": "i want to block my card because it was stolen",
                "duplicate_of": "train.jsonl:6",
            }
        ],
        "data": {},
    }


def test_duplicates_are_listed_in_line_order_even_when_the_path_holds_a_colon():
    pairs = [
        ("Where is my parcel?", "shipping"),
        ("Reset my password", "account"),
        ("reset my  PASSWORD", "account"),
        ("Where is my parcel?", "shipping"),
        ("Reset my password", "account"),
    ]
    train = [
        Example(i, o, source=f"C:\\task\\train.jsonl:{n}") for n, (i, o) in enumerate(pairs, 1)
    ]
    found = overlap.check_duplicates(train, overlap.exact_groups(train))
    assert found.count == 3
    assert found.message == (
        "3 train rows repeat an earlier row (same output, same input up to case and spacing)"
    )
    assert [(e["source"][-1], e["duplicate_of"][-1]) for e in found.examples] == [
        ("3", "2"),
        ("4", "1"),
        ("5", "2"),
    ]


def test_duplicates_without_a_line_number_come_first():
    train = [
        Example("Where is my parcel?", "shipping", source="built in code"),
        Example("Where is my parcel?", "shipping", source="train.jsonl:1"),
        Example("Reset my password", "account", source="train.jsonl:9"),
        Example("Reset my password", "account", source=""),
    ]
    found = overlap.check_duplicates(train, overlap.exact_groups(train))
    assert [(e["source"], e["duplicate_of"]) for e in found.examples] == [
        ("", "train.jsonl:9"),
        ("train.jsonl:1", "built in code"),
    ]


def test_no_duplicates():
    train = rows(MESSY[:5])
    assert overlap.check_duplicates(train, overlap.exact_groups(train)).to_json() == {
        "check": "duplicates",
        "severity": "info",
        "count": 0,
        "message": "no exact duplicates in train found",
        "examples": [],
        "data": {},
    }


# --- near duplicates ------------------------------------------------------------------------


def test_near_duplicates_of_the_messy_set_ranked_by_similarity():
    train = rows(MESSY)
    found = overlap.check_near_duplicates(train, near_pairs(train)[1])
    assert found.to_json() == {
        "check": "near_duplicates",
        "severity": "warning",
        "count": 5,
        "message": f"5 pairs of near-duplicate train inputs ({RULE}), touching 10 rows (71.4%)",
        "examples": [
            {
                "source": "train.jsonl:14",
                "excerpt": "How do I change the PIN of my debit card!",
                "near": "train.jsonl:1",
                "similarity": 1.0,
            },
            {
                "source": "train.jsonl:5",
                "excerpt": "Where is the parcel I ordered from your shop last weekend?",
                "near": "train.jsonl:4",
                "similarity": 0.943,
            },
            {
                "source": "train.jsonl:13",
                "excerpt": "Please send the monthly invoice for the office rent to Anne in "
                "accounts",
                "near": "train.jsonl:12",
                "similarity": 0.859,
            },
            {
                "source": "train.jsonl:11",
                "excerpt": "Move my meeting with the finance team from room 13 to room 14",
                "near": "train.jsonl:10",
                "similarity": 0.831,
            },
            {
                "source": "train.jsonl:3",
                "excerpt": "Please cancel the subscriptions on my account today",
                "near": "train.jsonl:2",
                "similarity": 0.824,
            },
        ],
        "data": {},
    }


def filler(n: int) -> list[tuple[str, str]]:
    return [(f"Unrelated question number {k}", "other") for k in range(n)]


def test_near_duplicates_with_equal_similarity_follow_the_first_row():
    # rows 1 and 4 are near, 2 and 3 are near, both at 0.87654: listed by the earlier row
    train = rows(filler(40))
    found = overlap.check_near_duplicates(train, [(1, 2, 0.87654), (0, 3, 0.87654)])
    assert [(e["source"], e["near"]) for e in found.examples] == [
        ("train.jsonl:4", "train.jsonl:1"),
        ("train.jsonl:3", "train.jsonl:2"),
    ]
    assert [e["similarity"] for e in found.examples] == [0.877, 0.877]
    assert found.message == (
        f"2 pairs of near-duplicate train inputs ({RULE}), touching 4 rows (10.0%)"
    )
    assert found.severity == "warning"


@pytest.mark.parametrize(
    ("near", "severity"), [([(0, 1, 0.9)], "info"), ([(0, 1, 0.9), (1, 2, 0.8)], "warning")]
)
def test_near_duplicates_warn_past_five_percent_of_rows(near, severity):
    found = overlap.check_near_duplicates(rows(filler(40)), near)
    assert found.severity == severity  # 2 of 40 rows is 5.0%: info; 3 of 40 warns
    assert found.count == len(near)


def test_one_near_pair_and_none():
    found = overlap.check_near_duplicates(rows(filler(40)), [(0, 1, 0.9)])
    assert found.message == (
        f"1 pair of near-duplicate train inputs ({RULE}), touching 2 rows (5.0%)"
    )
    assert overlap.check_near_duplicates(rows(filler(3)), []).to_json() == {
        "check": "near_duplicates",
        "severity": "info",
        "count": 0,
        "message": f"no near-duplicate inputs in train ({RULE}) found",
        "examples": [],
        "data": {},
    }


# --- conflicting labels ---------------------------------------------------------------------


def test_conflicts_exact_first_then_near_with_templates_set_aside():
    train = rows(MESSY)
    groups, near = near_pairs(train)
    found = overlap.check_conflicts(train, groups, near, label_like=True)
    assert found.to_json() == {
        "check": "conflicting_labels",
        "severity": "warning",
        "count": 4,
        "message": f"4 train pairs with same or near-same ({RULE}) input but different "
        "outputs; 2 near pairs differing only in numbers or names not counted (a template "
        "filled with other values)",
        "examples": [
            {
                "source": "train.jsonl:7",
                "excerpt": "I want to block my card because it was stolen",
                "conflicts_with": "train.jsonl:6",
                "similarity": 1.0,
                "outputs": ["account", "card"],
            },
            {
                "source": "train.jsonl:9",
                "excerpt": "I WANT to block my card because it was stolen",
                "conflicts_with": "train.jsonl:6",
                "similarity": 1.0,
                "outputs": ["fraud", "card"],
            },
            {
                "source": "train.jsonl:5",
                "excerpt": "Where is the parcel I ordered from your shop last weekend?",
                "conflicts_with": "train.jsonl:4",
                "similarity": 0.943,
                "outputs": ["refund", "shipping"],
            },
            {
                "source": "train.jsonl:3",
                "excerpt": "Please cancel the subscriptions on my account today",
                "conflicts_with": "train.jsonl:2",
                "similarity": 0.824,
                "outputs": ["refund", "cancel"],
            },
        ],
        "data": {"exact": 2, "near": 2, "templated": 2},
    }


def test_free_text_conflicts_count_exact_inputs_only():
    answer = "Open Settings, choose Security and tap Change PIN, then confirm it."
    other = "You cannot change the PIN online; visit a branch with your ID card."
    train = rows(
        [
            ("How do I change my PIN?", answer),
            ("How do I change my PIN??", other),  # near only: free text may vary
            ("how do i change my PIN?", other),  # exact: a conflict
        ]
    )
    groups, near = near_pairs(train)
    assert near == [(0, 1, 1.0), (1, 2, 1.0)]
    found = overlap.check_conflicts(train, groups, near, label_like=False)
    assert found.to_json() == {
        "check": "conflicting_labels",
        "severity": "warning",
        "count": 1,
        "message": "1 train pair with the same input but different outputs",
        "examples": [
            {
                "source": "train.jsonl:3",
                "excerpt": "how do i change my PIN?",
                "conflicts_with": "train.jsonl:1",
                "similarity": 1.0,
                "outputs": [
                    "You cannot change the PIN online; visit…",
                    "Open Settings, choose Security and tap …",
                ],
            }
        ],
        "data": {"exact": 1, "near": 0, "templated": 0},
    }


def test_near_conflict_similarity_is_rounded_to_three_places():
    train = rows([("Cancel my order now", "cancel"), ("Cancel my orders now", "refund")])
    found = overlap.check_conflicts(train, [], [(0, 1, 0.87654)], label_like=True)
    assert [(e["source"], e["similarity"]) for e in found.examples] == [("train.jsonl:2", 0.877)]


def test_only_templates_is_no_conflict_but_says_what_was_set_aside():
    train = rows(MESSY)
    found = overlap.check_conflicts(train, [], [(9, 10, 0.83), (11, 12, 0.86)], True)
    assert found.to_json() == {
        "check": "conflicting_labels",
        "severity": "info",
        "count": 0,
        "message": "no conflicting labels found; 2 near pairs differing only in numbers or "
        "names not counted (a template filled with other values)",
        "examples": [],
        "data": {"exact": 0, "near": 0, "templated": 2},
    }
    one = overlap.check_conflicts(train, [], [(9, 10, 0.83), (0, 13, 1.0)], True)
    assert one.message == (
        "no conflicting labels found; 1 near pair differing only in numbers or names not "
        "counted (a template filled with other values)"
    )
    assert one.data == {"exact": 0, "near": 0, "templated": 1}


def test_no_conflicts_at_all():
    train = rows(MESSY[:2])
    assert overlap.check_conflicts(train, [], [], True).to_json() == {
        "check": "conflicting_labels",
        "severity": "info",
        "count": 0,
        "message": "no conflicting labels found",
        "examples": [],
        "data": {"exact": 0, "near": 0, "templated": 0},
    }


# --- which near pairs are a template filled twice -------------------------------------------


@pytest.mark.parametrize(
    ("a", "b", "templated"),
    [
        ("set unit 3 to 7", "set unit 4 to 7", True),
        ("set unit three to 7", "set unit five to 7", True),
        ("my card", "my card PIN", False),  # a word added changes the question
        ("set unit 3 to 7", "set unit 3 to 7", False),  # nothing differs
        ("Send it to Alice today", "Send it to Bruno today", True),
        # a capital at the start of a sentence is no name
        ("Done. Please send 3 boxes", "Done. Kindly send 3 boxes", False),
        ('He said "Hello" to me', 'He said "Goodbye" to me', False),
        (" Alice paid 3 pounds", " Bruno paid 3 pounds", False),  # leading space: still first
        ("(Alice paid 3 pounds)", "(Bruno paid 3 pounds)", True),  # a bracket is no full stop
        ("Is the iPhone X Pro sold out?", "Is the iPhone X Max sold out?", True),
        ("Should I pay now?", "Should Bob pay now?", False),  # "I" is no name
    ],
)
def test_differs_only_in_slots(a, b, templated):
    assert differs_only_in_slots(a, b) is templated


def test_a_long_text_with_one_number_changed_is_a_template():
    # past 200 words difflib's autojunk would set aside words as common as "the" and report
    # the repeated text after the number as changed; every word must count
    text = "please ship the box to the shop " * 40
    assert len(text.split()) > 200
    assert differs_only_in_slots("Order 12 " + text, "Order 13 " + text)


# --- leakage: which test rows a memorising model would get for free -------------------------

LEAK_TRAIN = [
    ("How do I reset the password of my home wifi router to the factory settings?", "account"),
    ("How do I reset the password of my home wifi router to the factory settings!", "account"),
    ("Where is the parcel I ordered from your shop last week?", "shipping"),
    ("Please cancel the subscription on my account today", "cancel"),
    ("Please cancel the subscription on my account today!", "refund"),
    ("Block my card, it was stolen", "card"),
]
LEAK_TEST = [
    ("Where is the parcel I ordered from your shop last week?", "refund"),  # exact, other answer
    # near train lines 1 and 2 alike (their texts differ only in punctuation): line 1 is named
    ("How do I reset the passwords of my home wifi router to the factory settings?", "account"),
    # near line 4 (cancel) and line 5 (refund): seen through line 5, so not contrastive
    ("Please cancel the subscriptions on my account today", "refund"),
    ("Where is the parcel I ordered from your shop last weekend?", "lost"),  # contrastive
    ("block my CARD, it was stolen", "card"),  # exact, same answer
    ("Something else entirely here", "other"),
]


def leak_split() -> tuple[list[Example], list[Example], LeakSplit]:
    train, test = rows(LEAK_TRAIN), rows(LEAK_TEST, "test.jsonl")
    return train, test, overlap.split_test(train, test, NearIndex([ex.input for ex in train]))


def test_split_test_sorts_rows_by_what_memorising_train_gives():
    split = leak_split()[2]
    assert split.exact == {0: (2, 1.0), 4: (5, 1.0)}
    assert {q: (i, round(s, 4)) for q, (i, s) in split.near.items()} == {
        1: (0, 0.8784),
        2: (4, 0.8235),
    }
    assert {q: (i, round(s, 4)) for q, (i, s) in split.contrastive.items()} == {3: (2, 0.9434)}
    assert split.seen == [0, 1, 2, 4]


def test_leakage_blocks_when_most_of_a_small_test_set_is_seen():
    found = overlap.check_leakage(*leak_split())
    assert found.to_json() == {
        "check": "leakage",
        "severity": "blocking",
        "count": 4,
        "message": "2 of 6 test rows are clean; most of the test set repeats training inputs. "
        f"4 test rows repeat a training input (2 exact, 2 near with the same answer: {RULE})",
        "examples": [
            {
                "source": "test.jsonl:1",
                "excerpt": "Where is the parcel I ordered from your shop last week?",
                "in_train": "train.jsonl:3",
                "match": "exact",
                "similarity": 1.0,
            },
            {
                "source": "test.jsonl:5",
                "excerpt": "block my CARD, it was stolen",
                "in_train": "train.jsonl:6",
                "match": "exact",
                "similarity": 1.0,
            },
            {
                "source": "test.jsonl:2",
                "excerpt": "How do I reset the passwords of my home wifi router to the factory "
                "settings?",
                "in_train": "train.jsonl:1",
                "match": "near, same answer",
                "similarity": 0.878,
            },
            {
                "source": "test.jsonl:3",
                "excerpt": "Please cancel the subscriptions on my account today",
                "in_train": "train.jsonl:5",
                "match": "near, same answer",
                "similarity": 0.824,
            },
        ],
        "data": {
            "test": 6,
            "seen": 4,
            "exact": 2,
            "exact_other_answer": 1,
            "near": 2,
            "clean": 2,
            "min_clean": 20,
        },
    }


def test_contrastive_pair_is_named_with_both_answers():
    found = overlap.check_contrastive(*leak_split())
    assert found.to_json() == {
        "check": "contrastive_pairs",
        "severity": "info",
        "count": 1,
        "message": f"1 test row nearly repeats a training input ({RULE}) but expects another "
        "answer: contrastive pairs, scored as clean (recalling the training answer gets them "
        "wrong)",
        "examples": [
            {
                "source": "test.jsonl:4",
                "excerpt": "Where is the parcel I ordered from your shop last weekend?",
                "near": "train.jsonl:3",
                "similarity": 0.943,
                "outputs": ["lost", "shipping"],
            }
        ],
        "data": {"test": 6, "contrastive": 1},
    }


def questions(n: int, file: str) -> list[Example]:
    return rows([(f"Question {k} about topic {k}", f"answer {k}") for k in range(n)], file)


def test_leakage_warns_and_scores_apart_while_enough_clean_rows_remain():
    train, test = questions(10, "train.jsonl"), questions(25, "test.jsonl")
    split = LeakSplit(
        exact={0: (0, 1.0)},
        near={3: (3, 0.85), 7: (7, 0.912345), 5: (5, 0.85)},
    )
    found = overlap.check_leakage(train, test, split)
    assert found.severity == "warning"
    assert found.count == 4
    assert found.message == (
        f"4 test rows repeat a training input (1 exact, 3 near with the same answer: {RULE}); "
        "they are scored apart, the verdict uses the 21 clean rows (of 25)"
    )
    assert [(e["source"], e["match"], e["similarity"]) for e in found.examples] == [
        ("test.jsonl:1", "exact", 1.0),
        ("test.jsonl:8", "near, same answer", 0.912),
        ("test.jsonl:4", "near, same answer", 0.85),
        ("test.jsonl:6", "near, same answer", 0.85),
    ]
    assert found.data == {
        "test": 25,
        "seen": 4,
        "exact": 1,
        "exact_other_answer": 0,
        "near": 3,
        "clean": 21,
        "min_clean": 20,
    }


def test_leakage_blocks_below_twenty_clean_rows_of_a_large_test_set():
    train, test = questions(10, "train.jsonl"), questions(20, "test.jsonl")
    found = overlap.check_leakage(train, test, LeakSplit(exact={2: (2, 1.0)}))
    assert found.severity == "blocking"
    assert found.count == 1
    assert found.message == (
        "19 of 20 test rows are clean; a verdict needs at least 20. 1 test row repeats a "
        f"training input (1 exact, 0 near with the same answer: {RULE})"
    )


def test_no_leakage():
    train, test = questions(3, "train.jsonl"), questions(4, "test.jsonl")
    assert overlap.check_leakage(train, test, LeakSplit()).to_json() == {
        "check": "leakage",
        "severity": "info",
        "count": 0,
        "message": f"no test inputs in train (exact or {RULE}) found",
        "examples": [],
        "data": {
            "test": 4,
            "seen": 0,
            "exact": 0,
            "exact_other_answer": 0,
            "near": 0,
            "clean": 4,
            "min_clean": 20,
        },
    }


def test_contrastive_pairs_ranked_by_similarity_then_test_row():
    train, test = questions(10, "train.jsonl"), questions(10, "test.jsonl")
    # equal similarity: by test row, whichever training row they are near
    split = LeakSplit(contrastive={3: (4, 0.85), 7: (6, 0.912345), 5: (2, 0.85)})
    found = overlap.check_contrastive(train, test, split)
    assert found.message == (
        f"3 test rows nearly repeat a training input ({RULE}) but expect another answer: "
        "contrastive pairs, scored as clean (recalling the training answer gets them wrong)"
    )
    assert [(e["source"], e["near"], e["similarity"]) for e in found.examples] == [
        ("test.jsonl:8", "train.jsonl:7", 0.912),
        ("test.jsonl:4", "train.jsonl:5", 0.85),
        ("test.jsonl:6", "train.jsonl:3", 0.85),
    ]
    assert found.data == {"test": 10, "contrastive": 3}


def test_contrastive_answers_are_cut_at_forty_characters():
    long_a = "Open Settings, choose Security and tap Change PIN, then confirm it."
    long_b = "You cannot change the PIN online; visit a branch with your ID card."
    train = rows([("How do I change my PIN?", long_a)])
    test = rows([("How do I change my PIN now?", long_b)], "test.jsonl")
    found = overlap.check_contrastive(train, test, LeakSplit(contrastive={0: (0, 0.8)}))
    assert found.examples[0]["outputs"] == [
        "You cannot change the PIN online; visit…",
        "Open Settings, choose Security and tap …",
    ]


def test_no_contrastive_pairs():
    train, test = questions(3, "train.jsonl"), questions(4, "test.jsonl")
    assert overlap.check_contrastive(train, test, LeakSplit()).to_json() == {
        "check": "contrastive_pairs",
        "severity": "info",
        "count": 0,
        "message": f"no test inputs near a training input ({RULE}) with another answer found",
        "examples": [],
        "data": {"test": 4, "contrastive": 0},
    }


# --- answers that a lookup of training answers would get right ------------------------------

LOOKUP_ANSWER = "Open Settings, choose Security and tap Change PIN, then confirm it."
LOOKUP_TRAIN = [
    ("How do I change my PIN?", LOOKUP_ANSWER),
    ("How do I reach you?", "Call us."),
    ("And my PIN?", "open settings,  choose security and tap change pin, then confirm it."),
]
LOOKUP_TEST = [
    (
        "Where can I change my PIN?",
        "OPEN SETTINGS, choose Security and tap Change PIN, then confirm it.",
    ),
    ("What are your hours?", "Something new"),
    ("Can I phone you?", "call us."),
    ("Anything else?", "  "),  # an empty answer repeats nothing
]


def test_answers_found_among_training_answers_name_the_first_training_row():
    train, test = rows(LOOKUP_TRAIN), rows(LOOKUP_TEST, "test.jsonl")
    repeated = overlap.answers_in_train(train, test)
    assert repeated == [0, 2]
    found = overlap.check_answer_repetition(train, test[:3], repeated, open_ended=True)
    assert found.to_json() == {
        "check": "answer_repetition",
        "severity": "info",
        "count": 2,
        "message": "2 of 3 test answers (67%) occur verbatim among the training answers; a "
        "method that can only repeat training answers (a lookup) can get at most 67% right",
        "examples": [
            {
                "source": "test.jsonl:1",
                "excerpt": "Where can I change my PIN?",
                "answer": "OPEN SETTINGS, choose Security and tap …",
                "in_train": "train.jsonl:1",
            },
            {
                "source": "test.jsonl:3",
                "excerpt": "Can I phone you?",
                "answer": "call us.",
                "in_train": "train.jsonl:2",
            },
        ],
        "data": {"test": 3, "repeated": 2, "share": 0.6667},
    }


def test_answer_repetition_of_an_empty_test_set_is_zero():
    found = overlap.check_answer_repetition(rows(LOOKUP_TRAIN), [], [], open_ended=True)
    assert found.count == 0
    assert found.data == {"test": 0, "repeated": 0, "share": 0.0}
    assert found.message.startswith("0 of 0 test answers (0%) occur verbatim")


def test_answer_repetition_is_skipped_for_labels():
    train, test = rows(LOOKUP_TRAIN), rows(LOOKUP_TEST, "test.jsonl")
    found = overlap.check_answer_repetition(train, test, [0, 2], open_ended=False)
    assert found.to_json() == {
        "check": "answer_repetition",
        "severity": "info",
        "count": 0,
        "message": "skipped: outputs are labels",
        "examples": [],
        "data": {},
    }


# --- the near-duplicate search --------------------------------------------------------------


def test_jaccard_of_empty_sets():
    assert jaccard(set(), set()) == 1.0  # two empty texts are the same text
    assert jaccard(set(), {"abcde"}) == 0.0
    assert jaccard({"abcde"}, set()) == 0.0
    assert jaccard({"abcde", "bcdef"}, {"bcdef"}) == 0.5


def test_short_texts_are_one_shingle():
    assert shingles("Hi!") == {"hi"}
    assert shingles("Hello") == {"hello"}
    assert shingles("Hello, you") == {"hello", "ello ", "llo y", "lo yo", "o you"}


def test_lsh_passes_on_only_candidates_near_the_threshold():
    # 40 texts that share 42% of their 5-grams with the query: the LSH prunes them all before
    # any exact Jaccard is computed (what keeps a 10,000-row audit to a second)
    texts = [
        f"Please send the monthly invoice for order {k} to the accounts team" for k in range(40)
    ]
    index = NearIndex(texts)
    query = shingles("Please send the invoice for order 555 to the team")
    mh = _minhashes([query])[0]
    assert index.lsh.query(mh) == []
    assert index.matches_for(["Please send the invoice for order 555 to the team"]) == []
