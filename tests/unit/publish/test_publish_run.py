"""Publishing runs end to end with a local target (operations spec §6.4–6.6 and the §11 checklist)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from astropy.io import fits
from sqlalchemy import select

from stix_lib.db import connect
from stix_lib.db.schema import published
from stix_lib.publish import (
    LocalTransport,
    Outcome,
    PublishHistory,
    PublishLockedError,
    PublishOptions,
    PublishResult,
    SelectionFilters,
    flown_kernels,
    publish,
    publish_lock,
)
from stix_lib.publish.gate import HEADER_CHECKS
from stix_lib.ridlut import RidLut
from stix_lib.ridlut.table import COLUMNS
from tests.support.publish_support import FLOWN_MK, data_counts, days_ago, iso, tree_state, write_product, write_svg

CPD = "solo_L1_stix-sci-xray-cpd_20200505T235959-20200506T000019_V02_{rid:010d}-50883.fits"


def _options(folders, **changes) -> PublishOptions:
    values = {
        "fits_dir": folders.fits,
        "conflicts_dir": folders.conflicts,
        "waiting_period": timedelta(0),
        "filters": SelectionFilters.from_strings("*", "*", "*"),
        "supplement_report": folders.report,
        "work_dir": folders.work,
        "checks": HEADER_CHECKS,  # the synthetic products are not stixpy-loadable (gate tests cover stixpy)
    }
    return PublishOptions(**(values | changes))


def _run(folders, engine, *, kernels=None, rid_lut=None, **changes):
    return publish(
        _options(folders, **changes), engine, LocalTransport(folders.target), rid_lut=rid_lut, kernels=kernels
    )


def _history_text(header: fits.Header, key: str) -> str:
    """All COMMENT or HISTORY cards joined (astropy splits long notes over several cards)."""
    return "".join(str(v) for v in header.get(key, []))


def test_publish_fits_to_esa_incomplete(db_url: str, folders, kernel_dir: Path, clean_spice) -> None:
    """Three daily L1 U files written with predicted+flown kernels: published complete, flown-only ephemeris."""
    engine = connect(db_url)
    days = ("20200505", "20200506", "20200507")
    for day in days:
        write_product(folders.fits / "L1" / day, f"solo_L1_stix-ql-lightcurve_{day}_V02U.fits")
    kernels = flown_kernels(kernel_dir, work_dir=folders.work / "spice")

    report = _run(folders, engine, kernels=kernels.load, filters=SelectionFilters.from_strings("l1", "*", "*"))

    assert report.counts == {"E": 0, "I": 0, "S": 0, "P": 3}
    expected = [f"solo_L1_stix-ql-lightcurve_{day}_V02.fits" for day in days]
    assert sorted(o.delivered_name for o in report.of(Outcome.PUBLISHED)) == expected
    assert LocalTransport(folders.target).list_names() == expected
    for name, day in zip(expected, days, strict=True):
        delivered, archived = folders.target / name, folders.fits / "L1" / day / name
        assert sorted(p.name for p in archived.parent.iterdir()) == [name]  # U renamed in the archive
        for path in (delivered, archived):
            header = fits.getheader(path)
            assert header["SPICE_MK"] == FLOWN_MK and header["FILENAME"] == name and "SPICE_ER" not in header
        assert f"published to ESA SOAR as '{name}'" in _history_text(fits.getheader(delivered), "HISTORY")
    rows = PublishHistory(engine).rows()
    assert [(r.name, r.result, r.attempts) for r in rows] == [(n, PublishResult.PUBLISHED, 1) for n in expected]


def test_fits_incomplete_switch_over(folders, engine, kernel_dir: Path, clean_spice) -> None:
    """One of four files starts in the future (IGNORED); a later U twin with new data is not re-delivered."""
    kernels = flown_kernels(kernel_dir, work_dir=folders.work / "spice").load
    future = days_ago(-30)
    for day in ("20200505", "20200506", "20200507"):
        write_product(folders.fits / day, f"solo_L1_stix-ql-lightcurve_{day}_V02U.fits", counts=(1.0,))
    seconds_since_2000 = future.timestamp() - 946684800.0  # on-board time (SCET epoch 2000-01-01)
    write_product(
        folders.fits / "future", "solo_L0_stix-ql-lightcurve_0999999999_V02U.fits",
        spice_mk=None, begin=None, obt_begin=seconds_since_2000,
    )  # fmt: skip

    first = _run(folders, engine, kernels=kernels)
    assert first.counts == {"E": 0, "I": 1, "S": 0, "P": 3}
    ignored = first.of(Outcome.IGNORED)[0]
    assert ignored.name == "solo_L0_stix-ql-lightcurve_0999999999_V02.fits" and "future" in ignored.reason
    assert PublishHistory(engine).get(ignored.name).result is PublishResult.IGNORED

    # the daily writer merges new data into a fresh U twin of a published file
    twin = write_product(folders.fits / "20200506", "solo_L1_stix-ql-lightcurve_20200506_V02U.fits", counts=(3.0, 2.0))
    second = _run(folders, engine, kernels=kernels)
    assert second.counts == {"E": 0, "I": 1, "S": 0, "P": 0}
    assert second.outcomes[0].reason == "re-requested (already published)"
    complete = twin.with_name("solo_L1_stix-ql-lightcurve_20200506_V02.fits")
    assert not twin.exists() and data_counts(complete) == [3.0, 2.0]  # newest data in the archive
    assert data_counts(folders.target / complete.name) == [1.0]  # SOAR keeps what was delivered
    assert _run(folders, engine, kernels=kernels).outcomes == []


@pytest.fixture
def rid_lut(tmp_path: Path) -> RidLut:
    path = tmp_path / "rid_lut.csv"
    rows = [",".join(COLUMNS)] + [
        f"{rid},{rid},2020-05-05T23:59:00,20,xray-cpd,flare {rid},imaging,,IOR{rid},test" for rid in range(123, 131)
    ]
    path.write_text("\n".join(rows) + "\n")
    return RidLut.read(path)


def test_publish_fits_to_esa(db_url: str, folders, rid_lut: RidLut, tmp_path: Path) -> None:
    """BSD series rid 123–129 + blacklisted vis 130 (§11): P 1, S 2, I 2 + blacklisted 1, E 2 max supplement."""
    engine = connect(db_url)
    series = {123: (1, 2), 124: (1, 2), 125: (5, 5), 126: (1, 2), 127: (6, 6), 128: (7, 7), 129: (8, 8)}
    for rid, counts in series.items():
        write_product(folders.fits / "L1" / "BSD", CPD.format(rid=rid), counts=counts)
    vis = "solo_L1_stix-sci-xray-vis_20200505T235959-20200506T000019_V02_0000000130-50890.fits"
    write_product(folders.fits / "L1" / "BSD", vis)
    blacklist = frozenset({vis})
    archive_before = tree_state(folders.fits)

    report = _run(folders, engine, rid_lut=rid_lut, sort_files=True, blacklist=blacklist)

    assert report.counts == {"E": 2, "I": 3, "S": 2, "P": 1}
    assert [o.name for o in report.of(Outcome.PUBLISHED)] == [CPD.format(rid=123)]
    assert [o.name for o in report.of(Outcome.IGNORED)] == [CPD.format(rid=124), CPD.format(rid=126)]
    assert all("identical DATA" in o.reason for o in report.of(Outcome.IGNORED))
    assert [o.name for o in report.of(Outcome.BLACKLISTED)] == [vis]
    errors = report.of(Outcome.ERROR)
    assert [(o.name, o.reason) for o in errors] == [(CPD.format(rid=r), "max supplement error") for r in (128, 129)]
    assert sorted(p.name for p in folders.conflicts.iterdir()) == [CPD.format(rid=128), CPD.format(rid=129)]

    sup1 = "solo_L1_stix-sci-xray-cpd-sup1_20200505T235959-20200506T000019_V02_0000000125-50883.fits"
    sup2 = "solo_L1_stix-sci-xray-cpd-sup2_20200505T235959-20200506T000019_V02_0000000127-50883.fits"
    assert [o.delivered_name for o in report.of(Outcome.SUPPLEMENT)] == [sup1, sup2]
    assert LocalTransport(folders.target).list_names() == sorted([CPD.format(rid=123), sup1, sup2])
    for name in LocalTransport(folders.target).list_names():
        header = fits.getheader(folders.target / name)
        assert header["FILENAME"] == name
        assert f"published to ESA SOAR as '{name}'" in _history_text(header, "HISTORY")
    sup_comments = _history_text(fits.getheader(folders.target / sup1), "COMMENT")
    assert "BSD request id: '125' reason: 'flare 125, imaging, test'" in sup_comments
    assert f"supplement data product combine with: {CPD.format(rid=123)}" in sup_comments
    assert f"Orig filename of this supplement was {CPD.format(rid=125)}" in sup_comments
    assert data_counts(folders.target / sup2) == [6, 6]

    lines = folders.report.read_text().splitlines()
    assert lines[0] == "filename\tbasefile\tcomment"
    assert lines[1:] == [
        f"{sup1}\t{CPD.format(rid=123)}\tBSD request id: '125' reason: 'flare 125, imaging, test'",
        f"{sup2}\t{CPD.format(rid=123)}\tBSD request id: '127' reason: 'flare 127, imaging, test'",
    ]
    assert tree_state(folders.fits) == archive_before  # the archive is not annotated

    rows = {r.name: r for r in PublishHistory(engine).rows()}
    assert rows[CPD.format(rid=125)].modified_esaname == (
        "solo_L1_stix-sci-xray-cpd-sup1_20200505T235959-20200506T000019_V02.fits"
    )
    assert rows[CPD.format(rid=128)].result is PublishResult.IGNORED
    assert rows[CPD.format(rid=128)].error.startswith("max supplement error")
    assert rows[vis].result is PublishResult.BLACKLISTED

    again = _run(folders, engine, rid_lut=rid_lut, sort_files=True, blacklist=blacklist)
    assert again.outcomes == [] and len(folders.report.read_text().splitlines()) == 3


def test_copy_error_is_retried(db_url: str, folders) -> None:
    engine = connect(db_url)
    name = "solo_L1_stix-ql-lightcurve_20200506_V02.fits"
    write_product(folders.fits, name)
    (folders.target / name).mkdir(parents=True)  # something in the way: the rename fails

    failed = _run(folders, engine)
    assert failed.counts["E"] == 1 and failed.outcomes[0].attempt == 1
    assert "TransportError" in failed.outcomes[0].reason
    row = PublishHistory(engine).get(name)
    assert row.retry and row.result is PublishResult.ERROR and row.delivered_at is None
    assert [p.name for p in folders.target.iterdir()] == [name]  # no partial file left

    (folders.target / name).rmdir()
    retried = _run(folders, engine)
    assert retried.counts == {"E": 0, "I": 0, "S": 0, "P": 1} and retried.outcomes[0].attempt == 2
    row = PublishHistory(engine).get(name)
    assert row.result is PublishResult.PUBLISHED and row.attempts == 2 and row.error is None
    assert (folders.target / name).is_file()


_CRASHING_RUN = r"""
import os, signal, sys
from datetime import timedelta
from pathlib import Path
from stix_lib.db import connect
from stix_lib.publish import LocalTransport, PublishOptions, SelectionFilters, publish
from stix_lib.publish.gate import HEADER_CHECKS
from stix_lib.publish.transport import part_name

