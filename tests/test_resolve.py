"""Syntax document §6: link resolution, heading subpaths, aliases; checked against the document's tables.

The document's compact reference implementation (§6.1) is transcribed below as
:func:`reference_resolve` and used as an oracle on generated vaults.
"""

from __future__ import annotations

import posixpath
import random
import unicodedata

import pytest

from vaultkit.model import Heading
from vaultkit.parse import parse_note
from vaultkit.resolve import NameIndex, find_heading, heading_key, resolve_vault

SAMPLE = [
    "Inbox.md", "Readme.md", "Sub/Readme.md", "Sub/Page.md",
    "Projects/Note.md", "Projects/Todo.md", "Projects/Alpha/Plan.md",
    "Projects/Alpha/Sub/Note.md", "Archive/Note.md", "Archive/Projects/Plan.md",
    "Old Projects/Note.md", "Proj/X.md", "Assets/img.png", "Daily/2025-09-07.md",
    "Report.v2.md",
]

# source, link text, expected
S6_1 = [
    ("Inbox.md", "[[Note]]", "Archive/Note.md"),
    ("Projects/Todo.md", "[[Note]]", "Projects/Note.md"),
    ("Projects/Alpha/Plan.md", "[[Note]]", "Projects/Alpha/Sub/Note.md"),
    ("Proj/X.md", "[[Note]]", "Projects/Note.md"),
    ("Archive/Projects/Plan.md", "[[Note]]", "Archive/Note.md"),
    ("Sub/Page.md", "[[Readme]]", "Readme.md"),
    ("Sub/Page.md", "[[./Readme]]", "Sub/Readme.md"),
    ("Inbox.md", "[[Sub/Readme]]", "Sub/Readme.md"),
    ("Inbox.md", "[[Plan]]", "Projects/Alpha/Plan.md"),
    ("Inbox.md", "[[Projects/Plan]]", "Archive/Projects/Plan.md"),
    ("Inbox.md", "[[/Projects/Plan]]", None),
    ("Inbox.md", "[[/Archive/Projects/Plan]]", "Archive/Projects/Plan.md"),
    ("Inbox.md", "[[Alpha/Plan]]", "Projects/Alpha/Plan.md"),
    ("Inbox.md", "[[Projects/Note]]", "Projects/Note.md"),
    ("Projects/Todo.md", "[[NOTE.MD]]", "Projects/Note.md"),
    ("Projects/Alpha/Plan.md", "[[../Note]]", "Projects/Note.md"),
    ("Inbox.md", "[[img]]", None),
    ("Inbox.md", "[[Assets/IMG.PNG]]", "Assets/img.png"),
    ("Inbox.md", "[[2025-09-07]]", "Daily/2025-09-07.md"),
    ("Inbox.md", "[[Report.v2]]", "Report.v2.md"),
    ("Inbox.md", "[[#Heading]]", "Inbox.md"),
    ("Inbox.md", "[[Missing]]", None),
    ("Inbox.md", "[t](Note.md)", "Archive/Note.md"),
    # the suffix quirk of step 7: plain string suffix across a segment boundary
    ("Inbox.md", "[[rojects/Note]]", "Projects/Note.md"),
]


def reference_resolve(path: str, source: str, files: list[str]) -> str | None:
    """The document's reference implementation of §6.1, verbatim."""
    if path == "":
        return source
    by_name: dict[str, list[str]] = {}
    for f in files:
        by_name.setdefault(posixpath.basename(f).lower(), []).append(f)
    n = path.lower()
    cands = by_name.get(posixpath.basename(n)) if "." in posixpath.basename(n) else None
    if not cands:
        n = (path + ".md").lower()
        cands = by_name.get(posixpath.basename(n))
    if not cands:
        return None
    if "/" not in n and len(cands) == 1:
        return cands[0]
    folder = posixpath.dirname(source).lower()
    if n.startswith(("./", "../")):
        n = posixpath.normpath(posixpath.join(folder, n))
    n = n[1:] if n.startswith("/") else n
    for f in cands:
        if f.lower() == n:
            return f
    if path.startswith("/"):
        return None
    tail = [f for f in cands if f.lower().endswith(n)]
    near = sorted((f for f in tail if f.lower().startswith(folder)), key=len)
    far = sorted((f for f in tail if not f.lower().startswith(folder)), key=len)
    return (near + far or [None])[0]


