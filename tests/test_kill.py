"""``kill -9`` while writing a 5,000-note vault: every file is old or new, never partial; the next run converges.

A subprocess runs :func:`vaultkit.writer.apply` for one version of the plan
(notes, prunes, creations, regions in users' notes); the test kills it with
SIGKILL at a random moment of its write phase, checks every file on disk, and
starts the next run with the other version. The vault lives on ``/dev/shm``
when there is one (``fsync`` is cheap there; atomicity under a killed process
does not depend on it), else in pytest's temporary folder.
"""

from __future__ import annotations

import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from tests.conftest import REPO
from vaultkit.writer import WriteMode, apply, fill_regions, render_with_marker

# The plan is shared by the test and the worker subprocess. The worker runs it
# from this string (``python -c``) so that it does not pay for importing pytest.
PLAN = r'''
import time
from pathlib import Path

from vaultkit.writer import PlannedFile, PlannedRegion, apply

OUT = "_vaultkit"
N = 5000
SHIFT = 100  # version B drops notes 0..99 and adds 5000..5099
REGION_NOTES = 20


def note_path(i):
    return f"{OUT}/g{i // 250:02d}/Note {i}.md"


def note_text(i, version):
    filler = f"{version}{i} " * (20 + i % 17)  # a few hundred bytes, sizes vary
    return (f"---\ntitle: Note {i}\nversion: {version}\ntags:\n  - generated\n---\n# Note {i}\n\n"
            f"Links: [[Note {(i + 1) % N}]] [[Note {(i + 7) % N}]]\n\n{filler.strip()}\n")


def ids(version):
    return range(0, N) if version == "A" else range(SHIFT, N + SHIFT)


def region_path(j):
    return f"Users/Mine {j}.md"


def region_text(j, version):
    return "".join(f"- [[Note {j * 10 + k}]] {version}\n" for k in range(5 + j % 3))


CANVASES = 5


def canvas_path(k):
    return f"{OUT}/maps/Map {k}.canvas"


def canvas_text(k, version):
    nodes = ",".join(f'{{"id":"n{n}","type":"text","text":"{version}{k}","x":{n * 40},"y":0,"width":30,"height":30}}'
                     for n in range(40 + k))
    return f'{{"nodes":[{nodes}],"edges":[]}}\n'


def plan(version):
    files = [PlannedFile(canvas_path(k), canvas_text(k, version)) for k in range(CANVASES)]
    files += [PlannedFile(note_path(i), note_text(i, version)) for i in ids(version)]
    regions = [PlannedRegion(region_path(j), "list", region_text(j, version)) for j in range(REGION_NOTES)]
    return files, regions


def worker(root, version):
    """Plan, say 'ready', wait for a line on stdin, apply, report the time the write phase took."""
    import sys

    files, regions = plan(version)
    print("ready", flush=True)
    sys.stdin.readline()
    t0 = time.perf_counter()
    report = apply(Path(root), OUT, files, regions)
    print(f"done {time.perf_counter() - t0:.3f} {report.summary()}", flush=True)
'''
exec(compile(PLAN, "<kill plan>", "exec"))
KILLS = 20
TEMP = re.compile(r"^\.~vaultkit-[0-9a-f]{16}\.tmp$")
USER_HEAD = "\ufeffMy own words, line one.\r\n\r\n%% vaultkit:begin list %%\r\n"
USER_TAIL = "%% vaultkit:end list %%\r\nMore of my words — keep them.\r\n"


def expected_bytes() -> dict[str, set[bytes]]:
    """Every path's allowed contents: its A or B generation."""
    allowed: dict[str, set[bytes]] = {}
    for version in "AB":
        for k in range(CANVASES):
            allowed.setdefault(canvas_path(k), set()).add(canvas_text(k, version).encode("utf-8"))
        for i in ids(version):
            allowed.setdefault(note_path(i), set()).add(render_with_marker(note_text(i, version)).encode("utf-8"))
    return allowed


def region_bytes(j: int, version: str | None) -> bytes:
    raw = USER_HEAD[1:] + USER_TAIL
    if version is not None:
        raw, _ = fill_regions(raw, {"list": region_text(j, version)})
    return b"\xef\xbb\xbf" + raw.encode("utf-8")


_verified: dict[str, tuple[int, int, int]] = {}


def check(root: Path, allowed: dict[str, set[bytes]], user_files: dict[str, bytes],
          regions_allowed: dict[str, set[bytes]]) -> tuple[int, int]:
    """Assert every file is a whole old or new version; return (notes, leftover temp files)."""
    seen = set()
    temps = 0
    base = str(root) + os.sep
    for dirpath, _dirs, names in os.walk(root / OUT):
        for n in names:
            full = os.path.join(dirpath, n)
            if TEMP.match(n):
                temps += 1
                continue
            if n == ".vaultkit-manifest.json":  # never partial either
                with open(full, "rb") as fh:
                    assert isinstance(json.loads(fh.read())["files"], dict)
                continue
            rel = full[len(base):].replace(os.sep, "/")
            st = os.lstat(full)
            ident = (st.st_ino, st.st_size, st.st_mtime_ns)
            if _verified.get(rel) == ident:  # the very file checked after an earlier kill
                seen.add(rel)
                continue
            with open(full, "rb") as fh:
                data = fh.read()
            _verified[rel] = ident
            if rel in user_files:
                assert data == user_files[rel], f"user file {rel} changed"
            else:
                assert rel in allowed, f"unexpected file {rel}"
                assert data in allowed[rel], f"{rel} is partial or mixed ({len(data)} bytes)"
            seen.add(rel)
    # notes planned by both versions must always exist (replaced, never deleted)
    missing = [note_path(i) for i in range(SHIFT, N) if note_path(i) not in seen]
    assert not missing, f"{missing[:3]} vanished"
    for rel, ok in regions_allowed.items():
        assert (root / rel).read_bytes() in ok, f"{rel} partial"
    for _dirpath, _dirs, names in os.walk(root / "Users"):
        temps += sum(1 for n in names if TEMP.match(n))
    return len(seen), temps


