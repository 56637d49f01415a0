"""``anxin care replay`` and ``anxin care simulate``: backtest the collective-complaint
detector on a recorded stream, and write labelled streams to backtest it on.

Registered in ``anxin.cli.care``; this module must not import it (import cycle).
"""

from __future__ import annotations

import importlib
import json
import sys
import time
from pathlib import Path
from typing import Annotated, Any

import typer

from anxin.cli.context import CliError
from anxin.collective.detector import CategoryClassifier
from anxin.collective.replay import (
    MalformedLine,
    Score,
    as_output,
    parse_labels,
    read_stream,
    score,
)
from anxin.collective.replay import (
    replay as run_replay,
)
from anxin.collective.settings import DetectorSettings
from anxin.collective.simulate import simulate as make_stream
from anxin.incidents.replay_db import replay_through_database


def _classifier() -> CategoryClassifier | None:
    """The care desk's category classifier, when this installation has it."""
    try:
        module = importlib.import_module("anxin.care.classify")
    except ImportError:
        return None
    classifier: CategoryClassifier = module.default_classifier()
    return classifier


def _lines(path: Path, what: str) -> list[str]:
    try:
        return path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as error:
        raise CliError(f"cannot read the {what} {path}: {error}") from error


def _report(problem: MalformedLine) -> None:
    print(f"line {problem.number}: {problem.reason}; skipped", file=sys.stderr)


def _print_score(result: Score) -> None:
    def number(value: float | None, digits: int = 2) -> str:
        return "-" if value is None else f"{value:.{digits}f}"

    print(
        f"{'burst':<12}{'size':>6}{'detected':>10}{'delay_min':>11}{'precision':>11}"
        f"{'recall':>8}{'f1':>7}"
    )
    for burst in result.bursts:
        print(
            f"{burst.burst:<12}{burst.size:>6}{'yes' if burst.detected else 'NO':>10}"
            f"{number(burst.delay_minutes, 1):>11}{number(burst.precision):>11}"
            f"{number(burst.recall):>8}{number(burst.f1):>7}"
        )
    print(
        f"alarms {result.alarms}, real {result.real_alarms}; "
        f"p90 delay {number(result.p90_delay, 1)} min"
    )
    print(
        f"RESULT recall={result.recall:.3f} precision={result.precision:.3f} "
        f"median_delay_min={number(result.median_delay, 1)} f1={result.f1:.3f}"
    )


def replay(
    stream: Annotated[Path, typer.Argument(help="JSON lines: id, at, user, channel, text, ...")],
    labels: Annotated[
        Path | None, typer.Option(help="Labelled bursts (JSON lines); prints the scores.")
    ] = None,
    threshold: Annotated[float, typer.Option(help="CUSUM alarm threshold h.")] = (
        DetectorSettings.threshold
    ),
    elevation: Annotated[float, typer.Option(help="Rate ratio k the CUSUM is tuned to.")] = (
        DetectorSettings.elevation
    ),
    max_excess: Annotated[
        float, typer.Option(help="At most this many extra complaints/hour in the alternative.")
    ] = DetectorSettings.max_excess_per_hour,
    min_excess: Annotated[
        float, typer.Option(help="At least this many extra complaints/hour in the alternative.")
    ] = DetectorSettings.min_excess_per_hour,
    min_holders: Annotated[int, typer.Option(help="Distinct holders needed to alarm.")] = (
        DetectorSettings.min_holders
    ),
    similarity: Annotated[float, typer.Option(help="Cosine to join a meaning cluster.")] = (
        DetectorSettings.similarity
    ),
    join_similarity: Annotated[
        float, typer.Option(help="Cosine to join a collective complaint.")
    ] = DetectorSettings.join_similarity,
    prior_rate: Annotated[
        float, typer.Option(help="Complaints/hour every group is assumed to get.")
    ] = DetectorSettings.prior_rate_per_hour,
    warmup_hours: Annotated[float, typer.Option(help="Hours that only learn.")] = (
        DetectorSettings.warmup_hours
    ),
    timezone: Annotated[str, typer.Option(help="Zone of the hours of the week.")] = (
        DetectorSettings.timezone
    ),
    classify: Annotated[
        bool, typer.Option(help="Predict missing categories with the care classifier.")
    ] = True,
    database: Annotated[
        bool,
        typer.Option(
            help="Replay through a fresh in-memory SQLite database: tickets, the detection "
            "job, groups and incidents, as in the server (never the configured database). "
            "--no-database runs the detector alone: the same alarms, much faster, for tuning."
        ),
    ] = True,
) -> None:
    """Run the collective-complaint detector over a recorded stream on its own clock.

    Prints one JSON object per collective complaint raised; malformed lines are reported
    on stderr with their line number and skipped.
    """
    try:
        settings = DetectorSettings(
            threshold=threshold,
            elevation=elevation,
            max_excess_per_hour=max_excess,
            min_excess_per_hour=min_excess,
            min_holders=min_holders,
            similarity=similarity,
            join_similarity=join_similarity,
            prior_rate_per_hour=prior_rate,
            warmup_hours=warmup_hours,
            timezone=timezone,
        )
    except ValueError as error:
        raise CliError(f"invalid detector settings: {error}") from error
    truth = None
    if labels is not None:
        try:
            truth = parse_labels(_lines(labels, "labels"))
        except ValueError as error:
            raise CliError(str(error)) from error
    complaints = list(read_stream(_lines(stream, "stream"), _report))
    started = time.perf_counter()
    classifier = _classifier() if classify else None
    if database:
        through = replay_through_database(complaints, settings, classifier)
        collectives = through.collectives
        print(
            f"database: {through.tickets} tickets, {through.groups} groups of "
            f"{through.members} complaints, {through.incidents} incidents",
            file=sys.stderr,
        )
    else:
        collectives = run_replay(complaints, settings, classifier)
    seconds = time.perf_counter() - started
    for collective in collectives:
        print(json.dumps(as_output(collective), ensure_ascii=False))
    rate = len(complaints) / seconds if seconds > 0 else 0.0
    print(
        f"replayed {len(complaints)} complaints in {seconds:.1f} s ({rate:,.0f}/s), "
        f"{len(collectives)} collective complaints",
        file=sys.stderr,
    )
    if truth is not None:
        _print_score(score(collectives, truth))


def _write(path: Path, rows: list[dict[str, Any]]) -> None:
    try:
        with path.open("w", encoding="utf-8") as out:
            for row in rows:
                out.write(json.dumps(row, ensure_ascii=False) + "\n")
    except OSError as error:
        raise CliError(f"cannot write {path}: {error}") from error


def simulate(
    stream: Annotated[Path, typer.Argument(help="Where to write the stream (JSON lines).")],
    labels: Annotated[Path, typer.Argument(help="Where to write the labels (JSON lines).")],
    seed: Annotated[int, typer.Option(help="Same seed, same stream.")] = 7,
    days: Annotated[int, typer.Option(help="Days of background (at least 9).")] = 9,
    daily: Annotated[int, typer.Option(help="Background complaints on a weekday.")] = 4000,
) -> None:
    """Write a labelled stream: background complaints with injected bursts."""
    try:
        rows, truth = make_stream(seed=seed, days=days, daily=daily)
    except ValueError as error:
        raise CliError(str(error)) from error
    _write(stream, rows)
    _write(labels, truth)
    print(f"wrote {len(rows)} complaints to {stream} and {len(truth)} bursts to {labels}")
