"""Repeats: a group of questions answered once per entry (household members, children).

A repeat field holds its questions (`fields`) and how many entries it may have
(`min_count`, `max_count`); its own answer is the number of entries. The form's pages
ask each entry's questions as questions of their own, named `<question>-<entry>`
("age-2"), which no definition name can be (names have no "-"): every answer is then
one name with its values, as everywhere else, and storage keeps the question's own
name with the entry's number (intake.storage.responses).

An entry's questions exist for every entry up to `max_count`; entry k is shown while
the repeat's answer is k or more, so the browser adds an entry by counting one up and
the server's conditions decide the rest. The expressions of an entry's questions are
rewritten for it, by tokens (a name inside a quoted text stays as it is):
`${age}` of a question beside it becomes `${age-3}` in the third entry, and
`position(..)` the number 3. Outside the repeat, a question inside it given to
count(), sum(), min(), max() or indexed-repeat() reads every entry (the evaluators'
`lookup_all`); any other reference reads the first entry, as ODK does.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from functools import lru_cache
from typing import Any

from intake.engine.expressions import AGGREGATES, tokenize
from intake.engine.texts import INSERTED

#: Entries a repeat may have when its definition sets no `max_count`, and at most: each
#: entry's questions are on the page (hidden until added) and in every check.
DEFAULT_MAX_COUNT = 20
MAX_COUNT_LIMIT = 50
#: The keys a repeat field takes beyond name, type, label, hint and relevant.
KEYS = ("fields", "min_count", "max_count", "repeat_count")
#: `<question>-<entry>`: the name of one entry's question on the form's pages.
INSTANCE_RE = re.compile(r"^([a-z][a-z0-9_]{0,62})-([1-9][0-9]?)$")


def instance_name(name: str, entry: int) -> str:
    """The name of question `name` of entry `entry` (from 1) on a page."""
    return f"{name}-{entry}"


def split_instance(name: str) -> tuple[str, int | None]:
    """("age", 2) for "age-2"; (name, None) for a name of no entry."""
    match = INSTANCE_RE.match(name)
    return (match.group(1), int(match.group(2))) if match else (name, None)


def in_entry(source: str, siblings: frozenset[str], entry: int) -> str:
    """An expression of a question of entry `entry`: its siblings' answers are the
    entry's own, position(..) is the entry's number."""
    return _rewrite(source, siblings, entry)


def outside(source: str, repeated: frozenset[str]) -> str:
    """An expression outside a repeat: a question inside one reads its first entry,
    except as what count(), sum(), min(), max() and indexed-repeat() read."""
    return _rewrite(source, repeated, None)


@lru_cache(maxsize=4096)
def _rewrite(source: str, names: frozenset[str], entry: int | None) -> str:
    tokens = tokenize(source)
    out: list[str] = []
    last = 0
    for i, token in enumerate(tokens):
        replacement = None
        if token.kind == "ref" and token.text in names:
            if entry is not None:
                replacement = "${" + instance_name(token.text, entry) + "}"
            elif not _aggregated(tokens, i):
                replacement = "${" + instance_name(token.text, 1) + "}"
        elif entry is not None and _position_at(tokens, i):
            # position ( .. ) -> the entry's number; the four tokens become one.
            end = tokens[i + 3]
            out.append(source[last : token.pos])
            out.append(str(entry))
            last = end.pos + len(end.text)
            continue
        if replacement is not None and token.pos >= last:
            out.append(source[last : token.pos])
            out.append(replacement)
            last = token.pos + len(token.text) + 3  # "${" and "}" around the name
    out.append(source[last:])
    return "".join(out)


def _aggregated(tokens: list, i: int) -> bool:
    """Whether reference `i` is what an aggregate reads: `sum(${age})`,
    `indexed-repeat(${age}, ...)` (its first argument, alone)."""
    return (
        i >= 2
        and tokens[i - 1].text == "("
        and tokens[i - 2].kind == "name"
        and tokens[i - 2].text in AGGREGATES
        and i + 1 < len(tokens)
        and tokens[i + 1].text in (")", ",")
    )


def _position_at(tokens: list, i: int) -> bool:
    return (
        tokens[i].kind == "name"
        and tokens[i].text == "position"
        and i + 3 < len(tokens)
        and tokens[i + 1].text == "("
        and tokens[i + 2].kind == "parent"
        and tokens[i + 3].text == ")"
    )


def text_in_entry(text: str, siblings: frozenset[str], entry: int) -> str:
    """A label or hint of an entry's question: "${name}" of a sibling inserts the entry's."""
    return INSERTED.sub(
        lambda m: (
            "${" + instance_name(m.group(1), entry) + "}" if m.group(1) in siblings else m.group(0)
        ),
        text,
    )


def text_outside(text: str, repeated: frozenset[str]) -> str:
    """A text outside a repeat inserts the first entry's answer of a question inside it."""
    return INSERTED.sub(
        lambda m: (
            "${" + instance_name(m.group(1), 1) + "}" if m.group(1) in repeated else m.group(0)
        ),
        text,
    )


EXPRESSION_KEYS = ("relevant", "constraint", "choice_filter", "calculation", "repeat_count")


def rewritten(raw: Mapping[str, Any], expression, text) -> dict[str, Any]:
    """A copy of a normalised field with `expression` applied to its expressions
    (and a required-if) and `text` to its texts that may insert answers."""
    out = dict(raw)
    for key in EXPRESSION_KEYS:
        if isinstance(out.get(key), str):
            out[key] = expression(out[key])
    if isinstance(out.get("required"), str):
        out["required"] = expression(out["required"])
    for key in ("label", "hint", "constraint_message"):
        if isinstance(out.get(key), Mapping):
            out[key] = {lang: text(t) for lang, t in out[key].items()}
    if out.get("choices"):
        out["choices"] = [
            {**c, "label": {lang: text(t) for lang, t in c["label"].items()}}
            for c in out["choices"]
        ]
    return out


def names_inside(fields: Iterable[Mapping[str, Any]]) -> dict[str, str]:
    """Question name -> the repeat it is in, for every repeat's questions (and the
    "please specify" question `other: true` adds); a repeat is named by itself."""
    inside: dict[str, str] = {}
    for f in fields:
        if f.get("type") == "repeat":
            inside[f["name"]] = f["name"]
            for child in f.get("fields") or []:
                inside[child["name"]] = f["name"]
                if child.get("other"):
                    inside[f"{child['name']}_other"] = f["name"]
    return inside
