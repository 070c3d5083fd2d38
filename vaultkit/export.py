"""Exports of the knowledge graph: node-link JSON, GraphML, GEXF, JSON Canvas 1.0 and Mermaid.

The three graph formats are written by networkx and read back by it (and by
Gephi) with the same nodes and edges. The canvas is laid out for Obsidian:
one group per tier with its techniques inside as text cards, the notes that
rank or mention them as file cards in columns on both sides, and an edge per
(note, technique) pair. The Mermaid text draws the tier ladder and the
most-connected techniques; the index-note generator embeds it in a
```` ```mermaid ```` block.

Examples
--------
>>> from vaultkit.vault import Vault                                 # doctest: +SKIP
>>> print(mermaid_tier_ladder(Vault.load("vault"), top=2))           # doctest: +SKIP
flowchart TD
    tier1["Tier 1"]
    ...
"""

from __future__ import annotations

import hashlib
import heapq
import io
import json
import os
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence, Set as AbstractSet
from dataclasses import dataclass, field
from typing import IO, TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    import networkx as nx

    from .techniques import Technique
    from .vault import Vault

__all__ = [
    "FORMATS",
    "node_link",
    "graph_from_node_link",
    "write_graph",
    "export_text",
    "canvas",
    "canvas_from_graph",
    "canvas_from_ladder",
    "canvas_bytes",
    "canvas_parts",
    "Ladder",
    "LadderTechnique",
    "validate_canvas",
    "mermaid_tier_ladder",
    "mermaid_from_graph",
    "mermaid_from_ladder",
    "mermaid_label",
]

FORMATS = ("json", "graphml", "gexf", "canvas", "mermaid")

# ---------------------------------------------------------------------------------------------- graph files


def node_link(g: "nx.MultiDiGraph") -> dict[str, Any]:
    """The node-link data of ``g`` (``{"directed", "multigraph", "graph", "nodes", "edges"}``).

    >>> import networkx as nx
    >>> g = nx.MultiDiGraph(); _ = g.add_edge("a", "b", kind="link"); _ = g.add_edge("a", "b", kind="link")
    >>> d = node_link(g); len(d["nodes"]), len(d["edges"]), graph_from_node_link(d).number_of_edges()
    (2, 2, 2)
    """
    import networkx as nx

    try:
        return nx.node_link_data(g, edges="edges")
    except TypeError:  # networkx < 3.4 names the list "links"
        data = nx.node_link_data(g)
        data["edges"] = data.pop("links")
        return data


def graph_from_node_link(data: dict[str, Any]) -> "nx.MultiDiGraph":
    """Read node-link data written by :func:`node_link` back into a graph."""
    import networkx as nx

    try:
        return nx.node_link_graph(data, edges="edges")
    except TypeError:  # networkx < 3.4
        d = dict(data)
        d["links"] = d.pop("edges")
        return nx.node_link_graph(d)


def json_pieces(data: Any) -> Iterator[bytes]:
    """``json.dumps(data, ensure_ascii=False, indent=2) + "\\n"`` as UTF-8, in pieces made as they are asked for
    (:func:`vaultkit.report.json_chunks`).

    The text of a large graph is never held whole: as one ``str`` it takes up to 4 bytes a character
    (an emoji in a title makes it so), 233 MB for the 58 MB export of 5,125 notes.

    >>> data = {"nodes": [{"id": "Ünïcode 🟢"}], "n": 1}
    >>> b"".join(json_pieces(data)) == (json.dumps(data, ensure_ascii=False, indent=2) + "\\n").encode()
    True
    """
    from .report import json_chunks

    for chunk in json_chunks(data):
        yield chunk.encode("utf-8")


#: Characters XML 1.0 cannot hold, not even as a character reference (control characters, lone surrogates).
_NOT_XML_CHARS = r"\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff"
_NOT_XML = re.compile(f"[{_NOT_XML_CHARS}]")
#: What :func:`xml_safe` writes as an escape: those characters, and the backslash (doubled, so that no two
#: names become one: a control character and a name that spells its escape).
_XML_ESCAPED = re.compile(rf"[\\{_NOT_XML_CHARS}]")


