"""A replay through a fresh in-memory database raises what the plain replay raises, and
every burst becomes an incident with its complaints linked."""

from __future__ import annotations

import json
from pathlib import Path

from anxin.collective.replay import parse_labels, read_stream, replay, score
from anxin.collective.settings import DetectorSettings
from anxin.collective.simulate import simulate
from anxin.incidents.replay_db import replay_through_database
from tests.cli.conftest import Cli, bare_cli, home

__all__ = ["bare_cli", "home"]  # fixtures used below


def test_the_database_path_matches_the_plain_replay() -> None:
    rows, truth = simulate(seed=11, days=9, daily=150)
    complaints = list(read_stream([json.dumps(r, ensure_ascii=False) for r in rows], print))
    labels = parse_labels([json.dumps(t) for t in truth])
    settings = DetectorSettings()
    plain = replay(complaints, settings, None)
    seen: list[int] = []
    through = replay_through_database(complaints, settings, None, progress=seen.append)
    assert through.tickets == len(complaints) and seen[-1] == len(complaints)
    assert len(through.collectives) == len(plain) > 0
    assert through.groups == through.incidents == len(plain)
    assert 0 < through.linked <= through.members  # a complaint may be in two groups
    plain_score, db_score = score(plain, labels), score(through.collectives, labels)
    assert db_score.recall == plain_score.recall
    assert db_score.precision == plain_score.precision
    # Member ids are the stream's again, not the tickets'.
    stream_ids = {c.id for c in complaints}
    assert all(set(c.member_ids) <= stream_ids for c in through.collectives)


def test_care_replay_through_the_database(bare_cli: Cli, tmp_path: Path) -> None:
    stream, labels = tmp_path / "stream.jsonl", tmp_path / "labels.jsonl"
    made = bare_cli("care", "simulate", str(stream), str(labels), "--days", "9", "--daily", "150")
    assert made.code == 0, made
    plain = bare_cli("care", "replay", str(stream), "--labels", str(labels), "--no-database")
    through = bare_cli("care", "replay", str(stream), "--labels", str(labels))
    assert through.code == 0, through
    assert "database: " in through.err and " incidents" in through.err
    result = [line for line in through.out.splitlines() if line.startswith("RESULT")]
    assert (
        result
        and result[0].split(" median")[0]
        == next(line for line in plain.out.splitlines() if line.startswith("RESULT")).split(
            " median"
        )[0]
    )
