"""Languages: which one a request uses, its direction, and its own name.

The order, as DESIGN.md fixes it: `?lang=` (remembered in the session), then the
session, then the browser's Accept-Language, then the form's default language (or
the app's). Public pages may use every language with a catalog that the form
supports; back-office pages only ADMIN_LANGUAGES. An unknown `?lang=` is ignored and
the next rule decides, so a mistyped link still opens a working page.

A form may also be offered in a language we have no catalog for (Nepali, Dari, ...)
when it has every text in it (FormDefinition.complete_languages): its texts are then in
that language (`g.lang`) while the page's own words, the buttons and messages, are in
the nearest language with a catalog (`g.ui_lang`, ui_language_for), which the page says.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from pathlib import Path

from babel import Locale, UnknownLocaleError
from flask import Flask, current_app, g, has_request_context, request, session, url_for
from flask_babel import refresh

from intake.extensions import babel

RTL_LANGUAGES = frozenset({"ar", "fa", "ps"})
#: Right-to-left languages without a catalog that CLDR does not know by these codes.
_RTL_BEYOND = frozenset({"prs", "ckb", "sdh", "ur", "sd", "ug", "dv", "he", "yi", "syr"})

#: Each language by its own name in its own script.
NATIVE_NAMES = {
    "de": "Deutsch",
    "en": "English",
    "ar": "العربية",
    "fa": "فارسی / دری",
    "ps": "پښتو",
    "tr": "Türkçe",
    "ku": "Kurmancî",
    "uk": "Українська",
    "ru": "Русский",
    "so": "Soomaali",
    "ti": "ትግርኛ",
    "fr": "Français",
}

SESSION_KEY = "lang"

#: The catalog whose words are nearest to a language we have none for: Dari reads
#: Persian, Kurdish in other scripts and varieties Kurmanji; any other gets English.
NEAREST_CATALOG = {"prs": "fa", "fa_AF": "fa", "ckb": "ku", "kmr": "ku", "sdh": "ku"}


#: Own names of languages refugees speak that CLDR does not know by these codes.
_NAMES_BEYOND = {"prs": "دری", "sdh": "کوردی خوارین"}


def native_name(code: str) -> str:
    """A language by its own name: ours, else CLDR's ("नेपाली"), else its code."""
    if code in NATIVE_NAMES or code in _NAMES_BEYOND:
        return NATIVE_NAMES.get(code) or _NAMES_BEYOND[code]
    locale = _locale(code)
    name = locale.get_display_name(locale) if locale is not None else None
    return name[:1].upper() + name[1:] if name else code


@functools.lru_cache(maxsize=256)
def _locale(code: str) -> Locale | None:
    try:
        return Locale.parse(code)
    except (ValueError, UnknownLocaleError):
        return None


class _NativeNames(dict):
    """NATIVE_NAMES for templates: `.get(code, code)` names a language beyond ours too."""

    def get(self, code, default=None):  # noqa: ANN001, ANN201 - dict's own signature
        return native_name(code) if isinstance(code, str) else default


#: NATIVE_NAMES as templates get it (`native_names.get(code, code)`), naming any language.
NAMES = _NativeNames(NATIVE_NAMES)


def ui_language_for(lang: str) -> str:
    """The catalog a page in `lang` takes its own words from: `lang`'s, or the nearest."""
    known = current_app.config["LANGUAGES"]
    if lang in known:
        return lang
    nearest = NEAREST_CATALOG.get(lang)
    if nearest in known:
        return nearest
    return "en" if "en" in known else current_app.config["DEFAULT_LANGUAGE"]


def init_app(app: Flask) -> None:
    """Attach Babel, check that every configured language has a catalog."""
    translations = Path(app.root_path).parent / "translations"
    app.config.setdefault("BABEL_TRANSLATION_DIRECTORIES", str(translations))
    babel.init_app(app, locale_selector=current_language)
    missing = [
        lang
        for lang in app.config["LANGUAGES"]
        if lang != "en" and not (translations / lang / "LC_MESSAGES" / "messages.po").exists()
    ]
    if missing:
        raise RuntimeError(f"LANGUAGES lists {missing}, which have no catalog in {translations}")
    app.context_processor(_template_context)
    # Globals (not context) so that imported macros can use them too.
    app.jinja_env.globals.update(
        text_dir=direction,
        native_name=native_name,
        same_page_url=same_page_url,
        form_language=form_language,
    )


