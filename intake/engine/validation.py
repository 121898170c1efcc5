"""Validation of form definitions: every problem located, the result normalised.

Checks a parsed definition (from YAML, JSON or an XLSForm) against the format of
docs/form-definitions.md and collects every problem with the field and what is wrong,
so a coordinator can fix them all in one go. What each field type accepts comes from
intake.engine.fieldtypes; the result is the stored, normalised mapping that
intake.engine.definition reads.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from intake.engine import repeats
from intake.engine.expressions import (
    ExpressionError,
    parse,
    pattern_problems,
    references,
    uses,
)
from intake.engine.fieldtypes import FIELD_TYPES, FieldType, name_list
from intake.engine.texts import INSERTED_ANY

SLUG_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")
NAME_RE = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
VALUE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
LANG_RE = re.compile(r"^[a-z]{2,3}(_[A-Z]{2})?$")
#: The names of the inputs and link parameters a form page has of its own: a question
#: with one of them would be overwritten by them (or overwrite them).
RESERVED_NAMES = frozenset(
    {
        "csrf_token",
        "idempotency_key",
        "district",
        "src",
        "page",
        "nav",
        "switch_lang",
        "embed_sig",
        "kiosk_gen",
        "lang",
    }
)

TOP_KEYS = {"form", "default_language", "languages", "title", "intro", "privacy", "fields"}
FIELD_KEYS = {
    "name",
    "type",
    "required",
    "label",
    "hint",
    "choices",
    "min",
    "max",
    "max_length",
    "personal",
    "sensitive",
    "prefill",
    "appearance",
    "relevant",
    "constraint",
    "constraint_message",
    "choice_filter",
    "other",
    "report_languages",
    "calculation",
    "default",
    "original",
    *repeats.KEYS,
}
#: `report_languages` on a choice field whose values are language codes: the PDF summary
#: sets the languages volunteers offer against the languages newcomers speak, per district.
REPORT_LANGUAGE_ROLES = ("offered", "needed")
#: The default `max_length` of each type that takes one.
DEFAULT_MAX_LENGTH = {t.name: t.max_length for t in FIELD_TYPES.values() if t.max_length}
#: Longest `max_length`: every expression reads answers cut to it, so it also bounds the
#: text an author's regex() pattern runs over (about 0.3 s for the worst RE2 pattern).
MAX_LENGTH_LIMIT = 10_000
# The types named in messages about keys only some types take.
_NUMBER_TYPES = name_list(t for t in FIELD_TYPES.values() if t.bounds)
_LENGTH_TYPES = name_list(t for t in FIELD_TYPES.values() if t.max_length)


#: Facts of the privacy block for the notice page (Art. 13) and the record of processing
#: (Art. 30): German text, or text per language (German binding); at most RECORD_TEXT_MAX
#: characters each. `contact`: how to reach the data protection officer.
RECORD_FACTS = ("controller", "purpose", "legal_basis", "recipients", "contact")
RECORD_TEXT_MAX = 1000
RETENTION_MAX_DAYS = 3650
EXPIRY_ACTIONS = ("delete", "anonymise")


class DefinitionError(Exception):
    """A form definition that cannot be used; `problems` lists every located problem."""

    def __init__(self, source: str, problems: list[str]):
        self.source = source
        self.problems = problems
        super().__init__("\n".join(f"{source}: {p}" for p in problems))


def validate(raw: Any, source: str) -> dict[str, Any]:
    """Check a parsed definition and return its normalised form."""
    problems: list[str] = []
    if not isinstance(raw, Mapping):
        raise DefinitionError(source, ["the top level must be a mapping with 'form' and 'fields'"])
    for key in sorted(set(raw) - TOP_KEYS):
        problems.append(f"unknown top-level key '{key}'")

    slug = raw.get("form")
    if not isinstance(slug, str) or not SLUG_RE.match(slug):
        problems.append("'form' must be a slug like 'volunteer' (a-z, 0-9, '-')")
    languages = raw.get("languages")
    if (
        not isinstance(languages, list)
        or not languages
        or not all(isinstance(x, str) and LANG_RE.match(x) for x in languages)
    ):
        problems.append("'languages' must be a list of language codes such as [de, en, ar]")
        languages = []
    elif len(set(languages)) != len(languages):
        problems.append("'languages' lists a language twice")
    default = raw.get("default_language")
    if not isinstance(default, str) or default not in languages:
        problems.append("'default_language' must be one of 'languages'")
        default = None
    langs = set(languages)

    out: dict[str, Any] = {
        "form": slug,
        "default_language": default,
        "languages": list(languages),
        "title": _texts(raw.get("title"), "'title'", langs, default, problems, required=True),
        "intro": _texts(raw.get("intro"), "'intro'", langs, default, problems),
        "privacy": _privacy(raw.get("privacy"), langs, default, problems),
        "fields": [],
    }
    fields = raw.get("fields")
    if not isinstance(fields, list) or not fields:
        problems.append("'fields' must be a non-empty list")
        fields = []
    seen: set[str] = set()
    for index, field in enumerate(fields):
        norm = _field(field, index, langs, default, seen, problems)
        if norm is not None:
            out["fields"].append(norm)
    for kind in FIELD_TYPES.values():
        # The place decides which district receives the response: there can be only one.
        if kind.place and sum(1 for f in out["fields"] if f["type"] == kind.name) > 1:
            problems.append(f"a form may have at most one '{kind.name}' field")
    _check_references(out["fields"], problems)
    if problems:
        raise DefinitionError(source, problems)
    return out


def _where(field: Any, index: int, within: str = "") -> str:
    """Name a field for an error message: by name when it has one, always by position
    (`within`: the repeat it is in, "fields[3]")."""
    name = field.get("name") if isinstance(field, Mapping) else None
    position = f"{within}.fields[{index}]" if within else f"fields[{index}]"
    if isinstance(name, str) and name:
        return f"field '{name}' ({position})"
    return position


def _field(
    field: Any,
    index: int,
    langs: set[str],
    default: str,
    seen: set[str],
    problems: list[str],
    within: str = "",
) -> dict[str, Any] | None:
    """Validate and normalise one field; append located problems."""
    where = _where(field, index, within)
    if not isinstance(field, Mapping):
        problems.append(f"{where}: must be a mapping with 'name', 'type' and 'label'")
        return None
    for key in sorted(set(field) - FIELD_KEYS):
        problems.append(f"{where}: unknown key '{key}'")
    name = _name(field, where, seen, problems)
    ftype = field.get("type")
    kind = FIELD_TYPES.get(ftype) if isinstance(ftype, str) else None
    if kind is None:
        problems.append(f"{where}: 'type' must be one of {', '.join(FIELD_TYPES)}; got {ftype!r}")
        return None
    out: dict[str, Any] = {
        "name": name,
        "type": ftype,
        "required": _required(field, where, problems),
        "personal": _bool(field, "personal", where, problems),
        "prefill": _bool(field, "prefill", where, problems),
        "label": _texts(
            field.get("label") if kind.needs_label or "label" in field else {default: name},
            f"{where}: 'label'",
            langs,
            default,
            problems,
            True,
        ),
        "hint": _texts(field.get("hint"), f"{where}: 'hint'", langs, default, problems),
    }
    _answer_flags(field, out, kind, where, problems)
    _logic_keys(field, out, kind, where, langs, default, problems)
    if kind.choice:
        _choice_keys(field, out, kind, where, langs, default, problems)
    else:
        for key in ("choices", "choice_filter", "other", "appearance", "report_languages"):
            if key in field:
                problems.append(f"{where}: only choice fields have '{key}'")
    if kind.bounds:
        _bounds(field, out, kind, where, problems)
    elif "min" in field or "max" in field:
        problems.append(f"{where}: only {_NUMBER_TYPES} fields have 'min' and 'max'")
    _max_length(field, out, kind, where, problems)
    _calculation(field, out, kind, where, problems)
    _original(field, out, where, problems)  # member-name -> member_name
    if "default" in field:
        value = field["default"]
        if not kind.takes_default:
            problems.append(f"{where}: only a hidden field has a 'default'")
        elif not isinstance(value, str | int | float) or isinstance(value, bool):
            problems.append(f"{where}: 'default' must be text or a number")
        elif len(str(value)) > 200:
            problems.append(f"{where}: 'default' may be at most 200 characters")
        else:
            out["default"] = str(value)
    _repeat(field, out, kind, where, langs, default, seen, problems, index, within)
    return out


def _original(given: Mapping, out: dict[str, Any], where: str, problems: list[str]) -> None:
    """`original`: the name an XLSForm gave a question or choice, where ours differs."""
    if "original" not in given:
        return
    original = given["original"]
    if not isinstance(original, str) or not 0 < len(original) <= 200:
        problems.append(f"{where}: 'original' must be the name it had, at most 200")
    else:
        out["original"] = original


def _repeat_counts(field: Mapping, where: str, problems: list[str]) -> dict[str, int]:
    """A repeat's `min_count` (0 when not given) and `max_count` (repeats.DEFAULT_MAX_COUNT)."""
    counts = {}
    for key, fallback in (("min_count", 0), ("max_count", repeats.DEFAULT_MAX_COUNT)):
        value = field.get(key, fallback)
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            problems.append(f"{where}: '{key}' must be a whole number, 0 or more")
            value = fallback
        elif value > repeats.MAX_COUNT_LIMIT:
            problems.append(f"{where}: '{key}' may be at most {repeats.MAX_COUNT_LIMIT}")
            value = repeats.MAX_COUNT_LIMIT
        counts[key] = value
    if counts["max_count"] < 1:
        problems.append(f"{where}: 'max_count' must be at least 1")
    elif counts["min_count"] > counts["max_count"]:
        problems.append(f"{where}: 'min_count' is greater than 'max_count'")
    return counts


