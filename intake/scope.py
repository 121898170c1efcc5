"""The one place that decides which districts a user may see.

Every query of responses in views, reports and exports takes its districts from
here, and narrows them by form and period with `responses_where`. A district the user
may not see is treated exactly like one that does not exist, so a URL never reveals
which districts are there.
"""

from __future__ import annotations

from collections.abc import Iterable

import sqlalchemy as sa

from intake.extensions import db
from intake.period import Period
from intake.storage.models import District, Form, Response, User

ALL = "all"


class NotVisible(LookupError):
    """The district does not exist or the user may not see it (deliberately the same)."""


def visible_districts(user: User) -> list[District]:
    """The districts whose responses `user` may see: all for admins."""
    if not user.is_active:
        return []
    if user.role == "admin":
        return list(db.session.scalars(sa.select(District).order_by(District.name)))
    return sorted(user.districts, key=lambda d: d.name)


def districts_for(user: User, slug: str) -> list[District]:
    """Resolve a URL's district slug (or `all`) to the districts `user` may see."""
    visible = visible_districts(user)
    if slug == ALL:
        if not visible:
            raise NotVisible(slug)
        return visible
    for district in visible:
        if district.slug == slug:
            return [district]
    raise NotVisible(slug)


def responses_query(
    user: User,
    districts: Iterable[District] | None = None,
    form: Form | None = None,
    period: Period | None = None,
) -> sa.Select:
    """A SELECT of the responses `user` may see, narrowed like `responses_where`; every
    query of whole responses starts here."""
    ids = [d.id for d in visible_districts(user)]
    return sa.select(Response).where(
        Response.district_id.in_(ids), *responses_where(districts, form, period)
    )


def responses_where(
    districts: Iterable[District] | None = None,
    form: Form | None = None,
    period: Period | None = None,
) -> list[sa.ColumnElement[bool]]:
    """The conditions that keep responses in `districts`, of `form` and in `period` (None:
    any): the one place they are written, for SELECTs of any columns or aggregates.

    `districts` must come from this module (`districts_for`, `visible_districts`): this
    narrows, it does not check who may see them.
    """
    where: list[sa.ColumnElement[bool]] = []
    if form is not None:
        where.append(Response.form_id == form.id)
    if districts is not None:
        where.append(Response.district_id.in_([d.id for d in districts]))
    if period is not None and period.start_utc:
        where.append(Response.created_at >= period.start_utc)
    if period is not None and period.end_utc:
        where.append(Response.created_at < period.end_utc)
    return where
