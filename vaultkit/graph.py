"""The knowledge graph: notes, techniques, tiers, tags and wanted notes in one ``networkx.MultiDiGraph``.

Node ids and kinds (every node has ``kind`` and ``label``)
-----------------------------------------------------------
- ``note``: the vault path (``"Folder/Note.md"``); ``path``, ``title``,
  ``folder``, ``name`` and, from ``Emergence``, ``novelty``, ``value``,
  ``feasibility`` (floats) and ``emergence`` (``"8, 9, 7"``).
- ``technique``: ``"technique:<key>"``; ``key``, ``name``, ``tier`` (best,
  absent for text tiers), ``tiers``, ``cost``, ``aliases``, ``effectiveness``,
  ``tradeoffs``, ``uses``.
- ``tier``: ``"tier:<n>"`` (``number``) or ``"tier:<text>"`` for a text tier; ``text``.
- ``tag``: ``"tag:<casefolded>"``; ``name``.
- ``missing``: ``"missing:<name>"``, a wanted note; ``name``, ``key``.

Edges carry ``kind`` and ``line`` (1-based line in the source note, 0 when
none): ``link``, ``embed``, ``frontmatter-link`` (note → note or missing, one
edge per occurrence), ``feedback`` (note → note or missing, from
``FeedbackLoop``), ``ranks`` (note → technique, one per tier-table row),
``mentions`` (note → technique, with ``count``), ``in-tier`` (technique →
tier) and ``tagged`` (note → tag). Every attribute value is a ``str``,
``int``, ``float`` or ``bool`` (never ``None``), so GraphML and GEXF writers
accept the graph as it is. vaultkit's generated notes are left out.

networkx is imported inside the functions (it costs 0.15 s to import).

Examples
--------
>>> from pathlib import Path
>>> from vaultkit.vault import Vault
>>> g = build_graph(Vault.load(Path(__file__).resolve().parent.parent / "vault"))
>>> g.nodes["technique:loraqlora"]["tier"], g.nodes["tier:3"]["label"]
(3, 'Tier 3')
"""

from __future__ import annotations

import re
from collections import Counter
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    import networkx as nx

    from .techniques import Technique, TechniqueRow
    from .vault import Vault

__all__ = [
    "NODE_KINDS",
    "EDGE_KINDS",
    "NOTE_EDGE_KINDS",
    "build_graph",
    "technique_attrs",
    "row_tier_nodes",
    "xml_clean",
    "tier_node_id",
    "counts",
    "orphans",
    "dead_ends",
    "hubs",
    "pagerank",
    "RANK_EDGE_KINDS",
    "components",
    "most_wanted",
    "technique_reach",
    "stats",
]

NODE_KINDS = ("note", "technique", "tier", "tag", "missing")
EDGE_KINDS = ("link", "embed", "frontmatter-link", "feedback", "mentions", "ranks", "in-tier", "tagged")
#: Edge kinds that join a note to another note (or to a wanted one).
NOTE_EDGE_KINDS = frozenset({"link", "embed", "frontmatter-link", "feedback"})


def tier_node_id(tier_key: str | int) -> str:
    """Node id of a tier: ``"tier:3"``, ``"tier:consumer"``.

    >>> tier_node_id(3), tier_node_id("Consumer")
    ('tier:3', 'tier:consumer')
    """
    return f"tier:{str(tier_key).casefold()}"


def _marks_text(marks: list) -> str:
    return "; ".join(
        (m.symbol * m.count if m.count > 1 else m.symbol) + (f" {m.phrase}" if m.phrase else "") for m in marks
    )


