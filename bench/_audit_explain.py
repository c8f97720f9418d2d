"""Why Mailwarden and checkdmarc disagree, kind by kind, and the fixed texts of the section.

Each explanation was written after looking at the domains concerned and at both tools' code;
a disagreement of a kind not listed here is reported as unexplained (and the benchmark exits 1)
until someone looks at it.
"""

from __future__ import annotations

from collections import Counter

import _audit_zones
from _audit_verdicts import Disagreement

# (field, Mailwarden, checkdmarc) -> (why, who is right)
EXPLAINED: dict[tuple[str, str, str], tuple[str, str]] = {
    ("spf.result", "permerror", "valid"): (
        "`exists:x.gone.test` names a domain that does not exist. checkdmarc counts the "
        "`exists` term as a lookup but never resolves it, so it finds two void lookups "
        "(the two `a:` names) instead of three; Mailwarden resolves it: three void lookups, "
        "over the limit of two",
        "Mailwarden (RFC 7208 §4.6.4: a query answered NXDOMAIN by any mechanism is a void "
        "lookup; more than two is permerror)"),
    ("spf.void", "0", "1"): (
        "`ptr:DOMAIN` at a domain with no A/AAAA record: checkdmarc looks up the A/AAAA "
        "records of the `ptr` target and counts the empty answer as a void lookup. A receiver "
        "never makes that query: `ptr` looks up the PTR of the client's address and the "
        "addresses of the names returned (§5.5), which an audit without an address cannot do",
        "Mailwarden (both warn that `ptr` should not be used)"),
    ("dnssec", "unchecked", "not validated"): (
        "The zone answers SERVFAIL, or its questions go unanswered. checkdmarc returns a "
        "boolean, and `False` covers every failure (its documentation says so); Mailwarden "
        "says it could not check",
        "Mailwarden (a failed lookup is not evidence that the domain is unsigned)"),
    ("dmarc.record", "none", "multiple"): (
        "A subdomain with no record of its own whose parent publishes two DMARC records. "
        "Both conclude that no DMARC policy applies: a name with more than one record has "
        "none (RFC 9989 §4.10, RFC 7489 §6.6.3). checkdmarc reports the parent's two records "
        "as the error; Mailwarden reports the subdomain's policy as missing and, as "
        "`dmarc.parent_multiple`, the parent's records that cancel each other out",
        "both"),
    ("mta_sts.record", "none", "unchecked"): (
        "The domain whose apex questions go unanswered: `_mta-sts.DOMAIN` itself is answered "
        "(no record). Mailwarden reports what that answer says; checkdmarc then looks for a "
        "misplaced record among the apex's TXT records, and reports that lookup's timeout",
        "Mailwarden (a sender asks only `_mta-sts.DOMAIN`, RFC 8461 §3.1)"),
    ("tls_rpt.record", "none", "unchecked"): (
        "As for MTA-STS: `_smtp._tls.DOMAIN` is answered (no record) while the apex times "
        "out; checkdmarc's look for a misplaced record at the apex times out and becomes "
        "its result",
        "Mailwarden (RFC 8460 §3: the record is at `_smtp._tls.DOMAIN`)"),
}

DESIGN = """\
What is compared, and how:

- **Areas.** `mailwarden audit` checks SPF, DMARC, DKIM, MX (with forward-confirmed reverse
  DNS), MTA-STS, TLS-RPT, BIMI, DNSSEC and DANE; it has no option to leave an area out.
  checkdmarc checks SPF, DMARC, MX (with reverse DNS), MTA-STS, TLS-RPT, BIMI, DNSSEC, SOA and
  NS, and no DKIM (it cannot guess selectors) and no DANE (its TLSA lookup runs only with
  `--check-mx-tls`). So two Mailwarden rows: the command as a user runs it (DKIM alone asks 33
  questions per domain: the given selectors plus 32 common ones), and the same audit limited to
  the 7 areas both tools check (`bench/_audit_mw_areas.py`, which calls the command's own
  functions with `audit_all(areas=...)`). The second row is the like-for-like comparison;
  checkdmarc's SOA and NS lookups are two questions a domain more on its side.
- **Concurrency.** Mailwarden: `--concurrency {concurrency}` (its default) domains at a time,
  each domain's areas in parallel, in one process (asyncio): one core. checkdmarc checks one
  domain after another, one question at a time (`check_domains` is a loop; the command has no
  parallel mode, only `--wait` between domains): one core. Each command is pinned to the same
  CPU, Knot to the other one.
- **Timeouts.** The same budget per unanswered question: Mailwarden `--timeout {timeout:g}`
  (seconds per try, three tries: {lifetime:g} s), checkdmarc `--timeout {lifetime:g}` (its
  lifetime per question, which it splits into tries of at most 1 s) with its default
  `--retries 0`. Mailwarden's default is `--timeout 5` (15 s per question); checkdmarc's is
  2 s. A sequential tool waits out every unanswered question; a concurrent one overlaps them
  with other work ("unanswered questions" counts the packets dropped: each is about a second
  of waiting).
- **Network.** Both ask only 127.0.0.1:53 (checkdmarc's `--nameserver` takes no port, hence
  port 53 in a namespace of the benchmark's own). checkdmarc fetches MTA-STS policies and BIMI
  logos with the system's resolver, which does not exist inside the namespace: those fetches
  fail at once; Mailwarden resolves `mta-sts.DOMAIN` with the audit's nameserver and its
  connection to the (TEST-NET) address fails at once too. Neither tool's result depends on a
  policy it could fetch. Domains per second is names over wall time from start to exit,
  interpreter start-up and JSON output included."""

