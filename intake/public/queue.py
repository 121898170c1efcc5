"""Answers a kiosk sends from its offline queue, or that staff import from a saved file.

No `request` here: the kiosk's queue endpoint and the back office's import share
it. A queued answer carries the idempotency key of the page it was typed on, so
sending it twice (a retry after a lost acknowledgement, a file imported after the
tablet sent it anyway) stores it once and answers with the first reference code.

CSRF: these answers are not checked against a CSRF token. A queued answer may be
sent hours after its page was rendered, from a page the service worker served
while offline, in a session that has since changed; a token would expire or not
match and the answer would be lost. What protects the endpoint instead: it only
accepts requests with the `X-Intake-Queue` header (a browser sends a custom header
to another origin only after a CORS preflight, which this app never allows), with
a same-origin `Origin`/`Sec-Fetch-Site` when the browser sends them, and it grants
nothing a session holds: whatever it does, anybody with the kiosk link could do by
filling the form. See docs/kiosk.md.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from flask_babel import force_locale
from werkzeug.datastructures import MultiDict

from intake.engine.wtf import build_form, clean_answers, valid_key, validate_fields
from intake.storage import districts as district_store
from intake.storage.forms import published
from intake.storage.models import Event
from intake.storage.responses import KeyConflict, find_by_key, store_response

#: The header every queued submission carries (see the module docstring).
QUEUE_HEADER = "X-Intake-Queue"


@dataclass
class Outcome:
    """What became of one queued answer.

    `status`: stored (new), repeat (stored before; same reference), invalid (the
    answers do not pass the form's checks: `errors` says why), gone (the form is
    not part of the event, or not published), conflict (the key belongs to an
    answer of another form).
    """

    status: str
    reference: str | None = None
    errors: dict[str, str] = field(default_factory=dict)

    @property
    def acknowledged(self) -> bool:
        """True when the answer is safely stored and the tablet may forget it."""
        return self.status in ("stored", "repeat")


def submit_queued(event: Event, slug: str, lang: str, formdata: MultiDict) -> Outcome:
    """Check and store one queued answer for `event`'s form `slug`, once per key."""
    if slug not in {f.slug for f in event.forms}:
        return Outcome("gone")
    found = published(slug)
    if found is None:
        return Outcome("gone")
    _form, version, definition = found
    key = formdata.get("idempotency_key")
    if not valid_key(key):
        return Outcome("invalid", errors={"idempotency_key": "missing or malformed key"})
    earlier = find_by_key(key)
    if earlier is not None:
        if earlier.form_id != version.form_id:
            return Outcome("conflict")
        return Outcome("repeat", earlier.reference)
    if lang not in definition.languages:
        lang = definition.default_language
    with force_locale(lang):
        groups = district_store.municipality_groups([event.district])
        wtform = build_form(definition, lang, groups, formdata=formdata, meta={"csrf": False})
        if not validate_fields(wtform, definition.answer_fields):
            errors = {f.name: str(f.errors[0]) for f in wtform if f.errors}
            return Outcome("invalid", errors=errors)
        answers = clean_answers(wtform)
    try:
        receipt = store_response(
            version=version,
            district=event.district,
            language=lang,
            source=event.source,
            key=key,
            answers=answers,
            consent_version=definition.consent_version,
            event_id=event.id,
        )
    except KeyConflict:
        return Outcome("conflict")
    return Outcome("stored" if receipt.created else "repeat", receipt.reference)
