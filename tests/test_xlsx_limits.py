"""XLSX bombs (issue #18): refused before openpyxl parses them, at once, with a clear message.

An .xlsx file is a zip archive of XML parts. The bombs here are real workbooks written by
openpyxl with one part rewritten by zipfile, in chunks, so the test itself stays fast and
small in memory: the report's case is a 1 MB upload that unpacks to one huge cell.
"""

from __future__ import annotations

import io
import struct
import time
import tracemalloc
import zipfile
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from openpyxl import Workbook

from intake.demo import FORMS_DIR
from intake.engine.definition import load_file
from intake.engine.loader import load_any
from intake.engine.validation import DefinitionError
from intake.engine.xlsform import write_xlsform
from intake.extensions import db
from intake.storage.models import FormVersion, Invitation
from tests.conftest import csrf_token

MIB = 1024 * 1024
SHEET = "xl/worksheets/sheet1.xml"
STYLES = "xl/styles.xml"
WORKSHEET = b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
TOO_LARGE = "The file is too large once unpacked (more than 50 MB)."
ENGLISH = {"Accept-Language": "en"}


def small_workbook(title: str = "survey") -> bytes:
    """A real one-question XLSForm, as openpyxl writes it."""
    book = Workbook()
    sheet = book.active
    sheet.title = title
    sheet.append(["type", "name", "label::English (en)"])
    sheet.append(["text", "first_name", "First name"])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def rewrite(path: Path, parts: dict[str, Iterable[bytes]], level: int = 1) -> Path:
    """A small workbook with `parts` replaced or added, each written in chunks."""
    with (
        zipfile.ZipFile(io.BytesIO(small_workbook())) as original,
        zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=level) as out,
    ):
        for info in original.infolist():
            if info.filename not in parts:
                out.writestr(info.filename, original.read(info))
        for name, chunks in parts.items():
            with out.open(name, "w") as part:
                for chunk in chunks:
                    part.write(chunk)
    return path


def one_cell_of(megabytes: int) -> Iterator[bytes]:
    """A worksheet whose only cell holds `megabytes` MiB of 'A'."""
    yield WORKSHEET + b'<sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>'
    chunk = b"A" * MIB
    for _ in range(megabytes):
        yield chunk
    yield b"</t></is></c></row></sheetData></worksheet>"


def cells(count: int) -> Iterator[bytes]:
    """A worksheet with `count` number cells in one row (two XML elements each)."""
    yield WORKSHEET + b'<sheetData><row r="1">'
    for start in range(0, count, 10_000):
        yield b"".join(
            b"<c><v>%d</v></c>" % (n * 7919 % 1_000_003)
            for n in range(start, min(count, start + 10_000))
        )
    yield b"</row></sheetData></worksheet>"


def styles(formats: int) -> Iterator[bytes]:
    """A style sheet with `formats` cell formats (Excel itself stops at 64,000)."""
    yield (
        b'<styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        b'<fonts count="1"><font/></fonts><fills count="1"><fill/></fills>'
        b'<borders count="1"><border/></borders><cellXfs count="%d">' % formats
    )
    for start in range(0, formats, 10_000):
        yield b"".join(
            b'<xf numFmtId="%d" fontId="0" fillId="0" borderId="0"/>' % (n * 7919 % 1_000_003)
            for n in range(start, min(formats, start + 10_000))
        )
    yield b"</cellXfs></styleSheet>"


def lying_about_its_size(path: Path) -> Path:
    """The bomb with its sheet's size in the zip directory changed to 1,000 bytes."""
    rewrite(path, {SHEET: one_cell_of(60)})
    data = bytearray(path.read_bytes())
    name = SHEET.encode()
    entry = data.rindex(b"PK\x01\x02", 0, data.rindex(name))
    assert data[entry + 46 : entry + 46 + len(name)] == name
    struct.pack_into("<L", data, entry + 24, 1000)  # uncompressed size
    path.write_bytes(bytes(data))
    return path


def measured(call: Callable[[], Any]) -> tuple[Any, float, int]:
    """What `call` returns or raises, the seconds it took and its peak of Python memory."""
    tracemalloc.start()
    start = time.perf_counter()
    try:
        outcome = call()
    except Exception as exc:  # noqa: BLE001 - the caller looks at what was raised
        outcome = exc
    seconds = time.perf_counter() - start
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return outcome, seconds, peak


