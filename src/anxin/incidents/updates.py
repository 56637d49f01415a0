"""Public updates on the status page, from templates, in Chinese and English.

Staff publish an update from a template (investigating, identified, monitoring, resolved)
with optional details per language, or with their own texts. Publishing moves the incident
to the update's status when that is a step forward, records the announcement on the
timeline (the first one is the time to announce) and emails every confirmed subscriber.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from anxin.incidents import subscriptions
from anxin.incidents.errors import InvalidIncident
from anxin.incidents.service import change_status, record_event
from anxin.incidents.texts import LANGUAGES, TEMPLATES, fill, update_template
from anxin.kit.ids import new_id
from anxin.models.incidents import INCIDENT_STATUSES, Incident, IncidentUpdate
from anxin.privacy.vault import Vault

MAX_TITLE = 200
MAX_BODY = 4000
_BEIJING = ZoneInfo("Asia/Shanghai")


def _since(incident: Incident, lang: str) -> str:
    moment = incident.started_at or incident.detected_at
    if lang == "zh":
        return moment.astimezone(_BEIJING).strftime("%Y-%m-%d %H:%M（北京时间）")  # noqa: RUF001
    return moment.strftime("%Y-%m-%d %H:%M UTC")


def render(
    incident: Incident, template: str, details: dict[str, str] | None = None
) -> dict[str, dict[str, str]]:
    """The template's texts for this incident, every language."""
    if template not in TEMPLATES:
        raise InvalidIncident(f"template is one of {', '.join(TEMPLATES)}", field="template")
    texts: dict[str, dict[str, str]] = {}
    for lang, parts in update_template(template).items():
        values = {
            "title": incident.title, "reference": incident.reference,
            "since": _since(incident, lang), "details": (details or {}).get(lang, "").strip(),
        }  # fmt: skip
        try:
            texts[lang] = {k: fill(v, values) for k, v in parts.items()}
        except KeyError as error:  # a template edited with an unknown placeholder
            raise InvalidIncident(f"template {template} uses unknown {error}") from error
    return texts


def _check_texts(texts: dict[str, dict[str, str]]) -> dict[str, dict[str, str]]:
    if set(texts) != set(LANGUAGES):
        raise InvalidIncident("an update needs zh and en texts", field="texts")
    out: dict[str, dict[str, str]] = {}
    for lang in LANGUAGES:
        title = " ".join(texts[lang].get("title", "").split())
        body = texts[lang].get("body", "").strip()
        if not title or len(title) > MAX_TITLE or not body or len(body) > MAX_BODY:
            raise InvalidIncident(
                f"the {lang} update needs a title (1-{MAX_TITLE}) and a body (1-{MAX_BODY})",
                field="texts",
            )
        out[lang] = {"title": title, "body": body}
    return out


def publish(
    session: Session, vault: Vault, incident: Incident, *, now: datetime,
    actor_id: uuid.UUID | None, template: str | None = None,
    details: dict[str, str] | None = None, texts: dict[str, dict[str, str]] | None = None,
    status: str | None = None, site_url: str = "",
) -> IncidentUpdate:  # fmt: skip
    """Publish an update (from ``template``, or ``texts`` written by hand) and email it."""
    if texts is None:
        if template is None:
            raise InvalidIncident("give a template or the texts", field="template")
        texts = render(incident, template, details)
    texts = _check_texts(texts)
    status = status or template or incident.status
    if status not in INCIDENT_STATUSES[:4]:
        raise InvalidIncident("an update announces investigating, identified, monitoring or "
                              "resolved", field="status")  # fmt: skip
    if INCIDENT_STATUSES.index(status) > INCIDENT_STATUSES.index(incident.status):
        change_status(session, incident, status, actor_id=actor_id, now=now)
    update = IncidentUpdate(
        id=new_id(), incident_id=incident.id, status=status, template=template, texts=texts,
        published_by=actor_id, published_at=now,
    )  # fmt: skip
    session.add(update)
    if incident.first_announced_at is None:
        incident.first_announced_at = now
    session.flush()
    sent = subscriptions.send_update(session, vault, incident, update, now=now,
                                     site_url=site_url)  # fmt: skip
    record_event(
        session, incident, "announced",
        {"update_id": str(update.id), "status": status, "template": template,
         "title": texts["en"]["title"], "subscribers_emailed": sent},
        actor_id, now,
    )  # fmt: skip
    return update


def updates_of(
    session: Session, incident_ids: list[uuid.UUID]
) -> dict[uuid.UUID, list[IncidentUpdate]]:
    """Updates per incident, newest first."""
    out: dict[uuid.UUID, list[IncidentUpdate]] = {i: [] for i in incident_ids}
    if not incident_ids:
        return out
    for row in session.scalars(
        select(IncidentUpdate)
        .where(IncidentUpdate.incident_id.in_(incident_ids))
        .order_by(IncidentUpdate.published_at.desc(), IncidentUpdate.id.desc())
    ):
        out[row.incident_id].append(row)
    return out
