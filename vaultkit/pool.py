"""Parse many notes, in a pool of worker processes when that pays off.

Parsing is CPU-bound pure Python, so threads do not help; worker processes
do, once the vault is large enough to repay starting them and shipping the
results back. Workers read and parse their share of files and send each note
back encoded with :func:`vaultkit.cache.encode_note` (marshal, several times
cheaper to load than a pickled dataclass); the note text travels as the note
stores it (UTF-8 bytes for text with emoji, see :class:`~vaultkit.model.Note`).
The result list is always in the order of the input, whatever order the
workers finish in, so output is identical to parsing in-process. The same
kind of pool finds technique mentions (:func:`mentions_in_pool`) and, in
forked workers that share this process's objects, writes technique notes
(:func:`start_forked`).

Whether the pool is used is decided by :func:`plan_workers`; see
``BENCHMARKS.md`` for the measurements behind :data:`MIN_POOL_BYTES`.

Examples
--------
>>> import tempfile, pathlib
>>> d = pathlib.Path(tempfile.mkdtemp())
>>> _ = (d / "A.md").write_text("[[B]]\\n"); _ = (d / "B.md").write_text("#tag\\n")
>>> [n.path for n in parse_files([("A.md", d / "A.md"), ("B.md", d / "B.md")])]
['A.md', 'B.md']
"""

from __future__ import annotations

import contextlib
import gc
import os
import signal
import sys
import threading
from collections import deque
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable, Iterator, Sequence, TypeVar

if TYPE_CHECKING:  # pragma: no cover
    import multiprocessing.context
    from concurrent.futures import Future, ProcessPoolExecutor

from .model import Note, _packed_text, _set_packed_text, _set_text_loader, _share_strings

__all__ = ["parse_files", "load_notes", "start_forked", "ForkedMap", "plan_workers", "available_cpus", "idle_workers", "MIN_POOL_BYTES", "MIN_POOL_FILES", "ENV_WORKERS",
           "env_workers"]

#: Below this many bytes of Markdown the pool costs more than it saves. Measured on 2 idle
#: cores (BENCHMARKS.md): 100 notes / 2.7 MB break even (1.06x the in-process time),
#: 200 notes / 5.6 MB take 0.85x, 400 notes / 11 MB 0.62x, 1,000 notes / 29 MB 0.67x.
MIN_POOL_BYTES = 5_000_000

#: And below this many files.
MIN_POOL_FILES = 200

#: The pool is only used while other work (see :func:`idle_workers`) leaves at least this much of a CPU
#: idle per extra worker: on a machine busy with other work the workers only add overhead
#: (about 30 % more CPU time in total for shipping results back).
MIN_IDLE_CPU = 0.5

#: Environment variable that forces the number of workers (``1`` turns the pool off).
ENV_WORKERS = "VAULTKIT_WORKERS"
#: No more workers than this many per CPU, whatever is asked for (``VAULTKIT_WORKERS=99999999`` started one
#: process per note: a lint of 205 notes forked 250 and took 12.9 s, against 1.7 s with 2, a helper measured).
MAX_WORKERS_PER_CPU = 4

_CHUNK_BYTES = 2_000_000  # work per task: big enough to amortise IPC, small enough to balance
# notes parse_files reads in this process between two looks at what the workers finished
_HERE_BATCH = 256
T = TypeVar("T")


