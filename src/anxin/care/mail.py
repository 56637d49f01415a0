"""Inbound complaint email, read: MIME parsed with the standard library, the text a person
actually wrote (plain text preferred, HTML turned into text, quoted replies dropped), the
ticket reference it answers, and the bounce we send when we cannot take it.

Chinese mail declares GB2312 but is really written in GBK (its superset), and old clients
send 8-bit headers unencoded; both are decoded as GB18030, which contains them, and text
that is neither declares its charset wrongly and is read with replacement characters
rather than refused.
"""

# Chinese punctuation (full-width colons and commas) is meant here.
# ruff: noqa: RUF001, RUF003

from __future__ import annotations

import re
from dataclasses import dataclass
from email import policy
from email.header import decode_header
from email.message import EmailMessage, Message
from email.parser import BytesParser
from email.utils import getaddresses, parseaddr
from html.parser import HTMLParser

from anxin.identity.contacts import InvalidContact, normalise_email
from anxin.kit.errors import AnxinError

REFERENCE = re.compile(r"\[\s*(AX-[A-Z0-9]{4,12})\s*\]", re.IGNORECASE)
_MESSAGE_ID = re.compile(r"<([^<>\s]+)>")
SUBJECT_MAX = 200
BODY_MAX = 20_000
# A subject's reply and forward markers, in the languages our customers' clients use.
_SUBJECT_PREFIX = re.compile(r"^\s*((re|fw|fwd|aw|回复|答复|转发)\s*[:：]\s*)+", re.IGNORECASE)
_GB_FAMILY = {"gb2312", "gbk", "x-gbk", "cp936", "euc-cn", "gb_2312-80", "csgb2312", "hz-gb-2312"}
_AUTOMATED_SENDERS = ("mailer-daemon", "postmaster", "no-reply", "noreply", "do-not-reply")


class MailRejected(AnxinError):
    """Mail we refuse; ``smtp_status`` is the reply line the listener sends."""

    status = 422
    smtp_status = "550 5.6.0 Message refused"


class MalformedMail(MailRejected):
    code = "malformed_mail"
    title = "The email could not be read as a complaint"
    smtp_status = "550 5.6.0 Malformed message"


class MailTooLarge(MailRejected):
    code = "mail_too_large"
    title = "The email is larger than we accept"
    smtp_status = "552 5.3.4 Message too big"


@dataclass(frozen=True)
class InboundMail:
    sender: str  # normalised address from the From header
    subject: str  # without Re:/Fw: markers; "" when there was none
    body: str  # what the person wrote in this message, quotes and signature removed
    message_id: str | None  # without angle brackets
    replied_to: tuple[str, ...]  # In-Reply-To then References, newest first
    reference: str | None  # "AX-..." quoted in the subject
    automated: bool  # an auto-reply or bulk mail: never answer it with a bounce


# -- decoding -----------------------------------------------------------------------------


def decode_bytes(data: bytes, charset: str | None) -> str:
    """Text in a declared charset, tolerant of the usual lies (see the module's note)."""
    name = (charset or "").strip().strip('"').lower()
    if name in _GB_FAMILY:
        name = "gb18030"
    if name and name not in ("us-ascii", "ascii", "unknown-8bit"):
        try:
            return data.decode(name)
        except LookupError:
            pass  # an unknown charset name: guess below
        except UnicodeDecodeError:
            return data.decode(name, errors="replace")
    for guess in ("utf-8", "gb18030"):
        try:
            return data.decode(guess)
        except UnicodeDecodeError:
            continue
    return data.decode("utf-8", errors="replace")


def _raw_text(value: str) -> str:
    """A raw header as parsed from bytes: undeclared 8-bit octets arrive as surrogates."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return decode_bytes(value.encode("ascii", errors="surrogateescape"), None)
    return value


def decode_header_text(raw: str) -> str:
    """A header's text with RFC 2047 encoded words (=?GB2312?B?...?=) decoded."""
    pieces: list[str] = []
    for chunk, charset in decode_header(_raw_text(raw)):
        pieces.append(chunk if isinstance(chunk, str) else decode_bytes(chunk, charset))
    return " ".join("".join(pieces).split())


def _raw_header(message: Message, name: str) -> str | None:
    for key, value in message.raw_items():
        if key.lower() == name.lower():
            return str(value)
    return None


