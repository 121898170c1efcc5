"""The PDF summary of a form with a repeat: its questions counted over entries.

Households sent over HTTP (tests/forms/members.yaml): in Mainz-Bingen one of three
members and one of two, in Bad Kreuznach one of four. A question inside the repeat
has an answer per entry, so the summary counts entries (not responses), says so, and
gives the entries per district; free text inside a repeat follows the rules of free
text elsewhere (personal answers only in the contact list, sensitive ones nowhere).
A page image lands in test-artifacts/repeat-summary/ for people to look at.
"""

from __future__ import annotations

import io
import re
import shutil
import subprocess
import unicodedata
from pathlib import Path

import pytest
from pypdf import PdfReader

from intake.engine.definition import load_file
from intake.extensions import db
from intake.storage.forms import import_definition
from tests.conftest import form_payload, install_form

ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts" / "repeat-summary"
FORMS = Path(__file__).parent / "forms"

#: (district, members as (name, age, relation, goes to school)).
HOUSEHOLDS = [
    (
        "mainz-bingen",
        [
            ("Omar", "41", "partner", None),
            ("Lina", "9", "child", "yes"),
            ("Yusuf", "4", "child", None),
        ],
    ),
    ("mainz-bingen", [("Samira", "38", "partner", None), ("Karim", "12", "child", "no")]),
    (
        "bad-kreuznach",
        [
            ("Dawit", "15", "child", "yes"),
            ("Selam", "11", "child", "yes"),
            ("Abel", "7", "child", "yes"),
            ("Hana", "67", "other", None),
        ],
    ),
]
NAMES = [name for _d, members in HOUSEHOLDS for name, *_rest in members]


def pdf_pages(data: bytes) -> list[str]:
    """Each page's text as a reader sees it: NFKC-normalised, whitespace collapsed."""
    pages = PdfReader(io.BytesIO(data)).pages
    return [" ".join(unicodedata.normalize("NFKC", p.extract_text()).split()) for p in pages]


def pdf_text(data: bytes) -> str:
    return " ".join(pdf_pages(data))


def send_households(client) -> None:
    for number, (district, members) in enumerate(HOUSEHOLDS, start=1):
        url = f"/f/mitglieder?district={district}"
        answers = {"contact": f"Kontakt {number}", "members": str(len(members)), "nav": "send"}
        for entry, (name, age, relation, school) in enumerate(members, start=1):
            answers |= {
                f"member_name-{entry}": name,
                f"member_age-{entry}": age,
                f"relation-{entry}": relation,
            }
            if school:
                answers[f"school-{entry}"] = school
        page = client.get(url).get_data(as_text=True)
        sent = client.post(url, data=form_payload(page, answers))
        assert sent.status_code == 303, sent.get_data(as_text=True)


@pytest.fixture
def households(app, client):
    install_form(app, "members.yaml")
    send_households(client)


def summary_pdf(client, district: str = "mainz-bingen", query: str = "") -> bytes:
    response = client.get(f"/admin/reports/{district}/mitglieder.pdf?lang=en{query}")
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == "application/pdf"
    return response.data


def rows(text: str) -> list[str]:
    """The rows of the count tables in `text`: an answer, its counts and its percent
    (a table may go on on the next page, under the page's header)."""
    return re.findall(r"(?:Partner/in|Kind|Andere|Yes|No)(?: [0-9]+)+ [0-9]+\.[0-9]", text)


def section(text: str, start: str, end: str | None = None) -> str:
    begin = text.index(start)
    return text[begin : text.index(end, begin) if end else None]


def test_relation_is_counted_over_the_entries_of_the_district(
    households, client, create_user, auth
):
    create_user("mz@example.org", districts=("mainz-bingen",))
    auth.login("mz@example.org")
    text = pdf_text(summary_pdf(client))
    assert "Number of responses 2" in text, text
    # The repeat's own section: its entries, and that it counts entries.
    repeat = section(text, "Counted over the", "Appendix")
    assert repeat.startswith("Counted over the 5 entries of “Haushaltsmitglied” in 2 responses.")
    assert "percentages are of all entries, not of the responses" in repeat
    assert "Number of entries 5 Responses with at least one entry 2" in repeat
    # Partner/in twice, Kind three times: of the five entries, not of the two responses.
    relation = section(repeat, "Beziehung", "Geht")
    assert "Answered for 5 of 5 entries" in relation, relation
    assert rows(relation) == ["Partner/in 2 40.0", "Kind 3 60.0", "Andere 0 0.0"], relation
    # Asked only of members 6 to 17: two of the five entries answered it.
    school = section(repeat, "Geht ... zur Schule?")
    assert "Answered for 2 of 5 entries" in school, school
    assert rows(school) == ["Yes 1 20.0", "No 1 20.0"], school
    # Bad Kreuznach's household (four entries: three children, one "Andere") is not
    # counted: not in the entries above, nor in the relations (Kind 3, Andere 0).
    assert "Counted over the 9" not in text
    assert "Bad Kreuznach" not in text
    # The form has no choice questions outside the repeat: no section of them (whose
    # percentages would be of responses), and no entries counted as responses.
    assert "Answers to the choice questions" not in text
    assert "Answered by" not in text


