"""Back office for forms: list, upload (YAML/JSON/XLSForm), preview, publish/close, settings.

Who may change a form follows the district scope: a form's status, dates and
districts affect every district it is offered in, so admins manage every form and a
coordinator manages only forms offered solely in their own districts (a form a
coordinator uploads starts as a draft offered in their districts). Everyone may
look at the list and the previews.
"""

from __future__ import annotations

import json
import tempfile
from datetime import date
from pathlib import Path

import sqlalchemy as sa
from flask import Response as HttpResponse
from flask import abort, flash, g, redirect, render_template, request, url_for
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import SelectMultipleField, StringField
from wtforms.validators import ValidationError

from intake import audit, i18n, scope
from intake.accounts import external_url
from intake.admin.blueprint import bp
from intake.engine.definition import FormDefinition
from intake.engine.loader import SUFFIXES, dump_any, load_any
from intake.engine.validation import DefinitionError
from intake.extensions import db
from intake.form_pages import page_view
from intake.invitations import store as invitation_store
from intake.privacy import records
from intake.public import embed
from intake.storage import districts as district_store
from intake.storage.forms import (
    all_drafts,
    all_published,
    availability,
    draft_of,
    form_named,
    import_definition,
    latest_version,
    offered_districts,
    published,
)
from intake.storage.models import Form, Response
from intake.wtforms_adapter import build_form

UPLOAD_LIMIT = 5 * 1024 * 1024


def may_manage(form: Form | None = None) -> bool:
    """Admins manage every form; coordinators those offered only in their districts."""
    if current_user.role == "admin":
        return True
    if current_user.role != "coordinator":
        return False
    if form is None:
        return True  # may upload a new form
    mine = {d.id for d in scope.visible_districts(current_user)}
    return bool(form.districts) and {d.id for d in form.districts} <= mine


def require_manager(form: Form | None = None) -> None:
    if not may_manage(form):
        abort(403)


def _found_or_404(slug: str):
    found = published(slug)
    if found is None:
        abort(404)
    return found


class UploadForm(FlaskForm):
    """A form definition file, and which form it is for: a new one, or the next version of
    an existing one (a file whose address is taken never silently becomes another form's
    version)."""

    file = FileField(_l("Form file (.yaml, .json or XLSForm .xlsx)"))
    replaces = StringField(_l("The file is for"))


def replaceable_forms(forms: list[tuple[Form, FormDefinition]]) -> list[tuple[str, str]]:
    """(address, title) of each of `forms` the user may give a new version, by title."""
    titles = {
        form.slug: definition.title(definition.default_language).text
        for form, definition in forms
        if may_manage(form)
    }
    return sorted(titles.items(), key=lambda item: item[1].casefold())


class SettingsForm(FlaskForm):
    """When and where a form takes answers."""

    opens_on = StringField(_l("Open from (first day, optional)"))
    closes_on = StringField(_l("Open until (last day, optional)"))
    districts = SelectMultipleField(_l("Offered in"), validate_choice=False)

    def validate_opens_on(self, field) -> None:
        field.parsed = _date(field.data)

    def validate_closes_on(self, field) -> None:
        field.parsed = _date(field.data)
        opens = _date(self.opens_on.data) if self.opens_on.data else None
        if field.parsed and opens and field.parsed < opens:
            raise ValidationError(_("The last day is before the first day."))


def _date(value: str | None) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise ValidationError(_("Please enter a date like 2026-12-31.")) from None


@bp.get("/forms")
@login_required
def forms_list():
    """Every form with its version, status and response count in the user's districts."""
    ids = [d.id for d in scope.visible_districts(current_user)]
    counts = dict(
        db.session.execute(
            sa.select(Response.form_id, sa.func.count())
            .where(Response.district_id.in_(ids))
            .group_by(Response.form_id)
        ).all()
    )
    drafts = all_drafts()
    rows = [
        (form, version, definition, availability(form), counts.get(form.id, 0))
        for form, version, definition in all_published()
    ]
    published_ids = {form.id for form, *_rest in rows}
    unpublished = [
        (form, version, FormDefinition(version.definition))
        for form_id, (form, version) in sorted(drafts.items())
        if form_id not in published_ids and may_manage(form)
    ]
    return render_template(
        "admin/forms.html",
        rows=rows,
        drafts=drafts,
        unpublished=unpublished,
        may_manage=may_manage(),
        manages=may_manage,
        upload=UploadForm(),
        replaceable=replaceable_forms(
            [(row[0], row[2]) for row in rows] + [(row[0], row[2]) for row in unpublished]
        ),
    )


