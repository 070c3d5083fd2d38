"""Syntax document §5 (tags), example by example, plus the grammar's edges."""

from __future__ import annotations

import pytest

from vaultkit.parse import parse_note
from vaultkit.scan import find_tags, implied_tags, is_valid_tag


def body_tags(text: str) -> list[str]:
    """Inline tags of a note body, with ``#``, in order."""
    note = parse_note("N.md", text.encode("utf-8"))
    return ["#" + t.name for t in note.tag_uses if t.source == "body"]


S5_1 = [
    ("#tag", ["#tag"]),
    ("#Tag/Sub-Part_2", ["#Tag/Sub-Part_2"]),
    ("x #tag.", ["#tag"]),
    ("#tag,next", ["#tag"]),
    ("#tag's", ["#tag"]),
    ("#c++", ["#c"]),
    ("#a=b", ["#a"]),
    ("#a#b", ["#a", "#b"]),
    ("word#tag", []),
    ("(#tag)", []),
    ("#1984", []),
    ("#y1984", ["#y1984"]),
    ("#2024/q3", ["#2024/q3"]),
    ("#日本語", ["#日本語"]),
    ("#é", ["#é"]),
    ("#🚀launch", ["#🚀launch"]),
    ("#👩\u200d💻dev", ["#👩"]),
    ("#foo\u00a0bar", ["#foo"]),
    ("# Heading", []),
    ("## Heading #t", ["#t"]),
    ("\\#notatag", []),
    ("#Tag and #tag", ["#Tag", "#tag"]),
    ("#a/b/c", ["#a/b/c"]),
]


@pytest.mark.parametrize("src,tags", S5_1, ids=[r[0] for r in S5_1])
def test_s5_1_tags(src, tags):
    assert body_tags(src) == tags


def test_s5_1_tags_compare_casefolded():
    note = parse_note("N.md", "#Tag and #tag".encode())
    assert len(note.tag_uses) == 2
    assert note.tags == ["Tag"]  # one tag, spelled as first written
    assert {t.name.casefold() for t in note.tag_uses} == {"tag"}


def test_s5_1_nested_tag_implies_parents():
    assert implied_tags("a/b/c") == ["a", "a/b"]
    assert implied_tags("solo") == []


# "the check happens where inline parsing resumes": a tag may follow another inline element
AFTER_INLINE = [
    ("**bold**#t", ["#t"]),
    ("*em*#t", ["#t"]),
    ("==hi==#t", ["#t"]),
    ("**#t**", ["#t"]),
    ("[[A]]#t", ["#t"]),
    ("`code`#t", ["#t"]),
    ("[x](y.md)#t", ["#t"]),
    ("a*#t", []),
    ("snake_#t", []),
    ("x,#tag", []),
    ("#-", ["#-"]),
    ("#_", ["#_"]),
    ("#a//b", ["#a//b"]),
    ("#a/", ["#a/"]),
    ("#\ufefftag", []),
    ("x\u2003#t", ["#t"]),
    ("#tag\u2026more", ["#tag"]),
    ("#2024", []),
    ("#1/2", []),
    ("#а_б", ["#а_б"]),
]


@pytest.mark.parametrize("src,tags", AFTER_INLINE, ids=[r[0] for r in AFTER_INLINE])
def test_s5_1_tag_edges(src, tags):
    assert body_tags(src) == tags


@pytest.mark.parametrize(
    "name,ok",
    [("tag", True), ("1984", False), ("y1984", True), ("a b", False), ("a,b", False), ("", False),
     ("2024/q3", True), ("a\u200db", False), ("Yes", True)],
)
def test_s5_1_is_valid_tag(name, ok):
    assert is_valid_tag(name) is ok


def test_s5_1_find_tags_offsets():
    assert find_tags("x #a y #b") == [("a", 2), ("b", 7)]


def test_s5_1_tag_lines_and_headings():
    note = parse_note("N.md", b"---\ntags: [fm]\n---\n# Title #h\ntext #b\n")
    assert [(t.name, t.line, t.source) for t in note.tag_uses] == [("fm", 2, "frontmatter"), ("h", 4, "body"),
                                                                    ("b", 5, "body")]
    assert [h.text for h in note.headings] == ["Title #h"]
