"""Every URL of the app: the three blueprints and the modules that add their rules.

The feature packages (kiosk, invitations) add rules to the public and admin
blueprints from their own `views.py`/`admin.py`, so a feature's pages live in its
folder while its URLs stay where the stable URL table (DESIGN.md) puts them.
"""

from __future__ import annotations

from flask import Flask

from intake.admin import (  # noqa: F401  (each adds its URL rules to admin.bp)
    auth,
    exports,
    library,
    links,
    responses,
    users,
    views,
)
from intake.admin.blueprint import bp as admin_bp
from intake.invitations import admin as invitations_admin  # noqa: F401
from intake.invitations import views as invitation_views  # noqa: F401
from intake.kiosk import admin as kiosk_admin  # noqa: F401
from intake.kiosk.views import bp as kiosk_bp
from intake.public import views as public_views  # noqa: F401
from intake.public.blueprint import bp as public_bp
from intake.studio import views as studio_views  # noqa: F401


def register(app: Flask) -> None:
    """Register the blueprints (the kiosk's before-request lock comes with its own)."""
    app.register_blueprint(public_bp)
    app.register_blueprint(kiosk_bp)
    app.register_blueprint(admin_bp)
