"""Working with responses: a filtered list, a detail view, follow-up status, deletion.

Everything here holds personal data, so viewers are refused (403) and every query
starts from intake.scope.responses_query, which limits it to the user's districts. A
response in another district answers 404, exactly like one that does not exist.
Viewing, changing and deleting a response are audited, never with answer content.
"""

from __future__ import annotations

import json

import sqlalchemy as sa
from flask import Response as HttpResponse
from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import format_number
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from wtforms import SelectField, TextAreaField
from wtforms.validators import Length

from intake import audit, i18n, scope
from intake.admin.blueprint import bp
from intake.engine.definition import FormDefinition
from intake.errors import render_error
from intake.extensions import db
from intake.period import LOCAL_TZ, Period
from intake.privacy import rights
from intake.public.render import render_form, render_outcome
from intake.reports.params import read_date
from intake.storage.forms import all_published, definition_of
from intake.storage.models import Answer, Form, Municipality, Response
from intake.storage.responses import answer_values, answers_as_data
from intake.submissions import Target, form_for, new_key, submit

PER_PAGE = 50


def _status_labels() -> dict[str, str]:
    return {"new": _("new"), "in_progress": _("in progress"), "done": _("done")}


class FollowUpForm(FlaskForm):
    """Only the status and the note can change; other posted fields are ignored."""

    status = SelectField(_l("Status"), validate_choice=False)
    note = TextAreaField(_l("Internal note"), validators=[Length(max=4000)])

    def validate_status(self, field) -> None:
        from wtforms.validators import ValidationError

        if field.data not in Response.STATUSES:
            raise ValidationError(_("Please choose one of the offered answers."))


def _require_personal_data() -> None:
    if not current_user.sees_personal_data:
        abort(403)


