"""Results reused between runs (technique mentions, FeedbackLoop reads, near matches) never change the output.

After each edit a sync that reuses the previous run's memos must write exactly
what a sync without any cache writes (``--check --no-cache`` finds nothing to do).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from vaultkit.cache import NoteCache
from vaultkit.commands.sync import run_sync
from vaultkit.feedback import FEEDBACK_MEMO
from vaultkit.generate import SUGGEST_MEMO
from vaultkit.techniques import MENTIONS_MEMO, build_techniques
from vaultkit.vault import Vault

from .conftest import EUGENE, SAMPLE_VAULT, need


def _assert_up_to_date(root: Path) -> None:
    _, _, report = run_sync(root, mode_name="check", cache=False)
    assert not report.changed, [o.path for o in report.outcomes if o.action != "unchanged"]


def _edit(path: Path, old: str | None, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    if old is None:
        text += new
    else:
        assert old in text, old
        text = text.replace(old, new, 1)
    path.write_text(text, encoding="utf-8")


@pytest.mark.parametrize("src", [SAMPLE_VAULT, EUGENE], ids=["sample", "eugene"])
def test_reused_results_write_what_a_fresh_run_writes(tmp_path: Path, src: Path, monkeypatch) -> None:
    from vaultkit import writer

    monkeypatch.setattr(writer, "_RECENT_NS", -10**18)  # files just written count as known up to date too
    root = tmp_path / "v"
    shutil.copytree(need(src), root, ignore=shutil.ignore_patterns(".vaultkit"))
    run_sync(root)
    store = NoteCache.open(root)
    try:
        kinds = {kind for kind in (MENTIONS_MEMO + "/00", FEEDBACK_MEMO, SUGGEST_MEMO, "writer")
                 if store.get_memo(kind) is not None}
    finally:
        store.close()
    assert MENTIONS_MEMO + "/00" in kinds and "writer" in kinds
    _assert_up_to_date(root)

    vault = Vault.load(root)
    techs = build_techniques(vault)
    ranked = root / techs[0].rows[0].note  # a note with a tier table
    others = [n for n in vault.user_notes() if n.path != techs[0].rows[0].note]
    other = root / (others[0].path if others else techs[0].rows[0].note)
    name = techs[-1].name
    edits = [
        # a new mention of a technique in another note
        (other, None, f"\n\nWe tried {name} last week.\n"),
        # a new title (every title-based answer may change)
        (other, None, "") if others and others[0].frontmatter is None else
        (other, "---\n", "---\ntitle: Renamed for the test\n"),
        # the tier table itself: a technique renamed (the names looked for change)
        (ranked, techs[0].rows[0].name, techs[0].rows[0].name + " Mk II"),
    ]
    for path, old, new in edits:
        _edit(path, old, new)
        run_sync(root)  # reuses what the previous run stored
        _assert_up_to_date(root)
    # a FeedbackLoop naming wanted notes, in a note with frontmatter
    fm_note = next((n for n in Vault.load(root).user_notes() if isinstance(n.frontmatter, dict)), None)
    if fm_note is not None:
        p = root / fm_note.path
        _edit(p, "---\n", "---\nFeedbackLoop: \"Related Note 1: Some Wanted Note. Related Note 2: Another Missing One\"\n")
        run_sync(root)
        _assert_up_to_date(root)
        _edit(p, "Another Missing One", "Anothr Missing One")
        run_sync(root)
        _assert_up_to_date(root)


def test_memos_are_dropped_with_other_code(tmp_path: Path, monkeypatch) -> None:
    import vaultkit.cache as cache_mod

    root = tmp_path / "v"
    shutil.copytree(SAMPLE_VAULT, root, ignore=shutil.ignore_patterns(".vaultkit"))
    run_sync(root)
    store = NoteCache.open(root)
    assert store.get_memo(MENTIONS_MEMO + "/00") is not None  # (stored in parts)
    monkeypatch.setattr(cache_mod, "_code_memo", "another version of vaultkit")
    assert store.get_memo(MENTIONS_MEMO + "/00") is None
    store.put_memo("x", {1: object()})  # not marshallable: ignored, no error
    assert store.get_memo("x") is None
    store.close()


def test_no_memos_without_the_cache(tmp_path: Path) -> None:
    root = tmp_path / "v"
    shutil.copytree(SAMPLE_VAULT, root, ignore=shutil.ignore_patterns(".vaultkit"))
    vault, _, _ = run_sync(root, cache=False)
    assert vault.previous_memo(MENTIONS_MEMO) is None
    assert not (root / ".vaultkit").exists()


def _scanned_notes(monkeypatch) -> list[str]:
    """Paths of the notes scanned for technique mentions from now on (in-process scans)."""
    import vaultkit.techniques as T

    scanned: list[str] = []
    real = T.mention_rows_of

    def spy(targets, own, notes, **kw):
        notes = list(notes)
        scanned.extend(n.path for n, _ in notes)
        return real(targets, own, notes, **kw)

    monkeypatch.setattr(T, "mention_rows_of", spy)
    return scanned


def test_only_changed_notes_are_scanned_again(tmp_path: Path, monkeypatch) -> None:
    root = tmp_path / "v"
    shutil.copytree(need(EUGENE), root, ignore=shutil.ignore_patterns(".vaultkit"))
    run_sync(root)
    scanned = _scanned_notes(monkeypatch)
    build_techniques(Vault.load(root, cache=True))
    assert scanned == []
    note = next(n for n in Vault.load(root).user_notes() if n.path.endswith(".md"))
    _edit(root / note.path, None, "\nOne more line.\n")
    build_techniques(Vault.load(root, cache=True))
    assert scanned == [note.path]


def _tier_view(vault: Vault) -> tuple:
    return (vault.techniques, {n.path: sorted(n.diagnostics, key=lambda d: d.sort_key()) for n in vault.user_notes()})


def test_only_changed_notes_tier_tables_are_read_again(tmp_path: Path, monkeypatch) -> None:
    """Rows and tier-table diagnostics of unchanged notes come with their cached notes (the parser read
    them), equal to reading them."""
    import vaultkit.parse as parse_mod
    import vaultkit.vault as vault_mod

    root = tmp_path / "v"
    shutil.copytree(need(EUGENE), root, ignore=shutil.ignore_patterns(".vaultkit"))
    run_sync(root)
    read: list[str] = []
    for mod in (parse_mod, vault_mod):
        real = mod.read_tier_tables
        monkeypatch.setattr(mod, "read_tier_tables", lambda note, real=real: (read.append(note.path), real(note))[1])
    cached = Vault.load(root, cache=True, parse_generated=False)  # (a sync's reading)
    assert read == [] and cached.techniques
    assert _tier_view(cached) == _tier_view(Vault.load(root))
    row = cached.techniques[0]
    _edit(root / row.note, row.name, row.name + " Mk II")
    read.clear()
    again = Vault.load(root, cache=True, parse_generated=False)
    assert read == [row.note]
    fresh = Vault.load(root)
    assert _tier_view(again) == _tier_view(fresh) and any(r.name == row.name + " Mk II" for r in fresh.techniques)


def test_cached_tier_rows_of_another_shape_are_read_again(tmp_path: Path) -> None:
    root = tmp_path / "v"
    shutil.copytree(SAMPLE_VAULT, root, ignore=shutil.ignore_patterns(".vaultkit"))
    run_sync(root)
    notes = [n for n in Vault.load(root).user_notes() if n.tier_rows is not None]
    assert notes
    store = NoteCache.open(root)
    for bad, note in zip([5, ("not", "rows"), ((("short",),), ())], notes * 3):
        note.tier_rows = bad
        store.put(note, root / note.path, encode_now=True)
    store.close()
    assert _tier_view(Vault.load(root, cache=True)) == _tier_view(Vault.load(root))


def _technique_view(vault: Vault) -> list:
    return [(t.key, t.name, t.aliases, t.tier, [(r.note, r.table, r.row, r.line) for r in t.rows])
            for t in build_techniques(vault, mentions=False)]


def test_rows_are_merged_again_only_when_what_merging_reads_changed(tmp_path: Path, monkeypatch) -> None:
    """The last sync's merge is reused while every row's note, table, place, name and tier are the same
    (prose moving a table down included), with the current rows; a renamed technique merges again."""
    import vaultkit.techniques as T

    root = tmp_path / "v"
    shutil.copytree(need(EUGENE), root, ignore=shutil.ignore_patterns(".vaultkit"))
    run_sync(root)
    merges: list[int] = []
    real = T.merge_rows
    monkeypatch.setattr(T, "merge_rows", lambda rows: (merges.append(1), real(rows))[1])
    row = Vault.load(root).techniques[0]
    _edit(root / row.note, "\n|", "\nA new line of prose above the tables.\n\n|")  # every line below moves
    cached = Vault.load(root, cache=True)
    assert _technique_view(cached) == _technique_view(Vault.load(root)) and merges == [1]  # (the load without cache)
    assert all(r is cached.techniques[i] for i, r in enumerate(cached.techniques))
    rows_used = {id(r) for t in build_techniques(cached, mentions=False) for r in t.rows}
    assert rows_used == {id(r) for r in cached.techniques}  # the rows of this load, not copies
    run_sync(root)
    merges.clear()
    _edit(root / row.note, row.name, row.name + " Mk II")
    again = Vault.load(root, cache=True)
    assert _technique_view(again) == _technique_view(Vault.load(root)) and len(merges) == 2


def _memo_rows(root: Path) -> dict[str, tuple]:
    import sqlite3

    with sqlite3.connect(root / ".vaultkit" / "cache.sqlite") as db:
        return {kind: (code, bytes(data)) for kind, code, data in db.execute("SELECT kind, code, data FROM memos")}


def test_an_edit_rewrites_only_the_part_of_the_mentions_memo_that_holds_the_note(tmp_path: Path) -> None:
    """The mentions memo is stored in parts by note path; a memo equal to the stored one is not written."""
    from vaultkit.vault import _MEMO_PARTS, _memo_part

    assert MENTIONS_MEMO in _MEMO_PARTS
    parts = _MEMO_PARTS[MENTIONS_MEMO]
    root = tmp_path / "v"
    shutil.copytree(need(EUGENE), root, ignore=shutil.ignore_patterns(".vaultkit"))
    run_sync(root)
    run_sync(root)  # (the first wrote the generated notes: links to them resolve now)
    before = _memo_rows(root)
    assert {f"{MENTIONS_MEMO}/{i:02d}" for i in range(parts)} <= set(before) and MENTIONS_MEMO not in before
    note = next(n for n in Vault.load(root).user_notes() if "|" not in (root / n.path).read_text(encoding="utf-8"))
    name = build_techniques(Vault.load(root))[0].name
    _edit(root / note.path, None, f"\nWe tried {name} again.\n")
    vault, _plan, _report = run_sync(root)
    after = _memo_rows(root)
    changed = {kind for kind in after if after[kind] != before.get(kind)}
    mention_parts = {kind for kind in changed if kind.startswith(MENTIONS_MEMO + "/")}
    assert mention_parts == {f"{MENTIONS_MEMO}/{_memo_part(note.path, parts):02d}"}
    assert "merge" not in changed and "tiers" not in after  # (no tier row changed; rows live in the notes)
    again = Vault.load(root, cache=True)
    assert again.previous_memo(MENTIONS_MEMO) == vault.memo_updates[MENTIONS_MEMO]  # put back together


def test_a_mentions_memo_with_a_part_missing_is_not_used(tmp_path: Path) -> None:
    import sqlite3

    root = tmp_path / "v"
    shutil.copytree(SAMPLE_VAULT, root, ignore=shutil.ignore_patterns(".vaultkit"))
    run_sync(root)
    assert Vault.load(root, cache=True).previous_memo(MENTIONS_MEMO) is not None
    with sqlite3.connect(root / ".vaultkit" / "cache.sqlite") as db:
        db.execute("DELETE FROM memos WHERE kind=?", (MENTIONS_MEMO + "/07",))
    assert Vault.load(root, cache=True).previous_memo(MENTIONS_MEMO) is None


def _store_with_memo_files(tmp_path: Path, monkeypatch) -> tuple[Path, NoteCache, dict]:
    """A new vault's cache where memos over 1,000 bytes are files, and such a memo."""
    import vaultkit.cache as cache_mod

    monkeypatch.setattr(cache_mod, "MEMO_FILE_BYTES", 1000)
    root = tmp_path / "v"
    root.mkdir()
    return root, NoteCache.open(root), {"rows": [("a" * 50, i) for i in range(200)]}


