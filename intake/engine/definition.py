"""Form definitions: load a YAML/JSON file, validate it, and read it at run time.

The file format is documented in docs/form-definitions.md. Validation collects every
problem with the file, the field and what is wrong, so a coordinator can fix them all
in one go. The stored definition is the validated, normalised mapping; FormDefinition
and FieldDef give typed read access to it.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from flask_babel import gettext

from intake.engine.expressions import (
    ExpressionError,
    parse,
    pattern_problems,
    references,
    uses,
)

FIELD_TYPES = (
    "text",
    "textarea",
    "email",
    "phone",
    "integer",
    "decimal",
    "date",
    "single_choice",
    "multiple_choice",
    "rating",
    "yes_no",
    "consent",
    "municipality",
    "note",
    "hidden",
    "page",
)
CHOICE_TYPES = ("single_choice", "multiple_choice", "rating")
TEXT_TYPES = ("text", "textarea")
NUMBER_TYPES = ("integer", "decimal")
#: Types that show something but take no answer.
DISPLAY_TYPES = ("note", "page")
# Fields a link may fill in through its query string when the definition allows it.
PREFILLABLE_TYPES = (
    "text",
    "email",
    "phone",
    "integer",
    "decimal",
    "date",
    "single_choice",
    "municipality",
    "hidden",
)
#: Longest value a link may prefill (longer values are cut in a link, refused by the builder).
PREFILL_MAX_LENGTH = 200

SLUG_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")
NAME_RE = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
VALUE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
LANG_RE = re.compile(r"^[a-z]{2,3}(_[A-Z]{2})?$")

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
}
#: `report_languages` on a choice field whose values are language codes: the PDF summary
#: sets the languages volunteers offer against the languages newcomers speak, per district.
REPORT_LANGUAGE_ROLES = ("offered", "needed")
DEFAULT_MAX_LENGTH = {"text": 200, "textarea": 4000, "email": 254, "phone": 40}
#: Longest `max_length`: every expression reads answers cut to it, so it also bounds the
#: text an author's regex() pattern runs over (about 0.3 s for the worst RE2 pattern).
MAX_LENGTH_LIMIT = 10_000


class DefinitionError(Exception):
    """A form definition that cannot be used; `problems` lists every located problem."""

    def __init__(self, source: str, problems: list[str]):
        self.source = source
        self.problems = problems
        super().__init__("\n".join(f"{source}: {p}" for p in problems))


def load_file(path: str | Path) -> dict[str, Any]:
    """Read and validate a definition file; raise DefinitionError naming file and field."""
    path = Path(path)
    source = path.name
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise DefinitionError(source, ["file not found"]) from None
    except UnicodeDecodeError:
        raise DefinitionError(source, ["the file is not UTF-8 text"]) from None
    try:
        if path.suffix.lower() == ".json":
            raw = json.loads(text)
        elif path.suffix.lower() in (".yaml", ".yml"):
            raw = yaml.safe_load(text)
        else:
            raise DefinitionError(source, ["unsupported file type; use .yaml, .yml or .json"])
    except (yaml.YAMLError, json.JSONDecodeError) as exc:
        raise DefinitionError(source, [f"not valid YAML/JSON: {_syntax_location(exc)}"]) from None
    except RecursionError:
        # Lists or mappings nested thousands deep: no form is shaped like that.
        raise DefinitionError(source, ["the file is nested too deeply to be a form"]) from None
    return validate(raw, source)


def _syntax_location(exc: Exception) -> str:
    """Describe a parser error with its line and column, without the document text."""
    mark = getattr(exc, "problem_mark", None)
    if mark is not None:
        problem = getattr(exc, "problem", "syntax error")
        return f"{problem} at line {mark.line + 1}, column {mark.column + 1}"
    if isinstance(exc, json.JSONDecodeError):
        return f"{exc.msg} at line {exc.lineno}, column {exc.colno}"
    return "syntax error"


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
    if sum(1 for f in out["fields"] if f["type"] == "municipality") > 1:
        problems.append("a form may have at most one 'municipality' field")
    _check_references(out["fields"], problems)
    if problems:
        raise DefinitionError(source, problems)
    return out


def _where(field: Any, index: int) -> str:
    """Name a field for an error message: by name when it has one, always by position."""
    name = field.get("name") if isinstance(field, Mapping) else None
    if isinstance(name, str) and name:
        return f"field '{name}' (fields[{index}])"
    return f"fields[{index}]"


def _field(
    field: Any, index: int, langs: set[str], default: str, seen: set[str], problems: list[str]
) -> dict[str, Any] | None:
    """Validate and normalise one field; append located problems."""
    where = _where(field, index)
    if not isinstance(field, Mapping):
        problems.append(f"{where}: must be a mapping with 'name', 'type' and 'label'")
        return None
    for key in sorted(set(field) - FIELD_KEYS):
        problems.append(f"{where}: unknown key '{key}'")
    name = field.get("name")
    if not isinstance(name, str) or not NAME_RE.match(name):
        problems.append(f"{where}: 'name' must start with a-z and use only a-z, 0-9 and '_'")
    elif name in seen:
        problems.append(f"{where}: the name '{name}' is used twice")
    else:
        seen.add(name)
    ftype = field.get("type")
    if ftype not in FIELD_TYPES:
        problems.append(f"{where}: 'type' must be one of {', '.join(FIELD_TYPES)}; got {ftype!r}")
        return None
    out: dict[str, Any] = {
        "name": name,
        "type": ftype,
        "required": _required(field, where, problems),
        "personal": _bool(field, "personal", where, problems),
        "prefill": _bool(field, "prefill", where, problems),
        "label": _texts(
            field.get("label") if ftype != "hidden" or "label" in field else {default: name},
            f"{where}: 'label'",
            langs,
            default,
            problems,
            True,
        ),
        "hint": _texts(field.get("hint"), f"{where}: 'hint'", langs, default, problems),
    }
    if field.get("sensitive") is not None and _bool(field, "sensitive", where, problems):
        # Kept only when true, so definitions without it keep their checksum.
        out["sensitive"] = True
        if ftype in (*DISPLAY_TYPES, "hidden", "municipality", "consent"):
            problems.append(f"{where}: a {ftype} field cannot be 'sensitive'")
        if field.get("prefill"):
            problems.append(f"{where}: a sensitive field cannot be prefilled from a link")
    if out["prefill"] and ftype not in PREFILLABLE_TYPES:
        problems.append(f"{where}: a {ftype} field cannot be prefilled from a link")
    if ftype in DISPLAY_TYPES:
        for key in ("required", "personal", "prefill"):
            if field.get(key):
                problems.append(f"{where}: a {ftype} takes no answer, so it cannot be '{key}'")
    if ftype == "hidden" and field.get("required"):
        problems.append(f"{where}: a hidden field cannot be required")
    for key in ("relevant", "constraint", "choice_filter"):
        if key in field:
            out[key] = _expression(field[key], f"{where}: '{key}'", problems)
    if "constraint" in field and ftype in (*DISPLAY_TYPES, "hidden"):
        problems.append(f"{where}: a {ftype} has no answer to constrain")
    if "constraint_message" in field:
        if "constraint" not in field:
            problems.append(f"{where}: 'constraint_message' needs a 'constraint'")
        out["constraint_message"] = _texts(
            field["constraint_message"], f"{where}: 'constraint_message'", langs, default, problems
        )
    if ftype in CHOICE_TYPES:
        _choice_keys(field, out, ftype, where, langs, default, problems)
    else:
        for key in ("choices", "choice_filter", "other", "appearance", "report_languages"):
            if key in field:
                problems.append(f"{where}: only choice fields have '{key}'")
    if ftype in NUMBER_TYPES:
        _bounds(field, out, ftype, where, problems)
    elif "min" in field or "max" in field:
        problems.append(f"{where}: only integer and decimal fields have 'min' and 'max'")
    if ftype in DEFAULT_MAX_LENGTH:
        max_length = field.get("max_length", DEFAULT_MAX_LENGTH[ftype])
        if isinstance(max_length, bool) or not isinstance(max_length, int) or max_length < 1:
            problems.append(f"{where}: 'max_length' must be a positive whole number")
        elif max_length > MAX_LENGTH_LIMIT:
            problems.append(f"{where}: 'max_length' may be at most {MAX_LENGTH_LIMIT} characters")
        out["max_length"] = max_length
    elif "max_length" in field:
        problems.append(f"{where}: only text, textarea, email and phone have 'max_length'")
    return out


def _choice_keys(
    field: Mapping,
    out: dict[str, Any],
    ftype: str,
    where: str,
    langs: set[str],
    default: str,
    problems: list[str],
) -> None:
    """Choices, appearance and `other` of a choice field."""
    out["choices"] = _choices(field.get("choices"), where, langs, default, problems)
    defaults = {"single_choice": "radio", "multiple_choice": "checkbox", "rating": "scale"}
    allowed = {
        "single_choice": ("radio", "select"),
        "multiple_choice": ("checkbox",),
        "rating": ("scale",),
    }[ftype]
    appearance = field.get("appearance", defaults[ftype])
    if appearance not in allowed:
        problems.append(f"{where}: 'appearance' must be one of {', '.join(allowed)}")
    out["appearance"] = appearance
    if "report_languages" in field:
        role = field["report_languages"]
        if ftype not in ("single_choice", "multiple_choice"):
            problems.append(
                f"{where}: only a single or multiple choice can have 'report_languages'"
            )
        elif role not in REPORT_LANGUAGE_ROLES:
            problems.append(f"{where}: 'report_languages' must be 'offered' or 'needed'")
        else:
            out["report_languages"] = role
    if "other" in field:
        if ftype == "rating":
            problems.append(f"{where}: a rating has no 'other' answer")
        out["other"] = _bool(field, "other", where, problems)
        if out["other"] and any(c["value"] == "other" for c in out["choices"]):
            problems.append(f"{where}: with 'other: true' no choice may have the value 'other'")


def _bounds(
    field: Mapping, out: dict[str, Any], ftype: str, where: str, problems: list[str]
) -> None:
    """`min` and `max` of a number field: whole numbers for integer, any for decimal."""
    kinds: tuple[type, ...] = (int,) if ftype == "integer" else (int, float)
    for key in ("min", "max"):
        value = field.get(key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, kinds)):
            word = "a whole number" if ftype == "integer" else "a number"
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
    """Expressions may only read fields that exist and take an answer."""
    # Fields whose name is unusable were reported already; they take no part here.
    fields = [f for f in fields if isinstance(f.get("name"), str) and NAME_RE.match(f["name"])]
    answerable = {f["name"] for f in fields if f["type"] not in DISPLAY_TYPES} | {
        f"{f['name']}_other" for f in fields if f.get("other")
    }
    names = [f["name"] for f in fields]
    for f in fields:
        if f.get("other") and f"{f['name']}_other" in names:
            problems.append(
                f"field '{f['name']}': 'other: true' adds '{f['name']}_other', "
                "which is already a field"
            )
        for key in ("relevant", "required", "constraint", "choice_filter"):
            source = f.get(key)
            if not isinstance(source, str):
                continue
            tree = parse(source)
            for ref in sorted(references(tree) - answerable):
                problems.append(f"field '{f['name']}': '{key}' refers to ${{{ref}}}, no such field")
            if key == "constraint" and uses(tree, "name"):
                problems.append(
                    f"field '{f['name']}': names without ${{}} only work in choice_filter"
                )
            if key != "constraint" and uses(tree, "cur"):
                problems.append(f"field '{f['name']}': '.' (this answer) only works in constraint")


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
        if not isinstance(choice, Mapping) or set(choice) - {"value", "label", "data"}:
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
        out.append(item)
    return out


def checksum(definition: Mapping[str, Any]) -> str:
    """A stable hash of a normalised definition; equal content gives an equal hash."""
    canonical = json.dumps(definition, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Text:
    """A text in a language; `fallback` is true when it is not the one asked for."""

    text: str
    lang: str
    fallback: bool

    def __str__(self) -> str:
        return self.text


def pick(texts: Mapping[str, str], lang: str, default: str) -> Text | None:
    """The text in `lang`, else in the form's default language (marked as a fallback)."""
    if lang in texts:
        return Text(texts[lang], lang, False)
    if default in texts:
        return Text(texts[default], default, True)
    return None


