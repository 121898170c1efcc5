"""write_xlsform: a validated definition -> an XLSForm workbook that ODK and Kobo accept.

What XLSForm has no column for goes into our own intake_* columns, so that a re-import
gives back the same definition.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from typing import Any

from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

from intake.engine.fieldtypes import FIELD_TYPES, xlsform_export
from intake.engine.repeats import DEFAULT_MAX_COUNT
from intake.engine.validation import VALUE_RE
from intake.engine.xlsform import vocabulary
from intake.engine.xlsform.expressions import rename_in_text, rename_literals, rename_references
from intake.engine.xlsform.languages import language_header
from intake.engine.xlsform.report import Report
from intake.engine.xlsform.vocabulary import (
    CHOICES,
    SETTINGS,
    SURVEY,
    Cell,
    Column,
    Export,
    Languages,
)

#: Choice labels for the yes/no list an exported yes_no field needs (its type's values).
YES_NO_LABELS: dict[str, tuple[str, str]] = {
    "en": ("Yes", "No"),
    "de": ("Ja", "Nein"),
    "ar": ("نعم", "لا"),
    "fa": ("بله", "نه"),
    "ps": ("هو", "نه"),
    "tr": ("Evet", "Hayır"),
    "ku": ("Erê", "Na"),
    "uk": ("Так", "Ні"),
    "ru": ("Да", "Нет"),
    "so": ("Haa", "Maya"),
    "ti": ("እወ", "ኣይፋል"),
    "fr": ("Oui", "Non"),
    "es": ("Sí", "No"),
}

# ------------------------------------------------------------------ the choice lists
# Which XLSForm type each of our types is written as lives in intake.engine.fieldtypes.


def _export_choices(
    fdef: Mapping[str, Any], languages: list[str], default: str
) -> list[Mapping[str, Any]]:
    """The field's choices; a yes_no field gets a yes/no list in the form's languages."""
    values = FIELD_TYPES[fdef["type"]].values
    if not values:
        return list(fdef.get("choices") or [])
    out = []
    for index, value in enumerate(values):
        label = {c: YES_NO_LABELS[c][index] for c in languages if c in YES_NO_LABELS}
        label.setdefault(default, YES_NO_LABELS["en"][index])
        out.append({"value": value, "label": label})
    return out


# ------------------------------------------------------------------ the workbook

#: Language code -> the language part of column headers, "German (de)".
_Headers = dict[str, str]


def write_xlsform(definition: Mapping[str, Any], notices: list[str] | None = None) -> bytes:
    """Export a validated definition as an XLSForm workbook (.xlsx bytes)."""
    languages: list[str] = list(definition["languages"])
    default: str = definition["default_language"]
    fields = _with_sheet_names(_flat(definition["fields"]))
    headers = {code: language_header(code) for code in languages}
    own = [{} if fdef.get(_END) else _own_values(fdef) for fdef in fields]
    survey, choices, data_keys = _rows(fields, own, headers, default, notices)

    book = Workbook()
    sheet = book.active
    sheet.title = SURVEY
    _write_rows(sheet, _survey_columns(fields, own, headers), survey)
    choice_columns = [
        header
        for column in vocabulary.columns(CHOICES)
        if column.export is not Export.NO
        for header in _column_headers(column, headers)
    ]
    _write_rows(book.create_sheet(CHOICES), choice_columns + data_keys, choices)
    settings = _settings_row(definition, fields, headers)
    _write_rows(book.create_sheet(SETTINGS), list(settings), [settings])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


#: Marks the end of a repeat's questions in the flat list of rows.
_END = "_end_repeat"


def _flat(fields: list[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """The fields in row order: a repeat, its questions, then the end of the repeat."""
    out: list[Mapping[str, Any]] = []
    for fdef in fields:
        fixed = fdef.get("min_count", 0) == fdef.get("max_count")
        if FIELD_TYPES[fdef["type"]].repeat and fixed and "repeat_count" not in fdef:
            fdef = {**fdef, "repeat_count": fdef["max_count"]}  # ODK's fixed number of entries
        out.append(fdef)
        if FIELD_TYPES[fdef["type"]].repeat:
            out += fdef["fields"]
            out.append({"type": fdef["type"], "name": fdef["name"], _END: True})
    return out


def _with_sheet_names(fields: list[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """The fields with the choice names their sheet had in their expressions again
    (`selected(${q}, 'no school')`), as the choices sheet names them."""
    literals = {v: n for f in fields for v, n in _sheet_literals(f).items()}
    ticked = {f["name"] for f in fields if f.get("type") == "consent" and not f.get(_END)}
    names = {f["name"]: f["original"] for f in fields if f.get("original")}
    if not literals and not ticked and not names:
        return fields
    out = []
    for fdef in fields:
        changed = dict(fdef)
        for key in (*vocabulary.EXPRESSIONS, "calculation"):
            source = changed.get(key)
            if not isinstance(source, str):
                continue
            source = rename_literals(source, literals) if literals else source
            if any(f"${{{name}}}" in source for name in ticked):
                # A ticked consent is an acknowledge, which ODK stores as OK.
                source = rename_literals(source, {"yes": "OK"})
            if names:  # the sheet's own question names again
                source = rename_references(source, names, {}, "", Report())
            changed[key] = source
        if names:
            _sheet_names_in_texts(changed, names)
        out.append(changed)
    return out


def _sheet_names_in_texts(fdef: dict[str, Any], names: dict[str, str]) -> None:
    """The answers a field's texts insert, by the names the sheet gave the questions."""

    def again(texts: Mapping[str, str]) -> dict[str, str]:
        return {lang: rename_in_text(t, names, {}, "", Report()) for lang, t in texts.items()}

    for key in ("label", "hint", "constraint_message"):
        if isinstance(fdef.get(key), Mapping):
            fdef[key] = again(fdef[key])
    if fdef.get("choices"):
        fdef["choices"] = [{**c, "label": again(c["label"])} for c in fdef["choices"]]


