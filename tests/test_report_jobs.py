"""Large PDF summaries are made in the background with a progress page and a download."""

from __future__ import annotations

import io
import time
import unicodedata

import pytest
import sqlalchemy as sa
from pypdf import PdfReader

from intake.extensions import db
from intake.storage.models import AuditEvent, ReportJob
from tests.conftest import VOLUNTEER_ANSWERS, sqlite_only


@pytest.fixture
def background(app):
    """Every summary with an appendix goes to the background."""
    app.config["PDF_INLINE_MAX_ROWS"] = 0


@pytest.fixture
def mainz(create_user, auth):
    create_user("mz@example.org", districts=("mainz-bingen",))
    auth.login("mz@example.org")


def wait_for(client, job_url: str, seconds: float = 60) -> dict:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        status = client.get(job_url + ".json").get_json()
        if status["state"] in ("done", "failed"):
            return status
        time.sleep(0.2)
    raise AssertionError("the job did not finish")


def test_long_summary_is_made_in_the_background(app, client, submit, background, mainz):
    submit("volunteer", dict(VOLUNTEER_ANSWERS, experience="Im Hintergrund gerendert"))
    response = client.get("/admin/reports/mainz-bingen/volunteer.pdf?lang=en&appendix=text")
    assert response.status_code == 303
    job_url = response.headers["Location"]
    assert job_url.startswith("/admin/jobs/")
    page = client.get(job_url + "?lang=en")
    assert page.status_code == 200
    assert page.headers["Cache-Control"] == "no-store"
    status = wait_for(client, job_url)
    assert status["state"] == "done"
    assert status["progress"] == 100
    ready = client.get(job_url + "?lang=en").get_data(as_text=True)
    assert "Download the PDF" in ready
    pdf = client.get(status["download"])
    data = pdf.get_data()
    pdf.close()
    assert pdf.status_code == 200
    assert pdf.mimetype == "application/pdf"
    assert pdf.headers["Cache-Control"] == "no-store"
    text = unicodedata.normalize(
        "NFKC", " ".join(p.extract_text() for p in PdfReader(io.BytesIO(data)).pages)
    )
    assert "Im Hintergrund gerendert" in text
    assert "Volunteer with us" in text  # in the language asked for
    with app.app_context():
        actions = [e.action for e in db.session.scalars(sa.select(AuditEvent))]
    assert "report.job" in actions
    assert "report.pdf" in actions


def test_with_its_redis_gone_the_summary_is_made_in_this_process(
    app, client, submit, background, mainz, caplog
):
    app.config["REDIS_URL"] = "redis://127.0.0.1:1/0"  # refuses connections
    submit("volunteer", dict(VOLUNTEER_ANSWERS, experience="Ohne Warteschlange gerendert"))
    response = client.get("/admin/reports/mainz-bingen/volunteer.pdf?appendix=text")
    assert response.status_code == 303
    status = wait_for(client, response.headers["Location"])
    assert status["state"] == "done"
    pdf = client.get(status["download"])
    text = " ".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.get_data())).pages)
    pdf.close()
    assert "Ohne Warteschlange gerendert" in text
    assert "job queue unreachable: run_queued runs in this process" in caplog.text


def test_summary_without_appendix_stays_in_the_request(client, submit, background, mainz):
    submit("volunteer", VOLUNTEER_ANSWERS)
    response = client.get("/admin/reports/mainz-bingen/volunteer.pdf?appendix=none")
    assert response.status_code == 200
    assert response.mimetype == "application/pdf"


def test_jobs_are_for_their_owner_only(app, client, submit, background, mainz, create_user):
    submit("volunteer", VOLUNTEER_ANSWERS)
    job_url = client.get("/admin/reports/mainz-bingen/volunteer.pdf").headers["Location"]
    status = wait_for(client, job_url)
    create_user("other@example.org", districts=("mainz-bingen",))
    other = app.test_client()
    from tests.conftest import AuthActions

    AuthActions(other).login("other@example.org")
    assert other.get(job_url).status_code == 404
    assert other.get(job_url + ".json").status_code == 404
    assert other.get(status["download"]).status_code == 404
    assert app.test_client().get(status["download"]).status_code == 302  # to the login


def test_old_jobs_and_files_are_deleted(app, client, submit, background, mainz):
    submit("volunteer", VOLUNTEER_ANSWERS)
    job_url = client.get("/admin/reports/mainz-bingen/volunteer.pdf").headers["Location"]
    wait_for(client, job_url)
    from intake.reports import jobs

    with app.app_context():
        job = db.session.scalar(sa.select(ReportJob))
        path = jobs.path_of(job)
        assert path is not None
        assert path.is_file()
        assert jobs.expire(hours=1) == 0
        job.created_at = job.created_at.replace(year=job.created_at.year - 1)
        db.session.commit()
        assert jobs.expire() == 1
        assert not path.exists()
    assert client.get(job_url).status_code == 404


