"""Pytest settings for the whole repository (the doctests in ``vaultkit/`` included)."""

from __future__ import annotations

import tempfile

import pytest


@pytest.fixture(autouse=True)
def _doctest_folders_in_pytests_own_temp(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """The doctests make their vaults with ``tempfile.mkdtemp()``: under pytest's temporary folder, which pytest
    prunes, not straight in the system's (every run left about 16 folders there)."""
    if isinstance(request.node, pytest.DoctestItem):
        monkeypatch.setattr(tempfile, "tempdir", str(tmp_path_factory.mktemp("doctest")))
