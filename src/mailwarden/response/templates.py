"""Texts people read, in Japanese and English: the alert to administrators and the notice to
contacts ("mail from this address between T1 and T2 was not sent by me")."""

from __future__ import annotations

import time
from datetime import datetime
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

if TYPE_CHECKING:
    from mailwarden.response.channels.base import Alert

LABELS: dict[str, tuple[str, str]] = {
    "account": ("Account", "アカウント"),
    "incident": ("Incident", "インシデント"),
    "severity": ("Severity", "重大度"),
    "score": ("Score", "スコア"),
    "time": ("Time", "日時"),
    "address": ("Address", "接続元"),
    "why": ("Why", "理由"),
    "steps": ("What to do now", "今すぐ行うこと"),
    "details": ("Details", "詳細"),
    "notice": ("Notice for the account's contacts (send it from another channel, not from "
               "the affected account, once it is secured; check the times against the logs "
               "first: the start is when Mailwarden first saw the activity)",
               "取引先・関係者へのお知らせ文（アカウントの保護後、被害アカウント以外の"
               "手段で送ってください。送る前に時刻をログと照合してください。開始時刻は "
               "Mailwarden が不審な活動を最初に検知した時刻です）"),
}
SEVERITY: dict[str, tuple[str, str]] = {
    "low": ("low", "低"), "medium": ("medium", "中"), "high": ("high", "高"),
}
STEPS: dict[str, tuple[str, ...]] = {
    "en": (
        "Review the held mail (dashboard or `postqueue -j`); release legitimate messages, "
        "delete the rest.",
        "Change the account's password, sign out all its sessions, and check MFA.",
        "Check the mailbox for forwarding rules and filters the attacker may have added.",
        "Preserve the evidence (logs, held messages) before deleting anything.",
        "Tell the contacts with the notice below, from another channel.",
    ),
    "ja": (
        "保留中のメールを確認し（ダッシュボードまたは `postqueue -j`）、正当なものは解放、"
        "それ以外は削除してください。",
        "パスワードを変更し、すべてのセッションをログアウトさせ、多要素認証を確認してください。",
        "攻撃者が追加した転送設定やフィルタがないかメールボックスを確認してください。",
        "削除する前に証拠（ログ、保留メール）を保全してください。",
        "下記のお知らせ文で、別の手段により関係者へ連絡してください。",
    ),
}
FINDING_TITLE = (
    "Login alert for {account} from {address}: {signal}",
    "{account} へのログイン警告（{address}）：{signal}",
)
SUMMARY_TITLE = (
    "{count} more alerts like this for {account} ({signal}) between {start} and {end}",
    "{start}〜{end}に {account} で同種の警告（{signal}）がさらに{count}件ありました",
)
NOTICE_SUBJECT = (
    "Please disregard mail from {account} sent between {start} and {end}",
    "【ご注意】{start}〜{end}に {account} から送信されたメールについて",
)
NOTICE_BODY = (
    "Dear all,\n\n"
    "My mail account {account} was used by someone else without my permission. Messages from "
    "this address sent between {start} and {end} were not sent by me.\n\n"
    "Please do not open links or attachments in them and do not reply. Do not act on requests "
    "in them for payments, changes of bank details, passwords or personal information. If you "
    "already did, please contact me by phone or another channel you know, and your IT "
    "department.\n\n"
    "The account has been secured. If you are unsure whether a message is really from me, "
    "please confirm by phone.\n\n"
    "I apologise for the inconvenience.\n",
    "関係者各位\n\n"
    "私のメールアカウント {account} が第三者に不正に使用されました。{start}から{end}までの間に"
    "このアドレスから送信されたメールは、私が送信したものではありません。\n\n"
    "該当するメールのリンクや添付ファイルは開かず、返信もしないでください。振込、振込先口座の"
    "変更、パスワードや個人情報の入力などの依頼には応じないでください。すでに対応された場合は、"
    "お手数ですが電話など別の方法で私、または貴組織の情報システム担当までご連絡ください。\n\n"
    "現在、アカウントは保護されています。私からのメールか判断に迷う場合は、電話などでご確認"
    "ください。\n\n"
    "ご迷惑をおかけし、誠に申し訳ございません。\n",
)