PROFILE = """\
Measured separately on the same machine and corpus (2026-11-28, before the two changes below):
a py-spy profile of `mailwarden audit` over 300 of these domains put about 60% of its samples in
dnspython's asyncio resolver (a new UDP socket and transport, a resolution object and a full
message parse for every question) and 15–18% in importing every command module at start-up
(about 1.5 s before the first question); the areas' own code was about 15%. Since then the
command imports only what it uses (start-up about 0.5 s of CPU instead of 1.1 s), and DKIM asks
7 questions instead of 33 for a domain without `_domainkey.DOMAIN` (RFC 8020; docs/audit.md):
from 46.1 to 37.0 questions per domain for the whole command. Asking the same 5,000 questions
through Mailwarden's `DnsClient` costs 463 µs of CPU each; through one shared asyncio socket
with dnspython's `make_query`/`from_wire` and nothing else, 290 µs. So even a leaner client
built on dnspython stays above the budget per question that 20× needs (above), before any of
the areas' own work; the ratio is what the audit's design (dnspython per question, one process)
gives today."""

SERVER_NOTE = """\
Knot answers the flood with a fraction of its core, so it is not what limits either command;
the flood itself is limited by its Python client. The tests' ZoneServer (dnslib) needs a whole
core for about 2,000 answers a second, less than Mailwarden asks for at full speed, so it would
have measured itself: the benchmark uses Knot, a real authoritative server (Debian's `knot`),
configured and started by `bench/_audit_dns.py`. "knotd CPU" in the table above is its share of
a core while each command ran."""

NOT_COMPARED = """\
Not compared, because only one tool reports it: DKIM keys and DANE (Mailwarden only); DMARC
alignment, report-size and `fo`/`ruf` details, SPF record size, redirect-with-all and the
records to publish (Mailwarden only); SOA and NS records, MX hosts' MTA-STS pattern match, a
report address's domain having no MX, duplicate includes (checkdmarc only). BIMI is compared on
the record's presence only: checkdmarc then downloads the logo, Mailwarden does not."""


def scenario(truth: dict[str, str]) -> str:
    """What the generator made a domain to be, in a few words."""
    if "special" in truth and truth["special"] != "timeout":
        return truth["special"]
    parts = [f"{k}={v}" for k, v in truth.items() if k in ("spf", "dmarc", "mx")]
    if truth.get("special") == "timeout":
        parts.insert(0, "timeout")
    return " ".join(parts)


def corpus_summary(corpus: _audit_zones.Corpus) -> str:
    """How many names of each special kind."""
    specials = Counter(t.get("special", "") for t in corpus.truth.values())
    names = {"subdomain": "subdomains (their parent's DMARC policy applies)",
             "nxdomain": "names that do not exist", "servfail": "domains in a SERVFAIL zone",
             "timeout": "domains with unanswered questions"}
    return ", ".join(f"{text}: {specials[k]}" for k, text in names.items() if specials[k])


def dropped_summary(corpus: _audit_zones.Corpus) -> str:
    """The unanswered names, by kind."""
    apex = [n for n in corpus.dropped if n in corpus.truth]
    dmarc = [n for n in corpus.dropped if n.startswith("_dmarc.")]
    other = [n for n in corpus.dropped if n not in apex and n not in dmarc]
    users = sum(t.get("spf") == "timeout" for t in corpus.truth.values())
    parts = [f"`{n}` (an SPF include target of {users} domain(s))" for n in other]
    if dmarc:
        parts.append(f"the `_dmarc` name of {len(dmarc)} domain(s)")
    if apex:
        parts.append(f"every question at the apex of {len(apex)} domain(s)")
    return "; ".join(parts) or "none"


def explain(group: Disagreement) -> tuple[str, str]:
    """(why, who is right) for one kind of disagreement; ("", "") when not known."""
    return EXPLAINED.get((group.field, group.mailwarden, group.checkdmarc), ("", ""))
