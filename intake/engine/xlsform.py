"""XLSForm import and export: the spreadsheet form format of ODK and KoboToolbox.

`read_xlsform` turns an .xlsx XLSForm into a raw definition in our own format
(docs/form-definitions.md), `load_xlsform` also validates it, and `write_xlsform`
turns a validated definition back into an XLSForm workbook. What is mapped, what is
left out with a notice and what is refused is documented for users in docs/xlsform.md.

pyxform reads the workbook (its openpyxl backend, header aliases and expression lexer),
but we do the mapping ourselves rather than through pyxform's workbook_to_json: that
stops at the first problem and loses the rows, while a coordinator needs every problem
at once, each with its sheet, row and column.
"""

from __future__ import annotations

import difflib
import io
import re
import warnings
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from pathlib import Path
from typing import Any

from lark.exceptions import LarkError  # lark comes with pyxform and backs its lexers
from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.reader.excel import ExcelReader
from pyxform import aliases
from pyxform.errors import PyXFormError
from pyxform.parsing import parameters as pyxform_parameters
from pyxform.parsing.expression import parse_expression
from pyxform.parsing.sheet_headers import clean_text_values, process_header, to_snake_case
from pyxform.question_type_dictionary import QUESTION_TYPE_DICT
from pyxform.xls2json_backends import (
    get_excel_column_headers,
    get_excel_rows,
    xlsx_value_to_str,
)

from intake.engine.definition import (
    DEFAULT_MAX_LENGTH,
    LANG_RE,
    NAME_RE,
    RECORD_FACTS,
    REPORT_LANGUAGE_ROLES,
    SLUG_RE,
    VALUE_RE,
    DefinitionError,
    validate,
)
from intake.xlsx_limits import WorkbookTooLarge, check_archive, check_width, sheet_rows

__all__ = ["load_xlsform", "read_xlsform", "write_xlsform"]

#: Forms are a few hundred rows; a bigger file is a mistake (or a zip bomb).
MAX_FILE_BYTES = 10 * 1024 * 1024

#: Language names as they appear in XLSForm columns ("label::English"), case-folded.
LANGUAGE_NAMES: dict[str, str] = {
    "english": "en",
    "englisch": "en",
    "german": "de",
    "deutsch": "de",
    "arabic": "ar",
    "arabisch": "ar",
    "العربية": "ar",
    "french": "fr",
    "français": "fr",
    "francais": "fr",
    "französisch": "fr",
    "persian": "fa",
    "farsi": "fa",
    "dari": "fa",
    "persisch": "fa",
    "فارسی": "fa",
    "pashto": "ps",
    "pushto": "ps",
    "paschtu": "ps",
    "پښتو": "ps",
    "turkish": "tr",
    "türkisch": "tr",
    "türkçe": "tr",
    "turkce": "tr",
    "kurdish": "ku",
    "kurmanji": "ku",
    "kurmancî": "ku",
    "kurdisch": "ku",
    "sorani": "ckb",
    "ukrainian": "uk",
    "ukrainisch": "uk",
    "українська": "uk",
    "russian": "ru",
    "russisch": "ru",
    "русский": "ru",
    "somali": "so",
    "soomaali": "so",
    "tigrinya": "ti",
    "tigrinisch": "ti",
    "ትግርኛ": "ti",
    "spanish": "es",
    "español": "es",
    "espanol": "es",
    "spanisch": "es",
    "portuguese": "pt",
    "português": "pt",
    "portugiesisch": "pt",
    "italian": "it",
    "italiano": "it",
    "italienisch": "it",
    "polish": "pl",
    "polski": "pl",
    "polnisch": "pl",
    "romanian": "ro",
    "română": "ro",
    "rumänisch": "ro",
    "bulgarian": "bg",
    "serbian": "sr",
    "croatian": "hr",
    "bosnian": "bs",
    "albanian": "sq",
    "shqip": "sq",
    "greek": "el",
    "dutch": "nl",
    "nederlands": "nl",
    "urdu": "ur",
    "hindi": "hi",
    "bengali": "bn",
    "tamil": "ta",
    "amharic": "am",
    "oromo": "om",
    "swahili": "sw",
    "kiswahili": "sw",
    "hausa": "ha",
    "yoruba": "yo",
    "igbo": "ig",
    "lingala": "ln",
    "chinese": "zh",
    "japanese": "ja",
    "korean": "ko",
    "vietnamese": "vi",
    "georgian": "ka",
    "armenian": "hy",
    "azerbaijani": "az",
    "uzbek": "uz",
    "tajik": "tg",
    "hebrew": "he",
}

#: The names written in exported column headers, "label::German (de)" (as Kobo does).
EXPORT_LANGUAGE_NAMES: dict[str, str] = {
    "en": "English",
    "de": "German",
    "ar": "Arabic",
    "fr": "French",
    "fa": "Persian",
    "ps": "Pashto",
    "tr": "Turkish",
    "ku": "Kurdish",
    "ckb": "Sorani",
    "uk": "Ukrainian",
    "ru": "Russian",
    "so": "Somali",
    "ti": "Tigrinya",
    "es": "Spanish",
    "pt": "Portuguese",
    "it": "Italian",
    "pl": "Polish",
    "ro": "Romanian",
    "sw": "Swahili",
    "zh": "Chinese",
}

#: Choice labels for the yes/no list an exported yes_no field needs.
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

#: Functions of docs/form-definitions.md "Expressions"; the parser in definition.validate
#: decides the details, we refuse everything else early so the row can be named.
SUPPORTED_FUNCTIONS = frozenset(
    {
        "selected",
        "count-selected",
        "string-length",
        "regex",
        "contains",
        "starts-with",
        "number",
        "int",
        "today",
        "if",
        "coalesce",
        "not",
        "true",
        "false",
    }
)
# Why well-known XLSForm functions cannot work here, to make the refusal useful.
_FUNCTION_REASONS = {
    "pulldata": "it reads an attached CSV file",
    "instance": "it reads external or choice data",
    "jr:choice-name": "it looks up choice labels",
    "position": "it only works inside repeats",
    "indexed-repeat": "it only works with repeats",
    "once": "it needs calculations",
    "sum": "it adds up repeats",
    "count": "it counts repeats",
    "max": "it works on repeats",
    "min": "it works on repeats",
    "jr:itext": "it reads translations",
    "now": "it needs calculations",
    "random": "it needs calculations",
    "uuid": "it needs calculations",
    "digest": "it needs calculations",
    "geofence": "it needs location questions",
    "area": "it needs location questions",
    "distance": "it needs location questions",
}

