"""CSV and XLSX exports of responses: format, content, scope, safety, streaming."""

from __future__ import annotations

import csv
import io
import zipfile
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook

from intake import demo
from intake.extensions import db
from intake.storage.models import Answer, AuditEvent, Form, Response
from tests.conftest import NEWCOMER_ANSWERS_BK, VOLUNTEER_ANSWERS

HOSTILE = [
    '=HYPERLINK("http://evil")',
    "+1",
    "-2",
    "@SUM(A1)",
    "\tx",
]
SVG = '"><svg onload=alert(1)>'


@pytest.fixture
def mainz(create_user):
    return create_user("mz@example.org", districts=("mainz-bingen",))


@pytest.fixture
def both(create_user):
    return create_user("both@example.org", districts=("mainz-bingen", "bad-kreuznach"))


def parse_csv(data: bytes) -> list[list[str]]:
    """Read a download as German Excel would: UTF-8 with BOM, semicolons."""
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline=""), delimiter=";"))


def as_dicts(rows: list[list[str]]) -> list[dict[str, str]]:
    header, *body = rows
    return [dict(zip(header, row, strict=True)) for row in body]


def set_answer(app, field: str, value: str) -> None:
    """Overwrite an answer of the newest response (values the public form would clean)."""
    with app.app_context():
        query = sa.select(Response).order_by(Response.id.desc()).limit(1)
        response = db.session.scalar(query)
        answer = db.session.scalar(
            sa.select(Answer).where(Answer.response_id == response.id, Answer.field == field)
        )
        answer.value = value
        db.session.commit()


def test_csv_is_what_german_excel_expects(client, auth, mainz, submit):
    arabic = "أحتاج إلى مساعدة في الأوراق الرسمية"
    submit("volunteer", VOLUNTEER_ANSWERS)
    submit("volunteer", dict(VOLUNTEER_ANSWERS, experience=arabic, first_name="فاطمة"), "?lang=ar")
    auth.login("mz@example.org")
    response = client.get("/admin/exports/mainz-bingen/volunteer.csv?lang=de")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert response.headers["Cache-Control"] == "no-store"
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith('attachment; filename="intake-mainz-bingen-volunteer-')
    assert disposition.endswith('.csv"')
    data = response.data
    assert data.startswith(b"\xef\xbb\xbf")
    first_line = data[3:].split(b"\r\n")[0].decode("utf-8")
    assert first_line.startswith("Referenzcode;Datum;Landkreis;Sprache;")
    rows = as_dicts(parse_csv(data))
    assert len(rows) == 2
    german, arabic_row = rows
    assert german["Vorname"] == "Jürgen"
    assert german["Nachname"] == "Müller-Lüdenscheidt"
    assert german["Landkreis"] == "Landkreis Mainz-Bingen"
    assert german["Sprache"] == "de"
    assert german["Version"] == "1"
    assert german["Wo wohnen Sie?"].startswith("VG Nieder-Olm")
    assert german["Wie gut sprechen Sie Deutsch?"] == "Muttersprache"
    assert german[next(k for k in german if k.startswith("Interessieren Sie sich"))] == "Ja"
    assert german[next(k for k in german if k.startswith("Ich bin einverstanden"))] == "Ja"
    assert len(german["Datum"]) == 16
    assert german["Datum"][4] == "-"
    assert arabic_row["Vorname"] == "فاطمة"
    assert arabic_row["Sprache"] == "ar"
    assert arabic in arabic_row.values()


def test_multiple_choice_is_one_column_per_choice(client, auth, mainz, submit):
    submit("volunteer", dict(VOLUNTEER_ANSWERS, help_areas=["offices", "language"]))
    submit("volunteer", dict(VOLUNTEER_ANSWERS, help_areas=["doctors"]))
    auth.login("mz@example.org")
    rows = as_dicts(parse_csv(client.get("/admin/exports/mainz-bingen/volunteer.csv").data))
    question = "Wobei möchten Sie helfen?"
    offices = f"{question} – Begleitung zu Ämtern und Behörden"
    language = f"{question} – Deutsch üben und Sprachcafé"
    doctors = f"{question} – Begleitung zu Ärztinnen und Ärzten"
    assert question not in rows[0]  # no combined column
    assert [(r[offices], r[language], r[doctors]) for r in rows] == [("1", "1", ""), ("", "", "1")]
    help_columns = [k for k in rows[0] if k.startswith(f"{question} – ")]
    assert len(help_columns) == 9  # every choice of the definition


