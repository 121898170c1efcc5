"""The one place that decides which districts a user may see.

Every query of responses in views, reports and exports takes its districts from
here. A district the user may not see is treated exactly like one that does not
exist, so a URL never reveals which districts are there.
"""

from __future__ import annotations

import sqlalchemy as sa

from intake.extensions import db
from intake.storage.models import District, User

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


def responses_query(user: User):
    """A SELECT of the responses `user` may see; every response query starts here."""
    from intake.storage.models import Response

    ids = [d.id for d in visible_districts(user)]
    return sa.select(Response).where(Response.district_id.in_(ids))
