"""Respondent pages. Views parse the request, call the engine and storage, render."""

from __future__ import annotations

import re
import secrets
from pathlib import Path

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
from intake.public import bp, embed, throttle
from intake.public.pages import first_page_with_errors, neighbour, page_view, whole_view
from intake.storage import districts as district_store
from intake.storage.forms import all_published, availability, offered_districts, published
from intake.storage.models import District
from intake.storage.responses import (
    InvitationAnswered,
    KeyConflict,
    find_by_key,
    is_campaign,
    store_response,
)

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
    embedded = embed.requested()
    if embedded:
        embed.allow_framing(form_row.embed_origins)
    switch = request.form.get("switch_lang") if request.method == "POST" else None
    lang = i18n.choose(
        definition.languages, definition.default_language, switch, remember=not embedded
    )
    if state != "open":
        return closed_page(definition, state)
    values = request.form if request.method == "POST" else request.args
    offered = offered_districts(form_row)
    district = _district_from(values.get("district"), offered)
    if district is None and definition.municipality_field is None:
        return _choose_district(slug, offered)
    groups = district_store.municipality_groups([district] if district else offered)
    source = _clean_source(values.get("src"))
    context = _embed_context(slug, lang) if embedded else {}
    meta = {"csrf": False} if embedded else None

    if request.method == "GET":
        data = {
            "idempotency_key": new_key(),
            "district": district.slug if district else "",
            "src": source or "",
        }
        data.update(_prefill(definition, request.args))
        wtform = build_form(definition, lang, groups, district is None, data=data, meta=meta)
        return render_form(wtform, 200, 0, **context)

    wtform = build_form(definition, lang, groups, district is None, meta=meta)
    key = wtform.idempotency_key.data
    if embedded and not embed.key_signed(key, request.form.get("embed_sig")):
        if (find_by_key(key) if valid_key(key) else None) is None:
            # No session token in an iframe; the signed key takes its place. Like an
            # expired CSRF token: the answers stay, the person sends again.
            page = _page_index(wtform.page.data, len(definition.pages()))
            return render_form(wtform, 400, page, stale=True, **context)
    return take_submission(
        wtform,
        version.form_id,
        switch,
        repeat=lambda earlier: to_receipt(earlier.form.slug, earlier.reference, lang, embedded),
        finish=lambda: store_and_thank(
            wtform, version, definition, district, lang, source, limited=True, **context
        ),
        **context,
    )


def _embed_context(slug: str, lang: str) -> dict:
    """What an embedded form's page needs: its own action URL and no session."""
    return {"embedded": True, "form_action": url_for(".form", slug=slug, lang=lang, embed=1)}


def take_submission(
    wtform: PublicForm, form_id: int, switch: str | None, repeat, finish, **context
):
    """The POST of a form page: a repeat, another language, back, next, or send.

    `repeat(earlier)` answers a key that is already stored (it must check that the
    response is the one this page may see); `finish()` stores the valid answers;
    `context` goes to the template whenever the page is shown again.
    """
    definition = wtform.definition
    key = wtform.idempotency_key.data
    earlier = find_by_key(key) if valid_key(key) else None
    if earlier is not None:
        # A repeat (double click, retry, replay): the same receipt, nothing stored.
        if earlier.form_id != form_id:
            abort(400)
        return repeat(earlier)
    if not valid_key(key):
        wtform.idempotency_key.data = new_key()
    pages = definition.pages()
    current = _page_index(wtform.page.data, len(pages))
    if switch:
        # Another language for the same page; every answer stays, nothing is checked.
        return render_form(wtform, 200, current, **context)
    nav = request.form.get("nav", "send")
    if nav == "back":
        return render_form(wtform, 200, neighbour(wtform, current, -1), **context)
    if nav == "next":
        if not validate_fields(wtform, pages[current].fields):
            return render_form(wtform, 422, current, **context)
        following = neighbour(wtform, current, +1)
        if following != current:
            return render_form(wtform, 200, following, **context)
    if not validate_fields(wtform, definition.answer_fields) or not valid_key(key):
        first = first_page_with_errors(wtform)  # may be page 0, which is falsy
        return render_form(wtform, 422, current if first is None else first, **context)
    return finish()


