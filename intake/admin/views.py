"""Back-office pages: the dashboard and per-district PDF summaries."""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa
from flask import Response as HttpResponse
from flask import abort, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from intake import audit, scope
from intake.admin.access import scoped_form
from intake.admin.blueprint import bp
from intake.errors import render_error
from intake.extensions import db
from intake.i18n import current_language
from intake.reports import jobs
from intake.reports import params as report_params
from intake.reports.pdf import render_summary
from intake.reports.summary import build_summary
from intake.storage.forms import all_published
from intake.storage.models import Response


@bp.get("/")
@login_required
def dashboard():
    """Forms with their response counts in each district the user may see."""
    districts = scope.visible_districts(current_user)
    ids = [d.id for d in districts]
    counts: dict[tuple[int, int], int] = {}
    if ids:
        rows = db.session.execute(
            sa.select(Response.form_id, Response.district_id, sa.func.count())
            .where(Response.district_id.in_(ids))
            .group_by(Response.form_id, Response.district_id)
        )
        counts = {(form_id, district_id): n for form_id, district_id, n in rows}
    forms = [(form, definition) for form, _version, definition in all_published()]
    return render_template("admin/dashboard.html", districts=districts, forms=forms, counts=counts)


@bp.get("/reports")
@login_required
def report_builder():
    """Turn the dashboard's report form into the stable PDF URL."""
    district = request.args.get("district", "")
    form_slug = request.args.get("form", "")
    if not district or not form_slug:
        return render_error(400, _("Please choose a form and a district."))
    query = {
        key: value for key in ("from", "to", "appendix", "lang") if (value := request.args.get(key))
    }
    return redirect(url_for("admin.report_pdf", district=district, form_slug=form_slug, **query))


@bp.get("/reports/<district>/<form_slug>.pdf")
@login_required
def report_pdf(district: str, form_slug: str):
    """The PDF summary of one form for one district (or `all` the user may see)."""
    target = f"report:{district}/{form_slug}"
    districts, form, definition = scoped_form(district, form_slug, "report.pdf", target)
    args = request.args
    params, problems = report_params.parse(
        args.get("from"),
        args.get("to"),
        args.get("lang"),
        args.get("appendix"),
        current_language(),
    )
    if problems:
        return render_error(400, " ".join(problems))
    if params.appendix == "roster" and not current_user.sees_personal_data:
        audit.record("report.pdf", current_user, target, outcome="denied")
        abort(403)
    if jobs.too_long(form, definition, districts, params):
        raw = {key: args.get(key) for key in ("from", "to", "appendix")}
        raw["lang"] = params.lang
        job = jobs.start(current_user, district, form_slug, raw)
        audit.record("report.job", current_user, f"{target} appendix={params.appendix}")
        return redirect(url_for("admin.report_job", job_id=job.id), code=303)
    try:
        summary = build_summary(
            form, definition, districts, params, current_user.sees_personal_data
        )
        pdf = render_summary(summary)
    except Exception:
        audit.record("report.pdf", current_user, target, outcome="failed")
        raise
    audit.record("report.pdf", current_user, f"{target} appendix={params.appendix}")
    filename = f"intake-{district}-{form_slug}-{date.today().isoformat()}.pdf"
    return HttpResponse(
        pdf,
        mimetype="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


def _job_or_404(job_id: str):
    job = jobs.find(job_id, current_user)
    if job is None:
        abort(404)
    return job


@bp.get("/jobs/<job_id>")
@login_required
def report_job(job_id: str):
    """Progress of a summary made in the background, and its download when ready."""
    job = _job_or_404(job_id)
    return render_template(
        "admin/report_job.html",
        job=job,
        state=jobs.state_of(job),
        ready=jobs.path_of(job) is not None,
    )


@bp.get("/jobs/<job_id>.json")
@login_required
def report_job_status(job_id: str):
    """The job's state for the progress bar (polled by intake.js)."""
    job = _job_or_404(job_id)
    return {
        "state": jobs.state_of(job),
        "progress": job.progress,
        "download": url_for("admin.report_job_download", job_id=job.id)
        if jobs.path_of(job)
        else None,
    }


@bp.get("/jobs/<job_id>/download")
@login_required
def report_job_download(job_id: str):
    """The finished PDF, for the user who asked for it."""
    job = _job_or_404(job_id)
    path = jobs.path_of(job)
    target = f"report:{job.district}/{job.form_slug}"
    if path is None:
        abort(404)
    audit.record("report.pdf", current_user, f"{target} appendix={job.params.get('appendix')}")
    filename = f"intake-{job.district}-{job.form_slug}-{job.created_at.date().isoformat()}.pdf"
    return send_file(path, mimetype="application/pdf", as_attachment=True, download_name=filename)
