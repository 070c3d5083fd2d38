#!/usr/bin/env python3
"""vaultkit at vault scale: whole-process timings, side by side, with peak RSS.

Builds synthetic vaults with ``../shared/tools/make_vault.py`` (cached under
``benchmarks/_vaults/``, git-ignored), then for each size runs every
measurement as a fresh process, round-robin over ``--reps`` repetitions (so a
burst of load from other users hits all columns alike), and prints a Markdown
table of medians, peak RSS and ratios, followed by the targets of issue 6.

Measurements (each one ``python``/``vaultkit`` process):

``floor: read``        read every byte of every ``.md`` file
``floor: read+yaml``   ... and parse every frontmatter block with libyaml (``CSafeLoader``)
``load cold``          ``Vault.load(vault)`` (parse + resolve + tier tables, no cache)
``load cold, pool``    the same with notes parsed by :func:`vaultkit.pool.load_notes` with one worker per CPU
``load warm``          ``Vault.load(vault, cache=True)`` with a primed cache
``no-op check (stamp)`` what the proposed no-op sync runs before it stops (CLI imports, config, vault_stamp, cache meta)
``show json``          ``vaultkit show VAULT --format json > /dev/null``
``sync cold``          ``vaultkit sync VAULT -q`` after deleting ``.vaultkit/cache.sqlite``
``sync first``         the same after deleting ``.vaultkit`` and the output folder ``_vaultkit``: a first sync
``sync warm``          the same again, after an unmeasured sync: nothing changed since a sync that wrote nothing
``sync 1 changed``     the same after one note was edited (a comment added at its end: nothing sync reads)
``sync 1 link added``  the same after a wikilink to another note was added to one note (what sync reads changed)
``lint``               ``vaultkit lint VAULT > /dev/null``
``read: graph json``   ``vaultkit graph VAULT -o FILE`` after an unmeasured sync (which made the cache)
``read: show json``    ``vaultkit show VAULT --format json > /dev/null``, likewise
``read: lint json``    ``vaultkit lint VAULT --format json -o FILE``, likewise
``read: … (REV)``      with ``--baseline REV``: the same with the code of git revision ``REV``, on a copy of
                       the vault of its own
``sync cold (REV)``    with ``--baseline REV``: ``sync cold`` and ``sync first`` with that code, on a copy of
                       its own
``obsidiantools``      ``Vault(p).connect().gather()`` (only on the ``--ot-notes`` vault)

``sync``/``lint`` rows appear when ``vaultkit --help`` lists those commands.
A measurement whose predicted time (from the previous size, scaled by the
note count) exceeds ``--budget`` seconds for all repetitions is skipped and
reported as such; a run over ``--timeout`` seconds is killed.

Usage::

    .venv/bin/python benchmarks/bench.py                       # 1k, 2k, 10k, 20k
    .venv/bin/python benchmarks/bench.py --sizes 1000 --reps 3 --ot-reps 1
    .venv/bin/python benchmarks/bench.py --only floor,load --sizes 1000,10000
    .venv/bin/python benchmarks/bench.py --only read --sizes 1000 --baseline d742c06
    .venv/bin/python benchmarks/bench.py --sizes "" --vault /tmp/eu25 --only sync,read --ot-notes 0

Sync and the changed-note runs work on a hard-linked copy of each vault
(``_vaults/work-nN``), so the generated vault itself is never modified.
"""

from __future__ import annotations

import argparse
import inspect
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
SHARED = Path(os.environ.get("VAULTKIT_SHARED", REPO.parent / "shared")).resolve()
MAKE_VAULT = SHARED / "tools" / "make_vault.py"
VAULTS = HERE / "_vaults"
OUT = HERE / "_out"
PY = str(Path(sys.executable))
SNAPSHOT = OUT / "snapshot"
# `vaultkit` runs from a snapshot of the working tree taken at the start (see snapshot_code),
# so that edits made by others during a long run neither mix versions nor invalidate the cache.
VAULTKIT: list[str] | None = [PY, "-m", "vaultkit"]
SEED = 1

# ------------------------------------------------------------------------------------------
# Scripts run in a fresh interpreter (argv[1] = vault)
# ------------------------------------------------------------------------------------------

_WALK = r"""
import os, sys
def md_files(root):
    for d, dirs, files in os.walk(root):
        dirs[:] = [x for x in dirs if not x.startswith('.') and x != '_vaultkit']
        for f in files:
            if f.endswith('.md') and not f.startswith('.'):
                yield os.path.join(d, f)
"""

FLOOR_READ = _WALK + r"""
n = b = 0
for p in md_files(sys.argv[1]):
    with open(p, 'rb') as fh:
        b += len(fh.read()); n += 1
print(n, b)
"""

