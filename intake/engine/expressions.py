"""XLSForm-style expressions: a small parser and evaluator, never `eval`.

An expression such as `${children} > 0 and selected(${needs}, 'housing')` is parsed
once into a tree of plain lists (JSON-serialisable), which the server evaluates here
and the browser evaluates in static/intake-logic.js with the same rules. Keeping the
tree as data means both sides agree on parsing by construction; only evaluation is
written twice, and tests run both on the same cases.

Tree nodes:
    ["num", 1.5]  ["str", "x"]  ["bool", true]  ["ref", "field"]  ["cur"]  ["name", "col"]
    ["parent"] (`..`, only as the argument of position())
    ["or", a, b]  ["and", a, b]  ["cmp", op, a, b]  ["arith", op, a, b]  ["neg", a]
    ["call", "function-name", [args...]]

Values are strings, numbers (float) or booleans, as in XPath 1.0. An unanswered field
is the empty string; a multiple-choice answer is its values separated by spaces.

A question inside a repeat has an answer per entry. count(), sum(), min(), max() and
indexed-repeat() given such a question (or the repeat itself) read every entry's
answer through `lookup_all`; intake.engine.repeats rewrites every other reference to
one entry's instance ("${age}" in the third entry reads "${age-3}").
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import lru_cache
from typing import Any

import re2

Node = list
Value = str | float | bool

#: name -> (minimum, maximum) number of arguments
FUNCTIONS: dict[str, tuple[int, int]] = {
    "selected": (2, 2),
    "count-selected": (1, 1),
    "string-length": (1, 1),
    "regex": (2, 2),
    "contains": (2, 2),
    "starts-with": (2, 2),
    "number": (1, 1),
    "int": (1, 1),
    "today": (0, 0),
    "if": (3, 3),
    "coalesce": (2, 2),
    "not": (1, 1),
    "true": (0, 0),
    "false": (0, 0),
    "concat": (1, 20),
    "substr": (2, 3),
    "string": (1, 1),
    "round": (1, 2),
    "min": (1, 20),
    "max": (1, 20),
    "count": (1, 1),
    "sum": (1, 1),
    "position": (1, 1),
    "indexed-repeat": (3, 3),
    "format-date": (2, 2),
    "date": (1, 1),
    "decimal-date-time": (1, 1),
}
#: The functions that read every entry of a repeat when given one of its questions.
AGGREGATES = ("count", "sum", "min", "max", "indexed-repeat")

MAX_LENGTH = 1000
#: Deepest nesting of parentheses, calls and signs the parser accepts, and deepest tree:
#: the parser and the evaluators recurse, and must stay far from Python's recursion limit.
MAX_NESTING = 32
MAX_DEPTH = 100
#: What JavaScript's trim() removes, so number('...') agrees with the browser.
_SPACE = (
    "\t\n\v\f\r \xa0\u1680"
    + "".join(map(chr, range(0x2000, 0x200B)))
    + "\u2028\u2029\u202f\u205f\u3000\ufeff"
)
#: Separators of the values of a multiple-choice answer (XML white space).
_LIST_SEP = re.compile(r"[ \t\n\r]+")
_TOKEN = re.compile(
    r"""
    (?P<space>\s+)
  | (?P<ref>\$\{(?P<refname>[^}]*)\})
  | (?P<num>\d+(?:\.\d+)?|\.\d+)
  | (?P<str>'[^']*'|"[^"]*")
  | (?P<op><=|>=|!=|=|<|>|\+|-|\*|\(|\)|,)
  | (?P<parent>\.\.)
  | (?P<cur>\.)
  | (?P<name>[A-Za-z_][A-Za-z0-9_]*(?:-[A-Za-z_][A-Za-z0-9_]*)*)
    """,
    re.VERBOSE,
)


class ExpressionError(ValueError):
    """An expression that cannot be parsed; the message says where and why."""


@dataclass(frozen=True)
class Token:
    kind: str
    text: str
    pos: int


def tokenize(source: str) -> list[Token]:
    """Split an expression into tokens, or say at which character it goes wrong."""
    tokens = []
    pos = 0
    while pos < len(source):
        match = _TOKEN.match(source, pos)
        if match is None:
            raise ExpressionError(f"unexpected character {source[pos]!r} at position {pos + 1}")
        kind = match.lastgroup
        if kind == "refname":  # pragma: no cover - the outer group is reported
            kind = "ref"
        if kind == "ref":
            name = match.group("refname")
            if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_.-]*", name):
                raise ExpressionError(f"'${{{name}}}' at position {pos + 1} is not a field name")
            tokens.append(Token("ref", name, pos))
        elif kind != "space":
            tokens.append(Token(kind, match.group(kind), pos))
        pos = match.end()
    return tokens


class _Parser:
    """Recursive descent with XPath's precedence: or < and < = != < < <= > >= < + - < * div mod."""

    def __init__(self, source: str):
        self.source = source
        self.tokens = tokenize(source)
        self.i = 0
        self.depth = 0

    def nested(self, token: Token) -> None:
        """Count one more level of nesting; refuse expressions nested absurdly deep."""
        self.depth += 1
        if self.depth > MAX_NESTING:
            raise ExpressionError(
                f"the expression is nested too deeply at position {token.pos + 1}"
            )

    def peek(self) -> Token | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def take(self) -> Token:
        token = self.peek()
        if token is None:
            raise ExpressionError("the expression ends too early")
        self.i += 1
        return token

    def expect(self, text: str) -> None:
        token = self.take()
        if token.text != text:
            raise ExpressionError(f"expected '{text}' at position {token.pos + 1}")

    def at_word(self, *words: str) -> bool:
        token = self.peek()
        return token is not None and token.kind == "name" and token.text in words

    def at_op(self, *ops: str) -> bool:
        token = self.peek()
        return token is not None and token.kind == "op" and token.text in ops

    def parse(self) -> Node:
        if not self.tokens:
            raise ExpressionError("the expression is empty")
        node = self.or_expr()
        token = self.peek()
        if token is not None:
            raise ExpressionError(f"unexpected '{token.text}' at position {token.pos + 1}")
        return node

    def or_expr(self) -> Node:
        node = self.and_expr()
        while self.at_word("or"):
            self.take()
            node = ["or", node, self.and_expr()]
        return node

    def and_expr(self) -> Node:
        node = self.equality()
        while self.at_word("and"):
            self.take()
            node = ["and", node, self.equality()]
        return node

    def equality(self) -> Node:
        node = self.relational()
        while self.at_op("=", "!="):
            op = self.take().text
            node = ["cmp", op, node, self.relational()]
        return node

    def relational(self) -> Node:
        node = self.additive()
        while self.at_op("<", "<=", ">", ">="):
            op = self.take().text
            node = ["cmp", op, node, self.additive()]
        return node

    def additive(self) -> Node:
        node = self.multiplicative()
        while self.at_op("+", "-"):
            op = self.take().text
            node = ["arith", op, node, self.multiplicative()]
        return node

    def multiplicative(self) -> Node:
        node = self.unary()
        while self.at_op("*") or self.at_word("div", "mod"):
            op = self.take().text
            node = ["arith", op, node, self.unary()]
        return node

    def unary(self) -> Node:
        if self.at_op("-"):
            self.nested(self.take())
            node = ["neg", self.unary()]
            self.depth -= 1
            return node
        return self.primary()

    def primary(self) -> Node:
        token = self.take()
        if token.kind == "num":
            number = float(token.text)
            if math.isinf(number):
                raise ExpressionError(f"the number at position {token.pos + 1} is too large")
            return ["num", number]
        if token.kind == "str":
            return ["str", token.text[1:-1]]
        if token.kind == "ref":
            return ["ref", token.text]
        if token.kind == "cur":
            return ["cur"]
        if token.kind == "parent":
            return ["parent"]
        if token.kind == "op" and token.text == "(":
            self.nested(token)
            node = self.or_expr()
            self.expect(")")
            self.depth -= 1
            return node
        if token.kind == "name":
            if self.at_op("("):
                return self.call(token)
            if token.text in ("and", "or", "div", "mod"):
                raise ExpressionError(f"'{token.text}' at position {token.pos + 1} needs a value")
            return ["name", token.text]
        raise ExpressionError(f"unexpected '{token.text}' at position {token.pos + 1}")

    def call(self, name: Token) -> Node:
        if name.text not in FUNCTIONS:
            raise ExpressionError(f"unknown function '{name.text}()' at position {name.pos + 1}")
        self.expect("(")
        self.nested(name)
        args: list[Node] = []
        if not self.at_op(")"):
            args.append(self.or_expr())
            while self.at_op(","):
                self.take()
                args.append(self.or_expr())
        self.expect(")")
        self.depth -= 1
        low, high = FUNCTIONS[name.text]
        if not low <= len(args) <= high:
            wanted = str(low) if low == high else f"{low} to {high}"
            raise ExpressionError(f"{name.text}() takes {wanted} argument(s), got {len(args)}")
        if name.text == "true":
            return ["bool", True]
        if name.text == "false":
            return ["bool", False]
        if name.text == "position" and args != [["parent"]]:
            raise ExpressionError(f"position() takes '..' at position {name.pos + 1}")
        return ["call", name.text, args]


