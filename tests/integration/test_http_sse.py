"""SSE details: headers, the retry hint, heartbeats, the end of a stream, and the
--sse-max-streams limit."""

import re
import time

from integration_support import enqueue, lease, run_http_job, worker_call


def test_stream_headers_and_retry_first(redge, http):
    job_id = enqueue(http, "h", {"x": 1})["id"]
    s = redge.sse(f"/v1/jobs/{job_id}/events")
    assert s.head() == 200
    assert (s.header("Content-Type") or "").startswith("text/event-stream"), s.http.headers
    assert "no-cache" in (s.header("Cache-Control") or ""), s.http.headers
    assert s.header("X-Accel-Buffering") == "no", s.http.headers
    first = s.next_item()
    assert first.kind == "retry" and first.ms == 3000, first
    ev = s.next_item()
    assert ev.kind == "event" and (ev.id, ev.type) == (1, "queued"), ev


def test_heartbeat_comments(redge_factory):
    server = redge_factory("--sse-heartbeat", "0.2")
    job_id = enqueue(server.http, "hbq", {"x": 1})["id"]
    s = server.sse(f"/v1/jobs/{job_id}/events")
    assert s.next_event().type == "queued"
    t0 = time.monotonic()
    c1 = s.next_comment(timeout=2)
    c2 = s.next_comment(timeout=2)
    elapsed = time.monotonic() - t0
    assert c1.text == "heartbeat" and c2.text == "heartbeat", (c1, c2)
    assert elapsed < 1.5, f"two heartbeats of a 0.2 s period took {elapsed:.2f}s"


def test_stream_ends_after_terminal_event(redge, http):
    job_id = enqueue(http, "end", {"x": 1})["id"]
    s = redge.sse(f"/v1/jobs/{job_id}/events")
    assert s.next_event().type == "queued"
    token = lease(http, "end", wait=0)["lease_token"]
    assert worker_call(http, job_id, "complete", token, {"result": 1}).status == 200
    events = s.until_terminal()
    assert [e.type for e in events] == ["started", "completed"]
    s.expect_end(timeout=3)

    # A stream opened on a finished job replays everything, then ends.
    s = redge.sse(f"/v1/jobs/{job_id}/events")
    assert [e.type for e in s.until_terminal()] == ["queued", "started", "completed"]
    s.expect_end(timeout=3)


def _open_with_retry(server, path, deadline_s=5.0):
    """Opens a stream, retrying 503s until `deadline_s` (a slot is freed asynchronously
    when the server sees a closed peer; no route reports that, so retry, bounded)."""
    deadline = time.monotonic() + deadline_s
    while True:
        s = server.sse(path)
        status = s.head()
        if status == 200:
            return s
        assert status == 503, (status, s.http.body)
        s.close()
        assert time.monotonic() < deadline, "no stream slot was freed"
        time.sleep(0.05)


def test_max_streams(redge_factory):
    server = redge_factory("--sse-max-streams", "2")
    http = server.http
    a = enqueue(http, "ms", {"n": "a"})["id"]
    b = enqueue(http, "ms", {"n": "b"})["id"]
    s1 = server.sse(f"/v1/jobs/{a}/events")
    s2 = server.sse(f"/v1/jobs/{b}/events")
    assert s1.next_event().type == "queued"
    assert s2.next_event().type == "queued"

    s3 = server.sse(f"/v1/jobs/{a}/events")
    assert s3.head() == 503
    retry_after = s3.header("Retry-After")
    assert retry_after is not None and retry_after.strip().isdigit(), s3.http.headers
    assert s3.body_json()["error"]["code"] == "too_many_streams"
    s3.close()

    # Other routes are not limited.
    assert http.get("/healthz").status == 200

    # Closing a stream frees its slot.
    s1.close()
    s4 = _open_with_retry(server, f"/v1/jobs/{a}/events")
    assert s4.next_event().type == "queued"

    # A stream that ended after its terminal event frees its slot too.
    token = lease(http, "ms", wait=0)["lease_token"]  # job a (FIFO)
    assert worker_call(http, a, "complete", token, {"result": "a"}).status == 200
    assert s4.until_terminal()[-1].type == "completed"
    s4.expect_end()
    s5 = _open_with_retry(server, f"/v1/jobs/{b}/events")
    assert s5.next_event().type == "queued"

    # s2 and s5 are open: full again.
    s6 = server.sse(f"/v1/jobs/{b}/events")
    assert s6.head() == 503


