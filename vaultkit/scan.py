"""Obsidian-flavoured Markdown scanner: links, embeds, tags, headings, block ids, tables.

The scanner mirrors Obsidian's metadata indexer (syntax document §0): a
CommonMark block pass decides what is prose and what is code, math, HTML or an
Obsidian ``%%`` comment; an inline pass over prose finds wikilinks, embeds,
Markdown links and tags. It is a single pass over the lines of the body with
literal-first searches, so a 50 KB note costs well under a millisecond of
block work and the inline pass runs only on text that holds ``[``, ``#`` or ``%``.

Nothing inside fenced or indented code, inline code, math, HTML blocks or HTML
comments counts. Links and tags inside ``%%`` comments are recorded with
``in_comment=True``.

Containers follow CommonMark: block quotes by their ``>`` markers, list items
by a stack of content indents (a line leaves an item when it is indented less
and is neither blank nor a lazy paragraph continuation); a list item's content
is dispatched like any other block, so a fence, heading, HTML or math block can
open inside an item and closes with it. The block structure is checked against
markdown-it-py as an oracle in ``tests/test_parse_properties.py``.
"""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_right
from dataclasses import dataclass, field, fields

from .model import BlockId, Diagnostic, Heading, Link, Table, TableRow, TagUse

__all__ = [
    "ScanResult",
    "scan_body",
    "parse_wikilink",
    "display_text",
    "parse_markdown_destination",
    "find_tags",
    "in_fenced_code",
    "region_spans",
    "is_valid_tag",
    "implied_tags",
    "TAG_RE",
]

# §5.1: characters a tag may hold.
_TAG_CHAR = r"[^\s\ufeff\u2000-\u206F\u2E00-\u2E7F!\"#$%&'()*+,.:;<=>?@\[\\\]^`{|}~]"
TAG_RE = re.compile(r"#(" + _TAG_CHAR + r"+)")
_TAG_BODY_RE = re.compile(r"^" + _TAG_CHAR + r"+$")
_QUOTE_RE = re.compile(r"^(?: {0,3}>)+ ?")
_ATX_RE = re.compile(r"^(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$")
_SETEXT_RE = re.compile(r"^(?:=+|-+)[ \t]*$")
_HR_RE = re.compile(r"^(?:(?:-[ \t]*){3,}|(?:\*[ \t]*){3,}|(?:_[ \t]*){3,})$")
_LIST_RE = re.compile(r"^([-*+]|\d{1,9}[.)])([ \t]+|$)")
_LIST_ENDERS_RE = re.compile(r"#{1,6}(?:[ \t]|$)|```|~~~")
_FENCE_RE = re.compile(r"^(`{3,}|~{3,})(.*)$")
_TABLE_DELIM_RE = re.compile(r"^\|?[ \t]*:?-+:?[ \t]*(?:\|[ \t]*:?-+:?[ \t]*)*\|?[ \t]*$")
_BLOCK_ID_ALONE_RE = re.compile(r"^\^([A-Za-z0-9-]+)[ \t]*$")
_BLOCK_ID_END_RE = re.compile(r"(?:^|[ \t])\^([A-Za-z0-9-]+)[ \t]*$")
_HTML_RAW_RE = re.compile(r"^<(script|pre|style|textarea)(?:\s|>|$)", re.IGNORECASE)
_HTML_BLOCK_TAGS = frozenset(
    "address article aside base basefont blockquote body caption center col colgroup dd details dialog dir div "
    "dl dt fieldset figcaption figure footer form frame frameset h1 h2 h3 h4 h5 h6 head header hr html iframe "
    "legend li link main menu menuitem nav noframes ol optgroup option p param search section summary table "
    "tbody td tfoot th thead title tr track ul".split()
)
_HTML_TYPE6_RE = re.compile(r"^</?([A-Za-z][A-Za-z0-9-]*)(?:\s|/?>|$)")
_HTML_TYPE7_RE = re.compile(
    r"^(?:<[A-Za-z][A-Za-z0-9-]*(?:\s+[A-Za-z_:][A-Za-z0-9_.:-]*(?:\s*=\s*(?:[^\s\"'=<>`]+|'[^']*'|\"[^\"]*\"))?)*"
    r"\s*/?>|</[A-Za-z][A-Za-z0-9-]*\s*>)[ \t]*$"
)
_AUTOLINK_RE = re.compile(r"<[A-Za-z][A-Za-z0-9+.-]{1,31}:[^<>\s]*>")
# '!\[|\[' rather than '!?\[': a branch of literals lets the regex engine skip to the next '!' or '['.
_MD_LINK_RE = re.compile(
    r"(?:!\[|\[)((?:[^\[\]\n]|\[[^\[\]\n]*\])*)\]\("
    r"[ \t]*(<[^<>\n]*>|[^\s()<>]*(?:\([^\s()]*\)[^\s()<>]*)*)"
    r"(?:[ \t]+(?:\"[^\"\n]*\"|'[^'\n]*'|\([^)\n]*\)))?[ \t]*\)"
)
_SCHEME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")
_SIZE_RE = re.compile(r"^\s*(\d+)\s*(?:x\s*(\d+)\s*)?$")
_SPECIAL_RE = re.compile(r"[`$<%\\]")
_IGNORE_RE = re.compile(r"%%\s*vaultkit-ignore(-file)?((?:[ \t]+[A-Za-z]+[0-9]*)*)\s*%%")
# decodeURI leaves escapes of these reserved characters alone
_RESERVED_ESCAPES = frozenset("#/?:@&=+$,;")
_ESCAPE_RUN_RE = re.compile(r"(?:%[0-9A-Fa-f]{2})+")
_BAD_ESCAPE_RE = re.compile(r"%(?![0-9A-Fa-f]{2})")
_ESCAPABLE = frozenset("[]#!$`%<>*_|\\")


@dataclass(slots=True)
class ScanResult:
    """What :func:`scan_body` found in one note body."""

    links: list[Link] = field(default_factory=list)
    tags: list[TagUse] = field(default_factory=list)
    headings: list[Heading] = field(default_factory=list)
    block_ids: list[BlockId] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
    diagnostics: list[Diagnostic] = field(default_factory=list)
    suppressions: dict[int, frozenset[str]] = field(default_factory=dict)


