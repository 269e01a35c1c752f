"""Celery 5.2 (Debian's python3-celery, kombu's Redis transport, Redis result backend)
runs unchanged against the server: a real worker subprocess

    /usr/bin/python3 -m celery -A app worker --hostname NAME@%h ...

with broker and backend redis://127.0.0.1:PORT runs a task, a group, a chord, a task
with a priority, and answers `celery inspect ping`; with task_acks_late and a visibility
timeout of 3 s, a worker SIGKILLed mid-task has its task finished by a second worker and
kombu's `unacked` hash ends empty. The app is tests/frameworks/apps/celery_app.py,
copied into a temp dir as app.py; the test process sends tasks by name with its own
Celery app on the same URLs, as a web backend does.
"""

import gc
import signal
import time

import pytest
from celery import Celery, chord, group

import fw_support
from fw_support import PYTHON, wait_for

WORKER_READY_S = 60
RESULT_S = 60
VISIBILITY_TIMEOUT_S = 3
# kombu's Redis transport: priority sub-queues are "<queue>\x06\x16<step>", steps 0,3,6,9;
# step 0 is the queue itself and is served first.
PRIORITY_SEP = "\x06\x16"


def start_worker(procs, workdir, url, name, concurrency=2, **env):
    worker = procs.start(
        f"celery-worker-{name}",
        [PYTHON, "-m", "celery", "-A", "app", "worker", "--loglevel", "INFO",
         "--hostname", f"{name}@%h", "--concurrency", str(concurrency)],
        env=fw_support.python_env(workdir, url, **env),
    )
    # Celery logs "<name>@<host> ready." once its consumer and remote control are up.
    wait_for(lambda: f"{name}@" in worker.log_text() and " ready." in worker.log_text(),
             WORKER_READY_S, f"Celery worker {name} to log 'ready.'", watch=[worker])
    return worker


def client_app(url):
    """The producer side: a Celery app on the same broker and backend."""
    app = Celery("fwclient", broker=url, backend=url)
    app.conf.update(task_serializer="json", result_serializer="json",
                    accept_content=["json"])
    return app


def close_client_app(app):
    """Closes the producer while the server still runs. An AsyncResult unsubscribes from
    its result channel when collected, so results left in reference cycles are
    collected now rather than after the server is gone."""
    gc.collect()
    app.close()


@pytest.fixture
def producer(target):
    app = client_app(target.url)
    yield app
    close_client_app(app)


def result_of(res, worker, timeout=RESULT_S):
    """Waits until `res` (AsyncResult or GroupResult) is ready while the worker lives;
    returns its value (raises the task's exception if it failed)."""
    wait_for(res.ready, timeout, f"the result of {res!r}", watch=[worker])
    return res.get(timeout=10)


@pytest.fixture(scope="module")
def celery_env(module_target, module_procs):
    """One server, one worker (w1, prefork, concurrency 2) and a producer app shared by
    the tests that do not need a worker of their own."""
    workdir = module_procs.workdir
    fw_support.copy_app("celery_app", workdir, as_name="app")
    worker = start_worker(module_procs, workdir, module_target.url, "w1")
    app = client_app(module_target.url)
    yield module_target, worker, app, workdir
    close_client_app(app)


def test_task_runs(celery_env):
    _, worker, app, _ = celery_env
    res = app.send_task("app.add", args=(2, 3))
    assert result_of(res, worker) == 5
    assert res.state == "SUCCESS"


def test_group(celery_env):
    _, worker, app, _ = celery_env
    res = group(app.signature("app.add", args=(i, i)) for i in range(10)).apply_async()
    assert result_of(res, worker) == [2 * i for i in range(10)]


def test_chord(celery_env):
    _, worker, app, _ = celery_env
    header = [app.signature("app.add", args=(i, i)) for i in range(5)]
    res = chord(header)(app.signature("app.tsum"))
    assert result_of(res, worker) == sum(2 * i for i in range(5))


def test_inspect_ping(celery_env):
    target, worker, _, workdir = celery_env
    ping = fw_support.Proc(
        "celery-inspect-ping",
        [PYTHON, "-m", "celery", "-A", "app", "inspect", "ping", "--timeout", "10"],
        workdir, env=fw_support.python_env(workdir, target.url)).start()
    try:
        rc = ping.wait_exit(60)
        out = ping.log_text()
        assert rc == 0, out
        assert "w1@" in out and "pong" in out, out
    finally:
        ping.kill()
    assert worker.alive()


def test_priority(target, procs, producer, tmp_path):
    """Tasks queued before any worker runs: priority 9 goes to the step-9 sub-queue,
    priority 0 to the queue itself, and a worker with one slot runs the priority-0 task
    first."""
    fw_support.copy_app("celery_app", tmp_path, as_name="app")
    app = producer
    r = target.client()
    low = [app.send_task("app.record", args=(f"low{i}",), priority=9) for i in (1, 2)]
    high = app.send_task("app.record", args=("high",), priority=0)
    assert r.llen(f"celery{PRIORITY_SEP}9") == 2
    assert r.llen("celery") == 1

    worker = start_worker(procs, tmp_path, target.url, "wp", concurrency=1)
    for res in [high, *low]:
        result_of(res, worker)
    assert r.lrange("fw:order", 0, -1) == ["high", "low1", "low2"]


def test_killed_worker_task_finished_by_another(target, procs, producer, tmp_path):
    """acks_late + visibility timeout: the task a SIGKILLed worker held stays in kombu's
    `unacked` hash; once older than the visibility timeout, a new worker restores it on
    start and runs it to completion, and nothing is left unacked."""
    fw_support.copy_app("celery_app", tmp_path, as_name="app")
    env = {"FW_ACKS_LATE": "1", "FW_VISIBILITY_TIMEOUT": VISIBILITY_TIMEOUT_S}
    r = target.client()
    app = producer
    first = start_worker(procs, tmp_path, target.url, "wk1", concurrency=1, **env)
    res = app.send_task("app.stuck_once")
    wait_for(lambda: r.llen("fw:started") == 1, RESULT_S,
             "the first worker to start the task", watch=[first])
    first_pid = int(r.lindex("fw:started", 0))
    assert r.hlen("unacked") == 1  # reserved, not acknowledged (acks_late)
    [(tag, reserved_at)] = r.zrange("unacked_index", 0, -1, withscores=True)

    first.signal_group(signal.SIGKILL)
    assert first.wait_exit(10) == -signal.SIGKILL
    assert r.hexists("unacked", tag)

    # kombu restores a reservation only once it is older than the visibility
    # timeout, and a starting worker restores once, on start: wait for that age.
    restorable_at = reserved_at + VISIBILITY_TIMEOUT_S + 0.5
    wait_for(lambda: time.time() > restorable_at, VISIBILITY_TIMEOUT_S + 5,
             "the reservation to outlive the visibility timeout")
    second = start_worker(procs, tmp_path, target.url, "wk2", concurrency=1, **env)
    done_by = result_of(res, second)
    assert done_by != first_pid
    assert [int(p) for p in r.lrange("fw:started", 0, -1)] == [first_pid, done_by]
    wait_for(lambda: r.hlen("unacked") == 0 and r.zcard("unacked_index") == 0, 30,
             "kombu's unacked hash and index to be empty", watch=[second])
