"""Training answers checked against the task's own documents (docs/).

A fine-tune learns its training answers as facts. When the documents say otherwise (prices
changed since the answers were collected, a policy was rewritten), retrieval follows the
documents and a fine-tune follows the stale answers; the user needs to know before trusting
either score. For each training row the top passages for its input are retrieved the way rag
retrieves them (same chunking, BM25 only: no embedding model, so the audit stays fast), then:

- an answer with one number ("$49.00", "2 years", "1") is judged against the value the
  passages give for the question's subject: the document line naming the subject (on the line
  itself, or in its heading or paragraph's first line) that holds a value of the same shape.
  Another value there is a contradiction, reported with the document's file:line and value;
- otherwise the answer (or every number in it) must occur, as whole words, in a top passage;
- longer answers without numbers are prose that lexical matching cannot judge: not checked.
"""

from __future__ import annotations

import bisect
import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from rank_bm25 import BM25Okapi

from ..core.types import Document, Example
from ..retrieval.index import chunk_documents, tokenize
from .findings import MAX_EXAMPLES, Finding, example_ref, excerpt
from .near import normalize

TOP_K = 3  # passages per question: rag's default top_k
CHUNK_CHARS = 600  # rag's default chunk size, so "retrieved" means what rag would see
SHORT_ANSWER_WORDS = 8  # longer answers without a number are prose, not a quotable fact
# Warn when more than 1 in 10 checked answers lacks support. A fine-tune reproduces its
# training answers, so at 10% the unsupported ones are already a visible share of what it
# will get wrong; below that, the check's own misses (an answer worded unlike the document,
# a passage BM25 ranked fourth) are of the same size as what they would flag.
UNSUPPORTED_WARN_SHARE = 0.10
# When fewer than 1 in 5 checked answers occur anywhere in the documents (and none is
# contradicted), the documents are not where the answers come from (a format sheet, a style
# guide): there is nothing to check against, and a warning would be noise.
SOURCE_MIN_SHARE = 0.20
SUBJECT_MIN = 0.8  # IDF-weighted share of the question's words a subject line must name
HEADING_DISCOUNT = 0.9  # a value named on its own line beats one named only by its heading
LINE_TIE_BREAK = 0.05  # among equals, the line that repeats the question's words wins
TIE_MARGIN = 0.02
SECTION_LINES = 8  # lines read on past a chunk's end, to the next heading
MAX_ROWS = 1000  # file:line lists kept in the finding's data

# A number with an optional currency sign or percent and an optional unit word after it;
# not part of a code ("AL-200", "x4", "v1.2.3" stay out).
_VALUE = re.compile(r"(?<![\w.,/-])([$€£¥]?)(\d+(?:[.,]\d+)*)(%?)(?:[ \t]*([A-Za-z]+))?")
_THOUSANDS = re.compile(r"^\d{1,3}(,\d{3})+(\.\d+)?$")


# Currency written as a word after the number ("49 dollars") compares with "$49.00".
CURRENCY_WORDS = {"dollar": "$", "usd": "$", "euro": "€", "eur": "€", "pound": "£", "gbp": "£"}


@dataclass(frozen=True)
class Value:
    raw: str
    canon: str  # sign + number as a plain decimal: "$49" and "$49.00" are equal
    shape: tuple[str, str]  # (currency, percent): only values of one shape compare
    unit: str  # the word after a bare number ("year"), singular and casefolded


def values_in(text: str) -> list[Value]:
    found = []
    for m in _VALUE.finditer(text):
        sign, number, pct, word = m.group(1), m.group(2), m.group(3), m.group(4) or ""
        unit = word.casefold().removesuffix("s")
        worded = bool(unit) and not sign and not pct  # "2 years", "49 dollars"
        if worded and unit in CURRENCY_WORDS:
            sign, unit = CURRENCY_WORDS[unit], ""
        elif not worded:
            unit = ""
        number = number.replace(",", "") if _THOUSANDS.match(number) else number.replace(",", ".")
        try:
            plain = format(Decimal(number).normalize(), "f")
        except InvalidOperation:  # "1.2.3": a version or a date, not a quantity
            continue
        raw = m.group(0).strip() if worded else f"{m.group(1)}{m.group(2)}{pct}"
        found.append(Value(raw, f"{sign}{plain}{pct}", (sign, pct), unit))
    return found


def _comparable(answer: Value, doc: Value) -> bool:
    if answer.shape != doc.shape:
        return False
    return not answer.unit or answer.unit == doc.unit


def _padded(text: str) -> str:
    return f" {normalize(text)} "


@dataclass
class _Line:
    doc: int
    number: int  # 1-based
    text: str
    tokens: frozenset[str]
    values: list[Value]
    context: tuple[int, ...]  # indices of its heading and its paragraph's first line


@dataclass
class Judgement:
    status: str  # supported | unsupported | contradicted | unchecked
    anywhere: bool = False  # the answer occurs somewhere in the documents
    doc: str = ""  # file:line of the contradicting (or best) passage
    doc_value: str = ""


