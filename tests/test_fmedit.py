"""Frontmatter edits to a user's note keep every other byte (case 011)."""

from __future__ import annotations

import datetime as dt
import difflib
import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.conftest import CASES, need
from vaultkit.fmedit import FrontmatterEditError, delete_property, edit_frontmatter, render_scalar, set_property
from vaultkit.frontmatter import load_yaml, split_frontmatter
from vaultkit.parse import parse_note
from vaultkit.writer import WriteMode, replace_user_file

CASE = CASES / "011-frontmatter-update-keeps-user-formatting"


def changed_lines(a: str, b: str) -> tuple[list[str], list[str]]:
    minus, plus = [], []
    for line in difflib.ndiff(a.splitlines(keepends=True), b.splitlines(keepends=True)):
        if line.startswith("- "):
            minus.append(line[2:])
        elif line.startswith("+ "):
            plus.append(line[2:])
    return minus, plus


def fm(text: str):
    return load_yaml(split_frontmatter(text.lstrip("\ufeff").replace("\r\n", "\n")).yaml).data


def test_case_011_only_the_modified_line_changes(tmp_path):
    src = need(CASE / "vault" / "Lentil soup.md")
    pantry = need(CASE / "vault" / "Pantry.md").read_bytes()
    vault = tmp_path / "v"
    vault.mkdir()
    (vault / "Lentil soup.md").write_bytes(src.read_bytes())
    (vault / "Pantry.md").write_bytes(pantry)
    original = src.read_bytes().decode("utf-8")
    new = set_property(original, "modified", "2024-01-22")
    minus, plus = changed_lines(original, new)
    assert minus == ["modified: 2024-01-21\n"] and plus == ["modified: 2024-01-22\n"]
    # every must_not of the case, asserted directly
    assert "# fields below are filled by hand\n" in new and "# source: old-recipe-site\n" in new
    assert "aliases: [Soup, Dal]\n" in new and 'title: "Lentil soup"\n' in new
    assert [ln.split(":")[0] for ln in new.splitlines()[1:7]] == [
        "# fields below are filled by hand", "title", "aliases", "rating", "# source", "modified"]
    assert new.endswith("---\nNeeds the spices from the [[Pantry]].\n")
    assert fm(new) == {"title": "Lentil soup", "aliases": ["Soup", "Dal"], "rating": 4, "modified": "2024-01-22"}
    # written through the safe writer: one line differs on disk, Pantry untouched
    h = hashlib.sha256(src.read_bytes()).hexdigest()
    out = replace_user_file(vault, "Lentil soup.md", new, h, WriteMode.DIFF)
    assert out.action == "updated"
    body = out.diff.splitlines()[2:]
    assert [ln for ln in body if ln[:1] in "+-"] == ["-modified: 2024-01-21", "+modified: 2024-01-22"]
    assert replace_user_file(vault, "Lentil soup.md", new, h, WriteMode.WRITE).action == "updated"
    assert (vault / "Lentil soup.md").read_bytes() == src.read_bytes().replace(b"2024-01-21", b"2024-01-22")
    assert (vault / "Pantry.md").read_bytes() == pantry
    # a date object also stays a plain date
    assert set_property(original, "modified", dt.date(2024, 2, 1)).count("modified: 2024-02-01\n") == 1


@pytest.mark.parametrize("key, value, old_line, new_line", [
    ("title", "Red lentil soup", 'title: "Lentil soup"', 'title: "Red lentil soup"'),  # quotes kept
    ("rating", 5, "rating: 4", "rating: 5"),
    ("rating", "5", "rating: 4", 'rating: "5"'),  # a string stays a string
    ("aliases", ["Soup", "Dal", "Red: lentil"], "aliases: [Soup, Dal]", 'aliases: [Soup, Dal, "Red: lentil"]'),
    ("aliases", ["Dal"], "aliases: [Soup, Dal]", "aliases: [Dal]"),
    ("aliases", [], "aliases: [Soup, Dal]", "aliases: []"),
])
def test_case_011_other_keys_keep_their_style(key, value, old_line, new_line):
    original = need(CASE / "vault" / "Lentil soup.md").read_text(encoding="utf-8")
    new = set_property(original, key, value)
    assert changed_lines(original, new) == ([old_line + "\n"], [new_line + "\n"])
    assert fm(new)[key] == value


BLOCK = """---
title: Plan   # main title
tags:
  - project   # first
  # - archived
  - "2024"
aliases:
- Old name
created: 2025-09-07T00:12:21
flag: yes
nested:
  a: 1
  b: [x, y]
empty:
quoted: 'it''s'
multi: >
  folded
  text

last: end
---
Body [[Link]] %% comment %%
"""


