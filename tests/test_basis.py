"""A sync after edits that change nothing sync reads stops early, and never leaves stale output.

Whatever path a sync takes (the whole plan, or the early stop of :mod:`vaultkit.basis`), the
generated notes on disk must afterwards be exactly what a sync without any cache writes.
"""

from __future__ import annotations

import os
import random
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from vaultkit.cli import cli
from vaultkit.commands.sync import run_sync
from vaultkit.techniques import build_techniques
from vaultkit.vault import Vault

from .conftest import EUGENE, make_writable, need, random_line_edit, small_synthetic_vault

EARLY = "none in what sync reads: nothing to write"


def _sync(root: Path) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["sync", str(root), "-q"], catch_exceptions=False)
    return result.exit_code, result.output


def _settle(root: Path, expect: int = 0) -> None:
    """Sync until a sync writes nothing (that one records the basis); each exits with ``expect``."""
    for _ in range(3):
        code, out = _sync(root)
        assert code == expect, out
        if "created 0, updated 0, removed 0" in out or "(no " in out:
            return
    pytest.fail(f"sync does not settle: {out}")


def _assert_up_to_date(root: Path) -> None:
    _, _, report = run_sync(root, mode_name="check", cache=False)
    assert not report.changed, [(o.path, o.action) for o in report.outcomes if o.action != "unchanged"]


def _append(path: Path, text: str) -> None:
    with open(path, "a", encoding="utf-8") as fh:
        fh.write(text)


