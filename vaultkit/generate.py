"""Plan the generated notes: pure functions from a :class:`~vaultkit.vault.Vault` to planned files.

Layout inside the output folder (default ``_vaultkit/``)::

    _vaultkit/Vault index.md            home MOC: notes by category and section tag, tier ladder, wanted notes
    _vaultkit/Cost to value.md          techniques ranked by value against cost (the seed's "inverted table")
    _vaultkit/Tiers/Tier N.md           one note per tier, linking its techniques
    _vaultkit/Techniques/<name>.md      one note per technique: what the tables say, who links to it
    _vaultkit/Knowledge graph.canvas    JSON Canvas of tiers, techniques and notes

Every list is sorted and every text ends with a newline, so the same vault
always plans the same bytes. Links to user notes use the full vault path
without ``.md`` (``[[Folder/Note|Note]]``), which Obsidian resolves exactly
(syntax document §6.1 step 5) whatever other notes share the name.
"""

from __future__ import annotations

import functools
import hashlib
import os
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable

import yaml

from .export import CANVAS_MENTIONS_PER_TECHNIQUE, Ladder, canvas_bytes, canvas_parts, mermaid_from_ladder, reach_order
from .frontmatter import CoreLoader
from .feedback import TitleIndex
from .names import Linker, NameAllocator, clean_display, name_key, safe_name
from .scan import region_marker_lines
from .pool import start_forked
from .techniques import build_techniques, fill_mentions, vault_packed_mentions
from .tiers import DEFAULT_LEGEND, TRADEOFF_MEANINGS

if TYPE_CHECKING:  # pragma: no cover
    from .model import Note
    from .techniques import Technique
    from .vault import Vault

__all__ = [
    "Plan",
    "plan_generation",
    "value_score",
    "cost_score",
    "EFFECTIVENESS_VALUE",
    "INDEX_NAME",
    "COST_VALUE_NAME",
    "CANVAS_NAME",
]

INDEX_NAME = "Vault index"
COST_VALUE_NAME = "Cost to value"
CANVAS_NAME = "Knowledge graph.canvas"
TIERS_DIR = "Tiers"
TECHNIQUES_DIR = "Techniques"
#: A technique note lists every note that ranks or links to it, and at most this many of the
#: notes that only name it (those naming it most): beyond that the list is noise, and at
#: 10,000 synthetic notes the technique notes grew to 387 MB, more than the vault itself.
MENTIONS_LISTED = 25
#: Kind of :meth:`vaultkit.vault.Vault.previous_memo` holding the near matches of wanted names.
SUGGEST_MEMO = "suggest"

#: Points each effectiveness mark adds to a technique's value (per repetition).
EFFECTIVENESS_VALUE = {"🟢": 2.0, "✅": 2.0, "🟡": 1.0, "⚪": 1.0, "🟠": 0.5, "🔴": -1.0}
#: Effectiveness marks the technique schema accepts in the ``effectiveness`` property; other
#: marks stay in the note's body.
SCHEMA_EFFECTIVENESS_MARKS = ("🟢", "🟡", "🟠", "⚪", "🔴")
#: Tradeoff marks that count as risk (one point per repetition); 💰 counts as its cost level instead.
RISK_MARKS = frozenset(TRADEOFF_MEANINGS) - {"💰"}

_SECTION_TAG_RE = re.compile(r"^S\d+_", re.IGNORECASE)
_LINK_UNSAFE = re.compile(r"[#|^\[\]\r\n]|%%")
_PATH_LINKER = Linker((), always_path=True)


@dataclass
class Plan:
    """What a sync should write: note texts by vault path (no ownership marker yet) in :attr:`files`, and
    in :attr:`deferred` those made only when the writer takes them: the files an earlier run made of the same
    inputs (made only if the writer needs them) and the technique notes. A file that is not a note (the
    canvas) may be given as UTF-8 ``bytes`` with ``\\n`` newlines instead of a ``str``.

    Examples
    --------
    >>> plan = Plan()
    >>> plan.add("_vaultkit/A.md", "# A\\n"); plan.defer("_vaultkit/B.md", "<sha256>", lambda: "# B\\n")
    >>> plan.paths, plan.deferred["_vaultkit/B.md"][1]()
    (['_vaultkit/A.md', '_vaultkit/B.md'], '# B\\n')
    """

    files: dict[str, str | bytes] = field(default_factory=dict)
    techniques: int = 0
    tiers: int = 0
    notices: list[str] = field(default_factory=list)
    #: (note path, region name, text) for regions users opened in their own notes
    regions: list[tuple[str, str, str]] = field(default_factory=list)

    #: path → (content hash, make): files whose inputs are an earlier run's (see ``plan_generation(known=...)``);
    #: with no hash (``None``), a text made already and kept as UTF-8 until the writer takes it, or a technique
    #: note made only then
    deferred: dict[str, tuple[str | None, Callable[[], str | bytes]]] = field(default_factory=dict)
    #: path → the writer's record (:func:`vaultkit.writer.file_looks`) of a deferred file that planning found
    #: on disk byte for byte as the writer would write it: pass them on in ``apply(known=...)``
    verified: dict[str, tuple[str, int, int, int, int]] = field(default_factory=dict)
    _order: list[str] = field(default_factory=list, repr=False)

    def add(self, path: str, text: str | bytes) -> None:
        if path in self.files or path in self.deferred:  # pragma: no cover - names are made unique before
            raise ValueError(f"two generated files for {path}")
        self.files[path] = text
        self._order.append(path)

    def defer(self, path: str, digest: str | None, make: Callable[[], str | bytes]) -> None:
        """Plan ``path`` without its text: ``make()`` gives it, ``digest`` is its content hash in an earlier run
        (``None``: none; the writer makes it in any case)."""
        if path in self.files or path in self.deferred:  # pragma: no cover
            raise ValueError(f"two generated files for {path}")
        self.deferred[path] = (digest, make)
        self._order.append(path)

    @property
    def paths(self) -> list[str]:
        """Every planned file, made or deferred, in planning order."""
        return list(self._order)


# --------------------------------------------------------------------------- helpers
class _Dumper(getattr(yaml, "CSafeDumper", yaml.SafeDumper)):  # type: ignore[misc]
    """libyaml's emitter; strings that YAML 1.2 would read as another type are quoted."""


def _represent_str(dumper: yaml.SafeDumper, data: str) -> yaml.ScalarNode:
    # PyYAML quotes what YAML 1.1 would misread; Obsidian reads YAML 1.2 ("0E0" is a number there).
    if CoreLoader.resolve(CoreLoader, yaml.ScalarNode, data, (True, False)) != "tag:yaml.org,2002:str":
        return dumper.represent_scalar("tag:yaml.org,2002:str", data, style="'")
    return yaml.SafeDumper.represent_str(dumper, data)