@dataclass(frozen=True)
class FieldDef:
    """Read access to one normalised field."""

    raw: Mapping[str, Any]
    default_language: str
    #: For the "please specify" text added by `other: true`: the choice field's name.
    other_of: str | None = None

    @property
    def name(self) -> str:
        return self.raw["name"]

    @property
    def type(self) -> str:
        return self.raw["type"]

    @property
    def required(self) -> bool | str:
        """True, False, or an expression that decides it."""
        return self.raw["required"]

    @property
    def personal(self) -> bool:
        return self.raw["personal"]

    @property
    def prefill(self) -> bool:
        return self.raw["prefill"]

    @property
    def sensitive(self) -> bool:
        """A special category of personal data (Art. 9 DSGVO: health, religion, ...):
        encrypted at rest, left out of summaries and, unless asked for, of exports."""
        return bool(self.raw.get("sensitive"))

    @property
    def relevant(self) -> str | None:
        return self.raw.get("relevant")

    @property
    def constraint(self) -> str | None:
        return self.raw.get("constraint")

    @property
    def choice_filter(self) -> str | None:
        return self.raw.get("choice_filter")

    @property
    def report_languages(self) -> str | None:
        """'offered' or 'needed' for a choice of languages the summary compares, else None."""
        return self.raw.get("report_languages")

    @property
    def other(self) -> bool:
        return bool(self.raw.get("other"))

    @property
    def answerable(self) -> bool:
        """Whether the field takes an answer (notes and page breaks do not)."""
        return self.type not in DISPLAY_TYPES

    @property
    def choices(self) -> list[Mapping[str, Any]]:
        choices = list(self.raw.get("choices", []))
        if self.other:
            choices.append({"value": "other", "label": {}})
        return choices

    def label(self, lang: str) -> Text:
        """The question text in `lang` (or the default language)."""
        if self.other_of is not None:
            return Text(gettext("Other, please specify"), lang, False)
        text = pick(self.raw["label"], lang, self.default_language)
        assert text is not None  # noqa: S101 - validation guarantees a default label
        return text

    def hint(self, lang: str) -> Text | None:
        """The help text, if any."""
        return pick(self.raw["hint"], lang, self.default_language)

    def report_label(self, lang: str) -> str:
        """The question as a report or export names it, also for "please specify" texts."""
        text = pick(self.raw["label"], lang, self.default_language)
        label = text.text if text else self.name
        if self.other_of is not None:
            return f"{label} – {gettext('Other')}"
        return label

    def constraint_message(self, lang: str) -> Text | None:
        """The definition's own message for a failed constraint, if any."""
        return pick(self.raw.get("constraint_message") or {}, lang, self.default_language)

    def choice_label(self, value: str, lang: str) -> Text:
        """The label of one choice; an unknown value (from an older version) shows as is."""
        if self.other and value == "other":
            return Text(gettext("Other"), lang, False)
        for choice in self.choices:
            if choice["value"] == value:
                text = pick(choice["label"], lang, self.default_language)
                if text is not None:
                    return text
        return Text(value, lang, True)


