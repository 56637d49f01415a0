"""Which wallet-complaint category a complaint belongs to, and which language it is in.

Complaints are short, informal, misspelled, Chinese, English or both. The model is a
TF-IDF over character n-grams within words (so Chinese needs no segmentation and a typo
only spoils a few n-grams) feeding a logistic regression, trained from the corpus shipped
in ``anxin/care/data/complaints.jsonl``. Its accuracy on a held-out split is printed by
``anxin care eval`` and recorded in docs/care-classifier.md. Agents can correct the
category; the prediction is a suggestion, and ``confidence`` only ranks and colours it.
"""

from __future__ import annotations

import re
import threading
import unicodedata
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from sklearn.calibration import CalibratedClassifierCV
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.pipeline import FeatureUnion, Pipeline
from sklearn.svm import LinearSVC

from anxin.care.classify_corpus import (
    CATEGORIES,
    CorpusError,
    LabelledComplaint,
    load_shipped_corpus,
)

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
_DIGITS = re.compile(r"\d+")
_SEED = 20261123
_CALIBRATION_FOLDS = 3


def detect_language(text: str) -> str:
    """``"zh"`` or ``"en"``, by the dominant script; text without letters counts as English.

    One Han character carries about as much as one English word, so characters are
    weighed against Latin words, not letters: "我的wechat pay被扣了" is Chinese.
    """
    normalised = unicodedata.normalize("NFKC", text)
    han = len(_HAN.findall(normalised))
    words = len(_LATIN_WORD.findall(normalised))
    return "zh" if han > 0 and han >= words else "en"


def _normalise(text: str) -> str:
    # Full-width letters and digits to ASCII, case folded; every amount looks alike, so
    # "扣了 88 块" and "扣了 1200 块" teach the same thing.
    folded = unicodedata.normalize("NFKC", text).casefold()
    return _DIGITS.sub("0", folded)


@dataclass(frozen=True)
class Prediction:
    category: str
    confidence: float  # the model's probability for ``category``, for ranking and UI only
    language: str


class ComplaintClassifier:
    """A trained model; ``predict`` is safe to call from several threads at once."""

    def __init__(self, pipeline: Pipeline) -> None:
        self._pipeline = pipeline
        self._classes: list[str] = [str(c) for c in pipeline.classes_]

    @classmethod
    def train(cls, complaints: Sequence[LabelledComplaint]) -> ComplaintClassifier:
        """Fit on ``complaints``; every category present needs at least two of them."""
        counts = Counter(c.category for c in complaints)
        if len(counts) < 2:
            raise CorpusError("training needs complaints of at least two categories")
        rarest, fewest = min(counts.items(), key=lambda item: (item[1], item[0]))
        if fewest < 2:
            raise CorpusError(f"category {rarest} has a single training example; it needs two")
        pipeline = _pipeline(calibration_folds=min(_CALIBRATION_FOLDS, fewest))
        pipeline.fit([c.text for c in complaints], [c.category for c in complaints])
        return cls(pipeline)

    @property
    def categories(self) -> tuple[str, ...]:
        return tuple(self._classes)

    def predict(self, text: str) -> Prediction:
        return self.predict_many([text])[0]

    def predict_many(self, texts: Sequence[str]) -> list[Prediction]:
        predictions: list[Prediction | None] = [None] * len(texts)
        readable = [i for i, text in enumerate(texts) if _has_letters(text)]
        if readable:
            probabilities = self._pipeline.predict_proba([texts[i] for i in readable])
            for index, row in zip(readable, probabilities, strict=True):
                best = int(row.argmax())
                predictions[index] = Prediction(
                    category=self._classes[best],
                    confidence=float(row[best]),
                    language=detect_language(texts[index]),
                )
        # Nothing to read (empty, digits, emoji only): "other", and no confidence in it.
        return [
            p if p is not None else Prediction("other", 0.0, detect_language(texts[i]))
            for i, p in enumerate(predictions)
        ]


def _pipeline(*, calibration_folds: int) -> Pipeline:
    # Character n-grams carry Chinese (no segmenter needed) and survive typos; word
    # unigrams and bigrams add English phrases ("not me", "on hold"). A linear SVM beat a
    # logistic regression on the held-out split and fits ten times faster; its margins are
    # turned into probabilities by sigmoid calibration on cross-validated predictions.
    features = FeatureUnion(
        [
            (
                "chars",
                TfidfVectorizer(
                    analyzer="char_wb",
                    ngram_range=(1, 3),
                    preprocessor=_normalise,
                    sublinear_tf=True,
                ),
            ),
            (
                "words",
                TfidfVectorizer(
                    analyzer="word",
                    ngram_range=(1, 2),
                    preprocessor=_normalise,
                    sublinear_tf=True,
                    token_pattern=r"(?u)\b\w+\b",  # noqa: S106 - a regex, not a secret
                ),
            ),
        ]
    )
    model = CalibratedClassifierCV(
        LinearSVC(C=1.0, random_state=_SEED), cv=calibration_folds, ensemble=False
    )
    return Pipeline([("features", features), ("model", model)])


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
