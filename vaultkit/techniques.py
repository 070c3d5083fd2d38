"""Techniques as entities: tier-table rows of the same technique merged across notes and tables.

A technique is what one or more tier-table rows name. Two rows are the same
technique when their names share a normalised key — the name without its
parenthesis (``LoRA / QLoRA (adapter tuning)`` ~ ``LoRA/QLoRA``) or one of its
aliases (``RAG / Search-Augmented Memory`` ~ ``Retrieval-Augmented Generation
(RAG)``) — and they sit in different tables. A note *mentions* a technique
when its text names it (name or alias, whole words, any case) or says
``Tier N`` of a tier table of its own.

Examples
--------
>>> technique_aliases("LoRA / QLoRA (adapter tuning)")
['LoRA / QLoRA', 'LoRA', 'QLoRA', 'adapter tuning']
>>> technique_aliases("Reinforcement Learning (RLHF/RLAIF)")
['Reinforcement Learning', 'RLHF', 'RLAIF']
"""

from __future__ import annotations

import hashlib
import heapq
import marshal
import operator
import re
import sys
from collections.abc import Set as AbstractSet, MutableMapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Iterable, Iterator

from .tiers import Mark, TechniqueRow, technique_key

if TYPE_CHECKING:  # pragma: no cover
    from .model import Note
    from .vault import Vault

__all__ = [
    "Technique",
    "Mention",
    "MentionMap",
    "technique_aliases",
    "merge_rows",
    "build_techniques",
    "find_mentions",
    "vault_mentions",
    "vault_mention_rows",
    "mention_rows_of",
    "fill_mentions",
    "mention_changes",
    "note_text",
]

_intern = sys.intern
_PAREN_RE = re.compile(r"\(([^)]*)\)")
_SPLIT_RE = re.compile(r"\s*(?:/|\s\+\s|\s&\s)\s*")
_TIER_MENTION_RE = re.compile(r"(?<!\w)(?:Tier|Тир|Tир)\s*#?\s*(\d{1,3})(?!\d)", re.IGNORECASE)
_EDGE_RE = re.compile(r"^\W+|\W+$")
_WORD_RE = re.compile(r"[\w'’-]+")


def _is_acronym(word: str) -> bool:
    """A one-word name worth matching on its own: mixed case or digits (``LoRA``, ``RAG``, ``GPT-4``)."""
    w = word.strip()
    if len(w) < 2 or " " in w:
        return False
    rest = w[1:]
    return any(ch.isupper() for ch in rest) or any(ch.isdigit() for ch in w)


def _good_part(part: str) -> bool:
    part = part.strip()
    if len(part) < 2 or any(t in part for t in ("→", "->", "etc", "…", ",")):
        return False
    words = _WORD_RE.findall(part)
    return len(words) >= 2 or _is_acronym(part)


def technique_aliases(name: str) -> list[str]:
    """Other names a technique goes by, read from its table name (without the name itself).

    The name without its parenthesis, the parts of a ``/`` or ``+`` list when
    each part is a phrase or an acronym, and the parenthesis when it is one.

    Examples
    --------
    >>> technique_aliases("MoE (Mixture-of-Experts)")
    ['MoE', 'Mixture-of-Experts']
    >>> technique_aliases("Model Scaling (GPT-3→4→Qwen→Gemini)")
    ['Model Scaling']
    >>> technique_aliases("Token/Embedding Freezing")
    ['Embedding Freezing']
    """
    name = " ".join(name.split())
    out: list[str] = []

    def add(a: str) -> None:
        a = a.strip(" .,;:-")
        if a and a != name and a not in out:
            out.append(a)

    base = _PAREN_RE.sub("", name).strip()
    if base != name:
        add(base)
    parts = [p for p in _SPLIT_RE.split(base) if p.strip()]
    if len(parts) > 1:
        for p in parts:
            if _good_part(p):
                add(p)
    for inner in _PAREN_RE.findall(name):
        pieces = [p for p in _SPLIT_RE.split(inner) if p.strip()]
        for p in pieces if len(pieces) > 1 else [inner]:
            if _good_part(p):
                add(p)
    return out


@dataclass(slots=True)
class Mention:
    """A note naming a technique: first line, how often, and how (``"name"``, ``"alias"`` or ``"tier"``)."""

    note: str
    technique: str
    line: int
    count: int
    via: str
    text: str


#: A Mention as the plain row the memos, the process pool and vaultkit.basis keep:
#: ``(technique, line, count, via, text)`` (``Mention(note, *row)`` makes it again).
mention_row = operator.attrgetter("technique", "line", "count", "via", "text")


def pack_mention_rows(rows: list[tuple]) -> tuple[bytes, str]:
    """One note's :data:`mention_row` rows as the memos, the process pool and the plan carry them.

    Returns
    -------
    (packed, digest)
        ``packed``: one :mod:`marshal` blob (``b""`` for no rows), read back by
        :func:`unpack_mention_rows` only when a technique's mentions are needed
        (a sync after one edit reads a few notes' rows, not 3.2 million rows);
        interned keys and texts come back interned. ``digest``: their
        :func:`mention_rows_digest`.

    Examples
    --------
    >>> packed, digest = pack_mention_rows([("lora", 3, 2, "name", "LoRA")])
    >>> unpack_mention_rows(packed), digest == mention_rows_digest([("lora", 3, 2, "name", "LoRA")])
    ([('lora', 3, 2, 'name', 'LoRA')], True)
    >>> pack_mention_rows([])[0], unpack_mention_rows(b"")
    (b'', [])
    """
    return (marshal.dumps(rows) if rows else b""), mention_rows_digest(rows)


def unpack_mention_rows(packed: bytes) -> list[tuple]:
    """The rows :func:`pack_mention_rows` packed (a list of tuples; ``[]`` for ``b""``)."""
    return marshal.loads(packed) if packed else []


def mention_rows_digest(rows: list[tuple]) -> str:
    """A hex digest of mention rows that equal rows share (marshal version 2 writes no back-references,
    whose flags depend on reference counts, and no interning marks)."""
    return hashlib.sha256(marshal.dumps(rows, 2)).hexdigest()[:32]


