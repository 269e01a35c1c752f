"""Cancel (DELETE /v1/jobs/{id}), Idempotency-Key and X-Correlation-ID."""

import json

from integration_support import (JOB_ID_RE, enqueue, get_job, lease, run_http_job, wait_state,
                                 worker_call)

UNKNOWN_ID = "0" * 12 + "f" * 24


def test_cancel_queued_job_leaves_the_queue(redge, http, r):
    a = enqueue(http, "cq", {"n": "a"})["id"]
    b = enqueue(http, "cq", {"n": "b"})["id"]
    assert r.llen("redge:queue:cq") == 2
    stream = redge.sse(f"/v1/jobs/{a}/events")
    assert stream.next_event().type == "queued"

    reply = http.delete(f"/v1/jobs/{a}")
    assert reply.status == 200, reply
    job = reply.json()
    assert job["id"] == a and job["state"] == "canceled"
    assert r.llen("redge:queue:cq") == 1

    ev = stream.next_event()
    assert (ev.id, ev.type, ev.json) == (2, "canceled", {})
    stream.expect_end()

    job = get_job(http, a)
    assert job["state"] == "canceled"
    assert job.get("error") is not None, f"a canceled job carries an error: {job}"
    assert job["finished_at"] > 0

    # The next worker gets b, never the canceled a.
    popped = redge.worker("w").brpop("redge:queue:cq", timeout=5)
    assert json.loads(popped[1])["id"] == b
    assert r.llen("redge:queue:cq") == 0


def test_cancel_running_http_job(redge, http):
    job_id = enqueue(http, "cr", {"x": 1})["id"]
    token = lease(http, "cr", wait=0, worker="hw")["lease_token"]
    stream = redge.sse(f"/v1/jobs/{job_id}/events", headers={"Last-Event-ID": "2"})

    reply = http.delete(f"/v1/jobs/{job_id}")
    assert reply.status == 200, reply
    assert reply.json()["state"] == "canceled"
    ev = stream.next_event()
    assert (ev.type, ev.json) == ("canceled", {})
    stream.expect_end()

    hb = worker_call(http, job_id, "heartbeat", token)
    assert hb.status == 200, hb
    assert hb.json()["canceled"] is True

    done = worker_call(http, job_id, "complete", token, {"result": "too late"})
    assert done.status == 409, done
    assert done.error_code() == "lease_lost"
    job = get_job(http, job_id, after=0)
    assert job["state"] == "canceled" and job.get("result") is None
    assert [e["event"] for e in job["events"]] == ["queued", "started", "canceled"]


def test_cancel_running_resp_job_refuses_its_completion(redge, http):
    job_id = enqueue(http, "crr", {"x": 1})["id"]
    worker = redge.worker("legacy")
    assert worker.brpop("redge:queue:crr", timeout=5) is not None
    wait_state(http, job_id, "running")
    assert http.delete(f"/v1/jobs/{job_id}").status == 200
    # A legacy worker does not know about cancel: its SET still succeeds as a SET...
    assert worker.set(f"redge:response:{job_id}", json.dumps("answer"), ex=60)
    worker.publish(f"redge:progress:{job_id}", json.dumps({"p": 1}))
    # ...but the job stays canceled.
    job = get_job(http, job_id, after=0)
    assert job["state"] == "canceled" and job.get("result") is None
    assert [e["event"] for e in job["events"]] == ["queued", "started", "canceled"]


def test_delete_terminal_is_409_and_unknown_is_404(redge, http):
    job_id = run_http_job(http, "dt", result="r")
    reply = http.delete(f"/v1/jobs/{job_id}")
    assert reply.status == 409, reply
    assert reply.error_code() == "conflict"
    assert get_job(http, job_id)["state"] == "completed"

    canceled = enqueue(http, "dt", {"x": 2})["id"]
    assert http.delete(f"/v1/jobs/{canceled}").status == 200
    reply = http.delete(f"/v1/jobs/{canceled}")
    assert reply.status == 409 and reply.error_code() == "conflict", reply

    for unknown in (UNKNOWN_ID, "nope"):
        reply = http.delete(f"/v1/jobs/{unknown}")
        assert reply.status == 404, reply
        assert reply.error_code() == "not_found"


