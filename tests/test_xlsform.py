"""XLSForm import and export: the real pyxform corpus, refused features, mapping, round trips."""

from __future__ import annotations

import copy
import datetime
import io
import zipfile
from pathlib import Path
from typing import Any

import openpyxl
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pyxform.xls2xform import convert

from intake.engine import logic
from intake.engine.definition import FormDefinition
from intake.engine.expressions import check
from intake.engine.validation import DefinitionError, validate
from intake.engine.xlsform import load_xlsform, read_xlsform, write_xlsform

REPO = Path(__file__).resolve().parents[1]
# The corpus lives beside the repository (/work/shared next to /work/main, and the same
# layout in CI), never inside it: it is pyxform's, under its own licence.
CORPUS = (REPO / ".." / "shared" / "xlsform-corpus").resolve()
DEMO_FORMS = REPO / "intake" / "demo" / "forms"

# What each corpus file gives, so that a change in behaviour is noticed: "accepted", or
# a phrase that one of the problems must contain.
CORPUS_EXPECTED: dict[str, tuple[str, bool]] = {
    "bug_example_xls__ODKValidateWarnings.xlsx": ("accepted", False),
    "bug_example_xls__UCL_Biomass_Plot_Form.xlsx": (
        "a repeat inside a repeat is not supported (begin_repeat 'stems' inside 'trees')",
        False,
    ),
    "bug_example_xls__bad_calc.xlsx": ("'calculation': unexpected character", False),
    "bug_example_xls__duplicate_columns.xlsx": ("the column 'label' appears twice", False),
    "bug_example_xls__xl_date_ambiguous.xlsx": (
        "'choice_filter': unexpected character ':'",
        False,
    ),
    "bug_example_xls__xl_date_ambiguous_v1.xlsx": ("accepted", False),
    "example_xls__attribute_columns_test.xlsx": (
        "date-and-time questions (datetime) are not supported",
        False,
    ),
    "example_xls__bad_calc.xlsx": ("'calculation': unexpected character", False),
    "example_xls__case_insensitivity.xlsx": ("external choices are not supported", False),
    "example_xls__choice_filter_test.xlsx": ("accepted", False),
    "example_xls__extra_columns.xlsx": ("accepted", False),
    "example_xls__extra_sheet_names.xlsx": ("accepted", False),
    "example_xls__field-list.xlsx": ("accepted", True),
    "example_xls__flat_xlsform_test.xlsx": (
        "date-and-time questions (datetime) are not supported",
        False,
    ),
    "example_xls__group.xlsx": ("accepted", True),
    "example_xls__include.xlsx": ("the type 'include' is not supported", False),
    "example_xls__include_json.xlsx": ("the type 'include' is not supported", False),
    "example_xls__loop.xlsx": ("loops are not supported", False),
    "example_xls__or_other.xlsx": ("accepted", True),
    "example_xls__pull_data.xlsx": ("the function pulldata() is not supported", False),
    "example_xls__specify_other.xlsx": ("accepted", True),
    "example_xls__survey_no_name.xlsx": ("accepted", False),
    "example_xls__text_and_integer.xlsx": ("accepted", False),
    "example_xls__xlsform_spec_test.xlsx": (
        "date-and-time questions (datetime) are not supported",
        False,
    ),
    "example_xls__yes_or_no_question.xlsx": ("accepted", False),
}


def _corpus_params() -> list[Any]:
    """One test per corpus file; a single skipped test when the corpus is absent."""
    if not CORPUS.is_dir():
        reason = f"the XLSForm corpus is not at {CORPUS} (expected beside the repository)"
        return [pytest.param(None, marks=pytest.mark.skip(reason=reason), id="no-corpus")]
    params = []
    for path in sorted(CORPUS.glob("*.xlsx")):
        params.append(pytest.param(path, id=path.name))
    return params


@pytest.mark.parametrize("path", _corpus_params())
def test_corpus_file_is_accepted_or_refused_with_located_problems(path: Path) -> None:
    assert path.name in CORPUS_EXPECTED, f"add the outcome for {path.name} to CORPUS_EXPECTED"
    expected, _ = CORPUS_EXPECTED[path.name]
    refusal = None
    try:
        definition, notices = load_xlsform(path)
    except DefinitionError as exc:
        refusal = exc
    if refusal is not None:
        assert refusal.source == path.name
        assert refusal.problems
        for problem in refusal.problems:
            assert "sheet" in problem or path.name in problem or "file" in problem, problem
        assert expected != "accepted", refusal.problems
        assert any(expected in problem for problem in refusal.problems), refusal.problems
        return
    assert expected == "accepted", f"expected a refusal with {expected!r}"
    form = FormDefinition(definition)
    default = definition["default_language"]
    assert form.fields
    for field in definition["fields"]:
        assert field["label"].get(default), field["name"]
    assert all(isinstance(n, str) and n for n in notices)


def test_corpus_expectations_name_only_existing_files() -> None:
    if not CORPUS.is_dir():
        pytest.skip(f"the XLSForm corpus is not at {CORPUS}")
    assert set(CORPUS_EXPECTED) == {p.name for p in CORPUS.glob("*.xlsx")}


# --------------------------------------------------------------------------- helpers

SURVEY_HEADER = ["type", "name", "label::Deutsch (de)", "label::English (en)"]


def workbook(
    tmp_path: Path,
    survey: list[list[Any]],
    choices: list[list[Any]] | None = None,
    settings_rows: list[list[Any]] | None = None,
    name: str = "form.xlsx",
    extra_sheets: dict[str, list[list[Any]]] | None = None,
) -> Path:
    """Write an XLSForm workbook from rows (the first row of each sheet is the header)."""
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "survey"
    for row in survey:
        sheet.append(row)
    if choices is not None:
        csheet = book.create_sheet("choices")
        for row in choices:
            csheet.append(row)
    if settings_rows is not None:
        ssheet = book.create_sheet("settings")
        for row in settings_rows:
            ssheet.append(row)
    for title, rows in (extra_sheets or {}).items():
        xsheet = book.create_sheet(title)
        for row in rows:
            xsheet.append(row)
    path = tmp_path / name
    book.save(path)
    return path


def problems_of(path: Path) -> list[str]:
    """The problems of a workbook that must be refused."""
    with pytest.raises(DefinitionError) as caught:
        load_xlsform(path)
    assert caught.value.source == path.name
    return caught.value.problems


def q(xtype: str, name: str, de: str = "Frage", en: str = "Question") -> list[Any]:
    """A survey row with German and English labels."""
    return [xtype, name, de, en]


# --------------------------------------------------------------------------- refusals


