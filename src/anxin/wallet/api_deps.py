"""Small pieces the wallet's endpoints share: the funding provider, times from queries."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import Request

from anxin.api.deps import Container
from anxin.kit.errors import ServiceUnavailable, Unprocessable
from anxin.settings import Environment
from anxin.wallet.funding import FundingProvider, SimulatedBankRail


def funding_provider(request: Request, container: Container) -> FundingProvider:
    """The app's provider (``app.state.funding_provider``), by default the simulated bank
    outside production."""
    provider: FundingProvider | None = getattr(request.app.state, "funding_provider", None)
    if provider is None:
        if container.settings.env is Environment.PRODUCTION:
            # A bank that settles whatever it is told must never move real customers' money.
            raise ServiceUnavailable("no funding provider is configured")
        provider = SimulatedBankRail(container.database)
        request.app.state.funding_provider = provider
    return provider


def aware(moment: datetime | None, name: str) -> datetime | None:
    """A query's time as UTC; a time without an offset is refused, not guessed."""
    if moment is None:
        return None
    if moment.tzinfo is None:
        raise Unprocessable(f"`{name}` needs a time zone offset", code="invalid_time")
    try:
        return moment.astimezone(UTC)
    except OverflowError as error:
        raise Unprocessable(f"`{name}` is out of range", code="invalid_time") from error
