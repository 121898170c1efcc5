"""Wrong staff PINs on a kiosk tablet, and how long the next try waits.

Wrong PINs count per tablet (a random name in its session) and per client address
(IPv4, or IPv6 /64), never per event: a respondent playing with one tablet, or anyone
with the kiosk link elsewhere, cannot lock the staff out of the other tablets. Within
PIN_WINDOW after the first wrong PIN, PIN_FREE of them are answered at once; after
that each further try waits, from the latest wrong PIN on: 15 s, then twice as long
each time, at most PIN_LONGEST_WAIT (never a quarter-hour block), and a right PIN
ends the tablet's count. While a tablet waits, no PIN is checked. The address allows
more, as an event's tablets share one. Nothing per event: the tablet's offline check
(a PBKDF2 hash on the PIN page) already lets whoever has the link try every PIN
offline, so an event-wide lock would add no protection, only a way to lock everyone.
"""

from __future__ import annotations

import math
import secrets
import time

from flask import current_app, session
from flask_babel import ngettext
from limits import RateLimitItemPerSecond

from intake.extensions import limiter
from intake.throttle import client_network  # IPv6 by its /64

#: Wrong PINs answered at once within PIN_WINDOW seconds, per tablet and per address.
PIN_FREE = {"tablet": 10, "address": 30}
PIN_WINDOW = 15 * 60
PIN_FIRST_WAIT = 15
PIN_LONGEST_WAIT = 5 * 60
TABLET = "kiosk_tablet"  # this browser's random name for counting its wrong PINs
_PIN_COUNT = RateLimitItemPerSecond(1_000_000, PIN_WINDOW)


def _pin_keys(token: str) -> dict[str, tuple[str, ...]]:
    """The rate-limit storage keys of this tablet and of its address, for this kiosk."""
    if not isinstance(session.get(TABLET), str):
        session[TABLET] = secrets.token_urlsafe(12)
    prefix = current_app.config.get("RATELIMIT_KEY_PREFIX", "")
    return {
        "tablet": (prefix, "kiosk-pin", token, "tablet", session[TABLET]),
        "address": (prefix, "kiosk-pin", token, "address", client_network()),
    }


def _pin_delay(source: str, key: tuple[str, ...]) -> tuple[int, float]:
    """(Seconds to wait after the latest wrong PIN, when the count ends) for one source."""
    reset, remaining = limiter.limiter.get_window_stats(_PIN_COUNT, *key)
    over = _PIN_COUNT.amount - remaining - PIN_FREE[source]
    if over < 0:
        return 0, reset
    return min(PIN_FIRST_WAIT * 2 ** min(over, 16), PIN_LONGEST_WAIT), reset


def wait(token: str) -> int:
    """Seconds before this tablet's next PIN is checked; 0: check it now."""
    now, wait = time.time(), 0.0
    try:
        for source, key in _pin_keys(token).items():
            delay, count_ends = _pin_delay(source, key)
            pause = RateLimitItemPerSecond(1, delay) if delay else None
            if pause is not None and not limiter.limiter.test(pause, *key):
                pause_ends = limiter.limiter.get_window_stats(pause, *key).reset_time
                wait = max(wait, min(pause_ends, count_ends) - now)
    except Exception:  # noqa: BLE001 - storage unreachable: argon2 still makes guessing slow
        current_app.logger.warning("rate limit storage unreachable: staff PIN not limited")
        return 0
    return math.ceil(wait)


def count_wrong(token: str) -> None:
    """Count a wrong PIN for the tablet and its address; past PIN_FREE, start a wait."""
    try:
        for source, key in _pin_keys(token).items():
            limiter.limiter.hit(_PIN_COUNT, *key)
            delay, _count_ends = _pin_delay(source, key)
            if delay:
                limiter.limiter.hit(RateLimitItemPerSecond(1, delay), *key)
    except Exception:  # noqa: BLE001 - as in wait
        current_app.logger.warning("rate limit storage unreachable: wrong PIN not counted")


def forget(token: str) -> None:
    """The right PIN: this tablet starts afresh (its address keeps its count)."""
    try:
        limiter.limiter.clear(_PIN_COUNT, *_pin_keys(token)["tablet"])
    except Exception:  # noqa: BLE001 - as in wait
        current_app.logger.warning("rate limit storage unreachable: PIN count not cleared")


def wait_message(seconds: int) -> str:
    """The wait in whole minutes, rounded up (Retry-After has the seconds)."""
    return ngettext(
        "Too many wrong PINs. Please wait %(num)s minute and try again.",
        "Too many wrong PINs. Please wait %(num)s minutes and try again.",
        math.ceil(seconds / 60),
    )
