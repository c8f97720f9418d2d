"""Every sentence of the inbound analyser a person reads, in English and Japanese.

Kept beside the analyser rather than in ``mailwarden.i18n`` (which the other parts share),
with the same ``render(key, lang, **params)``. Enumerated evidence (how a domain imitates,
why a request is suspicious, lure categories, ...) is translated word by word for Japanese.
"""

from __future__ import annotations

from typing import Any

MESSAGES: dict[str, tuple[str, str]] = {
    "auth_fail": (
        "authentication failed at {authserv_id}: {methods} ({results})",
        "{authserv_id} での送信元認証に失敗しています：{methods}（{results}）",
    ),
    "own_domain_spoof": (
        "claims to be from our own domain {domain}, but {authserv_id} could not authenticate "
        "it ({results})",
        "自組織のドメイン {domain} を名乗っていますが、{authserv_id} で認証できませんでした"
        "（{results}）",
    ),
    "display_name_person": (
        "the display name \"{display}\" is {person}'s, but the address {address} is not "
        "theirs (theirs: {known})",
        "表示名「{display}」は{person}さんの名前ですが、アドレス {address} は本人のものでは"
        "ありません"
        "（本人：{known}）",
    ),
    "display_name_org": (
        "the display name \"{display}\" claims {claim}, but the mail comes from {address}",
        "表示名「{display}」は {claim} を名乗っていますが、送信元は {address} です",
    ),
    "display_name_address": (
        "the display name shows the address {shown}, but the mail comes from {address}",
        "表示名にアドレス {shown} を表示していますが、実際の送信元は {address} です",
    ),
    "brand_impersonation": (
        "the sender's {where} names {brand} ({address}), but {brand} sends from {domains}",
        "送信者の{where_ja}に {brand} の名前があります（{address}）が、{brand} の送信元は "
        "{domains} です",
    ),
    "freemail_claim": (
        "a free-mail address ({address}) claims to be {claim}",
        "フリーメールのアドレス（{address}）が {claim} を名乗っています",
    ),
    "lookalike_domain": (
        "{header} domain {domain} imitates {target} ({owner}; {how})",
        "{header} のドメイン {domain} は {target}（{owner_ja}）に似せたものです（{how_ja}）",
    ),
    "idn_homograph": (
        "the {where} domain {domain} is an internationalised name that imitates {imitated}",
        "{where_ja}のドメイン {domain} は、{imitated_ja} に見せかけた国際化ドメイン名です",
    ),
    "reply_to_mismatch": (
        "replies go to {reply_to}, another domain than the sender {address}",
        "返信先が {reply_to} になっており、送信者 {address} と別のドメインです",
    ),
    "return_path_mismatch": (
        "bounces go to {return_path}, unrelated to the sender {address}",
        "エラーメールの返送先 {return_path} が、送信者 {address} と無関係です",
    ),
    "phishing_feed": (
        "links to a known phishing site: {urls}",
        "既知のフィッシングサイトへのリンクがあります：{urls}",
    ),
    "link_lookalike": (
        "links to {domain}, which imitates {target} ({owner}; {how})",
        "{target}（{owner_ja}）に似せたドメイン {domain} へのリンクがあります（{how_ja}）",
    ),
    "link_text_mismatch": (
        "{count} link(s) show one domain but go to another: {links}",
        "表示と異なるドメインへ移動するリンクが{count}件あります：{links}",
    ),
    "link_ip": (
        "{count} link(s) go to a bare IP address: {addresses}",
        "IPアドレスを直接指定したリンクが{count}件あります：{addresses}",
    ),
    "link_userinfo": (
        "links hide their real host behind user information: {links}",
        "ユーザー情報（@の前）で本当の接続先を隠したリンクがあります：{links}",
    ),
    "link_shortener": (
        "links go through a shortener that hides where they lead: {services}",
        "短縮URL（{services}）で本当のリンク先を隠しています",
    ),
    "link_suspicious_tld": (
        "links into much-abused top-level domains: {hosts}",
        "悪用の多いトップレベルドメインへのリンクがあります：{hosts}",
    ),
    "credential_form": (
        "a form asks for a password or login ({where}, sends to {action})",
        "パスワードやログイン情報を入力させるフォームがあります（{where_ja}、送信先 {action}）",
    ),
    "html_redirect": (
        "the HTML attachment {where} sends the browser elsewhere when opened ({how})",
        "HTML添付ファイル {where} は、開くと別のサイトへ移動します（{how_ja}）",
    ),
    "qr_code": (
        "a QR code in an image leads to a web address: {codes}",
        "画像内のQRコードがWebサイトへ誘導しています：{codes}",
    ),
    "payment_change": (
        "a payment request ({asks}) from {address}: {why}",
        "{address} からの支払い依頼（{asks_ja}）です：{why_ja}",
    ),
    "lure_language": (
        "lure language: {categories} (\"{words}\")",
        "詐欺メールによくある文言があります：{categories_ja}（「{words}」）",
    ),
    "executable_attachment": (
        "{count} executable file(s) attached or inside an archive: {files}",
        "実行ファイル等が{count}件添付されています（アーカイブ内を含む）：{files}",
    ),
    "double_extension": (
        "attachment names disguise their real type: {files}",
        "本当の種類を偽装した添付ファイル名があります：{files}",
    ),
    "office_macro": (
        "Office document with macros ({how}): {files}",
        "マクロ付きのOffice文書です（{how_ja}）：{files}",
    ),
    "html_smuggling": (
        "HTML in {where} builds a file inside the browser (HTML smuggling: {indicators})",
        "{where_ja}のHTMLがブラウザ内でファイルを組み立てます（HTMLスマグリング：{indicators}）",
    ),
    "encrypted_attachment": (
        "encrypted attachment that cannot be inspected: {files} (password in the mail: "
        "{password})",
        "中身を検査できない暗号化添付ファイルです：{files}（本文にパスワード記載：{password_ja}）",
    ),
    "active_document": (
        "document that acts when opened: {files}",
        "開くと動作する要素を含む文書です：{files}",
    ),
    "type_mismatch": (
        "attachment content differs from what its name says: {files}",
        "添付ファイルの中身が名前（拡張子）と異なります：{files}",
    ),
    "nested_archive": (
        "archive inside an archive: {files}",
        "アーカイブの中にさらにアーカイブがあります：{files}",
    ),
    "mime_anomaly": (
        "message structure beyond the reading bounds or malformed: {defects}",
        "メールの構造が読み取りの上限を超えているか、不正です：{defects_ja}",
    ),
    "correspondent_changed": (
        "{address} has written {messages} times to {recipient} without {what} and now sends "
        "{what}: a hijacked correspondent?",
        "{address} はこれまで{messages}通、{recipient} へ{what_ja}なしで送ってきましたが、今回は"
        "{what_ja}があります（取引先アカウントの乗っ取りの可能性）",
    ),
    "first_time_sender": (
        "first message from {address} to {recipients}",
        "{address} から {recipients} への初めてのメールです",
    ),
    # verdicts and notes
    "verdict.clean": ("clean", "問題なし"),
    "verdict.suspicious": ("suspicious", "不審"),
    "verdict.phishing": ("phishing", "フィッシング"),
    "verdict.bec": ("business e-mail compromise (BEC)", "ビジネスメール詐欺（BEC）"),
    "verdict.malware": ("malware", "マルウェア"),
    "verdict.line": ("{verdict} (score {score})", "{verdict}（スコア {score}）"),
    "note.qr_unavailable": (
        "{count} image(s) not searched for QR codes: install pillow and zxing-cpp "
        "(pip install 'mailwarden[qr]')",
        "{count}枚の画像のQRコードは未確認です（pillow と zxing-cpp が必要：pip install "
        "'mailwarden[qr]'）",
    ),
    "note.qr_skipped": (
        "{count} more image(s) not searched for QR codes (inbound.max_qr_images)",
        "さらに{count}枚の画像のQRコードは未確認です（inbound.max_qr_images）",
    ),
    "note.no_auth": (
        "no Authentication-Results from a trusted authserv-id (inbound.authserv_ids); "
        "ignored: {ignored}",
        "信頼する authserv-id（inbound.authserv_ids）の Authentication-Results がありません。"
        "無視したもの：{ignored}",
    ),
    "note.feed": (
        "phishing feed unreadable: {error}", "フィッシングURLリストを読めません：{error}",
    ),
    "note.error": (
        "analysis failed, verdict not reliable: {error}",
        "解析に失敗しました。判定は信頼できません：{error}",
    ),
    # the milter
    "clamav": (
        "ClamAV found {name} in the message", "ClamAV がこのメールに {name} を検出しました",
    ),
    "note.milter_truncated": (
        "the message is larger than {limit} bytes: only its first {limit} bytes were analysed "
        "(milter.max_message_bytes)",
        "メールが{limit}バイトを超えるため、先頭の{limit}バイトだけを分析しました"
        "（milter.max_message_bytes）",
    ),
    "note.milter_over_budget": (
        "only the first {kept} bytes of the message were analysed: the milter's memory for "
        "messages being received was full (milter.max_buffered_bytes = {budget} bytes)",
        "受信中のメールに使うミルターのメモリが上限（milter.max_buffered_bytes＝{budget}バイト）に"
        "達していたため、このメールは先頭の{kept}バイトだけを分析しました",
    ),
    "note.clamd_error": (
        "not scanned by ClamAV: {error}", "ClamAV で検査できませんでした：{error}",
    ),
    "note.milter_timeout": (
        "not analysed: no verdict within milter.timeout; the message passed unchecked",
        "milter.timeout 以内に判定できなかったため、未検査のまま通しました",
    ),
    "note.milter_error": (
        "not analysed: the analysis failed; the message passed unchecked",
        "分析に失敗したため、未検査のまま通しました",
    ),
    "cli.unreadable": ("cannot read {path}: {error}", "{path} を読めません：{error}"),
    "cli.too_large": (
        "{path}: only the first {limit} bytes were read",
        "{path}：先頭の{limit}バイトのみ読み込みました",
    ),
}

