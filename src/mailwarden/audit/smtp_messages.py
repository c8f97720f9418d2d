"""Every sentence the SMTP probe says, in English and Japanese: ``{finding id: (en, ja)}``.

Placeholders are filled from the finding's evidence, shortened first: banners, replies and
certificate names come from the server and must not make a sentence huge. Every id is
documented in the "SMTP probe" section of docs/audit.md (a test checks).
"""

from __future__ import annotations

from typing import Any

from mailwarden.audit.model import AreaResult, Finding
from mailwarden.audit.sentences import add, fill

MESSAGES: dict[str, tuple[str, str]] = {
    # -- which servers ----------------------------------------------------------------------
    "smtp.mx_unchecked": (
        "could not look up the mail servers of {domain} ({reason}); nothing was probed",
        "{domain} のメールサーバーを調べられませんでした（{reason}）。接続試験は行っていません",
    ),
    "smtp.no_hosts": (
        "{domain} has no mail server to probe ({reason})",
        "{domain} には接続試験の対象となるメールサーバーがありません（{reason}）",
    ),
    "smtp.too_many_hosts": (
        "{domain} has {count} MX hosts; the first {checked} by preference were probed",
        "{domain} のMXホストは{count}台あります。優先度の高い{checked}台だけを試験しました",
    ),
    "smtp.address_unchecked": (
        "could not look up the address of {host} ({reason}); it was not probed",
        "{host} のアドレスを調べられなかったため（{reason}）、試験していません",
    ),
    "smtp.no_address": (
        "{host} has no A or AAAA record; it was not probed",
        "{host} にはAレコードもAAAAレコードもないため、試験していません",
    ),
    "smtp.private_address": (
        "{host} resolves to a non-public address ({addresses}); not probed — use "
        "--allow-private for an internal audit",
        "{host} は公開されていないアドレス（{addresses}）を指しています。接続試験は行って"
        "いません。内部向けの監査では --allow-private を付けてください",
    ),
    # -- the connection ---------------------------------------------------------------------
    "smtp.connect_failed": (
        "could not connect to {host} [{address}]:{port} ({reason}); not the same as a "
        "missing feature",
        "{host} [{address}]:{port} に接続できませんでした（{reason}）。機能がないという意味では"
        "ありません",
    ),
    "smtp.ipv6_unreachable": (
        "this machine has no route to {host}'s IPv6 address {address} ({reason}); its IPv4 "
        "address was probed",
        "このマシンから {host} のIPv6アドレス {address} へ到達できません（{reason}）。"
        "IPv4アドレスは試験しました",
    ),
    "smtp.no_banner": (
        "{host} [{address}]:{port} accepted the connection but sent no greeting ({reason})",
        "{host} [{address}]:{port} は接続を受け付けましたが、挨拶（バナー）を返しませんでした"
        "（{reason}）",
    ),
    "smtp.timeout": (
        "{host} [{address}]:{port} did not answer in time at {step} ({reason})",
        "{host} [{address}]:{port} が {step} の段階で時間内に応答しませんでした（{reason}）",
    ),
    "smtp.closed": (
        "{host} [{address}]:{port} closed the connection at {step} ({reason})",
        "{host} [{address}]:{port} が {step} の段階で接続を切りました（{reason}）",
    ),
    "smtp.bad_reply": (
        "{host} [{address}]:{port} answered {step} with something that is not SMTP "
        "({reason}); the probe stopped reading",
        "{host} [{address}]:{port} の {step} への応答がSMTPの形になっていません（{reason}）。"
        "読み取りを打ち切りました",
    ),
    "smtp.refused": (
        "{host} [{address}]:{port} refused this client: {reply}",
        "{host} [{address}]:{port} はこのクライアントを拒否しました: {reply}",
    ),
    "smtp.banner": (
        "{host} [{address}]:{port} greets with: {reply}",
        "{host} [{address}]:{port} の挨拶（バナー）: {reply}",
    ),
    "smtp.no_esmtp": (
        "{host} [{address}] refuses EHLO (answers only HELO): no extensions, so no STARTTLS",
        "{host} [{address}] はEHLOを拒否し、HELOにしか応答しません。拡張機能がないため"
        "STARTTLSも使えません",
    ),
    "smtp.helo_refused": (
        "{host} [{address}] refused both EHLO and HELO: {reply}",
        "{host} [{address}] はEHLOもHELOも拒否しました: {reply}",
    ),
    "smtp.probe_budget": (
        "probing {host} [{address}] took longer than {seconds} s; the checks not finished by "
        "then are missing from this report",
        "{host} [{address}] の試験が{seconds}秒を超えたため、終わらなかった項目はこの報告に"
        "含まれていません",
    ),
    # -- STARTTLS ---------------------------------------------------------------------------
    "smtp.starttls": (
        "{host} [{address}] offers STARTTLS ({version}, {cipher})",
        "{host} [{address}] はSTARTTLSに対応しています（{version}、{cipher}）",
    ),
    "smtp.starttls_missing": (
        "{host} [{address}] does not offer STARTTLS: mail to it travels unencrypted and can "
        "be read on the way",
        "{host} [{address}] はSTARTTLSを提供していません。このサーバー宛てのメールは暗号化され"
        "ずに送られ、途中で読まれるおそれがあります",
    ),
    "smtp.starttls_refused": (
        "{host} [{address}] offers STARTTLS but answered it with {reply}: senders fall back "
        "to unencrypted delivery",
        "{host} [{address}] はSTARTTLSを提示しながら {reply} と応答しました。送信側は暗号化なし"
        "の配送に戻ります",
    ),
    "smtp.tls_failed": (
        "{host} [{address}] offers STARTTLS but no TLS handshake succeeded ({reason}): "
        "senders fall back to unencrypted delivery",
        "{host} [{address}] はSTARTTLSを提示していますが、TLSハンドシェイクが成立しません"
        "（{reason}）。送信側は暗号化なしの配送に戻ります",
    ),
    # -- the certificate --------------------------------------------------------------------
    "smtp.cert_trusted": (
        "the certificate of {host} chains to a trusted CA (issuer: {issuer})",
        "{host} の証明書は信頼されたCAにつながっています（発行者: {issuer}）",
    ),
    "smtp.cert_untrusted": (
        "the certificate of {host} does not chain to a trusted CA ({reason}; issuer: "
        "{issuer}): senders that verify (MTA-STS, most providers) refuse it",
        "{host} の証明書は信頼されたCAにつながっていません（{reason}、発行者: {issuer}）。"
        "証明書を検証する送信側（MTA-STS、多くの事業者）は受け付けません",
    ),
    "smtp.cert_self_signed": (
        "the certificate of {host} is self-signed ({subject}): senders that verify "
        "(MTA-STS) refuse it; use a certificate from a CA, or publish DANE TLSA records",
        "{host} の証明書は自己署名です（{subject}）。検証する送信側（MTA-STS）は受け付けません。"
        "CAの証明書を使うか、DANEのTLSAレコードを公開してください",
    ),
    "smtp.cert_chain_unchecked": (
        "could not check the certificate chain of {host} ({reason})",
        "{host} の証明書チェーンを確認できませんでした（{reason}）",
    ),
    "smtp.cert_name": (
        "the certificate of {host} names it",
        "{host} の証明書にはこのホスト名が含まれています",
    ),
    "smtp.cert_name_mismatch": (
        "the certificate of {host} does not name it (names: {names}): senders that verify "
        "refuse it",
        "{host} の証明書にこのホスト名が含まれていません（名前: {names}）。検証する送信側は"
        "受け付けません",
    ),
    "smtp.cert_dates": (
        "the certificate of {host} is valid until {not_after} ({days} days left)",
        "{host} の証明書は {not_after} まで有効です（残り{days}日）",
    ),
    "smtp.cert_expiring": (
        "the certificate of {host} expires on {not_after}, in {days} days: renew it now",
        "{host} の証明書は {not_after} に期限が切れます（残り{days}日）。すぐに更新してください",
    ),
    "smtp.cert_expired": (
        "the certificate of {host} expired on {not_after}, {days} days ago",
        "{host} の証明書は {not_after} に期限切れになっています（{days}日前）",
    ),
    "smtp.cert_not_yet_valid": (
        "the certificate of {host} is valid only from {not_before}",
        "{host} の証明書は {not_before} からしか有効になりません",
    ),
    "smtp.cert_unreadable": (
        "could not read the certificate of {host} ({reason})",
        "{host} の証明書を読み取れませんでした（{reason}）",
    ),
    # -- TLS versions -----------------------------------------------------------------------
    "smtp.tls_versions": (
        "{host} [{address}] accepts {accepted}; refuses {refused}",
        "{host} [{address}] が受け付けるバージョン: {accepted}。拒否: {refused}",
    ),
    "smtp.tls_legacy": (
        "{host} [{address}] still accepts {versions}, which RFC 8996 forbids: allow only "
        "TLS 1.2 and 1.3",
        "{host} [{address}] はRFC 8996で禁止された {versions} をまだ受け付けます。"
        "TLS 1.2と1.3だけを許可してください",
    ),
    "smtp.tls_modern_missing": (
        "{host} [{address}] accepts neither TLS 1.2 nor TLS 1.3",
        "{host} [{address}] はTLS 1.2にもTLS 1.3にも対応していません",
    ),
    "smtp.tls13_missing": (
        "{host} [{address}] does not accept TLS 1.3",
        "{host} [{address}] はTLS 1.3に対応していません",
    ),
    "smtp.tls_version_untestable": (
        "{version} was not tested against {host} [{address}]: {reason}",
        "{host} [{address}] に対して {version} は試験していません: {reason}",
    ),
    "smtp.tls_version_unchecked": (
        "could not test {version} against {host} [{address}] ({reason})",
        "{host} [{address}] に対して {version} を試験できませんでした（{reason}）",
    ),
    # -- AUTH -------------------------------------------------------------------------------
    "smtp.auth_before_tls": (
        "{host} [{address}] offers AUTH ({mechanisms}) before STARTTLS: passwords can be "
        "sent unencrypted; offer AUTH only inside TLS (Postfix: smtpd_tls_auth_only = yes)",
        "{host} [{address}] はSTARTTLSの前にAUTH（{mechanisms}）を提示しています。パスワードが"
        "暗号化されずに送られるおそれがあります。AUTHはTLSの中だけで提示してください"
        "（Postfix: smtpd_tls_auth_only = yes）",
    ),
    "smtp.auth_without_tls": (
        "{host} [{address}] offers AUTH ({mechanisms}) on a port without TLS: passwords "
        "travel unencrypted",
        "{host} [{address}] はTLSのないポートでAUTH（{mechanisms}）を提示しています。"
        "パスワードが暗号化されずに送られます",
    ),
    "smtp.auth_tls_only": (
        "{host} [{address}] offers AUTH ({mechanisms}) only inside TLS",
        "{host} [{address}] はAUTH（{mechanisms}）をTLSの中だけで提示しています",
    ),
    # -- open relay -------------------------------------------------------------------------
    "smtp.relay_open": (
        "{host} [{address}] is an OPEN RELAY: it accepted mail from {sender} to {recipient} "
        "({reply}); spammers can send through it",
        "{host} [{address}] は第三者中継（オープンリレー）を許しています: {sender} から "
        "{recipient} 宛てを受け付けました（{reply}）。スパム送信に悪用されます",
    ),
    "smtp.relay_refused": (
        "{host} [{address}] refused to relay from {sender} to {recipient} ({reply})",
        "{host} [{address}] は {sender} から {recipient} 宛ての中継を拒否しました（{reply}）",
    ),
    "smtp.relay_unchecked": (
        "could not test {host} [{address}] for open relaying ({reason})",
        "{host} [{address}] の第三者中継を試験できませんでした（{reason}）",
    ),
    "smtp.relay_not_tested": (
        "open relaying was not tested (add --relay-test to test the domain's own MX hosts)",
        "第三者中継の試験は行っていません（ドメイン自身のMXホストを試験するには --relay-test を"
        "付けてください）",
    ),
}


def render(key: str, **values: Any) -> tuple[str, str]:
    """The (en, ja) sentence of ``key``, filled from ``values``."""
    return fill(MESSAGES, key, values)


def note(result: AreaResult, check: str, status: str, **evidence: Any) -> Finding:
    """Add the finding ``check`` with its sentences to ``result``."""
    return add(result, render(check, **evidence), check, status, evidence)
