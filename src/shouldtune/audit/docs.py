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

import numpy as np
from rank_bm25 import BM25Okapi
from scipy import sparse

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
# IDF-weighted share of the question's telling words (see _weights) that the line holding a
# value must name, on itself or in its heading, for that value to be the subject's. High on
# purpose: a neighbour named in part ("Aurora desk lamp" for "Aurora desk chair") is no claim.
SUBJECT_MIN = 0.8
HEADING_DISCOUNT = 0.9  # a value named on its own line beats one named only by its heading
LINE_TIE_BREAK = 0.05  # among equals, the line that repeats the question's words wins
TIE_MARGIN = 0.02
SCORE_CELLS = 4_000_000  # queries x chunks scored at once: 32 MB of float64
SECTION_LINES = 8  # lines read on past a chunk's end, to the next heading
MAX_ROWS = 1000  # file:line lists kept in the finding's data

# Words that name no subject. A short list of our own: sklearn's would cost its import
# (seconds on a busy machine) in audits that otherwise never load it.
_STOP = (
    "a an the and or but of to in on at for with from by as is are was were be been do does "
    "did how much many what which who whom whose when where why this that these those it its "
    "i me my we our you your he she they them their there here can could would should will "
    "please tell know about any some one"
)
STOP_WORDS = frozenset(_STOP.split(" "))

