"""The link builder: a form's link with district, language, campaign and prefilled values,
message texts to paste into emails and messenger groups, and QR posters (A4, A3).

Links hold no personal data and every role may make them; the districts offered are
the user's own.
"""

from __future__ import annotations

from flask import abort, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from intake import i18n, scope
from intake.admin.blueprint import bp
from intake.engine.definition import FormDefinition
from intake.errors import render_error
from intake.reports import fonts, posters
from intake.reports.pdf import RenderError
from intake.storage.forms import all_published, offered_districts

POSTER_LANGUAGES_MAX = 6


def _forms(districts) -> list[tuple[str, FormDefinition]]:
    """Forms that are not drafts and are offered in one of the user's districts."""
    out = []
    for form, _version, definition in all_published():
        if form.status != "draft" and set(offered_districts(form)) & set(districts):
            out.append((form.slug, definition))
    return out


def _spec(args, slug: str) -> posters.LinkSpec:
    """The link the query asks for; `p_<question>` are values to prefill (checked later)."""
    prefill = {
        key[2:]: value.strip()
        for key, value in args.items()
        if key.startswith("p_") and value.strip()
    }
    return posters.LinkSpec(
        form=slug,
        district=(args.get("district") or "").strip() or None,
        lang=(args.get("lang") or "").strip() or None,
        src=(args.get("src") or "").strip() or None,
        prefill=prefill,
    )


def _languages(args, definition: FormDefinition, spec: posters.LinkSpec) -> list[str]:
    known = set(definition.languages) & set(i18n.ui_languages())
    chosen = [code for code in dict.fromkeys(args.getlist("msg")) if code in known]
    return chosen or [spec.lang or definition.default_language]


def _check(args, slug: str, definition: FormDefinition, districts):
    spec = _spec(args, slug)
    errors = posters.problems(spec, definition, [d.slug for d in districts])
    langs = _languages(args, definition, spec)
    return spec, langs, errors


@bp.get("/links")
@login_required
def link_builder():
    """Choose a form, then its district, language, campaign and prefilled values."""
    districts = scope.visible_districts(current_user)
    forms = _forms(districts)
    slug = request.args.get("form")
    definition = dict(forms).get(slug) if slug else None
    errors, result = {}, None
    if definition is not None and request.args.get("make"):
        spec, langs, errors = _check(request.args, slug, definition, districts)
        if not errors:
            link = posters.public_link(spec)
            same = i18n.query_values(request.args, drop=("make", "size"))
            result = {
                "link": link,
                "messages": posters.message_texts(definition, link, langs),
                "posters": {
                    size: url_for("admin.poster", form_slug=slug, size=size, **same)
                    for size in posters.SIZES
                },
                "too_many": len(langs) > POSTER_LANGUAGES_MAX,
                "poster_languages": POSTER_LANGUAGES_MAX,
            }
    elif slug and definition is None:
        errors = {"form": _("Please choose one of the offered answers.")}
    page = render_template(
        "admin/links.html",
        forms=forms,
        districts=districts,
        definition=definition,
        slug=slug if definition else None,
        args=request.args,
        errors=errors,
        result=result,
        languages=[(c, i18n.NATIVE_NAMES.get(c, c)) for c in i18n.ui_languages()],
    )
    return page, 422 if errors else 200


@bp.get("/posters/<form_slug>.pdf")
@login_required
def poster(form_slug: str):
    """A QR poster (A4 or A3) of the link the parameters describe."""
    districts = scope.visible_districts(current_user)
    definition = dict(_forms(districts)).get(form_slug)
    if definition is None:
        abort(404)
    spec, langs, errors = _check(request.args, form_slug, definition, districts)
    size = request.args.get("size", "a4")
    if size not in posters.SIZES:
        errors["size"] = _("Please choose one of the offered answers.")
    if len(langs) > POSTER_LANGUAGES_MAX:
        errors["msg"] = _("A poster has room for at most %(n)s languages.", n=POSTER_LANGUAGES_MAX)
    if errors:
        return render_error(422, " ".join(dict.fromkeys(errors.values())))
    try:
        pdf = posters.render_poster(definition, posters.public_link(spec), langs, size)
    except (RenderError, fonts.MissingGlyphError):
        return render_error(
            422, _("This poster cannot be printed: a text has characters no font has.")
        )
    name = f"poster-{form_slug}-{spec.district or 'all'}-{size}.pdf"
    return (
        pdf,
        200,
        {
            "Content-Type": "application/pdf",
            "Content-Disposition": f'attachment; filename="{name}"',
            "Cache-Control": "no-store",
        },
    )
