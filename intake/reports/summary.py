"""The figures of a district summary, computed with SQL aggregates.

The result is plain data (no ORM objects), so the PDF template cannot lazy-load
anything and the CLI and the web view share one code path.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa
from babel import Locale, UnknownLocaleError

from intake.engine.definition import FieldDef, FormDefinition
from intake.engine.repeats import MAX_COUNT_LIMIT
from intake.extensions import db
from intake.i18n import NATIVE_NAMES
from intake.kiosk.store import event_names
from intake.period import LOCAL_TZ, Period
from intake.reports.params import ReportParams
from intake.scope import responses_where
from intake.storage.models import Answer, District, Form, Municipality, Response, utcnow

#: xhtml2pdf lays out one table in quadratic time: long lists are split.
TABLE_ROWS = 200


@dataclass
class CountRow:
    """One answer option with its count per district and overall."""

    label: str
    counts: list[int]
    total: int
    percent: float


@dataclass
class QuestionCounts:
    """How often each option of one question was chosen."""

    label: str
    multiple: bool
    rows: list[CountRow]
    answered: list[int]
    answered_total: int
    #: What the percentages and "answered by" are of: all responses or, for a question
    #: inside a repeat, all entries of the repeat.
    base: int = 0


@dataclass
class RepeatCounts:
    """A repeat: its entries per district and its choice questions counted over entries.

    Each entry is counted once (a household of three is three entries), so the counts
    of its questions are of entries, not of responses.
    """

    label: str
    entries: list[int]
    entries_total: int
    #: Responses with at least one entry.
    responses: list[int]
    responses_total: int
    questions: list[QuestionCounts]


@dataclass
class TextAnswers:
    """The free-text answers to one question, in tables of at most TABLE_ROWS rows."""

    label: str
    chunks: list[list[str]]


@dataclass
class RosterRow:
    """Contact details of one respondent (only for roles that may see them)."""

    reference: str
    created: datetime
    district: str
    values: list[str]


@dataclass
class LanguageMatchRow:
    """One language: volunteers who offer it and newcomers who speak it, per district."""

    label: str
    offered: list[int]
    needed: list[int]


@dataclass
class Summary:
    """Everything the PDF shows, already scoped to the user's districts."""

    form_title: str
    district_names: list[str]
    params: ReportParams
    generated_at: datetime
    first_at: datetime | None
    last_at: datetime | None
    totals: list[int]
    total: int
    languages: list[CountRow]
    questions: list[QuestionCounts]
    #: The form's repeats, each with its questions counted over its entries.
    repeats: list[RepeatCounts] = field(default_factory=list)
    #: Responses per source/campaign (the `src=` of the link, or an event).
    sources: list[CountRow] = field(default_factory=list)
    #: Responses per month, or per week when the responses span less than two months.
    over_time: list[CountRow] = field(default_factory=list)
    over_time_unit: str = "month"
    #: With a start date: every response up to the end of the period (new + earlier).
    up_to_end: list[int] | None = None
    #: Languages volunteers offer against languages newcomers speak (all forms whose
    #: definitions mark such fields with `report_languages`), per district.
    language_match: list[LanguageMatchRow] = field(default_factory=list)
    text_answers: list[TextAnswers] = field(default_factory=list)
    roster_labels: list[str] = field(default_factory=list)
    roster: list[RosterRow] = field(default_factory=list)