def test_job_lost_with_its_process_shows_as_failed(app, client, mainz):
    from datetime import timedelta

    from intake.storage.models import User, utcnow

    with app.app_context():
        user = db.session.scalar(sa.select(User).where(User.email == "mz@example.org"))
        db.session.add(
            ReportJob(
                id="lost-job",
                user_id=user.id,
                district="mainz-bingen",
                form_slug="volunteer",
                params={},
                state="running",
                created_at=utcnow() - timedelta(hours=1),
            )
        )
        db.session.commit()
    assert client.get("/admin/jobs/lost-job.json").get_json()["state"] == "failed"
    page = client.get("/admin/jobs/lost-job?lang=en").get_data(as_text=True)
    assert "The summary could not be made." in page


def test_many_responses_go_to_the_background_even_without_appendix(app, client, submit, mainz):
    app.config["PDF_INLINE_MAX_RESPONSES"] = 1
    submit("volunteer", VOLUNTEER_ANSWERS)
    assert client.get("/admin/reports/mainz-bingen/volunteer.pdf?appendix=none").status_code == 200
    submit("volunteer", VOLUNTEER_ANSWERS)
    response = client.get("/admin/reports/mainz-bingen/volunteer.pdf?appendix=none")
    assert response.status_code == 303
    assert wait_for(client, response.headers["Location"])["state"] == "done"


