"""Personal invitation links `/i/<token>`: the form for one invited person.

The district comes from the invitation and the page opens in the person's language
(they can still switch). The response is tied to the invitation; once answered, the
link follows the form's setting: "refuse" shows a page saying so with the reference
code, "edit" shows the earlier answers to change. A changed, expired or revoked link
gets a page that says which, in the person's language (a changed link: the browser's).
"""

from __future__ import annotations

from flask import abort, current_app, make_response, render_template, request, url_for
from sqlalchemy import exc as sa_exc

from intake import i18n
from intake.engine.wtf import build_form, clean_answers
from intake.extensions import csrf, db
from intake.public import bp
from intake.public.views import (
    closed_page,
    new_key,
    render_form,
    store_and_thank,
    take_submission,
    to_receipt,
)
from intake.storage import districts as district_store
from intake.storage import invitations as store
from intake.storage.forms import availability, definition_of, published
from intake.storage.models import Invitation
from intake.storage.responses import answers_as_data, replace_answers

#: HTTP status of each page for a link that cannot be used.
PROBLEM_STATUS = {"invalid": 404, "revoked": 410, "expired": 410, "answered": 409}


@bp.route("/i/<token>", methods=["GET", "POST"])
@csrf.exempt  # checked by the form itself, as on /f/<form>
def invitation(token: str):
    """The invited person's form (GET), or their answers (POST)."""
    found = store.from_token(token)
    if found is None:
        i18n.choose(i18n.ui_languages(), current_app.config["DEFAULT_LANGUAGE"])
        return _problem_page("invalid", None)
    form_row = found.form
    latest = published(form_row.slug)
    if latest is None or availability(form_row) == "draft":
        abort(404)
    _form, version, definition = latest
    earlier = found.response if form_row.invitation_reuse == "edit" else None
    if earlier is not None:
        # Changes are checked against the version that was answered.
        version = earlier.form_version
        definition = definition_of(version)
    switch = request.form.get("switch_lang") if request.method == "POST" else None
    asked = switch or request.args.get("lang") or found.language
    lang = i18n.choose(definition.languages, definition.default_language, asked)
    problem = store.problem(found, form_row.invitation_reuse)
    if problem and not (request.method == "POST" and _is_repeat(found)):
        return _problem_page(problem, found)
    state = availability(form_row)
    if state != "open":
        return closed_page(definition, state)
    groups = district_store.municipality_groups([found.district])
    context = {
        "form_action": url_for(".invitation", token=token, lang=lang),
        "earlier": earlier,
    }
    if request.method == "GET":
        data = {"idempotency_key": new_key(), "district": found.district.slug, "src": ""}
        if earlier is not None:
            multiple = {f.name for f in definition.fields if f.type == "multiple_choice"}
            data.update(answers_as_data(earlier, multiple))
        wtform = build_form(definition, lang, groups, data=data)
        return render_form(wtform, 200, 0, **context)

    wtform = build_form(definition, lang, groups)
    wtform.district.data = found.district.slug  # whatever the page sent

    def repeat(response):
        if response.invitation_id != found.id:
            abort(400)
        return to_receipt(form_row.slug, response.reference, lang)

    def finish():
        if earlier is not None:
            return _change(wtform, earlier, lang, context)
        return store_and_thank(
            wtform,
            version,
            definition,
            found.district,
            lang,
            None,
            invitation_id=found.id,
            **context,
        )

    return take_submission(wtform, form_row.id, switch, repeat, finish, **context)


def _is_repeat(found: Invitation) -> bool:
    """A POST that sends again the page whose answers were stored (a double click)."""
    response = found.response
    return response is not None and request.form.get("idempotency_key") == (
        response.idempotency_key
    )


def _change(wtform, earlier, lang: str, context: dict):
    """Store the changed answers of an invitation in place of the earlier ones."""
    try:
        replace_answers(earlier, clean_answers(wtform), lang)
    except sa_exc.OperationalError as exc:
        db.session.rollback()
        current_app.logger.error("changed answers not stored: %s", type(exc.orig).__name__)
        last = len(wtform.definition.pages()) - 1
        return render_form(wtform, 503, last, unsaved="busy", **context)
    return to_receipt(earlier.form.slug, earlier.reference, lang, changed=True)


def _problem_page(problem: str, found: Invitation | None):
    """Why this link cannot be used, and whom to ask; never a bare error page."""
    definition = None
    if found is not None:
        latest = published(found.form.slug)
        definition = latest[2] if latest else None
    response = make_response(
        render_template(
            "public/invitation_problem.html",
            problem=problem,
            invitation=found,
            definition=definition,
        ),
        PROBLEM_STATUS[problem],
    )
    response.headers["Cache-Control"] = "no-store"
    return response
