"""VK2xx: properties and tags (schemas, tag syntax, legacy keys, dates, property types)."""

from __future__ import annotations

import datetime

import json
import re
from collections.abc import Iterator
from typing import Any

from ..model import Diagnostic, jsonable
from .base import LintContext, diag, rule

_ISO_DATE = re.compile(r"^(\d{4}-\d{2}-\d{2})(?:[ T](\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?))?$")
_DATETIME = _ISO_DATE
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


@rule("VK201")
def schema_violation(ctx: LintContext) -> Iterator[Diagnostic]:
    """A property that breaks the JSON Schema chosen for the note.

    What it checks
    --------------
    A note's schema is chosen by its ``type`` property (``technique``,
    ``tier``, ``index``, ``knowledge-note``), else by the first glob of the
    config's ``[schemas]`` table that matches the note's path, else there is
    none. The properties are turned into JSON (dates become ISO strings) and
    validated; each violation names the property and points at its line
    (missing properties point at the opening ``---``).

    The built-in ``knowledge-note`` schema requires ``title``,
    ``description``, ``tags`` with at least one section tag ``#S<n>_…``,
    ``created``, ``updated`` (``YYYY-MM-DD[ HH:MM[:SS]]``, a month 01–12, a day
    01–31, a time of day) and the seven prose
    fields ``Receptor``, ``Acceptor``, ``SignalTransduction``, ``Emergence``,
    ``Activation``, ``FeedbackLoop``, ``SignalAmplification``; ``category`` and
    ``Russian_review`` are optional text. ``technique`` and ``tier`` require an
    integer ``tier`` >= 0; effectiveness marks come from 🟢 🟡 🟠 ⚪ 🔴,
    ``cost`` is 0 to 5 and ``sources``/``techniques`` are ``"[[…]]"`` strings.
    Extra properties are always allowed.

    Why it matters
    --------------
    Generated notes, Dataview queries and the graph rely on these properties;
    a missing section tag or a misspelt key drops the note from every view
    built on them.

    Example
    -------
    ::

        # vaultkit.toml
        [schemas]
        "22_AI_Research_mainstream/**" = "knowledge-note"

        ---
        title: Scaling
        tags: [production]
        ---

    Instead
    -------
    ::

        ---
        title: Scaling
        description: What scaling buys in production.
        tags: [production, "#S22_AI_Research_mainstream"]
        created: 2025-08-12
        updated: 2025-09-07 00:12:21
        Receptor: …   (and the six other prose fields)
        ---

    Fix
    ---
    No automatic fix: the values have to be written.

    Options
    -------
    ``[schemas]`` in ``vaultkit.toml``: glob → built-in schema name or a
    ``.json`` schema file relative to the vault root.
    """
    for note in ctx.notes:
        name = ctx.schemas.schema_for(note)
        if name is None or not isinstance(note.frontmatter, dict):
            continue
        for issue in ctx.schemas.validate(name, note.frontmatter, content_key=note.sha256):
            line = note.frontmatter_lines.get(issue.key, 1) if issue.key else 1
            yield diag("VK201", f"{issue.message} (schema {name})", note, line)


@rule("VK202", fix="sometimes")
def malformed_tag(ctx: LintContext) -> Iterator[Diagnostic]:
    """A tag that Obsidian does not read as written.

    What it checks
    --------------
    Tags in the ``tags`` property and ``#tags`` in the body that hold a space,
    consist only of digits, are not text at all (``tags: [1, 2]``), or mix
    letters of two scripts inside one word, such as a Cyrillic ``о`` in
    ``#S14_Neurоbrain_CogScience``.

    Why it matters
    --------------
    Obsidian ignores tags with spaces and all-digit tags; a look-alike letter
    from another script makes a second tag that looks identical to the first,
    so notes vanish from the tag pane and from tag searches.

    Example
    -------
    ::

        tags:
          - kubernetes orchestration
          - S14_Neurоbrain_CogScience     (Cyrillic о)

    Instead
    -------
    ::

        tags:
          - kubernetes-orchestration
          - S14_Neurobrain_CogScience

    Fix
    ---
    Sometimes: replacing the look-alike letter is safe; a space is replaced by
    ``-`` or ``_`` only after review.
    """
    yield from ctx.emitted("VK202")


