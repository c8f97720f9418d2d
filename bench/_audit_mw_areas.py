"""``mailwarden audit`` limited to some areas: what the command does (the same file reading,
DNS client, timeouts, concurrency, runner and JSON output, from ``mailwarden.cli.audit``), with
``audit_all(areas=...)`` given only the areas checkdmarc also checks. The command itself has no
option for that, so the benchmark runs this as its own process.

    python bench/_audit_mw_areas.py --areas spf,dmarc,mx FILE NAMESERVER TIMEOUT CONCURRENCY
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from mailwarden.audit.areas import enabled
from mailwarden.audit.model import AuditContext, AuditOptions
from mailwarden.audit.output import as_json
from mailwarden.audit.runner import audit_all
from mailwarden.cli.audit import check_nameserver, read_domains


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--areas", required=True, help="comma-separated area names")
    parser.add_argument("file", type=Path)
    parser.add_argument("nameserver")
    parser.add_argument("timeout", type=float)
    parser.add_argument("concurrency", type=int)
    args = parser.parse_args(argv)
    wanted = args.areas.split(",")
    options = AuditOptions(timeout=args.timeout)
    areas = [(a.name, check) for a, check in enabled(options) if a.name in wanted]
    client = check_nameserver(args.nameserver)
    assert client is not None
    client.resolver.timeout = args.timeout  # as the command sets them
    client.resolver.lifetime = args.timeout * (client.retries + 1)
    names = list(dict.fromkeys(read_domains(args.file)))
    reports = asyncio.run(audit_all(names, AuditContext(client, options), args.concurrency,
                                    areas=areas))
    sys.stdout.write(as_json(reports, "en") + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
