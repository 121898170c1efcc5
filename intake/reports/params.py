"""Report parameters from a URL or the CLI, checked with precise messages."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from flask_babel import gettext as _

from intake.period import Period

APPENDICES = ("none", "text", "roster")
#: Dates a period may name. Wide enough for any real question (no response is older
#: than the product), narrow enough that a period's edges in local time and UTC stay
#: inside what Python and the databases can represent (0001-01-01 and 9999-12-31 did
#: not: OverflowError, a 500).
EARLIEST = date(2000, 1, 1)
LATEST = date(2099, 12, 31)
REPORT_LANGUAGES = ("de", "en")


@dataclass(frozen=True)
class ReportParams:
    """What a report covers: a local-date period, its language, and its appendix."""

    date_from: date | None
    date_to: date | None
    lang: str
    appendix: str

    @property
    def period(self) -> Period:
        """The dates as a Period (its edges in UTC filter the responses)."""
        return Period(self.date_from, self.date_to)


def parse(
    date_from: str | None,
    date_to: str | None,
    lang: str | None,
    appendix: str | None,
    default_lang: str,
) -> tuple[ReportParams | None, list[str]]:
    """Check raw parameters; return the parameters or the list of problems."""
    problems: list[str] = []
    start = _date(date_from, "from", problems)
    end = _date(date_to, "to", problems)
    if start and end and start > end:
        problems.append(_("The start date (from) is after the end date (to)."))
    lang = lang or default_lang
    if lang not in REPORT_LANGUAGES:
        problems.append(
            _("Reports are available in: %(langs)s.", langs=", ".join(REPORT_LANGUAGES))
        )
    appendix = appendix or "text"
    if appendix not in APPENDICES:
        problems.append(
            _("The appendix must be one of: %(choices)s.", choices=", ".join(APPENDICES))
        )
    if problems:
        return None, problems
    return ReportParams(start, end, lang, appendix), []


def _date(value: str | None, name: str, problems: list[str]) -> date | None:
    """Read an optional YYYY-MM-DD date; a problem is added to `problems`."""
    day, problem = read_date(value, name)
    if problem:
        problems.append(problem)
    return day


def read_date(value: str | None, name: str) -> tuple[date | None, str | None]:
    """An optional YYYY-MM-DD date between EARLIEST and LATEST, or why it is not one."""
    if not value:
        return None, None
    try:
        day = date.fromisoformat(value) if len(value) == 10 and value.isascii() else _bad()
    except ValueError:
        return None, _(
            "'%(name)s' must be a date written as YYYY-MM-DD, e.g. 2026-01-31.", name=name
        )
    if not EARLIEST <= day <= LATEST:
        return None, _(
            "'%(name)s' must be a date between %(earliest)s and %(latest)s.",
            name=name,
            earliest=EARLIEST.isoformat(),
            latest=LATEST.isoformat(),
        )
    return day, None


def _bad() -> date:
    raise ValueError
