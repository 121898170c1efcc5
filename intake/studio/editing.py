"""Changes to a draft's definition, one step at a time, each checked by the engine.

Every function takes a normalised definition (a plain dict, as stored) and returns a
new one; nothing here touches the database. `checked` runs the engine's validation,
so a step the engine would refuse never reaches the draft.
"""

from __future__ import annotations

import copy
import re
import unicodedata
from typing import Any

from intake.engine import texts
from intake.engine.expressions import parse, references
from intake.engine.fieldtypes import FIELD_TYPES
from intake.engine.validation import (
    NAME_RE,
    RESERVED_NAMES,
    SLUG_RE,
    texts_of,
    validate,
)
from intake.studio.checks import EXPRESSION_KEYS

Definition = dict[str, Any]

_UMLAUTS = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss"})
#: The types the studio offers for a new question, in the order of its menu.
#: (Calculations come from XLSForm files for now: the studio has no calculation editor.)
STUDIO_TYPES = tuple(
    name for name, kind in FIELD_TYPES.items() if name != "page" and not kind.calculated
)
#: A question's texts that may insert answers, besides its choices' labels.
TEXT_KEYS = ("label", "hint", "constraint_message")
#: Types a form may ask once (the place decides which district receives a response).
ONCE_PER_FORM = tuple(name for name, kind in FIELD_TYPES.items() if kind.place)


def checked(raw: Definition) -> Definition:
    """The engine's normalised definition; raises DefinitionError with every problem."""
    return validate(raw, raw.get("form") or "studio")


def slug_for(title: str) -> str:
    """A form's address part from its title: 'Fahrdienst Mainz' -> 'fahrdienst-mainz'."""
    return _ascii(title, "-")[:64].strip("-")


def key_for(label: str, taken: set[str]) -> str:
    """A question's key from its German label, new among `taken`."""
    base = _ascii(label, "_")[:40].strip("_")
    if not base or not base[0].isalpha():
        base = f"frage_{base}".strip("_")
    taken = taken | RESERVED_NAMES  # the form page's own inputs
    key, n = base, 2
    while key in taken:
        key = f"{base}_{n}"
        n += 1
    return key


def _ascii(text: str, sep: str) -> str:
    folded = unicodedata.normalize("NFKD", text.lower().translate(_UMLAUTS))
    plain = folded.encode("ascii", "ignore").decode("ascii")
    return re.sub(r"[^a-z0-9]+", sep, plain).strip(sep)


def valid_key(key: str) -> bool:
    return bool(NAME_RE.match(key))


def valid_slug(slug: str) -> bool:
    return bool(SLUG_RE.match(slug))


def blank(slug: str, title: str, languages: list[str], default: str) -> Definition:
    """A new form: its title and one page named like it, no questions yet."""
    return checked(
        {
            "form": slug,
            "default_language": default,
            "languages": languages,
            "title": {default: title},
            "fields": [{"name": "seite_1", "type": "page", "label": {default: title}}],
        }
    )


def copy_as(raw: Definition, slug: str, title: str) -> Definition:
    """Another form's questions under a new address and title (in the main language)."""
    new = copy.deepcopy(raw)
    new["form"] = slug
    new["title"] = {**new["title"], new["default_language"]: title}
    return checked(new)


def items(raw: Definition) -> list[dict[str, Any]]:
    """Every question and page in order, a repeat's questions right after the repeat."""
    return [f for top in raw["fields"] for f in [top, *(top.get("fields") or [])]]


def names(raw: Definition) -> set[str]:
    return {f["name"] for f in items(raw)}


def find(raw: Definition, name: str) -> dict[str, Any] | None:
    """The question or page called `name` (also inside a repeat), if any."""
    return next((f for f in items(raw) if f["name"] == name), None)


def repeat_of(raw: Definition, name: str) -> str | None:
    """The repeat the question called `name` is in, if any."""
    for top in raw["fields"]:
        if any(f["name"] == name for f in top.get("fields") or []):
            return top["name"]
    return None


def asks(raw: Definition, ftype: str, besides: dict[str, Any] | None = None) -> bool:
    """Whether the form has a question of `ftype` (other than `besides`)."""
    skip = besides["name"] if besides else None
    return any(f["type"] == ftype and f["name"] != skip for f in items(raw))


