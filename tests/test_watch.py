"""Watch mode: debounced batches, bursts, ignored paths, own writes, clean stop."""

from __future__ import annotations

import _thread
import os
import threading
import time
from pathlib import Path

import pytest

from vaultkit.watch import OwnWrites, is_hidden, watch

DEBOUNCE = 0.3


class Recorder:
    """Runs :func:`watch` in a thread and keeps every batch it delivers."""

    def __init__(self, root: Path, **kwargs) -> None:
        self.batches: list[set[str]] = []
        self.cond = threading.Condition()
        self.stop = threading.Event()
        self.error: BaseException | None = None
        self.ready = threading.Event()  # set by watch's on_start: the observer's watches are in place
        self.kwargs = kwargs
        self.root = root
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _on_change(self, paths: set[str]) -> None:
        with self.cond:
            self.batches.append(set(paths))
            self.cond.notify_all()
        hook = self.kwargs.get("hook")
        if hook:
            hook(paths)

    def _run(self) -> None:
        kwargs = {k: v for k, v in self.kwargs.items() if k not in ("hook", "on_start")}
        then = self.kwargs.get("on_start")

        def on_start() -> None:
            self.ready.set()
            if then is not None:
                then()

        kwargs["on_start"] = on_start
        try:
            watch(self.root, self._on_change, debounce=DEBOUNCE, stop=self.stop, **kwargs)
        except BaseException as exc:  # noqa: BLE001 - surfaced by the test
            self.error = exc

    def __enter__(self) -> "Recorder":
        self.thread.start()
        # The test writes once the observer watches (not after a guess of how long that takes: a loaded
        # machine is slower to start it).
        assert self.ready.wait(30), self.error
        return self

    def __exit__(self, *exc) -> None:
        self.stop.set()
        self.thread.join(5)
        assert not self.thread.is_alive()

    def union(self) -> set[str]:
        with self.cond:
            return set().union(*self.batches) if self.batches else set()

    def wait_for(self, paths: set[str], timeout: float = 6.0) -> bool:
        deadline = time.monotonic() + timeout
        with self.cond:
            while not paths <= (set().union(*self.batches) if self.batches else set()):
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self.cond.wait(left)
        return True


def test_is_hidden() -> None:
    assert is_hidden(".vaultkit/cache.sqlite-wal") and is_hidden("a/.git/x") and not is_hidden("a.b/c.md")


def test_one_change_gives_one_batch(tmp_path: Path) -> None:
    with Recorder(tmp_path) as rec:
        (tmp_path / "A.md").write_text("hello\n", encoding="utf-8")
        assert rec.wait_for({"A.md"})
        time.sleep(DEBOUNCE * 2)
    assert rec.batches == [{"A.md"}]
    assert rec.error is None


def test_on_start_runs_once_the_observer_runs_and_before_any_batch(tmp_path: Path) -> None:
    # the place for a first sync: what changes while it runs comes in the first batch
    calls: list[int] = []

    def on_start() -> None:
        calls.append(len(recorder.batches))
        (tmp_path / "During start.md").write_text("x\n", encoding="utf-8")

    recorder = Recorder(tmp_path, on_start=on_start)
    with recorder as rec:
        assert rec.wait_for({"During start.md"}), rec.error
        time.sleep(DEBOUNCE * 2)
    assert calls == [0] and rec.batches == [{"During start.md"}] and rec.error is None


def test_an_error_in_on_start_propagates_and_stops_the_observer(tmp_path: Path) -> None:
    def on_start() -> None:
        raise RuntimeError("first sync failed")

    before = threading.active_count()
    with pytest.raises(RuntimeError, match="first sync failed"):
        watch(tmp_path, lambda paths: None, on_start=on_start, on_error=lambda exc: None)
    assert threading.active_count() == before


def test_burst_of_a_thousand_files_is_coalesced(tmp_path: Path) -> None:
    (tmp_path / "Notes").mkdir()
    names = {f"Notes/N{i:04d}.md" for i in range(1000)}
    with Recorder(tmp_path) as rec:
        for name in sorted(names):  # like a git checkout: many files in a short time
            (tmp_path / name).write_text(f"note {name}\n", encoding="utf-8")
        for name in sorted(names)[:300]:
            os.unlink(tmp_path / name)
        assert rec.wait_for(names, timeout=8)
        time.sleep(DEBOUNCE * 2)
    assert len(rec.batches) <= 3
    assert rec.union() - {"Notes"} == names


