"""The survey sheet, row by row: types, texts, conditions and our own columns -> fields.

The rows then go through groups.py (pages, names) and become our definition dict.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from typing import Any

from pyxform import aliases
from pyxform.errors import PyXFormError
from pyxform.parsing import parameters as pyxform_parameters
from pyxform.question_type_dictionary import QUESTION_TYPE_DICT

from intake.engine.fieldtypes import (
    FIELD_TYPES,
    xlsform_by_appearance,
    xlsform_intake_types,
    xlsform_select_types,
    xlsform_simple_types,
)
from intake.engine.validation import RECORD_FACTS, REPORT_LANGUAGE_ROLES
from intake.engine.xlsform import vocabulary
from intake.engine.xlsform.choices import read_choices
from intake.engine.xlsform.columns import cell, classify, settle_languages, texts
from intake.engine.xlsform.expressions import check_expression
from intake.engine.xlsform.groups import Entry, FormContext, build_fields
from intake.engine.xlsform.report import Report
from intake.engine.xlsform.settings import Settings
from intake.engine.xlsform.vocabulary import SURVEY, Cell, Column, Use
from intake.engine.xlsform.workbook import Sheet

_TRUE_WORDS = {"yes", "true", "true()", "1"}
_FALSE_WORDS = {"no", "false", "false()", "0", ""}

# ------------------------------------------------------------------ the type mapping
# What each of our types reads from lives in intake.engine.fieldtypes; here are the
# XLSForm types we leave out or refuse, and why.

# Types that only record something about the device or the interview.
_EXTRA_METADATA = {"audit", "instanceid", "start-geopoint", "imei"}
# bind types in pyxform's question type dictionary -> why we refuse them.
_REFUSED_BIND_TYPES = {
    "geotrace": "lines and areas on a map ({type}) are not supported; use geopoint",
    "geoshape": "lines and areas on a map ({type}) are not supported; use geopoint",
    "binary": "file, photo and recording questions ({type}) are not supported",
    "barcode": "barcode questions ({type}) are not supported",
    "dateTime": "date-and-time questions ({type}) are not supported; use date or text",
    "odk:rank": "ranking questions ({type}) are not supported",
}
_REFUSED_TYPES = {
    "add calculate prompt": "calculations shown as questions ({type}) are not supported",
    "q calculate": "calculations shown as questions ({type}) are not supported",
    "range": "",  # handled separately: a simple range becomes an integer field
    "xml-external": "external data files ({type}) are not supported",
    "csv-external": "external data files ({type}) are not supported",
    "background-audio": "background recording ({type}) is not supported",
    "background-geopoint": "locations recorded in the background ({type}) are not "
    "supported; use geopoint, which the person shares",
}
_QUESTION_TYPES_FOLDED = {key.casefold(): value for key, value in QUESTION_TYPE_DICT.items()}
_SELECT_RE = re.compile(
    r"^(?P<command>"
    + "|".join(re.escape(c) for c in sorted(aliases.select, key=len, reverse=True))
    + r") (?P<list>\S+)(?: (?P<other>or specify other|or_other|or other))?$",
    re.IGNORECASE,
)

#: (our type, choice list, or_other); no type when the row is refused or left out.
TypeMapping = tuple[str | None, str | None, bool]
_NO_TYPE: TypeMapping = (None, None, False)


def our_type(
    xtype: str, name: str, at_type: str, where: str, report: Report, dropped: dict[str, str]
) -> TypeMapping:
    """Our type for an XLSForm type, the choice list, and whether 'or_other' is set."""
    select = _SELECT_RE.match(xtype)
    if select:
        return _select_type(xtype, select, at_type, report)
    low = xtype.casefold()
    if low.split()[0] == "osm":
        report.add(at_type, f"OpenStreetMap questions ({xtype}) are not supported")
        return _NO_TYPE
    if low in ("select_one", "select_multiple", "select one", "select multiple"):
        report.add(at_type, f"'{xtype}' needs the name of a choice list after it")
        return _NO_TYPE
    simple = xlsform_simple_types()
    if low in simple:
        return simple[low], None, False
    if low == "range":
        return "integer", None, False
    if low in _REFUSED_TYPES:
        report.add(at_type, _REFUSED_TYPES[low].format(type=xtype))
        return _NO_TYPE
    low = aliases._type_alias_map.get(low, low)
    spec = _QUESTION_TYPES_FOLDED.get(low)
    if low in _EXTRA_METADATA or (spec is not None and "jr:preload" in spec.get("bind", {})):
        report.notice(
            where,
            f"metadata field '{name or xtype}' (type {xtype}) is not needed here and was left out",
        )
        if name:
            dropped[name] = f"a metadata field ({xtype}) that is left out"
        return _NO_TYPE
    bind_type = (spec or {}).get("bind", {}).get("type")
    if bind_type in _REFUSED_BIND_TYPES:
        report.add(at_type, _REFUSED_BIND_TYPES[bind_type].format(type=xtype))
        return _NO_TYPE
    report.add(at_type, f"the type '{xtype}' is not supported")
    return _NO_TYPE


def _select_type(xtype: str, select: re.Match[str], at_type: str, report: Report) -> TypeMapping:
    """select_one / select_multiple with a list from the choices sheet."""
    command = select["command"].lower()
    if command in aliases.select_from_file:
        report.add(
            at_type,
            f"choices from a file are not supported ({xtype}); "
            "put the choices on the choices sheet",
        )
        return _NO_TYPE
    meaning = aliases.select.get(command)
    if meaning == "select one external":
        report.add(at_type, f"external choices are not supported ({xtype})")
        return _NO_TYPE
    if meaning == "rank":
        report.add(at_type, f"ranking questions are not supported ({xtype})")
        return _NO_TYPE
    if select["list"].startswith("${"):
        report.add(
            at_type,
            f"choices made from the answers of another question ({xtype}, usually the "
            "entries of a repeat) are not supported; put the choices on the choices sheet",
        )
        return _NO_TYPE
    return xlsform_select_types()[meaning], select["list"], bool(select["other"])


# ------------------------------------------------------------------ reading the rows

_CONTROL_RE = re.compile(
    r"^(?P<edge>begin|end)[ _](?P<kind>group|repeat|lgroup|looped[ _]group|loop)"
    r"(?: over (?P<over>\S+))?$",
    re.IGNORECASE,
)


@dataclass
class Result:
    """Everything read from a workbook, with the rows that validation messages need."""

    raw: dict[str, Any]
    notices: list[str]
    field_rows: list[int]
    original_names: dict[str, str]
    #: The survey row of each question inside a repeat.
    inner_rows: dict[str, int] = dataclass_field(default_factory=dict)
    choice_rows: dict[str, list[int]] = dataclass_field(default_factory=dict)


def read_survey(survey: Sheet, choices: Sheet | None, settings: Settings, report: Report) -> Result:
    """Map the survey and choices sheets to our raw definition, collecting every problem."""
    classify(survey, choices)
    languages, default = settle_languages(survey, choices, settings.default_code, report)
    lists = read_choices(choices, report, settings.choice_duplicates)
    rows = _Rows(survey, report)
    entries = rows.entries()
    context = FormContext(
        titles=settings.texts.get("title"),
        title=settings.title,
        languages=languages,
        default=default,
        lists=lists,
        dropped=rows.dropped,
    )
    built = build_fields(entries, context, report)
    raw: dict[str, Any] = {
        "form": settings.slug,
        "default_language": default,
        "languages": list(languages),
        "title": context.form_title(),
    }
    if settings.texts.get("intro"):
        raw["intro"] = settings.texts["intro"]
    if settings.privacy_version or settings.texts.get("privacy"):
        raw["privacy"] = _privacy(settings)
    raw["fields"] = built.fields
    result = Result(
        raw=raw,
        notices=report.notices,
        field_rows=built.rows,
        original_names=built.original_names,
        inner_rows=built.inner_rows,
    )
    inner = [child for top in built.fields for child in top.get("fields", [])]
    for f in [*built.fields, *inner]:
        if "choices" in f:
            result.choice_rows[f["name"]] = f.pop("_choice_rows")
    return result


def _privacy(settings: Settings) -> dict[str, Any]:
    """The privacy notice and facts kept in our own settings columns."""
    texts = settings.texts
    privacy: dict[str, Any] = {
        "version": settings.privacy_version,
        "notice": texts.get("privacy", {}),
    }
    for fact in RECORD_FACTS:
        if texts.get(f"privacy_{fact}"):
            privacy[fact] = texts[f"privacy_{fact}"]
    for key, value in settings.privacy_facts.items():
        if key == "retention_days" and re.fullmatch(r"[0-9]+(\.0)?", str(value).strip()):
            value = int(float(value))  # a number cell may come back as 730.0
        privacy[key] = value
    return privacy


def _is_read(key: str) -> bool:
    """Whether the row reader looks at a survey column (else it is left out with a notice)."""
    column = vocabulary.survey_column(key)
    return column is not None and column.use in (Use.READ, Use.REFUSED)


class _Rows:
    """Maps each survey row on its own: type, texts, logic columns, our own columns."""

    def __init__(self, survey: Sheet, report: Report):
        self.survey = survey
        self.report = report
        # name -> why it was left out, to explain references to it
        self.dropped: dict[str, str] = {}

    def _cell(self, row: dict[str, str], key: str) -> tuple[str, str] | None:
        """(header, value) of the first non-empty survey column with this meaning."""
        return cell(self.survey, row, key)

    def entries(self) -> list[Entry]:
        """Every row that is a field or begins or ends a group, in sheet order."""
        entries: list[Entry] = []
        stack: list[Entry] = []
        unused: dict[str, tuple[int, str]] = {}
        for number, row in self.survey.rows:
            for column in self.survey.columns:
                if column.header in row and not _is_read(column.key):
                    unused.setdefault(column.header, (number, column.key))
            entry = self._row(number, row, stack)
            if entry is not None:
                entries.append(entry)
        for entry in stack:
            kind = entry.group_kind
            self.report.add(
                f"survey sheet, row {entry.row}",
                f"the {kind} '{entry.name}' is never closed (add an end_{kind} row)",
            )
        for header, (number, key) in unused.items():
            self.report.notice(
                f"survey sheet, column '{header}' (first used in row {number})",
                vocabulary.reason(vocabulary.survey_column(key)),
            )
        return entries

    def _row(self, number: int, row: dict[str, str], stack: list[Entry]) -> Entry | None:
        """Map one survey row; None for rows that are skipped or refused."""
        where = f"survey sheet, row {number}"
        disabled = self._cell(row, "disabled")
        if disabled and disabled[1].lower() in _TRUE_WORDS:
            self.report.notice(where, "disabled, left out")
            return None
        found = self._cell(row, "type")
        name_cell = self._cell(row, "name")
        name = name_cell[1] if name_cell else ""
        label = texts(self.survey, row, "label")
        if found is None:
            if name or label:
                self.report.add(f"{where}, column 'type'", "the type is missing")
            else:
                self.report.notice(where, "no type, name or label; skipped")
            return None
        type_header, raw_type = found
        xtype = " ".join(raw_type.split())
        at_type = f"{where}, column '{type_header}'"

        control = _CONTROL_RE.match(xtype)
        if control:
            return self._control(control, number, name, row, stack, at_type)

        mapped, list_name, other = our_type(xtype, name, at_type, where, self.report, self.dropped)
        if mapped is None:
            if name:
                self.dropped.setdefault(name, f"the question in row {number}, which is refused")
            return None
        if not name and mapped == "note":
            name = f"generated_note_name_{number}"  # as pyxform names it (its row number)
        if not name:
            self.report.add(f"{where}, column 'name'", "the name is missing")
            return None
        field: dict[str, Any] = {"name": name, "type": mapped}
        self._logic(number, row, field)
        parameters = self._cell(row, "parameters")
        if xtype.lower() == "range":
            self._range(parameters, field, where)
        elif parameters:
            self.report.add(
                f"{where}, column '{parameters[0]}'",
                f"the parameters '{parameters[1]}' are not supported",
            )
        if other:
            field["other"] = True
        self._appearance(row, field, where)
        self._own_columns(row, field, where)
        return Entry("field", number, name, field, list_name=list_name)

    # -- groups

    def _control(
        self,
        match: re.Match[str],
        number: int,
        name: str,
        row: dict[str, str],
        stack: list[Entry],
        at_type: str,
    ) -> Entry | None:
        """begin/end group, repeat or loop."""
        kind = match["kind"].lower().replace(" ", "_")
        kind = {"lgroup": "repeat", "looped_group": "repeat"}.get(kind, kind)
        if match["edge"].lower() == "begin":
            entry = self._begin(kind, number, name, row, at_type)
            stack.append(entry)
            return entry
        if not stack:
            self.report.add(at_type, f"end_{kind} without a matching begin_{kind}")
            return None
        opened = stack.pop()
        if opened.group_kind != kind:
            self.report.add(
                at_type,
                f"end_{kind} closes begin_{opened.group_kind} '{opened.name}' (row {opened.row})",
            )
        return Entry("end", number, opened.name, {}, group_kind=opened.group_kind)

    def _begin(self, kind: str, number: int, name: str, row: dict[str, str], at_type: str) -> Entry:
        """begin_group (a page or a condition on its questions), begin_repeat (a repeat);
        loops are refused."""
        if kind == "loop":
            self.report.add(at_type, f"loops are not supported (begin_loop '{name or '?'}')")
        field: dict[str, Any] = {}
        label = texts(self.survey, row, "label")
        if label:
            field["label"] = label
        hint = texts(self.survey, row, "hint")
        if hint:
            field["hint"] = hint
        relevant = self._cell(row, "relevant")
        if relevant:
            field["relevant"] = check_expression(
                relevant[1], f"survey sheet, row {number}, column '{relevant[0]}'", self.report
            )
        if kind == "repeat":
            self._repeat_counts(number, row, field)
        return Entry("begin", number, name, field, group_kind=kind)

    def _repeat_counts(self, number: int, row: dict[str, str], field: dict[str, Any]) -> None:
        """A repeat's entries: as many as the person adds (up to our default maximum), a
        fixed number (`repeat_count` 3), as many as an expression makes (`repeat_count`
        ${children}), or our own min_count and max_count columns."""
        for key in ("min_count", "max_count"):
            found = self._cell(row, f"intake_{key}")
            if found:
                value = found[1].strip()
                where = f"survey sheet, row {number}, column '{found[0]}'"
                if re.fullmatch(r"[0-9]{1,3}(\.0)?", value):
                    field[key] = int(float(value))
                else:
                    self.report.add(where, f"'{key}' must be a whole number, 0 or more")
        found = self._cell(row, "repeat_count")
        if not found:
            return
        value = found[1].strip()
        where = f"survey sheet, row {number}, column '{found[0]}'"
        if re.fullmatch(r"[0-9]{1,3}(\.0)?", value):
            field["min_count"] = field["max_count"] = int(float(value))
        else:  # made from earlier answers ("${num_children}"), at most max_count entries
            field["repeat_count"] = check_expression(value, where, self.report)
            field.pop("min_count", None)

    # -- the columns of a question row

    def _logic(self, number: int, row: dict[str, str], field: dict[str, Any]) -> None:
        """Texts, conditions and the columns we refuse or leave out, in a question row."""
        where = f"survey sheet, row {number}"
        for kind in vocabulary.TEXTS:
            found = texts(self.survey, row, kind)
            if found:
                field[kind] = found
        for key in vocabulary.EXPRESSIONS:
            found_cell = self._cell(row, key)
            if found_cell:
                self._condition(key, found_cell, field, where)
        for column in vocabulary.columns(SURVEY, Use.REFUSED):
            found_cell = self._cell(row, column.key)
            if found_cell:
                self.report.add(f"{where}, column '{found_cell[0]}'", column.reason)
        found_cell = self._cell(row, "default")
        if found_cell and field.get("type") == "hidden":
            field["default"] = found_cell[1]  # the hidden field's value, as ODK has it
        elif found_cell:
            self.report.notice(
                f"{where}, column '{found_cell[0]}'",
                f"default answers are supported for hidden fields only; '{found_cell[1]}' "
                "was left out",
            )
        found_cell = self._cell(row, "read_only")
        if found_cell and found_cell[1].strip().lower() not in _FALSE_WORDS:
            self.report.notice(
                f"{where}, column '{found_cell[0]}'",
                "read-only questions are not supported; left out",
            )

    def _condition(
        self, key: str, found: tuple[str, str], field: dict[str, Any], where: str
    ) -> None:
        """An expression column; required may also be a plain yes or no."""
        header, text = found
        if key == "required":
            word = text.strip().lower()
            if word in _TRUE_WORDS:
                field["required"] = True
                return
            if word in _FALSE_WORDS:
                return
        field[key] = check_expression(text, f"{where}, column '{header}'", self.report)

    def _range(self, found: tuple[str, str] | None, field: dict[str, Any], where: str) -> None:
        """A whole-number range with step 1 becomes an integer field with min and max."""
        header, text = found if found else ("parameters", "")
        at = f"{where}, column '{header}'"
        try:
            params = pyxform_parameters.parse(text, 0)
        except PyXFormError:
            self.report.add(at, f"cannot read the parameters '{text}'")
            return
        visual = {"tick_interval", "placeholder", "tick_labelset", "appearance"}
        unknown = sorted(set(params) - {"start", "end", "step"} - visual)
        if unknown:
            self.report.add(at, f"the range parameters {', '.join(unknown)} are not supported")
            return
        try:
            start = int(params.get("start", "1"))
            end = int(params.get("end", "10"))
            step = int(params.get("step", "1"))
        except ValueError:
            start, end, step = 0, 0, 0
        if step != 1 or start > end:
            self.report.add(
                f"{where}, column 'type'",
                "only ranges of whole numbers with step 1 from low to high can be imported",
            )
            return
        field["min"], field["max"] = start, end
        self.report.notice(where, f"the range is shown as a number field from {start} to {end}")

    def _appearance(self, row: dict[str, str], field: dict[str, Any], where: str) -> None:
        """Map the appearances we have a counterpart for; mention the others."""
        found = self._cell(row, "appearance")
        if not found:
            return
        header, value = found
        at = f"{where}, column '{header}'"
        words = value.split()
        ftype = field["type"]
        appearances = dict(FIELD_TYPES[ftype].xlsform.appearances)
        if any(word.startswith("search") for word in words):
            self.report.add(at, "the search() appearance (choices from a file) is not supported")
            return
        unused = []
        for word in words:
            low = word.lower()
            became = xlsform_by_appearance(ftype, low)
            if became:
                field["type"] = became
            elif low in appearances:
                field["appearance"] = appearances[low]
            elif low != "field-list":
                unused.append(word)
        if unused:
            self.report.notice(at, f"the appearance '{' '.join(unused)}' is not used here")

    # -- our own columns

    def _own_columns(self, row: dict[str, str], field: dict[str, Any], where: str) -> None:
        """Our own columns written by write_xlsform: exact type and extra keys."""
        for column in vocabulary.columns(SURVEY):
            found = self._cell(row, column.key) if column.own else None
            if found:
                self._own_value(column, found, field, f"{where}, column '{found[0]}'")

    def _own_value(
        self, column: Column, found: tuple[str, str], field: dict[str, Any], at: str
    ) -> None:
        """One cell of our own columns."""
        text = found[1]
        word = text.strip().lower()
        key = column.definition_key
        if column.key == "intake_type":
            self._override_type(text.strip(), field, at)
        elif column.cell is Cell.YES_NO:
            if word in _TRUE_WORDS:
                field[key] = True
            elif word not in _FALSE_WORDS:
                self.report.add(at, "write yes or no")
            elif key == "sensitive":
                field[key] = False  # a location the author says is not a special category
        elif column.cell is Cell.NUMBER:
            number = _number(text)
            if number is None or (key == "max_length" and not isinstance(number, int)):
                self.report.add(at, "write a number")
            else:
                field[key] = number
        elif column.key == "intake_report_languages":
            if word in REPORT_LANGUAGE_ROLES:
                field[key] = word
            else:
                self.report.add(at, "write offered or needed")

    def _override_type(self, wanted: str, field: dict[str, Any], at: str) -> None:
        """intake_type: our exact type where the XLSForm type is a broader one."""
        if wanted not in xlsform_intake_types(field["type"]):
            self.report.add(at, f"'{wanted}' does not fit the XLSForm type of this row")
        elif wanted != field["type"]:
            field["type"] = wanted
            if not FIELD_TYPES[wanted].choice:
                field["_no_choices"] = True
                field.pop("appearance", None)


def _number(text: str) -> int | float | None:
    """A whole number or a decimal from a cell, else None."""
    try:
        value = float(text)
    except ValueError:
        return None
    if value != value or value in (float("inf"), float("-inf")):
        return None
    return int(value) if value.is_integer() and "." not in text else value
