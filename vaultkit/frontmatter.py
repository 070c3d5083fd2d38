"""Frontmatter: find the block as Obsidian does and read it as YAML 1.2 core.

Obsidian reads properties with the ``yaml`` 2.x library (YAML 1.2 core schema):
dates stay text, ``yes``/``no``/``on``/``off`` stay strings, ``010`` is ten,
and a repeated key makes the block invalid. PyYAML follows YAML 1.1, so
:class:`CoreLoader` re-tunes its implicit resolvers on top of libyaml's C
parser (``yaml.CSafeLoader``) to keep the C speed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import yaml

__all__ = ["CoreLoader", "FrontmatterBlock", "split_frontmatter", "load_yaml", "YamlResult", "MARKER_KEY",
           "MARKER_LINE", "find_marker", "is_marker"]

try:  # libyaml is ~30x faster than the pure-Python parser
    _BaseLoader: type = yaml.CSafeLoader
except AttributeError:  # pragma: no cover - only without libyaml
    _BaseLoader = yaml.SafeLoader


#: The property that holds vaultkit's ownership marker.
MARKER_KEY = "vaultkit"
#: vaultkit's ownership marker line as its writer writes it (groups: version, SHA-256 hex). A note whose
#: frontmatter holds this line is vaultkit's, whatever the rest of its YAML holds: the writer
#: (:func:`vaultkit.writer.ownership`) and the parser (:func:`vaultkit.parse.parse_note`) go by this one rule.
#: The line is left out of the note's hash, so it admits nothing a user could have written: the version
#: is a release number as vaultkit's are spelled (``0.1.0``, ``1.2rc1``, ``0.3.dev2``): digits, no words.
MARKER_LINE = re.compile(
    r'^vaultkit:[ \t]*\{generator: vaultkit, version: '
    r'"(\d+(?:\.\d+)*(?:(?:a|b|rc)\d+)?(?:\.post\d+)?(?:\.dev\d+)?)", '
    r'hash: "sha256:([0-9a-f]{64})"\}[ \t]*\n',
    re.M,
)
_MARKER_LINE_UTF8 = re.compile(MARKER_LINE.pattern.encode("ascii"), re.M)


def is_marker(value: Any) -> bool:
    """Whether a ``vaultkit`` property value is vaultkit's ownership marker: a mapping naming vaultkit as
    its generator (the canonical line, or the same mapping reformatted, as an edit leaves it).

    >>> is_marker({"generator": "vaultkit", "hash": "sha256:0"}), is_marker("mine"), is_marker({"hash": "x"})
    (True, False, False)
    """
    return isinstance(value, dict) and value.get("generator") == "vaultkit"


def find_marker(yaml_text: str | bytes) -> tuple[dict[str, str], int] | None:
    """vaultkit's ownership marker in a frontmatter's YAML text, read from its canonical line alone.

    Parameters
    ----------
    yaml_text : str or bytes
        The frontmatter between its ``---`` lines, newlines normalised to
        ``\\n`` (bytes: its UTF-8 encoding).

    Returns
    -------
    (marker, line) or None
        The marker as the YAML would read it (``generator``, ``version``,
        ``hash``) and its line within ``yaml_text`` (0-based); ``None`` when no
        line of ``yaml_text`` is the canonical marker line.

    Examples
    --------
    >>> h = "0" * 64
    >>> find_marker(f'title: T\\nvaultkit: {{generator: vaultkit, version: "0.1.0", hash: "sha256:{h}"}}\\n')[1]
    1
    >>> find_marker(b"title: T\\nvaultkit: {generator: vaultkit}\\n") is None
    True
    """
    utf8 = isinstance(yaml_text, bytes)
    # (a substring search first: user notes' frontmatter can be long)
    found = (_MARKER_LINE_UTF8 if utf8 else MARKER_LINE).search(yaml_text) \
        if (b"vaultkit:" if utf8 else "vaultkit:") in yaml_text else None  # type: ignore[operator]
    if found is None:
        return None
    version, digest = (g.decode("ascii") if utf8 else g for g in found.groups())  # (the pattern is ASCII)
    line = yaml_text.count(b"\n" if utf8 else "\n", 0, found.start())  # type: ignore[arg-type]
    return {"generator": "vaultkit", "version": version, "hash": f"sha256:{digest}"}, line


class DuplicateKeyError(yaml.constructor.ConstructorError):
    """A mapping repeats a key (Obsidian's YAML library rejects it)."""


class CoreLoader(_BaseLoader):  # type: ignore[misc, valid-type]
    """PyYAML loader that reads scalars like YAML 1.2 core and refuses duplicate keys."""


_DROP = {"tag:yaml.org,2002:" + t for t in ("bool", "int", "float", "timestamp")}
CoreLoader.yaml_implicit_resolvers = {
    ch: [(tag, rx) for tag, rx in resolvers if tag not in _DROP]
    for ch, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
CoreLoader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)
CoreLoader.add_implicit_resolver(
    "tag:yaml.org,2002:int",
    re.compile(r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$"),
    list("-+0123456789"),
)
CoreLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(
        r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
        r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"
    ),
    list("-+.0123456789"),
)


_TAG = "tag:yaml.org,2002:"
_STR, _INT, _FLOAT, _BOOL, _NULL, _SEQ, _MAP = (_TAG + t for t in ("str", "int", "float", "bool", "null", "seq", "map"))

#: The implicit resolvers by first character, wildcards appended, as ``BaseResolver.resolve`` reads them.
_IMPLICIT: dict[str, tuple[tuple[str, re.Pattern], ...]] = {
    ch: tuple(resolvers) + tuple(CoreLoader.yaml_implicit_resolvers.get(None, []))
    for ch, resolvers in CoreLoader.yaml_implicit_resolvers.items() if ch is not None
}
_WILDCARD = tuple(CoreLoader.yaml_implicit_resolvers.get(None, []))


def _resolve(self: CoreLoader, kind: type, value: str | None, implicit: tuple[bool, bool]) -> str:
    """``BaseResolver.resolve`` without the work CoreLoader never needs (it has no path resolvers).

    libyaml's composer calls it for every node, so it is kept short: one dict
    look-up by first character, then the few patterns for that character.
    """
    if kind is yaml.ScalarNode:
        if implicit[0]:
            for tag, regexp in _IMPLICIT.get(value[:1], _WILDCARD):  # type: ignore[index]
                if regexp.match(value):  # type: ignore[arg-type]
                    return tag
        return _STR
    return _SEQ if kind is yaml.SequenceNode else _MAP


if not CoreLoader.yaml_path_resolvers:  # (PyYAML's resolve is needed only for path resolvers)
    CoreLoader.resolve = _resolve  # type: ignore[method-assign, assignment]


#: Python writes and reads at most 4,300 decimal digits of an int (``sys.get_int_max_str_digits``): a longer
#: number in a note's properties is kept as the text it is (JSON, messages and reports can write it).
_INT_DIGITS_MAX = 4000


def _int_value(text: str) -> int | str:
    """The int a YAML 1.2 integer scalar holds, or ``text`` itself when it is too long to print as a number.

    >>> _int_value("0x1f"), _int_value("-12"), _int_value("0x" + "f" * 4000)[:4]
    (31, -12, '0xff')
    """
    if text.startswith(("0o", "0x")):
        value = int(text[2:], 8 if text[1] == "o" else 16)
        return value if value.bit_length() <= _INT_DIGITS_MAX * 3 else text  # (3.3 bits a decimal digit)
    return int(text, 10) if len(text) <= _INT_DIGITS_MAX else text


def _float_value(text: str) -> float:
    text = text.lower()
    if text.endswith(".inf"):
        return float("-inf") if text.startswith("-") else float("inf")
    if text.endswith(".nan"):
        return float("nan")
    return float(text)


def _construct_int(loader: yaml.SafeLoader, node: yaml.Node) -> int | str:
    return _int_value(loader.construct_scalar(node))


def _construct_bool(loader: yaml.SafeLoader, node: yaml.Node) -> bool:
    return loader.construct_scalar(node).lower() == "true"


def _construct_float(loader: yaml.SafeLoader, node: yaml.Node) -> float:
    return _float_value(loader.construct_scalar(node))


def _construct_mapping(loader: yaml.SafeLoader, node: yaml.MappingNode) -> dict:
    loader.flatten_mapping(node)
    result: dict = {}
    for key_node, value_node in node.value:
        # a property's name is the key's text (1 and true are two properties, not one Python key)
        key = key_node.value if key_node.__class__ is yaml.ScalarNode else loader.construct_object(key_node, deep=True)
        try:
            hash(key)
        except TypeError:
            raise yaml.constructor.ConstructorError(
                "while constructing a mapping", node.start_mark, "found an unhashable key", key_node.start_mark
            ) from None
        if key in result:
            raise DuplicateKeyError(
                "while constructing a mapping", node.start_mark, f"found duplicate key {key!r}", key_node.start_mark
            )
        result[key] = loader.construct_object(value_node, deep=True)
    return result


CoreLoader.add_constructor("tag:yaml.org,2002:int", _construct_int)
CoreLoader.add_constructor("tag:yaml.org,2002:bool", _construct_bool)
CoreLoader.add_constructor("tag:yaml.org,2002:float", _construct_float)
CoreLoader.add_constructor("tag:yaml.org,2002:map", _construct_mapping)


_MERGE_KEYS = frozenset({_TAG + "merge", _TAG + "value"})


#: Deepest nesting :func:`_construct_plain` builds (frontmatter rarely nests 5 deep).
_PLAIN_DEPTH = 32


class _Unusual(Exception):
    """:func:`_construct_plain` met a node it leaves to PyYAML's constructor."""


def _construct_plain(node: yaml.Node, depth: int = 0) -> Any:
    """Build a node tree made only of plain maps, lists and core scalars, as CoreLoader would.

    A shortcut past PyYAML's generic constructor (its per-node bookkeeping is
    most of the Python time of a load). It visits nodes in the order that
    constructor does (depth first: key, then value), so the first duplicate
    key or bad scalar raises the same error. Raises :class:`_Unusual` on
    anything else (explicit tags, merge keys, collection keys); the caller
    then starts over with PyYAML's constructor. Aliases are not looked at:
    call it only on text without ``*``. Nesting deeper than
    :data:`_PLAIN_DEPTH` is left to PyYAML too, which may run out of stack
    there (a reported error) where this function would not.
    """
    cls = node.__class__
    tag = node.tag
    if cls is yaml.ScalarNode:
        if tag == _STR:
            return node.value
        if tag == _NULL:
            return None
        if tag == _INT:
            return _int_value(node.value)
        if tag == _BOOL:
            return node.value.lower() == "true"
        if tag == _FLOAT:
            return _float_value(node.value)
    elif depth >= _PLAIN_DEPTH:
        raise _Unusual
    elif cls is yaml.MappingNode and tag == _MAP:
        for key_node, _value in node.value:
            # PyYAML merges '<<' keys (and renames '=') before it builds a key; a collection key may be unhashable
            if key_node.__class__ is not yaml.ScalarNode or key_node.tag in _MERGE_KEYS:
                raise _Unusual
        result: dict = {}
        for key_node, value_node in node.value:
            key = key_node.value  # (a scalar: its text, as Obsidian names a property; 1 and true are two keys)
            if key in result:
                raise DuplicateKeyError(
                    "while constructing a mapping", node.start_mark, f"found duplicate key {key!r}",
                    key_node.start_mark
                )
            result[key] = _construct_plain(value_node, depth + 1)
        return result
    elif cls is yaml.SequenceNode and tag == _SEQ:
        return [_construct_plain(item, depth + 1) for item in node.value]
    raise _Unusual


_LIST_KEYS = frozenset({"tags", "tag", "aliases", "alias", "cssclasses", "cssclass"})


def _span(node: yaml.Node) -> tuple[int, int]:
    """1-based first and last line a node's text occupies."""
    end = node.end_mark.line + (0 if node.end_mark.column else -1)
    start = node.start_mark.line
    return start + 1, max(end, start) + 1


#: Most values a frontmatter block may stand for once its YAML aliases are expanded. Obsidian's
#: YAML library refuses excessive aliasing too (its ``maxAliasCount``); without a cap a
#: ten-line block of nested aliases makes every later pass (JSON, schema) exponential.
MAX_EXPANDED_VALUES = 10_000


def _expanded_size(root: yaml.Node) -> int:
    """How many nodes ``root`` stands for with every alias expanded (cycles count as too many).

    Linear in the composed graph: shared nodes are sized once.

    >>> _expanded_size(yaml.compose("a: &x [1, 2]\\nb: *x\\nc: *x"))
    13
    """
    sizes: dict[int, int] = {}
    busy: set[int] = set()
    too_many = MAX_EXPANDED_VALUES + 1
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, done = stack.pop()
        key = id(node)
        if key in sizes:
            continue
        if isinstance(node, yaml.ScalarNode):
            sizes[key] = 1
            continue
        children = ([c for pair in node.value for c in pair] if isinstance(node, yaml.MappingNode)
                    else list(node.value))
        if done:
            busy.discard(key)
            sizes[key] = min(too_many, 1 + sum(sizes.get(id(c), too_many) for c in children))
            continue
        if key in busy:  # a recursive structure
            return too_many
        busy.add(key)
        stack.append((node, True))
        for child in children:
            if id(child) in busy:
                return too_many
            if id(child) not in sizes:
                stack.append((child, False))
    return sizes[id(root)]


@dataclass(slots=True)
class YamlResult:
    """Outcome of :func:`load_yaml`.

    ``data`` is the loaded value (any YAML type); ``error`` a one-line reason
    when loading failed, with ``error_line``/``error_col`` 1-based inside the
    YAML text (0 when unknown). ``error_kind`` is ``"invalid"``, ``"duplicate"``
    or ``None``. ``key_lines`` maps each top-level key to its 1-based line.
    ``item_spans`` maps the list-like keys (``tags``, ``aliases`` and their
    legacy and differently-cased forms) to the ``(first, last)`` 1-based lines
    of each list item, or of the one scalar value.
    """

    data: Any = None
    error: str | None = None
    error_kind: str | None = None
    error_line: int = 0
    error_col: int = 0
    key_lines: dict[str, int] = field(default_factory=dict)
    item_spans: dict[str, list[tuple[int, int]]] = field(default_factory=dict)


def load_yaml(text: str | bytes) -> YamlResult:
    """Load one YAML document as Obsidian would, never raising on bad input.

    Parameters
    ----------
    text : str or bytes
        YAML source (no ``---`` fences). Bytes must be the UTF-8 encoding of
        the text (libyaml reads that in any case; bytes spare the copy).

    Returns
    -------
    YamlResult

    Examples
    --------
    >>> load_yaml("d: 2025-09-07\\na: yes\\nn: 010").data
    {'d': '2025-09-07', 'a': 'yes', 'n': 10}
    >>> load_yaml("a: 1\\na: 2").error_kind
    'duplicate'
    >>> load_yaml("title: Note: subtitle").error_kind
    'invalid'
    """
    loader = CoreLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return YamlResult(data=None)
        aliases = (b"*" if text.__class__ is bytes else "*") in text
        if aliases and _expanded_size(node) > MAX_EXPANDED_VALUES:
            mark = node.start_mark
            return YamlResult(
                error=f"aliases expand to more than {MAX_EXPANDED_VALUES:,} values (an alias bomb?)",
                error_kind="invalid",
                error_line=mark.line + 1,
                error_col=mark.column + 1,
            )
        data = None
        if not aliases and isinstance(node, yaml.MappingNode):
            try:
                data = _construct_plain(node)
            except (_Unusual, RecursionError):
                data = None
        if data is None:
            data = loader.construct_document(node)
        key_lines: dict[str, int] = {}
        spans: dict[str, list[tuple[int, int]]] = {}
        if isinstance(node, yaml.MappingNode):
            for key_node, value_node in node.value:
                if isinstance(key_node, yaml.ScalarNode):
                    key = str(key_node.value)
                    key_lines.setdefault(key, key_node.start_mark.line + 1)
                    if key.lower() in _LIST_KEYS:
                        items = value_node.value if isinstance(value_node, yaml.SequenceNode) else [value_node]
                        spans[key] = [_span(item) for item in items]
        return YamlResult(data=data, key_lines=key_lines, item_spans=spans)
    except DuplicateKeyError as exc:
        mark = exc.problem_mark
        return YamlResult(
            error=f"duplicate key: {exc.problem.removeprefix('found duplicate key ')}",
            error_kind="duplicate",
            error_line=mark.line + 1 if mark else 0,
            error_col=mark.column + 1 if mark else 0,
        )
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        reason = exc.problem or exc.context or "invalid YAML"
        return YamlResult(
            error=reason,
            error_kind="invalid",
            error_line=mark.line + 1 if mark else 0,
            error_col=mark.column + 1 if mark else 0,
        )
    except (yaml.YAMLError, ValueError, TypeError, OverflowError, RecursionError) as exc:
        return YamlResult(error=str(exc).splitlines()[0] if str(exc) else type(exc).__name__, error_kind="invalid")
    finally:
        loader.dispose()


@dataclass(slots=True)
class FrontmatterBlock:
    """Where the frontmatter block sits in a normalised text.

    ``yaml`` is the text between the fences; ``body`` the text after the
    closing line; ``body_line`` the 1-based line where the body starts.
    ``close_trailing`` holds text after ``---`` on the closing line (Obsidian's
    indexer accepts it; its Properties editor does not).
    """

    yaml: str
    body: str
    body_line: int
    close_line: int
    close_trailing: str = ""


def split_frontmatter(text: str) -> FrontmatterBlock | None:
    """Find the frontmatter block of a note by Obsidian's indexer rules.

    ``text`` must already have its BOM removed and its newlines turned into
    ``\\n``. The block opens only with ``---`` and a newline at offset 0 and
    closes at the first later line that starts with ``---``; an unclosed
    opener is no frontmatter.

    Examples
    --------
    >>> split_frontmatter("---\\ntitle: A\\n---\\nBody").yaml
    'title: A\\n'
    >>> split_frontmatter("--- \\ntitle: A\\n---\\n") is None
    True
    >>> split_frontmatter("---\\n---\\nBody").body
    'Body'
    """
    parts = _frontmatter_parts(text)
    if parts is None:
        return None
    yaml_text, body, body_line, close_line, trailing = parts
    return FrontmatterBlock(yaml_text, body, body_line, close_line, trailing)  # type: ignore[arg-type]


def _close_offset(text: str | bytes) -> int:
    """Offset of the closing ``---`` line of a text (str, or its UTF-8 bytes) that opens with ``---``, or -1."""
    if isinstance(text, str):
        if text.startswith("---", 4):
            return 4
        close = text.find("\n---", 3)
    else:
        if text.startswith(b"---", 4):
            return 4
        close = text.find(b"\n---", 3)
    return close + 1 if close >= 0 else -1


def _frontmatter_parts(text: str, utf8: bytes | None = None) -> tuple[str | bytes, str, int, int, str] | None:
    """The fields of :func:`split_frontmatter`'s block: ``(yaml, body, body_line, close_line, close_trailing)``.

    Given ``utf8``, the UTF-8 encoding of ``text`` (the parser has the file's
    bytes, and they are the text as it is when there is no BOM, no ``\\r`` and
    no bad byte), ``yaml`` is their slice: what :func:`load_yaml` would encode
    the YAML text to, without the copies.
    """
    if not text.startswith("---\n"):
        return None
    start = 4
    close = _close_offset(text)
    if close < 0:
        return None
    line_end = text.find("\n", close)
    if line_end < 0:
        line_end = len(text)
        body = ""
    else:
        body = text[line_end + 1 :]
    trailing = text[close + 3 : line_end]
    yaml_text: str | bytes
    if utf8 is None:
        yaml_text = text[start:close]
        close_line = text.count("\n", 0, close) + 1
    else:  # the same block in bytes ('---' and newlines are single bytes in UTF-8)
        close_b = _close_offset(utf8)
        yaml_text = utf8[start:close_b]
        close_line = utf8.count(b"\n", 0, close_b) + 1
    if trailing:
        # The indexer keeps the rest of the closing line as body text.
        return yaml_text, trailing + ("\n" + body if line_end < len(text) else ""), close_line, close_line, trailing
    return yaml_text, body, close_line + 1, close_line, trailing
