"""``anxin care replay`` and ``anxin care simulate`` through the real entry point."""
# ruff: noqa: RUF001 - Chinese complaint text uses full-width punctuation

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from anxin.cli.main import run
from anxin.collective.replay import parse_complaint
from tests.collective.conftest import MONDAY


@dataclass(frozen=True)
class Result:
    code: int
    out: str
    err: str


@pytest.fixture
def anxin(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]):  # type: ignore[no-untyped-def]
    def invoke(*args: str) -> Result:
        monkeypatch.setattr(sys, "argv", ["anxin", *args])
        capsys.readouterr()
        try:
            run()
            code = 0
        except SystemExit as exit_:
            code = exit_.code if isinstance(exit_.code, int) else 1
        captured = capsys.readouterr()
        return Result(code, captured.out, captured.err)

    return invoke


def _line(n: int, at: datetime, user: str, text: str, **extra: object) -> str:
    return json.dumps(
        {
            "id": f"c{n}",
            "at": at.isoformat(),
            "user": user,
            "channel": "app",
            "text": text,
            **extra,
        },
        ensure_ascii=False,
    )


def _stream(tmp_path: Path, extra_lines: dict[int, str] | None = None) -> tuple[Path, list[str]]:
    """A day and a half of quiet complaints, then 25 holders about one merchant."""
    lines: list[str] = []
    everyday = [
        "客服电话一直打不通",
        "please add dark mode",
        "积分兑换的券用不了",
        "app keeps logging me out",
    ]
    for n in range(36 * 8):
        at = MONDAY - timedelta(hours=36) + timedelta(minutes=7.5 * n)
        lines.append(_line(n, at, f"bg{n}", everyday[n % 4], merchant=f"m{n % 30}"))
    burst = []
    for n in range(25):
        at = MONDAY + timedelta(minutes=2 * n)
        burst.append(f"b{n}")
        lines.append(
            _line(
                1000 + n,
                at,
                f"h{n}",
                "在m99付款一直失败，钱却扣了",
                merchant="m99",
                loyalty_tier="gold",
            ).replace(f'"c{1000 + n}"', f'"b{n}"')
        )
    for number, text in sorted((extra_lines or {}).items()):
        lines.insert(number - 1, text)
    path = tmp_path / "stream.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path, burst


def test_replay_prints_one_json_object_per_collective_complaint(anxin, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path, burst = _stream(tmp_path)
    result = anxin("care", "replay", str(path), "--no-database", "--no-classify")
    assert result.code == 0, result.err
    objects = [json.loads(line) for line in result.out.splitlines()]
    assert len(objects) == 1
    found = objects[0]
    assert set(found) == {"detected_at", "complaints", "category", "title"}
    assert found["complaints"] == burst
    detected = datetime.fromisoformat(found["detected_at"])
    assert detected.utcoffset() == timedelta(hours=8)
    assert MONDAY < detected < MONDAY + timedelta(minutes=20)
    assert found["category"] == "other"  # no category given, none predicted
    assert "m99" in found["title"]
    assert "replayed" in result.err


def test_malformed_lines_are_reported_with_their_number_and_skipped(anxin, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    bad = {
        3: "{not json",
        5: json.dumps({"id": "x1", "at": "yesterday", "user": "u", "channel": "app", "text": "t"}),
        7: json.dumps(
            {
                "id": "x2",
                "at": "2026-11-01T10:00:00",
                "user": "u",
                "channel": "app",
                "text": "no offset",
            }
        ),
        9: json.dumps(
            {"id": "x3", "at": "2026-11-01T10:00:00+08:00", "channel": "app", "text": "t"}
        ),
        11: json.dumps(["a", "list"]),
        13: json.dumps(
            {
                "id": "x4",
                "at": "2026-11-01T10:00:00+08:00",
                "user": "u",
                "channel": "app",
                "text": "t",
                "merchant": 17,
            }
        ),
    }
    path, burst = _stream(tmp_path, bad)
    result = anxin("care", "replay", str(path), "--no-database", "--no-classify")
    assert result.code == 0
    reported = [line for line in result.err.splitlines() if line.startswith("line ")]
    assert [int(line.split()[1].rstrip(":")) for line in reported] == [3, 5, 7, 9, 11, 13]
    assert "not JSON" in reported[0] and "ISO 8601" in reported[1] and "offset" in reported[2]
    assert "user" in reported[3] and "merchant" in reported[5]
    assert json.loads(result.out.splitlines()[0])["complaints"] == burst


def test_unknown_fields_are_ignored() -> None:
    line = _line(1, MONDAY, "u1", "hello", merchant="m1", loyalty_tier="gold", nested={"a": 1})
    complaint = parse_complaint(line)
    assert complaint.merchant == "m1" and complaint.text == "hello"


def test_labels_print_scores_and_a_result_line(anxin, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path, burst = _stream(tmp_path)
    labels = tmp_path / "labels.jsonl"
    labels.write_text(json.dumps({"burst": "X", "complaints": burst, "start": MONDAY.isoformat()}))
    result = anxin(
        "care", "replay", str(path), "--no-database", "--labels", str(labels), "--no-classify"
    )
    assert result.code == 0, result.err
    last = result.out.strip().splitlines()[-1]
    assert last.startswith("RESULT recall=1.000 precision=1.000 median_delay_min=")
    assert last.endswith("f1=1.000")


def test_thresholds_can_be_tuned_from_the_command_line(anxin, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path, _ = _stream(tmp_path)
    strict = anxin(
        "care", "replay", str(path), "--no-database", "--no-classify", "--min-holders", "30"
    )
    assert strict.code == 0 and strict.out == ""
    bad = anxin("care", "replay", str(path), "--no-database", "--no-classify", "--elevation", "1")
    assert bad.code == 1 and "elevation" in bad.err and "Traceback" not in bad.err


def test_a_missing_stream_is_one_line_error(anxin, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    result = anxin("care", "replay", str(tmp_path / "nope.jsonl"), "--no-database")
    assert result.code == 1
    assert result.err.strip().startswith("error: cannot read the stream")


def test_simulate_is_deterministic_and_labels_point_into_the_stream(anxin, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    outputs = []
    for name in ("one", "two"):
        stream, labels = tmp_path / f"{name}.jsonl", tmp_path / f"{name}-labels.jsonl"
        result = anxin(
            "care", "simulate", str(stream), str(labels), "--seed", "3", "--daily", "300"
        )
        assert result.code == 0, result.err
        outputs.append((stream.read_bytes(), labels.read_bytes()))
    assert outputs[0] == outputs[1]
    rows = [json.loads(line) for line in outputs[0][0].decode().splitlines()]
    ids = {row["id"] for row in rows}
    bursts = [json.loads(line) for line in outputs[0][1].decode().splitlines()]
    assert len(bursts) >= 10
    for burst in bursts:
        assert set(burst["complaints"]) <= ids
        assert 20 <= len(burst["complaints"]) <= 200
    times = [datetime.fromisoformat(row["at"]) for row in rows]
    assert times == sorted(times)
    assert times[-1] - times[0] >= timedelta(days=8)
