"""Coordinators manage forms: upload, preview, publish, close, dates, districts, export."""

from __future__ import annotations

import io
import re

import pytest
import yaml

from intake.storage.forms import draft_of, form_named
from tests.conftest import csrf_token, form_payload, stored_answers

SIMPLE = """
form: sprachcafe
default_language: de
languages: [de, en, ar]
title: {de: Sprachcafé, en: Language café, ar: مقهى اللغة}
fields:
  - name: municipality
    type: municipality
    required: true
    label: {de: "Wo wohnen Sie?", en: "Where do you live?", ar: "أين تسكن؟"}
  - name: visits
    type: integer
    label: {de: "Wie oft waren Sie schon da?", en: "How often have you come?", ar: "كم مرة حضرت؟"}
"""


@pytest.fixture
def coordinator(create_user, auth):
    create_user("mz@example.org", districts=("mainz-bingen",))
    auth.login("mz@example.org")


@pytest.fixture
def admin(create_user, auth):
    create_user("admin@example.org", role="admin")
    auth.login("admin@example.org")


def upload(client, content: bytes, filename: str, replaces: str = ""):
    """Upload on the list of forms; `replaces`: the form chosen under "The file is for"."""
    token = csrf_token(client.get("/admin/forms").get_data(as_text=True))
    return client.post(
        "/admin/forms/upload",
        data={"csrf_token": token, "file": (io.BytesIO(content), filename), "replaces": replaces},
        content_type="multipart/form-data",
    )


def set_status(client, slug: str, status: str):
    token = csrf_token(client.get(f"/admin/forms/{slug}").get_data(as_text=True))
    return client.post(f"/admin/forms/{slug}/status", data={"csrf_token": token, "status": status})


def publish(client, slug: str):
    """Publish the form's draft as a coordinator would: the impact page, then its button."""
    page = client.get(f"/admin/forms/{slug}/publish").get_data(as_text=True)
    revision = re.search(r'name="revision" value="(\d+)"', page).group(1)
    return client.post(
        f"/admin/forms/{slug}/publish", data={"csrf_token": csrf_token(page), "revision": revision}
    )


def test_forms_list_shows_status_and_languages(client, coordinator):
    html = client.get("/admin/forms").get_data(as_text=True)
    assert "Ehrenamtlich helfen und Integrationslotse werden" in html
    assert "de, en, ar" in html
    assert 'class="status open"' in html


def test_uploaded_form_is_a_draft_until_published(client, coordinator):
    response = upload(client, SIMPLE.encode(), "sprachcafe.yaml")
    assert response.status_code == 302
    assert response.headers["Location"] == "/admin/forms/sprachcafe/edit"
    detail = client.get("/admin/forms/sprachcafe/edit").get_data(as_text=True)
    assert "Als Entwurf importiert. Öffentlich ist nichts, bis Sie veröffentlichen." in detail
    assert "Sie bearbeiten einen Entwurf (Version 1)" in detail
    public = client.application.test_client()
    assert public.get("/f/sprachcafe").status_code == 404
    assert "/f/sprachcafe" not in public.get("/").get_data(as_text=True)
    assert publish(client, "sprachcafe").status_code == 302  # the first publication opens it
    assert public.get("/f/sprachcafe").status_code == 200
    assert "/f/sprachcafe" in public.get("/").get_data(as_text=True)


def test_closed_form_says_so_in_the_respondents_language(client, admin):
    set_status(client, "volunteer", "closed")
    response = client.application.test_client().get("/f/volunteer?lang=ar")
    assert response.status_code == 410
    html = response.get_data(as_text=True)
    assert 'dir="rtl"' in html
    assert "التطوع معنا" in html  # the form's title, so people know which form it was


def test_upload_with_problems_lists_every_problem_and_imports_nothing(client, coordinator):
    broken = SIMPLE.replace("type: integer", "type: number").replace(
        "form: sprachcafe", "form: Sprach Café"
    )
    response = upload(client, broken.encode(), "kaputt.yaml")
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "kaputt.yaml" in html
    assert "&#39;form&#39; must be a slug" in html
    assert "field &#39;visits&#39; (fields[1]): &#39;type&#39; must be one of" in html
    assert "sprachcafe" not in client.get("/admin/forms").get_data(as_text=True)