@lru_cache(maxsize=2048)
def _parse_cached(source: str) -> tuple:
    tree = _Parser(source).parse()
    if _depth(tree) > MAX_DEPTH:
        raise ExpressionError("the expression is nested too deeply")
    nodes = list(walk(tree))
    if nodes.count(["parent"]) > sum(1 for n in nodes if n[:2] == ["call", "position"]):
        raise ExpressionError("'..' only works in position(..)")
    return _freeze(tree)


def _depth(tree: Node) -> int:
    """How deep a tree is, without recursion."""
    deepest = 0
    stack = [(tree, 1)]
    while stack:
        node, depth = stack.pop()
        deepest = max(deepest, depth)
        children = node[2] if node[0] == "call" else node[1:]
        stack.extend((child, depth + 1) for child in children if isinstance(child, list))
    return deepest


def _freeze(node: Any) -> Any:
    return tuple(_freeze(x) for x in node) if isinstance(node, list) else node


def _thaw(node: Any) -> Any:
    return [_thaw(x) for x in node] if isinstance(node, tuple) else node


def parse(source: str, limit: int | None = MAX_LENGTH) -> Node:
    """Parse an expression into its tree; raise ExpressionError with the position.

    `limit`: the longest text an author may write (checked when a definition is read);
    None for the expressions made from checked ones at run time (an entry's condition
    with the repeat's, the later pages' conditions joined), which may be longer.
    """
    if not isinstance(source, str):
        raise ExpressionError("an expression must be text")
    if limit is not None and len(source) > limit:
        raise ExpressionError(f"the expression is longer than {limit} characters")
    return _thaw(_parse_cached(source))