# A number with an optional currency sign or percent and an optional unit word after it;
# not part of a code ("AL-200", "x4", "v1.2.3" stay out).
_VALUE = re.compile(r"(?<![\w.,/-])([$€£¥]?)(\d+(?:[.,]\d+)*)(%?)(?:[ \t]*([A-Za-z]+))?")
_WORD = re.compile(r"\w+")  # as retrieval.index.tokenize, before lower-casing
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
    """The quantities a text states, in order."""
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
        self.docs = list(docs)
        self.lines: list[_Line] = []
        self.chunk_lines: list[list[int]] = []  # document lines each chunk holds
        self.chunk_text: list[str] = []  # each chunk, normalised and padded for word search
        self._passages: dict[int, list[int]] = {}
        starts = [self._add_doc(d, doc) for d, doc in enumerate(self.docs)]
        chunks = chunk_documents(self.docs, CHUNK_CHARS)
        self._map_chunks(chunks, starts)
        self.bm25 = BM25Okapi([tokenize(c.text) or [""] for c in chunks])
        self.vocab, self.term_scores = _bm25_matrix(self.bm25)
        df = Counter(t for line in self.lines for t in line.tokens)
        n = max(1, len(self.lines))
        self.idf = {t: math.log(1 + n / k) for t, k in df.items()}
        self.all_values = {v.canon for line in self.lines for v in line.values}
        # each line's words with its heading's and its paragraph's first line's: its name
        self.named = [
            line.tokens.union(*(self.lines[k].tokens for k in line.context)) for line in self.lines
        ]
        self.named_by: dict[str, set[int]] = {}  # word -> lines named by it
        for i, words in enumerate(self.named):
            for t in words:
                self.named_by.setdefault(t, set()).add(i)
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

    def scores(self, queries: Sequence[str]) -> np.ndarray:
        """BM25Okapi.get_scores(tokenize(q)) for each query, one row each, as one sparse
        product: get_scores loops over every chunk in Python for every query word."""
        rows, cols = [], []
        for r, query in enumerate(queries):
            words = [self.vocab[t] for t in tokenize(query) if t in self.vocab]
            rows += [r] * len(words)
            cols += words
        counts = sparse.csr_matrix(
            (np.ones(len(rows)), (rows, cols)), shape=(len(queries), len(self.vocab))
        )  # repeated words add up, as in get_scores
        return (counts @ self.term_scores).toarray()

    def top_chunks(self, queries: Sequence[str]) -> list[list[int]]:
        """The TOP_K best chunks per query, in batches that keep the dense scores small."""
        batch = max(1, SCORE_CELLS // max(1, len(self.chunk_lines)))
        top: list[list[int]] = []
        for start in range(0, len(queries), batch):
            scores = self.scores(queries[start : start + batch])
            top += np.argsort(-scores, axis=1, kind="stable")[:, :TOP_K].tolist()
        return top

    def passage_lines(self, chunks: Sequence[int]) -> list[int]:
        """The chunks' lines, each carried on to the end of its section: the chunker cuts at
        blank lines, so a heading can end one chunk while its values open the next."""
        return sorted({i for c in chunks for i in self._passage(c)})

    def valued_lines(self, chunks: Sequence[int]) -> list[int]:
        """passage_lines that hold a value: the only ones a number can be read from."""
        return sorted({i for c in chunks for i in self._passage(c) if self.lines[i].values})

    def _passage(self, c: int) -> list[int]:
        if c not in self._passages:
            lines = self.chunk_lines[c]
            held = list(lines)
            end = lines[-1] + 1 if lines else len(self.lines)
            for i in range(end, min(end + SECTION_LINES, len(self.lines))):
                line = self.lines[i]
                if line.doc != self.lines[lines[-1]].doc or line.text.lstrip().startswith("#"):
                    break
                held.append(i)
            self._passages[c] = held
        return self._passages[c]

    def ref(self, line: int) -> str:
        item = self.lines[line]
        return f"docs/{self.docs[item.doc].path}:{item.number}"


def _bm25_matrix(bm25: BM25Okapi) -> tuple[dict[str, int], sparse.csr_matrix]:
    """Each (word, chunk) term of BM25Okapi.get_scores, computed once from its own state."""
    vocab = {t: i for i, t in enumerate(bm25.idf)}
    rows, cols, vals = [], [], []
    for c, freqs in enumerate(bm25.doc_freqs):
        norm = bm25.k1 * (1 - bm25.b + bm25.b * bm25.doc_len[c] / bm25.avgdl)
        for t, f in freqs.items():
            rows.append(vocab[t])
            cols.append(c)
            vals.append(bm25.idf[t] * f * (bm25.k1 + 1) / (f + norm))
    shape = (len(vocab), len(bm25.doc_freqs))
    return vocab, sparse.csr_matrix((vals, (rows, cols)), shape=shape)


def _line_offsets(text: str) -> list[int]:
    return [0] + [m.end() for m in re.finditer("\n", text)]


def _weights(index: DocIndex, question: str, passage: Sequence[int]) -> dict[str, float]:
    """The question's words that can tell its subject, weighted by rarity across lines.

    Words the retrieved passages do not use ("buy", "set me back") cannot tell one passage
    line from another and are left out; names ("Zephyr", "X200") are kept even then, since a
    name missing from the passages means its subject is missing too, not a neighbour's value.
    """
    in_passage = set().union(*(index.named[i] for i in passage))
    rarest = max(index.idf.values(), default=1.0)
    weights = {}
    for word, name in _question_words(question):
        if word in STOP_WORDS:
            continue
        if word in in_passage:
            weights[word] = index.idf[word]
        elif name:
            weights[word] = index.idf.get(word, rarest)
    return weights


def _question_words(text: str) -> list[tuple[str, bool]]:
    """(word, looks like a name): capitalised mid-sentence, or letters and digits mixed."""
    words = []
    for m in _WORD.finditer(text):
        word = m.group()
        mid_sentence = _char_before(text, m.start()) not in ".!?:\"'“"
        capital = word[0].isupper() and mid_sentence and word != "I"
        code = any(c.isdigit() for c in word) and any(c.isalpha() for c in word)
        words.append((word.lower(), capital or code))
    return words


def subject_values(
    index: DocIndex, question: str, answer: Value, chunks: Sequence[int]
) -> list[tuple[int, Value]]:
    """The values the top passages give for the question's subject, best-named first; empty
    when no line names the subject well enough to tell."""
    weights = _weights(index, question, index.passage_lines(chunks))
    if not weights:
        return []
    total, asked = sum(weights.values()), weights.keys()
    scored: list[tuple[float, int, Value]] = []
    for i in _could_name(index, weights, index.valued_lines(chunks)):
        line = index.lines[i]
        candidates = [v for v in line.values if _comparable(answer, v)]
        if not candidates:
            continue
        own = sum(weights[t] for t in line.tokens & asked) / total
        named = sum(weights[t] for t in index.named[i] & asked) / total
        if max(own, named) < SUBJECT_MIN:
            continue
        score = max(own, HEADING_DISCOUNT * named) + LINE_TIE_BREAK * own
        scored.extend((score, i, v) for v in candidates)
    if not scored:
        return []
    best = max(s for s, _, _ in scored)
    return [(i, v) for s, i, v in sorted(scored, key=lambda x: -x[0]) if s >= best - TIE_MARGIN]


def _could_name(index: DocIndex, weights: dict[str, float], lines: list[int]) -> list[int]:
    """The lines that can reach SUBJECT_MIN: any word weighing more than the shortfall it
    allows must be among the words the line is named by. Exact, and it skips most lines."""
    total = sum(weights.values())
    must = [t for t, w in weights.items() if w / total > 1 - SUBJECT_MIN]
    keep = set(lines)
    for t in must:
        keep &= index.named_by.get(t, set())
    return sorted(keep)


def checkable(answer: str) -> bool:
    """A number, or a phrase short enough to be quoted: prose is left alone."""
    answer = answer.strip()
    return bool(answer) and (
        bool(values_in(answer)) or len(normalize(answer).split()) <= SHORT_ANSWER_WORDS
    )


def judge(index: DocIndex, ex: Example, chunks: Sequence[int]) -> Judgement:
    """How the top passages (`chunks`, for ex.input) bear on ex's answer."""
    answer = ex.output.strip()
    values = values_in(answer)
    if not checkable(answer):
        return Judgement("unchecked")
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
    if not any(doc.text.strip() for doc in docs):
        return Finding("docs_support", "info", 0, "skipped: the task has no docs/")
    index = DocIndex(docs)
    asked = sorted({ex.input for ex in train if checkable(ex.output)})
    top = dict(zip(asked, index.top_chunks(asked), strict=True))
    cache: dict[tuple[str, str], Judgement] = {}
    judged = []
    for ex in train:
        key = (ex.input, ex.output)
        if key not in cache:
            cache[key] = judge(index, ex, top.get(ex.input, []))
        judged.append((ex, cache[key]))
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
        "skipped": False,
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
        skipped = {**data, "skipped": True, "unsupported_rows": [], "contradicted_rows": []}
        return Finding("docs_support", "info", 0, msg, data=skipped)
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


def _char_before(text: str, pos: int) -> str:
    """The last non-space character before pos; "." at the start, where a sentence starts."""
    i = pos - 1
    while i >= 0 and text[i].isspace():
        i -= 1
    return text[i] if i >= 0 else "."