@pytest.mark.parametrize(
    ("content", "filename", "status"),
    [(b"hello", "notes.txt", 415), (b"\x00\x01garbage", "form.xlsx", 422), (b"", "", 422)],
)
def test_unusable_uploads_are_refused_clearly(client, coordinator, content, filename, status):
    response = upload(client, content, filename)
    assert response.status_code == status
    assert 'role="alert"' in response.get_data(as_text=True)


def test_viewer_may_look_but_not_change(client, create_user, auth):
    create_user("viewer@example.org", role="viewer", districts=("mainz-bingen",))
    auth.login("viewer@example.org")
    assert client.get("/admin/forms").status_code == 200
    assert "Upload" not in client.get("/admin/forms?lang=en").get_data(as_text=True)
    assert upload(client, SIMPLE.encode(), "sprachcafe.yaml").status_code == 403
    assert set_status(client, "volunteer", "closed").status_code == 403


def test_upload_without_csrf_token_is_refused(client, coordinator):
    response = client.post(
        "/admin/forms/upload",
        data={"file": (io.BytesIO(SIMPLE.encode()), "x.yaml")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 400


def test_preview_in_arabic_cannot_send(client, coordinator):
    html = client.get("/admin/forms/newcomer/preview?lang=ar").get_data(as_text=True)
    assert '<html lang="ar" dir="rtl">' in html
    assert "ماذا تحتاج؟" in html
    assert 'class="preview-banner"' in html
    assert 'action="#"' in html
    assert re.search(r'<div class="form-nav" hidden>', html)


def test_dates_and_districts_decide_where_and_when_a_form_is_open(client, admin):
    token = csrf_token(client.get("/admin/forms/newcomer").get_data(as_text=True))
    response = client.post(
        "/admin/forms/newcomer/settings",
        data={
            "csrf_token": token,
            "opens_on": "2099-01-01",
            "closes_on": "",
            "districts": ["mainz-bingen"],
        },
    )
    assert response.status_code == 302
    public = client.application.test_client()
    not_yet = public.get("/f/newcomer?lang=en")
    assert not_yet.status_code == 410
    assert "not open yet" in not_yet.get_data(as_text=True)

    token = csrf_token(client.get("/admin/forms/newcomer").get_data(as_text=True))
    client.post(
        "/admin/forms/newcomer/settings",
        data={"csrf_token": token, "opens_on": "", "closes_on": "", "districts": ["mainz-bingen"]},
    )
    html = public.get("/f/newcomer?lang=en").get_data(as_text=True)
    assert "Bingen am Rhein" in html
    assert "Bad Kreuznach (Stadt)" not in html
    other = public.get("/f/newcomer?lang=en&district=bad-kreuznach")
    assert other.status_code == 404
    assert "This form is not offered in this district." in other.get_data(as_text=True)


def test_bad_dates_get_a_clear_message(client, admin):
    token = csrf_token(client.get("/admin/forms/newcomer").get_data(as_text=True))
    response = client.post(
        "/admin/forms/newcomer/settings?lang=en",
        data={"csrf_token": token, "opens_on": "2026-05-01", "closes_on": "2026-04-01"},
    )
    assert response.status_code == 422
    assert "The last day is before the first day." in response.get_data(as_text=True)
    token = csrf_token(response.get_data(as_text=True))
    response = client.post(
        "/admin/forms/newcomer/settings?lang=en",
        data={"csrf_token": token, "opens_on": "1.5.2026"},
    )
    assert response.status_code == 422
    assert "Please enter a date like 2026-12-31." in response.get_data(as_text=True)


def test_yaml_export_reimports_unchanged(client, admin):
    exported = client.get("/admin/forms/volunteer/export.yaml")
    assert exported.status_code == 200
    assert yaml.safe_load(exported.data)["form"] == "volunteer"
    response = upload(client, exported.data, "volunteer.yaml", replaces="volunteer")
    assert response.status_code == 302
    detail = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Das Formular ist unverändert (Version 1)." in detail


def test_a_file_whose_address_is_taken_never_silently_becomes_that_forms_version(
    app, client, admin
):
    """An unrelated form that happens to have form_id 'volunteer' is refused, naming the
    form that has the address; chosen as that form's next version, it becomes its draft."""
    other = SIMPLE.replace("form: sprachcafe", "form: volunteer")
    refused = upload(client, other.encode(), "fremd.yaml")
    assert refused.status_code == 409
    html = refused.get_data(as_text=True)
    assert "Ein Formular mit der Adresse „volunteer“ gibt es schon:" in html
    assert "Ehrenamt" in html  # its title
    with app.app_context():
        volunteer = form_named("volunteer")
        assert draft_of(volunteer) is None  # nothing imported

    page = client.get("/admin/forms").get_data(as_text=True)
    assert '<option value="volunteer">' in page  # "the next version of ..."
    chosen = upload(client, SIMPLE.encode(), "sprachcafe.yaml", replaces="volunteer")
    assert chosen.headers["Location"] == "/admin/forms/volunteer/edit"
    with app.app_context():
        assert draft_of(form_named("volunteer")) is not None
        assert form_named("sprachcafe") is None
    unknown = upload(client, SIMPLE.encode(), "sprachcafe.yaml", replaces="nichts")
    assert unknown.status_code == 422


def test_coordinator_manages_own_forms_but_not_shared_ones(app, client, coordinator):
    # The demo forms are offered in both districts: a Mainz-Bingen coordinator cannot close them.
    assert set_status(client, "volunteer", "closed").status_code == 403
    assert "only an administrator can change it" in client.get(
        "/admin/forms/volunteer?lang=en"
    ).get_data(as_text=True)
    exported = client.get("/admin/forms/volunteer/export.yaml").data
    changed = exported.replace(b"Vorname", b"Rufname")
    assert upload(client, changed, "volunteer.yaml").status_code == 409  # not theirs to choose
    assert upload(client, changed, "volunteer.yaml", replaces="volunteer").status_code == 403
    # A form they upload is offered in their district, and they may open it.
    upload(client, SIMPLE.encode(), "sprachcafe.yaml")
    assert publish(client, "sprachcafe").status_code == 302
    assert set_status(client, "sprachcafe", "closed").status_code == 302
    assert set_status(client, "sprachcafe", "open").status_code == 302
    html = client.application.test_client().get("/f/sprachcafe").get_data(as_text=True)
    assert "Bingen am Rhein" in html
    assert "Bad Kreuznach (Stadt)" not in html


def test_questions_named_like_the_pages_own_inputs_are_renamed_and_answered(
    app, client, coordinator
):
    """An XLSForm asking for 'district' and 'page' (common in humanitarian surveys): the
    questions become q_district and q_page (with a note), a condition follows the rename,
    and the answers are stored once, next to the page's own district and page inputs."""
    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "survey"
    for row in (
        ["type", "name", "label::Deutsch (de)", "relevant"],
        ["text", "district", "In welchem Bezirk wohnten Sie?", ""],
        ["integer", "page", "Wie viele Seiten hat Ihr Pass?", "${district} != ''"],
    ):
        sheet.append(row)
    settings = book.create_sheet("settings")
    settings.append(["form_id", "form_title"])
    settings.append(["herkunft", "Herkunft"])
    data = io.BytesIO()
    book.save(data)
    imported = upload(client, data.getvalue(), "herkunft.xlsx")
    assert imported.status_code == 302
    edit = client.get(imported.headers["Location"]).get_data(as_text=True)
    assert "the name &#39;district&#39; becomes &#39;q_district&#39;" in edit  # the note
    assert publish(client, "herkunft").status_code == 302

    respondent = app.test_client()
    page = respondent.get("/f/herkunft?district=mainz-bingen").get_data(as_text=True)
    assert page.count('name="district"') == 1  # the page's own, hidden
    assert page.count('name="page"') == 1
    assert 'name="q_district"' in page
    assert 'name="q_page"' in page
    answers = {"q_district": "Herat", "q_page": "32", "nav": "send"}
    sent = respondent.post("/f/herkunft?district=mainz-bingen", data=form_payload(page, answers))
    assert sent.status_code == 303
    [stored] = stored_answers(app)
    assert stored["q_district"] == ["Herat"]
    assert stored["q_page"] == ["32"]