def _xml_escape(m: re.Match[str]) -> str:
    code = ord(m.group())
    return "\\\\" if code == 0x5C else f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def _xml_text(value: Any) -> Any:
    if value.__class__ is not str or not _XML_ESCAPED.search(value):
        return value
    return _XML_ESCAPED.sub(_xml_escape, value)


def xml_safe(g: "nx.MultiDiGraph") -> "nx.MultiDiGraph":
    r"""``g`` itself, or a copy whose node ids and text attributes have each character XML cannot hold
    written as an escape (``\x01``, and ``\`` as ``\\``): GraphML and GEXF files with one in a tag or a
    file name were not well-formed, and no reader opened them.

    >>> import networkx as nx
    >>> odd = "a" + chr(1) + "b"
    >>> g = nx.MultiDiGraph(); g.add_node(odd + ".md", label=odd); _ = g.add_edge(odd + ".md", "c.md", kind="link")
    >>> for node, label in sorted(xml_safe(g).nodes(data="label")):
    ...     print(node, label)
    a\x01b.md a\x01b
    c.md None
    >>> xml_safe(g).number_of_edges(), xml_safe(nx.MultiDiGraph([("a", "b")])).number_of_edges()
    (1, 1)
    >>> g.add_node("a" + chr(92) + "x01b.md")  # (a name that spells the escape stays another node)
    >>> sorted(xml_safe(g))
    ['a\\\\x01b.md', 'a\\x01b.md', 'c.md']
    """
    def odd(attrs: dict) -> bool:
        return any((x.__class__ is str and _NOT_XML.search(x)) for kv in attrs.items() for x in kv)

    if not any(_NOT_XML.search(str(n)) or odd(a) for n, a in g.nodes(data=True)) and \
            not any(odd(a) for _u, _v, a in g.edges(data=True)) and not odd(g.graph):
        return g
    out = g.__class__()

    def clean(attrs: dict) -> dict:
        return {_xml_text(k): _xml_text(v) for k, v in attrs.items()}

    out.graph.update(clean(g.graph))
    for n, a in g.nodes(data=True):
        out.add_node(_xml_text(n), **clean(a))
    for u, v, key, a in g.edges(keys=True, data=True):
        out.add_edge(_xml_text(u), _xml_text(v), key=key, **clean(a))
    return out


def write_graph(g: "nx.MultiDiGraph", fmt: str, dest: str | os.PathLike[str] | IO[bytes]) -> None:
    """Write ``g`` as ``json`` (node-link), ``graphml`` or ``gexf`` to a path or a binary stream.

    Raises
    ------
    ValueError
        For another format.
    """
    import io

    import networkx as nx

    if not hasattr(dest, "write"):  # a path: written whole or not at all
        from .writer import write_whole

        if fmt == "json":  # in pieces as they are made: never the whole text at once
            write_whole(dest, json_pieces(node_link(g)))  # type: ignore[arg-type]
            return
        buffer = io.BytesIO()
        write_graph(g, fmt, buffer)
        write_whole(dest, buffer.getvalue())  # type: ignore[arg-type]
        return
    if fmt == "json":
        for piece in json_pieces(node_link(g)):
            dest.write(piece)  # type: ignore[union-attr]
    elif fmt == "graphml":
        nx.write_graphml(xml_safe(g), dest, encoding="utf-8", prettyprint=True)
    elif fmt == "gexf":
        nx.write_gexf(xml_safe(g), dest, encoding="utf-8", prettyprint=True)
    else:
        raise ValueError(f"not a graph file format: {fmt!r} (json, graphml, gexf)")


def export_text(vault: "Vault", fmt: str, *, top: int = 12) -> str:
    """The export of ``vault`` in ``fmt`` (one of :data:`FORMATS`) as text.

    Raises
    ------
    ValueError
        For an unknown format.
    """
    if fmt == "canvas":
        return json.dumps(canvas(vault), ensure_ascii=False, indent=2) + "\n"
    if fmt == "mermaid":
        return mermaid_tier_ladder(vault, top=top) + "\n"
    if fmt in ("json", "graphml", "gexf"):
        buf = io.BytesIO()
        write_graph(vault.graph, fmt, buf)
        return buf.getvalue().decode("utf-8")
    raise ValueError(f"unknown format {fmt!r}: choose from {', '.join(FORMATS)}")


