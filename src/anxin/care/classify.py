"""Which wallet-complaint category a complaint belongs to, and which language it is in.

Complaints are short, informal, misspelled, Chinese, English or both. The model
(``classify_model``) is TF-IDF over character n-grams within words (Chinese needs no
segmenter, a typo only spoils a few n-grams) and word n-grams, feeding a linear SVM whose
scores become probabilities through a fitted softmax temperature. It is trained from the
corpus shipped in ``anxin/care/data/complaints.jsonl``. Its accuracy on a held-out split
is printed by ``anxin care eval`` and recorded in docs/care-classifier.md. Agents can
correct the category; the prediction is a suggestion, and ``confidence`` only ranks and
colours it.
"""

from __future__ import annotations

import re
import threading
import unicodedata
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from anxin.care.classify_corpus import (
    CATEGORIES,
    CorpusError,
    LabelledComplaint,
    load_shipped_corpus,
)
from anxin.care.classify_model import TrainedModel, fit

__all__ = [
    "CATEGORIES",
    "ComplaintClassifier",
    "Prediction",
    "default_classifier",
    "detect_language",
]

# Han ideographs (unified, extension A, compatibility); kana and hangul are not Chinese.
_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_LATIN_WORD = re.compile(r"[a-z]+", re.IGNORECASE)


def detect_language(text: str) -> str:
    """``"zh"`` or ``"en"``, by the dominant script; text without letters counts as English.

    One Han character carries about as much as one English word, so characters are
    weighed against Latin words, not letters: "我的wechat pay被扣了" is Chinese.
    """
    normalised = unicodedata.normalize("NFKC", text)
    han = len(_HAN.findall(normalised))
    words = len(_LATIN_WORD.findall(normalised))
    return "zh" if han > 0 and han >= words else "en"


@dataclass(frozen=True)
class Prediction:
    category: str
    confidence: float  # the model's probability for ``category``, for ranking and UI only
    language: str


class ComplaintClassifier:
    """A trained model; ``predict`` is safe to call from several threads at once."""

    def __init__(self, model: TrainedModel) -> None:
        self._model = model

    @classmethod
    def train(cls, complaints: Sequence[LabelledComplaint]) -> ComplaintClassifier:
        """Fit on ``complaints``; every category present needs at least two of them."""
        counts = Counter(c.category for c in complaints)
        if len(counts) < 2:
            raise CorpusError("training needs complaints of at least two categories")
        rarest, fewest = min(counts.items(), key=lambda item: (item[1], item[0]))
        if fewest < 2:
            raise CorpusError(f"category {rarest} has a single training example; it needs two")
        return cls(
            fit(
                [c.text for c in complaints],
                [c.category for c in complaints],
                groups=[c.source for c in complaints],
            )
        )

    @property
    def categories(self) -> tuple[str, ...]:
        return self._model.classes

    def predict(self, text: str) -> Prediction:
        return self.predict_many([text])[0]

    def predict_many(self, texts: Sequence[str]) -> list[Prediction]:
        predictions: list[Prediction | None] = [None] * len(texts)
        readable = [i for i, text in enumerate(texts) if _has_letters(text)]
        if readable:
            probabilities = self._model.probabilities([texts[i] for i in readable])
            for index, row in zip(readable, probabilities, strict=True):
                best = int(row.argmax())
                predictions[index] = Prediction(
                    category=self._model.classes[best],
                    confidence=float(row[best]),
                    language=detect_language(texts[index]),
                )
        # Nothing to read (empty, digits, emoji only): "other", and no confidence in it.
        return [
            p if p is not None else Prediction("other", 0.0, detect_language(texts[i]))
            for i, p in enumerate(predictions)
        ]


def _has_letters(text: str) -> bool:
    return any(ch.isalpha() for ch in text)


_default: ComplaintClassifier | None = None
_default_lock = threading.Lock()


def default_classifier() -> ComplaintClassifier:
    """The classifier trained on the shipped corpus, once per process, on first use."""
    global _default  # noqa: PLW0603 - a per-process cache of an expensive, immutable model
    if _default is None:
        with _default_lock:
            if _default is None:
                _default = ComplaintClassifier.train(load_shipped_corpus())
    return _default
