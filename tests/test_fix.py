"""Fix operations on one note's text, and fix_file through the safe writer."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.conftest import CASES, SAMPLE_VAULT, SEED, need
from vaultkit import writer
from vaultkit.fix import (
    fix_file,
    fix_legacy_keys,
    fix_mojibake,
    fix_string_lists,
    fix_text,
    remove_bom,
    select_kinds,
)
from vaultkit.frontmatter import load_yaml, split_frontmatter
from vaultkit.writer import WriteMode

CLEAN_NOTE = SAMPLE_VAULT / "22_AI_Research_mainstream" / "Production AI Techniques Tiered Table.md"


def props(text: str):
    block = split_frontmatter(text)
    assert block is not None
    res = load_yaml(block.yaml)
    assert res.error is None
    return res.data


# --------------------------------------------------------------------------- mojibake


def test_fix_mojibake_on_the_seed_gives_the_clean_note():
    seed = need(SEED).read_bytes().decode("utf-8")
    result = fix_mojibake(seed)
    assert result.text == CLEAN_NOTE.read_bytes().decode("utf-8")
    assert {f.kind for f in result.applied} == {"mojibake"}
    assert all(f.code == "VK006" for f in result.applied)
    assert result.applied[0].line < result.applied[-1].line
    assert result.refused == []


def test_fix_mojibake_reports_lines_and_words():
    result = fix_mojibake("ok line\nthe caf√© is real‚Äëworld\n")
    assert result.text == "ok line\nthe café is real‑world\n"
    (fix,) = result.applied
    assert fix.line == 2
    assert "'caf√©' → 'café'" in fix.message and "mac_roman" in fix.message


def test_fix_mojibake_leaves_clean_text_alone():
    text = "---\ntitle: Grüße — √π ≈ 1.77\n---\nПривет 🔹 ∞\n"
    assert fix_mojibake(text).text == text
    assert fix_mojibake(text).applied == []


# --------------------------------------------------------------------------- BOM


def test_remove_bom_only_when_present():
    assert remove_bom("\ufeffa").text == "a"
    assert remove_bom("a").applied == []


def test_fix_text_keeps_bom_unless_asked():
    assert fix_text("\ufeffcaf√©").text == "\ufeffcafé"
    assert fix_text("\ufeffcaf√©", {"bom", "mojibake"}).text == "café"


# --------------------------------------------------------------------------- legacy keys


def test_legacy_tag_string_becomes_tags_list_in_place():
    text = "---\n# mine\ntitle: \"A\"\ntag: project, important  # old\nrating: 4\n---\nBody #x\n"
    result = fix_legacy_keys(text)
    assert result.text == (
        "---\n# mine\ntitle: \"A\"\ntags: # old\n  - project\n  - important\nrating: 4\n---\nBody #x\n"
    )
    assert [(f.kind, f.line) for f in result.applied] == [("legacy-keys", 4)]
    assert list(props(result.text)) == ["title", "tags", "rating"]


def test_legacy_list_values_are_only_renamed():
    text = "---\nalias: [A1, \"B: two\"]\ncssclass:\n  - wide\n  - dark\nup: \"[[P]]\"\n---\n"
    result = fix_legacy_keys(text)
    assert result.text == "---\naliases: [A1, \"B: two\"]\ncssclasses:\n  - wide\n  - dark\nup: \"[[P]]\"\n---\n"
    assert len(result.applied) == 2


def test_legacy_alias_string_stays_one_entry():
    result = fix_legacy_keys("---\nalias: Smith, John\n---\n")
    assert props(result.text) == {"aliases": ["Smith, John"]}


def test_legacy_cssclass_and_case_insensitive_key():
    result = fix_legacy_keys("---\nCssClass: wide dark\nTag: solo\n---\n")
    assert props(result.text) == {"cssclasses": ["wide", "dark"], "tags": ["solo"]}


def test_legacy_key_merged_into_existing_list_key():
    text = "---\ntags:\n  - a\n  - b\ntitle: T\ntag: b, c\n---\n"
    result = fix_legacy_keys(text)
    assert result.text == "---\ntags:\n  - a\n  - b\n  - c\ntitle: T\n---\n"
    assert "merged" in result.applied[0].message


def test_legacy_null_value_is_renamed():
    assert fix_legacy_keys("---\ntag:\nx: 1\n---\n").text == "---\ntags:\nx: 1\n---\n"


def test_legacy_keys_in_invalid_yaml_are_refused():
    text = "---\ntag: a\ntitle: Note: subtitle\n---\n"
    result = fix_legacy_keys(text)
    assert result.text == text
    assert result.applied == []
    assert result.refused and "not valid YAML" in result.refused[0].message


def test_no_frontmatter_no_change():
    assert fix_legacy_keys("tag: a\n").text == "tag: a\n"
    assert fix_string_lists("tags: a\n").text == "tags: a\n"


def test_nested_tag_keys_are_not_touched():
    text = "---\nmeta:\n  tag: a\n---\n"
    assert fix_legacy_keys(text).text == text


# --------------------------------------------------------------------------- string lists


def test_case_008_notes():
    folder = need(CASES / "008-tags-as-comma-separated-string" / "vault")
    weekly = (folder / "Weekly review.md").read_text("utf-8")
    fixed = fix_string_lists(weekly)
    assert fixed.text == "---\ntags:\n  - planning\n  - review\n---\nLook back at the week.\n"
    assert fix_string_lists((folder / "Single.md").read_text("utf-8")).text.startswith("---\ntags:\n  - solo\n---\n")
    mixed = (folder / "Mixed.md").read_text("utf-8")
    assert fix_string_lists(mixed).text == mixed


def test_string_list_keeps_spelling_quoting_comment_and_neighbours():
    text = "---\ntitle: 'Q' # keep\nTags: \"#alpha, beta\" # c\naliases: Dal, lentil soup\nn: 010\n---\n"
    result = fix_string_lists(text)
    assert result.text == (
        "---\ntitle: 'Q' # keep\nTags: # c\n  - \"#alpha\"\n  - beta\naliases:\n  - Dal, lentil soup\nn: 010\n---\n"
    )
    assert props(result.text) == {"title": "Q", "Tags": ["#alpha", "beta"], "aliases": ["Dal, lentil soup"], "n": 10}
    assert sorted(f.line for f in result.applied) == [3, 4]


def test_string_list_follows_the_notes_list_indent():
    text = "---\nother:\n- x\ntags: a b\n---\n"
    assert fix_string_lists(text).text == "---\nother:\n- x\ntags:\n- a\n- b\n---\n"


def test_string_list_empty_string_is_refused_not_changed():
    text = "---\ntags: \"\"\n---\n"
    result = fix_string_lists(text)
    assert result.text == text and result.refused


def test_case_011_note_is_not_changed_by_any_fix():
    note = need(CASES / "011-frontmatter-update-keeps-user-formatting" / "vault" / "Lentil soup.md")
    text = note.read_text("utf-8")
    result = fix_text(text, select_kinds(bom=True))
    assert result.text == text and result.applied == []


def test_fix_text_repairs_mojibake_before_converting_keys():
    result = fix_text("---\ntag: caf√©, th√©\n---\n")
    assert props(result.text) == {"tags": ["café", "thé"]}


# --------------------------------------------------------------------------- selection


def test_select_kinds():
    assert select_kinds() == {"mojibake", "legacy-keys", "string-lists"}
    assert select_kinds(bom=True, convert_encoding=True) == {
        "mojibake", "legacy-keys", "string-lists", "bom", "encoding"}
    assert select_kinds(["legacy-property-key", "VK006"]) == {"legacy-keys", "mojibake"}
    assert select_kinds(["VK0"]) == {"mojibake"}
    assert select_kinds(["VK0"], bom=True) == {"mojibake", "bom"}
    assert select_kinds(["legacy-keys"], convert_encoding=True) == {"legacy-keys", "encoding"}
    assert select_kinds(["VK005"]) == {"bom"}
    with pytest.raises(ValueError):
        select_kinds(["nope"])


# --------------------------------------------------------------------------- files


def test_fix_file_seed_byte_for_byte(tmp_path):
    shutil.copyfile(need(SEED), tmp_path / "Seed.md")
    out = fix_file(tmp_path, "Seed.md")
    assert out.outcome.action == "updated"
    assert (tmp_path / "Seed.md").read_bytes() == CLEAN_NOTE.read_bytes()
    again = fix_file(tmp_path, "Seed.md")
    assert again.outcome.action == "unchanged" and again.applied == []


def test_fix_file_keeps_crlf_and_bom(tmp_path):
    (tmp_path / "A.md").write_bytes(b"\xef\xbb\xbf---\r\ntags: a, b\r\n---\r\nCaf\xe2\x88\x9a\xc2\xa9\r\n")
    out = fix_file(tmp_path, "A.md")
    assert out.outcome.action == "updated"
    assert (tmp_path / "A.md").read_bytes() == (
        b"\xef\xbb\xbf---\r\ntags:\r\n  - a\r\n  - b\r\n---\r\nCaf\xc3\xa9\r\n")


def test_fix_file_drops_bom_only_when_asked(tmp_path):
    path = tmp_path / "B.md"
    path.write_bytes(b"\xef\xbb\xbf---\r\ntype: list\r\n---\r\nx\r\n")
    assert fix_file(tmp_path, "B.md").outcome.action == "unchanged"
    out = fix_file(tmp_path, "B.md", select_kinds(bom=True))
    assert out.outcome.action == "updated"
    assert [f.kind for f in out.applied] == ["bom"]
    assert path.read_bytes() == b"---\r\ntype: list\r\n---\r\nx\r\n"


def test_fix_file_dry_run_and_diff_write_nothing(tmp_path):
    path = tmp_path / "C.md"
    path.write_bytes("---\ntag: x\n---\ncaf√©\n".encode())
    before = path.read_bytes()
    dry = fix_file(tmp_path, "C.md", mode=WriteMode.DRY_RUN)
    assert dry.outcome.action == "updated" and len(dry.applied) == 2
    diff = fix_file(tmp_path, "C.md", mode=WriteMode.DIFF)
    assert "-tag: x" in diff.outcome.diff and "+café" in diff.outcome.diff
    assert path.read_bytes() == before


def test_fix_file_non_utf8_refused_unless_converting(tmp_path):
    src = need(CASES / "021-non-utf8-note-in-vault" / "vault" / "Imported" / "Old meeting.md")
    path = tmp_path / "Old meeting.md"
    shutil.copyfile(src, path)
    out = fix_file(tmp_path, "Old meeting.md")
    assert out.outcome.action == "refused-encoding"
    assert out.encoding is not None and out.encoding.encoding == "cp1252"
    assert "looks like cp1252" in out.refused[0].message
    assert path.read_bytes() == src.read_bytes()
    out = fix_file(tmp_path, "Old meeting.md", select_kinds(convert_encoding=True))
    assert out.outcome.action == "updated"
    assert path.read_text("utf-8").startswith("Résumé of the café meeting – “final” version.\n")
    assert out.applied[0].kind == "encoding"


def test_fix_file_explicit_source_encoding(tmp_path):
    path = tmp_path / "R.md"
    path.write_bytes("Привет\n".encode("cp1251"))
    fix_file(tmp_path, "R.md", {"encoding"}, from_encoding="cp1251")
    assert path.read_text("utf-8") == "Привет\n"


def test_fix_file_skips_when_changed_during_write(tmp_path, monkeypatch):
    path = tmp_path / "D.md"
    path.write_bytes("caf√©\n".encode())

    def meddle(target):
        target.write_bytes(b"user typed this\n")

    monkeypatch.setattr(writer, "_before_replace", meddle)
    out = fix_file(tmp_path, "D.md")
    assert out.outcome.action == "skipped-changed-on-disk"
    assert path.read_bytes() == b"user typed this\n"


def test_fix_file_leaves_generated_notes_alone(tmp_path):
    text = writer.render_with_marker("---\ntag: a\n---\ncaf√©\n")
    (tmp_path / "G.md").write_text(text, encoding="utf-8")
    out = fix_file(tmp_path, "G.md")
    assert out.outcome.action == "unchanged" and out.applied == []
    assert (tmp_path / "G.md").read_text("utf-8") == text


# --------------------------------------------------------------------------- against the lint rules

LINT_FIXTURES = Path(__file__).parent / "fixtures" / "lint"


@pytest.mark.parametrize(("code", "kinds"), [
    ("VK005", {"bom"}), ("VK006", {"mojibake"}), ("VK204", {"legacy-keys"}), ("VK205", {"string-lists"}),
])
def test_fixing_a_lint_fixture_silences_its_rule(tmp_path, code, kinds):
    from vaultkit.lint import LintOptions, lint
    from vaultkit.vault import Vault

    shutil.copyfile(LINT_FIXTURES / code / "fail.md", tmp_path / "fail.md")
    before = lint(Vault.load(tmp_path), LintOptions(select=[code])).diagnostics
    assert before, "the fixture must fail first"
    out = fix_file(tmp_path, "fail.md", kinds)
    assert out.outcome.action == "updated"
    assert {f.kind for f in out.applied} == kinds
    after = lint(Vault.load(tmp_path), LintOptions(select=[code])).diagnostics
    assert after == []
    fixed = (tmp_path / "fail.md").read_text("utf-8")
    passing = (LINT_FIXTURES / code / "pass.md").read_text("utf-8")
    if code in ("VK005", "VK006"):
        assert fixed == passing
    else:
        assert props(fixed) == props(passing)


def test_a_legacy_key_whose_line_holds_a_comment_is_not_merged_away() -> None:
    """Merging ``tag`` into an existing ``tags`` deletes the ``tag`` entry: its comment went with it (helper's
    report). Refused instead, saying why; without a comment the merge is made."""
    text = "---\ntag: a  # why I tagged this\ntags: [b]\n---\nbody\n"
    result = fix_legacy_keys(text)
    assert result.text == text and "comment" in result.refused[0].message
    own_line = "---\ntag: a\n# about the tag above\ntags: [b]\n---\nbody\n"
    assert fix_legacy_keys(own_line).text == own_line
    assert fix_legacy_keys("---\ntag: a\ntags: [b]\n---\nbody\n").text == "---\ntags: [b, a]\n---\nbody\n"


def test_fix_leaves_a_number_too_long_for_python_alone() -> None:
    """``tags: 1111…`` (5,000 digits) made ``fix`` stop with a traceback (a reviewer's finding): Python cannot read
    such an int back to check the rewrite."""
    text = "---\ntags: " + "1" * 5000 + "\n---\nbody\n"
    result = fix_text(text)
    assert load_yaml(split_frontmatter(result.text).yaml).data["tags"] in ("1" * 5000, ["1" * 5000])
