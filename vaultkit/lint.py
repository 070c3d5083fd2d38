"""Run the lint rules over a vault: select, check, apply severities and suppressions, sort.

Examples
--------
>>> import pathlib, tempfile
>>> from vaultkit.vault import Vault
>>> root = pathlib.Path(tempfile.mkdtemp())
>>> _ = (root / "A.md").write_text("See [[B]] and [[A]]\\n", encoding="utf-8")
>>> result = lint(Vault.load(root))
>>> [(d.path, d.line, d.col, d.code) for d in result.diagnostics], result.exit_code()
([('A.md', 1, 5, 'VK101')], 1)
>>> lint(Vault.load(root), LintOptions(ignore=["VK101"])).exit_code()
0
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace

from .codes import CODES
from .errors import ConfigError
from .model import Diagnostic, Note
from .rules import REGISTRY, LintContext, UnknownRuleError, check_patterns, matches, select_codes
from .schema import SchemaStore

__all__ = ["LintOptions", "LintResult", "lint", "is_suppressed", "SEVERITIES", "severity_rank"]

#: Severities from most to least serious.
SEVERITIES = ("error", "warning", "info")


def severity_rank(severity: str) -> int:
    """0 for error, 1 for warning, 2 for info.

    >>> severity_rank("warning")
    1
    """
    return SEVERITIES.index(severity)


@dataclass(slots=True)
class LintOptions:
    """What to check and how to report it.

    Attributes
    ----------
    select, ignore : list of str or None
        Codes or prefixes. ``select=None`` uses the config's ``select`` (or
        every rule); ``ignore`` adds to the config's ``ignore``.
    severity : dict of str to str
        Code or prefix → severity, on top of the config's ``[severity]``.
    min_severity : str
        Drop findings less serious than this (``"info"`` keeps everything).
    paths : list of str or None
        Vault paths (notes, or folders ending in ``/``) whose findings are
        wanted; ``None`` for the whole vault.
    """

    select: list[str] | None = None
    ignore: list[str] = field(default_factory=list)
    severity: dict[str, str] = field(default_factory=dict)
    min_severity: str = "info"
    paths: list[str] | None = None


@dataclass(slots=True)
class LintResult:
    """Findings of one lint run.

    Attributes
    ----------
    diagnostics : list of Diagnostic
        Sorted by path, line, column, code.
    checked : int
        Number of notes checked.
    codes : list of str
        Codes of the rules that ran.
    suppressed : int
        Findings dropped by ``vaultkit-ignore`` comments.
    """

    diagnostics: list[Diagnostic]
    checked: int
    codes: list[str]
    suppressed: int = 0

    def counts(self) -> dict[str, int]:
        """Number of findings per severity (every severity present as a key)."""
        out = {s: 0 for s in SEVERITIES}
        for d in self.diagnostics:
            out[d.severity] = out.get(d.severity, 0) + 1
        return out

    def files_with_findings(self) -> int:
        return len({d.path for d in self.diagnostics})

    def exit_code(self, *, exit_zero: bool = False) -> int:
        """0 when clean (or ``exit_zero``), 1 when there are findings."""
        return 0 if exit_zero or not self.diagnostics else 1


def is_suppressed(diag: Diagnostic, note: Note | None) -> bool:
    """Whether a ``%% vaultkit-ignore … %%`` comment of ``note`` silences ``diag``.

    ``note.suppressions`` maps a line to the codes (or prefixes, or ``ALL``)
    silenced there; line 0 holds the file-wide ``vaultkit-ignore-file`` codes.

    Examples
    --------
    >>> n = Note("A.md", suppressions={3: frozenset({"VK101"}), 0: frozenset({"VK2"})})
    >>> is_suppressed(Diagnostic("VK101", "m", "A.md", 3), n), is_suppressed(Diagnostic("VK101", "m", "A.md", 4), n)
    (True, False)
    >>> is_suppressed(Diagnostic("VK205", "m", "A.md", 9), n)
    True
    """
    if note is None or not note.suppressions:
        return False
    for line in (diag.line, 0):
        codes = note.suppressions.get(line)
        if codes and matches(diag.code, codes):
            return True
    return False


def _severity_table(*tables: dict[str, str]) -> dict[str, str]:
    """code → severity after applying the tables in order (longest matching prefix wins in a table)."""
    out = {code: sev for code, (_name, sev) in CODES.items()}
    for table in tables:
        for code in out:
            best = max((p for p in table if code.startswith(p.upper()) or p.upper() == "ALL"),
                       key=lambda p: 0 if p.upper() == "ALL" else len(p), default=None)
            if best is not None:
                out[code] = table[best]
    return out


def _concerns(path: str, paths: list[str]) -> bool:
    """Whether a finding at ``path`` belongs to a lint of ``paths``: it lies in one, or it is a folder's (one that
    cannot be read) and one lies in it."""
    return _in_paths(path, paths) or path.endswith("/") and any(p.startswith(path) for p in paths)


def _in_paths(path: str, paths: list[str]) -> bool:
    for p in paths:
        if p.endswith("/"):
            if path.startswith(p) or p == "/":
                return True
        elif path == p:
            return True
    return False


def lint(vault, options: LintOptions | None = None, *, schemas: SchemaStore | None = None,
         generated_fresh: bool = False) -> LintResult:
    """Check ``vault`` with the selected rules.

    Parameters
    ----------
    vault : Vault
        A loaded vault; all its notes take part in link resolution.
    options : LintOptions, optional
        Selection, severities, paths.
    schemas : SchemaStore, optional
        Schema store (built from the vault's config by default).
    generated_fresh : bool
        Every generated note is known to be what ``vaultkit sync`` would
        write now (:func:`vaultkit.cache.synced_as_is`, after loading): VK401
        then skips planning the generated notes, by far the largest part of
        a lint. Wrong when it is not so.

    Returns
    -------
    LintResult

    Raises
    ------
    ConfigError
        When a code or prefix in the config or the options names no rule, a
        severity is unknown, or a schema named by the config cannot be loaded.
    """
    options = options or LintOptions()
    cfg = vault.config
    where = cfg.source or "configuration"
    try:
        check_patterns(cfg.select, "code in 'select' of " + where)
        check_patterns(cfg.ignore, "code in 'ignore' of " + where)
        check_patterns(list(cfg.severity), "code in 'severity' of " + where)
        check_patterns(list(options.severity), "code in --severity")
        select = options.select if options.select else (cfg.select or None)
        codes = select_codes(select, list(cfg.ignore) + list(options.ignore))
    except UnknownRuleError as exc:
        raise ConfigError(str(exc)) from None
    for table in (cfg.severity, options.severity):
        for key, sev in table.items():
            if sev not in SEVERITIES:
                raise ConfigError(f"{where}: severity of '{key}' must be error, warning or info, not {sev!r}")
    if options.min_severity not in SEVERITIES:
        raise ConfigError(f"unknown severity {options.min_severity!r}")
    severities = _severity_table(cfg.severity, options.severity)
    store = schemas or SchemaStore(vault.root, cfg.schemas)
    from .errors import SchemaLoadError

    try:
        store.check_config()
    except SchemaLoadError as exc:
        raise ConfigError(f"{where}: {exc}") from None

    notes: list[Note] | None = None
    if options.paths is not None:
        notes = [n for n in vault.notes.values() if _in_paths(n.path, options.paths)]
    ctx = LintContext(vault, notes, store, generated_fresh=generated_fresh)
    wanted = {n.path for n in ctx.notes}
    limit = severity_rank(options.min_severity)
    found: list[Diagnostic] = []
    suppressed = 0
    seen: set[tuple] = set()
    for code in codes:
        for d in _run(REGISTRY[code].check, ctx):
            if d.code != code:
                continue
            if not ctx.whole_vault and d.path not in wanted and not _concerns(d.path, options.paths or []):
                continue
            d = replace(d, severity=severities.get(d.code, d.severity))
            if severity_rank(d.severity) > limit:
                continue
            if is_suppressed(d, vault.notes.get(d.path)):
                suppressed += 1
                continue
            key = (d.path, d.line, d.col, d.code, d.message)
            if key in seen:
                continue
            seen.add(key)
            found.append(d)
    found.sort(key=Diagnostic.sort_key)
    return LintResult(found, len(ctx.notes), codes, suppressed)


def _run(check, ctx: LintContext) -> Iterable[Diagnostic]:
    return list(check(ctx))
