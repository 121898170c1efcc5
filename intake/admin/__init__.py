"""Coordinator back office: login, dashboard, reports."""

from flask import Blueprint

bp = Blueprint("admin", __name__, url_prefix="/admin")

from intake.admin import auth, forms_admin, views  # noqa: E402, F401  (registers the routes)