# -- HTML to text -------------------------------------------------------------------------

_BLOCKS = {
    "p", "div", "br", "li", "tr", "table", "ul", "ol", "h1", "h2", "h3", "h4", "h5", "h6",
    "pre", "hr", "section", "article", "header", "footer",
}  # fmt: skip


class _TextOf(HTMLParser):
    """Visible text with line breaks at block elements; ``<blockquote>`` content gets the
    "> " prefix of a plain-text quote, so quote stripping treats both alike."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.lines: list[str] = [""]
        self._hidden = 0
        self._quoted = 0

    def _break(self) -> None:
        if self.lines[-1].strip():
            self.lines.append("")

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style", "head", "title"):
            self._hidden += 1
        elif tag == "blockquote":
            self._break()
            self._quoted += 1
        elif tag in _BLOCKS:
            self._break()
            if tag == "li":
                self.lines[-1] = "- "

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style", "head", "title"):
            self._hidden = max(0, self._hidden - 1)
        elif tag == "blockquote":
            self._break()
            self._quoted = max(0, self._quoted - 1)
        elif tag in _BLOCKS:
            self._break()

    def handle_data(self, data: str) -> None:
        if self._hidden:
            return
        text = " ".join(data.split())
        if not text:
            return
        line = self.lines[-1]
        if not line.strip() and self._quoted:
            line = "> " * self._quoted
        elif line and not line.endswith((" ", "- ")):
            line += " "
        self.lines[-1] = line + text


def html_to_text(html: str) -> str:
    parser = _TextOf()
    parser.feed(html)
    parser.close()
    return "\n".join(line.rstrip() for line in parser.lines).strip()


# -- what the person wrote ----------------------------------------------------------------

# Where a client starts quoting the message answered: "On Mon, ... wrote:",
# "在 2026年1月2日 ... 写道：", Outlook's "-----Original Message-----" and QQ Mail's
# "------------------ 原始邮件 ------------------".
_QUOTE_HEADERS = (
    re.compile(r"^\s*on\b.{0,300}\bwrote:\s*$", re.IGNORECASE | re.DOTALL),
    re.compile(r"^\s*在.{0,300}写道\s*[:：]\s*$", re.DOTALL),
    re.compile(r"^\s*-{2,}\s*(original message|forwarded message)\s*-{2,}\s*$", re.IGNORECASE),
    re.compile(r"^\s*-{2,}\s*(原始邮件|原邮件|转发邮件)\s*-{2,}\s*$"),
)
_HEADER_BLOCK = re.compile(r"^\s*(from|发件人)\s*[:：]", re.IGNORECASE)
_HEADER_BLOCK_NEXT = re.compile(
    r"^\s*(sent|date|to|subject|发送时间|日期|收件人|主题)\s*[:：]", re.IGNORECASE
)


def strip_quoted(text: str) -> str:
    """The new part of a reply: up to the quoted message's header line, without "> "
    lines, and without a signature after the conventional "-- " line."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    kept: list[str] = []
    for index, line in enumerate(lines):
        two = line + " " + lines[index + 1] if index + 1 < len(lines) else line
        if any(p.match(line) or p.match(two) for p in _QUOTE_HEADERS[:2]) or any(
            p.match(line) for p in _QUOTE_HEADERS[2:]
        ):
            break
        following = lines[index + 1] if index + 1 < len(lines) else ""
        if _HEADER_BLOCK.match(line) and _HEADER_BLOCK_NEXT.match(following):
            break  # Outlook's "From: ... / Sent: ..." block above the quoted message
        if line.rstrip() == "--":
            break
        if line.lstrip().startswith(">"):
            continue
        kept.append(line.rstrip())
    return "\n".join(kept).strip()


def _text_of(part: EmailMessage) -> str:
    payload = part.get_payload(decode=True)
    if not isinstance(payload, bytes):
        return ""
    text = decode_bytes(payload, part.get_content_charset())
    return html_to_text(text) if part.get_content_subtype() == "html" else text


def body_text(message: EmailMessage) -> str:
    """The message's text: its text/plain body, else its HTML body as text; attachments
    are not read."""
    preferred = message.get_body(preferencelist=("plain", "html"))
    if isinstance(preferred, EmailMessage):
        text = _text_of(preferred)
        if text.strip() or preferred.get_content_subtype() == "html":
            return text
        html = message.get_body(preferencelist=("html",))
        return _text_of(html) if isinstance(html, EmailMessage) else text
    return ""


