"""Respondent pages. Views parse the request, call the engine and storage, render."""

from __future__ import annotations

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

from intake import i18n, throttle
from intake.engine.definition import PREFILL_MAX_LENGTH, FormDefinition
from intake.extensions import csrf, db
from intake.public import embed
from intake.public.blueprint import bp
from intake.public.render import (
    RECEIPT_KEY,
    closed_page,
    fresh_form,
    render_form,
    render_outcome,
    to_receipt,
)
from intake.storage import cache
from intake.storage.cache import DistrictFacts
from intake.storage.forms import all_published, availability
from intake.storage.responses import is_campaign, stored_under
from intake.submissions import Target, form_for, new_key, page_index, submit
from intake.wtforms_adapter import valid_key


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
    found = cache.published(slug)
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
        definition.languages,
        definition.default_language,
        switch,
        remember=not embedded,
        beyond=definition.complete_languages,
    )
    if state != "open":
        return closed_page(definition, state)
    values = request.form if request.method == "POST" else request.args
    offered = form_row.offered
    district = _district_from(values.get("district"), offered)
    if district is None and definition.municipality_field is None:
        return _choose_district(slug, offered)
    source = _clean_source(values.get("src"))
    target = Target("link", version, definition, district, offered, source=source)
    context = _embed_context(slug, lang) if embedded else {}
    meta = {"csrf": False} if embedded else None

    if request.method == "GET":
        data = {"district": district.slug if district else "", "src": source or ""}
        data.update(_prefill(definition, request.args))
        if embedded:
            data["idempotency_key"] = new_key()
            wtform = form_for(target, lang, data=data, meta=meta)
            return render_form(wtform, 200, 0, **_signed(context, wtform))
        page = (version.id, version.checksum, lang, request.query_string)
        return fresh_form(
            page, lambda key: form_for(target, lang, data=dict(data, idempotency_key=key))
        )

    if embedded and not _embed_key_ok():
        # No session token in an iframe; the signed key takes its place. Like an
        # expired CSRF token: the answers stay, the person sends again.
        wtform = form_for(target, lang, formdata=request.form, meta=meta)
        page = page_index(wtform.page.data, len(definition.pages()))
        return render_form(wtform, 400, page, stale=True, **_signed(context, wtform))
    outcome = submit(
        target,
        request.form,
        lang,
        nav=request.form.get("nav", "send"),
        switch=switch,
        client=throttle.client_network(),
        meta=meta,
    )
    if outcome.status in ("stored", "repeat"):
        return to_receipt(outcome.receipt.form_slug, outcome.receipt.reference, lang, embedded)
    if outcome.status == "conflict":
        abort(400)
    return render_outcome(outcome, **_signed(context, outcome.form))


def _embed_key_ok() -> bool:
    """An embedded page's key is signed by the page; a key stored before needs none."""
    key = request.form.get("idempotency_key")
    if embed.key_signed(key, request.form.get("embed_sig")):
        return True
    return valid_key(key) and stored_under(key) is not None


def _signed(context: dict, wtform) -> dict:
    """An embedded page carries its key signed (it has no session); others as they are."""
    if context.get("embedded"):
        return dict(context, embed_sig=embed.sign_key(wtform.idempotency_key.data or ""))
    return context


def _embed_context(slug: str, lang: str) -> dict:
    """What an embedded form's page needs: its own action URL and no session."""
    return {"embedded": True, "form_action": url_for(".form", slug=slug, lang=lang, embed=1)}


@bp.get("/f/<slug>/thanks")
def thanks(slug: str):
    """The receipt: the reference code of the submission just made."""
    found = cache.published(slug)
    if found is None:
        abort(404)
    form_row, _version, definition = found
    embedded = embed.requested()
    i18n.choose(
        definition.languages,
        definition.default_language,
        remember=not embedded,
        beyond=definition.complete_languages,
    )
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
    found = cache.published(slug)
    if found is None or availability(found[0]) == "draft":
        abort(404)
    definition = found[2]
    if not definition.consent_version:
        abort(404)
    i18n.choose(
        definition.languages, definition.default_language, beyond=definition.complete_languages
    )
    return render_template("public/privacy.html", definition=definition)


def _choose_district(slug: str, offered: tuple[DistrictFacts, ...]):
    """A form without a place question needs the district from the link or from here."""
    return render_template("public/choose_district.html", slug=slug, districts=offered)


def _district_from(value: str | None, offered: tuple[DistrictFacts, ...]) -> DistrictFacts | None:
    """The district a link names; an unknown one is a broken link, answered with 404."""
    if not value:
        return None
    district = next((d for d in offered if d.slug == value), None) or cache.district(value)
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
    if args.get("district") and cache.district(args["district"]):
        out["district"] = args["district"]
    if _clean_source(args.get("src")):
        out["src"] = args["src"]
    return out


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
