"""Celery tasks are redge jobs: a stock Celery 5.2 worker and producer on redge (broker and
result backend), and what a browser sees of each task over SSE and long-poll.

Each test drives real Celery (`.delay()`, `send_task`, `chord`, `self.retry`,
`update_state`) and reads redge's HTTP API; nothing in the app knows about redge. Tasks
that must wait for the test block on a Redis list the test pushes to (a wake-up, not a
sleep).
"""

import uuid

from celery import chord

import celery_support as cs

TIMEOUT = 60


def sse(env, job_id, **kw):
    return cs.SseStream(env.target.host, env.target.http_port, job_id, **kw)


def assert_ids_in_order(events):
    assert [e["id"] for e in events] == list(range(1, len(events) + 1)), events


def test_delay_then_sse_sees_queued_started_progress_and_result_live(celery_env):
    env = celery_env
    gate = f"tests:gate:{uuid.uuid4()}"
    res = env.tasks.steps.delay(3, gate=gate)
    # Opened the moment .delay() returns: the job already exists (no 404, no polling).
    stream = sse(env, res.id)
    try:
        assert stream.status == 200
        queued = stream.next_event()
        assert queued == {"id": 1, "event": "queued",
                          "data": {"queue": "celery", "attempt": 1, "task": "app.steps"}}
        started = stream.next_event()
        assert started["event"] == "started" and started["data"]["attempt"] == 1
        for step in (1, 2, 3):
            # Each step runs only once the test lets it: the event arrives live.
            env.r.rpush(gate, "go")
            e = stream.next_event()
            assert (e["event"], e["data"]) == ("progress", {"current": step, "total": 3})
        done = stream.next_event()
        assert (done["event"], done["data"]) == ("completed", {"result": {"done": 3}})
        assert done["id"] == 6
        assert res.get(timeout=TIMEOUT) == {"done": 3}  # Celery's own view is unchanged
    finally:
        stream.close()
    status, job = env.http.get(f"/v1/jobs/{res.id}")
    assert status == 200
    assert job["state"] == "completed" and job["result"] == {"done": 3}
    assert job["queue"] == "celery" and job["correlation_id"] == res.id
    c = job["celery"]
    assert c["task"] == "app.steps" and c["root_id"] == res.id and c["parent_id"] is None
    assert c["args_bytes"] == len("[3]")
    assert c["kwargs_bytes"] == len('{"gate":"%s"}' % gate)
    # task_track_started told redge the worker's name.
    assert c["worker"].startswith("w1@")
    assert "traceback" not in c


def test_the_same_through_long_polls(celery_env):
    env = celery_env
    gate = f"tests:gate:{uuid.uuid4()}"
    res = env.tasks.steps.delay(3, gate=gate)
    poll = cs.LongPoll(env.http, res.id)
    seen = []
    events, _ = poll.next_events()
    seen += events
    while "started" not in cs.names(seen):
        events, _ = poll.next_events()
        seen += events
    for step in (1, 2, 3):
        env.r.rpush(gate, "go")
        events, _ = poll.next_events()
        seen += events
        assert (events[0]["event"], events[0]["data"]) == ("progress", {"current": step, "total": 3})
    rest, body = poll.until_terminal()
    seen += rest
    assert_ids_in_order(seen)
    assert cs.names(seen) == ["queued", "started", "progress", "progress", "progress",
                              "completed"]
    assert seen[-1]["data"] == {"result": {"done": 3}}
    assert body["state"] == "completed"


def test_failing_task_fails_with_its_exception(celery_env):
    env = celery_env
    res = env.tasks.fail.delay(7)
    stream = sse(env, res.id)
    try:
        events = stream.until_terminal()
    finally:
        stream.close()
    assert cs.names(events) == ["queued", "started", "failed"]
    assert events[-1]["data"] == {"error": "ValueError: boom 7"}
    status, job = env.http.get(f"/v1/jobs/{res.id}")
    assert job["state"] == "failed" and job["error"] == "ValueError: boom 7"
    assert job["celery"]["exception"] == {"type": "ValueError", "module": "builtins",
                                          "message": ["boom 7"]}
    assert "traceback" not in job["celery"]
    # The traceback is in the trace route only.
    status, trace = env.http.get(f"/v1/jobs/{res.id}/trace")
    assert status == 200
    assert "Traceback (most recent call last)" in trace["celery"]["traceback"]
    assert "ValueError: boom 7" in trace["celery"]["traceback"]
    assert [s["what"] for s in trace["timeline"]][:3] == [
        "enqueued", "reserved by a Celery worker", "finished"]
    # Only Celery can send a task again: redge's retry route refuses.
    status, body = env.http.call("POST", f"/v1/jobs/{res.id}/retry")
    assert status == 409 and "Celery task" in body["error"]["message"]


