"""Parsing in a process pool gives exactly the notes, in exactly the order, of parsing in-process."""

from __future__ import annotations

import io
import os
import sys
from pathlib import Path

import pytest

from vaultkit import pool
from vaultkit.discover import discover
from vaultkit.pool import ENV_WORKERS, load_notes, parse_files, plan_workers
from vaultkit.progress import Progress

from .conftest import EUGENE, need


def _items(root: Path) -> list[tuple[str, Path]]:
    return list(discover(root)[1].items())


def test_pool_output_equals_in_process_output_in_input_order() -> None:
    items = _items(need(EUGENE))
    items = items[::-1]  # not sorted: the order of the input must be kept, not re-sorted
    serial = parse_files(items, workers=1)
    parallel = parse_files(items, workers=2)
    assert [n.path for n in parallel] == [rel for rel, _ in items]
    assert parallel == serial


@pytest.mark.parametrize("workers", [2, 1])
def test_pool_sends_texts_only_when_asked_and_reads_them_on_use(tmp_path: Path, monkeypatch, workers: int) -> None:
    """A sync's pool leaves the UTF-8 texts out (read from the file on use); the notes are the same. So does
    the parse in this process (one worker), which held every text for the whole run before."""
    import shutil

    from vaultkit import cache
    from vaultkit.cache import decode_note, encode_note

    root = tmp_path / "eugene"
    shutil.copytree(need(EUGENE), root, ignore=shutil.ignore_patterns(".vaultkit"))
    (root / "bom crlf.md").write_bytes(b"\xef\xbb\xbf---\r\ntitle: T\r\n---\r\nSee [[x]]\r\n")
    (root / "latin.md").write_bytes("caf\u00e9 [[y]]\n".encode("latin-1"))
    items = _items(root)
    opened = []
    real_load = cache._FileText.load
    monkeypatch.setattr(cache._FileText, "load", lambda self: opened.append(self.path) or real_load(self))
    encoded: dict[str, bytes] = {}
    sunk: list[str] = []

    def sink(note, row):
        sunk.append(note.path)
        if row is not None:
            encoded[note.path] = row

    lazy = parse_files(items, workers=workers, lazy_text=True, sink=sink)
    assert opened == []
    assert sorted(sunk) == sorted(rel for rel, _path in items)  # (each note once)
    assert len(encoded) == len(items)  # every row as the cache stores it (a text that is not UTF-8 in it)
    eager = parse_files(items, workers=1)
    for note in eager:  # (the row the cache stores: what encoding the note with its text gives)
        stored = decode_note(encoded[note.path])
        assert stored == decode_note(encode_note(note))  # (marshal's bytes may differ)
        assert (stored.text is None) == (note.path != "latin.md")
    assert lazy == eager  # (comparing reads every text)
    assert len(opened) == len(items) - 1


