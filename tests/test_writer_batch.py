"""The batch path of the safe writer: many generated files staged, made durable at once, then moved in place."""

from __future__ import annotations

import errno
import hashlib
import json
import os
import sys
from pathlib import Path

import pytest

from vaultkit import writer
from vaultkit.writer import PlannedFile, WriteMode, apply, render_with_marker

OUT = "_vaultkit"


def note(i: int, version: str = "A") -> str:
    return f"---\ntitle: Note {i}\n---\n# Note {i}\n\n{version * (50 + i)}\n"


def plan(n: int, version: str = "A") -> list[PlannedFile]:
    folders = ["", "Tiers/", "Techniques/", "Techniques/Deep/"]
    return [PlannedFile(f"{OUT}/{folders[i % 4]}Note {i}.md", note(i, version)) for i in range(n)]


def temps(root: Path) -> list[str]:
    return [os.path.join(d, n) for d, _dirs, names in os.walk(root) for n in names if n.startswith(".~vaultkit")]


def expect(root: Path, files: list[PlannedFile]) -> None:
    for pf in files:
        assert (root / pf.path).read_bytes() == render_with_marker(pf.text).encode("utf-8"), pf.path


def actions(report) -> dict[str, str]:
    return {o.path: o.action for o in report.outcomes}


@pytest.fixture
def small_batches(monkeypatch):
    """Batches of 10 files, so a few dozen notes make several batches."""
    monkeypatch.setattr(writer, "_BATCH_FILES", 10)


class FakeSyncfs:
    """Stands in for syncfs(2): counts calls, returns ``result``."""

    def __init__(self, result: int = 0) -> None:
        self.calls = 0
        self.result = result

    def __call__(self, fd: int) -> int:
        assert os.path.isdir(f"/proc/self/fd/{fd}") or sys.platform != "linux"
        self.calls += 1
        return self.result


def fs_type(monkeypatch, root: Path, kind: str) -> None:
    """Make the writer see ``root``'s file system as ``kind``."""
    monkeypatch.setattr(writer, "_fs_types", lambda: {os.stat(root).st_dev: kind})


def count_file_fsyncs(monkeypatch) -> list[str]:
    """Record the kind of each ``os.fsync`` (``"dir"`` or ``"file"``)."""
    real = os.fsync
    kinds: list[str] = []

    def fsync(fd: int) -> None:
        kinds.append("dir" if os.path.stat.S_ISDIR(os.fstat(fd).st_mode) else "file")
        real(fd)

    monkeypatch.setattr(writer.os, "fsync", fsync)
    return kinds


# ----------------------------------------------------------------- whole batches


def test_many_files_in_several_batches_leave_exact_bytes_and_no_temp_files(tmp_path, small_batches):
    files = plan(45)
    r = apply(tmp_path, OUT, files)
    assert r.summary() == "created 45, updated 0, removed 0, unchanged 0, skipped 0"
    assert [o.path for o in r.outcomes] == [pf.path for pf in files]  # report in plan order
    expect(tmp_path, files)
    assert temps(tmp_path) == []
    new = plan(45, "B")[:40]
    r = apply(tmp_path, OUT, new)
    assert r.summary() == "created 0, updated 40, removed 5, unchanged 0, skipped 0"
    expect(tmp_path, new)
    assert temps(tmp_path) == []
    assert apply(tmp_path, OUT, new).summary() == "created 0, updated 0, removed 0, unchanged 40, skipped 0"


def test_each_folder_is_created_and_checked_once(tmp_path, monkeypatch):
    """Folder creation and checks do not grow with the number of files."""
    made: list[str] = []
    checked: dict[str, int] = {}
    real_makedirs, real_stat = os.makedirs, os.stat

    def makedirs(name, *args, **kwargs):
        made.append(os.path.relpath(name, vault))
        return real_makedirs(name, *args, **kwargs)

    def stat_(path, *args, **kwargs):  # os.path.isdir and os.path.exists go through it too
        if not isinstance(path, int):
            rel = os.path.relpath(os.fspath(path), vault)
            checked[rel] = checked.get(rel, 0) + 1
        return real_stat(path, *args, **kwargs)

    monkeypatch.setattr(writer.os, "makedirs", makedirs)
    monkeypatch.setattr(writer.os, "stat", stat_)
    counts = []
    for n in (8, 80):
        vault = tmp_path / str(n)
        vault.mkdir()
        made.clear()
        checked.clear()
        apply(vault, OUT, plan(n))
        assert sorted(made) == [OUT, f"{OUT}/Techniques", f"{OUT}/Techniques/Deep", f"{OUT}/Tiers"]
        assert not any(rel.endswith(".md") for rel in checked), checked  # no stat of the planned files
        counts.append(dict(checked))
    assert counts[0] == counts[1]


