"""Back-office WTForms forms. Labels are lazy: they are built at import time."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    EmailField,
    HiddenField,
    IntegerField,
    PasswordField,
    RadioField,
    SelectMultipleField,
    StringField,
    widgets,
)
from wtforms.validators import (
    EqualTo,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    Regexp,
    ValidationError,
)

from intake.kiosk.store import IDLE_RANGE, PIN_RE, THANKS_RANGE
from intake.passwords import MIN_PASSWORD_LENGTH


class MultiCheckboxField(SelectMultipleField):
    """A multiple choice shown as checkboxes."""

    widget = widgets.ListWidget(prefix_label=False)
    option_widget = widgets.CheckboxInput()


class LoginForm(FlaskForm):
    """Email and password of a coordinator account."""

    email = EmailField(
        _l("Email"),
        validators=[InputRequired(message=_l("Please enter your email address.")), Length(max=254)],
    )
    password = PasswordField(
        _l("Password"),
        validators=[InputRequired(message=_l("Please enter your password.")), Length(max=1024)],
    )
    next = HiddenField()


def _new_password_checks(form, field) -> None:
    """Long enough, and not the email address."""
    password = field.data or ""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValidationError(
            _l("The password must have at least %(n)s characters.", n=MIN_PASSWORD_LENGTH)
        )
    email = getattr(form, "account_email", None)
    if email and email.lower() in password.lower():
        raise ValidationError(_l("The password must not contain the email address."))


class NewPasswordForm(FlaskForm):
    """A new password, typed twice (reset link)."""

    account_email: str | None = None
    password = PasswordField(
        _l("New password"),
        validators=[
            InputRequired(message=_l("Please enter a new password.")),
            Length(max=1024),
            _new_password_checks,
        ],
    )
    confirm = PasswordField(
        _l("Repeat the new password"),
        validators=[
            InputRequired(message=_l("Please enter the new password a second time.")),
            EqualTo("password", message=_l("The two passwords are not the same.")),
        ],
    )


class ChangePasswordForm(NewPasswordForm):
    """Change one's own password: the current one first."""

    current = PasswordField(
        _l("Current password"),
        validators=[
            InputRequired(message=_l("Please enter your current password.")),
            Length(max=1024),
        ],
    )


class UserForm(FlaskForm):
    """An account as an administrator sees it. Email is fixed once the account exists."""

    email = EmailField(
        _l("Email"),
        validators=[
            InputRequired(message=_l("Please enter an email address.")),
            Length(max=254),
        ],
    )
    role = RadioField(_l("Role"), validate_choice=False)
    districts = MultiCheckboxField(_l("Districts"), validate_choice=False)
    active = BooleanField(_l("May log in"), default=True)


class EventForm(FlaskForm):
    """A new event with its kiosk: where, when, which forms and languages, the staff PIN."""

    name = StringField(
        _l("Name of the event"),
        validators=[InputRequired(message=_l("Please enter a name.")), Length(max=200)],
    )
    held_on = DateField(
        _l("Date (optional)"),
        validators=[Optional()],
        format="%Y-%m-%d",
    )
    district = RadioField(
        _l("District"),
        validate_choice=False,
        validators=[InputRequired(message=_l("Please choose a district."))],
    )
    forms = MultiCheckboxField(_l("Forms on the tablets"), validate_choice=False)
    languages = MultiCheckboxField(_l("Languages (none ticked: all)"), validate_choice=False)
    pin = StringField(
        _l("Staff PIN (6 to 8 digits)"),
        validators=[
            InputRequired(message=_l("Please choose a PIN of 6 to 8 digits.")),
            Regexp(PIN_RE, message=_l("Please choose a PIN of 6 to 8 digits.")),
        ],
    )
    idle_seconds = IntegerField(
        _l("Clear a form left alone after (seconds)"),
        default=120,
        validators=[
            InputRequired(message=_l("Please enter a number of seconds.")),
            NumberRange(*IDLE_RANGE, message=_l("Please enter %(min)s to %(max)s seconds.")),
        ],
    )
    thanks_seconds = IntegerField(
        _l("Show the thank-you screen for (seconds)"),
        default=15,
        validators=[
            InputRequired(message=_l("Please enter a number of seconds.")),
            NumberRange(*THANKS_RANGE, message=_l("Please enter %(min)s to %(max)s seconds.")),
        ],
    )