def is_valid_tag(name: str) -> bool:
    """Whether ``name`` (without ``#``) is a tag by Obsidian's grammar (§5.1).

    >>> [is_valid_tag(t) for t in ("y1984", "1984", "a b", "inbox/to-read", "")]
    [True, False, False, True, False]
    """
    return bool(name) and _TAG_BODY_RE.match(name) is not None and not _all_digits(name)


def _all_digits(name: str) -> bool:
    first = name[:1]
    if not (first.isdigit() or first == "/"):  # the common case, decided by the first character
        return False
    return all(ch.isdigit() or ch == "/" for ch in name) and any(ch.isdigit() for ch in name)


def implied_tags(name: str) -> list[str]:
    """Parent tags a nested tag counts for in the tag pane (§5.1), shortest first.

    Parameters
    ----------
    name : str
        A tag without ``#``.

    Returns
    -------
    list of str

    Examples
    --------
    >>> implied_tags("a/b/c")
    ['a', 'a/b']
    """
    parts = name.split("/")
    return ["/".join(parts[:i]) for i in range(1, len(parts)) if parts[i - 1]]


_DELIMS = "*_=~"


def _after_inline_delimiter(text: str, pos: int) -> bool:
    """Whether the ``#`` at ``pos`` follows an emphasis/highlight delimiter run that opens or closes.

    Obsidian checks for a tag where inline parsing resumes (§5.1), so
    ``**bold**#t`` and ``**#t**`` hold the tag ``#t``; a lone ``a*#t`` does not.
    """
    ch = text[pos - 1]
    k = pos - 1
    while k > 0 and text[k - 1] == ch:
        k -= 1
    run = text[k:pos]
    if ch == "_" and k > 0 and text[k - 1].isalnum():
        return False  # intraword underscore is never emphasis
    if ch in "=~" and len(run) != 2:
        return False
    line_start = text.rfind("\n", 0, k) + 1
    line_end = text.find("\n", pos)
    line_end = len(text) if line_end < 0 else line_end
    before = text.rfind(run, line_start, k)
    if before >= 0 and before + len(run) < k and not text[before + len(run)].isspace() and not text[k - 1].isspace():
        return True  # closes an earlier run
    after = text.find(run, pos + 1, line_end)
    return after >= 0 and (k == 0 or not text[k - 1].isalnum() or ch == "*")


def find_tags(text: str) -> list[tuple[str, int]]:
    """Inline tags in one run of prose text, as ``(name, offset)`` pairs.

    ``text`` must already have code, math and link destinations masked.

    Examples
    --------
    >>> [t for t, _ in find_tags("x #tag. #a#b word#no (#no) #1984 #y1984")]
    ['tag', 'a', 'b', 'y1984']
    """
    out: list[tuple[str, int]] = []
    pos = text.find("#")
    while pos >= 0:
        prev = text[pos - 1] if pos else " "
        if prev.isspace() or prev == "\ufeff" or (prev in _DELIMS and _after_inline_delimiter(text, pos)):
            end = pos
            while True:
                m = TAG_RE.match(text, end)
                if not m:
                    break
                name = m.group(1)
                if not name.isdigit() and not _all_digits(name):
                    out.append((name, end))
                end = m.end()
                if end >= len(text) or text[end] != "#":
                    break
            pos = text.find("#", max(end, pos + 1))
        else:
            pos = text.find("#", pos + 1)
    return out


def _normalise_target(target: str) -> str:
    target = target.replace("\u00a0", " ").strip()
    return unicodedata.normalize("NFC", target) if not target.isascii() else target


def _split_subpath(subpath: str) -> tuple[str | None, str | None]:
    parts = [p for p in subpath.split("#") if p]
    if not parts:
        return None, None
    if len(parts) == 1 and parts[0].startswith("^"):
        return None, parts[0][1:]
    return "#".join(parts), None


def parse_wikilink(inner: str, *, embed: bool = False, line: int = 0, col: int = 0) -> Link:
    """Split the text between ``[[`` and ``]]`` into a :class:`Link` (§2.2, §2.3).

    Examples
    --------
    >>> l = parse_wikilink("Target#Heading|Alias")
    >>> (l.target, l.heading, l.alias)
    ('Target', 'Heading', 'Alias')
    >>> parse_wikilink("Note#^abc").block
    'abc'
    >>> parse_wikilink("Target\\\\|Alias").target
    'Target'
    >>> l = parse_wikilink("img.png|Caption|300", embed=True)
    >>> (l.alias, l.width)
    ('Caption', 300)
    """
    cache = _EMBED_CACHE if embed else _WIKILINK_CACHE
    parsed = cache.get(inner)
    if parsed is None:
        parsed = _parse_wikilink(inner, embed)
        if len(cache) >= _CACHE_SIZE:
            cache.clear()
        cache[inner] = parsed
    path, heading, block, alias, width, height = parsed
    link = Link(path, "embed" if embed else "wikilink", line, col, heading, block, alias)
    if width is not None:
        link.width = width
        link.height = height
    return link


#: Parsed link texts: a vault repeats its links, and a :class:`Link` is quicker to build than to parse.
_WIKILINK_CACHE: dict[str, tuple] = {}
_EMBED_CACHE: dict[str, tuple] = {}
_CACHE_SIZE = 20_000
# parse_wikilink passes these Link fields by position (faster than by keyword)
assert [f.name for f in fields(Link)][:7] == ["target", "kind", "line", "col", "heading", "block", "alias"]


def _parse_wikilink(inner: str, embed: bool) -> tuple:
    """Fields of :func:`parse_wikilink`: ``(target, heading, block, alias, width, height)``."""
    bar = inner.find("|")
    if bar > 0:
        target, alias = inner[:bar], inner[bar + 1 :].strip()
    else:
        target, alias = inner, None
    target = target.strip()
    if target.endswith("\\"):
        target = target[:-1]
    target = _normalise_target(target)
    hash_at = target.find("#")
    if hash_at >= 0:
        path, subpath = target[:hash_at].rstrip(), target[hash_at:]
    else:
        path, subpath = target, ""
    heading, block = _split_subpath(subpath)
    width = height = None
    if embed and alias is not None:
        head, sep, last = alias.rpartition("|")
        m = _SIZE_RE.match(last)
        if m:
            width = int(m.group(1))
            height = int(m.group(2)) if m.group(2) and int(m.group(2)) else None
            alias = head.strip() if sep else None
    return path, heading, block, alias if alias else None, width, height


