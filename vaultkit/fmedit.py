"""Edit the frontmatter of a user's note without touching anything else.

Each edit is a text splice of the one entry it changes: comments, key order,
blank lines, quoting, flow or block style, indentation and the type of every
other value stay byte for byte as the user wrote them (case 011). A scalar
keeps its quoting style; a list keeps its flow (``[a, b]``) or block style and
the exact lines (with their comments) of items that stay. After every edit
the block is read back with the YAML 1.2 loader Obsidian uses and compared
with what was asked for; a mismatch raises :class:`FrontmatterEditError`
rather than writing something unexpected. Invalid YAML is never edited.

Functions take and return the note's whole text. BOM and line endings
(``\\r\\n``) are kept, and lines not edited keep their exact endings.

Examples
--------
>>> text = "---\\n# by hand\\ntitle: \\"Soup\\"\\naliases: [Soup, Dal]\\nmodified: 2024-01-21\\n---\\nBody\\n"
>>> print(set_property(text, "modified", "2024-01-22"), end="")
---
# by hand
title: "Soup"
aliases: [Soup, Dal]
modified: 2024-01-22
---
Body
>>> print(set_property(text, "aliases", ["Soup", "Dal", "Lentils: red"]).splitlines()[3])
aliases: [Soup, Dal, "Lentils: red"]
"""

from __future__ import annotations

import datetime as _dt
import difflib
import json
import math
import re
from collections.abc import Iterable, Mapping
from typing import Any

import yaml

from .frontmatter import CoreLoader, load_yaml, split_frontmatter

__all__ = ["set_property", "delete_property", "edit_frontmatter", "FrontmatterEditError", "render_scalar"]

_MISSING = object()


class FrontmatterEditError(ValueError):
    """The edit cannot be made safely (invalid YAML, unusual layout, or the result would read back wrong)."""


# --------------------------------------------------------------------------- rendering


_INDICATORS = set("-?:,[]{}#&*!|>'\"%@`")
_FLOW_UNSAFE = re.compile(r"[,\[\]{}]")


_Loader11 = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _load11(s: str) -> Any:
    try:
        d = yaml.load(f"k: {s}\n", Loader=_Loader11)  # noqa: S506 - the safe loader (YAML 1.1)
    except (yaml.YAMLError, ValueError):  # (ValueError: an int too long for Python to read, 4,300+ digits)
        return _MISSING
    return d.get("k", _MISSING) if isinstance(d, dict) else _MISSING


def _loads_same(s: str, like: str | None = None) -> bool:
    """``s`` reads back as itself in YAML 1.2 (Obsidian) and 1.1 (other tools).

    With ``like`` (the plain text it replaces), a 1.1 reading is accepted when
    it has the same type as ``like``'s: a date stays a date, as the user wrote.
    """
    try:
        a = yaml.load(f"k: {s}\n", Loader=CoreLoader)  # noqa: S506 - safe loader subclass (YAML 1.2 core)
    except yaml.YAMLError:
        return False
    if not (isinstance(a, dict) and a.get("k") == s):
        return False
    b = _load11(s)
    if b == s:
        return True
    return like is not None and b is not _MISSING and type(b) is type(_load11(like)) and not isinstance(b, str)


def _plain_ok(s: str, flow: bool = False, like: str | None = None) -> bool:
    if not s or s != s.strip() or s[0] in _INDICATORS:
        return False
    if any(ord(c) < 32 or 0x7F <= ord(c) < 0xA0 or c in "\u2028\u2029\ufeff" for c in s):
        return False
    if ": " in s or " #" in s or s.endswith(":") or "\t" in s or s in ("y", "Y", "n", "N"):
        return False
    if flow and (_FLOW_UNSAFE.search(s) or ":" in s):
        return False
    return _loads_same(s, like)


_ESCAPE = re.compile("[\x7f-\x9f\u2028\u2029\ufeff\ufffe\uffff\ud800-\udfff]")


