"""File names for generated notes, from titles (syntax document §8).

A generated name must be legal on Windows, macOS and Linux at once, linkable
in Obsidian (no ``# ^ [ ] |``, no ``%%``), and distinct from every other file
name in the vault after ``casefold()`` and NFC, because links resolve by name
vault-wide. :func:`safe_name` cleans one title; :class:`NameAllocator` hands
out distinct paths; :class:`Linker` writes wikilinks that resolve to exactly
the files written.

Examples
--------
>>> alloc = NameAllocator(["Sources.md"])
>>> [alloc.allocate(t, "Highlights") for t in ("File: A", "File: B", "Notes ^2 / summary", "CON")]
['Highlights/File A.md', 'Highlights/File B.md', 'Highlights/Notes 2 summary.md', 'Highlights/_CON.md']
>>> linker = Linker(["Sources.md", "Highlights/File A.md"])
>>> linker.wikilink("Highlights/File A.md", "File: A")
'[[File A|File: A]]'
"""

from __future__ import annotations

import posixpath
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable

from pathvalidate import ValidationError, validate_filename

__all__ = ["safe_name", "name_key", "NameAllocator", "Linker", "clean_display", "is_safe_name",
           "MAX_NAME", "MAX_PATH"]

#: Longest generated name (characters, without extension or suffix), §8.2 rule 4.
MAX_NAME = 200
#: Longest vault-relative path (characters), well under Windows' 260 for the full path.
MAX_PATH = 240
#: Longest file name in UTF-8 bytes (most file systems allow 255).
_MAX_BYTES = 240

_FORBIDDEN = re.compile(r'[\\/:*?"<>|#^\[\]\x00-\x1f\x7f-\x9f]')
_INVISIBLE = re.compile("[\u200b\u2060\ufeff\u00ad\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c]")
_SPACES = re.compile(r"\s+")
_DEVICE = re.compile(r"^(?:CON|PRN|AUX|NUL|CONIN\$|CONOUT\$|COM[0-9¹²³]|LPT[0-9¹²³])(?:\..*)?$", re.I)
# A title safe_name leaves as it is: ASCII letters, digits and harmless punctuation, single spaces, no dot
# or space at either end (the common case: most technique names and titles).
_PLAIN = re.compile(r"[A-Za-z0-9(_'\-](?:[A-Za-z0-9()_',&+!=~;@$.\-]| (?! ))*(?<![ .])\Z")


def _cut(name: str, max_chars: int, max_bytes: int) -> str:
    """Cut ``name`` to ``max_chars`` characters and ``max_bytes`` UTF-8 bytes.

    >>> _cut("abcdef", 4, 100), _cut("ééé", 10, 4), _cut("ae\u0301x", 2, 100)
    ('abcd', 'éé', 'a')
    """
    full = name
    if len(name) > max_chars:
        name = name[:max_chars]
    while len(name.encode("utf-8")) > max_bytes:
        name = name[:-1]
    if len(name) < len(full):  # the cut must not split a character from its combining marks
        while name and unicodedata.combining(full[len(name)]):
            name = name[:-1]
    return name


def _trim(name: str) -> str:
    name = _SPACES.sub(" ", name).strip(" .")
    return name.lstrip(".").strip(" ")