@pytest.mark.parametrize("source,src,expected", S6_1, ids=[f"{r[0]}:{r[1]}" for r in S6_1])
def test_s6_1_resolution(source, src, expected):
    (link,) = parse_note(source, src.encode()).links
    assert NameIndex(SAMPLE).resolve(link.target, source) == expected
    assert reference_resolve(link.target, source, SAMPLE) == expected


@pytest.mark.parametrize("source,src,expected", S6_1, ids=[f"{r[0]}:{r[1]}" for r in S6_1])
def test_s6_1_resolution_through_resolve_vault(source, src, expected):
    notes = {p: parse_note(p, b"") for p in SAMPLE if p.endswith(".md")}
    notes[source] = parse_note(source, src.encode())
    resolve_vault(notes, SAMPLE)
    (link,) = notes[source].links
    assert link.resolved == expected
    unresolved = [d for d in notes[source].diagnostics if d.code == "VK101"]
    assert len(unresolved) == (expected is None)
    if expected is None:
        assert unresolved[0].line == 1 and unresolved[0].path == source


def test_s6_1_a_leading_slash_picks_the_root_file_without_ambiguity():
    """``[[/Readme]]`` names the vault-root file exactly (step 5); a bare ``[[Readme]]`` reaches it too but
    could mean ``Sub/Readme.md`` as well (VK102)."""
    notes = {p: parse_note(p, b"") for p in SAMPLE if p.endswith(".md")}
    notes["Sub/Page.md"] = parse_note("Sub/Page.md", b"[[/Readme]] [[Readme]]\n")
    resolve_vault(notes, SAMPLE)
    exact, bare = notes["Sub/Page.md"].links
    assert exact.resolved == bare.resolved == "Readme.md"
    assert not exact.ambiguous and bare.ambiguous
    assert len([d for d in notes["Sub/Page.md"].diagnostics if d.code == "VK102"]) == 1


def test_s6_1_bare_link_with_several_candidates_is_ambiguous():
    notes = {p: parse_note(p, b"") for p in SAMPLE if p.endswith(".md")}
    notes["Inbox.md"] = parse_note("Inbox.md", b"x\n[[Note]] [[Projects/Note]] [[Todo]]\n")
    resolve_vault(notes, SAMPLE)
    bare, qualified, unique = notes["Inbox.md"].links
    assert bare.ambiguous and bare.resolved == "Archive/Note.md"
    assert bare.candidates == ("Archive/Note.md", "Old Projects/Note.md", "Projects/Alpha/Sub/Note.md",
                               "Projects/Note.md")
    assert not qualified.ambiguous and not unique.ambiguous
    (diag,) = [d for d in notes["Inbox.md"].diagnostics if d.code == "VK102"]
    assert diag.line == 2 and "Archive/Note.md" in diag.message


def test_s6_1_case_only_duplicates_are_reported():
    files = ["a/Note.md", "a/note.md", "Src.md"]
    notes = {p: parse_note(p, b"") for p in files}
    notes["Src.md"] = parse_note("Src.md", b"[[a/NOTE]]")
    resolve_vault(notes, files)
    (link,) = notes["Src.md"].links
    assert link.resolved in ("a/Note.md", "a/note.md")
    assert link.ambiguous and set(link.candidates) == {"a/Note.md", "a/note.md"}


def test_s6_1_nfc_and_nfd_names_match():
    nfd = unicodedata.normalize("NFD", "Café.md")
    idx = NameIndex([nfd, "Src.md"])
    assert idx.resolve("Caf\u00e9", "Src.md") == nfd
    assert idx.resolve("CAFE\u0301", "Src.md") == nfd