def _double(s: str) -> str:
    """A YAML double-quoted scalar (JSON escapes, plus the characters YAML wants escaped).

    >>> print(_double('a "b"\\x7f'))
    "a \\"b\\"\\u007f"
    """
    return _ESCAPE.sub(lambda m: f"\\u{ord(m.group()):04x}", json.dumps(s, ensure_ascii=False))


def _single(s: str) -> str | None:
    if any(ord(c) < 32 for c in s) or _ESCAPE.search(s):
        return None
    return "'" + s.replace("'", "''") + "'"


def render_scalar(value: Any, style: str = "", flow: bool = False, like: str | None = None) -> str:
    """YAML text for a scalar, read back the same by YAML 1.2 (Obsidian) and 1.1 readers.

    Parameters
    ----------
    value : str, int, float, bool, None, date or datetime
        Dates become ``YYYY-MM-DD``, date-times ``YYYY-MM-DDTHH:MM:SS`` (§1.9).
    style : str
        The quoting to keep: ``""`` (plain when safe), ``"'"`` or ``'"'``.
    flow : bool
        Whether the scalar sits inside a flow collection (``,[]{}`` need quotes).
    like : str, optional
        The plain scalar being replaced: a string that YAML 1.1 reads with the
        same type (e.g. a date over a date) stays plain.

    Examples
    --------
    >>> [render_scalar(v) for v in ("Soup", "yes", "010", "[[Pantry]]", "a: b", 4, 1.5, True, None)]
    ['Soup', '"yes"', '"010"', '"[[Pantry]]"', '"a: b"', '4', '1.5', 'true', '']
    >>> render_scalar("Soup", style='"'), render_scalar("it's", style="'"), render_scalar("a,b", flow=True)
    ('"Soup"', "'it''s'", '"a,b"')
    >>> render_scalar(_dt.date(2024, 1, 22)), render_scalar(_dt.datetime(2025, 9, 7, 0, 12, 21))
    ('2024-01-22', '2025-09-07T00:12:21')
    >>> render_scalar("2024-01-22"), render_scalar("2024-01-22", like="2024-01-21")
    ('"2024-01-22"', '2024-01-22')
    """
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return ".nan"
        if math.isinf(value):
            return ".inf" if value > 0 else "-.inf"
        text = repr(value)
        return text if re.search(r"[.eE]", text) else text + ".0"
    if isinstance(value, _dt.datetime):
        return value.strftime("%Y-%m-%dT%H:%M:%S")
    if isinstance(value, _dt.date):
        return value.isoformat()
    if not isinstance(value, str):
        raise FrontmatterEditError(f"cannot write a {type(value).__name__} as a scalar")
    if style == "'":
        single = _single(value)
        if single is not None:
            return single
    if style == '"':
        return _double(value)
    if _plain_ok(value, flow=flow, like=like):
        return value
    return _double(value)


def _expected(value: Any) -> Any:
    """What the YAML 1.2 loader gives back for ``value`` once written."""
    if isinstance(value, bool) or value is None or isinstance(value, (int, str)):
        return value
    if isinstance(value, float):
        return value
    if isinstance(value, _dt.datetime):
        return value.strftime("%Y-%m-%dT%H:%M:%S")
    if isinstance(value, _dt.date):
        return value.isoformat()
    if isinstance(value, (list, tuple)):
        return [_expected(v) for v in value]
    if isinstance(value, Mapping):
        return {k: _expected(v) for k, v in value.items()}
    raise FrontmatterEditError(f"cannot write a {type(value).__name__} into frontmatter")


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    return type(a) is type(b) and a == b


def _render_key(key: str) -> str:
    if _plain_ok(key) and ":" not in key and "#" not in key:
        return key
    return _double(key)


def _is_scalar(value: Any) -> bool:
    return value is None or isinstance(value, (str, int, float, bool, _dt.date))