def test_hidden_and_ignored_paths_are_not_reported(tmp_path: Path) -> None:
    (tmp_path / ".obsidian").mkdir()
    (tmp_path / "_vaultkit").mkdir()
    with Recorder(tmp_path, ignore=lambda rel: rel == "_vaultkit" or rel.startswith("_vaultkit/")) as rec:
        (tmp_path / ".obsidian" / "workspace.json").write_text("{}", encoding="utf-8")
        (tmp_path / "_vaultkit" / "Index.md").write_text("generated\n", encoding="utf-8")
        (tmp_path / ".vaultkit").mkdir()
        (tmp_path / ".vaultkit" / "cache.sqlite").write_bytes(b"x")
        (tmp_path / "real.md").write_text("user\n", encoding="utf-8")
        assert rec.wait_for({"real.md"})
        time.sleep(DEBOUNCE * 2)
    assert rec.union() == {"real.md"}


def test_own_writes_are_ignored_but_later_user_edits_are_not(tmp_path: Path) -> None:
    own = OwnWrites(tmp_path)
    target = tmp_path / "Gen.md"
    with Recorder(tmp_path, ignore=own) as rec:
        target.write_text("generated v1\n", encoding="utf-8")
        own.record("Gen.md")
        (tmp_path / "marker.md").write_text("x", encoding="utf-8")
        assert rec.wait_for({"marker.md"})
        time.sleep(DEBOUNCE * 2)
        assert "Gen.md" not in rec.union()
        time.sleep(0.02)
        target.write_text("user changed the generated note\n", encoding="utf-8")
        assert rec.wait_for({"Gen.md"})


def test_a_chmod_after_an_own_write_is_not_taken_for_it(tmp_path: Path) -> None:
    (tmp_path / "gen.md").write_text("x", encoding="utf-8")
    own = OwnWrites(tmp_path)
    own.record("gen.md")
    assert own("gen.md")
    time.sleep(0.01)  # (a new ctime)
    os.chmod(tmp_path / "gen.md", 0o600)
    assert not own("gen.md")


def test_own_deletes_are_ignored(tmp_path: Path) -> None:
    (tmp_path / "old.md").write_text("x", encoding="utf-8")
    own = OwnWrites(tmp_path)
    os.unlink(tmp_path / "old.md")
    own.record("old.md")
    assert own("old.md")
    (tmp_path / "old.md").write_text("recreated by the user", encoding="utf-8")
    assert not own("old.md")


def test_moves_report_both_paths(tmp_path: Path) -> None:
    (tmp_path / "a.md").write_text("x", encoding="utf-8")
    with Recorder(tmp_path) as rec:
        os.rename(tmp_path / "a.md", tmp_path / "b.md")
        assert rec.wait_for({"a.md", "b.md"})


def test_permission_changes_are_reported(tmp_path: Path) -> None:
    # (a note or folder made readable again: the next sync must read it; chmod changes no content)
    (tmp_path / "Sub").mkdir()
    (tmp_path / "Sub" / "a.md").write_text("x", encoding="utf-8")
    with Recorder(tmp_path) as rec:
        os.chmod(tmp_path / "Sub" / "a.md", 0o600)
        os.chmod(tmp_path / "Sub", 0o700)
        assert rec.wait_for({"Sub/a.md", "Sub"})


def test_a_folder_whose_permissions_change_is_watched_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """inotify cannot watch a folder while it is unreadable: a chmod on a folder starts a new observer (root, as
    in CI, reads every folder: here the new observer is counted, and changes go on being seen)."""
    import vaultkit.watch as watch_mod

    started = []
    real = watch_mod._start_observer
    monkeypatch.setattr(watch_mod, "_start_observer", lambda *a: started.append(a) or real(*a))
    (tmp_path / "Sub").mkdir()
    with Recorder(tmp_path) as rec:
        os.chmod(tmp_path / "Sub", 0o700)
        assert rec.wait_for({"Sub"})
        time.sleep(DEBOUNCE)
        (tmp_path / "Sub" / "new.md").write_text("x", encoding="utf-8")
        assert rec.wait_for({"Sub/new.md"})
    assert len(started) == 2


