"""Helpers for the product tests: telemetry made from the real moc_test packets and the encoder.

The 16 real quick-look packets of ``moc_test.PktTmRaw.xml`` decode and re-encode bit-exactly
(:func:`stix_lib.decode.encoder.encode_packet`), so they serve as templates: :func:`retimed`
moves a template to another on-board time (header time and the packet's own SCET field),
optionally changing parameter values. Housekeeping packets are encoded from an IDB layout.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from stix_lib.decode import decode_packets, get_layout
from stix_lib.decode.encoder import encode_packet
from stix_lib.idb import IDBManager
from stix_lib.tm import read_packets

GROUND_HEADER = bytes(76)

#: OBT of 2020-05-06T00:00 UTC with the real 2020 kernels, roughly (day start 642038400).
DAY_2020_05_06 = 642038400


@dataclass
class Template:
    """A decoded real packet that can be re-encoded."""

    key: tuple[int, int, int | None]
    layout: object
    values: dict[str, list[int]]
    coarse: int
    fine: int
    sequence_count: int
    sequence_flag: int
    apid: int
    pad: bytes


#: DATE written into products by tests that compare files byte for byte.
FIXED_DATE = "2026-01-01T00:00:00.000"


def moc_templates(reference_data: Path, idb_manager: IDBManager) -> list[Template]:
    """The 16 moc_test packets as templates, in file order."""
    packets, errors = read_packets(reference_data / "tm" / "moc_test.PktTmRaw.xml")
    assert not errors
    result = decode_packets(packets, idb_manager)
    headers = result.index.headers
    out: dict[int, Template] = {}
    for key, group in result.groups.items():
        for i, position in enumerate(group.indices.tolist()):
            h = headers[position]
            values = {name: v.tolist() for name, v in group.packet_dict(i).items()}
            out[position] = Template(
                key=key[:3],
                layout=group.layout,
                values=values,
                coarse=int(h["scet_coarse"]),
                fine=int(h["scet_fine"]),
                sequence_count=int(h["sequence_count"]),
                sequence_flag=int(h["sequence_flag"]),
                apid=(int(h["process_id"]) << 4) | int(h["packet_category"]),
                pad=b"\x00" if key[2] == 43 else b"",
            )
    return [out[p] for p in sorted(out)]


def retimed(
    template: Template,
    shift: int,
    *,
    sequence_count: int | None = None,
    changes: Mapping[str, Sequence[int] | int] | None = None,
) -> bytes:
    """The template moved by ``shift`` seconds (header and NIX00445), with optional value changes."""
    values: dict[str, Sequence[int] | int] = {k: list(v) for k, v in template.values.items()}
    if "NIX00445" in values:
        values["NIX00445"] = [int(values["NIX00445"][0]) + shift]  # type: ignore[index]
    values.update(changes or {})
    return encode_packet(
        template.layout,  # type: ignore[arg-type]
        values,
        coarse=template.coarse + shift,
        fine=template.fine,
        sequence_count=template.sequence_count if sequence_count is None else sequence_count,
        sequence_flag=template.sequence_flag,
        apid=template.apid,
        pad=template.pad,
    )


def hk_packet(
    idb_manager: IDBManager,
    ssid: int,
    coarse: int,
    fine: int = 0,
    *,
    version: str = "2.26.34",
    sequence_count: int = 0,
    seed: int = 0,
    values: Mapping[str, int] | None = None,
) -> bytes:
    """An encoder-made housekeeping packet (3/25/ssid) with random raw values (valid texts)."""
    idb = idb_manager.get_idb(version)
    layout = get_layout(idb, 3, 25, ssid)
    rng = np.random.default_rng(seed)
    raw: dict[str, int] = {}
    for field in layout.fields:  # type: ignore[union-attr]
        if field.name.startswith("NIXG") or field.name == "NIX00020":
            continue
        info = idb.get_parameter(field.name)
        if info is not None and info.category == "S" and info.calibration_id:
            choices = [int(r.low) for r in idb.get_textual_calibration(info.calibration_id) if r.low < 1 << field.width]
            raw[field.name] = int(rng.choice(choices)) if choices else 0
        else:
            raw[field.name] = int(rng.integers(0, 1 << min(field.width, 12)))
    raw.update(values or {})
    return encode_packet(layout, raw, coarse=coarse, fine=fine, sequence_count=sequence_count)


def write_tm_xml(path: Path, packets: Iterable[bytes], first_id: int = 1) -> Path:
    """Write packets as an EDDS ``PktRawResponse`` file (with the 76-byte ground header)."""
    return write_tm_pairs(path, [(first_id + i, data) for i, data in enumerate(packets)])


def write_tm_pairs(path: Path, packets: Iterable[tuple[int, bytes]]) -> Path:
    """Write ``(packetID, CCSDS packet)`` pairs as a ``PktRawResponse`` file (76-byte ground header)."""
    rows = [
        f'<PktRawResponseElement packetID="{pid}">\n    <Packet>{(GROUND_HEADER + data).hex()}</Packet>\n'
        "</PktRawResponseElement>"
        for pid, data in packets
    ]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<ns2:ResponsePart xmlns:ns2="http://edds.egos.esa/model">\n<Response>\n<PktRawResponse>\n'
        + "\n".join(rows)
        + "\n</PktRawResponse>\n</Response>\n</ns2:ResponsePart>\n"
    )
    return path


def ql_stream(
    templates: Sequence[Template],
    start: int,
    hours: float,
    *,
    ssids: Iterable[int] = (30, 31, 32, 33, 34, 43),
    seed: int = 1,
    cadence: int = 1260,
) -> list[bytes]:
    """Quick-look packets from ``start`` (OBT s) for ``hours``, one per type and ``cadence`` seconds.

    Counts/triggers get random compressed codes so that products are not all zero.
    """
    rng = np.random.default_rng(seed)
    by_ssid = {t.key[2]: t for t in templates if t.key[:2] == (21, 6)}
    packets = []
    for number in range(int(hours * 3600 // cadence)):
        for ssid in ssids:
            template = by_ssid[ssid]
            changes: dict[str, Sequence[int] | int] = {}
            for name in ("NIX00272", "NIX00274", "NIX00278", "NIX00281", *(f"NIX00{n}" for n in range(452, 485))):
                if name in template.values:
                    changes[name] = rng.integers(0, 200, len(template.values[name])).tolist()
            shift = start + number * cadence - template.values.get("NIX00445", [template.coarse])[0]
            packets.append(retimed(template, int(shift), sequence_count=number % 16384, changes=changes))
    return packets


def hk_stream(idb_manager: IDBManager, start: int, hours: float, *, cadence: int = 300, ssid: int = 2) -> list[bytes]:
    """Housekeeping packets every ``cadence`` seconds (IDB version valid at each time)."""
    return [
        hk_packet(
            idb_manager,
            ssid,
            start + i * cadence,
            (37 * i) % 65535,
            version=idb_manager.version_for(start + i * cadence),
            seed=i,
            sequence_count=i % 16384,
        )
        for i in range(int(hours * 3600 // cadence))
    ]
