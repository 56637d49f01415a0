"""Macros: saved replies in Chinese and English with placeholders, kept by care leads.

A macro body may name only the placeholders below, plainly (``{holder_name}``, no
attributes, indexes, conversions or format specs): it is filled by our own code, never by
``str.format`` on arbitrary objects, so a macro cannot reach into anything else.
"""

from __future__ import annotations

import string
import uuid
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from anxin.audit import service as audit
from anxin.care import sla
from anxin.care.errors import InvalidMacro, MacroExists, MacroNotFound
from anxin.identity.contacts import display_name
from anxin.kit.ids import new_id
from anxin.models import User
from anxin.models.care import CATEGORIES, Macro, Ticket
from anxin.privacy.vault import Vault

PLACEHOLDERS = (
    "holder_name", "ticket_reference", "agent_name", "category", "expected_answer",
)  # fmt: skip
MAX_BODY = 4000
_BEIJING = ZoneInfo("Asia/Shanghai")

CATEGORY_LABELS: dict[str, dict[str, str]] = {
    "unauthorized_debit": {"zh": "未授权扣款", "en": "unauthorised debit"},
    "funds_frozen": {"zh": "资金冻结", "en": "frozen funds"},
    "topup_withdrawal": {"zh": "充值与提现", "en": "top-up and withdrawal"},
    "verification_login": {"zh": "实名认证与登录", "en": "verification and sign-in"},
    "fees": {"zh": "手续费", "en": "fees"},
    "points": {"zh": "积分", "en": "points"},
    "refund": {"zh": "退款", "en": "refund"},
    "service_quality": {"zh": "服务质量", "en": "service quality"},
    "privacy": {"zh": "个人信息保护", "en": "privacy"},
    "feature_request": {"zh": "功能建议", "en": "feature request"},
    "other": {"zh": "其他", "en": "other"},
}
_CUSTOMER = {"zh": "客户", "en": "customer"}
_SOON = {"zh": "尽快", "en": "as soon as we can"}


def _parts(body: str) -> list[tuple[str, str | None]]:
    """(literal text, placeholder or None) pieces; refuses anything but known names."""
    try:
        parsed = list(string.Formatter().parse(body))
    except ValueError as error:
        raise InvalidMacro(f"the macro text has a stray brace: {error}", field="body") from error
    pieces: list[tuple[str, str | None]] = []
    for literal, name, spec, conversion in parsed:
        if name is not None and (name not in PLACEHOLDERS or spec or conversion):
            known = ", ".join("{" + p + "}" for p in PLACEHOLDERS)
            raise InvalidMacro(f"unknown placeholder {{{name}}}; use {known}", field="body")
        pieces.append((literal, name))
    return pieces


def _check(name: str, language: str, category: str | None, body: str) -> None:
    if not name.strip() or len(name) > 100:
        raise InvalidMacro("a macro name has 1 to 100 characters", field="name")
    if language not in ("zh", "en"):
        raise InvalidMacro("language is zh or en", field="language")
    if category is not None and category not in CATEGORIES:
        raise InvalidMacro(f"unknown category {category!r}", field="category")
    if not body.strip() or len(body) > MAX_BODY:
        raise InvalidMacro(f"a macro body has 1 to {MAX_BODY} characters", field="body")
    _parts(body)


def _taken(session: Session, name: str, language: str, but: uuid.UUID | None = None) -> bool:
    query = select(Macro.id).where(Macro.name == name, Macro.language == language)
    if but is not None:
        query = query.where(Macro.id != but)
    return session.scalar(query) is not None


def _audit(session: Session, event: str, macro: Macro, actor: User, now: datetime) -> None:
    audit.append(session, event=f"care.macro_{event}", actor_id=actor.id, actor_role=actor.role,
                 subject_id=None, data={"macro": str(macro.id), "name": macro.name,
                                        "language": macro.language}, now=now)  # fmt: skip


def create(
    session: Session, *, name: str, language: str, category: str | None, body: str,
    actor: User, now: datetime,
) -> Macro:  # fmt: skip
    name = name.strip()
    _check(name, language, category, body)
    if _taken(session, name, language):
        raise MacroExists(f"there is already a {language} macro named {name!r}")
    macro = Macro(id=new_id(), name=name, language=language, category=category, body=body,
                  active=True, created_by=actor.id, created_at=now)  # fmt: skip
    session.add(macro)
    session.flush()
    _audit(session, "created", macro, actor, now)
    return macro


def get(session: Session, macro_id: uuid.UUID) -> Macro:
    macro = session.get(Macro, macro_id)
    if macro is None:
        raise MacroNotFound()
    return macro


def update(
    session: Session, macro: Macro, *, actor: User, now: datetime, name: str | None = None,
    body: str | None = None, category: str | None = None, clear_category: bool = False,
    active: bool | None = None,
) -> Macro:  # fmt: skip
    new_name = name.strip() if name is not None else macro.name
    new_body = body if body is not None else macro.body
    new_category = None if clear_category else (category or macro.category)
    _check(new_name, macro.language, new_category, new_body)
    if new_name != macro.name and _taken(session, new_name, macro.language, but=macro.id):
        raise MacroExists(f"there is already a {macro.language} macro named {new_name!r}")
    macro.name, macro.body, macro.category = new_name, new_body, new_category
    if active is not None:
        macro.active = active
    session.flush()
    _audit(session, "updated", macro, actor, now)
    return macro


def delete(session: Session, macro: Macro, *, actor: User, now: datetime) -> None:
    _audit(session, "deleted", macro, actor, now)
    session.delete(macro)
    session.flush()


def listing(
    session: Session, *, language: str | None = None, category: str | None = None,
    include_inactive: bool = False,
) -> list[Macro]:  # fmt: skip
    """Macros for a language; with a category, those for it and the general ones."""
    query = select(Macro).order_by(Macro.language, Macro.name)
    if language is not None:
        query = query.where(Macro.language == language)
    if category is not None:
        query = query.where((Macro.category == category) | Macro.category.is_(None))
    if not include_inactive:
        query = query.where(Macro.active.is_(True))
    return list(session.scalars(query))


def render(session: Session, vault: Vault, macro: Macro, ticket: Ticket, *, agent: User) -> str:
    """The macro filled in for ``ticket``, in the macro's language. The agent is named by
    pseudonym, never by their real name."""
    language = macro.language
    holder = session.get(User, ticket.holder_id) if ticket.holder_id else None
    name = display_name(session, vault, holder) if holder is not None else None
    expected = sla.expected_answer_at(session, ticket)
    values = {
        "holder_name": name or _CUSTOMER[language],
        "ticket_reference": ticket.reference,
        "agent_name": agent.pseudonym or "staff",
        "category": CATEGORY_LABELS[ticket.category][language],
        "expected_answer": (
            expected.astimezone(_BEIJING).strftime("%Y-%m-%d %H:%M")
            if expected
            else _SOON[language]
        ),
    }
    return "".join(
        literal + (values[name_] if name_ else "") for literal, name_ in _parts(macro.body)
    )
