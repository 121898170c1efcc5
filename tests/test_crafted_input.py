"""Crafted input found by the attack run: each one a clear 4xx with a message, never a 500."""

from __future__ import annotations

import io

import pytest
import sqlalchemy as sa

from intake.extensions import db
from intake.storage.models import Event
from tests.conftest import PASSWORD, csrf_token

DEEP_JSON = b"[" * 100_000 + b"]" * 100_000


@pytest.fixture
def admin(create_user, auth):
    create_user("admin@example.org", role="admin")
    auth.login("admin@example.org")


OUT_OF_RANGE = "must be a date between 2000-01-01 and 2099-12-31"


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("/admin/responses?lang=en&from=0001-01-01", OUT_OF_RANGE),
        ("/admin/responses?lang=en&to=9999-12-31", OUT_OF_RANGE),
        ("/admin/responses?lang=en&from=١٢٣٤-٠١-٠١", "must be a date written as YYYY-MM-DD"),
        ("/admin/reports/mainz-bingen/volunteer.pdf?lang=en&from=0001-01-01", OUT_OF_RANGE),
        ("/admin/reports/mainz-bingen/volunteer.pdf?lang=en&to=9999-12-31", OUT_OF_RANGE),
        ("/admin/exports/mainz-bingen/volunteer.csv?lang=en&from=0001-01-01", OUT_OF_RANGE),
        ("/admin/exports/mainz-bingen/volunteer.csv?lang=en&to=9999-12-31", OUT_OF_RANGE),
        ("/admin/exports/all/volunteer.xlsx?lang=en&to=9999-12-31", OUT_OF_RANGE),
    ],
)
def test_dates_out_of_range_are_explained(client, admin, url, message):
    response = client.get(url)
    assert 400 <= response.status_code < 500
    assert message in response.get_data(as_text=True)


@pytest.mark.parametrize(
    "url",
    [
        "/admin/responses?endpoint=x",
        "/admin/responses?form=volunteer&endpoint=static&page=2",
        "/admin/links?endpoint=x",
        "/admin/links?form=volunteer&endpoint=x&_external=1&_scheme=javascript",
        "/f/volunteer?endpoint=x&_anchor=top",
        "/?endpoint=admin.logout",
    ],
)
def test_query_keys_that_url_for_would_take_as_its_own_are_ignored(client, admin, url):
    response = client.get(url)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "endpoint=" not in html
    assert "_scheme" not in html
    assert "javascript:" not in html
    assert 'hreflang="en"' in html  # the language switcher is still there


def test_a_form_file_nested_thousands_deep_is_refused(client, admin, cli, tmp_path):
    for name, content in (("tief.json", DEEP_JSON), ("tief.yaml", DEEP_JSON)):
        token = csrf_token(client.get("/admin/forms").get_data(as_text=True))
        response = client.post(
            "/admin/forms/upload?lang=en",
            data={"csrf_token": token, "file": (io.BytesIO(content), name)},
            content_type="multipart/form-data",
        )
        assert response.status_code == 422
        assert "nested too deeply" in response.get_data(as_text=True)
        path = tmp_path / name
        path.write_bytes(content)
        result = cli("forms", "validate", str(path))
        assert result.exit_code != 0
        assert "nested too deeply" in result.output


def test_a_kiosk_file_nested_thousands_deep_is_refused(app, client, admin, make_event):
    token = make_event()
    with app.app_context():
        event_id = db.session.scalar(sa.select(Event.id).where(Event.token == token))
    page = client.get(f"/admin/events/{event_id}").get_data(as_text=True)
    response = client.post(
        f"/admin/events/{event_id}/import",
        data={"csrf_token": csrf_token(page), "file": (io.BytesIO(DEEP_JSON), "kiosk.json")},
        follow_redirects=True,
    )
    assert response.status_code < 500
    assert "Das ist keine Datei mit gespeicherten Antworten" in response.get_data(as_text=True)


@pytest.mark.parametrize("target", ["/admin/%0d%0aSet-Cookie:x=1", "/admin/\nx", "//evil.example"])
def test_login_next_with_a_line_break_or_another_site_goes_to_the_back_office(
    client, create_user, target
):
    create_user("a@example.org")
    page = client.get("/admin/login", query_string={"next": target})
    assert page.status_code == 200
    response = client.post(
        "/admin/login",
        query_string={"next": target},
        data={
            "email": "a@example.org",
            "password": PASSWORD,
            "next": target,
            "csrf_token": csrf_token(page.get_data(as_text=True)),
        },
    )
    assert response.status_code in (302, 303)
    location = response.headers["Location"]
    assert "\n" not in location
    assert "\r" not in location
    assert "evil.example" not in location
    assert location.startswith("/admin/")
    assert "x=1" not in response.headers.get("Set-Cookie", "")
