"""Safe write-back into a live vault: never lose a word the user wrote.

vaultkit writes only two kinds of text:

1. **Generated notes** inside the output folder. Each carries an ownership
   marker as the last key of its frontmatter::

       vaultkit: {generator: vaultkit, version: "0.1.0", hash: "sha256:<64 hex>"}

   ``hash`` is the SHA-256 of the note's text (UTF-8, ``\\n`` newlines, no
   BOM) with that one marker line taken out. A note whose text no longer
   matches its hash was edited by the user and is not overwritten (unless
   ``force``); a file without the marker is the user's and is never touched.
2. **Regions** inside a user's note, between markers the user placed, each on
   its own line::

       %% vaultkit:begin NAME %%
       %% vaultkit:hash 0123456789abcdef %%
       …generated text…
       %% vaultkit:end NAME %%

   The ``vaultkit:hash`` line is written by vaultkit (hidden in reading view
   like the markers); when the text under it no longer matches, the user
   wrote inside the region and it is kept (unless ``force``). Missing,
   duplicated, nested, out-of-order or malformed markers refuse the whole note.

Generated files that are not Markdown (``.canvas``, ``.json``…) cannot carry
the marker; they are written exactly as planned and owned through
``<output>/.vaultkit-manifest.json`` (path → SHA-256 of the text), with the
same rules: edited → kept, not listed → the user's.

Every write is atomic (temp file in the same folder, ``fsync``, ``os.replace``
or ``os.link`` for new files), happens only when the bytes differ, keeps the
file's newline style and BOM, and re-checks the file on disk (inode, size,
mtime and hash) just before replacing it. Generated notes are written in
batches: up to 1,000 temp files are written, made durable together (one
``syncfs`` per local Linux file system instead of one ``fsync`` each), then
each is re-checked and moved into place; a temp file never takes a target's
name before it is on stable storage, and temp files a killed run leaves are
removed by the next run. Nothing is written outside
``root/output`` (symlinks resolved) for generated notes, nor into any
dot-folder (``.obsidian``, ``.git``, ``.trash``). The library never prints; it
returns a :class:`WriteReport`.

Examples
--------
>>> import tempfile
>>> from pathlib import Path
>>> root = Path(tempfile.mkdtemp())
>>> note = PlannedFile("_vaultkit/Index.md", "---\\ntitle: Index\\n---\\n# Index\\n")
>>> apply(root, "_vaultkit", [note]).summary()
'created 1, updated 0, removed 0, unchanged 0, skipped 0'
>>> apply(root, "_vaultkit", [note]).summary()
'created 0, updated 0, removed 0, unchanged 1, skipped 0'
>>> (root / "_vaultkit/Index.md").read_text().splitlines()[2][:48]
'vaultkit: {generator: vaultkit, version: "0.1.0"'
"""

from __future__ import annotations

import contextlib
import difflib
import enum
import errno
import functools
import hashlib
import json
import os
import posixpath
import re
import secrets
import stat
import sys
import time
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import TYPE_CHECKING
from dataclasses import dataclass, field
from pathlib import Path

from . import __version__
from .errors import UnsafePathError, VaultkitError
from .frontmatter import MARKER_KEY, MARKER_LINE, is_marker, load_yaml, split_frontmatter

if TYPE_CHECKING:  # pragma: no cover
    from .generate import Plan
from .scan import region_marker_lines

__all__ = [
    "WriteMode",
    "PlannedFile",
    "PlannedRegion",
    "FileOutcome",
    "WriteReport",
    "WriterBusyError",
    "apply",
    "sync_lock",
    "generated_file_state",
    "planned_files",
    "note_on_disk",
    "replace_user_file",
    "write_whole",
    "render_with_marker",
    "strip_marker",
    "ownership",
    "content_hash",
    "file_looks",
    "WRITER_MEMO",
    "fill_regions",
    "RegionError",
    "restyle",
    "MARKER_KEY",
    "MANIFEST_NAME",
    "PROTECTED_DIRS",
]

GENERATOR = "vaultkit"
PROTECTED_DIRS = frozenset({".obsidian", ".git", ".trash"})
TEMP_PREFIX = ".~vaultkit-"
TEMP_SUFFIX = ".tmp"

_TEMP_RE = re.compile(r"^\.~vaultkit-[0-9a-f]{16}\.tmp$")
_LOOSE_MARKER = re.compile(r"vaultkit[ \t]*:[ \t]*(?:begin|end|hash)", re.I)
_EXACT_MARKER = re.compile(r"^[ \t]*%% vaultkit:(begin|end) ([A-Za-z0-9_.-]+) %%[ \t]*$")
_HASH_LINE = re.compile(r"^%% vaultkit:hash ([0-9a-f]{16}) %%$")
_NAME_RE = re.compile(r"^[A-Za-z0-9_.-]+$")

#: Test hook: called with the target path after the temp file is complete (or
#: before a prune) and just before the on-disk re-check and replace/unlink. Tests use it to simulate
#: Obsidian or a sync client changing the file between read and write.
_before_replace: Callable[[Path], None] | None = None


class WriterBusyError(VaultkitError):
    """Another vaultkit process holds the output folder's write lock."""


class RegionError(ValueError):
    """A note's region markers are missing, duplicated, nested, out of order or malformed."""


class WriteMode(enum.Enum):
    """What :func:`apply` does with the changes it plans.

    ``WRITE`` writes them; ``CHECK`` only reports whether anything would change
    (:attr:`WriteReport.changed`); ``DIFF`` adds a unified diff to each changed
    outcome; ``DRY_RUN`` reports what would happen. Only ``WRITE`` touches disk.
    """

    WRITE = "write"
    CHECK = "check"
    DIFF = "diff"
    DRY_RUN = "dry-run"


@dataclass(slots=True)
class PlannedFile:
    """One generated note.

    ``path`` is vault-relative POSIX inside the output folder; ``text`` the
    full note (UTF-8, ``\\n`` newlines) without the ownership marker, which the
    writer adds (see :func:`render_with_marker`). A file that is not a note
    (a ``.canvas``) may come as UTF-8 ``bytes`` (as ``text`` or from
    ``render``): written as they are, decoded only for a diff or an update.

    A text that is costly to make and probably on disk already can be
    deferred: ``text=None`` with ``digest``, the content hash an earlier run
    recorded for it (``WriteReport.verified``), and ``render``, which makes the
    text. :func:`apply` calls ``render`` only when the file is not that
    earlier run's, untouched since (see ``apply(known=...)``), or always when
    ``digest`` is ``None`` (a text made already, kept compact until written).
    """

    path: str
    text: str | bytes | None
    digest: str | None = None
    render: "Callable[[], str | bytes] | None" = None


def planned_files(plan: "Plan") -> list[PlannedFile]:
    """The files of a :class:`vaultkit.generate.Plan`, in its order, as :func:`apply` takes them: a text
    made already as it is, a deferred one with its content hash and the function that makes it.

    Pass ``known=plan.verified`` (merged into an earlier run's record, if any) to :func:`apply` along with
    them: a plan of 2,000 technique notes or more holds most of them deferred (made by worker processes),
    and its :attr:`~vaultkit.generate.Plan.files` alone would leave them out.

    Examples
    --------
    >>> from vaultkit.generate import Plan
    >>> plan = Plan()
    >>> plan.add("_vaultkit/A.md", "# A\\n"); plan.defer("_vaultkit/B.md", None, lambda: "# B\\n")
    >>> [(f.path, f.text, f.render is not None) for f in planned_files(plan)]
    [('_vaultkit/A.md', '# A\\n', False), ('_vaultkit/B.md', None, True)]
    """
    return [PlannedFile(path, plan.files[path]) if path in plan.files else PlannedFile(path, None, *plan.deferred[path])
            for path in plan.paths]


@dataclass(slots=True)
class PlannedRegion:
    """Text for the region ``name`` of the user's note at ``path``."""

    path: str
    name: str
    text: str


#: Why a file without write permission is left alone.
READ_ONLY_MESSAGE = "read-only (no write permission); left alone: make it writable to have it updated"


def _writable(path: str | os.PathLike[str], st: os.stat_result | None = None) -> bool:
    """Whether the file's owner may write it and this process may too (``True`` when it is gone: the write
    then reports that). Root may write any file, but a mode without the owner's write bit is still honoured."""
    try:
        mode = (st if st is not None else os.lstat(path)).st_mode
    except OSError:
        return True
    return bool(mode & stat.S_IWUSR) and os.access(path, os.W_OK)


@dataclass(slots=True)
class FileOutcome:
    """What happened (or, outside ``WRITE`` mode, would happen) to one file.

    ``action`` is one of ``created``, ``updated``, ``unchanged``, ``removed``,
    ``skipped-edited`` (a generated note or region the user edited),
    ``skipped-taken`` (the path holds a file vaultkit does not own),
    ``skipped-changed-on-disk`` (changed between read and write),
    ``skipped-read-only`` (a file made read-only: vaultkit could replace it,
    but one who took away its write permission wants it left as it is),
    ``refused-markers`` (bad region markers), ``refused-path`` (unsafe or
    invalid path), ``refused-encoding`` (not UTF-8), ``refused-duplicate``
    (planned twice), ``refused-text`` (bad planned text) or ``error`` (an
    operating-system error; ``message`` says which).
    """

    path: str
    action: str
    message: str = ""
    diff: str | None = None
    #: An ``updated`` note in which a region the user edited was kept (the others filled): like a
    #: ``skipped-edited`` one, it was left as the user wrote it, in part.
    kept_edits: bool = False

    @property
    def changes(self) -> bool:
        """Whether this outcome changes (or would change) the disk."""
        return self.action in _CHANGING


_CHANGING = frozenset({"created", "updated", "removed"})


#: Memo kind (:meth:`vaultkit.vault.Vault.previous_memo`) under which ``vaultkit sync`` keeps
#: :attr:`WriteReport.verified` for the next run's ``apply(known=...)`` (and ``vaultkit lint``).
WRITER_MEMO = "writer"


@dataclass(slots=True)
class WriteReport:
    """Outcomes of one :func:`apply` run, in the order they happened."""

    outcomes: list[FileOutcome] = field(default_factory=list)
    mode: WriteMode = WriteMode.WRITE
    #: Generated files found up to date, by vault path: ``(content hash, size, mtime_ns, ctime_ns,
    #: inode)``. Pass it as ``apply(known=...)`` next time to skip reading them while they stay so.
    verified: dict[str, tuple[str, int, int, int, int]] = field(default_factory=dict)
    #: The same for every generated file found up to date, also those changed too recently to
    #: be trusted by a later run (what they looked like when this run looked).
    looked: dict[str, tuple[str, int, int, int, int]] = field(default_factory=dict)

    def _count(self, action: str) -> int:
        return sum(1 for o in self.outcomes if o.action == action)

    @property
    def created(self) -> int:
        """Number of notes created."""
        return self._count("created")

    @property
    def updated(self) -> int:
        """Number of notes updated (generated notes and notes with regions)."""
        return self._count("updated")

    @property
    def unchanged(self) -> int:
        """Number of planned notes whose bytes already matched."""
        return self._count("unchanged")

    @property
    def removed(self) -> int:
        """Number of generated notes removed because they are no longer planned."""
        return self._count("removed")

    @property
    def skipped(self) -> int:
        """Number of outcomes that left a file alone for a reason (skipped, refused, error)."""
        return sum(1 for o in self.outcomes if o.action not in _CHANGING and o.action != "unchanged")

    @property
    def problems(self) -> list[FileOutcome]:
        """The skipped, refused and failed outcomes."""
        return [o for o in self.outcomes if o.action not in _CHANGING and o.action != "unchanged"]

    @property
    def changed(self) -> bool:
        """Whether anything was (or would be) created, updated or removed."""
        return any(o.action in _CHANGING for o in self.outcomes)

    def summary(self) -> str:
        """One line of counts.

        >>> WriteReport([FileOutcome("a.md", "created")], WriteMode.CHECK).summary()
        'would create 1, update 0, remove 0; unchanged 0, skipped 0'
        """
        if self.mode is WriteMode.WRITE:
            return (f"created {self.created}, updated {self.updated}, removed {self.removed}, "
                    f"unchanged {self.unchanged}, skipped {self.skipped}")
        return (f"would create {self.created}, update {self.updated}, remove {self.removed}; "
                f"unchanged {self.unchanged}, skipped {self.skipped}")


