"""Deliver encoded packets as SOC files: split, shuffle, duplicate, corrupt; record what was done.

* The packets (in on-board time order) are cut into ``files`` contiguous parts of near equal
  size; with ``shuffle`` the order is randomly permuted first, so every file holds packets from
  all over the period in random order (and groups are split across files).
* ``duplicates`` (a fraction 0..1): that many distinct packets are sent a second time, inserted at
  a random place of a *different* file (the same file when there is only one).
* ``corrupt`` (a fraction 0..1): that many elements (duplicates included) are damaged so that
  every reader must reject them, half by truncation (1 to 16 bytes cut off the end) and half by
  a flipped ``data_length`` field; either way the packet length no longer equals
  ``data_length + 7``. Ground headers are left intact.

``packetID`` runs from 1 in document order within each file.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from stix_lib.dev.simulate.edds import ground_header, random_letters, soc_file_name, write_xml


@dataclass(frozen=True)
class EncodedPacket:
    """An encoded packet and what it is.

    Attributes
    ----------
    data
        The CCSDS packet.
    product
        Product label (``"hk-maxi"``, ``"sci-xray-cpd"`` ...).
    type_label
        ``"service-subtype[-ssid]"``.
    utc
        UTC of its header time.
    spid
        SCOS packet id (ground header).
    """

    data: bytes
    product: str
    type_label: str
    utc: np.datetime64
    spid: int


@dataclass
class DeliveryOptions:
    """How packets are delivered (see the module docstring)."""

    files: int = 1
    shuffle: bool = False
    duplicates: float = 0.0
    corrupt: float = 0.0
    prefix: str = "solo_BatchRequest"

    def validate(self) -> None:
        """Raise ``ValueError`` for impossible options."""
        if self.files < 1:
            raise ValueError("files must be at least 1")
        for name in ("duplicates", "corrupt"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must be a fraction between 0 and 1, got {value}")


@dataclass
class DeliveredFile:
    """One written file: its name and the packets of its elements (indices into the input)."""

    name: str
    packets: list[int]
    corrupted: dict[int, str] = field(default_factory=dict)  # packetID -> kind
    duplicates: dict[int, int] = field(default_factory=dict)  # packetID -> packet index re-sent


def _corrupt(packet: bytes, kind: str, rng: np.random.Generator) -> bytes:
    if kind == "truncate":
        cut = int(rng.integers(1, min(16, len(packet) - 1) + 1))
        return packet[: len(packet) - cut]
    length = int.from_bytes(packet[4:6], "big") ^ int(rng.integers(1, 1 << 16))
    return packet[:4] + length.to_bytes(2, "big") + packet[6:]


def deliver(
    packets: Sequence[EncodedPacket],
    out_dir: Path,
    options: DeliveryOptions,
    rng: np.random.Generator,
) -> list[DeliveredFile]:
    """Distribute, duplicate, corrupt and write the packets; returns what each file holds.

    Parameters
    ----------
    packets
        Encoded packets in on-board time order.
    out_dir
        Folder for the XML files (created).
    options
        Delivery options.
    rng
        Randomness of the delivery (file letters, shuffling, duplicates, corruption).
    """
    options.validate()
    count = len(packets)
    order = rng.permutation(count) if options.shuffle else np.arange(count)
    parts = [list(map(int, part)) for part in np.array_split(order, options.files)]
    files = [DeliveredFile("", part) for part in parts]
    n_dup = int(round(options.duplicates * count))
    if n_dup:
        chosen = rng.choice(count, size=n_dup, replace=False)
        home = {p: i for i, f in enumerate(files) for p in f.packets}
        for p in sorted(int(c) for c in chosen):
            others = [i for i in range(len(files)) if i != home[p]] or [home[p]]
            target = files[others[int(rng.integers(0, len(others)))]]
            target.packets.insert(int(rng.integers(0, len(target.packets) + 1)), -p - 1)  # marker: duplicate
    elements = [(i, j) for i, f in enumerate(files) for j in range(len(f.packets))]
    n_bad = int(round(options.corrupt * len(elements)))
    bad = {elements[int(k)] for k in rng.choice(len(elements), size=n_bad, replace=False)} if n_bad else set()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    used_names: set[str] = set()
    for i, f in enumerate(files):
        rows: list[tuple[int, bytes]] = []
        resolved: list[int] = []
        for j, marker in enumerate(f.packets):
            index = marker if marker >= 0 else -marker - 1
            packet = packets[index]
            packet_id = j + 1
            if marker < 0:
                f.duplicates[packet_id] = index
            data = packet.data
            if (i, j) in bad:
                kind = "truncate" if rng.random() < 0.5 else "length"
                data = _corrupt(data, kind, rng)
                f.corrupted[packet_id] = kind
            received = packet.utc + np.timedelta64(600 + int(rng.integers(0, 60)), "s")
            header = ground_header(packet.data, spid=packet.spid, generated=packet.utc, received=received)
            rows.append((packet_id, header + data))
            resolved.append(index)
        f.packets = resolved
        times = [packets[p].utc for p in resolved] or [np.datetime64("2000-01-01T00:00:00", "ns")]
        created = max(times) + np.timedelta64(1800_000 + int(rng.integers(0, 600_000)), "ms")
        name = soc_file_name(min(times), created, random_letters(rng), options.prefix)
        while name in used_names:
            name = soc_file_name(min(times), created, random_letters(rng), options.prefix)
        used_names.add(name)
        f.name = name
        write_xml(out / name, rows)
    return files
