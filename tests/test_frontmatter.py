"""Syntax document §1: frontmatter, YAML 1.2 core values, tags, aliases and property links.

vaultkit keeps ``Note.frontmatter`` as ``None`` (not ``{}``) when the block is
invalid or not a mapping, with ``frontmatter_error`` saying why; the document's
``frontmatter_valid=False, properties {}`` maps to that pair.
"""

from __future__ import annotations

import math

import pytest

from vaultkit.frontmatter import load_yaml, split_frontmatter
from vaultkit.parse import decode_note, parse_note


def parse(text: str | bytes, path: str = "N.md"):
    return parse_note(path, text if isinstance(text, bytes) else text.encode("utf-8"))


def codes(note) -> list[str]:
    return sorted(d.code for d in note.diagnostics)


# §1.1 where a frontmatter block is: input, frontmatter, first body link target
S1_1 = [
    ("---\ntitle: A\n---\nBody [[B]]", {"title": "A"}),
    ("\ufeff---\ntitle: A\n---\nBody [[B]]", {"title": "A"}),
    ("---\r\ntitle: A\r\n---\r\nBody [[B]]", {"title": "A"}),
    ("---\rtitle: A\r---\rBody [[B]]", {"title": "A"}),
    ("---\n---\nBody [[B]]", {}),
    ('---\n{"tags": ["journal"]}\n---\nBody [[B]]', {"tags": ["journal"]}),
]


@pytest.mark.parametrize("src,fm", S1_1, ids=[repr(r[0]) for r in S1_1])
def test_s1_1_frontmatter_found(src, fm):
    note = parse(src)
    assert note.frontmatter == fm
    assert note.frontmatter_error is None
    (link,) = note.links
    assert (link.target, link.line) == ("B", 4 if fm != {} else 3)


@pytest.mark.parametrize(
    "src",
    ["\n---\ntitle: A\n---\n", "--- \ntitle: A\n---\n", "---\ntitle: A\n...\nBody", "----\ntitle: A\n---\n",
     " ---\ntitle: A\n---\n", "---"],
    ids=["blank-first", "trailing-space", "never-closed", "four-dashes", "indented", "lone-dashes"],
)
def test_s1_1_no_frontmatter(src):
    note = parse(src)
    assert note.frontmatter is None and note.frontmatter_error is None
    assert note.body_line == 1


def test_s1_1_blank_first_line_gives_setext_heading():
    note = parse("\n---\ntitle: A\n---\n")
    assert [(h.text, h.level, h.line) for h in note.headings] == [("title: A", 2, 3)]


def test_s1_1_closing_line_with_trailing_text():
    note = parse("---\na: 1\n--- trailing [[X]]\nBody")
    assert note.frontmatter == {"a": 1}
    assert split_frontmatter("---\na: 1\n--- trailing\nBody").body == " trailing\nBody"
    assert codes(note) == ["VK007"]
    assert [(lk.target, lk.line) for lk in note.links] == [("X", 3)]


def test_s1_1_dashes_in_block_scalar_do_not_close():
    note = parse("---\nsummary: |\n  a\n  ---\n  b\nowner: team\n---\n")
    assert note.frontmatter == {"summary": "a\n---\nb\n", "owner": "team"}


def test_s1_1_bom_and_crlf_recorded():
    text, enc, bom, problem = decode_note(b"\xef\xbb\xbf---\r\na: 1\r\n---\r\n")
    assert (text, enc, bom, problem) == ("---\na: 1\n---\n", "utf-8", True, None)
    note = parse(b"\xef\xbb\xbf---\r\ntype: list\r\n---\r\n")
    assert note.bom and note.newline == "\r\n" and list(note.frontmatter) == ["type"]


# §1.2 non-mapping, invalid and duplicate-key YAML: input, diagnostic code, error line, column
S1_2 = [
    ("---\n- a\n- b\n---\nBody", "VK002", 2, 0),
    ("---\njust text\n---\nBody", "VK002", 2, 0),
    ("---\ntitle: [unclosed\n---\n", "VK001", 3, 1),
    ("---\na: 1\na: 2\n---\n", "VK003", 3, 1),
    ("---\ntitle: Note: subtitle\n---\n", "VK001", 2, 12),
]