def frontmatter_block(data: bytes) -> str | None:
    """The floor's frontmatter: the YAML between an opening ``---`` line and the next ``---`` (BOM and CRLF
    undone), or ``None``. Run as source by the floor script below, and imported by ``parse_cost.py``."""
    text = data.decode("utf-8", "replace")
    if text.startswith("\ufeff"):
        text = text[1:]
    if "\r" in text:
        text = text.replace("\r\n", "\n")
    if text.startswith("---\n"):
        end = text.find("\n---", 3)
        if end > 0:
            return text[4 : end + 1]
    return None


FLOOR_YAML = _WALK + "\n" + inspect.getsource(frontmatter_block) + r"""
import yaml
L = yaml.CSafeLoader
n = ok = 0
for p in md_files(sys.argv[1]):
    with open(p, 'rb') as fh:
        block = frontmatter_block(fh.read())
    n += 1
    if block is not None:
        try:
            yaml.load(block, Loader=L); ok += 1
        except yaml.YAMLError:
            pass
print(n, ok)
"""

LOAD = r"""
import sys
from vaultkit.vault import Vault
v = Vault.load(sys.argv[1], cache=sys.argv[2] == '1')
print(len(v.notes))
"""

# Vault.load with the parse loop replaced by pool.load_notes (the change proposed for vault.py).
LOAD_POOL = r"""
import sys
from pathlib import Path
from vaultkit import vault as V
from vaultkit.config import load_config
from vaultkit.discover import discover
from vaultkit.pool import load_notes
from vaultkit.resolve import resolve_vault
from vaultkit.tiers import read_tier_tables
root = Path(sys.argv[1])
config = load_config(root)
files, paths = discover(root, config.exclude)
from vaultkit.pool import available_cpus
notes, _notice = load_notes(root, paths, cache=sys.argv[2] == '1', workers=available_cpus())
index = resolve_vault(notes, files)
v = V.Vault(root=root, config=config, files=files, notes=notes, index=index)
for note in v.user_notes():
    rows, diags = read_tier_tables(note)
    v.techniques.extend(rows)
    note.diagnostics.extend(diags)
print(len(v.notes))
"""

# What the proposed no-op sync does before it can stop: CLI imports, config, stamp, cache meta.
NOOP_CHECK = r"""
import sys
from pathlib import Path
import vaultkit.cli
from vaultkit.cache import NoteCache, vault_stamp
from vaultkit.config import load_config
root = Path(sys.argv[1])
stamp = vault_stamp(root, output=load_config(root).output)
store = NoteCache.open(root)
store.get_meta('sync.stamp')
store.close()
print(stamp.key)
"""

OBSIDIANTOOLS = r"""
import sys
from pathlib import Path
import obsidiantools.api as otools
v = otools.Vault(Path(sys.argv[1])).connect().gather()
print(len(v.md_file_index))
"""


# ------------------------------------------------------------------------------------------
# Running
# ------------------------------------------------------------------------------------------


@dataclass
class Result:
    name: str
    times: list[float] = field(default_factory=list)
    rss_kb: list[int] = field(default_factory=list)
    note: str = ""
    failed: str = ""

    @property
    def median(self) -> float | None:
        return statistics.median(self.times) if self.times else None

    @property
    def rss_mb(self) -> float | None:
        return max(self.rss_kb) / 1024 if self.rss_kb else None


def run(cmd: list[str], timeout: float, *, ok_codes=(0,)) -> tuple[float, int, str]:
    """Run ``cmd`` to completion; return (wall seconds, peak RSS KB, error text or '')."""
    start = time.perf_counter()
    # (stderr to a file, not a pipe: a run that writes more than a pipe holds would wait for ever)
    errors = tempfile.TemporaryFile()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=errors, cwd=OUT, start_new_session=True)
    deadline = start + timeout
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        if time.perf_counter() > deadline:
            os.killpg(proc.pid, 9)
            pid, status, usage = os.wait4(proc.pid, 0)
            errors.close()
            return time.perf_counter() - start, usage.ru_maxrss, f"killed after {timeout:.0f} s"
        time.sleep(0.005)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    errors.seek(0)
    err = errors.read().decode("utf-8", "replace")
    errors.close()
    if proc.returncode not in ok_codes:
        return wall, usage.ru_maxrss, f"exit {proc.returncode}: {err.strip().splitlines()[-1:] if err else ''}"
    return wall, usage.ru_maxrss, ""