def _repeat(
    field: Mapping,
    out: dict[str, Any],
    kind: FieldType,
    where: str,
    langs: set[str],
    default: str,
    seen: set[str],
    problems: list[str],
    index: int,
    within: str,
) -> None:
    """A repeat's questions and its `min_count` and `max_count`; no other type has them."""
    if not kind.repeat:
        for key in repeats.KEYS:
            if key in field:
                problems.append(f"{where}: only a repeat has '{key}'")
        return
    if within:
        problems.append(f"{where}: a repeat cannot be inside a repeat")
        return
    out.update(_repeat_counts(field, where, problems))
    if "repeat_count" in field:
        # The number of entries made from earlier answers ("${children}"): the person
        # adds and removes none.
        if "min_count" in field:
            problems.append(f"{where}: a repeat with 'repeat_count' takes no 'min_count'")
        source = _expression(field["repeat_count"], f"{where}: 'repeat_count'", problems)
        if source is not None:
            out["repeat_count"] = source
    children = field.get("fields")
    out["fields"] = []
    if not isinstance(children, list):
        # An empty list is a repeat being built (the studio asks for its questions
        # before it can be published).
        problems.append(f"{where}: a repeat needs 'fields', the questions of each entry")
        return
    here = f"fields[{index}]"
    for number, child in enumerate(children):
        norm = _field(child, number, langs, default, seen, problems, within=here)
        if norm is None:
            continue
        child_kind = FIELD_TYPES[norm["type"]]
        if child_kind.page_break or child_kind.place:
            what = "a page break" if child_kind.page_break else "the municipality"
            problems.append(f"{_where(child, number, here)}: a repeat cannot hold {what}")
        elif not child_kind.repeat:
            out["fields"].append(norm)
        if norm["prefill"]:  # a link names one answer, not one per entry
            problems.append(
                f"{_where(child, number, here)}: a question inside a repeat cannot be "
                "prefilled from a link"
            )


