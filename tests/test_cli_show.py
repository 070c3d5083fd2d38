"""`vaultkit show` through click's CliRunner: text and JSON views, note selection, errors."""

from __future__ import annotations

import json

from click.testing import CliRunner

from vaultkit.cli import cli

from .conftest import CASES, SAMPLE_VAULT, need

SEED_NOTE = "22_AI_Research_mainstream/Production AI Techniques Tiered Table.md"


def test_show_json_of_one_note_gives_the_documented_shape() -> None:
    result = CliRunner().invoke(cli, ["show", str(SAMPLE_VAULT), SEED_NOTE, "--format", "json"])
    assert result.exit_code == 0, result.output
    notes = json.loads(result.output)["notes"]
    assert [n["path"] for n in notes] == [SEED_NOTE]
    note = notes[0]
    for key in ("path", "title", "frontmatter", "frontmatter_error", "tags", "comment_tags", "aliases",
                "links", "headings", "diagnostics"):
        assert key in note
    assert note["title"] == "Production AI Techniques Tiered Table"
    assert note["frontmatter"]["updated"] == "2025-09-07 00:12:21"  # text, as Obsidian keeps it
    assert note["frontmatter"]["created"] == "2025-08-12"
    assert "S22_AI_Research_mainstream" in note["tags"] and "tiered-table" in note["tags"]
    assert {"text": "📘 Tier Table: Techniques Used in Real Production Systems (2023–2025)", "level": 2} in [
        {"text": h["text"], "level": h["level"]} for h in note["headings"]]


def test_show_text_lists_links_with_lines_and_resolution() -> None:
    vault = need(CASES / "014-same-note-name-in-two-folders" / "vault")
    result = CliRunner().invoke(cli, ["show", str(vault), "Current/Plan"])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[0] == "Current/Plan.md"
    assert "wikilink    Home -> Current/Home.md" in result.output
    index = CliRunner().invoke(cli, ["show", str(vault), "Index.md"])
    assert "VK102" in index.output  # the bare [[Home]] is ambiguous: reported, and resolved by the tie-break


def test_show_unknown_note_is_a_usage_error() -> None:
    result = CliRunner().invoke(cli, ["show", str(SAMPLE_VAULT), "No such note.md"])
    assert result.exit_code == 2
    assert "No such note.md" in result.output


def test_show_reports_invalid_frontmatter_and_goes_on() -> None:
    vault = need(CASES / "002-invalid-yaml-reported-not-fatal" / "vault")
    result = CliRunner().invoke(cli, ["show", str(vault)])
    assert result.exit_code == 0
    assert "Homework 1.md" in result.output and "frontmatter: invalid" in result.output
    assert "VK001" in result.output


def test_show_json_of_many_notes_or_none_is_dump_json_of_them_all(tmp_path) -> None:
    """Made a note at a time, the JSON is byte for byte that of the whole list dumped at once."""
    from vaultkit.commands.common import dump_json
    from vaultkit.vault import Vault

    vault = Vault.load(SAMPLE_VAULT)
    result = CliRunner().invoke(cli, ["show", str(SAMPLE_VAULT), "--format", "json"])
    assert result.exit_code == 0, result.output
    assert len(vault.notes) > 2
    assert result.output == dump_json({"notes": [n.to_dict() for n in vault.notes.values()]}) + "\n"
    (tmp_path / "empty").mkdir()
    empty = CliRunner().invoke(cli, ["show", str(tmp_path / "empty"), "--format", "json"])
    assert empty.output == dump_json({"notes": []}) + "\n"
