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

import re
import weakref
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Iterable

from .tiers import Mark, TechniqueRow, technique_key

if TYPE_CHECKING:  # pragma: no cover
    from .model import Note
    from .vault import Vault

__all__ = [
    "Technique",
    "Mention",
    "technique_aliases",
    "merge_rows",
    "build_techniques",
    "find_mentions",
    "vault_mentions",
    "note_text",
]

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
    mentions : dict of str to Mention
        Notes that mention the technique outside its rows, by note path.
    """

    key: str
    name: str
    aliases: list[str] = field(default_factory=list)
    rows: list[TechniqueRow] = field(default_factory=list)
    tier: int | None = None
    mentions: dict[str, Mention] = field(default_factory=dict)

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


def _keys_of(name: str) -> set[str]:
    keys = {technique_key(name)}
    for a in technique_aliases(name):
        k = technique_key(a)
        if len(k) >= 2:
            keys.add(k)
    return {k for k in keys if k}


def merge_rows(rows: Iterable[TechniqueRow]) -> list[Technique]:
    """Group tier-table rows into techniques, sorted by (tier, name).

    Rows merge when a key of one (its name's key or an alias's key) equals a
    key of the other, unless they come from the same table.

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
    groups: list[dict[str, Any]] = []  # {"rows": [...], "keys": set, "tables": set}
    by_key: dict[str, list[int]] = {}
    for r in sorted(rows, key=_row_order):
        keys = _keys_of(r.name)
        primary = technique_key(r.name)
        table = (r.note, r.table)
        target: int | None = None
        best: tuple[int, int] | None = None
        for k in sorted(keys):
            for gi in by_key.get(k, []):
                g = groups[gi]
                if table in g["tables"]:
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
            for a in [r.name, *technique_aliases(r.name)]:
                if a != first.name and a not in aliases:
                    aliases.append(a)
        tiers = [r.tier.low for r in rs if r.tier.low is not None]
        out.append(Technique(key=technique_key(first.name), name=first.name, aliases=aliases, rows=rs,
                             tier=min(tiers) if tiers else None))
    # keys must be unique even when two unmerged groups normalise alike (same table, same name)
    seen: dict[str, int] = {}
    for t in sorted(out, key=lambda t: _row_order(t.rows[0])):
        n = seen.get(t.key, 0)
        seen[t.key] = n + 1
        if n:
            t.key = f"{t.key}-{n + 1}"
    return sorted(out, key=_technique_order)


def _technique_order(t: Technique) -> tuple:
    return (t.tier is None, t.tier if t.tier is not None else 0, t.name.casefold(), t.key)


def note_text(vault: "Vault", note: "Note") -> str:
    """The text of ``note``: :attr:`Note.text` when the parser kept it, else read from disk (``""`` on failure)."""
    text = getattr(note, "text", "")
    if text:
        return text
    try:
        data = (vault.root / note.path).read_bytes()
    except OSError:
        return ""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        return data.decode(note.encoding or "utf-8", "replace")
    except LookupError:
        return data.decode("utf-8", "replace")


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


