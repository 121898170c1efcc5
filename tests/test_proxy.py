"""The documented production set-up for real: Debian's nginx with docs/deploy/nginx.conf in
front of gunicorn with docs/deploy/gunicorn.conf.py, under slow clients."""

from __future__ import annotations

import gzip
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import free_port

ROOT = Path(__file__).resolve().parents[1]
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
GUNICORN = Path(sys.executable).parent / "gunicorn"

pytestmark = pytest.mark.skipif(
    not Path(NGINX).exists(), reason="needs Debian's nginx (apt-get install nginx-light)"
)


def _server_block(listen: int, upstream: int) -> str:
    """The first server block of docs/deploy/nginx.conf on 127.0.0.1, without TLS."""
    text = (ROOT / "docs" / "deploy" / "nginx.conf").read_text()
    block = text[text.index("server {") : text.index("\n}\n") + 2]
    block = re.sub(r"listen 443 ssl http2;", f"listen 127.0.0.1:{listen};", block)
    block = re.sub(r"\n\s*ssl_certificate\S*\s+[^;]+;", "", block)
    return block.replace("http://127.0.0.1:8000", f"http://127.0.0.1:{upstream}")


def _wait_for(url: str, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url, timeout=1).close()  # noqa: S310 - our own server
            return
        except OSError:
            assert process.poll() is None, "the server stopped"
            time.sleep(0.2)
    raise AssertionError(f"{url} did not answer")


@pytest.fixture
def servers(app, database_url, tmp_path):
    """gunicorn with one worker and one thread (a small, busy deployment), nginx before it."""
    app_port, proxy_port = free_port(), free_port()
    env = {
        **os.environ,
        "INTAKE_ENVIRONMENT": "production",
        "INTAKE_PUBLIC_URL": "http://127.0.0.1",
        "INTAKE_SECRET_KEY": app.config["SECRET_KEY"],
        "INTAKE_DATABASE_URL": database_url[0],
        "INTAKE_REPORT_FOLDER": str(tmp_path / "reports"),
        "INTAKE_WORKERS": "1",
        "INTAKE_THREADS": "1",
    }
    gunicorn = subprocess.Popen(
        [str(GUNICORN), "--config", str(ROOT / "docs/deploy/gunicorn.conf.py"),
         "--bind", f"127.0.0.1:{app_port}", "--access-logfile", "/dev/null",
         "intake:create_app()"],
        env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    prefix = tmp_path / "nginx"
    prefix.mkdir()
    (prefix / "nginx.conf").write_text(
        f"daemon off;\nworker_processes 1;\npid {prefix}/nginx.pid;\n"
        f"error_log {prefix}/error.log;\nevents {{ worker_connections 256; }}\n"
        f"http {{\n  client_body_temp_path {prefix}/body;\n  proxy_temp_path {prefix}/proxy;\n"
        f"  fastcgi_temp_path {prefix}/fcgi;\n  uwsgi_temp_path {prefix}/uwsgi;\n"
        f"  scgi_temp_path {prefix}/scgi;\n  types {{ text/html html; }}\n"
        f"{_server_block(proxy_port, app_port)}\n}}\n"
    )
    nginx = subprocess.Popen(
        [NGINX, "-p", str(prefix), "-c", str(prefix / "nginx.conf")],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        _wait_for(f"http://127.0.0.1:{app_port}/healthz", gunicorn)
        _wait_for(f"http://127.0.0.1:{proxy_port}/healthz", nginx)
        yield app_port, proxy_port
    finally:
        for process in (nginx, gunicorn):
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        nginx.stderr.close()


def _slow_clients(port: int, count: int) -> list[socket.socket]:
    """Clients that start a request and then send one more byte now and then, never the end."""
    clients = []
    for _ in range(count):
        client = socket.create_connection(("127.0.0.1", port))
        client.sendall(
            b"POST /f/volunteer HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 5000\r\n\r\nx"
        )
        clients.append(client)
    return clients


def _normal_user(port: int) -> float | None:
    """Seconds a person needs for the form page, or None when it took more than 5 s."""
    started = time.monotonic()
    try:
        urllib.request.urlopen(f"http://127.0.0.1:{port}/f/volunteer?lang=de", timeout=5).close()  # noqa: S310
    except OSError:
        return None
    return time.monotonic() - started


def test_slow_clients_hold_up_gunicorn_alone_but_not_behind_nginx(servers):
    app_port, proxy_port = servers
    held = _slow_clients(app_port, 3)
    try:
        assert _normal_user(app_port) is None  # straight at gunicorn: everyone waits
    finally:
        for client in held:
            client.close()
    held = _slow_clients(proxy_port, 30)
    try:
        for _ in range(5):
            took = _normal_user(proxy_port)
            assert took is not None, took
            assert took < 2, took  # nginx holds the slow ones
    finally:
        for client in held:
            client.close()


def test_pages_through_nginx_are_compressed(servers):
    _app_port, proxy_port = servers
    request = urllib.request.Request(
        f"http://127.0.0.1:{proxy_port}/f/volunteer?lang=ar", headers={"Accept-Encoding": "gzip"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - our server
        body = response.read()
        assert response.headers["Content-Encoding"] == "gzip"
    html = gzip.decompress(body).decode()
    assert '<html lang="ar" dir="rtl">' in html
    assert len(body) < len(html.encode()) / 2
