"""STIX-CONF sync against a local git repository with several tags built from the shared snapshot."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pendulum
import pytest


class ConfRepo:
    """A STIX-CONF-like upstream repository: commits with increasing dates, some tagged."""

    def __init__(self, root: Path, snapshot: Path) -> None:
        self.root = root
        self.day = 0
        shutil.copytree(snapshot, root)
        for path in [root, *root.rglob("*")]:
            path.chmod(0o755 if path.is_dir() else 0o644)  # the shared snapshot is read-only
        self.git("init", "-q", "-b", "main")
        self.tags: dict[str, str] = {}

    def git(self, *args: str) -> str:
        # distinct, increasing commit dates: `git rev-list --tags` orders by them
        stamp = f"2024-01-{self.day + 1:02d}T12:00:00+00:00"
        env = {
            **os.environ,
            "GIT_AUTHOR_NAME": "STIX", "GIT_AUTHOR_EMAIL": "stix@example.org", "GIT_AUTHOR_DATE": stamp,
            "GIT_COMMITTER_NAME": "STIX", "GIT_COMMITTER_EMAIL": "stix@example.org", "GIT_COMMITTER_DATE": stamp,
        }  # fmt: skip
        done = subprocess.run(["git", *args], cwd=self.root, env=env, capture_output=True, text=True, check=True)
        return done.stdout.strip()

    def commit(self, message: str, change: str | None = None, tag: str | None = None, annotated: bool = False) -> str:
        if change is not None:
            with (self.root / "README.md").open("a") as out:
                out.write(f"\n{change}\n")
        self.day += 1
        self.git("add", "-A")
        self.git("commit", "-q", "-m", message)
        sha = self.git("rev-parse", "HEAD")
        if tag:
            self.git("tag", *(["-a", "-m", f"release {tag}"] if annotated else []), tag)
            self.tags[tag] = sha
        return sha


@pytest.fixture
def upstream(tmp_path: Path, reference_data: Path, monkeypatch) -> ConfRepo:
    """v0.1.8, v0.1.9, v0.1.10 (annotated) and a newer untagged commit (as STIX-CONF's HEAD after v0.1.10)."""
    repo = ConfRepo(tmp_path / "upstream" / "STIX-CONF", reference_data / "stix-conf")
    repo.commit("v0.1.8 release", tag="v0.1.8")
    repo.commit("ELUT update", change="release 0.1.9", tag="v0.1.9")
    repo.commit("ECC update", change="release 0.1.10", tag="v0.1.10", annotated=True)
    repo.commit("new ELUT, not released", change="UNRELEASED CHANGE")
    monkeypatch.setenv("STIX_CONF_REPO_URL", str(repo.root))
    return repo


def _head(conf_dir: Path) -> str:
    return subprocess.run(["git", "rev-parse", "HEAD"], cwd=conf_dir, capture_output=True, text=True).stdout.strip()


@pytest.mark.airflow
def test_conf_sync_dag_clones_and_checks_out_the_newest_tag(dagbag, settings, upstream, reference_data):
    from airflow.utils.state import DagRunState

    from stix_lib.db import connect
    from stix_lib.stages.conf_sync import current_conf_version, recorded_versions

    assert settings.conf_dir.is_dir() and not any(settings.conf_dir.iterdir())  # empty: cloned into
    run = dagbag.get_dag("stix_conf_sync").test(logical_date=pendulum.datetime(2026, 5, 1, tz="UTC"))
    assert run.state == DagRunState.SUCCESS

    conf = settings.conf_dir
    assert (conf / "VERSION.TXT").read_text() == "v0.1.10\n"  # the lexically largest tag would be v0.1.9
    assert _head(conf) == upstream.tags["v0.1.10"]
    readme = (conf / "README.md").read_text()
    assert "release 0.1.10" in readme and "UNRELEASED CHANGE" not in readme
    assert (conf / "elut").is_dir() and sorted(p.name for p in (conf / "elut").iterdir()) == sorted(
        p.name for p in (reference_data / "stix-conf" / "elut").iterdir()
    )
    assert recorded_versions(connect(settings.pipeline_db_url)) == [("v0.1.10", upstream.tags["v0.1.10"])]
    assert current_conf_version(conf) == "v0.1.10"
    assert [p.name for p in conf.parent.iterdir() if p.name.startswith(".STIX-CONF-clone-")] == []


@pytest.mark.airflow
def test_public_copy_in_the_web_folder_follows_the_newest_tag(dagbag, settings, upstream, tmp_path, monkeypatch):
    """Runbook C4a: the public copy (setting conf_public_dir) is brought to the same tag by the same DAG."""
    from airflow.utils.state import DagRunState

    from stix_lib.db import connect
    from stix_lib.stages.conf_sync import recorded_versions

    dag = dagbag.get_dag("stix_conf_sync")
    run = dag.test(logical_date=pendulum.datetime(2026, 5, 1, tz="UTC"))
    states = {ti.task_id: ti.state for ti in run.get_task_instances()}
    assert states == {"sync_conf": "success", "sync_public_conf": "skipped"}  # no public copy configured

    public = tmp_path / "www" / "data" / "STIX-CONF"
    monkeypatch.setenv("STIX_CONF_PUBLIC_DIR", str(public))
    upstream.commit("v0.1.11 release", change="release 0.1.11", tag="v0.1.11")
    run = dag.test(logical_date=pendulum.datetime(2026, 5, 1, 4, 10, tz="UTC"))
    assert run.state == DagRunState.SUCCESS
    for copy in (settings.conf_dir, public):
        assert (copy / "VERSION.TXT").read_text() == "v0.1.11\n"
        assert _head(copy) == upstream.tags["v0.1.11"]
    assert "release 0.1.11" in (public / "README.md").read_text()
    # the version processing uses is recorded by the pipeline copy only
    assert [v for v, _ in recorded_versions(connect(settings.pipeline_db_url))] == ["v0.1.10", "v0.1.11"]


def test_new_tag_is_picked_up_and_recorded_once(settings, upstream):
    from stix_lib.db import connect
    from stix_lib.stages.conf_sync import recorded_versions, sync_conf

    engine = connect(settings.pipeline_db_url)
    first = sync_conf(settings.conf_dir, str(upstream.root), engine)
    assert (first.version, first.cloned, first.recorded, first.previous) == ("v0.1.10", True, True, None)
    upstream.commit("v0.1.11 release", change="release 0.1.11", tag="v0.1.11")
    second = sync_conf(settings.conf_dir, str(upstream.root), engine)
    assert (second.version, second.previous, second.changed, second.cloned) == ("v0.1.11", "v0.1.10", True, False)
    assert _head(settings.conf_dir) == upstream.tags["v0.1.11"]
    assert "UNRELEASED CHANGE" in (settings.conf_dir / "README.md").read_text()  # now part of a release
    third = sync_conf(settings.conf_dir, str(upstream.root), engine)
    assert (third.changed, third.recorded) == (False, False)
    assert recorded_versions(engine) == [("v0.1.10", upstream.tags["v0.1.10"]), ("v0.1.11", upstream.tags["v0.1.11"])]


def test_most_recently_tagged_commit_wins_not_the_highest_version(settings, upstream):
    from stix_lib.stages.conf_sync import sync_conf

    upstream.commit("backport", change="backport", tag="v0.0.9-backport")
    result = sync_conf(settings.conf_dir, str(upstream.root))
    assert result.version == "v0.0.9-backport"
    assert _head(settings.conf_dir) == upstream.tags["v0.0.9-backport"]


def test_failed_checkout_leaves_version_and_db_unchanged(settings, upstream):
    from stix_lib.db import connect
    from stix_lib.stages.conf_sync import ConfSyncError, recorded_versions, sync_conf

    engine = connect(settings.pipeline_db_url)
    sync_conf(settings.conf_dir, str(upstream.root), engine)
    upstream.commit("v0.1.11 release", change="release 0.1.11", tag="v0.1.11")
    (settings.conf_dir / "README.md").write_text("edited by hand on the server\n")  # conflicts with the checkout
    with pytest.raises(ConfSyncError, match=r"git .*checkout .*v0\.1\.11 failed .*README\.md"):
        sync_conf(settings.conf_dir, str(upstream.root), engine)
    assert (settings.conf_dir / "VERSION.TXT").read_text() == "v0.1.10\n"
    assert _head(settings.conf_dir) == upstream.tags["v0.1.10"]
    assert recorded_versions(engine) == [("v0.1.10", upstream.tags["v0.1.10"])]


def test_refuses_a_folder_that_is_not_a_working_copy(settings, upstream):
    from stix_lib.stages.conf_sync import ConfSyncError, sync_conf

    (settings.conf_dir / "elut.csv").write_text("precious")
    with pytest.raises(ConfSyncError, match="not a git working copy"):
        sync_conf(settings.conf_dir, str(upstream.root))
    assert sorted(p.name for p in settings.conf_dir.iterdir()) == ["elut.csv"]


def test_repository_without_tags_is_an_error(settings, tmp_path, reference_data):
    from stix_lib.stages.conf_sync import ConfSyncError, sync_conf

    repo = ConfRepo(tmp_path / "untagged", reference_data / "stix-conf")
    repo.commit("initial")
    with pytest.raises(ConfSyncError, match="has no tags"):
        sync_conf(settings.conf_dir, str(repo.root))
    assert not (settings.conf_dir / "VERSION.TXT").exists()


def test_current_conf_version_fallbacks(settings, upstream, tmp_path):
    from stix_lib.stages.conf_sync import UNKNOWN_VERSION, current_conf_version, sync_conf

    sync_conf(settings.conf_dir, str(upstream.root))
    (settings.conf_dir / "VERSION.TXT").write_text("v0.1.10\nsecond line ignored\n")
    assert current_conf_version(settings.conf_dir) == "v0.1.10"
    (settings.conf_dir / "VERSION.TXT").unlink()
    assert current_conf_version(settings.conf_dir) == "v0.1.10"  # git describe of the checkout
    assert current_conf_version(tmp_path / "nowhere") == UNKNOWN_VERSION
