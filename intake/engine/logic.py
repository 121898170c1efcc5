"""Conditions, required-if, constraints and choice filters, evaluated on the server.

The rules mirror static/intake-logic.js: fields are visited in the definition's
order; a field (or a whole page) whose `relevant` is false counts as unanswered for
every later expression, and its answer is neither checked nor stored. A reference to
a field later in the form reads its answer as given.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from intake.engine import repeats
from intake.engine.definition import FieldDef, FormDefinition
from intake.engine.expressions import (
    Value,
    check,
    evaluate,
    parse,
    references,
    to_number,
    to_string,
)

Answers = Mapping[str, list[str]]


def expression_value(values: list[str], fdef: FieldDef | None = None) -> str:
    """An answer as expressions see it: several choices separated by spaces.

    A decimal typed with a comma ("450,50") and a date typed as "31.12.2025" are read
    as they will be stored ("450.50", "2025-12-31"), so `${rent} > 400` holds for both;
    static/intake-logic.js reads decimal fields the same way.
    """
    text = " ".join(values)
    if fdef is not None and fdef.kind.decimal_comma:
        number = re.sub(r"\s", "", text).replace(",", ".")
        return number if not math.isnan(to_number(number)) else text
    if fdef is not None and fdef.kind.dotted_date:
        typed = re.fullmatch(r"([0-9]{1,2})\.([0-9]{1,2})\.([0-9]{4})", text.strip())
        if typed:
            day, month, year = typed.groups()
            return f"{year}-{int(month):02d}-{int(day):02d}"
    return text


@dataclass
class State:
    """Which fields and pages are shown, and the answers that count."""

    relevant: dict[str, bool]
    pages: dict[int, bool]
    values: dict[str, list[str]]
    definition: FormDefinition | None = field(default=None, repr=False)

    def lookup(self, name: str) -> Value:
        fdef = self.definition.field(name) if self.definition else None
        return expression_value(self.values.get(name, []), fdef)

    def lookup_all(self, name: str) -> list[Value] | None:
        if self.definition is None:
            return None
        return _entries(self.definition, name, self.lookup)

    def check(self, source: str, **kwargs) -> bool:
        """Whether an expression holds with these answers."""
        return check(source, self.lookup, lookup_all=self.lookup_all, **kwargs)


def entry_count(fdef: FieldDef, value: Value) -> int:
    """How many entries a repeat has with `value` as its answer (within its counts)."""
    number = to_number(value)
    if math.isnan(number):
        return 0
    return max(0, min(fdef.counts[1], math.floor(number)))


def _entries(definition: FormDefinition, name: str, lookup) -> list[Value] | None:
    """What count(), sum(), ... read of `name`: an answer per entry of its repeat (for
    the repeat itself, an item per entry); None for a question outside every repeat."""
    fdef = definition.field(name)
    if fdef is None or (fdef.repeat is None and not fdef.kind.repeat) or fdef.entry is not None:
        return None
    repeat = definition.field(fdef.repeat or name)
    count = entry_count(repeat, lookup(repeat.name))
    if fdef.kind.repeat:
        return [str(k) for k in range(1, count + 1)]
    return [lookup(repeats.instance_name(name, k)) for k in range(1, count + 1)]


#: The longest calculated value (as the longest answer): calculations that concat each
#: other's values cannot grow a text without end.
CALCULATED_MAX = 10_000


def evaluate_state(definition: FormDefinition, answers: Answers) -> State:
    """Decide relevance in form order and keep only the answers of shown fields."""
    raw = {name: list(values) for name, values in answers.items()}
    effective: dict[str, list[str]] = dict(raw)
    relevant: dict[str, bool] = {}
    pages: dict[int, bool] = {}

    def lookup(name: str) -> Value:
        return expression_value(effective.get(name, []), definition.field(name))

    def lookup_all(name: str) -> list[Value] | None:
        return _entries(definition, name, lookup)

    def holds(source: str) -> bool:
        return check(source, lookup, lookup_all=lookup_all)

    for page in definition.pages():
        page_shown = not page.relevant or holds(page.relevant)
        pages[page.index] = page_shown
        for fdef in page.fields:
            shown = page_shown and (not fdef.relevant or holds(fdef.relevant))
            relevant[fdef.name] = shown
            if not shown:
                effective[fdef.name] = []
            elif fdef.default is not None and not effective.get(fdef.name):
                effective[fdef.name] = [fdef.default]  # a hidden field's default
            elif fdef.calculation:  # never what was posted: made from the answers before it
                made = evaluate(parse(fdef.calculation, None), lookup, lookup_all=lookup_all)
                # No number (NaN) is no value, as ODK stores it.
                value = "" if made != made else to_string(made)[:CALCULATED_MAX]
                effective[fdef.name] = [value] if value else []
            elif fdef.repeat_count:  # entries made from earlier answers, as a calculation
                made = evaluate(parse(fdef.repeat_count, None), lookup, lookup_all=lookup_all)
                effective[fdef.name] = [str(entry_count(fdef, made))]
    values = {
        name: vals
        for name, vals in effective.items()
        if vals and relevant.get(name, False) and definition.field(name) is not None
    }
    return State(relevant, pages, values, definition)


def is_required(fdef: FieldDef, state: State) -> bool:
    """`required: true`, or a required-if expression that holds now."""
    if isinstance(fdef.required, str):
        return state.check(fdef.required)
    return bool(fdef.required)


def constraint_holds(fdef: FieldDef, value: str, state: State) -> bool:
    """Whether an answer satisfies the field's constraint (`.` is the answer)."""
    if not fdef.constraint:
        return True
    return state.check(fdef.constraint, current=value)


def choice_allowed(fdef: FieldDef, choice: Mapping, state: State) -> bool:
    """Whether a choice passes the field's choice filter with the current answers."""
    if not fdef.choice_filter:
        return True
    return state.check(fdef.choice_filter, names=choice.get("data", {}))


def depends_on(source: str | None, names: Iterable[str]) -> bool:
    """Whether an expression reads any of `names`."""
    if not source:
        return False
    return bool(references(parse(source, None)) & set(names))


def tree_json(source: str | None) -> str | None:
    """The parsed tree as JSON, for the browser's evaluator."""
    return json.dumps(parse(source, None), separators=(",", ":")) if source else None
