"""A local RID API (http.server on 127.0.0.1 in a thread) answering from fixture rows."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from ridlut_support import RidApi


@pytest.fixture
def rid_api() -> Iterator[RidApi]:
    from stix_ops.dev.localservices import TextHttpServer

    api = RidApi()
    server = TextHttpServer(api.answer).start()
    api.url = f"{server.url}/api/bsd/info/"
    yield api
    server.stop()
