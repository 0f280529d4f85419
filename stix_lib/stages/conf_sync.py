"""STIX-CONF sync (runbook cron C4): check out the most recently tagged commit, record its version.

The cron job ran, in the working copy,
``git fetch --tags && latestTag=$(git describe --tags $(git rev-list --tags --max-count=1)) &&
git checkout $latestTag; echo $latestTag > VERSION.TXT``: the tag of the **most recent tagged
commit** (``rev-list`` order, i.e. commit date; not the highest version number), untagged newer
commits ignored. Because of the ``;`` it wrote ``VERSION.TXT`` even when the checkout failed.

:func:`sync_conf` does the same with the failure cases closed: it clones ``conf_repo_url`` when
the working copy is missing (into a temporary folder next to it, then renamed), fetches tags,
checks the tag out, verifies ``HEAD`` is the tagged commit, and only then writes ``VERSION.TXT``
(temp file + rename) and records ``(version, commit)`` in the ``conf_versions`` table when it
differs from the last recorded one. Any git failure raises :class:`ConfSyncError` with git's
message and leaves ``VERSION.TXT`` as it was.

Processing reads the version per run with :func:`current_conf_version`. The public copy (runbook
cron C4a, ``/var/www/data/STIX-CONF``) is a second working copy brought to the same tag by
:func:`sync_public_copy`.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Engine, select

from stix_lib.atomic import atomic_write_text
from stix_lib.db.schema import conf_versions
from stix_lib.lb.header import CONF_VERSION_FALLBACK

log = logging.getLogger(__name__)

VERSION_FILE = "VERSION.TXT"
#: What :func:`current_conf_version` returns when no version can be determined (``VERS_CFG``
#: fallback of STIXCore, processing spec §6.2).
UNKNOWN_VERSION = CONF_VERSION_FALLBACK
GIT_TIMEOUT = 600


class ConfSyncError(RuntimeError):
    """A git step of the STIX-CONF sync failed; the message has the command and git's output."""


@dataclass(frozen=True)
class ConfSyncResult:
    """Outcome of one sync.

    Attributes
    ----------
    version
        Tag checked out (written to ``VERSION.TXT``).
    commit
        Its commit id.
    previous
        ``VERSION.TXT`` before the sync (``None`` if there was none).
    cloned
        The working copy was created by this sync.
    recorded
        A new row was added to ``conf_versions``.
    """

    version: str
    commit: str
    previous: str | None
    cloned: bool
    recorded: bool

    @property
    def changed(self) -> bool:
        """Whether the checked-out version differs from the one before."""
        return self.version != self.previous


def _git(*args: str, cwd: Path | None = None, timeout: int = GIT_TIMEOUT) -> str:
    env = {**os.environ, "GIT_TERMINAL_PROMPT": "0", "LC_ALL": "C"}
    command = ["git", *args]
    try:
        done = subprocess.run(
            command, cwd=cwd, capture_output=True, text=True, timeout=timeout, check=False, env=env
        )
    except subprocess.TimeoutExpired as exc:
        raise ConfSyncError(f"git {' '.join(args)} timed out after {timeout} s (in {cwd})") from exc
    if done.returncode != 0:
        output = (done.stderr.strip() or done.stdout.strip()).replace("\n", " | ")
        raise ConfSyncError(f"git {' '.join(args)} failed ({done.returncode}) in {cwd}: {output}")
    return done.stdout.strip()


def _read_version(conf_dir: Path) -> str | None:
    try:
        lines = (Path(conf_dir) / VERSION_FILE).read_text(encoding="utf-8").splitlines()
    except (FileNotFoundError, NotADirectoryError):
        return None
    first = lines[0].strip() if lines else ""
    return first or None


def clone(repo_url: str, conf_dir: Path) -> None:
    """Clone ``repo_url`` into ``conf_dir`` (through a temporary folder next to it and a rename)."""
    conf_dir = Path(conf_dir)
    conf_dir.parent.mkdir(parents=True, exist_ok=True)
    temp = Path(tempfile.mkdtemp(prefix=f".{conf_dir.name}-clone-", dir=conf_dir.parent))
    try:
        _git("clone", "--quiet", "--no-checkout", repo_url, str(temp / "repo"), cwd=conf_dir.parent)
        os.replace(temp / "repo", conf_dir)
    finally:
        shutil.rmtree(temp, ignore_errors=True)


def latest_tag(conf_dir: Path) -> tuple[str, str]:
    """The runbook's rule: tag of ``git rev-list --tags --max-count=1`` → ``(tag, commit)``.

    Raises
    ------
    ConfSyncError
        The repository has no tags.
    """
    commit = _git("rev-list", "--tags", "--max-count=1", cwd=conf_dir)
    if not commit:
        raise ConfSyncError(f"{conf_dir}: the repository has no tags")
    tag = _git("describe", "--tags", commit, cwd=conf_dir)
    return tag, commit


