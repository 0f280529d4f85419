"""Helpers for the LB tests: write packets as an EDDS telemetry XML file."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest

GROUND_HEADER = bytes(76)


def write_tm_xml(path: Path, packets: Sequence[tuple[int, bytes]]) -> Path:
    """Write ``(packetID, CCSDS packet)`` pairs as a ``PktRawResponse`` file (76-byte ground header)."""
    rows = [
        f'<PktRawResponseElement packetID="{pid}">\n    <Packet>{(GROUND_HEADER + data).hex()}</Packet>\n'
        "</PktRawResponseElement>"
        for pid, data in packets
    ]
    path.write_text(
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<ns2:ResponsePart xmlns:ns2="http://edds.egos.esa/model">\n<Response>\n<PktRawResponse>\n'
        + "\n".join(rows)
        + "\n</PktRawResponse>\n</Response>\n</ns2:ResponsePart>\n"
    )
    return path


@pytest.fixture
def tm_writer():
    """The :func:`write_tm_xml` function."""
    return write_tm_xml
