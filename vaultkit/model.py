"""Plain data records shared by every layer: links, headings, tables, notes, diagnostics.

All paths are vault-relative POSIX strings (``"Folder/Note.md"``); all line
numbers are 1-based lines of the file as it is on disk (frontmatter included).
The records hold data only; parsing lives in :mod:`vaultkit.parse`, link
resolution in :mod:`vaultkit.resolve`.
"""

from __future__ import annotations

import datetime as _dt
import sys
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "Severity",
    "Diagnostic",
    "Link",
    "Heading",
    "TagUse",
    "BlockId",
    "TableRow",
    "Table",
    "Note",
    "jsonable",
]


class Severity:
    """Severity names used in :class:`Diagnostic` (strings, so they serialise as-is)."""

    ERROR = "error"
    WARNING = "warning"
    INFO = "info"


@dataclass(frozen=True, slots=True)
class Diagnostic:
    """One finding about one place in the vault.

    Parameters
    ----------
    code : str
        Stable rule code such as ``"VK101"`` (see ``vaultkit rule --all``).
    message : str
        One line saying what is wrong.
    path : str
        Vault-relative POSIX path of the file ("" for vault-wide findings).
    line : int
        1-based line, 0 when the finding concerns the whole file.
    col : int
        1-based column, 0 when unknown.
    severity : str
        ``"error"``, ``"warning"`` or ``"info"``.
    """

    code: str
    message: str
    path: str = ""
    line: int = 0
    col: int = 0
    severity: str = Severity.WARNING

    def sort_key(self) -> tuple:
        return (self.path, self.line, self.col, self.code, self.message)

    def to_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "severity": self.severity,
            "path": self.path,
            "line": self.line,
            "col": self.col,
            "message": self.message,
        }


@dataclass(slots=True)
class Link:
    """One outgoing reference as written in a note.

    ``kind`` is ``"wikilink"``, ``"embed"``, ``"markdown"`` or ``"frontmatter"``.
    ``target`` is the link path before any ``#`` (``""`` for ``[[#Heading]]``);
    ``heading`` holds the heading part (nested parts joined by ``#``), ``block``
    a block id without ``^``. ``resolved`` is filled in by
    :func:`vaultkit.resolve.resolve_vault` with the vault path of the file the
    link reaches, or stays ``None`` when no file answers it.
    """

    target: str
    kind: str
    line: int
    col: int = 0
    heading: str | None = None
    block: str | None = None
    alias: str | None = None
    in_comment: bool = False
    embed: bool = False  # a Markdown image ``![alt](file)``
    display: str | None = None  # the text of a Markdown link ``[display](dest)``
    key: str | None = None  # frontmatter key path, for kind == "frontmatter"
    width: int | None = None
    height: int | None = None
    resolved: str | None = None
    ambiguous: bool = False
    candidates: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"target": self.target, "kind": self.kind, "resolved": self.resolved}
        if self.heading is not None:
            out["heading"] = self.heading
        if self.block is not None:
            out["block"] = self.block
        if self.alias is not None:
            out["alias"] = self.alias
        out["line"] = self.line
        out["in_comment"] = self.in_comment
        if self.key is not None:
            out["key"] = self.key
        if self.embed:
            out["embed"] = True
        if self.ambiguous:
            out["ambiguous"] = True
            out["candidates"] = list(self.candidates)
        return out


@dataclass(frozen=True, slots=True)
class Heading:
    """An ATX or setext heading; ``top_level`` is False inside quotes, callouts and lists."""

    text: str
    level: int
    line: int
    top_level: bool = True


@dataclass(frozen=True, slots=True)
class TagUse:
    """One occurrence of a tag (without ``#``); ``source`` is ``"frontmatter"`` or ``"body"``."""

    name: str
    line: int
    source: str = "body"
    in_comment: bool = False


@dataclass(frozen=True, slots=True)
class BlockId:
    """A block identifier ``^id`` and the line it sits on."""

    id: str
    line: int


@dataclass(slots=True)
class TableRow:
    """One body row of a Markdown table: raw cell texts (trimmed) and its file line."""

    cells: list[str]
    line: int


@dataclass(slots=True)
class Table:
    """A GFM pipe table: header cells, body rows and the line of the header row.

    ``heading`` is the text of the nearest heading above the table, if any.
    """

    header: list[str]
    rows: list[TableRow]
    line: int
    index: int = 0
    heading: str | None = None


