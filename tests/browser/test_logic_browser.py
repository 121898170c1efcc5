"""Conditions, choice filters and pages in a real browser, with and without JavaScript.

Uses the test form tests/forms/all_types.yaml (fixture `all_types_form`).
"""

from __future__ import annotations

import math
import re

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from intake.engine.expressions import evaluate, parse
from tests.browser.conftest import ALL_TYPES
from tests.browser.pages import FormPage
from tests.conftest import install_form, response_count, stored_answers

TABLET = {"width": 1024, "height": 768}
ERROR_COLOR = "rgb(176, 0, 32)"  # --error in intake.css
RAW = yaml.safe_load(ALL_TYPES.read_text(encoding="utf-8"))
FIELDS = {f["name"]: f for f in RAW["fields"]}
OPTIONAL = {"de": "(optional)", "ar": "(اختياري)"}
WORDS = {
    "de": {
        "next": "Weiter",
        "back": "Zurück",
        "send": "Antworten senden",
        "page": "Seite {} von {}",
    },
    "ar": {"next": "التالي", "back": "رجوع", "send": "إرسال الإجابات", "page": "الصفحة {} من {}"},
}


def label(name: str, lang: str) -> str:
    """A question's accessible name: its label, with "(optional)" when it may stay empty."""
    field = FIELDS[name]
    text = field["label"][lang]
    return f"{text} {OPTIONAL[lang]}" if field.get("required", False) is False else text


def choice(name: str, value: str, lang: str) -> str:
    return next(c["label"][lang] for c in FIELDS[name]["choices"] if c["value"] == value)


# --- (a) the server and the browser evaluate expressions alike ------------------------

ANSWERS = {
    "age": "34",
    "code": "007",
    "empty": "",
    "d1": "2026-11-25",
    "d2": "2027-01-03",
    "needs": "housing work",
    "spaced": "  a   b  ",
    "leading": " housing",
    "tabbed": "a\tb",
    "nbsp": "a\u00a0b",
    "name": "Layla",
    "name_ar": "ليلى",
    "emoji": "👍🏽",
    "postcode": "55411",
    "postcode_ar": "٥٥٤١١",
    "x": "1",
    "y": "1.0",
    "plus": "+5",
    "big": "1" + "0" * 300,
}

