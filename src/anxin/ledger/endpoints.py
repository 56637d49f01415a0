"""The operator's ledger API under /v1 (server to server, API-key authenticated)."""

from __future__ import annotations

import asyncio
import re
import uuid
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header, Query, Response, status
from fastapi.responses import JSONResponse
from pydantic import AfterValidator

from anxin.api.deps import ContainerDep, LedgerReader, LedgerWriter, ReadUoW, WriteUoW
from anxin.api.problems import problem
from anxin.apikeys.service import Principal
from anxin.kit.canonical import fingerprint
from anxin.kit.errors import AnxinError, Unprocessable
from anxin.ledger import assets, repository, service
from anxin.ledger.commands import (
    MAX_AMOUNT,
    Command,
    CommandResult,
    IdempotencyClaim,
    Operation,
    PostOp,
    ReverseOp,
    TransferOp,
    VoidOp,
)
from anxin.ledger.errors import IdempotencyKeyRequired, IdempotencyKeyReused, rejection_error
from anxin.ledger.schemas import (
    AccountCreate,
    AccountList,
    AccountOut,
    AssetCreate,
    AssetOut,
    BalanceOut,
    BatchCreate,
    BatchItemOut,
    BatchOut,
    EntryOut,
    EntryPageOut,
    PostPending,
    ReverseCreate,
    StatusChange,
    TransferCreate,
    TransferList,
    TransferOut,
    VoidPending,
    no_nul,
)
from anxin.models import Account, Entry, Transfer

router = APIRouter(prefix="/v1", tags=["ledger"])

IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        description="Required on money-moving requests. A replay with the same key and body "
        "returns the first answer; the same key with another body is refused.",
    ),
]
_KEY_PATTERN = re.compile(r"^[\x21-\x7e]{1,255}$")
Limit = Annotated[int, Query(ge=1, le=1000)]
TextFilter = Annotated[str | None, Query(max_length=200), AfterValidator(no_nul)]


# -- helpers ------------------------------------------------------------------------------


def _claim(principal: Principal, key: str | None, route: str, body: Any) -> IdempotencyClaim:
    if key is None:
        raise IdempotencyKeyRequired()
    if not _KEY_PATTERN.fullmatch(key):
        raise Unprocessable(
            "Idempotency-Key must be 1 to 255 printable ASCII characters without spaces",
            code="invalid_idempotency_key",
        )
    return IdempotencyClaim(
        scope=str(principal.key_id),
        key=key,
        fingerprint=fingerprint({"route": route, "body": body}),
    )


async def _execute(container: ContainerDep, command: Command) -> CommandResult:
    result = await asyncio.wrap_future(container.engine.submit(command))
    if result.key_reused:
        raise IdempotencyKeyReused()
    return result


def _rejected(error: AnxinError, *, replayed: bool) -> JSONResponse:
    """A rejection answered as a problem document; a replayed one says so like a success."""
    headers = {"Idempotent-Replayed": "true"} if replayed else None
    return problem(
        error.status, error.code, error.title, error.detail, headers=headers, **error.extra
    )


def _single(result: CommandResult, response: Response) -> TransferOut | JSONResponse:
    outcome = result.outcomes[0]
    if "error" in outcome:
        error = rejection_error(outcome["error"], outcome.get("detail"))
        return _rejected(error, replayed=result.replayed)
    if result.replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return TransferOut.model_validate(outcome["transfer"])


def _entry_cursor(cursor: str | None) -> str | None:
    """Refuse cursors that decode but point nowhere a journal can be (forged or corrupt)."""
    if cursor is None:
        return None
    try:
        _, seq = repository.decode_cursor(cursor)
    except OverflowError as error:
        raise repository.InvalidCursor() from error
    if not 0 <= seq <= MAX_AMOUNT:
        raise repository.InvalidCursor()
    return cursor


