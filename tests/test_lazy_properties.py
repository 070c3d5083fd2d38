"""Long property values left unread by a sync (``vaultkit.model.LazyProperties``).

A vault of long notes keeps most of its bytes in prose properties (``Receptor``,
``FeedbackLoop``, …) that a sync never reads: the parser takes what it needs of
them (``Note.feedback``) and the rest of the run reads short ones (``title``,
``category``, the ``vaultkit`` marker). Notes loaded for a sync keep the short
values and the long ones' names; the whole mapping is read again from the file
when asked for, and is then exactly what the parser gave.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from click.testing import CliRunner

from vaultkit.cache import FileProperties, LONG_PROPERTY, cache_path, decode_note, encode_note
from vaultkit.cli import cli
from vaultkit.model import LazyProperties, Note, _FM_SLOT
from vaultkit.parse import parse_note

from .conftest import EUGENE, need

_MISSING = object()


def _notes(root: Path) -> list[tuple[Path, str]]:
    return sorted((p, p.relative_to(root).as_posix()) for p in root.rglob("*.md") if ".vaultkit" not in p.parts)


def test_a_lazy_note_answers_every_property_as_the_parsed_one_and_reads_the_file_only_for_long_ones() -> None:
    loads = 0
    lazy_notes = 0
    for path, rel in _notes(need(EUGENE)):
        parsed = parse_note(rel, path.read_bytes())
        lazy = decode_note(encode_note(parsed), path)
        fm = parsed.frontmatter
        if not isinstance(fm, dict):
            assert lazy.frontmatter == fm
            continue
        slot = _FM_SLOT.__get__(lazy, Note)
        if slot.__class__ is LazyProperties:
            lazy_notes += 1
            assert slot.long and all(k not in slot.head for k in slot.long)
            assert all(isinstance(fm[k], str) and len(fm[k]) > LONG_PROPERTY or not isinstance(fm[k], str)
                       for k in slot.long)
            for key, value in fm.items():  # short ones from the head, without the file
                if key not in slot.long:
                    assert lazy.get_property(key) == value and lazy.has_property(key)
            assert lazy.title == parsed.title and lazy.get_property("no such key", _MISSING) is _MISSING
            assert not lazy.has_property("no such key")
            assert _FM_SLOT.__get__(lazy, Note).__class__ is LazyProperties  # still nothing read
            key = slot.long[0]
            assert lazy.get_property(key) == fm[key]  # a long one: the file read, the whole mapping kept
            loads += 1
            assert _FM_SLOT.__get__(lazy, Note).__class__ is dict
        assert list(lazy.frontmatter.items()) == list(fm.items())  # same values, same order
        lazy.text = parsed.text
        assert lazy == parsed
    assert lazy_notes > 100 and loads == lazy_notes  # (most notes of the user's vault have long prose)


def test_a_file_changed_or_gone_since_gives_its_properties_now_or_the_short_ones_kept(tmp_path: Path) -> None:
    """As a lazily read text: what the file holds when asked for (the next run parses it again); never an
    error in the middle of a run."""
    path = tmp_path / "A.md"
    path.write_text("---\ntitle: A\nReceptor: " + "prose " * 100 + "\n---\nbody\n", encoding="utf-8")
    blob = encode_note(parse_note("A.md", path.read_bytes()))
    changed, gone = decode_note(blob, path), decode_note(blob, path)
    assert changed.title == "A" and changed.has_property("Receptor")
    path.write_text("---\ntitle: B\n---\n", encoding="utf-8")
    assert changed.frontmatter == {"title": "B"}
    path.unlink()
    assert gone.frontmatter == {"title": "A"}
    assert FileProperties(path, "A.md", {"title": "A"}).load() == {"title": "A"}


def test_a_sync_reads_no_long_property_and_the_cache_keeps_them_apart(eugene_copy: Path, tmp_path: Path,
                                                                      monkeypatch) -> None:
    """Cold sync, sync after a note changed, warm sync: no long value read again (worker processes
    included: they append to a file); lint, which reads every property, gets them from the cache."""
    from vaultkit import cache

    log = tmp_path / "loads.log"
    real = cache.FileProperties.load

    def counting(self):
        with open(log, "a", encoding="utf-8") as f:
            f.write(f"{os.getpid()} {self.rel}\n")
        return real(self)

    monkeypatch.setattr(cache.FileProperties, "load", counting)
    monkeypatch.setenv("VAULTKIT_WORKERS", "2")
    runner = CliRunner()
    assert runner.invoke(cli, ["sync", "-q", str(eugene_copy)]).exit_code == 0
    with sqlite3.connect(cache_path(eugene_copy)) as db:
        split, whole = db.execute("SELECT count(long), count(*) - count(long) FROM notes").fetchone()
    assert split > 100 and whole > 0
    note = next(p for p, _rel in _notes(eugene_copy) if "Receptor" in p.read_text(encoding="utf-8"))
    note.write_text(note.read_text(encoding="utf-8") + "\nSee [[Another note]].\n", encoding="utf-8")
    assert runner.invoke(cli, ["sync", "-q", str(eugene_copy)]).exit_code == 0
    assert runner.invoke(cli, ["sync", "-q", str(eugene_copy)]).exit_code == 0
    assert not log.exists(), log.read_text(encoding="utf-8")[:2000]
    cached = runner.invoke(cli, ["lint", "--format", "json", str(eugene_copy)])
    fresh = runner.invoke(cli, ["lint", "--format", "json", "--no-cache", str(eugene_copy)])
    assert cached.output == fresh.output and '"VK' in cached.output
    assert not log.exists()


def test_the_frontmatter_read_alone_is_the_whole_parse_s(tmp_path: Path) -> None:
    """``FileProperties`` reads a file's frontmatter only (``parse_note(frontmatter_only=True)``): what it
    gives is what the whole parse gives, for every note of the user's sample vault and of the shared cases
    (broken, empty, non-mapping and marked frontmatter among them)."""
    from .conftest import CASES

    seen = 0
    for root in (need(EUGENE), need(CASES)):
        for path, rel in _notes(root):
            data = path.read_bytes()
            whole = parse_note(rel, data)
            alone = parse_note(rel, data, frontmatter_only=True)
            assert (alone.frontmatter, alone.frontmatter_error) == (whole.frontmatter, whole.frontmatter_error), rel
            assert alone.links == [] and alone.headings == []
            assert FileProperties(path, rel, {}).load() == whole.frontmatter
            seen += 1
    assert seen > 250


def test_show_reads_long_properties_from_the_cache_row_not_the_file(eugene_copy: Path, tmp_path: Path,
                                                                    monkeypatch) -> None:
    """``show --format json`` (notes loaded lazily) takes each note's long properties from the cache row it was
    loaded from: no file's YAML parsed again, the same output as without the cache."""
    from vaultkit import cache

    runner = CliRunner()
    assert runner.invoke(cli, ["sync", "-q", str(eugene_copy)]).exit_code == 0
    from_files = []
    real = cache.FileProperties.load
    monkeypatch.setattr(cache.FileProperties, "load", lambda self: from_files.append(self.rel) or real(self))
    cached = runner.invoke(cli, ["show", "--format", "json", str(eugene_copy)])
    assert cached.exit_code == 0 and '"Receptor"' in cached.output
    assert from_files == []
    fresh = runner.invoke(cli, ["show", "--format", "json", "--no-cache", str(eugene_copy)])
    assert cached.output == fresh.output