# (expression, current answer ".", choice data for names without ${})
CASES = [
    # dates: a date is its days since 1970, format-date() and date() as ODK has them
    ("${d2} - ${d1}", "", None),
    ("${d1} > 20000", "", None),
    ("int((${d2} - '1990-05-01') div 365.25)", "", None),
    ("format-date(${d1}, '%d.%m.%Y %e %n %b %a %y %H')", "", None),
    ("format-date(${d1} + 40, '%Y-%m-%d')", "", None),
    ("date(${d1} + 1)", "", None),
    ("date(0)", "", None),
    ("date('2026-02-30')", "", None),
    ("format-date('0050-01-01', '%Y')", "", None),
    ("decimal-date-time(${d2})", "", None),
    ("number('2026-13-01')", "", None),
    ("1 + 2 * 3", "", None),
    ("10 - 4 - 3", "", None),
    ("7 mod 4 * 2", "", None),
    ("-7 mod 3", "", None),
    ("7.5 mod 2", "", None),
    ("1 div 0", "", None),
    ("5 mod 0", "", None),
    ("0 div 0 = 0 div 0", "", None),
    ("0.1 + 0.2", "", None),
    ("- ${age}", "", None),
    ("${age} div 4", "", None),
    ("${missing} + 1", "", None),
    ("9007199254740993 = 9007199254740992", "", None),
    ("string-length(1 div 3)", "", None),
    ("string-length(0.1 + 0.2)", "", None),
    ("string-length(1000000 * 1000000 * 1000000 * 1000)", "", None),
    ("string-length(123456789012345680000 * 10)", "", None),
    ("string-length(0.000001)", "", None),
    ("string-length(0.0000001 * 1)", "", None),
    ("string-length(0 * -1)", "", None),
    ("string-length(number('x'))", "", None),
    ("coalesce(${empty}, 1 div 0)", "", None),
    ("${age} > 18", "", None),
    ("${age} = '34.0'", "", None),
    ("${age} = 34.0", "", None),
    ("${code} = 7", "", None),
    ("${code} = '7'", "", None),
    ("${x} = ${y}", "", None),
    ("${x} < ${y} or ${x} > ${y}", "", None),
    ("'10' < '9'", "", None),
    ("'abc' < 'abd'", "", None),
    ("'abc' < 5", "", None),
    ("'\uffff' < '😀'", "", None),
    ("${d1} < ${d2}", "", None),
    ("${d1} <= today() and today() < '2100-01-01'", "", None),
    ("${empty} = 0", "", None),
    ("${empty} < 'a'", "", None),
    ("true() = 'false'", "", None),
    ("true() > 0", "", None),
    ("number(true()) + number(false())", "", None),
    ("'a' = 'a' and 'b' != 'c' or false()", "", None),
    ("not(${missing})", "", None),
    ("number(' 42 ')", "", None),
    ("number('\u00a042\u00a0')", "", None),
    ("number('\ufeff1')", "", None),
    ("number('٣')", "", None),
    ("number('4,5')", "", None),
    ("number('1e3')", "", None),
    ("number('-.5')", "", None),
    ("number(${plus})", "", None),
    ("int(-3.7)", "", None),
    ("int('  7.9 ')", "", None),
    ("int(number('x'))", "", None),
    ("selected(${needs}, 'housing')", "", None),
    ("selected(${needs}, 'hous')", "", None),
    ("selected(${leading}, '')", "", None),
    ("selected(${empty}, '')", "", None),
    ("selected(${tabbed}, 'b')", "", None),
    ("selected(${nbsp}, 'b')", "", None),
    ("count-selected(${spaced})", "", None),
    ("count-selected(${empty})", "", None),
    ("count-selected(${nbsp})", "", None),
    ("string-length(${name_ar})", "", None),
    ("string-length(${emoji})", "", None),
    ("string-length('𝔘𝔫𝔦')", "", None),
    ("regex(${postcode}, '^[0-9]{5}$')", "", None),
    ("regex(${postcode}, '^\\d{5}$')", "", None),
    ("regex(${postcode_ar}, '^\\d{5}$')", "", None),
    ("regex(${name_ar}, '^ل')", "", None),
    ("regex(${name}, '\\w+')", "", None),
    ("regex(${name_ar}, '^\\w+$')", "", None),
    ("regex('x', '(')", "", None),
    ("regex(${emoji}, '^.{2}$')", "", None),
    ("contains(${name}, 'ay')", "", None),
    ("starts-with(${name_ar}, 'لي')", "", None),
    ("if(${empty}, 'a', 'b')", "", None),
    ("if(${age} >= 18, ${name}, 0)", "", None),
    ("coalesce(${empty}, ${name})", "", None),
    ("concat(${name}, ' (', ${age}, ')')", "", None),
    ("concat(${empty}, 1.50, true())", "", None),
    ("string(${age} div 4)", "", None),
    ("substr(${name_ar}, 1, 3)", "", None),
    ("substr(${emoji}, 1)", "", None),
    ("substr('abc', -2, 99)", "", None),
    ("substr('abc', 'x')", "", None),
    ("round(2.5) + round(-2.5) + round(-0.4)", "", None),
    ("round(${age} div 7, 2)", "", None),
    ("round(1.005, 2)", "", None),
    ("round(${big}, 10)", "", None),
    ("round(${empty})", "", None),
    ("min(${age}, 18, '7')", "", None),
    ("max(${age}, ${empty})", "", None),
    ("max(-1, number('x'))", "", None),
    (". > 3", "4", None),
    (". > 3", "", None),
    ("regex(., '^[0-9]+$')", "12a", None),
    ("string-length(.) <= 3", "ليلى", None),
    ("district = 'mainz-bingen'", "", {"district": "mainz-bingen"}),
    ("level_min <= 3 and 3 <= level_max", "", {"level_min": "2", "level_max": "4"}),
    ("level_min <= ''", "", {"level_min": "2"}),
    ("constructor = ''", "", {}),
    ("toString = '' and hasOwnProperty = ''", "", {"district": "x"}),
]

