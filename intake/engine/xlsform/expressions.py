"""XLSForm expressions as pyxform lexes them: refuse what only ODK can evaluate, follow renames.

intake.engine.expressions parses and checks what is left when the definition is
validated; this module only finds what can be named with its row and column first.
"""

from __future__ import annotations

import re

from lark.exceptions import LarkError  # lark comes with pyxform and backs its lexers
from pyxform.parsing.expression import parse_expression
from pyxform.parsing.sheet_headers import clean_text_values

from intake.engine.texts import INSERTED_ANY
from intake.engine.xlsform.report import Report

#: Functions of docs/form-definitions.md "Expressions"; the parser in validation.validate
#: decides the details, we refuse everything else early so the row can be named.
SUPPORTED_FUNCTIONS = frozenset(
    {
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
        "not",
        "true",
        "false",
        "concat",
        "substr",
        "string",
        "round",
        "min",
        "max",
        "count",
        "sum",
        "position",
        "indexed-repeat",
        "format-date",
        "date",
        "decimal-date-time",
    }
)
# Why well-known XLSForm functions cannot work here, to make the refusal useful.
_FUNCTION_REASONS = {
    "pulldata": "it reads an attached CSV file",
    "instance": "it reads external or choice data",
    "jr:choice-name": "it looks up choice labels",
    "once": "it needs calculations",
    "jr:itext": "it reads translations",
    "now": "it needs calculations",
    "random": "it needs calculations",
    "uuid": "it needs calculations",
    "digest": "it needs calculations",
    "geofence": "it needs location questions",
    "area": "it needs location questions",
    "distance": "it needs location questions",
}

#: XPath's operators spelled as words: followed by "(" they are not function calls.
_OPERATOR_WORDS = frozenset({"and", "or", "div", "mod"})


def check_expression(text: str, where: str, report: Report) -> str:
    """An expression with smart quotes fixed; refuse what only ODK can evaluate."""
    text = clean_text_values(text).strip()
    try:
        text = _paths_as_references(list(parse_expression(text)), where, report)
        tokens = [t for t in parse_expression(text) if t.type != "WHITESPACE"]
    except LarkError:
        report.add(where, f"cannot read the expression '{text}'")
        return text
    for index, token in enumerate(tokens):
        function = None
        if token.type == "FUNC_CALL":
            function = token.value[:-1]
        elif (
            token.type == "NAME"
            and index + 1 < len(tokens)
            and tokens[index + 1].type == "OPEN_PAREN"
        ):
            function = token.value
        if function in _OPERATOR_WORDS:  # "and(" or ")and (": the operator, then brackets
            function = None
        if function is not None and function not in SUPPORTED_FUNCTIONS:
            reason = _FUNCTION_REASONS.get(function)
            why = f" ({reason})" if reason else ""
            report.add(where, f"the function {function}() is not supported{why}")
        elif token.type == "PARENT_REF" and _entry_position(tokens, index):
            continue  # position(..): the number of the repeat's entry
        elif token.type in ("PATH_SEP", "PARENT_REF", "XPATH_PRED_START"):
            report.add(
                where,
                f"XPath paths ('{token.value}') are not supported; refer to questions as ${{name}}",
            )
            break
        elif token.type == "PYXFORM_REF" and "last-saved#" in token.value:
            report.add(where, f"{token.value} (last saved answers) is not supported")
    return text


def _entry_position(tokens: list, index: int) -> bool:
    """Whether the `..` at `index` is position(..)'s."""
    before = tokens[index - 1] if index > 0 else None
    after = tokens[index + 1] if index + 1 < len(tokens) else None
    return (
        before is not None
        and before.type == "FUNC_CALL"
        and before.value.replace(" ", "") == "position("
        and after is not None
        and after.type == "CLOSE_PAREN"
    )


def _paths_as_references(tokens: list, where: str, report: Report) -> str:
    """XPath paths to a question as ${name}, with a note: '/data/group/age',
    '../age', '../../age' and 'current()/../age' all name the question 'age' (names are
    unique in a form). A path with a predicate ('item[...]') or to no name stays, and is
    refused by the checks after this."""
    out: list[str] = []
    index = 0
    while index < len(tokens):
        end, name = _path_at(tokens, index)
        if name is None:
            out.append(tokens[index].value)
            index += 1
            continue
        path = "".join(t.value for t in tokens[index:end])
        report.notice(where, f"the XPath path '{path}' is read as ${{{name}}}")
        out.append(f"${{{name}}}")
        index = end
    return "".join(out)


def _path_at(tokens: list, start: int) -> tuple[int, str | None]:
    """(the index after it, the question's name) of a path beginning at `start`."""

    def kind(i: int) -> str | None:
        return tokens[i].type if i < len(tokens) else None

    i = start
    if kind(i) == "FUNC_CALL" and tokens[i].value == "current(" and kind(i + 1) == "CLOSE_PAREN":
        if kind(i + 2) != "PATH_SEP" or kind(i + 3) != "PARENT_REF":
            return start, None
        i += 3
    if kind(i) == "PARENT_REF":  # ../../age
        while kind(i) == "PARENT_REF" and kind(i + 1) == "PATH_SEP":
            i += 2
        if kind(i) != "NAME":
            return start, None
    elif kind(i) == "PATH_SEP" and kind(i + 1) == "NAME" and kind(i + 2) == "PATH_SEP":
        if start > 0 and tokens[start - 1].type in ("NAME", "CLOSE_PAREN", "PYXFORM_REF"):
            return start, None  # not the start of a path
        i += 1  # /data/...: the form's root, then groups
    else:
        return start, None
    name = None
    while kind(i) == "NAME":
        name = tokens[i].value
        if kind(i + 1) == "PATH_SEP" and kind(i + 2) == "NAME":
            i += 2
            continue
        i += 1
        break
    if name is None or kind(i) in ("XPATH_PRED_START", "PATH_SEP"):
        return start, None
    return i, name


def rename_in_text(
    text: str, renamed: dict[str, str], dropped: dict[str, str], where: str, report: Report
) -> str:
    """Rewrite the ${old} a text inserts to ${new}; explain rows that were left out."""

    def one(match: re.Match[str]) -> str:
        name = match.group(1)
        if name in dropped and name not in renamed:
            report.add(where, f"inserts ${{{name}}}, {dropped[name]}")
        return "${" + renamed.get(name, name) + "}"

    return INSERTED_ANY.sub(one, text)


def rename_literals(text: str, values: dict[str, str]) -> str:
    """Rewrite quoted texts that are choice names made into our values ('no school' ->
    'no_school'); other texts, and names inside other tokens, stay as written."""
    try:
        tokens = parse_expression(text)
    except LarkError:
        return text
    parts = []
    for token in tokens:
        value = token.value
        if token.type == "SYSTEM_LITERAL" and value[1:-1] in values:
            value = value[0] + values[value[1:-1]] + value[-1]
        parts.append(value)
    return "".join(parts)


def rename_references(
    text: str, renamed: dict[str, str], dropped: dict[str, str], where: str, report: Report
) -> str:
    """Rewrite ${old} to ${new}; explain references to rows that were left out."""
    try:
        tokens = parse_expression(text)
    except LarkError:
        return text
    parts: list[str] = []
    for token in tokens:
        value = token.value
        if token.type == "PYXFORM_REF" and "#" not in value:
            name = value[2:-1]
            if name in dropped and name not in renamed:
                report.add(where, f"refers to ${{{name}}}, {dropped[name]}")
            value = "${" + renamed.get(name, name) + "}"
        parts.append(value)
    return "".join(parts)