def compile_bytecode(tree: Path) -> None:
    """Write the ``.pyc`` files of ``tree`` as ``pip install`` does: without them every run compiles
    vaultkit's sources again (~0.1 s) where ``PYTHONDONTWRITEBYTECODE`` is set (as on the bench machine)."""
    subprocess.run([PY, "-m", "compileall", "-q", str(tree)], check=True, stdout=subprocess.DEVNULL)


def snapshot_code() -> str:
    """Copy ``vaultkit/`` to ``_out/snapshot`` and run everything from there; returns the commit."""
    if SNAPSHOT.exists():
        shutil.rmtree(SNAPSHOT)
    shutil.copytree(REPO / "vaultkit", SNAPSHOT / "vaultkit",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    for data in ("schemas",):  # data the package finds next to itself in a source checkout
        if (REPO / data).is_dir():
            shutil.copytree(REPO / data, SNAPSHOT / data)
    compile_bytecode(SNAPSHOT)
    os.environ["PYTHONPATH"] = str(SNAPSHOT) + os.pathsep + os.environ.get("PYTHONPATH", "")
    where = subprocess.run([PY, "-c", "import vaultkit; print(vaultkit.__file__)"], cwd=OUT,
                           capture_output=True, text=True).stdout.strip()
    if not where.startswith(str(SNAPSHOT)):
        raise SystemExit(f"bench: vaultkit imports from {where}, not from the snapshot {SNAPSHOT}")
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True,
                              text=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "vaultkit"], cwd=REPO,
                               capture_output=True, text=True).stdout.strip()
    except OSError:  # pragma: no cover
        return "?"
    return head + (" + uncommitted changes" if dirty else "")


PROPOSED = OUT / "snapshot-proposed"
BASELINE = OUT / "snapshot-baseline"


def snapshot_baseline(rev: str) -> list[str]:
    """``vaultkit/`` (and ``schemas/``) as of git revision ``rev`` in a snapshot of its own; returns the command
    that runs its ``vaultkit`` (for the rows marked ``(rev)``: the same measurement with that code)."""
    if BASELINE.exists():
        shutil.rmtree(BASELINE)
    BASELINE.mkdir(parents=True)
    paths = [p for p in ("vaultkit", "schemas") if subprocess.run(
        ["git", "cat-file", "-e", f"{rev}:{p}"], cwd=REPO, capture_output=True).returncode == 0]
    if "vaultkit" not in paths:
        raise SystemExit(f"bench: no vaultkit/ at git revision {rev!r}")
    archive = subprocess.run(["git", "archive", "--format=tar", rev, *paths], cwd=REPO, capture_output=True,
                             check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(BASELINE)], input=archive, check=True)
    compile_bytecode(BASELINE)
    boot = f"import sys; sys.path.insert(0, {str(BASELINE)!r}); from vaultkit.cli import main; main()"
    return [PY, "-c", boot]


def snapshot_proposed(patches: list[Path]) -> list[str] | None:
    """A second snapshot with ``patches`` applied (changes proposed for files others own).

    Returns the command that runs its ``vaultkit``, or ``None`` when a patch does not apply.
    """
    if PROPOSED.exists():
        shutil.rmtree(PROPOSED)
    shutil.copytree(SNAPSHOT, PROPOSED)
    for patch in patches:
        res = subprocess.run(["patch", "-p1", "--forward", "--batch", "-d", str(PROPOSED), "-i", str(patch.resolve())],
                             capture_output=True, text=True)
        if res.returncode != 0:
            print(f"# patch {patch} does not apply: {res.stdout.strip()[-300:]}", file=sys.stderr)
            return None
    compile_bytecode(PROPOSED)
    boot = f"import sys; sys.path.insert(0, {str(PROPOSED)!r}); from vaultkit.cli import main; main()"
    return [PY, "-c", boot]


def commands_available() -> set[str]:
    if VAULTKIT is None:
        return set()
    out = subprocess.run([*VAULTKIT, "--help"], capture_output=True, text=True, cwd=OUT).stdout
    names = set()
    in_cmds = False
    for line in out.splitlines():
        if line.strip() == "Commands:":
            in_cmds = True
            continue
        if in_cmds and line.startswith("  ") and line.strip():
            names.add(line.split()[0])
    return names


def ensure_vault(n: int) -> Path:
    dest = VAULTS / f"n{n}"
    if (dest / ".vault-manifest.json").exists():
        return dest
    VAULTS.mkdir(parents=True, exist_ok=True)
    print(f"# generating {n} notes into {dest} ...", file=sys.stderr, flush=True)
    subprocess.run([PY, str(MAKE_VAULT), str(dest), "--notes", str(n), "--seed", str(SEED), "--force"],
                   check=True, stdout=subprocess.DEVNULL)
    return dest


