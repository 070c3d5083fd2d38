"""The persistent note cache: hits give the same vault as parsing, and every bad state rebuilds."""

from __future__ import annotations

import datetime
import os
import shutil
import sqlite3
import time
from pathlib import Path

import pytest

from vaultkit import cache as cache_mod
from vaultkit.cache import NoteCache, cache_path, cache_version, decode_note, encode_note
from vaultkit.discover import discover
from vaultkit.parse import parse_note
from vaultkit.vault import Vault

from .conftest import CASES, EUGENE, need

OLD = 1_600_000_000_000_000_000  # 2020-09-13: far outside the racy window


def _round_trip(note):
    back = decode_note(encode_note(note))
    if back.text is None:  # left out of the cache for UTF-8 notes; NoteCache.get reads the file
        back.text = note.text
    return back


def _model(vault: Vault) -> list[dict]:
    return [n.to_dict() for n in vault.notes.values()] + [t.to_dict() for t in vault.techniques]


def _age(root: Path) -> None:
    """Give every file an old mtime so rows are not 'racy' (stored without hash confirmation)."""
    for dirpath, _dirs, files in os.walk(root):
        for name in files:
            os.utime(Path(dirpath, name), ns=(OLD, OLD))


def _stats(root: Path) -> dict:
    """Load with the cache and return the note store's stats (by wrapping close: the store that reads the
    notes closes with the paths to keep; the load opens the cache again to read memos)."""
    seen: dict = {}
    orig = NoteCache.close

    def close(self, keep=None):
        orig(self, keep)
        if keep is not None:
            seen.update(self.stats, notice=self.notice)

    NoteCache.close = close
    try:
        Vault.load(root, cache=True)
    finally:
        NoteCache.close = orig
    return seen


@pytest.fixture
def small(tmp_path: Path) -> Path:
    root = tmp_path / "v"
    (root / "sub").mkdir(parents=True)
    (root / "A.md").write_text("---\ntags: [x]\naliases: [Alpha]\nup: '[[B]]'\n---\n# Head\nSee [[B#Top]] #y\n",
                               encoding="utf-8")
    (root / "B.md").write_text("# Top\n| Technique | Tier |\n|---|---|\n| Foo | S |\n\n[[A]] ^blk\n",
                               encoding="utf-8")
    (root / "sub" / "C.md").write_text("%% [[Hidden]] %%\n[[Missing]]\n", encoding="utf-8")
    _age(root)
    return root


def test_codec_round_trips_every_note_of_the_shared_vaults() -> None:
    roots = [need(EUGENE)] + sorted(p / "vault" for p in need(CASES).iterdir() if (p / "vault").is_dir())
    count = 0
    for root in roots:
        _files, notes = discover(root)
        for rel, path in notes.items():
            note = parse_note(rel, path.read_bytes(), mtime_ns=123)
            assert _round_trip(note) == note, rel
            count += 1
    assert count > 200


def test_codec_falls_back_to_pickle_for_values_marshal_cannot_write() -> None:
    note = parse_note("A.md", b"---\na: 1\n---\ntext\n")
    note.frontmatter["when"] = datetime.date(2024, 5, 1)
    blob = encode_note(note)
    assert blob[:1] == b"P"
    assert decode_note(blob) == note


def test_cached_notes_carry_the_same_text_as_parsed_notes(eugene_copy: Path) -> None:
    _age(eugene_copy)
    (eugene_copy / "latin1.md").write_bytes("caf\xe9 [[x]]\r\n".encode("latin-1"))
    (eugene_copy / "bom.md").write_bytes(b"\xef\xbb\xbf---\r\na: 1\r\n---\r\nbody\r\n")
    _age(eugene_copy)
    plain = Vault.load(eugene_copy).notes
    Vault.load(eugene_copy, cache=True)
    warm = Vault.load(eugene_copy, cache=True).notes
    assert _stats(eugene_copy)["hits"] == len(plain)
    assert all(warm[k].text == plain[k].text and warm[k].text for k in plain)
    assert warm == plain
    assert warm["latin1.md"].encoding != "utf-8" and "\ufffd" in warm["latin1.md"].text


