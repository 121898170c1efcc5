"""Links for emails, messengers and posters: the link, its message texts, a QR poster.

A link is the stable public URL of a form (DESIGN.md) with the district, language,
campaign and prefilled values a coordinator chose. No `request` here: the back office
uses it, and a CLI could.
"""

from __future__ import annotations

import base64
import io
from dataclasses import dataclass, field

import segno
from flask import render_template
from flask_babel import force_locale
from flask_babel import gettext as _
from markupsafe import Markup

from intake.accounts import external_url
from intake.engine.definition import PREFILL_MAX_LENGTH, FormDefinition
from intake.i18n import NATIVE_NAMES, direction
from intake.reports import fonts
from intake.reports.pdf import html_to_pdf
from intake.storage.responses import is_campaign

SIZES = ("a4", "a3")


@dataclass
class LinkSpec:
    """What a link carries; every part is optional but the form."""

    form: str
    district: str | None = None
    lang: str | None = None
    src: str | None = None
    prefill: dict[str, str] = field(default_factory=dict)


def problems(spec: LinkSpec, definition: FormDefinition, districts: list[str]) -> dict[str, str]:
    """Why a link cannot be made as asked, by field (messages in the current language)."""
    out = {}
    if spec.district and spec.district not in districts:
        out["district"] = _("Please choose one of the offered answers.")
    if not spec.district and definition.municipality_field is None:
        out["district"] = _("This form has no place question: the link needs a district.")
    if spec.lang and spec.lang not in definition.languages:
        out["lang"] = _("Please choose one of the offered answers.")
    if spec.src and not is_campaign(spec.src):
        out["src"] = _(
            "Use only letters, digits, dots, hyphens and underscores (at most 64), "
            "and do not start with “event-”."
        )
    allowed = {f.name for f in definition.fields if f.prefill}
    for name, value in spec.prefill.items():
        if name not in allowed:
            out[f"p_{name}"] = _("This question cannot be prefilled.")
        elif len(value) > PREFILL_MAX_LENGTH:
            out[f"p_{name}"] = _("At most %(n)s characters.", n=PREFILL_MAX_LENGTH)
    return out


def public_link(spec: LinkSpec) -> str:
    """The absolute link, parameters in a fixed order (language first, as people read it)."""
    params = {}
    for key, value in (("lang", spec.lang), ("district", spec.district), ("src", spec.src)):
        if value:
            params[key] = value
    params.update({k: v for k, v in spec.prefill.items() if v})
    return external_url("public.form", slug=spec.form, **params)


def message_texts(definition: FormDefinition, link: str, langs: list[str]) -> list[dict]:
    """A ready-to-paste message per language: the form's title, a request, the link."""
    out = []
    for lang in langs:
        with force_locale(lang):
            title = definition.title(lang).text
            text = _("%(title)s: please answer a few questions here:", title=title)
        out.append(
            {
                "lang": lang,
                "name": NATIVE_NAMES.get(lang, lang),
                "dir": direction(lang),
                "text": f"{text}\n{link}",
            }
        )
    return out


def qr_data_uri(link: str) -> str:
    """The link as a QR code (PNG, error correction M), for an <img> in the PDF."""
    out = io.BytesIO()
    segno.make(link, error="m").save(out, kind="png", scale=12, border=4)
    return "data:image/png;base64," + base64.b64encode(out.getvalue()).decode()


def render_poster(definition: FormDefinition, link: str, langs: list[str], size: str) -> bytes:
    """An A4 or A3 poster: the title and the call to action in each language, the QR code,
    and the link to type by hand."""
    calls = []
    for lang in langs:
        with force_locale(lang):
            calls.append(
                {
                    "lang": lang,
                    "dir": direction(lang),
                    "title": definition.title(lang).text,
                    "call": _(
                        "Scan the code with your phone's camera and answer in your language."
                    ),
                }
            )
    # Our own constants and a data: URI we made; no answer or input reaches a style.
    font_css = Markup(fonts.font_faces_css())  # noqa: S704
    html = render_template(
        "reports/poster.html",
        calls=calls,
        link=link,
        qr=qr_data_uri(link),
        size=size,
        font_css=font_css,
    )
    return html_to_pdf(html)