def test_changes_made_during_on_change_come_in_the_next_batch(tmp_path: Path) -> None:
    calls = []

    def hook(paths: set[str]) -> None:
        calls.append(paths)
        if len(calls) == 1:
            (tmp_path / "during.md").write_text("written while syncing", encoding="utf-8")

    with Recorder(tmp_path, hook=hook) as rec:
        (tmp_path / "first.md").write_text("x", encoding="utf-8")
        assert rec.wait_for({"first.md", "during.md"})
    assert rec.batches[0] == {"first.md"}
    assert "during.md" in rec.batches[1]


def _keep_writing(path_for, until: threading.Event, every: float = 0.25, limit: float = 8.0) -> threading.Thread:
    """Write ``path_for(i)`` every ``every`` s until ``until`` is set (robust to a slow observer start)."""

    def loop() -> None:
        start = time.monotonic()
        i = 0
        while not until.is_set() and time.monotonic() - start < limit:
            path_for(i).write_text(str(i), encoding="utf-8")
            i += 1
            until.wait(every)

    t = threading.Thread(target=loop, daemon=True)
    t.start()
    return t


def test_errors_in_on_change_go_to_on_error_and_the_loop_goes_on(tmp_path: Path) -> None:
    errors: list[BaseException] = []
    seen: list[set[str]] = []
    stop = threading.Event()
    safety = threading.Timer(9, stop.set)  # never hang, whatever happens
    safety.start()

    def on_change(paths: set[str]) -> None:
        seen.append(paths)
        if len(seen) == 1:
            raise RuntimeError("sync failed")
        stop.set()

    writer = _keep_writing(lambda i: tmp_path / "note.md", stop, every=DEBOUNCE * 3)
    try:
        watch(tmp_path, on_change, debounce=DEBOUNCE, stop=stop, on_error=errors.append)
    finally:
        safety.cancel()
        writer.join()
    assert [str(e) for e in errors] == ["sync failed"]
    assert seen == [{"note.md"}, {"note.md"}]


def test_error_without_on_error_propagates_and_stops_the_observer(tmp_path: Path) -> None:
    baseline = threading.active_count()
    done = threading.Event()
    stop = threading.Event()
    safety = threading.Timer(9, stop.set)
    safety.start()

    def boom(paths: set[str]) -> None:
        raise ValueError("bad")

    writer = _keep_writing(lambda i: tmp_path / f"x{i}.md", done)
    try:
        with pytest.raises(ValueError, match="bad"):
            watch(tmp_path, boom, debounce=0.1, stop=stop)
    finally:
        safety.cancel()
        done.set()
        writer.join()
    time.sleep(0.1)
    assert threading.active_count() <= baseline + 1


def test_ctrl_c_returns_cleanly_and_stops_the_observer(tmp_path: Path) -> None:
    baseline = threading.active_count()
    timer = threading.Timer(0.4, _thread.interrupt_main)
    timer.start()
    started = time.monotonic()
    assert watch(tmp_path, lambda paths: None, debounce=0.1) is True  # returns instead of raising
    assert time.monotonic() - started < 5
    time.sleep(0.1)
    assert threading.active_count() <= baseline


def test_polling_fallback_sees_changes(tmp_path: Path) -> None:
    with Recorder(tmp_path, polling=True) as rec:
        time.sleep(1.1)  # let the poller take its first snapshot
        (tmp_path / "p.md").write_text("polled\n", encoding="utf-8")
        assert rec.wait_for({"p.md"}, timeout=6)


def test_missing_root_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(NotADirectoryError):
        watch(tmp_path / "nope", lambda paths: None)