@bp.post("/forms/upload")
@login_required
def forms_upload():
    """Check an uploaded definition; import it as a draft when it has no problems."""
    require_manager()
    return import_upload()


def import_upload():
    """The posted definition file as a draft (of a new form or an existing one), or its
    problems; shared by the form list and the studio's "start from a file"."""
    request.max_content_length = UPLOAD_LIMIT
    form = UploadForm()
    upload = form.file.data if form.validate_on_submit() else None
    if upload is None or not upload.filename:
        return _upload_problems([_("Please choose a file.")], None)
    suffix = Path(upload.filename).suffix.lower()
    name = Path(upload.filename).name
    if suffix not in SUFFIXES:
        return _upload_problems(
            [_("Please upload a .yaml, .json or .xlsx file.")], name, status=415
        )
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"upload{suffix}"
        upload.save(path)
        try:
            definition, notices = load_any(path)
        except DefinitionError as exc:
            audit.record("form.upload", current_user, f"file:{suffix}", outcome="invalid")
            return _upload_problems(exc.problems, name)
    replaces = (form.replaces.data or "").strip()
    if replaces:
        target = form_named(replaces)
        if target is None:
            return _upload_problems([_("Please choose a form from the list.")], name)
        definition["form"] = target.slug  # the coordinator said which form it is for
    existing = form_named(definition["form"])
    if existing is not None and not replaces:
        db.session.rollback()
        shown = (latest_version(existing) or draft_of(existing)).definition
        return _upload_problems(
            [
                _(
                    "A form with the address “%(slug)s” exists already: “%(title)s”. To make "
                    "this file its next version, choose it under “The file is for”; for a new "
                    "form, give the file another form_id (XLSForm settings sheet) or “form” "
                    "(YAML, JSON).",
                    slug=existing.slug,
                    title=shown["title"].get(shown["default_language"], existing.slug),
                )
            ],
            name,
            409,
        )
    if existing is not None and not may_manage(existing):
        db.session.rollback()
        return _upload_problems(
            [_("A form with this name exists and is managed by an administrator.")], name, 403
        )
    version, created = import_definition(
        definition, status_if_new="draft", publish=False, user=current_user
    )
    if existing is None and current_user.role != "admin":
        version.form.districts = scope.visible_districts(current_user)
    db.session.commit()
    audit.record("form.upload", current_user, f"form:{version.form.slug} draft v{version.number}")
    if created:
        flash(_("Imported as a draft. Nothing is public until you publish it."))
    else:
        flash(_("The form is unchanged (version %(n)s).", n=version.number))
    for notice in notices:
        flash(notice)
    return redirect(url_for("admin.studio_edit", slug=version.form.slug))


def _upload_problems(problems: list[str], filename: str | None, status: int = 422):
    return (
        render_template("admin/form_upload_problems.html", problems=problems, filename=filename),
        status,
    )


@bp.get("/forms/<slug>")
@login_required
def form_detail(slug: str):
    """A form's versions, status, dates and districts, with previews and exports."""
    found = published(slug)
    if found is None and form_named(slug) is not None:
        return redirect(url_for("admin.studio_edit", slug=slug))  # never published yet
    form_row, version, definition = _found_or_404(slug)
    return _detail_page(form_row, version, definition, _settings_of(form_row))


def _settings_of(form_row: Form) -> SettingsForm:
    settings = SettingsForm(
        data={
            "opens_on": form_row.opens_on.isoformat() if form_row.opens_on else "",
            "closes_on": form_row.closes_on.isoformat() if form_row.closes_on else "",
            "districts": [d.slug for d in form_row.districts],
        }
    )
    settings.districts.choices = [(d.slug, d.name) for d in scope.visible_districts(current_user)]
    return settings