def _transfer_op(body: TransferCreate) -> TransferOp:
    return TransferOp(
        source=body.source, destination=body.destination, amount=body.amount, asset=body.asset,
        kind=body.kind, reference=body.reference, metadata=body.metadata, pending=body.pending,
        timeout_seconds=body.timeout_seconds,
    )  # fmt: skip


def account_out(account: Account) -> AccountOut:
    balance = service.balance_of(account)
    return AccountOut(
        id=account.id, asset=account.asset, allow_negative=account.allow_negative,
        status=account.status, status_reason=account.status_reason,
        owner_ref=account.owner_ref, label=account.label, metadata=account.meta,
        balance=BalanceOut(posted=balance.posted, pending=balance.pending,
                           available=balance.available),
        created_at=account.created_at, updated_at=account.updated_at,
    )  # fmt: skip


def transfer_out(transfer: Transfer) -> TransferOut:
    return TransferOut(
        id=transfer.id, action=transfer.action, kind=transfer.kind,
        status=transfer.status, source=transfer.source_id,
        destination=transfer.destination_id, asset=transfer.asset, amount=transfer.amount,
        pending_id=transfer.pending_id, reverses_id=transfer.reverses_id,
        link_id=transfer.link_id, reference=transfer.reference, metadata=transfer.meta,
        expires_at=transfer.expires_at, created_at=transfer.created_at,
        settled_amount=transfer.settled_amount,
    )  # fmt: skip


def entry_out(entry: Entry) -> EntryOut:
    balance = service.Balance.of(
        entry.debits_posted, entry.credits_posted, entry.debits_pending, entry.credits_pending
    )
    return EntryOut(
        seq=entry.seq, transfer_id=entry.transfer_id,
        side="debit" if entry.side == "D" else "credit", posted=entry.posted,
        pending=entry.pending,
        balance=BalanceOut(posted=balance.posted, pending=balance.pending,
                           available=balance.available),
        created_at=entry.created_at,
    )  # fmt: skip


# -- assets -------------------------------------------------------------------------------


@router.get("/assets", response_model=list[AssetOut])
def list_assets(_: LedgerReader, uow: ReadUoW) -> list[AssetOut]:
    return [
        AssetOut.model_validate(a, from_attributes=True) for a in assets.list_assets(uow.session)
    ]


@router.post("/assets", response_model=AssetOut, status_code=status.HTTP_201_CREATED)
def create_asset(body: AssetCreate, _: LedgerWriter, uow: WriteUoW, c: ContainerDep) -> AssetOut:
    info = assets.create_asset(
        uow.session, code=body.code, name=body.name, scale=body.scale, now=c.clock.now()
    )
    uow.commit()
    return AssetOut.model_validate(info, from_attributes=True)


# -- accounts -----------------------------------------------------------------------------


@router.post("/accounts", response_model=AccountOut, status_code=status.HTTP_201_CREATED)
def create_account(
    body: AccountCreate, _: LedgerWriter, uow: WriteUoW, c: ContainerDep
) -> AccountOut:
    account = service.create_account(
        uow.session, asset=body.asset, allow_negative=body.allow_negative,
        owner_ref=body.owner_ref, label=body.label, metadata=body.metadata, now=c.clock.now(),
    )  # fmt: skip
    uow.commit()
    return account_out(account)


@router.get("/accounts", response_model=AccountList)
def list_accounts(
    _: LedgerReader,
    uow: ReadUoW,
    owner_ref: TextFilter = None,
    cursor: uuid.UUID | None = None,
    limit: Limit = 100,
) -> AccountList:
    rows = repository.list_accounts(uow.session, owner_ref=owner_ref, after=cursor, limit=limit)
    next_cursor = str(rows[-1].id) if len(rows) == limit else None
    return AccountList(data=[account_out(a) for a in rows], next_cursor=next_cursor)


@router.get("/accounts/{account_id}", response_model=AccountOut)
def get_account(account_id: uuid.UUID, _: LedgerReader, uow: ReadUoW) -> AccountOut:
    return account_out(repository.get_account(uow.session, account_id))