def walk(node: Node):
    """Every node of a tree, depth first."""
    yield node
    children = node[2] if node[0] == "call" else node[1:]
    for child in children:
        if isinstance(child, list):
            yield from walk(child)


def references(node: Node) -> set[str]:
    """The field names an expression reads with ${...}."""
    return {n[1] for n in walk(node) if n[0] == "ref"}


def uses(node: Node, kind: str) -> bool:
    """Whether a node of `kind` ('cur', 'name', ...) occurs in the tree."""
    return any(n[0] == kind for n in walk(node))


# --- evaluation ------------------------------------------------------------------


_ISO_DATE = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})")
_EPOCH = date(1970, 1, 1)


def to_number(value: Value) -> float:
    """XPath number(): NaN for text that is not a number; booleans are 1 and 0; a date
    ("2025-12-31", as dates are stored and today() gives them) is its days since
    1970-01-01, as ODK counts them, so `(today() - ${birth}) div 365.25` is an age."""
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    if isinstance(value, float | int):
        return float(value)
    text = value.strip(_SPACE)
    if re.fullmatch(r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)", text):
        return float(text)
    found = _ISO_DATE.fullmatch(text)
    if found:
        day = _date_of(found)
        return float((day - _EPOCH).days) if day else math.nan
    return math.nan


