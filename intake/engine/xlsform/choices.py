"""The choices sheet: every choice list with its rows, values checked on the way."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Container
from typing import Any

from intake.engine.validation import VALUE_RE
from intake.engine.xlsform import vocabulary
from intake.engine.xlsform.columns import texts
from intake.engine.xlsform.report import Report
from intake.engine.xlsform.vocabulary import CHOICES
from intake.engine.xlsform.workbook import Sheet

#: A list's choices with their row numbers, in sheet order.
ChoiceLists = dict[str, list[tuple[int, dict[str, Any]]]]

_NEEDED = tuple(column.key for column in vocabulary.columns(CHOICES) if column.needed)
_MEDIA_REASON = vocabulary.reason(vocabulary.CHOICE_COLUMNS["media"])


def read_choices(sheet: Sheet | None, report: Report, duplicates: bool = False) -> ChoiceLists:
    """Read every choice list of the (classified) choices sheet; `duplicates`: the
    settings allow a value twice in a list (see _duplicate)."""
    lists: ChoiceLists = {}
    if sheet is None:
        return lists
    keys = {c.key for c in sheet.columns}
    missing = [key for key in _NEEDED if key not in keys]
    if sheet.rows and missing:
        report.add("choices sheet, row 1", f"the column {' and '.join(missing)} is missing")
        return lists
    media_used: set[str] = set()
    seen: dict[tuple[str, str], int] = {}
    renamed: dict[tuple[str, str], str] = {}  # (list, our value) -> the sheet's name
    taken = _values_of_ours(sheet)
    for number, row in sheet.rows:
        list_name, name, data = _cells(sheet, row, media_used)
        where = f"choices sheet, row {number}"
        if list_name is None:
            if name is not None:
                report.add(f"{where}, column 'list_name'", "the list name is missing")
            continue
        if name is not None and not VALUE_RE.match(name):
            name = _our_value(name, list_name, number, seen, taken, renamed, report)
        if not _value_fits(name, list_name, number, seen, where, report, duplicates):
            continue
        choice: dict[str, Any] = {"value": name}
        if (list_name, name) in renamed:
            choice["original"] = renamed[(list_name, name)]
        label = texts(sheet, row, "label")
        if label:
            choice["label"] = label
        if data:
            choice["data"] = data
        first = seen[(list_name, name)]
        if first != number:  # allowed twice by the settings (_value_fits said so)
            earlier = next(c for n, c in lists[list_name] if n == first)
            if earlier.get("data") == choice.get("data"):
                _duplicate(earlier, choice, list_name, first, where, report)
                continue
            # The same name with other filter columns (a county of that name in two
            # states): a value of its own, the sheet's name kept as its original.
            choice["original"] = renamed.get((list_name, name), name)
            choice["value"] = _unique(name, list_name, number, seen)
            report.notice(
                where,
                f"the value '{name}' is already in list '{list_name}' (row {first}) with other "
                f"filter columns: this one is stored as '{choice['value']}'",
            )
        lists.setdefault(list_name, []).append((number, choice))
    for header in sorted(media_used):
        report.notice(f"choices sheet, column '{header}'", _MEDIA_REASON)
    return lists


def _values_of_ours(sheet: Sheet) -> set[tuple[str, str]]:
    """(list, name) of the names that are values of ours already: a value made for a
    name that is not must not take one of them."""
    taken = set()
    for _number, row in sheet.rows:
        list_name, name, _data = _cells(sheet, row, set())
        if list_name is not None and name is not None and VALUE_RE.match(name):
            taken.add((list_name, name))
    return taken


def _our_value(
    name: str,
    list_name: str,
    number: int,
    seen: dict[tuple[str, str], int],
    taken: set[tuple[str, str]],
    renamed: dict[tuple[str, str], str],
    report: Report,
) -> str:
    """A name ODK accepts but our values do not ("no school", "Ärztin", "_x") as one of
    ours, new in its list (`taken`: the list's names that are values of ours already);
    the sheet's name is kept (the choice's `original`). The same name again
    (allow_choice_duplicates) gets the same value."""
    for (in_list, value), original in renamed.items():
        if in_list == list_name and original == name:
            return value
    folded = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    value = re.sub(r"[^A-Za-z0-9_.-]+", "_", folded).strip("_.-")[:60] or f"choice_{number}"
    if (list_name, value) in seen or (list_name, value) in taken or (list_name, value) in renamed:
        value = _unique(value, list_name, number, seen, taken)
    renamed[(list_name, value)] = name
    report.notice(f"choices sheet, row {number}", f"the value '{name}' becomes '{value}'")
    return value


def _unique(
    value: str,
    list_name: str,
    number: int,
    seen: dict[tuple[str, str], int],
    taken: Container[tuple[str, str]] = (),
) -> str:
    """`value` with _2, _3, ... until the list has no such value; marked as seen."""
    n = 2
    while (list_name, f"{value[:60]}_{n}") in seen or (list_name, f"{value[:60]}_{n}") in taken:
        n += 1
    new = f"{value[:60]}_{n}"
    seen[(list_name, new)] = number
    return new


def renamed_values(lists: ChoiceLists) -> dict[str, str]:
    """A name the sheet gave a choice -> our value, for the names that had to change
    (expressions compare answers with them: `selected(${q}, 'no school')`); a name made
    into different values in different lists is left as written."""
    found: dict[str, set[str]] = {}
    for rows in lists.values():
        for _number, choice in rows:
            original = choice.get("original")
            if original is not None and not VALUE_RE.match(original):
                found.setdefault(original, set()).add(choice["value"])
    return {name: values.pop() for name, values in found.items() if len(values) == 1}


def _cells(
    sheet: Sheet, row: dict[str, str], media_used: set[str]
) -> tuple[str | None, str | None, dict[str, str]]:
    """A row's list name, choice value and data columns; note the media columns used."""
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
    return list_name, name, data