_Dumper.add_representer(str, _represent_str)
_DUMPER = _Dumper
# libyaml writes characters outside the Basic Multilingual Plane (emoji such as 🟢) as "\U0001F7E2"
# escapes even with allow_unicode; put the printable ones back (escapes only occur in double-quoted
# scalars, where the raw character is valid too; an escaped backslash before "U" is left alone).
_DOUBLE_QUOTED_RE = re.compile(r'"(?:[^"\\\n]|\\.)*"')
_ASTRAL_ESCAPE_RE = re.compile(r"(?<!\\)((?:\\\\)*)\\U([0-9A-Fa-f]{8})")


def _unescape_astral(match: re.Match) -> str:
    ch = chr(int(match.group(2), 16))
    return match.group(1) + ch if ch.isprintable() else match.group(0)


def _dump_frontmatter(props: dict[str, Any]) -> str:
    """Frontmatter block for ``props`` (libyaml's emitter, emoji kept readable).

    >>> print(_dump_frontmatter({"title": "LoRA: tuning", "marks": ["🟢", "yes"], "tier": 3}), end="")
    ---
    title: 'LoRA: tuning'
    marks:
    - "🟢"
    - 'yes'
    tier: 3
    ---
    """
    events = _events(props)
    if events is not None:
        text = yaml.emit(events, Dumper=_DUMPER, allow_unicode=True, width=10_000)
    else:
        text = yaml.dump(props, Dumper=_DUMPER, sort_keys=False, allow_unicode=True, default_flow_style=False,
                         width=10_000)
    if "\\U" in text:
        text = _DOUBLE_QUOTED_RE.sub(lambda m: _ASTRAL_ESCAPE_RE.sub(_unescape_astral, m.group(0)), text)
    return f"---\n{text}---\n"


_STR_TAG = "tag:yaml.org,2002:str"
_INT_TAG = "tag:yaml.org,2002:int"
_RESOLVER = yaml.resolver.Resolver()  # the dumper's (YAML 1.1) resolver, which decides plain vs quoted


_SCALAR_EVENTS: dict[tuple[type, Any], "yaml.ScalarEvent"] = {}


def _scalar_event(value: Any) -> "yaml.ScalarEvent | None":
    """The event ``yaml.dump`` would emit for a str or int (see :func:`_events`); ``None`` for other types.

    Events are memoised: keys, marks, tags and note links repeat across thousands of notes.
    """
    event = _SCALAR_EVENTS.get((type(value), value))
    if event is not None:
        return event
    if type(value) is str:
        tag, text = _STR_TAG, value
        # as _represent_str: quote what YAML 1.2 (Obsidian) would read as another type
        style = None if CoreLoader.resolve(CoreLoader, yaml.ScalarNode, value, (True, False)) == _STR_TAG else "'"
    elif type(value) is int:
        tag, text, style = _INT_TAG, str(value), None
    else:
        return None
    implicit = (_RESOLVER.resolve(yaml.ScalarNode, text, (True, False)) == tag, tag == _STR_TAG)
    event = yaml.ScalarEvent(None, tag, implicit, text, style=style)
    if len(_SCALAR_EVENTS) > 200_000:
        _SCALAR_EVENTS.clear()
    _SCALAR_EVENTS[(type(value), value)] = event
    return event


def _events(props: dict[str, Any]) -> "list[yaml.Event] | None":
    """The YAML events of ``props`` exactly as ``yaml.dump(props, Dumper=_DUMPER, default_flow_style=False)``
    serialises them, without the representer's per-node overhead; ``None`` when a value is not a str, an
    int or a list of those (the caller then uses ``yaml.dump``)."""
    events: list[yaml.Event] = [yaml.StreamStartEvent(), yaml.DocumentStartEvent(explicit=False),
                                yaml.MappingStartEvent(None, "tag:yaml.org,2002:map", True, flow_style=False)]
    for key, value in props.items():
        key_event = _scalar_event(key) if type(key) is str else None
        if key_event is None:
            return None
        events.append(key_event)
        if type(value) is list:
            events.append(yaml.SequenceStartEvent(None, "tag:yaml.org,2002:seq", True, flow_style=False))
            for item in value:
                item_event = _scalar_event(item)
                if item_event is None:
                    return None
                events.append(item_event)
            events.append(yaml.SequenceEndEvent())
        else:
            value_event = _scalar_event(value)
            if value_event is None:
                return None
            events.append(value_event)
    events += [yaml.MappingEndEvent(), yaml.DocumentEndEvent(explicit=False), yaml.StreamEndEvent()]
    return events


def _stem(path: str) -> str:
    return path[:-3] if path.lower().endswith(".md") else path


@functools.lru_cache(maxsize=1 << 16)  # a technique note links the same few notes many times
def note_link(path: str, display: str | None = None, *, in_table: bool = False) -> str:
    """A wikilink to the note at vault ``path`` that resolves exactly (full path, no ``.md``).

    A path holding a character Obsidian cannot link (``# | ^ [ ]``, ``%%``, a
    line break) gives plain text instead of a broken link.

    >>> note_link("AI/Scaling.md")
    '[[AI/Scaling|Scaling]]'
    >>> note_link("AI/Scaling.md", "Scale | size", in_table=True)
    '[[AI/Scaling\\\\|Scale \\\\| size]]'
    >>> note_link("Bad/New\\nline.md")
    'New line'
    """
    stem = _stem(path)
    shown = display if display is not None else stem.rsplit("/", 1)[-1]
    if _LINK_UNSAFE.search(stem):
        return clean_display(shown, table=in_table)
    return _PATH_LINKER.wikilink(path, shown, table=in_table)


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _marks_text(marks: list, *, legend: dict[str, str]) -> str:
    parts = []
    for m in marks:
        symbol = m.symbol * m.count
        meaning = legend.get(m.symbol) or m.meaning
        phrase = m.phrase or meaning
        parts.append(f"{symbol} {phrase}".strip() + (f" *({meaning})*" if meaning and meaning != phrase else ""))
    return "; ".join(parts)


def value_score(effectiveness: list) -> float:
    """Value of a technique from its effectiveness marks (see :data:`EFFECTIVENESS_VALUE`).

    >>> from vaultkit.tiers import Mark
    >>> value_score([Mark("🟢", 1, "", ""), Mark("⚪", 1, "", "")])
    3.0
    """
    return sum(EFFECTIVENESS_VALUE.get(m.symbol, 0.0) * m.count for m in effectiveness)


