"""The publishing library and its CLI never import Airflow (and import nothing heavy at import time)."""

from __future__ import annotations

import subprocess
import sys


def test_publish_and_ridlut_do_not_import_airflow() -> None:
    code = (
        "import sys, stix_lib.publish, stix_lib.ridlut, stix_lib.cli.publish_cmd; "
        "import stix_lib.publish.request, stix_lib.publish.runner, stix_lib.ridlut.refresh; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in {'airflow', 'paramiko', 'aiosmtpd'}))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    assert done.stdout.strip() == "[]"  # paramiko is imported only when an SFTP target is opened
