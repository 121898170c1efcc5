"""Events and their kiosks: creating them, finding them by kiosk token, the staff PIN.

Plain functions with no `request`: the back office and the CLI (`events create`)
share them.
"""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
from collections.abc import Sequence
from datetime import date

import sqlalchemy as sa

from intake.extensions import db
from intake.passwords import hash_password, verify_password
from intake.storage.forms import availability, latest_version
from intake.storage.models import District, Event, Form

PIN_RE = re.compile(r"^[0-9]{6,8}$")
#: PBKDF2 rounds of the offline PIN check (OWASP's 2023 figure for PBKDF2-SHA256).
PIN_CHECK_ROUNDS = 600_000
IDLE_RANGE = (30, 1800)
THANKS_RANGE = (5, 120)


class EventError(ValueError):
    """An event cannot be made as asked; `code` names the reason for the message."""

    def __init__(self, code: str, detail: str = "") -> None:
        super().__init__(code)
        self.code = code
        self.detail = detail


def new_token() -> str:
    """A kiosk token: random, URL-safe, not guessable (128 bits)."""
    return secrets.token_urlsafe(16)


def new_pin() -> str:
    """A six-digit staff PIN, for when none was chosen."""
    return f"{secrets.randbelow(10**6):06d}"


def create_event(
    *,
    name: str,
    district: District,
    forms: Sequence[Form],
    pin: str,
    held_on: date | None = None,
    languages: Sequence[str] = (),
    idle_seconds: int = 120,
    thanks_seconds: int = 15,
    created_by_id: int | None = None,
) -> Event:
    """Check and add a new event (the caller commits)."""
    name = name.strip()
    if not name or len(name) > 200:
        raise EventError("name")
    if not forms:
        raise EventError("forms")
    for form in forms:
        if form.districts and district not in form.districts:
            raise EventError("form_district", form.slug)
    check_forms(forms)
    if not PIN_RE.match(pin or ""):
        raise EventError("pin")
    if not IDLE_RANGE[0] <= idle_seconds <= IDLE_RANGE[1]:
        raise EventError("idle")
    if not THANKS_RANGE[0] <= thanks_seconds <= THANKS_RANGE[1]:
        raise EventError("thanks")
    event = Event(
        token=new_token(),
        name=name,
        held_on=held_on,
        district=district,
        forms=list(forms),
        languages=list(dict.fromkeys(languages)),
        idle_seconds=idle_seconds,
        thanks_seconds=thanks_seconds,
        created_by_id=created_by_id,
    )
    set_pin(event, pin)
    db.session.add(event)
    return event


#: Why a form cannot be on a kiosk, by its availability(). A form that opens later may:
#: an event can be prepared before its form opens (the tablets show it from then on).
FORM_PROBLEMS = {"draft": "form_draft", "closed": "form_closed", "ended": "form_ended"}


def check_forms(forms: Sequence[Form]) -> None:
    """Refuse forms that take no answers: no published version ("form_unknown"), a
    draft, closed, or past its closing date (EventError with the form's slug)."""
    for form in forms:
        if latest_version(form) is None:
            raise EventError("form_unknown", form.slug)
        problem = FORM_PROBLEMS.get(availability(form))
        if problem:
            raise EventError(problem, form.slug)


def set_active(event: Event, active: bool) -> None:
    """Close the event's kiosk, or open it again (the caller commits).

    Opening checks the event's forms like creating the event does: a kiosk never opens
    with a form that takes no answers (EventError). Closing always works.
    """
    if active:
        check_forms(event.forms)
    event.active = active


def set_pin(event: Event, pin: str) -> None:
    """Give the event a new staff PIN (6-8 digits); the caller commits.

    Tablets that are online check it on the server at once; a tablet offline keeps
    checking the old one until it has loaded the PIN page again.
    """
    if not PIN_RE.match(pin or ""):
        raise EventError("pin")
    event.pin_hash = hash_password(pin)
    event.pin_check = pin_check_for(pin)


def pin_check_for(pin: str) -> str:
    """What a tablet needs to check the staff PIN without a connection.

    "pbkdf2-sha256$<rounds>$<salt>$<hash>" (base64): the staff page checks a PIN
    with WebCrypto when the server cannot be reached, so staff can save waiting
    answers to a file at a venue without Wi-Fi. It is on the event's PIN page, which
    anyone with the kiosk link can load: it stops the next respondent, not somebody
    who tries every PIN on a computer (six digits are a million tries), which is
    why PINs have six digits or more and the server's check (argon2, throttled)
    is used whenever it answers. See docs/kiosk.md.
    """
    salt = secrets.token_bytes(16)
    digest = hashlib.pbkdf2_hmac("sha256", pin.encode(), salt, PIN_CHECK_ROUNDS)
    b64 = lambda raw: base64.b64encode(raw).decode()  # noqa: E731
    return f"pbkdf2-sha256${PIN_CHECK_ROUNDS}${b64(salt)}${b64(digest)}"


def by_token(token: str) -> Event | None:
    """The event of a kiosk link, active or not; None for an unknown token."""
    if not token or len(token) > 64:
        return None
    return db.session.scalar(sa.select(Event).where(Event.token == token))


def check_pin(event: Event, pin: str) -> bool:
    """True when `pin` is the event's staff PIN (constant work either way)."""
    return verify_password(event.pin_hash, pin or "")


def events_in(districts: Sequence[District]) -> list[Event]:
    """The events of these districts, newest first."""
    ids = [d.id for d in districts]
    return list(
        db.session.scalars(
            sa.select(Event)
            .where(Event.district_id.in_(ids))
            .order_by(Event.held_on.desc().nulls_last(), Event.id.desc())
        )
    )


def event_names(ids: Sequence[int]) -> dict[int, str]:
    """Labels of events by id, for summaries and exports: "name (date)"."""
    rows = db.session.execute(
        sa.select(Event.id, Event.name, Event.held_on).where(Event.id.in_(list(ids)))
    )
    return {i: f"{name} ({held:%d.%m.%Y})" if held else name for i, name, held in rows}
