"""Kiosk mode: one event's forms on a tablet handed from one person to the next.

`/k/<token>` shows a language picker, then the form (all of it on one page, so it
works offline); after sending, a thank-you screen with the reference code, then the
picker again. The next person must never reach the previous person's answers:

* Form pages are `no-store`, carry `autocomplete="off"`, and with JavaScript are
  sent by `fetch` (kiosk.js), so the browser keeps no form history and nothing
  with answers is ever in the navigation history.
* Without JavaScript, every kiosk form carries the session's *kiosk generation*,
  a counter that moves on whenever the picker or a receipt is shown. A form page
  posted again from the history after that (back button, "resend") carries an old
  generation and lands on the picker; its answers are neither shown nor stored.
* The tablet is locked to the kiosk: while a session is in kiosk mode, every other
  page of the app redirects to the kiosk's picker. The staff PIN leaves kiosk mode.

Offline: a service worker (`/k/sw.js`) keeps the kiosk pages; kiosk.js keeps each
submission in IndexedDB until the server acknowledged it (intake/kiosk/queue.py,
docs/kiosk.md).

Closing: a closed event's kiosk, or a form that takes no answers, shows no form. An
answer typed on a form page rendered while both were open (the page's signed stamp,
queue.py) is still taken for queue.LATE_DAYS; nothing else is. Every new answer
counts against the event's limit (KIOSK_LIMIT_PER_EVENT), whichever way it is sent.
"""

from __future__ import annotations

import time
from pathlib import Path

