"""PDF summaries made in the background, so no request waits for a long render.

A summary whose appendix has more rows than PDF_INLINE_MAX_ROWS is not rendered in the
request: a ReportJob row is written and the job submitted through intake/background.py:
a worker thread of this process (or, with REDIS_URL, any `flask --app intake worker`
process through the RQ queue) makes the PDF into instance/reports/<id>.pdf, and the
browser follows the job's progress on its page and downloads the file when it is ready.
The job lives in the database, so any app process can answer for its progress; the file
must then be on storage they share (the instance folder). A job and its file are deleted
REPORT_JOB_HOURS after it was asked for (`expire`, run whenever a job starts); until then
its owner may download it again.

Plain module: no request access. The caller has checked who may see what; a job
carries the user and re-checks the districts when it runs.
"""

from __future__ import annotations

import secrets
import time
from datetime import timedelta
from pathlib import Path

import sqlalchemy as sa
from flask import Flask, current_app
from flask_babel import force_locale

from intake import background, scope
from intake.extensions import db
from intake.reports import params as report_params
from intake.reports.pdf import render_summary
from intake.reports.summary import build_summary
from intake.storage.forms import published
from intake.storage.models import Answer, District, Form, ReportJob, Response, User, utcnow

#: One render at a time: PDF rendering is CPU-bound and holds a process-wide lock. A
#: lane of its own, so summaries and invitation emails do not wait for each other.
_executor = background.Lane("intake-report")


def too_long(form: Form, definition, districts: list[District], params) -> bool:
    """Whether a summary would take more than a second or two to make.

    Measured on the development machine (bench/RESULTS.md): about 2,000 appendix rows
    a second, and the figures of 100,000 responses in about 4 s. So a summary goes to
    the background above PDF_INLINE_MAX_ROWS appendix rows (free-text answers and
    contact rows) or PDF_INLINE_MAX_RESPONSES responses.
    """
    config = current_app.config
    where = scope.responses_where(districts, form, params.period)
    responses = db.session.scalar(sa.select(sa.func.count()).select_from(Response).where(*where))
    if responses > config["PDF_INLINE_MAX_RESPONSES"]:
        return True
    if params.appendix == "none":
        return False
    rows = responses if params.appendix == "roster" else 0
    names = [f.name for f in definition.fields if f.kind.free_text]
    if names:
        rows += db.session.scalar(
            sa.select(sa.func.count())
            .select_from(Answer)
            .join(Response, Answer.response_id == Response.id)
            .where(*where, Answer.field.in_(names))
        )
    return rows > config["PDF_INLINE_MAX_ROWS"]


def folder() -> Path:
    """Where finished PDFs wait for their download (REPORT_FOLDER, default instance/reports)."""
    path = Path(
        current_app.config.get("REPORT_FOLDER") or Path(current_app.instance_path) / "reports"
    )
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    return path


def start(user: User, district: str, form_slug: str, params: dict[str, str | None]) -> ReportJob:
    """Queue a summary for `user`; the raw parameters are parsed again when it runs."""
    job = ReportJob(
        id=secrets.token_urlsafe(18),
        user_id=user.id,
        district=district,
        form_slug=form_slug,
        params=params,
    )
    expire()
    db.session.add(job)
    db.session.commit()
    background.submit(run_queued, job.id, timeout=600, job_id=f"report-{job.id}", lane=_executor)
    return job


def wait_idle(timeout: float) -> None:
    """Wait until every summary this process was asked to make in-process has run."""
    _executor.wait_idle(timeout)


def run_queued(job_id: str) -> None:
    """The task of one summary (run in the app's context by an RQ worker or a lane)."""
    _run(current_app._get_current_object(), job_id)


def find(job_id: str, user: User) -> ReportJob | None:
    """The job, if it belongs to `user` (anyone else gets None, like a missing job)."""
    job = db.session.get(ReportJob, job_id)
    if job is None or job.user_id != user.id:
        return None
    return job


#: A job still not finished after this long was lost with its process (a restart).
STALE_AFTER = timedelta(minutes=15)


def state_of(job: ReportJob) -> str:
    """The job's state, where a job abandoned by a stopped process counts as failed."""
    if job.state in ("queued", "running") and utcnow() - job.created_at > STALE_AFTER:
        return "failed"
    return job.state


def path_of(job: ReportJob) -> Path | None:
    if job.state != "done" or not job.filename:
        return None
    path = folder() / job.filename
    return path if path.is_file() else None