def technique_attrs(t: "Technique") -> dict[str, Any]:
    """Node attributes of technique ``t`` in the graph (before :func:`_xml_safe`)."""
    attrs: dict[str, Any] = {"kind": "technique", "label": t.name, "key": t.key, "name": t.name,
                             "tiers": ", ".join(t.tier_keys), "cost": int(t.cost), "aliases": "; ".join(t.aliases),
                             "effectiveness": _marks_text(t.effectiveness), "tradeoffs": _marks_text(t.tradeoffs),
                             "uses": "; ".join(t.uses)}
    if t.tier is not None:
        attrs["tier"] = int(t.tier)
    return attrs


def row_tier_nodes(row: "TechniqueRow") -> list[tuple[str, dict[str, Any]]]:
    """Tier nodes (id, attributes) that a tier-table row puts its technique in: one per tier of a range.

    >>> from vaultkit.tiers import Tier
    >>> from vaultkit.techniques import TechniqueRow
    >>> row = TechniqueRow("t.md", 0, 1, 9, Tier("3–4", 3, 4), "LoRA", [], [], [], 0)
    >>> [tid for tid, _ in row_tier_nodes(row)]
    ['tier:3', 'tier:4']
    """
    tier = row.tier
    ids = [tier_node_id(n) for n in tier.numbers] or ([tier_node_id(tier.key)] if tier.key else [])
    out = []
    for i, tid in enumerate(ids):
        if tier.low is not None:
            num = tier.numbers[i]
            out.append((tid, {"kind": "tier", "label": f"Tier {num}", "number": int(num), "text": str(num)}))
        else:
            out.append((tid, {"kind": "tier", "label": tier.text, "text": tier.text}))
    return out


def build_graph(vault: "Vault", *, mentions: bool = True, feedback: bool = True,
                techniques: "list[Technique] | None" = None) -> "nx.MultiDiGraph":
    """Build the knowledge graph of ``vault``.

    Parameters
    ----------
    vault : Vault
        A loaded vault. Generated notes (``vault.is_generated``) are left out,
        and so are links that reach them or attachments.
    mentions : bool
        Add ``mentions`` edges (reads every note's text once).
    feedback : bool
        Add ``feedback`` edges and Emergence scores from the properties.
    techniques : list of Technique, optional
        The vault's merged techniques when the caller has them already
        (from :func:`vaultkit.techniques.build_techniques`).

    Returns
    -------
    networkx.MultiDiGraph
        See the module documentation for node and edge kinds.
    """
    import networkx as nx

    from .feedback import name_key
    from .techniques import build_techniques, fill_mentions, vault_mention_rows

    g = nx.MultiDiGraph()
    g.graph["name"] = vault.root.name or "vault"
    notes = vault.user_notes()
    user_paths = {n.path for n in notes}
    missing_ids: dict[str, str] = {}

    def missing(name: str) -> str:
        key = name_key(name) or name.casefold()
        node = missing_ids.get(key)
        if node is None:
            node = "missing:" + _XML_BAD.sub("", name)
            missing_ids[key] = node
            g.add_node(node, kind="missing", label=name, name=name, key=key)
        return node

    for note in notes:
        g.add_node(note.path, kind="note", label=note.title, title=note.title, path=note.path,
                   folder=note.folder, name=note.name)

    for note in notes:
        src = note.path
        for link in note.links:
            if link.in_comment:
                continue
            if link.kind == "frontmatter":
                kind = "frontmatter-link"
            elif link.kind == "embed" or link.embed:
                kind = "embed"
            else:
                kind = "link"
            attrs: dict[str, Any] = {"kind": kind, "line": int(link.line), "syntax": link.kind}
            if link.heading:
                attrs["subpath"] = "#" + link.heading
            elif link.block:
                attrs["subpath"] = "#^" + link.block
            if link.key:
                attrs["property"] = link.key  # not "key": GEXF and node-link use it for multigraph keys
            if link.resolved is None:
                if not link.target:
                    continue
                g.add_edge(src, missing(link.target), **attrs)
            elif link.resolved == src and not link.target:
                continue  # [[#Heading]]: a link inside the note
            elif link.resolved in user_paths:
                g.add_edge(src, link.resolved, **attrs)
        seen_tags: set[str] = set()
        for use in note.tag_uses:
            if use.in_comment:
                continue
            cf = use.name.casefold()
            if cf in seen_tags:
                continue
            seen_tags.add(cf)
            tid = f"tag:{cf}"
            if tid not in g:
                g.add_node(tid, kind="tag", label=f"#{use.name}", name=use.name)
            g.add_edge(src, tid, kind="tagged", line=int(use.line), source=use.source)

    techniques = build_techniques(vault, mentions=False) if techniques is None else techniques
    for t in techniques:
        g.add_node(t.node_id, **technique_attrs(t))
        linked_tiers: set[str] = set()
        for r in t.rows:
            if r.note not in user_paths:
                continue
            e = {"kind": "ranks", "line": int(r.line), "table": int(r.table), "row": int(r.row),
                 "tier_label": r.tier.label, "cost": int(r.cost)}
            if r.tier.low is not None:
                e["tier"] = int(r.tier.low)
            g.add_edge(r.note, t.node_id, **e)
            for tid, tier_attrs in row_tier_nodes(r):
                if tid not in g:
                    g.add_node(tid, **tier_attrs)
                if tid not in linked_tiers:
                    linked_tiers.add(tid)
                    g.add_edge(t.node_id, tid, kind="in-tier", line=int(r.line), note=r.note,
                               open=bool(r.tier.open), range=r.tier.key)
    if mentions and techniques:
        rows_by_note = vault_mention_rows(vault, techniques)
        fill_mentions(techniques, rows_by_note)
        for path, rows in rows_by_note:
            for key, line, count, via, text in rows:
                g.add_edge(path, f"technique:{key}", kind="mentions", line=int(line), count=int(count),
                           via=via, text=text)
    if feedback:
        for loop in vault.feedback_loops:
            attrs = g.nodes[loop.note]
            for dim, value in loop.emergence.by_dimension.items():
                attrs[dim] = float(value)
            if loop.emergence.scores:
                attrs["emergence"] = ", ".join(f"{s:g}" for s in loop.emergence.scores)
            for r in loop.related:
                target = r.target if r.target in user_paths else missing(r.name)
                g.add_edge(loop.note, target, kind="feedback", line=int(r.line), form=r.kind, name=r.name)
    _xml_safe(g)
    return g


