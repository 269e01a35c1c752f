"""Controlling Celery tasks through redge: DELETE revokes over Celery's control channel,
a SIGKILLed worker's task comes back (kombu's restore) and finishes on another worker,
tasks enqueued over HTTP run on a stock worker, and operators see Celery queues
(priority sub-queues included), per-task metrics and traces.
"""

import json
import signal
import subprocess
import time
import uuid

import celery_support as cs
from fw_support import wait_for

TIMEOUT = 60
VISIBILITY_TIMEOUT_S = 3
SEP = "\x06\x16"


def sse(target, job_id):
    return cs.SseStream(target.host, target.http_port, job_id)


def queue_info(env, name):
    status, body = env.http.get("/v1/queues")
    assert status == 200, body
    found = [q for q in body["queues"] if q["queue"] == name]
    return found[0] if found else None


def job_of(env, job_id):
    status, body = env.http.get(f"/v1/jobs/{job_id}")
    assert status == 200, (status, body)
    return body


def test_delete_while_queued_never_runs_and_ends_canceled(celery_env):
    env = celery_env
    tag = f"revoked-{uuid.uuid4()}"
    # Queue "later" has no worker yet: the task waits there.
    res = env.app.send_task("app.record", args=(tag,), queue="later")
    stream = sse(env.target, res.id)
    try:
        assert stream.next_event()["event"] == "queued"
        assert env.r.llen("later") == 1
        status, body = env.http.call("DELETE", f"/v1/jobs/{res.id}")
        assert status == 200, body
        assert body["state"] == "canceled" and body["celery"]["revoke"]["terminate"] is False
        end = stream.next_event()
        assert (end["event"], end["data"]) == ("canceled", {})
    finally:
        stream.close()
    # Its message left the queue in the same write, and Celery sees REVOKED.
    assert env.r.llen("later") == 0
    assert res.state == "REVOKED"
    # The broadcast reached the running worker through Celery's own control channel.
    wait_for(lambda: res.id in env.worker.log_text() and "revoked" in env.worker.log_text(),
             TIMEOUT, "worker w1 to log the revoke", watch=[env.worker])
    # A worker for "later" runs what is sent after, never the revoked task.
    later = cs.start_worker(env.procs, env.workdir, env.target.url, "wl", concurrency=1,
                            extra_args=["-Q", "later"])
    marker = env.app.send_task("app.record", args=(f"after-{tag}",), queue="later")
    assert marker.get(timeout=TIMEOUT) == f"after-{tag}"
    assert tag not in env.r.lrange("tests:ran", 0, -1)
    # Revoking twice: the job is already canceled.
    status, body = env.http.call("DELETE", f"/v1/jobs/{res.id}")
    assert status == 409 and body["error"]["code"] == "conflict"
    later.kill()


def test_delete_with_terminate_kills_a_running_task(celery_env):
    env = celery_env
    gate = f"tests:gate:{uuid.uuid4()}"
    res = env.tasks.hold.delay(gate)
    stream = sse(env.target, res.id)
    try:
        events = [stream.next_event() for _ in range(3)]
        assert cs.names(events) == ["queued", "started", "progress"]
        status, body = env.http.call("DELETE", f"/v1/jobs/{res.id}?terminate=true")
        # Accepted: the worker reports the end.
        assert status == 202, body
        assert body["state"] == "running" and body["celery"]["revoke"]["terminate"] is True
        end = stream.next_event()
        assert end["event"] == "canceled"
    finally:
        stream.close()
    job = job_of(env, res.id)
    assert job["state"] == "canceled" and job["error"] == "terminated"
    assert res.state == "REVOKED"
    assert env.worker.alive()
    # The task never returned (the gate was never opened).
    env.r.rpush(gate, "late")


def test_delete_without_terminate_lets_a_running_task_finish(celery_env):
    env = celery_env
    gate = f"tests:gate:{uuid.uuid4()}"
    res = env.tasks.hold.delay(gate)
    stream = sse(env.target, res.id)
    try:
        events = [stream.next_event() for _ in range(3)]
        assert cs.names(events)[-1] == "progress"
        status, body = env.http.call("DELETE", f"/v1/jobs/{res.id}")
        assert status == 202 and body["state"] == "running"
        env.r.rpush(gate, "go")  # Celery's revoke does not stop a task already running
        end = stream.next_event()
        assert (end["event"], end["data"]) == ("completed", {"result": "released"})
    finally:
        stream.close()


def test_terminate_is_true_or_false(celery_env):
    env = celery_env
    res = env.app.send_task("app.record", args=("terminate-check",), queue="nobody-consumes")
    status, body = env.http.call("DELETE", f"/v1/jobs/{res.id}?terminate=maybe")
    assert status == 400 and "terminate" in body["error"]["message"]
    status, body = env.http.get(f"/v1/jobs/{res.id}")
    assert status == 200 and body["state"] == "queued"  # the bad request revoked nothing
    # An unknown id is a 404 before its parameters are looked at (ids are no oracle).
    status, body = env.http.call("DELETE", "/v1/jobs/whatever?terminate=maybe")
    assert status == 404


