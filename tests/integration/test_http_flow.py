"""The main path: enqueue over HTTP, a legacy redis-py worker over RESP, events over SSE,
then reconnects (Last-Event-ID, ?after=N) and long-poll wake-ups."""

import json
import threading
import time

from integration_support import (JOB_ID_RE, compact, enqueue, get_job, now_ms)


def _pop(worker, queue, timeout=10):
    popped = worker.brpop(f"redge:queue:{queue}", timeout=timeout)
    assert popped is not None, f"BRPOP on redge:queue:{queue} timed out"
    return json.loads(popped[1])


def test_enqueue_resp_worker_sse_completed(redge, http):
    payload = {"prompt": "hello", "n": 3}
    reply = http.post("/v1/queues/q1/jobs", json=payload,
                      headers={"X-Correlation-ID": "corr-flow-1"})
    assert reply.status == 202, reply
    created = reply.json()
    job_id = created["id"]
    assert JOB_ID_RE.match(job_id), created
    assert created["queue"] == "q1"
    assert created["state"] == "queued"
    assert created["correlation_id"] == "corr-flow-1"
    assert created["events_url"].endswith(f"/v1/jobs/{job_id}/events"), created
    assert created["status_url"].endswith(f"/v1/jobs/{job_id}"), created

    # The job exists before the 202 was sent.
    job = get_job(http, job_id)
    assert job["state"] == "queued" and job["lease"] is None and job["attempt"] == 1

    stream = redge.sse(f"/v1/jobs/{job_id}/events")
    first = stream.next_event()
    assert (first.id, first.type) == (1, "queued")
    assert first.json == {"queue": "q1", "attempt": 1}

    worker = redge.worker("worker-1")
    envelopes, errors = [], []
    go = threading.Event()

    def work():
        try:
            go.wait(10)
            env = _pop(worker, "q1")
            envelopes.append(env)
            for i in range(3):
                worker.publish(f"redge:progress:{env['id']}",
                               json.dumps({"step": i + 1, "of": 3}))
            worker.set(f"redge:response:{env['id']}", json.dumps({"answer": 42}), ex=60)
        except Exception as e:  # reported by the main thread
            errors.append(e)

    t = threading.Thread(target=work, daemon=True)
    t.start()
    go.set()
    events = [first] + stream.until_terminal()
    t.join(10)
    assert not errors, errors
    stream.expect_end()

    assert [e.id for e in events] == [1, 2, 3, 4, 5, 6], events
    assert [e.type for e in events] == [
        "queued", "started", "progress", "progress", "progress", "completed"], events
    assert events[1].json == {"worker": "worker-1", "attempt": 1}
    assert [e.json for e in events[2:5]] == [{"step": i, "of": 3} for i in (1, 2, 3)]
    assert events[5].json == {"result": {"answer": 42}}

    env = envelopes[0]
    assert env["id"] == job_id and env["queue"] == "q1" and env["attempt"] == 1
    assert env["correlation_id"] == "corr-flow-1" and env["payload"] == payload
    assert isinstance(env["enqueued_at"], int) and env["enqueued_at"] > 0

    job = get_job(http, job_id)
    assert job["state"] == "completed", job
    assert job["result"] == {"answer": 42}
    assert job.get("error") is None
    assert job["attempt"] == 1 and job["max_attempts"] == 3
    assert job["correlation_id"] == "corr-flow-1"
    assert job["last_event_id"] == 6
    assert job["lease"] is None
    assert 0 < job["created_at"] <= job["started_at"] <= job["finished_at"] <= now_ms() + 1000
    assert job["updated_at"] >= job["started_at"]


