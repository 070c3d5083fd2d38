"""Parsing a note against the floor, per note, in one process: what a cold sync cannot go below.

Each pass reads every Markdown file of a vault (``*.md`` in any case, as vaultkit
finds them; names starting with ``.``, and the default output folder ``_vaultkit``,
left out; only regular files) and either parses its frontmatter with libyaml's C
loader (the floor, as ``bench.py`` measures it in a process of its own: BOM and CRLF
undone, a block opened by a ``---`` line) or hands the bytes to
:func:`vaultkit.parse.parse_note` (everything a sync reads from a note). The two alternate, pass by pass, so load from other work hits both;
the medians and every pass are printed. A hash of what was parsed (counts of links,
tags, headings, property names and diagnostic codes, note by note) is printed too,
so that two builds of vaultkit can be checked to parse alike.

``--path DIR`` puts ``DIR`` first on ``sys.path``: a copy of ``vaultkit/`` there,
built another way (compiled, say), is measured instead of the installed one. The
script stops when ``DIR/vaultkit`` is not a package, or when any module the parse
uses comes from elsewhere (a partial copy would otherwise be filled in from the
installed package).

Usage::

    .venv/bin/python benchmarks/parse_cost.py ../shared/vaults/eugene-sample --passes 5
    .venv/bin/python benchmarks/parse_cost.py benchmarks/_vaults/n2000 --passes 3
    .venv/bin/python benchmarks/parse_cost.py ../shared/vaults/eugene-sample --path /tmp/compiled
"""

from __future__ import annotations

import argparse
import hashlib
import os
import stat
import statistics
import sys
import time

from bench import frontmatter_block  # (the floor as bench.py measures it; this folder is on sys.path)


#: the modules whose code parse_note runs: with --path, each must come from the copy measured
PARSE_MODULES = ("vaultkit.parse", "vaultkit.scan", "vaultkit.feedback", "vaultkit.frontmatter", "vaultkit.model",
                 "vaultkit.tiers")


def note_files(root: str) -> list[str]:
    """The vault paths of the Markdown files under ``root``, sorted (``.``-names and ``_vaultkit`` left out)."""
    found = []
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d != "_vaultkit")
        found.extend(os.path.relpath(os.path.join(folder, f), root) for f in sorted(files)
                     if f.lower().endswith(".md") and not f.startswith("."))
    return found


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("vault")
    ap.add_argument("--passes", type=int, default=5, help="passes of each (median reported)")
    ap.add_argument("--path", help="a folder holding the vaultkit package to measure, put first on sys.path")
    args = ap.parse_args(argv)
    if args.passes < 1:
        ap.error("--passes must be at least 1")
    root = args.vault
    if not os.path.isdir(root):
        ap.error(f"not a folder: {root}")
    if args.path is not None:
        where = os.path.realpath(os.path.join(args.path, "vaultkit"))
        if not os.path.isfile(os.path.join(where, "__init__.py")):
            ap.error(f"--path {args.path}: no vaultkit package in it ({where}/__init__.py not found)")
        sys.path.insert(0, args.path)
    import importlib

    import yaml

    try:
        modules = [importlib.import_module(name) for name in ("vaultkit", *PARSE_MODULES)]
    except Exception as exc:  # a broken copy: say what, not a traceback
        ap.error(f"cannot import vaultkit{' from ' + args.path if args.path else ''}: {type(exc).__name__}: {exc}")
    if args.path is not None:
        for module in modules:
            origin = os.path.realpath(getattr(module, "__file__", None) or "")
            if not origin.startswith(where + os.sep):
                ap.error(f"--path {args.path}: {module.__name__} comes from {origin or '?'}, not from the copy "
                         "(a partial copy?)")
    package, parse_note = modules[0], modules[1].parse_note

    files = []
    for rel in note_files(root):  # (a file that is not a regular one, or cannot be read, is left out, and said)
        path = os.path.join(root, rel)
        try:
            if not stat.S_ISREG(os.stat(path).st_mode):
                print(f"left out: {rel}: not a regular file", file=sys.stderr)
                continue
            with open(path, "rb"):
                files.append(rel)
        except OSError as exc:
            print(f"left out: {rel}: {exc.strerror}", file=sys.stderr)
    if not files:
        ap.error(f"no readable Markdown file under {root}")

    def read(rel: str) -> bytes:
        with open(os.path.join(root, rel), "rb") as fh:
            return fh.read()

    def floor() -> None:
        for rel in files:
            block = frontmatter_block(read(rel))
            if block is not None:
                try:
                    yaml.load(block, Loader=yaml.CSafeLoader)
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
    print(f"vaultkit from {os.path.dirname(package.__file__)}")
    print(f"{root}: {n} notes")
    print(f"floor (read + libyaml frontmatter): {f_med / n * 1e3:.3f} ms a note; passes (s): "
          + ", ".join(f"{t:.3f}" for t in floor_s))
    print(f"parse_note (read + parse):          {p_med / n * 1e3:.3f} ms a note; passes (s): "
          + ", ".join(f"{t:.3f}" for t in parse_s))
    print(f"parse_note / floor: {p_med / f_med:.2f}x; what was parsed: {digest.hexdigest()[:16]}")


if __name__ == "__main__":
    main()