def _date_of(found: re.Match[str]) -> date | None:
    if int(found.group(1)) < 100:
        return None  # the browser's Date reads years 0-99 as 1900-1999: no such dates
    try:
        return date(int(found.group(1)), int(found.group(2)), int(found.group(3)))
    except ValueError:
        return None


def _as_date(value: Value) -> date | None:
    """A date from a stored date or a number of days since 1970 (date(), format-date())."""
    if isinstance(value, str):
        found = _ISO_DATE.fullmatch(value.strip(_SPACE))
        if found:
            return _date_of(found)
    number = to_number(value)
    if not math.isfinite(number) or abs(number) > 3_000_000:  # years 0001 to 9999
        return None
    try:
        return _EPOCH.fromordinal(_EPOCH.toordinal() + math.floor(number))
    except (ValueError, OverflowError):
        return None


_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def format_date(value: Value, pattern: str) -> str:
    """ODK's format-date(): %Y %y %m %n %d %e %b %a of a date ('' when there is none);
    a date has no time, so %H %M %S are 00; any other text stays as written."""
    day = _as_date(value)
    if day is None:
        return ""
    codes = {
        "Y": f"{day.year:04d}",
        "y": f"{day.year % 100:02d}",
        "m": f"{day.month:02d}",
        "n": str(day.month),
        "d": f"{day.day:02d}",
        "e": str(day.day),
        "b": _MONTHS[day.month - 1],
        "a": _DAYS[day.weekday()],
        "H": "00",
        "M": "00",
        "S": "00",
    }
    return re.sub(r"%([YymndebaHMS])", lambda m: codes[m.group(1)], pattern)


def to_bool(value: Value) -> bool:
    """XPath boolean(): non-empty text, non-zero number."""
    if isinstance(value, bool):
        return value
    if isinstance(value, float | int):
        return value != 0 and not math.isnan(value)
    return value != ""


def to_string(value: Value) -> str:
    """XPath string(), written as JavaScript writes numbers: `3`, `0.5`, `1e+21`, `NaN`."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float | int):
        return _number_text(float(value))
    return value


def _number_text(value: float) -> str:
    """ECMAScript Number::toString, so both evaluators turn numbers into the same text."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    if value == 0:
        return "0"
    sign = "-" if value < 0 else ""
    # repr() gives the shortest digits that read back as the same number, as JavaScript does.
    _sign, digit_tuple, exponent = Decimal(repr(abs(value))).normalize().as_tuple()
    digits = "".join(map(str, digit_tuple))
    k = len(digits)
    n = int(exponent) + k  # the decimal point sits after n digits
    if k <= n <= 21:
        text = digits + "0" * (n - k)
    elif 0 < n <= 21:
        text = f"{digits[:n]}.{digits[n:]}"
    elif -6 < n <= 0:
        text = "0." + "0" * -n + digits
    else:
        mantissa = digits if k == 1 else f"{digits[0]}.{digits[1:]}"
        text = f"{mantissa}e{'+' if n - 1 >= 0 else '-'}{abs(n - 1)}"
    return sign + text


def _compare(op: str, left: Value, right: Value) -> bool:
    if op in ("=", "!="):
        if isinstance(left, bool) or isinstance(right, bool):
            equal = to_bool(left) == to_bool(right)
        elif isinstance(left, float) or isinstance(right, float):
            equal = to_number(left) == to_number(right)
        else:
            equal = left == right
        return equal if op == "=" else not equal
    a, b = to_number(left), to_number(right)
    if math.isnan(a) or math.isnan(b):
        # Text that is not a number (e.g. ISO dates) compares as text, as ODK does for dates.
        if isinstance(left, str) and isinstance(right, str) and left and right:
            a, b = left, right  # type: ignore[assignment]
        else:
            return False
    return {"<": a < b, "<=": a <= b, ">": a > b, ">=": a >= b}[op]


