"""The one path that stores an answer, whatever the channel it came through.

A public link, a kiosk tablet (interactive, from its offline queue, or from the file
staff saved), a personal invitation and a coordinator's correction all call
`submit`: it checks the idempotency key, walks the pages (language switch, back,
next), validates the page or the whole form on one logic state, cleans the
answers, finds the district from the municipality answer, decides the limit, and
stores once. It returns an `Outcome`; the views only turn that into HTTP (a
redirect to the receipt, a 422/429/503 page, the kiosk queue's JSON).

No `request` here: everything a view knows about the request (the posted data,
the button pressed, the client's network for the public limit) comes in as
arguments, so the CLI and the tests can submit the same way.
"""

from __future__ import annotations

import functools
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from limits import parse
from sqlalchemy import exc as sa_exc

from intake import throttle
from intake.engine.definition import FormDefinition
from intake.extensions import db
from intake.form_pages import first_page_with_errors, neighbour, repeat_step
from intake.storage import districts as district_store
from intake.storage.cache import DistrictFacts, VersionFacts
from intake.storage.models import District, Event, FormVersion, Response
from intake.storage.responses import (
    InvitationAnswered,
    KeyConflict,
    Receipt,
    Stored,
    replace_answers,
    store_response,
    stored_under,
)
from intake.wtforms_adapter import PublicForm, build_form, clean_answers, valid_key, validate_fields

#: The limit scope of a kiosk's answers, counted per event (all its tablets together).
KIOSK_SCOPE = "kiosk-event"
LINK_SCOPE = "public-submission"


@dataclass(frozen=True)
class Target:
    """Where an answer goes: the form version, and what the channel fixes.

    `district` is fixed by a kiosk's event, an invitation or a link that names it;
    when None, the municipality answer decides among `offered`. `replaces` is the
    stored response whose answers are changed (an invitation that allows changes, a
    correction) instead of storing a new one. `closed` is why a channel takes no new
    answers ("event", "form"), decided by its view; a repeat of a stored key is
    still answered with its receipt.
    """

    channel: str  # link, kiosk, invitation, correction
    version: FormVersion | VersionFacts
    definition: FormDefinition
    district: District | DistrictFacts | None = None
    offered: tuple[District | DistrictFacts, ...] = ()
    source: str | None = None
    event: Event | None = None
    invitation_id: int | None = None
    replaces: Response | None = None
    closed: str | None = None
    limited: bool = True

    @property
    def multi_page(self) -> bool:
        """Respondent channels in a browser walk the pages; the kiosk and a correction
        show the whole form on one page."""
        return self.channel in ("link", "invitation")


@dataclass
class Outcome:
    """What became of one submission.

    `status`: stored (new; `receipt`), changed (earlier answers replaced), repeat
    (this key is stored already: `receipt` is the first one), page (show `page` of
    the form again with status 200: another language, back or next), invalid (show
    `page` with its messages, 422; `errors` holds one message per field), limited
    (send again after `retry` seconds, 429), busy (the database could not store it,
    503), closed (`closed` says why), conflict (the key belongs to another form or
    invitation), answered (the invitation was answered meanwhile from another page).
    """

    status: str
    form: PublicForm | None = None
    receipt: Receipt | None = None
    page: int = 0
    errors: dict[str, str] = field(default_factory=dict)
    retry: int | None = None
    closed: str | None = None

    @property
    def acknowledged(self) -> bool:
        """True when the answer is safely stored and a tablet may forget it."""
        return self.status in ("stored", "repeat", "changed")

    @property
    def reference(self) -> str | None:
        """The reference code the respondent is told, when there is one."""
        return self.receipt.reference if self.receipt else None


def new_key() -> str:
    """A fresh idempotency key for one rendering of a form."""
    return secrets.token_urlsafe(24)


def form_for(
    target: Target,
    lang: str,
    *,
    data: Mapping | None = None,
    formdata=None,
    meta: dict | None = None,
) -> PublicForm:
    """The WTForms form of `target` in `lang`: empty or prefilled with `data` (a page
    to show), or holding `formdata` (a submission)."""
    districts = [target.district] if target.district else target.offered
    groups = district_store.municipality_groups(districts)
    kwargs = {"data": data} if data is not None else {"formdata": formdata}
    if meta is not None:
        kwargs["meta"] = meta
    wtform = build_form(target.definition, lang, groups, target.district is None, **kwargs)
    if formdata is not None and target.district is not None:
        wtform.district.data = target.district.slug  # whatever the page sent
    return wtform