def test_killed_worker_task_is_retried_then_completed_by_another(redge_factory, procs, tmp_path):
    target = redge_factory()
    cs.copy_app(tmp_path)
    env = {"FW_ACKS_LATE": "1", "FW_VISIBILITY_TIMEOUT": VISIBILITY_TIMEOUT_S}
    first = cs.start_worker(procs, tmp_path, target.url, "wk1", concurrency=1, **env)
    app = cs.client_app(target.url)
    r = target.client()
    try:
        res = app.send_task("app.stuck_once")
        stream = sse(target, res.id)
        events = [stream.next_event() for _ in range(3)]
        assert cs.names(events) == ["queued", "started", "progress"]
        assert r.hlen("unacked") == 1
        [(_, reserved_at)] = r.zrange("unacked_index", 0, -1, withscores=True)
        first.signal_group(signal.SIGKILL)
        assert first.wait_exit(10) == -signal.SIGKILL
        # kombu restores a reservation once it is older than the visibility timeout; a
        # starting worker restores on start: wait for that age, then start one.
        restorable_at = reserved_at + VISIBILITY_TIMEOUT_S + 0.5
        wait_for(lambda: time.time() > restorable_at, VISIBILITY_TIMEOUT_S + 5,
                 "the reservation to outlive the visibility timeout")
        second = cs.start_worker(procs, tmp_path, target.url, "wk2", concurrency=1, **env)
        rest = stream.until_terminal()
        stream.close()
        assert cs.names(rest) == ["retrying", "started", "completed"]
        assert rest[0]["data"]["attempt"] == 2
        assert "restored" in rest[0]["data"]["reason"]
        assert rest[0]["data"]["previous_worker"].startswith("wk1@")
        pids = [int(p) for p in r.lrange("tests:started", 0, -1)]
        assert rest[-1]["data"] == {"result": pids[1]} and pids[0] != pids[1]
        assert second.alive()
    finally:
        app.close()


def test_http_enqueued_celery_task_runs_on_a_stock_worker(celery_env):
    env = celery_env
    status, body = env.http.call("POST", "/v1/queues/celery/jobs",
                                 {"celery": {"task": "app.add", "args": [2, 3]}},
                                 headers={"X-Correlation-ID": "req-42"})
    assert status == 202, body
    job_id = body["id"]
    assert body["queue"] == "celery" and body["correlation_id"] == "req-42"
    assert body["events_url"] == f"/v1/jobs/{job_id}/events"
    stream = sse(env.target, job_id)
    try:
        events = stream.until_terminal()
    finally:
        stream.close()
    assert cs.names(events) == ["queued", "started", "completed"]
    assert events[-1]["data"] == {"result": 5}
    # Celery itself sees a normal task: its result is in the backend.
    assert env.app.AsyncResult(job_id).get(timeout=TIMEOUT) == 5
    # kwargs and a countdown (an ETA the worker honours).
    t0 = time.time()
    status, body = env.http.call("POST", "/v1/queues/celery/jobs",
                                 {"celery": {"task": "app.steps", "args": [1],
                                             "kwargs": {"gate": None}, "countdown": 1}})
    assert status == 202
    assert env.app.AsyncResult(body["id"]).get(timeout=TIMEOUT) == {"done": 1}
    assert time.time() - t0 >= 1
    assert job_of(env, body["id"])["celery"]["eta"] is not None


def test_http_enqueue_priority_and_queue_depths(celery_env):
    env = celery_env
    ids = []
    for prio in (9, 9, 0):
        status, body = env.http.call("POST", "/v1/queues/parked/jobs",
                                     {"celery": {"task": "app.add", "args": [1, 1],
                                                 "priority": prio}})
        assert status == 202
        ids.append(body["id"])
    # kombu's layout: priority 9 in the step-9 sub-queue, 0 in the queue itself.
    assert env.r.llen(f"parked{SEP}9") == 2 and env.r.llen("parked") == 1
    message = json.loads(env.r.lindex("parked", 0))
    assert message["headers"]["task"] == "app.add" and message["headers"]["id"] == ids[2]
    assert message["properties"]["delivery_info"]["routing_key"] == "parked"
    status, queues = env.http.get("/v1/queues")
    parked = [q for q in queues["queues"] if q["queue"] == "parked"]
    assert parked, queues
    assert parked[0]["depth"] == 3 and parked[0]["running"] == 0
    assert parked[0]["celery"]["depth_by_priority"] == {"0": 1, "9": 2}
    wait_for(lambda: queue_info(env, "parked")["oldest_age_ms"] > 0, 10,
             "the oldest message's age to show")
    status, text = env.http.text("/metrics")
    assert 'redge_queue_depth{queue="parked"} 3' in text
    # Cancel them all: the queue empties.
    for job_id in ids:
        assert env.http.call("DELETE", f"/v1/jobs/{job_id}")[0] == 200
    assert env.r.llen(f"parked{SEP}9") == 0 and env.r.llen("parked") == 0


