"""A restart reads only the running jobs (the running-jobs index), not every job.

redge keeps, in the write that changes a job's state, a store-internal record per running
job and per known queue. After a SIGKILL the restart finds the leases to watch from those
records alone (so 1 M queued jobs do not make it read 1 M records; tools/bench/depth
measures it), and it must still:
- expire the lease of a job that was running when redge died (the job is queued again),
- count running jobs and list every known queue in GET /v1/queues, even an empty one,
- keep the records out of the keyspace (KEYS, DBSIZE, FLUSHALL never see them),
- drop an index entry whose job was deleted behind its back (DEL, FLUSHALL).
"""

import json
import re

from integration_support import enqueue, lease, worker_call

READY_RE = re.compile(r'"msg":"jobs ready"')


def jobs_ready(server):
    """The fields of the last "jobs ready" log line of `server`."""
    lines = [json.loads(line) for line in server.log_path.read_text().splitlines()
             if READY_RE.search(line)]
    assert lines, server.log_tail()
    return lines[-1]


def queues(server):
    reply = server.http.get("/v1/queues")
    assert reply.status == 200, reply
    return {q["queue"]: q for q in reply.json()["queues"]}


def restart(redge_factory, server, data, *flags):
    server.kill_on_purpose()
    return redge_factory("--data-dir", str(data), "--log-level", "info", *flags)


def test_running_jobs_survive_a_sigkill_and_their_leases_still_expire(redge_factory, tmp_path):
    data = tmp_path / "data"
    flags = ("--lease-timeout", "2")
    first = redge_factory("--data-dir", str(data), "--log-level", "info", *flags)
    http = first.http
    running = enqueue(http, "work", {"n": 1})
    done = enqueue(http, "work", {"n": 2})
    waiting = enqueue(http, "work", {"n": 3})
    empty_queue_job = enqueue(http, "drained", {"n": 4})
    held = lease(http, "work", wait=0)
    assert held["id"] == running["id"]
    finished = lease(http, "work", wait=0)
    assert finished["id"] == done["id"]
    assert worker_call(http, done["id"], "complete", finished["lease_token"],
                       {"result": 1}).status == 200
    drained = lease(http, "drained", wait=0)
    assert drained["id"] == empty_queue_job["id"]
    assert worker_call(http, drained["id"], "complete", drained["lease_token"],
                       {"result": 1}).status == 200
    # The index is not in the keyspace: only job records, event logs, the queue list.
    r = first.client()
    assert not [k for k in r.keys("*") if not re.match(
        r"^redge:(job|events|queue|deliveries):", k)], r.keys("*")

    second = restart(redge_factory, first, data, *flags)
    ready = jobs_ready(second)
    assert ready["read_every_job"] == "false", ready
    assert ready["running_leases"] == "1", ready
    listed = queues(second)
    assert listed["work"]["running"] == 1 and listed["work"]["depth"] == 1, listed
    # A queue with nothing queued or running is still known after the restart.
    assert listed["drained"] == {"queue": "drained", "depth": 0, "running": 0,
                                 "oldest_age_ms": 0}, listed

    # The lease of the job running at the SIGKILL expires: the job is queued again
    # (behind the one that was waiting) and its event log says why.
    reply = second.http.get(f"/v1/jobs/{running['id']}",
                            params={"after": 2, "wait": 20})
    assert reply.status == 200, reply
    body = reply.json()
    assert body["state"] == "queued" and body["attempt"] == 2, body
    assert [e["event"] for e in body["events"]] == ["retrying"], body
    assert lease(second.http, "work", wait=0)["id"] == waiting["id"]
    again = lease(second.http, "work", wait=0)
    assert again["id"] == running["id"] and again["attempt"] == 2
    assert queues(second)["work"]["running"] == 2


def test_an_index_entry_whose_job_was_deleted_is_dropped(redge_factory, tmp_path):
    data = tmp_path / "data"
    first = redge_factory("--data-dir", str(data), "--log-level", "info")
    a = enqueue(first.http, "q", {"n": 1})
    b = enqueue(first.http, "q", {"n": 2})
    assert lease(first.http, "q", wait=0)["id"] == a["id"]
    assert lease(first.http, "q", wait=0)["id"] == b["id"]
    r = first.client()
    # A RESP client deletes one running job's record: its entry goes in the same write.
    assert r.delete(f"redge:job:{a['id']}") == 1
    assert queues(first)["q"]["running"] == 1

    second = restart(redge_factory, first, data)
    ready = jobs_ready(second)
    assert ready["running_leases"] == "1" and ready["stale_index_entries"] == "0", ready
    # FLUSHALL deletes every job and leaves the (internal) index: the next start drops
    # the entry of the job that was running, and the keyspace is empty.
    r = second.client()
    assert r.flushall() is True
    assert r.dbsize() == 0
    assert queues(second)["q"]["running"] == 0

    third = restart(redge_factory, second, data)
    ready = jobs_ready(third)
    assert ready["read_every_job"] == "false", ready
    assert ready["running_leases"] == "0" and ready["stale_index_entries"] == "1", ready
    assert queues(third)["q"]["running"] == 0
    assert third.client().dbsize() == 0