def _value_fits(
    name: str | None,
    list_name: str,
    number: int,
    seen: dict[tuple[str, str], int],
    where: str,
    report: Report,
    duplicates: bool = False,
) -> bool:
    """Whether the choice has a value we can use, once in its list."""
    if name is None:
        report.add(f"{where}, column 'name'", "the choice has no name (value)")
        return False
    if not VALUE_RE.match(name):
        report.add(
            f"{where}, column 'name'",
            f"the value '{name}' may only use A-Z, a-z, 0-9, '_', '.', '-' "
            "(starting with a letter or digit, at most 64)",
        )
        return False
    first = seen.setdefault((list_name, name), number)
    if first != number and duplicates:
        return True  # read_choices decides, with the rows' filter columns
    if first != number:
        report.add(
            f"{where}, column 'name'",
            f"the value '{name}' is already in list '{list_name}' (row {first}); "
            "a value may come twice only with allow_choice_duplicates: yes (settings sheet)",
        )
        return False
    return True


def _duplicate(
    earlier: dict[str, Any],
    choice: dict[str, Any],
    list_name: str,
    first: int,
    where: str,
    report: Report,
) -> None:
    """A value listed again under allow_choice_duplicates: the same answer for ODK.

    With the same filter columns it is offered once (the first row's label); with other
    ones (the same county name in two states) both would have to be offered, each where
    its filter holds, which Intake cannot do yet: refused, saying so.
    """
    value = choice["value"]
    if earlier.get("data") == choice.get("data"):
        report.notice(
            where,
            f"the value '{value}' is already in list '{list_name}' (row {first}); with "
            "allow_choice_duplicates an answer cannot tell them apart, so it is offered once",
        )
        return
    report.add(
        f"{where}, column 'name'",
        f"the value '{value}' is already in list '{list_name}' (row {first}) with other "
        "filter columns; choices that share a value but not their filter are not supported",
    )
