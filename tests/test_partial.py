"""Generated notes read only up to their frontmatter (``Vault.load(parse_generated=False)``, what sync does).

The partial read must change nothing sync relies on: which notes are generated,
every user note (links, resolution, diagnostics), and the planned output. A
user link into a heading or block of a generated note gets that note read whole.
"""

from __future__ import annotations

import dataclasses
import re
import shutil
from pathlib import Path

import pytest

from vaultkit.generate import plan_generation
from vaultkit.model import Note
from vaultkit.parse import complete_note, parse_note
from vaultkit.vault import GENERATOR_KEY, Vault

from .conftest import CASES, EUGENE, SAMPLE_VAULT, need

FIELDS = [f.name for f in dataclasses.fields(Note)]


def _same(a: Note, b: Note) -> None:
    for name in FIELDS:
        assert getattr(a, name) == getattr(b, name), (a.path, name)


def _note_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*.md") if ".vaultkit" not in p.parts)


def _roots() -> list[Path]:
    roots = [SAMPLE_VAULT, need(EUGENE)]
    roots += sorted(p / "vault" for p in need(CASES).iterdir() if (p / "vault").is_dir())
    return roots


@pytest.mark.parametrize("root", _roots(), ids=lambda p: p.parent.name if p.name == "vault" else p.name)
def test_complete_note_equals_a_full_parse(root: Path) -> None:
    """For every note: partial read + complete_note == parse_note; a partial note is never a user note."""
    for path in _note_files(root):
        data = path.read_bytes()
        rel = path.relative_to(root).as_posix()
        full = parse_note(rel, data, mtime_ns=7)
        part = parse_note(rel, data, mtime_ns=7, partial_if=GENERATOR_KEY)
        if part.partial:
            assert isinstance(full.frontmatter, dict) and GENERATOR_KEY in full.frontmatter
            # read by its marker line alone: the marker and its line, as the whole frontmatter has them
            assert part.frontmatter == {GENERATOR_KEY: full.frontmatter[GENERATOR_KEY]}
            assert part.frontmatter_lines == {GENERATOR_KEY: full.frontmatter_lines[GENERATOR_KEY]}
            assert part.links == [] and part.headings == []
            complete_note(part)
            assert not part.partial
        _same(part, full)


def test_partial_needs_marker_and_plain_utf8() -> None:
    marked = b"---\nvaultkit: {generator: vaultkit}\n---\n# H\n[[A]] #t\n"
    assert parse_note("G.md", marked, partial_if=GENERATOR_KEY).partial
    assert not parse_note("G.md", marked).partial  # not asked
    assert not parse_note("G.md", b"---\ntitle: x\n---\n[[A]]\n", partial_if=GENERATOR_KEY).partial
    # files whose text is not their bytes are read whole (complete_note re-parses the text)
    for odd in (b"\xef\xbb\xbf" + marked, marked.replace(b"\n", b"\r\n"), marked + b"caf\xe9\n"):
        note = parse_note("G.md", odd, partial_if=GENERATOR_KEY)
        assert not note.partial and [link.target for link in note.links] == ["A"]
    # broken YAML: no properties, so not generated: read whole
    broken = b"---\nvaultkit: {generator: [\n---\n[[A]]\n"
    assert not parse_note("G.md", broken, partial_if=GENERATOR_KEY).partial


def _synced(tmp_path: Path, src: Path) -> Path:
    from vaultkit.commands.sync import run_sync

    dest = tmp_path / "v"
    shutil.copytree(src, dest, ignore=shutil.ignore_patterns(".vaultkit"))
    run_sync(dest, cache=False)
    return dest


def _user_view(vault: Vault) -> list:
    """Everything sync reads of the user notes, after resolution."""
    out = []
    for note in vault.user_notes():
        out.append((note.path, [(lk.target, lk.resolved, lk.ambiguous, lk.line) for lk in note.links],
                    sorted(note.diagnostics, key=lambda d: d.sort_key())))
    return out


@pytest.mark.parametrize("src", [SAMPLE_VAULT, EUGENE], ids=["sample", "eugene"])
def test_partial_load_plans_the_same(tmp_path: Path, src: Path) -> None:
    root = _synced(tmp_path, need(src))
    full = Vault.load(root)
    part = Vault.load(root, parse_generated=False)
    generated = sorted(p for p, n in full.notes.items() if full.is_generated(n))
    assert generated and sorted(p for p, n in part.notes.items() if part.is_generated(n)) == generated
    assert all(part.notes[p].partial for p in generated if p.endswith(".md"))
    assert _user_view(part) == _user_view(full)
    a, b = plan_generation(full), plan_generation(part)
    assert a.files == b.files and a.regions == b.regions and a.notices == b.notices


