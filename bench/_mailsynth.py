"""Typical mail for the inbound benchmarks, made here (deterministic for a seed).

The mix an organisation in Japan receives: short Japanese mails (ISO-2022-JP and UTF-8),
replies quoting a thread, HTML newsletters with many tracked links and an inline logo,
mails with a PDF or an Office attachment, a notification with a QR code, and now and then
a phishing mail. Sizes follow that mix: most are a few kilobytes, some hundreds.
"""

from __future__ import annotations

import base64
import io
import random
import zipfile
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

JAPANESE = ("いつもお世話になっております。", "先日の打ち合わせの件でご連絡いたします。",
            "添付の資料をご確認ください。", "ご不明な点がございましたらお知らせください。",
            "来週の会議は予定どおり開催いたします。", "よろしくお願いいたします。",
            "見積書を送付いたしますので、ご査収ください。", "議事録を共有いたします。")
ENGLISH = ("Thank you for your message.", "Please find the minutes of our meeting below.",
           "The schedule for next week is unchanged.", "Let me know if anything is unclear.",
           "Our team will review the proposal on Friday.", "Best regards,")
SENDERS = ("佐藤 花子 <h.sato@supplier.co.jp>", "Suzuki Ichiro <i.suzuki@partner.example>",
           "広報課 <koho@city.example.jp>", "Newsletter <news@mail.vendor.example>",
           "Tanaka <tanaka@university.ac.jp>", "経理部 <keiri@trading.co.jp>")


def _headers(rng: random.Random, i: int, sender: str, subject: str, ctype: str) -> str:
    when = datetime(2025, 10, 6, 9, tzinfo=UTC) + timedelta(minutes=i)
    return "\r\n".join([
        "Return-Path: <bounce@" + sender.rsplit("@", 1)[1].rstrip(">") + ">",
        "Received: from mx.example.net (mx.example.net [192.0.2.10]) by mx.city.example.jp "
        "(Postfix) with ESMTPS id 4Q1; " + format_datetime(when),
        "Authentication-Results: mx.city.example.jp; spf=pass smtp.mailfrom=" +
        sender.rsplit("@", 1)[1].rstrip(">") + "; dkim=pass; dmarc=pass",
        f"From: {sender}", "To: t.suzuki@city.example.jp", f"Subject: {subject}",
        f"Date: {format_datetime(when)}", f"Message-ID: <{i}.{rng.randrange(10**9)}@example>",
        "MIME-Version: 1.0", f"Content-Type: {ctype}", "", ""])


def _text(rng: random.Random, lines: int, pool: tuple[str, ...]) -> str:
    return "\n".join(rng.choice(pool) for _ in range(lines)) + "\n"


def plain_japanese(rng: random.Random, i: int) -> bytes:
    body = _text(rng, rng.randint(5, 40), JAPANESE).encode("iso2022_jp")
    head = _headers(rng, i, rng.choice(SENDERS), "=?ISO-2022-JP?B?GyRCJCpDTiRpJDsbKEI=?=",
                    "text/plain; charset=ISO-2022-JP")
    return head.encode() + body


def reply_thread(rng: random.Random, i: int) -> bytes:
    quoted = "".join("> " + line + "\n" for line in _text(rng, 120, ENGLISH).splitlines())
    body = _text(rng, 8, ENGLISH) + "\nOn Mon, someone wrote:\n" + quoted
    return _headers(rng, i, rng.choice(SENDERS), "Re: schedule",
                    "text/plain; charset=utf-8").encode() + body.encode()


def newsletter(rng: random.Random, i: int, logo: bytes) -> bytes:
    items = "".join(
        f'<tr><td><a href="https://click.vendor.example/t/{rng.randrange(10**8)}">'
        f"記事 {n}: {rng.choice(JAPANESE)}</a><p>{_text(rng, 3, JAPANESE)}</p></td></tr>"
        for n in range(rng.randint(20, 60)))
    html = (f"<html><head><style>td{{font:14px sans-serif}}</style></head><body><table>"
            f'<tr><td><img src="cid:logo"></td></tr>{items}</table>'
            '<p><a href="https://vendor.example/unsubscribe">配信停止</a></p></body></html>')
    text = _text(rng, 30, JAPANESE)
    parts = [
        ("multipart/alternative; boundary=alt", None, None),
        ("text/plain; charset=utf-8", text.encode(), None),
        ("text/html; charset=utf-8", html.encode(), None),
    ]
    return _multipart(rng, i, "ニュースレター", parts, [("image/png", logo, "logo.png", True)])


