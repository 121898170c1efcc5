"""Intake: multilingual intake and interest forms for refugee and volunteer coordination."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Flask

from intake.config import ROOT


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Build the Flask app: configuration, extensions, blueprints, CLI."""
    app = Flask(
        __name__,
        instance_path=str(ROOT / "instance"),
        instance_relative_config=True,
        template_folder=str(ROOT / "templates"),
    )
    from intake import config

    config.load(app, test_config)

    from intake import cli, errors, i18n, logs, markup, routes, security, throttle
    from intake.engine import texts
    from intake.extensions import csrf, db, limiter, login_manager, migrate
    from intake.reports import pdf
    from intake.storage import cache, engine_events

    db.init_app(app)
    engine_events.init_app(app)
    cache.init_app(app)
    migrate.init_app(app, db, directory=str(Path(__file__).parent / "storage" / "migrations"))
    csrf.init_app(app)
    login_manager.init_app(app)
    limiter.init_app(app)
    throttle.init_app(app)
    i18n.init_app(app)
    security.init_app(app)
    errors.init_app(app)
    logs.init_app(app)
    pdf.init_app(app)
    app.add_template_filter(markup.inline, "inline_markup")  # **bold**, ${name} in form texts
    app.add_template_filter(texts.plain, "plain_text")  # a form text without its markers
    app.jinja_env.globals["inserted_answers"] = markup.current_answers
    proxies = int(app.config["PROXY_COUNT"])
    if proxies:
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies)
    routes.register(app)
    cli.init_app(app)
    return app
