"""JSON Schemas for notes: load them once, pick one per note, validate its properties.

The schemas are JSON Schema 2020-12 files shipped in ``schemas/`` (installed as
the package data ``vaultkit.schemas``). A note's schema is chosen

1. by its ``type`` property, when a schema of that name exists
   (``technique``, ``tier``, ``index``, ``knowledge-note``; ``knowledge`` is
   accepted for ``knowledge-note``);
2. else by the first glob of the config's ``[schemas]`` table that matches the
   note's vault path (the value is a schema name or a ``.json`` file relative
   to the vault root);
3. else the note has no schema and is not validated.

Validation runs on the properties after YAML → JSON normalisation
(:func:`vaultkit.model.jsonable`: dates become ISO strings). Bad notes never
raise; only an unreadable or invalid schema raises :class:`SchemaLoadError`.

Examples
--------
>>> store = SchemaStore()
>>> [i.key for i in store.validate("tier", {"type": "tier", "tier": -1})]
['tier']
>>> store.validate("index", {"type": "index", "title": "Index"})
[]
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from .errors import SchemaLoadError
from .model import Note, jsonable

__all__ = ["SchemaIssue", "SchemaStore", "BUILTIN_SCHEMAS", "TYPE_ALIASES", "schema_dir"]

#: Built-in schema names (file ``schemas/<name>.schema.json``).
BUILTIN_SCHEMAS = ("index", "knowledge-note", "technique", "tier")
#: ``type`` values that name a built-in schema under another word.
TYPE_ALIASES = {"knowledge": "knowledge-note"}
_MESSAGE_KEY = "x-vaultkit-message"
#: Memo kind (:meth:`vaultkit.cache.NoteCache.put_memo`) under which ``vaultkit lint`` keeps
#: :attr:`SchemaStore.learned` for the next run.
SCHEMA_MEMO = "lint.schema"


def schema_dir() -> Path:
    """Folder holding the built-in schema files.

    The installed package data ``vaultkit.schemas`` when importable (wheel or
    editable install made after the schemas were added), else ``schemas/`` next
    to the ``vaultkit`` package in a source checkout.
    """
    try:
        files = resources.files("vaultkit.schemas")
        if files.joinpath("knowledge-note.schema.json").is_file():
            return Path(str(files))
    except (ModuleNotFoundError, TypeError, NotImplementedError):
        pass
    return Path(__file__).resolve().parent.parent / "schemas"


@dataclass(frozen=True, slots=True)
class SchemaIssue:
    """One schema violation.

    Attributes
    ----------
    key : str
        Top-level property the problem is about ("" for the whole mapping).
    pointer : str
        JSON pointer of the offending value (``/tags/2``).
    message : str
        What is wrong, naming the key.
    schema : str
        Name of the schema that was applied.
    """

    key: str
    pointer: str
    message: str
    schema: str


def _pointer(path) -> str:
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in path)


def _short(value: Any, limit: int = 60) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= limit else text[: limit - 1] + "…"


class SchemaStore:
    """Loads schemas lazily and validates property mappings against them.

    Parameters
    ----------
    root : Path, optional
        Vault root, for schemas given as ``.json`` paths in the config.
    globs : dict of str to str, optional
        The config's ``[schemas]`` table: glob of vault paths → schema.

    Attributes
    ----------
    known : dict
        Results of an earlier run to reuse (what :attr:`learned` held then):
        ``validate(..., content_key=...)`` looks here first.
    learned : dict
        Every result ``validate(..., content_key=...)`` gave in this run, by
        schema name, a digest of the schema's text (and of ``jsonschema``'s
        version) and the content key; plain data (str and tuples), for :mod:`marshal`.
    """

    def __init__(self, root: Path | None = None, globs: dict[str, str] | None = None) -> None:
        self.root = root
        self.globs = dict(globs or {})
        self._validators: dict[str, Any] = {}
        self._digests: dict[str, str] = {}
        self.known: dict[str, tuple] = {}
        self.learned: dict[str, tuple] = {}

    # -- loading -----------------------------------------------------------------
    def names(self) -> list[str]:
        """Built-in schema names."""
        return list(BUILTIN_SCHEMAS)

    def check_config(self) -> None:
        """Load every schema the config names, so that a bad name fails before linting.

        Raises
        ------
        SchemaLoadError
            When a named schema does not exist or is not a valid JSON Schema.
        """
        for glob, name in self.globs.items():
            try:
                self.validator(name)
            except SchemaLoadError as exc:
                raise SchemaLoadError(f"[schemas] \"{glob}\": {exc}") from None

    def _path_of(self, name: str) -> Path:
        if name.endswith(".json"):
            base = self.root if self.root is not None else Path(".")
            return base / name
        if name not in BUILTIN_SCHEMAS:
            raise SchemaLoadError(f"unknown schema '{name}' (built-in: {', '.join(BUILTIN_SCHEMAS)}; "
                                  "or give a .json file relative to the vault)")
        return schema_dir() / f"{name}.schema.json"

    def validator(self, name: str):
        """The (cached) ``jsonschema`` validator of schema ``name``."""
        if name in self._validators:
            return self._validators[name]
        from jsonschema import exceptions, validators

        path = self._path_of(name)
        try:
            text = path.read_text(encoding="utf-8")
            schema = json.loads(text)
        except OSError as exc:
            raise SchemaLoadError(f"cannot read schema {path}: {exc.strerror or exc}") from None
        except ValueError as exc:
            raise SchemaLoadError(f"schema {path} is not valid JSON: {exc}") from None
        cls = validators.validator_for(schema, default=validators.Draft202012Validator)
        try:
            cls.check_schema(schema)
        except exceptions.SchemaError as exc:
            raise SchemaLoadError(f"schema {path} is not a valid JSON Schema: {exc.message}") from None
        self._validators[name] = cls(schema)
        # (the library's version too: its messages may change with it). A schema that refers to
        # another document is not remembered by: that document may change on its own.
        self._digests[name] = "" if _refers_outside(schema) else \
            hashlib.sha256(f"{_jsonschema_version()}\0{text}".encode("utf-8")).hexdigest()[:16]
        return self._validators[name]

    # -- choosing ----------------------------------------------------------------
    def schema_for(self, note: Note) -> str | None:
        """Name of the schema that applies to ``note``, or ``None``.

        Examples
        --------
        >>> s = SchemaStore(globs={"Notes/**": "knowledge-note"})
        >>> s.schema_for(Note("X.md", frontmatter={"type": "tier"}))
        'tier'
        >>> s.schema_for(Note("Notes/A.md", frontmatter={"type": "journal"}))
        'knowledge-note'
        >>> s.schema_for(Note("Other/A.md", frontmatter={})) is None
        True
        """
        if not isinstance(note.frontmatter, dict):
            return None
        typ = note.frontmatter.get("type")
        if isinstance(typ, str):
            name = TYPE_ALIASES.get(typ.strip().lower(), typ.strip().lower())
            if name in BUILTIN_SCHEMAS:
                return name
        for glob, name in self.globs.items():
            if _glob_match(note.path, glob):
                return name
        return None

    # -- validating --------------------------------------------------------------
    def validate(self, name: str, properties: dict[str, Any], *, content_key: str = "") -> list[SchemaIssue]:
        """Check ``properties`` (already a mapping) against schema ``name``.

        Parameters
        ----------
        name : str
            A schema name (:meth:`schema_for`).
        properties : dict
            The note's properties.
        content_key : str, optional
            Something that changes whenever ``properties`` may (the SHA-256 of
            the note's bytes): the result is then taken from :attr:`known` when
            there, and kept in :attr:`learned`. ``jsonschema`` takes about a
            millisecond a note; a lint of an unchanged vault needs none of it.
            Ignored for a schema that refers to another document (``$ref``).

        Returns
        -------
        list of SchemaIssue
            In a stable order (by key, then pointer, then message).

        Raises
        ------
        SchemaLoadError
            When schema ``name`` cannot be loaded.

        Examples
        --------
        >>> store = SchemaStore()
        >>> store.validate("tier", {"type": "tier", "tier": -1}, content_key="abc")[0].key
        'tier'
        >>> again = SchemaStore(); again.known = store.learned
        >>> again.validate("tier", {}, content_key="abc")[0].key    # the same content: not validated again
        'tier'
        """
        validator = self.validator(name)
        key = f"{name}\0{self._digests[name]}\0{content_key}" if content_key and self._digests[name] else ""
        if key:
            found = self.known.get(key)
            if found is not None:
                self.learned[key] = found
                return [SchemaIssue(*issue) for issue in found]
        from jsonschema.exceptions import best_match

        instance = jsonable(properties)
        issues: list[SchemaIssue] = []
        for error in validator.iter_errors(instance):
            if error.context:
                error = best_match(error.context) or error
            issues.append(_issue(error, name))
        issues.sort(key=lambda i: (i.key, i.pointer, i.message))
        if key:
            self.learned[key] = tuple((i.key, i.pointer, i.message, i.schema) for i in issues)
        return issues


def _refers_outside(schema: Any) -> bool:
    """Whether a schema holds a ``$ref`` / ``$dynamicRef`` to anything but a place in itself (``#...``).

    >>> _refers_outside({"items": {"$ref": "#/$defs/x"}}), _refers_outside({"allOf": [{"$ref": "other.json"}]})
    (False, True)
    """
    stack = [schema]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            for key, value in node.items():
                if key in ("$ref", "$dynamicRef") and not (isinstance(value, str) and value.startswith("#")):
                    return True
                stack.append(value)
        elif isinstance(node, list):
            stack.extend(node)
    return False


@lru_cache(maxsize=1)
def _jsonschema_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("jsonschema")
    except PackageNotFoundError:  # pragma: no cover - vendored or renamed
        return "?"


@lru_cache(maxsize=256)
def _glob_regex(glob: str) -> re.Pattern[str]:
    """Compile a path glob: ``*`` and ``?`` stay inside one folder, ``**`` crosses folders."""
    out = []
    i = 0
    while i < len(glob):
        ch = glob[i]
        if glob.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
            continue
        if glob.startswith("**", i):
            out.append(".*")
            i += 2
            continue
        if ch == "*":
            out.append("[^/]*")
        elif ch == "?":
            out.append("[^/]")
        elif ch == "[":
            end = glob.find("]", i + 1)
            if end < 0:
                out.append(re.escape(ch))
            else:
                body = glob[i + 1:end]
                if body.startswith("!"):
                    body = "^" + body[1:]
                out.append("[" + body.replace("\\", "\\\\") + "]")
                i = end
        else:
            out.append(re.escape(ch))
        i += 1
    return re.compile("".join(out) + r"\Z")


def _glob_match(path: str, glob: str) -> bool:
    """Whether vault path ``path`` matches ``glob`` (``*`` within a folder, ``**`` across folders).

    >>> _glob_match("Notes/A.md", "Notes/**"), _glob_match("Notes/x/A.md", "Notes/**")
    (True, True)
    >>> _glob_match("Other/A.md", "Notes/**"), _glob_match("Notes/x/A.md", "Notes/*.md")
    (False, False)
    >>> _glob_match("A.md", "**/*.md"), _glob_match("x/y/A.md", "**/*.md")
    (True, True)
    """
    return _glob_regex(glob).match(path) is not None


def _issue(error, name: str) -> SchemaIssue:
    path = list(error.absolute_path)
    pointer = _pointer(path)
    custom = error.schema.get(_MESSAGE_KEY) if isinstance(error.schema, dict) else None
    if error.validator == "required":
        missing = next((p for p in error.validator_value if p not in error.instance), "")
        return SchemaIssue(str(missing), "/" + str(missing), f"required property '{missing}' is missing", name)
    key = str(path[0]) if path else ""
    where = f"'{key}'" + (f" item {'/'.join(map(str, path[1:]))}" if len(path) > 1 else "")
    if custom:
        text = f"{where} {custom} (got {_short(error.instance)})" if error.validator != "contains" else \
            f"{where} {custom}"
    elif error.validator == "const":
        text = f"{where} must be {_short(error.validator_value)} (got {_short(error.instance)})"
    elif error.validator == "type":
        text = f"{where} must be of type {error.validator_value} (got {_short(error.instance)})"
    else:
        text = f"{where}: {error.message}" if key else error.message
    return SchemaIssue(key, pointer, text, name)
