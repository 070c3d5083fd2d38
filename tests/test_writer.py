"""Safe write-back (issue 4): real files in temporary vaults."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path

import pytest

from tests.conftest import CASES, need
from vaultkit import writer
from vaultkit.errors import UnsafePathError
from vaultkit.writer import (
    PlannedFile,
    PlannedRegion,
    WriteMode,
    apply,
    content_hash,
    ownership,
    render_with_marker,
    replace_user_file,
    strip_marker,
)

OUT = "_vaultkit"


def snapshot(root: Path) -> dict[str, tuple[bytes, int]]:
    """Every file under ``root`` (dot-folders included): bytes and mtime."""
    out = {}
    for dirpath, _dirs, names in os.walk(root):
        for n in names:
            p = Path(dirpath) / n
            out[p.relative_to(root).as_posix()] = (p.read_bytes(), p.stat().st_mtime_ns)
    return out


def note(title: str, body: str = "") -> str:
    return f"---\ntitle: {title}\n---\n# {title}\n{body}"


def actions(report) -> dict[str, str]:
    return {o.path: o.action for o in report.outcomes}


# ----------------------------------------------------------------- marker


def test_marker_is_last_frontmatter_key_and_round_trips():
    text = "---\ntitle: A\ntags:\n  - x\n---\nBody [[B]]\n"
    out = render_with_marker(text)
    lines = out.split("\n")
    assert lines[:4] == ["---", "title: A", "tags:", "  - x"]
    assert lines[4].startswith('vaultkit: {generator: vaultkit, version: "')
    assert lines[5] == "---"
    stripped, marker = strip_marker(out)
    assert stripped == text
    assert marker is not None and marker[1] == hashlib.sha256(text.encode()).hexdigest()
    assert ownership(out) == "clean"
    # the marker is valid YAML and reads as a mapping
    from vaultkit.frontmatter import load_yaml, split_frontmatter

    data = load_yaml(split_frontmatter(out).yaml).data
    assert data["vaultkit"]["generator"] == "vaultkit"
    assert data["vaultkit"]["hash"] == "sha256:" + marker[1]
    assert data["title"] == "A" and data["tags"] == ["x"]


def test_note_without_frontmatter_gets_one():
    out = render_with_marker("# Only body\n")
    assert out.startswith("---\nvaultkit: {")
    assert out.endswith("---\n# Only body\n")
    assert ownership(out) == "clean"


def test_planned_text_with_vaultkit_key_is_refused(tmp_path):
    r = apply(tmp_path, OUT, [PlannedFile(f"{OUT}/a.md", "---\nvaultkit: 1\n---\n")])
    assert actions(r) == {f"{OUT}/a.md": "refused-text"}
    assert not (tmp_path / OUT / "a.md").exists()


def test_reformatted_marker_counts_as_owned_but_edited():
    text = "---\ntitle: A\nvaultkit:\n  generator: vaultkit\n  hash: x\n---\n"
    assert ownership(text) == "edited"
    assert ownership("---\nvaultkit: [1]\n---\n") == "user"


# ----------------------------------------------------------------- create / unchanged / update


def test_create_then_unchanged_keeps_mtime(tmp_path):
    files = [PlannedFile(f"{OUT}/A.md", note("A")), PlannedFile(f"{OUT}/sub/B.md", note("B"))]
    r1 = apply(tmp_path, OUT, files)
    assert (r1.created, r1.updated, r1.unchanged, r1.removed, r1.skipped) == (2, 0, 0, 0, 0)
    assert r1.changed
    before = snapshot(tmp_path)
    os.utime(tmp_path / OUT / "A.md", ns=(1_000_000_000, 1_000_000_000))
    before[f"{OUT}/A.md"] = (before[f"{OUT}/A.md"][0], 1_000_000_000)
    r2 = apply(tmp_path, OUT, files)
    assert (r2.created, r2.updated, r2.unchanged) == (0, 0, 2)
    assert not r2.changed
    assert snapshot(tmp_path) == before


def test_update_when_generated_text_changes(tmp_path):
    p = f"{OUT}/A.md"
    apply(tmp_path, OUT, [PlannedFile(p, note("A", "one\n"))])
    r = apply(tmp_path, OUT, [PlannedFile(p, note("A", "two\n"))])
    assert actions(r) == {p: "updated"}
    text = (tmp_path / p).read_text(encoding="utf-8")
    assert text.endswith("# A\ntwo\n") and ownership(text) == "clean"


def test_version_change_alone_does_not_rewrite(tmp_path, monkeypatch):
    p = f"{OUT}/A.md"
    apply(tmp_path, OUT, [PlannedFile(p, note("A"))])
    before = snapshot(tmp_path)
    monkeypatch.setattr(writer, "__version__", "9.9.9")
    monkeypatch.setattr(writer.render_with_marker, "__defaults__", ("9.9.9",))
    r = apply(tmp_path, OUT, [PlannedFile(p, note("A"))])
    assert actions(r) == {p: "unchanged"}
    assert snapshot(tmp_path) == before


def test_existing_crlf_and_bom_of_a_generated_note_are_kept(tmp_path):
    p = f"{OUT}/A.md"
    apply(tmp_path, OUT, [PlannedFile(p, note("A", "one\n"))])
    f = tmp_path / p
    f.write_bytes(b"\xef\xbb\xbf" + f.read_bytes().replace(b"\n", b"\r\n"))  # e.g. a sync client did this
    assert ownership(writer._normalize(f.read_bytes().decode("utf-8"))) == "clean"
    r = apply(tmp_path, OUT, [PlannedFile(p, note("A", "two\n"))])
    assert actions(r) == {p: "updated"}
    data = f.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf---\r\n")
    assert b"\n" not in data.replace(b"\r\n", b"")
    assert data.endswith(b"two\r\n")


# ----------------------------------------------------------------- user's words survive


def test_hand_edited_generated_note_survives(tmp_path):
    p = f"{OUT}/A.md"
    apply(tmp_path, OUT, [PlannedFile(p, note("A", "gen\n"))])
    f = tmp_path / p
    f.write_bytes(f.read_bytes() + b"My own thought.\n")
    before = snapshot(tmp_path)
    for mode in WriteMode:
        r = apply(tmp_path, OUT, [PlannedFile(p, note("A", "gen v2\n"))], mode=mode)
        assert actions(r) == {p: "skipped-edited"}, mode
        assert not r.changed
        assert snapshot(tmp_path) == before
    # and it is not pruned either
    r = apply(tmp_path, OUT, [])
    assert actions(r) == {p: "skipped-edited"}
    assert snapshot(tmp_path) == before
    # --force overrides
    r = apply(tmp_path, OUT, [PlannedFile(p, note("A", "gen v2\n"))], force=True)
    assert actions(r) == {p: "updated"}
    assert b"My own thought" not in f.read_bytes()


def test_edited_frontmatter_also_counts_as_edit(tmp_path):
    p = f"{OUT}/A.md"
    apply(tmp_path, OUT, [PlannedFile(p, note("A"))])
    f = tmp_path / p
    f.write_text(f.read_text(encoding="utf-8").replace("title: A\n", "title: A\nstatus: mine\n"), encoding="utf-8")
    before = snapshot(tmp_path)
    r = apply(tmp_path, OUT, [PlannedFile(p, note("A", "x\n"))])
    assert actions(r) == {p: "skipped-edited"}
    assert snapshot(tmp_path) == before


def test_taken_path_survives_even_with_force(tmp_path):
    p = f"{OUT}/Index.md"
    (tmp_path / OUT).mkdir()
    (tmp_path / p).write_bytes(b"---\nstatus: mine\n---\nMy index.\r\n")
    before = snapshot(tmp_path)
    for mode in WriteMode:
        for force in (False, True):
            r = apply(tmp_path, OUT, [PlannedFile(p, note("Index"))], mode=mode, force=force)
            assert actions(r) == {p: "skipped-taken"}
            assert "did not generate" in r.outcomes[0].message
    # a user's note in the output folder is never pruned
    r = apply(tmp_path, OUT, [], force=True)
    assert r.outcomes == []
    assert snapshot(tmp_path) == before


def test_case_022_generated_index_name_taken_by_user_note(tmp_path):
    vault = tmp_path / "v"
    shutil.copytree(need(CASES / "022-generated-index-name-taken-by-user-note" / "vault"), vault)
    before = snapshot(vault)
    # output folder configured onto the user's own folder: the index path is taken
    r = apply(vault, "Projects", [PlannedFile("Projects/Projects.md", note("Projects", "- [[Alpha]]\n"))],
              regions=[PlannedRegion("Projects/Projects.md", "index", "- [[Alpha]]\n- [[Beta]]\n")], force=True)
    got = [(o.path, o.action) for o in r.outcomes]
    assert got == [("Projects/Projects.md", "skipped-taken"), ("Projects/Projects.md", "refused-markers")]
    assert all(o.message for o in r.outcomes)  # says why
    assert snapshot(vault) == before


def test_taken_by_folder_symlink_or_non_utf8(tmp_path):
    out = tmp_path / OUT
    out.mkdir()
    (out / "Dir.md").mkdir()
    (out / "Latin.md").write_bytes(b"caf\xe9\n")
    outside = tmp_path / "outside.md"
    outside.write_text("outside\n")
    (out / "Link.md").symlink_to(outside)
    before = snapshot(tmp_path)
    r = apply(tmp_path, OUT, [PlannedFile(f"{OUT}/{n}.md", note(n)) for n in ("Dir", "Latin", "Link")], force=True)
    assert set(actions(r).values()) == {"skipped-taken"}
    assert snapshot(tmp_path) == before


def test_pruning_removes_only_unmodified_generated_notes(tmp_path):
    a, b, c = (f"{OUT}/t/{n}.md" for n in "ABC")
    apply(tmp_path, OUT, [PlannedFile(a, note("A")), PlannedFile(b, note("B")), PlannedFile(c, note("C"))])
    fb = tmp_path / b
    fb.write_bytes(fb.read_bytes() + b"mine\n")
    r = apply(tmp_path, OUT, [PlannedFile(a, note("A"))], mode=WriteMode.CHECK)
    assert actions(r) == {b: "skipped-edited", c: "removed", a: "unchanged"}
    assert (tmp_path / c).exists()
    r = apply(tmp_path, OUT, [PlannedFile(a, note("A"))])
    assert actions(r) == {b: "skipped-edited", c: "removed", a: "unchanged"}
    assert not (tmp_path / c).exists() and fb.read_bytes().endswith(b"mine\n")
    r = apply(tmp_path, OUT, [PlannedFile(a, note("A"))], prune=False)
    assert actions(r) == {a: "unchanged"}
    # pruning the last note of a folder removes the emptied folder, not the output folder
    r = apply(tmp_path, OUT, [PlannedFile(f"{OUT}/x.md", note("x"))], force=True)
    assert set(actions(r).items()) == {(a, "removed"), (b, "removed"), (f"{OUT}/x.md", "created")}
    assert not (tmp_path / OUT / "t").exists()


# ----------------------------------------------------------------- regions


USER = (
    "\ufeff---\r\ntags: [mine]  # keep\r\n---\r\n"
    "Intro I wrote, with trailing spaces.   \r\n"
    "\r\n"
    "%% vaultkit:begin techniques %%\r\n"
    "%% vaultkit:end techniques %%\r\n"
    "Middle text\n"  # a mixed line ending, kept as is
    "  %% vaultkit:begin tags %%\r\n"
    "%% vaultkit:end tags %%\r\n"
    "Outro without newline"
)


def test_user_text_around_markers_survives_byte_for_byte(tmp_path):
    f = tmp_path / "Notes" / "Mine.md"
    f.parent.mkdir()
    f.write_bytes(USER.encode("utf-8"))
    regs = [PlannedRegion("Notes/Mine.md", "techniques", "- [[LoRA]]\n- [[QLoRA]]\n"),
            PlannedRegion("Notes/Mine.md", "tags", "#a #b")]
    r = apply(tmp_path, OUT, [], regions=regs)
    assert actions(r) == {"Notes/Mine.md": "updated"}
    data = f.read_bytes().decode("utf-8")
    head = USER[1:].split("%% vaultkit:end techniques %%")[0]  # BOM is kept as bytes, not text
    assert data.startswith("\ufeff" + head + "%% vaultkit:hash ")
    assert "%% vaultkit:end techniques %%\r\nMiddle text\n  %% vaultkit:begin tags %%\r\n%% vaultkit:hash " in data
    assert data.endswith("%% vaultkit:end tags %%\r\nOutro without newline")
    assert "- [[LoRA]]\r\n- [[QLoRA]]\r\n%% vaultkit:end techniques" in data
    assert "#a #b\r\n%% vaultkit:end tags" in data
    # user text outside the regions is byte-identical
    def outside(s: str) -> str:
        import re

        return re.sub(r"(%% vaultkit:begin (\w+) %%\r\n).*?(%% vaultkit:end \2 %%)", r"\1\3", s, flags=re.S)

    assert outside(data) == USER
    # second run: unchanged, same mtime
    before = snapshot(tmp_path)
    r = apply(tmp_path, OUT, [], regions=regs)
    assert actions(r) == {"Notes/Mine.md": "unchanged"}
    assert snapshot(tmp_path) == before


def test_region_edited_by_user_is_kept(tmp_path):
    f = tmp_path / "Mine.md"
    f.write_text("a\n%% vaultkit:begin x %%\nI typed here\n%% vaultkit:end x %%\nb\n", encoding="utf-8")
    before = snapshot(tmp_path)
    r = apply(tmp_path, OUT, [], regions=[PlannedRegion("Mine.md", "x", "gen\n")])
    assert actions(r) == {"Mine.md": "skipped-edited"}
    assert snapshot(tmp_path) == before
    r = apply(tmp_path, OUT, [], regions=[PlannedRegion("Mine.md", "x", "gen\n")], force=True)
    assert actions(r) == {"Mine.md": "updated"}
    f.write_text(f.read_text(encoding="utf-8").replace("gen\n", "gen\nmine too\n"), encoding="utf-8")
    before = snapshot(tmp_path)
    r = apply(tmp_path, OUT, [], regions=[PlannedRegion("Mine.md", "x", "gen v2\n")])
    assert actions(r) == {"Mine.md": "skipped-edited"}
    assert snapshot(tmp_path) == before


@pytest.mark.parametrize(
    "body, why",
    [
        ("no markers at all\n", "no markers"),
        ("%% vaultkit:begin x %%\nstuff\n", "no matching end"),
        ("%% vaultkit:end x %%\n%% vaultkit:begin x %%\n", "without a begin"),
        ("%% vaultkit:begin x %%\n%% vaultkit:end x %%\n%% vaultkit:begin x %%\n%% vaultkit:end x %%\n", "twice"),
        ("%% vaultkit:begin x %%\n%% vaultkit:begin y %%\n%% vaultkit:end y %%\n%% vaultkit:end x %%\n", "nest"),
        ("%% vaultkit:begin x %%\n%% vaultkit:begin y %%\n%% vaultkit:end x %%\n%% vaultkit:end y %%\n", "nest"),
        ("%%vaultkit:begin x%%\n%% vaultkit:end x %%\n", "malformed"),
        ("%% VaultKit:Begin x %%\n%% vaultkit:end x %%\n", "malformed"),
        ("text %% vaultkit:begin x %%\n%% vaultkit:end x %%\n", "malformed"),
        ("%% vaultkit:begin y %%\n%% vaultkit:end y %%\n", "no markers for region 'x'"),
    ],
)
def test_bad_markers_refuse_the_note(tmp_path, body, why):
    f = tmp_path / "Mine.md"
    f.write_text("User words.\n" + body + "More user words.\n", encoding="utf-8")
    before = snapshot(tmp_path)
    r = apply(tmp_path, OUT, [], regions=[PlannedRegion("Mine.md", "x", "gen\n")], force=True)
    assert actions(r) == {"Mine.md": "refused-markers"}
    assert why in r.outcomes[0].message
    assert snapshot(tmp_path) == before


def test_region_paths_and_texts_are_checked(tmp_path):
    (tmp_path / ".obsidian").mkdir()
    (tmp_path / ".obsidian" / "x.md").write_text("%% vaultkit:begin x %%\n%% vaultkit:end x %%\n")
    (tmp_path / "N.md").write_text("%% vaultkit:begin x %%\n%% vaultkit:end x %%\n")
    before = snapshot(tmp_path)
    r = apply(tmp_path, OUT, [], regions=[
        PlannedRegion(".obsidian/x.md", "x", "a"),
        PlannedRegion("../N.md", "x", "a"),
        PlannedRegion("Missing.md", "x", "a"),
        PlannedRegion("N.md", "x", "%% vaultkit:end x %%\n"),
    ])
    assert [(o.path, o.action) for o in r.outcomes] == [
        (".obsidian/x.md", "refused-path"), ("../N.md", "refused-path"),
        ("Missing.md", "refused-markers"), ("N.md", "refused-text")]
    assert snapshot(tmp_path) == before


# ----------------------------------------------------------------- changed between read and write


def test_note_changed_between_read_and_write_survives(tmp_path, monkeypatch):
    p = f"{OUT}/A.md"
    apply(tmp_path, OUT, [PlannedFile(p, note("A", "one\n"))])
    f = tmp_path / p
    user = tmp_path / "Mine.md"
    user.write_text("x\n%% vaultkit:begin r %%\n%% vaultkit:end r %%\n", encoding="utf-8")
    new_file = tmp_path / OUT / "New.md"
    calls = []

    def obsidian_edits(target: Path) -> None:
        calls.append(target.name)
        if target.exists():
            data = target.read_bytes()
            st = target.stat()
            # same size, same mtime: only the content hash can tell
            target.write_bytes(data.replace(b"x\n", b"y\n").replace(b"one", b"uno"))
            os.utime(target, ns=(st.st_atime_ns, st.st_mtime_ns))
        else:
            target.write_bytes(b"created by a sync client\n")

    monkeypatch.setattr(writer, "_before_replace", obsidian_edits)
    r = apply(tmp_path, OUT, [PlannedFile(p, note("A", "two\n")), PlannedFile(f"{OUT}/New.md", note("New"))],
              regions=[PlannedRegion("Mine.md", "r", "gen\n")])
    assert sorted(calls) == ["A.md", "Mine.md", "New.md"]
    assert actions(r) == {p: "skipped-changed-on-disk", f"{OUT}/New.md": "skipped-changed-on-disk",
                          "Mine.md": "skipped-changed-on-disk"}
    assert b"uno" in f.read_bytes()
    assert user.read_bytes() == b"y\n%% vaultkit:begin r %%\n%% vaultkit:end r %%\n"
    assert new_file.read_bytes() == b"created by a sync client\n"
    leftovers = [n for n in os.listdir(tmp_path / OUT) if n.startswith(".~vaultkit")]
    assert leftovers == []


# ----------------------------------------------------------------- paths


@pytest.mark.parametrize("path", [
    "../x.md", f"{OUT}/../x.md", f"{OUT}/../../x.md", "/etc/x.md", "Other/x.md", f"{OUT}/.obsidian/x.md",
    f"{OUT}/.git/config", f"{OUT}/./x.md", f"{OUT}//x.md", f"{OUT}\\x.md", f"{OUT}/a:b.md", f"{OUT}/a#b.md",
    f"{OUT}/CON.md", f"{OUT}/x.md.", OUT, f"{OUT}/a|b.md", "C:/x.md",
])
def test_unsafe_planned_paths_are_refused(tmp_path, path):
    before = snapshot(tmp_path)
    r = apply(tmp_path, OUT, [PlannedFile(path, note("x"))])
    assert actions(r) == {path: "refused-path"}
    after = snapshot(tmp_path)
    assert set(after) == set(before)


@pytest.mark.parametrize("output", ["", "/", "..", "../x", ".obsidian", "a/../..", ".git", "/abs"])
def test_unsafe_output_folder_raises(tmp_path, output):
    with pytest.raises(UnsafePathError):
        apply(tmp_path, output, [])


def test_symlinks_never_lead_outside(tmp_path):
    vault = tmp_path / "vault"
    elsewhere = tmp_path / "elsewhere"
    vault.mkdir()
    elsewhere.mkdir()
    (vault / OUT).mkdir()
    (vault / OUT / "ext").symlink_to(elsewhere, target_is_directory=True)
    r = apply(vault, OUT, [PlannedFile(f"{OUT}/ext/x.md", note("x"))])
    assert actions(r) == {f"{OUT}/ext/x.md": "refused-path"}
    assert list(elsewhere.iterdir()) == []
    # output folder itself a symlink out of the vault
    (vault / "out2").symlink_to(elsewhere, target_is_directory=True)
    with pytest.raises(UnsafePathError):
        apply(vault, "out2", [PlannedFile("out2/x.md", note("x"))])
    assert list(elsewhere.iterdir()) == []
    # pruning does not follow symlinked folders
    g = elsewhere / "g.md"
    g.write_text(render_with_marker(note("g")), encoding="utf-8")
    r = apply(vault, OUT, [])
    assert g.exists() and r.outcomes == []


def test_duplicate_planned_paths_case_insensitive(tmp_path):
    r = apply(tmp_path, OUT, [PlannedFile(f"{OUT}/Note.md", note("1")), PlannedFile(f"{OUT}/note.md", note("2"))])
    assert [(o.path, o.action) for o in r.outcomes] == [(f"{OUT}/Note.md", "created"),
                                                        (f"{OUT}/note.md", "refused-duplicate")]
    assert sorted(os.listdir(tmp_path / OUT)) == ["Note.md"]


# ----------------------------------------------------------------- modes


def test_check_diff_dry_run_write_nothing(tmp_path):
    a, b = f"{OUT}/A.md", f"{OUT}/B.md"
    apply(tmp_path, OUT, [PlannedFile(a, note("A", "one\n")), PlannedFile(b, note("B"))])
    (tmp_path / "U.md").write_text("%% vaultkit:begin r %%\n%% vaultkit:end r %%\n", encoding="utf-8")
    before = snapshot(tmp_path)
    plan = [PlannedFile(a, note("A", "two\n")), PlannedFile(f"{OUT}/C.md", note("C"))]
    regs = [PlannedRegion("U.md", "r", "gen\n")]
    for mode in (WriteMode.CHECK, WriteMode.DIFF, WriteMode.DRY_RUN):
        r = apply(tmp_path, OUT, plan, regions=regs, mode=mode)
        assert r.changed
        assert actions(r) == {b: "removed", a: "updated", f"{OUT}/C.md": "created", "U.md": "updated"}
        assert r.summary().startswith("would create 1, update 2, remove 1")
        assert snapshot(tmp_path) == before
        if mode is WriteMode.DIFF:
            d = {o.path: o.diff for o in r.outcomes}
            assert d[a].startswith(f"--- a/{a}\n+++ b/{a}\n@@")
            assert "-one\n+two\n" in d[a]
            assert d[f"{OUT}/C.md"].startswith(f"--- /dev/null\n+++ b/{OUT}/C.md\n")
            assert d[b].startswith(f"--- a/{b}\n+++ /dev/null\n")
            assert "+gen\n" in d["U.md"]
            assert all("\t" not in x.split("\n", 2)[0] for x in d.values())  # no timestamps
        else:
            assert all(o.diff is None for o in r.outcomes)
    r = apply(tmp_path, OUT, plan, regions=regs)
    assert r.summary() == "created 1, updated 2, removed 1, unchanged 0, skipped 0"
    r = apply(tmp_path, OUT, plan, regions=regs, mode=WriteMode.CHECK)
    assert not r.changed


def test_stale_temp_files_are_cleaned(tmp_path):
    (tmp_path / OUT / "sub").mkdir(parents=True)
    stale = tmp_path / OUT / "sub" / ".~vaultkit-0123456789abcdef.tmp"
    stale.write_bytes(b"partial")
    mine = tmp_path / OUT / ".~vaultkit-notes.tmp"  # not our pattern: left alone
    mine.write_bytes(b"x")
    apply(tmp_path, OUT, [], mode=WriteMode.CHECK)
    assert stale.exists()
    apply(tmp_path, OUT, [])
    assert not stale.exists() and mine.exists()


def test_busy_lock(tmp_path):
    import fcntl

    (tmp_path / OUT).mkdir()
    fd = os.open(tmp_path / OUT, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        with pytest.raises(writer.WriterBusyError):
            apply(tmp_path, OUT, [PlannedFile(f"{OUT}/a.md", note("a"))])
        r = apply(tmp_path, OUT, [PlannedFile(f"{OUT}/a.md", note("a"))], mode=WriteMode.CHECK)
        assert actions(r) == {f"{OUT}/a.md": "created"}
    finally:
        os.close(fd)


def test_file_mode_is_kept(tmp_path):
    p = f"{OUT}/A.md"
    apply(tmp_path, OUT, [PlannedFile(p, note("A"))])
    os.chmod(tmp_path / p, 0o600)
    apply(tmp_path, OUT, [PlannedFile(p, note("A", "new\n"))])
    assert (tmp_path / p).stat().st_mode & 0o777 == 0o600


# ----------------------------------------------------------------- replace_user_file


def test_replace_user_file_keeps_newlines_bom_and_checks_hash(tmp_path, monkeypatch):
    f = tmp_path / "Mine.md"
    raw = b"\xef\xbb\xbf---\r\na: 1\r\n---\r\nline one\nline two\r\n"  # mixed endings
    f.write_bytes(raw)
    h = hashlib.sha256(raw).hexdigest()
    before = snapshot(tmp_path)
    for mode in (WriteMode.CHECK, WriteMode.DRY_RUN, WriteMode.DIFF):
        o = replace_user_file(tmp_path, "Mine.md", "---\na: 2\n---\nline one\nline two\n", h, mode)
        assert o.action == "updated"
        assert (o.diff is not None) == (mode is WriteMode.DIFF)
        assert snapshot(tmp_path) == before
    o = replace_user_file(tmp_path, "Mine.md", "---\na: 1\n---\nline one\nline two\n", h, WriteMode.WRITE)
    assert o.action == "unchanged" and snapshot(tmp_path) == before
    o = replace_user_file(tmp_path, "Mine.md", "---\na: 2\n---\nline one\nline two\n", h, WriteMode.WRITE)
    assert o.action == "updated"
    assert f.read_bytes() == b"\xef\xbb\xbf---\r\na: 2\r\n---\r\nline one\nline two\r\n"
    # stale hash: refused
    o = replace_user_file(tmp_path, "Mine.md", "x\n", h, WriteMode.WRITE)
    assert o.action == "skipped-changed-on-disk"
    # changed between read and replace
    h2 = hashlib.sha256(f.read_bytes()).hexdigest()
    monkeypatch.setattr(writer, "_before_replace", lambda t: t.write_bytes(b"sync client\n"))
    o = replace_user_file(tmp_path, "Mine.md", "x\n", h2, WriteMode.WRITE)
    assert o.action == "skipped-changed-on-disk"
    assert f.read_bytes() == b"sync client\n"


def test_replace_user_file_refusals(tmp_path):
    (tmp_path / "cp.md").write_bytes(b"caf\xe9\n")
    h = hashlib.sha256(b"caf\xe9\n").hexdigest()
    assert replace_user_file(tmp_path, "cp.md", "cafe\n", h).action == "refused-encoding"
    assert replace_user_file(tmp_path, "../cp.md", "x", h).action == "refused-path"
    assert replace_user_file(tmp_path, ".obsidian/app.json", "x", h).action == "refused-path"
    assert replace_user_file(tmp_path, "gone.md", "x", h).action == "skipped-changed-on-disk"
    assert (tmp_path / "cp.md").read_bytes() == b"caf\xe9\n"


def test_content_hash_ignores_marker_only():
    t = render_with_marker("---\na: 1\n---\nx\n")
    assert content_hash(t) == hashlib.sha256(b"---\na: 1\n---\nx\n").hexdigest()


def test_name_differing_only_in_case_is_taken(tmp_path):
    (tmp_path / OUT).mkdir()
    (tmp_path / OUT / "note.md").write_text("mine\n", encoding="utf-8")
    before = snapshot(tmp_path)
    r = apply(tmp_path, OUT, [PlannedFile(f"{OUT}/Note.md", note("Note"))], force=True)
    assert actions(r) == {f"{OUT}/Note.md": "skipped-taken"}
    assert "differ only in case" in r.outcomes[0].message or "note.md" in r.outcomes[0].message
    assert snapshot(tmp_path) == before


def test_generated_note_renamed_by_case_is_replaced_cleanly(tmp_path):
    apply(tmp_path, OUT, [PlannedFile(f"{OUT}/note.md", note("note"))])
    r = apply(tmp_path, OUT, [PlannedFile(f"{OUT}/Note.md", note("Note"))])
    assert [(o.path, o.action) for o in r.outcomes] == [(f"{OUT}/note.md", "removed"), (f"{OUT}/Note.md", "created")]
    assert os.listdir(tmp_path / OUT) == ["Note.md"]


def test_regions_never_go_into_generated_notes(tmp_path):
    p = f"{OUT}/A.md"
    apply(tmp_path, OUT, [PlannedFile(p, note("A", "%% vaultkit:begin x %%\n%% vaultkit:end x %%\n"))])
    before = snapshot(tmp_path)
    r = apply(tmp_path, OUT, [PlannedFile(p, note("A", "%% vaultkit:begin x %%\n%% vaultkit:end x %%\n"))],
              regions=[PlannedRegion(p, "x", "gen\n")])
    assert [(o.path, o.action) for o in r.outcomes] == [(p, "unchanged"), (p, "refused-markers")]
    assert snapshot(tmp_path) == before


def test_replace_user_file_bom_and_encoding_options(tmp_path):
    f = tmp_path / "A.md"
    f.write_bytes(b"\xef\xbb\xbfa\r\n")
    h = hashlib.sha256(f.read_bytes()).hexdigest()
    assert replace_user_file(tmp_path, "A.md", "a\n", h, bom=False).action == "updated"
    assert f.read_bytes() == b"a\r\n"
    f.write_bytes(b"caf\xe9\n")
    h = hashlib.sha256(f.read_bytes()).hexdigest()
    assert replace_user_file(tmp_path, "A.md", "café\n", h, source_encoding="utf-8").action == "refused-encoding"
    assert f.read_bytes() == b"caf\xe9\n"
    assert replace_user_file(tmp_path, "A.md", "café\n", h, source_encoding="cp1252").action == "updated"
    assert f.read_bytes() == "café\n".encode()


def test_writer_name_check_is_at_least_as_strict_as_pathvalidate():
    from hypothesis import given, settings
    from hypothesis import strategies as st
    from pathvalidate import is_valid_filename

    from vaultkit.names import safe_name

    @settings(max_examples=400, deadline=None)
    @given(st.text(min_size=1, max_size=60))
    def prop(name):
        if writer._bad_name([name]) == "":
            assert is_valid_filename(name, platform="universal"), name
        assert writer._bad_name([safe_name(name) + ".md"]) == ""

    prop()
    for name in ["CON", "con.md", "COM1.txt", "LPT¹", "a ", "a.", " a", "a" * 256, "nul.tar.gz"]:
        assert writer._bad_name([name]) != "", name


def test_note_changed_just_before_prune_survives(tmp_path, monkeypatch):
    p = f"{OUT}/Old.md"
    apply(tmp_path, OUT, [PlannedFile(p, note("Old"))])
    f = tmp_path / p

    def user_types(target: Path) -> None:
        target.write_bytes(target.read_bytes() + b"typed just now\n")

    monkeypatch.setattr(writer, "_before_replace", user_types)
    r = apply(tmp_path, OUT, [])
    assert actions(r) == {p: "skipped-changed-on-disk"}
    assert f.read_bytes().endswith(b"typed just now\n")


# ----------------------------------------------------------------- non-Markdown generated files (manifest)


def canvas(version: str) -> str:
    import json

    return json.dumps({"nodes": [{"id": "a", "type": "text", "text": version, "x": 0, "y": 0,
                                  "width": 100, "height": 50}], "edges": []}, indent="\t") + "\n"


def manifest(root: Path) -> dict:
    import json

    return json.loads((root / OUT / writer.MANIFEST_NAME).read_text(encoding="utf-8"))["files"]


def test_canvas_is_written_as_is_and_owned_through_the_manifest(tmp_path):
    c = f"{OUT}/Knowledge graph.canvas"
    r = apply(tmp_path, OUT, [PlannedFile(c, canvas("v1")), PlannedFile(f"{OUT}/A.md", note("A"))])
    assert actions(r) == {c: "created", f"{OUT}/A.md": "created"}
    assert (tmp_path / c).read_text(encoding="utf-8") == canvas("v1")  # no frontmatter in JSON
    assert manifest(tmp_path) == {c: [hashlib.sha256(canvas("v1").encode()).hexdigest()]}
    before = snapshot(tmp_path)
    r = apply(tmp_path, OUT, [PlannedFile(c, canvas("v1")), PlannedFile(f"{OUT}/A.md", note("A"))])
    assert set(actions(r).values()) == {"unchanged"} and snapshot(tmp_path) == before
    r = apply(tmp_path, OUT, [PlannedFile(c, canvas("v2")), PlannedFile(f"{OUT}/A.md", note("A"))])
    assert actions(r)[c] == "updated"
    assert manifest(tmp_path) == {c: [hashlib.sha256(canvas("v2").encode()).hexdigest()]}
    # the user moves a node in Obsidian: kept, reported, --force overrides
    (tmp_path / c).write_text(canvas("v2").replace('"x": 0', '"x": 120'), encoding="utf-8")
    before = snapshot(tmp_path)
    r = apply(tmp_path, OUT, [PlannedFile(c, canvas("v3"))], prune=False)
    assert actions(r) == {c: "skipped-edited"} and snapshot(tmp_path) == before
    r = apply(tmp_path, OUT, [PlannedFile(c, canvas("v3"))], force=True, prune=False)
    assert actions(r) == {c: "updated"}
    # no longer planned: pruned, and dropped from the manifest
    r = apply(tmp_path, OUT, [PlannedFile(f"{OUT}/A.md", note("A"))])
    assert actions(r) == {c: "removed", f"{OUT}/A.md": "unchanged"}
    assert manifest(tmp_path) == {}


@pytest.mark.parametrize("made", ["bytes", "bytes when the writer takes it"])
def test_canvas_given_as_utf8_bytes_is_written_as_a_str_would_be(tmp_path, made):
    """The planner hands the canvas over as UTF-8 bytes (no str of it all: emoji make that 4 bytes a
    character): created, unchanged, updated, diffed and owned exactly as when given as a str."""
    import json

    c = f"{OUT}/Knowledge graph.canvas"

    def canvas(version: str) -> str:  # (emoji as they are, not escaped)
        return json.dumps({"nodes": [{"id": "a", "type": "text", "text": version, "x": 0, "y": 0}], "edges": []},
                          ensure_ascii=False) + "\n"

    def planned(version: str, raw: bytes | None = None) -> PlannedFile:
        data = raw if raw is not None else canvas(version).encode("utf-8")
        return PlannedFile(c, data) if made == "bytes" else PlannedFile(c, None, None, lambda: data)

    other = tmp_path / "as str"
    for root, files in ((tmp_path, [planned("🟢 v1")]), (other, [PlannedFile(c, canvas("🟢 v1"))])):
        r = apply(root, OUT, files)
        assert actions(r) == {c: "created"}
    assert {k: v[0] for k, v in snapshot(tmp_path / OUT).items()} == {k: v[0] for k, v in snapshot(other / OUT).items()}
    before = snapshot(tmp_path)
    assert actions(apply(tmp_path, OUT, [planned("🟢 v1")])) == {c: "unchanged"} and snapshot(tmp_path) == before
    diff = apply(tmp_path, OUT, [planned("🔴 v2")], mode=WriteMode.DIFF)
    assert actions(diff) == {c: "updated"} and "+" in diff.outcomes[0].diff and "🔴 v2" in diff.outcomes[0].diff
    assert snapshot(tmp_path) == before
    assert actions(apply(tmp_path, OUT, [planned("🔴 v2")])) == {c: "updated"}
    assert (tmp_path / c).read_text(encoding="utf-8") == canvas("🔴 v2")
    assert manifest(tmp_path) == {c: [hashlib.sha256(canvas("🔴 v2").encode()).hexdigest()]}
    # a BOM and CRLF newlines are taken off, as from a str
    crlf = b"\xef\xbb\xbf" + canvas("v3").replace("\n", "\r\n").encode("utf-8")
    assert actions(apply(tmp_path, OUT, [planned("", crlf)])) == {c: "updated"}
    assert (tmp_path / c).read_bytes() == canvas("v3").encode("utf-8")
    # the user's edit is kept, as ever
    (tmp_path / c).write_text(canvas("v3").replace('"x": 0', '"x": 120'), encoding="utf-8")
    assert actions(apply(tmp_path, OUT, [planned("v4")])) == {c: "skipped-edited"}


def test_a_note_given_as_bytes_is_decoded_and_one_not_utf8_refused(tmp_path):
    a, b = f"{OUT}/A.md", f"{OUT}/B.md"
    r = apply(tmp_path, OUT, [PlannedFile(a, note("A").encode("utf-8")), PlannedFile(b, b"\xff\xfe# B\n")])
    assert actions(r) == {a: "created", b: "refused-text"}
    assert actions(apply(tmp_path, OUT, [PlannedFile(a, note("A"))], prune=False)) == {a: "unchanged"}


def test_users_canvas_is_taken_and_never_pruned(tmp_path):
    c = f"{OUT}/Mine.canvas"
    (tmp_path / OUT).mkdir()
    (tmp_path / c).write_text(canvas("mine"), encoding="utf-8")
    (tmp_path / OUT / "data.json").write_text("{}", encoding="utf-8")
    before = snapshot(tmp_path)
    r = apply(tmp_path, OUT, [PlannedFile(c, canvas("gen"))], force=True)
    assert actions(r) == {c: "skipped-taken"}
    assert "manifest" in r.outcomes[0].message
    r = apply(tmp_path, OUT, [], force=True)
    assert r.outcomes == []
    assert snapshot(tmp_path) == before


def test_manifest_lost_or_broken_makes_files_the_users(tmp_path):
    c = f"{OUT}/G.canvas"
    apply(tmp_path, OUT, [PlannedFile(c, canvas("v1"))])
    (tmp_path / OUT / writer.MANIFEST_NAME).write_text("not json", encoding="utf-8")
    r = apply(tmp_path, OUT, [PlannedFile(c, canvas("v2"))], mode=WriteMode.CHECK)
    assert actions(r) == {f"{OUT}/{writer.MANIFEST_NAME}": "updated", c: "skipped-taken"}
    assert "a sync writes it again" in r.outcomes[-1].message
    r = apply(tmp_path, OUT, [PlannedFile(c, canvas("v2"))], force=True)
    # (the file is the user's now: kept; the manifest, unreadable, is written again -- a mended file, not an error)
    assert actions(r) == {f"{OUT}/{writer.MANIFEST_NAME}": "updated", c: "skipped-taken"}
    assert (tmp_path / c).read_text(encoding="utf-8") == canvas("v1")
    assert json.loads((tmp_path / OUT / writer.MANIFEST_NAME).read_text(encoding="utf-8"))["files"] == {}
    assert actions(apply(tmp_path, OUT, [PlannedFile(c, canvas("v2"))])) == {c: "skipped-taken"}


def test_a_canvas_the_manifest_lost_is_vaultkits_while_it_holds_what_the_last_run_recorded(tmp_path, monkeypatch):
    """Helper's report: the manifest deleted, then a sync that stopped early (nothing to do), then a change: the
    canvas, as vaultkit wrote it, was the user's for good (skipped-taken, exit 1, --force too)."""
    c = f"{OUT}/G.canvas"
    monkeypatch.setattr(writer, "_RECENT_NS", -10**18)
    apply(tmp_path, OUT, [PlannedFile(c, canvas("v1"))])
    known = apply(tmp_path, OUT, [PlannedFile(c, canvas("v1"))]).verified
    (tmp_path / OUT / writer.MANIFEST_NAME).unlink()
    r = apply(tmp_path, OUT, [PlannedFile(c, canvas("v2"))], known=known)
    assert actions(r) == {c: "updated"}
    assert (tmp_path / c).read_text(encoding="utf-8") == canvas("v2")
    assert c in json.loads((tmp_path / OUT / writer.MANIFEST_NAME).read_text(encoding="utf-8"))["files"]
    (tmp_path / OUT / writer.MANIFEST_NAME).unlink()  # (and one the user changed since stays theirs)
    (tmp_path / c).write_text(canvas("mine"), encoding="utf-8")
    r = apply(tmp_path, OUT, [PlannedFile(c, canvas("v3"))], known=known)
    assert actions(r) == {c: "skipped-taken"}


