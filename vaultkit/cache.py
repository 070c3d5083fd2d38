"""Persistent cache of parsed notes in ``<vault>/.vaultkit/cache.sqlite``.

A note is taken from the cache when the file's size, modification and change
times (nanoseconds) and inode match the row stored for its path (as git's index
does: an edit that keeps the size and puts the mtime back still changes the
ctime); otherwise it is parsed again and the new result replaces the row. A
copied or restored vault is parsed again once. The cache is an optimisation only: it
never changes what :meth:`vaultkit.Vault.load` returns, and every failure
(a corrupt or foreign file, a read-only vault, a locked database) degrades to
parsing without it. Problems are reported as data in :attr:`NoteCache.notice`,
never printed.

Layout
------
``meta(key TEXT PRIMARY KEY, value TEXT)``
    ``version`` holds :func:`cache_version`; other keys are free for callers
    (see :meth:`NoteCache.get_meta`).
``notes(path TEXT PRIMARY KEY, size, mtime_ns, ctime_ns, inode, sha256, verify, data BLOB)``
    One row per note. ``data`` is the :class:`~vaultkit.model.Note` as parsed,
    before link resolution, encoded by :func:`encode_note`.

Versioning
----------
The version key combines the vaultkit version, :data:`PARSER_VERSION`, the
Python version (the ``marshal`` format), the field names of the model classes
and a hash of the parser's source files and of the notes table's definition, so a cache written by another
vaultkit, another Python or a parser under development is dropped and rebuilt
rather than trusted.

Racy files
----------
A file changed twice within the file system's timestamp granularity can keep
its size and mtime. Like git's "racily clean" index entries, a row whose mtime
is less than :data:`RACY_WINDOW_NS` older than the moment it was stored is
marked ``verify``; it is only reused after the file's SHA-256 matches. So is
a row of a file whose ctime is later than the moment the store was opened
(changed while the run read it, perhaps with its size kept and its mtime set
back, as ``cp -p`` or ``rsync -t`` do). Pass
``verify=True`` to :meth:`NoteCache.open` to confirm every hit that way.

Examples
--------
>>> import tempfile, pathlib
>>> root = pathlib.Path(tempfile.mkdtemp())
>>> _ = (root / "A.md").write_text("See [[B]]\\n")
>>> from vaultkit.vault import Vault
>>> len(Vault.load(root, cache=True).notes)
1
>>> store = NoteCache.open(root)
>>> store.get("A.md", root / "A.md").links[0].target
'B'
>>> store.close(keep={"A.md"})
>>> store.stats["hits"]
1
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import marshal
import operator
import os
import sqlite3
import stat
import sys
import time
from pathlib import Path
from typing import Any, Iterable

from . import __version__
from .model import BlockId, Diagnostic, Heading, LazyProperties, Link, Note, Table, TableRow, TagUse
from .model import _FM_SLOT, _pack_utf8, _packed_text, _set_packed_text, _set_text_loader, _text_loader

__all__ = [
    "NoteCache",
    "PARSER_VERSION",
    "CACHE_DIR",
    "CACHE_FILE",
    "RACY_WINDOW_NS",
    "cache_version",
    "cache_path",
    "encode_note",
    "decode_note",
    "note_facts",
    "vault_stamp",
    "VaultStamp",
    "code_version",
    "clear",
]

#: Bump when parsing changes what a :class:`~vaultkit.model.Note` holds for the same bytes.
PARSER_VERSION = 1

#: Folder (inside the vault) that holds vaultkit's private state; dot-folders are not vault files.
CACHE_DIR = ".vaultkit"

#: File name of the cache database inside :data:`CACHE_DIR`.
CACHE_FILE = "cache.sqlite"

#: Rows whose file mtime is this close to the moment they were stored are confirmed by hash.
RACY_WINDOW_NS = 2_000_000_000

#: Meta keys a sync that found every generated note as planned stores: the :attr:`VaultStamp.key`
#: of the vault then, the summary line it printed (see :func:`synced_as_is`), and its warnings about files
#: it could not read (one a line; empty when none), which a sync stopped early by the stamp prints again.
SYNC_STAMP_KEY = "sync.stamp"
SYNC_SUMMARY_KEY = "sync.summary"
SYNC_WARNINGS_KEY = "sync.warnings"

_NOTES_TABLE = """
CREATE TABLE IF NOT EXISTS notes (
    path TEXT PRIMARY KEY,
    size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    ctime_ns INTEGER NOT NULL,
    inode INTEGER NOT NULL,
    sha256 TEXT NOT NULL,
    verify INTEGER NOT NULL DEFAULT 0,
    data BLOB NOT NULL,
    long BLOB
)"""
# ``data`` holds a note's row (encode_note); of a split row (_SPLIT) only its first part: the whole
# properties that follow it are kept in ``long``, which a sync's reading of the rows does not fetch.
# Results derived from many notes (technique mentions, ...), one row per kind; see NoteCache.get_memo.
_MEMOS_TABLE = "CREATE TABLE IF NOT EXISTS memos (kind TEXT PRIMARY KEY, code TEXT NOT NULL, data BLOB NOT NULL)"
_SCHEMA = ("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);\n" + _NOTES_TABLE + ";\n"
           + _MEMOS_TABLE + ";")

# SQLite primary result codes after which the file is left alone (not treated as corrupt).
_TRANSIENT = {3, 5, 6, 8, 10, 13, 14, 23}  # PERM, BUSY, LOCKED, READONLY, IOERR, FULL, CANTOPEN, AUTH


#: Cache files that another process kept locked while this one waited to write: path → when (``time.monotonic()``).
#: For :data:`LOCK_MEMORY_S` after such a wait, every store of that file (a sync opens several: notes, memos,
#: the no-op stamp) tries its writes without waiting: one wait per run, not one per write.
_LOCKED_AT: dict[str, float] = {}
#: Seconds a vain wait for a cache file's write lock is remembered (see ``_LOCKED_AT``).
LOCK_MEMORY_S = 60.0


def _is_lock(exc: sqlite3.Error) -> bool:
    """Whether ``exc`` says another connection holds the lock (SQLITE_BUSY, SQLITE_LOCKED)."""
    return _errorcode(exc) in (5, 6)


def _locked_recently(path: Path) -> bool:
    when = _LOCKED_AT.get(str(path))
    return when is not None and time.monotonic() - when < LOCK_MEMORY_S


def _errorcode(exc: sqlite3.Error) -> int:
    code = getattr(exc, "sqlite_errorcode", None)
    if code is None:  # pragma: no cover - Python < 3.11
        text = str(exc).lower()
        return 5 if "locked" in text else 8 if "readonly" in text else 0
    return code & 0xFF

# Modules whose source decides what a parsed Note holds; their hash is part of the version key.
_PARSER_MODULES = ("model.py", "parse.py", "scan.py", "frontmatter.py", "codes.py", "feedback.py", "tiers.py")

# --------------------------------------------------------------------------------------------
# Codec: a Note as nested tuples of plain values, serialised with marshal (fast, C only).
# --------------------------------------------------------------------------------------------


def _names(cls: type) -> tuple[str, ...]:
    return tuple(f.name for f in dataclasses.fields(cls))


_NOTE_FIELDS = _names(Note)
_TABLE_FIELDS = _names(Table)
# Every field but ``text``, which is taken as the note stores it (UTF-8 bytes when that is
# smaller, see Note), so that neither the cache nor the process pool decodes it.
_get_note = operator.attrgetter(*(f for f in _NOTE_FIELDS if f != "text"))
_get_link = operator.attrgetter(*_names(Link))
_get_tag = operator.attrgetter(*_names(TagUse))
_get_heading = operator.attrgetter(*_names(Heading))
_get_block = operator.attrgetter(*_names(BlockId))
_get_row = operator.attrgetter(*_names(TableRow))
_get_diag = operator.attrgetter(*_names(Diagnostic))
_get_table = operator.attrgetter(*(f for f in _TABLE_FIELDS if f != "rows"))
_ROWS_AT = _TABLE_FIELDS.index("rows")
_AT = {name: i for i, name in enumerate(_NOTE_FIELDS)}
_I_LINKS, _I_TAGS, _I_HEADINGS = _AT["links"], _AT["tag_uses"], _AT["headings"]
_I_BLOCKS, _I_TABLES, _I_DIAGS = _AT["block_ids"], _AT["tables"], _AT["diagnostics"]
# ``Note.text`` (the decoded file) is not stored for UTF-8 notes: a hit reads the file again
# (as fast as loading it from the database, and the cache stays ~2.4x smaller).
_I_TEXT = _AT["text"]

_MARSHAL = b"M"
_PICKLE = b"P"
# A note with long property values: b"L", the length of the first part (4 bytes, little-endian), the
# record with only the short properties and the long ones' names in the frontmatter's place
# (``(head, long)``), then the whole frontmatter. The first part alone gives a note for a sync.
_SPLIT = b"L"
_I_FRONTMATTER = _AT["frontmatter"]
#: A property value longer than this (characters of a string; marshalled bytes of a list or mapping)
#: is left unread by a sync (see vaultkit.model.LazyProperties).
LONG_PROPERTY = 256


def _model_fingerprint() -> str:
    parts = [",".join(_names(c)) for c in (Note, Link, TagUse, Heading, BlockId, Table, TableRow, Diagnostic)]
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:16]


def _note_values(note: Note) -> list:
    """The note as a list of plain values in field order (records as tuples), its packed text included."""
    values = list(_get_note(note))
    values.insert(_I_TEXT, _packed_text(note))
    values[_I_LINKS] = [_get_link(x) for x in note.links]
    values[_I_TAGS] = [_get_tag(x) for x in note.tag_uses]
    values[_I_HEADINGS] = [_get_heading(x) for x in note.headings]
    values[_I_BLOCKS] = [_get_block(x) for x in note.block_ids]
    values[_I_TABLES] = [(_get_table(t), [_get_row(r) for r in t.rows]) for t in note.tables]
    values[_I_DIAGS] = [_get_diag(x) for x in note.diagnostics]
    return values


# What may differ between two versions of a note that give sync the same input.
_NOT_FACTS = tuple(_AT[name] for name in ("text", "size", "mtime_ns", "sha256", "facts"))


def note_facts(note: Note) -> str:
    """A hash of everything parsed from ``note`` but its prose: what :attr:`Note.facts` holds.

    It covers the whole parsed record (frontmatter, links, tags, headings,
    block ids, tables, diagnostics, regions, each with its line) except the
    text, size, mtime and file hash; the frontmatter as written (so that the
    line of a name in a ``FeedbackLoop`` cannot move unseen); and how many
    ``%% vaultkit:`` region markers the text holds. Call it on a freshly
    parsed note, before links are resolved.

    Parameters
    ----------
    note : Note
        A whole (not :attr:`~vaultkit.model.Note.partial`) note.

    Returns
    -------
    str
        32 hex digits.

    Examples
    --------
    >>> from vaultkit.parse import parse_note
    >>> a = parse_note("A.md", b"---\\ntags: [x]\\n---\\n# H\\nSome prose. [[B]]\\n")
    >>> b = parse_note("A.md", b"---\\ntags: [x]\\n---\\n# H\\nSome prose. [[B]] More.\\n")
    >>> c = parse_note("A.md", b"---\\ntags: [x]\\n---\\n# H\\nSome prose. [[C]]\\n")
    >>> note_facts(a) == note_facts(b) != note_facts(c)
    True
    """
    values = _note_values(note)
    packed = values[_I_TEXT]
    for i in _NOT_FACTS:
        values[i] = None
    try:
        h = hashlib.sha256(marshal.dumps(tuple(values), 2))  # version 2: no back-references: equal values, equal bytes
    except ValueError:  # a value marshal cannot write (a date from `!!timestamp`): its repr is as telling
        h = hashlib.sha256(repr(tuple(values)).encode("utf-8", "surrogatepass"))
    if packed:
        from .scan import REGION_MARK

        newline, mark = ("\n", REGION_MARK) if isinstance(packed, str) else (b"\n", REGION_MARK.encode())
        end = 0
        for _ in range(max(note.body_line - 1, 0)):  # the frontmatter block as written
            end = packed.find(newline, end) + 1
            if end == 0:
                end = len(packed)
                break
        head = packed[:end]
        h.update(head.encode("utf-8", "surrogatepass") if isinstance(head, str) else head)
        h.update(b"\0%d" % packed.count(mark))
    return h.hexdigest()[:32]


def _text_left_out(note: Note, packed: str | bytes | None) -> bool:
    """Whether a cache row leaves the note's text (``packed``, as stored) out, to be read from its file again:
    a UTF-8 note's text that is not empty (:func:`encode_note`, :func:`leave_unread`)."""
    return note.encoding == "utf-8" and bool(packed)


