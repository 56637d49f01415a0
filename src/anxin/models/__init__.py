"""All ORM models live together so that one metadata object describes the whole schema."""

from anxin.models.apikey import ApiKey
from anxin.models.base import Base
from anxin.models.ledger import Account, Asset, ChainHead, Entry, IdempotencyKey, Transfer

__all__ = ["Account", "ApiKey", "Asset", "Base", "ChainHead", "Entry", "IdempotencyKey", "Transfer"]