class MentionMap(MutableMapping):
    """A technique's mentions by note path, kept as :data:`mention_row` rows: a :class:`Mention` is
    made only when one is read (a 10,000-note vault has 3.2 million; a sync reads a few per technique).

    A mapping of note path → :class:`Mention`, like the ``dict`` it stands for; a
    Mention read from it is a copy (changing it changes nothing here: store it again).

    Examples
    --------
    >>> m = MentionMap({"a.md": Mention("a.md", "k", 3, 2, "name", "K")})
    >>> m["a.md"], "a.md" in m, len(m)
    (Mention(note='a.md', technique='k', line=3, count=2, via='name', text='K'), True, 1)
    >>> m.rows["a.md"]
    ('k', 3, 2, 'name', 'K')
    """

    __slots__ = ("rows",)

    def __init__(self, mentions: "Iterable[tuple[str, Mention]] | dict[str, Mention] | None" = None) -> None:
        #: note path → (technique, line, count, via, text)
        self.rows: dict[str, tuple] = {}
        if mentions:
            self.update(mentions)

    def __getitem__(self, note: str) -> Mention:
        return Mention(note, *self.rows[note])

    def __setitem__(self, note: str, mention: Mention) -> None:
        self.rows[note] = mention_row(mention)

    def __delitem__(self, note: str) -> None:
        del self.rows[note]

    def __contains__(self, note: object) -> bool:
        return note in self.rows

    def __iter__(self) -> Iterator[str]:
        return iter(self.rows)

    def __len__(self) -> int:
        return len(self.rows)

    def keys(self) -> Any:
        return self.rows.keys()  # (a real keys view: `& set` runs in C)

    def __repr__(self) -> str:
        return f"MentionMap({dict(self.items())!r})"

    def ranked_notes(self) -> list[str]:
        """Note paths, most mentions first, then by path (two sorts: by path, then stably by count).

        >>> MentionMap({p: Mention(p, "k", 1, c, "name", "K") for p, c in [("b", 2), ("a", 1), ("c", 2)]}).ranked_notes()
        ['b', 'c', 'a']
        """
        ranked = sorted(self.rows.items())  # (paths are unique: the rows are never compared)
        ranked.sort(key=lambda item: item[1][2], reverse=True)  # reverse keeps equal counts in path order
        return [note for note, _row in ranked]

    def top_notes(self, limit: int, among: "AbstractSet[str] | None" = None,
                  skip: "AbstractSet[str]" = frozenset()) -> list[str]:
        """The first ``limit`` notes of :meth:`ranked_notes` that are in ``among`` (default: any) and not in
        ``skip``, found without ranking the others (the canvas draws 3 of a technique's 150 mentions at
        10,000 notes).

        >>> m = MentionMap({p: Mention(p, "k", 1, c, "name", "K") for p, c in [("b", 2), ("a", 1), ("c", 2)]})
        >>> m.top_notes(2, {"a", "b", "c"}, {"b"}), m.top_notes(5), m.top_notes(1, skip={"b"})
        (['c', 'a'], ['b', 'c', 'a'], ['c'])
        """
        if limit <= 0:
            return []
        items = self.rows.items()
        if among is None:
            keep = [(-row[2], note) for note, row in items if note not in skip]
        else:
            keep = [(-row[2], note) for note, row in items if note in among and note not in skip]
        return [note for _minus, note in heapq.nsmallest(limit, keep)]

    def count(self, note: str) -> int:
        """How often ``note`` mentions the technique (``KeyError`` when it does not)."""
        return self.rows[note][2]


@dataclass(slots=True)
class Technique:
    """One technique, merged from every tier-table row that names it.

    Attributes
    ----------
    key : str
        Stable identity (:func:`vaultkit.tiers.technique_key` of the best-ranked row's name).
    name : str
        Display name (the best-ranked row's name as written).
    aliases : list of str
        Other names: the other rows' names and the aliases read from every name.
    rows : list of TechniqueRow
        The rows, best tier first.
    tier : int or None
        Best (lowest) tier number among the rows; ``None`` when every row has a text tier.
    mentions : MentionMap
        Notes that mention the technique outside its rows, by note path (a
        ``dict`` of :class:`Mention` given here is taken over).
    """

    key: str
    name: str
    aliases: list[str] = field(default_factory=list)
    rows: list[TechniqueRow] = field(default_factory=list)
    tier: int | None = None
    mentions: MentionMap = field(default_factory=MentionMap)

    def __post_init__(self) -> None:
        if not isinstance(self.mentions, MentionMap):
            self.mentions = MentionMap(self.mentions)

    @property
    def node_id(self) -> str:
        """The graph node id, ``"technique:<key>"``."""
        return f"technique:{self.key}"

    @property
    def notes(self) -> list[str]:
        """Paths of the notes whose tier tables rank the technique, sorted."""
        return sorted({r.note for r in self.rows})

    @property
    def tier_keys(self) -> list[str]:
        """Distinct tier keys of the rows (``"3"``, ``"3-4"``, ``"consumer"`` …) in row order."""
        out: list[str] = []
        for r in self.rows:
            if r.tier.key not in out:
                out.append(r.tier.key)
        return out

    @property
    def effectiveness(self) -> list[Mark]:
        """Effectiveness marks of every row, each (symbol, phrase) once."""
        return _merge_marks(m for r in self.rows for m in r.effectiveness)

    @property
    def tradeoffs(self) -> list[Mark]:
        """Tradeoff marks of every row, each (symbol, phrase) once."""
        return _merge_marks(m for r in self.rows for m in r.tradeoffs)

    @property
    def cost(self) -> int:
        """Highest cost level (count of 💰, 0–5) among the rows."""
        return max((r.cost for r in self.rows), default=0)

    @property
    def uses(self) -> list[str]:
        """Real-world uses of every row, each once."""
        out: list[str] = []
        for r in self.rows:
            for u in r.uses:
                if u not in out:
                    out.append(u)
        return out

    @property
    def referrers(self) -> list[str]:
        """Notes that rank or mention the technique, sorted."""
        return sorted(set(self.notes) | set(self.mentions))

    def ranked_mentions(self) -> list[Mention]:
        """The mentions, most often first, then by note path (as ``sorted(key=(-count, note))``).

        Sorted as :meth:`MentionMap.ranked_notes`; a Mention is made for each
        (only the notes: ``mentions.ranked_notes()``).

        Examples
        --------
        >>> t = Technique("k", "K", mentions={p: Mention(p, "k", 1, c, "name", "K") for p, c in
        ...                                   [("b.md", 2), ("a.md", 1), ("c.md", 2)]})
        >>> [m.note for m in t.ranked_mentions()]
        ['b.md', 'c.md', 'a.md']
        """
        mentions = self.mentions
        return [mentions[note] for note in mentions.ranked_notes()]

    def match_names(self) -> list[str]:
        """Names used to find mentions: the name and the aliases, longest first."""
        names = {self.name, *self.aliases}
        return sorted(names, key=lambda s: (-len(s), s))

    def to_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "name": self.name,
            "aliases": list(self.aliases),
            "tier": self.tier,
            "tiers": self.tier_keys,
            "cost": self.cost,
            "notes": self.notes,
            "mentions": sorted(self.mentions),
            "effectiveness": [m.to_dict() for m in self.effectiveness],
            "tradeoffs": [m.to_dict() for m in self.tradeoffs],
            "rows": [r.to_dict() for r in self.rows],
        }