def _redis_url() -> str | None:
    import os

    url = os.environ.get("INTAKE_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
    try:
        from redis import Redis

        Redis.from_url(url, socket_connect_timeout=1).ping()
    except Exception:  # noqa: BLE001 - any failure means "no Redis here"
        return None
    return url


REDIS = _redis_url()


@pytest.mark.skipif(REDIS is None, reason="no Redis at 127.0.0.1:6379 (INTAKE_TEST_REDIS_URL)")
def test_with_redis_a_worker_process_makes_the_summary(
    app, client, submit, background, mainz, database_url, tmp_path
):
    """Several app instances: the web process queues the job in Redis, and a separate
    `flask --app intake worker` process (another process, as on another machine) makes it."""
    import os
    import secrets
    import subprocess
    import sys
    from pathlib import Path

    queue = f"test-reports-{secrets.token_hex(4)}"
    app.config.update(REDIS_URL=REDIS, REPORT_QUEUE=queue)
    submit("volunteer", dict(VOLUNTEER_ANSWERS, experience="Vom Worker gemacht"))
    job_url = client.get("/admin/reports/mainz-bingen/volunteer.pdf?appendix=text").location
    time.sleep(1)
    assert client.get(job_url + ".json").get_json()["state"] == "queued"  # nobody took it yet

    url, options = database_url
    search_path = options.get("connect_args", {}).get("options")
    if search_path:  # the test's PostgreSQL schema
        url += "?options=" + search_path.replace("=", "%3D")
    env = {
        **os.environ,
        "INTAKE_ENVIRONMENT": "production",
        "INTAKE_PUBLIC_URL": "http://127.0.0.1",
        "INTAKE_SECRET_KEY": app.config["SECRET_KEY"],
        "INTAKE_DATABASE_URL": url,
        "INTAKE_REDIS_URL": REDIS,
        "INTAKE_REPORT_QUEUE": queue,
        "INTAKE_REPORT_FOLDER": app.config["REPORT_FOLDER"],
    }
    flask = str(Path(sys.executable).parent / "flask")
    done = subprocess.run(
        [flask, "--app", "intake", "worker", "--burst"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    status = wait_for(client, job_url)
    assert status["state"] == "done"
    pdf = client.get(status["download"])
    data = pdf.get_data()
    pdf.close()
    text = " ".join(p.extract_text() for p in PdfReader(io.BytesIO(data)).pages)
    assert "Vom Worker gemacht" in text


def test_a_worker_ends_at_once_even_when_its_listener_reads_the_unsubscribe_first(app, monkeypatch):
    """An ending worker (--burst, or SIGTERM on a deploy) unsubscribes RQ's command
    listener. When the ending thread is not scheduled for a moment right after that,
    the listener reads the reply first; RQ's own worker then waited a full minute for
    it (CI saw a --burst worker take 60 s). The pause is made here on purpose."""
    import secrets
    import signal

    import redis.client

    from intake import background

    unsubscribe = redis.client.PubSub.unsubscribe

    def then_not_scheduled(self, *args, **kwargs):
        sent = unsubscribe(self, *args, **kwargs)
        time.sleep(0.3)
        return sent

    monkeypatch.setattr(redis.client.PubSub, "unsubscribe", then_not_scheduled)
    app.config.update(REDIS_URL=REDIS, REPORT_QUEUE=f"test-reports-{secrets.token_hex(4)}")
    handlers = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    started = time.monotonic()
    try:
        with app.app_context():
            background.work(burst=True)  # the queue is empty: it ends
    finally:
        for sig, handler in handlers.items():  # RQ installs its own
            signal.signal(sig, handler)
    assert time.monotonic() - started < 10


def test_worker_without_redis_says_what_to_set(runner):
    result = runner.invoke(args=["worker", "--burst"])
    assert result.exit_code == 2
    assert "set INTAKE_REDIS_URL" in result.output


@sqlite_only
def test_a_job_whose_database_is_away_for_a_while_is_tried_again_and_finishes(
    tmp_path, database_url, create_user
):
    """The database is locked by someone else when the job starts (as when it restarts):
    the job waits, tries again and makes the PDF, instead of staying "running"."""
    import sqlite3
    import threading

    from intake import create_app
    from intake.reports import jobs
    from tests.conftest import AuthActions, app_config, close_database, form_payload

    app = create_app(
        app_config(tmp_path, database_url, SQLITE_BUSY_TIMEOUT_MS=100, JOB_RETRY_SECONDS=0.3)
    )
    app.config["PDF_INLINE_MAX_ROWS"] = 0
    client = app.test_client()
    try:
        create_user("mz@example.org", districts=("mainz-bingen",))
        AuthActions(client).login("mz@example.org")
        page = client.get("/f/volunteer").get_data(as_text=True)
        client.post("/f/volunteer", data=form_payload(page, VOLUNTEER_ANSWERS))
        hold = threading.Event()
        jobs._executor.submit(hold.wait, 30)  # the job waits behind this in the thread
        response = client.get("/admin/reports/mainz-bingen/volunteer.pdf?lang=en")
        job_url = response.headers["Location"]
        locker = sqlite3.connect(database_url[0].removeprefix("sqlite:///"), timeout=5)
        locker.execute("BEGIN EXCLUSIVE")  # nobody else may write now
        hold.set()
        time.sleep(1.0)  # the job's first tries meet the lock
        locker.rollback()
        locker.close()
        status = wait_for(client, job_url, seconds=30)
        assert status["state"] == "done"
    finally:
        close_database(app)


class _Forward:
    """A TCP forwarder on 127.0.0.1:`port` to Redis, started when the test says so."""

    def __init__(self, port: int, target: tuple[str, int]) -> None:
        import socketserver
        import threading

        forward = self

        class Pipe(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                import socket

                upstream = socket.create_connection(target)
                forward.sockets += [upstream, self.request]

                def pump(source, sink):
                    try:
                        while data := source.recv(65536):
                            sink.sendall(data)
                    except OSError:
                        pass
                    finally:
                        sink.close()

                back = threading.Thread(target=pump, args=(upstream, self.request), daemon=True)
                back.start()
                pump(self.request, upstream)
                back.join(timeout=5)

        socketserver.ThreadingTCPServer.allow_reuse_address = True
        self.sockets: list = []
        self.server = socketserver.ThreadingTCPServer(("127.0.0.1", port), Pipe)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        for sock in self.sockets:
            sock.close()


@pytest.mark.skipif(REDIS is None, reason="no Redis at 127.0.0.1:6379 (INTAKE_TEST_REDIS_URL)")
def test_a_worker_started_before_its_redis_waits_for_it(app, database_url):
    """Redis not there yet when the worker starts (boot order, a Redis restart): the
    worker says so and waits, and works once Redis answers, instead of exiting."""
    import os
    import secrets
    import subprocess
    import sys
    from pathlib import Path
    from urllib.parse import urlsplit

    from tests.conftest import free_port

    port = free_port()
    redis = urlsplit(REDIS)
    env = {
        **os.environ,
        "INTAKE_ENVIRONMENT": "production",
        "INTAKE_PUBLIC_URL": "http://127.0.0.1",
        "INTAKE_SECRET_KEY": app.config["SECRET_KEY"],
        "INTAKE_DATABASE_URL": database_url[0],
        "INTAKE_REDIS_URL": f"redis://127.0.0.1:{port}/0",
        "INTAKE_REPORT_QUEUE": f"test-reports-{secrets.token_hex(4)}",
        "INTAKE_WORKER_RETRY_SECONDS": "0.3",
    }
    flask = str(Path(sys.executable).parent / "flask")
    worker = subprocess.Popen(
        [flask, "--app", "intake", "worker", "--burst"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    forward = None
    try:
        waiting = []
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and len(waiting) < 2:  # it says so, twice
            line = worker.stdout.readline()
            if not line:
                break
            if "Redis does not answer; trying again" in line:
                waiting.append(line)
        assert len(waiting) == 2
        assert worker.poll() is None  # still there, still waiting
        forward = _Forward(port, (redis.hostname, redis.port or 6379))
        output, _ = worker.communicate(timeout=60)  # burst: the queue is empty, so it ends
        assert worker.returncode == 0, output[-2000:]
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.communicate()
        if forward is not None:
            forward.close()