def test_reconnect_with_last_event_id_gets_only_later_events(redge, http):
    job_id = enqueue(http, "rq", {"x": 1})["id"]
    worker = redge.worker("w-reconnect")
    chan = f"redge:progress:{job_id}"

    s1 = redge.sse(f"/v1/jobs/{job_id}/events")
    assert s1.next_event().type == "queued"
    _pop(worker, "rq")
    ev = s1.next_event()
    assert (ev.id, ev.type) == (2, "started")
    s1.close()

    job = get_job(http, job_id)
    assert job["state"] == "running"
    assert job["lease"]["holder"] == "w-reconnect"
    assert job["lease"]["expires_at"] > now_ms()

    # Published while nobody listens: stored, not lost.
    worker.publish(chan, json.dumps({"p": 1}))
    worker.publish(chan, json.dumps({"p": 2}))

    s2 = redge.sse(f"/v1/jobs/{job_id}/events", headers={"Last-Event-ID": "2"})
    replay = s2.events(2)
    assert [(e.id, e.type, e.json) for e in replay] == [
        (3, "progress", {"p": 1}), (4, "progress", {"p": 2})]
    worker.publish(chan, json.dumps({"p": 3}))
    live = s2.next_event()
    assert (live.id, live.type, live.json) == (5, "progress", {"p": 3})
    worker.set(f"redge:response:{job_id}", "done", ex=60)
    last = s2.next_event()
    assert (last.id, last.type, last.json) == (6, "completed", {"result": "done"})
    s2.expect_end()


def _completed_job_with_six_events(redge, http, queue):
    job_id = enqueue(http, queue, {"q": queue})["id"]
    worker = redge.worker("w-replay")
    _pop(worker, queue)
    for i in (1, 2, 3):
        worker.publish(f"redge:progress:{job_id}", json.dumps({"p": i}))
    worker.set(f"redge:response:{job_id}", json.dumps({"ok": True}), ex=60)
    return job_id


def test_replay_from_last_event_id_and_after(redge, http):
    job_id = _completed_job_with_six_events(redge, http, "replayq")
    base = f"/v1/jobs/{job_id}/events"

    full = redge.sse(base)
    all_events = full.until_terminal()
    full.expect_end()
    assert [(e.id, e.type) for e in all_events] == [
        (1, "queued"), (2, "started"), (3, "progress"), (4, "progress"), (5, "progress"),
        (6, "completed")]

    cases = [
        ("Last-Event-ID: 3", base, {"Last-Event-ID": "3"}, 4),
        ("?after=3", base + "?after=3", None, 4),
        ("header wins over ?after", base + "?after=1", {"Last-Event-ID": "4"}, 5),
        ("Last-Event-ID: 0", base, {"Last-Event-ID": "0"}, 1),
    ]
    for label, path, headers, first_id in cases:
        s = redge.sse(path, headers=headers)
        got = s.until_terminal()
        s.expect_end()
        assert [e.id for e in got] == list(range(first_id, 7)), (label, got)
        assert [e.data for e in got] == [e.data for e in all_events[first_id - 1:]], label

    # The long-poll route returns the same events as the stream.
    job = get_job(http, job_id, after=3)
    assert [(e["id"], e["event"]) for e in job["events"]] == [
        (4, "progress"), (5, "progress"), (6, "completed")], job
    for e, sse_ev in zip(job["events"], all_events[3:]):
        assert e["data"] == sse_ev.json
        assert isinstance(e["ts"], int) and e["ts"] > 0
    assert len(get_job(http, job_id, after=0)["events"]) == 6
    assert get_job(http, job_id, after=6)["events"] == []


def test_reconnect_after_terminal_event_ends_at_once(redge, http):
    """A browser that reconnects with the terminal event's id gets no events and an ended
    stream, not a stream that hangs forever."""
    job_id = _completed_job_with_six_events(redge, http, "doneq")
    s = redge.sse(f"/v1/jobs/{job_id}/events", headers={"Last-Event-ID": "6"})
    assert s.head() == 200
    s.expect_end(timeout=3)
    assert [i for i in s.items if i.kind == "event"] == []


