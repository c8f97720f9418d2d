"""Lure language in Japanese and English: what phishing and fraud mails say to make people act.

Each category is a small set of patterns written for this project from the way such mails
are phrased (not taken from any rule set): account suspension, urgent action, password
expiry, account verification, invoices, payments, bank-detail changes, prizes, scholarships
and grants, gift cards, delivery failures, "are you at your desk" openers and requests for
staff data. Text is NFKC-normalised (full-width letters become ASCII) and lower-cased first;
only the first ``MAX_TEXT`` characters are read. A category counts once however often it
matches; ``password_given`` is not a lure but tells that a password travels with the mail.
"""

from __future__ import annotations

import re
import unicodedata

MAX_TEXT = 40_000
SPACES = re.compile(r"\s+")

PATTERNS: dict[str, tuple[str, ...]] = {
    "account_suspension": (
        r"\b(?:account|mailbox|e-?mail|apple id|id)\b.{0,40}\b(?:suspend(?:ed)?|locked|"
        r"disabled|deactivated|restricted|on hold|blocked|terminated|limited|closed)\b",
        r"\b(?:suspend|lock|disable|deactivate|restrict|terminate|close)\w*\b.{0,20}\byour "
        r"(?:account|mailbox|e-?mail)\b",
        r"\bunusual (?:sign-?in|login|activity)\b",
        r"(?:アカウント|メールボックス|ご利用|ID).{0,15}(?:停止|凍結|ロック|制限|無効|閉鎖|削除)",
        r"(?:不正|不審な)(?:ログイン|アクセス|利用)",
    ),
    "urgent_action": (
        r"\b(?:urgent(?:ly)?|immediately|immediate action|right away|asap|as soon as possible|"
        r"within (?:24|48|72|12) hours|final (?:notice|warning)|act now|expires? today)\b",
        r"(?:至急|緊急|大至急|早急に|直ちに|ただちに|本日中に|24時間以内|48時間以内|期限切れ前に)",
    ),
    "password_expiry": (
        r"\bpassword\b.{0,40}\b(?:expire[sd]?|expiring|expiration|will be (?:reset|changed))\b",
        r"\b(?:keep|retain) (?:your )?(?:current |same )?password\b",
        r"パスワード.{0,20}(?:有効期限|期限切れ|失効|変更が必要|更新が必要)",
    ),
    "verify_account": (
        r"\b(?:verify|confirm|validate|reactivate|restore|unlock|update) (?:your )?"
        r"(?:account|identity|e-?mail|mailbox|login|credentials|information|details)\b",
        r"(?:本人確認|アカウント.{0,10}(?:確認|認証|再開|復旧|更新)|ログインして.{0,10}(?:確認|更新))",
    ),
    "invoice": (
        r"\b(?:invoice|overdue|outstanding (?:balance|payment)|unpaid|billing (?:issue|problem|"
        r"information|details))\b",
        r"(?:請求書|インボイス|未払い|未納|ご請求|お支払いが確認できません)",
    ),
    "payment": (
        r"\b(?:wire transfer|bank transfer|remittance|make (?:a|the) payment|process (?:a|the|"
        r"this) payment|payment (?:details|information|failed|declined|overdue|method)|"
        r"update (?:your )?billing)\b",
        r"(?:振込|振り込み|送金|お支払い|支払い|決済).{0,10}(?:お願い|依頼|手続|失敗|できません|期限)",
    ),
    "bank_change": (
        r"\b(?:bank(?:ing)?|remittance|payment|account) (?:details|information|instructions)\b"
        r".{0,40}\b(?:changed?|updated?|new)\b",
        r"\b(?:new|updated|changed?|different) (?:bank(?:ing)?|remittance|beneficiary) "
        r"(?:account|details|information|instructions)\b",
        r"(?:振込先|口座|送金先|入金先).{0,15}(?:変更|更新|新しい|移行)",
    ),
    "prize": (
        r"\b(?:you(?:'ve| have) (?:won|been selected)|winner|prize|lottery|jackpot|claim your "
        r"(?:reward|gift|prize))\b",
        r"(?:当選|賞金|懸賞|ご当選)",
    ),
    "scholarship": (
        r"\b(?:scholarship|financial aid|bursary|stipend|tuition (?:refund|assistance)|"
        r"(?:student|research|relief) grant)s?\b",
        r"(?:奨学金|給付金|助成金|支援金|補助金|還付金)",
    ),
    "gift_card": (
        r"\b(?:gift ?cards?|itunes cards?|google play cards?|steam cards?)\b",
        r"(?:ギフトカード|ギフト券|プリペイドカード|電子マネー.{0,10}購入)",
    ),
    "delivery_failure": (
        r"\b(?:delivery (?:failed|failure|attempt)|unable to deliver|package (?:is )?(?:on "
        r"hold|held)|redeliver|customs (?:fee|charge))\w*\b",
        r"(?:お届け.{0,10}(?:できません|失敗)|不在のため|再配達|持ち帰り|関税)",
    ),
    "bec_opener": (
        r"\b(?:are you (?:available|at your desk|in the office)|do you have a (?:moment|minute|"
        r"sec)|i need (?:a|your) (?:quick )?(?:favou?r|help with something)|keep (?:this|it) "
        r"(?:confidential|between us)|quick task)\b",
        r"(?:今お時間(?:あります|よろしい)|内密に|他言無用|ご内密|誰にも言わ)",
    ),
    "staff_data": (
        r"\b(?:w-?2s?|w2 forms?|payroll (?:records|list|data)|employee (?:list|records|data)|"
        r"tax forms?)\b",
        r"(?:源泉徴収票|給与明細|社員名簿|職員名簿|マイナンバー)",
    ),
    "password_given": (
        r"\b(?:password|passcode|pass|pwd|pw)\s*(?:is|:|=)\s*\S{2,40}",
        r"(?:パスワード|暗証番号|解凍パス)\s*(?:は|:|=)\s*\S{2,40}",
    ),
}
COMPILED = {key: re.compile("|".join(f"(?:{p})" for p in pats), re.I | re.S)
            for key, pats in PATTERNS.items()}
PAYMENT = frozenset({"invoice", "payment", "bank_change", "gift_card"})
BEC = frozenset({"invoice", "payment", "bank_change", "gift_card", "bec_opener", "staff_data"})
CREDENTIAL = frozenset({"account_suspension", "password_expiry", "verify_account"})


def normalise(text: str) -> str:
    return SPACES.sub(" ", unicodedata.normalize("NFKC", text[:MAX_TEXT])).lower()


def find(text: str) -> dict[str, str]:
    """Each category found, with the words that matched (at most 80 characters)."""
    norm = normalise(text)
    found = {}
    for key, pattern in COMPILED.items():
        match = pattern.search(norm)
        if match:
            found[key] = match.group(0)[:80]
    return found
