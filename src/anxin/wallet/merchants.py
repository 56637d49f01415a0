"""Merchant accounts and the API keys they act with.

A merchant key is an ordinary operator API key (``anx_<prefix>_<secret>``, checked by
``anxin.apikeys``) whose only scope is ``merchant``, linked to exactly one merchant in
``wallet_merchant_keys``. The link lives in a table of ours rather than a column on
``api_keys`` so that the ledger's key table and its migration stay untouched, and the
scope is not in ``anxin.apikeys.SCOPES`` so that ``anxin apikey create`` cannot mint a
merchant key without a merchant: only ``anxin merchant create``/``key`` can. Merchant keys
never carry ``ledger``, so a merchant cannot reach the operator's ledger API at all.

Each merchant has a webhook signing secret (``whsec_`` + base64, as in the Standard
Webhooks specification). It must be usable again to sign, so it is stored encrypted under
the merchant's own data key rather than hashed.
"""

from __future__ import annotations

import base64
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session

from anxin.apikeys.service import Principal, create_key
from anxin.kit.errors import Forbidden, NotFound, Unprocessable
from anxin.kit.ids import new_id
from anxin.models import Account, ApiKey, Merchant, MerchantKey
from anxin.privacy.vault import Vault

MERCHANT_SCOPE = "merchant"
SECRET_PREFIX = "whsec_"  # noqa: S105 - a prefix, not a secret
_TABLE = "wallet_merchants"
_SECRET_COLUMN = "webhook_secret_enc"  # noqa: S105 - a column name


class MerchantNotFound(NotFound):
    code = "merchant_not_found"
    title = "No such merchant"


class NotAMerchantKey(Forbidden):
    code = "not_a_merchant_key"
    title = "This API key does not act for a merchant"


class MerchantSuspended(Forbidden):
    code = "merchant_suspended"
    title = "This merchant is suspended"


class InvalidWebhookUrl(Unprocessable):
    code = "invalid_webhook_url"
    title = "The webhook URL must be an absolute http or https URL"


@dataclass(frozen=True)
class CreatedMerchant:
    merchant: Merchant
    api_key: str  # shown once
    webhook_secret: str


def new_webhook_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def check_webhook_url(url: str | None) -> str | None:
    if url is None or not url.strip():
        return None
    url = url.strip()
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname or len(url) > 500:
        raise InvalidWebhookUrl(f"not usable as a webhook URL: {url[:100]!r}")
    if parts.username or parts.password:
        raise InvalidWebhookUrl("a webhook URL must not carry credentials")
    return url


def _seal_secret(session: Session, vault: Vault, merchant_id: uuid.UUID, secret: str) -> bytes:
    return vault.encrypt(
        session, merchant_id, table=_TABLE, column=_SECRET_COLUMN, row_id=merchant_id,
        plaintext=secret,
    )  # fmt: skip


def webhook_secret(session: Session, vault: Vault, merchant: Merchant) -> str:
    return vault.decrypt(
        session, merchant.id, table=_TABLE, column=_SECRET_COLUMN, row_id=merchant.id,
        ciphertext=merchant.webhook_secret_enc,
    )  # fmt: skip


def create_merchant(
    session: Session, vault: Vault, *, name: str, webhook_url: str | None, now: datetime
) -> CreatedMerchant:
    name = " ".join(name.split())
    if not name or len(name) > 100 or "\x00" in name:
        raise Unprocessable("a merchant needs a name of 1 to 100 characters", code="invalid_name")
    url = check_webhook_url(webhook_url)
    merchant_id = new_id()
    vault.create_data_key(session, merchant_id, now)
    secret = new_webhook_secret()
    merchant = Merchant(
        id=merchant_id, name=name, status="active", webhook_url=url,
        webhook_secret_enc=_seal_secret(session, vault, merchant_id, secret),
        created_at=now, updated_at=now,
    )  # fmt: skip
    session.add(merchant)
    session.flush()
    return CreatedMerchant(merchant, issue_key(session, merchant, now=now), secret)


def issue_key(session: Session, merchant: Merchant, *, now: datetime) -> str:
    """A new API key for the merchant (earlier keys keep working until revoked)."""
    created = create_key(
        session, name=f"merchant {merchant.name}"[:100], scopes=[MERCHANT_SCOPE], now=now
    )
    session.add(MerchantKey(api_key_id=created.key.id, merchant_id=merchant.id, created_at=now))
    session.flush()
    return created.plaintext


def rotate_webhook_secret(session: Session, vault: Vault, merchant: Merchant, now: datetime) -> str:
    secret = new_webhook_secret()
    merchant.webhook_secret_enc = _seal_secret(session, vault, merchant.id, secret)
    merchant.updated_at = now
    session.flush()
    return secret


def set_webhook_url(session: Session, merchant: Merchant, url: str | None, now: datetime) -> None:
    merchant.webhook_url = check_webhook_url(url)
    merchant.updated_at = now
    session.flush()


def set_status(session: Session, merchant: Merchant, status: str, now: datetime) -> None:
    if status not in ("active", "suspended"):
        raise Unprocessable("status is active or suspended", code="invalid_status")
    merchant.status = status
    merchant.updated_at = now
    session.flush()


def get_merchant(session: Session, merchant_id: uuid.UUID) -> Merchant:
    merchant = session.get(Merchant, merchant_id)
    if merchant is None:
        raise MerchantNotFound(f"no merchant {merchant_id}")
    return merchant


def find_merchant(session: Session, ref: str) -> Merchant:
    """By id, or by exact name when that is unambiguous (for the CLI)."""
    try:
        return get_merchant(session, uuid.UUID(ref))
    except ValueError:
        pass
    found = list(session.scalars(select(Merchant).where(Merchant.name == ref).limit(2)))
    if len(found) != 1:
        raise MerchantNotFound(f"no single merchant named {ref!r}; use its id")
    return found[0]


def list_merchants(session: Session) -> list[Merchant]:
    return list(session.scalars(select(Merchant).order_by(Merchant.created_at)))


def merchant_of(session: Session, principal: Principal) -> Merchant:
    """The merchant an authenticated API key acts for; refuses other keys and suspended
    merchants."""
    principal.require(MERCHANT_SCOPE)
    link = session.get(MerchantKey, principal.key_id)
    if link is None:
        raise NotAMerchantKey("create merchant keys with `anxin merchant create` or `key`")
    merchant = get_merchant(session, link.merchant_id)
    if merchant.status != "active":
        raise MerchantSuspended("this merchant cannot take payments now")
    return merchant


def keys_of(session: Session, merchant_id: uuid.UUID) -> list[ApiKey]:
    query = (
        select(ApiKey)
        .join(MerchantKey, MerchantKey.api_key_id == ApiKey.id)
        .where(MerchantKey.merchant_id == merchant_id)
        .order_by(ApiKey.created_at)
    )
    return list(session.scalars(query))


def settlement_name(merchant_id: uuid.UUID) -> str:
    return f"merchant_settlement:{merchant_id}"


def settlement_account(
    session: Session, merchant_id: uuid.UUID, asset: str, now: datetime
) -> Account:
    from anxin.wallet.accounts import system_account

    return system_account(session, settlement_name(merchant_id), asset, now)
