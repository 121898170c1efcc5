"""The respondent side's blueprint: the form list, forms, receipts, invitation links."""

from flask import Blueprint

bp = Blueprint("public", __name__)
