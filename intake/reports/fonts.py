"""Fonts for PDFs, shipped as Python packages (OFL), and a glyph coverage check.

Noto Sans covers Latin, Greek and Cyrillic; Noto Sans Arabic covers the Arabic
script including the Persian and Pashto letters; Noto Sans Ethiopic covers Tigrinya.
A character outside all three has no glyph: answers are passed through `printable`
(which marks such characters visibly), and the rendered text is checked once more so
a template or label that slipped through fails loudly instead of printing empty boxes.
"""

from __future__ import annotations

import importlib
import unicodedata
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from reportlab.pdfbase.ttfonts import TTFont

REPLACEMENT = "\ufffd"


@dataclass(frozen=True)
class FontFile:
    """A font the report may embed: its CSS family, package and file name."""

    family: str
    package: str
    #: The font file's path inside the package.
    filename: str

    @property
    def path(self) -> Path:
        module = importlib.import_module(self.package)
        return Path(module.__file__).parent / self.filename

    @property
    def url(self) -> str:
        """The name the stylesheet uses; the link callback maps it to the file."""
        return f"intake-font:{self.family}"


ARABIC = FontFile("IntakeArabic", "fontpkg_noto_sans_arabic", "files/NotoSansArabic[wdth,wght].ttf")
FONTS = (
    FontFile("IntakeSans", "fontpkg_noto_sans", "files/NotoSans[wdth,wght].ttf"),
    ARABIC,
    FontFile(
        "IntakeEthiopic",
        "justmytype_intl_africa",
        "fonts/ofl/notosansethiopic/NotoSansEthiopic[wdth,wght].ttf",
    ),
)


class MissingGlyphError(RuntimeError):
    """Text that no embedded font can draw."""

    def __init__(self, chars: set[str]):
        self.chars = chars
        names = ", ".join(f"U+{ord(c):04X} {unicodedata.name(c, '?')}" for c in sorted(chars))
        super().__init__(f"no embedded font has a glyph for: {names}")


@cache
def coverage() -> frozenset[int]:
    """Every code point some embedded font can draw."""
    points: set[int] = set()
    for font in FONTS:
        points.update(TTFont(font.family, str(font.path)).face.charToGlyph)
    return frozenset(points)


def _invisible(ch: str) -> bool:
    """Characters that draw nothing and need no glyph (controls, joiners, marks of format)."""
    return ch in "\n\r\t " or unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp")


def printable(text: str) -> str:
    """`text` with every character no font can draw replaced by a visible U+FFFD."""
    covered = coverage()
    return "".join(ch if ord(ch) in covered or _invisible(ch) else REPLACEMENT for ch in text)


def check(text: str) -> None:
    """Raise MissingGlyphError when `text` has characters without a glyph."""
    covered = coverage()
    missing = {ch for ch in text if ord(ch) not in covered and not _invisible(ch)}
    if missing:
        raise MissingGlyphError(missing)


def font_faces_css() -> str:
    """@font-face rules for every embedded font."""
    return "\n".join(
        f'@font-face {{ font-family: "{f.family}"; src: url("{f.url}"); }}' for f in FONTS
    )
