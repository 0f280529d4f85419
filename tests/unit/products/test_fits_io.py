"""FITS layout of L0 products, lossless read back, serialized column metadata, atomic writes."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits

from stix_lib.products.fits_io import ProductFileError, as_min_uint, read_product
from stix_lib.products.l0_l1_names import complete_name
from stix_lib.products.writer import ProductWriter


@pytest.mark.parametrize(
    "key", [(21, 6, 30), (21, 6, 31), (21, 6, 32), (21, 6, 33), (21, 6, 34), (21, 6, 41), (21, 6, 43)]
)
def test_l0_round_trip_is_lossless(moc_l0: dict, writer: ProductWriter, key) -> None:
    product = moc_l0[key]
    (result,) = writer.write_l0(product)
    back = read_product(result.path)
    assert back.same_content(product)
    assert np.array_equal(back.time, product.time)  # bit-identical bin centres


def test_l0_light_curve_layout(moc_l0: dict, writer: ProductWriter) -> None:
    (result,) = writer.write_l0(moc_l0[(21, 6, 30)])
    assert result.path.name == "solo_L0_stix-ql-lightcurve_0628128000_V02U.fits"
    with fits.open(result.path) as hdul:
        assert [h.name for h in hdul] == ["PRIMARY", "CONTROL", "DATA", "IDB_VERSIONS", "ENERGIES"]
        header = hdul[0].header
        assert header["LEVEL"] == "L0" and header["TIMESYS"] == "OBT"
        assert header["OBT_BEG"] == pytest.approx(628185012 + 52455 / 65535)  # packet time
        assert header["DATE-OBS"] == "0628185012:52455"
        assert header["PARENT"] == "solo_LB_stix-21-6-30_0628128000_V02.fits"
        assert header["RAW_FILE"] == "moc_test.PktTmRaw.xml"
        assert header["XPOSURE"] == 4.0 and header["BUNIT"] == "counts"
        data = hdul["DATA"]
        assert data.columns["time"].format == "J" and data.columns["time"].bzero == 2**31
        assert data.columns["time"].unit == "cs"
        assert data.data["time"][:3].tolist() == [200, 600, 1000]
        assert data.data["timedel"][:3].tolist() == [400, 400, 400]
        assert hdul["ENERGIES"].data["e_low"].tolist() == [4, 10, 15, 25, 50]
        assert hdul["IDB_VERSIONS"].data["version"].tolist() == ["2.26.32"]
        comments = "\n".join(str(c) for c in data.header["COMMENT"])
        assert "--BEGIN-ASTROPY-SERIALIZED-COLUMNS--" in comments and "NIX00274" in comments


def test_column_metadata_survives(moc_l0: dict, writer: ProductWriter) -> None:
    (result,) = writer.write_l0(moc_l0[(21, 6, 41)])
    back = read_product(result.path)
    assert back.control.column("integration_time").meta == {"NIXS": "NIX00122", "PCF_CURTX": "CIX01171TM"}
    assert back.control.column("detector_mask").meta == {"NIXS": "NIX00407", "PCF_CURTX": None}
    assert back.data.column("counts_comp_err").description == "Error due only to integer compression"


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (np.array([0.0, 255.0]), np.uint8),
        (np.array([0.0, 256.0]), np.uint16),
        (np.array([65535.0, 3.0]), np.uint16),
        (np.array([65536.0]), np.uint32),
        (np.array([70000]), np.uint32),
        (np.array([0.5]), None),
        (np.array([-0.0, 7.0]), np.uint8),  # -0 is not negative
        (np.array([1.0, 2.5, 3.0]), None),  # a fraction in the middle
        (np.array([1.0, np.nan]), None),
        (np.array([np.inf, 1.0]), None),
        (np.array([3.0, -1.0]), None),
        (np.array([2.0**70]), None),  # beyond uint64
        (np.zeros((0, 3)), np.uint8),
        (np.array([[1, 300], [2, 5]], dtype=np.int64), np.uint16),
        (np.array([-1, 5], dtype=np.int16), None),
        (np.array(["1"]), None),
        (np.array([True]), None),
    ],
)
def test_as_min_uint_holds_the_same_values(values: np.ndarray, expected: type | None) -> None:
    converted = as_min_uint(values)
    if expected is None:
        assert converted is None
        return
    assert converted is not None and converted.dtype == expected
    assert converted.shape == values.shape and np.array_equal(converted, values)


def test_as_min_uint_keeps_a_column_of_the_type() -> None:
    values = np.array([1, 200], dtype=np.uint8)
    assert as_min_uint(values) is values


def test_killed_writer_leaves_no_partial_file(moc_l0: dict, writer: ProductWriter, monkeypatch) -> None:
    """A crash while writing leaves the previous file untouched and no temporary file behind."""
    (first,) = writer.write_l0(moc_l0[(21, 6, 43)])
    before = first.path.read_bytes()

    def boom(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "fsync", boom)
    changed = moc_l0[(21, 6, 43)].with_rows([1])
    changed.data.replace_values("pald", changed.data["pald"] + 1)
    with pytest.raises(KeyboardInterrupt):
        writer.write_l0(changed)
    assert first.path.read_bytes() == before
    assert sorted(p.name for p in first.path.parent.iterdir()) == [".products.lock", first.path.name]


def test_stale_partial_files_are_removed(moc_l0: dict, writer: ProductWriter) -> None:
    """Left-overs of killed writers of L0/L1 products in a folder go when the next writer first locks it.

    Daily (incomplete) and generic (complete) names alike; a science request file's temporary
    file is not a product writer's and stays.
    """
    (first,) = writer.write_l0(moc_l0[(21, 6, 43)])
    folder = first.path.parent
    stale = [
        folder / f".{first.path.name}.abc.partial",
        folder / ".solo_L0_stix-ql-lightcurve_0628300800_V02U.fits.x.partial",
        folder / f".{complete_name(first.path.name)}.abc.partial",
    ]
    kept = [folder / ".solo_L1_stix-sci-xray-cpd_2005060001-12345_V02U_2005060001-12345.fits.y.partial"]
    for path in stale + kept:
        path.write_bytes(b"half a file")
    other = ProductWriter(writer.archive, energy_channels=writer.energy_channels)
    other.write_l0(moc_l0[(21, 6, 43)])
    assert not any(p.exists() for p in stale) and all(p.exists() for p in kept)
    again = folder / f".{first.path.name}.def.partial"
    again.write_bytes(b"half a file")  # once per folder and writer: the same writer does not scan again
    other.write_l0(moc_l0[(21, 6, 43)])
    assert again.exists()


def test_unreadable_existing_file_is_not_overwritten(moc_l0: dict, writer: ProductWriter) -> None:
    (first,) = writer.write_l0(moc_l0[(21, 6, 43)])
    first.path.write_bytes(b"garbage")
    with pytest.raises(ProductFileError):
        writer.write_l0(moc_l0[(21, 6, 43)])
    assert first.path.read_bytes() == b"garbage"


def test_read_rejects_non_products(tmp_path: Path) -> None:
    path = tmp_path / "x.fits"
    fits.HDUList([fits.PrimaryHDU()]).writeto(path)
    with pytest.raises(ProductFileError):
        read_product(path)