# -------------------------------------------------------------------------------------------------- canvas

CARD_W = 280
CARD_GAP = 20
GROUP_PAD = 20
GROUP_HEAD = 40
GROUP_GAP = 60
GROUP_COLS = 3
NOTE_W = 320
NOTE_H = 60
NOTE_GAP = 20
SIDE_GAP = 160
#: The canvas draws ``mentions`` edges only from this many notes per technique (those that
#: name it most often): every note that names a technique would make a canvas nobody can read
#: (74,550 edges, 12 MB at 1,000 synthetic notes; 470 MB at 10,000). ``ranks`` edges are all drawn.
CANVAS_MENTIONS_PER_TECHNIQUE = 3
#: canvas preset colours: "4" green, "3" yellow, "2" orange, "1" red, "5" cyan, "6" purple
_TIER_COLORS = ("4", "4", "5", "5", "3", "3", "2", "2", "1", "1", "6")


def _cid(*parts: Any) -> str:
    """A stable 16-hex-digit id (the shape Obsidian writes) for a canvas node or edge."""
    return hashlib.sha1("\x1f".join(map(str, parts)).encode("utf-8")).hexdigest()[:16]


def _card_text(attrs: dict[str, Any]) -> str:
    lines = [f"**{attrs.get('name', attrs.get('label', ''))}**"]
    meta = []
    if attrs.get("tiers"):
        meta.append(f"Tier {attrs['tiers']}")
    if attrs.get("cost"):
        meta.append("💰" * int(attrs["cost"]))
    if meta:
        lines.append(" · ".join(meta))
    for key in ("effectiveness", "tradeoffs"):
        if attrs.get(key):
            lines.extend(part.strip() for part in str(attrs[key]).split(";") if part.strip())
    return "\n".join(lines)


def _card_height(text: str) -> int:
    return 40 + 24 * max(1, len(text.splitlines()))


@dataclass
class LadderTechnique:
    """One technique of a :class:`Ladder`: its node id and attributes, tiers and the notes that reach it."""

    id: str
    attrs: dict[str, Any]
    tiers: list[str]
    ranked_by: set[str]
    mentioned_by: "AbstractSet[str]"  # (a set, or the keys view of the technique's mentions)
    mention_counts: "Mapping[str, int]" = field(default_factory=dict)
    #: ``False`` in a ladder drawn for the canvas from earlier top mentions (see :meth:`Ladder.from_techniques`)
    mentions_read: bool = True
    _tops: "dict[int, list[str]]" = field(default_factory=dict, repr=False, compare=False)

    def top_mentions(self, limit: int) -> list[str]:
        """Up to ``limit`` notes that mention it without ranking it: most mentions first, then by path.

        Found once per ``limit`` (the canvas and the plan's memo both ask); the sets must not change after.

        Raises
        ------
        ValueError
            When the mentions were not read (:attr:`mentions_read`) and ``limit`` is not the one given.
        """
        found = self._tops.get(limit)
        if found is None:
            if not self.mentions_read:
                raise ValueError(f"technique {self.id!r}: mentions not read, only the top {list(self._tops)} known")
            found = self._tops[limit] = self._top_mentions(limit)
        return list(found)

    def _top_mentions(self, limit: int) -> list[str]:
        counts, ranked, mentioned = self.mention_counts, self.ranked_by, self.mentioned_by
        if isinstance(counts, _MentionCounts):  # the technique's own order (MentionMap.ranked_notes)
            # (a note may rank it without mentioning it: compare the sets, not their sizes)
            if limit > 0 and not mentioned <= ranked:
                return counts.technique.mentions.top_notes(limit, mentioned, ranked)
            return []
        return heapq.nsmallest(limit, (p for p in mentioned if p not in ranked),
                               key=lambda p: (-counts.get(p, 1), p))


