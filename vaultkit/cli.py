"""Command line interface: a thin click layer over the library.

Only this layer prints or exits. Exit status: 0 clean, 1 findings (or
``--check`` found changes), 2 usage, configuration or internal error, 130
interrupted (Ctrl-C), 143 / 129 ended by SIGTERM / SIGHUP.
"""

from __future__ import annotations

import errno
import gc
import importlib
import os
import signal
import sys

import click

from . import __version__
from .commands import COMMAND_MODULES

__all__ = ["main", "cli", "VaultkitClickError"]


class VaultkitClickError(click.ClickException):
    """A :class:`~vaultkit.errors.VaultkitError` shown to the user; exits with status 2."""

    exit_code = 2


class _Group(click.Group):
    """The root group: a Ctrl-C (SIGINT) ends a command with the shell's status 130 and a word on stderr,
    where click would say "Aborted!" and exit 1 (``sync --watch`` stops on Ctrl-C itself, with status 0)."""

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except KeyboardInterrupt:
            ignore_further_interrupts()
            click.echo("\nvaultkit: interrupted; run the command again to finish",
                       err=True)
            sys.exit(130)


#: Set by :func:`main`: this process is the ``vaultkit`` command, and ends with it.
_ENTRY_POINT_RUNNING = False


def ignore_further_interrupts() -> None:
    """Once interrupted, the command only winds down: another Ctrl-C then would just print a traceback
    (or end the process by the signal instead of its exit status). Only in the ``vaultkit`` process
    itself (not in a test's CliRunner, whose process goes on)."""
    if _ENTRY_POINT_RUNNING:
        signal.signal(signal.SIGINT, signal.SIG_IGN)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="vaultkit")
def cli() -> None:
    """Turn an Obsidian vault into a checked, browsable knowledge graph.

    \b
    vaultkit sync VAULT      write index, tier and technique notes into VAULT/_vaultkit/
    vaultkit lint VAULT      check notes (frontmatter, schemas, links, tags, tier tables)
    vaultkit show VAULT      print the parsed model of the notes
    vaultkit graph VAULT     export the knowledge graph (JSON, GraphML, GEXF, Canvas, Mermaid)
    vaultkit fix VAULT       repair mojibake and legacy properties (--diff, --dry-run first)
    vaultkit rule CODE       explain a lint rule (vaultkit rule --all lists them)

    VAULTKIT_WORKERS=N fixes the number of worker processes (1: none; default: the idle CPUs).
    """
    from .pool import ENV_WORKERS, env_workers

    try:  # (the pool would quietly choose for itself)
        bad = env_workers() == 0
    except ValueError:
        bad = True
    if bad:
        value = os.environ.get(ENV_WORKERS, "").strip()
        raise click.UsageError(f"{ENV_WORKERS}={value!r}: give a whole number of worker processes, 1 or more "
                               "(1: none), or leave it unset to let vaultkit choose")


for _name in COMMAND_MODULES:
    importlib.import_module(f"vaultkit.commands.{_name}").register(cli)


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point."""
    # A vault parses into millions of small objects that form no reference cycles: the default
    # collector would walk them again and again (1k vault: plan_generation 7.9 -> 6.4-6.7 s CPU). Collect less often;
    # load_vault() also freezes the loaded vault out of the collector's reach.
    global _ENTRY_POINT_RUNNING
    gc.set_threshold(50_000, 20, 20)
    _ENTRY_POINT_RUNNING = True
    before = _end_cleanly_on_terminate()
    try:
        cli.main(args=argv, prog_name="vaultkit", standalone_mode=True)
    except KeyboardInterrupt:  # pragma: no cover - (outside a command: while click reads the arguments)
        ignore_further_interrupts()
        sys.exit(130)
    except OSError as exc:
        if not _output_failed(exc):
            raise
        # (click ends a closed pipe quietly with status 1; a full disk or a failing terminal is said, status 2)
        sys.stderr.write(f"Error: cannot write the output: {exc.strerror or exc}\n")
        _silence_stdout()
        sys.exit(2)
    finally:
        _ENTRY_POINT_RUNNING = False
        for signum, handler in before.items():
            signal.signal(signum, handler)


def _output_failed(exc: OSError) -> bool:
    """Whether ``exc`` is standard output failing (``vaultkit graph > /dev/full``): an error of the stream
    itself, which names no file (an error of a file vaultkit writes names it and is reported where it
    happens)."""
    return exc.filename is None and exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EIO, errno.EFBIG)


def _silence_stdout() -> None:
    """Point standard output at the null device, so that flushing it at exit fails no more."""
    try:
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, sys.stdout.fileno())
        os.close(null)
    except (OSError, ValueError, AttributeError):  # pragma: no cover - (no real stdout)
        pass


def _end_cleanly_on_terminate() -> dict:
    """Have SIGTERM and SIGHUP (``kill PID``, ``timeout``, a closed terminal) end a run as Ctrl-C does:
    unwinding, so that worker processes are killed and files are left whole, then the exit status
    128 + the signal's number. By default they end the process at once, and the pool's workers, which
    wait for work that never comes, lived on for ever (helper's report, stop 27: 2 workers of 120 MB).
    A second such signal ends it at once. Returns the handlers to put back."""
    def terminate(signum: int, frame: object) -> None:
        signal.signal(signum, signal.SIG_DFL)
        raise SystemExit(128 + signum)

    before = {}
    for name in ("SIGTERM", "SIGHUP"):
        signum = getattr(signal, name, None)
        if signum is not None and signal.getsignal(signum) == signal.SIG_DFL:  # (not one ignored, e.g. nohup)
            before[signum] = signal.signal(signum, terminate)
    return before