def available_cpus() -> int:
    """CPUs this process may run on (affinity-aware), at least 1."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def plan_workers(items: Sequence[tuple[str, Path]], *, workers: int | None = None) -> tuple[int, int]:
    """How many worker processes to use for ``items``, and their total size in bytes.

    Parameters
    ----------
    items : sequence of (str, Path)
        Vault path and file of each note.
    workers : int, optional
        Force a count (``1`` or ``0``: in-process; at most :data:`MAX_WORKERS_PER_CPU` a CPU). Defaults to the
        ``VAULTKIT_WORKERS`` environment variable, else, when the batch is
        large enough (:data:`MIN_POOL_FILES` files and :data:`MIN_POOL_BYTES`
        bytes), the CPUs that are idle now (:func:`idle_workers`), else 1.

    Returns
    -------
    (workers, total_bytes)
    """
    total = sum(_sizes(path for _rel, path in items))
    workers = _worker_count(workers, big=len(items) >= MIN_POOL_FILES and total >= MIN_POOL_BYTES)
    return max(1, min(workers, len(items) or 1)), total


def env_workers() -> int | None:
    """The worker count ``VAULTKIT_WORKERS`` sets, ``None`` when it is unset or blank.

    Raises
    ------
    ValueError
        When it holds anything but ASCII digits (``"abc"``, ``"-3"``, ``"²"``, whose ``isdigit()`` is true).

    Examples
    --------
    >>> saved = os.environ.pop(ENV_WORKERS, None)
    >>> env_workers() is None
    True
    >>> os.environ[ENV_WORKERS] = " 3 "; env_workers()
    3
    >>> os.environ[ENV_WORKERS] = "\u00b2"; env_workers()
    Traceback (most recent call last):
    ValueError: VAULTKIT_WORKERS='²' is not a whole number
    >>> _ = os.environ.pop(ENV_WORKERS); os.environ.update({ENV_WORKERS: saved} if saved is not None else {})
    """
    value = os.environ.get(ENV_WORKERS, "").strip()
    if not value:
        return None
    if not (value.isascii() and value.isdigit()):
        raise ValueError(f"{ENV_WORKERS}={value!r} is not a whole number")
    digits = value.lstrip("0") or "0"
    return int(digits) if len(digits) <= 9 else 10**9  # (capped by the pool: MAX_WORKERS_PER_CPU)


def _worker_count(workers: int | None, *, big: bool) -> int:
    """``workers`` if given, else ``VAULTKIT_WORKERS``, else the idle CPUs for a ``big`` batch (1 otherwise)."""
    if workers is None:
        try:
            workers = env_workers()
        except ValueError:  # (the command line stops at it: see vaultkit.cli)
            workers = None
    cpus = available_cpus()
    if workers is None:
        workers = idle_workers(cpus) if big and cpus > 1 else 1
    return min(workers, MAX_WORKERS_PER_CPU * cpus)


# (monotonic seconds, CPU seconds of this process and its finished children) at earlier calls
_cpu_samples: list[tuple[float, float]] = []


def own_load() -> float:
    """How many CPUs this process and its workers kept busy, on average, over about the last minute.

    The load average counts them too: a run's first pool (parsing) would otherwise keep its later
    pools (mentions, technique notes) in-process for a minute after it ran. 0.0 at the first call.
    """
    import time

    t = os.times()
    now, cpu = time.monotonic(), t.user + t.system + t.children_user + t.children_system
    _cpu_samples.append((now, cpu))
    while len(_cpu_samples) > 2 and now - _cpu_samples[1][0] >= 60.0:
        _cpu_samples.pop(0)  # keep one sample at least a minute old, if there is one
    then, cpu_then = _cpu_samples[0]
    return (cpu - cpu_then) / (now - then) if now - then >= 1.0 else 0.0


def runnable_others() -> float:
    """How many tasks besides this one are ready to run on a CPU at this instant (Linux: the first number of
    the fourth field of ``/proc/loadavg``, which counts this process too); ``inf`` where that is not known."""
    try:
        with open("/proc/loadavg", "rb") as fh:
            runnable = int(fh.read().split()[3].split(b"/")[0])
    except (OSError, ValueError, IndexError):
        return float("inf")
    return float(max(0, runnable - 1))


def idle_workers(cpus: int) -> int:
    """How many processes can run in parallel now: the CPUs not kept busy by other work.

    Other work is the 1-minute load average less what this process and its
    workers kept busy over that minute (:func:`own_load`), or the tasks ready to
    run right now (:func:`runnable_others`) when fewer: the average still counts
    a vaultkit run that just ended, so a command run right after another (a
    ``lint`` after a ``sync``) could find no CPU idle and run in one process.

    >>> idle_workers(1)
    1
    """
    try:
        busy = max(0.0, min(os.getloadavg()[0] - own_load(), runnable_others()))
    except (AttributeError, OSError):  # pragma: no cover - no load average on this system
        return cpus
    idle = cpus - busy
    if idle <= MIN_IDLE_CPU:
        return 1
    # One worker takes this process's place; each further one needs MIN_IDLE_CPU of an idle CPU.
    return max(1, min(cpus, 1 + int(idle + 1 - MIN_IDLE_CPU)))


def _read(rel: str, path: Path, partial_under: str | None = None) -> Note:
    from .vault import GENERATOR_KEY, _read_note  # the one place that reads a note file

    partial = partial_under is not None and rel.startswith(partial_under)
    note = _read_note(rel, path, partial_if=GENERATOR_KEY if partial else None)
    if note.partial:
        _set_packed_text(note, None)  # needed only to complete it, which reads the file again
    else:
        from .cache import note_facts

        note.facts = note_facts(note)  # before anything resolves its links
    # One str per repeated name across the vault (a few % less memory). Interned strings stay
    # interned through marshal, so notes from a worker or from the cache arrive that way too.
    _share_strings(note)
    return note


def _worker_init() -> None:
    _die_with_parent()
    _leave_interrupts_to_parent()
    gc.disable()  # short-lived workers: the cyclic collector only costs time here


#: The process this module was imported in: a forked worker inherits it, so that it knows its parent.
_IMPORTED_IN = os.getpid()
_PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


def _die_with_parent() -> None:
    """In a worker, on Linux: be killed (SIGKILL) when the process that started it ends, however it ends.

    A main process killed outright (``kill -9``, the out-of-memory killer) cannot stop its workers, and
    they would wait for ever: one writing its result to a pipe that its sibling still holds open, the
    sibling waiting for the queue's lock. Elsewhere (no ``prctl``) nothing is done.
    """
    if not sys.platform.startswith("linux"):
        return
    try:
        import ctypes

        if ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0:
            return
    except (OSError, AttributeError):  # (no libc to load, no prctl in it)
        return
    if _IMPORTED_IN != os.getpid() and os.getppid() != _IMPORTED_IN:
        os._exit(1)  # forked from a parent that ended before prctl took effect


def _leave_interrupts_to_parent() -> None:
    """In a worker: ignore Ctrl-C, which the main process answers by killing the workers (:func:`_stop`).

    A worker interrupted while it held the pool's queue lock would leave the
    others, and the main process waiting for them at exit, blocked for ever
    (a second Ctrl-C soon after the first hung the sync).
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    for name in ("SIGTERM", "SIGHUP"):  # (what the command line's handler would do in a forked worker: end it)
        signum = getattr(signal, name, None)
        if signum is not None and callable(signal.getsignal(signum)):
            signal.signal(signum, signal.SIG_DFL)