def test_long_poll_wakes_on_event(redge, http):
    job_id = enqueue(http, "lpq", {"x": 1})["id"]
    worker = redge.worker("w-lp")
    _pop(worker, "lpq")
    assert get_job(http, job_id)["last_event_id"] == 2

    pending = http.start("GET", f"/v1/jobs/{job_id}", params={"after": 2, "wait": 10},
                         timeout=15)
    pending.assert_no_reply(0.3)  # nothing newer than 2 yet: the request is parked
    published = time.monotonic()
    worker.publish(f"redge:progress:{job_id}", json.dumps({"tokens": 7}))
    reply, answered = pending.reply(timeout=12)
    assert reply.status == 200, reply
    assert answered - published < 1.0, f"long-poll answered {answered - published:.2f}s late"
    job = reply.json()
    assert job["state"] == "running"
    assert [(e["id"], e["event"], e["data"]) for e in job["events"]] == [
        (3, "progress", {"tokens": 7})], job

    # A terminal state wakes a long-poll too.
    pending = http.start("GET", f"/v1/jobs/{job_id}", params={"after": 3, "wait": 10},
                         timeout=15)
    pending.assert_no_reply(0.2)
    published = time.monotonic()
    worker.set(f"redge:response:{job_id}", json.dumps("the end"), ex=60)
    reply, answered = pending.reply(timeout=12)
    assert reply.status == 200, reply
    assert answered - published < 1.0
    job = reply.json()
    assert job["state"] == "completed" and job["result"] == "the end"
    assert [(e["id"], e["event"]) for e in job["events"]] == [(4, "completed")]

    # Terminal already and nothing newer: answers at once with no events.
    t0 = time.monotonic()
    job = get_job(http, job_id, after=4, wait=10)
    assert time.monotonic() - t0 < 1.0
    assert job["state"] == "completed" and job["events"] == []


def test_long_poll_times_out_with_no_events(redge, http):
    job_id = enqueue(http, "lpt", {"x": 1})["id"]
    t0 = time.monotonic()
    job = get_job(http, job_id, after=1, wait=0.3)
    elapsed = time.monotonic() - t0
    assert 0.25 <= elapsed < 3.0, elapsed
    assert job["state"] == "queued" and job["events"] == []


def test_long_poll_default_after_is_last_event(redge, http):
    """Without ?after the long-poll waits for an event newer than the current last one."""
    job_id = enqueue(http, "lpd", {"x": 1})["id"]
    worker = redge.worker("w-lpd")
    pending = http.start("GET", f"/v1/jobs/{job_id}", params={"wait": 10}, timeout=15)
    pending.assert_no_reply(0.3)
    popped = time.monotonic()
    _pop(worker, "lpd")
    reply, answered = pending.reply(timeout=12)
    assert reply.status == 200, reply
    assert answered - popped < 1.0
    job = reply.json()
    assert job["state"] == "running" and job["last_event_id"] == 2


def test_sse_data_is_compact_json(redge, http):
    job_id = enqueue(http, "cq", {"x": 1})["id"]
    worker = redge.worker("w-compact")
    _pop(worker, "cq")
    worker.publish(f"redge:progress:{job_id}",
                   json.dumps({"nested": {"a": [1, 2, {"b": None}]}, "s": "x y"}))
    worker.set(f"redge:response:{job_id}", json.dumps({"k": [True, False]}), ex=60)
    s = redge.sse(f"/v1/jobs/{job_id}/events")
    for ev in s.until_terminal():
        assert ev.data == compact(ev.json), f"data of {ev!r} is not compact JSON"


def test_an_unknown_job_is_404_before_its_parameters_are_checked(redge):
    """Every job route answers an unknown id with 404 first, whatever else is wrong with the
    request (open mode too), so the answer does not depend on which check runs first."""
    http = redge.http
    assert http.post("/v1/jobs/nosuchjob/events", json={"event": "bad name"}).status == 404
    assert http.post("/v1/jobs/nosuchjob/complete", json={"result": 1},
                     headers={"X-Lease-Token": "t"}).status == 404
    assert http.delete("/v1/jobs/nosuchjob", params={"terminate": "maybe"}).status == 404
    assert http.get("/v1/jobs/nosuchjob/events", headers={"Last-Event-ID": "x"}).status == 404