@bp.get("/responses")
@login_required
def responses_list():
    """Responses in the user's districts, filtered and paged."""
    _require_personal_data()
    visible = scope.visible_districts(current_user)
    forms = all_published()
    filters, problems = _filters(request.args, visible, [f for f, _v, _d in forms])
    if problems:
        return render_error(400, " ".join(problems))
    query = scope.responses_query(current_user)
    query = _apply(query, filters)
    total = db.session.scalar(sa.select(sa.func.count()).select_from(query.subquery()))
    page = filters["page"]
    rows = db.session.scalars(
        query.order_by(Response.created_at.desc(), Response.id.desc())
        .offset((page - 1) * PER_PAGE)
        .limit(PER_PAGE)
    ).all()
    titles = {form.id: definition for form, _v, definition in forms}
    return render_template(
        "admin/responses.html",
        rows=rows,
        total=total,
        page=page,
        pages=max(1, -(-total // PER_PAGE)),
        filters=filters,
        forms=forms,
        districts=visible,
        titles=titles,
        statuses=_status_labels(),
        native_names=i18n.NAMES,
        local_tz=LOCAL_TZ,
        query_args={k: v for k, v in i18n.query_values(request.args, ("page",)).items() if v[0]},
    )


def _filters(args, visible, forms: list[Form]) -> tuple[dict, list[str]]:
    """Read and check the list's query parameters."""
    problems: list[str] = []
    out: dict = {"q": args.get("q", "").strip()[:200]}
    slugs = {f.slug: f for f in forms}
    out["form"] = slugs.get(args.get("form", ""))
    if args.get("form") and out["form"] is None:
        problems.append(_("There is no such form."))
    by_slug = {d.slug: d for d in visible}
    out["district"] = by_slug.get(args.get("district", ""))
    if args.get("district") and out["district"] is None:
        problems.append(_("There is no such district among yours."))
    out["status"] = args.get("status") or None
    if out["status"] and out["status"] not in Response.STATUSES:
        problems.append(_("Please choose one of the offered answers."))
    out["language"] = args.get("language") or None
    out["source"] = (args.get("source") or "").strip()[:64] or None
    for key in ("from", "to"):
        out[key], problem = read_date(args.get(key), key)
        if problem:
            problems.append(problem)
    page = args.get("page", "1")
    out["page"] = int(page) if page.isascii() and page.isdigit() and 0 < int(page) < 100000 else 1
    return out, problems


def _apply(query, filters: dict):
    """Narrow an already scoped query of responses by the list's filters."""
    district = filters["district"]
    query = query.where(
        *scope.responses_where(
            districts=None if district is None else [district],
            form=filters["form"],
            period=Period(filters["from"], filters["to"]),
        )
    )
    if filters["status"]:
        query = query.where(Response.status == filters["status"])
    if filters["language"]:
        query = query.where(Response.language == filters["language"])
    if filters["source"]:
        query = query.where(Response.source == filters["source"])
    if filters["q"]:
        needle = f"%{filters['q'].replace('%', '').replace('_', '')}%"
        in_answers = (
            sa.select(Answer.id)
            .where(Answer.response_id == Response.id, Answer.value.ilike(needle))
            .exists()
        )
        query = query.where(sa.or_(Response.reference.ilike(needle), in_answers))
    return query


def _response_or_404(response_id: int) -> Response:
    response = db.session.scalar(
        scope.responses_query(current_user).where(Response.id == response_id)
    )
    if response is None:
        audit.record("response.view", current_user, f"response:{response_id}", "denied")
        abort(404)
    return response


@bp.get("/responses/<int:response_id>")
@login_required
def response_detail(response_id: int):
    """One person's answers, with the office's follow-up status and note."""
    _require_personal_data()
    response = _response_or_404(response_id)
    audit.record("response.view", current_user, f"response:{response.id}")
    form = FollowUpForm(data={"status": response.status, "note": response.note or ""})
    return _detail(response, form, 200)


def _detail(response: Response, form: FollowUpForm, status: int):
    form.status.choices = list(_status_labels().items())
    definition = definition_of(response.form_version)
    return (
        render_template(
            "admin/response_detail.html",
            response=response,
            answers=_answer_rows(response, definition),
            followup=form,
            title=definition.title(_admin_lang()).text,
            statuses=_status_labels(),
            native_names=i18n.NAMES,
            local_tz=LOCAL_TZ,
        ),
        status,
    )


def _admin_lang() -> str:
    from intake.i18n import current_language

    return current_language()


def _answer_rows(
    response: Response, definition: FormDefinition
) -> list[tuple[str, list[str], str | None]]:
    """(question, answers, the entry's heading before it) in the order of the version the
    person answered; a repeat's questions entry by entry, each entry under a heading."""
    lang = _admin_lang()
    values = answer_values(response)
    places = dict(db.session.execute(sa.select(Municipality.slug, Municipality.name)).all())
    rows = []
    last = None
    for fdef, entry, found in definition.answered(values):
        shown = [fdef.answer_label(v, lang, places) for v in found]
        heading = None
        if entry is not None and (fdef.repeat, entry) != last:
            what = definition.field(fdef.repeat).report_label(lang)
            heading = _("%(what)s %(number)s", what=what, number=format_number(entry))
        last = (fdef.repeat, entry)
        rows.append((fdef.report_label(lang), shown, heading))
    return rows


@bp.post("/responses/<int:response_id>")
@login_required
def response_update(response_id: int):
    """Change the follow-up status and the internal note."""
    _require_personal_data()
    response = _response_or_404(response_id)
    form = FollowUpForm()
    if not form.validate():
        return _detail(response, form, 422)
    response.status = form.status.data
    response.note = form.note.data.strip() or None
    db.session.commit()
    audit.record(
        "response.update", current_user, f"response:{response.id} status={response.status}"
    )
    flash(_("Saved."))
    return redirect(url_for("admin.response_detail", response_id=response.id))


@bp.get("/responses/<int:response_id>/data.json", defaults={"fmt": "json"})
@bp.get("/responses/<int:response_id>/data.pdf", defaults={"fmt": "pdf"})
@login_required
def response_data(response_id: int, fmt: str):
    """Everything stored about the person (Art. 15 DSGVO), to hand over: JSON or PDF."""
    _require_personal_data()
    response = _response_or_404(response_id)
    audit.record("response.access_export", current_user, f"response:{response.id} {fmt}")
    name = f"intake-{response.reference}.{fmt}"
    if fmt == "json":
        body = json.dumps(rights.access(response).data, ensure_ascii=False, indent=2)
        mimetype = "application/json"
    else:
        body = rights.access_pdf(response)
        mimetype = "application/pdf"
    reply = HttpResponse(body, mimetype=mimetype)
    reply.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    reply.headers["Cache-Control"] = "no-store"
    return reply


@bp.route("/responses/<int:response_id>/correct", methods=["GET", "POST"])
@login_required
def response_correct(response_id: int):
    """Correct a person's answers at their request (Art. 16 DSGVO), checked like answers.

    The whole form of the version they answered, on one page, with their answers; the
    changed answers replace the earlier ones in one transaction, audited without content.
    """
    _require_personal_data()
    response = _response_or_404(response_id)
    if response.anonymised_at is not None:
        abort(404)  # nothing about a person is left to correct
    definition = definition_of(response.form_version)
    lang = _admin_lang() if _admin_lang() in definition.languages else definition.default_language
    target = Target(
        "correction", response.form_version, definition, response.district, replaces=response
    )
    context = {
        "correcting": response,
        "form_action": url_for("admin.response_correct", response_id=response.id),
    }
    if request.method == "GET":
        multiple = {f.name for f in definition.fields if f.kind.multiple}
        data = {"idempotency_key": new_key(), "district": response.district.slug, "src": ""}
        data.update(answers_as_data(response, multiple))
        return render_form(form_for(target, lang, data=data), 200, whole=True, **context)
    outcome = submit(target, request.form, lang)
    if outcome.status != "changed":
        return render_outcome(outcome, whole=True, **context)
    audit.record("response.correct", current_user, f"response:{response.id}")
    flash(_("The corrections are saved."))
    return redirect(url_for("admin.response_detail", response_id=response.id))


@bp.post("/responses/<int:response_id>/delete")
@login_required
def response_delete(response_id: int):
    """Delete a response and its answers for good (audited)."""
    _require_personal_data()
    response = _response_or_404(response_id)
    if request.form.get("confirm") != "yes":
        flash(_("Please tick the box to confirm the deletion."))
        return redirect(url_for("admin.response_detail", response_id=response.id))
    target = f"response:{response.id}"
    try:
        rights.erase(response)
    except Exception:
        db.session.rollback()
        audit.record("response.delete", current_user, target, outcome="failed")
        raise
    audit.record("response.delete", current_user, target)
    flash(_("The response was deleted."))
    return redirect(url_for("admin.responses_list"))


@bp.get("/audit")
@login_required
def audit_log():
    """The audit trail, newest first (admins only)."""
    if current_user.role != "admin":
        abort(403)
    from intake.storage.models import AuditEvent

    page = request.args.get("page", "1")
    page = int(page) if page.isascii() and page.isdigit() and 0 < int(page) < 100000 else 1
    events = db.session.scalars(
        sa.select(AuditEvent)
        .order_by(AuditEvent.id.desc())
        .offset((page - 1) * PER_PAGE)
        .limit(PER_PAGE)
    ).all()
    return render_template("admin/audit.html", events=events, page=page, local_tz=LOCAL_TZ)
