"""Slowloris: a request head (or body) trickled byte by byte gets 408 and a close at its
deadline (--http-header-timeout, --http-body-timeout), a connection that sends nothing is
closed, and one client address holds at most --http-max-conns-per-ip connections."""

import socket
import time

from integration_support import ResponseParser


def connect(server, timeout=10):
    s = socket.create_connection((server.host, server.http_port), timeout=timeout)
    server._closers.append(s.close)
    return s


def read_until_close(s, timeout=10):
    s.settimeout(timeout)
    data = b""
    while True:
        try:
            chunk = s.recv(65536)
        except ConnectionResetError:
            break
        if not chunk:
            break
        data += chunk
    return data


def trickle(s, data, every, until_closed_within):
    """Sends `data` one byte per `every` seconds; returns (bytes sent, seconds until the
    server answered or closed)."""
    started = time.monotonic()
    s.setblocking(False)
    for i, byte in enumerate(data):
        try:
            s.send(bytes([byte]))
        except OSError:
            return i, time.monotonic() - started
        deadline = time.monotonic() + every
        while time.monotonic() < deadline:
            try:
                if s.recv(1, socket.MSG_PEEK):
                    return i + 1, time.monotonic() - started
            except BlockingIOError:
                pass
            except OSError:
                return i + 1, time.monotonic() - started
            time.sleep(0.01)
        assert time.monotonic() - started < until_closed_within, "the trickle was never cut"
    raise AssertionError("the whole request was sent: make it longer")


def parse(data):
    p = ResponseParser()
    p.feed(data)
    p.feed_eof()
    return p


def test_trickled_head_gets_408(redge_factory):
    server = redge_factory("--http-header-timeout", "1")
    s = connect(server)
    head = b"GET /healthz HTTP/1.1\r\nHost: x\r\n" + b"X-Slow: " + b"a" * 200 + b"\r\n\r\n"
    sent, took = trickle(s, head, 0.2, until_closed_within=5)
    assert 0.9 <= took <= 3.0, took
    s.setblocking(True)
    reply = parse(read_until_close(s))
    assert reply.status == 408, reply.body
    assert b"request_timeout" in reply.body
    assert server.http.get("/healthz").status == 200


def test_connection_that_sends_nothing_is_closed(redge_factory):
    server = redge_factory("--http-header-timeout", "0.5")
    s = connect(server)
    started = time.monotonic()
    assert read_until_close(s) == b""
    assert time.monotonic() - started < 3.0


def test_trickled_body_gets_408(redge_factory):
    server = redge_factory("--http-header-timeout", "5", "--http-body-timeout", "1")
    s = connect(server)
    s.sendall(b"POST /v1/queues/q/jobs HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
              b"Content-Length: 400\r\n\r\n")
    sent, took = trickle(s, b"[" + b"1," * 199 + b"1]", 0.2, until_closed_within=5)
    assert 0.9 <= took <= 3.0, took
    s.setblocking(True)
    reply = parse(read_until_close(s))
    assert reply.status == 408, reply.body
    assert server.client().llen("redge:queue:q") == 0


def test_kept_alive_connection_may_idle_between_requests(redge_factory):
    server = redge_factory("--http-header-timeout", "0.5")
    s = connect(server)
    for _ in range(2):
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        p = ResponseParser()
        while p.status is None or not p.done:
            p.feed(s.recv(65536))
        assert p.status == 200
        time.sleep(1.0)  # longer than the head timeout: idle, not a slow head


def test_connections_per_address_are_capped(redge_factory):
    server = redge_factory("--http-max-conns-per-ip", "5")
    held = [connect(server) for _ in range(5)]
    for s in held:
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")  # kept alive afterwards
    extra = connect(server)
    reply = parse(read_until_close(extra))
    assert reply.status == 503, reply.body
    assert b"too many connections from your address" in reply.body
    held.pop().close()
    deadline = time.monotonic() + 5
    while True:  # the slot frees once redge has seen the close
        reply = server.http.get("/healthz")
        if reply.status == 200:
            break
        assert time.monotonic() < deadline, reply
        time.sleep(0.05)
