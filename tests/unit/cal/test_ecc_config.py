"""ECC configuration by date and its private temporary context."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from pathlib import Path

import pytest

from stix_lib.conf.ecc import EccConfigError, EccConfigIndex, read_post_ecc


@pytest.fixture(scope="module")
def ecc_dir(reference_data: Path) -> Path:
    return reference_data / "stix-conf" / "ecc"


@pytest.fixture
def two_configs(tmp_path: Path) -> Path:
    root = tmp_path / "ecc"
    for name in ("cfg_a", "cfg_b"):
        (root / name).mkdir(parents=True)
        (root / name / "ECC.cfg").write_text(f"# {name}\n")
    (root / "cfg_b" / "post_ecc.ini").write_text(
        "[DEFAULT]\nMax_Gain_Prime = 1.2\nMin_Gain_Prime = 0.5\nMin_Gain = 0.3\n"
        "Ignore_Min_Gain_Det_Pix_List = [[1, 2]]\n"
    )
    (root / "ecc_conf_index.json").write_text(
        json.dumps(
            [
                {
                    "configuration": "cfg_a",
                    "validityPeriodUTC": ["2020-01-01T00:00:00.000+00:00", "2021-01-01T00:00:00.000+00:00"],
                },
                {
                    "configuration": "cfg_b",
                    "validityPeriodUTC": ["2021-01-01T00:00:00.001+00:00", "2030-01-01T00:00:00.000+00:00"],
                },
                {"configuration": "cfg_missing", "validityPeriodUTC": ["2031-01-01T00:00:00Z", "2032-01-01T00:00:00Z"]},
            ]
        )
    )
    return root


def test_find_by_date(ecc_dir: Path, two_configs: Path) -> None:
    real = EccConfigIndex(ecc_dir)
    assert real.find(datetime(2020, 5, 6, 18)) == "ecc_cfg_1"
    assert real.find() == "ecc_cfg_1"
    index = EccConfigIndex(two_configs)
    assert index.find("2020-06-01T00:00:00") == "cfg_a"
    assert index.find(datetime(2022, 1, 1, tzinfo=UTC)) == "cfg_b"
    assert index.find(None) == "cfg_a"
    assert index.find("1999-01-01T00:00:00") is None
    assert index.has("cfg_b") and not index.has("cfg_missing")


def test_missing_or_invalid_index_is_empty(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="stix_lib.conf.ecc"):
        assert EccConfigIndex(tmp_path).configurations == []
    assert f"no ECC configuration index at {tmp_path / 'ecc_conf_index.json'}" in caplog.text
    (tmp_path / "ecc_conf_index.json").write_text("[{broken")
    with caplog.at_level(logging.ERROR, logger="stix_lib.conf.ecc"):
        index = EccConfigIndex(tmp_path)
    assert index.configurations == [] and index.find("2020-01-01") is None
    assert "is not valid JSON" in caplog.text


def test_context_copies_config_parses_post_ecc_and_cleans_up(ecc_dir: Path, tmp_path: Path) -> None:
    index = EccConfigIndex(ecc_dir)
    with index.context(datetime(2020, 5, 6), tmp_root=tmp_path) as ctx:
        assert ctx.name == "ecc_cfg_1"
        assert ctx.path.parent == tmp_path
        assert sorted(p.name for p in ctx.path.iterdir()) == sorted(p.name for p in (ecc_dir / "ecc_cfg_1").iterdir())
        assert ctx.post.max_gain_prime == 1.4 and ctx.post.min_gain_prime == 0.4 and ctx.post.min_gain == 0.4
        assert ctx.post.ignore_max_gain_prime == {(30, 5), (30, 6)}
        assert ctx.post.ignore_min_gain == {(30, 5), (30, 6)}
        # the programs write into the context even though STIX-CONF is read-only
        (ctx.path / "ECC_para.fits").write_bytes(b"x")
        (ctx.path / "ECC.cfg").write_text("changed")
        work = ctx.path
    assert not work.exists()
    assert (ecc_dir / "ecc_cfg_1" / "ECC.cfg").read_text() != "changed"


def test_context_is_removed_when_the_body_raises(two_configs: Path, tmp_path: Path) -> None:
    index = EccConfigIndex(two_configs)
    seen: list[Path] = []
    with pytest.raises(RuntimeError, match="boom"):
        with index.context("2022-01-01T00:00:00", tmp_root=tmp_path) as ctx:
            seen.append(ctx.path)
            assert ctx.post.max_gain_prime == 1.2 and ctx.post.ignore_min_gain == {(1, 2)}
            raise RuntimeError("boom")
    assert seen and not seen[0].exists()
    assert list(tmp_path.iterdir()) == [two_configs]


def test_context_errors(two_configs: Path, tmp_path: Path) -> None:
    index = EccConfigIndex(two_configs)
    with pytest.raises(EccConfigError, match=r"No ECC configuration for 1999-01-01 in .*ecc_conf_index.json"):
        with index.context("1999-01-01", tmp_root=tmp_path):
            pass
    with pytest.raises(EccConfigError, match=r"ECC configuration folder .*cfg_missing does not exist"):
        with index.context("2031-06-01T00:00:00", tmp_root=tmp_path):
            pass
    assert list(tmp_path.iterdir()) == [two_configs]


def test_post_ecc_defaults_and_bad_values(tmp_path: Path) -> None:
    defaults = read_post_ecc(tmp_path / "post_ecc.ini")
    assert (defaults.max_gain_prime, defaults.min_gain_prime, defaults.min_gain) == (1.4, 0.4, 0.4)
    (tmp_path / "post_ecc.ini").write_text("[DEFAULT]\nIgnore_Min_Gain_Det_Pix_List = [[30]]\n")
    with pytest.raises(EccConfigError, match="Ignore_Min_Gain_Det_Pix_List is not a list of"):
        read_post_ecc(tmp_path / "post_ecc.ini")
