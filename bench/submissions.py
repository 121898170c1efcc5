"""Submissions per second through the whole public path under gunicorn, against a bare
Flask + SQLite insert measured in the same run; the form page's size and server time.

Run: .venv/bin/python bench/submissions.py [--seconds 10] [--clients 16] [--workers 2]

Both servers run under gunicorn with the same settings (docs/deploy/gunicorn.conf.py,
the given number of workers, 4 threads each) on 127.0.0.1, each on a fresh SQLite
database in WAL mode. The same client drives both: `--clients` threads with keep-alive
connections, each looping "GET the form page, read its CSRF token and idempotency key,
POST the answers, expect 303". The baseline app does the least a server can do for that
loop: its page carries a random key, its POST inserts one row. Intake's path renders the
volunteer form (every language's strings, WTForms, CSRF), validates every answer and
stores the response and its ~18 answer rows in one transaction. The ratio is Intake's
rate over the baseline's. The client runs on the same two cores, so both numbers are
lower than with a load generator on another machine; the ratio is what to compare.
"""

from __future__ import annotations

import argparse
import http.client
import os
import platform
import re
import secrets
import statistics
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
import urllib.parse
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.conftest import VOLUNTEER_ANSWERS  # noqa: E402

GUNICORN = str(Path(sys.executable).parent / "gunicorn")
FORM_PATH = "/f/volunteer?lang=de&district=mainz-bingen"
BASELINE_APP = textwrap.dedent(
    """
    import os, secrets, sqlite3, threading
    from flask import Flask, request, redirect
    app = Flask(__name__)
    DB = os.environ["BENCH_DB"]
    local = threading.local()
    def db():
        if not hasattr(local, "c"):
            local.c = sqlite3.connect(DB, timeout=15, isolation_level=None)
            local.c.execute("PRAGMA journal_mode=WAL")
            local.c.execute("PRAGMA synchronous=NORMAL")
        return local.c
    @app.get("/f/volunteer")
    def page():
        key = secrets.token_urlsafe(24)
        return (f'<form method="post"><input name="csrf_token" type="hidden" value="x">'
                f'<input name="idempotency_key" type="hidden" value="{key}"></form>')
    @app.post("/f/volunteer")
    def store():
        db().execute("INSERT INTO response(key, body) VALUES (?, ?)",
                     (request.form["idempotency_key"], request.get_data(as_text=True)))
        return redirect("/thanks", code=303)
    """
)


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve(app: str, env: dict, workers: int, cwd: Path) -> tuple[subprocess.Popen, int]:
    port = free_port()
    process = subprocess.Popen(
        [
            GUNICORN,
            "--config",
            str(ROOT / "docs/deploy/gunicorn.conf.py"),
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(workers),
            "--threads",
            "4",
            "--access-logfile",
            "/dev/null",
            app,
        ],
        env=env,
        cwd=cwd,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            connection.request("GET", "/healthz")
            connection.getresponse().read()
            connection.close()
            return process, port
        except OSError:
            time.sleep(0.3)
    process.kill()
    raise RuntimeError(f"{app} did not start")


def hidden(html: str, name: str) -> str:
    return re.search(rf'name="{name}" type="hidden" value="([^"]*)"', html).group(1)


def drive(port: int, seconds: float, clients: int) -> tuple[int, int]:
    """Run the loop for `seconds`; returns (stored, errors)."""
    stop = time.monotonic() + seconds
    counts = [0] * clients
    errors = [0] * clients

    def client(i: int) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        cookie = ""
        while time.monotonic() < stop:
            try:
                connection.request("GET", FORM_PATH, headers={"Cookie": cookie})
                response = connection.getresponse()
                html = response.read().decode()
                cookie = (response.getheader("Set-Cookie") or cookie).split(";")[0] or cookie
                data = dict(VOLUNTEER_ANSWERS)
                data.update({k: hidden(html, k) for k in ("csrf_token", "idempotency_key")})
                data.update(district="mainz-bingen", src="")
                body = urllib.parse.urlencode(data, doseq=True)
                connection.request(
                    "POST",
                    "/f/volunteer",
                    body=body,
                    headers={"Content-Type": "application/x-www-form-urlencoded", "Cookie": cookie},
                )
                response = connection.getresponse()
                response.read()
                if response.status == 303:
                    counts[i] += 1
                else:
                    errors[i] += 1
            except (OSError, http.client.HTTPException, AttributeError):
                errors[i] += 1
                connection.close()
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sum(counts), sum(errors)


def page_facts(port: int, repeat: int = 50) -> tuple[int, float]:
    """Bytes of the form page (as sent, uncompressed) and the median time to get it."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    times, size = [], 0
    for _ in range(repeat):
        started = time.perf_counter()
        connection.request("GET", FORM_PATH)
        body = connection.getresponse().read()
        times.append(time.perf_counter() - started)
        size = len(body)
    connection.close()
    return size, statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="intake-bench-"))

    # The baseline: bare Flask, one INSERT per POST.
    import sqlite3

    base_db = folder / "baseline.sqlite3"
    with sqlite3.connect(base_db) as c:
        c.execute("PRAGMA journal_mode=WAL")
        c.execute("CREATE TABLE response(id INTEGER PRIMARY KEY, key TEXT UNIQUE, body TEXT)")
    (folder / "baseline_app.py").write_text(
        BASELINE_APP + '\n@app.get("/healthz")\ndef h():\n    return "ok"\n'
    )
    env = {**os.environ, "BENCH_DB": str(base_db)}
    process, port = serve("baseline_app:app", env, args.workers, folder)
    try:
        drive(port, 2, args.clients)  # warm up
        base, base_errors = drive(port, args.seconds, args.clients)
    finally:
        process.terminate()
        process.wait()

    # Intake, migrated and seeded with the demo forms.
    db_url = f"sqlite:///{folder / 'intake.sqlite3'}"
    env = {
        **os.environ,
        "INTAKE_ENVIRONMENT": "production",
        "INTAKE_SECRET_KEY": secrets.token_urlsafe(48),
        "INTAKE_DATABASE_URL": db_url,
        "INTAKE_SESSION_COOKIE_SECURE": "false",
    }
    flask = [str(Path(sys.executable).parent / "flask"), "--app", "intake"]
    subprocess.run(flask + ["db", "upgrade"], env=env, cwd=ROOT, check=True, capture_output=True)
    subprocess.run(flask + ["seed-demo"], env=env, cwd=ROOT, check=True, capture_output=True)
    process, port = serve("intake:create_app()", env, args.workers, ROOT)
    try:
        size, page_seconds = page_facts(port)
        drive(port, 2, args.clients)  # warm up
        rate_before = time.monotonic()
        stored, errors = drive(port, args.seconds, args.clients)
        elapsed = time.monotonic() - rate_before
    finally:
        process.terminate()
        process.wait()
    with sqlite3.connect(folder / "intake.sqlite3") as c:
        rows = c.execute("SELECT count(*) FROM response").fetchone()[0]

    base_rate = base / args.seconds
    rate = stored / elapsed
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    )
    setup = f"{args.workers} workers x 4 threads; {args.clients} client threads"
    print(f"gunicorn: {setup}; {args.seconds:.0f} s each")
    print(f"baseline (bare Flask + SQLite insert): {base_rate:.0f}/s ({base_errors} errors)")
    print(f"Intake (render, POST with CSRF, validate, store): {rate:.0f}/s ({errors} errors)")
    print(f"ratio: {rate / base_rate:.2f} of the baseline")
    print(f"form page: {size} bytes, median {page_seconds * 1000:.1f} ms per GET (one connection)")
    print(f"responses in the database: {rows} (warm-up included)")


if __name__ == "__main__":
    main()
