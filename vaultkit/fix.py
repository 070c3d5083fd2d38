"""Safe fixes for one note: mojibake, BOM, legacy and string-valued list properties, encoding.

Each fix is a pure function from a note's text to a :class:`FixResult` (the
new text and the fixes applied or refused). :func:`fix_text` chains the
selected ones; :func:`fix_file` reads one file, applies them and writes the
result through :mod:`vaultkit.writer` (atomic, newline style kept, refused
when the file changed since it was read).

Fix kinds (``--select`` accepts the kind, the lint code or the rule name):

============  ======  ==========================  =====================================
kind          code    rule                        default
============  ======  ==========================  =====================================
mojibake      VK006   mojibake                    on
legacy-keys   VK204   legacy-property-key         on
string-lists  VK205   string-list-property        on
bom           VK005   byte-order-mark             only when asked (``--bom``)
encoding      VK004   not-utf8                    only when asked (``--convert-encoding``)
============  ======  ==========================  =====================================

Frontmatter edits splice only the lines of the key they change, so comments,
key order, quoting, flow or block style and the types of every other value
stay byte for byte; each result is read back with the YAML 1.2 loader and
compared with what was intended, and a mismatch leaves the note alone.

The module never prints.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from .encoding import EncodingGuess, detect_encoding, repair_text
from .frontmatter import CoreLoader, load_yaml, split_frontmatter
from .parse import LEGACY_KEYS

__all__ = [
    "FIX_KINDS",
    "DEFAULT_KINDS",
    "AppliedFix",
    "FixResult",
    "FileFix",
    "select_kinds",
    "fix_mojibake",
    "remove_bom",
    "fix_legacy_keys",
    "fix_string_lists",
    "fix_text",
    "fix_file",
]

#: Fix kind → (lint code, rule name).
FIX_KINDS: dict[str, tuple[str, str]] = {
    "mojibake": ("VK006", "mojibake"),
    "legacy-keys": ("VK204", "legacy-property-key"),
    "string-lists": ("VK205", "string-list-property"),
    "bom": ("VK005", "byte-order-mark"),
    "encoding": ("VK004", "not-utf8"),
}
#: Kinds applied when nothing else is asked for.
DEFAULT_KINDS: frozenset[str] = frozenset({"mojibake", "legacy-keys", "string-lists"})
_OPT_IN = frozenset({"bom", "encoding"})
_LIST_KEYS = ("tags", "aliases", "cssclasses")
_BOM = b"\xef\xbb\xbf"


@dataclass(frozen=True, slots=True)
class AppliedFix:
    """One fix made (or refused) in a note.

    ``line`` is 1-based (0: the whole file), in the text the fix was applied
    to; fixes of one kind are made bottom-up, so their lines all refer to the
    text before that kind ran.
    """

    kind: str
    line: int
    message: str

    @property
    def code(self) -> str:
        """The lint code this fix answers."""
        return FIX_KINDS[self.kind][0]


@dataclass(slots=True)
class FixResult:
    """New text of a note plus the fixes ``applied`` and ``refused`` (with the reason)."""

    text: str
    applied: list[AppliedFix] = field(default_factory=list)
    refused: list[AppliedFix] = field(default_factory=list)

    def then(self, other: "FixResult") -> "FixResult":
        """Chain: ``other`` was computed from ``self.text``."""
        return FixResult(other.text, self.applied + other.applied, self.refused + other.refused)


def select_kinds(select: Iterable[str] | None = None, *, bom: bool = False,
                 convert_encoding: bool = False) -> frozenset[str]:
    """Fix kinds to run from ``--select`` values and the opt-in flags.

    Each ``select`` item is a kind (``mojibake``), a lint code (``VK006``), a
    code prefix (``VK2``) or a rule name (``legacy-property-key``); several may
    be comma-separated. ``bom`` and ``encoding`` run only when their flag is
    given (the flags add to any selection) or they are selected by name or
    exact code; a code prefix does not turn them on.

    Raises
    ------
    ValueError
        For an item that matches no fix.

    Examples
    --------
    >>> sorted(select_kinds())
    ['legacy-keys', 'mojibake', 'string-lists']
    >>> sorted(select_kinds(["VK2"], bom=True))
    ['bom', 'legacy-keys', 'string-lists']
    >>> sorted(select_kinds(["VK006,bom"]))
    ['bom', 'mojibake']
    """
    items = [x.strip() for s in (select or ()) for x in s.split(",") if x.strip()]
    flags = {k for k, on in (("bom", bom), ("encoding", convert_encoding)) if on}
    if not items:
        return frozenset(DEFAULT_KINDS | flags)
    chosen: set[str] = set()
    for item in items:
        low = item.lower()
        hits = set()
        for kind, (code, name) in FIX_KINDS.items():
            if low in (kind, name, code.lower()):
                hits.add(kind)
            elif code.lower().startswith(low) and low.startswith("vk") and (kind not in _OPT_IN or kind in flags):
                hits.add(kind)
        if not hits and not (low.startswith("vk") and any(c.lower().startswith(low) for c, _ in FIX_KINDS.values())):
            raise ValueError(f"no fix matches {item!r} (kinds: {', '.join(FIX_KINDS)})")
        chosen |= hits
    return frozenset(chosen | flags)


# --------------------------------------------------------------------------- text fixes


def fix_mojibake(text: str) -> FixResult:
    """Repair UTF-8 mojibake (see :mod:`vaultkit.encoding`), one fix per damaged line.

    A repair inside valid frontmatter that would make it invalid is not made.

    Examples
    --------
    >>> r = fix_mojibake("# Caf√©\\nIt is caf√© time.\\n")
    >>> r.text, [(f.line, f.message) for f in r.applied]
    ('# Café\\nIt is café time.\\n', [(1, "'Caf√©' → 'Café' (mac_roman)"), (2, "'caf√©' → 'café' (mac_roman)")])
    """
    new, found = repair_text(text)
    if not found:
        return FixResult(text)
    block = split_frontmatter(text)
    if block is not None and load_yaml(block.yaml).error is None:
        new_block = split_frontmatter(new)
        if new_block is None or load_yaml(new_block.yaml).error is not None:
            return FixResult(text, refused=[AppliedFix("mojibake", 1, "repair would break the frontmatter; not made")])
    by_line: dict[int, list] = {}
    for m in found:
        by_line.setdefault(m.line, []).append(m)
    applied = []
    for line, items in by_line.items():
        shown = [_word_around(text, m) for m in items[:3]]
        msg = ", ".join(f"{a!r} → {b!r}" for a, b in shown)
        if len(items) > 3:
            msg += f" and {len(items) - 3} more"
        codecs = sorted({m.codec for m in items})
        applied.append(AppliedFix("mojibake", line, f"{msg} ({', '.join(codecs)})"))
    return FixResult(new, applied)


def _word_around(text: str, m) -> tuple[str, str]:
    """The damaged word around a repair and its repaired form, for messages."""
    start, end = m.start, m.end
    while start > 0 and not text[start - 1].isspace() and m.start - start < 20:
        start -= 1
    while end < len(text) and not text[end].isspace() and end - m.end < 20:
        end += 1
    before = text[start:end]
    return before, text[start:m.start] + m.repaired + text[m.end:end]


def remove_bom(text: str) -> FixResult:
    """Drop a leading U+FEFF (a byte-order mark decoded as text).

    >>> remove_bom("\\ufeff---\\na: 1\\n---\\n").text
    '---\\na: 1\\n---\\n'
    """
    if text.startswith("\ufeff"):
        return FixResult(text[1:], [AppliedFix("bom", 1, "removed the UTF-8 byte-order mark")])
    return FixResult(text)


def _split_items(value: str, key: str) -> list[str]:
    """Entries of a string-valued list property.

    ``tags`` and ``cssclasses`` entries cannot hold spaces, so the string is
    split on commas and whitespace (what Obsidian's 1.9 format converter does
    with ``tag: project, important``); an alias may hold commas and spaces, so
    an ``aliases`` string stays one entry (what Obsidian ≥ 1.4 reads).
    """
    if key == "aliases":
        return [value] if value.strip() else []
    return [x for x in re.split(r"[,\s]+", value) if x]


def _items_of(value: Any, key: str) -> list[Any]:
    if value is None:
        return []
    if isinstance(value, str):
        return _split_items(value, key)
    if isinstance(value, list):
        return list(value)
    return [value]


@dataclass(slots=True)
class _Block:
    """Parsed frontmatter of a normalised note and its top-level key nodes."""

    yaml: str
    data: dict
    nodes: list[tuple[yaml.ScalarNode, yaml.Node]]

    def line_of(self, node: yaml.Node) -> int:
        return node.start_mark.line + 2  # 1-based, after the opening '---'


def _parse_block(text: str) -> tuple[_Block | None, str | None]:
    """(block, None) or (None, reason it cannot be edited); (None, None) when there is no frontmatter."""
    block = split_frontmatter(text)
    if block is None:
        return None, None
    if block.close_trailing:
        return None, "text after the closing '---' of the frontmatter"
    res = load_yaml(block.yaml)
    if res.error is not None:
        return None, f"frontmatter is not valid YAML ({res.error})"
    if res.data is None:
        return None, None
    if not isinstance(res.data, dict):
        return None, "frontmatter is not a mapping"
    loader = CoreLoader(block.yaml)
    try:
        node = loader.get_single_node()
    finally:
        loader.dispose()
    if not isinstance(node, yaml.MappingNode) or node.flow_style:
        return None, "frontmatter is a flow mapping ({...})"
    pairs = []
    for k, v in node.value:
        if not isinstance(k, yaml.ScalarNode) or k.start_mark.column != 0:
            return None, "frontmatter has a complex or indented key"
        pairs.append((k, v))
    return _Block(block.yaml, res.data, pairs), None


def _list_prefix(yaml_text: str) -> str:
    """How the note indents block-list items (``"  - "`` unless it shows otherwise)."""
    m = re.search(r"^( *)- \S", yaml_text, re.M)
    return (m.group(1) if m else "  ") + "- "


def _render_items(items: list[Any], prefix: str) -> list[str]:
    from .fmedit import render_scalar

    return [f"{prefix}{render_scalar(x)}".rstrip() for x in items]


def _replace_entry(text: str, blk: _Block, key_node: yaml.ScalarNode, value_node: yaml.Node,
                   new_key: str, items: list[Any] | None) -> str | None:
    """Splice one entry: rename its key to ``new_key`` and, when ``items`` is given,
    turn its one-line scalar value into a block list (a comment after it stays on the key line).

    Returns ``None`` when the entry's layout is not one this splice handles.
    """
    base = 4  # len("---\n")
    ks, ke = key_node.start_mark.index, key_node.end_mark.index
    if items is None:
        return text[: base + ks] + new_key + text[base + ke:]
    if not isinstance(value_node, yaml.ScalarNode) or value_node.style in ("|", ">"):
        return None
    if value_node.start_mark.line != key_node.start_mark.line or value_node.end_mark.line != key_node.start_mark.line:
        return None
    line_end = blk.yaml.find("\n", value_node.end_mark.index)
    if line_end < 0:
        line_end = len(blk.yaml)
    rest = blk.yaml[value_node.end_mark.index:line_end]
    comment = rest.strip()
    if comment and not comment.startswith("#"):
        return None
    head = new_key + ":" + (" " + comment if comment else "")
    lines = [head] + _render_items(items, _list_prefix(blk.yaml))
    return text[: base + ks] + "\n".join(lines) + text[base + line_end:]


def _reads_as(text: str, want: dict) -> bool:
    block = split_frontmatter(text)
    if block is None:
        return False
    res = load_yaml(block.yaml)
    return res.error is None and res.data == want and list(res.data) == list(want)


def _renamed(data: dict, old: str, new: str, value: Any) -> dict:
    return {(new if k == old else k): (value if k == old else v) for k, v in data.items()}


def fix_legacy_keys(text: str) -> FixResult:
    """Rename ``tag``/``alias``/``cssclass`` to ``tags``/``aliases``/``cssclasses`` (Obsidian 1.9).

    The key is renamed in place; a string value becomes a block list (split as
    in :func:`_split_items`). When the list key already exists the legacy
    entries are merged into it and the legacy key is removed.

    ``text`` is a normalised note (``\\n`` newlines, no BOM).

    Examples
    --------
    >>> print(fix_legacy_keys("---\\ntitle: A # t\\ntag: project, important\\nalias: [A1]\\n---\\nBody\\n").text, end="")
    ---
    title: A # t
    tags:
      - project
      - important
    aliases: [A1]
    ---
    Body
    """
    result = FixResult(text)
    for _round in range(6):  # one legacy key per round (at most three of them, plus merges)
        blk, reason = _parse_block(result.text)
        if blk is None:
            if reason and re.search(r"^(?i:tag|alias|cssclass)\s*:", _yaml_of(result.text), re.M):
                result.refused.append(AppliedFix("legacy-keys", 1, f"{reason}; legacy keys not converted"))
            return result
        step = _one_legacy_key(result.text, blk)
        if step is None:
            return result
        result = result.then(step)
        if not step.applied:
            return result
    return result


def _yaml_of(text: str) -> str:
    block = split_frontmatter(text)
    return block.yaml if block is not None else ""


_COMMENT_RE = re.compile(r"(?:^|\s)#")


def _entry_comment(blk: _Block, key_node: yaml.Node) -> bool:
    """Whether the lines of a top-level entry (its key's line up to the next key) may hold a YAML comment
    (a ``#`` after a space; one inside a quoted value counts too: the answer errs on the safe side)."""
    lines = blk.yaml.split("\n")
    first = key_node.start_mark.line
    after = min((k.start_mark.line for k, _v in blk.nodes if k.start_mark.line > first), default=len(lines))
    return any(_COMMENT_RE.search(line) for line in lines[first:after])


def _one_legacy_key(text: str, blk: _Block) -> FixResult | None:
    from .fmedit import FrontmatterEditError, edit_frontmatter

    for key_node, value_node in reversed(blk.nodes):
        key = str(key_node.value)
        target = LEGACY_KEYS.get(key.lower())
        if target is None:
            continue
        line = blk.line_of(key_node)
        value = blk.data.get(key)
        existing = next((k for k in blk.data if isinstance(k, str) and k.lower() == target), None)
        try:
            if existing is not None:
                if _entry_comment(blk, key_node):  # (the entry is deleted: its comment would go with it)
                    raise FrontmatterEditError(f"its lines hold a comment; merge it into '{existing}' by hand")
                old_items = _items_of(blk.data[existing], target)
                merged = old_items + [x for x in _items_of(value, target) if x not in old_items]
                new = edit_frontmatter(text, {existing: merged}, delete=[key])
                msg = f"merged '{key}' into '{existing}'"
            else:
                items = _items_of(value, target) if isinstance(value, str) or not (
                    value is None or isinstance(value, list)) else None
                new_value = items if items is not None else value
                new = _replace_entry(text, blk, key_node, value_node, target, items)
                if new is None:  # unusual layout: rename, then let fmedit rewrite the value
                    new = _replace_entry(text, blk, key_node, value_node, target, None)
                    new = edit_frontmatter(new, {target: new_value})
                if not _reads_as(new, _renamed(blk.data, key, target, new_value)):
                    raise FrontmatterEditError("the edit would not read back as asked")
                msg = f"'{key}' → '{target}'" + (" as a list" if items is not None else "")
        except FrontmatterEditError as exc:
            return FixResult(text, refused=[AppliedFix("legacy-keys", line, f"'{key}' not converted: {exc}")])
        return FixResult(new, [AppliedFix("legacy-keys", line, msg)])
    return None


def fix_string_lists(text: str) -> FixResult:
    """Turn string-valued ``tags``, ``aliases`` and ``cssclasses`` into lists.

    Obsidian ≥ 1.9 reads a string as one entry and drops a tag holding a
    space, so ``tags: planning, review`` gives no tag at all; the fix writes
    the entries the user meant as a block list. Keys are matched
    case-insensitively (``Tags:``) and keep their spelling.

    Examples
    --------
    >>> print(fix_string_lists("---\\ntags: planning, review  # mine\\naliases: Dal, lentil soup\\n---\\n").text, end="")
    ---
    tags: # mine
      - planning
      - review
    aliases:
      - Dal, lentil soup
    ---
    """
    from .fmedit import FrontmatterEditError, edit_frontmatter

    result = FixResult(text)
    done: set[str] = set()
    while True:
        blk, reason = _parse_block(result.text)
        if blk is None:
            return result
        pick = next(((k, v) for k, v in reversed(blk.nodes) if str(k.value).lower() in _LIST_KEYS
                     and isinstance(blk.data.get(str(k.value)), str) and str(k.value) not in done), None)
        if pick is None:
            return result
        key_node, value_node = pick
        key = str(key_node.value)
        done.add(key)
        value = blk.data[key]
        items = _split_items(value, key.lower())
        line = blk.line_of(key_node)
        if not items:
            result.refused.append(AppliedFix("string-lists", line, f"'{key}' is an empty string; left alone"))
            continue
        try:
            new = _replace_entry(result.text, blk, key_node, value_node, key, items)
            if new is None:
                new = edit_frontmatter(result.text, {key: items})
            if not _reads_as(new, _renamed(blk.data, key, key, items)):
                raise FrontmatterEditError("the edit would not read back as asked")
        except FrontmatterEditError as exc:
            result.refused.append(AppliedFix("string-lists", line, f"'{key}' not converted: {exc}"))
            continue
        shown = ", ".join(repr(x) for x in items)
        result = result.then(FixResult(new, [AppliedFix("string-lists", line, f"'{key}': {value!r} → [{shown}]")]))


def fix_text(text: str, kinds: Iterable[str] = DEFAULT_KINDS) -> FixResult:
    """Apply the fixes of ``kinds`` to a note's text, in a fixed order.

    Order: BOM, mojibake, legacy keys, string lists (mojibake first, so keys
    and values are repaired before they are read). ``text`` has ``\\n``
    newlines; a leading U+FEFF is removed only with the ``bom`` kind.

    Examples
    --------
    >>> r = fix_text("---\\ntag: caf√©\\n---\\n")
    >>> print(r.text, end="")
    ---
    tags:
      - café
    ---
    >>> [f.kind for f in r.applied]
    ['mojibake', 'legacy-keys']
    """
    kinds = set(kinds)
    result = FixResult(text)
    if "bom" in kinds:
        result = result.then(remove_bom(result.text))
    lead = "\ufeff" if result.text.startswith("\ufeff") else ""
    body = FixResult(result.text[len(lead):])
    if "mojibake" in kinds:
        body = body.then(fix_mojibake(body.text))
    if "legacy-keys" in kinds:
        body = body.then(fix_legacy_keys(body.text))
    if "string-lists" in kinds:
        body = body.then(fix_string_lists(body.text))
    return FixResult(lead + body.text, result.applied + body.applied, result.refused + body.refused)


# --------------------------------------------------------------------------- files


@dataclass(slots=True)
class FileFix:
    """What :func:`fix_file` did to one note.

    ``outcome`` is the writer's :class:`~vaultkit.writer.FileOutcome`
    (``updated``, ``unchanged``, ``skipped-changed-on-disk``…); ``encoding``
    the guess for a file that is not UTF-8.
    """

    path: str
    applied: list[AppliedFix] = field(default_factory=list)
    refused: list[AppliedFix] = field(default_factory=list)
    outcome: Any = None
    encoding: EncodingGuess | None = None

    @property
    def changed(self) -> bool:
        """Whether the file was (or, outside write mode, would be) changed."""
        return self.outcome is not None and self.outcome.changes


def _normalize(raw: str) -> str:
    return raw.replace("\r\n", "\n").replace("\r", "\n") if "\r" in raw else raw


def fix_file(root: Path, rel: str, kinds: Iterable[str] = DEFAULT_KINDS, mode: Any = None,
             from_encoding: str | None = None) -> FileFix:
    """Fix one note of the vault at ``root`` and write it back through the safe writer.

    Parameters
    ----------
    root : Path
        The vault folder.
    rel : str
        Vault-relative POSIX path of the note.
    kinds : iterable of str
        Fix kinds (see :func:`select_kinds`).
    mode : WriteMode, optional
        ``WRITE`` (default), ``CHECK``, ``DIFF`` or ``DRY_RUN``; only ``WRITE`` touches disk.
    from_encoding : str, optional
        With the ``encoding`` kind: the encoding of a non-UTF-8 file (the
        detected one when omitted).

    Returns
    -------
    FileFix
        Never raises for file problems; they are in ``outcome`` or ``refused``.

    Examples
    --------
    >>> import tempfile
    >>> from vaultkit.writer import WriteMode
    >>> root = Path(tempfile.mkdtemp())
    >>> _ = (root / "A.md").write_bytes("Caf\\u221a\\u00a9\\r\\n".encode())
    >>> fix_file(root, "A.md").outcome.action, (root / "A.md").read_bytes()
    ('updated', b'Caf\\xc3\\xa9\\r\\n')
    """
    from .discover import disk_path
    from .writer import FileOutcome, WriteMode, ownership, replace_user_file

    mode = mode or WriteMode.WRITE
    kinds = set(kinds)
    out = FileFix(rel)
    from .vault import read_regular

    try:
        data, _st = read_regular(disk_path(Path(root), rel))
    except OSError as exc:
        out.outcome = FileOutcome(rel, "error", f"cannot read: {exc}")
        return out
    sha = hashlib.sha256(data).hexdigest()
    bom = data.startswith(_BOM)
    body = data[3:] if bom else data
    converted_from = None
    try:
        raw = body.decode("utf-8")
    except UnicodeDecodeError:
        guess = detect_encoding(data)
        out.encoding = guess
        assert guess is not None
        encoding = from_encoding or guess.encoding
        if "encoding" not in kinds:
            out.refused.append(AppliedFix("encoding", guess.line,
                                          f"not UTF-8 (byte 0x{guess.byte:02X}; looks like {guess.encoding}); "
                                          "not converted (use --convert-encoding)"))
            out.outcome = FileOutcome(rel, "refused-encoding", "not UTF-8; left alone")
            return out
        try:
            raw = body.decode(encoding)
        except (UnicodeDecodeError, LookupError) as exc:
            out.refused.append(AppliedFix("encoding", guess.line, f"cannot decode as {encoding}: {exc}"))
            out.outcome = FileOutcome(rel, "refused-encoding", f"does not decode as {encoding}; left alone")
            return out
        converted_from = encoding
        alt = f"; other candidates: {', '.join(guess.alternatives)}" if guess.alternatives and not from_encoding else ""
        out.applied.append(AppliedFix("encoding", 0, f"converted from {encoding} to UTF-8{alt}"))
    norm = _normalize(raw)
    if ownership(norm) != "user":
        out.outcome = FileOutcome(rel, "unchanged", "generated by vaultkit; not fixed here")
        return out
    result = fix_text(norm, kinds - {"bom"})
    out.applied.extend(result.applied)
    out.refused.extend(result.refused)
    drop_bom = bom and "bom" in kinds
    if drop_bom:
        out.applied.insert(0, AppliedFix("bom", 1, "removed the UTF-8 byte-order mark"))
    if converted_from is None and not drop_bom and result.text == norm:
        out.outcome = FileOutcome(rel, "unchanged", "")
        return out
    keep_bom = None if converted_from is None and not drop_bom else bom and not drop_bom
    out.outcome = replace_user_file(Path(root), rel, result.text, sha, mode, bom=keep_bom,
                                    source_encoding=converted_from)
    return out
