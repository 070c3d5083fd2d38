"""Tier tables → technique records.

A tier table ranks techniques: a column of tiers (``Tier``, ``Rank``, ``Тир``)
plus a name, real-world uses, effectiveness marks (🟢 clear gain, ⚪ marginal,
🔴 fragile — the legend is read from the header cell when it is written there)
and tradeoff marks (💰 cost level, ❌ 🔧 📉 🧩 🧠 💡 🧨 risks) with their phrases.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any

from .codes import severity_of
from .model import Diagnostic, Note, Table

__all__ = [
    "Mark",
    "Tier",
    "TechniqueRow",
    "DEFAULT_LEGEND",
    "TRADEOFF_MEANINGS",
    "parse_tier",
    "parse_marks",
    "read_tier_tables",
    "technique_key",
    "is_tier_table",
    "display_text",
]

DEFAULT_LEGEND = {"🟢": "clear gain", "⚪": "marginal", "🔴": "fragile", "🟡": "moderate", "🟠": "weak"}
TRADEOFF_MEANINGS = {
    "💰": "cost",
    "🧨": "fragile",
    "❌": "limitation",
    "🔧": "integration work",
    "📉": "degradation risk",
    "🧩": "hand-crafting",
    "🧠": "opaque",
    "💡": "easy to corrupt",
    "⚪": "marginal",
    "🚫": "not reproducible",
    "🧱": "expensive",
    "🌀": "uncontrollable",
    "⚠": "warning",
}
KNOWN_MARKS = frozenset(DEFAULT_LEGEND) | frozenset(TRADEOFF_MEANINGS) | {"✅"}

_EMOJI = (
    "(?:[\U0001F000-\U0001FAFF\u2600-\u27BF\u2B00-\u2BFF\u2300-\u23FF\u2705\u274C](?:\uFE0F)?"
    "(?:\u200D[\U0001F000-\U0001FAFF\u2600-\u27BF](?:\uFE0F)?)*)"
)
_EMOJI_SPLIT_RE = re.compile("(" + _EMOJI + ")")  # split() keeps the marks
_LEGEND_RE = re.compile(r"(" + _EMOJI + r")\s*=\s*([^,;)]+)")
#: Header words that make a column a tier column on their own (anywhere in the header cell).
_TIER_HEADER_RE = re.compile(r"(?:^|[^\w])(?:tiers?|rank(?:ing)?|тир\w*|ранг\w*)(?:$|[^\w])", re.IGNORECASE)
#: Header texts of a first column that ranks only when its cells are tier numbers.
_WEAK_HEADERS = frozenset({"", "#", "№", "no", "no.", "n", "nr", "level", "уровень", "место", "place", "pos", "position"})
#: Words of a name column that say the rows are techniques (needed for a weak tier column).
_TECHNIQUE_WORDS = ("class", "method", "technique", "approach", "метод", "техник", "подход", "приём", "прием")
_TIER_CELL_RE = re.compile(
    r"^#?(?:[TТ]|Tier\s*|Тир\s*|Rank\s*)?(\d{1,3})\.?"
    r"(?:\s*(?:[-–—]|to|до)\s*(?:[TТ]|Tier\s*|Тир\s*)?(\d{1,3}))?\s*(\+)?\s*(?:\(([^)]*)\))?$",
    re.IGNORECASE,
)


@dataclass(frozen=True, slots=True)
class Mark:
    """One mark in a cell: the symbol, how often it repeats, its meaning and the phrase after it."""

    symbol: str
    count: int
    meaning: str
    phrase: str

    def to_dict(self) -> dict[str, Any]:
        return {"mark": self.symbol, "count": self.count, "meaning": self.meaning, "phrase": self.phrase}


@dataclass(frozen=True, slots=True)
class Tier:
    """A tier cell read as numbers: ``low``..``high`` (equal for one tier), ``open`` for ``T5+``.

    ``label`` keeps the cell text (without emphasis); ``low`` and ``high`` are
    ``None`` for a text tier such as ``Consumer (RTX 4070–4090)``; ``note`` is
    the text of a trailing parenthesis (``"1 (core)"`` → ``"core"``).

    Examples
    --------
    >>> Tier("T3–T4", 3, 4).key, Tier("T5+", 5, 5, True).key, Tier("S (best)", None, None, note="best").key
    ('3-4', '5+', 's')
    >>> Tier("T3–T4", 3, 4).numbers
    [3, 4]
    """

    label: str
    low: int | None
    high: int | None
    open: bool = False
    note: str = ""

    @property
    def number(self) -> int | None:
        """The tier number (the low end of a range), ``None`` for a text tier."""
        return self.low

    @property
    def numbers(self) -> list[int]:
        """Every tier number the cell covers (``T3–T4`` → ``[3, 4]``; at most 20)."""
        if self.low is None:
            return []
        high = self.high if self.high is not None and self.high >= self.low else self.low
        return list(range(self.low, min(high, self.low + 19) + 1))

    @property
    def text(self) -> str:
        """The label without a trailing parenthesis (``"Consumer (RTX 4070–4090)"`` → ``"Consumer"``)."""
        return re.sub(r"\s*\([^)]*\)\s*$", "", self.label).strip() or self.label

    @property
    def key(self) -> str:
        """Identity of the tier across tables: ``"3"``, ``"3-4"``, ``"5+"`` or the casefolded text."""
        if self.low is None:
            return " ".join(self.text.casefold().split())
        if self.open:
            return f"{self.low}+"
        return str(self.low) if self.high in (None, self.low) else f"{self.low}-{self.high}"


@dataclass(slots=True)
class TechniqueRow:
    """One row of a tier table: a technique as one note ranks it."""

    note: str
    table: int
    row: int
    line: int
    tier: Tier
    name: str
    uses: list[str]
    effectiveness: list[Mark]
    tradeoffs: list[Mark]
    cost: int
    cells: dict[str, str] = field(default_factory=dict)

    @property
    def key(self) -> str:
        return technique_key(self.name)

    def to_dict(self) -> dict[str, Any]:
        return {
            "note": self.note,
            "table": self.table,
            "row": self.row,
            "line": self.line,
            "tier": self.tier.low,
            "tier_label": self.tier.label,
            "name": self.name,
            "uses": self.uses,
            "effectiveness": [m.to_dict() for m in self.effectiveness],
            "tradeoffs": [m.to_dict() for m in self.tradeoffs],
            "cost": self.cost,
        }


# Tier tables repeat their cells (the same marks, tiers and names row after row, note after
# note), so the pure cell readers below keep their results by cell text. The cached values are
# immutable (str, frozen Tier and Mark), so callers may share them.
_CACHE_SIZE = 20_000
_cached = functools.lru_cache(maxsize=_CACHE_SIZE)


def _plain_text(cell: str) -> str:
    s = cell.replace("**", "").replace("__", "").strip()
    if s.startswith("*") and s.endswith("*") and len(s) > 1:
        s = s[1:-1]
    return s.replace("\\|", "|").strip()


_plain = _cached(_plain_text)
_WIKILINK_IN_CELL_RE = re.compile(r"!?\[\[([^\[\]|#^]*)(?:[#^][^\[\]|]*)?(?:\\?\|([^\[\]]*))?\]\]")
_MDLINK_IN_CELL_RE = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")


def display_text(cell: str) -> str:
    """A cell as text to show: emphasis, wikilink and Markdown-link syntax and ``<br>`` removed.

    >>> display_text("**[[LoRA Notes|LoRA]]** / [QLoRA](https://x.org)<br>tuning")
    'LoRA / QLoRA tuning'
    >>> display_text("[[Folder/RAG#Setup]]")
    'Folder/RAG'
    """
    return _display_text(cell)


@_cached
def _display_text(cell: str) -> str:
    s = _BR_RE.sub(" ", cell)
    s = _WIKILINK_IN_CELL_RE.sub(lambda m: (m.group(2) or m.group(1)).strip(), s)
    s = _MDLINK_IN_CELL_RE.sub(lambda m: m.group(1).strip(), s)
    return " ".join(_plain(s).split())


_BR_RE = re.compile(r"<br\s*/?>", re.IGNORECASE)
_TRAILING_PAREN_RE = re.compile(r"\(([^)]*)\)\s*$")
_USES_SPLIT_RE = re.compile(r",(?![^()]*\))")  # commas outside parentheses


def parse_tier(cell: str) -> Tier:
    """Read a tier cell.

    Accepts ``1``, ``**1**``, ``T0``, ``**T3**``, ``Tier 2``, ``#4``, ``T3–T4``
    (a range), ``T5+`` (open-ended), ``1 (core)`` and text tiers such as
    ``S (best)`` (``low`` is ``None`` then).

    Examples
    --------
    >>> parse_tier("**T3**")
    Tier(label='T3', low=3, high=3, open=False, note='')
    >>> parse_tier("T3–T4").high, parse_tier("T5+").open, parse_tier("S (best)").low
    (4, True, None)
    >>> parse_tier("**1**").low, parse_tier("T0").low, parse_tier("2 (core)").note
    (1, 0, 'core')
    >>> parse_tier("Consumer (RTX 4070–4090)").note
    'RTX 4070–4090'
    """
    return _read_tier(cell)


@_cached
def _read_tier(cell: str) -> Tier:
    text = _plain(cell)
    m = _TIER_CELL_RE.match(text)
    if not m:
        pm = _TRAILING_PAREN_RE.search(text)
        return Tier(text, None, None, False, pm.group(1).strip() if pm else "")
    low = int(m.group(1))
    high = int(m.group(2)) if m.group(2) else low
    if high < low:
        low, high = high, low
    return Tier(text, low, high, bool(m.group(3)), (m.group(4) or "").strip())


def parse_legend(header: str) -> dict[str, str]:
    """Marks defined in a header cell such as ``Effectiveness (🟢=clear gain, ⚪=marginal)``.

    >>> parse_legend("Effectiveness (🟢=clear gain, ⚪=marginal, 🔴=fragile)")["🔴"]
    'fragile'
    """
    return {m.group(1).replace("\ufe0f", ""): m.group(2).strip() for m in _LEGEND_RE.finditer(header)}


def parse_marks(cell: str, meanings: dict[str, str]) -> list[Mark]:
    """Split a cell into marks with phrases; repeated symbols count as intensity.

    Examples
    --------
    >>> [(m.symbol, m.count, m.phrase) for m in parse_marks("💰💰💰, 🧠 opaque", TRADEOFF_MEANINGS)]
    [('💰', 3, ''), ('🧠', 1, 'opaque')]
    >>> [(m.symbol, m.phrase) for m in parse_marks("🟢 throughput ↑, ⚪ consistency ↓", DEFAULT_LEGEND)]
    [('🟢', 'throughput ↑'), ('⚪', 'consistency ↓')]
    """
    return [_mark(symbol, count, meanings.get(symbol, TRADEOFF_MEANINGS.get(symbol, "")), phrase)
            for symbol, count, phrase in _mark_parts(cell)]


@_cached
def _mark(symbol: str, count: int, meaning: str, phrase: str) -> Mark:
    """The one :class:`Mark` with these fields (they are immutable, so rows share them)."""
    return Mark(symbol, count, meaning, phrase)


@_cached
def _mark_parts(cell: str) -> tuple[tuple[str, int, str], ...]:
    """``(symbol, count, phrase)`` of each mark in ``cell``, as :func:`parse_marks` reads them."""
    return tuple(_split_marks(_plain(cell)))


def _split_marks(text: str) -> list[tuple[str, int, str]]:
    # [text, mark, text, mark, ..., text]: the text after a mark runs to the next mark
    parts = _EMOJI_SPLIT_RE.split(text)
    n = len(parts)
    if n == 1:
        return []
    if "\ufe0f" in text:
        parts[1::2] = [p.replace("\ufe0f", "") for p in parts[1::2]]
    marks: list[tuple[str, int, str]] = []
    k = 1
    while k < n:
        symbol = parts[k]
        count = 1
        while k + 2 < n and not parts[k + 1] and parts[k + 2] == symbol:  # the same mark again, adjacent
            k += 2
            count += 1
        phrase = parts[k + 1].strip().strip(",;+").strip()
        if phrase.endswith(","):
            phrase = phrase[:-1].strip()
        marks.append((symbol, count, phrase))
        k += 2
    return marks


def technique_key(name: str) -> str:
    """Identity of a technique across notes: casefolded letters and digits, no parenthetical.

    >>> technique_key("LoRA / QLoRA (adapter tuning)") == technique_key("LoRA/QLoRA")
    True
    """
    base = re.sub(r"\([^)]*\)", "", _plain(name))
    base = unicodedata.normalize("NFKC", base).casefold()
    key = "".join(ch for ch in base if ch.isalnum())
    return key or "".join(ch for ch in unicodedata.normalize("NFKC", name).casefold() if ch.isalnum())


def _column(header: list[str], patterns: tuple[str, ...], exclude: set[int]) -> int | None:
    for i, h in enumerate(header):
        if i in exclude:
            continue
        low = _plain(h).casefold()
        if any(p in low for p in patterns):
            return i
    return None


def is_tier_table(table: Table) -> int | None:
    """Index of the tier column when ``table`` ranks things, else ``None``.

    A column is a tier column when its header names a tier or rank (``Tier``,
    ``GPU Tier``, ``Rank``, ``Тир …``, ``Ранг``), or when it is the first
    column, its header is empty or a numbering sign (``#``, ``№``, ``Level`` …),
    every cell is a tier number and the table ranks techniques (a header such
    as ``Method`` or ``Метод/Подход``, or a heading above it naming tiers).

    Examples
    --------
    >>> from vaultkit.model import Table, TableRow
    >>> is_tier_table(Table(["Tier", "Method"], [TableRow(["1", "x"], 3)], 1))
    0
    >>> rows = [TableRow(["1", "a"], 3), TableRow(["2", "b"], 4)]
    >>> is_tier_table(Table(["№", "Метод/Подход"], rows, 1)), is_tier_table(Table(["№", "Область"], rows, 1))
    (0, None)
    """
    for i, h in enumerate(table.header):
        if _TIER_HEADER_RE.search(_plain(h)):
            return i
    if not table.header or len(table.rows) < 2:
        return None
    if _plain(table.header[0]).casefold() not in _WEAK_HEADERS:
        return None
    if not all(r.cells and parse_tier(r.cells[0]).low is not None for r in table.rows):
        return None
    ranks_techniques = any(
        any(w in _plain(h).casefold() for w in _TECHNIQUE_WORDS) for h in table.header[1:]
    ) or bool(table.heading and _TIER_HEADER_RE.search(table.heading))
    return 0 if ranks_techniques else None


def pack_tier_tables(rows: list[TechniqueRow], diagnostics: list[Diagnostic]) -> tuple:
    """What :func:`read_tier_tables` returned for one note, as plain values :mod:`marshal` writes.

    The note's path is left out (:func:`unpack_tier_tables` gets it).

    Examples
    --------
    >>> from vaultkit.model import Note, Table, TableRow
    >>> t = Table(["Tier", "Method", "Tradeoffs (💰=cost)"], [TableRow(["T1", "RAG", "💰💰 slow"], 3)], 1)
    >>> found = read_tier_tables(Note("n.md", tables=[t]))
    >>> unpack_tier_tables("n.md", pack_tier_tables(*found)) == found
    True
    """
    return (
        tuple((r.table, r.row, r.line, (r.tier.label, r.tier.low, r.tier.high, r.tier.open, r.tier.note), r.name,
               r.uses, tuple((m.symbol, m.count, m.meaning, m.phrase) for m in r.effectiveness),
               tuple((m.symbol, m.count, m.meaning, m.phrase) for m in r.tradeoffs), r.cost, r.cells)
              for r in rows),
        tuple((d.code, d.message, d.line, d.col, str(d.severity)) for d in diagnostics),
    )


def unpack_tier_tables(path: str, packed: tuple) -> tuple[list[TechniqueRow], list[Diagnostic]]:
    """The rows and diagnostics :func:`pack_tier_tables` packed, for the note at vault path ``path``.

    Raises
    ------
    TypeError, ValueError
        When ``packed`` is not what :func:`pack_tier_tables` makes.
    """
    rows, diags = packed
    return (
        [TechniqueRow(path, table, row, line, Tier(*tier), name, list(uses), [Mark(*m) for m in eff],
                      [Mark(*m) for m in trade], cost, dict(cells))
         for table, row, line, tier, name, uses, eff, trade, cost, cells in rows],
        [Diagnostic(code, message, path, line, col, severity) for code, message, line, col, severity in diags],
    )


def read_tier_tables(note: Note) -> tuple[list[TechniqueRow], list[Diagnostic]]:
    """Technique rows of every tier table in ``note`` plus tier-table diagnostics.

    Every body row with a name becomes a :class:`TechniqueRow` with its note,
    table index, 1-based row number and file line. Legends written in any
    header cell (``(🟢=clear gain, ⚪=marginal)``) give the marks their
    meanings; repeated marks (``💰💰💰``) count as intensity.

    Diagnostics: ``VK301`` tier not a number (only in a table whose other
    tiers are numbers: a table of text tiers is fine), ``VK302`` duplicate tier
    in one table, ``VK303`` unknown mark, ``VK304`` ragged row (cell count
    differs from the header), ``VK305`` a technique named twice in one table,
    ``VK306`` a row with cells but no name.

    Parameters
    ----------
    note : Note
        A parsed note (its ``tables``).

    Returns
    -------
    rows : list of TechniqueRow
    diagnostics : list of Diagnostic

    Examples
    --------
    >>> from vaultkit.model import Note, Table, TableRow
    >>> t = Table(["Tier", "Method", "Tradeoffs (💰=cost)"],
    ...           [TableRow(["**T1**", "Scaling", "💰💰💰"], 3), TableRow(["T2–T3", "RAG"], 4)], 1)
    >>> rows, diags = read_tier_tables(Note("n.md", tables=[t]))
    >>> [(r.tier.key, r.name, r.cost) for r in rows], [d.code for d in diags]
    ([('1', 'Scaling', 3), ('2-3', 'RAG', 0)], ['VK304'])
    """
    rows_out: list[TechniqueRow] = []
    diags: list[Diagnostic] = []
    path = note.path
    for table in note.tables:
        if note.regions and note.in_region(table.line):
            continue  # a table vaultkit wrote into the note (the cost-to-value region): not the user's ranking
        tier_col = is_tier_table(table)
        if tier_col is None:
            continue
        header = table.header
        used = {tier_col}
        name_col = _column(header, _TECHNIQUE_WORDS + ("name", "название", "model", "модель"), used)
        if name_col is None:
            name_col = next((i for i in range(len(header)) if i not in used), None)
        if name_col is None:
            continue
        used.add(name_col)
        use_col = _column(header, ("use", "примен", "example", "where", "adoption", "пример"), used)
        if use_col is not None:
            used.add(use_col)
        eff_col = _column(header, ("effective", "эффект", "impact", "value", "gain", "результат"), used)
        if eff_col is not None:
            used.add(eff_col)
        trade_col = _column(header, ("tradeoff", "trade-off", "trade off", "cost", "risk", "компромисс", "минус",
                                     "стоимост", "риск", "limiting"), used)
        legend = dict(DEFAULT_LEGEND)
        for h in header:
            legend.update(parse_legend(h))
        if eff_col is not None:
            legend.update(parse_legend(header[eff_col]))
        plain_header = [_plain(h) for h in header]
        parsed = [(row, parse_tier(row.cells[tier_col] if tier_col < len(row.cells) else "")) for row in table.rows]
        numeric_table = any(t.low is not None for _, t in parsed)
        seen_tiers: dict[str, int] = {}
        seen_names: dict[str, int] = {}  # technique key -> line of its first row
        for r_idx, (row, tier) in enumerate(parsed, start=1):
            cells = row.cells
            if len(cells) != len(header):
                diags.append(Diagnostic("VK304", f"table row has {len(cells)} cells, the header has {len(header)}",
                                        path, row.line, 0, severity_of("VK304")))

            n_cells = len(cells)
            if tier.low is None:
                if numeric_table:
                    diags.append(Diagnostic("VK301", f"tier '{tier.label}' is not a number", path, row.line, 0,
                                            severity_of("VK301")))
            elif tier.key in seen_tiers:
                diags.append(Diagnostic("VK302", f"tier {tier.label} appears twice in this table "
                                        f"(first on line {seen_tiers[tier.key]})", path, row.line, 0,
                                        severity_of("VK302")))
            else:
                seen_tiers[tier.key] = row.line
            name = display_text(cells[name_col] if name_col < n_cells else "")
            key = technique_key(name) if name else ""
            if not key:  # (no letter or digit: "", "..", "—", a placeholder)
                if any(display_text(c) for c in cells):  # (a row left wholly empty is a spacer)
                    shown = f" (only '{name}')" if name else ""
                    diags.append(Diagnostic("VK306", f"row has no technique name{shown}: left out of the tiers",
                                            path, row.line, 0, severity_of("VK306")))
                continue
            first = seen_names.setdefault(key, row.line)
            if first != row.line:
                diags.append(Diagnostic("VK305", f"technique '{name}' appears twice in this table (first on line "
                                        f"{first}): one technique, its rows merged", path, row.line, 0,
                                        severity_of("VK305")))
            eff = parse_marks(cells[eff_col] if eff_col < n_cells else "", legend) if eff_col is not None else []
            # a tradeoff mark means what TRADEOFF_MEANINGS says, else what the legend says
            trade = [_mark(symbol, count, TRADEOFF_MEANINGS[symbol] if symbol in TRADEOFF_MEANINGS
                           else legend.get(symbol, ""), phrase)
                     for symbol, count, phrase in _mark_parts(cells[trade_col] if trade_col < n_cells else "")
                     ] if trade_col is not None else []
            for m in eff + trade:
                if m.symbol not in KNOWN_MARKS and m.symbol not in legend:
                    diags.append(Diagnostic("VK303", f"unknown mark {m.symbol} (not in the legend or the known set)",
                                            path, row.line, 0, severity_of("VK303")))
            cost = min(5, sum(m.count for m in trade if m.symbol == "💰"))
            uses = ([u.strip() for u in _USES_SPLIT_RE.split(_plain(cells[use_col] if use_col < n_cells else ""))]
                    if use_col is not None else [])
            rows_out.append(
                TechniqueRow(
                    note=path,
                    table=table.index,
                    row=r_idx,
                    line=row.line,
                    tier=tier,
                    name=name,
                    uses=[u for u in uses if u],
                    effectiveness=eff,
                    tradeoffs=trade,
                    cost=cost,
                    cells=dict(zip(plain_header, cells)),
                )
            )
    return rows_out, diags
