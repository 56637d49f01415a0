"""Grouping complaints by meaning: online clustering of character n-gram vectors.

Complaints are short, informal, misspelled, Chinese or English. Features are character
bigrams of Chinese runs and padded character trigrams of Latin words (a typo spoils only a
few of them; Chinese needs no word segmentation), plus one token per bilingual concept from
``lexicon`` so the two languages meet. Features are hashed into a fixed space and weighted by
sublinear term frequency times an inverse document frequency learned online from the stream
itself, then L2-normalised.

Clustering is leader-follower: a complaint joins the cluster whose centroid is most similar
(cosine) if that similarity reaches the threshold, else it starts a new cluster. One pass,
no look-ahead, deterministic. Clusters nobody joined for a while are forgotten, which bounds
memory and time on an endless stream.
"""

from __future__ import annotations

import math
import re
import unicodedata
import zlib
from collections import Counter
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from anxin.collective.lexicon import CONCEPTS

_HAN_RUN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
_LATIN_WORD = re.compile(r"[a-z]+")
_DIGITS = re.compile(r"\d+")
_CONCEPT_WEIGHT = 2  # a concept counts like two n-grams: it is what the words mean


def normalise(text: str) -> str:
    return _DIGITS.sub("0", unicodedata.normalize("NFKC", text).casefold())


# One alternation of every spelling, longest first, so a text is scanned once.
_SPELLINGS = {
    spelling: concept for concept, spellings in CONCEPTS.items() for spelling in spellings
}
_CONCEPT_PATTERN = re.compile(
    "|".join(re.escape(spelling) for spelling in sorted(_SPELLINGS, key=len, reverse=True))
)


def concepts(text: str) -> list[str]:
    """The bilingual concepts a text mentions, sorted."""
    return sorted({_SPELLINGS[match] for match in _CONCEPT_PATTERN.findall(normalise(text))})


def tokens(text: str, found: list[str] | None = None) -> Counter[str]:
    """The features of a text, before hashing: n-grams and concept tokens with counts.

    ``found`` is the text's concepts, when the caller already has them.
    """
    folded = normalise(text)
    counts: Counter[str] = Counter()
    for run in _HAN_RUN.findall(folded):
        if len(run) == 1:
            counts[run] += 1
        for i in range(len(run) - 1):
            counts[run[i : i + 2]] += 1
    for word in _LATIN_WORD.findall(folded):
        padded = f" {word} "
        for i in range(len(padded) - 2):
            counts[padded[i : i + 3]] += 1
    for concept in concepts(text) if found is None else found:
        counts["§" + concept] += _CONCEPT_WEIGHT
    return counts


def topics(found: list[str]) -> list[str]:
    """Every pair of a text's concepts (``concepts(text)``): "expired+points", ...

    A coarser meaning group than a cluster: "积分清零了" and "my points got wiped" share
    ``expired+points`` whatever their wording, and a third concept in one phrasing does not
    split them. One concept alone is far too broad to be a group.
    """
    ordered = sorted(found)
    return [f"{a}+{b}" for i, a in enumerate(ordered) for b in ordered[i + 1 :]]


@dataclass(frozen=True, slots=True)
class Vector:
    indexes: npt.NDArray[np.int64]
    values: npt.NDArray[np.float32]


class Featuriser:
    """Hashed, IDF-weighted, normalised feature vectors; IDF learned from what it has seen."""

    def __init__(self, dimensions: int) -> None:
        self.dimensions = dimensions
        self._document_frequency = np.zeros(dimensions, dtype=np.float64)
        self._documents = 0

    def vector(self, text: str, found: list[str] | None = None) -> Vector:
        hashed: dict[int, float] = {}
        for token, count in tokens(text, found).items():
            index = zlib.crc32(token.encode()) % self.dimensions
            hashed[index] = hashed.get(index, 0.0) + count
        self._documents += 1
        if not hashed:
            return Vector(np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32))
        indexes = np.fromiter(hashed.keys(), dtype=np.int64, count=len(hashed))
        counts = np.fromiter(hashed.values(), dtype=np.float64, count=len(hashed))
        self._document_frequency[indexes] += 1.0
        idf = np.log((1.0 + self._documents) / (1.0 + self._document_frequency[indexes])) + 1.0
        weights = (1.0 + np.log(counts)) * idf
        weights /= math.sqrt(float(weights @ weights))
        return Vector(indexes, weights.astype(np.float32))