def test_block_list_edits_keep_item_lines_and_comments():
    new = set_property(BLOCK, "tags", ["project", "2024", "new tag"])
    minus, plus = changed_lines(BLOCK, new)
    assert minus == [] and plus == ["  - new tag\n"]
    assert "  # - archived\n" in new
    new = set_property(BLOCK, "tags", ["2024"])
    minus, plus = changed_lines(BLOCK, new)
    assert minus == ["  - project   # first\n"] and plus == []
    assert "  # - archived\n" in new  # the user's commented-out line stays
    new = set_property(BLOCK, "aliases", ["Old name", "Second"])
    assert changed_lines(BLOCK, new) == ([], ["- Second\n"])  # the user's zero-indent style is kept
    assert fm(new)["aliases"] == ["Old name", "Second"]


@pytest.mark.parametrize("key, value", [
    ("title", "Plan B"), ("flag", "no"), ("flag", True), ("empty", "now set"), ("empty", None),
    ("quoted", "it's new"), ("multi", "single line"), ("nested", {"a": 2, "c": ["z"]}), ("last", 3.5),
    ("created", "2025-09-08T10:00:00"), ("tags", "solo"), ("title", None), ("title", ["a", "b"]),
    ("new key", "v"), ("new", ["a", "yes", "[[Link]]"]), ("new", {"x": {"y": [1, "2"]}}), ("new", []),
    ("title", "with # hash"), ("title", "line\nbreak"), ("title", "  spaced "), ("title", "é ünïcode"),
])
def test_edits_touch_only_their_entry(key, value):
    new = edit_frontmatter(BLOCK, {key: value})
    data = fm(new)
    want = fm(BLOCK)
    want[key] = value
    assert data == want
    assert list(data) == list(want)
    assert new.endswith("---\nBody [[Link]] %% comment %%\n")
    # every line of the other entries is still there, in order
    minus, _plus = changed_lines(BLOCK, new)
    own = _entry_lines(BLOCK, key)
    assert all(m.rstrip("\n") in own for m in minus), (minus, own)


def _entry_lines(text: str, key: str) -> list[str]:
    lines = split_frontmatter(text).yaml.split("\n")
    out, inside = [], False
    for ln in lines:
        if ln and not ln.startswith((" ", "-", "#")):
            inside = ln.split(":")[0] == key
        if inside:
            out.append(ln)
    return out


def test_trailing_comment_kept_and_empty_value_filled():
    assert set_property("---\na: 1  # c\n---\n", "a", 2) == "---\na: 2  # c\n---\n"
    assert set_property("---\na:   # c\n---\n", "a", "x") == "---\na: x   # c\n---\n"
    assert set_property("---\na: x # c\n---\n", "a", None) == "---\na: # c\n---\n"
    assert set_property("---\na:\n---\n", "a", "yes") == '---\na: "yes"\n---\n'


def test_delete_and_create():
    assert delete_property(BLOCK, "tags").count("project") == 0
    assert "  # - archived\n" not in delete_property(BLOCK, "tags")
    assert delete_property(BLOCK, "missing") == BLOCK
    assert delete_property("no fm\n", "x") == "no fm\n"
    assert set_property("Body\n", "up", "[[Parent]]") == '---\nup: "[[Parent]]"\n---\nBody\n'
    assert set_property("---\n---\nBody\n", "a", 1) == "---\na: 1\n---\nBody\n"
    assert edit_frontmatter("---\na: 1\n---\n", {"a": 1}) == "---\na: 1\n---\n"  # no change, same text


def test_crlf_bom_and_mixed_endings_are_kept():
    raw = "\ufeff---\r\na: 1\r\nb: [x]\n---\r\nBody\r\n"
    new = set_property(raw, "a", 2)
    assert new == "\ufeff---\r\na: 2\r\nb: [x]\n---\r\nBody\r\n"
    new = set_property(raw, "c", "z")
    assert new == "\ufeff---\r\na: 1\r\nb: [x]\nc: z\r\n---\r\nBody\r\n"


@pytest.mark.parametrize("text", [
    "---\ntitle: Note: subtitle\n---\n",  # invalid YAML
    "---\na: 1\na: 2\n---\n",  # duplicate key
    "---\n- a\n- b\n---\n",  # not a mapping
    "---\n{a: 1, b: 2}\n---\n",  # flow mapping
    "---\na: 1\n---trailing\n",  # text after the fence
    "---\n? [complex]\n: 1\n---\n",
])
def test_refuses_what_it_cannot_edit_safely(text):
    with pytest.raises(FrontmatterEditError):
        set_property(text, "a", 5)


