"""Choosing holders by account facts (never by personal data): for exports and breaches."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select

from anxin.models import User


@dataclass(frozen=True)
class HolderQuery:
    status: str | None = None
    tier: str | None = None
    created_from: datetime | None = None
    created_to: datetime | None = None

    def apply(self, query: Select[Any]) -> Select[Any]:
        if self.status is not None:
            query = query.where(User.status == self.status)
        if self.tier is not None:
            query = query.where(User.tier == self.tier)
        if self.created_from is not None:
            query = query.where(User.created_at >= self.created_from)
        if self.created_to is not None:
            query = query.where(User.created_at < self.created_to)
        return query

    def as_json(self) -> dict[str, Any]:
        return {
            k: v.isoformat() if isinstance(v, datetime) else v for k, v in self.__dict__.items()
        }
