"""VK1xx: links (wikilinks, embeds, Markdown links, links in properties).

The resolver (:func:`vaultkit.resolve.resolve_vault`) decides what each link
reaches; these rules report what it found. Links inside ``%%`` comments are
resolved but never reported.
"""

from __future__ import annotations

from collections.abc import Iterator

from ..model import Diagnostic
from .base import LintContext, rule


def _not_in_comment(ctx: LintContext, code: str) -> Iterator[Diagnostic]:
    """Emitted diagnostics of ``code``, minus those that sit on a link inside a comment."""
    for note in ctx.notes:
        commented = {(link.line, link.col) for link in note.links if link.in_comment}
        for d in note.diagnostics:
            if d.code == code and (d.line, d.col) not in commented:
                yield d


@rule("VK101")
def unresolved_link(ctx: LintContext) -> Iterator[Diagnostic]:
    """A link that no file of the vault answers.

    What it checks
    --------------
    Every ``[[wikilink]]``, ``![[embed]]``, Markdown link to a vault file and
    ``"[[link]]"`` property value is resolved the way Obsidian resolves it
    (case-insensitive, ``.md`` optional, shortest path first). A link that
    reaches no file is reported. Links inside ``%% … %%`` comments, code spans,
    code blocks and math are not links and are skipped; so are names that are
    merely written in prose or quoted in a property (they are not links).

    Why it matters
    --------------
    Obsidian shows an unresolved link as a faded link and creates an empty note
    when someone clicks it; the graph gains a node that holds nothing. In a
    vault copied in part, these are the notes that are missing.

    Example
    -------
    ::

        See [[Scalng Laws]] for the numbers.

    Instead
    -------
    ::

        See [[Scaling Laws]] for the numbers.

    Fix
    ---
    No automatic fix: create the note or correct the name. To silence a link to
    a note that will be written later, put ``%% vaultkit-ignore VK101 %%`` on
    the line.
    """
    yield from _not_in_comment(ctx, "VK101")


@rule("VK102", fix="sometimes")
def ambiguous_link(ctx: LintContext) -> Iterator[Diagnostic]:
    """A bare link name that several files of the vault carry.

    What it checks
    --------------
    A link written without a folder (``[[Note]]``) while two or more files are
    named ``Note.md``. Obsidian then picks one by its own tie-break (same
    folder first, then the shortest path); the message names the pick and up
    to five of the others, then how many more there are.

    Why it matters
    --------------
    Moving or renaming an unrelated note can change which note the link opens,
    and other tools (publishers, exporters) may pick a different one.

    Example
    -------
    ::

        [[Index]]      (with Projects/Index.md and Archive/Index.md)

    Instead
    -------
    ::

        [[Projects/Index]]

    Fix
    ---
    Sometimes: writing the path Obsidian picks today keeps the meaning; a
    later ``vaultkit fix`` may offer that.
    """
    yield from _not_in_comment(ctx, "VK102")


@rule("VK103")
def missing_heading(ctx: LintContext) -> Iterator[Diagnostic]:
    """A link to a heading that the target note does not have.

    What it checks
    --------------
    ``[[Note#Heading]]`` and ``[[#Heading]]``: the heading part must match a
    heading of the target note (Obsidian compares headings ignoring case and
    punctuation; ``#A#B`` means heading ``B`` below ``A``).

    Why it matters
    --------------
    Obsidian opens the note at the top instead of the section, silently. Links
    copied from GitHub-style anchors (``#my-heading``) never match.

    Example
    -------
    ::

        [[Scaling Laws#Chinchila]]

    Instead
    -------
    ::

        [[Scaling Laws#Chinchilla]]

    Fix
    ---
    No automatic fix: correct the heading text or the link.
    """
    yield from _not_in_comment(ctx, "VK103")


@rule("VK104")
def missing_block(ctx: LintContext) -> Iterator[Diagnostic]:
    """A link to a block id (``#^id``) that the target note does not define.

    What it checks
    --------------
    ``[[Note#^abc123]]``: the target note must contain a block ending with
    ``^abc123``.

    Why it matters
    --------------
    The link and any embed of it show nothing; block ids are easy to delete
    while editing the paragraph they mark.

    Example
    -------
    ::

        ![[Meeting#^decision]]      (Meeting.md has no ^decision)

    Instead
    -------
    ::

        The budget is approved. ^decision      (in Meeting.md)

    Fix
    ---
    No automatic fix: restore the block id or change the link.
    """
    yield from _not_in_comment(ctx, "VK104")


@rule("VK105")
def empty_link(ctx: LintContext) -> Iterator[Diagnostic]:
    """An empty wikilink ``[[]]`` or embed ``![[]]``.

    What it checks
    --------------
    Double brackets with nothing (or only spaces) between them.

    Why it matters
    --------------
    It links nowhere; it is usually a link that was started and never
    finished.

    Example
    -------
    ::

        Related: [[]]

    Instead
    -------
    ::

        Related: [[Scaling Laws]]

    Fix
    ---
    No automatic fix: write the target or delete the brackets.
    """
    yield from ctx.emitted("VK105")
