#!/usr/bin/env python3
"""Puts a section into a Markdown file between its markers, or at the end:

    put_section.py NAME FILE SECTION

SECTION starts with `<!-- NAME:start -->` and ends with `<!-- NAME:end -->`; the
text between the file's markers of that name is replaced by it (the file is
created if it does not exist). `scripts/bench/report.py` keeps these sections
when it rewrites BENCHMARKS.md."""
import re
import sys

name, path, section = sys.argv[1:4]
try:
    text = open(path).read()
except FileNotFoundError:
    text = ""
pattern = re.compile(rf"<!-- {name}:start -->.*?<!-- {name}:end -->", re.S)
if pattern.search(text):
    text = pattern.sub(lambda _: section, text)
else:
    text = text.rstrip("\n") + "\n\n" + section + "\n"
open(path, "w").write(text)
