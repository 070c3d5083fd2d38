"""``vaultkit show``: print the parsed model of notes."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator
from pathlib import Path

import click

from .common import dump_json, existing_cache, load_vault, vault_argument


@click.command("show")
@vault_argument
@click.argument("notes", nargs=-1)
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True,
              help="json: the model as data; text: a readable summary.")
@click.option("--no-cache", is_flag=True,
              help="Parse every note again instead of reusing .vaultkit/cache.sqlite (kept by sync; show never "
                   "creates it).")
def show_cmd(vault: Path, notes: tuple[str, ...], fmt: str, no_cache: bool) -> None:
    """Print the parsed model of the notes of VAULT (all notes, or the NOTE paths given).

    NOTE is a vault-relative path such as "Folder/Note.md" (".md" optional).

    \b
    vaultkit show vault --format json
    vaultkit show vault "22_AI_Research_mainstream/Production AI Techniques Tiered Table.md"
    """
    v = load_vault(vault, warn_unread=True, cache=existing_cache(vault, no_cache), lazy=True,
                   rebuilt_notice=False)
    selected = list(v.notes.values())
    if notes:
        wanted = []
        for name in notes:
            key = unicodedata.normalize("NFC", name.replace("\\", "/")).strip("/")
            note = v.notes.get(key) or v.notes.get(key + ".md")
            if note is None:
                raise click.BadParameter(f"no note '{name}' in {vault}", param_hint="NOTE")
            wanted.append(note)
        selected = wanted
    if fmt == "json":
        for piece in _json_of_notes(selected):
            click.echo(piece, nl=False)
        click.echo()
        return
    for note in selected:
        d = note.to_dict()
        click.echo(f"{note.path}")
        if note.frontmatter_error:
            click.echo(f"  frontmatter: invalid ({note.frontmatter_error})")
        elif note.frontmatter is not None:
            click.echo(f"  properties: {', '.join(map(str, note.frontmatter)) or '(none)'}")
        if d["tags"]:
            click.echo(f"  tags: {' '.join('#' + t for t in d['tags'])}")
        for link in note.links:
            state = link.resolved if link.resolved is not None else "UNRESOLVED"
            sub = f"#{link.heading}" if link.heading else (f"#^{link.block}" if link.block else "")
            extra = " (in comment)" if link.in_comment else ""
            click.echo(f"  {link.line:>5}  {link.kind:<11} {link.target}{sub} -> {state}{extra}")
        for diag in sorted(note.diagnostics, key=lambda x: x.sort_key()):
            click.echo(f"  {diag.line:>5}  {diag.code} {diag.message}")


def _json_of_notes(notes: list) -> Iterator[str]:
    """``dump_json({"notes": [note.to_dict() for note in notes]})``, made a note at a time: the model of a large
    vault is never held whole (5,125 notes: a 416 MB text, over 4 GB of memory as one ``json.dumps``)."""
    if not notes:
        yield dump_json({"notes": []})
        return
    yield '{\n  "notes": [\n'
    last = len(notes) - 1
    for i, note in enumerate(notes):
        # (a JSON text holds no raw line break: every line of a note's dump gets the list's indent)
        yield "    " + dump_json(note.to_dict()).replace("\n", "\n    ") + (",\n" if i < last else "\n")
    yield "  ]\n}"


def register(group: click.Group) -> None:
    group.add_command(show_cmd)