def ui_languages() -> list[str]:
    """Languages the public side can show (those with a catalog)."""
    return list(current_app.config["LANGUAGES"])


def choose(
    available: Iterable[str],
    default: str | None = None,
    asked: str | None = None,
    remember: bool = True,
    beyond: Iterable[str] = (),
) -> str:
    """Pick this request's language among `available` and make Babel use it.

    `asked` is an explicit choice made on the page (the language buttons of a form);
    otherwise `?lang=` in the link counts as the explicit choice. With `remember`
    false the choice is not kept in the session (a kiosk serves one person after
    another, and its service worker loads every language's form in the background).
    `beyond`: languages of `available` without a catalog that may be chosen all the
    same (a form with every text in them); the page's own words are then in the
    nearest catalog's language.
    """
    known = current_app.config["LANGUAGES"]
    also = set(beyond)
    options = [lang for lang in available if lang in known or lang in also]
    if not options:
        options = [current_app.config["DEFAULT_LANGUAGE"]]
    asked = asked or request.args.get("lang")
    if asked in options:
        if remember and session.get(SESSION_KEY) != asked:
            # Only a change: writing the same value would re-sign and re-send the cookie.
            session[SESSION_KEY] = asked
        lang = asked
    elif session.get(SESSION_KEY) in options:
        lang = session[SESSION_KEY]
    else:
        best = request.accept_languages.best_match(options)
        fallback = default if default in options else options[0]
        lang = best or fallback
    g.lang = lang
    g.ui_lang = ui_language_for(lang)
    g.lang_options = options
    refresh()
    return lang


#: Back-office URLs whose `lang` names the language of what they make (a PDF, an export,
#: a link or poster, a preview of a form), not of the back office: it serves that request
#: but is not kept, so downloading an English PDF leaves the back office in German.
DOCUMENT_ENDPOINTS = frozenset(
    {
        "admin.report_pdf",
        "admin.export_csv",
        "admin.export_xlsx",
        "admin.link_builder",
        "admin.poster",
        "admin.form_preview",
    }
)


def current_language() -> str:
    """Babel's locale selector: the language chosen for this request."""
    if not has_request_context():
        return "en"  # CLI output and logs
    if "lang" not in g:
        if request.blueprint == "admin":
            remember = request.endpoint not in DOCUMENT_ENDPOINTS
            choose(current_app.config["ADMIN_LANGUAGES"], remember=remember)
        else:
            choose(ui_languages(), current_app.config["DEFAULT_LANGUAGE"])
    return g.get("ui_lang") or g.lang


def direction(lang: str) -> str:
    """'rtl' for right-to-left languages (ours, and any CLDR writes so: Urdu, Dari, ...)."""
    if lang.split("_")[0] in RTL_LANGUAGES | _RTL_BEYOND:
        return "rtl"
    locale = _locale(lang) if lang not in NATIVE_NAMES else None
    return "rtl" if locale is not None and locale.character_order == "right-to-left" else "ltr"


def query_values(args, drop: Iterable[str] = ()) -> dict[str, list[str]]:
    """A request's query parameters to pass on to `url_for`, without the names that
    `url_for` would take as its own ("endpoint", "_external", "_scheme", "_anchor", ...):
    `?endpoint=x` was a 500, `?_scheme=javascript` a link of the attacker's choosing."""
    skip = set(drop)
    return {
        key: args.getlist(key)
        for key in args
        if key not in skip and key != "endpoint" and not key.startswith("_")
    }


def same_page_url(**changes: str) -> str:
    """This page's URL with some query parameters changed (the language switcher)."""
    values = query_values(request.args, drop=changes)
    values.update(request.view_args or {})
    return url_for(request.endpoint, **values, **changes)


def form_language() -> str | None:
    """The language of the form's texts when the page's own words are in another (a
    language without a catalog); None otherwise. A global: imported macros see it."""
    lang = current_language()
    form_lang = g.get("lang") or lang
    return form_lang if form_lang != lang else None


def _template_context() -> dict[str, object]:
    """Language facts every template needs for <html lang dir> and the switcher."""
    lang = current_language()
    return {
        "html_lang": lang.replace("_", "-"),
        "html_dir": direction(lang),
        # The language of the form's texts, when it is not the page's (no catalog).
        "form_lang": form_language(),
        # The language a page's form texts are read in (`html_lang` but for such a form).
        "text_lang": g.get("lang") or lang,
        "lang_options": [(code, native_name(code)) for code in g.get("lang_options", [])],
    }