def store_and_thank(
    wtform,
    version,
    definition,
    district,
    lang,
    source,
    event_id=None,
    thank=None,
    invitation_id=None,
    limited=False,
    **context,
):
    """Store the valid answers (or find the earlier copy) and redirect to the receipt.

    `thank` makes the response to a stored submission (the kiosk has its own);
    `context` goes to the template when the form has to be shown again (with
    `embedded`, the receipt travels in the thank-you URL instead of the session).
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
    # `limited`: a public link, counted per address (throttle.py); kiosks and invitations
    # are not. take_submission answered repeats of a stored key already: this one is new.
    wait = throttle.wait_seconds() if limited else None
    if wait is not None:
        # Nothing is stored; the page keeps every answer and its key for a later send.
        current_app.logger.warning("public submissions over the limit for one address")
        return render_form(
            wtform, 429, len(definition.pages()) - 1, unsaved="limited", retry=wait, **context
        )
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
            invitation_id=invitation_id,
        )
    except KeyConflict:
        abort(400)
    except InvitationAnswered:
        # The same invitation was answered from another page meanwhile: its link
        # now says so (or shows that answer to change, as the form allows).
        return redirect(request.path, code=303)
    except sa_exc.OperationalError as exc:
        # Locked, full or unreachable: nothing was stored (one transaction). The
        # person gets their answers back with the same key, to send again.
        db.session.rollback()
        current_app.logger.error("submission not stored: %s", type(exc.orig).__name__)
        return render_form(wtform, 503, len(definition.pages()) - 1, unsaved="busy", **context)
    if limited and receipt.created:
        throttle.count()
    if thank is not None:
        return thank(receipt)
    return to_receipt(receipt.form_slug, receipt.reference, lang, context.get("embedded", False))


def to_receipt(slug: str, reference: str, lang: str, embedded: bool = False, changed: bool = False):
    """Send the browser to the thank-you page, with the receipt in the session (or,
    embedded, signed in the URL). `changed`: earlier answers were changed."""
    if embedded:
        token = embed.receipt_token(slug, reference)
        return redirect(url_for(".thanks", slug=slug, lang=lang, embed=1, r=token), code=303)
    session[RECEIPT_KEY] = {"form": slug, "reference": reference, "changed": changed}
    return redirect(url_for(".thanks", slug=slug, lang=lang), code=303)


@bp.get("/f/<slug>/thanks")
def thanks(slug: str):
    """The receipt: the reference code of the submission just made."""
    found = published(slug)
    if found is None:
        abort(404)
    form_row, _version, definition = found
    embedded = embed.requested()
    i18n.choose(definition.languages, definition.default_language, remember=not embedded)
    if embedded:
        embed.allow_framing(form_row.embed_origins)
        reference = embed.receipt_from(request.args.get("r"), slug)
        receipt = {"form": slug, "reference": reference} if reference else None
    else:
        receipt = session.get(RECEIPT_KEY)
    if not receipt or receipt.get("form") != slug:
        return redirect(url_for(".form", slug=slug, **({"embed": 1} if embedded else {})))
    response = make_response(
        render_template(
            "public/thanks.html",
            definition=definition,
            reference=receipt["reference"],
            changed=receipt.get("changed", False),
            embedded=embedded,
        )
    )
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/f/<slug>/privacy")
def privacy(slug: str):
    """The form's full privacy information (Art. 13 DSGVO) in the person's language.

    Opened from the form in a new tab, so nothing typed there is lost. The facts come
    from the definition's privacy block; German is binding, translations say so.
    """
    found = published(slug)
    if found is None or availability(found[0]) == "draft":
        abort(404)
    definition = found[2]
    if not definition.consent_version:
        abort(404)
    i18n.choose(definition.languages, definition.default_language)
    return render_template("public/privacy.html", definition=definition)


def render_form(
    wtform: PublicForm,
    status: int,
    page_index: int = 0,
    unsaved: str | None = None,
    whole: bool = False,
    stale: bool = False,
    retry: int = 30,
    **context,
):
    """Render one page of a form; its key and token must never come from a cache.

    `whole` shows every page at once instead of the page `page_index` (the kiosk);
    `context` goes to the template (the kiosk's event and generation, an embedded
    form's action). `stale`: the embedded page's signed key had expired. `unsaved`:
    valid answers were not stored, because the database was "busy" or this address
    sent too many forms ("limited"); the browser may try again after `retry` seconds.
    """
    csrf_expired = stale or (status == 422 and wtform.meta.csrf and bool(wtform.csrf_token.errors))
    if context.get("embedded"):
        context["embed_sig"] = embed.sign_key(wtform.idempotency_key.data or "")
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
        response.headers["Retry-After"] = str(retry)
    return response


def _page_index(value: str | None, count: int) -> int:
    """The page a submission came from; anything odd means the first page."""
    if value and re.fullmatch(r"[0-9]{1,4}", value) and int(value) < count:  # not "²", "٢"
        return int(value)
    return 0


def _choose_district(slug: str, offered: list[District]):
    """A form without a place question needs the district from the link or from here."""
    return render_template("public/choose_district.html", slug=slug, districts=offered)


def closed_page(definition: FormDefinition, state: str):
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
    district = next((d for d in offered if d.slug == value), None) or district_store.by_slug(value)
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


def _written_folders() -> list[Path]:
    """Where this instance writes: the SQLite database's folder and the PDF folder."""
    config = current_app.config
    folders = [Path(config.get("REPORT_FOLDER") or Path(current_app.instance_path) / "reports")]
    url = db.engine.url
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        folders.append(Path(url.database).resolve().parent)
    return folders


@bp.get("/readyz")
def readyz():
    """Readiness: the database answers and its schema is the one this code expects.

    A load balancer sends no traffic to an instance that answers 503 here (for
    example while a deployment's `db upgrade` has not run yet, or its disk is full).
    No details leak.
    """
    from intake.storage.schema import disk_problem, schema_problem

    problem = schema_problem() or disk_problem(
        _written_folders(), int(current_app.config["READY_MIN_FREE_MB"]) * 1024 * 1024
    )
    if problem:
        return {"status": "unavailable", "reason": problem}, 503, {"Retry-After": "30"}
    return {"status": "ready"}
