"""How well the complaint classifier does on complaints it was not trained on.

The corpus is split by source sentence (``grouped_split``), the classifier is trained on
one part and scored on the other: accuracy, macro-F1, per-category precision, recall and
F1, accuracy per language, and the most frequent confusions. ``anxin care eval`` prints it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from sklearn.metrics import accuracy_score, f1_score, precision_recall_fscore_support

from anxin.care.classify import ComplaintClassifier
from anxin.care.classify_corpus import CATEGORIES, LANGUAGES, LabelledComplaint, grouped_split


@dataclass(frozen=True)
class CategoryScore:
    category: str
    support: int  # held-out complaints labelled with this category
    precision: float
    recall: float
    f1: float


@dataclass(frozen=True)
class LanguageScore:
    language: str
    support: int
    accuracy: float


@dataclass(frozen=True)
class Confusion:
    expected: str
    predicted: str
    count: int


@dataclass(frozen=True)
class Evaluation:
    n_train: int
    n_test: int
    test_sources: int
    accuracy: float
    macro_f1: float
    categories: list[CategoryScore]
    languages: list[LanguageScore]
    confusions: list[Confusion]  # most frequent first


def evaluate_corpus(
    complaints: Sequence[LabelledComplaint], *, test_share: float, seed: int
) -> Evaluation:
    split = grouped_split(complaints, test_share=test_share, seed=seed)
    classifier = ComplaintClassifier.train(split.train)
    predicted = [p.category for p in classifier.predict_many([c.text for c in split.test])]
    return score(split.test, predicted, n_train=len(split.train))


def score(
    test: Sequence[LabelledComplaint], predicted: Sequence[str], *, n_train: int
) -> Evaluation:
    expected = [c.category for c in test]
    labels = [c for c in CATEGORIES if c in set(expected) | set(predicted)]
    precision, recall, f1, support = precision_recall_fscore_support(
        expected, predicted, labels=labels, zero_division=0
    )
    categories = [
        CategoryScore(label, int(s), float(p), float(r), float(f))
        for label, p, r, f, s in zip(labels, precision, recall, f1, support, strict=True)
    ]
    languages = []
    for language in LANGUAGES:
        pairs = [
            (c.category, guess)
            for c, guess in zip(test, predicted, strict=True)
            if c.language == language
        ]
        if pairs:
            right = sum(1 for truth, guess in pairs if truth == guess)
            languages.append(LanguageScore(language, len(pairs), right / len(pairs)))
    mistakes = Counter(
        (truth, guess) for truth, guess in zip(expected, predicted, strict=True) if truth != guess
    )
    confusions = [
        Confusion(truth, guess, count)
        for (truth, guess), count in sorted(mistakes.items(), key=lambda kv: (-kv[1], kv[0]))
    ]
    return Evaluation(
        n_train=n_train,
        n_test=len(test),
        test_sources=len({c.source for c in test}),
        accuracy=float(accuracy_score(expected, predicted)),
        macro_f1=float(
            f1_score(expected, predicted, labels=labels, average="macro", zero_division=0)
        ),
        categories=categories,
        languages=languages,
        confusions=confusions,
    )
