"""Which files make up the vault.

Every file whose path has no dot-folder or dot-file component (``.obsidian``,
``.trash``, ``.git``, ``.vaultkit``…) and matches no ``exclude`` pattern.
Paths come back sorted, vault-relative, POSIX, NFC-normalised.
"""

from __future__ import annotations

import fnmatch
import os
import unicodedata
from pathlib import Path

__all__ = ["discover", "disk_path", "is_excluded"]


def is_excluded(rel: str, patterns: list[str]) -> bool:
    """Whether vault path ``rel`` matches one of the glob ``patterns``.

    >>> is_excluded("Templates/Day.md", ["Templates/**"])
    True
    """
    return any(fnmatch.fnmatchcase(rel, p) or fnmatch.fnmatchcase(rel, p.rstrip("/*") + "/*") and
               rel.startswith(p.rstrip("/*") + "/") for p in patterns)


def disk_path(root: Path, rel: str) -> Path:
    """The file on disk for vault path ``rel``, whatever Unicode form its name has there.

    Vault paths are NFC (see :func:`discover`), but a file may be named in NFD
    on disk (macOS, files copied from it). ``root / rel`` is returned when it
    exists; otherwise each segment is looked up among the folder's entries by
    its NFC form. When nothing matches, ``root / rel`` is returned as is, so
    that opening it reports the missing file.

    Parameters
    ----------
    root : Path
        Vault folder.
    rel : str
        Vault-relative POSIX path (any normalisation form).

    Returns
    -------
    Path
        ``root`` joined with the names as they are spelled on disk.

    Examples
    --------
    >>> import tempfile, unicodedata
    >>> root = Path(tempfile.mkdtemp())
    >>> nfd = unicodedata.normalize("NFD", "Caf\u00e9.md")
    >>> _ = (root / nfd).write_text("x")
    >>> disk_path(root, "Caf\u00e9.md").name == nfd
    True
    """
    root = Path(root)
    direct = root / rel
    if rel.isascii() or os.path.lexists(direct):
        return direct
    current = root
    parts = [p for p in rel.split("/") if p]
    for part in parts:
        candidate = current / part
        if os.path.lexists(candidate):
            current = candidate
            continue
        want = unicodedata.normalize("NFC", part)
        found = None
        try:
            with os.scandir(current) as entries:
                for entry in entries:
                    if unicodedata.normalize("NFC", entry.name) == want:
                        found = entry.name
                        break
        except OSError:
            return direct
        if found is None:
            return direct
        current = current / found
    return current


def discover(root: Path, exclude: list[str] | None = None, *, bad_names: list[str] | None = None,
             unreadable: list[tuple[str, str]] | None = None) -> tuple[list[str], dict[str, Path]]:
    """List the vault's files.

    Parameters
    ----------
    root : Path
        Vault folder.
    exclude : list of str, optional
        Glob patterns of vault paths to leave out.
    bad_names : list of str, optional
        Receives the vault path (undecodable bytes shown as ``\\xNN``) of
        every file or folder whose name is not valid UTF-8: such files are
        left out (no link can name them, and no text can hold their path).
    unreadable : list of (str, str), optional
        Receives ``(vault path + "/", reason)`` of every folder that cannot
        be listed (``Permission denied``…), ``root`` itself as ``""``: the
        files in it are left out.

    Returns
    -------
    (files, notes)
        ``files``: every file's vault path (notes and attachments), sorted;
        ``notes``: vault path → absolute path of each ``.md`` file.

    Examples
    --------
    >>> import tempfile
    >>> root = Path(tempfile.mkdtemp())
    >>> (root / "Ideas").mkdir()
    >>> _ = (root / "Ideas" / "Spark.md").write_text("x")
    >>> _ = (root / "photo.png").write_bytes(b"")
    >>> files, notes = discover(root)
    >>> files, sorted(notes)
    (['Ideas/Spark.md', 'photo.png'], ['Ideas/Spark.md'])
    """
    exclude = exclude or []
    files: list[str] = []
    notes: dict[str, Path] = {}
    stack = [(root, "")]
    while stack:
        folder, prefix = stack.pop()
        try:
            entries = list(os.scandir(folder))
        except OSError as exc:
            if unreadable is not None:
                unreadable.append((prefix, exc.strerror or str(exc)))
            continue
        for entry in entries:
            name = entry.name
            if name.startswith("."):
                continue
            rel = prefix + name
            if not rel.isascii():
                try:
                    name.encode("utf-8")
                except UnicodeEncodeError:  # undecodable bytes in the name (os.fsdecode's surrogates)
                    if bad_names is not None:
                        shown = os.fsencode(name).decode("utf-8", "backslashreplace")
                        bad_names.append(prefix + shown + ("/" if entry.is_dir(follow_symlinks=False) else ""))
                    continue
                rel = unicodedata.normalize("NFC", rel)
            try:
                is_dir = entry.is_dir(follow_symlinks=False)
            except OSError:
                continue
            if is_dir:
                if not exclude or not is_excluded(rel + "/", exclude):
                    stack.append((Path(entry.path), rel + "/"))
                continue
            if exclude and is_excluded(rel, exclude):
                continue
            files.append(rel)
            if name.lower().endswith(".md"):
                notes[rel] = Path(entry.path)
    files.sort()
    return files, dict(sorted(notes.items()))