def test_a_syncs_notes_parsed_here_are_those_a_worker_sends(tmp_path: Path, monkeypatch) -> None:
    """With one worker (this process), a sync's parse leaves texts and long property values unread as the
    workers' notes come: equal notes, nothing read again until asked for (``cache.leave_unread``)."""
    import shutil

    from vaultkit import cache
    from vaultkit.model import _FM_SLOT, LazyProperties, Note, _text_loader

    def unread(note: Note) -> object:
        return _FM_SLOT.__get__(note, Note)  # (the properties as held, not read)

    root = tmp_path / "eugene"
    shutil.copytree(need(EUGENE), root, ignore=shutil.ignore_patterns(".vaultkit"))
    (root / "bom crlf.md").write_bytes(b"\xef\xbb\xbf---\r\ntitle: T\r\nlong: " + b"y" * 300 + b"\r\n---\r\nSee [[x]]\r\n")
    (root / "latin.md").write_bytes("caf\u00e9 [[y]]\n".encode("latin-1"))
    (root / "empty.md").write_bytes(b"")
    (root / "pickled.md").write_bytes(b"---\nwhen: !!timestamp 2020-01-01\nlong: " + b"z" * 300 + b"\n---\nText\n")
    items = _items(root)
    opened: list[object] = []
    for kind in (cache._FileText, cache.FileProperties):
        real = kind.load
        monkeypatch.setattr(kind, "load", lambda self, real=real: opened.append(self.path) or real(self))
    rows: dict[str, dict[str, bytes | None]] = {"here": {}, "workers": {}}
    notes = {}
    for name, workers in (("here", 1), ("workers", 2)):
        notes[name] = parse_files(items, workers=workers, lazy_text=True, lazy_properties=True,
                                  sink=lambda note, row, name=name: rows[name].__setitem__(note.path, row))
    assert opened == []
    here, there = ({n.path: n for n in notes[k]} for k in ("here", "workers"))
    assert rows["here"].keys() == rows["workers"].keys() == here.keys()
    for path, row in rows["here"].items():  # the cache stores the same rows (marshal's bytes may differ)
        assert row is not None and cache.decode_note(row) == cache.decode_note(rows["workers"][path]), path
    for path, note in here.items():
        other = there[path]
        assert (_text_loader(note) is None) == (_text_loader(other) is None), path
        assert type(unread(note)) is type(unread(other)), path
    assert sum(type(unread(n)) is LazyProperties for n in here.values()) > 100
    assert _text_loader(here["latin.md"]) is None and _text_loader(here["empty.md"]) is None
    assert rows["here"]["pickled.md"][:1] == b"P" and _text_loader(here["pickled.md"]) is None  # (kept, as pickled)
    assert type(unread(here["pickled.md"])) is dict
    assert [n.path for n in notes["here"]] == [rel for rel, _ in items]
    assert notes["here"] == notes["workers"] == parse_files(items, workers=1)  # (comparing reads them all)


def test_pool_works_while_other_threads_run() -> None:
    import threading

    items = _items(need(EUGENE))[:30]
    stop = threading.Event()
    t = threading.Thread(target=stop.wait, daemon=True)  # like the watch mode's observer thread
    t.start()
    try:
        assert pool._context().get_start_method() in ("forkserver", "spawn")
        assert parse_files(items, workers=2) == parse_files(items, workers=1)
    finally:
        stop.set()
        t.join()
    if threading.active_count() == 1:  # other tests may have left daemon threads behind
        assert pool._context().get_start_method() == "fork"


def test_more_workers_than_items_and_empty_input(tmp_path: Path) -> None:
    (tmp_path / "only.md").write_text("[[x]] #t\n", encoding="utf-8")
    items = _items(tmp_path)
    assert [n.tags for n in parse_files(items, workers=4)] == [["t"]]
    assert parse_files([], workers=4) == []


def test_unreadable_file_gives_a_diagnostic_not_an_exception(tmp_path: Path) -> None:
    items = [("gone.md", tmp_path / "gone.md"), ("dir.md", tmp_path)]
    for workers in (1, 2):
        notes = parse_files(items, workers=workers)
        assert [n.path for n in notes] == ["gone.md", "dir.md"]
        assert all(d.code == "VK004" for n in notes for d in n.diagnostics)


def test_small_batches_stay_in_process(tmp_path: Path) -> None:
    (tmp_path / "a.md").write_text("x", encoding="utf-8")
    assert plan_workers(_items(tmp_path)) == (1, 1)


