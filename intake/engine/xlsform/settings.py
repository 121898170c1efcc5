"""The settings sheet: the form's address, title and default language, and our own texts."""

from __future__ import annotations

import re
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from pathlib import Path

from pyxform.parsing.sheet_headers import to_snake_case

from intake.engine.texts import INSERTED_ANY
from intake.engine.validation import SLUG_RE
from intake.engine.xlsform import vocabulary
from intake.engine.xlsform.languages import language_code
from intake.engine.xlsform.report import Report
from intake.engine.xlsform.vocabulary import Languages, Use
from intake.engine.xlsform.workbook import Sheet


@dataclass
class Settings:
    """What we use from the settings sheet."""

    slug: str
    title: str
    default_code: str | None
    # Our own columns (written by write_xlsform): texts per language code.
    texts: dict[str, dict[str, str]] = dataclass_field(default_factory=dict)
    privacy_version: str | None = None
    #: retention_days, on_expiry and the record facts (intake_privacy_<key> columns).
    privacy_facts: dict[str, str] = dataclass_field(default_factory=dict)
    #: allow_choice_duplicates: yes (a value may come twice in a choice list).
    choice_duplicates: bool = False


def read_settings(sheet: Sheet | None, path: Path, report: Report) -> Settings:
    """Read form_id, form_title, default_language and our own columns from the settings."""
    values: dict[str, str] = {}
    texts: dict[str, dict[str, str]] = {}
    row_number = 2
    if sheet is not None and sheet.rows:
        row_number, row = sheet.rows[0]
        for header, value in row.items():
            _read_cell(header, value, row_number, values, texts, report)
        if len(sheet.rows) > 1:
            report.notice("settings sheet", f"only row {row_number} is read")
    where = f"settings sheet, row {row_number}"
    given = values.get("form_id", "")
    slug = _slug(given, path, where, report)
    title = values.get("form_title") or given or path.stem
    if INSERTED_ANY.search(title):
        report.add(f"{where}, column 'form_title'", "the title cannot insert answers (${...})")
    return Settings(
        slug=slug,
        title=title,
        default_code=_default_language(values, where, report),
        texts=texts,
        privacy_version=values.get("intake_privacy_version"),
        choice_duplicates=values.get("allow_choice_duplicates", "").strip().lower()
        in ("yes", "true", "true()", "1"),
        privacy_facts={
            vocabulary.PRIVACY_FACT_COLUMNS[key]: value
            for key, value in values.items()
            if key in vocabulary.PRIVACY_FACT_COLUMNS
        },
    )


def _read_cell(
    header: str,
    value: str,
    row_number: int,
    values: dict[str, str],
    texts: dict[str, dict[str, str]],
    report: Report,
) -> None:
    """One cell of the settings row: a value, a text in a language, or a notice."""
    base, _, lang = header.partition("::")
    column = vocabulary.settings_column(to_snake_case(base))
    if column is not None and column.use is Use.IGNORED:
        return
    if column is not None and lang and column.languages is not Languages.NONE:
        code = language_code(lang)
        if code is None:
            report.add(
                f"settings sheet, row 1, column '{header}'",
                f"cannot tell the language code of '{lang}'",
            )
        else:
            texts.setdefault(column.definition_key, {})[code] = value
    elif column is not None and column.languages is not Languages.REQUIRED:
        values[column.key] = value
    else:
        report.notice(
            f"settings sheet, row {row_number}, column '{header}'", vocabulary.UNKNOWN_REASON
        )


def _slug(given: str, path: Path, where: str, report: Report) -> str:
    """The form's address: its form_id, else its file name."""
    slug = _slugify(given) if given else ""
    if not slug:
        slug = _slugify(path.stem)
        if not SLUG_RE.match(slug):
            report.add(
                f"{where}, column 'form_id'",
                "set a form_id such as 'volunteer' (a-z, 0-9, '-'); it is the form's address",
            )
    elif slug != given:
        report.notice(f"{where}, column 'form_id'", f"'{given}' becomes the form address '{slug}'")
    return slug


def _slugify(text: str) -> str:
    """A form address from an XLSForm form_id or file name."""
    slug = re.sub(r"[^a-z0-9]+", "-", text.lower().replace("_", "-")).strip("-")
    return slug[:64].rstrip("-")


def _default_language(values: dict[str, str], where: str, report: Report) -> str | None:
    """The language code of default_language, if it is set."""
    if "default_language" not in values:
        return None
    code = language_code(values["default_language"])
    if code is None:
        report.add(
            f"{where}, column 'default_language'",
            f"cannot tell the language code of '{values['default_language']}'; "
            "write it like 'Deutsch (de)'",
        )
    return code