@pytest.mark.parametrize("src,code,line,col", S1_2, ids=[repr(r[0]) for r in S1_2])
def test_s1_2_invalid_frontmatter(src, code, line, col):
    note = parse(src + "[[Body]] #bodytag")
    assert note.frontmatter is None
    assert note.frontmatter_error
    diag = next(d for d in note.diagnostics if d.code == code)
    assert (diag.path, diag.line, diag.col) == ("N.md", line, col)
    assert diag.severity == "error"
    # the block is still frontmatter: not body text; the body is still parsed
    assert [lk.target for lk in note.links] == ["Body"]
    assert note.tags == ["bodytag"]


def test_s1_2_invalid_block_gives_no_tags_or_links():
    note = parse("---\ntags: [course]\ntitle: Homework 1: maps\nup: '[[X]]'\n---\n#hw\n")
    assert note.frontmatter is None and note.tags == ["hw"] and note.links == []


def test_s1_2_duplicate_key_message_names_the_key():
    note = parse("---\ntags: [a]\nother: 1\ntags: [b]\n---\n")
    (diag,) = note.diagnostics
    assert diag.code == "VK003" and "tags" in diag.message and diag.line == 4


# §1.3 YAML 1.2 core schema
S1_3 = [
    ("d: 2025-09-07", "2025-09-07"),
    ("d: 2025-09-07 00:12:21", "2025-09-07 00:12:21"),
    ("d: 2025-09-07T10:30:00", "2025-09-07T10:30:00"),
    ("d: yes", "yes"),
    ("d: no", "no"),
    ("d: on", "on"),
    ("d: off", "off"),
    ("d: Yes", "Yes"),
    ("d: true", True),
    ("d: True", True),
    ("d: TRUE", True),
    ("d: false", False),
    ("d: 010", 10),
    ("d: 0o10", 8),
    ("d: 0x1F", 31),
    ("d: 1_000", "1_000"),
    ("d: 12:30:00", "12:30:00"),
    ("d: 1e3", 1000.0),
    ("d: -1.5", -1.5),
    ("d: .inf", math.inf),
    ("d:", None),
    ("d: ~", None),
    ("d: null", None),
    ("d: #foo", None),
    ("d: [[Note]]", [["Note"]]),
]


@pytest.mark.parametrize("src,value", S1_3, ids=[r[0] for r in S1_3])
def test_s1_3_yaml_core_schema(src, value):
    result = load_yaml(src)
    assert result.error is None
    got = result.data["d"]
    assert got == value and type(got) is type(value)


def test_s1_3_nan():
    assert math.isnan(load_yaml("d: .nan").data["d"])


def test_s1_3_dates_stay_strings_in_json():
    note = parse("---\ncreated: 2024-05-01\nupdated: 2024-05-01T09:30:00\nauthor:\n---\n")
    assert note.to_dict()["frontmatter"] == {"created": "2024-05-01", "updated": "2024-05-01T09:30:00",
                                             "author": None}


# §1.6 tags in frontmatter: YAML, tags (without '#')
S1_6 = [
    ("tags:\n  - project\n  - idea/sub", ["idea/sub", "project"]),
    ('tags: [project, "#idea"]', ["idea", "project"]),
    ("tags: project", ["project"]),
    ("tags: project, idea", []),
    ("tags: project,idea", []),
    ("tags: #project", []),
    ("tags: [2024, y2024]", ["y2024"]),
    ('tags: ["my tag"]', []),
    ("Tags: [a]", ["a"]),
    ("tag: a", []),
    ("tags: [Yes, no, true]", ["no", "Yes"]),
    ("tags:\n  - null\n  - reading", ["reading"]),
    ("tags: null", []),
]


