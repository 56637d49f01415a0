"""The README documents every setting and both newcomer commands, and shows only
screenshots that exist."""

from __future__ import annotations

import re
from pathlib import Path

from anxin.settings import Settings

ROOT = Path(__file__).parent.parent
README = (ROOT / "README.md").read_text()


def test_every_setting_is_in_the_readme() -> None:
    missing = [
        f"ANXIN_{name.upper()}"
        for name in Settings.model_fields
        if f"`ANXIN_{name.upper()}`" not in README
    ]
    assert missing == []


def test_the_two_commands_are_there() -> None:
    assert "make run" in README
    assert "make test" in README


def test_every_image_the_readme_shows_is_there() -> None:
    shown = re.findall(r'<img src="([^"]+)"', README)
    assert shown
    assert [path for path in shown if not (ROOT / path).is_file()] == []
