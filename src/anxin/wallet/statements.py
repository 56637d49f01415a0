"""Consumption records: a holder's statement, built from the ledger journal itself.

Each line is one operation on one wallet account: what it was (the transfer's ``kind``),
with whom and in which category (the transfer's ``metadata.counterparty`` and
``metadata.category``, which every wallet operation sets, already masked; for money
received from another holder, ``metadata.payer``), the fee paid
with it, and the posted balance after it. Legs of one operation share a ``reference``
and are consecutive in the account's journal, so a fee leg joins its operation's line; a
fee paid outside the wallet (a top-up's, collected by the bank) comes from its fee charge.
The fee given back with a refund joins the refund's line as a negative fee.
A hold still pending is a ``pending`` line; a posted hold is a completed line; released
holds moved nothing and are left out.
"""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Row, func, select, tuple_
from sqlalchemy.orm import Session

from anxin.ledger.assets import get_asset
from anxin.ledger.repository import InvalidCursor, decode_cursor, encode_cursor
from anxin.models import Entry, FeeCharge, Transfer
from anxin.wallet import accounts
from anxin.wallet.notify import format_amount

_CHUNK = 500
DEFAULT_CATEGORY = {
    "topup": "top_up", "withdrawal": "withdrawal", "fee": "fees", "p2p": "transfers",
    "payment": "shopping", "mandate_debit": "shopping", "refund": "refunds",
    "points_earned": "rewards", "points_redeemed": "rewards", "points_expired": "rewards",
    "points_credit": "rewards", "points_fee_discount": "rewards", "points_clawback": "rewards",
}  # fmt: skip


@dataclass
class Line:
    id: uuid.UUID  # the operation's main transfer
    at: datetime
    type: str
    status: str  # completed | pending
    amount: int  # signed: + money in, - money out (the fee not included)
    fee: int
    counterparty: str | None
    category: str
    balance_after: int
    asset: str
    reference: str | None
    note: str | None
    position: tuple[datetime, int] = field(repr=False, default=(datetime.min, 0))


@dataclass(frozen=True)
class Filters:
    since: datetime | None = None
    until: datetime | None = None
    types: frozenset[str] = frozenset()
    counterparty: str | None = None
    category: str | None = None
    min_amount: int | None = None
    max_amount: int | None = None

    def keep(self, line: Line) -> bool:
        size = abs(line.amount)
        return (
            (not self.types or line.type in self.types)
            and (self.category is None or line.category == self.category)
            and (self.min_amount is None or size >= self.min_amount)
            and (self.max_amount is None or size <= self.max_amount)
            and (
                self.counterparty is None
                or self.counterparty.casefold() in (line.counterparty or "").casefold()
            )
        )


_FEE_KINDS = frozenset({"fee", "fee_refund"})
_T = Transfer.__table__.alias("t")
_H = Transfer.__table__.alias("h")  # the hold a post resolves
_E = Entry.__table__


def _rows(session: Session, account_id: uuid.UUID, f: Filters,
          before: tuple[datetime, int] | None) -> Iterator[Row[Any]]:  # fmt: skip
    """The account's journal entries newest first, each with its transfer and, for a post,
    the hold it posts: one indexed query per chunk, plain rows (no ORM objects)."""
    position = tuple_(_E.c.created_at, _E.c.seq)
    columns = (
        _E.c.created_at, _E.c.seq, _E.c.side, _E.c.posted, _E.c.debits_posted,
        _E.c.credits_posted, _T.c.id, _T.c.action, _T.c.status, _T.c.amount, _T.c.kind,
        _T.c.reference, _T.c.metadata, _H.c.id.label("h_id"), _H.c.kind.label("h_kind"),
        _H.c.reference.label("h_reference"), _H.c.metadata.label("h_metadata"),
    )  # fmt: skip
    while True:
        query = (
            select(*columns)
            .join(_T, _T.c.id == _E.c.transfer_id)
            .outerjoin(_H, _H.c.id == _T.c.pending_id)
            .where(_E.c.account_id == account_id)
        )
        if f.since is not None:
            query = query.where(_E.c.created_at >= f.since)
        if f.until is not None:
            query = query.where(_E.c.created_at < f.until)
        if before is not None:
            query = query.where(position < tuple_(*before))
        rows: list[Row[Any]] = list(
            session.execute(query.order_by(_E.c.created_at.desc(), _E.c.seq.desc()).limit(_CHUNK))
        )
        yield from rows
        if len(rows) < _CHUNK:
            return
        before = (rows[-1].created_at, rows[-1].seq)


def _lines(session: Session, account_id: uuid.UUID, asset: str, f: Filters,
           before: tuple[datetime, int] | None) -> Iterator[Line]:  # fmt: skip
    current: Line | None = None
    for row in _rows(session, account_id, f, before):
        if row.action in ("void", "expire"):
            continue
        if row.action == "hold" and row.status != "pending":
            continue  # posted (its post is the line) or released (nothing moved)
        held = row.h_id is not None
        about_id, kind = (row.h_id, row.h_kind) if held else (row.id, row.kind)
        reference = row.h_reference if held else row.reference
        size = row.posted if row.action == "post" else row.amount
        joins = (
            current is not None and reference is not None and current.reference == reference
            and (kind in _FEE_KINDS or current.type in _FEE_KINDS)
        )  # fmt: skip
        if not joins:
            if current is not None:
                yield current
            current = Line(
                id=about_id, at=row.created_at, type=kind,
                status="pending" if row.action == "hold" else "completed", amount=0, fee=0,
                counterparty=None, category="fees", asset=asset,
                balance_after=row.credits_posted - row.debits_posted, reference=reference,
                note=None,
            )  # fmt: skip
        assert current is not None
        current.position = (row.created_at, row.seq)
        if kind in _FEE_KINDS:
            # A fee given back with a refund shows as a negative fee on the refund's line.
            current.fee += size if kind == "fee" else -size
            continue
        meta = (row.h_metadata if held else row.metadata) or {}
        current.type, current.id = kind, about_id
        current.amount = size if row.side == "C" else -size
        current.counterparty = _text(meta.get("counterparty"))
        if kind == "p2p" and row.side == "C":  # money received: the payer is the other side
            current.counterparty = _text(meta.get("payer"))
        current.note = _text(meta.get("note"))
        fallback = "refunds" if row.action == "reverse" else "other"
        current.category = _text(meta.get("category")) or DEFAULT_CATEGORY.get(kind, fallback)
    if current is not None:
        yield current


