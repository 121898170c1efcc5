"""The XLSForm vocabulary: every sheet and column name we know, and what we do with each.

Reading, the notices and problems about sheets and columns, and the export all look names
up here, so that a column is added, renamed or dropped in one place. Survey column names
are the ones pyxform hands back after its header aliases ("caption" is already "label",
"relevance" already "bind::relevant").
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from enum import Enum
from typing import Any

from intake.engine.validation import RECORD_FACTS

SURVEY = "survey"
CHOICES = "choices"
SETTINGS = "settings"

#: Our own columns start with this; ODK and KoboToolbox ignore columns they do not know.
OWN_PREFIX = "intake_"

#: The notice for a column that is not in the table.
UNKNOWN_REASON = "not used here, left out"

#: Privacy facts kept in intake_privacy_<key> settings columns.
PRIVACY_FACT_KEYS = ("retention_days", "on_expiry", *RECORD_FACTS)
#: intake_privacy_<key> -> the privacy fact it holds.
PRIVACY_FACT_COLUMNS = {f"intake_privacy_{key}": key for key in PRIVACY_FACT_KEYS}


class Use(Enum):
    """What the import does with a sheet or a column."""

    READ = "read"  # mapped into the definition, or refused or dropped row by row in code
    REFUSED = "refused"  # anything in it stops the import; `reason` is the problem
    LEFT_OUT = "left out"  # not read; one notice with `reason` says so
    IGNORED = "ignored"  # not read, and not worth a notice


class Languages(Enum):
    """Whether a column is written once per language, "label::Deutsch (de)"."""

    NONE = "none"  # one value; a '::language' part is not read
    OPTIONAL = "optional"  # per language; without one it is the default language (or all)
    REQUIRED = "required"  # read only with a language part


class Cell(Enum):
    """What a cell of the column holds, where several columns are read alike."""

    WORD = "word"  # read by its own code
    TEXT = "text"  # a text shown to people, per language
    EXPRESSION = "expression"  # an XLSForm expression (required: also yes or no)
    YES_NO = "yes_no"
    NUMBER = "number"


class Export(Enum):
    """Whether write_xlsform writes the column."""

    NO = "no"
    ALWAYS = "always"
    WHEN_SET = "when set"  # when a field (or the form) has a value for it


@dataclass(frozen=True)
class SheetName:
    """One sheet name of an XLSForm workbook."""

    name: str
    use: Use
    reason: str = ""


@dataclass(frozen=True)
class Column:
    """One column an XLSForm sheet may have, and what Intake does with it."""

    sheet: str
    key: str
    use: Use = Use.READ
    reason: str = ""
    #: pyxform's header tokens for it when they are not just the key ("bind", "readonly").
    pyxform: tuple[str, ...] = ()
    #: Other spellings read as this column.
    aliases: tuple[str, ...] = ()
    languages: Languages = Languages.NONE
    cell: Cell = Cell.WORD
    #: pyxform matches the name in any case and spacing ("Guidance Hint").
    any_case: bool = True
    #: A sheet with rows must have this column.
    needed: bool = False
    export: Export = Export.NO

    @property
    def own(self) -> bool:
        """One of our columns, written by write_xlsform for a lossless re-import."""
        return self.key.startswith(OWN_PREFIX)

    @property
    def definition_key(self) -> str:
        """The key in our definition: intake_personal -> personal, hint -> hint."""
        return self.key.removeprefix(OWN_PREFIX)


# The sheets we read come first, in the order their problems are listed.
SHEETS: tuple[SheetName, ...] = (
    SheetName(SETTINGS, Use.READ),
    SheetName(SURVEY, Use.READ),
    SheetName(CHOICES, Use.READ),
    SheetName("external_choices", Use.LEFT_OUT, "not supported, left out"),
    SheetName(
        "entities",
        Use.REFUSED,
        "entities (ODK Central datasets) are not supported; remove the entities sheet",
    ),
    SheetName("osm", Use.LEFT_OUT, "not supported, left out"),
)


def _text(sheet: str, key: str, use: Use = Use.READ, reason: str = "", **more: Any) -> Column:
    """A column with a text per language ("label::Deutsch (de)")."""
    return Column(sheet, key, use, reason, languages=Languages.OPTIONAL, cell=Cell.TEXT, **more)


def _own(key: str, cell: Cell = Cell.WORD) -> Column:
    """One of our survey columns: read back, written when a field needs it."""
    return Column(SURVEY, OWN_PREFIX + key, cell=cell, export=Export.WHEN_SET)


def _privacy_fact(name: str) -> Column:
    """An intake_privacy_<key> settings column; record facts may be per language."""
    per_language = PRIVACY_FACT_COLUMNS[name] in RECORD_FACTS
    languages = Languages.OPTIONAL if per_language else Languages.NONE
    return Column(SETTINGS, name, languages=languages, export=Export.WHEN_SET)


# In each sheet the order is the order of the exported columns, and the order in which
# a row's columns are read (which orders the problems and notices of one row).
COLUMNS: tuple[Column, ...] = (
    Column(SURVEY, "type", export=Export.ALWAYS),
    Column(SURVEY, "name", export=Export.ALWAYS),
    _text(SURVEY, "label", export=Export.ALWAYS),
    _text(SURVEY, "hint", export=Export.WHEN_SET),
    Column(
        SURVEY,
        "required",
        pyxform=("bind", "required"),
        cell=Cell.EXPRESSION,
        export=Export.WHEN_SET,
    ),
    Column(
        SURVEY,
        "relevant",
        pyxform=("bind", "relevant"),
        cell=Cell.EXPRESSION,
        export=Export.WHEN_SET,
    ),
    Column(
        SURVEY,
        "constraint",
        pyxform=("bind", "constraint"),
        cell=Cell.EXPRESSION,
        export=Export.WHEN_SET,
    ),
    _text(
        SURVEY, "constraint_message", pyxform=("bind", "jr:constraintMsg"), export=Export.WHEN_SET
    ),
    Column(SURVEY, "choice_filter", cell=Cell.EXPRESSION, export=Export.WHEN_SET),
    Column(SURVEY, "appearance", pyxform=("control", "appearance"), export=Export.ALWAYS),
    _own("type"),
    _own("personal", Cell.YES_NO),
    _own("sensitive", Cell.YES_NO),
    _own("prefill", Cell.YES_NO),
    _own("report_languages"),
    _own("max_length", Cell.NUMBER),
    _own("min", Cell.NUMBER),
    _own("max", Cell.NUMBER),
    _own("min_count", Cell.NUMBER),
    _own("max_count", Cell.NUMBER),
    Column(SURVEY, "parameters"),
    Column(SURVEY, "disabled"),
    Column(SURVEY, "default", export=Export.WHEN_SET),
    Column(SURVEY, "read_only", pyxform=("bind", "readonly")),
    Column(
        SURVEY,
        "calculation",
        pyxform=("bind", "calculate"),
        cell=Cell.EXPRESSION,
        export=Export.WHEN_SET,
    ),
    Column(SURVEY, "trigger", Use.REFUSED, "triggers (recalculating on change) are not supported"),
    _text(SURVEY, "guidance_hint", Use.LEFT_OUT, "guidance hints are not shown, left out"),
    _text(
        SURVEY,
        "required_message",
        Use.LEFT_OUT,
        "custom required messages are not supported; the standard one is shown",
        pyxform=("bind", "jr:requiredMsg"),
    ),
    _text(SURVEY, "media", Use.LEFT_OUT, "pictures, sound and video are not used, left out"),
    Column(
        SURVEY,
        "repeat_count",
        pyxform=("control", "jr:count"),
        cell=Cell.EXPRESSION,
        export=Export.WHEN_SET,
    ),
    Column(CHOICES, "list_name", aliases=("list name",), needed=True, export=Export.ALWAYS),
    Column(CHOICES, "name", needed=True, export=Export.ALWAYS),
    _text(CHOICES, "label", export=Export.ALWAYS),
    # Only found as pyxform splits and aliases it ("media::image", "image"), never as
    # "Media": that is a column of choice data.
    Column(
        CHOICES,
        "media",
        Use.LEFT_OUT,
        "pictures, sound and video are not used, left out",
        aliases=("image",),
        any_case=False,
    ),
    Column(SETTINGS, "form_title", aliases=("set_form_title",), export=Export.ALWAYS),
    Column(SETTINGS, "form_id", aliases=("set_form_id", "id_string"), export=Export.ALWAYS),
    Column(SETTINGS, "default_language", export=Export.ALWAYS),
    # "yes": a choice value may come twice in a list (ODK then stores one answer for both).
    Column(SETTINGS, "allow_choice_duplicates", export=Export.WHEN_SET),
    # We write style "pages" (Enketo then shows one group per page) but read no layout.
    Column(SETTINGS, "style", Use.IGNORED, export=Export.WHEN_SET),
    Column(SETTINGS, "version", Use.IGNORED),  # we version imports ourselves
    # XLSForm has one title and no intro or privacy notice; these keep ours.
    Column(SETTINGS, "intake_title", languages=Languages.REQUIRED, export=Export.WHEN_SET),
    Column(SETTINGS, "intake_intro", languages=Languages.REQUIRED, export=Export.WHEN_SET),
    Column(SETTINGS, "intake_privacy", languages=Languages.REQUIRED, export=Export.WHEN_SET),
    Column(SETTINGS, "intake_privacy_version", export=Export.WHEN_SET),
    *(_privacy_fact(name) for name in PRIVACY_FACT_COLUMNS),
)


def columns(sheet: str, use: Use | None = None, cell: Cell | None = None) -> Iterator[Column]:
    """The columns of one sheet in table order, optionally only those of a use or cell."""
    for column in COLUMNS:
        if column.sheet != sheet or (use is not None and column.use is not use):
            continue
        if cell is None or column.cell is cell:
            yield column


def _spellings(sheet: str) -> dict[str, Column]:
    """Every name and alias of a sheet's columns -> the column."""
    found: dict[str, Column] = {}
    for column in columns(sheet):
        for name in (column.key, *column.aliases):
            found[name] = column
    return found


