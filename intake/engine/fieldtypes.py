"""The field types of a definition: what each accepts, stores, shows and maps to.

One FieldType per `type:` of docs/form-definitions.md. Code that treats types apart
asks the type (`fdef.kind.counted`, `fdef.kind.partial`, ...) instead of comparing
type names, so a new type is described here, plus its template partial in
templates/macros/fields/ and, if it needs one, a factory in intake.wtforms_adapter.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Literal

#: How a stored value is named for people: a choice's label, Yes/No, a place's name,
#: or the value itself.
Labels = Literal["choice", "yes_no", "place", "raw"]


@dataclass(frozen=True)
class XLSFormType:
    """How a type maps to XLSForm rows: data only, read and written by intake.engine.xlsform.

    Import: a row whose (case-folded) type is in `imports`, or a select command whose
    pyxform meaning is `select`, reads as this type. A row that reads as `base` with the
    appearance `appearance` is this type; `appearances` turns XLSForm appearances into
    ours. An `intake_type` column naming this type may turn a row that reads as one of
    `intake_type_from` (or as this type itself) into it.
    Export: the row's type is `export` (a select_* gets " <field name>" and " or_other");
    its appearance is `appearance`, or the XLSForm name of the field's own appearance;
    `intake_type` rows also get an intake_type column (ODK and Kobo see a text or
    select question; our import restores the type from the column).
    """

    export: str
    imports: tuple[str, ...] = ()
    select: str | None = None
    base: str | None = None
    appearance: str | None = None
    appearances: tuple[tuple[str, str], ...] = ()
    intake_type: bool = False
    intake_type_from: tuple[str, ...] = ()


@dataclass(frozen=True)
class FieldType:
    """One question type: its definition keys, stored format, labels, flags and renderings."""

    name: str
    #: What one stored answer value is: text, email, phone, integer, decimal, date,
    #: choice (one value), choices (a row per value), yes_no, yes, place (a slug);
    #: "" for types that take no answer.
    stored: str
    xlsform: XLSFormType
    #: templates/macros/fields/<partial>.html renders it (None: the page template does).
    partial: str | None
    #: The factory in intake.wtforms_adapter that makes its form field (None: no answer).
    wtforms: str | None
    labels: Labels = "raw"
    #: The only values it stores, in the order summaries list them.
    values: tuple[str, ...] = ()
    #: (appearance, partial) pairs of a choice type; the first is the default.
    appearances: tuple[tuple[str, str], ...] = ()
    #: Several values per answer (one stored row each).
    multiple: bool = False
    #: A choice type that may add "Other, please specify" (`other: true`).
    other: bool = False
    #: A choice type whose values may be language codes compared in reports.
    report_languages: bool = False
    #: "whole" or "number": a number type that takes `min` and `max`.
    bounds: Literal["whole", "number"] | None = None
    #: The default of `max_length`, for the types that take it.
    max_length: int | None = None
    #: False for types that show something but take no answer (notes, page breaks).
    answerable: bool = True
    #: Starts a new page; its label is the page's title.
    page_break: bool = False
    #: False where the answer may always be missing (a hidden field) or there is none.
    may_be_required: bool = True
    may_be_sensitive: bool = True
    #: Whether a `constraint` can check its answer.
    constrainable: bool = True
    #: False: the label may be left out (a hidden field is named by its name).
    needs_label: bool = True
    #: A link may fill it in through its query string when the definition allows it.
    prefillable: bool = False
    #: Summaries count its answers per option.
    counted: bool = False
    #: Summaries list its answers (free text).
    free_text: bool = False
    #: Can name a person whatever the question: anonymising removes it.
    identifying: bool = False
    #: Digits may be typed in any script (Arabic-Indic, Persian, ...).
    digits: bool = False
    #: Expressions (and static/intake-logic.js) read a typed "450,50" as 450.50.
    decimal_comma: bool = False
    #: Expressions read a typed "31.12.2025" as the stored 2025-12-31.
    dotted_date: bool = False
    #: Its value is computed from its `calculation` (from earlier answers), never typed.
    calculated: bool = False
    #: A group of questions answered once per entry (intake.engine.repeats); its own
    #: answer is the number of entries.
    repeat: bool = False
    #: `sensitive` when the definition does not say (a location tells where someone lives).
    sensitive_by_default: bool = False
    #: Takes a `default` value, its answer when nothing else gives one (a hidden field).
    takes_default: bool = False
    #: The options partial's layout class ("inline", "scale"); None: by the number of options.
    layout: str | None = None
    #: The attributes of its one-line input (the "input" partial), in the order written.
    html: tuple[tuple[str, str], ...] = ()

    @property
    def choice(self) -> bool:
        """A type with `choices` of its own (single, multiple choice, rating)."""
        return bool(self.appearances)

    @property
    def place(self) -> bool:
        """Its answer is a municipality, which decides the district that receives it."""
        return self.labels == "place"

    @property
    def keys(self) -> frozenset[str]:
        """The definition keys this type takes beyond those every field has."""
        keys: set[str] = set()
        if self.choice:
            keys |= {"choices", "choice_filter", "appearance"}
            keys |= {"other"} if self.other else set()
            keys |= {"report_languages"} if self.report_languages else set()
        if self.bounds:
            keys |= {"min", "max"}
        if self.max_length is not None:
            keys.add("max_length")
        if self.calculated:
            keys.add("calculation")
        if self.repeat:
            keys |= {"fields", "min_count", "max_count", "repeat_count"}
        if self.takes_default:
            keys.add("default")
        return frozenset(keys)

    def input_attributes(self, field_name: str, kiosk: bool = False) -> dict[str, str]:
        """Its input's attributes; a text question named like a name field gets the
        browser's autocomplete for it, and nothing autocompletes on a shared kiosk."""
        attrs = dict(self.html)
        if attrs.get("autocomplete") == "by-name":
            attrs["autocomplete"] = NAME_AUTOCOMPLETE.get(field_name, "off")
        if kiosk:
            attrs["autocomplete"] = "off"
        return attrs

    def partial_for(self, appearance: str | None) -> str | None:
        """The partial for a field of this type with `appearance` (choice types differ)."""
        return dict(self.appearances).get(appearance or "", self.partial)


