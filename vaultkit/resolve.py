"""Link resolution exactly as Obsidian does it (syntax document §6).

A :class:`NameIndex` is built once per vault from every file (notes and
attachments); each lookup then costs a dict access plus a scan of the few
files that share the link's file name. Matching is case-insensitive and
NFC-normalised; ``.md`` is optional; aliases never resolve a link.
"""

from __future__ import annotations

import os

import posixpath
import re
import unicodedata
from collections.abc import Callable, Iterable, Set as AbstractSet

from .codes import severity_of
from .model import Diagnostic, Heading, Note
from .parse import complete_note

__all__ = ["NameIndex", "resolve_vault", "heading_key", "find_heading"]


def _key(s: str) -> str:
    if not s.isascii():
        s = unicodedata.normalize("NFC", s)
    return s.lower()


class NameIndex:
    """Index of vault files by lower-cased file name.

    Parameters
    ----------
    files : iterable of str
        Vault-relative POSIX paths of every file in the vault.

    Examples
    --------
    >>> idx = NameIndex(["Inbox.md", "Projects/Note.md", "Archive/Note.md", "Assets/img.png"])
    >>> idx.resolve("Note", "Inbox.md")
    'Archive/Note.md'
    >>> idx.resolve("Note", "Projects/Todo.md")
    'Projects/Note.md'
    >>> idx.resolve("img", "Inbox.md") is None
    True
    """

    def __init__(self, files: Iterable[str]) -> None:
        self.by_name: dict[str, list[str]] = {}
        self.lower: dict[str, str] = {}
        for f in files:
            lf = _key(f)
            self.lower[f] = lf
            self.by_name.setdefault(lf[lf.rfind("/") + 1:], []).append(f)  # (posixpath.basename)

    @staticmethod
    def name_keys(files: Iterable[str]) -> set[str]:
        """The keys of :attr:`by_name` (lower-cased file names) that ``files`` are filed under.

        >>> sorted(NameIndex.name_keys(["A/Note.md", "img.PNG"]))
        ['img.png', 'note.md']
        """
        keys = set()
        for f in files:
            lf = _key(f)
            keys.add(lf[lf.rfind("/") + 1:])
        return keys

    @staticmethod
    def may_answer(path: str, name_keys: AbstractSet[str]) -> bool:
        """Whether a file filed under one of ``name_keys`` (:meth:`name_keys`) could be a candidate for a
        link to ``path``: when none could, adding or removing those files changes nothing the link resolves to.

        >>> NameIndex.may_answer("Tiers/Tier 1", {"tier 1.md"}), NameIndex.may_answer("Notes/Note", {"tier 1.md"})
        (True, False)
        """
        n = _key(path)
        base = n[n.rfind("/") + 1:]
        return base in name_keys or base + ".md" in name_keys

    def candidates(self, path: str) -> list[str]:
        """Files whose name could answer ``path`` (before the tie-break)."""
        n = _key(path)
        base = posixpath.basename(n)
        cands = self.by_name.get(base) if "." in base else None
        if not cands:
            cands = self.by_name.get(base + ".md")
        return cands or []

    def resolve(self, path: str, source: str) -> str | None:
        """Vault path that ``path`` reaches from note ``source``, or ``None`` (§6.1)."""
        return self.resolve_ex(path, source)[0]

    def resolve_ex(self, path: str, source: str) -> tuple[str | None, list[str]]:
        """Like :meth:`resolve`, also returning the candidates a bare link could mean."""
        if path == "":
            return source, []
        n = _key(path)
        base = n[n.rfind("/") + 1:]  # (posixpath.basename)
        cands = self.by_name.get(base) if "." in base else None
        if not cands:
            n = n + ".md"
            cands = self.by_name.get(base + ".md")
        if not cands:
            return None, []
        if "/" not in n and len(cands) == 1:
            return cands[0], []
        folder = _key(posixpath.dirname(source))
        if n.startswith(("./", "../")):
            n = posixpath.normpath(posixpath.join(folder, n))
        n = n[1:] if n.startswith("/") else n
        lower = self.lower
        for f in cands:
            if lower[f] == n:
                if "/" not in path and len(cands) > 1:  # a bare name (``/Name`` picks the root file)
                    return f, list(cands)
                return f, self._case_twins(f, cands)
        if path.startswith("/"):
            return None, []
        tail = [f for f in cands if lower[f].endswith(n)]
        near = sorted((f for f in tail if lower[f].startswith(folder)), key=lambda f: (len(f), f))
        far = sorted((f for f in tail if not lower[f].startswith(folder)), key=lambda f: (len(f), f))
        ordered = near + far
        if not ordered:
            return None, []
        if "/" not in path and len(cands) > 1:
            return ordered[0], list(cands)
        return ordered[0], self._case_twins(ordered[0], cands)

    def _case_twins(self, winner: str, cands: list[str]) -> list[str]:
        """Files whose paths differ from ``winner`` only in case: Obsidian's pick among them is arbitrary."""
        if len(cands) < 2:
            return []
        key = self.lower[winner]
        twins = [f for f in cands if self.lower[f] == key]
        return twins if len(twins) > 1 else []


