"""The expression language of docs/form-definitions.md: parsing, evaluation, errors."""

from __future__ import annotations

import math
from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from intake.engine.expressions import (
    MAX_LENGTH,
    ExpressionError,
    evaluate,
    parse,
    references,
    to_bool,
    to_string,
)

TODAY = date(2026, 11, 25)

ANSWERS = {
    "age": "34",
    "children": "2",
    "adults": "0",
    "name": "Layla",
    "name_ar": "ليلى",
    "needs": "housing work",
    "languages": "  ar   fa ",
    "arrival": "2026-11-25",
    "next_visit": "2027-01-03",
    "height": "1.75",
    "code": "007",
    "postcode": "55411",
    "postcode_ar": "٥٥٤١١",
    "empty": "",
}


def lookup(name: str) -> str:
    return ANSWERS.get(name, "")


def run(source: str, current: str = "", names: dict | None = None):
    return evaluate(parse(source), lookup, current=current, names=names, today=TODAY)


def same(actual, expected) -> bool:
    """Equal in value and in type; NaN equals NaN."""
    if isinstance(expected, float) and math.isnan(expected):
        return isinstance(actual, float) and math.isnan(actual)
    return type(actual) is type(expected) and actual == expected


NAN = math.nan

VALUES = [
    # precedence: or < and < = != < < <= > >= < + - < * div mod < unary minus
    ("1 + 2 * 3", 7.0),
    ("(1 + 2) * 3", 9.0),
    ("10 - 4 - 3", 3.0),
    ("12 div 2 div 3", 2.0),
    ("7 mod 4 * 2", 6.0),
    ("2 * 7 mod 4", 2.0),
    ("-2 * 3", -6.0),
    ("- -2", 2.0),
    ("2 - -2", 4.0),
    ("1 + 2 = 3", True),
    ("1 < 2 = true()", True),
    ("3 > 2 > 1", False),
    ("1 = 1 and 2 = 3 or 4 = 4", True),
    ("1 = 2 and 2 = 2 or 1 = 2", False),
    ("true() or false() and false()", True),
    ("(true() or false()) and false()", False),
    ("not(true()) or true()", True),
    ("not(1 = 1 or 1 = 2)", False),
    ("${children} > 0 and ${adults} >= 1", False),
    ("${children} > 0 or ${adults} >= 1", True),
    # numbers and text
    ("${age} > 18", True),
    ("${age} = 34", True),
    ("${age} = '34'", True),
    ("${age} = '34.0'", False),
    ("${age} = 34.0", True),
    ("${code} = 7", True),
    ("${code} = '7'", False),
    ("${height} * 100", 175.0),
    ("'10' < '9'", False),
    ("'abc' < 'abd'", True),
    ("'abc' < 5", False),
    ("'abc' >= 5", False),
    ("true() = 'false'", True),
    ("false() = ''", True),
    ("1 = true()", True),
    ("0 = false()", True),
    ("true() > 0", True),
    ("number('x') = number('x')", False),
    ("number('x') != number('x')", True),
    # ISO dates compare as text; today() is an ISO date
    ("${arrival} < ${next_visit}", True),
    ("${next_visit} < ${arrival}", False),
    ("${arrival} < '2026-11-25'", False),
    ("${arrival} <= '2026-11-25'", True),
    ("${arrival} = '2026-11-25'", True),
    ("${arrival} = today()", True),
    ("today() >= '2020-01-01'", True),
    ("today()", "2026-11-25"),
    ("${arrival} > 2026", True),  # a date is its days since 1970 (20417), as in ODK
    ("${arrival} - '2026-11-01'", 24.0),
    ("int((today() - '1990-11-26') div 365.25)", 35.0),
    ("date('2026-11-25' + 7)", "2026-12-02"),
    ("date(0)", "1970-01-01"),
    ("date('abc')", ""),
    ("format-date(${arrival}, '%d.%m.%Y')", "25.11.2026"),
    ("format-date(${arrival}, '%e %b %Y, %a')", "25 Nov 2026, Wed"),
    ("format-date(${arrival}, '%y-%n %H:%M')", "26-11 00:00"),
    ("format-date('', '%Y')", ""),
    ("format-date('2026-02-30', '%Y')", ""),
    ("decimal-date-time('1970-01-02')", 1.0),
    ("string(number('2026-13-01'))", "NaN"),
    # multiple choice: values separated by spaces
    ("selected(${needs}, 'housing')", True),
    ("selected(${needs}, 'work')", True),
    ("selected(${needs}, 'hous')", False),
    ("selected(${needs}, 'housing work')", False),
    ("count-selected(${needs})", 2.0),
    ("count-selected(${languages})", 2.0),
    ("selected(${languages}, 'fa')", True),
    ("selected(${languages}, '')", False),
    ("count-selected(${empty})", 0.0),
    ("selected(${empty}, '')", False),
    ("count-selected(${needs}) >= 3", False),
    # string-length counts characters, not bytes or UTF-16 units
    ("string-length(${name})", 5.0),
    ("string-length(${name_ar})", 4.0),
    ("string-length('👍🏽')", 2.0),
    ("string-length('Müller')", 6.0),
    ("string-length('')", 0.0),
    ("string-length(${missing})", 0.0),
    ("string-length(12.50)", 4.0),
    ("string-length(1 div 3)", 18.0),
    # regex, contains, starts-with
    ("regex(${postcode}, '^[0-9]{5}$')", True),
    ("regex('5541', '^[0-9]{5}$')", False),
    ("regex(${postcode}, '^\\d{5}$')", True),
    ("regex(${postcode_ar}, '^\\d{5}$')", False),
    ("regex(${name}, '^l')", False),
    ("regex(${name}, 'ay')", True),
    ("regex(${name_ar}, '^ل')", True),
    ("regex(${name}, '^\\w+$')", True),
    ("regex(${name_ar}, '^\\w+$')", False),
    ("regex(${name}, '^[\\p{L}]+$')", True),
    ("regex(${name_ar}, '^\\p{L}+$')", True),
    ("regex('x', '(')", False),
    ("regex('aaa', 'a{99999999999}')", False),
    ("regex('aa', '(a)\\1')", False),
    ("regex('', '')", True),
    ("contains(${name}, 'ayl')", True),
    ("contains(${name}, '')", True),
    ("contains(${empty}, 'a')", False),
    ("starts-with(${name_ar}, 'لي')", True),
    ("starts-with(${name}, 'ay')", False),
    # if and coalesce
    ("if(${age} >= 18, 'adult', 'minor')", "adult"),
    ("if(${empty}, 1, 2)", 2.0),
    ("if(${adults}, 1, 2)", 1.0),
    ("if(number(${adults}), 1, 2)", 2.0),
    ("coalesce(${empty}, 'x')", "x"),
    ("coalesce(${name}, 'x')", "Layla"),
    ("coalesce(0, 5)", 0.0),
    ("coalesce(${missing}, ${empty})", ""),
    # int and number
    ("int(3.7)", 3.0),
    ("int(-3.7)", -3.0),
    ("int('12abc')", NAN),
    ("int(${height})", 1.0),
    ("number(' 42 ')", 42.0),
    ("number('4,5')", NAN),
    ("number('1e3')", NAN),
    ("number('٣')", NAN),
    ("number('.5')", 0.5),
    ("number('-1.')", -1.0),
    ("number(true())", 1.0),
    ("number(${empty})", NAN),
    ("int(number('x'))", NAN),
    # division and remainder by zero give NaN, which is neither true nor equal to itself
    ("1 div 0", NAN),
    ("0 div 0", NAN),
    ("5 mod 0", NAN),
    ("-7 mod 3", -1.0),
    ("7 mod -3", 1.0),
    ("7.5 mod 2", 1.5),
    ("(1 div 0) = (1 div 0)", False),
    ("if(1 div 0, 'yes', 'no')", "no"),
    # unanswered fields are ''
    ("${missing}", ""),
    ("${empty}", ""),
    ("${missing} + 1", NAN),
    ("${empty} = ''", True),
    ("${empty} = 0", False),
    ("${empty} < 5", False),
    ("${empty} >= 0", False),
    ("${empty} < 'a'", False),
    ("not(${missing})", True),
    ("string-length(${missing}) = 0", True),
    # literals
    ("'it''s'", None),  # not a literal: see ERRORS
    ("\"say 'hi'\"", "say 'hi'"),
    ("1.50", 1.5),
    (".5 + .5", 1.0),
    ("true()", True),
    ("false()", False),
]
VALUES = [(source, value) for source, value in VALUES if value is not None]


