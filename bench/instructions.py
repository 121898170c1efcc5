"""Instructions per GET + POST pair on the submission path, against a bare Flask + SQLite
insert, counted by valgrind's callgrind (independent of the machine's load).

Run: .venv/bin/python bench/instructions.py [--pairs 100]     (needs valgrind)

Both apps run in-process, called as WSGI apps the way a server calls them: GET the
form page, read its CSRF token and idempotency key, POST the answers, expect 303. The
baseline is the bare app
of bench/submissions.py (its page carries a random key, its POST inserts one row).
Intake's pair is the volunteer form of the demo, in German, for Mainz-Bingen, with
every answer of tests/conftest.py's VOLUNTEER_ANSWERS. Each app is counted twice under
callgrind, with 10 and with 10 + `--pairs` pairs after the same start-up and warm-up;
the difference divided by `--pairs` is what one pair costs in steady state, without
imports, migrations or first-request caches.
"""

from __future__ import annotations

import argparse
import io
import os
import re
import secrets
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import urllib.parse
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

FORM_PATH = "/f/volunteer?lang=de&district=mainz-bingen"
WARM = 10


def _intake_app(_folder: Path):
    from intake import create_app

    return create_app()  # configured by the environment (_prepare)


def _baseline_app(folder: Path):
    from bench.submissions import BASELINE_APP

    os.environ["BENCH_DB"] = str(folder / "baseline.sqlite3")
    scope: dict = {"__name__": "baseline_app", "__file__": str(folder / "baseline_app.py")}
    exec(compile(BASELINE_APP, "baseline_app", "exec"), scope)  # noqa: S102 - our own text
    return scope["app"]


def _call(app, method: str, path: str, cookie: str, body: bytes = b"") -> tuple[str, dict, bytes]:
    """One request straight into the WSGI app, as a server would make it (no test client,
    whose own work would be counted for both apps)."""
    target, _, query = path.partition("?")
    environ = {
        "REQUEST_METHOD": method,
        "SCRIPT_NAME": "",
        "PATH_INFO": target,
        "QUERY_STRING": query,
        "SERVER_NAME": "localhost",
        "SERVER_PORT": "80",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "HTTP_HOST": "localhost",
        "HTTP_COOKIE": cookie,
        "CONTENT_TYPE": "application/x-www-form-urlencoded",
        "CONTENT_LENGTH": str(len(body)),
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": False,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
    }
    started: dict = {}

    def start_response(status, headers, exc_info=None):
        started["status"], started["headers"] = status, headers

    chunks = app(environ, start_response)
    try:
        data = b"".join(chunks)
    finally:
        getattr(chunks, "close", lambda: None)()
    return started["status"], dict(started["headers"]), data


def _hidden(page: str, name: str) -> str:
    """The value of a hidden input of the page (the client's side, kept small)."""
    start = page.find(f'name="{name}" type="hidden" value="')
    if start < 0:
        return ""
    start = page.index('value="', start) + 7
    return page[start : page.index('"', start)]


def _pairs(app, count: int) -> None:
    """GET the form, POST its answers, `count` times; each POST must be stored (303).

    What a client does (encoding the answers, finding the key) is kept out of the count
    as far as it can be: the answers are encoded once, the key found with `str.find`.
    """
    from tests.conftest import VOLUNTEER_ANSWERS

    answers = urllib.parse.urlencode(
        dict(VOLUNTEER_ANSWERS, district="mainz-bingen", src=""), doseq=True
    )
    cookie = ""
    for _ in range(count):
        _status, headers, page = _call(app, "GET", FORM_PATH, cookie)
        if "Set-Cookie" in headers:
            cookie = headers["Set-Cookie"].split(";", 1)[0]
        text = page.decode()
        key, token = _hidden(text, "idempotency_key"), _hidden(text, "csrf_token")
        body = f"{answers}&idempotency_key={key}&csrf_token={token}".encode()
        status, headers, _page = _call(app, "POST", "/f/volunteer", cookie, body)
        if not status.startswith("303"):
            raise SystemExit(f"POST answered {status}, not 303")
        if "Set-Cookie" in headers:
            cookie = headers["Set-Cookie"].split(";", 1)[0]


def inner(which: str, folder: Path, count: int) -> None:
    """The measured process: start the app, warm it up, then `count` more pairs."""
    app = _intake_app(folder) if which == "intake" else _baseline_app(folder)
    _pairs(app, WARM + count)


def _prepare(folder: Path) -> dict:
    """A migrated, seeded Intake database and the baseline's table; the environment."""
    env = {
        **os.environ,
        "INTAKE_ENVIRONMENT": "production",
        "INTAKE_SECRET_KEY": secrets.token_urlsafe(48),
        "INTAKE_DATABASE_URL": f"sqlite:///{folder / 'intake.sqlite3'}",
        "INTAKE_SESSION_COOKIE_SECURE": "false",
        "INTAKE_PUBLIC_URL": "http://localhost",
        # One client sends every pair; the limit it would hit still costs its check.
        "INTAKE_SUBMIT_LIMIT_PER_ADDRESS": "1000000 per minute",
        "PYTHONHASHSEED": "0",
    }
    flask = [str(Path(sys.executable).parent / "flask"), "--app", "intake"]
    for command in (["db", "upgrade"], ["seed-demo"]):
        subprocess.run(flask + command, env=env, cwd=ROOT, check=True, capture_output=True)
    with sqlite3.connect(folder / "baseline.sqlite3") as c:
        c.execute("PRAGMA journal_mode=WAL")
        c.execute("CREATE TABLE response(id INTEGER PRIMARY KEY, key TEXT UNIQUE, body TEXT)")
    return env


def count_instructions(which: str, folder: Path, pairs: int, env: dict) -> int:
    """All instructions of one process running WARM + `pairs` pairs, by callgrind."""
    out = folder / f"callgrind.{which}.{pairs}"
    command = [
        "valgrind",
        "--tool=callgrind",
        f"--callgrind-out-file={out}",
        sys.executable,
        __file__,
        "--inner",
        which,
        "--folder",
        str(folder),
        "--pairs",
        str(pairs),
    ]
    done = subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(f"{which} failed under callgrind:\n{done.stderr[-3000:]}")
    totals = re.search(r"^(?:summary|totals): (\d+)", out.read_text(), re.MULTILINE)
    return int(totals.group(1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=100)
    parser.add_argument("--inner", choices=("intake", "baseline"), help=argparse.SUPPRESS)
    parser.add_argument("--folder", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.inner:
        inner(args.inner, args.folder, args.pairs)
        return
    if shutil.which("valgrind") is None:
        sys.exit("bench/instructions.py needs valgrind: apt-get install valgrind")
    folder = Path(tempfile.mkdtemp(prefix="intake-instr-"))
    env = _prepare(folder)
    per_pair = {}
    for which in ("baseline", "intake"):
        short = count_instructions(which, folder, 0, env)
        long = count_instructions(which, folder, args.pairs, env)
        per_pair[which] = (long - short) / args.pairs
        print(f"{which}: {per_pair[which] / 1e6:.2f} M instructions per GET + POST pair")
    print(f"ratio: {per_pair['intake'] / per_pair['baseline']:.1f}x the bare pair")
    shutil.rmtree(folder)


if __name__ == "__main__":
    main()
