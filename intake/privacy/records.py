"""The record of processing activities (Art. 30 DSGVO) of a form, from its definition.

For the district's data protection officer: who is responsible, why, on which legal
basis, who receives the data, how long it is kept and what happens then, which data
is collected (every question, whether it identifies a person or is a special category),
in which districts and languages. Everything comes from the newest version's
definition and the form's settings, so the record never drifts from what the form
really asks. Texts are German (the binding language).
"""

from __future__ import annotations

from flask_babel import force_locale

from intake.engine.definition import FormDefinition
from intake.engine.validation import RECORD_FACTS
from intake.i18n import NATIVE_NAMES
from intake.privacy.retention import identifying_fields
from intake.storage.forms import offered_districts
from intake.storage.models import Form, FormVersion


def record(form: Form, version: FormVersion, definition: FormDefinition) -> dict:
    """The record as plain data (JSON-ready); missing facts are None, for the page to flag."""
    identifying = identifying_fields(definition)
    with force_locale("de"):
        fields = [
            {
                "name": f.name,
                "question": f.report_label("de"),
                "type": f.type,
                "required": bool(f.required),
                "identifying": f.name in identifying,
                "special_category": f.sensitive,
            }
            for f in definition.answer_fields
        ]
    return {
        "form": form.slug,
        "title": definition.title("de").text,
        "version": version.number,
        "privacy_notice_version": definition.consent_version,
        "controller": _fact(definition, "controller"),
        "purpose": _fact(definition, "purpose"),
        "legal_basis": _fact(definition, "legal_basis"),
        "recipients": _fact(definition, "recipients"),
        "contact": _fact(definition, "contact"),
        "retention_days": definition.retention_days,
        "on_expiry": definition.on_expiry if definition.retention_days else None,
        "districts": [d.name for d in offered_districts(form)],
        "languages": [NATIVE_NAMES.get(code, code) for code in definition.languages],
        "fields": fields,
        "missing": [
            key
            for key in (*RECORD_FACTS, "retention_days")
            if not (
                definition.retention_days
                if key == "retention_days"
                else definition.privacy_fact(key)
            )
        ],
    }


def _fact(definition: FormDefinition, key: str) -> str | None:
    found = definition.privacy_fact(key, "de")
    return found.text if found else None