JS_EVALUATE = """cases => cases.map(([tree, answers, current, names]) =>
    window.IntakeLogic.evaluate(
        tree,
        name => Object.prototype.hasOwnProperty.call(answers, name) ? answers[name] : "",
        current,
        names
    ))"""


def agree(python, browser) -> bool:
    """Equal values of the same kind; numbers compare as numbers, NaN equals NaN."""
    if isinstance(python, bool) or isinstance(browser, bool):
        return python is browser
    if isinstance(python, float) and isinstance(browser, int | float):
        return (math.isnan(python) and math.isnan(browser)) or python == browser
    return isinstance(python, str) and python == browser


def test_server_and_browser_evaluate_alike(live_server, browser, all_types_form):
    assert len(CASES) >= 40
    trees = [parse(source) for source, _current, _names in CASES]
    python = [
        evaluate(tree, lambda name: ANSWERS.get(name, ""), current=current, names=names)
        for tree, (_source, current, names) in zip(trees, CASES, strict=True)
    ]
    page = browser.new_page()
    page.goto(f"{live_server}/f/all-types")
    args = [
        [tree, ANSWERS, current, names]
        for tree, (_s, current, names) in zip(trees, CASES, strict=True)
    ]
    in_browser = page.evaluate(JS_EVALUATE, args)
    page.close()
    differ = [
        (source, py, js)
        for (source, _c, _n), py, js in zip(CASES, python, in_browser, strict=True)
        if not agree(py, js)
    ]
    assert differ == []


# --- (b) conditions and choice filters without a reload --------------------------------


def hidden(page, name: str) -> bool:
    """Whether a question (by field name) is hidden by its condition."""
    return page.eval_on_selector(f'[data-field="{name}"]', "el => el.hidden")


def fill_page_1(form: FormPage, lang: str, contact: str = "phone", age: str = "34") -> None:
    form.type(label("full_name", lang), "Layla Haddad")
    form.type(label("age", lang), age)
    form.choose(choice("contact", contact, lang))
    if contact == "phone":
        form.type(label("phone", lang), "0151 23456789")
    form.page.get_by_label(label("arrival", lang), exact=True).fill("2025-12-31")
    form.select(label("municipality", lang), "Ingelheim am Rhein")


def fill_page_2(form: FormPage, lang: str) -> None:
    form.type(label("children", lang), "2")
    form.type(label("children_ages", lang), "3, 7")
    form.select(label("housing", lang), choice("housing", "shared", lang))
    form.type(label("rent", lang), "450,50")


def fill_page_3(form: FormPage, lang: str) -> None:
    form.choose(choice("needs", "housing", lang))
    form.choose(choice("needs", "language", lang))
    form.choose(choice("german", "3", lang))
    form.choose(choice("course", "b1", lang))
    form.choose("نعم" if lang == "ar" else "Ja")
    form.type(label("interpreter_language", lang), "Tigrinya")
    form.choose(label("consent", lang))


def visible_choices(page, name: str) -> list[str]:
    return page.eval_on_selector_all(
        f'[data-field="{name}"] [data-choice]',
        "els => els.filter(el => !el.hidden).map(el => el.querySelector('input').value)",
    )


