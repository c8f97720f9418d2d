"""Every sentence about reports a person reads, in English and Japanese.

Values in braces come from the files (untrusted); they are only ever substituted, never used as
a template.
"""

from __future__ import annotations

from typing import Any

ERRORS: dict[str, tuple[str, str]] = {
    "file.unreadable": ("cannot read the file: {detail}",
                        "ファイルを読めません: {detail}"),
    "file.internal": (
        "the file could not be read because of an error in Mailwarden ({detail}); please "
        "report it",
        "Mailwarden内部のエラーでファイルを読めませんでした（{detail}）。報告してください"),
    "file.too_large": ("the file is larger than {limit} bytes; it is not read",
                       "ファイルが{limit}バイトを超えているため読み込みません"),
    "file.empty": ("the file is empty", "ファイルが空です"),
    "file.unpacked_budget": (
        "the reports in this file decompress to more than {limit} bytes together (all its "
        "attachments and archive members count); the rest of the file is not read",
        "このファイルのレポートは展開後の合計が{limit}バイトを超えます（すべての添付ファイルと"
        "アーカイブ内のファイルの合計）。ファイルの残りは読み込みません"),
    "file.records_budget": (
        "the reports in this file have more than {limit} records together (all its attachments "
        "and archive members count); the rest of the file is not read",
        "このファイルのレポートはレコード数の合計が{limit}を超えます（すべての添付ファイルと"
        "アーカイブ内のファイルの合計）。ファイルの残りは読み込みません"),
    "gzip.corrupt": ("corrupt gzip data: {detail}", "gzipデータが壊れています: {detail}"),
    "gzip.too_large": (
        "the gzip data decompresses to more than {limit} bytes (a decompression bomb?)",
        "gzipデータの展開後のサイズが{limit}バイトを超えます（圧縮爆弾の可能性があります）"),
    "zip.corrupt": ("corrupt or unsupported zip archive: {detail}",
                    "zipアーカイブが壊れているか、対応していない形式です: {detail}"),
    "zip.too_many": ("the zip archive has {count} members; at most {limit} are accepted",
                     "zipアーカイブに{count}個のファイルがあります。上限は{limit}個です"),
    "zip.too_large": (
        "zip member {member} decompresses to more than {limit} bytes (a decompression bomb?)",
        "zip内の{member}の展開後のサイズが{limit}バイトを超えます（圧縮爆弾の可能性があります）"),
    "zip.encrypted": ("zip member {member} is encrypted", "zip内の{member}は暗号化されています"),
    "zip.empty": ("the zip archive contains no file", "zipアーカイブにファイルがありません"),
    "archive.nested": (
        "{outer} contains another compressed archive ({inner}); nested archives are refused",
        "{outer}の中にさらに圧縮アーカイブ（{inner}）があります。入れ子のアーカイブは受け付けません"),
    "mail.unparsable": ("cannot parse the mail: {detail}", "メールを解析できません: {detail}"),
    "mail.too_many_parts": ("the mail has more than {limit} MIME parts",
                            "メールのMIMEパートが{limit}個を超えています"),
    "mail.no_report": (
        "the mail contains no DMARC aggregate report, DMARC failure report or TLS report "
        "(parts: {parts})",
        "メールにDMARC集約レポート・DMARC失敗レポート・TLSレポートが含まれていません"
        "（パート: {parts}）"),
    "report.unknown": (
        "not a DMARC aggregate report, DMARC failure report or TLS report ({detail})",
        "DMARC集約レポート・DMARC失敗レポート・TLSレポートのいずれでもありません（{detail}）"),
    "xml.encoding": ("unknown or unsupported character encoding \"{encoding}\"",
                     "文字コード「{encoding}」は不明か、対応していません"),
    "xml.syntax": ("not well-formed XML at line {line}, column {column}: {detail}",
                   "XMLの形式が正しくありません（{line}行{column}列）: {detail}"),
    "xml.doctype": (
        "the XML has a document type declaration (DOCTYPE); reports never need one and it is "
        "refused (entity expansion)",
        "XMLに文書型宣言（DOCTYPE）があります。レポートには不要で、実体展開の危険があるため"
        "受け付けません"),
    "xml.too_deep": ("the XML nests deeper than {limit} elements",
                     "XMLの要素の入れ子が{limit}段を超えています"),
    "xml.too_many": ("the XML has more than {limit} elements",
                     "XMLの要素数が{limit}を超えています"),
    "xml.not_report": (
        "the XML root element is <{root}>, not <feedback>: not a DMARC aggregate report",
        "XMLのルート要素が<feedback>ではなく<{root}>です。DMARC集約レポートではありません"),
    "dmarc.missing": ("{where}: the required element <{element}> is missing",
                      "{where}: 必須の要素<{element}>がありません"),
    "dmarc.empty": ("{where}: <{element}> is empty", "{where}: <{element}>が空です"),
    "dmarc.integer": ("{where}: <{element}> is \"{value}\", not a whole number",
                      "{where}: <{element}>の値「{value}」は整数ではありません"),
    "dmarc.ip": ("{where}: <source_ip> \"{value}\" is not an IP address",
                 "{where}: <source_ip>の値「{value}」はIPアドレスではありません"),
    "dmarc.enum": (
        "{where}: <{element}> is \"{value}\", not one of {allowed} (the schema's values are "
        "lower case)",
        "{where}: <{element}>の値「{value}」はスキーマの値（{allowed}、小文字）の"
        "いずれでもありません"),
    "dmarc.too_long": ("{where}: <{element}> is longer than {limit} characters",
                       "{where}: <{element}>が{limit}文字を超えています"),
    "dmarc.too_many_records": ("the report has more than {limit} records",
                               "レポートのレコード数が{limit}を超えています"),
    "dmarc.no_org": (
        "report_metadata: both <org_name> and <email> are empty; the reporter is unknown",
        "report_metadata: <org_name>と<email>がどちらも空で、送信元組織が分かりません"),
    "json.syntax": ("not valid JSON at line {line}, column {column}: {detail}",
                    "JSONの形式が正しくありません（{line}行{column}列）: {detail}"),
    "json.too_deep": ("the JSON nests deeper than {limit} levels",
                      "JSONの入れ子が{limit}段を超えています"),
    "json.encoding": ("a TLS report must be UTF-8 (RFC 8460): {detail}",
                      "TLSレポートはUTF-8でなければなりません（RFC 8460）: {detail}"),
    "tls.not_object": ("{where} must be a JSON object",
                       "{where}はJSONオブジェクトでなければなりません"),
    "tls.missing": ("{where}: the required field \"{field}\" is missing",
                    "{where}: 必須の項目「{field}」がありません"),
    "tls.type": ("{where}: \"{field}\" must be {expected}",
                 "{where}: 「{field}」は{expected_ja}でなければなりません"),
    "tls.date": (
        "{where}: \"{field}\" is not an RFC 3339 date-time with a time zone: \"{value}\"",
        "{where}: 「{field}」の値「{value}」はタイムゾーン付きのRFC 3339日時ではありません"),
    "tls.too_many": ("{where}: \"{field}\" has more than {limit} entries",
                     "{where}: 「{field}」の件数が{limit}を超えています"),
    "tls.too_long": ("{where}: \"{field}\" is longer than {limit} characters",
                     "{where}: 「{field}」が{limit}文字を超えています"),
    "failure.type": (
        "an ARF report of feedback type \"{value}\", not a DMARC failure report (auth-failure)",
        "フィードバック種別が「{value}」のARFレポートで、DMARC失敗レポート（auth-failure）"
        "ではありません"),
    "failure.no_domain": ("the failure report names no reported domain",
                          "失敗レポートに対象ドメインが書かれていません"),
}