def cost_score(cost_level: int, tradeoffs: list) -> float:
    """Cost of a technique: its 💰 level (0–5) plus one point per risk mark.

    >>> from vaultkit.tiers import Mark
    >>> cost_score(3, [Mark("💰", 3, "", ""), Mark("📉", 1, "", "")])
    4.0
    """
    return float(cost_level) + sum(m.count for m in tradeoffs if m.symbol in RISK_MARKS)


# --------------------------------------------------------------------------- technique entities
def _best_row(tech: "Technique"):
    """The row that ranks ``tech`` best (rows come best tier first)."""
    return tech.rows[0]


def _tier_label(tech: "Technique") -> str:
    return _best_row(tech).tier.label


# --------------------------------------------------------------------------- planning
def plan_generation(vault: "Vault", progress: "Callable[[str, int, int], None] | None" = None, *,
                    known: "dict[str, tuple] | None" = None,
                    on_disk: "Callable[[str, str, str], tuple | None] | None" = None) -> Plan:
    """Plan every generated note of ``vault``.

    Parameters
    ----------
    vault : Vault
        A loaded vault.
    progress : callable, optional
        Called as ``progress(stage, done, total)`` while mentions are found
        and technique notes are planned (the long stages of a large vault).
    known : dict, optional
        The writer's record of an earlier run (``WriteReport.verified``: path →
        ``(content hash, size, mtime, ctime, inode)``). With it, and a vault
        loaded with the cache, a technique, tier or cost note or the canvas whose
        inputs are those of the earlier run (same tier-table rows, mentions,
        titles, paths and, for a technique note, backlinks; see
        :class:`_Reuse`) and that the earlier run found on disk is
        planned in :attr:`Plan.deferred` instead of being made: the writer makes it
        only if the file changed since.
    on_disk : callable, optional
        ``on_disk(vault root, path, text)``: the writer's record of a file that
        already holds ``text`` as the writer would write it, else ``None``
        (:func:`vaultkit.writer.note_on_disk`). Technique notes made by worker
        processes are checked with it there: one found so is not sent back but
        planned in :attr:`Plan.deferred`, its record in :attr:`Plan.verified`.

    Returns
    -------
    Plan
        Note texts keyed by vault path inside ``vault.config.output``, without
        the ownership marker (the writer adds it).
    """
    out = vault.config.output.rstrip("/")
    plan = Plan()
    user_notes = vault.user_notes()
    generated = {n.path for n in vault.notes.values() if vault.is_generated(n)}
    stray = [n for n in vault.notes.values() if vault.is_stray_generated(n)]
    if stray:
        from .techniques import note_text
        from .writer import ownership

        # (few notes; their texts read to tell copies of vaultkit's text from notes holding words of the user)
        copies: list[str] = []
        edited: list[str] = []
        for n in stray:
            (copies if ownership(note_text(vault, n)) == "clean" else edited).append(n.path)
        if copies:
            plan.notices.append(
                f"{len(copies)} note{'s' if len(copies) != 1 else ''} generated by vaultkit "
                f"{'lie' if len(copies) != 1 else 'lies'} outside the output "
                f"folder '{out}' (e.g. '{copies[0]}'), perhaps from an earlier `output`: left out of the plan and "
                "of your notes; delete them if you do not need them")
        if edited:
            plan.notices.append(
                f"{len(edited)} note{'s' if len(edited) != 1 else ''} outside the output folder '{out}' "
                f"carr{'y' if len(edited) != 1 else 'ies'} vaultkit's marker but "
                f"{'were' if len(edited) != 1 else 'was'} edited (e.g. '{edited[0]}'): left out of the plan and "
                "of your notes as vaultkit's; to make one yours again, take the `vaultkit:` line out of its "
                "frontmatter")
    # Names clash vault-wide (links resolve by name); earlier generated notes don't count.
    canvas_path = f"{out}/{CANVAS_NAME}"
    generated.add(canvas_path)
    kept = [f for f in vault.files if f not in generated]
    # (notes generated into an earlier output folder take no name: they are vaultkit's, to be deleted, and
    # the notes written in their place would otherwise go by "<name> 2" until then, and back after)
    stray_paths = {n.path for n in stray}
    names = NameAllocator([f for f in kept if f not in stray_paths] if stray_paths else kept)
    by_name: dict[str, str] = {}
    for f in kept:
        if f not in stray_paths:
            by_name.setdefault(name_key(f.rsplit("/", 1)[-1]), f)

    clashes: list[str] = []  # a name of the user's that a generated note would have had

    def allocate(title: str, folder: str) -> str:
        path = names.allocate(title, folder)
        wanted = safe_name(title) + ".md"
        taken = by_name.get(name_key(wanted))
        if taken is not None:
            clashes.append(f"the name '{wanted}' is taken by '{taken}' (yours, left alone); the note goes to '{path}' "
                           "instead")
        return path

    index_path = allocate(INDEX_NAME, out)
    cost_path = allocate(COST_VALUE_NAME, out)
    techs = build_techniques(vault, mentions=False)
    # mention rows per note now; Mention objects only for the techniques whose notes are made
    mention_rows = vault_packed_mentions(vault, techs, progress) if techs else []
    filled: set[str] = set()

    def with_mentions(keys: "set[str] | None" = None) -> None:
        todo = [t for t in techs if t.key not in filled and (keys is None or t.key in keys)]
        if todo:
            fill_mentions(todo, mention_rows)
            filled.update(t.key for t in todo)

    tiers = sorted({t.tier for t in techs if t.tier is not None})
    tier_path = {n: allocate(f"Tier {n}", f"{out}/{TIERS_DIR}") for n in tiers}
    tech_path = {t.key: allocate(t.name, f"{out}/{TECHNIQUES_DIR}") for t in techs}
    plan.notices.extend(clashes[:CLASH_NOTICES])  # (thousands in a vault of notes named like its techniques)
    if len(clashes) > CLASH_NOTICES:
        plan.notices.append(f"… and {len(clashes) - CLASH_NOTICES} more names taken by your notes, each note "
                            "with a number added (as above)")

    planned = list(tech_path.values()) + list(tier_path.values()) + [index_path, cost_path, canvas_path]
    future, backlinks = _future_links(vault, planned, generated)
    global _PATH_LINKER  # links to the vault's files as they will be (a root note's name taken elsewhere: /Name)
    _PATH_LINKER = Linker(kept + planned, always_path=True)
    note_link.cache_clear()  # (links made for another vault)

    # Reuse: what the technique-derived notes are made of, and what an earlier run made them of
    reuse = _Reuse.start(vault, user_notes, tech_path, tier_path, (index_path, cost_path, canvas_path), backlinks,
                         known)

    titles = {n.path: n.title for n in user_notes}

    def make_technique(tech: "Technique", path: str, links: list) -> str:
        with_mentions()  # (all at once: the writer may need many, e.g. after the folder was deleted)
        return _technique_note(vault, tech, path, tier_path, index_path, links, titles)

    deferred = {}
    for tech in techs:
        path = tech_path[tech.key]
        links = backlinks.get(path, [])
        digest = reuse.digest(path, tech.key)
        if digest is not None:
            deferred[path] = (digest, functools.partial(make_technique, tech, path, links))
    if len(deferred) < len(techs) or reuse.changed_keys:
        with_mentions({t.key for t in techs if tech_path[t.key] not in deferred} | reuse.changed_keys
                      if deferred else None)
    fresh = [tech for tech in techs if tech_path[tech.key] not in deferred]

    def render(i: int) -> str:
        tech = fresh[i]
        path = tech_path[tech.key]
        return _technique_note(vault, tech, path, tier_path, index_path, backlinks.get(path, []), titles)

    root = os.fspath(vault.root)

    def render_encoded(i: int) -> "bytes | tuple[str, int, int, int, int]":
        # (in a forked worker) the note's UTF-8 text, or, when its file already holds it as the writer would
        # write it, the writer's record of that file instead: nothing to send back, keep or write
        text = render(i)
        found = None if on_disk is None else on_disk(root, tech_path[fresh[i].key], text)
        return text.encode("utf-8") if found is None else found

    made_so_far = 0

    def advance(count: int) -> None:
        nonlocal made_so_far
        made_so_far += count
        if progress is not None:
            progress("planning technique notes", made_so_far, len(fresh))

    def fill_technique_notes() -> None:
        encoded = running.results() if running is not None else None
        if encoded is not None:
            # Kept as the workers sent them, UTF-8 (a quarter of a str holding emoji: 4 bytes a character),
            # and decoded by the writer one at a time (at 10,000 notes: 117 MB, not 440 MB, all at once).
            for i, (tech, data) in enumerate(zip(fresh, encoded, strict=True)):
                path = tech_path[tech.key]
                del plan.files[path]
                if data.__class__ is bytes:
                    plan.deferred[path] = (None, functools.partial(data.decode, "utf-8"))
                else:  # up to date on disk: made again here only if the file changes before the writer sees it
                    plan.deferred[path] = (data[0], functools.partial(render, i))
                    plan.verified[path] = tuple(data)
            return
        # No workers: each note is made when the writer takes it, and dropped once written (at 1,000 notes,
        # holding them all at once as str, emoji making that 4 bytes a character, cost 34 MB of peak memory)
        for i, tech in enumerate(fresh):
            path = tech_path[tech.key]
            del plan.files[path]
            plan.deferred[path] = (None, functools.partial(render, i))

    def add(path: str, make: "Callable[[], str | bytes]", *, canvas: bool = False) -> None:
        digest = reuse.digest(path, canvas=canvas)
        if digest is None:
            plan.add(path, make())
        else:
            plan.defer(path, digest, make)

    ladder_made: list[Ladder] = []

    def ladder() -> Ladder:
        if not ladder_made:
            with_mentions()
            ladder_made.append(Ladder.from_techniques(techs))  # (ranked and mentioned by user notes only)
        return ladder_made[0]

    # Each technique note reads its technique's mentions and the vault's titles: forked workers share
    # them and write the notes while this process plans the tier, cost and index notes and the canvas.
    # Until then the technique notes hold their place in the plan with no text.
    running = start_forked(render_encoded, len(fresh), progress=advance)
    try:
        for tech in techs:
            path = tech_path[tech.key]
            if path in deferred:
                plan.defer(path, *deferred[path])
            else:
                plan.add(path, "")
        for pos, n in enumerate(tiers):
            members = [t for t in techs if t.tier == n]
            prev_n = tiers[pos - 1] if pos > 0 else None
            next_n = tiers[pos + 1] if pos + 1 < len(tiers) else None
            add(tier_path[n], functools.partial(_tier_note, n, members, tech_path, tier_path, prev_n, next_n,
                                                index_path, titles))
        add(cost_path, functools.partial(_cost_note, techs, tech_path, index_path))
        # the ladder's part of each technique whose mentions changed: when all are as before, so are
        # the canvas and the Mermaid ladder
        if reuse.changed_keys:
            changed = [t for t in techs if t.key in reuse.changed_keys]
            reuse.compare_summaries(Ladder.from_techniques(changed), techs)
        mermaid = reuse.mermaid()
        if mermaid is None:
            mermaid = mermaid_from_ladder(ladder(), top=MERMAID_TOP) if techs else ""
        plan.add(index_path, _index_note(vault, user_notes, techs, tiers, tech_path, tier_path, cost_path, future,
                                         mermaid))
        plan.techniques = len(techs)
        plan.tiers = len(tiers)
        _regions(vault, techs, tiers, tech_path, tier_path, plan, future)
        def canvas_ladder() -> Ladder:
            # without reading every technique's mentions when the earlier run's top mentions still hold
            if not ladder_made:
                drawn = reuse.canvas_ladder(techs, user_notes)
                if drawn is not None:
                    return drawn
            return ladder()

        # compact JSON: json's C encoder runs only without indent (a 5,000-node canvas: 3 s -> 0.2 s); as
        # UTF-8, a node at a time: never one str (emoji make that 4 bytes a character: 12 MB at 1,000 notes)
        # nor the whole canvas dict (9 MB)
        add(canvas_path, lambda: canvas_bytes(canvas_parts(canvas_ladder())), canvas=True)
        reuse.finish(ladder_made[0] if ladder_made else None, mermaid)
        fill_technique_notes()
    finally:
        if running is not None:
            running.close()
    return plan


