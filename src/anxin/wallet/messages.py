"""Texts of the wallet's notifications, by kind and locale: (title, body template).

Bodies name amounts, fees and masked counterparties only, never full card or account
numbers or names. Every kind the wallet sends has its own words (``KINDS``; a test keeps
them complete); an unknown kind falls back to ``money.moved`` so that a new kind of
movement from elsewhere is still notified rather than lost.
"""

# Chinese texts use full-width punctuation on purpose.
# ruff: noqa: RUF001

from __future__ import annotations

TEXTS: dict[str, dict[str, tuple[str, str]]] = {
    "money.moved": {
        "zh-CN": (
            "账户资金变动",
            "您的钱包资金变动 {signed_amount}{counterparty_text}。{balance_text}",
        ),
        "en": (
            "Money moved",
            "Your wallet changed by {signed_amount}{counterparty_text}. {balance_text}",
        ),
    },
    "topup.completed": {
        "zh-CN": ("充值成功", "从{counterparty}充值 {amount} 已到账，手续费 {fee}。{balance_text}"),
        "en": (
            "Top-up received",
            "Your top-up of {amount} from {counterparty} arrived; fee {fee}. {balance_text}",
        ),
    },
    "topup.failed": {
        "zh-CN": ("充值失败", "从{counterparty}充值 {amount} 未成功（{reason}），钱包未入账。"),
        "en": (
            "Top-up failed",
            "Your top-up of {amount} from {counterparty} did not go "
            "through ({reason}); nothing was credited.",
        ),
    },
    "topup.on_hold": {
        "zh-CN": ("充值暂缓入账", "银行已确认充值 {amount}，但您的钱包已被冻结，解冻后自动入账。"),
        "en": (
            "Top-up on hold",
            "The bank confirmed your top-up of {amount}, but your wallet "
            "is frozen; it will be credited when the freeze is lifted.",
        ),
    },
    "withdrawal.started": {
        "zh-CN": (
            "提现处理中",
            "提现 {amount} 至{counterparty}正在处理，手续费 {fee}，资金已暂时冻结。",
        ),
        "en": (
            "Withdrawal on its way",
            "Your withdrawal of {amount} to {counterparty} is being "
            "processed; fee {fee}. The money is held until the bank confirms.",
        ),
    },
    "withdrawal.completed": {
        "zh-CN": ("提现成功", "提现 {amount} 至{counterparty}已完成，手续费 {fee}。{balance_text}"),
        "en": (
            "Withdrawal completed",
            "Your withdrawal of {amount} to {counterparty} was paid out; fee {fee}. {balance_text}",
        ),
    },
    "withdrawal.failed": {
        "zh-CN": ("提现失败", "提现 {amount} 至{counterparty}未成功（{reason}），资金已退回钱包。"),
        "en": (
            "Withdrawal failed",
            "Your withdrawal of {amount} to {counterparty} failed "
            "({reason}); the money is back in your wallet.",
        ),
    },
    "payment.sent": {
        "zh-CN": ("付款成功", "向{counterparty}付款 {amount}，手续费 {fee}。{balance_text}"),
        "en": ("Payment made", "You paid {amount} to {counterparty}; fee {fee}. {balance_text}"),
    },
    "payment.released": {
        "zh-CN": (
            "付款未扣款",
            "向{counterparty}的付款未被收取，为此预留的 {amount} 已恢复为可用余额。",
        ),
        "en": (
            "Payment not taken",
            "{counterparty} did not take your payment; the {amount} set aside for it "
            "is available again.",
        ),
    },
    "mandate.debited": {
        "zh-CN": (
            "授权扣款",
            "{counterparty}按您签署的扣款授权扣款 {amount}，手续费 {fee}。{balance_text}"
            "您可随时在应用内取消授权。",
        ),
        "en": (
            "Debit under your mandate",
            "{counterparty} took {amount} under the mandate you signed; fee {fee}. "
            "{balance_text} You can cancel the mandate at any time in the app.",
        ),
    },
    "refund.received": {
        "zh-CN": (
            "退款到账",
            "{counterparty}退款 {amount} 已到账，退还手续费 {fee}。{balance_text}",
        ),
        "en": (
            "Refund received",
            "{counterparty} refunded {amount} to your wallet, and {fee} of the fee. {balance_text}",
        ),
    },
    "transfer.sent": {
        "zh-CN": ("转账成功", "向{counterparty}转账 {amount}，手续费 {fee}。{balance_text}"),
        "en": (
            "Money sent",
            "You sent {amount} to {counterparty}; fee {fee}. {balance_text}",
        ),
    },
    "transfer.received": {
        "zh-CN": ("收到转账", "{counterparty}向您转账 {amount}，已到账。{balance_text}"),
        "en": ("Money received", "{counterparty} sent you {amount}. {balance_text}"),
    },
    "points.earned": {
        "zh-CN": ("获得积分", "本次消费获得 {points} 积分，{expires_text}"),
        "en": ("Points earned", "You earned {points} points on this payment; {expires_text}"),
    },
    "points.redeemed": {
        "zh-CN": ("积分已使用", "已使用 {points} 积分，抵扣 {amount}。"),
        "en": ("Points redeemed", "You redeemed {points} points for {amount}."),
    },
    "points.clawed_back": {
        "zh-CN": ("积分已扣回", "因退款，扣回该笔消费获得的 {points} 积分。"),
        "en": (
            "Points taken back",
            "{points} points earned on a payment that was refunded were taken back.",
        ),
    },
    "points.expired": {
        "zh-CN": ("积分已过期", "{points} 积分已过期。"),
        "en": ("Points expired", "{points} of your points expired."),
    },
    "wallet.frozen": {
        "zh-CN": (
            "钱包已冻结",
            "{explanation}{scope_text}下一步：{next_steps}我们将在 {review_by} "
            "前完成复核。如有异议可在应用内申诉。",
        ),
        "en": (
            "Your wallet is frozen",
            "{explanation} {scope_text} What to do next: "
            "{next_steps} We will review this by {review_by}. You can appeal in the app.",
        ),
    },
    "wallet.unfrozen": {
        "zh-CN": ("钱包已解冻", "您的钱包已解除冻结，可以正常使用。"),
        "en": (
            "Your wallet is unfrozen",
            "The freeze on your wallet was lifted; you can use it again.",
        ),
    },
    "wallet.appeal_received": {
        "zh-CN": ("申诉已收到", "我们已收到您对钱包冻结的申诉，将在复核期限前答复您。"),
        "en": (
            "Appeal received",
            "We received your appeal against the freeze and will answer "
            "before the review deadline.",
        ),
    },
    "reconciliation.discrepancy": {
        "zh-CN": (
            "资金核对异常",
            "我们在核对{what} {amount} 时发现银行记录与钱包不一致，"
            "工作人员正在处理，无需您操作，处理后会通知您。",
        ),
        "en": (
            "We are checking a transaction",
            "While reconciling your {what} of {amount} "
            "we found the bank's records and your wallet disagree. Our staff are on it; "
            "you need not do anything, and we will tell you when it is resolved.",
        ),
    },
    "reconciliation.resolved": {
        "zh-CN": ("资金核对已处理", "您的{what} {amount} 的核对异常已处理：{outcome}"),
        "en": (
            "Transaction check resolved",
            "The discrepancy on your {what} of {amount} was resolved: {outcome}",
        ),
    },
}