def with_attachment(rng: random.Random, i: int, kind: str) -> bytes:
    if kind == "pdf":
        data = b"%PDF-1.4\n" + bytes(rng.randrange(256) for _ in range(rng.randint(20, 300)
                                                                        * 1024)) + b"\n%%EOF"
        ctype, name = "application/pdf", "見積書.pdf"
    else:
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
            z.writestr("[Content_Types].xml", "<Types/>")
            z.writestr("word/document.xml", "<w:document>" + _text(rng, 200, ENGLISH) + "</w>")
            z.writestr("word/_rels/document.xml.rels", "<Relationships/>")
        data, ctype, name = buf.getvalue(), "application/vnd.openxmlformats-officedocument." \
            "wordprocessingml.document", "minutes.docx"
    parts = [("text/plain; charset=utf-8", _text(rng, 10, JAPANESE).encode(), None)]
    return _multipart(rng, i, "資料送付", [("multipart/mixed; boundary=mix", None, None),
                                          *parts], [(ctype, data, name, False)])


def phishing(rng: random.Random, i: int) -> bytes:
    html = ('<p>お客様のアカウントは一時停止されました。24時間以内に確認してください。</p>'
            '<a href="https://bit.ly/3abc">https://www.amazon.co.jp/account</a>')
    return _headers(rng, i, "Amazon <security-amazon@gmail.com>", "アカウントの確認",
                    "text/html; charset=utf-8").encode() + html.encode()


def _multipart(rng: random.Random, i: int, subject: str,
               parts: list[tuple[str, bytes | None, None]],
               files: list[tuple[str, bytes, str, bool]]) -> bytes:
    outer = "multipart/mixed; boundary=outer"
    out = _headers(rng, i, rng.choice(SENDERS), subject, outer).encode()
    inner_type = parts[0][0]
    out += b"--outer\r\nContent-Type: " + inner_type.encode() + b"\r\n\r\n"
    boundary = inner_type.split("boundary=")[1].encode()
    for ctype, data, _ in parts[1:]:
        out += b"--" + boundary + b"\r\nContent-Type: " + ctype.encode() + \
            b"\r\nContent-Transfer-Encoding: base64\r\n\r\n" + base64.encodebytes(data or b"")
    out += b"--" + boundary + b"--\r\n"
    for ctype, data, name, inline in files:
        disposition = "inline" if inline else "attachment"
        out += (f"--outer\r\nContent-Type: {ctype}; name=\"{name}\"\r\nContent-ID: <logo>\r\n"
                f"Content-Disposition: {disposition}; filename=\"{name}\"\r\n"
                "Content-Transfer-Encoding: base64\r\n\r\n").encode() + base64.encodebytes(data)
    return out + b"--outer--\r\n"


def logo_png(rng: random.Random) -> bytes:
    """A small PNG (a logo) made without an image library: stored zlib, 200×60 grey."""
    import struct
    import zlib

    width, height = 200, 60
    raw = b"".join(b"\0" + bytes(rng.randrange(200, 256) for _ in range(width))
                   for _ in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(
            ">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0,
                                                               0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def typical(count: int, seed: int = 7) -> list[bytes]:
    """``count`` typical mails: 35% short Japanese, 20% replies, 20% newsletters, 10% PDF,
    10% Office attachments, 5% phishing."""
    rng = random.Random(seed)
    logo = logo_png(rng)
    makers = ([plain_japanese] * 7 + [reply_thread] * 4 + [lambda r, i: newsletter(r, i, logo)]
              * 4 + [lambda r, i: with_attachment(r, i, "pdf")] * 2
              + [lambda r, i: with_attachment(r, i, "docx")] * 2 + [phishing])
    return [rng.choice(makers)(rng, i) for i in range(count)]