def test_render_scalar_quotes_ambiguous_strings():
    for s in ["yes", "No", "on", "OFF", "y", "n", "1_000", "010", "0x1F", "1e3", ".inf", "null", "~", "true",
              "2024-01-02", "12:30:00", "#tag", "[[Link]]", "a: b", "a #b", "- x", "@at", "`t`", "", " x",
              "x ", "!tag", "&a", "*a", "%x", "|", ">", "'q", '"q', "{x}", "?", "1.0", "-1", "+1"]:
        rendered = render_scalar(s)
        assert rendered != s or s in ("?",), s
        assert load_yaml(f"k: {rendered}").data == {"k": s}, s
        import yaml

        assert yaml.safe_load(f"k: {rendered}") == {"k": s}, s
    for s in ["Soup", "Lentil soup", "a-b", "C++", "x:y", "50%", "é"]:
        assert render_scalar(s) == s


@settings(max_examples=200, deadline=None)
@given(
    key=st.sampled_from(["title", "tags", "aliases", "flag", "empty", "quoted", "nested", "last", "new"]),
    value=st.recursive(
        st.one_of(st.none(), st.booleans(), st.integers(-10**6, 10**6), st.text(max_size=20),
                  st.floats(allow_nan=False, allow_infinity=False, width=32), st.dates()),
        lambda inner: st.lists(inner, max_size=4),
        max_leaves=6,
    ),
)
def test_any_value_reads_back_and_body_survives(key, value):
    new = set_property(BLOCK, key, value)
    got = fm(new)
    from vaultkit.fmedit import _expected

    assert got[key] == _expected(value)
    others = {k: v for k, v in fm(BLOCK).items() if k != key}
    assert {k: v for k, v in got.items() if k != key} == others
    assert new.endswith("---\nBody [[Link]] %% comment %%\n")
    note = parse_note("n.md", new.encode("utf-8"))
    assert note.frontmatter_error is None


def _real_notes():
    from tests.conftest import EUGENE

    roots = [need(EUGENE), need(CASES)]
    for root in roots:
        for p in sorted(root.rglob("*.md")):
            yield p


def _without_entry(text: str, key: str) -> list[str]:
    """The frontmatter lines of ``text`` without the lines of ``key``'s entry."""
    from vaultkit.fmedit import _entries

    norm = text.lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    yaml_text = split_frontmatter(norm).yaml
    lines = yaml_text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    e = _entries(yaml_text, lines).get(key)
    return lines if e is None else lines[: e.first] + lines[e.last + 1:]


def test_edits_on_every_real_note_touch_only_their_entry():
    """Every note of the sample vault and the cases: set, change type, delete each key; nothing else moves."""
    edited = refused = 0
    for path in _real_notes():
        data = path.read_bytes()
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            continue
        norm = text.lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
        block = split_frontmatter(norm)
        if block is None:
            continue
        res = load_yaml(block.yaml)
        if res.error or not isinstance(res.data, dict) or block.close_trailing:
            with pytest.raises(FrontmatterEditError):
                set_property(text, "x-test", 1)
            refused += 1
            continue
        keys = list(res.data)
        sample = list(dict.fromkeys(keys[:2] + keys[len(keys) // 2:len(keys) // 2 + 1] + keys[-2:])) + ["x-new"]
        values = ("changed value", ["one", "two: three"], 7, None)
        for n, key in enumerate(sample):
            for value in (values[(n + len(keys)) % 4],):
                try:
                    new = set_property(text, key, value)
                except FrontmatterEditError as exc:
                    pytest.fail(f"{path.name}: set {key!r} refused: {exc}")
                got = fm(new)
                want = dict(res.data)
                want[key] = value
                assert got == want, (path, key, value)
                assert new.endswith(norm[4 + len(block.yaml):].replace("\n", "\r\n") if "\r\n" in text else
                                    norm[4 + len(block.yaml):]), (path, key)
                assert new.startswith("\ufeff") == text.startswith("\ufeff")
                assert _without_entry(norm, key) == _without_entry(new, key), (path, key, value)
                edited += 1
            if key in res.data:
                new = delete_property(text, key)
                assert list(fm(new) or {}) == [k for k in res.data if k != key], (path, key)
                if split_frontmatter(new.lstrip("\ufeff").replace("\r\n", "\n")) is not None:
                    assert _without_entry(norm, key) == _without_entry(new, key), (path, key)
    assert edited > 500