def safe_name(title: str, replacement: str = " ", max_len: int = MAX_NAME) -> str:
    """A file name (without extension) for ``title`` that every system and Obsidian accept.

    Follows §8.2: NFC; whitespace runs (NBSP included) become one space; each of
    ``\\ / : * ? " < > |``, ``# ^ [ ]`` and control characters becomes
    ``replacement``; invisible direction and zero-width marks go; ``%%``
    collapses to ``%``; spaces and dots are trimmed at both ends; Windows
    device names get a ``_`` prefix; at most ``max_len`` characters (and 240
    UTF-8 bytes); ``"Untitled"`` when nothing is left.

    Parameters
    ----------
    title : str
        Any text.
    replacement : str
        What a forbidden character becomes (itself cleaned; default a space).
    max_len : int
        Longest result in characters.

    Examples
    --------
    >>> safe_name("Q3: Plan / Budget?"), safe_name("C# tips [draft]"), safe_name("a|b")
    ('Q3 Plan Budget', 'C tips draft', 'a b')
    >>> safe_name("CON"), safe_name("con.txt"), safe_name(".hidden"), safe_name("name. ")
    ('_CON', '_con.txt', 'hidden', 'name')
    >>> safe_name("100%% done"), safe_name("Cafe\\u0301") == "Caf\\u00e9", safe_name("")
    ('100% done', True, 'Untitled')
    >>> safe_name("LoRA / QLoRA (adapter tuning)"), safe_name("Dune: Messiah"), safe_name("../../x")
    ('LoRA QLoRA (adapter tuning)', 'Dune Messiah', 'x')
    """
    if title.__class__ is str and len(title) <= min(max_len, _MAX_BYTES) and _PLAIN.match(title) \
            and not _DEVICE.match(title):
        return title  # (what _sanitize would give: checked in tests/test_names.py)
    return _sanitize(title, replacement, max_len)


def _sanitize(title: str, replacement: str, max_len: int) -> str:
    """:func:`safe_name` without its shortcut for plain titles."""
    if replacement and (_FORBIDDEN.search(replacement) or "%%" in replacement or "." in replacement):
        replacement = " "
    name = unicodedata.normalize("NFC", str(title))
    name = _INVISIBLE.sub("", name)
    name = _SPACES.sub(" ", name)
    name = _FORBIDDEN.sub(replacement, name)
    name = re.sub(r"%{2,}", "%", name)
    name = _trim(name)
    if _DEVICE.match(name):
        name = "_" + name
    name = _trim(_cut(name, max_len, _MAX_BYTES))
    if _DEVICE.match(name):  # pragma: no cover - only after a cut to a device name
        name = "_" + name
    return name or "Untitled"


def is_safe_name(name: str) -> bool:
    """Whether a file name (with extension) is legal everywhere and linkable in Obsidian.

    >>> is_safe_name("File A.md"), is_safe_name("File: A.md"), is_safe_name("a#b.md"), is_safe_name("CON.md")
    (True, False, False, False)
    """
    try:
        validate_filename(name, platform="universal")
    except ValidationError:
        return False
    if _FORBIDDEN.search(name) or "%%" in name or name != name.strip(" .") or name.startswith("."):
        return False
    return not _DEVICE.match(name)


def name_key(name: str) -> str:
    """The key under which two names clash: NFC, then ``casefold()``, then NFC again.

    >>> name_key("Straße.md") == name_key("STRASSE.MD"), name_key("Cafe\\u0301") == name_key("CAFÉ")
    (True, True)
    """
    return unicodedata.normalize("NFC", unicodedata.normalize("NFC", name).casefold())


