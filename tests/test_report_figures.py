"""Key figures of the PDF summary: new in the period, sources, responses over time."""

from __future__ import annotations

import io
import re
import unicodedata
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from pypdf import PdfReader

from intake.extensions import db
from intake.period import LOCAL_TZ
from intake.storage.models import Response
from tests.conftest import NEWCOMER_ANSWERS_BK, VOLUNTEER_ANSWERS


def pdf_text(data: bytes) -> str:
    text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(data)).pages)
    # pypdf may read a space between a right-to-left word and the ")" after it.
    return " ".join(unicodedata.normalize("NFKC", text).split()).replace(" )", ")")


@pytest.fixture
def mainz(create_user, auth):
    create_user("mz@example.org", districts=("mainz-bingen",))
    return lambda: auth.login("mz@example.org")


def move_responses(app, days_ago: list[int]) -> None:
    """Give the stored responses, oldest id first, these ages in days."""
    with app.app_context():
        rows = db.session.scalars(sa.select(Response).order_by(Response.id)).all()
        for row, days in zip(rows, days_ago, strict=True):
            row.created_at = datetime.now(UTC) - timedelta(days=days)
        db.session.commit()


def test_responses_by_source(client, submit, mainz):
    submit("volunteer", VOLUNTEER_ANSWERS, "?src=poster")
    submit("volunteer", VOLUNTEER_ANSWERS, "?src=poster")
    submit("volunteer", VOLUNTEER_ANSWERS)
    mainz()
    text = pdf_text(client.get("/admin/reports/mainz-bingen/volunteer.pdf?lang=en").data)
    assert re.search(r"Responses by source Source or campaign Total % poster 2 66\.7", text), text
    assert re.search(r"Without a campaign \(direct link or the start page\) 1 33\.3", text)


def test_short_span_is_counted_per_week(app, client, submit, mainz):
    for _ in range(3):
        submit("volunteer", VOLUNTEER_ANSWERS)
    move_responses(app, [0, 0, 10])
    mainz()
    text = pdf_text(client.get("/admin/reports/mainz-bingen/volunteer.pdf?lang=en").data)
    today = datetime.now(LOCAL_TZ).date()
    monday = today - timedelta(days=today.weekday())
    earlier = (today - timedelta(days=10)) - timedelta(days=(today - timedelta(days=10)).weekday())
    label = "Week from {:%b} {}, {}"
    this_week = label.format(monday, monday.day, monday.year)
    that_week = label.format(earlier, earlier.day, earlier.year)
    assert f"{that_week} 1 33.3" in text, text
    assert f"{this_week} 2 66.7" in text


def test_long_span_is_counted_per_month(app, client, submit, mainz):
    for _ in range(3):
        submit("volunteer", VOLUNTEER_ANSWERS)
    move_responses(app, [0, 95, 96])
    mainz()
    text = pdf_text(client.get("/admin/reports/mainz-bingen/volunteer.pdf?lang=en").data)
    assert "Responses over time Month Total %" in text
    now = datetime.now(LOCAL_TZ)
    assert f"{now:%B %Y} 1 33.3" in text, text


def test_period_shows_new_and_all_up_to_its_end(app, client, submit, mainz):
    for _ in range(3):
        submit("volunteer", VOLUNTEER_ANSWERS)
    move_responses(app, [1, 40, 400])
    mainz()
    start = (datetime.now(LOCAL_TZ) - timedelta(days=7)).date().isoformat()
    text = pdf_text(
        client.get(f"/admin/reports/mainz-bingen/volunteer.pdf?lang=en&from={start}").data
    )
    assert re.search(r"New in this period 1 All responses up to the end of the period 3", text)
    unbounded = pdf_text(client.get("/admin/reports/mainz-bingen/volunteer.pdf?lang=en").data)
    assert "New in this period" not in unbounded
    assert re.search(r"Number of responses 3", unbounded)


def test_languages_offered_against_languages_needed_per_district(client, submit, create_user, auth):
    # Mainz-Bingen: a volunteer interprets Arabic and Persian; a newcomer speaks Pashto.
    submit("volunteer", dict(VOLUNTEER_ANSWERS, languages_fluent=["ar", "fa"]))
    submit(
        "newcomer",
        dict(NEWCOMER_ANSWERS_BK, municipality="budenheim", languages=["ps", "fa"]),
    )
    # Bad Kreuznach: a newcomer speaks Arabic.
    submit("newcomer", dict(NEWCOMER_ANSWERS_BK, languages=["ar"]))
    create_user("joint@example.org", districts=("mainz-bingen", "bad-kreuznach"))
    auth.login("joint@example.org")
    text = pdf_text(client.get("/admin/reports/all/volunteer.pdf?lang=en").data)
    # Columns: Bad Kreuznach (volunteers, newcomers), Mainz-Bingen (volunteers, newcomers)
    assert "Languages offered and needed" in text, text
    assert re.search(r"Persian \([^)]*\) 0 0 1 1", text), text
    assert re.search(r"Arabic \(العربية\) 0 1 1 0", text)
    assert re.search(r"Pashto \(پښتو\) 0 0 0 1", text)


def test_language_comparison_stays_within_the_users_districts(client, submit, create_user, auth):
    submit("volunteer", dict(VOLUNTEER_ANSWERS, languages_fluent=["ar"]))
    submit("newcomer", dict(NEWCOMER_ANSWERS_BK, languages=["ti"]))  # Bad Kreuznach
    create_user("mz@example.org", districts=("mainz-bingen",))
    auth.login("mz@example.org")
    text = pdf_text(client.get("/admin/reports/mainz-bingen/volunteer.pdf?lang=en").data)
    section = text[text.index("Languages offered and needed") : text.index("Responses over time")]
    assert section.endswith(
        "Language Landkreis Mainz-Bingen Volunteers Newcomers Arabic (العربية) 1 0 "
    )
