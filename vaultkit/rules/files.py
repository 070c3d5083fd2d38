"""VK0xx: the file and its frontmatter block (YAML, mapping, keys, encoding)."""

from __future__ import annotations

import importlib
from collections.abc import Iterator

from ..model import Diagnostic
from .base import LintContext, diag, rule


@rule("VK001")
def invalid_yaml(ctx: LintContext) -> Iterator[Diagnostic]:
    """The frontmatter block is not valid YAML, so Obsidian shows no properties for the note.

    What it checks
    --------------
    The text between the opening ``---`` and the closing ``---`` is read as YAML
    1.2 (the way Obsidian's ``yaml`` library reads it). A syntax error, such as
    an unquoted value that contains ``: ``, a tab used for indentation or an
    unclosed quote, is reported at the line and column where the reader
    stopped.

    Why it matters
    --------------
    Obsidian drops the whole block when it cannot read it: the note loses its
    tags, aliases and every other property, in search, in the graph and in
    Dataview, without saying so.

    Example
    -------
    ::

        ---
        title: Scaling: what works
        ---

    Instead
    -------
    ::

        ---
        title: "Scaling: what works"
        ---

    Fix
    ---
    No automatic fix: the intended value is not knowable. Quote the value.
    """
    yield from ctx.emitted("VK001")


@rule("VK002")
def frontmatter_not_mapping(ctx: LintContext) -> Iterator[Diagnostic]:
    """The frontmatter is valid YAML but not a mapping of properties.

    What it checks
    --------------
    The YAML document of the frontmatter must be a mapping (``key: value``
    lines). A list, a single string or a number at the top level is reported.

    Why it matters
    --------------
    Obsidian reads properties only from a mapping; anything else gives the
    note no properties at all.

    Example
    -------
    ::

        ---
        - production
        - scaling
        ---

    Instead
    -------
    ::

        ---
        tags:
          - production
          - scaling
        ---

    Fix
    ---
    No automatic fix: put the values under a property name.
    """
    yield from ctx.emitted("VK002")


@rule("VK003")
def duplicate_key(ctx: LintContext) -> Iterator[Diagnostic]:
    """A property name appears twice in the same frontmatter mapping.

    What it checks
    --------------
    A key repeated in one mapping of the frontmatter (``tags:`` twice, for
    example). The finding points at the second occurrence.

    Why it matters
    --------------
    Obsidian's YAML reader rejects a repeated key and the note loses all of its
    properties; other tools silently keep the first or the last value, so the
    note means different things in different tools.

    Example
    -------
    ::

        ---
        tags: [a]
        title: Note
        tags: [b]
        ---

    Instead
    -------
    ::

        ---
        tags: [a, b]
        title: Note
        ---

    Fix
    ---
    No automatic fix: merge the two values by hand.
    """
    yield from ctx.emitted("VK003")


@rule("VK004", fix="sometimes")
def not_utf8(ctx: LintContext) -> Iterator[Diagnostic]:
    """The file is not valid UTF-8 (or cannot be read at all).

    What it checks
    --------------
    Every note is decoded as UTF-8, as Obsidian does. Bytes that are not valid
    UTF-8 are reported with the line of the first bad byte and the encoding the
    file most likely uses (for example ``cp1251``). A file or folder that cannot
    be read (permissions, a dangling symbolic link) is reported too: what it holds
    is left out, and ``vaultkit sync`` names it in a warning and exits 1.

    Why it matters
    --------------
    Obsidian shows the undecodable bytes as replacement characters (``�``);
    editing and saving the note in Obsidian then destroys the original text.

    Example
    -------
    A note saved by an old editor in Windows-1251: the bytes ``0xCF 0xF0 0xE8``
    for ``При``.

    Instead
    -------
    The same note saved as UTF-8.

    Fix
    ---
    Sometimes, and only when asked: ``vaultkit fix --convert-encoding``
    converts a note to UTF-8 from the encoding it guessed (check the guess
    with ``--dry-run`` first), or convert it yourself, for example with
    ``iconv -f cp1251 -t utf-8``. A file or folder that cannot be read needs
    its permissions mended.
    """
    yield from ctx.emitted("VK004")


@rule("VK005", fix="always")
def byte_order_mark(ctx: LintContext) -> Iterator[Diagnostic]:
    """The file starts with a UTF-8 byte-order mark.

    What it checks
    --------------
    The three bytes ``EF BB BF`` at the very start of a note.

    Why it matters
    --------------
    Obsidian's indexer skips the mark, but many other tools (static site
    generators, ``grep '^---'``, some YAML readers) then fail to see the
    frontmatter block. The mark is invisible in editors, so the cause is hard
    to find.

    Example
    -------
    A note whose first bytes are ``EF BB BF 2D 2D 2D`` (BOM, then ``---``).

    Instead
    -------
    The same note starting directly with ``---``.

    Fix
    ---
    Safe: remove the three bytes; nothing else changes.
    """
    yield from ctx.emitted("VK005")


@rule("VK006", fix="sometimes")
def mojibake(ctx: LintContext) -> Iterator[Diagnostic]:
    """Text that was decoded with the wrong encoding once and saved again (mojibake).

    What it checks
    --------------
    Runs such as ``Ð¿Ñ€Ð¸Ð²ÐµÑ‚`` (UTF-8 read as Windows-1252/Latin-1) or
    ``РїСЂРёРІРµС‚`` (UTF-8 read as Windows-1251) in a note's text. The
    detector is ``vaultkit.encoding.find_mojibake(text)``, run on the whole
    file text; each finding gives the line and column of the run and the text
    it most likely was. When ``vaultkit.encoding`` is missing this rule
    reports nothing.

    Why it matters
    --------------
    The file is valid UTF-8, so no other check notices; the words are lost for
    search, links and tags until someone repairs them.

    Example
    -------
    ::

        Ð¡ÐµÐ¼Ð°Ð½Ñ‚Ð¸ÐºÐ°

    Instead
    -------
    ::

        Семантика

    Fix
    ---
    Sometimes, and only after review: re-encoding the run gives the repaired
    text shown in the message; ``vaultkit fix`` will offer it.
    """
    try:
        encoding = importlib.import_module("vaultkit.encoding")
    except ImportError:
        return
    find = getattr(encoding, "find_mojibake", None)
    if find is None:
        return
    for note in ctx.notes:
        text = ctx.text_of(note)
        if not text:
            continue
        for item in find(text):
            if hasattr(item, "snippet"):
                line, col, snippet, repaired = item.line, item.col, item.snippet, item.repaired
            else:
                line, col, snippet, repaired = tuple(item)[:4]
            codec = getattr(item, "codec", "")
            how = f" (UTF-8 read as {codec})" if codec else ""
            yield diag("VK006", f"mojibake {snippet!r}{how}; probably {repaired!r}", note, int(line), int(col))


@rule("VK007", fix="always")
def frontmatter_close_with_trailing_text(ctx: LintContext) -> Iterator[Diagnostic]:
    """Text follows the closing ``---`` of the frontmatter on the same line.

    What it checks
    --------------
    A closing fence such as ``--- some text``. Obsidian's indexer closes the
    block there and treats the rest of the line as the first body line.

    Why it matters
    --------------
    Obsidian's Properties editor does not accept the block, and other tools
    disagree about where the frontmatter ends; the text after the fence is easy
    to miss.

    Example
    -------
    ::

        ---
        title: Note
        --- draft

    Instead
    -------
    ::

        ---
        title: Note
        ---
        draft

    Fix
    ---
    Safe: move the trailing text to its own line below the fence.
    """
    yield from ctx.emitted("VK007")
