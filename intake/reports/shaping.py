"""Arabic-script shaping for PDFs with HarfBuzz, so Pashto (and every other) letter joins.

xhtml2pdf joins Arabic letters with arabic_reshaper, which writes Unicode presentation
forms. The Pashto letters ښ ګ ټ ځ څ ډ ړ ږ ڼ ۍ have no presentation forms, so they came
out unjoined, and Noto Sans Arabic draws many letters as a skeleton plus dots that only
OpenType positioning places correctly. Here HarfBuzz (uharfbuzz) shapes instead:

1. xhtml2pdf's reshaper is switched off, so letters reach the drawing step as written.
2. When ReportLab draws a string in the Arabic font (PDFTextObject._formatText), each
   right-to-left word -- which xhtml2pdf has already put in visual order -- is turned
   back to logical order and shaped by HarfBuzz. The glyphs become a ReportLab ShapedStr
   (glyph plus x/y offsets), which ReportLab draws with the offsets.
3. Widths used for line breaking are the shaped widths, so lines end where they should.
4. A glyph has no character of its own (a joined form, a dot); it is drawn through a
   private-use code that points at the glyph, and the PDF's ToUnicode map sends that
   code back to the letters it stands for, so copying or extracting text gives the
   letters as written. Dots and other parts of a letter map to an empty string.

Only our own Arabic font (FONT_FAMILY) is shaped; everything else is drawn as before.
"""

from __future__ import annotations

import threading
import unicodedata
from contextlib import contextmanager

import uharfbuzz as hb
from reportlab.pdfbase import pdfmetrics, ttfonts
from reportlab.pdfbase.ttfonts import ShapeData, ShapedStr
from reportlab.pdfgen import textobject

#: What a glyph that is only part of a letter (a dot, a hamza) reads as: nothing, as
#: the letter it belongs to is read from the glyph that carries it.
PART_OF_LETTER = ""
#: Private-use codes for glyphs without a character; ReportLab's own shaper starts at
#: U+E000, so ours keep clear of it.
_PRIVATE_FIRST, _PRIVATE_LAST = 0xF000, 0xF8FF
_lock = threading.RLock()
#: (font file, glyph id, letters) -> private code, and private code -> letters, shared
#: by every render in this process: the same code always means the same thing.
_codes: dict[tuple[str, int, str], int] = {}
_meaning: dict[int, str] = {}
_hb_fonts: dict[str, hb.Font] = {}


def is_rtl_letter(ch: str) -> bool:
    """Letters and marks of the right-to-left scripts (what a shaped word consists of)."""
    return unicodedata.bidirectional(ch) in ("AL", "R") or (
        unicodedata.bidirectional(ch) == "NSM" and "\u0600" <= ch <= "\u08ff"
    )


def _words(text: str) -> list[tuple[bool, str]]:
    """Cut a visual-order string into right-to-left words and everything else."""
    runs: list[tuple[bool, str]] = []
    for ch in text:
        rtl = is_rtl_letter(ch) or (ch in "\u200c\u200d" and bool(runs) and runs[-1][0])
        if runs and runs[-1][0] == rtl:
            runs[-1] = (rtl, runs[-1][1] + ch)
        else:
            runs.append((rtl, ch))
    return runs


def _hb_font(font: ttfonts.TTFont) -> hb.Font:
    key = font.face.filename
    found = _hb_fonts.get(key)
    if found is None:
        found = _hb_fonts[key] = hb.Font(hb.Face(hb.Blob(font.face._ttf_data)))
    return found


def _private_code(font: ttfonts.TTFont, gid: int, letters: str, advance: int) -> int:
    """A code that draws glyph `gid` of `font` and reads back as `letters`."""
    key = (font.face.filename, gid, letters)
    code = _codes.get(key)
    if code is None:
        code = _PRIVATE_FIRST + len(_codes)
        if code > _PRIVATE_LAST:
            raise RuntimeError("too many distinct shaped glyphs for one process")
        _codes[key] = code
        _meaning[code] = letters
        _glyph_of[code] = (gid, advance)
    return code


#: private code -> (glyph id, advance), to register the code in every face that draws it.
_glyph_of: dict[int, tuple[int, int]] = {}
#: (font file, word) -> its glyphs; words recur all through a report.
_word_cache: dict[tuple[str, str], list[tuple[int, ShapeData]]] = {}
_WORD_CACHE_SIZE = 50_000