@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_a_ctrl_c_lost_in_a_callback_run_while_freeing_an_object_still_stops(tmp_path: Path) -> None:
    """A Ctrl-C that lands in a Python callback run while an object is freed (here a weakref.finalize, as a
    vault's caches had) raises its KeyboardInterrupt there, where Python prints and drops it: sync --watch
    kept watching (helper's report). The handler's flag still stops the loop."""
    import signal
    import weakref

    class Thing:
        pass

    def on_start() -> None:
        thing = Thing()
        weakref.finalize(thing, signal.raise_signal, signal.SIGINT)
        del thing  # the callback runs now, and the KeyboardInterrupt it raises is dropped

    before = signal.getsignal(signal.SIGINT)
    stop = threading.Event()
    safety = threading.Timer(10, stop.set)  # (without the flag the loop would run until this)
    safety.start()
    started = time.monotonic()
    try:
        assert watch(tmp_path, lambda paths: None, stop=stop, on_start=on_start) is True
    finally:
        safety.cancel()
    assert time.monotonic() - started < 5 and not stop.is_set()
    assert signal.getsignal(signal.SIGINT) is before  # (put back)


def test_stopped_by_its_event_it_says_no_ctrl_c(tmp_path: Path) -> None:
    stop = threading.Event()
    assert watch(tmp_path, lambda paths: None, stop=stop, on_start=stop.set) is False


def test_a_second_ctrl_c_while_it_stops_changes_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Two Ctrl-C's in quick succession: the second, landing while the observer stops, neither escapes from
    watch() nor cuts the stop short (helper's report: 'sync --watch' then ended by the signal, or said
    'interrupted; run the command again', in 66 of 80 double Ctrl-C's)."""
    import signal

    from vaultkit import watch as watch_module

    real_start = watch_module._start_observer
    stopped: list[bool] = []

    def start_observer(*args):
        observer = real_start(*args)
        real_stop = observer.stop

        def stop_after_a_second_ctrl_c() -> None:
            signal.raise_signal(signal.SIGINT)  # (the handler runs at once, in this thread)
            real_stop()
            stopped.append(True)

        observer.stop = stop_after_a_second_ctrl_c
        return observer

    monkeypatch.setattr(watch_module, "_start_observer", start_observer)
    before = signal.getsignal(signal.SIGINT)
    baseline = threading.active_count()
    assert watch(tmp_path, lambda paths: None, on_start=lambda: signal.raise_signal(signal.SIGINT)) is True
    assert stopped == [True] and signal.getsignal(signal.SIGINT) is before
    time.sleep(0.1)
    assert threading.active_count() <= baseline  # (the observer was joined)


@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_after_a_lost_ctrl_c_the_next_one_still_stops_a_long_change(tmp_path: Path) -> None:
    """A Ctrl-C lost while ``on_change`` runs (a long sync) stops the loop only once it returns: the next
    Ctrl-C must still interrupt it, not be swallowed as one pressed while stopping."""
    import signal
    import weakref

    class Thing:
        pass

    raised: list[str] = []

    def on_start() -> None:  # (stands for a long on_change)
        thing = Thing()
        weakref.finalize(thing, signal.raise_signal, signal.SIGINT)
        del thing  # lost
        try:
            signal.raise_signal(signal.SIGINT)
        except KeyboardInterrupt:
            raised.append("second")
            raise

    assert watch(tmp_path, lambda paths: None, on_start=on_start) is True
    assert raised == ["second"]


def test_watchdogs_notice_of_a_stopped_observer_is_not_printed(capsys: pytest.CaptureFixture) -> None:
    """Starting the observer again (a folder's chmod) stops one with events pending: watchdog logs an error for
    that, which Python printed on stderr in the middle of watch mode's output (helper's report)."""
    import logging

    from vaultkit.watch import _quiet_stop_notice

    log = logging.getLogger("watchdog.observers.inotify")
    log.addFilter(_quiet_stop_notice)
    try:
        record = log.makeRecord(log.name, logging.ERROR, __file__, 1,
                                "InotifyEmitter.queue_events() called when the thread is inactive", (), None)
        assert not log.filter(record)
        other = log.makeRecord(log.name, logging.ERROR, __file__, 1, "inotify watch limit reached", (), None)
        assert log.filter(other)
    finally:
        log.removeFilter(_quiet_stop_notice)