WORDS: dict[str, dict[str, str]] = {
    "zh-CN": {
        "balance": "余额 {balance}。", "topup": "充值", "withdrawal": "提现",
        "with": "（{counterparty}）", "scope_all": "冻结期间钱包内资金不能转入或转出。",
        "scope_outgoing": "冻结期间不能付款、转账或提现，但可以收款。",
        "expires": "有效期至 {date}。", "bank": "银行账户", "card": "银行卡",
        "bank_account": "银行账户", "someone": "对方",
    },
    "en": {
        "balance": "Balance: {balance}.", "topup": "top-up", "withdrawal": "withdrawal",
        "with": " with {counterparty}", "scope_all": "No money can move in or out of it.",
        "scope_outgoing": "You cannot pay, transfer or withdraw, but you can still receive.",
        "expires": "they expire on {date}.", "bank": "your bank", "card": "card",
        "bank_account": "bank account", "someone": "the other person",
    },
}  # fmt: skip


# Kinds the wallet sends; each must have its own text in every locale.
KINDS = frozenset(TEXTS) - {"money.moved"}
LOCALES = ("zh-CN", "en")


def text(kind: str, locale: str) -> tuple[str, str]:
    texts = TEXTS.get(kind) or TEXTS["money.moved"]
    return texts.get(locale) or texts.get(locale.split("-", 1)[0]) or texts["zh-CN"]


def word(key: str, locale: str) -> str:
    words = WORDS.get(locale) or WORDS.get(locale.split("-", 1)[0]) or WORDS["en"]
    return words[key]
