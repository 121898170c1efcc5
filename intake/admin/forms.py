"""Back-office WTForms forms. Labels are lazy: they are built at import time."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, HiddenField, PasswordField
from wtforms.validators import InputRequired, Length


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
