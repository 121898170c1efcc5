"""The form studio's pages: start a form, edit its draft, check the impact and publish.

Every change is a plain POST with the draft's revision; a change made on an older
revision is refused with the other person's change shown (409), never merged
silently. The draft is checked by the engine at every step, so nothing half-made is
stored, and the public form keeps serving the published version until "Publish".
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import abort, current_app, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from flask_wtf import FlaskForm

from intake import audit, i18n, scope
from intake.admin.blueprint import bp
from intake.admin.library import UPLOAD_LIMIT, import_upload, may_manage
from intake.demo import FORMS_DIR
from intake.engine.definition import FormDefinition
from intake.engine.fieldtypes import FIELD_TYPES
from intake.engine.loader import load_file
from intake.engine.validation import DefinitionError
from intake.extensions import db
from intake.storage import forms as form_store
from intake.storage.models import Form, FormVersion
from intake.studio import checks, editing, impact
from intake.studio import forms as inputs
from intake.studio.expressions import OPERATORS, PRESETS_FOR

#: The demo forms, offered as templates ("Ehrenamt / Integrationslotsen", "Neuzugewanderte").
TEMPLATES = ("volunteer", "newcomer")


class CsrfOnly(FlaskForm):
    """The studio's posts are read by intake.studio.forms; this checks their CSRF token."""


def _form_or_404(slug: str) -> Form:
    form = form_store.form_named(slug)
    if form is None:
        abort(404)
    return form


def _editable(slug: str) -> tuple[Form, FormVersion | None, FormVersion | None]:
    """The form, its draft and its live version, for someone who may change it."""
    form = _form_or_404(slug)
    if not may_manage(form):
        abort(403)
    return form, form_store.draft_of(form), form_store.latest_version(form)


def _draft_for_change(form: Form) -> FormVersion:
    """The draft a change goes into: the existing one, or a copy of the live version.

    A page shown while there was no draft posts revision 0; the draft this request
    starts for it is what that page showed. A draft someone else started meanwhile is
    not, and the change is refused like any other out-of-date one.
    """
    existing = form_store.draft_of(form)
    draft = existing or form_store.start_draft(form, current_user)
    if existing is None and _revision_posted() == 0:
        g.studio_revision = draft.revision
    return draft


def _revision_posted() -> int:
    if "studio_revision" in g:
        return g.studio_revision
    value = request.form.get("revision", "")
    return int(value) if value.isdigit() else -1


def _save(form: Form, draft: FormVersion, definition: dict[str, Any], action: str, what: str):
    """Store the changed definition if the draft is still at the posted revision.

    Returns None when saved, else the conflict page (409) showing the current draft.
    """
    posted = _revision_posted()
    try:
        form_store.save_draft(draft, definition, expected_revision=posted, user=current_user)
    except form_store.DraftChanged:
        db.session.rollback()
        return _conflict(form)
    db.session.commit()
    audit.record(f"studio.{action}", current_user, f"form:{form.slug} {what}")
    return None


def _conflict(form: Form):
    draft = form_store.draft_of(form)
    return (
        render_template(
            "studio/conflict.html",
            form=form,
            draft=draft,
            posted=request.form,
        ),
        409,
    )


def _problems_page(form: Form, problems: list[str], status: int = 422):
    db.session.rollback()
    return (
        render_template("studio/problems.html", form=form, problems=problems),
        status,
    )


# --- start a form -----------------------------------------------------------------


@bp.route("/forms/new", methods=["GET", "POST"])
@login_required
def studio_new():
    """Start a form: blank, from a template, as a copy, or from a file (always a draft)."""
    if not may_manage():
        abort(403)
    copyable = [
        (f, d) for f, _v, d in form_store.all_published() if may_manage(f) or f.slug in TEMPLATES
    ]
    errors: inputs.Errors = {}
    if request.method == "POST":
        request.max_content_length = UPLOAD_LIMIT  # before the body is read
        if not CsrfOnly().validate_on_submit():
            abort(400)
        result = _start(request.form, copyable, errors)
        if result is not None:
            return result
    return (
        render_template(
            "studio/new.html",
            values=request.form if request.method == "POST" else {},
            errors=errors,
            copyable=copyable,
            templates=TEMPLATES,
            languages=_offered_languages(),
            native_names=i18n.NAMES,
        ),
        422 if errors else 200,
    )