def test_previews_foresee_a_name_freed_by_a_removal_in_the_same_run(tmp_path):
    """A technique renamed but for case: the old note is removed, then the new one made. --check, --diff and
    --dry-run saw the old one in the folder and predicted skipped-taken (helper's report)."""
    old, new = f"{OUT}/Techniques/Token Embedding.md", f"{OUT}/Techniques/Token embedding.md"
    apply(tmp_path, OUT, [PlannedFile(old, note("Token Embedding"))])
    expected = {old: "removed", new: "created"}
    for mode in (WriteMode.CHECK, WriteMode.DIFF, WriteMode.DRY_RUN, WriteMode.WRITE):
        assert actions(apply(tmp_path, OUT, [PlannedFile(new, note("Token embedding"))], mode=mode)) == expected
    assert os.listdir(tmp_path / OUT / "Techniques") == ["Token embedding.md"]


def test_a_file_holding_what_the_run_writes_is_owned_again_without_the_manifest(tmp_path):
    """The manifest deleted, the canvas as made: it is vaultkit's again (helper's report: every later sync
    ended in skipped-taken and exit 1, --force too). One that differs stays the user's."""
    c, d = f"{OUT}/G.canvas", f"{OUT}/H.canvas"
    apply(tmp_path, OUT, [PlannedFile(c, canvas("v1")), PlannedFile(d, canvas("v1"))])
    (tmp_path / OUT / writer.MANIFEST_NAME).unlink()
    (tmp_path / d).write_text(canvas("mine"), encoding="utf-8")
    for mode in (WriteMode.CHECK, WriteMode.WRITE):
        r = apply(tmp_path, OUT, [PlannedFile(c, canvas("v1")), PlannedFile(d, canvas("v1"))], mode=mode)
        assert actions(r) == {c: "unchanged", d: "skipped-taken"}
        assert "move it elsewhere" in [o for o in r.outcomes if o.path == d][0].message
    r = apply(tmp_path, OUT, [PlannedFile(c, canvas("v2"))])  # (owned: the manifest lists it again)
    assert actions(r) == {c: "updated"}  # (H.canvas, the user's, is neither planned nor pruned)
    assert (tmp_path / c).read_text(encoding="utf-8") == canvas("v2")
    assert (tmp_path / d).read_text(encoding="utf-8") == canvas("mine")


