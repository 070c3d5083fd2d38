"""VK3xx: tier tables (the tables that rank techniques by tier).

The tier reader (:func:`vaultkit.tiers.read_tier_tables`) finds the tables and
emits these codes. A table whose tier column holds no number at all (a
``Level`` column of ``Sentence-level``, ``Chapter``…) is not ranking anything:
its rows get no VK301 or VK303 findings.
"""

from __future__ import annotations

from collections.abc import Iterator

from ..model import Diagnostic, Note
from ..tiers import is_tier_table, parse_tier
from .base import LintContext, rule


def _text_tier_rows(note: Note) -> set[int]:
    """Lines of rows in tables whose tier column holds no numeric tier at all."""
    lines: set[int] = set()
    for table in note.tables:
        col = is_tier_table(table)
        if col is None:
            continue
        cells = [r.cells[col] if col < len(r.cells) else "" for r in table.rows]
        if not any(parse_tier(c).low is not None for c in cells):
            lines.update(r.line for r in table.rows)
    return lines


def _tier_findings(ctx: LintContext, code: str, skip_text_tables: bool) -> Iterator[Diagnostic]:
    for note in ctx.notes:
        found = [d for d in note.diagnostics if d.code == code]
        if not found:
            continue
        skip = _text_tier_rows(note) if skip_text_tables else set()
        for d in found:
            if d.line not in skip:
                yield d


@rule("VK301")
def tier_not_a_number(ctx: LintContext) -> Iterator[Diagnostic]:
    """A tier cell that cannot be read as a tier number.

    What it checks
    --------------
    In a tier table (a column headed ``Tier``, ``Rank``, ``Тир``, ``Level``…),
    each tier cell must read as ``T3``, ``3``, ``Tier 3``, a range ``T3–T4`` or
    an open tier ``T5+``. Tables whose tier column holds no number at all are
    taken to be ordinary tables and are skipped.

    Why it matters
    --------------
    A row whose tier cannot be read is left out of the tier notes that
    ``vaultkit sync`` writes, or lands in the wrong one.

    Example
    -------
    ::

        | Tier | Technique |
        |------|-----------|
        | T1   | Scaling   |
        | top  | RAG       |

    Instead
    -------
    ::

        | T2   | RAG       |

    Fix
    ---
    No automatic fix: write the intended tier number.
    """
    yield from _tier_findings(ctx, "VK301", True)


@rule("VK302")
def duplicate_tier(ctx: LintContext) -> Iterator[Diagnostic]:
    """The same tier appears twice in one tier table.

    What it checks
    --------------
    Two rows of one tier table with the same tier (``T3`` twice, or the same
    range). The message gives the line of the first one.

    Why it matters
    --------------
    Tier tables in this vault rank one technique per tier; a repeated tier is
    usually a copy-paste slip that leaves another tier empty.

    Example
    -------
    ::

        | T3 | LoRA    |
        | T3 | Prompts |

    Instead
    -------
    ::

        | T3 | LoRA    |
        | T4 | Prompts |

    Fix
    ---
    No automatic fix: renumber by hand. If two techniques really share a tier,
    suppress the finding with ``%% vaultkit-ignore VK302 %%`` on the row.
    """
    yield from _tier_findings(ctx, "VK302", False)


@rule("VK303")
def unknown_mark(ctx: LintContext) -> Iterator[Diagnostic]:
    """An effectiveness or tradeoff mark that is neither known nor defined in the table's legend.

    What it checks
    --------------
    Emoji marks in the effectiveness and tradeoff cells of a tier table. Known
    marks: 🟢 🟡 🟠 ⚪ 🔴 ✅ for effectiveness and 💰 🧨 ❌ 🔧 📉 🧩 🧠 💡 🚫 🧱
    🌀 ⚠ for tradeoffs; a header cell such as ``Effectiveness (🟢=clear gain,
    🟣=new)`` adds its own marks.

    Why it matters
    --------------
    An unknown mark has no meaning in the generated technique notes, so the
    information it carries is dropped.

    Example
    -------
    ::

        | Effectiveness | … |
        | 🟣 throughput  | … |

    Instead
    -------
    ::

        | Effectiveness (🟣=experimental) | … |
        | 🟣 throughput                    | … |

    Fix
    ---
    No automatic fix: define the mark in the header or use a known one.
    """
    yield from _tier_findings(ctx, "VK303", True)


@rule("VK304")
def ragged_row(ctx: LintContext) -> Iterator[Diagnostic]:
    """A table row with more or fewer cells than the header.

    What it checks
    --------------
    Rows of a tier table whose cell count differs from the header's, often
    because a cell contains an unescaped ``|`` (write ``\\|``, also inside
    ``[[Note\\|alias]]``).

    Why it matters
    --------------
    Obsidian drops extra cells and leaves missing ones empty, so values shift
    into the wrong column: a tradeoff ends up as effectiveness, a cost is lost.

    Example
    -------
    ::

        | Tier | Technique | Uses |
        |------|-----------|------|
        | T1   | Scaling | GPT-4 | Claude |

    Instead
    -------
    ::

        | T1   | Scaling   | GPT-4, Claude |

    Fix
    ---
    No automatic fix: decide which cells belong together.
    """
    yield from _tier_findings(ctx, "VK304", False)


@rule("VK305")
def duplicate_technique(ctx: LintContext) -> Iterator[Diagnostic]:
    """The same technique named on two rows of one tier table.

    What it checks
    --------------
    Two rows of one tier table whose names are the same technique (the same
    letters and digits, case and punctuation aside, a parenthetical aside). The
    message gives the line of the first one.

    Why it matters
    --------------
    A technique is ranked once per table; the second row is usually a
    copy-paste slip. ``vaultkit sync`` treats both rows as one technique (one
    technique note, the rows merged), so the second row's tier and marks may
    not show where you expect.

    Example
    -------
    ::

        | T1 | Alpha Method | 🟢 gain |
        | T2 | alpha method | ⚪ ok   |

    Instead
    -------
    ::

        | T1 | Alpha Method | 🟢 gain |
        | T2 | Beta Method  | ⚪ ok   |

    Fix
    ---
    No automatic fix: delete the extra row or rename it.
    """
    yield from _tier_findings(ctx, "VK305", False)


@rule("VK306")
def unnamed_row(ctx: LintContext) -> Iterator[Diagnostic]:
    """A tier-table row with cells filled in but no technique name.

    What it checks
    --------------
    Rows of a tier table whose name cell is empty, or holds no letter or digit
    (``..``, ``—``: a placeholder), while another cell holds something (a row
    left wholly empty is a spacer and is not reported).

    Why it matters
    --------------
    A row without a name is no technique: ``vaultkit sync`` leaves it out of
    the tiers, the technique notes and the cost-to-value ranking, and what
    its other cells say is lost from them.

    Example
    -------
    ::

        | T7 |  | no name | ⚪ ok |

    Instead
    -------
    ::

        | T7 | Gamma Method | no name | ⚪ ok |

    Fix
    ---
    No automatic fix: name the technique, or delete the row.
    """
    yield from _tier_findings(ctx, "VK306", False)
