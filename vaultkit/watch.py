"""Watch a vault and report changed paths in debounced batches (for ``vaultkit sync --watch``).

:func:`watch` runs a watchdog observer (inotify on Linux, FSEvents on macOS,
polling as a fallback) in a background thread and calls ``on_change`` in the
*calling* thread with the set of vault paths that changed, once the vault has
been quiet for ``debounce`` seconds. A burst such as a ``git checkout`` that
rewrites a thousand files therefore gives one call (or a few, when it lasts
longer than ``max_wait``), never a thousand.

What is not reported
--------------------
* paths with a dot component (``.obsidian/workspace.json``, ``.git/``,
  ``.vaultkit/cache.sqlite``, ``.trash/``), which are not vault files;
* paths for which the caller's ``ignore`` predicate is true, such as the files
  the tool itself has just written (see :class:`OwnWrites`);
* open and close-without-write events, and folder "modified" events, which
  only echo changes to their children.

Attribute changes (chmod, chown, touch) are reported: they can make a file or
folder readable. One on a folder also starts the observer again, since inotify
could not watch a folder while it was unreadable.

Stopping
--------
Ctrl-C (``KeyboardInterrupt``) in the calling thread, or setting the
``stop`` event, stops the observer, joins its thread and returns normally
(``True`` after a Ctrl-C). Called in the main thread, it also notes each
Ctrl-C in a flag it checks between batches, so that one whose
``KeyboardInterrupt`` was lost (raised in a callback run while an object was
freed, which Python prints and drops) still stops it; and once it winds down
after a Ctrl-C, a second one changes nothing (it would otherwise cut the
observer's shutdown short, or escape after :func:`watch` returned).

Examples
--------
>>> import threading, tempfile
>>> stop = threading.Event(); stop.set()        # stop at once: nothing to report
>>> watch(tempfile.mkdtemp(), print, stop=stop)   # (True: stopped by a Ctrl-C)
False
"""

from __future__ import annotations

import os
import signal
import threading
import time
import unicodedata
from pathlib import Path
from typing import Callable

__all__ = ["watch", "OwnWrites", "is_hidden", "DEFAULT_DEBOUNCE", "DEFAULT_MAX_WAIT"]

#: Seconds of quiet after the last change before ``on_change`` is called.
DEFAULT_DEBOUNCE = 0.5

#: Longest wait after the first change of a batch, so a never-ending trickle still syncs.
DEFAULT_MAX_WAIT = 10.0


def is_hidden(rel: str) -> bool:
    """Whether a vault path has a dot-file or dot-folder component (not part of the vault).

    >>> is_hidden(".obsidian/workspace.json"), is_hidden("Notes/.DS_Store"), is_hidden("Notes/a.md")
    (True, True, False)
    """
    return rel.startswith(".") or "/." in rel


class OwnWrites:
    """Remember files the tool wrote, to ignore the events those writes cause.

    A path counts as "own" while the file still has the size, mtime and ctime
    it had right after the tool wrote it, so a user edit made afterwards is
    still seen, a chmod too. Entries are forgotten after ``ttl`` seconds.

    Parameters
    ----------
    root : path-like
        Vault folder.
    ttl : float
        Seconds an entry is kept.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> root = pathlib.Path(tempfile.mkdtemp()); _ = (root / "out.md").write_text("x")
    >>> own = OwnWrites(root); own.record("out.md")
    >>> own("out.md"), own("other.md")
    (True, False)
    >>> _ = (root / "out.md").write_text("user edit")
    >>> own("out.md")
    False
    """

    def __init__(self, root: str | os.PathLike[str], ttl: float = 60.0) -> None:
        self.root = Path(root)
        self.ttl = ttl
        self._seen: dict[str, tuple[int, int, int, float] | None] = {}
        self._lock = threading.Lock()

    def record(self, rel: str) -> None:
        """Note that the tool has just written (or deleted) vault path ``rel``."""
        try:
            st = os.stat(self.root / rel)
            sig: tuple[int, int, int, float] | None = (st.st_size, st.st_mtime_ns, st.st_ctime_ns, time.monotonic())
        except OSError:
            sig = None  # deleted by us
        with self._lock:
            self._seen[rel] = sig if sig is not None else (-1, -1, -1, time.monotonic())

    def __call__(self, rel: str) -> bool:
        with self._lock:
            sig = self._seen.get(rel)
            if sig is None:
                return False
            size, mtime, ctime, when = sig
            if time.monotonic() - when > self.ttl:
                del self._seen[rel]
                return False
        try:
            st = os.stat(self.root / rel)
        except OSError:
            return size == -1
        return st.st_size == size and st.st_mtime_ns == mtime and st.st_ctime_ns == ctime


