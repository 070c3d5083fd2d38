"""JSON Schema (2020-12) files for note types, installed as ``vaultkit.schemas``.

The files are data; :mod:`vaultkit.schema` loads them.
"""