def test_s6_1_matches_reference_on_random_vaults():
    rng = random.Random(8)
    names = ["Note", "Plan", "note", "Read me", "X.v2", "img.png", "Ünï"]
    folders = ["", "A/", "A/B/", "AB/", "B/A/", "Proj/", "Projects/", "A/B/C/"]
    for _ in range(60):
        files = sorted({rng.choice(folders) + rng.choice(names) + ("" if "." in n else ".md")
                        for n in names for _ in range(2)})
        files = sorted({f if "." in f.rsplit("/", 1)[-1] else f + ".md" for f in files})
        idx = NameIndex(files)
        for _ in range(40):
            source = rng.choice(files)
            link = rng.choice(["", "/", "./", "../", "A/", "B/", "jects/", "/A/"]) + rng.choice(
                ["Note", "NOTE.md", "plan", "X.v2", "img.png", "img", "read me", "Missing", "ünï"])
            assert idx.resolve(link, source) == reference_resolve(link, source, files), (link, source, files)


def test_resolve_vault_answers_each_link_as_the_index_does_from_its_own_folder():
    # resolve_vault reuses an answer across notes: per folder, and for a bare name one file (or none)
    # answers, across folders; every link must still get what its own note would get
    rng = random.Random(11)
    names = ["Note", "Plan", "note", "Solo", "X.v2", "img.png", "Ünï", "Only Here"]
    folders = ["", "A/", "A/B/", "AB/", "B/A/", "Proj/"]
    targets = ["Note", "NOTE.md", "plan", "Solo", "solo.md", "X.v2", "img.png", "img", "Missing", "ünï", "Only Here",
               "A/Note", "./Note", "../Plan", "/Solo", "B/A/Note"]
    for _ in range(25):
        files = sorted({rng.choice(folders) + n + ("" if "." in n else ".md") for n in names for _ in range(2)})
        files = sorted({f if "." in f.rsplit("/", 1)[-1] else f + ".md" for f in files})
        md = [f for f in files if f.endswith(".md")]
        notes = {f: parse_note(f, " ".join(f"[[{rng.choice(targets)}]]" for _ in range(12)).encode()) for f in md}
        resolve_vault(notes, files)
        idx = NameIndex(files)
        for f, note in notes.items():
            for link in note.links:
                resolved, cands = idx.resolve_ex(link.target, f)
                assert (link.resolved, link.ambiguous, link.candidates) == (resolved, bool(cands), tuple(sorted(cands))), \
                    (f, link.target, files)


# §6.2 headings: heading lines, link subpath, found?
S6_2 = [
    ("## Hello, World!", "Hello World", True),
    ("## Hello, World!", "hello, world!", True),
    ("## C# tips", "C tips", True),
    ("## C# tips", "C# tips", False),
    ("## Q: what?", "Q what", True),
    ("## Q: what?", "Q what?", True),
    ("## **Bold** [[X]] title", "Bold X title", True),
    ("# A\n## B", "A#B", True),
    ("# A\n## B", "B", True),
    ("## B\n# A", "A#B", False),
    ("> ## Quoted", "Quoted", False),
    ("# A\n### C", "A#C", True),
    ("# A\n# B", "A#B", False),
]


@pytest.mark.parametrize("body,subpath,ok", S6_2, ids=[f"{r[0]}<-{r[1]}" for r in S6_2])
def test_s6_2_heading_subpath(body, subpath, ok):
    target = parse_note("Note.md", body.encode())
    (link,) = parse_note("Src.md", f"[[Note#{subpath}]]".encode()).links
    assert (find_heading(target.headings, link.heading) is not None) is ok
    notes = {"Note.md": target, "Src.md": parse_note("Src.md", f"[[Note#{subpath}]]".encode())}
    resolve_vault(notes, list(notes))
    (resolved_link,) = notes["Src.md"].links
    assert resolved_link.resolved == "Note.md"  # a missing heading still resolves to the file
    assert ("VK103" in [d.code for d in notes["Src.md"].diagnostics]) is (not ok)


