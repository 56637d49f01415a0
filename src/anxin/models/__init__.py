"""All ORM models live together so that one metadata object describes the whole schema."""

from anxin.models.apikey import ApiKey
from anxin.models.base import Base
from anxin.models.care import (
    BusinessCalendar,
    CalendarDay,
    ContactRequest,
    Csat,
    Dispute,
    Macro,
    SlaClock,
    SlaPolicy,
    Ticket,
    TicketEvent,
    TicketLink,
    TicketMessage,
)
from anxin.models.identity import (
    Challenge,
    Contact,
    Device,
    ExemptionLedger,
    KycCheck,
    Notification,
    OneTimeCode,
    OutboxMessage,
    Passkey,
    RateLimitCounter,
    RecoveryCode,
    Session,
    TotpFactor,
    TrustedPayee,
    User,
)
from anxin.models.incidents import (
    AffectedHolder,
    AffectedQuery,
    CollectiveGroup,
    CollectiveMember,
    Incident,
    IncidentEvent,
    IncidentUpdate,
    RemediationItem,
    RemediationPlan,
    StatusSubscriber,
)
from anxin.models.insider import (
    AccessLogEntry,
    AuditCheckpoint,
    AuditEntry,
    AuditHead,
    Case,
    ComplianceAlert,
    Honeytoken,
    Reveal,
)
from anxin.models.ledger import Account, Asset, ChainHead, Entry, IdempotencyKey, Transfer
from anxin.models.privacy import DataKey
from anxin.models.rights import (
    Approval,
    Breach,
    BreachHolder,
    Closure,
    ClosurePayout,
    Export,
    ExportHolder,
    StatusAnnouncement,
)
from anxin.models.wallet_merchants import (
    Mandate,
    Merchant,
    MerchantKey,
    MerchantRequest,
    P2PTransfer,
    PaymentIntent,
    Refund,
    WebhookDelivery,
)
from anxin.models.wallet_money import (
    FeeCharge,
    FeeRule,
    FeeWaiver,
    Freeze,
    FreezeAppeal,
    FundingOrder,
    FundingSource,
    NotificationPreference,
    PointsLot,
    PointsRule,
    ReconciliationException,
    ReconciliationRun,
    SimulatedBankRecord,
    WalletAccount,
    WalletRequest,
)

__all__ = [
    "Account",
    "ApiKey",
    "Asset",
    "Base",
    "ChainHead",
    "Challenge",
    "Contact",
    "DataKey",
    "Device",
    "Entry",
    "ExemptionLedger",
    # wallet money
    "FeeCharge",
    "FeeRule",
    "FeeWaiver",
    "Freeze",
    "FreezeAppeal",
    "FundingOrder",
    "FundingSource",
    "IdempotencyKey",
    "KycCheck",
    "Notification",
    "NotificationPreference",
    "OneTimeCode",
    "OutboxMessage",
    "Passkey",
    "PointsLot",
    "PointsRule",
    "RateLimitCounter",
    "ReconciliationException",
    "ReconciliationRun",
    "RecoveryCode",
    "Session",
    "SimulatedBankRecord",
    "TotpFactor",
    "Transfer",
    "TrustedPayee",
    "User",
    "WalletAccount",
    "WalletRequest",
]  # fmt: skip
__all__ += [
    "AccessLogEntry", "AuditCheckpoint", "AuditEntry", "AuditHead", "Case", "ComplianceAlert",
    "Honeytoken", "Reveal",
]  # fmt: skip
__all__ += [
    "Mandate", "Merchant", "MerchantKey", "MerchantRequest", "P2PTransfer", "PaymentIntent",
    "Refund", "WebhookDelivery",
]  # fmt: skip
__all__ += [
    "Approval", "Breach", "BreachHolder", "Closure", "ClosurePayout", "Export", "ExportHolder",
    "StatusAnnouncement",
]  # fmt: skip
__all__ += [
    "BusinessCalendar", "CalendarDay", "ContactRequest", "Csat", "Dispute", "Macro", "SlaClock",
    "SlaPolicy", "Ticket", "TicketEvent", "TicketLink", "TicketMessage",
]  # fmt: skip
__all__ += [
    "AffectedHolder", "AffectedQuery", "CollectiveGroup", "CollectiveMember", "Incident",
    "IncidentEvent", "IncidentUpdate", "RemediationItem", "RemediationPlan", "StatusSubscriber",
]  # fmt: skip
