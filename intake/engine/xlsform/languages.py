"""Language names in XLSForm column headers ("label::Deutsch (de)") and their codes."""

from __future__ import annotations

import functools
import re

from babel import Locale, localedata

from intake.engine.validation import LANG_RE

#: Language names as they appear in XLSForm columns ("label::English"), case-folded.
LANGUAGE_NAMES: dict[str, str] = {
    "english": "en",
    "englisch": "en",
    "german": "de",
    "deutsch": "de",
    "arabic": "ar",
    "arabisch": "ar",
    "العربية": "ar",
    "french": "fr",
    "français": "fr",
    "francais": "fr",
    "französisch": "fr",
    "persian": "fa",
    "farsi": "fa",
    "dari": "fa",
    "persisch": "fa",
    "فارسی": "fa",
    "pashto": "ps",
    "pushto": "ps",
    "paschtu": "ps",
    "پښتو": "ps",
    "turkish": "tr",
    "türkisch": "tr",
    "türkçe": "tr",
    "turkce": "tr",
    "kurdish": "ku",
    "kurmanji": "ku",
    "kurmancî": "ku",
    "kurdisch": "ku",
    "sorani": "ckb",
    "ukrainian": "uk",
    "ukrainisch": "uk",
    "українська": "uk",
    "russian": "ru",
    "russisch": "ru",
    "русский": "ru",
    "somali": "so",
    "soomaali": "so",
    "tigrinya": "ti",
    "tigrigna": "ti",
    "tigrinisch": "ti",
    "ትግርኛ": "ti",
    "spanish": "es",
    "español": "es",
    "espanol": "es",
    "spanisch": "es",
    "portuguese": "pt",
    "português": "pt",
    "portugiesisch": "pt",
    "italian": "it",
    "italiano": "it",
    "italienisch": "it",
    "polish": "pl",
    "polski": "pl",
    "polnisch": "pl",
    "romanian": "ro",
    "română": "ro",
    "rumänisch": "ro",
    "bulgarian": "bg",
    "serbian": "sr",
    "croatian": "hr",
    "bosnian": "bs",
    "albanian": "sq",
    "shqip": "sq",
    "greek": "el",
    "dutch": "nl",
    "nederlands": "nl",
    "urdu": "ur",
    "hindi": "hi",
    "bengali": "bn",
    "tamil": "ta",
    "amharic": "am",
    "oromo": "om",
    "swahili": "sw",
    "kiswahili": "sw",
    "hausa": "ha",
    "yoruba": "yo",
    "igbo": "ig",
    "lingala": "ln",
    "chinese": "zh",
    "japanese": "ja",
    "korean": "ko",
    "vietnamese": "vi",
    "georgian": "ka",
    "armenian": "hy",
    "azerbaijani": "az",
    "uzbek": "uz",
    "tajik": "tg",
    "hebrew": "he",
}

#: The names written in exported column headers, "label::German (de)" (as Kobo does).
EXPORT_LANGUAGE_NAMES: dict[str, str] = {
    "en": "English",
    "de": "German",
    "ar": "Arabic",
    "fr": "French",
    "fa": "Persian",
    "ps": "Pashto",
    "tr": "Turkish",
    "ku": "Kurdish",
    "ckb": "Sorani",
    "uk": "Ukrainian",
    "ru": "Russian",
    "so": "Somali",
    "ti": "Tigrinya",
    "es": "Spanish",
    "pt": "Portuguese",
    "it": "Italian",
    "pl": "Polish",
    "ro": "Romanian",
    "sw": "Swahili",
    "zh": "Chinese",
}

_LANG_IN_PARENS_RE = re.compile(
    r"^(?P<name>.*?)\s*\(\s*(?P<code>[A-Za-z]{2,3})(?:[-_](?P<region>[A-Za-z]{2}))?\s*\)\s*$"
)
_KNOWN_CODES = frozenset(LANGUAGE_NAMES.values())


def language_code(token: str) -> str | None:
    """'English (en)' -> 'en', 'Deutsch' -> 'de', 'ar' -> 'ar'; None when unknown."""
    match = _LANG_IN_PARENS_RE.match(token)
    if match:
        code = match["code"].lower()
        if match["region"]:
            code += "_" + match["region"].upper()
        return code if LANG_RE.match(code) else None
    name = token.strip().casefold()
    if name in LANGUAGE_NAMES:
        return LANGUAGE_NAMES[name]
    if name in _KNOWN_CODES or (LANG_RE.match(name) and localedata.exists(name)):
        return name  # a bare ISO 639 code: 'de', and 'ne' or 'id' outside our catalogs
    return _english_names().get(name)


@functools.cache
def _english_names() -> dict[str, str]:
    """Every language CLDR has data for, by its English name ('nepali' -> 'ne')."""
    return {
        name.casefold(): code
        for code, name in Locale("en").languages.items()
        if LANG_RE.match(code) and localedata.exists(code)
    }


def language_header(code: str) -> str:
    """'German (de)': the language part of an exported column header."""
    return f"{EXPORT_LANGUAGE_NAMES.get(code, code)} ({code})"