def record_version(engine: Engine, version: str, commit: str) -> bool:
    """Add ``(version, commit)`` to ``conf_versions`` unless it is the last recorded one."""
    with engine.begin() as conn:
        last = conn.execute(
            select(conf_versions.c.version, conf_versions.c.commit).order_by(conf_versions.c.id.desc()).limit(1)
        ).first()
        if last is not None and (last.version, last.commit) == (version, commit):
            return False
        conn.execute(conf_versions.insert().values(version=version, commit=commit, recorded_at=datetime.now(UTC)))
    return True


def recorded_versions(engine: Engine) -> list[tuple[str, str]]:
    """All recorded ``(version, commit)``, oldest first."""
    with engine.connect() as conn:
        rows = conn.execute(select(conf_versions.c.version, conf_versions.c.commit).order_by(conf_versions.c.id))
        return [(row.version, row.commit) for row in rows]


def sync_conf(conf_dir: Path, repo_url: str, engine: Engine | None = None) -> ConfSyncResult:
    """Bring the STIX-CONF working copy to the most recent tag (see the module docstring).

    Parameters
    ----------
    conf_dir
        The working copy (cloned when missing or an empty folder).
    repo_url
        Remote to clone from when the working copy is missing.
    engine
        Pipeline database to record the version in (skipped when None).

    Returns
    -------
    ConfSyncResult

    Raises
    ------
    ConfSyncError
        ``conf_dir`` exists but is not a git working copy, or any git step failed (the message
        names it); ``VERSION.TXT`` and the database are left unchanged.
    """
    conf_dir = Path(conf_dir)
    cloned = False
    if not conf_dir.exists() or (conf_dir.is_dir() and not any(conf_dir.iterdir())):
        if conf_dir.exists():
            conf_dir.rmdir()
        log.info("cloning %s into %s", repo_url, conf_dir)
        clone(repo_url, conf_dir)
        cloned = True
    elif not (conf_dir / ".git").exists():
        raise ConfSyncError(f"{conf_dir} exists but is not a git working copy (no .git); not touching it")
    previous = _read_version(conf_dir)
    _git("fetch", "--quiet", "--tags", "--force", cwd=conf_dir)
    tag, commit = latest_tag(conf_dir)
    _git("-c", "advice.detachedHead=false", "checkout", "--quiet", f"refs/tags/{tag}", cwd=conf_dir)
    head = _git("rev-parse", "HEAD", cwd=conf_dir)
    if head != commit:
        raise ConfSyncError(f"{conf_dir}: HEAD is {head} after checking out {tag}, expected {commit}")
    atomic_write_text(conf_dir / VERSION_FILE, tag + "\n")
    recorded = record_version(engine, tag, commit) if engine is not None else False
    if tag != previous:
        log.info("STIX-CONF %s -> %s (%s)", previous, tag, commit)
    return ConfSyncResult(tag, commit, previous, cloned, recorded)


def sync_public_copy(public_dir: Path, repo_url: str) -> ConfSyncResult:
    """Bring the public STIX-CONF copy to the most recent tag (runbook cron C4a, the web folder).

    The same steps as :func:`sync_conf` in its own working copy (cloned when missing), without
    recording a version: what processing uses is recorded by the pipeline copy only.

    Parameters
    ----------
    public_dir
        The public working copy (setting ``conf_public_dir``).
    repo_url
        Remote to clone from when it is missing.

    Raises
    ------
    ConfSyncError
        As :func:`sync_conf`.
    """
    Path(public_dir).parent.mkdir(parents=True, exist_ok=True)
    return sync_conf(public_dir, repo_url, engine=None)


def current_conf_version(conf_dir: Path) -> str:
    """The STIX-CONF version processing should stamp into its products.

    Parameters
    ----------
    conf_dir
        The working copy.

    Returns
    -------
    str
        The first line of ``VERSION.TXT`` (written by :func:`sync_conf`). Fallback when that file is
        missing or empty: ``git describe --tags --always`` of the checked-out commit (so a
        hand-made checkout still reports something traceable); when that fails too (no git
        working copy), :data:`UNKNOWN_VERSION`.
    """
    version = _read_version(Path(conf_dir))
    if version:
        return version
    try:
        if not (Path(conf_dir) / ".git").exists():  # never describe an enclosing repository
            raise ConfSyncError(f"{conf_dir} is not a git working copy")
        described = _git("describe", "--tags", "--always", cwd=Path(conf_dir), timeout=60)
    except (ConfSyncError, OSError):
        log.warning("STIX-CONF at %s has no %s and is no git working copy: version unknown", conf_dir, VERSION_FILE)
        return UNKNOWN_VERSION
    log.warning("STIX-CONF at %s has no %s: using git describe (%s)", conf_dir, VERSION_FILE, described)
    return described or UNKNOWN_VERSION
