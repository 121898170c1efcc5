"""A household's members in Chromium (#21): entries added and removed with and without
JavaScript, in German and Arabic; texts and calculations over the entries kept current
as the server makes them; three members queued offline on a kiosk and sent once."""

from __future__ import annotations

import time

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from playwright.sync_api import expect

from intake.engine.expressions import evaluate, parse
from intake.extensions import db
from intake.storage.models import Answer
from tests.browser.test_kiosk_browser import cached_urls, wait_until
from tests.browser.test_logic_browser import agree
from tests.conftest import install_form, response_count

TEXTS = {
    "de": {
        "contact": "Ihr Name",
        "name": "Vorname",
        "add": "Haushaltsmitglied hinzufügen",
        "send": "Antworten senden",
        "entry": "Haushaltsmitglied",
    },
    "ar": {
        "contact": "اسمك",
        "name": "الاسم الأول",
        "add": None,  # Arabic words from the catalog: the button is found by data-add
        "send": "إرسال الإجابات",
        "entry": "فرد من الأسرة",
    },
}


def rows(app) -> list[tuple[str, int | None, str]]:
    with app.app_context():
        query = sa.select(Answer.field, Answer.entry, Answer.value).order_by(Answer.id)
        return [tuple(r) for r in db.session.execute(query)]


def entry(page, number: int):
    return page.locator(f'fieldset[data-entry="{number}"]')


@pytest.mark.parametrize("lang", ["de", "ar"])
def test_members_are_added_and_removed_on_the_page(app, live_server, browser, screenshots, lang):
    install_form(app, "members.yaml")
    t = TEXTS[lang]
    context = browser.new_context(viewport={"width": 412, "height": 915}, locale=lang)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(f"{live_server}/f/mitglieder?district=mainz-bingen&lang={lang}")
    page.get_by_label(t["contact"]).fill("Amal")
    expect(entry(page, 1)).to_be_visible()
    expect(entry(page, 2)).to_be_hidden()
    entry(page, 1).get_by_label(t["name"]).fill("Omar")
    entry(page, 1).locator('input[name="member_age-1"]').fill("41")
    add = page.locator("button[data-add]")
    if t["add"]:
        expect(add).to_have_text(t["add"])
    for number, (name, age) in enumerate((("Lina", "9"), ("Yusuf", "4")), start=2):
        add.click()
        expect(entry(page, number)).to_be_visible()
        # The new entry's first question has the focus: type on.
        expect(entry(page, number).get_by_label(t["name"])).to_be_focused()
        page.keyboard.type(name)
        entry(page, number).locator(f'input[name="member_age-{number}"]').fill(age)
    # Its own name inside the entry's question, as typed:
    expect(entry(page, 2).locator('[data-insert="member_name-2"]').first).to_have_text("Lina")
    # A question of entry 2 only for school-age children (6 to 17):
    expect(entry(page, 2).locator('[data-field="school-2"]')).to_be_visible()
    expect(entry(page, 1).locator('[data-field="school-1"]')).to_be_hidden()
    # count(${members}) + 1 and sum(${member_age}), as the server computes them:
    expect(page.locator('[data-insert="size"]').first).to_have_text("4")
    expect(page.locator('[data-insert="ages"]').first).to_have_text("54")
    # Remove Lina: Yusuf moves up into entry 2, entry 3 is gone.
    entry(page, 2).locator("button[data-remove]").click()
    assert errors == []
    expect(entry(page, 3)).to_be_hidden()
    expect(entry(page, 2).get_by_label(t["name"])).to_have_value("Yusuf")
    expect(entry(page, 2).locator('input[name="member_age-2"]')).to_have_value("4")
    expect(page.locator('[data-insert="size"]').first).to_have_text("3")
    entry(page, 2).get_by_role("radio").nth(1).check()  # relation: child
    page.screenshot(path=str(screenshots / f"repeat-{lang}.png"), full_page=True)
    page.get_by_role("button", name=t["send"]).click()
    expect(page.locator(".receipt")).to_be_visible()
    stored = rows(app)
    assert ("members", None, "2") in stored
    assert [(e, v) for f, e, v in stored if f == "member_name"] == [(1, "Omar"), (2, "Yusuf")]
    assert [(e, v) for f, e, v in stored if f == "relation"] == [(2, "child")]
    assert ("ages", None, "45") in stored
    context.close()


@pytest.mark.parametrize("lang", ["de", "ar"])
def test_members_are_added_and_removed_without_javascript(app, live_server, browser, lang):
    install_form(app, "members.yaml")
    t = TEXTS[lang]
    context = browser.new_context(java_script_enabled=False, locale=lang)
    page = context.new_page()
    page.goto(f"{live_server}/f/mitglieder?district=mainz-bingen&lang={lang}")
    page.get_by_label(t["contact"]).fill("Amal")
    entry(page, 1).get_by_label(t["name"]).fill("Omar")
    entry(page, 1).locator('input[name="member_age-1"]').fill("41")
    page.locator("button[data-add]").click()  # the page comes back with entry 2
    expect(entry(page, 2)).to_be_visible()
    expect(entry(page, 1).get_by_label(t["name"])).to_have_value("Omar")
    entry(page, 2).get_by_label(t["name"]).fill("Lina")
    entry(page, 2).locator('input[name="member_age-2"]').fill("9")
    page.locator("button[data-add]").click()
    entry(page, 3).get_by_label(t["name"]).fill("Ghost")
    entry(page, 3).locator("button[data-remove]").click()
    expect(entry(page, 3)).to_be_hidden()
    # Enter in a text box sends the page, not an entry's button before it.
    entry(page, 2).locator('input[name="member_age-2"]').press("Enter")
    expect(page.locator(".receipt")).to_be_visible()
    stored = rows(app)
    assert [(e, v) for f, e, v in stored if f == "member_name"] == [(1, "Omar"), (2, "Lina")]
    assert ("size", None, "3") in stored
    context.close()


