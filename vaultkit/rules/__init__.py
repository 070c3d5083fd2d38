"""The lint rule registry: every code of :mod:`vaultkit.codes` mapped to its rule.

Built from an explicit list of rule modules (as yamllint does). Codes are
selected by exact code or prefix (``VK1`` = every link rule, ``VK`` or ``ALL``
= everything); renamed codes keep working through :data:`REDIRECTS`.

Examples
--------
>>> get("VK101").name
'unresolved-link'
>>> select_codes(["VK1"], ["VK105"])[:2]
['VK101', 'VK102']
>>> matches("VK101", ["VK1"]), matches("VK201", ["VK1"])
(True, False)
"""

from __future__ import annotations

from ..codes import CODES
from . import files, generated, links, properties, tiers  # noqa: F401  (registers the rules)
from .base import DOC_HEADINGS, RULE_FUNCTIONS, LintContext, Rule

__all__ = ["REGISTRY", "REDIRECTS", "Rule", "LintContext", "DOC_HEADINGS", "get", "matches",
           "select_codes", "check_patterns", "UnknownRuleError"]

#: code → Rule, in code order.
REGISTRY: dict[str, Rule] = dict(sorted(RULE_FUNCTIONS.items()))

#: Old code → current code, for renamed rules (none yet).
REDIRECTS: dict[str, str] = {}

_missing = sorted(set(CODES) - set(REGISTRY))
if _missing:  # pragma: no cover - a programmer mistake caught at import
    raise RuntimeError(f"codes without a rule: {', '.join(_missing)}")


class UnknownRuleError(KeyError):
    """A code or prefix that matches no registered rule."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else "unknown rule"


def _canon(pattern: str) -> str:
    p = pattern.strip().upper()
    return REDIRECTS.get(p, p)


def get(code: str) -> Rule:
    """The rule registered under ``code`` (or its redirect).

    Raises
    ------
    UnknownRuleError
        When no rule has that code.
    """
    key = _canon(code)
    if key not in REGISTRY:
        raise UnknownRuleError(f"unknown rule code '{code}' (see 'vaultkit rule --all')")
    return REGISTRY[key]


def matches(code: str, patterns) -> bool:
    """Whether ``code`` is selected by one of ``patterns`` (codes, prefixes or ``ALL``)."""
    for p in patterns:
        p = _canon(p)
        if p == "ALL" or code.startswith(p):
            return True
    return False


def check_patterns(patterns, what: str = "code") -> None:
    """Raise :class:`UnknownRuleError` for a pattern that selects no rule."""
    for p in patterns:
        c = _canon(p)
        if c != "ALL" and not any(code.startswith(c) for code in REGISTRY):
            raise UnknownRuleError(f"unknown rule {what} '{p}' (codes look like VK101; prefixes like VK1)")


def select_codes(select=None, ignore=None) -> list[str]:
    """Codes chosen by ``select`` (default: all) minus ``ignore``, in code order.

    A code that ``select`` names more specifically than ``ignore`` stays
    selected (``--select VK101 --ignore VK1`` keeps VK101), as in ruff.
    """
    select = list(select) if select else ["ALL"]
    ignore = list(ignore or [])
    check_patterns(select)
    check_patterns(ignore)

    def best(code: str, patterns) -> int:
        lengths = [(0 if _canon(p) == "ALL" else len(_canon(p))) for p in patterns
                   if _canon(p) == "ALL" or code.startswith(_canon(p))]
        return max(lengths) if lengths else -1

    out = []
    for code in REGISTRY:
        s = best(code, select)
        if s < 0:
            continue
        if best(code, ignore) >= s and best(code, ignore) >= 0:
            continue
        out.append(code)
    return out


def rules_markdown() -> str:
    """Markdown reference of every rule (the block between the markers in ``docs/lint.md``)."""
    parts = ["| Code | Name | Severity | Fix | Summary |", "|---|---|---|---|---|"]
    for r in REGISTRY.values():
        parts.append(f"| [{r.code}](#{r.code.lower()}-{r.name}) | `{r.name}` | {r.severity} | {r.fix} | "
                     f"{r.summary.replace('|', chr(92) + '|')} |")
    parts.append("")
    for r in REGISTRY.values():
        parts.append(f"### {r.code} {r.name}")
        parts.append("")
        parts.append(f"*Default severity: {r.severity}. Fix: {r.fix}.* {r.summary}")
        parts.append("")
        parts.append(_doc_markdown(r.doc))
        parts.append("")
    return "\n".join(parts).rstrip() + "\n"


def _doc_markdown(doc: str) -> str:
    """Turn a rule doc (underlined headings, ``::`` literal blocks) into Markdown."""
    lines = doc.splitlines()
    out: list[str] = []
    code: list[str] | None = None

    def close() -> None:
        nonlocal code
        if code is not None:
            while code and not code[-1].strip():
                code.pop()
            out.extend(["```text", *code, "```", ""])
            code = None

    i = 0
    while i < len(lines):
        line = lines[i]
        nxt = lines[i + 1] if i + 1 < len(lines) else ""
        if line.strip() and not line.startswith(" ") and nxt.strip() and set(nxt.strip()) == {"-"}:
            close()
            if out and out[-1].strip():
                out.append("")
            out.extend([f"#### {line.strip()}", ""])
            i += 2
            continue
        if code is not None:
            if line.strip() and not line.startswith("    "):
                close()
                continue
            code.append(line[4:])
            i += 1
            continue
        if line.strip() == "::":
            code = []
            i += 1
            while i < len(lines) and not lines[i].strip():
                i += 1
            continue
        if line.strip() or (out and out[-1].strip()):
            out.append(line)
        i += 1
    close()
    return "\n".join(out).strip()
