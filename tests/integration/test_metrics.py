"""GET /metrics: the Prometheus text exposition, parsed with prometheus_client's parser.

Counters are checked exactly after a known set of job transitions; histograms for shape
(cumulative buckets, +Inf == _count) and for having observed what happened; gauges against
a known state of queues, streams, long-polls and RESP clients.
"""

import threading
import time

import pytest
from prometheus_client.parser import text_string_to_metric_families

from integration_support import enqueue, get_job, lease, wait_state, wait_until, worker_call

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def scrape(http):
    """{family name: family}. The parser names a counter family without its _total."""
    reply = http.get("/metrics")
    assert reply.status == 200, reply
    assert reply.header("content-type") == CONTENT_TYPE, reply
    text = reply.body.decode()
    families = {f.name: f for f in text_string_to_metric_families(text)}
    # Every family is announced with HELP and TYPE.
    for name, family in families.items():
        assert family.documentation, name
        assert f"# TYPE {family.name}" in text, name
    return families


def value(families, name, labels=None, sample=None):
    """The value of sample `sample` (default: the family's name, + _total for counters)
    with exactly `labels`; None when absent."""
    family = families[name]
    if sample is None:
        sample = name + "_total" if family.type == "counter" else name
    for s in family.samples:
        if s.name == sample and s.labels == (labels or {}):
            return s.value
    return None


def histogram(families, name):
    """(cumulative buckets [(le, count)], count, sum), checked for consistency."""
    family = families[name]
    assert family.type == "histogram", family
    buckets = [(float(s.labels["le"]), s.value) for s in family.samples
               if s.name == name + "_bucket"]
    count = value(families, name, sample=name + "_count")
    total = value(families, name, sample=name + "_sum")
    les = [le for le, _ in buckets]
    assert les == sorted(les) and les[-1] == float("inf"), buckets
    counts = [c for _, c in buckets]
    assert counts == sorted(counts), f"{name}: buckets not cumulative: {buckets}"
    assert counts[-1] == count, f"{name}: +Inf bucket {counts[-1]} != _count {count}"
    assert total >= 0, total
    return buckets, count, total


def test_job_counters_and_histograms(redge_factory):
    server = redge_factory("--lease-timeout", "0.3", "--max-attempts", "2", "--fsync", "always")
    http = server.http
    q = "mq"
    ids = []

    # A completes while an SSE stream watches it (live delivery).
    a = enqueue(http, q, {"n": "a"})["id"]
    ids.append(a)
    stream = server.sse(f"/v1/jobs/{a}/events")
    assert stream.next_event().type == "queued"
    la = lease(http, q, wait=0)
    assert worker_call(http, a, "complete", la["lease_token"], {"result": 1}).status == 200
    assert [e.type for e in stream.until_terminal()][-1] == "completed"
    stream.expect_end()

    # B completes while a long-poll waits for its next event.
    b = enqueue(http, q, {"n": "b"})["id"]
    ids.append(b)
    poll = http.start("GET", f"/v1/jobs/{b}", params={"after": 1, "wait": 10})
    poll.assert_no_reply(0.1)
    lb = lease(http, q, wait=0)
    polled, _ = poll.reply()
    assert polled.status == 200 and polled.json()["events"][0]["event"] == "started", polled
    assert worker_call(http, b, "complete", lb["lease_token"], {"result": 2}).status == 200

    # C fails for good.
    c = enqueue(http, q, {"n": "c"})["id"]
    ids.append(c)
    lc = lease(http, q, wait=0)
    r = worker_call(http, c, "fail", lc["lease_token"], {"error": "boom", "retry": False})
    assert r.status == 200 and r.json()["state"] == "failed", r

    # D is canceled while queued; its idempotent repeat is not a new job.
    d = enqueue(http, q, {"n": "d"}, headers={"Idempotency-Key": "k1"})["id"]
    ids.append(d)
    again = enqueue(http, q, {"n": "d"}, headers={"Idempotency-Key": "k1"}, expect=200)
    assert again["id"] == d
    assert http.delete(f"/v1/jobs/{d}").status == 200

    # E's first lease expires (retried), its second attempt completes.
    e = enqueue(http, q, {"n": "e"})["id"]
    ids.append(e)
    assert lease(http, q, wait=0)["id"] == e
    wait_until(lambda: get_job(http, e)["attempt"] == 2, what="E requeued after its lease expired")
    le2 = lease(http, q, wait=5)
    assert le2["id"] == e and le2["attempt"] == 2
    assert worker_call(http, e, "complete", le2["lease_token"], {"result": 5}).status == 200
    wait_state(http, e, "completed")

    m = scrape(http)
    label = {"queue": q}
    assert value(m, "redge_jobs_enqueued", label) == 5
    assert value(m, "redge_jobs_completed", label) == 3
    assert value(m, "redge_jobs_failed", label) == 1
    assert value(m, "redge_jobs_canceled", label) == 1
    assert value(m, "redge_jobs_retried", label) == 1
    assert value(m, "redge_lease_expiries") == 1

    # One append observation per stored event, whoever wrote it (the reaper too).
    events = sum(get_job(http, i)["last_event_id"] for i in ids)
    assert events == 3 + 3 + 3 + 2 + 5
    _, appended, _ = histogram(m, "redge_event_append_seconds")
    assert appended == events
    # The SSE stream saw started/completed live; the long-poll was woken by started.
    _, delivered, delivery_sum = histogram(m, "redge_event_delivery_seconds")
    assert delivered >= 2 and delivery_sum > 0
    _, writes, write_sum = histogram(m, "redge_store_write_seconds")
    assert writes >= events and write_sum > 0

    assert value(m, "redge_store_fsyncs") > 0  # --fsync always: one per group commit
    assert value(m, "redge_store_write_failures") == 0
    assert value(m, "redge_keys_expired") >= 0
    assert value(m, "redge_store_disk_bytes") > 0
    assert value(m, "redge_queue_depth", label) == 0
    assert value(m, "redge_queue_running", label) == 0
    assert value(m, "redge_queue_oldest_age_seconds", label) == 0


