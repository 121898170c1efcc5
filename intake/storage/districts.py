"""Districts and their municipalities."""

from __future__ import annotations

import sqlalchemy as sa

from intake.extensions import db
from intake.storage.models import District, Municipality


def by_slug(slug: str) -> District | None:
    """The district called `slug`, or None."""
    return db.session.scalar(sa.select(District).where(District.slug == slug))


def all_districts() -> list[District]:
    """Every district, by name."""
    return list(db.session.scalars(sa.select(District).order_by(District.name)))


def municipality(slug: str) -> Municipality | None:
    """The municipality called `slug`, or None."""
    return db.session.scalar(sa.select(Municipality).where(Municipality.slug == slug))


def municipality_groups(districts) -> tuple[tuple[str, tuple[tuple[str, str], ...]], ...]:
    """Pick-list groups: ((district name, ((municipality slug, name), ...)), ...), of
    District rows or of the districts storage/cache.py keeps (which make theirs once)."""
    return tuple(d.group for d in districts)
