"""A collective complaint: what the detector raises, and what it keeps adding to it."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
import numpy.typing as npt

from anxin.collective.facts import FactKey, describe
from anxin.collective.meaning import Vector

GroupKey = FactKey  # ("meaning", "<cluster id>") for meaning clusters


def dense(vectors: list[Vector], dimensions: int) -> npt.NDArray[np.float32]:
    """The sum of sparse vectors as one dense vector."""
    total = np.zeros(dimensions, dtype=np.float32)
    for vector in vectors:
        np.add.at(total, vector.indexes, vector.values)
    return total


def unit(vector: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    norm = float(np.sqrt(vector @ vector))
    return vector / norm if norm > 0 else vector


@dataclass
class CollectiveComplaint:
    """A burst of complaints from many holders about the same thing."""

    number: int
    detected_at: datetime
    keys: list[GroupKey]
    centroid: npt.NDArray[np.float32]  # sum of the members' meaning vectors
    member_indexes: list[int] = field(default_factory=list)
    member_set: set[int] = field(default_factory=set)
    member_ids: list[str] = field(default_factory=list)
    holders: set[str] = field(default_factory=set)
    categories: Counter[str] = field(default_factory=Counter)
    first_text: str = ""
    open: bool = True

    def similarity(self, vector: Vector) -> float:
        """Cosine similarity of a complaint to what this collective complaint is about."""
        norm = float(np.sqrt(self.centroid @ self.centroid))
        if norm == 0 or not vector.indexes.size:
            return 0.0
        return float(self.centroid[vector.indexes] @ vector.values) / norm

    def add(self, index: int, id_: str, holder: str, category: str | None, vector: Vector) -> None:
        if index in self.member_set:
            return
        self.member_set.add(index)
        self.member_indexes.append(index)
        self.member_ids.append(id_)
        self.holders.add(holder)
        if category:
            self.categories[category] += 1
        np.add.at(self.centroid, vector.indexes, vector.values)

    @property
    def category(self) -> str:
        if not self.categories:
            return "other"
        return min(self.categories.items(), key=lambda item: (-item[1], item[0]))[0]

    @property
    def title(self) -> str:
        key = self.keys[0]
        if key[0] == "meaning":
            text = " ".join(self.first_text.split())
            subject = f"“{text[:60]}{'…' if len(text) > 60 else ''}”"
        else:
            subject = describe(key)
        holders = len(self.holders)
        return f"{len(self.member_ids)} complaints from {holders} holders: {subject}"
