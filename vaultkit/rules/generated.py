"""VK4xx: notes that ``vaultkit sync`` generated.

A generated note sits in the output folder (``_vaultkit/`` by default) and
carries a ``vaultkit:`` mapping in its frontmatter. Whether such a note is out
of date is decided by a replaceable function, the *freshness check*: until
``vaultkit sync`` registers one that compares with what it would write now,
the default compares the marker's ``hash`` with the note's text.

Examples
--------
>>> body_hash("Hello\\n") == body_hash("Hello\\r\\n".replace("\\r\\n", "\\n"))
True
"""

from __future__ import annotations

import hashlib
import importlib
from collections.abc import Callable, Iterator

from ..frontmatter import split_frontmatter
from ..model import Diagnostic, Note
from ..vault import GENERATOR_KEY
from .base import LintContext, diag, rule

__all__ = ["body_hash", "hash_freshness", "set_freshness_check", "get_freshness_check", "FreshnessCheck"]

#: ``check(ctx, note) -> message or None``: ``None`` when ``note`` is up to date.
FreshnessCheck = Callable[[LintContext, Note], "str | None"]


def body_hash(body: str) -> str:
    """sha256 hex digest of a body text (the text after the frontmatter, ``\\n`` newlines, UTF-8).

    >>> body_hash("")[:12]
    'e3b0c44298fc'
    """
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


def _writer_content_hash() -> Callable[[str], str] | None:
    """``vaultkit.writer.content_hash`` when that module is present (it defines the ``sha256:`` marker)."""
    try:
        writer = importlib.import_module("vaultkit.writer")
    except ImportError:
        return None
    return getattr(writer, "content_hash", None)


def hash_freshness(ctx: LintContext, note: Note) -> str | None:
    """Default freshness check: the marker's ``hash`` must still describe the note.

    Two forms of ``hash`` are understood:

    * ``"sha256:<hex>"``, as ``vaultkit sync`` writes it: the SHA-256 of the
      whole note (BOM dropped, ``\\n`` newlines) with the marker line taken
      out, computed by ``vaultkit.writer.content_hash``;
    * a bare ``<hex>``: :func:`body_hash` of the body, the text after the
      closing ``---`` line.

    A marker without a ``hash`` string is not checked.
    """
    marker = (note.frontmatter or {}).get(GENERATOR_KEY)
    if not isinstance(marker, dict):
        return None
    expected = marker.get("hash")
    if not isinstance(expected, str) or not expected.strip():
        return None
    expected = expected.strip().lower()
    text = ctx.text_of(note)
    if text is None:
        return None
    algo, sep, digest = expected.partition(":")
    if sep:
        content_hash = _writer_content_hash()
        if algo != "sha256" or content_hash is None:
            return None
        actual, what = content_hash(text), "note"
    else:
        block = split_frontmatter(text)
        actual, what = body_hash(block.body if block is not None else text), "body"
        digest = expected
    if actual == digest:
        return None
    return (f"generated note was edited or is out of date: the {what} hashes to {actual[:12]}…, "
            f"the marker says {digest[:12]}…; run 'vaultkit sync'")


_freshness: list[FreshnessCheck] = [hash_freshness]


def set_freshness_check(check: FreshnessCheck | None) -> FreshnessCheck:
    """Replace the freshness check (``None`` restores :func:`hash_freshness`); returns the previous one."""
    previous = _freshness[0]
    _freshness[0] = check if check is not None else hash_freshness
    return previous


def get_freshness_check() -> FreshnessCheck:
    """The freshness check in use."""
    return _freshness[0]


@rule("VK401", fix="always")
def generated_note_out_of_date(ctx: LintContext) -> Iterator[Diagnostic]:
    """A note that ``vaultkit sync`` generated no longer matches what it wrote.

    What it checks
    --------------
    Notes in the output folder (``output`` in ``vaultkit.toml``, default
    ``_vaultkit``) whose frontmatter has the ``vaultkit:`` marker mapping. The
    marker's ``hash`` records the text as written: ``"sha256:<hex>"`` (what
    ``vaultkit sync`` writes) is the SHA-256 of the whole note with the marker
    line taken out; a bare ``<hex>`` is the SHA-256 of the body alone (the
    text after the closing ``---``). Text is UTF-8 with ``\\n`` newlines and
    no BOM. When the note on disk hashes differently it was edited by hand or
    is stale. The check is a replaceable function
    (``vaultkit.rules.generated.set_freshness_check``), so ``vaultkit sync``
    can plug in a comparison with the notes it would write now. Notes outside
    the output folder, and markers without ``hash``, are not checked.

    Why it matters
    --------------
    The next ``vaultkit sync`` rewrites generated notes whole: edits made in
    them are lost, and a stale note shows tiers and techniques that the source
    tables no longer contain.

    Example
    -------
    ::

        _vaultkit/Tier 3.md, edited by hand after sync:
        ---
        type: tier
        tier: 3
        vaultkit: {generator: vaultkit, version: "0.1.0", hash: "sha256:9f2c…"}
        ---
        - [[LoRA]]  (my note: try this next)

    Instead
    -------
    Put your own text in a note of your own that links to the generated one,
    and run ``vaultkit sync`` after changing a tier table.

    Fix
    ---
    Safe: ``vaultkit sync`` rewrites the note (your edits in it are lost).
    """
    check = get_freshness_check()
    for note in ctx.notes:
        if not ctx.vault.is_generated(note):
            continue
        message = check(ctx, note)
        if message:
            yield diag("VK401", message, note, 1)