TERMS: dict[str, str] = {
    "domain": "ドメイン", "display name": "表示名", "address": "アドレス",
    "homograph": "見た目が同じ文字（同形異字）", "accents": "アクセント記号の違い",
    "typo": "1〜2文字の違い", "suffix": "末尾（TLD）の違い", "combined": "語を付け足した形",
    "prefix": "先頭に本物のドメインを置いた形", "organisation": "自組織", "partner": "取引先",
    "new_sender": "初めての送信者からの依頼です", "fake_reply": "やり取りのない偽の返信です",
    "hijacked_thread": "別のドメインから既存のやり取りに割り込んでいます",
    "unverified_sender": "フリーメール・類似ドメイン・返信先の付け替えなど、確認できない送信者です",
    "links": "リンク", "payment": "支払い依頼", "vba": "VBAプロジェクトを検出",
    "name": "拡張子から判断", "yes": "あり", "no": "なし", "body": "本文",
    "From": "送信者", "link": "リンク", "mixed scripts": "複数の文字体系の混在",
    "meta refresh": "meta refresh", "script": "スクリプト", "remote script": "外部スクリプト",
    "account_suspension": "アカウント停止", "urgent_action": "至急の対応",
    "password_expiry": "パスワード期限切れ", "verify_account": "アカウント確認",
    "invoice": "請求書", "bank_change": "振込先の変更", "prize": "当選",
    "scholarship": "奨学金・給付金", "gift_card": "ギフトカード", "delivery_failure": "配達不能",
    "bec_opener": "「今お時間ありますか」型の依頼", "staff_data": "職員情報の要求",
    "nesting_too_deep": "入れ子が深すぎる", "too_many_parts": "パートが多すぎる",
    "headers_truncated": "ヘッダーが大きすぎる", "message_truncated": "メールが大きすぎる",
    "inflate_budget": "展開量の上限に到達", "too_many_files": "ファイルが多すぎる",
    "multipart_without_boundary": "境界のないマルチパート",
    "boundary_not_found": "境界が見つからない",
}
TRANSLATED = ("where", "how", "why", "what", "categories", "password", "owner", "defects",
              "asks", "imitated")


def render(key: str, lang: str, **params: Any) -> str:
    """The sentence for ``key`` in ``lang`` ("en" or "ja")."""
    en, ja = MESSAGES[key]
    for name in TRANSLATED:
        if name in params:
            params.setdefault(f"{name}_ja", _terms(str(params[name])))
    for text in (ja if lang == "ja" else en, en):
        try:
            return text.format(**params)
        except (KeyError, IndexError, ValueError):
            continue
    return f"{key}: {params}"


def _terms(value: str) -> str:
    sep = "+" if "+" in value and ", " not in value else ", "
    return ("、" if sep == ", " else "・").join(TERMS.get(v, v) for v in value.split(sep))
