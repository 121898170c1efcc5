"""The form studio over HTTP, as a coordinator's browser without JavaScript drives it."""

from __future__ import annotations

import re
from html import unescape

import pytest
import sqlalchemy as sa
import sqlalchemy.orm as so

from intake.extensions import db
from intake.storage.models import AuditEvent, Form, FormVersion
from tests.conftest import AuthActions, csrf_token, form_payload, response_count, stored_answers


@pytest.fixture
def coordinator(create_user, auth):
    create_user("mz@example.org", districts=("mainz-bingen",))
    auth.login("mz@example.org")


def page_inputs(html: str) -> dict[str, str]:
    """The CSRF token and the draft revision of the studio page's first form."""
    revision = re.search(r'name="revision" value="(\d+)"', html)
    return {"csrf_token": csrf_token(html), "revision": revision.group(1) if revision else "0"}


def post_page(client, url: str, data: dict, expect: int = 302):
    """Open a studio page and send its form with `data`, like a browser without scripts."""
    page = client.get(url)
    assert page.status_code == 200, page.get_data(as_text=True)
    response = client.post(url, data={**page_inputs(page.get_data(as_text=True)), **data})
    assert response.status_code == expect, response.get_data(as_text=True)[:3000]
    return response


def post_from(client, page: str, action: str, data: dict, expect: int = 302):
    """Send one of the small forms (move, delete) of the studio page `page`."""
    html = client.get(page).get_data(as_text=True)
    response = client.post(action, data={**page_inputs(html), **data})
    assert response.status_code == expect, response.get_data(as_text=True)[:3000]
    return response


def new_form(client, slug="fahrdienst", title="Fahrdienst zum Amt", languages=("ar",)):
    data = {"start": "blank", "title": title, "slug": slug}
    data.update({f"language_{code}": "on" for code in languages})
    response = post_page(client, "/admin/forms/new", data)
    assert response.headers["Location"] == f"/admin/forms/{slug}/edit"


def add(client, slug: str, type_: str, after: str | None = None, expect: int = 302, **data):
    query = f"type={type_}" + (f"&after={after}" if after else "")
    return post_page(client, f"/admin/forms/{slug}/edit/questions/new?{query}", data, expect)


def draft(app, slug: str) -> FormVersion:
    with app.app_context():
        form = db.session.scalar(sa.select(Form).where(Form.slug == slug))
        version = db.session.scalar(
            sa.select(FormVersion)
            .where(FormVersion.form_id == form.id, FormVersion.published_at.is_(None))
            .options(so.undefer(FormVersion.definition))
        )
        if version is not None:
            db.session.expunge(version)
        return version


def build_two_page_form(client):
    """A car-sharing form: name and car on page 1; page 2 only with a car, its seats checked."""
    new_form(client)
    add(
        client,
        "fahrdienst",
        "text",
        label_de="Ihr Name",
        label_ar="اسمك",
        required="on",
        personal="on",
    )
    add(
        client,
        "fahrdienst",
        "yes_no",
        label_de="Haben Sie einen Führerschein und ein Auto?",
        label_ar="هل لديك رخصة قيادة وسيارة؟",
        required="on",
    )
    add(
        client,
        "fahrdienst",
        "page",
        label_de="Ihr Auto",
        label_ar="سيارتك",
        cond_q_0="haben_sie_einen_fuehrerschein_und_ein_au",
        cond_op_0="is",
        cond_value_0="yes",
    )
    add(
        client,
        "fahrdienst",
        "integer",
        label_de="Wie viele freie Sitze?",
        label_ar="كم عدد المقاعد الفارغة؟",
        required="on",
        check="range",
        check_low="1",
        check_high="8",
        check_message_de="Bitte 1 bis 8 Sitze.",
        check_message_ar="من 1 إلى 8 مقاعد من فضلك.",
    )


