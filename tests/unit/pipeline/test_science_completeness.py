"""A science request missing one middle packet (issue 16 item 6).

It must be reported incomplete (no L0/L1), the other requests of the delivery must be made as in a
clean run, and when the full delivery arrives the request's L0/L1 are written (also over a wrong
product an earlier, more lenient run left behind) and equal the clean run's.
"""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np
import pytest

from stix_lib.tm.headers import apid
from tests.support.robustness_support import (
    assert_products_equal,
    products,
    read_elements,
    run_pipeline,
    with_apid,
    with_count,
    with_extra_packets,
    with_time,
)

#: SSID of the request damaged (x-ray compaction level 1, ``sci-xray-cpd``).
SSID = 21


@pytest.fixture(scope="module")
def science(corpus, tmp_path_factory):
    """The science delivery, its clean products, and a copy without one middle packet of a request."""
    from stix_lib.decode.classify import classify_packets
    from stix_lib.idb.manager import IDBManager

    root = tmp_path_factory.mktemp("science")
    clean = root / "clean"
    run = run_pipeline(corpus.settings, clean, [corpus.science])
    assert all(r.status == "ok" for r in run.files), [r.to_dict() for r in run.files if r.status != "ok"]
    text = corpus.science.read_text()
    elements = read_elements(corpus.science)
    packets = [p for _, _, p in elements]
    index = classify_packets(packets, IDBManager(corpus.settings.idb_dir))
    members = [i for i in range(len(packets)) if index.ssid[i] == SSID and apid(index.headers[i : i + 1])[0] == 1468]
    assert len(members) >= 5
    lost = members[len(members) // 2]
    packet_id = elements[lost][0]
    start = text.index(f'<PktRawResponseElement packetID="{packet_id}">')
    end = text.index("</PktRawResponseElement>", start) + len("</PktRawResponseElement>")
    damaged = root / "science_gap.PktTmRaw.xml"
    damaged.write_text(text[:start] + text[end:])
    return {"clean": clean, "damaged": damaged, "count": int(index.headers["sequence_count"][lost])}


def _request_products(archive: Path, clean: Path) -> list[str]:
    """Science L0/L1 products of the damaged request (per-request names ending in the request id)."""
    return sorted(n for n in products(clean) if n.startswith(("L0", "L1")) and "-cpd_" in n)


def test_one_missing_packet_is_reported_and_completed_by_the_full_delivery(corpus, science, tmp_path) -> None:
    archive = tmp_path / "fits"
    run = run_pipeline(corpus.settings, archive, [science["damaged"]])
    request_files = _request_products(archive, science["clean"])
    assert request_files
    got = products(archive)
    assert not [n for n in request_files if n in got]  # no product of the incomplete request
    warnings = [w for r in run.files for w in r.warnings if "incomplete sequence" in w]
    assert any(f"({science['count']})" in w and "not explained" in w and "-21-" in w for w in warnings), warnings
    others = {n: p for n, p in products(science["clean"]).items() if n.startswith(("L0", "L1")) and "sci" in n}
    assert set(others) - set(request_files) <= set(got)  # the other requests were made

    run = run_pipeline(corpus.settings, archive, [corpus.science])  # the full delivery
    written = {Path(p).name for r in run.files for level in ("L0", "L1") for p in r.produced.get(level, [])}
    assert {Path(n).name for n in request_files} <= written  # written now, not "unchanged"
    assert_products_equal(archive, science["clean"])


def test_a_wrong_product_from_a_lenient_run_is_rewritten_when_the_request_completes(
    corpus, science, tmp_path, monkeypatch
) -> None:
    import stix_lib.products.science.step as science_step

    lenient = functools.partial(science_step.request_sequences, tolerance=1)  # the reference's one-gap tolerance
    archive = tmp_path / "fits"
    with monkeypatch.context() as patch:
        patch.setattr(science_step, "request_sequences", lenient)
        run_pipeline(corpus.settings, archive, [science["damaged"]])
    request_files = _request_products(archive, science["clean"])
    assert all(n in products(archive) for n in request_files)  # the wrong product exists
    run = run_pipeline(corpus.settings, archive, [corpus.science])
    written = {Path(p).name for r in run.files for level in ("L0", "L1") for p in r.produced.get(level, [])}
    assert {Path(n).name for n in request_files} <= written
    assert_products_equal(archive, science["clean"])


def test_a_gap_explained_by_another_type_of_the_same_apid_is_complete(corpus, tmp_path) -> None:
    """A packet of another type with the missing count, timed inside the gap, explains it; others do not."""
    from stix_lib.decode.classify import classify_packets
    from stix_lib.idb.manager import IDBManager
    from stix_lib.products.sequence_gaps import ArchiveGapExplainer, packet_btimes

    packets = [p for _, _, p in read_elements(corpus.science)]
    index = classify_packets(packets, IDBManager(corpus.settings.idb_dir))
    ql = next(p for i, p in enumerate(packets) if index.ssid[i] == 30)
    request = [i for i in range(len(packets)) if index.ssid[i] == SSID]
    times = packet_btimes(index.headers[request])
    counts = index.headers["sequence_count"][request].astype(np.int64)
    lost = 3  # the request's 4th packet is "lost"; a quick-look packet of APID 1468 held its count
    holder = with_count(with_time(with_apid(ql, 1468), int(times[lost])), int(counts[lost]))
    tm = with_extra_packets(corpus.science, tmp_path / "explained.PktTmRaw.xml", [(99_999, holder)])
    archive = tmp_path / "fits"
    run_pipeline(corpus.settings, archive, [tm])
    explain = ArchiveGapExplainer(archive, 1468)
    missing = np.array([counts[lost], counts[lost] + 100])
    low, high = np.full(2, times[lost - 1]), np.full(2, times[lost + 1])
    assert explain(missing, low, high).tolist() == [True, False]  # a count nobody holds stays unexplained
    later = np.array([times[lost + 1] + 1])
    assert explain(missing[:1], later, later + 1000).tolist() == [False]  # held, but not inside this gap
    assert not ArchiveGapExplainer(archive, 1500)(missing[:1], low[:1], high[:1]).any()  # another APID's counter