def _merge_marks(marks: Iterable[Mark]) -> list[Mark]:
    out: dict[tuple[str, str], Mark] = {}
    for m in marks:
        k = (m.symbol, m.phrase.casefold())
        if k not in out or m.count > out[k].count:
            out[k] = m
    return list(out.values())


def _row_order(r: TechniqueRow) -> tuple:
    return (r.tier.low is None, r.tier.low if r.tier.low is not None else 0, r.note, r.table, r.row)


def _keys_of(name: str, key: Callable[[str], str] = technique_key,
             aliases: Callable[[str], list[str]] = technique_aliases) -> set[str]:
    keys = {key(name)}
    for a in aliases(name):
        k = key(a)
        if len(k) >= 2:
            keys.add(k)
    return {k for k in keys if k}


def _memo(fn: Callable[[str], Any]) -> Callable[[str], Any]:
    """``fn`` with its results kept for the duration of one call of :func:`merge_rows` (names repeat)."""
    seen: dict[str, Any] = {}

    def get(s: str) -> Any:
        v = seen.get(s)
        if v is None:
            v = seen[s] = fn(s)
        return v

    return get


def merge_rows(rows: Iterable[TechniqueRow]) -> list[Technique]:
    """Group tier-table rows into techniques, sorted by (tier, name).

    Rows merge when a key of one (its name's key or an alias's key) equals a
    key of the other, unless they come from the same table and are named
    apart (the same name twice in a table is one technique: ``VK305``).

    Examples
    --------
    >>> from vaultkit.tiers import Tier
    >>> def row(note, tier, name):
    ...     return TechniqueRow(note, 0, 1, 1, Tier(str(tier), tier, tier), name, [], [], [], 0)
    >>> ts = merge_rows([row("a.md", 3, "LoRA / QLoRA (adapter tuning)"), row("b.md", 4, "LoRA/QLoRA"),
    ...                  row("b.md", 1, "Retrieval-Augmented Generation (RAG)"), row("a.md", 5, "RAG / Search")])
    >>> [(t.key, t.tier, t.notes) for t in ts]
    [('retrievalaugmentedgeneration', 1, ['a.md', 'b.md']), ('loraqlora', 3, ['a.md', 'b.md'])]
    """
    key, aliases_of = _memo(technique_key), _memo(technique_aliases)
    groups: list[dict[str, Any]] = []  # {"rows": [...], "keys": set, "tables": set}
    by_key: dict[str, list[int]] = {}
    for r in sorted(rows, key=_row_order):
        keys = _keys_of(r.name, key, aliases_of)
        primary = key(r.name)
        table = (r.note, r.table)
        target: int | None = None
        best: tuple[int, int] | None = None
        for k in sorted(keys):
            for gi in by_key.get(k, []):
                g = groups[gi]
                if table in g["tables"] and primary not in g["primary"]:
                    continue
                # prefer the group named like this row, then one that knows its name as an alias
                rank = (0 if primary in g["primary"] else 1 if primary in g["keys"] else 2, gi)
                if best is None or rank < best:
                    best, target = rank, gi
        if target is None:
            groups.append({"rows": [r], "keys": set(keys), "tables": {table}, "primary": {primary}})
            gi = len(groups) - 1
        else:
            gi = target
            g = groups[gi]
            g["rows"].append(r)
            g["keys"] |= keys
            g["primary"].add(primary)
            g["tables"].add(table)
        for k in keys:
            lst = by_key.setdefault(k, [])
            if gi not in lst:
                lst.append(gi)
    out: list[Technique] = []
    for g in groups:
        rs = sorted(g["rows"], key=_row_order)
        first = rs[0]
        aliases: list[str] = []
        for r in rs:
            for a in [r.name, *aliases_of(r.name)]:
                if a != first.name and a not in aliases:
                    aliases.append(a)
        tiers = [r.tier.low for r in rs if r.tier.low is not None]
        out.append(Technique(key=key(first.name), name=first.name, aliases=aliases, rows=rs,
                             tier=min(tiers) if tiers else None))
    # keys must be unique even when two unmerged groups normalise alike (same table, same name)
    seen: dict[str, int] = {}
    for t in sorted(out, key=lambda t: _row_order(t.rows[0])):
        n = seen.get(t.key, 0)
        seen[t.key] = n + 1
        if n:
            t.key = f"{t.key}-{n + 1}"
    for t in out:
        # one str per key, shared by every mention row of it (rows arrive through marshal, which keeps
        # interned strings interned): 3.2 million fewer strings at 10,000 notes, and lookups by identity
        t.key = sys.intern(t.key)
    return sorted(out, key=_technique_order)


def _technique_order(t: Technique) -> tuple:
    return (t.tier is None, t.tier if t.tier is not None else 0, t.name.casefold(), t.key)


def note_text(vault: "Vault", note: "Note") -> str:
    """The text of ``note``: :attr:`Note.text` when the parser kept it, else read from disk (``""`` on failure)."""
    text = getattr(note, "text", "")
    if text:
        return text
    if not note.sha256:  # it could not be read (or is no regular file): nothing to read again
        return ""
    from .vault import read_regular

    try:
        data, _st = read_regular(vault.root / note.path)
    except OSError:
        return ""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        return data.decode(note.encoding or "utf-8", "replace")
    except LookupError:
        return data.decode("utf-8", "replace")


def parsed_note_text(vault: "Vault", note: "Note") -> str | None:
    """:func:`note_text`, or ``None`` when the text was left to be read from the file (a note from the
    cache or a parse worker) and the file no longer holds the bytes the note was parsed from (edited,
    replaced or deleted since): what is found in it must not be kept under the note's hash."""
    from .cache import parsed_text

    return parsed_text(note, vault.root / note.path)