def test_chat_stream_route_is_the_same_stream(redge, http):
    job_id = run_http_job(http, "chat", payload={"message": "hi"}, result={"content": "yo"},
                          events=[{"event": "chunk", "data": "y"}])
    a = redge.sse(f"/v1/jobs/{job_id}/events")
    b = redge.sse(f"/chat/stream/{job_id}")
    ea, eb = a.until_terminal(), b.until_terminal()
    assert [(e.id, e.type, e.data) for e in ea] == [(e.id, e.type, e.data) for e in eb]
    assert eb[-1].type == "completed"


def _sse_sent(http):
    """redge_sse_events_sent_total by source, from /metrics."""
    text = http.get("/metrics").body.decode()
    counts = {"memory": 0, "store": 0}
    for source in counts:
        m = re.search(rf'^redge_sse_events_sent_total{{source="{source}"}} (\d+)$', text, re.M)
        if m:
            counts[source] = int(m.group(1))
    return counts


def test_a_live_stream_takes_events_as_they_commit_and_a_replay_reads_the_store(redge):
    """A live stream is handed each event as it commits (the in-memory tail): no store read
    per event. A replay (a reconnect with Last-Event-ID) reads the store."""
    http = redge.http
    before = _sse_sent(http)
    job = enqueue(http, "tail", {"n": 1})
    s = redge.sse(f"/v1/jobs/{job['id']}/events")
    assert s.next_event().type == "queued"  # what was there when it opened: read
    leased = lease(http, "tail", wait=0)
    assert s.next_event().type == "started"
    for i in range(3):
        reply = worker_call(http, job["id"], "events", leased["lease_token"],
                            {"event": "progress", "data": {"i": i}})
        assert reply.status == 200, reply
        e = s.next_event()
        assert (e.id, e.type, e.json) == (3 + i, "progress", {"i": i})
    assert worker_call(http, job["id"], "complete", leased["lease_token"],
                       {"result": {"ok": True}}).status == 200
    done = s.next_event()
    assert (done.id, done.type, done.json) == (6, "completed", {"result": {"ok": True}})
    s.expect_end()
    after = _sse_sent(http)
    assert after["memory"] - before["memory"] == 5, (before, after)
    assert after["store"] - before["store"] == 1, (before, after)

    # The same events replayed, byte for byte the same, come from the store.
    replay = redge.sse(f"/v1/jobs/{job['id']}/events", headers={"Last-Event-ID": "1"})
    events = replay.until_terminal()
    assert [(e.id, e.type) for e in events] == [
        (2, "started"), (3, "progress"), (4, "progress"), (5, "progress"), (6, "completed")]
    assert events[-1].data == done.data
    final = _sse_sent(http)
    assert final["store"] - after["store"] == 5 and final["memory"] == after["memory"]


def test_a_reader_that_falls_behind_gets_every_event_once_in_order(redge):
    """Events come faster than the reader reads: the stream stops taking them from memory
    (what it holds stays bounded) and reads the rest from the store, with no gap and no
    repeat."""
    http = redge.http
    job = enqueue(http, "slow", {"n": 1})
    s = redge.sse(f"/v1/jobs/{job['id']}/events")
    assert s.next_event().type == "queued"
    leased = lease(http, "slow", wait=0)
    blob = "x" * 30000
    for i in range(400):  # about 12 MiB of events while the reader reads nothing
        reply = worker_call(http, job["id"], "events", leased["lease_token"],
                            {"event": "chunk", "data": {"i": i, "blob": blob}})
        assert reply.status == 200, reply
    assert worker_call(http, job["id"], "complete", leased["lease_token"],
                       {"result": {"ok": True}}).status == 200
    events = s.until_terminal()
    assert [e.id for e in events] == list(range(2, 404)), [e.id for e in events][:10]
    assert [e.json["i"] for e in events if e.type == "chunk"] == list(range(400))
    assert events[-1].type == "completed"
    sent = _sse_sent(http)
    assert sent["store"] > 1, sent  # fell back to the store at least once
