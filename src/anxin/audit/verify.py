"""``anxin audit verify``: prove the audit log is intact, or say what was done to it.

A first pass streams the log in order and checks that numbers run 1, 2, 3, ... without
gaps, that every entry's hash matches its content and position and names the entry before
it, and that the head row names the last entry. Only when that fails does a second pass
work out *what* happened, entry by entry:

- altered: the entry's content no longer matches its hash (or, if someone recomputed the
  hash, the next entry no longer links to it);
- deleted: a position is missing (also when later entries were renumbered to close the
  gap: their hashes still commit to their original positions);
- inserted: an entry occupies a position that a genuine entry also claims, or lies outside
  the chain;
- reordered: genuine entries are stored in a different order than they were chained.

Checkpoints are then checked: each must carry a valid Ed25519 signature by a known key,
and the entry it names must still have the hash it signed, which catches even a log whose
every hash was recomputed after a change. Every ``audit.checkpoint`` entry must still have
its checkpoint row.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import Connection, select

from anxin.audit.chain import GENESIS, content_digest, entry_hash
from anxin.audit.checkpoints import signature_valid
from anxin.models.insider import AuditCheckpoint, AuditEntry, AuditHead

_MAX_PROBLEMS = 50


@dataclass
class AuditReport:
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    entries_checked: int = 0
    checkpoints_checked: int = 0

    @property
    def ok(self) -> bool:
        return not self.problems

    def add(self, problem: str) -> None:
        if problem not in self.problems and len(self.problems) < _MAX_PROBLEMS:
            self.problems.append(problem)


@dataclass
class _Row:
    seq: int  # as stored
    prev: bytes
    hash: bytes
    content: bytes
    event: str
    checkpoint: dict[str, object] | None  # data of an audit.checkpoint entry


def _rows(connection: Connection) -> list[_Row]:
    e = AuditEntry.__table__.c
    query = select(e.seq, e.at, e.event, e.actor_id, e.actor_role, e.subject_id, e.data,
                   e.prev_hash, e.hash).order_by(e.seq)  # fmt: skip
    rows = []
    for r in connection.execute(query.execution_options(yield_per=2000)):
        content = content_digest(at=r.at, event=r.event, actor_id=r.actor_id,
                                 actor_role=r.actor_role, subject_id=r.subject_id,
                                 data=r.data)  # fmt: skip
        marker = r.data if r.event == "audit.checkpoint" else None
        rows.append(_Row(int(r.seq), bytes(r.prev_hash), bytes(r.hash), content, r.event, marker))
    return rows


def verify_audit(
    connection: Connection, public_keys: dict[str, bytes],
    progress: Callable[[int], None] | None = None,
) -> AuditReport:  # fmt: skip
    """``public_keys``: the checkpoint keys trusted, by key id."""
    report = AuditReport()
    rows = _rows(connection)
    report.entries_checked = len(rows)
    if progress:
        progress(len(rows))
    head = connection.execute(
        select(AuditHead.last_seq, AuditHead.last_hash).where(AuditHead.id == 1)
    ).one_or_none()
    head_seq, head_hash = (int(head[0]), bytes(head[1])) if head else (0, GENESIS)
    if head is None and rows:
        report.add("the audit head row is missing")
    if not _linear_ok(rows, head_seq, head_hash):
        _classify(rows, head_seq, head_hash, report)
    if any(r.event == "audit.head_restored" for r in rows):
        report.notes.append("the head row was once missing and was restored from the log")
    by_seq = {r.seq: r for r in rows}
    _check_checkpoints(connection, by_seq, rows, public_keys, report)
    return report


def _linear_ok(rows: list[_Row], head_seq: int, head_hash: bytes) -> bool:
    previous = GENESIS
    for position, row in enumerate(rows, start=1):
        if (
            row.seq != position or row.prev != previous
            or entry_hash(row.prev, row.seq, row.content) != row.hash
        ):  # fmt: skip
            return False
        previous = row.hash
    return head_seq == len(rows) and head_hash == previous


def _fits(row: _Row, seq: int) -> bool:
    return entry_hash(row.prev, seq, row.content) == row.hash


def _orphan_position(row: _Row) -> int | None:
    """The position of an entry whose predecessor is gone: the chain's start, or a nearby
    position if it was renumbered to close a gap."""
    if row.prev == GENESIS:
        return 1 if _fits(row, 1) else None
    return next((row.seq + d for d in _SHIFTS if row.seq + d > 0 and _fits(row, row.seq + d)), None)


_SHIFTS = [d for n in range(1, 65) for d in (n, -n)]


def _true_positions(rows: list[_Row]) -> list[int | None]:
    """Where each entry was chained: its stored number if its hash commits to it, else the
    position after the entry it links to if its hash commits to that (a moved entry), else
    None (its content was altered)."""
    index = {row.hash: i for i, row in enumerate(rows)}
    found: dict[int, int | None] = {}

    def resolve(start: int) -> int | None:
        chain: list[int] = []
        i = start
        while i not in found:  # walk back to an entry whose position is known
            row = rows[i]
            if _fits(row, row.seq):
                found[i] = row.seq
                break
            j = index.get(row.prev)
            if j is None or j == i or j in chain:
                found[i] = _orphan_position(row)
                break
            chain.append(i)
            i = j
        for k in reversed(chain):  # then fill forwards
            row = rows[k]
            before = found[index[row.prev]]
            found[k] = before + 1 if before is not None and _fits(row, before + 1) else None
        return found[start]

    return [resolve(i) for i in range(len(rows))]


def _classify(rows: list[_Row], head_seq: int, head_hash: bytes, report: AuditReport) -> None:
    true = _true_positions(rows)
    referenced = {row.prev for row in rows}
    claims: dict[int, list[int]] = defaultdict(list)
    altered: set[int] = set()
    for i, row in enumerate(rows):
        position = true[i]
        if position is None:
            report.add(f"entry #{row.seq} was altered: its content no longer matches its hash")
            altered.add(row.seq)
        else:
            claims[position].append(i)
    genuine: dict[int, int] = {}
    for position, holders in sorted(claims.items()):
        keep = _genuine_claim(rows, holders, position, referenced, head_seq, head_hash)
        genuine[position] = keep
        where = "" if rows[keep].seq == position else f", now stored as #{rows[keep].seq}"
        for i in holders:
            if i != keep:
                report.add(f"entry #{rows[i].seq} was inserted: it is not in the hash chain "
                           f"(the genuine entry #{position} is still there{where})")  # fmt: skip
    top = max([*genuine, head_seq, 0])
    missing = [p for p in range(1, top + 1) if p not in genuine and p not in altered]
    renumbered = any(true[i] != rows[i].seq for i in genuine.values())
    for start, end in _runs(missing):
        span = f"entry #{start} was" if start == end else f"entries #{start}-#{end} were"
        hidden = " (later entries were renumbered to hide it)" if renumbered else ""
        report.add(f"{span} deleted{hidden}")
    in_storage = [true[i] for i in sorted(genuine.values())]
    for before, after in itertools.pairwise(in_storage):
        if before is not None and after is not None and before > after:
            report.add(f"entries #{after} and #{before} were reordered: #{before} is stored "
                       f"before #{after}")  # fmt: skip
    for position, i in sorted(genuine.items()):
        before = genuine.get(position - 1)
        expected = GENESIS if position == 1 else None if before is None else rows[before].hash
        if expected is not None and rows[i].prev != expected:
            report.add(f"entry #{position - 1} was altered and its hash recomputed: entry "
                       f"#{position} links to a different hash")  # fmt: skip
    last = max(genuine, default=0)
    if rows and rows[-1].seq > head_seq > 0:
        report.add(f"entries after #{head_seq} were added behind the head's back (inserted), "
                   "or the head row was rolled back")  # fmt: skip
    elif last and last == head_seq and rows[genuine[last]].hash != head_hash:
        report.add(f"entry #{last} was altered and its hash recomputed: the head names a "
                   "different hash")  # fmt: skip


def _genuine_claim(
    rows: list[_Row], holders: list[int], position: int, referenced: set[bytes],
    head_seq: int, head_hash: bytes,
) -> int:  # fmt: skip
    """Of several entries claiming one position, the one the chain goes on from."""
    if len(holders) == 1:
        return holders[0]
    linked = [
        i for i in holders
        if rows[i].hash in referenced or (position == head_seq and rows[i].hash == head_hash)
    ]  # fmt: skip
    return linked[0] if len(linked) == 1 else holders[0]


def _runs(numbers: list[int]) -> list[tuple[int, int]]:
    runs: list[tuple[int, int]] = []
    for n in numbers:
        if runs and runs[-1][1] == n - 1:
            runs[-1] = (runs[-1][0], n)
        else:
            runs.append((n, n))
    return runs


def _check_checkpoints(
    connection: Connection, by_seq: dict[int, _Row], rows: list[_Row],
    public_keys: dict[str, bytes], report: AuditReport,
) -> None:  # fmt: skip
    c = AuditCheckpoint.__table__.c
    seen: set[str] = set()
    for cp in connection.execute(select(c.id, c.seq, c.hash, c.at, c.key_id, c.signature)):
        report.checkpoints_checked += 1
        seen.add(str(cp.id))
        name = f"checkpoint of entry #{cp.seq} ({cp.at.isoformat(timespec='seconds')})"
        key = public_keys.get(cp.key_id)
        if key is None:
            report.add(f"{name} is signed by unknown key {cp.key_id}: forged, or signed by a "
                       "key this keyring no longer has")  # fmt: skip
        elif not signature_valid(
            key, seq=cp.seq, digest=bytes(cp.hash), at=cp.at, signer_key_id=cp.key_id,
            signature=bytes(cp.signature),
        ):  # fmt: skip
            report.add(f"{name} has an invalid signature: it was forged or altered")
        entry = by_seq.get(int(cp.seq))
        if entry is None:
            report.add(f"{name}: entry #{cp.seq} is gone")
        elif entry.hash != bytes(cp.hash):
            report.add(f"{name}: entry #{cp.seq} no longer has the signed hash, so the log up "
                       "to it was rewritten")  # fmt: skip
    for row in rows:
        if row.checkpoint is not None and str(row.checkpoint.get("checkpoint_id")) not in seen:
            signature = str(row.checkpoint.get("signature", ""))
            report.add(f"the checkpoint recorded in entry #{row.seq} (signature "
                       f"{signature[:12]}...) was deleted")  # fmt: skip