def test_bad_celery_bodies_get_400(celery_env):
    env = celery_env
    cases = [
        ({"celery": {"args": [1]}}, "celery.task"),
        ({"celery": {"task": ""}}, "celery.task"),
        ({"celery": {"task": "app.add", "args": {"x": 1}}}, "celery.args\" must be a list"),
        ({"celery": {"task": "app.add", "kwargs": [1]}}, "celery.kwargs\" must be an object"),
        ({"celery": {"task": "app.add", "priority": 10}}, "celery.priority"),
        ({"celery": {"task": "app.add", "countdown": -1}}, "celery.countdown"),
        ({"celery": {"task": "app.add", "queue": "x"}}, "unknown field \"celery.queue\""),
        ({"celery": "app.add"}, "\"celery\" must be an object"),
    ]
    before = env.r.llen("refused")
    for body, needle in cases:
        status, reply = env.http.call("POST", "/v1/queues/refused/jobs", body)
        assert status == 400, (body, reply)
        assert reply["error"]["code"] == "bad_request"
        assert needle in reply["error"]["message"], (needle, reply)
    assert env.r.llen("refused") == before == 0
    assert queue_info(env, "refused") is None


def test_metrics_count_tasks_by_name(celery_env):
    env = celery_env
    results = [env.app.send_task("app.add", args=(i, 1)) for i in range(3)]
    assert [r.get(timeout=TIMEOUT) for r in results] == [1, 2, 3]
    for r in results:
        wait_for(lambda: job_of(env, r.id)["state"] == "completed", TIMEOUT, "completed")
    status, text = env.http.text("/metrics")
    assert status == 200

    def value(line_prefix):
        for line in text.splitlines():
            if line.startswith(line_prefix + " "):
                return float(line.split()[-1])
        raise AssertionError(f"{line_prefix} not in /metrics")

    assert value('redge_celery_task_events_total{task="app.add",event="succeeded"}') >= 3
    assert value('redge_celery_task_events_total{task="app.add",event="received"}') >= 3
    assert value('redge_celery_task_runtime_seconds_count{task="app.add"}') >= 3
    assert value('redge_celery_task_wait_seconds_count{task="app.add"}') >= 3
    assert "# TYPE redge_celery_task_runtime_seconds histogram" in text


def test_redgectl_trace_shows_the_timeline(celery_env):
    env = celery_env
    res = env.tasks.fail.delay(9)
    wait_for(lambda: job_of(env, res.id)["state"] == "failed", TIMEOUT, "the task to fail",
             watch=[env.worker])
    ctl = cs.fw_support.redge_process.redge_binary().parent / "redgectl"
    out = subprocess.run([str(ctl), "--url", f"http://127.0.0.1:{env.target.http_port}",
                          "trace", res.id], capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    assert "app.fail" in out.stdout
    assert "reserved by a Celery worker" in out.stdout
    assert "ValueError: boom 9" in out.stdout
    assert "Traceback (most recent call last)" in out.stdout


def test_bridge_off_leaves_celery_alone(redge_factory, procs, tmp_path):
    target = redge_factory("--celery-bridge", "off")
    cs.copy_app(tmp_path)
    worker = cs.start_worker(procs, tmp_path, target.url, "woff", concurrency=1)
    app = cs.client_app(target.url)
    try:
        res = app.send_task("app.add", args=(20, 22))
        assert res.get(timeout=TIMEOUT) == 42
        assert target.http.get(f"/v1/jobs/{res.id}")[0] == 404
        # A {"celery": ...} body is then an ordinary payload of an ordinary job.
        status, body = target.http.call("POST", "/v1/queues/celery/jobs",
                                        {"celery": {"task": "app.add"}})
        assert status == 202 and "-" not in body["id"]
        assert worker.alive()
    finally:
        app.close()


def test_celery_queues_are_still_known_after_a_sigkill(redge_factory):
    """A restart learns the Celery queues (and their broker databases) from the records the
    bridge keeps, not by reading every job: a waiting task's queue keeps its depth."""
    target = redge_factory()
    app = cs.client_app(target.url)
    app.send_task("app.add", args=(1, 2), queue="kept", priority=9)
    app.send_task("app.add", args=(3, 4), queue="kept")

    def kept():
        status, body = target.http.get("/v1/queues")
        assert status == 200, body
        found = [q for q in body["queues"] if q["queue"] == "kept"]
        return found[0] if found else None

    wait_for(lambda: (kept() or {}).get("depth") == 2, 10, "both tasks to be queued")
    before = kept()
    target.process.kill_on_purpose()
    target.process.start()
    target.http = cs.Http(target.host, target.process.http_port)
    target.http_port = target.process.http_port
    after = kept()
    assert after is not None and after["depth"] == 2, after
    assert after["celery"]["depth_by_priority"] == before["celery"]["depth_by_priority"], after