WARNINGS: dict[str, tuple[str, str]] = {
    "warn.encoding_replaced": (
        "bytes that are not valid {encoding} were replaced (the first at byte {offset})",
        "{encoding}として正しくないバイトを置き換えました（最初は{offset}バイト目）"),
    "warn.repaired": (
        "the XML was not well-formed ({detail}); {count} unescaped '<' or '&' in text were "
        "escaped and it was read again",
        "XMLの形式が正しくなかったため（{detail_ja}）、テキスト中のエスケープされていない"
        "「<」「&」{count}個をエスケープして読み直しました"),
    "warn.extracted": (
        "the XML around <{root}> was not well-formed ({detail}); only the <{root}> element was "
        "read",
        "<{root}>の外側のXMLの形式が正しくなかったため（{detail_ja}）、<{root}>要素だけを"
        "読みました"),
    "warn.org_from_email": (
        "<org_name> is empty; the reporter is named after its e-mail domain {org}",
        "<org_name>が空のため、送信元組織をメールアドレスのドメイン{org}としました"),
    "warn.no_records": ("the report has no records", "レポートにレコードがありません"),
    "warn.namespace": ("unknown XML namespace {namespace}; read as an aggregate report",
                       "不明なXML名前空間{namespace}ですが、集約レポートとして読みました"),
    "warn.value": (
        "{where}: <{element}> \"{value}\" is not a value the schema defines; kept as it is",
        "{where}: <{element}>の値「{value}」はスキーマにない値ですが、そのまま記録しました"),
    "warn.gzip_trailing": ("{count} bytes after the end of the gzip data were ignored",
                           "gzipデータの後ろにある{count}バイトを無視しました"),
    "warn.source_ip": ("Source-IP \"{value}\" is not an IP address; left empty",
                       "Source-IPの値「{value}」はIPアドレスではないため、空としました"),
    "warn.tls_value": ("{where}: \"{field}\" is \"{value}\", not a value RFC 8460 defines",
                       "{where}: 「{field}」の値「{value}」はRFC 8460にない値です"),
    "warn.repeated": ("(and {count} more like it)", "（同様の警告がほかに{count}件）"),
}

