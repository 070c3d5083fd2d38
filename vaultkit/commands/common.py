"""Helpers shared by the commands: loading a vault with errors mapped to exit status 2."""

from __future__ import annotations

import contextlib
import gc
import os
from pathlib import Path
from typing import Any, Callable, Iterator

import click

from ..errors import VaultkitError

__all__ = ["load_vault", "collector_paused", "vault_argument", "vault_above_here", "is_vault_folder", "fail",
           "unread_warnings", "readable_root", "dump_json", "existing_cache",
           "output_option", "refuse_vault_file", "refuse_broad_root"]

def is_vault_folder(folder: Path) -> bool:
    """Whether ``folder`` is a vault's root: it holds ``.obsidian/`` or ``vaultkit.toml`` (``False`` when it
    cannot be searched)."""
    try:
        return (folder / ".obsidian").is_dir() or (folder / "vaultkit.toml").is_file()
    except OSError:
        return False


def vault_above_here(command: str) -> Path:
    """The vault a command given no path works on: the nearest folder at or above the current one that holds
    ``.obsidian/`` or ``vaultkit.toml`` (``.`` when it is the current one), else the current folder.

    Raises
    ------
    click.UsageError
        When there is no such folder and the current one is the home folder or the file system's root
        (a command run there by mistake would read every file below, and ``sync``/``fix`` write there).
    """
    here = Path.cwd()
    for folder in (here, *here.parents):
        if is_vault_folder(folder):
            return Path(".") if folder == here else folder
    refuse_broad_root(here, command)
    return Path(".")


def refuse_broad_root(folder: Path, command: str) -> None:
    """Stop a command about to treat the file system's root or the home folder as a vault when it is not one
    (no ``.obsidian/`` nor ``vaultkit.toml``): it would read every file below (millions, for ``/``), and
    ``sync``/``fix`` would write there. Named or found, it is never what was meant.

    Raises
    ------
    click.UsageError
        Naming the folder (exit status 2).
    """
    real = Path(os.path.realpath(folder))
    home = Path(os.path.realpath(Path.home()))
    if real in (home, Path(real.anchor)) and not is_vault_folder(real):
        what = "your home folder" if real == home else "the file system's root"
        raise click.UsageError(f"{folder} is not a vault (no .obsidian/ or vaultkit.toml) but {what}: name the "
                               f"vault folder (vaultkit {command} PATH/TO/VAULT)")


def _vault_here(ctx: click.Context, param: click.Parameter, value: Path | None) -> Path:
    """VAULT as given (never an unmarked root or home folder), else :func:`vault_above_here`."""
    if value is None:
        return vault_above_here(ctx.info_name or "COMMAND")
    refuse_broad_root(value, ctx.info_name or "COMMAND")
    return value


vault_argument = click.argument(
    "vault", required=False, default=None, callback=_vault_here, type=click.Path(file_okay=False, path_type=Path)
)


def _dash_is_stdout(ctx: click.Context, param: click.Parameter, value: Path | None) -> Path | None:
    """``-o -`` means standard output, as for most command-line tools (``None``: no file)."""
    return None if value is not None and str(value) == "-" else value