def _base() -> Path | None:
    shm = Path("/dev/shm")
    if shm.is_dir() and os.access(shm, os.W_OK):
        return shm
    return None


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL")
def test_kill_9_at_random_moments_leaves_old_or_new_and_converges(tmp_path):
    base = _base()
    root = Path(tempfile.mkdtemp(prefix="vaultkit-kill-", dir=base)) if base else tmp_path / "vault"
    root.mkdir(exist_ok=True)
    try:
        _run(root)
    finally:
        if base:
            shutil.rmtree(root, ignore_errors=True)


def _spawn(root: Path, version: str) -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    return subprocess.Popen(
        [sys.executable, "-c", PLAN + "\nimport sys\nworker(*sys.argv[1:])\n", str(root), version],
        cwd=REPO, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )


def _run(root: Path) -> None:
    _verified.clear()
    rng = random.Random(20261129)
    (root / "Users").mkdir(parents=True)
    for j in range(REGION_NOTES):
        (root / region_path(j)).write_bytes(region_bytes(j, None))
    # user files that must survive every kill: a taken path and an edited generated note
    (root / OUT / "g00").mkdir(parents=True)
    taken = note_path(SHIFT + 1)
    (root / taken).write_bytes(b"---\nstatus: mine\n---\nI wrote this one myself.\r\n")
    edited_i = SHIFT + 2
    edited = note_path(edited_i)
    (root / edited).write_bytes(render_with_marker(note_text(edited_i, "A")).encode() + b"My addition.\n")
    user_files = {taken: (root / taken).read_bytes(), edited: (root / edited).read_bytes()}
    allowed = expected_bytes()
    regions_allowed = {region_path(j): {region_bytes(j, v) for v in (None, "A", "B")} for j in range(REGION_NOTES)}

    # version A, in-process, to start from; then calibrate: a whole run of B in a subprocess
    files, regions = plan("A")
    first = apply(root, OUT, files, regions)
    assert first.created == N - 2 + CANVASES and first.skipped == 2 and first.updated == REGION_NOTES
    proc = _spawn(root, "B")
    out, err = proc.communicate("go\n", timeout=120)
    assert proc.returncode == 0, err
    write_time = float(out.split("done ")[1].split()[0])
    check(root, allowed, user_files, regions_allowed)

    started = time.perf_counter()
    kills = 0
    partial_states = 0
    temps_seen = 0
    version = "A"
    proc = _spawn(root, version)
    while kills < KILLS:
        assert proc.stdout.readline().strip() == "ready", proc.stderr.read()
        proc.stdin.write("go\n")
        proc.stdin.flush()
        time.sleep(rng.uniform(0.0, write_time))
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
            kills += 1
        proc.communicate(timeout=60)
        version = "B" if version == "A" else "A"
        # the next worker starts up (and waits) while this state is checked
        proc = _spawn(root, version)
        _n, temps = check(root, allowed, user_files, regions_allowed)
        temps_seen += temps
        on_disk = [(root / note_path(i)).read_bytes() for i in (SHIFT, N // 2, N - 1)]
        if len(set(b"A" in d.split(b"version: ")[1][:1] for d in on_disk)) > 1:
            partial_states += 1  # the kill landed mid-run: a mix of versions on disk
        assert time.perf_counter() - started < 120, "kill loop too slow"

    proc.kill()
    proc.communicate(timeout=60)
    # the next complete run converges: exactly version B, no temp files, nothing left to do
    files, regions = plan("B")
    final = apply(root, OUT, files, regions)
    assert final.skipped == 2, [o for o in final.problems if o.path not in user_files]
    _n, temps = check(root, allowed, user_files, regions_allowed)
    assert temps == 0
    for i in range(N + SHIFT):
        p = root / note_path(i)
        if i < SHIFT:
            assert not p.exists()
        elif note_path(i) not in user_files:
            assert p.read_bytes() == render_with_marker(note_text(i, "B")).encode(), note_path(i)
    for j in range(REGION_NOTES):
        assert (root / region_path(j)).read_bytes() == region_bytes(j, "B")
    import hashlib

    for k in range(CANVASES):
        assert (root / canvas_path(k)).read_text(encoding="utf-8") == canvas_text(k, "B")
    owned = json.loads((root / OUT / ".vaultkit-manifest.json").read_text(encoding="utf-8"))["files"]
    assert owned == {canvas_path(k): [hashlib.sha256(canvas_text(k, "B").encode()).hexdigest()]
                     for k in range(CANVASES)}
    again = apply(root, OUT, files, regions, mode=WriteMode.CHECK)
    assert not again.changed and again.unchanged == N - 2 + REGION_NOTES + CANVASES
    assert {o.path: o.action for o in again.problems} == {taken: "skipped-taken", edited: "skipped-edited"}
    assert kills >= 20
    assert partial_states >= 5, f"only {partial_states} kills landed mid-write (write phase {write_time:.2f}s)"