# Types with a direct counterpart in our format (case-folded XLSForm type).
_SIMPLE_TYPES = {
    "text": "text",
    "string": "text",
    "add text prompt": "text",
    "q string": "text",
    "integer": "integer",
    "int": "integer",
    "add integer prompt": "integer",
    "q int": "integer",
    "decimal": "decimal",
    "add decimal prompt": "decimal",
    "q decimal": "decimal",
    "date": "date",
    "add date prompt": "date",
    "q date": "date",
    "note": "note",
    "add note prompt": "note",
    "q note": "note",
    "acknowledge": "consent",
    "add acknowledge prompt": "consent",
    "q acknowledge": "consent",
    "trigger": "consent",
    "hidden": "hidden",
    "phone number": "phone",
}
# Types that only record something about the device or the interview.
_EXTRA_METADATA = {"audit", "instanceid", "start-geopoint", "imei"}
# bind types in pyxform's question type dictionary -> why we refuse them.
_REFUSED_BIND_TYPES = {
    "geopoint": "location questions ({type}) are not supported",
    "geotrace": "location questions ({type}) are not supported",
    "geoshape": "location questions ({type}) are not supported",
    "binary": "file, photo and recording questions ({type}) are not supported",
    "barcode": "barcode questions ({type}) are not supported",
    "dateTime": "date-and-time questions ({type}) are not supported; use date or text",
    "time": "time questions ({type}) are not supported; use text",
    "odk:rank": "ranking questions ({type}) are not supported",
}
_REFUSED_TYPES = {
    "calculate": "calculations (calculate) are not supported",
    "add calculate prompt": "calculations (calculate) are not supported",
    "q calculate": "calculations (calculate) are not supported",
    "range": "",  # handled separately: a simple range becomes an integer field
    "xml-external": "external data files ({type}) are not supported",
    "csv-external": "external data files ({type}) are not supported",
    "background-audio": "background recording ({type}) is not supported",
    "background-geopoint": "location questions ({type}) are not supported",
}
_QUESTION_TYPES_FOLDED = {key.casefold(): value for key, value in QUESTION_TYPE_DICT.items()}
_CONTROL_RE = re.compile(
    r"^(?P<edge>begin|end)[ _](?P<kind>group|repeat|lgroup|looped[ _]group|loop)"
    r"(?: over (?P<over>\S+))?$",
    re.IGNORECASE,
)
_SELECT_RE = re.compile(
    r"^(?P<command>"
    + "|".join(re.escape(c) for c in sorted(aliases.select, key=len, reverse=True))
    + r") (?P<list>\S+)(?: (?P<other>or specify other|or_other|or other))?$",
    re.IGNORECASE,
)
_REF_IN_TEXT_RE = re.compile(r"\$\{[^}]*\}")
_LANG_IN_PARENS_RE = re.compile(
    r"^(?P<name>.*?)\s*\(\s*(?P<code>[A-Za-z]{2,3})(?:[-_](?P<region>[A-Za-z]{2}))?\s*\)\s*$"
)
_TRUE_WORDS = {"yes", "true", "true()", "1"}
_FALSE_WORDS = {"no", "false", "false()", "0", ""}

# The survey columns we map, after pyxform's header aliases (tokens[0] or bind/control).
_SURVEY_COLUMNS = {
    "type",
    "name",
    "label",
    "hint",
    "guidance_hint",
    "choice_filter",
    "parameters",
    "default",
    "trigger",
    "disabled",
    "media",
    "intake_type",
    "intake_personal",
    "intake_sensitive",
    "intake_prefill",
    "intake_report_languages",
    "intake_max_length",
    "intake_min",
    "intake_max",
}
_BIND_COLUMNS = {
    "relevant": "relevant",
    "required": "required",
    "constraint": "constraint",
    "jr:constraintMsg": "constraint_message",
    "jr:requiredMsg": "required_message",
    "readonly": "read_only",
    "calculate": "calculation",
}
_CONTROL_COLUMNS = {"appearance": "appearance", "jr:count": "repeat_count"}
# Per-language texts we keep; other translatable columns are left out with a notice.
_TEXT_KINDS = ("label", "hint", "constraint_message")
_TRANSLATABLE = {*_TEXT_KINDS, "required_message", "guidance_hint", "media"}
# Which of our types an `intake_type` column may turn a mapped XLSForm type into.
_OVERRIDES = {
    "text": {"text", "textarea", "email", "phone", "municipality"},
    "textarea": {"text", "textarea", "email", "phone", "municipality"},
    "single_choice": {"single_choice", "yes_no", "rating", "municipality"},
    "integer": {"integer"},
    "decimal": {"decimal"},
}
# openpyxl warns about workbook features it drops; none of them touch cell values.
_HARMLESS_OPENPYXL_WARNINGS = (
    r".*extension is not supported and will be removed",
    r"Failed to load a conditional formatting rule",
    r"Workbook contains no default style",
    r"Workbook contains no stylesheet",
    r"DrawingML support is incomplete",
    r"Cannot parse header or footer",
    r"Print area cannot be set",
    r"Defined names for sheet index",
)
_SHEETS = ("survey", "choices", "settings", "external_choices", "entities", "osm")


@dataclass
class _Column:
    """One column of a sheet: its header as written and what it means."""

    header: str
    key: str
    lang: str | None = None  # language token as written, for per-language columns
    code: str | None = None  # resolved language code
    sheet: str = "survey"


@dataclass
class _Sheet:
    """A sheet's columns and its non-empty rows with their spreadsheet row numbers."""

    name: str
    columns: list[_Column]
    rows: list[tuple[int, dict[str, str]]]


@dataclass
class _Entry:
    """A survey row after the first pass: a field, or the start or end of a group."""

    kind: str  # "field", "begin", "end"
    row: int
    name: str
    field: dict[str, Any]
    list_name: str | None = None
    group_kind: str = "group"  # for begin/end: group, repeat or loop


@dataclass
class _Result:
    """Everything read from a workbook, with the rows that validation messages need."""

    raw: dict[str, Any]
    notices: list[str]
    field_rows: list[int]
    original_names: dict[str, str]
    choice_rows: dict[str, list[int]] = dataclass_field(default_factory=dict)


class _Problems:
    """Collects located problems and notices while reading."""

    def __init__(self) -> None:
        self.problems: list[str] = []
        self.notices: list[str] = []

    def add(self, where: str, text: str) -> None:
        """A problem that stops the import."""
        self.problems.append(f"{where}: {text}")

    def notice(self, where: str, text: str) -> None:
        """Something left out or changed; the import goes on."""
        self.notices.append(f"{where}: {text}")


def read_xlsform(path: str | Path, notices: list[str] | None = None) -> dict[str, Any]:
    """Read an .xlsx XLSForm into a raw (not yet validated) definition in our format."""
    result = _read(Path(path))
    if notices is not None:
        notices.extend(result.notices)
    return result.raw


def load_xlsform(path: str | Path) -> tuple[dict[str, Any], list[str]]:
    """Read and validate an XLSForm; return the normalised definition and the notices."""
    path = Path(path)
    result = _read(path)
    try:
        definition = validate(result.raw, path.name)
    except DefinitionError as exc:
        problems = [_locate(problem, result) for problem in exc.problems]
        raise DefinitionError(path.name, problems) from None
    return definition, result.notices


# --------------------------------------------------------------------------- reading


