"""The domains of the audit benchmark, made here (deterministic for a seed): zone files for a
DNS server, the list to audit, and what each domain was made to be.

Every registered domain is a zone of its own below ``test.`` (RFC 6761: never a real name),
delegated from a ``test.`` zone that also answers NXDOMAIN for names that do not exist. Mail
providers shared by many domains (their MX hosts with forward-confirmed reverse DNS, SPF
include chains of one to eight lookups) are zones too, and so are the reverse zones of their
addresses. Each domain draws, independently:

- **MX**: a provider's hosts, its own host (reverse DNS matching, missing or pointing
  elsewhere), a null MX (RFC 7505, parked), none at all (the implicit MX), a host with no
  address, an MX host that is a CNAME;
- **SPF**: ``-all``/``~all``/``?all``/``+all``, none, two records, a syntax error, more than
  10 lookups, one or three void lookups, ``redirect=``, ``ptr``, an include of a domain with no
  SPF record, an include that times out;
- **DMARC**: reject, quarantine (some ``pct=50``), none, missing, ``p=`` invalid or absent,
  two records, the record at the apex instead of ``_dmarc``, an external ``rua`` with and
  without its authorisation record, ``sp=none``;
- **DKIM**: keys under common selectors (RSA 2048, 1024 and 512 bits, Ed25519, revoked), under
  a selector nobody can guess, or none;
- now and then MTA-STS and TLS-RPT records, BIMI, a subdomain audited on its own (its DMARC
  policy inherited), a name that does not exist, a zone whose server fails (SERVFAIL) and
  questions that are never answered (timeouts; the server drops them).
"""

from __future__ import annotations

import base64
import hashlib
import random
from dataclasses import dataclass, field

TLD = "test"
NS_HOSTS = ("ns1.dnshost.test", "ns2.dnshost.test")
WORDS = ("city", "town", "univ", "school", "clinic", "hospital", "police", "library", "museum",
         "shop", "bakery", "farm", "lawfirm", "dental", "travel", "hotel", "bank", "coop",
         "port", "water", "fire", "kindergarten", "college", "lab", "press", "studio", "garage",
         "pharmacy", "church", "temple", "shrine", "sports", "onsen", "market", "ward")

# Shared providers: zone -> zone-file lines (names relative to the zone)
PROVIDERS: dict[str, list[str]] = {
    "dnshost.test": ["ns1 A 192.0.2.53", "ns2 A 198.51.100.53"],
    "mailhost-a.test": [
        "mx1 A 192.0.2.25", "mx2 A 192.0.2.26", "mx1 AAAA 2001:db8:25::1",
        '_spf TXT "v=spf1 ip4:192.0.2.0/25 ip6:2001:db8:25::/48 -all"',
    ],
    "bigmail.test": [
        "aspmx A 198.51.100.10", "alt1.aspmx A 198.51.100.11", "alt2.aspmx A 198.51.100.12",
        '_spf TXT "v=spf1 include:_netblocks.bigmail.test include:_netblocks2.bigmail.test '
        '~all"',
        '_netblocks TXT "v=spf1 ip4:198.51.100.0/26 ip4:203.0.113.128/26 ~all"',
        '_netblocks2 TXT "v=spf1 ip6:2001:db8:100::/40 ~all"',
    ],
    "bulkmail.test": [
        '@ TXT "v=spf1 -all"',
        'spf TXT "v=spf1 include:a.spf.bulkmail.test include:b.spf.bulkmail.test '
        'include:c.spf.bulkmail.test -all"',
        'a.spf TXT "v=spf1 ip4:203.0.113.0/28 -all"',
        'b.spf TXT "v=spf1 ip4:203.0.113.16/28 -all"',
        'c.spf TXT "v=spf1 ip4:203.0.113.32/28 -all"',
    ],
    "crm.test": [
        "@ MX 10 mx.crm.test.", "mx A 203.0.113.60", "relay A 203.0.113.61",
        'spf TXT "v=spf1 include:spf.bulkmail.test a:relay.crm.test mx ~all"',
    ],
    "helpdesk.test": [
        'mail TXT "v=spf1 include:_spf.bigmail.test ip4:203.0.113.70 ~all"',
    ],
    "nospf.test": ['@ TXT "google-site-verification=abc123"'],
    "reports.test": [
        '*._report._dmarc TXT "v=DMARC1"',
        "@ MX 10 mx1.mailhost-a.test.",
    ],
    "relay.test": ["out A 203.0.113.90"],
}
PTRS = {  # address -> PTR target (forward-confirmed for the providers)
    "192.0.2.25": "mx1.mailhost-a.test", "192.0.2.26": "mx2.mailhost-a.test",
    "198.51.100.10": "aspmx.bigmail.test", "198.51.100.11": "alt1.aspmx.bigmail.test",
    "198.51.100.12": "alt2.aspmx.bigmail.test", "203.0.113.60": "mx.crm.test",
    "2001:db8:25::1": "mx1.mailhost-a.test",
}
REVERSE_ZONES = ("2.0.192.in-addr.arpa", "100.51.198.in-addr.arpa", "113.0.203.in-addr.arpa",
                 "18.198.in-addr.arpa", "5.2.0.0.8.b.d.0.1.0.0.2.ip6.arpa")
