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