@pytest.mark.parametrize(("source", "expected"), VALUES)
def test_value(source, expected):
    assert same(run(source), expected), run(source)


@pytest.mark.parametrize(
    ("source", "current", "expected"),
    [
        (". > 0", "3", True),
        (". > 0", "", False),
        ("regex(., '^[0-9]{5}$')", "55411", True),
        ("regex(., '^[0-9]{5}$')", "5541", False),
        (". <= ${age}", "34", True),
        ("string-length(.) <= 3", "ليلى", False),
        (". = ''", "", True),
    ],
)
def test_current_answer(source, current, expected):
    assert run(source, current=current) is expected


@pytest.mark.parametrize(
    ("source", "names", "expected"),
    [
        ("district = 'mainz-bingen'", {"district": "mainz-bingen"}, True),
        ("district = 'mainz-bingen'", {"district": "bad-kreuznach"}, False),
        ("district = ''", {}, True),
        ("level <= ${children}", {"level": "2"}, True),
        ("constructor = ''", {}, True),
        ("toString = ''", {"district": "x"}, True),
    ],
)
def test_choice_data_names(source, names, expected):
    assert run(source, names=names) is expected


@pytest.mark.parametrize(
    ("source", "looked_up"),
    [
        ("${name} or ${age}", ["name"]),
        ("${empty} or ${age}", ["empty", "age"]),
        ("${empty} and ${age}", ["empty"]),
        ("${name} and ${age}", ["name", "age"]),
        ("if(${name}, ${age}, ${children})", ["name", "age"]),
        ("if(${empty}, ${age}, ${children})", ["empty", "children"]),
        ("${empty} and (${age} or ${children})", ["empty"]),
    ],
)
def test_and_or_if_short_circuit(source, looked_up):
    seen = []

    def recording(name):
        seen.append(name)
        return lookup(name)

    evaluate(parse(source), recording)
    assert seen == looked_up


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (3.0, "3"),
        (-5.0, "-5"),
        (-0.0, "0"),
        (0.5, "0.5"),
        (0.1 + 0.2, "0.30000000000000004"),
        (1e21, "1e+21"),
        (1e20, "100000000000000000000"),
        (1e-7, "1e-7"),
        (0.000001234, "0.000001234"),
        (math.inf, "Infinity"),
        (-math.inf, "-Infinity"),
        (math.nan, "NaN"),
        (True, "true"),
        ("text", "text"),
    ],
)
def test_to_string_writes_numbers_as_the_browser_does(value, text):
    assert to_string(value) == text