def encode_note(note: Note, *, keep_text: bool = False) -> bytes:
    """Serialise a parsed note for the cache.

    Dataclass records become tuples of their fields, in declaration order, and
    the whole is written with :mod:`marshal`; a note holding a value marshal
    cannot write (an exotic YAML type) falls back to :mod:`pickle`.

    Parameters
    ----------
    note : Note
        A note as :func:`vaultkit.parse.parse_note` returned it.
    keep_text : bool
        Include ``Note.text`` even for UTF-8 notes (the cache leaves it out
        and reads the file again; the process pool needs it).

    Returns
    -------
    bytes
        A one-byte format tag followed by the payload.

    Examples
    --------
    >>> from vaultkit.parse import parse_note
    >>> n = parse_note("A.md", b"---\\ntags: [x]\\n---\\n# H\\n[[B]] #y\\n")
    >>> back = decode_note(encode_note(n))
    >>> back.text is None                 # UTF-8 text is read from the file again on a hit
    True
    >>> back.text = n.text; back == n
    True
    """
    values = _note_values(note)
    if not keep_text and _text_left_out(note, values[_I_TEXT]):
        packed = values[_I_TEXT]
        # re-read from the file by NoteCache.get: as it is when the text is kept as the file's very bytes
        # (no BOM, no CR: as long) -- no need to decode it again --, else decoded and checked
        values[_I_TEXT] = _TEXT_IS_FILE if packed.__class__ is bytes and len(packed) == note.size else None
    try:
        fm = values[_I_FRONTMATTER]
        long = _long_properties(fm) if fm else ()
        if not long:
            return _MARSHAL + marshal.dumps(tuple(values))
        values[_I_FRONTMATTER] = ({k: v for k, v in fm.items() if k not in long}, long)
        first = marshal.dumps(tuple(values))
        return b"".join((_SPLIT, len(first).to_bytes(4, "little"), first, marshal.dumps(fm)))
    except ValueError:  # a value marshal does not know (e.g. a datetime from a custom loader)
        import pickle  # (rare: not imported by every run)

        return _PICKLE + pickle.dumps(note, protocol=pickle.HIGHEST_PROTOCOL)


def _split_row(blob: bytes) -> tuple[bytes | memoryview, bytes | memoryview | None]:
    """A row as the notes table keeps it: ``(data, long)`` (see ``_NOTES_TABLE``)."""
    if blob[:1] != _SPLIT:
        return blob, None
    end = 5 + int.from_bytes(blob[1:5], "little")
    view = memoryview(blob)
    return view[:end], view[end:]


def _long_properties(fm: Any) -> tuple[str, ...]:
    """The names of the properties of ``fm`` whose values are long (see :data:`LONG_PROPERTY`)."""
    if fm.__class__ is not dict:
        return ()
    out = []
    for key, value in fm.items():
        if value.__class__ is str:
            if len(value) > LONG_PROPERTY:
                out.append(key)
        elif isinstance(value, (list, dict)) and len(marshal.dumps(value)) > LONG_PROPERTY:
            out.append(key)
    return tuple(out)


