"""Counts -> codes with the packet's scheme fields, checked through the decoder's decompression."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stix_lib.decode.compression import CompressionError, decompress, max_value
from stix_lib.decode.decoder import decode_layout
from stix_lib.decode.layout import get_layout
from stix_lib.decode.skm import decompress_packets
from stix_lib.dev.simulate.compressing import compress_packet_values, scheme_for
from stix_lib.dev.simulate.packets import PacketFactory, PacketSpec
from stix_lib.idb.manager import IDBManager

SCHEMES = st.sampled_from([(0, 5, 3), (0, 4, 4), (0, 3, 5), (0, 0, 7)])


def _interval_contains(code: int, value: int, s: int, k: int, m: int) -> bool:
    """``value`` lies in the interval of inputs that compress to ``code``."""
    decoded, variance = decompress(code, s, k, m)
    half = 0 if variance == 0 else np.sqrt(12 * float(variance) - 2) / 2  # half width of the interval
    return abs(int(decoded) - value) <= half


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data(), scheme=SCHEMES, version=st.sampled_from(["2.26.34", "2.26.35"]))
def test_cpd_counts_and_triggers_decompress_to_their_interval(
    idb_manager: IDBManager, data: st.DataObject, scheme: tuple[int, int, int], version: str
) -> None:
    """SSID 21: triggers use ETRIG from 2.26.35 on and EACC before (FSW bug rule) -- both round trip."""
    trigger_scheme = data.draw(SCHEMES)
    counts = data.draw(st.lists(st.integers(0, max_value(*scheme)), min_size=1, max_size=20))
    triggers = data.draw(
        st.lists(
            st.integers(0, max_value(*(scheme if version < "2.26.35" else trigger_scheme))), min_size=16, max_size=16
        )
    )
    values = compress_packet_values(
        21,
        version,
        {"NIX00260": counts, **{f"NIX00{242 + i}": [t] for i, t in enumerate(triggers)}},
        {"EACC": scheme, "ETRIG": trigger_scheme},
    )
    assert values["NIXD0007"] + values["NIXD0008"] + values["NIXD0009"] == list(scheme)
    layout = get_layout(idb_manager.get_idb(version), 21, 6, 21)
    substructure = {
        "NIX00403": [1],
        "NIX00442": [1],
        "NIX00258": [1],
        "NIX00259": [len(counts)],
        **values,
    }
    coarse = 650_000_000 if version == "2.26.34" else 680_000_000
    packet = PacketFactory(idb_manager).encode(PacketSpec(layout.key, substructure, coarse))
    decoded = decode_layout(layout, [packet])
    out, failed = decompress_packets(decoded)
    assert failed == {}
    got = out["NIX00260"].values.tolist()
    for value, code, decoded_value in zip(counts, values["NIX00260"], got, strict=True):
        assert int(decompress(code, *scheme)[0]) == decoded_value
        assert _interval_contains(code, value, *scheme)
    trig_scheme = scheme if version < "2.26.35" else trigger_scheme
    for i, value in enumerate(triggers):
        code = values[f"NIX00{242 + i}"][0]
        assert int(decompress(code, *trig_scheme)[0]) == int(out[f"NIX00{242 + i}"].values[0])
        assert _interval_contains(code, value, *trig_scheme)


def test_visibility_flux_uses_the_adjusted_scheme() -> None:
    values = compress_packet_values(23, "2.26.35", {"NIX00261": [300_000], "NIX00263": [-2000, 5]}, {"VIS": (1, 3, 4)})
    assert values["NIXD0007"] == [1]
    assert int(decompress(values["NIX00261"][0], 0, 4, 4)[0]) == pytest.approx(300_000, rel=1 / 32)
    assert [int(decompress(c, 1, 3, 4)[0]) for c in values["NIX00263"]] == [-2015, 5]


def test_errors() -> None:
    with pytest.raises(CompressionError, match="not compressed"):
        compress_packet_values(30, "2.26.35", {"NIX00260": [1]}, {"LC": (0, 5, 3)})
    with pytest.raises(KeyError, match="TriggerSSID30"):
        compress_packet_values(30, "2.26.35", {"NIX00274": [1]}, {"LC": (0, 5, 3)})
    with pytest.raises(CompressionError):
        compress_packet_values(30, "2.26.35", {"NIX00272": [5000]}, {"LC": (0, 3, 5)})
    assert scheme_for(4095, [(0, 3, 5), (0, 4, 4)]) == (0, 3, 5)
    assert scheme_for(4096, [(0, 3, 5), (0, 4, 4)]) == (0, 4, 4)
    with pytest.raises(CompressionError):
        scheme_for(1 << 40, [(0, 3, 5)])