# punctuation becomes a space, then each run of whitespace one space: both at once
_PUNCT_WS = re.compile(r"[!\"#$%&()*+,.:;<=>?@^`{|}~/\[\]\\\s]+")


def heading_key(text: str) -> str:
    """Normalise heading text for matching a link's heading part (§6.2).

    >>> heading_key("Hello, World!") == heading_key("hello world")
    True
    """
    return _PUNCT_WS.sub(" ", text).strip().casefold()


def find_heading(headings: list[Heading], subpath: str) -> Heading | None:
    """The heading a ``#A#B`` subpath reaches, or ``None`` (§6.2).

    >>> hs = [Heading("A", 1, 1), Heading("B", 2, 2)]
    >>> find_heading(hs, "A#B").text
    'B'
    >>> find_heading([Heading("B", 2, 1), Heading("A", 1, 2)], "A#B") is None
    True
    """
    top = [h for h in headings if h.top_level]
    return _find_keyed(top, [heading_key(h.text) for h in top], _subpath_keys(subpath))


def _subpath_keys(subpath: str) -> tuple[str, ...]:
    """The :func:`heading_key` of each non-blank part of a ``#A#B`` subpath."""
    return tuple(heading_key(p) for p in subpath.split("#") if p.strip())


def _find_keyed(top: list[Heading], keys: list[str], parts: tuple[str, ...]) -> Heading | None:
    """:func:`find_heading` over the top-level headings and their keys, computed beforehand."""
    if not parts:
        return None
    start = 0
    level = 0
    found: Heading | None = None
    for part in parts:
        found = None
        for idx in range(start, len(top)):
            h = top[idx]
            if h.level > level and keys[idx] == part:
                found = h
                start = idx + 1
                level = h.level
                break
        if found is None:
            return None
    return found


#: A ``VK102`` message names at most this many of the other files a link could mean.
AMBIGUOUS_LISTED = 5


def ambiguous_message(target: str, resolved: str, candidates: tuple[str, ...]) -> str:
    """The ``VK102`` message of a link ``target`` that Obsidian resolves to ``resolved`` among ``candidates``.

    Names the pick and up to :data:`AMBIGUOUS_LISTED` of the other files, then
    how many more there are (a name that 500 folders share would otherwise
    make every such message a list of 500 paths).

    >>> ambiguous_message("Index", "a/Index.md", ("a/Index.md", "b/Index.md"))
    "'Index' matches 2 files; Obsidian picks 'a/Index.md' (also: b/Index.md)"
    >>> ambiguous_message("I", "I0.md", tuple(f"I{n}.md" for n in range(9)))
    "'I' matches 9 files; Obsidian picks 'I0.md' (also: I1.md, I2.md, I3.md, I4.md, I5.md and 3 more)"
    """
    others = [c for c in candidates if c != resolved]
    shown = ", ".join(others[:AMBIGUOUS_LISTED])
    if len(others) > AMBIGUOUS_LISTED:
        shown += f" and {len(others) - AMBIGUOUS_LISTED} more"
    return f"'{target}' matches {len(candidates)} files; Obsidian picks '{resolved}' (also: {shown})"