def display_text(link: Link) -> str:
    """The text Obsidian shows for ``link`` (§2.2 rule 5, §2.3, §3).

    The alias when there is one (the alt text of an embed, the text of a
    Markdown link); otherwise the target with its ``#``-separated parts
    (empty parts dropped) joined by ``" > "``.

    Parameters
    ----------
    link : Link
        A parsed link.

    Returns
    -------
    str

    Examples
    --------
    >>> display_text(parse_wikilink("Target#Heading#Sub"))
    'Target > Heading > Sub'
    >>> display_text(parse_wikilink("#Heading")), display_text(parse_wikilink("A|B|C"))
    ('Heading', 'B|C')
    """
    if link.kind == "markdown":
        return link.display or ""
    if link.alias:
        return link.alias
    parts = [link.target]
    if link.heading:
        parts.extend(link.heading.split("#"))
    elif link.block:
        parts.append("^" + link.block)
    return " > ".join(p for p in parts if p)


def _decode_uri(dest: str) -> str | None:
    """Decode like JavaScript ``decodeURI``; ``None`` for a malformed escape.

    >>> _decode_uri("a%20b%23c"), _decode_uri("bad%E0%A4%A.md")
    ('a b%23c', None)
    """
    if "%" not in dest:
        return dest
    if _BAD_ESCAPE_RE.search(dest):
        return None
    out: list[str] = []
    last = 0
    for m in _ESCAPE_RUN_RE.finditer(dest):
        out.append(dest[last : m.start()])
        try:
            decoded = bytes.fromhex(m.group(0).replace("%", "")).decode("utf-8")
        except UnicodeDecodeError:
            return None
        pos = m.start()
        for ch in decoded:
            width = len(ch.encode("utf-8")) * 3
            out.append(dest[pos : pos + width] if ch in _RESERVED_ESCAPES else ch)
            pos += width
        last = m.end()
    out.append(dest[last:])
    return "".join(out)


def parse_markdown_destination(dest: str, *, line: int = 0, col: int = 0, embed: bool = False,
                               text: str = "") -> Link | None:
    """Turn a Markdown link destination into an internal :class:`Link`, or ``None`` (§3).

    External URLs (with a scheme), empty destinations and malformed escapes
    give ``None``.

    Examples
    --------
    >>> parse_markdown_destination("Target%20with%20spaces.md").target
    'Target with spaces.md'
    >>> parse_markdown_destination("https://example.com/a.md") is None
    True
    >>> l = parse_markdown_destination("Folder/Target.md#Some%20Head")
    >>> (l.target, l.heading)
    ('Folder/Target.md', 'Some Head')
    >>> parse_markdown_destination("50%25.md").target
    '50%.md'
    """
    if dest.startswith("<") and dest.endswith(">"):
        dest = dest[1:-1]
    if not dest or _SCHEME_RE.match(dest) or dest.startswith("//"):
        return None
    hash_at = dest.find("#")
    path_part, sub_part = (dest[:hash_at], dest[hash_at:]) if hash_at >= 0 else (dest, "")
    path = _decode_uri(path_part)
    sub = _decode_uri(sub_part) if sub_part else ""
    if path is None or sub is None:
        return None
    path = _normalise_target(path)
    heading, block = _split_subpath(_normalise_target(sub)) if sub else (None, None)
    width = None
    if embed and text:
        head, sep, last = text.rpartition("|")
        m = _SIZE_RE.match(last)
        if sep and m:
            width = int(m.group(1))
            text = head
    link = Link(target=path, kind="markdown", line=line, col=col, heading=heading, block=block)
    link.display = text.strip() or None
    link.width = width
    return link


def _indent_of(s: str) -> int:
    n = 0
    for ch in s:
        if ch == " ":
            n += 1
        elif ch == "\t":
            n += 4 - (n % 4)
        else:
            break
    return n


def _strip_indent(s: str, amount: int) -> str:
    """Remove up to ``amount`` columns of leading whitespace."""
    col = 0
    i = 0
    while i < len(s) and col < amount and s[i] in " \t":
        col += 1 if s[i] == " " else 4 - (col % 4)
        i += 1
    return s[i:]


def _split_cells(row: str) -> list[str]:
    s = row.strip()
    if s.startswith("|"):
        s = s[1:]
    if s.endswith("|") and not s.endswith("\\|"):
        s = s[:-1]
    if "\\" not in s and "`" not in s:  # no escapes, no code spans: a plain split
        return [cell.strip() for cell in s.split("|")]
    cells: list[str] = []
    buf_start = 0
    i = 0
    in_code = 0
    while i < len(s):
        ch = s[i]
        if ch == "\\":
            i += 2
            continue
        if ch == "`":
            j = i
            while j < len(s) and s[j] == "`":
                j += 1
            run = j - i
            if in_code == 0:
                in_code = run
            elif in_code == run:
                in_code = 0
            i = j
            continue
        if ch == "|" and not in_code:
            cells.append(s[buf_start:i].strip())
            buf_start = i + 1
        i += 1
    cells.append(s[buf_start:].strip())
    return cells


