"""Shared by the benchmarks: replace one section of docs/benchmarks.md."""

from __future__ import annotations

from pathlib import Path

DOC = Path(__file__).resolve().parents[1] / "docs" / "benchmarks.md"
HEADER = (
    "# Benchmarks\n\n"
    "Measured figures, written by the scripts in `bench/` (see `bench/README.md`). Each section\n"
    "names its date and the command that produced it. The machine is shared and noisy: compare\n"
    "medians and ratios within one run, not absolute numbers across runs.\n"
)


def write_section(name: str, text: str, path: Path = DOC) -> None:
    """Replace (or append) the section between ``<!-- bench:NAME -->`` markers."""
    start, end = f"<!-- bench:{name} -->", f"<!-- /bench:{name} -->"
    block = f"{start}\n{text.strip()}\n{end}"
    doc = path.read_text(encoding="utf-8") if path.exists() else HEADER
    if start in doc and end in doc:
        before, rest = doc.split(start, 1)
        after = rest.split(end, 1)[1]
        doc = before + block + after
    else:
        doc = doc.rstrip() + "\n\n" + block + "\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(doc, encoding="utf-8")
