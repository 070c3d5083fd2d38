"""Tier tables → technique records.

A tier table ranks techniques: a column of tiers (``Tier``, ``Rank``, ``Тир``)
plus a name, real-world uses, effectiveness marks (🟢 clear gain, ⚪ marginal,
🔴 fragile — the legend is read from the header cell when it is written there)
and tradeoff marks (💰 cost level, ❌ 🔧 📉 🧩 🧠 💡 🧨 risks) with their phrases.
"""

from __future__ import annotations

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

_EMOJI_RE = re.compile(
    "(?:[\U0001F000-\U0001FAFF\u2600-\u27BF\u2B00-\u2BFF\u2300-\u23FF\u2705\u274C](?:\uFE0F)?"
    "(?:\u200D[\U0001F000-\U0001FAFF\u2600-\u27BF](?:\uFE0F)?)*)"
)
_LEGEND_RE = re.compile(r"(" + _EMOJI_RE.pattern + r")\s*=\s*([^,;)]+)")
_TIER_HEADER_RE = re.compile(r"^(?:tier|rank|тир|ранг|уровень|level)\b", re.IGNORECASE)
_TIER_CELL_RE = re.compile(
    r"^(?:T|Tier\s*|Тир\s*)?(\d{1,3})(?:\s*[-–—]\s*(?:T|Tier\s*)?(\d{1,3}))?\s*(\+)?$", re.IGNORECASE
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

    ``label`` keeps the cell text; ``low`` is ``None`` for a text tier.
    """

    label: str
    low: int | None
    high: int | None
    open: bool = False

    @property
    def number(self) -> int | None:
        return self.low


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


def _plain(cell: str) -> str:
    s = cell.replace("**", "").replace("__", "").strip()
    if s.startswith("*") and s.endswith("*") and len(s) > 1:
        s = s[1:-1]
    return s.replace("\\|", "|").strip()


def parse_tier(cell: str) -> Tier:
    """Read a tier cell.

    Examples
    --------
    >>> parse_tier("**T3**")
    Tier(label='T3', low=3, high=3, open=False)
    >>> parse_tier("T3–T4").high, parse_tier("T5+").open, parse_tier("S (best)").low
    (4, True, None)
    """
    text = _plain(cell)
    m = _TIER_CELL_RE.match(text)
    if not m:
        return Tier(text, None, None)
    low = int(m.group(1))
    high = int(m.group(2)) if m.group(2) else low
    return Tier(text, low, high, bool(m.group(3)))


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
    text = _plain(cell)
    found = list(_EMOJI_RE.finditer(text))
    if not found:
        return []
    marks: list[Mark] = []
    i = 0
    while i < len(found):
        m = found[i]
        symbol = m.group(0).replace("\ufe0f", "")
        count = 1
        end = m.end()
        while i + 1 < len(found) and found[i + 1].start() == end and found[i + 1].group(0).replace("\ufe0f", "") == symbol:
            i += 1
            count += 1
            end = found[i].end()
        nxt = found[i + 1].start() if i + 1 < len(found) else len(text)
        phrase = text[end:nxt].strip().strip(",;+").strip()
        if phrase.endswith(","):
            phrase = phrase[:-1].strip()
        marks.append(Mark(symbol, count, meanings.get(symbol, TRADEOFF_MEANINGS.get(symbol, "")), phrase))
        i += 1
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
    """Index of the tier column when ``table`` ranks things, else ``None``."""
    for i, h in enumerate(table.header):
        if _TIER_HEADER_RE.match(_plain(h)):
            return i
    if table.rows and len(table.rows) >= 2 and all(
        r.cells and parse_tier(r.cells[0]).low is not None for r in table.rows
    ) and _plain(table.header[0]) in ("", "#", "№", "No", "N"):
        return 0
    return None


def read_tier_tables(note: Note) -> tuple[list[TechniqueRow], list[Diagnostic]]:
    """Technique rows of every tier table in ``note`` plus tier-table diagnostics.

    Diagnostics: ``VK301`` tier not a number, ``VK302`` duplicate tier in one
    table, ``VK303`` unknown mark, ``VK304`` ragged row (cell count differs from
    the header).
    """
    rows_out: list[TechniqueRow] = []
    diags: list[Diagnostic] = []
    path = note.path
    for table in note.tables:
        tier_col = is_tier_table(table)
        if tier_col is None:
            continue
        header = table.header
        used = {tier_col}
        name_col = _column(header, ("class", "method", "technique", "name", "approach", "метод", "техник", "название"), used)
        if name_col is None:
            name_col = tier_col + 1 if tier_col + 1 < len(header) else None
        if name_col is None:
            continue
        used.add(name_col)
        use_col = _column(header, ("use", "примен", "example", "where", "adoption"), used)
        if use_col is not None:
            used.add(use_col)
        eff_col = _column(header, ("effective", "эффектив", "impact", "value", "gain"), used)
        if eff_col is not None:
            used.add(eff_col)
        trade_col = _column(header, ("tradeoff", "trade-off", "trade off", "cost", "risk", "компромисс", "минус"), used)
        legend = dict(DEFAULT_LEGEND)
        if eff_col is not None:
            legend.update(parse_legend(header[eff_col]))
        seen_tiers: dict[tuple, int] = {}
        for r_idx, row in enumerate(table.rows, start=1):
            cells = row.cells
            if len(cells) != len(header):
                diags.append(Diagnostic("VK304", f"table row has {len(cells)} cells, the header has {len(header)}",
                                        path, row.line, 0, severity_of("VK304")))
            def cell(i: int | None) -> str:
                return cells[i] if i is not None and i < len(cells) else ""
            tier = parse_tier(cell(tier_col))
            if tier.low is None:
                diags.append(Diagnostic("VK301", f"tier '{tier.label}' is not a number", path, row.line, 0,
                                        severity_of("VK301")))
            else:
                key = (tier.low, tier.high, tier.open)
                if key in seen_tiers:
                    diags.append(Diagnostic("VK302", f"tier {tier.label} appears twice in this table "
                                            f"(first on line {seen_tiers[key]})", path, row.line, 0,
                                            severity_of("VK302")))
                else:
                    seen_tiers[key] = row.line
            name = _plain(cell(name_col))
            if not name:
                continue
            eff = parse_marks(cell(eff_col), legend) if eff_col is not None else []
            trade = parse_marks(cell(trade_col), {**TRADEOFF_MEANINGS, **legend}) if trade_col is not None else []
            trade = [Mark(m.symbol, m.count, TRADEOFF_MEANINGS.get(m.symbol, m.meaning), m.phrase) for m in trade]
            for m in eff + trade:
                if m.symbol not in KNOWN_MARKS and m.symbol not in legend:
                    diags.append(Diagnostic("VK303", f"unknown mark {m.symbol} (not in the legend or the known set)",
                                            path, row.line, 0, severity_of("VK303")))
            cost = min(5, sum(m.count for m in trade if m.symbol == "💰"))
            uses = [u.strip() for u in re.split(r",(?![^()]*\))", _plain(cell(use_col)))] if use_col is not None else []
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
                    cells={_plain(h): c for h, c in zip(header, cells)},
                )
            )
    return rows_out, diags
