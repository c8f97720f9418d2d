"""Brands often named in phishing, with the domains they really send from.

Facts, not rules: each entry is ``(domains, names)``. A display name, sender domain or
address that names a brand while the sender is outside its domains is impersonation
(signal ``brand_impersonation``), and domains resembling a brand's are lookalikes. Names
that are ordinary words (Outlook, Teams, Chase, LINE, Visa, X) are left out on purpose: they
would match honest display names. ``[inbound] brands`` adds an organisation's own.
"""

from __future__ import annotations

BUILTIN: list[tuple[tuple[str, ...], tuple[str, ...]]] = [
    (("amazon.com", "amazon.co.jp", "amazon.jp", "amazon.de", "amazon.co.uk", "amazon.fr",
      "amazon.it", "amazon.es", "amazon.ca", "amazon.com.au", "amazon.in", "amazonses.com",
      "amazonaws.com", "a2z.com", "amazon.dev"), ("Amazon", "アマゾン", "Amazon Web Services")),
    (("apple.com", "icloud.com", "me.com", "mac.com", "itunes.com"),
     ("Apple", "Apple ID", "iCloud", "App Store", "アップル")),
    (("microsoft.com", "microsoftonline.com", "office.com", "office365.com", "outlook.com",
      "live.com", "hotmail.com", "sharepoint.com", "onmicrosoft.com", "microsoft365.com",
      "azure.com", "windows.net", "skype.com", "msn.com"),
     ("Microsoft", "Microsoft 365", "Office 365", "OneDrive", "SharePoint", "マイクロソフト")),
    (("google.com", "gmail.com", "googlemail.com", "youtube.com", "google.co.jp",
      "googleusercontent.com", "googlegroups.com", "withgoogle.com"),
     ("Google", "Gmail", "YouTube", "グーグル")),
    (("paypal.com", "paypal.jp", "paypal.me", "paypal-communication.com"),
     ("PayPal", "ペイパル")),
    (("paypay.ne.jp", "paypay-bank.co.jp", "paypay-card.co.jp"), ("PayPay", "ペイペイ")),
    (("facebook.com", "facebookmail.com", "fb.com", "meta.com", "instagram.com",
      "whatsapp.com"), ("Facebook", "Instagram", "WhatsApp", "フェイスブック")),
    (("linkedin.com",), ("LinkedIn",)),
    (("twitter.com", "x.com"), ("Twitter", "ツイッター")),
    (("netflix.com",), ("Netflix", "ネットフリックス")),
    (("dhl.com", "dhl.de", "dhl.co.jp"), ("DHL",)),
    (("fedex.com",), ("FedEx", "フェデックス")),
    (("ups.com",), ("UPS",)),
    (("usps.com",), ("USPS",)),
    (("japanpost.jp",), ("日本郵便", "ゆうちょ銀行", "ゆうちょ", "Japan Post", "郵便局")),
    (("kuronekoyamato.co.jp", "yamato-hd.co.jp"),
     ("ヤマト運輸", "クロネコヤマト", "Yamato Transport")),
    (("sagawa-exp.co.jp",), ("佐川急便", "Sagawa Express")),
    (("smbc.co.jp", "smbc-card.com", "vpass.ne.jp"), ("三井住友銀行", "三井住友カード", "SMBC")),
    (("mufg.jp",), ("三菱UFJ銀行", "三菱UFJ", "MUFG")),
    (("mizuhobank.co.jp", "mizuho-fg.co.jp"), ("みずほ銀行", "Mizuho Bank")),
    (("resonabank.co.jp", "resona-gr.co.jp"), ("りそな銀行", "Resona Bank")),
    (("rakuten.co.jp", "rakuten.com", "rakuten-card.co.jp", "rakuten-bank.co.jp",
      "rakuten.jp"), ("楽天", "Rakuten", "楽天カード", "楽天銀行")),
    (("aeon.co.jp", "aeon.com", "aeonbank.co.jp"), ("イオンカード", "イオン銀行", "AEON")),
    (("jcb.co.jp", "jcb.jp"), ("JCB",)),
    (("americanexpress.com", "aexp.com", "americanexpress.co.jp"),
     ("American Express", "アメリカン・エキスプレス", "Amex")),
    (("mastercard.com", "mastercard.co.jp"), ("Mastercard",)),
    (("nttdocomo.co.jp", "docomo.ne.jp"), ("docomo", "ドコモ", "NTTドコモ")),
    (("kddi.com", "au.com"), ("KDDI",)),
    (("softbank.jp", "softbank.co.jp", "softbank.ne.jp"), ("SoftBank", "ソフトバンク")),
    (("mercari.com", "mercari.jp"), ("Mercari", "メルカリ")),
    (("yahoo.co.jp", "yahoo-net.jp", "lycorp.co.jp", "yahoo.com"), ("Yahoo", "ヤフー")),
    (("nta.go.jp",), ("国税庁", "e-Tax")),
    (("nenkin.go.jp",), ("日本年金機構",)),
    (("myna.go.jp", "digital.go.jp"), ("マイナポータル", "デジタル庁")),
    (("docusign.com", "docusign.net"), ("DocuSign",)),
    (("dropbox.com", "dropboxmail.com"), ("Dropbox",)),
    (("adobe.com", "adobesign.com"), ("Adobe",)),
    (("zoom.us", "zoom.com"), ("Zoom",)),
    (("ebay.com", "ebay.co.jp"), ("eBay",)),
    (("spotify.com",), ("Spotify",)),
    (("bankofamerica.com", "bofa.com"), ("Bank of America",)),
    (("wellsfargo.com",), ("Wells Fargo",)),
]
