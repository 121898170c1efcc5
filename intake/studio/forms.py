"""The studio's inputs read into definition pieces, with a message at each wrong input.

The question editor's inputs depend on the form's languages and on the number of
choices, so they are read from the posted data here rather than declared as WTForms
fields; CSRF is checked by the views' FlaskForm as everywhere else. Every function
returns what it read and a dict of input name -> messages (empty: all good).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from intake.engine import repeats
from intake.engine.definition import FieldDef
from intake.engine.fieldtypes import FIELD_TYPES
from intake.engine.texts import INSERTED_ANY
from intake.engine.validation import RESERVED_NAMES, VALUE_RE
from intake.studio import editing
from intake.studio.expressions import (
    NUMBER_RE,
    OPERATORS,
    PRESETS_FOR,
    Check,
    Clause,
    compile_check,
    compile_condition,
    read_check,
    read_condition,
)
from intake.studio.expressions import (
    VALUE_RE as CONDITION_VALUE_RE,
)

LIMITS = {"label": 500, "hint": 1000, "choice": 200, "title": 200, "intro": 2000, "notice": 5000}
#: Empty rows offered for new choices, and condition rows, in the editor.
NEW_CHOICE_ROWS = 3
CONDITION_ROWS = 3
MAX_CHOICES = 100

Errors = dict[str, list[str]]

#: How the studio names each question type, in its menu and its list of questions.
TYPE_NAMES = {
    "text": _l("Short text"),
    "textarea": _l("Long text"),
    "email": _l("Email address"),
    "phone": _l("Phone number"),
    "integer": _l("Whole number"),
    "decimal": _l("Number with decimals"),
    "date": _l("Date"),
    "time": _l("Time of day"),
    "geopoint": _l("Location (latitude and longitude)"),
    "single_choice": _l("One choice"),
    "multiple_choice": _l("Several choices"),
    "rating": _l("Rating (1 to 5)"),
    "yes_no": _l("Yes or no"),
    "consent": _l("Consent"),
    "municipality": _l("Municipality (of the districts)"),
    "note": _l("Information text (no answer)"),
    "hidden": _l("Hidden value (from the link)"),
    "calculate": _l("Calculated value (from a file)"),
    "repeat": _l("Repeated questions (one entry per person, child, …)"),
    "page": _l("Page"),
}


def _text(data: Mapping[str, str], name: str, limit: int, errors: Errors) -> str:
    value = (data.get(name) or "").strip()
    if len(value) > limit:
        errors.setdefault(name, []).append(
            _("At most %(n)s characters (this has %(m)s).", n=limit, m=len(value))
        )
    if "\x00" in value:
        errors.setdefault(name, []).append(_("This text contains a character that is not allowed."))
    return value


def texts(
    data: Mapping[str, str],
    prefix: str,
    languages: list[str],
    default: str,
    limit: int,
    errors: Errors,
    required: bool,
) -> dict[str, str]:
    """`prefix_<lang>` inputs as {lang: text}; the main language's is required if asked."""
    out = {}
    for lang in languages:
        value = _text(data, f"{prefix}_{lang}", limit, errors)
        if value:
            out[lang] = value
    if required and default not in out:
        errors.setdefault(f"{prefix}_{default}", []).append(
            _("Please enter the text in the form's main language.")
        )
    return out


@dataclass
class QuestionInput:
    """What the question editor shows: the question's values and, after a post, the raw inputs."""

    item: dict[str, Any]
    choices: list[dict[str, Any]] = field(default_factory=list)
    clauses: list[Clause] = field(default_factory=list)
    joiner: str = "and"
    #: The condition as an expression when the builder cannot show it (from a file).
    raw_condition: str | None = None
    check: Check | None = None
    raw_check: str | None = None


def show(item: dict[str, Any]) -> QuestionInput:
    """The editor's view of a stored question."""
    read = read_condition(item.get("relevant") if isinstance(item.get("relevant"), str) else None)
    check = read_check(item.get("constraint"))
    return QuestionInput(
        item=item,
        choices=list(item.get("choices") or []),
        clauses=read[0] if read else [],
        joiner=read[1] if read else "and",
        raw_condition=None if read else item.get("relevant"),
        check=check or None,
        raw_check=item.get("constraint") if check is False else None,
    )


