"""What the last sync planned from, so that a sync after edits sync cannot see stops early.

The generated notes are a function of what sync reads of each note — its
parsed record (:attr:`~vaultkit.model.Note.facts`: frontmatter, links, tags,
headings, tables, diagnostics, each with its line) and the technique names its
prose mentions — plus the vault's file names, the settings and vaultkit's code.
Most edits to a long note change none of that: a sentence reworded, a typo
fixed, a paragraph added at the end. After a sync that left every generated
note as planned, :func:`make_basis` records that input (a memo in
``.vaultkit/cache.sqlite``). The next sync (:func:`check_basis`) stats every
file, reads only the notes whose size, mtime, ctime or inode moved, parses them
and looks for the same technique names in them: when every such note gives
the same facts and mentions, no file was added, removed or renamed, and
nobody touched the output folder, the plan would be byte for byte the one on
disk, so nothing is planned or written.

Anything else (a link added, a line inserted above a link, a tier row
changed, a region marker, a settings change, a generated note edited) falls
back to the whole sync, which records a new basis.

Examples
--------
>>> import tempfile, shutil, pathlib
>>> from vaultkit.cache import vault_stamp
>>> from vaultkit.commands.sync import run_sync
>>> root = pathlib.Path(tempfile.mkdtemp()) / "v"
>>> _ = shutil.copytree(pathlib.Path(__file__).resolve().parent.parent / "vault", root,
...                     ignore=shutil.ignore_patterns(".vaultkit"))
>>> before = vault_stamp(root, output="_vaultkit")
>>> vault, plan, report = run_sync(root, quiet=True)
>>> basis = make_basis(vault, before, vault_stamp(root, output="_vaultkit").outputs, "summary", [])
>>> rel = "22_AI_Research_mainstream/Production AI Techniques Tiered Table.md"
>>> note = root / rel
>>> _ = note.write_text(note.read_text(encoding="utf-8") + "\\nOne more sentence.\\n", encoding="utf-8")
>>> hit = check_basis(root, vault.config, vault_stamp(root, output="_vaultkit"), basis)
>>> hit.changed == [rel], hit.summary
(True, 'summary')
>>> _ = note.write_text(note.read_text(encoding="utf-8") + "\\nSee [[Nowhere]].\\n", encoding="utf-8")
>>> check_basis(root, vault.config, vault_stamp(root, output="_vaultkit"), basis) is None
True
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import unicodedata
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .cache import RACY_WINDOW_NS, VaultStamp, code_version
from .scan import REGION_MARK

if TYPE_CHECKING:
    from .config import Config
    from .model import Note
    from .vault import Vault

__all__ = ["BASIS_MEMO", "Shortcut", "make_basis", "check_basis"]

#: Memo kind (see :meth:`vaultkit.cache.NoteCache.put_memo`) that holds the basis.
BASIS_MEMO = "sync-basis"
_FORMAT = 1
# positions in a note's record: size, mtime_ns, ctime_ns, inode, sha256, facts, mentions digest
_STAT, _SHA, _FACTS, _MENTIONS = slice(0, 4), 4, 5, 6


@dataclasses.dataclass
class Shortcut:
    """A sync that need not plan or write: what to tell the user and what to remember.

    Attributes
    ----------
    summary : str
        The summary the sync that recorded the basis printed (up to its file counts).
    notices : list of str
        That sync's notices about the plan (taken names, stray generated notes).
    changed : list of str
        Vault paths of the notes edited since, each giving sync the same input.
    basis : dict
        The basis with those notes' new sizes, times and hashes (store it again).
    parsed : list of Note
        The changed notes as parsed now (for the cache).
    warnings : list of str
        That sync's warnings about what it left out (names not valid UTF-8),
        as it printed them.
    """

    summary: str
    notices: list[str]
    changed: list[str]
    basis: dict
    parsed: list["Note"]
    warnings: list[str] = dataclasses.field(default_factory=list)


def settings_key(config: "Config") -> str:
    """What besides the notes decides the plan: vaultkit's code and the vault's settings."""
    settings = dataclasses.replace(config, source="")  # the same file, however the vault was named
    return hashlib.sha256(f"{code_version()}\0{settings!r}".encode("utf-8", "surrogateescape")).hexdigest()[:32]


def _files_key(files: dict[str, Any]) -> str:
    h = hashlib.sha256()
    for path in sorted(files):
        h.update(path.encode("utf-8", "surrogateescape") + b"\0")  # (no file name holds a NUL)
    return f"{len(files)}:{h.hexdigest()[:32]}"


def _vault_path(walked: str) -> str:
    """A walked path as :func:`vaultkit.discover.discover` names it (NFC)."""
    return walked if walked.isascii() else unicodedata.normalize("NFC", walked)


def make_basis(vault: "Vault", before: VaultStamp, outputs: str, summary: str, notices: list[str],
               previous: Any = None, warnings: list[str] = ()) -> dict | None:
    """Record what a sync that just brought every generated note up to date planned from.

    Parameters
    ----------
    vault : Vault
        The vault as that sync loaded it (user notes whole, technique mentions found).
    before : VaultStamp
        :func:`~vaultkit.cache.vault_stamp` taken *before* the vault was loaded:
        a note edited after that walk then differs from the record next time.
    outputs : str
        :attr:`VaultStamp.outputs` taken after the writer finished.
    summary : str
        The run's summary up to its file counts; ``notices`` the plan's notices; ``warnings``
        the run's lines about what it left out.
    previous : dict, optional
        The basis of an earlier run (its mention digests are reused for unchanged notes).

    Returns
    -------
    dict or None
        Plain data for :meth:`~vaultkit.cache.NoteCache.put_memo`; ``None``
        when a note was not seen by that walk or was not read whole.
    """
    from .techniques import MENTIONS_MEMO, mention_rows_digest, vault_mention_targets

    found = vault_mention_targets(vault)
    names, targets, own = found if found is not None else ("", {}, {})
    memo = vault.memo_updates.get(MENTIONS_MEMO)
    per_note: dict = memo[1] if isinstance(memo, tuple) and len(memo) == 2 else {}
    old = previous.get("notes", {}) if isinstance(previous, dict) and previous.get("names") == names else {}
    stats = {_vault_path(p): st for p, st in before.files.items()}
    out = vault.config.output.strip("/") + "/"
    notes: dict[str, tuple] = {}
    for note in vault.notes.values():
        if note.path.startswith(out):
            continue  # the output folder as a whole is compared (VaultStamp.outputs)
        st = stats.get(note.path)
        if st is None or not note.facts or not note.sha256:
            return None
        entry = per_note.get(note.path)
        if entry is not None and not entry[0]:
            return None  # its mentions were not found in the text it was parsed from (changed meanwhile)
        prev = old.get(note.path)
        if prev is not None and prev[_SHA] == note.sha256:
            digest = prev[_MENTIONS]
        else:
            digest = entry[3] if entry is not None and entry[0] == note.sha256 else mention_rows_digest([])
        notes[note.path] = (*st, note.sha256, note.facts, digest)
    return {"format": _FORMAT, "settings": settings_key(vault.config), "files": _files_key(before.files),
            "outputs": outputs, "walked": before.walked_ns, "names": names, "targets": targets, "own": own,
            "notes": notes, "summary": summary, "notices": list(notices), "warnings": list(warnings)}


def check_basis(root: str | os.PathLike[str], config: "Config", stamp: VaultStamp, basis: Any) -> Shortcut | None:
    """Whether a sync now would plan exactly what the sync that recorded ``basis`` planned.

    Parameters
    ----------
    root : path-like
        The vault folder.
    config : Config
        Its settings as they are now.
    stamp : VaultStamp
        :func:`~vaultkit.cache.vault_stamp` of the vault now (its output folder: ``config.output``).
    basis : dict
        What :func:`make_basis` returned (anything else gives ``None``).

    Returns
    -------
    Shortcut or None
        ``None`` when something sync reads may have changed: then sync must
        run whole. Reads and parses only the notes whose file changed.
    """
    from .pool import _read
    from .techniques import mention_rows_digest, mention_rows_of

    if not isinstance(basis, dict) or basis.get("format") != _FORMAT:
        return None
    if (basis["settings"] != settings_key(config) or basis["outputs"] != stamp.outputs
            or basis["files"] != _files_key(stamp.files)):
        return None
    notes: dict[str, tuple] = basis["notes"]
    racy_from = basis["walked"] - RACY_WINDOW_NS
    changed: list[tuple[str, str, tuple]] = []
    for walked, st in stamp.files.items():
        rel = _vault_path(walked)
        rec = notes.get(rel)
        if rec is None:
            continue  # not a note (an attachment, an excluded file): only its name counts, and names are the same
        if tuple(st) == tuple(rec[_STAT]) and st[1] < racy_from:
            continue
        changed.append((rel, walked, tuple(st)))
    updated = dict(notes)
    parsed: list[Note] = []
    edited: list[str] = []
    for rel, walked, st in changed:
        rec = notes[rel]
        note = _read(rel, Path(root, walked))
        if note.sha256 and note.sha256 == rec[_SHA]:
            updated[rel] = (*st, *rec[_SHA:])  # touched, not changed
            continue
        if not note.facts or note.facts != rec[_FACTS]:
            return None
        text = note.text or ""
        if REGION_MARK in text:  # the writer must look at regions (edited by hand?)
            return None
        found = mention_rows_of(basis["targets"], basis["own"], [(note, text)], by_find=True)
        digest = mention_rows_digest([row for _path, rows in found for row in rows])
        if digest != rec[_MENTIONS]:
            return None
        updated[rel] = (*st, note.sha256, note.facts, digest)
        parsed.append(note)
        edited.append(rel)
    return Shortcut(basis["summary"], list(basis["notices"]), edited,
                    dict(basis, notes=updated, walked=stamp.walked_ns), parsed, list(basis.get("warnings", ())))