def test_manifest_records_the_new_hash_before_writing(tmp_path, monkeypatch):
    """A run killed between the manifest and the file still owns the file; the next run converges."""
    c = f"{OUT}/G.canvas"
    apply(tmp_path, OUT, [PlannedFile(c, canvas("v1"))])
    h1, h2 = (hashlib.sha256(canvas(v).encode()).hexdigest() for v in ("v1", "v2"))

    class Killed(BaseException):
        pass

    def die(target: Path) -> None:
        raise Killed

    monkeypatch.setattr(writer, "_before_replace", die)
    with pytest.raises(Killed):
        apply(tmp_path, OUT, [PlannedFile(c, canvas("v2"))])
    assert manifest(tmp_path) == {c: [h1, h2]}
    assert (tmp_path / c).read_text(encoding="utf-8") == canvas("v1")
    assert [n for n in os.listdir(tmp_path / OUT) if n.startswith(".~")] == []
    monkeypatch.setattr(writer, "_before_replace", None)
    # the state a kill right after the replace leaves: new file, both hashes listed
    (tmp_path / c).write_text(canvas("v2"), encoding="utf-8")
    r = apply(tmp_path, OUT, [PlannedFile(c, canvas("v2"))])
    assert actions(r) == {c: "unchanged"}
    assert manifest(tmp_path) == {c: [h2]}