@pytest.mark.parametrize(
    ("value", "expected"),
    [("", False), ("0", True), ("false", True), (0.0, False), (math.nan, False), (2.0, True)],
)
def test_to_bool(value, expected):
    assert to_bool(value) is expected


ERRORS = [
    ("", "the expression is empty"),
    ("   ", "the expression is empty"),
    ("${age} >", "the expression ends too early"),
    ("(1 + 2", "the expression ends too early"),
    ("1 and", "the expression ends too early"),
    ("${age} > > 3", "unexpected '>' at position 10"),
    ("1 2", "unexpected '2' at position 3"),
    ("(1 + 2))", "unexpected ')' at position 8"),
    ("1 = = 2", "unexpected '=' at position 5"),
    ("not 1", "unexpected '1' at position 5"),
    ("selected(${a}, 'x',)", "unexpected ')' at position 20"),
    (", 1", "unexpected ',' at position 1"),
    ("'it''s'", "unexpected ''s'' at position 5"),
    ("foo(1)", "unknown function 'foo()' at position 1"),
    ("1 + eval('x')", "unknown function 'eval()' at position 5"),
    ("selected(${a})", "selected() takes 2 argument(s), got 1"),
    ("if(1, 2)", "if() takes 3 argument(s), got 2"),
    ("today(1)", "today() takes 0 argument(s), got 1"),
    ("'abc", 'unexpected character "\'" at position 1'),
    ("1 + # 2", "unexpected character '#' at position 5"),
    ("${age} > 1 ; 2", "unexpected character ';' at position 12"),
    ("${1abc} = 1", "'${1abc}' at position 1 is not a field name"),
    ("1 + ${}", "'${}' at position 5 is not a field name"),
    ("${a b}", "'${a b}' at position 1 is not a field name"),
    ("and 1", "'and' at position 1 needs a value"),
    ("1 + div", "'div' at position 5 needs a value"),
    ("x" * (MAX_LENGTH + 1), "longer than 1000 characters"),
    ("(" * 40 + "1" + ")" * 40, "nested too deeply at position 33"),
    ("-" * 40 + "1", "nested too deeply at position 33"),
    ("not(" * 40 + "1" + ")" * 40, "nested too deeply at position 129"),
    (" + ".join(["1"] * 200), "nested too deeply"),
    ("9" * 400, "the number at position 1 is too large"),
]