def test_a_memo_file_changed_in_place_is_a_miss_and_written_again(tmp_path: Path, monkeypatch) -> None:
    """Bytes that still unmarshal and keep the size, but are not those written, are never trusted."""
    import marshal

    root, store, big = _store_with_memo_files(tmp_path, monkeypatch)
    store.put_memo("big", big)
    (file,) = (root / ".vaultkit").glob("memo-*.bin")
    data = file.read_bytes()
    tampered = data.replace(b"a" * 50, b"b" * 50, 1)
    assert len(tampered) == len(data) and marshal.loads(tampered) != big  # a valid memo, another value
    file.write_bytes(tampered)
    store.close()

    store = NoteCache.open(root)  # another run
    assert store.get_memo("big") is None and not file.exists()
    store.put_memo("big", big)  # the same value is written again, not taken as already there
    assert file.read_bytes() == data and store.get_memo("big") == big
    store.close()


def test_large_memos_live_in_files_beside_the_cache(tmp_path: Path, monkeypatch) -> None:
    """A memo over MEMO_FILE_BYTES is a file the row names; replaced files and broken ones are handled."""
    import vaultkit.cache as cache_mod

    root, store, big = _store_with_memo_files(tmp_path, monkeypatch)
    store.put_memo("big", big)
    store.put_memo("small", [1, 2])
    files = list((root / ".vaultkit").glob("memo-*.bin"))
    assert len(files) == 1
    assert store.get_memo("big") == big and store.get_memo("small") == [1, 2]
    store.put_memo("big", {"rows": []} | big)  # replaced: the earlier file goes
    after = list((root / ".vaultkit").glob("memo-*.bin"))
    assert len(after) == 1 and after != files
    store.close()

    store = NoteCache.open(root)  # another run reads it back
    assert store.get_memo("big") == big
    after[0].write_bytes(after[0].read_bytes()[:-10])  # cut short (say, a crash): a miss, no error
    assert store.get_memo("big") is None and not after[0].exists()  # and the file goes
    assert store.get_memo("big") is None and store.get_memo("small") == [1, 2]
    for stray in ("memo-stray-0.bin", "memo-stray-1.bin.tmp"):  # left over long ago (young ones may be
        (root / ".vaultkit" / stray).write_bytes(b"left over")     # another process's, about to be named)
        os.utime(root / ".vaultkit" / stray, ns=(10**18, 10**18))
    (root / ".vaultkit" / "memo-young-2.bin").write_bytes(b"another run's")
    store.put_memo("big", big)
    assert (root / ".vaultkit" / "memo-young-2.bin").exists()
    (root / ".vaultkit" / "memo-young-2.bin").unlink()
    assert [p.name for p in (root / ".vaultkit").glob("memo-*")] == [
        p.name for p in (root / ".vaultkit").glob("memo-*.bin")] and len(list((root / ".vaultkit").glob("memo-*"))) == 1
    store.close()
    cache_mod.clear(root)
    assert list((root / ".vaultkit").glob("memo-*")) == []