@rule("VK203", fix="sometimes")
def multi_line_tag(ctx: LintContext) -> Iterator[Diagnostic]:
    """A ``tags`` item whose text runs over several lines.

    What it checks
    --------------
    A list item of ``tags`` that YAML folds into one string spanning several
    lines: usually tags typed one per line without the ``-`` markers, or body
    text that ended up inside the frontmatter.

    Why it matters
    --------------
    Obsidian reads the whole item as one tag containing spaces and ignores it,
    so none of the intended tags exist.

    Example
    -------
    ::

        tags:
          - agi-core
            local-agi-environment
            docker-containerization

    Instead
    -------
    ::

        tags:
          - agi-core
          - local-agi-environment
          - docker-containerization

    Fix
    ---
    Sometimes: splitting the item on line breaks is safe when every line is a
    valid tag.
    """
    yield from ctx.emitted("VK203")


@rule("VK204", fix="always")
def legacy_property_key(ctx: LintContext) -> Iterator[Diagnostic]:
    """A legacy ``tag``, ``alias`` or ``cssclass`` property.

    What it checks
    --------------
    The singular keys deprecated in Obsidian 1.4 and no longer read from 1.9.

    Why it matters
    --------------
    Since Obsidian 1.9 the values are ignored: the note has no tags, aliases or
    CSS classes any more, although the file still lists them.

    Example
    -------
    ::

        ---
        tag: research
        alias: Scaling
        ---

    Instead
    -------
    ::

        ---
        tags: [research]
        aliases: [Scaling]
        ---

    Fix
    ---
    Safe: rename the key to ``tags``/``aliases``/``cssclasses`` and make the
    value a list (Obsidian's Format converter does the same).
    """
    yield from ctx.emitted("VK204")


@rule("VK205", fix="always")
def string_list_property(ctx: LintContext) -> Iterator[Diagnostic]:
    """``tags`` or ``aliases`` written as a single string instead of a list.

    What it checks
    --------------
    ``tags: a, b`` or ``aliases: Name``: a plain string where Obsidian 1.9
    expects a list.

    Why it matters
    --------------
    Obsidian 1.9 reads a string as one single item: ``tags: a, b`` is the one
    (invalid) tag ``a, b``, not two tags.

    Example
    -------
    ::

        tags: production, scaling

    Instead
    -------
    ::

        tags:
          - production
          - scaling

    Fix
    ---
    Safe for ``aliases`` (one item); for ``tags`` the string is split on commas
    and spaces, which is what older Obsidian versions did.
    """
    yield from ctx.emitted("VK205")


def _iso(value: Any) -> tuple[str, str | None] | None:
    """``(date, time or None)`` of an ISO date that exists on the calendar, else ``None``.

    >>> _iso("2025-09-07 10:00"), _iso("2024-13-45"), _iso("2023-02-29")
    (('2025-09-07', '10:00'), None, None)
    """
    value = jsonable(value)
    if not isinstance(value, str):
        return None
    m = _ISO_DATE.match(value.strip())
    if not m:
        return None
    try:
        datetime.date.fromisoformat(m.group(1))
    except ValueError:  # (no such day: not a date to compare, left to VK201 and VK207)
        return None
    return m.group(1), m.group(2)


@rule("VK206")
def updated_before_created(ctx: LintContext) -> Iterator[Diagnostic]:
    """The ``updated`` date is earlier than the ``created`` date.

    What it checks
    --------------
    When both ``created`` and ``updated`` are ISO dates (``YYYY-MM-DD``,
    optionally followed by a time), they are compared as text; when either has
    no time, only the dates are compared. Values that are not ISO dates, or
    name no day on the calendar (``2024-13-45``), are left to the schema
    (VK201) and property-type (VK207) rules.

    Why it matters
    --------------
    A note cannot be changed before it exists: one of the dates is wrong, often
    a swapped pair or a day and month written the other way round, and sorting
    by either date misplaces the note.

    Example
    -------
    ::

        created: 2025-09-07
        updated: 2025-08-12 10:00:00

    Instead
    -------
    ::

        created: 2025-08-12
        updated: 2025-09-07 10:00:00

    Fix
    ---
    No automatic fix: only the author knows which date is right.
    """
    for note in ctx.notes:
        fm = note.frontmatter
        if not isinstance(fm, dict) or "created" not in fm or "updated" not in fm:
            continue
        created, updated = _iso(fm["created"]), _iso(fm["updated"])
        if created is None or updated is None:
            continue
        if created[1] is None or updated[1] is None:
            earlier = updated[0] < created[0]
        else:
            earlier = (updated[0], updated[1]) < (created[0], created[1])
        if earlier:
            c = jsonable(fm["created"])
            u = jsonable(fm["updated"])
            yield diag("VK206", f"'updated' ({u}) is earlier than 'created' ({c})", note,
                       note.frontmatter_lines.get("updated", 1))