#: Kind of :meth:`vaultkit.vault.Vault.previous_memo` holding what the last plan's technique, tier and cost
#: notes and canvas were made from (see :class:`_Reuse`).
PLAN_MEMO = "plan"
_PLAN_MEMO_VERSION = 2


@dataclass
class _Reuse:
    """Which generated notes an earlier run made of the inputs they have now (so need not be made again).

    The inputs are split in two. The *structure*: per user note its tier-table
    rows and title, the names looked for, the planned paths and the settings
    (one hash, :attr:`structure`). And per technique its mentions (the
    mention stage reports which techniques' mentions changed:
    :func:`vaultkit.techniques.mention_changes`) and its note's backlinks.
    With the structure unchanged, a technique note whose mentions and
    backlinks are unchanged, and every tier and cost note, is the earlier
    run's; so are the canvas and the index's Mermaid ladder when every changed
    technique keeps the notes the canvas joins to it (the canvas) and the
    first techniques by reach stay the same (the Mermaid ladder).

    A note's part of the structure is reused from the memo while its SHA-256
    is the same, so the cost follows the changed notes. The memo is stored
    only by a vault loaded with the cache; without one nothing is reused.
    """

    known: dict
    memo: dict | None
    previous: dict
    same_structure: bool
    changed_keys: set[str]
    backlinks: dict[str, tuple]
    canvas_same: bool = False
    mermaid_same: bool = False
    mermaid_top: list = field(default_factory=list)
    _updates: "tuple[dict, dict] | None" = None

    @classmethod
    def start(cls, vault: "Vault", user_notes: list["Note"], tech_path: dict[str, str], tier_path: dict[int, str],
              fixed_paths: tuple[str, ...], backlinks: dict[str, list], known: "dict | None") -> "_Reuse":
        from .techniques import MENTIONS_MEMO, mention_changes

        links = {p: tuple(bl) for p, bl in backlinks.items()}
        if not vault.cached:
            return cls({}, None, {}, False, set(), links)
        prev = vault.previous_memo(PLAN_MEMO)
        previous = prev if isinstance(prev, dict) and prev.get("version") == _PLAN_MEMO_VERSION else {}
        found = vault.memo_updates.get(MENTIONS_MEMO)
        names, mentions = found if isinstance(found, tuple) and len(found) == 2 else ("", {})
        reused = previous.get("notes", {})
        rows_of: dict[str, list] = defaultdict(list)
        for r in vault.techniques:
            rows_of[r.note].append(r)
        parts: dict[str, tuple[str, str]] = {}
        for note in user_notes:
            sha = note.sha256
            old = reused.get(note.path)
            if sha and old is not None and old[0] == sha:
                parts[note.path] = old
            else:
                parts[note.path] = (sha, hashlib.sha256(repr((rows_of.get(note.path, []), note.title)).encode()
                                                        ).hexdigest())
        structure = hashlib.sha256(repr((names, [(p, v[1]) for p, v in parts.items()], sorted(tech_path.items()),
                                         sorted(tier_path.items()), fixed_paths, vault.config)).encode()).hexdigest()
        changed = mention_changes(vault) if mentions else None
        same = bool(previous) and previous.get("structure") == structure and changed is not None
        memo = {"version": _PLAN_MEMO_VERSION, "structure": structure, "notes": parts, "backlinks": links}
        vault.memo_updates[PLAN_MEMO] = memo
        return cls(known or {}, memo, previous, same, set(changed or ()) if same else set(), links)

    def digest(self, path: str, key: str | None = None, *, canvas: bool = False) -> str | None:
        """The content hash the earlier run found on disk for ``path`` when it is made of the same inputs now
        (``key``: of that technique's note; ``canvas``: of the canvas), else ``None``."""
        if not self.same_structure or (key is not None and key in self.changed_keys):
            return None
        if canvas and self.changed_keys and not self.canvas_same:
            return None
        if self.previous.get("backlinks", {}).get(path, ()) != self.backlinks.get(path, ()):
            return None
        found = self.known.get(path)
        return found[0] if isinstance(found, tuple) and found and isinstance(found[0], str) else None

    def compare_summaries(self, changed: Ladder, techs: list["Technique"]) -> None:
        """Whether the canvas and the Mermaid ladder stay as they were although the mentions of ``changed``
        (the techniques whose mentions changed, drawn alone) did.

        The canvas reads of a technique's mentions only the notes it joins to it
        (:meth:`~vaultkit.export.LadderTechnique.top_mentions`); the Mermaid
        ladder only the :meth:`~vaultkit.export.Ladder.reach` of its first rows.
        """
        from .graph import xml_clean

        old_tops, old_reach = self.previous.get("tops", {}), self.previous.get("reach", {})
        tops = {t.id: tuple(t.top_mentions(CANVAS_MENTIONS_PER_TECHNIQUE)) for t in changed.techniques}
        reach = dict(old_reach)
        reach.update((t.id, len(t.ranked_by | t.mentioned_by)) for t in changed.techniques)
        self.canvas_same = all(old_tops.get(k) == v for k, v in tops.items())
        if len(reach) == len(old_reach) == len(techs):  # (else a technique is missing from the memo)
            rows = [{"id": t.node_id, "name": xml_clean(t.name), "tier": t.tier, "notes": reach.get(t.node_id, -1)}
                    for t in techs]
            rows.sort(key=reach_order)
            self.mermaid_top = [(r["id"], r["notes"]) for r in rows[:MERMAID_TOP]]
            self.mermaid_same = self.mermaid_top == [tuple(x) for x in self.previous.get("mermaid_top", ())]
        self._updates = (tops, reach)

    def canvas_ladder(self, techs: list["Technique"], user_notes: list["Note"]) -> Ladder | None:
        """The ladder the canvas draws, built without reading mentions, when the structure is the earlier
        run's: each technique's top mentions are the earlier run's, or (a technique whose mentions changed)
        those :meth:`compare_summaries` found. ``None`` when they are not all known."""
        if not self.same_structure or not isinstance(self.previous.get("tops"), dict):
            return None
        if self.changed_keys and self._updates is None:
            return None
        tops = dict(self.previous["tops"])
        if self._updates is not None:
            tops.update(self._updates[0])
        if len(tops) != len(techs) or any(t.node_id not in tops for t in techs):
            return None
        return Ladder.from_techniques(techs, {n.path for n in user_notes}, tops=tops)

    def mermaid(self) -> str | None:
        """The earlier run's Mermaid ladder when it is made of the same inputs."""
        if self.same_structure and (self.mermaid_same or not self.changed_keys):
            found = self.previous.get("mermaid")
            return found if isinstance(found, str) else None
        return None

    def finish(self, ladder: Ladder | None, mermaid: str) -> None:
        """Put what the next run compares with into the memo."""
        if self.memo is None:
            return
        if ladder is not None:
            tops = {t.id: tuple(t.top_mentions(CANVAS_MENTIONS_PER_TECHNIQUE)) for t in ladder.techniques}
            reach = {t.id: len(t.ranked_by | t.mentioned_by) for t in ladder.techniques}
            mermaid_top = [(r["id"], r["notes"]) for r in ladder.reach(MERMAID_TOP)]
        elif self.same_structure and "tops" in self.previous:
            tops, reach = dict(self.previous["tops"]), dict(self.previous["reach"])
            mermaid_top = self.mermaid_top or self.previous.get("mermaid_top", [])
            if self._updates is not None:
                tops.update(self._updates[0])
                reach = self._updates[1]
        else:  # pragma: no cover - no ladder is made only when the structure is the same
            return
        self.memo.update(tops=tops, reach=reach, mermaid_top=mermaid_top, mermaid=mermaid)


