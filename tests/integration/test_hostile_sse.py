"""SSE streams cannot be forged: worker-chosen event names are validated at every entry
(HTTP worker events, PUBLISH on the progress channel) and the SSE writer never emits a
line break inside a field, whatever the source (an event record overwritten over RESP)."""

import json

import pytest

from integration_support import enqueue, get_job, json_record, lease, worker_call

FORGED = "x\nid: 99\nevent: completed\ndata: {\"result\": \"forged\"}"


@pytest.mark.parametrize("name", [
    FORGED, "a\rb", "with space", "x" * 65, "é", "", "tab\there", "semi;colon"])
def test_http_worker_event_names_are_validated(redge, http, name):
    enqueue(http, "names", {"n": 1})
    job = lease(http, "names", worker="w")
    reply = worker_call(http, job["id"], "events", job["lease_token"],
                        body={"event": name, "data": {"x": 1}})
    assert reply.status == 400, reply
    assert reply.error_code() == "bad_request"
    assert get_job(http, job["id"])["last_event_id"] == 2  # queued, started


def test_valid_event_names_stream_verbatim(redge, http):
    enqueue(http, "names", {"n": 1})
    job = lease(http, "names", worker="w")
    names = ["tool.call:v2-x_1", "x" * 64, "chunk", "A9"]
    for name in names:
        reply = worker_call(http, job["id"], "events", job["lease_token"],
                            body={"event": name, "data": {"name": name}})
        assert reply.status == 200, reply
    stream = redge.sse(f"/v1/jobs/{job['id']}/events?after=2")
    events = stream.events(len(names))
    assert [e.type for e in events] == names
    assert [e.id for e in events] == [3, 4, 5, 6]


def test_bridge_refuses_forged_event_names(redge, http):
    job_id = enqueue(http, "bridge", {"n": 1})["id"]
    worker = redge.worker("names-worker")
    assert worker.brpop("redge:queue:bridge", timeout=10) is not None
    stream = redge.sse(f"/v1/jobs/{job_id}/events")
    channel = f"redge:progress:{job_id}"
    worker.publish(channel, json.dumps({"event": FORGED, "n": 1}))
    worker.publish(channel, json.dumps({"event": "x" * 65, "n": 2}))
    worker.publish(channel, json.dumps({"event": "step.ok", "n": 3}))
    events = stream.events(3)
    assert [(e.id, e.type) for e in events] == [(1, "queued"), (2, "started"), (3, "step.ok")]
    assert events[2].json == {"event": "step.ok", "n": 3}
    job = get_job(http, job_id)
    assert job["state"] == "running" and job["last_event_id"] == 3


def test_stored_records_cannot_forge_sse_fields(redge_factory):
    """An event record overwritten over RESP (any source) still streams as one event."""
    redge = redge_factory("--sse-heartbeat", "0.2")
    http, r = redge.http, redge.client()
    job_id = enqueue(http, "rec", {"n": 1})["id"]
    record = json_record(http, job_id)
    forged = {"id": 2, "event": FORGED, "data": "line1\nid: 77\r\nevent: failed\rdata: x",
              "ts": 1}
    r.rpush(f"redge:events:{job_id}", json.dumps(forged))
    record["last_event_id"] = 2
    r.set(f"redge:job:{job_id}", json.dumps(record))
    stream = redge.sse(f"/v1/jobs/{job_id}/events")
    first, second = stream.events(2)
    assert (first.id, first.type) == (1, "queued")
    assert second.id == 2, second
    assert "\n" not in second.type and second.type not in ("completed", "failed"), second
    # data is JSON: the string's line breaks are escapes, the value reads back intact.
    assert second.json == forged["data"]
    # No id 77 or 99 and no terminal event follow: the stream is still open (heartbeat).
    comment = stream.next_comment(timeout=5)
    assert comment.text == "heartbeat"
    assert all(getattr(i, "id", None) in (None, 1, 2) for i in stream.items), stream.items
