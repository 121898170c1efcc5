"""Two app processes (gunicorn) on one PostgreSQL and one Redis, as a state-wide deployment
runs them behind a proxy: a submission sent to both at once is stored once, failed logins
and new responses per address are limited across both; a worker killed or the server
stopped during submissions loses nothing that was acknowledged.

Needs the PostgreSQL and Redis of the development and CI machines (127.0.0.1:5432 and
127.0.0.1:6379); skipped, saying so, where they do not answer.
"""

from __future__ import annotations

import http.client
import http.cookiejar
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.conftest import PASSWORD, VOLUNTEER_ANSWERS

PG_URL = os.environ.get("PG_TEST_URL", "postgresql+psycopg://postgres@127.0.0.1/test")
REDIS_URL = os.environ.get("INTAKE_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
ROOT = Path(__file__).resolve().parents[1]


def _reachable(check) -> bool:
    try:
        check()
    except Exception:  # noqa: BLE001 - any failure means "not here"
        return False
    return True


def _pg() -> None:
    engine = sa.create_engine(PG_URL, poolclass=sa.pool.NullPool)
    try:
        engine.connect().close()
    finally:
        engine.dispose()


def _redis() -> None:
    import redis

    redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping()


pytestmark = [
    pytest.mark.skipif(not _reachable(_pg), reason=f"no PostgreSQL at {PG_URL}"),
    pytest.mark.skipif(not _reachable(_redis), reason=f"no Redis at {REDIS_URL}"),
    pytest.mark.skipif(
        shutil.which("gunicorn", path=str(Path(sys.executable).parent)) is None,
        reason="gunicorn is not installed (test extra)",
    ),
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Instance:
    """One gunicorn process serving the app."""

    def __init__(
        self,
        env: dict[str, str],
        workers: int = 1,
        log: Path | None = None,
        port: int | None = None,
        extra: tuple[str, ...] = (),
    ):
        self.port = port or _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        gunicorn = str(Path(sys.executable).parent / "gunicorn")
        self.process = subprocess.Popen(
            [
                gunicorn,
                "--config",
                str(ROOT / "docs" / "deploy" / "gunicorn.conf.py"),
                "--bind",
                f"127.0.0.1:{self.port}",
                "--workers",
                str(workers),
                "--access-logfile",
                str(log or "/dev/null"),
                *extra,
                "intake:create_app()",
            ],
            env=env,
            cwd=ROOT,
            # Its own process group, like the unit's control group under systemd.
            start_new_session=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(self.url + "/healthz", timeout=1).close()  # noqa: S310 (http only)
                return
            except OSError:
                if self.process.poll() is not None:
                    raise RuntimeError(self.process.stderr.read().decode()[-2000:]) from None
                time.sleep(0.2)
        raise RuntimeError("gunicorn did not start")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
        self.process.stderr.close()


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


class Browser:
    """Cookies and no automatic redirects: what a form page and its POST need."""

    def __init__(self):
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(self.jar), _NoRedirect()
        )

    def get(self, url: str) -> str:
        with self.opener.open(url, timeout=30) as response:
            return response.read().decode()

    def post(self, url: str, data: dict) -> int:
        body = urllib.parse.urlencode(data, doseq=True).encode()
        try:
            with self.opener.open(url, data=body, timeout=30) as response:
                return response.status
        except urllib.error.HTTPError as error:
            error.close()
            return error.code


def _hidden(html: str, name: str) -> str:
    return re.search(rf'name="{name}" type="hidden" value="([^"]*)"', html).group(1)


@pytest.fixture
def deployment(tmp_path):
    """A fresh schema, migrated and seeded, and the environment of an app process."""
    from flask_migrate import upgrade

    from intake import create_app, demo
    from intake.extensions import db

    schema = f"two_{secrets.token_hex(5)}"
    admin = sa.create_engine(PG_URL)
    with admin.begin() as connection:
        connection.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    url = f"{PG_URL}?options=-csearch_path%3D{schema}"
    secret = secrets.token_urlsafe(48)
    app = create_app({"TESTING": True, "SECRET_KEY": secret, "DATABASE_URL": url})
    with app.app_context():
        upgrade(directory=app.extensions["migrate"].directory)
        demo.seed()
        from intake.passwords import hash_password
        from intake.storage.models import User

        db.session.add(
            User(email="mz@example.org", role="coordinator", password_hash=hash_password(PASSWORD))
        )
        db.session.commit()
        db.engine.dispose()
    env = {
        **os.environ,
        "INTAKE_ENVIRONMENT": "production",
        "INTAKE_PUBLIC_URL": "http://127.0.0.1",
        "INTAKE_SECRET_KEY": secret,
        "INTAKE_DATABASE_URL": url,
        "INTAKE_SESSION_COOKIE_SECURE": "false",
        "INTAKE_RATELIMIT_STORAGE_URI": REDIS_URL,
        "INTAKE_RATELIMIT_KEY_PREFIX": f"test-{schema}",
        "INTAKE_REPORT_FOLDER": str(tmp_path / "reports"),
    }
    yield env, url
    with admin.begin() as connection:
        connection.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


def _count(url: str) -> int:
    engine = sa.create_engine(url)
    with engine.connect() as connection:
        n = connection.execute(sa.text("SELECT count(*) FROM response")).scalar_one()
    engine.dispose()
    return n


def test_two_instances_store_a_submission_once_and_share_login_limits(deployment, tmp_path):
    env, url = deployment
    log = tmp_path / "access.log"
    first, second = Instance(env, log=log), Instance(env)
    try:
        # Exactly once: ten forms, each posted to both instances at the same moment
        # (a proxy retrying on the other instance, a double click, a replay).
        browser = Browser()
        posts = []
        for _ in range(10):
            html = browser.get(f"{first.url}/f/volunteer?lang=de&district=mainz-bingen")
            data = {
                k: _hidden(html, k) for k in ("csrf_token", "idempotency_key", "district", "src")
            }
            data.update(VOLUNTEER_ANSWERS)
            posts += [(first, data), (second, data)]
        with ThreadPoolExecutor(max_workers=8) as pool:
            codes = list(pool.map(lambda p: browser.post(f"{p[0].url}/f/volunteer", p[1]), posts))
        assert codes == [303] * 20
        assert _count(url) == 10

        # Limits: five failed logins for one account, spread over both instances; the
        # sixth is refused on either, because both count in Redis.
        login = Browser()
        html = login.get(f"{first.url}/admin/login")
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html).group(1)
        wrong = {"email": "mz@example.org", "password": "wrong password!", "csrf_token": token}
        codes = [login.post(f"{inst.url}/admin/login", wrong) for inst in (first, second) * 3]
        assert codes == [422] * 5 + [429]
        right = dict(wrong, password=PASSWORD)
        assert login.post(f"{first.url}/admin/login", right) == 429  # still limited

        # gunicorn's access log: request lines without query strings or kiosk tokens.
        browser.get(f"{first.url}/f/volunteer?district=mainz-bingen&email=anna%40example.org")
    finally:
        first.stop()
        second.stop()
    lines = log.read_text()
    assert '"GET /f/volunteer?[redacted] HTTP/1.1" 200' in lines
    assert "anna" not in lines
    assert "mainz-bingen" not in lines


def test_two_instances_share_the_limit_of_new_responses_per_address(deployment):
    env, url = deployment
    env = {**env, "INTAKE_SUBMIT_LIMIT_PER_ADDRESS": "3 per 10 minutes"}
    first, second = Instance(env), Instance(env)
    browser = Browser()

    def send(instance: Instance) -> int:
        html = browser.get(f"{instance.url}/f/volunteer?lang=de&district=mainz-bingen")
        data = {k: _hidden(html, k) for k in ("csrf_token", "idempotency_key", "district", "src")}
        data.update(VOLUNTEER_ANSWERS)
        return browser.post(f"{instance.url}/f/volunteer?lang=de", data)

    try:
        codes = [send(instance) for instance in (first, second, first, second, first)]
    finally:
        first.stop()
        second.stop()
    assert codes == [303, 303, 303, 429, 429]  # three in all, not three per process
    assert _count(url) == 3


def _workers(master: int) -> list[int]:
    """The worker processes gunicorn's master `master` has forked (from /proc, Linux)."""
    children = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:  # the process ended meanwhile
            continue
        if int(fields[1]) == master:  # field 4 of stat: the parent's pid
            children.append(int(stat.parent.name))
    return children


def test_killing_a_worker_during_a_burst_loses_no_acknowledged_submission(deployment):
    """SIGKILL one of two workers while 60 people submit; every person whose browser got
    no answer sends again (same page, same key). In the end each of them is stored once."""
    import signal

    env, url = deployment
    instance = Instance(env, workers=2)
    try:
        killed = []

        def person(i: int) -> int:
            browser = Browser()
            for _attempt in range(100):
                try:
                    html = browser.get(f"{instance.url}/f/volunteer?lang=de&district=mainz-bingen")
                    break
                # Reset, or cut off mid-page by the dying worker (IncompleteRead): a person
                # reloads. An error page is an OSError too: the assertion below tells.
                except (OSError, http.client.HTTPException):
                    time.sleep(0.1)
            else:
                return 0
            data = {
                k: _hidden(html, k) for k in ("csrf_token", "idempotency_key", "district", "src")
            }
            data.update(VOLUNTEER_ANSWERS, first_name=f"Person {i}")
            if i == 20:  # a third of the way in: one worker dies mid-burst
                pid = _workers(instance.process.pid)[0]
                os.kill(pid, signal.SIGKILL)
                killed.append(pid)
            for _attempt in range(50):
                try:
                    code = browser.post(f"{instance.url}/f/volunteer", data)
                except (OSError, http.client.HTTPException):  # the dying worker: no answer
                    time.sleep(0.1)
                    continue
                if code == 303:
                    return code
                time.sleep(0.1)
            return 0

        with ThreadPoolExecutor(max_workers=12) as pool:
            codes = list(pool.map(person, range(60)))
        assert killed
        assert codes == [303] * 60
        assert _count(url) == 60
        engine = sa.create_engine(url)
        with engine.connect() as connection:
            names = (
                connection.execute(sa.text("SELECT value FROM answer WHERE field = 'first_name'"))
                .scalars()
                .all()
            )
        engine.dispose()
        assert sorted(names) == sorted(f"Person {i}" for i in range(60))
    finally:
        instance.stop()


def test_stopping_finishes_the_submission_in_flight(deployment):
    """SIGTERM (systemctl stop) while a person's answers are still arriving: the server
    takes no new connections, finishes that request and answers it, then exits."""
    import http.client
    import signal

    env, url = deployment
    instance = Instance(env, workers=2)
    try:
        browser = Browser()
        html = browser.get(f"{instance.url}/f/volunteer?lang=de&district=mainz-bingen")
        data = {k: _hidden(html, k) for k in ("csrf_token", "idempotency_key", "district", "src")}
        data.update(VOLUNTEER_ANSWERS)
        body = urllib.parse.urlencode(data, doseq=True).encode()
        cookie = "; ".join(f"{c.name}={c.value}" for c in browser.jar)
        # A slow phone: the headers and half the answers arrive, then the stop comes.
        connection = http.client.HTTPConnection("127.0.0.1", instance.port, timeout=30)
        connection.putrequest("POST", "/f/volunteer?lang=de")
        connection.putheader("Content-Type", "application/x-www-form-urlencoded")
        connection.putheader("Content-Length", str(len(body)))
        connection.putheader("Cookie", cookie)
        connection.endheaders(body[: len(body) // 2])
        time.sleep(0.5)
        instance.process.send_signal(signal.SIGTERM)
        time.sleep(1)
        # Nobody new gets in: no worker takes the connection any more (or it is refused).
        with pytest.raises(OSError, match="timed out|Connection refused"):
            urllib.request.urlopen(instance.url + "/healthz", timeout=2).close()  # noqa: S310
        connection.send(body[len(body) // 2 :])
        response = connection.getresponse()
        assert response.status == 303
        assert response.getheader("Location").startswith("/f/volunteer/thanks")
        connection.close()
        assert instance.process.wait(timeout=40) == 0  # a clean exit within the grace time
    finally:
        instance.stop()
    assert _count(url) == 1


def _port_taken(port: int) -> bool:
    """Whether a process listens on the port (as gunicorn binds: closed connections
    waiting in TIME_WAIT do not count)."""
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return True
        return False


def test_a_killed_master_leaves_workers_that_its_unit_stops_before_the_restart(deployment):
    """`kill -9` of gunicorn's master: its workers finish what they hold (here a slow
    client's request) for up to graceful_timeout and keep the port meanwhile, so a restart
    at once cannot bind. systemd's KillMode=control-group (docs/deploy/intake.service)
    stops every process of the unit before Restart= starts it again: SIGTERM to the
    group, SIGKILL after TimeoutStopSec. Done here by hand, the restart then works."""
    import signal

    env, _url = deployment
    graceful = ("--graceful-timeout", "3")
    first = Instance(env, workers=2, extra=graceful)
    slow = socket.create_connection(("127.0.0.1", first.port))
    slow.sendall(b"POST /f/volunteer HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 999\r\n\r\nab")
    time.sleep(0.5)  # a worker thread now waits for the rest of the body
    try:
        os.kill(first.process.pid, signal.SIGKILL)
        first.process.wait(timeout=10)
        time.sleep(0.5)
        assert _port_taken(first.port)  # the orphaned workers hold it
        _signal_group(first.process.pid, signal.SIGTERM)  # what systemd does next
        deadline = time.monotonic() + 10  # TimeoutStopSec: SIGKILL after that
        while _port_taken(first.port) and time.monotonic() < deadline:
            time.sleep(0.1)
        if _port_taken(first.port):
            _signal_group(first.process.pid, signal.SIGKILL)
            time.sleep(0.5)
        assert not _port_taken(first.port)
        second = Instance(env, workers=1, port=first.port)  # Restart=on-failure
        try:
            with urllib.request.urlopen(second.url + "/readyz", timeout=10) as ready:  # noqa: S310
                assert ready.status == 200
        finally:
            second.stop()
    finally:
        slow.close()
        first.process.stderr.close()
        _signal_group(first.process.pid, signal.SIGKILL)


def _signal_group(pgid: int, signum: int) -> None:
    """Signal every process left in the group; none left is fine (they have exited)."""
    try:
        os.killpg(pgid, signum)
    except ProcessLookupError:
        pass
