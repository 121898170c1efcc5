"""read_xlsform and load_xlsform: from an .xlsx XLSForm to our definition.

pyxform reads the workbook (its openpyxl backend, header aliases and expression lexer),
but we do the mapping ourselves rather than through pyxform's workbook_to_json: that
stops at the first problem and loses the rows, while a coordinator needs every problem
at once, each with its sheet, row and column.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from intake.engine.validation import DefinitionError, validate
from intake.engine.xlsform.report import Report, problem_order
from intake.engine.xlsform.settings import read_settings
from intake.engine.xlsform.survey import Result, read_survey
from intake.engine.xlsform.vocabulary import CHOICES, SETTINGS
from intake.engine.xlsform.workbook import check_sheets, read_workbook


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


def _read(path: Path) -> Result:
    """Read the workbook and map it; raise DefinitionError with every located problem."""
    source = path.name
    sheets, found = read_workbook(path, source)
    report = Report()
    survey = check_sheets(sheets, found, source, report)
    settings = read_settings(sheets.get(SETTINGS), path, report)
    result = read_survey(survey, sheets.get(CHOICES), settings, report)
    if report.problems:
        # The rows that could be read are checked too, so that one round lists every
        # problem (a required note, a message without its constraint, ...), not only
        # the reading problems; what a refused row's absence causes is left out.
        known = {problem_order(problem) for problem in report.problems}
        later = [p for p in _row_problems(result, path.name) if problem_order(p) not in known]
        raise DefinitionError(source, sorted(report.problems + later, key=problem_order))
    return result


def _row_problems(result: Result, source: str) -> list[str]:
    """Validation problems of the rows read, located; none about other rows' absence (a
    row that already has a reading problem is left to that one)."""
    if not result.raw.get("fields"):
        return []
    try:
        validate(result.raw, source)
    except DefinitionError as exc:
        return [
            _locate(problem, result)
            for problem in exc.problems
            if problem.startswith("field '") and "no such field" not in problem
        ]
    return []


def _locate(problem: str, result: Result) -> str:
    """Rewrite "field 'x' (fields[3])" in a validation message into its survey row."""
    match = re.match(
        r"^(?:field '(?P<name>[^']*)'(?: \(fields\[(?P<i1>\d+)\](?P<inner>\.fields\[\d+\])?\))?"
        r"|fields\[(?P<i2>\d+)\])"
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
    if name in result.inner_rows and (match["inner"] or index is None):
        return _located(result, name, result.inner_rows[name], match["rest"])
    if index is None and name is not None:
        index = next((i for i, f in enumerate(fields) if f.get("name") == name), None)
    if index is None or index >= len(result.field_rows):
        return problem
    return _located(
        result, name or fields[index].get("name"), result.field_rows[index], match["rest"]
    )


def _located(result: Result, name: str, row: int, rest: str) -> str:
    """A problem of field `name` in survey row `row` (or of one of its choices)."""
    label = f"field '{name}'"
    if name in result.original_names:
        label += f", '{result.original_names[name]}' in the sheet"
    choice = re.match(r"^: choices\[(\d+)\](.*)$", rest, re.DOTALL)
    rows = result.choice_rows.get(name or "", [])
    if choice and int(choice[1]) < len(rows):
        return f"choices sheet, row {rows[int(choice[1])]} (choice list of {label}){choice[2]}"
    return f"survey sheet, row {row} ({label}){rest}"