def test_folder_removed_during_the_run_is_created_again(tmp_path):
    w = writer._Writer(WriteMode.WRITE, tmp_path)
    out_real = os.path.realpath(tmp_path)
    sub = os.path.join(tmp_path, "Sub")
    dev = w.ensure_dir(sub)
    os.rmdir(sub)  # the user deletes the folder after vaultkit checked it
    outcome = writer.FileOutcome("Sub/a.md", "created")
    writer._stage_in(w, sub, out_real, os.path.join(sub, "a.md"), b"a\n", None, None, outcome, "changed", dev)
    w.flush()
    assert outcome.action == "created" and (tmp_path / "Sub" / "a.md").read_bytes() == b"a\n"


@pytest.mark.skipif(sys.platform != "linux", reason="syncfs is Linux's")
def test_a_large_batch_is_flushed_with_one_syncfs_per_batch(tmp_path, monkeypatch, small_batches):
    monkeypatch.setattr(writer, "_SYNCFS_MIN", 4)
    fake = FakeSyncfs()
    monkeypatch.setattr(writer, "_syncfs", lambda: fake)
    fs_type(monkeypatch, tmp_path, "ext4")
    kinds = count_file_fsyncs(monkeypatch)
    files = plan(35)
    r = apply(tmp_path, OUT, files)
    assert r.created == 35
    assert fake.calls == 4  # batches of 10, 10, 10 and 5
    assert "file" not in kinds and kinds.count("dir") == 4  # each touched folder once, at the end
    expect(tmp_path, files)
    assert temps(tmp_path) == []


def test_a_small_batch_fsyncs_each_file_and_never_flushes_the_file_system(tmp_path, monkeypatch):
    looked_up = []
    monkeypatch.setattr(writer, "_syncfs", lambda: looked_up.append(1))
    kinds = count_file_fsyncs(monkeypatch)
    files = plan(writer._SYNCFS_MIN - 1)
    assert apply(tmp_path, OUT, files).created == len(files)
    assert looked_up == [] and kinds.count("file") == len(files)
    expect(tmp_path, files)
    assert temps(tmp_path) == []


@pytest.mark.parametrize("syncfs", ["none", "fuse"])
def test_without_a_trusted_syncfs_each_file_is_fsynced(tmp_path, monkeypatch, syncfs):
    """No syncfs (macOS, Windows), or a file system where it may not reach the storage (FUSE)."""
    fake = FakeSyncfs()
    monkeypatch.setattr(writer, "_syncfs", lambda: None if syncfs == "none" else fake)
    fs_type(monkeypatch, tmp_path, "fuse.sshfs")
    kinds = count_file_fsyncs(monkeypatch)
    files = plan(35)
    assert apply(tmp_path, OUT, files).created == 35
    assert kinds.count("file") == 35 and fake.calls == 0
    expect(tmp_path, files)
    assert temps(tmp_path) == []


@pytest.mark.skipif(sys.platform != "linux", reason="syncfs and /proc/self/fd are Linux's")
def test_failed_syncfs_falls_back_to_fsync_and_reports_the_file_that_failed(tmp_path, monkeypatch):
    apply(tmp_path, OUT, plan(30))
    monkeypatch.setattr(writer, "_syncfs", lambda: FakeSyncfs(result=-1))
    fs_type(monkeypatch, tmp_path, "ext4")
    real = os.fsync
    bad = {f"{OUT}/Tiers/Note 5.md", f"{OUT}/Note 40.md"}  # one update, one creation

    def fsync(fd: int) -> None:
        if os.path.basename(os.readlink(f"/proc/self/fd/{fd}")).startswith(".~vaultkit-"):
            with open(f"/proc/self/fd/{fd}", "rb") as fh:
                data = fh.read()
            if any(f"# Note {p.split()[-1][:-3]}\n".encode() in data for p in bad):
                raise OSError(errno.EIO, "Input/output error")
        real(fd)

    monkeypatch.setattr(writer.os, "fsync", fsync)
    new = plan(41, "B")
    r = apply(tmp_path, OUT, new)
    got = actions(r)
    assert {p: a for p, a in got.items() if a == "error"} == {p: "error" for p in bad}
    assert all("Input/output error" in o.message for o in r.outcomes if o.action == "error")
    assert r.updated == 29 and r.created == 10
    expect(tmp_path, [pf for pf in new if pf.path not in bad])
    # the failed update keeps the old version whole; the failed creation left nothing
    assert (tmp_path / OUT / "Tiers" / "Note 5.md").read_bytes() == render_with_marker(note(5)).encode()
    assert not (tmp_path / OUT / "Note 40.md").exists()
    assert temps(tmp_path) == []


# ----------------------------------------------------------------- one file of a batch fails


