"""Exception hierarchy of vaultkit.

Bad *notes* never raise: they become :class:`vaultkit.model.Diagnostic` records.
Exceptions are kept for problems that stop a command as a whole (a bad
configuration, an unreadable vault folder, a refused write) and for
programmer mistakes.
"""

from __future__ import annotations

__all__ = [
    "VaultkitError",
    "ConfigError",
    "VaultNotFoundError",
    "SchemaLoadError",
    "WriteConflictError",
    "UnsafePathError",
]


class VaultkitError(Exception):
    """Base class of every exception vaultkit raises on purpose."""


class ConfigError(VaultkitError):
    """A configuration file or option is invalid; the message names the file and key."""


class VaultNotFoundError(VaultkitError):
    """The vault folder does not exist or is not a folder."""


class SchemaLoadError(VaultkitError):
    """A JSON Schema file cannot be read or is not a valid schema."""


class WriteConflictError(VaultkitError):
    """A write was refused because the file on disk is not what vaultkit expected."""


class UnsafePathError(VaultkitError):
    """A path would land outside the output folder or inside a protected folder."""