def _calculation(
    field: Mapping, out: dict[str, Any], kind: FieldType, where: str, problems: list[str]
) -> None:
    """A calculate field's expression; no other type has one."""
    source = field.get("calculation")
    if not kind.calculated:
        if source is not None:
            problems.append(f"{where}: only a calculate field has a 'calculation'")
        return
    if not isinstance(source, str) or not source.strip():
        problems.append(f"{where}: a calculate field needs a 'calculation'")
        return
    try:
        parse(source)
    except ExpressionError as exc:
        problems.append(f"{where}: 'calculation': {exc}")
        return
    out["calculation"] = source


def _name(field: Mapping, where: str, seen: set[str], problems: list[str]) -> Any:
    """The field's `name` as written, added to `seen` when it is valid and new."""
    name = field.get("name")
    if not isinstance(name, str) or not NAME_RE.match(name):
        problems.append(f"{where}: 'name' must start with a-z and use only a-z, 0-9 and '_'")
    elif name in RESERVED_NAMES:
        problems.append(
            f"{where}: the name '{name}' is one the form page uses for itself "
            f"({', '.join(sorted(RESERVED_NAMES))}); please choose another"
        )
    elif name in seen:
        problems.append(f"{where}: the name '{name}' is used twice")
    else:
        seen.add(name)
    return name