def _read(path: Path) -> _Result:
    """Read the workbook and map it; raise DefinitionError with every located problem."""
    source = path.name
    sheets, found = _read_workbook(path, source)
    report = _Problems()
    for sheet_name in found:
        if sheet_name.lower() not in _SHEETS and len(found) > 1:
            close = difflib.get_close_matches(sheet_name.lower(), _SHEETS, n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            report.notice(f"sheet '{sheet_name}'", f"not part of an XLSForm, left out{hint}")
    survey = sheets.get("survey")
    if survey is None:
        names = ", ".join(f"'{n}'" for n in found) or "none"
        raise DefinitionError(
            source, [f"the workbook has no sheet named 'survey' (its sheets: {names})"]
        )
    for extra in ("external_choices", "osm"):
        if extra in sheets and sheets[extra].rows:
            report.notice(f"{extra} sheet", "not supported, left out")
    if "entities" in sheets and sheets["entities"].rows:
        row = sheets["entities"].rows[0][0]
        report.add(
            f"entities sheet, row {row}",
            "entities (ODK Central datasets) are not supported; remove the entities sheet",
        )
    settings = _settings(sheets.get("settings"), path, report)
    reader = _Reader(survey, sheets.get("choices"), settings, report)
    result = reader.run()
    if report.problems:
        raise DefinitionError(source, sorted(report.problems, key=_problem_order))
    return result


def _problem_order(problem: str) -> tuple[int, int]:
    """Sort problems like the workbook: settings, survey, choices, then by row."""
    match = re.match(r"^(\w+) sheet(?:, row (\d+))?", problem)
    if not match:
        return (0, 0)
    sheets = ["settings", "survey", "choices"]
    order = sheets.index(match[1]) + 1 if match[1] in sheets else 4
    return (order, int(match[2] or 0))


def _read_workbook(path: Path, source: str) -> tuple[dict[str, _Sheet], list[str]]:
    """Open the file as an .xlsx workbook and read the XLSForm sheets."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise DefinitionError(source, ["file not found"]) from None
    except OSError as exc:
        raise DefinitionError(source, [f"the file cannot be read ({exc.strerror})"]) from None
    if not data:
        raise DefinitionError(source, ["the file is empty"])
    if len(data) > MAX_FILE_BYTES:
        raise DefinitionError(source, ["the file is larger than 10 MB; that is not a form"])
    if data.startswith(b"\xd0\xcf\x11\xe0"):
        raise DefinitionError(
            source,
            ["this is an old Excel 97-2003 (.xls) file; save it as Excel Workbook (.xlsx)"],
        )
    if not data.startswith(b"PK"):
        raise DefinitionError(
            source,
            [
                "the file is not an Excel workbook (.xlsx); if it is a CSV or other "
                "spreadsheet file, open it and save it as Excel Workbook (.xlsx)"
            ],
        )
    sheets: dict[str, _Sheet] = {}
    found: list[str] = []
    problems: list[str] = []
    try:
        # Before openpyxl sees it: a zip bomb or an endless sheet is refused at once.
        check_archive(data)
        with warnings.catch_warnings():
            for pattern in _HARMLESS_OPENPYXL_WARNINGS:
                warnings.filterwarnings(
                    "ignore", message=pattern, category=UserWarning, module=r"openpyxl\."
                )
            reader = ExcelReader(io.BytesIO(data), read_only=True, data_only=True)
            reader.read()
            try:
                found = list(reader.wb.sheetnames)
                for title in found:
                    name = title.lower()
                    if name not in _SHEETS:
                        # pyxform's rule: a workbook with a single sheet is the survey.
                        if len(found) != 1:
                            continue
                        name = "survey"
                    sheets[name] = _read_sheet(reader.wb[title], name, problems)
            finally:
                reader.wb.close()
                reader.archive.close()
    except WorkbookTooLarge as exc:
        raise DefinitionError(source, [exc.message()]) from None
    except Exception as exc:  # noqa: BLE001 - any failure of the parser on a broken file
        # A damaged or foreign file can fail anywhere inside openpyxl (zip, XML, styles);
        # the coordinator needs one clear message, not a traceback.
        reason = str(exc).splitlines()[0][:120] if str(exc) else type(exc).__name__
        raise DefinitionError(
            source, [f"the file could not be read as an Excel workbook (.xlsx): {reason}"]
        ) from None
    if problems:
        raise DefinitionError(source, problems)
    return sheets, found


def _cell_text(value: Any) -> str | None:
    """A cell as text, the way pyxform reads it (TRUE/FALSE, 3 not 3.0, stripped)."""
    if value is None:
        return None
    # Text stays as typed (pyxform turns no-break spaces into spaces, which breaks
    # French typography); numbers, dates and booleans are written pyxform's way.
    text = value.strip() if isinstance(value, str) else xlsx_value_to_str(value)
    return text if text.strip() else None


def _read_sheet(ws: Any, name: str, problems: list[str]) -> _Sheet:
    """Read one sheet with pyxform's rules: header row 1, empty rows kept for numbering."""
    first = next(ws.iter_rows(min_row=1, max_row=1), ())
    raw_headers = [_cell_text(cell.value) for cell in first]
    seen: dict[str, int] = {}
    for index, header in enumerate(raw_headers):
        if header is None:
            continue
        clean = " ".join(header.split())
        if clean in seen:
            problems.append(
                f"{name} sheet, row 1: the column '{clean}' appears twice "
                f"(columns {_column_letter(seen[clean])} and {_column_letter(index)})"
            )
            raw_headers[index] = None
        else:
            seen[clean] = index
            raw_headers[index] = clean
    try:
        headers = get_excel_column_headers(raw_headers)
    except PyXFormError as exc:  # duplicates are caught above; this is a safety net
        problems.append(f"{name} sheet, row 1: {exc}")
        headers = []
    rows: list[tuple[int, dict[str, str]]] = []
    if headers:
        # openpyxl fills every row up to the last heading: bound the rows and columns read.
        check_width(len(headers), ws.title)

        def cell_func(cell: Any, row_n: int, key: str) -> str | None:
            """pyxform's cell callback: the cell as text."""
            return _cell_text(cell.value)

        data = get_excel_rows(
            headers=headers,
            rows=sheet_rows(ws.iter_rows(min_row=2, max_col=len(headers)), ws.title, already=1),
            cell_func=cell_func,
        )
        # get_excel_rows keeps empty rows inside the data so that index + 2 is the row.
        rows = [
            (index + 2, {k: v for k, v in row.items() if v is not None})
            for index, row in enumerate(data)
        ]
        rows = [(number, row) for number, row in rows if row]
    columns = [_Column(header=h, key="", sheet=name) for h in headers if h is not None]
    return _Sheet(name=name, columns=columns, rows=rows)


def _column_letter(index: int) -> str:
    """The spreadsheet letter of a 0-based column index."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def _language_code(token: str) -> str | None:
    """'English (en)' -> 'en', 'Deutsch' -> 'de', 'ar' -> 'ar'; None when unknown."""
    match = _LANG_IN_PARENS_RE.match(token)
    if match:
        code = match["code"].lower()
        if match["region"]:
            code += "_" + match["region"].upper()
        return code if LANG_RE.match(code) else None
    name = token.strip().casefold()
    if name in LANGUAGE_NAMES:
        return LANGUAGE_NAMES[name]
    known_codes = set(LANGUAGE_NAMES.values())
    return name if name in known_codes else None


def _slugify(text: str) -> str:
    """A form address from an XLSForm form_id or file name."""
    slug = re.sub(r"[^a-z0-9]+", "-", text.lower().replace("_", "-")).strip("-")
    return slug[:64].rstrip("-")


@dataclass
class _Settings:
    """What we use from the settings sheet."""

    slug: str
    title: str
    default_code: str | None
    # Our own columns (written by write_xlsform): texts per language code.
    texts: dict[str, dict[str, str]] = dataclass_field(default_factory=dict)
    privacy_version: str | None = None
    #: retention_days, on_expiry and the record facts (intake_privacy_<key> columns).
    privacy_facts: dict[str, str] = dataclass_field(default_factory=dict)


def _settings(sheet: _Sheet | None, path: Path, report: _Problems) -> _Settings:
    """Read form_id, form_title and default_language from the settings sheet."""
    values: dict[str, str] = {}
    texts: dict[str, dict[str, str]] = {}
    facts: dict[str, str] = {}
    row_number = 2
    if sheet is not None and sheet.rows:
        row_number, row = sheet.rows[0]
        for header, value in row.items():
            base, _, lang = header.partition("::")
            key = to_snake_case(base)
            key = {"set_form_title": "form_title", "set_form_id": "form_id"}.get(key, key)
            key = "form_id" if key == "id_string" else key
            is_fact = key.startswith("intake_privacy_") and key[15:] in RECORD_FACTS
            if (key in ("intake_title", "intake_intro", "intake_privacy") or is_fact) and lang:
                code = _language_code(lang)
                if code is None:
                    report.add(
                        f"settings sheet, row 1, column '{header}'",
                        f"cannot tell the language code of '{lang}'",
                    )
                else:
                    texts.setdefault(key[len("intake_") :], {})[code] = value
            elif key in ("form_title", "form_id", "default_language", "intake_privacy_version"):
                values[key] = value
            elif key.startswith("intake_privacy_") and key[15:] in PRIVACY_FACT_KEYS:
                facts[key[15:]] = value
            elif key not in ("version", "style"):
                # version: we version imports ourselves; style: layout only.
                report.notice(
                    f"settings sheet, row {row_number}, column '{header}'",
                    "not used here, left out",
                )
        if len(sheet.rows) > 1:
            report.notice("settings sheet", f"only row {row_number} is read")
    where = f"settings sheet, row {row_number}"
    given = values.get("form_id", "")
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
    title = values.get("form_title") or given or path.stem
    if _REF_IN_TEXT_RE.search(title):
        report.add(f"{where}, column 'form_title'", "the title cannot insert answers (${...})")
    code = None
    if "default_language" in values:
        code = _language_code(values["default_language"])
        if code is None:
            report.add(
                f"{where}, column 'default_language'",
                f"cannot tell the language code of '{values['default_language']}'; "
                "write it like 'Deutsch (de)'",
            )
    return _Settings(
        slug=slug,
        title=title,
        default_code=code,
        texts=texts,
        privacy_version=values.get("intake_privacy_version"),
        privacy_facts=facts,
    )


def _survey_column(header: str, double_colon: bool) -> _Column:
    """What a survey column means, after pyxform's header aliases."""
    _, tokens = process_header(header, double_colon, aliases.survey_header, _SURVEY_COLUMNS)
    first, rest = tokens[0], tokens[1:]
    if first == "bind" and rest:
        key = _BIND_COLUMNS.get(rest[0], f"bind::{rest[0]}")
        rest = rest[1:] if rest[0] in _BIND_COLUMNS else ()
    elif first == "control" and rest:
        key = _CONTROL_COLUMNS.get(rest[0], f"control::{rest[0]}")
        rest = ()
    elif first == "media":
        return _Column(header=header, key="media", lang=rest[-1] if len(rest) > 1 else None)
    else:
        key = first if first in _SURVEY_COLUMNS else header
    if key in _TRANSLATABLE:
        return _Column(header=header, key=key, lang=rest[0] if rest else None)
    return _Column(header=header, key=key)


def _choices_column(header: str, double_colon: bool) -> _Column:
    """What a choices column means: list_name, name, label[::language], media or data."""
    known = {"list_name", "list name", "name", "label"}
    _, tokens = process_header(header, double_colon, aliases.list_header, known)
    first = tokens[0]
    if first in ("list_name", "list name"):
        return _Column(header=header, key="list_name")
    if first == "name" and len(tokens) == 1:
        return _Column(header=header, key="name")
    if first == "label":
        return _Column(header=header, key="label", lang=tokens[1] if len(tokens) > 1 else None)
    if first == "media":
        return _Column(header=header, key="media")
    return _Column(header=header, key="data")


class _Reader:
    """Maps the survey and choices sheets to our fields, collecting every problem."""

    def __init__(
        self, survey: _Sheet, choices: _Sheet | None, settings: _Settings, report: _Problems
    ):
        self.survey = survey
        self.choices = choices
        self.settings = settings
        self.report = report
        self.languages: list[str] = []
        self.default = "en"
        # name -> why it was left out, to explain references to it
        self.dropped: dict[str, str] = {}
        self.lists: dict[str, list[tuple[int, dict[str, Any]]]] = {}

    # -- columns and languages

    def _columns(self) -> None:
        """Classify the columns of both sheets and settle the form's languages."""
        headers = [c.header for c in self.survey.columns]
        double = any("::" in h for h in headers)
        self.survey.columns = [_survey_column(h, double) for h in headers]
        for column in self.survey.columns:
            column.sheet = "survey"
        if self.choices is not None:
            cheaders = [c.header for c in self.choices.columns]
            cdouble = any("::" in h for h in cheaders)
            self.choices.columns = [_choices_column(h, cdouble) for h in cheaders]
            for column in self.choices.columns:
                column.sheet = "choices"
        plain = [c for c in self._all_columns() if c.key in _TEXT_KINDS and c.lang is None]
        tagged = [
            code
            for c in self.survey.columns
            if c.key == "label" and c.lang and (code := _language_code(c.lang))
        ]
        if self.settings.default_code:
            self.default = self.settings.default_code
        elif plain:
            # pyxform reads columns without a language as the default language; with no
            # setting we guess: English, unless only hints etc. lack the language next
            # to labels that have one.
            if tagged and not any(c.key == "label" for c in plain):
                self.default = tagged[0]
            else:
                self.default = "en"
            self.report.notice(
                f"{plain[0].sheet} sheet, column '{plain[0].header}'",
                f"no language given; read as '{self.default}'. Name the columns like "
                "'label::Deutsch (de)' or set default_language on the settings sheet",
            )
        for column in self._all_columns():
            if column.key not in _TEXT_KINDS:
                continue
            if column.lang is None:
                column.code = self.default
            else:
                column.code = _language_code(column.lang)
                if column.code is None:
                    self.report.add(
                        f"{column.sheet} sheet, row 1, column '{column.header}'",
                        f"cannot tell the language code of '{column.lang}'; name the column "
                        f"like '{column.key}::{column.lang} (xx)' with its two-letter code",
                    )
                    continue
            if column.code not in self.languages:
                self.languages.append(column.code)
        for sheet in (self.survey, self.choices):
            if sheet is None:
                continue
            seen: dict[tuple[str, str], str] = {}
            for column in sheet.columns:
                if column.key not in _TEXT_KINDS or column.code is None:
                    continue
                other = seen.setdefault((column.key, column.code), column.header)
                if other != column.header:
                    self.report.add(
                        f"{sheet.name} sheet, row 1",
                        f"the columns '{other}' and '{column.header}' are both "
                        f"'{column.key}' in the language '{column.code}'; keep one",
                    )
        if not any(c.key == "label" for c in self.survey.columns):
            self.report.add(
                "survey sheet, row 1",
                "there is no label column; add one such as 'label::Deutsch (de)'",
            )
        if not self.languages:
            self.languages = [self.default]
        elif not self.settings.default_code and not plain:
            # Without a setting, the first language column is the form's main language.
            self.default = self.languages[0]
        elif self.default not in self.languages:
            if self.settings.default_code:
                self.report.add(
                    "settings sheet, row 2, column 'default_language'",
                    f"no label column is in this language ('{self.default}'); the label "
                    f"columns are in {', '.join(self.languages)}",
                )
            self.default = self.languages[0]

    def _all_columns(self) -> Iterator[_Column]:
        """All classified columns of both sheets."""
        for sheet in (self.survey, self.choices):
            if sheet is not None:
                yield from sheet.columns

    def _texts(self, sheet: _Sheet, row: dict[str, str], kind: str) -> dict[str, str]:
        """The per-language texts of one kind (label, hint, ...) in a row."""
        texts: dict[str, str] = {}
        for column in sheet.columns:
            # Texts stay as typed: typographic quotes and apostrophes are correct
            # spelling in many languages (Ukrainian ’, French « »); only expressions
            # get pyxform's smart-quote repair.
            if column.key == kind and column.code and row.get(column.header):
                texts.setdefault(column.code, row[column.header])
        return texts

    def _value(self, row: dict[str, str], key: str) -> tuple[str, str] | None:
        """(header, value) of the first non-empty column with this meaning, if any."""
        for column in self.survey.columns:
            if column.key == key and row.get(column.header):
                return column.header, row[column.header]
        return None

    # -- the survey sheet

    def run(self) -> _Result:
        """Read everything and assemble the raw definition."""
        self._columns()
        self._read_choices()
        entries = self._first_pass()
        fields, rows, originals = self._second_pass(entries)
        texts = self.settings.texts
        title = texts.get("title") or {code: self.settings.title for code in self.languages}
        raw: dict[str, Any] = {
            "form": self.settings.slug,
            "default_language": self.default,
            "languages": list(self.languages),
            "title": title,
        }
        if texts.get("intro"):
            raw["intro"] = texts["intro"]
        if self.settings.privacy_version or texts.get("privacy"):
            raw["privacy"] = {
                "version": self.settings.privacy_version,
                "notice": texts.get("privacy", {}),
            }
            for fact in RECORD_FACTS:
                if texts.get(f"privacy_{fact}"):
                    raw["privacy"][fact] = texts[f"privacy_{fact}"]
            for key, value in self.settings.privacy_facts.items():
                if key == "retention_days" and re.fullmatch(r"[0-9]+(\.0)?", str(value).strip()):
                    value = int(float(value))  # a number cell may come back as 730.0
                raw["privacy"][key] = value
        raw["fields"] = fields
        result = _Result(
            raw=raw, notices=self.report.notices, field_rows=rows, original_names=originals
        )
        for f in fields:
            if "choices" in f:
                result.choice_rows[f["name"]] = f.pop("_choice_rows")
        return result

    def _first_pass(self) -> list[_Entry]:
        """Map each survey row on its own: type, texts, logic columns."""
        entries: list[_Entry] = []
        stack: list[_Entry] = []
        unused: dict[str, tuple[int, str]] = {}
        for number, row in self.survey.rows:
            for column in self.survey.columns:
                if column.header in row and column.key not in _HANDLED_SURVEY_KEYS:
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
                _UNUSED_REASONS.get(key, "not used here, left out"),
            )
        return entries

    def _row(self, number: int, row: dict[str, str], stack: list[_Entry]) -> _Entry | None:
        """Map one survey row; None for rows that are skipped or refused."""
        where = f"survey sheet, row {number}"
        disabled = self._value(row, "disabled")
        if disabled and disabled[1].lower() in _TRUE_WORDS:
            self.report.notice(where, "disabled, left out")
            return None
        found = self._value(row, "type")
        name_cell = self._value(row, "name")
        name = name_cell[1] if name_cell else ""
        label = self._texts(self.survey, row, "label")
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

        mapped, list_name, other = self._type(xtype, name, at_type, where)
        if mapped is None:
            if name:
                self.dropped.setdefault(name, f"the question in row {number}, which is refused")
            return None
        if not name:
            self.report.add(f"{where}, column 'name'", "the name is missing")
            return None
        field: dict[str, Any] = {"name": name, "type": mapped}
        self._logic(number, row, field)
        parameters = self._value(row, "parameters")
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
        self._intake_columns(row, field, where)
        return _Entry("field", number, name, field, list_name=list_name)

    def _control(
        self,
        match: re.Match[str],
        number: int,
        name: str,
        row: dict[str, str],
        stack: list[_Entry],
        at_type: str,
    ) -> _Entry | None:
        """begin/end group, repeat or loop."""
        kind = match["kind"].lower().replace(" ", "_")
        kind = {"lgroup": "repeat", "looped_group": "repeat"}.get(kind, kind)
        if match["edge"].lower() == "begin":
            if kind == "repeat":
                self.report.add(
                    at_type, f"repeats are not supported (begin_repeat '{name or '?'}')"
                )
            elif kind == "loop":
                self.report.add(at_type, f"loops are not supported (begin_loop '{name or '?'}')")
            field: dict[str, Any] = {}
            label = self._texts(self.survey, row, "label")
            if label:
                field["label"] = label
            hint = self._texts(self.survey, row, "hint")
            if hint:
                field["hint"] = hint
            relevant = self._value(row, "relevant")
            if relevant:
                field["relevant"] = self._expression(
                    relevant[1], f"survey sheet, row {number}, column '{relevant[0]}'"
                )
            self._check_texts(row, f"survey sheet, row {number}")
            entry = _Entry("begin", number, name, field, group_kind=kind)
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
        return _Entry("end", number, opened.name, {}, group_kind=opened.group_kind)

    def _type(
        self, xtype: str, name: str, at_type: str, where: str
    ) -> tuple[str | None, str | None, bool]:
        """Our type for an XLSForm type, the choice list, and whether 'or_other' is set."""
        select = _SELECT_RE.match(xtype)
        if select:
            command = select["command"].lower()
            if command in aliases.select_from_file:
                self.report.add(
                    at_type,
                    f"choices from a file are not supported ({xtype}); "
                    "put the choices on the choices sheet",
                )
                return None, None, False
            meaning = aliases.select.get(command)
            if meaning == "select one external":
                self.report.add(at_type, f"external choices are not supported ({xtype})")
                return None, None, False
            if meaning == "rank":
                self.report.add(at_type, f"ranking questions are not supported ({xtype})")
                return None, None, False
            ours = "single_choice" if meaning == "select one" else "multiple_choice"
            return ours, select["list"], bool(select["other"])
        low = xtype.casefold()
        if low.split()[0] == "osm":
            self.report.add(at_type, f"OpenStreetMap questions ({xtype}) are not supported")
            return None, None, False
        if low in ("select_one", "select_multiple", "select one", "select multiple"):
            self.report.add(at_type, f"'{xtype}' needs the name of a choice list after it")
            return None, None, False
        if low in _SIMPLE_TYPES:
            return _SIMPLE_TYPES[low], None, False
        if low == "range":
            return "integer", None, False
        if low in _REFUSED_TYPES:
            self.report.add(at_type, _REFUSED_TYPES[low].format(type=xtype))
            return None, None, False
        low = aliases._type_alias_map.get(low, low)
        spec = _QUESTION_TYPES_FOLDED.get(low)
        if low in _EXTRA_METADATA or (spec is not None and "jr:preload" in spec.get("bind", {})):
            self.report.notice(
                where,
                f"metadata field '{name or xtype}' (type {xtype}) is not needed here "
                "and was left out",
            )
            if name:
                self.dropped[name] = f"a metadata field ({xtype}) that is left out"
            return None, None, False
        bind_type = (spec or {}).get("bind", {}).get("type")
        if bind_type in _REFUSED_BIND_TYPES:
            self.report.add(at_type, _REFUSED_BIND_TYPES[bind_type].format(type=xtype))
            return None, None, False
        self.report.add(at_type, f"the type '{xtype}' is not supported")
        return None, None, False

    def _logic(self, number: int, row: dict[str, str], field: dict[str, Any]) -> None:
        """Texts and bind columns of a question row."""
        where = f"survey sheet, row {number}"
        for kind in ("label", "hint", "constraint_message"):
            texts = self._texts(self.survey, row, kind)
            if texts:
                field[kind] = texts
        self._check_texts(row, where)
        required = self._value(row, "required")
        if required:
            word = required[1].strip().lower()
            if word in _TRUE_WORDS:
                field["required"] = True
            elif word not in _FALSE_WORDS:
                field["required"] = self._expression(
                    required[1], f"{where}, column '{required[0]}'"
                )
        for key in ("relevant", "constraint", "choice_filter"):
            found = self._value(row, key)
            if found:
                field[key] = self._expression(found[1], f"{where}, column '{found[0]}'")
        for key, text in (
            ("calculation", "calculations are not supported"),
            ("trigger", "triggers (recalculating on change) are not supported"),
        ):
            found = self._value(row, key)
            if found:
                self.report.add(f"{where}, column '{found[0]}'", text)
        found = self._value(row, "default")
        if found:
            self.report.notice(
                f"{where}, column '{found[0]}'",
                f"default answers are not supported; '{found[1]}' was left out",
            )
        found = self._value(row, "read_only")
        if found and found[1].strip().lower() not in _FALSE_WORDS:
            self.report.notice(
                f"{where}, column '{found[0]}'", "read-only questions are not supported; left out"
            )

    def _check_texts(self, row: dict[str, str], where: str) -> None:
        """Texts that insert answers (${name}) would show the placeholder literally."""
        for column in self.survey.columns:
            if column.key in _TEXT_KINDS and row.get(column.header):
                match = _REF_IN_TEXT_RE.search(row[column.header])
                if match:
                    self.report.add(
                        f"{where}, column '{column.header}'",
                        f"texts that insert answers ({match.group()}) are not supported",
                    )

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
        found = self._value(row, "appearance")
        if not found:
            return
        header, value = found
        at = f"{where}, column '{header}'"
        words = value.split()
        ftype = field["type"]
        if any(word.startswith("search") for word in words):
            self.report.add(at, "the search() appearance (choices from a file) is not supported")
            return
        unused = []
        for word in words:
            low = word.lower()
            if ftype == "text" and low == "multiline":
                field["type"] = "textarea"
            elif ftype == "single_choice" and low in ("minimal", "autocomplete"):
                field["appearance"] = "select"
            elif ftype == "single_choice" and low == "likert":
                field["type"] = "rating"
            elif low != "field-list":
                unused.append(word)
        if unused:
            self.report.notice(at, f"the appearance '{' '.join(unused)}' is not used here")

    def _intake_columns(self, row: dict[str, str], field: dict[str, Any], where: str) -> None:
        """Our own columns written by write_xlsform: exact type and extra keys."""
        found = self._value(row, "intake_type")
        if found:
            header, wanted = found[0], found[1].strip()
            if wanted not in _OVERRIDES.get(field["type"], {field["type"]}):
                self.report.add(
                    f"{where}, column '{header}'",
                    f"'{wanted}' does not fit the XLSForm type of this row",
                )
            elif wanted != field["type"]:
                field["type"] = wanted
                if wanted in ("yes_no", "municipality"):
                    field["_no_choices"] = True
                    field.pop("appearance", None)
        for key in ("personal", "sensitive", "prefill"):
            found = self._value(row, f"intake_{key}")
            if found:
                word = found[1].strip().lower()
                if word in _TRUE_WORDS:
                    field[key] = True
                elif word not in _FALSE_WORDS:
                    self.report.add(f"{where}, column '{found[0]}'", "write yes or no")
        found = self._value(row, "intake_report_languages")
        if found:
            word = found[1].strip().lower()
            if word in REPORT_LANGUAGE_ROLES:
                field["report_languages"] = word
            else:
                self.report.add(f"{where}, column '{found[0]}'", "write offered or needed")
        for key in ("max_length", "min", "max"):
            found = self._value(row, f"intake_{key}")
            if found:
                number = _number(found[1])
                if number is None or (key == "max_length" and not isinstance(number, int)):
                    self.report.add(f"{where}, column '{found[0]}'", "write a number")
                else:
                    field[key] = number

    def _expression(self, text: str, where: str) -> str:
        """An expression with smart quotes fixed; refuse what only ODK can evaluate."""
        text = clean_text_values(text).strip()
        try:
            tokens = [t for t in parse_expression(text) if t.type != "WHITESPACE"]
        except LarkError:
            self.report.add(where, f"cannot read the expression '{text}'")
            return text
        for index, token in enumerate(tokens):
            function = None
            if token.type == "FUNC_CALL":
                function = token.value[:-1]
            elif (
                token.type == "NAME"
                and index + 1 < len(tokens)
                and tokens[index + 1].type == "OPEN_PAREN"
            ):
                function = token.value
            if function is not None and function not in SUPPORTED_FUNCTIONS:
                reason = _FUNCTION_REASONS.get(function)
                why = f" ({reason})" if reason else ""
                self.report.add(where, f"the function {function}() is not supported{why}")
            elif token.type in ("PATH_SEP", "PARENT_REF", "XPATH_PRED_START"):
                self.report.add(
                    where,
                    f"XPath paths ('{token.value}') are not supported; refer to questions "
                    "as ${name}",
                )
                break
            elif token.type == "PYXFORM_REF" and "last-saved#" in token.value:
                self.report.add(where, f"{token.value} (last saved answers) is not supported")
        return text

    # -- the choices sheet

    def _read_choices(self) -> None:
        """Read every choice list with its rows; check values on the way."""
        sheet = self.choices
        if sheet is None:
            return
        keys = {c.key for c in sheet.columns}
        if sheet.rows and ("list_name" not in keys or "name" not in keys):
            missing = [k for k in ("list_name", "name") if k not in keys]
            self.report.add(
                "choices sheet, row 1", f"the column {' and '.join(missing)} is missing"
            )
            return
        media_used: set[str] = set()
        seen: dict[tuple[str, str], int] = {}
        for number, row in sheet.rows:
            where = f"choices sheet, row {number}"
            list_name = name = None
            data: dict[str, str] = {}
            for column in sheet.columns:
                value = row.get(column.header)
                if value is None:
                    continue
                if column.key == "list_name":
                    list_name = value
                elif column.key == "name":
                    name = value
                elif column.key == "data":
                    data[column.header] = value
                elif column.key == "media":
                    media_used.add(column.header)
            if list_name is None:
                if name is not None:
                    self.report.add(f"{where}, column 'list_name'", "the list name is missing")
                continue
            if name is None:
                self.report.add(f"{where}, column 'name'", "the choice has no name (value)")
                continue
            if not VALUE_RE.match(name):
                self.report.add(
                    f"{where}, column 'name'",
                    f"the value '{name}' may only use A-Z, a-z, 0-9, '_', '.', '-' "
                    "(starting with a letter or digit, at most 64)",
                )
                continue
            first = seen.setdefault((list_name, name), number)
            if first != number:
                self.report.add(
                    f"{where}, column 'name'",
                    f"the value '{name}' is already in list '{list_name}' (row {first})",
                )
                continue
            for column in sheet.columns:
                if column.key == "label" and row.get(column.header):
                    match = _REF_IN_TEXT_RE.search(row[column.header])
                    if match:
                        self.report.add(
                            f"{where}, column '{column.header}'",
                            f"texts that insert answers ({match.group()}) are not supported",
                        )
            choice: dict[str, Any] = {"value": name}
            label = self._texts(sheet, row, "label")
            if label:
                choice["label"] = label
            if data:
                choice["data"] = data
            self.lists.setdefault(list_name, []).append((number, choice))
        for header in sorted(media_used):
            self.report.notice(f"choices sheet, column '{header}'", _UNUSED_REASONS["media"])

    # -- groups, names and references

    def _second_pass(
        self, entries: list[_Entry]
    ) -> tuple[list[dict[str, Any]], list[int], dict[str, str]]:
        """Groups -> pages, nested group conditions -> fields, names -> our names."""
        out: list[tuple[int, str, dict[str, Any]]] = []
        stack: list[_Entry] = []
        after_group: _Entry | None = None
        for entry in entries:
            if entry.kind == "begin":
                if not stack and entry.group_kind == "group":
                    page = self._page(entry)
                    out.append((entry.row, page["name"], page))
                stack.append(entry)
                after_group = None
                continue
            if entry.kind == "end":
                if stack:
                    stack.pop()
                if not stack:
                    after_group = entry
                continue
            field = entry.field
            if not stack and after_group is not None:
                # Without a page break the questions after a group would join its page
                # (and its condition); they get a page of their own, titled like the form.
                title = self.settings.texts.get("title")
                page = {
                    "name": f"page_row_{entry.row}",
                    "type": "page",
                    "label": title or {code: self.settings.title for code in self.languages},
                }
                out.append((entry.row, page["name"], page))
                self.report.notice(
                    f"survey sheet, row {entry.row}",
                    f"the questions after the group '{after_group.name}' get a page of their "
                    "own, titled like the form",
                )
                after_group = None
            conditions = [g.field["relevant"] for g in stack[1:] if g.field.get("relevant")]
            if conditions:
                if field.get("relevant"):
                    conditions.append(field["relevant"])
                field["relevant"] = " and ".join(f"({c})" for c in conditions)
            self._attach_choices(entry)
            out.append((entry.row, entry.name, field))
        return self._rename(out)

    def _page(self, entry: _Entry) -> dict[str, Any]:
        """A top-level group becomes a page; its title is the group's label."""
        name = entry.name or f"page_row_{entry.row}"
        page: dict[str, Any] = {"name": name, "type": "page"}
        label = entry.field.get("label") or {}
        if self.default not in label:
            readable = re.sub(r"[_\-.]+", " ", name).strip().capitalize() or "Page"
            label = {**label, self.default: readable}
            self.report.notice(
                f"survey sheet, row {entry.row}",
                f"the group '{name}' has no label in '{self.default}'; its page is titled "
                f"'{readable}'",
            )
        page["label"] = label
        for key in ("hint", "relevant"):
            if key in entry.field:
                page[key] = entry.field[key]
        return page

    def _attach_choices(self, entry: _Entry) -> None:
        """Copy the field's choice list from the choices sheet."""
        field = entry.field
        no_choices = field.pop("_no_choices", False)
        if entry.list_name is None or no_choices:
            return
        rows = self.lists.get(entry.list_name)
        if not rows:
            self.report.add(
                f"survey sheet, row {entry.row}, column 'type'",
                f"the choice list '{entry.list_name}' is not on the choices sheet",
            )
            return
        field["choices"] = [dict(choice) for _, choice in rows]
        field["_choice_rows"] = [number for number, _ in rows]

    def _rename(
        self, out: list[tuple[int, str, dict[str, Any]]]
    ) -> tuple[list[dict[str, Any]], list[int], dict[str, str]]:
        """Make XLSForm names fit ours and rewrite ${old} references to match."""
        renamed: dict[str, str] = {}
        used: dict[str, tuple[int, str]] = {}
        for row, original, field in out:
            new = _our_name(original)
            where = f"survey sheet, row {row}, column 'name'"
            if new in used:
                first_row, first_name = used[new]
                same = first_name == original
                self.report.add(
                    where,
                    f"the name '{original}' is already used in row {first_row}"
                    if same
                    else f"'{original}' becomes '{new}', which row {first_row} already uses "
                    f"('{first_name}')",
                )
                continue
            used[new] = (row, original)
            renamed.setdefault(original, new)
            if new != original:
                self.report.notice(
                    f"survey sheet, row {row}", f"the name '{original}' becomes '{new}'"
                )
            field["name"] = new
        fields, rows = [], []
        for row, _, field in out:
            for key in ("relevant", "required", "constraint", "choice_filter"):
                if isinstance(field.get(key), str):
                    field[key] = self._references(field[key], renamed, row, key)
            fields.append(field)
            rows.append(row)
        originals = {new: old for old, new in renamed.items() if old != new}
        return fields, rows, originals

    def _references(self, text: str, renamed: dict[str, str], row: int, key: str) -> str:
        """Rewrite ${old} to ${new}; explain references to rows that were left out."""
        try:
            tokens = parse_expression(text)
        except LarkError:
            return text
        parts: list[str] = []
        for token in tokens:
            value = token.value
            if token.type == "PYXFORM_REF" and "#" not in value:
                name = value[2:-1]
                if name in self.dropped and name not in renamed:
                    self.report.add(
                        f"survey sheet, row {row}, column '{key}'",
                        f"refers to ${{{name}}}, {self.dropped[name]}",
                    )
                value = "${" + renamed.get(name, name) + "}"
            parts.append(value)
        return "".join(parts)


