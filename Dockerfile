# STIX ground pipeline image: official Apache Airflow 3.3.2 (Python 3.11) + our pinned dependency lock
# + the stix_lib package + dags/ and plugins/. Used by every Airflow service of docker-compose.yaml.
#
#   docker compose build            (or: docker build -t stix-airflow:latest .)
#
# Follows https://airflow.apache.org/docs/docker-stack/build.html: OS packages as root, Python
# packages as the `airflow` user (the image installs into ~airflow/.local and refuses root pip).
FROM apache/airflow:3.3.2-python3.11

# ---------------------------------------------------------------------------------------------------
# OS packages: rsync + ssh for telemetry ingest / SOAR / NAS transfers (stix_lib.transfer.rsync),
# git for the STIX-CONF checkout, unzip for SPICE kernel archives.
# ---------------------------------------------------------------------------------------------------
USER root
RUN apt-get update \
    && apt-get install -y --no-install-recommends rsync openssh-client git unzip \
    && apt-get autoremove -yqq --purge \
    && apt-get clean \
    && rm -rf /var/lib/apt/lists/*

# OpenSSH client defaults for ad-hoc ssh/git/rsync: host keys are pinned in the read-only mount
# /opt/airflow/secrets/ssh (docker-compose: ${STIX_SSH_DIR}); unknown hosts are refused.
# (stix_lib.transfer.rsync passes its own explicit -o options and does not depend on this.)
RUN printf '%s\n' \
        'Host *' \
        '    StrictHostKeyChecking yes' \
        '    UserKnownHostsFile /opt/airflow/secrets/ssh/known_hosts' \
        '    IdentityFile /opt/airflow/secrets/ssh/id_ed25519' \
        '    IdentityFile /opt/airflow/secrets/ssh/id_rsa' \
        > /etc/ssh/ssh_config.d/stix.conf

USER airflow

# paramiko (Airflow SSHHook/SFTPHook) only loads ~/.ssh/known_hosts: point it at the mounted file.
# Group 0 may read it, so the image also works with an arbitrary AIRFLOW_UID (always run with GID 0).
RUN mkdir -p /home/airflow/.ssh \
    && chmod 0750 /home/airflow/.ssh \
    && ln -sfn /opt/airflow/secrets/ssh/known_hosts /home/airflow/.ssh/known_hosts

# ---------------------------------------------------------------------------------------------------
# Python dependencies. requirements.txt is the complete pinned lock (incl. apache-airflow==3.3.2), so
# the Airflow already in the image stays at exactly that version; it is copied alone first so that
# this slow layer is rebuilt only when the lock changes.
#
# Auth manager: docker-compose.yaml uses FabAuthManager (SimpleAuthManager is for development only);
# apache-airflow-providers-fab is pinned in the lock like everything else. Never uninstall it.
# ---------------------------------------------------------------------------------------------------
COPY --chown=airflow:0 requirements.txt /tmp/stix-build/requirements.txt
RUN pip install --no-cache-dir -r /tmp/stix-build/requirements.txt \
    && python -c "from importlib.metadata import version as v; \
assert v('apache-airflow') == '3.3.2', v('apache-airflow'); \
print('apache-airflow', v('apache-airflow'), '/ providers-fab', v('apache-airflow-providers-fab'))"

# The stix_lib package (console script `stix-pipeline`). Its dependencies are already installed from
# the lock above, hence --no-deps: the lock alone decides every version in the image.
COPY --chown=airflow:0 pyproject.toml /tmp/stix-build/src/pyproject.toml
COPY --chown=airflow:0 stix_lib /tmp/stix-build/src/stix_lib
RUN pip install --no-cache-dir --no-deps /tmp/stix-build/src \
    && rm -rf /tmp/stix-build \
    && stix-pipeline --version

# DAGs and plugins are baked into the image (immutable deployments; plugins/ is on sys.path of every
# Airflow process, so `import stix_ops` works in workers, triggerer and dag-processor).
COPY --chown=airflow:0 dags/ /opt/airflow/dags/
COPY --chown=airflow:0 plugins/ /opt/airflow/plugins/

# Default for `docker run` outside compose; docker-compose.yaml sets the full STIX_* environment.
ENV STIX_DATA_ROOT=/data/stix