def test_check_mode_writes_no_manifest(tmp_path):
    r = apply(tmp_path, OUT, [PlannedFile(f"{OUT}/G.canvas", canvas("v1"))], mode=WriteMode.CHECK)
    assert r.changed and not (tmp_path / OUT).exists()


def test_symlinks_never_lead_into_obsidian_git_or_trash(tmp_path):
    for hidden in (".obsidian", ".git", ".trash"):
        (tmp_path / hidden).mkdir()
    (tmp_path / ".obsidian" / "N.md").write_text("%% vaultkit:begin x %%\n%% vaultkit:end x %%\n")
    (tmp_path / "Notes").symlink_to(tmp_path / ".obsidian", target_is_directory=True)
    (tmp_path / "gen").symlink_to(tmp_path / ".git", target_is_directory=True)
    (tmp_path / OUT).mkdir()
    (tmp_path / OUT / "trash").symlink_to(tmp_path / ".trash", target_is_directory=True)
    before = snapshot(tmp_path)
    r = apply(tmp_path, OUT, [PlannedFile(f"{OUT}/trash/x.md", note("x"))],
              regions=[PlannedRegion("Notes/N.md", "x", "gen\n")])
    assert actions(r) == {f"{OUT}/trash/x.md": "refused-path", "Notes/N.md": "refused-path"}
    with pytest.raises(UnsafePathError):
        apply(tmp_path, "gen", [PlannedFile("gen/x.md", note("x"))])
    h = hashlib.sha256(b"%% vaultkit:begin x %%\n%% vaultkit:end x %%\n").hexdigest()
    assert replace_user_file(tmp_path, "Notes/N.md", "x\n", h).action == "refused-path"
    assert snapshot(tmp_path) == before


