"""What a back-office URL names (districts, a form), as the signed-in user may see it."""

from __future__ import annotations

from flask import abort
from flask_login import current_user

from intake import audit, scope
from intake.storage.forms import published


def scoped_form(district: str, form_slug: str, action: str, target: str):
    """The districts a URL names (as the user may see them) and the form, or 404.

    A district the user may not see is audited as a denied `action` and answers 404,
    exactly like one that does not exist.
    """
    try:
        districts = scope.districts_for(current_user, district)
    except scope.NotVisible:
        audit.record(action, current_user, target, outcome="denied")
        abort(404)
    found = published(form_slug)
    if found is None:
        abort(404)
    form, _version, definition = found
    return districts, form, definition