def _types(*types: FieldType) -> Mapping[str, FieldType]:
    return MappingProxyType({t.name: t for t in types})


_TEXT_ROWS = ("text", "textarea")
#: The browser's autocomplete for text questions with these names.
NAME_AUTOCOMPLETE = {"first_name": "given-name", "last_name": "family-name", "name": "name"}

#: Every type, in the order docs/form-definitions.md and validation messages list them.
FIELD_TYPES: Mapping[str, FieldType] = _types(
    FieldType(
        "text",
        stored="text",
        xlsform=XLSFormType(
            "text",
            imports=("text", "string", "add text prompt", "q string"),
            intake_type_from=_TEXT_ROWS,
        ),
        partial="input",
        html=(("type", "text"), ("autocomplete", "by-name")),
        wtforms="text",
        max_length=200,
        prefillable=True,
        free_text=True,
        identifying=True,
    ),
    FieldType(
        "textarea",
        stored="text",
        xlsform=XLSFormType(
            "text", base="text", appearance="multiline", intake_type_from=_TEXT_ROWS
        ),
        partial="textarea",
        wtforms="textarea",
        max_length=4000,
        free_text=True,
        identifying=True,
    ),
    FieldType(
        "email",
        stored="email",
        xlsform=XLSFormType("text", intake_type=True, intake_type_from=_TEXT_ROWS),
        partial="input",
        html=(("type", "email"), ("autocomplete", "email"), ("dir", "ltr"), ("inputmode", "email")),
        wtforms="email",
        max_length=254,
        prefillable=True,
        identifying=True,
    ),
    FieldType(
        "phone",
        stored="phone",
        xlsform=XLSFormType(
            "text", imports=("phone number",), intake_type=True, intake_type_from=_TEXT_ROWS
        ),
        partial="input",
        html=(("type", "tel"), ("autocomplete", "tel"), ("dir", "ltr"), ("inputmode", "tel")),
        wtforms="phone",
        max_length=40,
        prefillable=True,
        identifying=True,
        digits=True,
    ),
    FieldType(
        "integer",
        stored="integer",
        xlsform=XLSFormType("integer", imports=("integer", "int", "add integer prompt", "q int")),
        partial="input",
        html=(("type", "text"), ("inputmode", "numeric"), ("dir", "ltr"), ("autocomplete", "off")),
        wtforms="integer",
        bounds="whole",
        prefillable=True,
        digits=True,
    ),
    FieldType(
        "decimal",
        stored="decimal",
        xlsform=XLSFormType("decimal", imports=("decimal", "add decimal prompt", "q decimal")),
        partial="input",
        html=(("type", "text"), ("inputmode", "decimal"), ("dir", "ltr"), ("autocomplete", "off")),
        wtforms="decimal",
        bounds="number",
        prefillable=True,
        digits=True,
        decimal_comma=True,
    ),
    FieldType(
        "date",
        stored="date",
        xlsform=XLSFormType("date", imports=("date", "add date prompt", "q date")),
        partial="input",
        html=(("type", "date"), ("dir", "ltr")),
        wtforms="date",
        prefillable=True,
        identifying=True,
        digits=True,
        dotted_date=True,
    ),
    FieldType(
        # A time of day, "14:30" (ODK's time question; no date, no time zone).
        "time",
        stored="time",
        xlsform=XLSFormType("time", imports=("time",)),
        partial="input",
        html=(("type", "time"), ("dir", "ltr"), ("autocomplete", "off")),
        wtforms="time",
        prefillable=True,
        digits=True,
    ),
    FieldType(
        # A place on the map as latitude and longitude: typed, or from the browser's
        # location when the person asks for it (static/intake.js).
        "geopoint",
        stored="geopoint",
        xlsform=XLSFormType("geopoint", imports=("geopoint", "location", "gps")),
        partial="geopoint",
        html=(("type", "text"), ("dir", "ltr"), ("inputmode", "decimal"), ("autocomplete", "off")),
        wtforms="geopoint",
        identifying=True,
        digits=True,
        sensitive_by_default=True,
    ),
    FieldType(
        "single_choice",
        stored="choice",
        xlsform=XLSFormType(
            "select_one",
            select="select one",
            appearances=(("minimal", "select"), ("autocomplete", "select")),
        ),
        partial="options",
        wtforms="choice",
        labels="choice",
        appearances=(("radio", "options"), ("select", "select")),
        other=True,
        report_languages=True,
        prefillable=True,
        counted=True,
    ),
    FieldType(
        "multiple_choice",
        stored="choices",
        xlsform=XLSFormType("select_multiple", select="select all that apply"),
        partial="options",
        wtforms="choices",
        labels="choice",
        appearances=(("checkbox", "options"),),
        multiple=True,
        other=True,
        report_languages=True,
        counted=True,
    ),
    FieldType(
        "rating",
        stored="choice",
        xlsform=XLSFormType(
            "select_one",
            base="single_choice",
            appearance="likert",
            intake_type_from=("single_choice",),
        ),
        partial="options",
        wtforms="choice",
        labels="choice",
        appearances=(("scale", "options"),),
        counted=True,
        layout="scale",
    ),
    FieldType(
        "yes_no",
        stored="yes_no",
        xlsform=XLSFormType("select_one", intake_type=True, intake_type_from=("single_choice",)),
        partial="options",
        wtforms="yes_no",
        labels="yes_no",
        values=("yes", "no"),
        counted=True,
        layout="inline",
    ),
    FieldType(
        "consent",
        stored="yes",
        xlsform=XLSFormType(
            "acknowledge",
            imports=("acknowledge", "add acknowledge prompt", "q acknowledge", "trigger"),
        ),
        partial="consent",
        wtforms="consent",
        labels="yes_no",
        values=("yes",),
        may_be_sensitive=False,
        counted=True,
    ),
    FieldType(
        "municipality",
        stored="place",
        xlsform=XLSFormType(
            "text", intake_type=True, intake_type_from=(*_TEXT_ROWS, "single_choice")
        ),
        partial="select",
        wtforms="places",
        labels="place",
        may_be_sensitive=False,
        prefillable=True,
        counted=True,
    ),
    FieldType(
        "note",
        stored="",
        xlsform=XLSFormType("note", imports=("note", "add note prompt", "q note")),
        partial="note",
        wtforms=None,
        answerable=False,
        may_be_required=False,
        may_be_sensitive=False,
        constrainable=False,
    ),
    FieldType(
        "hidden",
        stored="text",
        xlsform=XLSFormType("hidden", imports=("hidden",)),
        partial="hidden",
        wtforms="text",
        may_be_required=False,
        may_be_sensitive=False,
        constrainable=False,
        needs_label=False,
        prefillable=True,
        identifying=True,
        takes_default=True,
    ),
    FieldType(
        # XLSForm's calculate row: a value made from earlier answers, stored like one.
        "calculate",
        stored="text",
        xlsform=XLSFormType("calculate", imports=("calculate",)),
        partial="calculate",
        wtforms="text",
        may_be_required=False,
        may_be_sensitive=False,
        constrainable=False,
        needs_label=False,
        calculated=True,
    ),
    FieldType(
        # XLSForm's begin repeat ... end repeat: its questions once per entry.
        "repeat",
        stored="integer",
        xlsform=XLSFormType("begin_repeat"),
        partial="repeat",
        wtforms="count",
        may_be_required=False,
        may_be_sensitive=False,
        constrainable=False,
        repeat=True,
    ),
    FieldType(
        # A group with the field-list appearance: ODK Collect shows it on one screen.
        "page",
        stored="",
        xlsform=XLSFormType("begin_group", appearance="field-list"),
        partial=None,
        wtforms=None,
        answerable=False,
        page_break=True,
        may_be_required=False,
        may_be_sensitive=False,
        constrainable=False,
    ),
)