@pytest.mark.parametrize(("source", "message"), ERRORS)
def test_error_says_where(source, message):
    with pytest.raises(ExpressionError) as error:
        parse(source)
    assert message in str(error.value)


def test_only_text_is_an_expression():
    with pytest.raises(ExpressionError, match="must be text"):
        parse(None)  # type: ignore[arg-type]


def test_parse_returns_a_fresh_tree_each_time():
    tree = parse("${a} > 1")
    tree[0] = "changed"
    assert parse("${a} > 1") == ["cmp", ">", ["ref", "a"], ["num", 1.0]]


@pytest.mark.parametrize(
    ("source", "names"),
    [
        ("${a} > 1 and selected(${b}, 'x') or if(${c}, 1, level)", {"a", "b", "c"}),
        ("coalesce(${a}, ${a})", {"a"}),
        ("not(count-selected(${needs}) >= string-length(${other.x}))", {"needs", "other.x"}),
        ("-(${x} + 1) * ${y_2}", {"x", "y_2"}),
        ("district = 'x'", set()),
        ("regex(., '^${not_a_ref}$')", set()),
        ("today()", set()),
    ],
)
def test_references(source, names):
    assert references(parse(source)) == names


# --- properties ----------------------------------------------------------------------

TOKENS = [
    "${a}",
    "${b}",
    "${needs}",
    "${}",
    "${1x}",
    "${a",
    "1",
    "0",
    "2.5",
    ".5",
    "99999999999999999999",
    "'x'",
    "'housing'",
    "''",
    '"y"',
    "'^[0-9]+$'",
    "'('",
    "'a{99999999999}'",
    "'",
    '"',
    "=",
    "!=",
    "<",
    "<=",
    ">",
    ">=",
    "+",
    "-",
    "*",
    "div",
    "mod",
    "and",
    "or",
    "not",
    "(",
    ")",
    ",",
    ".",
    "selected",
    "count-selected",
    "string-length",
    "regex",
    "contains",
    "starts-with",
    "number",
    "int",
    "today",
    "if",
    "coalesce",
    "true()",
    "false()",
    "true",
    "district",
    "foo",
    "ليلى",
    "#",
    "$",
]

token_soup = st.lists(
    st.tuples(st.sampled_from(TOKENS), st.sampled_from(["", " ", "  "])), max_size=30
).map(lambda parts: "".join(token + space for token, space in parts))

answer_text = st.one_of(
    st.text(max_size=20),
    st.sampled_from(["", "0", "3", "-2.5", "2026-11-25", "housing work", " a  b ", "NaN", "1e9"]),
)


def parse_or_error(source: str):
    """Parse; an ExpressionError is a fine outcome, any other exception is a bug."""
    try:
        return parse(source)
    except ExpressionError as error:
        message = str(error)
    assert message
    return None


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=200))
def test_any_text_parses_or_raises_expression_error(source):
    parse_or_error(source)


@settings(max_examples=200, deadline=None)
@given(
    token_soup,
    st.dictionaries(st.sampled_from(["a", "b", "needs"]), answer_text),
    answer_text,
    st.dictionaries(st.sampled_from(["district", "not", "true"]), answer_text),
)
def test_what_parses_evaluates_for_any_answers(source, answers, current, names):
    tree = parse_or_error(source)
    if tree is None:
        return
    value = evaluate(tree, lambda name: answers.get(name, ""), current=current, names=names)
    assert isinstance(value, str | float | bool)
    to_bool(value)
    to_string(value)
    assert references(tree) <= {"a", "b", "needs"}


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(TOKENS[:20] + ["(", ")", "-", "not(", "+", " and "]), max_size=400))
def test_long_and_deep_expressions_never_overflow_the_stack(parts):
    tree = parse_or_error("".join(parts)[:MAX_LENGTH])
    if tree is not None:
        evaluate(tree, lambda name: "1")
