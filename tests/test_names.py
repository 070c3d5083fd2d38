"""File names from titles (§8): safe, distinct, inside the output folder, and linkable."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from tests.conftest import CASES, need
from vaultkit.discover import discover
from vaultkit.names import Linker, NameAllocator, clean_display, is_safe_name, name_key, safe_name
from vaultkit.parse import parse_note
from vaultkit.resolve import NameIndex
from vaultkit.writer import PlannedFile, apply

OUT = "_vaultkit"
HOSTILE = [
    "LoRA / QLoRA (adapter tuning)", "Dune: Messiah", "../../x", "CON", "File: A", "File: B",
    "Q&A | Part 1", "C# tips [draft]", "What is X?", "Notes ^2 / summary", "con.txt", "nul", "LPT1",
    ".hidden", "..", ".", "", "   ", "name. ", "100%% done", "Cafe\u0301", "Caf\u00e9", "CAFÉ", "a\\b",
    "x" * 400, "é" * 300, "\u202eevil.exe", "tab\there", "line\nbreak", "[[wiki]]", "%%", "/", "\x00nul",
    "Straße", "STRASSE", "*?<>\"", "Dune Messiah", "COM¹", "Note", "note",
]


@pytest.mark.parametrize("title, expected", [
    ("Q3: Plan / Budget?", "Q3 Plan Budget"), ("C# tips [draft]", "C tips draft"), ("a|b", "a b"),
    ("CON", "_CON"), ("con.txt", "_con.txt"), (".hidden", "hidden"), ("name. ", "name"),
    ("100%% done", "100% done"), ("Cafe\u0301", "Caf\u00e9"), ("", "Untitled"),
    ("LoRA / QLoRA (adapter tuning)", "LoRA QLoRA (adapter tuning)"), ("Dune: Messiah", "Dune Messiah"),
    ("../../x", "x"), ("a\u00a0\u2003 b", "a b"), ("Notes ^2 / summary", "Notes 2 summary"),
    ("\u202eevil", "evil"), ("COM1.md", "_COM1.md"), ("..", "Untitled"),
])
def test_safe_name_table(title, expected):
    assert safe_name(title) == expected


def test_safe_name_length_limits():
    assert len(safe_name("x" * 400)) == 200
    long_e = safe_name("é" * 300)
    assert len(long_e.encode("utf-8")) <= 240
    assert safe_name("a" * 199 + " b") == "a" * 199  # no trailing space after the cut
    assert safe_name("a" * 10 + ".", max_len=11) == "a" * 10


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=300))
def test_safe_name_is_always_safe(title):
    name = safe_name(title)
    assert name and is_safe_name(name + ".md")
    assert "/" not in name and "\\" not in name and not name.startswith(".")
    assert safe_name(name) == name  # idempotent


@settings(max_examples=100, deadline=None)
@given(st.lists(st.text(max_size=40), max_size=30))
def test_allocator_names_are_distinct_after_casefold(titles):
    alloc = NameAllocator(["notes/note.md", "Untitled.md"])
    paths = [alloc.allocate(t, OUT) for t in titles]
    keys = [name_key(p.rsplit("/", 1)[1]) for p in paths]
    assert len(set(keys)) == len(keys)
    assert name_key("note.md") not in keys and name_key("untitled.md") not in keys
    for p in paths:
        assert p.startswith(OUT + "/") and p.count("/") == 1 and is_safe_name(p.rsplit("/", 1)[1])


def test_allocator_respects_path_length():
    deep = OUT + "/" + "/".join(["folder" * 5] * 6)
    p = NameAllocator().allocate("t" * 500, deep)
    assert len(p) <= 240 and p.startswith(deep + "/")


def test_clean_display():
    assert clean_display("a [[b]] c\n d") == "a b c d"
    assert clean_display("x | y", table=True) == "x \\| y"


def _plan(titles: list[str], existing: list[str]) -> tuple[list[PlannedFile], dict[str, str]]:
    alloc = NameAllocator(existing)
    where = {}
    for i, t in enumerate(titles):
        where[f"{i}:{t}"] = alloc.allocate(t, f"{OUT}/items")
    index_path = alloc.allocate("Index", OUT)
    linker = Linker(existing + list(where.values()) + [index_path])
    lines = [f"- {linker.wikilink(p, k.split(':', 1)[1])}" for k, p in where.items()]
    table = ["| item |", "| --- |"] + [f"| {linker.wikilink(p, k.split(':', 1)[1], table=True)} |"
                                       for k, p in where.items()]
    files = [PlannedFile(index_path, "---\ntitle: Index\n---\n" + "\n".join(lines) + "\n\n" + "\n".join(table) + "\n")]
    for k, p in where.items():
        title = k.split(":", 1)[1]
        files.append(PlannedFile(p, "---\n" + f"title: {json.dumps(title)}\naliases:\n  - {json.dumps(title)}\n"
                                 + f"---\n{title.replace(chr(10), ' ')} excerpt\n"))
    return files, where


def test_hostile_titles_give_safe_distinct_linkable_files(tmp_path):
    vault = tmp_path / "v"
    shutil.copytree(need(CASES / "024-generated-note-names-from-unsafe-titles" / "vault"), vault)
    (vault / "Dune Messiah.md").write_text("The user's own note.\n", encoding="utf-8")  # a clash outside output
    (vault / "Notes").mkdir()
    (vault / "Notes" / "note.md").write_text("mine\n", encoding="utf-8")
    items = json.loads((vault / "_inbox" / "highlights.json").read_text(encoding="utf-8"))
    titles = [it["title"] for it in items] + HOSTILE + ["File: A"]  # the same title twice: two items
    existing, _ = discover(vault)
    user_before = {p: (vault / p).read_bytes() for p in existing}
    files, where = _plan(titles, existing)
    report = apply(vault, OUT, files)
    assert report.created == len(files) and report.skipped == 0
    # everything written is inside the output folder, safe and distinct
    out_real = (vault / OUT).resolve()
    written = []
    for dirpath, _d, names in os.walk(vault / OUT):
        for n in names:
            p = Path(dirpath, n)
            assert p.resolve().is_relative_to(out_real)
            assert is_safe_name(n)
            written.append(p.relative_to(vault).as_posix())
    assert sorted(written) == sorted(f.path for f in files)
    all_files, _ = discover(vault)
    keys = [name_key(f.rsplit("/", 1)[-1]) for f in all_files]
    assert len(keys) == len(set(keys)), "two files clash after casefold"
    # the user's files are untouched
    assert {p: (vault / p).read_bytes() for p in existing} == user_before
    # 'File: A' and 'File: B' are two notes; the twin title got its own note too
    assert len({where[k] for k in where if k.endswith(":File: A")}) == 3  # in the case, HOSTILE, and again
    assert where["0:File: A"] != where["1:File: B"]
    assert where[f"{len(titles) - 1}:File: A"].endswith("File A 3.md")
    assert where[f"{6 + HOSTILE.index('Dune Messiah')}:Dune Messiah"].endswith("Dune Messiah 3.md")
    assert where[f"{6 + HOSTILE.index('CON')}:CON"] == f"{OUT}/items/_CON.md"
    # every link of the index (list and table) resolves to the file written for it
    index = NameIndex(all_files)
    index_path = files[0].path
    note = parse_note(index_path, (vault / index_path).read_bytes())
    targets = [link.target for link in note.links if link.kind == "wikilink"]
    assert len(targets) == 2 * len(where)
    expected = list(where.values()) * 2
    for target, want in zip(targets, expected):
        assert index.resolve(target, index_path) == want, target
        assert index.resolve(target, "Sources.md") == want, target
    # the original title is kept in the note
    for k, p in where.items():
        n = parse_note(p, (vault / p).read_bytes())
        assert n.frontmatter["title"] == k.split(":", 1)[1]
    # second run converges, nothing rewritten
    again = apply(vault, OUT, files)
    assert again.unchanged == len(files) and not again.changed


def test_linker_uses_full_path_when_names_repeat():
    files = ["A/Note.md", "_vaultkit/Note.md", "Other.md"]
    lk = Linker(files)
    idx = NameIndex(files)
    assert lk.target("_vaultkit/Note.md") == "_vaultkit/Note"
    for source in ("A/x.md", "Other.md", "_vaultkit/Index.md"):
        assert idx.resolve(lk.target("_vaultkit/Note.md"), source) == "_vaultkit/Note.md"
        assert idx.resolve(lk.target("Other.md"), source) == "Other.md"
    assert Linker(files, always_path=True).target("Other.md") == "Other"
    assert Linker(files, always_path=True).target("A/Note.md") == "A/Note"


@settings(max_examples=3000, deadline=None)
@example("a  b", 200)
@example("Lora ", 200)
@example(".x", 200)
@example("x.", 200)
@example("con.md", 200)
@example("LPT1", 200)
@example("abcdefghij", 8)
@example("x" * 241, 400)
@example("a %% b", 200)
@given(st.lists(st.sampled_from(list("aZ09 .-_()'&+!=~;@$,%#:|/\\[]^*?\"<>\t\u00a0é\u200bÅ") + ["CON", "lpt1", "nul."]),
               max_size=12).map("".join),
       st.sampled_from([3, 8, 200, 400]))
def test_the_shortcut_for_plain_titles_gives_what_the_full_cleaning_gives(title: str, max_len: int) -> None:
    """safe_name returns a plain ASCII title as it is, without the full cleaning: only where that cleaning
    would give the title back unchanged (device names, dots and spaces at the ends, runs of spaces, %%,
    lengths over the limit all go the long way)."""
    from vaultkit.names import _sanitize

    assert safe_name(title, max_len=max_len) == _sanitize(title, " ", max_len)
