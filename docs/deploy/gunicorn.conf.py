"""gunicorn settings for Intake.

    gunicorn --config docs/deploy/gunicorn.conf.py 'intake:create_app()'

An example to copy next to the deployment; every value can be overridden on the
command line. See docs/deployment.md.
"""

import multiprocessing
import os

bind = os.environ.get("INTAKE_BIND", "127.0.0.1:8000")
# Processes, not threads, carry the load: a request is mostly Python work (rendering,
# checking, storing), and threads of one process take turns on one interpreter lock. On
# the 2-core development VM, 2 workers x 1 thread took about 170 submissions/s, 2 x 4
# about 110/s (bench/RESULTS.md). Emails and long PDF summaries run in the background, so
# no request waits on SMTP; raise INTAKE_THREADS only for many slow clients without a
# buffering proxy in front.
worker_class = "gthread"
workers = int(os.environ.get("INTAKE_WORKERS", min(multiprocessing.cpu_count() * 2, 8)))
threads = int(os.environ.get("INTAKE_THREADS", 1))
# A request longer than this is killed: PDF summaries that take longer are made in the
# background (INTAKE_PDF_INLINE_MAX_* in the README).
timeout = 60
# SIGTERM (systemctl stop/restart): stop accepting, let requests in flight finish for up
# to this long, then exit. A submission is one database transaction, so a worker killed
# harder than this leaves either the whole response or nothing; the respondent's retry
# with the same idempotency key stores it once.
graceful_timeout = 30
keepalive = 5
# Recycle workers now and then (memory of large PDF renders).
max_requests = 2000
max_requests_jitter = 200
# The proxy in front (nginx on the same machine) may set X-Forwarded-*; the app reads
# them only with INTAKE_PROXY_COUNT=1 (werkzeug's ProxyFix).
forwarded_allow_ips = "127.0.0.1"
# Access log without the referrer and user agent: the referrer of a form's POST is the
# link with its query string, which may prefill an answer. The app's log filter
# (intake/logs.py) also cuts query strings and token paths out of the request line.
accesslog = "-"
access_log_format = '%(h)s %(t)s "%(r)s" %(s)s %(b)s %(M)sms'
errorlog = "-"
