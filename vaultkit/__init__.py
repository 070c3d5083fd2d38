"""vaultkit: turn an Obsidian vault into a checked, browsable knowledge graph.

The public API is loaded lazily so that ``import vaultkit`` stays cheap::

    >>> from vaultkit import Vault   # doctest: +SKIP
    >>> vault = Vault.load("vault")  # doctest: +SKIP
"""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["Vault", "lint", "plan_generation", "__version__"]


def __getattr__(name: str):
    if name == "Vault":
        from .vault import Vault

        return Vault
    if name == "lint":
        from .lint import lint

        return lint
    if name == "plan_generation":
        from .generate import plan_generation

        return plan_generation
    raise AttributeError(f"module 'vaultkit' has no attribute {name!r}")
