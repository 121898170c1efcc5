"""The builder's plain choices as the engine's expressions, and back.

A condition is a sentence: "show this question if [question] [is / is not / includes /
is more than / is less than] [value]", several joined by one "and" or one "or". A check
is a preset: a number from–to, a length, a date not in the future or not in the past,
a postcode or digits only. Each compiles to one expression; an expression the builder
did not write (from an imported file) reads back as None and is kept as it is.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

OPERATORS = ("is", "is_not", "includes", "more", "less")
_SYMBOL = {"is": "=", "is_not": "!=", "more": ">", "less": "<"}
_BY_SYMBOL = {v: k for k, v in _SYMBOL.items()}
#: A value the builder writes in quotes: a choice code or short text without quotes.
VALUE_RE = re.compile(r"^[^'\"\\$\{\}\x00-\x1f]{1,64}$")
NUMBER_RE = re.compile(r"^-?[0-9]{1,9}(\.[0-9]{1,6})?$")

_NAME = r"[a-z][a-z0-9_]{0,62}"
_QUOTED = r"'([^'\"\\$\{\}]{1,64})'"
_CLAUSE = (
    rf"(?:selected\(\$\{{({_NAME})\}}, {_QUOTED}\)"
    rf"|\$\{{({_NAME})\}} (=|!=|>|<) (?:{_QUOTED}|(-?[0-9]{{1,9}}(?:\.[0-9]{{1,6}})?)))"
)
_CLAUSE_RE = re.compile(_CLAUSE)


@dataclass(frozen=True)
class Clause:
    question: str
    operator: str
    value: str


def compile_condition(clauses: list[Clause], joiner: str, numeric: set[str]) -> str | None:
    """The expression of the clauses (None: no condition); `numeric` names number questions."""
    parts = []
    for clause in clauses:
        ref = f"${{{clause.question}}}"
        if clause.operator == "includes":
            parts.append(f"selected({ref}, '{clause.value}')")
        elif clause.operator in ("more", "less") or (
            clause.question in numeric and NUMBER_RE.match(clause.value)
        ):
            parts.append(f"{ref} {_SYMBOL[clause.operator]} {clause.value}")
        else:
            parts.append(f"{ref} {_SYMBOL[clause.operator]} '{clause.value}'")
    if not parts:
        return None
    return f" {joiner} ".join(parts)


def read_condition(source: str | None) -> tuple[list[Clause], str] | None:
    """The clauses and joiner of an expression the builder can show; None if it cannot."""
    if not source:
        return [], "and"
    joiners = set(re.findall(r"\) (and|or) |' (and|or) |[0-9] (and|or) ", source))
    words = {w for group in joiners for w in group if w}
    if len(words) > 1:
        return None
    joiner = words.pop() if words else "and"
    clauses = []
    position = 0
    while True:
        match = _CLAUSE_RE.match(source, position)
        if match is None:
            return None
        sel_name, sel_value, name, symbol, quoted, number = match.groups()
        if sel_name:
            clauses.append(Clause(sel_name, "includes", sel_value))
        else:
            clauses.append(
                Clause(name, _BY_SYMBOL[symbol], quoted if quoted is not None else number)
            )
        position = match.end()
        if position == len(source):
            return clauses, joiner
        glue = f" {joiner} "
        if not source.startswith(glue, position):
            return None
        position += len(glue)


# --- checks -------------------------------------------------------------------------

#: Which presets a type offers (by what the type stores).
PRESETS_FOR = {
    "integer": ("range",),
    "decimal": ("range",),
    "text": ("length", "postcode", "digits"),
    "textarea": ("length",),
    "phone": ("length",),
    "date": ("not_future", "not_past"),
}
_FIXED = {
    "not_future": ". <= today()",
    "not_past": ". >= today()",
    "postcode": "regex(., '^[0-9]{5}$')",
    "digits": "regex(., '^[0-9]+$')",
}
_NUM = r"(-?[0-9]{1,9}(?:\.[0-9]{1,6})?)"
_RANGE = [
    (re.compile(rf"^\. >= {_NUM} and \. <= {_NUM}$"), ("low", "high")),
    (re.compile(rf"^\. >= {_NUM}$"), ("low",)),
    (re.compile(rf"^\. <= {_NUM}$"), ("high",)),
]
_LENGTH = [
    (
        re.compile(
            r"^string-length\(\.\) >= ([0-9]{1,5}) and string-length\(\.\) <= ([0-9]{1,5})$"
        ),
        ("low", "high"),
    ),
    (re.compile(r"^string-length\(\.\) >= ([0-9]{1,5})$"), ("low",)),
    (re.compile(r"^string-length\(\.\) <= ([0-9]{1,5})$"), ("high",)),
]


@dataclass(frozen=True)
class Check:
    preset: str
    low: str = ""
    high: str = ""


def compile_check(check: Check | None) -> str | None:
    """The constraint expression of a preset (None: no check)."""
    if check is None:
        return None
    if check.preset in _FIXED:
        return _FIXED[check.preset]
    subject = "." if check.preset == "range" else "string-length(.)"
    parts = []
    if check.low:
        parts.append(f"{subject} >= {check.low}")
    if check.high:
        parts.append(f"{subject} <= {check.high}")
    return " and ".join(parts) or None


def read_check(source: str | None) -> Check | None | bool:
    """The preset an expression is; None: no check; False: one the presets cannot show."""
    if not source:
        return None
    for preset, fixed in _FIXED.items():
        if source == fixed:
            return Check(preset)
    for preset, patterns in (("range", _RANGE), ("length", _LENGTH)):
        for pattern, names in patterns:
            match = pattern.match(source)
            if match:
                return Check(preset, **dict(zip(names, match.groups(), strict=True)))
    return False
