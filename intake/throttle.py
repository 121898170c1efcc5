"""Counting against a limit in Flask-Limiter's storage, so app instances share it.

intake/submissions.py decides which answers count (new responses of a public link
per client network, SUBMIT_LIMIT_PER_ADDRESS; of a kiosk per event,
KIOSK_LIMIT_PER_EVENT) and the kiosk counts wrong staff PINs (kiosk/pins.py). When
the storage (Redis) is unreachable, people's answers go first: nothing is limited.
"""

from __future__ import annotations

import ipaddress
import threading
import time

from flask import Flask, current_app
from flask_limiter.util import get_remote_address

from intake.extensions import limiter


class _LocalCounts:
    """Fixed windows counted in this process, for the `memory://` storage: the same
    counting as Flask-Limiter's memory storage, without the thread it starts to
    expire entries after each count. Bounded like every store of this app."""

    MAX_KEYS = 10_000

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.windows: dict[str, tuple[float, int]] = {}

    def _window(self, item, key: tuple[str, ...], now: float) -> tuple[str, float, int]:
        name = item.key_for(*key)
        ends, count = self.windows.get(name, (0.0, 0))
        if ends <= now:
            ends, count = now + item.get_expiry(), 0
        return name, ends, count

    def wait(self, item, key: tuple[str, ...]) -> int | None:
        now = time.time()
        _name, ends, count = self._window(item, key, now)
        return None if count < item.amount else max(1, int(ends - now) + 1)

    def hit(self, item, key: tuple[str, ...]) -> None:
        now = time.time()
        with self.lock:
            name, ends, count = self._window(item, key, now)
            if len(self.windows) >= self.MAX_KEYS and name not in self.windows:
                self.windows = {k: v for k, v in self.windows.items() if v[0] > now}
                while len(self.windows) >= self.MAX_KEYS:
                    self.windows.pop(next(iter(self.windows)))
            self.windows[name] = (ends, count + 1)


def _local() -> _LocalCounts | None:
    """This app's own counts when its limit storage is the process's memory."""
    return current_app.extensions.get("intake_local_counts")


def wait_for(item, key: tuple[str, ...], what: str) -> int | None:
    """Seconds until `key` is under the limit `item` again, or None when it is now (or
    when there is no limit)."""
    if item is None:
        return None
    local = _local()
    if local is not None:
        return local.wait(item, key)
    try:
        if limiter.limiter.test(item, *key):
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
    local = _local()
    if local is not None:
        local.hit(item, key)
        return
    try:
        limiter.limiter.hit(item, *key)
    except Exception:  # noqa: BLE001 - the answer is stored; only the count is missing
        current_app.logger.warning("rate limit storage unreachable: %s not counted", what)


def client_network() -> str:
    """The client's IPv4 address, or its IPv6 /64 network: one connection holds a whole
    /64 and could otherwise take a new address for every form."""
    address = get_remote_address()
    if address.count(".") == 3 and address.replace(".", "").isdigit() and address.isascii():
        return address  # a dotted IPv4 address as the server gives it: the common case
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return address
    if isinstance(parsed, ipaddress.IPv6Address):
        if parsed.ipv4_mapped is not None:
            return str(parsed.ipv4_mapped)
        return str(ipaddress.ip_network(f"{parsed}/64", strict=False))
    return str(parsed)


def init_app(app: Flask) -> None:
    """Take Flask-Limiter's check off the requests that declare no limit.

    Flask-Limiter checks every request in a before-request hook, for default and
    application-wide limits. Intake has neither: only the views that declare a limit
    (the login, the password change) have one, and their decorator checks it itself.
    So the hook goes, unless such limits are configured after all, and a public
    page pays nothing for the limiter. With the `memory://` storage the answers'
    limits are counted by `_LocalCounts`.
    """
    if str(app.config["RATELIMIT_STORAGE_URI"]).startswith("memory://"):
        app.extensions["intake_local_counts"] = _LocalCounts()
    limits = limiter.limit_manager
    if limits.default_limits or limits.application_limits:
        return
    hooks = app.before_request_funcs.get(None, [])
    app.before_request_funcs[None] = [h for h in hooks if h != limiter._check_request_limit]