def test_retry_twice_then_success(celery_env):
    env = celery_env
    res = env.tasks.flaky.delay()
    stream = sse(env, res.id)
    try:
        events = stream.until_terminal()
    finally:
        stream.close()
    assert_ids_in_order(events)
    assert cs.names(events) == ["queued", "started", "retrying", "started", "retrying",
                                "started", "completed"], [(e["event"], e["data"]) for e in events]
    retries = [e["data"] for e in events if e["event"] == "retrying"]
    assert [r["attempt"] for r in retries] == [2, 3]
    assert retries[0]["reason"] == "RuntimeError: flaky attempt 1"
    assert retries[1]["reason"] == "RuntimeError: flaky attempt 2"
    assert retries[0]["previous_worker"].startswith("w1@")
    assert [e["data"]["attempt"] for e in events if e["event"] == "started"] == [1, 2, 3]
    assert events[-1]["data"] == {"result": "ok after 2 retries"}
    status, job = env.http.get(f"/v1/jobs/{res.id}")
    assert job["attempt"] == 3 and job["celery"]["retries"] == 2


def test_custom_states_are_events_named_after_them(celery_env):
    env = celery_env
    res = env.tasks.custom_state.delay()
    stream = sse(env, res.id)
    try:
        events = stream.until_terminal()
    finally:
        stream.close()
    assert cs.names(events) == ["queued", "started", "resizing", "state", "completed"]
    assert events[2]["data"] == {"width": 640}
    # A custom state named like one of redge's terminal events is not mistaken for it.
    assert events[3]["data"] == {"state": "COMPLETED", "meta": {"not": "terminal"}}
    assert events[4]["data"] == {"result": "resized"}


def test_ignore_result_task_is_visible_until_its_acknowledgement(celery_env):
    env = celery_env
    tag = f"fire-{uuid.uuid4()}"
    res = env.tasks.fire_and_forget.delay(tag)
    stream = sse(env, res.id)
    try:
        events = [stream.next_event() for _ in range(3)]
    finally:
        stream.close()
    assert cs.names(events) == ["queued", "started", "acked"]
    assert "-E" in events[2]["data"]["note"]
    cs.wait_for(lambda: tag in env.r.lrange("tests:ran", 0, -1), TIMEOUT,
                "the ignore_result task to run", watch=[env.worker])
    status, job = env.http.get(f"/v1/jobs/{res.id}")
    assert job["celery"]["ignore_result"] is True
    # Not counted as running any more, and expiring like a finished job.
    assert env.r.pttl(f"redge:job:{res.id}") > 0


def test_chord_members_and_callback_are_jobs(celery_env):
    env = celery_env
    header = [env.app.signature("app.add", args=(i, i)) for i in range(4)]
    res = chord(header)(env.app.signature("app.tsum"))
    assert res.get(timeout=TIMEOUT) == sum(2 * i for i in range(4))
    members = [r.id for r in res.parent.results]
    assert len(members) == 4
    jobs = {}
    for job_id in members + [res.id]:
        # Every member and the callback ends `completed`; wait for the last write.
        cs.wait_for(lambda: env.http.get(f"/v1/jobs/{job_id}")[1].get("state") == "completed",
                    TIMEOUT, f"job {job_id} to be completed", watch=[env.worker])
        jobs[job_id] = env.http.get(f"/v1/jobs/{job_id}")[1]
    group_ids = {jobs[m]["celery"]["group_id"] for m in members}
    assert len(group_ids) == 1 and None not in group_ids
    assert {jobs[m]["celery"]["chord_callback_id"] for m in members} == {res.id}
    assert sorted(jobs[m]["result"] for m in members) == [0, 2, 4, 6]
    callback = jobs[res.id]
    assert callback["celery"]["task"] == "app.tsum" and callback["result"] == 12
    # Root and parent ids as Celery sent them in the messages' headers: every job has a
    # root, and a parent, when there is one, is another job of this chord.
    relatives = {k: (jobs[k]["celery"]["root_id"], jobs[k]["celery"]["parent_id"]) for k in jobs}
    for root, parent in relatives.values():
        assert root in jobs, relatives
        assert parent is None or parent in jobs, relatives


def test_chain_members_carry_parent_and_root(celery_env):
    env = celery_env
    res = (env.app.signature("app.add", args=(1, 2)) | env.app.signature("app.add", args=(10,)))()
    assert res.get(timeout=TIMEOUT) == 13
    first = res.parent.id
    cs.wait_for(lambda: env.http.get(f"/v1/jobs/{res.id}")[1].get("state") == "completed",
                TIMEOUT, "the chain's last job to complete", watch=[env.worker])
    _, head = env.http.get(f"/v1/jobs/{first}")
    _, tail = env.http.get(f"/v1/jobs/{res.id}")
    assert head["celery"]["callback_ids"] == [res.id]
    assert tail["celery"]["parent_id"] == first
    assert tail["celery"]["root_id"] == first
