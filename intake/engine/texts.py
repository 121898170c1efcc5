"""What form texts may carry besides words, as XLSForm allows it: **bold**, *italic*,
***both*** (also with _), and "${name}" for an inserted answer.

The patterns are bounded and have no nested repetition, so no author's text can make
them run long. intake/markup.py makes HTML of them for the form's pages; reports and
exports, which show no formatting and no answers inside questions, use `plain`.
"""

from __future__ import annotations

import re

# The text between markers never holds "<" or ">" (an escaped text has none; only the
# tags markup.py adds do), so a tag never opens inside one and closes outside it.
BOTH = re.compile(r"(\*\*\*|___)(?=[^\s<>*_])([^\n<>*_]{1,500}?)(?<=[^\s<>*_])\1")
STRONG = re.compile(r"(\*\*|__)(?=[^\s<>*_])([^\n<>]{1,500}?)(?<=[^\s<>*_])\1")
# A single marker only at a word's edge: "first_name" and "2*3*4" stay as they are.
EM = re.compile(r"(?<![\w*])([*_])(?=[^\s*_<>])([^\n*_<>]{1,500}?)(?<=[^\s*_<>])\1(?![\w*])")
#: "${name}" in a text: the answer to the question `name` goes there ("${age-2}": the
#: answer of the second entry of a repeat, as intake.engine.repeats writes it).
INSERTED = re.compile(r"\$\{([a-z][a-z0-9_]{0,62}(?:-[1-9][0-9]?)?)\}")
#: Anything written like an inserted answer, a question's name or not (to check and to
#: rename; bounded, as every pattern over an author's text).
INSERTED_ANY = re.compile(r"\$\{([^}]{1,200})\}")


def plain(text: str, inserted: str = "…") -> str:
    """`text` without the markers, each inserted answer shown as `inserted`."""
    text = INSERTED.sub(inserted.replace("\\", "\\\\"), text)
    return EM.sub(r"\2", STRONG.sub(r"\2", BOTH.sub(r"\2", text)))
