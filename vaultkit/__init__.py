"""vaultkit: turn an Obsidian vault into a checked, browsable knowledge graph.

The public API is loaded lazily so that ``import vaultkit`` stays cheap::

    >>> from vaultkit import Vault   # doctest: +SKIP
    >>> vault = Vault.load("vault")  # doctest: +SKIP
"""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["Vault", "__version__"]


def __getattr__(name: str):
    if name == "Vault":
        from .vault import Vault

        return Vault
    raise AttributeError(f"module 'vaultkit' has no attribute {name!r}")
