"""Parsing a note against the floor, per note, in one process: what a cold sync cannot go below.

Each pass reads every Markdown file of a vault (folders starting with ``.`` and the
output folder ``_vaultkit`` left out) and either parses its frontmatter with
libyaml's C loader (the floor, as ``bench.py`` measures it in a process of its own)
or hands the bytes to :func:`vaultkit.parse.parse_note` (everything a sync reads
from a note). The two alternate, pass by pass, so load from other work hits both;
the medians and every pass are printed. A hash of what was parsed (counts of links,
tags, headings, property names and diagnostic codes, note by note) is printed too,
so that two builds of vaultkit can be checked to parse alike.

``--path DIR`` puts ``DIR`` first on ``sys.path``: a copy of ``vaultkit/`` there,
built another way (compiled, say), is measured instead of the installed one.

Usage::

    .venv/bin/python benchmarks/parse_cost.py ../shared/vaults/eugene-sample --passes 5
    .venv/bin/python benchmarks/parse_cost.py benchmarks/_vaults/n2000 --passes 3
    .venv/bin/python benchmarks/parse_cost.py ../shared/vaults/eugene-sample --path /tmp/compiled
"""

from __future__ import annotations

import argparse
import hashlib
import os
import statistics
import sys
import time


def note_files(root: str) -> list[str]:
    """The vault paths of the Markdown files under ``root``, sorted (``.``-folders and ``_vaultkit`` left out)."""
    found = []
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d != "_vaultkit")
        found.extend(os.path.relpath(os.path.join(folder, f), root) for f in sorted(files) if f.endswith(".md"))
    return found


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("vault")
    ap.add_argument("--passes", type=int, default=5, help="passes of each (median reported)")
    ap.add_argument("--path", help="a folder holding the vaultkit package to measure, put first on sys.path")
    args = ap.parse_args(argv)
    if args.path:
        sys.path.insert(0, args.path)
    import yaml

    import vaultkit
    from vaultkit.parse import parse_note

    root = args.vault
    if not os.path.isdir(root):
        ap.error(f"not a folder: {root}")
    files = []
    for rel in note_files(root):  # (a file that cannot be read is left out, and said)
        try:
            with open(os.path.join(root, rel), "rb"):
                files.append(rel)
        except OSError as exc:
            print(f"left out: {rel}: {exc.strerror}", file=sys.stderr)
    if not files:
        ap.error(f"no readable Markdown file under {root}")
    if args.passes < 1:
        ap.error("--passes must be at least 1")

    def read(rel: str) -> bytes:
        with open(os.path.join(root, rel), "rb") as fh:
            return fh.read()

    def floor() -> None:
        for rel in files:
            text = read(rel).decode("utf-8", "replace")
            if text.startswith("---"):
                end = text.find("\n---", 3)
                if end > 0:
                    try:
                        yaml.load(text[3:end], Loader=yaml.CSafeLoader)
                    except yaml.YAMLError:
                        pass

    def parse() -> None:
        for rel in files:
            parse_note(rel, read(rel))

    floor_s: list[float] = []
    parse_s: list[float] = []
    for _ in range(args.passes):
        for run, times in ((floor, floor_s), (parse, parse_s)):
            start = time.perf_counter()
            run()
            times.append(time.perf_counter() - start)

    digest = hashlib.sha256()
    for rel in files:
        note = parse_note(rel, read(rel))
        digest.update(repr((rel, len(note.links), len(note.tags), len(note.headings), sorted(note.frontmatter or ()),
                            sorted(d.code for d in note.diagnostics))).encode())
    n = len(files)
    f_med, p_med = statistics.median(floor_s), statistics.median(parse_s)
    print(f"vaultkit from {os.path.dirname(vaultkit.__file__)}")
    print(f"{root}: {n} notes")
    print(f"floor (read + libyaml frontmatter): {f_med / n * 1e3:.3f} ms a note; passes (s): "
          + ", ".join(f"{t:.3f}" for t in floor_s))
    print(f"parse_note (read + parse):          {p_med / n * 1e3:.3f} ms a note; passes (s): "
          + ", ".join(f"{t:.3f}" for t in parse_s))
    print(f"parse_note / floor: {p_med / f_med:.2f}x; what was parsed: {digest.hexdigest()[:16]}")


if __name__ == "__main__":
    main()
