"""Configuration: defaults, then ``vaultkit.toml`` at the vault root or ``[tool.vaultkit]`` in its ``pyproject.toml``.

Keys (all optional)::

    output = "_vaultkit"          # folder, inside the vault, that sync writes
    exclude = ["Templates/**"]     # glob patterns of vault paths to skip
    select = ["VK"]                # lint: codes or prefixes to report (or "ALL")
    extend-select = []             # lint: added to select
    ignore = []                    # lint: codes or prefixes to drop
    [severity]                     # lint: code or prefix → error, warning or info
    VK103 = "info"
    [schemas]                      # lint: glob → built-in schema name or a .json file in the vault
    "Notes/**" = "knowledge-note"  # (glob rules: docs/lint.md)

``.obsidian/``, ``.trash/``, ``.git/`` and every other dot-folder are always excluded.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import ConfigError

__all__ = ["Config", "load_config", "DEFAULT_OUTPUT"]

DEFAULT_OUTPUT = "_vaultkit"
_KNOWN = {"output", "exclude", "select", "ignore", "schemas", "severity", "extend-select"}


@dataclass(slots=True)
class Config:
    """Settings for one vault; ``source`` names the file they came from ("" for defaults)."""

    output: str = DEFAULT_OUTPUT
    exclude: list[str] = field(default_factory=list)
    select: list[str] = field(default_factory=list)
    ignore: list[str] = field(default_factory=list)
    schemas: dict[str, str] = field(default_factory=dict)
    severity: dict[str, str] = field(default_factory=dict)
    source: str = ""


def _check_list(value: Any, key: str, source: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{source}: '{key}' must be a list of strings")
    return list(value)


def _is_code_pattern(pattern: str) -> bool:
    """Whether ``pattern`` is ``ALL``, a code or a prefix of at least one code of :mod:`vaultkit.codes`.

    >>> _is_code_pattern("VK1"), _is_code_pattern("vk101"), _is_code_pattern("ALL"), _is_code_pattern("VK999")
    (True, True, True, False)
    """
    from .codes import CODES

    p = pattern.strip().upper()
    return bool(p) and (p == "ALL" or any(code.startswith(p) for code in CODES))


def _check_codes(patterns: list[str], key: str, source: str) -> list[str]:
    for p in patterns:
        if not _is_code_pattern(p):
            raise ConfigError(f"{source}: unknown rule code in '{key}': {p!r} "
                              "(codes look like VK101; prefixes like VK1; or ALL)")
    return patterns


def _check_output(out: Any, source: str) -> str:
    """The ``output`` folder as a clean vault path, or :class:`ConfigError`.

    >>> _check_output("Generated/vaultkit/", "vaultkit.toml")
    'Generated/vaultkit'
    >>> _check_output(".", "vaultkit.toml")
    Traceback (most recent call last):
    ...
    vaultkit.errors.ConfigError: vaultkit.toml: 'output' must be a relative folder inside the vault (not the vault itself), got '.'
    """
    from .names import is_safe_name

    def bad(why: str) -> ConfigError:
        return ConfigError(f"{source}: 'output' must be a relative folder inside the vault ({why}), got {out!r}")

    if not isinstance(out, str) or not out.strip():
        raise bad("a non-empty string")
    if "\\" in out:
        raise bad("with / between folders, no backslash")
    if out.startswith("/") or (len(out) > 1 and out[1] == ":"):
        raise bad("not an absolute path")
    parts = out[:-1].split("/") if out.endswith("/") else out.split("/")
    if parts in ([""], ["."]):
        raise bad("not the vault itself")
    for part in parts:
        if part == "..":
            raise bad("no '..'")
        if part in ("", "."):
            raise bad("no empty or '.' part")
        if part.startswith("."):
            raise ConfigError(f"{source}: 'output' may not be a hidden folder ({out!r})")
        if not is_safe_name(part):
            raise bad(f"{part!r} is not a valid folder name on every system")
    return "/".join(parts)


def _check_schema(glob: str, name: str, vault: Path, source: str) -> None:
    """A ``[schemas]`` value must be a built-in schema or an existing ``.json`` file inside the vault."""
    from .schema import BUILTIN_SCHEMAS

    if name in BUILTIN_SCHEMAS:
        return
    where = f"{source}: [schemas] \"{glob}\""
    if not name.endswith(".json"):
        raise ConfigError(f"{where}: unknown schema '{name}' (built-in: {', '.join(BUILTIN_SCHEMAS)}; "
                          "or give a .json file relative to the vault)")
    root = vault.resolve()
    path = (vault / name).resolve()
    if "\\" in name or Path(name).is_absolute() or (root != path and root not in path.parents):
        raise ConfigError(f"{where}: schema file '{name}' must be a path relative to the vault, inside it")
    if not path.is_file():
        raise ConfigError(f"{where}: schema file '{name}' not found in the vault")


def load_config(vault: Path) -> Config:
    """Read the configuration of the vault at ``vault``.

    Raises
    ------
    ConfigError
        When a file is not valid TOML, a key is unknown or has the wrong
        type, or a value is invalid: a ``select``/``extend-select``/
        ``ignore`` entry or ``severity`` key that is not ``ALL``, a code or a
        prefix of one; a ``[schemas]`` value that is neither a built-in
        schema nor a ``.json`` file inside the vault; an ``output`` that is
        not a plain relative folder inside the vault (no ``.``, ``..``,
        hidden, absolute or Windows-invalid parts). The message names the
        file and the key. Every command reads the configuration here, so
        every command reports the same errors.
    """
    table: dict[str, Any] | None = None
    source = ""
    toml_path = vault / "vaultkit.toml"
    py_path = vault / "pyproject.toml"
    try:
        if toml_path.is_file():
            source = str(toml_path)
            table = tomllib.loads(toml_path.read_text(encoding="utf-8"))
            table = table.get("tool", {}).get("vaultkit", table) if "tool" in table else table
        elif py_path.is_file():
            data = tomllib.loads(py_path.read_text(encoding="utf-8"))
            if "vaultkit" in data.get("tool", {}):
                source = f"{py_path} [tool.vaultkit]"
                table = data["tool"]["vaultkit"]
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{source or py_path}: invalid TOML: {exc}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{source or py_path}: cannot read: {exc}") from None
    cfg = Config(source=source)
    if not table:
        return cfg
    for key in table:
        if key not in _KNOWN:
            raise ConfigError(f"{source}: unknown key '{key}' (known: {', '.join(sorted(_KNOWN))})")
    if "output" in table:
        cfg.output = _check_output(table["output"], source)
    if "exclude" in table:
        cfg.exclude = _check_list(table["exclude"], "exclude", source)
    if "select" in table:
        cfg.select = _check_codes(_check_list(table["select"], "select", source), "select", source)
    if "extend-select" in table:
        extra = _check_codes(_check_list(table["extend-select"], "extend-select", source), "extend-select", source)
        cfg.select = cfg.select + extra
    if "ignore" in table:
        cfg.ignore = _check_codes(_check_list(table["ignore"], "ignore", source), "ignore", source)
    if "schemas" in table:
        sch = table["schemas"]
        if not isinstance(sch, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in sch.items()):
            raise ConfigError(f"{source}: 'schemas' must be a table of glob = schema name")
        for glob, name in sch.items():
            _check_schema(glob, name, vault, source)
        cfg.schemas = dict(sch)
    if "severity" in table:
        sev = table["severity"]
        if not isinstance(sev, dict):
            raise ConfigError(f"{source}: 'severity' must be a table of code = error, warning or info")
        for key, level in sev.items():
            if not _is_code_pattern(key):
                raise ConfigError(f"{source}: unknown rule code in 'severity': {key!r} "
                                  "(codes look like VK101; prefixes like VK1; or ALL)")
            if level not in ("error", "warning", "info"):
                raise ConfigError(f"{source}: 'severity' of '{key}' must be error, warning or info, not {level!r}")
        cfg.severity = dict(sev)
    return cfg