#: Names taken by the user's notes (see :func:`plan_generation`) listed one by one in a plan's notices; the
#: rest are counted in one more.
CLASH_NOTICES = 10


#: Techniques the index's Mermaid ladder shows (:func:`vaultkit.export.mermaid_from_ladder`'s ``top``).
MERMAID_TOP = 12


def _future_links(vault: "Vault", planned: list[str], generated: set[str]
                  ) -> tuple[dict[int, str | None], dict[str, list[tuple[str, int]]]]:
    """Resolve the user's links as they will resolve once this plan is on disk.

    Generated notes can answer links that were unresolved (and stale ones stop
    answering), so everything the plan says about links — backlinks, counts,
    wanted notes — is computed against the vault *after* the write. That keeps a
    second sync byte-identical to the first.

    Returns ``(target by id(link), backlinks by planned path)``.
    """
    from .resolve import NameIndex

    planned_set = set(planned)
    after = sorted({f for f in vault.files if f not in generated} | planned_set)
    # the files after the write are the files now (a sync that adds or removes no generated file):
    # every link resolves as it did when the vault was loaded
    index = None if after == vault.files else NameIndex(after)
    # a link resolves anew only when a file added or removed could answer it (a new "Tier 1.md": links to
    # "Tier 1"); every other link keeps what it resolved to when the vault was loaded
    changed = set() if index is None else NameIndex.name_keys(set(after).symmetric_difference(vault.files))
    may_change: dict[str, bool] = {}
    targets: dict[int, str | None] = {}
    found: dict[str, list[tuple[str, int]]] = defaultdict(list)
    for note in vault.user_notes():
        for link in note.links:
            anew = may_change.get(link.target)
            if anew is None:
                anew = may_change[link.target] = index is not None and NameIndex.may_answer(link.target, changed)
            target = index.resolve(link.target, note.path) if anew and index is not None else link.resolved
            targets[id(link)] = target
            if target in planned_set and note.counts(link):
                found[target].append((note.path, link.line))
    return targets, {k: sorted(set(v)) for k, v in found.items()}


