"""Checks on single examples: empty or truncated outputs, length outliers, context length."""

from __future__ import annotations

import math
import statistics
from collections import Counter
from collections.abc import Callable, Sequence

from ..core.types import Example
from .findings import (
    MAX_EXAMPLES,
    Finding,
    example_ref,
    excerpt,
    none_found,
    plural,
    tail_excerpt,
)
from .pii import find_pii

TokenCounter = Callable[[str], int]

CLEAN_ENDINGS = tuple(".!?…。！？\"'”’)]}>`*:;|")
_DANGLING = (
    "a an the and or but of to in on at for with from by as is are was were be because "
    "that which who whose if than then so my your our their his her its this these"
)
DANGLING_WORDS = frozenset(_DANGLING.split(" "))
TRUNCATION_MIN_WORDS = 4  # shorter outputs are answers or labels, not sentences
PUNCTUATED_SHARE = 0.6  # below this the set does not use sentence punctuation at all
OUTLIER_Z = 5.0  # robust z-score on log length: only the extreme tail
OUTLIER_RATIO = 4.0  # and this many times off the median, so uniform sets stay quiet
OUTLIER_MIN_ROWS = 20
TEMPLATE_TOKENS_PER_MESSAGE = 8  # chat-template markers around each message (estimate)


def check_empty(rows: Sequence[Example], field: str) -> Finding:
    empty = [ex for ex in rows if not getattr(ex, field).strip()]
    check = f"empty_{field}s"
    if not empty:
        return none_found(check, f"empty or whitespace-only {field}s")
    msg = f"{plural(len(empty), 'example')} with an empty or whitespace-only {field}"
    refs = [example_ref(ex) for ex in empty]
    return Finding(check, "warning", len(empty), msg, refs[:MAX_EXAMPLES])


def _ends_cleanly(text: str) -> bool:
    stripped = text.rstrip()
    return not stripped or stripped.endswith(CLEAN_ENDINGS) or stripped[-1].isdigit()


def _dangling(text: str) -> bool:
    stripped = text.rstrip()
    if stripped.endswith((",", "-", "–", "(")):
        return True
    words = stripped.split()
    return bool(words) and words[-1].casefold() in DANGLING_WORDS


def check_truncated(rows: Sequence[Example], label_like: bool) -> Finding:
    """Outputs that stop mid-sentence, judged against how the set itself ends sentences."""
    if label_like:
        return Finding("truncated_outputs", "info", 0, "skipped: outputs are labels")
    long = [ex for ex in rows if len(ex.output.split()) >= TRUNCATION_MIN_WORDS]
    if not long:
        return none_found("truncated_outputs", "outputs cut off mid-sentence")
    punctuated = sum(_ends_cleanly(ex.output) for ex in long) / len(long) >= PUNCTUATED_SHARE
    cut = [
        ex for ex in long if _dangling(ex.output) or (punctuated and not _ends_cleanly(ex.output))
    ]
    if not cut:
        return none_found("truncated_outputs", "outputs cut off mid-sentence")
    msg = f"{plural(len(cut), 'output')} that look cut off mid-sentence"
    refs = [{"source": ex.source, "excerpt": tail_excerpt(ex.output)} for ex in cut]
    return Finding("truncated_outputs", "warning", len(cut), msg, refs[:MAX_EXAMPLES])


def _outliers(rows: Sequence[Example], field: str) -> list[tuple[Example, int, float]]:
    lengths = [len(getattr(ex, field)) for ex in rows]
    logs = [math.log1p(n) for n in lengths]
    median = statistics.median(logs)
    mad = statistics.median(abs(x - median) for x in logs)
    if mad == 0:
        return []
    far = math.log(OUTLIER_RATIO)
    found = []
    for ex, n, x in zip(rows, lengths, logs, strict=True):
        z = 0.6745 * (x - median) / mad
        if abs(z) > OUTLIER_Z and abs(x - median) >= far:
            found.append((ex, n, z))
    return found