def _set(job_id: str, **values) -> None:
    db.session.execute(sa.update(ReportJob).where(ReportJob.id == job_id).values(**values))
    db.session.commit()


#: A job whose database goes away (cut, locked, restarting) is tried again this many
#: times, after a growing pause (JOB_RETRY_SECONDS, doubled each time): a database
#: back within a minute or two still gives the coordinator the PDF.
JOB_ATTEMPTS = 5
_DATABASE_FAULTS = (sa.exc.OperationalError, sa.exc.InterfaceError)


def _run(app: Flask, job_id: str) -> None:
    """Make the PDF of one job (in the worker thread), again while the database fails."""
    pause = float(app.config.get("JOB_RETRY_SECONDS", 5))
    with app.app_context():
        for attempt in range(1, JOB_ATTEMPTS + 1):
            try:
                _make(job_id)
                return
            except _DATABASE_FAULTS as exc:
                _forget_session()
                app.logger.warning(
                    "report job: database unavailable (%s), attempt %d of %d",
                    type(getattr(exc, "orig", None) or exc).__name__,
                    attempt,
                    JOB_ATTEMPTS,
                )
                if attempt < JOB_ATTEMPTS:
                    time.sleep(pause * 2 ** (attempt - 1))
            except Exception:  # the job says so; the log names the type, never data
                app.logger.exception("report job failed")
                break
        _forget_session()
        _mark_failed(app, job_id, pause)
        db.session.remove()


def _forget_session() -> None:
    try:
        db.session.rollback()
    except _DATABASE_FAULTS:
        pass
    db.session.remove()


def _mark_failed(app: Flask, job_id: str, pause: float) -> None:
    """Record the failure, waiting for the database if it is still away: a job must
    never stay "running" because its end could not be written."""
    for attempt in range(JOB_ATTEMPTS):
        try:
            _set(job_id, state="failed", finished_at=utcnow())
            return
        except _DATABASE_FAULTS:
            _forget_session()
            time.sleep(pause * 2**attempt)
    app.logger.error("report job: its failure could not be recorded; it shows as failed later")


def _make(job_id: str) -> None:
    job = db.session.get(ReportJob, job_id)
    user = db.session.get(User, job.user_id)
    _set(job_id, state="running", progress=10)
    # The user's districts are looked up again: access may have changed meanwhile.
    districts = scope.districts_for(user, job.district)
    form, _version, definition = published(job.form_slug)
    raw = job.params
    params, problems = report_params.parse(
        raw.get("from"), raw.get("to"), raw.get("lang"), raw.get("appendix"), "de"
    )
    if problems:
        raise ValueError("invalid parameters")
    with force_locale(params.lang):
        summary = build_summary(form, definition, districts, params, user.sees_personal_data)
    _set(job_id, progress=40)
    pdf = render_summary(summary)
    _set(job_id, progress=90)
    name = f"{job_id}.pdf"
    target = folder() / name
    partial = target.with_suffix(".part")
    partial.write_bytes(pdf)
    partial.chmod(0o600)
    partial.replace(target)  # whole or not at all
    _set(job_id, state="done", progress=100, filename=name, finished_at=utcnow())


def expire(hours: int | None = None) -> int:
    """Delete jobs (and files) older than REPORT_JOB_HOURS; returns how many."""
    hours = current_app.config["REPORT_JOB_HOURS"] if hours is None else hours
    cutoff = utcnow() - timedelta(hours=hours)
    old = db.session.scalars(sa.select(ReportJob).where(ReportJob.created_at < cutoff)).all()
    for job in old:
        discard(job, commit=False)
    db.session.commit()
    return len(old)


def finished_jobs():
    """The query of jobs that are done or failed (their PDFs may still wait for download)."""
    return sa.select(ReportJob).where(ReportJob.state.in_(("done", "failed")))


def discard_finished() -> int:
    """Delete every finished job and its file (the caller commits): after data was
    deleted (purge, erasure), a PDF made before may still hold it. Running jobs finish."""
    finished = db.session.scalars(finished_jobs()).all()
    for job in finished:
        discard(job, commit=False)
    return len(finished)


def discard(job: ReportJob, commit: bool = True) -> None:
    """Delete a job and its file."""
    if job.filename:
        (folder() / job.filename).unlink(missing_ok=True)
    db.session.delete(job)
    if commit:
        db.session.commit()
