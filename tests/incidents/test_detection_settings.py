"""The server's detector is configured by settings: thresholds as JSON, and how often it runs
(or not at all)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError

from anxin.api.app import create_app
from anxin.collective import DetectorSettings
from anxin.settings import Settings


def test_thresholds_from_settings(settings: Settings) -> None:
    tuned = settings.model_copy(update={"collective_detector": {"threshold": 13, "min_holders": 8}})
    assert tuned.detector_settings == DetectorSettings(threshold=13, min_holders=8)
    assert settings.detector_settings == DetectorSettings()


@pytest.mark.parametrize(
    ("overrides", "says"),
    [({"threshold": -1}, "threshold must be positive"), ({"nope": 1}, "nope")],
)
def test_bad_thresholds_are_refused(overrides: dict[str, int], says: str) -> None:
    with pytest.raises(ValidationError, match=says):
        Settings(collective_detector=overrides)


def test_the_app_uses_them_and_can_switch_detection_off(settings: Settings) -> None:
    tuned = settings.model_copy(
        update={"collective_detector": {"min_holders": 9}, "incidents_detect_seconds": 0}
    )
    with TestClient(create_app(tuned)) as client:
        state = client.app.state  # type: ignore[attr-defined]
        assert state.incident_detection_worker is None
        assert state.incident_detection._settings.min_holders == 9
