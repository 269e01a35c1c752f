"""HTTP workers: lease (with a wait woken by an enqueue), events, heartbeat, complete,
fail with and without retry, and lease-token checks."""

import time

import pytest

from integration_support import (enqueue, get_job, lease, now_ms, wait_state, worker_call)


def test_lease_wait_is_woken_by_enqueue_then_full_lifecycle(redge, http):
    pending = http.start("POST", "/v1/queues/hq/lease", params={"wait": 10},
                         json={"worker": "hw1"}, timeout=15)
    pending.assert_no_reply(0.3)  # empty queue: the lease call is parked
    enqueued = time.monotonic()
    created = enqueue(http, "hq", {"prompt": "say hello"},
                      headers={"X-Correlation-ID": "corr-hq"})
    reply, answered = pending.reply(timeout=12)
    assert reply.status == 200, reply
    assert answered - enqueued < 1.0, f"lease answered {answered - enqueued:.2f}s after enqueue"
    leased = reply.json()
    job_id = created["id"]
    assert leased["id"] == job_id
    assert leased["queue"] == "hq"
    assert leased["attempt"] == 1
    assert leased["correlation_id"] == "corr-hq"
    assert leased["payload"] == {"prompt": "say hello"}
    assert isinstance(leased["lease_token"], str) and leased["lease_token"]
    assert leased["lease_timeout_ms"] == 60000
    assert leased["lease"]["holder"] == "hw1"
    assert leased["lease"]["expires_at"] > now_ms()
    token = leased["lease_token"]

    job = get_job(http, job_id)
    assert job["state"] == "running" and job["lease"]["holder"] == "hw1"
    assert job["started_at"] > 0

    stream = redge.sse(f"/v1/jobs/{job_id}/events", headers={"Last-Event-ID": "2"})
    r = worker_call(http, job_id, "events", token, {"event": "chunk", "data": "Hel"})
    assert r.status == 200, r
    assert r.json() == {"event_id": 3, "canceled": False}
    ev = stream.next_event()
    assert (ev.id, ev.type, ev.json) == (3, "chunk", "Hel")

    r = worker_call(http, job_id, "events", token, {"data": {"pct": 50}})
    assert r.status == 200 and r.json()["event_id"] == 4, r
    ev = stream.next_event()
    assert (ev.id, ev.type, ev.json) == (4, "progress", {"pct": 50})

    r = worker_call(http, job_id, "heartbeat", token)
    assert r.status == 200, r
    hb = r.json()
    assert hb["canceled"] is False
    assert hb["lease"]["holder"] == "hw1"
    assert hb["lease"]["expires_at"] >= leased["lease"]["expires_at"]

    r = worker_call(http, job_id, "complete", token, {"result": {"text": "Hello"}})
    assert r.status == 200, r
    done = r.json()
    assert done["id"] == job_id and done["state"] == "completed"
    assert done["result"] == {"text": "Hello"}
    ev = stream.next_event()
    assert (ev.id, ev.type, ev.json) == (5, "completed", {"result": {"text": "Hello"}})
    stream.expect_end()

    events = get_job(http, job_id, after=0)["events"]
    assert [(e["id"], e["event"]) for e in events] == [
        (1, "queued"), (2, "started"), (3, "chunk"), (4, "progress"), (5, "completed")]
    assert events[1]["data"] == {"worker": "hw1", "attempt": 1}

    # The lease is over: a second completion is refused.
    r = worker_call(http, job_id, "complete", token, {"result": "again"})
    assert r.status == 409, r
    assert get_job(http, job_id)["result"] == {"text": "Hello"}


def test_worker_name_from_header_or_peer(redge, http):
    enqueue(http, "names", {"n": 1})
    enqueue(http, "names", {"n": 2})
    r = http.post("/v1/queues/names/lease", params={"wait": 0},
                  headers={"X-Worker-ID": "hdr-worker"})
    assert r.status == 200, r
    assert r.json()["lease"]["holder"] == "hdr-worker"
    r = http.post("/v1/queues/names/lease", params={"wait": 0})
    assert r.status == 200, r
    assert r.json()["lease"]["holder"].startswith("http:"), r


@pytest.mark.parametrize("event_type",
                         ["completed", "failed", "canceled", "queued", "started", "retrying"])
def test_reserved_event_types_are_refused(redge, http, event_type):
    job_id = enqueue(http, "reserved", {"x": 1})["id"]
    token = lease(http, "reserved", wait=0)["lease_token"]
    r = worker_call(http, job_id, "events", token, {"event": event_type, "data": {}})
    assert r.status == 400, r
    assert r.error_code() == "bad_request"
    job = get_job(http, job_id)
    assert job["state"] == "running" and job["last_event_id"] == 2