@dataclass(slots=True)
class Note:
    """A parsed note (a ``.md`` file) of the vault.

    Attributes
    ----------
    path : str
        Vault-relative POSIX path, NFC-normalised (``"Folder/Note.md"``).
    frontmatter : dict or None
        Properties as Obsidian reads them (YAML 1.2 core schema; dates stay
        strings). ``None`` when the file has no frontmatter block or the block
        is invalid (see ``frontmatter_error``).
    frontmatter_error : str or None
        Why the block gave no properties (invalid YAML, not a mapping,
        duplicate key), else ``None``.
    body_line : int
        File line on which the body starts (1 when there is no frontmatter).
    text : str
        The decoded file (BOM removed, newlines normalised to ``\\n``), kept so
        that later passes (technique mentions, FeedbackLoop lines, mojibake)
        never read the file again. Assign and read it as a ``str`` (also
        ``Note(path, text=...)``); the note stores it in the smaller of UTF-8
        bytes and the ``str`` itself. Text with emoji would otherwise cost 4
        bytes per character (CPython keeps such a ``str`` in UCS-4), about 4x
        the file. Reading it then decodes it again (about 0.1 ms per 30 KB):
        read it once per pass over a note, not once per link or line. Pure
        ASCII text is kept as the ``str``, with nothing to decode. ``None``
        in a note decoded from the cache before its text is restored (see
        :mod:`vaultkit.cache`), and in a ``partial`` note read by the process
        pool or the cache (completing it reads the file again).
    regions : list of (int, int)
        File lines (begin marker, end marker) of the vaultkit regions the user
        opened in the note (:func:`vaultkit.scan.region_spans`): what lies
        between is vaultkit's text, so its links, mentions and tables are not
        counted as the user's when the generated notes are planned.
    partial : bool
        Only the frontmatter was read (of one that holds vaultkit's marker
        line, that line alone: ``frontmatter`` then holds the marker only):
        the body was not scanned, so ``links``,
        ``tag_uses``, ``aliases``, ``headings``, ``block_ids``, ``tables`` and
        ``suppressions`` are empty. Only generated notes are read this way, and
        only when asked (``Vault.load(..., parse_generated=False)``, what
        ``vaultkit sync`` does); :func:`vaultkit.parse.complete_note` makes such
        a note whole.
    facts : str
        A hash of everything sync reads of the note but its prose
        (:func:`vaultkit.cache.note_facts`: the parsed record without text,
        size, mtime and file hash, plus the frontmatter as written); ``""``
        for a partial note. Two versions of a note with equal facts (and equal
        technique mentions) give sync the same input (see :mod:`vaultkit.basis`).
    region_marks : bool
        Whether the text holds a region's begin marker (``%% vaultkit:begin``)
        anywhere, even in code or unpaired: sync looks for regions to fill
        only in such notes (without reading the others' text).
    feedback : tuple or None
        What the ``FeedbackLoop`` and ``Emergence`` properties say, read while
        the note is parsed (the file text is at hand then; the names are not
        resolved yet): :func:`vaultkit.feedback.feedback_parts`. ``None`` when
        the note has neither property, or was not made by the parser (then
        :func:`vaultkit.feedback.read_note_feedback` reads them from the text).
    tier_rows : tuple or None
        What :func:`vaultkit.tiers.read_tier_tables` finds in the note's
        tables (rows and tier-table diagnostics, as
        :func:`vaultkit.tiers.pack_tier_tables` packs them), read by the
        parser (in the worker process that parses the note). ``None`` for a
        note without tables, a partial one, or one not made by the parser.

    Examples
    --------
    >>> n = Note("A.md", text="Status 🟢 ok\\n")
    >>> n.text
    'Status 🟢 ok\\n'
    >>> n == Note("A.md", text="Status 🟢 ok\\n")
    True
    """

    path: str
    frontmatter: dict[str, Any] | None = None
    frontmatter_error: str | None = None
    frontmatter_lines: dict[str, int] = field(default_factory=dict)
    body_line: int = 1
    links: list[Link] = field(default_factory=list)
    tag_uses: list[TagUse] = field(default_factory=list)
    aliases: list[str] = field(default_factory=list)
    headings: list[Heading] = field(default_factory=list)
    block_ids: list[BlockId] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
    diagnostics: list[Diagnostic] = field(default_factory=list)
    suppressions: dict[int, frozenset[str]] = field(default_factory=dict)
    size: int = 0
    mtime_ns: int = 0
    sha256: str = ""
    encoding: str = "utf-8"
    bom: bool = False
    # The slot holds the packed text (see _pack_text); ``Note.text`` is replaced by a property below.
    text: str = field(default="", repr=False)
    newline: str = "\n"
    regions: list[tuple[int, int]] = field(default_factory=list)
    partial: bool = False
    facts: str = ""
    region_marks: bool = False
    feedback: tuple | None = None
    tier_rows: tuple | None = None

    def __getstate__(self) -> dict[str, Any]:
        # Ship the packed text as it is (bytes for emoji text): no decode, no UCS-4 copy; and long
        # properties left unread, unread.
        state: dict[str, Any] = {}
        for name in _NOTE_SLOTS:
            try:
                state[name] = (_packed_text(self) if name == "text" else _FM_SLOT.__get__(self, Note)
                               if name == "frontmatter" else getattr(self, name))
            except AttributeError:  # a slot never set (an instance made without __init__)
                pass
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        for name, value in state.items():
            if name == "text":
                _set_packed_text(self, value)
            else:
                setattr(self, name, value)

    def in_region(self, line: int) -> bool:
        """Whether file line ``line`` lies in one of :attr:`regions` (text vaultkit wrote into the note)."""
        return any(begin <= line <= end for begin, end in self.regions)

    def counts(self, link: Link) -> bool:
        """Whether ``link`` of this note is the user's and counts: outside ``%%`` comments and outside
        the vaultkit :attr:`regions` (what the plan and the summary count, backlink and call wanted)."""
        return not link.in_comment and not (self.regions and self.in_region(link.line))

    @property
    def name(self) -> str:
        """File name without the ``.md`` extension (what a bare wikilink names)."""
        base = self.path.rsplit("/", 1)[-1]
        return base[:-3] if base.lower().endswith(".md") else base

    @property
    def folder(self) -> str:
        """Vault-relative folder ("" at the vault root)."""
        return self.path.rsplit("/", 1)[0] if "/" in self.path else ""

    @property
    def title(self) -> str:
        """The ``title`` property when it is a non-empty string, else :attr:`name`."""
        t = self.get_property("title")
        return t.strip() if isinstance(t, str) and t.strip() else self.name

    def get_property(self, key: str, default: Any = None) -> Any:
        """One property's value, ``default`` when the note has no such property (or no properties).

        Unlike ``note.frontmatter.get(key)``, it leaves the long values of the
        other properties unread on a note loaded for a sync, which keeps them
        on disk until :attr:`frontmatter` is asked for (see :class:`LazyProperties`).

        >>> Note("A.md", frontmatter={"title": "T"}).get_property("title"), Note("B.md").get_property("title", "-")
        ('T', '-')
        """
        fm = _FM_SLOT.__get__(self, Note)
        if fm.__class__ is LazyProperties:
            if key in fm.head:
                return fm.head[key]
            if key not in fm.long:
                return default
            fm = self.frontmatter
        return fm.get(key, default) if isinstance(fm, dict) else default

    def has_property(self, key: str) -> bool:
        """Whether the note has property ``key`` (its value left unread, as :meth:`get_property` does)."""
        fm = _FM_SLOT.__get__(self, Note)
        if fm.__class__ is LazyProperties:
            return key in fm.head or key in fm.long
        return isinstance(fm, dict) and key in fm

    @property
    def tags(self) -> list[str]:
        """Sorted unique tags outside comments (frontmatter and body), without ``#``."""
        seen: dict[str, str] = {}
        for use in self.tag_uses:
            if not use.in_comment:
                seen.setdefault(use.name.casefold(), use.name)
        return sorted(seen.values(), key=lambda t: (t.casefold(), t))

    @property
    def comment_tags(self) -> list[str]:
        """Sorted tags that occur only inside ``%%`` comments."""
        visible = {t.casefold() for t in self.tags}
        seen: dict[str, str] = {}
        for use in self.tag_uses:
            if use.in_comment and use.name.casefold() not in visible:
                seen.setdefault(use.name.casefold(), use.name)
        return sorted(seen.values(), key=lambda t: (t.casefold(), t))

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape of ``vaultkit show --format json`` for this note."""
        return {
            "path": self.path,
            "title": self.title,
            "frontmatter": jsonable(self.frontmatter),
            "frontmatter_error": self.frontmatter_error is not None,
            "frontmatter_error_message": self.frontmatter_error,
            "tags": self.tags,
            "comment_tags": self.comment_tags,
            "aliases": list(self.aliases),
            "links": [link.to_dict() for link in self.links],
            "headings": [{"text": h.text, "level": h.level, "line": h.line} for h in self.headings],
            "block_ids": [{"id": b.id, "line": b.line} for b in self.block_ids],
            "diagnostics": [d.to_dict() for d in sorted(self.diagnostics, key=Diagnostic.sort_key)],
        }


# -- Note.text: stored packed, read as str ------------------------------------------------------

_NOTE_SLOTS: tuple[str, ...] = Note.__slots__  # type: ignore[attr-defined]
_TEXT_SLOT = Note.__dict__["text"]  # the member descriptor of the slot the dataclass made


def _pack_text(text: str | None) -> str | bytes | None:
    """The compact form of a note text: ``str`` if ASCII or not larger, else its UTF-8 bytes.

    >>> _pack_text("abc"), _pack_text("🟢 ok"), _pack_text("é" * 100) == "é" * 100
    ('abc', b'\\xf0\\x9f\\x9f\\xa2 ok', True)
    """
    if text is None:
        return None
    if not isinstance(text, str):
        raise TypeError(f"Note.text must be a str, not {type(text).__name__}")
    if text.isascii():  # 1 byte per character either way; a str needs no decoding
        return text
    data = text.encode("utf-8", "surrogatepass")
    return data if sys.getsizeof(data) < sys.getsizeof(text) else text


def _pack_utf8(data: bytes, text: str | None = None) -> str | bytes:
    """The compact form of a note text given as valid UTF-8 bytes (the file, BOM and ``\\r`` removed).

    Like :func:`_pack_text` but without encoding again: ``data`` is kept when
    it is the smaller form. Pass ``text`` (``data`` decoded) when it is at
    hand, as a parser has it, to save decoding too.

    Raises
    ------
    UnicodeDecodeError
        When ``data`` is not valid UTF-8.

    >>> _pack_utf8(b"abc"), _pack_utf8("🟢".encode())
    ('abc', b'\\xf0\\x9f\\x9f\\xa2')
    """
    if text is None:
        if data.isascii():
            return data.decode("ascii")
        text = data.decode("utf-8")
    elif text.isascii():
        return text
    return data if sys.getsizeof(data) < sys.getsizeof(text) else text


def _packed_text(note: Note) -> str | bytes | None:
    """The text as the note stores it (``str``, UTF-8 ``bytes`` or ``None``), without decoding."""
    packed = _TEXT_SLOT.__get__(note, Note)
    if packed is None or packed.__class__ is bytes or packed.__class__ is str:
        return packed
    packed = packed.load()  # a text read from the file when first asked for (see _set_text_loader)
    _TEXT_SLOT.__set__(note, packed)
    return packed


def _text_loader(note: Note) -> Any:
    """The loader set by :func:`_set_text_loader` while the text is still unread, else ``None``."""
    packed = _TEXT_SLOT.__get__(note, Note)
    return None if packed is None or packed.__class__ is bytes or packed.__class__ is str else packed


def _set_text_loader(note: Note, loader: Any) -> None:
    """Let ``note`` read its text when first asked for: ``loader.load()`` returns it packed (as
    :func:`_packed_text` returns it). Used by :mod:`vaultkit.cache` for notes whose text a run may
    never read."""
    _TEXT_SLOT.__set__(note, loader)


def _set_packed_text(note: Note, packed: str | bytes | None) -> None:
    """Store a value :func:`_packed_text` returned (for the cache and the process pool)."""
    if packed is not None and not isinstance(packed, (str, bytes)):
        raise TypeError(f"packed Note.text must be str, bytes or None, not {type(packed).__name__}")
    _TEXT_SLOT.__set__(note, packed)


def _get_text(self: Note) -> str:
    packed = _TEXT_SLOT.__get__(self, Note)
    if packed is not None and packed.__class__ is not bytes and packed.__class__ is not str:
        packed = _packed_text(self)
    if packed.__class__ is bytes:
        return packed.decode("utf-8", "surrogatepass")
    return packed


def _set_text(self: Note, value: str) -> None:
    _TEXT_SLOT.__set__(self, _pack_text(value))


Note.text = property(  # type: ignore[assignment,method-assign]
    _get_text, _set_text,
    doc="The decoded file text (``str``); stored as UTF-8 bytes when smaller. See :class:`Note`.",
)


# -- Note.frontmatter: long values read when asked for ------------------------------------------

_FM_SLOT = Note.__dict__["frontmatter"]  # the member descriptor of the slot the dataclass made


class LazyProperties:
    """A note's properties with their long values left unread (held in the ``frontmatter`` slot).

    A sync reads the short properties of every note (``title``, ``category``,
    the ``vaultkit`` marker) but never the long prose ones (``Receptor``,
    ``FeedbackLoop``, …: most of the bytes of a vault of long notes, read by the
    parser into :attr:`Note.feedback` already). Notes loaded for it
    (:func:`vaultkit.cache.decode_note` given the note's file) keep ``head``, the
    properties whose values are short, and the names of the others,
    ``long``; :attr:`Note.frontmatter` calls ``loader.load()`` for the whole
    mapping when first asked for, :meth:`Note.get_property` only for a long one.

    Attributes
    ----------
    head : dict
        The properties with short values.
    long : tuple of str
        The names of the others.
    loader : object
        Has ``load() -> dict or None``, the note's whole properties, in order
        (:class:`vaultkit.cache.FileProperties`).
    """

    __slots__ = ("head", "long", "loader")

    def __init__(self, head: dict[str, Any], long: tuple[str, ...], loader: Any) -> None:
        self.head = head
        self.long = long
        self.loader = loader


def _get_frontmatter(self: Note) -> dict[str, Any] | None:
    fm = _FM_SLOT.__get__(self, Note)
    if fm.__class__ is LazyProperties:
        fm = fm.loader.load()
        _FM_SLOT.__set__(self, fm)
    return fm


def _set_frontmatter(self: Note, value: "dict[str, Any] | LazyProperties | None") -> None:
    _FM_SLOT.__set__(self, value)


Note.frontmatter = property(  # type: ignore[assignment,method-assign]
    _get_frontmatter, _set_frontmatter,
    doc="The note's properties (``dict`` or ``None``); see :class:`Note` and :class:`LazyProperties`.",
)


#: Longer property values are kept as they are (prose rarely repeats; interning it would only cost).
_SHARE_MAX_CHARS = 100


def _share_strings(note: Note) -> None:
    """Replace the often repeated strings of ``note`` by their interned copies, in place.

    A vault repeats property names and short values, link targets, tag names,
    table headers and diagnostic messages in note after note; parsing (or
    loading from the cache) gives every occurrence its own ``str``. Interned,
    each is stored once (about 3 % of a loaded vault's memory). Values are
    unchanged, only which ``str`` object holds them. Called for every note
    parsed by :func:`vaultkit.pool.parse_files`; notes loaded from the cache
    or sent by a worker process get interned strings from :mod:`marshal`.

    >>> n = Note("A.md", frontmatter={"".join(["ti", "tle"]): "A"}, tag_uses=[TagUse("".join(["x", "y"]), 1)])
    >>> _share_strings(n)
    >>> next(iter(n.frontmatter)) is sys.intern("title"), n.tag_uses[0].name is sys.intern("xy")
    (True, True)
    """
    intern = sys.intern
    fm = note.frontmatter
    if fm:  # re-keyed in place: the dict stays the same object, in the same order
        items = [(intern(k) if k.__class__ is str else k,
                  intern(v) if v.__class__ is str and len(v) <= _SHARE_MAX_CHARS
                  else _shared_list(v) if v.__class__ is list else v)
                 for k, v in fm.items()]
        fm.clear()
        fm.update(items)
    lines = note.frontmatter_lines
    if lines:
        items = [(intern(k) if k.__class__ is str else k, v) for k, v in lines.items()]
        lines.clear()
        lines.update(items)
    for link in note.links:
        if link.target.__class__ is str:
            link.target = intern(link.target)
        if link.heading.__class__ is str:
            link.heading = intern(link.heading)
    for use in note.tag_uses:
        if use.name.__class__ is str:
            object.__setattr__(use, "name", intern(use.name))  # frozen: the value stays equal
    for table in note.tables:
        table.header = [intern(h) if h.__class__ is str else h for h in table.header]
    for diag in note.diagnostics:
        if diag.message.__class__ is str:
            object.__setattr__(diag, "message", intern(diag.message))


def _shared_list(value: list) -> list:
    """``value`` with its short strings replaced by interned copies, in place."""
    for i, item in enumerate(value):
        if item.__class__ is str and len(item) <= _SHARE_MAX_CHARS:
            value[i] = sys.intern(item)
    return value


def jsonable(value: Any) -> Any:
    """Return ``value`` with dates turned into ISO strings and tuples into lists.

    Examples
    --------
    >>> import datetime
    >>> jsonable({"d": datetime.date(2024, 5, 1), "l": (1, 2)})
    {'d': '2024-05-01', 'l': [1, 2]}
    """
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, (_dt.date, _dt.datetime, _dt.time)):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return value