def test_one_file_changed_on_disk_before_its_move_is_kept_and_the_rest_written(tmp_path, monkeypatch, small_batches):
    apply(tmp_path, OUT, plan(25))
    victim = tmp_path / OUT / "Tiers" / "Note 13.md"

    def user_types(target: Path) -> None:
        if target == victim:
            target.write_bytes(target.read_bytes() + b"typed just now\n")

    monkeypatch.setattr(writer, "_before_replace", user_types)
    new = plan(30, "B")
    r = apply(tmp_path, OUT, new)
    assert actions(r)[f"{OUT}/Tiers/Note 13.md"] == "skipped-changed-on-disk"
    assert r.updated == 24 and r.created == 5
    assert victim.read_bytes().endswith(b"typed just now\n")
    expect(tmp_path, [pf for pf in new if not pf.path.endswith("/Note 13.md")])
    assert temps(tmp_path) == []


def test_one_file_that_cannot_be_moved_is_reported_and_the_rest_written(tmp_path, monkeypatch, small_batches):
    apply(tmp_path, OUT, plan(20))
    real_link, real_replace = os.link, os.replace
    bad = {f"{OUT}/Note 12.md", f"{OUT}/Note 24.md"}  # one update, one creation

    def refuse(real):
        def op(src, dst, *args, **kwargs):
            if os.path.relpath(dst, tmp_path).replace(os.sep, "/") in bad:
                raise PermissionError(errno.EACCES, "Permission denied")
            return real(src, dst, *args, **kwargs)
        return op

    monkeypatch.setattr(writer.os, "link", refuse(real_link))
    monkeypatch.setattr(writer.os, "replace", refuse(real_replace))
    new = plan(30, "B")
    r = apply(tmp_path, OUT, new)
    errors = {o.path: o.message for o in r.outcomes if o.action == "error"}
    assert set(errors) == bad and all("Permission denied" in m for m in errors.values())
    expect(tmp_path, [pf for pf in new if pf.path not in bad])
    assert (tmp_path / OUT / "Note 12.md").read_bytes() == render_with_marker(note(12)).encode()
    assert not (tmp_path / OUT / "Note 24.md").exists()
    assert temps(tmp_path) == []


def test_a_temp_file_that_cannot_be_written_fails_only_its_note(tmp_path, monkeypatch, small_batches):
    real_open = os.open
    deep = os.path.join(tmp_path, OUT, "Techniques", "Deep")

    def open_(path, flags, *args, **kwargs):
        if flags & os.O_CREAT and os.path.dirname(os.fspath(path)) == deep:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_open(path, flags, *args, **kwargs)

    monkeypatch.setattr(writer.os, "open", open_)
    files = plan(24)
    r = apply(tmp_path, OUT, files)
    errors = {o.path for o in r.outcomes if o.action == "error"}
    assert errors == {pf.path for pf in files if "/Deep/" in pf.path} and len(errors) == 6
    assert all("No space left" in o.message for o in r.outcomes if o.action == "error")
    expect(tmp_path, [pf for pf in files if "/Deep/" not in pf.path])
    assert temps(tmp_path) == []


def test_run_interrupted_mid_batch_leaves_old_or_new_and_no_temp_files(tmp_path, monkeypatch, small_batches):
    apply(tmp_path, OUT, plan(30))
    moved: list[Path] = []

    class Interrupted(BaseException):
        pass

    def stop_at_the_17th(target: Path) -> None:
        if len(moved) == 16:
            raise Interrupted
        moved.append(target)

    monkeypatch.setattr(writer, "_before_replace", stop_at_the_17th)
    with pytest.raises(Interrupted):
        apply(tmp_path, OUT, plan(40, "B"))
    assert temps(tmp_path) == []
    old, new = plan(30), plan(40, "B")
    for i in range(40):
        p = tmp_path / new[i].path
        if i < 16:
            assert p.read_bytes() == render_with_marker(new[i].text).encode()
        elif i < 30:
            assert p.read_bytes() == render_with_marker(old[i].text).encode()
        else:
            assert not p.exists()
    monkeypatch.setattr(writer, "_before_replace", None)
    r = apply(tmp_path, OUT, new)
    assert r.updated == 14 and r.created == 10 and r.unchanged == 16
    expect(tmp_path, new)


# ----------------------------------------------------------------- non-Markdown files and the manifest