class _Batch:
    """Changed paths collected by the observer thread, handed over to the caller's thread."""

    def __init__(self) -> None:
        self.paths: set[str] = set()
        self.first = 0.0
        self.last = 0.0
        self.lock = threading.Lock()
        self.wake = threading.Event()
        #: A folder's permissions changed: the observer may not be watching it (it could not when the folder
        #: was unreadable), so it is started again over the whole tree.
        self.rewatch = threading.Event()

    def add(self, rel: str) -> None:
        now = time.monotonic()
        with self.lock:
            if not self.paths:
                self.first = now
            self.paths.add(rel)
            self.last = now
        self.wake.set()

    def take(self) -> set[str]:
        with self.lock:
            out, self.paths = self.paths, set()
            self.wake.clear()
        return out


def _handler(root: str, batch: _Batch):
    from watchdog.events import FileSystemEventHandler

    prefix = root.rstrip(os.sep) + os.sep

    def rel_of(path: str | bytes) -> str | None:
        if isinstance(path, bytes):
            path = os.fsdecode(path)
        if not path.startswith(prefix):
            return None
        rel = path[len(prefix):].replace(os.sep, "/")
        if not rel.isascii():
            rel = unicodedata.normalize("NFC", rel)
        return rel or None

    def offer(path: str | bytes) -> None:
        rel = rel_of(path)
        if rel is None or is_hidden(rel):
            return
        batch.add(rel)  # `ignore` is applied when the batch is delivered (see watch)

    class Handler(FileSystemEventHandler):
        def on_any_event(self, event) -> None:  # noqa: ANN001
            kind = event.event_type
            if kind not in ("created", "modified", "deleted", "moved", "closed", "attrib"):
                return  # opened, closed_no_write
            # ("attrib": a chmod or chown that lets vaultkit read a note or folder it could not read)
            if kind == "modified" and event.is_directory:
                return
            if kind == "closed" and event.is_directory:
                return
            if kind == "attrib" and event.is_directory:
                batch.rewatch.set()  # (before the path is offered: the loop sees the flag with the batch)
            offer(event.src_path)
            if kind == "moved":
                offer(event.dest_path)

    return Handler()


def _quiet_stop_notice(record: "logging.LogRecord") -> bool:
    """Drop watchdog's "queue_events() called when the thread is inactive": it logs that (as an error) when an
    observer is stopped while events are pending, as :func:`watch` does when it starts a new one."""
    return "called when the thread is inactive" not in record.getMessage()


def _start_observer(root: str, handler, polling: bool):  # noqa: ANN001, ANN202
    import logging

    inotify_log = logging.getLogger("watchdog.observers.inotify")
    if _quiet_stop_notice not in inotify_log.filters:
        inotify_log.addFilter(_quiet_stop_notice)
    if not polling:
        from watchdog.observers import Observer

        observer = Observer()
        try:
            observer.schedule(handler, root, recursive=True)
            observer.start()
            return observer
        except OSError:  # e.g. inotify watch limit reached: fall back to polling
            try:
                observer.stop()
            except Exception:  # noqa: BLE001  # pragma: no cover
                pass
    from watchdog.observers.polling import PollingObserver

    observer = PollingObserver(timeout=1.0)
    observer.schedule(handler, root, recursive=True)
    observer.start()
    return observer


def _flag_interrupts(flag: threading.Event, winding_down: threading.Event) -> Callable[..., object] | None:
    """Have Ctrl-C (SIGINT) also set ``flag``, and do nothing more once ``winding_down`` is set; returns the
    handler to put back (``None``: none set).

    The ``KeyboardInterrupt`` it raises is lost when it lands in a callback Python runs while freeing an
    object (a weakref callback, ``__del__``: printed as "Exception ignored", not raised); the flag is not.
    Until the loop winds down, a second Ctrl-C still raises: it may stop a long ``on_change`` whose first
    interrupt was lost so. Only the main thread receives signals, and only a Python handler is wrapped.
    """
    if threading.current_thread() is not threading.main_thread():
        return None
    previous = signal.getsignal(signal.SIGINT)
    if not callable(previous):  # ignored, or the system's default: leave it so
        return None

    def handler(signum: int, frame: object) -> object:
        flag.set()
        if winding_down.is_set():
            return None
        return previous(signum, frame)

    signal.signal(signal.SIGINT, handler)
    return previous