def read_question(
    data: Mapping[str, str],
    ftype: str,
    stored: dict[str, Any] | None,
    raw: dict[str, Any],
    key_locked: bool,
) -> tuple[dict[str, Any], Errors]:
    """The question of type `ftype` the editor posted (`stored`: the one it changes)."""
    errors: Errors = {}
    languages, default = raw["languages"], raw["default_language"]
    kind = FIELD_TYPES.get(ftype)
    if kind is None:
        return {}, {"type": [_("Please choose a question type.")]}
    item: dict[str, Any] = dict(stored or {"type": ftype})
    item["label"] = texts(
        data, "label", languages, default, LIMITS["label"], errors, kind.needs_label
    )
    if not item["label"]:
        item.pop("label")
    item["hint"] = texts(data, "hint", languages, default, LIMITS["hint"], errors, False)
    taken = editing.names(raw) - ({stored["name"]} if stored else set())
    item["name"] = _key(data, stored, item, taken, key_locked, errors)
    if kind.answerable and kind.may_be_required:
        item["required"] = data.get("required") == "on"
    if kind.repeat:
        _counts(data, item, errors)
    elif kind.answerable:
        item["personal"] = data.get("personal") == "on" or data.get("sensitive") == "on"
    if kind.may_be_sensitive and kind.answerable:
        item["sensitive"] = data.get("sensitive") == "on"
    if kind.prefillable:
        item["prefill"] = data.get("prefill") == "on"
        if item["prefill"] and item.get("sensitive"):
            errors["prefill"] = [_("A special-category answer cannot be filled in from a link.")]
    if ftype in editing.ONCE_PER_FORM and editing.asks(raw, ftype, besides=stored):
        errors["type"] = [
            _("This form already has a question of the type “%(type)s”.", type=TYPE_NAMES[ftype])
        ]
    if kind.choice:
        item["choices"] = _choices(data, languages, default, errors)
        if kind.other:
            item["other"] = data.get("other") == "on"
    _condition(data, item, raw, errors)
    if kind.answerable and kind.constrainable:
        _check(data, item, ftype, languages, default, errors)
    _inserted_answers(data, raw, item, errors)
    return item, errors


def _counts(data: Mapping[str, str], item: dict[str, Any], errors: Errors) -> None:
    """A repeat's least and most entries (its questions are added one by one after)."""
    item.setdefault("fields", [])
    limit = repeats.MAX_COUNT_LIMIT
    for key, fallback in (("min_count", 0), ("max_count", repeats.DEFAULT_MAX_COUNT)):
        text = (data.get(key) or "").strip()
        if not text:
            item[key] = fallback
        elif text.isascii() and text.isdigit() and int(text) <= limit:
            item[key] = int(text)
        else:
            errors[key] = [_("Please enter a whole number from 0 to %(limit)s.", limit=limit)]
            item[key] = fallback
    if "min_count" in errors or "max_count" in errors:
        return
    if item["max_count"] < 1:
        errors["max_count"] = [_("Please allow at least one entry.")]
    elif item["min_count"] > item["max_count"]:
        errors["min_count"] = [_("The least number of entries is more than the most.")]


#: The inputs whose texts may insert answers with ${key}.
_TEXT_INPUTS = ("label_", "hint_", "check_message_", "choice_")


def _inserted_answers(
    data: Mapping[str, str], raw: dict[str, Any], item: dict[str, Any], errors: Errors
) -> None:
    """ "Wie alt ist ${name}?": a text may insert the answer of a question of the form."""
    known = {f["name"] for f in editing.items(raw) if FIELD_TYPES[f["type"]].answerable}
    if FIELD_TYPES[item["type"]].answerable:
        known.add(item["name"])
    for name, value in data.items():
        if not name.startswith(_TEXT_INPUTS) or name.startswith(("choice_code_", "choice_remove_")):
            continue
        for ref in sorted(set(INSERTED_ANY.findall(value or "")) - known):
            errors.setdefault(name, []).append(
                _(
                    "“${%(key)s}” would insert the answer to the question with the key "
                    "“%(key)s”, and this form has none.",
                    key=ref,
                )
            )