class DocIndex:
    """Document lines with their context, rag's chunks over them, and BM25 over the chunks."""

    def __init__(self, docs: Sequence[Document]):
        from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS  # slow import: lazily

        self.docs = list(docs)
        self.stop_words: frozenset[str] = ENGLISH_STOP_WORDS
        self.lines: list[_Line] = []
        self.chunk_lines: list[list[int]] = []  # document lines each chunk holds
        self.chunk_text: list[str] = []  # each chunk, normalised and padded for word search
        starts = [self._add_doc(d, doc) for d, doc in enumerate(self.docs)]
        chunks = chunk_documents(self.docs, CHUNK_CHARS)
        self._map_chunks(chunks, starts)
        self.bm25 = BM25Okapi([tokenize(c.text) or [""] for c in chunks])
        df = Counter(t for line in self.lines for t in line.tokens)
        n = max(1, len(self.lines))
        self.idf = {t: math.log(1 + n / k) for t, k in df.items()}
        self.all_values = {v.canon for line in self.lines for v in line.values}
        self.all_text = " ".join(_padded(d.text) for d in self.docs)

    def _add_doc(self, d: int, doc: Document) -> int:
        start = len(self.lines)
        heading = para_first = -1
        for number, text in enumerate(doc.text.split("\n"), 1):
            i = len(self.lines)
            if not text.strip():
                para_first = -1
            elif para_first < 0:
                para_first = i
            if text.lstrip().startswith("#"):
                heading = i
            context = tuple(sorted({k for k in (heading, para_first) if 0 <= k != i}))
            tokens = frozenset(tokenize(text))
            self.lines.append(_Line(d, number, text, tokens, values_in(text), context))
        return start

    def _map_chunks(self, chunks: Sequence, starts: list[int]) -> None:
        """Which document lines each chunk holds: chunk_documents keeps no positions, so
        each chunk line is found in its document after the previous one."""
        by_path = {doc.path: d for d, doc in enumerate(self.docs)}
        cursor: dict[int, int] = {}
        offsets = {d: _line_offsets(doc.text) for d, doc in enumerate(self.docs)}
        for chunk in chunks:
            d = by_path[chunk.source]
            text, pos, held = self.docs[d].text, cursor.get(d, 0), []
            for piece in chunk.text.split("\n"):
                at = text.find(piece, pos) if piece.strip() else -1
                if at >= 0:
                    held.append(starts[d] + bisect.bisect_right(offsets[d], at) - 1)
                    pos = at + len(piece)
            cursor[d] = pos
            self.chunk_lines.append(sorted(set(held)))
            self.chunk_text.append(_padded(chunk.text))

    def top_chunks(self, query: str) -> list[int]:
        scores = self.bm25.get_scores(tokenize(query))
        return sorted(range(len(scores)), key=lambda c: -scores[c])[:TOP_K]

    def passage_lines(self, chunks: Sequence[int]) -> list[int]:
        """The chunks' lines, each carried on to the end of its section: the chunker cuts at
        blank lines, so a heading can end one chunk while its values open the next."""
        held: set[int] = set()
        for c in chunks:
            lines = self.chunk_lines[c]
            held.update(lines)
            if not lines:
                continue
            last = self.lines[lines[-1]]
            for i in range(lines[-1] + 1, min(lines[-1] + 1 + SECTION_LINES, len(self.lines))):
                line = self.lines[i]
                if line.doc != last.doc or line.text.lstrip().startswith("#"):
                    break
                held.add(i)
        return sorted(held)

    def ref(self, line: int) -> str:
        item = self.lines[line]
        return f"docs/{self.docs[item.doc].path}:{item.number}"


def _line_offsets(text: str) -> list[int]:
    return [0] + [m.end() for m in re.finditer("\n", text)]


def _weights(index: DocIndex, question: str) -> dict[str, float]:
    """The question's words the documents use at all, weighted by rarity across lines."""
    words = {t for t in tokenize(question) if t not in index.stop_words}
    return {t: index.idf[t] for t in words if t in index.idf}


def _coverage(index: DocIndex, weights: dict[str, float], lines: Sequence[int]) -> float:
    covered: set[str] = set()
    for i in lines:
        covered |= index.lines[i].tokens
    return sum(w for t, w in weights.items() if t in covered) / sum(weights.values())


def subject_values(
    index: DocIndex, question: str, answer: Value, chunks: Sequence[int]
) -> list[tuple[int, Value]]:
    """The values the top passages give for the question's subject, best-named first; empty
    when no line names the subject well enough to tell."""
    weights = _weights(index, question)
    if not weights:
        return []
    scored: list[tuple[float, int, Value]] = []
    for i in index.passage_lines(chunks):
        line = index.lines[i]
        candidates = [v for v in line.values if _comparable(answer, v)]
        if not candidates:
            continue
        own = _coverage(index, weights, [i])
        named = _coverage(index, weights, [i, *line.context])
        if max(own, named) < SUBJECT_MIN:
            continue
        score = max(own, HEADING_DISCOUNT * named) + LINE_TIE_BREAK * own
        scored.extend((score, i, v) for v in candidates)
    if not scored:
        return []
    best = max(s for s, _, _ in scored)
    return [(i, v) for s, i, v in sorted(scored, key=lambda x: -x[0]) if s >= best - TIE_MARGIN]


