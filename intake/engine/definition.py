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

FIELD_TYPES = (
    "text",
    "textarea",
    "email",
    "phone",
    "integer",
    "date",
    "single_choice",
    "multiple_choice",
    "yes_no",
    "consent",
    "municipality",
)
CHOICE_TYPES = ("single_choice", "multiple_choice")
TEXT_TYPES = ("text", "textarea")
# Fields a link may fill in through its query string when the definition allows it.
PREFILLABLE_TYPES = ("text", "email", "phone", "integer", "date", "single_choice", "municipality")

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
    "prefill",
    "appearance",
}
DEFAULT_MAX_LENGTH = {"text": 200, "textarea": 4000, "email": 254, "phone": 40}


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
    if default not in languages:
        problems.append("'default_language' must be one of 'languages'")
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
        "required": _bool(field, "required", where, problems),
        "personal": _bool(field, "personal", where, problems),
        "prefill": _bool(field, "prefill", where, problems),
        "label": _texts(field.get("label"), f"{where}: 'label'", langs, default, problems, True),
        "hint": _texts(field.get("hint"), f"{where}: 'hint'", langs, default, problems),
    }
    if out["prefill"] and ftype not in PREFILLABLE_TYPES:
        problems.append(f"{where}: a {ftype} field cannot be prefilled from a link")
    if ftype in CHOICE_TYPES:
        out["choices"] = _choices(field.get("choices"), where, langs, default, problems)
        appearance = field.get("appearance", "radio" if ftype == "single_choice" else "checkbox")
        allowed = ("radio", "select") if ftype == "single_choice" else ("checkbox",)
        if appearance not in allowed:
            problems.append(f"{where}: 'appearance' must be one of {', '.join(allowed)}")
        out["appearance"] = appearance
    elif "choices" in field:
        problems.append(f"{where}: only single_choice and multiple_choice fields have 'choices'")
    if ftype == "integer":
        for key in ("min", "max"):
            value = field.get(key)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
                problems.append(f"{where}: '{key}' must be a whole number")
            out[key] = value
        if isinstance(out["min"], int) and isinstance(out["max"], int) and out["min"] > out["max"]:
            problems.append(f"{where}: 'min' is greater than 'max'")
    elif "min" in field or "max" in field:
        problems.append(f"{where}: only integer fields have 'min' and 'max'")
    if ftype in DEFAULT_MAX_LENGTH:
        max_length = field.get("max_length", DEFAULT_MAX_LENGTH[ftype])
        if isinstance(max_length, bool) or not isinstance(max_length, int) or max_length < 1:
            problems.append(f"{where}: 'max_length' must be a positive whole number")
        out["max_length"] = max_length
    elif "max_length" in field:
        problems.append(f"{where}: only text, textarea, email and phone have 'max_length'")
    return out


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
        if not isinstance(choice, Mapping) or set(choice) - {"value", "label"}:
            problems.append(f"{cwhere} must have exactly 'value' and 'label'")
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
        out.append({"value": cvalue, "label": label})
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

    @property
    def name(self) -> str:
        return self.raw["name"]

    @property
    def type(self) -> str:
        return self.raw["type"]

    @property
    def required(self) -> bool:
        return self.raw["required"]

    @property
    def personal(self) -> bool:
        return self.raw["personal"]

    @property
    def prefill(self) -> bool:
        return self.raw["prefill"]

    @property
    def choices(self) -> list[Mapping[str, Any]]:
        return self.raw.get("choices", [])

    def label(self, lang: str) -> Text:
        """The question text in `lang` (or the default language)."""
        text = pick(self.raw["label"], lang, self.default_language)
        assert text is not None  # noqa: S101 - validation guarantees a default label
        return text

    def hint(self, lang: str) -> Text | None:
        """The help text, if any."""
        return pick(self.raw["hint"], lang, self.default_language)

    def choice_label(self, value: str, lang: str) -> Text:
        """The label of one choice; an unknown value (from an older version) shows as is."""
        for choice in self.choices:
            if choice["value"] == value:
                text = pick(choice["label"], lang, self.default_language)
                if text is not None:
                    return text
        return Text(value, lang, True)


class FormDefinition:
    """Read access to a normalised form definition."""

    def __init__(self, raw: Mapping[str, Any]):
        self.raw = raw
        self.fields = [FieldDef(f, raw["default_language"]) for f in raw["fields"]]

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

    def title(self, lang: str) -> Text:
        """The form's title in `lang` (or the default language)."""
        text = pick(self.raw["title"], lang, self.default_language)
        assert text is not None  # noqa: S101 - validation guarantees a default title
        return text

    def intro(self, lang: str) -> Text | None:
        """The introduction shown above the questions."""
        return pick(self.raw.get("intro") or {}, lang, self.default_language)

    def privacy_notice(self, lang: str) -> Text | None:
        """The short privacy notice shown before submitting."""
        privacy = self.raw.get("privacy") or {}
        return pick(privacy.get("notice") or {}, lang, self.default_language)

    def field(self, name: str) -> FieldDef | None:
        """The field called `name`, if the form has one."""
        return next((f for f in self.fields if f.name == name), None)

    @property
    def municipality_field(self) -> FieldDef | None:
        """The field whose answer decides the district, if the form asks for one."""
        return next((f for f in self.fields if f.type == "municipality"), None)


def _privacy(value: Any, langs: set[str], default: str, problems: list[str]) -> dict[str, Any]:
    """Validate the optional privacy block: a version string and a per-language notice."""
    if value is None:
        return {}
    if not isinstance(value, Mapping) or set(value) - {"version", "notice"}:
        problems.append("'privacy' must have 'version' and 'notice'")
        return {}
    version = value.get("version")
    if not isinstance(version, str) or not version.strip() or len(version) > 64:
        problems.append("'privacy': 'version' must be short text such as '2026-11-01'")
        version = None
    notice = _texts(value.get("notice"), "'privacy': 'notice'", langs, default, problems, True)
    return {"version": version, "notice": notice}
