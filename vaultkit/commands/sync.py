"""``vaultkit sync``: the main job — parse, resolve, plan the generated notes, write them safely."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from .common import fail, load_vault, vault_argument


def run_sync(vault_path: Path, *, mode_name: str = "write", force: bool = False, cache: bool = True):
    """Load the vault, plan the generated notes and hand them to the writer.

    Returns ``(vault, plan, report)``; raises :class:`~vaultkit.errors.VaultkitError` subclasses.
    """
    from ..generate import plan_generation
    from ..writer import PlannedFile, PlannedRegion, WriteMode, apply

    vault = load_vault(vault_path, cache=cache)
    plan = plan_generation(vault)
    mode = {"write": WriteMode.WRITE, "check": WriteMode.CHECK, "diff": WriteMode.DIFF,
            "dry-run": WriteMode.DRY_RUN}[mode_name]
    files = [PlannedFile(path, text) for path, text in plan.files.items()]
    regions = [PlannedRegion(path, name, text) for path, name, text in plan.regions]
    report = apply(vault.root, vault.config.output, files, regions, mode=mode, force=force)
    return vault, plan, report


def summary_line(vault, plan, report) -> str:
    """The one-line summary of a sync run."""
    user = vault.user_notes()
    links = [link for note in user for link in note.links if not link.in_comment]
    unresolved = sum(1 for link in links if link.resolved is None)
    diags = sum(len(note.diagnostics) for note in user)
    return (f"{len(user)} notes, {len(links)} links ({len(links) - unresolved} resolved, {unresolved} unresolved), "
            f"{plan.techniques} techniques, {plan.tiers} tiers; files: {report.summary()}; "
            f"{diags} diagnostics (see `vaultkit lint`)")


@click.command("sync")
@vault_argument
@click.option("--check", "mode", flag_value="check", help="Write nothing; exit 1 if a sync would change a file.")
@click.option("--diff", "mode", flag_value="diff", help="Print the changes as unified diffs; write nothing.")
@click.option("--dry-run", "mode", flag_value="dry-run", help="List what would be written; write nothing.")
@click.option("--force", is_flag=True, help="Overwrite generated notes that were edited by hand.")
@click.option("--no-cache", is_flag=True, help="Parse every note again instead of using .vaultkit/cache.sqlite.")
@click.option("-q", "--quiet", is_flag=True, help="Print only problems and the summary line.")
def sync_cmd(vault: Path, mode: str | None, force: bool, no_cache: bool, quiet: bool) -> None:
    """Write the index, tier, technique and cost-to-value notes into VAULT/_vaultkit/.

    VAULT defaults to the current folder. vaultkit writes only inside its
    output folder (set `output` in vaultkit.toml) and only notes it owns;
    a generated note you edited is kept and reported (--force overwrites it).
    A second run with nothing changed writes nothing. Exit status: 0 done,
    1 a file was left alone (edited by you, taken, refused) or --check found
    changes, 2 a write failed or a usage/configuration error.

    \b
    vaultkit sync vault
    vaultkit sync vault --check     # CI: exit 1 when generated notes are out of date
    vaultkit sync vault --diff
    """
    from ..errors import VaultkitError

    mode = mode or "write"
    try:
        v, plan, report = run_sync(vault, mode_name=mode, force=force, cache=not no_cache)
    except VaultkitError as exc:
        raise fail(exc) from None
    except OSError as exc:  # e.g. a read-only vault: the output folder cannot be made
        raise fail(f"cannot write into {vault}: {exc.strerror or exc} ({exc.filename or vault})") from None
    for notice in plan.notices:
        if not quiet:
            click.echo(f"note: {notice}", err=True)
    for outcome in report.outcomes:
        if mode == "diff" and outcome.diff:
            click.echo(outcome.diff, nl=False)
            continue
        if outcome.action == "unchanged":
            continue
        problem = outcome.action not in ("created", "updated", "removed")
        if quiet and not problem:
            continue
        verb = outcome.action if mode == "write" else f"would be {outcome.action}" if not problem else outcome.action
        line = f"{verb}: {outcome.path}" + (f" ({outcome.message})" if outcome.message else "")
        click.echo(line, err=problem)
    click.echo(summary_line(v, plan, report), err=mode == "diff")
    sys.exit(exit_status(report, check=mode == "check"))


def exit_status(report, *, check: bool) -> int:
    """2 when a write failed, 1 when a file was left alone for a reason (edited, taken, refused)
    or ``--check`` found changes, else 0."""
    if any(o.action == "error" for o in report.outcomes):
        return 2
    if report.problems or (check and report.changed):
        return 1
    return 0


def register(group: click.Group) -> None:
    group.add_command(sync_cmd)
