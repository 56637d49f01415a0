"""Social media posts imported through a generic webhook: each post becomes a ticket of
channel ``social`` whose first message is the post's text. The platform and the post's id
make the ticket's ``external_ref`` ("weibo:4981234"), so a post imported twice (a retried
webhook, an overlapping batch) is counted as a duplicate and changes nothing.

Who wrote it and where is personal data too: it goes into an internal note on the ticket
(sealed like every message), for agents to find the post and answer there.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from anxin.care.tickets import NewTicket, add_message, open_ticket
from anxin.models.care import Ticket
from anxin.privacy.vault import Vault


@dataclass(frozen=True)
class Post:
    platform: str
    external_id: str
    author: str
    text: str
    url: str | None
    posted_at: datetime

    @property
    def external_ref(self) -> str:
        return f"{self.platform.strip().lower()}:{self.external_id.strip()}"


@dataclass(frozen=True)
class ImportReport:
    created: int
    duplicate: int
    references: list[tuple[str, str, bool]]  # (external_ref, ticket reference, created)


def _existing(session: Session, external_ref: str) -> Ticket | None:
    return session.scalars(select(Ticket).where(Ticket.external_ref == external_ref)).one_or_none()


def import_posts(
    session: Session, vault: Vault, posts: list[Post], *, now: datetime
) -> ImportReport:
    """Open a ticket per new post (flushes, never commits)."""
    created = duplicate = 0
    references: list[tuple[str, str, bool]] = []
    for post in posts:
        ref = post.external_ref
        ticket = _existing(session, ref)
        if ticket is None:
            try:
                # A savepoint: an importer running concurrently may insert the same post
                # first; its unique external_ref then makes this one a duplicate.
                with session.begin_nested():
                    ticket = _open(session, vault, post, now)
            except IntegrityError:
                ticket = _existing(session, ref)
                if ticket is None:
                    raise
            else:
                created += 1
                references.append((ref, ticket.reference, True))
                continue
        duplicate += 1
        references.append((ref, ticket.reference, False))
    return ImportReport(created=created, duplicate=duplicate, references=references)


def _open(session: Session, vault: Vault, post: Post, now: datetime) -> Ticket:
    ticket = open_ticket(
        session, vault,
        NewTicket(channel="social", subject="", body=post.text, external_ref=post.external_ref),
        now=now, acknowledge=False,
    )  # fmt: skip
    source = "\n".join(
        line for line in (
            f"Imported from {post.platform} (post {post.external_id}) by {post.author}",
            f"Posted at {post.posted_at.isoformat()}",
            f"Link: {post.url}" if post.url else "",
        ) if line
    )  # fmt: skip
    add_message(session, vault, ticket, author_kind="system", body=source, channel="social",
                now=now, visibility="internal")  # fmt: skip
    return ticket
