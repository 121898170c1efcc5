"""The back office's blueprint: every coordinator page is under /admin."""

from flask import Blueprint

bp = Blueprint("admin", __name__, url_prefix="/admin")