def test_text_kept_as_the_files_bytes_is_not_decoded_again(tmp_path: Path, monkeypatch) -> None:
    """A hit takes the bytes of a UTF-8 note whose text the parser kept as the file's very bytes as they are;
    a note with a BOM or CR line ends (its text differs from the bytes) is decoded and checked again."""
    root = tmp_path / "v"
    root.mkdir()
    (root / "emoji.md").write_bytes("# Ранг 🟢\n[[bom]] текст\n".encode())
    (root / "bom.md").write_bytes("\ufeff# Ранг 🟢\r\nтекст\r\n".encode())
    (root / "ascii.md").write_bytes(b"# plain\n")
    _age(root)
    plain = Vault.load(root).notes
    Vault.load(root, cache=True)
    decoded: list[bytes] = []
    real = cache_mod._utf8_text
    monkeypatch.setattr(cache_mod, "_utf8_text", lambda data: (decoded.append(data), real(data))[1])
    warm = Vault.load(root, cache=True).notes
    assert warm == plain and all(warm[k].text == plain[k].text for k in plain)
    assert sorted(decoded) == sorted([(root / "bom.md").read_bytes(), b"# plain\n"])
    assert _stats(root)["hits"] == 3


def test_lazy_text_is_read_when_first_asked_for(eugene_copy: Path, monkeypatch) -> None:
    """A sync's load (generated notes partly) reads no user note's file for its text until it is asked for;
    the texts then equal a load's that reads them at once (a BOM, CR line ends, Latin-1 included)."""
    _age(eugene_copy)
    (eugene_copy / "latin1.md").write_bytes("caf\xe9 [[x]]\r\n".encode("latin-1"))
    (eugene_copy / "bom.md").write_bytes(b"\xef\xbb\xbf---\r\na: 1\r\n---\r\nbody\r\n")
    _age(eugene_copy)
    plain = Vault.load(eugene_copy).notes
    Vault.load(eugene_copy, cache=True, parse_generated=False)
    opened: list[str] = []
    real = cache_mod._FileText.load
    monkeypatch.setattr(cache_mod._FileText, "load", lambda self: (opened.append(str(self.path)), real(self))[1])
    lazy = Vault.load(eugene_copy, cache=True, parse_generated=False).notes
    assert opened == [] and _stats(eugene_copy)["hits"] == len(plain)
    user = [k for k in plain if not lazy[k].partial]
    assert len(user) > 100 and all(lazy[k].text == plain[k].text for k in user)
    assert len(opened) == sum(1 for k in user if plain[k].encoding == "utf-8")  # (others keep their text)
    assert all(lazy[k] == plain[k] for k in user)
    # a file changed after the load: its text is the file's text then (the next run parses it again)
    Vault.load(eugene_copy, cache=True, parse_generated=False)
    again = Vault.load(eugene_copy, cache=True, parse_generated=False).notes
    (eugene_copy / "bom.md").write_bytes(b"changed\n")
    assert again["bom.md"].text == "changed\n"


def test_region_marks_tell_which_notes_may_hold_regions() -> None:
    """Any begin marker counts, even in code, in the frontmatter or unpaired (sync then reads the text)."""
    for text, marks in [("x\n", False), ("%% vaultkit:begin tier-ladder %%\n%% vaultkit:end tier-ladder %%\n", True),
                        ("```\n%% vaultkit:begin a %%\n```\n", True), ("---\nx: '%% vaultkit:begin a'\n---\n", True),
                        ("%% vaultkit:begin a %%\n", True), ("%% vaultkit:end a %%\n", False)]:
        assert parse_note("A.md", text.encode()).region_marks is marks, text


def test_file_changed_between_stat_and_read_is_a_miss(small: Path) -> None:
    Vault.load(small, cache=True)
    store = NoteCache.open(small)
    real_stat = os.stat

    def stat_then_change(path, *a, **k):
        st = real_stat(path, *a, **k)
        if str(path).endswith("A.md"):
            Path(path).write_text("changed under our feet, longer than before\n", encoding="utf-8")
        return st

    cache_mod.os.stat = stat_then_change
    try:
        assert store.get("A.md", small / "A.md") is None
    finally:
        cache_mod.os.stat = real_stat
    store.close()