def test_output_given_as_path(tmp_path):
    r = apply(tmp_path, Path(OUT) / "sub", [PlannedFile(f"{OUT}/sub/a.md", note("a"))])
    assert actions(r) == {f"{OUT}/sub/a.md": "created"}


# ----------------------------------------------------------------- files known to be up to date


def _reads(monkeypatch) -> list[str]:
    seen: list[str] = []
    real = writer._read

    def spy(path):
        seen.append(Path(path).name)
        return real(path)

    monkeypatch.setattr(writer, "_read", spy)
    return seen


def test_known_up_to_date_files_are_not_read_again(tmp_path, monkeypatch):
    files = [PlannedFile(f"{OUT}/A.md", note("A")), PlannedFile(f"{OUT}/G.canvas", '{"nodes": []}\n')]
    apply(tmp_path, OUT, files)
    monkeypatch.setattr(writer, "_RECENT_NS", -10**18)  # the files were just written: trust them anyway
    r1 = apply(tmp_path, OUT, files)
    assert set(r1.verified) == {f"{OUT}/A.md", f"{OUT}/G.canvas"} and r1.unchanged == 2
    reads = _reads(monkeypatch)
    before = snapshot(tmp_path)
    r2 = apply(tmp_path, OUT, files, known=r1.verified)
    assert actions(r2) == {f"{OUT}/A.md": "unchanged", f"{OUT}/G.canvas": "unchanged"}
    assert "A.md" not in reads and "G.canvas" not in reads
    assert r2.verified == r1.verified and snapshot(tmp_path) == before
    # a new planned text is compared with the file, whatever was known
    r3 = apply(tmp_path, OUT, [PlannedFile(f"{OUT}/A.md", note("A", "more\n")), files[1]], known=r1.verified)
    assert actions(r3) == {f"{OUT}/A.md": "updated", f"{OUT}/G.canvas": "unchanged"}


