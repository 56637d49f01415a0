"""The shipped labelled corpus, reading operators' corpora, and the grouped held-out split."""

from __future__ import annotations

import json
from collections import Counter, defaultdict

import pytest

from anxin.care.classify import CATEGORIES, detect_language
from anxin.care.classify_corpus import (
    LANGUAGES,
    CorpusError,
    LabelledComplaint,
    grouped_split,
    load_shipped_corpus,
    parse_corpus,
)

MIN_SENTENCES = 40


@pytest.fixture(scope="module")
def corpus() -> list[LabelledComplaint]:
    return load_shipped_corpus()


def test_every_category_and_language_has_enough_distinct_sentences(
    corpus: list[LabelledComplaint],
) -> None:
    sources: dict[tuple[str, str], set[str]] = defaultdict(set)
    for complaint in corpus:
        sources[complaint.category, complaint.language].add(complaint.source)
    for category in CATEGORIES:
        for language in LANGUAGES:
            assert len(sources[category, language]) >= MIN_SENTENCES, (category, language)


def test_a_source_is_one_sentence_with_one_label(corpus: list[LabelledComplaint]) -> None:
    labels: dict[str, set[tuple[str, str]]] = defaultdict(set)
    for complaint in corpus:
        labels[complaint.source].add((complaint.category, complaint.language))
    assert all(len(found) == 1 for found in labels.values())
    texts = Counter(complaint.text for complaint in corpus)
    assert texts.most_common(1)[0][1] == 1  # no line is repeated


def test_language_labels_agree_with_detection(corpus: list[LabelledComplaint]) -> None:
    wrong = [c.text for c in corpus if detect_language(c.text) != c.language]
    assert wrong == []


def test_the_corpus_mixes_scripts(corpus: list[LabelledComplaint]) -> None:
    mixed = [c for c in corpus if c.language == "zh" and any("a" <= ch <= "z" for ch in c.text)]
    assert len(mixed) >= 20


@pytest.mark.parametrize("seed", [0, 7, 123])
@pytest.mark.parametrize("share", [0.1, 0.2, 0.5])
def test_no_source_is_on_both_sides(
    corpus: list[LabelledComplaint], seed: int, share: float
) -> None:
    split = grouped_split(corpus, test_share=share, seed=seed)
    train_sources = {c.source for c in split.train}
    test_sources = {c.source for c in split.test}
    assert train_sources.isdisjoint(test_sources)
    assert len(split.train) + len(split.test) == len(corpus)
    assert {c.category for c in split.test} == set(CATEGORIES)
    assert {c.category for c in split.train} == set(CATEGORIES)
    held_out = len(test_sources) / (len(train_sources) + len(test_sources))
    assert share - 0.03 < held_out < share + 0.03


def test_the_split_depends_on_the_seed_only(corpus: list[LabelledComplaint]) -> None:
    first = grouped_split(corpus, test_share=0.2, seed=5)
    assert grouped_split(list(corpus), test_share=0.2, seed=5) == first
    assert grouped_split(corpus, test_share=0.2, seed=6) != first


@pytest.mark.parametrize("share", [0.0, 1.0, -0.2, 1.5])
def test_the_share_is_a_proper_fraction(corpus: list[LabelledComplaint], share: float) -> None:
    with pytest.raises(CorpusError, match="between 0 and 1"):
        grouped_split(corpus, test_share=share, seed=1)


def _line(**fields: object) -> str:
    record = {"text": "提现没到账", "category": "topup_withdrawal", "language": "zh",
              "source": "x1"} | fields  # fmt: skip
    return json.dumps(record, ensure_ascii=False)


def test_parse_a_good_corpus_with_blank_lines() -> None:
    parsed = parse_corpus([_line(), "", "  ", _line(source="x2", text="钱没到")])
    assert [c.source for c in parsed] == ["x1", "x2"]


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ("{not json", "line 2: not JSON"),
        ("[1, 2]", "line 2: expected a JSON object"),
        (_line(category="billing"), "line 2: unknown category 'billing'"),
        (_line(language="fr"), "line 2: language must be zh or en, not 'fr'"),
        (_line(text=""), "line 2: text must be a non-empty string"),
        (_line(source=7), "line 2: source must be a non-empty string"),
        (json.dumps({"text": "hi", "category": "other"}), "line 2: missing language, source"),
    ],
)
def test_a_bad_line_is_reported_by_number(bad: str, message: str) -> None:
    with pytest.raises(CorpusError, match=message):
        parse_corpus([_line(), bad, _line()], name="mine.jsonl")


def test_an_empty_corpus_is_refused() -> None:
    with pytest.raises(CorpusError, match="has no complaints"):
        parse_corpus(["", "   "])