class NameAllocator:
    """Hands out distinct, safe paths for generated notes.

    Parameters
    ----------
    existing : iterable of str
        Vault-relative paths of every file that stays in the vault: all files
        outside the output folder, plus any user files inside it. Leave out
        the generated notes of earlier runs so that names stay stable.
    max_len : int
        Longest name in characters (before any ``" 2"`` suffix).

    Notes
    -----
    Two names clash when their file names (extension included) have the same
    :func:`name_key`, wherever they are in the vault (links resolve by name).
    A clash gets a suffix ``" 2"``, ``" 3"``…; allocate in a stable order
    (e.g. sorted titles) so that names do not move between runs.

    Examples
    --------
    >>> a = NameAllocator(["notes/note.md"])
    >>> a.allocate("Note", "_vaultkit"), a.allocate("NOTE", "_vaultkit"), a.allocate("Note", "_vaultkit/x")
    ('_vaultkit/Note 2.md', '_vaultkit/NOTE 3.md', '_vaultkit/x/Note 4.md')
    """

    def __init__(self, existing: Iterable[str] = (), max_len: int = MAX_NAME) -> None:
        self.max_len = max_len
        self.taken: set[str] = set()
        for path in existing:
            self.taken.add(name_key(posixpath.basename(path)))

    def reserve(self, path: str) -> None:
        """Mark ``path``'s file name as used."""
        self.taken.add(name_key(posixpath.basename(path)))

    def allocate(self, title: str, folder: str, ext: str = ".md", replacement: str = " ") -> str:
        """A new vault path ``folder/<safe name><ext>`` whose name is not yet taken.

        ``folder`` is a vault-relative POSIX folder that the caller chose and
        trusts (the output folder or below); it is not cleaned here.
        """
        folder = folder.strip("/")
        room = MAX_PATH - len(folder) - 1 - len(ext)
        limit = max(16, min(self.max_len, room - 4))  # 4: room for " 999"
        base = safe_name(title, replacement=replacement, max_len=limit)
        candidate = base
        n = 1
        while name_key(candidate + ext) in self.taken:
            n += 1
            candidate = f"{base} {n}"
        self.taken.add(name_key(candidate + ext))
        return f"{folder}/{candidate}{ext}" if folder else f"{candidate}{ext}"


def clean_display(text: str, table: bool = False) -> str:
    """Display text for a wikilink: no ``[[``, ``]]`` or newlines; ``|`` escaped in tables.

    >>> clean_display("Q: [[x]]\\nnext"), clean_display("a | b", table=True)
    ('Q: x next', 'a \\\\| b')
    """
    text = _SPACES.sub(" ", str(text).replace("[[", "").replace("]]", "")).strip()
    if table:
        text = text.replace("\\|", "|").replace("|", "\\|")
    return text


class Linker:
    """Writes wikilinks that resolve to the intended file (§8.2 rule 6).

    Parameters
    ----------
    files : iterable of str
        Every file of the vault after the write: existing files and the
        generated notes.
    always_path : bool
        Always link with the full vault path (without ``.md``), so that a later
        same-named file at the vault root cannot capture the link.

    Examples
    --------
    >>> lk = Linker(["A/Note.md", "B/Note.md", "Solo.md", "_vk/Dune Messiah.md", "Top.md", "A/Top.md"])
    >>> lk.target("A/Note.md"), lk.target("Solo.md"), lk.target("_vk/Dune Messiah.md"), lk.target("Top.md")
    ('A/Note', 'Solo', 'Dune Messiah', '/Top')
    >>> lk.wikilink("_vk/Dune Messiah.md", "Dune: Messiah"), lk.wikilink("Solo.md", "Solo")
    ('[[Dune Messiah|Dune: Messiah]]', '[[Solo]]')
    >>> lk.wikilink("A/Note.md", "a | b", table=True)
    '[[A/Note\\\\|a \\\\| b]]'
    """

    def __init__(self, files: Iterable[str], always_path: bool = False) -> None:
        self.always_path = always_path
        self.counts: Counter[str] = Counter(name_key(posixpath.basename(f)) for f in files)

    def target(self, path: str) -> str:
        """The link path for vault file ``path``: bare name when unique, else full path (``/Name`` for a
        file at the vault root whose name another file has: exact, where a bare name is ambiguous,
        VK102); no ``.md``."""
        stem = path[:-3] if path.lower().endswith(".md") else path
        base = posixpath.basename(path)
        unique = self.counts.get(name_key(base), 0) <= 1
        if not self.always_path and unique:
            return posixpath.basename(stem)
        return stem if unique or "/" in stem else "/" + stem

    def wikilink(self, path: str, display: str | None = None, table: bool = False) -> str:
        """``[[target|display]]`` (display left out when it equals the target)."""
        target = self.target(path)
        sep = "\\|" if table else "|"
        if display is None:
            return f"[[{target}]]"
        shown = clean_display(display, table=table)
        if not shown or shown == target:
            return f"[[{target}]]"
        return f"[[{target}{sep}{shown}]]"
