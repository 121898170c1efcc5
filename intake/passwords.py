"""Password hashing with argon2id (argon2-cffi's defaults follow RFC 9106), and the rules
for new passwords: 12 to 256 characters, not the email address, and not guessable.

"Guessable" is zxcvbn's verdict (offline: its lists of common passwords, names, words and
keyboard patterns, plus repeats, sequences and dates), score 3 ("safely unguessable") or
better, with the account's email and the service's own names counted as known words
(ASVS V6.2.4). zxcvbn's time grows faster than the length: measured on a 2-core machine,
0.01-0.1 s for 72 characters (0.3 s under heavy load), 0.13 s for 100, 1.3 s for 256.
So it scores only the first SCORED_LENGTH characters, zxcvbn's own limit (a password
whose start is strong is strong), and passwords over MAX_PASSWORD_LENGTH are refused
before anything else.
"""

from __future__ import annotations

import re
import threading

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from zxcvbn import zxcvbn

_hasher = PasswordHasher()
# Verified against when the account does not exist, so both cases take as long.
_DUMMY_HASH = _hasher.hash("intake-no-such-account")

MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 256
SCORED_LENGTH = 72
MIN_SCORE = 3
#: Words a guesser tries first against this service, besides the account's email.
SERVICE_WORDS = ("intake", "mainz", "bingen", "kreuznach", "landkreis", "integration")

# zxcvbn keeps the user inputs of a call in a module-level dictionary: two threads
# judging at once would mix their accounts' words.
_zxcvbn_lock = threading.Lock()

#: Plain-English reasons, for the command line; the back office translates the codes.
PROBLEMS = {
    "short": f"the password must have at least {MIN_PASSWORD_LENGTH} characters",
    "long": f"the password must have at most {MAX_PASSWORD_LENGTH} characters",
    "email": "the password must not contain the email address",
    "guessable": (
        "this password is too easy to guess: avoid common passwords, single words, names, "
        "repeated characters and sequences. A sentence of four or more unusual words is easy "
        "to remember and hard to guess"
    ),
}


def hash_password(password: str) -> str:
    """An argon2id hash of `password`."""
    return _hasher.hash(password)


def verify_password(stored_hash: str | None, password: str) -> bool:
    """True when `password` matches; constant work whether or not the account exists."""
    try:
        return _hasher.verify(stored_hash or _DUMMY_HASH, password) and stored_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def weakness(password: str, email: str | None = None) -> str | None:
    """Why a new password is not acceptable, as a key of PROBLEMS, or None."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return "short"
    if len(password) > MAX_PASSWORD_LENGTH:
        return "long"
    if email and email.strip().lower() in password.lower():
        return "email"
    with _zxcvbn_lock:
        score = zxcvbn(password[:SCORED_LENGTH], user_inputs=_known_words(email))["score"]
    return "guessable" if score < MIN_SCORE else None


def password_problem(password: str, email: str | None = None) -> str | None:
    """Why a new password is not acceptable, or None (plain English, as the CLI says it)."""
    code = weakness(password, email)
    return PROBLEMS[code] if code else None


def _known_words(email: str | None) -> list[str]:
    """The email, its local part and its pieces (anna.schmidt, anna, schmidt, example)."""
    words = list(SERVICE_WORDS)
    if email:
        email = email.strip().lower()
        words += [email, email.partition("@")[0], *re.split(r"[^\w]+|_", email)]
    return [word for word in words if len(word) >= 3]