def _column_headers(column: Column, headers: _Headers) -> list[str]:
    """The header of a column, or one per language: "label::German (de)"."""
    if column.languages is Languages.NONE:
        return [column.key]
    return [f"{column.key}::{header}" for header in headers.values()]


def _survey_columns(
    fields: list[Mapping[str, Any]], own: list[dict[str, Any]], headers: _Headers
) -> list[str]:
    """The survey sheet's header row: the columns a field uses, and those always written."""
    out: list[str] = []
    for column in vocabulary.columns(SURVEY):
        if column.export is Export.NO:
            continue
        if column.export is Export.WHEN_SET:
            if column.own:
                used = any(column.key in values for values in own)
            else:
                used = any(fdef.get(column.key) for fdef in fields)
            if not used:
                continue
        out += _column_headers(column, headers)
    return out


def _rows(
    fields: list[Mapping[str, Any]],
    own: list[dict[str, Any]],
    headers: _Headers,
    default: str,
    notices: list[str] | None,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[str]]:
    """The survey rows (pages as field-list groups), the choice rows and the data columns."""
    survey: list[dict[str, Any]] = []
    choices: list[dict[str, Any]] = []
    data_keys: list[str] = []
    in_page = False
    for fdef, values in zip(fields, own, strict=True):
        if fdef.get(_END):
            survey.append({"type": "end_repeat"})
            continue
        row = _survey_row(fdef, values, headers)
        if fdef.get("other") and fdef.get("choice_filter") and notices is not None:
            notices.append(
                f"field '{fdef['name']}': ODK and KoboToolbox do not accept or_other together "
                "with choice_filter; this file can be imported here again, but not into them"
            )
        kind = FIELD_TYPES[fdef["type"]]
        if kind.page_break:
            if in_page:
                survey.append({"type": "end_group"})
            # field-list: ODK Collect shows the whole group on one screen, like our page.
            row.update(type=kind.xlsform.export, appearance=kind.xlsform.appearance)
            row.pop("required", None)
            survey.append(row)
            in_page = True
            continue
        if kind.repeat:
            row["type"] = kind.xlsform.export
            if "repeat_count" in fdef:
                row["repeat_count"] = fdef["repeat_count"]
            survey.append(row)
            continue
        row["type"], appearance = xlsform_export(fdef)
        if appearance:
            row["appearance"] = appearance
        if kind.xlsform.export.startswith("select_"):
            choices += _choice_rows(fdef, default, headers, data_keys)
        survey.append(row)
    if in_page:
        survey.append({"type": "end_group"})
    return survey, choices, data_keys


def _survey_row(fdef: Mapping[str, Any], own: dict[str, Any], headers: _Headers) -> dict[str, Any]:
    """A field's name, texts, conditions and own columns (its type is added after)."""
    row: dict[str, Any] = {"name": fdef.get("original") or fdef["name"], **own}
    if "default" in fdef:
        row["default"] = fdef["default"]
    for kind in vocabulary.TEXTS:
        for code, text in (fdef.get(kind) or {}).items():
            if code in headers:
                row[f"{kind}::{headers[code]}"] = text
    for key in vocabulary.EXPRESSIONS:
        value = fdef.get(key)
        if key == "required":
            # required is yes, or an expression; False is written as nothing.
            value = "yes" if value is True else value if isinstance(value, str) else None
        if value:
            row[key] = value
    return row


