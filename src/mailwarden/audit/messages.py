"""Every sentence the DMARC, DKIM and MX checks and the audit's output say, in English and
Japanese: ``{finding id: (en, ja)}``, the shape of ``mailwarden.i18n.MESSAGES``.

Placeholders are filled from the finding's evidence; DNS text in them is shortened first, so a
hostile record cannot make a sentence huge. Every id here is documented in docs/audit.md.
"""

from __future__ import annotations

from typing import Any

from mailwarden.audit.model import AreaResult, Finding
from mailwarden.audit.policy_messages import MESSAGES as POLICY_MESSAGES
from mailwarden.audit.sentences import add, fill

MESSAGES: dict[str, tuple[str, str]] = {
    # -- DMARC ------------------------------------------------------------------------------
    "dmarc.found": (
        "DMARC record at _dmarc.{domain}: {record}",
        "_dmarc.{domain} にDMARCレコードがあります: {record}",
    ),
    "dmarc.missing": (
        "no DMARC record at _dmarc.{domain} nor above it: receivers apply no policy, and "
        "anyone can send mail as {domain}",
        "_dmarc.{domain} にも上位のドメインにもDMARCレコードがありません。受信側はポリシーを適用"
        "せず、誰でも {domain} になりすましてメールを送れます",
    ),
    "dmarc.unchecked": (
        "could not check the DMARC record at _dmarc.{domain} ({reason})",
        "_dmarc.{domain} のDMARCレコードを確認できませんでした（{reason}）",
    ),
    "dmarc.walk_unchecked": (
        "could not ask {names} while looking for the policy above {domain} ({reason})",
        "{domain} の上位でポリシーを探す際に {names} を問い合わせできませんでした（{reason}）",
    ),
    "dmarc.multiple": (
        "{count} DMARC records at _dmarc.{domain}: receivers discard them all; keep exactly "
        "one",
        "_dmarc.{domain} にDMARCレコードが{count}件あり、受信側はすべて無視します。"
        "1件にしてください",
    ),
    "dmarc.parent_multiple": (
        "{count} DMARC records at _dmarc.{parent}: receivers discard them all, so the policy "
        "{domain} would inherit from {parent} does not apply either; keep exactly one there",
        "_dmarc.{parent} にDMARCレコードが{count}件あり、受信側はすべて無視するため、{domain} "
        "が {parent} から引き継ぐはずのポリシーも適用されません。{parent} のレコードを1件にして"
        "ください",
    ),
    "dmarc.version": (
        "TXT record at _dmarc.{domain} is ignored: a DMARC record must start with "
        "\"v=DMARC1\" (case-sensitive): {record}",
        "_dmarc.{domain} のTXTレコードは無視されます。DMARCレコードは \"v=DMARC1\"（大文字小文字を"
        "区別）で始める必要があります: {record}",
    ),
    "dmarc.wrong_location": (
        "a DMARC record is published at {domain} itself; receivers only look at "
        "_dmarc.{domain}",
        "DMARCレコードが {domain} 自体に公開されています。受信側が参照するのは "
        "_dmarc.{domain} だけです",
    ),
    "dmarc.not_ascii": (
        "the DMARC record of {domain} contains bytes that are not printable ASCII",
        "{domain} のDMARCレコードに表示可能なASCII以外のバイトが含まれています",
    ),
    "dmarc.too_long": (
        "the DMARC record of {domain} is {value} characters long; only the first 4096 were read",
        "{domain} のDMARCレコードは{value}文字あります。先頭の4096文字だけを読みました",
    ),
    "dmarc.tag_syntax": (
        "DMARC record of {domain}, character {offset}: \"{value}\" is not {expected}; "
        "receivers ignore this part",
        "{domain} のDMARCレコードの{offset}文字目: \"{value}\" は {expected} の形ではありません。"
        "受信側はこの部分を無視します",
    ),
    "dmarc.duplicate_tag": (
        "DMARC record of {domain}, character {offset}: tag {tag} appears twice; "
        "receivers may use either value",
        "{domain} のDMARCレコードの{offset}文字目: タグ {tag} が重複しています。"
        "受信側がどちらの値を使うかは不定です",
    ),
    "dmarc.bad_value": (
        "DMARC record of {domain}, character {offset}: {tag}={value} is invalid "
        "(expected {expected}); receivers use the default instead",
        "{domain} のDMARCレコードの{offset}文字目: {tag}={value} は不正です（期待値: {expected}）。"
        "受信側は既定値を使います",
    ),
    "dmarc.empty_value": (
        "DMARC record of {domain}, character {offset}: {tag}= has no value "
        "(expected {expected})",
        "{domain} のDMARCレコードの{offset}文字目: {tag}= に値がありません（期待値: {expected}）",
    ),
    "dmarc.bad_uri": (
        "DMARC record of {domain}: {tag} destination \"{value}\" is unusable ({expected})",
        "{domain} のDMARCレコード: {tag} の送付先 \"{value}\" は使えません（{expected}）",
    ),
    "dmarc.uri_size": (
        "DMARC record of {domain}: the size limit in \"{value}\" is RFC 7489 syntax that "
        "RFC 9989 removed; receivers now ignore it",
        "{domain} のDMARCレコード: \"{value}\" のサイズ指定はRFC 7489の書式で、RFC 9989で廃止され"
        "ました。受信側は無視します",
    ),
    "dmarc.unknown_tag": (
        "DMARC record of {domain}: unknown tag {tag}={value} is ignored",
        "{domain} のDMARCレコード: 未知のタグ {tag}={value} は無視されます",
    ),
    "dmarc.removed_tag": (
        "DMARC record of {domain}: {tag}= was removed by RFC 9989 (older receivers may still "
        "read it)",
        "{domain} のDMARCレコード: {tag}= はRFC 9989で廃止されました"
        "（古い受信側は読む場合があります）",
    ),
    "dmarc.p_missing": (
        "DMARC record of {domain} has no p= tag: RFC 9989 receivers treat it as p=none when "
        "rua= is valid, RFC 7489 receivers may ignore the record",
        "{domain} のDMARCレコードに p= タグがありません。RFC 9989の受信側は rua= が有効なら "
        "p=none とみなし、RFC 7489の受信側はレコードを無視することがあります",
    ),
    "dmarc.p_not_second": (
        "DMARC record of {domain}: p= is not right after v=DMARC1, which RFC 7489 requires",
        "{domain} のDMARCレコード: p= が v=DMARC1 の直後にありません（RFC 7489では必須です）",
    ),
    "dmarc.fo_without_ruf": (
        "DMARC record of {domain}: fo= has no effect without ruf=",
        "{domain} のDMARCレコード: ruf= がないため fo= は効果がありません",
    ),
    "dmarc.policy_absent": (
        "DMARC record of {domain} has no valid p= and no valid rua=: receivers apply no "
        "DMARC at all",
        "{domain} のDMARCレコードには有効な p= も rua= もありません。"
        "受信側はDMARCを一切適用しません",
    ),
    "dmarc.policy_none": (
        "policy of {domain} is p=none (monitoring only): mail that fails DMARC, spoofed mail "
        "included, is still delivered",
        "{domain} のポリシーは p=none（監視のみ）です。なりすましを含め、DMARCに失敗したメールも"
        "そのまま配送されます",
    ),
    "dmarc.policy_quarantine": (
        "policy of {domain} is p=quarantine: failing mail goes to spam folders; p=reject is "
        "the last step",
        "{domain} のポリシーは p=quarantine です。失敗したメールは迷惑メールフォルダに入ります。"
        "最終段階は p=reject です",
    ),
    "dmarc.policy_reject": (
        "policy of {domain} is p=reject: receivers refuse mail that fails DMARC",
        "{domain} のポリシーは p=reject です。DMARCに失敗したメールは受信拒否されます",
    ),
    "dmarc.inherited": (
        "no record at _dmarc.{domain}: the record of {policy_domain} applies, with policy "
        "{policy} for this subdomain",
        "_dmarc.{domain} にはレコードがなく、{policy_domain} のレコードが適用されます。"
        "このサブドメインへのポリシーは {policy} です",
    ),
    "dmarc.testing": (
        "DMARC of {domain} is in test mode ({how}): receivers are asked not to apply "
        "p={policy}",
        "{domain} のDMARCはテストモード（{how}）です。"
        "受信側に p={policy} を適用しないよう求めています",
    ),
    "dmarc.pct_partial": (
        "pct={pct}: RFC 7489 receivers apply the policy to only {pct}% of failing mail "
        "(RFC 9989 removed pct; use t=y while testing)",
        "pct={pct}: RFC 7489の受信側は失敗したメールの{pct}%にしかポリシーを適用しません"
        "（RFC 9989で pct は廃止。テスト中は t=y を使います）",
    ),
    "dmarc.sp_weaker": (
        "subdomain policy sp={sp} is weaker than p={p}: subdomains of {domain} can be spoofed",
        "サブドメインのポリシー sp={sp} が p={p} より弱く、{domain} のサブドメインはなりすまし"
        "可能です",
    ),
    "dmarc.np_weaker": (
        "np={np} for non-existent subdomains is weaker than the domain's p={p}: invented "
        "names under {domain} can be spoofed",
        "存在しないサブドメイン向けの np={np} が p={p} より弱く、{domain} 配下の架空の名前で"
        "なりすまし可能です",
    ),
    "dmarc.alignment_relaxed": (
        "alignment is relaxed (adkim={adkim}, aspf={aspf}): subdomains of the same "
        "organisation align",
        "アラインメントは緩和モード（adkim={adkim}, aspf={aspf}）で、同じ組織のサブドメインも"
        "一致とみなされます",
    ),
    "dmarc.alignment_strict": (
        "strict alignment ({which}): the DKIM d= / envelope sender domain must be exactly "
        "{domain}; check that every sending service uses exactly this domain",
        "厳格なアラインメント（{which}）: DKIMの d= やエンベロープ送信者のドメインが {domain} と"
        "完全一致する必要があります。すべての送信サービスがこのドメインを使うか確認してください",
    ),
    "dmarc.rua_missing": (
        "no rua=: nobody sends you aggregate reports, so you cannot see who sends mail as "
        "{domain} before enforcing",
        "rua= がありません。集計レポートが届かないため、強制ポリシーに移る前に誰が {domain} として"
        "送信しているか把握できません",
    ),
    "dmarc.rua_ok": (
        "aggregate reports go to {uris}",
        "集計レポートの送付先: {uris}",
    ),
    "dmarc.rua_non_mailto": (
        "{tag} destination {value}: receivers are only required to support mailto: URIs",
        "{tag} の送付先 {value}: 受信側に対応が求められているのは mailto: だけです",
    ),
    "dmarc.ruf_present": (
        "ruf= asks for failure reports ({uris}); they contain message data (personal "
        "information), and few receivers send them",
        "ruf= で失敗レポートを求めています（{uris}）。メール内容（個人情報）を含み、送る受信側は"
        "多くありません",
    ),
    "dmarc.external_authorized": (
        "{host} authorises {tag} reports for {policy_domain} ({name})",
        "{host} は {policy_domain} の {tag} レポートの受け取りを許可しています（{name}）",
    ),
    "dmarc.external_unauthorized": (
        "{tag} destination {host} is outside {policy_domain} and has not authorised it "
        "(no v=DMARC1 TXT at {name}): receivers will send no reports there",
        "{tag} の送付先 {host} は {policy_domain} の外部で、受け取りを許可していません"
        "（{name} に v=DMARC1 のTXTがありません）。レポートは送られません",
    ),
    "dmarc.external_unchecked": (
        "could not check whether {host} accepts {tag} reports for {policy_domain} "
        "({name}: {reason})",
        "{host} が {policy_domain} の {tag} レポートを受け取るか確認できませんでした"
        "（{name}: {reason}）",
    ),
    "dmarc.psd_set": (
        "psd={psd}: {domain} declares itself a public suffix domain; only registries should "
        "publish psd=y",
        "psd={psd}: {domain} は自身をパブリックサフィックスドメインと宣言しています。psd=y は"
        "レジストリだけが公開するものです",
    ),
    "dmarc.org_domain": (
        "Organizational Domain of {domain} (RFC 9989 tree walk): {org}",
        "{domain} の組織ドメイン（RFC 9989 のツリーウォーク）: {org}",
    ),
    "dmarc.rfc7489_differs": (
        "receivers still on RFC 7489 (Public Suffix List) find {rfc7489}, while RFC 9989 "
        "receivers find the record of {policy_domain}; publish a record at _dmarc.{domain}",
        "RFC 7489（パブリックサフィックスリスト）の受信側は {rfc7489} を参照し、"
        "RFC 9989 の受信側は {policy_domain} のレコードを参照します。"
        "_dmarc.{domain} にレコードを公開してください",
    ),
    "dmarc.psl_unavailable": (
        "no Public Suffix List installed (Debian package publicsuffix): what RFC 7489 "
        "receivers find was not compared",
        "パブリックサフィックスリスト（Debianパッケージ publicsuffix）がないため、RFC 7489 の受信側"
        "が参照するレコードとの比較はしていません",
    ),
    # -- DMARC rollout plan (records to publish) --------------------------------------------
    "plan.monitor": (
        "stage 1, monitor: publish this, then read the aggregate reports for 2-4 weeks and "
        "make every legitimate sender pass SPF or DKIM with alignment",
        "第1段階（監視）: これを公開し、2〜4週間集計レポートを確認して、正規の送信元がすべて"
        "SPFかDKIMでアラインメントに合格するよう直します",
    ),
    "plan.quarantine": (
        "stage 2, quarantine: when the reports show only your own services passing, send "
        "failing mail to spam folders; watch the reports for another 2-4 weeks",
        "第2段階（隔離）: レポートで正規の送信元だけが合格していることを確認したら、失敗した"
        "メールを迷惑メールフォルダへ送ります。さらに2〜4週間レポートを確認します",
    ),
    "plan.reject": (
        "stage 3, reject: refuse failing mail; spoofed mail as your domain is then refused",
        "第3段階（拒否）: 失敗したメールを拒否します。これでなりすましメールは受信拒否されます",
    ),
    "plan.fix": (
        "the same policy, with the record's errors fixed",
        "同じポリシーで、レコードの誤りを直したもの",
    ),
    "plan.authorize": (
        "publish at the report destination's domain so that receivers send {domain}'s "
        "reports to {host}",
        "受信側が {domain} のレポートを {host} に送れるよう、送付先のドメインに公開します",
    ),
    # -- DKIM -------------------------------------------------------------------------------
    "dkim.key": (
        "selector {selector}: {key_type} key of {bits} bits",
        "セレクタ {selector}: {bits}ビットの{key_type}鍵",
    ),
    "dkim.rsa_weak": (
        "selector {selector}: RSA key of {bits} bits; verifiers reject keys under 1024 bits "
        "(RFC 8301): publish a 2048-bit key",
        "セレクタ {selector}: {bits}ビットのRSA鍵です。1024ビット未満の鍵は検証側が拒否します"
        "（RFC 8301）。2048ビットの鍵を公開してください",
    ),
    "dkim.rsa_short": (
        "selector {selector}: RSA key of {bits} bits; use 2048 bits",
        "セレクタ {selector}: {bits}ビットのRSA鍵です。2048ビットにしてください",
    ),
    "dkim.rsa_huge": (
        "selector {selector}: RSA key of {bits} bits; verifiers need only support up to 4096",
        "セレクタ {selector}: {bits}ビットのRSA鍵です。検証側に求められる対応は4096ビットまでです",
    ),
    "dkim.ed25519": (
        "selector {selector}: Ed25519 key (RFC 8463)",
        "セレクタ {selector}: Ed25519鍵（RFC 8463）",
    ),
    "dkim.ed25519_only": (
        "only Ed25519 keys were found; verifiers without Ed25519 support need an RSA "
        "signature too",
        "Ed25519鍵しか見つかりません。Ed25519に未対応の検証側のためRSA署名も併用してください",
    ),
    "dkim.revoked": (
        "selector {selector}: key revoked (empty p=); signatures with it fail",
        "セレクタ {selector}: 鍵は失効しています（p= が空）。この鍵の署名は失敗します",
    ),
    "dkim.testing": (
        "selector {selector}: t=y (testing): verifiers treat its signatures like unsigned mail",
        "セレクタ {selector}: t=y（テスト中）です。検証側はこの署名を署名なしと同様に扱います",
    ),
    "dkim.sha1_only": (
        "selector {selector}: h={value} allows only SHA-1, which verifiers no longer accept "
        "(RFC 8301)",
        "セレクタ {selector}: h={value} はSHA-1だけを許可しています。SHA-1は検証側で受け付けられ"
        "ません（RFC 8301）",
    ),
    "dkim.service": (
        "selector {selector}: s={value} does not include email; the key cannot sign mail",
        "セレクタ {selector}: s={value} に email が含まれず、この鍵でメールに署名できません",
    ),
    "dkim.key_type_unknown": (
        "selector {selector}: unknown key type k={value}",
        "セレクタ {selector}: 未知の鍵種別 k={value} です",
    ),
    "dkim.key_mismatch": (
        "selector {selector}: k={value} but the key is {found}",
        "セレクタ {selector}: k={value} ですが鍵は {found} です",
    ),
    "dkim.key_invalid": (
        "selector {selector}: the public key p= cannot be read ({reason})",
        "セレクタ {selector}: 公開鍵 p= を読めません（{reason}）",
    ),
    "dkim.pkcs1": (
        "selector {selector}: the RSA key is a bare RSAPublicKey; RFC 6376 requires "
        "SubjectPublicKeyInfo and some verifiers reject it",
        "セレクタ {selector}: RSA鍵が RSAPublicKey 形式です。RFC 6376 は SubjectPublicKeyInfo を"
        "求めており、拒否する検証側があります",
    ),
    "dkim.ed25519_spki": (
        "selector {selector}: the Ed25519 key is wrapped in SubjectPublicKeyInfo; RFC 8463 "
        "wants the bare 32-byte key",
        "セレクタ {selector}: Ed25519鍵が SubjectPublicKeyInfo 形式です。RFC 8463 は32バイトの"
        "鍵そのものを求めています",
    ),
    "dkim.version": (
        "selector {selector}: v={value} is not DKIM1 (or not the first tag); the record is "
        "ignored",
        "セレクタ {selector}: v={value} が DKIM1 でないか先頭にありません。レコードは無視されます",
    ),
    "dkim.tag_syntax": (
        "selector {selector}, character {offset}: \"{value}\" is not tag=value; the key "
        "record is invalid",
        "セレクタ {selector} の{offset}文字目: \"{value}\" は tag=value の形ではありません。"
        "鍵レコードは無効です",
    ),
    "dkim.duplicate_tag": (
        "selector {selector}: tag {tag} appears twice; the key record is invalid",
        "セレクタ {selector}: タグ {tag} が重複しており、鍵レコードは無効です",
    ),
    "dkim.unknown_tag": (
        "selector {selector}: unknown tag {tag}= is ignored",
        "セレクタ {selector}: 未知のタグ {tag}= は無視されます",
    ),
    "dkim.multiple": (
        "selector {selector}: {count} TXT records; verifiers may pick any one",
        "セレクタ {selector}: TXTレコードが{count}件あり、検証側がどれを使うかは不定です",
    ),
    "dkim.unchecked": (
        "could not check selector {selector} ({reason})",
        "セレクタ {selector} を確認できませんでした（{reason}）",
    ),
    "dkim.given_missing": (
        "selector {selector} given on the command line has no key at {name}",
        "指定されたセレクタ {selector} の鍵が {name} にありません",
    ),
    "dkim.none_found": (
        "no DKIM key under the {count} selectors tried ({selectors}); selectors cannot be "
        "listed, so give yours with --dkim-selector",
        "試した{count}個のセレクタ（{selectors}）にDKIM鍵はありません。セレクタは列挙できない"
        "ため、--dkim-selector で指定してください",
    ),
    "dkim.none_published": (
        "_domainkey.{domain} does not exist: no DKIM key is published under any selector",
        "_domainkey.{domain} が存在しません。どのセレクタにもDKIM鍵は公開されていません",
    ),
    # -- MX ---------------------------------------------------------------------------------
    "mx.unchecked": (
        "could not look up the MX records of {domain} ({reason})",
        "{domain} のMXレコードを確認できませんでした（{reason}）",
    ),
    "mx.nxdomain": (
        "{domain} does not exist in the DNS",
        "{domain} はDNSに存在しません",
    ),
    "mx.found": (
        "mail for {domain} goes to {hosts}",
        "{domain} 宛のメールは {hosts} に届きます",
    ),
    "mx.implicit": (
        "{domain} has no MX record: senders deliver to its A/AAAA address ({addresses}); "
        "publish an MX, or a null MX if it takes no mail",
        "{domain} にMXレコードがなく、送信側はA/AAAAのアドレス（{addresses}）に配送します。"
        "MXを公開するか、メールを受けないならNull MXを公開してください",
    ),
    "mx.missing": (
        "{domain} has no MX and no address: it cannot receive mail; publish a null MX "
        "(RFC 7505) to say so",
        "{domain} にはMXもアドレスもなく、メールを受信できません。そのことを示すNull MX"
        "（RFC 7505）を公開してください",
    ),
    "mx.null": (
        "{domain} publishes a null MX (RFC 7505): it accepts no mail",
        "{domain} はNull MX（RFC 7505）を公開しており、メールを受け付けません",
    ),
    "mx.null_mixed": (
        "{domain} mixes a null MX with other MX records; RFC 7505 forbids it",
        "{domain} はNull MXと他のMXレコードを併用しています。RFC 7505 で禁止されています",
    ),
    "mx.null_preference": (
        "null MX of {domain} has preference {preference}; RFC 7505 requires 0",
        "{domain} のNull MXの優先度が{preference}です。RFC 7505 では0にする必要があります",
    ),
    "mx.ip_literal": (
        "MX of {domain} points at an address ({host}); an MX must name a host",
        "{domain} のMXがアドレス（{host}）を指しています。MXにはホスト名を指定します",
    ),
    "mx.invalid_host": (
        "MX of {domain} names \"{host}\", which is not a valid host name",
        "{domain} のMXが示す \"{host}\" は有効なホスト名ではありません",
    ),
    "mx.cname": (
        "MX host {host} is an alias (CNAME to {target}); an MX must name the host itself "
        "(RFC 2181 §10.3)",
        "MXホスト {host} は別名（{target} へのCNAME）です。MXにはホスト自体の名前を指定します"
        "（RFC 2181 §10.3）",
    ),
    "mx.no_address": (
        "MX host {host} has no A or AAAA record: mail cannot be delivered to it",
        "MXホスト {host} にAもAAAAレコードもなく、このホストには配送できません",
    ),
    "mx.address_unchecked": (
        "could not look up the addresses of MX host {host} ({reason})",
        "MXホスト {host} のアドレスを確認できませんでした（{reason}）",
    ),
    "mx.address_not_public": (
        "MX host {host} has the non-public address {address}",
        "MXホスト {host} のアドレス {address} はグローバルアドレスではありません",
    ),
    "mx.fcrdns": (
        "reverse DNS of every MX address is forward-confirmed ({pairs})",
        "すべてのMXアドレスの逆引きが正引きで確認できました（{pairs}）",
    ),
    "mx.ptr_missing": (
        "MX address {address} ({host}) has no PTR record; many receivers distrust mail from "
        "addresses without reverse DNS",
        "MXアドレス {address}（{host}）にPTRレコードがありません。逆引きのないアドレスからの"
        "メールを信用しない受信側が多くあります",
    ),
    "mx.ptr_mismatch": (
        "MX address {address} ({host}): its PTR names {names}, which do not resolve back to it",
        "MXアドレス {address}（{host}）: PTRの {names} は正引きでこのアドレスに戻りません",
    ),
    "mx.ptr_unchecked": (
        "could not check the reverse DNS of MX address {address} ({reason})",
        "MXアドレス {address} の逆引きを確認できませんでした（{reason}）",
    ),
    "mx.too_many": (
        "{count} MX hosts; only the first {checked} were checked",
        "MXホストが{count}件あり、最初の{checked}件だけを確認しました",
    ),
    # -- the run ----------------------------------------------------------------------------
    "audit.area_error": (
        "the {area} check stopped with an internal error ({reason}); nothing is concluded",
        "{area} の確認が内部エラー（{reason}）で停止しました。判定はしていません",
    ),
    "audit.area_timeout": (
        "the {area} check took longer than {seconds} s and was stopped",
        "{area} の確認が{seconds}秒を超えたため停止しました",
    ),
    "audit.invalid_domain": (
        "\"{domain}\" is not a domain name that can be looked up",
        "\"{domain}\" は問い合わせ可能なドメイン名ではありません",
    ),
}
MESSAGES.update(POLICY_MESSAGES)  # MTA-STS, TLS-RPT, BIMI, DNSSEC, DANE