#: Obsidian property types (``.obsidian/types.json`` values) and what each accepts.
PROPERTY_TYPES = ("text", "multitext", "number", "checkbox", "date", "datetime", "tags", "aliases")


def _fits(kind: str, value: Any) -> bool:
    """Whether a property value fits an Obsidian property type (an empty value always fits).

    >>> _fits("number", 3), _fits("number", "3"), _fits("checkbox", "yes"), _fits("date", "2025-09-07")
    (True, False, False, True)
    >>> _fits("datetime", "2025-09-07 00:12:21"), _fits("multitext", ["a"]), _fits("text", ["a"])
    (True, True, False)
    >>> _fits("date", "2024-13-45"), _fits("datetime", "2023-02-29 10:00")
    (False, False)
    """
    if value is None:
        return True
    value = jsonable(value)
    if kind == "text":
        return isinstance(value, str)
    if kind in ("multitext", "tags", "aliases"):
        return isinstance(value, list) and all(isinstance(v, str) for v in value)
    if kind == "number":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if kind == "checkbox":
        return isinstance(value, bool)
    if kind == "date":  # (and a day on the calendar: not 2024-13-45)
        return isinstance(value, str) and bool(_DATE.match(value.strip())) and _iso(value) is not None
    if kind == "datetime":
        return isinstance(value, str) and _iso(value) is not None
    return True


def _read_types(ctx: LintContext) -> tuple[dict[str, str], Diagnostic | None]:
    path = ctx.root / ".obsidian" / "types.json"
    if not path.is_file():
        return {}, None
    where = ".obsidian/types.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        return {}, diag("VK207", f"cannot read {where}: {exc}", where)
    types = data.get("types") if isinstance(data, dict) else None
    if not isinstance(types, dict):
        return {}, diag("VK207", f"{where} has no \"types\" mapping", where)
    return {str(k): v for k, v in types.items() if isinstance(v, str) and v in PROPERTY_TYPES}, None


@rule("VK207")
def property_type_mismatch(ctx: LintContext) -> Iterator[Diagnostic]:
    """A property value that does not fit the type ``.obsidian/types.json`` gives the property.

    What it checks
    --------------
    When the vault has ``.obsidian/types.json``, each property that has a type
    there is checked in every note: ``text`` needs text, ``multitext``,
    ``tags`` and ``aliases`` a list of text, ``number`` a number, ``checkbox``
    ``true``/``false``, ``date`` ``YYYY-MM-DD`` and ``datetime``
    ``YYYY-MM-DD`` with an optional ``T``/space and time. Empty values fit
    every type. Names are matched exactly, then ignoring case. An unreadable
    ``types.json`` is reported once. Without the file the rule reports nothing.

    Why it matters
    --------------
    Obsidian keeps a value that does not fit its property's type but shows it
    as invalid in the Properties editor, and sorting, filtering and Dataview
    treat it as text or skip it.

    Example
    -------
    ::

        # .obsidian/types.json: {"types": {"done": "checkbox", "due": "date"}}
        done: yes
        due: 07/09/2025

    Instead
    -------
    ::

        done: true
        due: 2025-09-07

    Fix
    ---
    No automatic fix: the intended value is not always clear (``07/09`` may be
    July or September).
    """
    types, problem = _read_types(ctx)
    if problem is not None and ctx.whole_vault:
        yield problem
    if not types:
        return
    folded = {k.casefold(): v for k, v in types.items()}
    for note in ctx.notes:
        fm = note.frontmatter
        if not isinstance(fm, dict):
            continue
        for key, value in fm.items():
            key = str(key)
            kind = types.get(key) or folded.get(key.casefold())
            if kind is None or _fits(kind, value):
                continue
            shown = json.dumps(jsonable(value), ensure_ascii=False)
            shown = shown if len(shown) <= 60 else shown[:59] + "…"
            yield diag("VK207", f"'{key}' is {shown}, which is not a {kind} value as .obsidian/types.json "
                       "declares", note, note.frontmatter_lines.get(key, 1))
