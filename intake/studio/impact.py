"""What publishing a draft changes for the data, compared with the version that is live."""

from __future__ import annotations

from dataclasses import dataclass, field

import sqlalchemy as sa

from intake import scope
from intake.engine.definition import FieldDef, FormDefinition
from intake.extensions import db
from intake.storage.models import Answer, Form, Response, User


@dataclass
class Change:
    """One change of one question, in words the impact page shows."""

    kind: str  # added, removed, retyped, moved, choices_removed, choices_recoded, condition
    name: str
    label: str
    #: Choice codes removed, or (old, new) details the page names.
    details: tuple[str, ...] = ()
    #: Earlier responses (in the user's districts) with an answer this change concerns.
    responses: int = 0


@dataclass
class Impact:
    changes: list[Change] = field(default_factory=list)
    first_version: bool = False


def _page_of(definition: FormDefinition) -> dict[str, int]:
    return {f.name: page.index for page in definition.pages() for f in page.fields}


def _codes(fdef: FieldDef) -> list[str]:
    return [c["value"] for c in fdef.choices]


def _choice_labels(fdef: FieldDef, lang: str) -> dict[str, str]:
    return {c["value"]: c["label"].get(lang, "") for c in fdef.choices}


def compare(live: FormDefinition | None, draft: FormDefinition) -> Impact:
    """The changes from `live` to `draft`, question by question (by key)."""
    if live is None:
        return Impact(first_version=True)
    lang = draft.default_language
    changes: list[Change] = []
    old = {f.name: f for f in live.answer_fields if f.other_of is None}
    new = {f.name: f for f in draft.answer_fields if f.other_of is None}
    old_pages, new_pages = _page_of(live), _page_of(draft)
    for name, fdef in new.items():
        if name not in old:
            changes.append(Change("added", name, fdef.report_label(lang)))
    for name, before in old.items():
        label = before.report_label(lang)
        after = new.get(name)
        if after is None:
            changes.append(Change("removed", name, label))
            continue
        label = after.report_label(lang)
        if after.type != before.type:
            changes.append(Change("retyped", name, label, (before.type, after.type)))
        if old_pages.get(name) != new_pages.get(name):
            changes.append(
                Change("moved", name, label, (str(old_pages[name] + 1), str(new_pages[name] + 1)))
            )
        changes += _choice_changes(before, after, label, lang)
        if (before.relevant, before.required, before.constraint) != (
            after.relevant,
            after.required,
            after.constraint,
        ):
            changes.append(Change("condition", name, label))
    return Impact(changes=changes)


def _choice_changes(before: FieldDef, after: FieldDef, label: str, lang: str) -> list[Change]:
    if not before.choices or not after.choices:
        return []
    gone = [code for code in _codes(before) if code not in _codes(after)]
    changes = []
    if gone:
        old_labels, new_labels = _choice_labels(before, lang), _choice_labels(after, lang)
        recoded = [
            f"{code} → {new}"
            for code in gone
            for new, text in new_labels.items()
            if text and text == old_labels.get(code) and new not in old_labels
        ]
        if recoded:
            changes.append(Change("choices_recoded", before.name, label, tuple(recoded)))
        plain = [code for code in gone if not any(r.startswith(f"{code} →") for r in recoded)]
        if plain:
            changes.append(Change("choices_removed", before.name, label, tuple(plain)))
    return changes


def count_affected(impact: Impact, user: User, form: Form) -> Impact:
    """Fill in how many earlier responses the user may see answered each changed question."""
    names = {c.name for c in impact.changes if c.kind != "added"}
    if not names:
        return impact
    ids = [d.id for d in scope.visible_districts(user)]
    counts = dict(
        db.session.execute(
            sa.select(Answer.field, sa.func.count(sa.distinct(Answer.response_id)))
            .join(Response, Response.id == Answer.response_id)
            .where(
                Response.district_id.in_(ids),
                *scope.responses_where(form=form),
                Answer.field.in_(names),
            )
            .group_by(Answer.field)
        ).all()
    )
    for change in impact.changes:
        if change.kind != "added":
            change.responses = counts.get(change.name, 0)
    return impact