def _arith(op: str, left: Value, right: Value) -> float:
    a, b = to_number(left), to_number(right)
    if op == "+":
        return a + b
    if op == "-":
        return a - b
    if op == "*":
        return a * b
    if b == 0:
        return math.nan
    if op == "div":
        return a / b
    if math.isinf(a):
        return math.nan  # as in JavaScript; math.fmod() would raise
    return math.fmod(a, b)


def evaluate(
    node: Node,
    lookup: Callable[[str], Value],
    current: Value = "",
    names: Mapping[str, Value] | None = None,
    today: date | None = None,
    lookup_all: Callable[[str], list[Value] | None] | None = None,
) -> Value:
    """Evaluate a parsed tree; `lookup(name)` gives a field's answer ('' when empty).

    `lookup_all(name)` gives the answers of a question inside a repeat, an entry each
    (for the repeat itself: one item per entry), and None for any other name.
    """

    def ev(n: Node) -> Value:
        kind = n[0]
        if kind in ("num", "str", "bool"):
            return n[1]
        if kind == "ref":
            return lookup(n[1])
        if kind == "cur":
            return current
        if kind == "name":
            return (names or {}).get(n[1], "")
        if kind == "or":
            return to_bool(ev(n[1])) or to_bool(ev(n[2]))
        if kind == "and":
            return to_bool(ev(n[1])) and to_bool(ev(n[2]))
        if kind == "cmp":
            return _compare(n[1], ev(n[2]), ev(n[3]))
        if kind == "arith":
            return _arith(n[1], ev(n[2]), ev(n[3]))
        if kind == "neg":
            return -to_number(ev(n[1]))
        if kind == "call":
            if n[1] in AGGREGATES and n[2][0][0] == "ref" and lookup_all is not None:
                entries = lookup_all(n[2][0][1])
                if entries is not None:
                    return _aggregate(n[1], entries, [ev(a) for a in n[2][1:]])
            return _call(n[1], n[2], ev, today)
        raise ExpressionError(f"unknown node {kind}")  # pragma: no cover

    return ev(node)


def _of_one(name: str, value: Value) -> Value:
    """count(), sum() or indexed-repeat() of an answer outside every repeat: ODK counts
    its one node and adds its one value; indexed-repeat() has no entries to read."""
    if name == "count":
        return 1.0
    return to_number(value) if name == "sum" else ""


def _aggregate(name: str, entries: list[Value], rest: list[Value]) -> Value:
    """count(), sum(), min(), max() or indexed-repeat() over a repeat's entries: an
    unanswered entry counts in count() and is left out of sum(), min() and max()."""
    if name == "count":  # every entry, answered or not, as ODK counts the nodes
        return float(len(entries))
    if name == "indexed-repeat":
        number = to_number(rest[1])
        if not math.isfinite(number) or number < 1 or number > len(entries):
            return ""
        return entries[math.trunc(number) - 1]
    numbers = [to_number(e) for e in entries if to_string(e) != ""]
    if name == "sum":
        return sum(numbers, 0.0)  # in order, as the browser adds
    if not numbers or any(math.isnan(x) for x in numbers):
        return math.nan
    return min(numbers) if name == "min" else max(numbers)


def _call(name: str, args: list[Node], ev: Callable[[Node], Value], today: date | None) -> Value:
    """Call function `name` on its argument trees, evaluated by `ev` as it needs them."""
    if name == "if":
        return ev(args[1]) if to_bool(ev(args[0])) else ev(args[2])
    if name == "today":
        return (today or date.today()).isoformat()
    if name == "position":  # outside a repeat (inside one, it is the entry's number)
        return math.nan
    values = [ev(a) for a in args]
    if name in ("count", "sum", "indexed-repeat"):
        return _of_one(name, values[0])
    if name == "regex":
        from_answer = args[1][0] != "str"
        return regex_matches(to_string(values[0]), to_string(values[1]), from_answer)
    return _apply(name, values)


