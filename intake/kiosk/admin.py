"""Events and their kiosks, for coordinators and administrators of the event's district.

An event of a district the user may not see is a 404, like everything else. The
kiosk link is shown with its QR code; it can be replaced (the old link stops
working) and the event closed. Answers that a tablet could not send can be
imported here from the file its staff page saved (docs/kiosk.md).
"""

from __future__ import annotations

import io
import json
from urllib.parse import parse_qsl

import segno
import sqlalchemy as sa
from flask import abort, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from werkzeug.datastructures import MultiDict

from intake import audit, i18n, scope
from intake.accounts import external_url
from intake.admin.blueprint import bp
from intake.admin.forms import EventForm
from intake.extensions import db
from intake.kiosk.queue import submit_queued
from intake.kiosk.store import (
    FORM_PROBLEMS,
    EventError,
    create_event,
    events_in,
    new_token,
    set_active,
    set_pin,
)
from intake.storage.forms import all_published, availability, offered_districts
from intake.storage.models import Event, Form, Response

#: A saved queue file is a few hundred answers at most; anything far larger is not one.
IMPORT_MAX_BYTES = 5 * 1024 * 1024


def _require_staff() -> None:
    """Events hold personal data (imports) and take answers: not for viewers."""
    if not current_user.sees_personal_data:
        abort(403)


def _visible_event(event_id: int) -> Event:
    event = db.session.get(Event, event_id)
    if event is None or event.district not in scope.visible_districts(current_user):
        abort(404)
    return event


@bp.get("/events")
@login_required
def events_list():
    """The events of the user's districts, newest first, with their response counts."""
    _require_staff()
    events = events_in(scope.visible_districts(current_user))
    counts = dict(
        db.session.execute(
            sa.select(Response.event_id, sa.func.count())
            .where(Response.event_id.in_([e.id for e in events]))
            .group_by(Response.event_id)
        ).all()
    )
    return render_template("admin/events.html", events=events, counts=counts)


def _event_form() -> EventForm:
    form = EventForm()
    districts = scope.visible_districts(current_user)
    form.district.choices = [(d.slug, d.name) for d in districts]
    if len(districts) == 1 and request.method == "GET":
        form.district.data = districts[0].slug
    # Only forms that take answers (or will: opening later) can be on a kiosk.
    form.forms.choices = [
        (f.slug, definition.title(i18n.current_language()).text)
        for f, _version, definition in all_published()
        if availability(f) not in FORM_PROBLEMS
    ]
    form.languages.choices = [
        (code, i18n.NATIVE_NAMES.get(code, code)) for code in i18n.ui_languages()
    ]
    return form


@bp.route("/events/new", methods=["GET", "POST"])
@login_required
def event_new():
    """Create an event; the next page shows its kiosk link and QR code."""
    _require_staff()
    form = _event_form()
    if request.method == "GET" or not form.validate_on_submit():
        status = 422 if request.method == "POST" else 200
        return render_template("admin/event_form.html", form=form), status
    district = next(
        (d for d in scope.visible_districts(current_user) if d.slug == form.district.data), None
    )
    chosen = set(form.forms.data or [])
    forms = list(db.session.scalars(sa.select(Form).where(Form.slug.in_(chosen))))
    if district is None:
        form.district.errors = [_("Please choose one of the offered answers.")]
    elif not forms:
        form.forms.errors = [_("Please choose at least one form.")]
    else:
        try:
            event = create_event(
                name=form.name.data,
                district=district,
                forms=forms,
                pin=form.pin.data,
                held_on=form.held_on.data,
                languages=[c for c in form.languages.data or [] if c in i18n.ui_languages()],
                idle_seconds=form.idle_seconds.data,
                thanks_seconds=form.thanks_seconds.data,
                created_by_id=current_user.id,
            )
            db.session.flush()
        except EventError as exc:
            db.session.rollback()
            message = _form_message(exc)
            if message:
                form.forms.errors = [message]
            else:
                form.name.errors = [_("Please check this answer.")]
        else:
            audit.record("event.create", current_user, f"event:{event.id}")
            return redirect(url_for("admin.event_detail", event_id=event.id), code=303)
    return render_template("admin/event_form.html", form=form), 422


def _form_message(exc: EventError) -> str | None:
    """What is wrong with one of the chosen forms, or None when the error is not a form's."""
    slug = exc.detail
    if exc.code == "form_district":
        return _("The form %(form)s is not offered in this district.", form=slug)
    if exc.code == "form_unknown":
        return _("The form %(form)s has no published version.", form=slug)
    if exc.code == "form_draft":
        return _("The form %(form)s is a draft: publish it first.", form=slug)
    if exc.code == "form_closed":
        return _("The form %(form)s is closed: open it again first.", form=slug)
    if exc.code == "form_ended":
        return _("The form %(form)s is past its closing date and takes no more answers.", form=slug)
    return None


@bp.get("/events/<int:event_id>")
@login_required
def event_detail(event_id: int):
    """The kiosk link and QR code, the event's settings and its response count."""
    _require_staff()
    event = _visible_event(event_id)
    count = db.session.scalar(
        sa.select(sa.func.count()).select_from(Response).where(Response.event_id == event.id)
    )
    offered_everywhere = all(event.district in offered_districts(form) for form in event.forms)
    return render_template(
        "admin/event_detail.html",
        event=event,
        count=count,
        link=kiosk_link(event),
        offered_everywhere=offered_everywhere,
    )