_HANDLED_SURVEY_KEYS = {
    "type",
    "name",
    "label",
    "hint",
    "constraint_message",
    "relevant",
    "required",
    "constraint",
    "choice_filter",
    "appearance",
    "parameters",
    "default",
    "read_only",
    "calculation",
    "trigger",
    "disabled",
    "intake_type",
    "intake_personal",
    "intake_sensitive",
    "intake_prefill",
    "intake_report_languages",
    "intake_max_length",
    "intake_min",
    "intake_max",
}


# Why a survey column is left out, for the notice; others are "not used here".
_UNUSED_REASONS = {
    "media": "pictures, sound and video are not used, left out",
    "required_message": "custom required messages are not supported; the standard one is shown",
    "guidance_hint": "guidance hints are not shown, left out",
    "repeat_count": "only used with repeats, left out",
}


def _our_name(name: str) -> str:
    """An XLSForm name (NCName) as ours: lower case, a-z 0-9 _, starting with a letter."""
    new = re.sub(r"[^a-z0-9_]", "_", name.lower())
    if not new[:1].isalpha():
        new = "q_" + new.lstrip("_")
    new = new[:63]
    return new if NAME_RE.match(new) else "q"


def _number(text: str) -> int | float | None:
    """A whole number or a decimal from a cell, else None."""
    try:
        value = float(text)
    except ValueError:
        return None
    if value != value or value in (float("inf"), float("-inf")):
        return None
    return int(value) if value.is_integer() and "." not in text else value


