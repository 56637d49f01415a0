"""Backtesting: run the detector over a recorded stream on its own (simulated) clock.

``read_stream`` parses JSON lines, reporting each malformed line with its number and
skipping it; ``replay`` feeds the complaints to a fresh detector in time order and returns
what it raised; ``score`` compares that with labelled bursts. The detector keeps its state in
memory; a replay is where a fresh database would be created once the detector persists.
"""

from __future__ import annotations

import json
import statistics
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from anxin.collective.detector import CategoryClassifier, CollectiveComplaint, Detector
from anxin.collective.model import Complaint
from anxin.collective.settings import DetectorSettings

_OPTIONAL = ("merchant", "transaction", "category", "app_version", "error_code")
_REQUIRED = ("id", "user", "channel", "text")


class MalformedLine(ValueError):
    def __init__(self, number: int, reason: str) -> None:
        super().__init__(f"line {number}: {reason}")
        self.number = number
        self.reason = reason


def _timestamp(value: object, what: str) -> datetime:
    if not isinstance(value, str):
        raise ValueError(f"{what} must be an ISO 8601 string")
    try:
        moment = datetime.fromisoformat(value)
    except ValueError as error:
        raise ValueError(f"{what} is not ISO 8601: {value!r}") from error
    if moment.tzinfo is None:
        raise ValueError(f"{what} has no UTC offset: {value!r}")
    return moment


def parse_complaint(line: str) -> Complaint:
    """One stream line as a Complaint; unknown fields are ignored. Raises ValueError."""
    try:
        data = json.loads(line)
    except json.JSONDecodeError as error:
        raise ValueError(f"not JSON ({error.msg})") from error
    if not isinstance(data, dict):
        raise ValueError("not a JSON object")
    for name in _REQUIRED:
        value = data.get(name)
        if isinstance(value, int) and not isinstance(value, bool) and name == "id":
            data[name] = str(value)
        elif not isinstance(value, str) or not value.strip():
            raise ValueError(f"{name} is missing or not a non-empty string")
    optional: dict[str, str | None] = {}
    for name in _OPTIONAL:
        value = data.get(name)
        if value is not None and not isinstance(value, str):
            raise ValueError(f"{name} must be a string")
        optional[name] = value or None
    return Complaint(
        id=data["id"],
        at=_timestamp(data.get("at"), "at"),
        user=data["user"],
        channel=data["channel"],
        text=data["text"],
        **optional,
    )


def read_stream(
    lines: Iterable[str], report: Callable[[MalformedLine], None]
) -> Iterator[Complaint]:
    """Complaints from JSON lines; blank lines are skipped, malformed ones reported."""
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            yield parse_complaint(line)
        except ValueError as error:
            report(MalformedLine(number, str(error)))


def replay(
    complaints: Iterable[Complaint],
    settings: DetectorSettings | None = None,
    classifier: CategoryClassifier | None = None,
) -> list[CollectiveComplaint]:
    """Every collective complaint a fresh detector raises over the stream, in time order.

    The stream is ordered by time first (stably, so equal times keep the file's order): a
    recording may interleave channels that were written out of order.
    """
    ordered = sorted(complaints, key=lambda c: c.at)
    batch = getattr(classifier, "predict_many", None)
    if callable(batch):
        # One batched prediction is far cheaper than one call per complaint.
        missing = [i for i, c in enumerate(ordered) if not c.category]
        predictions = batch([ordered[i].text for i in missing]) if missing else []
        for i, prediction in zip(missing, predictions, strict=True):
            ordered[i] = replace(ordered[i], category=prediction.category)
        classifier = None
    detector = Detector(settings, classifier)
    for complaint in ordered:
        detector.observe(complaint)
    return list(detector.collectives)


def as_output(collective: CollectiveComplaint) -> dict[str, Any]:
    return {
        "detected_at": collective.detected_at.isoformat(),
        # In arrival order, however they joined (a merged group brings earlier ones).
        "complaints": [
            id_
            for _, id_ in sorted(zip(collective.member_indexes, collective.member_ids, strict=True))
        ],
        "category": collective.category,
        "title": collective.title,
    }


@dataclass(frozen=True)
class BurstScore:
    burst: str
    size: int
    detected: bool
    delay_minutes: float | None
    precision: float | None
    recall: float | None
    f1: float | None


@dataclass(frozen=True)
class Score:
    bursts: list[BurstScore]
    alarms: int
    real_alarms: int

    @property
    def recall(self) -> float:
        return sum(b.detected for b in self.bursts) / len(self.bursts) if self.bursts else 1.0

    @property
    def precision(self) -> float:
        return self.real_alarms / self.alarms if self.alarms else 1.0

    def _delays(self) -> list[float]:
        return sorted(b.delay_minutes for b in self.bursts if b.delay_minutes is not None)

    @property
    def median_delay(self) -> float | None:
        delays = self._delays()
        return statistics.median(delays) if delays else None

    @property
    def p90_delay(self) -> float | None:
        delays = self._delays()
        return delays[min(len(delays) - 1, int(0.9 * len(delays)))] if delays else None

    @property
    def f1(self) -> float:
        values = [b.f1 for b in self.bursts if b.f1 is not None]
        return statistics.fmean(values) if values else 0.0


def parse_labels(lines: Iterable[str]) -> list[tuple[str, set[str], datetime]]:
    """Labelled bursts: (id, complaint ids, start). Raises ValueError naming the line."""
    bursts: list[tuple[str, set[str], datetime]] = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
            if not isinstance(data, dict):
                raise ValueError("not a JSON object")
            members = data.get("complaints")
            if not isinstance(members, list) or not members:
                raise ValueError("complaints must be a non-empty list of ids")
            start = _timestamp(data.get("start"), "start")
            bursts.append((str(data.get("burst", number)), {str(m) for m in members}, start))
        except ValueError as error:
            raise ValueError(f"labels line {number}: {error}") from error
    return bursts


def score(
    collectives: list[CollectiveComplaint], bursts: list[tuple[str, set[str], datetime]]
) -> Score:
    """An alarm is about a burst when most of its members are in it; it is real if it is
    about some burst. A burst is detected by its earliest such alarm; its predicted
    membership is the union of the alarms about it."""
    about: dict[str, list[CollectiveComplaint]] = {name: [] for name, _, _ in bursts}
    real = 0
    for collective in collectives:
        members = set(collective.member_ids)
        for name, truth, _ in bursts:
            if len(members & truth) * 2 > len(members):
                about[name].append(collective)
                real += 1
                break
    results: list[BurstScore] = []
    for name, truth, start in bursts:
        alarms = about[name]
        if not alarms:
            results.append(BurstScore(name, len(truth), False, None, None, None, None))
            continue
        first = min(alarm.detected_at for alarm in alarms)
        predicted = set().union(*(set(alarm.member_ids) for alarm in alarms))
        hits = len(predicted & truth)
        precision, recall = hits / len(predicted), hits / len(truth)
        f1 = 2 * precision * recall / (precision + recall) if hits else 0.0
        delay = (first - start).total_seconds() / 60
        results.append(BurstScore(name, len(truth), True, delay, precision, recall, f1))
    return Score(results, len(collectives), real)
