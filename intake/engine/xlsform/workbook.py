"""Reading an .xlsx XLSForm: the file, its sheets, their header rows and their rows.

Cells are read the way pyxform reads them (its openpyxl backend), within the size limits
of intake/xlsx_limits.py, which are checked before openpyxl unpacks anything.
"""

from __future__ import annotations

import difflib
import io
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from openpyxl.reader.excel import ExcelReader
from pyxform.errors import PyXFormError
from pyxform.xls2json_backends import (
    get_excel_column_headers,
    get_excel_rows,
    xlsx_value_to_str,
)

from intake.engine.validation import DefinitionError
from intake.engine.xlsform.report import Report
from intake.engine.xlsform.vocabulary import SHEET_NAMES, SHEETS, SURVEY, Use
from intake.xlsx_limits import WorkbookTooLarge, check_archive, check_width, sheet_rows

#: Forms are a few hundred rows; a bigger file is a mistake (or a zip bomb).
MAX_FILE_BYTES = 10 * 1024 * 1024

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


@dataclass
class SheetColumn:
    """One column of a sheet: its header as written and what it means."""

    header: str
    key: str
    lang: str | None = None  # language token as written, for per-language columns
    code: str | None = None  # resolved language code
    sheet: str = SURVEY


@dataclass
class Sheet:
    """A sheet's columns and its non-empty rows with their spreadsheet row numbers."""

    name: str
    columns: list[SheetColumn]
    rows: list[tuple[int, dict[str, str]]]


def read_workbook(path: Path, source: str) -> tuple[dict[str, Sheet], list[str]]:
    """Open the file as an .xlsx workbook; the XLSForm sheets and all sheet names found."""
    data = _file_bytes(path, source)
    problems: list[str] = []
    try:
        # Before openpyxl sees it: a zip bomb or an endless sheet is refused at once.
        check_archive(data)
        sheets, found = _read_sheets(data, problems)
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


def check_sheets(sheets: dict[str, Sheet], found: list[str], source: str, report: Report) -> Sheet:
    """Note or refuse the sheets we do not read; return the survey sheet."""
    for sheet_name in found:
        if sheet_name.lower() not in SHEET_NAMES and len(found) > 1:
            close = difflib.get_close_matches(sheet_name.lower(), SHEET_NAMES, n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            report.notice(f"sheet '{sheet_name}'", f"not part of an XLSForm, left out{hint}")
    survey = sheets.get(SURVEY)
    if survey is None:
        names = ", ".join(f"'{n}'" for n in found) or "none"
        raise DefinitionError(
            source, [f"the workbook has no sheet named 'survey' (its sheets: {names})"]
        )
    for sheet in SHEETS:
        rows = sheets[sheet.name].rows if sheet.name in sheets else []
        if rows and sheet.use is Use.LEFT_OUT:
            report.notice(f"{sheet.name} sheet", sheet.reason)
        elif rows and sheet.use is Use.REFUSED:
            report.add(f"{sheet.name} sheet, row {rows[0][0]}", sheet.reason)
    return survey


def column_letter(index: int) -> str:
    """The spreadsheet letter of a 0-based column index."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def _file_bytes(path: Path, source: str) -> bytes:
    """The file's bytes, if it can be an .xlsx workbook at all."""
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
    return data


def _read_sheets(data: bytes, problems: list[str]) -> tuple[dict[str, Sheet], list[str]]:
    """Read the XLSForm sheets of a workbook that passed the size checks."""
    sheets: dict[str, Sheet] = {}
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
                if name not in SHEET_NAMES:
                    # pyxform's rule: a workbook with a single sheet is the survey.
                    if len(found) != 1:
                        continue
                    name = SURVEY
                sheets[name] = _read_sheet(reader.wb[title], name, problems)
        finally:
            reader.wb.close()
            reader.archive.close()
    return sheets, found


def _cell_text(value: Any) -> str | None:
    """A cell as text, the way pyxform reads it (TRUE/FALSE, 3 not 3.0, stripped)."""
    if value is None:
        return None
    # Text stays as typed (pyxform turns no-break spaces into spaces, which breaks
    # French typography); numbers, dates and booleans are written pyxform's way.
    text = value.strip() if isinstance(value, str) else xlsx_value_to_str(value)
    return text if text.strip() else None


def _read_sheet(ws: Any, name: str, problems: list[str]) -> Sheet:
    """Read one sheet with pyxform's rules: header row 1, empty rows kept for numbering."""
    headers = _headers(ws, name, problems)
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
    columns = [SheetColumn(header=h, key="", sheet=name) for h in headers if h is not None]
    return Sheet(name=name, columns=columns, rows=rows)


def _headers(ws: Any, name: str, problems: list[str]) -> list[str | None]:
    """The header row with spaces tidied; a header written twice is a problem."""
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
                f"(columns {column_letter(seen[clean])} and {column_letter(index)})"
            )
            raw_headers[index] = None
        else:
            seen[clean] = index
            raw_headers[index] = clean
    try:
        return get_excel_column_headers(raw_headers)
    except PyXFormError as exc:  # duplicates are caught above; this is a safety net
        problems.append(f"{name} sheet, row 1: {exc}")
        return []