def _choice_rows(
    fdef: Mapping[str, Any], default: str, headers: _Headers, data_keys: list[str]
) -> list[dict[str, Any]]:
    """The choices sheet rows of one field; its data keys are added to data_keys."""
    rows = []
    for choice in _export_choices(fdef, list(headers), default):
        # A choice keeps the name its sheet gave it ("no school"), which ours had to change.
        name = choice.get("original", choice["value"])
        crow: dict[str, Any] = {"list_name": fdef["name"], "name": name}
        for code, text in choice["label"].items():
            if code in headers:
                crow[f"label::{headers[code]}"] = text
        for key, value in (choice.get("data") or {}).items():
            if key in vocabulary.CHOICE_RESERVED or key.startswith("label"):
                raise ValueError(f"choice data key '{key}' cannot be a choices column")
            if key not in data_keys:
                data_keys.append(key)
            crow[key] = value
        rows.append(crow)
    return rows


def _settings_row(
    definition: Mapping[str, Any], fields: list[Mapping[str, Any]], headers: _Headers
) -> dict[str, Any]:
    """The settings sheet's one row, header -> value, in the vocabulary's column order."""
    default = definition["default_language"]
    title = definition.get("title") or {}
    privacy = definition.get("privacy") or {}
    values: dict[str, Any] = {
        "form_title": title.get(default) or definition["form"],
        "form_id": definition["form"],
        "default_language": headers[default],
        # XLSForm has one title and no intro or privacy notice; our own columns keep them
        # for a re-import (ODK and Kobo ignore unknown settings columns).
        "intake_title": title,
        "intake_intro": definition.get("intro") or {},
        "intake_privacy": privacy.get("notice") or {},
    }
    if any(FIELD_TYPES[f["type"]].page_break for f in fields):
        values["style"] = "pages"  # Enketo then shows one group per page, as we do
    if any(_shared_names(f) for f in fields):
        values["allow_choice_duplicates"] = "yes"  # a name kept by two choices
    if privacy.get("version"):
        values["intake_privacy_version"] = privacy["version"]
    for name, key in vocabulary.PRIVACY_FACT_COLUMNS.items():
        values[name] = privacy.get(key)
    row: dict[str, Any] = {}
    for column in vocabulary.columns(SETTINGS):
        value = values.get(column.key)
        if column.export is Export.NO or value is None:
            continue
        if isinstance(value, Mapping):  # a text per language
            for code, header in headers.items():
                if value.get(code):
                    row[f"{column.key}::{header}"] = value[code]
        else:
            row[column.key] = value
    return row


_COUNT_DEFAULTS = {"min_count": 0, "max_count": DEFAULT_MAX_COUNT}


def _shared_names(fdef: Mapping[str, Any]) -> bool:
    """Whether two choices of the field keep the same sheet name (other filter columns)."""
    names = [c.get("original", c["value"]) for c in fdef.get("choices") or []]
    return len(set(names)) != len(names)


def _sheet_literals(fdef: Mapping[str, Any]) -> dict[str, str]:
    """Our value -> the sheet's name, for choices whose name ours had to change."""
    return {
        c["value"]: c["original"]
        for c in fdef.get("choices") or []
        if "original" in c and not VALUE_RE.match(c["original"])
    }


def _own_values(fdef: Mapping[str, Any]) -> dict[str, Any]:
    """Our keys that XLSForm has no column for, as intake_* cells of one field."""
    values: dict[str, Any] = {}
    for column in vocabulary.columns(SURVEY):
        value = _own_value(column, fdef) if column.own else None
        if value is not None:
            values[column.key] = value
    return values


def _own_value(column: Column, fdef: Mapping[str, Any]) -> Any:
    """The intake_* cell of one field, or None when the field needs none."""
    if column.key == "intake_type":
        return fdef["type"] if FIELD_TYPES[fdef["type"]].xlsform.intake_type else None
    key = column.definition_key
    value = fdef.get(key)
    if column.cell is Cell.YES_NO:
        if key == "sensitive" and not value and FIELD_TYPES[fdef["type"]].sensitive_by_default:
            return "no"  # a location the author says is not a special category
        return "yes" if value else None
    if key == "max_length" and value == FIELD_TYPES[fdef["type"]].max_length:
        return None  # the default for the type needs no cell
    if key in ("min_count", "max_count") and value == _COUNT_DEFAULTS[key]:
        return None
    if column.cell is Cell.NUMBER:
        return value
    return value or None


def _write_rows(sheet: Any, columns: list[str], rows: list[Mapping[str, Any]]) -> None:
    """Write a header row and the data rows; texts stay texts (never formulas)."""
    sheet.append(columns)
    for number, row in enumerate(rows, start=2):
        for index, column in enumerate(columns, start=1):
            value = row.get(column)
            if value is None or value == "":
                continue
            cell = sheet.cell(row=number, column=index)
            if isinstance(value, str):
                cell.value = ILLEGAL_CHARACTERS_RE.sub("", value)
                # A text starting with '=' would otherwise be stored as a formula.
                cell.data_type = "s"
            else:
                cell.value = value