SURVEY_COLUMNS = _spellings(SURVEY)
CHOICE_COLUMNS = _spellings(CHOICES)
SETTINGS_COLUMNS = _spellings(SETTINGS)


def _headers(spellings: dict[str, Column]) -> frozenset[str]:
    """The names pyxform is told a sheet's headers may have, to match in any case."""
    return frozenset(
        name for name, column in spellings.items() if not column.pyxform and column.any_case
    )


#: pyxform's "header_columns": bind and control columns reach us as their tokens.
SURVEY_HEADERS = _headers(SURVEY_COLUMNS)
CHOICE_HEADERS = _headers(CHOICE_COLUMNS)
#: pyxform's bind and control attributes -> our survey column key.
PYXFORM_ATTRIBUTES: dict[tuple[str, str], str] = {
    (column.pyxform[0], column.pyxform[1]): column.key
    for column in columns(SURVEY)
    if column.pyxform
}
#: The texts we keep per language (label, hint, constraint_message).
TEXTS = tuple(column.key for column in columns(SURVEY, Use.READ, Cell.TEXT))
#: The survey columns read as texts per language, kept or not.
TRANSLATABLE = frozenset(
    column.key for column in columns(SURVEY) if column.languages is not Languages.NONE
)
#: The survey columns with an expression (required may also be yes or no).
EXPRESSIONS = tuple(column.key for column in columns(SURVEY, Use.READ, Cell.EXPRESSION))
#: Spellings that a column of choice data cannot have: they read back as something else.
CHOICE_RESERVED = frozenset(CHOICE_COLUMNS)
SHEET_NAMES = tuple(sheet.name for sheet in SHEETS)


def survey_column(key: str) -> Column | None:
    """The survey column with this key, if we know it."""
    return SURVEY_COLUMNS.get(key)


def settings_column(key: str) -> Column | None:
    """The settings column with this name or alias, if we know it."""
    return SETTINGS_COLUMNS.get(key)


def reason(column: Column | None) -> str:
    """The notice for a column that is left out."""
    return column.reason if column is not None and column.reason else UNKNOWN_REASON
