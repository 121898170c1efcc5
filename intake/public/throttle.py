"""How many new responses one client address may store through public links.

A generous limit (SUBMIT_LIMIT_PER_ADDRESS) against scripts filling the database, kept
in Flask-Limiter's storage, so several app instances share it through Redis. Only new
responses count: pages, language switches and repeats of a stored key do not. Kiosk
tablets and personal invitations are outside it (an event's tablets share one address;
an invitation is answered once).
"""

from __future__ import annotations

import ipaddress
import time

from flask import current_app
from flask_limiter.util import get_remote_address
from limits import parse

from intake.extensions import limiter

SCOPE = "public-submission"


def wait_seconds() -> int | None:
    """Seconds until this address may send again, or None when it may send now."""
    return wait_for(_item(), _key(), "submission")


def count() -> None:
    """Count one new response from this address."""
    hit(_item(), _key(), "submission")


def wait_for(item, key: tuple[str, ...], what: str) -> int | None:
    """Seconds until `key` is under the limit `item` again, or None when it is now (or
    when there is no limit). Shared by the kiosk's limit per event (queue.py)."""
    try:
        if item is None or limiter.limiter.test(item, *key):
            return None
        reset, _remaining = limiter.limiter.get_window_stats(item, *key)
    except Exception:  # noqa: BLE001 - storage unreachable: people's answers go first
        current_app.logger.warning("rate limit storage unreachable: %s not limited", what)
        return None
    return max(1, int(reset - time.time()) + 1)


def hit(item, key: tuple[str, ...], what: str) -> None:
    """Count one under the limit `item` for `key`."""
    if item is None:
        return
    try:
        limiter.limiter.hit(item, *key)
    except Exception:  # noqa: BLE001 - the answer is stored; only the count is missing
        current_app.logger.warning("rate limit storage unreachable: %s not counted", what)


def _item():
    value = current_app.config["SUBMIT_LIMIT_PER_ADDRESS"]
    return parse(value) if value else None


def _key() -> tuple[str, str, str]:
    # The prefix Flask-Limiter puts before its own keys: installations (or test runs)
    # sharing one Redis count apart.
    return current_app.config.get("RATELIMIT_KEY_PREFIX", ""), SCOPE, client_network()


def client_network() -> str:
    """The client's IPv4 address, or its IPv6 /64 network: one connection holds a whole
    /64 and could otherwise take a new address for every form."""
    address = get_remote_address()
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return address
    if isinstance(parsed, ipaddress.IPv6Address):
        if parsed.ipv4_mapped is not None:
            return str(parsed.ipv4_mapped)
        return str(ipaddress.ip_network(f"{parsed}/64", strict=False))
    return str(parsed)
