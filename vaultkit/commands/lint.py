"""`vaultkit lint` (being built: see the open issue)."""

from __future__ import annotations

import click


def register(group: click.Group) -> None:
    """Add the command to ``group`` (nothing yet)."""