def test_a_coordinator_builds_previews_and_publishes_a_two_page_form(app, client, coordinator):
    build_two_page_form(client)
    edit = client.get("/admin/forms/fahrdienst/edit").get_data(as_text=True)
    assert "Haben Sie einen Führerschein und ein Auto?" in edit
    assert "Ihr Auto" in edit
    # Still a draft: nothing public.
    public = app.test_client()
    assert public.get("/f/fahrdienst").status_code == 404

    # The Arabic preview, right to left, says nothing is saved and cannot send.
    preview = client.get("/admin/forms/fahrdienst/preview?lang=ar&width=phone")
    html = preview.get_data(as_text=True)
    assert '<html lang="ar" dir="rtl"' in html
    assert "preview-phone" in html
    assert "اسمك" in html
    assert "هل لديك رخصة قيادة وسيارة؟" in html
    assert "Vorschau – nichts wird gespeichert" not in html  # in the page's language
    page_two = client.get("/admin/forms/fahrdienst/preview?lang=ar&page=1").get_data(as_text=True)
    assert "كم عدد المقاعد الفارغة؟" in page_two

    # A name without a privacy notice and consent: publishing is refused, naming the question.
    refused = client.get("/admin/forms/fahrdienst/publish").get_data(as_text=True)
    assert (
        "„Ihr Name“ fragt nach personenbezogenen Daten: Das Formular braucht einen "
        "Datenschutzhinweis." in refused
    )
    assert "Das Formular braucht eine Einwilligungsfrage." in refused
    assert "Version 1 veröffentlichen" not in refused
    response = client.post("/admin/forms/fahrdienst/publish", data=page_inputs(refused))
    assert response.status_code == 422
    assert public.get("/f/fahrdienst").status_code == 404

    post_page(
        client,
        "/admin/forms/fahrdienst/edit/details",
        {
            "language_ar": "on",
            "title_de": "Fahrdienst zum Amt",
            "title_ar": "خدمة التوصيل",
            "notice_de": "Verantwortlich ist die Kreisverwaltung. Wir nutzen Ihre Angaben nur für "
            "den Fahrdienst.",
            "notice_ar": "الجهة المسؤولة هي إدارة الدائرة.",
            "privacy_version": "2027-01-01",
        },
    )
    add(
        client,
        "fahrdienst",
        "consent",
        after="wie_viele_freie_sitze",
        key="consent",
        label_de="Ich bin einverstanden.",
        label_ar="أنا موافق.",
        required="on",
    )
    ok = client.get("/admin/forms/fahrdienst/publish").get_data(as_text=True)
    assert "Version 1 veröffentlichen" in ok
    assert client.post("/admin/forms/fahrdienst/publish", data=page_inputs(ok)).status_code == 302

    # A respondent answers it in Arabic: page 2 follows the condition, the check holds.
    url = "/f/fahrdienst?lang=ar&district=mainz-bingen"  # no place question: the link says
    first = public.get(url)
    assert first.status_code == 200
    data = form_payload(
        first.get_data(as_text=True),
        {
            "ihr_name": "Samira",
            "haben_sie_einen_fuehrerschein_und_ein_au": "yes",
            "wie_viele_freie_sitze": "12",
            "consent": "y",
            "nav": "send",
            "page": "1",  # sent from the last page, the car's
        },
    )
    too_many = public.post(url, data=data)
    assert too_many.status_code == 422
    assert "من 1 إلى 8 مقاعد من فضلك." in too_many.get_data(as_text=True)
    data["wie_viele_freie_sitze"] = "3"
    sent = public.post(url, data=data)
    assert sent.status_code == 303, sent.get_data(as_text=True)[:2000]
    [answers] = stored_answers(app)
    assert answers["wie_viele_freie_sitze"] == ["3"]
    with app.app_context():
        actions = db.session.scalars(sa.select(AuditEvent.action)).all()
    assert {"studio.create", "studio.question", "studio.details", "studio.publish"} <= set(actions)


def test_a_draft_edit_leaves_the_public_form_byte_for_byte_unchanged(
    app, create_user, auth, client
):
    create_user("admin@example.org", role="admin")
    auth.login("admin@example.org")
    public = app.test_client()

    def page() -> str:
        html = public.get("/f/volunteer?lang=ar").get_data(as_text=True)
        # The key and token of each render are new by design; everything else must not move.
        return re.sub(r'(name="(?:csrf_token|idempotency_key)"[^>]*value=")[^"]+', r"\1", html)

    before = page()
    post_page(
        client,
        "/admin/forms/volunteer/edit/questions/first_name",
        {"label_de": "Rufname", "label_ar": "الاسم", "required": "on", "personal": "on"},
    )
    assert draft(app, "volunteer") is not None
    assert page() == before
    assert "Rufname" in client.get("/admin/forms/volunteer/preview").get_data(as_text=True)