DEAD_INCLUDE = "spf.slowdns.test"  # its queries are dropped: a timeout


@dataclass
class Corpus:
    """Zones to serve, names to audit, and what the generator meant."""

    domains: list[str] = field(default_factory=list)
    zones: dict[str, list[str]] = field(default_factory=dict)
    servfail_zones: list[str] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)  # names whose questions go unanswered
    truth: dict[str, dict[str, str]] = field(default_factory=dict)

    def zone_text(self, origin: str) -> str:
        """The zone file of ``origin``: SOA, NS, then its records."""
        head = [f"$ORIGIN {origin}.", "$TTL 3600",
                f"@ SOA {NS_HOSTS[0]}. hostmaster.{origin}. 2025100601 3600 600 86400 300",
                *(f"@ NS {h}." for h in NS_HOSTS)]
        return "\n".join([*head, *self.zones[origin]]) + "\n"


def _der_length(n: int) -> bytes:
    if n < 0x80:
        return bytes([n])
    raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(raw)]) + raw


def _der(tag: int, body: bytes) -> bytes:
    return bytes([tag]) + _der_length(len(body)) + body


def _der_int(n: int) -> bytes:
    raw = n.to_bytes(n.bit_length() // 8 + 1, "big")
    return _der(0x02, raw)


def rsa_key(rng: random.Random, bits: int) -> str:
    """A SubjectPublicKeyInfo of an RSA key of ``bits`` bits, base64 (a random odd modulus:
    nothing here verifies a signature, only the key's type and size are read)."""
    modulus = rng.getrandbits(bits) | (1 << (bits - 1)) | 1
    rsa = _der(0x30, _der_int(modulus) + _der_int(65537))
    algorithm = _der(0x30, _der(0x06, bytes.fromhex("2a864886f70d010101")) + b"\x05\x00")
    spki = _der(0x30, algorithm + _der(0x03, b"\x00" + rsa))
    return base64.b64encode(spki).decode()


def txt(value: str) -> str:
    """A TXT value in zone-file form, split into strings of at most 255 characters."""
    parts = [value[i:i + 255] for i in range(0, len(value), 255)] or [""]
    return " ".join('"' + p.replace('"', '\\"') + '"' for p in parts)


def _pick(rng: random.Random, weights: dict[str, float]) -> str:
    return rng.choices(list(weights), list(weights.values()))[0]


MX_KINDS = {"provider_a": 40, "provider_b": 25, "own_ptr": 10, "own_no_ptr": 5,
            "own_ptr_other": 4, "null": 6, "none": 4, "no_address": 2, "cname": 2, "crm": 2}
SPF_KINDS = {"fail": 40, "softfail": 24, "neutral": 3, "pass": 1, "no_all": 1, "missing": 6,
             "multiple": 3, "syntax": 2, "too_many": 6, "void_1": 3, "void_3": 2,
             "redirect": 3, "ptr": 1, "include_nospf": 2, "include_nxdomain": 2, "timeout": 0.1}
DMARC_KINDS = {"reject": 28, "quarantine": 10, "quarantine_pct": 4, "none": 20, "missing": 17,
               "bad_p": 2, "no_p": 1, "multiple": 2, "apex": 1, "ext_rua_ok": 5,
               "ext_rua_unauth": 5, "sp_none": 3, "testing": 2}
DKIM_KINDS = {"m365": 18, "google": 18, "default": 8, "k1": 4, "s1": 4, "custom": 10,
              "none": 30, "weak1024": 4, "weak512": 1, "ed25519": 2, "revoked": 1}
SPECIAL = {"normal": 95.3, "subdomain": 3, "nxdomain": 1, "servfail": 0.5, "timeout": 0.15}


class _Maker:
    """Builds the corpus one domain at a time."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.corpus = Corpus()
        self.own_hosts = 0
        keys = random.Random(seed + 1)
        self.keys = {"rsa2048": [rsa_key(keys, 2048) for _ in range(4)],
                     "rsa1024": [rsa_key(keys, 1024) for _ in range(2)],
                     "rsa512": [rsa_key(keys, 512)],
                     "ed25519": [base64.b64encode(hashlib.sha256(b"ed%d" % i).digest()).decode()
                                 for i in range(2)]}

    def providers(self) -> None:
        zones = self.corpus.zones
        for origin, lines in PROVIDERS.items():
            zones[origin] = list(lines)
        for zone in REVERSE_ZONES:
            zones[zone] = []
        for address, host in PTRS.items():
            self._ptr(address, host)
        self.corpus.dropped.append(DEAD_INCLUDE)
        zones["slowdns.test"] = ['spf TXT "v=spf1 ip4:203.0.113.99 -all"']

    def _ptr(self, address: str, host: str) -> None:
        import ipaddress

        reverse = ipaddress.ip_address(address).reverse_pointer
        zone = next(z for z in REVERSE_ZONES if reverse.endswith("." + z))
        self.corpus.zones[zone].append(f"{reverse}. PTR {host}.")

    def name(self, i: int) -> str:
        return f"{self.rng.choice(WORDS)}{i:04d}.{TLD}"

    def domain(self, i: int) -> None:
        domain = self.name(i)
        special = _pick(self.rng, SPECIAL)
        corpus = self.corpus
        if special == "nxdomain":
            corpus.domains.append(domain)
            corpus.truth[domain] = {"special": "nxdomain"}
            return
        if special == "servfail":
            corpus.domains.append(domain)
            corpus.servfail_zones.append(domain)
            corpus.truth[domain] = {"special": "servfail"}
            return
        kinds = {"mx": _pick(self.rng, MX_KINDS), "spf": _pick(self.rng, SPF_KINDS),
                 "dmarc": _pick(self.rng, DMARC_KINDS), "dkim": _pick(self.rng, DKIM_KINDS)}
        if kinds["mx"] == "null":  # a parked domain says it sends nothing
            kinds.update(spf="parked", dkim="none")
        lines: list[str] = []
        if self.rng.random() < 0.7:
            lines.append(f"@ A 192.0.2.{self.rng.randrange(100, 200)}")
        self.mx(domain, kinds["mx"], lines)
        self.spf(domain, kinds["spf"], kinds["mx"], lines)
        self.dmarc(domain, kinds["dmarc"], lines)
        self.dkim(kinds["dkim"], lines)
        self.extras(domain, kinds, lines)
        if special == "timeout":
            kinds["special"] = "timeout"
            timeouts = sum(t.get("special") == "timeout" for t in corpus.truth.values())
            corpus.dropped.append(domain if timeouts == 1 else f"_dmarc.{domain}")
        corpus.zones[domain] = lines
        corpus.domains.append(domain)
        corpus.truth[domain] = kinds
        if special == "subdomain":
            self.subdomain(domain, lines)

    def mx(self, domain: str, kind: str, lines: list[str]) -> None:
        rng = self.rng
        if kind == "provider_a":
            lines += ["@ MX 10 mx1.mailhost-a.test.", "@ MX 20 mx2.mailhost-a.test."]
        elif kind == "provider_b":
            lines += ["@ MX 1 aspmx.bigmail.test.", "@ MX 5 alt1.aspmx.bigmail.test.",
                      "@ MX 5 alt2.aspmx.bigmail.test."]
        elif kind == "crm":
            lines.append("@ MX 10 mx.crm.test.")
        elif kind.startswith("own"):
            self.own_hosts += 1  # addresses from 198.18.0.0/15 (RFC 2544), one per host
            address = f"198.18.{self.own_hosts // 250}.{self.own_hosts % 250 + 1}"
            lines += ["@ MX 10 mail", f"mail A {address}"]
            if kind == "own_ptr":
                self._ptr(address, f"mail.{domain}")
            elif kind == "own_ptr_other":
                self._ptr(address, f"host-{self.own_hosts}.isp.test")
        elif kind == "null":
            lines.append("@ MX 0 .")
        elif kind == "no_address":
            lines.append("@ MX 10 mail")  # no A/AAAA for mail.<domain>
        elif kind == "cname":
            lines += ["@ MX 10 mx", "mx CNAME smtp", f"smtp A 192.0.2.{rng.randrange(30, 40)}"]
        if kind == "none" and not any(x.startswith("@ A ") for x in lines):
            lines.append(f"@ A 192.0.2.{rng.randrange(100, 200)}")

    def spf(self, domain: str, kind: str, mx: str, lines: list[str]) -> None:
        base = {"provider_a": "include:_spf.mailhost-a.test",
                "provider_b": "include:_spf.bigmail.test",
                "crm": "include:spf.crm.test"}.get(mx, "mx")
        extra = " include:spf.bulkmail.test" if self.rng.random() < 0.15 else ""
        ending = {"fail": " -all", "softfail": " ~all", "neutral": " ?all", "pass": " +all",
                  "no_all": ""}
        record = {
            "parked": "v=spf1 -all",
            "syntax": f"v=spf1 {base} ip4:192.0.2.300 -all",
            "too_many": "v=spf1 include:_spf.bigmail.test include:spf.crm.test "
                        "include:mail.helpdesk.test mx a -all",
            "void_1": f"v=spf1 {base} a:old-mail.{domain} -all",
            "void_3": f"v=spf1 a:old1.{domain} a:old2.{domain} exists:x.gone.test {base} -all",
            "redirect": "v=spf1 redirect=_spf.mailhost-a.test",
            "ptr": f"v=spf1 ptr:{domain} {base} ~all",
            "include_nospf": f"v=spf1 {base} include:nospf.test -all",
            "include_nxdomain": f"v=spf1 {base} include:spf.gone.test -all",
            "timeout": f"v=spf1 {base} include:{DEAD_INCLUDE} -all",
        }.get(kind)
        if kind == "missing":
            return
        if record is None:
            record = f"v=spf1 {base}{extra}{ending.get(kind, ' -all')}"
        lines.append(f"@ TXT {txt(record)}")
        if kind == "multiple":
            lines.append(f"@ TXT {txt('v=spf1 include:spf.bulkmail.test ~all')}")
        if self.rng.random() < 0.3:
            lines.append(f'@ TXT "site-verification={self.rng.getrandbits(64):016x}"')

    def dmarc(self, domain: str, kind: str, lines: list[str]) -> None:
        own = f"mailto:dmarc@{domain}"
        record = {
            "reject": f"v=DMARC1; p=reject; rua={own}",
            "quarantine": f"v=DMARC1; p=quarantine; rua={own}; fo=1",
            "quarantine_pct": f"v=DMARC1; p=quarantine; pct=50; rua={own}",
            "none": f"v=DMARC1; p=none; rua={own}",
            "bad_p": f"v=DMARC1; p=monitor; rua={own}",
            "no_p": f"v=DMARC1; rua={own}",
            "ext_rua_ok": "v=DMARC1; p=reject; rua=mailto:agg@reports.test",
            "ext_rua_unauth": "v=DMARC1; p=quarantine; rua=mailto:dmarc@analyzer.test",
            "sp_none": f"v=DMARC1; p=reject; sp=none; rua={own}",
            "testing": f"v=DMARC1; p=reject; pct=0; rua={own}",
        }.get(kind)
        if kind == "multiple":
            lines += [f"_dmarc TXT {txt('v=DMARC1; p=none')}",
                      f"_dmarc TXT {txt('v=DMARC1; p=reject')}"]
        elif kind == "apex":
            lines.append(f"@ TXT {txt('v=DMARC1; p=quarantine')}")
        elif record is not None:
            if self.rng.random() < 0.2:
                record = record.replace("; rua", "; adkim=s; aspf=s; rua")
            lines.append(f"_dmarc TXT {txt(record)}")

    def dkim(self, kind: str, lines: list[str]) -> None:
        keys = self.keys
        rsa = self.rng.choice(keys["rsa2048"])
        selectors = {"m365": ["selector1", "selector2"], "google": ["google"],
                     "default": ["default"], "k1": ["k1"], "s1": ["s1", "s2"],
                     "custom": ["mw2025a"], "weak1024": ["default"], "weak512": ["mail"],
                     "ed25519": ["default"], "revoked": ["selector1"]}.get(kind, [])
        for selector in selectors:
            key = f"v=DKIM1; k=rsa; p={rsa}"
            if kind == "weak1024":
                key = f"v=DKIM1; k=rsa; p={keys['rsa1024'][0]}"
            elif kind == "weak512":
                key = f"v=DKIM1; k=rsa; p={keys['rsa512'][0]}"
            elif kind == "ed25519":
                key = f"v=DKIM1; k=ed25519; p={keys['ed25519'][0]}"
            elif kind == "revoked":
                key = "v=DKIM1; k=rsa; p="
            lines.append(f"{selector}._domainkey TXT {txt(key)}")

    def extras(self, domain: str, kinds: dict[str, str], lines: list[str]) -> None:
        rng = self.rng
        if kinds["mx"] in ("provider_a", "provider_b") and rng.random() < 0.12:
            lines += [f'_mta-sts TXT "v=STSv1; id=2025{rng.randrange(10**6):06d}"',
                      f"mta-sts A 192.0.2.{rng.randrange(80, 90)}"]
            kinds["mta_sts"] = "txt"
        if rng.random() < 0.1:
            lines.append(f'_smtp._tls TXT "v=TLSRPTv1; rua=mailto:tlsrpt@{domain}"')
            kinds["tls_rpt"] = "yes"
        if kinds["dmarc"] in ("reject", "quarantine") and rng.random() < 0.15:
            lines.append(f'default._bimi TXT "v=BIMI1; l=https://{domain}/logo.svg; a="')
            kinds["bimi"] = "yes"

    def subdomain(self, domain: str, lines: list[str]) -> None:
        """``news.<domain>``: own SPF and MX, no DMARC record (the parent's applies)."""
        sub = f"news.{domain}"
        lines += ["news A 192.0.2.150", "news MX 10 mx1.mailhost-a.test.",
                  f"news TXT {txt('v=spf1 include:spf.bulkmail.test -all')}"]
        self.corpus.domains.append(sub)
        self.corpus.truth[sub] = {"special": "subdomain", "parent": domain}


def make(count: int, seed: int) -> Corpus:
    """About ``count`` names to audit (subdomains count), their zones and the shared ones."""
    maker = _Maker(seed)
    maker.providers()
    i = 0
    while len(maker.corpus.domains) < count:
        i += 1
        maker.domain(i)
    corpus = maker.corpus
    del corpus.domains[count:]
    return corpus


def parent_zone(corpus: Corpus) -> str:
    """The ``test.`` zone: a delegation for every zone below it (and the name servers' glue),
    NXDOMAIN for everything else."""
    children = sorted({z for z in [*corpus.zones, *corpus.servfail_zones] if z.endswith(".test")})
    lines = [f"$ORIGIN {TLD}.", "$TTL 3600",
             f"@ SOA {NS_HOSTS[0]}. hostmaster.{NS_HOSTS[0]}. 2025100601 3600 600 86400 300",
             *(f"@ NS {h}." for h in NS_HOSTS),
             "ns1.dnshost A 192.0.2.53", "ns2.dnshost A 198.51.100.53"]
    for child in children:
        label = child[: -len(TLD) - 1]
        lines += [f"{label} NS {h}." for h in NS_HOSTS]
    return "\n".join(lines) + "\n"
