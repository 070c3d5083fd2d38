"""The user's sample vault (../shared/vaults/eugene-sample): the malformed items it really holds.

Each assertion names the file and line found by grepping the vault:

* multi-line tag items folded into one tag (``- |-`` block scalars in ``tags``) → VK203;
* tags holding a space → VK202;
* the tag ``Yes`` stays the string "Yes" (YAML 1.2), not ``True``;
* ``#S14_Neurоbrain_CogScience`` with a Cyrillic ``о`` → VK202 (mixed script);
* ``[[#S14_Neurobrain_CogScience]]`` links to a heading the note does not have → VK103.
"""

from __future__ import annotations

import pytest

from vaultkit.vault import Vault

from .conftest import EUGENE, need

HIDDEN = "9_Overlay_NeuralNet_N2S/Hidden Micro-Architecture Overview.md"
SHELL = "14_Neurobrain_CogScience/Adaptive Dialogue Shell.md"
DEPTH = "14_Neurobrain_CogScience/Overlay AI Cognitive Depth.md"


@pytest.fixture(scope="module")
def vault() -> Vault:
    return Vault.load(need(EUGENE))


def diags(vault: Vault, code: str, path: str) -> list[tuple[int, str]]:
    return [(d.line, d.message) for d in vault.notes[path].diagnostics if d.code == code]


def file_line(path: str, line: int) -> str:
    return (EUGENE / path).read_text(encoding="utf-8").split("\n")[line - 1]


@pytest.mark.parametrize(
    "path,line,first_item",
    [
        ("12_Software/Local AGI Twin Infrastructure Setup.md", 13, "agi-core"),
        ("13_Hardware/GPU Quantization and Scaling Strategy.md", 13, "gpu-quantization-compatibility"),
        ("22_AI_Research_mainstream/Cognitive Load Index for AI Systems.md", 13, "cognitive-load-index"),
        (HIDDEN, 15, "as requested."),
    ],
)
def test_multi_line_tag_items_are_vk203(vault, path, line, first_item):
    found = diags(vault, "VK203", path)
    assert line in [ln for ln, _ in found]
    message = dict(found)[line]
    assert first_item in message
    assert file_line(path, line).strip() == "- |-"
    assert file_line(path, line + 1).strip().startswith(first_item)
    # the folded item gives no tag, and none of its lines becomes one either
    names = {t.name for t in vault.notes[path].tag_uses}
    assert first_item not in names and not any("\n" in n or " " in n for n in names)


def test_hidden_micro_architecture_folded_items(vault):
    lines = [ln for ln, _ in diags(vault, "VK203", HIDDEN)]
    assert lines == [15, 25, 34, 50, 59, 85, 90, 95, 105]


@pytest.mark.parametrize(
    "path,line,tag",
    [
        ("0_chatgpt/AI/2025-10-05 - 2OverlayAI/45 Overlay AGI.md", 10, "S6_Input_Convert_to_ InnerThink"),
        ("12_Software/AGI as Service Containerization.md", 17, "kubernetes orchestration"),
        (HIDDEN, 24, "decisions are made"),
        (HIDDEN, 49, "regulatory control"),
        (HIDDEN, 83, "Contextual Memory Integration Layer"),
    ],
)
def test_tags_with_spaces_are_vk202(vault, path, line, tag):
    found = diags(vault, "VK202", path)
    assert any(ln == line and repr(tag) in msg for ln, msg in found), found
    assert file_line(path, line).strip() == f"- {tag}"
    assert tag not in vault.notes[path].tags


def test_tag_yes_stays_text(vault):
    note = vault.notes[HIDDEN]
    assert file_line(HIDDEN, 13).strip() == "- Yes"
    tags_value = note.frontmatter["tags"]
    assert "Yes" in tags_value and True not in tags_value
    assert [t.line for t in note.tag_uses if t.name == "Yes"] == [13]
    assert "Yes" in note.tags


def test_cyrillic_letter_in_section_tag(vault):
    note = vault.notes[DEPTH]
    latin = "#S14_Neurobrain_CogScience"
    mixed = "#S14_Neur\u043ebrain_CogScience"
    assert file_line(DEPTH, 23).strip() == f'- "{mixed}"'
    assert mixed in note.frontmatter["tags"] and latin not in note.frontmatter["tags"]
    (found,) = [(ln, msg) for ln, msg in diags(vault, "VK202", DEPTH) if "Cyrillic" in msg]
    assert found[0] == 23 and "\u043e" in found[1]
    # the correctly spelt tag of the sibling note raises no such warning
    assert not [m for _, m in diags(vault, "VK202", SHELL) if "Cyrillic" in m]


def test_links_to_missing_section_heading_are_vk103(vault):
    expected = [459, 461, 463, 465, 467, 471, 473, 475, 477, 479, 483, 485, 487, 489, 491]
    note = vault.notes[SHELL]
    self_links = [lk for lk in note.links if lk.target == "" and lk.heading == "S14_Neurobrain_CogScience"]
    assert [lk.line for lk in self_links] == expected
    assert all(lk.resolved == SHELL for lk in self_links)
    for line in expected:
        assert "[[#S14_Neurobrain_CogScience]]" in file_line(SHELL, line)
    vk103 = [ln for ln, msg in diags(vault, "VK103", SHELL) if "S14_Neurobrain_CogScience" in msg]
    assert vk103 == expected
    assert not any("S14" in h.text for h in note.headings)


def test_missing_heading_in_other_note(vault):
    path = "0_Project_Review/AGI Incubator Recursive Generation.md"
    found = diags(vault, "VK103", path)
    assert (342, "heading '#Scenario 1' not found in '0_Project_Review/Developer Reflections on AI Evolution.md'") \
        in found
    assert "[[Developer Reflections on AI Evolution#Scenario 1|" in file_line(path, 342)


def test_every_link_has_a_file_line(vault):
    for note in vault.notes.values():
        n_lines = (EUGENE / note.path).read_bytes().count(b"\n") + 1
        for link in note.links:
            assert 1 <= link.line <= n_lines, (note.path, link)
    assert sum(len(n.links) for n in vault.notes.values()) > 4000


def test_show_reports_file_and_line(vault):
    from click.testing import CliRunner

    from vaultkit.cli import cli

    result = CliRunner().invoke(cli, ["show", str(EUGENE), "--format", "json"])
    assert result.exit_code == 0
    import json

    notes = {n["path"]: n for n in json.loads(result.output)["notes"]}
    shown = {(d["code"], d["line"]) for d in notes[DEPTH]["diagnostics"]}
    assert ("VK202", 23) in shown
    shown = {(d["code"], d["line"]) for d in notes[SHELL]["diagnostics"]}
    assert ("VK103", 459) in shown
