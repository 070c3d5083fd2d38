"""``vaultkit lint``: check notes and report findings for people and for CI."""

from __future__ import annotations

import os
import unicodedata
from collections.abc import Iterable
from pathlib import Path

import click

from .common import (existing_cache, fail, is_vault_folder, load_vault, output_option, readable_root,
                     refuse_broad_root, refuse_vault_file, vault_above_here)

__all__ = ["lint_cmd", "register", "find_root"]

_SEVERITIES = ("error", "warning", "info")
_FORMATS = ("text", "json", "github", "sarif")


def _split(values: tuple[str, ...]) -> list[str]:
    out: list[str] = []
    for v in values:
        out.extend(p.strip() for p in v.split(",") if p.strip())
    return out




def check_paths_exist(paths: "Iterable[Path]") -> None:
    """Refuse a path that does not exist, but not one inside a folder that cannot be searched: lint and fix
    report that folder or note (VK004). (click's own check takes the second for the first.)

    Raises
    ------
    click.BadParameter
        For the first path that does not exist.
    """
    for p in paths:
        try:
            os.stat(p)
        except FileNotFoundError:
            raise click.BadParameter(f"Path '{p}' does not exist.", param_hint="PATHS") from None
        except OSError:
            pass


def _is_dir(path: Path) -> bool:
    """``path.is_dir()``, ``False`` when it cannot be told (a folder above it cannot be searched)."""
    try:
        return path.is_dir()
    except OSError:
        return False


def _vault_of(resolved: Path) -> Path | None:
    """The nearest folder at or above ``resolved`` (an absolute path) with ``.obsidian/`` or ``vaultkit.toml``."""
    start = resolved if _is_dir(resolved) else resolved.parent
    for folder in (start, *start.parents):
        if is_vault_folder(folder):
            return folder
    return None


def _never_a_note(rel: str, exclude: list[str]) -> bool:
    """Whether no vault reads the file at vault path ``rel`` as a note (not ``.md``, in a hidden folder, or
    excluded), or, for a folder (``rel`` ending in ``/``), any note in it (hidden or excluded). One in a
    folder that could not be listed is a note, reported as unread."""
    from ..discover import is_excluded

    folder = rel.endswith("/")
    parts = rel.rstrip("/").split("/")
    return ((not folder and not rel.lower().endswith(".md")) or any(part.startswith(".") for part in parts)
            or any(is_excluded("/".join(parts[:i]) + "/", exclude) for i in range(1, len(parts) + folder))
            or (not folder and is_excluded(rel, exclude)))


def find_root(paths: list[Path], *, hint: str = "") -> Path:
    """The vault that holds ``paths``: the nearest folder above them with ``.obsidian/`` or ``vaultkit.toml``.

    A single folder without such a parent is the vault itself; files without
    one belong to the vault of their common folder. ``hint`` ends the error
    message (e.g. how the command names a vault explicitly).

    Raises
    ------
    click.UsageError
        When the paths belong to two vaults (each path's nearest marked
        folder differs), or some lie in a vault and others outside it: the
        message names both.
    """
    resolved = [p.resolve() for p in paths]
    vaults = [_vault_of(r) for r in resolved]
    found = list(dict.fromkeys(v for v in vaults if v is not None))
    if len(found) > 1:
        a, b = found[0], found[1]
        pa = paths[vaults.index(a)]
        pb = paths[vaults.index(b)]
        raise click.UsageError(
            f"paths from two vaults: '{pa}' is in the vault '{_shown_root(a)}', '{pb}' in the vault "
            f"'{_shown_root(b)}'; check one vault at a time{hint}")
    if found:
        if None in vaults:
            outside = paths[vaults.index(None)]
            raise click.UsageError(f"'{outside}' is not inside the vault '{_shown_root(found[0])}' "
                                   f"that holds the other paths; check one vault at a time{hint}")
        return found[0]
    if len(resolved) == 1 and _is_dir(resolved[0]):
        return resolved[0]
    return Path(os.path.commonpath([r if _is_dir(r) else r.parent for r in resolved]))


def _vault_rel(path: Path, root: Path) -> str:
    """Vault path of ``path`` (resolved, inside ``root``): POSIX and NFC, as :func:`vaultkit.discover.discover` keys notes.

    A name typed or completed by the shell keeps its spelling on disk, which
    may be NFD (macOS); the vault's notes are keyed by the NFC spelling.
    """
    rel = path.relative_to(root).as_posix()
    return rel if rel.isascii() else unicodedata.normalize("NFC", rel)