def _key(
    data: Mapping[str, str],
    stored: dict[str, Any] | None,
    item: dict[str, Any],
    taken: set[str],
    locked: bool,
    errors: Errors,
) -> str:
    if stored and locked:
        return stored["name"]
    key = (data.get("key") or "").strip()
    if not key and stored:
        return stored["name"]  # left empty: the question keeps its key
    if not key:
        label = next(iter(item.get("label", {}).values()), "") or item["type"]
        return editing.key_for(label, taken)
    if not editing.valid_key(key):
        errors["key"] = [
            _("The key must start with a-z and use only a-z, 0-9 and _ (at most 63 characters).")
        ]
    elif key in taken:
        errors["key"] = [_("Another question of this form has the key “%(key)s”.", key=key)]
    elif key in RESERVED_NAMES:
        errors["key"] = [
            _("The form uses the key “%(key)s” for itself. Please choose another.", key=key)
        ]
    return key


def _choices(
    data: Mapping[str, str], languages: list[str], default: str, errors: Errors
) -> list[dict[str, Any]]:
    rows = posted_rows(data, "choice_code_")
    out: list[dict[str, Any]] = []
    seen: dict[str, str] = {}
    for i in range(rows):
        if data.get(f"choice_remove_{i}") == "on":
            continue
        code = (data.get(f"choice_code_{i}") or "").strip()
        label = {}
        for lang in languages:
            text = _text(data, f"choice_{lang}_{i}", LIMITS["choice"], errors)
            if text:
                label[lang] = text
        if not code and not label:
            continue
        if not code:
            code = editing.key_for(label.get(default) or next(iter(label.values())), set(seen))
            code = code.replace("_", "-")[:64]
        if not VALUE_RE.match(code):
            errors.setdefault(f"choice_code_{i}", []).append(
                _("A code is short text of a-z, A-Z, 0-9, _ . and - (like “phone”).")
            )
        elif code in seen:
            errors.setdefault(f"choice_code_{i}", []).append(
                _("The code “%(code)s” is used twice.", code=code)
            )
        seen[code] = code
        if default not in label:
            errors.setdefault(f"choice_{default}_{i}", []).append(
                _("Please enter the choice in the form's main language.")
            )
        out.append({"value": code, "label": label})
    if not out:
        errors.setdefault("choices", []).append(_("Please enter at least one choice."))
    if len(out) > MAX_CHOICES:
        errors.setdefault("choices", []).append(
            _("At most %(n)s choices per question.", n=MAX_CHOICES)
        )
    return out


def posted_rows(data: Mapping[str, str], prefix: str) -> int:
    """How many numbered rows were posted (bounded: a crafted post cannot make it large)."""
    count = 0
    while count <= MAX_CHOICES + NEW_CHOICE_ROWS and f"{prefix}{count}" in data:
        count += 1
    return count


def _condition(
    data: Mapping[str, str], item: dict[str, Any], raw: dict[str, Any], errors: Errors
) -> None:
    """The "show this question if ..." rows; a kept expression from a file stays unless
    the builder is used or "no condition" is chosen."""
    if data.get("condition_keep") == "on" and item.get("relevant"):
        return
    before = {f["name"]: f for f in editing.items(raw)}
    numeric = {n for n, f in before.items() if FIELD_TYPES[f["type"]].bounds}
    clauses = []
    for i in range(CONDITION_ROWS):
        question = data.get(f"cond_q_{i}") or ""
        if not question:
            continue
        operator = data.get(f"cond_op_{i}") or ""
        value = (data.get(f"cond_value_{i}") or "").strip()
        if question not in before or question == item.get("name"):
            errors[f"cond_q_{i}"] = [_("Please choose a question that comes before this one.")]
            continue
        if operator not in OPERATORS:
            errors[f"cond_op_{i}"] = [_("Please choose how to compare.")]
            continue
        if operator in ("more", "less") and not NUMBER_RE.match(value):
            errors[f"cond_value_{i}"] = [_("Please enter a number, like 18.")]
            continue
        if not CONDITION_VALUE_RE.match(value):
            errors[f"cond_value_{i}"] = [
                _("Please enter a value (at most 64 characters, no quotation marks).")
            ]
            continue
        clauses.append(Clause(question, operator, value))
    joiner = "or" if data.get("cond_join") == "or" else "and"
    expression = compile_condition(clauses, joiner, numeric)
    if expression:
        item["relevant"] = expression
    else:
        item.pop("relevant", None)


