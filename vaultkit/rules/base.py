"""What a lint rule is, and the context every rule's check receives.

A rule is a code (``VK101``), a kebab-case name, a default severity (all three
from :mod:`vaultkit.codes`), a one-line summary and a doc with fixed headings,
and a ``check(ctx)`` generator yielding :class:`~vaultkit.model.Diagnostic`
records. Rules never print and never raise on note content.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from ..codes import CODES
from ..model import Diagnostic, Note

if TYPE_CHECKING:  # pragma: no cover
    from ..schema import SchemaStore
    from ..vault import Vault

__all__ = ["Rule", "LintContext", "DOC_HEADINGS", "rule", "RULE_FUNCTIONS"]

#: Headings every rule doc has, in this order.
DOC_HEADINGS = ("What it checks", "Why it matters", "Example", "Instead", "Fix")

#: Filled by :func:`rule` as rule modules are imported (code → Rule).
RULE_FUNCTIONS: dict[str, "Rule"] = {}


@dataclass(frozen=True)
class Rule:
    """One registered lint rule.

    Attributes
    ----------
    code : str
        Stable code such as ``"VK101"``.
    name : str
        Kebab-case name (``"unresolved-link"``).
    severity : str
        Default severity (``"error"``, ``"warning"`` or ``"info"``).
    summary : str
        One line: what the rule reports.
    doc : str
        The documentation body (the headings of :data:`DOC_HEADINGS`).
    check : callable
        ``check(ctx) -> Iterable[Diagnostic]``.
    fix : str
        ``"none"``, ``"sometimes"`` or ``"always"``: whether ``vaultkit fix``
        can repair a finding.
    """

    code: str
    name: str
    severity: str
    summary: str
    doc: str
    check: Callable[["LintContext"], Iterable[Diagnostic]] = field(repr=False, compare=False)
    fix: str = "none"

    def headings(self) -> list[str]:
        """Headings present in :attr:`doc` (a heading is a line underlined with dashes)."""
        lines = self.doc.splitlines()
        return [lines[i].strip() for i in range(len(lines) - 1)
                if lines[i].strip() and set(lines[i + 1].strip()) == {"-"}]

    def full_doc(self) -> str:
        """Title line, summary and doc, as ``vaultkit rule CODE`` prints it."""
        return f"{self.code} {self.name} ({self.severity})\n\n{self.summary}\n\n{self.doc}\n"

    def to_dict(self) -> dict[str, str]:
        return {"code": self.code, "name": self.name, "severity": self.severity,
                "summary": self.summary, "fix": self.fix, "doc": self.doc}


def rule(code: str, *, fix: str = "none") -> Callable:
    """Register the decorated generator function as the rule ``code``.

    The function's docstring gives the summary (first line) and the doc (the
    rest); name and default severity come from :data:`vaultkit.codes.CODES`.
    """

    def deco(func: Callable[["LintContext"], Iterable[Diagnostic]]):
        if code not in CODES:
            raise KeyError(f"rule {code} is not in vaultkit.codes.CODES")
        if code in RULE_FUNCTIONS:
            raise KeyError(f"rule {code} registered twice")
        text = inspect.cleandoc(func.__doc__ or "")
        summary, _, doc = text.partition("\n")
        name, severity = CODES[code]
        RULE_FUNCTIONS[code] = Rule(code, name, severity, summary.strip(), doc.strip(), func, fix)
        return func

    return deco


class LintContext:
    """Everything a rule may look at: the vault, the notes to check, helpers.

    Parameters
    ----------
    vault : Vault
        The loaded vault (every note, for link resolution).
    notes : list of Note, optional
        The notes whose findings are wanted (default: every note).
    schemas : SchemaStore, optional
        Schema store; built from the vault's config when omitted.
    generated_fresh : bool
        The caller knows that every generated note is what ``vaultkit sync``
        would write now (:func:`vaultkit.cache.synced_as_is`): the default
        freshness check then plans nothing.
    """

    def __init__(self, vault: "Vault", notes: list[Note] | None = None,
                 schemas: "SchemaStore | None" = None, *, generated_fresh: bool = False) -> None:
        from ..schema import SchemaStore

        self.vault = vault
        self.generated_fresh = generated_fresh
        self.notes = list(vault.notes.values()) if notes is None else list(notes)
        self.schemas = schemas if schemas is not None else SchemaStore(vault.root, vault.config.schemas)
        self.whole_vault = notes is None
        self._texts: dict[str, str | None] = {}

    @property
    def root(self) -> Path:
        return Path(self.vault.root)

    def text_of(self, note: Note) -> str | None:
        """The note's text as Obsidian reads it (BOM dropped, ``\\n`` newlines), or ``None`` if unreadable."""
        kept = getattr(note, "text", "")
        if kept or note.size == 0 and note.sha256:
            return kept  # parse kept the decoded text: no second read
        if note.path not in self._texts:
            from ..parse import decode_note
            from ..vault import read_regular

            try:
                data, _st = read_regular(self.root / note.path)
            except OSError:
                self._texts[note.path] = None
            else:
                self._texts[note.path] = decode_note(data)[0]
        return self._texts[note.path]

    def emitted(self, code: str) -> Iterator[Diagnostic]:
        """Diagnostics with ``code`` that parsing, resolving or the tier reader left on the notes, and the
        vault's own (folders it could not read…: a lint of some paths keeps those in them)."""
        for diag in self.vault.diagnostics:
            if diag.code == code:
                yield diag
        for note in self.notes:
            for diag in note.diagnostics:
                if diag.code == code:
                    yield diag


def diag(code: str, message: str, note: Note | str, line: int = 0, col: int = 0) -> Diagnostic:
    """Make a diagnostic of ``code`` with its default severity."""
    path = note if isinstance(note, str) else note.path
    return Diagnostic(code, message, path, line, col, CODES[code][1])