def test_a_summary_of_both_districts_gives_entries_per_district(
    households, client, create_user, auth
):
    create_user("joint@example.org", districts=("mainz-bingen", "bad-kreuznach"))
    auth.login("joint@example.org")
    data = summary_pdf(client, "all")
    text = pdf_text(data)
    repeat = section(text, "Counted over the", "Appendix")
    # Columns: Bad Kreuznach, Mainz-Bingen, total.
    assert repeat.startswith("Counted over the 9 entries of “Haushaltsmitglied” in 3 responses.")
    assert re.search(r"Number of entries 4 5 9 Responses with at least one entry 1 2 3", repeat)
    relation = section(repeat, "Beziehung", "Geht")
    assert "Answered for 9 of 9 entries" in relation
    assert rows(relation) == ["Partner/in 0 2 2 22.2", "Kind 3 3 6 66.7", "Andere 1 0 1 11.1"]
    write_page_image(data, "Counted over the")


def test_one_entry_and_one_response_read_in_the_singular(app, client, create_user, auth):
    install_form(app, "members.yaml")
    page = client.get("/f/mitglieder?district=mainz-bingen").get_data(as_text=True)
    answers = {"contact": "Amal", "members": "1", "member_name-1": "Omar", "member_age-1": "41"}
    sent = client.post(
        "/f/mitglieder?district=mainz-bingen",
        data=form_payload(page, {**answers, "nav": "send"}),
    )
    assert sent.status_code == 303
    create_user("mz@example.org", districts=("mainz-bingen",))
    auth.login("mz@example.org")
    text = pdf_text(summary_pdf(client))
    assert "Counted over the 1 entry of “Haushaltsmitglied” in 1 response." in text, text
    assert "Beziehung Answered for 0 of 1 entry" in text  # nobody gave Omar's relation


def test_free_text_inside_the_repeat_follows_the_rules_of_all_free_text(
    households, client, create_user, auth
):
    """The first names (free text, not marked personal) are listed like any such answer."""
    create_user("mz@example.org", districts=("mainz-bingen",))
    auth.login("mz@example.org")
    text = pdf_text(summary_pdf(client))
    appendix = section(text, "Appendix: free-text answers")
    assert "Haushaltsmitglied – Vorname Omar Lina Yusuf Samira Karim" in appendix, appendix
    assert "Dawit" not in text  # Bad Kreuznach's
    plain = pdf_text(summary_pdf(client, query="&appendix=none"))
    assert not [name for name in NAMES if name in plain]


@pytest.fixture
def personal_households(app, client):
    """The household form with the first name personal and the schooling sensitive."""
    definition = load_file(FORMS / "members.yaml")
    children = {f["name"]: f for f in definition["fields"][1]["fields"]}
    children["member_name"]["personal"] = True
    children["school"]["sensitive"] = True
    with app.app_context():
        import_definition(definition)
        db.session.commit()
    send_households(client)


def test_personal_and_sensitive_answers_inside_the_repeat_stay_out(
    personal_households, client, create_user, auth
):
    create_user("mz@example.org", districts=("mainz-bingen",))
    create_user("viewer@example.org", role="viewer", districts=("mainz-bingen",))
    auth.login("mz@example.org")
    text = pdf_text(summary_pdf(client))  # with the free-text appendix
    assert not [name for name in NAMES if name in text], text
    assert "Vorname" not in text
    assert "Schule" not in text  # a sensitive question is never counted or listed
    assert "Counted over the 5 entries" in text
    # The contact list (for roles that see personal data) names the members.
    roster = section(pdf_text(summary_pdf(client, query="&appendix=roster")), "contact list")
    assert "Haushaltsmitglied – Vorname" in roster
    assert re.search(r"Omar, Lina, Yusuf", roster), roster
    assert "Schule" not in roster
    assert "Dawit" not in roster
    auth.logout()
    auth.login("viewer@example.org")
    viewed = pdf_text(summary_pdf(client))
    assert not [name for name in NAMES if name in viewed]
    forbidden = client.get("/admin/reports/mainz-bingen/mitglieder.pdf?lang=en&appendix=roster")
    assert forbidden.status_code == 403


def write_page_image(data: bytes, marker: str) -> None:
    """The page that shows `marker`, as PNG (pdftoppm), for people to look at."""
    pdftoppm = shutil.which("pdftoppm")
    if pdftoppm is None:
        pytest.skip("pdftoppm (Debian poppler-utils) is not installed; no page image")
    number = next(i for i, page in enumerate(pdf_pages(data), start=1) if marker in page)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    pdf = ARTIFACTS / "summary.pdf"
    pdf.write_bytes(data)
    for old in ARTIFACTS.glob("page*.png"):
        old.unlink()
    prefix = ARTIFACTS / "page"
    subprocess.run(
        [pdftoppm, "-png", "-r", "60", "-f", str(number), "-l", str(number), str(pdf), str(prefix)],
        check=True,
    )
    images = sorted(ARTIFACTS.glob("page*.png"))
    assert len(images) == 1
    assert images[0].stat().st_size > 5_000
