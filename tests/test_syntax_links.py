"""Syntax document §2 (wikilinks and embeds) and §3 (Markdown links), example by example.

Each row is one ``input → expected`` line of ``../shared/docs/obsidian-markdown.md``.
The vaultkit :class:`~vaultkit.model.Link` stores the document's ``subpath`` split
into ``heading`` (nested parts joined by ``#``) and ``block`` (without ``^``);
:func:`subpath_of` rebuilds the document's form for comparison.
"""

from __future__ import annotations

import pytest

from vaultkit.parse import parse_note
from vaultkit.resolve import NameIndex
from vaultkit.scan import display_text

from .conftest import SHARED, need


def links_of(text: str, path: str = "Note.md"):
    """Every link the parser finds in ``text`` (a whole note)."""
    return parse_note(path, text.encode("utf-8")).links


def one_link(text: str):
    links = links_of(text)
    assert len(links) == 1, [(lk.target, lk.kind) for lk in links]
    return links[0]


def subpath_of(link) -> str:
    """The document's ``subpath``: ``#Heading#Sub`` or ``#^block`` or ``""``."""
    if link.block is not None:
        return "#^" + link.block
    if link.heading is not None:
        return "#" + link.heading
    return ""


def test_syntax_document_is_there():
    text = need(SHARED / "docs" / "obsidian-markdown.md").read_text(encoding="utf-8")
    for section in ("### 2.2 Splitting a wikilink", "### 2.3 Embeds and sizes", "## 3. Markdown links to notes"):
        assert section in text


# §2.2: input, path, subpath, display (None = not stated in the document)
S2_2 = [
    ("[[Target]]", "Target", "", "Target"),
    ("[[Target|Alias]]", "Target", "", "Alias"),
    ("[[ Target | Alias ]]", "Target", "", "Alias"),
    ("[[Target#Heading]]", "Target", "#Heading", "Target > Heading"),
    ("[[Target#Heading#Sub]]", "Target", "#Heading#Sub", "Target > Heading > Sub"),
    ("[[Target#^blockid]]", "Target", "#^blockid", None),
    ("[[#Heading]]", "", "#Heading", "Heading"),
    ("[[#^abc123]]", "", "#^abc123", None),
    ("[[folder/Target]]", "folder/Target", "", None),
    ("[[Target.md]]", "Target.md", "", None),
    ("[[My Note]]", "My Note", "", None),
    ("[[Cafe\u0301]]", "Caf\u00e9", "", None),
    ("[[A|B|C]]", "A", "", "B|C"),
    ("[[Target\\|Alias]]", "Target", "", "Alias"),
    ("[[|Alias]]", "|Alias", "", None),
]


@pytest.mark.parametrize("src,path,subpath,display", S2_2, ids=[r[0] for r in S2_2])
def test_s2_2_wikilink_split(src, path, subpath, display):
    link = one_link(src)
    assert link.kind == "wikilink"
    assert link.target == path
    assert subpath_of(link) == subpath
    if display is not None:
        assert display_text(link) == display


def test_s2_2_wikilink_split_empty_subpath():
    # "[[Note#]] → path "Note", subpath "#"": vaultkit keeps no empty heading part
    # (heading and block both None), which resolves the same way: to the note itself.
    link = one_link("[[Note#]]")
    assert (link.target, link.heading, link.block) == ("Note", None, None)
    assert display_text(link) == "Note"


def test_s2_2_unsplit_alias_is_unresolved():
    link = one_link("[[|Alias]]")
    assert NameIndex(["Alias.md", "Note.md"]).resolve(link.target, "Note.md") is None


@pytest.mark.parametrize("src", ["[[]]", "[[a\nb]]", "\\[[A]]"], ids=["empty", "newline", "escaped"])
def test_s2_2_not_a_link(src):
    assert links_of(src) == []


def test_s2_2_nested_open_brackets_give_the_inner_link():
    assert [lk.target for lk in links_of("[[A [[B]]]]")] == ["B"]


def test_s2_1_first_closing_brackets_end_the_link():
    assert [lk.target for lk in links_of("[[A]]]] and [[B]]")] == ["A", "B"]


@pytest.mark.parametrize(
    "src",
    [
        "# Heading [[A]]",
        "- item [[A]]",
        "> quote [[A]]",
        "> [!note]\n> callout [[A]]",
        "| h |\n|---|\n| [[A]] |",
        "Text[^1]\n\n[^1]: note [[A]]",
        "==[[A]]==",
        "*[[A]]* and **[[A]]**",
    ],
    ids=["heading", "list", "quote", "callout", "table", "footnote", "highlight", "emphasis"],
)
def test_s2_1_recognised_in_inline_contexts(src):
    links = links_of(src)
    assert links and all(lk.target == "A" for lk in links)