def _shown_root(root: Path) -> str:
    """How to print the vault folder: relative to the working folder when it is below it."""
    try:
        rel = os.path.relpath(root)
    except ValueError:  # pragma: no cover - another drive on Windows
        return root.as_posix()
    # (a '../' path would make the output depend on where the command runs: absolute instead)
    return Path(rel).as_posix() if rel != ".." and not rel.startswith("../") else Path(os.path.abspath(root)).as_posix()


def _lint_with_cache(vault, options, cache: bool):
    """:func:`vaultkit.lint.lint` helped by what ``.vaultkit/cache.sqlite`` knows (when ``cache``): whether
    the generated notes are as the last sync left them, and the schema results of unchanged notes."""
    from ..cache import NoteCache, synced_as_is
    from ..lint import lint
    from ..schema import SCHEMA_MEMO, SchemaStore

    schemas = SchemaStore(vault.root, vault.config.schemas)
    if not cache:
        return lint(vault, options, schemas=schemas)
    store = NoteCache.open(vault.root)
    try:
        known = store.get_memo(SCHEMA_MEMO)
    finally:
        store.close()
    schemas.known = known if isinstance(known, dict) else {}
    # (stamped after loading: a file changed while it was read changes the stamp)
    result = lint(vault, options, schemas=schemas, generated_fresh=synced_as_is(vault.root, vault.config.output))
    # a lint of some notes keeps what it did not look at; of the whole vault, only what it used
    learned = schemas.learned if options.paths is None else {**schemas.known, **schemas.learned}
    if learned != schemas.known:
        store = NoteCache.open(vault.root)
        try:
            store.put_memo(SCHEMA_MEMO, learned)
        finally:
            store.close()
    return result


@click.command("lint")
@click.argument("paths", nargs=-1, type=click.Path(readable=False, path_type=Path))
@click.option("--vault", "vault_opt", type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="Vault folder (default: found from PATHS, else the vault around the current folder; "
                   "never ~ or /).")
@click.option("--format", "fmt", type=click.Choice(_FORMATS), default="text", show_default=True,
              help="text for people, json for scripts, github for workflow annotations, sarif for code scanning.")
@click.option("--select", multiple=True, metavar="CODES",
              help="Only these codes or prefixes (comma-separated, repeatable), e.g. VK1,VK201.")
@click.option("--ignore", multiple=True, metavar="CODES", help="Skip these codes or prefixes.")
@click.option("--severity", "severity_opt", multiple=True, metavar="CODE=LEVEL",
              help="Override a code's (or prefix's) severity: error, warning or info.")
@click.option("--min-severity", type=click.Choice(_SEVERITIES), default="info", show_default=True,
              help="Report only findings at least this serious.")
@click.option("--exit-zero", is_flag=True, help="Exit 0 even when there are findings.")
@click.option("--fix", "apply_fix", is_flag=True,
              help="Apply the safe fixes (VK006 mojibake, VK204 legacy keys, VK205 string lists) to the notes "
                   "with those findings, then report what is left. Same writer as `vaultkit fix`.")
@click.option("--no-cache", is_flag=True,
              help="Check everything from scratch: parse every note again, plan the generated notes and validate "
                   "every schema instead of reusing what .vaultkit/cache.sqlite knows (kept by sync; lint never "
                   "creates it).")
