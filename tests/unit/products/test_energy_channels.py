"""Science energy channels by date from the STIX-CONF snapshot."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from stix_lib.conf.energy_channels import (
    EnergyChannelError,
    ScienceEnergyChannels,
    energy_bands,
    read_energy_channel_file,
)


def test_default_table_has_32_channels(energy_channels: ScienceEnergyChannels) -> None:
    table = energy_channels.table_for("2020-05-06T00:00:00")
    assert table.name == "ScienceEnergyChannels_1000.csv"
    assert table.channels.tolist() == list(range(32))
    assert (table.e_lower[1], table.e_upper[1]) == (4.0, 5.0)
    assert (table.e_lower[30], table.e_upper[30]) == (120.0, 150.0)
    assert table.e_lower[31] == 150.0 and np.isinf(table.e_upper[31])  # "maxADC"


def test_short_lived_tables_by_date(energy_channels: ScienceEnergyChannels) -> None:
    assert energy_channels.table_for("2023-01-30T12:00:00").e_upper[1] == pytest.approx(4.45)
    assert energy_channels.file_for("2023-01-30T00:04:34") == "ScienceEnergyChannels_1000.csv"
    assert energy_channels.file_for("2023-01-30T00:04:35") == "ScienceEnergyChannels_20221216.csv"
    assert energy_channels.file_for("2030-01-01T00:00:00") == "ScienceEnergyChannels_1000.csv"  # open end


def test_date_before_any_table_raises(energy_channels: ScienceEnergyChannels) -> None:
    with pytest.raises(EnergyChannelError, match="No Science Energy"):
        energy_channels.table_for("2018-01-01T00:00:00")


def test_bands_from_light_curve_edge_mask(energy_channels: ScienceEnergyChannels) -> None:
    """The edge mask of the reference light curve gives its five bands 4-10-15-25-50-150 keV."""
    mask = np.zeros(33, dtype=np.uint8)
    mask[[1, 7, 12, 17, 23, 31]] = 1
    low, high = energy_bands(energy_channels.table_for("2020-05-06"), mask)
    assert low.tolist() == [4, 10, 15, 25, 50]
    assert high.tolist() == [10, 15, 25, 50, 150]


def test_bands_for_channel_mask_and_none(energy_channels: ScienceEnergyChannels) -> None:
    table = energy_channels.table_for("2020-05-06")
    mask = np.zeros(32, dtype=bool)
    mask[1:15] = True
    assert [a.tolist() for a in energy_bands(table, mask)] == [[4.0], [20.0]]  # channels 1..14: 4-20 keV
    low, high = energy_bands(table)
    assert len(low) == len(high) == 32
    with pytest.raises(EnergyChannelError):
        energy_bands(table, np.ones(31))


def test_malformed_file_is_reported(tmp_path: Path) -> None:
    bad = tmp_path / "ScienceEnergyChannels_x.csv"
    bad.write_text("no header here\n1,2,3\n")
    with pytest.raises(EnergyChannelError, match="header"):
        read_energy_channel_file(bad)
