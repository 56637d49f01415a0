"""Building complaints for the detector's tests."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta, timezone

from anxin.collective.model import Complaint

SHANGHAI = timezone(timedelta(hours=8))
MONDAY = datetime(2026, 11, 2, 9, 0, tzinfo=SHANGHAI)
_ids = itertools.count(1)


def complaint(at: datetime, user: str, text: str, **facts: str) -> Complaint:
    return Complaint(id=f"t{next(_ids)}", at=at, user=user, channel="app", text=text, **facts)