def _locate(problem: str, result: _Result) -> str:
    """Rewrite "field 'x' (fields[3])" in a validation message into its survey row."""
    match = re.match(
        r"^(?:field '(?P<name>[^']*)'(?: \(fields\[(?P<i1>\d+)\]\))?|fields\[(?P<i2>\d+)\])"
        r"(?P<rest>.*)$",
        problem,
        re.DOTALL,
    )
    if not match:
        return problem
    fields = result.raw["fields"]
    index_text = match["i1"] or match["i2"]
    index = int(index_text) if index_text is not None else None
    name = match["name"]
    if index is None and name is not None:
        index = next((i for i, f in enumerate(fields) if f.get("name") == name), None)
    if index is None or index >= len(result.field_rows):
        return problem
    row = result.field_rows[index]
    name = name or fields[index].get("name")
    rest = match["rest"]
    label = f"field '{name}'"
    if name in result.original_names:
        label += f", '{result.original_names[name]}' in the sheet"
    choice = re.match(r"^: choices\[(\d+)\](.*)$", rest, re.DOTALL)
    rows = result.choice_rows.get(name or "", [])
    if choice and int(choice[1]) < len(rows):
        return f"choices sheet, row {rows[int(choice[1])]} (choice list of {label}){choice[2]}"
    return f"survey sheet, row {row} ({label}){rest}"