@pytest.mark.parametrize("lang", ["de", "ar"])
def test_conditions_show_and_hide_questions_without_reload(
    live_server, browser, all_types_form, lang
):
    context = browser.new_context(viewport=TABLET)
    page = context.new_page()
    form = FormPage(page, live_server).open("all-types", lang=lang)
    assert form.dir == ("rtl" if lang == "ar" else "ltr")
    page.evaluate("window.notReloaded = true")

    # Shown only when the answer is "email"; the note only for people under 18.
    assert hidden(page, "email")
    assert hidden(page, "minor_note")
    form.choose(choice("contact", "email", lang))
    assert not hidden(page, "email")
    assert page.get_by_label(label("email", lang), exact=True).is_visible()
    form.choose(choice("contact", "phone", lang))
    assert hidden(page, "email")
    assert not page.get_by_label(label("email", lang), exact=True).is_visible()
    form.type(label("age", lang), "16")
    assert not hidden(page, "minor_note")
    assert page.get_by_text(FIELDS["minor_note"]["label"][lang]).is_visible()
    form.type(label("age", lang), "34")
    assert hidden(page, "minor_note")
    assert page.evaluate("window.notReloaded") is True

    fill_page_1(form, lang)
    form.send(WORDS[lang]["next"])
    fill_page_2(form, lang)
    # "${rent} >= 1000" with a decimal comma, as people in Germany type it.
    assert hidden(page, "housing_benefit")
    form.type(label("rent", lang), "1200,50")
    assert not hidden(page, "housing_benefit")
    form.type(label("rent", lang), "999,99")
    assert hidden(page, "housing_benefit")
    form.type(label("rent", lang), "1 000")
    assert not hidden(page, "housing_benefit")
    form.choose("لا" if lang == "ar" else "Nein")
    form.send(WORDS[lang]["next"])
    assert page.locator("#progress-label").inner_text() == WORDS[lang]["page"].format(3, 3)
    page.evaluate("window.notReloaded = true")

    # A condition on an answer of another page (carried in a hidden input) and this one.
    assert hidden(page, "benefit_note")
    form.choose(choice("needs", "housing", lang))
    assert not hidden(page, "benefit_note")
    assert page.get_by_text(FIELDS["benefit_note"]["label"][lang]).is_visible()
    page.get_by_label(choice("needs", "housing", lang), exact=True).uncheck()
    assert hidden(page, "benefit_note")

    # The course question comes with 'learning German'; its choices follow the rating.
    assert hidden(page, "course")
    form.choose(choice("needs", "language", lang))
    assert not hidden(page, "course")
    assert visible_choices(page, "course") == ["a1", "b1", "c1"]  # no rating yet
    form.choose(choice("german", "1", lang))
    assert visible_choices(page, "course") == ["a1"]
    assert not page.get_by_label(choice("course", "c1", lang), exact=True).is_visible()
    form.choose(choice("german", "5", lang))
    assert visible_choices(page, "course") == ["c1"]
    form.choose(choice("course", "c1", lang))
    # A chosen answer that gets filtered out is unticked, so it is not sent.
    form.choose(choice("german", "2", lang))
    assert visible_choices(page, "course") == ["a1", "b1"]
    assert not page.eval_on_selector("#course-3", "el => el.checked")

    # "Other" asks to specify; yes asks which language.
    assert hidden(page, "needs_other")
    assert hidden(page, "interpreter_language")
    form.choose("غير ذلك" if lang == "ar" else "Sonstiges")
    assert not hidden(page, "needs_other")
    form.choose("نعم" if lang == "ar" else "Ja")
    assert not hidden(page, "interpreter_language")
    form.choose("لا" if lang == "ar" else "Nein")
    assert hidden(page, "interpreter_language")
    assert page.evaluate("window.notReloaded") is True
    context.close()


# --- (c) pages with JavaScript, and (d) without -----------------------------------------