def test_headers_and_labels_in_english(client, auth, mainz, submit):
    submit("volunteer", VOLUNTEER_ANSWERS)
    auth.login("mz@example.org")
    rows = parse_csv(client.get("/admin/exports/mainz-bingen/volunteer.csv?lang=en").data)
    header = rows[0]
    assert header[:6] == ["Reference", "Date", "District", "Language", "Source", "Version"]
    assert "First name" in header
    assert "How would you like to help? – Going with people to public offices" in header
    row = dict(zip(header, rows[1], strict=True))
    assert row["How well do you speak German?"] == "Native language"
    assert row[next(k for k in row if k.startswith("Are you interested"))] == "Yes"


def test_xlsx_has_the_same_rows_as_strings(client, auth, mainz, submit):
    submit("volunteer", VOLUNTEER_ANSWERS)
    auth.login("mz@example.org")
    csv_rows = parse_csv(client.get("/admin/exports/mainz-bingen/volunteer.csv?lang=de").data)
    response = client.get("/admin/exports/mainz-bingen/volunteer.xlsx?lang=de")
    assert response.status_code == 200
    assert response.mimetype == (
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["Content-Disposition"].endswith('.xlsx"')
    sheet = load_workbook(io.BytesIO(response.data)).active
    xlsx_rows = [[c.value or "" for c in row] for row in sheet.iter_rows()]
    assert xlsx_rows == csv_rows
    assert sheet.cell(1, 1).font.bold
    assert all(c.data_type == "s" for row in sheet.iter_rows() for c in row if c.value)


def test_coordinator_sees_only_own_district(client, auth, mainz, submit):
    submit("volunteer", dict(VOLUNTEER_ANSWERS, experience="Aus Mainz-Bingen"))
    submit(
        "volunteer",
        dict(VOLUNTEER_ANSWERS, experience="Geheim aus Bad Kreuznach", municipality="vg-nahe-glan"),
    )
    submit("newcomer", NEWCOMER_ANSWERS_BK)
    auth.login("mz@example.org")
    for path in ("/admin/exports/mainz-bingen/volunteer.csv", "/admin/exports/all/volunteer.csv"):
        text = client.get(path).data.decode("utf-8-sig")
        assert "Aus Mainz-Bingen" in text
        assert "Geheim aus Bad Kreuznach" not in text
        assert "Landkreis Bad Kreuznach" not in text
    newcomer = parse_csv(client.get("/admin/exports/all/newcomer.csv").data)
    assert len(newcomer) == 1  # the header only
    sheet = load_workbook(io.BytesIO(client.get("/admin/exports/all/volunteer.xlsx").data)).active
    assert sheet.max_row == 2


def test_joint_export_for_a_user_with_both_districts(client, auth, both, submit):
    submit("volunteer", dict(VOLUNTEER_ANSWERS, experience="Aus Mainz-Bingen"))
    submit(
        "volunteer",
        dict(VOLUNTEER_ANSWERS, experience="Aus Bad Kreuznach", municipality="vg-nahe-glan"),
    )
    auth.login("both@example.org")
    rows = as_dicts(parse_csv(client.get("/admin/exports/all/volunteer.csv").data))
    assert {r["Landkreis"] for r in rows} == {"Landkreis Mainz-Bingen", "Landkreis Bad Kreuznach"}
    single = as_dicts(parse_csv(client.get("/admin/exports/bad-kreuznach/volunteer.csv").data))
    assert [r["Landkreis"] for r in single] == ["Landkreis Bad Kreuznach"]


@pytest.mark.parametrize(
    "path",
    [
        "/admin/exports/bad-kreuznach/volunteer.csv",
        "/admin/exports/bad-kreuznach/newcomer.xlsx",
        "/admin/exports/atlantis/volunteer.csv",
        "/admin/exports/atlantis/volunteer.xlsx",
        "/admin/exports/mainz-bingen/nope.csv",
    ],
)
def test_other_or_unknown_district_is_404(client, auth, mainz, path):
    auth.login("mz@example.org")
    assert client.get(path).status_code == 404


def test_denied_district_is_audited(app, client, auth, mainz):
    auth.login("mz@example.org")
    client.get("/admin/exports/bad-kreuznach/volunteer.csv")
    with app.app_context():
        event = db.session.scalar(sa.select(AuditEvent).order_by(AuditEvent.id.desc()))
        assert (event.action, event.outcome) == ("export.csv", "denied")
        assert event.target == "export:bad-kreuznach/volunteer"


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_viewer_is_forbidden(app, client, auth, create_user, submit, fmt):
    create_user("viewer@example.org", role="viewer", districts=("mainz-bingen",))
    submit("volunteer", VOLUNTEER_ANSWERS)
    auth.login("viewer@example.org")
    response = client.get(f"/admin/exports/mainz-bingen/volunteer.{fmt}")
    assert response.status_code == 403
    assert "Jürgen" not in response.get_data(as_text=True)
    with app.app_context():
        event = db.session.scalar(sa.select(AuditEvent).order_by(AuditEvent.id.desc()))
        assert (event.action, event.outcome) == (f"export.{fmt}", "denied")


@pytest.mark.parametrize("path", ["/admin/exports/mainz-bingen/volunteer.csv"])
def test_export_needs_login(client, path):
    response = client.get(path)
    assert response.status_code == 302
    assert "/admin/login" in response.headers["Location"]


def submit_hostile(app, submit) -> list[str]:
    """One response per hostile value in a free-text answer; returns the values."""
    values = [*HOSTILE, SVG]
    for value in values:
        submit("volunteer", dict(VOLUNTEER_ANSWERS, experience=f"placeholder {len(value)}"))
        # Stored as given, whatever the form's own cleaning does with leading whitespace.
        set_answer(app, "experience", value)
    return values


def test_csv_neutralises_formulas(app, client, auth, mainz, submit):
    values = submit_hostile(app, submit)
    auth.login("mz@example.org")
    rows = as_dicts(parse_csv(client.get("/admin/exports/mainz-bingen/volunteer.csv").data))
    column = next(k for k in rows[0] if k.startswith("Möchten") or k.startswith("Gibt es"))
    cells = [r[column] for r in rows]
    assert cells == ["'" + v for v in HOSTILE] + [SVG]
    assert values[-1] == SVG
    for row in rows:
        for cell in row.values():
            assert not cell.startswith(("=", "+", "-", "@", "\t", "\r"))


def test_xlsx_cells_are_text_never_formulas(app, client, auth, mainz, submit):
    submit_hostile(app, submit)
    auth.login("mz@example.org")
    data = client.get("/admin/exports/mainz-bingen/volunteer.xlsx").data
    sheet = load_workbook(io.BytesIO(data)).active
    header = [c.value for c in next(sheet.iter_rows(max_row=1))]
    index = next(i for i, h in enumerate(header) if h.startswith(("Möchten", "Gibt es")))
    cells = [row[index] for row in sheet.iter_rows(min_row=2)]
    assert [c.value for c in cells] == ["'" + v for v in HOSTILE] + [SVG]
    assert all(c.data_type == "s" for c in cells)
    # No formula anywhere in the file itself.
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        for name in archive.namelist():
            assert b"<f>" not in archive.read(name)


def test_period_filter(app, client, auth, mainz, submit):
    for text in ("Im Januar", "Im März", "Im Juni"):
        submit("volunteer", dict(VOLUNTEER_ANSWERS, experience=text))
    with app.app_context():
        moments = [
            datetime(2026, 1, 15, 12, tzinfo=UTC),
            # 23:30 UTC on 31 March is 1 April in Germany: outside a period ending 31 March.
            datetime(2026, 3, 31, 22, 30, tzinfo=UTC),
            datetime(2026, 6, 1, 12, tzinfo=UTC),
        ]
        responses = db.session.scalars(sa.select(Response).order_by(Response.id)).all()
        for response, moment in zip(responses, moments, strict=True):
            response.created_at = moment
        db.session.commit()
    auth.login("mz@example.org")
    url = "/admin/exports/mainz-bingen/volunteer.csv"
    rows = as_dicts(parse_csv(client.get(f"{url}?from=2026-01-01&to=2026-03-31").data))
    assert [r["Datum"] for r in rows] == ["2026-01-15 13:00"]
    rows = as_dicts(parse_csv(client.get(f"{url}?from=2026-04-01").data))
    assert [r["Datum"] for r in rows] == ["2026-04-01 00:30", "2026-06-01 14:00"]
    rows = as_dicts(parse_csv(client.get(url).data))
    assert len(rows) == 3


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("from=31.12.2026&lang=en", "must be a date written as YYYY-MM-DD"),
        ("to=2026-13-01&lang=en", "must be a date written as YYYY-MM-DD"),
        ("from=2026-06-01&to=2026-01-01&lang=en", "The start date (from) is after the end date"),
        ("lang=ar", "de, en"),
    ],
)
@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_bad_parameters_are_400_with_a_message(client, auth, mainz, query, message, fmt):
    auth.login("mz@example.org")
    response = client.get(f"/admin/exports/mainz-bingen/volunteer.{fmt}?{query}")
    assert response.status_code == 400
    assert response.mimetype == "text/html"
    assert message in response.get_data(as_text=True)


