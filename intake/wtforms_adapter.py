"""The adapter from engine definitions to Flask-WTF forms, validated with their logic.

Each field type names its factory here (intake.engine.fieldtypes `wtforms`). WTForms
parses the input and checks each answer's own format (a number, an email
address, ...). Whether a question must be answered, whether it is shown at all, its
constraint and its choice filter depend on other answers; `validate_fields` decides
those with intake.engine.logic, for the fields of one page or of the whole form. Every
message comes from our gettext catalogs in the respondent's language.
"""

from __future__ import annotations

import functools
import re
import unicodedata
import weakref
from collections.abc import Iterable
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Protocol

import phonenumbers
from email_validator import EmailNotValidError, validate_email
from flask_babel import get_locale, ngettext
from flask_babel import gettext as _
from flask_wtf import FlaskForm
from flask_wtf.csrf import _FlaskFormCSRF  # the class FlaskForm.Meta uses
from markupsafe import escape
from wtforms import (
    BooleanField,
    Field,
    HiddenField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms import i18n as wtforms_i18n
from wtforms.csrf.core import CSRFTokenField
from wtforms.fields.choices import SelectChoice
from wtforms.fields.core import UnboundField
from wtforms.validators import StopValidation, ValidationError

from intake.engine import logic
from intake.engine.definition import FieldDef, FormDefinition

KEY_RE = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
PHONE_REGION = "DE"
#: Longest answer of a field without its own `max_length` (hidden, numbers, dates, choices).
DEFAULT_LIMIT = 200


#: Bound fields per unbound field (of the cached form classes), copied for each form.
_PROTOTYPES: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


class _LazyToken:
    """A CSRF token made when a page shows it: a POST that is stored shows none, so it
    signs none (Flask-WTF makes one for every form it builds)."""

    def __init__(self, make) -> None:
        self._make, self._token = make, None

    def __str__(self) -> str:
        if self._token is None:
            self._token = self._make()
        return self._token

    def __html__(self) -> str:
        return str(escape(str(self)))


class _CSRF(_FlaskFormCSRF):
    """Flask-WTF's CSRF check, with the token for the page made only when shown."""

    def generate_csrf_token(self, csrf_token_field: Any) -> Any:
        make = super().generate_csrf_token
        return _LazyToken(lambda: make(csrf_token_field))


class PublicForm(FlaskForm):
    """Base class for respondent forms: the carried link context, key and page."""

    idempotency_key = HiddenField()
    district = HiddenField()
    src = HiddenField()
    page = HiddenField()
    #: The logic state of the latest validation (validate_fields), for clean_answers.
    logic_state: logic.State | None = None

    class Meta:
        csrf_class = _CSRF

        def bind_field(self, form: Any, unbound_field: UnboundField, options: dict) -> Field:
            """A copy of the field as bound once per form class, name and language.

            Binding builds the field (its label, validators, flags, choices) from the
            class's unbound field, which never changes, on every request; a copy of one
            bound before costs far less. Each copy gets its own data, errors and this
            form's meta when it is processed and checked; the CSRF field is made anew,
            as it belongs to one form.
            """
            if issubclass(unbound_field.field_class, CSRFTokenField):
                return super().bind_field(form, unbound_field, options)
            key = (options.get("name"), options.get("prefix"), options.get("translations"))
            bound = _PROTOTYPES.setdefault(unbound_field, {})
            prototype = bound.get(key)
            if prototype is None:
                prototype = bound[key] = super().bind_field(form, unbound_field, options)
            # Not copy.copy: a Field made without `_form` turns into an UnboundField.
            field = object.__new__(type(prototype))
            field.__dict__.update(prototype.__dict__)
            field.meta = form.meta
            return field

        def get_translations(self, form: Any) -> Any:
            # WTForms' own messages (the CSRF check's) in the page's language; Flask-WTF
            # would read that catalog from disk on every request.
            return _wtforms_catalog(str(get_locale()))


@functools.lru_cache(maxsize=32)
def _wtforms_catalog(locale: str) -> Any:
    return wtforms_i18n.get_translations([locale, "en"])


def build_form(
    definition: FormDefinition,
    lang: str,
    municipalities: tuple[tuple[str, tuple[tuple[str, str], ...]], ...],
    place_required: bool = False,
    **kwargs: Any,
) -> PublicForm:
    """Create the WTForms form for `definition` with labels in `lang`.

    `municipalities` holds (district name, ((slug, name), ...)) groups (as
    storage.districts.municipality_groups makes them, hashable: the form class is kept
    per pick list); it is the pick list of a municipality field, already narrowed to
    the link's district.
    `place_required` makes that field required: without a district in the link, the
    answer decides which district's office receives the response.
    """
    form = _form_class(definition, lang, municipalities)(**kwargs)
    form.definition = definition
    form.lang = lang
    form.place_required = place_required
    return form


#: Form classes per parsed definition (storage.forms shares one per version and process)
#: and per language, catalog language and pick list of places; a class holds only
#: unbound fields, so requests share it and each gets its own bound instance.
_CLASSES: weakref.WeakKeyDictionary[FormDefinition, dict[tuple, type[PublicForm]]] = (
    weakref.WeakKeyDictionary()
)


def _form_class(definition: FormDefinition, lang: str, municipalities) -> type[PublicForm]:
    key = (lang, str(get_locale()), municipalities)  # storage.districts makes it hashable
    classes = _CLASSES.setdefault(definition, {})
    form_class = classes.get(key)
    if form_class is None:
        attrs = {f.name: _make_field(f, lang, municipalities) for f in definition.answer_inputs}
        name = f"Form_{definition.slug.replace('-', '_')}"
        form_class = classes[key] = type(name, (PublicForm,), attrs)
    return form_class


def _make_field(fdef: FieldDef, lang: str, municipalities) -> Field:
    """One unbound WTForms field with the checks of its own format."""
    factory = FACTORIES[fdef.kind.wtforms or ""]  # answer fields all have one
    return factory(fdef, fdef.label(lang).text, lang, municipalities)


class Factory(Protocol):
    """Makes the unbound field of one type: (field, label, language, pick list of places)."""

    def __call__(self, fdef: FieldDef, label: str, lang: str, municipalities) -> Field: ...


def _line(fdef: FieldDef, label: str, checks: list[Any]) -> Field:
    """A one-line text input; `checks` read its format (and set the stored `clean` value)."""
    filters = [_strip, _ascii_digits] if fdef.kind.digits else [_strip]
    return StringField(label, validators=[Optional(), *checks], filters=filters)


def _text(fdef: FieldDef, label: str, lang: str, municipalities) -> Field:
    return _line(fdef, label, [MaxLength(answer_limit(fdef))])


def _email(fdef: FieldDef, label: str, lang: str, municipalities) -> Field:
    return _line(fdef, label, [MaxLength(answer_limit(fdef)), Email()])


def _phone(fdef: FieldDef, label: str, lang: str, municipalities) -> Field:
    return _line(fdef, label, [MaxLength(answer_limit(fdef)), Phone()])


def _integer(fdef: FieldDef, label: str, lang: str, municipalities) -> Field:
    return _line(fdef, label, [Integer(*fdef.bounds)])


def _decimal(fdef: FieldDef, label: str, lang: str, municipalities) -> Field:
    return _line(fdef, label, [Number(*fdef.bounds)])


def _date(fdef: FieldDef, label: str, lang: str, municipalities) -> Field:
    return _line(fdef, label, [Date()])


def _time(fdef: FieldDef, label: str, lang: str, municipalities) -> Field:
    return _line(fdef, label, [Time()])


def _geopoint(fdef: FieldDef, label: str, lang: str, municipalities) -> Field:
    return _line(fdef, label, [MaxLength(DEFAULT_LIMIT), Geopoint()])


def _textarea(fdef: FieldDef, label: str, lang: str, municipalities) -> Field:
    return TextAreaField(
        label, validators=[Optional(), MaxLength(fdef.max_length)], filters=[_strip]
    )


def _choice(fdef: FieldDef, label: str, lang: str, municipalities) -> Field:
    """One of the definition's choices: radio buttons, or a list with `appearance: select`."""
    choices = _choices(fdef, lang)
    cls = SelectField if fdef.appearance == "select" else RadioField
    if cls is SelectField:
        choices = [SelectChoice("", _("Please choose"))] + choices
    return cls(label, choices=choices, validators=[Optional(), OneOf()], validate_choice=False)


def _places(fdef: FieldDef, label: str, lang: str, municipalities) -> Field:
    """The municipality, from the pick list of the link's districts."""
    # One district: a plain list. Several: grouped by district (<optgroup>).
    several = len(municipalities) > 1
    choices = [SelectChoice("", _("Please choose"))] + [
        SelectChoice(slug, name, optgroup=district if several else None)
        for district, items in municipalities
        for slug, name in items
    ]
    return SelectField(
        label, choices=choices, validators=[Optional(), OneOf()], validate_choice=False
    )


def _multiple(fdef: FieldDef, label: str, lang: str, municipalities) -> Field:
    return SelectMultipleField(
        label,
        choices=_choices(fdef, lang),
        validators=[Optional(), OneOf()],
        validate_choice=False,
    )


def _yes_no(fdef: FieldDef, label: str, lang: str, municipalities) -> Field:
    return RadioField(
        label,
        choices=[SelectChoice("yes", _("Yes")), SelectChoice("no", _("No"))],
        validators=[Optional(), OneOf()],
        validate_choice=False,
    )


def _count(fdef: FieldDef, label: str, lang: str, municipalities) -> Field:
    """A repeat's number of entries: a hidden input the add and remove buttons change
    (intake.submissions without JavaScript, intake-logic.js with it)."""
    low, high = fdef.counts
    return StringField(
        label,
        default=str(initial_entries(fdef)),
        validators=[EntryCount(low, high)],
        filters=[_strip],
    )


def initial_entries(fdef: FieldDef) -> int:
    """The entries a repeat shows at first: as many as it needs (`min_count`); with none
    needed, its add button alone (nobody has to remove an entry they never wanted)."""
    return fdef.counts[0]


def _consent(fdef: FieldDef, label: str, lang: str, municipalities) -> Field:
    # A ticked box is stored as "yes" (raw_answers); unticked, the question is unanswered.
    return BooleanField(label, validators=[Optional()], false_values=("", "false", "no"))


#: The factory each field type names (intake.engine.fieldtypes `wtforms`).
FACTORIES: dict[str, Factory] = {
    "text": _text,
    "email": _email,
    "phone": _phone,
    "integer": _integer,
    "decimal": _decimal,
    "date": _date,
    "geopoint": _geopoint,
    "time": _time,
    "textarea": _textarea,
    "choice": _choice,
    "places": _places,
    "choices": _multiple,
    "yes_no": _yes_no,
    "consent": _consent,
    "count": _count,
}


def _choices(fdef: FieldDef, lang: str) -> list[SelectChoice]:
    """The definition's choices with labels in `lang`."""
    return [
        SelectChoice(c["value"], fdef.choice_label(c["value"], lang).text) for c in fdef.choices
    ]


def _ascii_digits(value: Any) -> Any:
    """Read ٣٤ or ۳۴ (Arabic and Persian keyboards) as 34; other text is left alone."""
    if not isinstance(value, str):
        return value
    return (
        "".join(
            str(unicodedata.decimal(ch)) if not ch.isascii() and ch.isdecimal() else ch
            for ch in value
        )
        .replace("٫", ".")
        .replace("٬", "")
    )


#: Control characters dropped from text input (all below a space but tab and newline).
_CONTROL = dict.fromkeys(c for c in range(32) if chr(c) not in "\n\t")


def _strip(value: Any) -> Any:
    """Trim surrounding white space and drop control characters from text input."""
    if isinstance(value, str):
        value = value.translate(_CONTROL).strip()
    return value


def answer_limit(fdef: FieldDef) -> int:
    """The most characters an answer to `fdef` may have (MaxLength checks text against it)."""
    return fdef.max_length or DEFAULT_LIMIT


def _is_empty(data: Any) -> bool:
    return data is None or data == "" or data == [] or data is False


# --- answers -----------------------------------------------------------------------


def raw_answers(form: PublicForm) -> dict[str, list[str]]:
    """What was entered, as lists of strings per field (before the format checks).

    Every expression reads the answers from here, so each value is cut to the field's
    length limit and a multiple choice to as many values as it offers, as the browser's
    `maxlength` does: an author's pattern never runs over more than a field can hold.
    A longer answer is refused by its own format check (MaxLength, OneOf) anyway.
    """
    out: dict[str, list[str]] = {}
    for fdef in form.definition.answer_inputs:
        field = form[fdef.name]
        data = field.data
        if isinstance(field, BooleanField):
            values = ["yes"] if data else []
        elif isinstance(data, list):
            values = [v for v in data if v][: len(fdef.choices)]
        else:
            values = [str(data)] if data not in (None, "") else []
        if values:
            limit = answer_limit(fdef)
            out[fdef.name] = [value[:limit] for value in values]
    return out


def validate_fields(form: PublicForm, fields: Iterable[FieldDef]) -> bool:
    """Check `fields` (a page, or the whole form) with their conditions; True when all pass.

    Checks the CSRF token first: without a valid one nothing else runs, neither the
    format checks nor any expression of the definition, so a forged or replayed POST
    never makes the server evaluate an author's constraint. Then runs WTForms' checks
    of each answer's format, drops errors of fields that are hidden or not being
    checked now, and adds the errors that depend on other answers: required (or
    required-if), constraints, choice filters.
    """
    if form.meta.csrf and not form.csrf_token.validate(form):
        return False  # the page is shown again with its answers, asking to send again
    checking = {f.name for f in fields}
    state = logic.evaluate_state(form.definition, raw_answers(form))
    form.logic_state = state  # clean_answers reads the same state
    ok = True
    for fdef in form.definition.answer_inputs:
        field = form[fdef.name]
        if fdef.name not in checking or not state.relevant.get(fdef.name, True):
            field.errors = []
            continue
        if fdef.repeat_count:  # as many entries as the answers before it make
            field.data = " ".join(state.values.get(fdef.name, []))
        # WTForms' format checks of this answer only (the token is checked above; the
        # form's hidden fields have none; pages not being checked wait their turn).
        field.validate(form)
        field.errors = list(field.errors)
        required = logic.is_required(fdef, state) or (form.place_required and fdef.kind.place)
        empty = _is_empty(field.data)
        if empty and required:
            field.errors.append(_required_message(field))
        elif not empty and not field.errors:
            _check_logic(fdef, field, state)
        ok = ok and not field.errors
    return ok


def _required_message(field: Field) -> str:
    if isinstance(field, BooleanField):
        return _("Please tick this box to continue.")
    if isinstance(field, SelectField | RadioField | SelectMultipleField):
        return _("Please choose an answer.")
    return _("Please answer this question.")


def _check_logic(fdef: FieldDef, field: Field, state: logic.State) -> None:
    """Constraint and choice filter of one answered field."""
    if fdef.choice_filter:
        chosen = field.data if isinstance(field.data, list) else [field.data]
        allowed = {c["value"] for c in fdef.choices if logic.choice_allowed(fdef, c, state)}
        if any(value not in allowed for value in chosen):
            field.errors.append(_("Please choose one of the offered answers."))
            return
    # `.` is the answer as stored ("2025-12-31", "450.5"), not as typed ("31.12.2025", "450,50").
    clean = getattr(field, "clean", None)
    value = (
        clean
        if clean is not None
        else logic.expression_value(state.values.get(fdef.name, []), fdef)
    )
    if fdef.constraint and not logic.constraint_holds(fdef, value, state):
        message = fdef.constraint_message(form_lang(field))
        field.errors.append(message.text if message else _("Please check this answer."))


def form_lang(field: Field) -> str:
    """The language the form is shown in (set by build_form)."""
    return field._form.lang if getattr(field, "_form", None) is not None else "en"


def clean_answers(form: PublicForm) -> dict[str, list[str]]:
    """The validated answers as stored: shown fields only, in their stored format.

    Uses the logic state the whole form was validated on (validate_fields).
    """
    state = form.logic_state or logic.evaluate_state(form.definition, raw_answers(form))
    answers: dict[str, list[str]] = {}
    for fdef in form.definition.answer_inputs:
        if fdef.name not in state.values:
            continue
        field = form[fdef.name]
        computed = fdef.calculation or fdef.repeat_count
        data = None if computed else getattr(field, "clean", None)
        answers[fdef.name] = [data] if data is not None else state.values[fdef.name]
    return answers


def valid_key(key: str | None) -> bool:
    """An idempotency key is 16-64 URL-safe characters made by the page or the client."""
    return bool(key) and bool(KEY_RE.match(key))


# --- format checks (run only on non-empty answers) ---------------------------------


class Optional:
    """An empty answer skips the format checks (whether it may be empty is decided later)."""

    def __call__(self, form: Any, field: Field) -> None:
        if _is_empty(field.data):
            field.errors[:] = []
            raise StopValidation()


class MaxLength:
    """Text may not be longer than the definition allows."""

    def __init__(self, limit: int):
        self.limit = limit

    def __call__(self, form: Any, field: Field) -> None:
        if field.data and len(field.data) > self.limit:
            raise ValidationError(_("Please use at most %(limit)d characters.", limit=self.limit))


class Email:
    """A plausible email address (syntax only; nothing is looked up)."""

    def __call__(self, form: Any, field: Field) -> None:
        try:
            result = validate_email(field.data, check_deliverability=False)
        except EmailNotValidError:
            raise ValidationError(
                _("Please enter an email address like name@example.org.")
            ) from None
        field.clean = result.normalized


class Phone:
    """A phone number, read as German when it has no country code, stored as +49..."""

    def __call__(self, form: Any, field: Field) -> None:
        try:
            number = phonenumbers.parse(field.data, PHONE_REGION)
        except phonenumbers.NumberParseException:
            number = None
        if number is None or not phonenumbers.is_valid_number(number):
            raise ValidationError(
                _("Please enter a phone number, for example 0151 23456789 or +49 151 23456789.")
            )
        field.clean = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


class Integer:
    """A whole number within the definition's bounds."""

    def __init__(self, minimum: int | None, maximum: int | None):
        self.minimum = minimum
        self.maximum = maximum

    def __call__(self, form: Any, field: Field) -> None:
        text = field.data.replace(" ", "")
        if not re.fullmatch(r"[+-]?[0-9]{1,9}", text):
            raise ValidationError(_("Please enter a whole number, for example 3."))
        value = int(text)
        _check_bounds(value, self.minimum, self.maximum)
        field.clean = str(value)


class Number:
    """A number with an optional decimal point or comma, within the definition's bounds."""

    def __init__(self, minimum: float | None, maximum: float | None):
        self.minimum = minimum
        self.maximum = maximum

    def __call__(self, form: Any, field: Field) -> None:
        text = field.data.replace(" ", "").replace(",", ".")
        try:
            if not re.fullmatch(r"[+-]?([0-9]{1,12}(\.[0-9]{0,6})?|\.[0-9]{1,6})", text):
                raise InvalidOperation
            value = Decimal(text)
        except InvalidOperation:
            raise ValidationError(_("Please enter a number, for example 2.5.")) from None
        _check_bounds(value, self.minimum, self.maximum)
        field.clean = format(value.normalize(), "f") if value != 0 else "0"


def _check_bounds(value, minimum, maximum) -> None:
    """Bounds messages shared by whole and decimal numbers."""
    if minimum is not None and value < minimum:
        raise ValidationError(_("Please enter %(min)s or more.", min=_number(minimum)))
    if maximum is not None and value > maximum:
        raise ValidationError(_("Please enter %(max)s or less.", max=_number(maximum)))


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


class Date:
    """A date as YYYY-MM-DD (what date inputs send) or DD.MM.YYYY (typed by hand)."""

    def __call__(self, form: Any, field: Field) -> None:
        parsed: date | None = None
        for pattern in ("%Y-%m-%d", "%d.%m.%Y"):
            try:
                parsed = datetime.strptime(field.data, pattern).date()  # noqa: DTZ007
                break
            except ValueError:
                continue
        if parsed is None or not (1900 <= parsed.year <= 2100):
            raise ValidationError(_("Please enter a date like 31.12.2026."))
        field.clean = parsed.isoformat()


class EntryCount:
    """A repeat's number of entries: within its counts (the page offers no more, a
    tampered number gets a message); stored as the whole number."""

    def __init__(self, minimum: int, maximum: int):
        self.minimum = minimum
        self.maximum = maximum

    def __call__(self, form: Any, field: Field) -> None:
        text = field.data or "0"
        if not re.fullmatch(r"[0-9]{1,3}", text) or int(text) > self.maximum:
            raise ValidationError(
                ngettext(
                    "Please add at most %(num)d entry.",
                    "Please add at most %(num)d entries.",
                    self.maximum,
                )
            )
        if int(text) < self.minimum:
            raise ValidationError(
                ngettext(
                    "Please add at least %(num)d entry.",
                    "Please add at least %(num)d entries.",
                    self.minimum,
                )
            )
        field.clean = str(int(text))


#: Latitude and longitude as people type or copy them: "49.9929, 8.2473", "49.9929 8.2473",
#: "49,9929; 8,2473" (decimal commas need the semicolon or a space around the comma).
_COORDINATE = r"[+-]?[0-9]{1,3}(?:[.,][0-9]{1,12})?"
_GEOPOINT = re.compile(rf"\s*({_COORDINATE})\s*(?:;|,\s|\s,|\s)\s*({_COORDINATE})\s*")
_GEOPOINT_DOT = re.compile(
    r"\s*([+-]?[0-9]{1,3}(?:\.[0-9]{1,12})?)\s*,\s*([+-]?[0-9]{1,3}(?:\.[0-9]{1,12})?)\s*"
)


class Geopoint:
    """A location as latitude and longitude in degrees, stored as ODK stores it:
    "49.9929 8.2473" (at most 6 decimals, about 10 cm)."""

    def __call__(self, form: Any, field: Field) -> None:
        match = _GEOPOINT_DOT.fullmatch(field.data) or _GEOPOINT.fullmatch(field.data)
        numbers = [Decimal(part.replace(",", ".")) for part in match.groups()] if match else []
        if not numbers or abs(numbers[0]) > 90 or abs(numbers[1]) > 180:
            raise ValidationError(
                _(
                    "Please enter the location as latitude and longitude, for example "
                    "49.9929, 8.2473."
                )
            )
        field.clean = " ".join(_degrees(n) for n in numbers)


def _degrees(value: Decimal) -> str:
    text = format(value.quantize(Decimal("0.000001")).normalize(), "f")
    return "0" if text in ("-0", "0") else text


class Time:
    """A time of day as 14:30 (what time inputs send), also typed 9.05 or 14:30:00."""

    def __call__(self, form: Any, field: Field) -> None:
        found = re.fullmatch(r"([0-9]{1,2})[:.]([0-9]{2})(?::([0-9]{2}))?", field.data)
        hour, minute = (int(found.group(1)), int(found.group(2))) if found else (99, 99)
        if hour > 23 or minute > 59 or (found and int(found.group(3) or 0) > 59):
            raise ValidationError(_("Please enter a time like 14:30."))
        field.clean = f"{hour:02d}:{minute:02d}"


class OneOf:
    """Only the offered choices are accepted (a tampered value gets a clear message)."""

    def __call__(self, form: Any, field: Field) -> None:
        allowed = {choice.value for choice in field.choices}
        values = field.data if isinstance(field.data, list) else [field.data]
        if any(v not in allowed for v in values if v != ""):
            raise ValidationError(_("Please choose one of the offered answers."))
        if isinstance(field.data, list) and len(set(values)) != len(values):
            field.data = list(dict.fromkeys(values))
