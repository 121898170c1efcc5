"""What the columns of the survey and choices sheets mean, and the form's languages."""

from __future__ import annotations

from collections.abc import Iterator

from pyxform import aliases
from pyxform.parsing.sheet_headers import process_header

from intake.engine.xlsform import vocabulary
from intake.engine.xlsform.languages import language_code
from intake.engine.xlsform.report import Report
from intake.engine.xlsform.vocabulary import CHOICES, SURVEY, Languages
from intake.engine.xlsform.workbook import Sheet, SheetColumn


def classify(survey: Sheet, choices: Sheet | None) -> None:
    """Give every column of both sheets its meaning, after pyxform's header aliases."""
    headers = [c.header for c in survey.columns]
    double = any("::" in h for h in headers)
    survey.columns = [_survey_column(h, double) for h in headers]
    for column in survey.columns:
        column.sheet = SURVEY
    if choices is not None:
        cheaders = [c.header for c in choices.columns]
        cdouble = any("::" in h for h in cheaders)
        choices.columns = [_choices_column(h, cdouble) for h in cheaders]
        for column in choices.columns:
            column.sheet = CHOICES


def settle_languages(
    survey: Sheet, choices: Sheet | None, default_code: str | None, report: Report
) -> tuple[list[str], str]:
    """The form's languages and its default language, from the text columns and settings."""
    both = [sheet for sheet in (survey, choices) if sheet is not None]
    columns = [column for sheet in both for column in sheet.columns]
    plain = [c for c in columns if c.key in vocabulary.TEXTS and c.lang is None]
    default = _assumed_default(survey, plain, default_code, report)
    languages = _column_languages(columns, default, report)
    for sheet in both:
        _check_one_column_per_language(sheet, report)
    if not any(c.key == "label" for c in survey.columns):
        report.add(
            "survey sheet, row 1",
            "there is no label column; add one such as 'label::Deutsch (de)'",
        )
    if not languages:
        languages = [default]
    elif not default_code and not plain:
        # Without a setting, the first language column is the form's main language.
        default = languages[0]
    elif default not in languages:
        if default_code:
            report.add(
                "settings sheet, row 2, column 'default_language'",
                f"no label column is in this language ('{default}'); the label "
                f"columns are in {', '.join(languages)}",
            )
        default = languages[0]
    return languages, default


def texts(sheet: Sheet, row: dict[str, str], kind: str) -> dict[str, str]:
    """The per-language texts of one kind (label, hint, ...) in a row."""
    found: dict[str, str] = {}
    for column in sheet.columns:
        # Texts stay as typed: typographic quotes and apostrophes are correct
        # spelling in many languages (Ukrainian ’, French « »); only expressions
        # get pyxform's smart-quote repair.
        if column.key == kind and column.code and row.get(column.header):
            found.setdefault(column.code, row[column.header])
    return found


def cell(sheet: Sheet, row: dict[str, str], key: str) -> tuple[str, str] | None:
    """(header, value) of the first non-empty column with this meaning, if any."""
    for column in sheet.columns:
        if column.key == key and row.get(column.header):
            return column.header, row[column.header]
    return None


def text_cells(sheet: Sheet, row: dict[str, str]) -> Iterator[tuple[str, str]]:
    """(header, value) of every non-empty text column we keep in a row."""
    for column in sheet.columns:
        if column.key in vocabulary.TEXTS and row.get(column.header):
            yield column.header, row[column.header]


def _survey_column(header: str, double_colon: bool) -> SheetColumn:
    """What a survey column means, after pyxform's header aliases."""
    _, tokens = process_header(
        header, double_colon, aliases.survey_header, vocabulary.SURVEY_HEADERS
    )
    first, rest = tokens[0], tokens[1:]
    if first in ("bind", "control") and rest:
        attribute = (first, rest[0])
        key = vocabulary.PYXFORM_ATTRIBUTES.get(attribute, f"{first}::{rest[0]}")
        # A bind column may name a language after it ("jr:constraintMsg::Deutsch").
        known_bind = first == "bind" and attribute in vocabulary.PYXFORM_ATTRIBUTES
        rest = rest[1:] if known_bind else ()
    elif first == "media":
        return SheetColumn(header=header, key="media", lang=rest[-1] if len(rest) > 1 else None)
    else:
        key = first if first in vocabulary.SURVEY_HEADERS else header
    if key in vocabulary.TRANSLATABLE:
        return SheetColumn(header=header, key=key, lang=rest[0] if rest else None)
    return SheetColumn(header=header, key=key)


def _choices_column(header: str, double_colon: bool) -> SheetColumn:
    """What a choices column means: list_name, name, label[::language], media or data."""
    _, tokens = process_header(header, double_colon, aliases.list_header, vocabulary.CHOICE_HEADERS)
    column = vocabulary.CHOICE_COLUMNS.get(tokens[0])
    # "name::x" is no choice value: like any column we do not know, it is choice data.
    if column is None or (column.key == "name" and len(tokens) > 1):
        return SheetColumn(header=header, key="data")
    if column.languages is not Languages.NONE:
        lang = tokens[1] if len(tokens) > 1 else None
        return SheetColumn(header=header, key=column.key, lang=lang)
    return SheetColumn(header=header, key=column.key)


def _assumed_default(
    survey: Sheet, plain: list[SheetColumn], default_code: str | None, report: Report
) -> str:
    """The language of text columns without one: the setting, else a guess we point out."""
    if default_code:
        return default_code
    if not plain:
        return "en"
    tagged = [
        code
        for c in survey.columns
        if c.key == "label" and c.lang and (code := language_code(c.lang))
    ]
    # pyxform reads columns without a language as the default language; with no
    # setting we guess: English, unless only hints etc. lack the language next
    # to labels that have one.
    if tagged and not any(c.key == "label" for c in plain):
        default = tagged[0]
    else:
        default = "en"
    report.notice(
        f"{plain[0].sheet} sheet, column '{plain[0].header}'",
        f"no language given; read as '{default}'. Name the columns like "
        "'label::Deutsch (de)' or set default_language on the settings sheet",
    )
    return default


def _column_languages(columns: list[SheetColumn], default: str, report: Report) -> list[str]:
    """Resolve the language of every text column; the codes in the order first used."""
    languages: list[str] = []
    for column in columns:
        if column.key not in vocabulary.TEXTS:
            continue
        if column.lang is None:
            column.code = default
        else:
            column.code = language_code(column.lang)
            if column.code is None:
                report.add(
                    f"{column.sheet} sheet, row 1, column '{column.header}'",
                    f"cannot tell the language code of '{column.lang}'; name the column "
                    f"like '{column.key}::{column.lang} (xx)' with its two-letter code",
                )
                continue
        if column.code not in languages:
            languages.append(column.code)
    return languages


def _check_one_column_per_language(sheet: Sheet, report: Report) -> None:
    """Two columns with the same text in the same language would contradict each other."""
    seen: dict[tuple[str, str], str] = {}
    for column in sheet.columns:
        if column.key not in vocabulary.TEXTS or column.code is None:
            continue
        other = seen.setdefault((column.key, column.code), column.header)
        if other != column.header:
            report.add(
                f"{sheet.name} sheet, row 1",
                f"the columns '{other}' and '{column.header}' are both "
                f"'{column.key}' in the language '{column.code}'; keep one",
            )