def _text(value: object) -> str | None:
    return str(value)[:200] if isinstance(value, str | int) and value != "" else None


def _outside_fees(session: Session, user_id: uuid.UUID, lines: list[Line]) -> None:
    """Fees the holder paid for operations whose fee leg is not on the wallet (a
    top-up's); never someone else's fee on the same operation (a transfer's payer's)."""
    wanted = {x.reference for x in lines if x.fee == 0 and x.reference and x.type != "fee"}
    if not wanted:
        return
    found: dict[str, int] = {}
    ordered = sorted(r for r in wanted if r is not None)
    for start in range(0, len(ordered), 900):
        rows = session.execute(
            select(FeeCharge.reference, func.sum(FeeCharge.fee))
            .where(
                FeeCharge.reference.in_(ordered[start : start + 900]),
                FeeCharge.user_id == user_id,
                FeeCharge.released_at.is_(None),
            )
            .group_by(FeeCharge.reference)
        ).all()
        found.update({reference: int(total or 0) for reference, total in rows})
    for line in lines:
        if line.fee == 0 and line.reference in found:
            line.fee = found[line.reference]


def _cursor(cursor: str | None) -> tuple[datetime, int] | None:
    """A cursor this API gave out, or ``InvalidCursor`` (never a database error)."""
    if cursor is None:
        return None
    try:
        moment, seq = decode_cursor(cursor)
    except OverflowError as error:
        raise InvalidCursor() from error
    if not 0 <= seq < 2**63:
        raise InvalidCursor()
    return moment, seq


@dataclass(frozen=True)
class Page:
    lines: list[Line]
    next_cursor: str | None


def statement(session: Session, user_id: uuid.UUID, asset: str, f: Filters, *,
              limit: int = 50, cursor: str | None = None) -> Page:  # fmt: skip
    """Lines newest first, filtered; ``next_cursor`` continues after the last one."""
    before = _cursor(cursor)
    account = accounts.find_wallet_account(session, user_id, asset)
    if account is None:
        return Page([], None)
    found: list[Line] = []
    more = False
    for line in _lines(session, account.id, asset, f, before):
        if not f.keep(line):
            continue
        if len(found) == limit:
            more = True
            break
        found.append(line)
    _outside_fees(session, user_id, found)
    last = found[-1].position if more and found else None
    return Page(found, encode_cursor(*last) if last else None)


def all_lines(session: Session, user_id: uuid.UUID, asset: str, f: Filters,
              cap: int = 100_000) -> list[Line]:  # fmt: skip
    account = accounts.find_wallet_account(session, user_id, asset)
    if account is None:
        return []
    found = []
    for line in _lines(session, account.id, asset, f, None):
        if f.keep(line):
            found.append(line)
            if len(found) >= cap:
                break
    _outside_fees(session, user_id, found)
    return found


# -- monthly summary and CSV ------------------------------------------------------------------


def month_bounds(year: int, month: int) -> tuple[datetime, datetime]:
    start = datetime(year, month, 1, tzinfo=accounts.BUSINESS_TZ)
    following = (start + timedelta(days=32)).replace(day=1)
    return start, following


@dataclass
class CategoryTotal:
    category: str
    money_in: int = 0
    money_out: int = 0
    fees: int = 0
    count: int = 0


def monthly_summary(session: Session, user_id: uuid.UUID, asset: str, year: int,
                    month: int) -> list[CategoryTotal]:  # fmt: skip
    since, until = month_bounds(year, month)
    totals: dict[str, CategoryTotal] = {}
    for line in all_lines(session, user_id, asset, Filters(since=since, until=until)):
        if line.status != "completed":
            continue
        row = totals.setdefault(line.category, CategoryTotal(line.category))
        row.count += 1
        row.fees += line.fee
        if line.amount >= 0:
            row.money_in += line.amount
        else:
            row.money_out += -line.amount
    return sorted(totals.values(), key=lambda t: (-t.money_out, t.category))


CSV_COLUMNS = [
    "date", "type", "status", "counterparty", "category", "amount", "fee", "balance_after",
    "asset", "reference", "note",
]  # fmt: skip
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: str | None) -> str:
    # A spreadsheet runs cells starting with these as formulas (CSV injection).
    text = value or ""
    return f"'{text}" if text.startswith(_FORMULA_START) else text


def _decimal(amount: int, scale: int) -> str:
    return format_amount(amount, scale, "").strip()


def to_csv(session: Session, lines: list[Line], asset: str) -> str:
    scale = get_asset(session, asset).scale
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for x in lines:
        writer.writerow([
            x.at.astimezone(accounts.BUSINESS_TZ).isoformat(timespec="seconds"), x.type,
            x.status, _cell(x.counterparty), _cell(x.category), _decimal(x.amount, scale),
            _decimal(x.fee, scale), _decimal(x.balance_after, scale), asset, x.reference or "",
            _cell(x.note),
        ])  # fmt: skip
    return out.getvalue()
