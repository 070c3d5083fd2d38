"""Regressions from a tester's report: NFD file names, encoding guesses, paths from two vaults, config checks."""

from __future__ import annotations

import os
import unicodedata
from pathlib import Path

import pytest
from click.testing import CliRunner

from vaultkit.cli import cli
from vaultkit.discover import discover, disk_path
from vaultkit.fix import fix_file

NFC_NAME = "Café.md"
NFD_NAME = unicodedata.normalize("NFD", NFC_NAME)


def run(*args: str, cwd: Path | None = None):
    """Run the CLI (optionally from ``cwd``); failures show the whole output."""
    runner = CliRunner()
    if cwd is None:
        return runner.invoke(cli, list(args), catch_exceptions=False)
    old = os.getcwd()
    os.chdir(cwd)
    try:
        return runner.invoke(cli, list(args), catch_exceptions=False)
    finally:
        os.chdir(old)


# -- 1. NFD file names --------------------------------------------------------------


@pytest.fixture
def nfd_vault(tmp_path: Path) -> Path:
    """A vault whose note and folder names are NFD on disk (as macOS writes them)."""
    assert NFC_NAME != NFD_NAME
    v = tmp_path / "v"
    (v / ".obsidian").mkdir(parents=True)
    (v / NFD_NAME).write_text("---\ntag: a\n---\nCaf\u221a\u00a9 [[nowhere]]\n", encoding="utf-8")
    sub = v / unicodedata.normalize("NFD", "Été")
    sub.mkdir()
    (sub / NFD_NAME).write_text("---\ntag: b\n---\n[[nowhere]]\n", encoding="utf-8")
    names = set(os.listdir(v))
    assert NFD_NAME in names and NFC_NAME not in names  # the file system keeps the bytes as given
    return v


def test_disk_path_finds_nfd_names_segment_by_segment(nfd_vault: Path) -> None:
    _files, notes = discover(nfd_vault)
    assert set(notes) == {NFC_NAME, "Été/" + NFC_NAME}
    for rel, actual in notes.items():
        assert disk_path(nfd_vault, rel) == actual
        assert disk_path(nfd_vault, rel).is_file()
    assert disk_path(nfd_vault, "plain.md") == nfd_vault / "plain.md"
    assert disk_path(nfd_vault, "Nowhère.md") == nfd_vault / "Nowhère.md"  # missing: as given


def test_lint_of_an_nfd_path_checks_that_note(nfd_vault: Path) -> None:
    result = run("lint", "--select", "VK101", str(nfd_vault / NFD_NAME))
    assert result.exit_code == 1, result.output
    assert "1 note checked" in result.output and "VK101" in result.output
    assert "All checks passed" not in result.output
    folder = run("lint", "--select", "VK101", str(nfd_vault / unicodedata.normalize("NFD", "Été")))
    assert folder.exit_code == 1, folder.output
    assert "1 note checked" in folder.output


def test_fix_writes_nfd_named_notes_in_place(nfd_vault: Path) -> None:
    result = run("fix", str(nfd_vault))
    assert result.exit_code == 0, result.output
    assert "cannot read" not in result.output
    assert "changed 2 of 2 notes" in result.output
    note = (nfd_vault / NFD_NAME).read_text(encoding="utf-8")
    assert note == "---\ntags:\n  - a\n---\nCafé [[nowhere]]\n"
    assert sorted(os.listdir(nfd_vault)) == sorted([".obsidian", NFD_NAME, unicodedata.normalize("NFD", "Été")])
    # one NFD file given on the command line, and the library call with the NFC vault path
    (nfd_vault / NFD_NAME).write_text("---\ntag: c\n---\n", encoding="utf-8")
    assert run("fix", str(nfd_vault / NFD_NAME)).exit_code == 0
    assert (nfd_vault / NFD_NAME).read_text(encoding="utf-8") == "---\ntags:\n  - c\n---\n"
    (nfd_vault / NFD_NAME).write_text("---\ntag: d\n---\n", encoding="utf-8")
    assert fix_file(nfd_vault, NFC_NAME).outcome.action == "updated"
    assert (nfd_vault / NFD_NAME).read_text(encoding="utf-8") == "---\ntags:\n  - d\n---\n"
    assert NFC_NAME not in os.listdir(nfd_vault)