def work_copy(src: Path, prefix: str = "work-") -> Path:
    """A hard-linked copy (instant, no disk) that sync may write into; files are replaced, never edited."""
    dst = VAULTS / f"{prefix}{src.name}"
    if dst.exists():
        shutil.rmtree(dst)
    if subprocess.run(["cp", "-al", str(src), str(dst)], stderr=subprocess.DEVNULL).returncode != 0:
        shutil.rmtree(dst, ignore_errors=True)  # (another file system: no hard links, a whole copy)
        subprocess.run(["cp", "-a", str(src), str(dst)], check=True)
    shutil.rmtree(dst / ".vaultkit", ignore_errors=True)
    return dst


def settle(cmd: list[str], args):
    """Prepare a warm run: one unmeasured sync first, so that the measured one follows a sync
    that changed nothing (the one before may have written files, e.g. after the edited note)."""
    return lambda rep: run(cmd, args.timeout, ok_codes=(0, 1))


# What a measurement removes is moved here and deleted only when every measurement is done. On this
# machine (ext4 mounted with ``discard``, a virtual disk), creating files after many were deleted often
# stalls, about 1 ms a file: a first sync of 1,000 notes took 5.4–8.4 s right after deleting the last one's
# output, 3.5–4.1 s with the deletes deferred (BENCHMARKS.md, 2026-12-02 06:00).
TRASH = VAULTS / ".trash"


def set_aside(path: Path) -> None:
    """Move ``path`` (file or folder) into :data:`TRASH` (same file system: a rename, nothing freed yet)."""
    if not os.path.lexists(path):
        return
    TRASH.mkdir(parents=True, exist_ok=True)
    dst = Path(tempfile.mkdtemp(dir=TRASH)) / path.name
    try:
        os.rename(path, dst)
    except OSError:  # (another file system: removed now after all)
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)


def empty_trash() -> None:
    shutil.rmtree(TRASH, ignore_errors=True)