def _trie_pattern(words: Iterable[str]) -> str:
    """A regular expression matching any of ``words``, longest first, built as a trie (fast to scan).

    >>> import re
    >>> re.findall(r"\\b" + _trie_pattern(["lora", "lora / qlora", "rag"]) + r"\\b", "lora / qlora, rag")
    ['lora / qlora', 'rag']
    """
    root: dict[str, Any] = {}
    for word in words:
        d = root
        for ch in word:
            d = d.setdefault(ch, {})
        d[""] = True

    def emit(d: dict[str, Any]) -> str:
        alts = [re.escape(ch) + emit(d[ch]) for ch in sorted(k for k in d if k)]
        end = "" in d
        if not alts:
            return ""
        body = "(?:" + "|".join(alts) + ")" if len(alts) > 1 or end else alts[0]
        return body + "?" if end else body

    return emit(root)


#: Names longer than this (characters) are not looked for in the notes' text: nobody writes a paragraph as a
#: name, and building the search for one took time growing with the square of its length (a 100 KB table
#: cell: 19 s; 1 MB: over 5 minutes).
MENTION_NAME_MAX = 200


def _names_of(techniques: list[Technique]) -> dict[str, list[tuple[Technique, str]]]:
    """The names to look for (lower-cased, spaces collapsed), each with the techniques it names and how;
    names of 3 to :data:`MENTION_NAME_MAX` characters, and acronyms."""
    by_name: dict[str, list[tuple[Technique, str]]] = {}
    for t in techniques:
        for written in t.match_names():
            n = _EDGE_RE.sub("", written)
            if len(n) > MENTION_NAME_MAX:
                continue
            if len(n) >= 3 or _is_acronym(n):
                lst = by_name.setdefault(" ".join(n.lower().split()), [])
                if all(x is not t for x, _ in lst):
                    lst.append((t, "name" if written == t.name else "alias"))
    return by_name


def _ascii_word(ch: str) -> bool:
    return ch.isascii() and (ch.isalnum() or ch == "_")


_UNI_WORD = re.compile(r"\w").match  # a Unicode word character at a position (what (?<!\w) / (?!\w) test)
# Every byte but an ASCII word character becomes a space: non-ASCII characters are no word
# characters for the ASCII names' \b either (the text is encoded one byte per character).
_SPACE_NON_WORD = bytes(c if c < 128 and (chr(c).isalnum() or c == 95) else 32 for c in range(256))
# Every UTF-8 lead byte of a non-ASCII character becomes \x01: one literal starts every anchor.
_LEAD_AS_ONE = bytes(1 if c >= 0xC0 else c for c in range(256))


def _bytes_trie(words: Iterable[bytes]) -> bytes:
    """:func:`_trie_pattern` over byte strings (as a bytes pattern)."""
    return _trie_pattern(w.decode("latin-1") for w in words).encode("latin-1")


class _Scanner:
    """Compiled searches for one set of lower-cased names, reused while the names stay the same.

    They find exactly what the plain searches find — ``\\b<trie>\\b`` (ASCII mode) for the ASCII
    names, leftmost, longest, not overlapping; ``(?<!\\w)<name>(?!\\w)`` once per other name — in
    less time: Python's regex engine is slow when it has to try a match at every position, and
    slower to compile the more names it holds (1–3.3 s for 21,700 names, measured here).

    ASCII names are found with an Aho–Corasick automaton (ahocorasick_rs: one pass in Rust, whatever
    the number of names) over a copy of the text, one byte per character with a space at each end,
    in which everything but an ASCII word character is a space. Its keys are the names spaced alike,
    with a space at each end, so each occurrence it reports is bounded by non-word characters (two
    names may share the space between them: the automaton reports overlapping keys). A candidate
    whose text is a name is that name; of the candidates, the leftmost, then longest, not
    overlapping the last one taken, are the matches — what the plain search finds.

    Other names (Cyrillic …) are searched one by one with ``str.find`` and the same word bounds,
    but only those that occur in the text at all: a substring test per name when the names are few
    and the text is mostly not ASCII, else one search of the UTF-8 text for the names' anchors
    (each name from its first non-ASCII character on; every UTF-8 lead byte made ``\\x01``, so the
    pattern starts with a literal and is tried only at non-ASCII characters).
    """

    def __init__(self, names: Iterable[str]) -> None:
        ascii_names = [n for n in names if n.isascii()]
        self.others = [n for n in names if not n.isascii()]
        self.ascii_names = set(ascii_names)
        self._plain: re.Pattern[str] | None = None
        self._automaton: Any = None
        self._spelled: list[tuple[str, ...]] = []
        self._anchor: re.Pattern[bytes] | None = None
        # (a name from _names_of starts and ends with a word character; else only the plain search is right)
        self.word_bounded = bool(ascii_names) and all(_ascii_word(n[0]) and _ascii_word(n[-1]) for n in ascii_names)
        anchors: dict[bytes, set[str]] = {}
        for n in self.others:
            first = next(i for i, ch in enumerate(n) if not ch.isascii())
            anchors.setdefault(n[first:].encode("utf-8", "surrogatepass").translate(_LEAD_AS_ONE), set()).add(n)
        #: the names that may occur where an anchor matches: its own and those of the anchors it starts with
        self.named = {a: set().union(*(anchors[a[:i]] for i in range(1, len(a) + 1) if a[:i] in anchors))
                      for a in anchors}

    # The searches are made when first used: a run that scans only a few notes again (the others'
    # mentions reused, see _mentions_with_memo) may need none of them.
    @property
    def automaton(self) -> Any:
        """An ``ahocorasick_rs.BytesAhoCorasick`` of ``b" <spaced name> "`` (about 30 ms for 21,700 names);
        pattern ``i`` stands for the names in ``self._spelled[i]``."""
        if self._automaton is None:
            import ahocorasick_rs

            keys: dict[bytes, list[str]] = {}
            for n in sorted(self.ascii_names):
                keys.setdefault(b" " + n.encode("ascii").translate(_SPACE_NON_WORD) + b" ", []).append(n)
            self._spelled = [tuple(spelled) for spelled in keys.values()]
            self._automaton = ahocorasick_rs.BytesAhoCorasick(list(keys))
        return self._automaton

    @property
    def anchor(self) -> re.Pattern[bytes]:
        """A trie of the other names' anchors, over UTF-8 with every lead byte made ``\\x01``."""
        if self._anchor is None:
            self._anchor = re.compile(_bytes_trie(self.named) if self.named else b"(?!)")
        return self._anchor

    @property
    def plain(self) -> re.Pattern[str]:
        """``\\b<trie>\\b`` in ASCII mode, the search that the others reproduce (compiled when first used)."""
        if self._plain is None:
            self._plain = re.compile(r"\b" + _trie_pattern(self.ascii_names) + r"\b", re.ASCII)
        return self._plain

    def scan(self, lower: str, by_find: bool = False) -> tuple[list[tuple[int, int, str]], list[tuple[int, int, str]]]:
        """``(start, end, name)`` of the ASCII names (as ``\\b<trie>\\b`` finds them), then of the other names.

        ``by_find``: look the other names up with ``str.find`` instead of
        compiling a search for their anchors: for a few texts.
        """
        one_byte = lower.encode("ascii", "replace")  # a "?" for every other character
        if not self.ascii_names:
            found: list[tuple[int, int, str]] = []
        elif self.word_bounded:
            found = self._automaton_hits(lower, one_byte)
        else:  # names that do not start and end with a word character: only the plain search is right
            found = [(m.start(), m.end(), m.group()) for m in self.plain.finditer(lower)]
        if not self.others or lower.isascii():
            return found, []
        return found, self._other_hits(lower, one_byte.count(b"?"), by_find)

    def _automaton_hits(self, lower: str, one_byte: bytes) -> list[tuple[int, int, str]]:
        spaced = b" " + one_byte.translate(_SPACE_NON_WORD) + b" "
        found = self.automaton.find_matches_as_indexes(spaced, overlapping=True)
        spelled = self._spelled
        candidates: list[tuple[int, int, str]] = []
        for index, first, last in found:
            # the key " <name> " is spaced[first:last], and spaced[i + 1] is lower[i]: the name starts at first
            for name in spelled[index]:
                if lower.startswith(name, first):  # (spaced alike is not yet the same text)
                    candidates.append((first, -len(name), name))
        candidates.sort()  # leftmost, then longest
        out: list[tuple[int, int, str]] = []
        taken = -1
        for start, minus_size, name in candidates:
            if start >= taken:
                taken = start - minus_size
                out.append((start, taken, name))
        return out

    def _other_hits(self, lower: str, odd: int, by_find: bool = False) -> list[tuple[int, int, str]]:
        """``(start, end, name)`` of each other name in order, names in order (``odd``: non-ASCII characters)."""
        chars = len(lower)  # the cheaper way, in instructions (roughly): a substring test costs 2 a character,
        if by_find or len(self.others) * 2 * chars < 10 * chars + 400 * odd:  # the search 10, 400 a non-ASCII one
            present = {n for n in self.others if n in lower}
        else:  # one search, tried at each non-ASCII character
            data = lower.encode("utf-8", "surrogatepass").translate(_LEAD_AS_ONE)
            present = set()
            search = self.anchor.search
            m = search(data)
            while m is not None:
                present |= self.named[m.group()]
                m = search(data, m.start() + 1)
        out: list[tuple[int, int, str]] = []
        for n in self.others:
            if n not in present:
                continue
            size = len(n)
            i = lower.find(n)
            while i >= 0:
                end = i + size
                if (i and _UNI_WORD(lower, i - 1)) or _UNI_WORD(lower, end):  # not a whole word
                    i = lower.find(n, i + 1)
                else:
                    out.append((i, end, n))
                    i = lower.find(n, end)
        return out