@contextlib.contextmanager
def _interrupts_held() -> Iterator[None]:
    """Hold a Ctrl-C (SIGINT) back until the block ends, then raise it, for work that must not stop half-way.

    Workers being started: a Ctrl-C that stops this process while it sends a new worker its start-up data
    (``forkserver``, ``spawn``) leaves the worker to print a traceback ("pickle data was truncated"). The
    Python handler is swapped for one that only notes the signal, so a signal that another thread receives
    (the watch mode's observer) is held too, which a signal mask of this thread would not do. Only in the
    main thread with a Python handler in place; elsewhere the block just runs.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.getsignal(signal.SIGINT)
    if not callable(previous):
        yield
        return
    held: list[Any] = []
    signal.signal(signal.SIGINT, lambda signum, frame: held.append(frame))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
        if held:
            previous(signal.SIGINT, held[0])  # (raises KeyboardInterrupt, or does what the handler does)


def _stop(executor: ProcessPoolExecutor) -> None:
    """Stop a pool now: its workers killed, work not yet started dropped, without waiting for either.

    For a run that ends early (Ctrl-C, an error): what the workers were doing is not wanted.
    """
    # (a second Ctrl-C must not stop this half-way: the workers ignore it, so one left alive could keep
    # the process from exiting; it is taken once they are gone. The mask keeps this thread from receiving
    # it; _interrupts_held, the handler from running when another thread, the watch mode's observer, does.)
    masked = hasattr(signal, "pthread_sigmask") and threading.current_thread() is threading.main_thread()
    before = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT}) if masked else None
    try:
        with _interrupts_held():
            _kill_and_drop(executor)
    finally:
        if before is not None:
            signal.pthread_sigmask(signal.SIG_SETMASK, before)


def _kill_and_drop(executor: ProcessPoolExecutor) -> None:
    """:func:`_stop`'s work, with Ctrl-C held back."""
    kill = getattr(executor, "kill_workers", None)  # (Python 3.14)
    if kill is not None:
        kill()
    else:
        for process in list((getattr(executor, "_processes", None) or {}).values()):
            try:
                process.kill()
            except (OSError, ValueError, AttributeError):  # gone already
                pass
    # A worker killed while it sent a result leaves half a message in the results pipe, and the pool's
    # thread waiting for the rest for ever (and with it this process's exit). This process never writes
    # to that pipe: closing its end lets the thread read the end of the pipe once the workers are gone.
    writer = getattr(getattr(executor, "_result_queue", None), "_writer", None)
    if writer is not None:
        try:
            writer.close()
        except OSError:
            pass
    manager = getattr(executor, "_executor_manager_thread", None)
    executor.shutdown(wait=False, cancel_futures=True)
    # Let that thread finish taking the pool down now (it does in milliseconds once the workers are
    # gone), not while the interpreter exits, where it races with the exit's own wake-up of it.
    if isinstance(manager, threading.Thread) and manager is not threading.current_thread():
        _join_quietly(manager)


