"""`vaultkit fix` on the command line."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.conftest import CASES, SAMPLE_VAULT, SEED, need
from vaultkit.cli import cli

CLEAN_NOTE = SAMPLE_VAULT / "22_AI_Research_mainstream" / "Production AI Techniques Tiered Table.md"


def run(*args: str):
    return CliRunner().invoke(cli, ["fix", *args], catch_exceptions=False)


@pytest.fixture
def seed_vault(tmp_path: Path) -> Path:
    vault = tmp_path / "v"
    (vault / "AI").mkdir(parents=True)
    shutil.copyfile(need(SEED), vault / "AI" / "Production AI Techniques Tiered Table.md")
    (vault / "Legacy.md").write_text("---\n# keep me\ntag: a, b\nrating: 4\n---\nBody caf√©\n", encoding="utf-8")
    (vault / "Clean.md").write_text("---\ntags: [x]\n---\nGrüße — √π ≈ 1.77 Привет 🔹\n", encoding="utf-8")
    return vault


def snapshot(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_fix_seed_yields_the_clean_note_byte_for_byte(seed_vault):
    result = run(str(seed_vault))
    assert result.exit_code == 0, result.stdout + result.stderr
    assert (seed_vault / "AI" / "Production AI Techniques Tiered Table.md").read_bytes() == CLEAN_NOTE.read_bytes()
    assert (seed_vault / "Legacy.md").read_text("utf-8") == (
        "---\n# keep me\ntags:\n  - a\n  - b\nrating: 4\n---\nBody café\n")
    assert (seed_vault / "Clean.md").read_text("utf-8") == "---\ntags: [x]\n---\nGrüße — √π ≈ 1.77 Привет 🔹\n"
    assert "fixed: AI/Production AI Techniques Tiered Table.md" in result.stdout
    assert "changed 2 of 3 notes" in result.stderr + result.stdout
    again = run(str(seed_vault))
    assert again.exit_code == 0
    assert "changed 0 of 3 notes" in again.stdout


def test_fix_single_note_path(seed_vault):
    note = seed_vault / "Legacy.md"
    result = run(str(note))
    assert result.exit_code == 0
    assert "tags:\n  - a" in note.read_text("utf-8")
    seed_note = seed_vault / "AI" / "Production AI Techniques Tiered Table.md"
    assert seed_note.read_bytes() == need(SEED).read_bytes()


def test_dry_run_lists_fixes_and_writes_nothing(seed_vault):
    before = snapshot(seed_vault)
    result = run(str(seed_vault), "--dry-run")
    assert result.exit_code == 0
    assert snapshot(seed_vault) == before
    assert "would fix: Legacy.md (" in result.stdout
    assert "line 3: VK204 'tag' → 'tags' as a list" in result.stdout
    assert "VK006 '–ù–∞–∑–≤–∞–Ω–∏–µ:**' → 'Название:**'" in result.stdout or "Название" in result.stdout
    assert "would change 2 of 3 notes" in result.stdout


def test_diff_prints_unified_diff_and_writes_nothing(seed_vault):
    before = snapshot(seed_vault)
    result = run(str(seed_vault), "--diff")
    assert result.exit_code == 0
    assert snapshot(seed_vault) == before
    assert "--- a/Legacy.md\n+++ b/Legacy.md\n" in result.stdout
    assert "-tag: a, b\n+tags:\n+  - a\n+  - b\n" in result.stdout
    assert "+Body café\n" in result.stdout
    assert "would change 2 of 3 notes" in result.stderr


def test_check_exit_status(seed_vault):
    assert run(str(seed_vault), "--check").exit_code == 1
    assert run(str(seed_vault)).exit_code == 0
    assert run(str(seed_vault), "--check").exit_code == 0


def test_select_limits_the_fixes(seed_vault):
    result = run(str(seed_vault), "--select", "legacy-keys")
    assert result.exit_code == 0
    assert (seed_vault / "Legacy.md").read_text("utf-8").endswith("---\nBody caf√©\n")
    assert (seed_vault / "AI" / "Production AI Techniques Tiered Table.md").read_bytes() == need(SEED).read_bytes()
    result = run(str(seed_vault), "--select", "VK006")
    assert (seed_vault / "Legacy.md").read_text("utf-8").endswith("---\nBody café\n")


def test_bad_options_exit_2(seed_vault):
    assert run(str(seed_vault), "--select", "nonsense").exit_code == 2
    assert run(str(seed_vault), "--from-encoding", "cp1252").exit_code == 2
    assert run(str(seed_vault), "--convert-encoding", "--from-encoding", "no-such-codec").exit_code == 2


def test_bom_and_crlf_case(tmp_path):
    vault = tmp_path / "bom"
    shutil.copytree(need(CASES / "003-utf8-bom-before-frontmatter" / "vault"), vault)
    for p in vault.rglob("*"):
        p.chmod(0o644 if p.is_file() else 0o755)
    note = vault / "Reading list.md"
    original = note.read_bytes()
    assert original.startswith(b"\xef\xbb\xbf") and b"\r\n" in original
    result = run(str(vault))
    assert result.exit_code == 0
    assert note.read_bytes() == original  # nothing to fix; the BOM stays without --bom
    result = run(str(vault), "--bom")
    assert result.exit_code == 0
    assert note.read_bytes() == original[3:]  # only the BOM went; CRLF kept
    assert "fixed: Reading list.md (bom 1)" in result.stdout


def test_non_utf8_note_reported_then_converted_when_asked(tmp_path):
    vault = tmp_path / "enc"
    shutil.copytree(need(CASES / "021-non-utf8-note-in-vault" / "vault"), vault)
    for p in vault.rglob("*"):
        p.chmod(0o644 if p.is_file() else 0o755)
    note = vault / "Imported" / "Old meeting.md"
    original = note.read_bytes()
    result = run(str(vault))
    assert result.exit_code == 0
    assert "Imported/Old meeting.md:1: VK004 not fixed: not UTF-8 (byte 0xE9; looks like cp1252)" in result.stderr
    assert note.read_bytes() == original
    result = run(str(vault), "--convert-encoding")
    assert result.exit_code == 0
    assert note.read_bytes() == original.decode("cp1252").encode("utf-8")
    assert (vault / "Agenda.md").read_bytes() == (CASES / "021-non-utf8-note-in-vault" / "vault" / "Agenda.md").read_bytes()


def test_eugene_sample_mojibake_fix_changes_nothing(eugene_copy):
    before = snapshot(eugene_copy)
    result = run(str(eugene_copy), "--select", "mojibake")
    assert result.exit_code == 0
    assert snapshot(eugene_copy) == before
    assert "changed 0 of 205 notes" in result.stdout