_XML_BAD = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")


def xml_clean(value: str) -> str:
    """``value`` without the characters XML 1.0 cannot hold (control characters, U+FFFE/U+FFFF, surrogates).

    >>> xml_clean("a\x07b")
    'ab'
    """
    return _XML_BAD.sub("", value) if _XML_BAD.search(value) else value


def _xml_safe(g: "nx.MultiDiGraph") -> None:
    """Drop characters XML 1.0 cannot hold from string attributes, so GraphML and GEXF files read back."""
    bad = _XML_BAD.search
    for _, data in g.nodes(data=True):
        for k, v in data.items():
            if type(v) is str and bad(v):
                data[k] = _XML_BAD.sub("", v)
    for _, _, data in g.edges(data=True):
        for k, v in data.items():
            if type(v) is str and bad(v):
                data[k] = _XML_BAD.sub("", v)


# ----------------------------------------------------------------------------------------------- queries


def _nodes_of(g: "nx.MultiDiGraph", kind: str) -> list[str]:
    return [n for n, k in g.nodes(data="kind") if k == kind]


def counts(g: "nx.MultiDiGraph") -> dict[str, dict[str, int]]:
    """Nodes and edges by kind (every kind listed, zeros included).

    >>> import networkx as nx
    >>> g = nx.MultiDiGraph()
    >>> g.add_node("a.md", kind="note"); g.add_node("tag:x", kind="tag")
    >>> _ = g.add_edge("a.md", "tag:x", kind="tagged")
    >>> counts(g)["nodes"]["tag"], counts(g)["edges"]["tagged"]
    (1, 1)
    """
    nodes = Counter(k for _, k in g.nodes(data="kind"))
    edges = Counter(k for _, _, k in g.edges(data="kind"))
    return {
        "nodes": {k: nodes.get(k, 0) for k in NODE_KINDS} | {k: v for k, v in nodes.items() if k not in NODE_KINDS},
        "edges": {k: edges.get(k, 0) for k in EDGE_KINDS} | {k: v for k, v in edges.items() if k not in EDGE_KINDS},
    }


