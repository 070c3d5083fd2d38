"""MentionMap (a technique's mentions kept as rows), shared key strings, and the paused collector."""

from __future__ import annotations

import gc
import shutil
import sys
from pathlib import Path

import pytest

from vaultkit.techniques import Mention, MentionMap, Technique, fill_mentions, mention_row

from .conftest import EUGENE, need


def _m(note: str, count: int = 1, line: int = 3) -> Mention:
    return Mention(note, "k", line, count, "name", "K")


def test_mention_map_reads_and_writes_like_a_dict_of_mentions() -> None:
    plain = {"b.md": _m("b.md", 2), "a.md": _m("a.md", 1, 7)}
    m = MentionMap(plain)
    assert list(m) == ["b.md", "a.md"] and len(m) == 2 and "a.md" in m and "c.md" not in m
    assert m["a.md"] == plain["a.md"] and m["a.md"] is not plain["a.md"]  # a copy made on reading
    assert dict(m.items()) == plain and m == MentionMap(plain)
    assert m.rows["b.md"] == mention_row(plain["b.md"]) == ("k", 3, 2, "name", "K")
    assert m.keys() & {"a.md", "z.md"} == {"a.md"} and m.count("b.md") == 2
    m["c.md"] = _m("c.md", 5)
    del m["b.md"]
    assert list(m) == ["a.md", "c.md"] and m.ranked_notes() == ["c.md", "a.md"]
    with pytest.raises(KeyError):
        m["b.md"]
    with pytest.raises(KeyError):
        m.count("b.md")


def test_technique_takes_a_plain_dict_of_mentions_over() -> None:
    t = Technique("k", "K", mentions={"a.md": _m("a.md")})
    assert isinstance(t.mentions, MentionMap) and t.mentions["a.md"] == _m("a.md")
    assert Technique("k", "K").mentions == MentionMap()


def test_ranked_notes_most_mentions_first_then_by_path() -> None:
    m = MentionMap({p: _m(p, c) for p, c in [("d", 1), ("b", 3), ("c", 3), ("a", 1), ("e", 2)]})
    assert m.ranked_notes() == ["b", "c", "e", "a", "d"]
    assert [x.note for x in Technique("k", "K", mentions=m).ranked_mentions()] == m.ranked_notes()


def test_fill_mentions_keeps_the_row_objects() -> None:
    rows = [("a.md", [("k", 1, 2, "name", "K"), ("other", 1, 1, "alias", "O")]), ("b.md", [("k", 4, 1, "tier", "T")])]
    t = Technique("k", "K")
    fill_mentions([t], rows)
    assert list(t.mentions) == ["a.md", "b.md"]
    assert t.mentions.rows["a.md"] is rows[0][1][0] and t.mentions.rows["b.md"] is rows[1][1][0]


@pytest.mark.parametrize("start", ["fork", "spawn"])
def test_rows_from_the_pool_share_the_techniques_key_strings(tmp_path: Path, monkeypatch, start: str) -> None:
    # marshal keeps interned strings interned: each key arrives as the one str the techniques hold
    # (with "spawn" the names reach the workers pickled, which forgets interning)
    import multiprocessing

    import vaultkit.pool as pool
    from vaultkit.pool import mentions_in_pool
    from vaultkit.techniques import _skip_lines, build_techniques, mention_targets, unpack_mention_rows
    from vaultkit.vault import Vault

    if start not in multiprocessing.get_all_start_methods():
        pytest.skip(f"no {start} here")
    monkeypatch.setattr(pool, "_context", lambda: multiprocessing.get_context(start))
    root = tmp_path / "v"
    shutil.copytree(need(EUGENE), root, ignore=shutil.ignore_patterns(".vaultkit"))
    vault = Vault.load(root)
    techniques = build_techniques(vault, mentions=False)
    keys = {t.key: t.key for t in techniques}
    targets, own = mention_targets(techniques)
    notes = vault.user_notes()
    pooled = mentions_in_pool([(n.path, root / n.path, n.sha256, _skip_lines(n)) for n in notes], targets, own,
                              workers=2)
    assert pooled is not None
    for rows in ([row for found in pooled if found for row in found[0]],  # as they travelled
                 [row for found in pooled if found for row in unpack_mention_rows(found[1])]):  # as packed
        assert len(rows) > 100 and all(row[0] is keys[row[0]] for row in rows)
        assert all(row[4] is sys.intern(row[4]) for row in rows)  # the names as written, once each


