"""Files and folders that cannot be read: named by sync, lint and the API, never skipped in silence.

Tests run as root in CI, where permissions do not stop a read: the failing reads are made by
patching the one reading function (``os.scandir`` in discovery, ``read_regular`` for a note), in a
process with no workers. One test uses real permissions and runs only as another user.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from click.testing import CliRunner

import vaultkit.discover as discover_mod
import vaultkit.vault as vault_mod
from vaultkit.cli import cli
from vaultkit.discover import discover
from vaultkit.errors import VaultNotFoundError
from vaultkit.vault import Vault

from .conftest import SAMPLE_VAULT

OLD = 1_600_000_000_000_000_000  # 2020-09-13


@pytest.fixture
def vault(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("VAULTKIT_WORKERS", "1")  # (reads in this process, where the patches apply)
    root = tmp_path / "v"
    (root / "Sub").mkdir(parents=True)
    (root / "A.md").write_text("# A\nSee [[B]] and [[C]].\n", encoding="utf-8")
    (root / "B.md").write_text("# B\nBack to [[A]] #from-b\n", encoding="utf-8")
    (root / "Sub" / "C.md").write_text("# C\n[[A]]\n", encoding="utf-8")
    for note in ("A.md", "B.md", "Sub/C.md"):  # (old enough for the early stop's stamp to be trusted)
        os.utime(root / note, ns=(OLD, OLD))
    return root


def _deny(monkeypatch: pytest.MonkeyPatch, root: Path, *, files: tuple[str, ...] = (),
          folders: tuple[str, ...] = ()) -> None:
    """Make reading these vault paths fail with EACCES, as ``chmod 000`` does for another user."""
    denied_files = {os.fspath(root / rel) for rel in files}
    denied_folders = {os.fspath(root / rel) for rel in folders}
    real_scandir, real_read = os.scandir, vault_mod.read_regular

    def scandir(path="."):
        if os.fspath(path) in denied_folders:
            raise PermissionError(13, "Permission denied", os.fspath(path))
        return real_scandir(path)

    def read_regular(path):
        if os.fspath(path) in denied_files:
            raise PermissionError(13, "Permission denied", os.fspath(path))
        return real_read(path)

    monkeypatch.setattr(discover_mod.os, "scandir", scandir)
    monkeypatch.setattr(vault_mod, "read_regular", read_regular)


def test_discover_names_a_folder_it_cannot_list(vault: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _deny(monkeypatch, vault, folders=("Sub",))
    unreadable: list[tuple[str, str]] = []
    files, notes = discover(vault, unreadable=unreadable)
    assert files == ["A.md", "B.md"] and sorted(notes) == ["A.md", "B.md"]
    assert unreadable == [("Sub/", "Permission denied")]


def test_a_vault_folder_that_cannot_be_listed_is_an_error(vault: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(discover_mod.os, "scandir", lambda path=".": (_ for _ in ()).throw(
        PermissionError(13, "Permission denied", os.fspath(path))))
    with pytest.raises(VaultNotFoundError, match="cannot read the vault folder .*Permission denied"):
        Vault.load(vault)


def test_load_lists_what_it_could_not_read(vault: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _deny(monkeypatch, vault, files=("B.md",), folders=("Sub",))
    loaded = Vault.load(vault)
    assert [(d.path, d.code, d.severity, d.message) for d in loaded.unread()] == [
        ("B.md", "VK004", "error", "cannot read file: Permission denied (left out)"),
        ("Sub/", "VK004", "error", "cannot read folder: Permission denied (the files in it are left out)"),
    ]
    assert "from-b" not in {tag for note in loaded.notes.values() for tag in note.tags}
    assert set(loaded.unread()) <= set(loaded.all_diagnostics())  # (lint reports the same)


def test_sync_warns_exits_1_and_reads_them_again_once_readable(vault: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    with monkeypatch.context() as patch:
        _deny(patch, vault, files=("B.md",), folders=("Sub",))
        outputs = []
        for _ in range(3):  # the first writes, the second finds all as planned, the third stops early ...
            result = CliRunner().invoke(cli, ["sync", "-q", str(vault)], catch_exceptions=False)
            assert result.exit_code == 1, result.output  # ... and each names what it could not read
            assert result.stderr.splitlines() == [
                "warning: B.md: cannot read file: Permission denied (left out)",
                "warning: Sub/: cannot read folder: Permission denied (the files in it are left out)",
            ]
            assert result.stdout.startswith("1 note, ")  # (B is left out: neither counted nor listed)
            outputs.append(result.stdout)
        assert outputs[2].rstrip().endswith("(no file changed since the last sync)")
        index = (vault / "_vaultkit" / "Vault index.md").read_text(encoding="utf-8")
        assert "[[A]]" in index and "[[B]]" not in index and index.count("\n1 notes, ") == 1
    # permissions mended (chmod changes neither size nor mtime): the next sync reads both at once
    result = CliRunner().invoke(cli, ["sync", "-q", str(vault)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert result.stderr == "" and result.stdout.startswith("3 notes, 4 links (4 resolved, 0 unresolved)")


def test_lint_reports_an_unreadable_folder(vault: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _deny(monkeypatch, vault, folders=("Sub",))
    result = CliRunner().invoke(cli, ["lint", str(vault)], catch_exceptions=False)
    assert result.exit_code == 1
    assert f"{vault / 'Sub'}/: VK004 [error] cannot read folder: Permission denied" in result.output


@pytest.mark.parametrize("command", [["graph", "--stats"], ["show"]])
def test_graph_and_show_name_what_they_left_out(vault: Path, monkeypatch: pytest.MonkeyPatch,
                                               command: list[str]) -> None:
    _deny(monkeypatch, vault, folders=("Sub",))
    result = CliRunner().invoke(cli, [*command, str(vault)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert result.stderr.splitlines() == [
        "warning: Sub/: cannot read folder: Permission denied (the files in it are left out)"]


def test_lint_of_some_paths_reports_an_unreadable_folder_among_them(vault: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    (vault / "vaultkit.toml").write_text("", encoding="utf-8")
    _deny(monkeypatch, vault, files=("B.md",), folders=("Sub",))
    monkeypatch.chdir(vault)
    result = CliRunner().invoke(cli, ["lint", "Sub", "B.md"], catch_exceptions=False)
    assert result.exit_code == 1
    assert result.output.splitlines()[:2] == [
        "B.md: VK004 [error] cannot read file: Permission denied (left out)",
        "Sub/: VK004 [error] cannot read folder: Permission denied (the files in it are left out)"]
    result = CliRunner().invoke(cli, ["lint", "A.md"], catch_exceptions=False)
    assert "Sub/" not in result.output and "B.md:" not in result.output  # (only what was asked for)


def test_lint_of_a_note_in_a_folder_that_cannot_be_read_reports_the_folder(vault: Path,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    (vault / "vaultkit.toml").write_text("", encoding="utf-8")
    _deny(monkeypatch, vault, folders=("Sub",))
    monkeypatch.chdir(vault)
    result = CliRunner().invoke(cli, ["lint", "Sub/C.md", "A.md"], catch_exceptions=False)
    assert result.exit_code == 1
    assert "Sub/: VK004 [error] cannot read folder: Permission denied" in result.output
    result = CliRunner().invoke(cli, ["lint", "Sub/missing.md"], catch_exceptions=False)
    assert result.exit_code == 2 and "Path 'Sub/missing.md' does not exist." in result.output


def test_lint_and_fix_of_a_vault_folder_that_cannot_be_listed_say_so(vault: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    _deny(monkeypatch, vault, folders=(".",))
    monkeypatch.setattr(discover_mod.os, "scandir", lambda path=".": (_ for _ in ()).throw(
        PermissionError(13, "Permission denied", os.fspath(path))))
    for command in (["lint", str(vault)], ["fix", "--dry-run", str(vault)]):
        result = CliRunner().invoke(cli, command, catch_exceptions=False)
        assert result.exit_code == 2 and "cannot read the vault folder" in result.output, result.output


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0,
                    reason="root reads every file whatever its permissions")
def test_real_permissions(vault: Path) -> None:  # pragma: no cover (CI runs as root)
    (vault / "B.md").chmod(0)
    (vault / "Sub").chmod(0)
    try:
        result = CliRunner().invoke(cli, ["sync", "-q", str(vault)], catch_exceptions=False)
        assert result.exit_code == 1 and "warning: B.md: cannot read file" in result.stderr
        assert "warning: Sub/: cannot read folder" in result.stderr
        result = CliRunner().invoke(cli, ["lint", str(vault / "A.md"), str(vault / "B.md"), str(vault / "Sub")])
        assert result.exit_code == 1 and "B.md: VK004" in result.output and "Sub/: VK004" in result.output
    finally:
        (vault / "Sub").chmod(0o755)
        (vault / "B.md").chmod(0o644)


def test_a_generated_note_that_cannot_be_read_keeps_its_name(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Not taken for a note of the user's (the plan then wrote "<name> 2.md" and linked every note to it)."""
    import shutil

    monkeypatch.setenv("VAULTKIT_WORKERS", "1")
    root = tmp_path / "v"
    shutil.copytree(SAMPLE_VAULT, root, ignore=shutil.ignore_patterns(".vaultkit"))
    assert CliRunner().invoke(cli, ["sync", "-q", str(root)], catch_exceptions=False).exit_code == 0
    before = sorted(p.name for p in (root / "_vaultkit" / "Techniques").iterdir())
    _deny(monkeypatch, root, files=("_vaultkit/Techniques/LoRA QLoRA (adapter tuning).md",))
    result = CliRunner().invoke(cli, ["sync", "-q", "--no-cache", str(root)], catch_exceptions=False)
    assert result.exit_code == 1, result.output  # (the writer, not patched here, still reads it: unchanged)
    assert result.stderr.splitlines() == [
        "warning: _vaultkit/Techniques/LoRA QLoRA (adapter tuning).md: cannot read file: Permission denied (left out)"]
    assert result.stdout.startswith("1 note, ") and "created 0, updated 0, removed 0" in result.stdout
    assert sorted(p.name for p in (root / "_vaultkit" / "Techniques").iterdir()) == before