def build_summary(
    form: Form,
    definition: FormDefinition,
    districts: Sequence[District],
    params: ReportParams,
    may_see_personal: bool,
) -> Summary:
    """Compute the summary of `form` over `districts` and the period in `params`."""
    lang = params.lang
    ids = [d.id for d in districts]
    period = params.period
    common = responses_where(districts, period=period)  # districts and period, any form
    scope = responses_where(districts, form, period)

    per_district = dict(
        db.session.execute(
            sa.select(Response.district_id, sa.func.count())
            .where(*scope)
            .group_by(Response.district_id)
        ).all()
    )
    totals = [per_district.get(i, 0) for i in ids]
    total = sum(totals)
    first_at, last_at = db.session.execute(
        sa.select(sa.func.min(Response.created_at), sa.func.max(Response.created_at)).where(*scope)
    ).one()

    languages = _language_rows(scope, ids, total, lang)
    entries = _entry_counts(definition, scope)
    bases = {name: sum(by_district.values()) for name, (by_district, _r) in entries.items()}
    counted = _question_counts(definition, scope, ids, total, bases, lang)
    questions = [
        counted[f.name] for f in definition.fields if f.repeat is None and f.name in counted
    ]
    repeats = []
    for repeat in definition.repeats:
        by_district, responses = entries[repeat.name]
        repeats.append(
            RepeatCounts(
                label=repeat.report_label(lang),
                entries=[by_district.get(i, 0) for i in ids],
                entries_total=sum(by_district.values()),
                responses=[responses.get(i, 0) for i in ids],
                responses_total=sum(responses.values()),
                questions=[
                    counted[f.name] for f in definition.children(repeat.name) if f.name in counted
                ],
            )
        )
    sources = _source_rows(scope, ids, total)
    over_time, unit = _time_rows(scope, ids, total, lang)
    up_to_end = None
    if period.start_utc:
        before_end = responses_where(districts, form, Period(None, period.date_to))
        counted = dict(
            db.session.execute(
                sa.select(Response.district_id, sa.func.count())
                .where(*before_end)
                .group_by(Response.district_id)
            ).all()
        )
        up_to_end = [counted.get(i, 0) for i in ids]
    summary = Summary(
        form_title=definition.title(lang).text,
        district_names=[d.name for d in districts],
        params=params,
        generated_at=utcnow().astimezone(LOCAL_TZ),
        first_at=_local(first_at),
        last_at=_local(last_at),
        totals=totals,
        total=total,
        languages=languages,
        questions=questions,
        repeats=repeats,
        sources=sources,
        over_time=over_time,
        over_time_unit=unit,
        up_to_end=up_to_end,
        language_match=_language_match(common, ids, lang),
    )
    if params.appendix in ("text", "roster"):
        summary.text_answers = _text_answers(definition, scope, lang)
    if params.appendix == "roster" and may_see_personal:
        _fill_roster(summary, definition, scope, districts, lang)
    return summary


def _local(moment: datetime | None) -> datetime | None:
    if moment is None:
        return None
    if moment.tzinfo is None:  # SQLite aggregates come back without the zone
        from datetime import UTC

        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(LOCAL_TZ)


def _percent(count: int, base: int) -> float:
    return round(100.0 * count / base, 1) if base else 0.0


def language_label(code: str, report_lang: str) -> str:
    """'Arabisch (العربية)': the language named in the report's language and in its own."""
    try:
        local = Locale.parse(report_lang).languages.get(code.split("_")[0])
    except (ValueError, UnknownLocaleError):
        local = None
    native = NATIVE_NAMES.get(code, code)
    if local and local != native:
        return f"{local} ({native})"
    return native


def _language_rows(scope, ids: list[int], total: int, lang: str) -> list[CountRow]:
    """Responses per language used to fill the form."""
    counts: dict[str, dict[int, int]] = defaultdict(dict)
    for language, district_id, n in db.session.execute(
        sa.select(Response.language, Response.district_id, sa.func.count())
        .where(*scope)
        .group_by(Response.language, Response.district_id)
    ):
        counts[language][district_id] = n
    rows = []
    for language, by_district in counts.items():
        row_total = sum(by_district.values())
        rows.append(
            CountRow(
                label=language_label(language, lang),
                counts=[by_district.get(i, 0) for i in ids],
                total=row_total,
                percent=_percent(row_total, total),
            )
        )
    return sorted(rows, key=lambda r: (-r.total, r.label))