class _Segment:
    """Lines of one inline run with their file positions, for offset → line/col.

    ``parts``, ``lines`` and ``cols`` may be lists the block pass already holds
    (they are not copied); the offsets of the parts are computed on the first
    :meth:`where`, so a run without links or tags never pays for them.
    """

    __slots__ = ("parts", "lines", "cols", "_starts")

    def __init__(self, parts: list[str] | None = None, lines: list[int] | None = None,
                 cols: list[int] | None = None) -> None:
        self.parts: list[str] = [] if parts is None else parts
        self.lines: list[int] = [] if lines is None else lines
        self.cols: list[int] = [] if cols is None else cols
        self._starts: list[int] | None = None

    def add(self, text: str, line: int, col: int) -> None:
        self.parts.append(text)
        self.lines.append(line)
        self.cols.append(col)

    def text(self) -> str:
        parts = self.parts
        return parts[0] if len(parts) == 1 else "\n".join(parts)

    def where(self, offset: int) -> tuple[int, int]:
        if len(self.parts) == 1:
            return self.lines[0], offset + self.cols[0] + 1
        starts = self._starts
        if starts is None:
            starts = self._starts = [0]
            at = 0
            for part in self.parts[:-1]:
                at += len(part) + 1
                starts.append(at)
        i = bisect_right(starts, offset) - 1
        return self.lines[i], offset - starts[i] + self.cols[i] + 1


