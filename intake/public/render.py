"""The page of a form, whichever channel shows it: a link, a kiosk, an invitation, a
correction in the back office. Never cached: its key and token belong to one person."""

from __future__ import annotations

from flask import make_response, redirect, render_template, session, url_for
from flask_wtf.csrf import generate_csrf

from intake.engine.definition import FormDefinition
from intake.form_pages import page_view, whole_view
from intake.public import embed
from intake.storage import cache
from intake.submissions import new_key
from intake.wtforms_adapter import PublicForm

#: The session key of the receipt the thank-you page shows.
RECEIPT_KEY = "receipt"


def render_form(
    wtform: PublicForm,
    status: int,
    page_index: int = 0,
    unsaved: str | None = None,
    whole: bool = False,
    stale: bool = False,
    retry: int = 30,
    **context,
):
    """Render one page of a form; its key and token must never come from a cache.

    `whole` shows every page at once instead of the page `page_index` (the kiosk, a
    correction); `context` goes to the template (the kiosk's event and generation,
    an embedded form's action and signed key). `stale`: the embedded page's signed
    key had expired. `unsaved`: valid answers were not stored, because the database
    was "busy" or too many forms came from this address or kiosk ("limited"); the
    browser may try again after `retry` seconds.
    """
    csrf_expired = stale or (status == 422 and wtform.meta.csrf and bool(wtform.csrf_token.errors))
    if csrf_expired:
        # Like every POST without a valid token this is a 400, but the page keeps
        # every answer and asks to send again, so nothing typed is lost.
        status = 400
    view = whole_view(wtform) if whole else page_view(wtform, page_index)
    errors = [q for q in view.every_question() if q.field is not None and q.field.errors]
    response = make_response(
        render_template(
            "public/form.html",
            wtform=wtform,
            definition=wtform.definition,
            view=view,
            errors=errors,
            csrf_expired=csrf_expired,
            unsaved=unsaved,
            **context,
        ),
        status,
    )
    response.headers["Cache-Control"] = "no-store"
    if unsaved:
        response.headers["Retry-After"] = str(retry)
    return response


#: Stand-ins for the two values of a fresh form page that belong to one person: its
#: idempotency key and its CSRF token. HTML escaping leaves them as they are.
KEY_MARK = "intake-fresh-page-key-mark"
TOKEN_MARK = "intake-fresh-page-token-mark"  # noqa: S105 - a stand-in, not a secret


def fresh_form(cache_key: tuple, build, **context):
    """A new, empty page of a public form, rendered once per `cache_key` (the version,
    the language and the whole query: everything the page shows) and kept with the
    published form (storage/cache.py); each request gets its own key and CSRF token
    put in. `build(key)` makes the WTForms form with that key.

    Never one person's page for another: nothing typed is in it, the key and token
    are filled in per request, and a page is kept only when each stand-in appears
    exactly once and no flashed message was rendered into it.
    """
    if session.get("_flashes"):
        return render_form(build(new_key()), 200, **context)

    def render() -> str | None:
        wtform = build(KEY_MARK)
        wtform.csrf_token.current_token = TOKEN_MARK
        html = render_form(wtform, 200, **context).get_data(as_text=True)
        if html.count(KEY_MARK) != 1 or html.count(TOKEN_MARK) != 1 or session.get("_flashes"):
            return None
        return html

    html = cache.kept(("fresh-form", *cache_key), render)
    if html is None:
        return render_form(build(new_key()), 200, **context)
    response = make_response(html.replace(KEY_MARK, new_key()).replace(TOKEN_MARK, generate_csrf()))
    response.headers["Cache-Control"] = "no-store"
    return response


#: The HTTP status of the page shown again for each outcome of intake/submissions.py.
OUTCOME_STATUS = {"page": 200, "invalid": 422, "limited": 429, "busy": 503}


def render_outcome(outcome, whole: bool = False, **context):
    """Show the form again after a submission that was not stored (or not sent yet)."""
    unsaved = outcome.status if outcome.status in ("limited", "busy") else None
    return render_form(
        outcome.form,
        OUTCOME_STATUS[outcome.status],
        outcome.page,
        unsaved=unsaved,
        whole=whole,
        retry=outcome.retry or 30,
        **context,
    )


def closed_page(definition: FormDefinition, state: str):
    """A closed form (or one not open yet) says so; old links must never just break."""
    response = make_response(
        render_template("public/closed.html", definition=definition, state=state), 410
    )
    response.headers["Cache-Control"] = "no-store"
    return response


def to_receipt(slug: str, reference: str, lang: str, embedded: bool = False, changed: bool = False):
    """Send the browser to the thank-you page, with the receipt in the session (or,
    embedded, signed in the URL). `changed`: earlier answers were changed."""
    if embedded:
        token = embed.receipt_token(slug, reference)
        return redirect(url_for("public.thanks", slug=slug, lang=lang, embed=1, r=token), code=303)
    session[RECEIPT_KEY] = {"form": slug, "reference": reference, "changed": changed}
    return redirect(url_for("public.thanks", slug=slug, lang=lang), code=303)