def test_known_file_edited_since_is_read_and_kept(tmp_path, monkeypatch):
    p = f"{OUT}/A.md"
    files = [PlannedFile(p, note("A", "gen\n"))]
    apply(tmp_path, OUT, files)
    monkeypatch.setattr(writer, "_RECENT_NS", -10**18)
    known = apply(tmp_path, OUT, files).verified
    f = tmp_path / p
    st = f.stat()
    f.write_bytes(f.read_bytes().replace(b"gen\n", b"GEN\n"))  # same size, mtime put back: ctime still moves
    os.utime(f, ns=(st.st_atime_ns, st.st_mtime_ns))
    r = apply(tmp_path, OUT, files, known=known)
    assert actions(r) == {p: "skipped-edited"} and p not in r.verified
    assert b"GEN" in f.read_bytes()


def test_known_canvas_given_to_the_user_stays_theirs(tmp_path, monkeypatch):
    p = f"{OUT}/G.canvas"
    files = [PlannedFile(p, '{"nodes": []}\n')]
    apply(tmp_path, OUT, files)
    monkeypatch.setattr(writer, "_RECENT_NS", -10**18)
    known = apply(tmp_path, OUT, files).verified
    (tmp_path / OUT / writer.MANIFEST_NAME).unlink()  # the user takes the non-Markdown files over, and edits
    (tmp_path / p).write_text('{"nodes": [], "edges": []}\n', encoding="utf-8")
    r = apply(tmp_path, OUT, files, known=known)
    assert actions(r) == {p: "skipped-taken"}


