"""The unit of work: one database transaction owned by the edge.

A request, a CLI command or a job opens a unit of work, hands its session to services
(which add and flush but never commit), and commits once at the end. Leaving the block
without ``commit()`` rolls everything back, so a failed request leaves no partial state.
"""

from __future__ import annotations

from types import TracebackType

from sqlalchemy.orm import Session

from anxin.kit.db import Database


class UnitOfWork:
    def __init__(self, database: Database, *, write: bool = True) -> None:
        self._database = database
        self._write = write
        self._session: Session | None = None

    @property
    def session(self) -> Session:
        if self._session is None:
            raise RuntimeError("unit of work used outside its `with` block")
        return self._session

    def __enter__(self) -> UnitOfWork:
        self._session = self._database.session(write=self._write)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        session = self.session
        try:
            session.rollback()
        finally:
            session.close()
            self._session = None

    def commit(self) -> None:
        self.session.commit()
