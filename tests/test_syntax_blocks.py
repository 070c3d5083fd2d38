"""Syntax document §7.1 (block ids), §7.3 (highlights) and §7.4 (footnotes): what the parser extracts.

Callouts (§7.2) and Dataview fields (§7.5) are not parsed into the model here;
only the links and tags inside them count (checked in test_syntax_links).
"""

from __future__ import annotations

import pytest

from vaultkit.model import Heading
from vaultkit.parse import parse_note
from vaultkit.resolve import resolve_vault


def note_of(text: str, path: str = "N.md"):
    return parse_note(path, text.encode("utf-8"))


# input, [(id, line)]
S7_1 = [
    ("Some text ^abc-1", [("abc-1", 1)]),
    ("Some text ^abc_1", []),
    ("Some text^abc", []),
    ("Line one ^abc\nline two", []),
    ("- item ^li1\n- other", [("li1", 1)]),
    ("> quote\n\n^q1\n", [("q1", 3)]),
    ("| a |\n|---|\n| b |\n\n^t1", [("t1", 5)]),
]


@pytest.mark.parametrize("src,ids", S7_1, ids=[r[0] for r in S7_1])
def test_s7_1_block_ids(src, ids):
    assert [(b.id, b.line) for b in note_of(src).block_ids] == ids


def test_s7_1_block_id_is_no_tag_and_no_link():
    note = note_of("Some text ^abc-1\n- item ^li1\n")
    assert note.tag_uses == [] and note.links == []


def test_s7_1_multiline_paragraph_id_on_last_line():
    note = note_of("one\ntwo ^end\n\nthree")
    assert [(b.id, b.line) for b in note.block_ids] == [("end", 2)]


def test_s7_1_block_id_in_code_is_no_id():
    assert note_of("```\nx ^abc\n```\n    y ^def\n").block_ids == []


def test_s7_1_block_link_matches_case_insensitively():
    target = note_of("Some text ^abc-1\n", "Note.md")
    src = note_of("[[Note#^ABC-1]] [[Note#^nope]]", "Src.md")
    notes = {"Note.md": target, "Src.md": src}
    resolve_vault(notes, list(notes))
    assert [lk.resolved for lk in src.links] == ["Note.md", "Note.md"]
    assert [d.code for d in src.diagnostics] == ["VK104"]
    assert "nope" in src.diagnostics[0].message


# §7.3 highlights: the highlight itself is not modelled; its links and tags are
S7_3 = [
    ("==hi==", [], []),
    ("== hi==", [], []),
    ("==hi ==", [], []),
    ("==[[A]] #t==", ["A"], ["t"]),
]


@pytest.mark.parametrize("src,links,tags", S7_3, ids=[r[0] for r in S7_3])
def test_s7_3_highlights(src, links, tags):
    note = note_of(src)
    assert [lk.target for lk in note.links] == links
    assert [t.name for t in note.tag_uses] == tags


# §7.4 footnotes: links and tags inside definitions and inline footnotes count
S7_4 = [
    ("Text[^1]\n\n[^1]: See [[A]]", ["A"], 3),
    ("[^my note]: x [[A]]", ["A"], 1),
    ("Text^[inline [[A]]]", ["A"], 1),
    ("Text[^n]\n\n[^n]: first\n    more #t and [[B]]", ["B"], 4),
]


@pytest.mark.parametrize("src,links,line", S7_4, ids=[r[0] for r in S7_4])
def test_s7_4_footnotes(src, links, line):
    note = note_of(src)
    assert [lk.target for lk in note.links] == links
    assert note.links[0].line == line


def test_s7_4_footnote_reference_is_no_link():
    note = note_of("Text[^1] and [^note]\n")
    assert note.links == [] and note.tag_uses == []


def test_s6_2_quoted_heading_is_not_top_level():
    note = note_of("> ## Quoted\n- ## In list\n## Top\n")
    assert [(h.text, h.top_level) for h in note.headings] == [("Quoted", False), ("In list", False),
                                                             ("Top", True)]
    assert all(isinstance(h, Heading) for h in note.headings)