@pytest.fixture(scope="module")
def bomb(tmp_path_factory) -> Path:
    """The report's case: 200 KB on disk, one cell of 200 MB once unpacked.

    (Packed as tightly as zip can: the test client spools uploads over 500 KB to a file
    it never closes, which warnings-as-errors would report.)
    """
    path = tmp_path_factory.mktemp("bomb") / "bomb.xlsx"
    return rewrite(path, {SHEET: one_cell_of(200)}, level=9)


@pytest.fixture
def coordinator(app, client, auth, create_user):
    app.config["PUBLIC_URL"] = "https://intake.kreis-example.de"
    create_user("mz@example.org", districts=("mainz-bingen",))
    auth.login("mz@example.org")
    return client


def upload_form(client, data: bytes, filename: str, replaces: str = ""):
    token = csrf_token(client.get("/admin/forms").get_data(as_text=True))
    return client.post(
        "/admin/forms/upload",
        data={"csrf_token": token, "file": (io.BytesIO(data), filename), "replaces": replaces},
        content_type="multipart/form-data",
        headers=ENGLISH,
    )


def upload_list(client, data: bytes, filename: str):
    page = client.get("/admin/invitations?form=volunteer")
    token = csrf_token(page.get_data(as_text=True))
    payload = {"csrf_token": token, "form": "volunteer", "days": "14", "district": "mainz-bingen"}
    payload["file"] = (io.BytesIO(data), filename)
    return client.post("/admin/invitations/upload", data=payload, headers=ENGLISH)


def count(app, model) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def problems_of(path: Path) -> list[str]:
    with pytest.raises(DefinitionError) as caught:
        load_any(path)
    return caught.value.problems


# --- the reported bomb, on every way in -----------------------------------------------------


def test_the_bomb_is_refused_before_anything_is_unpacked(bomb):
    assert bomb.stat().st_size < 0.5 * MIB
    outcome, seconds, peak = measured(lambda: load_any(bomb))
    assert isinstance(outcome, DefinitionError), outcome
    assert len(outcome.problems) == 1
    assert outcome.problems[0].startswith(TOO_LARGE)
    # openpyxl never ran: it would have taken seconds and held the 200 MB cell.
    assert seconds < 0.5, seconds
    assert peak < 16 * MIB, peak


def test_the_bomb_as_a_form_upload_gets_the_problems_page(app, coordinator, bomb):
    versions = count(app, FormVersion)
    start = time.perf_counter()
    response = upload_form(coordinator, bomb.read_bytes(), "bomb.xlsx")
    assert time.perf_counter() - start < 1
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert 'role="alert"' in html
    assert TOO_LARGE in html
    assert count(app, FormVersion) == versions


def test_the_bomb_as_an_invitation_list_gets_the_problems_page(app, coordinator, bomb):
    start = time.perf_counter()
    response = upload_list(coordinator, bomb.read_bytes(), "liste.xlsx")
    assert time.perf_counter() - start < 1
    assert response.status_code == 422
    assert TOO_LARGE in response.get_data(as_text=True)
    assert count(app, Invitation) == 0


def test_the_cli_refuses_the_bomb_and_imports_nothing(app, cli, bomb):
    versions = count(app, FormVersion)
    for command in ("validate", "import"):
        start = time.perf_counter()
        result = cli("forms", command, str(bomb))
        assert time.perf_counter() - start < 1
        assert result.exit_code == 1, result.output
        assert result.stderr.startswith(f"bomb.xlsx: {TOO_LARGE}")
    assert count(app, FormVersion) == versions


# --- every limit, with the message a coordinator reads ----------------------------------


@pytest.mark.parametrize(
    ("parts", "message"),
    [
        (
            {f"xl/media/image{n}.png": [b"x"] for n in range(1000)},
            "The file holds more than 1000 parts",
        ),
        ({"xl/media/big.bin": [b"A" * MIB] * 31}, "too large once unpacked (more than 30 MB)"),
        (
            {"xl/media/one.bin": [b"A" * MIB] * 26, "xl/media/two.bin": [b"A" * MIB] * 26},
            TOO_LARGE,
        ),
        ({SHEET: one_cell_of(2)}, "unpacks to more than 100 times its size"),
        ({SHEET: cells(500_001)}, "more than 1000000 cells, texts and formats"),
        ({STYLES: styles(100_001)}, "more than 100000 entries in its formatting"),
    ],
    ids=["parts", "part-size", "total-size", "ratio", "cells", "formats"],
)
def test_each_limit_is_refused_at_once(tmp_path, parts, message):
    path = rewrite(tmp_path / "form.xlsx", parts)
    outcome, seconds, _ = measured(lambda: load_any(path))
    assert isinstance(outcome, DefinitionError), outcome
    assert len(outcome.problems) == 1, outcome.problems
    assert message in outcome.problems[0], outcome.problems
    assert seconds < 1, seconds