def _shape_word(font: ttfonts.TTFont, logical: str) -> list[tuple[int, ShapeData]]:
    """HarfBuzz glyphs of one right-to-left word: (code, shape data) in visual order."""
    key = (font.face.filename, logical)
    glyphs = _word_cache.get(key)
    if glyphs is None:
        glyphs = _shape_word_uncached(font, logical)
        if len(_word_cache) >= _WORD_CACHE_SIZE:
            _word_cache.clear()
        _word_cache[key] = glyphs
    face = font.face
    for code, _data in glyphs:
        found = _glyph_of.get(code)
        if found is not None and face.charToGlyph.get(code) != found[0]:
            face.charToGlyph[code] = found[0]
            face.charWidths[code] = found[1]
    return glyphs


def _shape_word_uncached(font: ttfonts.TTFont, logical: str) -> list[tuple[int, ShapeData]]:
    hbf = _hb_font(font)
    buf = hb.Buffer()
    buf.add_str(logical)
    buf.direction = "rtl"
    buf.script = "Arab"
    buf.cluster_level = hb.BufferClusterLevel.MONOTONE_CHARACTERS
    hb.shape(hbf, buf, {"kern": True, "liga": True})
    infos, positions = buf.glyph_infos, buf.glyph_positions
    clusters = sorted({info.cluster for info in infos})
    ends = {
        c: (clusters[i + 1] if i + 1 < len(clusters) else len(logical))
        for i, c in enumerate(clusters)
    }
    # The glyph that carries a cluster's letters: the first one with an advance.
    carrier: dict[int, int] = {}
    for index, (info, pos) in enumerate(zip(infos, positions, strict=True)):
        if pos.x_advance and info.cluster not in carrier:
            carrier[info.cluster] = index
    out = []
    scale = font.face._pdfScale
    for index, (info, pos) in enumerate(zip(infos, positions, strict=True)):
        gid = info.codepoint
        letters = logical[info.cluster : ends[info.cluster]]
        own = carrier.get(info.cluster, index) == index
        chars = font.face.glyphToChar.get(gid, [])
        single = own and len(letters) == 1 and any(chr(c) == letters for c in chars)
        presentation = own and any(
            unicodedata.normalize("NFKC", chr(c)) == letters and c >= 0xFB50 for c in chars
        )
        advance = scale(pos.x_advance)
        if single:
            code = ord(letters)
        elif presentation:
            code = next(
                c for c in chars if c >= 0xFB50 and unicodedata.normalize("NFKC", chr(c)) == letters
            )
        else:
            code = _private_code(font, gid, letters if own else PART_OF_LETTER, advance)
        width = _glyph_of[code][1] if code in _glyph_of else font.face.charWidths[code]
        data = ShapeData(
            info.cluster,
            advance,
            scale(pos.y_advance),
            scale(pos.x_offset),
            scale(pos.y_offset),
            width,
        )
        out.append((code, data))
    return _bases_first(out)


def _bases_first(glyphs: list[tuple[int, ShapeData]]) -> list[tuple[int, ShapeData]]:
    """Within each cluster, the glyph with an advance first and its marks after it.

    HarfBuzz puts a right-to-left letter's marks (dots, hamza) before the letter, at
    offsets from the same pen position. Drawn after it, they need the letter's advance
    taken off their x offset. ReportLab cannot start a string with a raised glyph, and
    a mark is one, so a string must begin with a letter.
    """
    out: list[tuple[int, ShapeData]] = []
    index = 0
    while index < len(glyphs):
        cluster = glyphs[index][1].cluster
        end = index
        while end < len(glyphs) and glyphs[end][1].cluster == cluster:
            end += 1
        group = glyphs[index:end]
        marks = []
        while group and not group[0][1].x_advance and any(d.x_advance for _c, d in group):
            marks.append(group.pop(0))
        if marks:
            advance = group[0][1].x_advance
            out.append(group[0])
            out.extend((c, d._replace(x_offset=d.x_offset - advance)) for c, d in marks)
            out.extend(group[1:])
        else:
            out.extend(group)
        index = end
    return out