def walk_through_pages(app, page, form: FormPage, lang: str, screenshots=None) -> str:
    """Fill all three pages with next and back; return the reference code."""
    words = WORDS[lang]

    def progress():
        return page.locator("#progress-label").inner_text()

    def shoot(name):
        if screenshots is not None:
            page.screenshot(
                path=screenshots / f"all-types-{lang}-{name}-1024x768.png", full_page=True
            )

    assert progress() == words["page"].format(1, 3)
    shoot("page1")
    # Next with a problem stays on the page and says what is wrong.
    form.send(words["next"])
    assert progress() == words["page"].format(1, 3)
    assert FIELDS["full_name"]["label"][lang] in form.error_summary
    # The new page is there; its style sheet may still be on the way (the click only
    # waits for the navigation to start), and the colours below come from it.
    page.wait_for_load_state("load")
    # Every field with a problem has the error colour, text fields as well as drop-downs.
    for field_id in ("full_name", "age", "municipality"):
        color = page.locator(f"#{field_id}").evaluate("el => getComputedStyle(el).borderTopColor")
        assert color == ERROR_COLOR, field_id
    assert page.locator("#phone").evaluate("el => getComputedStyle(el).borderTopColor") != (
        ERROR_COLOR
    )
    shoot("page1-errors")

    fill_page_1(form, lang)
    form.send(words["next"])
    assert progress() == words["page"].format(2, 3)
    assert page.locator("h2.page-title").inner_text() == FIELDS["p_family"]["label"][lang]
    shoot("page2")
    fill_page_2(form, lang)
    form.send(words["next"])
    assert progress() == words["page"].format(3, 3)
    shoot("page3")
    form.choose(choice("needs", "work", lang))

    # Back and back: everything is still there.
    form.send(words["back"])
    assert progress() == words["page"].format(2, 3)
    assert page.get_by_label(label("rent", lang), exact=True).input_value() == "450,50"
    assert page.get_by_label(label("housing", lang), exact=True).input_value() == "shared"
    form.send(words["back"])
    assert progress() == words["page"].format(1, 3)
    assert page.get_by_label(label("full_name", lang), exact=True).input_value() == "Layla Haddad"
    assert page.get_by_label(choice("contact", "phone", lang), exact=True).is_checked()
    assert page.get_by_label(label("municipality", lang), exact=True).input_value() == (
        "ingelheim-am-rhein"
    )
    form.send(words["next"])
    form.send(words["next"])
    assert progress() == words["page"].format(3, 3)
    assert page.get_by_label(choice("needs", "work", lang), exact=True).is_checked()
    fill_page_3(form, lang)
    form.send(words["send"])
    reference = form.reference
    assert re.fullmatch(r"[A-Z0-9]{4}-[A-Z0-9]{4}", reference)
    shoot("thanks")
    assert response_count(app) == 1
    return reference


@pytest.mark.parametrize("lang", ["de", "ar"])
def test_pages_with_javascript(app, live_server, browser, all_types_form, screenshots, lang):
    context = browser.new_context(viewport=TABLET, locale=lang)
    page = context.new_page()
    form = FormPage(page, live_server).open("all-types", lang=lang, campaign="plakat-7")
    reference = walk_through_pages(app, page, form, lang, screenshots)
    [answers] = stored_answers(app, reference)
    assert answers["full_name"] == ["Layla Haddad"]
    assert answers["phone"] == ["+4915123456789"]
    assert answers["arrival"] == ["2025-12-31"]
    assert answers["municipality"] == ["ingelheim-am-rhein"]
    assert answers["rent"] == ["450.5"]
    assert answers["needs"] == ["housing", "language", "work"]
    assert answers["course"] == ["b1"]
    assert answers["interpreter_language"] == ["Tigrinya"]
    assert answers["campaign"] == ["plakat-7"]
    assert "email" not in answers
    context.close()


