"""Reading a list of people to invite (CSV or XLSX) and checking every row.

Columns are found by their heading (German or English, any case): email (required),
name, language, district. A list is taken whole or not at all: every problem is
reported with its row and column, so the office fixes the file once and uploads it
again. Rules (docs/invitations.md):
- email: a valid address, once per list, and nobody with an invitation to the same
  form that still works (not answered, revoked or expired);
- name: optional (the greeting then has none), at most 200 characters, one line;
- language: a language code (ar, fa, ...) or its name in its own script, among the
  form's languages; empty: the form's default language;
- district: slug or name of a district the list may use; empty: the district chosen
  for the upload (none chosen: required).
CSV: UTF-8 (with or without BOM) or Windows-1252, as Excel writes it; comma, semicolon
or tab between values. XLSX: the first sheet, checked by intake.xlsx_limits before openpyxl
reads it (zip bombs, endless sheets), and read up to its 501st column.
"""

from __future__ import annotations

import csv
import io
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from email_validator import EmailNotValidError, validate_email
from flask_babel import gettext as _

from intake import xlsx_limits
from intake.i18n import NATIVE_NAMES
from intake.invitations.store import Person
from intake.storage.models import District

MAX_ROWS = 5000
MAX_BYTES = 5 * 1024 * 1024
HEADINGS = {
    "email": ("email", "e-mail", "mail", "e-mail-adresse", "email address", "emailadresse"),
    "name": ("name", "full name", "vollständiger name"),
    "language": ("language", "sprache", "lang"),
    "district": ("district", "landkreis", "kreis"),
}
SUFFIXES = (".csv", ".xlsx")


@dataclass
class Problem:
    """One thing wrong with a list: where (row number as in a spreadsheet, column) and what."""

    message: str
    row: int | None = None
    column: str | None = None


@dataclass
class Checked:
    people: list[Person] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)


def read(filename: str, data: bytes) -> tuple[list[list[str]], list[Problem]]:
    """The rows of the file (the heading first), or the reason it cannot be read."""
    suffix = filename.lower().rsplit(".", 1)[-1] if "." in filename else ""
    if f".{suffix}" not in SUFFIXES:
        return [], [Problem(_("Please upload a .csv or .xlsx file."))]
    if len(data) > MAX_BYTES:
        return [], [Problem(_("The file is larger than 5 MB."))]
    if not data.strip():
        return [], [Problem(_("The file is empty."))]
    try:
        rows = _xlsx_rows(data) if suffix == "xlsx" else _csv_rows(data)
    except xlsx_limits.WorkbookTooLarge as exc:
        return [], [Problem(exc.message(_))]
    except (ValueError, KeyError, OSError, csv.Error, UnicodeError):
        kind = "XLSX" if suffix == "xlsx" else "CSV"
        return [], [Problem(_("The file cannot be read as %(kind)s.", kind=kind))]
    rows = [row for row in rows if any(cell.strip() for cell in row)]
    if not rows:
        return [], [Problem(_("The file is empty."))]
    return rows, []


def _csv_rows(data: bytes) -> list[list[str]]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("cp1252")
    first = text.splitlines()[0] if text else ""
    delimiter = max((";", ",", "\t"), key=first.count)
    return [[cell for cell in row] for row in csv.reader(io.StringIO(text), delimiter=delimiter)]


def _xlsx_rows(data: bytes) -> list[list[str]]:
    import zipfile

    from openpyxl import load_workbook

    # Before openpyxl sees it: a zip bomb is refused at once (a file that is no zip raises
    # UnreadableWorkbook, a ValueError: "cannot be read as XLSX").
    xlsx_limits.check_archive(data)
    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except zipfile.BadZipFile as exc:
        raise ValueError("not xlsx") from exc
    try:
        sheet = book.worksheets[0]
        # openpyxl fills each row up to the widest column of the sheet (16,384 at most):
        # read one column more than allowed, to notice a list that is wider.
        width = xlsx_limits.MAX_SHEET_COLUMNS + 1
        rows = []
        values_by_row = sheet.iter_rows(max_col=width, values_only=True)
        for values in xlsx_limits.sheet_rows(values_by_row, sheet.title):
            if values.count(None) == len(values):
                continue  # an empty row (openpyxl yields one for every row it skips)
            if values[-1] is not None:
                xlsx_limits.check_width(width, sheet.title)
            rows.append(["" if v is None else str(v) for v in values])
        return rows
    finally:
        book.close()