_SCANNERS: dict[tuple[str, ...], _Scanner] = {}


def _scanner(names: tuple[str, ...]) -> _Scanner:
    sc = _SCANNERS.get(names)
    if sc is None:
        if len(_SCANNERS) >= 4:
            _SCANNERS.pop(next(iter(_SCANNERS)))
        sc = _SCANNERS[names] = _Scanner(names)
    return sc


# Characters that ``_TIER_MENTION_RE`` (IGNORECASE) takes for a letter of "tier" / "тир" although
# their str.lower() is not that letter; without them, a match starts where ``lower`` has the word.
_TIER_ODD = ("\u0130", "\u0131", "\u1c84", "\u1c85")


def _tier_matches(text: str, lower: str) -> Iterable[re.Match[str]]:
    """``_TIER_MENTION_RE.finditer(text)``, tried only where ``lower`` has "tier", "тир" or "tир"."""
    if any(ch in text for ch in _TIER_ODD):
        yield from _TIER_MENTION_RE.finditer(text)
        return
    starts: list[int] = []
    for word in ("tier", "тир", "tир"):
        i = lower.find(word)
        while i >= 0:
            starts.append(i)
            i = lower.find(word, i + 1)
    starts.sort()
    end = 0
    for s in starts:
        if s < end:  # inside the last match (cannot happen with these words; as finditer would)
            continue
        m = _TIER_MENTION_RE.match(text, s)
        if m is not None:
            yield m
            end = m.end()


def _skip_lines(note: "Note") -> list[tuple[int, int]]:
    """Line ranges of the note's tables and vaultkit regions (first, last), sorted and merged."""
    spans = sorted([(tb.line, tb.rows[-1].line if tb.rows else tb.line + 1) for tb in note.tables]
                   + list(note.regions))
    out: list[tuple[int, int]] = []
    for a, b in spans:
        if a > b:
            continue
        if out and a <= out[-1][1]:
            if b > out[-1][1]:
                out[-1] = (out[-1][0], b)
        else:
            out.append((a, b))
    return out


def find_mentions(techniques: list[Technique], notes: Iterable[tuple["Note", str]], *,
                  by_find: bool = False) -> list[Mention]:
    """Mentions of ``techniques`` in the texts of ``notes`` (pairs of note and its file text).

    Names and aliases match as whole words in any case, the longest name
    first (``LoRA / QLoRA`` is one mention, not two). A technique's own rows
    are not mentions: the lines of a note's tables are skipped. ``Tier N``
    counts only for the techniques that a tier table of the same note puts in
    tier ``N``.

    Parameters
    ----------
    techniques : list of Technique
        What to look for (:func:`merge_rows`).
    notes : iterable of (Note, str)
        The notes and their texts.
    by_find : bool
        Look the names up one by one instead of compiling a search for them
        all: faster for a few notes (same results).

    Returns
    -------
    list of Mention
        Per note in the given order, one mention per technique (first line,
        count, how, the text as written), sorted by technique key.

    Examples
    --------
    >>> from vaultkit.model import Note
    >>> from vaultkit.tiers import Tier
    >>> row = TechniqueRow("t.md", 0, 1, 9, Tier("3", 3, 3), "LoRA / QLoRA (adapter tuning)", [], [], [], 0)
    >>> ts = merge_rows([row])
    >>> text = "Intro\\nWe use QLoRA daily, not lora / qlora.\\nSee Tier 3 too."
    >>> [(m.note, m.line, m.count, m.via) for m in find_mentions(ts, [(Note("t.md"), text)])]
    [('t.md', 2, 3, 'alias')]
    """
    targets, own = mention_targets(techniques)
    return find_mentions_of(targets, own, notes, by_find=by_find)


