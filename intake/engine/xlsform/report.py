"""Problems and notices of one import, each located by sheet, row and column."""

from __future__ import annotations

import re

from intake.engine.xlsform.vocabulary import SHEETS, Use

# Problems are listed like the workbook reads: settings, survey, choices, then the rest.
_SHEET_ORDER = [sheet.name for sheet in SHEETS if sheet.use is Use.READ]


class Report:
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

    def sorted_problems(self) -> list[str]:
        """The problems in workbook order (sheet, then row; the order found within a row)."""
        return sorted(self.problems, key=problem_order)


def problem_order(problem: str) -> tuple[int, int]:
    """Sort key of a problem: its sheet (settings, survey, choices, others), then its row."""
    match = re.match(r"^(\w+) sheet(?:, row (\d+))?", problem)
    if not match:
        return (0, 0)
    known = match[1] in _SHEET_ORDER
    order = _SHEET_ORDER.index(match[1]) + 1 if known else len(_SHEET_ORDER) + 1
    return (order, int(match[2] or 0))