def shape_visual(text: str, font: ttfonts.TTFont, visual: bool = True) -> str:
    """`text` with its right-to-left words shaped, as a ShapedStr in drawing order.

    `visual`: the words are in visual order already (as xhtml2pdf draws them);
    otherwise in logical order (as it measures them).
    """
    codes: list[str] = []
    data: list[ShapeData] = []
    face = font.face
    # ReportLab groups glyphs by cluster and stops at a negative one, so every glyph
    # gets a running cluster number (a word's glyphs keep theirs apart).
    for rtl, run in _words(text):
        if rtl:
            base = len(codes)
            for code, shape in _shape_word(font, run[::-1] if visual else run):
                codes.append(chr(code))
                data.append(shape._replace(cluster=base + shape.cluster))
        else:
            for ch in run:
                width = face.charWidths.get(ord(ch), face.defaultWidth)
                data.append(ShapeData(len(codes), width, 0, 0, 0, width))
                codes.append(ch)
    return ShapedStr("".join(codes), shapeData=data)


def _needs_shaping(text: object, font: object) -> bool:
    return (
        isinstance(text, str)
        and not isinstance(text, ShapedStr)
        and isinstance(font, ttfonts.TTFont)
        and font.face.filename in _shaped_files
        and any(is_rtl_letter(ch) for ch in text)
    )


#: Files of the fonts to shape, set while a render runs.
_shaped_files: set[str] = set()


#: (font name, visual text) -> shaped advance (1/1000 em) of what was just drawn.
#: xhtml2pdf measures a string again right after drawing it, in visual order, to move
#: on; that measurement must be the drawn width, not the width of the string read as
#: if it were in logical order.
_drawn: dict[tuple[str, str], float] = {}


def _advance(shaped: ShapedStr) -> float:
    return sum(d.x_advance for d in shaped.__shapeData__)


def _shaped_format_text(original):
    def format_text(self, text):
        font = pdfmetrics.getFont(self._fontname)
        if _needs_shaping(text, font):
            shaped = shape_visual(text, font)
            if len(_drawn) > 10_000:
                _drawn.clear()
            _drawn[(font.fontName, str(text))] = _advance(shaped)
            text = shaped
        return original(self, text)

    return format_text


def _shaped_string_width(original):
    def string_width(self, text, size, encoding="utf8"):
        if isinstance(text, bytes):
            text = text.decode(encoding)
        if _needs_shaping(text, self):
            drawn = _drawn.get((self.fontName, text))
            if drawn is None:  # measured for line breaking: logical order
                drawn = _advance(shape_visual(text, self, visual=False))
            return drawn * size / 1000
        return original(self, text, size, encoding)

    return string_width


def _to_unicode_cmap(original):
    def make(fontname, subset):
        if not any(code in _meaning for code in subset):
            return original(fontname, subset)
        entries = []
        for index, code in enumerate(subset):
            letters = _meaning.get(code, chr(code))
            hexed = letters.encode("utf-16-be").hex().upper()
            entries.append(f"<{index:02X}> <{hexed}>")
        return "\n".join(
            [
                "/CIDInit /ProcSet findresource begin",
                "12 dict begin",
                "begincmap",
                "/CIDSystemInfo",
                f"<< /Registry ({fontname})",
                f"/Ordering ({fontname})",
                "/Supplement 0",
                ">> def",
                f"/CMapName /{fontname} def",
                "/CMapType 2 def",
                "1 begincodespacerange",
                f"<00> <{len(subset) - 1:02X}>",
                "endcodespacerange",
                f"{len(subset)} beginbfchar",
                *entries,
                "endbfchar",
                "endcmap",
                "CMapName currentdict /CMap defineresource pop",
                "end",
                "end",
            ]
        )

    return make


@contextmanager
def shaping(font_files: set[str]):
    """Shape text in the given font files while the block runs (one render at a time)."""
    import xhtml2pdf.context as x_context

    with _lock:
        saved = (
            x_context.shape_frag_text,
            textobject.PDFTextObject._formatText,
            ttfonts.TTFont.stringWidth,
            ttfonts.makeToUnicodeCMap,
        )
        x_context.shape_frag_text = lambda text, font_name=None: None
        textobject.PDFTextObject._formatText = _shaped_format_text(saved[1])
        ttfonts.TTFont.stringWidth = _shaped_string_width(saved[2])
        ttfonts.makeToUnicodeCMap = _to_unicode_cmap(saved[3])
        _shaped_files.clear()
        _shaped_files.update(font_files)
        try:
            yield
        finally:
            (
                x_context.shape_frag_text,
                textobject.PDFTextObject._formatText,
                ttfonts.TTFont.stringWidth,
                ttfonts.makeToUnicodeCMap,
            ) = saved
            _shaped_files.clear()
            _drawn.clear()
