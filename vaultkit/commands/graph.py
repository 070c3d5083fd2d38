"""``vaultkit graph``: export the knowledge graph or print its statistics."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from .common import (dump_json, existing_cache, fail, load_vault, output_option, refuse_vault_file,
                     vault_argument)


def _stats_text(s: dict[str, Any], top: int) -> list[str]:
    out: list[str] = []
    c = s["counts"]
    out.append("nodes: " + ", ".join(f"{k} {v}" for k, v in c["nodes"].items()))
    out.append("edges: " + ", ".join(f"{k} {v}" for k, v in c["edges"].items()))
    comps = s["components"]
    out.append(f"weakly connected components: {comps['count']} (largest: {', '.join(map(str, comps['sizes'][:5]))})")
    out.append(f"orphans ({len(s['orphans'])}):")
    out.extend(f"  {n}" for n in s["orphans"][:top])
    if len(s["orphans"]) > top:
        out.append(f"  … {len(s['orphans']) - top} more")
    out.append(f"dead ends ({len(s['dead_ends'])}):")
    out.extend(f"  {n}" for n in s["dead_ends"][:top])
    if len(s["dead_ends"]) > top:
        out.append(f"  … {len(s['dead_ends']) - top} more")
    out.append("hubs (distinct neighbours):")
    out.extend(f"  {h['neighbours']:>5}  {h['id']}" for h in s["hubs"])
    out.append("PageRank:")
    out.extend(f"  {p['score']:.4f}  {p['kind']:<9} {p['id']}" for p in s["pagerank"])
    out.append("most wanted (missing) notes (notes naming them):")
    for w in s["most_wanted"]:
        sug = f"  ~ {', '.join(w['suggestions'])}" if w.get("suggestions") else ""
        out.append(f"  {w['notes']:>5}  {w['name']}{sug}")
    out.append("techniques (notes that rank / mention them):")
    for t in s["techniques"]:
        tier = f"T{t['tier']}" if t["tier"] is not None else "T?"
        out.append(f"  {t['notes']:>5}  {tier:<4} {t['name']}  ({t['ranked_by']} rank, {t['mentioned_by']} mention)")
    return out


@click.command("graph")
@vault_argument
@click.option("--format", "fmt", type=click.Choice(["json", "graphml", "gexf", "canvas", "mermaid"]), default=None,
              help="json: node-link JSON (default); graphml, gexf: for Gephi and networkx; canvas: a JSON Canvas 1.0 "
                   "file for Obsidian; mermaid: the tier ladder as Mermaid text. With --stats: json or text.")
@output_option("the export")
@click.option("--stats", is_flag=True, help="Print counts by kind, orphans, dead ends, hubs, PageRank, components, "
                                            "most-wanted missing notes and techniques by reach.")
@click.option("--top", type=click.IntRange(1, 1000), default=10, show_default=True,
              help="Length of ranked lists (--stats) and number of techniques in the Mermaid diagram.")
@click.option("--no-cache", is_flag=True,
              help="Parse every note again instead of reusing .vaultkit/cache.sqlite (kept by sync; graph never "
                   "creates it).")
def graph_cmd(vault: Path, fmt: str | None, output: Path | None, stats: bool, top: int, no_cache: bool) -> None:
    """Export the knowledge graph of VAULT: notes, techniques, tiers, tags and wanted notes.

    \b
    vaultkit graph vault --format graphml -o vault.graphml
    vaultkit graph vault --format canvas -o vault/Tiers.canvas
    vaultkit graph vault --format mermaid --top 8
    vaultkit graph vault --stats
    """
    from ..export import export_text, write_graph

    refuse_vault_file(output, vault, ("json" if fmt == "json" else "text") if stats else fmt or "json")
    # (the parse cache sync keeps, when there is one; texts and long properties are read only when asked for)
    v = load_vault(vault, warn_unread=True, cache=existing_cache(vault, no_cache), lazy=True,
                   rebuilt_notice=False)
    if stats:
        from ..graph import stats as graph_stats

        data = graph_stats(v.graph, top=top, vault=v)
        text = dump_json(data) + "\n" if fmt == "json" else "\n".join(_stats_text(data, top)) + "\n"
        _emit(text, output)
        return
    fmt = fmt or "json"
    if fmt in ("json", "graphml", "gexf"):
        if output is None:  # (JSON in pieces as it is made, as to a file)
            if sys.stdout is None:  # (standard output closed: nothing to write to, as click.echo does)
                return
            sys.stdout.flush()
            write_graph(v.graph, fmt, sys.stdout.buffer)
            sys.stdout.buffer.flush()
            return
        try:
            write_graph(v.graph, fmt, output)
        except OSError as exc:
            raise fail(exc) from None
        return
    _emit(export_text(v, fmt, top=top), output)


def _emit(text: str, output: Path | None) -> None:
    if output is None:
        click.echo(text, nl=False)
        return
    from ..writer import write_whole

    try:
        write_whole(output, text.encode("utf-8"))
    except OSError as exc:
        raise fail(exc) from None


def register(group: click.Group) -> None:
    """Add ``graph`` to ``group``."""
    group.add_command(graph_cmd)
