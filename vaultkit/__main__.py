"""``python -m vaultkit`` and the ``vaultkit`` command: start the command line interface."""

import sys


def main() -> None:
    """Run :func:`vaultkit.cli.main`; a Ctrl-C while Python still loads it (click and the commands,
    about 55 ms) ends the process with status 130 and a word on stderr, not a traceback."""
    try:
        from .cli import main as cli_main
    except KeyboardInterrupt:
        import signal

        signal.signal(signal.SIGINT, signal.SIG_IGN)  # (only winding down now)
        sys.stderr.write("\nvaultkit: interrupted\n")
        sys.exit(130)
    cli_main()


if __name__ == "__main__":  # pragma: no cover
    main()