def _table(head: tuple, rows: list) -> Table:
    args = list(head)
    args.insert(_ROWS_AT, [TableRow(*r) for r in rows])
    return Table(*args)


#: In a cached note's text slot: the text is the file's bytes as they are (see encode_note).
_TEXT_IS_FILE = 1


def decode_note(blob: bytes, file: "str | os.PathLike[str] | None" = None) -> Note:
    """Rebuild a :class:`~vaultkit.model.Note` written by :func:`encode_note`.

    Parameters
    ----------
    blob : bytes
        What :func:`encode_note` returned.
    file : path-like, optional
        The note's file: given, long property values are not decoded but read
        from it when asked for (:class:`~vaultkit.model.LazyProperties`,
        :class:`FileProperties`).

    Returns
    -------
    Note
        With ``text`` set to ``None`` when it was left out (see :meth:`NoteCache.get`).

    Raises
    ------
    ValueError
        When the blob is not a note this version wrote (the caller treats it as a miss).

    Examples
    --------
    >>> from vaultkit.parse import parse_note
    >>> n = parse_note("A.md", ("---\\ntitle: T\\nReceptor: " + "long " * 60 + "\\n---\\n").encode())
    >>> lazy = decode_note(encode_note(n), "nowhere/A.md")
    >>> lazy.get_property("title"), lazy.has_property("Receptor")
    ('T', True)
    >>> decode_note(encode_note(n)).frontmatter == n.frontmatter
    True
    """
    return _decode_row(blob, file)[0]


def leave_unread(note: Note, row: bytes, file: "str | os.PathLike[str]", *, properties: bool = True) -> None:
    """Make a freshly parsed ``note`` hold what the process pool hands out when a worker sent ``row``
    (:func:`encode_note` of it), without decoding ``row``: its UTF-8 text, and with ``properties`` its long
    property values (as ``_decode_row(row, file)``), are read from ``file`` when asked for, not kept. A row
    written with :mod:`pickle` (a value marshal cannot write) keeps them, as its decoding does."""
    if row[:1] == _PICKLE:
        return
    if _text_left_out(note, _packed_text(note)):
        _set_text_loader(note, _FileText(file))
    fm = note.frontmatter if properties else None
    long = _long_properties(fm) if fm else ()
    if long:
        head = {k: v for k, v in fm.items() if k not in long}
        note.frontmatter = LazyProperties(head, long, FileProperties(file, note.path, head))


def _decode_row(blob: bytes, file: "str | os.PathLike[str] | None" = None) -> tuple[Note, bool]:
    """:func:`decode_note`, and whether the note's text, left out, is its file's bytes as they are."""
    tag, payload = blob[:1], blob[1:]
    try:
        long = None
        if tag == _SPLIT:
            first, rest = _split_row(blob)
            values = list(marshal.loads(first[5:]))
            head, long = values[_I_FRONTMATTER]
            values[_I_FRONTMATTER] = None if file is not None else marshal.loads(rest)  # type: ignore[arg-type]
            tag = _MARSHAL
        if tag == _MARSHAL:
            if long is None:
                values = list(marshal.loads(payload))
            values[_I_LINKS] = [Link(*x) for x in values[_I_LINKS]]
            values[_I_TAGS] = [TagUse(*x) for x in values[_I_TAGS]]
            values[_I_HEADINGS] = [Heading(*x) for x in values[_I_HEADINGS]]
            values[_I_BLOCKS] = [BlockId(*x) for x in values[_I_BLOCKS]]
            values[_I_TABLES] = [_table(h, rows) for h, rows in values[_I_TABLES]]
            values[_I_DIAGS] = [Diagnostic(*x) for x in values[_I_DIAGS]]
            packed, values[_I_TEXT] = values[_I_TEXT], None
            text_is_file = packed.__class__ is int and packed == _TEXT_IS_FILE
            note = Note(*values)
            _set_packed_text(note, None if text_is_file else packed)  # as stored: no decode and re-encode
            if long is not None and file is not None:
                note.frontmatter = LazyProperties(head, long, FileProperties(file, note.path, head))
            return note, text_is_file
        if tag == _PICKLE:
            import pickle

            note = pickle.loads(payload)
            if isinstance(note, Note):
                return note, False
    except Exception as exc:  # noqa: BLE001 - any garbage in a cache row is a miss
        raise ValueError(f"undecodable cache entry: {exc}") from None
    raise ValueError("undecodable cache entry: unknown format")


# --------------------------------------------------------------------------------------------
# Version key and location
# --------------------------------------------------------------------------------------------

_version_memo: str | None = None


_ROWS_PER_QUERY = 900  # rows read per query by NoteCache.get_many (SQLite allows 999 parameters in old builds)


def cache_version() -> str:
    """The key a cache must carry to be trusted by this vaultkit.

    Returns
    -------
    str
        ``"<vaultkit version>/p<PARSER_VERSION>/py<major.minor>/<model hash>/<source hash>"``.
    """
    global _version_memo
    if _version_memo is None:
        src = hashlib.sha256()
        here = Path(__file__).resolve().parent
        for name in _PARSER_MODULES:
            try:
                src.update((here / name).read_bytes())
            except OSError:  # pragma: no cover - a frozen install without sources
                src.update(name.encode())
        src.update(_NOTES_TABLE.encode())  # (another table: another cache)
        _version_memo = "/".join([
            __version__,
            f"p{PARSER_VERSION}",
            f"py{sys.version_info[0]}.{sys.version_info[1]}",
            _model_fingerprint(),
            src.hexdigest()[:16],
        ])
    return _version_memo


def cache_path(root: str | os.PathLike[str]) -> Path:
    """Where the cache of the vault at ``root`` lives (``<root>/.vaultkit/cache.sqlite``)."""
    return Path(root) / CACHE_DIR / CACHE_FILE


def _read_same(path: str | os.PathLike[str], size: int, mtime: int) -> bytes | None:
    """The file's bytes if it still has this size and mtime, else ``None`` (never blocks on a named pipe)."""
    from .vault import read_regular

    try:
        data, st = read_regular(path)
    except OSError:
        return None
    if len(data) != size or st.st_size != size or st.st_mtime_ns != mtime:
        return None
    return data


def _utf8_text(data: bytes) -> str | bytes | None:
    """``Note.text`` of a UTF-8 file, packed as the note stores it; ``None`` if not UTF-8 (now).

    The same text as :func:`vaultkit.parse.decode_note` gives (BOM dropped, ``\\r\\n`` and
    ``\\r`` made ``\\n``), done on the bytes, so text kept as bytes is not encoded again.

    >>> _utf8_text(b"\\xef\\xbb\\xbfa\\r\\nb\\rc"), _utf8_text(b"\\xff") is None
    ('a\\nb\\nc', True)
    """
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    if b"\r" in data:  # CR and LF bytes never occur inside a multi-byte UTF-8 sequence
        data = data.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
    try:
        return _pack_utf8(data)
    except UnicodeDecodeError:
        return None


class _FileText:
    """The text of a cached note, read from its file when first asked for (``get_many(lazy_text=True)``).

    The file is the one the note was parsed from when it was looked up (same
    size, mtime, ctime and inode); should it change before its text is asked
    for, the text is the file's text then (``""`` when it cannot be read, is
    no regular file or is no longer UTF-8): the next run parses it again.
    What is kept under the note's hash must be read with :meth:`load_parsed`.
    """

    __slots__ = ("path",)

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = path

    def _read(self) -> bytes | None:
        from .vault import read_regular  # (never blocks on a named pipe put in the note's place)

        try:
            return read_regular(self.path)[0]
        except OSError:
            return None

    def load(self) -> str | bytes:
        data = self._read()
        packed = None if data is None else _utf8_text(data)
        return "" if packed is None else packed

    def load_parsed(self, sha256: str) -> str | bytes | None:
        """The text, when the file still holds the bytes whose SHA-256 is ``sha256`` (else ``None``)."""
        data = self._read()
        if data is None or not sha256 or hashlib.sha256(data).hexdigest() != sha256:
            return None
        return _utf8_text(data)


