"""Personal invitations in the back office: upload a list, follow who was sent what
and who answered, remind, send again, revoke.

Invitations hold email addresses and names, so only roles that see personal data use
these pages, and only for their own districts (another district's invitation is a 404).
Emails go out in the background (intake.background); the list shows each person's state.
"""

from __future__ import annotations

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import SelectField, StringField

from intake import audit, i18n, scope
from intake.accounts import AccountError
from intake.admin.blueprint import bp
from intake.extensions import db
from intake.invitations import lists, sending, store
from intake.storage.forms import all_published, offered_districts
from intake.storage.models import Form, Invitation

#: Rows shown on the page (the counts above cover every invitation).
SHOWN = 500


class UploadForm(FlaskForm):
    """A list of people to invite to one form."""

    file = FileField(_l("List of people (.csv or .xlsx)"))
    district = SelectField(_l("District for rows without one"), validate_choice=False)
    days = StringField(_l("Links work for (days)"), default=str(store.DEFAULT_DAYS))


def _require_staff() -> None:
    if not current_user.sees_personal_data:
        abort(403)


def _forms(districts) -> list[tuple[Form, object]]:
    """Forms that take answers in one of the user's districts (not drafts)."""
    return [
        (form, definition)
        for form, _version, definition in all_published()
        if form.status != "draft" and set(offered_districts(form)) & set(districts)
    ]


def _chosen(slug: str | None, districts):
    for form, definition in _forms(districts):
        if form.slug == slug:
            return form, definition
    return None, None


def _list_districts(form: Form, districts):
    """The districts a list for `form` may name: the user's, where the form is offered."""
    offered = set(offered_districts(form))
    return [d for d in districts if d in offered]


def _base_url() -> str:
    """PUBLIC_URL, never the request's Host header (see accounts.external_url)."""
    base = current_app.config.get("PUBLIC_URL")
    if not base:
        raise AccountError("public_url")
    return base


@bp.get("/invitations")
@login_required
def invitations_list():
    """Choose a form; then its invitations in the user's districts and the upload."""
    _require_staff()
    districts = scope.visible_districts(current_user)
    forms = _forms(districts)
    form, definition = _chosen(request.args.get("form"), districts)
    if request.args.get("form") and form is None:
        abort(404)
    return _page(forms, form, definition, districts, _upload_form(form, districts))


def _upload_form(form: Form | None, districts) -> UploadForm:
    upload = UploadForm()
    choices = _list_districts(form, districts) if form is not None else []
    upload.district.choices = [("", _("none: each row names its district"))] + [
        (d.slug, d.name) for d in choices
    ]
    if len(choices) == 1 and request.method == "GET":
        upload.district.data = choices[0].slug
    return upload


