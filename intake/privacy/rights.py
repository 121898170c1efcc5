"""The rights of a person in the data: access (Art. 15 DSGVO) and erasure (Art. 17).

Finding a person's responses is the response list's search (reference code, or any
answer such as an email address or phone number), scoped to the user's districts.
`access` gathers everything stored about one response for the person (JSON, and a PDF
made from the same data); `erase` deletes it everywhere Intake keeps it. The caller
checks who may do this and writes the audit entry; nothing here logs content.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from flask import render_template
from flask_babel import force_locale
from markupsafe import Markup

from intake.extensions import db
from intake.reports import fonts, jobs
from intake.reports.pdf import html_to_pdf
from intake.storage.forms import definition_of
from intake.storage.models import Municipality, Response
from intake.storage.responses import answer_values


@dataclass
class Access:
    """What is stored about one response, readable: labels in German and in the person's
    language, values as shown in the back office."""

    data: dict
    rows: list[tuple[str, str, list[str]]]


def access(response: Response) -> Access:
    """Everything Intake stores about the person behind `response` (German texts: the
    binding language, with the questions also in the person's language)."""
    with force_locale("de"):
        return _access(response)


def _access(response: Response) -> Access:
    definition = definition_of(response.form_version)
    lang = response.language if response.language in definition.languages else None
    places = dict(db.session.execute(sa.select(Municipality.slug, Municipality.name)).all())
    values = answer_values(response)
    rows: list[tuple[str, str, list[str]]] = []
    answers = []
    for fdef, entry, raw in definition.answered(values):
        if not raw:
            continue
        shown = [fdef.answer_label(v, "de", places) for v in raw]
        label_de = fdef.label("de").text
        label_own = fdef.label(lang).text if lang else label_de
        if entry is not None:  # "Vorname (Haushaltsmitglied 2)"
            repeat = definition.field(fdef.repeat)
            label_de = f"{label_de} ({repeat.label('de').text} {entry})"
            label_own = f"{label_own} ({repeat.label(lang or 'de').text} {entry})"
        rows.append((label_de, label_own, shown))
        answer = {
            "question": fdef.name,
            "label": label_de,
            "label_in_language": label_own,
            "values": raw,
            "shown": shown,
        }
        if entry is not None:
            answer["entry"] = entry
        answers.append(answer)
    invitation = response.invitation
    data = {
        "reference": response.reference,
        "form": response.form.slug,
        "form_title": definition.title("de").text,
        "form_version": response.form_version.number,
        "district": response.district.name,
        "language": response.language,
        "sent_at": _iso(response.created_at),
        "changed_at": _iso(response.updated_at),
        "source": response.source,
        "event": response.event.name if response.event else None,
        "privacy_notice_version": response.consent_version,
        "answers": answers,
        "office": {"status": response.status, "note": response.note},
        "invitation": (
            {
                "email": invitation.email,
                "name": invitation.name,
                "language": invitation.language,
                "sent_at": _iso(invitation.sent_at),
                "reminders": invitation.reminders,
            }  # fmt: skip
            if invitation
            else None
        ),
        "retention_days": definition.retention_days,
    }
    return Access(data, rows)


def access_pdf(response: Response) -> bytes:
    """The same as `access`, as a PDF for the person (German, with their language's labels)."""
    found = access(response)
    font_css = Markup(fonts.font_faces_css())  # noqa: S704 - our own constant
    with force_locale("de"):
        html = render_template(
            "reports/person.html", a=found.data, rows=found.rows, font_css=font_css
        )
    return html_to_pdf(html)


def erase(response: Response) -> None:
    """Delete the response, its answers and its invitation (contact data), and every
    finished background PDF, which may hold them (they are made again on request).
    One transaction for the data; the caller audits."""
    invitation = response.invitation
    db.session.delete(response)
    if invitation is not None:
        db.session.delete(invitation)
    db.session.flush()
    jobs.discard_finished()
    db.session.commit()


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None
