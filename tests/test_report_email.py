"""The summary by email (a weekly timer's job), against a real SMTP server on 127.0.0.1."""

from __future__ import annotations

import io
import unicodedata

import pytest
import sqlalchemy as sa
from pypdf import PdfReader

from intake.extensions import db
from intake.storage.models import AuditEvent
from tests.conftest import NEWCOMER_ANSWERS_BK, VOLUNTEER_ANSWERS, free_port


def pdf_text(data: bytes) -> str:
    text = " ".join(p.extract_text() for p in PdfReader(io.BytesIO(data)).pages)
    return " ".join(unicodedata.normalize("NFKC", text).split())


def test_weekly_summary_goes_to_the_account_with_its_pdf(app, cli, smtp, submit, create_user):
    submit("volunteer", dict(VOLUNTEER_ANSWERS, experience="Nur für Mainz-Bingen"))
    submit("volunteer", dict(VOLUNTEER_ANSWERS, municipality="vg-kirner-land",
                             experience="Geheim aus Bad Kreuznach"))  # fmt: skip
    create_user("mz@example.org", districts=("mainz-bingen",))
    result = cli("report", "--district", "mainz-bingen", "--form", "volunteer",
                 "--email", "mz@example.org", "--lang", "en", "--last-days", "7")  # fmt: skip
    # The responses are from today, so the last seven days up to yesterday hold none.
    assert result.exit_code == 0, result.output
    assert "Sent to mz@example.org." in result.output
    [message] = smtp.messages
    assert message["To"] == "mz@example.org"
    assert message["X-Envelope-To"] == "mz@example.org"
    assert message["Subject"].startswith("Summary: Volunteer with us")
    body = message.get_body(preferencelist=("plain",)).get_content()
    assert "keep it within the office" in body
    [attachment] = list(message.iter_attachments())
    assert attachment.get_content_type() == "application/pdf"
    text = pdf_text(attachment.get_content())
    assert "Landkreis Mainz-Bingen" in text
    assert "Geheim aus Bad Kreuznach" not in text


def test_summary_email_with_all_answers_of_the_period(app, cli, smtp, submit, create_user):
    submit("volunteer", dict(VOLUNTEER_ANSWERS, experience="Heute geschrieben"))
    create_user("mz@example.org", districts=("mainz-bingen",))
    result = cli("report", "--district", "mainz-bingen", "--form", "volunteer",
                 "--email", "mz@example.org")  # fmt: skip
    assert result.exit_code == 0, result.output
    [attachment] = list(smtp.messages[0].iter_attachments())
    assert "Heute geschrieben" in pdf_text(attachment.get_content())
    with app.app_context():
        events = db.session.scalars(
            sa.select(AuditEvent).where(AuditEvent.action == "report.email")
        )
        assert [e.outcome for e in events] == ["ok"]


@pytest.mark.parametrize(
    ("email", "district", "appendix", "message"),
    [
        ("stranger@example.org", "mainz-bingen", "text", "no active account with the email"),
        ("bk@example.org", "mainz-bingen", "text", "may not see the district 'mainz-bingen'"),
        ("bk@example.org", "all", "text", "may not see the district 'all'"),
        ("viewer@example.org", "bad-kreuznach", "roster", "may not receive contact lists"),
    ],
)
def test_summary_goes_only_to_accounts_that_may_see_it(
    cli, smtp, create_user, email, district, appendix, message
):
    create_user("bk@example.org", districts=("bad-kreuznach",))
    create_user("viewer@example.org", role="viewer", districts=("bad-kreuznach",))
    result = cli("report", "--district", district, "--form", "newcomer",
                 "--email", email, "--appendix", appendix)  # fmt: skip
    assert result.exit_code == 2
    assert message in result.output
    assert smtp.messages == []


def test_unreachable_smtp_server_is_reported_and_audited(app, cli, submit, create_user):
    submit("newcomer", NEWCOMER_ANSWERS_BK)
    create_user("bk@example.org", districts=("bad-kreuznach",))
    app.config.update(SMTP_HOST="127.0.0.1", SMTP_PORT=free_port(), MAIL_RETRY_SECONDS=0)
    result = cli("report", "--district", "bad-kreuznach", "--form", "newcomer",
                 "--email", "bk@example.org")  # fmt: skip
    assert result.exit_code == 1
    assert "Not sent to bk@example.org: the SMTP server could not be reached" in result.output
    assert "1 of 1 emails could not be sent" in result.output
    with app.app_context():
        events = db.session.scalars(
            sa.select(AuditEvent).where(AuditEvent.action == "report.email")
        )
        assert [e.outcome for e in events] == ["failed"]


def test_report_needs_a_file_or_an_address(cli):
    result = cli("report", "--district", "mainz-bingen", "--form", "volunteer")
    assert result.exit_code == 2
    assert "give --out FILE.pdf, --email ADDRESS, or both" in result.output
