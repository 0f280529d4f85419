from datetime import timedelta
from pathlib import Path

import pytest

from stix_lib.settings import FOLDER_DEFAULTS, SettingsError, format_duration, load_settings, parse_duration


def test_defaults_derive_folders_from_data_root():
    s = load_settings(environ={})
    assert s.data_root == Path("stix-data-root")
    assert s.soc_incoming_dir == Path("stix-data-root/SOLSOC/from_edds/tm/incoming")
    assert s.soc_processing_dir == Path("stix-data-root/SOLSOC/from_edds/tm/processing")
    assert s.reference_data == Path("../shared/stix-data")
    assert s.staging_delay == timedelta(days=2)
    assert s.pipeline_db_url.startswith("sqlite:///") and s.pipeline_db_url.endswith("stix-data-root/pipeline.sqlite")
    assert set(s.folders()) == set(FOLDER_DEFAULTS)


def test_file_then_environment_override(tmp_path):
    cfg = tmp_path / "stix.toml"
    cfg.write_text('[paths]\ndata_root = "/data/stix"\nspice_dir = "/kernels"\n[timing]\nstaging_delay = "90min"\n')
    env = {"STIX_STAGING_DELAY": "0", "STIX_ALERT_TO": "a@x.org, b@y.org", "STIX_TM_SOURCE_LOCAL": "yes"}
    s = load_settings(cfg, environ=env)
    assert s.data_root == Path("/data/stix")
    assert s.spice_dir == Path("/kernels")
    assert s.fits_archive_dir == Path("/data/stix/fits")
    assert s.staging_delay == timedelta(0)
    assert s.alert_to == ("a@x.org", "b@y.org")
    assert s.tm_source_local is True
    assert s.sources == ("defaults", str(cfg), "$STIX_TM_SOURCE_LOCAL", "$STIX_STAGING_DELAY", "$STIX_ALERT_TO")


def test_config_file_from_environment(tmp_path):
    cfg = tmp_path / "c.toml"
    cfg.write_text("publish_batch_size = 50\n")
    assert load_settings(environ={"STIX_CONFIG": str(cfg)}).publish_batch_size == 50


@pytest.mark.parametrize(
    ("content", "message"),
    [("bogus_key = 1\n", r"unknown setting\(s\) bogus_key"), ("data_root = [\n", "not valid TOML")],
)
def test_bad_file_names_file_and_reason(tmp_path, content, message):
    cfg = tmp_path / "bad.toml"
    cfg.write_text(content)
    with pytest.raises(SettingsError, match=message) as err:
        load_settings(cfg, environ={})
    assert str(cfg) in str(err.value)


def test_bad_environment_value_names_variable():
    with pytest.raises(SettingsError, match=r"staging_delay.*\$STIX_STAGING_DELAY.*not a duration"):
        load_settings(environ={"STIX_STAGING_DELAY": "soon"})


@pytest.mark.parametrize(
    ("text", "seconds"), [("2d", 172800), ("90min", 5400), ("30s", 30), ("1.5h", 5400), ("45", 45), (12, 12)]
)
def test_durations_round_trip(text, seconds):
    value = parse_duration(text)
    assert value.total_seconds() == seconds
    assert parse_duration(format_duration(value)) == value


def test_cli_config_json(capsys, tmp_path, monkeypatch):
    import json

    from stix_lib.cli.main import main

    monkeypatch.setenv("STIX_DATA_ROOT", str(tmp_path))
    assert main(["config", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["settings"]["quarantine_dir"] == str(tmp_path / "quarantine")
    assert data["settings"]["staging_delay"] == "2d"


def test_cli_config_check_ssh_dir(capsys, tmp_path, monkeypatch):
    import subprocess

    from stix_lib.cli.main import main

    monkeypatch.setenv("STIX_DATA_ROOT", str(tmp_path))
    ssh = tmp_path / "ssh"
    ssh.mkdir()
    key = ssh / "id_ed25519"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True, timeout=60)
    known = ssh / "known_hosts"
    known.write_text("[127.0.0.1]:2222 ssh-ed25519 AAAA\n")
    known.chmod(0o644)
    assert main(["config", "--check-ssh-dir", str(ssh)]) == 0
    assert "SSH key permissions ok" in capsys.readouterr().out

    key.chmod(0o640)
    known.chmod(0o666)
    assert main(["config", "--check-ssh-dir", str(ssh)]) == 1
    errors = capsys.readouterr().out.splitlines()
    assert errors == [
        f"ERROR: {key}: private key accessible by group/others (mode 0640); chmod 600 it",
        f"ERROR: {known}: writable by group/others (mode 0666); chmod go-w it",
    ]
    assert main(["config", "--check-ssh-dir", str(tmp_path / "missing")]) == 1
    assert capsys.readouterr().out.strip() == f"ERROR: {tmp_path / 'missing'}: not a directory"
    key.chmod(0o600)
    known.chmod(0o644)
    assert main(["config", "--check-ssh-dir", str(ssh), "--owner-uid", "4242"]) == 1
    assert (
        capsys.readouterr().out.strip()
        == f"ERROR: {key}: private key owned by uid {key.stat().st_uid}, not by the pipeline user 4242"
    )


def test_passwords_in_urls_are_masked_in_the_config_output(capsys, tmp_path, monkeypatch):
    from stix_lib.cli.main import main
    from stix_lib.settings import mask_url_password

    secret = "s3cr3t-Pw_42"
    monkeypatch.setenv("STIX_DATA_ROOT", str(tmp_path))
    monkeypatch.setenv("STIX_PIPELINE_DB_URL", f"postgresql+psycopg2://stix:{secret}@db.example:5432/stix_pipeline")
    monkeypatch.setenv("STIX_CONF_REPO_URL", f"https://ci-bot:{secret}@github.com/i4Ds/STIX-CONF.git")
    for args in (["config"], ["config", "--json"]):
        assert main(args) == 0
        out = capsys.readouterr().out
        assert secret not in out
        assert "postgresql+psycopg2://stix:***@db.example:5432/stix_pipeline" in out
        assert "https://ci-bot:***@github.com/i4Ds/STIX-CONF.git" in out
    assert mask_url_password("sqlite:////data/pipeline.sqlite") == "sqlite:////data/pipeline.sqlite"
    assert mask_url_password("http://127.0.0.1:8080/api/v2") == "http://127.0.0.1:8080/api/v2"


def test_replace_data_root_moves_every_derived_folder(tmp_path):
    old, new = tmp_path / "old", tmp_path / "new"
    s = load_settings(environ={}, data_root=old, spice_dir=tmp_path / "kernels", conf_public_dir="www/conf")
    moved = s.replace(data_root=new)
    for name in FOLDER_DEFAULTS:
        expected = tmp_path / "kernels" if name == "spice_dir" else new / FOLDER_DEFAULTS[name]
        assert getattr(moved, name) == expected, name
    assert moved.rid_lut_file == new / "publish" / "rid_lut.csv"
    assert moved.conf_public_dir == new / "www" / "conf"
    assert moved.pipeline_db_url == f"sqlite:///{(new / 'pipeline.sqlite').absolute()}"
    # an explicit value given with the new root wins; the same root changes nothing
    assert s.replace(data_root=new, log_dir=tmp_path / "logs").log_dir == tmp_path / "logs"
    assert s.replace(data_root=old) == s
    # values set explicitly survive a second move
    assert moved.replace(data_root=old).spice_dir == tmp_path / "kernels"
    assert moved.replace(data_root=old) == s