@pytest.mark.parametrize("enabled", [True, False])
def test_collector_paused_restores_the_collector(enabled: bool) -> None:
    from vaultkit.commands.common import collector_paused

    was = gc.isenabled()
    try:
        gc.enable() if enabled else gc.disable()
        with collector_paused():
            assert not gc.isenabled()
        assert gc.isenabled() is enabled
        with pytest.raises(RuntimeError), collector_paused():
            raise RuntimeError("a failed sync")
        assert gc.isenabled() is enabled
    finally:
        gc.enable() if was else gc.disable()


def test_collector_paused_can_freeze_what_lives_on() -> None:
    """With ``freeze`` the objects made in the pause are out of the collector's reach when it is back on,
    so that turning it on does not make it walk them all; a failed body freezes nothing."""
    from vaultkit.commands.common import collector_paused

    gc.unfreeze()
    try:
        with pytest.raises(RuntimeError), collector_paused(freeze=True):
            raise RuntimeError("a failed load")
        assert gc.get_freeze_count() == 0
        with collector_paused(freeze=True):
            kept = [[i] for i in range(1000)]
        assert gc.get_freeze_count() >= len(kept) and gc.isenabled()
    finally:
        gc.unfreeze()


@pytest.mark.parametrize("how_many", [1, 5, 32, 33, None])
def test_fill_mentions_from_packed_rows_equals_filling_from_rows(how_many: "int | None") -> None:
    # up to _PROBED_KEYS techniques the packed rows are searched for the keys before being unpacked;
    # the result must be what filling from the unpacked rows gives, for few techniques and for all
    from vaultkit.techniques import build_techniques, pack_mention_rows, vault_mention_rows
    from vaultkit.vault import Vault

    vault = Vault.load(need(EUGENE), cache=False)
    plain = build_techniques(vault, mentions=False)
    rows = vault_mention_rows(vault, plain)
    packed = [(path, pack_mention_rows(found)[0]) for path, found in rows]  # as a later run reads the memo
    # the techniques named most often, and the least: both sides of the probe
    counted = sorted(plain, key=lambda t: sum(1 for _p, rs in rows for r in rs if r[0] == t.key))
    chosen = counted if how_many is None else counted[-how_many // 2 - 1:] + counted[:how_many // 2]
    chosen = chosen if how_many is None else chosen[:how_many]
    a, b = build_techniques(vault, mentions=False), build_techniques(vault, mentions=False)
    keys = {t.key for t in chosen}
    fill_mentions([t for t in a if t.key in keys], rows)
    fill_mentions([t for t in b if t.key in keys], packed)
    assert sum(len(t.mentions) for t in a) > 0
    assert [(t.key, dict(t.mentions.rows)) for t in a] == [(t.key, dict(t.mentions.rows)) for t in b]


def test_a_mentions_memo_entry_of_another_shape_is_scanned_again(tmp_path: Path, monkeypatch) -> None:
    import vaultkit.techniques as techniques_module
    from vaultkit.techniques import MENTIONS_MEMO, build_techniques, vault_mention_rows
    from vaultkit.vault import Vault

    root = tmp_path / "v"
    shutil.copytree(need(EUGENE), root, ignore=shutil.ignore_patterns(".vaultkit"))
    first = Vault.load(root, cache=True)
    expected = vault_mention_rows(first, build_techniques(first, mentions=False))
    names, memo = first.memo_updates[MENTIONS_MEMO]
    path = next(p for p, rows in expected if rows)
    memo[path] = memo[path][:3]  # (sha, own, rows): the layout before the digest joined it
    first.save_memos()
    scanned: list[str] = []
    real = techniques_module.mention_rows_of

    def spy(targets, own, notes, **kw):
        def seen():
            for note, text in notes:
                scanned.append(note.path)
                yield note, text
        return real(targets, own, seen(), **kw)

    monkeypatch.setattr(techniques_module, "mention_rows_of", spy)
    again = Vault.load(root, cache=True)
    assert vault_mention_rows(again, build_techniques(again, mentions=False)) == expected
    assert scanned == [path]  # the others' rows were reused
    assert len(again.memo_updates[MENTIONS_MEMO][1][path]) == 4