def drop_cache(root: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        set_aside(root / ".vaultkit" / f"cache.sqlite{suffix}")


def drop_made(root: Path) -> None:
    """Set aside what vaultkit made in a vault (its ``.vaultkit`` folder and the default output folder): the
    next sync is its first."""
    for made in (".vaultkit", "_vaultkit"):
        set_aside(root / made)


def touch_one_note(root: Path, counter: int) -> None:
    """Edit one note by writing a new file in its place (the hard-linked original stays intact)."""
    notes = sorted(p for p in root.rglob("*.md") if "_vaultkit" not in p.parts and ".vaultkit" not in p.parts)
    target = notes[len(notes) // 2]
    data = target.read_bytes()
    marker = b"\n%% bench edit %%\n"
    data = data.split(marker)[0] + marker + str(counter).encode() + b"\n"
    tmp = target.with_name(target.name + ".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, target)


def link_one_note(root: Path, counter: int) -> None:
    """Edit one note so that what sync reads changes: a wikilink to another note (a new one each time)
    is added at its end, as a replacement file (the hard-linked original stays intact)."""
    notes = sorted(p for p in root.rglob("*.md") if "_vaultkit" not in p.parts and ".vaultkit" not in p.parts)
    target = notes[len(notes) // 3]
    other = notes[(len(notes) // 3 + 1 + counter) % len(notes)]
    data = target.read_bytes()
    marker = b"\n%% bench link %%\n"
    data = data.split(marker)[0] + marker + f"See [[{other.stem}]].\n".encode()
    tmp = target.with_name(target.name + ".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, target)


def md_stats(root: Path) -> tuple[int, int]:
    n = b = 0
    for d, dirs, files in os.walk(root):
        dirs[:] = [x for x in dirs if not x.startswith(".") and x != "_vaultkit"]
        for f in files:
            if f.endswith(".md"):
                n += 1
                b += os.path.getsize(os.path.join(d, f))
    return n, b


def load_avg() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:  # pragma: no cover
        return "?"


def machine() -> dict[str, str]:
    cpu = platform.processor() or "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:  # pragma: no cover
        pass
    mem = "?"
    try:
        kb = int(next(l for l in Path("/proc/meminfo").read_text().splitlines() if l.startswith("MemTotal")).split()[1])
        mem = f"{kb / 1024 / 1024:.1f} GiB"
    except (OSError, StopIteration, ValueError):  # pragma: no cover
        pass
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover
        cpus = os.cpu_count() or 0
    try:
        import sqlite3

        sqlite = sqlite3.sqlite_version
    except ImportError:  # pragma: no cover
        sqlite = "?"
    return {
        "cpu": cpu, "cpus": str(cpus), "ram": mem, "python": platform.python_version(),
        "os": f"{platform.system()} {platform.release()}", "sqlite": sqlite,
    }


# ------------------------------------------------------------------------------------------
# One vault size
# ------------------------------------------------------------------------------------------


def measure_size(n: int, args, cmds: set[str], previous: dict[str, tuple[int, float]],
                 src: Path | None = None) -> dict:
    src = src or ensure_vault(n)
    notes, md_bytes = md_stats(src)
    work = work_copy(src)
    only = set(args.only.split(",")) if args.only else None

    def want(group: str) -> bool:
        if only is None:  # `show` is only a stand-in for a missing `sync`
            return group != "show" or "sync" not in cmds
        return group in only

    plan: list[tuple[str, str, list[str], object]] = []  # (name, group, cmd, prepare)
    if want("floor"):
        plan.append(("floor: read", "floor", [PY, "-c", FLOOR_READ, str(src)], None))
        plan.append(("floor: read+yaml", "floor", [PY, "-c", FLOOR_YAML, str(src)], None))
    if want("load"):
        plan.append(("load cold", "load", [PY, "-c", LOAD, str(src), "0"], None))
        plan.append(("load cold, pool", "load", [PY, "-c", LOAD_POOL, str(src), "0"], None))
        plan.append(("load warm", "load", [PY, "-c", LOAD, str(src), "1"], None))
        plan.append(("no-op check (stamp)", "load", [PY, "-c", NOOP_CHECK, str(src)], None))
    if want("show") and VAULTKIT:
        plan.append(("show json", "show", [*VAULTKIT, "show", str(src), "--format", "json"], None))
    if want("sync") and "sync" in cmds:
        sync = [*VAULTKIT, "sync", str(work), "-q"]
        plan.append(("sync cold", "sync", sync, lambda rep: drop_cache(work)))
        plan.append(("sync first", "sync", sync, lambda rep: drop_made(work)))
        plan.append(("sync warm", "sync", sync, settle(sync, args)))
        plan.append(("sync 1 changed", "sync", sync, lambda rep: touch_one_note(work, rep)))
        plan.append(("sync 1 link added", "sync", sync, lambda rep: link_one_note(work, rep)))
    if want("sync") and "sync" in cmds and args.proposed_cmd:
        pwork = work_copy(src, "work-proposed-")
        psync = [*args.proposed_cmd, "sync", str(pwork), "-q"]
        plan.append(("sync cold (proposed)", "sync", psync, lambda rep: drop_cache(pwork)))
        plan.append(("sync warm (proposed)", "sync", psync, settle(psync, args)))
        plan.append(("sync 1 changed (proposed)", "sync", psync, lambda rep: touch_one_note(pwork, rep)))
    if want("sync") and "sync" in cmds and args.baseline_cmd:
        bwork = work_copy(src, "work-baseline-sync-")
        bsync = [*args.baseline_cmd, "sync", str(bwork), "-q"]
        plan.append((f"sync cold ({args.baseline})", "sync", bsync, lambda rep: drop_cache(bwork)))
        plan.append((f"sync first ({args.baseline})", "sync", bsync, lambda rep: drop_made(bwork)))
    if want("lint") and "lint" in cmds:
        plan.append(("lint", "lint", [*VAULTKIT, "lint", str(work)], None))
    # The commands that read a synced vault (its cache, made by an unmeasured sync first), each writing its
    # whole output; with --baseline, the same with the code of that revision, on a copy of its own (the
    # cache of one code version is not the other's).
    readers = [("", VAULTKIT, work)] if want("read") and {"sync", "graph", "show"} <= cmds else []
    if readers and args.baseline_cmd:
        readers.append((f" ({args.baseline})", args.baseline_cmd, work_copy(src, "work-baseline-")))
    for suffix, vk, where in readers:
        out = OUT / ("read" + re.sub(r"[^\w.-]", "_", suffix.strip(" ()")))  # (a revision may hold a "/")
        plan.append((f"read: graph json{suffix}", "read", [*vk, "graph", str(where), "-o", f"{out}.json"], None))
        plan.append((f"read: show json{suffix}", "read", [*vk, "show", str(where), "--format", "json"], None))
        plan.append((f"read: lint json{suffix}", "read", [*vk, "lint", str(where), "--format", "json", "-o",
                                                    f"{out}.lint.json"], None))

    results = {name: Result(name) for name, *_ in plan}
    # Skip what is predicted to blow the budget (from the previous, smaller size).
    for name, *_ in plan:
        if name in previous:
            prev_n, prev_t = previous[name]
            predicted = prev_t * n / prev_n
            group = next(g for nm, g, *_ in plan if nm == name)
            reps = args.slow_reps if group in ("sync", "lint", "read") else args.reps
            if predicted * reps > args.budget:
                results[name].note = f"skipped: predicted {predicted:.0f} s a run ({prev_t:.1f} s at {prev_n})"
    # Prime the cache for "load warm" (and a first sync, so outputs exist before the reps).
    if "load warm" in results and not results["load warm"].note:
        run([PY, "-c", LOAD, str(src), "1"], args.timeout)
    for name, group, cmd, prepare in plan:
        if name.startswith("sync cold") and not results[name].note:
            print(f"#   n={n}: first {name} (unmeasured) ...", file=sys.stderr, flush=True)
            run(cmd, args.timeout * 2, ok_codes=(0, 1))
    for name, group, cmd, prepare in plan:
        if name.startswith("read: graph json") and not results[name].note:  # (graph's vault: cmd[-3])
            print(f"#   n={n}: sync before {name} (unmeasured) ...", file=sys.stderr, flush=True)
            run([*cmd[:-4], "sync", cmd[-3], "-q"], args.timeout * 2, ok_codes=(0, 1))

    load_before = load_avg()
    slow = {"sync", "lint", "read"}
    for rep in range(max(args.reps, args.slow_reps)):
        for name, group, cmd, prepare in plan:
            res = results[name]
            if res.note or res.failed:
                continue
            if rep >= (args.slow_reps if group in slow else args.reps):
                continue
            if prepare is not None:
                prepare(rep)
            wall, rss, err = run(cmd, args.timeout, ok_codes=(0, 1) if group in ("sync", "lint", "read") else (0,))
            if err:
                res.failed = err
                continue
            res.times.append(wall)
            res.rss_kb.append(rss)
            print(f"#   n={n} rep {rep + 1} {name}: {wall:.3f} s, {rss / 1024:.0f} MB "
                  f"(load {load_avg()})", file=sys.stderr, flush=True)
    load_after = load_avg()
    for copy in (work, *(VAULTS / f"work-{kind}-{src.name}" for kind in ("proposed", "baseline", "baseline-sync"))):
        set_aside(copy)
    return {
        "notes": notes, "md_bytes": md_bytes, "load_before": load_before, "load_after": load_after,
        "results": {k: {"times": r.times, "median": r.median, "rss_mb": r.rss_mb, "note": r.note,
                        "failed": r.failed} for k, r in results.items()},
    }


def measure_obsidiantools(n: int, args) -> dict:
    src = ensure_vault(n)
    notes, md_bytes = md_stats(src)
    res = Result("obsidiantools")
    try:
        import obsidiantools  # noqa: F401
    except ImportError:
        res.failed = "obsidiantools not installed (pip install -e '.[bench]')"
        return {"notes": notes, "md_bytes": md_bytes, "result": res.__dict__ | {"median": None, "rss_mb": None}}
    load_before = load_avg()
    for rep in range(args.ot_reps):
        wall, rss, err = run([PY, "-c", OBSIDIANTOOLS, str(src)], args.ot_timeout)
        if err:
            res.failed = err
            break
        res.times.append(wall)
        res.rss_kb.append(rss)
        print(f"#   obsidiantools n={n} rep {rep + 1}: {wall:.1f} s, {rss / 1024:.0f} MB (load {load_avg()})",
              file=sys.stderr, flush=True)
    return {"notes": notes, "md_bytes": md_bytes, "load_before": load_before, "load_after": load_avg(),
            "result": {"times": res.times, "median": res.median, "rss_mb": res.rss_mb, "failed": res.failed}}


# ------------------------------------------------------------------------------------------
# Report
# ------------------------------------------------------------------------------------------


def fmt_s(x: float | None) -> str:
    if x is None:
        return "–"
    return f"{x:.3f}" if x < 10 else f"{x:.1f}"


def report(data: dict) -> str:
    lines = []
    m = data["machine"]
    lines.append(f"Machine: {m['cpu']}, {m['cpus']} CPUs, {m['ram']} RAM, Python {m['python']}, "
                 f"SQLite {m['sqlite']}, {m['os']}. Run {data['started']}–{data.get('finished', '?')} UTC, "
                 f"{data['reps']} runs per measurement ({data.get('slow_reps', data['reps'])} for sync/lint); "
                 f"medians shown. Code: {data.get('code', '?')}.")
    lines.append("")
    lines.append("| vault | measurement | median s | runs (s) | peak RSS MB | RSS / MD bytes | × floor | ms / note |")
    lines.append("|---|---|---:|---|---:|---:|---:|---:|")
    given = [(f" ({Path(path).name})", size) for path, size in data.get("vaults", {}).items()]
    for suffix, size in [("", size) for size in data["sizes"].values()] + given:
        n, mdb = size["notes"], size["md_bytes"]
        floor = size["results"].get("floor: read+yaml", {}).get("median")
        label = f"{n:,} notes, {mdb / 1e6:.0f} MB{suffix}"
        for name, r in size["results"].items():
            if r["median"] is None:
                why = r["note"] or r["failed"] or "not run"
                lines.append(f"| {label} | {name} | – | {why} | | | | |")
                continue
            ratio = f"{r['median'] / floor:.1f}×" if floor else "–"
            runs = ", ".join(fmt_s(t) for t in r["times"])
            rss = r["rss_mb"]
            lines.append(f"| {label} | {name} | {fmt_s(r['median'])} | {runs} | {rss:.0f} | "
                         f"{rss * 1024 * 1024 / mdb:.2f} | {ratio} | {r['median'] / n * 1000:.2f} |")
        lines.append(f"| {label} | *load average before / after* | | {size['load_before']} / "
                     f"{size['load_after']} | | | | |")
    ot = data.get("obsidiantools")
    if ot:
        r = ot["result"]
        label = f"{ot['notes']:,} notes, {ot['md_bytes'] / 1e6:.0f} MB"
        if r["median"] is not None:
            runs = ", ".join(fmt_s(t) for t in r["times"])
            lines.append(f"| {label} | obsidiantools connect().gather() | {fmt_s(r['median'])} | {runs} | "
                         f"{r['rss_mb']:.0f} | {r['rss_mb'] * 1024 * 1024 / ot['md_bytes']:.2f} | | "
                         f"{r['median'] / ot['notes'] * 1000:.1f} |")
        else:
            lines.append(f"| {label} | obsidiantools | – | {r['failed']} | | | | |")
    lines.append("")
    lines.extend(targets(data))
    return "\n".join(lines)


def _get(data: dict, n: int, name: str) -> dict | None:
    size = data["sizes"].get(str(n))
    if not size:
        return None
    r = size["results"].get(name)
    return r if r and r["median"] is not None else None


def targets(data: dict) -> list[str]:
    out = ["| target | measured | verdict |", "|---|---|---|"]
    sizes = sorted(int(k) for k in data["sizes"])

    def verdict(ok: bool | None) -> str:
        return "–" if ok is None else ("met" if ok else "**missed**")

    def pick(n: int, *names: str) -> tuple[str, dict] | tuple[None, None]:
        for name in names:
            r = _get(data, n, name)
            if r:
                return name, r
        return None, None

    ot = data.get("obsidiantools")
    if ot and ot["result"]["median"]:
        n = ot["notes"]
        for name in ("sync cold", "sync cold (proposed)", "load cold", "load cold, pool"):
            r = _get(data, n, name)
            if r:
                x = ot["result"]["median"] / r["median"]
                out.append(f"| {name} ≥ 50× faster than obsidiantools at {n:,} notes | "
                           f"{x:.1f}× ({fmt_s(r['median'])} s vs {fmt_s(ot['result']['median'])} s) | "
                           f"{verdict(x >= 50)} |")
    for n in sizes:
        if n < 10_000:
            continue
        floor = _get(data, n, "floor: read+yaml")
        for name in ("sync cold", "load cold", "load cold, pool"):
            r = _get(data, n, name)
            if r and floor:
                x = r["median"] / floor["median"]
                out.append(f"| {name} ≤ 3× floor at {n:,} | {x:.1f}× ({fmt_s(r['median'])} s vs "
                           f"{fmt_s(floor['median'])} s) | {verdict(x <= 3)} |")
    for n in sizes:
        for cold_name, warm_name, one_name in (("sync cold", "sync warm", "sync 1 changed"),
                                               ("sync cold (proposed)", "sync warm (proposed)",
                                                "sync 1 changed (proposed)"),
                                               ("load cold", "load warm", None)):
            cold = _get(data, n, cold_name)
            warm = _get(data, n, warm_name)
            if cold and warm:
                x = warm["median"] / cold["median"]
                out.append(f"| {warm_name} ≤ 5% of {cold_name} at {n:,} | {x * 100:.1f}% "
                           f"({fmt_s(warm['median'])} s) | {verdict(x <= 0.05)} |")
            for edited in ([one_name, "sync 1 link added"] if one_name == "sync 1 changed" else [one_name]):
                one = _get(data, n, edited) if edited else None
                if cold and one:
                    x = one["median"] / cold["median"]
                    out.append(f"| {edited} ≤ 15% of {cold_name} at {n:,} | {x * 100:.1f}% "
                               f"({fmt_s(one['median'])} s) | {verdict(x <= 0.15)} |")
    small = [n for n in sizes if n <= 2000]
    big = [n for n in sizes if n >= 10_000]
    if small and big:
        a, b = max(small), max(big)
        for name in ("sync cold", "load cold", "load cold, pool", "load warm", "floor: read+yaml"):
            ra, rb = _get(data, a, name), _get(data, b, name)
            if ra and rb:
                x = (rb["median"] / b) / (ra["median"] / a)
                out.append(f"| {name}: per-note cost at {b:,} ≤ 1.2× that at {a:,} | {x:.2f}× | "
                           f"{verdict(x <= 1.2)} |")
    for n in sizes:
        size = data["sizes"][str(n)]
        for name in ("sync cold", "load cold", "load cold, pool", "lint"):
            r = _get(data, n, name)
            if r:
                x = r["rss_mb"] * 1024 * 1024 / size["md_bytes"]
                out.append(f"| {name}: peak RSS ≤ 3× Markdown bytes at {n:,} | {x:.2f}× "
                           f"({r['rss_mb']:.0f} MB) | {verdict(x <= 3)} |")
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="1000,2000,10000,20000", help="comma-separated note counts")
    ap.add_argument("--reps", type=int, default=3, help="runs per measurement (median reported)")
    ap.add_argument("--slow-reps", type=int, default=None, help="runs of sync and lint (default: --reps)")
    ap.add_argument("--only", default="", help="groups to run: floor,load,show,sync,lint,read")
    ap.add_argument("--ot-notes", type=int, default=1000, help="vault size for obsidiantools (0: skip)")
    ap.add_argument("--ot-reps", type=int, default=1)
    ap.add_argument("--ot-timeout", type=float, default=900)
    ap.add_argument("--timeout", type=float, default=900, help="kill a single run after this many seconds")
    ap.add_argument("--budget", type=float, default=600,
                    help="skip a measurement predicted to need more seconds than this for all its runs")
    ap.add_argument("--markdown", type=Path, help="also write the report to this file")
    ap.add_argument("--patch", type=Path, action="append", default=[],
                    help="also measure sync with this patch applied to a copy of the code (repeatable)")
    ap.add_argument("--vault", type=Path, action="append", default=[],
                    help="also measure this vault (e.g. copies of a real one), on a hard-linked copy (repeatable)")
    ap.add_argument("--baseline", metavar="REV", default=None,
                    help="also measure the read group (graph, show, lint of a synced vault) with the code of "
                         "this git revision, side by side")
    args = ap.parse_args(argv)
    if args.slow_reps is None:
        args.slow_reps = args.reps
    if not MAKE_VAULT.exists():
        print(f"make_vault.py not found at {MAKE_VAULT} (set VAULTKIT_SHARED)", file=sys.stderr)
        return 2
    empty_trash()  # (left by a run that was stopped)
    code = snapshot_code()
    args.proposed_cmd = snapshot_proposed(args.patch) if args.patch else None
    args.baseline_cmd = snapshot_baseline(args.baseline) if args.baseline else None
    cmds = commands_available()
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    data = {"machine": machine(), "started": time.strftime("%Y-%m-%d %H:%M", time.gmtime()),
            "code": code, "reps": args.reps, "slow_reps": args.slow_reps, "commands": sorted(cmds), "sizes": {}}
    previous: dict[str, tuple[int, float]] = {}
    for n in sorted(sizes):
        print(f"# n={n} (load {load_avg()})", file=sys.stderr, flush=True)
        size = measure_size(n, args, cmds, previous)
        data["sizes"][str(n)] = size
        for name, r in size["results"].items():
            if r["median"] is not None:
                previous[name] = (n, r["median"])
            elif r["failed"].startswith("killed"):
                previous[name] = (n, args.timeout)
    for path in args.vault:
        if not path.is_dir():
            print(f"bench: --vault {path}: not a folder", file=sys.stderr)
            return 2
        copy = work_copy(path.resolve(), "given-")  # (measured on a hard-linked copy: the vault is never written)
        notes, _ = md_stats(copy)
        print(f"# {path} ({notes} notes; load {load_avg()})", file=sys.stderr, flush=True)
        data.setdefault("vaults", {})[str(path)] = measure_size(notes, args, cmds, {}, src=copy)
        set_aside(copy)
    if args.ot_notes:
        print(f"# obsidiantools n={args.ot_notes} (load {load_avg()})", file=sys.stderr, flush=True)
        data["obsidiantools"] = measure_obsidiantools(args.ot_notes, args)
    data["finished"] = time.strftime("%Y-%m-%d %H:%M", time.gmtime())
    empty_trash()
    OUT.mkdir(exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime())
    (OUT / f"results-{stamp}.json").write_text(json.dumps(data, indent=1), encoding="utf-8")
    text = report(data)
    print(text)
    if args.markdown:
        args.markdown.write_text(text + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