def test_the_preview_cannot_store_answers(app, client, create_user, auth):
    create_user("admin@example.org", role="admin")
    auth.login("admin@example.org")
    html = client.get("/admin/forms/newcomer/preview?lang=ar").get_data(as_text=True)
    assert 'action="#"' in html
    assert '<div class="form-nav" hidden>' in html
    assert client.post("/admin/forms/newcomer/preview", data={"nav": "send"}).status_code == 405
    assert response_count(app) == 0
    export = client.get("/admin/exports/all/newcomer.csv").get_data(as_text=True)
    assert len(export.strip().splitlines()) == 1  # the header alone


def test_the_impact_page_names_a_removed_question_and_the_answers_it_had(
    app, client, create_user, auth, submit
):
    from tests.conftest import VOLUNTEER_ANSWERS

    assert submit("volunteer", VOLUNTEER_ANSWERS).status_code == 303
    create_user("admin@example.org", role="admin")
    auth.login("admin@example.org")
    post_from(
        client,
        "/admin/forms/volunteer/edit",
        "/admin/forms/volunteer/edit/delete",
        {"name": "experience"},
    )
    html = client.get("/admin/forms/volunteer/publish").get_data(as_text=True)
    row = re.search(
        r"<tr>\s*<th scope=\"row\">([^<]*)<span[^>]*><bdi dir=\"ltr\">experience"
        r"</bdi></span></th>\s*<td>([^<]*)</td>\s*<td>(\d+)</td>",
        html,
    )
    assert row, html[:4000]
    assert "entfernt" in row.group(2)
    assert row.group(3) == "1"


def test_deleting_a_question_a_condition_reads_is_refused(app, client, coordinator):
    build_two_page_form(client)
    car = "haben_sie_einen_fuehrerschein_und_ein_au"
    response = post_from(
        client,
        "/admin/forms/fahrdienst/edit",
        "/admin/forms/fahrdienst/edit/delete",
        {"name": car},
        expect=409,
    )
    assert "ihr_auto" in response.get_data(as_text=True)
    assert car in {f["name"] for f in draft(app, "fahrdienst").definition["fields"]}


def test_two_editors_of_one_draft_never_overwrite_each_other(app, create_user, auth, client):
    create_user("admin@example.org", role="admin")
    create_user("mz@example.org", districts=("mainz-bingen",))
    auth.login("mz@example.org")
    new_form(client)
    add(client, "fahrdienst", "text", label_de="Ihr Name")
    other = app.test_client()
    AuthActions(other).login("admin@example.org")
    url = "/admin/forms/fahrdienst/edit/questions/ihr_name"
    mine = client.get(url).get_data(as_text=True)
    theirs = other.get(url).get_data(as_text=True)
    assert (
        other.post(url, data={**page_inputs(theirs), "label_de": "Vor- und Nachname"}).status_code
        == 302
    )
    late = client.post(url, data={**page_inputs(mine), "label_de": "Name der Person"})
    assert late.status_code == 409
    html = late.get_data(as_text=True)
    assert "admin@example.org" in html
    assert "Vor- und Nachname" in html  # their change, shown
    assert "Name der Person" in html  # and mine, not lost from the screen
    labels = [f["label"]["de"] for f in draft(app, "fahrdienst").definition["fields"]]
    assert "Vor- und Nachname" in labels
    assert "Name der Person" not in labels


def test_bad_input_gets_a_message_at_the_input_and_saves_nothing(app, client, coordinator):
    new_form(client)
    revision = draft(app, "fahrdienst").revision
    url = "/admin/forms/fahrdienst/edit/questions/new?type=single_choice"
    page = client.get(url).get_data(as_text=True)
    response = client.post(
        url,
        data={
            **page_inputs(page),
            "label_de": "x" * 5000,
            "choice_code_0": "a b",
            "choice_de_0": "Ja",
            "choice_code_1": "nein",
            "choice_de_1": "Nein",
            "choice_code_2": "nein",
            "choice_de_2": "Nö",
            "choice_code_3": "",
            "choice_ar_3": "نعم",
        },
    )
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "Höchstens 500 Zeichen (dieser Text hat 5000)." in html
    assert 'id="choice_code_0-error"' in html
    assert "Der Code „nein“ kommt zweimal vor." in html
    assert 'id="choice_de_3-error"' in html
    assert draft(app, "fahrdienst").revision == revision  # nothing half-saved