def watch(root: str | os.PathLike[str], on_change: Callable[[set[str]], None], *,
          debounce: float = DEFAULT_DEBOUNCE, ignore: Callable[[str], bool] | None = None,
          max_wait: float = DEFAULT_MAX_WAIT, stop: threading.Event | None = None,
          on_error: Callable[[BaseException], None] | None = None, polling: bool = False,
          on_start: Callable[[], None] | None = None) -> bool:
    """Call ``on_change`` with each debounced batch of changed vault paths until stopped.

    Parameters
    ----------
    root : path-like
        Vault folder, watched recursively.
    on_change : callable
        Called in this thread with a non-empty set of vault paths (POSIX, NFC;
        files and folders, created, changed, deleted, moved from/to, or whose
        permissions or times changed). Changes
        made while it runs are collected for the next call.
    debounce : float
        Seconds without any new change before a batch is delivered.
    ignore : callable, optional
        ``ignore(path) -> bool``; true for paths to drop, such as the output
        folder and files the caller has just written (:class:`OwnWrites`).
        Called in this thread just before a batch is delivered, so a write
        recorded right after it was made is still recognised.
    max_wait : float
        Deliver a batch at the latest this many seconds after its first change.
    stop : threading.Event, optional
        Set it (from any thread) to end the loop.
    on_error : callable, optional
        Called with an exception raised by ``on_change`` or ``ignore``; the
        loop then goes on. Without it the exception propagates (after the
        observer is stopped).
    polling : bool
        Poll the file system instead of using native notifications.
    on_start : callable, optional
        Called in this thread once the observer runs, before any batch: the
        place to catch up with changes made before the observer ran (``sync
        --watch`` syncs again there when a file changed since its first
        sync began). What it raises propagates (the observer is stopped first).

    Returns
    -------
    bool
        ``True`` when it stopped on a Ctrl-C (in ``on_change`` too), ``False``
        when ``stop`` was set.
    """
    root_str = os.path.realpath(os.fspath(root))
    if not os.path.isdir(root_str):
        raise NotADirectoryError(root_str)
    batch = _Batch()
    asked = stop if stop is not None else threading.Event()
    interrupted = threading.Event()
    winding_down = threading.Event()

    def stopped() -> bool:
        return asked.is_set() or interrupted.is_set()

    tick = min(0.1, debounce / 2) if debounce > 0 else 0.05
    observer = None
    handler_before = _flag_interrupts(interrupted, winding_down)
    try:
        handler = _handler(root_str, batch)
        observer = _start_observer(root_str, handler, polling)
        if on_start is not None:
            on_start()
        while not stopped():
            if not batch.wake.wait(tick * 2):
                continue
            # Debounce: wait until quiet for `debounce` s, or `max_wait` s after the first change.
            while not stopped():
                with batch.lock:
                    pending = bool(batch.paths)
                    quiet = time.monotonic() - batch.last
                    age = time.monotonic() - batch.first
                if not pending:
                    batch.wake.clear()
                    break
                if quiet >= debounce or age >= max_wait:
                    break
                time.sleep(min(tick, max(0.0, debounce - quiet)) or tick)
            if stopped():
                break
            if batch.rewatch.is_set():
                # inotify watches only the folders it could list when the observer started (or a folder was
                # made): a folder made readable since is watched only by a new observer, started before the
                # old one stops so that no change falls between them
                batch.rewatch.clear()
                fresh = _start_observer(root_str, handler, polling)
                observer.stop()
                observer.join(timeout=5)
                observer = fresh
            paths = batch.take()
            try:
                # Filter now, not when the event arrived: the caller records its own
                # writes just after making them, possibly after the event came in.
                if ignore is not None:
                    paths = {p for p in paths if not ignore(p)}
                if not paths:
                    continue
                on_change(paths)
            except Exception as exc:  # noqa: BLE001
                if on_error is None:
                    raise
                on_error(exc)
    except KeyboardInterrupt:
        interrupted.set()
    finally:
        winding_down.set()
        try:
            if observer is not None:
                observer.stop()
                try:
                    observer.join(timeout=5)
                except KeyboardInterrupt:  # pragma: no cover - (no handler of ours: not in the main thread)
                    interrupted.set()
        finally:
            if handler_before is not None:
                signal.signal(signal.SIGINT, handler_before)
    return interrupted.is_set()
