"""Form definitions: load a YAML/JSON file and read a definition at run time.

The file format is documented in docs/form-definitions.md; intake.engine.validation
checks a file and normalises it. The stored definition is that normalised mapping;
FormDefinition and FieldDef give typed read access to it, and each field's type
(intake.engine.fieldtypes) says how it is answered, stored and shown.
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from intake.engine import repeats, texts
from intake.engine.fieldtypes import FIELD_TYPES, FieldType
from intake.engine.validation import DefinitionError, validate

__all__ = [
    "PREFILL_MAX_LENGTH",
    "FieldDef",
    "FormDefinition",
    "Page",
    "Text",
    "checksum",
    "load_file",
    "pick",
]

#: Longest value a link may prefill (longer values are cut in a link, refused by the builder).
PREFILL_MAX_LENGTH = 200
# libyaml's loader is several times faster; PyYAML without it falls back to its own.
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _untranslated(text: str) -> str:
    """The engine's own texts in English, where no catalog is at hand (CLI, tests)."""
    return text


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
            raw = _load_yaml(text)
        else:
            raise DefinitionError(source, ["unsupported file type; use .yaml, .yml or .json"])
    except (yaml.YAMLError, json.JSONDecodeError) as exc:
        raise DefinitionError(source, [f"not valid YAML/JSON: {_syntax_location(exc)}"]) from None
    except RecursionError:
        # Lists or mappings nested thousands deep: no form is shaped like that.
        raise DefinitionError(source, ["the file is nested too deeply to be a form"]) from None
    return validate(raw, source)


def _load_yaml(text: str) -> Any:
    """Parse YAML with libyaml; a text it refuses is parsed again by PyYAML's own parser.

    The two word their errors differently ("did not find expected key" where PyYAML says
    "expected <block end>, but found ..."): the second parse makes the message, with its
    line and column, the same whichever loader a machine has. Only broken files pay it.
    """
    try:
        return yaml.load(text, Loader=_YAML_LOADER)  # noqa: S506 - a safe loader
    except yaml.YAMLError:
        return yaml.load(text, Loader=yaml.SafeLoader)  # noqa: S506 - the safe loader


