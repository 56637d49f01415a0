"""Request-scoped dependencies: the container, units of work and the caller's identity.

The request is the edge: endpoints receive a unit of work, pass its session to services,
and call ``uow.commit()`` themselves once everything succeeded; leaving without committing
rolls back.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from anxin.apikeys.service import Principal, authenticate
from anxin.kit.clock import Clock
from anxin.kit.db import Database
from anxin.kit.errors import Unauthorized
from anxin.kit.unit_of_work import UnitOfWork
from anxin.ledger.engine import LedgerEngine
from anxin.privacy.keys import KeyService
from anxin.settings import Settings

if TYPE_CHECKING:
    from anxin.identity.service import IdentityRuntime


@dataclass
class Container:
    """What one server process shares between requests."""

    settings: Settings
    database: Database
    engine: LedgerEngine
    clock: Clock
    keys: KeyService
    identity: IdentityRuntime | None = None


def get_container(request: Request) -> Container:
    container: Container = request.app.state.container
    return container


def write_uow(container: Annotated[Container, Depends(get_container)]) -> Iterator[UnitOfWork]:
    with UnitOfWork(container.database, write=True) as uow:
        yield uow


def read_uow(container: Annotated[Container, Depends(get_container)]) -> Iterator[UnitOfWork]:
    with UnitOfWork(container.database, write=False) as uow:
        yield uow


_bearer = HTTPBearer(auto_error=False, description="An operator API key: `anx_...`")


def get_principal(
    container: Annotated[Container, Depends(get_container)],
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise Unauthorized("send an API key as `Authorization: Bearer anx_...`")
    with UnitOfWork(container.database, write=False) as uow:
        return authenticate(uow.session, credentials.credentials)


def require_scope(scope: str) -> Callable[[Principal], Principal]:
    def check(principal: Annotated[Principal, Depends(get_principal)]) -> Principal:
        principal.require(scope)
        return principal

    return check


ContainerDep = Annotated[Container, Depends(get_container)]
WriteUoW = Annotated[UnitOfWork, Depends(write_uow)]
ReadUoW = Annotated[UnitOfWork, Depends(read_uow)]
LedgerReader = Annotated[Principal, Depends(require_scope("ledger:read"))]
LedgerWriter = Annotated[Principal, Depends(require_scope("ledger"))]