class _Scanner:
    def __init__(self, body: str, first_line: int, path: str) -> None:
        self.body = body
        self.first_line = first_line
        self.path = path
        self.res = ScanResult()
        self.current_heading: str | None = None

    # ----------------------------------------------------------------- inline
    def inline(self, seg: _Segment, in_comment: bool = False, text: str | None = None) -> None:
        """Find links and tags in one inline run.

        A caller that passes ``text`` (``seg.text()``) has checked that it holds ``[``, ``#`` or ``%``.
        """
        if text is None:
            text = seg.text()
            if "[" not in text and "#" not in text and "%" not in text:
                return
        masked = text
        comments: list[tuple[int, int]] = []
        if "`" in text or "$" in text or "<" in text or "%" in text or "\\" in text:  # _SPECIAL_RE, faster
            masked, comments = self._mask(text)
        # Markdown links first: their destinations hide wikilink and tag look-alikes.
        if "](" in masked:
            pieces: list[str] = []
            last = 0
            for m in _MD_LINK_RE.finditer(masked):
                start = m.start()
                embed = masked[start] == "!"
                line, col = seg.where(start)
                dest = m.group(2)
                link = parse_markdown_destination(
                    dest, line=line, col=col, embed=embed, text=m.group(1)
                )
                if link is not None:
                    link.embed = embed
                    link.in_comment = in_comment or (_inside(comments, start) if comments else False)
                    self.res.links.append(link)
                dest_start = m.start(2)
                pieces.append(masked[last:dest_start])
                pieces.append(" " * (m.end() - dest_start))
                last = m.end()
            if pieces:
                pieces.append(masked[last:])
                masked = "".join(pieces)
        if "[[" in masked:
            masked = self._wikilinks(masked, text, seg, comments, in_comment, "#" in masked)
        if "#" in masked:
            for name, offset in find_tags(masked):
                line, _col = seg.where(offset)
                self.res.tags.append(TagUse(name, line, "body", in_comment or (_inside(comments, offset) if comments else False)))

    def _wikilinks(self, masked: str, text: str, seg: _Segment, comments: list, in_comment: bool,
                   mask: bool = True) -> str:
        """Record the wikilinks and embeds of ``masked``; return it with them blanked (when ``mask``)."""
        pieces: list[str] = []
        last = 0
        pos = masked.find("[[")
        while pos >= 0:
            end = masked.find("]]", pos + 2)
            if end < 0:
                break
            nested = masked.rfind("[[", pos + 2, end)
            if nested >= 0:
                pos = nested
                continue
            if masked.find("\n", pos + 2, end) >= 0:
                pos = masked.find("[[", pos + 2)
                continue
            embed = pos > 0 and masked[pos - 1] == "!"
            start = pos - 1 if embed else pos
            line, col = seg.where(start)
            real_inner = text[pos + 2 : end]
            if not real_inner.strip():
                self.res.diagnostics.append(
                    Diagnostic("VK105", "empty link '[[]]' links nowhere", self.path, line, col)
                )
            else:
                link = parse_wikilink(real_inner, embed=embed, line=line, col=col)
                link.in_comment = in_comment or (_inside(comments, pos) if comments else False)
                self.res.links.append(link)
            if mask:  # (only tags look at the masked text again)
                pieces.append(masked[last:start])
                pieces.append(" " * (end + 2 - start))
            last = end + 2
            pos = masked.find("[[", end + 2)
        if not pieces:
            return masked
        pieces.append(masked[last:])
        return "".join(pieces)

    def _mask(self, text: str) -> tuple[str, list[tuple[int, int]]]:
        """Blank out inline code, math, HTML comments, autolinks and escapes.

        Returns the masked text (same length) and the ``%%`` comment ranges.
        """
        out: list[str] = []
        comments: list[tuple[int, int]] = []
        last = 0
        i = 0
        n = len(text)
        while True:
            m = _SPECIAL_RE.search(text, i)
            if not m:
                break
            i = m.start()
            ch = text[i]
            if ch == "\\":
                if i + 1 < n and text[i + 1] in _ESCAPABLE and text[i + 1] != "|":
                    out.append(text[last:i])
                    out.append("  ")
                    last = i + 2
                i += 2
                continue
            if ch == "`":
                j = i
                while j < n and text[j] == "`":
                    j += 1
                run = j - i
                k = j
                close = -1
                while True:
                    k = text.find("`" * run, k)
                    if k < 0:
                        break
                    e = k + run
                    if (k == 0 or text[k - 1] != "`") and (e >= n or text[e] != "`"):
                        close = k
                        break
                    while k < n and text[k] == "`":
                        k += 1
                if close < 0:
                    i = j
                    continue
                out.append(text[last:i])
                out.append(_blank(text[i : close + run]))
                last = i = close + run
                continue
            if ch == "$":
                end = _math_end(text, i)
                if end < 0:
                    i += 2 if text.startswith("$$", i) else 1
                    continue
                out.append(text[last:i])
                out.append(_blank(text[i:end]))
                last = i = end
                continue
            if ch == "<":
                if text.startswith("<!--", i):
                    e = text.find("-->", i + 4)
                    if e < 0:
                        i += 4
                        continue
                    out.append(text[last:i])
                    out.append(_blank(text[i : e + 3]))
                    last = i = e + 3
                    continue
                am = _AUTOLINK_RE.match(text, i)
                if am:
                    out.append(text[last:i])
                    out.append(_blank(am.group(0)))
                    last = i = am.end()
                    continue
                i += 1
                continue
            if ch == "%":
                if text.startswith("%%", i):
                    line_end = text.find("\n", i + 2)
                    line_end = n if line_end < 0 else line_end
                    e = text.find("%%", i + 2, line_end)
                    if e >= 0:
                        comments.append((i, e + 2))
                        i = e + 2
                        continue
                    i += 2
                    continue
                i += 1
                continue
            i += 1
        if not out:
            return text, comments
        out.append(text[last:])
        return "".join(out), comments

    # ------------------------------------------------------------------ block
    def run(self) -> ScanResult:
        lines = self.body.split("\n")
        first = self.first_line
        n = len(lines)
        fence: tuple[str, int, int] | None = None  # (char, length, quote depth)
        fence_indent = 0
        fence_item = 0  # content indent of the list item holding the fence (0: none)
        math_depth: int | None = None
        html_end: str | None = None
        html_depth = 0
        block_item = block_depth = 0  # list item content indent and quote depth of an open HTML/math block
        comment_seg: _Segment | None = None
        # the open paragraph: its lines as the inline pass reads them, their file lines and columns
        para: list[str] | None = None
        para_lnos: list[int] = []
        para_cols: list[int] = []
        para_last = ""  # its last line as written (for a trailing block id)
        para_top = True
        list_indent: int | None = None
        lists: list[tuple[int, int]] = []  # open list items: (content indent, quote depth), innermost last
        last_para = False  # the previous line was paragraph text (so a lazy continuation is possible)
        prev_blank = True
        i = 0
        res = self.res

        def flush() -> None:
            nonlocal para
            if para is not None:
                text = para[0] if len(para) == 1 else "\n".join(para)
                if "[" in text or "#" in text or "%" in text:  # else the inline pass finds nothing
                    self.inline(_Segment(para, para_lnos, para_cols), text=text)
                if "^" in para_last:
                    m = _BLOCK_ID_END_RE.search(para_last)
                    if m:
                        res.block_ids.append(BlockId(m.group(1), para_lnos[-1]))
                para = None

        while i < n:
            raw = lines[i]
            i += 1
            if (not raw or raw.isspace()) and fence is None and comment_seg is None and html_end is None \
                    and math_depth is None:
                flush()  # a blank line outside fences, comments, HTML and math only ends the paragraph
                prev_blank = True
                last_para = False
                continue
            lineno = first + i - 1
            prev_para, last_para = last_para, False
            # container: block quotes / callouts
            depth = 0
            content = raw
            col0 = 0
            c0 = raw[:1]
            if c0 == ">" and raw[1:2] not in " >":  # '>text': one level, no space to take
                depth, content, col0 = 1, raw[1:], 1
            elif c0 == ">" and raw[1:2] == " " and raw[2:3] not in " >":  # '> text': the common callout line
                depth, content, col0 = 1, raw[2:], 2
            elif (c0 == ">" or c0 == " ") and ">" in raw[:8]:
                qm = _QUOTE_RE.match(raw)
                if qm:
                    depth = qm.group(0).count(">")
                    content = raw[qm.end():]
                    col0 = qm.end()
            c = content[:1]
            if c and c not in _NOT_PLAIN and not c.isspace() and (para is not None or "|" not in content) \
                    and not lists and fence is None and comment_seg is None and html_end is None \
                    and math_depth is None:
                # Plain paragraph text outside lists and open blocks: what the dispatch below would do
                # for a line that starts no block (the most common kind of line).
                if para is None:
                    para = [content]
                    para_lnos = [lineno]
                    para_cols = [col0]
                    para_top = depth == 0
                else:
                    para.append(content)
                    para_lnos.append(lineno)
                    para_cols.append(col0)
                para_last = content
                prev_blank = False
                last_para = True
                continue
            if c0 in "-*+" and raw[1:2] == " " and raw[2:3] not in " \t-*_" and fence is None \
                    and comment_seg is None and html_end is None and math_depth is None:
                item = raw[2:].lstrip()
                if item and item[0] not in _NOT_PLAIN and "|" not in item:
                    # '- text' at the margin outside open blocks: it closes every open list item, opens one
                    # and holds one line of text (what the dispatch below does with it, in short)
                    lists.clear()
                    flush()
                    lists.append((2, 0))
                    para = [item]
                    para_lnos = [lineno]
                    para_cols = [len(raw) - len(item)]
                    para_last = item
                    flush()
                    prev_blank = False
                    last_para = True
                    continue
            if comment_seg is not None:
                e = raw.find("%%")
                if e < 0:
                    comment_seg.add(raw, lineno, 0)
                    continue
                comment_seg.add(raw[:e], lineno, 0)
                self.inline(comment_seg, in_comment=True)
                comment_seg = None
                rest = raw[e + 2 :]
                if rest.strip():
                    seg = _Segment()
                    seg.add(rest, lineno, e + 2)
                    self.inline(seg)
                prev_blank = False
                continue
            if fence is not None:
                holder = content if fence[2] else raw  # the line as the list item holding the fence sees it
                if depth < fence[2] or (fence_item and holder.strip() and _indent_of(holder) < fence_item):
                    fence = None  # the quote or list item that held the fence ended
                else:
                    s = _strip_indent(content, fence_indent + 3) if _indent_of(content) <= fence_indent + 3 else content
                    if s.startswith(fence[0] * fence[1]) and not s.strip(fence[0]).strip():
                        fence = None
                        prev_blank = False
                    continue
            holder = content if block_depth else raw
            if (html_end is not None or math_depth is not None) and block_item and holder.strip() \
                    and _indent_of(holder) < block_item and (block_depth == 0 or depth == block_depth):
                html_end = math_depth = None  # the list item that held the HTML or math block ended
            if math_depth is not None:
                if "$$" in content or depth < math_depth:
                    math_depth = None
                continue
            if html_end is not None and depth < html_depth:
                html_end = None  # the quote that held the HTML block ended
            if html_end is not None:
                if html_end == "":
                    if not content.strip() and depth <= html_depth:
                        html_end = None
                        prev_blank = True
                    continue
                if html_end.lower() in content.lower():
                    html_end = None
                continue
            stripped_all = content.strip()
            indent = _indent_of(content) if stripped_all and content[:1] in " \t" else 0  # unused when blank
            if lists and (stripped_all or depth):
                # leave the list items this line is not inside (CommonMark container rules)
                while lists:
                    item_indent, item_depth = lists[-1]
                    if depth == item_depth and (indent >= item_indent or not stripped_all):
                        break
                    if depth > item_depth and (item_depth or _indent_of(raw) >= item_indent):
                        break  # a quote opened inside the item
                    starter = raw if depth > item_depth else content
                    if stripped_all and prev_para and not prev_blank:
                        st = starter.lstrip()
                        # ('- x', '* x', '+ x' start an item: the common case, without _starts_block)
                        if not (st[:2] in _ITEM_STARTS and st[2:3].strip()) and not _starts_block(st):
                            break  # lazy continuation of the item's paragraph
                    lists.pop()
            if not stripped_all:
                flush()
                prev_blank = True
                continue
            list_indent = lists[-1][0] if lists else None
            in_list = list_indent is not None
            if in_list and depth == lists[-1][1] and indent >= list_indent:  # type: ignore[operator]
                content_l = _strip_indent(content, list_indent)  # type: ignore[arg-type]
                indent_l = indent - list_indent  # type: ignore[operator]
            else:
                content_l = content
                indent_l = indent
            if indent_l >= 4:
                if para is not None:
                    stripped = content_l.lstrip()
                    para.append(stripped)
                    para_lnos.append(lineno)
                    para_cols.append(col0 + (len(content_l) - len(stripped)))
                    para_last = content_l
                    prev_blank = False
                    last_para = True
                    continue
                if not prev_para:
                    flush()
                    prev_blank = False
                    continue  # indented code (it cannot interrupt a paragraph)
            s = content_l.lstrip()
            scol = col0 + len(content) - len(s)
            # list item markers: the item's content is dispatched like any block (fence, heading, html…)
            item_line = False
            col_abs = indent
            while s[0] in "-*+0123456789":
                if s[0] in "-*+" and s[1:2] == " " and s[2:3] not in " \t-*_":
                    marker_end = marker_w = 2  # '- text': the common item, what _LIST_RE finds (no rule)
                else:
                    lm = _LIST_RE.match(s)
                    if not lm or (s[0] in "-*" and _HR_RE.match(s)):
                        break
                    spaces = len(lm.group(2).expandtabs(4))
                    marker_w = len(lm.group(1)) + (spaces if 1 <= spaces <= 4 else 1)
                    marker_end = lm.end()
                flush()
                col_abs += marker_w
                lists.append((col_abs, depth))
                list_indent = col_abs
                in_list = True
                item_line = True
                rest = s[marker_end:]
                stripped = rest.lstrip()
                scol += marker_end + len(rest) - len(stripped)
                s = stripped
                if not s:
                    break
            if not s:
                prev_blank = False
                continue  # an empty list item
            first_ch = s[0]
            # fenced code
            if first_ch in "`~" and (s.startswith("```") or s.startswith("~~~")):
                fm = _FENCE_RE.match(s)
                if fm and not (first_ch == "`" and "`" in fm.group(2)):
                    flush()
                    fence = (first_ch, len(fm.group(1)), depth)
                    fence_indent = indent
                    fence_item = list_indent if in_list and list_indent and lists[-1][1] == depth else 0
                    prev_blank = False
                    continue
            # math block
            if first_ch == "$" and s.startswith("$$") and "$$" not in s[2:]:
                flush()
                math_depth = depth
                block_item, block_depth = (list_indent or 0) if in_list and lists[-1][1] == depth else 0, depth
                prev_blank = False
                continue
            # ('$$…$$' closed on its own line is inline display math: masked in the inline pass)
            # Obsidian block comment: '%%' at line start and no other '%'
            if first_ch == "%" and s.startswith("%%") and "%" not in s[2:]:
                flush()
                comment_seg = _Segment()
                comment_seg.add(s[2:], lineno, scol + 2)
                continue
            # HTML blocks
            if first_ch == "<":
                if s.startswith("<!--"):
                    flush()
                    if "-->" not in s[4:]:
                        html_end = "-->"
                        html_depth = depth
                        block_item, block_depth = (list_indent or 0) if in_list and lists[-1][1] == depth else 0, depth
                    prev_blank = False
                    continue
                hm = _HTML_RAW_RE.match(s)
                if hm:
                    flush()
                    if f"</{hm.group(1).lower()}>" not in s.lower():
                        html_end = f"</{hm.group(1)}>"
                        html_depth = depth
                        block_item, block_depth = (list_indent or 0) if in_list and lists[-1][1] == depth else 0, depth
                    prev_blank = False
                    continue
                tm = _HTML_TYPE6_RE.match(s)
                if (tm and tm.group(1).lower() in _HTML_BLOCK_TAGS) or (para is None and _HTML_TYPE7_RE.match(s)):
                    flush()
                    html_end = ""
                    html_depth = depth
                    block_item, block_depth = (list_indent or 0) if in_list and lists[-1][1] == depth else 0, depth
                    prev_blank = False
                    continue
            # ATX heading
            if first_ch == "#":
                level = len(s) - len(s.lstrip("#"))
                if level > 6 or (level < len(s) and s[level] not in " \t"):
                    atx = False  # what _ATX_RE says too
                elif level == len(s):
                    atx, htext = True, ""
                elif s[-1] not in " \t#":  # no closing sequence: the text runs to the end
                    atx, htext = True, s[level:].strip()
                else:
                    hm2 = _ATX_RE.match(s)
                    atx = hm2 is not None
                    htext = (hm2.group(2) or "").strip() if hm2 else ""
                if atx:
                    flush()
                    res.headings.append(Heading(htext, level, lineno, depth == 0 and not in_list))
                    if depth == 0 and not in_list:
                        self.current_heading = htext
                    if htext and ("[" in htext or "#" in htext or "%" in htext):
                        self.inline(_Segment([htext], [lineno], [scol + s.find(htext) if htext in s else scol]),
                                    text=htext)
                    prev_blank = False
                    continue
            # setext underline / thematic break
            if first_ch in "=-*_" and indent_l < 4:
                if para is not None and _SETEXT_RE.match(s):
                    htext = " ".join(p.strip() for p in para)
                    level = 1 if first_ch == "=" else 2
                    top = depth == 0 and not in_list and para_top
                    res.headings.append(Heading(htext, level, para_lnos[0], top))
                    if top:
                        self.current_heading = htext
                    flush()
                    prev_blank = False
                    continue
                if _HR_RE.match(s):
                    flush()
                    prev_blank = False
                    continue
            # tables: a header row followed by a delimiter row
            if "|" in s and para is None and i < n:
                nxt = lines[i]
                nxt_c = nxt
                if depth:
                    qm2 = _QUOTE_RE.match(nxt)
                    nxt_c = nxt[qm2.end():] if qm2 else nxt
                nxt_s = nxt_c.strip()
                if "-" in nxt_s and _TABLE_DELIM_RE.match(nxt_s):
                    header = _split_cells(s)
                    if len(_split_cells(nxt_s)) == len(header):
                        i = self._table(lines, i, header, lineno, depth, scol)
                        prev_blank = False
                        continue
            # block id alone on a line
            if first_ch == "^" and para is None:
                bm = _BLOCK_ID_ALONE_RE.match(s)
                if bm:
                    res.block_ids.append(BlockId(bm.group(1), lineno))
                    prev_blank = False
                    continue
            # paragraph text (a list item's first line is its own block, so block ids bind to the item)
            if para is None:
                para = [s]
                para_lnos = [lineno]
                para_cols = [scol]
                para_top = depth == 0 and not in_list
            else:
                para.append(s)
                para_lnos.append(lineno)
                para_cols.append(scol)
            para_last = s
            prev_blank = False
            last_para = True
            if item_line:
                flush()
        flush()
        if comment_seg is not None:
            self.inline(comment_seg, in_comment=True)
        return res

    def _table(self, lines: list[str], i: int, header: list[str], lineno: int, depth: int, scol: int) -> int:
        """Read a table whose delimiter row is ``lines[i]``; return the next line index."""
        res = self.res
        raw = lines[i - 1]
        if "[" in raw or "#" in raw or "%" in raw:  # cells hold no trigger the raw line lacks
            self.inline(_cells_segment(header, raw, lineno))
        table = Table(header=header, rows=[], line=lineno, index=len(res.tables), heading=self.current_heading)
        i += 1  # skip delimiter row
        n = len(lines)
        while i < n:
            raw = lines[i]
            content = raw
            if depth:
                qm = _QUOTE_RE.match(raw)
                if not qm:
                    break
                content = raw[qm.end():]
            s = content.strip()
            if not s or "|" not in s:
                break
            row_line = self.first_line + i
            cells = _split_cells(s)
            table.rows.append(TableRow(cells, row_line))
            if "[" in raw or "#" in raw or "%" in raw:
                self.inline(_cells_segment(cells, raw, row_line))
            if "^" in s:
                bm = _BLOCK_ID_END_RE.search(s)
                if bm and not s.endswith("|"):
                    res.block_ids.append(BlockId(bm.group(1), row_line))
            i += 1
        res.tables.append(table)
        return i