def _join_quietly(manager: threading.Thread) -> None:
    """Wait (2 s at most) for the thread of a pool being stopped; what it says of futures cancelled meanwhile
    is not news.

    Python 3.11's pool thread, failing the futures of killed workers, raises
    ``InvalidStateError`` on one that was cancelled a moment before (by
    ``Executor.map`` or the shutdown) and prints it: a traceback after
    "interrupted" in about one Ctrl-C in 40.
    """
    from concurrent.futures import InvalidStateError

    previous = threading.excepthook

    def hook(args: "threading.ExceptHookArgs") -> None:
        if args.thread is manager and args.exc_type is not None and issubclass(args.exc_type, InvalidStateError):
            return
        previous(args)

    threading.excepthook = hook
    try:
        manager.join(timeout=2)
    finally:
        threading.excepthook = previous


@contextlib.contextmanager
def _pool(count: int, initializer: Callable[..., None], initargs: tuple = ()) -> Iterator[ProcessPoolExecutor]:
    """A process pool that is shut down when the block ends, and killed (:func:`_stop`) when it raises."""
    executor = _executor_class()(max_workers=count, mp_context=_context(), initializer=initializer,
                                   initargs=initargs)
    try:
        yield executor
        executor.shutdown(wait=True)  # (a Ctrl-C while the workers end also kills them)
    except BaseException:
        _stop(executor)
        raise


def _parse_chunk(chunk: list[tuple[str, str]], partial_under: str | None = None, keep_text: bool = True
                 ) -> list[bytes]:
    from .cache import encode_note

    return [encode_note(_read(rel, Path(path), partial_under), keep_text=keep_text) for rel, path in chunk]


def _sizes(paths: Iterable[str | os.PathLike[str]]) -> list[int]:
    """Each file's size in bytes (0 when it cannot be stat-ed)."""
    out = []
    for path in paths:
        try:
            out.append(os.stat(path).st_size)
        except OSError:
            out.append(0)
    return out


def _chunks(items: Sequence[T], sizes: list[int], target: int) -> list[list[T]]:
    """``items`` cut, in order, into runs of about ``target`` bytes (``sizes``: each item's)."""
    out: list[list[T]] = []
    cur: list[T] = []
    acc = 0
    for item, size in zip(items, sizes):
        cur.append(item)
        acc += size
        if acc >= target:
            out.append(cur)
            cur, acc = [], 0
    if cur:
        out.append(cur)
    return out


def _executor_class() -> "type[ProcessPoolExecutor]":
    """``ProcessPoolExecutor``, imported when a pool starts: ``multiprocessing`` and ``concurrent.futures``
    take 35 ms to import, which a run that starts no pool (a sync after an edit) need not pay."""
    from concurrent.futures import ProcessPoolExecutor

    return ProcessPoolExecutor


def _context() -> multiprocessing.context.BaseContext:
    import multiprocessing

    methods = multiprocessing.get_all_start_methods()
    if "fork" in methods and sys.platform != "darwin":
        # fork starts in milliseconds and shares the imported modules, but forking while other
        # threads run (the watch mode's observer) can copy a lock held by one of them.
        if threading.active_count() == 1:
            return multiprocessing.get_context("fork")
        if "forkserver" in methods:
            return multiprocessing.get_context("forkserver")
    return multiprocessing.get_context("spawn")