def test_codec_rejects_garbage() -> None:
    for blob in (b"", b"M\x00\x01", b"Zxyz", b"P" + b"not a pickle"):
        with pytest.raises(ValueError):
            decode_note(blob)


def test_warm_load_equals_cold_load_and_reparses_nothing(eugene_copy: Path) -> None:
    _age(eugene_copy)
    plain = _model(Vault.load(eugene_copy))
    first = _stats(eugene_copy)
    n = len(Vault.load(eugene_copy).notes)
    assert first["hits"] == 0 and first["written"] == n and first["notice"] is None
    assert cache_path(eugene_copy).is_file()
    second = _stats(eugene_copy)
    assert second["hits"] == n and second["misses"] == 0 and second["written"] == 0
    assert _model(Vault.load(eugene_copy, cache=True)) == plain


def test_links_of_cached_notes_are_resolved_against_the_current_vault(small: Path) -> None:
    Vault.load(small, cache=True)
    c = small / "sub" / "C.md"
    assert Vault.load(small, cache=True).notes["sub/C.md"].links[-1].resolved is None
    (small / "Missing.md").write_text("new\n", encoding="utf-8")
    _age(small)
    vault = Vault.load(small, cache=True)
    assert vault.notes["sub/C.md"].links[-1].resolved == "Missing.md"
    assert c.exists()


def test_changed_note_is_parsed_again(small: Path) -> None:
    _age(small)  # (before the rows are stored: a changed ctime is a change)
    Vault.load(small, cache=True)
    (small / "B.md").write_text("# Top\n[[sub/C]]\n", encoding="utf-8")
    os.utime(small / "B.md", ns=(OLD + 10, OLD + 10))
    stats = _stats(small)
    assert stats["hits"] == 2 and stats["misses"] == 1 and stats["written"] == 1
    assert [lk.target for lk in Vault.load(small, cache=True).notes["B.md"].links] == ["sub/C"]


def test_same_size_new_mtime_is_a_miss(small: Path) -> None:
    Vault.load(small, cache=True)
    os.utime(small / "A.md", ns=(OLD + 5, OLD + 5))
    stats = _stats(small)
    assert stats["misses"] == 1 and stats["hits"] == 2


def test_racy_rows_are_confirmed_by_hash(tmp_path: Path) -> None:
    root = tmp_path / "v"
    root.mkdir()
    note = root / "N.md"
    note.write_text("[[One]]\n", encoding="utf-8")  # fresh mtime: stored as 'verify'
    st = note.stat()
    Vault.load(root, cache=True)
    note.write_text("[[Two]]\n", encoding="utf-8")  # same size; force the same mtime
    os.utime(note, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert Vault.load(root, cache=True).notes["N.md"].links[0].target == "Two"


def test_verify_mode_confirms_every_hit(small: Path) -> None:
    Vault.load(small, cache=True)
    (small / "A.md").write_bytes((small / "A.md").read_bytes().replace(b"[[B#Top]]", b"[[B#Tip]]"))
    os.utime(small / "A.md", ns=(OLD, OLD))  # same size, same (old) mtime: only a hash can tell
    store = NoteCache.open(small, verify=True)
    assert store.get("A.md", small / "A.md") is None
    assert store.get("B.md", small / "B.md") is not None
    store.close()


def test_deleted_notes_are_dropped_on_close(small: Path) -> None:
    Vault.load(small, cache=True)
    (small / "sub" / "C.md").unlink()
    stats = _stats(small)
    assert stats["removed"] == 1
    with sqlite3.connect(cache_path(small)) as db:
        paths = {p for (p,) in db.execute("SELECT path FROM notes")}
    assert paths == {"A.md", "B.md"}


def test_corrupt_cache_is_rebuilt_with_a_notice(small: Path) -> None:
    expected = _model(Vault.load(small))
    Vault.load(small, cache=True)
    path = cache_path(small)
    for suffix in ("-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    path.write_bytes(b"this is not a database" * 100)
    store = NoteCache.open(small)
    assert store.enabled and store.notice is not None and "rebuilt" in store.notice
    store.close()
    assert _model(Vault.load(small, cache=True)) == expected
    assert _stats(small)["hits"] == 3


def test_truncated_cache_file_is_rebuilt(small: Path) -> None:
    Vault.load(small, cache=True)
    path = cache_path(small)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 3])
    expected = _model(Vault.load(small))
    assert _model(Vault.load(small, cache=True)) == expected
    assert _stats(small)["hits"] == 3