def _replace(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, old
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


@pytest.fixture
def eugene_synced(tmp_path: Path) -> Path:
    root = tmp_path / "v"
    make_writable(shutil.copytree(need(EUGENE), root, ignore=shutil.ignore_patterns(".vaultkit")))
    _settle(root)
    return root


def test_prose_edits_stop_early_and_everything_else_syncs_in_full(eugene_synced: Path) -> None:
    root = eugene_synced
    vault = Vault.load(root)
    techs = build_techniques(vault)
    ranked_path = techs[0].rows[0].note
    ranked = root / ranked_path
    other = next(n for n in vault.user_notes() if n.path != ranked_path and n.links and not n.tables)
    plain = root / other.path
    target = next(n for n in vault.user_notes() if n.path not in (ranked_path, other.path)).path
    row = techs[0].rows[0]
    line = ranked.read_text(encoding="utf-8").split("\n")[row.line - 1]

    def edit_then_sync(edit, early: bool) -> str:
        edit()
        code, out = _sync(root)
        assert (EARLY in out) is early, out
        _assert_up_to_date(root)
        if not early:
            _settle(root)
        return out

    # prose that names no technique and moves no line sync reads: the early stop
    edit_then_sync(lambda: _append(plain, "\nOne more closing thought, in plain words.\n"), True)
    edit_then_sync(lambda: _append(ranked, "\n%% a private comment %%\n"), True)
    edit_then_sync(lambda: _append(plain, "\nAnd another.\n") or _append(ranked, "\nAnd a third.\n"), True)
    os.utime(plain)  # touched, not changed
    code, out = _sync(root)
    assert code == 0 and "(no note changed since the last sync)" in out, out

    # anything sync reads: the whole sync
    edit_then_sync(lambda: _append(plain, f"\nSee [[{Path(target).stem}]].\n"), False)
    edit_then_sync(lambda: _append(plain, f"\nWe now rely on {techs[0].name} daily.\n"), False)
    edit_then_sync(lambda: _replace(plain, "\n", "\nA new first line of the note.\n"), False)
    edit_then_sync(lambda: _replace(ranked, line, line.replace("|", "| 🟢", 1)
                                    if "🟢" not in line else line.replace("🟢", "🔴", 1)), False)
    edit_then_sync(lambda: _append(plain, "\n%% vaultkit:begin tier-ladder %%\n%% vaultkit:end tier-ladder %%\n"),
                   False)
    edit_then_sync(lambda: _append(plain, "\n#a-new-tag\n"), False)
    edit_then_sync(lambda: (root / "picture.png").write_bytes(b"\x89PNG"), False)
    edit_then_sync(lambda: (root / "picture.png").rename(root / "picture2.png"), False)


def test_frontmatter_edits_sync_in_full(eugene_synced: Path) -> None:
    root = eugene_synced
    vault = Vault.load(root)
    note = next(n for n in vault.user_notes()
                if isinstance(n.frontmatter, dict) and n.frontmatter.get("FeedbackLoop"))
    path = root / note.path
    text = path.read_text(encoding="utf-8")
    head, sep, body = text.partition("\n---\n")
    assert sep
    # a frontmatter line added (the FeedbackLoop names move down a line): the whole sync
    path.write_text(head.replace("\n", "\nextra_key: 1\n", 1) + sep + body, encoding="utf-8")
    code, out = _sync(root)
    assert EARLY not in out, out
    _assert_up_to_date(root)


def test_a_hand_edited_generated_note_is_still_reported(eugene_synced: Path) -> None:
    root = eugene_synced
    generated = sorted((root / "_vaultkit" / "Techniques").glob("*.md"))[0]
    _append(generated, "\nMy own words.\n")
    _append(next(root.glob("*/*.md")), "\nPlain prose.\n")
    code, out = _sync(root)
    assert code == 1 and EARLY not in out, out  # kept: edited by hand
    assert "My own words." in generated.read_text(encoding="utf-8")


def test_settings_change_syncs_in_full(eugene_synced: Path) -> None:
    root = eugene_synced
    (root / "vaultkit.toml").write_text('exclude = ["Nothing/**"]\n', encoding="utf-8")
    _settle(root)
    _append(next(root.glob("*/*.md")), "\nPlain prose.\n")
    code, out = _sync(root)
    assert EARLY in out, out
    (root / "vaultkit.toml").write_text('exclude = ["Nothing/**", "Neither/**"]\n', encoding="utf-8")
    code, out = _sync(root)
    assert EARLY not in out and "(no " not in out, out
    _assert_up_to_date(root)


def test_random_edits_never_leave_stale_output(tmp_path: Path) -> None:
    """Words and lines inserted, deleted and copied anywhere in random notes of a synthetic vault
    (inside links, tables, frontmatter and code too): after each sync the output is what a sync
    without cache writes, whichever way the sync went."""
    root = tmp_path / "v"
    notes = small_synthetic_vault(root, 11)
    _settle(root)
    rng = random.Random(5)
    names = [t.name for t in build_techniques(Vault.load(root))][:20]
    words = (["plain", "Tier 2", "[[", "]]", "|", "#tag", "%%", "`", "$", "---", "the"]
             + [f"[[{p.stem}]]" for p in notes[:10]] + names + [f"[[{n}]]" for n in names])
    early = 0
    endings = (["A closing sentence.", "%% note to self %%", "more prose here"]
               + [f"See [[{p.stem}]]." for p in notes[:3]] + names[:3] + [f"Read [[{n}]]." for n in names[:3]])
    for step in range(30):
        random_line_edit(rng.choice(notes), rng, words, endings)
        code, out = _sync(root)
        assert code in (0, 1), out
        early += EARLY in out
        _assert_up_to_date(root)
        if EARLY not in out:
            _settle(root)
    assert 3 <= early < 30  # the appended prose at least, but not the appended links


def test_file_names_holding_line_breaks_cannot_pass_for_others() -> None:
    from vaultkit.basis import _files_key

    assert _files_key({"a\nb": 0, "c": 0}) != _files_key({"a": 0, "b\nc": 0})


def test_dangling_symlinks_and_loops_count_as_files(eugene_synced: Path) -> None:
    root = eugene_synced
    prose = next(root.glob("*/*.md"))
    (root / "Gone.md").symlink_to(root / "no-such-target.md")
    _append(prose, "\nPlain prose.\n")
    code, out = _sync(root)
    assert EARLY not in out and "(no " not in out, out
    # (notes that cannot be read: named by every sync, the early stops too, which exit 1 as well)
    assert code == 1 and "warning: Gone.md: cannot read file: No such file or directory" in out
    _assert_up_to_date(root)
    _settle(root, expect=1)
    (root / "Loop.md").symlink_to(root / "Loop.md")
    code, out = _sync(root)
    assert EARLY not in out and "(no " not in out, out
    assert code == 1 and "warning: Loop.md: cannot read file: Too many levels of symbolic links" in out
    _assert_up_to_date(root)
    _settle(root, expect=1)
    (root / "Gone.md").unlink()
    (root / "Loop.md").unlink()
    _append(prose, "\nMore prose.\n")
    code, out = _sync(root)
    # (the files are those of the basis recorded before the links were made, and the notes left out were
    # in no generated note: stopping early is right here, and so is a whole sync)
    assert code == 0 and "warning" not in out
    _assert_up_to_date(root)


def test_a_generated_note_edited_just_after_the_writer_looked_is_still_reported(eugene_synced: Path,
                                                                               monkeypatch) -> None:
    from vaultkit import writer

    root = eugene_synced
    prose = next(root.glob("*/*.md"))
    edited = root / "_vaultkit" / "Cost to value.md"
    real = writer.apply

    def apply_then_edit(*args, **kwargs):
        report = real(*args, **kwargs)
        with open(edited, "a", encoding="utf-8") as fh:
            fh.write("my hand edit\n")
        return report

    _append(prose, "\n## A new heading\n")  # a whole sync
    monkeypatch.setattr(writer, "apply", apply_then_edit)
    _sync(root)
    monkeypatch.setattr(writer, "apply", real)
    _append(prose, "\nJust prose.\n")
    code, out = _sync(root)
    assert code == 1 and EARLY not in out, out
    assert "my hand edit" in edited.read_text(encoding="utf-8")


def test_the_early_stop_does_not_depend_on_how_the_vault_is_named(eugene_synced: Path, monkeypatch) -> None:
    root = eugene_synced
    (root / "vaultkit.toml").write_text('exclude = ["Nothing/**"]\n', encoding="utf-8")
    _settle(root)
    _append(next(root.glob("*/*.md")), "\nPlain prose.\n")
    monkeypatch.chdir(root.parent)
    result = CliRunner().invoke(cli, ["sync", root.name, "-q"], catch_exceptions=False)
    assert EARLY in result.output, result.output


def test_dates_in_frontmatter_do_not_break_the_facts(tmp_path: Path) -> None:
    (tmp_path / "A.md").write_text("---\nd: !!timestamp 2020-01-01\n---\nbody [[B]]\n", encoding="utf-8")
    (tmp_path / "B.md").write_text("# B\n", encoding="utf-8")
    _settle(tmp_path)
    _append(tmp_path / "A.md", "\nMore prose.\n")
    code, out = _sync(tmp_path)
    assert code == 0 and EARLY in out, out