# §2.3: input, path, subpath, alt, width, height
S2_3 = [
    ("![[Note]]", "Note", "", "Note", None, None),
    ("![[Note#Heading]]", "Note", "#Heading", None, None, None),
    ("![[Note#^id]]", "Note", "#^id", None, None, None),
    ("![[img.png]]", "img.png", "", "img.png", None, None),
    ("![[img.png|100]]", "img.png", "", "img.png", 100, None),
    ("![[img.png|100x200]]", "img.png", "", "img.png", 100, 200),
    ("![[img.png| 100 x 200 ]]", "img.png", "", "img.png", 100, 200),
    ("![[img.png|Caption|300]]", "img.png", "", "Caption", 300, None),
    ("![[img.png|Caption]]", "img.png", "", "Caption", None, None),
    ("![[img.png|100x]]", "img.png", "", "100x", None, None),
    ("![[img.png|100x0]]", "img.png", "", "img.png", 100, None),
    ("![[doc.pdf#page=3]]", "doc.pdf", "#page=3", None, None, None),
    ("![[doc.pdf#height=400]]", "doc.pdf", "#height=400", None, None, None),
    ("![[board.canvas]]", "board.canvas", "", None, None, None),
]


@pytest.mark.parametrize("src,path,subpath,alt,width,height", S2_3, ids=[r[0] for r in S2_3])
def test_s2_3_embeds(src, path, subpath, alt, width, height):
    # The PDF viewer parameters (#page=3, #height=400) are kept as the raw subpath;
    # vaultkit does not interpret them (they matter to the viewer only).
    link = one_link(src)
    assert link.kind == "embed"
    assert link.target == path
    assert subpath_of(link) == subpath
    assert (link.width, link.height) == (width, height)
    if alt is not None:
        assert display_text(link) == alt


def test_s2_3_escaped_bang_is_a_plain_link():
    link = one_link("\\![[img.png]]")
    assert (link.kind, link.target) == ("wikilink", "img.png")


# §2.4 tables: rows wrapped in a real table (header + delimiter row)
def test_s2_4_escaped_pipe_alias_in_table():
    note = parse_note("T.md", b"| a | b |\n|---|---|\n| a | [[Target\\|Alias]] |\n")
    (link,) = note.links
    assert (link.target, link.alias, display_text(link)) == ("Target", "Alias", "Alias")
    assert note.tables[0].rows[0].cells == ["a", "[[Target\\|Alias]]"]
    assert link.line == 3


def test_s2_4_escaped_pipe_size_in_table():
    note = parse_note("T.md", b"| a | b |\n|---|---|\n| a | ![[img.png\\|200]] |\n")
    (link,) = note.links
    assert (link.kind, link.target, link.width) == ("embed", "img.png", 200)


def test_s2_4_unescaped_pipe_splits_the_cell():
    note = parse_note("T.md", b"| a | b | c |\n|---|---|---|\n| a | [[Target|Alias]] |\n")
    assert note.links == []
    assert note.tables[0].rows[0].cells == ["a", "[[Target", "Alias]]"]


# §2.5 links to non-Markdown files
S2_5_FILES = ["Note.md", "Figure 1.png", "Board.canvas", "Tasks.base", "report.docx"]
S2_5 = [
    ("[[Figure 1.png]]", "Figure 1.png"),
    ("[[Figure 1]]", None),
    ("[[Board.canvas]]", "Board.canvas"),
    ("[[Tasks.base]]", "Tasks.base"),
    ("[[report.docx]]", "report.docx"),
]


@pytest.mark.parametrize("src,resolved", S2_5, ids=[r[0] for r in S2_5])
def test_s2_5_non_markdown_targets(src, resolved):
    link = one_link(src)
    assert NameIndex(S2_5_FILES).resolve(link.target, "Note.md") == resolved


# §2.6 spaces, Unicode, awkward characters
S2_6 = [
    ("[[C# notes]]", "C", "# notes"),
    ("[[Q: what?]]", "Q: what?", ""),
    ("[[a\u00a0b]]", "a b", ""),
    ("[[  spaced  ]]", "spaced", ""),
]


@pytest.mark.parametrize("src,path,subpath", S2_6, ids=[r[0] for r in S2_6])
def test_s2_6_awkward_characters(src, path, subpath):
    link = one_link(src)
    assert link.target == path
    assert subpath_of(link) == subpath


def test_s2_6_hash_file_is_unreachable():
    link = one_link("[[C# notes]]")
    assert NameIndex(["C# notes.md", "Note.md"]).resolve(link.target, "Note.md") is None