def test_garbage_row_is_a_miss(small: Path) -> None:
    Vault.load(small, cache=True)
    with sqlite3.connect(cache_path(small)) as db:
        db.execute("UPDATE notes SET data = x'4d0102' WHERE path = 'A.md'")
    stats = _stats(small)
    assert stats["misses"] == 1 and stats["written"] == 1
    assert Vault.load(small, cache=True).notes["A.md"].aliases == ["Alpha"]


def test_cache_of_another_version_is_rebuilt(small: Path) -> None:
    Vault.load(small, cache=True)
    with sqlite3.connect(cache_path(small)) as db:
        db.execute("UPDATE meta SET value = '0.0.1/p0/py3.0/x/y' WHERE key = 'version'")
    store = NoteCache.open(small)
    assert store.notice is not None and "0.0.1" in store.notice
    assert len(store) == 0
    store.close()
    with sqlite3.connect(cache_path(small)) as db:
        assert db.execute("SELECT value FROM meta WHERE key='version'").fetchone()[0] == cache_version()


def test_cache_with_an_old_table_layout_is_rebuilt(small: Path) -> None:
    path = cache_path(small)
    path.parent.mkdir()
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
        db.execute("INSERT INTO meta VALUES ('version', 'ancient')")
        db.execute("CREATE TABLE notes (path TEXT PRIMARY KEY, blob BLOB)")
        db.execute("INSERT INTO notes VALUES ('A.md', x'00')")
    assert _model(Vault.load(small, cache=True)) == _model(Vault.load(small))
    assert _stats(small)["hits"] == 3


def test_notes_table_of_a_wrong_layout_under_the_current_version_is_dropped_when_read(small: Path) -> None:
    # The rows are read only when a note is looked up (a sync that stops early reads only meta):
    # a broken notes table then costs that run its cache, never a note.
    Vault.load(small, cache=True)
    with sqlite3.connect(cache_path(small)) as db:
        db.execute("DROP TABLE notes")
        db.execute("CREATE TABLE notes (path TEXT PRIMARY KEY, blob BLOB)")
    store = NoteCache.open(small)
    assert store.notice is None and store.get_meta("missing") is None  # meta alone still reads
    assert store.get("A.md", small / "A.md") is None and "unreadable" in (store.notice or "")
    store.close()
    assert _model(Vault.load(small, cache=True)) == _model(Vault.load(small))
    assert _model(Vault.load(small, cache=True)) == _model(Vault.load(small))
    assert _stats(small)["hits"] == 3  # rebuilt by the run after


def test_unwritable_cache_folder_disables_the_cache(small: Path) -> None:
    (small / ".vaultkit").write_text("a file where the folder should be", encoding="utf-8")
    store = NoteCache.open(small)
    assert not store.enabled and store.notice and "disabled" in store.notice
    assert store.get("A.md", small / "A.md") is None
    store.put(parse_note("A.md", b"x"))
    store.close(keep=set())
    assert len(Vault.load(small, cache=True).notes) == 3


