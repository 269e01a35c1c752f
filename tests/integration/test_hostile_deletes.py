"""Jobs deleted behind the jobs layer's back over RESP (DEL, FLUSHDB, FLUSHALL, also inside
MULTI): SSE streams end with a terminal `gone` event, parked long-polls answer 404, and
the running gauges follow; an --http-token without --requirepass is warned about."""

import time

import pytest

from integration_support import enqueue, lease, wait_until
from test_metrics import scrape, value


def running_job(server, queue):
    enqueue(server.http, queue, {"n": 1})
    return lease(server.http, queue, worker="w")["id"]


def queue_running(server, queue):
    for q in server.http.get("/v1/queues").json()["queues"]:
        if q["queue"] == queue:
            return q["running"]
    return None


def expect_gone(stream, job_id):
    started = time.monotonic()
    while True:
        ev = stream.next_event(timeout=5)
        if ev.type == "gone":
            break
        assert ev.type in ("queued", "started"), ev
    assert time.monotonic() - started < 5
    assert ev.id is None, ev  # not a stored event: Last-Event-ID stays
    assert ev.json["error"]["code"] == "not_found"
    assert job_id in ev.json["error"]["message"]
    stream.expect_end()


@pytest.mark.parametrize("how", ["flushall", "flushdb", "del", "multi-flushall", "unlink"])
def test_deleted_job_ends_streams_polls_and_gauges(redge_factory, how):
    server = redge_factory("--sse-heartbeat", "60")
    r = server.client()
    job_id = running_job(server, "del")
    assert queue_running(server, "del") == 1
    assert value(scrape(server.http), "redge_queue_running", {"queue": "del"}) == 1
    stream = server.sse(f"/v1/jobs/{job_id}/events")
    assert [e.type for e in stream.events(2)] == ["queued", "started"]
    poll = server.http.start("GET", f"/v1/jobs/{job_id}?wait=30", timeout=40)
    poll.assert_no_reply(0.3)

    if how == "flushall":
        r.flushall()
    elif how == "flushdb":
        r.flushdb()
    elif how == "del":
        assert r.delete(f"redge:job:{job_id}") == 1
    elif how == "unlink":
        assert r.unlink(f"redge:job:{job_id}") == 1
    else:
        pipe = r.pipeline(transaction=True)
        pipe.flushall()
        pipe.execute()

    expect_gone(stream, job_id)
    reply, _ = poll.reply(timeout=5)
    assert reply.status == 404 and reply.error_code() == "not_found", reply
    assert queue_running(server, "del") == 0
    assert value(scrape(server.http), "redge_queue_running", {"queue": "del"}) == 0
    # The queue goes on working.
    job2 = running_job(server, "del")
    assert queue_running(server, "del") == 1
    assert job2 != job_id


def test_flushing_another_database_leaves_jobs_alone(redge_factory):
    server = redge_factory("--sse-heartbeat", "0.2")
    r = server.client(db=1)
    job_id = running_job(server, "keep")
    stream = server.sse(f"/v1/jobs/{job_id}/events")
    assert [e.type for e in stream.events(2)] == ["queued", "started"]
    r.flushdb()
    assert stream.next_comment(timeout=5).text == "heartbeat"
    assert queue_running(server, "keep") == 1


def test_http_token_without_requirepass_warns_at_start(redge_factory):
    open_resp = redge_factory("--http-token", "t0ken")
    guarded = redge_factory("--http-token", "t0ken", "--requirepass", "pw")

    def warned(server):
        return "--requirepass is not" in server.log_path.read_text(errors="replace")

    wait_until(lambda: warned(open_resp), timeout=5, what="the open-RESP warning")
    assert not warned(guarded)
