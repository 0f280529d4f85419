"""STIX telemetry simulator: packets of any IDB packet type, and whole simulated days as SOC files.

Building blocks:

* :mod:`~stix_lib.dev.simulate.packets` -- :class:`PacketFactory` (IDB by time, APIDs, per-APID
  sequence counts), segmentation of long data into packets of at most 4112 bytes
  (:func:`pack_items`, FIRST/MIDDLE/LAST groups);
* :mod:`~stix_lib.dev.simulate.compressing` -- counts -> codes with the packet's SKM fields;
* :mod:`~stix_lib.dev.simulate.calibration` -- engineering -> raw (inverse IDB calibrations);
* :mod:`~stix_lib.dev.simulate.random_values` -- random consistent values for any layout;
* :mod:`~stix_lib.dev.simulate.catalogue` -- the packet types (``PID`` rows) of an IDB;
* :mod:`~stix_lib.time.nominal_clock` -- UTC <-> SCET of simulated packets.

A simulated period: :func:`simulate` with a :class:`SimulationConfig` (physics in
:mod:`~stix_lib.dev.simulate.physics`; products in :mod:`~stix_lib.dev.simulate.housekeeping`,
:mod:`~stix_lib.dev.simulate.quicklook`, :mod:`~stix_lib.dev.simulate.calibration_spectra`,
:mod:`~stix_lib.dev.simulate.science`; files in :mod:`~stix_lib.dev.simulate.edds` and
:mod:`~stix_lib.dev.simulate.delivery`). Reference products back to telemetry:
:func:`stix_lib.dev.simulate.reference.encode_reference`.
"""

from stix_lib.dev.simulate.calibration import to_raw
from stix_lib.dev.simulate.catalogue import PacketType, packet_types
from stix_lib.dev.simulate.compressing import compress_packet_values
from stix_lib.dev.simulate.packets import (
    MAX_PACKET_BYTES,
    PacketFactory,
    PacketSpec,
    as_group,
    group_flags,
    pack_items,
    samples_per_packet,
)
from stix_lib.dev.simulate.random_values import RandomPacket, random_packet_values
from stix_lib.dev.simulate.simulator import SCENARIOS, SimulationConfig, SimulationResult, simulate
from stix_lib.time.nominal_clock import scet_to_utc, utc_to_scet

__all__ = [
    "MAX_PACKET_BYTES",
    "SCENARIOS",
    "PacketFactory",
    "PacketSpec",
    "PacketType",
    "RandomPacket",
    "SimulationConfig",
    "SimulationResult",
    "as_group",
    "compress_packet_values",
    "group_flags",
    "pack_items",
    "packet_types",
    "random_packet_values",
    "samples_per_packet",
    "scet_to_utc",
    "simulate",
    "to_raw",
    "utc_to_scet",
]