# --------------------------------------------------------------------------- writing


def _language_header(code: str) -> str:
    """'German (de)': the language part of an exported column header."""
    return f"{EXPORT_LANGUAGE_NAMES.get(code, code)} ({code})"


def write_xlsform(definition: Mapping[str, Any], notices: list[str] | None = None) -> bytes:
    """Export a validated definition as an XLSForm workbook (.xlsx bytes)."""
    languages: list[str] = list(definition["languages"])
    default: str = definition["default_language"]
    fields: list[Mapping[str, Any]] = list(definition["fields"])
    lang_headers = {code: _language_header(code) for code in languages}

    def used(key: str) -> bool:
        """Whether any field sets this key (else its column is left out)."""
        return any(f.get(key) for f in fields)

    columns = ["type", "name", *(f"label::{lang_headers[c]}" for c in languages)]
    if used("hint"):
        columns += [f"hint::{lang_headers[c]}" for c in languages]
    for key in ("required", "relevant", "constraint"):
        if used(key):
            columns.append(key)
    if used("constraint_message"):
        columns += [f"constraint_message::{lang_headers[c]}" for c in languages]
    if used("choice_filter"):
        columns.append("choice_filter")
    columns.append("appearance")
    extra = _intake_values(fields)
    columns += [key for key in _INTAKE_COLUMNS if any(key in values for values in extra)]

    survey: list[dict[str, Any]] = []
    choices: list[dict[str, Any]] = []
    data_keys: list[str] = []
    in_page = False
    for fdef, intake in zip(fields, extra, strict=True):
        row: dict[str, Any] = {"name": fdef["name"], **intake}
        for kind in ("label", "hint", "constraint_message"):
            for code, text in (fdef.get(kind) or {}).items():
                if code in lang_headers:
                    row[f"{kind}::{lang_headers[code]}"] = text
        for key in ("relevant", "constraint", "choice_filter"):
            if fdef.get(key):
                row[key] = fdef[key]
        required = fdef.get("required")
        if required is True:
            row["required"] = "yes"
        elif isinstance(required, str) and required:
            row["required"] = required
        ftype = fdef["type"]
        if fdef.get("other") and fdef.get("choice_filter") and notices is not None:
            notices.append(
                f"field '{fdef['name']}': ODK and KoboToolbox do not accept or_other together "
                "with choice_filter; this file can be imported here again, but not into them"
            )
        if ftype == "page":
            if in_page:
                survey.append({"type": "end_group"})
            # field-list: ODK Collect shows the whole group on one screen, like our page.
            row.update(type="begin_group", appearance="field-list")
            row.pop("required", None)
            survey.append(row)
            in_page = True
            continue
        row["type"], appearance = _export_type(fdef)
        if appearance:
            row["appearance"] = appearance
        if ftype in ("single_choice", "multiple_choice", "rating", "yes_no"):
            for choice in _export_choices(fdef, languages, default):
                crow: dict[str, Any] = {"list_name": fdef["name"], "name": choice["value"]}
                for code, text in choice["label"].items():
                    if code in lang_headers:
                        crow[f"label::{lang_headers[code]}"] = text
                for key, value in (choice.get("data") or {}).items():
                    if key in _RESERVED_CHOICE_COLUMNS or key.startswith("label"):
                        raise ValueError(f"choice data key '{key}' cannot be a choices column")
                    if key not in data_keys:
                        data_keys.append(key)
                    crow[key] = value
                choices.append(crow)
        survey.append(row)
    if in_page:
        survey.append({"type": "end_group"})

    book = Workbook()
    sheet = book.active
    sheet.title = "survey"
    _write_rows(sheet, columns, survey)
    choice_columns = ["list_name", "name", *(f"label::{lang_headers[c]}" for c in languages)]
    _write_rows(book.create_sheet("choices"), choice_columns + data_keys, choices)
    title = definition.get("title") or {}
    settings: dict[str, Any] = {
        "form_title": title.get(default) or definition["form"],
        "form_id": definition["form"],
        "default_language": lang_headers[default],
    }
    if any(f["type"] == "page" for f in fields):
        settings["style"] = "pages"  # Enketo then shows one group per page, as we do
    # XLSForm has one title and no intro or privacy notice; our own columns keep them
    # for a re-import (ODK and Kobo ignore unknown settings columns).
    privacy = definition.get("privacy") or {}
    for key, texts in (
        ("title", title),
        ("intro", definition.get("intro") or {}),
        ("privacy", privacy.get("notice") or {}),
    ):
        for code in languages:
            if texts.get(code):
                settings[f"intake_{key}::{lang_headers[code]}"] = texts[code]
    if privacy.get("version"):
        settings["intake_privacy_version"] = privacy["version"]
    for key in PRIVACY_FACT_KEYS:
        value = privacy.get(key)
        if isinstance(value, Mapping):  # a text per language
            for code in languages:
                if value.get(code):
                    settings[f"intake_privacy_{key}::{lang_headers[code]}"] = value[code]
        elif value is not None:
            settings[f"intake_privacy_{key}"] = value
    _write_rows(book.create_sheet("settings"), list(settings), [settings])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


