"""Respondent pages. Views parse the request, call the engine and storage, render."""

from __future__ import annotations

import re
import secrets

from flask import (
    abort,
    current_app,
    make_response,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from sqlalchemy import exc as sa_exc

from intake import i18n
from intake.engine.definition import PREFILL_MAX_LENGTH, FormDefinition
from intake.engine.wtf import PublicForm, build_form, clean_answers, valid_key, validate_fields
from intake.extensions import csrf, db
from intake.public import bp
from intake.public.pages import first_page_with_errors, neighbour, page_view, whole_view
from intake.storage import districts as district_store
from intake.storage.forms import all_published, availability, offered_districts, published
from intake.storage.models import District
from intake.storage.responses import KeyConflict, find_by_key, is_campaign, store_response

RECEIPT_KEY = "receipt"


@bp.get("/")
def index():
    """Open forms and the language choice."""
    i18n.choose(i18n.ui_languages())
    forms = [
        (form.slug, definition)
        for form, _version, definition in all_published()
        if availability(form) == "open"
    ]
    link_args = _link_args(request.args)
    return render_template("public/index.html", forms=forms, link_args=link_args)


@bp.route("/f/<slug>", methods=["GET", "POST"])
@csrf.exempt  # checked by the form itself, so an expired token keeps the answers
def form(slug: str):
    """Show a form (GET) or take a submission (POST)."""
    found = published(slug)
    if found is None:
        abort(404)
    form_row, version, definition = found
    state = availability(form_row)
    if state == "draft":
        abort(404)
    switch = request.form.get("switch_lang") if request.method == "POST" else None
    lang = i18n.choose(definition.languages, definition.default_language, switch)
    if state != "open":
        return _not_open(definition, state)
    values = request.form if request.method == "POST" else request.args
    offered = offered_districts(form_row)
    district = _district_from(values.get("district"), offered)
    if district is None and definition.municipality_field is None:
        return _choose_district(slug, offered)
    groups = district_store.municipality_groups([district] if district else offered)
    source = _clean_source(values.get("src"))

    if request.method == "GET":
        data = {
            "idempotency_key": new_key(),
            "district": district.slug if district else "",
            "src": source or "",
        }
        data.update(_prefill(definition, request.args))
        wtform = build_form(definition, lang, groups, district is None, data=data)
        return render_form(wtform, 200, 0)

    wtform = build_form(definition, lang, groups, district is None)
    key = wtform.idempotency_key.data
    earlier = find_by_key(key) if valid_key(key) else None
    if earlier is not None:
        # A repeat (double click, retry, replay): the same receipt, nothing stored.
        if earlier.form_id != version.form_id:
            abort(400)
        return _thank(earlier.form.slug, earlier.reference, lang)
    if not valid_key(key):
        wtform.idempotency_key.data = new_key()
    pages = definition.pages()
    current = _page_index(wtform.page.data, len(pages))
    if switch:
        # Another language for the same page; every answer stays, nothing is checked.
        return render_form(wtform, 200, current)
    nav = request.form.get("nav", "send")
    if nav == "back":
        return render_form(wtform, 200, neighbour(wtform, current, -1))
    if nav == "next":
        if not validate_fields(wtform, pages[current].fields):
            return render_form(wtform, 422, current)
        following = neighbour(wtform, current, +1)
        if following != current:
            return render_form(wtform, 200, following)
    if not validate_fields(wtform, definition.answer_fields) or not valid_key(key):
        first = first_page_with_errors(wtform)  # may be page 0, which is falsy
        return render_form(wtform, 422, current if first is None else first)
    return store_and_thank(wtform, version, definition, district, lang, source)


def store_and_thank(
    wtform, version, definition, district, lang, source, event_id=None, thank=None, **context
):
    """Store the valid answers (or find the earlier copy) and redirect to the receipt.

    `thank` makes the response to a stored submission (the kiosk has its own);
    `context` goes to the template when the form has to be shown again.
    """
    answers = clean_answers(wtform)
    if district is None:
        chosen = answers.get(definition.municipality_field.name, [None])[0]
        place = district_store.municipality(chosen) if chosen else None
        district = place.district if place else None
    if district is None:
        # The place question is then required (see docs/form-definitions.md).
        wtform[definition.municipality_field.name].errors.append(_("Please choose an answer."))
        return render_form(wtform, 422, first_page_with_errors(wtform) or 0, **context)
    try:
        receipt = store_response(
            version=version,
            district=district,
            language=lang,
            source=source,
            key=wtform.idempotency_key.data,
            answers=answers,
            consent_version=definition.consent_version,
            event_id=event_id,
        )
    except KeyConflict:
        abort(400)
    except sa_exc.OperationalError as exc:
        # Locked, full or unreachable: nothing was stored (one transaction). The
        # person gets their answers back with the same key, to send again.
        db.session.rollback()
        current_app.logger.error("submission not stored: %s", type(exc.orig).__name__)
        return render_form(wtform, 503, len(definition.pages()) - 1, unsaved=True, **context)
    if thank is not None:
        return thank(receipt)
    return _thank(receipt.form_slug, receipt.reference, lang)


def _thank(slug: str, reference: str, lang: str):
    """Remember the receipt in the session and send the browser to the thank-you page."""
    session[RECEIPT_KEY] = {"form": slug, "reference": reference}
    return redirect(url_for(".thanks", slug=slug, lang=lang), code=303)


@bp.get("/f/<slug>/thanks")
def thanks(slug: str):
    """The receipt: the reference code of the submission just made."""
    found = published(slug)
    if found is None:
        abort(404)
    definition = found[2]
    i18n.choose(definition.languages, definition.default_language)
    receipt = session.get(RECEIPT_KEY)
    if not receipt or receipt.get("form") != slug:
        return redirect(url_for(".form", slug=slug))
    response = make_response(
        render_template("public/thanks.html", definition=definition, reference=receipt["reference"])
    )
    response.headers["Cache-Control"] = "no-store"
    return response


def render_form(
    wtform: PublicForm,
    status: int,
    page_index: int = 0,
    unsaved: bool = False,
    whole: bool = False,
    **context,
):
    """Render one page of a form; its key and token must never come from a cache.

    `whole` shows every page at once instead of the page `page_index` (the kiosk);
    `context` goes to the template (the kiosk's event and generation).
    """
    csrf_expired = bool(wtform.csrf_token.errors) if status == 422 else False
    if csrf_expired:
        # Like every POST without a valid token this is a 400, but the page keeps
        # every answer and asks to send again, so nothing typed is lost.
        status = 400
    view = whole_view(wtform) if whole else page_view(wtform, page_index)
    errors = [q for q in view.questions if q.field is not None and q.field.errors]
    response = make_response(
        render_template(
            "public/form.html",
            wtform=wtform,
            definition=wtform.definition,
            view=view,
            errors=errors,
            csrf_expired=csrf_expired,
            unsaved=unsaved,
            **context,
        ),
        status,
    )
    response.headers["Cache-Control"] = "no-store"
    if unsaved:
        response.headers["Retry-After"] = "30"
    return response


def _page_index(value: str | None, count: int) -> int:
    """The page a submission came from; anything odd means the first page."""
    if value and re.fullmatch(r"[0-9]{1,4}", value) and int(value) < count:  # not "²", "٢"
        return int(value)
    return 0


def _choose_district(slug: str, offered: list[District]):
    """A form without a place question needs the district from the link or from here."""
    return render_template("public/choose_district.html", slug=slug, districts=offered)


def _not_open(definition: FormDefinition, state: str):
    """A closed form (or one not open yet) says so; old links must never just break."""
    response = make_response(
        render_template("public/closed.html", definition=definition, state=state), 410
    )
    response.headers["Cache-Control"] = "no-store"
    return response


def _district_from(value: str | None, offered: list[District]) -> District | None:
    """The district a link names; an unknown one is a broken link, answered with 404."""
    if not value:
        return None
    district = district_store.by_slug(value)
    if district is None:
        abort(404, description=_("This link names a district we do not know."))
    if district not in offered:
        abort(404, description=_("This form is not offered in this district."))
    return district


def _clean_source(value: str | None) -> str | None:
    """A campaign tag is short plain text; anything else is dropped, not stored."""
    if is_campaign(value):
        return value
    return None


def _prefill(definition: FormDefinition, args) -> dict[str, str]:
    """Values from the link for fields the definition allows to prefill."""
    return {
        f.name: args[f.name][:PREFILL_MAX_LENGTH]
        for f in definition.fields
        if f.prefill and args.get(f.name)
    }


def _link_args(args) -> dict[str, str]:
    """The link context (district, campaign) carried from the start page to a form."""
    out = {}
    if args.get("district") and district_store.by_slug(args["district"]):
        out["district"] = args["district"]
    if _clean_source(args.get("src")):
        out["src"] = args["src"]
    return out


def new_key() -> str:
    """A fresh idempotency key for one rendering of a form."""
    return secrets.token_urlsafe(24)


@bp.get("/healthz")
def healthz():
    """Liveness: the process answers requests."""
    return {"status": "ok"}


@bp.get("/readyz")
def readyz():
    """Readiness: the database answers and its schema is the one this code expects.

    A load balancer sends no traffic to an instance that answers 503 here (for
    example while a deployment's `db upgrade` has not run yet). No details leak.
    """
    from intake.storage.schema import schema_problem

    problem = schema_problem()
    if problem:
        return {"status": "unavailable", "reason": problem}, 503, {"Retry-After": "30"}
    return {"status": "ready"}
