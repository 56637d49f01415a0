"""Reading complaint email: charsets (GB2312 that is really GBK, UTF-8, undeclared 8-bit),
encoded-word subjects, plain text preferred over HTML, HTML as text, quoted replies and
signatures stripped, references and Message-IDs found, malformed mail refused."""

# ruff: noqa: RUF001

from __future__ import annotations

import base64
from email.message import EmailMessage

import pytest

from anxin.care.mail import (
    MalformedMail,
    bounce_address,
    bounce_text,
    clean_subject,
    decode_bytes,
    decode_header_text,
    find_reference,
    html_to_text,
    parse_mail,
    strip_quoted,
)


def _b64_word(text: str, charset: str) -> str:
    return f"=?{charset}?B?{base64.b64encode(text.encode(charset)).decode()}?="


def _raw(headers: dict[str, str], body: bytes, content_type: str) -> bytes:
    lines = [f"{name}: {value}" for name, value in headers.items()]
    lines += ["MIME-Version: 1.0", f"Content-Type: {content_type}"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def test_gb2312_declared_but_gbk_written_is_read() -> None:
    # 「镕」 is in GBK but not in GB2312: clients declare GB2312 and send it anyway.
    text = "朱镕基路的网点扣了我两次钱"
    subject = _b64_word("重复扣款 镕", "gbk").replace("gbk", "GB2312")
    raw = _raw({"From": "a@example.com", "Subject": subject}, text.encode("gbk"),
               'text/plain; charset="GB2312"')  # fmt: skip
    mail = parse_mail(raw)
    assert mail.body == text
    assert mail.subject == "重复扣款 镕"


def test_utf8_quoted_printable_and_encoded_word_subject() -> None:
    message = EmailMessage()
    message["From"] = "Zhang San <Zhang.San@Example.com>"
    message["Subject"] = "Re: [ax-7k2m9q] 我的钱被扣了"
    message["Message-ID"] = "<m2@client.example>"
    message["In-Reply-To"] = "<out1@anxin>"
    message["References"] = "<m1@client.example> <out1@anxin>"
    message.set_content("还是没有退款。\n", charset="utf-8", cte="quoted-printable")
    mail = parse_mail(message.as_bytes())
    assert mail.sender == "zhang.san@example.com"
    assert mail.subject == "我的钱被扣了"
    assert mail.reference == "AX-7K2M9Q"
    assert mail.body == "还是没有退款。"
    assert mail.message_id == "m2@client.example"
    assert mail.replied_to == ("out1@anxin", "m1@client.example")
    assert not mail.automated


def test_undeclared_8bit_headers_and_body_are_guessed() -> None:
    raw = "From: 李四 <li@example.com>\r\nSubject: 提现失败\r\n\r\n".encode(
        "gb18030"
    ) + "提现三天没到账".encode("gb18030")
    mail = parse_mail(raw)
    assert mail.subject == "提现失败"
    assert mail.body == "提现三天没到账"


def test_plain_text_is_preferred_over_html() -> None:
    message = EmailMessage()
    message["From"] = "a@example.com"
    message["Subject"] = "fees"
    message.set_content("plain words")
    message.add_alternative("<p>html words</p>", subtype="html")
    assert parse_mail(message.as_bytes()).body == "plain words"


def test_html_only_mail_becomes_text_without_its_quote() -> None:
    message = EmailMessage()
    message["From"] = "a@example.com"
    message["Subject"] = "fees"
    message.set_content(
        "<html><head><style>p{color:red}</style></head><body><p>You charged me &yen;5</p>"
        "<div>twice<br>today</div><blockquote><p>Dear customer, we …</p></blockquote>"
        "<script>alert(1)</script></body></html>",
        subtype="html", charset="gb2312",
    )  # fmt: skip
    assert parse_mail(message.as_bytes()).body == "You charged me ¥5\ntwice\ntoday"


def test_html_to_text_lists_and_entities() -> None:
    assert html_to_text("<ul><li>one &amp; two</li><li>three</li></ul>") == "- one & two\n- three"


def test_attachments_are_not_read_as_text() -> None:
    message = EmailMessage()
    message["From"] = "a@example.com"
    message["Subject"] = "screenshot"
    message.set_content("see the attachment")
    message.add_attachment(b"\x89PNG...", maintype="image", subtype="png", filename="s.png")
    message.add_attachment("secret notes", filename="notes.txt")
    assert parse_mail(message.as_bytes()).body == "see the attachment"


@pytest.mark.parametrize(
    "quoted",
    [
        "On Mon, 5 Jan 2026 at 10:00, Anxin Care <care@anxin.example> wrote:\n> Dear customer",
        "On Mon, 5 Jan 2026 at 10:00, Anxin Care <\ncare@anxin.example> wrote:\n> Dear",
        "在 2026年1月5日 10:00，安心客服 写道：\n> 您好",
        "-----Original Message-----\nFrom: care@anxin.example\nSent: Monday",
        "------------------ 原始邮件 ------------------\n发件人: 安心客服",
        "From: Anxin Care <care@anxin.example>\nSent: Monday, 5 January 2026\nSubject: x",
        "发件人: 安心客服 <care@anxin.example>\n发送时间: 2026年1月5日\n主题: 回复",
        "-- \nZhang San\nSent from my phone",
    ],
)
def test_quoted_replies_and_signatures_are_stripped(quoted: str) -> None:
    assert strip_quoted(f"Still no refund.\nPlease hurry.\n\n{quoted}\nmore") == (
        "Still no refund.\nPlease hurry."
    )


def test_interleaved_quotes_go_and_the_answers_between_them_stay() -> None:
    text = "> Which payment?\nThe one on Monday.\n> How much?\n88 yuan."
    assert strip_quoted(text) == "The one on Monday.\n88 yuan."


def test_a_reply_that_only_quotes_keeps_the_quote() -> None:
    raw = _raw({"From": "a@example.com", "Subject": "x"}, b"> only a quote\r\n", "text/plain")
    assert parse_mail(raw).body == "> only a quote"


def test_words_like_from_in_the_middle_of_text_are_kept() -> None:
    text = "From: my bank statement, the debit is wrong.\nI never paid."
    assert strip_quoted(text) == text


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"Subject: hi\r\n\r\nmy money\r\n", "no From"),
        (b"From: \r\nSubject: hi\r\n\r\nmy money\r\n", "no From"),
        (b"From: a@example.com, b@example.com\r\n\r\nx\r\n", "exactly one"),
        (b"From: not an address\r\n\r\nx\r\n", "not valid"),
        (b"From: a@example.com\r\nSubject: hi\r\n\r\n \r\n", "no text"),
        (
            b"From: a@example.com\r\nMIME-Version: 1.0\r\nContent-Type: image/png\r\n\r\nxx\r\n",
            "no text",
        ),
    ],
)
def test_malformed_mail_is_refused_with_a_reason(raw: bytes, reason: str) -> None:
    with pytest.raises(MalformedMail) as refused:
        parse_mail(raw)
    assert reason in refused.value.detail