# §3 Markdown links: input, kind ("internal"/None), path, subpath, embed, display/alt, width
S3 = [
    ("[t](Target.md)", "Target.md", "", False, "t", None),
    ("[t](Target)", "Target", "", False, "t", None),
    ("[t](<Target with spaces.md>)", "Target with spaces.md", "", False, "t", None),
    ("[t](Target%20with%20spaces.md)", "Target with spaces.md", "", False, "t", None),
    ("[t](../Folder/Target.md)", "../Folder/Target.md", "", False, "t", None),
    ("[t](Folder/Target.md#Some%20Head)", "Folder/Target.md", "#Some Head", False, "t", None),
    ("[t](Target.md%23Head)", "Target.md%23Head", "", False, "t", None),
    ("[t](50%25.md)", "50%.md", "", False, "t", None),
    ("![alt](img.png)", "img.png", "", True, "alt", None),
    ("![alt|200](img.png)", "img.png", "", True, "alt", 200),
]


@pytest.mark.parametrize("src,path,subpath,embed,display,width", S3, ids=[r[0] for r in S3])
def test_s3_markdown_links(src, path, subpath, embed, display, width):
    link = one_link(src)
    assert link.kind == "markdown"
    assert link.target == path
    assert subpath_of(link) == subpath
    assert link.embed is embed
    assert display_text(link) == display
    assert link.width == width


@pytest.mark.parametrize(
    "src",
    [
        "[t](Target with spaces.md)",
        "[t](bad%E0%A4%A.md)",
        "![250](https://example.com/a.png)",
        "[t](https://example.com/a#b)",
        "[t](mailto:x@example.com)",
        "[t](obsidian://open?vault=V&file=Folder%2FNote)",
        "[t][ref]\n\n[ref]: Note.md",
    ],
    ids=["spaces", "malformed-escape", "external-image", "https", "mailto", "obsidian-uri", "reference"],
)
def test_s3_not_internal(src):
    note = parse_note("N.md", src.encode())
    assert note.links == []
    assert note.tags == []  # "#b" in a URL is no tag


def test_s3_relative_markdown_link_resolves_from_source_folder():
    files = ["Folder/Target.md", "Other/Folder/Target.md", "Other/Sub/Src.md"]
    link = one_link("[t](../Folder/Target.md)")
    assert NameIndex(files).resolve(link.target, "Other/Sub/Src.md") == "Other/Folder/Target.md"


def test_s3_markdown_link_resolves_vault_wide_by_name():
    link = one_link("[t](Note.md)")
    files = ["Inbox.md", "Projects/Note.md", "Archive/Note.md"]
    assert NameIndex(files).resolve(link.target, "Inbox.md") == "Archive/Note.md"


def test_s3_markdown_link_with_title_and_parentheses():
    link = one_link('[t](Some(1).md "a title")')
    assert link.target == "Some(1).md"


def test_line_numbers_are_file_lines():
    note = parse_note("N.md", b"---\na: 1\n---\nfirst\n\nsecond [[A]]\n- item [[B]]\n> q [t](C.md)\n")
    assert [(lk.target, lk.line) for lk in note.links] == [("A", 6), ("B", 7), ("C.md", 8)]


# §3 rule 1 [unc]: "treat a leading / as a vault-absolute path and #frag as the same note"
S3_RULE1 = [
    ("[t](#Heading)", "Src/Page.md", "Src/Page.md"),
    ("[t](/Folder/Target.md)", "Src/Page.md", "Folder/Target.md"),
    ("[t](/Target.md)", "Src/Page.md", None),
    ("[t](./Target.md)", "Folder/Page.md", "Folder/Target.md"),
    ("[t](Target.md%23Head)", "Src/Page.md", None),
]


@pytest.mark.parametrize("src,source,resolved", S3_RULE1, ids=[r[0] for r in S3_RULE1])
def test_s3_absolute_and_fragment_destinations(src, source, resolved):
    files = ["Folder/Target.md", "Other/Target.md", "Src/Page.md", "Folder/Page.md"]
    link = one_link(src)
    assert NameIndex(files).resolve(link.target, source) == resolved


@pytest.mark.parametrize(
    "src,where",
    [
        ("- [[A]]", [(1, 3)]),
        ("  - x [[A]]", [(1, 7)]),
        ("> - [[A]]", [(1, 5)]),
        ("x\n  [[A]]", [(2, 3)]),
        ("| a | [[A]] |\n|---|---|\n| [[B]] | c [[C]] |", [(1, 7), (3, 3), (3, 13)]),
        ("> | a | [[A]] |\n> |---|---|\n> | [[B]] | c |", [(1, 9), (3, 5)]),
    ],
)
def test_link_line_and_column(src, where):
    assert [(lk.line, lk.col) for lk in links_of(src)] == where
