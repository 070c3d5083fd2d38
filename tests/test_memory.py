"""Note.text is stored compactly (UTF-8 bytes when smaller) but reads back exactly, on every path:
the property, pickling, copies, the cache codec, the cache itself and the process pool."""

from __future__ import annotations

import copy
import dataclasses
import os
import pickle
import sys
from pathlib import Path

import pytest

from vaultkit.cache import NoteCache, decode_note, encode_note
from vaultkit.model import Link, Note, TagUse, _packed_text, _share_strings
from vaultkit.parse import parse_note
from vaultkit.pool import parse_files
from vaultkit.vault import Vault

OLD = 1_600_000_000_000_000_000  # an mtime far outside the cache's racy window

TEXTS = {
    "emoji": "---\nstatus: 🟢\n---\n# Costs 💰\nSee [[B]] #tag 🟢💰⚠️\n",
    "ascii": "plain [[B]] text\n",
    "empty": "",
    "latin": "café " * 200 + "\n",  # 1 byte per character as a str: kept as the str
    "cjk": "日本語のノート " * 100 + "\n",  # 2 bytes per character as a str, 3 in UTF-8: kept as the str
    "surrogate": "lone \udcff surrogate 🟢\n",  # not from a file, but must not be lost either
}

# File bytes and the text Obsidian reads from them (BOM dropped, newlines normalised).
FILES = {
    "Emoji.md": ("# Costs 💰\n[[Plain]] 🟢\n".encode(), "# Costs 💰\n[[Plain]] 🟢\n"),
    "Crlf.md": ("---\r\ntags: [a]\r\n---\r\nline 🟢\r\nold mac\rend\r\n".encode(),
                "---\ntags: [a]\n---\nline 🟢\nold mac\nend\n"),
    "Bom.md": (b"\xef\xbb\xbf" + "# BOM 💰\r\n".encode(), "# BOM 💰\n"),
    "Empty.md": (b"", ""),
    "Plain.md": (b"ascii only [[Emoji]]\n", "ascii only [[Emoji]]\n"),
    "Legacy.md": ("caf\u00e9 \u2014 cp1252\n".encode("cp1252"), None),  # not UTF-8: text kept in the cache row
}


@pytest.mark.parametrize("name", sorted(TEXTS))
def test_text_property_round_trips(name: str) -> None:
    text = TEXTS[name]
    note = Note("A.md", text=text)
    assert note.text == text and type(note.text) is str
    note.text = text + "more"
    assert note.text == text + "more"
    assert Note("A.md", text=text) == Note("A.md", text=text) != Note("A.md", text=text + "x")


def test_emoji_text_is_stored_as_smaller_utf8_bytes_and_ascii_as_str() -> None:
    emoji = Note("A.md", text=TEXTS["emoji"] * 50)
    assert type(_packed_text(emoji)) is bytes
    assert sys.getsizeof(_packed_text(emoji)) < sys.getsizeof(emoji.text) / 2
    assert type(_packed_text(Note("A.md", text=TEXTS["ascii"]))) is str
    assert type(_packed_text(Note("A.md", text=TEXTS["cjk"]))) is str


def test_text_default_repr_and_type_checks() -> None:
    assert Note("A.md").text == ""
    assert "text" not in repr(Note("A.md", text="🟢"))
    with pytest.raises(TypeError):
        Note("A.md", text=b"bytes")  # type: ignore[arg-type]


@pytest.mark.parametrize("name", sorted(TEXTS))
def test_pickle_copy_and_replace_keep_the_text(name: str) -> None:
    text = TEXTS[name]
    note = Note("A.md", text=text, links=[Link("B", "wikilink", 1)], size=3)
    back = pickle.loads(pickle.dumps(note, protocol=pickle.HIGHEST_PROTOCOL))
    assert back == note and back.text == text and back.links == note.links
    assert type(_packed_text(back)) is type(_packed_text(note))  # travels packed (bytes for emoji)
    assert copy.copy(note).text == text and copy.deepcopy(note) == note
    assert dataclasses.replace(note, path="B.md").text == text
    assert dataclasses.asdict(note)["text"] == text