def offered_types(raw: Definition) -> list[str]:
    """The types a new question of this form may have."""
    return [t for t in STUDIO_TYPES if not (t in ONCE_PER_FORM and asks(raw, t))]


def index_of(raw: Definition, name: str) -> int:
    """The place of `name` among every question and page (a repeat's after the repeat)."""
    for index, item in enumerate(items(raw)):
        if item["name"] == name:
            return index
    raise KeyError(name)


def _place(raw: Definition, name: str) -> tuple[list[dict[str, Any]], int]:
    """The list holding `name` (the form's, or a repeat's questions) and its index there."""
    for top_index, top in enumerate(raw["fields"]):
        if top["name"] == name:
            return raw["fields"], top_index
        for index, child in enumerate(top.get("fields") or []):
            if child["name"] == name:
                return top["fields"], index
    raise KeyError(name)


#: `after` of a question added as the first of a repeat's questions: "in:<repeat>".
AT_START = "in:"


def insert(raw: Definition, item: dict[str, Any], after: str | None) -> Definition:
    """Add a question or page after the one called `after` (None: at the end); after a
    repeat's question, or at the start of a repeat (`in:<repeat>`), it joins the repeat."""
    new = copy.deepcopy(raw)
    if after is None:
        new["fields"].append(item)
    elif after.startswith(AT_START):
        holder, index = _place(new, after.removeprefix(AT_START))
        holder[index].setdefault("fields", []).insert(0, item)
    else:
        holder, index = _place(new, after)
        holder.insert(index + 1, item)
    return checked(new)


def replace(raw: Definition, name: str, item: dict[str, Any]) -> Definition:
    """Put `item` in the place of the question called `name`; a new key is followed
    by every condition and check that read the old one."""
    new = copy.deepcopy(raw)
    holder, index = _place(new, name)
    holder[index] = item
    if item["name"] != name:
        item.pop("original", None)  # a new key: the file's old name is no longer its name
        old, renamed = f"${{{name}}}", f"${{{item['name']}}}"
        for other in items(new):
            for key in EXPRESSION_KEYS:
                if isinstance(other.get(key), str):
                    other[key] = other[key].replace(old, renamed)
            _rename_in_texts(other, old, renamed)
    return checked(new)


def _rename_in_texts(item: dict[str, Any], old: str, new: str) -> None:
    """The answers a question's texts insert ("Wie alt ist ${name}?") follow a new key."""
    for key in TEXT_KEYS:
        if isinstance(item.get(key), dict):
            item[key] = {lang: text.replace(old, new) for lang, text in item[key].items()}
    for choice in item.get("choices") or []:
        choice["label"] = {lang: text.replace(old, new) for lang, text in choice["label"].items()}


def move(raw: Definition, name: str, step: int) -> Definition:
    """Move a question or page one place up (-1) or down (+1); at the edge nothing moves."""
    new = copy.deepcopy(raw)
    fields, index = _place(new, name)  # within its repeat, or among the form's
    target = index + step
    if 0 <= target < len(fields):
        fields[index], fields[target] = fields[target], fields[index]
    return checked(new)


def used_by(raw: Definition, name: str) -> list[str]:
    """The questions whose conditions, checks or texts read the question called `name`."""
    found = find(raw, name)
    gone = {name} | {f["name"] for f in (found or {}).get("fields") or []}  # a repeat's too
    readers = []
    for item in items(raw):
        if item["name"] in gone:
            continue
        inserted = {
            ref for _key, text in texts_of(item) for ref in texts.INSERTED_ANY.findall(text)
        }
        if gone & inserted:
            readers.append(item["name"])
            continue
        for key in EXPRESSION_KEYS:
            source = item.get(key)
            if isinstance(source, str) and gone & references(parse(source)):
                readers.append(item["name"])
                break
    return readers


def remove(raw: Definition, name: str) -> Definition:
    """The definition without the question called `name` (callers check `used_by` first)."""
    new = copy.deepcopy(raw)
    holder, index = _place(new, name)
    del holder[index]
    return checked(new)


def set_details(raw: Definition, details: dict[str, Any]) -> Definition:
    """New title, introduction, languages or privacy notice."""
    new = copy.deepcopy(raw)
    new.update(details)
    return checked(new)