def submit(
    target: Target,
    formdata,
    lang: str,
    *,
    nav: str = "send",
    switch: str | None = None,
    client: str | None = None,
    meta: dict | None = None,
    queued: bool = False,
) -> Outcome:
    """Take one submission of `formdata` for `target` in `lang`, once per key.

    `nav` is the button pressed on a multi-page form (back, next, send); `switch` a
    language chosen on the page (answers stay, nothing is checked). `client` names
    the sender's network for the public limit. `queued`: sent by a kiosk's offline
    queue or imported from a staff file; messages come in `lang` then, as there is
    no page, and an odd key is refused rather than replaced; it carries no CSRF
    token (see intake/kiosk/queue.py for what protects it instead).
    """
    if queued:
        meta = {"csrf": False}
        with force_locale(lang):
            return _submit(target, formdata, lang, nav, switch, client, meta, queued)
    return _submit(target, formdata, lang, nav, switch, client, meta, queued)


def _submit(target, formdata, lang, nav, switch, client, meta, queued) -> Outcome:
    wtform = form_for(target, lang, formdata=formdata, meta=meta)
    key = wtform.idempotency_key.data
    if target.channel == "correction":  # a correction stores no key
        return _take(target, wtform, lang, nav, switch, client)
    if not valid_key(key):
        if queued:
            return Outcome(
                "invalid", wtform, errors={"idempotency_key": "missing or malformed key"}
            )
        wtform.idempotency_key.data = new_key()  # for the next send; this one fails
        return _take(target, wtform, lang, nav, switch, client, key_ok=False)
    if target.replaces is not None and (earlier := stored_under(key)) is not None:
        return _repeat(target, earlier)  # not a change: the same send again
    outcome = _take(target, wtform, lang, nav, switch, client)
    if outcome.status in ("page", "invalid", "limited", "closed"):
        # Not stored now, but a key stored before is a repeat (a double click, a retry,
        # a replay from a tablet's queue): its first receipt, whatever this one says.
        # A new answer takes one lookup less: its key is checked by the unique index.
        earlier = stored_under(key)
        if earlier is not None:
            return _repeat(target, earlier)
    if outcome.status == "limited":
        current_app.logger.warning("%s answers over the limit", target.channel)
    return outcome


def _take(target, wtform, lang, nav, switch, client, key_ok: bool = True) -> Outcome:
    """Walk, check and store one submission whose key is not stored yet (or is stored
    and will be refused by the unique index: store_response answers it as a repeat)."""
    if target.closed:
        return Outcome("closed", wtform, closed=target.closed)
    last = len(target.definition.pages()) - 1
    if nav.startswith(("add:", "remove:")) and target.definition.repeats:
        # An entry added or removed without JavaScript: the same page again, unchecked.
        repeat_step(wtform, nav)
        return Outcome("page", wtform, page=page_index(wtform.page.data, last + 1))
    if target.multi_page:
        walked = _walk(wtform, nav, switch)
        if walked is not None:
            return walked
    if not validate_fields(wtform, target.definition.answer_inputs) or not key_ok:
        return _invalid(wtform)
    answers = clean_answers(wtform)
    if target.replaces is not None:
        return _replace(target, wtform, answers, lang, last)
    district = target.district or _district_of(target.definition, answers)
    if district is None:
        # The place question is then required (see docs/form-definitions.md).
        wtform[target.definition.municipality_field.name].errors.append(
            _("Please choose an answer.")
        )
        return _invalid(wtform)
    limit = _limit(target, client)
    wait = throttle.wait_for(*limit) if limit else None
    if wait is not None:
        # Nothing is stored; the page keeps every answer and its key for a later send.
        return Outcome("limited", wtform, page=last, retry=wait)
    return _store(target, wtform, answers, district, lang, limit, last)


def _repeat(target: Target, earlier: Stored) -> Outcome:
    """The first receipt for a stored key, when it belongs to this target."""
    if earlier.form_id != target.version.form_id or (
        target.invitation_id is not None and earlier.invitation_id != target.invitation_id
    ):
        return Outcome("conflict")
    return Outcome("repeat", receipt=Receipt(earlier.reference, earlier.form_slug, False))


