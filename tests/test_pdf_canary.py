"""Hostile answers in a PDF cause no network request and no file read.

A listener on 127.0.0.1 counts connections, and a canary file holds a secret. The
answers point at both in every way HTML and CSS can (`<img>`, `@import`, `url()`,
`file:` paths, `<link>`, `<object>`). Python's audit hooks see every `open()` and
`socket.connect()` the render makes, so a read that fails or is blocked later still
counts. The PDF must render, show the answers as text, and touch neither.
"""

from __future__ import annotations

import io
import socket
import sys
import threading
import unicodedata

import pytest
from pypdf import PdfReader

from tests.conftest import VOLUNTEER_ANSWERS

_events: list[tuple[str, tuple]] = []
_recording = threading.Event()


def _audit(event: str, args: tuple) -> None:
    if _recording.is_set() and event in ("open", "socket.connect", "urllib.Request"):
        _events.append((event, args))


sys.addaudithook(_audit)  # audit hooks cannot be removed; this one records only on demand


@pytest.fixture
def listener():
    """A TCP listener on 127.0.0.1 that counts the connections it gets."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    server.settimeout(0.2)
    hits: list[bytes] = []
    stop = threading.Event()

    def serve():
        while not stop.is_set():
            try:
                conn, _addr = server.accept()
            except TimeoutError:
                continue
            with conn:
                conn.settimeout(1)
                try:
                    hits.append(conn.recv(1024))
                except OSError:
                    hits.append(b"")

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield server.getsockname()[1], hits
    stop.set()
    thread.join(timeout=2)
    server.close()


def test_hostile_answers_make_no_request_and_read_no_file(
    client, auth, create_user, submit, listener, tmp_path
):
    port, hits = listener
    canary = tmp_path / "canary-secret.txt"
    canary.write_text("CANARY-7f3a9 must never appear")
    url = f"http://127.0.0.1:{port}"
    answers = {
        "experience": (
            f'<img src="{url}/img.png"> <img src="file://{canary}"> '
            f'<link rel="stylesheet" href="{url}/x.css"> <object data="{canary}"></object> '
            f"<style>@import '{url}/s.css';</style> url(file://{canary}) {canary}"
        ),
        "first_name": f"@import url({url}/import.css);",
        "last_name": f"url({url}/bg.png)",
    }
    sent = submit("volunteer", dict(VOLUNTEER_ANSWERS, **answers))
    assert sent.status_code == 303, sent.get_data(as_text=True)
    create_user("mz@example.org", districts=("mainz-bingen",))
    auth.login("mz@example.org")

    _events.clear()
    _recording.set()
    try:
        response = client.get("/admin/reports/mainz-bingen/volunteer.pdf?appendix=roster")
    finally:
        _recording.clear()

    assert response.status_code == 200
    reader = PdfReader(io.BytesIO(response.data))
    text = " ".join(
        unicodedata.normalize("NFKC", " ".join(p.extract_text() for p in reader.pages)).split()
    )
    assert "img.png" in text, text  # shown as text
    assert "@import url(" in text, text
    assert "CANARY-7f3a9" not in text
    assert hits == []
    opened = [str(args[0]) for event, args in _events if event == "open"]
    assert any("Noto" in path for path in opened), "the audit hook saw no font being read"
    assert not [path for path in opened if "canary" in path], opened
    assert not [args for event, args in _events if event != "open"]
