"""VK4xx: notes that ``vaultkit sync`` generated.

A generated note sits in the output folder (``_vaultkit/`` by default) and
carries a ``vaultkit:`` mapping in its frontmatter. Whether such a note is out
of date is decided by a replaceable function, the *freshness check*: the
default compares the marker's ``hash`` with the note's text (edited by hand?)
and then the note with what ``vaultkit sync`` would write now (stale?).

Examples
--------
>>> body_hash("Hello\\n") == body_hash("Hello\\r\\n".replace("\\r\\n", "\\n"))
True
"""

from __future__ import annotations

import hashlib
import importlib
import os
import re
from collections.abc import Callable, Iterator

from ..frontmatter import split_frontmatter
from ..model import Diagnostic, Note
from ..vault import GENERATOR_KEY
from .base import LintContext, diag, rule

__all__ = ["body_hash", "hash_freshness", "plan_freshness", "set_freshness_check", "get_freshness_check", "FreshnessCheck"]

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
    if sep and content_hash is not None and content_hash(_without_marker_line(text)) == digest:
        return ("generated note's marker line was changed (it is no longer as vaultkit writes it; the rest of the "
                "note is as written): sync keeps the note; move any words you put in that line to a note of "
                "your own, then run 'vaultkit sync --force' to write it again")
    return (f"generated note was edited by hand (the {what} hashes to {actual[:12]}…, the marker says "
            f"{digest[:12]}…): sync keeps it; move your text to a note of your own, or run "
            f"'vaultkit sync --force' to replace it")


_LOOSE_MARKER_LINE = re.compile(r"^[ \t]*vaultkit[ \t]*:.*\n", re.M)


def _without_marker_line(text: str) -> str:
    """``text`` without the first frontmatter line that sets ``vaultkit`` (a marker line someone changed)."""
    block = split_frontmatter(text)
    if block is None:
        return text
    m = _LOOSE_MARKER_LINE.search(text, 4, 4 + len(block.yaml))
    return text if m is None else text[:m.start()] + text[m.end():]


def plan_freshness(ctx: LintContext, note: Note) -> str | None:
    """Default freshness check: edited (see :func:`hash_freshness`), else different from what sync would write.

    The plan of generated notes (:func:`vaultkit.generate.plan_generation`) is
    made once per lint run and kept on the context, with what the last sync's
    writer found up to date (its memo, when the vault is loaded with the
    cache): a note whose inputs are those of that run and that is still the
    file the writer saw then is up to date without being made again, as
    ``vaultkit sync`` decides it. No plan at all when the context knows the
    generated notes are as sync would write them (``ctx.generated_fresh``: the
    last sync found them so and no file changed since).
    """
    if ctx.generated_fresh:
        return None
    edited = hash_freshness(ctx, note)
    if edited:
        if _edited_into_the_plan(ctx, note):
            return ("generated note was edited into what sync writes now (links Obsidian updated after a rename?): "
                    "the next 'vaultkit sync' takes it back and renews its marker")
        return edited
    planned = _plan_of(ctx).get(note.path)
    if planned is None:
        from ..writer import ownership

        text = ctx.text_of(note)
        if text is not None and ownership(text) == "clean":
            return "generated note is no longer produced by the tier tables; the next 'vaultkit sync' removes it"
        # (as the writer treats it: kept, being edited or without the exact marker line)
        return ("generated note is no longer produced by the tier tables and was edited (or its marker was): "
                "'vaultkit sync' keeps it; delete it yourself or run 'vaultkit sync --force'")
    if isinstance(planned, tuple):  # deferred: made of the same inputs as in the last sync
        digest, make = planned
        if _as_the_writer_found_it(ctx, note.path, digest):
            return None
        planned = make()
    text = ctx.text_of(note)
    if text is None:
        return None
    if not _as_planned(text, planned):
        return "generated note is out of date: the notes it is made from changed; run 'vaultkit sync'"
    return None


