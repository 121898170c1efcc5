"""Our own corpus of XLSForms (#21): forms written from public descriptions of real
humanitarian, registration and survey forms (xlsform.org's documentation, pyxform's test
suite), one construct family per file, as pyxform's markdown tables.

Each file in tests/xlsform_corpus/ holds the form's sheets and, in a ```yaml block, what
Intake must do with it: `expect: accepted` with `cases` (sample answers and what ODK's
XForm semantics give for them: which questions are shown, which checks fail, which
values are calculated), or `expect: refused` with a phrase of the first problem. Every
file must be valid for pyxform itself (it is converted to an XForm first). The share of
files imported and behaving as expected is measured against the 80% target of #21 and
recorded per construct in docs/xlsform.md.
"""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from pyxform.xls2json_backends import md_table_to_workbook
from pyxform.xls2xform import convert

from intake.engine import logic
from intake.engine.definition import FormDefinition
from intake.engine.validation import DefinitionError
from intake.engine.xlsform import load_xlsform

CORPUS = Path(__file__).parent / "xlsform_corpus"
FILES = sorted(CORPUS.glob("*.md"))
#: #21's target: at least this share of the corpus imports and behaves as ODK would.
TARGET = 0.8


def spec_of(path: Path) -> dict[str, Any]:
    """The ```yaml block of a corpus file: what Intake must do with the form."""
    found = re.search(r"```yaml\n(.*?)```", path.read_text(encoding="utf-8"), re.DOTALL)
    assert found, f"{path.name} has no ```yaml block"
    return yaml.safe_load(found.group(1))


def workbook(path: Path, folder: Path) -> Path:
    """The markdown tables as an .xlsx file, as pyxform's own tests make them."""
    out = folder / f"{path.stem}.xlsx"
    md_table_to_workbook(path.read_text(encoding="utf-8")).save(out)
    return out


def outcome(path: Path, folder: Path) -> tuple[dict | None, list[str]]:
    """(the imported definition, []) or (None, the problems)."""
    xlsx = workbook(path, folder)
    convert(xlsform=io.BytesIO(xlsx.read_bytes()), file_type=".xlsx", warnings=[])
    try:
        definition, _notices = load_xlsform(xlsx)
    except DefinitionError as exc:
        return None, exc.problems
    return definition, []


def _values(value: Any) -> list[str]:
    if value is None or value == "":
        return []
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


def check_case(definition: FormDefinition, case: dict[str, Any]) -> list[str]:
    """Where the engine's result for one case differs from the expected one."""
    answers = {name: _values(value) for name, value in (case.get("answers") or {}).items()}
    state = logic.evaluate_state(definition, answers)
    differ = []
    for name in case.get("shown") or []:
        if not state.relevant.get(name, False):
            differ.append(f"{name} should be shown")
    for name in case.get("hidden") or []:
        if state.relevant.get(name, True):
            differ.append(f"{name} should be hidden")
    for name, value in (case.get("values") or {}).items():
        got = " ".join(state.values.get(name, []))
        if got != ("" if value is None else str(value)):
            differ.append(f"{name} is {got!r}, not {value!r}")
    failing = set()
    for fdef in definition.answer_inputs:
        if fdef.name in state.values and fdef.constraint:
            value = logic.expression_value(state.values[fdef.name], fdef)
            if not logic.constraint_holds(fdef, value, state):
                failing.add(fdef.name)
    if "invalid" in case and failing != set(case["invalid"] or []):
        differ.append(f"failing checks {sorted(failing)}, not {sorted(case['invalid'] or [])}")

    def required_now(name: str) -> bool:  # a hidden question is never required
        fdef = definition.field(name)
        return bool(fdef and state.relevant.get(name) and logic.is_required(fdef, state))

    differ += [
        f"{name} should be required"
        for name in case.get("required") or []
        if not required_now(name)
    ]
    differ += [
        f"{name} should not be required"
        for name in case.get("optional") or []
        if required_now(name)
    ]
    return differ


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_a_corpus_form_is_read_as_its_file_says(path: Path, tmp_path: Path) -> None:
    spec = spec_of(path)
    definition, problems = outcome(path, tmp_path)
    if spec["expect"] == "refused":
        assert definition is None, "imported, but the file expects it refused"
        assert any(spec["problem"] in p for p in problems), problems
        return
    assert spec["expect"] == "accepted"
    assert definition is not None, problems
    parsed = FormDefinition(definition)
    assert spec.get("cases"), "an accepted form needs cases"
    for number, case in enumerate(spec["cases"], start=1):
        assert check_case(parsed, case) == [], f"case {number}"


def test_the_corpus_meets_the_target_share(tmp_path: Path) -> None:
    """At least 80% of the corpus imports and behaves as ODK would (#21)."""
    assert len(FILES) >= 25
    good = 0
    for path in FILES:
        definition, _problems = outcome(path, tmp_path)
        if definition is None:
            continue
        parsed = FormDefinition(definition)
        if all(check_case(parsed, case) == [] for case in spec_of(path).get("cases") or []):
            good += 1
    assert good / len(FILES) >= TARGET, f"{good} of {len(FILES)}"
