"""Coordinators follow up with people: list, detail, status, note, deletion; all scoped."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from intake.extensions import db
from intake.storage.models import Answer, AuditEvent, Response
from tests.conftest import NEWCOMER_ANSWERS_BK, VOLUNTEER_ANSWERS, csrf_token

HOSTILE = '"><svg onload=alert(1)>'


@pytest.fixture
def two_districts(submit):
    submit("volunteer", dict(VOLUNTEER_ANSWERS, experience="Aus Ingelheim " + HOSTILE))
    submit("newcomer", NEWCOMER_ANSWERS_BK)  # Bad Kreuznach


@pytest.fixture
def mainz(create_user, auth):
    create_user("mz@example.org", districts=("mainz-bingen",))
    auth.login("mz@example.org")


def ids(app) -> dict[str, int]:
    with app.app_context():
        return {r.district.slug: r.id for r in db.session.scalars(sa.select(Response))}


def test_list_shows_only_own_district(app, client, two_districts, mainz):
    html = client.get("/admin/responses?lang=en").get_data(as_text=True)
    assert '<p role="status">1 response</p>' in html
    assert f"/admin/responses/{ids(app)['mainz-bingen']}" in html
    assert f"/admin/responses/{ids(app)['bad-kreuznach']}" not in html


def test_detail_of_another_district_is_404_and_audited(app, client, two_districts, mainz):
    assert client.get(f"/admin/responses/{ids(app)['bad-kreuznach']}").status_code == 404
    assert client.get("/admin/responses/999999").status_code == 404
    with app.app_context():
        denied = db.session.scalars(
            sa.select(AuditEvent).where(AuditEvent.outcome == "denied")
        ).all()
        assert len(denied) == 2


def test_detail_shows_hostile_answer_as_text_and_is_audited(app, client, two_districts, mainz):
    response = client.get(f"/admin/responses/{ids(app)['mainz-bingen']}")
    html = response.get_data(as_text=True)
    assert "<svg onload" not in html
    assert "Aus Ingelheim &#34;&gt;&lt;svg onload=alert(1)&gt;" in html
    assert "Jürgen" in html
    assert response.headers["Cache-Control"] == "no-store"
    with app.app_context():
        event = db.session.scalar(sa.select(AuditEvent).order_by(AuditEvent.id.desc()))
        assert event.action == "response.view"
        assert "Jürgen" not in (event.target or "")
        assert "svg" not in (event.target or "")


def test_filters_and_search(app, client, submit, mainz):
    submit("volunteer", dict(VOLUNTEER_ANSWERS, first_name="Amira"), "?lang=ar&src=poster")
    submit("volunteer", dict(VOLUNTEER_ANSWERS, first_name="Bernd"), "?lang=de")
    page = lambda q: client.get(f"/admin/responses?{q}").get_data(as_text=True)  # noqa: E731
    count = lambda html: len(re.findall(r'href="/admin/responses/\d+"', html))  # noqa: E731
    assert count(page("")) == 2
    assert count(page("q=amira")) == 1
    assert count(page("language=ar")) == 1
    assert count(page("source=poster")) == 1
    assert count(page("form=newcomer")) == 0
    assert count(page("status=new")) == 2
    assert count(page("from=2020-01-01&to=2020-12-31")) == 0


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("from=31.12.2026", "must be a date written as YYYY-MM-DD"),
        ("status=lost", "Please choose one of the offered answers."),
        ("form=nope", "There is no such form."),
        ("district=bad-kreuznach", "There is no such district among yours."),
    ],
)
def test_bad_filters_get_a_clear_400(client, mainz, query, message):
    response = client.get(f"/admin/responses?{query}&lang=en")
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)


def test_status_and_note_change_but_nothing_else(app, client, two_districts, mainz):
    rid = ids(app)["mainz-bingen"]
    token = csrf_token(client.get(f"/admin/responses/{rid}").get_data(as_text=True))
    response = client.post(
        f"/admin/responses/{rid}",
        data={
            "csrf_token": token,
            "status": "in_progress",
            "note": "Rückruf am Montag",
            "district_id": "2",
            "reference": "AAAA-AAAA",
            "form_id": "2",
        },
    )
    assert response.status_code == 302
    with app.app_context():
        stored = db.session.get(Response, rid)
        assert (stored.status, stored.note) == ("in_progress", "Rückruf am Montag")
        assert stored.district.slug == "mainz-bingen"
        assert stored.reference != "AAAA-AAAA"
        assert stored.form.slug == "volunteer"


def test_unknown_status_is_refused(app, client, two_districts, mainz):
    rid = ids(app)["mainz-bingen"]
    token = csrf_token(client.get(f"/admin/responses/{rid}").get_data(as_text=True))
    response = client.post(f"/admin/responses/{rid}", data={"csrf_token": token, "status": "x"})
    assert response.status_code == 422


def test_delete_needs_confirmation_then_removes_everything(app, client, two_districts, mainz):
    rid = ids(app)["mainz-bingen"]
    token = csrf_token(client.get(f"/admin/responses/{rid}").get_data(as_text=True))
    client.post(f"/admin/responses/{rid}/delete", data={"csrf_token": token})
    with app.app_context():
        assert db.session.get(Response, rid) is not None
    client.post(f"/admin/responses/{rid}/delete", data={"csrf_token": token, "confirm": "yes"})
    with app.app_context():
        assert db.session.get(Response, rid) is None
        assert (
            db.session.scalar(
                sa.select(sa.func.count()).select_from(Answer).where(Answer.response_id == rid)
            )
            == 0
        )
        event = db.session.scalar(sa.select(AuditEvent).order_by(AuditEvent.id.desc()))
        assert (event.action, event.target, event.outcome) == (
            "response.delete",
            f"response:{rid}",
            "ok",
        )


def test_cannot_delete_another_districts_response(app, client, two_districts, mainz):
    rid = ids(app)["bad-kreuznach"]
    token = csrf_token(client.get("/admin/responses").get_data(as_text=True))
    response = client.post(
        f"/admin/responses/{rid}/delete", data={"csrf_token": token, "confirm": "yes"}
    )
    assert response.status_code == 404
    with app.app_context():
        assert db.session.get(Response, rid) is not None


def test_viewers_never_see_responses(client, create_user, auth, two_districts):
    create_user("viewer@example.org", role="viewer", districts=("mainz-bingen",))
    auth.login("viewer@example.org")
    assert client.get("/admin/responses").status_code == 403
    assert "/admin/responses" not in client.get("/admin/").get_data(as_text=True)


def test_audit_log_for_admins_only(client, create_user, auth, two_districts):
    create_user("admin@example.org", role="admin")
    create_user("mz2@example.org", districts=("mainz-bingen",))
    auth.login("mz2@example.org")
    assert client.get("/admin/audit").status_code == 403
    auth.logout()
    auth.login("admin@example.org")
    html = client.get("/admin/audit").get_data(as_text=True)
    assert "login" in html
    assert "mz2@example.org" in html


def test_route_sweep_other_district_is_404_everywhere(app, client, two_districts, mainz):
    """Every back-office route that names a district or a response refuses district B."""
    other = ids(app)["bad-kreuznach"]
    values = {
        "district": "bad-kreuznach",
        "response_id": other,
        "form_slug": "newcomer",
        "slug": "newcomer",
        "fmt": "csv",
    }
    checked = 0
    for rule in app.url_map.iter_rules():
        if not rule.endpoint.startswith("admin.") or not {"district", "response_id"} & set(
            rule.arguments
        ):
            continue
        url = rule.build({k: values[k] for k in rule.arguments})[1]
        token = csrf_token(client.get("/admin/").get_data(as_text=True))
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            response = client.open(url, method=method, data={"csrf_token": token, "confirm": "yes"})
            assert response.status_code == 404, (method, url)
            checked += 1
    assert checked >= 4