def mention_targets(techniques: list[Technique]
                    ) -> tuple[dict[str, list[tuple[str, str]]], dict[str, dict[int, list[str]]]]:
    """What :func:`find_mentions` looks for, as plain data (kept between runs by :mod:`vaultkit.basis`).

    Returns
    -------
    (targets, own)
        ``targets``: each name to look for (lower-cased, spaces collapsed) →
        ``(technique key, "name" or "alias")`` pairs, in search order;
        ``own``: note path → tier number → keys of the techniques that the
        note's own tier tables put in that tier (for ``Tier N`` mentions).

    Examples
    --------
    >>> from vaultkit.tiers import Tier
    >>> row = TechniqueRow("t.md", 0, 1, 9, Tier("3", 3, 3), "LoRA / QLoRA (adapter tuning)", [], [], [], 0)
    >>> targets, own = mention_targets(merge_rows([row]))
    >>> sorted(targets)[:3], own
    (['adapter tuning', 'lora', 'lora / qlora'], {'t.md': {3: ['loraqlora']}})
    """
    targets = {n: [(t.key, via) for t, via in lst] for n, lst in _names_of(techniques).items()}
    own: dict[str, dict[int, list[str]]] = {}
    for t in techniques:
        for r in t.rows:
            for num in r.tier.numbers:
                keys = own.setdefault(r.note, {}).setdefault(num, [])
                if t.key not in keys:
                    keys.append(t.key)
    return targets, own


def find_mentions_of(targets: dict[str, list[tuple[str, str]]], own: dict[str, dict[int, list[str]]],
                     notes: Iterable[tuple["Note", str]], *, by_find: bool = False) -> list[Mention]:
    """:func:`find_mentions` with what to look for given as :func:`mention_targets` returns it."""
    return [Mention(path, *row) for path, rows in mention_rows_of(targets, own, notes, by_find=by_find)
            for row in rows]


def mention_rows_of(targets: dict[str, list[tuple[str, str]]], own: dict[str, dict[int, list[str]]],
                    notes: Iterable[tuple["Note", str]], *, by_find: bool = False
                    ) -> Iterator[tuple[str, list[tuple]]]:
    """:func:`find_mentions_of` as ``(note path, rows)``, each row a :data:`mention_row`, sorted by
    technique key; notes without mentions are left out. No :class:`Mention` is made."""
    if not targets:
        return
    scanner = _scanner(tuple(targets))
    for note, text in notes:
        if not text:
            continue
        lower = text.lower()
        if len(lower) != len(text):  # a rare character changed length: offsets must stay aligned
            lower = "".join(ch.lower() if len(ch.lower()) == 1 else ch for ch in text)
        # (start, end, name or targets): the ASCII names (in order, not overlapping), then the other
        # names, then "Tier N"; sorted by start, longest first, when the last two add any
        hits: list[tuple[int, int, Any]]
        hits, others = scanner.scan(lower, by_find)
        ordered = not others
        hits += others
        tiers_here = own.get(note.path)
        if tiers_here and ("tier" in lower or "тир" in lower):
            for m in _tier_matches(text, lower):
                ts = tiers_here.get(int(m.group(1)), [])
                if ts:
                    hits.append((m.start(), m.end(), [(key, "tier") for key in ts]))
                    ordered = False
        if not hits:
            continue
        if not ordered:
            hits.sort(key=lambda h: (h[0], -h[1]))
        skip = _skip_lines(note) if note.tables or note.regions else []
        si, nskip = 0, len(skip)
        found: dict[str, list] = {}  # key -> [line, count, via, text]
        line, prev, taken_end = 1, 0, -1
        for start, end, what in hits:
            if start < taken_end:
                continue  # inside a longer name found at an earlier or the same position
            taken_end = end
            line += text.count("\n", prev, start)
            prev = start
            if si < nskip:  # lines only grow: walk the table ranges along
                while si < nskip and skip[si][1] < line:
                    si += 1
                if si < nskip and skip[si][0] <= line:
                    continue
            for key, via in targets[what] if what.__class__ is str else what:
                m0 = found.get(key)
                if m0 is None:  # (the text as written repeats across notes: one str each)
                    found[key] = [line, 1, via, _intern(text[start:end])]
                else:
                    m0[1] += 1
        if found:
            yield note.path, [(k, *found[k]) for k in sorted(found)]


# Merging rows and finding mentions are done once per vault object: the generator's build_techniques()
# and the graph's (build_techniques(mentions=False), then vault_mentions()) share the work. The results
# live in the vault's own ``derived`` dict, and go with it: no callback runs when it is collected (a
# Ctrl-C that lands in a Python callback run then is lost: sync --watch kept watching). Each holds a
# fingerprint of what it is read from and hands out new objects each time (callers fill and change them):
#   "merge": (fingerprint, merged rows); "mentions": (fingerprint, memo entries, scanned rows);
#   "targets": (hash of the names, targets, own) as mention_targets gives them, of the last scan;
#   "changes": what mention_changes reports.


def vault_mention_targets(vault: "Vault") -> tuple[str, dict, dict] | None:
    """``(names hash, targets, own)`` of the last mention scan of ``vault`` (see :func:`mention_targets`), if any."""
    return vault.derived.get("targets")


def _vault_techniques(vault: "Vault") -> list[Technique]:
    """:func:`merge_rows` of the vault's rows, merged once per vault object while the rows stay the same."""
    rows = vault.techniques
    # the rows themselves (kept alive by the cache, so ids are not reused) and what merging reads of them
    fingerprint = tuple((id(r), r.note, r.table, r.row, r.line, r.name, r.tier.low, r.tier.high) for r in rows)
    hit = vault.derived.get("merge")
    if hit is None or hit[0] != fingerprint:
        merged = _merge_with_memo(vault, rows)
        hit = vault.derived["merge"] = (fingerprint, [(t.key, t.name, tuple(t.aliases), tuple(t.rows), t.tier)
                                                        for t in merged])
    return [Technique(key=k, name=n, aliases=list(a), rows=list(rs), tier=tier) for k, n, a, rs, tier in hit[1]]


