"""Legacy Redis workers over the RESP bridge: the Redis key layout of the chat deployments
redge replaces (key templates), PUBLISH/SET completions, error results, and leases that
expire when a worker disappears."""

import json
import time

from integration_support import enqueue, get_job, wait_state

CHAT_LAYOUT_FLAGS = (
    "--progress-channel-template", "{id}",
    "--response-key-template", "mobius:chat:response:{id}",
    "--queue-key-template", "mobius:chat:queue:{queue}",
)
CHAT_QUEUE_KEY = "mobius:chat:queue:chat"


def _pop(worker, key, timeout=10):
    popped = worker.brpop(key, timeout=timeout)
    assert popped is not None, f"BRPOP on {key} timed out"
    return json.loads(popped[1])


def test_chat_layout_worker_publish_completes(redge_factory):
    server = redge_factory(*CHAT_LAYOUT_FLAGS)
    http = server.http
    r = server.client()
    job_id = enqueue(http, "chat", {"message": "hello"})["id"]
    assert r.llen(CHAT_QUEUE_KEY) == 1
    assert r.llen("redge:queue:chat") == 0

    stream = server.sse(f"/v1/jobs/{job_id}/events")
    worker = server.worker("chat-worker")
    env = _pop(worker, CHAT_QUEUE_KEY)
    assert env["id"] == job_id and env["payload"] == {"message": "hello"}
    worker.publish(job_id, json.dumps({"message": "thinking", "progress": 50}))
    worker.publish(job_id, json.dumps({"complete": True, "content": "Hello!", "isError": False}))

    events = stream.until_terminal()
    stream.expect_end()
    assert [(e.id, e.type) for e in events] == [
        (1, "queued"), (2, "started"), (3, "progress"), (4, "completed")], events
    assert events[2].json == {"message": "thinking", "progress": 50}
    assert events[3].json == {"result": "Hello!"}
    job = get_job(http, job_id)
    assert job["state"] == "completed" and job["result"] == "Hello!"


def test_chat_layout_worker_publish_error_fails(redge_factory):
    server = redge_factory(*CHAT_LAYOUT_FLAGS)
    job_id = enqueue(server.http, "chat", {"message": "hello"})["id"]
    stream = server.sse(f"/v1/jobs/{job_id}/events")
    worker = server.worker("chat-worker")
    _pop(worker, CHAT_QUEUE_KEY)
    worker.publish(job_id, json.dumps({"message": "thinking", "progress": 10}))
    worker.publish(job_id, json.dumps(
        {"complete": True, "content": "model exploded", "isError": True}))
    events = stream.until_terminal()
    stream.expect_end()
    assert [e.type for e in events] == ["queued", "started", "progress", "failed"], events
    assert events[-1].json == {"error": "model exploded"}
    job = get_job(server.http, job_id)
    assert job["state"] == "failed" and job["error"] == "model exploded"
    assert job.get("result") is None


def test_chat_layout_worker_set_error_response_fails(redge_factory):
    server = redge_factory(*CHAT_LAYOUT_FLAGS)
    worker = server.worker("chat-worker")
    for field in ("content", "error", "message"):
        job_id = enqueue(server.http, "chat", {"field": field})["id"]
        _pop(worker, CHAT_QUEUE_KEY)
        assert worker.set(f"mobius:chat:response:{job_id}",
                          json.dumps({"isError": True, field: f"bad via {field}"}), ex=60)
        job = wait_state(server.http, job_id, ("completed", "failed"), timeout=5)
        assert job["state"] == "failed", (field, job)
        assert job["error"] == f"bad via {field}", (field, job)


def test_response_key_values_become_results(redge, http):
    worker = redge.worker("w-values")
    cases = [
        ("plain text", "plain text"),
        (json.dumps({"a": [1, 2]}), {"a": [1, 2]}),
        (json.dumps(17), 17),
        (json.dumps({"isError": False, "content": "fine"}), {"isError": False, "content": "fine"}),
    ]
    for raw, expected in cases:
        job_id = enqueue(http, "vals", {"raw": raw})["id"]
        _pop(worker, "redge:queue:vals")
        worker.set(f"redge:response:{job_id}", raw)  # no TTL: "any TTL" includes none
        job = wait_state(http, job_id, ("completed", "failed"), timeout=5)
        assert job["state"] == "completed", (raw, job)
        assert job["result"] == expected, (raw, job)
        events = get_job(http, job_id, after=0)["events"]
        assert events[-1]["event"] == "completed" and events[-1]["data"] == {"result": expected}


def test_published_event_types_and_subscribers(redge, http):
    job_id = enqueue(http, "pub", {"x": 1})["id"]
    chan = f"redge:progress:{job_id}"
    sub = redge.client().pubsub()
    sub.subscribe(chan)
    assert sub.get_message(timeout=5)["type"] == "subscribe"

    worker = redge.worker("w-pub")
    _pop(worker, "redge:queue:pub")
    stream = redge.sse(f"/v1/jobs/{job_id}/events", headers={"Last-Event-ID": "2"})
    worker.publish(chan, json.dumps({"event": "chunk", "text": "Hel"}))
    worker.publish(chan, json.dumps({"text": "lo"}))
    worker.set(f"redge:response:{job_id}", "Hello", ex=60)
    events = stream.until_terminal()
    assert [(e.id, e.type) for e in events] == [(3, "chunk"), (4, "progress"), (5, "completed")]
    assert events[0].json["text"] == "Hel"
    assert events[1].json == {"text": "lo"}

    # Redis subscribers of the channel still get every message, unchanged.
    got = []
    deadline = time.monotonic() + 5
    while len(got) < 2 and time.monotonic() < deadline:
        m = sub.get_message(timeout=0.5)
        if m and m["type"] == "message":
            got.append(m["data"])
    assert got == [json.dumps({"event": "chunk", "text": "Hel"}), json.dumps({"text": "lo"})]
    sub.close()