def _answer_flags(
    field: Mapping, out: dict[str, Any], kind: FieldType, where: str, problems: list[str]
) -> None:
    """`sensitive`, `prefill`, `required` and `personal` against what the type allows."""
    ftype = out["type"]
    if kind.sensitive_by_default and "sensitive" not in field:
        out["sensitive"] = True  # unless the definition says `sensitive: false`
    elif kind.sensitive_by_default and field.get("sensitive") is False:
        out["sensitive"] = False  # said, and kept: without it the field would be sensitive
    if field.get("sensitive") is not None and _bool(field, "sensitive", where, problems):
        # Kept only when true, so definitions without it keep their checksum.
        out["sensitive"] = True
        if not kind.may_be_sensitive:
            problems.append(f"{where}: a {ftype} field cannot be 'sensitive'")
        if field.get("prefill"):
            problems.append(f"{where}: a sensitive field cannot be prefilled from a link")
    if out["prefill"] and not kind.prefillable:
        problems.append(f"{where}: a {ftype} field cannot be prefilled from a link")
    if not kind.answerable:
        for key in ("required", "personal", "prefill"):
            if field.get(key):
                problems.append(f"{where}: a {ftype} takes no answer, so it cannot be '{key}'")
    elif not kind.may_be_required and field.get("required"):
        problems.append(f"{where}: a {ftype} field cannot be required")


def _logic_keys(
    field: Mapping,
    out: dict[str, Any],
    kind: FieldType,
    where: str,
    langs: set[str],
    default: str,
    problems: list[str],
) -> None:
    """The expressions `relevant`, `constraint` and `choice_filter`, and `constraint_message`."""
    for key in ("relevant", "constraint", "choice_filter"):
        if key in field:
            out[key] = _expression(field[key], f"{where}: '{key}'", problems)
    if "constraint" in field and not kind.constrainable:
        problems.append(f"{where}: a {out['type']} has no answer to constrain")
    if "constraint_message" in field:
        if "constraint" not in field:
            problems.append(f"{where}: 'constraint_message' needs a 'constraint'")
        out["constraint_message"] = _texts(
            field["constraint_message"], f"{where}: 'constraint_message'", langs, default, problems
        )


def _max_length(
    field: Mapping, out: dict[str, Any], kind: FieldType, where: str, problems: list[str]
) -> None:
    """`max_length` of a type that takes one (its default when not given)."""
    if kind.max_length is not None:
        max_length = field.get("max_length", kind.max_length)
        if isinstance(max_length, bool) or not isinstance(max_length, int) or max_length < 1:
            problems.append(f"{where}: 'max_length' must be a positive whole number")
        elif max_length > MAX_LENGTH_LIMIT:
            problems.append(f"{where}: 'max_length' may be at most {MAX_LENGTH_LIMIT} characters")
        out["max_length"] = max_length
    elif "max_length" in field:
        problems.append(f"{where}: only {_LENGTH_TYPES} have 'max_length'")