class FileProperties:
    """A note's whole properties, read again from its file when first asked for (see
    :class:`vaultkit.model.LazyProperties`).

    The file's frontmatter is read again (only it: ``parse_note(frontmatter_only=True)``);
    when the file still holds the bytes the note was parsed from (same SHA-256, the
    usual case) that gives the properties exactly as then. Like :class:`_FileText`,
    a file changed since gives its properties as they are now (the next run parses
    it again), and one that can no longer be read gives the short properties that
    were kept.
    """

    __slots__ = ("path", "rel", "head")

    def __init__(self, path: str | os.PathLike[str], rel: str, head: dict[str, Any]) -> None:
        self.path = path
        self.rel = rel
        self.head = head

    def load(self) -> dict[str, Any] | None:
        from .parse import parse_note
        from .vault import read_regular

        try:
            data = read_regular(self.path)[0]
        except OSError:
            return dict(self.head)
        return parse_note(self.rel, data, frontmatter_only=True).frontmatter


class CachedProperties(FileProperties):
    """:class:`FileProperties` read from the cache row the note was loaded from, when it is still there.

    The row keeps every property (its ``long`` column, the marshalled mapping):
    reading that back takes a few microseconds where the file's YAML takes a
    parse (``show --format json`` of 5,125 notes spent most of its time there).
    The row must be the note's (same path, size, mtime and SHA-256); when it is
    gone or replaced, or the cache cannot be read, the file is read as by
    :class:`FileProperties`.
    """

    __slots__ = ("rows", "size", "mtime_ns", "sha256")

    def __init__(self, rows: "_LongReader", path: str | os.PathLike[str], note: Note, head: dict[str, Any]) -> None:
        super().__init__(path, note.path, head)
        self.rows = rows
        self.size, self.mtime_ns, self.sha256 = note.size, note.mtime_ns, note.sha256

    def load(self) -> dict[str, Any] | None:
        long = self.rows.long_of(self.rel, self.size, self.mtime_ns, self.sha256)
        if long is not None:
            try:
                found = marshal.loads(long)
            except (ValueError, EOFError, TypeError):  # (garbage in the row)
                found = None
            if found.__class__ is dict:
                return found
        return super().load()


def _close_quietly(db: sqlite3.Connection | None) -> None:
    if db is not None:
        try:
            db.close()
        except sqlite3.Error:  # pragma: no cover
            pass


class _LongReader:
    """A read-only connection to one cache file for the :class:`CachedProperties` of the notes of one load:
    opened when first used, opened again when the file was replaced (a rebuilt cache), closed when those
    notes are gone; any thread may use it."""

    __slots__ = ("db", "_db", "_inode", "_lock")

    def __init__(self, db: str | os.PathLike[str]) -> None:
        import threading

        self.db = os.fspath(db)
        self._db: sqlite3.Connection | None = None
        self._inode: int | None = None
        self._lock = threading.Lock()

    def long_of(self, rel: str, size: int, mtime_ns: int, sha256: str) -> bytes | None:
        """The ``long`` column of the row of ``rel`` when it is the one with that size, mtime and hash."""
        with self._lock:
            try:
                inode = os.stat(self.db).st_ino
                if self._db is None or inode != self._inode:
                    self.close()
                    self._db = sqlite3.connect(Path(self.db).absolute().as_uri() + "?mode=ro", uri=True,
                                               check_same_thread=False)
                    self._inode = inode
                row = self._db.execute("SELECT long FROM notes WHERE path=? AND size=? AND mtime_ns=? AND sha256=?",
                                       (rel, size, mtime_ns, sha256)).fetchone()
            except (OSError, sqlite3.Error):  # (no cache now, or not one this code reads)
                return None
        return None if row is None else row[0]

    def close(self) -> None:
        _close_quietly(self._db)
        self._db = None

    def __del__(self) -> None:
        self.close()


def parsed_text(note: Note, abspath: str | os.PathLike[str]) -> str | None:
    """``note``'s text as it was parsed: kept, or read from ``abspath`` (its file) when the note was handed
    out without it (:class:`_FileText`, or no text kept) and the file still holds the parsed bytes;
    ``None`` when it no longer does (edited, replaced or deleted since)."""
    loader = _text_loader(note)
    if loader is None:
        if _packed_text(note) is not None:  # kept (an empty note's text too)
            return note.text
        loader = _FileText(abspath)
    packed = loader.load_parsed(note.sha256)
    if packed is None:
        return None
    _set_packed_text(note, packed)
    return note.text


def _remove_db(path: Path) -> None:
    for suffix in ("", "-wal", "-shm", "-journal"):
        try:
            os.unlink(f"{path}{suffix}")
        except FileNotFoundError:
            pass
    for name in _memo_files(path.parent):
        try:
            os.unlink(path.parent / name)
        except OSError:
            pass


#: A memo larger than this many bytes is kept in a file of its own beside the database, its row
#: holding only the file's name and size: SQLite wrote a 150 MB memo (10,000 notes' mentions) in
#: 1.9 s, a plain file takes 0.34 s (and reading it back 0.13 s instead of 0.38 s).
MEMO_FILE_BYTES = 1 << 20
#: An unreferenced memo file younger than this may be another process's, written just before its row.
_STRAY_MEMO_NS = 60 * 10**9
_MEMO_FILE_TAG = b"vaultkit:memo-file\0"


def _memo_file_name(data: Any) -> str | None:
    """The file a memo row names (see :data:`MEMO_FILE_BYTES`), or ``None`` when the row holds the memo itself."""
    data = bytes(data) if isinstance(data, (bytes, memoryview)) else b""
    if not data.startswith(_MEMO_FILE_TAG):
        return None
    return data[len(_MEMO_FILE_TAG):].split(b"\0")[0].decode("utf-8", "replace")


def _memo_files(folder: Path) -> list[str]:
    """Names of the memo files in the cache folder (and of any left half-written)."""
    try:
        return [n for n in os.listdir(folder) if n.startswith("memo-") and n.endswith((".bin", ".bin.tmp"))]
    except OSError:
        return []


# --------------------------------------------------------------------------------------------
# The store
# --------------------------------------------------------------------------------------------


#: :meth:`NoteCache.put` writes the notes it holds once their rows reach this many bytes, or once it holds
#: :data:`FLUSH_NOTES` notes. (A cold load at 1,000 synthetic notes makes 34 MB of rows.)
FLUSH_BYTES = 4 << 20
FLUSH_NOTES = 1024
#: What a note held unencoded counts for towards FLUSH_BYTES (a generated note read up to its frontmatter).
_NOTE_ROW_GUESS = 4096


def _rollback(db: sqlite3.Connection) -> None:
    """End the open transaction, if any, without raising: called while another exception propagates.

    A Ctrl-C that lands just after ``COMMIT`` ran leaves no transaction, and the
    error of a ``ROLLBACK`` then would replace the ``KeyboardInterrupt``; being an
    ``sqlite3.Error``, it was caught as a failed write (``sync --watch`` missed
    that Ctrl-C and kept watching).
    """
    if db.in_transaction:
        try:
            db.execute("ROLLBACK")
        except sqlite3.Error:
            pass