@pytest.mark.parametrize(
    ("rows", "row", "phrase"),
    [
        (
            [
                q("begin_repeat", "household_members"),
                q("begin_repeat", "children"),
                q("text", "member_name"),
                ["end_repeat", "", "", ""],
                ["end_repeat", "", "", ""],
            ],
            4,
            "column 'type': a repeat inside a repeat is not supported (begin_repeat 'children' "
            "inside 'household_members')",
        ),
        ([q("geoshape", "where")], 3, "lines and areas on a map (geoshape) are not supported"),
        ([q("image", "photo")], 3, "file, photo and recording questions (image)"),
        ([q("q calculate", "total")], 3, "calculations shown as questions (q calculate)"),
        (
            [q("select_one_from_file towns.csv", "town")],
            3,
            "choices from a file are not supported (select_one_from_file towns.csv)",
        ),
        ([q("rank colors", "ranking")], 3, "ranking questions are not supported"),
        ([q("dateTime", "when")], 3, "date-and-time questions (dateTime) are not supported"),
        ([q("barcode", "code")], 3, "barcode questions (barcode) are not supported"),
        ([q("begin loop over colors", "each")], 3, "loops are not supported"),
        ([q("select_one_external colors", "ext")], 3, "external choices are not supported"),
        ([q("include", "other_form")], 3, "the type 'include' is not supported"),
        (
            [q("text", "member"), q("select_one ${member}", "head")],
            4,
            "choices made from the answers of another question (select_one ${member}, usually",
        ),
    ],
    ids=[
        "repeat-in-repeat",
        "geoshape",
        "image",
        "calculate",
        "select_one_from_file",
        "rank",
        "datetime",
        "barcode",
        "loop",
        "external",
        "include",
        "choices-from-answers",
    ],
)
def test_refused_types_name_the_feature_and_row(
    tmp_path: Path, rows: list[list[Any]], row: int, phrase: str
) -> None:
    survey = [SURVEY_HEADER, q("text", "first")] + rows
    problems = problems_of(workbook(tmp_path, survey, [["list_name", "name", "label"]]))
    assert any(p.startswith(f"survey sheet, row {row}") and phrase in p for p in problems), problems


@pytest.mark.parametrize(
    ("column", "value", "phrase"),
    [
        ("relevant", "pulldata('fruits', 'name', 'key', 'x') = 'y'", "pulldata() is not supported"),
        ("constraint", "instance('towns')/root/item[name=1]", "instance() is not supported"),
        ("relevant", "jr:choice-name(${first}, '${first}') = 'a'", "jr:choice-name()"),
        ("relevant", "once(${first}) != ''", "once() is not supported"),
        ("relevant", "/data/first[1] = 'a'", "XPath paths ('/') are not supported"),
        ("relevant", "${last-saved#first} = 'a'", "last saved answers"),
        ("trigger", "${first}", "triggers"),
        ("parameters", "randomize=true", "the parameters 'randomize=true' are not supported"),
        ("appearance", "search('towns')", "search() appearance"),
    ],
)
def test_refused_columns_name_the_feature_row_and_column(
    tmp_path: Path, column: str, value: str, phrase: str
) -> None:
    header = SURVEY_HEADER + ([column] if column not in SURVEY_HEADER else [])
    second = q("text", "second") + [""] * (len(header) - 4)
    second[header.index(column)] = value
    path = workbook(tmp_path, [header, q("text", "first"), second])
    problems = problems_of(path)
    assert any(
        p.startswith(f"survey sheet, row 3, column '{column}'") and phrase in p for p in problems
    ), problems


def test_entities_sheet_is_refused(tmp_path: Path) -> None:
    path = workbook(
        tmp_path,
        [SURVEY_HEADER, q("text", "first")],
        extra_sheets={"entities": [["list_name", "label"], ["people", "${first}"]]},
    )
    assert problems_of(path) == [
        "entities sheet, row 2: entities (ODK Central datasets) are not supported; "
        "remove the entities sheet"
    ]


def test_references_to_refused_or_left_out_rows_are_explained(tmp_path: Path) -> None:
    header = SURVEY_HEADER + ["relevant"]
    path = workbook(
        tmp_path,
        [
            header,
            q("start", "start") + [""],
            q("geotrace", "total") + [""],
            q("text", "late") + ["${start} != '' and ${total} > 1"],
        ],
    )
    problems = problems_of(path)
    assert (
        "survey sheet, row 3, column 'type': lines and areas on a map (geotrace) are not "
        "supported; use geopoint" in (problems)
    )
    assert any("row 4" in p and "${start}, a metadata field (start)" in p for p in problems)
    assert any("row 4" in p and "${total}, the question in row 3" in p for p in problems)


@pytest.mark.parametrize(
    ("content", "phrase"),
    [
        (b"", "the file is empty"),
        (b"type,name,label\ntext,a,A\n", "not an Excel workbook (.xlsx)"),
        (b"\x00\x01garbage\xff" * 10, "not an Excel workbook (.xlsx)"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100, "Excel 97-2003 (.xls)"),
        (b"PK\x03\x04 broken zip", "could not be read as an Excel workbook"),
    ],
    ids=["empty", "csv", "garbage", "xls", "broken-zip"],
)
def test_files_that_are_not_workbooks_give_one_clear_problem(
    tmp_path: Path, content: bytes, phrase: str
) -> None:
    path = tmp_path / "upload.xlsx"
    path.write_bytes(content)
    problems = problems_of(path)
    assert len(problems) == 1, problems
    assert phrase in problems[0], problems


def test_zip_that_is_no_workbook_and_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "archive.xlsx"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("hello.txt", "hello")
    assert "could not be read as an Excel workbook" in problems_of(path)[0]
    assert problems_of(tmp_path / "missing.xlsx") == ["file not found"]


def test_workbook_without_survey_sheet(tmp_path: Path) -> None:
    book = openpyxl.Workbook()
    book.active.title = "questions"
    book.create_sheet("choices")
    path = tmp_path / "nosurvey.xlsx"
    book.save(path)
    assert problems_of(path) == [
        "the workbook has no sheet named 'survey' (its sheets: 'questions', 'choices')"
    ]


def test_problems_are_all_reported_and_in_row_order(tmp_path: Path) -> None:
    path = workbook(
        tmp_path,
        [SURVEY_HEADER, q("geoshape", "a"), q("text", "ok"), q("image", "b"), q("audio", "c")],
    )
    problems = problems_of(path)
    assert [p.split(",")[1] for p in problems] == [" row 2", " row 4", " row 5"]


# --------------------------------------------------------------------------- mapping


def test_language_columns_map_to_codes(tmp_path: Path) -> None:
    path = workbook(
        tmp_path,
        [
            ["type", "name", "label::English", "label::Deutsch", "label::Farsi", "hint::Arabic"],
            ["text", "a", "Name", "Name", "نام", "الاسم"],
        ],
        settings_rows=[["default_language"], ["German"]],
    )
    raw = read_xlsform(path)
    assert raw["languages"] == ["en", "de", "fa", "ar"]
    assert raw["default_language"] == "de"
    assert raw["fields"][0]["label"] == {"en": "Name", "de": "Name", "fa": "نام"}
    assert raw["fields"][0]["hint"] == {"ar": "الاسم"}


def test_language_with_code_in_parentheses_and_unknown_name(tmp_path: Path) -> None:
    path = workbook(
        tmp_path,
        [["type", "name", "label::Swahili (sw)", "label::Klingon"], ["text", "a", "Jina", "x"]],
    )
    problems = problems_of(path)
    assert problems == [
        "survey sheet, row 1, column 'label::Klingon': cannot tell the language code of "
        "'Klingon'; name the column like 'label::Klingon (xx)' with its two-letter code"
    ]


def test_plain_label_is_the_settings_default_language_or_english(tmp_path: Path) -> None:
    rows = [["type", "name", "label"], ["text", "a", "Vorname"]]
    with_setting = workbook(
        tmp_path, rows, settings_rows=[["default_language"], ["Deutsch (de)"]], name="de.xlsx"
    )
    assert read_xlsform(with_setting)["fields"][0]["label"] == {"de": "Vorname"}
    notices: list[str] = []
    raw = read_xlsform(workbook(tmp_path, rows, name="en.xlsx"), notices)
    assert raw["languages"] == ["en"]
    assert raw["fields"][0]["label"] == {"en": "Vorname"}
    assert any("no language given; read as 'en'" in n for n in notices)


