"""Submissions per second through the whole public path under gunicorn, against a bare
Flask + SQLite insert measured in the same run; the form page's size and server time.

Run: .venv/bin/python bench/submissions.py [--seconds 10] [--clients 8] [--workers 2]
     [--threads 1] [--split]          (needs wrk: apt-get install wrk)

Both servers run under gunicorn with the same settings (docs/deploy/gunicorn.conf.py
with the given workers and threads) on 127.0.0.1, each on a fresh SQLite database in
WAL mode. The same load generator drives both: wrk (written in C, so it takes little
of the machine), `--clients` connections with keep-alive, each looping "GET the form
page, read its CSRF token, session cookie and idempotency key, POST the answers, expect
303". The baseline app does the least a server can do for that loop: its page carries a
random key, its POST inserts one row. Intake's path renders the volunteer form (every
language's strings, WTForms, CSRF), validates every answer and stores the response and
its ~18 answer rows in one transaction. The ratio is Intake's rate over the baseline's.
`--split` pins the servers to the first core and wrk to the second.
"""

from __future__ import annotations

import argparse
import http.client
import os
import platform
import re
import secrets
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import textwrap
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


def serve(
    app: str, env: dict, workers: int, threads: int, cwd: Path, cores: str | None
) -> tuple[subprocess.Popen, int]:
    port = free_port()
    command = [
        GUNICORN,
        "--config",
        str(ROOT / "docs/deploy/gunicorn.conf.py"),
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        str(workers),
        "--threads",
        str(threads),
        "--access-logfile",
        "/dev/null",
        # No worker restarts during a run: a restarted worker's CPU time would be lost.
        "--max-requests",
        "0",
        app,
    ]
    if cores:
        command = ["taskset", "-c", cores, *command]
    process = subprocess.Popen(
        command, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
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


#: wrk (a load generator written in C) runs the loop; each of its threads holds one
#: connection, so the Lua state of a thread is the state of its connection.
WRK_SCRIPT = """
local answers = %(answers)s
local state, token, key, cookie = "get", "", "", nil
stored, failed = 0, 0

function setup(thread) table.insert(threads, thread) end

request = function()
  local headers = {}
  if cookie then headers["Cookie"] = cookie end
  if state == "get" then return wrk.format("GET", %(form_path)s, headers) end
  headers["Content-Type"] = "application/x-www-form-urlencoded"
  local body = answers .. "&csrf_token=" .. token .. "&idempotency_key=" .. key
  return wrk.format("POST", %(post_path)s, headers, body)
end

response = function(status, headers, body)
  if state == "get" then
    token = body:match('name="csrf_token" type="hidden" value="([^"]*)"') or ""
    key = body:match('name="idempotency_key" type="hidden" value="([^"]*)"') or ""
    local set = headers["Set-Cookie"] or headers["set-cookie"]
    if set then cookie = set:match("^([^;]*)") end
    state = "post"
  else
    if status == 303 then stored = stored + 1 else failed = failed + 1 end
    state = "get"
  end
end
"""
WRK_DONE = """
threads = {}
done = function(summary, latency, requests)
  local s, f = 0, 0
  for _, t in ipairs(threads) do s = s + t:get("stored"); f = f + t:get("failed") end
  io.write(string.format("STORED %d FAILED %d\\n", s, f))
end
"""


def lua_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def drive(port: int, seconds: float, clients: int, cores: str | None) -> tuple[int, int, float]:
    """Run the loop for `seconds` with wrk; returns (stored, errors, seconds measured)."""
    data = dict(VOLUNTEER_ANSWERS)
    data.update(district="mainz-bingen", src="")
    script = WRK_DONE + WRK_SCRIPT % {
        "answers": lua_string(urllib.parse.urlencode(data, doseq=True)),
        "form_path": lua_string(FORM_PATH),
        "post_path": lua_string("/f/volunteer"),
    }
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write(script)
    command = ["wrk", "-t", str(clients), "-c", str(clients), "-d", f"{seconds:.0f}s", "-s", f.name]
    if cores:
        command = ["taskset", "-c", cores, *command]
    started = time.monotonic()
    out = subprocess.run(
        [*command, f"http://127.0.0.1:{port}/"], capture_output=True, text=True, check=True
    ).stdout
    elapsed = time.monotonic() - started
    os.unlink(f.name)
    found = re.search(r"STORED (\d+) FAILED (\d+)", out)
    return int(found.group(1)), int(found.group(2)), elapsed


def server_cpu(process: subprocess.Popen) -> float:
    """CPU seconds (user + system) used so far by gunicorn's master and its workers."""
    tick = os.sysconf("SC_CLK_TCK")
    pids = [process.pid]
    children = Path(f"/proc/{process.pid}/task/{process.pid}/children")
    if children.exists():
        pids += [int(pid) for pid in children.read_text().split()]
    total = 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except FileNotFoundError:
            continue
        total += (int(fields[11]) + int(fields[12])) / tick  # utime, stime
    return total


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
    parser.add_argument("--clients", type=int, default=8, help="wrk connections (one per thread)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1, help="gunicorn threads per worker")
    parser.add_argument(
        "--split",
        action="store_true",
        help="servers on the first core, wrk on the second (default: all share every core)",
    )
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("bench/submissions.py needs wrk: apt-get install wrk")
    server_cores, client_cores = ("0", "1") if args.split else (None, None)
    folder = Path(tempfile.mkdtemp(prefix="intake-bench-"))

    def measure(app: str, env: dict, cwd: Path) -> tuple[float, int, tuple[int, float], float]:
        """(pairs per second, errors, page facts, server CPU seconds per pair)."""
        process, port = serve(app, env, args.workers, args.threads, cwd, server_cores)
        try:
            facts = page_facts(port)
            drive(port, 2, args.clients, client_cores)  # warm up
            cpu_before = server_cpu(process)
            stored, errors, elapsed = drive(port, args.seconds, args.clients, client_cores)
            cpu = (server_cpu(process) - cpu_before) / max(stored, 1)
        finally:
            process.terminate()
            process.wait()
        return stored / elapsed, errors, facts, cpu

    # The baseline: bare Flask, one INSERT per POST.
    base_db = folder / "baseline.sqlite3"
    with sqlite3.connect(base_db) as c:
        c.execute("PRAGMA journal_mode=WAL")
        c.execute("CREATE TABLE response(id INTEGER PRIMARY KEY, key TEXT UNIQUE, body TEXT)")
    (folder / "baseline_app.py").write_text(
        BASELINE_APP + '\n@app.get("/healthz")\ndef h():\n    return "ok"\n'
    )
    env = {**os.environ, "BENCH_DB": str(base_db)}
    base_rate, base_errors, _facts, base_cpu = measure("baseline_app:app", env, folder)

    # Intake, migrated and seeded with the demo forms.
    db_url = f"sqlite:///{folder / 'intake.sqlite3'}"
    env = {
        **os.environ,
        "INTAKE_ENVIRONMENT": "production",
        "INTAKE_SECRET_KEY": secrets.token_urlsafe(48),
        "INTAKE_DATABASE_URL": db_url,
        "INTAKE_SESSION_COOKIE_SECURE": "false",
        "INTAKE_PUBLIC_URL": "http://127.0.0.1",
        # All load comes from one address, which the per-address limit exists to stop;
        # a limit that is never reached still costs its check on every submission.
        "INTAKE_SUBMIT_LIMIT_PER_ADDRESS": "1000000 per minute",
    }
    flask = [str(Path(sys.executable).parent / "flask"), "--app", "intake"]
    subprocess.run(flask + ["db", "upgrade"], env=env, cwd=ROOT, check=True, capture_output=True)
    subprocess.run(flask + ["seed-demo"], env=env, cwd=ROOT, check=True, capture_output=True)
    rate, errors, (size, page_seconds), cpu = measure("intake:create_app()", env, ROOT)
    with sqlite3.connect(folder / "intake.sqlite3") as c:
        rows = c.execute("SELECT count(*) FROM response").fetchone()[0]

    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    )
    where = "servers on core 0, wrk on core 1" if args.split else "servers and wrk share the cores"
    setup = f"{args.workers} workers x {args.threads} threads; {args.clients} wrk connections"
    print(f"gunicorn: {setup}; {where}; {args.seconds:.0f} s each")
    print(f"baseline (bare Flask + SQLite insert): {base_rate:.0f}/s ({base_errors} errors)")
    print(f"Intake (render, POST with CSRF, validate, store): {rate:.0f}/s ({errors} errors)")
    print(f"ratio: {rate / base_rate:.2f} of the baseline")
    print(
        f"server CPU per GET + POST pair: baseline {base_cpu * 1000:.2f} ms, "
        f"Intake {cpu * 1000:.2f} ms ({cpu / base_cpu:.1f}x)"
    )
    print(f"form page: {size} bytes, median {page_seconds * 1000:.1f} ms per GET (one connection)")
    print(f"responses in the database: {rows} (warm-up included)")


if __name__ == "__main__":
    main()
