"""Every script in the PDF: answers in all twelve languages come out as they were written.

Text is extracted with pypdf, NFKC-normalised (presentation forms -> letters), with
Arabic tashkeel and ZWNJ stripped (the PDF does not draw tashkeel). Page images for the
right-to-left languages and Tigrinya land in test-artifacts/pdf/ for people to look at.
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
from reportlab.pdfbase.ttfonts import TTFont

from intake.reports import fonts, shaping
from tests.conftest import VOLUNTEER_ANSWERS

ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts" / "pdf"

#: One answer per language, as a volunteer or newcomer might write it.
SAMPLES = {
    "de": "Ich möchte beim Deutschkurs in Ingelheim helfen",
    "en": "I would like to help with homework on Tuesdays",
    "ar": "أحتاج إلى مساعدة في البحث عن سكن في بنغن",
    "fa": "من به کلاس زبان آلمانی و کمک در اداره نیاز دارم",
    # Every Pashto letter without a presentation form: ښ ګ ټ ځ څ ډ ړ ږ ڼ ۍ
    "ps": "زه ټولګي ته ځم او ډېره ښه مرسته غواړم څو ګټه وکړم وږی یم ډوډۍ او کاڼی",
    "tr": "Çocuklarım için okul ve kreş yeri arıyorum",
    "ku": "Ez dixwazim di qursa zimanê almanî de beşdar bibim",
    "uk": "Мені потрібна допомога з пошуком житла в Бінгені",
    "ru": "Мне нужна помощь с документами и поиском работы",
    "so": "Waxaan u baahanahay caawimo xagga guriga iyo shaqada",
    "ti": "ንቋንቋ ጀርመን ትምህርቲ ክመሃር ደልየ ኣለኹ",
    "fr": "Je voudrais apprendre l’allemand et trouver un travail",
}
TASHKEEL = re.compile("[\u064b-\u065f\u0670\u200c]")


def normalised(text: str) -> str:
    text = TASHKEEL.sub("", unicodedata.normalize("NFKC", text))
    return " ".join(text.split())


@pytest.fixture
def mainz_login(create_user, auth):
    create_user("mz@example.org", districts=("mainz-bingen",))
    return lambda: auth.login("mz@example.org")


@pytest.mark.parametrize("lang", sorted(SAMPLES))
def test_answer_in_every_language_is_extracted_as_written(client, submit, mainz_login, lang):
    sample = SAMPLES[lang]
    answer = submit("volunteer", dict(VOLUNTEER_ANSWERS, experience=sample), f"?lang={lang}")
    assert answer.status_code == 303
    mainz_login()
    response = client.get("/admin/reports/mainz-bingen/volunteer.pdf?lang=de&appendix=text")
    assert response.status_code == 200
    reader = PdfReader(io.BytesIO(response.data))
    text = normalised("\n".join(page.extract_text() for page in reader.pages))
    assert normalised(sample) in text
    if lang == "ps":
        # Joined: each dual-joining Pashto letter of the sample stands where it joins its
        # neighbours, so the PDF must draw it with a joined form's glyph, whose advance
        # differs from the letter's isolated glyph (what an unjoined PDF draws).
        isolated = TTFont("IntakeArabicWidths", str(fonts.ARABIC.path)).face.charWidths
        drawn = _drawn_widths(reader)
        for letter in "ښګټځڼ":
            assert letter in drawn, (letter, sorted(drawn))
            assert any(abs(w - isolated[ord(letter)]) > 1 for w in drawn[letter]), letter
    if lang in ("ar", "fa", "ps", "ti"):
        _write_page_images(response.data, lang, sample)


def _drawn_widths(reader: PdfReader) -> dict[str, list[float]]:
    """For each text a glyph of the PDF reads as (its ToUnicode entry), the glyph widths."""
    widths: dict[str, list[float]] = {}
    for page in reader.pages:
        for font in page["/Resources"]["/Font"].values():
            font = font.get_object()
            if "/ToUnicode" not in font or "/Widths" not in font:
                continue
            first = int(font.get("/FirstChar", 0))
            table = [float(w) for w in font["/Widths"]]
            cmap = font["/ToUnicode"].get_object().get_data().decode("latin-1")
            cmap = cmap[cmap.index("beginbfchar") : cmap.index("endbfchar")]
            for code, target in re.findall(r"<([0-9A-F]{2})> <([0-9A-F]*)>", cmap):
                text = bytes.fromhex(target).decode("utf-16-be")
                widths.setdefault(text, []).append(table[int(code, 16) - first])
    return widths


def _write_page_images(data: bytes, lang: str, sample: str) -> None:
    """The pages as PNG (pdftoppm) for people to look at; the answer's page must not be blank."""
    pdftoppm = shutil.which("pdftoppm")
    if pdftoppm is None:
        pytest.skip("pdftoppm (Debian poppler-utils) is not installed; no page images")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    pdf = ARTIFACTS / f"summary-{lang}.pdf"
    pdf.write_bytes(data)
    for old in ARTIFACTS.glob(f"summary-{lang}-*.png"):
        old.unlink()
    subprocess.run(
        [pdftoppm, "-r", "110", "-png", str(pdf), str(ARTIFACTS / f"summary-{lang}")], check=True
    )
    pages = sorted(ARTIFACTS.glob(f"summary-{lang}-*.png"))
    assert pages
    assert all(p.stat().st_size > 10_000 for p in pages)


def _carrier_glyphs(word: str) -> list[str]:
    """The HarfBuzz glyph names that carry the letters of a word, in logical order."""
    font = TTFont("IntakeArabicProbe", str(fonts.ARABIC.path))
    shaped = shaping.shape_visual(word, font, visual=False)
    hb_font = shaping._hb_font(font)
    names = []
    for code, data in zip(shaped, shaped.__shapeData__, strict=True):
        if data.x_advance:
            names.append(hb_font.glyph_to_string(font.face.charToGlyph[ord(code)]))
    return names[::-1]  # drawn right to left


@pytest.mark.parametrize(
    ("word", "forms"),
    [
        ("ښښښ", (".init", ".medi", ".fina")),
        ("ګګګ", (".init", ".medi", ".fina")),
        ("ټټټ", (".init", ".medi", ".fina")),
        ("ځځځ", (".init", ".medi", ".fina")),
        ("څڅڅ", (".init", ".medi", ".fina")),
        ("ڼڼڼ", (".init", ".medi", ".fina")),
        ("بډ", (".init", ".fina")),
        ("بړ", (".init", ".fina")),
        ("بږ", (".init", ".fina")),
        ("بۍ", (".init", ".fina")),
    ],
)
def test_pashto_letters_are_drawn_in_their_joined_forms(word, forms):
    names = _carrier_glyphs(word)
    assert len(names) == len(forms), names
    for name, form in zip(names, forms, strict=True):
        assert form in name, (word, names)
