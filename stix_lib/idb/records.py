"""Plain records returned by :class:`stix_lib.idb.database.IDB` queries."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class PacketTypeInfo:
    """One row of the IDB ``PID`` table.

    Attributes
    ----------
    service_type, service_subtype
        PUS service and subtype.
    pi1_val
        PI1 (SSID) value of the row, ``None`` when the service has no PI1 field.
    spid
        SCOS packet id.
    description
        ``PID_DESCR``.
    tpsd
        ``PID_TPSD``; ``-1`` for fixed (PLF) packets, the SPID for variable (VPD) packets.
    """

    service_type: int
    service_subtype: int
    pi1_val: int | None
    spid: int
    description: str
    tpsd: int

    @property
    def is_variable(self) -> bool:
        """True for packets described in the VPD table (``PID_TPSD != -1``)."""
        return self.tpsd != -1


@dataclass(frozen=True)
class ParameterInfo:
    """The ``PCF`` characteristics of one parameter plus its S2K read type.

    Attributes
    ----------
    name
        ``PCF_NAME`` (``NIXxxxxx`` / ``NIXDxxxx`` ...).
    description
        ``PCF_DESCR``.
    width
        ``PCF_WIDTH`` in bits.
    ptc, pfc
        SCOS type codes.
    s2k_type
        ``tblConfigS2KParameterTypes.S2K_TYPE`` (``U``, ``I``, ``T``, ``O`` ... or ``None``).
    calibration_id
        ``PCF_CURTX`` (``None`` when raw only).
    category
        ``PCF_CATEG``: ``N`` numeric, ``S`` textual.
    unit
        ``PCF_UNIT`` (``None`` when unitless).
    """

    name: str
    description: str
    width: int
    ptc: int
    pfc: int
    s2k_type: str | None
    calibration_id: str | None
    category: str | None
    unit: str | None

    @property
    def signed(self) -> bool:
        """True for two's complement integers (S2K type ``I``)."""
        return self.s2k_type == "I"


@dataclass(frozen=True)
class StructureEntry:
    """One parameter of a packet structure (a PLF or VPD row joined with its PCF row).

    Attributes
    ----------
    parameter
        The parameter characteristics.
    position
        Fixed packets: absolute bit position from the first byte of the CCSDS packet
        (``PLF_OFFBY * 8 + PLF_OFFBI``). Variable packets: ``VPD_POS``.
    group_size
        ``VPD_GRPSIZE`` (0 for fixed packets and plain parameters).
    offset
        ``VPD_OFFSET``: relative bit skip before reading (0 for fixed packets).
    """

    parameter: ParameterInfo
    position: int
    group_size: int = 0
    offset: int = 0

    @property
    def name(self) -> str:
        """The parameter name."""
        return self.parameter.name


@dataclass(frozen=True)
class Polynomial:
    """A ``MCF`` polynomial ``y = a0 + a1 x + a2 x^2 + a3 x^3 + a4 x^4``."""

    ident: str
    coefficients: tuple[float, float, float, float, float]

    def __call__(self, raw: np.ndarray | float) -> np.ndarray:
        """Evaluate the polynomial in float64, summing the terms left to right.

        The power sum (not Horner) is used on purpose: it gives the same rounding as the
        reference pipeline for every polynomial, not only for the linear ones.
        """
        x = np.asarray(raw, dtype=np.float64)
        a0, a1, a2, a3, a4 = self.coefficients
        return a0 + a1 * x + a2 * x**2 + a3 * x**3 + a4 * x**4


@dataclass(frozen=True)
class CalibrationCurve:
    """``CAP`` support points of a curve, sorted by raw value (x)."""

    ident: str
    x: tuple[float, ...]
    y: tuple[float, ...]

    @property
    def valid(self) -> bool:
        """A curve needs at least two points."""
        return len(self.x) >= 2


@dataclass(frozen=True)
class TextualRange:
    """One ``TXP`` row: raw values ``low <= raw <= high`` map to ``text``."""

    low: float
    high: float
    text: str
