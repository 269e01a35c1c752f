"""Job records written by an earlier redge (one JSON object each) keep working after an
upgrade: they are read, the job goes on through its lifecycle, and its next change
rewrites the record in the current binary form."""

import json

from integration_support import enqueue, get_job, json_record, lease, worker_call


def test_a_job_whose_record_is_the_old_json_form_runs_to_completion(redge):
    http, r = redge.http, redge.client(decode_responses=False)
    job = enqueue(http, "up", {"n": 1})
    key = f"redge:job:{job['id']}"
    assert r.get(key)[:1] == b"\xb7"  # written in the binary form
    old = json_record(http, job["id"])
    old["payload"] = {"n": 1, "from": "the old record"}
    old["envelope"] = r.lindex("redge:queue:up", 0).decode()  # the entry it is queued under
    r.set(key, json.dumps(old))  # as an earlier version wrote it (no TTL while queued)

    assert get_job(http, job["id"])["state"] == "queued"
    leased = lease(http, "up", wait=0)
    assert leased["id"] == job["id"]
    assert leased["payload"] == {"n": 1, "from": "the old record"}
    assert r.get(key)[:1] == b"\xb7"  # the lease rewrote it
    assert worker_call(http, job["id"], "complete", leased["lease_token"],
                       {"result": {"ok": True}}).status == 200
    done = get_job(http, job["id"], after=0)
    assert done["state"] == "completed" and done["result"] == {"ok": True}
    assert [e["event"] for e in done["events"]] == ["queued", "started", "completed"]