class Clusters:
    """Online leader-follower clusters over vectors; a cluster is the sum of its members."""

    def __init__(self, dimensions: int, similarity: float, capacity: int = 256) -> None:
        self.similarity = similarity
        # Features by clusters, so one complaint's features are a few contiguous rows.
        self._sums = np.zeros((dimensions, capacity), dtype=np.float32)
        self._norms = np.zeros(capacity, dtype=np.float32)  # 0 marks a free slot
        self._sizes = np.zeros(capacity, dtype=np.int64)
        self._last_seen = np.zeros(capacity, dtype=np.float64)
        self._ids = np.full(capacity, -1, dtype=np.int64)
        self._free: list[int] = list(range(capacity - 1, -1, -1))
        self._used = 0  # slots below this index have been used at least once
        self._next_id = 0

    def assign(self, vector: Vector, seconds: float) -> int:
        """The id of the cluster this vector joins (a new one if none is similar enough)."""
        slot, dot = self._nearest(vector)
        if slot is None:
            slot, dot = self._open(), 0.0
        if vector.indexes.size:
            self._sums[vector.indexes, slot] += vector.values
        # |c + v|^2 = |c|^2 + 2 c.v + |v|^2, with c.v already known and |v| = 1 (or 0).
        squared = float(self._norms[slot]) ** 2 + 2.0 * dot + (1.0 if vector.indexes.size else 0.0)
        self._norms[slot] = max(squared, 1e-18) ** 0.5
        self._sizes[slot] += 1
        self._last_seen[slot] = seconds
        return int(self._ids[slot])

    def _nearest(self, vector: Vector) -> tuple[int | None, float]:
        """The most similar live cluster if similar enough, and the raw dot product."""
        if not vector.indexes.size or not self._used:
            return None, 0.0
        block = self._sums[vector.indexes, : self._used]
        scores = vector.values @ block
        norms = self._norms[: self._used]
        live = norms > 0
        similarities = np.where(live, scores / np.where(live, norms, 1.0), -1.0)
        best = int(np.argmax(similarities))
        if similarities[best] < self.similarity:
            return None, 0.0
        return best, float(scores[best])

    def _open(self) -> int:
        if not self._free:
            self._grow()
        slot = self._free.pop()
        self._used = max(self._used, slot + 1)
        self._ids[slot] = self._next_id
        self._next_id += 1
        self._sums[:, slot] = 0.0
        self._norms[slot] = 0.0
        self._sizes[slot] = 0
        return slot

    def _grow(self) -> None:
        old = self._norms.size
        new = old * 2
        sums = np.zeros((self._sums.shape[0], new), dtype=np.float32)
        sums[:, :old] = self._sums
        self._sums = sums
        self._norms = np.concatenate([self._norms, np.zeros(old, dtype=np.float32)])
        self._sizes = np.concatenate([self._sizes, np.zeros(old, dtype=np.int64)])
        self._last_seen = np.concatenate([self._last_seen, np.zeros(old, dtype=np.float64)])
        self._ids = np.concatenate([self._ids, np.full(old, -1, dtype=np.int64)])
        self._free = list(range(new - 1, old - 1, -1))

    def forget_idle(
        self, seconds: float, *, idle: float, single_idle: float, keep: set[int]
    ) -> list[int]:
        """Forget clusters unseen for ``idle`` seconds (one-member ones after ``single_idle``).

        Returns the forgotten ids. Clusters in ``keep`` (under an open alarm) stay.
        """
        forgotten: list[int] = []
        for slot in range(self._used):
            if self._norms[slot] == 0 or int(self._ids[slot]) in keep:
                continue
            quiet = seconds - self._last_seen[slot]
            if quiet > idle or (self._sizes[slot] == 1 and quiet > single_idle):
                forgotten.append(int(self._ids[slot]))
                self._norms[slot] = 0.0
                self._ids[slot] = -1
                self._free.append(slot)
        self._free.sort(reverse=True)
        return forgotten

    @property
    def live(self) -> int:
        return int(np.count_nonzero(self._norms))