TYPES_JA = {"a string": "文字列", "an array": "配列", "an object": "オブジェクト",
            "a whole number from 0": "0以上の整数", "an array of strings": "文字列の配列"}


def render(key: str, lang: str, **params: Any) -> str:
    """The sentence for ``key`` in ``lang`` ("en" or "ja"); English if a value is missing."""
    en, ja = ERRORS.get(key) or WARNINGS.get(key) or TEXT[key]
    params.setdefault("expected_ja", TYPES_JA.get(str(params.get("expected", "")), ""))
    try:
        return (ja if lang == "ja" else en).format(**params)
    except (KeyError, IndexError, ValueError):
        return en


TEXT: dict[str, tuple[str, str]] = {
    "status.imported": ("imported", "取り込み"),
    "status.duplicate": ("already stored", "登録済み"),
    "status.error": ("error", "エラー"),
    "kind.aggregate": ("aggregate", "集約"),
    "kind.failure": ("failure", "失敗"),
    "kind.tls": ("TLS", "TLS"),
    "import.totals": (
        "{files} files: {imported} reports imported, {duplicate} already stored, "
        "{errors} files with errors",
        "{files}ファイル: {imported}件のレポートを取り込み、{duplicate}件は登録済み、"
        "{errors}ファイルでエラー"),
    "summary.none": ("no DMARC or TLS reports stored for this selection",
                     "条件に合うDMARC・TLSレポートはありません"),
    "summary.domain": (
        "{domain}: reports {reports}, messages {messages}, DMARC pass {passed} ({rate}), "
        "fail {failed}",
        "{domain}: レポート{reports}件、{messages}通、DMARC合格{passed}通（{rate}）、"
        "不合格{failed}通"),
    "summary.fail_kinds": (
        "  failing: {spf_unaligned} SPF passes but not aligned, {dkim_unaligned} DKIM passes "
        "but not aligned, {both_unaligned} both pass but neither aligned, {no_auth} nothing "
        "passes",
        "  不合格の内訳: SPFは合格だがドメイン不一致{spf_unaligned}通、DKIMは合格だが"
        "ドメイン不一致{dkim_unaligned}通、両方合格だがどちらも不一致{both_unaligned}通、"
        "認証なし{no_auth}通"),
    "summary.sources": ("who sends as the domain (failing sources first):",
                        "このドメインを名乗って送信している送信元（不合格の多い順）:"),
    "summary.legend": (
        "spoofing? = nothing authenticates: a spoofer, or a server of yours that is neither in "
        "SPF nor signing with DKIM; passes = all of the source's mail passes DMARC",
        "なりすまし? = SPFもDKIMも合格していません（なりすましか、SPFに登録されずDKIM署名も"
        "していない自組織のサーバー）。合格 = この送信元のメールはすべてDMARCに合格"),
    "summary.networks": ("by network (AS), failing first:",
                         "ネットワーク(AS)別（不合格の多い順）:"),
    "summary.network_line": (
        "{asn}: sources {sources}, messages {messages}, pass {passed}, fail {failed}",
        "{asn}: 送信元{sources}件、{messages}通、合格{passed}通、不合格{failed}通"),
    "summary.more": ("... {count} more sources (see --json or --limit)",
                     "… ほかに{count}件の送信元（--jsonまたは--limitで表示）"),
    "summary.tls": ("SMTP TLS reports (RFC 8460):", "SMTP TLSレポート（RFC 8460）:"),
    "summary.tls_line": (
        "{domain} ({policy}): reports {reports}, sessions succeeded {ok}, failed {failed}{kinds}",
        "{domain}（{policy}）: レポート{reports}件、成功{ok}セッション、失敗{failed}セッション"
        "{kinds}"),
    "summary.failures": ("DMARC failure reports (samples of failing mail):",
                         "DMARC失敗レポート（不合格メールの個別報告）:"),
    "summary.failure_line": ("{source} {where}: reports {count} about {domain}{subjects}",
                             "{source} {where}: {domain}宛て{count}件{subjects}"),
    "col.source": ("source", "送信元"),
    "col.country": ("cc", "国"),
    "col.network": ("network (AS)", "ネットワーク(AS)"),
    "col.messages": ("messages", "通数"),
    "col.pass": ("pass", "合格"),
    "col.spf_unaligned": ("spf≠", "SPF不一致"),
    "col.dkim_unaligned": ("dkim≠", "DKIM不一致"),
    "col.both_unaligned": ("both≠", "両方不一致"),
    "col.no_auth": ("no auth", "認証なし"),
    "col.verdict": ("verdict", "判定"),
    "verdict.pass": ("passes", "合格"),
    "verdict.service": ("service to fix?", "要設定のサービス?"),
    "verdict.spoofing": ("spoofing?", "なりすまし?"),
    "verdict.forwarded": ("forwarded", "転送"),
    "verdict.mixed": ("mixed", "混在"),
    "hint.pass": ("all of this source's mail passes DMARC",
                  "この送信元のメールはすべてDMARCに合格しています"),
    "hint.spf": ("SPF passes for {domains}, not aligned with {domain}",
                 "SPFは{domains}として合格していますが、{domain}と一致しません"),
    "hint.dkim": ("DKIM passes for {domains}, not aligned with {domain}",
                  "DKIMは{domains}として合格していますが、{domain}と一致しません"),
    "hint.own": (
        "{method} passes for {domains} by the report's own results, yet its DMARC verdict is "
        "fail: strict alignment (adkim/aspf=s) needs the exact From domain, or the reporter "
        "erred",
        "レポートの認証結果では{method}が{domains}として合格していますが、DMARCの判定は"
        "不合格です。厳格な一致（adkim/aspf=s）ではFromと完全に同じドメインが必要です。"
        "または受信側の誤りです"),
    "hint.service": (
        "a service sending as {domain}? Have it sign with DKIM d={domain} (or use a return-path "
        "under {domain}); if nobody knows it, treat it as spoofing",
        "{domain}として送信しているサービスであれば、DKIMをd={domain}で署名させるか、"
        "{domain}配下のReturn-Pathを使わせてください。心当たりがなければなりすましです"),
    "hint.spoofing": (
        "nothing authenticates: a spoofer, or a server of yours that is neither in SPF nor "
        "signing with DKIM",
        "SPFもDKIMも合格していません。なりすましか、SPFに登録されずDKIM署名もしていない"
        "自組織のサーバーです"),
    "hint.forwarded": (
        "the reporter says it was forwarded or came through a mailing list; usually nothing "
        "to fix",
        "受信側は転送またはメーリングリスト経由と報告しています。通常は対応不要です"),
    "hint.mixed": (
        "part of this source's mail passes: a forwarder, a mailing list, or a shared server "
        "also used by others",
        "この送信元のメールの一部は合格しています。転送、メーリングリスト、または他者と"
        "共用のサーバーです"),
}