def test_automated_mail_is_recognised() -> None:
    for header in ("Auto-Submitted: auto-replied", "Precedence: bulk"):
        raw = f"From: a@example.com\r\n{header}\r\n\r\nI am away\r\n".encode()
        assert parse_mail(raw).automated
    assert parse_mail(b"From: MAILER-DAEMON@example.com\r\n\r\nfailed\r\n").automated


def test_references_and_subjects() -> None:
    assert find_reference("回复：[ AX-ab34cd ] 扣款") == "AX-AB34CD"
    assert find_reference("AX-AB34CD without brackets") is None
    assert clean_subject("Re: RE: 回复： [AX-AB34CD] Money gone") == "Money gone"
    assert decode_header_text("=?utf-8?b?5oiR?= and =?gb2312?b?xOM=?=") == "我 and 你"


def test_charset_lies_and_unknown_names() -> None:
    assert decode_bytes("镕".encode("gbk"), "gb2312") == "镕"
    assert decode_bytes("é".encode(), "x-made-up") == "é"
    assert decode_bytes(b"\xff\xfe", "utf-8") == "\ufffd\ufffd"


def test_bounces_go_to_the_return_path_and_never_to_robots() -> None:
    assert bounce_address("<A@Example.com>", "b@example.com") == "a@example.com"
    assert bounce_address(None, "Bee <b@example.com>") == "b@example.com"
    assert bounce_address("", None) is None
    assert bounce_address("mailer-daemon@example.com", "b@example.com") is None
    title, body = bounce_text("The email is larger than we accept", "退款")
    assert "退款" in title
    assert "larger than we accept" in body
