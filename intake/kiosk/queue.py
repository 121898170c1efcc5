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

State: a kiosk takes answers while its event is open and the form takes answers.
After that, only answers typed on a page the kiosk rendered before (its signed
*page stamp*) are still taken, for LATE_DAYS after that page was rendered: a tablet
that lost its connection told those people their answers were saved. Anything else
is refused for good (the tablet keeps it for staff, whose file the coordinator
imports: `imported=True` takes what the tablets were given, whatever the state).

Limit: one event's kiosk stores at most KIOSK_LIMIT_PER_EVENT (config) new answers, all
its tablets together, so a leaked kiosk link cannot fill the database (decided in
intake/submissions.py). The public limit per address does not fit: an event's tablets
share one address.

The outcome is intake/submissions.py's, plus "gone" (the form is not part of the
event, or not published) and "busy" (answered 503: send again later).
"""

from __future__ import annotations

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from werkzeug.datastructures import MultiDict

from intake import config
from intake.storage.forms import availability, published
from intake.storage.models import Event, Form
from intake.submissions import Outcome, Target, submit

#: The header every queued submission carries (see the module docstring).
QUEUE_HEADER = "X-Intake-Queue"
#: The hidden field of a kiosk form page that carries its page stamp. A kiosk's answers
#: take their source from the event, never from the page, so the form's `src` field
#: is free on kiosk pages, and every copy of the page (the service worker's too) sends it.
STAMP_FIELD = "src"
STAMP_SALT = "intake.kiosk.page"
#: Days after its page was rendered that an answer is still taken once the event's
#: kiosk or the form has closed; later ones go the file import way (docs/kiosk.md).
LATE_DAYS = 7


def submit_queued(
    event: Event, slug: str, lang: str, formdata: MultiDict, *, imported: bool = False
) -> Outcome:
    """Check and store one queued answer for `event`'s form `slug`, once per key.

    `imported`: from a file a coordinator imports, which holds what the tablets were
    given; neither the state of the event and form nor the event's limit apply.
    A repeat of a stored key is acknowledged whatever the state now, so the tablet
    can forget it.
    """
    if slug not in {f.slug for f in event.forms}:
        return Outcome("gone")
    found = published(slug)
    if found is None:
        return Outcome("gone")
    form_row, version, definition = found
    if lang not in definition.languages:
        lang = definition.default_language
    target = Target(
        "kiosk",
        version,
        definition,
        event.district,
        source=event.source,
        event=event,
        closed=None if imported else refusal(event, form_row, formdata.get(STAMP_FIELD)),
        limited=not imported,
    )
    return submit(target, formdata, lang, queued=True)


# --- state: what a closed kiosk or form still takes -----------------------------------


def refusal(event: Event, form: Form, stamp: str | None) -> str | None:
    """Why an answer for `form` on `event`'s kiosk is not taken: "event" (the kiosk is
    closed), "form" (it takes no answers); None when it is taken (open, or typed on a
    page rendered while open, within LATE_DAYS)."""
    if event.active and availability(form) == "open":
        return None
    if stamped(event, form.slug, stamp):
        return None
    return "event" if not event.active else "form"


def page_stamp(event: Event, slug: str) -> str:
    """The signed, time-stamped proof that the kiosk rendered this form's page now.

    Made only for a page the kiosk shows, so only while the event and the form take
    answers; it names the event and the form, and holds no personal data.
    """
    return _stamps().dumps([event.id, slug])


def stamped(event: Event, slug: str, stamp: str | None) -> bool:
    """Whether `stamp` is one of `event`'s pages of form `slug`, rendered at most
    LATE_DAYS ago."""
    if not stamp:
        return False
    try:
        event_id, form_slug = _stamps().loads(stamp, max_age=LATE_DAYS * 24 * 3600)
    except (BadSignature, SignatureExpired, ValueError, TypeError):
        return False
    return event_id == event.id and form_slug == slug


def _stamps() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(config.secret_keys(), salt=STAMP_SALT)
