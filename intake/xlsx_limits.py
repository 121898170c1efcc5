"""Limits on uploaded .xlsx workbooks, checked before openpyxl parses anything.

An .xlsx file is a zip archive of XML parts, and zip compresses repetition without
limit: a 1 MB upload can unpack to a 1,000 MB cell, and openpyxl then spends half a
minute and 2 GB on it (issue #18). Small XML can cost as much: every element becomes
Python objects, and openpyxl fills in every cell between the first and the widest
column of a row. So both readers of workbooks (XLSForm import in intake/engine/xlsform/,
invitation lists in intake/invitations/lists.py) first call `check_archive` on the bytes,
then read rows through `sheet_rows` and `check_width`.

Each limit lies far above what a real file reaches. A real XLSForm with 24 language
columns, 400 questions and 2,000 choices unpacks to 6 MB and 250,000 XML elements
(survey and choices sheets, shared texts, formats); an invitation list of 5,000 people
with 30 columns unpacks to 9 MB and 460,000 elements. A workbook just under every limit
takes openpyxl about 6 s on a busy two-core machine, and far less memory than the bomb.

No Flask here: messages are built with the gettext function the caller passes (the
engine passes none and gets English, like its other problems).
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable, Iterable, Iterator
from typing import TypeVar

MIB = 1024 * 1024

#: Parts (zip members). Excel writes about a dozen, plus two or three per sheet and one per
#: picture; a thousand is no workbook, and every part costs memory before anything is read.
MAX_PARTS = 1000
#: Unpacked size of one part. The largest part of a real workbook is its biggest sheet or its
#: shared texts: well under 10 MB for 5,000 people with 30 columns.
MAX_PART_BYTES = 30 * MIB
#: Unpacked size of all parts together: ten times a large real form or list.
MAX_UNPACKED_BYTES = 50 * MIB
#: How many times larger than its compressed form a part may unpack. Spreadsheet XML packs
#: 5 to 20 times; Apache POI refuses above 100 too. Parts under RATIO_FROM_BYTES may pack
#: better (a style sheet of repeated entries): they are too small to matter.
MAX_RATIO = 100
RATIO_FROM_BYTES = 1 * MIB
#: XML elements in all parts (a cell is two or three: <c>, <v>, and its shared text <si><t>).
#: openpyxl parses about 100,000 a second; a real workbook has at most a few hundred thousand.
MAX_ELEMENTS = 1_000_000
#: Elements of the style sheet, the costliest part per element (1.4 KB of memory each).
#: openpyxl always reads it from this path. Excel stops at 64,000 cell formats; a real
#: form or list has a few dozen.
STYLES_PART = "xl/styles.xml"
MAX_STYLE_ELEMENTS = 100_000
#: Rows read from one sheet, empty rows between filled ones included (openpyxl yields them).
#: A real form has a few hundred rows, a long choice list (every municipality of a state) a
#: few thousand; an invitation list at most 5,000 people.
MAX_SHEET_ROWS = 20_000
#: Columns of one sheet, counted in its heading row. A form with 24 languages has about 250
#: (label, hint, constraint message, ... in each language); a list of people a few dozen.
MAX_SHEET_COLUMNS = 500

#: Bytes unpacked at a time: the check holds one chunk, never a whole part.
_CHUNK = 64 * 1024

Gettext = Callable[..., str]
Row = TypeVar("Row")


def english(message: str, **values: object) -> str:
    """A gettext stand-in for callers without catalogs: the message as written."""
    return message % values if values else message


class UnreadableWorkbook(ValueError):
    """Not a zip archive, or a damaged one; the text says what zipfile found."""


class WorkbookTooLarge(Exception):
    """A workbook over one of the limits; `message` tells the user which, in their language."""

    def __init__(self, limit: str, value: int, sheet: str | None = None) -> None:
        self.limit = limit  # the name of the constant, e.g. "MAX_UNPACKED_BYTES"
        self.value = value
        self.sheet = sheet
        super().__init__(f"{limit} ({value}) exceeded" + (f" in sheet {sheet!r}" if sheet else ""))

    def message(self, _: Gettext = english) -> str:
        """The refusal for the user; `_` is the caller's gettext (flask_babel's, or english)."""
        if self.limit == "MAX_PARTS":
            return _(
                "The file holds more than %(limit)s parts; an Excel workbook has a few dozen. "
                "Please check that this is the right file.",
                limit=self.value,
            )
        if self.limit in ("MAX_UNPACKED_BYTES", "MAX_PART_BYTES"):
            return _(
                "The file is too large once unpacked (more than %(limit)s MB). An .xlsx file "
                "is compressed, and a form or a list of people unpacks to a few MB. Please "
                "check that this is the right file.",
                limit=self.value // MIB,
            )
        if self.limit == "MAX_RATIO":
            return _(
                "The file unpacks to more than %(limit)s times its size, which no ordinary "
                "workbook does. Please check that this is the right file.",
                limit=self.value,
            )
        if self.limit == "MAX_ELEMENTS":
            return _(
                "The workbook is too large: it has more than %(limit)s cells, texts and "
                "formats. Please delete what is not needed, or split it into smaller files.",
                limit=self.value,
            )
        if self.limit == "MAX_STYLE_ELEMENTS":
            return _(
                "The workbook has more than %(limit)s entries in its formatting. Please copy "
                "its contents into a new, empty workbook and upload that.",
                limit=self.value,
            )
        if self.limit == "MAX_SHEET_ROWS":
            return _(
                "The sheet “%(sheet)s” has more than %(limit)s rows. Please delete the rows "
                "that are not needed (also empty ones at the end), or split the sheet.",
                sheet=self.sheet,
                limit=self.value,
            )
        return _(
            "The sheet “%(sheet)s” has more than %(limit)s columns. Please delete the columns "
            "that are not needed.",
            sheet=self.sheet,
            limit=self.value,
        )


def check_archive(data: bytes) -> None:
    """Refuse `data` unless it is a zip archive within every limit above.

    First what the zip directory declares (parts, sizes, ratios), then every part is
    unpacked once, a chunk at a time, counting bytes and XML elements: the declared sizes
    are not believed, and the check stops at the first limit passed.
    """
    try:
        _check(data)
    except (WorkbookTooLarge, UnreadableWorkbook):
        raise
    except Exception as exc:  # noqa: BLE001 - a damaged archive can fail anywhere in zipfile
        reason = str(exc).splitlines()[0][:120] if str(exc) else type(exc).__name__
        raise UnreadableWorkbook(reason) from None


def check_width(columns: int, sheet: str) -> None:
    """Refuse a sheet whose heading row has more than MAX_SHEET_COLUMNS columns."""
    if columns > MAX_SHEET_COLUMNS:
        raise WorkbookTooLarge("MAX_SHEET_COLUMNS", MAX_SHEET_COLUMNS, sheet)


def sheet_rows(rows: Iterable[Row], sheet: str, already: int = 0) -> Iterator[Row]:
    """`rows` of `sheet` as they come; refuse the sheet once it passes MAX_SHEET_ROWS rows.

    `already` counts rows read before (the heading, read on its own). Empty rows count:
    openpyxl yields one for every row number it skips, and each costs a pass.
    """
    for number, row in enumerate(rows, start=already + 1):
        if number > MAX_SHEET_ROWS:
            raise WorkbookTooLarge("MAX_SHEET_ROWS", MAX_SHEET_ROWS, sheet)
        yield row


def _check(data: bytes) -> None:
    """The checks in order; zipfile's own errors on a damaged archive go up as they are."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        parts = archive.infolist()
        if len(parts) > MAX_PARTS:
            raise WorkbookTooLarge("MAX_PARTS", MAX_PARTS)
        if sum(part.file_size for part in parts) > MAX_UNPACKED_BYTES:
            raise WorkbookTooLarge("MAX_UNPACKED_BYTES", MAX_UNPACKED_BYTES)
        for part in parts:
            _check_declared(part)
        unpacked = elements = 0
        for part in parts:
            size, count = _unpack(archive, part, MAX_UNPACKED_BYTES - unpacked)
            unpacked += size
            elements += count
            if part.filename == STYLES_PART and count > MAX_STYLE_ELEMENTS:
                raise WorkbookTooLarge("MAX_STYLE_ELEMENTS", MAX_STYLE_ELEMENTS)
            if elements > MAX_ELEMENTS:
                raise WorkbookTooLarge("MAX_ELEMENTS", MAX_ELEMENTS)


