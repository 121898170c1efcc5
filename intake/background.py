"""Work that no request should wait for: the job queue, its worker, and in-process lanes.

With REDIS_URL set, a task goes into the RQ queue that `flask --app intake worker`
processes take from (several app processes, and the work survives a restart of the
one that asked). Without it, or with a Redis that does not answer, a lane (one thread
of this process) runs the tasks in turn; a task then lost with a stopped process is
left as it was, visible as not done (invitations stay "waiting" and "send again" picks
them up; a summary's job shows as failed).

A task is an importable function; it runs inside the app context. This module knows
no task: the features (invitations/sending.py, reports/jobs.py) submit theirs here.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor

from flask import Flask, current_app

from intake.extensions import db


class Lane(ThreadPoolExecutor):
    """One thread of this process that runs its tasks in turn (when there is no queue)."""

    def __init__(self, name: str) -> None:
        super().__init__(max_workers=1, thread_name_prefix=name)

    def wait_idle(self, timeout: float) -> None:
        """Wait until every task this lane was given so far has run (a task given now
        runs after all of them)."""
        self.submit(lambda: None).result(timeout)


#: Tasks without a lane of their own (invitation emails).
_lane = Lane("intake-background")


def submit(
    task: Callable[..., object],
    *args: object,
    timeout: int = 1800,
    job_id: str | None = None,
    lane: Lane | None = None,
) -> Future | None:
    """Run `task(*args)` in the background: in the queue, else in `lane` (default the
    general one) of this process; a Future when it runs here."""
    options = {"job_id": job_id} if job_id else {}
    if enqueue(task, *args, timeout=timeout, **options):
        return None
    app = current_app._get_current_object()
    return (lane or _lane).submit(_in_app, app, task, *args)


def wait_idle(timeout: float) -> None:
    """Wait until every task the general lane of this process was given so far has run."""
    _lane.wait_idle(timeout)


def queue():
    """The RQ queue when REDIS_URL is set (several app processes), else None.

    Every kind of background work shares it (REPORT_QUEUE names it).
    """
    url = current_app.config.get("REDIS_URL")
    if not url:
        return None
    from redis import Redis
    from rq import Queue

    # A Redis that does not answer costs two seconds, not the system's TCP timeout.
    connection = Redis.from_url(url, socket_connect_timeout=2)
    return Queue(current_app.config["REPORT_QUEUE"], connection=connection)


def enqueue(task: Callable[..., object], *args: object, timeout: int, **options: object) -> bool:
    """Put `task(*args)` in the RQ queue; False when there is none, or Redis does not
    answer (the caller then runs the task in this process: slower for the one asking,
    but the work is done rather than lost)."""
    from redis.exceptions import RedisError

    rq_queue = queue()
    if rq_queue is None:
        return False
    try:
        rq_queue.enqueue(task, *args, job_timeout=timeout, **options)
    except RedisError:
        current_app.logger.warning("job queue unreachable: %s runs in this process", task.__name__)
        return False
    return True


def work(burst: bool = False) -> None:
    """Take tasks from the queue and run them, until stopped (or the queue is empty).

    A SimpleWorker runs each job in this process (no fork), inside the app context the
    CLI set up; SIGTERM lets the job in hand finish first (RQ's warm shutdown).
    """
    from redis.exceptions import ConnectionError as RedisDown
    from redis.exceptions import TimeoutError as RedisSilent

    rq_queue = queue()
    if rq_queue is None:
        raise RuntimeError("REDIS_URL is not set")
    pause = float(current_app.config.get("WORKER_RETRY_SECONDS", 5))
    while True:
        # Redis not there yet (started before it, or restarting): wait and try again
        # rather than exit, so systemd need not restart us in a loop.
        try:
            rq_queue.connection.ping()
            _worker_class()([rq_queue], connection=rq_queue.connection).work(
                burst=burst, with_scheduler=False
            )
            return
        except (RedisDown, RedisSilent):
            current_app.logger.warning("worker: Redis does not answer; trying again in %s s", pause)
            time.sleep(pause)
            pause = min(pause * 2, 60)


def _worker_class():
    from rq import SimpleWorker

    class Worker(SimpleWorker):
        """RQ's SimpleWorker, ending without waiting a minute for its command listener.

        RQ unsubscribes its pub/sub listener thread first and stops it second, waiting
        for it without a limit. When the thread reads the reply to the unsubscribe in
        between, it is left unsubscribed and waits a full minute (RQ's sleep time) for a
        subscription before it looks at its stop flag again: a worker ending (--burst, or
        SIGTERM on a deploy) then hangs for 60 s. Here the flag is cleared first, so the
        reply ends the thread's loop, and the wait is bounded.
        """

        def unsubscribe(self) -> None:
            thread, pubsub = self.pubsub_thread, self.pubsub
            if thread is None or not thread.is_alive():
                return
            thread.stop(timeout=0)  # only clears the flag: nothing to wait for yet
            pubsub.unsubscribe()  # its reply wakes the thread, which then ends
            thread.join(timeout=2)
            if not thread.is_alive():
                return  # the thread closed the connection itself
            self.log.warning("worker: the command listener did not stop; closing it")
            pubsub.close()

    return Worker


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