def _note_neighbours(g: "nx.MultiDiGraph", n: str, out: bool) -> set[str]:
    edges = g.out_edges(n, data="kind") if out else g.in_edges(n, data="kind")
    res = set()
    for u, v, k in edges:
        other = v if out else u
        if k in NOTE_EDGE_KINDS and other != n and g.nodes[other].get("kind") == "note":
            res.add(other)
    return res


def orphans(g: "nx.MultiDiGraph") -> list[str]:
    """Notes with no link, embed, frontmatter link or feedback edge to or from another existing note."""
    return sorted(n for n in _nodes_of(g, "note")
                  if not _note_neighbours(g, n, True) and not _note_neighbours(g, n, False))


def dead_ends(g: "nx.MultiDiGraph") -> list[str]:
    """Notes that other notes reach but that reach no existing note themselves."""
    return sorted(n for n in _nodes_of(g, "note")
                  if _note_neighbours(g, n, False) and not _note_neighbours(g, n, True))


def hubs(g: "nx.MultiDiGraph", top: int = 10) -> list[tuple[str, int]]:
    """Notes with the most distinct neighbours (notes, wanted notes, techniques, tags; in and out)."""
    scored = []
    for n in _nodes_of(g, "note"):
        neigh = {v for _, v in g.out_edges(n)} | {u for u, _ in g.in_edges(n)}
        neigh.discard(n)
        scored.append((n, len(neigh)))
    scored.sort(key=lambda x: (-x[1], x[0]))
    return [x for x in scored[:top] if x[1] > 0]


#: Edge kinds PageRank follows: links between notes and to techniques, not the tag and tier fan-out.
RANK_EDGE_KINDS = frozenset(NOTE_EDGE_KINDS | {"mentions", "ranks"})


def pagerank(g: "nx.MultiDiGraph", top: int = 10, alpha: float = 0.85, tol: float = 1.0e-10,
             max_iter: int = 200, edge_kinds: frozenset[str] | None = RANK_EDGE_KINDS) -> list[tuple[str, float]]:
    """Top nodes by PageRank (parallel edges add weight; pure Python, no scipy needed).

    By default only notes, techniques and wanted notes take part, joined by
    :data:`RANK_EDGE_KINDS` edges: every note links to its tags and every
    technique to its tier, which would otherwise pour rank into tags and tiers.
    ``edge_kinds=None`` ranks the whole graph.

    >>> import networkx as nx
    >>> g = nx.MultiDiGraph([("a", "c"), ("b", "c"), ("c", "a")])
    >>> [n for n, _ in pagerank(g, top=2, edge_kinds=None)]
    ['c', 'a']
    """
    if edge_kinds is None:
        nodes = list(g.nodes)
        edges = list(g.edges())
    else:
        nodes = [n for n, k in g.nodes(data="kind") if k in ("note", "technique", "missing")]
        edges = [(u, v) for u, v, k in g.edges(data="kind") if k in edge_kinds]
    if not nodes:
        return []
    index = {n: i for i, n in enumerate(nodes)}
    out_w = [0.0] * len(nodes)
    incoming: list[list[tuple[int, float]]] = [[] for _ in nodes]
    weights: Counter = Counter((index[u], index[v]) for u, v in edges if u in index and v in index)
    for (i, j), w in weights.items():
        out_w[i] += w
        incoming[j].append((i, float(w)))
    n = len(nodes)
    rank = [1.0 / n] * n
    dangling_nodes = [i for i in range(n) if out_w[i] == 0]
    for _ in range(max_iter):
        dangling = alpha * sum(rank[i] for i in dangling_nodes) / n
        base = (1.0 - alpha) / n + dangling
        new = [base + alpha * sum(rank[i] * w / out_w[i] for i, w in incoming[j]) for j in range(n)]
        err = sum(abs(a - b) for a, b in zip(new, rank))
        rank = new
        if err < n * tol:
            break
    order = sorted(range(n), key=lambda i: (-rank[i], nodes[i]))
    return [(nodes[i], round(rank[i], 6)) for i in order[:top]]