def test_idempotency_key_returns_the_same_job(redge, http, r):
    headers = {"Idempotency-Key": "key-1"}
    first = http.post("/v1/queues/iq/jobs", json={"n": 1}, headers=headers)
    assert first.status == 202, first
    again = http.post("/v1/queues/iq/jobs", json={"n": 1}, headers=headers)
    assert again.status == 200, again
    assert again.json()["id"] == first.json()["id"]
    assert again.json()["correlation_id"] == first.json()["correlation_id"]
    assert again.json()["queue"] == "iq"
    assert r.llen("redge:queue:iq") == 1, "a repeat must not enqueue a second envelope"

    other_key = http.post("/v1/queues/iq/jobs", json={"n": 1},
                          headers={"Idempotency-Key": "key-2"})
    assert other_key.status == 202 and other_key.json()["id"] != first.json()["id"]
    other_queue = http.post("/v1/queues/iq2/jobs", json={"n": 1}, headers=headers)
    assert other_queue.status == 202 and other_queue.json()["id"] != first.json()["id"]
    no_key = http.post("/v1/queues/iq/jobs", json={"n": 1})
    assert no_key.status == 202 and no_key.json()["id"] != first.json()["id"]

    # Still the same job once it finished.
    job_id = first.json()["id"]
    leased = lease(http, "iq", wait=0)
    assert leased["id"] == job_id
    assert worker_call(http, job_id, "complete", leased["lease_token"], {"result": 1}).status == 200
    late = http.post("/v1/queues/iq/jobs", json={"n": 1}, headers=headers)
    assert late.status == 200, late
    assert late.json()["id"] == job_id and late.json()["state"] == "completed"


def test_correlation_id_kept_and_echoed(redge, http, r):
    cid = "req-7f3a:trace/42"
    reply = http.post("/v1/queues/corr/jobs", json={"x": 1}, headers={"X-Correlation-ID": cid})
    assert reply.status == 202, reply
    assert reply.header("X-Correlation-ID") == cid
    job_id = reply.json()["id"]
    assert reply.json()["correlation_id"] == cid
    assert get_job(http, job_id)["correlation_id"] == cid
    env = json.loads(r.lindex("redge:queue:corr", 0))
    assert env["correlation_id"] == cid

    # Echoed on every response that carried one, errors included.
    for method, path, status in [("GET", f"/v1/jobs/{job_id}", 200), ("GET", "/healthz", 200),
                                 ("GET", f"/v1/jobs/{UNKNOWN_ID}", 404)]:
        reply = http.request(method, path, headers={"X-Correlation-ID": "echo-me"})
        assert reply.status == status, reply
        assert reply.header("X-Correlation-ID") == "echo-me", reply


def test_correlation_id_generated_when_absent(redge, http):
    a = http.post("/v1/queues/gen/jobs", json={"x": 1})
    b = http.post("/v1/queues/gen/jobs", json={"x": 2})
    assert a.status == 202 and b.status == 202
    ca, cb = a.json()["correlation_id"], b.json()["correlation_id"]
    for c in (ca, cb):
        assert isinstance(c, str) and 0 < len(c) <= 128 and c.isprintable(), c
    assert ca != cb
    assert get_job(http, a.json()["id"])["correlation_id"] == ca
    assert JOB_ID_RE.match(a.json()["id"])


def test_idempotency_keys_do_not_collide_across_queues(redge, http, r):
    """Queue "a" + key "b:c" and queue "a:b" + key "c" are two different jobs."""
    first = enqueue(http, "a", {"n": 1}, headers={"Idempotency-Key": "b:c"})
    second = enqueue(http, "a:b", {"n": 2}, headers={"Idempotency-Key": "c"})
    assert first["id"] != second["id"]
    assert (first["queue"], second["queue"]) == ("a", "a:b")
    assert r.llen("redge:queue:a") == 1 and r.llen("redge:queue:a:b") == 1
    # Each still deduplicates against itself.
    again = enqueue(http, "a:b", {"n": 3}, headers={"Idempotency-Key": "c"}, expect=200)
    assert again["id"] == second["id"]
    again = enqueue(http, "a", {"n": 4}, headers={"Idempotency-Key": "b:c"}, expect=200)
    assert again["id"] == first["id"]


def test_queue_names_cannot_name_internal_keys(redge_factory):
    server = redge_factory("--queue-key-template", "redge:{queue}")
    http = server.http
    job_id = enqueue(http, "plain", {"n": 1})["id"]
    for queue in (f"job:{job_id}", f"events:{job_id}", "idem:1:a:b", f"deliveries:{job_id}"):
        for method, path in (("POST", f"/v1/queues/{queue}/jobs"),
                             ("POST", f"/v1/queues/{queue}/lease")):
            reply = http.request(method, path, json={"n": 2})
            assert reply.status == 400, (queue, reply)
            assert "redge keeps for its own records" in reply.json()["error"]["message"]
    assert get_job(http, job_id)["state"] == "queued"
