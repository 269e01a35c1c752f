"""One event-size limit (--max-event-bytes, default 1 MiB of compact JSON data) enforced
where events are written, and SSE streams paced to their reader: every stored event can
be delivered over SSE, however big the backlog or the event."""

import json
import time

from integration_support import enqueue, get_job, lease, wait_state, worker_call


def data_of_size(n):
    """A JSON string value whose compact JSON text is exactly n bytes."""
    return "x" * (n - 2)


def test_http_event_and_result_over_the_limit_are_413(redge_factory):
    limit = 65536
    server = redge_factory("--max-event-bytes", str(limit), "--max-body", "1048576")
    http = server.http
    enqueue(http, "sz", {"n": 1})
    job = lease(http, "sz", worker="w")
    ok = worker_call(http, job["id"], "events", job["lease_token"],
                     body={"event": "chunk", "data": data_of_size(limit)})
    assert ok.status == 200, ok
    big = worker_call(http, job["id"], "events", job["lease_token"],
                      body={"event": "chunk", "data": data_of_size(limit + 1)})
    assert big.status == 413, big
    assert big.error_code() == "payload_too_large"
    assert "--max-event-bytes" in big.json()["error"]["message"]
    # The completed event is {"result": ...}: 12 bytes of wrapping count too.
    big = worker_call(http, job["id"], "complete", job["lease_token"],
                      body={"result": data_of_size(limit)})
    assert big.status == 413, big
    assert get_job(http, job["id"])["state"] == "running"
    # A huge error text is cut, never refused: the job can always fail.
    failed = worker_call(http, job["id"], "fail", job["lease_token"],
                         body={"error": "e" * 200_000})
    assert failed.status == 200, failed
    assert failed.json()["state"] == "failed"
    assert len(failed.json()["error"]) <= 16 * 1024 + 3
    stream = server.sse(f"/v1/jobs/{job['id']}/events")
    events = stream.until_terminal()
    assert [e.type for e in events] == ["queued", "started", "chunk", "failed"]


def test_bridge_refuses_oversized_progress_and_fails_oversized_results(redge):
    http = redge.http
    worker = redge.worker("big-worker")
    job_id = enqueue(http, "bz", {"n": 1})["id"]
    assert worker.brpop("redge:queue:bz", timeout=10) is not None
    worker.publish(f"redge:progress:{job_id}", json.dumps({"blob": "y" * (2 << 20)}))
    worker.publish(f"redge:progress:{job_id}", json.dumps({"step": 2}))
    job = get_job(http, job_id, after=2)
    assert [e["data"] for e in job["events"]] == [{"step": 2}], job
    assert worker.set(f"redge:response:{job_id}", "z" * (2 << 20), ex=60)
    job = wait_state(http, job_id, ("completed", "failed"), timeout=5)
    assert job["state"] == "failed", job
    assert "--max-event-bytes" in job["error"], job


def test_an_event_bigger_than_8_mib_is_delivered(redge_factory):
    server = redge_factory("--max-event-bytes", str(16 << 20), "--max-body", str(20 << 20))
    http = server.http
    enqueue(http, "huge", {"n": 1})
    job = lease(http, "huge", worker="w")
    blob = "h" * (12 << 20)
    reply = worker_call(http, job["id"], "events", job["lease_token"],
                        body={"event": "chunk", "data": blob})
    assert reply.status == 200, reply
    assert worker_call(http, job["id"], "complete", job["lease_token"],
                       body={"result": "done"}).status == 200
    stream = server.sse(f"/v1/jobs/{job['id']}/events", timeout=30)
    events = stream.until_terminal()
    assert [e.type for e in events] == ["queued", "started", "chunk", "completed"]
    assert events[2].json == blob


def test_a_backlog_bigger_than_the_stream_buffer_replays_in_full(redge):
    """20 events of 900 KB (18 MB, twice the 8 MiB stream buffer) replay from after=0."""
    http = redge.http
    enqueue(http, "backlog", {"n": 1})
    job = lease(http, "backlog", worker="w")
    for i in range(20):
        reply = worker_call(http, job["id"], "events", job["lease_token"],
                            body={"event": "chunk", "data": {"i": i, "pad": "p" * 900_000}})
        assert reply.status == 200, reply
    assert worker_call(http, job["id"], "complete", job["lease_token"],
                       body={"result": "ok"}).status == 200
    stream = redge.sse(f"/v1/jobs/{job['id']}/events?after=0", timeout=30)
    events = stream.until_terminal()
    assert [e.id for e in events] == list(range(1, 24))
    assert [e.json["i"] for e in events[2:22]] == list(range(20))
    stream.expect_end()


def test_a_slow_reader_gets_every_event_once_it_reads(redge):
    """A stream that does not read while events pile up gets them all, in order, later."""
    http = redge.http
    enqueue(http, "slow", {"n": 1})
    job = lease(http, "slow", worker="w")
    stream = redge.sse(f"/v1/jobs/{job['id']}/events")
    assert stream.head() == 200
    started = time.monotonic()
    for i in range(20):
        reply = worker_call(http, job["id"], "events", job["lease_token"],
                            body={"event": "chunk", "data": {"i": i, "pad": "p" * 900_000}})
        assert reply.status == 200, reply
    assert worker_call(http, job["id"], "complete", job["lease_token"],
                       body={"result": "ok"}).status == 200
    # The writer was never slowed by the reader that does not read.
    assert time.monotonic() - started < 10
    events = stream.until_terminal(timeout=30)
    assert [e.json["i"] for e in events if e.type == "chunk"] == list(range(20))