def _block_value(value: Any, indent: int) -> list[str]:
    """Lines (no newline) for a non-scalar value in block style, indented by ``indent``."""
    pad = " " * indent
    if isinstance(value, (list, tuple)):
        if not value:
            return []
        out = []
        for item in value:
            if _is_scalar(item):
                out.append(f"{pad}- {render_scalar(item)}".rstrip())
            else:
                sub = _block_value(item, indent + 2)
                if not sub:
                    out.append(f"{pad}- {'[]' if isinstance(item, (list, tuple)) else '{}'}")
                else:
                    out.append(f"{pad}- {sub[0].lstrip()}")
                    out.extend(sub[1:])
        return out
    if isinstance(value, Mapping):
        out = []
        for k, v in value.items():
            if not isinstance(k, str):
                raise FrontmatterEditError("only string keys can be written")
            if _is_scalar(v):
                out.append(f"{pad}{_render_key(k)}: {render_scalar(v)}".rstrip())
            elif not v:
                out.append(f"{pad}{_render_key(k)}: {'[]' if isinstance(v, (list, tuple)) else '{}'}")
            else:
                out.append(f"{pad}{_render_key(k)}:")
                out.extend(_block_value(v, indent + 2))
        return out
    raise FrontmatterEditError(f"cannot write a {type(value).__name__}")


def _flow_list(items: list[str]) -> str:
    return "[" + ", ".join(items) + "]"


# --------------------------------------------------------------------------- locating entries


class _Entry:
    """One top-level key of the block: its node pair and line range (0-based, inclusive)."""

    def __init__(self, key: yaml.ScalarNode, value: yaml.Node, lines: list[str]) -> None:
        self.key = key
        self.value = value
        self.first = key.start_mark.line
        end = value.end_mark
        if isinstance(value, yaml.ScalarNode) and value.style not in ("|", ">"):
            last = end.line if end.column > 0 or end.line == self.first else end.line - 1
        else:
            last = end.line - 1 if end.column == 0 else end.line
            while last > self.first and (not lines[last].strip() or lines[last].lstrip().startswith("#")):
                last -= 1
        self.last = max(self.first, min(last, len(lines) - 1))


def _entries(yaml_text: str, lines: list[str]) -> dict[str, _Entry]:
    loader = CoreLoader(yaml_text)
    try:
        node = loader.get_single_node()
    except yaml.YAMLError as exc:  # pragma: no cover - load_yaml checked first
        raise FrontmatterEditError(f"invalid YAML: {exc}") from None
    finally:
        loader.dispose()
    if node is None:
        return {}
    if not isinstance(node, yaml.MappingNode):
        raise FrontmatterEditError("frontmatter is not a mapping")
    if node.flow_style:
        raise FrontmatterEditError("frontmatter is one flow mapping ({...}); not edited")
    out: dict[str, _Entry] = {}
    for k, v in node.value:
        if not isinstance(k, yaml.ScalarNode) or k.start_mark.column != 0:
            raise FrontmatterEditError("frontmatter has a complex or indented key; not edited")
        out[str(k.value)] = _Entry(k, v, lines)
    return out


# --------------------------------------------------------------------------- edits of one entry


def _rest_after(line: str, col: int) -> str:
    """The part of ``line`` after a value ending at ``col``: spaces and a comment, or ''."""
    rest = line[col:]
    return rest if rest.strip().startswith("#") else rest.rstrip(" \t") if not rest.strip() else rest


def _edit_scalar_line(line: str, value_node: yaml.ScalarNode, new: Any) -> str:
    start, end = value_node.start_mark.column, value_node.end_mark.column
    style = value_node.style if value_node.style in ("'", '"') else ""
    like = value_node.value if not style and value_node.value else None
    rendered = render_scalar(new, style=style, like=like)
    head, rest = line[:start], line[end:]
    if not rendered:
        return head.rstrip(" \t") + (rest if rest.strip() else "")
    if value_node.start_mark.index == value_node.end_mark.index:  # was empty: "key:" or "key:  # c"
        head = head.rstrip(" \t") + " "
        return head + rendered + (rest if rest.strip() else "")
    return head + rendered + rest


def _item_text(line: str, node: yaml.Node) -> str:
    return line[node.start_mark.column:node.end_mark.column]


