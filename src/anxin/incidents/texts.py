"""The incident texts shipped in ``incidents/data``: public update templates and notices."""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

LANGUAGES = ("zh", "en")
TEMPLATES = ("investigating", "identified", "monitoring", "resolved")


@cache
def _load(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(
        resources.files("anxin.incidents").joinpath("data", name).read_text(encoding="utf-8")
    )
    return data


def update_template(name: str) -> dict[str, dict[str, str]]:
    return dict(_load("update_templates.json")[name])


def notice(kind: str) -> Any:
    return _load("notices.json")[kind]


def holder_locale(locale: str) -> str:
    """A holder's locale (``zh-CN``, ``en``) as the notices' key."""
    return "en" if locale.startswith("en") else "zh-CN"


def language(locale: str) -> str:
    return "en" if locale.startswith("en") else "zh"


class _Strict(dict[str, str]):
    def __missing__(self, key: str) -> str:
        raise KeyError(key)


def fill(template: str, values: dict[str, str]) -> str:
    """``str.format_map`` that names the unknown placeholder instead of failing vaguely."""
    return template.format_map(_Strict(values)).strip()
