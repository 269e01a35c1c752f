"""JSON a client controls never crashes redge: deeply nested bodies, bridge messages and
overwritten records are refused at the documented depth (128 levels of arrays and
objects), and values that are not UTF-8 are stored and served without an exception."""

import json

import pytest

from integration_support import enqueue, get_job, json_record, lease, wait_state

LIMIT = 128  # docs/http-api.md, "Limits"


def nested(depth, leaf="1"):
    return "[" * depth + leaf + "]" * depth


def deep_object(depth):
    return '{"a":' * depth + "1" + "}" * depth


def assert_alive(server):
    assert server.running(), "redge died"
    assert server.http.get("/healthz").status == 200


# The reproduction: 100,000 levels (a 200 KB body, under --max-body).
HUGE = nested(100_000)


@pytest.mark.parametrize("path", ["/v1/queues/q/jobs", "/chat"])
def test_deep_payload_is_refused_with_400(redge, http, r, path):
    reply = http.post(path, body=HUGE, headers={"Content-Type": "application/json"})
    assert reply.status == 400, reply
    assert reply.error_code() == "invalid_json"
    assert "128" in reply.json()["error"]["message"], reply
    assert r.llen("redge:queue:q") == 0 and r.llen("redge:queue:chat") == 0
    assert_alive(redge)


def test_depth_limit_is_exact(redge, http):
    for body in (nested(LIMIT), deep_object(LIMIT)):
        reply = http.post("/v1/queues/lim/jobs", body=body,
                          headers={"Content-Type": "application/json"})
        assert reply.status == 202, reply
        job = get_job(http, reply.json()["id"], after=0)
        assert job["events"][0]["event"] == "queued"
    for body in (nested(LIMIT + 1), deep_object(LIMIT + 1)):
        reply = http.post("/v1/queues/lim/jobs", body=body,
                          headers={"Content-Type": "application/json"})
        assert reply.status == 400, reply
    # Brackets inside strings are text, not nesting.
    text = json.dumps({"s": "[" * 1000 + "{" * 1000})
    assert http.post("/v1/queues/lim/jobs", body=text).status == 202


def test_worker_routes_refuse_deep_bodies(redge, http):
    enqueue(http, "wq", {"n": 1})
    job = lease(http, "wq", worker="w")
    for action in ("events", "complete", "fail"):
        reply = http.post(f"/v1/jobs/{job['id']}/{action}", body=HUGE,
                          headers={"X-Lease-Token": job["lease_token"],
                                   "Content-Type": "application/json"})
        assert reply.status == 400, (action, reply)
        assert reply.error_code() == "invalid_json"
    reply = http.post("/v1/queues/wq/lease", body=HUGE)
    assert reply.status == 400, reply
    assert get_job(http, job["id"])["state"] == "running"
    assert_alive(redge)


def test_bridge_refuses_deep_progress_and_response(redge, http):
    worker = redge.worker("deep-worker")
    job_id = enqueue(http, "bq", {"n": 1})["id"]
    popped = worker.brpop("redge:queue:bq", timeout=10)
    assert popped is not None
    # PUBLISH: refused (no event), the job is untouched and the lease still extends.
    worker.publish(f"redge:progress:{job_id}", HUGE)
    worker.publish(f"redge:progress:{job_id}", '{"event":"x","data":' + nested(LIMIT + 1) + "}")
    worker.publish(f"redge:progress:{job_id}", json.dumps({"step": 1}))
    job = get_job(http, job_id, after=0)
    assert [e["event"] for e in job["events"]] == ["queued", "started", "progress"], job
    assert job["state"] == "running"
    # SET of the response key: the job fails with the reason instead of crashing redge.
    assert worker.set(f"redge:response:{job_id}", HUGE, ex=60)
    job = wait_state(http, job_id, ("completed", "failed"), timeout=5)
    assert job["state"] == "failed", job
    assert "128" in job["error"], job
    assert_alive(redge)


def test_overwritten_records_are_unreadable_not_fatal(redge, http, r):
    job_id = enqueue(http, "rec", {"n": 1})["id"]
    record = json_record(http, job_id)
    record_text = json.dumps(record)
    deep_record = record_text[:-1] + ', "payload": ' + nested(100_000) + "}"
    r.set(f"redge:job:{job_id}", deep_record)
    r.rpush(f"redge:events:{job_id}", '{"id":2,"event":"x","data":' + nested(100_000) + "}")
    assert http.get(f"/v1/jobs/{job_id}").status == 404
    assert http.get("/v1/jobs").status == 200
    assert http.get("/v1/queues").status == 200
    # An envelope too deep to be read is ignored by the lease path.
    r.lpush("redge:queue:rec", nested(100_000))
    assert http.post("/v1/queues/rec/lease").status in (200, 204)
    assert_alive(redge)


def test_response_that_is_not_utf8_completes(redge, http):
    worker = redge.worker("bytes-worker")
    job_id = enqueue(http, "u8", {"n": 1})["id"]
    assert worker.brpop("redge:queue:u8", timeout=10) is not None
    raw = redge.client(decode_responses=False, single_connection_client=True)
    raw.client_setname("bytes-worker")
    # Sent on the lease holder's name; the value is not valid UTF-8 nor JSON.
    assert raw.set(f"redge:response:{job_id}".encode(), b"ok \xff\xfe end", ex=60)
    job = wait_state(http, job_id, ("completed", "failed"), timeout=5)
    assert job["state"] == "completed", job
    assert job["result"] == "ok \ufffd\ufffd end", job
    stream = redge.sse(f"/v1/jobs/{job_id}/events")
    events = stream.until_terminal()
    assert events[-1].type == "completed" and events[-1].json == {"result": "ok \ufffd\ufffd end"}
    assert_alive(redge)