def test_fail_with_retry_then_without(redge, http):
    job_id = enqueue(http, "fq", {"x": 1})["id"]
    first = lease(http, "fq", wait=0, worker="hw1")
    assert first["attempt"] == 1
    r = worker_call(http, job_id, "fail", first["lease_token"],
                    {"error": "transient", "retry": True})
    assert r.status == 200, r
    job = r.json()
    assert job["state"] == "queued" and job["attempt"] == 2, job
    assert job["lease"] is None

    events = get_job(http, job_id, after=2)["events"]
    assert events[0]["event"] == "retrying", events
    assert events[0]["data"]["attempt"] == 2
    assert events[0]["data"]["previous_worker"] == "hw1"
    assert isinstance(events[0]["data"]["reason"], str)

    # The first lease's token is dead.
    r = worker_call(http, job_id, "heartbeat", first["lease_token"])
    assert r.status == 409 and r.error_code() == "lease_lost", r

    second = lease(http, "fq", wait=0, worker="hw2")
    assert second["id"] == job_id and second["attempt"] == 2
    assert second["payload"] == {"x": 1}
    assert second["lease_token"] != first["lease_token"]
    r = worker_call(http, job_id, "fail", second["lease_token"], {"error": "fatal", "retry": False})
    assert r.status == 200, r
    assert r.json()["state"] == "failed" and r.json()["error"] == "fatal"

    stream = redge.sse(f"/v1/jobs/{job_id}/events")
    events = stream.until_terminal()
    stream.expect_end()
    types = [e.type for e in events]
    assert types[:3] == ["queued", "started", "retrying"], events
    assert types[-2:] == ["started", "failed"], events
    assert events[-2].json == {"worker": "hw2", "attempt": 2}
    assert events[-1].json == {"error": "fatal"}
    assert [e.id for e in events] == list(range(1, len(events) + 1))
    assert lease(http, "fq", wait=0.2, expect=204).status == 204


def test_fail_with_retry_on_last_attempt_fails(redge_factory):
    server = redge_factory("--max-attempts", "2")
    http = server.http
    job_id = enqueue(http, "last", {"x": 1})["id"]
    l1 = lease(http, "last", wait=0)
    r = worker_call(http, job_id, "fail", l1["lease_token"], {"error": "e1", "retry": True})
    assert r.status == 200 and r.json()["state"] == "queued", r
    l2 = lease(http, "last", wait=0)
    assert l2["attempt"] == 2
    r = worker_call(http, job_id, "fail", l2["lease_token"], {"error": "e2", "retry": True})
    assert r.status == 200, r
    job = r.json()
    assert job["state"] == "failed" and job["error"] == "e2" and job["max_attempts"] == 2


def test_wrong_or_missing_lease_token_is_lease_lost(redge, http):
    job_id = enqueue(http, "tok", {"x": 1})["id"]
    token = lease(http, "tok", wait=0)["lease_token"]
    calls = [("events", {"data": {"x": 1}}), ("heartbeat", None),
             ("complete", {"result": 1}), ("fail", {"error": "x", "retry": False})]
    for action, body in calls:
        for bad in (None, "wrong-token", token + "x"):
            r = worker_call(http, job_id, action, bad, body)
            assert r.status == 409, (action, bad, r)
            assert r.error_code() == "lease_lost", (action, bad, r)
    job = get_job(http, job_id)
    assert job["state"] == "running" and job["last_event_id"] == 2
    r = worker_call(http, job_id, "complete", token, {"result": "ok"})
    assert r.status == 200 and r.json()["state"] == "completed", r


def test_lease_on_empty_queue_answers_204(redge, http):
    t0 = time.monotonic()
    r = http.post("/v1/queues/empty/lease", params={"wait": 0.2})
    elapsed = time.monotonic() - t0
    assert r.status == 204, r
    assert r.body == b""
    assert 0.15 <= elapsed < 2.0, elapsed
    t0 = time.monotonic()
    r = http.post("/v1/queues/empty/lease", params={"wait": 0})
    assert r.status == 204, r
    assert time.monotonic() - t0 < 1.0


@pytest.mark.parametrize("wait", ["-1", "61", "abc", "1e999"])
def test_lease_bad_wait_is_400(redge, http, wait):
    r = http.post("/v1/queues/q/lease", params={"wait": wait})
    assert r.status == 400, r
    assert r.error_code() == "bad_request"


def test_heartbeat_keeps_the_lease(redge_factory):
    server = redge_factory("--lease-timeout", "0.6")
    http = server.http
    job_id = enqueue(http, "hb", {"x": 1})["id"]
    leased = lease(http, "hb", wait=0)
    assert leased["lease_timeout_ms"] == 600
    end = time.monotonic() + 1.5
    while time.monotonic() < end:  # the worker's own pace: a heartbeat every 0.2 s
        r = worker_call(http, job_id, "heartbeat", leased["lease_token"])
        assert r.status == 200 and r.json()["canceled"] is False, r
        time.sleep(0.2)
    r = worker_call(http, job_id, "complete", leased["lease_token"], {"result": "ok"})
    assert r.status == 200, r
    job = get_job(http, job_id, after=0)
    assert job["attempt"] == 1
    assert "retrying" not in [e["event"] for e in job["events"]]


def test_expired_http_lease_is_lost(redge_factory):
    server = redge_factory("--lease-timeout", "0.5")
    http = server.http
    job_id = enqueue(http, "exp", {"x": 1})["id"]
    leased = lease(http, "exp", wait=0, worker="sleepy")
    job = wait_state(http, job_id, "queued", timeout=5)
    assert job["attempt"] == 2
    r = worker_call(http, job_id, "complete", leased["lease_token"], {"result": "late"})
    assert r.status == 409 and r.error_code() == "lease_lost", r
    job = get_job(http, job_id, after=2)
    assert job["state"] == "queued" and job.get("result") is None
    retry = job["events"][0]
    assert retry["event"] == "retrying" and retry["data"]["previous_worker"] == "sleepy"