@pytest.fixture(autouse=True)
def _no_own_load(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test sees only the (patched) load average, not this test process's own CPU use nor the tasks
    running on the machine now."""
    monkeypatch.setattr(pool, "own_load", lambda: 0.0)
    monkeypatch.setattr(pool, "runnable_others", lambda: float("inf"))


def test_a_load_average_left_by_a_run_that_ended_does_not_count_as_busy(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "getloadavg", lambda: (1.9, 1.2, 1.0))  # a sync that just ended, or tasks on a disk
    monkeypatch.setattr(pool, "runnable_others", lambda: 0.0)  # ... and no other task wants a CPU now
    assert pool.idle_workers(2) == 2
    monkeypatch.setattr(pool, "runnable_others", lambda: 2.0)  # two other tasks running: they are busy
    assert pool.idle_workers(2) == 1
    monkeypatch.setattr(os, "getloadavg", lambda: (0.1, 0.1, 0.1))  # a moment of many tasks, on a quiet minute
    assert pool.idle_workers(2) == 2


def test_runnable_others_reads_the_tasks_running_now(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.undo()  # the real one
    found = pool.runnable_others()
    assert found == float("inf") if not Path("/proc/loadavg").exists() else 0.0 <= found < 10_000


def test_the_load_of_our_own_workers_does_not_count_as_busy(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "getloadavg", lambda: (2.0, 1.0, 0.5))  # our parse workers just ran ...
    monkeypatch.setattr(pool, "own_load", lambda: 1.9)  # ... and kept about two CPUs busy
    assert pool.idle_workers(2) == 2
    monkeypatch.setattr(pool, "own_load", lambda: 0.0)  # someone else's work
    assert pool.idle_workers(2) == 1


def test_own_load_measures_this_process(monkeypatch: pytest.MonkeyPatch) -> None:
    import time

    monkeypatch.undo()  # the real own_load
    monkeypatch.setattr(pool, "_cpu_samples", [])
    assert pool.own_load() == 0.0
    end = time.monotonic() + 1.2
    while time.monotonic() < end:  # a busy second: about one CPU
        pass
    assert 0.5 < pool.own_load() < 1.6


def test_large_batches_use_every_cpu(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for i in range(4):
        (tmp_path / f"n{i}.md").write_text("x" * 1000, encoding="utf-8")
    monkeypatch.delenv(ENV_WORKERS, raising=False)
    monkeypatch.setattr(pool, "MIN_POOL_FILES", 2)
    monkeypatch.setattr(pool, "MIN_POOL_BYTES", 10)
    monkeypatch.setattr(pool, "available_cpus", lambda: 2)
    monkeypatch.setattr(os, "getloadavg", lambda: (0.2, 0.2, 0.2))
    assert plan_workers(_items(tmp_path)) == (2, 4000)
    monkeypatch.setattr(os, "getloadavg", lambda: (1.8, 1.0, 1.0))  # the machine is busy: stay in-process
    assert plan_workers(_items(tmp_path))[0] == 1
    monkeypatch.setattr(os, "getloadavg", lambda: (0.2, 0.2, 0.2))
    monkeypatch.setattr(pool, "available_cpus", lambda: 1)
    assert plan_workers(_items(tmp_path))[0] == 1


def test_idle_workers_follow_the_load_average(monkeypatch: pytest.MonkeyPatch) -> None:
    got = {}
    for load in (0.0, 1.0, 1.4, 1.6, 3.0):
        monkeypatch.setattr(os, "getloadavg", lambda load=load: (load, 0.0, 0.0))
        got[load] = (pool.idle_workers(2), pool.idle_workers(8))
    assert got == {0.0: (2, 8), 1.0: (2, 8), 1.4: (2, 8), 1.6: (1, 7), 3.0: (1, 6)}


def test_environment_variable_forces_the_worker_count(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for i in range(3):
        (tmp_path / f"n{i}.md").write_text("x", encoding="utf-8")
    monkeypatch.setenv(ENV_WORKERS, "2")
    assert plan_workers(_items(tmp_path))[0] == 2
    monkeypatch.setenv(ENV_WORKERS, "1")
    assert plan_workers(_items(tmp_path))[0] == 1
    monkeypatch.setenv(ENV_WORKERS, "16")
    assert plan_workers(_items(tmp_path))[0] == 3  # never more workers than files


def test_pool_failure_falls_back_to_in_process(monkeypatch: pytest.MonkeyPatch) -> None:
    items = _items(need(EUGENE))[:20]

    class Broken:
        def __init__(self, *a, **k):
            raise OSError("no processes allowed here")

    monkeypatch.setattr(pool, "_executor_class", lambda: Broken)
    assert parse_files(items, workers=2) == parse_files(items, workers=1)


def test_progress_callback_counts_every_note() -> None:
    items = _items(need(EUGENE))
    for workers in (1, 2):
        done: list[int] = []
        parse_files(items, workers=workers, progress=done.append)
        assert sum(done) == len(items)


def test_chunks_cover_every_item_once() -> None:
    items = [(f"n{i}.md", Path(f"/x/n{i}.md")) for i in range(10)]
    chunks = pool._chunks(items, [5] * 10, 12)
    assert [rel for c in chunks for rel, _ in c] == [rel for rel, _ in items]
    assert all(len(c) <= 3 for c in chunks)


# -- progress bar -------------------------------------------------------------------------


class FakeTTY(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_is_silent_when_not_a_tty_or_quiet() -> None:
    for stream, quiet in ((io.StringIO(), False), (FakeTTY(), True)):
        bar = Progress(10, "parsing", stream=stream, quiet=quiet, delay=0)
        bar.advance(10)
        bar.close()
        assert stream.getvalue() == ""
        assert bar.done == 10


def test_progress_draws_on_a_tty_and_erases_itself(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TERM", "xterm")
    stream = FakeTTY()
    with Progress(4, "parsing", stream=stream, delay=0) as bar:
        bar.advance(2)
    out = stream.getvalue()
    assert out.startswith("\rparsing [") and "2/4  50%" in out
    assert out.endswith("\r\x1b[2K")


def test_progress_waits_before_showing_a_short_run(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TERM", "xterm")
    stream = FakeTTY()
    with Progress(4, "parsing", stream=stream, delay=60) as bar:
        bar.advance(4)
    assert stream.getvalue() == ""


def test_progress_render() -> None:
    bar = Progress(200, "notes", stream=io.StringIO())
    bar.advance(50)
    assert bar.render(120) == "notes [" + "#" * 10 + "." * 30 + "] 50/200  25%"
    assert len(bar.render(40)) <= 40
    unknown = Progress(0, "files", stream=io.StringIO())
    unknown.advance(7)
    assert unknown.render() == "files 7"
    assert os.environ.get("TERM") != "dumb" or not Progress(1, force=True).enabled


# -- cache + pool together (the parse step proposed for Vault.load) -----------------------


def test_load_notes_equals_vault_load_with_and_without_cache(eugene_copy: Path) -> None:
    from vaultkit.vault import Vault

    expected = Vault.load(eugene_copy).notes
    _files, paths = discover(eugene_copy)
    unresolved = {rel: parse_files([(rel, p)], workers=1)[0] for rel, p in paths.items()}
    for cache in (False, True, True):  # no cache, cold cache, warm cache
        notes, notice = load_notes(eugene_copy, paths, cache=cache, workers=2)
        assert notice is None
        assert list(notes) == list(paths)
        assert notes == unresolved
    assert set(expected) == set(notes)


def test_load_notes_reparses_only_changed_notes(tmp_path: Path) -> None:
    for i in range(5):
        (tmp_path / f"n{i}.md").write_text(f"[[n{i + 1}]]\n", encoding="utf-8")
        os.utime(tmp_path / f"n{i}.md", ns=(1_600_000_000_000_000_000,) * 2)
    _files, paths = discover(tmp_path)
    load_notes(tmp_path, paths)
    (tmp_path / "n2.md").write_text("[[elsewhere]]\n", encoding="utf-8")
    done: list[int] = []
    calls: list[int] = []
    real = pool.parse_files

    def spy(items, **kw):
        calls.append(len(items))
        return real(items, **kw)

    pool.parse_files = spy
    try:
        notes, _ = load_notes(tmp_path, paths, progress=done.append)
    finally:
        pool.parse_files = real
    assert calls == [1] and sum(done) == 5
    assert notes["n2.md"].links[0].target == "elsewhere"


def test_mentions_found_by_workers_equal_those_found_in_process(tmp_path) -> None:
    """The pool's mention rows are the in-process ones, note for note; a note changed on disk since it
    was parsed, or not UTF-8, is handed back (None) for the caller to scan its parsed text."""
    import shutil

    from vaultkit.pool import mentions_in_pool
    from vaultkit.techniques import (
        _skip_lines, build_techniques, find_mentions_of, mention_rows_digest, mention_targets, note_text,
        unpack_mention_rows,
    )
    from vaultkit.vault import Vault

    from .conftest import EUGENE, need

    root = tmp_path / "v"
    shutil.copytree(need(EUGENE), root)
    vault = Vault.load(root)
    targets, own = mention_targets(build_techniques(vault, mentions=False))
    notes = vault.user_notes()
    changed = notes[5]
    (root / changed.path).write_bytes((root / changed.path).read_bytes() + b"\nedited after parsing\n")
    items = [(n.path, root / n.path, n.sha256, _skip_lines(n)) for n in notes]
    pooled = mentions_in_pool(items, targets, own, workers=2)
    assert pooled is not None and len(pooled) == len(notes)
    assert pooled[5] is None
    total = 0
    for note, packed in zip(notes, pooled):
        if note is changed:
            continue
        found = find_mentions_of(targets, own, [(note, note_text(vault, note))])
        rows = [(m.technique, m.line, m.count, m.via, m.text) for m in found]
        assert packed[0] == unpack_mention_rows(packed[1]) == rows, note.path
        assert packed[2] == mention_rows_digest(rows), note.path
        total += len(rows)
    assert total > 100


# -- start_forked: jobs that read this process's objects, in forked workers --------------------------

def _forked(job, count: int, **kw):
    running = pool.start_forked(job, count, **kw)
    if running is None:
        pytest.skip("no fork start method here")
    return running


def test_forked_jobs_come_back_in_order_with_progress() -> None:
    shared = [f"note {i}" * (i % 7) for i in range(1000)]  # read by the workers without being sent
    done: list[int] = []
    running = _forked(lambda i: shared[i].upper(), len(shared), workers=2, chunk=37, progress=done.append)
    assert running.results() == [s.upper() for s in shared]
    assert sum(done) == 1000 and len(done) == -(-1000 // 37)
    running.close()  # (again: nothing happens)


def test_what_a_forked_job_changes_stays_in_its_worker() -> None:
    seen: list[int] = []

    def job(i: int) -> str:
        seen.append(i)
        return str(len(seen))

    assert len(_forked(job, 8, workers=2, chunk=4).results()) == 8
    assert seen == []


def test_an_exception_in_a_forked_job_is_raised_by_results() -> None:
    def job(i: int) -> str:
        if i == 5:
            raise KeyError("no such technique")
        return "x"

    running = _forked(job, 10, workers=2, chunk=2)
    with pytest.raises(KeyError, match="no such technique"):
        running.results()


def test_start_forked_declines_small_batches_one_worker_and_other_start_methods(monkeypatch) -> None:
    import multiprocessing

    assert pool.start_forked(str, pool.MIN_FORKED_ITEMS - 1) is None  # too few to pay for a pool
    assert pool.start_forked(str, 10_000, workers=1) is None
    assert pool.start_forked(str, 3, workers=2, chunk=3) is None  # one task: one worker
    monkeypatch.setenv(ENV_WORKERS, "1")
    assert pool.start_forked(str, 10_000) is None
    monkeypatch.delenv(ENV_WORKERS)
    # spawn and forkserver would have to pickle what the jobs read: in-process instead
    monkeypatch.setattr(pool, "_context", lambda: multiprocessing.get_context("spawn"))
    assert pool.start_forked(str, 10_000, workers=2) is None


def test_a_broken_forked_pool_gives_none(monkeypatch) -> None:
    def job(i: int) -> str:
        os._exit(3)  # a worker that dies (killed, out of memory)

    assert _forked(job, 4, workers=2, chunk=1).results() is None


_INTERRUPTED_PARSE = r'''
import sys
from pathlib import Path
from vaultkit.pool import parse_files

root = Path(sys.argv[1])
items = [(p.name, p) for p in sorted(root.glob("*.md"))]
print("parsing", flush=True)
while True:  # until Ctrl-C
    parse_files(items, workers=2)
'''


@pytest.mark.skipif(not hasattr(os, "killpg"), reason="process groups are POSIX")
@pytest.mark.parametrize("second_after", [None, 0.02, 0.1, 0.25])
def test_ctrl_c_stops_the_pool_at_once_even_when_pressed_twice(tmp_path: Path, second_after: float | None) -> None:
    """Ctrl-C (SIGINT to the whole process group, as a terminal sends it) while workers parse: the run ends
    within seconds and leaves no worker behind. A second Ctrl-C soon after the first used to hang it for ever
    (a worker interrupted while it held the pool's queue lock); a single one waited for the workers' chunks,
    and once they were killed instead, could hang the exit (a worker killed while it sent a result)."""
    for i in range(400):
        (tmp_path / f"n{i:03d}.md").write_text(f"---\ntitle: N{i}\n---\n# N{i}\n\n" + "[[a]] #t word " * 400,
                                               encoding="utf-8")
    for after in (0.45, 0.7):  # (some rounds of parsing under way: a round may be starting, ending or going)
        _interrupt_parse(tmp_path, after, second_after)


def _interrupt_parse(tmp_path: Path, after: float, second_after: float | None) -> None:
    import signal
    import subprocess
    import sys
    import time

    proc = subprocess.Popen([sys.executable, "-c", _INTERRUPTED_PARSE, str(tmp_path)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        assert proc.stdout.readline() == "parsing\n"
        time.sleep(after)
        os.killpg(proc.pid, signal.SIGINT)
        sent = time.monotonic()
        if second_after is not None:
            time.sleep(second_after)
            try:
                os.killpg(proc.pid, signal.SIGINT)
            except ProcessLookupError:  # gone already
                pass
        _out, err = proc.communicate(timeout=15)
        took = time.monotonic() - sent
    finally:
        try:
            os.killpg(proc.pid, signal.SIGKILL)  # (a hung run and its workers)
        except ProcessLookupError:
            pass
    assert "KeyboardInterrupt" in err, err[-2000:]
    if second_after is None:  # (a second Ctrl-C may land in the interpreter's own exit)
        assert "Exception ignored" not in err, err[-2000:]
    assert took < 5, took
    time.sleep(0.2)
    with pytest.raises(ProcessLookupError):  # no worker left in the process group
        os.killpg(proc.pid, 0)


_KILLED_POOLS = r'''
import sys
from pathlib import Path
from vaultkit.pool import parse_files, start_forked

root = Path(sys.argv[1])
items = [(p.name, p) for p in sorted(root.glob("*.md"))]
print("working", flush=True)
while True:  # until killed; results larger than a pipe holds, as a large vault's are
    if sys.argv[2] == "parse":
        parse_files(items, workers=2)
    else:
        start_forked(lambda i: b"x" * 300_000, 400, workers=2, chunk=4).results()
'''


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="prctl(PR_SET_PDEATHSIG) is Linux's")
@pytest.mark.parametrize("pool_kind", ["parse", "forked"])
def test_workers_end_with_a_main_process_killed_outright(tmp_path: Path, pool_kind: str) -> None:
    """kill -9 of the main process (no chance to stop its workers) while workers run: they end too. They
    used to wait for ever, one writing its result to a pipe its sibling held open, the sibling on a lock."""
    import signal
    import subprocess
    import time

    for i in range(400):
        (tmp_path / f"n{i:03d}.md").write_text(f"---\ntitle: N{i}\n---\n" + "[[a]] #t word " * 400,
                                               encoding="utf-8")
    env = {**os.environ, "VAULTKIT_WORKERS": "2"}
    proc = subprocess.Popen([sys.executable, "-c", _KILLED_POOLS, str(tmp_path), pool_kind], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, start_new_session=True)
    try:
        assert proc.stdout.readline() == "working\n"
        time.sleep(0.8)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                os.killpg(proc.pid, 0)  # a worker is left in the process group
            except ProcessLookupError:
                break
            time.sleep(0.05)
        else:
            pytest.fail("workers still running 10 s after their main process was killed")
    finally:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def test_interrupts_held_raise_once_the_block_ends_and_the_handler_is_put_back() -> None:
    import signal

    before = signal.getsignal(signal.SIGINT)
    done = []
    with pytest.raises(KeyboardInterrupt):
        with pool._interrupts_held():
            signal.raise_signal(signal.SIGINT)
            signal.raise_signal(signal.SIGINT)  # (one KeyboardInterrupt for both)
            done.append("the block ran to its end")
    assert done == ["the block ran to its end"] and signal.getsignal(signal.SIGINT) is before
    with pool._interrupts_held():  # nothing held: nothing raised
        pass


_INTERRUPTED_START = r'''
import multiprocessing, signal, sys, time
from multiprocessing import forkserver
from pathlib import Path
from vaultkit import pool
from vaultkit.discover import discover

pool._context = lambda: multiprocessing.get_context("forkserver")  # (as when the watch mode's observer runs)
real = forkserver.connect_to_new_process
def connect_then_ctrl_c(fds):
    found = real(fds)  # the forkserver has forked the worker, which now reads its start-up data from us
    signal.raise_signal(signal.SIGINT)
    return found
forkserver.connect_to_new_process = connect_then_ctrl_c
items = list(discover(Path(sys.argv[1]))[1].items())
try:
    pool.parse_files(items, workers=2)
except KeyboardInterrupt:
    print("interrupted", flush=True)
time.sleep(1.5)  # (a worker left with half its start-up data prints its traceback by now)
'''


@pytest.mark.skipif("forkserver" not in __import__("multiprocessing").get_all_start_methods(),
                    reason="no forkserver here")
def test_a_ctrl_c_while_a_worker_starts_leaves_it_no_half_sent_start_up_data(tmp_path: Path) -> None:
    """A Ctrl-C that stopped this process while it sent a new worker its start-up data left the worker to
    print "pickle data was truncated" (helper's report, stop 27: `sync --watch`, which starts workers through
    the forkserver). Workers start with the Ctrl-C held back; it is raised once they have."""
    import subprocess
    import sys

    for i in range(200):
        (tmp_path / f"n{i:03d}.md").write_text(f"# N{i}\n\n" + "[[a]] #t word " * 400, encoding="utf-8")
    done = subprocess.run([sys.executable, "-c", _INTERRUPTED_START, str(tmp_path)], capture_output=True,
                          text=True, timeout=60)
    assert done.stdout == "interrupted\n", (done.stdout, done.stderr[-2000:])
    assert "Traceback" not in done.stderr and "truncated" not in done.stderr, done.stderr[-2000:]


_TERMINATED_PARSE = r'''
import sys
from pathlib import Path
from vaultkit.cli import main
sys.argv = ["vaultkit", "sync", "-q", "--no-cache", sys.argv[1]]
print("starting", flush=True)
main()
'''


def _children(pid: int) -> set[int]:
    found = set()
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat", encoding="utf-8") as f:
                    if int(f.read().rsplit(")", 1)[1].split()[1]) == pid:
                        found.add(int(entry))
            except (OSError, IndexError, ValueError):
                pass
    return found


@pytest.mark.skipif(not os.path.isdir("/proc"), reason="reads /proc for the workers")
@pytest.mark.parametrize("signame", ["SIGTERM", "SIGHUP"])
def test_a_sync_sent_sigterm_kills_its_workers_and_exits_128_plus_the_signal(tmp_path: Path, signame: str) -> None:
    """``kill PID`` (or ``timeout``) sends SIGTERM to vaultkit alone: it used to die at once and leave its pool's
    workers waiting for ever (helper's report, stop 27). It now unwinds as on Ctrl-C: workers killed."""
    import signal
    import subprocess
    import sys
    import time

    for i in range(400):
        (tmp_path / f"n{i:03d}.md").write_text(f"---\ntitle: N{i}\n---\n# N{i}\n\n" + "[[a]] #t word " * 400,
                                               encoding="utf-8")
    env = dict(os.environ, VAULTKIT_WORKERS="2")
    proc = subprocess.Popen([sys.executable, "-c", _TERMINATED_PARSE, str(tmp_path)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env, start_new_session=True)
    workers: set[int] = set()
    try:
        assert proc.stdout.readline() == "starting\n"
        deadline = time.monotonic() + 30
        while len(workers) < 2 and proc.poll() is None and time.monotonic() < deadline:
            workers |= _children(proc.pid)
            time.sleep(0.01)
        assert workers, "no worker started"
        os.kill(proc.pid, getattr(signal, signame))
        proc.communicate(timeout=20)
    finally:
        try:
            os.killpg(proc.pid, signal.SIGKILL)  # (a hung run and its workers)
        except ProcessLookupError:
            pass
    assert proc.returncode == 128 + getattr(signal, signame), proc.returncode
    deadline = time.monotonic() + 5
    while any(os.path.exists(f"/proc/{pid}") for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.05)
    left = [pid for pid in workers if os.path.exists(f"/proc/{pid}")
            and open(f"/proc/{pid}/stat", encoding="utf-8").read().rsplit(")", 1)[1].split()[0] != "Z"]
    assert left == [], left


@pytest.mark.parametrize("value, ok", [("abc", False), ("0", False), ("-3", False), ("2.5", False), ("3", True),
                                       ("", True), ("\u00b2", False), ("\u2460", False), ("\u0663", False)])
def test_a_workers_setting_that_is_no_count_stops_the_command(monkeypatch, value: str, ok: bool) -> None:
    """VAULTKIT_WORKERS=abc, 0 or -3 was taken in silence (the pool chose for itself)."""
    from click.testing import CliRunner

    from vaultkit.cli import cli

    from .conftest import SAMPLE_VAULT

    monkeypatch.setenv(ENV_WORKERS, value)
    result = CliRunner().invoke(cli, ["graph", str(SAMPLE_VAULT), "--stats"])
    if ok:
        assert result.exit_code == 0, result.output
    else:
        assert result.exit_code == 2 and f"{ENV_WORKERS}={value!r}: give a whole number" in result.output


def test_no_more_workers_than_four_per_cpu_whatever_is_asked(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """``VAULTKIT_WORKERS=99999999`` started a process per note (helper's report: 250 for 205 notes)."""
    for i in range(40):
        (tmp_path / f"n{i}.md").write_text("x" * 1000, encoding="utf-8")
    monkeypatch.setattr(pool, "available_cpus", lambda: 2)
    for asked in ("99999999", "9" * 5000):
        monkeypatch.setenv(ENV_WORKERS, asked)
        assert plan_workers(_items(tmp_path))[0] == 2 * pool.MAX_WORKERS_PER_CPU
    monkeypatch.setenv(ENV_WORKERS, "3")
    assert plan_workers(_items(tmp_path))[0] == 3
    for padded, count in (("0000000001", 1), ("000000000000000000002", 2)):  # (leading zeros are no size)
        monkeypatch.setenv(ENV_WORKERS, padded)
        assert plan_workers(_items(tmp_path))[0] == count
    monkeypatch.setenv(ENV_WORKERS, "0000000000")
    assert pool.env_workers() == 0  # (refused by the command line: not 1 or more)