def _apply(name: str, values: list[Value]) -> Value:
    """Apply function `name` (not if, today or regex) to its arguments' values."""
    simple = _SIMPLE.get(name)
    if simple is not None:
        return simple(values)
    if name == "int":
        number = to_number(values[0])
        return number if math.isnan(number) or math.isinf(number) else float(math.trunc(number))
    if name == "coalesce":
        first = values[0]
        return first if to_string(first) != "" else values[1]
    if name == "round":
        return _round(to_number(values[0]), to_number(values[1]) if len(values) > 1 else 0.0)
    if name in ("min", "max"):
        numbers = [to_number(v) for v in values]
        if any(math.isnan(n) for n in numbers):
            return math.nan
        return min(numbers) if name == "min" else max(numbers)
    raise ExpressionError(f"unknown function {name}")  # pragma: no cover


def _date_value(values: list[Value]) -> str:
    day = _as_date(values[0])
    return day.isoformat() if day else ""


#: The functions that are one step on their arguments' values.
_SIMPLE: dict[str, Callable[[list[Value]], Value]] = {
    "selected": lambda v: to_string(v[1]) in _items(v[0]),
    "count-selected": lambda v: float(len(_items(v[0]))),
    "string-length": lambda v: float(len(to_string(v[0]))),
    "contains": lambda v: to_string(v[1]) in to_string(v[0]),
    "starts-with": lambda v: to_string(v[0]).startswith(to_string(v[1])),
    "number": lambda v: to_number(v[0]),
    "not": lambda v: not to_bool(v[0]),
    "concat": lambda v: "".join(to_string(x) for x in v),
    "string": lambda v: "".join(to_string(x) for x in v),
    "substr": lambda v: _substr(to_string(v[0]), v[1:]),
    # Dates: format-date(date, pattern), date(days since 1970), decimal-date-time(date).
    "format-date": lambda v: format_date(v[0], to_string(v[1])),
    "date": lambda v: _date_value(v),
    "decimal-date-time": lambda v: to_number(v[0]),
}


def _substr(text: str, bounds: list[Value]) -> str:
    """substr(text, start, end): code points start (from 0) to end (not included), as ODK;
    a negative start or end counts from the end (`substr(${phone}, -4)`: the last four)."""
    length = len(text)

    def limit(value: Value) -> int | None:
        number = to_number(value)
        if math.isnan(number):
            return None
        if math.isinf(number):
            return length if number > 0 else 0
        place = math.trunc(number)
        return max(0, min(length, length + place if place < 0 else place))

    first = limit(bounds[0])
    last = limit(bounds[1]) if len(bounds) > 1 else length
    if first is None or last is None or last <= first:
        return ""
    return text[first:last]


def _round(number: float, places: float) -> float:
    """XPath's round: halves go up (2.5 -> 3, -2.5 -> -2); ODK's second argument gives
    the decimal places (0 to 10). The browser computes it in the same steps."""
    if math.isnan(places):
        return math.nan
    if not math.isfinite(number):
        return number
    digits = 10 if places > 10 else 0 if places < 0 else math.trunc(places)
    factor = 10.0**digits
    scaled = number * factor + 0.5
    if not math.isfinite(scaled):
        return number
    return math.floor(scaled) / factor


# --- regex(): authors' patterns on RE2 --------------------------------------------------

# Patterns run on RE2, whose time grows with the length of the answer, never exponentially
# with the pattern: Python's backtracking `re` took 31 s to refuse 28 letters and a digit
# with `^([a-zA-Z]+\s?)*$` (issue #18). RE2's \d \w \s \b are ASCII, as in the
# browser's RegExp. It has no lookaround and no backreferences; a literal pattern that
# uses them is refused on import (pattern_problems), any other matches nothing.


def _re2_options(max_mem: int) -> re2.Options:
    """RE2's options for authors' patterns, with `max_mem` bytes per compiled pattern.

    The memory covers the compiled pattern and its matching state; a pattern that needs
    more is "too large". re2 itself keeps the last 128 compiled patterns.
    """
    options = re2.Options()
    options.log_errors = False  # a refused pattern is an answer here, not a line on stderr
    options.max_mem = max_mem
    options.never_capture = True  # regex() only asks whether it matches
    return options