def test_pages_without_javascript(app, live_server, browser, all_types_form):
    context = browser.new_context(viewport=TABLET, java_script_enabled=False)
    page = context.new_page()
    form = FormPage(page, live_server).open("all-types", lang="de")
    assert not page.evaluate("'IntakeLogic' in window")  # the page's scripts do not run
    # Questions with a condition on this page are simply shown.
    assert page.get_by_label(label("email", "de"), exact=True).is_visible()
    assert page.get_by_text(FIELDS["minor_note"]["label"]["de"]).is_visible()
    # An answer to a question whose condition turns out false is not stored.
    form.type(label("email", "de"), "layla@example.org")
    reference = walk_through_pages(app, page, form, "de")
    [answers] = stored_answers(app, reference)
    assert "email" not in answers
    assert answers["contact"] == ["phone"]
    assert answers["needs"] == ["housing", "language", "work"]
    context.close()


def test_hidden_course_is_not_stored_without_javascript(app, live_server, browser, all_types_form):
    context = browser.new_context(viewport=TABLET, java_script_enabled=False)
    page = context.new_page()
    form = FormPage(page, live_server).open("all-types", lang="de")
    fill_page_1(form, "de")
    form.send("Weiter")
    fill_page_2(form, "de")
    form.send("Weiter")
    # All courses are offered (nothing filters them here), and the question is shown
    # although 'learning German' is not ticked.
    assert page.get_by_label(choice("course", "c1", "de"), exact=True).is_visible()
    form.choose(choice("needs", "work", "de"))
    form.choose(choice("german", "1", "de"))
    form.choose(choice("course", "c1", "de"))
    form.choose("Nein")
    form.type(label("interpreter_language", "de"), "Farsi")
    form.choose(label("consent", "de"))
    form.send("Antworten senden")
    [answers] = stored_answers(app, form.reference)
    assert answers["needs"] == ["work"]
    assert "course" not in answers
    assert "interpreter_language" not in answers
    context.close()


# --- (e) keyboard only, in Arabic -------------------------------------------------------


def focused(page) -> str:
    return page.evaluate("document.activeElement.id || document.activeElement.tagName")


def tab_to(page, element_id: str, limit: int = 40) -> None:
    for _ in range(limit):
        if focused(page) == element_id:
            return
        page.keyboard.press("Tab")
    raise AssertionError(f"Tab never reached #{element_id}; stuck at {focused(page)}")


def test_page_one_with_the_keyboard_only_in_arabic(app, live_server, browser, all_types_form):
    context = browser.new_context(viewport=TABLET, locale="ar")
    page = context.new_page()
    FormPage(page, live_server).open("all-types", lang="ar")
    assert page.get_attribute("html", "dir") == "rtl"

    tab_to(page, "full_name")
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline != "none"  # where the focus is can be seen
    page.keyboard.type("ليلى الحسن")
    page.keyboard.press("Tab")
    assert focused(page) == "age"
    page.keyboard.type("34")
    page.keyboard.press("Tab")
    assert focused(page) == "contact-1"  # into the radio group
    page.keyboard.press("Space")
    assert page.is_checked("#contact-1")
    assert hidden(page, "email")
    page.keyboard.press("ArrowDown")  # next choice: email
    assert page.is_checked("#contact-2")
    assert not hidden(page, "email")
    page.keyboard.press("Tab")
    assert focused(page) == "email"  # the question shown by the choice is next
    page.keyboard.type("layla@example.org")
    page.keyboard.press("Tab")
    assert focused(page) == "phone"
    tab_to(page, "municipality")
    page.keyboard.type("Ingelheim")
    assert page.input_value("#municipality") == "ingelheim-am-rhein"
    page.keyboard.press("Tab")
    assert focused(page) == "BUTTON"
    assert page.evaluate("document.activeElement.value") == "next"
    with page.expect_navigation():
        page.keyboard.press("Enter")

    assert page.locator("#progress-label").inner_text() == "الصفحة 2 من 3"
    assert page.locator("h2.page-title").inner_text() == FIELDS["p_family"]["label"]["ar"]
    # Enter in a text field sends the page too (the first button is Next, not Back).
    page.get_by_label(label("children", "ar"), exact=True).focus()
    page.keyboard.type("0")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.locator("#progress-label").inner_text() == "الصفحة 2 من 3"  # housing missing
    assert page.evaluate("document.activeElement.classList.contains('error-summary')")
    tab_to(page, "housing")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowDown")
    assert page.input_value("#housing") == "shared"
    tab_to(page, "rent")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.locator("#progress-label").inner_text() == "الصفحة 3 من 3"
    # Space ticks check boxes and the consent box.
    tab_to(page, "needs-1")
    page.keyboard.press("Space")
    assert page.is_checked("#needs-1")
    page.keyboard.press("Tab")
    assert focused(page) == "needs-2"
    context.close()


