"""The link builder and QR posters: the link, message texts, posters whose code decodes
to exactly the link, and precise messages for wrong input."""

from __future__ import annotations

import io
import re
import subprocess
from urllib.parse import urlencode, urlsplit

import pytest
from pypdf import PdfReader

from tests.conftest import hidden

zxingcpp = pytest.importorskip("zxingcpp", reason="zxing-cpp decodes the QR codes (test extra)")


@pytest.fixture
def coordinator(app, client, create_user, auth):
    app.config["PUBLIC_URL"] = "https://intake.example"
    create_user("mz@example.org", districts=("mainz-bingen",))
    auth.login("mz@example.org")
    return client


def build(client, **params):
    query = {"form": "volunteer", "make": "1", **params}
    return client.get("/admin/links?" + urlencode(query, doseq=True))


def test_link_with_district_language_campaign_and_prefill(coordinator):
    page = build(
        coordinator,
        district="mainz-bingen",
        lang="ar",
        src="poster-kirn",
        p_email="anna@example.org",
        msg=["de", "ar"],
    )
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    link = (
        "https://intake.example/f/volunteer?lang=ar&amp;district=mainz-bingen"
        "&amp;src=poster-kirn&amp;email=anna@example.org"
    )
    assert f'href="{link}"' in html
    # Message texts: the form's title in each language, then the link.
    title = "Ehrenamtlich helfen und Integrationslotse werden"
    assert f"{title}: bitte beantworten Sie hier ein paar Fragen:" in html
    assert 'lang="ar" dir="rtl"' in html
    assert "التطوع معنا" in html
    # The link opens the form as promised: Arabic, the district, the address filled in.
    path = urlsplit(link.replace("&amp;", "&"))
    form = coordinator.application.test_client().get(f"{path.path}?{path.query}")
    text = form.get_data(as_text=True)
    assert form.status_code == 200
    assert 'lang="ar"' in text
    assert hidden(text, "district") == "mainz-bingen"
    assert hidden(text, "src") == "poster-kirn"
    assert 'value="anna@example.org"' in text


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"src": "poster kirn!"}, "Verwenden Sie nur Buchstaben, Ziffern"),
        ({"src": "event-3"}, "Verwenden Sie nur Buchstaben, Ziffern"),
        ({"district": "bad-kreuznach"}, "Bitte wählen Sie eine der vorgegebenen Antworten."),
        ({"lang": "xx"}, "Bitte wählen Sie eine der vorgegebenen Antworten."),
        ({"p_first_name": "Anna"}, "Diese Frage kann nicht vorausgefüllt werden."),
        ({"p_email": "a" * 201}, "Höchstens 200 Zeichen."),
    ],
)
def test_wrong_input_gets_a_precise_message(coordinator, params, message):
    page = build(coordinator, **{"district": "mainz-bingen", **params})
    assert page.status_code == 422
    html = page.get_data(as_text=True)
    summary = html.split('role="alert"', 1)[1].split("</div>", 1)[0]
    assert message in summary
    if "p_first_name" not in params:  # a question that is not on the page has no input
        assert 'aria-invalid="true"' in html
    assert "Der Link" not in html  # no half-made result


def test_unknown_form_is_a_message_not_an_error(coordinator):
    page = coordinator.get("/admin/links?form=nope&make=1")
    assert page.status_code == 422
    assert "Bitte wählen Sie eine der vorgegebenen Antworten." in page.get_data(as_text=True)


def poster_image(pdf: bytes, tmp_path):
    from PIL import Image

    (tmp_path / "poster.pdf").write_bytes(pdf)
    subprocess.run(
        [
            "pdftoppm",
            "-r",
            "100",
            "-png",
            "-singlefile",
            str(tmp_path / "poster.pdf"),
            str(tmp_path / "poster"),
        ],
        check=True,
    )
    return Image.open(tmp_path / "poster.png")


@pytest.mark.parametrize(("size", "points"), [("a4", (595, 842)), ("a3", (842, 1191))])
def test_poster_qr_code_decodes_to_exactly_the_link(coordinator, tmp_path, size, points):
    params = {"district": "mainz-bingen", "src": "poster-kirn", "msg": ["de", "ar", "ti", "uk"]}
    page = build(coordinator, **params).get_data(as_text=True)
    link = "https://intake.example/f/volunteer?district=mainz-bingen&src=poster-kirn"
    assert f'href="{link.replace("&", "&amp;")}"' in page
    # The builder's own poster button.
    button = re.search(rf'href="(/admin/posters/volunteer\.pdf\?[^"]*size={size}[^"]*)"', page)
    response = coordinator.get(button.group(1).replace("&amp;", "&"))
    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    reader = PdfReader(io.BytesIO(response.data))
    assert len(reader.pages) == 1
    box = reader.pages[0].mediabox
    assert (round(float(box.width)), round(float(box.height))) == points
    text = reader.pages[0].extract_text()
    assert "Scannen Sie den Code" in text
    assert "Скануйте код" in text
    decoded = [r.text for r in zxingcpp.read_barcodes(poster_image(response.data, tmp_path))]
    assert decoded == [link]


def test_poster_refuses_too_many_languages_and_wrong_size(coordinator):
    many = {"district": "mainz-bingen", "msg": ["de", "en", "ar", "fa", "ps", "tr", "uk"]}
    response = coordinator.get("/admin/posters/volunteer.pdf?" + urlencode(many, doseq=True))
    assert response.status_code == 422
    assert "höchstens 6 Sprachen" in response.get_data(as_text=True)
    wrong = coordinator.get("/admin/posters/volunteer.pdf?district=mainz-bingen&size=a0")
    assert wrong.status_code == 422


def test_poster_of_a_form_or_district_not_offered_to_the_user(coordinator):
    assert coordinator.get("/admin/posters/nope.pdf").status_code == 404
    other = coordinator.get("/admin/posters/volunteer.pdf?district=bad-kreuznach")
    assert other.status_code == 422