def test_locked_cache_is_left_alone(small: Path) -> None:
    _age(small)  # (before the rows are stored: a changed ctime is a change)
    Vault.load(small, cache=True)
    (small / "A.md").write_text("changed\n", encoding="utf-8")
    os.utime(small / "A.md", ns=(OLD + 1, OLD + 1))
    other = sqlite3.connect(cache_path(small), isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another vaultkit writing
    try:
        store = NoteCache.open(small, timeout=0.05)
        note = store.get("B.md", small / "B.md")
        assert note is not None or store.notice  # readers are not blocked in WAL mode
        store.put(parse_note("A.md", b"changed\n", mtime_ns=OLD + 1))
        store.close(keep={"A.md", "B.md", "sub/C.md"})
        assert store.notice is not None and "not updated" in store.notice
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert cache_path(small).is_file()
    assert _stats(small)["hits"] == 2  # B and C survived; A is parsed again


def test_meta_values_persist_and_version_is_reserved(small: Path) -> None:
    store = NoteCache.open(small)
    store.set_meta("sync.inputs", "abc")
    with pytest.raises(ValueError):
        store.set_meta("version", "x")
    store.close()
    store = NoteCache.open(small)
    assert store.get_meta("sync.inputs") == "abc" and store.get_meta("version") is None
    store.close()


def test_unreadable_notes_are_not_stored(small: Path) -> None:
    store = NoteCache.open(small)
    from vaultkit.model import Note

    store.put(Note(path="gone.md"))
    store.close()
    assert store.stats["written"] == 0


def test_cache_folder_is_ignored_by_git_and_not_part_of_the_vault(small: Path) -> None:
    vault = Vault.load(small, cache=True)
    assert (small / ".vaultkit" / ".gitignore").read_text(encoding="utf-8").strip().endswith("*")
    assert not any(f.startswith(".vaultkit") for f in vault.files)


def test_clear_removes_the_cache(small: Path) -> None:
    Vault.load(small, cache=True)
    assert cache_mod.clear(small) is True
    assert not cache_path(small).exists()
    assert cache_mod.clear(small) is False


def test_copied_vault_reuses_nothing_stale(small: Path, tmp_path: Path) -> None:
    Vault.load(small, cache=True)
    copy = tmp_path / "copy"
    shutil.copytree(small, copy)  # copytree keeps mtimes (copy2) and the cache
    (copy / "A.md").write_text("---\ntags: [z]\n---\n", encoding="utf-8")
    assert Vault.load(copy, cache=True).notes["A.md"].tags == ["z"]


# -- whole-vault stamp ----------------------------------------------------------------------


def test_vault_stamp_changes_with_any_vault_file_but_not_hidden_ones(small: Path) -> None:
    from vaultkit.cache import vault_stamp

    first = vault_stamp(small).key
    assert first is not None and first == vault_stamp(small).key
    assert first.startswith("3:")
    (small / ".obsidian").mkdir()
    (small / ".obsidian" / "workspace.json").write_text("{}", encoding="utf-8")
    Vault.load(small, cache=True)  # writes .vaultkit/
    assert vault_stamp(small).key == first
    assert vault_stamp(small, extra="--force").key != first
    (small / "pic.png").write_bytes(b"png")  # attachments count too (links resolve to them)
    os.utime(small / "pic.png", ns=(OLD, OLD))
    second = vault_stamp(small).key
    assert second not in (None, first)
    os.utime(small / "B.md", ns=(OLD + 7, OLD + 7))
    assert vault_stamp(small).key != second
    (small / "pic.png").unlink()
    os.utime(small / "B.md", ns=(OLD, OLD))
    # the mtime is back, but the ctime moved: an edit that restores the mtime (touch -r, sed + touch) is seen
    assert vault_stamp(small).key not in (None, first)
    again = vault_stamp(small).key
    assert vault_stamp(small).key == again


def test_vault_stamp_sees_an_edit_that_keeps_size_and_mtime(small: Path) -> None:
    from vaultkit.cache import vault_stamp

    before = vault_stamp(small).key
    note = small / "B.md"
    st = note.stat()
    data = note.read_bytes()
    note.write_bytes(data.replace(b"Foo", b"Fox"))  # same size
    os.utime(note, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert note.stat().st_size == st.st_size and note.stat().st_mtime_ns == st.st_mtime_ns
    assert vault_stamp(small).key not in (None, before)


def test_vault_stamp_splits_inputs_and_outputs(small: Path) -> None:
    from vaultkit.cache import vault_stamp

    (small / "_vaultkit").mkdir()
    (small / "_vaultkit" / "Index.md").write_text("generated", encoding="utf-8")  # fresh, but ours
    before = vault_stamp(small, output="_vaultkit")
    assert before.inputs is not None and before.key is not None
    assert before.inputs.startswith("3:") and before.outputs.startswith("1:")
    (small / "_vaultkit" / "Index.md").write_text("generated again", encoding="utf-8")
    after = vault_stamp(small, output="_vaultkit")
    assert after.inputs == before.inputs and after.outputs != before.outputs
    (small / "A.md").write_text("edited while syncing", encoding="utf-8")
    assert vault_stamp(small, output="_vaultkit").inputs is None  # fresh input: not trusted
    assert vault_stamp(small).key is None  # without an output folder every file is an input


def test_vault_stamp_lists_files_by_side_of_a_nested_output_folder(small: Path) -> None:
    from vaultkit.cache import vault_stamp

    for rel in ("gen/out/T/x.md", "gen/out2/y.md", "gen/z.md"):
        (small / rel).parent.mkdir(parents=True, exist_ok=True)
        (small / rel).write_text("x", encoding="utf-8")
    stamp = vault_stamp(small, output="gen/out/")
    assert sorted(stamp.output_files) == ["gen/out/T/x.md"]
    assert {"gen/out2/y.md", "gen/z.md", "A.md"} <= set(stamp.files)
    st = (small / "gen/z.md").stat()
    assert stamp.files["gen/z.md"] == (st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino)
    again = vault_stamp(small, output="gen/out")
    assert (again.inputs, again.outputs) == (stamp.inputs, stamp.outputs)


def test_vault_stamp_refuses_fresh_files(small: Path) -> None:
    from vaultkit.cache import RACY_WINDOW_NS, vault_stamp

    assert vault_stamp(small, now_ns=OLD + RACY_WINDOW_NS // 2).key is None
    assert vault_stamp(small, now_ns=OLD + RACY_WINDOW_NS * 2).key is not None


@pytest.mark.parametrize("per_query", [1, 2, 900])
def test_get_many_finds_what_get_finds_in_every_batch_size(eugene_copy: Path, monkeypatch, per_query: int) -> None:
    # one query per batch of rows: hits, misses (a changed file, a missing file, a partial note where a
    # whole one is wanted) and the order come out as note-by-note get() gives them
    Vault.load(eugene_copy, cache=True)
    _files, paths = discover(eugene_copy)
    rels = sorted(paths)[:12]
    changed, gone = rels[3], rels[7]
    data = paths[changed].read_bytes()
    paths[changed].write_bytes(data + b"\nmore\n")
    os.utime(paths[changed], ns=(OLD + 7, OLD + 7))
    wanted = [(rel, paths[rel] if rel != gone else eugene_copy / "nowhere.md", False) for rel in rels]
    monkeypatch.setattr(cache_mod, "_ROWS_PER_QUERY", per_query)
    store = NoteCache.open(eugene_copy)
    try:
        one_by_one = {rel: store.get(rel, path, partial_ok=ok) for rel, path, ok in wanted}
        store.stats.update(hits=0, misses=0)
        many = store.get_many(wanted)
        assert store.stats["hits"] == len(many) == 10 and store.stats["misses"] == 2
    finally:
        store.close()
    assert list(many) == [rel for rel in rels if rel not in (changed, gone)]
    assert {rel: n for rel, n in one_by_one.items() if n is not None} == many
    assert all(many[rel].text for rel in many)  # the text read again from the file, as get() does


def test_get_many_keeps_the_hits_before_the_cache_broke(small: Path, monkeypatch) -> None:
    Vault.load(small, cache=True)
    _files, paths = discover(small)
    monkeypatch.setattr(cache_mod, "_ROWS_PER_QUERY", 1)
    store = NoteCache.open(small)
    calls = [0]
    real = store._db.execute

    class Failing:  # sqlite3.Connection's execute cannot be replaced on the object itself
        def execute(self, sql, params=()):
            if sql.startswith("SELECT rowid, data"):
                calls[0] += 1
                if calls[0] == 2:
                    raise sqlite3.DatabaseError("database disk image is malformed")
            return real(sql, params)

        def close(self):
            pass

    store._db = Failing()
    found = store.get_many([(rel, paths[rel], False) for rel in sorted(paths)])
    assert list(found) == sorted(paths)[:1] and not store.enabled and "rebuilt" in (store.notice or "")
    store.close()


def test_an_edit_that_keeps_the_size_and_puts_the_mtime_back_is_a_miss(small: Path) -> None:
    """As `touch -r` after an edit (or a tool restoring times): the ctime and inode tell it apart."""
    _age(small)
    assert Vault.load(small, cache=True).notes["B.md"].links[0].target == "A"
    assert _stats(small)["hits"] == 3
    note = small / "B.md"
    text = note.read_text(encoding="utf-8")
    note.write_text(text.replace("[[A]]", "[[C]]"), encoding="utf-8")  # same size
    os.utime(note, ns=(OLD, OLD))
    cached = Vault.load(small, cache=True)
    assert cached.notes["B.md"].links[0].target == "C"
    assert _model(cached) == _model(Vault.load(small))


def test_a_note_changed_between_reading_and_storing_is_not_stored(small: Path) -> None:
    store = NoteCache.open(small)
    store.put(parse_note("A.md", b"what it was", mtime_ns=OLD))  # the file has another size and mtime now
    store.close()
    assert store.stats["written"] == 0


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes are POSIX")
def test_a_cached_note_replaced_by_a_named_pipe_is_a_miss_not_a_hang(tmp_path) -> None:
    """(helper's report, stop 20: lint hung in the cache's check of a note written less than 2 s before)"""
    from vaultkit.cache import _FileText, _read_same

    os.mkfifo(tmp_path / "X.md")
    assert _read_same(tmp_path / "X.md", 0, 0) is None
    assert _FileText(tmp_path / "X.md").load() == "" and _FileText(tmp_path / "X.md").load_parsed("ab") is None


def test_put_writes_in_batches_before_close(small: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Rows are stored as they come, a batch at a time (a cold load does not hold every encoded row
    until the end); what close() writes and drops is the same as before."""
    monkeypatch.setattr(cache_mod, "FLUSH_NOTES", 2)
    _age(small)
    store = NoteCache.open(small)
    paths = ["A.md", "B.md", "sub/C.md"]
    for i, rel in enumerate(paths):
        data = (small / rel).read_bytes()
        store.put(parse_note(rel, data, mtime_ns=OLD), small / rel)
        stored = sqlite3.connect(cache_path(small)).execute("SELECT count(*) FROM notes").fetchone()[0]
        assert stored == (2 if i >= 1 else 0)  # (the first two written once two were held)
    store.close(keep=set(paths))
    assert store.stats["written"] == 3
    vault = Vault.load(small, cache=True)
    assert _stats(small)["hits"] == 3 and sorted(vault.notes) == sorted(paths)


def test_a_locked_cache_is_waited_for_once_per_run(small: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """With rows written in batches, a database another process keeps locked costs one wait, not one per
    batch, and leaves the notice; the batches after the wait are tried without waiting, and written once
    the lock is gone."""
    monkeypatch.setattr(cache_mod, "FLUSH_NOTES", 1)
    _age(small)
    NoteCache.open(small).close()  # (an empty cache, for another process to lock)
    other = sqlite3.connect(cache_path(small), isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    waits = []
    store = NoteCache.open(small, timeout=0.05)
    real_write = NoteCache._write
    monkeypatch.setattr(NoteCache, "_write", lambda self, gone=(): waits.append(
        self._db.execute("PRAGMA busy_timeout").fetchone()[0]) or real_write(self, gone))
    try:
        for rel in ["A.md", "B.md"]:
            store.put(parse_note(rel, (small / rel).read_bytes(), mtime_ns=OLD), small / rel)
    finally:
        other.execute("ROLLBACK")
        other.close()
    store.put(parse_note("sub/C.md", (small / "sub/C.md").read_bytes(), mtime_ns=OLD), small / "sub/C.md")
    store.close(keep={"A.md", "B.md", "sub/C.md"})
    assert store.notice is not None and "not updated" in store.notice
    assert waits[0] == 50 and set(waits[1:]) == {0}  # (one wait of the timeout, then none)
    assert store.stats["written"] == 1  # (C, after the lock was released; A and B are parsed next time)
    assert _stats(small)["hits"] == 1


def test_a_lock_waited_for_in_vain_is_not_waited_for_again_by_the_other_stores_of_the_run(small: Path) -> None:
    """A sync writes the cache through several stores (notes, memos, the no-op stamp); with the database
    locked by another process, the first write waits ``timeout`` and the later ones (any store of the same
    file) try once without waiting; once the lock is gone they write again."""
    _age(small)
    NoteCache.open(small).close()
    other = sqlite3.connect(cache_path(small), isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        first = NoteCache.open(small, timeout=2.0)
        start = time.monotonic()
        first.put(parse_note("A.md", (small / "A.md").read_bytes(), mtime_ns=OLD), small / "A.md")
        first.close(keep={"A.md", "B.md", "sub/C.md"})
        waited = time.monotonic() - start
        assert first.notice is not None and "locked" in first.notice and waited >= 1.5
        later = NoteCache.open(small, timeout=2.0)
        assert later._db.execute("PRAGMA busy_timeout").fetchone()[0] == 0
        start = time.monotonic()
        later.put_memo("kind", [1, 2])
        later.set_meta("key", "value")
        later.close(keep=set())
        assert time.monotonic() - start < 1.5 and later.notice is not None and "locked" in later.notice
    finally:
        other.execute("ROLLBACK")
        other.close()
    free = NoteCache.open(small, timeout=2.0)  # (lock gone: tried without waiting, and written)
    free.set_meta("key", "value")
    free.close()
    again = NoteCache.open(small, timeout=2.0)
    assert again.get_meta("key") == "value" and again.notice is None
    assert again._db.execute("PRAGMA busy_timeout").fetchone()[0] == 2000  # (waits again after a write)
    again.close()


def test_a_note_changed_during_the_run_with_its_mtime_set_back_is_not_reused(small: Path) -> None:
    """An edit made after a note was read, keeping its size and setting its mtime back (as `cp -p` or
    `rsync -t` do), shows only in the file's ctime: the row is stored to be confirmed by hash, and the
    next load parses the note again instead of reusing the stale parse."""
    path = small / "A.md"
    data = path.read_bytes()
    store = NoteCache.open(small)
    parsed = parse_note("A.md", data, mtime_ns=OLD)
    changed = data.replace(b"[[B#Top]]", b"[[Z#Top]]")
    assert len(changed) == len(data)
    path.write_bytes(changed)
    os.utime(path, ns=(OLD, OLD))  # (same size, same mtime: only the ctime moved)
    store.put(parsed, path)
    store.close(keep={"A.md", "B.md", "sub/C.md"})
    vault = Vault.load(small, cache=True)
    assert "Z" in [link.target for link in vault.notes["A.md"].links]


def test_a_cache_this_user_may_not_write_is_left_alone_and_says_why(tmp_path: Path, monkeypatch) -> None:
    """Another user's vault: SQLite's WAL needs write access even to read, so the cache is not used; the
    notice says so, not only SQLite's words (helper's report: they read as if graph tried to write it)."""
    (tmp_path / "a.md").write_text("x", encoding="utf-8")
    store = NoteCache.open(tmp_path)
    store.close()
    before = cache_path(tmp_path).read_bytes()

    def refused(self) -> None:
        exc = sqlite3.OperationalError("attempt to write a readonly database")
        exc.sqlite_errorcode = sqlite3.SQLITE_READONLY
        raise exc

    monkeypatch.setattr(NoteCache, "_open", refused)
    store = NoteCache.open(tmp_path)
    assert "cannot be written here (attempt to write a readonly database; SQLite's WAL needs it even to read): " \
           "every note is parsed again" in store.notice
    store.close()
    assert cache_path(tmp_path).read_bytes() == before