def _edit_entry(lines: list[str], e: _Entry, key: str, new: Any) -> list[str]:
    """New lines replacing ``lines[e.first:e.last + 1]``."""
    v = e.value
    key_line = lines[e.first]
    key_text = key_line[: e.key.end_mark.column] if e.key.end_mark.line == e.first else _render_key(key)
    # a scalar on the key line, replaced by a scalar: splice inside the line
    if _is_scalar(new) and isinstance(v, yaml.ScalarNode) and v.style not in ("|", ">") \
            and v.start_mark.line == e.first and v.end_mark.line == e.first:
        return [_edit_scalar_line(key_line, v, new)]
    if _is_scalar(new):
        rendered = render_scalar(new)
        return [f"{key_text}: {rendered}".rstrip()]
    if isinstance(new, (list, tuple)) and all(_is_scalar(x) for x in new):
        new = list(new)
        if isinstance(v, yaml.SequenceNode) and v.flow_style and v.start_mark.line == v.end_mark.line == e.first:
            return [_edit_flow_list(key_line, v, new)]
        if isinstance(v, yaml.SequenceNode) and not v.flow_style and v.value and \
                all(isinstance(i, yaml.ScalarNode) and i.start_mark.line == i.end_mark.line
                    and i.style not in ("|", ">") for i in v.value) and \
                len({i.start_mark.line for i in v.value}) == len(v.value):
            return _edit_block_list(lines, e, v, new)
        if isinstance(v, yaml.ScalarNode) and v.start_mark.line == e.first and v.value != "" and \
                v.end_mark.line == e.first and not new:
            return [_splice(key_line, v, "[]")]
        if not new:
            return [f"{key_text}: []"]
        if isinstance(v, yaml.SequenceNode) and v.flow_style:
            return [f"{key_text}: " + _flow_list([render_scalar(x, flow=True) or "null" for x in new])]
        return [f"{key_text}:"] + _block_value(new, _list_indent(lines, e, v))
    # mappings and nested lists: block style under the key
    if isinstance(new, Mapping) and not new:
        return [f"{key_text}: {{}}"]
    return [f"{key_text}:"] + _block_value(new, 2)


def _splice(line: str, node: yaml.Node, text: str) -> str:
    return line[: node.start_mark.column] + text + line[node.end_mark.column:]


def _list_indent(lines: list[str], e: _Entry, v: yaml.Node) -> int:
    if isinstance(v, yaml.SequenceNode) and not v.flow_style and v.value:
        return v.start_mark.column
    return 2


def _edit_flow_list(line: str, v: yaml.SequenceNode, new: list[Any]) -> str:
    old_items = [(_expected(yaml.load(f"k: {_item_text(line, i) or chr(34) * 2}", Loader=CoreLoader)["k"]), i)
                 for i in v.value]
    old_vals = [json.dumps(x, default=str) for x, _ in old_items]
    new_vals = [json.dumps(_expected(x), default=str) for x in new]
    parts: list[str] = []
    sm = difflib.SequenceMatcher(None, old_vals, new_vals, autojunk=False)
    for tag, i1, i2, j1, j2 in sm.get_opcodes():
        if tag == "equal":
            parts.extend(_item_text(line, node) for _, node in old_items[i1:i2])
        elif tag in ("replace", "insert"):
            olds = [old_items[i][1] for i in range(i1, i2)] or [None]
            for k, x in enumerate(new[j1:j2]):
                o = olds[min(k, len(olds) - 1)]
                st = o.style if o is not None and o.style in ("'", '"') else ""
                like = o.value if o is not None and not st and o.value else None
                parts.append(render_scalar(x, style=st, flow=True, like=like) or "null")
    # keep the user's spacing inside the brackets: "[a, b]" or "[ a, b ]" or "[a,b]"
    inner = line[v.start_mark.column + 1: v.end_mark.column - 1]
    sep = ", "
    if len(v.value) >= 2:
        between = line[v.value[0].end_mark.column: v.value[1].start_mark.column]
        sep = between if between.strip() == "," else ", "
    lead = inner[: len(inner) - len(inner.lstrip())] if v.value else ""
    trail = inner[len(inner.rstrip()):] if v.value else ""
    body = lead + sep.join(parts) + trail if parts else ""
    return line[: v.start_mark.column] + "[" + body + "]" + line[v.end_mark.column:]