#: Kind of :meth:`vaultkit.vault.Vault.previous_memo` holding the last run's :func:`merge_rows` result: the
#: techniques (key, name, aliases, tier) with their rows as places in ``Vault.techniques``, and a digest of
#: what merging reads of every row.
MERGE_MEMO = "merge"


def _merge_with_memo(vault: "Vault", rows: list[TechniqueRow]) -> list[Technique]:
    """:func:`merge_rows`, or the last run's merge when the rows are what merging read then (same result)."""
    if not vault.cached:
        return merge_rows(rows)
    # what merge_rows reads of the rows, in their order (not their lines: prose above a table moves them);
    # as text: marshal's bytes for equal values depend on which strings are interned or shared
    h = hashlib.sha256()
    for r in rows:
        h.update(repr((r.note, r.table, r.row, r.name, r.tier.low, r.tier.high)).encode("utf-8", "surrogatepass"))
    digest = h.hexdigest()
    memo = vault.previous_memo(MERGE_MEMO)
    if isinstance(memo, tuple) and len(memo) == 2 and memo[0] == digest:
        try:
            merged = [Technique(key=sys.intern(key), name=name, aliases=list(aliases),
                                rows=[rows[i] for i in places], tier=tier)
                      for key, name, aliases, places, tier in memo[1]]
            vault.memo_updates[MERGE_MEMO] = memo
            return merged
        except (TypeError, ValueError, IndexError):  # not what this code stores: merge again
            pass
    merged = merge_rows(rows)
    place = {id(r): i for i, r in enumerate(rows)}
    vault.memo_updates[MERGE_MEMO] = (digest, [(t.key, t.name, tuple(t.aliases), tuple(place[id(r)] for r in t.rows),
                                                t.tier) for t in merged])
    return merged


def vault_mentions(vault: "Vault", techniques: list[Technique],
                   progress: "Callable[[str, int, int], None] | None" = None) -> list[Mention]:
    """:func:`find_mentions` over the user notes of ``vault`` (cached per vault object and content).

    Parameters
    ----------
    vault : Vault
        A loaded vault; only its user notes are read.
    techniques : list of Technique
        What to look for (:func:`build_techniques` with ``mentions=False``).

    Returns
    -------
    list of Mention
        New objects on every call, also when the scan is not repeated.

    Examples
    --------
    >>> from pathlib import Path
    >>> from vaultkit.vault import Vault
    >>> v = Vault.load(Path(__file__).resolve().parent.parent / "vault")
    >>> ts = build_techniques(v, mentions=False)
    >>> first, again = vault_mentions(v, ts), vault_mentions(v, ts)
    >>> first == again and first[0] is not again[0]
    True
    """
    return [Mention(path, *row) for path, rows in vault_mention_rows(vault, techniques, progress) for row in rows]


def vault_mention_rows(vault: "Vault", techniques: list[Technique],
                       progress: "Callable[[str, int, int], None] | None" = None) -> list[tuple[str, list[tuple]]]:
    """:func:`vault_mentions` as ``(note path, rows)`` pairs: each row a :data:`mention_row` (fewer objects).

    Notes come in vault order, the rows of a note by technique key; notes
    without mentions are left out.
    """
    return [(path, unpack_mention_rows(rows) if rows.__class__ is bytes else rows)
            for path, rows in vault_packed_mentions(vault, techniques, progress)]


def vault_packed_mentions(vault: "Vault", techniques: list[Technique],
                          progress: "Callable[[str, int, int], None] | None" = None
                          ) -> list[tuple[str, "list[tuple] | bytes"]]:
    """:func:`vault_mention_rows` with the rows of each note this run did not scan still packed
    (:func:`pack_mention_rows`): for :func:`fill_mentions`, which unpacks only what it is asked to fill."""
    notes = vault.user_notes()
    fingerprint = (tuple((n.path, n.sha256, n.size, n.mtime_ns) for n in notes),
                   tuple((t.key, t.name, tuple(t.aliases), tuple((r.note, r.line, r.tier.low, r.tier.high)
                                                                  for r in t.rows))
                         for t in techniques))
    hit = vault.derived.get("mentions")
    if hit is None or hit[0] != fingerprint:
        scanned = _mentions_with_memo(vault, techniques, notes, progress)
        # the packed rows per note that the memo keeps anyway (bytes, never changed), and the rows found
        # now (tuples, never changed), serve a second call
        hit = vault.derived["mentions"] = (fingerprint, vault.memo_updates[MENTIONS_MEMO][1], scanned)
    scanned = hit[2]
    return [(path, scanned.get(path) or entry[2]) for path, entry in hit[1].items() if entry[2]]


MENTIONS_MEMO = "mentions"
#: Up to this many techniques, fill_mentions looks for their keys in the packed rows before unpacking them.
_PROBED_KEYS = 32
#: Below this many bytes of notes to scan, they are scanned in this process (no worker pool) and the
#: non-ASCII names looked up one by one (see _Scanner.scan).
FIND_BELOW_BYTES = 300_000