@dataclass(frozen=True)
class Page:
    """One page of a form: an optional title and condition, and its fields."""

    index: int
    title: FieldDef | None
    fields: list[FieldDef]

    @property
    def relevant(self) -> str | None:
        return self.title.relevant if self.title else None


class FormDefinition:
    """Read access to a normalised form definition."""

    def __init__(self, raw: Mapping[str, Any]):
        self.raw = raw
        default = raw["default_language"]
        self.fields: list[FieldDef] = []
        for field in raw["fields"]:
            fdef = FieldDef(field, default)
            self.fields.append(fdef)
            if fdef.other:
                self.fields.append(_other_field(fdef))
        self._by_name = {f.name: f for f in self.fields}

    @property
    def slug(self) -> str:
        return self.raw["form"]

    @property
    def languages(self) -> list[str]:
        return list(self.raw["languages"])

    @property
    def default_language(self) -> str:
        return self.raw["default_language"]

    @property
    def consent_version(self) -> str | None:
        privacy = self.raw.get("privacy") or {}
        return privacy.get("version")

    @property
    def answer_fields(self) -> list[FieldDef]:
        """Fields that take an answer, in order."""
        return [f for f in self.fields if f.answerable]

    def pages(self) -> list[Page]:
        """The form's pages; a form without `page` fields is one page."""
        pages: list[Page] = []
        title: FieldDef | None = None
        current: list[FieldDef] = []
        for fdef in self.fields:
            if fdef.type == "page":
                if current or title is not None:
                    pages.append(Page(len(pages), title, current))
                title, current = fdef, []
            else:
                current.append(fdef)
        pages.append(Page(len(pages), title, current))
        return pages

    def title(self, lang: str) -> Text:
        """The form's title in `lang` (or the default language)."""
        text = pick(self.raw["title"], lang, self.default_language)
        assert text is not None  # noqa: S101 - validation guarantees a default title
        return text

    def intro(self, lang: str) -> Text | None:
        """The introduction shown above the questions."""
        return pick(self.raw.get("intro") or {}, lang, self.default_language)

    @property
    def retention_days(self) -> int | None:
        """Days a response is kept after it was sent; None: no period is set."""
        return (self.raw.get("privacy") or {}).get("retention_days")

    @property
    def on_expiry(self) -> str:
        """What `purge` does with an expired response: delete (default) or anonymise."""
        return (self.raw.get("privacy") or {}).get("on_expiry", "delete")

    def privacy_fact(self, key: str, lang: str = "de") -> Text | None:
        """One of RECORD_FACTS in `lang`, else in German (a plain string is German)."""
        value = (self.raw.get("privacy") or {}).get(key)
        if value is None:
            return None
        if isinstance(value, str):
            return Text(value, "de", lang != "de")
        return pick(value, lang, "de" if "de" in value else self.default_language)

    def privacy_notice(self, lang: str) -> Text | None:
        """The short privacy notice shown before submitting."""
        privacy = self.raw.get("privacy") or {}
        return pick(privacy.get("notice") or {}, lang, self.default_language)

    def field(self, name: str) -> FieldDef | None:
        """The field called `name`, if the form has one."""
        return self._by_name.get(name)

    @property
    def municipality_field(self) -> FieldDef | None:
        """The field whose answer decides the district, if the form asks for one."""
        return next((f for f in self.fields if f.type == "municipality"), None)


