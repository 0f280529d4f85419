"""ELUT by date from the STIX-CONF ``elut`` folder."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from stix_lib.conf.elut import ElutError, ElutIndex, ElutNotFoundError, read_elut_table


@pytest.fixture(scope="module")
def elut_dir(reference_data: Path) -> Path:
    return reference_data / "stix-conf" / "elut"


@pytest.fixture
def index(elut_dir: Path) -> ElutIndex:
    return ElutIndex(elut_dir)


def test_index_periods_and_lookup(index: ElutIndex) -> None:
    assert len(index.periods) == 18
    assert index.period_for("2020-05-06T12:00:00").file == "elut_table_20200519.csv"
    assert index.elut_for(datetime(2022, 8, 1)).name == "elut_table_20220601"
    assert index.elut_for("2021-06-01T00:00:00").name != index.elut_for("2024-08-01T00:00:00").name
    # half-open intervals: the boundary belongs to the next table
    assert index.period_for("2020-12-31T23:59:59.999").file == "elut_table_20200519.csv"
    assert index.period_for("2021-01-01T00:00:00").file == "elut_table_20201204.csv"
    # the open-ended last row ("none") and aware datetimes
    assert index.period_for(datetime(2030, 1, 1, tzinfo=UTC)).file == "elut_table_20251120.csv"
    # index entries with trailing blanks in the dates parse
    assert index.period_for("2023-07-01T00:00:00").file == "elut_table_20230606.csv"


def test_date_without_elut_is_a_clear_error(index: ElutIndex) -> None:
    with pytest.raises(ElutNotFoundError, match=r"No ELUT for 1990-01-01T00:00:00.000000 in .*elut_index.csv"):
        index.elut_for(datetime(1990, 1, 1))


def test_cache_returns_same_table_and_clears(index: ElutIndex) -> None:
    first = index.elut_for("2020-05-06T00:00:00")
    assert index.elut_for("2020-06-01T00:00:00") is first
    assert index.cache_size == 1
    index.clear_cache()
    assert index.cache_size == 0
    assert index.elut_for("2020-05-06T00:00:00") is not first


def test_table_matches_stixpy_reader(index: ElutIndex, elut_dir: Path) -> None:
    from stixpy.calibration.detector import get_sci_channels
    from stixpy.io.readers import read_elut

    ours = index.elut_for("2022-08-01T00:00:00")
    theirs = read_elut(elut_dir / "elut_table_20220601.csv", get_sci_channels(datetime(2022, 8, 1)))
    np.testing.assert_array_equal(ours.offset, np.asarray(theirs.offset))
    np.testing.assert_array_equal(ours.gain, np.asarray(theirs.gain))
    np.testing.assert_array_equal(ours.adc, np.asarray(theirs.adc))
    assert ours.adc.shape == (32, 12, 31)


def test_energy_edges_span_4_to_150_kev(index: ElutIndex) -> None:
    edges = index.elut_for("2020-05-06T00:00:00").energy_edges
    assert edges.shape == (32, 12, 31)
    assert np.all(np.diff(edges, axis=-1) > 0)
    assert np.all(np.abs(edges[..., 0] - 4.0) < 0.3)
    assert np.all(np.abs(edges[..., -1] - 150.0) < 3.0)


def test_quoted_and_padded_values_parse(elut_dir: Path) -> None:
    table = read_elut_table(elut_dir / "elut_table_20201204.csv")
    assert table.offset[0, 0] == pytest.approx(897.7778)
    assert table.adc[0, 0, 0] == 934


def test_range_with_elut_change_is_rejected(index: ElutIndex) -> None:
    assert index.elut_for_range("2020-05-06T17:00:00", "2020-05-06T19:00:00").name == "elut_table_20200519"
    with pytest.raises(ElutError, match="ELUT changes within .*elut_table_20200519.csv -> elut_table_20201204.csv"):
        index.elut_for_range("2020-12-31T12:00:00", "2021-01-01T12:00:00")


def test_missing_and_malformed_tables_name_the_file(elut_dir: Path, tmp_path: Path) -> None:
    shutil.copyfile(elut_dir / "elut_table_20200519.csv", tmp_path / "good.csv")
    lines = (elut_dir / "elut_table_20200519.csv").read_text().splitlines()
    lines[10] = ",".join(lines[10].split(",")[:20])
    (tmp_path / "short.csv").write_text("\n".join(lines) + "\n")
    (tmp_path / "elut_index.csv").write_text(
        "index, start_date, end_date, elut_file\n"
        "0, 2020-01-01T00:00:00, 2020-02-01T00:00:00, good.csv\n"
        "1, 2020-02-01T00:00:00, 2020-03-01T00:00:00, short.csv\n"
        "2, 2020-03-01T00:00:00, none, gone.csv\n"
    )
    index = ElutIndex(tmp_path)
    assert index.elut_for("2020-01-15T00:00:00").name == "good"
    with pytest.raises(ElutError, match=r"short.csv: line 11: 20 values, expected 35"):
        index.elut_for("2020-02-15T00:00:00")
    with pytest.raises(ElutError, match=r"ELUT table .*gone.csv does not exist"):
        index.elut_for("2020-04-01T00:00:00")
    with pytest.raises(ElutError, match=r"ELUT index .*nowhere/elut_index.csv does not exist"):
        ElutIndex(tmp_path / "nowhere")


def test_overlapping_index_rows_are_rejected(tmp_path: Path) -> None:
    (tmp_path / "elut_index.csv").write_text(
        "index, start_date, end_date, elut_file\n"
        "0, 2020-01-01T00:00:00, 2020-03-01T00:00:00, a.csv\n"
        "1, 2020-02-01T00:00:00, 2020-04-01T00:00:00, b.csv\n"
    )
    with pytest.raises(ElutError, match="periods of a.csv and b.csv overlap"):
        ElutIndex(tmp_path)


def test_every_stix_conf_table_parses(index: ElutIndex) -> None:
    for period in index.periods:
        edges = index.elut_for(period.start).energy_edges
        assert np.all(np.diff(edges, axis=-1) > 0), period.file
        assert abs(float(edges[..., 0].mean()) - 4.0) < 0.1, period.file