def _as_planned(text: str, planned: "str | bytes") -> bool:
    """Whether the note's ``text`` is ``planned`` as the writer judges it: the marker line (its place, the version
    that wrote it) is no content."""
    from ..writer import content_hash, render_with_marker

    rendered = render_with_marker(planned.decode("utf-8") if isinstance(planned, bytes) else planned)
    return text == rendered or content_hash(text) == content_hash(rendered)


def _edited_into_the_plan(ctx: LintContext, note: Note) -> bool:
    """Whether the edited note is, but for its marker, what sync writes now: the writer takes it back."""
    planned = _plan_of(ctx).get(note.path)
    if isinstance(planned, tuple):
        planned = planned[1]()
    text = ctx.text_of(note)
    return text is not None and planned is not None and _as_planned(text, planned)


def _plan_of(ctx: LintContext) -> "dict[str, str | tuple[str, Callable[[], str]]]":
    """Vault path → planned text, or ``(content hash in the last sync, make)`` for a deferred file."""
    plan = getattr(ctx, "_generation_plan", None)
    if plan is None:
        from ..generate import plan_generation
        from ..writer import WRITER_MEMO, note_on_disk

        known = ctx.vault.previous_memo(WRITER_MEMO)
        known = known if isinstance(known, dict) else {}
        made = plan_generation(ctx.vault, known=known or None, on_disk=note_on_disk)
        plan = {path: made.files[path] if path in made.files else made.deferred[path] for path in made.paths}
        ctx._generation_plan = plan  # type: ignore[attr-defined]
        ctx._writer_known = {**known, **made.verified}  # type: ignore[attr-defined]
    return plan


def _as_the_writer_found_it(ctx: LintContext, path: str, digest: str) -> bool:
    """Whether the file at ``path`` is the one the last sync's writer found up to date with content hash
    ``digest``: same size, times and inode (what ``vaultkit sync`` trusts instead of reading it)."""
    from ..writer import file_looks

    try:
        st = os.lstat(ctx.root / path)
    except OSError:
        return False
    return getattr(ctx, "_writer_known", {}).get(path) == file_looks(digest, st)


_freshness: list[FreshnessCheck] = [plan_freshness]


def set_freshness_check(check: FreshnessCheck | None) -> FreshnessCheck:
    """Replace the freshness check (``None`` restores :func:`plan_freshness`); returns the previous one."""
    previous = _freshness[0]
    _freshness[0] = check if check is not None else plan_freshness
    return previous


def get_freshness_check() -> FreshnessCheck:
    """The freshness check in use."""
    return _freshness[0]


@rule("VK401", fix="always")
def generated_note_out_of_date(ctx: LintContext) -> Iterator[Diagnostic]:
    """A note that ``vaultkit sync`` generated no longer matches what it wrote.

    What it checks
    --------------
    UTF-8 notes in the output folder (``output`` in ``vaultkit.toml``, default
    ``_vaultkit``) whose frontmatter has the ``vaultkit:`` marker mapping,
    naming vaultkit as its ``generator`` (or holds vaultkit's marker line,
    whatever the YAML around it holds: the rule ``vaultkit sync`` goes by). The
    marker's ``hash`` records the text as written: ``"sha256:<hex>"`` (what
    ``vaultkit sync`` writes) is the SHA-256 of the whole note with the marker
    line taken out; a bare ``<hex>`` is the SHA-256 of the body alone (the
    text after the closing ``---``). Text is UTF-8 with ``\\n`` newlines and
    no BOM. When the note on disk hashes differently it was edited by hand or
    is stale. Otherwise the note is compared with what ``vaultkit sync``
    would write now (the plan made from the current tier tables and notes):
    a note that differs, or that is no longer produced, is out of date (the
    message says whether ``sync`` removes it or keeps it as edited). The
    check is replaceable (``vaultkit.rules.generated.set_freshness_check``).
    Notes outside the output folder are not checked. When the plan is made,
    the generated files that are not notes (the canvas, owned through the
    output folder's ``.vaultkit-manifest.json``) are judged as ``sync`` judges
    them: missing, out of date, edited by hand, or not vaultkit's.

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
    Safe for stale notes: ``vaultkit sync`` rewrites them. A note you edited is
    kept and reported by ``vaultkit sync``; ``vaultkit sync --force`` replaces
    it (your edits in it are lost).
    """
    check = get_freshness_check()
    for note in ctx.notes:
        if not ctx.vault.is_generated(note):
            continue
        message = check(ctx, note)
        if message:
            yield diag("VK401", message, note, 1)
    plan = getattr(ctx, "_generation_plan", None)
    if ctx.whole_vault and plan is not None:
        for path in sorted(set(plan) - set(ctx.vault.notes)):
            if path.endswith(".md"):
                yield diag("VK401", "generated note is missing; run 'vaultkit sync' to write it", path, 0)
            else:  # the canvas: no marker inside, owned through the output folder's manifest
                message = _other_file_message(ctx, path, plan[path])
                if message:
                    yield diag("VK401", message, path, 0)