def _other_field(choice_field: FieldDef) -> FieldDef:
    """The "please specify" text question that `other: true` adds after a choice field."""
    raw = {
        "name": f"{choice_field.name}_other",
        "type": "text",
        "required": True,
        "personal": False,
        "prefill": False,
        # The question's own label, for reports ("Needs – Other"); forms show "please specify".
        "label": dict(choice_field.raw["label"]),
        "hint": {},
        "max_length": 200,
        "relevant": f"selected(${{{choice_field.name}}}, 'other')",
    }
    if choice_field.sensitive:
        # What someone writes under "other" about their health is as sensitive as the choice.
        raw["sensitive"] = True
    return FieldDef(raw, choice_field.default_language, other_of=choice_field.name)


#: Facts of the privacy block for the notice page (Art. 13) and the record of processing
#: (Art. 30): German text, or text per language (German binding); at most RECORD_TEXT_MAX
#: characters each. `contact`: how to reach the data protection officer.
RECORD_FACTS = ("controller", "purpose", "legal_basis", "recipients", "contact")
RECORD_TEXT_MAX = 1000
RETENTION_MAX_DAYS = 3650
EXPIRY_ACTIONS = ("delete", "anonymise")


def _privacy(value: Any, langs: set[str], default: str, problems: list[str]) -> dict[str, Any]:
    """Validate the optional privacy block.

    `version` and `notice` (per language) are shown with the form; `retention_days`
    and `on_expiry` (delete or anonymise) drive `flask purge`; `controller`,
    `purpose`, `legal_basis`, `recipients` feed the record of processing.
    """
    if value is None:
        return {}
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
