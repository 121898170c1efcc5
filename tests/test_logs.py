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