def _mentions_with_memo(vault: "Vault", techniques: list[Technique], notes: list["Note"],
                        progress: "Callable[[str, int, int], None] | None" = None) -> dict[str, list[tuple]]:
    """:func:`find_mentions` over ``notes``, reusing an earlier run's results for unchanged notes.

    What a note mentions depends only on its file (its SHA-256), on the names
    looked for (with the techniques and ways they name) and on which
    techniques the note's own tier tables rank in each tier. The results per
    note go to ``vault.memo_updates`` (see :meth:`vaultkit.vault.Vault.save_memos`), each as
    ``(sha256, own tiers, packed rows, digest)`` (:func:`pack_mention_rows`): a run that reuses them
    unpacks only the rows it needs, and none are marshalled again row by row when memos are saved.
    Returns the rows of the notes scanned now (already unpacked: no need to unpack them again).
    """
    targets, own = mention_targets(techniques)
    names = hashlib.sha256(repr(list(targets.items())).encode()).hexdigest()
    vault.derived["targets"] = (names, targets, own)
    own_of = {path: repr(sorted(by_num.items())) for path, by_num in own.items()}
    prev = vault.previous_memo(MENTIONS_MEMO)
    reuse: dict = prev[1] if isinstance(prev, tuple) and len(prev) == 2 and prev[0] == names else {}
    misses = []
    for n in notes:
        old = reuse.get(n.path)
        if old is None or len(old) != 4 or old[0] != n.sha256 or old[1] != own_of.get(n.path, ""):
            misses.append(n)
    fresh: dict[str, tuple[bytes, str]] = {}  # packed mention rows and their digest by note
    stale: set[str] = set()  # notes whose file no longer holds what they were parsed from
    scanned: dict[str, list[tuple]] = {}  # the same rows, unpacked
    if misses:
        # a few notes (one edited): no pool, and str.find per non-ASCII name instead of compiling their search
        by_find = sum(n.size for n in misses) < FIND_BELOW_BYTES

        pooled = None if by_find else _mentions_pooled(vault, targets, own, misses, progress)
        left = misses if pooled is None else [n for n in misses if pooled.get(n.path) is None]

        def texts() -> Iterator[tuple["Note", str]]:
            for i, n in enumerate(left):
                if progress is not None and i % 16 == 0:
                    progress("finding mentions", i, len(left))
                text = parsed_note_text(vault, n)
                if text is None:  # changed since it was parsed: scanned again by the next run
                    stale.add(n.path)
                    continue
                yield n, text

        for path, rows in mention_rows_of(targets, own, texts(), by_find=by_find):
            fresh[path] = pack_mention_rows(rows)
            scanned[path] = rows
        if pooled is not None:
            for path, found in pooled.items():
                if found is not None:
                    scanned[path], *packed = found
                    fresh[path] = tuple(packed)
    missed = {n.path for n in misses}
    no_rows = pack_mention_rows([])
    memo: dict[str, tuple] = {}
    # techniques whose mentions differ from the earlier run's (None: not known, e.g. a note added)
    changed: set[str] | None = set() if reuse and len(reuse) == len(notes) else None
    for n in notes:
        path = n.path
        if path in stale:  # kept under no hash (""): the next run finds it again; what changed is unknown
            memo[path] = ("", own_of.get(path, ""), *no_rows)
            changed = None
            continue
        if path in missed:
            packed, digest = fresh.get(path, no_rows)
            if changed is not None:
                old = reuse.get(path)
                if old is None or len(old) != 4:
                    changed = None
                elif old[3] != digest:
                    changed.update(row[0] for row in set(unpack_mention_rows(old[2])).symmetric_difference(
                        scanned.get(path, ())))
        else:
            _sha, _own, packed, digest = reuse[path]
        memo[path] = (n.sha256, own_of.get(path, ""), packed, digest)
    vault.memo_updates[MENTIONS_MEMO] = (names, memo)
    vault.derived["changes"] = changed
    return scanned


def mention_changes(vault: "Vault") -> set[str] | None:
    """Keys of the techniques whose mentions the last scan of ``vault`` found changed since the run whose memo
    it reused; ``None`` when that is not known (no memo, other names looked for, a note added or removed)."""
    return vault.derived.get("changes")


def _mentions_pooled(vault: "Vault", targets: dict, own: dict, notes: list["Note"],
                     progress: "Callable[[str, int, int], None] | None" = None
                     ) -> dict[str, tuple[list[tuple], bytes, str] | None] | None:
    """Mention rows, packed rows and their digest (:func:`pack_mention_rows`) of ``notes`` by vault path,
    found by worker processes (:func:`vaultkit.pool.mentions_in_pool`); ``None`` when the pool is not worth
    it. A note the workers could not take maps to ``None``."""
    from .pool import mentions_in_pool

    done = [0]

    def tick(k: int) -> None:
        done[0] += k
        if progress is not None:
            progress("finding mentions", done[0], len(notes))

    readable = [n for n in notes if n.sha256]  # (the rest could not be read when parsed)
    items = [(n.path, vault.root / n.path, n.sha256, _skip_lines(n)) for n in readable]
    rows = mentions_in_pool(items, targets, own, progress=tick)
    return None if rows is None else {n.path: r for n, r in zip(readable, rows)}


def build_techniques(vault: "Vault", *, mentions: bool = True,
                     progress: "Callable[[str, int, int], None] | None" = None) -> list[Technique]:
    """Every technique of the vault's tier tables, sorted by (tier, name), with their mentions.

    Parameters
    ----------
    vault : Vault
        A loaded vault (its ``techniques`` rows; generated notes are never read).
    mentions : bool
        Also scan the user's notes and fill :attr:`Technique.mentions`. Both the
        merge and the scan are cached per vault object (and content), so the
        graph built afterwards repeats neither.
    progress : callable, optional
        Called as ``progress("finding mentions", notes done, notes to scan)``.

    Returns
    -------
    list of Technique

    Examples
    --------
    >>> from pathlib import Path
    >>> from vaultkit.vault import Vault
    >>> ts = build_techniques(Vault.load(Path(__file__).resolve().parent.parent / "vault"))
    >>> [(t.tier, t.name) for t in ts][:2]
    [(1, 'Model Scaling (GPT-3→4→Qwen→Gemini)'), (2, 'Instruction Fine-Tuning (sFT)')]
    """
    techniques = _vault_techniques(vault)
    if mentions and techniques:
        fill_mentions(techniques, vault_packed_mentions(vault, techniques, progress))
    return techniques


def fill_mentions(techniques: list[Technique], rows_by_note: "Iterable[tuple[str, list[tuple] | bytes]]") -> None:
    """Put each :data:`mention_row` of :func:`vault_mention_rows` into its technique's ``mentions``, in note order.

    Rows of techniques not in ``techniques`` are passed over (fill a few techniques of many). A note's
    rows may come packed (:func:`vault_packed_mentions`).
    """
    by_key = {t.key: t.mentions.rows for t in techniques}
    # A few techniques (those whose mentions changed): unpack only the notes whose packed rows hold one of
    # their keys (a key's first use in a blob is written out in UTF-8; a match elsewhere only costs an unpack).
    probes = [key.encode("utf-8", "surrogatepass") for key in by_key] if len(by_key) <= _PROBED_KEYS else None
    for path, rows in rows_by_note:
        if rows.__class__ is bytes:
            if probes is not None and not any(probe in rows for probe in probes):
                continue
            rows = unpack_mention_rows(rows)
        for row in rows:
            found = by_key.get(row[0])
            if found is not None:
                found[path] = row
