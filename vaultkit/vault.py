"""The loaded vault: discover → parse → resolve → tiers, with the graph built on demand.

Examples
--------
>>> from vaultkit import Vault                       # doctest: +SKIP
>>> vault = Vault.load("vault")                       # doctest: +SKIP
>>> sorted(vault.notes)[:1]                           # doctest: +SKIP
['AI/Production AI Techniques Tiered Table.md']
"""

from __future__ import annotations

import os
import stat
import time
import zlib
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from .config import Config, load_config
from .discover import discover, disk_path
from .errors import VaultNotFoundError
from .frontmatter import MARKER_KEY, is_marker
from .model import Diagnostic, Note
from .parse import parse_note
from .resolve import NameIndex, resolve_vault
from .tiers import TechniqueRow, read_tier_tables, unpack_tier_tables

if TYPE_CHECKING:  # pragma: no cover
    import networkx as nx

    from .feedback import FeedbackLoop

__all__ = ["Vault", "GENERATOR_KEY"]

#: Diagnostics of link resolution (:func:`vaultkit.resolve.resolve_vault`), made again by :meth:`Vault.after_write`.
_LINK_CODES = frozenset({"VK101", "VK102", "VK103", "VK104"})

#: Frontmatter key that marks a note as generated (and owned) by vaultkit.
GENERATOR_KEY = MARKER_KEY

#: How the ``VK004`` diagnostic of a file or folder that could not be read begins (see :meth:`Vault.unread`).
CANNOT_READ = "cannot read"


def _unread(note: Note) -> bool:
    """Whether ``note``'s file could not be read (see :meth:`Vault.unread`)."""
    return any(d.code == "VK004" and d.message.startswith(CANNOT_READ) for d in note.diagnostics)


def _carries_marker(note: Note) -> bool:
    """Whether ``note`` is UTF-8 and its ``vaultkit`` property is vaultkit's marker (what the writer takes for
    vaultkit's, :func:`vaultkit.writer.ownership`), wherever the note lies."""
    return note.encoding == "utf-8" and is_marker(note.get_property(GENERATOR_KEY))


