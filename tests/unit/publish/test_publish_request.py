"""A publishing request resolved against the settings: defaults from the settings, overrides, bad input."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from stix_lib.publish.request import PublishRequest
from stix_lib.publish.selection import SelectionFilters


def test_an_empty_request_takes_every_default_from_the_settings(settings) -> None:
    settings = settings.replace(
        publish_waiting_period=timedelta(days=3), publish_ll_waiting_period=timedelta(minutes=5),
        publish_future_guard=timedelta(days=2), publish_batch_size=17,
    )  # fmt: skip
    plan = PublishRequest().resolve(settings)

    options = plan.options
    assert options.fits_dir == Path(settings.fits_archive_dir)
    assert options.conflicts_dir == Path(settings.soar_conflicts_dir)
    assert (options.waiting_period, options.ll_waiting_period, options.future_guard) == (
        timedelta(days=3), timedelta(minutes=5), timedelta(days=2),
    )  # fmt: skip
    assert options.batch_size == 17
    assert options.supplement_report == settings.data_root / "publish" / "supplement_report.csv"
    assert options.filters == SelectionFilters()  # STIXCore's default levels and products, every version
    assert options.blacklist == frozenset() and not options.sort_files and not options.dry_run
    assert plan.target_dir == Path(settings.soar_target_dir) and plan.target_host is None  # soar_host empty
    assert plan.rid_lut_file == Path(settings.rid_lut_file)
    assert plan.rid_lut_update_url == settings.rid_lut_update_url
    assert (plan.spice_dir, plan.meta_kernel) == (Path(settings.spice_dir), None)
    assert plan.db_url == settings.pipeline_db_url
    assert plan.request.update_rid_lut is False


def test_every_choice_overrides_its_setting(settings, tmp_path: Path) -> None:
    fits, blacklist = tmp_path / "archive", tmp_path / "blacklist.txt"
    fits.mkdir()
    blacklist.write_text("a.fits\n\nb.fits\n")
    request = PublishRequest(
        fits_dir=fits, target_dir="/soar/in", target_host="soar.example.org", same_esa_name_dir=tmp_path / "c",
        rid_lut_file=tmp_path / "lut.csv", rid_lut_update_url="https://api.example.org/bsd/", sort_files=True,
        blacklist_files=blacklist, supplement_report=tmp_path / "sup.csv", db_url=str(tmp_path / "h.sqlite"),
        waiting_period="12h", ll_waiting_period="30s", future_guard="1d", batch_size=-1, include_versions="V02",
        include_levels="l1", include_products="sci", spice_file=tmp_path / "mk.tm", spice_dir=tmp_path / "k",
        dry_run=True, run_id="run-7",
    )  # fmt: skip
    plan = request.resolve(settings)

    options = plan.options
    assert (options.fits_dir, options.conflicts_dir, options.supplement_report) == (
        fits, tmp_path / "c", tmp_path / "sup.csv",
    )  # fmt: skip
    assert (options.waiting_period, options.ll_waiting_period, options.future_guard) == (
        timedelta(hours=12), timedelta(seconds=30), timedelta(days=1),
    )  # fmt: skip
    assert options.batch_size == -1 and options.sort_files and options.dry_run and options.run_id == "run-7"
    assert options.blacklist == {"a.fits", "b.fits"}
    assert options.filters == SelectionFilters.from_strings("l1", "sci", "V02")
    assert (plan.target_dir, plan.target_host) == (Path("/soar/in"), "soar.example.org")
    assert (plan.rid_lut_file, plan.rid_lut_update_url) == (tmp_path / "lut.csv", "https://api.example.org/bsd/")
    assert (plan.spice_dir, plan.meta_kernel) == (tmp_path / "k", tmp_path / "mk.tm")
    assert plan.db_url == f"sqlite:///{tmp_path / 'h.sqlite'}"  # a bare file is a SQLite database


@pytest.mark.parametrize(
    ("soar_host", "target_host", "expected"),
    [
        ("", None, None),
        ("soar.esa.int", None, "soar.esa.int"),
        ("soar.esa.int", "localhost", None),  # the request's host wins, 'localhost' = local folder
        ("soar.esa.int", " LocalHost ", None),
        ("soar.esa.int", "", None),
        ("", " other.host ", "other.host"),
    ],
)
def test_target_host(settings, soar_host: str, target_host: str | None, expected: str | None) -> None:
    plan = PublishRequest(target_host=target_host).resolve(settings.replace(soar_host=soar_host))
    assert plan.target_host == expected


def test_history_url_keeps_sqlalchemy_urls(settings) -> None:
    url = "postgresql+psycopg2://stix@db/pipeline"
    assert PublishRequest(db_url=url).resolve(settings).db_url == url


def test_bad_input_names_what_is_wrong(settings, tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=str(tmp_path / "nowhere")):
        PublishRequest(fits_dir=tmp_path / "nowhere").resolve(settings)
    with pytest.raises(OSError, match="missing.txt"):
        PublishRequest(blacklist_files=tmp_path / "missing.txt").resolve(settings)
    with pytest.raises(ValueError, match="soon"):
        PublishRequest(waiting_period="soon").resolve(settings)
    with pytest.raises(ValueError):
        PublishRequest(include_versions="latest").resolve(settings)