def _language_match(common, ids: list[int], lang: str) -> list[LanguageMatchRow]:
    """Per language and district: responses offering it and responses needing it.

    Empty unless some published form offers languages and some form needs them.
    """
    from intake.storage.forms import all_published

    fields: dict[str, list[tuple[int, str]]] = {"offered": [], "needed": []}
    for form, _version, definition in all_published():
        for fdef in definition.fields:
            if fdef.report_languages and not fdef.sensitive:
                fields[fdef.report_languages].append((form.id, fdef.name))
    if not fields["offered"] or not fields["needed"]:
        return []
    counts: dict[str, dict[str, dict[int, int]]] = {
        role: defaultdict(lambda: defaultdict(int)) for role in fields
    }
    for role, pairs in fields.items():
        which = sa.or_(
            *(sa.and_(Response.form_id == fid, Answer.field == name) for fid, name in pairs)
        )
        for value, district_id, n in db.session.execute(
            sa.select(Answer.value, Response.district_id, sa.func.count(sa.distinct(Response.id)))
            .join(Response, Answer.response_id == Response.id)
            .where(*common, which)
            .group_by(Answer.value, Response.district_id)
        ):
            counts[role][value][district_id] += n
    values = set(counts["offered"]) | set(counts["needed"])
    rows = [
        LanguageMatchRow(
            label=language_label(value, lang),
            offered=[counts["offered"].get(value, {}).get(i, 0) for i in ids],
            needed=[counts["needed"].get(value, {}).get(i, 0) for i in ids],
        )
        for value in values
    ]
    return sorted(rows, key=lambda r: (-sum(r.needed), -sum(r.offered), r.label))


def _source_rows(scope, ids: list[int], total: int) -> list[CountRow]:
    """Responses per source or campaign; responses without one are counted as such."""
    from flask_babel import gettext as _

    counts: dict[tuple[str | None, int | None], dict[int, int]] = defaultdict(dict)
    for source, event_id, district_id, n in db.session.execute(
        sa.select(Response.source, Response.event_id, Response.district_id, sa.func.count())
        .where(*scope)
        .group_by(Response.source, Response.event_id, Response.district_id)
    ):
        counts[(source, event_id)][district_id] = n
    events = event_names([e for _s, e in counts if e is not None])
    rows = []
    for (source, event_id), by_district in counts.items():
        row_total = sum(by_district.values())
        if event_id is not None:
            label = _("Event: %(name)s", name=events.get(event_id, source))
        else:
            label = source or _("Without a campaign (direct link or the start page)")
        rows.append(
            CountRow(
                label=label,
                counts=[by_district.get(i, 0) for i in ids],
                total=row_total,
                percent=_percent(row_total, total),
            )
        )
    return sorted(rows, key=lambda r: (-r.total, r.label))


def _hour_bucket(column):
    """The UTC hour of a timestamp as text, in SQL (German time differs by whole hours)."""
    if db.engine.dialect.name == "sqlite":
        return sa.func.strftime("%Y-%m-%d %H", column)
    return sa.func.to_char(column, "YYYY-MM-DD HH24")


def _time_rows(scope, ids: list[int], total: int, lang: str) -> tuple[list[CountRow], str]:
    """Responses per local month (or week, for a short span), oldest first.

    SQL counts per UTC hour (at most 24 rows a day); the hours are put into local
    months or weeks here, so month ends follow German time, not UTC.
    """
    from datetime import UTC, timedelta

    from flask_babel import format_date
    from flask_babel import gettext as _

    bucket = _hour_bucket(Response.created_at)
    per_hour: list[tuple[datetime, int, int]] = []
    for hour, district_id, n in db.session.execute(
        sa.select(bucket, Response.district_id, sa.func.count())
        .where(*scope)
        .group_by(bucket, Response.district_id)
    ):
        moment = datetime.strptime(hour, "%Y-%m-%d %H").replace(tzinfo=UTC).astimezone(LOCAL_TZ)
        per_hour.append((moment, district_id, n))
    if not per_hour:
        return [], "month"
    first = min(m for m, _d, _n in per_hour)
    last = max(m for m, _d, _n in per_hour)
    weekly = (last - first) < timedelta(days=62)
    counts: dict[object, dict[int, int]] = defaultdict(lambda: defaultdict(int))
    for moment, district_id, n in per_hour:
        day = moment.date()
        key = day - timedelta(days=day.weekday()) if weekly else day.replace(day=1)
        counts[key][district_id] += n
    rows = []
    for key in sorted(counts):
        by_district = counts[key]
        row_total = sum(by_district.values())
        if weekly:
            label = _("Week from %(date)s", date=format_date(key, "medium"))
        else:
            label = format_date(key, "MMMM yyyy")
        rows.append(
            CountRow(
                label=label,
                counts=[by_district.get(i, 0) for i in ids],
                total=row_total,
                percent=_percent(row_total, total),
            )
        )
    return rows, "week" if weekly else "month"