class _MentionCounts(Mapping[str, int]):
    """``{note: count}`` read straight from a technique's mentions (no dict built per technique)."""

    __slots__ = ("_mentions", "technique")

    def __init__(self, technique: "Technique") -> None:
        self.technique = technique
        self._mentions = technique.mentions

    def __getitem__(self, note: str) -> int:
        return self._mentions.count(note)

    def __iter__(self) -> "Iterator[str]":
        return iter(self._mentions)

    def __len__(self) -> int:
        return len(self._mentions)


@dataclass
class Ladder:
    """The part of the knowledge graph that the canvas and the Mermaid ladder draw.

    Tiers (node id → attributes), techniques in graph order with their
    ``in-tier`` targets and the notes joined to them by ``ranks`` and
    ``mentions`` edges. Built from a graph (:meth:`from_graph`) or straight
    from the merged techniques (:meth:`from_techniques`, which gives the same
    ladder without building the whole graph).
    """

    tiers: dict[str, dict[str, Any]]
    techniques: list[LadderTechnique]

    @classmethod
    def from_graph(cls, g: "nx.MultiDiGraph") -> "Ladder":
        """The ladder of a graph made by :func:`vaultkit.graph.build_graph`."""
        tiers = {n: a for n, a in g.nodes(data=True) if a.get("kind") == "tier"}
        techs = []
        for n, a in g.nodes(data=True):
            if a.get("kind") != "technique":
                continue
            in_tier = [v for _, v, k in g.out_edges(n, data="kind") if k == "in-tier"]
            ranks: set[str] = set()
            ments: set[str] = set()
            counts: dict[str, int] = {}
            for u, _, d in g.in_edges(n, data=True):
                k = d.get("kind")
                if k in ("ranks", "mentions") and g.nodes[u].get("kind") == "note":
                    (ranks if k == "ranks" else ments).add(u)
                    if k == "mentions":
                        counts[u] = counts.get(u, 0) + int(d.get("count", 1))
            techs.append(LadderTechnique(n, a, in_tier, ranks, ments, counts))
        return cls(tiers, techs)

    @classmethod
    def from_techniques(cls, techniques: "list[Technique]", user_paths: "set[str] | None" = None, *,
                        tops: "Mapping[str, Sequence[str]] | None" = None) -> "Ladder":
        """The ladder of merged techniques (with their mentions), as :func:`~vaultkit.graph.build_graph` would make it.

        ``user_paths`` limits ranks and mentions to those notes (the graph's
        note nodes); by default every note counts (the techniques of
        :func:`~vaultkit.techniques.build_techniques` are ranked and mentioned
        by the user's notes only: the same ladder). ``mentioned_by`` is then
        the keys view of the technique's mentions (set-like; they must not
        change while the ladder is used).

        ``tops`` (technique node id → its :meth:`~LadderTechnique.top_mentions`
        of :data:`CANVAS_MENTIONS_PER_TECHNIQUE`, e.g. from an earlier run)
        gives a ladder for the canvas only: the techniques' mentions are not
        read, so it costs nothing per mention; :meth:`reach` and other
        ``top_mentions`` limits raise ``ValueError`` on it.

        Raises
        ------
        KeyError
            When ``tops`` lacks a technique.
        """
        from .graph import row_tier_nodes, technique_attrs, xml_clean

        def clean(attrs: dict[str, Any]) -> dict[str, Any]:
            return {k: xml_clean(v) if type(v) is str else v for k, v in attrs.items()}

        tiers: dict[str, dict[str, Any]] = {}
        techs = []
        for t in techniques:
            in_tier: list[str] = []
            ranks: set[str] = set()
            for r in t.rows:
                if user_paths is not None and r.note not in user_paths:
                    continue
                ranks.add(r.note)
                for tid, attrs in row_tier_nodes(r):
                    if tid not in tiers:
                        tiers[tid] = clean(attrs)
                    if tid not in in_tier:
                        in_tier.append(tid)
            if tops is not None:
                drawn = LadderTechnique(t.node_id, clean(technique_attrs(t)), in_tier, ranks, set(), {},
                                        mentions_read=False)
                drawn._tops[CANVAS_MENTIONS_PER_TECHNIQUE] = list(tops[t.node_id])
                techs.append(drawn)
                continue
            # (every note: the mention map's own keys, not a copy of 145 paths per technique at 10,000 notes)
            ments = t.mentions.keys() if user_paths is None else t.mentions.keys() & user_paths
            techs.append(LadderTechnique(t.node_id, clean(technique_attrs(t)), in_tier, ranks, ments,
                                         _MentionCounts(t)))
        return cls(tiers, techs)

    def reach(self, top: int | None = None) -> list[dict[str, Any]]:
        """Techniques by how many distinct notes rank or mention them (as :func:`vaultkit.graph.technique_reach`).

        Raises
        ------
        ValueError
            On a ladder drawn without reading mentions (``Ladder.from_techniques(..., tops=...)``).
        """
        rows = []
        for t in self.techniques:
            if not t.mentions_read:
                raise ValueError("reach of a ladder drawn without reading mentions")
            rows.append({"id": t.id, "name": t.attrs.get("name", t.id), "tier": t.attrs.get("tier"),
                         "notes": len(t.ranked_by | t.mentioned_by), "ranked_by": len(t.ranked_by),
                         "mentioned_by": len(t.mentioned_by)})
        rows.sort(key=reach_order)
        return rows if top is None else rows[:top]