@pytest.mark.parametrize("scripts", [True, False], ids=["with-javascript", "without-javascript"])
def test_an_answer_that_opens_a_later_page_makes_send_next(app, live_server, browser, scripts):
    """Page 2 is due only after "yes": with scripts the button turns from "Send" to "Next"
    and back as the answer changes; without, "Send" shows page 2 all the same, with no
    error for questions never seen. Stored once, after page 2."""
    install_form(app, "car_pages.yaml")
    context = browser.new_context(locale="de-DE", java_script_enabled=scripts)
    page = context.new_page()
    page.goto(f"{live_server}/f/fahrt?district=mainz-bingen")
    button = page.locator(".form-nav button.primary")
    assert button.inner_text() == "Antworten senden"
    page.get_by_label("Ja").check()
    if scripts:
        assert button.inner_text() == "Weiter"
        page.get_by_label("Nein").check()
        assert button.inner_text() == "Antworten senden"
        page.get_by_label("Ja").check()
        assert button.inner_text() == "Weiter"
    button.click()
    page.wait_for_selector("#sitze")
    assert page.locator(".error-summary").count() == 0
    assert response_count(app) == 0
    page.fill("#sitze", "4")
    page.locator("button[value=send]").click()
    page.wait_for_selector(".reference")
    assert [answers["sitze"] for answers in stored_answers(app)] == [["4"]]
    context.close()


@pytest.mark.parametrize("scripts", [True, False], ids=["with-javascript", "without-javascript"])
def test_texts_insert_answers_in_the_browser_as_on_the_server(
    app, live_server, browser, screenshots, scripts
):
    """On the same page the browser fills a typed name into the texts at once (escaped,
    as text); on the next page, and without scripts, the server has put it in: both show
    the same."""
    install_form(app, "inserted.yaml")
    context = browser.new_context(locale="ar", java_script_enabled=scripts)
    page = context.new_page()
    page.goto(f"{live_server}/f/eingesetzt?district=mainz-bingen&lang=ar")
    page.fill("#name", "سمير <b>")
    page.fill("#alter", "34")
    welcome = page.locator("[data-insert=name]").first
    if scripts:
        assert welcome.inner_text() == "سمير <b>"  # as typed, as text
        assert page.get_by_text("كم عمرك يا سمير <b>؟").count() == 1
        page.screenshot(path=screenshots / "inserted-answer-ar.png")
    else:
        assert welcome.inner_text() == ""  # the server puts it in after "Next"
    page.locator("button[value=next]").click()
    page.wait_for_selector("#wunsch")
    title = page.locator("h2.page-title").inner_text()
    assert title == "أوشكت على الانتهاء يا سمير <b>"
    assert page.locator("[data-insert=alter]").inner_text() == "34"
    assert page.locator("b").count() == 0  # never markup
    page.locator("button[value=send]").click()
    page.wait_for_selector(".reference")
    assert stored_answers(app)[0]["name"] == ["سمير <b>"]
    context.close()