def resolve_vault(notes: dict[str, Note], files: Iterable[str], root: "str | os.PathLike[str] | None" = None,
                  *, completed: "Callable[[Note], None] | None" = None,
                  only: "Iterable[Note] | None" = None) -> NameIndex:
    """Resolve every link of every note in place and add link diagnostics.

    Fills ``Link.resolved`` (vault path or ``None``), ``Link.ambiguous`` and
    ``Link.candidates``; appends ``VK101`` unresolved, ``VK102`` ambiguous,
    ``VK103`` missing heading and ``VK104`` missing block diagnostics (links
    inside ``%%`` comments are resolved but not reported). A
    :attr:`~vaultkit.model.Note.partial` note that a link names a heading or
    block of is read whole first (:func:`vaultkit.parse.complete_note`; from
    its file under ``root`` when the note does not hold its text), and handed
    to ``completed`` (if given) while it is still unresolved, e.g. to cache it.
    With ``only``, just those notes' links are resolved (``notes`` still
    answers headings and blocks).

    Returns
    -------
    NameIndex
        The index, for later lookups.
    """
    index = NameIndex(files)
    block_sets: dict[str, set[str]] = {}
    # Kept for the whole pass, so kept lean: few container objects for the cyclic GC to count and walk.
    heading_sets: dict[str, tuple[list[Heading], list[str]]] = {}  # a note's top-level headings, their keys
    subpath_keys: dict[str, tuple[str, ...]] = {}
    answers: dict[str, dict] = {}  # folder -> target -> resolved path (or (path, candidates) when ambiguous)
    anywhere: dict[str, str | None] = {}  # target -> resolved path, for targets whose answer is the same everywhere
    no_cands: tuple[str, ...] = ()
    messages: dict = {}  # diagnostic message by target (VK101) or by answer (VK102)
    unresolved_level, ambiguous_level = severity_of("VK101"), severity_of("VK102")

    def resolve_note(note: Note) -> None:
        path = note.path
        visited.add(path)
        folder = posixpath.dirname(path)
        in_folder = answers.get(folder)
        if in_folder is None:
            in_folder = answers[folder] = {}
        for link in note.links:
            target = link.target
            if target == "":
                resolved, cands = path, no_cands
            else:  # resolve_ex depends on the source only through its folder
                answer = in_folder.get(target, in_folder)  # (the dict itself: not resolved yet)
                if answer is in_folder:
                    answer = anywhere.get(target, anywhere)
                if answer is in_folder or answer is anywhere:
                    resolved, found = index.resolve_ex(target, path)
                    # (one sorted tuple per answer, shared by every link it answers)
                    cands = tuple(sorted(found)) if found else no_cands
                    if not cands and "/" not in target:
                        # a bare name that one file answers, or none: the same answer from every folder
                        anywhere[target] = resolved
                    else:
                        in_folder[target] = (resolved, cands) if cands else resolved
                elif answer.__class__ is tuple:
                    resolved, cands = answer
                else:
                    resolved, cands = answer, no_cands
            link.resolved = resolved
            if cands:
                link.ambiguous = True
                link.candidates = cands
            if link.in_comment:
                continue
            if resolved is None:
                message = messages.get(target)
                if message is None:
                    message = messages[target] = f"unresolved link '{target}': no file answers it"
                note.diagnostics.append(Diagnostic("VK101", message, path, link.line, link.col, unresolved_level))
                continue
            if cands:
                key = (target, resolved, cands)
                message = messages.get(key)  # (one str per answer: a name shared by 500 folders is 500 paths)
                if message is None:
                    message = messages[key] = ambiguous_message(target, resolved, cands)
                note.diagnostics.append(Diagnostic("VK102", message, path, link.line, link.col, ambiguous_level))
            target_note = notes.get(resolved)
            if target_note is None:
                continue
            if target_note.partial and (link.heading is not None or link.block is not None):
                complete_note(target_note, root)  # a generated note read only by name: read it whole now
                if completed is not None and not target_note.partial:
                    completed(target_note)
                if resolved in visited:
                    pending.append(target_note)  # its links were passed over while it was partial
            if link.heading is not None:
                tops = heading_sets.get(resolved)
                if tops is None:
                    top = [h for h in target_note.headings if h.top_level]
                    tops = heading_sets[resolved] = (top, [heading_key(h.text) for h in top])
                parts = subpath_keys.get(link.heading)
                if parts is None:
                    parts = subpath_keys[link.heading] = _subpath_keys(link.heading)
                if _find_keyed(tops[0], tops[1], parts) is None:
                    note.diagnostics.append(
                        Diagnostic("VK103", f"heading '#{link.heading}' not found in '{resolved}'",
                                   path, link.line, link.col, severity_of("VK103"))
                    )
            if link.block is not None:
                ids = block_sets.get(resolved)
                if ids is None:
                    ids = block_sets[resolved] = {b.id.lower() for b in target_note.block_ids}
                if link.block.lower() not in ids:
                    note.diagnostics.append(
                        Diagnostic("VK104", f"block '^{link.block}' not found in '{resolved}'",
                                   path, link.line, link.col, severity_of("VK104"))
                    )

    visited: set[str] = set()
    pending: list[Note] = []
    for note in notes.values() if only is None else only:
        resolve_note(note)
    while pending:
        resolve_note(pending.pop())
    return index
