"""Report: E/I/S/P counts, the mail (checked, and sent once to a real SMTP server), the supplement report."""

from __future__ import annotations

import email
import email.policy
import smtplib
from datetime import UTC, datetime
from pathlib import Path

import pytest

from stix_lib.publish.report import (
    FileOutcome,
    Outcome,
    PublishReport,
    append_supplement_report,
    build_report_message,
)

A = "solo_L1_stix-sci-xray-cpd_20200505T235959-20200506T000019_V02_0000000123-50883.fits"


def _report(errors: bool = True) -> PublishReport:
    report = PublishReport(started=datetime(2026, 3, 1, 5, 0, tzinfo=UTC), target="/data/esa")
    report.scanned, report.waiting = 12, 3
    report.outcomes = [
        FileOutcome(Path(A), A, Outcome.PUBLISHED, delivered_name=A, attempt=2),
        FileOutcome(Path("b"), "b.fits", Outcome.IGNORED, reason="re-requested (already published)"),
        FileOutcome(Path("c"), "c.fits", Outcome.BLACKLISTED),
        FileOutcome(Path("d"), "d.fits", Outcome.SUPPLEMENT, delivered_name="d-sup1.fits", base=A),
    ]
    if errors:
        report.outcomes.append(FileOutcome(Path("e"), "e.fits", Outcome.ERROR, reason="max supplement error"))
    report.warnings = ["RID API ERROR http://x: timed out"]
    return report


def test_counts_and_subject() -> None:
    report = _report()
    assert report.counts == {"E": 1, "I": 2, "S": 1, "P": 1}
    assert report.subject() == "[STIX pipeline] STIX SOAR publishing ERROR-report E 1 I 2 S 1 P 1"
    assert _report(errors=False).subject() == "[STIX pipeline] STIX SOAR publishing report E 0 I 2 S 1 P 1"
    assert [o.name for o in report.delivered] == [A, "d.fits"]


def test_body_sections() -> None:
    body = _report().body()
    assert "run of 2026-03-01 05:00:00 UTC" in body and "target: /data/esa" in body
    assert "scanned 12 product files, 3 still in their waiting period" in body
    assert "ERRORS (E): 1\n  e.fits: max supplement error" in body
    assert "IGNORED (I): 1\n  b.fits: re-requested (already published)" in body
    assert f"SUPPLEMENTS (S): 1\n  d.fits -> d-sup1.fits (supplement of {A})" in body
    assert "BLACKLISTED (I): 1\n  c.fits" in body
    assert f"PUBLISHED (P): 1\n  {A} [attempt 2]" in body
    assert "WARNINGS: 1\n  RID API ERROR http://x: timed out" in body


def test_message_content() -> None:
    message = build_report_message(_report(), "stix@example.org", ["ops@example.org", "pi@example.org"])
    assert message["Subject"] == "[STIX pipeline] STIX SOAR publishing ERROR-report E 1 I 2 S 1 P 1"
    assert message["From"] == "stix@example.org" and message["To"] == "ops@example.org, pi@example.org"
    assert message["Message-ID"].endswith("@example.org>") and message["Date"]
    assert message.get_body(("plain",)).get_content() == _report().body()
    assert "ERRORS (E): 1" in message.get_body(("html",)).get_content()  # the same report as HTML
    with pytest.raises(ValueError, match="recipient"):
        build_report_message(_report(), "stix@example.org", [])


def test_mail_is_accepted_by_a_real_smtp_server(smtp_sink) -> None:
    message = build_report_message(_report(), "stix@example.org", ["ops@example.org"])
    with smtplib.SMTP(smtp_sink.host, smtp_sink.port, timeout=30) as smtp:
        refused = smtp.send_message(message)
    assert refused == {}
    (envelope,) = smtp_sink.envelopes
    assert envelope.mail_from == "stix@example.org" and envelope.rcpt_tos == ["ops@example.org"]
    received = email.message_from_bytes(envelope.content, policy=email.policy.default)
    assert received["Subject"] == message["Subject"]
    text = received.get_body(("plain",)).get_content()
    assert "ERRORS (E): 1" in text and A in text


def test_supplement_report_appends(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "supplement_report.csv"
    append_supplement_report(path, [])
    assert not path.exists()
    append_supplement_report(path, [("s1.fits", "base.fits", "BSD request id: '1' reason: 'a\tb'")])
    append_supplement_report(path, [("s2.fits", "base.fits", "")])
    assert path.read_text().splitlines() == [
        "filename\tbasefile\tcomment",
        "s1.fits\tbase.fits\tBSD request id: '1' reason: 'a b'",
        "s2.fits\tbase.fits\t",
    ]
    assert [p.name for p in path.parent.iterdir()] == ["supplement_report.csv"]


def test_as_dict_is_json_ready() -> None:
    import json

    data = json.loads(json.dumps(_report().as_dict()))
    assert data["counts"] == {"E": 1, "I": 2, "S": 1, "P": 1} and data["outcomes"][0]["attempt"] == 2
