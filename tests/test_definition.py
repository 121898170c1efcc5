"""Form definitions: loading files, validation messages, checksums, language fallback."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from intake.engine.definition import FormDefinition, Text, checksum, load_file, pick
from intake.engine.validation import DefinitionError, validate

DEMO_FORMS = Path(__file__).resolve().parent.parent / "intake" / "demo" / "forms"

# A small valid definition; each bad case below changes one part of it.
BASE = {
    "form": "survey",
    "default_language": "de",
    "languages": ["de", "en"],
    "title": {"de": "Umfrage", "en": "Survey"},
    "fields": [
        {"name": "name", "type": "text", "label": {"de": "Name", "en": "Name"}},
        {"name": "age", "type": "integer", "label": {"de": "Alter", "en": "Age"}},
    ],
}


def definition(snippet: str = "") -> dict:
    """BASE with the top-level keys of a YAML snippet replaced or added."""
    raw = copy.deepcopy(BASE)
    raw.update(yaml.safe_load(snippet) or {})
    return raw


def problems_of(raw: dict, source: str = "survey.yaml") -> list[str]:
    with pytest.raises(DefinitionError) as caught:
        validate(raw, source)
    assert caught.value.source == source
    return caught.value.problems


def write(tmp_path: Path, name: str, content: str | bytes | dict) -> Path:
    path = tmp_path / name
    if isinstance(content, dict):
        content = yaml.safe_dump(content, allow_unicode=True)
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


def test_base_definition_is_valid():
    assert validate(definition(), "survey.yaml")["form"] == "survey"


@pytest.mark.parametrize("path", sorted(DEMO_FORMS.glob("*.yaml")), ids=lambda p: p.name)
def test_demo_forms_load_and_validate(path):
    loaded = load_file(path)
    assert loaded["form"] == path.stem
    assert loaded["languages"] == [
        "de",
        "en",
        "ar",
        "fa",
        "ps",
        "tr",
        "ku",
        "uk",
        "ru",
        "so",
        "ti",
        "fr",
    ]
    # The file parsed by hand validates to the same normalised definition.
    assert validate(yaml.safe_load(path.read_text(encoding="utf-8")), path.name) == loaded
    form = FormDefinition(loaded)
    assert form.municipality_field is not None
    assert form.consent_version == "2026-11-01"
    assert form.field("consent").required


@pytest.mark.parametrize(
    ("snippet", "problem"),
    [
        ("colour: blue", "unknown top-level key 'colour'"),
        ("form: Survey Form", "'form' must be a slug like 'volunteer' (a-z, 0-9, '-')"),
        ("default_language: fr", "'default_language' must be one of 'languages'"),
        (
            "fields: [{name: age, type: integer, label: {de: Alter}},"
            " {name: age, type: text, label: {de: Alter}}]",
            "field 'age' (fields[1]): the name 'age' is used twice",
        ),
        (
            "fields: [{name: Age, type: integer, label: {de: Alter}}]",
            "field 'Age' (fields[0]): 'name' must start with a-z and use only a-z, 0-9 and '_'",
        ),
        (
            "fields: [{type: integer, label: {de: Alter}}]",
            "fields[0]: 'name' must start with a-z and use only a-z, 0-9 and '_'",
        ),
        (
            "fields: [{name: age, type: integer, label: {en: Age}}]",
            "field 'age' (fields[0]): 'label' needs a text in the default language 'de'",
        ),
        (
            "fields: [{name: age, type: integer, label: {de: Alter, fr: Âge}}]",
            "field 'age' (fields[0]): 'label' has text for 'fr', which is not in 'languages'",
        ),
        (
            "fields: [{name: colour, type: single_choice, label: {de: Farbe}}]",
            "field 'colour' (fields[0]): 'choices' must be a non-empty list",
        ),
        (
            "fields: [{name: colour, type: multiple_choice, label: {de: Farbe}, choices: ["
            "{value: red, label: {de: Rot}}, {value: red, label: {de: Rot}}]}]",
            "field 'colour' (fields[0]): choices[1]: the value 'red' is used twice",
        ),
        (
            "fields: [{name: colour, type: text, label: {de: Farbe},"
            " choices: [{value: red, label: {de: Rot}}]}]",
            "field 'colour' (fields[0]): only choice fields have 'choices'",
        ),
        (
            "fields: [{name: age, type: integer, label: {de: Alter}, min: 99, max: 18}]",
            "field 'age' (fields[0]): 'min' is greater than 'max'",
        ),
        (
            "fields: [{name: age, type: integer, label: {de: Alter}, min: '18'}]",
            "field 'age' (fields[0]): 'min' must be a whole number",
        ),
        (
            "fields: [{name: age, type: integer, label: {de: Alter}, max: 1.5}]",
            "field 'age' (fields[0]): 'max' must be a whole number",
        ),
        (
            "fields: [{name: age, type: integer, label: {de: Alter}, max_length: 3}]",
            "field 'age' (fields[0]): only text, textarea, email and phone have 'max_length'",
        ),
        (
            "fields: [{name: colour, type: multiple_choice, label: {de: Farbe}, prefill: true,"
            " choices: [{value: red, label: {de: Rot}}]}]",
            "field 'colour' (fields[0]): a multiple_choice field cannot be prefilled from a link",
        ),
        (
            "fields: [{name: home, type: municipality, label: {de: Wohnort}},"
            " {name: work, type: municipality, label: {de: Arbeitsort}}]",
            "a form may have at most one 'municipality' field",
        ),
        (
            "fields: [{name: age, type: integer, label: {de: Alter}, placeholder: '42'}]",
            "field 'age' (fields[0]): unknown key 'placeholder'",
        ),
        (
            "fields: [{name: note, type: text, label: {de: Notiz}, report_languages: offered}]",
            "field 'note' (fields[0]): only choice fields have 'report_languages'",
        ),
        (
            "fields: [{name: langs, type: multiple_choice, label: {de: Sprachen},"
            " report_languages: spoken, choices: [{value: ar, label: {de: Arabisch}}]}]",
            "field 'langs' (fields[0]): 'report_languages' must be 'offered' or 'needed'",
        ),
    ],
)
def test_bad_definition_is_refused_with_a_located_message(snippet, problem):
    assert problems_of(definition(snippet)) == [problem]


def test_unknown_field_type_lists_the_types():
    [problem] = problems_of(definition("fields: [{name: age, type: slider, label: {de: Alter}}]"))
    match = re.fullmatch(
        r"field 'age' \(fields\[0\]\): 'type' must be one of (.+); got 'slider'", problem
    )
    assert match, problem
    listed = match.group(1).split(", ")
    assert {
        "text",
        "textarea",
        "email",
        "phone",
        "integer",
        "date",
        "single_choice",
        "multiple_choice",
        "yes_no",
        "consent",
        "municipality",
    } <= set(listed)
    assert "slider" not in listed


def test_message_names_the_field_by_name_and_position():
    raw = definition()
    raw["fields"][1]["min"] = "eighteen"
    assert problems_of(raw) == ["field 'age' (fields[1]): 'min' must be a whole number"]


def test_all_problems_are_reported_at_once(tmp_path):
    raw = definition(
        """
        form: Survey
        colour: blue
        fields:
          - {name: name, type: text, label: {de: Name}, max_length: 0}
          - {name: age, type: integer, label: {de: Alter}, min: 9, max: 1, hint: {fr: Âge}}
          - {name: age, type: dropdown, label: {de: Alter}}
        """
    )
    expected = [
        "unknown top-level key 'colour'",
        "'form' must be a slug like 'volunteer' (a-z, 0-9, '-')",
        "field 'name' (fields[0]): 'max_length' must be a positive whole number",
        "field 'age' (fields[1]): 'hint' has text for 'fr', which is not in 'languages'",
        "field 'age' (fields[1]): 'min' is greater than 'max'",
        "field 'age' (fields[2]): the name 'age' is used twice",
    ]
    problems = problems_of(raw)
    assert problems[: len(expected)] == expected
    assert len(problems) == len(expected) + 1
    assert problems[-1].startswith("field 'age' (fields[2]): 'type' must be one of text,")

    # Loaded from a file, the message names the file on every line.
    path = write(tmp_path, "broken.yaml", raw)
    with pytest.raises(DefinitionError) as caught:
        load_file(path)
    lines = str(caught.value).splitlines()
    assert len(lines) == len(expected) + 1
    assert all(line.startswith("broken.yaml: ") for line in lines)


def test_top_level_must_be_a_mapping(tmp_path):
    with pytest.raises(DefinitionError) as caught:
        load_file(write(tmp_path, "list.yaml", "- form\n- fields\n"))
    assert caught.value.problems == ["the top level must be a mapping with 'form' and 'fields'"]


@pytest.mark.parametrize(
    ("name", "content", "problem"),
    [
        (
            "syntax.yaml",
            'form: survey\ntitle: {de: "Umfrage"\nlanguages: [de]\n',
            "not valid YAML/JSON: expected ',' or '}', but got '<scalar>' at line 3, column 1",
        ),
        (
            "indent.yml",
            "form: survey\nfields:\n  - name: a\n   type: text\n",
            "not valid YAML/JSON: expected <block end>, but found '<block mapping start>' "
            "at line 4, column 4",
        ),
        (
            "syntax.json",
            '{"form": "survey",\n "fields": [,]}',
            "not valid YAML/JSON: Expecting value at line 2, column 13",
        ),
        ("survey.txt", "form: survey\n", "unsupported file type; use .yaml, .yml or .json"),
    ],
)
def test_unreadable_file_is_refused_with_file_name_and_location(tmp_path, name, content, problem):
    with pytest.raises(DefinitionError) as caught:
        load_file(write(tmp_path, name, content))
    assert caught.value.source == name
    assert caught.value.problems == [problem]
    assert str(caught.value) == f"{name}: {problem}"


def test_missing_file(tmp_path):
    with pytest.raises(DefinitionError) as caught:
        load_file(tmp_path / "nowhere.yaml")
    assert str(caught.value) == "nowhere.yaml: file not found"


def test_file_that_is_not_utf8(tmp_path):
    path = write(
        tmp_path, "latin1.yaml", "form: survey\ntitle: {de: Übersicht}\n".encode("latin-1")
    )
    with pytest.raises(DefinitionError) as caught:
        load_file(path)
    assert str(caught.value) == "latin1.yaml: the file is not UTF-8 text"


def test_json_file_gives_the_same_definition_as_yaml(tmp_path):
    from_json = load_file(write(tmp_path, "survey.json", json.dumps(BASE, ensure_ascii=False)))
    from_yaml = load_file(write(tmp_path, "survey.yaml", BASE))
    assert from_json == from_yaml
    assert [f["name"] for f in from_json["fields"]] == ["name", "age"]
    assert from_json["fields"][0]["max_length"] == 200  # the default is filled in


def test_checksum_equal_for_equal_content_and_changes_with_it(tmp_path):
    # The same content with keys in another order and as JSON: same checksum.
    reordered = {key: BASE[key] for key in reversed(list(BASE))}
    first = load_file(write(tmp_path, "a.yaml", BASE))
    second = load_file(write(tmp_path, "b.json", json.dumps(reordered)))
    assert checksum(first) == checksum(second)
    assert len(checksum(first)) == 64

    changed = copy.deepcopy(BASE)
    changed["fields"][1]["label"]["en"] = "Your age"
    assert checksum(load_file(write(tmp_path, "c.yaml", changed))) != checksum(first)


def test_pick_prefers_the_language_and_falls_back_to_the_default():
    texts = {"de": "Alter", "en": "Age"}
    assert pick(texts, "en", "de") == Text("Age", "en", False)
    fallback = pick(texts, "ar", "de")
    assert fallback == Text("Alter", "de", True)
    assert fallback.fallback
    assert str(fallback) == "Alter"
    assert pick({"en": "Age"}, "ar", "de") is None


def test_form_definition_reads_texts_with_fallback():
    raw = definition(
        """
        intro: {de: Willkommen}
        fields:
          - name: colour
            type: single_choice
            label: {de: Farbe, en: Colour}
            hint: {de: Eine Farbe}
            choices:
              - {value: red, label: {de: Rot, en: Red}}
              - {value: 7, label: {de: Sieben}}
        """
    )
    form = FormDefinition(validate(raw, "survey.yaml"))
    assert form.slug == "survey"
    assert form.title("en") == Text("Survey", "en", False)
    assert form.title("ar") == Text("Umfrage", "de", True)
    assert form.intro("en") == Text("Willkommen", "de", True)
    assert form.privacy_notice("en") is None
    assert form.consent_version is None
    assert form.municipality_field is None
    colour = form.field("colour")
    assert colour.label("en").text == "Colour"
    assert colour.hint("en") == Text("Eine Farbe", "de", True)
    assert colour.choice_label("red", "en") == Text("Red", "en", False)
    assert colour.choice_label("7", "en") == Text("Sieben", "de", True)  # numbers become text
    # A value from an older version of the form is shown as it was stored.
    assert colour.choice_label("blue", "en") == Text("blue", "en", True)
    assert form.field("missing") is None


# Malformed definitions of every shape end in a located DefinitionError, never a crash.

_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True), st.text(max_size=20)
)
_values = st.recursive(
    _scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(
            st.sampled_from(
                [
                    "form",
                    "languages",
                    "default_language",
                    "title",
                    "fields",
                    "name",
                    "type",
                    "label",
                    "choices",
                    "value",
                    "required",
                    "relevant",
                    "min",
                    "max",
                    "de",
                    "en",
                    "other",
                    "data",
                    "constraint",
                    "choice_filter",
                    "privacy",
                    "x",
                ]
            ),
            children,
            max_size=6,
        ),
    ),
    max_leaves=25,
)


def refusal(load, *args) -> DefinitionError | None:
    """The DefinitionError that `load(*args)` raises, or None when it accepts."""
    try:
        load(*args)
    except DefinitionError as exc:
        return exc
    return None


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(raw=_values)
def test_any_parsed_structure_is_accepted_or_refused_with_problems(raw):
    exc = refusal(validate, raw, "random.yaml")
    if exc is not None:
        assert exc.problems
        assert all(isinstance(p, str) and p for p in exc.problems)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=st.text(max_size=300))
def test_any_text_file_is_accepted_or_refused_with_problems(tmp_path_factory, text):
    path = tmp_path_factory.mktemp("yaml") / "random.yaml"
    path.write_text(text, encoding="utf-8")
    exc = refusal(load_file, path)
    if exc is not None:
        assert exc.problems
        assert exc.source == "random.yaml"


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_demo_form_with_one_field_mutated_never_crashes(data):
    raw = yaml.safe_load((DEMO_FORMS / "volunteer.yaml").read_text(encoding="utf-8"))
    field = data.draw(st.sampled_from(raw["fields"]))
    key = data.draw(st.sampled_from(sorted(field) + ["relevant", "constraint", "choices"]))
    field[key] = data.draw(_values)
    exc = refusal(validate, raw, "volunteer.yaml")
    if exc is not None:
        assert exc.problems


@pytest.mark.parametrize("name", ["district", "page", "nav", "idempotency_key", "lang"])
def test_a_question_may_not_have_the_name_of_the_pages_own_inputs(name: str) -> None:
    raw = {
        "form": "kurz",
        "default_language": "de",
        "languages": ["de"],
        "title": {"de": "Kurz"},
        "fields": [{"name": name, "type": "text", "label": {"de": "Frage"}}],
    }
    with pytest.raises(DefinitionError) as caught:
        validate(raw, "kurz.yaml")
    assert caught.value.problems == [
        f"field '{name}' (fields[0]): the name '{name}' is one the form page uses for itself "
        "(csrf_token, district, embed_sig, idempotency_key, kiosk_gen, lang, nav, page, src, "
        "switch_lang); please choose another"
    ]