def test_plain_hint_next_to_labels_with_a_language_takes_their_language(
    tmp_path: Path,
) -> None:
    rows = [["type", "name", "label::de", "hint"], ["text", "a", "Vorname", "Wie im Pass"]]
    notices: list[str] = []
    raw = read_xlsform(workbook(tmp_path, rows), notices)
    assert raw["default_language"] == "de"
    assert raw["languages"] == ["de"]
    assert raw["fields"][0]["hint"] == {"de": "Wie im Pass"}
    assert "survey sheet, column 'hint': no language given; read as 'de'" in notices[0]


def test_settings_give_address_and_title(tmp_path: Path) -> None:
    notices: list[str] = []
    path = workbook(
        tmp_path,
        [SURVEY_HEADER, q("text", "a")],
        settings_rows=[["form_title", "form_id", "version"], ["Hilfe finden", "Help_Form 2", "3"]],
    )
    raw = read_xlsform(path, notices)
    assert raw["form"] == "help-form-2"
    assert raw["title"] == {"de": "Hilfe finden", "en": "Hilfe finden"}
    assert (
        "settings sheet, row 2, column 'form_id': 'Help_Form 2' becomes the form address "
        in (notices[0])
    )
    without = workbook(tmp_path, [SURVEY_HEADER, q("text", "a")], name="My Intake_Form.xlsx")
    assert read_xlsform(without)["form"] == "my-intake-form"


def test_types_and_appearances(tmp_path: Path) -> None:
    header = SURVEY_HEADER + ["appearance", "parameters"]
    path = workbook(
        tmp_path,
        [
            header,
            q("text", "story") + ["multiline", ""],
            q("integer", "age") + ["", ""],
            q("decimal", "weight") + ["", ""],
            q("date", "arrival") + ["", ""],
            q("select_one towns", "town") + ["minimal", ""],
            q("select_one scale", "happy") + ["likert", ""],
            q("select_multiple towns", "towns") + ["", ""],
            q("note", "info") + ["", ""],
            ["hidden", "source", "", "", "", ""],
            q("acknowledge", "agree") + ["", ""],
            q("phone number", "tel") + ["", ""],
            q("range", "stars") + ["", "start=1 end=5 step=1"],
        ],
        [
            ["list_name", "name", "label::Deutsch (de)", "label::English (en)"],
            ["towns", "mainz", "Mainz", "Mainz"],
            ["towns", "bingen", "Bingen", "Bingen"],
            ["scale", "1", "schlecht", "bad"],
            ["scale", "2", "gut", "good"],
        ],
    )
    notices: list[str] = []
    raw = read_xlsform(path, notices)
    types = {f["name"]: f["type"] for f in raw["fields"]}
    assert types == {
        "story": "textarea",
        "age": "integer",
        "weight": "decimal",
        "arrival": "date",
        "town": "single_choice",
        "happy": "rating",
        "towns": "multiple_choice",
        "info": "note",
        "source": "hidden",
        "agree": "consent",
        "tel": "phone",
        "stars": "integer",
    }
    fields = {f["name"]: f for f in raw["fields"]}
    assert fields["town"]["appearance"] == "select"
    assert "label" not in fields["source"]  # validate() labels hidden fields with their name
    assert (fields["stars"]["min"], fields["stars"]["max"]) == (1, 5)
    assert fields["happy"]["choices"][1] == {"value": "2", "label": {"de": "gut", "en": "good"}}
    assert "survey sheet, row 13: the range is shown as a number field from 1 to 5" in notices


def test_or_other(tmp_path: Path) -> None:
    path = workbook(
        tmp_path,
        [SURVEY_HEADER, q("select_one colors or_other", "color")],
        [["list_name", "name", "label::Deutsch (de)"], ["colors", "red", "rot"]],
    )
    field = read_xlsform(path)["fields"][0]
    assert field["other"] is True
    assert field["type"] == "single_choice"
    assert field["choices"] == [{"value": "red", "label": {"de": "rot"}}]


def test_groups_become_pages_with_combined_conditions(tmp_path: Path) -> None:
    header = SURVEY_HEADER + ["relevant", "appearance"]
    path = workbook(
        tmp_path,
        [
            header,
            q("integer", "adults") + ["", ""],
            q("begin_group", "family", "Familie", "Family") + ["${adults} > 0", "field-list"],
            q("integer", "children") + ["", ""],
            ["begin group", "kids", "", "", "${children} > 0", ""],
            q("text", "school") + ["${adults} < 9", ""],
            ["begin_group", "inner", "", "", "${school} != ''", ""],
            q("text", "grade") + ["", ""],
            ["end_group", "", "", "", "", ""],
            ["end_group", "", "", "", "", ""],
            ["end_group", "", "", "", "", ""],
            q("text", "after") + ["", ""],
        ],
        settings_rows=[["form_title"], ["Anmeldung"]],
    )
    notices: list[str] = []
    fields = read_xlsform(path, notices)["fields"]
    assert [f["name"] for f in fields] == [
        "adults",
        "family",
        "children",
        "school",
        "grade",
        "page_row_12",
        "after",
    ]
    page = fields[1]
    assert page == {
        "name": "family",
        "type": "page",
        "label": {"de": "Familie", "en": "Family"},
        "relevant": "${adults} > 0",
    }
    assert "relevant" not in fields[2]  # the page's condition hides its fields already
    assert fields[3]["relevant"] == "(${children} > 0) and (${adults} < 9)"
    assert fields[4]["relevant"] == "(${children} > 0) and (${school} != '')"
    assert fields[5]["type"] == "page"
    assert fields[5]["label"]["de"] == "Anmeldung"
    assert any(n.startswith("survey sheet, row 12: the questions after") for n in notices)


def test_group_without_label_gets_a_readable_page_title(tmp_path: Path) -> None:
    path = workbook(
        tmp_path,
        [SURVEY_HEADER, ["begin_group", "about_you", "", ""], q("text", "a"), ["end_group"]],
    )
    notices: list[str] = []
    page = read_xlsform(path, notices)["fields"][0]
    assert page["label"] == {"de": "About you"}
    assert "its page is titled 'About you'" in notices[0]


@pytest.mark.parametrize(
    ("rows", "phrase"),
    [
        ([["end_group"]], "end_group without a matching begin_group"),
        ([q("begin_group", "g"), q("text", "a")], "the group 'g' is never closed"),
        (
            [q("begin_group", "g"), ["end_repeat"]],
            "end_repeat closes begin_group 'g' (row 3)",
        ),
    ],
)
def test_unbalanced_groups(tmp_path: Path, rows: list[list[Any]], phrase: str) -> None:
    problems = problems_of(workbook(tmp_path, [SURVEY_HEADER, q("text", "x"), *rows]))
    assert any(phrase in p and p.startswith("survey sheet, row ") for p in problems), problems


def test_metadata_rows_are_left_out_with_notices(tmp_path: Path) -> None:
    path = workbook(
        tmp_path,
        [
            ["type", "name", "label::English (en)"],
            ["start", "start"],
            ["end", "end"],
            ["deviceid", "deviceid"],
            ["audit", "audit"],
            ["text", "a", "A"],
        ],
    )
    definition, notices = load_xlsform(path)
    assert [f["name"] for f in definition["fields"]] == ["a"]
    assert notices[:4] == [
        "survey sheet, row 2: metadata field 'start' (type start) is not needed here and was "
        "left out",
        "survey sheet, row 3: metadata field 'end' (type end) is not needed here and was left out",
        "survey sheet, row 4: metadata field 'deviceid' (type deviceid) is not needed here and "
        "was left out",
        "survey sheet, row 5: metadata field 'audit' (type audit) is not needed here and was "
        "left out",
    ]


