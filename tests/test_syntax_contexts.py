"""Syntax document §4: where links and tags are not recognised, example by example."""

from __future__ import annotations

import pytest

from vaultkit.parse import parse_note


def found(text: str):
    """``(links, tags)`` of a note body: links as ``(target, in_comment)``, tags as ``(name, in_comment)``."""
    note = parse_note("N.md", text.encode("utf-8"))
    return (
        [(lk.target, lk.in_comment) for lk in note.links],
        [(t.name, t.in_comment) for t in note.tag_uses],
    )


# input, links, tags  (each as (name, in_comment))
S4 = [
    ("```\n[[A]] #t\n```", [], []),
    ("~~~python\n[[A]]\n~~~", [], []),
    ("    [[A]] #t", [], []),
    ("- item\n\n    [[A]]", [("A", False)], []),
    ("`[[A]]` and `#t`", [], []),
    ("$[[A]]$", [], []),
    ("$$\n[[A]] #t\n$$", [], []),
    ("$5 and [[A]] cost $10", [("A", False)], []),
    ("<!-- [[A]] #t -->", [], []),
    ("<div>\n[[A]]\n</div>", [], []),
    ("<span>[[A]]</span>", [("A", False)], []),
    ("%%[[A]] #t%%", [("A", True)], [("t", True)]),
    ("%%\nhidden [[A]]\n%%\nafter [[B]]", [("A", True), ("B", False)], []),
    ("%%\nnever closed [[A]]\n\n[[B]]", [("A", True), ("B", True)], []),
    ("x %%start\nend%% [[A]]", [("A", False)], []),
    ("https://example.com/p#t", [], []),
    ("[x](https://e.com/[[A]])", [], []),
    ("```dataview\nLIST FROM [[A]]\n```", [], []),
]


@pytest.mark.parametrize("src,links,tags", S4, ids=[r[0] for r in S4])
def test_s4_contexts(src, links, tags):
    assert found(src) == (links, tags)


# More of the same kinds: each context of the §4 table, in other shapes.
MORE = [
    # fences: longer closing fence, fence inside a list item and a quote, unclosed fence runs to the end
    ("````\n```\n[[A]]\n````\n[[B]]", [("B", False)], []),
    ("- item\n  ```\n  [[A]] #t\n  ```\n- [[B]]", [("B", False)], []),
    ("> ```\n> [[A]]\n> ```\n> [[B]]", [("B", False)], []),
    ("```\n[[A]]\n", [], []),
    ("```mermaid\ngraph TD\nA[[Note]]\n%% c\n```", [], []),
    # a backtick fence whose info string holds a backtick is not a fence
    ("``` a`b\n[[A]]", [("A", False)], []),
    # indented code needs a blank line before it when it follows a paragraph
    ("para\n    [[A]]", [("A", False)], []),
    ("para\n\n    [[A]] #t\n\nafter [[B]]", [("B", False)], []),
    ("\t[[A]]", [], []),
    # inline code with longer backtick runs
    ("``a ` [[A]]`` [[B]]", [("B", False)], []),
    ("unclosed `[[A]]", [("A", False)], []),
    # math
    ("$$ [[A]] $$ and [[B]]", [("B", False)], []),
    ("\\$[[A]]$", [("A", False)], []),
    # html comments spanning lines
    ("<!--\n[[A]] #t\n-->\n[[B]]", [("B", False)], []),
    ("text <!-- [[A]] --> [[B]]", [("B", False)], []),
    # raw html block ends at its closing tag
    ("<pre>\n[[A]]\n</pre>\n[[B]]", [("B", False)], []),
    # autolinks and bare urls
    ("<https://e.com/#t> [[B]]", [("B", False)], []),
    ("see www.example.com/#t and http://x.org/a#b", [], []),
    # escapes
    ("\\#t \\[[A]]", [], []),
]


@pytest.mark.parametrize("src,links,tags", MORE, ids=[r[0] for r in MORE])
def test_s4_contexts_more(src, links, tags):
    assert found(src) == (links, tags)


def test_s4_comment_lines_are_file_lines():
    note = parse_note("N.md", b"---\na: 1\n---\nx\n%%\none\n[[A]] #c\n%%\n[[B]]\n")
    assert [(lk.target, lk.line, lk.in_comment) for lk in note.links] == [("A", 7, True), ("B", 9, False)]
    assert [(t.name, t.line) for t in note.tag_uses] == [("c", 7)]
    assert note.comment_tags == ["c"] and note.tags == []