def find_mentions(techniques: list[Technique], notes: Iterable[tuple["Note", str]]) -> list[Mention]:
    """Mentions of ``techniques`` in the texts of ``notes`` (pairs of note and its file text).

    Names and aliases match as whole words in any case, the longest name
    first (``LoRA / QLoRA`` is one mention, not two). A technique's own rows
    are not mentions: the lines of a note's tables are skipped. ``Tier N``
    counts only for the techniques that a tier table of the same note puts in
    tier ``N``.

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
    by_name: dict[str, list[tuple[Technique, str]]] = {}
    for t in techniques:
        for written in t.match_names():
            n = _EDGE_RE.sub("", written)
            if len(n) >= 3 or _is_acronym(n):
                lst = by_name.setdefault(" ".join(n.lower().split()), [])
                if all(x is not t for x, _ in lst):
                    lst.append((t, "name" if written == t.name else "alias"))
    if not by_name:
        return []
    # ASCII names: one trie-shaped pattern scans each text once; \b in ASCII mode (not look-arounds,
    # not Unicode classes) keeps the scan fast, and lets "RAG" count in "RAG-ом" too.
    ascii_names = [n for n in by_name if n.isascii()]
    pattern = re.compile(r"\b" + _trie_pattern(ascii_names) + r"\b", re.ASCII) if ascii_names else None
    # other names (Cyrillic …) are few: a substring test first, then a Unicode whole-word search
    others = [(n, re.compile(r"(?<!\w)" + re.escape(n) + r"(?!\w)")) for n in by_name if not n.isascii()]
    own: dict[str, dict[int, list[Technique]]] = {}
    for t in techniques:
        for r in t.rows:
            for num in r.tier.numbers:
                lst2 = own.setdefault(r.note, {}).setdefault(num, [])
                if t not in lst2:
                    lst2.append(t)
    out: list[Mention] = []
    for note, text in notes:
        if not text:
            continue
        lower = text.lower()
        if len(lower) != len(text):  # a rare character changed length: offsets must stay aligned
            lower = "".join(ch.lower() if len(ch.lower()) == 1 else ch for ch in text)
        hits: list[tuple[int, int, str, list[tuple[Technique, str]]]] = []
        if pattern is not None:
            hits = [(m.start(), m.end(), text[m.start():m.end()], by_name[m.group(0)]) for m in pattern.finditer(lower)]
        for n, rx in others:
            if n in lower:
                hits.extend((m.start(), m.end(), text[m.start():m.end()], by_name[n]) for m in rx.finditer(lower))
        tiers_here = own.get(note.path)
        if tiers_here and ("tier" in lower or "тир" in lower):
            for m in _TIER_MENTION_RE.finditer(text):
                ts = tiers_here.get(int(m.group(1)), [])
                if ts:
                    hits.append((m.start(), m.end(), m.group(0), [(t, "tier") for t in ts]))
        if not hits:
            continue
        hits.sort(key=lambda h: (h[0], -h[1]))
        skip = [(tb.line, tb.rows[-1].line if tb.rows else tb.line + 1) for tb in note.tables]
        found: dict[str, Mention] = {}
        line, prev, taken_end = 1, 0, -1
        for start, end, written, targets in hits:
            if start < taken_end:
                continue  # inside a longer name found at an earlier or the same position
            taken_end = end
            line += text.count("\n", prev, start)
            prev = start
            if any(a <= line <= b for a, b in skip):
                continue
            for t, via in targets:
                m0 = found.get(t.key)
                if m0 is None:
                    found[t.key] = Mention(note.path, t.key, line, 1, via, written)
                else:
                    m0.count += 1
        out.extend(found[k] for k in sorted(found))
    return out


# Mentions cost one scan of every note's text: keep the last result per vault object, so that the
# generator's build_techniques() and the graph do not scan twice. Keyed by id(vault) (a Vault is not
# hashable) with a fingerprint of the notes and the names; dropped when the vault is collected.
_MENTION_CACHE: dict[int, tuple[tuple, list[Mention]]] = {}


def vault_mentions(vault: "Vault", techniques: list[Technique]) -> list[Mention]:
    """:func:`find_mentions` over the user notes of ``vault`` (cached per vault object and content)."""
    notes = vault.user_notes()
    fingerprint = (tuple((n.path, n.sha256, n.size, n.mtime_ns) for n in notes),
                   tuple((t.key, tuple(t.match_names()), tuple((r.note, r.line) for r in t.rows))
                         for t in techniques))
    hit = _MENTION_CACHE.get(id(vault))
    if hit is not None and hit[0] == fingerprint:
        return [Mention(m.note, m.technique, m.line, m.count, m.via, m.text) for m in hit[1]]
    found = find_mentions(techniques, ((n, note_text(vault, n)) for n in notes))
    if id(vault) not in _MENTION_CACHE:
        weakref.finalize(vault, _MENTION_CACHE.pop, id(vault), None)
    _MENTION_CACHE[id(vault)] = (fingerprint, found)
    return [Mention(m.note, m.technique, m.line, m.count, m.via, m.text) for m in found]


def build_techniques(vault: "Vault", *, mentions: bool = True) -> list[Technique]:
    """Every technique of the vault's tier tables, sorted by (tier, name), with their mentions.

    Parameters
    ----------
    vault : Vault
        A loaded vault (its ``techniques`` rows; generated notes are never read).
    mentions : bool
        Also scan the user's notes and fill :attr:`Technique.mentions` (the scan
        is cached per vault, so the graph built afterwards does not repeat it).

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
    techniques = merge_rows(vault.techniques)
    if mentions and techniques:
        by_key = {t.key: t for t in techniques}
        for m in vault_mentions(vault, techniques):
            by_key[m.technique].mentions[m.note] = m
    return techniques