def test_recently_changed_files_are_recorded_by_content_hash_only(tmp_path):
    files = [PlannedFile(f"{OUT}/A.md", note("A"))]
    first = apply(tmp_path, OUT, files)
    (digest, *stated), = first.verified.values()  # written now: no size or times to trust
    assert stated == [-1, -1, -1, -1]
    assert apply(tmp_path, OUT, files).verified == first.verified  # changed a moment ago: the same


def _deferred(path: str, digest: str, made: list[str], text: str) -> PlannedFile:
    """A planned file whose text is made only when asked for (``made`` records it)."""
    def make() -> str:
        made.append(path)
        return text
    return PlannedFile(path, None, digest, make)


def test_files_just_written_are_checked_by_content_not_made_again(tmp_path):
    """A note and a canvas written by the last run: the next run, planning them by the recorded hash,
    reads and hashes them instead of making them again; an edit since is still found."""
    a, g = f"{OUT}/A.md", f"{OUT}/G.canvas"
    texts = {a: note("A", "gen\n"), g: '{"nodes": []}\n'}
    known = apply(tmp_path, OUT, [PlannedFile(p, t) for p, t in texts.items()]).verified
    made: list[str] = []
    before = snapshot(tmp_path)
    r = apply(tmp_path, OUT, [_deferred(p, known[p][0], made, t) for p, t in texts.items()], known=known)
    assert actions(r) == {a: "unchanged", g: "unchanged"} and made == []
    assert snapshot(tmp_path) == before
    f = tmp_path / a
    f.write_bytes(f.read_bytes().replace(b"gen\n", b"GEN\n"))  # the user edits it (same size)
    (tmp_path / g).write_text('{"nodes": [1]}\n', encoding="utf-8")
    r = apply(tmp_path, OUT, [_deferred(p, known[p][0], made, t) for p, t in texts.items()], known=known)
    assert actions(r) == {a: "skipped-edited", g: "skipped-edited"} and sorted(made) == [a, g]
    assert b"GEN" in f.read_bytes()


def test_markers_shown_in_a_code_block_are_text(tmp_path):
    """A region example inside a fenced code block is never filled (helper's report)."""
    from vaultkit.writer import fill_regions

    example = ("# How I use regions\n\n```markdown\n%% vaultkit:begin tier-ladder %%\n"
               "my example text\n%% vaultkit:end tier-ladder %%\n```\n\n~~~\n%% vaultkit:begin x\n~~~\n")
    live = "%% vaultkit:begin tier-ladder %%\n%% vaultkit:end tier-ladder %%\n"
    new, edited = fill_regions(example + live, {"tier-ladder": "- [[A]]\n"})
    assert new.startswith(example) and "- [[A]]" in new[len(example):] and not edited
    import pytest as _pytest

    with _pytest.raises(writer.RegionError, match="no markers"):
        fill_regions(example, {"tier-ladder": "- [[A]]\n"})


def test_sync_leaves_a_region_example_in_a_code_block_alone(tmp_path):
    import shutil

    from tests.conftest import SAMPLE_VAULT
    from vaultkit.commands.sync import run_sync

    root = tmp_path / "v"
    shutil.copytree(SAMPLE_VAULT, root, ignore=shutil.ignore_patterns(".vaultkit"))
    text = "# Code\n\n```\n%% vaultkit:begin tier-ladder %%\n%% vaultkit:end tier-ladder %%\n```\n"
    (root / "Code.md").write_text(text, encoding="utf-8")
    _, plan, report = run_sync(root, cache=False)
    assert (root / "Code.md").read_text(encoding="utf-8") == text
    assert not [r for r in plan.regions if r[0] == "Code.md"]
    assert all(o.path != "Code.md" for o in report.outcomes)


def test_filled_regions_settle_in_one_run(tmp_path):
    """What vaultkit writes into a region is not read back as the user's links, mentions or tier table
    (helper's report: the second sync rewrote 17 files, the third none)."""
    import shutil

    from tests.conftest import SAMPLE_VAULT
    from vaultkit.commands.sync import run_sync
    from vaultkit.vault import Vault

    root = tmp_path / "v"
    shutil.copytree(SAMPLE_VAULT, root, ignore=shutil.ignore_patterns(".vaultkit"))
    regions = "".join(f"%% vaultkit:begin {n} %%\n%% vaultkit:end {n} %%\n\n"
                      for n in ("tier-ladder", "cost-to-value", "wanted-notes"))
    (root / "Mine.md").write_text(f"# Mine\n\n{regions}See [[Nowhere]].\n", encoding="utf-8")
    before = len(Vault.load(root).techniques)
    run_sync(root, cache=False)
    _, _, second = run_sync(root, cache=False)
    assert not second.changed, [o.path for o in second.outcomes if o.action != "unchanged"]
    vault = Vault.load(root)
    mine = vault.notes["Mine.md"]
    assert len(mine.regions) == 3 and len(vault.techniques) == before
    assert "- [[" in (root / "Mine.md").read_text(encoding="utf-8")  # the regions were filled


def test_region_spans_ignore_code_and_unpaired_markers():
    from vaultkit.scan import region_spans

    body = ("```\n%% vaultkit:begin a %%\n%% vaultkit:end a %%\n```\n"
            "%% vaultkit:begin b %%\nx\n%% vaultkit:end b %%\n%% vaultkit:begin c %%\n")
    assert region_spans(body) == [(5, 7)]


def test_temp_files_a_killed_run_left_next_to_region_notes_are_removed(tmp_path):
    """The prune clears temp files in the output folder; region notes live elsewhere (flaky kill test)."""
    (tmp_path / "Users").mkdir()
    note_file = tmp_path / "Users" / "R.md"
    note_file.write_text("%% vaultkit:begin list %%\n%% vaultkit:end list %%\n", encoding="utf-8")
    stale = tmp_path / "Users" / ".~vaultkit-0123456789abcdef.tmp"
    stale.write_text("half a note", encoding="utf-8")
    other = tmp_path / "Users" / ".~vaultkit-notours.tmp"
    other.write_text("not our pattern", encoding="utf-8")
    apply(tmp_path, OUT, [], [PlannedRegion("Users/R.md", "list", "- [[A]]\n")])
    assert not stale.exists() and other.exists()
    assert "- [[A]]" in note_file.read_text(encoding="utf-8")
    stale.write_text("again", encoding="utf-8")
    apply(tmp_path, OUT, [], [PlannedRegion("Users/R.md", "list", "- [[A]]\n")], mode=WriteMode.CHECK)
    assert stale.exists()  # only a writing run removes anything