from flask import (
    Blueprint,
    abort,
    current_app,
    jsonify,
    make_response,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_wtf.csrf import generate_csrf

from intake import audit, i18n
from intake.engine.definition import FormDefinition
from intake.extensions import csrf
from intake.kiosk import pins, queue
from intake.kiosk.queue import QUEUE_HEADER, STAMP_FIELD, submit_queued
from intake.kiosk.store import by_token, check_pin
from intake.public.render import render_form, render_outcome
from intake.storage.forms import availability, published
from intake.storage.models import Event, Form, FormVersion
from intake.submissions import Target, form_for, new_key, submit

bp = Blueprint("kiosk", __name__, url_prefix="/k")

KIOSK = "kiosk"  # the token of the event this browser is locked to
GEN = "kiosk_gen"  # the kiosk generation (see the module docstring)
STAFF = "kiosk_staff"  # [token, until] after the right PIN
RECEIPT = "kiosk_receipt"  # the reference code for the no-JavaScript thank-you page
STAFF_MINUTES = 10
#: Pages a locked browser may still reach besides the kiosk itself.
OPEN_ENDPOINTS = {"static", "public.healthz", "public.readyz"}
SERVICE_WORKER = Path(__file__).resolve().parents[1] / "static" / "kiosk-sw.js"


@bp.before_app_request
def _stay_in_kiosk():
    """A browser in kiosk mode sees only the kiosk, until staff leave it with the PIN."""
    token = session.get(KIOSK)
    if not token or request.blueprint == "kiosk" or request.endpoint in OPEN_ENDPOINTS:
        return None
    event = by_token(token)
    if event is None or not event.active:
        session.pop(KIOSK, None)  # the event is gone: nothing to stay in
        return None
    return redirect(url_for("kiosk.picker", token=token))


@bp.get("/sw.js")
def service_worker():
    """The service worker, served under /k/ so that its scope is every kiosk."""
    response = make_response(SERVICE_WORKER.read_text(encoding="utf-8"))
    response.headers["Content-Type"] = "text/javascript; charset=utf-8"
    response.headers["Cache-Control"] = "no-cache"
    return response


@bp.get("/<token>")
def picker(token: str):
    """The language picker: each language by its own name, large buttons."""
    event = _event(token)
    if not event.active:
        return _closed_event()
    session[KIOSK] = token
    _next_generation()
    session.pop(RECEIPT, None)
    forms = _published_forms(event)
    languages = _languages(event, forms)
    i18n.choose(languages, remember=False)
    # The session gets its CSRF secret now, before the service worker loads the forms
    # in parallel: otherwise each of those responses would set a different one.
    generate_csrf()
    buttons, offline = [], []
    for code in languages:
        urls = [
            url_for("kiosk.form", token=token, slug=slug, lang=code)
            for slug, _definition in _open_in(forms, code)
        ]
        link = urls[0] if len(urls) == 1 else url_for("kiosk.start", token=token, lang=code)
        buttons.append((code, i18n.NATIVE_NAMES.get(code, code), link))
        offline += [link] + urls if len(urls) > 1 else urls
    offline.append(url_for("kiosk.staff", token=token))  # staff can save answers offline
    # The heading in every language of the event: the person may read none of the others.
    asks = []
    for code in languages:
        with force_locale(code):
            asks.append((code, _("Choose your language")))
    return _offline(
        _page(
            "kiosk/picker.html",
            event=event,
            languages=buttons,
            asks=asks,
            offline_urls=offline,
        )
    )


@bp.get("/<token>/start")
def start(token: str):
    """After the language: the form, or the choice of forms when the event has several."""
    event = _event(token)
    if not event.active:
        return _closed_event()
    published_forms = _published_forms(event)
    lang = i18n.choose(_languages(event, published_forms), remember=False)
    forms = _open_in(published_forms, lang)
    if len(forms) == 1:
        return redirect(url_for("kiosk.form", token=token, slug=forms[0][0], lang=lang))
    return _offline(_page("kiosk/forms.html", event=event, forms=forms))


@bp.route("/<token>/f/<slug>", methods=["GET", "POST"])
@csrf.exempt  # interactive posts are checked by the form; queued ones see queue.py
def form(token: str, slug: str):
    """One of the event's forms, all questions on one page, district and source fixed."""
    event = _event(token)
    if request.method == "POST" and request.headers.get(QUEUE_HEADER) == "1":
        return _queued(event, slug)
    # A page rendered while the kiosk took answers may still be sent (see queue.py).
    late = request.method == "POST" and queue.stamped(event, slug, request.form.get(STAMP_FIELD))
    if not event.active and not late:
        return _closed_event()
    forms = _published_forms(event)
    found = next((f for f in forms if f[0].slug == slug), None)
    if found is None:
        abort(404)
    form_row, version, definition = found
    lang = i18n.choose(
        [code for code in _languages(event, forms) if code in definition.languages],
        definition.default_language,
        remember=False,
    )
    if availability(form_row) != "open" and not late:
        return redirect(url_for("kiosk.picker", token=token))
    context = {"event": event, "kiosk_gen": session.get(GEN, 0)}
    if request.method == "GET":
        data = {
            "idempotency_key": new_key(),
            "district": event.district.slug,
            STAMP_FIELD: queue.page_stamp(event, slug),
        }
        target = Target("kiosk", version, definition, event.district, event=event)
        return _offline(render_form(form_for(target, lang, data=data), 200, whole=True, **context))
    if request.form.get("kiosk_gen") != str(session.get(GEN, 0)):
        # Posted again from the history after the next person started: to the picker,
        # without showing or storing anything.
        return redirect(url_for("kiosk.picker", token=token), code=303)
    target = Target("kiosk", version, definition, event.district, source=event.source, event=event)
    outcome = submit(target, request.form, lang)
    if outcome.status in ("stored", "repeat"):
        return _thank(token, outcome.reference)
    if outcome.status == "conflict":
        abort(400)
    return render_outcome(outcome, whole=True, **context)


def _queued(event: Event, slug: str):
    """A submission sent by kiosk.js (at once, or later from its offline queue): JSON."""
    if not _same_origin():
        return jsonify(status="refused"), 400
    lang = request.args.get("lang", "")
    outcome = submit_queued(event, slug, lang, request.form)
    if outcome.status == "busy":
        return jsonify(status="unavailable"), 503, {"Retry-After": "30"}
    status = {
        "stored": 200,
        "repeat": 200,
        "invalid": 422,
        "gone": 410,
        "closed": 410,
        "conflict": 409,
        "limited": 429,
    }
    body = {"status": outcome.status, "reference": outcome.reference, "errors": outcome.errors}
    if outcome.status in ("gone", "closed"):
        # Refused for good (kiosk.js keeps it for staff); why, in the person's language.
        i18n.choose(i18n.ui_languages(), remember=False)
        if outcome.closed == "event":
            body["message"] = _("This kiosk is closed")
        else:
            body["message"] = _(
                "This form is closed and no longer takes answers. Thank you for your interest."
            )
    headers = {"Retry-After": str(outcome.retry)} if outcome.retry else {}
    return jsonify(body), status[outcome.status], headers


def _same_origin() -> bool:
    """Browsers say where a request comes from; another site's page is refused."""
    site = request.headers.get("Sec-Fetch-Site")
    if site and site not in ("same-origin", "none"):
        return False
    origin = request.headers.get("Origin")
    return not origin or origin == request.host_url.rstrip("/")


def _thank(token: str, reference: str):
    """The no-JavaScript receipt (kiosk.js shows its own without leaving the page)."""
    session[RECEIPT] = reference
    _next_generation()
    return redirect(url_for("kiosk.thanks", token=token), code=303)


@bp.get("/<token>/thanks")
def thanks(token: str):
    """The reference code, then back to the picker after the event's seconds."""
    event = _event(token)
    reference = session.pop(RECEIPT, None)
    if reference is None:  # reloaded, or reached from the history: nothing to show
        return redirect(url_for("kiosk.picker", token=token))
    i18n.choose(_languages(event, _published_forms(event)), remember=False)
    return _page("kiosk/thanks.html", event=event, reference=reference)


@bp.route("/<token>/staff", methods=["GET", "POST"])
def staff(token: str):
    """The staff PIN, then the staff page: waiting answers, leave kiosk mode."""
    event = _event(token)
    i18n.choose(current_app.config["ADMIN_LANGUAGES"])
    error = None
    if request.method == "POST" and "pin" in request.form:
        wait = pins.wait(token)
        if wait:
            audit.record("kiosk.staff_wait", None, f"event:{event.id}", outcome="throttled")
            response = _page(
                "kiosk/pin.html", event=event, error=pins.wait_message(wait), status=429
            )
            response.headers["Retry-After"] = str(wait)
            return response
        if check_pin(event, request.form.get("pin", "")):
            pins.forget(token)
            session[STAFF] = [token, time.time() + STAFF_MINUTES * 60]
            audit.record("kiosk.staff", None, f"event:{event.id}")
            return redirect(url_for("kiosk.staff", token=token), code=303)
        pins.count_wrong(token)
        audit.record("kiosk.staff", None, f"event:{event.id}", outcome="denied")
        error = _("This PIN is not right.")
    if _is_staff(token):
        return _page("kiosk/staff.html", event=event)
    response = _page("kiosk/pin.html", event=event, error=error, status=422 if error else 200)
    return response if error else _offline(response)


@bp.post("/<token>/leave")
def leave(token: str):
    """Staff leave kiosk mode on this tablet (the browser may go anywhere again)."""
    if not _is_staff(token):
        return redirect(url_for("kiosk.staff", token=token), code=303)
    for key in (KIOSK, GEN, STAFF, RECEIPT):
        session.pop(key, None)
    return redirect(url_for("admin.dashboard"), code=303)


def _is_staff(token: str) -> bool:
    entry = session.get(STAFF)
    return bool(entry) and entry[0] == token and entry[1] > time.time()


def _next_generation() -> None:
    session[GEN] = session.get(GEN, 0) + 1


def _event(token: str) -> Event:
    event = by_token(token)
    if event is None:
        abort(404)
    return event


Published = tuple[Form, FormVersion, FormDefinition]


def _published_forms(event: Event) -> list[Published]:
    """The event's published forms (newest version, definition), each read once a request."""
    return [found for form in event.forms if (found := published(form.slug)) is not None]


def _languages(event: Event, forms: list[Published]) -> list[str]:
    """The event's languages that one of its forms has, in the event's order."""
    known = i18n.ui_languages()
    offered = [code for code in (event.languages or known) if code in known]
    have = {code for _form, _version, definition in forms for code in definition.languages}
    return [code for code in offered if code in have] or [current_app.config["DEFAULT_LANGUAGE"]]


def _open_in(forms: list[Published], lang: str) -> list[tuple[str, FormDefinition]]:
    """The forms that take answers now and have `lang`, as (slug, definition)."""
    return [
        (form.slug, definition)
        for form, _version, definition in forms
        if availability(form) == "open" and lang in definition.languages
    ]


def _offline(response):
    """Mark a page the service worker may keep for use without a connection: the
    picker, the list of forms, an empty form, the PIN page. Nothing else: never a
    page with answers, never the staff panel."""
    response.headers["X-Intake-Offline"] = "1"
    return response


def _closed_event():
    session.pop(KIOSK, None)
    return _page("kiosk/closed.html", status=410)


def _page(template: str, status: int = 200, **context):
    """Every kiosk page: never cached by the browser's HTTP cache (the service worker
    keeps its own copies of the picker and the empty forms)."""
    response = make_response(render_template(template, **context), status)
    response.headers["Cache-Control"] = "no-store"
    return response