_ORDERED_START_RE = re.compile(r"1[.)](?:[ \t]|$)")
_ITEM_STARTS = frozenset({"- ", "* ", "+ "})
#: First characters of a line (after its quote markers) that may start a block or an indent.
_NOT_PLAIN = frozenset("-*+0123456789`~$%<#=_^|> \t")


def _starts_block(s: str) -> bool:
    """Whether a line (indent removed) opens a block, so it cannot lazily continue a paragraph."""
    if not s:
        return False
    c = s[0]
    if c == ">":
        return True
    if c in "#`~":
        return _LIST_ENDERS_RE.match(s) is not None
    if c in "-*_" and _HR_RE.match(s):
        return True
    if c in "-*+":
        return _LIST_RE.match(s) is not None and bool(s[1:].strip())
    if c == "1":
        return _ORDERED_START_RE.match(s) is not None and bool(s[2:].strip())
    if c == "<":
        if s.startswith("<!--") or _HTML_RAW_RE.match(s):
            return True
        tm = _HTML_TYPE6_RE.match(s)
        return tm is not None and tm.group(1).lower() in _HTML_BLOCK_TAGS
    if c == "$":
        return s.startswith("$$")
    return False


def _cells_segment(cells: list[str], raw: str, line: int) -> _Segment:
    """An inline segment of table cells, each at its 0-based column in the raw line."""
    cols: list[int] = []
    pos = 0
    for cell in cells:
        at = raw.find(cell, pos) if cell else -1
        if at >= 0:
            pos = at + len(cell)
        cols.append(at if at >= 0 else 0)
    return _Segment(cells, [line] * len(cells), cols)