def reach_order(row: dict[str, Any]) -> tuple:
    """Sort key of a :meth:`Ladder.reach` row: most notes first, then by tier (text tiers last), then by name."""
    return (-row["notes"], row["tier"] if row["tier"] is not None else 10**6, row["name"].casefold())


def canvas_from_graph(g: "nx.MultiDiGraph") -> dict[str, Any]:
    """Lay out the tiers, techniques and the notes that rank or mention them as a JSON Canvas 1.0 dict.

    Every note that ranks a technique is joined to it; of the notes that only
    mention it, the :data:`CANVAS_MENTIONS_PER_TECHNIQUE` that name it most
    often (ties by path) are.

    Every technique sits in the group of its best tier (text tiers last);
    groups come before their cards in ``nodes`` so Obsidian draws them below.
    Coordinates and sizes are integers; ids are unique; every edge joins two
    nodes of the canvas.
    """
    return canvas_from_ladder(Ladder.from_graph(g))


def canvas_bytes(doc: Mapping[str, Iterable[Mapping[str, Any]]]) -> bytes:
    """``json.dumps(doc, ensure_ascii=False) + "\\n"`` as UTF-8, made one node and edge at a time.

    The same bytes, without ever holding the whole canvas as one ``str``: a
    canvas's text cards carry emoji (🟢, 💰…), which make a ``str`` take 4
    bytes a character (12 MB for a 1,000-note vault's canvas, 3.1 MB as UTF-8).
    Given :func:`canvas_parts`, not even the canvas dict is held.

    Parameters
    ----------
    doc : mapping
        A JSON Canvas dict (:func:`canvas_from_ladder`), or one whose values
        are iterators (:func:`canvas_parts`), taken in order.

    Returns
    -------
    bytes
        Compact JSON (``", "`` and ``": "`` separators, as ``json.dumps``), a final newline.

    Raises
    ------
    UnicodeEncodeError
        For a string holding a lone surrogate (which UTF-8 cannot hold).

    Examples
    --------
    >>> doc = {"nodes": [{"id": "a", "text": "🟢 LoRA"}, {"id": "b"}], "edges": []}
    >>> canvas_bytes(doc) == (json.dumps(doc, ensure_ascii=False) + "\\n").encode("utf-8")
    True
    """
    dumps = json.JSONEncoder(ensure_ascii=False).encode
    out = io.BytesIO()  # (getvalue() hands over its buffer: no second copy)
    out.write(b"{")
    for i, (key, items) in enumerate(doc.items()):
        out.write(f'{", " if i else ""}{dumps(key)}: ['.encode("utf-8"))
        for j, item in enumerate(items):
            if j:
                out.write(b", ")
            out.write(dumps(item).encode("utf-8"))
        out.write(b"]")
    out.write(b"}\n")
    return out.getvalue()


def canvas_from_ladder(ladder: Ladder) -> dict[str, Any]:
    """The JSON Canvas 1.0 dict of a :class:`Ladder` (see :func:`canvas_from_graph`)."""
    return {key: list(items) for key, items in canvas_parts(ladder).items()}