def kiosk_link(event: Event) -> str:
    """The absolute kiosk link (PUBLIC_URL outside a request)."""
    return external_url("kiosk.picker", token=event.token)


@bp.get("/events/<int:event_id>/qr.svg")
@login_required
def event_qr(event_id: int):
    """The kiosk link as a QR code, to open it on the tablets with their camera."""
    _require_staff()
    event = _visible_event(event_id)
    out = io.BytesIO()
    segno.make(kiosk_link(event), error="m").save(out, kind="svg", scale=8, border=4)
    out.seek(0)
    return send_file(out, mimetype="image/svg+xml", max_age=0)


@bp.post("/events/<int:event_id>/active")
@login_required
def event_active(event_id: int):
    """Close the event's kiosk (its tablets show "closed"), or open it again."""
    _require_staff()
    event = _visible_event(event_id)
    try:
        set_active(event, request.form.get("active") == "1")
    except EventError as exc:
        db.session.rollback()
        audit.record("event.open", current_user, f"event:{event.id}", outcome="refused")
        flash(_form_message(exc) or _("Please check this answer."))
        return redirect(url_for("admin.event_detail", event_id=event.id), code=303)
    db.session.commit()
    audit.record("event.open" if event.active else "event.close", current_user, f"event:{event.id}")
    flash(_("The kiosk is open.") if event.active else _("The kiosk is closed."))
    return redirect(url_for("admin.event_detail", event_id=event.id), code=303)


@bp.post("/events/<int:event_id>/token")
@login_required
def event_token(event_id: int):
    """A new kiosk link; the old one stops working (a link that got into wrong hands)."""
    _require_staff()
    event = _visible_event(event_id)
    event.token = new_token()
    db.session.commit()
    audit.record("event.new_link", current_user, f"event:{event.id}")
    flash(_("The kiosk has a new link. Open it on the tablets; the old link no longer works."))
    return redirect(url_for("admin.event_detail", event_id=event.id), code=303)


@bp.post("/events/<int:event_id>/pin")
@login_required
def event_pin(event_id: int):
    """A new staff PIN (a forgotten one, or one that got around)."""
    _require_staff()
    event = _visible_event(event_id)
    try:
        set_pin(event, (request.form.get("pin") or "").strip())
    except EventError:
        db.session.rollback()
        flash(_("Please choose a PIN of 6 to 8 digits."))
        audit.record("event.new_pin", current_user, f"event:{event.id}", outcome="refused")
    else:
        db.session.commit()
        audit.record("event.new_pin", current_user, f"event:{event.id}")
        flash(_("The staff PIN is changed. Tablets use the new one once they have been online."))
    return redirect(url_for("admin.event_detail", event_id=event.id), code=303)


@bp.post("/events/<int:event_id>/import")
@login_required
def event_import(event_id: int):
    """Import answers a tablet saved to a file because it could not send them."""
    _require_staff()
    event = _visible_event(event_id)
    upload = request.files.get("file")
    problem, items = _read_queue_file(upload, event)
    if problem:
        flash(problem)
        audit.record("event.import", current_user, f"event:{event.id}", outcome="refused")
        return redirect(url_for("admin.event_detail", event_id=event.id), code=303)
    tally = {"stored": 0, "repeat": 0, "refused": 0}
    for item in items:
        outcome = submit_queued(
            event,
            str(item.get("form", "")),
            str(item.get("lang", "")),
            MultiDict(parse_qsl(str(item.get("body", "")), keep_blank_values=True)),
            # What the tablets were given: taken after closing too (docs/kiosk.md).
            imported=True,
        )
        tally[outcome.status if outcome.acknowledged else "refused"] += 1
    audit.record(
        "event.import",
        current_user,
        f"event:{event.id} stored={tally['stored']} repeat={tally['repeat']} "
        f"refused={tally['refused']}",
    )
    flash(
        _(
            "Import: %(stored)s answers stored, %(repeat)s were stored before, "
            "%(refused)s could not be stored.",
            **tally,
        )
    )
    if tally["refused"]:
        flash(
            _(
                "Answers that could not be stored do not pass the form's checks (or the form "
                "is no longer part of the event). Keep the file and ask the administrator."
            )
        )
    return redirect(url_for("admin.event_detail", event_id=event.id), code=303)


def _read_queue_file(upload, event: Event) -> tuple[str | None, list[dict]]:
    """The answers of a saved queue file, or why it cannot be imported."""
    if upload is None or not upload.filename:
        return _("Please choose the file the tablet saved."), []
    raw = upload.read(IMPORT_MAX_BYTES + 1)
    if len(raw) > IMPORT_MAX_BYTES:
        return _("This file is too large to be a tablet's saved answers."), []
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):  # RecursionError: [[[[...]]]]
        return _("This is not a file of saved answers from a kiosk tablet."), []
    if (
        not isinstance(data, dict)
        or data.get("format") != "intake-kiosk-queue"
        or not isinstance(data.get("answers"), list)
    ):
        return _("This is not a file of saved answers from a kiosk tablet."), []
    # The token names the event; the id too, for a file saved before the kiosk got a
    # new link (the coordinator importing it may see the event, so it may be trusted).
    if data.get("event") != event.token and data.get("eventId") != event.id:
        return _("This file holds answers of another event."), []
    items = [item for item in data["answers"] if isinstance(item, dict)]
    return None, items
