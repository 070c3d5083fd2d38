"""Bytes of one ``.md`` file → a :class:`~vaultkit.model.Note`.

Decoding follows Obsidian's indexer (§0 of the syntax document): UTF-8, a
leading BOM dropped, ``\\r\\n`` and lone ``\\r`` turned into ``\\n``. A file that
is not valid UTF-8 is still parsed (undecodable bytes become U+FFFD) and gets a
``VK004`` diagnostic naming its likely encoding. Parsing never raises on note
content.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import re
import unicodedata
from typing import Any

from .codes import severity_of
from .feedback import feedback_parts
from .frontmatter import MARKER_KEY, _frontmatter_parts, find_marker, is_marker, load_yaml
from .model import Diagnostic, Link, Note, TagUse
from .scan import is_valid_tag, parse_wikilink, region_spans, scan_body
from .tiers import pack_tier_tables, read_tier_tables

__all__ = ["parse_note", "complete_note", "decode_note", "property_list", "LEGACY_KEYS"]

LEGACY_KEYS = {"tag": "tags", "alias": "aliases", "cssclass": "cssclasses"}
_SPACE_RE = re.compile(r"\s")  # what str.isspace() calls whitespace
_NOTE_FIELD_NAMES = tuple(f.name for f in dataclasses.fields(Note))


def _diag(code: str, message: str, path: str, line: int = 0, col: int = 0) -> Diagnostic:
    return Diagnostic(code, message, path, line, col, severity_of(code))


def decode_note(data: bytes) -> tuple[str, str, bool, str | None]:
    """Decode note bytes the way Obsidian does.

    Returns
    -------
    (text, encoding, bom, problem)
        ``text`` with the BOM removed and newlines normalised to ``\\n``;
        ``encoding`` ``"utf-8"`` or the name of the detected legacy encoding;
        ``bom`` whether a UTF-8 BOM was present; ``problem`` a message when the
        bytes are not valid UTF-8.

    Examples
    --------
    >>> decode_note(b"\\xef\\xbb\\xbf---\\r\\na: 1\\r\\n---\\r\\n")[:3]
    ('---\\na: 1\\n---\\n', 'utf-8', True)
    """
    bom = data.startswith(b"\xef\xbb\xbf")
    if bom:
        data = data[3:]
    problem = None
    encoding = "utf-8"
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        text = data.decode("utf-8", "replace")
        encoding = _guess_encoding(data)
        line = _first_bad_line(data)  # (lines as the diagnostic's position counts them: a lone \r ends one)
        problem = f"not valid UTF-8 (byte 0x{data[exc.start]:02X} on line {line}; looks like {encoding})"
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text, encoding, bom, problem


def complete_note(note: Note, root: "str | os.PathLike[str] | None" = None) -> None:
    """Scan the body of a :attr:`~vaultkit.model.Note.partial` note, in place.

    Afterwards the note equals what :func:`parse_note` gives for the file (its
    links unresolved). A note that is not partial is left as it is. A partial
    note that does not hold its text (``Note.text`` is ``None``, as the process
    pool and the cache hand them out) is read again from ``root / note.path``;
    an unreadable file leaves it partial.

    Examples
    --------
    >>> n = parse_note("G.md", b"---\\nvaultkit: {generator: vaultkit}\\n---\\n# H\\n[[C]]\\n", partial_if="vaultkit")
    >>> complete_note(n)
    >>> n.partial, [h.text for h in n.headings], [l.target for l in n.links]
    (False, ['H'], ['C'])
    """
    if not note.partial:
        return
    # A note is partial only when its file is plain UTF-8 with \n newlines: the text is the bytes.
    text = note.text
    if text is not None:
        data = text.encode("utf-8")
    elif root is None:
        return
    else:
        from .vault import read_regular

        try:
            data, _st = read_regular(os.path.join(root, note.path))
        except OSError:
            return
    full = parse_note(note.path, data, mtime_ns=note.mtime_ns)
    for name in _NOTE_FIELD_NAMES:
        setattr(note, name, getattr(full, name))


def _first_bad_line(data: bytes) -> int:
    """1-based line (``\\r\\n``, ``\\r`` or ``\\n`` endings) of the first byte that is not UTF-8."""
    try:
        data.decode("utf-8")
        return 1
    except UnicodeDecodeError as exc:
        head = data[: exc.start]
        if head.startswith(b"\xef\xbb\xbf"):
            head = head[3:]
        return head.replace(b"\r\n", b"\n").replace(b"\r", b"\n").count(b"\n") + 1


def _guess_encoding(data: bytes) -> str:
    try:
        from charset_normalizer import from_bytes
    except ImportError:  # pragma: no cover
        return "unknown"
    matches = list(from_bytes(data))
    if not matches:
        return "unknown"
    # Short notes fit many code pages equally well; prefer the common Windows ones among the best fits.
    least = min(m.chaos for m in matches)
    fits = [m for m in matches if m.chaos <= least + 0.01]
    for enc in _COMMON_ENCODINGS:
        for m in fits:
            if enc in m.could_be_from_charset:
                return enc
    return matches[0].encoding


_COMMON_ENCODINGS = ("cp1252", "cp1251", "cp1250", "cp1253", "cp1254", "cp1257", "shift_jis", "gb18030",
                     "euc_kr", "big5", "latin_1")


def property_list(value: Any) -> tuple[list[str], list[Any]]:
    """Read a list-or-string property like Obsidian ≥ 1.9 (§1.6, §1.7).

    Returns the string entries and the dropped non-string entries.

    >>> property_list("solo"), property_list(["a", 2, None])
    ((['solo'], []), (['a'], [2, None]))
    """
    if value is None:
        return [], []
    if isinstance(value, str):
        return [value], []
    if isinstance(value, list):
        keep = [v for v in value if isinstance(v, str)]
        return keep, [v for v in value if not isinstance(v, str)]
    return [], [value]


def _get_ci(mapping: dict, key: str) -> tuple[str | None, Any]:
    if key in mapping:
        return key, mapping[key]
    for k in mapping:
        if isinstance(k, str) and k.lower() == key:
            return k, mapping[k]
    return None, None


class _LinkLines:
    """Finds the file line of each frontmatter link value, scanning the YAML text forward once."""

    __slots__ = ("text", "pos", "first_line")

    def __init__(self, text: str, first_line: int) -> None:
        self.text = text
        self.pos = 0
        self.first_line = first_line

    def line_of(self, value: str, key_line: int) -> int:
        start = max(self.pos, _offset_of_line(self.text, key_line - self.first_line))
        at = self.text.find(value, start)
        if at < 0:  # written with escapes or folded: fall back to the key's line
            return key_line
        self.pos = at + len(value)
        return self.first_line + self.text.count("\n", 0, at)


def _offset_of_line(text: str, index: int) -> int:
    pos = 0
    for _ in range(max(index, 0)):
        nl = text.find("\n", pos)
        if nl < 0:
            return len(text)
        pos = nl + 1
    return pos


def _frontmatter_links(value: Any, key: str, line: int, out: list[Link], lines: _LinkLines | None = None) -> None:
    """Collect whole-string ``"[[…]]"`` property values at any depth (§1.8)."""
    if isinstance(value, str):
        if value.startswith("[[") and value.endswith("]]") and len(value) > 4:
            inner = value[2:-2]
            if "[[" not in inner and "]]" not in inner and "\n" not in inner:
                at = lines.line_of(value, line) if lines is not None else line
                link = parse_wikilink(inner, line=at)
                link.kind = "frontmatter"
                link.key = key
                out.append(link)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            _frontmatter_links(item, f"{key}.{i}", line, out, lines)
    elif isinstance(value, dict):
        for k, item in value.items():
            _frontmatter_links(item, f"{key}.{k}", line, out, lines)


def _script_of(ch: str) -> str:
    try:
        return unicodedata.name(ch).split(" ", 1)[0]
    except ValueError:
        return ""


def mixed_script(tag: str) -> tuple[str, str] | None:
    """Return ``(letter, script)`` for a letter from a minority script inside one tag word.

    >>> mixed_script("S14_Neur\\u043ebrain_CogScience")
    ('о', 'CYRILLIC')
    >>> mixed_script("S14_Neurobrain") is None
    True
    """
    if tag.isascii():  # one script only (the common case): skip the Unicode name look-ups
        return None
    if tag in _MIXED:
        return _MIXED[tag]
    found = _mixed_script(tag)
    if len(_MIXED) >= 10_000:
        _MIXED.clear()
    _MIXED[tag] = found
    return found


_MIXED: dict[str, tuple[str, str] | None] = {}  # mixed_script of the non-ASCII tags seen (they repeat)


def _mixed_script(tag: str) -> tuple[str, str] | None:
    for word in tag.replace("/", "_").replace("-", "_").split("_"):
        scripts: dict[str, list[str]] = {}
        for ch in word:
            if ch.isalpha():
                scripts.setdefault(_script_of(ch), []).append(ch)
        if len(scripts) > 1:
            minority = min(scripts.items(), key=lambda kv: len(kv[1]))
            return minority[1][0], minority[0]
    return None


def _read_properties(note: Note, fm: dict, yaml_text: str | bytes, key_lines: dict[str, int],
                     item_spans: dict[str, list[tuple[int, int]]]) -> None:
    path = note.path
    # tags
    tags_key, tags_value = _get_ci(fm, "tags")
    if tags_key is not None:
        tag_line = key_lines.get(str(tags_key), 2)
        spans = item_spans.get(str(tags_key), [])
        if isinstance(tags_value, str):
            note.diagnostics.append(
                _diag("VK205", f"'{tags_key}' is a string; Obsidian 1.9 expects a list", path, tag_line)
            )
        items = tags_value if isinstance(tags_value, list) else [tags_value]
        for i, entry in enumerate(items):
            # spans hold YAML lines; the YAML starts on file line 2
            first, last = (spans[i][0] + 1, spans[i][1] + 1) if i < len(spans) else (tag_line, tag_line)
            if entry is None:
                continue
            if not isinstance(entry, str):
                note.diagnostics.append(
                    _diag("VK202", f"tag {entry!r} is not a string and is ignored by Obsidian", path, first)
                )
                continue
            name = entry.strip()
            name = name[1:] if name.startswith("#") else name
            spaced = _SPACE_RE.search(name) is not None
            if spaced and ("\n" in name or last > first):
                shown = " / ".join(part.strip() for part in name.split("\n") if part.strip())
                if len(shown) > 80:
                    shown = shown[:77] + "..."
                note.diagnostics.append(
                    _diag("VK203", f"tag item on lines {first}-{last} folds into one tag {shown!r}, which "
                          "Obsidian ignores; write one list item per tag", path, first)
                )
                continue
            if spaced:
                note.diagnostics.append(
                    _diag("VK202", f"tag {entry!r} holds a space; Obsidian ignores it", path, first)
                )
                continue
            if not is_valid_tag(name):
                note.diagnostics.append(_diag("VK202", f"{entry!r} is not a valid tag", path, first))
                continue
            note.tag_uses.append(TagUse(name, first, "frontmatter"))
    # aliases
    alias_key, alias_value = _get_ci(fm, "aliases")
    if alias_key is not None:
        entries, _dropped = property_list(alias_value)
        note.aliases = [e for e in entries if e.strip()]
        if isinstance(alias_value, str):
            note.diagnostics.append(
                _diag("VK205", f"'{alias_key}' is a string; Obsidian 1.9 expects a list",
                      path, key_lines.get(str(alias_key), 2))
            )
    # legacy keys
    for key in fm:
        if isinstance(key, str) and key.lower() in LEGACY_KEYS:
            note.diagnostics.append(
                _diag("VK204", f"'{key}' is no longer read by Obsidian 1.9; use '{LEGACY_KEYS[key.lower()]}'",
                      path, key_lines.get(key, 2))
            )
    # links in properties: whole "[[...]]" strings at any depth
    if isinstance(yaml_text, bytes):  # (UTF-8, see parse_note)
        yaml_text = yaml_text.decode("utf-8") if b"[[" in yaml_text else ""
    lines = _LinkLines(yaml_text, 2) if "[[" in yaml_text else None
    if lines is not None:
        for key, value in fm.items():
            _frontmatter_links(value, str(key), key_lines.get(str(key), 2), note.links, lines)


def _marked(note: Note, marker: tuple[dict[str, str], int]) -> None:
    """Give ``note`` the frontmatter its marker line alone says (:func:`vaultkit.frontmatter.find_marker`)."""
    note.frontmatter = {MARKER_KEY: marker[0]}
    note.frontmatter_lines = {MARKER_KEY: marker[1] + 2}  # (the YAML starts on the file's line 2)


def parse_note(path: str, data: bytes, *, mtime_ns: int = 0, partial_if: str | None = None,
               frontmatter_only: bool = False) -> Note:
    """Parse one note.

    Parameters
    ----------
    path : str
        Vault-relative POSIX path (NFC).
    data : bytes
        The file's bytes, read once.
    mtime_ns : int
        Modification time, recorded for the cache and the writer.
    partial_if : str, optional
        A property name: when the frontmatter holds vaultkit's marker under it
        (:func:`vaultkit.frontmatter.is_marker`) and the file is plain UTF-8
        (no BOM, no CR, no bad byte), only the frontmatter is read and the note
        comes back :attr:`~vaultkit.model.Note.partial` (vaultkit's own
        generated notes, which ``sync`` needs only by name).
        With ``"vaultkit"``, a frontmatter that holds vaultkit's canonical
        marker line is read by that line alone (the partial note's
        ``frontmatter`` holds the marker only); :func:`complete_note` reads
        the rest.
    frontmatter_only : bool
        Stop once the frontmatter is read: the note has its ``frontmatter``
        (and the diagnostics of reading it) but no links, tags, headings or
        tables (what :class:`vaultkit.cache.FileProperties` needs).

    Notes
    -----
    A frontmatter that holds vaultkit's canonical marker line
    (:data:`vaultkit.frontmatter.MARKER_LINE`) makes the note vaultkit's in
    every reading, as it does for the writer
    (:func:`vaultkit.writer.ownership`): when the YAML around the line is
    broken (``VK001``/``VK003``), empty or not a mapping (``VK002``) or holds
    the line inside a quoted value, ``frontmatter`` still holds the marker.

    Returns
    -------
    Note
        Never raises on content; problems are in ``note.diagnostics``.

    Examples
    --------
    >>> n = parse_note("A.md", b"---\\ntags: [x]\\nup: '[[B]]'\\n---\\nSee [[C#H]] #y\\n")
    >>> n.tags, [(l.kind, l.target, l.line) for l in n.links]
    (['x', 'y'], [('frontmatter', 'B', 3), ('wikilink', 'C', 5)])
    >>> p = parse_note("G.md", b"---\\nvaultkit: {generator: vaultkit}\\n---\\n# H\\n[[C]]\\n", partial_if="vaultkit")
    >>> p.partial, p.links, p.headings
    (True, [], [])
    >>> line = 'vaultkit: {generator: vaultkit, version: "0.1.0", hash: "sha256:' + "0" * 64 + '"}\\n'
    >>> b = parse_note("G.md", ("---\\ntitle: [T\\n" + line + "---\\n# H\\n").encode())
    >>> [d.code for d in b.diagnostics], b.frontmatter["vaultkit"]["version"], b.frontmatter_lines
    (['VK001'], '0.1.0', {'vaultkit': 3})
    """
    text, encoding, bom, problem = decode_note(data)
    has_cr = b"\r" in data
    note = Note(
        path=path,
        size=len(data),
        mtime_ns=mtime_ns,
        sha256=hashlib.sha256(data).hexdigest(),
        encoding=encoding,
        text=text,
        bom=bom,
        newline=("\r\n" if b"\r\n" in data else "\r") if has_cr else "\n",
        region_marks="%% vaultkit:begin" in text,
    )
    if problem:
        note.diagnostics.append(_diag("VK004", problem, path, _first_bad_line(data)))
    if bom:
        note.diagnostics.append(_diag("VK005", "file starts with a UTF-8 byte-order mark", path, 1, 1))
    body = text
    body_line = 1
    # the file's bytes are the text as it is unless a BOM, a CR or a bad byte was dealt with:
    # then the YAML goes to libyaml as those bytes (what it would encode the text to anyway)
    block = _frontmatter_parts(text, None if bom or has_cr or problem else data)
    if block is not None:
        yaml_source, body, body_line, close_line, trailing = block
        if trailing:
            note.diagnostics.append(
                _diag("VK007", "text after the closing '---' of the frontmatter", path, close_line)
            )
        # vaultkit's marker line makes the note vaultkit's whatever the YAML around it holds (the writer's
        # rule, see vaultkit.writer.ownership); read alone, it spares a sync the YAML of thousands of them
        marker = None if trailing else find_marker(yaml_source)
        if marker is not None and partial_if == MARKER_KEY and not (bom or has_cr or problem):
            _marked(note, marker)
            note.body_line = body_line
            note.partial = True
            return note
        result = load_yaml(yaml_source)
        if result.error is not None:
            code = "VK003" if result.error_kind == "duplicate" else "VK001"
            line = result.error_line + 1 if result.error_line else 1
            note.frontmatter_error = result.error
            note.diagnostics.append(_diag(code, f"frontmatter: {result.error}", path, line, result.error_col))
            if marker is not None:
                _marked(note, marker)
        elif result.data is None:
            note.frontmatter = {}
            if marker is not None:  # (the line inside a scalar tagged as null)
                _marked(note, marker)
        elif not isinstance(result.data, dict):
            kind = type(result.data).__name__
            note.frontmatter_error = f"frontmatter is a {kind}, not a mapping of properties"
            note.diagnostics.append(_diag("VK002", note.frontmatter_error, path, 2))
            if marker is not None:
                _marked(note, marker)
        else:
            if marker is not None and not is_marker(result.data.get(MARKER_KEY)):  # (the line in a quoted value)
                result.data[MARKER_KEY] = marker[0]
                result.key_lines[MARKER_KEY] = marker[1] + 1
            note.frontmatter = result.data
            note.frontmatter_lines = {k: v + 1 for k, v in result.key_lines.items()}
            if partial_if is not None and is_marker(result.data.get(partial_if)) and not (bom or has_cr or problem):
                note.body_line = body_line
                note.partial = True
                return note
            if frontmatter_only:
                return note
            _read_properties(note, result.data, yaml_source, note.frontmatter_lines, result.item_spans)
            # (what FeedbackLoop and Emergence say, read now while the text is at hand; resolved later)
            note.feedback = feedback_parts(result.data, note.frontmatter_lines, text)
    note.body_line = body_line
    if frontmatter_only:
        return note
    scan = scan_body(body, body_line, path)
    note.links.extend(scan.links)
    note.tag_uses.extend(scan.tags)
    note.headings = scan.headings
    note.block_ids = scan.block_ids
    note.tables = scan.tables
    note.diagnostics.extend(scan.diagnostics)
    note.suppressions = scan.suppressions
    if "%% vaultkit:begin" in body:
        note.regions = region_spans(body, body_line)
    if note.tables:  # (here, in the worker process that parses the note, not in the one that loads the vault)
        note.tier_rows = pack_tier_tables(*read_tier_tables(note))
    for use in scan.tags:
        mixed = mixed_script(use.name)
        if mixed:
            note.diagnostics.append(
                _diag("VK202", f"tag #{use.name} mixes scripts: {mixed[1].title()} letter {mixed[0]!r} "
                      "among other letters", path, use.line)
            )
    for use in note.tag_uses:
        if use.source == "frontmatter":
            mixed = mixed_script(use.name)
            if mixed:
                note.diagnostics.append(
                    _diag("VK202", f"tag {use.name!r} mixes scripts: {mixed[1].title()} letter {mixed[0]!r} "
                          "among other letters", path, use.line)
                )
    return note