def test_a_memo_equal_to_the_stored_one_is_not_written_again(tmp_path: Path, monkeypatch) -> None:
    root, store, big = _store_with_memo_files(tmp_path, monkeypatch)
    store.put_memos({"big": big, "small": [1, 2]})
    (file,) = (root / ".vaultkit").glob("memo-*.bin")
    os.utime(file, ns=(10**18, 10**18))
    rows = _memo_rows(root)
    # the same values (marshal's bytes may differ for equal values made otherwise: its back-references
    # depend on reference counts; then the memo is written again, which costs time, not correctness)
    store.put_memos({"big": big, "small": [1, 2]})
    assert [p.name for p in (root / ".vaultkit").glob("memo-*.bin")] == [file.name]
    assert file.stat().st_mtime_ns == 10**18 and _memo_rows(root) == rows
    store.put_memos({"big": big, "small": [1, 2, 3]})  # one changed: only its row is written
    after = _memo_rows(root)
    assert after["big"] == rows["big"] and after["small"] != rows["small"] and file.stat().st_mtime_ns == 10**18
    store.close()


def test_a_sync_reuses_memos_kept_in_files(tmp_path: Path, monkeypatch) -> None:
    import vaultkit.cache as cache_mod

    monkeypatch.setattr(cache_mod, "MEMO_FILE_BYTES", 100)  # every memo of the sample vault in a file
    root = tmp_path / "v"
    shutil.copytree(SAMPLE_VAULT, root, ignore=shutil.ignore_patterns(".vaultkit"))
    run_sync(root)
    assert len(list((root / ".vaultkit").glob("memo-*.bin"))) >= 3
    scanned = _scanned_notes(monkeypatch)
    run_sync(root)
    assert scanned == []  # every note's mentions came from the memo file
    _assert_up_to_date(root)