def _edit_block_list(lines: list[str], e: _Entry, v: yaml.SequenceNode, new: list[Any]) -> list[str]:
    item_lines = {i.start_mark.line: i for i in v.value}
    old_vals = [json.dumps(_expected(yaml.load(f"k: {_item_text(lines[i.start_mark.line], i) or chr(34) * 2}",
                                               Loader=CoreLoader)["k"]), default=str) for i in v.value]
    new_vals = [json.dumps(_expected(x), default=str) for x in new]
    template = next((i for i in v.value if i.start_mark.index != i.end_mark.index), v.value[0])
    dash_line = lines[template.start_mark.line]
    prefix = dash_line[: template.start_mark.column]  # e.g. "  - "
    if not prefix.endswith((" ", "\t")):  # an empty item: "  -" or "  - # comment"
        prefix = prefix.rstrip() + " "
    out: list[str] = [lines[e.first]]
    # lines of the entry between items (comments, blanks) travel with the item that follows them
    chunks: list[list[str]] = []
    pending: list[str] = []
    for ln in range(e.first + 1, e.last + 1):
        pending.append(lines[ln])
        if ln in item_lines:
            chunks.append(pending)
            pending = []
    tail = pending
    sm = difflib.SequenceMatcher(None, old_vals, new_vals, autojunk=False)
    for tag, i1, i2, j1, j2 in sm.get_opcodes():
        if tag == "equal":
            for c in chunks[i1:i2]:
                out.extend(c)
            continue
        if tag in ("delete", "replace"):
            for c in chunks[i1:i2]:
                out.extend(c[:-1])  # keep comment lines before a removed item; drop the item line
        if tag in ("insert", "replace"):
            for x in new[j1:j2]:
                old = v.value[i1] if tag == "replace" and i1 < len(v.value) else None
                st = old.style if old is not None and old.style in ("'", '"') else ""
                like = old.value if old is not None and not st and old.value else None
                rendered = render_scalar(x, style=st, like=like)
                out.append(prefix + rendered if rendered else prefix.rstrip())
    out.extend(tail)
    if not new:
        head = lines[e.first]
        comment = head[e.key.end_mark.column:]
        out = [head[: e.key.end_mark.column] + ": []" + (comment[comment.index("#") - 1:] if "#" in comment else "")]
        out += [ln for chunk in chunks for ln in chunk[:-1]] + tail
    return out


# --------------------------------------------------------------------------- public API


def _split_text(text: str) -> tuple[str, str, str]:
    bom = "\ufeff" if text.startswith("\ufeff") else ""
    raw = text[len(bom):]
    norm = raw.replace("\r\n", "\n").replace("\r", "\n") if "\r" in raw else raw
    return bom, raw, norm


def _join_back(bom: str, raw: str, new_norm: str) -> str:
    if "\r" in raw:
        from .writer import restyle

        return bom + restyle(raw, new_norm)
    return bom + new_norm