def test_gauges(redge, http):
    q = "gq"
    ids = [enqueue(http, q, {"n": i})["id"] for i in range(3)]
    assert lease(http, q, wait=0)["id"] == ids[0]  # one running, two queued
    time.sleep(0.05)

    stream = redge.sse(f"/v1/jobs/{ids[1]}/events")
    assert stream.next_event().type == "queued"
    poll = http.start("GET", f"/v1/jobs/{ids[2]}", params={"wait": 30})
    poll.assert_no_reply(0.05)

    r = redge.client()
    sub = r.pubsub()
    sub.subscribe("chan1", "chan2")
    sub.psubscribe("pat*")
    blocked = threading.Thread(target=lambda: redge.client().blpop("nothing", timeout=10))
    blocked.start()

    def settled():
        m = scrape(http)
        return (value(m, "redge_longpoll_waiting") == 1
                and value(m, "redge_resp_blocked_clients") == 1
                and value(m, "redge_pubsub_patterns") == 1 and m)

    m = wait_until(settled, what="long-poll, blocked client and subscriptions to register")
    label = {"queue": q}
    assert value(m, "redge_queue_depth", label) == 2
    assert value(m, "redge_queue_running", label) == 1
    assert value(m, "redge_queue_oldest_age_seconds", label) >= 0.04
    assert value(m, "redge_sse_streams") == 1
    assert value(m, "redge_pubsub_channels") == 2
    # redis-py: r (used by pubsub), the subscriber and the blocked client.
    assert value(m, "redge_resp_connected_clients") >= 2
    assert value(m, "redge_jobs_enqueued", label) == 3

    r.lpush("nothing", "x")
    blocked.join(timeout=10)
    poll.close()
    stream.close()
    sub.close()

    def released():
        m = scrape(http)
        return (value(m, "redge_longpoll_waiting") == 0 and value(m, "redge_sse_streams") == 0
                and value(m, "redge_resp_blocked_clients") == 0
                and value(m, "redge_pubsub_channels") == 0 and m)

    wait_until(released, what="gauges to drop after the clients left")


@pytest.mark.parametrize("auth", ["header", "query"])
def test_metrics_obeys_http_token(redge_factory, auth):
    server = redge_factory("--http-token", "s3cret")
    denied = server.http.get("/metrics")
    assert denied.status == 401 and denied.error_code() == "unauthorized", denied
    if auth == "header":
        reply = server.http_with_token("s3cret").get("/metrics")
    else:
        reply = server.http.get("/metrics", params={"access_token": "s3cret"})
    assert reply.status == 200 and reply.header("content-type") == CONTENT_TYPE, reply
    assert b"# TYPE redge_queue_depth gauge" in reply.body