def test_s6_2_first_matching_heading_wins():
    hs = [Heading("Dup", 2, 1), Heading("Dup", 2, 5)]
    assert find_heading(hs, "Dup").line == 1
    assert heading_key("  A\u00a0 b  ") == "a b"


def test_s6_2_self_heading_link():
    note = parse_note("Review.md", b"## Summary\n[[#Summary]] [[#Nope]]\n")
    notes = {"Review.md": note}
    resolve_vault(notes, ["Review.md"])
    assert [lk.resolved for lk in note.links] == ["Review.md", "Review.md"]
    assert [(d.code, d.line) for d in note.diagnostics] == [("VK103", 2)]


# §6.4 aliases never resolve links
def test_s6_4_aliases_do_not_resolve():
    files = ["Artificial Intelligence.md", "Src.md"]
    notes = {
        "Artificial Intelligence.md": parse_note("Artificial Intelligence.md", b"---\naliases: [AI]\n---\n"),
        "Src.md": parse_note("Src.md", b"[[AI]] [[Artificial Intelligence|AI]]"),
    }
    resolve_vault(notes, files)
    a, b = notes["Src.md"].links
    assert a.resolved is None and b.resolved == "Artificial Intelligence.md" and b.alias == "AI"
    notes["AI.md"] = parse_note("AI.md", b"")
    notes["Src.md"] = parse_note("Src.md", b"[[AI]]")
    resolve_vault(notes, files + ["AI.md"])
    assert notes["Src.md"].links[0].resolved == "AI.md"


def test_comment_links_resolved_but_not_reported():
    notes = {"Src.md": parse_note("Src.md", b"%%[[Missing]]%%\n")}
    resolve_vault(notes, ["Src.md"])
    assert notes["Src.md"].links[0].in_comment and notes["Src.md"].diagnostics == []


def test_a_name_many_folders_share_gives_short_shared_messages():
    """A bare ``[[Index]]`` while 40 folders each hold an ``Index.md`` (a common layout): every link is
    ambiguous, its candidates are all 40 files, and its VK102 message names the pick and five others, then
    how many more. Links with the same answer share one message and one candidates tuple (a 5,000-note
    vault of 25 such copies held 166 MB of messages listing every other path)."""
    from vaultkit.resolve import AMBIGUOUS_LISTED

    folders = [f"P{i:02d}" for i in range(40)]
    files = [f"{f}/Index.md" for f in folders] + [f"{f}/Work.md" for f in folders]
    notes = {p: parse_note(p, b"") for p in files}
    for f in folders:
        notes[f"{f}/Work.md"] = parse_note(f"{f}/Work.md", b"[[Index]] and [[Index]]\n[[Nowhere]]\n")
    resolve_vault(notes, files)
    links = [link for f in folders for link in notes[f"{f}/Work.md"].links if link.target == "Index"]
    assert all(link.ambiguous and link.candidates == tuple(sorted(f"{f}/Index.md" for f in folders))
               for link in links)
    assert all(link.resolved == f"{link_folder}/Index.md"
               for link_folder, pair in zip(folders, zip(links[::2], links[1::2])) for link in pair)
    first = [d for d in notes["P00/Work.md"].diagnostics if d.code == "VK102"]
    assert len(first) == 2 and first[0].message is first[1].message  # (one str per answer)
    assert first[0].message == ("'Index' matches 40 files; Obsidian picks 'P00/Index.md' (also: P01/Index.md, "
                                "P02/Index.md, P03/Index.md, P04/Index.md, P05/Index.md and 34 more)")
    assert AMBIGUOUS_LISTED == 5
    assert links[0].candidates is links[1].candidates
    unresolved = [d for f in folders for d in notes[f"{f}/Work.md"].diagnostics if d.code == "VK101"]
    assert len(unresolved) == 40 and len({id(d.message) for d in unresolved}) == 1