@router.get("/accounts/{account_id}/balance", response_model=BalanceOut)
def get_balance(
    account_id: uuid.UUID,
    _: LedgerReader,
    uow: ReadUoW,
    at: Annotated[datetime | None, Query(description="A past moment (ISO 8601)")] = None,
) -> BalanceOut:
    if at is None:
        balance = service.balance_of(repository.get_account(uow.session, account_id))
    else:
        if at.tzinfo is None:
            raise Unprocessable("`at` needs a time zone offset", code="invalid_time")
        try:
            at = at.astimezone(UTC)
        except OverflowError as error:
            raise Unprocessable(
                "`at` is outside the range of representable times", code="invalid_time"
            ) from error
        balance = service.balance_as_of(uow.session, account_id, at)
    return BalanceOut(posted=balance.posted, pending=balance.pending, available=balance.available)


@router.get("/accounts/{account_id}/entries", response_model=EntryPageOut)
def list_entries(
    account_id: uuid.UUID,
    _: LedgerReader,
    uow: ReadUoW,
    cursor: str | None = None,
    limit: Limit = 100,
    order: Literal["newest", "oldest"] = "newest",
) -> EntryPageOut:
    repository.get_account(uow.session, account_id)
    page = repository.entries_page(
        uow.session,
        account_id,
        cursor=_entry_cursor(cursor),
        limit=limit,
        newest_first=order == "newest",
    )
    return EntryPageOut(data=[entry_out(e) for e in page.entries], next_cursor=page.next_cursor)


def _status_change(action: str):  # type: ignore[no-untyped-def]
    change = {
        "freeze": service.freeze_account,
        "unfreeze": service.unfreeze_account,
        "close": service.close_account,
    }[action]

    def endpoint(
        account_id: uuid.UUID, body: StatusChange, _: LedgerWriter, uow: WriteUoW, c: ContainerDep
    ) -> AccountOut:
        account = change(uow.session, account_id, reason=body.reason, now=c.clock.now())
        uow.commit()
        return account_out(account)

    endpoint.__name__ = f"{action}_account"
    return endpoint


for _action in ("freeze", "unfreeze", "close"):
    router.add_api_route(
        f"/accounts/{{account_id}}/{_action}",
        _status_change(_action),
        methods=["POST"],
        response_model=AccountOut,
        summary=f"{_action.capitalize()} an account",
    )


# -- transfers ----------------------------------------------------------------------------


@router.post("/transfers", response_model=TransferOut, status_code=status.HTTP_201_CREATED)
async def create_transfer(
    body: TransferCreate,
    principal: LedgerWriter,
    c: ContainerDep,
    response: Response,
    idempotency_key: IdempotencyKey = None,
) -> TransferOut | JSONResponse:
    claim = _claim(principal, idempotency_key, "transfers", body.model_dump(mode="json"))
    result = await _execute(c, Command(operations=(_transfer_op(body),), idempotency=claim))
    return _single(result, response)


@router.post("/transfers/batch", response_model=BatchOut)
async def create_batch(
    body: BatchCreate,
    principal: LedgerWriter,
    c: ContainerDep,
    response: Response,
    idempotency_key: IdempotencyKey = None,
) -> BatchOut | JSONResponse:
    claim = _claim(principal, idempotency_key, "batch", body.model_dump(mode="json"))
    operations: tuple[Operation, ...] = tuple(_transfer_op(t) for t in body.transfers)
    result = await _execute(
        c, Command(operations=operations, linked=body.linked, idempotency=claim)
    )
    if result.replayed:
        response.headers["Idempotent-Replayed"] = "true"
    items = []
    for index, outcome in enumerate(result.outcomes):
        if "transfer" in outcome:
            items.append(
                BatchItemOut(
                    index=index,
                    status="created",
                    transfer=TransferOut.model_validate(outcome["transfer"]),
                )
            )
        else:
            error = {"code": outcome["error"], "detail": outcome.get("detail")}
            items.append(BatchItemOut(index=index, status="rejected", error=error))
    if body.linked and not result.ok:
        failed = next(i for i in items if i.error and i.error["code"] != "linked_event_failed")
        assert failed.error is not None
        rejection = rejection_error(
            failed.error["code"],
            f"transfer {failed.index}: {failed.error['detail']}; no transfer was made",
            index=failed.index,
            results=[i.model_dump(mode="json") for i in items],
        )
        return _rejected(rejection, replayed=result.replayed)
    response.status_code = status.HTTP_201_CREATED if result.ok else status.HTTP_200_OK
    return BatchOut(linked=body.linked, results=items)


