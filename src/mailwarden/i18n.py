"""Every sentence a person reads, in English and Japanese."""

from __future__ import annotations

from typing import Any

MESSAGES: dict[str, tuple[str, str]] = {
    "rate": (
        "{count} {metric} in the last {window}; the limit for this account is {limit}",
        "直近{window_ja}に{metric_ja}が{count}件あり、このアカウントの上限{limit}件を超えています",
    ),
    "recipients_per_message": (
        "one message to {count} recipients; this account's limit is {limit}",
        "1通の宛先が{count}件あり、このアカウントの上限{limit}件を超えています",
    ),
    "hourly_profile": (
        "{count} messages this hour; at this hour of the week the account usually sends {usual}",
        "この1時間に{count}通を送信しています。この曜日・時間帯の通常は{usual}通です",
    ),
    "foreign_country": (
        "sent from {country} ({address}), outside the home countries and the account's usual ones",
        "{country}（{address}）から送信されています。通常の国・地域ではありません",
    ),
    "new_network": (
        "client network {asn} ({network}) never seen for this account",
        "このアカウントで初めてのネットワーク {asn}（{network}）からの送信です",
    ),
    "unusual_hour": (
        "sent at {hour}:00 local time, an hour this account never sends in",
        "現地時刻{hour}時台の送信です。このアカウントがこれまで送信したことのない時間帯です",
    ),
    "new_sender": (
        "envelope sender {sender} never used by this account",
        "このアカウントがこれまで使ったことのない送信者アドレス {sender} です",
    ),
    "unknown_recipients": (
        "{unknown} of {total} recipients are external addresses this account never wrote to",
        "宛先{total}件のうち{unknown}件は、これまでやり取りのない外部アドレスです",
    ),
    "quarantined": (
        "account is quarantined since {since} (incident {incident}); held until released",
        "このアカウントは{since}から隔離中です（インシデント{incident}）。解除まで保留します",
    ),
    "login_risk": (
        "the account logged in suspiciously at {at} ({why}); its mail is held for {hours}h",
        "このアカウントは{at}に不審なログイン（{why}）があったため、{hours}時間は送信を保留します",
    ),
    "bounces": (
        "{count} recipients of this account bounced as non-existent in the last hour",
        "直近1時間にこのアカウントの宛先{count}件が存在しない宛先として返送されました",
    ),
    "brute_force_address": (
        "{count} distinct wrong passwords from this address in {minutes} minutes "
        "({accounts} accounts)",
        "このアドレスから{minutes}分間に{count}種類の誤ったパスワード（{accounts}アカウント）",
    ),
    "brute_force_account": (
        "{count} distinct wrong passwords on this account in {minutes} minutes from "
        "{sources} addresses",
        "このアカウントに{minutes}分間で{count}種類の誤ったパスワード（{sources}個のアドレスから）",
    ),
    "password_spray": (
        "{source} failed on {accounts} accounts in {minutes} minutes with few passwords each",
        "{source} から{minutes}分間に{accounts}アカウントへ少数ずつのパスワードを試行"
        "（パスワードスプレー）",
    ),
    "login_after_failures": (
        "successful login after {count} distinct wrong passwords in {minutes} minutes",
        "{minutes}分間に{count}種類の誤ったパスワードの後でログインに成功しました",
    ),
    "foreign_login": (
        "login from {country} ({address}), outside the home countries",
        "{country}（{address}）からのログインです。通常の国・地域外です",
    ),
    "new_country": (
        "first login of this account from {country} ({address})",
        "このアカウントで初めての国 {country}（{address}）からのログインです",
    ),
    "new_login_network": (
        "first login of this account from network {asn} ({network})",
        "このアカウントで初めてのネットワーク {asn}（{network}）からのログインです",
    ),
    "new_device": (
        "first login of this account from device {device}",
        "このアカウントで初めての端末 {device} からのログインです",
    ),
    "impossible_travel": (
        "logged in from {frm} and {to}, {km} km apart, {hours} hours apart: impossible travel",
        "{frm} と {to}（約{km}km）から{hours}時間の間隔でログイン：移動不可能な組み合わせです",
    ),
    "unusual_login_hour": (
        "login at {hour}:00 local time, an hour this account never logs in at",
        "現地時刻{hour}時台のログインです。このアカウントが通常ログインしない時間帯です",
    ),
    "legacy_auth": (
        "legacy authentication ({kinds}: {protocol}, {mechanism}); consider switching it off",
        "古い認証方式（{kinds}：{protocol}、{mechanism}）が使われています。無効化を検討してください",
    ),
    "denied_address": (
        "login attempt from {address}, which is on a deny list",
        "拒否リストにあるアドレス {address} からのログイン試行です",
    ),
    "login.incident.title": (
        "Suspicious login to {account}: its outbound mail is held",
        "{account} への不審なログイン：送信メールを保留します",
    ),
    "incident.title": (
        "Outbound mail of {account} held: the account does not send like itself",
        "{account} の送信メールを保留しました：通常と異なる送信です",
    ),
}

WINDOW_JA = {"minute": "1分間", "10 minutes": "10分間", "hour": "1時間", "day": "24時間",
             "message": "1通"}
METRIC_JA = {"messages": "送信メール", "external recipients": "外部宛先",
             "recipient domains": "宛先ドメイン", "recipients": "宛先"}


def render(key: str, lang: str, **params: Any) -> str:
    """The sentence for ``key`` in ``lang`` ("en" or "ja")."""
    en, ja = MESSAGES[key]
    params.setdefault("window_ja", WINDOW_JA.get(str(params.get("window", "")), ""))
    params.setdefault("metric_ja", METRIC_JA.get(str(params.get("metric", "")), ""))
    try:
        return (ja if lang == "ja" else en).format(**params)
    except (KeyError, IndexError, ValueError):
        return en