@pytest.mark.parametrize("src,tags", S1_6, ids=[r[0] for r in S1_6])
def test_s1_6_frontmatter_tags(src, tags):
    note = parse(f"---\n{src}\n---\n")
    assert note.frontmatter_error is None
    assert note.tags == tags
    assert all(t.source == "frontmatter" for t in note.tag_uses)


@pytest.mark.parametrize(
    "src,code",
    [("tags: project, idea", "VK202"), ("tags: project,idea", "VK202"), ('tags: ["my tag"]', "VK202"),
     ("tag: a", "VK204"), ("tags: solo", "VK205"), ("tags: [2024]", "VK202")],
)
def test_s1_6_frontmatter_tags_reported(src, code):
    note = parse(f"---\n{src}\n---\n")
    assert code in codes(note)
    assert all(d.line == 2 for d in note.diagnostics if d.code == code)


def test_s1_6_tag_yes_stays_text():
    note = parse("---\ntags:\n  - Yes\n  - On\n---\n")
    assert note.frontmatter == {"tags": ["Yes", "On"]}
    assert note.tags == ["On", "Yes"]
    assert [(t.name, t.line) for t in note.tag_uses] == [("Yes", 3), ("On", 4)]


def test_s1_6_multi_line_tag_item_reported():
    note = parse("---\ntags:\n  - alpha\n  - beta\n    gamma\n---\n")
    assert note.frontmatter == {"tags": ["alpha", "beta gamma"]}
    assert note.tags == ["alpha"]
    (diag,) = [d for d in note.diagnostics if d.code == "VK203"]
    assert diag.line == 4


# §1.7 aliases
S1_7 = [
    ("aliases:\n  - AI\n  - Artificial Intelligence", ["AI", "Artificial Intelligence"]),
    ("aliases: AI", ["AI"]),
    ("aliases: AI, ML", ["AI, ML"]),
    ("aliases: [2024]", []),
    ("alias: AI", []),
    ("Aliases: [x]", ["x"]),
]


@pytest.mark.parametrize("src,aliases", S1_7, ids=[r[0] for r in S1_7])
def test_s1_7_aliases(src, aliases):
    note = parse(f"---\n{src}\n---\n")
    assert note.aliases == aliases
    assert note.links == []


# §1.8 links inside frontmatter: YAML, [(target, alias, key, line)]
S1_8 = [
    ('up: "[[Parent]]"', [("Parent", None, "up", 2)]),
    ('related:\n  - "[[A]]"\n  - "[[B|Bee]]"', [("A", None, "related.0", 3), ("B", "Bee", "related.1", 4)]),
    ('nested:\n  k: "[[A]]"', [("A", None, "nested.k", 3)]),
    ("up: [[Parent]]", []),
    ('note: "see [[A]]"', []),
    ('img: "![[pic.png]]"', []),
    ('src: "[A](A.md)"', []),
    ("desc: text with #tag", []),
    ('up: "[[Parent#Sec|P]]"', [("Parent", "P", "up", 2)]),
]


@pytest.mark.parametrize("src,links", S1_8, ids=[r[0] for r in S1_8])
def test_s1_8_frontmatter_links(src, links):
    note = parse(f"---\n{src}\n---\n")
    assert note.frontmatter_error is None
    assert [(lk.target, lk.alias, lk.key, lk.line) for lk in note.links] == links
    assert all(lk.kind == "frontmatter" for lk in note.links)
    assert note.tags == []


def test_s1_8_prose_property_links_are_not_links():
    note = parse('---\nFeedbackLoop: "It feeds [[A]] and [[B|b]] back"\n---\nbody [[C]]\n')
    assert [(lk.target, lk.kind) for lk in note.links] == [("C", "wikilink")]


def test_s1_5_legacy_keys_reported():
    note = parse("---\ntag: a\nalias: b\ncssclass: c\n---\n")
    assert codes(note) == ["VK204", "VK204", "VK204"]
    assert [d.line for d in sorted(note.diagnostics, key=lambda d: d.line)] == [2, 3, 4]
    assert note.tags == [] and note.aliases == []


