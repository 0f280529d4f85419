"""Processing history in the pipeline DB (SQLite and PostgreSQL) and the ANC aspect input gates."""

from __future__ import annotations

import shutil
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from astropy.io import fits

from stix_lib.daily import DatabaseHistory, aspect_due, aspect_inputs, idl_missing
from stix_lib.daily.processing_history import history_path

IN = Path("/archive/L1/2020/05/06/QL/solo_L1_stix-ql-lightcurve_20200506_V02U.fits")
OUT = Path("/archive/LL03/2020/05/06/QL/solo_LL03_stix-ql-lightcurve_20200506T000000-20200506T235959_V02C.svg")
KEY = {"name": "lightcurve", "level": "LL03", "product_type": "ql", "version": 2}
CREATED = datetime(2026, 3, 1, 12, 0, 0, 500000, tzinfo=UTC)


@pytest.fixture(params=["sqlite", "postgresql"])
def history(request, settings):
    from stix_lib.db import connect

    url = settings.pipeline_db_url if request.param == "sqlite" else request.getfixturevalue("postgres_url")
    engine = connect(url)
    yield DatabaseHistory(engine)
    engine.dispose()


def test_has_processed_after_the_inputs_date(history: DatabaseHistory) -> None:
    def processed(**changes) -> bool:
        args = {**KEY, "in_path": IN, "in_created": CREATED, "out_path": OUT, **changes}
        return history.has_processed(**args)

    assert not processed()
    history.record(**KEY, in_path=IN, out_path=OUT, p_date=CREATED + timedelta(milliseconds=1))
    assert processed()
    assert processed(in_path=IN.with_name(IN.name.replace("V02U", "V02")))  # complete twin: same input
    assert processed(in_created=CREATED.replace(tzinfo=None))  # naive = UTC
    assert not processed(in_created=CREATED + timedelta(milliseconds=1))  # rewritten input: not after its DATE
    assert not processed(version=3) and not processed(level="LL02") and not processed(product_type="sci")
    assert not processed(in_path=IN.with_name("solo_L1_stix-ql-lightcurve_20200507_V02U.fits"))
    (row,) = history.rows("LL03")
    assert row["fits_in_path"] == history_path(IN) == str(IN.with_name(IN.name.replace("V02U", "V02")))
    assert row["fits_out_path"] == str(OUT) and row["p_date"] == CREATED + timedelta(milliseconds=1)
    assert history.rows("ANC") == []


def test_aspect_gates(settings, reference_data: Path, history: DatabaseHistory, tmp_path: Path) -> None:
    hk = "solo_L1_stix-hk-maxi_20200501_V01.fits"
    folder = tmp_path / "L1/2020/05/01/HK"
    folder.mkdir(parents=True)
    v01, v02 = folder / hk, folder / hk.replace("_V01", "_V02")
    for path in (v01, v02):
        shutil.copyfile(reference_data / "reference" / "l1" / hk, path)
        path.chmod(0o644)
    with fits.open(v02, mode="update") as hdul:
        hdul[0].header["VERSION"] = "02"
        data_end = hdul[0].header["DATE-END"]
        created = hdul[0].header["DATE"]
    assert data_end.startswith("2020-05-01T23:59")
    assert aspect_inputs(tmp_path, [date(2020, 5, 1)]) == [v01, v02] == aspect_inputs(tmp_path, None)
    assert aspect_due(v01, date(2020, 5, 10), history) == (False, f"{hk}: version 1 < 2")
    assert aspect_due(v02, None, history)[0] is False
    assert aspect_due(v02, date(2020, 5, 2), history)[0] is False  # data end after MK date - 24 h
    assert aspect_due(v02, date(2020, 5, 3), history)[0] is True
    history.record(
        name="ephemeris", level="ANC", product_type="asp", version=2, in_path=v02, out_path=tmp_path / "x.fits",
        p_date=datetime.fromisoformat(created).replace(tzinfo=UTC) + timedelta(seconds=1),
    )  # fmt: skip
    assert aspect_due(v02, date(2020, 5, 3), history) == (False, f"{v02.name}: already processed")


def test_idl_missing(settings) -> None:
    assert "idl_gsw_path is empty" in idl_missing(settings)
    assert idl_missing(settings.replace(idl_gsw_path="/opt/STX-GSW")) is None