@dataclass
class Vault:
    """A parsed Obsidian vault.

    Attributes
    ----------
    root : Path
        The vault folder.
    config : Config
        Settings read from ``vaultkit.toml`` / ``pyproject.toml``.
    files : list of str
        Every file of the vault (notes and attachments), vault-relative POSIX.
    notes : dict of str to Note
        Every note by vault path, in sorted order, generated notes included.
    techniques : list of TechniqueRow
        Rows of every tier table in the user's notes, in note order.
    index : NameIndex
        The name index the links were resolved with.
    cached : bool
        Loaded with the cache: :meth:`previous_memo` reads what an earlier run
        stored, :meth:`save_memos` stores :attr:`memo_updates` for the next.
    memo_updates : dict of str to object
        Results derived from many notes that a later run may reuse, by kind
        (filled by e.g. :func:`vaultkit.techniques.vault_mentions`).
    derived : dict of str to object
        Results other modules derive from this vault and keep for as long as
        it lives (merged technique rows, mentions found), by kind.
    """

    root: Path
    config: Config
    files: list[str]
    notes: dict[str, Note]
    index: NameIndex
    techniques: list[TechniqueRow] = field(default_factory=list)
    diagnostics: list[Diagnostic] = field(default_factory=list)
    cache_notice: str | None = None
    cached: bool = False
    memo_updates: dict[str, Any] = field(default_factory=dict)
    _previous_memos: "dict[str, Any] | None" = None
    _graph: "nx.MultiDiGraph | None" = None
    _feedback: "list[FeedbackLoop] | None" = None
    _user_notes: "tuple[int, list[Note]] | None" = None
    #: results other modules derive from this vault and keep while it lives (see vaultkit.techniques)
    derived: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def load(cls, root: str | os.PathLike[str], config: Config | None = None, *,
             cache: bool = False, progress: "Callable[[int], None] | None" = None,
             parse_generated: bool = True, lazy: bool | None = None) -> "Vault":
        """Read and parse every note of the vault at ``root``.

        Parameters
        ----------
        root : path-like
            Vault folder.
        config : Config, optional
            Settings; read from the vault when omitted.
        cache : bool
            Reuse parsed notes from ``.vaultkit/cache.sqlite`` when their size
            and mtime are unchanged.
        progress : callable, optional
            Called with the number of notes just loaded (for a progress bar).
        parse_generated : bool
            ``False`` reads vaultkit's generated notes in the output folder only
            by their frontmatter's marker line (:attr:`~vaultkit.model.Note.partial`;
            see :func:`vaultkit.parse.parse_note`): all
            ``sync`` needs of them, at a fraction of the cost. A user link to a
            heading or block of one still gets it read whole. Links, tags and
            diagnostics of generated notes are then missing: lint and the graph
            load with the default.
        lazy : bool, optional
            Keep no note's text nor long property values in memory: they are
            read from the note's file when asked for (a text only while the
            file holds the bytes parsed; long properties from the note's cache
            row, else as the file is then: :class:`~vaultkit.cache.CachedProperties`,
            :class:`~vaultkit.cache.FileProperties`), which holds a fraction of
            the memory when few texts are read (sync, the graph: 128 MB instead
            of 474 MB for 5,125 notes, 216 MB). Default: ``not parse_generated``.

        Returns
        -------
        Vault

        Raises
        ------
        VaultNotFoundError
            When ``root`` is not a folder.
        ConfigError
            When the vault's configuration is invalid.
        """
        started_ns = time.time_ns()  # (notes read whole later are stored to be confirmed if changed since)
        root = Path(root)
        if not root.is_dir():
            raise VaultNotFoundError(f"vault folder not found: {root}")
        if config is None:
            config = load_config(root)
        bad_names: list[str] = []
        unreadable: list[tuple[str, str]] = []
        files, note_paths = discover(root, config.exclude, bad_names=bad_names, unreadable=unreadable)
        if unreadable and unreadable[0][0] == "":
            raise VaultNotFoundError(f"cannot read the vault folder {root}: {unreadable[0][1]}")
        from .pool import load_notes  # cache hits, then one (pooled when large) parse of the misses

        partial_under = None if parse_generated else config.output.strip("/") + "/"
        notes, notice = load_notes(root, note_paths, cache=cache, progress=progress, partial_under=partial_under,
                                   lazy=lazy)
        # A generated note read whole because a link names a heading or block of it: cached whole (still
        # unresolved, so encoded at once), so that the next run need not parse it again.
        store = None

        def keep_completed(note: Note) -> None:
            nonlocal store
            if store is None:
                from .cache import NoteCache

                store = NoteCache.open(root, since_ns=started_ns)
            store.put(note, note_paths.get(note.path), encode_now=True)

        try:
            index = resolve_vault(notes, files, root, completed=keep_completed if cache else None)
        finally:
            if store is not None:
                store.close()
        vault = cls(root=root, config=config, files=files, notes=notes, index=index, cache_notice=notice,
                    cached=cache)
        for shown in bad_names:
            vault.diagnostics.append(Diagnostic("VK004", "file name is not valid UTF-8: left out (rename it)",
                                                shown, 0, 0, "error"))
        for folder, reason in unreadable:
            vault.diagnostics.append(Diagnostic(
                "VK004", f"{CANNOT_READ} folder: {reason} (the files in it are left out)", folder, 0, 0, "error"))
        # tier tables: read by the parser (in the pool's workers, or an earlier run's, from the cache)
        for note in vault.user_notes():
            rows = None
            if note.tier_rows is not None:
                try:
                    rows, diags = unpack_tier_tables(note.path, note.tier_rows)
                except (TypeError, ValueError):  # not what this code packs: read the tables again
                    rows = None
            if rows is None:
                if not note.tables:
                    continue
                rows, diags = read_tier_tables(note)  # (a note not made by the parser)
            vault.techniques.extend(rows)
            note.diagnostics.extend(diags)
        return vault

    def after_write(self, created: Iterable[str], removed: Iterable[str], updated: Iterable[str] = ()) -> int:
        """Take in the files a write created, removed and updated; resolve again the links they change.

        The vault was resolved before the write: on a first sync every link
        to a technique note not yet written counted as unresolved. Resolved
        again (their link diagnostics, ``VK101``–``VK104``, made again) are
        only the notes holding a link whose file name is that of a created or
        removed file, or that names a heading or block of an updated generated
        note; a user note whose regions the write filled is parsed again. Of
        the created and updated generated notes, only those such a link names
        a heading or block of are read. :attr:`notes` lacks the other created
        notes.

        Parameters
        ----------
        created, removed, updated : iterable of str
            Vault paths of the files the write created, removed and updated.

        Returns
        -------
        int
            Number of notes whose links were resolved again.
        """
        from .pool import load_notes
        from .resolve import _key

        present = set(self.files)
        removed = set(removed) & present
        created = sorted(set(created) - present)
        updated = {path for path in updated if path in self.notes}
        if not created and not removed and not updated:
            return 0
        names = {_key(path).rsplit("/", 1)[-1] for path in created + sorted(removed)}
        for path in removed:
            self.notes.pop(path, None)
        self.files = [f for f in self.files if f not in removed] + created
        self._user_notes = self._graph = self._feedback = None
        regions_filled = sorted(p for p in updated if not self.is_generated(self.notes[p]))
        updated -= set(regions_filled)  # (what is left: generated notes made again)
        if regions_filled:
            # (by the name as spelled on disk: an NFD name, from macOS, is not the NFC vault path)
            parsed, _notice = load_notes(self.root, {p: disk_path(self.root, p) for p in regions_filled}, cache=False)
            for path, note in parsed.items():
                note.diagnostics.extend(read_tier_tables(note)[1])
                self.notes[path] = note

        def changes(note: Note) -> bool:
            if note.path in regions_filled:
                return True
            for link in note.links:
                if link.resolved in updated and (link.heading is not None or link.block is not None):
                    return True
                if names and link.target:  # (most syncs create and remove nothing)
                    base = _key(link.target).rsplit("/", 1)[-1]
                    if base in names or base + ".md" in names:
                        return True
            return False

        again = [note for note in self.notes.values() if note.links and changes(note)]
        if not again:
            return 0
        # of the created and updated notes, only those a link names a heading or block of are read (whole)
        parts = [(note, link) for note in again for link in note.links
                 if link.heading is not None or link.block is not None]
        index = (NameIndex(self.files) if created or removed else self.index) if parts else None
        read = {index.resolve(link.target, note.path) for note, link in parts} if index is not None else set()
        read = {path: disk_path(self.root, path) for path in sorted(updated) + created if path in read}
        if read:
            self.notes.update(load_notes(self.root, read, cache=False)[0])
        for note in again:
            note.diagnostics = [d for d in note.diagnostics if d.code not in _LINK_CODES]
            for link in note.links:
                link.resolved, link.ambiguous, link.candidates = None, False, ()
        self.index = resolve_vault(self.notes, self.files, self.root, only=again)
        return len(again)

    def previous_memo(self, kind: str) -> Any | None:
        """What :meth:`save_memos` stored under ``kind`` in an earlier run of this code (``None`` without the cache).

        Every memo is read at the first call (one open of the cache); each is
        handed out once and then forgotten (its reader keeps what it needs).
        """
        if not self.cached:
            return None
        if self._previous_memos is None:
            from .cache import NoteCache

            store = NoteCache.open(self.root)
            try:
                self._previous_memos = store.get_memos()
            finally:
                store.close()
        parts = _MEMO_PARTS.get(kind)
        if parts is None:
            return self._previous_memos.pop(kind, None)
        # a memo stored in parts: whole only when every part is there, of the same run
        found = [self._previous_memos.pop(f"{kind}/{i:02d}", None) for i in range(parts)]
        if not all(isinstance(p, tuple) and len(p) == 2 and isinstance(p[1], dict) for p in found):
            return None
        head = found[0][0]
        if any(p[0] != head for p in found):
            return None
        whole: dict = {}
        for _head, entries in found:
            whole.update(entries)
        return (head, whole)

    def save_memos(self) -> None:
        """Store :attr:`memo_updates` in the vault's cache (nothing without the cache); never raises on a bad cache.

        A memo that is the same as the one stored is not written again; a large
        memo of many entries (:data:`_MEMO_PARTS`) is stored in parts, so that
        a run that changed a few notes' entries rewrites only their parts.
        """
        if not self.cached or not self.memo_updates:
            return
        from .cache import NoteCache

        memos: dict[str, Any] = {}
        for kind, value in self.memo_updates.items():
            parts = _MEMO_PARTS.get(kind)
            if parts is None or not (isinstance(value, tuple) and len(value) == 2 and isinstance(value[1], dict)):
                memos[kind] = value
                continue
            head, entries = value
            split: list[dict] = [{} for _ in range(parts)]
            for key, entry in entries.items():
                split[_memo_part(key, parts)][key] = entry
            for i, part in enumerate(split):
                memos[f"{kind}/{i:02d}"] = (head, part)
        store = NoteCache.open(self.root)
        try:
            store.put_memos(memos)  # all or none: some are only right together (see generate._Reuse)
        finally:
            store.close()

    def is_generated(self, note: Note) -> bool:
        """Whether ``note`` is one vaultkit generated: it sits in the output folder, is UTF-8 and carries the
        marker (:func:`vaultkit.frontmatter.is_marker`) — what the writer takes for vaultkit's
        (:func:`vaultkit.writer.ownership`), edited or not."""
        # A note there that cannot be read counts too: whose it is is unknown, so it keeps its name (a note of
        # the user's would make the plan write "<name> 2" and link to that) and it is not one of the user's
        # notes; the writer, which reads each file before it writes it, leaves it alone and says so.
        return note.path.startswith(self.config.output.rstrip("/") + "/") and (_carries_marker(note) or _unread(note))

    def is_stray_generated(self, note: Note) -> bool:
        """Whether ``note`` is one vaultkit generated that lies outside the output folder (an earlier
        ``output``, or a copy): its marker names vaultkit as the generator."""
        return not note.path.startswith(self.config.output.rstrip("/") + "/") and _carries_marker(note)

    def user_notes(self) -> list[Note]:
        """Notes the user wrote, in path order: every note except vaultkit's generated ones (also those
        outside the output folder, see :meth:`is_stray_generated`: their tables and links are vaultkit's)."""
        # (asked for a dozen times per sync: worked out once per set of notes; a new list each time)
        if self._user_notes is None or self._user_notes[0] != len(self.notes):
            found = [n for n in self.notes.values() if not self.is_generated(n) and not self.is_stray_generated(n)]
            self._user_notes = (len(self.notes), found)
        return list(self._user_notes[1])

    @property
    def graph(self) -> "nx.MultiDiGraph":
        """The knowledge graph (built on first use); see :func:`vaultkit.graph.build_graph`."""
        if self._graph is None:
            from .graph import build_graph

            self._graph = build_graph(self)
        return self._graph

    @property
    def feedback_loops(self) -> "list[FeedbackLoop]":
        """What each user note's ``FeedbackLoop`` and ``Emergence`` say (read once, then kept);
        see :func:`vaultkit.feedback.read_feedback`."""
        if self._feedback is None:
            from .feedback import read_feedback

            # Texts decoded one at a time, as read_feedback asks for them (a dict of every
            # decoded text would hold the whole vault as str again: up to 4x its size).
            self._feedback = read_feedback(self, texts=_NoteTexts(self.user_notes()))
        return self._feedback

    @staticmethod
    def is_unread(note: Note) -> bool:
        """Whether ``note``'s file could not be read (a dangling symlink, no permission): the note is then
        left out of what is made of the vault (the index lists it not, the counts count it not), and
        :meth:`unread` names it."""
        return _unread(note)

    def unread(self) -> list[Diagnostic]:
        """The files and folders this load could not read or left out (``VK004``), sorted by path.

        What they hold is missing from everything made of this vault (links,
        tags, tier tables, generated notes), unlike a note that is read but
        broken. A folder's path ends in ``/``. Files and folders whose name is
        not valid UTF-8 are left out too.

        Returns
        -------
        list of Diagnostic
            ``path`` is the vault path, ``message`` names the reason
            (``cannot read file: Permission denied (left out)``).

        Examples
        --------
        >>> import tempfile
        >>> root = Path(tempfile.mkdtemp())
        >>> _ = (root / "A.md").write_text("[[B]]")
        >>> Vault.load(root).unread()  # every file was read
        []
        """
        out = [d for d in self.diagnostics if d.code == "VK004"]  # (folders, and names not valid UTF-8)
        out += [d for note in self.notes.values() for d in note.diagnostics
                if d.code == "VK004" and d.message.startswith(CANNOT_READ)]
        return sorted(out, key=Diagnostic.sort_key)

    def all_diagnostics(self) -> list[Diagnostic]:
        """Every diagnostic of every note plus vault-wide ones, sorted by path, line, column, code."""
        out = list(self.diagnostics)
        for note in self.notes.values():
            out.extend(note.diagnostics)
        return sorted(out, key=Diagnostic.sort_key)


