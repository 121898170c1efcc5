"""Bold and italic in form texts: what becomes a tag, and that tags always nest."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from intake.engine.texts import plain
from intake.markup import inline


@pytest.mark.parametrize(
    ("text", "html"),
    [
        ("**fett** und __fett__", "<strong>fett</strong> und <strong>fett</strong>"),
        ("*kursiv* und _kursiv_", "<em>kursiv</em> und <em>kursiv</em>"),
        ("***beides***", "<strong><em>beides</em></strong>"),
        ("**a *b* c**", "<strong>a <em>b</em> c</strong>"),
        ("first_name, 2*3*4, a*b* c", "first_name, 2*3*4, a*b* c"),
        ("** kein ** und * kein *", "** kein ** und * kein *"),
        ("*<b>*", "<em>&lt;b&gt;</em>"),
        ("*********", "*********"),
    ],
)
def test_markers_become_tags_around_escaped_text(text: str, html: str) -> None:
    assert inline(text) == html


def test_plain_drops_the_markers_and_the_inserted_answers() -> None:
    assert plain("Ihr **jetziger** _Wohnort_") == "Ihr jetziger Wohnort"
    assert plain("Wie alt ist ${kind_name}?") == "Wie alt ist …?"


@given(st.text(alphabet="*_ ab<>&\n", max_size=60))
def test_any_text_gives_nested_tags_and_only_its_own_characters(text: str) -> None:
    html = str(inline(text))
    stack = []
    for closing, tag in re.findall(r"<(/?)(strong|em)>", html):
        if closing:
            assert stack, html
            assert stack.pop() == tag, html
        else:
            stack.append(tag)
    assert stack == [], html
    bare = re.sub(r"</?(strong|em)>", "", html)
    assert "<" not in bare
    assert ">" not in bare
    assert bare.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&").replace(
        "*", ""
    ).replace("_", "") == text.replace("*", "").replace("_", "")


def test_an_inserted_answer_is_escaped_and_never_read_as_a_marker() -> None:
    html = inline("Wie alt ist **${name}**? (${missing})", {"name": "*<b>Samira</b>*"})
    assert html == (
        'Wie alt ist <strong><bdi class="inserted" data-insert="name">'
        "*&lt;b&gt;Samira&lt;/b&gt;*</bdi></strong>? "
        '(<bdi class="inserted" data-insert="missing"></bdi>)'
    )
    assert inline("${Name} und ${1x}") == "${Name} und ${1x}"  # no question name: text


def test_reports_and_exports_name_a_question_without_markers_or_placeholders() -> None:
    from intake.engine.definition import FormDefinition
    from intake.engine.validation import validate

    raw = {
        "form": "kurz",
        "default_language": "de",
        "languages": ["de"],
        "title": {"de": "Kurz"},
        "fields": [
            {"name": "name", "type": "text", "label": {"de": "Name"}},
            {"name": "alter", "type": "integer", "label": {"de": "Wie **alt** ist ${name}?"}},
        ],
    }
    definition = FormDefinition(validate(raw, "kurz.yaml"))
    assert definition.field("alter").report_label("de") == "Wie alt ist …?"
