"""Synthetic but realistic Postfix policy requests for the policy benchmarks.

A city administration (``city.example.jp``) with thousands of accounts that submit mail from
Japanese addresses (133.242.0.0/16) to their usual correspondents. Each message is one
``RCPT`` request per recipient and, unless disabled, one ``END-OF-MESSAGE`` request, with the
attributes Postfix 3.7 sends (SMTPD_POLICY_README). ``instance`` and ``queue_id`` change per
message, as they do in Postfix.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

DOMAIN = "city.example.jp"
EXTERNAL_DOMAINS = (
    "example.com",
    "example.net",
    "example.org",
    "mail.example.co.jp",
    "pref.example.lg.jp",
    "school.example.ac.jp",
    "shop.example.ne.jp",
    "partner.example.com",
)
GIVEN = ("taro", "hanako", "yuki", "kenji", "aiko", "sora", "ren", "mei", "daiki", "emi")
FAMILY = ("sato", "suzuki", "takahashi", "tanaka", "ito", "watanabe", "yamamoto", "nakamura")
HELOS = ("[{ip}]", "DESKTOP-{n:04X}", "MacBook-{n:04d}.local", "pc{n:04d}.{domain}")
CIPHERS = (
    ("TLSv1.3", "TLS_AES_256_GCM_SHA384", "256"),
    ("TLSv1.3", "TLS_AES_128_GCM_SHA256", "128"),
    ("TLSv1.2", "ECDHE-RSA-AES256-GCM-SHA384", "256"),
)
OFFICE_NAT = "133.242.10.1"
POOL_MESSAGES = 50000


@dataclass(frozen=True, slots=True)
class Account:
    """One mailbox and where it usually sends from."""

    address: str
    client_address: str
    helo: str
    method: str
    tls: tuple[str, str, str]
    correspondents: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class MessageShape:
    """One message: its requests as templates with queue_id, instance and client_port slots."""

    requests: tuple[bytes, ...]


def _people(rng: random.Random, count: int, domain: str) -> list[str]:
    seen: set[str] = set()
    while len(seen) < count:
        name = f"{rng.choice(GIVEN)}.{rng.choice(FAMILY)}{rng.randrange(1000)}"
        seen.add(f"{name}@{domain}")
    return sorted(seen)


def _recipient_pool(rng: random.Random, count: int) -> list[str]:
    internal = _people(rng, count * 3 // 10, DOMAIN)
    external: list[str] = []
    for index, domain in enumerate(EXTERNAL_DOMAINS):
        share = (count - len(internal)) // len(EXTERNAL_DOMAINS)
        external += _people(random.Random(rng.random() + index), share, domain)
    return internal + external


def make_accounts(seed: int, accounts: int, recipients: int) -> list[Account]:
    """``accounts`` mailboxes, each with a home address and 5–40 usual correspondents."""
    rng = random.Random(seed)
    pool = _recipient_pool(rng, recipients)
    result: list[Account] = []
    for address in _people(rng, accounts, DOMAIN):
        ip = (
            OFFICE_NAT
            if rng.random() < 0.3
            else (f"133.242.{rng.randrange(11, 255)}.{rng.randrange(1, 255)}")
        )
        helo = rng.choice(HELOS).format(ip=ip, n=rng.randrange(10000), domain=DOMAIN)
        usual = tuple(rng.sample(pool, rng.randrange(5, 41)))
        method = "PLAIN" if rng.random() < 0.8 else "LOGIN"
        result.append(Account(address, ip, helo, method, rng.choice(CIPHERS), usual))
    return result


def _attributes(
    account: Account, state: str, recipient: str, count: int, size: int, *, first: bool
) -> bytes:
    # smtpd_delay_open_until_valid_rcpt: no queue file (and no queue id) before the first RCPT.
    queue = "" if first else "%(queue_id)b"
    proto, cipher, bits = account.tls
    client_name = "unknown" if account.client_address != OFFICE_NAT else "nat.city.example.jp"
    lines = [
        "request=smtpd_access_policy",
        f"protocol_state={state}",
        "protocol_name=ESMTP",
        f"helo_name={account.helo}",
        f"queue_id={queue}",
        f"sender={account.address}",
        f"recipient={recipient}",
        f"recipient_count={count}",
        f"client_address={account.client_address}",
        f"client_name={client_name}",
        f"reverse_client_name={client_name}",
        "instance=%(instance)b",
        f"sasl_method={account.method}",
        f"sasl_username={account.address}",
        "sasl_sender=",
        f"size={size}",
        "ccert_subject=",
        "ccert_issuer=",
        "ccert_fingerprint=",
        "ccert_pubkey_fingerprint=",
        f"encryption_protocol={proto}",
        f"encryption_cipher={cipher}",
        f"encryption_keysize={bits}",
        "etrn_domain=",
        "stress=",
        "client_port=%(client_port)b",
        "policy_context=",
        "server_address=198.51.100.25",
        "server_port=587",
        "",
        "",
    ]
    return "\n".join(lines).encode()


def _recipients(rng: random.Random, account: Account, pool: list[str]) -> list[str]:
    roll = rng.random()
    count = 1 if roll < 0.7 else rng.randrange(2, 4) if roll < 0.95 else rng.randrange(4, 11)
    chosen: list[str] = []
    while len(chosen) < count:
        source = account.correspondents if rng.random() < 0.95 else pool
        address = rng.choice(source)
        if address not in chosen:
            chosen.append(address)
    return chosen


def make_messages(
    seed: int, accounts: int, recipients: int, messages: int, end_of_message: bool
) -> list[MessageShape]:
    """``messages`` message shapes from random accounts to mostly usual recipients."""
    people = make_accounts(seed, accounts, recipients)
    rng = random.Random(seed + 1)
    pool = _recipient_pool(random.Random(seed), recipients)
    shapes: list[MessageShape] = []
    for _ in range(messages):
        account = rng.choice(people)
        rcpts = _recipients(rng, account, pool)
        size = int(rng.lognormvariate(10.0, 1.2)) + 800
        requests = [
            _attributes(account, "RCPT", rcpt, 0, size, first=index == 0)
            for index, rcpt in enumerate(rcpts)
        ]
        if end_of_message:
            eom = _attributes(account, "END-OF-MESSAGE", "", len(rcpts), size, first=False)
            requests.append(eom)
        shapes.append(MessageShape(tuple(requests)))
    return shapes


def instance_id(pid: int, serial: int) -> bytes:
    """An ``instance`` value shaped like Postfix's: pid.seconds.microseconds.counter in hex."""
    seconds, micro = divmod(serial * 7919 + pid * 104729, 1_000_000)
    return b"%x.%x.%x.%x" % (pid, 0x68000000 + seconds, micro, serial & 0xFFFF)