def canvas_parts(ladder: Ladder) -> dict[str, Iterator[dict[str, Any]]]:
    """:func:`canvas_from_ladder` with iterators for lists, each node and edge made as it is asked for.

    Take them in order, every node before any edge (as :func:`canvas_bytes`
    does): the edges are placed by where the nodes went.

    Examples
    --------
    >>> parts = canvas_parts(Ladder({}, []))
    >>> list(parts), list(parts["nodes"]), list(parts["edges"])
    (['nodes', 'edges'], [], [])
    """
    node_of: dict[str, str] = {}
    side_of: dict[str, str] = {}
    ranks_by_note: dict[str, dict[str, bool]] = {}  # note -> technique id -> ranks (else only mentions)
    return {"nodes": _canvas_nodes(ladder, node_of, side_of, ranks_by_note),
            "edges": _canvas_edges(node_of, side_of, ranks_by_note)}


def _canvas_nodes(ladder: Ladder, node_of: dict[str, str], side_of: dict[str, str],
                  ranks_by_note: dict[str, dict[str, bool]]) -> Iterator[dict[str, Any]]:
    """The canvas's nodes; fills ``node_of``, ``side_of`` and ``ranks_by_note`` for :func:`_canvas_edges`."""
    tiers = ladder.tiers
    by_group: dict[str, list[LadderTechnique]] = {}
    for t in ladder.techniques:
        if not t.tiers:
            continue
        tier = t.attrs.get("tier")
        best = f"tier:{tier}" if tier is not None and f"tier:{tier}" in tiers else sorted(t.tiers)[0]
        by_group.setdefault(best, []).append(t)

    def group_order(tid: str) -> tuple:
        a = tiers[tid]
        return (0, a["number"], "") if "number" in a else (1, 0, str(a.get("label", tid)).casefold())

    y = 0
    width = GROUP_COLS * (CARD_W + CARD_GAP) - CARD_GAP + 2 * GROUP_PAD
    for tid in sorted(by_group, key=group_order):
        members = sorted(by_group[tid], key=lambda t: str(t.attrs.get("name", t.id)).casefold())
        texts = [_card_text(t.attrs) for t in members]
        rows = [texts[i:i + GROUP_COLS] for i in range(0, len(texts), GROUP_COLS)]
        row_heights = [max(_card_height(t) for t in row) for row in rows]
        height = GROUP_HEAD + sum(row_heights) + CARD_GAP * (len(rows) - 1) + GROUP_PAD
        a = tiers[tid]
        color = _TIER_COLORS[max(0, min(int(a["number"]), len(_TIER_COLORS)) - 1)] if "number" in a else "6"
        gid = _cid("group", tid)
        yield {"id": gid, "type": "group", "x": 0, "y": y, "width": width, "height": height,
               "label": str(a.get("label", tid)), "color": color}
        node_of[tid] = gid
        cy = y + GROUP_HEAD
        idx = 0
        for r, row in enumerate(rows):
            for c, text in enumerate(row):
                t = members[idx]
                idx += 1
                cid = _cid("technique", t.id)
                node_of[t.id] = cid
                yield {"id": cid, "type": "text", "text": text, "x": GROUP_PAD + c * (CARD_W + CARD_GAP), "y": cy,
                       "width": CARD_W, "height": _card_height(text)}
            cy += row_heights[r] + CARD_GAP
        y += height + GROUP_GAP
    # notes around the ladder, most connected first, alternating left and right
    for members in by_group.values():
        for t in members:
            for u in t.top_mentions(CANVAS_MENTIONS_PER_TECHNIQUE):
                ranks_by_note.setdefault(u, {})[t.id] = False
            for u in t.ranked_by:
                ranks_by_note.setdefault(u, {})[t.id] = True
    ordered = sorted(ranks_by_note, key=lambda n: (-len(ranks_by_note[n]), n))
    side_y = {"left": 0, "right": 0}
    for i, n in enumerate(ordered):
        side = "left" if i % 2 == 0 else "right"
        x = -SIDE_GAP - NOTE_W if side == "left" else width + SIDE_GAP
        nid = _cid("note", n)
        node_of[n] = nid
        side_of[n] = side
        yield {"id": nid, "type": "file", "file": n, "x": x, "y": side_y[side], "width": NOTE_W, "height": NOTE_H}
        side_y[side] += NOTE_H + NOTE_GAP


