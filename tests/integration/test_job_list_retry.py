"""GET /v1/jobs (filtered, paged job listing) and POST /v1/jobs/{id}/retry.

Every wait is bounded: leases use ?wait=, SSE reads and state polls have deadlines.
"""

import integration_support as sup


def fail_job(http, queue, error="boom"):
    """Enqueues a job on `queue` (which must hold nothing else) and fails it over HTTP."""
    created = sup.enqueue(http, queue, {"q": queue})
    leased = sup.lease(http, queue, wait=5, worker="w1")
    assert leased["id"] == created["id"], (leased, created)
    reply = sup.worker_call(http, created["id"], "fail", leased["lease_token"],
                            {"error": error})
    assert reply.status == 200 and reply.json()["state"] == "failed", reply
    return created["id"]


def test_list_filters_by_queue_and_state_with_limit_and_cursor(redge):
    http = redge.http
    # Ids sort by creation millisecond; jobs of the same millisecond in id order.
    a_ids = sorted(sup.enqueue(http, "la", {"n": i})["id"] for i in range(5))
    b_ids = sorted(sup.enqueue(http, "lb", {"n": i})["id"] for i in range(2))
    canceled = a_ids[1]
    assert http.delete(f"/v1/jobs/{canceled}").status == 200

    everything = http.get("/v1/jobs").json()
    assert [j["id"] for j in everything["jobs"]] == sorted(a_ids + b_ids)  # oldest first
    assert everything["next_cursor"] is None
    assert set(everything["jobs"][0]) >= {"id", "queue", "state", "attempt", "created_at"}

    # Queue filter, paged two at a time by cursor.
    seen, cursor, pages = [], None, 0
    while True:
        params = {"queue": "la", "limit": 2}
        if cursor:
            params["cursor"] = cursor
        reply = http.get("/v1/jobs", params=params)
        assert reply.status == 200, reply
        page = reply.json()
        assert len(page["jobs"]) <= 2
        assert all(j["queue"] == "la" for j in page["jobs"])
        seen += [j["id"] for j in page["jobs"]]
        cursor = page["next_cursor"]
        pages += 1
        assert pages <= 5, "the cursor did not advance"
        if cursor is None:
            break
        assert cursor == page["jobs"][-1]["id"]
    assert seen == a_ids

    queued_a = http.get("/v1/jobs", params={"queue": "la", "state": "queued"}).json()
    assert [j["id"] for j in queued_a["jobs"]] == [i for i in a_ids if i != canceled]
    only_canceled = http.get("/v1/jobs", params={"state": "canceled"}).json()
    assert [j["id"] for j in only_canceled["jobs"]] == [canceled]
    assert http.get("/v1/jobs", params={"queue": "nothing-here"}).json() == {
        "jobs": [], "next_cursor": None}

    # Resuming after an id gives the records after it.
    all_ids = sorted(a_ids + b_ids)
    after = http.get("/v1/jobs", params={"cursor": all_ids[3]}).json()
    assert [j["id"] for j in after["jobs"]] == all_ids[4:]


def test_list_rejects_bad_parameters(redge):
    http = redge.http
    for params in ({"state": "sleeping"}, {"limit": "0"}, {"limit": "1001"},
                   {"limit": "ten"}, {"queue": "bad queue"}, {"queue": ""}):
        reply = http.get("/v1/jobs", params=params)
        assert reply.status == 400, (params, reply)
        assert reply.error_code() == "bad_request", (params, reply)
    assert http.get("/v1/jobs", params={"limit": "1000"}).status == 200


def test_retry_of_a_failed_job_runs_it_again(redge):
    http = redge.http
    job_id = fail_job(http, "rt")
    failed = sup.get_job(http, job_id)
    assert failed["state"] == "failed" and failed["attempt"] == 1
    assert redge.client().ttl(f"redge:job:{job_id}") > 0

    reply = http.post(f"/v1/jobs/{job_id}/retry")
    assert reply.status == 200, reply
    job = reply.json()
    assert job["state"] == "queued" and job["attempt"] == 2
    assert job["max_attempts"] >= 2 and job["finished_at"] == 0
    assert not job.get("error")
    r = redge.client()
    assert r.ttl(f"redge:job:{job_id}") == -1
    assert r.ttl(f"redge:events:{job_id}") == -1

    stream = redge.sse(f"/v1/jobs/{job_id}/events",
                       headers={"Last-Event-ID": str(failed["last_event_id"])})
    assert stream.head() == 200
    leased = sup.lease(http, "rt", wait=5, worker="w2")
    assert leased["id"] == job_id and leased["attempt"] == 2
    done = sup.worker_call(http, job_id, "complete", leased["lease_token"],
                           {"result": {"ok": True}})
    assert done.status == 200 and done.json()["state"] == "completed", done
    events = stream.until_terminal(timeout=10)
    types = [e.type for e in events]
    assert types == ["retrying", "started", "completed"], types
    assert events[0].json["attempt"] == 2
    assert events[0].json["reason"] == "manual retry"
    assert events[0].json["previous_worker"] == "w1"
    assert r.ttl(f"redge:job:{job_id}") > 0  # finished again: the result TTL is back


def test_retry_of_a_canceled_job_and_conflicts(redge):
    http = redge.http
    job_id = sup.enqueue(http, "rc", {"x": 1})["id"]
    reply = http.post(f"/v1/jobs/{job_id}/retry")
    assert reply.status == 409 and reply.error_code() == "conflict", reply  # queued
    assert http.delete(f"/v1/jobs/{job_id}").status == 200
    again = http.post(f"/v1/jobs/{job_id}/retry")
    assert again.status == 200 and again.json()["state"] == "queued", again
    assert sup.lease(http, "rc", wait=5, worker="w")["id"] == job_id

    done_id = sup.run_http_job(http, "rd")
    reply = http.post(f"/v1/jobs/{done_id}/retry")
    assert reply.status == 409 and reply.error_code() == "conflict", reply
    assert sup.get_job(http, done_id)["state"] == "completed"
    assert http.post("/v1/jobs/nope/retry").status == 404