UI: dict[str, tuple[str, str]] = {
    "title": ("Mail domain posture audit", "メールドメイン セキュリティ監査"),
    "domain": ("domain", "ドメイン"),
    "grade": ("grade", "評価"),
    "area": ("area", "項目"),
    "status": ("status", "状態"),
    "finding": ("finding", "所見"),
    "publish": ("records to publish", "公開するレコード"),
    "checked_at": ("checked at", "確認日時"),
    "no_findings": ("nothing to report", "指摘事項はありません"),
    "legend": ("A: all good · B: warnings · C: could not check everything · F: failures",
               "A: 問題なし · B: 警告あり · C: 一部確認できず · F: 不合格あり"),
    "fail": ("fail", "不合格"),
    "unchecked": ("could not check", "確認不可"),
    "warn": ("warning", "警告"),
    "info": ("info", "情報"),
    "pass": ("pass", "合格"),
    "error": ("error", "エラー"),
    "summary": ("{count} domains audited", "{count}ドメインを監査しました"),
}


def render(check: str, **evidence: Any) -> tuple[str, str]:
    """The (en, ja) sentence of a finding id, filled from its evidence."""
    return fill(MESSAGES, check, evidence, items=20)


def note(result: AreaResult, check: str, status: str, **evidence: Any) -> Finding:
    """Add the finding ``check`` with its sentences to ``result``."""
    return add(result, render(check, **evidence), check, status, evidence)


def ui(key: str, lang: str, **values: Any) -> str:
    """A label of the report in ``lang``."""
    en, ja = UI[key]
    return (ja if lang == "ja" else en).format(**values)
