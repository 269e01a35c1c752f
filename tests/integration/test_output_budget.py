"""--output-buffer-budget: one limit on the unsent output of all connections together
(SSE streams, RESP replies and pub/sub messages). Over it the slowest readers are closed,
the readers that keep up get everything, and writers are never slowed."""

import socket
import time

import pytest

import redge_process
from integration_support import enqueue, lease, worker_call
from test_metrics import scrape, value

BUDGET = 8 << 20


def rss_bytes(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


def non_reading_socket(server, request=None):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.connect((server.host, server.http_port if request else server.resp_port))
    if request:
        s.sendall(request)
    server._closers.append(s.close)
    return s


@pytest.mark.skipif(redge_process.sanitized_build(), reason="RSS bounds do not hold under ASan (shadow memory, quarantine)")
def test_slow_sse_readers_are_cut_at_the_global_budget(redge_factory):
    server = redge_factory("--output-buffer-budget", str(BUDGET))
    http = server.http
    enqueue(http, "budget", {"n": 1})
    job = lease(http, "budget", worker="w")
    path = f"/v1/jobs/{job['id']}/events"
    request = (f"GET {path} HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n").encode()
    slow = [non_reading_socket(server, request) for _ in range(20)]
    reader = server.sse(path, timeout=30)
    assert reader.head() == 200
    base = rss_bytes(server.proc.pid)
    peak = 0
    for i in range(20):
        started = time.monotonic()
        reply = worker_call(http, job["id"], "events", job["lease_token"],
                            body={"event": "chunk", "data": {"i": i, "pad": "p" * 900_000}})
        assert reply.status == 200, reply
        assert time.monotonic() - started < 2.0, "an event POST was slowed by slow readers"
        peak = max(peak, rss_bytes(server.proc.pid) - base)
    assert worker_call(http, job["id"], "complete", job["lease_token"],
                       body={"result": "ok"}).status == 200
    events = reader.until_terminal(timeout=60)
    assert [e.json["i"] for e in events if e.type == "chunk"] == list(range(20))
    m = scrape(http)
    assert value(m, "redge_output_budget_cuts") > 0
    assert value(m, "redge_output_buffer_bytes") <= BUDGET
    assert peak < 120 << 20, f"RSS grew by {peak >> 20} MB"
    del slow


@pytest.mark.skipif(redge_process.sanitized_build(), reason="RSS bounds do not hold under ASan (shadow memory, quarantine)")
def test_slow_subscribers_are_cut_and_publishers_never_wait(redge_factory):
    server = redge_factory("--output-buffer-budget", str(BUDGET))
    pub = server.client()
    fast = server.client().pubsub()
    fast.subscribe("flood")
    assert fast.get_message(timeout=5)["type"] == "subscribe"
    slow = []
    for _ in range(10):
        s = non_reading_socket(server)
        s.sendall(b"*2\r\n$9\r\nSUBSCRIBE\r\n$5\r\nflood\r\n")
        slow.append(s)
    deadline = time.monotonic() + 10
    while pub.pubsub_numsub("flood")[0][1] < 11:
        assert time.monotonic() < deadline, "subscribers did not subscribe"
        time.sleep(0.01)
    base = rss_bytes(server.proc.pid)
    payload = "m" * 65536
    received = 0
    slowest = 0.0
    for i in range(300):
        started = time.monotonic()
        pub.publish("flood", payload)
        slowest = max(slowest, time.monotonic() - started)
        while (msg := fast.get_message(timeout=0)) is not None:
            received += msg["type"] == "message"
    while received < 300:
        msg = fast.get_message(timeout=10)
        assert msg is not None, f"the reading subscriber got {received} of 300"
        received += msg["type"] == "message"
    assert slowest < 0.5, f"a PUBLISH took {slowest:.3f} s"
    assert pub.pubsub_numsub("flood")[0][1] < 11  # slow subscribers were cut
    m = scrape(server.http)
    assert value(m, "redge_output_budget_cuts") > 0
    assert value(m, "redge_output_buffer_bytes") <= BUDGET
    assert rss_bytes(server.proc.pid) - base < 80 << 20
    fast.close()
    del slow