def test_no_generated_note_is_removed_while_a_note_cannot_be_read(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """The note holding the tier table unreadable for a moment: its technique notes stay (before: removed, and
    made again once it was readable: churn in git and in Obsidian for a passing problem)."""
    import shutil

    monkeypatch.setenv("VAULTKIT_WORKERS", "1")
    root = tmp_path / "v"
    shutil.copytree(SAMPLE_VAULT, root, ignore=shutil.ignore_patterns(".vaultkit"))
    assert CliRunner().invoke(cli, ["sync", "-q", str(root)], catch_exceptions=False).exit_code == 0
    before = sorted(p.relative_to(root).as_posix() for p in (root / "_vaultkit").rglob("*.md"))
    with monkeypatch.context() as patch:
        _deny(patch, root, files=("22_AI_Research_mainstream/Production AI Techniques Tiered Table.md",))
        result = CliRunner().invoke(cli, ["sync", "-q", "--no-cache", str(root)], catch_exceptions=False)
        assert result.exit_code == 1 and "removed 0" in result.stdout, result.output
    assert sorted(p.relative_to(root).as_posix() for p in (root / "_vaultkit").rglob("*.md")) == before
    result = CliRunner().invoke(cli, ["sync", "-q", "--no-cache", str(root)], catch_exceptions=False)
    assert result.exit_code == 0 and "created 0" in result.stdout and "removed 0" in result.stdout, result.output


def test_a_dangling_symlink_is_named_and_left_out_of_the_index(tmp_path: Path) -> None:
    root = tmp_path / "v"
    root.mkdir()
    (root / "A.md").write_text("# A\n", encoding="utf-8")
    (root / "Gone.md").symlink_to(tmp_path / "nowhere.md")
    result = CliRunner().invoke(cli, ["sync", "-q", str(root)], catch_exceptions=False)
    assert result.exit_code == 1, result.output
    assert result.stderr == "warning: Gone.md: cannot read file: No such file or directory (left out)\n"
    assert result.stdout.startswith("1 note, ")
    index = (root / "_vaultkit" / "Vault index.md").read_text(encoding="utf-8")
    assert "[[A]]" in index and "Gone" not in index