def test_manifest_is_saved_once_per_batch_before_its_files_are_moved(tmp_path, monkeypatch, small_batches):
    canvases = [PlannedFile(f"{OUT}/maps/Map {k}.canvas", json.dumps({"nodes": [], "k": k}) + "\n") for k in range(25)]
    saves: list[int] = []
    real_flush = writer._Manifest.flush

    def flush(self) -> None:
        if self.entries != self.saved:
            # every hash of the batch is recorded while none of its files is in place yet
            listed = [rel for rel in self.entries if not (tmp_path / rel).exists()]
            saves.append(len(listed))
        real_flush(self)

    monkeypatch.setattr(writer._Manifest, "flush", flush)
    r = apply(tmp_path, OUT, canvases)
    assert r.created == 25
    assert saves == [10, 10, 5]  # one save per batch (the run's final save has nothing new)
    owned = json.loads((tmp_path / OUT / writer.MANIFEST_NAME).read_text(encoding="utf-8"))["files"]
    assert owned == {c.path: [hashlib.sha256(c.text.encode()).hexdigest()] for c in canvases}
    for c in canvases:
        assert (tmp_path / c.path).read_text(encoding="utf-8") == c.text
    assert temps(tmp_path) == []


# ----------------------------------------------------------------- replaced files are freed on other threads


def open_fds() -> set[int]:
    return {int(n) for n in os.listdir("/proc/self/fd")} if os.path.isdir("/proc/self/fd") else set()


@pytest.mark.skipif(os.name != "posix", reason="Windows cannot rename over an open file")
@pytest.mark.parametrize("slow", [True, False])
def test_replaced_and_removed_files_are_held_open_until_freed_and_all_closed(tmp_path, monkeypatch, slow):
    monkeypatch.setattr(writer._Closer, "SLOW", 0.0 if slow else 60.0)
    apply(tmp_path, OUT, plan(60))
    closed: list[int] = []
    real_close = writer._Closer.close

    def close(self, fd: int) -> None:
        closed.append(os.fstat(fd).st_nlink)  # 0: the file was replaced or removed while held
        real_close(self, fd)

    monkeypatch.setattr(writer._Closer, "close", close)
    before = open_fds()
    new = plan(50, "B")
    r = apply(tmp_path, OUT, new)
    assert r.summary() == "created 0, updated 50, removed 10, unchanged 0, skipped 0"
    assert closed == [0] * 60
    assert open_fds() == before  # every descriptor closed when apply returns
    assert not [t for t in __import__("threading").enumerate() if t.name == "vaultkit-close"]
    expect(tmp_path, new)
    assert temps(tmp_path) == []


def test_a_file_changed_before_its_replacement_is_not_held(tmp_path, monkeypatch):
    apply(tmp_path, OUT, plan(20))
    closed: list[int] = []
    monkeypatch.setattr(writer._Closer, "close", lambda self, fd: (closed.append(fd), os.close(fd)))
    victim = tmp_path / OUT / "Note 4.md"
    monkeypatch.setattr(writer, "_before_replace",
                        lambda t: t.write_bytes(b"mine\n") if t == victim else None)
    before = open_fds()
    r = apply(tmp_path, OUT, plan(20, "B"))
    assert actions(r)[f"{OUT}/Note 4.md"] == "skipped-changed-on-disk" and r.updated == 19
    assert len(closed) == (19 if os.name == "posix" else 0)
    assert open_fds() == before
    assert victim.read_bytes() == b"mine\n"


@pytest.mark.parametrize("slow", [True, False])
def test_closer_uses_threads_only_when_closing_is_slow(tmp_path, monkeypatch, slow):
    monkeypatch.setattr(writer._Closer, "SLOW", 0.0 if slow else 60.0)
    marker = tmp_path / "held"
    marker.write_bytes(b"x")

    def holding() -> int:
        fd_dir = "/proc/self/fd"
        if not os.path.isdir(fd_dir):
            return 0
        return sum(1 for n in os.listdir(fd_dir) if os.path.realpath(f"{fd_dir}/{n}") == str(marker))

    fds = [os.open(marker, os.O_RDONLY) for _ in range(100)]
    closer = writer._Closer()
    first = writer._Closer.SLOW_ENOUGH
    for fd in fds[:first]:  # timed and closed at once
        closer.close(fd)
    assert closer.queue is None and closer.threaded is slow
    for fd in fds[first:]:
        closer.close(fd)
    assert (closer.queue is not None and len(closer.threads) == writer._Closer.THREADS) is slow
    assert len(closer.pending) < writer._Closer.CHUNK
    closer.join()
    assert closer.queue is None and closer.threads == [] and closer.pending == []
    assert holding() == 0


def test_closer_ignores_a_lone_slow_close(monkeypatch):
    closer = writer._Closer()
    ticks = iter([0.0, 0.010] + [1.0, 1.0] * 20)  # one close of 10 ms, then instant ones
    monkeypatch.setattr(writer._Closer, "clock", staticmethod(lambda: next(ticks)))
    for _ in range(20):
        r, w = os.pipe()
        os.close(w)
        closer.close(r)
    assert closer.recent.count(True) == 0 and not closer.threaded and closer.queue is None
