"""What every public form request reads, kept per app process: the published form with
its newest version, and the districts with their municipalities.

A respondent's GET and POST would otherwise ask the database the same few questions
(the form, its newest version, the districts offered, their places) on every request.
The answers are kept as plain, immutable facts (never ORM objects, which belong to one
request's session) for PUBLIC_CACHE_SECONDS (config). A commit in this process that
changes a form, a version, a district or a municipality empties the cache at once;
another process (a second gunicorn worker, another app instance) sees the change
within PUBLIC_CACHE_SECONDS. 0 turns the cache off.

Only the public link's pages read from here; the back office, kiosks and invitations
read the database as before.
"""

from __future__ import annotations

import functools
import threading
import time
from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa
from flask import Flask, current_app, has_app_context
from sqlalchemy import event
from sqlalchemy.orm import Session

from intake.engine.definition import FormDefinition
from intake.extensions import db
from intake.storage import forms as form_store
from intake.storage.models import District, Form, FormVersion, Municipality

WATCHED = (Form, FormVersion, District, Municipality)
WATCHED_TABLES = {model.__table__.name for model in WATCHED} | {"form_district"}
_DIRTY = "intake_public_cache_dirty"


@dataclass(frozen=True)
class Place:
    """A municipality: the slug answers store, the name people read."""

    slug: str
    name: str


@dataclass(frozen=True)
class DistrictFacts:
    """A district as the public pages use it."""

    id: int
    slug: str
    name: str
    municipalities: tuple[Place, ...]

    @functools.cached_property
    def group(self) -> tuple[str, tuple[tuple[str, str], ...]]:
        """Its pick-list group for a place question: (name, ((slug, name), ...))."""
        return self.name, tuple((p.slug, p.name) for p in self.municipalities)


@dataclass(frozen=True)
class FormFacts:
    """A form's settings that decide what its public page shows."""

    id: int
    slug: str
    status: str
    opens_on: date | None
    closes_on: date | None
    embed_origins: tuple[str, ...]
    offered: tuple[DistrictFacts, ...]


@dataclass(frozen=True)
class VersionFacts:
    """A stored form version (versions never change once stored)."""

    id: int
    form_id: int
    number: int
    checksum: str


#: Entries one app keeps at most: keys come from URLs (a form's slug, a page's query),
#: so anyone could make new ones; past the bound the oldest go.
MAX_ENTRIES = 512


class _Cache:
    """One app's entries, each with the monotonic time it was read."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.lock = threading.Lock()
        self.entries: dict[tuple, tuple[float, object]] = {}

    def get(self, key: tuple, load):
        if self.seconds <= 0:
            return load()
        now = time.monotonic()
        found = self.entries.get(key)
        if found is not None and now - found[0] < self.seconds:
            return found[1]
        value = load()
        with self.lock:
            self.entries.pop(key, None)
            while len(self.entries) >= MAX_ENTRIES:
                self.entries.pop(next(iter(self.entries)))
            self.entries[key] = (now, value)
        return value

    def forget(self, key: tuple) -> None:
        with self.lock:
            self.entries.pop(key, None)

    def clear(self) -> None:
        with self.lock:
            self.entries.clear()


def init_app(app: Flask) -> None:
    """Give the app its cache, emptied by its own commits that touch what it keeps."""
    app.extensions["intake_public_cache"] = _Cache(float(app.config["PUBLIC_CACHE_SECONDS"]))
    for name, listener in (
        ("after_flush", _note_flush),
        ("do_orm_execute", _note_statement),
        ("after_commit", _after_commit),
    ):
        if not event.contains(Session, name, listener):  # once per process, for every app
            event.listen(Session, name, listener)


def _cache() -> _Cache:
    return current_app.extensions["intake_public_cache"]


def _note_flush(session: Session, _context) -> None:
    for obj in (*session.new, *session.dirty, *session.deleted):
        if isinstance(obj, WATCHED):
            session.info[_DIRTY] = True
            return


def _note_statement(state) -> None:
    """A Core INSERT, UPDATE or DELETE through the session (sa.update(Form), ...)."""
    if state.is_insert or state.is_update or state.is_delete:
        table = getattr(state.statement, "table", None)
        if table is not None and table.name in WATCHED_TABLES:
            state.session.info[_DIRTY] = True


def _after_commit(session: Session) -> None:
    if session.info.pop(_DIRTY, False) and has_app_context():
        cache = current_app.extensions.get("intake_public_cache")
        if cache is not None:
            cache.clear()


# --- the facts ---------------------------------------------------------------------------


def kept(key: tuple, load):
    """`load()`'s value, kept under `key` like the facts below (a rendered page, say);
    emptied with them. `load` may return None for "do not keep"; it is then called
    again next time."""
    value = _cache().get(("kept", *key), load)
    if value is None:
        _cache().forget(("kept", *key))
    return value


def districts() -> tuple[DistrictFacts, ...]:
    """Every district with its municipalities, by name."""
    return _cache().get(("districts",), _load_districts)


def district(slug: str) -> DistrictFacts | None:
    """The district called `slug`, or None."""
    return next((d for d in districts() if d.slug == slug), None)


def published(slug: str) -> tuple[FormFacts, VersionFacts, FormDefinition] | None:
    """The form called `slug` with its newest version and definition, or None."""
    return _cache().get(("published", slug), lambda: _load_published(slug))


def _load_districts() -> tuple[DistrictFacts, ...]:
    places: dict[int, list[Place]] = {}
    for district_id, place_slug, name in db.session.execute(
        sa.select(Municipality.district_id, Municipality.slug, Municipality.name).order_by(
            Municipality.name
        )
    ):
        places.setdefault(district_id, []).append(Place(place_slug, name))
    rows = db.session.execute(
        sa.select(District.id, District.slug, District.name).order_by(District.name)
    )
    return tuple(
        DistrictFacts(id_, slug, name, tuple(places.get(id_, ()))) for id_, slug, name in rows
    )


def _load_published(slug: str):
    found = form_store.published(slug)
    if found is None:
        return None
    form, version, definition = found
    chosen = {d.id for d in form.districts}
    offered = tuple(d for d in districts() if not chosen or d.id in chosen)
    facts = FormFacts(
        form.id,
        form.slug,
        form.status,
        form.opens_on,
        form.closes_on,
        tuple(form.embed_origins or ()),
        offered,
    )
    return (
        facts,
        VersionFacts(version.id, version.form_id, version.number, version.checksum),
        definition,
    )