def parse_files(items: Sequence[tuple[str, Path]], *, workers: int | None = None,
                progress: Callable[[int], None] | None = None, partial_under: str | None = None,
                lazy_text: bool = False, lazy_properties: bool = False,
                sink: Callable[[Note, bytes | None], None] | None = None) -> list[Note]:
    """Read and parse notes, in parallel when the batch is large enough.

    Parameters
    ----------
    items : sequence of (str, Path)
        Vault path (POSIX, NFC) and file of each note.
    workers : int, optional
        Worker processes; see :func:`plan_workers` for the default. ``1``
        parses in this process.
    progress : callable, optional
        Called with the number of notes just finished (for a progress bar).
    partial_under : str, optional
        A folder prefix (``"_vaultkit/"``): generated notes there (marked with
        :data:`vaultkit.vault.GENERATOR_KEY`) are read only up to their
        frontmatter (:attr:`~vaultkit.model.Note.partial`).
    lazy_text : bool
        A note parsed by a worker comes back without its UTF-8 text, which is
        read from its file when first asked for (as a cache hit's with
        ``NoteCache.get_many(lazy_text=True)``): a sync reads few texts, and
        the workers need not send 29 MB per 1,000 notes through the pipes.
    lazy_properties : bool
        With ``lazy_text``: a note parsed by a worker comes back with its long
        property values unread (:class:`~vaultkit.model.LazyProperties`),
        read from its file when asked for (a sync never does; most of the
        bytes of a vault of long notes).
    sink : callable, optional
        Called as ``sink(note, row)`` with each note as soon as it is parsed
        (before the rest are: the caller can store it and let go of ``row``),
        ``row`` being the cache row (:func:`vaultkit.cache.encode_note`) of a
        note a worker parsed and sent with ``lazy_text``, else ``None``:
        :meth:`vaultkit.cache.NoteCache.put` stores it as it is (the note could
        not be encoded again without reading its file). A note may be passed
        twice (when a broken pool makes this process parse the batch again).

    Returns
    -------
    list of Note
        One note per item, in the order of ``items`` (never raises on note
        content; an unreadable file gives a note with a ``VK004`` diagnostic).
        Links are not resolved.
    """
    items = list(items)
    # Notes that may be read only up to their frontmatter cost less to parse here than to ship
    # back from a worker: this process reads them while the workers parse the rest.
    here = [(rel, path) for rel, path in items if partial_under is not None and rel.startswith(partial_under)]
    there = [(rel, path) for rel, path in items if partial_under is None or not rel.startswith(partial_under)]
    count, _total = plan_workers(there, workers=workers)
    if count <= 1:
        return _in_process(items, progress, partial_under, sink, lazy_text, lazy_properties)
    from .cache import _decode_row, _FileText

    sizes = _sizes(path for _rel, path in there)
    # Aim for several chunks per worker so a slow chunk does not leave a CPU idle at the end.
    target = max(64_000, min(_CHUNK_BYTES, sum(sizes) // (count * 8) or 1))
    chunks = _chunks([(rel, str(path)) for rel, path in there], sizes, target)
    by_path: dict[str, Note] = {}

    waiting: deque[tuple[list[tuple[str, str]], Future[list[bytes]]]] = deque()

    def take(wait: bool) -> None:
        """Take the chunks the workers finished, in order (``wait``: every chunk, waiting for each)."""
        while waiting and (wait or waiting[0][1].done()):
            chunk, future = waiting.popleft()
            blobs = future.result()
            for (rel, path), blob in zip(chunk, blobs):
                # without the text, the row a worker sent is the cache's row for the note (encode_note):
                # stored as it is, it lets this process leave the note's long properties unread
                note = _decode_row(blob, path if lazy_properties and lazy_text else None)[0]
                if lazy_text and _packed_text(note) is None and not note.partial:
                    _set_text_loader(note, _FileText(path))  # (left out: read when asked for)
                by_path[rel] = note
                if sink is not None:
                    sink(note, blob if lazy_text else None)
            if progress is not None:
                progress(len(blobs))

    try:
        with _pool(count, _worker_init) as ex:
            with _interrupts_held():  # (submitting starts the workers)
                waiting.extend((chunk, ex.submit(_parse_chunk, chunk, partial_under, not lazy_text))
                               for chunk in chunks)
            # This process reads the notes kept here a batch at a time and between batches takes what the
            # workers finished, so that their rows are stored and let go of as they come.
            for start in range(0, len(here), _HERE_BATCH):
                for note in _in_process(here[start:start + _HERE_BATCH], progress, partial_under, sink, lazy_text,
                                        lazy_properties):
                    by_path[note.path] = note
                take(wait=False)
            take(wait=True)
    except (OSError, RuntimeError, ImportError):  # no processes allowed here (or a broken pool): stay correct
        return _in_process(items, progress, partial_under, sink, lazy_text, lazy_properties)
    return [by_path[rel] for rel, _path in items]


def _in_process(items: list[tuple[str, Path]], progress: Callable[[int], None] | None,
                partial_under: str | None = None, sink: Callable[[Note, bytes | None], None] | None = None,
                lazy_text: bool = False, lazy_properties: bool = False) -> list[Note]:
    """:func:`parse_files` in this process: each note as a worker would send it back (with ``lazy_text``,
    its text and long property values left unread: at 1,000 notes, 30 MB of text and 24 MB of YAML values
    no longer held for the whole run)."""
    if lazy_text:
        from .cache import encode_note, leave_unread
    out = []
    for i, (rel, path) in enumerate(items, 1):
        note = _read(rel, path, partial_under)
        row = None
        if lazy_text and not note.partial:
            row = encode_note(note)  # (the cache stores this row as it is)
            leave_unread(note, row, path, properties=lazy_properties)
        out.append(note)
        if sink is not None:
            sink(note, row)
        if progress is not None and i % 64 == 0:
            progress(64)
    if progress is not None and len(items) % 64:
        progress(len(items) % 64)
    return out


def load_notes(root: str | os.PathLike[str], note_paths: dict[str, Path], *, cache: bool = True,
               workers: int | None = None, progress: Callable[[int], None] | None = None,
               partial_under: str | None = None, lazy: bool | None = None
               ) -> tuple[dict[str, Note], str | None]:
    """Every note of a vault: from the cache when unchanged, else parsed (in a pool when large).

    This is the parse step of :meth:`vaultkit.Vault.load` with the cache and
    the pool combined: cache hits first, then one :func:`parse_files` call
    for all misses, whose results go into the cache.

    Parameters
    ----------
    root : path-like
        Vault folder (the cache lives in ``<root>/.vaultkit/``).
    note_paths : dict of str to Path
        Vault path → file, as :func:`vaultkit.discover.discover` returns them.
    cache : bool
        Use and update ``.vaultkit/cache.sqlite``.
    workers : int, optional
        See :func:`plan_workers`.
    progress : callable, optional
        Called with counts of notes done (hits and parsed alike).
    partial_under : str, optional
        See :func:`parse_files`; a cached partial note is used only with it,
        a cached whole note always.
    lazy : bool, optional
        Hand the notes back with their texts and long property values unread,
        read from their files when asked for (``lazy_text``, ``lazy_properties``
        of :func:`parse_files`). Default: when ``partial_under`` is given (a sync's
        reading).

    Returns
    -------
    (notes, notice)
        ``notes`` in the order of ``note_paths`` (unresolved); ``notice`` the
        cache's message for the user (:attr:`vaultkit.cache.NoteCache.notice`) or ``None``.
    """
    notes: dict[str, Note | None] = {}
    misses: list[tuple[str, Path]] = []
    store = None
    if cache:
        from .cache import NoteCache

        store = NoteCache.open(root)
    # (a sync, which reads generated notes partly, reads few user notes' texts: those are read when asked for)
    lazy = partial_under is not None if lazy is None else lazy
    found = store.get_many(((rel, path, partial_under is not None and rel.startswith(partial_under))
                            for rel, path in note_paths.items()),
                           lazy_text=lazy, lazy_properties=lazy) if store is not None else {}
    for rel, path in note_paths.items():
        note = notes[rel] = found.get(rel)
        if note is None:
            misses.append((rel, path))
    if progress is not None and found:
        progress(len(found))
    def keep(note: Note, row: bytes | None) -> None:
        assert store is not None
        store.put(note, note_paths[note.path], encoded=row)

    parsed = parse_files(misses, workers=workers, progress=progress, partial_under=partial_under,
                         lazy_text=lazy, lazy_properties=lazy, sink=keep if store is not None else None)
    for (rel, _path), note in zip(misses, parsed):
        notes[rel] = note
    notice = None
    if store is not None:
        store.close(keep=note_paths.keys())
        notice = store.notice
    return notes, notice  # type: ignore[return-value]


# --------------------------------------------------------------------------------------------
# Technique mentions of many notes (vaultkit.techniques), in the same kind of pool
# --------------------------------------------------------------------------------------------

_MENTION_JOB: tuple[dict, dict] | None = None


def _mention_init(targets: dict, own: dict) -> None:
    global _MENTION_JOB
    _die_with_parent()
    _leave_interrupts_to_parent()
    gc.disable()
    # the keys interned again (a worker started by spawn or forkserver got them pickled, which loses
    # that): the rows name them, and marshal hands interned strings back interned, so the parent's
    # rows share its techniques' key objects
    targets = {name: [(sys.intern(key), sys.intern(via)) for key, via in found] for name, found in targets.items()}
    _MENTION_JOB = (targets, own)


def _mention_chunk(chunk: list[tuple[str, str, str, list[tuple[int, int]]]]) -> bytes:
    import hashlib
    import marshal

    from .cache import _utf8_text
    from .techniques import mention_rows_of, pack_mention_rows
    from .vault import read_regular

    assert _MENTION_JOB is not None
    targets, own = _MENTION_JOB
    # rows, packed rows and their digest by vault path (None: not taken). The rows travel twice: packed
    # one note at a time for the memo, and as tuples, which this chunk's marshal writes with one copy of
    # each repeated str and the parent unmarshals while the workers go on (unpacking every note's blob
    # after the pool took it 5.5 s at 10,000 notes)
    found: dict[str, tuple[list[tuple], bytes, str] | None] = {}
    none_found = ([], *pack_mention_rows([]))

    def readable() -> Iterator[tuple[Note, str]]:
        for rel, path, sha, skip in chunk:
            found[rel] = None
            try:
                data, _st = read_regular(path)
            except OSError:
                continue
            packed = _utf8_text(data)
            if packed is None or hashlib.sha256(data).hexdigest() != sha:
                continue  # not UTF-8, or changed since it was parsed: the caller scans its own text
            found[rel] = none_found
            yield Note(rel, regions=skip), packed if isinstance(packed, str) else packed.decode("utf-8")

    # one call for the chunk: finding the search for the names costs a pass over them all
    for rel, rows in mention_rows_of(targets, own, readable()):
        found[rel] = (rows, *pack_mention_rows(rows))
    out = [found[rel] for rel, _path, _sha, _skip in chunk]
    return marshal.dumps(out)


def mentions_in_pool(items: Sequence[tuple[str, Path, str, list[tuple[int, int]]]], targets: dict, own: dict, *,
                     workers: int | None = None, progress: Callable[[int], None] | None = None
                     ) -> list[tuple[list[tuple], bytes, str] | None] | None:
    """Find technique mentions in many notes with worker processes, when that pays off.

    Each worker reads its notes' files again (cheaper than shipping the text),
    checks them against the SHA-256 they were parsed from, and runs
    :func:`vaultkit.techniques.mention_rows_of` on them.

    Parameters
    ----------
    items : sequence of (str, Path, str, list of (int, int))
        Vault path, file, SHA-256 of the parsed bytes and the line ranges not
        to look in (tables, regions: ``techniques._skip_lines``) of each note.
    targets, own : dict
        What to look for (:func:`vaultkit.techniques.mention_targets`).
    workers : int, optional
        See :func:`plan_workers`.
    progress : callable, optional
        Called with the number of notes just finished.

    Returns
    -------
    list or None
        Per item, its mention rows ``(technique, line, count, via, text)``
        sorted by technique, then the same packed and their digest
        (:func:`vaultkit.techniques.pack_mention_rows`), or ``None`` for a note the worker could not take
        (not UTF-8, changed on disk: scan its parsed text instead); ``None``
        altogether when the batch is too small for a pool or no pool can run.
    """
    import marshal

    items = list(items)
    count, _total = plan_workers([(rel, path) for rel, path, _sha, _skip in items], workers=workers)
    if count <= 1:
        return None
    sizes = _sizes(path for _rel, path, _sha, _skip in items)
    target = max(64_000, min(_CHUNK_BYTES, sum(sizes) // (count * 8) or 1))
    chunks = _chunks([(rel, str(path), sha, skip) for rel, path, sha, skip in items], sizes, target)
    rows: list[tuple[list[tuple], bytes, str] | None] = []
    try:
        with _pool(count, _mention_init, (targets, own)) as ex:
            with _interrupts_held():  # (submitting starts the workers)
                results = ex.map(_mention_chunk, chunks)
            for blob in results:
                part = marshal.loads(blob)
                rows.extend(part)
                if progress is not None:
                    progress(len(part))
    except (OSError, RuntimeError, ImportError):  # no processes allowed here (or a broken pool)
        return None
    return rows


# --------------------------------------------------------------------------------------------
# Work that reads this process's objects (rendering technique notes), in forked workers
# --------------------------------------------------------------------------------------------

#: Below this many jobs :func:`start_forked` stays in-process. Set by judgment, not measured at
#: the edge: forking and shipping the results back must pay off. At 1,000 notes (3,442 technique
#: notes) the pool runs and the cold sync took 8.2 s against 9.7 s before (BENCHMARKS.md).
MIN_FORKED_ITEMS = 2_000

_FORKED_JOB: Callable[[int], Any] | None = None


def _forked_range(lo: int, hi: int) -> bytes:
    import marshal

    assert _FORKED_JOB is not None
    return marshal.dumps([_FORKED_JOB(i) for i in range(lo, hi)])


class ForkedMap:
    """Jobs running in forked workers (see :func:`start_forked`); :meth:`results` waits for them."""

    def __init__(self, executor: ProcessPoolExecutor, parts: Iterator[bytes],
                 progress: Callable[[int], None] | None) -> None:
        self._executor: ProcessPoolExecutor | None = executor
        self._parts = parts
        self._progress = progress

    def results(self) -> list[Any] | None:
        """Every job's result, in order; ``None`` when the pool broke (run the jobs in-process).

        An exception a job raised is raised here. The workers are gone afterwards.
        """
        import marshal

        out: list[Any] = []
        try:
            for blob in self._parts:
                part = marshal.loads(blob)
                out.extend(part)
                if self._progress is not None:
                    self._progress(len(part))
            if self._executor is not None:  # (every job done: the workers end as they are told)
                self._executor.shutdown(wait=True)
                self._executor = None
        except (OSError, RuntimeError):  # a worker died (killed, out of memory)
            self.close()
            return None
        except BaseException:
            self.close()
            raise
        return out

    def close(self) -> None:
        """Stop the workers now, dropping their jobs (they are killed: see :func:`_stop`); safe to call twice."""
        if self._executor is not None:
            _stop(self._executor)
            self._executor = None


def start_forked(job: Callable[[int], Any], count: int, *, workers: int | None = None,
                 progress: Callable[[int], None] | None = None, chunk: int = 256) -> ForkedMap | None:
    """Start ``[job(i) for i in range(count)]`` in forked workers that share this process's memory.

    For work that reads many of this process's objects (a technique note reads
    the technique, its mentions and the vault's titles): a forked worker
    inherits them, where a pickled job would have to ship them all. Only with
    the ``fork`` start method (see the pool's other uses for when that is
    safe). This process goes on meanwhile; what it changes after this call,
    the workers do not see. Results come back in order, so the output is the
    same as in-process.

    Parameters
    ----------
    job : callable
        ``job(i)`` for ``0 <= i < count``: a value :mod:`marshal` writes (str,
        bytes, numbers, tuples of them…); what it changes stays in the worker.
    count : int
        Number of jobs.
    workers : int, optional
        Force a count (at most :data:`MAX_WORKERS_PER_CPU` a CPU); defaults to ``VAULTKIT_WORKERS``, else
        the idle CPUs (:func:`idle_workers`) once ``count`` reaches :data:`MIN_FORKED_ITEMS`.
    progress : callable, optional
        Called with the number of jobs finished, as :meth:`ForkedMap.results` collects them.
    chunk : int
        Jobs per task.

    Returns
    -------
    ForkedMap or None
        ``None`` when no pool is worth it or can run here (one worker, too
        few jobs, no ``fork``): the caller runs the jobs itself.

    Examples
    --------
    >>> start_forked(str, 3) is None  # too few jobs for a pool
    True
    >>> running = start_forked(lambda i: "ab"[i % 2], 4, workers=2, chunk=1)
    >>> running is None or running.results() == ["a", "b", "a", "b"]
    True
    """
    global _FORKED_JOB
    workers = min(_worker_count(workers, big=count >= MIN_FORKED_ITEMS), -(-count // max(1, chunk)))
    if workers <= 1:
        return None
    context = _context()
    if context.get_start_method() != "fork":
        return None
    _FORKED_JOB = job  # (set while the workers fork: they inherit it)
    try:
        executor = _executor_class()(max_workers=workers, mp_context=context, initializer=_worker_init)
        starts = range(0, count, chunk)
        try:
            # submits every task now, which forks the workers
            with _interrupts_held():
                parts = executor.map(_forked_range, starts, [min(count, lo + chunk) for lo in starts])
        except BaseException:
            _stop(executor)
            raise
    except (OSError, RuntimeError, ImportError):  # no processes allowed here
        return None
    finally:
        _FORKED_JOB = None
    return ForkedMap(executor, parts, progress)
