"""Public (respondent) side: the form list, forms, submission, receipt, invitation links."""

from flask import Blueprint

bp = Blueprint("public", __name__)

from intake.public import invitations, views  # noqa: E402, F401  (registers the routes)