def _canvas_edges(node_of: dict[str, str], side_of: dict[str, str],
                  ranks_by_note: dict[str, dict[str, bool]]) -> Iterator[dict[str, Any]]:
    """The canvas's edges, once :func:`_canvas_nodes` has run to its end."""
    sha1 = hashlib.sha1
    for u in sorted(ranks_by_note):
        left = side_of[u] == "left"
        from_node, from_side, to_side = node_of[u], ("right" if left else "left"), ("left" if left else "right")
        prefix = f"edge\x1f{u}\x1f"
        techs = ranks_by_note[u]
        for t in sorted(techs):
            edge = {"id": sha1((prefix + t).encode("utf-8")).hexdigest()[:16], "fromNode": from_node,
                    "fromSide": from_side, "toNode": node_of[t], "toSide": to_side,
                    "label": "ranks" if techs[t] else "mentions"}
            if techs[t]:
                edge["color"] = "4"
            yield edge


def canvas(vault: "Vault", techniques: "list[Technique] | None" = None) -> dict[str, Any]:
    """The JSON Canvas 1.0 document of ``vault``'s tier ladder (see :func:`canvas_from_graph`).

    Drawn from the merged techniques (``techniques``, else
    :func:`vaultkit.techniques.build_techniques`) without building the whole
    graph; the result equals ``canvas_from_graph(vault.graph)``.
    """
    return canvas_from_ladder(_vault_ladder(vault, techniques))


def _vault_ladder(vault: "Vault", techniques: "list[Technique] | None") -> Ladder:
    from .techniques import build_techniques

    if techniques is None:
        techniques = build_techniques(vault)
    return Ladder.from_techniques(techniques)  # (rows and mentions are read from the user's notes only)


def validate_canvas(doc: dict[str, Any]) -> list[str]:
    """Problems that make ``doc`` invalid for Obsidian (empty list when it is fine).

    Checks what the JSON Canvas 1.0 spec and §9.2 of the syntax notes ask:
    both arrays, unique ids, integer geometry, required fields per node type,
    ``subpath`` starting with ``#``, colours ``"1"``–``"6"`` or ``#RRGGBB`` and
    edges between existing nodes.

    >>> validate_canvas({"nodes": [{"id": "a", "type": "text", "text": "x", "x": 0, "y": 0,
    ...                             "width": 10, "height": 10.5}], "edges": [{"id": "e", "fromNode": "a", "toNode": "b"}]})
    ['node a: height must be an integer', 'edge e: toNode b is not a node']
    """
    import re

    problems: list[str] = []
    if not isinstance(doc.get("nodes"), list) or not isinstance(doc.get("edges"), list):
        return ["canvas must have 'nodes' and 'edges' arrays"]
    ids: set[str] = set()
    color_re = re.compile(r"^(?:[1-6]|#[0-9A-Fa-f]{6})$")
    required = {"text": ("text",), "file": ("file",), "link": ("url",), "group": ()}
    for n in doc["nodes"]:
        nid = n.get("id")
        if not isinstance(nid, str) or not nid:
            problems.append("node without a string id")
            continue
        if nid in ids:
            problems.append(f"node {nid}: duplicate id")
        ids.add(nid)
        if n.get("type") not in required:
            problems.append(f"node {nid}: unknown type {n.get('type')!r}")
            continue
        for k in ("x", "y", "width", "height"):
            if not isinstance(n.get(k), int) or isinstance(n.get(k), bool):
                problems.append(f"node {nid}: {k} must be an integer")
        for k in required[n["type"]]:
            if not isinstance(n.get(k), str):
                problems.append(f"node {nid}: {n['type']} node needs '{k}'")
        if "subpath" in n and not str(n["subpath"]).startswith("#"):
            problems.append(f"node {nid}: subpath must start with '#'")
        if "color" in n and not color_re.match(str(n["color"])):
            problems.append(f"node {nid}: color {n['color']!r} is not a preset or #RRGGBB")
    node_ids = set(ids)
    for e in doc["edges"]:
        eid = e.get("id")
        if not isinstance(eid, str) or not eid:
            problems.append("edge without a string id")
            continue
        if eid in ids:
            problems.append(f"edge {eid}: duplicate id")
        ids.add(eid)
        for k in ("fromNode", "toNode"):
            if e.get(k) not in node_ids:
                problems.append(f"edge {eid}: {k} {e.get(k)} is not a node")
    return problems


