"""Render a summary to PDF: template -> HTML -> xhtml2pdf, under a strict resource policy.

Answers are hostile input. They reach the HTML only through Jinja's autoescaping
(and the `pdf_text` filter, which escapes too), never inside a style, attribute or
URL. The resource policy allows no network access at all and local reads only
from the font directories; the link callback resolves nothing but our own font
names. Any warning xhtml2pdf logs while rendering fails the render: every warning
means the PDF is not what the template says.
"""

from __future__ import annotations

import io
import logging
import threading
import unicodedata
from html.parser import HTMLParser

from flask import Flask, render_template
from flask_babel import force_locale
from markupsafe import Markup, escape
from xhtml2pdf import pisa
from xhtml2pdf.config.resources import ResourceAccessPolicy

from intake.reports import fonts, shaping
from intake.reports.summary import Summary

RENDER_SECONDS = 120


class RenderError(RuntimeError):
    """xhtml2pdf reported an error or a warning."""


def init_app(app: Flask) -> None:
    """Template filters used by PDF templates."""
    app.add_template_filter(pdf_text)


def pdf_text(value: object) -> Markup:
    """Escaped text with undrawable characters marked; RTL text in a dir=rtl block.

    The base direction comes from the first strong character (Unicode bidi rules
    P2-P3), so "Arabic (العربية)" stays left-to-right and an Arabic answer is
    right-to-left. xhtml2pdf ignores `dir` on table cells and inline elements, so
    right-to-left text is wrapped in a <div dir="rtl">.
    """
    text = fonts.printable("" if value is None else str(value))
    if first_strong_direction(text) == "rtl":
        return Markup('<div dir="rtl">') + escape(text) + Markup("</div>")
    return escape(text)


def first_strong_direction(text: str) -> str:
    """'rtl' when the first letter with a direction is right-to-left, else 'ltr'."""
    for ch in text:
        kind = unicodedata.bidirectional(ch)
        if kind in ("R", "AL"):
            return "rtl"
        if kind == "L":
            return "ltr"
    return "ltr"


def render_summary(summary: Summary) -> bytes:
    """The PDF of a summary, in the summary's report language."""
    with force_locale(summary.params.lang):
        # The @font-face rules are built from our own constants, never from input.
        font_css = Markup(fonts.font_faces_css())  # noqa: S704
        html = render_template("reports/summary.html", s=summary, font_css=font_css)
    return html_to_pdf(html)


def html_to_pdf(html: str) -> bytes:
    """Convert our own HTML to PDF bytes; raise on missing glyphs, errors or warnings."""
    fonts.check(_visible_text(html))
    out = io.BytesIO()
    shaped = {str(fonts.ARABIC.path)}
    with _captured_warnings() as warnings, shaping.shaping(shaped):
        result = pisa.CreatePDF(
            html,
            dest=out,
            encoding="utf-8",
            link_callback=_link_callback,
            resource_policy=_policy(),
        )
    if result.err or warnings:
        raise RenderError("; ".join(warnings) or f"{result.err} xhtml2pdf error(s)")
    return out.getvalue()


def _policy() -> ResourceAccessPolicy:
    """No network; local reads only where our fonts are."""
    roots = tuple({font.path.parent for font in fonts.FONTS})
    return ResourceAccessPolicy.server(
        base_dir=None,
        extra_roots=roots,
        allow_remote=False,
        max_render_seconds=RENDER_SECONDS,
    )


def _link_callback(uri: str, _rel: str) -> str:
    """Resolve our font names; every other reference resolves to nothing."""
    for font in fonts.FONTS:
        if uri == font.url:
            return str(font.path)
    return ""


class _TextCollector(HTMLParser):
    """The text a reader would see (not style sheets)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag, attrs) -> None:
        if tag in ("style", "script"):
            self._skip += 1

    def handle_endtag(self, tag) -> None:
        if tag in ("style", "script") and self._skip:
            self._skip -= 1

    def handle_data(self, data) -> None:
        if not self._skip:
            self.parts.append(data)


def _visible_text(html: str) -> str:
    parser = _TextCollector()
    parser.feed(html)
    parser.close()
    return "".join(parser.parts)


class _captured_warnings:  # noqa: N801 - used as a context manager
    """Collect xhtml2pdf's warnings logged by this thread during a render."""

    def __enter__(self) -> list[str]:
        self.messages: list[str] = []
        thread = threading.get_ident()
        messages = self.messages

        class Handler(logging.Handler):
            def emit(self, record: logging.LogRecord) -> None:
                if record.thread == thread:
                    messages.append(record.getMessage())

        self.handler = Handler(level=logging.WARNING)
        self.logger = logging.getLogger("xhtml2pdf")
        self.logger.addHandler(self.handler)
        return self.messages

    def __exit__(self, *exc) -> None:
        self.logger.removeHandler(self.handler)