def _check(
    data: Mapping[str, str],
    item: dict[str, Any],
    ftype: str,
    languages: list[str],
    default: str,
    errors: Errors,
) -> None:
    preset = data.get("check") or ""
    if preset == "keep" and item.get("constraint"):
        return
    item.pop("constraint", None)
    item.pop("constraint_message", None)
    if not preset:
        return
    if preset not in PRESETS_FOR.get(ftype, ()):
        errors["check"] = [_("Please choose one of the checks offered for this question.")]
        return
    low = (data.get("check_low") or "").strip()
    high = (data.get("check_high") or "").strip()
    if preset in ("range", "length"):
        pattern = NUMBER_RE if preset == "range" else None
        for name, value in (("check_low", low), ("check_high", high)):
            if value and not (pattern.match(value) if pattern else value.isdigit()):
                errors[name] = [_("Please enter a number, like 18.")]
        if not low and not high:
            errors["check_low"] = [_("Please enter the smallest or the largest value.")]
        if not errors.get("check_low") and not errors.get("check_high") and low and high:
            if float(low) > float(high):
                errors["check_high"] = [_("The largest value is smaller than the smallest.")]
    message = texts(data, "check_message", languages, default, LIMITS["hint"], errors, True)
    if any(k in errors for k in ("check", "check_low", "check_high")):
        return
    item["constraint"] = compile_check(Check(preset, low, high))
    item["constraint_message"] = message


def read_details(
    data: Mapping[str, str], raw: dict[str, Any], offered: list[str]
) -> tuple[dict[str, Any], Errors]:
    """Title, introduction, languages and privacy notice from the details page."""
    errors: Errors = {}
    default = raw["default_language"]
    languages = [
        lang for lang in offered if data.get(f"language_{lang}") == "on" or lang == default
    ]
    details: dict[str, Any] = {
        "languages": languages,
        "title": texts(data, "title", languages, default, LIMITS["title"], errors, True),
        "intro": texts(data, "intro", languages, default, LIMITS["intro"], errors, False),
    }
    notice = texts(data, "notice", languages, default, LIMITS["notice"], errors, False)
    if notice and default not in notice:  # a notice in other languages needs the main one
        errors.setdefault(f"notice_{default}", []).append(
            _("Please enter the text in the form's main language.")
        )
    privacy = dict(raw.get("privacy") or {})
    if notice:
        privacy["notice"] = notice
        privacy["version"] = (
            (data.get("privacy_version") or "").strip()[:64] or privacy.get("version") or "1"
        )
        details["privacy"] = privacy
    elif privacy:
        details["privacy"] = {}
    dropped = set(raw["languages"]) - set(languages)
    if dropped:
        details.update(_without_languages(raw, dropped))
    return details, errors


def _without_languages(raw: dict[str, Any], dropped: set[str]) -> dict[str, Any]:
    """The fields with their texts in the dropped languages removed (a repeat's too)."""

    def without(item: dict[str, Any]) -> dict[str, Any]:
        item = dict(item)
        for key in ("label", "hint", "constraint_message"):
            if isinstance(item.get(key), dict):
                item[key] = {k: v for k, v in item[key].items() if k not in dropped}
        if item.get("choices"):
            item["choices"] = [
                {**c, "label": {k: v for k, v in c["label"].items() if k not in dropped}}
                for c in item["choices"]
            ]
        if "fields" in item:
            item["fields"] = [without(child) for child in item["fields"]]
        return item

    return {"fields": [without(item) for item in raw["fields"]]}


def label_of(item: FieldDef | dict[str, Any], lang: str) -> str:
    """A question's label in `lang`, else in any language, else its key."""
    raw = item.raw if isinstance(item, FieldDef) else item
    label = raw.get("label") or {}
    return label.get(lang) or next(iter(label.values()), "") or raw["name"]
