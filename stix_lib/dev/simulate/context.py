"""What the product builders share: the clock, the IDBs, the physical model, random streams."""

from __future__ import annotations

import zlib
from dataclasses import dataclass

import numpy as np

from stix_lib.decode.layout import PacketKey, PacketLayout
from stix_lib.dev.simulate.packets import PacketFactory
from stix_lib.dev.simulate.physics import DayModel
from stix_lib.idb.database import IDB
from stix_lib.time.nominal_clock import FINE_PER_SECOND


@dataclass
class SimulationContext:
    """Shared state of one simulation run.

    Attributes
    ----------
    factory
        Packet encoder (IDB selection by time, APIDs, sequence counters).
    start_ticks
        On-board time of the simulation start in 1/65536 s (``coarse * 65536 + fine``).
    duration
        Length of the simulated period (s).
    model
        The physical model and its Poisson realisation on the 4 s grid.
    seed
        Seed of the run; every component draws from its own stream derived from it.
    """

    factory: PacketFactory
    start_ticks: int
    duration: float
    model: DayModel
    seed: int

    def scet(self, seconds: float) -> tuple[int, int]:
        """On-board ``(coarse, fine)`` of ``seconds`` after the start."""
        ticks = self.start_ticks + int(round(seconds * FINE_PER_SECOND))
        return ticks // FINE_PER_SECOND, ticks % FINE_PER_SECOND

    def rng(self, component: str) -> np.random.Generator:
        """Independent random stream of a component (stable for a seed and component name)."""
        return np.random.default_rng([self.seed & 0xFFFFFFFF, self.seed >> 32, zlib.crc32(component.encode())])

    def layout(self, key: PacketKey, seconds: float) -> PacketLayout:
        """Layout of ``key`` valid ``seconds`` after the start."""
        return self.factory.layout(key, self.scet(seconds)[0])

    def idb_version(self, seconds: float) -> str:
        """IDB version valid ``seconds`` after the start."""
        return self.factory.idb_version(self.scet(seconds)[0])

    def idb(self, seconds: float) -> IDB:
        """IDB valid ``seconds`` after the start."""
        return self.factory.idb_manager.get_idb(self.idb_version(seconds))
