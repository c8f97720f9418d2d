"""Built-in lists the inbound analyser judges by; each is the default of an ``[inbound]`` setting.

They are facts about the world (who offers free mail, which services shorten links, which
top-level domains are much abused), kept short and general. An organisation extends or replaces
them in its configuration.
"""

from __future__ import annotations

FREEMAIL_DOMAINS = [
    # international
    "gmail.com", "googlemail.com", "yahoo.com", "ymail.com", "rocketmail.com", "outlook.com",
    "outlook.jp", "hotmail.com", "hotmail.co.jp", "hotmail.co.uk", "live.com", "live.jp",
    "msn.com", "aol.com", "icloud.com", "me.com", "mac.com", "proton.me", "protonmail.com",
    "pm.me", "tutanota.com", "zoho.com", "zohomail.com", "gmx.com", "gmx.net", "gmx.de",
    "web.de", "mail.com", "yandex.com", "yandex.ru", "mail.ru", "qq.com", "163.com", "126.com",
    "sina.com", "naver.com", "daum.net", "hanmail.net",
    # Japan: portals and mobile carriers
    "yahoo.co.jp", "excite.co.jp", "infoseek.jp", "nifty.com", "goo.jp", "livedoor.com",
    "docomo.ne.jp", "ezweb.ne.jp", "au.com", "softbank.ne.jp", "i.softbank.jp",
    "ymobile.ne.jp", "rakuten.jp",
]

SHORTENERS = [
    "bit.ly", "bitly.com", "tinyurl.com", "t.co", "goo.gl", "ow.ly", "is.gd", "v.gd", "buff.ly",
    "rebrand.ly", "cutt.ly", "shorturl.at", "rb.gy", "t.ly", "tiny.cc", "s.id", "bl.ink",
    "shorturl.com", "lnkd.in", "page.link", "qrco.de", "short.gy", "tinyurl.hu",
    "urx.blue", "urx.nu", "00m.in", "lihi1.com", "lihi.cc", "x.gd", "u.to", "clck.ru",
]

SUSPICIOUS_TLDS = [
    "zip", "mov", "top", "xyz", "click", "link", "country", "gq", "tk", "ml", "cf", "ga",
    "work", "cam", "rest", "icu", "buzz", "monster", "cyou", "sbs", "cfd", "bond", "quest",
    "support", "loan", "men", "date", "review", "kim", "fit", "surf", "lol", "mom", "beauty",
    "hair", "skin", "makeup", "autos", "boats", "yachts", "homes", "motorcycles",
]