def check(
    rows: list[list[str]],
    languages: Sequence[str],
    default_language: str,
    districts: Sequence[District],
    default_district: District | None,
    already_invited: Callable[[list[str]], set[str]],
) -> Checked:
    """Check every row; people only when no row has a problem."""
    result = Checked()
    heading, body = rows[0], rows[1:]
    columns = _columns(heading)
    stop = _list_problem(columns, body)
    if stop is not None:
        result.problems.append(stop)
        return result
    by_language = _language_names(languages)
    by_district = _district_names(districts)
    seen: dict[str, int] = {}
    people: list[tuple[int, Person]] = []
    for number, row in enumerate(body, start=2):
        cells = {name: _cell(row, columns.get(name)) for name in HEADINGS}
        problems = []
        email = _email(cells["email"])
        if email is None:
            problems.append(
                Problem(_("This is not an email address."), number, heading[columns["email"]])
            )
        elif email.lower() in seen:
            message = _("This address is already in row %(row)s.", row=seen[email.lower()])
            problems.append(Problem(message, number, heading[columns["email"]]))
        else:
            seen[email.lower()] = number
        name = " ".join(cells["name"].split())
        if len(name) > 200 or any(unicodedata.category(ch) == "Cc" for ch in cells["name"]):
            problems.append(
                Problem(
                    _("A name has at most 200 characters on one line."),
                    number,
                    heading[columns["name"]],
                )
            )
        raw_language = cells["language"].strip()
        language = by_language.get(raw_language.casefold()) if raw_language else default_language
        if language is None:
            message = _(
                "This form has no language “%(value)s”. Possible: %(codes)s.",
                value=raw_language[:40],
                codes=", ".join(languages),
            )
            problems.append(Problem(message, number, heading[columns["language"]]))
        raw_district = cells["district"].strip()
        district = by_district.get(raw_district.casefold()) if raw_district else default_district
        if district is None:
            if raw_district:
                message = _(
                    "“%(value)s” is not one of the districts this list may use: %(names)s.",
                    value=raw_district[:60],
                    names=", ".join(d.name for d in districts),
                )
            else:
                message = _("Please name the district (or choose one for the whole list).")
            column = heading[columns["district"]] if "district" in columns else None
            problems.append(Problem(message, number, column))
        result.problems.extend(problems)
        if not problems:
            people.append((number, Person(email, name, language, district)))
    if result.problems:
        return result
    invited = already_invited([person.email for _number, person in people])
    for number, person in people:
        if person.email.lower() in invited:
            result.problems.append(
                Problem(
                    _("This person already has an invitation to this form that still works."),
                    number,
                    heading[columns["email"]],
                )
            )
    if not result.problems:
        result.people = [person for _number, person in people]
    return result


def _list_problem(columns: dict[str, int], body: list[list[str]]) -> Problem | None:
    """A problem of the whole list that stops the check: no email column, no or too many people."""
    if "email" not in columns:
        return Problem(_("The first row must name the columns; an “email” column is missing."), 1)
    if not body:
        return Problem(_("The list has no people after its first row."))
    if len(body) > MAX_ROWS:
        return Problem(_("The list has more than %(n)s people; please split it.", n=MAX_ROWS))
    return None


def _district_names(districts: Sequence[District]) -> dict[str, District]:
    """The districts by slug (lower case) and by name (case-folded)."""
    by_district = {}
    for district in districts:
        by_district[district.slug.lower()] = district
        by_district[district.name.casefold()] = district
    return by_district


def _columns(heading: list[str]) -> dict[str, int]:
    found = {}
    for index, title in enumerate(heading):
        key = " ".join(title.replace("\ufeff", "").split()).casefold()
        for name, titles in HEADINGS.items():
            if key in titles and name not in found:
                found[name] = index
    return found


def _cell(row: list[str], index: int | None) -> str:
    if index is None or index >= len(row):
        return ""
    return row[index] or ""


def _email(value: str) -> str | None:
    value = value.strip()
    if not value or len(value) > 254:
        return None
    try:
        return validate_email(value, check_deliverability=False).normalized
    except EmailNotValidError:
        return None


def _language_names(languages: Sequence[str]) -> dict[str, str]:
    """Codes and native names (any case) -> code."""
    out = {}
    for code in languages:
        out[code.casefold()] = code
        out[code.replace("_", "-").casefold()] = code
        if code in NATIVE_NAMES:
            out[NATIVE_NAMES[code].casefold()] = code
    return out
