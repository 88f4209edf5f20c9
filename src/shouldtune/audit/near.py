"""Near-duplicate text search: MinHash/LSH candidates, confirmed by exact Jaccard.

Method choice, measured by benchmarks/audit_dedup.py on banking77 train (10,003 rows, 2 cores):
- MinHash/LSH over character 5-grams, Jaccard >= 0.8: 1.2 s, 189 pairs, 30/30 sampled
  pairs are edits of one another (a typo, a word added, "£1" vs "€1").
- MiniLM cosine >= 0.95: 24 s to embed on an idle machine (~105 s while the cores were
  shared), 3,334 pairs, only 14/30 near-copies: the rest are paraphrases of one intent,
  which is what a classifier should learn from. At >= 0.98: 544 pairs, 25/30, and it still
  misses 101 of MinHash's edit-copies (e.g. "I found my old card." / "I found my card!").
A data audit is after copies, and the whole audit must fit in 60 s, so: MinHash.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence

from datasketch import MinHash, MinHashLSH

SHINGLE = 5  # characters; word shingles are too coarse for one-line queries
NUM_PERM = 128
THRESHOLD = 0.8  # Jaccard over shingles: "the same text with small edits"

_NON_WORD = re.compile(r"[^\w]+")


def normalize(text: str) -> str:
    """Case, accents-as-composed, punctuation and spacing do not make texts different."""
    text = unicodedata.normalize("NFKC", text).casefold()
    return _NON_WORD.sub(" ", text).strip()


def exact_key(text: str) -> str:
    """Texts with the same key are "exact" duplicates: equal up to case and spacing."""
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


def shingles(text: str, k: int = SHINGLE) -> set[str]:
    norm = normalize(text)
    if len(norm) <= k:
        return {norm}
    return {norm[i : i + k] for i in range(len(norm) - k + 1)}


def jaccard(a: set[str], b: set[str]) -> float:
    if not a and not b:
        return 1.0
    return len(a & b) / len(a | b)


def _minhashes(sets: Sequence[set[str]]) -> list[MinHash]:
    encoded: Iterable[list[bytes]] = ([s.encode("utf-8") for s in sorted(x)] for x in sets)
    return MinHash.bulk(encoded, num_perm=NUM_PERM)


class NearIndex:
    """An LSH index over a list of texts; pairs are confirmed with the exact Jaccard."""

    def __init__(self, texts: Sequence[str], threshold: float = THRESHOLD):
        self.threshold = threshold
        self.sets = [shingles(t) for t in texts]
        self.hashes = _minhashes(self.sets)
        # Ask LSH for a little less than the threshold so borderline pairs stay candidates.
        self.lsh = MinHashLSH(threshold=max(0.1, threshold - 0.1), num_perm=NUM_PERM)
        with self.lsh.insertion_session() as session:
            for i, mh in enumerate(self.hashes):
                session.insert(i, mh, check_duplication=False)

    def query(self, text_set: set[str], mh: MinHash) -> list[tuple[int, float]]:
        hits = []
        for j in self.lsh.query(mh):
            score = jaccard(text_set, self.sets[j])
            if score >= self.threshold:
                hits.append((j, score))
        return sorted(hits)

    def pairs_within(self) -> list[tuple[int, int, float]]:
        """All (i, j, jaccard) with i < j among the indexed texts."""
        found = []
        for i, mh in enumerate(self.hashes):
            for j, score in self.query(self.sets[i], mh):
                if j > i:
                    found.append((i, j, score))
        return found

    def matches_for(self, texts: Sequence[str]) -> list[tuple[int, int, float]]:
        """(query index, indexed index, jaccard) for each query text's near matches."""
        sets = [shingles(t) for t in texts]
        found = []
        for q, mh in enumerate(_minhashes(sets)):
            found.extend((q, j, score) for j, score in self.query(sets[q], mh))
        return found
