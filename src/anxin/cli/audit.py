"""``anxin audit verify|checkpoint|keygen|show``: the tamper-evident audit log.

Run ``anxin audit checkpoint`` periodically (the server also does, every
ANXIN_AUDIT_CHECKPOINT_INTERVAL_SECONDS) and publish what it prints; ``anxin audit verify``
checks the whole log, every checkpoint's signature, and optionally a published checkpoint.
"""

from __future__ import annotations

import base64
import binascii
import json
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from sqlalchemy import select

from anxin.audit import checkpoints
from anxin.audit import service as audit
from anxin.audit.verify import verify_audit
from anxin.cli.context import CliError, console, errors, open_database, settings
from anxin.kit.clock import SystemClock
from anxin.kit.unit_of_work import UnitOfWork
from anxin.models.insider import AuditEntry
from anxin.privacy.keyring import Keyring, load_keyring, write_keyring
from anxin.privacy.keys import resolve_keyring

app = typer.Typer(help="The tamper-evident audit log.", no_args_is_help=True)


def signing_keyring() -> Keyring:
    """The keyring, with an audit signing key added first in development if it had none."""
    config = settings()
    keyring = resolve_keyring(config)
    path = config.resolved_key_file
    if keyring.audit_signing_key is None and config.is_development and path.exists():
        keyring = keyring.with_audit_key()
        write_keyring(path, keyring)
        errors.print(f"added an audit signing key to the development key file {path}")
    return keyring


def _trusted_keys(extra: list[str]) -> dict[str, bytes]:
    keys: dict[str, bytes] = {}
    keyring = resolve_keyring(settings())
    if keyring.audit_signing_key is not None:
        signer = checkpoints.signer_of(keyring)
        keys[signer.key_id] = signer.public_key
    for text in extra:
        try:
            raw = base64.b64decode(text, validate=True)
        except (binascii.Error, ValueError) as error:
            raise CliError(f"--public-key {text[:12]}... is not base64") from error
        if len(raw) != 32:
            raise CliError("an Ed25519 public key is 32 bytes")
        keys[checkpoints.key_id(raw)] = raw
    return keys


def _check_published(path: Path, keys: dict[str, bytes], hashes: dict[int, bytes]) -> str | None:
    try:
        doc: dict[str, Any] = json.loads(path.read_text())
        seq, digest, key = int(doc["seq"]), bytes.fromhex(doc["hash"]), str(doc["key_id"])
        at = datetime.fromisoformat(str(doc["at"]).replace("Z", "+00:00"))
        signature = base64.b64decode(doc["signature"], validate=True)
    except (OSError, ValueError, KeyError, TypeError) as error:
        return f"published checkpoint {path}: unreadable ({error})"
    public = keys.get(key)
    if public is None:
        return f"published checkpoint {path}: signed by unknown key {key}"
    if not checkpoints.signature_valid(
        public, seq=seq, digest=digest, at=at, signer_key_id=key, signature=signature
    ):
        return f"published checkpoint {path}: invalid signature"
    if hashes.get(seq) != digest:
        return f"published checkpoint {path}: entry #{seq} no longer has the published hash"
    return None


@app.command("verify")
def verify(
    public_key: Annotated[
        list[str] | None,
        typer.Option(help="Also trust checkpoints signed by this Ed25519 public key (base64)"),
    ] = None,
    checkpoint: Annotated[
        list[Path] | None,
        typer.Option(help="A published checkpoint (JSON) the log must still match"),
    ] = None,
) -> None:
    """Check the whole audit log and its checkpoints; print `ok`, or each problem and exit 1."""
    keys = _trusted_keys(public_key or [])
    with open_database() as database, database.connect(write=False) as connection:
        report = verify_audit(connection, keys)
        hashes: dict[int, bytes] = {}
        if checkpoint:
            wanted = {int(json.loads(p.read_text()).get("seq", 0)) for p in checkpoint}
            query = select(AuditEntry.seq, AuditEntry.hash).where(AuditEntry.seq.in_(wanted))
            hashes = {int(seq): bytes(digest) for seq, digest in connection.execute(query)}
    for path in checkpoint or []:
        problem = _check_published(path, keys, hashes)
        if problem:
            report.add(problem)
    for note in report.notes:
        errors.print(f"note: {note}", highlight=False, soft_wrap=True)
    if not keys and report.checkpoints_checked:
        report.add("no audit signing key to check checkpoint signatures with")
    if report.ok:
        console.print(
            f"ok: {report.entries_checked} audit entries, hash chain intact; "
            f"{report.checkpoints_checked} checkpoint(s), signatures valid",
            highlight=False,
        )
        return
    for problem in report.problems:
        errors.print(f"[red]problem:[/] {problem}", highlight=False, soft_wrap=True)
    errors.print(f"[bold red]audit verification failed:[/] {len(report.problems)} problem(s)")
    raise typer.Exit(1)


@app.command("checkpoint")
def checkpoint() -> None:
    """Sign the audit log's current head and print the checkpoint as JSON, to publish."""
    signer = checkpoints.signer_of(signing_keyring())
    with open_database() as database, UnitOfWork(database) as uow:
        row = checkpoints.create(uow.session, signer, SystemClock().now())
        uow.commit()
        doc = checkpoints.published(row, signer.public_key)
    print(json.dumps(doc, indent=2))


@app.command("keygen")
def keygen() -> None:
    """Add an audit signing key (Ed25519) to a key file that has none."""
    path = settings().resolved_key_file
    keyring = load_keyring(path if path.exists() else None, None, None)
    if keyring is None:
        raise CliError(f"no key file at {path}; create one with `anxin keys init`")
    if keyring.audit_signing_key is not None:
        raise CliError(f"{path} already has an audit signing key")
    keyring = keyring.with_audit_key()
    write_keyring(path, keyring)
    signer = checkpoints.signer_of(keyring)
    console.print(f"added an audit signing key to {path}; key id {signer.key_id}", highlight=False)
    print(base64.b64encode(signer.public_key).decode())


@app.command("show")
def show(
    limit: Annotated[int, typer.Option(min=1, max=10_000, help="How many entries")] = 20,
    event: Annotated[str | None, typer.Option(help="Only this event")] = None,
) -> None:
    """Print the newest entries as JSON lines."""
    with open_database() as database, UnitOfWork(database, write=False) as uow:
        rows = audit.entries(uow.session, limit=limit, event_name=event, newest_first=True)
        for row in reversed(rows):
            print(json.dumps({
                "seq": row.seq, "at": row.at.isoformat(), "event": row.event,
                "actor_id": str(row.actor_id) if row.actor_id else None,
                "actor_role": row.actor_role,
                "subject_id": str(row.subject_id) if row.subject_id else None,
                "data": row.data, "hash": row.hash.hex(),
            }, ensure_ascii=False))  # fmt: skip