def _pick(pair: tuple[str, str], lang: str) -> str:
    return pair[1] if lang == "ja" else pair[0]


def when(t: float, tz: ZoneInfo) -> str:
    """A time as people read it, in the organisation's zone: 2025-10-06 04:45 JST."""
    return datetime.fromtimestamp(t, tz).strftime("%Y-%m-%d %H:%M %Z").strip()


def label(key: str, lang: str) -> str:
    return _pick(LABELS[key], lang)


def severity(value: str, lang: str) -> str:
    return _pick(SEVERITY.get(value, (value, value)), lang)


def finding_title(signal: str, account: str, address: str, lang: str) -> str:
    return _pick(FINDING_TITLE, lang).format(signal=signal, account=account or "-",
                                             address=address or "-")


def summary_title(who: str, signals: str, count: int, start: float, end: float, lang: str,
                  tz: ZoneInfo) -> str:
    return _pick(SUMMARY_TITLE, lang).format(count=count, account=who or "-", signal=signals,
                                             start=when(start, tz), end=when(end, tz))


def contact_notice(account: str, start: float, end: float, lang: str,
                   tz: ZoneInfo) -> tuple[str, str]:
    """Subject and body of the notice a user or administrator sends to the account's contacts."""
    params = {"account": account, "start": when(start, tz), "end": when(end, tz)}
    return _pick(NOTICE_SUBJECT, lang).format(**params), _pick(NOTICE_BODY, lang).format(**params)


def subject(alert: Alert, langs: tuple[str, ...]) -> str:
    """The e-mail subject: the title in each language, Japanese first."""
    return "[Mailwarden] " + " / ".join(alert.title(lang) for lang in langs)


def facts(alert: Alert, lang: str, tz: ZoneInfo) -> list[tuple[str, str]]:
    """Label and value pairs shown in every channel."""
    rows = [(label("account", lang), alert.account or "-"),
            (label("severity", lang), severity(alert.severity, lang)),
            (label("time", lang), when(alert.time, tz))]
    if alert.kind == "incident":
        rows.insert(0, (label("incident", lang), alert.id))
        rows.append((label("score", lang), f"{alert.record.get('score', '')}"))
    if alert.address:
        rows.append((label("address", lang), alert.address))
    return rows


def reasons(alert: Alert, lang: str) -> list[str]:
    return [r.ja if lang == "ja" else r.en for r in alert.reasons]


def link(alert: Alert, dashboard_url: str) -> str:
    if not dashboard_url or alert.kind != "incident":
        return ""
    return f"{dashboard_url.rstrip('/')}/incidents/{alert.id}"


def text(alert: Alert, langs: tuple[str, ...], tz: ZoneInfo, dashboard_url: str = "",
         now: float | None = None) -> str:
    """The full plain-text alert (e-mail body), one block per language."""
    return ("\n" + "-" * 60 + "\n\n").join(
        _block(alert, lang, tz, dashboard_url, now) for lang in langs)


def _block(alert: Alert, lang: str, tz: ZoneInfo, dashboard_url: str, now: float | None) -> str:
    lines = [alert.title(lang), ""]
    lines += [f"{name}: {value}" for name, value in facts(alert, lang, tz)]
    if alert.reasons:
        lines += ["", f"{label('why', lang)}:"] + [f"  - {r}" for r in reasons(alert, lang)]
    if alert.kind == "incident":
        lines += ["", f"{label('steps', lang)}:"]
        lines += [f"  {n}. {step}" for n, step in enumerate(STEPS[lang], 1)]
    url = link(alert, dashboard_url)
    if url:
        lines += ["", f"{label('details', lang)}: {url}"]
    if alert.kind == "incident" and alert.account:
        end = time.time() if now is None else now
        subj, body = contact_notice(alert.account, alert.time, max(end, alert.time), lang, tz)
        lines += ["", f"{label('notice', lang)}:", "", f"{subj}", "", body]
    return "\n".join(lines).rstrip() + "\n"