def _check_declared(part: zipfile.ZipInfo) -> None:
    """Refuse a part by what the zip directory says of it, before unpacking anything."""
    if part.file_size > MAX_PART_BYTES:
        raise WorkbookTooLarge("MAX_PART_BYTES", MAX_PART_BYTES)
    if part.file_size > RATIO_FROM_BYTES and part.file_size > MAX_RATIO * part.compress_size:
        raise WorkbookTooLarge("MAX_RATIO", MAX_RATIO)
    if part.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        # Excel and LibreOffice only deflate; bzip2 and lzma unpack far slower and further.
        raise UnreadableWorkbook(f"the part {part.filename!r} uses an unusual compression")


def _unpack(archive: zipfile.ZipFile, part: zipfile.ZipInfo, room: int) -> tuple[int, int]:
    """Unpack one part in chunks: its size and its XML start tags, stopping past a limit.

    zipfile itself stops at the declared size (and then checks the CRC), so a part that
    lies about its size ends as a damaged file; the counts here do not rely on that.
    """
    size = elements = 0
    carry = b""  # a "<" that ended the chunk before: what follows it is in this chunk
    with archive.open(part) as stream:
        while chunk := stream.read(_CHUNK):
            size += len(chunk)
            if size > MAX_PART_BYTES:
                raise WorkbookTooLarge("MAX_PART_BYTES", MAX_PART_BYTES)
            if size > room:
                raise WorkbookTooLarge("MAX_UNPACKED_BYTES", MAX_UNPACKED_BYTES)
            text = carry + chunk
            carry = b"<" if text.endswith(b"<") else b""
            if carry:
                text = text[:-1]
            elements += _start_tags(text)
    return size, elements


def _start_tags(text: bytes) -> int:
    """XML start tags in `text`: every "<" but those of end tags, "<?" and "<!".

    Escaped text holds no "<"; CDATA may, and then counts a little high, which is harmless.
    """
    return text.count(b"<") - text.count(b"</") - text.count(b"<?") - text.count(b"<!")