def test_types_are_named_in_german_and_what_the_engine_refuses_is_said_at_the_input(
    app, client, coordinator
):
    new_form(client)
    edit = client.get("/admin/forms/fahrdienst/edit").get_data(as_text=True)
    assert '<option value="single_choice">Eine Auswahl</option>' in edit
    assert '<option value="municipality">Wohnort (Gemeinden der Landkreise)</option>' in edit
    add(client, "fahrdienst", "municipality", label_de="Wo wohnen Sie?", required="on")
    edit = client.get("/admin/forms/fahrdienst/edit").get_data(as_text=True)
    assert "· Wohnort (Gemeinden der Landkreise) ·" in edit  # in the list of questions
    assert '<option value="municipality">' not in edit  # a form asks for it once
    revision = draft(app, "fahrdienst").revision

    again = add(client, "fahrdienst", "municipality", label_de="Noch ein Wohnort", expect=422)
    assert "Dieses Formular hat schon eine Frage vom Typ „Wohnort" in again.get_data(as_text=True)
    secret = add(
        client,
        "fahrdienst",
        "text",
        label_de="Diagnose",
        sensitive="on",
        prefill="on",
        expect=422,
    )
    html = secret.get_data(as_text=True)
    assert 'id="prefill-error"' in html
    assert "kann nicht über einen Link vorausgefüllt werden" in html
    assert draft(app, "fahrdienst").revision == revision  # nothing saved


def test_keys_of_the_form_pages_own_inputs_are_never_given_to_a_question(app, client, coordinator):
    new_form(client)
    typed = add(client, "fahrdienst", "text", label_de="Bezirk", key="district", expect=422)
    assert "Den Schlüssel „district“ verwendet das Formular selbst." in typed.get_data(as_text=True)
    add(client, "fahrdienst", "integer", label_de="Page")  # the key is made from the text
    keys = [f["name"] for f in draft(app, "fahrdienst").definition["fields"]]
    assert keys == ["seite_1", "page_2"]


def test_texts_insert_answers_of_questions_the_form_has_and_follow_their_keys(
    app, client, coordinator
):
    new_form(client)
    add(client, "fahrdienst", "text", label_de="Ihr Name", key="name")
    wrong = add(client, "fahrdienst", "integer", label_de="Alter von ${kind}", expect=422)
    assert "„${kind}“ würde die Antwort auf die Frage mit dem Schlüssel „kind“ einsetzen" in (
        wrong.get_data(as_text=True)
    )
    add(client, "fahrdienst", "integer", label_de="Wie alt sind Sie, ${name}?", key="alter")
    post_page(
        client,
        "/admin/forms/fahrdienst/edit/questions/name",
        {"label_de": "Ihr Name", "key": "vorname"},
    )
    fields = draft(app, "fahrdienst").definition["fields"]
    assert fields[-1]["label"]["de"] == "Wie alt sind Sie, ${vorname}?"  # followed the key
    refused = post_from(
        client,
        "/admin/forms/fahrdienst/edit",
        "/admin/forms/fahrdienst/edit/delete",
        {"name": "vorname"},
        expect=409,
    )
    assert "alter" in refused.get_data(as_text=True)  # names the question whose text uses it