class NoteCache:
    """Parsed notes of one vault, stored between runs.

    Use :meth:`open`, then :meth:`get` each note (``None`` means parse it and
    :meth:`put` the result), then :meth:`close` with the set of paths that
    still exist. Writes are collected and committed in batches as they come
    (see :meth:`put`) and by :meth:`close`.

    Attributes
    ----------
    path : Path
        The database file.
    notice : str or None
        A one-line message for the user when the cache had to be rebuilt or
        could not be used (corrupt file, other vaultkit version, read-only
        vault, locked database), else ``None``. Never printed by the library.
    enabled : bool
        False when the cache could not be opened; every :meth:`get` misses and
        nothing is written.
    stats : dict of str to int
        ``hits``, ``misses``, ``written`` and ``removed`` counts.
    """

    def __init__(self, path: Path, *, verify: bool = False) -> None:
        self.path = path
        self.verify = verify
        self.notice: str | None = None
        self.enabled = False
        self.stats = {"hits": 0, "misses": 0, "written": 0, "removed": 0}
        self._timeout = 5.0
        self._db: sqlite3.Connection | None = None
        self._long_reader: _LongReader | None = None  # (shared by the notes handed out with their properties unread)
        self._row_index: dict[str, tuple[int, int, int, int, int, str, int]] | None = {}
        self._pending: list[tuple[str, int, int, int, int, str, int, Note | bytes]] = []
        self._pending_bytes = 0  # (of the rows held, counting a note held unencoded as _NOTE_ROW_GUESS)
        #: A note whose file changed (its ctime) since this moment is stored to be confirmed by hash (see put)
        self.since_ns = time.time_ns()
        self._write_failed = False

    # -- opening -----------------------------------------------------------------------------

    @classmethod
    def open(cls, root: str | os.PathLike[str], *, verify: bool = False,
             timeout: float = 5.0, since_ns: int | None = None) -> "NoteCache":
        """Open (creating or rebuilding as needed) the cache of the vault at ``root``.

        Parameters
        ----------
        root : path-like
            Vault folder.
        verify : bool
            Confirm every hit by the file's SHA-256 (reads every file but still
            skips parsing).
        timeout : float
            Seconds to wait for another vaultkit process holding a write lock;
            after one vain wait, writes to this file from this process wait
            for nothing for :data:`LOCK_MEMORY_S` seconds.
        since_ns : int, optional
            When the notes to be stored began to be read (``time.time_ns()``),
            if before now: see :meth:`put`.

        Returns
        -------
        NoteCache
            Always; check :attr:`notice` for problems. Never raises on a bad
            cache file.
        """
        store = cls(cache_path(root), verify=verify)
        store._timeout = timeout
        if since_ns is not None:
            store.since_ns = min(store.since_ns, since_ns)
        try:
            store._open()
        except sqlite3.DatabaseError as exc:
            store._close_db()
            if _errorcode(exc) in _TRANSIENT:  # locked or unwritable: leave the file alone
                store._not_written(exc)
                if _errorcode(exc) in (3, 8, 14):  # PERM, READONLY, CANTOPEN: this user may not write it
                    store._disable(f"cache not used: {store.path} cannot be written here ({exc}; SQLite's WAL "
                                   "needs it even to read): every note is parsed again")
                else:
                    store._disable(f"cache not used: {exc}")
                return store
            # Not a database, malformed, or a table of the wrong shape: start over.
            try:
                _remove_db(store.path)
                store._open()
            except (OSError, sqlite3.Error) as exc2:
                store._disable(f"cache disabled: {exc2}")
                return store
            store.notice = f"cache at {store.path} was unreadable ({exc}); rebuilt"
        except OSError as exc:
            store._disable(f"cache disabled: cannot create {store.path.parent} ({exc.strerror or exc})")
        return store

    def _open(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        ignore = self.path.parent / ".gitignore"
        if not ignore.exists():
            try:
                ignore.write_text("# vaultkit's private state; safe to delete\n*\n", encoding="utf-8")
            except OSError:
                pass
        db = sqlite3.connect(self.path, timeout=0.0 if _locked_recently(self.path) else self._timeout,
                             isolation_level=None)
        self._db = db
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        db.execute("PRAGMA journal_size_limit=8388608")
        db.executescript(_SCHEMA)
        found = db.execute("SELECT value FROM meta WHERE key='version'").fetchone()
        want = cache_version()
        if found is None or found[0] != want:
            has_rows = db.execute("SELECT 1 FROM notes LIMIT 1").fetchone() is not None
            db.execute("BEGIN IMMEDIATE")
            db.execute("DROP TABLE notes")  # its columns may differ in another version
            db.execute("DELETE FROM meta")
            db.execute("DELETE FROM memos")
            db.execute(_NOTES_TABLE)
            db.execute("INSERT INTO meta(key, value) VALUES ('version', ?)", (want,))
            db.execute("COMMIT")
            if found is not None and has_rows:
                self.notice = f"cache written by another vaultkit ({found[0].split('/')[0]}) or parser; rebuilt"
        self._row_index = None  # read at first use: a sync that stops early needs only meta and memos
        self.enabled = True

    @property
    def _rows(self) -> dict[str, tuple[int, int, int, int, int, str, int]]:
        """Path → (size, mtime_ns, ctime_ns, inode, rowid, sha256, verify) of every cached note (read once,
        when first needed)."""
        if self._row_index is None:
            if self._db is None:
                return {}
            try:
                self._row_index = {
                    path: (size, mtime, ctime, inode, rowid, sha, verify)
                    for rowid, path, size, mtime, ctime, inode, sha, verify in self._db.execute(
                        "SELECT rowid, path, size, mtime_ns, ctime_ns, inode, sha256, verify FROM notes"
                    )
                }
            except sqlite3.DatabaseError as exc:
                self._corrupt(exc)
        return self._row_index

    def _disable(self, message: str) -> None:
        self._close_db()
        self.enabled = False
        self._row_index = {}
        self._pending = []
        self.notice = message

    def _wrote(self) -> None:
        """A write went through: the file is no longer known to be locked."""
        _LOCKED_AT.pop(str(self.path), None)

    def _not_written(self, exc: sqlite3.Error) -> None:
        """A write failed (locked, full disk, read-only): keep the notice; a lock held by another process
        is remembered so that the writes that follow, here and in the other stores of this run, do not
        wait for it again (see ``_LOCKED_AT``)."""
        self.notice = self.notice or f"cache not updated: {exc}"
        if _is_lock(exc):
            _LOCKED_AT[str(self.path)] = time.monotonic()
            if self._db is not None:
                try:
                    self._db.execute("PRAGMA busy_timeout=0")
                except sqlite3.Error:
                    pass

    def _close_db(self) -> None:
        _close_quietly(self._db)
        self._db = None

    def _corrupt(self, exc: Exception) -> None:
        """A read failed half-way: drop the file so the next run rebuilds it; finish without cache."""
        self._close_db()
        try:
            _remove_db(self.path)
        except OSError:
            pass
        self._row_index = {}
        self.enabled = False
        self.notice = f"cache at {self.path} was unreadable ({exc}); it will be rebuilt"

    # -- reading and writing ---------------------------------------------------------------

    def __contains__(self, rel: str) -> bool:
        return rel in self._rows

    def __len__(self) -> int:
        return len(self._rows)

    def get(self, rel: str, abspath: str | os.PathLike[str], *, partial_ok: bool = False) -> Note | None:
        """The cached note for ``rel`` when the file at ``abspath`` is unchanged.

        Parameters
        ----------
        rel : str
            Vault path of the note.
        abspath : path-like
            The file on disk (stat-ed to compare size, mtime, ctime and inode).
        partial_ok : bool
            Whether a :attr:`~vaultkit.model.Note.partial` note will do (else
            a cached partial note is a miss).

        Returns
        -------
        Note or None
            A fresh, unresolved note equal to what parsing the file gives, or
            ``None`` on a miss (parse the file and :meth:`put` the result).
        """
        return self.get_many([(rel, abspath, partial_ok)]).get(rel)

    def get_many(self, wanted: "Iterable[tuple[str, str | os.PathLike[str], bool]]", *,
                 lazy_text: bool = False, lazy_properties: bool = False) -> dict[str, Note]:
        """:meth:`get` for many notes: the unchanged ones' rows read with one query per 900 notes.

        Parameters
        ----------
        wanted : iterable of (str, path-like, bool)
            Vault path, file and ``partial_ok`` of each note (see :meth:`get`).
        lazy_text : bool
            Read a note's file for its :attr:`~vaultkit.model.Note.text` only
            when the text is first asked for (a sync reads few of them), not now.
        lazy_properties : bool
            Leave long property values undecoded: read back from the note's row,
            else its file, when asked for (:class:`CachedProperties`,
            :class:`~vaultkit.model.LazyProperties`; a sync never asks).

        Returns
        -------
        dict of str to Note
            The hits by vault path, in the order of ``wanted``; a miss is left out.
        """
        candidates: dict[int, tuple[str, str | os.PathLike[str], bool, int, int, bytes | None]] = {}
        for rel, abspath, partial_ok in wanted:
            row = self._rows.get(rel)
            if row is None or self._db is None:
                self.stats["misses"] += 1
                continue
            try:
                st = os.stat(abspath)
            except OSError:
                self.stats["misses"] += 1
                continue
            size, mtime, ctime, inode, rowid, sha, verify = row
            # (ctime and inode too: an edit that keeps the size and puts the mtime back changes those)
            if st.st_size != size or st.st_mtime_ns != mtime or st.st_ctime_ns != ctime or st.st_ino != inode:
                self.stats["misses"] += 1
                continue
            data: bytes | None = None
            if verify or self.verify:
                data = _read_same(abspath, size, mtime)
                if data is None or hashlib.sha256(data).hexdigest() != sha:
                    self.stats["misses"] += 1
                    continue
            candidates[rowid] = (rel, abspath, partial_ok, size, mtime, data)
        found: dict[str, Note] = {}
        rowids = list(candidates)
        for at in range(0, len(rowids), _ROWS_PER_QUERY):
            batch = rowids[at:at + _ROWS_PER_QUERY]
            try:
                blobs = self._db.execute(  # type: ignore[union-attr]
                    f"SELECT rowid, data, {'NULL' if lazy_properties else 'long'} FROM notes "
                    f"WHERE rowid IN ({','.join('?' * len(batch))})", batch).fetchall()
            except sqlite3.DatabaseError as exc:  # (the notes found before stay good: each row is checked)
                self._corrupt(exc)
                break
            for rowid, blob, long in blobs:
                if long is not None:
                    blob += long
                note = self._note_from(blob, *candidates[rowid], lazy_text=lazy_text,
                                       lazy_properties=lazy_properties)
                if note is not None:
                    found[note.path] = note
        self.stats["hits"] += len(found)
        self.stats["misses"] += len(candidates) - len(found)
        # (rows come back in rowid order)
        return {c[0]: found[c[0]] for c in candidates.values() if c[0] in found}

    def _note_from(self, blob: bytes, rel: str, abspath: str | os.PathLike[str], partial_ok: bool, size: int,
                   mtime: int, data: bytes | None, *, lazy_text: bool = False,
                   lazy_properties: bool = False) -> Note | None:
        """The note a row's blob holds, when it is still the note at ``abspath`` (else ``None``)."""
        try:
            note, text_is_file = _decode_row(blob, abspath if lazy_properties else None)
        except ValueError:
            return None
        # a row replaced meanwhile, or only the frontmatter of a generated note when a whole note is wanted
        if note.path != rel or note.size != size or note.mtime_ns != mtime or (note.partial and not partial_ok):
            return None
        lazy = _FM_SLOT.__get__(note, Note) if lazy_properties else None
        if lazy.__class__ is LazyProperties:  # the properties kept by this row, read back when asked for
            if self._long_reader is None:
                self._long_reader = _LongReader(self.path)
            lazy.loader = CachedProperties(self._long_reader, abspath, note, lazy.head)
        if _packed_text(note) is None and not note.partial:  # (a partial note is read again if completed)
            if data is None and lazy_text:
                _set_text_loader(note, _FileText(abspath))
                return note
            if data is None:
                data = _read_same(abspath, size, mtime)
            # (the file is the one parsed, as its size, mtime, ctime and inode say: its bytes were UTF-8 then)
            packed = None if data is None else data if text_is_file else _utf8_text(data)
            if packed is None:
                return None
            _set_packed_text(note, packed)
        return note

    def put(self, note: Note, abspath: str | os.PathLike[str] | None = None, *, encode_now: bool = False,
            encoded: bytes | None = None) -> None:
        """Remember a freshly parsed note, to be encoded and written in a batch or by :meth:`close`.

        The note must not change until then (resolve links after closing): it
        is encoded one at a time as it is written, so that the encoded copies
        of a whole vault are never all held at once. With ``encode_now`` it is
        encoded at once instead (a note that is about to be resolved). Notes
        held are written, each batch in a transaction of its own, once their
        rows reach :data:`FLUSH_BYTES` or :data:`FLUSH_NOTES`: a cold load does
        not hold every row until the end, and writes them while the parse
        workers are busy. Its file (``abspath``,
        by default the vault path under the vault folder) is stat-ed now for
        its ctime and inode; notes that could not be read (no size and mtime)
        or whose file no longer has the size and mtime they were read with
        are not stored. ``encoded``: the row :func:`encode_note` made of the
        note elsewhere (a worker of :func:`vaultkit.pool.parse_files`), stored as it is.
        """
        if not self.enabled or (note.mtime_ns == 0 and note.size == 0):
            return
        try:
            st = os.stat(abspath if abspath is not None else self.path.parent.parent / note.path)
        except OSError:
            return
        if st.st_size != note.size or st.st_mtime_ns != note.mtime_ns:
            return  # changed since it was read
        # Stored to be confirmed by its SHA-256 before reuse: a note changed only just now (a later write
        # within the timestamp granularity keeps size and mtime), or whose file changed since the store
        # opened (an edit during this run that kept the size and set the mtime back: the ctime shows it)
        racy = 1 if time.time_ns() - note.mtime_ns < RACY_WINDOW_NS or st.st_ctime_ns >= self.since_ns else 0
        row = encoded if encoded is not None else encode_note(note) if encode_now else note
        self._pending.append((note.path, note.size, note.mtime_ns, st.st_ctime_ns, st.st_ino, note.sha256, racy, row))
        self._pending_bytes += len(row) if row.__class__ is bytes else _NOTE_ROW_GUESS
        if self._pending_bytes >= FLUSH_BYTES or len(self._pending) >= FLUSH_NOTES:
            self._write()

    def close(self, keep: Iterable[str] | None = None) -> None:
        """Write pending notes, drop rows of notes not in ``keep``, and close.

        Parameters
        ----------
        keep : iterable of str, optional
            Vault paths of every note that exists now; rows of other paths
            (deleted or renamed notes) are removed. ``None`` keeps every row.
        """
        try:
            gone: list[str] = []
            if keep is not None and self._db is not None:
                keep = keep if isinstance(keep, (set, frozenset, dict, type({}.keys()))) else set(keep)
                gone = [p for p in self._rows if p not in keep]
            self._write(gone)
        finally:
            self._close_db()

    def _write(self, gone: list[str] | tuple[str, ...] = ()) -> None:
        """Write the notes held (encoding those held unencoded) and drop the rows of ``gone``, in one
        transaction. A full disk or a read-only vault gives a notice and no further writes by this store;
        a database another process keeps locked gives the notice after one wait, and the batches that
        follow are tried without waiting (written once the lock is gone); a corrupt file is dropped
        (:meth:`_corrupt`)."""
        db = self._db
        pending, self._pending, self._pending_bytes = self._pending, [], 0
        if db is None or self._write_failed or not (gone or pending):
            return
        try:
            try:
                db.execute("BEGIN IMMEDIATE")
                if gone:
                    db.executemany("DELETE FROM notes WHERE path=?", ((p,) for p in gone))
                if pending:
                    db.executemany(
                        "INSERT OR REPLACE INTO notes(path, size, mtime_ns, ctime_ns, inode, sha256, verify, data, "
                        "long) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        (row[:7] + _split_row(row[7] if isinstance(row[7], bytes) else encode_note(row[7]))
                         for row in pending),
                    )
                db.execute("COMMIT")
            except BaseException:
                _rollback(db)
                raise
            self.stats["removed"] += len(gone)
            self.stats["written"] += len(pending)
            self._wrote()
        except sqlite3.OperationalError as exc:  # locked by another process, disk full, read-only
            if not _is_lock(exc):  # a full disk, a read-only file: no more tries by this store
                self._write_failed = True
            self._not_written(exc)  # (locked: this batch is dropped, the next ones tried without waiting)
        except sqlite3.DatabaseError as exc:
            self._corrupt(exc)

    # -- free-form state for callers ---------------------------------------------------------

    def get_memo(self, kind: str) -> Any | None:
        """What :meth:`put_memo` stored under ``kind``, if this very code stored it, else ``None``.

        Memos hold results computed from many notes (the technique mentions
        of each note, say) so that a later run recomputes only what changed;
        each consumer checks its own inputs. Any change to vaultkit's code
        (:func:`code_version`) drops them.
        """
        return self._read_memos(kind).get(kind)

    def get_memos(self) -> dict[str, Any]:
        """Every memo this very code stored, by kind (see :meth:`get_memo`), read in one query."""
        return self._read_memos(None)

    def _read_memos(self, kind: str | None) -> dict[str, Any]:
        """Memos of ``kind`` (every kind for ``None``) that this code stored and that still decode."""
        if self._db is None:
            return {}
        try:
            if kind is None:
                rows = self._db.execute("SELECT kind, code, data FROM memos").fetchall()
            else:
                rows = self._db.execute("SELECT kind, code, data FROM memos WHERE kind=?", (kind,)).fetchall()
        except sqlite3.Error:
            return {}
        out: dict[str, Any] = {}
        version = code_version()
        for found, code, data in rows:
            if code == version:
                try:
                    if data[: len(_MEMO_FILE_TAG)] == _MEMO_FILE_TAG:
                        data = self._memo_file(data)
                    out[found] = marshal.loads(data)
                except Exception:  # noqa: BLE001 - garbage (even a crafted huge length: MemoryError) is a miss
                    pass
        return out

    def _memo_file(self, pointer: bytes) -> bytes:
        """The bytes of a memo kept in a file (see :data:`MEMO_FILE_BYTES`).

        Raises ``ValueError`` or ``OSError`` unless the row names a regular file
        (not a link, pipe or device) in the cache folder of the recorded size
        whose bytes hash to the hash in its name; a file with other bytes is
        deleted.
        """
        from .vault import read_regular

        name, size_text = bytes(pointer[len(_MEMO_FILE_TAG):]).decode("utf-8").split("\0")
        if "/" in name or "\\" in name or not name.startswith("memo-") or not name.endswith(".bin"):
            raise ValueError("not a memo file")
        data, _st = read_regular(self.path.parent / name, follow_symlinks=False)
        # the name holds a hash of the bytes written (files are replaced whole, never written in place):
        # other bytes were changed since, and the file goes so that the memo is written again
        if len(data) != int(size_text) or hashlib.sha256(data).hexdigest()[:24] != name[:-4].rsplit("-", 1)[-1]:
            try:
                os.unlink(self.path.parent / name)
            except OSError:
                pass
            raise ValueError("not the memo file that was written")
        return data

    def put_memo(self, kind: str, value: Any) -> None:
        """Store ``value`` (made of what :mod:`marshal` writes: str, int, tuples, lists, dicts …) under ``kind``.

        Silently does nothing when the cache is disabled, locked or the value
        cannot be marshalled: a memo only saves time.
        """
        self.put_memos({kind: value})

    def put_memos(self, memos: dict[str, Any]) -> None:
        """:meth:`put_memo` for several kinds at once: all are stored, or none (they may depend on each other).

        A value that cannot be marshalled is left out; when the cache is
        locked or a file cannot be written, the memos stored before stay. A
        memo whose bytes are those stored by this code is not written again (a
        memo file is named by a hash of its bytes).
        """
        if self._db is None:
            return
        rows: list[tuple[str, str, bytes]] = []
        folder = self.path.parent
        version = code_version()
        try:  # what is stored now: a memo stored by this code with the same bytes is not written again
            stored = {kind: (code, bytes(data)) for kind, code, data in self._db.execute(
                "SELECT kind, code, data FROM memos")} if memos else {}
        except sqlite3.Error:
            stored = {}
        for kind, value in memos.items():
            try:
                data = marshal.dumps(value)
            except ValueError:
                continue
            if len(data) > MEMO_FILE_BYTES:  # a file of its own, in place before the row names it
                # named by its content: the same memo is the same file
                written = (f"memo-{hashlib.sha256(kind.encode()).hexdigest()[:12]}-"
                           f"{hashlib.sha256(data).hexdigest()[:24]}.bin")
                pointer = _MEMO_FILE_TAG + f"{written}\0{len(data)}".encode("utf-8")
                try:
                    kept = os.lstat(folder / written)
                    kept_same = stat.S_ISREG(kept.st_mode) and kept.st_size == len(data)
                except OSError:
                    kept_same = False
                if kept_same and stored.get(kind) == (version, pointer):
                    continue
                if not kept_same:
                    tmp = folder / f"{written[:-4]}-{os.getpid()}-{os.urandom(4).hex()}.bin.tmp"
                    try:
                        with open(tmp, "wb") as fh:
                            fh.write(data)
                        os.replace(tmp, folder / written)
                    except OSError:
                        try:
                            os.unlink(tmp)
                        except OSError:
                            pass
                        return
                data = pointer
            elif stored.get(kind) == (version, data):
                continue
            rows.append((kind, version, data))
        if not rows:
            return
        db = self._db
        replaced: set[str] = set()
        try:
            try:
                db.execute("BEGIN IMMEDIATE")
                for kind, _code, _data in rows:
                    found = db.execute("SELECT data FROM memos WHERE kind=?", (kind,)).fetchone()
                    name = _memo_file_name(found[0]) if found is not None else None
                    if name is not None:
                        replaced.add(name)
                db.executemany("INSERT OR REPLACE INTO memos(kind, code, data) VALUES (?, ?, ?)", rows)
                db.execute("COMMIT")
            except BaseException:
                _rollback(db)
                raise
            self._wrote()
        except sqlite3.Error as exc:
            self._not_written(exc)
            replaced = set()
        self._sweep_memo_files(replaced)

    def _sweep_memo_files(self, replaced: "set[str]" = frozenset()) -> None:  # type: ignore[assignment]
        """Delete memo files that no row names: at once those ``replaced`` by this process's rows, others
        (left by a rebuilt cache, a crash or a failed save) once older than :data:`_STRAY_MEMO_NS` — another
        process may have written one that its row is about to name."""
        files = _memo_files(self.path.parent)
        if not files or self._db is None:
            return
        try:
            named = {_memo_file_name(d) for (d,) in self._db.execute(
                "SELECT data FROM memos WHERE substr(data, 1, ?) = ?", (len(_MEMO_FILE_TAG), _MEMO_FILE_TAG))}
        except sqlite3.Error:
            return
        now = time.time_ns()
        for name in files:
            if name in named:
                continue
            path = self.path.parent / name
            try:
                if name in replaced or now - os.lstat(path).st_mtime_ns > _STRAY_MEMO_NS:
                    os.unlink(path)
            except OSError:
                pass

    def get_meta(self, key: str) -> str | None:
        """A value stored with :meth:`set_meta` (``None`` when absent or the cache is disabled)."""
        if self._db is None or key == "version":
            return None
        try:
            row = self._db.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        except sqlite3.Error:
            return None
        return None if row is None else row[0]

    def set_meta(self, key: str, value: str) -> None:
        """Store a string under ``key`` (e.g. a fingerprint of the inputs of the last sync).

        Values are dropped with the rest of the cache when it is rebuilt.
        """
        if key == "version":
            raise ValueError("'version' is reserved")
        if self._db is None:
            return
        try:
            self._db.execute("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)", (key, value))
            self._wrote()
        except sqlite3.OperationalError as exc:
            self._not_written(exc)

    def __enter__(self) -> "NoteCache":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"NoteCache({str(self.path)!r}, rows={len(self._rows)}, enabled={self.enabled})"