def test_other_left_out_columns_give_notices(tmp_path: Path) -> None:
    header = SURVEY_HEADER + ["default", "read_only", "image", "required_message", "buttonText"]
    path = workbook(tmp_path, [header, q("text", "a") + ["x", "yes", "a.png", "Bitte!", "Go"]])
    notices: list[str] = []
    read_xlsform(path, notices)
    default = (
        "survey sheet, row 2, column 'default': default answers are supported for hidden "
        "fields only"
    )
    assert f"{default}; 'x' was left out" in notices
    assert any("column 'read_only'" in n and "read-only" in n for n in notices)
    assert any("column 'image'" in n and "pictures" in n for n in notices)
    assert any("column 'required_message'" in n and "required messages" in n for n in notices)
    assert any("column 'buttonText' (first used in row 2)" in n for n in notices)


def test_names_are_converted_and_references_rewritten(tmp_path: Path) -> None:
    header = SURVEY_HEADER + ["relevant", "constraint"]
    path = workbook(
        tmp_path,
        [
            header,
            q("integer", "Num-Children") + ["", ""],
            q("text", "school.name") + ["${Num-Children} > 0", ""],
            q("integer", "_1") + ["", ". < ${Num-Children} and '${Num-Children}' != 'x'"],
        ],
    )
    notices: list[str] = []
    fields = read_xlsform(path, notices)["fields"]
    assert [f["name"] for f in fields] == ["num_children", "school_name", "q_1"]
    assert fields[1]["relevant"] == "${num_children} > 0"
    # References inside string literals are text, not references: they stay.
    assert fields[2]["constraint"] == ". < ${num_children} and '${Num-Children}' != 'x'"
    assert "survey sheet, row 2: the name 'Num-Children' becomes 'num_children'" in notices


def test_name_collision_after_conversion_is_located(tmp_path: Path) -> None:
    path = workbook(tmp_path, [SURVEY_HEADER, q("text", "a-b"), q("text", "A_b")])
    assert problems_of(path) == [
        "survey sheet, row 3, column 'name': 'A_b' becomes 'a_b', which row 2 already uses ('a-b')"
    ]


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("yes", True),
        ("TRUE()", True),
        ("true", True),
        (1, True),
        (True, True),
        ("no", None),
        ("false()", None),
        ("", None),
        ("${age} >= 18", "${age} >= 18"),
    ],
)
def test_required_values(tmp_path: Path, cell: Any, expected: Any) -> None:
    header = SURVEY_HEADER + ["required"]
    path = workbook(tmp_path, [header, q("integer", "age") + [""], q("text", "job") + [cell]])
    assert read_xlsform(path)["fields"][1].get("required") == expected


def test_choice_filter_with_extra_choice_columns(tmp_path: Path) -> None:
    header = SURVEY_HEADER + ["choice_filter"]
    path = workbook(
        tmp_path,
        [
            header,
            q("select_one districts", "district") + [""],
            q("select_one towns", "town") + ["district = ${district}"],
        ],
        [
            ["list_name", "name", "label::Deutsch (de)", "district"],
            ["districts", "mainz-bingen", "Mainz-Bingen", ""],
            ["districts", "alzey-worms", "Alzey-Worms", ""],
            ["towns", "bingen", "Bingen", "mainz-bingen"],
            ["towns", "alzey", "Alzey", "alzey-worms"],
        ],
    )
    # The question 'district' is renamed (the form page has an input of that name); the
    # choices' column 'district' keeps its name.
    town = read_xlsform(path)["fields"][1]
    assert town["choice_filter"] == "district = ${q_district}"
    assert town["choices"] == [
        {"value": "bingen", "label": {"de": "Bingen"}, "data": {"district": "mainz-bingen"}},
        {"value": "alzey", "label": {"de": "Alzey"}, "data": {"district": "alzey-worms"}},
    ]


@pytest.mark.parametrize(
    ("choice_rows", "phrase"),
    [
        ([["c", "x", "X"], ["c", "x", "Y"]], "row 3, column 'name': the value 'x' is already"),
        ([["c", "", "X"]], "choices sheet, row 2, column 'name': the choice has no name"),
        ([["d", "x", "X"]], "survey sheet, row 2, column 'type': the choice list 'c' is not"),
    ],
)
def test_choice_problems_are_located(
    tmp_path: Path, choice_rows: list[list[Any]], phrase: str
) -> None:
    path = workbook(
        tmp_path,
        [SURVEY_HEADER, q("select_one c", "pick")],
        [["list_name", "name", "label::Deutsch (de)"], *choice_rows],
    )
    assert any(phrase in p for p in problems_of(path)), problems_of(path)


def two_numbers_and_a_text(tmp_path: Path, relevant: str) -> Path:
    """A workbook asking numbers a and b, then a text c shown when `relevant` holds."""
    return workbook(
        tmp_path,
        [
            [*SURVEY_HEADER, "relevant"],
            [*q("integer", "a"), ""],
            [*q("integer", "b"), ""],
            [*q("text", "c"), relevant],
        ],
    )


@pytest.mark.parametrize(
    "relevant",
    [
        "${a} = 1 and(${b} = 2)",
        "${a} = 1 or(${b} = 2)",
        "(${a}=1)and (${b}=2)",
        "${a}=1 and\n(${b}=2)",
    ],
)
def test_and_or_before_a_bracket_are_operators_not_functions(tmp_path: Path, relevant) -> None:
    """XPath needs no space between "and"/"or" and a bracket; they are not function calls."""
    path = two_numbers_and_a_text(tmp_path, relevant)
    definition, notices = load_xlsform(path)
    assert notices == []
    shown = definition["fields"][2]["relevant"]
    assert check(shown, {"a": "1", "b": "2"}.get)
    assert not check(shown, {"a": "0", "b": "0"}.get)


def test_a_note_without_a_name_is_named_like_pyxform_names_it(tmp_path: Path) -> None:
    path = workbook(
        tmp_path, [SURVEY_HEADER, ["note", "", "Willkommen", "Welcome"], q("text", "town")]
    )
    definition, _notices = load_xlsform(path)
    assert [f["name"] for f in definition["fields"]] == ["generated_note_name_2", "town"]


def test_one_round_lists_every_problem_with_its_row(tmp_path: Path) -> None:
    """Reading problems (a refused type) and the rules checked on what was read (a required
    note, a message without its constraint) come in one list, in row order."""
    header = [*SURVEY_HEADER, "required", "constraint_message::Deutsch (de)"]
    path = workbook(
        tmp_path,
        [
            header,
            [*q("note", "hello"), "yes", ""],
            [*q("geotrace", "where"), "", ""],
            [*q("text", "town"), "", "Bitte den Ort"],
        ],
    )
    assert problems_of(path) == [
        "survey sheet, row 2 (field 'hello'): a note takes no answer, so it cannot be 'required'",
        "survey sheet, row 3, column 'type': lines and areas on a map (geotrace) are not "
        "supported; use geopoint",
        "survey sheet, row 4 (field 'town'): 'constraint_message' needs a 'constraint'",
    ]


@pytest.mark.parametrize(
    ("column", "code"),
    [("label::ne", "ne"), ("label::id", "id"), ("label::Nepali", "ne"), ("label::Tigrigna", "ti")],
)
def test_bare_codes_and_english_names_outside_our_catalogs(
    tmp_path: Path, column: str, code: str
) -> None:
    path = workbook(
        tmp_path, [["type", "name", "label::English (en)", column], ["text", "a", "A", "x"]]
    )
    definition, _notices = load_xlsform(path)
    assert definition["languages"] == ["en", code]
    assert definition["fields"][0]["label"] == {"en": "A", code: "x"}