_OTHER_FILE_MESSAGES = {
    "missing": "generated file is missing; run 'vaultkit sync' to write it",
    "stale": "generated file is out of date; run 'vaultkit sync' to update it",
    "edited": "generated file was edited by hand; 'vaultkit sync' keeps it, 'vaultkit sync --force' replaces it",
    "taken": "a file vaultkit did not generate holds this path; 'vaultkit sync' leaves it alone (move it "
             "elsewhere to let sync write here)",
    "unreadable": "generated file cannot be read",
}


def _other_file_message(ctx: LintContext, path: str, planned: "str | bytes | tuple") -> str | None:
    """VK401's message for a generated file that is not a note (see :func:`vaultkit.writer.generated_file_state`),
    or ``None`` when it is as a sync would write it."""
    from ..writer import generated_file_state

    if isinstance(planned, tuple):
        digest, make = planned
        if digest is not None and _as_the_writer_found_it(ctx, path, digest):
            return None  # (the last sync found it so, and it is untouched since)
        planned = make()
    state = generated_file_state(ctx.root, ctx.vault.config.output, path, planned,
                                 getattr(ctx, "_writer_known", {}).get(path))
    return _OTHER_FILE_MESSAGES.get(state)


@rule("VK402")
def region_problem(ctx: LintContext) -> Iterator[Diagnostic]:
    """A vaultkit region in one of your notes that ``vaultkit sync`` refuses to fill or keeps as you edited it.

    What it checks
    --------------
    Notes outside the output folder that hold region markers
    (``%% vaultkit:begin NAME %%`` … ``%% vaultkit:end NAME %%`` on lines of
    their own; markers shown in fenced code are text). Markers that are
    malformed, unpaired, nested, out of order or repeated make ``vaultkit sync``
    leave the whole note alone; a region whose text changed since vaultkit
    filled it (its ``%% vaultkit:hash … %%`` line no longer matches) is kept
    as it is. Both are reported by ``sync`` as it runs; this rule lets a CI
    job that runs only ``vaultkit lint`` see them too.

    Why it matters
    --------------
    The region stops being updated: the note shows a tier ladder, cost table
    or wanted-notes list that no longer matches the vault.

    Example
    -------
    ::

        %% vaultkit:begin tier-ladder %%
        - [[Tier 1]]: …
        (no end marker)

    Instead
    -------
    Close each region with ``%% vaultkit:end NAME %%`` on its own line; keep
    your own words outside the markers.

    Fix
    ---
    No automatic fix: mend the markers; for an edited region, move your text
    out of it and run ``vaultkit sync`` (``--force`` overwrites the region).
    """
    from ..writer import check_regions

    for note in ctx.notes:
        if ctx.vault.is_generated(note) or ctx.vault.is_stray_generated(note):
            continue
        text = ctx.text_of(note)
        if not text or "%% vaultkit:" not in text:
            continue
        problem, edited = check_regions(text)
        if problem is not None:
            yield diag("VK402", f"region markers: {problem[1]} (sync leaves this note alone)", note, problem[0])
        for line, name in edited:
            yield diag("VK402", f"region {name!r} was edited by hand: sync keeps it and stops updating it "
                                "(--force overwrites it)", note, line)
