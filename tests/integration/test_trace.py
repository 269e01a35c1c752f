"""GET /v1/jobs/{id}/trace: where a job has been - enqueued (with its correlation id), each
lease and its holder, every event, the end, and which readers received the end."""

import json
import time


def trace_until(http, job_id, predicate, timeout=5):
    deadline = time.monotonic() + timeout
    while True:
        got = http.get(f"/v1/jobs/{job_id}/trace")
        assert got.status == 200, got
        body = got.json()
        if predicate(body):
            return body
        # Deliveries are recorded just after the reader got its bytes, without waiting for
        # the disk; the trace shows them a moment later.
        assert time.monotonic() < deadline, f"trace never matched: {body}"
        time.sleep(0.05)


def test_trace_of_a_real_job(redge):
    http = redge.http
    created = http.post("/v1/queues/traced/jobs", json={"q": "why"},
                        headers={"X-Correlation-ID": "trace-corr-1"})
    assert created.status == 202
    job_id = created.json()["id"]
    stream = redge.sse(f"/v1/jobs/{job_id}/events")
    assert stream.next_event().type == "queued"

    worker = redge.client(single_connection_client=True)
    worker.client_setname("gpu-worker-7")
    _, raw = worker.brpop("redge:queue:traced", timeout=5)
    assert json.loads(raw)["id"] == job_id
    worker.publish(f"redge:progress:{job_id}", json.dumps({"progress": 0.5}))
    worker.set(f"redge:response:{job_id}", json.dumps({"answer": 42}), ex=60)
    assert [e.type for e in stream.until_terminal()] == ["started", "progress", "completed"]
    assert http.get(f"/v1/jobs/{job_id}").json()["state"] == "completed"  # a poll reader

    body = trace_until(http, job_id, lambda b: len(
        [s for s in b["timeline"] if s["what"] == "terminal state delivered"]) >= 2)
    steps = body["timeline"]
    assert steps[0]["what"] == "enqueued" and steps[0]["correlation_id"] == "trace-corr-1"
    leased = [s for s in steps if s["what"] == "leased"]
    assert len(leased) == 1 and leased[0]["holder"] == "gpu-worker-7"
    assert leased[0]["attempt"] == 1
    assert [s["event"] for s in steps if "event" in s] == [
        "queued", "started", "progress", "completed"]
    finished = [s for s in steps if s["what"] == "finished"]
    assert finished == [f for f in finished if f["state"] == "completed"] and len(finished) == 1
    readers = sorted(s["reader"] for s in steps if s["what"] == "terminal state delivered")
    assert readers == ["poll", "sse"]
    ats = [s["at"] for s in steps]
    assert all(a > 0 for a in ats)


def test_trace_shows_each_lease_of_a_retried_job(redge_factory):
    server = redge_factory("--lease-timeout", "0.3", "--max-attempts", "2")
    http = server.http
    job_id = http.post("/v1/queues/flaky/jobs", json={}).json()["id"]
    w1 = server.client(single_connection_client=True)
    w1.client_setname("first")
    assert w1.brpop("redge:queue:flaky", timeout=5) is not None
    w2 = server.client(single_connection_client=True)
    w2.client_setname("second")
    assert w2.brpop("redge:queue:flaky", timeout=5) is not None  # after the first lease expired
    body = trace_until(http, job_id, lambda b: b["state"] == "failed")
    holders = [s["holder"] for s in body["timeline"] if s["what"] == "leased"]
    assert holders == ["first", "second"]
    assert [s for s in body["timeline"] if s["what"] == "finished"][0]["error"] == "worker lost"


def test_trace_of_unknown_job_is_404(redge):
    assert redge.http.get("/v1/jobs/nope/trace").status == 404
