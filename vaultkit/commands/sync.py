"""``vaultkit sync``: the main job — parse, resolve, plan the generated notes, write them safely."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from .common import collector_paused, existing_cache, fail, load_vault, unread_warnings, vault_argument

if TYPE_CHECKING:
    from ..watch import OwnWrites


def run_sync(vault_path: Path, *, mode_name: str = "write", force: bool = False, cache: bool = True,
             quiet: bool = False):
    """Load the vault, plan the generated notes and hand them to the writer.

    Returns ``(vault, plan, report)``; raises :class:`~vaultkit.errors.VaultkitError` subclasses.
    """
    from ..generate import plan_generation
    from ..progress import Stages
    from ..writer import WRITER_MEMO, PlannedRegion, WriteMode, apply, note_on_disk, planned_files

    # Generated notes are needed only by name (and headings, read when a link names one).
    vault = load_vault(vault_path, cache=cache, quiet=quiet, parse_generated=False)
    with collector_paused(freeze=True):  # (millions of objects that live until the end: see collector_paused)
        # generated files this vault's last run found up to date are neither made again (when made of the
        # same inputs) nor read again while untouched
        known = vault.previous_memo(WRITER_MEMO)
        known = known if isinstance(known, dict) else None
        with Stages(quiet=quiet) as stages:
            plan = plan_generation(vault, progress=stages, known=known, on_disk=note_on_disk)
        mode = {"write": WriteMode.WRITE, "check": WriteMode.CHECK, "diff": WriteMode.DIFF,
                "dry-run": WriteMode.DRY_RUN}[mode_name]
        regions = [PlannedRegion(path, name, text) for path, name, text in plan.regions]
        with Stages(quiet=quiet) as stages:
            # (while some of the vault cannot be read, no generated note is removed: what it was made of may lie
            # there, and it would be made again once readable)
            report = apply(vault.root, vault.config.output, planned_files(plan), regions, mode=mode, force=force,
                           known={**known, **plan.verified} if known else plan.verified, progress=stages,
                           prune=not vault.unread())
    vault.memo_updates[WRITER_MEMO] = report.verified
    vault.save_memos()  # what the next run can reuse (technique mentions of unchanged notes, ...)
    if mode is WriteMode.WRITE:  # links to notes just written resolve now (the summary counts them so)
        vault.after_write([o.path for o in report.outcomes if o.action == "created"],
                          [o.path for o in report.outcomes if o.action == "removed"],
                          [o.path for o in report.outcomes if o.action == "updated"])
    return vault, plan, report


def summary_line(vault, plan, report) -> str:
    """The one-line summary of a sync run."""
    user = vault.user_notes()
    links = [link for note in user for link in note.links if note.counts(link)]
    unresolved = sum(1 for link in links if link.resolved is None)
    diags = sum(len(note.diagnostics) for note in user) + len(vault.diagnostics)
    read = sum(1 for note in user if not vault.is_unread(note))  # (the others are left out, with a warning)
    return (f"{_count(read, 'note')}, {_count(len(links), 'link')} ({len(links) - unresolved} resolved, "
            f"{unresolved} unresolved), {_count(plan.techniques, 'technique')}, {_count(plan.tiers, 'tier')}; "
            f"files: {report.summary()}; {_count(diags, 'diagnostic')} (see `vaultkit lint`)")


def _count(n: int, word: str) -> str:
    """A count with its noun.

    >>> _count(1, "note"), _count(0, "link"), _count(2, "tier")
    ('1 note', '0 links', '2 tiers')
    """
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def exit_status(report, *, check: bool) -> int:
    """2 when a write failed, 1 when a file was left alone for a reason (edited, taken, refused; a region
    you edited kept in a note whose other regions were filled, too) or ``--check`` found changes, else 0."""
    if any(o.action == "error" for o in report.outcomes):
        return 2
    if report.problems or (check and report.changed) or any(o.kept_edits for o in report.outcomes):
        return 1
    return 0


@click.command("sync")
@vault_argument
@click.option("--check", "mode", flag_value="check", help="Write nothing; exit 1 if a sync would change a file.")
@click.option("--diff", "mode", flag_value="diff", help="Print the changes as unified diffs; write nothing.")
@click.option("--dry-run", "mode", flag_value="dry-run", help="List what would be written; write nothing.")
@click.option("--force", is_flag=True, help="Overwrite generated notes that were edited by hand.")
@click.option("--no-cache", is_flag=True, help="Parse every note again instead of using .vaultkit/cache.sqlite "
                                               "(which --check, --diff and --dry-run use only when it exists).")
@click.option("-q", "--quiet", is_flag=True, help="Print only problems and the summary line; no progress bar.")
@click.option("--watch", is_flag=True, help="Stay running and sync again whenever a note changes (Ctrl-C stops).")
def sync_cmd(vault: Path, mode: str | None, force: bool, no_cache: bool, quiet: bool, watch: bool) -> None:
    """Write the index, tier, technique and cost-to-value notes into VAULT/_vaultkit/.

    VAULT defaults to the vault around the current folder. vaultkit writes only inside its
    output folder (set `output` in vaultkit.toml), only notes it owns, and
    the regions you opened in your notes with %% vaultkit:begin NAME %%;
    a generated note you edited is kept and reported (--force overwrites it).
    A second run with nothing changed writes nothing. Exit status: 0 done,
    1 a file was left alone (edited by you, taken, refused), a note or
    folder could not be read, or --check found changes, 2 a write failed or
    a usage/configuration error; with --watch,
    0 after Ctrl-C, 130 when the Ctrl-C cut a sync short (run sync again).

    \b
    vaultkit sync vault
    vaultkit sync vault --check     # CI: exit 1 when generated notes are out of date
    vaultkit sync vault --diff
    vaultkit sync vault --watch     # keep the generated notes up to date while you write
    """
    mode = mode or "write"
    if watch and mode != "write":
        raise click.UsageError("--watch only works with a writing sync (not --check/--diff/--dry-run)")
    started = _inputs_stamp(vault) if watch else None
    status = _sync_once(vault, mode, force, no_cache, quiet)
    if watch:
        sys.exit(_watch(vault, force, no_cache, quiet, started))
    sys.exit(status)


def _sync_once(vault: Path, mode: str, force: bool, no_cache: bool, quiet: bool,
               own: "OwnWrites | None" = None, changed: "set[str] | None" = None) -> int:
    """One sync with its output; returns the exit status. Watch mode: ``own`` is told each file the sync
    wrote or removed (to tell its own writes from the user's); lint's findings in the notes among
    ``changed`` are printed (what an edit brought). A writing sync holds the vault's sync lock throughout
    (:func:`vaultkit.writer.sync_lock`): a second one is refused at once."""
    if mode != "write":
        return _sync_unlocked(vault, mode, force, no_cache, quiet, own, changed)
    from ..errors import VaultkitError
    from ..writer import sync_lock

    try:
        with sync_lock(vault):
            return _sync_unlocked(vault, mode, force, no_cache, quiet, own, changed)
    except VaultkitError as exc:  # (the lock taken by another sync; the run's own errors come as click's)
        raise fail(exc) from None


def _sync_unlocked(vault: Path, mode: str, force: bool, no_cache: bool, quiet: bool,
                   own: "OwnWrites | None" = None, changed: "set[str] | None" = None) -> int:
    """:func:`_sync_once` without the lock."""
    from ..cache import SYNC_STAMP_KEY, SYNC_SUMMARY_KEY, SYNC_WARNINGS_KEY, NoteCache, vault_stamp
    from ..config import load_config
    from ..errors import VaultkitError

    # Skip everything when no file of the vault (notes, attachments, config, generated notes)
    # nor vaultkit itself changed since a sync that found nothing to write; or when the notes
    # that changed give sync the same input as then (prose edits: see vaultkit.basis).
    before = None
    output = None
    if mode == "write" and not force and not no_cache and vault.is_dir():
        try:
            config = load_config(vault)
        except VaultkitError as exc:
            raise fail(exc) from None
        output = config.output
        before = vault_stamp(vault, output=output)
        store = NoteCache.open(vault)
        try:
            summary = store.get_meta(SYNC_SUMMARY_KEY)
            if before.key is not None and summary and store.get_meta(SYNC_STAMP_KEY) == before.key:
                warnings = (store.get_meta(SYNC_WARNINGS_KEY) or "").splitlines()
                for line in warnings:  # (files it could not read then, still as they were)
                    click.echo(line, err=True)
                click.echo(f"{summary} (no file changed since the last sync)")
                return 1 if warnings else 0
            from ..basis import BASIS_MEMO, check_basis

            hit = check_basis(vault, config, before, store.get_memo(BASIS_MEMO))
            if hit is not None:
                for note in hit.parsed:
                    store.put(note)
                store.put_memo(BASIS_MEMO, hit.basis)
                if before.key is not None:
                    store.set_meta(SYNC_STAMP_KEY, before.key)
                    store.set_meta(SYNC_SUMMARY_KEY, hit.summary)
                    store.set_meta(SYNC_WARNINGS_KEY, "\n".join(hit.warnings))
                for notice in hit.notices:
                    if not quiet:
                        click.echo(f"note: {notice}", err=True)
                for line in hit.warnings:  # (names left out; a basis is made only when every note was read)
                    click.echo(line, err=True)
                edited = len(hit.changed)
                click.echo(f"{hit.summary} ({edited} note{'s' if edited != 1 else ''} changed since the last sync, "
                           "none in what sync reads: nothing to write)" if edited else
                           f"{hit.summary} (no note changed since the last sync)")
                return 1 if hit.warnings else 0
        finally:
            store.close()
    # (--check, --diff and --dry-run write nothing: they reuse the cache a sync made, and never make one)
    cache = existing_cache(vault, no_cache) if mode != "write" else not no_cache
    try:
        v, plan, report = run_sync(vault, mode_name=mode, force=force, cache=cache, quiet=quiet)
    except VaultkitError as exc:
        raise fail(exc) from None
    except OSError as exc:  # e.g. a read-only vault: the output folder cannot be made
        raise fail(f"cannot write into {vault}: {exc.strerror or exc} ({exc.filename or vault})") from None
    if own is not None:
        for outcome in report.outcomes:
            if outcome.action in ("created", "updated", "removed"):
                own.record(outcome.path)
    for notice in plan.notices:
        if not quiet:
            click.echo(f"note: {notice}", err=True)
    warnings = unread_warnings(v)  # (shown with --quiet too)
    for line in warnings:
        click.echo(line, err=True)
    alike: dict[tuple[str, str], int] = {}  # (folder, reason) of failed writes -> how many
    for outcome in report.outcomes:
        if mode == "diff" and outcome.diff:
            click.echo(outcome.diff, nl=False)
            continue
        if outcome.action == "unchanged":
            continue
        problem = outcome.action not in ("created", "updated", "removed")
        if quiet and not problem:
            continue
        if outcome.action == "error":  # (a folder that cannot be written: one reason, thousands of files)
            key = (outcome.path.rpartition("/")[0], _reason(outcome.message, vault / outcome.path))
            alike[key] = alike.get(key, 0) + 1
            if alike[key] > ALIKE_ERRORS:
                continue
        verb = outcome.action if mode == "write" else f"would be {outcome.action}" if not problem else outcome.action
        line = f"{verb}: {outcome.path}" + (f" ({outcome.message})" if outcome.message else "")
        click.echo(line, err=problem)
    for (folder, reason), count in alike.items():
        if count > ALIKE_ERRORS:
            click.echo(f"error: … and {count - ALIKE_ERRORS} more files in {folder or '.'}/ ({reason})", err=True)
    if changed:
        for found in findings_in(v, changed):
            click.echo(found, err=True)
    line = summary_line(v, plan, report)
    click.echo(line, err=mode == "diff")
    status = exit_status(report, check=mode == "check")
    if warnings:
        status = max(status, 1)  # (what the sync made lacks what it could not read)
    if before is not None and not report.changed and all(o.action == "unchanged" for o in report.outcomes):
        # Every generated note was already as planned (a write can make links resolve, and so change
        # the summary): remember what the plan was made from (vaultkit.basis), and the stamp when
        # no note changed during the sync (the inputs' stamps agree).
        from ..basis import BASIS_MEMO, make_basis

        after = vault_stamp(vault, output=output)
        if not _as_verified(after.output_files, report.looked):
            return status  # one changed after the writer looked at it
        basis = make_basis(v, before, after.outputs, line.split("; files:")[0], plan.notices,
                           previous=v.previous_memo(BASIS_MEMO), warnings=warnings)
        store = NoteCache.open(vault)
        try:
            if basis is not None:
                store.put_memo(BASIS_MEMO, basis)
            if before.inputs is not None and after.inputs == before.inputs and after.key is not None:
                store.set_meta(SYNC_STAMP_KEY, after.key)
                store.set_meta(SYNC_SUMMARY_KEY, line.split("; files:")[0])
                store.set_meta(SYNC_WARNINGS_KEY, "\n".join(warnings))  # (mended permissions change ctimes: the stamp)
        finally:
            store.close()
    return status


#: Failed writes in one folder for one reason that sync lists one by one (then a count).
ALIKE_ERRORS = 5


def _reason(message: str, path: Path) -> str:
    """A failed write's message without the paths it names (the file's own, a temporary file's): what files
    failing alike share.

    >>> _reason("cannot inspect: [Errno 13] Permission denied: '/v/out/A.md'", Path("/v/out/A.md"))
    'cannot inspect: [Errno 13] Permission denied'
    >>> _reason("cannot write: [Errno 13] Permission denied: '/v/out/.~vaultkit-9f.tmp'", Path("/v/out/A.md"))
    'cannot write: [Errno 13] Permission denied'
    """
    import re

    where = os.fspath(path)
    return re.sub(r": '(?:/|[A-Za-z]:\\)[^']*'", "", message).replace(where, "…")


#: Findings of the changed notes a watch-mode sync prints at most (then a count).
WATCH_FINDINGS = 20


def findings_in(vault, paths: "set[str]", limit: int = WATCH_FINDINGS) -> list[str]:
    """What ``vaultkit lint`` finds in the user notes among ``paths``, as its text format prints them but with
    vault paths; at most ``limit`` lines, then one that counts the rest. Empty when the configuration is
    invalid (lint reports that).

    ``vault`` was just synced: generated notes count as fresh (their findings are not asked for).
    """
    from ..errors import VaultkitError
    from ..lint import LintOptions, lint
    from ..report import text_line

    notes = sorted(p for p in paths if p in vault.notes and not vault.is_generated(vault.notes[p]))
    if not notes:
        return []
    try:
        found = lint(vault, LintOptions(paths=notes), generated_fresh=True).diagnostics
    except VaultkitError:
        return []
    lines = [text_line(d) for d in found[:limit]]
    if len(found) > limit:
        lines.append(f"… and {len(found) - limit} more in {_count(len(notes), 'changed note')} (see `vaultkit lint`)")
    return lines


def _as_verified(output_files: dict, looked: dict) -> bool:
    """Whether every file in the output folder is one the writer found up to date, untouched since
    (``looked``: :attr:`~vaultkit.writer.WriteReport.looked`).

    (Else a generated note edited by hand in the moment after the writer looked at it would be
    taken as up to date by the next sync's early stops, and never reported.)
    """
    for path, st in output_files.items():
        looks = looked.get(path)
        if looks is None or tuple(looks[1:]) != tuple(st):
            return False
    return True


def _inputs_stamp(vault: Path) -> str | None:
    """Fingerprint of every vault file outside the output folder (``None``: unknown, or changed just now)."""
    from ..cache import vault_stamp
    from ..config import load_config
    from ..errors import VaultkitError

    try:
        return vault_stamp(vault, output=load_config(vault).output).inputs
    except (VaultkitError, OSError):
        return None


def _watch(vault: Path, force: bool, no_cache: bool, quiet: bool, started: str | None) -> int:
    """Sync again after every debounced batch of changes until Ctrl-C (``started``: the
    :func:`_inputs_stamp` taken before the first sync); returns the exit status: 0, or 130 when the Ctrl-C
    cut a sync short."""
    from ..cli import ignore_further_interrupts
    from ..config import load_config
    from ..errors import VaultkitError
    from ..watch import OwnWrites, watch

    try:
        output = load_config(vault).output.strip("/")
    except VaultkitError as exc:
        raise fail(exc) from None

    own = OwnWrites(vault)

    def ignore(rel: str) -> bool:
        # what the last sync wrote or removed, as it left it; and folders of the output folder that are
        # there (made by a sync; a folder deleted, or a generated note deleted or edited, is a change)
        if own(rel):
            return True
        return (rel == output or rel.startswith(output + "/")) and os.path.isdir(os.path.join(vault, rel))

    cut_short = False  # a Ctrl-C stopped a sync midway

    def on_change(paths: set[str]) -> None:
        nonlocal cut_short
        shown = ", ".join(sorted(paths)[:3]) + (f" and {len(paths) - 3} more" if len(paths) > 3 else "")
        click.echo(f"changed: {shown}", err=True)
        try:
            _sync_once(vault, "write", force, no_cache, quiet, own, paths)
        except click.ClickException as exc:  # keep watching after a failed sync
            click.echo(f"error: {exc.format_message()}", err=True)
        except KeyboardInterrupt:
            cut_short = True
            raise
        except Exception as exc:
            if _from_an_interrupt(exc):  # (Python wraps what __set_name__ raises, a Ctrl-C too, in RuntimeError)
                cut_short = True
                raise KeyboardInterrupt from exc
            raise

    def on_error(exc: BaseException) -> None:
        click.echo(f"error: {exc}", err=True)

    def on_start() -> None:
        # a note changed after the first sync began and before the watcher ran: sync again now
        if started is None or _inputs_stamp(vault) != started:
            on_change({"(files changed while the watcher started)"})

    click.echo(f"watching {vault} for changes (Ctrl-C to stop)", err=True)
    try:
        interrupted = watch(vault, on_change, ignore=ignore, on_error=on_error, on_start=on_start)
    except KeyboardInterrupt:  # (a second Ctrl-C just as watch() put the handler back)
        interrupted = True
    if interrupted:
        ignore_further_interrupts()  # (only winding down now: as after an interrupted sync)
    if cut_short:
        click.echo(f"stopped watching; the sync in progress was interrupted: run `vaultkit sync {vault}` "
                   "to finish it", err=True)
        return 130
    click.echo("stopped watching", err=True)
    return 0


def _from_an_interrupt(exc: BaseException) -> bool:
    """Whether ``exc`` was raised while a ``KeyboardInterrupt`` propagated (its cause or context, at any depth)."""
    seen: set[int] = set()
    cause: BaseException | None = exc
    while cause is not None and id(cause) not in seen:
        if isinstance(cause, KeyboardInterrupt):
            return True
        seen.add(id(cause))
        cause = cause.__cause__ or cause.__context__
    return False


def register(group: click.Group) -> None:
    group.add_command(sync_cmd)