def _technique_note(vault: "Vault", tech: "Technique", path: str, tier_path: dict[int, str], index_path: str,
                    backlinks: list[tuple[str, int]], titles: dict[str, str]) -> str:
    def title_of(note_path: str) -> str | None:  # (Note.title is worked out anew at each call)
        title = titles.get(note_path)
        if title is None:
            src = vault.notes.get(note_path)
            title = None if src is None else src.title
        return title

    eff_marks = [m.symbol for m in tech.effectiveness]
    trade_marks = [m.symbol for m in tech.tradeoffs]
    props: dict[str, Any] = {
        "type": "technique",
        "title": tech.name,
        "aliases": [tech.name] + [a for a in tech.aliases if a != tech.name],
        "tier": tech.tier if tech.tier is not None else -1,
        "tier_label": _tier_label(tech),
        "effectiveness": [m for m in dict.fromkeys(eff_marks) if m in SCHEMA_EFFECTIVENESS_MARKS],
        "tradeoffs": list(dict.fromkeys(trade_marks)),
        "cost": tech.cost,
        "sources": sorted({f"[[{_PATH_LINKER.target(r.note)}]]" for r in tech.rows}),
        "tags": ["vaultkit/technique"],
    }
    if tech.tier is None:
        del props["tier"]
    lines = [_dump_frontmatter(props), f"# {tech.name}", ""]
    for row in tech.rows:
        tier_text = f"Tier {row.tier.label}"
        if row.tier.low is not None and row.tier.low in tier_path and row.tier.low == tech.tier:
            tier_text = note_link(tier_path[row.tier.low], f"Tier {row.tier.label}")
        src_name = title_of(row.note)
        if src_name is None:
            src_name = _stem(row.note)
        lines.append(f"**{tier_text}** in {note_link(row.note, src_name)} (table {row.table + 1}, row {row.row}, "
                     f"line {row.line}) ranks it as follows.")
        lines.append("")
        if row.uses:
            lines.append(f"- **Real-world use:** {', '.join(row.uses)}")
        if row.effectiveness:
            lines.append(f"- **Effectiveness:** {_marks_text(row.effectiveness, legend=DEFAULT_LEGEND)}")
        if row.tradeoffs:
            lines.append(f"- **Tradeoffs:** {_marks_text(row.tradeoffs, legend=TRADEOFF_MEANINGS)}")
        lines.append(f"- **Cost level:** {row.cost} of 5 (💰 marks)")
        lines.append("")
    lines.append("## Notes that rank, link to or name it")
    lines.append("")
    reasons: dict[str, list[str]] = defaultdict(list)
    for r in tech.rows:
        reasons[r.note].append(f"ranks it (line {r.line})")
    linking = {p for p, _ln in backlinks}
    # Every note that ranks it or links to it; of those that only name it, the ones that name it most.
    mentions = tech.mentions
    ranks_or_links = reasons.keys() | linking
    only_named = len(mentions) - sum(1 for p in ranks_or_links if p in mentions)
    top = mentions.top_notes(MENTIONS_LISTED, skip=ranks_or_links) if only_named else []
    for p in top + sorted(linking):
        if p not in reasons and p in mentions:
            reasons[p].append(f"mentions it (line {mentions[p].line})")
    for p, ln in backlinks:
        reasons[p].append(f"links to it (line {ln})")
    for path in sorted(reasons):
        lines.append(f"- {note_link(path, title_of(path))} — {', '.join(dict.fromkeys(reasons[path]))}")
    if only_named > MENTIONS_LISTED:
        more = only_named - MENTIONS_LISTED
        lines.append(f"- … and {more} more note{'s' if more != 1 else ''} mention it (Obsidian lists them "
                     "under *Unlinked mentions* in the backlinks pane)")
    lines.append("")
    nav = [note_link(index_path, "Vault index")]
    if tech.tier is not None and tech.tier in tier_path:
        nav.insert(0, note_link(tier_path[tech.tier], f"Tier {tech.tier}"))
    lines.append("Up: " + " · ".join(nav))
    return "\n".join(lines) + "\n"


