"""The complaint classifier's model: TF-IDF features, a linear SVM, and a temperature that
turns the SVM's scores into probabilities.

Sigmoid calibration per class (``CalibratedClassifierCV``) changed the SVM's decisions and
cost a point of held-out accuracy; one softmax temperature keeps every decision the SVM
makes and still gives a probability. The temperature is fitted on scores for complaints
the SVM did not train on: folds grouped by source sentence, so a sentence's augmented
variants never score each other.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.model_selection import StratifiedGroupKFold
from sklearn.pipeline import FeatureUnion
from sklearn.svm import LinearSVC

_DIGITS = re.compile(r"\d+")
_SEED = 20261123
_FOLDS = 3
# Inverse temperatures tried, from nearly uniform to nearly one-hot.
_BETAS = np.geomspace(0.05, 200.0, 240)


def normalise(text: str) -> str:
    # Full-width letters and digits to ASCII, case folded; every amount looks alike, so
    # "扣了 88 块" and "扣了 1200 块" teach the same thing.
    folded = unicodedata.normalize("NFKC", text).casefold()
    return _DIGITS.sub("0", folded)


def _features() -> FeatureUnion:
    # Character n-grams within words read Chinese without a segmenter and survive typos;
    # word unigrams and bigrams add English phrases ("not me", "on hold").
    chars = TfidfVectorizer(
        analyzer="char_wb", ngram_range=(1, 3), preprocessor=normalise, sublinear_tf=True
    )
    words = TfidfVectorizer(
        analyzer="word",
        ngram_range=(1, 2),
        preprocessor=normalise,
        sublinear_tf=True,
        token_pattern=r"(?u)\b\w+\b",  # noqa: S106 - a regex, not a secret
    )
    return FeatureUnion([("chars", chars), ("words", words)])


def _svm() -> LinearSVC:
    return LinearSVC(C=1.0, random_state=_SEED)


def _scores(svm: LinearSVC, matrix: Any, classes: Sequence[str]) -> Any:
    """The SVM's score for each of ``classes`` (columns in that order); a class the SVM
    never saw scores below everything it did."""
    raw = np.asarray(svm.decision_function(matrix), dtype=float)
    known = [str(c) for c in svm.classes_]
    if raw.ndim == 1:  # two classes: one score, positive for the second
        raw = np.column_stack([-raw, raw])
    out = np.full((raw.shape[0], len(classes)), raw.min() - 1.0)
    for column, name in enumerate(known):
        out[:, classes.index(name)] = raw[:, column]
    return out


def softmax(scores: Any, beta: float) -> Any:
    scaled = scores * beta
    scaled -= scaled.max(axis=1, keepdims=True)
    exp = np.exp(scaled)
    return exp / exp.sum(axis=1, keepdims=True)


def _fit_beta(scores: Any, truth: Any) -> float:
    """The inverse temperature with the least log-loss on held-out scores."""
    best_beta, best_loss = 1.0, float("inf")
    rows = np.arange(len(truth))
    for beta in _BETAS:
        chosen = softmax(scores, float(beta))[rows, truth]
        loss = float(-np.log(np.clip(chosen, 1e-12, None)).mean())
        if loss < best_loss:
            best_beta, best_loss = float(beta), loss
    return best_beta


@dataclass(frozen=True)
class TrainedModel:
    features: FeatureUnion
    svm: LinearSVC
    classes: tuple[str, ...]
    beta: float

    def probabilities(self, texts: Sequence[str]) -> Any:
        matrix = self.features.transform(list(texts))
        return softmax(_scores(self.svm, matrix, self.classes), self.beta)


def fit(texts: Sequence[str], labels: Sequence[str], groups: Sequence[str]) -> TrainedModel:
    """Train on ``texts``; ``groups`` (source ids) keep variants together in the folds.
    Every label needs at least two groups (checked by the caller)."""
    features = _features()
    matrix = features.fit_transform(list(texts))
    svm = _svm().fit(matrix, list(labels))
    classes = tuple(str(c) for c in svm.classes_)
    truth = np.array([classes.index(label) for label in labels])
    # Stratified folds need as many examples of each class as there are folds.
    folds = min(_FOLDS, int(np.bincount(truth).min()), len(set(groups)))
    held_out_scores = np.zeros((len(texts), len(classes)))
    splitter = StratifiedGroupKFold(n_splits=folds)
    for train, test in splitter.split(matrix, truth, groups=list(groups)):
        if len(set(truth[train])) < 2:
            continue  # a fold of one class says nothing about confidence
        fold_svm = _svm().fit(matrix[train], truth[train].astype(str))
        fold_classes = [str(i) for i in range(len(classes))]
        held_out_scores[test] = _scores(fold_svm, matrix[test], fold_classes)
    return TrainedModel(features, svm, classes, _fit_beta(held_out_scores, truth))
