"""``anxin audit verify|checkpoint|keygen|show``."""

from __future__ import annotations

import base64
import json
from pathlib import Path

from anxin.kit.db import Database
from anxin.privacy.keyring import generate_keyring, load_keyring, write_keyring
from tests.audit.helpers import tampering
from tests.audit.test_verify import build
from tests.cli.conftest import Cli, one_line_error


def test_verify_checkpoint_and_verify_a_published_checkpoint(
    cli: Cli, database: Database, tmp_path: Path
) -> None:
    assert cli("audit", "verify").out.startswith("ok: 0 audit entries")
    problem = one_line_error(cli("audit", "checkpoint"))
    assert "the audit log is empty" in problem
    build(database)
    made = cli("audit", "checkpoint")
    assert made.code == 0, made.err
    doc = json.loads(made.out)
    assert doc["seq"] == 10 and doc["log"] == "anxin-audit" and len(doc["hash"]) == 64
    published = tmp_path / "checkpoint.json"
    published.write_text(made.out)
    result = cli("audit", "verify", "--checkpoint", str(published))
    assert result.code == 0, result.err
    assert result.out.strip() == (
        "ok: 11 audit entries, hash chain intact; 1 checkpoint(s), signatures valid"
    )
    shown = [json.loads(line) for line in cli("audit", "show", "--limit", "2").out.splitlines()]
    assert [e["event"] for e in shown] == ["auth.signin", "audit.checkpoint"]

    with tampering(database) as connection:
        connection.exec_driver_sql("DELETE FROM audit_log WHERE seq = 3")
    failed = cli("audit", "verify", "--checkpoint", str(published))
    assert failed.code == 1
    assert "problem: entry #3 was deleted" in failed.err
    assert "Traceback" not in failed.err

    # A published checkpoint someone edited does not verify either.
    edited = tmp_path / "edited.json"
    edited.write_text(json.dumps({**doc, "seq": 9}))
    result = cli("audit", "verify", "--checkpoint", str(edited))
    assert f"published checkpoint {edited}: invalid signature" in result.err


def test_verify_trusts_extra_public_keys_only_when_told(
    cli: Cli, database: Database, tmp_path: Path
) -> None:
    build(database)
    made = cli("audit", "checkpoint")
    public_key = json.loads(made.out)["public_key"]
    # Another key file: the checkpoint's key is unknown to it, until it is named.
    other = tmp_path / "other-keys.json"
    write_keyring(other, generate_keyring(development=False))
    result = cli("audit", "verify", key_file=str(other))
    assert result.code == 1 and "signed by unknown key" in result.err
    result = cli("audit", "verify", "--public-key", public_key, key_file=str(other))
    assert result.code == 0, result.err
    assert "is not base64" in one_line_error(cli("audit", "verify", "--public-key", "%%"))


def test_keygen_adds_a_key_to_an_old_key_file(bare_cli: Cli, tmp_path: Path) -> None:
    path = tmp_path / "old-keys.json"
    old = generate_keyring(development=False)
    doc = json.loads(old.as_json())
    del doc["audit_signing_key"]
    path.write_text(json.dumps(doc))
    loaded = load_keyring(path, None, None)
    assert loaded is not None and loaded.audit_signing_key is None
    done = bare_cli("audit", "keygen", key_file=str(path))
    assert done.code == 0, done.err
    public = base64.b64decode(done.out.strip().splitlines()[-1])
    assert len(public) == 32
    loaded = load_keyring(path, None, None)
    assert loaded is not None and loaded.audit_signing_key is not None
    assert loaded.keks == old.keks and loaded.blind_index_key == old.blind_index_key
    assert "already has an audit signing key" in one_line_error(
        bare_cli("audit", "keygen", key_file=str(path))
    )


def test_development_key_files_get_a_signing_key_on_first_checkpoint(
    cli: Cli, database: Database, tmp_path: Path
) -> None:
    path = tmp_path / "dev-keys.json"
    doc = json.loads(generate_keyring(development=True).as_json())
    del doc["audit_signing_key"]
    path.write_text(json.dumps(doc))
    build(database, 2)
    made = cli("audit", "checkpoint", env="development", key_file=str(path))
    assert made.code == 0, made.err
    assert "added an audit signing key" in made.err
    loaded = load_keyring(path, None, None)
    assert loaded is not None and loaded.audit_signing_key is not None
    # Outside development the command refuses instead.
    doc = json.loads(generate_keyring(development=False).as_json())
    del doc["audit_signing_key"]
    path.write_text(json.dumps(doc))
    assert "anxin audit keygen" in one_line_error(
        cli("audit", "checkpoint", env="test", key_file=str(path))
    )