def test_a_region_note_deleted_while_the_writer_fills_it_is_reported_not_made_again(tmp_path, monkeypatch):
    """(helper's report, stop 20: it ended as 'error: cannot write', exit status 2)"""
    f = tmp_path / "Mine.md"
    f.write_text("a\n%% vaultkit:begin x %%\n%% vaultkit:end x %%\nb\n", encoding="utf-8")
    real_fill = writer.fill_regions

    def fill_then_delete(*args, **kwargs):
        out = real_fill(*args, **kwargs)
        f.unlink()  # the user deletes the note after the writer read it
        return out

    monkeypatch.setattr(writer, "fill_regions", fill_then_delete)
    r = apply(tmp_path, OUT, [], regions=[PlannedRegion("Mine.md", "x", "gen\n")])
    assert actions(r) == {"Mine.md": "skipped-changed-on-disk"}
    assert not f.exists() and [p.name for p in tmp_path.iterdir() if p.is_file()] == []  # (no temp file left)


def test_write_whole_takes_pieces_and_keeps_the_old_file_when_making_them_fails(tmp_path: Path) -> None:
    """``write_whole`` with an iterable (a lint report rendered in pieces): the pieces in order; an error
    while they are made (here the second piece) leaves the old file as it was and no temporary file."""
    from vaultkit.writer import write_whole

    out = tmp_path / "report.txt"
    write_whole(out, (piece for piece in [b"a\n", b"b\n", b"c\n"]))
    assert out.read_bytes() == b"a\nb\nc\n"

    def failing():
        yield b"x\n"
        raise RuntimeError("renderer broke")

    with pytest.raises(RuntimeError):
        write_whole(out, failing())
    assert out.read_bytes() == b"a\nb\nc\n" and [p.name for p in tmp_path.iterdir()] == ["report.txt"]


def test_write_whole_in_a_folder_that_takes_no_new_file_keeps_the_old_file_when_making_the_pieces_fails(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The file is then written in place (a writable file in a read-only folder): the pieces are made whole
    before it is truncated, so a failure (or a Ctrl-C) while they are made leaves it as it was."""
    from vaultkit.writer import write_whole

    out = tmp_path / "graph.json"
    out.write_bytes(b"old\n")
    real_open = os.open

    def no_new_file(path, flags, *args):  # (as a folder without write permission does, for another user)
        if os.path.basename(path).startswith(".~vaultkit-"):
            raise PermissionError(13, "Permission denied", path)
        return real_open(path, flags, *args)

    monkeypatch.setattr(writer.os, "open", no_new_file)

    def failing():
        yield b"new\n"
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        write_whole(out, failing())
    assert out.read_bytes() == b"old\n"
    write_whole(out, (piece for piece in [b"a\n", b"b\n"]))
    assert out.read_bytes() == b"a\nb\n" and [p.name for p in tmp_path.iterdir()] == ["graph.json"]


def test_note_on_disk_gives_the_record_only_for_the_note_as_written(tmp_path, monkeypatch) -> None:
    import os

    from vaultkit import writer
    from vaultkit.writer import content_hash, file_looks, note_on_disk, render_with_marker

    text = "---\ntitle: T\n---\n# T 🟢\n"
    out = tmp_path / "_vaultkit"
    out.mkdir()
    (out / "T.md").write_text(render_with_marker(text), encoding="utf-8")
    assert note_on_disk(tmp_path, "_vaultkit/T.md", text) is None  # just written: not trusted yet
    monkeypatch.setattr(writer, "_RECENT_NS", -1)
    st = os.lstat(out / "T.md")
    assert note_on_disk(tmp_path, "_vaultkit/T.md", text) == file_looks(content_hash(render_with_marker(text)), st)
    same_size = text.replace("T 🟢", "U 🟢")
    assert note_on_disk(tmp_path, "_vaultkit/T.md", same_size) is None  # other bytes, same length
    assert note_on_disk(tmp_path, "_vaultkit/T.md", text + "more\n") is None
    assert note_on_disk(tmp_path, "_vaultkit/Gone.md", text) is None
    assert note_on_disk(tmp_path, "_vaultkit/../T.md", text) is None  # unsafe path
    assert note_on_disk(tmp_path, "_vaultkit/T.md", "---\nvaultkit: mine\n---\n") is None  # refused text
    (out / "Link.md").symlink_to(out / "T.md")
    assert note_on_disk(tmp_path, "_vaultkit/Link.md", text) is None  # never through a symlink
    (out / "Dir.md").mkdir()
    assert note_on_disk(tmp_path, "_vaultkit/Dir.md", text) is None
    outside = tmp_path.parent / (tmp_path.name + "-outside")
    outside.mkdir()
    (outside / "T.md").write_bytes((out / "T.md").read_bytes())
    (out / "Away").symlink_to(outside, target_is_directory=True)
    assert note_on_disk(tmp_path, "_vaultkit/Away/T.md", text) is None  # not read through a folder leading out


def test_a_file_equal_to_the_planned_one_is_unchanged_only_when_vaultkit_owns_it(tmp_path):
    """Equal bytes make a note (its marker inside) or a manifest-listed file up to date without decoding it;
    a canvas not in the manifest is up to date only once decoded and hashed as the run's own text is (and
    is then listed), else it stays the user's."""
    c, n = f"{OUT}/Same.canvas", f"{OUT}/Same.md"
    (tmp_path / OUT).mkdir()
    (tmp_path / c).write_text(canvas("mine"), encoding="utf-8")
    before = snapshot(tmp_path)
    for force in (False, True):
        r = apply(tmp_path, OUT, [PlannedFile(c, canvas("gen"))], force=force)
        assert actions(r) == {c: "skipped-taken"}
    assert snapshot(tmp_path) == before
    (tmp_path / c).write_text(canvas("gen"), encoding="utf-8")
    assert actions(apply(tmp_path, OUT, [PlannedFile(c, canvas("gen"))])) == {c: "unchanged"}
    assert writer.MANIFEST_NAME in os.listdir(tmp_path / OUT)
    (tmp_path / c).unlink()
    r = apply(tmp_path, OUT, [PlannedFile(c, canvas("gen")), PlannedFile(n, note("Same"))])
    assert actions(r) == {c: "created", n: "created"}
    again = apply(tmp_path, OUT, [PlannedFile(c, canvas("gen")), PlannedFile(n, note("Same"))])
    assert actions(again) == {c: "unchanged", n: "unchanged"}


def test_files_and_manifest_are_whole_when_the_system_writes_less_than_asked(tmp_path, monkeypatch):
    """``os.write`` may write part of its bytes (a signal, a pipe, some file systems); the manifest was
    written with one call and could be cut short."""
    real_write = os.write
    calls = []

    def short_write(fd, data):
        calls.append(len(data))
        return real_write(fd, bytes(data[:7]))

    monkeypatch.setattr(writer.os, "write", short_write)
    c = f"{OUT}/Knowledge graph.canvas"
    r = apply(tmp_path, OUT, [PlannedFile(c, canvas("v1")), PlannedFile(f"{OUT}/A.md", note("A"))])
    assert actions(r) == {c: "created", f"{OUT}/A.md": "created"}
    assert max(calls) > 7  # (the short writes were taken)
    assert (tmp_path / c).read_text(encoding="utf-8") == canvas("v1")
    assert manifest(tmp_path) == {c: [hashlib.sha256(canvas("v1").encode()).hexdigest()]}
    monkeypatch.undo()
    r = apply(tmp_path, OUT, [PlannedFile(c, canvas("v1")), PlannedFile(f"{OUT}/A.md", note("A"))])
    assert set(actions(r).values()) == {"unchanged"}
