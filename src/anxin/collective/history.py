"""Recent complaints' meaning vectors, to ask "how often did people say this before?".

A meaning cluster is new whenever the clustering starts one, and that says nothing about
whether its wording is new: a cluster forgotten overnight comes back the next morning, and
one topic can split into two clusters. So before a meaning group may alarm, the detector
counts how many complaints of the look-back period were this similar to what the group is
now receiving, and takes that as the group's share of all complaints.

Vectors are kept in chunks of flat arrays (feature indexes, weights, row numbers); a query
is one weighted ``bincount`` per chunk.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from anxin.collective.meaning import Vector

_CHUNK = 1000


@dataclass(frozen=True)
class _Chunk:
    indexes: npt.NDArray[np.int64]
    weights: npt.NDArray[np.float32]
    rows: npt.NDArray[np.int64]
    seconds: npt.NDArray[np.float64]


class History:
    def __init__(self, keep_hours: float) -> None:
        self._keep = keep_hours * 3600
        self._chunks: list[_Chunk] = []
        self._pending: list[tuple[float, Vector]] = []

    def add(self, seconds: float, vector: Vector) -> None:
        self._pending.append((seconds, vector))
        if len(self._pending) >= _CHUNK:
            self._seal()

    def _seal(self) -> None:
        if not self._pending:
            return
        vectors = [v for _, v in self._pending]
        self._chunks.append(
            _Chunk(
                np.concatenate([v.indexes for v in vectors]),
                np.concatenate([v.values for v in vectors]),
                np.repeat(np.arange(len(vectors)), [v.indexes.size for v in vectors]),
                np.array([s for s, _ in self._pending], dtype=np.float64),
            )
        )
        self._pending = []
        newest = float(self._chunks[-1].seconds.max())
        self._chunks = [c for c in self._chunks if float(c.seconds.max()) >= newest - self._keep]

    def count_similar(
        self, centroid: npt.NDArray[np.float32], similarity: float, since: float, until: float
    ) -> tuple[int, int]:
        """(similar, all) complaints that arrived in [since, until); ``centroid`` is unit length."""
        self._seal()
        similar = total = 0
        for chunk in self._chunks:
            window = (chunk.seconds >= since) & (chunk.seconds < until)
            in_window = int(np.count_nonzero(window))
            if not in_window:
                continue
            products = chunk.weights * centroid[chunk.indexes]
            scores = np.bincount(chunk.rows, weights=products, minlength=chunk.seconds.size)
            similar += int(np.count_nonzero(window & (scores >= similarity)))
            total += in_window
        return similar, total

    def span_start(self) -> float | None:
        self._seal()
        return float(self._chunks[0].seconds.min()) if self._chunks else None
