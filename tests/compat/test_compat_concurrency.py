"""1,000 concurrent connections, 200 of them blocked in BRPOP: the other 800 answer PING
meanwhile, and 200 LPUSHes give every blocked client exactly its element, once."""

import resource
import selectors
import socket
import time

import pytest

from compat_support import RawConn, blocked_clients, wait_blocked, wait_until

TOTAL = 1000
BLOCKED = 200


def raise_nofile(need):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < need:
        if hard != resource.RLIM_INFINITY and hard < need:
            pytest.fail(f"RLIMIT_NOFILE hard limit {hard} < {need}: cannot open the sockets")
        resource.setrlimit(resource.RLIMIT_NOFILE, (need, hard))


def collect(sel, expected, deadline):
    """Reads the sockets in `expected` (sock -> exact bytes) until each got exactly its
    bytes; fails on anything else, on a close, or at the deadline."""
    bufs = {s: b"" for s in expected}
    pending = set(expected)
    for s in pending:
        sel.modify(s, selectors.EVENT_READ)
    while pending:
        left = deadline - time.monotonic()
        if left <= 0:
            sample = [(bufs[s], expected[s]) for s in list(pending)[:3]]
            raise AssertionError(f"{len(pending)} connections still waiting for their "
                                 f"reply (got, expected): {sample}")
        for key, _ in sel.select(timeout=min(left, 1.0)):
            s = key.fileobj
            if s not in pending:
                data = s.recv(65536)
                raise AssertionError(f"unexpected data on a finished connection: {data!r}")
            try:
                chunk = s.recv(65536)
            except BlockingIOError:
                continue
            if not chunk:
                raise AssertionError(f"server closed a connection (had {bufs[s]!r})")
            bufs[s] += chunk
            want = expected[s]
            if not want.startswith(bufs[s]):
                raise AssertionError(f"got {bufs[s]!r}, expected {want!r}")
            if bufs[s] == want:
                pending.discard(s)


def test_thousand_connections_two_hundred_blocked(redge, r):
    raise_nofile(TOTAL + 512)
    socks = []
    sel = selectors.DefaultSelector()
    try:
        for _ in range(TOTAL):
            s = socket.create_connection((redge.host, redge.port), timeout=10)
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            s.setblocking(False)
            sel.register(s, selectors.EVENT_READ)
            socks.append(s)
        wait_until(lambda: r.info("clients")["connected_clients"] >= TOTAL + 1, timeout=30,
                   what=f"{TOTAL} connections accepted")
        blockers, others = socks[:BLOCKED], socks[BLOCKED:]
        ping = RawConn.encode("PING")
        pong = b"+PONG\r\n"

        for i, s in enumerate(blockers):
            s.sendall(RawConn.encode("BRPOP", f"queue:{i}", "60"))
        wait_blocked(r, BLOCKED, timeout=30)

        # While 200 are parked, the 800 others are served.
        t0 = time.monotonic()
        for s in others:
            s.sendall(ping)
        collect(sel, {s: pong for s in others}, time.monotonic() + 30)
        ping_round_s = time.monotonic() - t0
        assert blocked_clients(r) == BLOCKED

        # 200 LPUSHes (one pipeline) while the 800 PING again.
        for s in others:
            s.sendall(ping)
        pipe = r.pipeline(transaction=False)
        for i in range(BLOCKED):
            pipe.lpush(f"queue:{i}", f"job-{i}")
        assert pipe.execute() == [1] * BLOCKED
        expected = {s: pong for s in others}
        for i, s in enumerate(blockers):
            key, value = f"queue:{i}".encode(), f"job-{i}".encode()
            expected[s] = b"*2\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n" % (len(key), key,
                                                                  len(value), value)
        collect(sel, expected, time.monotonic() + 30)

        # Exactly once: every element was consumed, nobody is blocked, and each
        # connection's next reply is a plain PONG (no duplicate delivery queued up).
        assert r.exists(*[f"queue:{i}" for i in range(BLOCKED)]) == 0
        wait_blocked(r, 0)
        for s in socks:
            s.sendall(ping)
        collect(sel, {s: pong for s in socks}, time.monotonic() + 30)
        assert ping_round_s < 30
    finally:
        for s in socks:
            try:
                sel.unregister(s)
            except (KeyError, ValueError):
                pass
            s.close()
        sel.close()
    wait_until(lambda: r.info("clients")["connected_clients"] == 1, timeout=30,
               what="closed connections to be dropped")
    redge.assert_serving()


def test_timeouts_racing_pushes_lose_or_duplicate_nothing(redge, r):
    """Many short BLPOP timeouts expire while elements arrive: every element ends up either
    with exactly one client or still in the list."""
    import random

    rng = random.Random(99)
    clients = [redge.raw(timeout=10) for _ in range(40)]
    sel = selectors.DefaultSelector()
    for c in clients:
        sel.register(c.sock, selectors.EVENT_READ, c)
    pusher = redge.client()
    pushed, received = [], []
    serial = 0
    try:
        for _round in range(4):
            for c in clients:
                c.send_command("BLPOP", "race", "%.3f" % rng.uniform(0.02, 0.4))
            waiting = set(clients)
            deadline = time.monotonic() + 20
            while waiting:
                assert time.monotonic() < deadline, f"{len(waiting)} clients never answered"
                if serial < (_round + 1) * 30:
                    value = f"e{serial}"
                    serial += 1
                    pusher.rpush("race", value)
                    pushed.append(value)
                for key, _ in sel.select(timeout=0.01):
                    c = key.data
                    assert c in waiting, "a second reply to one BLPOP"
                    reply = c.read_reply(timeout=5)
                    if reply is not None:
                        assert reply[0] == b"race"
                        received.append(reply[1].decode())
                    waiting.discard(c)
            for c in clients:
                c.assert_no_reply(0)
        left = r.lrange("race", 0, -1)
        assert len(received) == len(set(received)), "an element was delivered twice"
        assert sorted(received + left) == sorted(pushed), "an element was lost"
        assert set(received).isdisjoint(left)
        assert len(received) > 0
    finally:
        sel.close()


def test_client_not_reading_big_replies_delays_nobody(redge, r):
    """A normal client that pipelines many large reads and does not read the replies is
    neither disconnected nor in anyone's way; it gets every reply when it reads."""
    value = b"v" * (1 << 20)
    rb = redge.client(decode_responses=False)
    rb.set("big", value)
    lazy = redge.raw(timeout=30)
    n = 40
    lazy.send(b"".join(RawConn.encode("GET", "big") for _ in range(n)))
    # Meanwhile others are served promptly.
    for i in range(50):
        t0 = time.monotonic()
        assert r.incr("counter") == i + 1
        assert time.monotonic() - t0 < 2
    with redge.raw() as other:
        assert other.call("PING") == "PONG"
    for _ in range(n):
        assert lazy.read_reply(timeout=30) == value
    assert lazy.call("PING") == "PONG"


def test_many_subscribers_get_every_message_in_order(redge, r):
    subs = [redge.raw(timeout=20) for _ in range(200)]
    for s in subs:
        s.send_command("SUBSCRIBE", "fanout")
    for s in subs:
        assert s.read_reply() == [b"subscribe", b"fanout", 1]
    pipe = r.pipeline(transaction=False)
    for i in range(50):
        pipe.publish("fanout", f"m{i}")
    assert pipe.execute() == [200] * 50
    for s in subs:
        got = [s.read_reply() for _ in range(50)]
        assert got == [[b"message", b"fanout", f"m{i}".encode()] for i in range(50)]
