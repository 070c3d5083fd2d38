"""Configuration: defaults, then ``vaultkit.toml`` at the vault root or ``[tool.vaultkit]`` in its ``pyproject.toml``.

Keys (all optional)::

    output = "_vaultkit"          # folder, inside the vault, that sync writes
    exclude = ["Templates/**"]     # glob patterns of vault paths to skip
    select = ["VK"]                # lint: codes or prefixes to report
    ignore = []                    # lint: codes or prefixes to drop
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


def load_config(vault: Path) -> Config:
    """Read the configuration of the vault at ``vault``.

    Raises
    ------
    ConfigError
        When a file is not valid TOML or a key has the wrong type; the message
        names the file and the key.
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
        out = table["output"]
        if not isinstance(out, str) or not out.strip() or out.startswith(("/", "..")) or ".." in Path(out).parts:
            raise ConfigError(f"{source}: 'output' must be a relative folder inside the vault, got {out!r}")
        if Path(out).parts[0].startswith("."):
            raise ConfigError(f"{source}: 'output' may not be a hidden folder ({out!r})")
        cfg.output = Path(out).as_posix().strip("/")
    if "exclude" in table:
        cfg.exclude = _check_list(table["exclude"], "exclude", source)
    if "select" in table:
        cfg.select = _check_list(table["select"], "select", source)
    if "extend-select" in table:
        cfg.select = cfg.select + _check_list(table["extend-select"], "extend-select", source)
    if "ignore" in table:
        cfg.ignore = _check_list(table["ignore"], "ignore", source)
    if "schemas" in table:
        sch = table["schemas"]
        if not isinstance(sch, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in sch.items()):
            raise ConfigError(f"{source}: 'schemas' must be a table of glob = schema name")
        cfg.schemas = dict(sch)
    if "severity" in table:
        sev = table["severity"]
        if not isinstance(sev, dict) or not all(v in ("error", "warning", "info") for v in sev.values()):
            raise ConfigError(f"{source}: 'severity' must map codes to error, warning or info")
        cfg.severity = dict(sev)
    return cfg