def judge(index: DocIndex, ex: Example) -> Judgement:
    answer = ex.output.strip()
    values = values_in(answer)
    if not answer or (not values and len(normalize(answer).split()) > SHORT_ANSWER_WORDS):
        return Judgement("unchecked")
    chunks = index.top_chunks(ex.input)
    if not values:
        anywhere = _padded(answer) in index.all_text
        found = any(_padded(answer) in index.chunk_text[c] for c in chunks)
        return Judgement("supported" if found else "unsupported", anywhere, _best(index, chunks))
    anywhere = all(v.canon in index.all_values for v in values)
    if len(values) == 1:
        named = subject_values(index, ex.input, values[0], chunks)
        if any(v.canon == values[0].canon for _, v in named):
            return Judgement("supported", anywhere, index.ref(named[0][0]))
        if named and len({v.canon for _, v in named}) == 1:
            line, value = named[0]
            return Judgement("contradicted", anywhere, index.ref(line), value.raw)
    in_top = {v.canon for i in index.passage_lines(chunks) for v in index.lines[i].values}
    found = all(v.canon in in_top for v in values)
    return Judgement("supported" if found else "unsupported", anywhere, _best(index, chunks))


def _best(index: DocIndex, chunks: Sequence[int]) -> str:
    lines = index.chunk_lines[chunks[0]] if chunks else []
    return index.ref(lines[0]) if lines else ""


def check_docs_support(train: Sequence[Example], docs: Sequence[Document]) -> Finding:
    if not docs:
        return Finding("docs_support", "info", 0, "skipped: the task has no docs/")
    index = DocIndex(docs)
    cache: dict[tuple[str, str], Judgement] = {}
    judged = [(ex, cache.setdefault((ex.input, ex.output), judge(index, ex))) for ex in train]
    checked = [(ex, j) for ex, j in judged if j.status != "unchecked"]
    bad = [(ex, j) for ex, j in checked if j.status != "supported"]
    contradicted = [(ex, j) for ex, j in bad if j.status == "contradicted"]
    share = len(bad) / len(checked) if checked else 0.0
    data = {
        "answers": len(train),
        "checked": len(checked),
        "unsupported": len(bad),
        "contradicted": len(contradicted),
        "share": round(share, 4),
        "top_k": TOP_K,
        "warn_share": UNSUPPORTED_WARN_SHARE,
        "unsupported_rows": [ex.source for ex, _ in bad][:MAX_ROWS],
        "contradicted_rows": [ex.source for ex, _ in contradicted][:MAX_ROWS],
    }
    if not checked:
        msg = "skipped: no training answer is a number or a short phrase to look up"
        return Finding("docs_support", "info", 0, msg, data=data)
    anywhere = sum(j.anywhere for _, j in checked) / len(checked)
    if anywhere < SOURCE_MIN_SHARE and not contradicted:
        msg = (
            f"skipped: only {anywhere:.0%} of {len(checked)} checkable training answers occur "
            "anywhere in docs/, so the documents are not where the answers come from"
        )
        return Finding("docs_support", "info", 0, msg, data={**data, "skipped": True})
    return _support_finding(bad, len(checked), share, data)


def _support_finding(
    bad: list[tuple[Example, Judgement]], checked: int, share: float, data: dict
) -> Finding:
    contradicted = data["contradicted"]
    missing = len(bad) - contradicted
    msg = (
        f"the documents do not support {len(bad)} of {checked} checked training answers "
        f"({share:.0%}): {contradicted} contradicted (a passage gives the same subject "
        f"another value), {missing} found in none of the top-{TOP_K} passages"
    )
    severity = "warning" if share > UNSUPPORTED_WARN_SHARE else "info"
    if severity == "warning":
        msg += (
            " — stale answers or incomplete documents: a fine-tune would learn them as they "
            "are, retrieval follows the documents"
        )
    ranked = sorted(bad, key=lambda item: (item[1].status != "contradicted", _line(item[0])))
    refs = [_ref(ex, j) for ex, j in ranked[:MAX_EXAMPLES]]
    return Finding("docs_support", severity, len(bad), msg, refs, data)


def _ref(ex: Example, j: Judgement) -> dict:
    if j.status == "contradicted":
        return example_ref(ex, answer=excerpt(ex.output, 40), doc=j.doc, doc_value=j.doc_value)
    return example_ref(ex, answer=excerpt(ex.output, 40), retrieved=j.doc)


def _line(ex: Example) -> int:
    tail = ex.source.rsplit(":", 1)[-1]
    return int(tail) if tail.isdigit() else 0
