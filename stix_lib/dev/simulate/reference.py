"""Real STIXCore L1 products back into telemetry, with a SPICE clock fitted to their times.

:func:`encode_reference` reads every ``solo_L1_*.fits`` of a folder, rebuilds the packets each
product was made from (:mod:`~stix_lib.dev.simulate.reference_quicklook`,
:mod:`~stix_lib.dev.simulate.reference_science`), encodes them with the IDB valid at their time
(per-APID sequence counts in on-board time order) and writes one SOC-style XML file per product
under ``<out>/tm/``. It then fits a linear clock to the products' time pairs (``OBT_BEG`` <->
``DATE-BEG`` and ``OBT_END`` <-> ``DATE-END`` of every file: least squares of TDT against
on-board seconds) and builds a kernel set under ``<out>/spice/`` (the layout of
``stix-pipeline kernels build``) whose SCLK passes through that line, so SPICE gives back every
reference UTC from its OBT to the rounding of the reference's millisecond strings (residuals
are recorded in ``<out>/reference-manifest.json``).

What comes back exactly: raw HK values (inverse calibration), compressed counts and triggers
(re-compression of the L1 mid-point values), masks, schemes, times, and the packet boundaries
of science requests (bins streamed into full packets as STIX does). What cannot: the original
boundaries of quick-look packets cut by the UTC day split.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from stix_lib.atomic import atomic_write_text
from stix_lib.dev.simulate.catalogue import packet_types
from stix_lib.dev.simulate.edds import ground_header, soc_file_name, write_xml
from stix_lib.dev.simulate.packets import PacketFactory, PacketSpec
from stix_lib.dev.simulate.reference_io import ReferenceProduct, product_name, read_product, to_scet
from stix_lib.dev.simulate.reference_quicklook import ENCODERS
from stix_lib.dev.simulate.reference_science import SSIDS, science
from stix_lib.dev.synthetic_kernels.builder import KernelSetOptions, build_kernel_set
from stix_lib.dev.synthetic_kernels.sclk import ClockPair
from stix_lib.idb.manager import IDBManager
from stix_lib.time.leapseconds import LeapSeconds, packaged_leapseconds_path

MANIFEST_NAME = "reference-manifest.json"
_LETTERS = "RefL"


@dataclass(frozen=True)
class LinearClock:
    """TDT = ``tdt0 + rate * (obt - obt0)`` (on-board seconds in 1/65536 s ticks / 65536)."""

    obt0: float
    tdt0: float
    rate: float

    def tdt(self, obt_seconds: np.ndarray | float) -> np.ndarray:
        """TDT seconds past J2000 of on-board seconds."""
        return self.tdt0 + self.rate * (np.asarray(obt_seconds, dtype=np.float64) - self.obt0)


@dataclass
class ReferenceEncoding:
    """What :func:`encode_reference` wrote."""

    tm_files: list[Path]
    spice_dir: Path
    manifest_path: Path
    packets_by_product: dict[str, int] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)


def clock_pairs(products: list[ReferenceProduct]) -> list[tuple[int, int, np.datetime64]]:
    """``(coarse, fine, UTC)`` of every ``OBT_BEG/DATE-BEG`` and ``OBT_END/DATE-END`` (sorted, unique)."""
    pairs = set()
    for product in products:
        for obt_key, utc_key in (("OBT_BEG", "DATE-BEG"), ("OBT_END", "DATE-END")):
            if obt_key in product.header and utc_key in product.header:
                coarse, fine = to_scet([float(product.header[obt_key])])
                pairs.add((int(coarse[0]), int(fine[0]), str(product.header[utc_key])))
    return [(c, f, np.datetime64(u, "ns")) for c, f, u in sorted(pairs)]


def fit_clock(pairs: list[tuple[int, int, np.datetime64]], leapseconds: LeapSeconds) -> LinearClock:
    """Least-squares line of TDT against on-board seconds (one pair: rate 1).

    Raises
    ------
    ValueError
        Without pairs.
    """
    if not pairs:
        raise ValueError("no OBT/UTC pairs in the reference products")
    obt = np.array([c + f / 65536.0 for c, f, _ in pairs])
    tdt = leapseconds.utc_to_tdt(np.array([u for _, _, u in pairs], dtype="datetime64[ns]"))
    obt0 = float(obt.mean())
    if np.ptp(obt) == 0:
        return LinearClock(obt0, float(tdt.mean()), 1.0)
    rate, tdt0 = np.polyfit(obt - obt0, tdt, 1)
    return LinearClock(obt0, float(tdt0), float(rate))


def _utc(clock: LinearClock, leapseconds: LeapSeconds, obt: np.ndarray, anchor: np.datetime64) -> np.ndarray:
    """UTC of on-board seconds on the fitted clock (no leap second inside the covered span)."""
    anchor_tdt = float(leapseconds.utc_to_tdt(np.array([anchor], dtype="datetime64[ns]"))[0])
    offsets = np.rint((clock.tdt(obt) - anchor_tdt) * 1e9).astype(np.int64)
    return np.datetime64(anchor).astype("M8[ns]") + offsets.astype("timedelta64[ns]")


def encode_reference(ref_dir: Path, out_dir: Path, idb_dir: Path, *, kernel_version: int = 1) -> ReferenceEncoding:
    """Re-encode the L1 products of ``ref_dir`` into ``out_dir/tm`` and fit ``out_dir/spice``.

    Parameters
    ----------
    ref_dir
        Folder with ``solo_L1_*.fits`` products.
    out_dir
        Output root (``tm/``, ``spice/`` and the manifest are written below it).
    idb_dir
        IDB root.
    kernel_version
        Version number of the kernel file names.

    Raises
    ------
    ValueError
        If ``ref_dir`` holds no L1 product.
    """
    paths = sorted(p for p in Path(ref_dir).glob("solo_L1_*.fits") if product_name(p))
    if not paths:
        raise ValueError(f"no STIXCore L1 products (solo_L1_*.fits) in {ref_dir}")
    products = [read_product(p) for p in paths]
    manager = IDBManager(Path(idb_dir))
    factory = PacketFactory(manager)
    skipped: dict[str, str] = {}
    specs: list[tuple[str, PacketSpec]] = []
    for product in products:
        if product.name in ENCODERS:
            made = ENCODERS[product.name](product, factory)
        elif product.name in SSIDS:
            made = science(product, factory)
        else:
            skipped[product.path.name] = f"no encoder for {product.name}"
            continue
        specs.extend((product.path.name, spec) for spec in made)
    specs.sort(key=lambda item: item[1].time_key)
    encoded = factory.encode_all(spec for _, spec in specs)

    leapseconds = LeapSeconds.from_file(packaged_leapseconds_path())
    pairs = clock_pairs(products)
    clock = fit_clock(pairs, leapseconds)
    anchor = pairs[0][2]
    obt = np.array([s.coarse + s.fine / 65536.0 for _, s in specs])
    utc = _utc(clock, leapseconds, obt, anchor) if len(specs) else np.array([], dtype="datetime64[ns]")

    tm_dir = Path(out_dir) / "tm"
    spids: dict[tuple[str, object], int] = {}
    by_file: dict[str, list[int]] = {}
    for i, (source, _) in enumerate(specs):
        by_file.setdefault(source, []).append(i)
    tm_files = []
    counts: Counter[str] = Counter()
    names = {p.path.name: p.name for p in products}
    for source, members in sorted(by_file.items()):
        rows = []
        for packet_id, i in enumerate(members, start=1):
            spec = specs[i][1]
            version = factory.idb_version(spec.coarse)
            if (version, spec.key) not in spids:
                spids.update({(version, t.key): t.spid for t in packet_types(manager.get_idb(version))})
            header = ground_header(
                encoded[i], spid=spids.get((version, spec.key), 0), generated=utc[i], received=utc[i]
            )
            rows.append((packet_id, header + encoded[i]))
            counts[spec.product] += 1
        first = min(utc[i] for i in members)
        created = max(utc[i] for i in members) + np.timedelta64(3600, "s")
        name = soc_file_name(first, created, _LETTERS, prefix=f"solo_Reference-{names[source]}")
        write_xml(tm_dir / name, rows)
        tm_files.append(tm_dir / name)

    spice_dir = Path(out_dir) / "spice"
    span = [p[2] for p in pairs]
    start = (min(span) - np.timedelta64(1, "D")).astype("datetime64[s]")
    end = (max(span) + np.timedelta64(1, "D")).astype("datetime64[s]")
    lo, hi = (min(p[0] + p[1] / 65536.0 for p in pairs), max(p[0] + p[1] / 65536.0 for p in pairs))
    ends = np.array([lo, hi]) if hi > lo else np.array([lo, lo + 86400.0])
    end_utc = _utc(clock, leapseconds, ends, anchor)
    fitted = tuple(ClockPair.from_seconds(float(s), u) for s, u in zip(ends, end_utc, strict=True))
    build_kernel_set(
        spice_dir, str(start), str(end), version=kernel_version, options=KernelSetOptions(clock_pairs=fitted)
    )

    residuals = []
    fitted_utc = _utc(clock, leapseconds, np.array([c + f / 65536.0 for c, f, _ in pairs]), anchor)
    for (c, f, u), got in zip(pairs, fitted_utc, strict=True):
        residuals.append(
            {"obt": f"{c:010d}:{f:05d}", "utc": str(u)[:23], "residual_ms": float((got - u).astype(np.int64) / 1e6)}
        )
    manifest = {
        "generator": "stix_lib.dev.simulate.reference",
        "reference": [p.name for p in paths],
        "tm_files": [p.name for p in tm_files],
        "packets_by_product": dict(sorted(counts.items())),
        "skipped": skipped,
        "clock": {"obt0": clock.obt0, "tdt0": clock.tdt0, "rate": clock.rate, "drift_ppm": (clock.rate - 1) * 1e6},
        "clock_pairs": residuals,
    }
    manifest_path = Path(out_dir) / MANIFEST_NAME
    atomic_write_text(manifest_path, json.dumps(manifest, indent=2) + "\n")
    return ReferenceEncoding(tm_files, spice_dir, manifest_path, dict(sorted(counts.items())), skipped)