def test_a_size_in_the_zip_directory_is_not_believed(tmp_path):
    # zipfile stops at the size the directory gives, and the check counts what it unpacks;
    # the sheet then fails its checksum: a damaged file, refused, never unpacked in full.
    path = lying_about_its_size(tmp_path / "form.xlsx")
    outcome, seconds, peak = measured(lambda: load_any(path))
    assert isinstance(outcome, DefinitionError), outcome
    assert outcome.problems == [
        "the file could not be read as an Excel workbook (.xlsx): "
        "Bad CRC-32 for file 'xl/worksheets/sheet1.xml'"
    ]
    assert seconds < 0.5, (seconds, peak)
    assert peak < 16 * MIB, (seconds, peak)


def test_a_form_with_too_many_rows_or_columns_is_refused(tmp_path):
    long = Workbook(write_only=True)
    sheet = long.create_sheet("survey")
    sheet.append(["type", "name", "label::English (en)"])
    for n in range(20_000):
        sheet.append(["note", f"n{n}", "Note"])
    long.save(tmp_path / "long.xlsx")
    assert problems_of(tmp_path / "long.xlsx") == [
        "The sheet “survey” has more than 20000 rows. Please delete the rows that are "
        "not needed (also empty ones at the end), or split the sheet."
    ]
    wide = Workbook()
    wide.active.title = "survey"
    wide.active.append(["type", "name", "label::English (en)"] + [f"x{n}" for n in range(498)])
    wide.active.append(["text", "first_name", "First name"])
    wide.save(tmp_path / "wide.xlsx")
    assert problems_of(tmp_path / "wide.xlsx") == [
        "The sheet “survey” has more than 500 columns. Please delete the columns that are "
        "not needed."
    ]


def test_a_list_too_wide_or_too_long_is_refused(app, coordinator):
    wide = Workbook()
    wide.active.append(["email"] + [f"x{n}" for n in range(500)])
    wide.active.append(["a@example.org"])
    buffer = io.BytesIO()
    wide.save(buffer)
    response = upload_list(coordinator, buffer.getvalue(), "wide.xlsx")
    assert response.status_code == 422
    assert "The sheet “Sheet” has more than 500 columns." in response.get_data(as_text=True)
    # A person far below the heading was left out without a word; now the list is refused.
    long = Workbook()
    long.active["A1"] = "email"
    long.active["A30000"] = "a@example.org"
    buffer = io.BytesIO()
    long.save(buffer)
    start = time.perf_counter()
    response = upload_list(coordinator, buffer.getvalue(), "long.xlsx")
    assert time.perf_counter() - start < 1
    assert response.status_code == 422
    assert "The sheet “Sheet” has more than 20000 rows." in response.get_data(as_text=True)
    assert count(app, Invitation) == 0


def test_a_list_with_a_cell_far_to_the_right_is_read_without_filling_the_gap(app, coordinator):
    # openpyxl fills every row up to the widest column (here 16,384) unless told where to
    # stop: 5,000 people would be 82 million cells and 650 MB. It is read up to column 501.
    book = Workbook()
    book.active.append(["name"])
    book.active["XFD1"] = "x"
    for n in range(5000):
        book.active.append([f"Person {n}"])
    buffer = io.BytesIO()
    book.save(buffer)
    response, _, peak = measured(lambda: upload_list(coordinator, buffer.getvalue(), "w.xlsx"))
    assert response.status_code == 422
    assert "an “email” column is missing" in response.get_data(as_text=True)
    assert peak < 64 * MIB, peak


# --- ordinary workbooks still go through -------------------------------------------------


def test_a_real_xlsform_still_imports(app, client, auth, create_user, cli, tmp_path):
    exported = write_xlsform(load_file(FORMS_DIR / "volunteer.yaml"))
    path = tmp_path / "volunteer.xlsx"
    path.write_bytes(exported)
    result = cli("forms", "validate", str(path))
    assert result.exit_code == 0, result.output
    assert "volunteer.xlsx: OK, form 'volunteer'" in result.output
    create_user("admin@example.org", role="admin")
    auth.login("admin@example.org")
    response = upload_form(client, exported, "volunteer.xlsx", replaces="volunteer")
    assert response.status_code == 302, response.get_data(as_text=True)
    assert response.headers["Location"] == "/admin/forms/volunteer/edit"
