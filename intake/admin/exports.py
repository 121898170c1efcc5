"""Back office: CSV and XLSX exports of a form's responses for one district (or all).

The XLSX holds a sheet per repeat besides the responses; a repeat's entries as CSV
are the CSV address with `?repeat=<name>` (intake.reports.exports).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import IO

from flask import Response as HttpResponse
from flask import abort, request, stream_with_context
from flask_babel import gettext as _
from flask_login import current_user, login_required

from intake import audit
from intake.admin.access import scoped_form
from intake.admin.blueprint import bp
from intake.errors import render_error
from intake.i18n import current_language
from intake.reports import exports
from intake.reports import params as report_params
from intake.storage.forms import local_today

CHUNK = 64 * 1024


@bp.get("/exports/<district>/<form_slug>.csv")
@login_required
def export_csv(district: str, form_slug: str):
    """Every response of a form as CSV for German Excel, streamed row batch by batch;
    with `?repeat=<name>` the entries of that repeat instead, one row per entry."""
    return _export(district, form_slug, "csv", _csv_response)


@bp.get("/exports/<district>/<form_slug>.xlsx")
@login_required
def export_xlsx(district: str, form_slug: str):
    """Every response of a form as an Excel workbook, with a sheet per repeat."""
    return _export(district, form_slug, "xlsx", _xlsx_response)


def _export(district: str, form_slug: str, fmt: str, respond: Callable):
    action = f"export.{fmt}"
    target = f"export:{district}/{form_slug}"
    # Exports hold names and contact details: viewers see summaries only.
    if not current_user.sees_personal_data:
        audit.record(action, current_user, target, outcome="denied")
        abort(403)
    districts, form, definition = scoped_form(district, form_slug, action, target)
    args = request.args
    params, problems = report_params.parse(
        args.get("from"), args.get("to"), args.get("lang"), None, current_language()
    )
    sensitive = args.get("sensitive", "0")
    if sensitive not in ("0", "1"):
        problems.append(_("'sensitive' must be 1 (include special categories) or 0."))
    repeat = args.get("repeat")
    names = [r.name for r in definition.repeats]
    if repeat is not None and fmt != "csv":
        problems.append(_("'repeat' is for the CSV export: the XLSX has a sheet per repeat."))
    elif repeat is not None and repeat not in names:
        problems.append(
            _("'repeat' must name a repeat of this form: %(names)s.", names=", ".join(names))
            if names
            else _("This form has no repeats.")
        )
    if problems:
        return render_error(400, " ".join(problems))
    period = " ".join(
        f"{key}={value}"
        for key, value in (("from", params.date_from), ("to", params.date_to))
        if value
    )
    # Audited before the first byte leaves: a streamed download has no later point
    # at which it is known to be complete. Never answer content, only what was asked.
    # Special categories (Art. 9) only when asked for, and then audited as such.
    if sensitive == "1":
        action, period = f"{action}.sensitive", f"{period} sensitive=yes"
    asked = f"lang={params.lang}" + (f" repeat={repeat}" if repeat else "")
    audit.record(action, current_user, f"{target} {asked} {period}".strip())
    options = {"sensitive": sensitive == "1"}
    if fmt == "xlsx":
        content = exports.export_sheets(form, definition, districts, params, params.lang, **options)
    elif repeat:
        content = exports.repeat_rows(
            form, definition, districts, params, params.lang, repeat, **options
        )
    else:
        content = exports.export_rows(form, definition, districts, params, params.lang, **options)
    name = f"{form_slug}-{repeat}" if repeat else form_slug
    filename = f"intake-{district}-{name}-{local_today().isoformat()}.{fmt}"
    return respond(content, filename)


def _csv_response(rows, filename: str) -> HttpResponse:
    return HttpResponse(
        stream_with_context(exports.csv_stream(rows)),
        mimetype=exports.CSV_MIMETYPE,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


def _xlsx_response(sheets, filename: str) -> HttpResponse:
    # Built completely before the response starts, so a failure is a proper error page.
    handle = exports.workbook_file(sheets)
    size = handle.seek(0, 2)
    handle.seek(0)
    return HttpResponse(
        _chunks(handle),
        mimetype=exports.XLSX_MIMETYPE,
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "Content-Length": str(size),
        },
    )


def _chunks(handle: IO[bytes]) -> Iterator[bytes]:
    """Send a file in pieces and close it at the end, also when the client goes away."""
    with handle:
        while chunk := handle.read(CHUNK):
            yield chunk