#: A pattern written in the definition: enough for `^[\p{L} .'-]{1,200}$` (RE2's default
#: is 8 MiB). A form has a handful of them, kept compiled in _compiled.
_DEFINITION_OPTIONS = _re2_options(4 << 20)
#: A pattern read from an answer (`regex(., ${other})`) is the respondent's: less memory.
_ANSWER_OPTIONS = _re2_options(1 << 20)

#: RE2's messages for what is broken rather than unsupported.
_SYNTAX_ERRORS = (
    "missing ]",
    "missing )",
    "unexpected )",
    "trailing \\",
    "no argument for repetition operator",
    "invalid character class range",
)


@lru_cache(maxsize=64)
def _compiled(pattern: str) -> tuple[Any, str | None]:
    """A definition's pattern compiled once per process: it runs on every submission."""
    return _compile(pattern, _DEFINITION_OPTIONS)


def _compile(pattern: str, options: re2.Options) -> tuple[Any, str | None]:
    """The compiled pattern, or None and RE2's reason for refusing it."""
    try:
        return re2.compile(pattern, options), None
    except re2.error as exc:
        reason = exc.args[0] if exc.args else b"refused"
        return None, reason.decode("utf-8", "replace") if isinstance(reason, bytes) else reason
    except UnicodeEncodeError:  # a lone surrogate, possible in a JSON definition
        return None, "invalid UTF-8"


def regex_matches(text: str, pattern: str, from_answer: bool = False) -> bool:
    """Whether `pattern` matches somewhere in `text`; a pattern RE2 refuses matches nothing.

    `from_answer`: the pattern is not written in the definition but computed, usually
    read from an answer; it gets less memory and is not kept in _compiled.
    """
    if from_answer:
        compiled, _reason = _compile(pattern, _ANSWER_OPTIONS)
    else:
        compiled, _reason = _compiled(pattern)
    if compiled is None:
        return False
    try:
        return compiled.search(text) is not None
    except UnicodeEncodeError:
        return False


def pattern_error(pattern: str) -> str | None:
    """Why RE2 cannot run `pattern`, in words for the form's author; None when it can."""
    _compiled_pattern, reason = _compiled(pattern)
    if reason is None:
        return None
    if any(reason.startswith(marker) for marker in _SYNTAX_ERRORS):
        return f"is not a valid pattern ({reason})"
    if re.match(r"invalid perl operator: \(\?<?[=!]", reason):
        what = "lookahead and lookbehind such as (?=...) or (?<!...)"
    elif re.match(r"invalid escape sequence: \\[1-9]", reason):
        what = "backreferences such as \\1"
    elif reason.startswith("invalid repetition size"):
        what = f"repeat counts above 1000 ({reason.split(': ', 1)[-1]})"
    elif reason.startswith("pattern too large"):
        what = "a pattern this large once its repeats are written out"
    else:
        what = reason
    return f"uses a construct Intake does not support: {what}"


def pattern_problems(node: Node) -> list[str]:
    """A message for each pattern written into the expression that RE2 cannot run.

    Only literal patterns can be checked before an answer arrives; a pattern read from
    an answer (`regex(., ${other})`) that RE2 refuses matches nothing.
    """
    problems = []
    for n in walk(node):
        if n[0] == "call" and n[1] == "regex" and n[2][1][0] == "str":
            error = pattern_error(n[2][1][1])
            if error is not None:
                problems.append(f"the regex() pattern '{n[2][1][1]}' {error}")
    return problems


def _items(value: Value) -> list[str]:
    """The values of a multiple-choice answer ("a b c")."""
    return [item for item in _LIST_SEP.split(to_string(value)) if item]


def check(source: str, lookup: Callable[[str], Value], **kwargs: Any) -> bool:
    """Parse (cached) and evaluate an expression of a checked definition to true or false."""
    return to_bool(evaluate(parse(source, limit=None), lookup, **kwargs))
