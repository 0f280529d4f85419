"""Fixtures of the ingest / staging / sync tests (helpers live in ``ingest_helpers``)."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture
def tm_bytes(reference_data: Path) -> bytes:
    """A real TM XML file (16 packets, 2019-11-27 ground test)."""
    return (reference_data / "tm" / "moc_test.PktTmRaw.xml").read_bytes()