def test_the_preview_side_by_side_shows_the_main_language_and_a_right_to_left_one(
    app, client, coordinator
):
    new_form(client, languages=("en", "fa", "uk"))
    page = client.get("/admin/forms/fahrdienst/preview/side-by-side")
    html = page.get_data(as_text=True)
    frames = re.findall(r'<iframe src="([^"]+)" title="([^"]+)"', html)
    assert [unescape(src) for src, _title in frames] == [
        "/admin/forms/fahrdienst/preview?lang=de&width=phone&framed=1",
        "/admin/forms/fahrdienst/preview?lang=fa&width=phone&framed=1",  # RTL before English
    ]
    assert [t for _src, t in frames] == ["Vorschau auf Deutsch", "Vorschau auf فارسی / دری"]
    assert "<h1>Vorschau nebeneinander: Fahrdienst zum Amt</h1>" in html
    chosen = client.get("/admin/forms/fahrdienst/preview/side-by-side?left=en&right=uk")
    assert "lang=en&amp;width=phone" in chosen.get_data(as_text=True)
    assert "lang=uk&amp;width=phone" in chosen.get_data(as_text=True)
    odd = client.get("/admin/forms/fahrdienst/preview/side-by-side?left=xx&right=%3Cb%3E")
    assert odd.status_code == 200
    assert "lang=de&amp;width=phone" in odd.get_data(as_text=True)  # back to the defaults
    framed = client.get(unescape(frames[1][0]))
    assert framed.headers["Content-Security-Policy"].endswith("frame-ancestors 'self'")
    assert "X-Frame-Options" not in framed.headers
    assert "Zwei Sprachen nebeneinander" not in framed.get_data(as_text=True)  # not in a frame
    assert client.get("/admin/forms/nichts/preview/side-by-side").status_code == 404

    new_form(client, slug="nur-deutsch", languages=())
    alone = client.get("/admin/forms/nur-deutsch/preview/side-by-side").get_data(as_text=True)
    assert "Dieses Formular hat nur eine Sprache." in alone
    assert alone.count("<iframe") == 1


def test_viewers_and_coordinators_of_one_district_cannot_edit_shared_forms(
    client, create_user, auth
):
    create_user("viewer@example.org", role="viewer", districts=("mainz-bingen",))
    create_user("mz@example.org", districts=("mainz-bingen",))
    auth.login("viewer@example.org")
    assert client.get("/admin/forms/new").status_code == 403
    assert client.get("/admin/forms/volunteer/edit").status_code == 403
    auth.logout()
    auth.login("mz@example.org")
    assert client.get("/admin/forms/new").status_code == 200
    # The demo forms are shared by both districts: only an administrator changes them.
    assert client.get("/admin/forms/volunteer/edit").status_code == 403
    assert client.get("/admin/forms/volunteer/edit/questions/first_name").status_code == 403
    assert client.get("/admin/forms/newcomer/publish").status_code == 403


def test_a_published_key_is_locked(app, client, create_user, auth):
    create_user("admin@example.org", role="admin")
    auth.login("admin@example.org")
    url = "/admin/forms/volunteer/edit/questions/first_name"
    assert re.search(
        r'id="key" name="key"[^>]*value="first_name"[^>]*readonly',
        client.get(url).get_data(as_text=True),
    )
    post_page(
        client, url, {"key": "rufname", "label_de": "Rufname", "required": "on", "personal": "on"}
    )
    fields = {f["name"]: f for f in draft(app, "volunteer").definition["fields"]}
    assert "rufname" not in fields
    assert fields["first_name"]["label"]["de"] == "Rufname"
    # A question new in the draft may change its key until it is published.
    add(client, "volunteer", "text", label_de="Führerschein?", key="fuehrerschein")
    post_page(
        client,
        "/admin/forms/volunteer/edit/questions/fuehrerschein",
        {"key": "licence", "label_de": "Führerschein?"},
    )
    assert "licence" in {f["name"] for f in draft(app, "volunteer").definition["fields"]}


def test_cli_imports_as_a_draft_and_refuses_to_publish_personal_data_without_consent(
    app, cli, tmp_path
):
    path = tmp_path / "kurz.yaml"
    path.write_text(
        "form: kurz\ndefault_language: de\nlanguages: [de]\ntitle: {de: Kurz}\nfields:\n"
        "  - {name: name, type: text, personal: true, label: {de: Ihr Name}}\n",
        encoding="utf-8",
    )
    refused = cli("forms", "import", "--publish", str(path))
    assert refused.exit_code == 1
    assert "kurz.yaml [name]:" in refused.output
    assert "Einwilligung" in refused.output or "consent" in refused.output
    imported = cli("forms", "import", str(path))
    assert imported.exit_code == 0, imported.output
    assert app.test_client().get("/f/kurz").status_code == 404
    assert cli("forms", "publish", "kurz").exit_code == 1
    assert app.test_client().get("/f/kurz").status_code == 404
