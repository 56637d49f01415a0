"""The README documents every setting and both newcomer commands."""

from __future__ import annotations

from pathlib import Path

from anxin.settings import Settings

README = (Path(__file__).parent.parent / "README.md").read_text()


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