def queue_id(pid: int, serial: int) -> bytes:
    """A short Postfix queue id (uppercase hex)."""
    return b"%010X" % ((pid * 1_000_003 + serial * 97) & 0xFF_FFFF_FFFF)


def account_messages(
    seed: int, accounts: int, recipients: int, end_of_message: bool
) -> list[MessageShape]:
    """One ordinary message of every account, in a shuffled order: the steady-state pre-pass.

    Each goes from the account's usual address and sender to its usual correspondents (the same
    mix of recipient counts as ``make_messages``), so afterwards every account is known.
    """
    people = make_accounts(seed, accounts, recipients)
    rng = random.Random(seed + 2)
    rng.shuffle(people)
    pool = _recipient_pool(random.Random(seed), recipients)
    shapes: list[MessageShape] = []
    for account in people:
        rcpts = _recipients(rng, account, pool)
        size = int(rng.lognormvariate(10.0, 1.2)) + 800
        requests = [
            _attributes(account, "RCPT", rcpt, 0, size, first=index == 0)
            for index, rcpt in enumerate(rcpts)
        ]
        if end_of_message:
            requests.append(
                _attributes(account, "END-OF-MESSAGE", "", len(rcpts), size, first=False)
            )
        shapes.append(MessageShape(tuple(requests)))
    return shapes