def _blank(s: str) -> str:
    """Same length, newlines kept, everything else a space."""
    if "\n" not in s:
        return " " * len(s)
    return "\n".join(" " * len(part) for part in s.split("\n"))


def _math_end(text: str, i: int) -> int:
    """End offset of inline math opening at ``text[i]`` (a ``$``), or -1 (§4)."""
    n = len(text)
    if text.startswith("$$", i):
        e = text.find("$$", i + 2)
        return e + 2 if e >= 0 else -1
    if i + 1 >= n or text[i + 1].isspace() or text[i + 1] == "$":
        return -1
    k = i + 1
    while True:
        k = text.find("$", k)
        if k < 0:
            return -1
        if text[k - 1] == "\\":
            k += 1
            continue
        if text[k - 1].isspace() or (k + 1 < n and text[k + 1].isdigit()):
            k += 1
            continue
        nl = text.find("\n\n", i, k)
        if nl >= 0:
            return -1
        return k + 1


def _inside(ranges: list[tuple[int, int]], pos: int) -> bool:
    for a, b in ranges:
        if a <= pos < b:
            return True
    return False


_FENCE_LINE_RE = re.compile(r"^[ \t]*(?:>[ \t]?)*[ \t]*(`{3,}|~{3,})(.*)$")


def in_fenced_code(lines: list[str]) -> list[bool]:
    """For each line, whether it lies in a fenced code block (the fence lines included).

    A fence opens with three or more backticks or tildes (after any
    indentation or ``>`` quote markers; a backtick fence's info string holds no
    backtick) and closes with a line of the same character, at least as long,
    and nothing else. An unclosed fence runs to the end. Used where vaultkit's
    own markers are looked for: a marker shown inside a code block is text.

    >>> in_fenced_code(["a", "```md", "%% x %%", "```", "b"])
    [False, True, True, True, False]
    """
    out: list[bool] = []
    fence: str | None = None
    for line in lines:
        if "`" not in line and "~" not in line:
            out.append(fence is not None)
            continue
        m = _FENCE_LINE_RE.match(line.rstrip("\r\n"))
        if fence is None:
            if m is not None and not (m.group(1)[0] == "`" and "`" in m.group(2)):
                fence = m.group(1)
                out.append(True)
                continue
            out.append(False)
        else:
            out.append(True)
            if m is not None and m.group(1)[0] == fence[0] and len(m.group(1)) >= len(fence) \
                    and not m.group(2).strip():
                fence = None
    return out


