"""XLSForm expressions as pyxform lexes them: refuse what only ODK can evaluate, follow renames.

intake.engine.expressions parses and checks what is left when the definition is
validated; this module only finds what can be named with its row and column first.
"""

from __future__ import annotations

import re

from lark.exceptions import LarkError  # lark comes with pyxform and backs its lexers
from pyxform.parsing.expression import parse_expression
from pyxform.parsing.sheet_headers import clean_text_values

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
    }
)
# Why well-known XLSForm functions cannot work here, to make the refusal useful.
_FUNCTION_REASONS = {
    "pulldata": "it reads an attached CSV file",
    "instance": "it reads external or choice data",
    "jr:choice-name": "it looks up choice labels",
    "position": "it only works inside repeats",
    "indexed-repeat": "it only works with repeats",
    "once": "it needs calculations",
    "sum": "it adds up repeats",
    "count": "it counts repeats",
    "max": "it works on repeats",
    "min": "it works on repeats",
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

#: A text that inserts an answer, "${name}": shown literally here, so refused.
INSERTED_ANSWER_RE = re.compile(r"\$\{[^}]*\}")


def check_expression(text: str, where: str, report: Report) -> str:
    """An expression with smart quotes fixed; refuse what only ODK can evaluate."""
    text = clean_text_values(text).strip()
    try:
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
        elif token.type in ("PATH_SEP", "PARENT_REF", "XPATH_PRED_START"):
            report.add(
                where,
                f"XPath paths ('{token.value}') are not supported; refer to questions as ${{name}}",
            )
            break
        elif token.type == "PYXFORM_REF" and "last-saved#" in token.value:
            report.add(where, f"{token.value} (last saved answers) is not supported")
    return text


def rename_in_text(
    text: str, renamed: dict[str, str], dropped: dict[str, str], where: str, report: Report
) -> str:
    """Rewrite the ${old} a text inserts to ${new}; explain rows that were left out."""

    def one(match: re.Match[str]) -> str:
        name = match.group()[2:-1]
        if name in dropped and name not in renamed:
            report.add(where, f"inserts ${{{name}}}, {dropped[name]}")
        return "${" + renamed.get(name, name) + "}"

    return INSERTED_ANSWER_RE.sub(one, text)


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