def _syntax_location(exc: Exception) -> str:
    """Describe a parser error with its line and column, without the document text."""
    mark = getattr(exc, "problem_mark", None)
    if mark is not None:
        problem = getattr(exc, "problem", "syntax error")
        return f"{problem} at line {mark.line + 1}, column {mark.column + 1}"
    if isinstance(exc, json.JSONDecodeError):
        return f"{exc.msg} at line {exc.lineno}, column {exc.colno}"
    return "syntax error"


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
    #: Translates the texts the engine adds ("Other", "Yes"); the app passes its gettext.
    gettext: Callable[[str], str] = field(default=_untranslated, repr=False, compare=False)
    #: The repeat this question is in, if any (intake.engine.repeats).
    repeat: str | None = None
    #: On a page: the entry (from 1) this question of a repeat is asked for, and the
    #: question's own name ("age" of "age-2").
    entry: int | None = None
    base: str | None = None

    @property
    def name(self) -> str:
        return self.raw["name"]

    @property
    def type(self) -> str:
        return self.raw["type"]

    @property
    def kind(self) -> FieldType:
        """What the field's type accepts, stores and shows (intake.engine.fieldtypes)."""
        return FIELD_TYPES[self.raw["type"]]

    @property
    def max_length(self) -> int | None:
        """The longest answer the definition itself sets (`max_length`), if it does."""
        return self.raw.get("max_length")

    @property
    def bounds(self) -> tuple[Any, Any]:
        """(`min`, `max`) of a number question; None where the definition sets none."""
        return self.raw.get("min"), self.raw.get("max")

    @property
    def appearance(self) -> str | None:
        """How a choice question is shown (`select`, ...); None: its type's default."""
        return self.raw.get("appearance")

    @property
    def partial(self) -> str | None:
        """The template partial that renders it (templates/macros/fields/<partial>.html)."""
        return self.kind.partial_for(self.appearance)

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
    def calculation(self) -> str | None:
        """A calculate field's expression over earlier answers."""
        return self.raw.get("calculation")

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
    def default(self) -> str | None:
        """A hidden field's value when neither the link nor the page gives one."""
        return self.raw.get("default")

    @property
    def repeat_count(self) -> str | None:
        """A repeat's number of entries as an expression over earlier answers, if set."""
        return self.raw.get("repeat_count")

    @property
    def counts(self) -> tuple[int, int]:
        """(`min_count`, `max_count`) of a repeat: how many entries it may have."""
        return self.raw.get("min_count", 0), self.raw.get("max_count", repeats.DEFAULT_MAX_COUNT)

    @property
    def stored_name(self) -> str:
        """The name its answers are stored under: a repeat's question keeps its own name
        for every entry (the entry's number is stored beside it)."""
        return self.base or self.name

    @property
    def answerable(self) -> bool:
        """Whether the field takes an answer (notes and page breaks do not)."""
        return self.kind.answerable

    @property
    def choices(self) -> list[Mapping[str, Any]]:
        choices = list(self.raw.get("choices", []))
        if self.other:
            choices.append({"value": "other", "label": {}})
        return choices

    def label(self, lang: str) -> Text:
        """The question text in `lang` (or the default language)."""
        if self.other_of is not None:
            return Text(self.gettext("Other, please specify"), lang, False)
        text = pick(self.raw["label"], lang, self.default_language)
        assert text is not None  # noqa: S101 - validation guarantees a default label
        return text

    def hint(self, lang: str) -> Text | None:
        """The help text, if any."""
        return pick(self.raw["hint"], lang, self.default_language)

    def report_label(self, lang: str) -> str:
        """The question as a report or export names it, also for "please specify" texts."""
        text = pick(self.raw["label"], lang, self.default_language)
        label = texts.plain(text.text) if text else self.name  # no **, no ${name} in a report
        if self.other_of is not None:
            other = self.gettext("Other")
            return f"{label} – {other}"
        return label

    def constraint_message(self, lang: str) -> Text | None:
        """The definition's own message for a failed constraint, if any."""
        return pick(self.raw.get("constraint_message") or {}, lang, self.default_language)

    def choice_label(self, value: str, lang: str) -> Text:
        """The label of one choice; an unknown value (from an older version) shows as is."""
        if self.other and value == "other":
            return Text(self.gettext("Other"), lang, False)
        for choice in self.choices:
            if choice["value"] == value:
                text = pick(choice["label"], lang, self.default_language)
                if text is not None:
                    return text
        return Text(value, lang, True)

    def answer_label(self, value: str, lang: str, places: Mapping[str, str]) -> str:
        """A stored value as a coordinator reads it: a choice's label, Yes or No, a place's
        name (`places`: slug -> name), or the value itself."""
        labels = self.kind.labels
        if labels == "choice":
            return self.choice_label(value, lang).text
        if labels == "yes_no":
            return self._yes_no().get(value, value)
        if labels == "place":
            return places.get(value, value)
        return value

    def answer_labels(self, lang: str, places: Mapping[str, str]) -> Mapping[str, str]:
        """Stored value -> label for every value with a label of its own ({} for free answers)."""
        labels = self.kind.labels
        if labels == "choice":
            return {c["value"]: self.choice_label(c["value"], lang).text for c in self.choices}
        if labels == "yes_no":
            return self._yes_no()
        if labels == "place":
            return places
        return {}

    def _yes_no(self) -> dict[str, str]:
        return {"yes": self.gettext("Yes"), "no": self.gettext("No")}


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
    """Read access to a normalised form definition.

    `gettext` translates the few texts the engine adds to a definition ("Other", "Yes",
    ...) when they are read; the app passes Flask-Babel's, which reads the language of
    the request, so one parsed definition serves every language.
    """

    def __init__(self, raw: Mapping[str, Any], gettext: Callable[[str], str] = _untranslated):
        self.raw = raw
        default = raw["default_language"]
        #: What is asked and stored, in order: a repeat's questions follow it (once).
        self.fields: list[FieldDef] = []
        #: What the pages ask: a repeat's questions once per entry (intake.engine.repeats).
        self.inputs: list[FieldDef] = []
        inside = repeats.names_inside(raw["fields"])
        repeated = frozenset(name for name, repeat in inside.items() if name != repeat)
        for item in raw["fields"]:
            fdef = FieldDef(item, default, gettext=gettext)
            self.fields.extend(_with_other(fdef))
            if repeated:  # outside a repeat, a question inside one reads its first entry
                item = repeats.rewritten(
                    item,
                    lambda source: repeats.outside(source, repeated),
                    lambda text: repeats.text_outside(text, repeated),
                )
                fdef = FieldDef(item, default, gettext=gettext)
            self.inputs.extend(_with_other(fdef))
            if fdef.kind.repeat:
                self._add_repeat(fdef, gettext)
        self._by_name = {f.name: f for f in self.inputs} | {f.name: f for f in self.fields}

    def _add_repeat(self, repeat: FieldDef, gettext: Callable[[str], str]) -> None:
        """A repeat's questions: once as stored, once per entry for the pages."""
        default = repeat.default_language
        children = repeat.raw["fields"]
        for child in children:
            cdef = FieldDef(child, default, gettext=gettext, repeat=repeat.name)
            self.fields.extend(_with_other(cdef))
        siblings = frozenset(repeats.names_inside([repeat.raw])) - {repeat.name}
        for entry in range(1, repeat.counts[1] + 1):
            for child in children:
                item = repeats.rewritten(
                    child,
                    lambda source, e=entry: repeats.in_entry(source, siblings, e),
                    lambda text, e=entry: repeats.text_in_entry(text, siblings, e),
                )
                item["name"] = repeats.instance_name(child["name"], entry)
                shown = f"${{{repeat.name}}} >= {entry}"
                item["relevant"] = (
                    f"({shown}) and ({item['relevant']})" if "relevant" in item else shown
                )
                instance = FieldDef(
                    item,
                    default,
                    gettext=gettext,
                    repeat=repeat.name,
                    entry=entry,
                    base=child["name"],
                )
                self.inputs.extend(_with_other(instance))

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

    @functools.cached_property
    def complete_languages(self) -> list[str]:
        """The languages the form has every text in: its title, introduction and privacy
        notice when it has them, and every label, hint, check message and choice that its
        default language has (i18n offers such a language even without a catalog)."""
        wanted: list[dict] = [self.raw["title"]]
        wanted += [t for t in (self.raw.get("intro"),) if t]
        wanted += [t for t in ((self.raw.get("privacy") or {}).get("notice"),) if t]
        for fdef in self.fields:
            if fdef.other_of is not None:
                continue  # "Other, please specify" comes from the catalog
            for key in ("label", "hint", "constraint_message"):
                texts_ = fdef.raw.get(key)
                if texts_ and texts_.get(self.default_language):
                    wanted.append(texts_)
            wanted += [c["label"] for c in fdef.raw.get("choices") or []]
        return [lang for lang in self.languages if all(t.get(lang) for t in wanted)]

    @functools.cached_property
    def sensitive_names(self) -> list[str]:
        """The questions whose answers are special categories (sealed when stored)."""
        return [f.name for f in self.fields if f.sensitive]

    @functools.cached_property
    def answer_fields(self) -> list[FieldDef]:
        """Fields that take an answer, in order (a definition never changes: read once);
        a repeat's questions once, after the repeat."""
        return [f for f in self.fields if f.answerable]

    @functools.cached_property
    def answer_inputs(self) -> list[FieldDef]:
        """The answers the pages ask for, in order: a repeat's questions once per entry."""
        return [f for f in self.inputs if f.answerable]

    @functools.cached_property
    def repeats(self) -> list[FieldDef]:
        """The form's repeats, in order."""
        return [f for f in self.fields if f.kind.repeat]

    def entries(self, repeat: str) -> list[list[FieldDef]]:
        """The questions of each entry of `repeat` as the pages ask them (entry 1 first)."""
        entries: dict[int, list[FieldDef]] = {}
        for f in self.inputs:
            if f.repeat == repeat and f.entry is not None:
                entries.setdefault(f.entry, []).append(f)
        return [entries[k] for k in sorted(entries)]

    @functools.cached_property
    def repeats_json(self) -> str:
        """For the browser (intake-logic.js): each repeat's and each of its questions'
        name -> [the repeat, its max_count], so count() and sum() read every entry."""
        out = {}
        for repeat in self.repeats:
            for name in [repeat.name] + [f.name for f in self.children(repeat.name)]:
                out[name] = [repeat.name, repeat.counts[1]]
        return json.dumps(out, separators=(",", ":"))

    def answered(self, values: Mapping[str, list[str]]):
        """(question, entry, its values) in the form's order for a response's answers as
        the pages name them (storage.responses.answer_values): a repeat's questions per
        entry (from 1) after the repeat, entry None elsewhere; unanswered ones with []."""
        for fdef in self.answer_fields:
            if fdef.repeat is not None:
                continue  # with its repeat, entry by entry
            yield fdef, None, values.get(fdef.name, [])
            if fdef.kind.repeat:
                count = _count(values.get(fdef.name))
                for entry in range(1, min(count, fdef.counts[1]) + 1):
                    for child in self.children(fdef.name):
                        if child.answerable:
                            name = repeats.instance_name(child.name, entry)
                            yield child, entry, values.get(name, [])

    def children(self, repeat: str) -> list[FieldDef]:
        """The questions of `repeat` as stored (once each)."""
        return [f for f in self.fields if f.repeat == repeat]

    def pages(self) -> list[Page]:
        """The form's pages; a form without `page` fields is one page."""
        return list(self._pages)

    @functools.cached_property
    def _pages(self) -> tuple[Page, ...]:
        pages: list[Page] = []
        title: FieldDef | None = None
        current: list[FieldDef] = []
        for fdef in self.inputs:
            if fdef.kind.page_break:
                if current or title is not None:
                    pages.append(Page(len(pages), title, current))
                title, current = fdef, []
            else:
                current.append(fdef)
        pages.append(Page(len(pages), title, current))
        return tuple(pages)

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
        """The field called `name` (or one entry's question, "age-2"), if the form has one."""
        return self._by_name.get(name)

    @property
    def municipality_field(self) -> FieldDef | None:
        """The field whose answer decides the district, if the form asks for one."""
        return next((f for f in self.fields if f.kind.place), None)