fits_dir, target, conflicts, url, when = sys.argv[1:]

class Crashing(LocalTransport):
    def deliver(self, source, name):
        if when == "after":
            super().deliver(source, name)
        else:
            (self.target_dir / part_name(name)).write_bytes(Path(source).read_bytes()[:100])
        os.kill(os.getpid(), signal.SIGKILL)

options = PublishOptions(fits_dir=Path(fits_dir), conflicts_dir=Path(conflicts), waiting_period=timedelta(0),
                         filters=SelectionFilters.from_strings("*", "*", "*"), checks=HEADER_CHECKS)
publish(options, connect(url), Crashing(Path(target)))
"""


@pytest.mark.parametrize("when", ["during", "after"])
def test_a_crash_never_records_an_unfinished_delivery(folders, sqlite_url: str, when: str) -> None:
    """SIGKILL in the middle of (or right after) an upload: the history says pending, the next run delivers."""
    import signal
    import subprocess
    import sys

    name = "solo_L1_stix-ql-lightcurve_20200506_V02.fits"
    write_product(folders.fits, name)
    args = [str(folders.fits), str(folders.target), str(folders.conflicts), sqlite_url, when]
    done = subprocess.run([sys.executable, "-c", _CRASHING_RUN, *args], capture_output=True, timeout=300)
    assert done.returncode == -signal.SIGKILL, done.stderr.decode()[-2000:]

    engine = connect(sqlite_url)
    row = PublishHistory(engine).get(name)
    assert row.result is None and row.retry and row.delivered_at is None
    visible = LocalTransport(folders.target).list_names()
    assert visible == ([name] if when == "after" else [])  # never a partial file under the real name

    report = _run(folders, engine)
    assert report.counts["P"] == 1
    assert ("stale partial upload" in " ".join(report.warnings)) == (when == "during")
    assert sorted(p.name for p in folders.target.iterdir()) == [name]
    assert data_counts(folders.target / name) == data_counts(folders.fits / name)
    assert PublishHistory(engine).get(name).result is PublishResult.PUBLISHED


def test_dry_run_touches_nothing(folders, engine, rid_lut: RidLut) -> None:
    stored = write_product(folders.fits / "BSD", CPD.format(rid=123), counts=(1, 1))
    _run(folders, engine, rid_lut=rid_lut)  # one delivered product in the history
    write_product(folders.fits / "BSD", CPD.format(rid=124), counts=(2, 2))
    write_product(folders.fits / "BSD", CPD.format(rid=125), counts=(3, 3))
    write_product(folders.fits / "BSD", CPD.format(rid=126), counts=(1, 1))
    write_product(folders.fits / "L0", "solo_L0_stix-hk-maxi_0642038400_V02U.fits", spice_mk=None)
    write_product(folders.fits / "L1", "solo_L1_stix-hk-maxi_20200506_V02U.fits")  # would need kernels
    blacklisted = write_svg(
        folders.fits / "LL", "solo_LL03_stix-ql-lightcurve_20200506T000000-20200506T235959_V02C.svg"
    )
    before = tree_state(folders.fits, folders.target, folders.conflicts, folders.report.parent)
    with engine.connect() as conn:
        rows_before = conn.execute(select(published)).all()

    report = publish(
        _options(folders, dry_run=True, blacklist=frozenset({blacklisted.name})),
        engine, LocalTransport(folders.target / "never-created"), rid_lut=rid_lut,
    )  # fmt: skip

    assert report.dry_run and report.subject().startswith("[DRY RUN] ")
    planned = {o.name: o for o in report.outcomes}
    assert planned["solo_L0_stix-hk-maxi_0642038400_V02.fits"].delivered_name == (
        "solo_L0_stix-hk-maxi_0642038400_V02.fits"
    )
    assert planned["solo_L1_stix-hk-maxi_20200506_V02.fits"].outcome is Outcome.PUBLISHED
    assert planned[CPD.format(rid=124)].delivered_name.startswith("solo_L1_stix-sci-xray-cpd-sup1_")
    assert planned[CPD.format(rid=125)].delivered_name.startswith("solo_L1_stix-sci-xray-cpd-sup2_")
    assert planned[CPD.format(rid=126)].outcome is Outcome.IGNORED
    assert planned[blacklisted.name].outcome is Outcome.BLACKLISTED
    assert report.counts == {"E": 0, "I": 2, "S": 2, "P": 2}
    assert tree_state(folders.fits, folders.target, folders.conflicts, folders.report.parent) == before
    assert not (folders.target / "never-created").exists()
    with engine.connect() as conn:
        assert conn.execute(select(published)).all() == rows_before
    assert stored.exists()

    without_db = publish(_options(folders, dry_run=True), None, None)
    assert without_db.counts == {"E": 0, "I": 1, "S": 2, "P": 4}  # empty history: rid 123 would be the base


def test_one_run_at_a_time(db_url: str, folders) -> None:
    engine = connect(db_url)
    write_product(folders.fits, "solo_L1_stix-ql-lightcurve_20200506_V02.fits")
    with publish_lock(engine):
        with pytest.raises(PublishLockedError):
            _run(folders, engine)
        assert publish(_options(folders, dry_run=True), engine, None).counts["P"] == 1  # dry runs need no lock
    assert _run(folders, engine).counts["P"] == 1


def test_waiting_period_counts_from_the_product_date(folders, engine) -> None:
    old = write_product(folders.fits, "solo_L1_stix-ql-lightcurve_20200506_V02.fits", created=days_ago(10))
    old.touch()  # renamed/edited/copied just now: mtime and ctime are fresh
    write_product(folders.fits, "solo_L1_stix-ql-lightcurve_20200507_V02.fits", created=days_ago(2))
    report = _run(folders, engine, waiting_period=timedelta(days=7))
    assert [o.name for o in report.outcomes] == [old.name] and report.waiting == 1
    assert abs(PublishHistory(engine).get(old.name).m_date - days_ago(10).timestamp()) < 5


def test_svg_plots_and_low_latency_waiting(folders, engine) -> None:
    plot = write_svg(
        folders.fits / "LL03", "solo_LL03_stix-ql-lightcurve_20200506T000000-20200506T235959_V02C.svg",
        mtime=days_ago(0.01),
    )  # fmt: skip
    report = _run(folders, engine, waiting_period=timedelta(days=7), ll_waiting_period=timedelta(minutes=1))
    assert report.counts["P"] == 1 and (folders.target / plot.name).read_bytes() == plot.read_bytes()


def test_bad_files_do_not_stop_the_run(folders, engine) -> None:
    write_product(folders.fits, "solo_L1_broken_V02.fits")
    (folders.fits / "solo_L1_stix-ql-spectra_20200506_V02.fits").write_bytes(b"not a FITS file")
    good = write_product(folders.fits, "solo_L1_stix-ql-lightcurve_20200506_V02.fits")
    report = _run(folders, engine)
    assert [o.name for o in report.of(Outcome.PUBLISHED)] == [good.name]
    assert [o.name for o in report.of(Outcome.ERROR)] == ["solo_L1_stix-ql-spectra_20200506_V02.fits"]
    assert any("solo_L1_broken_V02.fits" in w for w in report.warnings)
    assert PublishHistory(engine).get("solo_L1_stix-ql-spectra_20200506_V02.fits").retry


def test_missing_base_file_is_an_error_and_retried(folders, engine) -> None:
    base = write_product(folders.fits, CPD.format(rid=1), counts=(1,))
    _run(folders, engine)
    base.unlink()
    write_product(folders.fits, CPD.format(rid=2), counts=(1,))
    report = _run(folders, engine)
    assert report.counts["E"] == 1 and "FileNotFoundError" in report.outcomes[0].reason
    assert PublishHistory(engine).get(CPD.format(rid=2)).retry


def test_future_guard_uses_date_beg(folders, engine) -> None:
    write_product(folders.fits, "solo_L1_stix-ql-lightcurve_20990101_V02.fits", begin=iso(days_ago(-8)))
    write_product(folders.fits, "solo_L1_stix-ql-lightcurve_20990102_V02.fits", begin=iso(days_ago(-6)))
    report = _run(folders, engine)
    assert [o.outcome for o in report.outcomes] == [Outcome.IGNORED, Outcome.PUBLISHED]
