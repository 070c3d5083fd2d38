"""A progress bar on stderr for long runs, for the command layer.

The library itself never prints: it accepts a plain ``progress(n)`` callback
(see :func:`vaultkit.pool.parse_files`). The commands create a
:class:`Progress` and pass its :meth:`Progress.advance` method. The bar is
drawn only when the stream is a terminal, ``quiet`` is off and the run lasts
long enough to be worth showing (:data:`DELAY` seconds); otherwise every call
is a cheap no-op and nothing at all is written, so pipes, CI logs and
``--format json`` output stay clean.

Examples
--------
>>> import io
>>> out = io.StringIO()                       # not a TTY: stays silent
>>> with Progress(3, "parsing", stream=out) as bar:
...     bar.advance(); bar.advance(2)
>>> out.getvalue()
''
"""

from __future__ import annotations

import os
import sys
import time
from typing import TextIO

__all__ = ["Progress", "Stages", "DELAY", "INTERVAL"]

#: Seconds a run must last before the bar appears (short runs never flash a bar).
DELAY = 0.3

#: Minimum seconds between redraws.
INTERVAL = 0.1


class Progress:
    """A one-line ``label [####....] done/total`` bar.

    Parameters
    ----------
    total : int
        Number of steps (e.g. notes to parse); 0 or less draws a counter without a bar.
    label : str
        Word shown before the bar.
    stream : text stream, optional
        Where to draw; default ``sys.stderr``.
    quiet : bool
        Never draw (``--quiet``).
    force : bool
        Draw even when ``stream`` is not a terminal (for tests).

    Attributes
    ----------
    enabled : bool
        Whether anything will be drawn.
    done : int
        Steps finished so far.
    """

    def __init__(self, total: int, label: str = "", *, stream: TextIO | None = None, quiet: bool = False,
                 force: bool = False, delay: float = DELAY) -> None:
        self.total = total
        self.label = label
        self.stream = stream if stream is not None else sys.stderr
        self.done = 0
        self.enabled = not quiet and (force or _isatty(self.stream)) and os.environ.get("TERM") != "dumb"
        self._start = time.monotonic()
        self._delay = delay
        self._last = 0.0
        self._drawn = False

    def advance(self, n: int = 1) -> None:
        """Count ``n`` more finished steps and redraw when due."""
        self.done += n
        if not self.enabled:
            return
        now = time.monotonic()
        if now - self._start < self._delay or now - self._last < INTERVAL:
            return
        self._last = now
        self._draw()

    __call__ = advance

    def set_total(self, total: int) -> None:
        """Change the number of steps (e.g. once the cache has told how many notes need parsing)."""
        self.total = total

    def render(self, width: int = 80) -> str:
        """The bar as text (without the leading carriage return)."""
        label = f"{self.label} " if self.label else ""
        if self.total > 0:
            frac = min(1.0, self.done / self.total)
            counts = f" {self.done}/{self.total} {frac * 100:3.0f}%"
            room = max(10, min(40, width - len(label) - len(counts) - 3))
            fill = int(frac * room)
            return f"{label}[{'#' * fill}{'.' * (room - fill)}]{counts}"
        return f"{label}{self.done}"

    def _draw(self) -> None:
        try:
            width = os.get_terminal_size(self.stream.fileno()).columns
        except (OSError, ValueError, AttributeError):
            width = 80
        try:
            self.stream.write("\r" + self.render(width)[: max(1, width - 1)])
            self.stream.flush()
            self._drawn = True
        except (OSError, ValueError):  # closed or broken stream: stop drawing
            self.enabled = False

    def close(self) -> None:
        """Erase the bar (if one was drawn) so later output starts on a clean line."""
        if self._drawn:
            try:
                self.stream.write("\r\x1b[2K")
                self.stream.flush()
            except (OSError, ValueError):
                pass
            self._drawn = False
        self.enabled = False

    def __enter__(self) -> "Progress":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class Stages:
    """One :class:`Progress` bar after another, for library code that reports ``(stage, done, total)``.

    Call it with a stage's label, the steps done so far and its total: a new
    label erases the previous bar and starts a new one (drawn, as always, only
    on a terminal and once the stage has lasted :data:`DELAY` seconds).

    Examples
    --------
    >>> import io
    >>> out = io.StringIO()
    >>> with Stages(stream=out, force=True, delay=0) as stages:
    ...     stages("planning", 1, 2); stages("writing", 1, 1)
    >>> "writing [" in out.getvalue()
    True
    """

    def __init__(self, *, stream: TextIO | None = None, quiet: bool = False, force: bool = False,
                 delay: float = DELAY) -> None:
        self._options = {"stream": stream, "quiet": quiet, "force": force, "delay": delay}
        self._bar: Progress | None = None

    def __call__(self, label: str, done: int, total: int) -> None:
        bar = self._bar
        if bar is None or bar.label != label:
            if bar is not None:
                bar.close()
            bar = self._bar = Progress(total, label, **self._options)  # type: ignore[arg-type]
        bar.set_total(total)
        bar.advance(done - bar.done)

    def close(self) -> None:
        """Erase the current bar."""
        if self._bar is not None:
            self._bar.close()

    def __enter__(self) -> "Stages":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _isatty(stream: TextIO) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False