# --------------------------------------------------------------------------- text helpers


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _normalize(text: str) -> str:
    if text.startswith("\ufeff"):
        text = text[1:]
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text


def _normalize_bytes(data: bytes) -> bytes:
    """:func:`_normalize` for UTF-8 bytes (a carriage return is one byte in UTF-8, never part of another character).

    >>> _normalize_bytes(b"\\xef\\xbb\\xbf{}\\r\\n")
    b'{}\\n'
    """
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    if b"\r" in data:
        data = data.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
    return data


def _newline_of(raw: str) -> str:
    """The first line ending of ``raw`` (``\\n`` when it has none).

    >>> _newline_of("a\\r\\nb\\n"), _newline_of("a"), _newline_of("a\\rb")
    ('\\r\\n', '\\n', '\\r')
    """
    i = raw.find("\n")
    j = raw.find("\r")
    if j < 0 and i < 0:
        return "\n"
    if j < 0 or (0 <= i < j):
        return "\n"
    return "\r\n" if raw.startswith("\n", j + 1) else "\r"


_LINE_SPLIT = re.compile(r"(?<=\r\n)|(?<=\n)|(?<=\r)(?!\n)")


def _lines(raw: str) -> list[str]:
    """Split keeping ends, on ``\\r\\n``, ``\\n`` and lone ``\\r`` only.

    >>> _lines("a\\r\\nb\\rc\\n\\x0cd")
    ['a\\r\\n', 'b\\r', 'c\\n', '\\x0cd']
    """
    parts = _LINE_SPLIT.split(raw)
    return [p for p in parts if p]


def _strip_end(line: str) -> str:
    return line[:-2] if line.endswith("\r\n") else (line[:-1] if line.endswith(("\n", "\r")) else line)


def restyle(old_raw: str, new_text: str) -> str:
    """Give ``new_text`` (``\\n`` newlines) the line endings of ``old_raw``.

    Lines that are unchanged keep their exact original endings (so a file with
    mixed endings stays byte-identical where it was not edited); new lines take
    the file's first line ending.

    >>> restyle("a\\r\\nb\\r\\n", "a\\nx\\nb\\n")
    'a\\r\\nx\\r\\nb\\r\\n'
    >>> restyle("a\\nb\\r\\n", "a\\nb\\nc")
    'a\\nb\\r\\nc'
    """
    nl = _newline_of(old_raw)
    if "\r" not in old_raw:
        return new_text
    old_lines = _lines(old_raw)
    old_norm = [_strip_end(x) + ("\n" if x != _strip_end(x) else "") for x in old_lines]
    new_lines = [x for x in re.split(r"(?<=\n)", new_text) if x]
    out: list[str] = []
    sm = difflib.SequenceMatcher(None, old_norm, new_lines, autojunk=False)
    for tag, i1, i2, j1, j2 in sm.get_opcodes():
        if tag == "equal":
            out.extend(old_lines[i1:i2])
        else:
            out.extend(x[:-1] + nl if x.endswith("\n") else x for x in new_lines[j1:j2])
    return "".join(out)


def _decode(data: bytes) -> tuple[str, bool] | None:
    """Raw text (BOM removed, newlines kept) and whether there was a BOM; ``None`` if not UTF-8."""
    bom = data.startswith(b"\xef\xbb\xbf")
    try:
        return data[3 if bom else 0:].decode("utf-8"), bom
    except UnicodeDecodeError:
        return None


def _encode(raw: str, bom: bool) -> bytes:
    return (b"\xef\xbb\xbf" if bom else b"") + raw.encode("utf-8")


def _marker_line(version: str, digest: str) -> str:
    return f'{MARKER_KEY}: {{generator: {GENERATOR}, version: "{version}", hash: "sha256:{digest}"}}\n'


def _frontmatter_span(text: str) -> tuple[int, int] | None:
    """(start of YAML, offset of the closing ``---`` line) in normalised ``text``."""
    block = split_frontmatter(text)
    if block is None or block.close_trailing:
        return None
    close = 4 + len(block.yaml)
    return 4, close


def strip_marker(text: str) -> tuple[str, tuple[str, str] | None]:
    """Remove the canonical ownership marker line from a normalised note.

    Returns
    -------
    (text, marker)
        The text without the marker line, and ``(version, hash)`` of the
        marker, or the text unchanged and ``None`` when there is no canonical
        marker line in the frontmatter.

    Examples
    --------
    >>> t = render_with_marker("---\\na: 1\\n---\\nBody\\n")
    >>> strip_marker(t)[0]
    '---\\na: 1\\n---\\nBody\\n'
    """
    span = _frontmatter_span(text)
    if span is None:
        return text, None
    m = MARKER_LINE.search(text, span[0], span[1])  # (the parser goes by the same line: vaultkit.frontmatter)
    if m is None:
        return text, None
    return text[: m.start()] + text[m.end():], (m.group(1), m.group(2))


def content_hash(text: str) -> str:
    """SHA-256 (hex) of a normalised note with its marker line removed."""
    return _sha(strip_marker(text)[0])


def render_with_marker(text: str, version: str = __version__) -> str:
    """The note as written: ``text`` plus the ownership marker as the last frontmatter key.

    ``text`` is normalised (BOM dropped, ``\\n`` newlines). A note without
    frontmatter gets one holding only the marker.

    Raises
    ------
    ValueError
        When ``text`` already has a top-level ``vaultkit`` key, or its
        frontmatter has text after the closing ``---``.

    Examples
    --------
    >>> print(render_with_marker("# Hi\\n", version="1").replace(content_hash(render_with_marker("# Hi\\n", "1")), "H"))
    ---
    vaultkit: {generator: vaultkit, version: "1", hash: "sha256:H"}
    ---
    # Hi
    <BLANKLINE>
    """
    return _render(text, version)[0]


def _render(text: str, version: str = __version__) -> tuple[str, str]:
    """``(rendered note, content hash)``; see :func:`render_with_marker`."""
    text = _normalize(text)
    block = split_frontmatter(text)
    if block is None:
        before, after = "---\n", "---\n" + text
    else:
        if block.close_trailing:
            raise ValueError("frontmatter has text after the closing '---'")
        if re.search(r"^vaultkit\s*:", block.yaml, re.M):
            raise ValueError("planned text already has a 'vaultkit' frontmatter key")
        close = 4 + len(block.yaml)
        before, after = text[:close], text[close:]
    digest = _sha(before + after)
    return before + _marker_line(version, digest) + after, digest


def ownership(text: str) -> str:
    """Who owns a normalised note: ``"user"``, ``"clean"`` (vaultkit, unedited) or ``"edited"``.

    A note is vaultkit's when its frontmatter holds the canonical marker line,
    or a ``vaultkit`` mapping with ``generator: vaultkit`` (the marker was
    reformatted, which counts as an edit).

    >>> ownership("# mine\\n")
    'user'
    >>> t = render_with_marker("# gen\\n")
    >>> ownership(t), ownership(t + "more\\n")
    ('clean', 'edited')
    """
    stripped, marker = strip_marker(text)
    if marker is not None:
        return "clean" if _sha(stripped) == marker[1] else "edited"
    block = split_frontmatter(text)
    if block is None:
        return "user"
    if re.search(r"^vaultkit\s*:", block.yaml, re.M) is None:
        return "user"
    data = load_yaml(block.yaml).data
    if isinstance(data, dict):
        if is_marker(data.get(MARKER_KEY)):
            return "edited"
    return "user"


# --------------------------------------------------------------------------- regions


def _region_hash(text: str) -> str:
    return _sha(text)[:16]


def _check_region_text(name: str, text: str) -> str | None:
    if not _NAME_RE.match(name):
        return f"region name {name!r} must be letters, digits, '_', '.' or '-'"
    if _LOOSE_MARKER.search(text):
        return f"text for region {name!r} contains a vaultkit marker"
    if text.count("%%") % 2:
        return f"text for region {name!r} has an unclosed '%%' comment"
    return None


def fill_regions(raw: str, regions: dict[str, str], force: bool = False) -> tuple[str, list[str]]:
    """Replace the text between each named region's markers in ``raw``.

    Parameters
    ----------
    raw : str
        The note's text, BOM removed, newlines as in the file.
    regions : dict of str to str
        Region name → new text (``\\n`` newlines).
    force : bool
        Overwrite regions whose text the user edited.

    Returns
    -------
    (new_raw, edited)
        The new text (bytes outside the regions untouched) and the names of
        regions kept because the user edited them.

    Raises
    ------
    RegionError
        When markers are missing, duplicated, nested, out of order or
        malformed (a ``vaultkit:begin`` not in the exact form on its own line).

    Examples
    --------
    >>> raw = "Mine.\\r\\n%% vaultkit:begin list %%\\r\\n%% vaultkit:end list %%\\r\\nAlso mine."
    >>> new, edited = fill_regions(raw, {"list": "- [[A]]\\n"})
    >>> new.startswith("Mine.\\r\\n%% vaultkit:begin list %%\\r\\n%% vaultkit:hash ") and new.endswith(
    ...     "%%\\r\\n- [[A]]\\r\\n%% vaultkit:end list %%\\r\\nAlso mine.")
    True
    >>> fill_regions("%% vaultkit:begin x %%\\n", {"x": ""})
    Traceback (most recent call last):
    ...
    vaultkit.writer.RegionError: line 1: 'vaultkit:begin x' has no matching end marker
    """
    lines = _lines(raw)
    markers: list[tuple[str, str, int]] = []  # kind, name, line index
    counts = region_marker_lines(lines, with_frontmatter=True)
    for idx, line in enumerate(lines):
        if _LOOSE_MARKER.search(line) is None:
            continue
        if not counts[idx]:
            continue  # a marker shown in code or written in the frontmatter is the user's text
        body = _strip_end(line)
        if _HASH_LINE.match(body):
            continue
        m = _EXACT_MARKER.match(body)
        if m is None:
            raise RegionError(f"line {idx + 1}: malformed vaultkit marker {body.strip()[:60]!r} "
                              "(expected '%% vaultkit:begin NAME %%' alone on its line)")
        markers.append((m.group(1), m.group(2), idx))
    seen: set[str] = set()
    spans: dict[str, tuple[int, int]] = {}
    i = 0
    while i < len(markers):
        kind, name, idx = markers[i]
        if kind == "end":
            raise RegionError(f"line {idx + 1}: 'vaultkit:end {name}' without a begin marker before it")
        if name in seen:
            raise RegionError(f"line {idx + 1}: region {name!r} appears twice")
        if i + 1 >= len(markers):
            raise RegionError(f"line {idx + 1}: 'vaultkit:begin {name}' has no matching end marker")
        kind2, name2, idx2 = markers[i + 1]
        if kind2 != "end" or name2 != name:
            raise RegionError(f"line {idx2 + 1}: expected 'vaultkit:end {name}' (regions may not nest "
                              f"or interleave), found 'vaultkit:{kind2} {name2}'")
        seen.add(name)
        spans[name] = (idx, idx2)
        i += 2
    missing = [n for n in regions if n not in spans]
    if missing:
        raise RegionError(f"no markers for region {', '.join(repr(n) for n in missing)} "
                          f"(add '%% vaultkit:begin NAME %%' and '%% vaultkit:end NAME %%' lines)")
    nl = _newline_of(raw)
    edited: list[str] = []
    out: list[str] = []
    pos = 0
    for name, (b, e) in sorted(spans.items(), key=lambda kv: kv[1][0]):
        if name not in regions:
            continue
        begin_line = lines[b]
        if not begin_line.endswith(("\n", "\r")):  # pragma: no cover - an end line follows
            begin_line += nl
        inner = lines[b + 1:e]
        inner_norm = _normalize("".join(inner))
        hm = _HASH_LINE.match(_strip_end(inner[0])) if inner else None
        if hm is not None:
            current = inner_norm.split("\n", 1)[1] if "\n" in inner_norm else ""
            user_edit = _region_hash(current) != hm.group(1)
        else:
            user_edit = inner_norm.strip() != ""
        new = _normalize(regions[name])
        if new and not new.endswith("\n"):
            new += "\n"
        if user_edit and (current if hm is not None else inner_norm) == new:
            user_edit = False  # edited into what this run writes (links Obsidian updated on a rename): nothing lost
        if user_edit and not force:
            edited.append(name)
            continue
        if hm is not None and _region_hash(current) == hm.group(1) and current == new:
            block_raw = "".join(inner)  # same text: keep its bytes (line endings included)
        else:
            block = f"%% vaultkit:hash {_region_hash(new)} %%\n" + new
            block_raw = block.replace("\n", nl) if nl != "\n" else block
        out.append("".join(lines[pos:b]))
        out.append(begin_line)
        out.append(block_raw)
        pos = e
    out.append("".join(lines[pos:]))
    return "".join(out), edited


