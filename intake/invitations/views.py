"""Personal invitation links `/i/<token>`: the form for one invited person.

The district comes from the invitation and the page opens in the person's language
(they can still switch). The response is tied to the invitation; once answered, the
link follows the form's setting: "refuse" shows a page saying so with the reference
code, "edit" shows the earlier answers to change. A changed, expired or revoked link
gets a page that says which, in the person's language (a changed link: the browser's).
"""

from __future__ import annotations

from flask import abort, current_app, make_response, redirect, render_template, request, url_for

from intake import i18n
from intake.extensions import csrf
from intake.invitations import store
from intake.public.blueprint import bp
from intake.public.render import closed_page, render_form, render_outcome, to_receipt
from intake.storage.forms import availability, definition_of, published
from intake.storage.models import Invitation
from intake.storage.responses import answers_as_data
from intake.submissions import Target, form_for, new_key, submit

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
    lang = i18n.choose(
        definition.languages,
        definition.default_language,
        asked,
        beyond=definition.complete_languages,
    )
    problem = store.problem(found, form_row.invitation_reuse)
    if problem and not (request.method == "POST" and _is_repeat(found)):
        return _problem_page(problem, found)
    state = availability(form_row)
    if state != "open":
        return closed_page(definition, state)
    target = Target(
        "invitation",
        version,
        definition,
        found.district,
        invitation_id=found.id,
        replaces=earlier,
    )
    context = {
        "form_action": url_for(".invitation", token=token, lang=lang),
        "earlier": earlier,
    }
    if request.method == "GET":
        data = {"idempotency_key": new_key(), "district": found.district.slug, "src": ""}
        if earlier is not None:
            multiple = {f.name for f in definition.fields if f.kind.multiple}
            data.update(answers_as_data(earlier, multiple))
        return render_form(form_for(target, lang, data=data), 200, 0, **context)

    outcome = submit(target, request.form, lang, nav=request.form.get("nav", "send"), switch=switch)
    if outcome.status in ("stored", "repeat", "changed"):
        changed = outcome.status == "changed"
        return to_receipt(form_row.slug, outcome.reference, lang, changed=changed)
    if outcome.status == "conflict":
        abort(400)
    if outcome.status == "answered":
        # The same invitation was answered from another page meanwhile: its link
        # now says so (or shows that answer to change, as the form allows).
        return redirect(request.path, code=303)
    return render_outcome(outcome, **context)


def _is_repeat(found: Invitation) -> bool:
    """A POST that sends again the page whose answers were stored (a double click)."""
    response = found.response
    return response is not None and request.form.get("idempotency_key") == (
        response.idempotency_key
    )


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
