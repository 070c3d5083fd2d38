"""Lint rules (see :mod:`vaultkit.lint`)."""