def test_validation_problems_name_the_row(tmp_path: Path) -> None:
    path = workbook(
        tmp_path,
        [SURVEY_HEADER, q("text", "ok"), ["text", "Unlabelled", "", "Only English"]],
        settings_rows=[["default_language"], ["Deutsch (de)"]],
    )
    problems = problems_of(path)
    assert problems == [
        "survey sheet, row 3 (field 'unlabelled', 'Unlabelled' in the sheet): 'label' needs "
        "a text in the default language 'de'"
    ]


def test_validation_problem_in_a_choice_names_the_choices_row(tmp_path: Path) -> None:
    path = workbook(
        tmp_path,
        [SURVEY_HEADER, q("select_one c", "pick")],
        [
            ["list_name", "name", "label::Deutsch (de)", "label::English (en)"],
            ["c", "x", "X", "X"],
            ["c", "y", "", "Y only in English"],
        ],
    )
    problems = problems_of(path)
    assert problems == [
        "choices sheet, row 3 (choice list of field 'pick'): 'label' needs a text in the "
        "default language 'de'"
    ]


def test_intake_type_must_fit(tmp_path: Path) -> None:
    header = SURVEY_HEADER + ["intake_type"]
    path = workbook(tmp_path, [header, q("integer", "a") + ["email"]])
    assert problems_of(path) == [
        "survey sheet, row 2, column 'intake_type': 'email' does not fit the XLSForm type of "
        "this row"
    ]


# --------------------------------------------------------------------------- round trips


def _demo(name: str) -> dict[str, Any]:
    """A demo form, validated."""
    raw = yaml.safe_load((DEMO_FORMS / f"{name}.yaml").read_text(encoding="utf-8"))
    return validate(raw, f"{name}.yaml")


def _reimport(tmp_path: Path, data: bytes, name: str = "export.xlsx") -> tuple[dict, list]:
    """Import exported bytes again."""
    path = tmp_path / name
    path.write_bytes(data)
    return load_xlsform(path)


@pytest.mark.parametrize("name", ["newcomer", "volunteer"])
def test_demo_forms_round_trip(tmp_path: Path, name: str) -> None:
    definition = _demo(name)
    export_notices: list[str] = []
    data = write_xlsform(definition, export_notices)
    back, notices = _reimport(tmp_path, data, f"{name}.xlsx")
    assert notices == []
    assert export_notices == []
    assert back["fields"] == definition["fields"]
    # Title, intro and privacy notice travel in intake_* settings columns.
    assert back == definition


def _texts(de: str, en: str, ar: str | None = None) -> dict[str, str]:
    """Texts in German and English (and Arabic)."""
    texts = {"de": de, "en": en}
    if ar:
        texts["ar"] = ar
    return texts


def _choice(value: str, de: str, en: str, **data: str) -> dict[str, Any]:
    """A choice with labels and optional data."""
    choice: dict[str, Any] = {"value": value, "label": _texts(de, en)}
    if data:
        choice["data"] = data
    return choice


# Every type and every logic key, written without defaults (as a coordinator would).
EVERYTHING: dict[str, Any] = {
    "form": "everything",
    "default_language": "de",
    "languages": ["de", "en", "ar"],
    "title": _texts("Alles", "Everything", "كل شيء"),
    "intro": _texts("Bitte ausfüllen.", "Please fill in."),
    "privacy": {"version": "2026-11-01", "notice": _texts("Wir speichern ...", "We store ...")},
    "fields": [
        {
            "name": "first_name",
            "type": "text",
            "required": True,
            "personal": True,
            "max_length": 100,
            "label": _texts("Vorname", "First name", "الاسم الأول"),
            "hint": _texts("Wie im Ausweis", "As in your ID"),
        },
        {"name": "story", "type": "textarea", "label": _texts("Ihre Geschichte", "Your story")},
        {
            "name": "email",
            "type": "email",
            "personal": True,
            "prefill": True,
            "label": _texts("E-Mail", "Email"),
        },
        {"name": "phone", "type": "phone", "label": _texts("Telefon", "Phone")},
        {
            "name": "municipality",
            "type": "municipality",
            "required": True,
            "label": _texts("Wohnort", "Where do you live?"),
        },
        {
            "name": "family",
            "type": "page",
            "label": _texts("Familie", "Family"),
            "relevant": "string-length(${first_name}) > 0",
        },
        {
            "name": "adults",
            "type": "integer",
            "required": True,
            "min": 1,
            "max": 20,
            "label": _texts("Erwachsene", "Adults"),
        },
        {
            "name": "children",
            "type": "integer",
            "constraint": ". <= 15",
            "constraint_message": _texts("Höchstens 15", "At most 15"),
            "label": _texts("Kinder", "Children"),
        },
        {
            "name": "income",
            "type": "decimal",
            "min": 0,
            "max": 99999.5,
            "relevant": "${adults} >= 1",
            "label": _texts("Einkommen", "Income"),
        },
        {
            "name": "arrival",
            "type": "date",
            "required": "${children} > 0",
            "label": _texts("Ankunft", "Arrival"),
        },
        {
            "name": "landkreis",
            "type": "single_choice",
            "appearance": "select",
            "label": _texts("Landkreis", "District"),
            "choices": [
                _choice("mainz-bingen", "Mainz-Bingen", "Mainz-Bingen"),
                _choice("alzey-worms", "Alzey-Worms", "Alzey-Worms"),
            ],
        },
        {
            "name": "town",
            "type": "single_choice",
            "choice_filter": "district = ${landkreis}",
            "label": _texts("Ort", "Town"),
            "choices": [
                _choice("bingen", "Bingen", "Bingen", district="mainz-bingen"),
                _choice("alzey", "Alzey", "Alzey", district="alzey-worms"),
            ],
        },
        {
            "name": "needs",
            "type": "multiple_choice",
            "other": True,
            "required": True,
            "label": _texts("Was brauchen Sie?", "What do you need?"),
            "choices": [
                _choice("housing", "Wohnung", "Housing"),
                _choice("work", "Arbeit", "Work"),
            ],
        },
        {
            "name": "satisfaction",
            "type": "rating",
            "relevant": "selected(${needs}, 'work') or count-selected(${needs}) >= 2",
            "label": _texts("Zufrieden?", "Satisfied?"),
            "choices": [_choice(str(i), str(i), str(i)) for i in range(1, 6)],
        },
        {"name": "has_job", "type": "yes_no", "label": _texts("Arbeit?", "Job?")},
        {"name": "last", "type": "page", "label": _texts("Zum Schluss", "Finally")},
        {"name": "info", "type": "note", "label": _texts("Danke!", "Thank you!")},
        {"name": "source", "type": "hidden", "prefill": True},
        {
            "name": "consent",
            "type": "consent",
            "required": True,
            "label": _texts("Ich bin einverstanden =ja", "=I agree"),
        },
    ],
}


def test_every_type_and_logic_key_round_trips_without_validation(tmp_path: Path) -> None:
    path = tmp_path / "everything.xlsx"
    path.write_bytes(write_xlsform(EVERYTHING))
    notices: list[str] = []
    raw = read_xlsform(path, notices)
    assert notices == []
    assert raw["fields"] == EVERYTHING["fields"]
    assert raw == EVERYTHING


