"""Error pages in the user's language, never a bare stack trace."""

from __future__ import annotations

from flask import Flask, Response, g, render_template, request
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from markupsafe import escape
from sqlalchemy import exc as sa_exc
from werkzeug.exceptions import HTTPException, InternalServerError, SecurityError

from intake.i18n import current_language
from intake.storage.sealing import DataKeyError


def init_app(app: Flask) -> None:
    """Register one handler for every HTTP error and one for unexpected failures."""
    app.register_error_handler(CSRFError, _csrf_error)
    app.register_error_handler(SecurityError, _untrusted_host)
    app.register_error_handler(sa_exc.OperationalError, _database_unavailable)
    app.register_error_handler(sa_exc.InterfaceError, _database_unavailable)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(DataKeyError, _data_keys_missing)
    app.register_error_handler(Exception, _unexpected)


def _messages() -> dict[int, tuple[str, str]]:
    """Title and explanation per status code, translated for this request."""
    return {
        400: (_("The request could not be understood"), _("Please go back and try again.")),
        403: (_("Not allowed"), _("You are not allowed to do this.")),
        404: (
            _("Page not found"),
            _("This page does not exist. Please check the link or start again."),
        ),
        405: (_("Not allowed"), _("This page cannot be used like this.")),
        410: (_("This link no longer works"), _("Please ask for a new link.")),
        413: (
            _("Too much data"),
            _("What you sent is too large. Please shorten your answers and try again."),
        ),
        429: (_("Too many attempts"), _("Please wait a moment and try again.")),
        500: (
            _("Something went wrong"),
            _("This is our fault. Your answers were not saved. Please try again later."),
        ),
        503: (
            _("Temporarily unavailable"),
            _("Please try again in a few minutes. Your answers were not saved."),
        ),
    }


def render_error(status: int, detail: str | None = None):
    """Render the error page for `status` with an optional specific explanation."""
    title, text = _messages().get(status, (_("Error"), _("Please go back and try again.")))
    return render_template("errors/error.html", title=title, text=detail or text), status


def _http_error(exc: HTTPException):
    # A view that aborts with its own (translated) description explains itself.
    detail = exc.description if exc.description != type(exc).description else None
    return render_error(exc.code or 500, detail)


def _untrusted_host(exc: SecurityError):
    """A Host header outside TRUSTED_HOSTS: no URL can be built, so a bare page."""
    title, text = _messages()[400]
    body = (
        f'<!doctype html><html lang="{escape(current_language())}"><meta charset="utf-8">'
        f"<title>{escape(title)}</title><h1>{escape(title)}</h1><p>{escape(text)}</p></html>"
    )
    return Response(body, 400, mimetype="text/html")


def _database_unavailable(exc: Exception):
    """The database cannot be reached or written (locked, full, gone): 503, nothing kept.

    Whatever the request had begun is rolled back, so no half-written record stays.
    """
    from flask import current_app

    from intake.extensions import db

    try:
        db.session.rollback()
    except sa_exc.SQLAlchemyError:  # pragma: no cover - the connection may be gone too
        pass
    _nobody_logged_in()
    cause = getattr(exc, "orig", None) or exc
    current_app.logger.error("database unavailable: %s", type(cause).__name__)
    if request.method == "POST" and request.endpoint in RESEND_ENDPOINTS:
        return _resend_page()
    body, status = render_error(503)
    return body, status, {"Retry-After": "60"}


def _nobody_logged_in() -> None:
    """The error page is rendered as for nobody logged in, unless the user was already
    looked up: every template asks Flask-Login who is logged in, and with the database
    away that lookup fails again inside this handler, which made a bare 500."""
    from flask import current_app

    if "_login_user" not in g:  # where Flask-Login keeps this request's user
        g._login_user = current_app.login_manager.anonymous_user()


#: Respondent pages whose POST carries answers (a public link, a personal invitation).
RESEND_ENDPOINTS = ("public.form", "public.invitation")


def _resend_page():
    """A form sent while the database was gone: its answers, its key and its token come
    back as hidden fields with one "Send again" button to the same address. No form
    definition is needed (it is in the database too), so the person never retypes."""
    fields = [(name, value) for name, value in request.form.items(multi=True) if name != "nav"]
    page = render_template(
        "errors/resend.html",
        fields=fields,
        nav=request.form.get("nav", "send"),
        action=request.full_path.rstrip("?"),
    )
    return page, 503, {"Retry-After": "60", "Cache-Control": "no-store"}


def _data_keys_missing(exc: Exception):
    """Sensitive answers cannot be read or written: the keys are missing or wrong.

    Nothing is stored (a submission's transaction never started); the log says what the
    operator must fix (no content), the page says the service is unavailable.
    """
    from flask import current_app

    from intake.extensions import db

    db.session.rollback()
    current_app.logger.error("data keys: %s", exc)
    body, status = render_error(503)
    return body, status, {"Retry-After": "300"}


def _csrf_error(exc: CSRFError):
    return render_error(400, _("This page was open for too long. Please reload it and try again."))


def _unexpected(exc: Exception):
    if isinstance(exc, HTTPException):  # pragma: no cover - handled above
        return _http_error(exc)
    from flask import current_app

    current_app.logger.exception("unhandled error: %s", type(exc).__name__)
    return render_error(InternalServerError.code)