def _offered_languages() -> list[str]:
    return list(current_app.config["LANGUAGES"])


def _start(values, copyable, errors: inputs.Errors):
    start = values.get("start", "")
    if start == "import":
        return import_upload()
    title = (values.get("title") or "").strip()
    if not title:
        errors["title"] = [_("Please enter the form's title.")]
    elif len(title) > inputs.LIMITS["title"]:
        errors["title"] = [
            _(
                "At most %(n)s characters (this has %(m)s).",
                n=inputs.LIMITS["title"],
                m=len(title),
            )
        ]
    slug = (values.get("slug") or "").strip() or editing.slug_for(title)
    if not editing.valid_slug(slug):
        errors["slug"] = [_("The address may use a-z, 0-9 and - (like “fahrdienst-2027”).")]
    elif form_store.form_named(slug) is not None:
        errors["slug"] = [_("A form with the address “%(slug)s” exists already.", slug=slug)]
    if start == "blank":
        languages = [
            code for code in _offered_languages() if values.get(f"language_{code}") == "on"
        ]
        if "de" not in languages:
            languages.insert(0, "de")
        if not errors:
            definition = editing.blank(slug, title, languages, "de")
            return _created(definition, f"blank {','.join(languages)}")
    elif start in ("template", "copy"):
        source = values.get("template" if start == "template" else "source", "")
        allowed = TEMPLATES if start == "template" else [f.slug for f, _d in copyable]
        if source not in allowed:
            errors[start] = [_("Please choose a form.")]
        elif not errors:
            if start == "template":
                raw = editing.checked(load_file(FORMS_DIR / f"{source}.yaml"))
            else:
                raw = form_store.published(source)[1].definition
            definition = editing.copy_as(raw, slug, title)
            return _created(definition, f"{start} {source}")
    else:
        errors["start"] = [_("Please choose how to start.")]
    return None


def _created(definition: dict[str, Any], how: str):
    version, _created = form_store.import_definition(
        definition, "draft", publish=False, user=current_user
    )
    if current_user.role != "admin":
        version.form.districts = scope.visible_districts(current_user)
    db.session.commit()
    audit.record("studio.create", current_user, f"form:{version.form.slug} {how}")
    flash(_("The draft is ready. Nothing is public until you publish it."))
    return redirect(url_for("admin.studio_edit", slug=version.form.slug))


# --- the draft --------------------------------------------------------------------


def _locked_keys(form: Form) -> set[str]:
    """Keys of questions that were published once: answers are stored under them."""
    definitions = db.session.scalars(
        sa.select(FormVersion.definition).where(
            FormVersion.form_id == form.id, FormVersion.published_at.is_not(None)
        )
    )
    return {f["name"] for definition in definitions for f in editing.items(definition)}


@bp.get("/forms/<slug>/edit")
@login_required
def studio_edit(slug: str):
    """The draft's questions and pages, with what to do next."""
    form, draft, live = _editable(slug)
    current = draft or live
    definition = FormDefinition(current.definition)
    return render_template(
        "studio/edit.html",
        form=form,
        draft=draft,
        live=live,
        current=current,
        definition=definition,
        items=current.definition["fields"],
        types=editing.offered_types(current.definition),
        type_names=inputs.TYPE_NAMES,
        native_names=i18n.NAMES,
        problems=checks.publish_problems(definition),
    )


def _item_change(slug: str) -> tuple[Form, FormVersion, str]:
    """The form, the draft to change and the question or page a Move/Delete button names."""
    form, _draft, _live = _editable(slug)
    if not CsrfOnly().validate_on_submit():
        abort(400)
    draft = _draft_for_change(form)
    name = request.form.get("name", "")
    if name not in editing.names(draft.definition):
        abort(404)
    return form, draft, name


@bp.post("/forms/<slug>/edit/move")
@login_required
def studio_move(slug: str):
    form, draft, name = _item_change(slug)
    step = -1 if request.form.get("direction") == "up" else 1
    definition = editing.move(draft.definition, name, step)
    conflict = _save(form, draft, definition, "move", name)
    return conflict or redirect(url_for("admin.studio_edit", slug=slug, _anchor=f"item-{name}"))


