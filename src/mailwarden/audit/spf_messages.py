"""Every sentence the SPF area says, in English and Japanese: ``{finding id: (en, ja)}``.

Placeholders are filled from the finding's evidence, shortened first so that a hostile record
cannot make a sentence huge. Every finding id is documented in docs/audit.md (a test checks).
"""

from __future__ import annotations

from typing import Any

from mailwarden.audit.model import AreaResult, Finding
from mailwarden.audit.sentences import add, fill

MESSAGES: dict[str, tuple[str, str]] = {
    "spf.unchecked": (
        "could not check the SPF record of {domain} ({reason}); this is not the same as missing",
        "{domain} の SPF レコードを確認できませんでした（{reason}）。「未設定」とは限りません",
    ),
    "spf.missing": (
        "{domain} publishes no SPF record: receivers cannot tell its servers from forgers",
        "{domain} は SPF レコードを公開していません。受信側は正規のサーバーとなりすましを"
        "区別できません",
    ),
    "spf.multiple": (
        "{domain} has {count} SPF records; receivers treat that as an error (permerror) and "
        "ignore them all: keep exactly one",
        "{domain} に SPF レコードが {count} 件あります。受信側はエラー（permerror）として"
        "すべて無視します。1件にまとめてください",
    ),
    "spf.present": (
        "SPF record of {domain}: {record}",
        "{domain} の SPF レコード: {record}",
    ),
    "spf.syntax": (
        "the SPF record of {domain} is invalid, so receivers get permerror: {reason}",
        "{domain} の SPF レコードは不正なため、受信側の結果は permerror になります: {reason_ja}",
    ),
    "spf.too_long": (
        "the SPF record of {domain} is {size} bytes; above 450 the DNS answer may not fit in "
        "one UDP packet and some receivers fail it",
        "{domain} の SPF レコードは {size} バイトです。450 バイトを超えると DNS 応答が1つの"
        "UDP パケットに収まらず、失敗する受信側があります",
    ),
    "spf.deprecated_rr": (
        "{domain} still publishes the SPF record type (99), which RFC 7208 retired; receivers "
        "only read TXT: remove it",
        "{domain} は RFC 7208 で廃止された SPF 型（99）のレコードを公開しています。受信側は"
        " TXT しか読みません。削除してください",
    ),
    "spf.all_pass": (
        "the policy of {domain} ends in '+all'{via}: every host on the internet may "
        "send as {domain}",
        "{domain} のポリシーは「+all」{via_ja}で終わっています。インターネット上のどの"
        "ホストも {domain} として送信できてしまいます",
    ),
    "spf.all_neutral": (
        "the policy of {domain} ends in '?all'{via}: unlisted hosts get neutral, "
        "which protects nothing",
        "{domain} のポリシーは「?all」{via_ja}で終わっています。未登録のホストは neutral"
        " となり、何も防げません",
    ),
    "spf.all_softfail": (
        "the policy of {domain} ends in '~all'{via}: unlisted hosts softfail; with "
        "DMARC enforcing that is enough, '-all' is stricter",
        "{domain} のポリシーは「~all」{via_ja}で終わっています。未登録のホストは softfail"
        " です。DMARC で拒否・隔離していれば十分ですが、「-all」の方が厳格です",
    ),
    "spf.all_fail": (
        "the policy of {domain} ends in '-all'{via}: unlisted hosts fail",
        "{domain} のポリシーは「-all」{via_ja}で終わっており、未登録のホストは fail です",
    ),
    "spf.no_all": (
        "the policy of {domain} has no 'all' at the end: unlisted hosts get neutral",
        "{domain} のポリシーの最後に「all」がなく、未登録のホストは neutral になります",
    ),
    "spf.redirect_with_all": (
        "the SPF record of {domain} has both '{all}' and '{redirect}': with 'all' present the "
        "redirect is never used",
        "{domain} の SPF レコードには「{all}」と「{redirect}」の両方があります。all がある"
        "ため redirect は使われません",
    ),
    "spf.after_all": (
        "in the SPF record of {domain}, {terms} come after '{all}' and are never evaluated",
        "{domain} の SPF レコードで {terms} は「{all}」より後にあり、評価されません",
    ),
    "spf.lookups": (
        "the policy of {domain} needs at most {count} DNS lookup(s) (limit 10)",
        "{domain} のポリシーに必要な DNS 参照は最大 {count} 回です（上限 10 回）",
    ),
    "spf.lookups_near_limit": (
        "the policy of {domain} needs up to {count} DNS lookups, near the limit of 10: one "
        "more include breaks it",
        "{domain} のポリシーは最大 {count} 回の DNS 参照が必要で、上限の 10 回に近い状態です。"
        "include をもう1つ増やすと失敗します",
    ),
    "spf.too_many_lookups": (
        "the policy of {domain} needs up to {count} DNS lookups, more than the 10 allowed: "
        "receivers may return permerror; remove unused includes or use ip4:/ip6: ranges",
        "{domain} のポリシーは最大 {count} 回の DNS 参照が必要で、上限の 10 回を超えています。"
        "受信側の結果が permerror になり得ます。不要な include を外すか ip4:/ip6: で"
        "指定してください",
    ),
    "spf.void_lookups": (
        "the policy of {domain} names {count} domain(s) that do not exist or have no such "
        "record ({names}); more than 2 is a permerror",
        "{domain} のポリシーは存在しないか該当レコードのない名前を {count} 件参照しています"
        "（{names}）。2件を超えると permerror です",
    ),
    "spf.too_many_void_lookups": (
        "the policy of {domain} names {count} domains that do not exist or have no such "
        "record ({names}); receivers stop after 2 with permerror",
        "{domain} のポリシーは存在しないか該当レコードのない名前を {count} 件参照しています"
        "（{names}）。受信側は2件を超えた時点で permerror にします",
    ),
    "spf.ptr": (
        "the policy of {domain} uses 'ptr' ({terms}): slow, unreliable and discouraged by "
        "RFC 7208; list the addresses with ip4:/ip6: or a:",
        "{domain} のポリシーは ptr を使っています（{terms}）。遅く不確実で RFC 7208 でも"
        "非推奨です。ip4:/ip6: か a: でアドレスを指定してください",
    ),
    "spf.macros": (
        "the policy of {domain} uses macros ({terms}); their targets depend on the sender and "
        "each counts as one lookup here",
        "{domain} のポリシーはマクロを使っています（{terms}）。参照先は送信者ごとに変わるため、"
        "ここではそれぞれ1回の参照として数えています",
    ),
    "spf.loop": (
        "the SPF policy of {domain} loops: {chain}; receivers end in permerror",
        "{domain} の SPF ポリシーが循環しています: {chain}。受信側の結果は permerror です",
    ),
    "spf.target_missing": (
        "'{term}' in the SPF record of {domain}: {target} has no SPF record, so receivers "
        "return permerror",
        "{domain} の SPF レコードの「{term}」: {target} に SPF レコードがなく、受信側の結果は"
        " permerror になります",
    ),
    "spf.target_multiple": (
        "'{term}' in the SPF record of {domain}: {target} has {count} SPF records "
        "(permerror)",
        "{domain} の SPF レコードの「{term}」: {target} に SPF レコードが {count} 件あります"
        "（permerror）",
    ),
    "spf.target_syntax": (
        "'{term}' in the SPF record of {domain}: the record of {target} is invalid "
        "(permerror): {reason}",
        "{domain} の SPF レコードの「{term}」: {target} のレコードが不正です（permerror）: "
        "{reason_ja}",
    ),
    "spf.target_unchecked": (
        "'{term}' in the SPF record of {domain}: could not fetch the record of {target} "
        "({reason})",
        "{domain} の SPF レコードの「{term}」: {target} のレコードを取得できませんでした"
        "（{reason}）",
    ),
    "spf.mx_too_many": (
        "'{term}': {target} has {count} MX hosts; receivers look up at most 10 and return "
        "permerror",
        "「{term}」: {target} の MX ホストは {count} 件です。受信側は 10 件までしか参照せず "
        "permerror になります",
    ),
    "spf.lookups_unchecked": (
        "could not check {names} while walking the policy of {domain}; counts may be "
        "incomplete",
        "{domain} のポリシーをたどる途中で {names} を確認できませんでした。回数は不完全な"
        "可能性があります",
    ),
    "spf.walk_truncated": (
        "the policy of {domain} is too large to walk completely (more than {records} records "
        "or {names} names); the counts are a lower bound",
        "{domain} のポリシーは大きすぎて最後までたどれません（レコード {records} 件または名前 "
        "{names} 件を超過）。回数は下限値です",
    ),
    # -- records to publish ------------------------------------------------------------
    "publish.mx": (
        "authorises the hosts that receive mail for {domain} ({hosts}) and fails everyone "
        "else; add ip4:/ip6: or include: for every other service that sends as {domain} "
        "(web forms, newsletters, your mail provider)",
        "{domain} のメールを受信するホスト（{hosts}）を許可し、それ以外を fail にします。"
        "{domain} として送信する他のサービス（Web フォーム、メルマガ、メール事業者など）も"
        " ip4:/ip6: か include: で追加してください",
    ),
    "publish.none": (
        "{domain} has no mail servers ({why}): if it sends no mail, this says so and every "
        "forged mail fails; if it does send, list its servers before '-all'",
        "{domain} にはメールサーバーがありません（{why}）。メールを送信しないドメインなら、"
        "これでなりすましメールはすべて fail になります。送信する場合は「-all」の前に"
        "サーバーを列挙してください",
    ),
    "publish.multiple": (
        "one record with the mechanisms of the {count} records; check that it lists every "
        "service that sends as {domain}, then delete the others",
        "{count} 件のレコードのメカニズムをまとめた1件のレコードです。{domain} として送信する"
        "サービスがすべて含まれているか確認し、他のレコードを削除してください",
    ),
    "publish.split": (
        "It is {size} characters long and one TXT string holds at most 255: publish it as "
        "{count} quoted strings (\"...\" \"...\"), which receivers join without spaces; most "
        "DNS panels split it for you",
        "{size} 文字あり、TXT の1つの文字列は 255 文字までのため、{count} 個の引用符付き文字列"
        "（\"...\" \"...\"）に分けて公開してください。受信側は空白なしで連結します。多くの DNS "
        "管理画面は自動で分割します",
    ),
    "publish.fix": (
        "the same record with {changes}; if some senders may still be missing, start with "
        "'~all' and move to '-all' once DMARC reports show them passing",
        "同じレコードを次のように直したものです: {changes_ja}。送信元の漏れが心配なら"
        "「~all」から始め、DMARC レポートで合格を確認してから「-all」にしてください",
    ),
}


def render(key: str, **values: Any) -> tuple[str, str]:
    """The (en, ja) sentence of ``key``, filled from ``values``."""
    return fill(MESSAGES, key, values)


def note(result: AreaResult, check: str, status: str, **evidence: Any) -> Finding:
    """Add the finding ``check`` with its sentences to ``result``."""
    return add(result, render(check, **evidence), check, status, evidence)
