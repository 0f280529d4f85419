"""Which product each packet type becomes: type/name tokens, processing version, daily flag.

=========  ======================  ==========  ============================  =======  =====
packets    product                 type        name (L0 / L1)                version  daily
=========  ======================  ==========  ============================  =======  =====
3/25/1     housekeeping mini       ``hk``      ``mini``                      2        yes
3/25/2     housekeeping maxi       ``hk``      ``maxi``                      2        yes
21/6/30    quick-look light curve  ``ql``      ``lightcurve``                2        yes
21/6/31    quick-look background   ``ql``      ``background``                2        yes
21/6/32    quick-look spectra      ``ql``      ``spectra``                   2        yes
21/6/33    quick-look variance     ``ql``      ``variance``                  2        yes
21/6/34    quick-look flare flag   ``ql``      ``flareflag``                 2        yes
21/6/41    calibration spectra     ``cal``     ``energy``                    3        yes
21/6/43    TM status / flare list  ``ql``      ``tmstatusflarelist`` /       2        yes
                                               ``ql-tmstatusflarelist``
other      generic table           service     ``<subtype>[-<ssid>]``        2        no
=========  ======================  ==========  ============================  =======  =====

The L1 name of 21/6/43 carries a second ``ql`` (``solo_L1_stix-ql-ql-tmstatusflarelist_…``), as the
reference pipeline writes it and as the archive holds it; its L0 name has a single ``ql``. We keep
both spellings so that products, their parents and downstream tools find each other.

Generic ("default") products exist for the services of :data:`SERVICE_NAMES`; other services (e.g.
the 3/25/4 heartbeat) have no product. The science (BSD) types 21/6/20-24, 42 and their "auto"
variants 10-14 are not daily products and have no entry here: the pipeline routes their LB files
by name (:func:`stix_lib.products.science.naming.is_science_lb`) to the per-request L0/L1 writer of
:mod:`stix_lib.products.science`; :func:`product_spec` raises :class:`NoProductError` for them.
The processing version of a product is ``max(product version, configured version)``.
"""

from __future__ import annotations

from dataclasses import dataclass

#: Service type -> type token of generic products.
SERVICE_NAMES: dict[int, str] = {
    1: "tc-verify",
    5: "events",
    6: "memory",
    9: "time",
    17: "conn-test",
    20: "info-dist",
    22: "context",
    236: "config",
    237: "params",
    238: "archive",
    239: "diagnostics",
    300: "low-latency",
}

#: Science (bulk science data) SSIDs of 21/6, user requests and auto variants: per-request products
#: of :mod:`stix_lib.products.science`, not daily products.
SCIENCE_SSIDS = frozenset({10, 11, 12, 13, 14, 20, 21, 22, 23, 24, 42})


class NoProductError(LookupError):
    """A packet type has no L0/L1 product (heartbeat, science, unknown services)."""


@dataclass(frozen=True)
class ProductSpec:
    """Static description of one product kind.

    Attributes
    ----------
    service_type, service_subtype, ssid
        Packet type.
    kind
        Builder key: ``hk``, ``lightcurve``, ``background``, ``spectra``, ``variance``,
        ``flareflag``, ``tmstatusflarelist``, ``calibration`` or ``default``.
    type
        Type token of file names (``hk``, ``ql``, ``cal``, service name).
    name
        Name token at L0.
    l1_name
        Name token at L1.
    version
        The product's own processing version (the effective one is the maximum with the
        configured version).
    daily
        Daily product written as incomplete (``U``) file.
    energies
        ``"edges"`` (bands from the 33-element edge mask), ``"native"`` (32 science channels) or
        ``None`` (no ENERGIES extension).
    merge_columns
        DATA columns that, with the time, identify a row when merging (rows of one time).
    """

    service_type: int
    service_subtype: int
    ssid: int | None
    kind: str
    type: str
    name: str
    l1_name: str
    version: int = 2
    daily: bool = True
    energies: str | None = None
    merge_columns: tuple[str, ...] = ()

    @property
    def key(self) -> tuple[int, int, int | None]:
        """``(service_type, service_subtype, ssid)``."""
        return (self.service_type, self.service_subtype, self.ssid)

    def name_for(self, level: str) -> str:
        """Name token of the product at ``level``."""
        return self.name if level == "L0" else self.l1_name

    def effective_version(self, configured: int) -> int:
        """``max(own version, configured version)``."""
        return max(self.version, int(configured))


def _ql(
    ssid: int,
    kind: str,
    name: str,
    *,
    energies: str | None = "native",
    l1_name: str | None = None,
    merge_columns: tuple[str, ...] = (),
) -> ProductSpec:
    return ProductSpec(21, 6, ssid, kind, "ql", name, l1_name or name, energies=energies, merge_columns=merge_columns)


#: Products of the known packet types.
PRODUCTS: dict[tuple[int, int, int | None], ProductSpec] = {
    spec.key: spec
    for spec in (
        ProductSpec(3, 25, 1, "hk", "hk", "mini", "mini"),
        ProductSpec(3, 25, 2, "hk", "hk", "maxi", "maxi"),
        _ql(30, "lightcurve", "lightcurve", energies="edges"),
        _ql(31, "background", "background", energies="edges"),
        _ql(32, "spectra", "spectra"),
        _ql(33, "variance", "variance"),
        _ql(34, "flareflag", "flareflag"),
        _ql(
            43,
            "tmstatusflarelist",
            "tmstatusflarelist",
            l1_name="ql-tmstatusflarelist",
            merge_columns=("start_scet_coarse", "end_scet_coarse"),
        ),
        ProductSpec(21, 6, 41, "calibration", "cal", "energy", "energy", version=3, energies="native"),
    )
}


def product_spec(service_type: int, service_subtype: int, ssid: int | None) -> ProductSpec:
    """The product of a packet type.

    Raises
    ------
    NoProductError
        For science (BSD) packets, housekeeping types without product (3/25/4) and services
        without a generic product name.
    """
    key = (int(service_type), int(service_subtype), None if ssid is None else int(ssid))
    if key in PRODUCTS:
        return PRODUCTS[key]
    if key[:2] == (21, 6) and key[2] in SCIENCE_SSIDS:
        raise NoProductError(f"science packets {key} are not a daily product (bulk science data)")
    service_name = SERVICE_NAMES.get(key[0])
    if service_name is None:
        raise NoProductError(f"no product for packet type {key}")
    name = f"{key[1]}" if key[2] is None else f"{key[1]}-{key[2]}"
    return ProductSpec(key[0], key[1], key[2], "default", service_name, name, name, daily=False)
