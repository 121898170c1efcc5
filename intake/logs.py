"""Logging without personal data.

Links may carry prefilled answers in their query string (`?email=...`), so request
lines are logged with the query string replaced. The app itself logs event names
and exception types, never answers.
"""

from __future__ import annotations

import logging
import re

from flask import Flask

# Anywhere in the line, not only after a quote: the development server colours request
# lines (an escape code between the quote and the method) and logs malformed request
# lines in its error messages ("Bad request syntax ('GET /k/<token> ...')").
_QUERY = re.compile(r"(/[^\"'?\s]*)\?[^\"'\s]*")
# Paths that are secrets themselves: password links (and invitation/kiosk links).
_TOKEN_PATH = re.compile(r"(/(?:admin/reset|i|k)/)[^\"'?\s/]+")
_COLOUR = re.compile(r"\x1b\[[0-9;]*m")


class RedactQueryStrings(logging.Filter):
    """Cut query strings and token paths out of request lines (werkzeug's access log)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        plain = _COLOUR.sub("", message)
        redacted = _TOKEN_PATH.sub(r"\1[redacted]", _QUERY.sub(r"\1?[redacted]", plain))
        if redacted != plain:  # a line with nothing to cut keeps its colours
            record.msg, record.args = redacted, ()
        return True


def init_app(app: Flask) -> None:
    """Attach the filter to the loggers that write request lines."""
    for name in ("werkzeug", "gunicorn.access"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactQueryStrings) for f in logger.filters):
            logger.addFilter(RedactQueryStrings())
