"""Render lint findings: ``text``, ``json``, ``github`` and ``sarif``, plus the summary line.

Renderers return strings and never decide the exit status; :func:`exit_code`
does. Paths are shown as ``display(path)``: the vault folder as the user gave
it joined with the note's vault path, so that ``file:line`` opens in an editor
and GitHub maps annotations onto the checkout.

Examples
--------
>>> from vaultkit.model import Diagnostic
>>> d = Diagnostic("VK101", "unresolved link 'X'", "A.md", 3, 5, "warning")
>>> render_text([d], checked=1).splitlines()[0]
"A.md:3:5: VK101 [warning] unresolved link 'X'"
>>> render_github([d]).splitlines()[0]
"::warning file=A.md,line=3,col=5,title=VK101 unresolved-link::unresolved link 'X'"
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any
from urllib.parse import quote

from . import __version__
from .model import Diagnostic
from .rules import REGISTRY

__all__ = ["FORMATS", "render", "render_chunks", "render_text", "render_json", "render_github", "render_sarif", "summary_line",
           "exit_code", "text_line", "SARIF_SCHEMA_URI", "json_chunks"]

FORMATS = ("text", "json", "github", "sarif")
SARIF_SCHEMA_URI = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
_SARIF_LEVEL = {"error": "error", "warning": "warning", "info": "note"}
_GITHUB_LEVEL = {"error": "error", "warning": "warning", "info": "notice"}

Display = Callable[[str], str]


def _same(path: str) -> str:
    return path


def _plural(n: int, word: str) -> str:
    return f"{n:,} {word}" + ("" if n == 1 else "s")


def summary_line(diagnostics: Sequence[Diagnostic], checked: int, suppressed: int = 0) -> str:
    """One line: how many findings of which severity in how many notes.

    >>> summary_line([], 3)
    'All checks passed: 3 notes, no problems.'
    >>> summary_line([Diagnostic("VK101", "m", "A.md", 1, 1, "warning")], 3)
    'Found 1 problem (0 errors, 1 warning, 0 info) in 1 file; 3 notes checked.'
    """
    extra = f"; {_plural(suppressed, 'finding')} suppressed" if suppressed else ""
    if not diagnostics:
        return f"All checks passed: {_plural(checked, 'note')}, no problems{extra}."
    counts = {"error": 0, "warning": 0, "info": 0}
    for d in diagnostics:
        counts[d.severity] = counts.get(d.severity, 0) + 1
    files = len({d.path for d in diagnostics})
    return (f"Found {_plural(len(diagnostics), 'problem')} ({_plural(counts['error'], 'error')}, "
            f"{_plural(counts['warning'], 'warning')}, {counts['info']:,} info) in {_plural(files, 'file')}; "
            f"{_plural(checked, 'note')} checked{extra}.")


def _location(d: Diagnostic, display: Display) -> str:
    loc = display(d.path) if d.path else "<vault>"
    if d.line:
        loc += f":{d.line}"
        if d.col:
            loc += f":{d.col}"
    return loc


def text_line(d: Diagnostic, display: Display = _same) -> str:
    """One finding as the text format prints it: ``path:line:col: CODE [severity] message``.

    >>> text_line(Diagnostic("VK101", "unresolved link 'C'", "A.md", 5, 15, "warning"))
    "A.md:5:15: VK101 [warning] unresolved link 'C'"
    """
    return f"{_location(d, display)}: {d.code} [{d.severity}] {d.message}"


def render_text(diagnostics: Sequence[Diagnostic], checked: int, suppressed: int = 0,
                display: Display = _same) -> str:
    """``path:line:col: CODE [severity] message`` lines, then the summary line."""
    return "".join(_text_chunks(diagnostics, checked, suppressed, display))


#: Lines per piece of a report rendered in pieces (:func:`render_chunks`).
_CHUNK_LINES = 1000


def _in_chunks(lines: Iterable[str]) -> Iterator[str]:
    """``lines`` joined, newline-ended, :data:`_CHUNK_LINES` at a time."""
    batch: list[str] = []
    for line in lines:
        batch.append(line)
        if len(batch) == _CHUNK_LINES:
            yield "\n".join(batch) + "\n"
            batch = []
    if batch:
        yield "\n".join(batch) + "\n"


def _text_chunks(diagnostics: Sequence[Diagnostic], checked: int, suppressed: int, display: Display
                 ) -> Iterator[str]:
    lines = (text_line(d, display) for d in diagnostics)
    return _in_chunks(itertools.chain(lines, [summary_line(diagnostics, checked, suppressed)]))


def _name(code: str) -> str:
    r = REGISTRY.get(code)
    return r.name if r is not None else ""


def render_json(diagnostics: Sequence[Diagnostic], checked: int, suppressed: int = 0,
                display: Display = _same) -> str:
    """A JSON document: ``diagnostics`` (code, name, severity, path, file, line, col, message) and ``summary``."""
    return "".join(json_chunks(_json_doc(diagnostics, checked, suppressed, display)))


def _json_doc(diagnostics: Sequence[Diagnostic], checked: int, suppressed: int, display: Display) -> dict:
    counts = {"error": 0, "warning": 0, "info": 0}
    items = []
    for d in diagnostics:
        counts[d.severity] = counts.get(d.severity, 0) + 1
        items.append({
            "code": d.code,
            "name": _name(d.code),
            "severity": d.severity,
            "path": d.path,
            "file": display(d.path) if d.path else "",
            "line": d.line,
            "col": d.col,
            "message": d.message,
        })
    doc = {
        "version": 1,
        "tool": {"name": "vaultkit", "version": __version__},
        "diagnostics": items,
        "summary": {
            "checked": checked,
            "problems": len(items),
            "files": len({d.path for d in diagnostics}),
            "suppressed": suppressed,
            **counts,
            "text": summary_line(diagnostics, checked, suppressed),
        },
    }
    return doc


#: Characters of JSON text gathered into one piece of :func:`json_chunks`.
JSON_PIECE_CHARS = 1 << 18


def json_chunks(data: Any) -> Iterator[str]:
    """``json.dumps(data, ensure_ascii=False, indent=2) + "\\n"`` in pieces of about :data:`JSON_PIECE_CHARS`
    characters, made as they are asked for.

    ``json.dumps`` with an indent gathers every small piece of the text in a list before joining them: for a
    report of 121,901 findings that list and the text took 700 MB more than the findings themselves. And
    with an indent it runs in Python, not in C: each object whose values are all scalars (a finding, a
    graph node) is written here by the C encoder with NUL between its items (JSON escapes a NUL in a
    string: none stands in the text), each then made a line.

    >>> data = {"diagnostics": [{"message": "Ünïcode 🟢, \\"x\\", {y}, ", "line": 3, "z": None}] * 3, "summary": {},
    ...         "n": [], "nested": {"k": [1, {"a": [], "b": "\\x00"}], 2: "key not a str"}}
    >>> "".join(json_chunks(data)) == json.dumps(data, ensure_ascii=False, indent=2) + "\\n"
    True
    """
    gathered: list[str] = []
    size = 0
    for chunk in _indented(data, "\n"):
        gathered.append(chunk)
        size += len(chunk)
        if size >= JSON_PIECE_CHARS:
            yield "".join(gathered)
            gathered.clear()
            size = 0
    gathered.append("\n")
    yield "".join(gathered)


_encode = json.JSONEncoder(ensure_ascii=False).encode  # (no indent: the C encoder)
_encode_items = json.JSONEncoder(ensure_ascii=False, separators=("\x00", ": ")).encode
_SCALARS = (str, int, float, bool, type(None))
_SCALAR_TYPES = frozenset(_SCALARS)
_STR_TYPE = frozenset([str])
_DICT_TYPE = frozenset([dict])
#: Objects of scalars encoded by one call of the C encoder (a batch's text is held at once).
_FLAT_BATCH = 512


def _flat(obj: dict) -> bool:
    """Whether every key of ``obj`` is a ``str`` and every value a scalar (no list or object)."""
    return _STR_TYPE.issuperset(map(type, obj)) and _SCALAR_TYPES.issuperset(map(type, obj.values()))


def _indented(value: Any, newline: str) -> Iterator[str]:
    """:func:`json_chunks`' pieces of ``value`` written at the indent that ``newline`` (``"\\n"`` + spaces) ends
    with."""
    if isinstance(value, dict):
        if not value:
            yield "{}"
            return
        inner = newline + "  "
        if _flat(value):
            yield "{" + inner + _encode_items(value)[1:-1].replace("\x00", "," + inner) + newline + "}"
            return
        if _STR_TYPE.issuperset(map(type, value)):
            yield "{"
            sep = inner
            for k, v in value.items():
                yield sep + _encode(k) + ": "
                yield from _indented(v, inner)
                sep = "," + inner
            yield newline + "}"
            return
    elif isinstance(value, (list, tuple)):
        if not value:
            yield "[]"
            return
        inner = newline + "  "
        if _SCALAR_TYPES.issuperset(map(type, value)):  # (tags, aliases, …: one call of the C encoder)
            yield "[" + inner + _encode_items(list(value))[1:-1].replace("\x00", "," + inner) + newline + "]"
            return
        yield "["
        if _DICT_TYPE.issuperset(map(type, value)) and all(value) and all(map(_flat, value)):
            # objects of scalars, as findings and graph nodes are: a batch of them in one call of the C
            # encoder (a call costs more than encoding one of them); "}<NUL>{" stands only between two
            item_inner = inner + "  "
            between = inner + "}," + inner + "{" + item_inner
            for at in range(0, len(value), _FLAT_BATCH):
                text = _encode_items(value[at:at + _FLAT_BATCH])
                yield ("," if at else "") + inner + "{" + item_inner + text[2:-2].replace(
                    "}\x00{", between).replace("\x00", "," + item_inner) + inner + "}"
            yield newline + "]"
            return
        sep = inner
        for v in value:
            yield sep
            yield from _indented(v, inner)
            sep = "," + inner
        yield newline + "]"
        return
    elif isinstance(value, _SCALARS):
        yield _encode(value)
        return
    # keys that are not str, or a type json handles otherwise: json's own text, lines indented alike
    yield json.dumps(value, ensure_ascii=False, indent=2).replace("\n", newline)


def _gh_escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _gh_escape_prop(text: str) -> str:
    return _gh_escape_data(text).replace(":", "%3A").replace(",", "%2C")


def render_github(diagnostics: Sequence[Diagnostic], checked: int = 0, suppressed: int = 0,
                  display: Display = _same) -> str:
    """GitHub Actions workflow commands (``::warning file=…,line=…,col=…,title=…::message``), then the summary.

    A finding about a whole file (line 0) carries no ``line``; one about the
    whole vault carries no ``file``. The summary is a plain log line.
    """
    return "".join(_github_chunks(diagnostics, checked, suppressed, display))


def _github_chunks(diagnostics: Sequence[Diagnostic], checked: int, suppressed: int, display: Display
                   ) -> Iterator[str]:
    def lines() -> Iterator[str]:
        for d in diagnostics:
            props = []
            if d.path:
                props.append(f"file={_gh_escape_prop(display(d.path))}")
                if d.line:
                    props.append(f"line={d.line}")
                    if d.col:
                        props.append(f"col={d.col}")
            props.append(f"title={_gh_escape_prop(f'{d.code} {_name(d.code)}'.strip())}")
            yield f"::{_GITHUB_LEVEL.get(d.severity, 'warning')} {','.join(props)}::{_gh_escape_data(d.message)}"
        yield summary_line(diagnostics, checked, suppressed)

    return _in_chunks(lines())


def _uri(path: str) -> str:
    return quote(path, safe="/")


def render_sarif(diagnostics: Sequence[Diagnostic], checked: int = 0, suppressed: int = 0,
                 display: Display = _same, codes: Sequence[str] | None = None) -> str:
    """A SARIF 2.1.0 log with one run: the rules (``codes``, default all) and one result per finding.

    Locations are relative URIs of the displayed paths; a finding about a whole
    file has no region, one about the whole vault no location.
    """
    return "".join(json_chunks(_sarif_log(diagnostics, checked, suppressed, display, codes)))


def _sarif_log(diagnostics: Sequence[Diagnostic], checked: int, suppressed: int, display: Display,
               codes: Sequence[str] | None) -> dict:
    codes = list(codes) if codes is not None else list(REGISTRY)
    used = sorted({d.code for d in diagnostics} - set(codes))
    rule_ids = [c for c in list(codes) + used if c in REGISTRY]
    index = {c: i for i, c in enumerate(rule_ids)}
    rules = []
    for c in rule_ids:
        r = REGISTRY[c]
        rules.append({
            "id": r.code,
            "name": r.name,
            "shortDescription": {"text": r.summary},
            "fullDescription": {"text": r.summary},
            "help": {"text": r.doc},
            "defaultConfiguration": {"level": _SARIF_LEVEL.get(r.severity, "warning")},
            "properties": {"fix": r.fix},
        })
    results = []
    for d in diagnostics:
        res: dict = {
            "ruleId": d.code,
            "level": _SARIF_LEVEL.get(d.severity, "warning"),
            "message": {"text": d.message},
        }
        if d.code in index:
            res["ruleIndex"] = index[d.code]
        if d.path:
            phys: dict = {"artifactLocation": {"uri": _uri(display(d.path))}}
            if d.line:
                region = {"startLine": d.line}
                if d.col:
                    region["startColumn"] = d.col
                phys["region"] = region
            res["locations"] = [{"physicalLocation": phys}]
        results.append(res)
    log = {
        "$schema": SARIF_SCHEMA_URI,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "vaultkit",
                "version": __version__,
                "rules": rules,
            }},
            "columnKind": "unicodeCodePoints",
            "results": results,
            "properties": {"checked": checked, "suppressed": suppressed,
                           "summary": summary_line(diagnostics, checked, suppressed)},
        }],
    }
    return log


def render_chunks(fmt: str, diagnostics: Sequence[Diagnostic], checked: int, suppressed: int = 0,
                  display: Display = _same, codes: Sequence[str] | None = None) -> Iterator[str]:
    """:func:`render` in pieces, to be written one after the other.

    ``text`` and ``github`` come 1,000 lines at a time, so that a report of
    100,000 findings is never held whole (as one ``str`` it took 470 MB for
    56 MB of output); ``json`` and ``sarif`` in pieces of about
    :data:`JSON_PIECE_CHARS` characters of the document (:func:`json_chunks`).

    Raises
    ------
    ValueError
        For an unknown format (when the first piece is asked for).

    Examples
    --------
    >>> d = Diagnostic("VK101", "m", "A.md", 1, 1, "warning")
    >>> "".join(render_chunks("text", [d] * 2500, 1)) == render("text", [d] * 2500, 1)
    True
    >>> len(list(render_chunks("text", [d] * 2500, 1)))
    3
    """
    if fmt == "text":
        yield from _text_chunks(diagnostics, checked, suppressed, display)
    elif fmt == "github":
        yield from _github_chunks(diagnostics, checked, suppressed, display)
    elif fmt == "json":
        yield from json_chunks(_json_doc(diagnostics, checked, suppressed, display))
    elif fmt == "sarif":
        yield from json_chunks(_sarif_log(diagnostics, checked, suppressed, display, codes))
    else:
        yield render(fmt, diagnostics, checked, suppressed, display, codes)


def render(fmt: str, diagnostics: Sequence[Diagnostic], checked: int, suppressed: int = 0,
           display: Display = _same, codes: Sequence[str] | None = None) -> str:
    """Render with the format named ``fmt`` (one of :data:`FORMATS`)."""
    if fmt == "text":
        return render_text(diagnostics, checked, suppressed, display)
    if fmt == "json":
        return render_json(diagnostics, checked, suppressed, display)
    if fmt == "github":
        return render_github(diagnostics, checked, suppressed, display)
    if fmt == "sarif":
        return render_sarif(diagnostics, checked, suppressed, display, codes)
    raise ValueError(f"unknown format {fmt!r} (known: {', '.join(FORMATS)})")


def exit_code(diagnostics: Sequence[Diagnostic], *, exit_zero: bool = False) -> int:
    """0 when there is nothing to report (or ``exit_zero``), 1 when there are findings.

    >>> exit_code([]), exit_code([Diagnostic("VK101", "m")]), exit_code([Diagnostic("VK101", "m")], exit_zero=True)
    (0, 1, 0)
    """
    return 0 if exit_zero or not diagnostics else 1