def test_other_with_choice_filter_round_trips_with_an_export_notice(tmp_path: Path) -> None:
    definition = copy.deepcopy(EVERYTHING)
    town = next(f for f in definition["fields"] if f["name"] == "town")
    town["other"] = True
    notices: list[str] = []
    data = write_xlsform(definition, notices)
    assert notices == [
        "field 'town': ODK and KoboToolbox do not accept or_other together with choice_filter; "
        "this file can be imported here again, but not into them"
    ]
    path = tmp_path / "other.xlsx"
    path.write_bytes(data)
    assert read_xlsform(path) == definition


def test_every_type_and_logic_key_round_trips_through_validate(tmp_path: Path) -> None:
    definition = validate(copy.deepcopy(EVERYTHING), "everything.yaml")
    back, notices = _reimport(tmp_path, write_xlsform(definition))
    assert notices == []
    assert back["fields"] == definition["fields"]
    assert back == definition


@pytest.mark.parametrize("which", ["newcomer", "volunteer", "everything"])
def test_exports_are_valid_xlsforms_for_pyxform(which: str) -> None:
    definition = EVERYTHING if which == "everything" else _demo(which)
    warnings: list[str] = []
    result = convert(xlsform=write_xlsform(definition), file_type=".xlsx", warnings=warnings)
    assert "<h:html" in result.xform
    # pyxform only advises against or_other with translations (it adds an English label).
    assert all("or_other" in w for w in warnings), warnings


def test_export_columns_and_settings() -> None:
    book = openpyxl.load_workbook(io.BytesIO(write_xlsform(EVERYTHING)))
    assert book.sheetnames == ["survey", "choices", "settings"]
    header = [c.value for c in book["survey"][1]]
    assert header[:5] == [
        "type",
        "name",
        "label::German (de)",
        "label::English (en)",
        "label::Arabic (ar)",
    ]
    assert "intake_type" in header
    assert "constraint_message::German (de)" in header
    types = [row[0] for row in book["survey"].iter_rows(min_row=2, values_only=True)]
    assert types.count("begin_group") == 2
    assert types.count("end_group") == 2
    assert "select_multiple needs or_other" in types
    assert "acknowledge" in types
    settings_rows = list(book["settings"].iter_rows(values_only=True))
    assert dict(zip(*settings_rows, strict=True)) == {
        "form_title": "Alles",
        "form_id": "everything",
        "default_language": "German (de)",
        "style": "pages",
        "intake_title::German (de)": "Alles",
        "intake_title::English (en)": "Everything",
        "intake_title::Arabic (ar)": "كل شيء",
        "intake_intro::German (de)": "Bitte ausfüllen.",
        "intake_intro::English (en)": "Please fill in.",
        "intake_privacy::German (de)": "Wir speichern ...",
        "intake_privacy::English (en)": "We store ...",
        "intake_privacy_version": "2026-11-01",
    }


# --------------------------------------------------------------------------- robustness

SAFE_TEXT = st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Cc")), min_size=0, max_size=20
)
CELL = st.one_of(
    st.none(),
    st.sampled_from(
        [
            "text",
            "integer",
            "select_one colors",
            "select_multiple colors or_other",
            "begin_group",
            "end_group",
            "begin_repeat",
            "end_repeat",
            "note",
            "calculate",
            "range",
            "start",
            "${a}",
            "${a} > 1",
            "pulldata('x')",
            "yes",
            "label::Deutsch (de)",
            "label::Klingon",
            "list_name",
            "name",
            "type",
            "colors",
            "a",
            "b",
            "A-b",
            "=1+1",
        ]
    ),
    SAFE_TEXT,
    st.integers(min_value=-5, max_value=100),
    st.floats(allow_nan=False, allow_infinity=False, width=32),
    st.booleans(),
    st.dates(min_value=datetime.date(1901, 1, 1), max_value=datetime.date(2100, 1, 1)),
)
MUTATIONS = st.lists(
    st.tuples(
        st.sampled_from(["survey", "choices", "settings"]),
        st.integers(min_value=1, max_value=8),
        st.integers(min_value=1, max_value=7),
        CELL,
    ),
    max_size=8,
)
BASE_SURVEY = [
    SURVEY_HEADER + ["relevant", "required", "choice_filter"],
    q("text", "a") + ["", "yes", ""],
    q("select_one colors", "b") + ["${a} != ''", "", "warm = 'yes'"],
    q("begin_group", "g") + ["", "", ""],
    q("integer", "c") + ["", "${a} = 'x'", ""],
    q("end_group", "") + ["", "", ""],
]
BASE_CHOICES = [
    ["list_name", "name", "label::Deutsch (de)", "label::English (en)", "warm"],
    ["colors", "red", "rot", "red", "yes"],
    ["colors", "blue", "blau", "blue", "no"],
]
BASE_SETTINGS = [["form_id", "form_title", "default_language"], ["f", "F", "Deutsch (de)"]]


def _outcome(path: Path) -> None:
    """load_xlsform succeeds or raises DefinitionError; what it accepts exports losslessly."""
    refusal = None
    try:
        definition, _ = load_xlsform(path)
    except DefinitionError as exc:
        refusal = exc
    if refusal is not None:
        assert refusal.problems
        assert all(isinstance(p, str) and p for p in refusal.problems)
        return
    again = path.with_name("again.xlsx")
    again.write_bytes(write_xlsform(definition))
    assert load_xlsform(again)[0] == definition


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutations=MUTATIONS)
def test_mutated_workbooks_never_crash(tmp_path_factory: pytest.TempPathFactory, mutations):
    book = openpyxl.Workbook()
    book.active.title = "survey"
    sheets = {"survey": book.active}
    sheets["choices"] = book.create_sheet("choices")
    sheets["settings"] = book.create_sheet("settings")
    for title, rows in (
        ("survey", BASE_SURVEY),
        ("choices", BASE_CHOICES),
        ("settings", BASE_SETTINGS),
    ):
        for row in rows:
            sheets[title].append(row)
    for title, row, column, value in mutations:
        sheets[title].cell(row=row, column=column, value=value)
    path = tmp_path_factory.mktemp("mutated") / "form.xlsx"
    book.save(path)
    _outcome(path)


@settings(max_examples=60, deadline=None)
@given(
    content=st.one_of(
        st.binary(max_size=600),
        st.binary(max_size=600).map(lambda b: b"PK\x03\x04" + b),
    )
)
def test_random_bytes_never_crash(tmp_path_factory: pytest.TempPathFactory, content: bytes):
    path = tmp_path_factory.mktemp("bytes") / "upload.xlsx"
    path.write_bytes(content)
    with pytest.raises(DefinitionError):
        load_xlsform(path)


def _valid_workbook_bytes() -> bytes:
    """A small valid workbook, the start for corruption."""
    book = openpyxl.Workbook()
    book.active.title = "survey"
    for row in BASE_SURVEY:
        book.active.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


VALID_BYTES = _valid_workbook_bytes()


@settings(max_examples=60, deadline=None)
@given(
    flips=st.lists(
        st.tuples(st.integers(min_value=0, max_value=len(VALID_BYTES) - 1), st.integers(0, 255)),
        min_size=1,
        max_size=6,
    )
)
def test_corrupted_workbooks_never_crash(tmp_path_factory: pytest.TempPathFactory, flips):
    data = bytearray(VALID_BYTES)
    for position, value in flips:
        data[position] = value
    path = tmp_path_factory.mktemp("corrupt") / "upload.xlsx"
    path.write_bytes(bytes(data))
    _outcome(path)


def test_report_languages_column_is_read(tmp_path: Path) -> None:
    definition = _demo("volunteer")
    data = write_xlsform(definition, [])
    back, _notices = _reimport(tmp_path, data, "volunteer.xlsx")
    fluent = next(f for f in back["fields"] if f["name"] == "languages_fluent")
    assert fluent["report_languages"] == "offered"


