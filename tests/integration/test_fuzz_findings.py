"""Regression tests of what the fuzzers of tests/fuzz found (docs/reliability.md lists
each finding with its input). Each test failed before its fix."""

import json

from integration_support import enqueue, get_job, lease, wait_state, worker_call


def _pop(worker, key):
    popped = worker.brpop(key, timeout=10)
    assert popped is not None, f"BRPOP on {key} timed out"
    return json.loads(popped[1])


def test_legacy_flags_that_are_not_booleans_do_not_kill_redge(redge, http):
    """fuzz_job_json: a worker's `SET redge:response:<id> {"isError": 1}` (or a progress
    message with "complete": "yes") made nlohmann's value<bool>() throw inside the worker's
    store write, and redge terminated. A flag counts only when it is JSON true; anything
    else is an ordinary value."""
    worker = redge.worker("w-flags")

    job_id = enqueue(http, "flags", {"n": 1})["id"]
    _pop(worker, "redge:queue:flags")
    value = {"isError": 1, "content": "not a failure"}
    worker.set(f"redge:response:{job_id}", json.dumps(value))
    job = wait_state(http, job_id, ("completed", "failed"), timeout=5)
    assert (job["state"], job["result"]) == ("completed", value), job

    job_id = enqueue(http, "flags", {"n": 2})["id"]
    _pop(worker, "redge:queue:flags")
    chan = f"redge:progress:{job_id}"
    worker.publish(chan, json.dumps({"complete": "yes", "content": "still running"}))
    job = get_job(http, job_id, after=2)
    assert job["state"] == "running", job
    assert [(e["event"], e["data"]) for e in job["events"]] == [
        ("progress", {"complete": "yes", "content": "still running"})], job
    worker.publish(chan, json.dumps({"complete": True, "content": "done", "isError": "no"}))
    job = wait_state(http, job_id, ("completed", "failed"), timeout=5)
    assert (job["state"], job["result"]) == ("completed", "done"), job

    job_id = enqueue(http, "flags", {"n": 3})["id"]
    _pop(worker, "redge:queue:flags")
    worker.publish(f"redge:progress:{job_id}",
                   json.dumps({"complete": True, "content": "boom", "isError": True}))
    job = wait_state(http, job_id, ("completed", "failed"), timeout=5)
    assert (job["state"], job["error"]) == ("failed", "boom"), job


def test_fail_with_a_retry_that_is_not_a_boolean_is_a_400(redge, http):
    """fuzz_http_api: POST /v1/jobs/{id}/fail {"retry": "yes"} threw in the handler and got
    500; it is the client's mistake, so 400 naming the field, and the lease stays."""
    job_id = enqueue(http, "retryflag", {"n": 1})["id"]
    leased = lease(http, "retryflag", wait=5, worker="w")
    for retry in ("yes", 1, None, [True]):
        reply = worker_call(http, job_id, "fail", leased["lease_token"],
                            {"error": "x", "retry": retry})
        assert reply.status == 400, (retry, reply)
        assert reply.error_code() == "bad_request" and "retry" in reply.json()["error"]["message"]
    assert get_job(http, job_id)["state"] == "running"
    reply = worker_call(http, job_id, "fail", leased["lease_token"], {"error": "x", "retry": False})
    assert reply.status == 200 and reply.json()["state"] == "failed", reply