# ------------------------------------------------------------------------------------------------- mermaid


def mermaid_label(text: str) -> str:
    """A Mermaid node label in double quotes (``"`` becomes ``#quot;``; line breaks become spaces).

    >>> mermaid_label('Say "hi" (now)')
    '"Say #quot;hi#quot; (now)"'
    """
    clean = " ".join(str(text).split()).replace('"', "#quot;")
    return f'"{clean}"'


def mermaid_from_graph(g: "nx.MultiDiGraph", top: int = 12) -> str:
    """Mermaid flowchart of the tier ladder with the ``top`` most-connected techniques hanging off their tiers.

    Tier nodes are chained best-first (``tier1 --> tier2 …``); each technique
    is joined to its best tier and labelled with how many notes rank or
    mention it. Node ids are generated (``tier3``, ``tech1``), labels are
    quoted, so names with brackets, colons or ``end`` are safe.
    """
    return mermaid_from_ladder(Ladder.from_graph(g), top=top)


def mermaid_from_ladder(ladder: Ladder, top: int = 12) -> str:
    """The Mermaid flowchart of a :class:`Ladder` (see :func:`mermaid_from_graph`)."""
    lines = ["flowchart TD"]
    tiers = ladder.tiers
    numeric = sorted((a["number"], n) for n, a in tiers.items() if "number" in a)
    text_tiers = sorted((str(a.get("label", n)).casefold(), n) for n, a in tiers.items() if "number" not in a)
    if not tiers:
        lines.append('    none["No tier tables found"]')
        return "\n".join(lines)
    mid: dict[str, str] = {}
    for num, n in numeric:
        mid[n] = f"tier{num}"
        lines.append(f"    {mid[n]}[{mermaid_label(f'Tier {num}')}]")
    for i, (_, n) in enumerate(text_tiers, start=1):
        mid[n] = f"tiertext{i}"
        lines.append(f"    {mid[n]}[{mermaid_label(tiers[n].get('label', n))}]")
    if len(numeric) > 1:
        lines.append("    " + " --> ".join(mid[n] for _, n in numeric))
    tier_ids = {t.id: t.tiers for t in ladder.techniques}
    tech_ids = []
    for i, row in enumerate(ladder.reach(top), start=1):
        tier_nodes = tier_ids[row["id"]]
        best = f"tier:{row['tier']}" if row["tier"] is not None and f"tier:{row['tier']}" in mid else None
        if best is None and tier_nodes:
            best = sorted(tier_nodes)[0]
        if best is None or best not in mid:
            continue
        tid = f"tech{i}"
        tech_ids.append(tid)
        n = row["notes"]
        label = f"{row['name']} · {n} note{'s' if n != 1 else ''}"
        lines.append(f"    {mid[best]} --- {tid}([{mermaid_label(label)}])")
    lines.append("    classDef tier fill:#eef,stroke:#558;")
    lines.append(f"    class {','.join(mid.values())} tier;")
    return "\n".join(lines)


def mermaid_tier_ladder(vault: "Vault", top: int = 12, techniques: "list[Technique] | None" = None) -> str:
    """Mermaid text (no fence) of ``vault``'s tier ladder and its ``top`` most-connected techniques.

    Examples
    --------
    >>> from pathlib import Path
    >>> from vaultkit.vault import Vault
    >>> root = Path(__file__).resolve().parent.parent / "vault"
    >>> text = mermaid_tier_ladder(Vault.load(root), top=1)
    >>> text.splitlines()[0], 'tier1 --- tech1(["Model Scaling (GPT-3→4→Qwen→Gemini) · 1 note"])' in text
    ('flowchart TD', True)
    """
    return mermaid_from_ladder(_vault_ladder(vault, techniques), top=top)