def check_regions(text: str) -> tuple[tuple[int, str] | None, list[tuple[int, str]]]:
    """What ``sync`` would find in a note's regions, without changing anything.

    Returns ``(problem, edited)``: the (file line, message) of the marker
    problem for which :func:`fill_regions` refuses the note, else ``None``;
    and the (line of the begin marker, name) of each region edited by hand
    since vaultkit filled it (``sync`` keeps those; ``--force`` overwrites).

    Examples
    --------
    >>> check_regions("%% vaultkit:begin a %%\\n")
    ((1, "line 1: 'vaultkit:begin a' has no matching end marker"), [])
    >>> check_regions("%% vaultkit:begin a %%\\nmy words\\n%% vaultkit:end a %%\\n")
    (None, [(1, 'a')])
    """
    if "vaultkit" not in text:
        return None, []
    lines = _lines(text)
    counts = region_marker_lines(lines, with_frontmatter=True)
    begins: dict[str, int] = {}
    for idx, line in enumerate(lines):
        if "%% vaultkit:begin" in line and counts[idx]:
            m = _EXACT_MARKER.match(_strip_end(line))
            if m is not None:
                begins.setdefault(m.group(2), idx + 1)
    try:
        _new, edited = fill_regions(text, dict.fromkeys(begins, ""))
    except RegionError as exc:
        m = re.match(r"line (\d+):", str(exc))
        return (int(m.group(1)) if m else 1, str(exc)), []
    return None, [(begins[name], name) for name in edited]


# --------------------------------------------------------------------------- file system


@dataclass(slots=True)
class _Seen:
    """What a file looked like when it was read."""

    ino: int
    size: int
    mtime_ns: int
    sha256: str


# (O_NONBLOCK: opening a named pipe must not wait for a writer; it is then refused as no regular file)
_READ_FLAGS = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
_TEMP_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)


def _read(path: str | Path) -> tuple[bytes, _Seen]:
    """Bytes of a regular file (never through a symlink) and what it looked like."""
    fd, data, seen = _read_open(path)
    os.close(fd)
    return data, seen


def _read_open(path: str | Path) -> tuple[int, bytes, _Seen]:
    """Like :func:`_read`, and the file descriptor, still open."""
    fd = os.open(path, _READ_FLAGS)
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise IsADirectoryError(errno.EISDIR, "not a regular file", str(path))
        data = _read_fd(fd)
    except BaseException:
        os.close(fd)
        raise
    return fd, data, _Seen(st.st_ino, st.st_size, st.st_mtime_ns, hashlib.sha256(data).hexdigest())


def _read_fd(fd: int) -> bytes:
    """The rest of an open file's bytes."""
    chunks = []
    while True:
        chunk = os.read(fd, 1 << 20)
        if not chunk:
            break
        chunks.append(chunk)
    return b"".join(chunks)


def _unchanged_since(path: str | Path, seen: _Seen) -> bool:
    """Whether the file is still the one read: same inode, size, mtime and SHA-256."""
    fd = _unchanged_open(path, seen)
    if fd is None:
        return False
    os.close(fd)
    return True


def _unchanged_open(path: str | Path, seen: _Seen) -> int | None:
    """:func:`_unchanged_since`, giving the checked file's descriptor (open), or ``None`` when it changed.

    Holding it open while the file is replaced or removed keeps its inode
    alive, so the rename or unlink does not wait for its blocks to be freed;
    a :class:`_Closer` frees them later, several at a time.
    """
    try:
        fd, _data, now = _read_open(path)
    except OSError:  # gone, a folder, or a symlink now
        return None
    if now != seen:
        os.close(fd)
        return None
    return fd


#: Whether a file may be replaced or removed while vaultkit holds it open
#: (not on Windows, where an open file cannot be renamed over).
_HOLD_OPEN = os.name == "posix"


class _Closer:
    """Closes the descriptors of files just replaced or removed, on a few threads when that is slow.

    Closing the last reference to a replaced file frees its blocks, which on a
    busy journaling file system waits for the journal (milliseconds each);
    several threads share those waits. Descriptors are closed at once and
    timed until most of the last few closes were slow (a lone slow one is the
    process being preempted); from then on they go to :attr:`THREADS`
    threads, :attr:`CHUNK` at a time (a few hundred open at most). On a fast
    file system no thread is started. :meth:`join` ends the threads (every
    descriptor is closed then).
    """

    SLOW = 0.0005  # seconds: a close this slow is waiting for the disk
    RECENT = 8  # of the last RECENT closes…
    SLOW_ENOUGH = 5  # …this many slow ones start the threads
    THREADS = 8
    CHUNK = 16
    clock = staticmethod(time.perf_counter)

    def __init__(self) -> None:
        self.recent: list[bool] = []  # whether each of the last closes (done at once) was slow
        self.threaded = False
        self.pending: list[int] = []
        self.queue = None
        self.threads: list = []

    def close(self, fd: int) -> None:
        if not self.threaded:
            t = self.clock()
            os.close(fd)
            self.recent.append(self.clock() - t > self.SLOW)
            if len(self.recent) > self.RECENT:
                del self.recent[0]
            self.threaded = sum(self.recent) >= self.SLOW_ENOUGH
            return
        self.pending.append(fd)
        if len(self.pending) >= self.CHUNK:
            self._hand_off()

    def _hand_off(self) -> None:
        if self.queue is None:
            import queue
            import threading

            self.queue = queue.Queue(maxsize=2)
            self.threads = [threading.Thread(target=self._work, name="vaultkit-close", daemon=True)
                            for _ in range(self.THREADS)]
            for t in self.threads:
                t.start()
        chunk, self.pending = self.pending, []
        self.queue.put(chunk)

    def _work(self) -> None:
        while True:
            chunk = self.queue.get()
            if chunk is None:
                return
            for fd in chunk:
                try:
                    os.close(fd)
                except OSError:  # pragma: no cover - nothing to do about it
                    pass

    def join(self) -> None:
        """Close every descriptor still waiting and end the threads."""
        if self.pending:
            self._hand_off()
        if self.queue is None:
            return
        for _ in self.threads:
            self.queue.put(None)
        for t in self.threads:
            t.join()
        self.queue = None
        self.threads = []


def _unlink_quietly(path: str) -> None:
    """Remove a temp file of ours, never raising: it runs while another error (or a Ctrl-C) propagates,
    which an ``OSError`` from here would replace; a temp file left behind is pruned by a later run."""
    try:
        os.unlink(path)
    except OSError:
        pass


def _write_all(fd: int, data: bytes) -> None:
    """Write all of ``data`` to an open file (``os.write`` may write only part of it)."""
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def _temp_path(folder: str) -> str:
    """A new temp file's path in ``folder``, named as every temp file of the writer (the prune knows them)."""
    return os.path.join(folder, f"{TEMP_PREFIX}{secrets.token_hex(8)}{TEMP_SUFFIX}")


def _write_pieces(fh, data: bytes | Iterable[bytes]) -> None:
    if isinstance(data, (bytes, bytearray, memoryview)):
        fh.write(data)
    else:
        for piece in data:
            fh.write(piece)


def _write_in_place(path: str | os.PathLike[str], data: bytes | Iterable[bytes]) -> None:
    with open(path, "wb") as fh:
        _write_pieces(fh, data)


def write_whole(path: str | os.PathLike[str], data: bytes | Iterable[bytes]) -> None:
    """Write ``data`` to the file ``path`` whole or not at all (exports: ``graph -o``, ``lint --output``).

    The bytes go to a new file beside ``path``, are flushed to disk, and that
    file is renamed over ``path``: a reader, a full disk, a crash or a Ctrl-C
    finds the old file or the new one, never a truncated one. A file replaced
    keeps its permission bits; a symbolic link is written through (its target
    is replaced). The temporary file is named as the writer's others
    (``.~vaultkit-<hex>.tmp``).
    What is not a regular file (``/dev/null``, a FIFO, ``/dev/stdout``) is
    written to as it is, never replaced; so is a file whose folder admits no
    new file. A file that cannot be written is refused (``PermissionError``),
    as ``open`` would; a replaced file gets a new inode (hard links to it
    keep the old content).

    Parameters
    ----------
    path : path-like
        The file to write (its folder must exist).
    data : bytes or iterable of bytes
        Its whole new content, or that content in pieces, written as they
        come (an exception while they are made leaves ``path`` as it was).

    Raises
    ------
    OSError
        When the folder cannot be written, the disk is full or ``path`` is a
        folder; ``path`` is then as it was, and no temporary file is left.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "graph.json"
    >>> write_whole(out, b"{}\\n")
    >>> out.read_bytes(), [p.name for p in out.parent.iterdir()]
    (b'{}\\n', ['graph.json'])
    >>> write_whole(out.parent, b"x")
    Traceback (most recent call last):
    ...
    IsADirectoryError: ...
    >>> [p.name for p in out.parent.iterdir()]
    ['graph.json']
    """
    try:
        st = os.stat(path)  # (follows symlinks; a loop raises ELOOP here)
    except FileNotFoundError:
        st = None  # a new file (or a dangling symlink: its target is made)
    if st is not None and not stat.S_ISREG(st.st_mode):
        # a device, a FIFO, /dev/stdout: written to as it is (replacing /dev/null with a file would be a disaster)
        _write_in_place(path, data)
        return
    if st is not None and not os.access(path, os.W_OK):
        raise PermissionError(errno.EACCES, "Permission denied", str(path))
    target = os.path.realpath(path)
    tmp = _temp_path(os.path.dirname(target))
    mode = stat.S_IMODE(st.st_mode) if st is not None else None  # (new: the permissions the umask gives)
    try:
        fd = os.open(tmp, _TEMP_FLAGS, 0o666)
    except OSError as exc:
        if st is not None and isinstance(exc, PermissionError):  # a writable file in a folder that is not
            # (made whole before the file is truncated: a failure or a Ctrl-C while the pieces are made leaves
            # it as it was, and the truncated file lasts only for the write itself)
            _write_in_place(path, data if isinstance(data, bytes) else b"".join(data))
            return
        raise type(exc)(exc.errno, exc.strerror, str(path)) from None
    try:
        with os.fdopen(fd, "wb") as fh:
            _write_pieces(fh, data)
            fh.flush()
            os.fsync(fh.fileno())
        if mode is not None:
            os.chmod(tmp, mode)
        os.replace(tmp, target)
    except BaseException:
        _unlink_quietly(tmp)
        raise