def test_report_languages_column_must_name_a_role(tmp_path: Path) -> None:
    header = SURVEY_HEADER + ["intake_report_languages"]
    path = workbook(tmp_path, [header, q("integer", "a") + ["spoken"]])
    assert problems_of(path) == [
        "survey sheet, row 2, column 'intake_report_languages': write offered or needed"
    ]


def test_allow_choice_duplicates_offers_a_twice_listed_value_once(tmp_path: Path) -> None:
    """With the setting, ODK stores one answer for both rows: the value is offered once
    (the first row's label), with a note; without it, the second row is refused."""
    survey = [SURVEY_HEADER, q("select_one towns", "town")]
    choices = [
        ["list_name", "name", "label::Deutsch (de)", "label::English (en)"],
        ["towns", "bingen", "Bingen am Rhein", "Bingen"],
        ["towns", "mainz", "Mainz", "Mainz"],
        ["towns", "bingen", "Bingen (Stadt)", "Bingen (town)"],
    ]
    allowed = workbook(
        tmp_path, survey, choices, [["allow_choice_duplicates"], ["yes"]], name="yes.xlsx"
    )
    definition, notices = load_xlsform(allowed)
    town = definition["fields"][0]
    assert [c["value"] for c in town["choices"]] == ["bingen", "mainz"]
    assert town["choices"][0]["label"]["de"] == "Bingen am Rhein"
    assert notices == [
        "choices sheet, row 4: the value 'bingen' is already in list 'towns' (row 2); with "
        "allow_choice_duplicates an answer cannot tell them apart, so it is offered once"
    ]
    refused = workbook(tmp_path, survey, choices, name="no.xlsx")
    assert problems_of(refused) == [
        "choices sheet, row 4, column 'name': the value 'bingen' is already in list 'towns' "
        "(row 2); a value may come twice only with allow_choice_duplicates: yes (settings sheet)"
    ]


def test_texts_insert_answers_and_follow_renamed_questions(tmp_path: Path) -> None:
    header = [*SURVEY_HEADER, "hint::Deutsch (de)"]
    path = workbook(
        tmp_path,
        [
            header,
            [*q("text", "Child-Name", "Name des Kindes", "Name"), ""],
            [
                *q("integer", "age", "Wie alt ist ${Child-Name}?", "How old is ${Child-Name}?"),
                "In Jahren",
            ],
            [*q("select_one yn", "school", "Geht ${Child-Name} zur Schule?", "School?"), ""],
        ],
        [
            ["list_name", "name", "label::Deutsch (de)", "label::English (en)"],
            ["yn", "yes", "Ja, ${Child-Name} geht", "Yes"],
            ["yn", "no", "Nein", "No"],
        ],
    )
    definition, _notices = load_xlsform(path)
    age, school = definition["fields"][1], definition["fields"][2]
    assert age["label"] == {"de": "Wie alt ist ${child_name}?", "en": "How old is ${child_name}?"}
    assert school["choices"][0]["label"]["de"] == "Ja, ${child_name} geht"


def test_a_text_inserting_a_refused_row_is_explained(tmp_path: Path) -> None:
    path = workbook(
        tmp_path,
        [SURVEY_HEADER, q("geotrace", "where"), q("text", "why", "Warum ${where}?", "Why?")],
    )
    assert "survey sheet, row 3, column 'label': inserts ${where}, the question in row 2" in (
        " ".join(problems_of(path))
    )


@pytest.mark.parametrize(
    ("relevant", "read"),
    [
        ("/data/a > 1", "${a} > 1"),
        ("/data/about_you/a > 1 and ../b = 2", "${a} > 1 and ${b} = 2"),
        ("current()/../a > 1", "${a} > 1"),
        ("../../a = 5", "${a} = 5"),
    ],
)
def test_xpath_paths_to_a_question_are_read_as_its_name(
    tmp_path: Path, relevant: str, read: str
) -> None:
    """Names are unique in a form, so a path's last step names the question, as ${name}
    would; the note says how each path was read."""
    path = two_numbers_and_a_text(tmp_path, relevant)
    definition, notices = load_xlsform(path)
    assert definition["fields"][2]["relevant"] == read
    assert notices[0].startswith("survey sheet, row 4, column 'relevant': the XPath path '")
    assert check(read, {"a": "5", "b": "2"}.get)


def test_a_calculation_is_read_with_its_renamed_references(tmp_path: Path) -> None:
    header = [*SURVEY_HEADER, "calculation", "relevant"]
    path = workbook(
        tmp_path,
        [
            header,
            [*q("integer", "Adults"), "", ""],
            [*q("integer", "children"), "", ""],
            ["calculate", "household", "", "", "${Adults} + ${children}", ""],
            [
                *q("note", "big", "Große Familie: ${household} Personen", "Big"),
                "",
                "${household} > 4",
            ],
        ],
    )
    definition, _notices = load_xlsform(path)
    household = definition["fields"][2]
    assert household["type"] == "calculate"
    assert household["calculation"] == "${adults} + ${children}"
    assert definition["fields"][3]["relevant"] == "${household} > 4"


def test_a_calculation_may_read_only_questions_before_it(tmp_path: Path) -> None:
    header = [*SURVEY_HEADER, "calculation"]
    path = workbook(
        tmp_path,
        [header, ["calculate", "total", "", "", "${later} * 2"], [*q("integer", "later"), ""]],
    )
    assert problems_of(path) == [
        "survey sheet, row 2 (field 'total'): 'calculation' refers to ${later}, which is not a "
        "question before it"
    ]


# --- repeats -------------------------------------------------------------------------

REPEAT_HEADER = ["type", "name", "label::Deutsch (de)", "label::العربية (ar)", "relevant"]
REPEAT_EXTRA = ["calculation", "repeat_count", "required", "constraint"]


def _household_rows(count: str = "") -> list[list[Any]]:
    header = REPEAT_HEADER + REPEAT_EXTRA
    rows = [
        ["begin_group", "intro", "Ihr Haushalt", "أسرتك", "", "", "", "", ""],
        ["text", "contact", "Ihr Name", "اسمك", "", "", "", "yes", ""],
        [
            "begin_repeat",
            "household_member",
            "Person",
            "شخص",
            "${contact} != ''",
            "",
            count,
            "",
            "",
        ],
        ["text", "member-name", "Vorname", "الاسم", "", "", "", "yes", ""],
        [
            "integer",
            "age",
            "Wie alt ist ${member-name}?",
            "كم عمر ${member-name}؟",
            "",
            "",
            "",
            "",
            ". < 130",
        ],
        ["begin_group", "child", "Kind", "طفل", "${age} < 18", "", "", "", ""],
        ["select_one yn", "school", "Schule?", "مدرسة؟", "", "", "", "", ""],
        ["end_group", "", "", "", "", "", "", "", ""],
        ["calculate", "nr", "", "", "", "position(..)", "", "", ""],
        ["end_repeat", "", "", "", "", "", "", "", ""],
        ["calculate", "people", "", "", "", "count(${household_member})", "", "", ""],
        ["calculate", "total_age", "", "", "", "sum(${age})", "", "", ""],
        ["note", "info", "${people} Personen", "${people} أشخاص", "", "", "", "", ""],
        ["end_group", "", "", "", "", "", "", "", ""],
    ]
    return [header, *rows]


YES_NO_CHOICES = [
    ["list_name", "name", "label::Deutsch (de)", "label::العربية (ar)"],
    ["yn", "yes", "Ja", "نعم"],
    ["yn", "no", "Nein", "لا"],
]