def components(g: "nx.MultiDiGraph") -> list[int]:
    """Sizes of the weakly connected components, largest first."""
    import networkx as nx

    return sorted((len(c) for c in nx.weakly_connected_components(g)), reverse=True)


def most_wanted(g: "nx.MultiDiGraph", top: int = 10, suggest: Any = None) -> list[dict[str, Any]]:
    """Wanted (missing) notes by how many notes name them, with near-match suggestions.

    ``suggest`` is a callable name → list of vault paths (for example
    :meth:`vaultkit.feedback.TitleIndex.suggest`); suggestions are computed
    only for the rows returned.
    """
    rows = []
    for n in _nodes_of(g, "missing"):
        sources = {u for u, _ in g.in_edges(n)}
        rows.append({"id": n, "name": g.nodes[n].get("name", n), "notes": len(sources),
                     "references": g.in_degree(n)})
    rows.sort(key=lambda r: (-r["notes"], -r["references"], r["name"].casefold()))
    rows = rows[:top]
    if suggest is not None:
        for r in rows:
            r["suggestions"] = list(suggest(r["name"]))
    return rows


def technique_reach(g: "nx.MultiDiGraph", top: int | None = None) -> list[dict[str, Any]]:
    """Techniques by how many distinct notes rank or mention them (ties: better tier, then name)."""
    rows = []
    for n in _nodes_of(g, "technique"):
        ranks = {u for u, _, k in g.in_edges(n, data="kind") if k == "ranks"}
        ments = {u for u, _, k in g.in_edges(n, data="kind") if k == "mentions"}
        attrs = g.nodes[n]
        rows.append({"id": n, "name": attrs.get("name", n), "tier": attrs.get("tier"),
                     "notes": len(ranks | ments), "ranked_by": len(ranks), "mentioned_by": len(ments)})
    rows.sort(key=lambda r: (-r["notes"], r["tier"] if r["tier"] is not None else 10**6, r["name"].casefold()))
    return rows if top is None else rows[:top]


def stats(g: "nx.MultiDiGraph", top: int = 10, vault: "Vault | None" = None) -> dict[str, Any]:
    """Everything ``vaultkit graph --stats`` reports, as JSON-able data.

    Parameters
    ----------
    g : networkx.MultiDiGraph
        A graph from :func:`build_graph`.
    top : int
        Length of the ranked lists.
    vault : Vault, optional
        When given, wanted notes get near-match suggestions from its notes.
    """
    suggest = None
    if vault is not None:
        from .feedback import TitleIndex

        suggest = TitleIndex(vault.user_notes()).suggest
    comps = components(g)
    return {
        "counts": counts(g),
        "orphans": orphans(g),
        "dead_ends": dead_ends(g),
        "hubs": [{"id": n, "neighbours": d} for n, d in hubs(g, top)],
        "pagerank": [{"id": n, "kind": g.nodes[n].get("kind", ""), "score": s} for n, s in pagerank(g, top)],
        "components": {"count": len(comps), "sizes": comps[:top]},
        "most_wanted": most_wanted(g, top, suggest),
        "techniques": technique_reach(g, top),
    }
