"""Calibrations that the reference pipeline adds to every IDB when it builds it.

The SQLite IDB files converted from the MIB lack polynomial calibrations for a few duration /
load parameters that the products need in physical units. They are added, in memory, when an
:class:`~stix_lib.idb.database.IDB` is opened (never written back to the file):

========================================  ===================  ====
parameters                                polynomial           unit
========================================  ===================  ====
NIX00269, NIX00441, NIX00122, NIX00405    0 + 0.1 x            s
NIX00124                                  0 + 1 x              ms
NIX00404                                  0.1 + 0.1 x          s
NIX00123                                  0 + x / 65535        s
NIXD0002                                  0 + 4 x              %
========================================  ===================  ====

Each gets a new ``MCF`` identifier ``CIX<nnnnn>TM`` numbered after the largest numeric part of
the calibration ids already in the IDB, in the order of :data:`INJECTED_CALIBRATIONS`. With the
STIX IDBs 2.26.32-35 (largest existing id ``CIXT1168TM``) this yields the ids seen in the
reference L1 files (NIX00122 -> ``CIX01171TM``, NIX00124 -> ``CIX01173TM``, NIX00123 ->
``CIX01175TM``, NIXD0002 -> ``CIX01176TM``). Parameters that already carry a calibration are
left alone.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class InjectedCalibration:
    """A polynomial calibration added at IDB load time."""

    parameter: str
    coefficients: tuple[float, float, float, float, float]
    unit: str
    description: str


#: The injected calibrations, in id-numbering order.
INJECTED_CALIBRATIONS: tuple[InjectedCalibration, ...] = (
    InjectedCalibration("NIX00269", (0.0, 0.1, 0.0, 0.0, 0.0), "s", "duration in 0.1 s"),
    InjectedCalibration("NIX00441", (0.0, 0.1, 0.0, 0.0, 0.0), "s", "duration in 0.1 s"),
    InjectedCalibration("NIX00122", (0.0, 0.1, 0.0, 0.0, 0.0), "s", "duration in 0.1 s"),
    InjectedCalibration("NIX00405", (0.0, 0.1, 0.0, 0.0, 0.0), "s", "duration in 0.1 s"),
    InjectedCalibration("NIX00124", (0.0, 1.0, 0.0, 0.0, 0.0), "ms", "duration in ms"),
    InjectedCalibration("NIX00404", (0.1, 0.1, 0.0, 0.0, 0.0), "s", "duration in 0.1 s plus 0.1 s"),
    InjectedCalibration("NIX00123", (0.0, 1.0 / 65535.0, 0.0, 0.0, 0.0), "s", "binary seconds"),
    InjectedCalibration("NIXD0002", (0.0, 4.0, 0.0, 0.0, 0.0), "%", "cpu load"),
)

#: Width fixes applied to ``PCF_WIDTH`` (already present in the shipped files; applied again
#: in memory so that older builds decode the same way).
WIDTH_FIXES: dict[str, int] = {
    "NIX00123": 16,
    "ZZPAD008": 8,
    "ZZPAD016": 16,
    "ZZPAD024": 24,
    "ZZPAD032": 32,
}


def calibration_ident(number: int) -> str:
    """Return the ``CIX<nnnnn>TM`` id for ``number`` (10 characters)."""
    return f"CIX{number:05d}TM"