def test_a_repeat_is_read_with_its_questions_counts_and_conditions(tmp_path: Path) -> None:
    path = workbook(tmp_path, _household_rows(), YES_NO_CHOICES)
    raw = read_xlsform(path)
    page, contact, repeat, people, total, info = raw["fields"]
    assert (page["type"], contact["name"], repeat["type"]) == ("page", "contact", "repeat")
    assert repeat["name"] == "household_member"
    assert repeat["label"] == {"de": "Person", "ar": "شخص"}
    assert repeat["relevant"] == "${contact} != ''"
    assert [c["name"] for c in repeat["fields"]] == ["member_name", "age", "school", "nr"]
    name, age, school, number = repeat["fields"]
    assert age["label"]["de"] == "Wie alt ist ${member_name}?"  # the rename followed
    assert school["relevant"] == "(${age} < 18)"  # the group inside the repeat
    assert number["calculation"] == "position(..)"
    assert people["calculation"] == "count(${household_member})"
    assert total["calculation"] == "sum(${age})"
    assert "min_count" not in repeat  # as many as the person adds
    normalised = validate(raw, "h.xlsx")
    assert (normalised["fields"][2]["min_count"], normalised["fields"][2]["max_count"]) == (0, 20)
    definition = FormDefinition(normalised)
    state = logic.evaluate_state(
        definition,
        {"contact": ["A"], "household_member": ["2"], "age-1": ["40"], "age-2": ["8"]},
    )
    assert state.values["people"] == ["2"]
    assert state.values["total_age"] == ["48"]
    assert state.values["nr-2"] == ["2"]
    assert state.relevant["school-2"]
    assert not state.relevant["school-1"]


def test_a_fixed_repeat_count_and_one_made_from_answers_are_read(tmp_path: Path) -> None:
    raw = read_xlsform(workbook(tmp_path, _household_rows("3"), YES_NO_CHOICES))
    assert (raw["fields"][2]["min_count"], raw["fields"][2]["max_count"]) == (3, 3)
    rows = _household_rows("${size}")
    rows.insert(3, ["integer", "size", "Wie viele?", "كم؟", "", "", "", "yes", ""])
    raw = read_xlsform(workbook(tmp_path, rows, YES_NO_CHOICES, name="b.xlsx"))
    assert raw["fields"][3]["repeat_count"] == "${size}"
    definition = FormDefinition(validate(raw, "b.xlsx"))
    state = logic.evaluate_state(definition, {"contact": ["A"], "size": ["2"], "members": ["9"]})
    assert state.values["household_member"] == ["2"]  # made from the answer, not posted
    assert state.relevant["age-2"]
    assert not state.relevant["age-3"]
    later = _household_rows("${people}")  # a question after the repeat
    assert problems_of(workbook(tmp_path, later, YES_NO_CHOICES, name="c.xlsx")) == [
        "survey sheet, row 4 (field 'household_member'): 'repeat_count' refers to ${people}, "
        "which is not a question before it"
    ]


def test_a_problem_inside_a_repeat_names_its_row(tmp_path: Path) -> None:
    rows = _household_rows()
    rows[5][8] = ". <"  # the constraint of 'age'
    problems = problems_of(workbook(tmp_path, rows, YES_NO_CHOICES))
    assert len(problems) == 1
    assert problems[0].startswith("survey sheet, row 6 (field 'age'): 'constraint'")


def test_position_outside_a_repeat_is_refused_at_its_row(tmp_path: Path) -> None:
    rows = _household_rows()
    rows[11][5] = "position(..)"  # people
    assert problems_of(workbook(tmp_path, rows, YES_NO_CHOICES)) == [
        "survey sheet, row 12 (field 'people'): 'calculation': position(..) only works "
        "inside a repeat"
    ]


@pytest.mark.parametrize("count", ["", "2", "${contact} != ''"])
def test_a_repeat_comes_back_the_same_from_its_export(tmp_path: Path, count: str) -> None:
    raw = read_xlsform(workbook(tmp_path, _household_rows(count), YES_NO_CHOICES))
    normalised = validate(raw, "h.xlsx")
    exported = tmp_path / "again.xlsx"
    exported.write_bytes(write_xlsform(normalised))
    assert validate(read_xlsform(exported), "again.xlsx") == normalised
    book = openpyxl.load_workbook(exported)
    types = [row[0].value for row in book["survey"].iter_rows(min_row=2)]
    assert types.count("begin_repeat") == 1
    assert types.count("end_repeat") == 1
    # ODK's own reader takes the exported repeat (and the sheet it came from).
    convert(xlsform=exported.read_bytes(), file_type=".xlsx", warnings=[])


def test_choice_names_odk_accepts_become_our_values_and_keep_their_name(tmp_path: Path) -> None:
    """'no school', 'Ärztin', '_x' are names ODK takes: they become values of ours (a
    notice says so), the sheet's name is kept, and expressions follow."""
    header = [*SURVEY_HEADER, "relevant"]
    path = workbook(
        tmp_path,
        [
            header,
            q("select_one c", "pick") + [""],
            q("text", "why") + ["selected(${pick}, 'no school')"],
        ],
        [
            ["list_name", "name", "label::Deutsch (de)"],
            ["c", "no school", "Keine Schule"],
            ["c", "Ärztin", "Ärztin"],
            ["c", "no_school", "Schon da"],
            ["c", "_x", "X"],
        ],
    )
    notices: list[str] = []
    raw = read_xlsform(path, notices)
    choices = raw["fields"][0]["choices"]
    assert [(c["value"], c.get("original")) for c in choices] == [
        ("no_school_2", "no school"),  # no_school is the name of another choice
        ("Arztin", "Ärztin"),
        ("no_school", None),
        ("x", "_x"),
    ]
    assert raw["fields"][1]["relevant"] == "selected(${pick}, 'no_school_2')"
    assert "choices sheet, row 2: the value 'no school' becomes 'no_school_2'" in notices
    normalised = validate(raw, "c.xlsx")
    assert normalised["fields"][0]["choices"][0]["original"] == "no school"


def test_renamed_questions_keep_the_sheets_name_in_the_export(tmp_path: Path) -> None:
    """member-name becomes member_name here; the export writes member-name again (and its
    references), so the file goes back to ODK or Kobo as it came."""
    header = [*SURVEY_HEADER, "relevant"]
    path = workbook(
        tmp_path,
        [
            header,
            q("text", "member-name") + [""],
            q("integer", "Age", "Wie alt ist ${member-name}?", "Age?") + ["${member-name} != ''"],
        ],
    )
    normalised = validate(read_xlsform(path), "n.xlsx")
    first, second = normalised["fields"]
    assert (first["name"], first["original"]) == ("member_name", "member-name")
    assert (second["name"], second["original"]) == ("age", "Age")
    assert second["relevant"] == "${member_name} != ''"
    exported = tmp_path / "again.xlsx"
    exported.write_bytes(write_xlsform(normalised))
    sheet = openpyxl.load_workbook(exported)["survey"]
    rows = [[cell.value for cell in row] for row in sheet.iter_rows()]
    header_row = rows[0]
    names = [r[header_row.index("name")] for r in rows[1:]]
    assert names == ["member-name", "Age"]
    assert rows[2][header_row.index("relevant")] == "${member-name} != ''"
    german = next(
        i for i, h in enumerate(header_row) if h and h.startswith("label::") and "(de)" in h
    )
    assert "${member-name}" in rows[2][german]
    convert(xlsform=exported.read_bytes(), file_type=".xlsx", warnings=[])
    assert validate(read_xlsform(exported), "again.xlsx") == normalised