@pytest.fixture
def kiosk_members(app, make_event) -> str:
    install_form(app, "members.yaml")
    return make_event(forms=("mitglieder",))


def test_a_kiosk_household_of_three_queued_offline_is_stored_once(
    app, live_server, browser, kiosk_members
):
    tablet = browser.new_context(viewport={"width": 1024, "height": 768}, locale="de-DE")
    page = tablet.new_page()
    page.goto(f"{live_server}/k/{kiosk_members}")
    wait_until(lambda: page.evaluate("navigator.serviceWorker.controller !== null"))
    wait_until(lambda: any("/f/mitglieder?lang=de" in url for url in cached_urls(page)))
    tablet.set_offline(True)
    page.get_by_role("link", name="Deutsch").click()
    page.get_by_label("Ihr Name").fill("Amal")
    for number, (name, age) in enumerate((("Omar", "41"), ("Lina", "9"), ("Yusuf", "4")), 1):
        if number > 1:
            page.get_by_role("button", name="Haushaltsmitglied hinzufügen").click()
        entry(page, number).get_by_label("Vorname").fill(name)
        entry(page, number).locator(f'input[name="member_age-{number}"]').fill(age)
    page.get_by_role("button", name="Antworten senden").click()
    expect(page.get_by_text("Ihre Antworten sind auf diesem Tablet gespeichert")).to_be_visible()
    assert response_count(app) == 0
    tablet.set_offline(False)
    wait_until(lambda: response_count(app) == 1, message="the queued household stored")
    time.sleep(1)  # a second send would arrive now
    assert response_count(app) == 1
    names = [(e, v) for f, e, v in rows(app) if f == "member_name"]
    assert names == [(1, "Omar"), (2, "Lina"), (3, "Yusuf")]
    tablet.close()


JS_AGGREGATE = """cases => cases.map(([tree, answers, entries]) =>
    window.IntakeLogic.evaluate(
        tree,
        name => Object.prototype.hasOwnProperty.call(answers, name) ? answers[name] : "",
        "",
        null,
        name => Object.prototype.hasOwnProperty.call(entries, name) ? entries[name] : null
    ))"""
_ENTRY_VALUES = st.sampled_from(["", "3", "-2", "0.5", "12", "abc", "1e3", " 7 ", "٣", "2.50"])
_AGGREGATES = st.sampled_from(
    [
        "count(${q})",
        "sum(${q})",
        "min(${q})",
        "max(${q})",
        "indexed-repeat(${q}, ${r}, ${n})",
        "sum(${q}) div count(${r})",
        "if(count(${q}) > 2, max(${q}), min(${q}))",
        "count(${other}) + sum(${other})",
    ]
)


def test_aggregates_over_entries_agree_between_server_and_browser(live_server, browser):
    """count, sum, min, max and indexed-repeat over generated entries: the browser's
    evaluator gives what the server's does (property-based, one page for all)."""
    page = browser.new_page()
    page.goto(f"{live_server}/f/volunteer")

    @settings(
        max_examples=25,
        deadline=None,
        derandomize=True,
        suppress_health_check=[HealthCheck.function_scoped_fixture],
    )
    @given(
        st.lists(
            st.tuples(
                _AGGREGATES,
                st.lists(_ENTRY_VALUES, max_size=6),
                st.integers(-1, 7).map(str),
                _ENTRY_VALUES,
            ),
            min_size=10,
            max_size=10,
        )
    )
    def agree_on(cases):
        trees, python, args = [], [], []
        for source, values, number, other in cases:
            answers = {"n": number, "other": other, "r": str(len(values))}
            entries = {"q": values, "r": [str(k) for k in range(1, len(values) + 1)]}
            tree = parse(source)
            trees.append(tree)
            python.append(evaluate(tree, lambda n, a=answers: a.get(n, ""), lookup_all=entries.get))
            args.append([tree, answers, entries])
        in_browser = page.evaluate(JS_AGGREGATE, args)
        differ = [
            (case, py, js)
            for case, py, js in zip(cases, python, in_browser, strict=True)
            if not agree(py, js)
        ]
        assert differ == []

    agree_on()
    page.close()


def test_entries_follow_the_number_typed_for_a_repeat_count(app, live_server, browser):
    install_form(app, "kinder.yaml")
    page = browser.new_page(locale="de")
    page.goto(f"{live_server}/f/kinder?district=mainz-bingen")
    expect(entry(page, 1)).to_be_hidden()
    page.get_by_label("Wie viele Kinder haben Sie?").fill("3")
    for number in (1, 2, 3):
        expect(entry(page, number)).to_be_visible()
        # Its position, inserted into its label as the server does it:
        expect(entry(page, number).locator(f'[data-insert="position-{number}"]')).to_have_text(
            str(number)
        )
    expect(entry(page, 4)).to_be_hidden()
    page.get_by_label("Wie viele Kinder haben Sie?").fill("1")
    expect(entry(page, 2)).to_be_hidden()
    entry(page, 1).locator('input[name="child_age-1"]').fill("6")
    page.get_by_role("button", name="Antworten senden").click()
    expect(page.locator(".receipt")).to_be_visible()
    assert [(e, v) for f, e, v in rows(app) if f == "child_age"] == [(1, "6")]
    assert ("child", None, "1") in rows(app)
    page.close()