def _count(values: list[str] | None) -> int:
    """A stored number of entries (a whole number; anything else counts as none)."""
    text = values[0] if values else ""
    return int(text) if text.isascii() and text.isdigit() else 0


def _with_other(fdef: FieldDef) -> list[FieldDef]:
    """The field, and the "please specify" question `other: true` adds after it."""
    return [fdef, _other_field(fdef)] if fdef.other else [fdef]


def _other_field(choice_field: FieldDef) -> FieldDef:
    """The "please specify" text question that `other: true` adds after a choice field."""
    base = choice_field.base or choice_field.name
    name = f"{base}_other"
    if choice_field.entry is not None:
        name = repeats.instance_name(name, choice_field.entry)
    raw = {
        "name": name,
        "type": "text",
        "required": True,
        "personal": False,
        "prefill": False,
        # The question's own label, for reports ("Needs – Other"); forms show "please specify".
        "label": dict(choice_field.raw["label"]),
        "hint": {},
        "max_length": FIELD_TYPES["text"].max_length,
        "relevant": f"selected(${{{choice_field.name}}}, 'other')",
    }
    if choice_field.sensitive:
        # What someone writes under "other" about their health is as sensitive as the choice.
        raw["sensitive"] = True
    return FieldDef(
        raw,
        choice_field.default_language,
        other_of=choice_field.name,
        gettext=choice_field.gettext,
        repeat=choice_field.repeat,
        entry=choice_field.entry,
        base=f"{base}_other" if choice_field.entry is not None else None,
    )