def _detail_page(
    form_row: Form,
    version,
    definition,
    settings: SettingsForm,
    status: int = 200,
    sharing_errors: list[str] = (),
    origins_text: str | None = None,
):
    """The form's page, with the settings forms as given (and their errors, if any)."""
    offered = set(offered_districts(form_row))
    embed_urls = [
        (
            d.name,
            external_url("public.form", slug=form_row.slug, embed=1, district=d.slug),
        )
        for d in scope.visible_districts(current_user)
        if d in offered
    ]
    page = render_template(
        "admin/form_detail.html",
        form=form_row,
        version=version,
        definition=definition,
        state=availability(form_row),
        settings=settings,
        may_manage=may_manage(form_row),
        native_names=i18n.NAMES,
        sharing_errors=sharing_errors,
        origins_text="\n".join(form_row.embed_origins) if origins_text is None else origins_text,
        embed_urls=embed_urls,
        public_link=external_url("public.form", slug=form_row.slug),
    )
    return page, status


@bp.post("/forms/<slug>/settings")
@login_required
def form_settings(slug: str):
    """Save opening dates and offering districts."""
    form_row, version, definition = _found_or_404(slug)
    require_manager(form_row)
    visible = scope.visible_districts(current_user)
    settings = SettingsForm()
    settings.districts.choices = [(d.slug, d.name) for d in visible]
    if not settings.validate():
        return _detail_page(form_row, version, definition, settings, 422)
    chosen = [d for d in visible if d.slug in set(settings.districts.data or [])]
    if not chosen and current_user.role != "admin":
        settings.districts.errors = [_("Please choose at least one of your districts.")]
        return _detail_page(form_row, version, definition, settings, 422)
    form_row.districts = chosen
    form_row.opens_on = settings.opens_on.parsed
    form_row.closes_on = settings.closes_on.parsed
    db.session.commit()
    audit.record("form.settings", current_user, f"form:{slug}")
    flash(_("Saved."))
    return redirect(url_for("admin.form_detail", slug=slug))


@bp.post("/forms/<slug>/sharing")
@login_required
def form_sharing(slug: str):
    """Save what a second use of an invitation link does, and who may embed the form."""
    form_row, version, definition = _found_or_404(slug)
    require_manager(form_row)
    reuse = request.form.get("invitation_reuse")
    if reuse not in invitation_store.REUSE_CHOICES:
        abort(400)
    origins, problems = embed.parse_origins(request.form.get("embed_origins", ""))
    if problems:
        messages = {
            "format": _("“%(value)s” is not an address like https://www.kreis-example.de."),
            "scheme": _("“%(value)s” must start with https:// (http:// only for localhost)."),
            "path": _("“%(value)s” must be only the address of the site, with nothing after it."),
            "too_many": _("At most %(n)s sites may embed a form.", n=embed.MAX_ORIGINS),
        }
        errors = [
            messages[reason] % {"value": value} if value else messages[reason]
            for value, reason in problems
        ]
        settings = _settings_of(form_row)
        return _detail_page(
            form_row,
            version,
            definition,
            settings,
            422,
            sharing_errors=errors,
            origins_text=request.form.get("embed_origins", ""),
        )
    if form_row.invitation_reuse != reuse or form_row.embed_origins != origins:
        form_row.invitation_reuse = reuse
        form_row.embed_origins = origins
        db.session.commit()
        audit.record(
            "form.sharing", current_user, f"form:{slug} reuse={reuse} embed={len(origins)}"
        )
    flash(_("Saved."))
    return redirect(url_for("admin.form_detail", slug=slug))


@bp.get("/forms/<slug>/record")
@bp.get("/forms/<slug>/record.json", defaults={"fmt": "json"})
@login_required
def form_record(slug: str, fmt: str | None = None):
    """The record of processing (Art. 30 DSGVO), from the definition: a page to print, or JSON."""
    form_row, version, definition = _found_or_404(slug)
    data = records.record(form_row, version, definition)
    if fmt == "json":
        reply = HttpResponse(
            json.dumps(data, ensure_ascii=False, indent=2), mimetype="application/json"
        )
        reply.headers["Content-Disposition"] = (
            f'attachment; filename="verarbeitungsverzeichnis-{slug}.json"'
        )
        return reply
    return render_template("admin/form_record.html", form=form_row, record=data)