def test_user_link_into_a_generated_heading(tmp_path: Path) -> None:
    """Links to headings and blocks of generated notes are checked against the whole note, before and
    after the linking note in path order (a generated note completed after its own turn gets its links
    resolved too)."""
    root = _synced(tmp_path, SAMPLE_VAULT)
    index = next(p for p in (root / "_vaultkit").glob("*.md") if p.stem == "Vault index")
    heading = next(line[2:].strip() for line in index.read_text().splitlines() if line.startswith("## "))
    for name in ("AAA first.md", "zzz last.md"):
        (root / name).write_text(f"[[Vault index#{heading}]] [[Vault index#No such heading]] [[Vault index#^nope]]\n")
    full = Vault.load(root)
    part = Vault.load(root, parse_generated=False)
    for name in ("AAA first.md", "zzz last.md"):
        codes = sorted(d.code for d in part.notes[name].diagnostics)
        assert codes == ["VK103", "VK104"]
        assert codes == sorted(d.code for d in full.notes[name].diagnostics)
    done = part.notes[index.relative_to(root).as_posix()]
    assert not done.partial and done.links  # read whole, its own links resolved
    assert [lk.resolved for lk in done.links] == [lk.resolved for lk in full.notes[done.path].links]
    assert sorted(done.diagnostics, key=lambda d: d.sort_key()) == \
        sorted(full.notes[done.path].diagnostics, key=lambda d: d.sort_key())


def test_a_generated_note_read_whole_for_a_link_is_cached_whole(tmp_path: Path, monkeypatch) -> None:
    """The next load takes it whole from the cache instead of parsing it again, with the same findings."""
    import vaultkit.resolve as resolve

    root = _synced(tmp_path, SAMPLE_VAULT)
    index = next(p for p in (root / "_vaultkit").glob("*.md") if p.stem == "Vault index")
    heading = next(line[2:].strip() for line in index.read_text().splitlines() if line.startswith("## "))
    (root / "AAA first.md").write_text(f"[[Vault index#{heading}]] [[Vault index#No such heading]]\n")
    rel = index.relative_to(root).as_posix()
    first = Vault.load(root, cache=True, parse_generated=False)
    assert not first.notes[rel].partial
    completed: list[str] = []
    real = resolve.complete_note
    monkeypatch.setattr(resolve, "complete_note", lambda note, r=None: (completed.append(note.path), real(note, r)))
    again = Vault.load(root, cache=True, parse_generated=False)
    assert completed == [] and not again.notes[rel].partial
    assert again.notes[rel].headings == first.notes[rel].headings
    for path in ("AAA first.md", rel):
        assert again.notes[path].diagnostics == first.notes[path].diagnostics
        assert [lk.resolved for lk in again.notes[path].links] == [lk.resolved for lk in first.notes[path].links]
    index.write_text(index.read_text() + "\n## A new heading\n")  # changed: read again (partial), completed again
    third = Vault.load(root, cache=True, parse_generated=False)
    assert completed == [rel] and "A new heading" in [h.text for h in third.notes[rel].headings]


def test_cached_partial_note_is_not_served_whole(tmp_path: Path) -> None:
    root = _synced(tmp_path, SAMPLE_VAULT)
    Vault.load(root, cache=True, parse_generated=False)  # caches the partial notes
    full = Vault.load(root, cache=True)  # lint, graph: whole notes
    fresh = Vault.load(root)
    assert not any(n.partial for n in full.notes.values())
    for path, note in fresh.notes.items():
        assert full.notes[path].links == note.links and full.notes[path].headings == note.headings
    again = Vault.load(root, cache=True, parse_generated=False)  # whole notes from the cache do too
    assert not any(n.partial for n in again.notes.values())


def test_partial_notes_do_not_keep_their_text_and_complete_from_the_file(tmp_path: Path) -> None:
    from vaultkit.parse import complete_note, parse_note
    from vaultkit.pool import _read

    (tmp_path / "out").mkdir()
    data = b"---\nvaultkit: {generator: vaultkit}\ntitle: G\n---\n# Heading\n[[Other#Part]] ^blk\n"
    (tmp_path / "out" / "G.md").write_bytes(data)
    note = _read("out/G.md", tmp_path / "out" / "G.md", "out/")
    assert note.partial and note.text is None and note.frontmatter["title"] == "G"
    complete_note(note)  # without a root it cannot: stays partial
    assert note.partial
    complete_note(note, tmp_path)
    full = parse_note("out/G.md", data, mtime_ns=note.mtime_ns)
    assert not note.partial and note == full


_MARKER = b'vaultkit: {generator: vaultkit, version: "0.1.0", hash: "sha256:' + b"ab" * 32 + b'"}\n'