@bp.post("/forms/<slug>/edit/delete")
@login_required
def studio_delete(slug: str):
    form, draft, name = _item_change(slug)
    readers = editing.used_by(draft.definition, name)
    if readers:
        return _problems_page(
            form,
            [
                _(
                    "“%(name)s” cannot be deleted: the conditions or checks of %(others)s "
                    "read its answer. Change those first.",
                    name=name,
                    others=", ".join(readers),
                )
            ],
            409,
        )
    try:
        definition = editing.remove(draft.definition, name)
    except DefinitionError as exc:
        return _problems_page(form, exc.problems)
    conflict = _save(form, draft, definition, "delete", name)
    if conflict:
        return conflict
    flash(_("Deleted “%(name)s”.", name=name))
    return redirect(url_for("admin.studio_edit", slug=slug))


@bp.post("/forms/<slug>/edit/discard")
@login_required
def studio_discard(slug: str):
    """Throw the draft away: the published version stays as it is."""
    form, draft, live = _editable(slug)
    if not CsrfOnly().validate_on_submit():
        abort(400)
    if draft is None:
        return redirect(url_for("admin.studio_edit", slug=slug))
    if draft.revision != _revision_posted():
        return _conflict(form)
    form_store.discard_draft(draft)
    db.session.commit()
    audit.record("studio.discard", current_user, f"form:{slug}")
    flash(_("The draft was discarded."))
    if live is None:
        return redirect(url_for("admin.forms_list"))
    return redirect(url_for("admin.studio_edit", slug=slug))


@bp.route("/forms/<slug>/edit/details", methods=["GET", "POST"])
@login_required
def studio_details(slug: str):
    """Title, introduction, languages and privacy notice of the draft."""
    form, draft, live = _editable(slug)
    current = draft or live
    errors: inputs.Errors = {}
    if request.method == "POST":
        if not CsrfOnly().validate_on_submit():
            abort(400)
        draft = _draft_for_change(form)
        details, errors = inputs.read_details(request.form, draft.definition, _offered_languages())
        if not errors:
            try:
                definition = editing.set_details(draft.definition, details)
            except DefinitionError as exc:
                errors["form"] = exc.problems
            else:
                conflict = _save(form, draft, definition, "details", "")
                if conflict:
                    return conflict
                flash(_("Saved."))
                return redirect(url_for("admin.studio_edit", slug=slug))
        db.session.rollback()
        current = draft
    raw = current.definition
    return (
        render_template(
            "studio/details.html",
            form=form,
            current=current,
            raw=raw,
            values=request.form if request.method == "POST" else None,
            errors=errors,
            languages=_offered_languages(),
            native_names=i18n.NAMES,
        ),
        422 if errors else 200,
    )