#: Staged temp files made durable and moved into place together (bounds the
#: temp files a killed run leaves, and keeps a run's progress incremental).
_BATCH_FILES = 1000
#: Below this many staged files each is ``fsync``-ed; from it on, one
#: ``syncfs`` per file system flushes them all (where the system has it).
_SYNCFS_MIN = 16
_UNSET = object()
_syncfs_fn: object = _UNSET
_LINUX = sys.platform.startswith("linux")


def _syncfs() -> Callable[[int], int] | None:
    """Linux ``syncfs(2)`` (flush one file system, wait, report write-back errors), or ``None``.

    Elsewhere (macOS, Windows) there is none: each file is ``fsync``-ed as
    before. Looked up once, on the first batch large enough to need it.
    """
    global _syncfs_fn
    if _syncfs_fn is _UNSET:
        fn = None
        if _LINUX:
            try:
                import ctypes

                libc = ctypes.CDLL(None, use_errno=True)
                fn = libc.syncfs
                fn.argtypes = [ctypes.c_int]
                fn.restype = ctypes.c_int
            except (ImportError, OSError, AttributeError):  # pragma: no cover - no usable libc
                fn = None
        _syncfs_fn = fn
    return _syncfs_fn  # type: ignore[return-value]


#: File systems whose ``syncfs`` writes every file's data to stable storage,
#: as ``fsync`` would. Elsewhere (FUSE before Linux 5.15, network and unknown
#: file systems) each file is ``fsync``-ed.
_SYNCFS_TYPES = frozenset({"ext2", "ext3", "ext4", "xfs", "btrfs", "f2fs", "tmpfs", "overlay", "zfs", "bcachefs",
                           "jfs", "nilfs2", "reiserfs"})


def _fs_types() -> dict[int, str]:
    """Device number → file-system type of the mounts this process sees (Linux), else ``{}``."""
    types: dict[int, str] = {}
    try:
        with open("/proc/self/mountinfo", encoding="utf-8", errors="replace") as fh:
            for line in fh:
                left, sep, right = line.partition(" - ")
                fields = left.split()
                if not sep or len(fields) < 3 or not right.split():
                    continue
                major, _, minor = fields[2].partition(":")
                try:
                    types[os.makedev(int(major), int(minor))] = right.split()[0]  # a later mount hides an earlier
                except ValueError:
                    continue
    except OSError:
        pass
    return types


@dataclass(slots=True, eq=False)
class _Staged:
    """A complete temp file waiting to be made durable and moved to ``target``."""

    target: str
    tmp: str
    seen: _Seen | None
    outcome: FileOutcome
    changed: str  # the message when the target changed before the move
    dev: int
    fd: int | None = None  # still open, not yet synced (small batches)
    synced: bool = False
    done: bool = False  # moved into place or removed: nothing left to clean up