def clean_subject(subject: str) -> str:
    without = REFERENCE.sub(" ", subject)
    return " ".join(_SUBJECT_PREFIX.sub("", without).split())[:SUBJECT_MAX]


def find_reference(subject: str) -> str | None:
    found = REFERENCE.search(subject)
    return found.group(1).upper() if found else None


def message_ids(value: str | None) -> list[str]:
    return _MESSAGE_ID.findall(value or "")


def _is_automated(message: Message, sender: str) -> bool:
    auto = (message.get("Auto-Submitted") or "no").strip().lower()
    precedence = (message.get("Precedence") or "").strip().lower()
    local = sender.partition("@")[0].lower()
    return (
        auto != "no"
        or precedence in ("bulk", "junk", "list", "auto_reply")
        or local in _AUTOMATED_SENDERS
    )


def _sender(message: Message) -> str:
    raw = _raw_header(message, "From")
    if raw is None or not raw.strip():
        raise MalformedMail("the message has no From address")
    addresses = [address for _name, address in getaddresses([_raw_text(raw)]) if address]
    if len(addresses) != 1:
        raise MalformedMail("the From header must name exactly one address")
    try:
        return normalise_email(addresses[0])
    except InvalidContact as error:
        raise MalformedMail(f"the From address is not valid: {error.detail}") from error


def parse_mail(raw: bytes) -> InboundMail:
    """Read an inbound message; ``MalformedMail`` says why one cannot be a complaint."""
    message = BytesParser(policy=policy.default).parsebytes(raw)
    if not isinstance(message, EmailMessage):  # pragma: no cover - policy.default makes them
        raise MalformedMail("not an email message")
    sender = _sender(message)
    subject = decode_header_text(_raw_header(message, "Subject") or "")
    try:
        text = body_text(message)
    except (LookupError, ValueError, AssertionError) as error:  # a broken MIME structure
        raise MalformedMail(f"the message body cannot be read ({type(error).__name__})") from error
    text = text.replace("\x00", "").strip()
    new_part = strip_quoted(text)
    # A reply that only quotes still says something; keep the whole text then.
    body = (new_part or text)[:BODY_MAX]
    if not body:
        raise MalformedMail("the message has no text (plain or HTML)")
    own_id = message_ids(_raw_header(message, "Message-ID"))
    replied = message_ids(_raw_header(message, "In-Reply-To"))
    replied += reversed(message_ids(_raw_header(message, "References")))
    return InboundMail(
        sender=sender, subject=clean_subject(subject), body=body,
        message_id=own_id[0][:255] if own_id else None,
        replied_to=tuple(dict.fromkeys(i[:255] for i in replied)),
        reference=find_reference(subject), automated=_is_automated(message, sender),
    )  # fmt: skip


def bounce_address(envelope_from: str | None, header_from: str | None = None) -> str | None:
    """Where a bounce may go: the envelope sender (RFC 5321's return path), else the From
    header; never the null sender "<>" or an automated mailbox (no mail loops)."""
    for candidate in (envelope_from, header_from):
        address = parseaddr(candidate or "")[1]
        if not address:
            continue
        try:
            normalised = normalise_email(address)
        except InvalidContact:
            continue
        if normalised.partition("@")[0] in _AUTOMATED_SENDERS:
            return None
        return normalised
    return None


def bounce_text(reason: str, subject: str | None) -> tuple[str, str]:
    """Subject and body of the bounce, in Chinese and English (we do not know the
    sender's language when we could not read their mail)."""
    about = f": {subject[:SUBJECT_MAX]}" if subject else ""
    title = f"未能受理您的邮件 / Your email could not be accepted{about}"
    body = (
        "您发送给安心客服的邮件未被受理，原因：\n"
        f"{reason}\n\n"
        "请缩小附件或改用纯文本后重新发送，或通过 App 或网站提交投诉。\n\n"
        "Your email to Anxin customer care was not accepted. Reason:\n"
        f"{reason}\n\n"
        "Please send it again with smaller attachments or as plain text, or file your "
        "complaint in the app or on our website.\n"
    )
    return title, body
