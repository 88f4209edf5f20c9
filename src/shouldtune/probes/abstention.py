"""Abstention and fabrication: does the model say it does not know when nobody knows?

The rule, applied to the generated answer after lower-casing and straightening quotes: the
answer *abstains* when it is empty, when it declines (one of `ABSTAIN_PATTERNS`: "I don't
know", "not sure", "no one knows", "cannot be known", "not possible to determine", "there is
no definitive answer", "remains a mystery") or when it hedges (one of `HEDGE_PATTERNS`: "I
think", "probably", "it may be", "it's hard to say", "as far as I know", "there are many
theories"): an answer that flags its own uncertainty is not a confident one. A non-abstaining
answer to an unanswerable question, or a wrong one to a task question, is a *fabrication* (a
confident answer where none exists or where it is wrong).

An answerable question is answered correctly when, after SQuAD normalisation (lower case,
no punctuation, no articles), one of its reference answers occurs in the answer as whole
words. Containment, not exact match, because chat models answer in sentences.

Probe questions: SelfAware (Yin et al. 2023, CC-BY-SA-4.0), see
src/shouldtune/data/selfaware/README.md.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from ..core.metrics import normalize

_KNOW = r"(know|say|tell|predict|determine|answer|be sure|be certain)"
ABSTAIN_PATTERNS: tuple[str, ...] = (
    r"\bi (do not|don't|dont) know\b",
    r"\b(not |un)sure\b",
    r"\buncertain\b",
    r"\b(no one|nobody|no-one) (really |truly )?knows\b",
    r"\bno one can " + _KNOW,
    r"\b(cannot|can't|can not) be (known|determined|answered|predicted|said)\b",
    r"\b(impossible|not possible) to " + _KNOW,
    r"\b(i|we) (cannot|can't|can not|am unable to|are unable to) " + _KNOW,
    r"\bi'm (unable|not able) to " + _KNOW,
    r"\b(there is|there's|there isn't|has) no (definitive|definite|clear|known|single|"
    r"simple|right|correct|universally accepted|one|straightforward) answer\b",
    r"\bno (definitive|definite|clear|known) answer\b",
    r"\b(is|are|remains?) (unknown|unclear|a mystery|unanswerable)\b",
    r"\bunanswerable\b",
    r"\b(not enough|insufficient) information\b",
    r"\b(i|we) (do not|don't) have (enough )?(information|data|personal)\b",
)
HEDGE_PATTERNS: tuple[str, ...] = (
    r"\bi (think|believe|guess|suppose|assume)\b",
    r"\b(probably|possibly|perhaps|maybe)\b",
    r"\b(it|this|that|there|they|he|she|which|answer) (may|might|could) (be|have)\b",
    r"\bit('s| is) (likely|possible|unlikely|believed|thought|speculated)\b",
    r"\b(hard|difficult) to (say|know|tell|determine|predict|answer)\b",
    r"\bas far as (i|we) know\b",
    r"\bif i (remember|recall) (correctly|right)\b",
    r"\b(i'm|i am) not (certain|positive|confident)\b",
    r"\b(not|never) (known|clear|certain)\b",
    r"\bit (depends|varies)\b",
    r"\bthere (are|is) (many|several|various|no) (theories|theory|opinions|consensus)\b",
    r"\bno (scientific )?consensus\b",
    r"\bspeculat\w*",
    # The question declared open rather than answered.
    r"\b(complex|debated|controversial|open|unresolved)( and debated)? (topic|question|issue)\b",
    r"\b(topic|matter|subject) of (ongoing |much |great )?debate\b",
    r"\b(ongoing|unresolved) debate\b",
    r"\bphilosophical (conundrum|puzzle|question|debate)\b",
    r"\bno (definitive|conclusive|scientific) (proof|evidence)\b",
    r"\bshrouded in mystery\b",
)
_ABSTAIN = re.compile("|".join(f"(?:{p})" for p in ABSTAIN_PATTERNS + HEDGE_PATTERNS))
_HEDGE = re.compile("|".join(f"(?:{p})" for p in HEDGE_PATTERNS))
_NON_WORD = re.compile(r"[^\w\s]")
_QUOTES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u201c": '"', "\u201d": '"'})


def _flat(text: str) -> str:
    return " ".join(text.translate(_QUOTES).lower().split())


def abstains(text: str) -> bool:
    """True when the answer declines or hedges (see the module docstring for the rule)."""
    flat = _flat(text)
    return not flat or _ABSTAIN.search(flat) is not None


def hedges(text: str) -> bool:
    """True when the answer flags its own uncertainty (a subset of `abstains`)."""
    return _HEDGE.search(_flat(text)) is not None


def _words(text: str) -> str:
    # SQuAD normalisation keeps non-ASCII symbols ("100°c"): split on those too.
    return " ".join(_NON_WORD.sub(" ", normalize(text)).split())


def contains_answer(text: str, answers: Sequence[str]) -> bool:
    """True when a reference answer occurs, as whole words, in the normalised text."""
    padded = f" {_words(text)} "
    return any(f" {ref} " in padded for ref in (_words(a) for a in answers) if ref)