def name_list(types: Iterable[FieldType]) -> str:
    """Type names for a message: 'integer and decimal', 'text, textarea, email and phone'."""
    listed = [t.name for t in types]
    return ", ".join(listed[:-1]) + " and " + listed[-1] if len(listed) > 1 else "".join(listed)


# --- XLSForm lookups (derived from the data above) ------------------------------------


def xlsform_simple_types() -> dict[str, str]:
    """Case-folded XLSForm type -> our type, for the types without a choice list."""
    return {alias: t.name for t in FIELD_TYPES.values() for alias in t.xlsform.imports}


def xlsform_select_types() -> dict[str, str]:
    """pyxform's meaning of a select command ('select one', ...) -> our type."""
    return {t.xlsform.select: t.name for t in FIELD_TYPES.values() if t.xlsform.select}


def xlsform_by_appearance(base: str, appearance: str) -> str | None:
    """The type a row that reads as `base` becomes with an XLSForm appearance, if any."""
    return next(
        (
            t.name
            for t in FIELD_TYPES.values()
            if t.xlsform.base == base and t.xlsform.appearance == appearance
        ),
        None,
    )


def xlsform_intake_types(row_type: str) -> set[str]:
    """The types an `intake_type` column may give a row that reads as `row_type`."""
    return {row_type} | {
        t.name for t in FIELD_TYPES.values() if row_type in t.xlsform.intake_type_from
    }


def xlsform_export(fdef: Mapping) -> tuple[str, str | None]:
    """The XLSForm type and appearance written for a normalised field (not for a page)."""
    kind = FIELD_TYPES[fdef["type"]]
    xtype = kind.xlsform.export
    if xtype.startswith("select_"):
        xtype += f" {fdef['name']}" + (" or_other" if kind.choice and fdef.get("other") else "")
    appearance = kind.xlsform.appearance
    if appearance is None and fdef.get("appearance"):
        appearance = next(
            (theirs for theirs, ours in kind.xlsform.appearances if ours == fdef["appearance"]),
            None,
        )
    return xtype, appearance
