#!/usr/bin/env python3
"""Puts one benchmark section into BENCHMARKS.md, replacing the section with the same heading.

Usage: scripts/bench-section.py SECTION_FILE   (the file's first line is its "## ..." heading)
Shared by the scripts/bench-*.sh scripts so every figure lands in one file, each with its command.
"""
import pathlib
import re
import sys

section = pathlib.Path(sys.argv[1]).read_text().rstrip("\n") + "\n"
heading = section.splitlines()[0]
bench = pathlib.Path(__file__).resolve().parent.parent / "BENCHMARKS.md"
text = bench.read_text() if bench.exists() else "# Benchmarks\n"
pattern = re.compile("^" + re.escape(heading) + r"\n.*?(?=^## |\Z)", re.S | re.M)
if pattern.search(text):
    text = pattern.sub(lambda _: section + "\n", text, count=1).rstrip("\n") + "\n"
else:
    text = text.rstrip("\n") + "\n\n" + section
bench.write_text(text)
print(f"wrote '{heading}' in {bench.name}")