@router.get("/transfers", response_model=TransferList)
def list_transfers(
    _: LedgerReader,
    uow: ReadUoW,
    reference: TextFilter = None,
    account: uuid.UUID | None = None,
    cursor: uuid.UUID | None = None,
    limit: Limit = 100,
) -> TransferList:
    rows = repository.list_transfers(
        uow.session, reference=reference, account_id=account, after=cursor, limit=limit
    )
    next_cursor = str(rows[-1].id) if len(rows) == limit else None
    return TransferList(data=[transfer_out(t) for t in rows], next_cursor=next_cursor)


@router.get("/transfers/{transfer_id}", response_model=TransferOut)
def get_transfer(transfer_id: uuid.UUID, _: LedgerReader, uow: ReadUoW) -> TransferOut:
    return transfer_out(repository.get_transfer(uow.session, transfer_id))


@router.post(
    "/transfers/{transfer_id}/post", response_model=TransferOut, status_code=201,
    summary="Post a pending transfer, fully or partially",
)  # fmt: skip
async def post_pending(
    transfer_id: uuid.UUID,
    body: PostPending,
    principal: LedgerWriter,
    c: ContainerDep,
    response: Response,
    idempotency_key: IdempotencyKey = None,
) -> TransferOut | JSONResponse:
    payload = {"id": str(transfer_id), **body.model_dump(mode="json")}
    claim = _claim(principal, idempotency_key, "post", payload)
    op = PostOp(pending_id=transfer_id, amount=body.amount, metadata=body.metadata)
    return _single(await _execute(c, Command(operations=(op,), idempotency=claim)), response)


@router.post(
    "/transfers/{transfer_id}/void", response_model=TransferOut, status_code=201,
    summary="Void a pending transfer, releasing the funds",
)  # fmt: skip
async def void_pending(
    transfer_id: uuid.UUID,
    body: VoidPending,
    principal: LedgerWriter,
    c: ContainerDep,
    response: Response,
    idempotency_key: IdempotencyKey = None,
) -> TransferOut | JSONResponse:
    payload = {"id": str(transfer_id), **body.model_dump(mode="json")}
    claim = _claim(principal, idempotency_key, "void", payload)
    op = VoidOp(pending_id=transfer_id, metadata=body.metadata)
    return _single(await _execute(c, Command(operations=(op,), idempotency=claim)), response)


@router.post(
    "/transfers/{transfer_id}/reverse", response_model=TransferOut, status_code=201,
    summary="Reverse a posted transfer (fully or partially) with a new transfer",
)  # fmt: skip
async def reverse_transfer(
    transfer_id: uuid.UUID,
    body: ReverseCreate,
    principal: LedgerWriter,
    c: ContainerDep,
    response: Response,
    idempotency_key: IdempotencyKey = None,
) -> TransferOut | JSONResponse:
    payload = {"id": str(transfer_id), **body.model_dump(mode="json")}
    claim = _claim(principal, idempotency_key, "reverse", payload)
    op = ReverseOp(
        transfer_id=transfer_id, amount=body.amount, kind=body.kind, reference=body.reference,
        metadata=body.metadata,
    )  # fmt: skip
    return _single(await _execute(c, Command(operations=(op,), idempotency=claim)), response)