#: Privacy facts kept in intake_privacy_<key> settings columns.
PRIVACY_FACT_KEYS = ("retention_days", "on_expiry", *RECORD_FACTS)

_INTAKE_COLUMNS = (
    "intake_type",
    "intake_personal",
    "intake_sensitive",
    "intake_prefill",
    "intake_report_languages",
    "intake_max_length",
    "intake_min",
    "intake_max",
)
_RESERVED_CHOICE_COLUMNS = {"list_name", "list name", "name", "label", "media", "image"}


def _intake_values(fields: list[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Our keys that XLSForm has no column for, as intake_* cells per field."""
    out = []
    for fdef in fields:
        values: dict[str, Any] = {}
        if fdef["type"] in ("email", "phone", "municipality", "yes_no"):
            values["intake_type"] = fdef["type"]
        for key in ("personal", "sensitive", "prefill"):
            if fdef.get(key):
                values[f"intake_{key}"] = "yes"
        if fdef.get("report_languages"):
            values["intake_report_languages"] = fdef["report_languages"]
        max_length = fdef.get("max_length")
        if max_length is not None and max_length != DEFAULT_MAX_LENGTH.get(fdef["type"]):
            values["intake_max_length"] = max_length
        for key in ("min", "max"):
            if fdef.get(key) is not None:
                values[f"intake_{key}"] = fdef[key]
        out.append(values)
    return out


def _export_type(fdef: Mapping[str, Any]) -> tuple[str, str | None]:
    """The XLSForm type (and appearance) for one of our fields."""
    ftype = fdef["type"]
    other = " or_other" if fdef.get("other") else ""
    if ftype == "single_choice":
        appearance = "minimal" if fdef.get("appearance") == "select" else None
        return f"select_one {fdef['name']}{other}", appearance
    if ftype == "multiple_choice":
        return f"select_multiple {fdef['name']}{other}", None
    if ftype == "rating":
        return f"select_one {fdef['name']}{other}", "likert"
    if ftype == "yes_no":
        return f"select_one {fdef['name']}", None
    if ftype == "textarea":
        return "text", "multiline"
    if ftype in ("email", "phone", "municipality"):
        # intake_type restores these; in ODK/Kobo they work as text questions.
        return "text", None
    if ftype == "consent":
        return "acknowledge", None
    return ftype, None  # text, integer, decimal, date, note, hidden


def _export_choices(
    fdef: Mapping[str, Any], languages: list[str], default: str
) -> list[Mapping[str, Any]]:
    """The field's choices; a yes_no field gets a yes/no list in the form's languages."""
    if fdef["type"] != "yes_no":
        return list(fdef.get("choices") or [])
    out = []
    for index, value in enumerate(("yes", "no")):
        label = {c: YES_NO_LABELS[c][index] for c in languages if c in YES_NO_LABELS}
        label.setdefault(default, YES_NO_LABELS["en"][index])
        out.append({"value": value, "label": label})
    return out


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