def _tier_note(n: int, members: list["Technique"], tech_path: dict[str, str], tier_path: dict[int, str],
               prev_n: int | None, next_n: int | None, index_path: str,
               titles: "dict[str, str] | None" = None) -> str:
    # (each ranking note shown by its title, as in the technique notes: a rename in Obsidian, which rewrites the
    # link but keeps its text, then leaves the note as sync writes it)
    props = {
        "type": "tier",
        "title": f"Tier {n}",
        "tier": n,
        "techniques": [f"[[{_PATH_LINKER.target(tech_path[t.key])}]]" for t in members],
        "tags": ["vaultkit/tier"],
    }
    lines = [_dump_frontmatter(props), f"# Tier {n}", ""]
    lines.append(f"{len(members)} technique{'s' if len(members) != 1 else ''} ranked at tier {n}.")
    lines.append("")
    lines.append("| Technique | Effectiveness | Tradeoffs | Cost | Ranked in |")
    lines.append("|---|---|---|---|---|")
    for t in members:
        b = _best_row(t)
        eff = " ".join(m.symbol * m.count for m in b.effectiveness)
        trade = " ".join(m.symbol * m.count for m in b.tradeoffs)
        sources = ", ".join(dict.fromkeys(note_link(r.note, (titles or {}).get(r.note), in_table=True)
                                          for r in t.rows if r.tier.low == n))
        lines.append(f"| {note_link(tech_path[t.key], t.name, in_table=True)} | {eff} | {trade} | {b.cost} | "
                     f"{sources} |")
    lines.append("")
    nav = []
    if prev_n is not None:
        nav.append("← " + note_link(tier_path[prev_n], f"Tier {prev_n}"))
    nav.append(note_link(index_path, "Vault index"))
    if next_n is not None:
        nav.append(note_link(tier_path[next_n], f"Tier {next_n}") + " →")
    lines.append(" · ".join(nav))
    return "\n".join(lines) + "\n"


def _cost_table_lines(techs: list["Technique"], tech_path: dict[str, str]) -> list[str]:
    """The ranked cost-to-value table (a Markdown table, one row per technique)."""
    rows = []
    for t in techs:
        b = _best_row(t)
        value = value_score(b.effectiveness)
        cost = cost_score(b.cost, b.tradeoffs)
        rows.append((value / (1.0 + cost), value, cost, t))
    rows.sort(key=lambda r: (-r[0], -r[1], r[3].tier if r[3].tier is not None else 10**6, r[3].name.casefold()))
    lines = ["| Rank | Technique | Tier | Value | Cost | Ratio |", "|---:|---|---:|---:|---:|---:|"]
    for rank, (ratio, value, cost, t) in enumerate(rows, start=1):
        tier = _cell(_tier_label(t)) if t.tier is not None else "—"
        lines.append(f"| {rank} | {note_link(tech_path[t.key], t.name, in_table=True)} | {tier} | {value:g} | "
                     f"{cost:g} | {ratio:.2f} |")
    return lines


SCORING_TEXT = ("**Scoring.** Value = 2 per 🟢 (or ✅), 1 per ⚪ or 🟡, 0.5 per 🟠, −1 per 🔴. "
                "Cost = the 💰 level (0–5) + 1 per risk mark (🧨 ❌ 🔧 📉 🧩 🧠 💡 ⚪ 🚫 🧱 🌀 ⚠), "
                "each repetition counted. Ratio = value ÷ (1 + cost); higher is better. "
                "Ties: higher value first, then lower tier.")


def _cost_note(techs: list["Technique"], tech_path: dict[str, str], index_path: str) -> str:
    props = {"type": "index", "title": "Cost to value", "tags": ["vaultkit/index"]}
    lines = [_dump_frontmatter(props), "# Cost to value", ""]
    lines.append("The tier table inverted: techniques ranked by the value their effectiveness marks promise "
                 "against the cost and risk their tradeoff marks warn of.")
    lines.append("")
    lines.append(SCORING_TEXT)
    lines.append("")
    lines.extend(_cost_table_lines(techs, tech_path))
    lines.append("")
    lines.append("Up: " + note_link(index_path, "Vault index"))
    return "\n".join(lines) + "\n"


def _index_note(vault: "Vault", user_notes: list["Note"], techs: list["Technique"], tiers: list[int],
                tech_path: dict[str, str], tier_path: dict[int, str], cost_path: str,
                future: dict[int, str | None], mermaid: str) -> str:
    props = {"type": "index", "title": "Vault index", "tags": ["vaultkit/index"]}
    lines = [_dump_frontmatter(props), "# Vault index", ""]
    user_notes = [n for n in user_notes if not vault.is_unread(n)]  # (left out: sync warns of each)
    # links in regions are vaultkit's own (counting them would change the next run's output)
    counted = [l for n in user_notes for l in n.links if n.counts(l)]
    n_links = len(counted)
    n_unres = sum(1 for l in counted if future[id(l)] is None)
    lines.append(f"{len(user_notes)} notes, {n_links} links ({n_links - n_unres} resolved, {n_unres} unresolved), "
                 f"{len(techs)} techniques in {len(tiers)} tiers. See also {note_link(cost_path, 'Cost to value')}.")
    lines.append("")
    lines.append("## Tier ladder")
    lines.append("")
    lines.extend(_tier_ladder_lines(techs, tiers, tech_path, tier_path))
    lines.append("")
    if mermaid:
        lines.append("```mermaid")
        lines.append(mermaid.rstrip("\n"))
        lines.append("```")
        lines.append("")
    # by category
    lines.append("## Notes by category")
    lines.append("")
    by_cat: dict[str, list["Note"]] = defaultdict(list)
    for note in user_notes:
        cat = note.get_property("category")
        by_cat[cat.strip() if isinstance(cat, str) and cat.strip() else "Uncategorized"].append(note)
    for cat in sorted(by_cat, key=lambda c: (c == "Uncategorized", c.casefold())):
        lines.append(f"### {cat.replace('#', '').strip() or 'Uncategorized'}")
        lines.append("")
        for note in sorted(by_cat[cat], key=lambda n: (n.title.casefold(), n.path)):
            lines.append(f"- {note_link(note.path, note.title)}")
        lines.append("")
    # by section tag
    lines.append("## Notes by section tag")
    lines.append("")
    by_tag: dict[str, list["Note"]] = defaultdict(list)
    for note in user_notes:
        for tag in note.tags:
            if _SECTION_TAG_RE.match(tag):
                by_tag[tag].append(note)
    if not by_tag:
        lines.append("No section tags (`#S<n>_…`) found.")
        lines.append("")
    for tag in sorted(by_tag, key=lambda t: (_section_number(t), t.casefold())):
        lines.append(f"### {tag}")
        lines.append("")
        for note in sorted(by_tag[tag], key=lambda n: (n.title.casefold(), n.path)):
            lines.append(f"- {note_link(note.path, note.title)}")
        lines.append("")
    lines.append("## Wanted notes")
    lines.append("")
    lines.extend(_wanted_lines(vault, user_notes, future))
    lines.append("")
    lines.extend(_feedback_section(vault))
    return "\n".join(lines) + "\n"


