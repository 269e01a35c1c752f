"""Graceful shutdown (SIGTERM): open SSE streams get a `retry:` hint and end, parked
long-polls and lease waits answer at once, /readyz turns 503, and redge exits 0."""

import signal
import time

import integration_support as sup


def test_sigterm_drains_parked_requests_and_exits_zero(redge_factory):
    server = redge_factory()
    http = server.http
    job = http.post("/v1/queues/drain/jobs", json={"n": 1})
    assert job.status == 202, job
    job_id = job.json()["id"]

    stream = server.sse(f"/v1/jobs/{job_id}/events")
    assert stream.next_event().type == "queued"
    poll = http.start("GET", f"/v1/jobs/{job_id}", params={"after": "1", "wait": "30"})
    lease = http.start("POST", "/v1/queues/nothing-here/lease", params={"wait": "30"})
    poll.assert_no_reply(0.3)  # both are parked
    lease.assert_no_reply(0.05)

    started = time.monotonic()
    server.proc.send_signal(signal.SIGTERM)

    # The stream: a retry hint, then its end (no terminal event: the job is still queued).
    items = []
    while not stream.ended:
        try:
            items.append(stream.next_item(timeout=5))
        except sup.StreamEnded:
            break
    assert any(i.kind == "retry" for i in items), items
    polled, _ = poll.reply(timeout=5)
    assert polled.status == 200, polled
    assert polled.json()["state"] == "queued" and polled.json()["events"] == []
    leased, _ = lease.reply(timeout=5)
    assert leased.status == 204, leased

    rc = server.proc.wait(timeout=10)
    assert rc == 0, server.log_tail()
    assert time.monotonic() - started < 8
    server.proc = None  # stopped by the test; the fixture has nothing left to stop


def test_job_survives_a_restart(redge_factory, tmp_path):
    """What was acknowledged before SIGTERM is there after a restart on the same data."""
    data = tmp_path / "shared-data"
    first = redge_factory("--data-dir", str(data))
    job = first.http.post("/v1/queues/restart/jobs", json={"keep": True}).json()
    first.proc.send_signal(signal.SIGTERM)
    assert first.proc.wait(timeout=10) == 0
    first.proc = None
    second = redge_factory("--data-dir", str(data))
    got = second.http.get(f"/v1/jobs/{job['id']}")
    assert got.status == 200 and got.json()["state"] == "queued", got
    assert second.client().llen("redge:queue:restart") == 1
