"""Coordinator back office: login, dashboard, reports."""

from flask import Blueprint

bp = Blueprint("admin", __name__, url_prefix="/admin")

from intake.admin import (  # noqa: E402, F401  (registers the routes)
    auth,
    events_admin,
    exports_admin,
    forms_admin,
    invitations_admin,
    links_admin,
    responses_admin,
    users_admin,
    views,
)
