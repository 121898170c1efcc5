"""Location questions (#21, geopoint): typed as latitude and longitude in the ways people
write them, refused with a clear message otherwise, stored as ODK stores them and as a
special category unless the form says not; left out of summaries; in exports only as
coordinates, and only when special categories are asked for."""

from __future__ import annotations

import csv
import io

import pytest
import sqlalchemy as sa
from pypdf import PdfReader

from intake.engine.validation import validate
from intake.extensions import db
from intake.storage.models import Answer
from intake.storage.sealing import reveal
from tests.conftest import form_payload, install_form, response_count

URL = "/f/ort?district=mainz-bingen"


def send(client, **answers) -> object:
    html = client.get(URL).get_data(as_text=True)
    data = {"name": "Amal", "nav": "send", **answers}
    return client.post(URL, data=form_payload(html, data))


def stored(app, field: str) -> str:
    with app.app_context():
        return db.session.scalar(sa.select(Answer.value).where(Answer.field == field))


@pytest.mark.parametrize(
    ("typed", "kept"),
    [
        ("49.9929, 8.2473", "49.9929 8.2473"),
        ("49.9929 8.2473", "49.9929 8.2473"),
        ("  49.99290,8.24730 ", "49.9929 8.2473"),
        ("49,9929; 8,2473", "49.9929 8.2473"),
        ("49,9929 8,2473", "49.9929 8.2473"),
        ("-33.8568, 151.2153", "-33.8568 151.2153"),
        ("49.123456789, 8.1", "49.123457 8.1"),
        ("٤٩٫٩٩ ٨٫٢٤", "49.99 8.24"),  # typed on an Arabic keyboard
        ("0, -0", "0 0"),
    ],
)
def test_a_typed_location_is_stored_as_odk_stores_it_and_sealed(app, client, typed, kept):
    install_form(app, "location.yaml")
    assert send(client, home=typed).status_code == 303
    value = stored(app, "home")
    assert value.startswith("fernet:")  # a special category by default
    with app.app_context():
        assert reveal(value) == kept


@pytest.mark.parametrize(
    "typed",
    [
        "Mainz",
        "91, 8.2",
        "49.9, 181",
        "49.9",
        "49.9, 8.2, 120",
        "49.9,8,2",
        "1e2, 3",
        "49°59′N 8°14′E",
    ],
)
def test_anything_else_is_refused_with_an_example(app, client, typed):
    install_form(app, "location.yaml")
    page = send(client, home=typed)
    assert page.status_code == 422
    assert (
        "Bitte geben Sie den Ort als Breiten- und Längengrad ein, zum Beispiel 49.9929, 8.2473."
        in page.get_data(as_text=True)
    )
    assert response_count(app) == 0


def test_a_location_the_author_says_is_not_sensitive_is_stored_plain(app, client):
    install_form(app, "location.yaml")
    assert send(client, home="49.99, 8.24", meeting="49.98 8.27").status_code == 303
    assert stored(app, "meeting") == "49.98 8.27"


def test_locations_are_sensitive_unless_said_otherwise():
    base = {"form": "o", "default_language": "de", "languages": ["de"], "title": {"de": "O"}}
    field = {"name": "wo", "type": "geopoint", "label": {"de": "Wo?"}}
    assert validate({**base, "fields": [field]}, "o.yaml")["fields"][0]["sensitive"] is True
    said = {**field, "sensitive": False}
    assert validate({**base, "fields": [said]}, "o.yaml")["fields"][0]["sensitive"] is False


def test_summaries_show_no_location_and_exports_only_when_asked(app, client, auth, create_user):
    install_form(app, "location.yaml")
    assert send(client, home="49.1234, 8.5678", meeting="50.1111 7.2222").status_code == 303
    create_user("mb@example.org", districts=("mainz-bingen",))
    auth.login("mb@example.org")
    pdf = client.get("/admin/reports/mainz-bingen/ort.pdf?appendix=text")
    text = " ".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.get_data())).pages)
    assert "49.1234" not in text
    assert "50.1111" not in text
    assert "Wo wohnen Sie?" not in text
    plain = client.get("/admin/exports/mainz-bingen/ort.csv").get_data().decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(plain), delimiter=";"))
    assert rows[0]["Wo sollen wir uns treffen?"] == "50.1111 7.2222"
    assert "Wo wohnen Sie?" not in rows[0]
    asked = client.get("/admin/exports/mainz-bingen/ort.csv?sensitive=1").get_data()
    rows = list(csv.DictReader(io.StringIO(asked.decode("utf-8-sig")), delimiter=";"))
    assert rows[0]["Wo wohnen Sie?"] == "49.1234 8.5678"


def test_the_location_button_is_offered_only_with_scripts_and_never_on_a_kiosk(app, client):
    install_form(app, "location.yaml")
    html = client.get(URL).get_data(as_text=True)
    assert 'data-geolocate="home" hidden' in html  # intake.js shows it where it works
    assert "Breiten- und Längengrad, zum Beispiel 49.9929, 8.2473." in html


@pytest.mark.parametrize(
    ("typed", "kept"), [("14:30", "14:30"), ("9.05", "09:05"), ("07:45:00", "07:45")]
)
def test_a_time_of_day_is_stored_as_hours_and_minutes(app, client, typed, kept):
    install_form(app, "location.yaml")
    assert send(client, home="49.99, 8.24", when=typed).status_code == 303
    assert stored(app, "when") == kept


@pytest.mark.parametrize("typed", ["25:00", "14:60", "halb drei", "1430"])
def test_a_time_that_is_none_is_refused(app, client, typed):
    install_form(app, "location.yaml")
    page = send(client, home="49.99, 8.24", when=typed)
    assert page.status_code == 422
    assert "Bitte geben Sie eine Uhrzeit wie 14:30 ein." in page.get_data(as_text=True)