def test_pickled_emoji_note_carries_bytes_not_str() -> None:
    note = Note("A.md", text=TEXTS["emoji"])
    assert type(note.__getstate__()["text"]) is bytes


@pytest.mark.parametrize("name", sorted(FILES))
def test_codec_round_trips_the_text(name: str) -> None:
    data, text = FILES[name]
    note = parse_note(name, data)
    if text is not None:
        assert note.text == text
    back = decode_note(encode_note(note, keep_text=True))  # what the process pool ships
    assert back == note and back.text == note.text
    stored = decode_note(encode_note(note))  # what the cache stores: UTF-8 text left out
    if note.encoding == "utf-8" and note.text:
        assert stored.text is None
    else:
        assert stored.text == note.text


def _vault(root: Path) -> Path:
    for name, (data, _text) in FILES.items():
        (root / name).write_bytes(data)
        os.utime(root / name, ns=(OLD, OLD))
    return root


def test_cache_hits_give_the_same_text(tmp_path: Path) -> None:
    root = _vault(tmp_path)
    parsed = Vault.load(root)
    Vault.load(root, cache=True)
    store = NoteCache.open(root)
    try:
        for name, (_data, text) in FILES.items():
            hit = store.get(name, root / name)
            assert hit is not None, name
            assert hit.text == parsed.notes[name].text
            if text is not None:
                assert hit.text == text
            assert type(_packed_text(hit)) is type(_packed_text(parsed.notes[name]))
    finally:
        store.close()
    assert store.stats["hits"] == len(FILES)
    warm = Vault.load(root, cache=True)
    assert {p: n.text for p, n in warm.notes.items()} == {p: n.text for p, n in parsed.notes.items()}
    assert warm.notes == parsed.notes


def test_cache_treats_a_file_that_is_no_longer_utf8_as_a_miss(tmp_path: Path) -> None:
    root = _vault(tmp_path)
    Vault.load(root, cache=True)
    path = root / "Emoji.md"
    data = bytearray(path.read_bytes())
    data[2] = 0xFF  # same size, same mtime, invalid UTF-8
    path.write_bytes(bytes(data))
    os.utime(path, ns=(OLD, OLD))
    store = NoteCache.open(root)
    try:
        assert store.get("Emoji.md", path) is None
    finally:
        store.close()


def test_pool_ships_the_text_exactly(tmp_path: Path) -> None:
    root = _vault(tmp_path)
    items = [(name, root / name) for name in sorted(FILES)]
    pooled = parse_files(items, workers=2)
    local = parse_files(items, workers=1)
    assert pooled == local
    assert [n.text for n in pooled] == [n.text for n in local]


def test_shared_strings_change_no_value() -> None:
    note = parse_note("A.md", "---\ntags: [a, b]\ncategory: Maths\n---\n# H\n[[B#H]] #c 🟢\n| x | y |\n|---|---|\n| 1 | 2 |\n".encode())
    before = copy.deepcopy(note)
    _share_strings(note)
    assert note == before and note.to_dict() == before.to_dict()
    assert list(note.frontmatter) == ["tags", "category"]
    assert note.links[0].target is sys.intern("B")
    assert note.tag_uses and all(isinstance(u, TagUse) for u in note.tag_uses)


def test_repeated_names_are_shared_whichever_way_notes_are_loaded(tmp_path: Path) -> None:
    for name in ("A.md", "B.md"):
        (tmp_path / name).write_text("---\ncategory: Maths 🟢\n---\n[[Target Note]] #shared-tag\n", encoding="utf-8")
        os.utime(tmp_path / name, ns=(OLD, OLD))
    items = [(name, tmp_path / name) for name in ("A.md", "B.md")]
    for notes in (parse_files(items, workers=1), parse_files(items, workers=2),
                  list(Vault.load(tmp_path, cache=True).notes.values()),
                  list(Vault.load(tmp_path, cache=True).notes.values())):  # parsed, pooled, cached, cache hits
        a, b = notes
        assert a.links[0].target is b.links[0].target
        assert a.tag_uses[0].name is b.tag_uses[0].name
        assert next(iter(a.frontmatter)) is next(iter(b.frontmatter))
        assert a.frontmatter["category"] is b.frontmatter["category"]