_VALUES = st.one_of(
    st.integers(-1000, 1000).map(str),
    st.floats(-1e6, 1e6, allow_nan=False).map(lambda x: f"{x:.3f}"),
    st.sampled_from(["", "x", "ليلى", "👍🏽a", "2.5", "-2.5", "0.125", "1" + "0" * 300, " 7 "]),
)
_CALLS = st.one_of(
    st.tuples(st.just("concat"), st.lists(_VALUES, min_size=1, max_size=4)),
    st.tuples(st.just("substr"), st.tuples(_VALUES, _VALUES, _VALUES)),
    st.tuples(st.just("substr"), st.tuples(_VALUES, _VALUES)),
    st.tuples(st.just("round"), st.tuples(_VALUES)),
    st.tuples(st.just("round"), st.tuples(_VALUES, st.integers(-2, 12).map(str))),
    st.tuples(st.sampled_from(["min", "max"]), st.lists(_VALUES, min_size=1, max_size=4)),
    st.tuples(st.just("string"), st.tuples(_VALUES)),
)


def test_the_grown_functions_agree_between_server_and_browser(live_server, browser):
    """concat, substr, string, round, min and max on generated answers: the browser's
    evaluator gives what the server's does (property-based, one page for all)."""
    page = browser.new_page()
    page.goto(f"{live_server}/f/volunteer")

    @settings(
        max_examples=25,
        deadline=None,
        derandomize=True,
        suppress_health_check=[HealthCheck.function_scoped_fixture],
    )
    @given(st.lists(_CALLS, min_size=20, max_size=20))
    def agree_on(calls):
        sources, answers = [], {}
        for number, (name, args) in enumerate(calls):
            refs = []
            for index, value in enumerate(args):
                key = f"v{number}_{index}"
                answers[key] = value
                refs.append(f"${{{key}}}")
            sources.append(f"{name}({', '.join(refs)})")
        trees = [parse(source) for source in sources]
        python = [evaluate(tree, lambda n: answers.get(n, "")) for tree in trees]
        in_browser = page.evaluate(JS_EVALUATE, [[tree, answers, "", None] for tree in trees])
        differ = [
            (source, py, js)
            for source, py, js in zip(sources, python, in_browser, strict=True)
            if not agree(py, js)
        ]
        assert differ == []

    agree_on()
    page.close()


@pytest.mark.parametrize("scripts", [True, False], ids=["with-javascript", "without-javascript"])
def test_a_calculation_in_the_browser_agrees_with_the_server(
    app, live_server, browser, screenshots, scripts
):
    """With scripts the household's size appears as the numbers are typed and opens the
    rooms question at five; without, the server shows the same after "Next"."""
    install_form(app, "household.yaml")
    context = browser.new_context(locale="ar", java_script_enabled=scripts)
    page = context.new_page()
    page.goto(f"{live_server}/f/haushalt?district=mainz-bingen&lang=ar")
    page.fill("#adults", "2")
    page.fill("#children", "3")
    size = page.locator("[data-insert=size]").first
    if scripts:
        assert size.inner_text() == "5"
        assert page.locator("#rooms").is_visible()  # 5 > 4
        page.fill("#children", "1")
        assert size.inner_text() == "3"
        assert not page.locator("#rooms").is_visible()
        page.fill("#children", "3")
        page.fill("#rooms", "3")
        page.screenshot(path=screenshots / "calculation-ar.png")
    page.locator("button[value=next]").click()
    page.wait_for_selector("#notes")
    if not scripts:
        page.locator("button[value=back]").click()  # the server has made the size now
        page.wait_for_selector("#rooms")
        assert page.locator("[data-insert=size]").first.inner_text() == "5"
        page.fill("#rooms", "3")
        page.locator("button[value=next]").click()
        page.wait_for_selector("#notes")
    assert page.locator("[data-insert=size]").inner_text() == "5"
    page.locator("button[value=send]").click()
    page.wait_for_selector(".reference")
    [stored] = stored_answers(app)
    assert (stored["size"], stored["rooms"]) == (["5"], ["3"])
    context.close()
