"""The orders in which Celery's writes can reach redge, replayed one write at a time with
redis-py on messages Celery itself produced: the bridge shows the same events whatever
the interleaving of a worker's processes.

A task is sent with `send_task` to a queue no worker consumes; the test then does what a
worker's processes would (pop the message, store results, re-send it for a retry, have
kombu restore it), in the order under test, and reads the job's events.
"""

import json
import uuid

import celery_support as cs

TIMEOUT = 30


def setup_task(env):
    queue = f"ord-{uuid.uuid4()}"
    res = env.app.send_task("app.add", args=(1, 2), queue=queue)
    raw = env.r.lindex(queue, 0)
    assert json.loads(raw)["headers"]["id"] == res.id
    return queue, res.id, raw


def meta(task_id, status, result=None, traceback=None):
    return json.dumps({"status": status, "result": result, "traceback": traceback,
                       "children": [], "date_done": None, "task_id": task_id})


def store(env, task_id, status, result=None, traceback=None):
    # What Celery's Redis backend does: SETEX the result, PUBLISH it, in one MULTI.
    text = meta(task_id, status, result, traceback)
    with env.r.pipeline() as p:
        p.setex(f"celery-task-meta-{task_id}", 86400, text)
        p.publish(f"celery-task-meta-{task_id}", text)
        p.execute()


def resend(env, queue, raw, **headers):
    m = json.loads(raw)
    m["headers"].update(headers)
    m["properties"]["delivery_tag"] = str(uuid.uuid4())
    env.r.lpush(queue, json.dumps(m))


def events(env, task_id):
    status, body = env.http.get(f"/v1/jobs/{task_id}?after=0")
    assert status == 200, body
    return body["events"], body


EXC = {"exc_type": "RuntimeError", "exc_message": ["again"], "exc_module": "builtins"}


def test_retry_reason_arrives_before_the_next_reservation_runs(celery_env):
    env = celery_env
    queue, task_id, raw = setup_task(env)
    env.r.rpop(queue)                                       # worker A reserves
    resend(env, queue, raw, retries=1)                      # A: Task.retry re-sends it
    env.r.rpop(queue)                                       # worker B reserves (held)
    assert cs.names(events(env, task_id)[0]) == ["queued", "started"]
    store(env, task_id, "RETRY", EXC, "Traceback ...")      # A stores RETRY
    store(env, task_id, "SUCCESS", 3)                       # B runs it
    evs, job = events(env, task_id)
    assert cs.names(evs) == ["queued", "started", "retrying", "started", "completed"]
    assert evs[2]["data"]["reason"] == "RuntimeError: again"
    assert [e["data"]["attempt"] for e in evs if e["event"] in ("started", "retrying")] == [1, 2, 2]
    assert job["state"] == "completed" and job["result"] == 3


def test_next_run_starts_before_the_retry_reason_arrives(celery_env):
    env = celery_env
    queue, task_id, raw = setup_task(env)
    env.r.rpop(queue)
    resend(env, queue, raw, retries=1)
    env.r.rpop(queue)
    # B's STARTED (task_track_started) before A's RETRY: B's start is held like its
    # reservation, so `retrying` still comes first with its reason, then B's `started`.
    store(env, task_id, "STARTED", {"pid": 7, "hostname": "b@host"})
    assert cs.names(events(env, task_id)[0]) == ["queued", "started"]
    store(env, task_id, "RETRY", EXC)
    store(env, task_id, "PROGRESS", {"current": 1, "total": 1})
    store(env, task_id, "SUCCESS", 3)
    evs, job = events(env, task_id)
    assert cs.names(evs) == ["queued", "started", "retrying", "started", "progress",
                             "completed"], evs
    assert evs[2]["data"]["reason"] == "RuntimeError: again"
    assert evs[3]["data"]["worker"] == "b@host"
    assert job["celery"]["retry_reason"] == "RuntimeError: again"
    assert job["attempt"] == 2


def test_two_retries_then_success_in_any_interleaving(celery_env):
    env = celery_env
    queue, task_id, raw = setup_task(env)
    env.r.rpop(queue)
    resend(env, queue, raw, retries=1)
    store(env, task_id, "RETRY", EXC)                       # reason first this time
    env.r.rpop(queue)
    resend(env, queue, raw, retries=2)
    env.r.rpop(queue)                                       # held
    store(env, task_id, "STARTED", {"pid": 8, "hostname": "c@host"})  # held for the RETRY
    store(env, task_id, "RETRY", EXC)
    store(env, task_id, "SUCCESS", 3)
    evs, job = events(env, task_id)
    assert cs.names(evs) == ["queued", "started", "retrying", "started", "retrying",
                             "started", "completed"], evs
    assert [e["data"]["attempt"] for e in evs if e["event"] == "retrying"] == [2, 3]
    assert job["celery"]["retries"] == 2 and job["attempt"] == 3


def test_kombu_restore_of_a_lost_reservation(celery_env):
    env = celery_env
    queue, task_id, raw = setup_task(env)
    env.r.rpop(queue)                                       # reserved; its worker dies
    m = json.loads(raw)
    m["headers"]["redelivered"] = True                      # kombu's _do_restore_message
    m["properties"]["delivery_info"]["redelivered"] = True
    env.r.rpush(queue, json.dumps(m))
    evs, job = events(env, task_id)
    assert cs.names(evs) == ["queued", "started", "retrying"]
    assert "restored" in evs[2]["data"]["reason"] and job["state"] == "queued"
    env.r.rpop(queue)
    store(env, task_id, "SUCCESS", 3)
    evs, job = events(env, task_id)
    assert cs.names(evs)[-2:] == ["started", "completed"] and job["attempt"] == 2
    # A copy restored after the SUCCESS (Celery keeps the first SUCCESS) changes nothing.
    env.r.rpush(queue, json.dumps(m))
    assert cs.names(events(env, task_id)[0])[-1] == "completed"
    env.r.delete(queue)


def test_success_before_the_retry_reason_arrives(celery_env):
    # Task.retry(countdown=0): the next run may finish before the previous run stores
    # RETRY. The job still shows retrying -> started -> completed (reason unknown then);
    # the late RETRY changes nothing.
    env = celery_env
    queue, task_id, raw = setup_task(env)
    env.r.rpop(queue)
    resend(env, queue, raw, retries=1)
    env.r.rpop(queue)
    store(env, task_id, "STARTED", {"pid": 9, "hostname": "d@host"})
    store(env, task_id, "SUCCESS", 3)
    store(env, task_id, "RETRY", EXC)
    evs, job = events(env, task_id)
    assert cs.names(evs) == ["queued", "started", "retrying", "started", "completed"], evs
    assert evs[2]["data"]["reason"] == "the task asked to be retried (Task.retry)"
    assert evs[3]["data"]["worker"] == "d@host"
    assert job["state"] == "completed" and job["result"] == 3