def test_non_json_progress_message_is_no_event(redge, http):
    """Only a JSON object on the progress channel becomes an event (docs/http-api.md);
    any other message just extends the lease."""
    job_id = enqueue(http, "nonjson", {"x": 1})["id"]
    worker = redge.worker("w-nonjson")
    _pop(worker, "redge:queue:nonjson")
    worker.publish(f"redge:progress:{job_id}", "not json: extends the lease but is no event")
    worker.publish(f"redge:progress:{job_id}", json.dumps({"n": 1}))
    job = get_job(http, job_id, after=2)
    assert [(e["id"], e["event"], e["data"]) for e in job["events"]] == [
        (3, "progress", {"n": 1})], job["events"]


def test_worker_lost_retries_then_fails(redge_factory):
    server = redge_factory("--lease-timeout", "0.5", "--max-attempts", "2")
    http = server.http
    r = server.client()
    job_id = enqueue(http, "lost", {"x": 1})["id"]
    stream = server.sse(f"/v1/jobs/{job_id}/events")
    assert stream.next_event().type == "queued"

    ghost = server.worker("ghost-1")
    env = _pop(ghost, "redge:queue:lost")
    popped = time.monotonic()
    assert env["attempt"] == 1
    started = stream.next_event()
    assert (started.type, started.json) == ("started", {"worker": "ghost-1", "attempt": 1})

    retrying = stream.next_event(timeout=5)
    waited = time.monotonic() - popped
    assert retrying.type == "retrying", retrying
    assert retrying.json["attempt"] == 2
    assert retrying.json["previous_worker"] == "ghost-1"
    assert isinstance(retrying.json["reason"], str) and retrying.json["reason"]
    assert 0.4 <= waited < 3.0, f"lease of 0.5 s expired after {waited:.2f}s"
    job = wait_state(http, job_id, "queued", timeout=2)
    assert job["attempt"] == 2 and job["lease"] is None
    assert r.llen("redge:queue:lost") == 1

    ghost2 = server.worker("ghost-2")
    env2 = _pop(ghost2, "redge:queue:lost")
    assert env2["id"] == job_id and env2["attempt"] == 2
    rest = stream.until_terminal(timeout=5)
    stream.expect_end()
    types = [e.type for e in rest]
    assert types in (["started", "failed"], ["queued", "started", "failed"]), rest
    assert rest[-2].json == {"worker": "ghost-2", "attempt": 2}
    assert rest[-1].json == {"error": "worker lost"}

    job = get_job(http, job_id)
    assert job["state"] == "failed" and job["error"] == "worker lost" and job["attempt"] == 2
    last_id = job["last_event_id"]

    # Late answers from the former holders change nothing.
    assert ghost.set(f"redge:response:{job_id}", json.dumps("late from ghost-1"), ex=60)
    ghost2.publish(f"redge:progress:{job_id}", json.dumps({"complete": True, "content": "late",
                                                          "isError": False}))
    assert ghost2.set(f"redge:response:{job_id}", json.dumps("late from ghost-2"), ex=60)
    job = get_job(http, job_id, after=last_id)
    assert job["state"] == "failed" and job["error"] == "worker lost"
    assert job.get("result") is None
    assert job["events"] == [] and job["last_event_id"] == last_id


def test_completion_from_expired_holder_is_ignored(redge_factory):
    server = redge_factory("--lease-timeout", "1", "--max-attempts", "3")
    http = server.http
    job_id = enqueue(http, "stale", {"x": 1})["id"]
    old = server.worker("old-holder")
    _pop(old, "redge:queue:stale")
    wait_state(http, job_id, "queued", timeout=5)  # the lease expired: attempt 2 queued

    new = server.worker("new-holder")
    env = _pop(new, "redge:queue:stale")
    assert env["attempt"] == 2
    # A late SET of the response key by the former holder...
    old.set(f"redge:response:{job_id}", json.dumps("from the old holder"), ex=60)
    job = get_job(http, job_id)
    assert job["state"] == "running", f"late SET by the expired holder was applied: {job}"
    assert job["lease"]["holder"] == "new-holder"
    # ...and a late terminal PUBLISH by it are both ignored.
    old.publish(f"redge:progress:{job_id}", json.dumps(
        {"complete": True, "content": "old again", "isError": False}))
    job = get_job(http, job_id)
    assert job["state"] == "running", f"late PUBLISH by the expired holder was applied: {job}"
    assert job["lease"]["holder"] == "new-holder"

    new.set(f"redge:response:{job_id}", json.dumps("from the new holder"), ex=60)
    job = wait_state(http, job_id, ("completed", "failed"), timeout=5)
    assert job["state"] == "completed" and job["result"] == "from the new holder"


def test_publishing_extends_the_lease(redge_factory):
    server = redge_factory("--lease-timeout", "0.6")
    http = server.http
    job_id = enqueue(http, "alive", {"x": 1})["id"]
    worker = server.worker("busy")
    _pop(worker, "redge:queue:alive")
    end = time.monotonic() + 1.5
    n = 0
    while time.monotonic() < end:  # a worker's own pace: a message every 0.2 s
        n += 1
        worker.publish(f"redge:progress:{job_id}", json.dumps({"n": n}))
        time.sleep(0.2)
    worker.set(f"redge:response:{job_id}", "ok", ex=60)
    job = get_job(http, job_id, after=0)
    assert job["state"] == "completed" and job["attempt"] == 1, job
    assert "retrying" not in [e["event"] for e in job["events"]]