def test_download_is_audited_without_answer_content(app, client, auth, mainz, submit):
    submit("volunteer", VOLUNTEER_ANSWERS)
    auth.login("mz@example.org")
    url = "/admin/exports/mainz-bingen/volunteer.csv?from=2026-01-01&lang=en"
    assert client.get(url).status_code == 200
    assert client.get("/admin/exports/all/volunteer.xlsx").status_code == 200
    with app.app_context():
        events = db.session.scalars(
            sa.select(AuditEvent).where(AuditEvent.action.like("export.%")).order_by(AuditEvent.id)
        ).all()
        assert [(e.action, e.outcome, e.user_id) for e in events] == [
            ("export.csv", "ok", mainz.id),
            ("export.xlsx", "ok", mainz.id),
        ]
        assert events[0].target == "export:mainz-bingen/volunteer lang=en from=2026-01-01"
        # Without ?lang= the export uses the back office's language: the ?lang=en of the
        # first export named that export's language only, and was not remembered.
        assert events[1].target == "export:all/volunteer lang=de"
        for event in events:
            for value in ("Jürgen", "Müller", "juergen@example.org", "0151"):
                assert value not in event.target


def test_large_export_is_read_in_batches(app, client, auth, both):
    with app.app_context():
        demo.synthetic_responses(1500, seed_value=7)  # 3000 volunteer responses in all
    auth.login("both@example.org")
    statements: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    with app.app_context():
        engine = db.engine
    sa.event.listen(engine, "before_cursor_execute", count)
    try:
        response = client.get("/admin/exports/all/volunteer.csv")
        data = response.data
    finally:
        sa.event.remove(engine, "before_cursor_execute", count)
    rows = parse_csv(data)
    assert len(rows) == 1 + 3000
    assert len({row[0] for row in rows[1:]}) == 3000  # every reference once
    with app.app_context():
        oldest_first = db.session.scalars(
            sa.select(Response.reference)
            .join(Response.form)
            .where(Form.slug == "volunteer")
            .order_by(Response.created_at, Response.id)
        ).all()
    assert [row[0] for row in rows[1:]] == oldest_first
    answer_queries = [s for s in statements if "FROM answer" in s]
    # One query for the ticked choices, then one per batch of 1000 responses.
    assert 3 <= len(answer_queries) <= 10
    assert len(statements) < 50
