"""Watermarks that tie a leaked export file to the export and the staff member behind it.

Every file carries three marks:

- a visible header line naming the export, who requested it and who approved it, and
  saying that the file is confidential (anyone forwarding it sees whose it is);
- a ``row_ref`` on every row: ``tag || HMAC(export, holder)``, keyed with a key derived
  from the blind-index root key. ``tag`` is keyed per export, so a file finds its export
  quickly; the HMAC cannot be forged or moved to another holder without the key;
- one canary row, a made-up but plausible holder derived from the export's key (name,
  phone in the satellite range +86 1740, email at the operator's canary domain, a resident
  ID number with a valid check digit), placed at a keyed position. It survives the loss of
  the header and the ``row_ref`` column: whoever finds the canary's values has found this
  export, and anyone contacting the canary's email address reaches the operator.

Nothing here is stored: every mark is recomputed from the export's id, holders and key,
which is how ``trace`` recognises a file.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from anxin.privacy.vault import Vault

_COLUMN = "privacy_exports.watermark"
TAG_CHARS = 6
REF_CHARS = 20
_SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
_GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超兰霞平刚"
_PINYIN = ("wang", "li", "zhang", "liu", "chen", "yang", "huang", "zhao", "wu", "zhou")
_PLACES = ("北京市朝阳区", "上海市浦东新区", "广州市天河区", "深圳市南山区", "杭州市西湖区")
_REGIONS = ("110105", "310115", "440106", "440305", "330106")
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"
_REF = re.compile(f"[0-9a-f]{{{REF_CHARS}}}")
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def _mac(vault: Vault, *parts: str) -> bytes:
    return bytes.fromhex(vault.blind_index(_COLUMN, "|".join(parts)))


def export_tag(vault: Vault, export_id: uuid.UUID) -> str:
    return _mac(vault, "tag", export_id.hex).hex()[:TAG_CHARS]


def row_ref(vault: Vault, export_id: uuid.UUID, holder_id: uuid.UUID) -> str:
    body = _mac(vault, "row", export_id.hex, holder_id.hex).hex()
    return export_tag(vault, export_id) + body[: REF_CHARS - TAG_CHARS]


def header_line(export_id: uuid.UUID, *, requested_by: str, approved_by: str, at: datetime) -> str:
    return (
        f"Anxin export {export_id} requested by {requested_by}, approved by {approved_by}, "
        f"generated {at.astimezone(UTC).isoformat(timespec='seconds')}. CONFIDENTIAL personal "
        "data: every copy is traceable to this export and its requester. 机密个人信息。"
        "每份副本均可追溯到本次导出及其申请人。"
    )


def _resident_id(region: str, birth: date, serial: int) -> str:
    first = f"{region}{birth:%Y%m%d}{serial:03d}"
    check = _ID_CHECK[sum(int(d) * w for d, w in zip(first, _ID_WEIGHTS, strict=True)) % 11]
    return first + check


@dataclass(frozen=True)
class Canary:
    position: int
    values: dict[str, str]

    @property
    def markers(self) -> list[str]:
        """Values distinctive enough to find in a leaked file."""
        keys = ("id", "email", "phone", "id_number")
        return [self.values[key] for key in keys if key in self.values]


def canary(
    vault: Vault, export_id: uuid.UUID, rows: int, *, email_domain: str, created: datetime
) -> Canary:
    """The made-up holder of this export (every field, whichever were asked for)."""
    seed = _mac(vault, "canary", export_id.hex)
    number = int.from_bytes(seed, "big")

    def pick(options: str | tuple[str, ...], shift: int) -> str:
        return options[(number >> shift) % len(options)]

    made = bytearray(seed[:16])
    made[6] = (made[6] & 0x0F) | 0x70  # version 7, like every id here
    made[8] = (made[8] & 0x3F) | 0x80
    holder_id = uuid.UUID(bytes=bytes(made))
    name = pick(_SURNAMES, 8) + pick(_GIVEN, 16) + pick(_GIVEN, 24)
    birth = date(1970, 1, 1) + timedelta(days=(number >> 32) % 12_000)
    region = (number >> 48) % len(_REGIONS)
    values = {
        "id": str(holder_id), "status": "active", "tier": "basic", "locale": "zh-CN",
        "created_at": (created - timedelta(days=30 + (number >> 40) % 700)).isoformat(),
        "display_name": name, "legal_name": name,
        "display_name_masked": name[0] + "*" + name[-1],
        "phone": f"+861740{(number >> 56) % 10_000_000:07d}",
        "email": f"{pick(_PINYIN, 64)}.{(number >> 72) % 9000 + 1000}@{email_domain}",
        "id_number": _resident_id(_REGIONS[region], birth, (number >> 88) % 1000),
        "date_of_birth": birth.isoformat(), "address": _PLACES[region], "nationality": "CN",
    }  # fmt: skip
    values["id_type"], values["id_number_last4"] = "resident_id", values["id_number"][-4:]
    values["phone_masked"] = values["phone"][3:6] + "****" + values["phone"][-4:]
    local, _, domain = values["email"].partition("@")
    values["email_masked"] = f"{local[:1]}***@{domain}"
    return Canary(position=(number >> 100) % (rows + 1), values=values)


# -- recognising a leaked file --------------------------------------------------------------


@dataclass
class Evidence:
    """What a leaked file shows: export ids named in it, row references, other values."""

    named_exports: set[str] = field(default_factory=set)
    refs: set[str] = field(default_factory=set)
    values: set[str] = field(default_factory=set)


def _cells(row: Any) -> list[str]:
    if isinstance(row, dict):
        return [str(v) for v in row.values()]
    if isinstance(row, list):
        return [str(v) for v in row]
    return [str(row)]


def read_evidence(text: str) -> Evidence:
    """Row refs and values from a leaked CSV or JSON export, even if it was edited."""
    evidence = Evidence()
    for line in text.splitlines()[:5]:
        if "Anxin export" in line:
            evidence.named_exports.update(_UUID.findall(line))
    rows: list[Any]
    try:
        loaded = json.loads(text)
        rows = loaded.get("rows", []) if isinstance(loaded, dict) else list(loaded)
        if isinstance(loaded, dict):
            evidence.named_exports.update(_UUID.findall(json.dumps(loaded.get("watermark"))))
    except ValueError:
        body = [line for line in text.splitlines() if not line.startswith("#")]
        rows = list(csv.reader(io.StringIO("\n".join(body))))
    for row in rows:
        for raw in _cells(row):
            cell = raw.strip()
            if _REF.fullmatch(cell):
                evidence.refs.add(cell)
            elif cell:
                evidence.values.add(cell)
    return evidence


def fingerprint(text: str) -> str:
    """SHA-256 of a leaked file, for the audit log (the file itself is personal data)."""
    return hashlib.sha256(text.encode()).hexdigest()