def test_a_generated_note_is_read_by_its_marker_line_alone(monkeypatch) -> None:
    """A sync needs vaultkit's notes only by their marker: no YAML is read for them (half of what a cold sync
    spent reading them). A marker in another form gets the whole frontmatter read, as any note."""
    from vaultkit import parse

    sources: list[bytes] = []
    real = parse.load_yaml
    monkeypatch.setattr(parse, "load_yaml", lambda src: (sources.append(bytes(src)), real(src))[1])
    for data, line in ((b"---\ntitle: T\nsources:\n- '[[A]]'\n" + _MARKER + b"---\n# T\n", 5),
                       (b"---\n" + _MARKER + b"title: T\n---\n# T\n", 2)):
        note = parse_note("_vaultkit/T.md", data, partial_if=GENERATOR_KEY)
        assert note.partial and sources == []
        assert note.frontmatter == {GENERATOR_KEY: {"generator": "vaultkit", "version": "0.1.0", "hash": "sha256:" + "ab" * 32}}
        assert note.frontmatter_lines == {GENERATOR_KEY: line} and note.body_line == data.count(b"\n", 0, data.index(b"# T")) + 1
        complete_note(note)  # the rest read when a link needs the note whole
        assert note.frontmatter["title"] == "T" and note == parse_note("_vaultkit/T.md", data, mtime_ns=note.mtime_ns)
        sources.clear()
    for other in (b"---\ntitle: T\nvaultkit: {generator: vaultkit}\n---\n", b"---\n  " + _MARKER + b"---\n"):
        parse_note("_vaultkit/T.md", other, partial_if=GENERATOR_KEY)
        assert sources == [other[4:-4]]  # not the canonical line: the whole frontmatter read
        sources.clear()


@pytest.mark.parametrize("yaml_around", [
    b"title: [T\n",                # broken YAML above the marker
    b"title: T\ntitle: U\n",       # a duplicate key
    b"title: 'T\n",                # the marker inside a quoted value that never closes...
])
def test_the_marker_line_makes_a_note_vaultkits_in_every_reading(yaml_around: bytes) -> None:
    """One rule, the writer's: a frontmatter holding the canonical marker line is vaultkit's whatever its YAML
    holds. A partial read and a whole one agree (a sync served a whole parse from lint's cache decides as a
    fresh one)."""
    from vaultkit.writer import ownership

    data = b"---\n" + yaml_around + _MARKER + b"---\n# T\n[[A]]\n"
    whole = parse_note("_vaultkit/T.md", data)
    part = parse_note("_vaultkit/T.md", data, partial_if=GENERATOR_KEY)
    assert part.partial and whole.frontmatter[GENERATOR_KEY] == part.frontmatter[GENERATOR_KEY]
    assert whole.frontmatter_lines[GENERATOR_KEY] == part.frontmatter_lines[GENERATOR_KEY]
    assert [d.code for d in whole.diagnostics] in (["VK001"], ["VK003"])  # the broken YAML is still reported
    assert ownership(data.decode()) == "edited"
    quoted = b"---\ntitle: 'T\n" + _MARKER + b"'\n---\n# T\n"  # ...and in one that closes: valid YAML
    assert parse_note("_vaultkit/T.md", quoted).frontmatter[GENERATOR_KEY] == part.frontmatter[GENERATOR_KEY]
    mine = b"---\nvaultkit: mine\ntitle: 'T\n" + _MARKER + b"'\n---\n# T\n"  # (a vaultkit property besides)
    assert parse_note("_vaultkit/T.md", mine).frontmatter[GENERATOR_KEY] == part.frontmatter[GENERATOR_KEY]
    assert parse_note("_vaultkit/T.md", mine, partial_if=GENERATOR_KEY).frontmatter == part.frontmatter


def test_a_marker_line_inside_a_null_scalar_counts_in_every_reading_too() -> None:
    """Valid YAML whose document is a null scalar holding the line (a helper's case): not a mapping of
    properties, so the line decides, for the whole parse as for the partial one."""
    data = b"---\n!!null 'x\n" + _MARKER + b"y'\n---\n# Mine\n[[A]]\n"
    whole = parse_note("_vaultkit/M.md", data)
    part = parse_note("_vaultkit/M.md", data, partial_if=GENERATOR_KEY)
    assert part.partial and whole.frontmatter == part.frontmatter == {GENERATOR_KEY: part.frontmatter[GENERATOR_KEY]}
    assert whole.frontmatter_lines == part.frontmatter_lines == {GENERATOR_KEY: 3}


def test_a_marker_line_admits_no_words_of_the_user() -> None:
    """The marker line is left out of the note's hash: a version that is not a release number (words typed
    into it) makes it no marker line, so the note counts as edited, not as vaultkit's own text."""
    from vaultkit.writer import ownership, render_with_marker

    text = render_with_marker("---\ntitle: T\n---\n# T\n")
    assert ownership(text) == "clean"
    for version in ("0.1.0 remember to cite Smith 2021", "0.1.0mywords", "", "my words", "0.1.0+cite.Smith.2021"):
        edited = re.sub(r'version: "[^"]*"', f'version: "{version}"', text)
        assert ownership(edited) == "edited", version
    for version in ("0.2.0", "1.0rc1", "0.3.dev2", "2.0.post1"):
        assert ownership(re.sub(r'version: "[^"]*"', f'version: "{version}"', text)) == "clean", version