def clear(root: str | os.PathLike[str]) -> bool:
    """Delete the cache of the vault at ``root``; True when there was one."""
    path = cache_path(root)
    existed = path.exists()
    _remove_db(path)
    return existed


# --------------------------------------------------------------------------------------------
# Whole-vault stamp: lets `vaultkit sync` skip everything when nothing changed since its last run
# --------------------------------------------------------------------------------------------

_code_memo: str | None = None


def code_version() -> str:
    """A hash of every module of the installed vaultkit (changes whenever any code changes)."""
    global _code_memo
    if _code_memo is None:
        h = hashlib.sha256(cache_version().encode())
        here = Path(__file__).resolve().parent
        for path in sorted(here.rglob("*.py")):
            h.update(path.relative_to(here).as_posix().encode())
            try:
                h.update(path.read_bytes())
            except OSError:  # pragma: no cover
                pass
        _code_memo = h.hexdigest()[:24]
    return _code_memo


@dataclasses.dataclass(frozen=True)
class VaultStamp:
    """Fingerprints of a vault's files, taken by :func:`vault_stamp`.

    Attributes
    ----------
    inputs : str or None
        Every vault file outside the output folder (notes, attachments,
        ``vaultkit.toml``) and vaultkit's code; ``None`` when one of those
        files changed less than :data:`RACY_WINDOW_NS` ago (its mtime could
        still change without changing, so it must not be trusted).
    outputs : str
        Every file inside the output folder (what the last sync wrote, or a
        user's edits to it).
    """

    inputs: str | None
    outputs: str
    #: When the walk began (ns since the epoch).
    walked_ns: int = dataclasses.field(default=0, compare=False, repr=False)
    #: Every file outside / inside the output folder as walked, sorted: (vault path (not normalised),
    #: size, mtime_ns, ctime_ns, inode).
    input_entries: list = dataclasses.field(default_factory=list, compare=False, repr=False)
    output_entries: list = dataclasses.field(default_factory=list, compare=False, repr=False)

    @functools.cached_property
    def files(self) -> dict[str, tuple[int, int, int, int]]:
        """Every file outside the output folder: vault path -> (size, mtime_ns, ctime_ns, inode)."""
        return {e[0]: e[1:] for e in self.input_entries}

    @functools.cached_property
    def output_files(self) -> dict[str, tuple[int, int, int, int]]:
        """The same for every file inside the output folder."""
        return {e[0]: e[1:] for e in self.output_entries}

    @property
    def key(self) -> str | None:
        """Both fingerprints as one string, or ``None`` when the inputs cannot be trusted."""
        return None if self.inputs is None else f"{self.inputs}|{self.outputs}"