def _tier_ladder_lines(techs: list["Technique"], tiers: list[int], tech_path: dict[str, str],
                      tier_path: dict[int, str]) -> list[str]:
    """One list item per tier (numbers first, then tiers named in words) with its techniques."""
    lines: list[str] = []
    for n in tiers:
        members = [t for t in techs if t.tier == n]
        names = ", ".join(note_link(tech_path[t.key], t.name) for t in members)
        lines.append(f"- {note_link(tier_path[n], f'Tier {n}')}: {names}")
    labels: dict[str, list["Technique"]] = defaultdict(list)
    for t in techs:
        if t.tier is None:
            labels[_tier_label(t)].append(t)
    for label in sorted(labels, key=str.casefold):
        names = ", ".join(note_link(tech_path[t.key], t.name) for t in labels[label])
        lines.append(f"- {label.replace('[', '(').replace(']', ')')} (a tier named in words): {names}")
    if not techs:
        lines.append("No tier tables found.")
    return lines


def _wanted_lines(vault: "Vault", user_notes: list["Note"], future: dict[int, str | None],
                  top: int = 200) -> list[str]:
    """Unresolved link targets, most wanted first, as text (so the list adds no links of its own)."""
    wanted: Counter[str] = Counter()
    spelled: dict[str, str] = {}
    sources: dict[str, set[str]] = defaultdict(set)
    for note in user_notes:
        for link in note.links:
            if future[id(link)] is None and link.target and note.counts(link):
                key = link.target.casefold()
                wanted[key] += 1
                spelled.setdefault(key, link.target)
                sources[key].add(note.path)
    if not wanted:
        return ["Every link resolves."]
    lines = ["Link targets that no note answers yet, most wanted first (shown as text so that this "
             "list adds no links of its own):", ""]
    ranked = sorted(wanted.items(), key=lambda kv: (-kv[1], kv[0]))
    for key, count in ranked[:top]:
        srcs = sorted(sources[key])
        shown = ", ".join(note_link(p, vault.notes[p].title) for p in srcs[:3])
        more = f" and {len(srcs) - 3} more" if len(srcs) > 3 else ""
        target = spelled[key].replace("`", "'")
        lines.append(f"- `{target}` — {count} link{'s' if count != 1 else ''} from {shown}{more}")
    if len(ranked) > top:
        lines.append(f"- … and {len(ranked) - top} more targets")
    return lines


#: Regions a user may open in a note of their own; ``vaultkit sync`` fills them.
REGION_NAMES = ("tier-ladder", "cost-to-value", "wanted-notes")
_REGION_BEGIN_RE = re.compile(r"^[ \t]*%% vaultkit:begin ([A-Za-z0-9_.-]+) %%[ \t]*$", re.M)


def _regions(vault: "Vault", techs: list["Technique"], tiers: list[int], tech_path: dict[str, str],
             tier_path: dict[int, str], plan: Plan, future: dict[int, str | None]) -> None:
    """Plan the text of every region a user opened (``%% vaultkit:begin NAME %%``) in their notes."""
    makers = {
        "tier-ladder": lambda: _tier_ladder_lines(techs, tiers, tech_path, tier_path),
        "cost-to-value": lambda: [SCORING_TEXT, ""] + _cost_table_lines(techs, tech_path),
        "wanted-notes": lambda: _wanted_lines(vault, vault.user_notes(), future),
    }
    made: dict[str, str] = {}
    for note in vault.user_notes():
        if not note.region_marks:  # (without reading its text: a sync loads few notes' texts)
            continue
        text = note.text  # decoded on each access (Note keeps UTF-8 bytes)
        if "%% vaultkit:begin" not in text:
            continue
        lines = text.split("\n")  # markers in code or in the frontmatter open no region
        text = "\n".join(line for line, counts in zip(lines, region_marker_lines(lines, with_frontmatter=True))
                         if counts)
        for name in dict.fromkeys(_REGION_BEGIN_RE.findall(text)):
            if name not in makers:
                plan.notices.append(f"{note.path}: unknown region '{name}' left alone "
                                    f"(known: {', '.join(REGION_NAMES)})")
                continue
            if name not in made:
                made[name] = "\n".join(makers[name]()) + "\n"
            plan.regions.append((note.path, name, made[name]))


def _feedback_section(vault: "Vault") -> list[str]:
    """Related notes named in ``FeedbackLoop`` properties that no note answers, with near matches."""
    loops = vault.feedback_loops
    named = sum(len(loop.related) for loop in loops)
    if not named:
        return []
    wanted: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for loop in loops:
        for rel in loop.missing:
            wanted[rel.key].append((rel.name, loop.note))
    missing = sum(len(v) for v in wanted.values())
    lines = ["## Related notes named in FeedbackLoop", ""]
    lines.append(f"{named} related notes are named in `FeedbackLoop` properties; {missing} of them "
                 f"({100.0 * missing / named:.1f} %) match no note yet. Most named first:")
    lines.append("")
    index = TitleIndex(vault.user_notes())
    # near matches are reused from an earlier run while every title is the same (difflib is slow)
    prev = vault.previous_memo(SUGGEST_MEMO)
    known: dict = prev[1] if isinstance(prev, tuple) and len(prev) == 2 and prev[0] == index.fingerprint() else {}
    suggested: dict[str, list[str]] = {}
    ranked = sorted(wanted.items(), key=lambda kv: (-len({p for _, p in kv[1]}), kv[0]))
    for _key, uses in ranked[:100]:
        name = uses[0][0].replace("`", "'")
        srcs = sorted({p for _, p in uses})
        shown = ", ".join(note_link(p, vault.notes[p].title) for p in srcs[:3])
        more = f" and {len(srcs) - 3} more" if len(srcs) > 3 else ""
        hint = known.get(uses[0][0])
        if hint is None:
            hint = index.suggest(uses[0][0])
        suggested[uses[0][0]] = hint
        near = f" — near: {', '.join(note_link(h, vault.notes[h].title) for h in hint)}" if hint else ""
        lines.append(f"- `{name}` — named by {shown}{more}{near}")
    if len(ranked) > 100:
        lines.append(f"- … and {len(ranked) - 100} more names")
    lines.append("")
    vault.memo_updates[SUGGEST_MEMO] = (index.fingerprint(), suggested)
    return lines


def _section_number(tag: str) -> int:
    m = re.match(r"^S(\d+)_", tag, re.IGNORECASE)
    return int(m.group(1)) if m else 10**6
