"""Work that no request should wait for (sending invitation emails).

With REDIS_URL set, a task goes into the RQ queue that `flask --app intake worker`
processes take from (several app processes, and the work survives a restart of the
one that asked). Without it, one thread of this process runs the tasks in turn; a
task then lost with a stopped process is left as it was, visible as not done (the
invitations stay "waiting", and "send again" picks them up).

A task is an importable function; it runs inside the app context.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor

from flask import Flask, current_app

from intake.extensions import db

_executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="intake-background")


def submit(task: Callable[..., object], *args: object, timeout: int = 1800) -> Future | None:
    """Run `task(*args)` in the background; a Future when it runs in this process."""
    if enqueue(task, *args, timeout=timeout):
        return None
    app = current_app._get_current_object()
    return _executor.submit(_in_app, app, task, *args)


def wait_idle(timeout: float) -> None:
    """Wait until every task this process was given so far has run (its one thread
    takes them in turn, so a task given now runs after all of them)."""
    _executor.submit(lambda: None).result(timeout)


def enqueue(task: Callable[..., object], *args: object, timeout: int, **options: object) -> bool:
    """Put `task(*args)` in the RQ queue; False when there is none, or Redis does not
    answer (the caller then runs the task in this process: slower for the one asking,
    but the work is done rather than lost)."""
    from redis.exceptions import RedisError

    from intake.reports.jobs import queue

    rq_queue = queue()
    if rq_queue is None:
        return False
    try:
        rq_queue.enqueue(task, *args, job_timeout=timeout, **options)
    except RedisError:
        current_app.logger.warning("job queue unreachable: %s runs in this process", task.__name__)
        return False
    return True


def _in_app(app: Flask, task: Callable[..., object], *args: object) -> object:
    with app.app_context():
        try:
            return task(*args)
        except Exception:  # the log names the type, never data
            app.logger.exception("background task %s failed", task.__name__)
            db.session.rollback()
            raise
        finally:
            db.session.remove()
