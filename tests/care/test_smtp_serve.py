"""The listener as operators run it: inside `anxin serve` (ANXIN_CARE_SMTP_PORT) and alone
as `anxin care smtp`, real processes on both databases, a real smtplib client."""

from __future__ import annotations

import signal
import smtplib
import subprocess
import time
from email.message import EmailMessage
from pathlib import Path

import pytest
from sqlalchemy import select

from anxin.kit.db import Database
from anxin.kit.unit_of_work import UnitOfWork
from anxin.models.care import Ticket
from tests.migrations.databases import empty_db_url
from tests.system.server import ANXIN, Server, anxin_env, free_port, run_anxin

__all__ = ["empty_db_url"]
pytestmark = pytest.mark.slow


def _complaint(subject: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = "Chen <chen@example.com>"
    message["To"] = "care@anxin.example"
    message["Subject"] = subject
    message.set_content("My top-up never arrived.")
    return message


def _send_when_listening(port: int, message: EmailMessage, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with smtplib.SMTP("127.0.0.1", port, timeout=30) as client:
                client.send_message(message)
                return
        except ConnectionRefusedError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def _channels(url: str) -> list[str]:
    database = Database(url)
    try:
        with UnitOfWork(database, write=False) as uow:
            return list(uow.session.scalars(select(Ticket.channel)))
    finally:
        database.dispose()


def test_serve_runs_the_listener(empty_db_url: str, tmp_path: Path, key_file: Path) -> None:
    smtp_port = free_port()
    env = anxin_env(database_url=empty_db_url, home=str(tmp_path / "home"), env="test",
                    key_file=str(key_file), care_smtp_port=str(smtp_port),
                    delivery_interval_seconds="0")  # fmt: skip
    with Server(env, tmp_path / "server.log") as server:
        server.wait_healthy()
        _send_when_listening(smtp_port, _complaint("Top-up missing"))
        assert "complaint email: listening on 127.0.0.1" in server.log()
    assert _channels(empty_db_url) == ["email"]


def test_care_smtp_runs_alone_and_stops_on_interrupt(
    empty_db_url: str, tmp_path: Path, key_file: Path
) -> None:
    env = anxin_env(database_url=empty_db_url, home=str(tmp_path / "home"), env="test",
                    key_file=str(key_file))  # fmt: skip
    assert run_anxin("migrate", env=env).returncode == 0
    smtp_port = free_port()
    with (tmp_path / "smtp.log").open("wb") as log:
        process = subprocess.Popen(
            [ANXIN, "care", "smtp", "--port", str(smtp_port)], env=env, stdout=log,
            stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        _send_when_listening(smtp_port, _complaint("Top-up missing"))
    finally:
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=30) == 0, (tmp_path / "smtp.log").read_text()
    assert _channels(empty_db_url) == ["email"]


def test_care_smtp_needs_a_port(empty_db_url: str, tmp_path: Path, key_file: Path) -> None:
    env = anxin_env(database_url=empty_db_url, home=str(tmp_path / "home"), env="test",
                    key_file=str(key_file))  # fmt: skip
    result = run_anxin("care", "smtp", env=env)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        "error: give a port: --port or ANXIN_CARE_SMTP_PORT (1-65535)"
    ]