def edit_frontmatter(text: str, changes: Mapping[str, Any] | None = None, delete: Iterable[str] = ()) -> str:
    """Set and delete top-level frontmatter keys of a note, splicing only their lines.

    Parameters
    ----------
    text : str
        The whole note (a leading BOM and ``\\r\\n`` endings are kept).
    changes : mapping of str to value
        Keys to set: existing keys are edited in place, new keys are appended
        at the end of the block (a block is created when the note has none).
        Values: str, int, float, bool, None, date, datetime, lists and
        mappings of those.
    delete : iterable of str
        Keys to remove (missing keys are ignored).

    Returns
    -------
    str
        The new text; equal to ``text`` when nothing changes.

    Raises
    ------
    FrontmatterEditError
        When the frontmatter is invalid YAML, not a block mapping, has text
        after its closing ``---``, or the result would not read back as asked.

    Examples
    --------
    >>> edit_frontmatter("# Note\\n", {"tags": ["a", "b"]})
    '---\\ntags:\\n  - a\\n  - b\\n---\\n# Note\\n'
    >>> edit_frontmatter("---\\na: 1 # one\\nb: 2\\n---\\n", {"a": 5}, delete=["b"])
    '---\\na: 5 # one\\n---\\n'
    """
    changes = dict(changes or {})
    delete = [k for k in delete if k not in changes]
    bom, raw, norm = _split_text(text)
    block = split_frontmatter(norm)
    if block is None:
        if not changes:
            return text
        body_lines: list[str] = []
        for k, val in changes.items():
            body_lines.extend(_new_entry(k, val))
        new_yaml = "".join(ln + "\n" for ln in body_lines)
        _verify(new_yaml, {}, changes, [])
        new_norm = "---\n" + new_yaml + "---\n" + norm
        return _join_back(bom, raw, new_norm)
    if block.close_trailing:
        raise FrontmatterEditError("text after the closing '---' of the frontmatter; not edited")
    res = load_yaml(block.yaml)
    if res.error is not None:
        raise FrontmatterEditError(f"frontmatter is not valid YAML ({res.error}); not edited")
    old = res.data if res.data is not None else {}
    if not isinstance(old, dict):
        raise FrontmatterEditError("frontmatter is not a mapping; not edited")
    yaml_text = block.yaml
    lines = yaml_text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    entries = _entries(yaml_text, lines)
    replace: dict[int, tuple[int, list[str]]] = {}  # first line -> (last line, new lines)
    appended: list[str] = []
    for k, val in changes.items():
        e = entries.get(k)
        if e is None:
            appended.extend(_new_entry(k, val))
            continue
        if k in old and _same(old[k], _expected(val)):
            continue
        replace[e.first] = (e.last, _edit_entry(lines, e, k, val))
    for k in delete:
        e = entries.get(k)
        if e is not None:
            replace[e.first] = (e.last, [])
    if not replace and not appended:
        return text
    out: list[str] = []
    i = 0
    while i < len(lines):
        if i in replace:
            last, new_lines = replace[i]
            out.extend(new_lines)
            i = last + 1
        else:
            out.append(lines[i])
            i += 1
    out.extend(appended)
    new_yaml = "".join(ln + "\n" for ln in out)
    _verify(new_yaml, old, changes, delete)
    new_norm = "---\n" + new_yaml + norm[4 + len(yaml_text):]
    return _join_back(bom, raw, new_norm)


def _new_entry(key: str, value: Any) -> list[str]:
    if not isinstance(key, str) or not key:
        raise FrontmatterEditError("keys must be non-empty strings")
    k = _render_key(key)
    if _is_scalar(value):
        return [f"{k}: {render_scalar(value)}".rstrip()]
    if not value:
        return [f"{k}: {'[]' if isinstance(value, (list, tuple)) else '{}'}"]
    return [f"{k}:"] + _block_value(value, 2)


def _verify(new_yaml: str, old: dict, changes: Mapping[str, Any], delete: Iterable[str]) -> None:
    res = load_yaml(new_yaml)
    if res.error is not None:
        raise FrontmatterEditError(f"the edit would make invalid YAML ({res.error}); not edited")
    got = res.data if res.data is not None else {}
    want = dict(old)
    for k in delete:
        want.pop(k, None)
    for k, v in changes.items():
        want[k] = _expected(v)
    order = [k for k in old if k in want] + [k for k in changes if k not in old]
    if not isinstance(got, dict) or not _same(got, want) or list(got) != order:
        raise FrontmatterEditError("the edit would not read back as asked; not edited")


def set_property(text: str, key: str, value: Any) -> str:
    """Set one top-level key (see :func:`edit_frontmatter`).

    >>> set_property("---\\nrating: 4 # out of 5\\n---\\n", "rating", 5)
    '---\\nrating: 5 # out of 5\\n---\\n'
    """
    return edit_frontmatter(text, {key: value})


def delete_property(text: str, key: str) -> str:
    """Remove one top-level key and its value lines (see :func:`edit_frontmatter`).

    >>> delete_property("---\\na: 1\\nb:\\n  - x\\n  - y\\nc: 3\\n---\\n", "b")
    '---\\na: 1\\nc: 3\\n---\\n'
    """
    return edit_frontmatter(text, delete=[key])