def _choice_keys(
    field: Mapping,
    out: dict[str, Any],
    kind: FieldType,
    where: str,
    langs: set[str],
    default: str,
    problems: list[str],
) -> None:
    """Choices, appearance and `other` of a choice field."""
    out["choices"] = _choices(field.get("choices"), where, langs, default, problems)
    allowed = tuple(appearance for appearance, _partial in kind.appearances)
    appearance = field.get("appearance", allowed[0])
    if appearance not in allowed:
        problems.append(f"{where}: 'appearance' must be one of {', '.join(allowed)}")
    out["appearance"] = appearance
    if "report_languages" in field:
        role = field["report_languages"]
        if not kind.report_languages:
            problems.append(
                f"{where}: only a single or multiple choice can have 'report_languages'"
            )
        elif role not in REPORT_LANGUAGE_ROLES:
            problems.append(f"{where}: 'report_languages' must be 'offered' or 'needed'")
        else:
            out["report_languages"] = role
    if "other" in field:
        if not kind.other:
            problems.append(f"{where}: a {kind.name} has no 'other' answer")
        # Kept only when true (like 'sensitive'): one definition, one normal form.
        if _bool(field, "other", where, problems):
            out["other"] = True
            if any(c["value"] == "other" for c in out["choices"]):
                problems.append(f"{where}: with 'other: true' no choice may have the value 'other'")


def _bounds(
    field: Mapping, out: dict[str, Any], kind: FieldType, where: str, problems: list[str]
) -> None:
    """`min` and `max` of a number field: whole numbers for integer, any for decimal."""
    whole = kind.bounds == "whole"
    kinds: tuple[type, ...] = (int,) if whole else (int, float)
    for key in ("min", "max"):
        value = field.get(key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, kinds)):
            word = "a whole number" if whole else "a number"
            problems.append(f"{where}: '{key}' must be {word}")
            value = None
        out[key] = value
    if out["min"] is not None and out["max"] is not None and out["min"] > out["max"]:
        problems.append(f"{where}: 'min' is greater than 'max'")


def _required(field: Mapping, where: str, problems: list[str]) -> bool | str:
    """`required` is true, false, or an expression ("required if")."""
    value = field.get("required", False)
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        return _expression(value, f"{where}: 'required'", problems) or False
    problems.append(f"{where}: 'required' must be true, false or an expression")
    return False


def _expression(value: Any, where: str, problems: list[str]) -> str | None:
    """Check that an expression parses; keep its text (the tree is made at run time)."""
    if not isinstance(value, str) or not value.strip():
        problems.append(f'{where} must be an expression such as "${{age}} >= 18"')
        return None
    try:
        tree = parse(value)
    except ExpressionError as exc:
        problems.append(f"{where}: {exc}")
        return None
    # A pattern RE2 cannot run matches nothing at run time: say so now, not to respondents.
    problems.extend(f"{where}: {problem}" for problem in pattern_problems(tree))
    return value.strip()


def _check_references(fields: list[dict[str, Any]], problems: list[str]) -> None:
    """Expressions may only read fields that exist and take an answer; a calculation
    only those before it; position(..) works only inside a repeat."""
    # A repeat's questions follow it, each with the repeat it is in.
    flat = [
        (f, repeat)
        for top in fields
        for f, repeat in [(top, None)] + [(c, top["name"]) for c in top.get("fields") or []]
    ]
    # Fields whose name is unusable were reported already; they take no part here.
    flat = [(f, r) for f, r in flat if isinstance(f.get("name"), str) and NAME_RE.match(f["name"])]
    answerable = {f["name"] for f, _r in flat if FIELD_TYPES[f["type"]].answerable} | {
        f"{f['name']}_other" for f, _r in flat if f.get("other")
    }
    names = [f["name"] for f, _r in flat]
    _check_calculations([f for f, _r in flat], problems)
    for f, repeat in flat:
        if f.get("other") and f"{f['name']}_other" in names:
            problems.append(
                f"field '{f['name']}': 'other: true' adds '{f['name']}_other', "
                "which is already a field"
            )
        for key in ("relevant", "required", "constraint", "choice_filter", *_EARLIER_ONLY):
            source = f.get(key)
            if not isinstance(source, str):
                continue
            tree = parse(source)
            if repeat is None and uses(tree, "parent"):
                problems.append(
                    f"field '{f['name']}': '{key}': position(..) only works inside a repeat"
                )
            if key in _EARLIER_ONLY:
                continue  # its references are checked above
            for ref in sorted(references(tree) - answerable):
                problems.append(f"field '{f['name']}': '{key}' refers to ${{{ref}}}, no such field")
            if key == "constraint" and uses(tree, "name"):
                problems.append(
                    f"field '{f['name']}': names without ${{}} only work in choice_filter"
                )
            if key != "constraint" and uses(tree, "cur"):
                problems.append(f"field '{f['name']}': '.' (this answer) only works in constraint")
        for key, text in texts_of(f):
            for ref in sorted(set(INSERTED_ANY.findall(text)) - answerable):
                problems.append(f"field '{f['name']}': '{key}' inserts ${{{ref}}}, no such field")


