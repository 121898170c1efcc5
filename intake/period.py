"""A period of local dates, and its edges in UTC: what a report, export or list covers.

Dates are days in German local time (what a coordinator means by "from 1 March"), while
responses are stored with UTC timestamps; a period turns one into the other. A low
module with no imports of the app, so scope.py and reports/ can both use it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

LOCAL_TZ = ZoneInfo("Europe/Berlin")


@dataclass(frozen=True)
class Period:
    """From `date_from` to `date_to`, both included; either may be open (None)."""

    date_from: date | None = None
    date_to: date | None = None

    @property
    def start_utc(self) -> datetime | None:
        """Start of `date_from` in German local time, as UTC."""
        if self.date_from is None:
            return None
        return datetime.combine(self.date_from, time.min, LOCAL_TZ).astimezone(UTC)

    @property
    def end_utc(self) -> datetime | None:
        """End (exclusive) of `date_to` in German local time, as UTC."""
        if self.date_to is None:
            return None
        next_day = self.date_to + timedelta(days=1)
        return datetime.combine(next_day, time.min, LOCAL_TZ).astimezone(UTC)
