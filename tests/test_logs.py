"""No personal data in logs."""

from __future__ import annotations

import logging
import time

from intake.logs import RedactQueryStrings


def test_request_lines_lose_their_query_string():
    record = logging.LogRecord(
        "werkzeug", logging.INFO, __file__, 1,
        '%s - - [%s] "%s" %s -',
        ("127.0.0.1", "x", "GET /f/volunteer?email=anna%40example.org&lang=de HTTP/1.1", "200"),
        None,
    )  # fmt: skip
    RedactQueryStrings().filter(record)
    message = record.getMessage()
    assert "anna" not in message
    assert '"GET /f/volunteer?[redacted] HTTP/1.1" 200' in message


def test_served_requests_log_no_prefilled_answers(live_log_server, caplog):
    caplog.set_level(logging.INFO, logger="werkzeug")
    live_log_server("/f/volunteer?email=canary-person%40example.org&first_name=Canary")
    deadline = time.monotonic() + 5  # the server thread logs after it has answered
    while "GET /f/volunteer" not in caplog.text and time.monotonic() < deadline:
        time.sleep(0.02)
    text = caplog.text
    assert "GET /f/volunteer?[redacted]" in text
    assert "canary" not in text.lower()


def test_password_link_tokens_are_not_logged():
    record = logging.LogRecord(
        "werkzeug", logging.INFO, __file__, 1,
        '%s - - [%s] "%s" %s -',
        ("127.0.0.1", "x", "POST /admin/reset/eyJ1IjoxfQ.secret.sig?lang=de HTTP/1.1", "302"),
        None,
    )  # fmt: skip
    RedactQueryStrings().filter(record)
    message = record.getMessage()
    assert "secret" not in message
    assert '"POST /admin/reset/[redacted]?[redacted] HTTP/1.1" 302' in message


def test_the_development_server_logs_no_token_even_in_colour(app, monkeypatch, caplog):
    """The development server colours request lines that are not 200 (an escape code
    after the quote) and logs malformed request lines in an error message: neither may
    carry a kiosk, invitation or password token, or a prefilled answer."""
    import socket
    import threading
    import urllib.error
    import urllib.request

    from werkzeug import serving

    monkeypatch.setattr(serving, "_log_add_style", True)  # as on a developer's terminal
    caplog.set_level(logging.INFO, logger="werkzeug")
    server = serving.make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_port}"
    try:
        for path in (
            "/k/kioskSECRETtoken1?lang=ar",  # 404, yellow
            "/i/inviteSECRETtoken2",  # 404
            "/admin/reset/resetSECRETtoken3",  # 404 or 302
            "/f/volunteer?email=canary-person%40example.org",  # 200
        ):
            try:
                urllib.request.urlopen(base + path).close()  # noqa: S310 - our test server
            except urllib.error.HTTPError as error:
                error.close()
        with socket.create_connection(("127.0.0.1", server.server_port)) as raw:
            raw.sendall(b"GET /k/rawSECRETtoken4 HTTP/1.1 extra words\r\n\r\n")
            raw.recv(1024)
        deadline = time.monotonic() + 5
        while caplog.text.count("127.0.0.1") < 5 and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        server.shutdown()
        thread.join(timeout=5)
    text = caplog.text
    assert text.count("[redacted]") >= 5, text
    assert "SECRET" not in text
    assert "canary" not in text