def test_cached_properties_fall_back_to_the_file_when_the_row_is_gone(tmp_path: Path) -> None:
    from vaultkit.cache import CachedProperties, _LongReader

    path = tmp_path / "A.md"
    path.write_text("---\ntitle: A\nReceptor: " + "prose " * 100 + "\n---\nbody\n", encoding="utf-8")
    note = parse_note("A.md", path.read_bytes())
    found = CachedProperties(_LongReader(tmp_path / "no-cache.sqlite"), path, note, {"title": "A"}).load()
    assert found == note.frontmatter  # (no cache file: the file's frontmatter)
    assert not (tmp_path / "no-cache.sqlite").exists()  # (and none made)


def test_cached_properties_follow_a_rebuilt_cache_and_hold_no_file_open_after_the_notes(eugene_copy: Path) -> None:
    """A reviewer's findings: one connection per cache file for the life of the process (3 descriptors per
    vault ever loaded) that kept reading a deleted cache."""
    import gc

    from vaultkit.model import LazyProperties
    from vaultkit.vault import Vault

    def fds() -> int:
        return len(os.listdir("/proc/self/fd"))

    assert CliRunner().invoke(cli, ["sync", "-q", str(eugene_copy)]).exit_code == 0
    before = fds()
    vault = Vault.load(eugene_copy, cache=True, lazy=True)
    lazy = [n for n in vault.notes.values() if _FM_SLOT.__get__(n, Note).__class__ is LazyProperties]
    first, second = lazy[0], lazy[1]
    assert "Receptor" in first.frontmatter or len(first.frontmatter) > 3  # (from the row)
    cache_file = cache_path(eugene_copy)
    for suffix in ("", "-wal", "-shm"):  # the cache goes (rebuilt by the next run): the file is read instead
        Path(f"{cache_file}{suffix}").unlink(missing_ok=True)
    whole = parse_note(second.path, (eugene_copy / second.path).read_bytes()).frontmatter
    assert second.frontmatter == whole
    del vault, lazy, first, second
    gc.collect()
    assert fds() <= before
