"""``anxin incident plan|approve|remediate``: an incident's remediation plan from the
terminal, under the same rules as the API (the acting staff member is named with
``--staff``: their id, pseudonym or work email, and their role must allow the step).

``plan`` previews what a spec would pay per asset and change per kind, and saves it as a
draft only when confirmed (``--yes``); ``approve`` approves (or ``--reject``s) a draft
someone else prepared; ``remediate`` executes the approved plan with a progress bar, one
transaction per chunk, and carries on where an interrupted run stopped.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from sqlalchemy import select
from sqlalchemy.orm import Session

from anxin.cli.context import CliError, console, open_database, settings
from anxin.identity.contacts import find_contact, parse_contact
from anxin.incidents import remediation_approval as approval
from anxin.incidents import remediation_execute, remediation_plan
from anxin.incidents.remediation_execute import ChunkResult
from anxin.incidents.remediation_progress import plans_of, progress
from anxin.incidents.remediation_runner import CHUNK_ITEMS, run_plan
from anxin.incidents.remediation_spec import parse_spec
from anxin.incidents.service import find_incident
from anxin.kit.clock import SystemClock
from anxin.kit.unit_of_work import UnitOfWork
from anxin.ledger.assets import get_asset
from anxin.models import User
from anxin.models.incidents import RemediationPlan
from anxin.privacy.keys import KeyService, resolve_keyring
from anxin.privacy.vault import Vault
from anxin.wallet.notify import format_amount

Incident = Annotated[str, typer.Argument(help="The incident's reference (INC-2026-0001) or id")]
Staff = Annotated[str, typer.Option(help="Who acts: a staff id, pseudonym or work email")]


def _vault() -> Vault:
    return KeyService(resolve_keyring(settings())).vault()


def find_staff(session: Session, vault: Vault, who: str) -> User:
    text = who.strip()
    user: User | None = None
    try:
        user = session.get(User, uuid.UUID(text))
    except ValueError:
        if "@" in text:
            contact = find_contact(session, vault, parse_contact("email", text))
            user = session.get(User, contact.user_id) if contact is not None else None
        else:
            user = session.scalars(select(User).where(User.pseudonym == text)).first()
    if user is None or user.kind != "staff" or user.status != "active":
        raise CliError(f"no active staff member {text!r}")
    return user


def _money(session: Session, amounts: dict[str, int]) -> str:
    shown = [format_amount(v, get_asset(session, k).scale, k) for k, v in sorted(amounts.items())]
    return ", ".join(shown) or "-"


def _latest(session: Session, incident_id: uuid.UUID, *statuses: str) -> RemediationPlan:
    for plan in plans_of(session, incident_id):
        if plan.status in statuses:
            return plan
    raise CliError(f"the incident has no {' or '.join(statuses)} remediation plan")


def plan(
    incident: Incident, staff: Staff,
    spec: Annotated[Path, typer.Option(help="The plan's spec as a JSON file (docs/incidents.md)",
                                       exists=True, dir_okay=False, readable=True)],
    yes: Annotated[bool, typer.Option("--yes", help="Save the draft without asking")] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Only preview")] = False,
) -> None:  # fmt: skip
    """Preview a remediation plan for every affected holder, then save it as a draft."""
    try:
        data = json.loads(spec.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as error:
        raise CliError(f"{spec} is not valid JSON: {error}") from error
    parsed = parse_spec(data)
    vault = _vault()
    with open_database() as database, UnitOfWork(database) as uow:
        s = uow.session
        found = find_incident(s, incident)
        who = find_staff(s, vault, staff)
        remediation_plan.require(who, "remediation:prepare")
        summary = remediation_plan.preview(s, found, parsed).to_json()
        table = Table(title=f"Remediation plan for {found.reference}", show_header=False)
        table.add_row("affected holders", str(summary["affected_holders"]))
        table.add_row("holders in the plan", str(summary["holders"]))
        for kind, count in summary["items"].items():
            money = _money(s, summary["per_kind"].get(kind, {}))
            table.add_row(kind, f"{count} item(s)" + (f", {money}" if money != "-" else ""))
        table.add_row("[bold]total paid[/]", _money(s, summary["totals"]))
        skipped = ", ".join(f"{k} {v}" for k, v in summary["skipped"].items()) or "none"
        table.add_row("skipped", skipped)
        console.print(table)
        if dry_run or not (yes or typer.confirm("Save this plan as a draft?", default=False)):
            console.print("nothing saved")
            return
        saved, _ = remediation_plan.prepare(s, found, parsed, staff=who, now=SystemClock().now())
        uow.commit()
        console.print(f"draft plan {saved.id} saved; another staff member must approve it "
                      f"(anxin incident approve {found.reference})", highlight=False)  # fmt: skip


def approve(
    incident: Incident, staff: Staff,
    note: Annotated[str | None, typer.Option(help="Why (required to reject)")] = None,
    reject: Annotated[bool, typer.Option("--reject", help="Reject the draft instead")] = False,
) -> None:  # fmt: skip
    """Approve (or reject) the incident's draft plan; not the preparer's to decide."""
    vault = _vault()
    with open_database() as database, UnitOfWork(database) as uow:
        s = uow.session
        found = find_incident(s, incident)
        who = find_staff(s, vault, staff)
        draft = _latest(s, found.id, "draft")
        now = SystemClock().now()
        if reject:
            approval.reject(s, draft.id, who, now=now, note=note or "")
        else:
            approval.approve(s, draft.id, who, now=now, note=note)
        totals = _money(s, draft.totals)
        uow.commit()
    verb = "rejected" if reject else "approved"
    console.print(f"plan {draft.id} {verb} ({draft.item_count} items, {totals})", highlight=False)


def remediate(
    incident: Incident, staff: Staff,
    chunk: Annotated[int, typer.Option(min=10, max=10_000,
                                       help="Items per transaction")] = CHUNK_ITEMS,
    retry_failed: Annotated[bool, typer.Option("--retry-failed",
                                               help="Put failed items back first")] = False,
) -> None:  # fmt: skip
    """Execute the incident's approved plan (or carry on with an interrupted run)."""
    vault = _vault()
    clock = SystemClock()
    with open_database() as database:
        with UnitOfWork(database) as uow:
            s = uow.session
            found = find_incident(s, incident)
            who = find_staff(s, vault, staff)
            target = _latest(s, found.id, "approved", "executing", "done")
            if retry_failed:
                again = remediation_execute.retry_failed(s, target.id, who, now=clock.now())
                console.print(f"{again} failed item(s) put back to pending")
            before = progress(s, target)
            uow.commit()
        plan_id, staff_id = target.id, who.id
        columns = (TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                   TextColumn("{task.fields[rate]}"), TimeElapsedColumn())  # fmt: skip
        with Progress(*columns, console=console, transient=False) as bar:
            task = bar.add_task(f"{found.reference} paid", total=before["total"],
                                completed=before["paid"] + before["failed"], rate="")  # fmt: skip

            def advance(result: ChunkResult) -> None:
                bar.advance(task, result.done + result.failed)
                elapsed = bar.tasks[0].elapsed or 0
                done = bar.tasks[0].completed - before["paid"] - before["failed"]
                bar.update(task, rate=f"{done / elapsed:,.0f} items/s" if elapsed else "")

            run = run_plan(database, vault, plan_id, staff_id, clock=clock, chunk_items=chunk,
                           on_chunk=advance)  # fmt: skip
        with UnitOfWork(database, write=False) as uow:
            shown = progress(uow.session, approval.get_plan(uow.session, plan_id))
            paid = {a: v["paid"] for a, v in shown["per_asset"].items()}
            money = _money(uow.session, paid)
    state = "done" if run.finished else "stopped"
    counts = f"{shown['failed']} failed, {shown['pending']} pending"
    console.print(f"{state}: {shown['paid']}/{shown['total']} items paid ({money}), {counts}",
                  highlight=False)  # fmt: skip
    if shown["failed"]:
        console.print("fix the failed items' cause, then run again with --retry-failed")