#: Expressions that may read only the questions before them.
_EARLIER_ONLY = ("calculation", "repeat_count")


def _check_calculations(fields: list[dict[str, Any]], problems: list[str]) -> None:
    """A calculation reads only the questions before it (a repeat's come after it)."""
    earlier: set[str] = set()
    for f in fields:
        for key in ("calculation", "repeat_count"):
            source = f.get(key)
            if not isinstance(source, str):
                continue
            tree = parse(source)
            for ref in sorted(references(tree) - earlier):
                problems.append(
                    f"field '{f['name']}': '{key}' refers to ${{{ref}}}, which is not "
                    "a question before it"
                )
            if uses(tree, "cur") or uses(tree, "name"):
                problems.append(f"field '{f['name']}': a '{key}' reads answers as ${{name}}")
        if FIELD_TYPES[f["type"]].answerable:
            earlier.add(f["name"])
            earlier |= {f"{f['name']}_other"} if f.get("other") else set()


def texts_of(field: Mapping[str, Any]):
    """(key, text) of every text of a field that may insert answers, in every language."""
    for key in ("label", "hint", "constraint_message"):
        texts = field.get(key)
        if isinstance(texts, Mapping):
            yield from ((key, t) for t in texts.values() if isinstance(t, str))
    for choice in field.get("choices") or []:
        label = choice.get("label") if isinstance(choice, Mapping) else None
        if isinstance(label, Mapping):
            yield from (("choices", t) for t in label.values() if isinstance(t, str))


def _bool(field: Mapping, key: str, where: str, problems: list[str]) -> bool:
    """Read an optional true/false key."""
    value = field.get(key, False)
    if not isinstance(value, bool):
        problems.append(f"{where}: '{key}' must be true or false")
        return False
    return value


def _texts(
    value: Any,
    where: str,
    langs: set[str],
    default: str,
    problems: list[str],
    required: bool = False,
) -> dict[str, str]:
    """Validate a per-language text mapping such as {de: ..., en: ...}."""
    if value is None:
        if required:
            problems.append(f"{where} is missing")
        return {}
    if not isinstance(value, Mapping):
        problems.append(f"{where} must map language codes to text, e.g. {{de: ..., en: ...}}")
        return {}
    out: dict[str, str] = {}
    for lang, text in value.items():
        if lang not in langs:
            problems.append(f"{where} has text for '{lang}', which is not in 'languages'")
        elif not isinstance(text, str) or not text.strip():
            problems.append(f"{where} for '{lang}' must be non-empty text")
        else:
            out[lang] = text.strip()
    if required and default in langs and default not in out:
        problems.append(f"{where} needs a text in the default language '{default}'")
    return out


