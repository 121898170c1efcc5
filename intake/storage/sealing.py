"""Sealing of answers to sensitive questions (Art. 9 DSGVO): encryption at rest.

Storage owns it, so answers are sealed on their way in and revealed on their way out
in one layer: `seal` (write) and `reveal` (read) are the one pair; the rest manages the
keys for `flask --app intake data-keys` (intake/cli/datakeys.py).

Answers to questions marked `sensitive: true` are stored as "fernet:<token>"
(Fernet: AES-128-CBC with HMAC-SHA256, from `cryptography`). The keys never live in
the database:
- INTAKE_DATA_KEYS: one or more Fernet keys, separated by commas or spaces; the first
  encrypts, all decrypt (MultiFernet). Every app process must have the same keys.
- otherwise instance/data_keys (or the file INTAKE_DATA_KEYS_FILE names; one key per
  line), made with a new key the first time it is needed (mode 0600). Fine for one
  machine; back it up apart from the database: without it the sensitive answers cannot
  be read.
Rotation (`flask --app intake data-keys rotate`): put a new key first, then re-encrypt
every sensitive answer with it; afterwards the old key can go (docs/privacy.md).

An answer without the prefix is plain text (stored before its question was marked).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from flask import current_app, g

from intake.engine.repeats import split_instance

PREFIX = "fernet:"
KEY_RE = re.compile(r"^[A-Za-z0-9_-]{43}=$")


class DataKeyError(RuntimeError):
    """The data keys are missing or wrong; `str()` says what to do."""


def seal(answers: Mapping[str, list[str]], sensitive: Iterable[str]) -> dict[str, list[str]]:
    """`answers` as stored: the values of the `sensitive` questions encrypted."""
    names = set(sensitive)
    return {
        name: [_seal_one(v) for v in values] if split_instance(name)[0] in names else values
        for name, values in answers.items()
    }


def reveal(value: str) -> str:
    """A stored answer as given; plain text passes through unchanged."""
    if not value.startswith(PREFIX):
        return value
    try:
        return _fernet().decrypt(value[len(PREFIX) :].encode("ascii")).decode("utf-8")
    except InvalidToken as exc:
        raise DataKeyError(
            "a sensitive answer cannot be decrypted with the configured data keys "
            "(a key is missing from INTAKE_DATA_KEYS or instance/data_keys)"
        ) from exc


def _seal_one(value: str) -> str:
    return PREFIX + _fernet().encrypt(value.encode("utf-8")).decode("ascii")


def key_file() -> Path:
    """instance/data_keys, or INTAKE_DATA_KEYS_FILE."""
    given = current_app.config.get("DATA_KEYS_FILE")
    return Path(given) if given else Path(current_app.instance_path) / "data_keys"


def configured_keys(create: bool = True) -> list[str]:
    """The keys, first one encrypting; from INTAKE_DATA_KEYS or the instance file."""
    given = current_app.config.get("DATA_KEYS")
    if given:
        keys = given.replace(",", " ").split() if isinstance(given, str) else list(given)
    else:
        path = key_file()
        if not path.exists():
            if not create:
                return []
            path.parent.mkdir(parents=True, exist_ok=True)
            _write_keys(path, [Fernet.generate_key().decode()])
        keys = path.read_text(encoding="ascii").split()
    bad = [k for k in keys if not KEY_RE.match(k)]
    if not keys or bad:
        raise DataKeyError(
            "INTAKE_DATA_KEYS (or instance/data_keys) must hold Fernet keys: 44 characters "
            "each, made with `flask --app intake data-keys new`"
        )
    return keys


def _write_keys(path: Path, keys: list[str]) -> None:
    partial = path.with_suffix(".part")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as out:
        out.write("\n".join(keys) + "\n")
    partial.replace(path)


def _fernet() -> MultiFernet:
    """The keys of this request (or CLI command), read once: an export decrypts many values."""
    if "intake_fernet" not in g:
        g.intake_fernet = MultiFernet([Fernet(k.encode()) for k in configured_keys()])
    return g.intake_fernet


def add_new_key() -> str:
    """Put a new key first in instance/data_keys (not with INTAKE_DATA_KEYS: the operator
    changes the environment). Returns the new key."""
    if current_app.config.get("DATA_KEYS"):
        raise DataKeyError(
            "the keys come from INTAKE_DATA_KEYS: put a new key (`data-keys new`) first "
            "there and restart, then run `data-keys rotate`"
        )
    keys = configured_keys()
    new = Fernet.generate_key().decode()
    _write_keys(key_file(), [new, *keys])
    g.pop("intake_fernet", None)
    return new


def rotate(token: str) -> str:
    """A stored sensitive answer re-encrypted with the first key."""
    if not token.startswith(PREFIX):
        return _seal_one(token)
    return PREFIX + _fernet().rotate(token[len(PREFIX) :].encode("ascii")).decode("ascii")