# -- 2. encoding guesses ---------------------------------------------------------------


def test_short_latin1_note_converts_to_cafe(tmp_path: Path) -> None:
    from vaultkit.encoding import detect_encoding

    data = b"caf\xe9 [[m]]\n"  # printf 'caf\xe9 [[m]]\n': charset-normalizer ranks cp1006 (Urdu) first
    guess = detect_encoding(data)
    assert guess is not None and guess.encoding == "cp1252"
    v = tmp_path / "v"
    (v / ".obsidian").mkdir(parents=True)
    (v / "n.md").write_bytes(data)
    dry = run("fix", str(v), "--convert-encoding", "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert "converted from cp1252 to UTF-8" in dry.output
    diff = run("fix", str(v), "--convert-encoding", "--diff")
    assert diff.exit_code == 0, diff.output
    assert "# n.md: converted from cp1252 to UTF-8" in diff.output
    assert (v / "n.md").read_bytes() == data  # dry-run and diff write nothing
    done = run("fix", str(v), "--convert-encoding")
    assert done.exit_code == 0, done.output
    assert (v / "n.md").read_text(encoding="utf-8") == "café [[m]]\n"


@pytest.mark.parametrize("text, codec", [
    ("Grüße aus Köln", "latin-1"),
    ("Résumé – “final”", "cp1252"),
    ("Привет мир, как дела?\n", "cp1251"),
    ("Zażółć gęślą jaźń, powiedział koń.\n", "cp1250"),
    ("Γειά σου Κόσμε\n", "cp1253"),
])
def test_encoding_guesses_stay_among_likely_encodings(text: str, codec: str) -> None:
    from vaultkit.encoding import LIKELY_ENCODINGS, detect_encoding

    data = text.encode(codec)
    guess = detect_encoding(data)
    assert guess is not None
    assert data.decode(guess.encoding) == text
    likely = {codecs_name(n) for n in LIKELY_ENCODINGS}
    assert codecs_name(guess.encoding) in likely
    assert all(codecs_name(n) in likely for n in guess.alternatives)


def test_utf16_is_not_guessed_for_eight_bit_text() -> None:
    from vaultkit.encoding import detect_encoding

    guess = detect_encoding("caf\u00e9".encode("mac_roman"))  # b"caf\x8e": once read as UTF-16 ('捡暎')
    assert guess is not None and not guess.encoding.startswith("utf")
    assert detect_encoding("Hello wörld".encode("utf-16-le")).encoding.replace("-", "_") == "utf_16_le"


def codecs_name(name: str) -> str:
    """Python's canonical name of codec ``name``."""
    import codecs

    return codecs.lookup(name).name


# -- 3. paths from two vaults ------------------------------------------------------------


@pytest.fixture
def two_vaults(tmp_path: Path) -> Path:
    """``tv/A`` (an Obsidian vault), ``tv/B`` (a vaultkit.toml vault) and ``tv/C`` (no vault) under ``tv``."""
    tv = tmp_path / "tv"
    (tv / "A" / ".obsidian").mkdir(parents=True)
    (tv / "B").mkdir()
    (tv / "B" / "vaultkit.toml").write_text("", encoding="utf-8")
    (tv / "C").mkdir()
    (tv / "A" / "a.md").write_text("---\ntag: a\n---\n[[x]]\n", encoding="utf-8")
    (tv / "B" / "b.md").write_text("---\ntag: b\n---\n[[y]]\n", encoding="utf-8")
    (tv / "C" / "c.md").write_text("---\ntag: c\n---\n", encoding="utf-8")
    return tv


@pytest.mark.parametrize("command", ["lint", "fix"])
def test_paths_from_two_vaults_are_a_usage_error(two_vaults: Path, command: str) -> None:
    result = run(command, "A/a.md", "B/b.md", cwd=two_vaults)
    assert result.exit_code == 2, result.output
    assert "two vaults" in result.output
    assert "'A'" in result.output and "'B'" in result.output
    outside = run(command, "A/a.md", "C/c.md", cwd=two_vaults)
    assert outside.exit_code == 2, outside.output
    assert "'C/c.md' is not inside the vault 'A'" in outside.output
    # nothing was written
    assert (two_vaults / "A" / "a.md").read_text(encoding="utf-8").startswith("---\ntag: a")
    assert (two_vaults / "B" / "b.md").read_text(encoding="utf-8").startswith("---\ntag: b")


def test_paths_of_one_vault_and_an_explicit_vault_still_work(two_vaults: Path) -> None:
    one = run("lint", "A/a.md", "A", cwd=two_vaults)
    assert one.exit_code == 1 and "1 note checked" in one.output, one.output
    both = run("lint", "--vault", ".", "A/a.md", "B/b.md", "--select", "VK101", cwd=two_vaults)
    assert both.exit_code == 1 and "2 notes checked" in both.output, both.output
    fixed = run("fix", "B/b.md", cwd=two_vaults)
    assert fixed.exit_code == 0 and "changed 1 of 1 notes" in fixed.output, fixed.output


# -- 4. configuration errors: every command, exit 2, file and key named -------------------------


COMMANDS = [["lint"], ["graph"], ["sync", "--dry-run"], ["fix", "--dry-run"], ["show"]]


@pytest.mark.parametrize("toml, key", [
    ('output = "."\n', "'output'"),
    ('output = "./"\n', "'output'"),
    ('output = ""\n', "'output'"),
    ('output = "/tmp/out"\n', "'output'"),
    ('output = "C:/out"\n', "'output'"),
    ('output = "a\\\\b"\n', "'output'"),
    ('output = "Gen/../../out"\n', "'output'"),
    ('output = "Gen/.hidden"\n', "'output'"),
    ('output = "Gen/CON"\n', "'output'"),
    ('output = "Gen/a:b"\n', "'output'"),
    ('select = ["VK999"]\n', "'select'"),
    ('extend-select = ["XX1"]\n', "'extend-select'"),
    ('ignore = ["VK9"]\n', "'ignore'"),
    ('[severity]\nVK999 = "info"\n', "'severity'"),
    ('[severity]\nVK101 = "loud"\n', "'severity'"),
    ('[schemas]\n"**" = "knowlege-note"\n', '[schemas] "**"'),
    ('[schemas]\n"**" = "schemas/missing.json"\n', '[schemas] "**"'),
    ('[schemas]\n"**" = "../outside.json"\n', '[schemas] "**"'),
])
@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: c[0])
def test_config_errors_exit_2_in_every_command(tmp_path: Path, toml: str, key: str, command: list[str]) -> None:
    v = tmp_path / "v"
    (v / ".obsidian").mkdir(parents=True)
    (v / "a.md").write_text("# A\n", encoding="utf-8")
    (tmp_path / "outside.json").write_text("{}", encoding="utf-8")
    (v / "vaultkit.toml").write_text(toml, encoding="utf-8")
    result = run(command[0], str(v), *command[1:])
    assert result.exit_code == 2, result.output
    assert "vaultkit.toml" in result.output and key in result.output
    assert "Traceback" not in result.output and "IndexError" not in result.output
    assert not (v / "_vaultkit").exists()


def test_valid_config_values_are_accepted(tmp_path: Path) -> None:
    from vaultkit.config import load_config

    v = tmp_path / "v"
    (v / "schemas").mkdir(parents=True)
    (v / "schemas" / "book.json").write_text('{"type": "object"}', encoding="utf-8")
    (v / "vaultkit.toml").write_text(
        'output = "Generated/vaultkit/"\nselect = ["ALL"]\nextend-select = ["vk1"]\nignore = ["VK105"]\n'
        '[severity]\nVK2 = "info"\n[schemas]\n"Books/**" = "schemas/book.json"\n"Notes/**" = "knowledge-note"\n',
        encoding="utf-8")
    cfg = load_config(v)
    assert cfg.output == "Generated/vaultkit"
    assert cfg.select == ["ALL", "vk1"] and cfg.ignore == ["VK105"] and cfg.severity == {"VK2": "info"}
    assert run("lint", str(v)).exit_code == 0
