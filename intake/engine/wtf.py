"""Turn a form definition into a WTForms form for one request, and read clean answers.

Every field is validated by our own validators so that every message comes from our
gettext catalogs in the respondent's language (WTForms' built-in messages would not).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

import phonenumbers
from email_validator import EmailNotValidError, validate_email
from flask_babel import gettext as _
from flask_wtf import FlaskForm
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
from wtforms.fields.choices import SelectChoice
from wtforms.validators import ValidationError

from intake.engine.definition import FieldDef, FormDefinition

KEY_RE = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
PHONE_REGION = "DE"


class PublicForm(FlaskForm):
    """Base class for respondent forms: the carried link context and idempotency key."""

    idempotency_key = HiddenField()
    district = HiddenField()
    src = HiddenField()


def build_form(
    definition: FormDefinition,
    lang: str,
    municipalities: Sequence[tuple[str, Sequence[tuple[str, str]]]],
    place_required: bool = False,
    **kwargs: Any,
) -> PublicForm:
    """Create the WTForms form for `definition` with labels in `lang`.

    `municipalities` is a list of (district name, [(slug, name), ...]) groups; it is
    the pick list of a municipality field, already narrowed to the link's district.
    """
    attrs: dict[str, Any] = {}
    for fdef in definition.fields:
        required = fdef.required or (place_required and fdef.type == "municipality")
        attrs[fdef.name] = _make_field(fdef, lang, municipalities, required)
    form_class = type(f"Form_{definition.slug.replace('-', '_')}", (PublicForm,), attrs)
    form = form_class(**kwargs)
    form.definition = definition
    form.lang = lang
    return form


def questions(form: PublicForm) -> list[tuple[FieldDef, Field]]:
    """The (definition, bound field) pairs in the order of the definition."""
    return [(fdef, form[fdef.name]) for fdef in form.definition.fields]


def _make_field(fdef: FieldDef, lang: str, municipalities, required: bool) -> Field:
    """One unbound WTForms field with our validators."""
    label = fdef.label(lang).text
    validators = [Required()] if required else [Optional()]
    kind = fdef.type
    if kind in ("text", "email", "phone", "integer", "date"):
        limit = fdef.raw.get("max_length")
        if kind == "integer":
            checks = [Integer(fdef.raw.get("min"), fdef.raw.get("max"))]
        elif kind == "date":
            checks = [Date()]
        else:
            checks = [MaxLength(limit)] + {"text": [], "email": [Email()], "phone": [Phone()]}[kind]
        return StringField(label, validators=validators + checks, filters=[_strip])
    if kind == "textarea":
        return TextAreaField(
            label, validators=validators + [MaxLength(fdef.raw["max_length"])], filters=[_strip]
        )
    if kind == "single_choice":
        choices = _choices(fdef, lang)
        cls = SelectField if fdef.raw.get("appearance") == "select" else RadioField
        if cls is SelectField:
            choices = [SelectChoice("", _("Please choose"))] + choices
        return cls(label, choices=choices, validators=validators + [OneOf()], validate_choice=False)
    if kind == "municipality":
        # One district: a plain list. Several: grouped by district (<optgroup>).
        several = len(municipalities) > 1
        choices = [SelectChoice("", _("Please choose"))] + [
            SelectChoice(slug, name, optgroup=district if several else None)
            for district, items in municipalities
            for slug, name in items
        ]
        return SelectField(
            label, choices=choices, validators=validators + [OneOf()], validate_choice=False
        )
    if kind == "multiple_choice":
        return SelectMultipleField(
            label,
            choices=_choices(fdef, lang),
            validators=validators + [OneOf()],
            validate_choice=False,
        )
    if kind == "yes_no":
        return RadioField(
            label,
            choices=[SelectChoice("yes", _("Yes")), SelectChoice("no", _("No"))],
            validators=validators + [OneOf()],
            validate_choice=False,
        )
    if kind == "consent":
        return BooleanField(label, validators=validators, false_values=("", "false", "no"))
    raise ValueError(f"unknown field type {kind}")  # pragma: no cover - definitions are validated


def _choices(fdef: FieldDef, lang: str) -> list[SelectChoice]:
    """The definition's choices with labels in `lang`."""
    return [
        SelectChoice(c["value"], fdef.choice_label(c["value"], lang).text) for c in fdef.choices
    ]


def _strip(value: Any) -> Any:
    """Trim surrounding white space and drop control characters from text input."""
    if isinstance(value, str):
        value = "".join(ch for ch in value if ch in "\n\t" or ch >= " ").strip()
        value = value.replace("\r", "")
    return value


def _is_empty(data: Any) -> bool:
    return data is None or data == "" or data == [] or data is False


class Required:
    """The question must be answered (a consent box must be ticked)."""

    field_flags = {"required": True}

    def __call__(self, form: Any, field: Field) -> None:
        if _is_empty(field.data):
            if isinstance(field, BooleanField):
                raise ValidationError(_("Please tick this box to continue."))
            if isinstance(field, SelectField | RadioField | SelectMultipleField):
                raise ValidationError(_("Please choose an answer."))
            raise ValidationError(_("Please answer this question."))


class Optional:
    """An empty optional answer skips the remaining checks."""

    def __call__(self, form: Any, field: Field) -> None:
        from wtforms.validators import StopValidation

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
        if self.minimum is not None and value < self.minimum:
            raise ValidationError(_("Please enter %(min)d or more.", min=self.minimum))
        if self.maximum is not None and value > self.maximum:
            raise ValidationError(_("Please enter %(max)d or less.", max=self.maximum))
        field.clean = str(value)


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


class OneOf:
    """Only the offered choices are accepted (a tampered value gets a clear message)."""

    def __call__(self, form: Any, field: Field) -> None:
        allowed = {choice.value for choice in field.choices}
        values = field.data if isinstance(field.data, list) else [field.data]
        if any(v not in allowed for v in values if v != ""):
            raise ValidationError(_("Please choose one of the offered answers."))
        if isinstance(field.data, list) and len(set(values)) != len(values):
            field.data = list(dict.fromkeys(values))


def clean_answers(form: PublicForm) -> dict[str, list[str]]:
    """The validated answers as stored: one list of string values per answered field."""
    answers: dict[str, list[str]] = {}
    for fdef, field in questions(form):
        data = getattr(field, "clean", field.data)
        if fdef.type == "consent":
            values = ["yes"] if field.data else []
        elif isinstance(data, list):
            values = [v for v in data if v]
        else:
            values = [data] if data not in (None, "") else []
        if values:
            answers[fdef.name] = values
    return answers


def valid_key(key: str | None) -> bool:
    """An idempotency key is 16-64 URL-safe characters made by the page or the client."""
    return bool(key) and bool(KEY_RE.match(key))
