"""The result of ``anxin ledger verify``."""

from __future__ import annotations

from dataclasses import dataclass, field

# Enough to see the pattern of a problem without drowning the report.
MAX_PROBLEMS_PER_CHECK = 20


@dataclass
class Report:
    problems: list[str] = field(default_factory=list)
    entries_checked: int = 0
    accounts_checked: int = 0
    transfers_checked: int = 0

    @property
    def ok(self) -> bool:
        return not self.problems