def test_non_utf8_note_is_parsed_and_reported():
    data = "---\ntags: [x]\n---\nCaf\u00e9 [[Agenda]] #imported\n".encode("cp1252")
    note = parse(data, "Imported/Old.md")
    assert note.tags == ["imported", "x"]
    assert [lk.target for lk in note.links] == ["Agenda"]
    (diag,) = [d for d in note.diagnostics if d.code == "VK004"]
    assert diag.path == "Imported/Old.md" and diag.line == 4


@pytest.mark.parametrize("data", [b"", b"---\n", b"---\n---", b"\xef\xbb\xbf", b"\r", b"---\r\n---\r\n"])
def test_degenerate_files(data):
    note = parse(data)
    assert note.links == [] and note.tag_uses == []


# §1.4: the parser's share is the raw value; the typed reading against .obsidian/types.json
# (date, checkbox, datetime) is the VK207 lint rule's (vaultkit.rules.properties), not the parser's.
S1_4 = [
    ("due: 2025-09-07", "2025-09-07"),
    ("due: 07/09/2025", "07/09/2025"),
    ("done: yes", "yes"),
    ("time: 2025-09-07 00:12:21", "2025-09-07 00:12:21"),
    ("year: 1977", 1977),
    ("pi: 3.14", 3.14),
    ("favorite: true", True),
]


@pytest.mark.parametrize("src,raw", S1_4, ids=[r[0] for r in S1_4])
def test_s1_4_raw_property_values(src, raw):
    note = parse(f"---\n{src}\n---\n")
    (value,) = note.frontmatter.values()
    assert value == raw and type(value) is type(raw)


def test_s1_4_nested_mappings_and_markdown_values_are_parsed():
    note = parse('---\nmeta:\n  a: 1\n  b: [x, y]\ndesc: "**bold** [[not a link]] #nottag"\n---\n')
    assert note.frontmatter == {"meta": {"a": 1, "b": ["x", "y"]}, "desc": "**bold** [[not a link]] #nottag"}
    assert note.links == [] and note.tags == []


def test_an_integer_too_long_to_print_is_kept_as_its_text(tmp_path) -> None:
    """``title: 0xfff…`` (4,000 digits) made lint stop with an internal error and show print a traceback
    (helper's report): Python cannot write such an int as decimal text."""
    import json

    from click.testing import CliRunner

    from vaultkit.cli import cli

    huge_hex, huge_dec = "0x" + "f" * 4000, "1" + "0" * 5000
    (tmp_path / "s.md").write_text(f"---\ntitle: {huge_hex}\nn: {huge_dec}\nalias: [&a {huge_hex}, *a]\n---\n",
                                   encoding="utf-8")
    assert load_yaml(f"a: {huge_hex}\nb: {huge_dec}\nc: 0x1f").data == {"a": huge_hex, "b": huge_dec, "c": 31}
    linted = CliRunner().invoke(cli, ["lint", str(tmp_path), "--format", "json"])
    assert linted.exit_code in (0, 1) and json.loads(linted.output)["summary"]["checked"] == 1, linted.output[-500:]
    shown = CliRunner().invoke(cli, ["show", str(tmp_path), "--format", "json"])
    assert shown.exit_code == 0 and json.loads(shown.output)["notes"][0]["frontmatter"]["title"] == huge_hex


def test_property_names_are_the_keys_text() -> None:
    """``1:`` and ``true:`` are two properties (Python took them for one key: a duplicate, and every property
    of the note was dropped; helper's report); ``1:`` and ``"1":`` are one name twice, as in Obsidian."""
    assert load_yaml("1: x\ntrue: y\n1.0: z\nnull: n\ntags: [keep]").data == {
        "1": "x", "true": "y", "1.0": "z", "null": "n", "tags": ["keep"]}
    assert load_yaml('1: x\n"1": y').error_kind == "duplicate"
    assert load_yaml("a: &v 1\nb: *v\n2: two").data == {"a": 1, "b": 1, "2": "two"}  # (the full loader too)