@bp.post("/forms/<slug>/status")
@login_required
def form_status(slug: str):
    """Publish (open), close, or take a form back to draft."""
    form_row = _found_or_404(slug)[0]
    require_manager(form_row)
    status = request.form.get("status")
    if status not in Form.STATUSES:
        abort(400)
    form_row.status = status
    db.session.commit()
    audit.record("form.status", current_user, f"form:{slug} status={status}")
    flash(_("Saved."))
    return redirect(url_for("admin.form_detail", slug=slug))


@bp.get("/forms/<slug>/preview")
@login_required
def form_preview(slug: str):
    """The form as respondents would see it, in any of its languages; nothing is saved.

    Someone who may change the form sees its draft, if it has one (the studio's
    preview); everyone else the published version.
    """
    draft, definition = _previewed(slug)
    lang = request.args.get("lang", definition.default_language)
    if lang not in definition.languages:
        lang = definition.default_language
    page = request.args.get("page", "0")
    framed = request.args.get("framed") == "1"
    # The side-by-side page (below) shows two of these in frames: this site alone may.
    g.frame_ancestors = ["'self'"]
    groups = district_store.municipality_groups(district_store.all_districts())
    ui = i18n.ui_language_for(lang)  # a language without a catalog: the nearest one's words
    with force_locale(ui):
        g.lang, g.ui_lang, g.lang_options = lang, ui, definition.languages
        wtform = build_form(definition, lang, groups, data={"idempotency_key": "preview"})
        view = page_view(wtform, int(page) if page.isdigit() else 0, every_page=True)
        html = render_template(
            "public/form.html",
            wtform=wtform,
            definition=definition,
            view=view,
            errors=[],
            csrf_expired=False,
            preview=True,
            preview_draft=draft is not None,
            preview_width=request.args.get("width")
            if request.args.get("width")
            in (
                "phone",
                "tablet",
            )
            else None,
            preview_slug=slug,
            preview_pages=len(definition.pages()),
            preview_framed=framed,
        )
    return html


def _previewed(slug: str) -> tuple[object | None, FormDefinition]:
    """The draft (for someone who may change the form) or the published version."""
    form_row = form_named(slug)
    if form_row is None:
        abort(404)
    draft = draft_of(form_row) if may_manage(form_row) else None
    if draft is not None:
        return draft, FormDefinition(draft.definition, gettext=_)
    return None, _found_or_404(slug)[2]


@bp.get("/forms/<slug>/preview/side-by-side")
@login_required
def form_preview_pair(slug: str):
    """The preview in two languages next to each other at phone width: by default the
    main language and the first right-to-left one (else the next language)."""
    draft, definition = _previewed(slug)
    languages = definition.languages
    left = request.args.get("left")
    if left not in languages:
        left = definition.default_language
    others = [lang for lang in languages if lang != left]
    right = request.args.get("right")
    if right not in others:
        rtl = [lang for lang in others if i18n.direction(lang) == "rtl"]
        right = (rtl or others or [None])[0]
    return render_template(
        "admin/form_preview_pair.html",
        slug=slug,
        definition=definition,
        draft=draft,
        languages=languages,
        shown=[lang for lang in (left, right) if lang],
        left=left,
        right=right,
        native_names=i18n.NAMES,
    )


@bp.get("/forms/<slug>/export.<fmt>")
@login_required
def form_export(slug: str, fmt: str):
    """Download the newest version as XLSForm (.xlsx) or YAML."""
    if fmt not in ("xlsx", "yaml"):
        abort(404)
    _form, version, _definition = _found_or_404(slug)
    data = dump_any(version.definition, f".{fmt}")
    mimetype = {
        "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "yaml": "application/yaml",
    }[fmt]
    audit.record("form.export", current_user, f"form:{slug} v{version.number} {fmt}")
    return HttpResponse(
        data,
        mimetype=mimetype,
        headers={"Content-Disposition": f'attachment; filename="{slug}-v{version.number}.{fmt}"'},
    )