@bp.route("/forms/<slug>/edit/questions/new", methods=["GET", "POST"])
@bp.route("/forms/<slug>/edit/questions/<name>", methods=["GET", "POST"])
@login_required
def studio_question(slug: str, name: str | None = None):
    """Add a question (or page), or change one: texts in every language, choices,
    condition and check."""
    form, draft, live = _editable(slug)
    current = draft or live
    stored = None
    if name is not None:
        stored = editing.find(current.definition, name)
        if stored is None:
            abort(404)
    ftype = stored["type"] if stored else request.values.get("type", "")
    if ftype not in FIELD_TYPES:
        abort(404)
    after = request.values.get("after") or None
    if after is not None and editing.find(current.definition, _after_name(after)) is None:
        after = None  # a question removed meanwhile: at the end
    within = _within(current.definition, stored, after)
    locked = stored is not None and stored["name"] in _locked_keys(form)
    errors: inputs.Errors = {}
    # A new location question is a special category unless the author says otherwise.
    new = {"type": ftype, "name": ""} | (
        {"sensitive": True} if FIELD_TYPES[ftype].sensitive_by_default else {}
    )
    shown = inputs.show(stored or new)
    if request.method == "POST":
        if not CsrfOnly().validate_on_submit():
            abort(400)
        draft = _draft_for_change(form)
        item, errors = inputs.read_question(request.form, ftype, stored, draft.definition, locked)
        kind = FIELD_TYPES[ftype]
        if within is not None and (kind.page_break or kind.repeat or kind.place):
            errors["type"] = [
                _("A repeat asks questions: it cannot hold a page, a repeat or the municipality.")
            ]
        if not errors:
            try:
                if stored is None:
                    definition = editing.insert(draft.definition, item, after)
                else:
                    definition = editing.replace(draft.definition, stored["name"], item)
            except (DefinitionError, KeyError) as exc:
                errors["form"] = getattr(exc, "problems", [_("Please try again.")])
            else:
                conflict = _save(
                    form, draft, definition, "question", f"{'add' if stored is None else 'edit'}"
                )
                if conflict:
                    return conflict
                flash(
                    _(
                        "Saved “%(label)s”.",
                        label=inputs.label_of(item, current.definition["default_language"]),
                    )
                )
                return redirect(
                    url_for("admin.studio_edit", slug=slug, _anchor=f"item-{item['name']}")
                )
        db.session.rollback()
        current = draft
    raw = current.definition
    every = editing.items(raw)
    if stored:
        position = editing.index_of(raw, stored["name"])
    elif after is not None:
        position = editing.index_of(raw, _after_name(after)) + 1
    else:
        position = len(every)
    earlier = [f for f in every[:position] if FIELD_TYPES[f["type"]].answerable]
    return (
        render_template(
            "studio/question.html",
            form=form,
            current=current,
            raw=raw,
            kind=FIELD_TYPES[ftype],
            stored=stored,
            shown=shown,
            after=after,
            locked=locked,
            values=request.form if request.method == "POST" else None,
            errors=errors,
            earlier=earlier,
            operators=OPERATORS,
            presets=PRESETS_FOR.get(ftype, ()),
            native_names=i18n.NAMES,
            choice_rows=max(
                len(shown.choices) + inputs.NEW_CHOICE_ROWS,
                inputs.posted_rows(request.form, "choice_code_") if request.method == "POST" else 0,
            ),
            condition_rows=inputs.CONDITION_ROWS,
            label_of=inputs.label_of,
            type_names=inputs.TYPE_NAMES,
            within=within,
        ),
        422 if errors else 200,
    )


def _after_name(after: str) -> str:
    """The question a new one comes after ("in:<repeat>": the repeat it starts)."""
    return after.removeprefix(editing.AT_START)


def _within(raw: dict, stored: dict | None, after: str | None) -> dict | None:
    """The repeat a question is (or will be) asked in, if any."""
    if stored is not None:
        name = editing.repeat_of(raw, stored["name"])
    elif after is not None and after.startswith(editing.AT_START):
        name = _after_name(after)
    else:
        name = editing.repeat_of(raw, after) if after else None
    return editing.find(raw, name) if name else None


# --- publish ----------------------------------------------------------------------


@bp.route("/forms/<slug>/publish", methods=["GET", "POST"])
@login_required
def studio_publish(slug: str):
    """What publishing changes for the data; publish when nothing stops it."""
    form, draft, live = _editable(slug)
    if draft is None:
        flash(_("There is no draft to publish: the form is as published."))
        return redirect(url_for("admin.studio_edit", slug=slug))
    definition = FormDefinition(draft.definition)
    problems = checks.publish_problems(definition)
    changes = impact.count_affected(
        impact.compare(FormDefinition(live.definition) if live else None, definition),
        current_user,
        form,
    )
    if request.method == "POST" and not problems:
        if not CsrfOnly().validate_on_submit():
            abort(400)
        if draft.revision != _revision_posted():
            return _conflict(form)
        version = form_store.publish_draft(draft, current_user)
        db.session.commit()
        audit.record("studio.publish", current_user, f"form:{slug} v{version.number}")
        flash(_("Published as version %(n)s.", n=version.number))
        return redirect(url_for("admin.form_detail", slug=slug))
    return (
        render_template(
            "studio/publish.html",
            form=form,
            draft=draft,
            live=live,
            definition=definition,
            problems=problems,
            impact=changes,
        ),
        422 if request.method == "POST" else 200,
    )