def output_option(what: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """``-o/--output FILE`` of ``graph`` and ``lint``: ``what`` is written to FILE, or to standard output
    when it is left out or ``-``."""
    return click.option("-o", "--output", type=click.Path(dir_okay=False, allow_dash=True, path_type=Path),
                        default=None, callback=_dash_is_stdout,
                        help=f"Write {what} to FILE instead of standard output (\"-\": standard output).")


#: Extensions of an existing file ``-o`` may replace inside a vault, by format.
_OUTPUT_KINDS = {
    "json": (".json",), "sarif": (".sarif", ".json"), "graphml": (".graphml", ".xml"), "gexf": (".gexf", ".xml"),
    "canvas": (".canvas",), "mermaid": (".mmd", ".mermaid", ".txt"), "text": (".txt", ".log"),
    "github": (".txt", ".log"),
}


def refuse_vault_file(output: Path | None, vault: Path, fmt: str) -> None:
    """Stop before ``-o`` could write over what the user keeps in ``vault`` (checked before any work).

    The path is judged both as named (its folder's links followed, not its own) and where it leads (every
    link followed). Inside the vault folder (or another vault: a folder above the file that holds
    ``.obsidian/`` or ``vaultkit.toml``), ``-o`` may not name a Markdown file (a note, or one the next
    run would read as a note), a path in vaultkit's output folder or in a hidden folder (``.obsidian/``,
    ``.vaultkit/``), nor an existing file of another kind than ``fmt`` writes (an attachment, a ``.base``):
    see :data:`_OUTPUT_KINDS`. Anywhere, it may not be a symbolic link to a Markdown file, nor the file a
    note of the vault links to (a note that is a symbolic link to a file elsewhere). Its folder must exist.

    Raises
    ------
    click.UsageError
        Naming the file and why (exit status 2).
    """
    if output is None:
        return
    root = Path(os.path.realpath(vault))
    named = Path(os.path.realpath(output.parent if str(output.parent) else ".")) / output.name
    resolved = Path(os.path.realpath(output))
    if not os.path.isdir(named.parent):  # (found now, not after the whole export was made)
        raise click.UsageError(f"-o '{output}': there is no folder '{output.parent}'")
    why = None
    if os.path.islink(named) and resolved.suffix.lower() == ".md":
        why = f"it is a symbolic link to a Markdown note ('{resolved}')"
    for target in dict.fromkeys((named, resolved)):
        # the vault read, and the vault nearest the file (another one, or one inside it), each by its own rules
        roots = [root] if target == root or root in target.parents else []
        nearest = next((f for f in target.parents if is_vault_folder(f)), None)
        if nearest is not None and nearest != root:
            roots.append(nearest)
        for vault_root in roots:
            if why is None:
                found = _why_not_in_vault(target, vault_root, fmt)
                if found is not None:
                    why = found if vault_root == root else f"{found} at '{vault_root}'"
    if why is None and resolved.suffix.lower() == ".md" and root not in resolved.parents and resolved.is_file():
        link = _note_linked_to(resolved, root)
        if link is not None:
            why = f"the note '{link}' of the vault is a symbolic link to it"
    if why is not None:
        raise click.UsageError(f"-o '{output}': {why}; vaultkit never writes over your files — name a file "
                               "outside the vault, or a new one that is not a note")


def _why_not_in_vault(target: Path, root: Path, fmt: str) -> str | None:
    """Why ``-o`` may not write ``target``, a path inside the vault folder ``root``, or ``None``."""
    rel = target.relative_to(root).as_posix()
    if target.suffix.lower() == ".md":
        return "it is a note of the vault" if os.path.lexists(target) else "the vault would read it as a note"
    if any(part.startswith(".") for part in rel.split("/")[:-1]):
        return "it lies in a hidden folder of the vault"
    from ..config import DEFAULT_OUTPUT, load_config
    from ..errors import VaultkitError

    try:
        out = load_config(root).output.strip("/")
    except VaultkitError:  # (the command reports it, for its own vault; any vault's default folder is kept)
        out = DEFAULT_OUTPUT
    if out and (rel == out or rel.startswith(out + "/")):
        return f"it lies in vaultkit's output folder '{out}' (sync's)"
    if os.path.lexists(target) and target.suffix.lower() not in _OUTPUT_KINDS.get(fmt, ()):
        return f"it is a file of the vault, not a {'/'.join(_OUTPUT_KINDS.get(fmt, ()))} file"
    return None


def _note_linked_to(file: Path, root: Path) -> str | None:
    """The vault path of a note in ``root`` that is a symbolic link leading to ``file``, if any (hidden folders
    skipped, as the vault skips them)."""
    for folder, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        for name in files:
            path = os.path.join(folder, name)
            if name.lower().endswith(".md") and os.path.islink(path) and os.path.realpath(path) == str(file):
                return Path(path).relative_to(root).as_posix()
    return None


def fail(exc: Exception) -> "click.ClickException":
    """Wrap a library error for click (exit status 2)."""
    from ..cli import VaultkitClickError

    return VaultkitClickError(str(exc))


@contextlib.contextmanager
def collector_paused(*, freeze: bool = False) -> Iterator[None]:
    """Keep Python's cyclic garbage collector off while the body runs (then as it was).

    ``freeze``: move every object alive at the end into the collector's
    permanent generation (:func:`gc.freeze`) before it is turned back on, for
    objects that live until the command ends. Else the first collection after
    the pause walks them all (1–2 s at 10,000 notes). ``gc.unfreeze`` (see
    :func:`load_vault`) lets them be collected again.

    Loading a vault and a sync's plan and write stages make millions of
    objects that live until the command ends and form no garbage cycles worth
    collecting: at 10,000 notes the collector still cost some 15 % of a cold
    sync with the thresholds :func:`vaultkit.cli.main` sets (its peak memory
    was the same without it), and half the time of rebuilding a note from the
    process pool or the cache.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
        if freeze:
            gc.freeze()
    finally:
        if was_enabled:
            gc.enable()


def load_vault(path: Path, *, cache: bool = False, quiet: bool = False, parse_generated: bool = True,
               warn_unread: bool = False, lazy: bool | None = None, rebuilt_notice: bool = True):
    """``Vault.load`` with :class:`VaultkitError` turned into a click error.

    Shows a progress bar on stderr while notes are parsed (only on a terminal,
    only for runs longer than a moment, never with ``quiet``), and the
    cache's notice (a rebuilt cache, one not updated) as a warning on stderr; with ``rebuilt_notice`` false,
    not that of a rebuilt cache (the commands that only reuse the cache sync keeps say nothing of it, but
    do say why it was not updated: a lock waited for in vain). ``parse_generated``,
    ``lazy``: see :meth:`vaultkit.vault.Vault.load`. ``warn_unread``: also a warning for
    each file or folder left out (:meth:`vaultkit.vault.Vault.unread`), quiet or not.
    """
    from ..progress import Progress
    from ..vault import Vault

    try:
        gc.unfreeze()  # the vault of a previous run (--watch) can be collected again
        # the vault lives until the command ends: frozen, out of the cyclic collector's way
        with collector_paused(freeze=True), Progress(0, "reading notes", quiet=quiet) as bar:
            vault = Vault.load(path, cache=cache, progress=bar.advance, parse_generated=parse_generated,
                               lazy=lazy)
        if vault.cache_notice and not quiet and (rebuilt_notice or "rebuilt" not in vault.cache_notice):
            click.echo(f"warning: {vault.cache_notice}", err=True)
        if warn_unread:
            for line in unread_warnings(vault):
                click.echo(line, err=True)
        return vault
    except VaultkitError as exc:
        raise fail(exc) from None


def existing_cache(root: Path, no_cache: bool) -> bool:
    """Whether a command that only reads the vault (``lint``, ``graph``, ``show``, ``sync --check``/``--diff``/
    ``--dry-run``) uses its parse cache: when ``sync`` made one (``.vaultkit/cache.sqlite``) and ``--no-cache``
    was not given. Those commands never create it, so a CI checkout stays as it was."""
    try:
        return not no_cache and (root / ".vaultkit" / "cache.sqlite").is_file()
    except OSError:
        return False


def unread_warnings(vault) -> list[str]:
    """A ``warning: PATH: reason`` line for each file or folder the load left out (:meth:`Vault.unread`)."""
    return [f"warning: {diag.path}: {diag.message}" for diag in vault.unread()]


def readable_root(root: Path, shown: str) -> None:
    """Raise a click error (exit status 2) when the vault folder ``root`` (named ``shown``) cannot be listed."""
    try:
        os.scandir(root).close()
    except OSError as exc:
        raise fail(f"cannot read the vault folder '{shown}': {exc.strerror or exc}") from None


def dump_json(data: Any) -> str:
    """Stable, readable JSON (UTF-8 characters kept): ``json.dumps(data, ensure_ascii=False, indent=2)``, written
    by :func:`vaultkit.report.json_chunks` (objects of scalars by json's C encoder)."""
    from ..report import json_chunks

    return "".join(json_chunks(data))[:-1]