_MTIME_OF_ENTRY = operator.itemgetter(2)


def synced_as_is(root: str | os.PathLike[str], output: str) -> bool:
    """Whether a sync now would write nothing: its last run found every generated note as planned
    and no file of the vault (nor vaultkit) changed since.

    ``vaultkit sync`` stores the vault's :func:`vault_stamp` under
    :data:`SYNC_STAMP_KEY` only after a run in which every generated note was
    already what it planned and no file changed while it ran; the stamp of
    the vault now equal to it means the same files with the same sizes,
    mtimes, ctimes and inodes, so the same plan. Costs one ``stat`` per file.

    Parameters
    ----------
    root : path-like
        Vault folder.
    output : str
        The output folder (vault path), as in the config.

    Returns
    -------
    bool
        ``False`` without a cache (none is created), with a racy stamp or a
        different one.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> synced_as_is(pathlib.Path(tempfile.mkdtemp()), "_vaultkit")
    False
    """
    root = Path(root)
    if not (root / CACHE_DIR / CACHE_FILE).is_file():
        return False
    key = vault_stamp(root, output=output).key
    if key is None:
        return False
    store = NoteCache.open(root)
    try:
        return store.get_meta(SYNC_STAMP_KEY) == key
    finally:
        store.close()

if os.sep == "/":
    def _vault_rel(path: str, base: int) -> str:
        return path[base:]
