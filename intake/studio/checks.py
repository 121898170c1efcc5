"""What stops a draft from being published, each named with the question it concerns."""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import gettext as _

from intake.engine.definition import FormDefinition
from intake.engine.expressions import parse, references

#: The keys whose expressions read other answers.
EXPRESSION_KEYS = ("relevant", "required", "constraint", "choice_filter")


@dataclass(frozen=True)
class Problem:
    """A reason not to publish; `field` names the question to fix (None: the form's details)."""

    message: str
    field: str | None = None


def publish_problems(definition: FormDefinition) -> list[Problem]:
    """Every reason the definition may not go live, in the order of the form."""
    problems: list[Problem] = []
    answerable = [f for f in definition.fields if f.answerable and f.other_of is None]
    if not answerable:
        problems.append(Problem(_("The form has no questions yet.")))
    problems += [
        Problem(
            _(
                "“%(question)s” has no questions yet: add the questions each entry asks.",
                question=repeat.report_label(definition.default_language),
            ),
            repeat.name,
        )
        for repeat in definition.repeats
        if not definition.children(repeat.name)
    ]
    problems += _privacy_problems(definition)
    problems += _missing_texts(definition)
    problems += _reference_problems(definition)
    return problems


def _privacy_problems(definition: FormDefinition) -> list[Problem]:
    personal = [f for f in definition.fields if f.answerable and (f.personal or f.sensitive)]
    if not personal:
        return []
    found: list[Problem] = []
    first = personal[0]
    if definition.privacy_notice(definition.default_language) is None:
        found.append(
            Problem(
                _(
                    "“%(question)s” asks for personal data: the form needs a privacy notice.",
                    question=first.report_label(definition.default_language),
                )
            )
        )
    if not any(f.type == "consent" for f in definition.fields):
        found.append(
            Problem(
                _(
                    "“%(question)s” asks for personal data: the form needs a consent question.",
                    question=first.report_label(definition.default_language),
                ),
                first.name,
            )
        )
    return found


def _missing_texts(definition: FormDefinition) -> list[Problem]:
    """Texts the default language lacks (the engine refuses most of them already)."""
    lang = definition.default_language
    found = []
    for fdef in definition.fields:
        if fdef.other_of is not None or not fdef.kind.needs_label:
            continue
        texts = [fdef.raw.get("label") or {}] + [c["label"] for c in fdef.choices]
        if any(not t.get(lang) for t in texts):
            found.append(
                Problem(
                    _("“%(name)s” has a text missing in the form's main language.", name=fdef.name),
                    fdef.name,
                )
            )
    return found


def _reference_problems(definition: FormDefinition) -> list[Problem]:
    """Conditions and checks may read only questions asked before them."""
    position: dict[str, int] = {}
    found = []
    for index, fdef in enumerate(definition.fields):
        position[fdef.name] = index
    for index, fdef in enumerate(definition.fields):
        for key in EXPRESSION_KEYS:
            source = fdef.raw.get(key)
            if not isinstance(source, str):
                continue
            for ref in sorted(references(parse(source))):
                question = fdef.report_label(definition.default_language) or fdef.name
                if ref not in position:
                    message = _(
                        "“%(question)s” refers to “%(other)s”, which is not in the form.",
                        question=question,
                        other=ref,
                    )
                elif position[ref] >= index:
                    other = definition.field(ref)
                    message = _(
                        "“%(question)s” depends on “%(other)s”, which comes later in the form.",
                        question=question,
                        other=other.report_label(definition.default_language) if other else ref,
                    )
                else:
                    continue
                found.append(Problem(message, fdef.name))
    return found