def check_length_outliers(rows: Sequence[Example], label_like: bool) -> Finding:
    """Extremely long or short texts: pasted documents, stubs, broken rows."""
    if len(rows) < OUTLIER_MIN_ROWS:
        return Finding("length_outliers", "info", 0, "skipped: too few examples")
    fields = ["input"] if label_like else ["input", "output"]
    found = [(ex, f, n, z) for f in fields for ex, n, z in _outliers(rows, f)]
    if not found:
        return none_found("length_outliers", "extreme length outliers")
    medians = {f: statistics.median(len(getattr(ex, f)) for ex in rows) for f in fields}
    found.sort(key=lambda item: -abs(item[3]))
    refs = [
        {
            "source": ex.source,
            "excerpt": excerpt(getattr(ex, f), 60),
            "field": f,
            "chars": n,
            "median_chars": medians[f],
        }
        for ex, f, n, _ in found
    ]
    msg = (
        f"{plural(len(found), 'text')} far longer or shorter than the rest "
        f"({OUTLIER_RATIO:g}×+ off the median, robust z > {OUTLIER_Z:g})"
    )
    # info, not warning: long or short texts are worth a look but are often legitimate.
    return Finding("length_outliers", "info", len(found), msg, refs[:MAX_EXAMPLES])


def prompt_tokens(ex: Example, instruction: str, count: TokenCounter) -> int:
    """Tokens for system + user + assistant messages, as a chat template would lay them out."""
    system = ex.system or instruction
    texts = [t for t in (system, ex.input, ex.output) if t]
    return sum(count(t) for t in texts) + TEMPLATE_TOKENS_PER_MESSAGE * len(texts)


def estimate_tokens(text: str) -> int:
    return math.ceil(len(text) / 4)


def check_context(
    rows: Sequence[Example],
    instruction: str,
    count_tokens: TokenCounter | None,
    context_length: int | None,
) -> Finding:
    """Examples that do not fit the model's context get truncated or fail in training."""
    count = count_tokens or estimate_tokens
    how = "tokenizer" if count_tokens else "estimated as characters / 4"
    sizes = [(ex, prompt_tokens(ex, instruction, count)) for ex in rows]
    longest = max(sizes, key=lambda item: item[1])
    if context_length is None:
        msg = f"no context length given; the longest example is ~{longest[1]} tokens ({how})"
        return Finding(
            "context_length", "info", 0, msg, [example_ref(longest[0], tokens=longest[1])]
        )
    over = sorted((item for item in sizes if item[1] > context_length), key=lambda i: -i[1])
    if not over:
        msg = f"all examples fit the {context_length}-token context (longest {longest[1]}; {how})"
        return Finding("context_length", "info", 0, msg)
    msg = (
        f"{plural(len(over), 'example')} longer than the {context_length}-token context "
        f"after the prompt template (tokens {how})"
    )
    refs = [example_ref(ex, tokens=n) for ex, n in over]
    return Finding("context_length", "warning", len(over), msg, refs[:MAX_EXAMPLES])


def check_pii(rows: Sequence[Example]) -> Finding:
    """Personal data should not be trained into weights; values are only ever shown masked."""
    hits = []
    kinds: Counter[str] = Counter()
    for ex in rows:
        for field in ("input", "output"):
            found = find_pii(getattr(ex, field))
            if found:
                names = sorted({m.kind for m in found})
                kinds.update(names)
                hits.append(
                    {
                        "source": ex.source,
                        "field": field,
                        "kinds": names,
                        "excerpt": excerpt(getattr(ex, field)),
                    }
                )
    if not hits:
        return none_found("personal_data", "e-mail addresses, phone numbers, cards or IBANs")
    what = ", ".join(f"{kind} {n}" for kind, n in sorted(kinds.items()))
    msg = f"personal data in {plural(len(hits), 'field')} ({what}); shown masked"
    return Finding("personal_data", "warning", len(hits), msg, hits[:MAX_EXAMPLES])