else:  # pragma: no cover - Windows
    def _vault_rel(path: str, base: int) -> str:
        return path[base:].replace(os.sep, "/")


def vault_stamp(root: str | os.PathLike[str], extra: str = "", *, output: str | None = None,
                now_ns: int | None = None) -> VaultStamp:
    """Fingerprint every file of the vault (path, size, mtime, ctime, inode) and vaultkit's code, without reading files.

    A sync can skip all its work when the stamp equals the one stored after
    an earlier sync that changed nothing: no file was added, removed or
    changed since, inside or outside the output folder, and vaultkit is the
    same. Taking the stamp before a sync and again after it also tells
    whether a note changed *while* the sync ran (then the second stamp must
    not be stored). Costs one ``stat`` per file.

    Parameters
    ----------
    root : path-like
        Vault folder. Dot-files and dot-folders (``.obsidian``, ``.git``,
        ``.vaultkit``) are left out, as they are not vault files.
    extra : str
        Anything else the result depends on (e.g. command options).
    output : str, optional
        The output folder (vault path); its files make up :attr:`VaultStamp.outputs`
        and are exempt from the racy-mtime rule (the tool wrote them itself).
    now_ns : int, optional
        The current time (for tests).

    Returns
    -------
    VaultStamp

    Examples
    --------
    >>> import tempfile, pathlib, os
    >>> root = pathlib.Path(tempfile.mkdtemp()); _ = (root / "a.md").write_text("x")
    >>> os.utime(root / "a.md", ns=(10**18, 10**18))
    >>> vault_stamp(root).key == vault_stamp(root).key != None
    True
    >>> _ = (root / "a.md").write_text("y")              # just written: too fresh to trust
    >>> vault_stamp(root).key is None
    True
    """
    now = time.time_ns() if now_ns is None else now_ns
    out_prefix = (output.strip("/") + "/") if output else None
    # (ctime and inode too: an edit that puts the size and mtime back still changes those)
    ins: list[tuple[str, int, int, int, int]] = []
    outs: list[tuple[str, int, int, int, int]] = []
    root_s = os.fspath(root)
    base = len(root_s) + 1
    stack = [(root_s, False)]  # (folder, inside the output folder)
    while stack:
        folder, is_out = stack.pop()
        found = outs if is_out else ins
        try:
            with os.scandir(folder) as it:
                for entry in it:
                    if entry.name[0] == ".":
                        continue
                    try:
                        if entry.is_dir(follow_symlinks=False):
                            sub = entry.path
                            stack.append((sub, is_out or (out_prefix is not None
                                                          and (_vault_rel(sub, base) + "/").startswith(out_prefix))))
                            continue
                        try:
                            st = entry.stat()
                        except OSError:  # a dangling symlink or a loop: the link itself (still a vault file)
                            st = entry.stat(follow_symlinks=False)
                    except OSError:
                        continue
                    found.append((_vault_rel(entry.path, base), st.st_size, st.st_mtime_ns, st.st_ctime_ns,
                                  st.st_ino))
        except OSError:
            continue
    newest_input = max(map(_MTIME_OF_ENTRY, ins), default=0)

    def digest(entries: list[tuple[str, int, int, int, int]], salt: str) -> str:
        # marshal: one C call for the sorted list (paths with surrogate escapes too); format 2 writes
        # no back-references, so equal lists give equal bytes (cache_version, in the salt, holds Python's)
        entries.sort()
        h = hashlib.sha256(salt.encode("utf-8", "surrogateescape"))
        h.update(marshal.dumps(entries, 2))
        return f"{len(entries)}:{h.hexdigest()[:32]}"

    inputs = digest(ins, f"{code_version()}\0{extra}\0{output or ''}\0")
    return VaultStamp(None if now - newest_input < RACY_WINDOW_NS else inputs, digest(outs, ""),
                      walked_ns=now, input_entries=ins, output_entries=outs)