#: Memos of the shape ``(head, {note path: entry})`` stored in this many parts (by note path; see
#: :meth:`Vault.save_memos`): the technique mentions of every note (150 MB at 10,000 notes).
_MEMO_PARTS = {"mentions": 64}


def _memo_part(key: str, parts: int) -> int:
    """Which part of a memo stored in parts holds ``key`` (the same in every run)."""
    return zlib.crc32(key.encode("utf-8", "surrogatepass")) % parts


class _NoteTexts(Mapping[str, str]):
    """:attr:`Note.text` of ``notes`` by vault path, decoded when looked up (never all at once)."""

    def __init__(self, notes: list[Note]) -> None:
        self._notes = {n.path: n for n in notes}

    def __getitem__(self, path: str) -> str:
        return self._notes[path].text

    def __iter__(self) -> Iterator[str]:
        return iter(self._notes)

    def __len__(self) -> int:
        return len(self._notes)


def read_regular(abspath: "str | os.PathLike[str]", *, follow_symlinks: bool = True
                 ) -> "tuple[bytes, os.stat_result]":
    """The bytes of a regular file and its stat (taken before reading).

    Raises
    ------
    OSError
        When it cannot be read, or is no regular file: a named pipe called
        ``x.md`` must not hang the run (it is opened without blocking and not read).
        With ``follow_symlinks=False`` a symbolic link is refused too.
    """
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
    if not follow_symlinks:
        flags |= getattr(os, "O_NOFOLLOW", 0)
    fd = os.open(abspath, flags)
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise OSError("not a regular file")
        with open(fd, "rb", closefd=False) as fh:
            return fh.read(), st
    finally:
        os.close(fd)


def _read_note(rel: str, abspath: Path, *, partial_if: str | None = None) -> Note:
    """Read one file once and parse it; an unreadable file becomes a note with a diagnostic.

    ``partial_if``: see :func:`vaultkit.parse.parse_note`.
    """
    try:
        data, st = read_regular(abspath)
    except OSError as exc:
        note = Note(path=rel)
        note.diagnostics.append(Diagnostic("VK004", f"{CANNOT_READ} file: {exc.strerror or exc} (left out)",
                                           rel, 0, 0, "error"))
        return note
    return parse_note(rel, data, mtime_ns=st.st_mtime_ns, partial_if=partial_if)
