"""The settings added for ingest, staging, SPICE/STIX-CONF sync and transfers: defaults and overrides."""

from __future__ import annotations

from datetime import timedelta

import pytest


def test_documented_defaults():
    from stix_lib.settings import load_settings

    cfg = load_settings(environ={})
    assert cfg.staging_delay == timedelta(days=2)  # runbook: 2 days
    assert cfg.tm_settle_time == timedelta(hours=1)
    assert (cfg.from_soc_source, cfg.from_soc_source_local) == ("/home/solsoc/from_soc", False)
    assert cfg.spice_zip_pattern == "solo_ANC*20*zip"
    assert cfg.conf_repo_url == "https://github.com/i4Ds/STIX-CONF.git"
    assert (cfg.transfer_timeout, cfg.transfer_io_timeout, cfg.ssh_connect_timeout) == (
        timedelta(hours=1), timedelta(minutes=5), timedelta(seconds=30)
    )  # fmt: skip
    for name in ("tm_settle_time", "from_soc_source", "spice_zip_pattern", "conf_repo_url", "transfer_timeout"):
        assert f"    {name}\n" in type(cfg).__doc__, f"{name} is not documented"


def test_environment_overrides():
    from stix_lib.settings import SettingsError, load_settings

    env = {
        "STIX_STAGING_DELAY": "0",
        "STIX_TM_SETTLE_TIME": "90s",
        "STIX_FROM_SOC_SOURCE": "/srv/from_soc",
        "STIX_FROM_SOC_SOURCE_LOCAL": "yes",
        "STIX_CONF_REPO_URL": "/srv/git/STIX-CONF.git",
        "STIX_SSH_CONNECT_TIMEOUT": "10s",
    }
    cfg = load_settings(environ=env)
    assert cfg.staging_delay == timedelta(0) and cfg.tm_settle_time == timedelta(seconds=90)
    assert (cfg.from_soc_source, cfg.from_soc_source_local) == ("/srv/from_soc", True)
    assert cfg.conf_repo_url == "/srv/git/STIX-CONF.git" and cfg.ssh_connect_timeout == timedelta(seconds=10)
    with pytest.raises(SettingsError, match="tm_settle_time"):
        load_settings(environ={"STIX_TM_SETTLE_TIME": "soon"})