def _choices(
    value: Any, where: str, langs: set[str], default: str, problems: list[str]
) -> list[dict[str, Any]]:
    """Validate a list of choices with a stable value and per-language labels."""
    if not isinstance(value, list) or not value:
        problems.append(f"{where}: 'choices' must be a non-empty list")
        return []
    out = []
    seen: set[str] = set()
    for i, choice in enumerate(value):
        cwhere = f"{where}: choices[{i}]"
        if not isinstance(choice, Mapping) or set(choice) - {"value", "label", "data", "original"}:
            problems.append(f"{cwhere} must have 'value' and 'label' (and optionally 'data')")
            continue
        cvalue = choice.get("value")
        if isinstance(cvalue, int) and not isinstance(cvalue, bool):
            cvalue = str(cvalue)
        if not isinstance(cvalue, str) or not VALUE_RE.match(cvalue):
            problems.append(f"{cwhere}: 'value' must be short text of a-z, A-Z, 0-9, '_', '.', '-'")
            continue
        if cvalue in seen:
            problems.append(f"{cwhere}: the value '{cvalue}' is used twice")
        seen.add(cvalue)
        label = _texts(choice.get("label"), f"{cwhere}: 'label'", langs, default, problems, True)
        item: dict[str, Any] = {"value": cvalue, "label": label}
        if "data" in choice:
            data = choice["data"]
            if not isinstance(data, Mapping) or not all(
                isinstance(k, str) and isinstance(v, str | int | float) and not isinstance(v, bool)
                for k, v in data.items()
            ):
                problems.append(f"{cwhere}: 'data' must map column names to text or numbers")
            else:
                item["data"] = {k: str(v) for k, v in data.items()}
        _original(choice, item, cwhere, problems)  # "no school" -> no_school
        out.append(item)
    return out


def _privacy(value: Any, langs: set[str], default: str, problems: list[str]) -> dict[str, Any]:
    """Validate the optional privacy block.

    `version` and `notice` (per language) are shown with the form; `retention_days`
    and `on_expiry` (delete or anonymise) drive the `purge` command; `controller`,
    `purpose`, `legal_basis`, `recipients` feed the record of processing.
    """
    if value is None or (isinstance(value, Mapping) and not value):
        return {}  # none given, also as the {} a normalised definition holds
    allowed = {"version", "notice", "retention_days", "on_expiry", *RECORD_FACTS}
    if not isinstance(value, Mapping) or set(value) - allowed:
        extra = sorted(set(value) - allowed) if isinstance(value, Mapping) else []
        problems.append(
            "'privacy' must have 'version' and 'notice'"
            + (f"; unknown keys: {', '.join(extra)}" if extra else "")
        )
        return {}
    version = value.get("version")
    if not isinstance(version, str) or not version.strip() or len(version) > 64:
        problems.append("'privacy': 'version' must be short text such as '2026-11-01'")
        version = None
    notice = _texts(value.get("notice"), "'privacy': 'notice'", langs, default, problems, True)
    out: dict[str, Any] = {"version": version, "notice": notice}
    days = value.get("retention_days")
    if days is not None:
        if (
            isinstance(days, bool)
            or not isinstance(days, int)
            or not 1 <= days <= RETENTION_MAX_DAYS
        ):
            problems.append(
                f"'privacy': 'retention_days' must be a whole number of days "
                f"from 1 to {RETENTION_MAX_DAYS}"
            )
        else:
            out["retention_days"] = days
    action = value.get("on_expiry")
    if action is not None:
        if action not in EXPIRY_ACTIONS:
            problems.append("'privacy': 'on_expiry' must be 'delete' or 'anonymise'")
        elif days is None:
            problems.append("'privacy': 'on_expiry' needs 'retention_days'")
        else:
            out["on_expiry"] = action
    for key in RECORD_FACTS:
        text = value.get(key)
        if text is None:
            continue
        if isinstance(text, Mapping):
            texts = _texts(text, f"'privacy': '{key}'", langs, default, problems, True)
            if any(len(t) > RECORD_TEXT_MAX for t in texts.values()):
                problems.append(
                    f"'privacy': '{key}' has a text of more than {RECORD_TEXT_MAX} characters"
                )
            out[key] = texts
        elif not isinstance(text, str) or not text.strip() or len(text) > RECORD_TEXT_MAX:
            problems.append(
                f"'privacy': '{key}' must be text of at most {RECORD_TEXT_MAX} characters"
            )
        else:
            out[key] = text.strip()
    return out