@output_option("the report")
def lint_cmd(paths: tuple[Path, ...], vault_opt: Path | None, fmt: str, select: tuple[str, ...],
             ignore: tuple[str, ...], severity_opt: tuple[str, ...], min_severity: str, exit_zero: bool,
             apply_fix: bool, no_cache: bool, output: Path | None) -> None:
    """Check the notes of a vault: frontmatter, schemas, links, tags, tier tables, generated notes.

    PATHS are the vault folder, or notes and folders inside one vault: then
    only their findings are shown, but the whole vault is read so that links
    resolve. Exit status: 0 clean, 1 findings, 2 usage, configuration or
    internal error. Silence findings with a comment in the note:

    \b
    %% vaultkit-ignore VK101 %%        on the line (or alone, above it)
    %% vaultkit-ignore-file VK101 %%   anywhere: the whole note

    \b
    vaultkit lint vault
    vaultkit lint vault --select VK1 --ignore VK103 --format github
    vaultkit lint "vault/AI/Scaling.md" --format json
    vaultkit rule VK101          # what a code means
    """
    from ..errors import VaultkitError
    from ..lint import LintOptions
    from ..report import render_chunks

    severity: dict[str, str] = {}
    for item in _split(severity_opt):
        code, sep, level = item.partition("=")
        if not sep or level.strip().lower() not in _SEVERITIES:
            raise click.BadParameter(f"{item!r} is not CODE=error|warning|info", param_hint="--severity")
        severity[code.strip().upper()] = level.strip().lower()

    given = list(paths)
    check_paths_exist(given)
    if not given and vault_opt is None:  # (the vault around here; never the home folder or / by mistake)
        found = vault_above_here("lint")
        given = [] if found == Path(".") else [Path(".")]
    if vault_opt is not None:
        root = vault_opt
        shown = vault_opt.as_posix()
    elif not given:
        root, shown = Path("."), "."
    elif len(given) == 1 and _is_dir(given[0]) and not any(
            is_vault_folder(f) for f in given[0].resolve().parents):
        root, shown = given[0], given[0].as_posix()
    else:
        root = find_root(given, hint=" (or name the vault with --vault)")
        shown = _shown_root(root)
    refuse_broad_root(root, "lint")
    readable_root(root, shown)
    refuse_vault_file(output, root, fmt)
    root_abs = root.resolve()
    rel_paths: list[str] | None = None
    if given:
        rel_paths = []
        for p in given:
            ap = p.resolve()
            if ap == root_abs:
                rel_paths = None
                break
            if root_abs not in ap.parents:
                raise click.BadParameter(f"'{p}' is not inside the vault '{shown}'", param_hint="PATHS")
            rel = _vault_rel(ap, root_abs)
            rel_paths.append(rel + "/" if _is_dir(ap) else rel)

    options = LintOptions(select=_split(select) or None, ignore=_split(ignore), severity=severity,
                          min_severity=min_severity, paths=rel_paths)
    try:
        # Reuse the parse cache that `sync` keeps, but never create one: linting leaves the vault as it is.
        cache = existing_cache(root, no_cache)
        if rel_paths:  # (before the vault is read: a typo in CI must not pass as "0 notes")
            from ..config import load_config

            exclude = load_config(root).exclude
            for p, rel in zip(given, rel_paths):
                if _never_a_note(rel, exclude):
                    what = "a folder of notes" if rel.endswith("/") else "a note"
                    raise click.BadParameter(f"'{p}' is not {what} of the vault: vaultkit checks Markdown notes "
                                             "(.md files outside hidden and excluded folders)", param_hint="PATHS")
        vault = load_vault(root, cache=cache, quiet=True)
        if vault.cache_notice and "rebuilt" not in vault.cache_notice:  # (why it parsed everything again)
            click.echo(f"warning: {vault.cache_notice}", err=True)
        result = _lint_with_cache(vault, options, cache)
        if apply_fix:
            fixed = _apply_fixes(vault.root, result.diagnostics)
            for path, applied in fixed:
                click.echo(f"fixed {path}: {applied}", err=True)
            if fixed:
                vault = load_vault(root, cache=cache, quiet=True)
                result = _lint_with_cache(vault, options, cache)
    except VaultkitError as exc:
        raise fail(exc) from None
    except click.ClickException:
        raise
    except Exception as exc:  # an internal error must not look like "findings" (exit 1)
        from ..cli import VaultkitClickError

        raise VaultkitClickError(f"internal error: {type(exc).__name__}: {exc}") from exc

    prefix = "" if shown in ("", ".") else shown.rstrip("/") + "/"

    def display(path: str) -> str:
        return prefix + path

    # (in pieces: a report of 100,000 findings is not held whole)
    chunks = render_chunks(fmt, result.diagnostics, result.checked, result.suppressed, display, result.codes)
    if output is not None:
        from ..writer import write_whole

        try:
            write_whole(output, (chunk.encode("utf-8") for chunk in chunks))
        except OSError as exc:
            raise fail(exc) from None
        from ..report import summary_line

        click.echo(summary_line(result.diagnostics, result.checked, result.suppressed), err=True)
    else:
        for chunk in chunks:
            click.echo(chunk, nl=False)
    ctx = click.get_current_context()
    ctx.exit(result.exit_code(exit_zero=exit_zero))


def _apply_fixes(root: Path, diagnostics: list) -> list[tuple[str, str]]:
    """Run ``vaultkit fix`` on every note with a fixable finding; return (path, what was applied)."""
    from ..fix import FIX_KINDS, DEFAULT_KINDS, fix_file

    by_code = {code: kind for kind, (code, _name) in FIX_KINDS.items() if kind in DEFAULT_KINDS}
    wanted: dict[str, set[str]] = {}
    for d in diagnostics:
        if d.code in by_code and d.path:
            wanted.setdefault(d.path, set()).add(by_code[d.code])
    done = []
    for path in sorted(wanted):
        result = fix_file(root, path, wanted[path])
        if result.changed:
            done.append((path, ", ".join(sorted({f.kind for f in result.applied}))))
    return done


def register(group: click.Group) -> None:
    """Add ``lint`` to ``group``."""
    group.add_command(lint_cmd)