def _entry_counts(
    definition: FormDefinition, scope
) -> dict[str, tuple[dict[int, int], dict[int, int]]]:
    """Per repeat and district: its entries, and the responses with at least one.

    One GROUP BY over the repeats' own answers (their number of entries, a whole
    number the page checked); a value that is not one (never stored) counts as none.
    """
    out: dict[str, tuple[dict[int, int], dict[int, int]]] = {
        r.name: ({}, {}) for r in definition.repeats
    }
    if not out:
        return out
    some = [str(n) for n in range(1, MAX_COUNT_LIMIT + 1)]
    number = sa.case((Answer.value.in_(some), sa.cast(Answer.value, sa.Integer)), else_=0)
    for name, district_id, entries, responses in db.session.execute(
        sa.select(Answer.field, Response.district_id, sa.func.sum(number), sa.func.count())
        .join(Response, Answer.response_id == Response.id)
        .where(*scope, Answer.field.in_(list(out)), Answer.entry.is_(None), Answer.value.in_(some))
        .group_by(Answer.field, Response.district_id)
    ):
        out[name][0][district_id] = int(entries)
        out[name][1][district_id] = responses
    return out


def _question_counts(
    definition: FormDefinition,
    scope,
    ids: list[int],
    total: int,
    bases: dict[str, int],
    lang: str,
) -> dict[str, QuestionCounts]:
    """Counts per option of every choice question: one GROUP BY over all of them.

    A question inside a repeat has a row per entry, so it is counted over entries and
    its percentages are of the repeat's entries (`bases`: repeat -> entries); the
    others' are of the `total` responses. Keyed by field name, in the form's order.
    """
    # Special categories (Art. 9) are never counted in a summary, which viewers see too.
    counted = [f for f in definition.fields if f.kind.counted and not f.sensitive]
    names = [f.name for f in counted]
    counts: dict[str, dict[str, dict[int, int]]] = defaultdict(lambda: defaultdict(dict))
    answered: dict[str, dict[int, int]] = defaultdict(dict)
    if names:
        rows = db.session.execute(
            sa.select(Answer.field, Answer.value, Response.district_id, sa.func.count())
            .join(Response, Answer.response_id == Response.id)
            .where(*scope, Answer.field.in_(names))
            .group_by(Answer.field, Answer.value, Response.district_id)
        )
        for name, value, district_id, n in rows:
            counts[name][value][district_id] = n
        # One value per response, except for multiple choice: there the responses that
        # answered must be counted apart (the expensive part, so only there).
        for name in names:
            for by_district in counts[name].values():
                for district_id, n in by_district.items():
                    answered[name][district_id] = answered[name].get(district_id, 0) + n
        multiple = [f.name for f in counted if f.kind.multiple and f.repeat is None]
        if multiple:
            answered.update({name: {} for name in multiple})
            rows = db.session.execute(
                sa.select(
                    Answer.field, Response.district_id, sa.func.count(sa.distinct(Response.id))
                )
                .join(Response, Answer.response_id == Response.id)
                .where(*scope, Answer.field.in_(multiple))
                .group_by(Answer.field, Response.district_id)
            )
            for name, district_id, n in rows:
                answered[name][district_id] = n
        # Inside a repeat: the entries that answered (a response's entries one by one).
        in_entries = [f.name for f in counted if f.kind.multiple and f.repeat is not None]
        if in_entries:
            answered.update({name: {} for name in in_entries})
            entry = (
                sa.select(Answer.field, Response.district_id)
                .join(Response, Answer.response_id == Response.id)
                .where(*scope, Answer.field.in_(in_entries))
                .group_by(Answer.field, Response.district_id, Answer.response_id, Answer.entry)
                .subquery()
            )
            rows = db.session.execute(
                sa.select(entry.c.field, entry.c.district_id, sa.func.count()).group_by(
                    entry.c.field, entry.c.district_id
                )
            )
            for name, district_id, n in rows:
                answered[name][district_id] = n
    places = _municipality_names() if any(f.kind.place for f in counted) else {}
    out = {}
    for fdef in counted:
        base = total if fdef.repeat is None else bases.get(fdef.repeat, 0)
        values = _option_order(fdef, counts[fdef.name])
        rows_out = []
        for value in values:
            by_district = counts[fdef.name].get(value, {})
            row_total = sum(by_district.values())
            rows_out.append(
                CountRow(
                    label=fdef.answer_label(value, lang, places),
                    counts=[by_district.get(i, 0) for i in ids],
                    total=row_total,
                    percent=_percent(row_total, base),
                )
            )
        out[fdef.name] = QuestionCounts(
            label=fdef.report_label(lang),
            multiple=fdef.kind.multiple,
            rows=rows_out,
            answered=[answered[fdef.name].get(i, 0) for i in ids],
            answered_total=sum(answered[fdef.name].values()),
            base=base,
        )
    return out