def _page(forms, form, definition, districts, upload, problems=None, status=200):
    rows, counts, to_remind, failed = [], {}, 0, 0
    if form is not None:
        everyone = list(db.session.scalars(store.in_districts(districts, form)))
        states = [(invitation, store.state(invitation)) for invitation in everyone]
        counts = {name: 0 for name in store.STATES}
        for _invitation, name in states:
            counts[name] += 1
        rows = states[:SHOWN]
        to_remind = len(store.to_remind(form, districts))
        failed = counts["failed"]
    lang = i18n.current_language()
    return (
        render_template(
            "admin/invitations.html",
            forms=[(f.slug, d.title(lang).text) for f, d in forms],
            form=form,
            title=definition.title(lang).text if definition else None,
            definition=definition,
            rows=rows,
            counts=counts,
            total=sum(counts.values()),
            shown=SHOWN,
            to_remind=to_remind,
            failed=failed,
            upload=upload,
            problems=problems or [],
            native_names=i18n.NAMES,
            gap_hours=int(store.REMINDER_GAP.total_seconds() // 3600),
        ),
        status,
    )


@bp.post("/invitations/upload")
@login_required
def invitations_upload():
    """Check a list; when every row is right, make the invitations and send them."""
    _require_staff()
    request.max_content_length = lists.MAX_BYTES + 64 * 1024
    districts = scope.visible_districts(current_user)
    forms = _forms(districts)
    form, definition = _chosen(request.form.get("form"), districts)
    if form is None:
        abort(404)
    upload = _upload_form(form, districts)
    allowed = _list_districts(form, districts)

    def again(problems):
        audit.record("invitations.upload", current_user, f"form:{form.slug}", outcome="invalid")
        return _page(forms, form, definition, districts, upload, problems, 422)

    if not upload.validate_on_submit():
        return again(
            [lists.Problem(_("This page was open for too long. Please choose the file again."))]
        )
    days = _days(upload.days.data)
    if days is None:
        low, high = store.DAYS_RANGE
        upload.days.errors = [
            _("Please enter a number of days from %(low)s to %(high)s.", low=low, high=high)
        ]
        return again([])
    default = next((d for d in allowed if d.slug == upload.district.data), None)
    if upload.district.data and default is None:
        abort(400)
    file = upload.file.data
    if file is None or not file.filename:
        return again([lists.Problem(_("Please choose a file."))])
    rows, problems = lists.read(file.filename, file.read(lists.MAX_BYTES + 1))
    if problems:
        return again(problems)
    languages = [code for code in definition.languages if code in i18n.ui_languages()]
    checked = lists.check(
        rows,
        languages,
        definition.default_language if definition.default_language in languages else languages[0],
        allowed,
        default,
        lambda emails: store.open_emails(form, emails),
    )
    if checked.problems:
        return again(checked.problems)
    made = store.create(form, checked.people, days, created_by_id=current_user.id)
    db.session.commit()
    audit.record("invitations.upload", current_user, f"form:{form.slug} people={len(made)}")
    sending.send_in_background([i.id for i in made], _base_url())
    flash(
        _(
            "%(n)s invitations are being sent. Reload this page to see who has received one.",
            n=len(made),
        )
    )
    return redirect(url_for("admin.invitations_list", form=form.slug))


def _days(value: str | None) -> int | None:
    text = (value or "").strip()
    if not text.isascii() or not text.isdigit():
        return None
    days = int(text)
    low, high = store.DAYS_RANGE
    return days if low <= days <= high else None


def _visible_invitation(invitation_id: int) -> Invitation:
    invitation = db.session.get(Invitation, invitation_id)
    if invitation is None or invitation.district not in scope.visible_districts(current_user):
        abort(404)
    return invitation


@bp.post("/invitations/<int:invitation_id>/revoke")
@login_required
def invitation_revoke(invitation_id: int):
    """The person's link stops working; an answer already given stays."""
    _require_staff()
    invitation = _visible_invitation(invitation_id)
    store.revoke(invitation)
    db.session.commit()
    audit.record("invitation.revoke", current_user, f"invitation:{invitation.id}")
    flash(_("The link is withdrawn."))
    return redirect(url_for("admin.invitations_list", form=invitation.form.slug))


@bp.post("/invitations/remind")
@login_required
def invitations_remind():
    """A reminder to everyone invited who has not answered (at most one a day)."""
    return _send_batch("reminder")


@bp.post("/invitations/retry")
@login_required
def invitations_retry():
    """Send the invitation again to everyone whose email failed."""
    return _send_batch("invitation")


def _send_batch(kind: str):
    _require_staff()
    districts = scope.visible_districts(current_user)
    form, _definition = _chosen(request.form.get("form"), districts)
    if form is None:
        abort(404)
    if kind == "reminder":
        chosen = store.to_remind(form, districts)
    else:
        chosen = store.failed(form, districts)
    if chosen:
        sending.send_in_background([i.id for i in chosen], _base_url(), kind)
    audit.record(f"invitations.{kind}", current_user, f"form:{form.slug} people={len(chosen)}")
    if kind == "reminder":
        flash(_("Reminders are being sent to %(n)s people.", n=len(chosen)))
    else:
        flash(_("The invitation is being sent again to %(n)s people.", n=len(chosen)))
    return redirect(url_for("admin.invitations_list", form=form.slug))
