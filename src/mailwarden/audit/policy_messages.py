"""Every sentence the MTA-STS, TLS-RPT, BIMI, DNSSEC and DANE areas say, in English and
Japanese: ``{finding id: (en, ja)}``. :mod:`mailwarden.audit.messages` merges them into its
``MESSAGES``, so ``note`` and ``render`` work the same for every area. Every id here is
documented in docs/audit.md.
"""

from __future__ import annotations

MESSAGES: dict[str, tuple[str, str]] = {
    # -- MTA-STS ----------------------------------------------------------------------------
    "mta_sts.unchecked": (
        "could not check the MTA-STS record at _mta-sts.{domain} ({reason})",
        "_mta-sts.{domain} のMTA-STSレコードを確認できませんでした（{reason}）",
    ),
    "mta_sts.missing": (
        "{domain} has no MTA-STS record: senders deliver over TLS only when nothing "
        "interferes, and an attacker on the path can strip STARTTLS unnoticed",
        "{domain} にはMTA-STSレコードがありません。送信側は妨害がないときだけTLSで配送するため、"
        "経路上の攻撃者がSTARTTLSを取り除いても気づかれません",
    ),
    "mta_sts.not_needed": (
        "{domain} has no MX hosts that take mail, so MTA-STS is not needed",
        "{domain} にはメールを受けるMXホストがないため、MTA-STSは不要です",
    ),
    "mta_sts.multiple": (
        "{count} MTA-STS records at _mta-sts.{domain}: senders then assume there is no "
        "policy; keep exactly one",
        "_mta-sts.{domain} にMTA-STSレコードが{count}件あります。この場合送信側はポリシーが"
        "ないものとみなします。1件にしてください",
    ),
    "mta_sts.found": (
        "MTA-STS record at _mta-sts.{domain}: {record}",
        "_mta-sts.{domain} にMTA-STSレコードがあります: {record}",
    ),
    "mta_sts.txt_syntax": (
        "the MTA-STS record of {domain} breaks the grammar at character {offset} "
        "(\"{value}\", expected {expected}): senders ignore the whole record",
        "{domain} のMTA-STSレコードの{offset}文字目が書式に反しています（\"{value}\"、"
        "期待値: {expected}）。送信側はレコード全体を無視します",
    ),
    "mta_sts.id_missing": (
        "the MTA-STS record of {domain} has no id=: senders ignore it",
        "{domain} のMTA-STSレコードに id= がないため、送信側は無視します",
    ),
    "mta_sts.id_syntax": (
        "MTA-STS record of {domain}: id={value} is not 1 to 32 letters and digits; senders "
        "ignore the record",
        "{domain} のMTA-STSレコード: id={value} は1〜32文字の英数字ではないため、送信側は"
        "レコードを無視します",
    ),
    "mta_sts.duplicate_field": (
        "MTA-STS {where} of {domain}: {field} appears more than once; senders may read "
        "either value",
        "{domain} のMTA-STS（{where}）: {field} が複数回現れます。送信側がどちらの値を読むかは"
        "不定です",
    ),
    "mta_sts.unknown_field": (
        "MTA-STS {where} of {domain}: unknown field {field} is ignored",
        "{domain} のMTA-STS（{where}）: 未知の項目 {field} は無視されます",
    ),
    "mta_sts.txt_missing": (
        "a policy is served at mta-sts.{domain} but there is no _mta-sts TXT record: "
        "senders never fetch it",
        "mta-sts.{domain} でポリシーが公開されていますが、_mta-sts のTXTレコードがないため"
        "送信側は取得しません",
    ),
    "mta_sts.host_missing": (
        "the policy host {host} has no address ({reason}): senders cannot fetch the policy "
        "and apply none",
        "ポリシーのホスト {host} にアドレスがありません（{reason}）。送信側はポリシーを取得できず"
        "適用しません",
    ),
    "mta_sts.host_unchecked": (
        "could not look up the policy host {host} ({reason})",
        "ポリシーのホスト {host} を確認できませんでした（{reason}）",
    ),
    "mta_sts.private_address": (
        "the policy host {host} resolves to a non-public address ({addresses}); not probed "
        "— use --allow-private for an internal audit",
        "ポリシーのホスト {host} は公開されていないアドレス（{addresses}）を指しています。"
        "接続試験は行っていません。内部向けの監査では --allow-private を付けてください",
    ),
    "mta_sts.connect_failed": (
        "could not connect to {url} ({reason}): senders cannot fetch the policy and apply "
        "none",
        "{url} に接続できませんでした（{reason}）。送信側はポリシーを取得できず適用しません",
    ),
    "mta_sts.fetch_timeout": (
        "{url} did not answer in time ({reason})",
        "{url} が時間内に応答しませんでした（{reason}）",
    ),
    "mta_sts.certificate_invalid": (
        "the certificate of {host} is not valid for senders ({reason}): they refuse the "
        "policy; it must chain to a public CA and name {host}",
        "{host} の証明書は送信側にとって有効ではありません（{reason}）。ポリシーは拒否されます。"
        "公的な認証局から発行され、{host} を含む証明書が必要です",
    ),
    "mta_sts.tls_failed": (
        "the TLS handshake with {host} failed ({reason}): senders cannot fetch the policy",
        "{host} とのTLSハンドシェイクに失敗しました（{reason}）。送信側はポリシーを取得できません",
    ),
    "mta_sts.http_invalid": (
        "{url} did not answer with readable HTTP ({reason})",
        "{url} の応答は正しいHTTPとして読めませんでした（{reason}）",
    ),
    "mta_sts.redirect": (
        "{url} answers {http_status} (redirect to {location}); senders must not follow "
        "redirects, so they get no policy: serve the file directly",
        "{url} は {http_status}（{location} へのリダイレクト）を返します。送信側はリダイレクトを"
        "たどらないためポリシーを得られません。ファイルを直接返してください",
    ),
    "mta_sts.http_status": (
        "{url} answers HTTP {http_status}; only 200 gives senders a policy",
        "{url} は HTTP {http_status} を返します。送信側がポリシーを得られるのは 200 のときだけです",
    ),
    "mta_sts.too_large": (
        "the policy at {url} is larger than {limit} bytes; senders refuse policies that big",
        "{url} のポリシーは{limit}バイトを超えています。送信側はこの大きさのポリシーを拒否します",
    ),
    "mta_sts.content_type": (
        "{url} is served as {content_type}; senders check for text/plain and may refuse it",
        "{url} は {content_type} として返されています。送信側は text/plain かを確認し、"
        "拒否することがあります",
    ),
    "mta_sts.policy_syntax": (
        "MTA-STS policy of {domain}, line {line}: \"{value}\" is not \"name: value\"",
        "{domain} のMTA-STSポリシー {line}行目: \"{value}\" は「名前: 値」の形ではありません",
    ),
    "mta_sts.field_case": (
        "MTA-STS policy of {domain}, line {line}: field names are case-sensitive; "
        "\"{field}\" is not \"{expected}\" and is ignored",
        "{domain} のMTA-STSポリシー {line}行目: 項目名は大文字小文字を区別します。"
        "\"{field}\" は \"{expected}\" ではないため無視されます",
    ),
    "mta_sts.bad_value": (
        "MTA-STS policy of {domain}, line {line}: {field}: {value} is invalid (expected "
        "{expected})",
        "{domain} のMTA-STSポリシー {line}行目: {field}: {value} は不正です（期待値: {expected}）",
    ),
    "mta_sts.bad_mx": (
        "MTA-STS policy of {domain}, line {line}: mx: {value} is not a host name or "
        "*.domain pattern; senders ignore it",
        "{domain} のMTA-STSポリシー {line}行目: mx: {value} はホスト名でも *.ドメイン の形でも"
        "ないため、送信側は無視します",
    ),
    "mta_sts.missing_field": (
        "the MTA-STS policy of {domain} has no {field}: senders cannot use it",
        "{domain} のMTA-STSポリシーに {field} がないため、送信側は使えません",
    ),
    "mta_sts.policy_found": (
        "MTA-STS policy: mode {mode}, max_age {max_age} s, mx {mx}",
        "MTA-STSポリシー: mode {mode}、max_age {max_age}秒、mx {mx}",
    ),
    "mta_sts.mode_enforce": (
        "MTA-STS mode enforce: senders deliver to {domain} only over TLS to a listed MX host "
        "with a valid certificate",
        "MTA-STSはenforceモードです。送信側は有効な証明書を持つ、ポリシーに記載されたMXホストへ"
        "TLSでのみ {domain} 宛てに配送します",
    ),
    "mta_sts.mode_testing": (
        "MTA-STS mode testing: senders report failures (TLS-RPT) but still deliver without "
        "TLS; switch to enforce once the reports are clean",
        "MTA-STSはtestingモードです。送信側は失敗を報告（TLS-RPT）するだけで、TLSなしでも配送"
        "します。レポートに問題がなければenforceにしてください",
    ),
    "mta_sts.mode_none": (
        "MTA-STS mode none: the policy is being withdrawn and protects nothing",
        "MTA-STSはnoneモードです。ポリシーは撤回中で、何も保護しません",
    ),
    "mta_sts.max_age_short": (
        "max_age is {max_age} s ({days} days): senders forget the policy that soon; RFC 8461 "
        "expects weeks or more",
        "max_age は{max_age}秒（{days}日）です。送信側はすぐにポリシーを忘れます。"
        "RFC 8461 は数週間以上を想定しています",
    ),
    "mta_sts.mx_unchecked": (
        "could not look up the MX hosts of {domain} to compare with the policy ({reason})",
        "ポリシーと照合する {domain} のMXホストを確認できませんでした（{reason}）",
    ),
    "mta_sts.mx_unmatched": (
        "MX hosts {hosts} match no mx pattern of the policy ({patterns}); in mode {mode} "
        "senders that apply it will not deliver to them",
        "MXホスト {hosts} はポリシーのどのmxパターン（{patterns}）にも一致しません。"
        "モード {mode} では、ポリシーを適用する送信側はこれらのホストへ配送しません",
    ),
    "mta_sts.mx_match": (
        "every MX host ({hosts}) matches the policy's mx patterns",
        "すべてのMXホスト（{hosts}）がポリシーのmxパターンに一致します",
    ),
    "mta_sts.mx_unused": (
        "mx patterns {patterns} match none of the MX hosts ({hosts})",
        "mxパターン {patterns} はどのMXホスト（{hosts}）にも一致しません",
    ),
    "mta_sts.publish_new": (
        "first serve this policy at {url} (mode testing; enforce once TLS-RPT reports are "
        "clean): {policy}; then publish this record",
        "まず {url} で次のポリシーを公開し（testingモード。TLS-RPTのレポートに問題がなければ"
        "enforceに）: {policy}、その後このレコードを公開します",
    ),
    "mta_sts.publish_fix": (
        "serve this corrected policy at {url}: {policy}; then publish the record with a new "
        "id so that senders fetch it again",
        "{url} で修正した次のポリシーを公開し: {policy}、送信側が再取得するよう新しい id で"
        "このレコードを公開します",
    ),
    # -- TLS-RPT ----------------------------------------------------------------------------
    "tls_rpt.unchecked": (
        "could not check the TLS-RPT record at {name} ({reason})",
        "{name} のTLS-RPTレコードを確認できませんでした（{reason}）",
    ),
    "tls_rpt.missing": (
        "no TLS-RPT record at {name}: senders send no reports of failed TLS deliveries to "
        "{domain}",
        "{name} にTLS-RPTレコードがありません。送信側は {domain} 宛てのTLS配送失敗を報告しません",
    ),
    "tls_rpt.multiple": (
        "{count} TLS-RPT records at {name}: senders then send no reports; keep exactly one",
        "{name} にTLS-RPTレコードが{count}件あり、送信側はレポートを送りません。1件にしてください",
    ),
    "tls_rpt.syntax": (
        "the TLS-RPT record of {domain} breaks the grammar at character {offset} "
        "(\"{value}\", expected {expected}): senders ignore it",
        "{domain} のTLS-RPTレコードの{offset}文字目が書式に反しています（\"{value}\"、"
        "期待値: {expected}）。送信側は無視します",
    ),
    "tls_rpt.rua_missing": (
        "the TLS-RPT record of {domain} has no rua=: nobody receives reports",
        "{domain} のTLS-RPTレコードに rua= がなく、誰もレポートを受け取りません",
    ),
    "tls_rpt.bad_uri": (
        "TLS-RPT record of {domain}: destination \"{value}\" is unusable (expected "
        "{expected})",
        "{domain} のTLS-RPTレコード: 送付先 \"{value}\" は使えません（期待値: {expected}）",
    ),
    "tls_rpt.duplicate_field": (
        "TLS-RPT record of {domain}: {field} appears more than once",
        "{domain} のTLS-RPTレコード: {field} が複数回現れます",
    ),
    "tls_rpt.unknown_field": (
        "TLS-RPT record of {domain}: unknown field {field} is ignored",
        "{domain} のTLS-RPTレコード: 未知の項目 {field} は無視されます",
    ),
    "tls_rpt.found": (
        "TLS reports for {domain} go to {rua}",
        "{domain} のTLSレポートの送付先: {rua}",
    ),
    "tls_rpt.publish": (
        "publish so that senders report failed TLS deliveries to {domain}",
        "送信側が {domain} 宛てのTLS配送失敗を報告するよう、これを公開します",
    ),
    # -- BIMI -------------------------------------------------------------------------------
    "bimi.unchecked": (
        "could not check the BIMI record at {name} ({reason})",
        "{name} のBIMIレコードを確認できませんでした（{reason}）",
    ),
    "bimi.missing": (
        "no BIMI record ({names}); BIMI is optional: it shows your logo next to "
        "authenticated mail",
        "BIMIレコードがありません（{names}）。BIMIは任意で、認証済みのメールにロゴを表示します",
    ),
    "bimi.multiple": (
        "{count} BIMI records at {name}: receivers ignore them; keep exactly one",
        "{name} にBIMIレコードが{count}件あり、受信側は無視します。1件にしてください",
    ),
    "bimi.inherited": (
        "no BIMI record for {domain} itself; the record at {name} applies",
        "{domain} 自体にはBIMIレコードがなく、{name} のレコードが適用されます",
    ),
    "bimi.version": (
        "the BIMI record at {name} does not start with v=BIMI1 (found \"{value}\"); "
        "receivers ignore it",
        "{name} のBIMIレコードが v=BIMI1 で始まっていません（\"{value}\"）。受信側は無視します",
    ),
    "bimi.tag_syntax": (
        "BIMI record at {name}, character {offset}: \"{value}\" is not tag=value",
        "{name} のBIMIレコード {offset}文字目: \"{value}\" は tag=value の形ではありません",
    ),
    "bimi.duplicate_tag": (
        "BIMI record at {name}: tag {tag} appears twice",
        "{name} のBIMIレコード: タグ {tag} が重複しています",
    ),
    "bimi.unknown_tag": (
        "BIMI record at {name}: unknown tag {tag}= is ignored",
        "{name} のBIMIレコード: 未知のタグ {tag}= は無視されます",
    ),
    "bimi.bad_value": (
        "BIMI record at {name}: {tag}={value} is invalid (expected {expected})",
        "{name} のBIMIレコード: {tag}={value} は不正です（期待値: {expected}）",
    ),
    "bimi.not_https": (
        "BIMI record at {name}: {tag}={value} is not an https:// URI; receivers fetch only "
        "over HTTPS",
        "{name} のBIMIレコード: {tag}={value} は https:// のURIではありません。受信側はHTTPSでしか"
        "取得しません",
    ),
    "bimi.not_svg": (
        "BIMI record at {name}: the logo {value} does not end in .svg; BIMI logos are SVG "
        "Tiny PS files",
        "{name} のBIMIレコード: ロゴ {value} が .svg で終わっていません。BIMIのロゴは "
        "SVG Tiny PS 形式です",
    ),
    "bimi.declined": (
        "the BIMI record at {name} declines BIMI (empty l= and a=): no logo is shown",
        "{name} のBIMIレコードはBIMIを辞退しています（l= と a= が空）。ロゴは表示されません",
    ),
    "bimi.location_missing": (
        "the BIMI record at {name} has no logo location (l=)",
        "{name} のBIMIレコードにロゴの場所（l=）がありません",
    ),
    "bimi.evidence_missing": (
        "the BIMI record at {name} has no a= (Verified Mark or Common Mark Certificate): "
        "Gmail and Apple Mail show no logo without one",
        "{name} のBIMIレコードに a=（VMCまたはCMC証明書）がありません。Gmail や Apple Mail は"
        "証明書なしではロゴを表示しません",
    ),
    "bimi.evidence_found": (
        "mark certificate at {evidence} (not verified by the audit)",
        "マーク証明書: {evidence}（監査では検証していません）",
    ),
    "bimi.found": (
        "BIMI record at {name}: logo {location}",
        "{name} にBIMIレコードがあります。ロゴ: {location}",
    ),
    "bimi.dmarc_unchecked": (
        "could not check the DMARC policy of {domain}, which BIMI depends on",
        "BIMIの前提となる {domain} のDMARCポリシーを確認できませんでした",
    ),
    "bimi.dmarc_not_enforced": (
        "BIMI needs DMARC at enforcement, but the policy for {domain} is {how}: receivers "
        "show no logo; move DMARC to quarantine or reject for all mail",
        "BIMIにはDMARCの強制ポリシーが必要ですが、{domain} のポリシーは {how} です。"
        "ロゴは表示されません。DMARCをすべてのメールに対して quarantine か reject に"
        "してください",
    ),
    "bimi.dmarc_org_weak": (
        "BIMI needs the Organizational Domain {org} at enforcement too, but its DMARC record "
        "says p={p}, sp={sp}",
        "BIMIには組織ドメイン {org} の強制ポリシーも必要ですが、そのDMARCレコードは "
        "p={p}、sp={sp} です",
    ),
    "bimi.dmarc_ok": (
        "DMARC policy {policy} for {domain}: enforcement, as BIMI requires",
        "{domain} のDMARCポリシーは {policy} で、BIMIが求める強制ポリシーです",
    ),
    # -- DNSSEC -----------------------------------------------------------------------------
    "dnssec.unchecked": (
        "could not check DNSSEC for {domain} ({reason})",
        "{domain} のDNSSECを確認できませんでした（{reason}）",
    ),
    "dnssec.validated": (
        "the answers for {domain} are DNSSEC-signed and validated by the resolver (AD bit)",
        "{domain} の応答はDNSSEC署名されており、リゾルバが検証しました（ADビット）",
    ),
    "dnssec.unsigned": (
        "{domain} is not DNSSEC-signed (no DNSKEY, no DS): its answers can be forged, and "
        "DANE is impossible",
        "{domain} はDNSSEC署名されていません（DNSKEYもDSもありません）。応答は偽造でき、"
        "DANEも使えません",
    ),
    "dnssec.bogus": (
        "DNSSEC validation of {domain} fails: the validating resolver answers SERVFAIL, "
        "while the zone answers with checking disabled; every validating resolver fails to "
        "resolve it (mail to it bounces): re-sign the zone or fix the DS at the parent",
        "{domain} のDNSSEC検証が失敗しています。検証リゾルバはSERVFAILを返し、検証を無効にすると"
        "ゾーンは応答します。検証を行うすべてのリゾルバで名前解決できず、宛てたメールは戻ります。"
        "ゾーンを再署名するか、親ゾーンのDSを直してください",
    ),
    "dnssec.not_validating": (
        "{domain} has a DS record, but the resolver did not validate the answers (no AD "
        "bit): audit with a validating resolver (--nameserver)",
        "{domain} にはDSレコードがありますが、リゾルバが応答を検証していません（ADビットなし）。"
        "検証を行うリゾルバ（--nameserver）で監査してください",
    ),
    "dnssec.no_ds": (
        "{domain} publishes DNSKEY records but its parent has no DS: the chain of trust is "
        "broken and validators treat it as unsigned; give the DS listed to your registrar",
        "{domain} はDNSKEYを公開していますが、親ゾーンにDSがありません。信頼の連鎖が切れており、"
        "検証側は署名なしとして扱います。記載のDSをレジストラに登録してください",
    ),
    "dnssec.algorithm_deprecated": (
        "DNSKEY algorithms {algorithms} are deprecated (RFC 8624): re-sign with ECDSAP256SHA256 "
        "(13) or Ed25519 (15)",
        "DNSKEYのアルゴリズム {algorithms} は非推奨です（RFC 8624）。ECDSAP256SHA256（13）か "
        "Ed25519（15）で再署名してください",
    ),
    "dnssec.publish_ds": (
        "give this DS record to the registrar of {domain} (it goes into the parent zone)",
        "このDSレコードを {domain} のレジストラに登録します（親ゾーンに入ります）",
    ),
    # -- DANE -------------------------------------------------------------------------------
    "dane.unchecked": (
        "could not look up {name} ({reason})",
        "{name} を確認できませんでした（{reason}）",
    ),
    "dane.no_mx": (
        "{domain} takes no mail (null MX or no such domain): DANE does not apply",
        "{domain} はメールを受け付けません（Null MX または存在しないドメイン）。DANEは対象外です",
    ),
    "dane.missing": (
        "no TLSA records for the MX hosts of {domain} ({hosts}); the zone is DNSSEC-validated, "
        "so DANE (TLSA 3 1 1) could be added",
        "{domain} のMXホスト（{hosts}）にTLSAレコードがありません。ゾーンはDNSSEC検証済みなので、"
        "DANE（TLSA 3 1 1）を追加できます",
    ),
    "dane.needs_dnssec": (
        "no TLSA records for the MX hosts of {domain} ({hosts}); DANE needs DNSSEC-validated "
        "MX and TLSA answers first",
        "{domain} のMXホスト（{hosts}）にTLSAレコードがありません。DANEにはまずDNSSECで検証される"
        "MXとTLSAの応答が必要です",
    ),
    "dane.found": (
        "{name}: TLSA {records}, DNSSEC-validated",
        "{name}: TLSA {records}、DNSSEC検証済み",
    ),
    "dane.not_validated": (
        "{name} has TLSA records but the answer is not DNSSEC-validated: senders ignore them "
        "(DANE needs DNSSEC)",
        "{name} にTLSAレコードがありますが、応答がDNSSECで検証されていません。送信側は無視します"
        "（DANEにはDNSSECが必要です）",
    ),
    "dane.mx_not_validated": (
        "the MX answer of {domain} is not DNSSEC-validated: senders do not look up the TLSA "
        "records of its hosts (DANE needs DNSSEC)",
        "{domain} のMXの応答がDNSSECで検証されていないため、送信側はホストのTLSAレコードを"
        "参照しません（DANEにはDNSSECが必要です）",
    ),
    "dane.partial": (
        "MX hosts {hosts} of {domain} have no TLSA records: an attacker can steer mail to them "
        "and strip TLS",
        "{domain} のMXホスト {hosts} にTLSAレコードがありません。攻撃者はメールをこれらに誘導し"
        "TLSを外せます",
    ),
    "dane.all_unusable": (
        "every TLSA record at {name} is unusable for SMTP: senders treat {host} as having none",
        "{name} のTLSAレコードはどれもSMTPでは使えません。送信側は {host} にTLSAがないものとして"
        "扱います",
    ),
    "dane.pkix_usage": (
        "{name}: TLSA {record} uses a PKIX usage, which SMTP senders do not use (RFC 7672): "
        "use 3 (DANE-EE) or 2 (DANE-TA)",
        "{name}: TLSA {record} はPKIX系の用途で、SMTPの送信側は使いません（RFC 7672）。"
        "3（DANE-EE）か2（DANE-TA）を使ってください",
    ),
    "dane.bad_usage": (
        "{name}: TLSA {record} has an unknown certificate usage",
        "{name}: TLSA {record} の証明書用途は未定義です",
    ),
    "dane.bad_selector": (
        "{name}: TLSA {record} has an unknown selector (0 or 1)",
        "{name}: TLSA {record} のセレクタは未定義です（0か1）",
    ),
    "dane.bad_matching": (
        "{name}: TLSA {record} has an unknown matching type (0, 1 or 2)",
        "{name}: TLSA {record} の照合方式は未定義です（0、1、2）",
    ),
    "dane.digest_length": (
        "{name}: TLSA {record} holds {size} bytes, not the length of its digest",
        "{name}: TLSA {record} のデータは{size}バイトで、ダイジェストの長さと一致しません",
    ),
    "dane.empty": (
        "{name}: TLSA {record} has no certificate data",
        "{name}: TLSA {record} に証明書データがありません",
    ),
    "dane.full_data": (
        "{name}: TLSA {record} holds the full data ({size} bytes); 3 1 1 (SHA-256 of the key) "
        "is smaller and survives certificate renewals",
        "{name}: TLSA {record} はデータ全体（{size}バイト）を持っています。3 1 1（鍵のSHA-256）"
        "の方が小さく、証明書の更新にも影響されません",
    ),
}
