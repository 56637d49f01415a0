"""The labelled complaint corpus: reading it (the shipped one or an operator's own file)
and splitting it into training and held-out parts by source sentence.

A line is one JSON object ``{"text", "category", "language", "source"}``. Augmented
variants of a sentence (typos, punctuation, casing) carry the sentence's ``source`` id, so
the split keeps every variant on the same side and the held-out score is not inflated by
near-copies of training lines.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from anxin.kit.errors import AnxinError

CATEGORIES: tuple[str, ...] = (
    "unauthorized_debit",
    "funds_frozen",
    "topup_withdrawal",
    "verification_login",
    "fees",
    "points",
    "refund",
    "service_quality",
    "privacy",
    "feature_request",
    "other",
)
LANGUAGES: tuple[str, ...] = ("zh", "en")
_FIELDS = ("text", "category", "language", "source")


class CorpusError(AnxinError):
    """A labelled corpus that cannot be used, with the line at fault."""

    status = 422
    code = "bad_corpus"
    title = "The labelled corpus cannot be read"


@dataclass(frozen=True)
class LabelledComplaint:
    text: str
    category: str
    language: str
    source: str


def shipped_corpus_text() -> str:
    return resources.files("anxin.care").joinpath("data/complaints.jsonl").read_text("utf-8")


def load_shipped_corpus() -> list[LabelledComplaint]:
    return parse_corpus(shipped_corpus_text().splitlines(), name="the shipped corpus")


def load_corpus_file(path: Path) -> list[LabelledComplaint]:
    try:
        lines = path.read_text("utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as error:
        raise CorpusError(f"cannot read {path}: {error}") from error
    return parse_corpus(lines, name=str(path))


def parse_corpus(lines: Iterable[str], *, name: str = "corpus") -> list[LabelledComplaint]:
    """Every non-blank line as a complaint; the first bad line is reported by number."""
    complaints: list[LabelledComplaint] = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        complaints.append(_parse_line(line, f"{name} line {number}"))
    if not complaints:
        raise CorpusError(f"{name} has no complaints")
    return complaints


def _parse_line(line: str, where: str) -> LabelledComplaint:
    try:
        record = json.loads(line)
    except json.JSONDecodeError as error:
        raise CorpusError(f"{where}: not JSON ({error.msg})") from error
    if not isinstance(record, dict):
        raise CorpusError(f"{where}: expected a JSON object")
    missing = [field for field in _FIELDS if field not in record]
    if missing:
        raise CorpusError(f"{where}: missing {', '.join(missing)}")
    values = {field: record[field] for field in _FIELDS}
    for field, value in values.items():
        if not isinstance(value, str) or not value.strip():
            raise CorpusError(f"{where}: {field} must be a non-empty string")
    if values["category"] not in CATEGORIES:
        raise CorpusError(f"{where}: unknown category {values['category']!r}")
    if values["language"] not in LANGUAGES:
        raise CorpusError(f"{where}: language must be zh or en, not {values['language']!r}")
    return LabelledComplaint(**values)


@dataclass(frozen=True)
class Split:
    train: list[LabelledComplaint]
    test: list[LabelledComplaint]


def grouped_split(
    complaints: Sequence[LabelledComplaint], *, test_share: float, seed: int
) -> Split:
    """Hold out about ``test_share`` of the source sentences of each category, whole.

    Stratifying by category keeps every category on both sides even in a small corpus.
    """
    if not 0.0 < test_share < 1.0:
        raise CorpusError("the test share must be between 0 and 1 (exclusive)")
    sources_by_category: dict[str, list[str]] = {}
    for complaint in complaints:
        sources = sources_by_category.setdefault(complaint.category, [])
        if complaint.source not in sources:
            sources.append(complaint.source)
    rng = random.Random(seed)  # noqa: S311 - a reproducible shuffle, not a secret
    held_out: set[str] = set()
    for category in sorted(sources_by_category):
        sources = sorted(sources_by_category[category])
        rng.shuffle(sources)
        if len(sources) < 2:
            continue
        count = min(len(sources) - 1, max(1, round(len(sources) * test_share)))
        held_out.update(sources[:count])
    train = [c for c in complaints if c.source not in held_out]
    test = [c for c in complaints if c.source in held_out]
    if not test:
        raise CorpusError("the corpus is too small to hold any sentence out")
    return Split(train=train, test=test)