class _Writer:
    """State of one run: mode, caches, the batch of staged temp files, touched folders.

    Generated notes go through a batch (:meth:`stage`, then :meth:`flush`):
    every temp file is written, all of them are made durable at once (one
    ``syncfs`` per file system on Linux, else an ``fsync`` each), then each
    target is re-checked and replaced in turn, and each touched folder is
    ``fsync``-ed once at the end of the run (:meth:`sync_dirs`). A temp file is
    always durable before it takes a target's name, so a crash at any instant
    leaves every target old or new; temp files of a killed run are removed by
    the next run's prune. Single writes (regions, :func:`replace_user_file`)
    use :meth:`write`: temp file, ``fsync``, re-check, replace.

    On POSIX, a file replaced by the batch or removed by the prune stays open
    from its re-check until after the rename or unlink, and :attr:`closer`
    closes it on a few threads: that last close frees the old blocks, which
    on a busy journaling file system takes milliseconds per file.
    """

    def __init__(self, mode: WriteMode, root: Path | str = ".") -> None:
        self.mode = mode
        self.root = os.fspath(root)
        self.dirs: set[str] = set()
        self.real_dirs: dict[str, str] = {}
        self.listings: dict[str, dict[str, str]] = {}
        self.fresh: set[str] = set()  # folders missing when first listed (see names_in)
        self.manifest: _Manifest | None = None
        self.digests: dict[str, str] = {}
        #: content hash (as in :attr:`verified`) of each planned file staged to be written
        self.written: dict[str, str] = {}
        self.ready_dirs: dict[str, int] = {}  # folder known to exist this run → its st_dev
        self.staged: list[_Staged] = []
        self.sync_mode: str | None = None  # "syncfs" or "fsync" once a batch reached _SYNCFS_MIN
        self.dev_fds: dict[int, int | None] = {}  # st_dev → folder fd opened before staging (syncfs errors)
        self.fs_types: dict[int, str] | None = None
        self.closer = _Closer() if _HOLD_OPEN else None  # for the batch and prune; write() closes at once
        self.known: dict[str, tuple] = {}  # see apply(known=...)
        self.verified: dict[str, tuple[str, int, int, int, int]] = {}
        self.looked: dict[str, tuple[str, int, int, int, int]] = {}

    def names_in(self, folder: str) -> dict[str, str]:
        """Case-folded name → name of the entries of ``folder``, cached for the run.

        A folder missing when first listed goes into :attr:`fresh`: the files
        this run puts there are added to its listing as they are staged.
        """
        names = self.listings.get(folder)
        if names is None:
            try:
                names = {_key(n): n for n in os.listdir(folder)}
            except FileNotFoundError:
                names = {}
                self.fresh.add(folder)
            except OSError:
                names = {}
            self.listings[folder] = names
        return names

    def realdir(self, folder: str | Path) -> str:
        """``os.path.realpath`` of a folder, cached for the run."""
        key = os.fspath(folder)
        real = self.real_dirs.get(key)
        if real is None:
            real = self.real_dirs[key] = os.path.realpath(folder)
        return real

    def ensure_dir(self, folder: str) -> int:
        """Create ``folder`` if needed (once per run) and return its device number."""
        dev = self.ready_dirs.get(folder)
        if dev is not None:
            return dev
        try:
            st = os.stat(folder)
        except FileNotFoundError:
            st = None
        if st is None or not stat.S_ISDIR(st.st_mode):
            os.makedirs(folder, exist_ok=True)  # FileExistsError when a file holds the name
            self.real_dirs.pop(folder, None)
            st = os.stat(folder)
        self.ready_dirs[folder] = st.st_dev
        return st.st_dev

    def forget_dir(self, folder: str) -> None:
        """Drop what is cached about ``folder`` (it vanished during the run)."""
        self.ready_dirs.pop(folder, None)
        self.real_dirs.pop(folder, None)

    @property
    def writing(self) -> bool:
        return self.mode is WriteMode.WRITE

    def _stage(self, target: str, data: bytes, file_mode: int | None) -> tuple[str, int]:
        """Create the temp file next to ``target`` and write ``data`` (not yet synced); ``(tmp, fd)``."""
        tmp = _temp_path(os.path.dirname(target))
        fd = os.open(tmp, _TEMP_FLAGS, 0o666)
        try:
            if file_mode is not None:
                os.fchmod(fd, file_mode)
            _write_all(fd, data)
        except BaseException:
            os.close(fd)
            _unlink_quietly(tmp)
            raise
        return tmp, fd

    def _commit(self, target: str, tmp: str, seen: _Seen | None, closer: _Closer | None = None) -> bool:
        """Move the synced temp file into place after the re-check; ``False`` when the file changed.

        With a ``closer``, the replaced file stays open (checked, then
        replaced) and the closer closes it.
        """
        moved = False
        held: int | None = None
        try:
            if _before_replace is not None:
                _before_replace(Path(target))
            if seen is None:
                try:
                    os.link(tmp, target)
                except FileExistsError:
                    return False
                except OSError:  # no hard links on this file system
                    if os.path.lexists(target):
                        return False
                    os.replace(tmp, target)
                    moved = True
            else:
                if closer is None:
                    if not _unchanged_since(target, seen):
                        return False
                else:
                    held = _unchanged_open(target, seen)
                    if held is None:
                        return False
                os.replace(tmp, target)
                moved = True
            self.dirs.add(os.path.dirname(target))
            return True
        finally:
            if not moved:
                _unlink_quietly(tmp)
            if held is not None:
                closer.close(held)

    def write(self, target: str | Path, data: bytes, seen: _Seen | None, file_mode: int | None = None) -> bool:
        """Atomically put ``data`` at ``target``; ``False`` when the file changed under us.

        Temp file in the same folder, ``fsync``, re-check of the file on disk
        (``seen``), ``os.replace``. ``seen`` is ``None`` for a new file: it is
        then created only if the name is still free (``os.link`` never
        overwrites).
        """
        target = os.fspath(target)
        tmp, fd = self._stage(target, data, file_mode)
        try:
            os.fsync(fd)
        except BaseException:
            os.close(fd)
            _unlink_quietly(tmp)
            raise
        os.close(fd)
        return self._commit(target, tmp, seen)

    # ------------------------------------------------------------------ batch

    def stage(self, target: str, data: bytes, seen: _Seen | None, file_mode: int | None, outcome: FileOutcome,
              changed: str, dev: int) -> None:
        """Write ``data`` to a temp file next to ``target`` and queue it for :meth:`flush`.

        Like :meth:`write`, but the ``fsync``, re-check and replace happen in
        :meth:`flush`, for the whole batch; ``outcome`` is then turned into
        ``skipped-changed-on-disk`` (with ``changed``) or ``error`` when the
        file cannot be put in place. Raises ``OSError`` when the temp file
        cannot be written (nothing is left behind then).
        """
        if self.sync_mode != "fsync" and _LINUX and dev not in self.dev_fds:
            # opened before the temp files are written, so syncfs reports their write-back errors
            try:
                self.dev_fds[dev] = os.open(os.path.dirname(target), os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
            except OSError:
                self.dev_fds[dev] = None
        tmp, fd = self._stage(target, data, file_mode)
        item = _Staged(target, tmp, seen, outcome, changed, dev, fd)
        try:
            if self.sync_mode is not None:
                if not self._by_syncfs(dev):
                    os.fsync(fd)
                    item.synced = True
                item.fd = None
                os.close(fd)
        except BaseException:
            if item.fd is not None:
                os.close(fd)
            _unlink_quietly(tmp)
            raise
        self.staged.append(item)
        if self.sync_mode is None and len(self.staged) >= _SYNCFS_MIN:
            self._choose_sync()

    def _choose_sync(self) -> None:
        """A large batch: flush it with syncfs if the system has it, else fsync each file as it is written."""
        self.sync_mode = "syncfs" if _syncfs() is not None else "fsync"
        if self.sync_mode == "fsync":
            self._close_dev_fds()
        for item in self.staged:
            if item.fd is not None:
                fd, item.fd = item.fd, None
                try:
                    if not self._by_syncfs(item.dev):
                        os.fsync(fd)
                        item.synced = True
                except OSError as exc:
                    self._fail(item, exc)
                finally:
                    os.close(fd)

    def _by_syncfs(self, dev: int) -> bool:
        """Whether the temp files on device ``dev`` are flushed by one syncfs (else each is fsync-ed)."""
        if self.sync_mode != "syncfs":
            return False
        if self.fs_types is None:
            self.fs_types = _fs_types()
        return self.fs_types.get(dev) in _SYNCFS_TYPES

    def _fail(self, item: _Staged, exc: OSError) -> None:
        item.done = True
        _unlink_quietly(item.tmp)
        item.outcome.action = "error"
        item.outcome.message = f"cannot write: {exc}"

    def _close_dev_fds(self) -> None:
        fds, self.dev_fds = self.dev_fds, {}
        for fd in fds.values():
            if fd is not None:
                os.close(fd)

    def _make_durable(self, items: list[_Staged]) -> None:
        """Get every staged temp file to stable storage; a file that cannot be is failed and removed."""
        fn = _syncfs() if self.sync_mode == "syncfs" else None
        bad_devs: set[int] = set()
        if fn is not None:
            for dev in sorted({i.dev for i in items if not i.synced and not i.done and i.fd is None}):
                fd = self.dev_fds.get(dev)
                if fd is None or not self._by_syncfs(dev) or fn(fd) != 0:
                    bad_devs.add(dev)  # then each file of that file system, to know which one failed
        for item in items:
            if item.done or item.synced:
                continue
            fd, item.fd = item.fd, None
            try:
                if fd is None:
                    if fn is not None and item.dev not in bad_devs:
                        item.synced = True
                        continue
                    fd = os.open(item.tmp, _READ_FLAGS)
                os.fsync(fd)
                item.synced = True
            except OSError as exc:
                self._fail(item, exc)
            finally:
                if fd is not None:
                    os.close(fd)

    def flush(self) -> None:
        """Make the staged temp files durable, record new manifest hashes, then move each into place.

        The move of each file re-checks the target as :meth:`write` does.
        Whatever happens (a ``KeyboardInterrupt`` included), no temp file of
        the batch is left behind.
        """
        items, self.staged = self.staged, []
        if not items:
            self._close_dev_fds()
            return
        try:
            self._make_durable(items)
            self._close_dev_fds()
            if self.manifest is not None and any(not _is_note(i.outcome.path) for i in items):
                try:
                    self.manifest.flush()  # new hashes are recorded before any file gets them
                except OSError as exc:
                    for item in items:
                        if not item.done and not _is_note(item.outcome.path):
                            self._fail(item, OSError(f"cannot save the manifest: {exc}"))
            for item in items:
                if item.done:
                    continue
                item.done = True  # _commit removes the temp file whatever happens
                try:
                    ok = self._commit(item.target, item.tmp, item.seen, self.closer)
                except OSError as exc:
                    item.outcome.action = "error"
                    item.outcome.message = f"cannot write: {exc}"
                    continue
                if not ok:
                    item.outcome.action = "skipped-changed-on-disk"
                    item.outcome.message = item.changed
        finally:
            for item in items:
                if item.fd is not None:
                    os.close(item.fd)
                    item.fd = None
                if not item.done:
                    _unlink_quietly(item.tmp)
            self._close_dev_fds()

    def discard(self) -> None:
        """Drop the staged batch without moving anything into place (the run is being aborted)."""
        items, self.staged = self.staged, []
        for item in items:
            if item.fd is not None:
                os.close(item.fd)
                item.fd = None
            if not item.done:
                item.done = True
                _unlink_quietly(item.tmp)
        self._close_dev_fds()

    def remove(self, target: Path, seen: _Seen) -> bool:
        """Delete ``target`` if it is still the file read; ``False`` when it changed."""
        if _before_replace is not None:
            _before_replace(Path(target))
        if self.closer is None:
            if not _unchanged_since(target, seen):
                return False
            os.unlink(target)
        else:
            held = _unchanged_open(target, seen)
            if held is None:
                return False
            try:
                os.unlink(target)
            finally:
                self.closer.close(held)
        self.dirs.add(str(target.parent))
        return True

    def sync_dirs(self) -> None:
        for d in sorted(self.dirs):
            try:
                fd = os.open(d, os.O_RDONLY)
            except OSError:
                continue
            try:
                os.fsync(fd)
            except OSError:
                pass
            finally:
                os.close(fd)


def _diff(path: str, old: str | None, new: str | None) -> str:
    a = "" if old is None else _normalize(old)
    b = "" if new is None else _normalize(new)
    lines = difflib.unified_diff(
        a.splitlines(keepends=True), b.splitlines(keepends=True),
        fromfile="/dev/null" if old is None else f"a/{path}",
        tofile="/dev/null" if new is None else f"b/{path}",
    )
    out = []
    for line in lines:
        out.append(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n")
    return "".join(out)


def _within(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


def _check_parts(rel: str, what: str) -> list[str]:
    if not isinstance(rel, str) or not rel or "\\" in rel or "\0" in rel or rel.startswith("/") or (
        len(rel) > 1 and rel[1] == ":"
    ):
        raise UnsafePathError(f"{what} {rel!r} is not a relative POSIX path")
    parts = rel.split("/")
    for p in parts:
        if p in ("", ".", ".."):
            raise UnsafePathError(f"{what} {rel!r} has an empty, '.' or '..' segment")
        if p.startswith("."):
            raise UnsafePathError(f"{what} {rel!r} goes through a hidden file or folder ({p!r})")
        if p.casefold() in PROTECTED_DIRS:  # pragma: no cover - dot names caught above
            raise UnsafePathError(f"{what} {rel!r} is inside a protected folder")
    return parts


@contextlib.contextmanager
def sync_lock(vault_root: Path) -> Iterator[None]:
    """Hold the vault's sync lock for the block: one ``vaultkit sync`` at a time per vault.

    An advisory ``flock`` on the vault folder itself (no lock file is left in
    the vault), taken without waiting. Only writing syncs take it; where the
    system has no ``flock`` (Windows) the block just runs. Taken before the
    vault is read, unlike the output folder's lock (:func:`apply`), so that a
    second sync is refused at once instead of planning from a vault the first
    one is still writing.

    Raises
    ------
    WriterBusyError
        When another process holds it.
    """
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows: no advisory lock
        yield
        return
    try:
        fd = os.open(vault_root, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:  # (not a folder, unreadable: the command reports it)
        yield
        return
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            raise WriterBusyError(f"another vaultkit sync is running on the vault {vault_root}: run this one "
                                  "again when it ends") from None
        yield
    finally:
        os.close(fd)  # (releases the lock)


def _lock(out_path: Path):
    """Take the output folder's lock; returns a file descriptor to close, or ``None``."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows: no advisory lock
        return None
    try:  # lock the folder itself: no lock file is left in the vault
        fd = os.open(out_path, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:  # pragma: no cover - folders cannot be opened on this system
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        raise WriterBusyError(f"another vaultkit process is writing {out_path}") from None
    return fd


def _key(rel: str) -> str:
    """How names compare for clashes: NFC and case-folded.

    >>> _key("Note.md") == _key("NOTE.MD"), _key("Cafe\u0301") == _key("CAF\u00c9")
    (True, True)
    """
    if rel.isascii():
        return rel.lower()
    return unicodedata.normalize("NFC", unicodedata.normalize("NFC", rel).casefold())


# --------------------------------------------------------------------------- manifest


MANIFEST_NAME = ".vaultkit-manifest.json"


def _is_note(rel: str) -> bool:
    return rel.lower().endswith(".md")


class _Manifest:
    """Ownership of generated files that cannot carry a frontmatter marker (``.canvas``, ``.json``…).

    ``<output>/.vaultkit-manifest.json`` maps each such vault path to the
    SHA-256 hashes (of the text, BOM dropped, ``\n`` newlines) it may have
    while still being vaultkit's. A new hash is recorded *before* the file is
    written, so a run killed in between still owns either version; the run's
    end keeps only the current hash. A file missing from the manifest is the
    user's. Deleting the manifest makes these files the user's (never lost).
    """

    def __init__(self, out_path: Path, enabled: bool) -> None:
        self.path = os.path.join(os.fspath(out_path), MANIFEST_NAME)
        self.enabled = enabled
        self.entries: dict[str, list[str]] = {}
        self.problem = ""
        try:
            data, _seen = _read(self.path)
            doc = json.loads(data.decode("utf-8"))
            files = doc.get("files") if isinstance(doc, dict) else None
            if not isinstance(files, dict):
                raise ValueError("no 'files' mapping")
            for rel, hashes in files.items():
                if isinstance(rel, str) and isinstance(hashes, list) and all(
                        isinstance(h, str) and re.fullmatch(r"[0-9a-f]{64}", h) for h in hashes):
                    self.entries[rel] = list(hashes)
        except FileNotFoundError:
            pass
        except (OSError, ValueError, UnicodeDecodeError) as exc:
            self.problem = f"{MANIFEST_NAME} unreadable ({exc}); generated non-Markdown files count as the user's"
        # (an unreadable manifest is written again at the end of the run: nothing saved yet)
        self.saved: dict[str, list[str]] | None = None if self.problem else {k: list(v) for k, v in
                                                                              self.entries.items()}

    def allowed(self, rel: str) -> list[str] | None:
        return self.entries.get(rel)

    def add(self, rel: str, digest: str, save: bool = True) -> None:
        """Record ``digest`` as vaultkit's for ``rel``; save now unless ``save`` is false.

        Either way the manifest is saved before the file is written: a batch
        saves it once, just before its files are moved into place.
        """
        hashes = self.entries.setdefault(rel, [])
        if digest not in hashes:
            hashes.append(digest)
            if save:
                self.flush()

    def flush(self) -> None:
        if not self.enabled or self.entries == self.saved:
            return
        doc = {"generator": GENERATOR, "version": __version__,
               "files": {k: self.entries[k] for k in sorted(self.entries)}}
        data = (json.dumps(doc, indent=1, ensure_ascii=False) + "\n").encode("utf-8")
        if not self.entries and not os.path.lexists(self.path):
            self.saved = {}
            return
        folder = os.path.dirname(self.path)
        os.makedirs(folder, exist_ok=True)
        tmp = _temp_path(folder)
        fd = os.open(tmp, _TEMP_FLAGS, 0o666)
        try:
            try:
                _write_all(fd, data)  # (one os.write may write less than asked)
                os.fsync(fd)
            finally:
                os.close(fd)
            os.replace(tmp, self.path)  # replaces a symlink itself, never its target
        except BaseException:
            _unlink_quietly(tmp)
            raise
        self.saved = {k: list(v) for k, v in self.entries.items()}


# --------------------------------------------------------------------------- apply


def apply(
    root: Path,
    output: str,
    files: Sequence[PlannedFile],
    regions: Iterable[PlannedRegion] = (),
    mode: WriteMode = WriteMode.WRITE,
    force: bool = False,
    prune: bool = True,
    known: "dict[str, tuple] | None" = None,
    progress: "Callable[[str, int, int], None] | None" = None,
) -> WriteReport:
    """Bring the generated notes and regions of a vault up to date, safely.

    Parameters
    ----------
    root : Path
        The vault folder.
    output : str
        Vault-relative folder that holds the generated notes (``"_vaultkit"``).
    files : sequence of PlannedFile
        Every generated note of this run; paths must lie inside ``output``.
    regions : iterable of PlannedRegion
        Text for regions of users' notes (anywhere in the vault, not in dot-folders).
    mode : WriteMode
        Only ``WriteMode.WRITE`` changes the disk.
    force : bool
        Overwrite (or prune) generated notes and regions the user edited.
        Never overrides a taken path, a change on disk or bad markers.
    prune : bool
        Remove unmodified generated notes in ``output`` that are no longer planned.
    known : dict, optional
        :attr:`WriteReport.verified` of an earlier run: a planned file whose
        planned text has the hash recorded there, and whose size, mtime,
        ctime and inode are still the recorded ones, is ``unchanged`` without
        being read (its bytes cannot have changed without changing its ctime).
    progress : callable, optional
        Called as ``progress("writing notes", files done, files planned)``.

    Returns
    -------
    WriteReport
        Removals first, then planned notes in order, then notes with regions.

    Raises
    ------
    UnsafePathError
        When ``output`` is not a plain folder inside the vault (absolute,
        ``..``, hidden, the vault root itself, or a symlink, or in a linked folder).
    WriterBusyError
        In ``WRITE`` mode, when another vaultkit process holds the lock.
    """
    root = Path(root)
    root_real = os.path.realpath(root)
    output = Path(output).as_posix() if isinstance(output, os.PathLike) else str(output)
    output = output.rstrip("/")
    out_parts = _check_parts(output, "output folder")
    out_path = root.joinpath(*out_parts)
    out_real = os.path.realpath(out_path)
    if not _within(out_real, root_real) or out_real == root_real:
        raise UnsafePathError(f"output folder {output!r} resolves to {out_real}, outside the vault {root_real}")
    if _hidden_inside(out_real, root_real):
        raise UnsafePathError(f"output folder {output!r} resolves to {out_real}, inside a hidden folder")
    if out_real != os.path.join(root_real, *out_parts):
        # (a symlink to another folder of the vault: every note there would be seen twice, by two names,
        # and each sync would take the other's notes for the user's)
        raise UnsafePathError(f"output folder {output!r} is a symbolic link to {out_real} (or lies in a linked "
                              "folder): vaultkit writes only into a folder of its own; make it a plain folder")
    w = _Writer(mode, root)
    w.known = dict(known or {})
    report = WriteReport(mode=mode, verified=w.verified, looked=w.looked)
    lock_fd = None
    if w.writing and (files or prune):
        if os.path.lexists(out_path) and not os.path.isdir(out_path):
            raise UnsafePathError(f"output folder {output!r} exists and is not a folder")
        if files:
            os.makedirs(out_path, exist_ok=True)
            if not _within(os.path.realpath(out_path), root_real):  # pragma: no cover - raced symlink
                raise UnsafePathError(f"output folder {output!r} leads outside the vault")
        if os.path.isdir(out_path):
            lock_fd = _lock(out_path)
    try:
        w.manifest = _Manifest(out_path, w.writing)
        broken_manifest = w.manifest.problem
        before = {k: list(v) for k, v in w.manifest.entries.items()}
        planned: dict[str, PlannedFile] = {}
        planned_keys: dict[str, str] = {}
        duplicates: list[PlannedFile] = []
        for pf in files:
            k = _key(pf.path)
            if k in planned_keys:
                duplicates.append(pf)
                continue
            planned_keys[k] = pf.path
            planned[pf.path] = pf
        if prune and os.path.isdir(out_path):
            _prune(w, report, root, root_real, out_path, out_real, planned, planned_keys, force)
        for done, pf in enumerate(files):
            if progress is not None and done % 64 == 0:
                progress("writing notes", done, len(files))
            if planned.get(pf.path) is not pf:
                continue
            report.outcomes.append(_one_file(w, root, out_parts, out_real, pf, force))
            if len(w.staged) >= _BATCH_FILES:
                w.flush()
        w.flush()
        for outcome in report.outcomes:  # written now: the next run checks them by content (see _unstated)
            if outcome.action in ("created", "updated") and outcome.path in w.written:
                w.verified.setdefault(outcome.path, _unstated(w.written[outcome.path]))
        for pf in duplicates:
            report.outcomes.append(FileOutcome(pf.path, "refused-duplicate",
                                               f"planned twice (same name as {planned_keys[_key(pf.path)]!r} "
                                               "when case is ignored)"))
        by_note: dict[str, dict[str, str]] = {}
        region_problems: dict[str, str] = {}
        for r in regions:
            problem = _check_region_text(r.name, r.text)
            if problem:
                region_problems.setdefault(r.path, problem)
            if r.name in by_note.setdefault(r.path, {}):
                region_problems.setdefault(r.path, f"region {r.name!r} planned twice")
            by_note[r.path][r.name] = r.text
        if w.writing and by_note:
            _remove_region_temps(root, root_real, by_note)
        for path, regs in by_note.items():
            if path in region_problems:
                report.outcomes.append(FileOutcome(path, "refused-text", region_problems[path]))
                continue
            report.outcomes.append(_one_region_note(w, root, root_real, path, regs, force))
        if w.writing:
            _finish_manifest(w, report, root, before)
            w.sync_dirs()
        if broken_manifest and not any(o.path == MANIFEST_NAME and o.action == "error" for o in report.outcomes):
            # written again by this run (or a writing run would): a mended file, not an error
            report.outcomes.append(FileOutcome(f"{output}/{MANIFEST_NAME}", "updated",
                                               f"{broken_manifest}; " + ("written again" if w.writing
                                                                         else "a sync writes it again")))
    finally:
        w.discard()  # an aborted run (KeyboardInterrupt…) leaves no temp file
        if w.closer is not None:
            w.closer.join()
        if lock_fd is not None:
            os.close(lock_fd)
    return report


def _remove_region_temps(root: Path, root_real: str, by_note: dict[str, dict[str, str]]) -> None:
    """Remove temp files a killed run left next to notes with regions (outside the output folder,
    where the prune does not look): only files named like vaultkit's own (``.~vaultkit-<hex>.tmp``),
    only in folders inside the vault."""
    for folder in sorted({posixpath.dirname(p) for p in by_note}):
        try:
            path = root.joinpath(*_check_parts(folder, "folder")) if folder else root
            if not _within(os.path.realpath(path), root_real):
                continue
            entries = list(os.scandir(path))
        except (OSError, UnsafePathError):
            continue
        for entry in entries:
            if _TEMP_RE.match(entry.name) and entry.is_file(follow_symlinks=False):
                try:
                    os.unlink(entry.path)
                except OSError:
                    pass


def _finish_manifest(w: _Writer, report: WriteReport, root: Path, before: dict[str, list[str]]) -> None:
    """Keep, in the manifest, only the current hash of each non-Markdown file vaultkit owns."""
    final = dict(before)
    for o in report.outcomes:
        if _is_note(o.path):
            continue
        if o.action in ("created", "updated", "unchanged") and o.path in w.digests:
            final[o.path] = [w.digests[o.path]]
        elif o.action == "removed":
            final.pop(o.path, None)
        # skipped, refused and failed files keep the hashes they had
    for rel in list(final):
        if not os.path.lexists(os.path.join(os.fspath(root), *rel.split("/"))):
            final.pop(rel)
    w.manifest.entries = final
    try:
        w.manifest.flush()
    except OSError as exc:
        report.outcomes.append(FileOutcome(MANIFEST_NAME, "error", f"cannot save the manifest: {exc}"))


def _prune(w: _Writer, report: WriteReport, root: Path, root_real: str, out_path: Path, out_real: str,
           planned: dict[str, PlannedFile], planned_keys: dict[str, str], force: bool) -> None:
    emptied: set[str] = set()
    stack = [(out_path, "/".join(out_path.relative_to(root).parts))]
    while stack:
        folder, rel_folder = stack.pop()
        try:
            entries = sorted(os.scandir(folder), key=lambda e: e.name)
        except OSError:
            continue
        for entry in entries:
            name = entry.name
            rel = f"{rel_folder}/{name}"
            if name.startswith("."):
                if w.writing and _TEMP_RE.match(name) and entry.is_file(follow_symlinks=False):
                    try:  # a temp file left by a killed run
                        os.unlink(entry.path)
                    except OSError:
                        pass
                continue
            if entry.is_symlink():
                continue
            if entry.is_dir(follow_symlinks=False):
                stack.append((Path(entry.path), rel))
                continue
            note = name.lower().endswith(".md")
            if rel in planned or (not note and w.manifest.allowed(rel) is None):
                continue
            other = planned_keys.get(_key(rel))
            if other is not None:
                try:
                    if os.path.samefile(entry.path, root.joinpath(*other.split("/"))):
                        continue  # the same file on a case-insensitive file system
                except OSError:
                    pass
            try:
                data, seen = _read(Path(entry.path))
            except OSError as exc:
                report.outcomes.append(FileOutcome(rel, "error", f"cannot read: {exc}"))
                continue
            dec = _decode(data)
            if dec is None:
                continue
            owner = ownership(_normalize(dec[0])) if note else _manifest_owner(w, rel, dec[0])
            if owner == "user":
                continue
            if owner == "edited" and not force:
                report.outcomes.append(FileOutcome(rel, "skipped-edited",
                                                   "no longer generated, kept because it was edited; "
                                                   "delete it yourself or use --force"))
                continue
            outcome = FileOutcome(rel, "removed", "no longer generated")
            if w.mode is WriteMode.DIFF:
                outcome.diff = _diff(rel, dec[0], None)
            if w.writing:
                try:
                    if not w.remove(Path(entry.path), seen):
                        outcome = FileOutcome(rel, "skipped-changed-on-disk", "changed while vaultkit was running")
                    else:
                        emptied.add(str(folder))
                except OSError as exc:
                    outcome = FileOutcome(rel, "error", f"cannot remove: {exc}")
            else:  # (--check, --diff, --dry-run) gone by the time a file named like it but for case is made
                listing = w.names_in(os.path.dirname(os.path.join(w.root, *rel.split("/"))))
                if listing.get(_key(name)) == name:
                    del listing[_key(name)]
            report.outcomes.append(outcome)
    for folder in sorted(emptied, key=len, reverse=True):
        d = Path(folder)
        while _within(str(d), str(out_path)) and str(d) != str(out_path):
            try:
                d.rmdir()  # only succeeds when empty
            except OSError:
                break
            d = d.parent


def _manifest_owner(w: _Writer, rel: str, raw: str) -> str:
    """``user``, ``clean`` or ``edited`` for a non-Markdown file, from the manifest; a file the manifest lost
    (deleted, or a sync service that skips hidden files) that holds what the last run found or wrote there
    (its record in ``known``) is still vaultkit's, unedited."""
    allowed = w.manifest.allowed(rel) if w.manifest is not None else None
    if allowed is None:
        record = w.known.get(rel)
        return "clean" if record is not None and record[0] == _sha(_normalize(raw)) else "user"
    return "clean" if _sha(_normalize(raw)) in allowed else "edited"


#: A file changed this recently is not recorded as up to date: a second write within the file
#: system's timestamp granularity (a few ms on ext4) could keep its size, mtime and ctime.
_RECENT_NS = 2_000_000_000


def file_looks(digest: str, st: os.stat_result) -> tuple[str, int, int, int, int]:
    """How :attr:`WriteReport.verified` records a file: ``(content hash, size, mtime_ns, ctime_ns, inode)``.

    A file whose ``file_looks`` equals its entry there is the one the writer
    found up to date (``apply(known=...)`` and ``vaultkit lint`` trust it unread).
    """
    return (digest, st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino)


def _unchanged(w: _Writer, rel: str, looks: tuple[str, int, int, int, int]) -> FileOutcome:
    """An up-to-date planned file, recorded for the next run unless it changed only just now."""
    w.looked[rel] = looks
    w.verified[rel] = looks if time.time_ns() - max(looks[2], looks[3]) > _RECENT_NS else _unstated(looks[0])
    return FileOutcome(rel, "unchanged", "")


def _unstated(digest: str) -> tuple[str, int, int, int, int]:
    """A :attr:`WriteReport.verified` record of a file just written or changed: its content hash, and
    no size or times (they could be a later write's, within the timestamp granularity), so that no
    :func:`file_looks` equals it: the next run plans it by the hash and checks it by content
    (:func:`_content_unchanged`), without making it again."""
    return (digest, -1, -1, -1, -1)


def _content_unchanged(w: _Writer, rel: str, note: bool, digest: str, target: str,
                       st: os.stat_result) -> FileOutcome | None:
    """``unchanged`` when the file holds what an earlier run wrote with content hash ``digest`` (read and
    hashed: its stat is not trusted), a note with its marker intact, a non-note file as the manifest has it."""
    recorded = w.known.get(rel)
    if not recorded or recorded[0] != digest:
        return None
    try:
        data, _seen = _read(target)
    except OSError:
        return None
    dec = _decode(data)
    if dec is None:
        return None
    if _owner_and_hash(w, rel, note, _normalize(dec[0])) != ("clean", digest):
        return None
    if not note:
        w.digests[rel] = digest
    return _unchanged(w, rel, file_looks(digest, st))


def _owner_and_hash(w: _Writer, rel: str, note: bool, current: str) -> tuple[str, str | None]:
    """Who owns the file holding normalised ``current`` (``user``, ``clean`` or ``edited``; a note by its
    marker, another file by the manifest) and the content hash to compare with a planned one (a note's
    without its marker line; ``None`` for a note without a marker)."""
    if not note:
        return _manifest_owner(w, rel, current), _sha(current)
    stripped, marker = strip_marker(current)
    if marker is None:
        return ownership(current), None
    current_hash = _sha(stripped)
    return ("clean" if current_hash == marker[1] else "edited"), current_hash


def _known_unchanged(w: _Writer, rel: str, note: bool, digest: str, st: os.stat_result) -> FileOutcome | None:
    """``unchanged`` without reading when an earlier run found the file with this content hash up to date
    and its size, times and inode are still the same (a non-note file: its hash still in the manifest)."""
    looks = file_looks(digest, st)
    if w.known.get(rel) != looks or not (note or digest in (w.manifest.allowed(rel) or ())):
        return None
    w.verified[rel] = w.looked[rel] = looks
    if not note:
        w.digests[rel] = digest
    return FileOutcome(rel, "unchanged", "")


@functools.lru_cache(maxsize=256)
def _real_folder(folder: str) -> str:
    """``os.path.realpath`` of a folder, cached (a few folders hold thousands of generated notes; the
    forked workers that call :func:`note_on_disk` live for one plan, and start with this cache empty)."""
    return os.path.realpath(folder)


def note_on_disk(root: "str | os.PathLike[str]", rel: str, text: str) -> tuple[str, int, int, int, int] | None:
    """The :attr:`WriteReport.verified` record of generated note ``rel`` when its file already holds, byte for
    byte, what :func:`apply` would write for ``text`` (marker line included); else ``None``.

    Read-only, for a planner that makes many notes in worker processes: a record it passes on in
    ``apply(known=...)`` lets the writer find the note up to date by its stat alone, as it does for a
    file an earlier run found so (the writer still checks the path and the stat, and makes the note
    again when the file changed). ``None`` too for a file changed in the last two seconds (a later
    change within the file system's timestamp granularity would keep size and times), a file that
    is not a regular one, or an unsafe path.

    Parameters
    ----------
    root : path-like
        The vault folder.
    rel : str
        The note's vault path (POSIX).
    text : str
        The note as planned, without the ownership marker.

    Returns
    -------
    tuple or None
        ``(content hash, size, mtime_ns, ctime_ns, inode)`` (:func:`file_looks`).

    Examples
    --------
    >>> import tempfile
    >>> vault = Path(tempfile.mkdtemp())
    >>> _ = (vault / "Gen.md").write_text(render_with_marker("# Gen\\n"), encoding="utf-8")
    >>> os.utime(vault / "Gen.md", ns=(0, 0))  # (not just written: mtime long ago; ctime is now)
    >>> note_on_disk(vault, "Gen.md", "# Gen\\n") is None, note_on_disk(vault, "Gen.md", "# Other\\n")
    (True, None)
    """
    try:
        rendered, digest = _render(text)
        target = os.path.join(os.fspath(root), *_check_parts(rel, "planned path"))
        if not _within(_real_folder(os.path.dirname(target)), _real_folder(os.fspath(root))):
            return None  # (a symlinked folder leading out of the vault: the writer refuses the path)
        expected = rendered.encode("utf-8")
        fd = os.open(target, _READ_FLAGS)
    except (ValueError, UnsafePathError, OSError):  # (a planned text the writer refuses, an unsafe path)
        return None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or st.st_size != len(expected):
            return None
        if time.time_ns() - max(st.st_mtime_ns, st.st_ctime_ns) <= _RECENT_NS:
            return None
        data = _read_fd(fd)
    except OSError:
        return None
    finally:
        os.close(fd)
    return file_looks(digest, st) if data == expected else None


def _one_file(w: _Writer, root: Path, out_parts: list[str], out_real: str, pf: PlannedFile,
              force: bool) -> FileOutcome:
    rel = pf.path
    try:
        parts = _check_parts(rel, "planned path")
    except UnsafePathError as exc:
        return FileOutcome(rel, "refused-path", str(exc))
    if parts[: len(out_parts)] != out_parts or len(parts) <= len(out_parts):
        return FileOutcome(rel, "refused-path", f"{rel!r} is not inside the output folder {'/'.join(out_parts)!r}")
    bad = _bad_name(parts[len(out_parts):])
    if bad:
        return FileOutcome(rel, "refused-path", bad)
    target = os.path.join(w.root, *parts)
    parent = os.path.dirname(target)
    parent_real = w.realdir(parent)
    if not _within(parent_real, out_real):
        return FileOutcome(rel, "refused-path", f"{rel!r} leads outside the output folder (symlink)")
    note = _is_note(rel)
    if pf.text is None:  # deferred: unchanged when still the file an earlier run found with this text
        try:
            st = os.lstat(target)
        except OSError:
            st = None
        if st is not None and stat.S_ISREG(st.st_mode) and pf.digest is not None:
            known = _known_unchanged(w, rel, note, pf.digest, st) or _content_unchanged(
                w, rel, note, pf.digest, target, st)
            if known is not None:
                return known
        if pf.render is None:
            return FileOutcome(rel, "refused-text", "deferred text without a way to make it")
        planned = pf.render()  # (not kept in pf: the writer holds one made text at a time)
    else:
        planned = pf.text
    text: str | None
    if note:
        try:
            text, digest = _render(planned.decode("utf-8") if planned.__class__ is bytes else planned)
        except ValueError as exc:  # (UnicodeDecodeError too)
            return FileOutcome(rel, "refused-text", str(exc))
    else:  # .canvas, .json…: no marker inside; ownership is in the manifest
        if planned.__class__ is bytes:  # UTF-8 as made (a canvas: no str of it is made unless needed)
            text, encoded = None, _normalize_bytes(planned)
        else:
            text = _normalize(planned)
            encoded = text.encode("utf-8")  # (a 10,000-note canvas: 24 MB; encoded once)
        digest = hashlib.sha256(encoded).hexdigest()
        w.digests[rel] = digest
    try:
        if parent in w.fresh and _key(parts[-1]) not in w.listings[parent]:
            st = None  # a folder that was missing: only this run's files are in it, so no lstat
        else:
            st = os.lstat(target)
    except FileNotFoundError:
        st = None
    except OSError as exc:
        return FileOutcome(rel, "error", f"cannot inspect: {exc}")
    if st is None:
        names = w.names_in(parent)
        twin = names.get(_key(parts[-1]))
        if twin is not None and twin != parts[-1]:
            return FileOutcome(rel, "skipped-taken", f"'{twin}' is already in that folder; names that differ only "
                                                     "in case would make links ambiguous (and clash on Windows/macOS)")
        outcome = FileOutcome(rel, "created", "")
        if w.mode is WriteMode.DIFF:
            outcome.diff = _diff(rel, None, text if text is not None else encoded.decode("utf-8"))
        if w.writing:
            try:
                dev = w.ensure_dir(parent)
                if not _within(w.realdir(parent), out_real):
                    return FileOutcome(rel, "refused-path", f"{rel!r} leads outside the output folder (symlink)")
                if not note:
                    w.manifest.add(rel, digest, save=False)
                w.written[rel] = digest
                _stage_in(w, parent, out_real, target, text.encode("utf-8") if note else encoded, None, None,
                          outcome, "a file appeared at this path while writing", dev)
                names[_key(parts[-1])] = parts[-1]
            except _LeftOutput:
                return FileOutcome(rel, "refused-path", f"{rel!r} leads outside the output folder (symlink)")
            except OSError as exc:
                return FileOutcome(rel, "error", f"cannot write: {exc}")
        return outcome
    if stat.S_ISLNK(st.st_mode):
        return FileOutcome(rel, "skipped-taken", "the path is a symbolic link; left alone")
    if not stat.S_ISREG(st.st_mode):
        return FileOutcome(rel, "skipped-taken", "the path is a folder or special file; left alone")
    known = _known_unchanged(w, rel, note, digest, st)
    if known is not None:
        return known
    looks = file_looks(digest, st)
    try:
        data, seen = _read(target)
    except OSError as exc:
        return FileOutcome(rel, "error", f"cannot read: {exc}")
    if note:
        encoded = text.encode("utf-8")
    if data == encoded and (note or digest in ((w.manifest.allowed(rel) if w.manifest is not None else None) or ())):
        # byte for byte what this run writes (a note with its marker; another file as the manifest lists
        # it): vaultkit's, unedited, up to date, as the checks below conclude after decoding the file and
        # hashing it again (a sync finds most files so)
        return _unchanged(w, rel, looks)
    if text is None:  # (made as bytes: the update below needs the text)
        text = encoded.decode("utf-8")
    del encoded  # (not kept while the file is decoded: the canvas of 10,000 notes is 96 MB as a str)
    dec = _decode(data)
    if dec is None:
        return FileOutcome(rel, "skipped-taken", "a file that is not UTF-8 (not vaultkit's) holds this path")
    raw, bom = dec
    current = _normalize(raw)
    owner, current_hash = _owner_and_hash(w, rel, note, current)
    if owner == "clean" and current_hash == digest:
        return _unchanged(w, rel, looks)
    if owner == "user" and not note and current_hash == digest:
        # what this run writes, though not in the manifest (deleted, or lost with the folder's other files):
        # owning it again loses nothing of anyone's, and the manifest lists it from now on
        return _unchanged(w, rel, looks)
    if owner == "user":
        return FileOutcome(rel, "skipped-taken", "a note vaultkit did not generate holds this path; left alone"
                           if note else f"a file vaultkit did not generate (not in {MANIFEST_NAME}) "
                                        "holds this path; left alone: move it elsewhere to let sync write here")
    adopted = owner == "edited" and current_hash == digest
    if adopted:  # edited into what this run writes (links Obsidian updated on a rename): nothing to keep
        owner = "clean"
    if owner == "edited" and not force:
        return FileOutcome(rel, "skipped-edited", "edited since vaultkit generated it; kept, --force overwrites it")
    nl = _newline_of(raw)
    new_raw = text if nl == "\n" else text.replace("\n", nl)
    new_data = _encode(new_raw, bom)
    if new_data == data:
        return _unchanged(w, rel, looks)
    if not _writable(target, st):
        return FileOutcome(rel, "skipped-read-only", READ_ONLY_MESSAGE)
    outcome = FileOutcome(rel, "updated", "overwrote hand edits because of --force" if owner == "edited" else
                          "edited into what vaultkit writes now: its marker renewed" if adopted else "")
    if w.mode is WriteMode.DIFF:
        outcome.diff = _diff(rel, raw, new_raw)
    if w.writing:
        try:
            dev = w.ensure_dir(parent)
            if not note:
                w.manifest.add(rel, digest, save=False)
            w.written[rel] = digest
            _stage_in(w, parent, out_real, target, new_data, seen, stat.S_IMODE(st.st_mode), outcome,
                      "changed while vaultkit was running; left alone", dev)
        except _LeftOutput:
            return FileOutcome(rel, "refused-path", f"{rel!r} leads outside the output folder (symlink)")
        except OSError as exc:
            return FileOutcome(rel, "error", f"cannot write: {exc}")
    return outcome


class _LeftOutput(Exception):
    """The folder of a planned file, re-created during the run, now leads outside the output folder."""


def _stage_in(w: _Writer, parent: str, out_real: str, target: str, data: bytes, seen: _Seen | None,
              file_mode: int | None, outcome: FileOutcome, changed: str, dev: int) -> None:
    """:meth:`_Writer.stage`; for a new file, re-creates the folder (once) if it vanished since it was checked."""
    try:
        w.stage(target, data, seen, file_mode, outcome, changed, dev)
    except FileNotFoundError:
        if seen is not None:  # the file to update went with its folder
            raise
        w.forget_dir(parent)
        dev = w.ensure_dir(parent)
        if not _within(w.realdir(parent), out_real):
            raise _LeftOutput from None
        w.stage(target, data, seen, file_mode, outcome, changed, dev)


_BAD_CHARS = re.compile(r'[\\/:*?"<>|#^\[\]\x00-\x1f\x7f-\x9f]|%%')
_DEVICE = re.compile(r"^(?:CON|PRN|AUX|NUL|CONIN\$|CONOUT\$|COM[0-9\u00b9\u00b2\u00b3]|LPT[0-9\u00b9\u00b2\u00b3])"
                     r"(?:\..*)?$", re.I)


def _bad_name(parts: list[str]) -> str:
    """Why one of the path segments is not a safe name everywhere, or ``""``.

    The same rules as :func:`vaultkit.names.is_safe_name` (Windows, macOS,
    Linux and Obsidian links), as plain checks so a 5,000-note run stays fast.

    >>> _bad_name(["sub", "File A.md"]), _bad_name(["a:b.md"])[:8], _bad_name(["CON.md"])[:8]
    ('', "'a:b.md'", "'CON.md'")
    """
    for p in parts:
        m = _BAD_CHARS.search(p)
        if m:
            return f"{p!r} contains {m.group()!r}, which is invalid on some systems or breaks Obsidian links"
        if p != p.strip() or p != p.rstrip(" ."):
            return f"{p!r} starts or ends with white space, or ends with a dot (invalid on Windows)"
        if _DEVICE.match(p):
            return f"{p!r} is a reserved device name on Windows"
        if len(p.encode("utf-8")) > 255:
            return f"{p!r} is longer than 255 bytes"
    return ""


def _user_target(root: Path, root_real: str, rel: str) -> Path:
    parts = _check_parts(rel, "note path")
    target = root.joinpath(*parts)
    real = os.path.realpath(target)
    if not _within(real, root_real):
        raise UnsafePathError(f"{rel!r} leads outside the vault (symlink)")
    if _hidden_inside(real, root_real):
        raise UnsafePathError(f"{rel!r} leads into a hidden folder such as .obsidian (symlink)")
    return target


def _hidden_inside(real: str, root_real: str) -> bool:
    """Whether ``real`` (inside ``root_real``) goes through a dot-folder or is a dot-file."""
    rel = os.path.relpath(real, root_real)
    return any(p.startswith(".") and p not in (".", "..") for p in Path(rel).parts)


def _one_region_note(w: _Writer, root: Path, root_real: str, rel: str, regs: dict[str, str],
                     force: bool) -> FileOutcome:
    from .discover import disk_path

    try:
        _check_parts(rel, "note path")
        # the name as spelled on disk (NFD on macOS) for the NFC vault path
        target = _user_target(root, root_real, disk_path(root, rel).relative_to(root).as_posix())
    except UnsafePathError as exc:
        return FileOutcome(rel, "refused-path", str(exc))
    try:
        if os.path.islink(target):
            return FileOutcome(rel, "refused-path", "the note is a symbolic link; left alone")
        data, seen = _read(target)
    except FileNotFoundError:
        return FileOutcome(rel, "refused-markers", "the note does not exist (regions go into notes that hold markers)")
    except OSError as exc:
        return FileOutcome(rel, "error", f"cannot read: {exc}")
    dec = _decode(data)
    if dec is None:
        return FileOutcome(rel, "refused-encoding", "not UTF-8; left alone")
    raw, bom = dec
    if ownership(_normalize(raw)) != "user":
        return FileOutcome(rel, "refused-markers", "regions go into users' notes, not into a note vaultkit generated")
    try:
        new_raw, edited = fill_regions(raw, regs, force=force)
    except RegionError as exc:
        return FileOutcome(rel, "refused-markers", f"{exc}; note left alone")
    new_data = _encode(new_raw, bom)
    if new_data == data:
        if edited:
            return FileOutcome(rel, "skipped-edited", f"region {', '.join(edited)} edited by hand; kept, "
                                                      "--force overwrites it")
        return FileOutcome(rel, "unchanged", "")
    if not _writable(target):
        return FileOutcome(rel, "skipped-read-only", READ_ONLY_MESSAGE)
    msg = f"region {', '.join(edited)} edited by hand and kept; --force overwrites it" if edited else ""
    outcome = FileOutcome(rel, "updated", msg, kept_edits=bool(edited))
    if w.mode is WriteMode.DIFF:
        outcome.diff = _diff(rel, raw, new_raw)
    if w.writing:
        try:
            if not w.write(target, new_data, seen, stat.S_IMODE(os.lstat(target).st_mode)):
                return FileOutcome(rel, "skipped-changed-on-disk", "changed while vaultkit was running; left alone")
        except FileNotFoundError:  # (deleted or moved since it was read: not made again)
            return FileOutcome(rel, "skipped-changed-on-disk", "deleted while vaultkit was running; left alone")
        except OSError as exc:
            return FileOutcome(rel, "error", f"cannot write: {exc}")
    return outcome


def generated_file_state(root: Path, output: str, rel: str, planned: "str | bytes",
                         known: "tuple | None" = None) -> str:
    """How a generated file that is not a note (the canvas) stands against ``planned``, as ``apply`` judges it.

    Parameters
    ----------
    root : Path
        The vault folder.
    output : str
        The output folder (``_vaultkit``), whose manifest says which such files are vaultkit's.
    rel : str
        The file's vault path.
    planned : str or bytes
        What a sync would write there (UTF-8 when bytes).
    known : tuple, optional
        The last run's record of the file (:func:`file_looks`): without the manifest, a file that holds
        what it records is still vaultkit's.

    Returns
    -------
    str
        ``"missing"``; ``"current"`` (it holds ``planned``, BOM and newline style aside); ``"stale"``
        (vaultkit's, as an earlier sync wrote it: sync rewrites it); ``"edited"`` (vaultkit's, changed since:
        kept unless ``--force``); ``"taken"`` (not in the manifest: left alone); ``"unreadable"``.
    """
    try:
        data, _seen = _read(root.joinpath(*rel.split("/")))
    except FileNotFoundError:
        return "missing"
    except OSError:
        return "unreadable"
    have = _normalize_bytes(data)
    if have == _normalize_bytes(planned if isinstance(planned, bytes) else planned.encode("utf-8")):
        return "current"
    allowed = _Manifest(root.joinpath(*output.strip("/").split("/")), False).allowed(rel)
    digest = hashlib.sha256(have).hexdigest()
    if allowed is None:
        return "stale" if known is not None and known[0] == digest else "taken"
    return "stale" if digest in allowed else "edited"


def replace_user_file(root: Path, rel: str, new_text: str, expected_sha256: str,
                      mode: WriteMode = WriteMode.WRITE, bom: bool | None = None,
                      source_encoding: str | None = None) -> FileOutcome:
    """Atomically replace a user's note, only if it is still what was read.

    For ``vaultkit fix``. The new text keeps the file's BOM and line endings
    (lines left unchanged keep their exact endings; see :func:`restyle`).

    Parameters
    ----------
    root : Path
        The vault folder.
    rel : str
        Vault-relative POSIX path of an existing note (not in a dot-folder).
    new_text : str
        The whole new note, ``\\n`` newlines, no BOM.
    expected_sha256 : str
        Hex SHA-256 of the file's bytes when it was read (``Note.sha256``).
    mode : WriteMode
        Only ``WRITE`` changes the disk; ``DIFF`` fills ``diff``.
    bom : bool, optional
        ``None`` keeps the file's BOM (or its absence); ``True``/``False``
        writes one or not (for ``fix`` removing a BOM).
    source_encoding : str, optional
        The encoding of a file that is not UTF-8, to convert it to UTF-8
        (the user asked for it). Without it such a file is refused.

    Returns
    -------
    FileOutcome
        ``updated``, ``unchanged``, ``skipped-changed-on-disk`` (hash differs
        now or changed during the write), ``refused-encoding`` (not UTF-8,
        or not in ``source_encoding``), ``refused-path`` or ``error``.

    Examples
    --------
    >>> import tempfile, hashlib
    >>> root = Path(tempfile.mkdtemp())
    >>> _ = (root / "A.md").write_bytes(b"\\xef\\xbb\\xbfa\\r\\nb\\r\\n")
    >>> h = hashlib.sha256((root / "A.md").read_bytes()).hexdigest()
    >>> replace_user_file(root, "A.md", "a\\nB\\n", h).action
    'updated'
    >>> (root / "A.md").read_bytes()
    b'\\xef\\xbb\\xbfa\\r\\nB\\r\\n'
    >>> replace_user_file(root, "A.md", "x\\n", h).action
    'skipped-changed-on-disk'
    >>> _ = (root / "B.md").write_bytes(b"Caf\\xe9\\r\\n")
    >>> h = hashlib.sha256(b"Caf\\xe9\\r\\n").hexdigest()
    >>> replace_user_file(root, "B.md", "Caf\\u00e9\\n", h).action
    'refused-encoding'
    >>> replace_user_file(root, "B.md", "Caf\\u00e9\\n", h, source_encoding="cp1252").action
    'updated'
    >>> (root / "B.md").read_bytes()
    b'Caf\\xc3\\xa9\\r\\n'
    """
    from .discover import disk_path

    root = Path(root)
    try:
        _check_parts(rel, "note path")
        on_disk = disk_path(root, rel)  # the name as spelled on disk (NFD on macOS) for the NFC vault path
        target = _user_target(root, os.path.realpath(root), on_disk.relative_to(root).as_posix())
        if os.path.islink(target):
            return FileOutcome(rel, "refused-path", "the note is a symbolic link; left alone")
    except UnsafePathError as exc:
        return FileOutcome(rel, "refused-path", str(exc))
    try:
        data, seen = _read(target)
    except FileNotFoundError:
        return FileOutcome(rel, "skipped-changed-on-disk", "the note no longer exists")
    except OSError as exc:
        return FileOutcome(rel, "error", f"cannot read: {exc}")
    if seen.sha256 != expected_sha256:
        return FileOutcome(rel, "skipped-changed-on-disk", "changed since it was read; left alone")
    dec = _decode(data)
    if dec is None:
        if source_encoding is None:
            return FileOutcome(rel, "refused-encoding", "not UTF-8; vaultkit does not re-encode notes")
        try:
            dec = data.decode(source_encoding), False
        except (UnicodeDecodeError, LookupError) as exc:
            return FileOutcome(rel, "refused-encoding", f"does not decode as {source_encoding}: {exc}")
    raw, had_bom = dec
    new_raw = restyle(raw, _normalize(new_text))
    new_data = _encode(new_raw, had_bom if bom is None else bom)
    if new_data == data:
        return FileOutcome(rel, "unchanged", "")
    outcome = FileOutcome(rel, "updated", "")
    if mode is WriteMode.DIFF:
        outcome.diff = _diff(rel, raw, new_raw)
    if mode is WriteMode.WRITE:
        w = _Writer(mode)
        try:
            if not w.write(target, new_data, seen, stat.S_IMODE(os.lstat(target).st_mode)):
                return FileOutcome(rel, "skipped-changed-on-disk", "changed while vaultkit was running; left alone")
        except OSError as exc:
            return FileOutcome(rel, "error", f"cannot write: {exc}")
        w.sync_dirs()
    return outcome
