"""Authors' regular expressions cannot take the service down (issue #18).

A pattern with nested repetition made Python's backtracking `re` take 31 s for a name of
28 letters and a digit. Patterns now run on RE2 (linear time), patterns RE2 cannot run
are refused when the form is imported, every answer an expression reads is cut to the
field's length limit first, and a POST without a valid CSRF token runs no constraint.
"""

from __future__ import annotations

import time
from pathlib import Path

import openpyxl
import pytest

from intake.engine.definition import load_file
from intake.engine.expressions import check
from intake.engine.validation import DefinitionError
from intake.engine.xlsform import load_xlsform
from tests.conftest import form_payload, response_count

#: The pattern of the incident and the answer that took 31 s: 28 letters and a digit.
SLOW_PATTERN = r"^([a-zA-Z]+\s?)*$"
SLOW_ANSWER = "Mariamelisabethkatharinaanna" + "1"
#: Well under a second; the old code needed 31 s for SLOW_ANSWER.
FAST = 1.0

FORM_YAML = r"""
form: regex-check
default_language: de
languages: [de, en]
title: {de: Namensprüfung, en: Name check}
fields:
  - name: full_name
    type: text
    required: true
    max_length: 60
    label: {de: Name, en: Name}
    constraint: 'regex(., ''^([a-zA-Z]+\s?)*$'')'
    constraint_message: {de: Bitte nur Buchstaben., en: "Letters and spaces only, please."}
  - name: nickname
    type: text
    max_length: 10
    label: {de: Spitzname, en: Nickname}
  - name: note
    type: textarea
    max_length: 100
    label: {de: Notiz, en: Note}
    constraint: 'string-length(${nickname}) <= 10'
    constraint_message: {de: Der Spitzname ist zu lang., en: The nickname is too long.}
"""