def test_memos_are_stored_all_or_none(tmp_path: Path) -> None:
    """The plan's memo is only right with the writer's and the mentions' of the same run: a save that
    cannot finish (the cache locked by another process) keeps the earlier set whole."""
    import sqlite3

    root = tmp_path / "v"
    root.mkdir()
    store = NoteCache.open(root)
    store.put_memos({"a": 1, "b": 1})
    store.close()
    blocker = sqlite3.connect(root / ".vaultkit" / "cache.sqlite", isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")  # another writer holds the lock
    store = NoteCache.open(root, timeout=0.05)
    store.put_memos({"a": 2, "b": 2})
    assert store.notice and "not updated" in store.notice
    blocker.execute("ROLLBACK")
    blocker.close()
    assert (store.get_memo("a"), store.get_memo("b")) == (1, 1)
    store.put_memos({"a": 3, "b": 3})
    assert (store.get_memo("a"), store.get_memo("b")) == (3, 3)
    store.close()


class _InterruptedAfter:
    """A connection that runs each statement, then raises ``KeyboardInterrupt`` (a Ctrl-C landing just
    after it) once it has run ``statement``."""

    def __init__(self, db, statement: str) -> None:
        self._db, self._statement = db, statement

    def __getattr__(self, name: str):
        return getattr(self._db, name)

    def execute(self, sql: str, *args):
        result = self._db.execute(sql, *args)
        if sql == self._statement:
            raise KeyboardInterrupt
        return result


@pytest.mark.parametrize("statement", ["BEGIN IMMEDIATE", "COMMIT"])
def test_a_ctrl_c_while_memos_are_saved_is_not_lost(tmp_path: Path, statement: str) -> None:
    """A Ctrl-C just after COMMIT left no transaction to roll back: the ROLLBACK's error replaced the
    KeyboardInterrupt and was taken for a failed write, and ``sync --watch`` kept watching."""
    root = tmp_path / "v"
    root.mkdir()
    store = NoteCache.open(root)
    store.put_memos({"a": 1})
    store._db = _InterruptedAfter(store._db, statement)
    with pytest.raises(KeyboardInterrupt):
        store.put_memos({"a": 2})
    assert store.notice is None
    store._db = store._db._db
    assert not store._db.in_transaction  # (rolled back when interrupted inside the transaction)
    assert store.get_memo("a") == (2 if statement == "COMMIT" else 1)
    store.close()


def test_a_memo_file_that_cannot_be_written_stores_none_of_the_set(tmp_path: Path, monkeypatch) -> None:
    import vaultkit.cache as cache_mod

    root = tmp_path / "v"
    root.mkdir()
    store = NoteCache.open(root)
    store.put_memos({"a": 1, "b": [1]})
    monkeypatch.setattr(cache_mod, "MEMO_FILE_BYTES", 100)

    def no_room(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(cache_mod.os, "replace", no_room)
    store.put_memos({"a": 2, "b": list(range(1000))})  # "b" needs a file, which fails: "a" is not stored either
    assert (store.get_memo("a"), store.get_memo("b")) == (1, [1])
    assert list((root / ".vaultkit").glob("memo-*")) == []  # (the half-written file is gone)
    store.close()


@pytest.mark.parametrize("kind", ["fifo", "symlink", "device", "huge"])
def test_a_memo_file_that_is_not_ours_is_a_miss(tmp_path: Path, monkeypatch, kind: str) -> None:
    """Never blocks on a pipe, follows a link, reads a device or lets a crafted length exhaust memory."""
    import vaultkit.cache as cache_mod

    monkeypatch.setattr(cache_mod, "MEMO_FILE_BYTES", 100)
    root = tmp_path / "v"
    root.mkdir()
    store = NoteCache.open(root)
    store.put_memos({"big": list(range(1000)), "small": 1})
    (path,) = (root / ".vaultkit").glob("memo-*.bin")
    size = path.stat().st_size
    path.unlink()
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "symlink":
        good = tmp_path / "copy.bin"
        good.write_bytes(b"\0" * size)
        path.symlink_to(good)
    elif kind == "device":
        path.symlink_to("/dev/zero")
    else:  # a tuple of 2**31 - 1 items, as marshal writes its length
        path.write_bytes(b"(\xff\xff\xff\x7f" + b"\0" * (size - 5))
    assert store.get_memo("big") is None and store.get_memo("small") == 1
    store.close()


def test_the_merge_memo_is_found_whether_the_rows_were_read_or_came_from_the_cache(tmp_path: Path,
                                                                                    monkeypatch) -> None:
    """The key of the merge memo does not depend on how the rows were made. (It was a hash of marshal's
    bytes, which for equal values differ with which strings are interned or shared: a sync in a new
    process after an edit missed the memo. That needs two processes to show; this checks the property.)"""
    import vaultkit.techniques as T
    from vaultkit.cache import NoteCache as Store

    root = tmp_path / "v"
    shutil.copytree(need(EUGENE), root, ignore=shutil.ignore_patterns(".vaultkit"))
    merges: list[int] = []
    real = T.merge_rows
    monkeypatch.setattr(T, "merge_rows", lambda rows: (merges.append(1), real(rows))[1])
    run_sync(root)  # rows read from the tables, merged, memos stored
    assert merges == [1]
    build_techniques(Vault.load(root, cache=True), mentions=False)  # rows from the cached notes
    run_sync(root)
    import vaultkit.vault as vault_mod

    def refuse(path, packed):
        raise ValueError("read the tables again")

    monkeypatch.setattr(vault_mod, "unpack_tier_tables", refuse)  # every tier table read again
    build_techniques(Vault.load(root, cache=True), mentions=False)
    assert merges == [1]
