"""Housekeeping packets (3/25/1 mini, 3/25/2 maxi) from engineering values.

HK maxi is the nominal housekeeping report, every 64 s (the real 2020 days carry 1350 of them).
HK mini is the boot-time report; a nominal day has none, so the simulator sends four of them at
the start (64 s apart, instrument mode ``BOOT``), like the ground test data that mix a few mini
reports into a maxi stream.

Values are stated in engineering units (temperatures in kelvin, currents in mA, voltages in V,
textual states as their text) and converted to raw through the inverse of the IDB calibration
(:func:`stix_lib.dev.simulate.calibration.to_raw`), so decoding and calibrating a simulated packet
gives these values back to the resolution of the raw field. Temperatures drift slowly
(sinusoid over the day) with noise; counters count; the attenuator flags, motion counter and
current and the trigger statistics follow the flare model (attenuator in while RCR >= 1).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path

import numpy as np

from stix_lib.decode.layout import FixedLayout, PacketKey
from stix_lib.dev.simulate.calibration import to_raw
from stix_lib.dev.simulate.context import SimulationContext
from stix_lib.dev.simulate.packets import PacketSpec
from stix_lib.dev.simulate.physics import BASE_CADENCE

HK_MAXI_PERIOD = 64.0
HK_FIRST = 30.0
HK_MINI_COUNT = 4
ZERO_C = 273.15

#: Nominal engineering value of every HK parameter the simulator sets (others are raw 0).
NOMINAL_ENGINEERING: Mapping[str, str | float] = {
    "NIXD0021": "ASW",
    "NIXD0022": "1",
    "NIXD0023": "NOMINAL",
    "NIXD0025": ZERO_C + 21.0,
    "NIXD0026": ZERO_C + 28.0,
    "NIXD0027": 330.0,
    "NIXD0028": 110.0,
    "NIXD0029": 420.0,
    "NIXD0030": 40.0,
    "NIXD0031": 3.3,
    "NIXD0032": 3.3,
    "NIXD0038": 2.5,
    "NIXD0039": 2.5,
    **{f"NIXD00{n}": ZERO_C + 14.0 for n in range(40, 48)},
    "NIXD0048": 12.0,
    "NIXD0049": 12.0,
    "NIXD0050": 13.0,
    "NIXD0051": ZERO_C - 5.0,
    "NIXD0052": -300.0,
    "NIXD0053": -300.0,
    **{f"NIXD00{n}": ZERO_C - 37.0 for n in range(54, 58)},
    "NIXD0035": 1.5,
    "NIXD0036": 2.5,
    "NIXD0037": 2.9,
    "NIXD0024": ZERO_C + 22.0,
    "NIXD0002": 40.0,
    "NIXD0166": False,
    "NIXD0167": False,
    "NIXD0003": 25,
    "NIXD0004": "Nominal",
    "NIXD0005": "Nominal",
    "NIXD0169": "On",
    "NIXD0168": "NO_OVERRUN",
    "NIXD0078": 0,
    "NIXD0070": (1 << 32) - 1,
    **{f"NIXD00{n}": "On" for n in range(80, 88)},
    "NIXD0088": "Still",
    "NIXD0089": "Still",
    "NIXD0090": "Enabled",
    "NIXD0091": "Enabled",
    "NIXD0092": "Enabled",
    "NIXD0066": False,
    "NIXD0067": False,
    "NIXD0068": False,
    "NIXD0069": True,
    "NIXD0074": "1 on 2 on",
    "NIX00078": 0.9,
    "NIX00079": 0.9,
    "NIX00080": 0.9,
    "NIX00081": 0.9,
    "NIX00094": 0,
    "NIXD0075": 0.0,
    "NIXD0058": 300.0,
    "NIX00085": 201036,
    "NIX00161": 0,
    "NIX00162": 0,
    "NIXD0163": False,
    "NIXD0164": False,
    "NIXD0165": 0,
    "NIX00168": 0,
}

_TEMPERATURES = ("NIXD0025", "NIXD0026", "NIXD0024", "NIXD0051", *(f"NIXD00{n}" for n in range(40, 48)))
_DETECTOR_TEMPERATURES = tuple(f"NIXD00{n}" for n in range(54, 58))


@lru_cache(maxsize=8)
def _asw_versions(history_file: str) -> dict[str, int]:
    try:
        entries = json.loads(Path(history_file).read_text(encoding="utf-8"))
        return {str(e["version"]): int(e["aswVersion"]) for e in entries if "aswVersion" in e}
    except (OSError, ValueError, KeyError, TypeError):
        return {}


def asw_version(ctx: SimulationContext, seconds: float) -> int:
    """On-board software version (``aswVersion`` of the IDB history) at ``seconds``; 181 if unknown."""
    manager = ctx.factory.idb_manager
    label = manager.find_version(float(ctx.scet(seconds)[0]))
    return _asw_versions(str(manager.history_file)).get(label, 181)


def engineering_series(ctx: SimulationContext, times: np.ndarray, mini: bool) -> dict[str, np.ndarray]:
    """Engineering value of every templated HK parameter at ``times`` (seconds after the start)."""
    rng = ctx.rng("hk-mini" if mini else "hk-maxi")
    n = len(times)
    phase = 2 * np.pi * times / 86400.0
    series: dict[str, np.ndarray] = {}
    for name, value in NOMINAL_ENGINEERING.items():
        if isinstance(value, str | bool | np.bool_):
            series[name] = np.full(n, value, dtype=object)
        else:
            series[name] = np.full(n, float(value))
    for name in _TEMPERATURES:
        series[name] = series[name] + 1.0 * np.sin(phase) + rng.normal(0.0, 0.15, n)
    for name in _DETECTOR_TEMPERATURES:
        series[name] = series[name] + 0.5 * np.sin(phase + 1.0) + rng.normal(0.0, 0.05, n)
    series["NIXD0002"] = 4.0 * rng.integers(9, 12, n)
    series["NIXD0001"] = np.full(n, float(asw_version(ctx, float(times[0]) if n else 0.0)))
    model = ctx.model
    index = np.clip((times // BASE_CADENCE).astype(np.int64), 0, len(model.times) - 1)
    rcr = model.rcr[index] if n else np.zeros(0, dtype=np.int64)
    attenuator_in = rcr >= 1
    series["NIXD0068"] = np.where(attenuator_in, True, False).astype(object)
    series["NIXD0069"] = np.where(attenuator_in, False, True).astype(object)
    moves = np.concatenate([[0], np.cumsum(np.diff(attenuator_in.astype(np.int64)) != 0)]) if n else np.zeros(0)
    series["NIX00076"] = moves.astype(np.float64)
    moving = np.concatenate([[False], np.diff(moves) > 0]) if n else np.zeros(0, dtype=bool)
    series["NIXD0075"] = np.where(moving, 400.0, 0.0)
    series["NIXD0088"] = np.where(moving, "Moving", "Still").astype(object)
    series["NIXD0089"] = series["NIXD0088"].copy()
    per_detector = model.expected[index, 1:].sum(axis=1) / 32.0 / BASE_CADENCE * 4.0 if n else np.zeros(0)
    series["NIX00072"] = np.rint(rng.poisson(np.maximum(per_detector * 1.45, 1.0))).astype(np.float64)
    series["NIX00073"] = np.rint(series["NIX00072"] * 1.15 + rng.integers(5, 40, n)).astype(np.float64)
    series["NIXD0079"] = (34256 + 64 * np.arange(n)) % 65536.0
    series["NIXD0077"] = (8535 + 512 * np.arange(n)) % 16384.0
    series["NIX00166"] = (1200 + np.arange(n) // 8) % 65536.0
    series["NIX00167"] = (52000 + 40 * np.arange(n)) % 65536.0
    if mini:
        series["NIXD0023"] = np.full(n, "BOOT", dtype=object)
    return series


def _packets(ctx: SimulationContext, ssid: int, times: np.ndarray) -> list[PacketSpec]:
    key = PacketKey(3, 25, ssid)
    if not len(times):
        return []
    series = engineering_series(ctx, times, mini=ssid == 1)
    coarse_fine = [ctx.scet(float(t)) for t in times]
    versions = np.array([ctx.factory.idb_version(c) for c, _ in coarse_fine])
    specs: list[PacketSpec] = [None] * len(times)  # type: ignore[list-item]
    for version in np.unique(versions).tolist():
        rows = np.nonzero(versions == version)[0]
        idb = ctx.factory.idb_manager.get_idb(version)
        layout = ctx.factory.layout(key, coarse_fine[rows[0]][0])
        assert isinstance(layout, FixedLayout)
        raw: dict[str, np.ndarray] = {"NIX00020": np.full(len(rows), ssid)}
        for name in layout.names:
            if name.startswith("NIXG") or name == "NIX00020":
                continue
            if name in series:
                raw[name] = to_raw(idb, name, series[name][rows])
        for j, row in enumerate(rows.tolist()):
            coarse, fine = coarse_fine[row]
            values = {name: [int(column[j])] for name, column in raw.items()}
            specs[row] = PacketSpec(
                key, values, coarse, fine, product="hk-mini" if ssid == 1 else "hk-maxi", order=(ssid,)
            )
    return specs


def housekeeping_packets(ctx: SimulationContext, *, mini: bool = True) -> list[PacketSpec]:
    """HK maxi every 64 s over the period, plus four HK mini reports at its start (``mini``)."""
    maxi_times = np.arange(HK_FIRST, ctx.duration, HK_MAXI_PERIOD)
    specs = _packets(ctx, 2, maxi_times)
    if mini:
        mini_times = HK_FIRST / 2 + HK_MAXI_PERIOD * np.arange(HK_MINI_COUNT)
        specs += _packets(ctx, 1, mini_times[mini_times < ctx.duration])
    return specs