def _walk(wtform: PublicForm, nav: str, switch: str | None) -> Outcome | None:
    """Another language, back or next on a multi-page form; None: it is being sent."""
    pages = wtform.definition.pages()
    current = page_index(wtform.page.data, len(pages))
    if switch:
        return Outcome("page", wtform, page=current)
    if nav == "back":
        return Outcome("page", wtform, page=neighbour(wtform, current, -1))
    # "Send" on a page whose answers have just made a later page due (its button was
    # made before them, and said "Send"): that page comes next, as after "Next". A send
    # from the form's last page needs no look ahead.
    if nav == "next" or (nav == "send" and current < len(pages) - 1):
        following = neighbour(wtform, current, +1)
        if nav == "send" and following == current:
            return None
        if not validate_fields(wtform, pages[current].fields):
            return Outcome("invalid", wtform, page=current, errors=_errors(wtform))
        if following != current:
            return Outcome("page", wtform, page=following)
    return None


def _invalid(wtform: PublicForm) -> Outcome:
    """Show the first page with a message (the current one if none has: a bad key)."""
    first = first_page_with_errors(wtform)  # may be page 0, which is falsy
    if first is None:
        first = page_index(wtform.page.data, len(wtform.definition.pages()))
    return Outcome("invalid", wtform, page=first, errors=_errors(wtform))


def _errors(wtform: PublicForm) -> dict[str, str]:
    return {f.name: str(f.errors[0]) for f in wtform if f.errors}


def _district_of(definition: FormDefinition, answers: dict[str, list[str]]) -> District | None:
    """The district of the municipality the person chose."""
    chosen = answers.get(definition.municipality_field.name, [None])[0]
    place = district_store.municipality(chosen) if chosen else None
    return place.district if place else None


def _limit(target: Target, client: str | None):
    """(limit, storage key, what) for this channel, or None when it has no limit.

    A public link counts per client network (SUBMIT_LIMIT_PER_ADDRESS), a kiosk per
    event (KIOSK_LIMIT_PER_EVENT: its tablets share one address). Invitations are
    answered once, corrections are staff work, and a file staff import holds what
    the tablets were given: none of them is limited (`Target.limited`).
    """
    config = current_app.config
    prefix = config.get("RATELIMIT_KEY_PREFIX", "")
    if not target.limited:
        return None
    if target.channel == "link" and client is not None:
        value, what = config["SUBMIT_LIMIT_PER_ADDRESS"], "submission"
        key = (prefix, LINK_SCOPE, client)
    elif target.channel == "kiosk" and target.event is not None:
        value, what = config["KIOSK_LIMIT_PER_EVENT"], "kiosk answer"
        key = (prefix, KIOSK_SCOPE, str(target.event.id))
    else:
        return None
    return (_parsed(value), key, what) if value else None


@functools.lru_cache(maxsize=16)
def _parsed(value: str):
    """A limit such as "100 per 10 minutes", parsed once per process (config.py checked it)."""
    return parse(value)


def _store(target, wtform, answers, district, lang, limit, last) -> Outcome:
    """Store a new response (one transaction) and count it against the limit."""
    try:
        receipt = store_response(
            version=target.version,
            district=district,
            language=lang,
            source=target.source,
            key=wtform.idempotency_key.data,
            answers=answers,
            consent_version=target.definition.consent_version,
            event_id=target.event.id if target.event else None,
            invitation_id=target.invitation_id,
            definition=target.definition,
        )
    except KeyConflict:
        return Outcome("conflict", wtform)
    except InvitationAnswered:
        return Outcome("answered", wtform)
    except sa_exc.OperationalError as exc:
        return _busy(wtform, exc, last)
    if limit and receipt.created:
        throttle.hit(*limit)
    return Outcome("stored" if receipt.created else "repeat", wtform, receipt=receipt)


def _replace(target, wtform, answers, lang, last) -> Outcome:
    """Put changed answers in place of the earlier ones (one transaction)."""
    earlier = target.replaces
    # A correction keeps the language the person answered in.
    language = earlier.language if target.channel == "correction" else lang
    try:
        replace_answers(earlier, answers, language)
    except sa_exc.OperationalError as exc:
        return _busy(wtform, exc, last)
    return Outcome("changed", wtform, receipt=Receipt(earlier.reference, earlier.form.slug, False))


def _busy(wtform: PublicForm, exc: sa_exc.OperationalError, last: int) -> Outcome:
    """Locked, full or unreachable: nothing was stored (one transaction). The person
    gets their answers back with the same key, to send again."""
    db.session.rollback()
    current_app.logger.error("submission not stored: %s", type(exc.orig).__name__)
    return Outcome("busy", wtform, page=last, retry=30)


def page_index(value: str | None, count: int) -> int:
    """The page a submission came from; anything odd means the first page."""
    if value and re.fullmatch(r"[0-9]{1,4}", value) and int(value) < count:  # not "²", "٢"
        return int(value)
    return 0