def write_yaml(tmp_path: Path, text: str, name: str = "regex-check.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def regex_form(app, tmp_path) -> str:
    """The incident's form, imported like a coordinator's upload; its link for Mainz-Bingen."""
    from intake.extensions import db
    from intake.storage.forms import import_definition

    with app.app_context():
        import_definition(load_file(write_yaml(tmp_path, FORM_YAML)))
        db.session.commit()
    return "/f/regex-check?lang=en&district=mainz-bingen"


def post(client, link: str, answers: dict, **changes):
    """Open the form like a browser, then send `answers` (and `changes` to the payload)."""
    page = client.get(link)
    assert page.status_code == 200
    data = form_payload(page.get_data(as_text=True), answers)
    data.update(changes)
    data = {k: v for k, v in data.items() if v is not None}
    return client.post(link, data=data)


# --- (1) patterns run in linear time ------------------------------------------------------


def test_incident_pattern_is_judged_quickly():
    assert len(SLOW_ANSWER) == 29
    started = time.perf_counter()
    holds = check(f"regex(., '{SLOW_PATTERN}')", lambda name: "", current=SLOW_ANSWER)
    elapsed = time.perf_counter() - started
    assert holds is False
    assert elapsed < FAST, f"{elapsed:.2f} s"
    assert check(f"regex(., '{SLOW_PATTERN}')", lambda name: "", current="Maria Anna") is True


def test_pattern_from_an_answer_is_judged_quickly_too():
    answers = {"pattern": SLOW_PATTERN}
    started = time.perf_counter()
    holds = check("regex(., ${pattern})", answers.get, current=SLOW_ANSWER * 100)
    assert holds is False
    assert time.perf_counter() - started < FAST


@pytest.mark.parametrize("pattern", ["(?=a)a", "(?<!b)a", "(a)\\1", "a{99999}", "("])
def test_pattern_from_an_answer_that_re2_cannot_run_matches_nothing(pattern):
    assert check("regex(., ${pattern})", {"pattern": pattern}.get, current="aa") is False


def test_pattern_from_an_answer_gets_less_memory_than_one_from_the_definition():
    # Fine as a literal in a definition (4 MiB); too large for a respondent's (1 MiB).
    pattern = "^[\\p{L} .-]{1,200}$"
    assert check(f"regex(., '{pattern}')", lambda name: "", current="Layla") is True
    assert check("regex(., ${pattern})", {"pattern": pattern}.get, current="Layla") is False


def test_dollar_is_the_end_of_the_text_as_in_the_browser():
    # Python's `$` also matched before a final line break; RegExp and RE2 do not.
    assert check("regex(., '^[0-9]{5}$')", lambda name: "", current="55411\n") is False
    assert check("regex(., '^[0-9]{5}$')", lambda name: "", current="55411") is True


def test_incident_through_the_public_form_answers_quickly_with_the_forms_message(
    app, client, regex_form
):
    page = client.get(regex_form)
    data = form_payload(page.get_data(as_text=True), {"full_name": SLOW_ANSWER})
    started = time.perf_counter()
    response = client.post(regex_form, data=data)
    elapsed = time.perf_counter() - started
    assert response.status_code == 422
    assert "Letters and spaces only, please." in response.get_data(as_text=True)
    assert elapsed < FAST, f"{elapsed:.2f} s"
    assert response_count(app) == 0
    accepted = post(client, regex_form, {"full_name": "Maria Anna"})
    assert accepted.status_code == 303
    assert response_count(app) == 1


# --- (2) patterns RE2 cannot run are refused on import -----------------------------------

UNSUPPORTED = [
    ("(?=[0-9])[0-9a-z]+", "lookahead"),
    ("(?<!x)y", "lookbehind"),
    ("(a)\\1", "backreference"),
    ("a{99999}", "huge repeat"),
    ("[\\p{L}\\p{M} .-]{1,1000}", "too large"),
]


def field_yaml(key: str, expression: str) -> str:
    """A definition with one text field `code` carrying `key: expression` (YAML-quoted)."""
    quoted = "'" + expression.replace("'", "''") + "'"
    return f"""
form: pattern-check
default_language: de
languages: [de]
title: {{de: Test}}
fields:
  - name: other
    type: text
    label: {{de: Anderes}}
  - name: code
    type: text
    label: {{de: Code}}
    {key}: {quoted}
"""


@pytest.mark.parametrize(("pattern", "what"), UNSUPPORTED, ids=[w for _, w in UNSUPPORTED])
@pytest.mark.parametrize(
    ("key", "template"),
    [
        ("constraint", "regex(., '{p}')"),
        ("relevant", "not(regex(${{other}}, '{p}'))"),
        ("required", "${{other}} != '' and regex(${{other}}, '{p}')"),
    ],
)
def test_unsupported_literal_pattern_is_refused_on_import_naming_the_field(
    tmp_path, pattern, what, key, template
):
    expression = template.format(p=pattern)
    with pytest.raises(DefinitionError) as caught:
        load_file(write_yaml(tmp_path, field_yaml(key, expression), "pattern-check.yaml"))
    problems = caught.value.problems
    assert len(problems) == 1, problems
    assert problems[0].startswith(f"field 'code' (fields[1]): '{key}': the regex() pattern "), (
        problems
    )
    assert "uses a construct Intake does not support" in problems[0]
    assert pattern in problems[0]
    assert str(caught.value).startswith("pattern-check.yaml: field 'code' (fields[1])")


@pytest.mark.parametrize(
    "expression",
    [
        "regex(., '^[0-9]{5}$')",
        'regex(., "^[\\p{L} .\'-]{1,200}$")',
        "regex(., ${other})",  # known only when answered: matches nothing if RE2 refuses it
        f"regex(., '{SLOW_PATTERN}')",
    ],
)
def test_patterns_re2_runs_are_accepted(tmp_path, expression):
    definition = load_file(write_yaml(tmp_path, field_yaml("constraint", expression)))
    assert definition["fields"][1]["constraint"] == expression


def test_unsupported_pattern_in_an_xlsform_is_refused_with_its_row(tmp_path):
    book = openpyxl.Workbook()
    survey = book.active
    survey.title = "survey"
    survey.append(["type", "name", "label::Deutsch (de)", "constraint"])
    survey.append(["text", "first", "Vorname", ""])
    survey.append(["text", "postcode", "Postleitzahl", "regex(., '^(?!0)[0-9]{5}$')"])
    path = tmp_path / "plz.xlsx"
    book.save(path)
    with pytest.raises(DefinitionError) as caught:
        load_xlsform(path)
    problems = caught.value.problems
    assert len(problems) == 1, problems
    assert problems[0].startswith(
        "survey sheet, row 3 (field 'postcode'): 'constraint': the regex() pattern "
        "'^(?!0)[0-9]{5}$' uses a construct Intake does not support"
    ), problems


# --- (3) no expression reads more than a field's length limit ----------------------------


def test_expressions_read_answers_cut_to_the_fields_length_limit(app, client, regex_form):
    response = post(
        client,
        regex_form,
        {"full_name": "Maria", "nickname": "x" * 5000, "note": "Hallo"},
    )
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "Please use at most 10 characters." in html
    # The note's constraint read the nickname as the browser's maxlength leaves it.
    assert "The nickname is too long." not in html
    assert response_count(app) == 0


@pytest.mark.parametrize(("max_length", "refused"), [(10_000, False), (10_001, True)])
def test_max_length_of_a_text_has_an_upper_bound(tmp_path, max_length, refused):
    text = field_yaml("max_length", str(max_length)).replace("'", "")
    if not refused:
        assert load_file(write_yaml(tmp_path, text))["fields"][1]["max_length"] == max_length
        return
    with pytest.raises(DefinitionError) as caught:
        load_file(write_yaml(tmp_path, text))
    assert caught.value.problems == [
        "field 'code' (fields[1]): 'max_length' may be at most 10000 characters"
    ]


def test_over_long_answer_is_refused_before_its_own_constraint_runs(app, client, regex_form):
    started = time.perf_counter()
    response = post(client, regex_form, {"full_name": "a" * 500_000 + "1"})
    assert time.perf_counter() - started < 5 * FAST
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "Please use at most 60 characters." in html
    assert "Letters and spaces only, please." not in html


# --- (4) no constraint runs for a POST without a valid CSRF token ------------------------


@pytest.mark.parametrize("token", ["expired", "", None], ids=["wrong", "empty", "missing"])
def test_post_without_valid_csrf_token_runs_no_constraint(app, client, regex_form, token):
    response = post(client, regex_form, {"full_name": "Layla 2"}, csrf_token=token)
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "Your answers are still here" in html
    assert 'value="Layla 2"' in html
    assert "Letters and spaces only, please." not in html
    assert response_count(app) == 0


def test_same_answer_with_the_pages_token_gets_the_constraints_message(app, client, regex_form):
    response = post(client, regex_form, {"full_name": "Layla 2"})
    assert response.status_code == 422
    assert "Letters and spaces only, please." in response.get_data(as_text=True)