def _option_order(fdef: FieldDef, seen: dict[str, dict[int, int]]) -> list[str]:
    """The definition's options in order, then values only older versions offered."""
    if fdef.kind.values:
        declared = list(fdef.kind.values)  # yes and no, or a consent's yes
    elif fdef.kind.place:
        declared = sorted(seen)
    else:
        declared = [c["value"] for c in fdef.choices]
    return declared + sorted(v for v in seen if v not in declared)


def _named(definition: FormDefinition, fdef: FieldDef, lang: str) -> str:
    """A question as a list of its answers names it; one inside a repeat after the
    repeat ("Haushaltsmitglied – Vorname"): its answers are one per entry."""
    label = fdef.report_label(lang)
    repeat = definition.field(fdef.repeat) if fdef.repeat else None
    return f"{repeat.report_label(lang)} – {label}" if repeat else label


def _municipality_names() -> dict[str, str]:
    return dict(db.session.execute(sa.select(Municipality.slug, Municipality.name)).all())


def _text_answers(definition: FormDefinition, scope, lang: str) -> list[TextAnswers]:
    """Free-text answers that are not contact details, oldest first."""
    fields = [
        f for f in definition.fields if f.kind.free_text and not f.personal and not f.sensitive
    ]
    out = []
    for fdef in fields:
        values = list(
            db.session.scalars(
                sa.select(Answer.value)
                .join(Response, Answer.response_id == Response.id)
                .where(*scope, Answer.field == fdef.name)
                .order_by(Response.created_at, Answer.id)
            )
        )
        chunks = [values[i : i + TABLE_ROWS] for i in range(0, len(values), TABLE_ROWS)]
        out.append(TextAnswers(label=_named(definition, fdef, lang), chunks=chunks))
    return out


def _fill_roster(
    summary: Summary, definition: FormDefinition, scope, districts: Sequence[District], lang: str
) -> None:
    """Contact details per respondent, for follow-up by the office."""
    fields = [f for f in definition.fields if (f.personal or f.kind.place) and not f.sensitive]
    if not fields:
        return
    names = [f.name for f in fields]
    district_names = {d.id: d.name for d in districts}
    places = _municipality_names()
    rows: dict[int, RosterRow] = {}
    values: dict[int, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    for response_id, reference, created, district_id, name, value in db.session.execute(
        sa.select(
            Response.id,
            Response.reference,
            Response.created_at,
            Response.district_id,
            Answer.field,
            Answer.value,
        )
        .join(Answer, Answer.response_id == Response.id)
        .where(*scope, Answer.field.in_(names))
        .order_by(Response.created_at, Response.id, Answer.id)  # entries in their order
    ):
        if response_id not in rows:
            rows[response_id] = RosterRow(
                reference, _local(created), district_names.get(district_id, ""), []
            )
        values[response_id][name].append(value)
    for response_id, row in rows.items():
        for fdef in fields:
            raw = values[response_id].get(fdef.name, [])
            # Named as everywhere else: a choice's label, "Ja" for yes, a place's name.
            row.values.append(", ".join(fdef.answer_label(v, lang, places) for v in raw))
    summary.roster_labels = [_named(definition, f, lang) for f in fields]
    summary.roster = list(rows.values())