#: What every vaultkit region marker starts with (``%% vaultkit:begin NAME %%``, ``end``, ``hash``).
REGION_MARK = "%% vaultkit:"
_REGION_MARK_RE = re.compile(r"^[ \t]*%% vaultkit:(begin|end) ([A-Za-z0-9_.-]+) %%[ \t]*$")


def region_marker_lines(lines: list[str], *, with_frontmatter: bool) -> list[bool]:
    """For each line (its line end kept or not), whether a region marker on it counts.

    A marker counts outside fenced code, outside indented code (four columns
    of indentation or a tab before it) and, when ``lines`` are a whole note
    (``with_frontmatter``), outside its frontmatter: there it is the user's
    text, never filled (it would break the code or the YAML).

    >>> region_marker_lines(["---", "x: |", "  %% vaultkit:begin a %%", "---", "%% m %%", "    %% m %%"],
    ...                     with_frontmatter=True)
    [False, False, False, False, True, False]
    """
    counts = [True] * len(lines)
    if with_frontmatter and lines and lines[0].rstrip("\r\n") == "---":
        for idx in range(1, len(lines)):
            if lines[idx].startswith("---"):  # (as vaultkit.frontmatter.split_frontmatter closes it)
                counts[: idx + 1] = [False] * (idx + 1)
                break
    fenced = in_fenced_code([line.rstrip("\r\n") for line in lines]) if any(
        "```" in line or "~~~" in line for line in lines) else None
    for idx, line in enumerate(lines):
        if fenced is not None and fenced[idx]:
            counts[idx] = False
        elif line[:1] in (" ", "\t"):
            indent = line[: len(line) - len(line.lstrip(" \t"))]
            if len(indent.expandtabs(4)) >= 4:
                counts[idx] = False
    return counts


def region_spans(body: str, first_line: int = 1) -> list[tuple[int, int]]:
    """File lines ``(begin, end)`` of each vaultkit region (``%% vaultkit:begin NAME %%`` … ``end NAME``).

    Markers in fenced code are text; a begin marker pairs with the next end
    marker of the same name (unpaired markers open nothing: the writer refuses
    such a note). What lies between is vaultkit's, not the user's.

    >>> region_spans("x\\n%% vaultkit:begin a %%\\n- [[T]]\\n%% vaultkit:end a %%\\n", first_line=5)
    [(6, 8)]
    """
    if "%% vaultkit:begin" not in body:
        return []
    lines = body.split("\n")
    counts = region_marker_lines(lines, with_frontmatter=False)
    spans: list[tuple[int, int]] = []
    open_name: str | None = None
    open_at = 0
    for idx, line in enumerate(lines):
        if REGION_MARK not in line or not counts[idx]:
            continue
        m = _REGION_MARK_RE.match(line)
        if m is None:
            continue
        if m.group(1) == "begin":
            open_name, open_at = m.group(2), idx
        elif open_name == m.group(2):
            spans.append((first_line + open_at, first_line + idx))
            open_name = None
    return spans


def scan_body(body: str, first_line: int = 1, path: str = "") -> ScanResult:
    """Scan a note body (frontmatter removed, ``\\n`` newlines) for Obsidian syntax.

    Parameters
    ----------
    body : str
        The body text.
    first_line : int
        File line number of the body's first line (1-based).
    path : str
        Vault path, used in diagnostics.

    Returns
    -------
    ScanResult
        Links (with 1-based file lines), tags, headings, block ids, tables,
        suppression comments and diagnostics, in document order.

    Examples
    --------
    >>> r = scan_body("See [[A|a]] and `[[B]]` #tag\\n```\\n[[C]] #no\\n```\\n")
    >>> [(l.target, l.line) for l in r.links], [t.name for t in r.tags]
    ([('A', 1)], ['tag'])
    """
    scanner = _Scanner(body, first_line, path)
    res = scanner.run()
    if "%" in body and "vaultkit-ignore" in body:  # ('%' first: a quicker search)
        _suppressions(body, first_line, res)
    return res


def _suppressions(body: str, first_line: int, res: ScanResult) -> None:
    lines = body.split("\n")
    for idx, raw in enumerate(lines):
        for m in _IGNORE_RE.finditer(raw):
            codes = frozenset(c.upper() for c in m.group(2).split()) or frozenset({"ALL"})
            if m.group(1):
                target = 0
            elif raw.strip() == m.group(0):
                # alone on its line: applies to the next non-blank line
                target = 0
                for j in range(idx + 1, len(lines)):
                    if lines[j].strip():
                        target = first_line + j
                        break
                if target == 0:
                    continue
            else:
                target = first_line + idx
            res.suppressions[target] = res.suppressions.get(target, frozenset()) | codes
